//! The service settings compose users write (issue 11): each one built for
//! compose (checked against the Compose Specification schema and the
//! references and formats validator) and for CloudFormation (cfn-lint), or
//! refused on the target that has no equivalent.

use crate::{NOW, Run, bomc, root, temp_dir, template, venv_tool, written_folder};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// A project folder holding `app.bom` and the other `files`.
fn project(name: &str, bom: &str, files: &[(&str, &str)]) -> PathBuf {
    static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = temp_dir(&format!(
        "settings-{name}-{}",
        COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::write(dir.join("app.bom"), bom).expect("write app.bom");
    for (path, content) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write file");
    }
    dir
}

/// `bomc build app.bom --target TARGET` in `dir`.
fn build(dir: &Path, target: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "build", "app.bom", "--target", target, "--out", "out", "--now", NOW,
    ];
    args.extend_from_slice(extra);
    bomc(dir, &args)
}

/// The compose file built from `dir`, validated; as JSON.
fn compose(dir: &Path) -> Value {
    let run = build(dir, "compose", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let file = dir.join(written_folder(&run)).join("compose.yaml");
    let out = std::process::Command::new(venv_tool("python"))
        .arg(root().join("tests/tools/validate_compose.py"))
        .arg(root().join("tests/tools/compose-spec.json"))
        .arg(&file)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&file).expect("compose.yaml");
    serde_yaml_ng::from_str(&text).expect("compose.yaml is YAML")
}

/// The CloudFormation template built from `dir`, passed by cfn-lint.
fn cloudformation(dir: &Path) -> Value {
    let run = build(dir, "cloudformation", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let folder = dir.join(written_folder(&run));
    crate::assert_cfn_lint_clean(&folder.join("cloudformation.json"));
    template(&folder)
}

/// The container definition of `id` (`Web`) in a template.
fn container<'a>(t: &'a Value, id: &str) -> &'a Value {
    &t["Resources"][format!("{id}TaskDefinition")]["Properties"]["ContainerDefinitions"][0]
}

const PORTS: &str = r#"
landscape app {
  service web {
    image = "nginx:1.27.3"
    ports {
      http = 80
      dns = "53/udp"
    }
    publish { http = "127.0.0.1:8080", dns = 5353 }
    restart = "always"
    user = "1000:1000"
    working_dir = "/srv"
    entrypoint = ["/docker-entrypoint.sh"]
    health { command = "curl -f http://localhost/ || exit 1" }
  }
  service client {
    image = "busybox:1.36.1"
    env { DNS = "${web.host}:${web.ports.dns}" }
    restart = "on-failure:3"
    health { command = ["NONE"] }
  }
}
"#;

#[test]
fn ports_protocols_publish_restart_user_and_health_on_compose() {
    let dir = project("ports", PORTS, &[]);
    let doc = compose(&dir);
    let web = &doc["services"]["web"];
    assert_eq!(
        web["ports"],
        json!([
            {"target": 53, "published": "5353", "protocol": "udp"},
            {"target": 80, "host_ip": "127.0.0.1", "published": "8080", "protocol": "tcp"},
        ])
    );
    assert_eq!(web["restart"], "always");
    assert_eq!(web["user"], "1000:1000");
    assert_eq!(web["working_dir"], "/srv");
    assert_eq!(web["entrypoint"], json!(["/docker-entrypoint.sh"]));
    assert_eq!(
        web["healthcheck"]["test"],
        json!(["CMD-SHELL", "curl -f http://localhost/ || exit 1"])
    );
    let client = &doc["services"]["client"];
    assert_eq!(client["restart"], "on-failure:3");
    assert_eq!(client["healthcheck"], json!({"disable": true}));
    assert_eq!(client["environment"]["DNS"], "web:53");
}

