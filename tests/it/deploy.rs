//! From `bomc build` to a running stack, step by step, without AWS
//! credentials: each step's inputs and outputs are checked against the next
//! step's expectations (docs/deploy.md walks the same steps).

use crate::{NOW, bomc, build_examples, root, temp_dir, template, written_folder};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const REGISTRY: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";

/// Builds `env` of `source` (every target) into `out`; returns its folder.
fn build(source: &Path, env: &str, sets: &[&str], out: &Path) -> PathBuf {
    crate::build_instance(source, env, sets, &[], out)
}

/// What `images/publish.sh --dry-run REGISTRY` prints, line by line.
fn publish_dry_run(dir: &Path, registry: &str) -> Vec<String> {
    let script = dir.join("images/publish.sh");
    let out = std::process::Command::new("sh")
        .arg(&script)
        .arg("--dry-run")
        .arg(registry)
        .output()
        .expect("sh runs");
    assert!(
        out.status.success(),
        "{}: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

/// The references `publish.sh` pushes.
fn pushed(lines: &[String]) -> BTreeSet<String> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("+ docker push "))
        .map(String::from)
        .collect()
}

/// Every template of a folder (root and nested), by path.
fn templates(dir: &Path) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    out.insert(String::from("cloudformation.json"), template(dir));
    if let Ok(entries) = std::fs::read_dir(dir.join("cloudformation")) {
        for e in entries.flatten() {
            let text = std::fs::read_to_string(e.path()).expect("read");
            out.insert(
                format!("cloudformation/{}", e.file_name().to_string_lossy()),
                serde_json::from_str(&text).expect("JSON"),
            );
        }
    }
    out
}

/// An expression with `{"Ref": "ImageRegistry"}` replaced by `registry`, as a
/// string (`None` when it holds another reference).
fn resolve_registry(v: &Value, registry: &str) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(m) if m.get("Ref") == Some(&Value::from("ImageRegistry")) => {
            Some(registry.to_string())
        }
        Value::Object(m) => {
            let parts = m.get("Fn::Join")?.get(1)?.as_array()?;
            parts
                .iter()
                .map(|p| resolve_registry(p, registry))
                .collect()
        }
        _ => None,
    }
}

/// The images the task definitions pull from the registry.
fn pulled_from_registry(dir: &Path, registry: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for t in templates(dir).values() {
        for r in t["Resources"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, r)| r)
        {
            if r["Type"] != "AWS::ECS::TaskDefinition" {
                continue;
            }
            for c in r["Properties"]["ContainerDefinitions"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if c["Image"].is_string() {
                    continue; // a pinned public image
                }
                let image = resolve_registry(&c["Image"], registry).expect("registry join");
                out.insert(image);
            }
        }
    }
    out
}

