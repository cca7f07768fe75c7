//! CloudFormation output: every example environment passes cfn-lint with no
//! error or warning, persistent environments pass checkov (every skip carries
//! its reason in the template), and the template says what the landscape
//! means: least-privilege security groups, deletion policies by lifetime,
//! tags everywhere, secrets only by reference.

use crate::{NOW, bomc, build_examples, root, temp_dir, template, venv_tool};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn templates(out: &Path) -> Vec<(String, String, PathBuf)> {
    build_examples("cloudformation", out)
}

#[test]
fn every_example_environment_passes_cfn_lint() {
    let out = temp_dir("cfn-lint");
    let built = templates(&out);
    assert!(built.len() >= 12, "{} environments", built.len());
    let files: Vec<PathBuf> = built
        .iter()
        .map(|(_, _, dir)| dir.join("cloudformation.json"))
        .collect();
    crate::assert_cfn_lint_clean_all(&files);
}

#[test]
fn persistent_environments_pass_checkov() {
    let out = temp_dir("cfn-checkov");
    let built = templates(&out);
    let mut checked = 0;
    for (example, env, dir) in &built {
        if template(dir)["Metadata"]["bomc"]["lifetime"] == "ephemeral" {
            continue;
        }
        checked += 1;
        let (passed, report) =
            crate::checkov_cloudformation(&dir.join("cloudformation.json"), &out);
        assert!(passed, "{example}/{env}:\n{report}");
    }
    assert!(checked >= 6, "only {checked} persistent environments");
    // Every skip says why.
    for (_, _, dir) in &built {
        for (id, resource) in template(dir)["Resources"].as_object().expect("resources") {
            if let Some(skips) = resource["Metadata"]["checkov"]["skip"].as_array() {
                for skip in skips {
                    let reason = skip["comment"].as_str().unwrap_or("");
                    assert!(
                        reason.len() > 20,
                        "{id}: skip {} without a reason",
                        skip["id"]
                    );
                }
            }
        }
    }
}

