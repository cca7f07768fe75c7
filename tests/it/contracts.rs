//! Run-time contracts, asserted on the artifacts every example builds, as the
//! engineer who deploys them would check them: which scheme, port and
//! variable each client gets on each target; that every binary a health
//! check calls is in its image; that versions exist; that `check` and `build`
//! agree; that nothing bomc changes goes unreported.

use crate::{NOW, bom_files, bomc, environments_of, root, temp_dir, template};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Builds every example environment with all targets; (example, env, folder).
fn build_all(out: &Path) -> Vec<(String, String, PathBuf)> {
    let mut built = Vec::new();
    for path in bom_files(&root().join("examples")) {
        for (env, sets) in environments_of(&path) {
            let mut args = vec![
                "build",
                path.to_str().expect("utf-8"),
                "--env",
                &env,
                "--out",
                out.to_str().expect("utf-8"),
                "--now",
                NOW,
            ];
            args.extend(sets.iter().map(String::as_str));
            let run = bomc(&root(), &args);
            assert_eq!(
                run.code,
                0,
                "{} --env {env}: {}",
                path.display(),
                run.stderr
            );
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("")
                .to_string();
            built.push((stem, env, crate::written_folder(&run)));
        }
    }
    built
}

fn compose(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("compose.yaml")).expect("compose.yaml");
    serde_yaml_ng::from_str(&text).expect("compose.yaml is YAML")
}

fn built_folder(example: &str, env: &str, sets: &[&str]) -> PathBuf {
    let out = temp_dir(&format!("contracts-{example}-{env}"));
    let file = root().join(format!("examples/{example}.bom"));
    let mut args = vec![
        "build",
        file.to_str().expect("utf-8"),
        "--env",
        env,
        "--out",
        out.to_str().expect("utf-8"),
        "--now",
        NOW,
    ];
    args.extend(sets);
    let run = bomc(&root(), &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    crate::written_folder(&run)
}

/// The ECS container of a component.
fn container<'a>(t: &'a Value, id: &str) -> &'a Value {
    &t["Resources"][format!("{id}TaskDefinition")]["Properties"]["ContainerDefinitions"][0]
}

fn ecs_env<'a>(t: &'a Value, id: &str, name: &str) -> &'a Value {
    container(t, id)["Environment"]
        .as_array()
        .and_then(|e| e.iter().find(|v| v["Name"] == name))
        .map(|v| &v["Value"])
        .unwrap_or_else(|| panic!("{id} has no {name} on ECS"))
}

fn compose_env(c: &Value, service: &str, name: &str) -> String {
    c["services"][service]["environment"][name]
        .as_str()
        .unwrap_or_else(|| panic!("{service} has no {name} on compose"))
        .to_string()
}

#[test]
fn fooda_web_reaches_search_over_https_443_and_the_cache_over_tls() {
    let dir = built_folder("fooda", "production", &[]);
    let t = template(&dir);
    assert_eq!(
        ecs_env(&t, "Web", "ELASTICSEARCH_URL"),
        &json!({"Fn::Join": ["", ["https://", {"Fn::GetAtt": ["SearchDomain", "DomainEndpoint"]}, ":443"]]}),
        "fooda web: HTTPS 443 to search"
    );
    assert_eq!(
        ecs_env(&t, "Web", "REDIS_URL"),
        &json!({"Fn::Join": ["", ["rediss://", {"Fn::GetAtt": ["CacheCache", "PrimaryEndPoint.Address"]}, ":6379/0"]]}),
        "fooda web: TLS (rediss) to the cache, which has transit encryption on"
    );
    let cache = &t["Resources"]["CacheCache"]["Properties"];
    assert_eq!(cache["TransitEncryptionEnabled"], json!(true));
    // Security groups admit web on the ports AWS serves.
    assert_eq!(
        t["Resources"]["SearchFromWebPort443"]["Properties"]["FromPort"],
        json!(443)
    );
    let domain = &t["Resources"]["SearchDomain"]["Properties"];
    assert_eq!(domain["DomainEndpointOptions"]["EnforceHTTPS"], json!(true));
    assert_eq!(
        domain["AccessPolicies"]["Statement"][0]["Action"],
        json!("es:ESHttp*"),
        "the domain has an access policy (the security group is the gate)"
    );
    let c = compose(&dir);
    assert_eq!(
        compose_env(&c, "web", "ELASTICSEARCH_URL"),
        "http://search:9200"
    );
    assert_eq!(compose_env(&c, "web", "REDIS_URL"), "redis://cache:6379/0");
}