#[test]
fn ports_protocols_user_and_entrypoint_on_cloudformation() {
    let dir = project("ports-cfn", PORTS, &[]);
    let t = cloudformation(&dir);
    let web = container(&t, "Web");
    assert_eq!(
        web["PortMappings"],
        json!([
            {"ContainerPort": 53, "Protocol": "udp"},
            {"ContainerPort": 80, "Protocol": "tcp"},
        ])
    );
    assert_eq!(web["User"], "1000:1000");
    assert_eq!(web["WorkingDirectory"], "/srv");
    assert_eq!(web["EntryPoint"], json!(["/docker-entrypoint.sh"]));
    assert_eq!(
        web["HealthCheck"]["Command"],
        json!(["CMD-SHELL", "curl -f http://localhost/ || exit 1"])
    );
    let ingress = &t["Resources"]["WebFromClientPort53Udp"]["Properties"];
    assert_eq!(ingress["IpProtocol"], "udp");
    // `publish` and a restart policy ECS does not follow are warned about.
    let run = build(&dir, "cloudformation", &[]);
    assert!(
        run.stderr
            .contains("`publish` of `web` applies on compose only")
    );
    assert!(
        run.stderr
            .contains("`restart = \"on-failure:3\"` of `client` applies on compose only")
    );
}