#[test]
fn the_publish_step_pushes_exactly_what_the_task_definitions_pull() {
    let out = temp_dir("deploy-publish");
    let built = build_examples("compose,cloudformation,dockerfile", &out);
    let mut compared = 0;
    for (example, env, dir) in &built {
        if !dir.join("images/publish.sh").exists() {
            assert!(
                pulled_from_registry(dir, REGISTRY).is_empty(),
                "{example} --env {env}: task definitions pull images nothing publishes"
            );
            continue;
        }
        let lines = publish_dry_run(dir, REGISTRY);
        let pushed = pushed(&lines);
        assert_eq!(
            pushed,
            pulled_from_registry(dir, REGISTRY),
            "{example} --env {env}: publish.sh and the task definitions disagree"
        );
        // Images are built first, for the platform the task definitions declare.
        assert!(
            lines[0].starts_with("+ env BOMC_PLATFORM=linux/amd64 sh ")
                && lines[0].ends_with("images/build.sh"),
            "{example} --env {env}: {}",
            lines[0]
        );
        for t in templates(dir).values() {
            for r in t["Resources"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(_, r)| r)
            {
                if r["Type"] == "AWS::ECS::TaskDefinition" {
                    assert_eq!(
                        r["Properties"]["RuntimePlatform"]["CpuArchitecture"], "X86_64",
                        "{example} --env {env}"
                    );
                }
            }
        }
        // The local tag pushed is the one build.sh gives and compose runs.
        let build_sh = std::fs::read_to_string(dir.join("images/build.sh")).expect("build.sh");
        let compose = std::fs::read_to_string(dir.join("compose.yaml")).expect("compose");
        for line in lines.iter().filter_map(|l| l.strip_prefix("+ docker tag ")) {
            let local = line.split(' ').next().expect("local reference");
            assert!(
                build_sh.contains(&format!("--tag '{local}'")),
                "{example} --env {env}: {local} is not built"
            );
            assert!(
                compose.contains(&format!("image: \"{local}\"")),
                "{example} --env {env}: compose does not run {local}"
            );
        }
        // On ECR the repositories are created with their lifecycle policy.
        for reference in &pushed {
            let repository = reference
                .strip_prefix(&format!("{REGISTRY}/"))
                .and_then(|r| r.rsplit_once(':'))
                .map(|(r, _)| r)
                .expect("registry/repository:tag");
            assert!(
                lines
                    .iter()
                    .any(|l| l.starts_with("+ aws ecr create-repository")
                        && l.contains(&format!("--repository-name {repository} "))),
                "{example} --env {env}: {repository} is not created"
            );
            assert!(
                lines
                    .iter()
                    .any(|l| l.starts_with("+ aws ecr put-lifecycle-policy")
                        && l.contains(&format!("--repository-name {repository} "))
                        && l.contains("\"tagPrefixList\":[\"live-\"]")
                        && l.contains("\"sinceImagePushed\"")),
                "{example} --env {env}: {repository} has no lifecycle policy"
            );
        }
        // Persistent instances move their live tag; ephemeral ones do not.
        let ephemeral = template(dir)["Metadata"]["bomc"]["lifetime"] == "ephemeral";
        let live = lines
            .iter()
            .filter(|l| l.starts_with("+ docker buildx imagetools create --tag "))
            .count();
        if ephemeral {
            assert_eq!(live, 0, "{example} --env {env}");
        } else {
            assert_eq!(live, pushed.len(), "{example} --env {env}");
            let instance = dir.file_name().and_then(|n| n.to_str()).expect("instance");
            assert!(
                lines
                    .iter()
                    .any(|l| l.contains(&format!(":live-{instance} "))),
                "{example} --env {env}"
            );
        }
        compared += 1;
    }
    assert!(compared >= 8, "only {compared} environments publish images");
    // Not ECR: no repository is created; a path prefix is kept.
    let (_, _, dir) = built
        .iter()
        .find(|(e, env, _)| e == "fooda" && env == "production")
        .expect("fooda production");
    let lines = publish_dry_run(dir, "registry.example.com:5000/team/");
    assert!(!lines.iter().any(|l| l.contains("aws ecr")), "{lines:?}");
    assert_eq!(
        pushed(&lines),
        pulled_from_registry(dir, "registry.example.com:5000/team"),
    );
}

/// A landscape whose image builds on a layer, with a context folder.
const SHOP: &str = r#"import "job"

landscape shop {
  service web {
    build = web_image
    ports { http = 8080 }
  }
  job migrate {
    build = web_image
    command = ["/app/web", "migrate"]
  }
}

image base {
  from = "debian:12.5-slim"
}

image web_image {
  from = base
  template = "go"
  context = "./web"
}

environment production {}

environment story {
  param id: string
  ttl = 2h
}
"#;

/// Writes the shop landscape and its context into a fresh folder.
fn shop(name: &str) -> PathBuf {
    let work = temp_dir(name);
    std::fs::write(work.join("shop.bom"), SHOP).expect("write");
    std::fs::create_dir_all(work.join("web/cmd")).expect("mkdir");
    std::fs::write(work.join("web/go.mod"), "module web\n\ngo 1.22\n").expect("write");
    std::fs::write(
        work.join("web/cmd/main.go"),
        "package main\n\nfunc main() {}\n",
    )
    .expect("write");
    std::fs::write(work.join("web/README.md"), "docs\n").expect("write");
    std::fs::write(work.join("web/.dockerignore"), "*.md\n").expect("write");
    work
}

/// Image → the tag the task definitions pull (`<repository>:<tag>`).
fn task_definition_tags(dir: &Path) -> BTreeSet<String> {
    pulled_from_registry(dir, "r")
        .into_iter()
        .map(|i| i.trim_start_matches("r/").to_string())
        .collect()
}

fn local_tags(dir: &Path) -> BTreeMap<String, String> {
    let script = std::fs::read_to_string(dir.join("images/build.sh")).expect("build.sh");
    script
        .lines()
        .filter(|l| l.starts_with("docker build "))
        .map(|l| {
            let tag = l
                .split("--tag '")
                .nth(1)
                .and_then(|s| s.split('\'').next())
                .expect("--tag")
                .to_string();
            let name = tag.split([':', '/']).nth(1).expect("name").to_string();
            (name, tag)
        })
        .collect()
}

