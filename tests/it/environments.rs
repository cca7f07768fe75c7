//! Purpose-built environments: what a file declares (`bomc envs FILE`), two
//! instances of every ephemeral environment side by side without collisions,
//! exact expiry with a self-delete schedule only where it belongs, and
//! `bomc envs --out` / `bomc reap --dry-run` on a folder of live, expired and
//! persistent instances.

use crate::{NOW, bom_files, bomc, environments_of, root, temp_dir, venv_tool};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn json_of(run: &crate::Run) -> Value {
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).expect("JSON")
}

#[test]
fn envs_lists_what_every_example_declares() {
    for path in bom_files(&root().join("examples")) {
        let list = json_of(&bomc(
            &root(),
            &["envs", path.to_str().expect("utf-8"), "--format", "json"],
        ));
        let list = list.as_array().expect("array");
        assert_eq!(
            list.len(),
            environments_of(&path).len(),
            "{}",
            path.display()
        );
        let kinds: BTreeSet<&str> = list.iter().filter_map(|e| e["kind"].as_str()).collect();
        assert_eq!(
            kinds,
            BTreeSet::from(["ephemeral", "persistent"]),
            "{}",
            path.display()
        );
        for env in list {
            let keys: BTreeSet<&str> = env
                .as_object()
                .expect("object")
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(
                keys,
                BTreeSet::from(["kind", "name", "parameters", "purpose", "ttl"])
            );
            assert_eq!(
                env["kind"] == "ephemeral",
                env["ttl"].as_u64().is_some_and(|t| t > 0),
                "{env}"
            );
            for p in env["parameters"].as_array().expect("parameters") {
                assert!(
                    p["name"].is_string() && p["type"].is_string() && p.get("default").is_some(),
                    "{p}"
                );
            }
        }
    }
    let messenger = json_of(&bomc(
        &root(),
        &["envs", "examples/messenger.bom", "--format", "json"],
    ));
    assert_eq!(
        messenger,
        serde_json::json!([
            {"name": "integration", "kind": "persistent", "ttl": null, "purpose": null, "parameters": []},
            {"name": "production", "kind": "persistent", "ttl": null, "purpose": null, "parameters": []},
            {"name": "ci", "kind": "ephemeral", "ttl": 3600, "purpose": "integration tests of go-auth build ${build}",
             "parameters": [{"name": "build", "type": "string", "default": null}, {"name": "port", "type": "int", "default": 9000}]},
            {"name": "story", "kind": "ephemeral", "ttl": 50400, "purpose": "user test for story ${id}",
             "parameters": [{"name": "id", "type": "string", "default": null}]},
        ])
    );
}

/// Builds one instance; returns its folder.
fn build(out: &Path, example: &Path, env: &str, sets: &[String]) -> PathBuf {
    let mut args = vec![
        "build",
        example.to_str().expect("utf-8"),
        "--env",
        env,
        "--out",
        out.to_str().expect("utf-8"),
        "--now",
        NOW,
    ];
    args.extend(sets.iter().map(String::as_str));
    let run = bomc(&root(), &args);
    assert_eq!(run.code, 0, "{} {env}: {}", example.display(), run.stderr);
    crate::written_folder(&run)
}

/// The `--set`s of an environment with every value made different for a second instance.
fn second(sets: &[String]) -> Vec<String> {
    sets.iter()
        .map(|s| match s.split_once('=') {
            Some((k, v)) => format!("{k}={v}-b"),
            None => s.clone(),
        })
        .collect()
}

fn published_ports(compose: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for service in compose["services"].as_object().expect("services").values() {
        for p in service["ports"].as_array().into_iter().flatten() {
            out.insert(p["published"].as_str().unwrap_or("").to_string());
        }
    }
    out
}

fn names_in_template(t: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for r in t["Resources"].as_object().expect("resources").values() {
        // Service-discovery names live inside the instance's own namespace (itself in this list).
        if r["Type"] == "AWS::ServiceDiscovery::Service" {
            continue;
        }
        for key in ["Family", "BrokerName", "Name"] {
            if let Some(n) = r["Properties"][key].as_str() {
                out.insert(format!("{}:{n}", r["Type"].as_str().unwrap_or("")));
            }
        }
    }
    out
}