fn build_one(example: &str, env: &str, sets: &[&str]) -> Value {
    let out = temp_dir(&format!("cfn-{example}-{env}"));
    let mut args = vec![
        "build",
        example,
        "--env",
        env,
        "--target",
        "cloudformation",
        "--out",
        out.to_str().expect("utf-8"),
        "--now",
        NOW,
    ];
    args.extend_from_slice(sets);
    let run = bomc(&root(), &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let dir = crate::written_folder(&run);
    template(&dir)
}

fn ingress(t: &Value, group: &str) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = t["Resources"]
        .as_object()
        .expect("resources")
        .values()
        .filter(|r| {
            r["Type"] == "AWS::EC2::SecurityGroupIngress"
                && r["Properties"]["GroupId"]["Fn::GetAtt"][0] == group
        })
        .map(|r| {
            (
                r["Properties"]["SourceSecurityGroupId"]["Fn::GetAtt"][0]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                r["Properties"]["FromPort"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn security_groups_admit_only_the_components_that_reference_them() {
    let t = build_one("examples/messenger.bom", "production", &[]);
    assert_eq!(
        ingress(&t, "DbSecurityGroup"),
        [("AuthSecurityGroup".to_string(), 3306)]
    );
    assert_eq!(
        ingress(&t, "AuthSecurityGroup"),
        [("LbSecurityGroup".to_string(), 9000)]
    );
    assert!(ingress(&t, "LbSecurityGroup").is_empty());
    let lb = &t["Resources"]["LbSecurityGroup"]["Properties"]["SecurityGroupIngress"];
    let open: Vec<u64> = lb
        .as_array()
        .expect("internet ingress")
        .iter()
        .filter_map(|r| r["FromPort"].as_u64())
        .collect();
    assert_eq!(open, [80, 443]);
    // Nothing else is open to the internet.
    for (id, r) in t["Resources"].as_object().expect("resources") {
        if id != "LbSecurityGroup" {
            assert!(
                !r.to_string().contains("0.0.0.0/0"),
                "{id} is open to the internet"
            );
        }
    }
}

#[test]
fn stateful_resources_are_protected_by_lifetime() {
    let prod = build_one("examples/fooda.bom", "production", &[]);
    let feature = build_one(
        "examples/fooda.bom",
        "feature",
        &["--set", "branch=menu-search"],
    );
    let policy = |t: &Value, id: &str| {
        t["Resources"][id]["DeletionPolicy"]
            .as_str()
            .unwrap_or("none")
            .to_string()
    };
    assert_eq!(policy(&prod, "DbDatabase"), "Snapshot");
    assert_eq!(
        prod["Resources"]["DbDatabase"]["UpdateReplacePolicy"],
        "Snapshot"
    );
    assert_eq!(
        prod["Resources"]["DbDatabase"]["Properties"]["DeletionProtection"],
        true
    );
    assert_eq!(
        prod["Resources"]["DbDatabase"]["Properties"]["MultiAZ"],
        true
    );
    assert_eq!(policy(&prod, "CacheCache"), "Snapshot");
    assert_eq!(policy(&prod, "SearchDomain"), "Retain");
    assert_eq!(policy(&feature, "DbDatabase"), "Delete");
    assert_eq!(
        feature["Resources"]["DbDatabase"]["Properties"]["DeletionProtection"],
        false
    );
    assert_eq!(
        feature["Resources"]["DbDatabase"]["Properties"]["MultiAZ"],
        false
    );
    assert_eq!(policy(&feature, "CacheCache"), "Delete");
    assert_eq!(policy(&feature, "SearchDomain"), "Delete");
}

#[test]
fn services_roll_start_first_and_roll_back() {
    let t = build_one("examples/messenger.bom", "production", &[]);
    let service = &t["Resources"]["AuthService"];
    assert_eq!(service["Properties"]["DesiredCount"], 4);
    let deploy = &service["Properties"]["DeploymentConfiguration"];
    assert_eq!(deploy["MinimumHealthyPercent"], 100);
    assert_eq!(deploy["MaximumPercent"], 200);
    assert_eq!(
        deploy["DeploymentCircuitBreaker"],
        serde_json::json!({"Enable": true, "Rollback": true})
    );
    let tg = &t["Resources"]["LbRootTargetGroup"]["Properties"];
    assert_eq!(tg["HealthCheckPath"], "/health");
    assert_eq!(tg["HealthyThresholdCount"], 2);
    assert_eq!(tg["UnhealthyThresholdCount"], 3);
    // The database starts before the service that needs it.
    let depends: Vec<&str> = service["DependsOn"]
        .as_array()
        .expect("DependsOn")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(depends.contains(&"DbDatabase"), "{depends:?}");
    let outputs = t["Outputs"].as_object().expect("outputs");
    assert_eq!(outputs["LbUrl"]["Value"], "https://api.gomessenger.com");
    assert!(t["Resources"]["LbDnsRecord"]["Properties"]["Name"] == "api.gomessenger.com");
    assert_eq!(
        t["Resources"]["LbCertificate"]["Properties"]["ValidationMethod"],
        "DNS"
    );
}

#[test]
fn every_taggable_resource_carries_the_environment() {
    let t = build_one("examples/messenger.bom", "story", &["--set", "id=US-217"]);
    const UNTAGGABLE: &[&str] = &[
        "AWS::EC2::SecurityGroupIngress",
        "AWS::ElasticLoadBalancingV2::Listener",
        "AWS::ElasticLoadBalancingV2::ListenerRule",
        "AWS::Route53::RecordSet",
        "AWS::Scheduler::Schedule",
    ];
    for (id, r) in t["Resources"].as_object().expect("resources") {
        let ty = r["Type"].as_str().unwrap_or("");
        // Custom resources hold no AWS resource to tag (their functions are tagged).
        if ty.starts_with("Custom::") {
            continue;
        }
        if UNTAGGABLE.contains(&ty) {
            continue;
        }
        let tags: Vec<(String, String)> = r["Properties"]["Tags"]
            .as_array()
            .unwrap_or_else(|| panic!("{id} ({ty}) has no tags"))
            .iter()
            .map(|t| {
                (
                    t["Key"].as_str().unwrap_or("").to_string(),
                    t["Value"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        for expected in [
            ("bomc:landscape", "messenger"),
            ("bomc:environment", "story"),
            ("bomc:lifetime", "ephemeral"),
            // Counted from the stack's creation, so not known here: the TTL.
            ("bomc:ttl", "14h"),
            ("bomc:purpose", "user test for story US-217"),
        ] {
            assert!(
                tags.contains(&(expected.0.to_string(), expected.1.to_string())),
                "{id}: {tags:?}"
            );
        }
    }
}

#[test]
fn secrets_are_references_never_values() {
    let out = temp_dir("cfn-secrets");
    let sentinel = "sentinel-value-7f3a9c";
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_bomc"))
        .args([
            "build",
            "examples/messenger.bom",
            "--env",
            "production",
            "--target",
            "cloudformation",
            "--out",
        ])
        .arg(&out)
        .args(["--now", NOW])
        .current_dir(root())
        .env("MESSENGER_DB", sentinel)
        .env("messenger/db", sentinel)
        .output()
        .expect("bomc runs");
    assert!(run.status.success());
    let dir = out.join("messenger/production");
    let text = std::fs::read_to_string(dir.join("cloudformation.json")).expect("template");
    assert!(!text.contains(sentinel));
    let t: Value = serde_json::from_str(&text).expect("JSON");
    let container = &t["Resources"]["AuthTaskDefinition"]["Properties"]["ContainerDefinitions"][0];
    let secret = container["Secrets"]
        .as_array()
        .expect("secrets")
        .iter()
        .find(|s| s["Name"] == "DB_PASSWORD")
        .expect("DB_PASSWORD");
    assert!(
        secret["ValueFrom"]["Fn::Sub"]
            .as_str()
            .is_some_and(|v| v.ends_with(":secret:messenger/db"))
    );
    assert!(
        !container["Environment"]
            .to_string()
            .contains("messenger/db")
    );
    assert_eq!(
        t["Resources"]["DbDatabase"]["Properties"]["MasterUserPassword"],
        "{{resolve:secretsmanager:messenger/db:SecretString}}"
    );
}

/// 1,000 services, 83 databases, a load balancer with 250 routes: enough
/// routes that their target groups and rules cannot stay in the root (500
/// resources at most), and enough databases that the first stack, which holds
/// them, would export 250 outputs (200 allowed) if its outputs were not bounded.
fn large_landscape(services: usize) -> String {
    crate::large_landscape(&crate::Large {
        services,
        databases: services / 12,
        route_every: 4,
        upstream: true,
        first_database: "db0",
    })
}

/// Builds `source`'s production environment for CloudFormation alone into
/// `work/out`; the folder written, and its templates: the root, then the
/// nested ones in order.
fn build_production_templates(
    work: &Path,
    source: &Path,
    landscape: &str,
) -> (PathBuf, Vec<PathBuf>) {
    let out = work.join("out");
    let run = bomc(
        &root(),
        &[
            "build",
            source.to_str().expect("utf-8"),
            "--env",
            "production",
            "--target",
            "cloudformation",
            "--out",
            out.to_str().expect("utf-8"),
            "--now",
            NOW,
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let dir = out.join(landscape).join("production");
    let mut nested: Vec<PathBuf> = std::fs::read_dir(dir.join("cloudformation"))
        .map(|entries| entries.map(|e| e.expect("entry").path()).collect())
        .unwrap_or_default();
    nested.sort();
    let mut files = vec![dir.join("cloudformation.json")];
    files.extend(nested);
    (dir, files)
}

/// The names `value` refers to, each with whether only a resource can be it
/// (`Fn::GetAtt`, or `${Name.Attribute}` in `Fn::Sub`).
fn references(value: &Value, out: &mut Vec<(String, bool)>) {
    match value {
        Value::Object(m) => {
            if let (1, Some(Value::String(id))) = (m.len(), m.get("Ref")) {
                out.push((id.clone(), false));
                return;
            }
            if let (1, Some(Value::Array(a))) = (m.len(), m.get("Fn::GetAtt"))
                && let Some(Value::String(id)) = a.first()
            {
                out.push((id.clone(), true));
                return;
            }
            if let (1, Some(sub)) = (m.len(), m.get("Fn::Sub")) {
                let (text, variables) = match sub {
                    Value::String(text) => (text.as_str(), None),
                    Value::Array(a) => (a[0].as_str().unwrap_or(""), a.get(1)),
                    _ => ("", None),
                };
                let defined = |name: &str| variables.is_some_and(|v| v.get(name).is_some());
                for piece in text.split("${").skip(1) {
                    let name = piece.split('}').next().unwrap_or("");
                    if name.starts_with('!') || defined(name) {
                        continue;
                    }
                    let (id, attribute) = name.split_once('.').unwrap_or((name, ""));
                    out.push((id.to_string(), !attribute.is_empty()));
                }
                if let Some(v) = variables {
                    references(v, out);
                }
                return;
            }
            m.values().for_each(|v| references(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

#[test]
fn a_thousand_services_split_into_nested_stacks_within_quotas() {
    let work = temp_dir("cfn-quota");
    let source = work.join("big.bom");
    std::fs::write(&source, large_landscape(1000)).expect("write");
    let (dir, files) = build_production_templates(&work, &source, "big");
    let nested = &files[1..];
    assert!(nested.len() >= 10, "{} nested stacks", nested.len());
    let root_t = template(&dir);
    let stacks: Vec<&Value> = root_t["Resources"]
        .as_object()
        .expect("resources")
        .values()
        .filter(|r| r["Type"] == "AWS::CloudFormation::Stack")
        .collect();
    assert_eq!(stacks.len(), nested.len());
    let mut resources = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable");
        assert!(
            text.len() <= 1_000_000,
            "{}: {} bytes",
            file.display(),
            text.len()
        );
        let t: Value = serde_json::from_str(&text).expect("JSON");
        let count = |k: &str| t[k].as_object().map_or(0, |m| m.len());
        assert!(
            count("Resources") <= 500,
            "{}: {} resources",
            file.display(),
            count("Resources")
        );
        assert!(count("Parameters") <= 200, "{}", file.display());
        assert!(count("Outputs") <= 200, "{}", file.display());
        resources += count("Resources");
        // Every parameter of a nested stack is passed by the root.
        if let Some(name) = file
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| n.starts_with("nested-"))
        {
            let stack = stacks
                .iter()
                .find(|s| {
                    s["Properties"]["TemplateURL"].as_str()
                        == Some(&format!("cloudformation/{name}"))
                })
                .expect("a stack resource for each nested template");
            for (p, definition) in t["Parameters"].as_object().into_iter().flatten() {
                let passed = &stack["Properties"]["Parameters"][p];
                assert!(!passed.is_null(), "{name}: parameter {p} not passed");
                // Stack parameters are strings: a list is joined, never passed
                // by `Ref` (CloudFormation refuses that stack).
                let list = definition["Type"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("List<") || t == "CommaDelimitedList");
                assert_eq!(
                    list,
                    passed.get("Fn::Join").is_some(),
                    "{name}: parameter {p} ({definition}) passed as {passed}"
                );
            }
        }
    }
    assert!(resources > 5000, "{resources} resources in all");
    // Every reference in every template names something of that template:
    // a resource of its own (`Ref`, `Fn::GetAtt`, `${…}` in `Fn::Sub`), one
    // of its parameters (`Ref`, `${…}`), or a pseudo parameter. A resource
    // packed into another stack than its references would fail here.
    for file in &files {
        let t: Value =
            serde_json::from_str(&std::fs::read_to_string(file).expect("read")).expect("JSON");
        let has = |section: &str, id: &str| t[section].get(id).is_some();
        let mut names = Vec::new();
        references(&t["Resources"], &mut names);
        references(&t["Outputs"], &mut names);
        for (id, resource_only) in names {
            let known = id.starts_with("AWS::")
                || has("Resources", &id)
                || (!resource_only && has("Parameters", &id));
            assert!(known, "{}: `{id}` is not in the template", file.display());
        }
    }
    // cfn-lint takes 12 to 45 s a template here, five minutes for all twenty:
    // it reads the root, the stacks of databases (the first), of databases
    // and services (the second), the first of services only, and the last.
    // The others are that third one's shape over other services; the limits
    // above hold for every template.
    let mut lint: Vec<&PathBuf> = files.iter().take(4).collect();
    lint.extend(files.last());
    crate::assert_cfn_lint_clean_all(&lint);
}

/// IAM refuses a role whose inline policies pass 10,240 characters (white
/// space aside): one execution role listing every secret stops fitting at
/// some 120 secrets. Past that, each task that reads secrets has its own
/// execution role, listing just its own.
#[test]
fn past_one_roles_policy_quota_each_task_reads_its_secrets_through_its_own_role() {
    use std::fmt::Write as _;
    let work = temp_dir("cfn-execution-roles");
    let mut text = String::from("import \"postgres\"\n\nlandscape many {\n");
    for i in 0..130 {
        let _ = writeln!(
            text,
            "  postgres db{i} {{\n    database = \"db{i}\"\n    password = secret(\"many/db{i}\")\n  }}\n  service svc{i} {{\n    image = \"ghcr.io/many/svc:1.0.{i}\"\n    env {{ DB_PASSWORD = db{i}.password }}\n  }}"
        );
    }
    text.push_str("}\n\nenvironment production {}\n");
    std::fs::write(work.join("many.bom"), text).expect("write");
    let (_, files) = build_production_templates(&work, &work.join("many.bom"), "many");
    // A policy as IAM counts it, with the longest partition and region.
    let policy_len = |role: &Value| {
        role["Properties"]["Policies"]
            .to_string()
            .replace("${AWS::Partition}", "aws-us-gov")
            .replace("${AWS::Region}", "ap-southeast-4")
            .replace("${AWS::AccountId}", "123456789012")
            .chars()
            .filter(|c| !c.is_whitespace())
            .count()
    };
    let mut tasks = 0;
    let mut lint = vec![files[0].clone()];
    for file in &files {
        let t: Value =
            serde_json::from_str(&std::fs::read_to_string(file).expect("read")).expect("JSON");
        for (id, r) in t["Resources"].as_object().expect("resources") {
            if r["Type"] == "AWS::IAM::Role" && id.ends_with("ExecutionRole") {
                assert!(
                    policy_len(r) <= 10_240,
                    "{id}: {} characters",
                    policy_len(r)
                );
                if id == "ExecutionRole" {
                    assert!(!r.to_string().contains("secretsmanager"), "{r}");
                }
            }
            if r["Type"] != "AWS::ECS::TaskDefinition" {
                continue;
            }
            tasks += 1;
            let read: Vec<String> = r["Properties"]["ContainerDefinitions"][0]["Secrets"]
                .as_array()
                .expect("the task reads its password")
                .iter()
                .map(|s| {
                    s["ValueFrom"]["Fn::Sub"]
                        .as_str()
                        .expect("an ARN")
                        .to_string()
                        + "-*"
                })
                .collect();
            let own = id.replace("TaskDefinition", "ExecutionRole");
            assert_eq!(
                r["Properties"]["ExecutionRoleArn"],
                serde_json::json!({"Fn::GetAtt": [&own, "Arn"]}),
                "{id}"
            );
            let role = &t["Resources"][&own];
            let granted: Vec<String> =
                role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][1]["Resource"]
                    .as_array()
                    .expect("the secrets granted")
                    .iter()
                    .map(|r| r["Fn::Sub"].as_str().expect("an ARN").to_string())
                    .collect();
            assert_eq!(granted, read, "{own} grants what {id} reads, and no more");
            if lint.len() < 2 && file != &files[0] {
                lint.push(file.clone());
            }
        }
    }
    assert_eq!(tasks, 130);
    crate::assert_cfn_lint_clean_all(&lint);
}

#[test]
fn yaml_templates_on_request_pass_cfn_lint() {
    let out = temp_dir("cfn-yaml");
    let run = bomc(
        &root(),
        &[
            "build",
            "examples/fooda.bom",
            "--env",
            "production",
            "--target",
            "cloudformation",
            "--cloudformation-yaml",
            "--out",
            out.to_str().expect("utf-8"),
            "--now",
            NOW,
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let file = out.join("fooda/production/cloudformation.yaml");
    assert!(file.exists() && !out.join("fooda/production/cloudformation.json").exists());
    let lint = std::process::Command::new(venv_tool("cfn-lint"))
        .arg(&file)
        .output()
        .expect("cfn-lint runs");
    assert!(
        lint.status.success(),
        "{}",
        String::from_utf8_lossy(&lint.stdout)
    );
}

#[test]
fn strings_stay_data_in_templates() {
    let nasty = [
        "it's \"quoted\"",
        "two\nlines",
        "${AWS::Region}",
        "# not a comment",
        "---",
        "&anchor *alias",
        "yes",
        "on",
        "0755",
        "22:22",
        "{\"Ref\": \"Cluster\"}",
    ];
    let work = temp_dir("cfn-injection");
    let mut text = String::from(
        "landscape shop {\n  service api {\n    image = \"ghcr.io/shop/api:3.1.0\"\n    ports { http = 8080 }\n    env {\n",
    );
    for (i, value) in nasty.iter().enumerate() {
        let escaped = value
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
            .replace('$', "\\$");
        text.push_str(&format!("      V{i} = \"{escaped}\"\n"));
    }
    text.push_str("    }\n  }\n}\n\nenvironment production {}\n");
    let source = work.join("shop.bom");
    std::fs::write(&source, text).expect("write");
    for yaml in [false, true] {
        let out = work.join(if yaml { "yaml" } else { "json" });
        let mut args = vec![
            "build",
            source.to_str().expect("utf-8"),
            "--env",
            "production",
            "--target",
            "cloudformation",
            "--out",
            out.to_str().expect("utf-8"),
            "--now",
            NOW,
        ];
        if yaml {
            args.push("--cloudformation-yaml");
        }
        let run = bomc(&root(), &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let file = out.join("shop/production").join(if yaml {
            "cloudformation.yaml"
        } else {
            "cloudformation.json"
        });
        // Parsed by PyYAML (YAML 1.1; JSON is YAML) and by ruamel (YAML 1.2).
        for reader in [
            "import yaml,sys,json; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
            "import sys,json; from ruamel.yaml import YAML; print(json.dumps(YAML(typ='safe').load(open(sys.argv[1]))))",
        ] {
            let parsed = std::process::Command::new(venv_tool("python"))
                .args(["-c", reader])
                .arg(&file)
                .output()
                .expect("python runs");
            assert!(
                parsed.status.success(),
                "{}",
                String::from_utf8_lossy(&parsed.stderr)
            );
            let t: Value = serde_json::from_slice(&parsed.stdout).expect("JSON");
            let env = t["Resources"]["ApiTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
                ["Environment"]
                .as_array()
                .expect("environment")
                .clone();
            for (i, value) in nasty.iter().enumerate() {
                let entry = env
                    .iter()
                    .find(|e| e["Name"] == format!("V{i}"))
                    .expect("variable");
                assert_eq!(entry["Value"], *value, "V{i} (yaml output: {yaml})");
            }
        }
    }
}