#[test]
fn queue_clients_get_amqps_on_5671_on_aws() {
    let dir = built_folder("collective-health", "production", &[]);
    let t = template(&dir);
    assert_eq!(
        ecs_env(&t, "Claims", "AMQP_URL")["Fn::Join"][1][0],
        json!("amqps://")
    );
    assert_eq!(
        ecs_env(&t, "Claims", "AMQP_URL")["Fn::Join"][1][2],
        json!(":5671")
    );
    assert_eq!(
        t["Resources"]["QueueFromClaimsPort5671"]["Properties"]["ToPort"],
        json!(5671),
        "the broker's security group admits amqps"
    );
    assert!(
        t["Resources"]["QueueFromClaimsPort5672"].is_null(),
        "no ingress on 5672, which Amazon MQ does not serve"
    );
    let c = compose(&dir);
    assert_eq!(compose_env(&c, "claims", "AMQP_URL"), "amqp://queue:5672");
}

#[test]
fn rabbitmq_gets_its_password_without_a_file_variable_on_compose() {
    let dir = built_folder("collective-health", "dev", &[]);
    let c = compose(&dir);
    let env = &c["services"]["queue"]["environment"];
    assert!(
        env.get("RABBITMQ_DEFAULT_PASS_FILE").is_none(),
        "the rabbitmq:3.13 entrypoint exits 1 on RABBITMQ_DEFAULT_PASS_FILE"
    );
    let pass = env["RABBITMQ_DEFAULT_PASS"]
        .as_str()
        .expect("password variable");
    assert!(
        pass.starts_with("${COLLECTIVE_HEALTH_RABBITMQ:?"),
        "read from the host's environment when the stack starts: {pass}"
    );
}