#[test]
fn a_change_to_an_image_context_changes_its_tag_and_nothing_else_does() {
    let work = shop("deploy-tags");
    let source = work.join("shop.bom");
    let out = work.join("out");
    let first = build(&source, "production", &[], &out);
    let tags = local_tags(&first);
    assert_eq!(tags.len(), 2, "{tags:?}");
    let pulled = task_definition_tags(&first);
    assert_eq!(
        pulled,
        BTreeSet::from([tags["web_image"].clone()]),
        "web and migrate pull the published web image"
    );

    // The same sources, another instance, another time, another folder: same tags.
    let other_out = temp_dir("deploy-tags-other");
    let story = {
        let args = vec![
            "build",
            source.to_str().expect("utf-8"),
            "--env",
            "story",
            "--set",
            "id=US-1",
            "--out",
            other_out.to_str().expect("utf-8"),
            "--now",
            "2030-01-01T00:00:00Z",
        ];
        let run = bomc(&root(), &args);
        assert_eq!(run.code, 0, "{}", run.stderr);
        written_folder(&run)
    };
    assert_eq!(local_tags(&story), tags, "instances share images");
    // Rebuilding (the output folder now exists inside nothing it hashes) changes nothing.
    let again = build(&source, "production", &[], &out);
    assert_eq!(local_tags(&again), tags);

    // A file .dockerignore excludes does not change the tag.
    std::fs::write(work.join("web/README.md"), "more docs\n").expect("write");
    assert_eq!(local_tags(&build(&source, "production", &[], &out)), tags);

    // A change of source changes the image's tag, and so what the task definitions pull.
    std::fs::write(
        work.join("web/cmd/main.go"),
        "package main\n\nfunc main() { println(1) }\n",
    )
    .expect("write");
    let changed = build(&source, "production", &[], &out);
    let new_tags = local_tags(&changed);
    assert_eq!(new_tags["base"], tags["base"], "the layer did not change");
    assert_ne!(new_tags["web_image"], tags["web_image"]);
    assert_eq!(
        task_definition_tags(&changed),
        BTreeSet::from([new_tags["web_image"].clone()])
    );
    let publish = pushed(&publish_dry_run(&changed, REGISTRY));
    assert_eq!(
        publish,
        BTreeSet::from([format!("{REGISTRY}/{}", new_tags["web_image"])])
    );

    // A new file, a mode change, a change of the layer below: new tags.
    std::fs::write(work.join("web/cmd/extra.go"), "package main\n").expect("write");
    let with_file = local_tags(&build(&source, "production", &[], &out));
    assert_ne!(with_file["web_image"], new_tags["web_image"]);
    let text = SHOP.replace("from = \"debian:12.5-slim\"", "from = \"debian:12.6-slim\"");
    std::fs::write(&source, text).expect("write");
    let rebased = local_tags(&build(&source, "production", &[], &out));
    assert_ne!(rebased["base"], with_file["base"]);
    assert_ne!(
        rebased["web_image"], with_file["web_image"],
        "a new base rebuilds the images on it"
    );
}

/// `services` services, a job they wait for and a bucket, in an ephemeral
/// environment: over a stack's quotas, so split into nested stacks.
fn large_landscape(services: usize) -> String {
    use std::fmt::Write as _;
    let mut text = String::from("import \"job\"\n\nlandscape big {\n");
    text.push_str(
        "  job migrate {\n    image = \"ghcr.io/big/migrate:1.0.0\"\n    command = [\"migrate\"]\n  }\n",
    );
    for s in 0..services {
        let _ = writeln!(
            text,
            "  service svc{s} {{\n    image = \"ghcr.io/big/svc:1.0.{s}\"\n    ports {{ http = 8080 }}\n    depends_on = [migrate]\n  }}"
        );
    }
    text.push_str("}\n\nenvironment story {\n  param id: string\n  ttl = 14h\n}\n");
    text
}

