//! Integration tests: they run the built `bomc` binary, as users do.

mod architecture;
mod build;
mod build_cloudformation;
mod build_compose;
mod build_dockerfile;
mod cli;
mod contracts;
mod deploy;
mod diff;
mod environments;
mod examples;
mod expiry;
mod format;
mod fuzz;
mod graph;
mod hostile;
mod import;
mod injection;
mod injection_diff;
mod injection_dockerfile;
mod killed;
mod reuse;
mod runtime;
mod scaling;
mod secret_sentinel;
mod settings;
mod ui;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The output of one run of `bomc`.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `bomc args…` in `dir`, without colours.
pub fn bomc(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_bomc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("bomc runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `.bom` files directly in `dir`, sorted.
pub fn bom_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("directory exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "bom"))
        .collect();
    files.sort();
    files
}

/// The fixed build time of build tests.
pub const NOW: &str = "2026-11-27T09:00:00Z";

/// Values for the parameters the examples' environments require.
fn sample_value(param: &str) -> &'static str {
    match param {
        "id" => "US-217",
        "branch" => "feature-x",
        "build" => "41",
        "sprint" => "11",
        "defect" => "42",
        "release" => "2.3.1",
        "run" => "7",
        _ => "sample",
    }
}

/// For each environment of an example: its name and the `--set` arguments
/// for its required parameters.
pub fn environments_of(path: &Path) -> Vec<(String, Vec<String>)> {
    let mut diags = bomc::diag::Diagnostics::default();
    let program = bomc::resolve::load_file(path, &mut diags).expect("example loads");
    bomc::resolve::environments(&program)
        .iter()
        .map(|env| {
            let mut sets = Vec::new();
            for member in &env.body.members {
                if let bomc::syntax::ast::Member::Param(p) = member
                    && p.default.is_none()
                {
                    sets.push(String::from("--set"));
                    sets.push(format!("{}={}", p.name.node, sample_value(&p.name.node)));
                }
            }
            (env.name.node.clone(), sets)
        })
        .collect()
}

/// Builds `target` for every environment of every example into `out`;
/// returns (example, environment, environment folder).
pub fn build_examples(target: &str, out: &Path) -> Vec<(String, String, PathBuf)> {
    let mut built = Vec::new();
    for path in bom_files(&root().join("examples")) {
        for (env, sets) in environments_of(&path) {
            let file = path.to_str().expect("utf-8 path");
            let out_arg = out.to_str().expect("utf-8 path");
            let mut args = vec![
                "build", file, "--env", &env, "--target", target, "--out", out_arg, "--now", NOW,
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
            let dir = written_folder(&run);
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("")
                .to_string();
            built.push((stem, env, dir));
        }
    }
    built
}

/// Builds `env` of the `.bom` file `source` into `out`, with `extra` arguments
/// (e.g. `--target cloudformation`) and `--now NOW`; returns its folder.
pub fn build_instance(
    source: &Path,
    env: &str,
    sets: &[&str],
    extra: &[&str],
    out: &Path,
) -> PathBuf {
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
    args.extend_from_slice(extra);
    args.extend_from_slice(sets);
    let run = bomc(&root(), &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    written_folder(&run)
}

/// The environment folder `bomc build` reports on its first line of output.
pub fn written_folder(run: &Run) -> PathBuf {
    run.stdout
        .lines()
        .next()
        .and_then(|l| l.split(':').next())
        .map(PathBuf::from)
        .expect("build prints the folder it wrote")
}

/// The CloudFormation template in an environment folder.
pub fn template(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("cloudformation.json")).expect("template written");
    serde_json::from_str(&text).expect("template is JSON")
}

/// This run's folder of scratch folders: `bomc-tests-<pid>` in the system's
/// temporary folder. The harness has no hook after the last test, so a run
/// cannot remove its own; the first call removes those of earlier runs whose
/// process has ended (a run of the suite leaves over a gigabyte).
fn scratch_root() -> &'static Path {
    static ROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| {
        let tmp = std::env::temp_dir();
        // Without /proc there is no telling a finished run from a running one.
        if Path::new("/proc/self").exists() {
            for entry in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
                let name = entry.file_name();
                let pid = name.to_str().and_then(|n| n.strip_prefix("bomc-tests-"));
                if pid.is_some_and(|p| {
                    p.parse::<u32>().is_ok() && !Path::new("/proc").join(p).exists()
                }) {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let root = tmp.join(format!("bomc-tests-{}", std::process::id()));
        std::fs::create_dir_all(&root).expect("scratch root");
        root
    })
}

/// A fresh, empty temporary folder for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = scratch_root().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The shape of a large landscape ([`large_landscape`]).
pub struct Large<'a> {
    pub services: usize,
    /// PostgreSQL databases; service `s` uses database `s % databases`.
    pub databases: usize,
    /// The load balancer routes to every `route_every`-th service.
    pub route_every: usize,
    /// Each service but the first also names the one before it (`UPSTREAM`).
    pub upstream: bool,
    /// The first database's `database` setting (the others are `db<d>`).
    pub first_database: &'a str,
}

/// `services` services with a health check, each reading its database's
/// address and password; the databases; a load balancer; one persistent
/// environment: what the CloudFormation split and `bomc diff` are tested on
/// at scale.
pub fn large_landscape(shape: &Large) -> String {
    use std::fmt::Write as _;
    let mut text =
        String::from("import \"postgres\"\nimport \"load_balancer\"\n\nlandscape big {\n");
    for d in 0..shape.databases {
        let name = if d == 0 {
            shape.first_database.to_string()
        } else {
            format!("db{d}")
        };
        let _ = writeln!(
            text,
            "  postgres db{d} {{\n    database = \"{name}\"\n    password = secret(\"big/db{d}\")\n  }}"
        );
    }
    for s in 0..shape.services {
        let db = s % shape.databases;
        let upstream = if shape.upstream && s > 0 {
            format!("\n      UPSTREAM = \"http://${{svc{}.host}}:8080\"", s - 1)
        } else {
            String::new()
        };
        let _ = writeln!(
            text,
            "  service svc{s} {{\n    image = \"ghcr.io/big/svc:1.0.{s}\"\n    ports {{ http = 8080 }}\n    health {{ command = [\"CMD\", \"/svc\", \"--check\"] }}\n    env {{\n      DB = \"postgres://${{db{db}.host}}:${{db{db}.ports.postgres}}/db{db}\"\n      DB_PASSWORD = db{db}.password{upstream}\n    }}\n  }}"
        );
    }
    text.push_str("  load_balancer lb {\n    domain = \"big.example.com\"\n    routes {\n");
    for s in (0..shape.services).step_by(shape.route_every) {
        let _ = writeln!(text, "      \"/svc{s}\" = svc{s}.ports.http");
    }
    text.push_str("    }\n  }\n}\n\nenvironment production {}\n");
    text
}

/// Asserts cfn-lint reports nothing on `file`.
pub fn assert_cfn_lint_clean(file: &Path) {
    assert_cfn_lint_clean_all(&[file]);
}

/// Asserts cfn-lint reports nothing on `files`, read by two processes (the
/// files dealt out in turn): a long lint then uses both cores when the suite
/// leaves one free.
pub fn assert_cfn_lint_clean_all<P: AsRef<Path>>(files: &[P]) {
    let lints: Vec<std::process::Child> = (0..2.min(files.len()))
        .map(|half| {
            Command::new(venv_tool("cfn-lint"))
                .args(files.iter().skip(half).step_by(2).map(AsRef::as_ref))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("cfn-lint runs")
        })
        .collect();
    for lint in lints {
        let lint = lint.wait_with_output().expect("cfn-lint ends");
        let report = String::from_utf8_lossy(&lint.stdout);
        assert!(
            lint.status.success() && report.trim().is_empty(),
            "cfn-lint:\n{}{}",
            report.chars().take(4000).collect::<String>(),
            String::from_utf8_lossy(&lint.stderr)
        );
    }
}

/// Runs checkov on a CloudFormation template from `dir`: whether it passed
/// with no failed check, and its report.
pub fn checkov_cloudformation(template: &Path, dir: &Path) -> (bool, String) {
    let run = Command::new(venv_tool("checkov"))
        .args([
            "--skip-download",
            "--quiet",
            "--compact",
            "--framework",
            "cloudformation",
            "-f",
        ])
        .arg(template)
        .current_dir(dir)
        .output()
        .expect("checkov runs");
    let report = String::from_utf8_lossy(&run.stdout).into_owned();
    (
        run.status.success() && report.contains("Failed checks: 0"),
        report,
    )
}

/// A tool installed by scripts/test into `.venv`.
pub fn venv_tool(name: &str) -> PathBuf {
    let path = root().join(".venv/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/test, which installs tests/tools/requirements.txt",
        path.display()
    );
    path
}