#[test]
fn buckets_are_reached_by_their_real_name_with_the_task_role() {
    let dir = built_folder("lidar", "production", &[]);
    let t = template(&dir);
    let bucket_id = "ProcessingTilesBucket";
    assert_eq!(
        ecs_env(&t, "ProcessingApi", "S3_BUCKET"),
        &json!({"Ref": bucket_id})
    );
    assert_eq!(
        ecs_env(&t, "ProcessingApi", "S3_ENDPOINT"),
        &json!({"Fn::Sub": "https://s3.${AWS::Region}.${AWS::URLSuffix}"})
    );
    let env: Vec<&str> = container(&t, "ProcessingApi")["Environment"]
        .as_array()
        .expect("environment")
        .iter()
        .filter_map(|v| v["Name"].as_str())
        .collect();
    assert!(
        !env.contains(&"AWS_ACCESS_KEY_ID"),
        "no static key on AWS: the task role grants access"
    );
    let role = &t["Resources"]["ProcessingApiTaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]
        ["Statement"];
    let actions: BTreeSet<&str> = role
        .as_array()
        .expect("statements")
        .iter()
        .flat_map(|s| s["Action"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    for a in ["s3:ListBucket", "s3:GetObject", "s3:PutObject"] {
        assert!(actions.contains(a), "the api's task role lacks {a}");
    }
    assert_eq!(
        container(&t, "ProcessingApi")["Secrets"],
        json!([{"Name": "DB_PASSWORD", "ValueFrom": {"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:lidar/db"}}, {"Name": "AMQP_PASSWORD", "ValueFrom": {"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:lidar/queue"}}]).as_array().map(|a| {
            let mut a = a.clone();
            a.sort_by(|x, y| x["Name"].as_str().cmp(&y["Name"].as_str()));
            Value::Array(a)
        }).unwrap(),
        "only the database and queue passwords; the bucket's MinIO key is compose's"
    );
    let c = compose(&dir);
    assert_eq!(
        compose_env(&c, "processing-api", "S3_ENDPOINT"),
        "http://processing-tiles:9000"
    );
    assert_eq!(
        compose_env(&c, "processing-api", "AWS_ACCESS_KEY_ID"),
        "bucket"
    );
}

/// The variables a compose service gives its program: `environment`, minus
/// bomc's compose-only bucket keys, plus the secrets the entrypoint shim
/// exports (mounted at /run/bomc/env/NAME) or the image reads (`NAME_FILE`).
fn compose_variables(service: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    if let Some(env) = service["environment"].as_object() {
        for key in env.keys() {
            let name = key.strip_suffix("_FILE").unwrap_or(key);
            if !["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"].contains(&name) {
                names.insert(name.to_string());
            }
        }
    }
    for s in service["secrets"].as_array().into_iter().flatten() {
        if let Some(target) = s["target"]
            .as_str()
            .and_then(|t| t.strip_prefix("/run/bomc/env/"))
            && target != "AWS_SECRET_ACCESS_KEY"
        {
            names.insert(target.to_string());
        }
    }
    names
}

/// Every example environment's ECS containers, each with its compose
/// service: `each(example, env, task definition id, container, service)`.
fn containers_on_both_targets(
    scratch: &str,
    mut each: impl FnMut(&str, &str, &str, &Value, &Value),
) {
    let out = temp_dir(scratch);
    for (example, env, dir) in build_all(&out) {
        let c = compose(&dir);
        let t = template(&dir);
        let resources = t["Resources"].as_object().expect("resources");
        for (id, r) in resources {
            if r["Type"] != "AWS::ECS::TaskDefinition" {
                continue;
            }
            let def = &r["Properties"]["ContainerDefinitions"][0];
            let service = def["Name"].as_str().expect("container name");
            each(&example, &env, id, def, &c["services"][service]);
        }
    }
}

#[test]
fn every_container_gets_the_same_variable_names_on_compose_and_ecs() {
    let mut checked = 0;
    containers_on_both_targets("contracts-variables", |example, env, id, def, service| {
        let ecs: BTreeSet<String> = def["Environment"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(def["Secrets"].as_array().into_iter().flatten())
            .filter_map(|v| v["Name"].as_str().map(String::from))
            .collect();
        let on_compose = compose_variables(service);
        assert_eq!(
            on_compose, ecs,
            "{example} {env} {} ({id}): compose and ECS variables differ",
            def["Name"]
        );
        checked += 1;
    });
    assert!(checked > 20, "only {checked} containers compared");
}

/// A compose duration as bomc writes it (`1m30s`, `500ms`), in milliseconds.
fn compose_ms(text: &str) -> u64 {
    let mut total = 0;
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match (c, chars.peek()) {
            ('m', Some('s')) => {
                chars.next();
                1
            }
            ('h', _) => 3_600_000,
            ('m', _) => 60_000,
            ('s', _) => 1_000,
            _ => panic!("`{text}` is not a duration bomc writes"),
        };
        total += number.parse::<u64>().expect("digits") * unit;
        number.clear();
    }
    total
}

/// Where a landscape sets no timing, compose runs Docker's defaults (30 s
/// timeout) and ECS its own (5 s): bomc writes the timeout out, so a hung
/// check fails as soon on a laptop as on AWS. Values ECS clamps are W0002.
#[test]
fn every_health_check_runs_with_the_same_timings_on_compose_and_ecs() {
    let mut checked = 0;
    containers_on_both_targets(
        "contracts-health-timings",
        |example, env, id, def, service| {
            let ecs = &def["HealthCheck"];
            let check = &service["healthcheck"];
            if ecs.is_null() || check.is_null() || check["disable"] == true {
                return;
            }
            // Docker's defaults for what a compose file leaves out.
            let ms = |key: &str, default: u64| check[key].as_str().map_or(default, compose_ms);
            let on_compose = [
                ("Interval", ms("interval", 30_000) / 1000, 5, 300),
                ("Timeout", ms("timeout", 30_000) / 1000, 2, 60),
                ("Retries", check["retries"].as_u64().unwrap_or(3), 1, 10),
                ("StartPeriod", ms("start_period", 0) / 1000, 0, 300),
            ];
            for (key, seconds, low, high) in on_compose {
                assert_eq!(
                    ecs[key].as_u64(),
                    Some(seconds.clamp(low, high)),
                    "{example} {env} {} ({id}): {key} differs between compose ({check}) and ECS ({ecs})",
                    def["Name"]
                );
            }
            checked += 1;
        },
    );
    assert!(checked > 10, "only {checked} health checks compared");
}

/// `a/b/../c` → `a/c`, without touching the filesystem (build contexts
/// of the examples need not exist).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[test]
fn every_health_probe_a_target_calls_is_in_the_image() {
    let out = temp_dir("contracts-probe");
    let probe = "/usr/local/bin/bomc-healthcheck";
    let mut checked = 0;
    for (example, env, dir) in build_all(&out) {
        let c = compose(&dir);
        let t = template(&dir);
        // Which image each container runs, from the compose build.
        let mut dockerfile_of: BTreeMap<String, String> = BTreeMap::new();
        for (name, s) in c["services"].as_object().expect("services") {
            let (Some(context), Some(file)) = (
                s["build"]["context"].as_str(),
                s["build"]["dockerfile"].as_str(),
            ) else {
                continue;
            };
            let path = lexical(&dir.join(context).join(file));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|_| panic!("{example} {env} {name}: {} missing", path.display()));
            dockerfile_of.insert(name.clone(), text);
        }
        let mut calls: BTreeSet<String> = BTreeSet::new();
        for (name, s) in c["services"].as_object().expect("services") {
            if s["healthcheck"]["test"].to_string().contains(probe) {
                calls.insert(name.clone());
            }
        }
        for r in t["Resources"].as_object().expect("resources").values() {
            let def = &r["Properties"]["ContainerDefinitions"][0];
            if def["HealthCheck"]["Command"].to_string().contains(probe) {
                calls.insert(def["Name"].as_str().expect("name").to_string());
            }
        }
        for service in calls {
            let dockerfile = dockerfile_of.get(&service).unwrap_or_else(|| {
                panic!("{example} {env}: `{service}` calls the probe but is not built by bomc")
            });
            assert!(
                dockerfile.contains(&format!("COPY --from=probe /bomc-healthcheck {probe}")),
                "{example} {env}: `{service}` calls {probe}, which its image does not contain"
            );
            checked += 1;
        }
    }
    assert!(checked > 10, "only {checked} probe users checked");
}

#[test]
fn managed_versions_exist_and_follow_minor_upgrades() {
    let out = temp_dir("contracts-versions");
    for (example, env, dir) in build_all(&out) {
        let t = template(&dir);
        for (id, r) in t["Resources"].as_object().expect("resources") {
            let p = &r["Properties"];
            match r["Type"].as_str() {
                Some("AWS::RDS::DBInstance") => {
                    let v = p["EngineVersion"].as_str().expect("version");
                    assert!(
                        ["8.0", "8.4", "16", "17"].contains(&v),
                        "{example} {env} {id}: RDS pins `{v}`: a minor pin with auto minor upgrades asks for a downgrade on the next update"
                    );
                    assert_eq!(p["AutoMinorVersionUpgrade"], json!(true));
                }
                Some("AWS::ElastiCache::ReplicationGroup") => {
                    let pair = (p["Engine"].as_str(), p["EngineVersion"].as_str());
                    assert!(
                        matches!(
                            pair,
                            (Some("valkey"), Some("7.2" | "8.0"))
                                | (Some("redis"), Some("6.2" | "7.0" | "7.1"))
                        ),
                        "{example} {env} {id}: ElastiCache has no {pair:?}"
                    );
                }
                Some("AWS::AmazonMQ::Broker") => {
                    assert_eq!(p["EngineVersion"], json!("3.13"), "{example} {env} {id}");
                }
                _ => {}
            }
        }
    }
}

/// A scratch `.bom` file in a fresh folder.
fn scratch(name: &str, text: &str) -> (PathBuf, PathBuf) {
    let dir = temp_dir(name);
    let file = dir.join("app.bom");
    std::fs::write(&file, text).expect("write");
    (dir, file)
}

#[test]
fn an_environment_setting_wins_over_ephemeral_sizing_and_sizing_is_reported() {
    let text = r#"
import "postgres"
landscape shop {
  postgres db {
    database = "shop"
    password = secret("shop/db")
    instance_class = "db.m5.large"
  }
  postgres reports {
    database = "reports"
    password = secret("shop/reports")
    instance_class = "db.m5.large"
  }
}
environment load {
  ttl = 4h
  db.instance_class = "db.r6g.xlarge"
}
"#;
    let (dir, file) = scratch("contracts-sizing", text);
    let run = bomc(
        &dir,
        &[
            "build",
            file.to_str().unwrap(),
            "--env",
            "load",
            "--target",
            "cloudformation",
            "--now",
            NOW,
            "--out",
            dir.join("out").to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let t = template(&crate::written_folder(&run));
    assert_eq!(
        t["Resources"]["DbDatabase"]["Properties"]["DBInstanceClass"],
        json!("db.r6g.xlarge"),
        "the environment's explicit class wins"
    );
    assert_eq!(
        t["Resources"]["ReportsDatabase"]["Properties"]["DBInstanceClass"],
        json!("db.t3.micro")
    );
    assert!(
        run.stderr.contains("warning[W0001]")
            && run
                .stderr
                .contains("`reports` runs `db.t3.micro` instead of `db.m5.large`"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("`db` runs"), "{}", run.stderr);
    let notes = t["Metadata"]["bomc"]["notes"].to_string();
    assert!(notes.contains("W0001"), "recorded in the template: {notes}");
}

#[test]
fn what_a_target_ignores_is_a_warning_recorded_in_every_output() {
    let text = r#"
import "load_balancer"
landscape shop {
  service api {
    build = api_image
    ports { http = 8080 }
    health { port = "http", interval = 2s }
  }
  service admin {
    build = api_image
    ports { http = 9090 }
    public = true
  }
  load_balancer lb {
    domain = "shop.example.com"
    routes { "/" = api.ports.http }
    ports { http = 9001, https = 443 }
  }
}
image api_image {
  from = "debian:12.5-slim"
  command = ["/app/api"]
}
"#;
    let (dir, file) = scratch("contracts-ignored", text);
    let run = bomc(
        &dir,
        &[
            "build",
            file.to_str().unwrap(),
            "--now",
            NOW,
            "--out",
            dir.join("out").to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    for expected in [
        "warning[W0003]: `lb.ports.http = 9001` applies on compose only",
        "warning[W0003]: `public = true` publishes `admin`'s ports on compose only",
        "warning[W0002]: ECS runs the health check of `api` within its limits: interval 2 → 5",
        "warning[W0003]: the load balancer `lb` probes `api` with `GET /`",
    ] {
        assert!(
            run.stderr.contains(expected),
            "missing {expected:?} in\n{}",
            run.stderr
        );
    }
    let folder = crate::written_folder(&run);
    let compose_text = std::fs::read_to_string(folder.join("compose.yaml")).unwrap();
    let manifest = std::fs::read_to_string(folder.join("bomc-manifest.json")).unwrap();
    let t = template(&folder);
    for (what, text) in [
        ("compose.yaml", compose_text),
        ("manifest", manifest),
        ("template", t["Metadata"]["bomc"]["notes"].to_string()),
    ] {
        assert!(
            text.contains("W0003") && text.contains("W0002"),
            "{what} does not record the warnings"
        );
    }
    // A TCP check (a port, no path) is the same probe on both targets.
    let c = compose(&folder);
    assert_eq!(
        c["services"]["api"]["healthcheck"]["test"],
        json!([
            "CMD",
            "/usr/local/bin/bomc-healthcheck",
            "tcp://127.0.0.1:8080"
        ])
    );
    assert_eq!(
        container(&t, "Api")["HealthCheck"]["Command"],
        json!([
            "CMD",
            "/usr/local/bin/bomc-healthcheck",
            "tcp://127.0.0.1:8080"
        ])
    );
}

#[test]
fn shell_health_commands_stay_shell_commands_on_both_targets() {
    let text = r#"
landscape shop {
  service web {
    image = "nginx:1.25.4-alpine"
    ports { http = 80 }
    health { command = ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1/ || exit 1"] }
  }
}
"#;
    let (dir, file) = scratch("contracts-shell", text);
    let run = bomc(
        &dir,
        &[
            "build",
            file.to_str().unwrap(),
            "--now",
            NOW,
            "--out",
            dir.join("out").to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let folder = crate::written_folder(&run);
    let want = json!([
        "CMD-SHELL",
        "wget -q -O /dev/null http://127.0.0.1/ || exit 1"
    ]);
    assert_eq!(
        compose(&folder)["services"]["web"]["healthcheck"]["test"],
        want
    );
    assert_eq!(
        container(&template(&folder), "Web")["HealthCheck"]["Command"],
        want
    );
}

#[test]
fn the_cloudformation_escape_hatch_is_emitted() {
    let text = r#"
landscape shop {
  service api {
    image = "ghcr.io/shop/api:3.1.0"
    ports { http = 8080 }
  }
  service alarms {
    image = "ghcr.io/shop/alarms:1.0.2"
    cloudformation {
      ApiAlarmTopic {
        Type = "AWS::SNS::Topic"
        Properties { KmsMasterKeyId = "alias/aws/sns", DisplayName = "api alarms on ${api.host}" }
      }
    }
  }
}
"#;
    let (dir, file) = scratch("contracts-hatch", text);
    let run = bomc(
        &dir,
        &[
            "build",
            file.to_str().unwrap(),
            "--target",
            "cloudformation",
            "--now",
            NOW,
            "--out",
            dir.join("out").to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let t = template(&crate::written_folder(&run));
    let topic = &t["Resources"]["ApiAlarmTopic"];
    assert_eq!(topic["Type"], json!("AWS::SNS::Topic"));
    assert_eq!(
        topic["Properties"]["KmsMasterKeyId"],
        json!("alias/aws/sns")
    );
    assert_eq!(
        topic["Properties"]["DisplayName"],
        json!("api alarms on api.shop-default.internal"),
        "host names resolve as they do in env"
    );
}

#[test]
fn an_environment_whose_ttl_is_a_parameter_is_ephemeral_for_envs_and_build() {
    let text = r#"
landscape shop {
  service api {
    image = "ghcr.io/shop/api:3.1.0"
    ports { http = 8080 }
  }
}
environment trial {
  param lifetime: duration = 6h
  ttl = lifetime
}
"#;
    let (dir, file) = scratch("contracts-ttl-param", text);
    let envs = bomc(&dir, &["envs", file.to_str().unwrap(), "--format", "json"]);
    assert_eq!(envs.code, 0, "{}", envs.stderr);
    let list: Value = serde_json::from_str(&envs.stdout).expect("JSON");
    assert_eq!(list[0]["kind"], json!("ephemeral"), "{list}");
    assert_eq!(list[0]["ttl"], json!(6 * 3600));
    let run = bomc(
        &dir,
        &[
            "build",
            file.to_str().unwrap(),
            "--env",
            "trial",
            "--now",
            NOW,
            "--out",
            dir.join("out").to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("ephemeral, expires 2026-11-27T15:00:00Z"),
        "{}",
        run.stdout
    );
}

/// `check` and `build` say the same about every file: both accept it, or
/// both refuse it with the same first code.
#[test]
fn check_and_build_agree_on_every_example_and_ui_file() {
    let mut files: Vec<(PathBuf, Vec<String>)> = Vec::new();
    for path in bom_files(&root().join("examples")) {
        for (env, sets) in environments_of(&path) {
            let mut args = vec![String::from("--env"), env];
            args.extend(sets);
            files.push((path.clone(), args));
        }
    }
    for dir in ["tests/ui/errors", "tests/ui/warnings"] {
        for path in bom_files(&root().join(dir)) {
            let text = std::fs::read_to_string(&path).expect("readable");
            let header = text.lines().find_map(|l| l.strip_prefix("// args:"));
            let mut args = Vec::new();
            if let Some(h) = header {
                let words: Vec<&str> = h.split_whitespace().collect();
                if words.first() != Some(&"build") {
                    continue;
                }
                // Keep what selects the environment; drop what only a build has.
                let mut i = 1;
                while i < words.len() {
                    match words[i] {
                        "--env" | "--set" => {
                            args.push(words[i].to_string());
                            args.push(words.get(i + 1).unwrap_or(&"").to_string());
                            i += 2;
                        }
                        "--out" | "--target" => i += 2,
                        "--now" => {
                            // An invalid --now is a build-only mistake (E0502).
                            args.clear();
                            args.push(String::from("skip"));
                            break;
                        }
                        _ => i += 1,
                    }
                }
                if args.first().map(String::as_str) == Some("skip") {
                    continue;
                }
            }
            files.push((path, args));
        }
    }
    let out = temp_dir("contracts-agree");
    let mut disagreements = Vec::new();
    for (path, args) in &files {
        let name = path
            .strip_prefix(root())
            .unwrap_or(path)
            .display()
            .to_string();
        if name.contains("E0501") || name.contains("E0504") || name.contains("E0506") {
            // The output folder: only a build writes. Nothing to build: `check`
            // checks every environment, with placeholders for parameters. The
            // root template's quotas: only a build assembles templates.
            continue;
        }
        let file = path.to_str().expect("utf-8");
        let mut check: Vec<&str> = vec!["check", file, "--format", "json"];
        check.extend(args.iter().map(String::as_str));
        let mut build: Vec<&str> = vec!["build", file, "--format", "json", "--now", NOW, "--out"];
        build.push(out.to_str().expect("utf-8"));
        build.extend(args.iter().map(String::as_str));
        let dir = path.parent().expect("folder");
        let c = bomc(dir, &check);
        let b = bomc(dir, &build);
        let first_error = |stdout: &str| -> Option<String> {
            let diags: Value = serde_json::from_str(stdout).ok()?;
            diags
                .as_array()?
                .iter()
                .find(|d| d["severity"] == "error")
                .and_then(|d| d["code"].as_str().map(String::from))
        };
        let (ce, be) = (first_error(&c.stdout), first_error(&b.stdout));
        if c.code != b.code || ce != be {
            disagreements.push(format!(
                "{name} {args:?}: check exit {} {ce:?}, build exit {} {be:?}\n{}{}",
                c.code, b.code, c.stderr, b.stderr
            ));
        }
    }
    assert!(files.len() > 100, "only {} files", files.len());
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

/// `compose { }` is merged last: maps key by key, lists (and everything
/// else) replaced whole — as docs/language.md says.
#[test]
fn the_compose_escape_hatch_merges_maps_and_replaces_lists() {
    let text = r#"
landscape shop {
  service api {
    image = "ghcr.io/shop/api:3.1.0"
    command = ["serve", "--port", "8080"]
    ports { http = 8080 }
    replicas = 2
    cpu = 0.5
    compose {
      command = ["serve", "--debug"]
      deploy {
        update_config { order = "start-first" }
      }
    }
  }
}
"#;
    let (dir, file) = scratch("contracts-compose-hatch", text);
    let out = dir.join("out");
    let run = bomc(
        &dir,
        &[
            "build",
            file.to_str().unwrap(),
            "--target",
            "compose",
            "--now",
            NOW,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let c = compose(&crate::written_folder(&run));
    let api = &c["services"]["api"];
    assert_eq!(
        api["command"],
        json!(["serve", "--debug"]),
        "a list is replaced, not appended to"
    );
    assert_eq!(
        api["deploy"]["update_config"]["order"],
        json!("start-first")
    );
    assert_eq!(
        api["deploy"]["replicas"],
        json!(2),
        "a map is merged: bomc's keys stay"
    );
    assert!(api["deploy"]["resources"]["limits"].is_object(), "{api}");
}