#[test]
fn nested_stacks_are_local_paths_that_package_uploads() {
    let work = temp_dir("deploy-nested");
    let source = work.join("big.bom");
    std::fs::write(&source, large_landscape(150)).expect("write");
    for (yaml, extension) in [(false, "json"), (true, "yaml")] {
        let out = work.join(format!("out-{extension}"));
        let mut args = vec![
            "build",
            source.to_str().expect("utf-8"),
            "--env",
            "story",
            "--set",
            "id=1",
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
        let dir = written_folder(&run);
        let root_file = dir.join(format!("cloudformation.{extension}"));
        let text = std::fs::read_to_string(&root_file).expect("root template");
        let t: Value = if yaml {
            serde_yaml_ng::from_str(&text).expect("YAML")
        } else {
            serde_json::from_str(&text).expect("JSON")
        };
        assert!(
            t["Parameters"].get("TemplateBaseUrl").is_none(),
            "no S3 URL to pass by hand"
        );
        let mut urls = BTreeSet::new();
        for (id, r) in t["Resources"].as_object().expect("resources") {
            if r["Type"] != "AWS::CloudFormation::Stack" {
                continue;
            }
            // `aws cloudformation package` uploads a TemplateURL that is a
            // local path, relative to the template's folder, and rewrites it.
            let url = r["Properties"]["TemplateURL"]
                .as_str()
                .unwrap_or_else(|| panic!("{id}: TemplateURL is not a plain path"));
            assert!(
                !url.contains("://") && !url.starts_with('/') && !url.contains(".."),
                "{id}: {url}"
            );
            assert!(url.ends_with(&format!(".{extension}")), "{id}: {url}");
            assert!(
                root_file.parent().expect("folder").join(url).is_file(),
                "{id}: {url} does not exist"
            );
            urls.insert(url.to_string());
        }
        let files: BTreeSet<String> = std::fs::read_dir(dir.join("cloudformation"))
            .expect("nested folder")
            .map(|e| {
                format!(
                    "cloudformation/{}",
                    e.expect("entry").file_name().to_string_lossy()
                )
            })
            .collect();
        assert!(urls.len() >= 2, "{urls:?}");
        assert_eq!(urls, files, "every nested template is referenced, once");
        // Templates over the 51,200 bytes `--template-body` takes: the
        // documented steps upload them to S3 (`package`, `deploy --s3-bucket`).
        let largest = std::fs::read_dir(dir.join("cloudformation"))
            .expect("nested folder")
            .map(|e| e.expect("entry").metadata().expect("metadata").len())
            .max()
            .unwrap_or(0);
        assert!(largest > 51_200, "{largest} bytes");
    }
    // The split stacks still pass cfn-lint.
    let dir = work.join("out-json/big/story-1");
    let mut files = vec![dir.join("cloudformation.json")];
    files.extend(
        std::fs::read_dir(dir.join("cloudformation"))
            .expect("nested")
            .map(|e| e.expect("entry").path()),
    );
    let lint = std::process::Command::new(crate::venv_tool("cfn-lint"))
        .args(&files)
        .output()
        .expect("cfn-lint runs");
    assert!(
        lint.status.success(),
        "{}",
        String::from_utf8_lossy(&lint.stdout)
    );
    // The services in later nested stacks wait for the stack that runs the job.
    let t = template(&dir);
    let run_stack = t["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .find(|(_, r)| {
            let url = r["Properties"]["TemplateURL"].as_str().unwrap_or("");
            std::fs::read_to_string(dir.join(url)).is_ok_and(|text| text.contains("\"MigrateRun\""))
        })
        .map(|(id, _)| id.clone())
        .expect("a nested stack runs the job");
    for (id, r) in t["Resources"].as_object().expect("resources") {
        if r["Type"] == "AWS::CloudFormation::Stack" && *id != run_stack {
            let waits = r["DependsOn"].to_string().contains(&run_stack)
                || r["Properties"].to_string().contains(&run_stack);
            assert!(waits, "{id} does not wait for {run_stack}");
        }
    }
}

#[test]
fn jobs_run_to_completion_before_the_services_that_need_them() {
    let out = temp_dir("deploy-jobs");
    let mut runs = 0;
    for (example, env, dir) in build_examples("cloudformation", &out) {
        let t = template(&dir);
        let resources = t["Resources"].as_object().expect("resources");
        for (id, r) in resources {
            if r["Type"] != "AWS::ECS::TaskDefinition" {
                continue;
            }
            let Some(prefix) = id.strip_suffix("TaskDefinition") else {
                continue;
            };
            if resources.contains_key(&format!("{prefix}Service")) {
                continue;
            }
            // A job: a custom resource runs its task and waits for it.
            runs += 1;
            let run = &resources[&format!("{prefix}Run")];
            assert_eq!(run["Type"], "Custom::RunJob", "{example}/{env}");
            let p = &run["Properties"];
            assert_eq!(p["TaskDefinition"]["Ref"], id.as_str());
            assert_eq!(
                p["ServiceToken"],
                serde_json::json!({"Fn::GetAtt": [format!("{prefix}RunFunction"), "Arn"]})
            );
            assert!(p["ServiceTimeout"].as_u64().is_some_and(|s| s <= 3600));
            assert!(
                p["TimeoutSeconds"].as_u64().expect("timeout")
                    < p["ServiceTimeout"].as_u64().expect("timeout"),
                "the runner reports before CloudFormation gives up"
            );
            assert_eq!(
                p["SecurityGroups"][0]["Fn::GetAtt"][0],
                format!("{prefix}SecurityGroup").as_str()
            );
            // Its runner may run exactly the job's task definition.
            let role = &resources[&format!("{prefix}RunRole")]["Properties"]["Policies"][0]["PolicyDocument"]
                ["Statement"];
            let run_task = role
                .as_array()
                .expect("statements")
                .iter()
                .find(|s| s["Action"] == "ecs:RunTask")
                .expect("ecs:RunTask");
            assert_eq!(
                run_task["Resource"],
                serde_json::json!([{"Ref": id}]),
                "{example}/{env}"
            );
            assert!(run_task.get("Condition").is_some());
        }
        // Every service that depends on a job waits for its run.
        if example == "fooda" {
            for service in ["WebService", "WorkerService"] {
                let depends = resources[service]["DependsOn"].to_string();
                assert!(
                    depends.contains("\"MigrateRun\""),
                    "{example}/{env}: {service} starts before the migrations ran: {depends}"
                );
            }
        }
        if example == "test-stack" {
            let waiting: Vec<&String> = resources
                .iter()
                .filter(|(_, r)| r["DependsOn"].to_string().contains("FixturesRun"))
                .map(|(id, _)| id)
                .collect();
            assert!(
                !waiting.is_empty(),
                "{example}/{env}: nothing waits for the fixtures"
            );
        }
    }
    assert!(runs >= 4, "only {runs} jobs");
}

