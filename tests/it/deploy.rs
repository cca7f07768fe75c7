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
    let mut args = vec![
        "build",
        source.to_str().expect("utf-8"),
        "--env",
        env,
        "--out",
        out.to_str().expect("utf-8"),
        "--now",
        NOW,
    ];
    args.extend_from_slice(sets);
    let run = bomc(&root(), &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    written_folder(&run)
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
        let ephemeral = template(dir)["Metadata"]["bomc"].get("expires").is_some();
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
