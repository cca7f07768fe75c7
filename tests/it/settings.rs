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