#[test]
fn compose_and_cloudformation_wait_for_the_same_jobs() {
    let out = temp_dir("deploy-jobs-both");
    for (example, env, dir) in build_examples("compose,cloudformation", &out) {
        let t = template(&dir);
        let compose: Value = serde_yaml_ng::from_str(
            &std::fs::read_to_string(dir.join("compose.yaml")).expect("compose"),
        )
        .expect("YAML");
        let resources = t["Resources"].as_object().expect("resources");
        for (name, service) in compose["services"].as_object().expect("services") {
            for (dep, how) in service["depends_on"].as_object().into_iter().flatten() {
                if how["condition"] != "service_completed_successfully" {
                    continue;
                }
                let id = bomc::lower::pascal(name);
                let dep_id = bomc::lower::pascal(dep);
                let waiter = [format!("{id}Service"), format!("{id}Run")]
                    .into_iter()
                    .find(|r| resources.contains_key(r))
                    .unwrap_or_else(|| panic!("{example}/{env}: {name} has no service or run"));
                assert!(
                    resources[&waiter]["DependsOn"]
                        .to_string()
                        .contains(&format!("\"{dep_id}Run\"")),
                    "{example}/{env}: {name} waits for {dep} on compose, not on AWS"
                );
            }
        }
    }
}