#[test]
fn a_port_protocol_other_than_tcp_or_udp_is_refused_with_the_form() {
    let dir = project(
        "bad-proto",
        r#"landscape app { service web { image = "nginx:1.27.3", ports { dns = "53/sctp" } } }"#,
        &[],
    );
    let run = bomc(&dir, &["check", "app.bom"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("E0303"), "{}", run.stderr);
    assert!(run.stderr.contains("PORT/PROTO"), "{}", run.stderr);
}

const MOUNTS: &str = r#"
landscape app {
  service web {
    image = "nginx:1.27.3"
    ports { http = 80 }
    volumes { data = "/var/lib/web" }
    mounts {
      "/etc/nginx/nginx.conf" { bind = "./conf/nginx.conf", read_only = true }
      "/var/cache/nginx" { tmpfs = true }
      "/run" { tmpfs = 64MiB }
      "/srv/data" { volume = "data", read_only = true }
    }
    publish { http = 8081 }
    restart = "no"
    targets = ["compose"]
  }
  service api {
    image = "ghcr.io/shop/api:3.1.0"
    ports { http = 8080 }
  }
}
"#;

#[test]
fn mounts_are_written_relative_to_the_compose_file() {
    let dir = project("mounts", MOUNTS, &[("conf/nginx.conf", "events {}\n")]);
    let doc = compose(&dir);
    // out/app/default/compose.yaml → the .bom file's folder is three up.
    assert_eq!(
        doc["services"]["web"]["volumes"],
        json!([
            {"type": "volume", "source": "web.data", "target": "/var/lib/web"},
            {"type": "bind", "source": "../../../conf/nginx.conf", "target": "/etc/nginx/nginx.conf", "read_only": true},
            {"type": "tmpfs", "target": "/run", "tmpfs": {"size": 67108864}},
            {"type": "volume", "source": "web.data", "target": "/srv/data", "read_only": true},
            {"type": "tmpfs", "target": "/var/cache/nginx"},
        ])
    );
}

#[test]
fn a_component_restricted_to_compose_is_left_out_of_cloudformation() {
    let dir = project(
        "compose-only",
        MOUNTS,
        &[("conf/nginx.conf", "events {}\n")],
    );
    let t = cloudformation(&dir);
    let resources = t["Resources"].as_object().expect("resources");
    assert!(resources.contains_key("ApiTaskDefinition"));
    assert!(
        !resources.keys().any(|k| k.starts_with("Web")),
        "{:?}",
        resources.keys()
    );
    let run = build(&dir, "cloudformation", &[]);
    assert!(run.stderr.contains("W0007"), "{}", run.stderr);
    // What CloudFormation would not honour is not said of a component it leaves out.
    assert!(!run.stderr.contains("W0003"), "{}", run.stderr);
}

#[test]
fn mounts_fargate_cannot_make_are_refused_at_check_unless_compose_only() {
    let bom = MOUNTS.replace("    targets = [\"compose\"]\n", "");
    let dir = project(
        "mounts-refused",
        &bom,
        &[("conf/nginx.conf", "events {}\n")],
    );
    let run = bomc(&dir, &["check", "app.bom"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("E0324"), "{}", run.stderr);
    let json = bomc(&dir, &["check", "app.bom", "--format", "json"]);
    assert!(
        json.stdout.contains(r#"targets = [\"compose\"]"#),
        "{}",
        json.stdout
    );
    // A landscape restricted to compose builds everything there and nothing on CloudFormation.
    let bom = bom.replacen(
        "landscape app {",
        "landscape app {\n  targets = [\"compose\"]",
        1,
    );
    let dir = project(
        "landscape-compose",
        &bom,
        &[("conf/nginx.conf", "events {}\n")],
    );
    let doc = compose(&dir);
    assert!(doc["services"]["api"].is_object());
}

#[test]
fn a_bind_mount_from_an_imported_module_is_relative_to_that_module() {
    let module = r#"
kind proxy {
  image = "nginx:1.27.3"
  ports { http = 80 }
  mounts { "/etc/nginx/nginx.conf" { bind = "./nginx.conf", read_only = true } }
  targets = ["compose"]
}
"#;
    let bom = r#"import "./lib/proxy.bom"
landscape app { proxy edge {} }
"#;
    let dir = project(
        "module-bind",
        bom,
        &[("lib/proxy.bom", module), ("lib/nginx.conf", "events {}\n")],
    );
    let doc = compose(&dir);
    assert_eq!(
        doc["services"]["edge"]["volumes"][0]["source"],
        "../../../lib/nginx.conf"
    );
}

const USES: &str = r#"
landscape app {
  service db {
    image = "postgres:16.4"
    ports { postgres = 5432 }
  }
  service cache {
    image = "redis:7.2.4"
    ports { redis = 6379 }
  }
  job migrate {
    image = "ghcr.io/shop/migrate:1.0.0"
    run = "once"
    uses = [db]
  }
  service web {
    image = "ghcr.io/shop/web:1.0.0"
    ports { http = 8080 }
    depends_on = [migrate]
    uses = [db, cache]
  }
  service worker {
    image = "ghcr.io/shop/worker:1.0.0"
    uses = [web]
  }
}
"#;

#[test]
fn uses_and_depends_on_grant_access_and_only_depends_on_orders() {
    let dir = project(
        "uses",
        USES.replace("job migrate", "service migrate").as_str(),
        &[],
    );
    let doc = compose(&dir);
    let web = &doc["services"]["web"];
    // depends_on orders start-up; uses does not.
    let waits: Vec<&String> = web["depends_on"]
        .as_object()
        .expect("depends_on")
        .keys()
        .collect();
    assert_eq!(waits, ["migrate"]);
    // Both give network access to what the other serves: web shares a
    // network with db and cache (migrate serves no port).
    let networks = |s: &str| -> Vec<String> {
        doc["services"][s]["networks"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|n| n.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    for other in ["db", "cache"] {
        assert!(
            networks("web").iter().any(|n| networks(other).contains(n)),
            "web and {other} share no network: {:?} / {:?}",
            networks("web"),
            networks(other)
        );
    }
    let t = cloudformation(&dir);
    let resources = t["Resources"].as_object().expect("resources");
    for rule in [
        "DbFromWebPort5432",
        "CacheFromWebPort6379",
        "DbFromMigratePort5432",
        "WebFromWorkerPort8080",
    ] {
        assert!(
            resources.contains_key(rule),
            "no {rule}: {:?}",
            resources
                .keys()
                .filter(|k| k.contains("From"))
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn components_may_use_each_other() {
    let bom = r#"
landscape app {
  service a {
    image = "ghcr.io/shop/a:1.0.0"
    ports { http = 8080 }
    uses = [b]
  }
  service b {
    image = "ghcr.io/shop/b:1.0.0"
    ports { http = 8080 }
    uses = [a]
  }
}
"#;
    let dir = project("uses-cycle", bom, &[]);
    let run = bomc(&dir, &["check", "app.bom"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

const KERNEL: &str = r#"
landscape app {
  service web {
    image = "nginx:1.27.3"
    ports { http = 80 }
    capabilities { add = ["SYS_PTRACE"], drop = ["ALL"] }
    ulimits {
      nofile = 65536
      nproc { soft = 1024, hard = 2048 }
    }
    sysctls { "net.core.somaxconn" = 1024 }
  }
  service tools {
    image = "busybox:1.36.1"
    env_file = ["./tools.env"]
    profiles = ["debug"]
    capabilities { add = ["NET_ADMIN"] }
    sysctls { "vm.max_map_count" = 262144 }
    targets = ["compose"]
  }
}
"#;

#[test]
fn env_files_profiles_capabilities_ulimits_and_sysctls_on_compose() {
    let dir = project("kernel", KERNEL, &[("tools.env", "A=1\n")]);
    let doc = compose(&dir);
    let web = &doc["services"]["web"];
    assert_eq!(web["cap_add"], json!(["SYS_PTRACE"]));
    assert_eq!(web["cap_drop"], json!(["ALL"]));
    assert_eq!(
        web["ulimits"],
        json!({"nofile": 65536, "nproc": {"soft": 1024, "hard": 2048}})
    );
    assert_eq!(web["sysctls"], json!({"net.core.somaxconn": "1024"}));
    let tools = &doc["services"]["tools"];
    assert_eq!(tools["env_file"], json!(["../../../tools.env"]));
    assert_eq!(tools["profiles"], json!(["debug"]));
    assert_eq!(tools["cap_add"], json!(["NET_ADMIN"]));
}

#[test]
fn what_fargate_offers_becomes_linux_parameters_ulimits_and_system_controls() {
    let dir = project("kernel-cfn", KERNEL, &[("tools.env", "A=1\n")]);
    let t = cloudformation(&dir);
    let web = container(&t, "Web");
    assert_eq!(
        web["LinuxParameters"],
        json!({"Capabilities": {"Add": ["SYS_PTRACE"], "Drop": ["ALL"]}})
    );
    assert_eq!(
        web["Ulimits"],
        json!([
            {"Name": "nofile", "SoftLimit": 65536, "HardLimit": 65536},
            {"Name": "nproc", "SoftLimit": 1024, "HardLimit": 2048},
        ])
    );
    assert_eq!(
        web["SystemControls"],
        json!([{"Namespace": "net.core.somaxconn", "Value": "1024"}])
    );
}

#[test]
fn what_fargate_cannot_do_is_refused_per_setting() {
    let bom = KERNEL.replace("    targets = [\"compose\"]\n", "");
    let dir = project("kernel-refused", &bom, &[("tools.env", "A=1\n")]);
    let run = bomc(&dir, &["check", "app.bom", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let diags: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let refused: Vec<&str> = diags
        .as_array()
        .expect("list")
        .iter()
        .filter(|d| d["code"] == "E0324")
        .filter_map(|d| d["message"].as_str())
        .collect();
    assert_eq!(refused.len(), 4, "{refused:?}");
    for what in [
        "`env_file`",
        "`profiles`",
        "`NET_ADMIN`",
        "`vm.max_map_count`",
    ] {
        assert!(
            refused.iter().any(|m| m.contains(what)),
            "{what}: {refused:?}"
        );
    }
}

#[test]
fn a_missing_env_file_is_an_error_at_check() {
    let dir = project("env-file-missing", KERNEL, &[]);
    let run = bomc(&dir, &["check", "app.bom"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("E0322"), "{}", run.stderr);
}

const RESOURCES: &str = r#"
landscape app {
  service plain {
    image = "ghcr.io/shop/plain:1.0.0"
  }
  service sized {
    image = "ghcr.io/shop/jvm:1.0.0"
    cpu = 1
    memory = 2GiB
    reserve { cpu = 0.5, memory = 1GiB }
  }
  service reserved {
    image = "ghcr.io/shop/reserved:1.0.0"
    reserve { memory = 1GiB }
  }
}
"#;

#[test]
fn only_written_resources_are_compose_limits_and_reserve_is_reservations() {
    let dir = project("resources", RESOURCES, &[]);
    let doc = compose(&dir);
    // A default the user never wrote is no limit.
    assert!(
        doc["services"]["plain"]["deploy"]
            .get("resources")
            .is_none()
    );
    assert_eq!(
        doc["services"]["sized"]["deploy"]["resources"],
        json!({"limits": {"cpus": "1", "memory": "2G"}, "reservations": {"cpus": "0.5", "memory": "1G"}})
    );
    assert_eq!(
        doc["services"]["reserved"]["deploy"]["resources"],
        json!({"reservations": {"memory": "1G"}})
    );
    let t = cloudformation(&dir);
    // Fargate needs a task size: the defaults, or at least what is reserved.
    let task = |id: &str| t["Resources"][format!("{id}TaskDefinition")]["Properties"].clone();
    assert_eq!(task("Plain")["Cpu"], "256");
    assert_eq!(task("Plain")["Memory"], "512");
    assert_eq!(container(&t, "Sized")["Cpu"], 512);
    assert_eq!(container(&t, "Sized")["MemoryReservation"], 1024);
    assert_eq!(task("Reserved")["Memory"], "1024");
}

#[test]
fn a_reservation_above_the_limit_is_refused() {
    let bom = RESOURCES.replace(
        "reserve { cpu = 0.5, memory = 1GiB }",
        "reserve { memory = 4GiB }",
    );
    let dir = project("reserve-over", &bom, &[]);
    let run = bomc(&dir, &["check", "app.bom"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("reserves more than its limit"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_build_that_builds_nothing_fails_and_leaves_the_output_alone() {
    let bom = r#"
landscape app { service api { image = "ghcr.io/shop/api:3.1.0" } }
environment story {
  param id: string
  ttl = 8h
}
"#;
    let dir = project("builds-nothing", bom, &[]);
    std::fs::create_dir_all(dir.join("out/app/stale")).expect("mkdir");
    std::fs::write(dir.join("out/app/stale/compose.yaml"), "stale").expect("write");
    let run = build(&dir, "compose", &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("E0504"), "{}", run.stderr);
    assert!(
        run.stderr.contains("--env story --set id="),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("out/app/stale/compose.yaml")).expect("kept"),
        "stale"
    );
    let run = build(&dir, "compose", &["--env", "story", "--set", "id=us-1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

const OWN_DOCKERFILE: &str = r#"
landscape app {
  service web {
    build = site
    ports { http = 3000 }
    env { API_KEY = secret("app/api-key") }
    health { command = "wget -q -O /dev/null http://127.0.0.1:3000/" }
  }
}

image site {
  context = "./web"
  dockerfile = "docker/Dockerfile.dev"
  target = "dev"
  args { NODE_ENV = "development" }
}
"#;

const DOCKERFILE_DEV: &str =
    "FROM node:20.11.1-slim AS dev\nWORKDIR /app\nCOPY . .\nCMD [\"npm\", \"start\"]\n";

#[test]
fn an_image_builds_from_the_projects_own_dockerfile() {
    let files = [
        ("web/docker/Dockerfile.dev", DOCKERFILE_DEV),
        ("web/package.json", "{}\n"),
    ];
    let dir = project("own-dockerfile", OWN_DOCKERFILE, &files);
    let doc = compose(&dir);
    let web = &doc["services"]["web"];
    assert_eq!(
        web["build"],
        json!({
            "context": "../../../web",
            "dockerfile": "docker/Dockerfile.dev",
            "target": "dev",
            "args": {"NODE_ENV": "development"},
        })
    );
    // No shim in the project's image: the secret comes from the host's environment.
    let key = web["environment"]["API_KEY"].as_str().expect("API_KEY");
    assert!(key.starts_with("${"), "{key}");
    let out = dir.join("out/app/default");
    assert!(!out.join("images/site/Dockerfile").exists());
    let script = std::fs::read_to_string(out.join("images/build.sh")).expect("build.sh");
    assert!(
        script.contains(
            "--file \"$source_dir\"/'./web'/'docker/Dockerfile.dev' --target 'dev' --build-arg 'NODE_ENV=development'"
        ),
        "{script}"
    );
    // The content tag follows the Dockerfile.
    let tag = web["image"].as_str().expect("image").to_string();
    std::fs::write(
        dir.join("web/docker/Dockerfile.dev"),
        format!("{DOCKERFILE_DEV}EXPOSE 3000\n"),
    )
    .expect("write");
    let doc = compose(&dir);
    assert_ne!(doc["services"]["web"]["image"].as_str(), Some(tag.as_str()));
    let t = cloudformation(&dir);
    assert!(container(&t, "Web")["Image"].is_object());
}

#[test]
fn an_own_dockerfile_excludes_bomcs_build_settings() {
    let bom = OWN_DOCKERFILE.replace(
        "  target = \"dev\"",
        "  target = \"dev\"\n  template = \"node\"",
    );
    let dir = project(
        "own-dockerfile-template",
        &bom,
        &[("web/docker/Dockerfile.dev", DOCKERFILE_DEV)],
    );
    let run = bomc(&dir, &["check", "app.bom"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("E0505"), "{}", run.stderr);
    let dir = project("own-dockerfile-missing", OWN_DOCKERFILE, &[]);
    let run = bomc(&dir, &["check", "app.bom"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("E0322"), "{}", run.stderr);
}
