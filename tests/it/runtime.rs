//! What running the compose output on a Docker engine showed (scripts/e2e,
//! tests/e2e/README.md), kept as tests that need no engine.

use crate::{NOW, bomc, root, temp_dir, written_folder};
use serde_yaml_ng::Value;
use std::path::{Path, PathBuf};

fn build(dir: &Path, file: &Path, args: &[&str]) -> PathBuf {
    let out = dir.join("out");
    let mut all = vec![
        "build",
        file.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--now",
        NOW,
        "--target",
        "compose,dockerfile",
    ];
    all.extend_from_slice(args);
    let run = bomc(&root(), &all);
    assert_eq!(run.code, 0, "{}", run.stderr);
    written_folder(&run)
}

fn compose(folder: &Path) -> Value {
    let text = std::fs::read_to_string(folder.join("compose.yaml")).expect("compose.yaml");
    serde_yaml_ng::from_str(&text).expect("YAML")
}

/// The migration job of the suite's shop is built from the application's
/// image, whose HEALTHCHECK is the application's HTTP check. Docker ran that
/// check in the job's container (`Up 36 seconds (unhealthy)`, probing a port
/// the job does not serve); compose must turn it off for the job.
#[test]
fn a_job_built_from_a_checked_image_does_not_run_the_image_check() {
    let dir = temp_dir("runtime-job-check");
    let folder = build(
        &dir,
        &root().join("tests/e2e/shop.bom"),
        &["--env", "story", "--set", "id=a"],
    );
    let dockerfile =
        std::fs::read_to_string(folder.join("images/app/Dockerfile")).expect("Dockerfile");
    assert!(
        dockerfile.contains("HEALTHCHECK --interval=2s"),
        "the image carries the application's check:\n{dockerfile}"
    );
    let c = compose(&folder);
    let job = &c["services"]["migrate"]["healthcheck"];
    assert_eq!(job["disable"], Value::Bool(true), "{job:?}");
    assert!(job.get("test").is_none(), "{job:?}");
    // The application keeps its own check.
    let web = &c["services"]["web"]["healthcheck"];
    assert!(web.get("disable").is_none(), "{web:?}");
    assert_eq!(
        web["test"][1],
        Value::from("/usr/local/bin/bomc-healthcheck")
    );
    // Components whose image has no HEALTHCHECK get no healthcheck key.
    assert!(c["services"]["lb"].get("healthcheck").is_none());
}

/// `rabbitmq-diagnostics ping` answers as soon as the Erlang node runs,
/// seconds before the broker accepts AMQP connections: the suite's client job,
/// started on `service_healthy`, found port 5672 closed. The stdlib kind must
/// be healthy only once its listeners accept connections.
#[test]
fn rabbitmq_is_healthy_only_once_its_listeners_accept_connections() {
    let dir = temp_dir("runtime-rabbitmq");
    let folder = build(&dir, &root().join("tests/e2e/kinds.bom"), &["--env", "ci"]);
    let test = &compose(&folder)["services"]["queue"]["healthcheck"]["test"];
    let argv: Vec<&str> = test
        .as_sequence()
        .expect("test is a list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        argv,
        [
            "CMD",
            "rabbitmq-diagnostics",
            "--quiet",
            "check_port_connectivity"
        ]
    );
}

/// `bomc envs --out` says which built instances run, from the engine's
/// containers (here a stand-in `docker` on PATH that prints what
/// `docker ps --all` would).
#[test]
fn envs_counts_the_running_containers_of_each_instance() {
    let dir = temp_dir("runtime-envs");
    build(
        &dir,
        &root().join("tests/e2e/shop.bom"),
        &["--env", "story", "--set", "id=a"],
    );
    build(
        &dir,
        &root().join("tests/e2e/shop.bom"),
        &["--env", "story", "--set", "id=b"],
    );
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let docker = bin.join("docker");
    let row = |project: &str, instance: &str, state: &str| {
        format!(
            "{project}\tshop\t{instance}\tstory\tephemeral\t2026-11-27T11:00:00Z\tend-to-end test\t{state}"
        )
    };
    let rows = [
        row("shop-story-a", "story-a", "running"),
        row("shop-story-a", "story-a", "running"),
        row("shop-story-a", "story-a", "exited"),
        row("shop-story-c", "story-c", "running"),
    ];
    std::fs::write(
        &docker,
        format!(
            "#!/bin/sh\n[ \"$1\" = ps ] || exit 1\ncat <<'EOF'\n{}\nEOF\n",
            rows.join("\n")
        ),
    )
    .expect("stand-in docker");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o755))
            .expect("executable");
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bomc"))
        .args(["envs", "--out"])
        .arg(dir.join("out"))
        .args(["--now", NOW, "--format", "json"])
        .env("PATH", path)
        .output()
        .expect("bomc runs");
    assert!(out.status.success());
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let running = |project: &str| {
        list.as_array()
            .expect("array")
            .iter()
            .find(|i| i["project"] == project)
            .map(|i| (i["found_in"].clone(), i["running"].clone()))
    };
    assert_eq!(
        running("shop-story-a"),
        Some(("output".into(), 2.into())),
        "{list}"
    );
    assert_eq!(
        running("shop-story-b"),
        Some(("output".into(), 0.into())),
        "{list}"
    );
    assert_eq!(
        running("shop-story-c"),
        Some(("docker".into(), 1.into())),
        "{list}"
    );
}