fn load_yaml(path: &Path) -> Value {
    let run = std::process::Command::new(venv_tool("python"))
        .arg("-c")
        .arg("import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))")
        .arg(path)
        .output()
        .expect("python runs");
    serde_json::from_slice(&run.stdout).expect("compose parses")
}

#[test]
fn two_instances_of_every_ephemeral_environment_never_collide() {
    let out = temp_dir("envs-two");
    let mut pairs = 0;
    let mut shared_listener_rules = 0;
    let mut composes = Vec::new();
    let mut templates = Vec::new();
    for path in bom_files(&root().join("examples")) {
        let declared = json_of(&bomc(
            &root(),
            &["envs", path.to_str().expect("utf-8"), "--format", "json"],
        ));
        for (env, sets) in environments_of(&path) {
            let ephemeral = declared
                .as_array()
                .expect("array")
                .iter()
                .any(|e| e["name"] == env.as_str() && e["kind"] == "ephemeral");
            if !ephemeral || sets.is_empty() {
                continue;
            }
            pairs += 1;
            let a = build(&out, &path, &env, &sets);
            let b = build(&out, &path, &env, &second(&sets));
            assert_ne!(a, b, "two instances share a folder");
            let (ca, cb) = (
                load_yaml(&a.join("compose.yaml")),
                load_yaml(&b.join("compose.yaml")),
            );
            assert_ne!(
                ca["name"], cb["name"],
                "{env}: compose project names collide"
            );
            let (pa, pb) = (published_ports(&ca), published_ports(&cb));
            assert!(
                pa.is_disjoint(&pb),
                "{env}: host ports collide: {pa:?} {pb:?}"
            );
            let read = |d: &Path| -> Value { crate::template(d) };
            let (ta, tb) = (read(&a), read(&b));
            let (na, nb) = (names_in_template(&ta), names_in_template(&tb));
            let shared: Vec<&String> = na.intersection(&nb).collect();
            assert!(
                shared.is_empty(),
                "{env}: physical names collide: {shared:?}"
            );
            let dns = |t: &Value| -> BTreeSet<String> {
                t["Resources"]
                    .as_object()
                    .expect("resources")
                    .values()
                    .filter(|r| r["Type"] == "AWS::Route53::RecordSet")
                    .filter_map(|r| r["Properties"]["Name"].as_str().map(String::from))
                    .collect()
            };
            assert!(dns(&ta).is_disjoint(&dns(&tb)), "{env}: DNS names collide");
            // Rules on a listener both instances share must not share priorities.
            let shared_rules = |t: &Value| -> BTreeSet<(String, u64)> {
                t["Resources"]
                    .as_object()
                    .expect("resources")
                    .values()
                    .filter(|r| {
                        r["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"
                            && r["Properties"]["ListenerArn"].is_string()
                    })
                    .map(|r| {
                        (
                            r["Properties"]["ListenerArn"]
                                .as_str()
                                .unwrap_or("")
                                .to_string(),
                            r["Properties"]["Priority"].as_u64().unwrap_or(0),
                        )
                    })
                    .collect()
            };
            let (ra, rb) = (shared_rules(&ta), shared_rules(&tb));
            assert!(
                ra.is_disjoint(&rb),
                "{env}: listener-rule priorities collide: {ra:?} {rb:?}"
            );
            shared_listener_rules += ra.len();
            composes.extend([a.join("compose.yaml"), b.join("compose.yaml")]);
            templates.extend([a.join("cloudformation.json"), b.join("cloudformation.json")]);
        }
    }
    assert!(
        pairs >= 6,
        "only {pairs} ephemeral environments with parameters"
    );
    assert!(
        shared_listener_rules > 0,
        "no example attaches to a shared listener"
    );
    // Both instances pass the validators of the build.
    let lint = std::process::Command::new(venv_tool("cfn-lint"))
        .args(&templates)
        .output()
        .expect("cfn-lint runs");
    assert!(
        lint.status.success(),
        "{}",
        String::from_utf8_lossy(&lint.stdout)
    );
    let validate = std::process::Command::new(venv_tool("python"))
        .arg(root().join("tests/tools/validate_compose.py"))
        .arg(root().join("tests/tools/compose-spec.json"))
        .args(&composes)
        .output()
        .expect("validator runs");
    assert!(
        validate.status.success(),
        "{}",
        String::from_utf8_lossy(&validate.stdout)
    );
}

#[test]
fn expiry_is_exact_and_only_ephemeral_stacks_delete_themselves() {
    let out = temp_dir("envs-expiry");
    let mut ephemeral = 0;
    let mut persistent = 0;
    for path in bom_files(&root().join("examples")) {
        let declared = json_of(&bomc(
            &root(),
            &["envs", path.to_str().expect("utf-8"), "--format", "json"],
        ));
        for (env, sets) in environments_of(&path) {
            let info = declared
                .as_array()
                .expect("array")
                .iter()
                .find(|e| e["name"] == env.as_str())
                .expect("declared")
                .clone();
            let dir = build(&out, &path, &env, &sets);
            let t: Value = crate::template(&dir);
            let schedules: Vec<&Value> = t["Resources"]
                .as_object()
                .expect("resources")
                .values()
                .filter(|r| r["Type"] == "AWS::Scheduler::Schedule")
                .collect();
            match info["ttl"].as_i64() {
                Some(ttl) => {
                    ephemeral += 1;
                    let now = bomc::lower::time::parse_rfc3339(NOW).expect("valid");
                    let expires = bomc::lower::time::format_rfc3339(now + ttl);
                    assert_eq!(schedules.len(), 1, "{env}");
                    // The schedule's time is computed when the stack is
                    // created, from the TTL parameter (tests/it/deploy.rs).
                    assert_eq!(
                        schedules[0]["Properties"]["ScheduleExpression"],
                        serde_json::json!({"Fn::Sub": "at(${ExpiryClock.At})"})
                    );
                    assert_eq!(
                        t["Parameters"]["TtlSeconds"]["Default"],
                        ttl.to_string(),
                        "{env}"
                    );
                    assert_eq!(
                        schedules[0]["Properties"]["ScheduleExpressionTimezone"],
                        "UTC"
                    );
                    assert_eq!(
                        schedules[0]["Properties"]["Target"]["Arn"],
                        "arn:aws:scheduler:::aws-sdk:cloudformation:deleteStack"
                    );
                    let tags = t["Resources"]["Cluster"]["Properties"]["Tags"].to_string();
                    assert!(
                        (tags.contains("\"Key\":\"bomc:ttl\"") && !tags.contains("bomc:expires"))
                            || t["Resources"].get("Cluster").is_none(),
                        "{env}"
                    );
                    let compose =
                        std::fs::read_to_string(dir.join("compose.yaml")).expect("compose");
                    assert!(
                        compose.contains(&format!("org.bomc.expires: \"{expires}\"")),
                        "{env}: expiry label"
                    );
                    let manifest: Value = serde_json::from_str(
                        &std::fs::read_to_string(dir.join("bomc-manifest.json")).expect("manifest"),
                    )
                    .expect("JSON");
                    assert_eq!(manifest["expires"], expires.as_str());
                }
                None => {
                    persistent += 1;
                    assert!(
                        schedules.is_empty(),
                        "{env} is persistent but deletes itself"
                    );
                    assert!(
                        !std::fs::read_to_string(dir.join("compose.yaml"))
                            .expect("compose")
                            .contains("org.bomc.expires")
                    );
                }
            }
        }
    }
    assert!(
        ephemeral >= 6 && persistent >= 6,
        "{ephemeral} ephemeral, {persistent} persistent"
    );
}

#[test]
fn envs_and_reap_act_only_on_expired_ephemeral_instances() {
    let out = temp_dir("envs-reap");
    let messenger = root().join("examples/messenger.bom");
    let build_at = |env: &str, sets: &[&str], now: &str| {
        let mut args = vec![
            "build",
            messenger.to_str().expect("utf-8"),
            "--env",
            env,
            "--out",
            out.to_str().expect("utf-8"),
            "--now",
            now,
            "--target",
            "compose",
        ];
        args.extend_from_slice(sets);
        assert_eq!(bomc(&root(), &args).code, 0);
    };
    build_at("production", &[], "2026-11-20T09:00:00Z");
    build_at("story", &["--set", "id=US-217"], "2026-11-26T09:00:00Z"); // expires 2026-11-26T23:00Z
    build_at("story", &["--set", "id=US-218"], "2026-11-27T20:00:00Z"); // expires 2026-11-28T10:00Z
    let now = "2026-11-28T00:00:00Z";
    let list = json_of(&bomc(
        &root(),
        &[
            "envs",
            "--out",
            out.to_str().expect("utf-8"),
            "--now",
            now,
            "--format",
            "json",
        ],
    ));
    // Only what the output folder holds: a Docker engine may be running other
    // bomc projects (the end-to-end suite's), which `envs` lists too.
    let state: Vec<(String, bool, Option<String>)> = list
        .as_array()
        .expect("array")
        .iter()
        .filter(|i| i["found_in"] == "output")
        .map(|i| {
            (
                i["instance"].as_str().unwrap_or("").to_string(),
                i["expired"].as_bool().unwrap_or(false),
                i["purpose"].as_str().map(String::from),
            )
        })
        .collect();
    assert_eq!(
        state,
        [
            ("production".to_string(), false, None),
            (
                "story-us-217".to_string(),
                true,
                Some("user test for story US-217".to_string())
            ),
            (
                "story-us-218".to_string(),
                false,
                Some("user test for story US-218".to_string())
            ),
        ]
    );
    let reap = bomc(
        &root(),
        &[
            "reap",
            "--out",
            out.to_str().expect("utf-8"),
            "--now",
            now,
            "--dry-run",
        ],
    );
    assert_eq!(reap.code, 0, "{}", reap.stderr);
    let commands: Vec<&str> = reap.stdout.lines().collect();
    assert_eq!(commands.len(), 1, "{}", reap.stdout);
    assert!(
        commands[0]
            .starts_with("docker compose --project-name messenger-story-us-217 down --volumes"),
        "{}",
        reap.stdout
    );
    // Dry run: nothing changed on disk.
    assert!(out.join("messenger/story-us-217/compose.yaml").exists());
    let later = bomc(
        &root(),
        &[
            "reap",
            "--out",
            out.to_str().expect("utf-8"),
            "--now",
            "2026-11-29T00:00:00Z",
            "--dry-run",
        ],
    );
    assert_eq!(later.stdout.lines().count(), 2, "{}", later.stdout);
    assert!(!later.stdout.contains("production"));
}

fn replicas(example: &str, args: &[&str]) -> Vec<(String, i64)> {
    let mut all = vec!["model", example];
    all.extend_from_slice(args);
    let m = json_of(&bomc(&root(), &all));
    m["components"]
        .as_array()
        .expect("components")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or("").to_string(),
                c["settings"]["replicas"]["value"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

#[test]
fn ephemeral_environments_run_one_copy_unless_they_ask_for_more() {
    let prod = replicas("examples/collective-health.bom", &["--env", "production"]);
    assert!(prod.iter().any(|(_, n)| *n > 1), "{prod:?}");
    let story = replicas(
        "examples/collective-health.bom",
        &["--env", "story", "--set", "id=us-217"],
    );
    assert!(story.iter().all(|(_, n)| *n == 1), "{story:?}");
    // A count the environment sets (through a parameter) is kept: the perf test wants 16 workers.
    let perf = replicas(
        "examples/lidar.bom",
        &["--env", "perf-test", "--set", "release=2.3.1"],
    );
    assert!(
        perf.contains(&("processing-worker".to_string(), 16)),
        "{perf:?}"
    );
}

#[test]
fn switching_colour_touches_only_the_load_balancer_piece() {
    let build = |colour: &str| -> (Value, String) {
        let out = temp_dir(&format!("bluegreen-{colour}"));
        let run = bomc(
            &root(),
            &[
                "build",
                "examples/messenger-bluegreen.bom",
                "--env",
                "production",
                "--set",
                &format!("live={colour}"),
                "--out",
                out.to_str().expect("utf-8"),
                "--now",
                NOW,
                "--target",
                "cloudformation,compose",
            ],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        let dir = out.join("messenger_bluegreen/production");
        let t = crate::template(&dir);
        (
            t,
            std::fs::read_to_string(dir.join("compose.yaml")).expect("compose"),
        )
    };
    let (blue, blue_compose) = build("blue");
    let (green, green_compose) = build("green");
    // The live colour is the one the load balancer's target group serves.
    let served = |t: &Value| -> String {
        t["Resources"]
            .as_object()
            .expect("resources")
            .iter()
            .find(|(_, r)| {
                r["Type"] == "AWS::ECS::Service"
                    && r["Properties"]["LoadBalancers"][0]["TargetGroupArn"]["Ref"]
                        == "LbRootTargetGroup"
            })
            .map(|(id, _)| id.clone())
            .unwrap_or_default()
    };
    assert_eq!(served(&blue), "AuthBlueService");
    assert_eq!(served(&green), "AuthGreenService");
    // Data, task definitions and the load balancer itself do not change.
    for id in [
        "DbDatabase",
        "AuthBlueTaskDefinition",
        "AuthGreenTaskDefinition",
        "LbLoadBalancer",
        "LbRootTargetGroup",
        "LbRootRule",
        "LbHttpsListener",
    ] {
        assert_eq!(
            blue["Resources"][id], green["Resources"][id],
            "{id} changed with the colour"
        );
    }
    let changed: Vec<&String> = blue["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .filter(|(id, r)| green["Resources"].get(id.as_str()) != Some(r))
        .map(|(id, _)| id)
        .collect();
    for id in &changed {
        assert!(
            id.starts_with("AuthBlue") || id.starts_with("AuthGreen"),
            "{id} changed with the colour"
        );
    }
    // On compose, HAProxy's backend follows the colour.
    assert!(
        blue_compose.contains("auth_blue:9000 check")
            && green_compose.contains("auth_green:9000 check")
    );
}

#[test]
fn a_branch_environment_attaches_to_shared_infrastructure() {
    let out = temp_dir("envs-shared");
    let dir = build(
        &out,
        &root().join("examples/fooda.bom"),
        "feature",
        &[String::from("--set"), String::from("branch=menu-search")],
    );
    let t: Value = crate::template(&dir);
    let types: BTreeSet<&str> = t["Resources"]
        .as_object()
        .expect("resources")
        .values()
        .filter_map(|r| r["Type"].as_str())
        .collect();
    for own in [
        "AWS::ECS::Cluster",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::ElasticLoadBalancingV2::Listener",
        "AWS::CertificateManager::Certificate",
    ] {
        assert!(!types.contains(own), "creates its own {own}");
    }
    assert_eq!(
        t["Resources"]["WebService"]["Properties"]["Cluster"],
        "fooda-dev"
    );
    let rule = &t["Resources"]["LbRootRule"]["Properties"];
    assert!(
        rule["ListenerArn"]
            .as_str()
            .is_some_and(|a| a.contains("listener/app/fooda-dev"))
    );
    assert_eq!(
        rule["Conditions"][0]["HostHeaderConfig"]["Values"][0],
        "menu-search.dev.example.com"
    );
    assert_eq!(
        t["Resources"]["LbDnsRecord"]["Properties"]["ResourceRecords"][0],
        "fooda-dev-1234567890.us-east-1.elb.amazonaws.com"
    );
    let ingress = &t["Resources"]["WebFromLbPort3000"]["Properties"];
    assert_eq!(ingress["SourceSecurityGroupId"], "sg-0a1b2c3d4e5f60718");
}

/// `check` holds what it built for each environment (graph and plan) for
/// its caller to leave to the process's exit, one per core at most: a file
/// with three environments frees each as it goes, so a core that checks
/// two does not hold the first's while it builds the second's.
#[test]
fn check_holds_what_it_built_for_two_environments_at_most() {
    let landscape = "landscape shop {\n  service web {\n    image = \"nginx:1.27.3\"\n    ports { http = 80 }\n  }\n}\n";
    let with = |envs: &[&str]| {
        let mut text = String::from(landscape);
        for env in envs {
            text.push_str(&format!("environment {env} {{\n  web.replicas = 2\n}}\n"));
        }
        let checked = bomc::check_text("shop.bom", text, &bomc::eval::Options::default());
        assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
        (checked.landscapes.len(), checked.built.len())
    };
    assert_eq!(with(&[]), (1, 1));
    assert_eq!(with(&["dev", "prod"]), (2, 2));
    assert_eq!(with(&["dev", "qa", "prod"]), (3, 0));
}