#[test]
fn the_expiry_is_counted_from_deployment() {
    let work = shop("deploy-expiry");
    let source = work.join("shop.bom");
    let build_at = |now: &str, out: &str| {
        let run = bomc(
            &root(),
            &[
                "build",
                source.to_str().expect("utf-8"),
                "--env",
                "story",
                "--set",
                "id=7",
                "--target",
                "cloudformation",
                "--out",
                work.join(out).to_str().expect("utf-8"),
                "--now",
                now,
            ],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        written_folder(&run)
    };
    let early = build_at("2026-01-01T00:00:00Z", "a");
    let late = build_at("2027-06-01T12:00:00Z", "b");
    let read = |dir: &Path| std::fs::read_to_string(dir.join("cloudformation.json")).expect("read");
    // Nothing in the template depends on the build time.
    assert_eq!(read(&early), read(&late));
    let t = template(&early);
    // The TTL is a parameter, 2 h by default.
    let ttl = &t["Parameters"]["TtlSeconds"];
    assert_eq!(ttl["Type"], "Number");
    assert_eq!(ttl["Default"], "7200");
    assert_eq!(t["Parameters"]["ExpiryRenewal"]["Default"], "");
    // The clock computes the time at deploy time, from the parameter.
    let clock = &t["Resources"]["ExpiryClock"];
    assert_eq!(clock["Type"], "Custom::ExpiryClock");
    assert_eq!(
        clock["Properties"]["TtlSeconds"],
        serde_json::json!({"Ref": "TtlSeconds"})
    );
    assert_eq!(
        clock["Properties"]["Renewal"],
        serde_json::json!({"Ref": "ExpiryRenewal"})
    );
    let code = clock_code(&t);
    assert!(code.contains("start + ttl"), "{code}");
    // The schedule's time is the clock's answer.
    let schedule = &t["Resources"]["ExpirySchedule"]["Properties"];
    assert_eq!(
        schedule["ScheduleExpression"],
        serde_json::json!({"Fn::Sub": "at(${ExpiryClock.At})"})
    );
    assert_eq!(schedule["ScheduleExpressionTimezone"], "UTC");
    assert_eq!(
        t["Outputs"]["Expires"]["Value"],
        serde_json::json!({"Fn::GetAtt": ["ExpiryClock", "Expires"]})
    );
    // No resource carries a build-time expiry.
    assert!(!read(&early).contains("bomc:expires"));
}

/// The source of the clock's function.
fn clock_code(t: &Value) -> String {
    t["Resources"]["ExpiryClockFunction"]["Properties"]["Code"]["ZipFile"]
        .as_str()
        .expect("inline code")
        .to_string()
}

#[test]
fn the_clock_keeps_the_expiry_on_updates_unless_renewed() {
    // Runs the clock's Python with a fake clock and a fake CloudFormation.
    let Ok(python) = which_python() else {
        return;
    };
    let work = shop("deploy-clock");
    let dir = build(
        &work.join("shop.bom"),
        "story",
        &["--set", "id=8"],
        &work.join("out"),
    );
    let code = clock_code(&template(&dir));
    std::fs::write(work.join("index.py"), code).expect("write");
    let harness = r#"
import json, time, urllib.request
import index

sent = []
class Response:
    def read(self): return b""
def fake_urlopen(request, timeout=None):
    sent.append(json.loads(request.data))
    return Response()
urllib.request.urlopen = fake_urlopen
class Context:
    log_stream_name = "stream"
now = [1_000_000]
time.time = lambda: now[0]

def call(kind, props, old=None, pid=None):
    event = {"RequestType": kind, "ResourceProperties": props, "StackId": "s", "RequestId": "r",
             "LogicalResourceId": "ExpiryClock", "ResponseURL": "https://example.invalid"}
    if old is not None: event["OldResourceProperties"] = old
    if pid is not None: event["PhysicalResourceId"] = pid
    index.handler(event, Context())
    return sent[-1]

created = call("Create", {"TtlSeconds": "7200", "Renewal": ""})
now[0] += 3600
same = call("Update", {"TtlSeconds": "7200", "Renewal": "", "Other": "x"}, {"TtlSeconds": "7200", "Renewal": ""}, created["PhysicalResourceId"])
longer = call("Update", {"TtlSeconds": "14400", "Renewal": ""}, {"TtlSeconds": "7200", "Renewal": ""}, created["PhysicalResourceId"])
renewed = call("Update", {"TtlSeconds": "7200", "Renewal": "2"}, {"TtlSeconds": "7200", "Renewal": ""}, created["PhysicalResourceId"])
shorter = call("Update", {"TtlSeconds": "60", "Renewal": ""}, {"TtlSeconds": "7200", "Renewal": ""}, created["PhysicalResourceId"])
print(json.dumps([created, same, longer, renewed, shorter]))
"#;
    std::fs::write(work.join("harness.py"), harness).expect("write");
    let out = std::process::Command::new(python)
        .arg("harness.py")
        .current_dir(&work)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let answers: Value = serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("JSON");
    let at = |i: usize| answers[i]["Data"]["At"].as_str().expect("At").to_string();
    let stamp = |t: i64| {
        bomc::lower::time::format_rfc3339(t)
            .trim_end_matches('Z')
            .to_string()
    };
    for a in answers.as_array().expect("answers") {
        assert_eq!(a["Status"], "SUCCESS", "{a}");
    }
    assert_eq!(at(0), stamp(1_000_000 + 7200), "created: now + TTL");
    assert_eq!(at(1), at(0), "an update does not extend it");
    assert_eq!(
        answers[1]["PhysicalResourceId"],
        answers[0]["PhysicalResourceId"]
    );
    assert_eq!(
        at(2),
        stamp(1_000_000 + 14400),
        "a new TTL counts from the start"
    );
    assert_eq!(
        at(3),
        stamp(1_003_600 + 7200),
        "a renewal counts from the update"
    );
    assert_eq!(at(4), stamp(1_003_600 + 300), "never in the past");
    assert_eq!(
        answers[0]["Data"]["Expires"],
        format!("{}Z", at(0)).as_str()
    );
}

fn which_python() -> Result<PathBuf, ()> {
    let venv = root().join(".venv/bin/python");
    if venv.exists() {
        return Ok(venv);
    }
    Err(())
}

/// The priorities of the rules a template adds to a shared listener.
fn shared_priorities(t: &Value) -> BTreeSet<u64> {
    t["Resources"]
        .as_object()
        .expect("resources")
        .values()
        .filter(|r| {
            r["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"
                && r["Properties"]["ListenerArn"].is_string()
        })
        .filter_map(|r| r["Properties"]["Priority"].as_u64())
        .collect()
}

#[test]
fn two_checkouts_building_two_branches_take_different_priorities() {
    // Each checkout has its own, fresh output folder: nothing is shared but the listener.
    let fooda = root().join("examples/fooda.bom");
    let mut seen: BTreeMap<u64, String> = BTreeMap::new();
    for branch in ["menu-search", "checkout-v2", "fix-42", "us-217", "a", "b"] {
        let out = temp_dir(&format!("deploy-checkout-{branch}"));
        let dir = build(
            &fooda,
            "feature",
            &["--set", &format!("branch={branch}")],
            &out,
        );
        let t = template(&dir);
        let priorities = shared_priorities(&t);
        assert_eq!(priorities.len(), 1, "{branch}: {priorities:?}");
        for p in &priorities {
            assert!((1..=50_000).contains(p), "{p}");
            if let Some(other) = seen.insert(*p, branch.to_string()) {
                panic!("{branch} and {other} both take priority {p}");
            }
        }
        // The same branch built again, elsewhere, takes the same priority.
        let again = build(
            &fooda,
            "feature",
            &["--set", &format!("branch={branch}")],
            &temp_dir(&format!("deploy-checkout-{branch}-again")),
        );
        assert_eq!(shared_priorities(&template(&again)), priorities);
        // The priority is in the outputs, where a collision is looked up.
        let output = t["Outputs"]["LbRulePriorities"]["Value"]
            .as_str()
            .expect("output");
        assert_eq!(output, priorities.iter().next().expect("one").to_string());
        assert_eq!(
            t["Metadata"]["bomc"]["shared_listener_priorities"][0]["host"],
            format!("{branch}.dev.example.com").as_str()
        );
    }
}

#[test]
fn a_collision_is_resolved_by_setting_the_priority() {
    let work = temp_dir("deploy-priority");
    let source = work.join("fooda.bom");
    let text = std::fs::read_to_string(root().join("examples/fooda.bom")).expect("fooda");
    let text = text.replace(
        "  param branch: string\n",
        "  param branch: string\n  param priority: int = 0\n",
    );
    let text = text.replace(
        "    load_balancer_security_group = \"sg-0a1b2c3d4e5f60718\"\n",
        "    load_balancer_security_group = \"sg-0a1b2c3d4e5f60718\"\n    listener_priority = priority\n",
    );
    std::fs::write(&source, text).expect("write");
    let derived = build(&source, "feature", &["--set", "branch=x"], &work.join("a"));
    let set = build(
        &source,
        "feature",
        &["--set", "branch=x", "--set", "priority=4242"],
        &work.join("b"),
    );
    assert_ne!(
        shared_priorities(&template(&derived)),
        BTreeSet::from([4242])
    );
    assert_eq!(shared_priorities(&template(&set)), BTreeSet::from([4242]));
    assert_eq!(
        template(&set)["Metadata"]["bomc"]["shared_listener_priorities"][0]["origin"],
        "set"
    );
    // Out of range: a diagnostic, not a template CloudFormation rejects.
    let run = bomc(
        &root(),
        &[
            "check",
            source.to_str().expect("utf-8"),
            "--env",
            "feature",
            "--set",
            "branch=x",
            "--set",
            "priority=50001",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stderr.contains("E0304"), "{}", run.stderr);
}

fn of_type<'a>(t: &'a Value, ty: &str) -> Vec<(&'a String, &'a Value)> {
    t["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .filter(|(_, r)| r["Type"] == ty)
        .collect()
}

#[test]
fn the_network_is_created_when_the_environment_asks_and_taken_otherwise() {
    let out = temp_dir("deploy-network");
    let lidar = root().join("examples/lidar.bom");
    let production = template(&build(&lidar, "production", &[], &out));
    let perf = template(&build(
        &lidar,
        "perf-test",
        &["--set", "release=2.3.1"],
        &out,
    ));
    let sprint = template(&build(&lidar, "sprint", &["--set", "sprint=11"], &out));

    for (t, nats, flow_logs, what) in [
        (&production, 2, true, "production"),
        (&perf, 1, false, "perf-test"),
    ] {
        // Nothing to pass: the stack makes the VPC and its subnets.
        for p in ["VpcId", "PrivateSubnetIds", "PublicSubnetIds"] {
            assert!(t["Parameters"].get(p).is_none(), "{what}: parameter {p}");
        }
        let vpcs = of_type(t, "AWS::EC2::VPC");
        assert_eq!(vpcs.len(), 1, "{what}");
        assert_eq!(vpcs[0].1["Properties"]["EnableDnsHostnames"], true);
        assert_eq!(of_type(t, "AWS::EC2::Subnet").len(), 4, "{what}");
        for (id, s) in of_type(t, "AWS::EC2::Subnet") {
            assert_eq!(
                s["Properties"]["MapPublicIpOnLaunch"], false,
                "{what}: {id}"
            );
        }
        assert_eq!(of_type(t, "AWS::EC2::NatGateway").len(), nats, "{what}");
        assert_eq!(
            of_type(t, "AWS::EC2::FlowLog").len(),
            usize::from(flow_logs),
            "{what}"
        );
        // Private subnets leave through a NAT gateway, public ones through the internet gateway.
        let routes = of_type(t, "AWS::EC2::Route");
        assert_eq!(routes.len(), 3, "{what}");
        for (id, r) in &routes {
            let p = &r["Properties"];
            assert_eq!(p["DestinationCidrBlock"], "0.0.0.0/0");
            if id.starts_with("Private") {
                assert!(
                    p["NatGatewayId"]["Ref"]
                        .as_str()
                        .is_some_and(|n| n.starts_with("NatGateway")),
                    "{what}: {id}"
                );
            } else {
                assert_eq!(p["GatewayId"]["Ref"], "InternetGateway", "{what}: {id}");
            }
        }
        // Tasks run in the private subnets, load balancers in the public ones,
        // and no task starts before its route to the NAT gateway exists.
        for (id, s) in of_type(t, "AWS::ECS::Service") {
            let subnets =
                &s["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"];
            assert_eq!(
                subnets,
                &serde_json::json!([{"Ref": "PrivateSubnet1"}, {"Ref": "PrivateSubnet2"}]),
                "{what}: {id}"
            );
            let depends = s["DependsOn"].to_string();
            assert!(
                depends.contains("PrivateRoute1") && depends.contains("PrivateRoute2"),
                "{what}: {id} does not wait for its routes"
            );
        }
        for (id, lb) in of_type(t, "AWS::ElasticLoadBalancingV2::LoadBalancer") {
            assert_eq!(
                lb["Properties"]["Subnets"],
                serde_json::json!([{"Ref": "PublicSubnet1"}, {"Ref": "PublicSubnet2"}]),
                "{what}: {id}"
            );
        }
        for (id, g) in of_type(t, "AWS::RDS::DBSubnetGroup") {
            assert!(
                g["Properties"].to_string().contains("PrivateSubnet1"),
                "{what}: {id}"
            );
        }
        for (id, g) in of_type(t, "AWS::EC2::SecurityGroup") {
            assert_eq!(
                g["Properties"]["VpcId"],
                serde_json::json!({"Ref": "Vpc"}),
                "{what}: {id}"
            );
        }
        assert!(t["Outputs"].get("VpcId").is_some());
    }
    assert_eq!(
        production["Resources"]["Vpc"]["Properties"]["CidrBlock"],
        "10.40.0.0/16"
    );
    // One NAT gateway: both private routes use it.
    for n in [1, 2] {
        assert_eq!(
            perf["Resources"][format!("PrivateRoute{n}")]["Properties"]["NatGatewayId"],
            serde_json::json!({"Ref": "NatGateway1"})
        );
    }
    // Without `network`, existing ones, as parameters.
    assert!(of_type(&sprint, "AWS::EC2::VPC").is_empty());
    for p in ["VpcId", "PrivateSubnetIds", "PublicSubnetIds"] {
        assert!(
            sprint["Parameters"].get(p).is_some(),
            "sprint: parameter {p}"
        );
    }
}

#[test]
fn a_created_network_is_a_checked_setting() {
    let work = temp_dir("deploy-network-errors");
    let source = work.join("fooda.bom");
    let text = std::fs::read_to_string(root().join("examples/fooda.bom")).expect("fooda");
    // A VPC of its own cannot use a listener in another one.
    let shared = text.replace(
        "  web.replicas = 1\n",
        "  web.replicas = 1\n  network { vpc = \"create\" }\n",
    );
    std::fs::write(&source, shared).expect("write");
    let run = bomc(
        &root(),
        &[
            "check",
            source.to_str().expect("utf-8"),
            "--env",
            "feature",
            "--set",
            "branch=x",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stderr.contains("E0316") && run.stderr.contains("another VPC"),
        "{}",
        run.stderr
    );
    // Two NAT gateways on request in an ephemeral environment; a bad block is an error.
    let own = text.replace(
        "environment staging {\n",
        "environment staging {\n  network {\n    vpc = \"create\"\n    nat_gateways = 1\n  }\n",
    );
    std::fs::write(&source, &own).expect("write");
    let dir = build(&source, "staging", &[], &work.join("out"));
    assert_eq!(of_type(&template(&dir), "AWS::EC2::NatGateway").len(), 1);
    for (bad, code) in [
        ("cidr = \"10.0.0.0/8\"", "E0304"),
        ("nat_gateways = 3", "E0304"),
        ("vpc = \"new\"", "E0316"),
    ] {
        let text = text.replace(
            "environment staging {\n",
            &format!("environment staging {{\n  network {{\n    {bad}\n  }}\n"),
        );
        std::fs::write(&source, text).expect("write");
        let run = bomc(
            &root(),
            &["check", source.to_str().expect("utf-8"), "--env", "staging"],
        );
        assert_eq!(run.code, 1, "{bad}");
        assert!(run.stderr.contains(code), "{bad}: {}", run.stderr);
    }
}
