//! The command line: exit codes, formats, parameters and environment overlays
//! as users see them through `bomc check` and `bomc model`.

use crate::{bomc, root};
use serde_json::Value;

fn model(args: &[&str]) -> Value {
    let mut all = vec!["model", "examples/messenger.bom"];
    all.extend_from_slice(args);
    let run = bomc(&root(), &all);
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).expect("model is JSON")
}

fn component<'a>(model: &'a Value, name: &str) -> &'a Value {
    model["components"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("component {name}"))
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    crate::temp_dir(&format!("cli-{name}"))
}

#[test]
fn exit_codes_separate_valid_invalid_and_usage() {
    assert_eq!(bomc(&root(), &["check", "examples/messenger.bom"]).code, 0);
    let dir = temp_dir("exit");
    write(
        &dir,
        "bad.bom",
        "landscape x { service a { image = \"nginx:1.27.0\" replicas = -1 } }\n",
    );
    assert_eq!(bomc(&dir, &["check", "bad.bom"]).code, 1);
    assert_eq!(
        bomc(
            &root(),
            &["check", "examples/messenger.bom", "--set", "novalue"]
        )
        .code,
        2
    );
    assert_eq!(bomc(&root(), &["check"]).code, 2);
    assert_eq!(bomc(&root(), &["frobnicate"]).code, 2);
    assert_eq!(
        bomc(
            &root(),
            &["check", "examples/messenger.bom", "--format", "xml"]
        )
        .code,
        2
    );
    assert_eq!(bomc(&root(), &["check", "no/such/file.bom"]).code, 1);
}

#[test]
fn help_teaches_the_commands() {
    let run = bomc(&root(), &["check", "--help"]);
    assert_eq!(run.code, 0);
    for needle in [
        "--env",
        "--set",
        "--format",
        "bomc check env.bom --env story --set id=US-217",
    ] {
        assert!(
            run.stdout.contains(needle),
            "help lacks {needle}:\n{}",
            run.stdout
        );
    }
}

#[test]
fn all_errors_of_a_file_are_reported_in_one_run() {
    let dir = temp_dir("many");
    write(
        &dir,
        "many.bom",
        "landscape shop {\n  service api {\n    image = \"nginx:1.27.0\"\n    replcas = 2\n    ports { http = 70000 }\n    env { DB = dbx.host }\n  }\n  postgress db {}\n}\n",
    );
    let run = bomc(&dir, &["check", "many.bom", "--format", "json"]);
    assert_eq!(run.code, 1);
    let diags: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let codes: Vec<&str> = diags
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    for code in ["E0302", "E0304", "E0204", "E0205"] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
}

#[test]
fn json_diagnostics_carry_position_and_help() {
    let dir = temp_dir("json");
    write(
        &dir,
        "typo.bom",
        "landscape shop {\n  service api {\n    image = \"nginx:1.27.0\"\n    replcas = 2\n  }\n}\n",
    );
    let run = bomc(&dir, &["check", "typo.bom", "--format", "json"]);
    let diags: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let d = &diags[0];
    assert_eq!(d["code"], "E0302");
    assert_eq!(d["file"], "typo.bom");
    assert_eq!(d["line"], 4);
    assert_eq!(d["column"], 5);
    assert_eq!(d["span"]["start"], 64);
    assert_eq!(d["span"]["end"], 71);
    assert_eq!(d["help"], "did you mean `replicas`?");
}

#[test]
fn parameters_take_set_over_environment_over_default() {
    assert_eq!(
        model(&[])["params"]["domain"]["value"],
        "integration.gomessenger.com"
    );
    assert_eq!(
        model(&["--env", "production"])["params"]["domain"]["value"],
        "api.gomessenger.com"
    );
    assert_eq!(
        model(&["--env", "production", "--set", "domain=x.example.com"])["params"]["domain"]["value"],
        "x.example.com"
    );
}

#[test]
fn environment_overrides_and_interpolation_apply() {
    let base = model(&[]);
    assert_eq!(component(&base, "auth")["settings"]["replicas"]["value"], 2);
    let prod = model(&["--env", "production"]);
    assert_eq!(component(&prod, "auth")["settings"]["replicas"]["value"], 4);
    assert_eq!(prod["environment"]["lifetime"], "persistent");
    let story = model(&["--env", "story", "--set", "id=US-217"]);
    assert_eq!(
        story["environment"]["purpose"],
        "user test for story US-217"
    );
    assert_eq!(
        story["environment"]["lifetime"]["ephemeral"]["ttl_ms"],
        14 * 3600 * 1000
    );
    assert_eq!(
        story["params"]["domain"]["value"],
        "US-217.dev.gomessenger.com"
    );
    assert_eq!(
        component(&story, "auth")["settings"]["replicas"]["value"],
        1
    );
}

#[test]
fn references_are_recorded_and_secrets_stay_references() {
    let m = model(&[]);
    let auth = component(&m, "auth");
    let refs: Vec<(&str, &str)> = auth["references"]
        .as_array()
        .expect("references")
        .iter()
        .map(|r| {
            (
                r["target"].as_str().unwrap_or(""),
                r["attribute"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(refs.contains(&("db", "host")), "{refs:?}");
    assert!(refs.contains(&("db", "ports.mysql")), "{refs:?}");
    assert!(refs.contains(&("db", "password")), "{refs:?}");
    let password = &auth["settings"]["env"]["value"]["DB_PASSWORD"];
    assert_eq!(password["type"], "secret");
    assert_eq!(password["value"], "messenger/db");
    let port = &auth["settings"]["env"]["value"]["DB_PORT"];
    assert_eq!(port["type"], "port");
    assert_eq!(port["value"]["number"], 3306);
}

#[test]
fn set_values_are_typed() {
    let run = bomc(
        &root(),
        &[
            "check",
            "examples/messenger.bom",
            "--env",
            "ci",
            "--set",
            "build=7",
            "--set",
            "port=abc",
        ],
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("E0308"), "{}", run.stderr);
    let run = bomc(
        &root(),
        &[
            "check",
            "examples/messenger.bom",
            "--env",
            "ci",
            "--set",
            "build=7",
            "--set",
            "port=9001",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn a_missing_required_parameter_needs_set_only_when_the_environment_is_chosen() {
    assert_eq!(bomc(&root(), &["check", "examples/messenger.bom"]).code, 0);
    let run = bomc(
        &root(),
        &["check", "examples/messenger.bom", "--env", "story"],
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("E0301"), "{}", run.stderr);
    assert_eq!(
        bomc(
            &root(),
            &[
                "check",
                "examples/messenger.bom",
                "--env",
                "story",
                "--set",
                "id=US-217"
            ]
        )
        .code,
        0
    );
}

#[test]
fn unknown_environment_suggests_the_closest() {
    let run = bomc(
        &root(),
        &["check", "examples/messenger.bom", "--env", "prodution"],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("E0208") && run.stderr.contains("did you mean `production`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn local_modules_and_included_landscapes_resolve() {
    let run = bomc(
        &root(),
        &["model", "examples/lidar.bom", "--env", "production"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let m: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let names: Vec<&str> = m["components"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("processing-")),
        "{names:?}"
    );
}

/// The allocator options compiled into the binary (`main.rs`) reach
/// jemalloc: the symbol they are exported under must be the one it reads,
/// or they would be dropped without a word. jemalloc prints its options at
/// exit when asked to through its environment variable.
#[test]
#[cfg(target_os = "linux")]
fn the_allocator_reads_the_options_compiled_in() {
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_bomc"))
        .current_dir(root())
        .args(["check", "examples/books.bom"])
        .env("_RJEM_MALLOC_CONF", "stats_print:true")
        .output()
        .expect("bomc runs");
    assert!(run.status.success());
    let stats = String::from_utf8_lossy(&run.stderr);
    assert!(stats.contains("opt.thp: \"always\""), "{stats}");
    // Every thread starts on one arena: one opened per thread takes a huge
    // page for its first few blocks, and the build's peak passes its target.
    assert!(stats.contains("opt.narenas: 1\n"), "{stats}");
    // Freed memory reused whatever asks for it: without it the build's
    // peak at N = 10,000 passes its target (`main.rs`).
    assert!(
        stats.contains("opt.lg_extent_max_active_fit: 32"),
        "{stats}"
    );
}

/// With environments declared, `bomc build` builds them and never the bare
/// landscape, so `check` reports what stops an environment's build, not a
/// mistake of the bare landscape that every environment overrides. Without
/// environments, the bare landscape is what builds, and is checked as such.
#[test]
fn check_reports_what_a_build_would_refuse_not_what_every_environment_overrides() {
    let dir = temp_dir("bare-overridden");
    let check = |path: &std::path::Path| bomc(&dir, &["check", path.to_str().expect("utf-8")]);
    let out = dir.join("out");
    // `landscape` has a mistake `code` that `fixed`, an environment, sets
    // right: with `fixed` the only environment, `check` and `build` both
    // accept the file; with a second environment that keeps the mistake,
    // `check` reports it once. Returns what `check` said of the first file.
    let case = |name: &str, landscape: &str, fixed: &str, code: &str| {
        let overridden = write(&dir, &format!("{name}.bom"), &format!("{landscape}{fixed}"));
        let not_everywhere = write(
            &dir,
            &format!("{name}-not-everywhere.bom"),
            &format!("{landscape}{fixed}\nenvironment staging {{\n}}\n"),
        );
        let run = check(&overridden);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        let built = bomc(
            &dir,
            &[
                "build",
                overridden.to_str().expect("utf-8"),
                "--out",
                out.to_str().expect("utf-8"),
            ],
        );
        assert_eq!(built.code, 0, "{name}: {}", built.stderr);
        let again = check(&not_everywhere);
        assert_eq!(again.code, 1, "{name}: {}", again.stderr);
        assert_eq!(
            again.stderr.matches(&format!("error[{code}]")).count(),
            1,
            "{name}: {}",
            again.stderr
        );
        run
    };

    // A mistake lowering finds: RDS has no MySQL 5.6.
    let landscape = "import \"mysql\"\n\nlandscape shop {\n  mysql db {\n    database = \"shop\"\n    password = secret(\"shop/db\")\n    version = \"5.6.51\"\n  }\n}\n";
    let alone = check(&write(&dir, "alone.bom", landscape));
    assert_eq!(alone.code, 1, "{}", alone.stderr);
    assert!(alone.stderr.contains("E0320"), "{}", alone.stderr);
    case(
        "lowering",
        landscape,
        "\nenvironment production {\n  db.version = \"8.0.43\"\n}\n",
        "E0320",
    );

    // A value the bare landscape cannot even evaluate: it is not evaluated
    // when every environment sets the value instead.
    let run = case(
        "evaluation",
        "landscape shop {\n  service api {\n    image = \"nginx:1.27.3\"\n    replicas = \"many\"\n  }\n}\n",
        "\nenvironment production {\n  api.replicas = 2\n}\n",
        "E0303",
    );
    assert!(
        run.stdout
            .contains("landscape `shop` is valid (1 component; environments: production)"),
        "{}",
        run.stdout
    );
}

/// Without `--env`, `bomc impact` reads every environment `bomc build`
/// builds: a component that exists in one environment only is impacted
/// (and named) there, and says so; with `--env`, that environment alone.
#[test]
fn impact_without_env_covers_every_environment() {
    let dir = temp_dir("impact-environments");
    write(
        &dir,
        "shop.bom",
        "landscape shop {\n  service db {\n    image = \"postgres:16.2\"\n    ports { pg = 5432 }\n  }\n  service api {\n    image = \"ghcr.io/shop/api:3.1.0\"\n    env { DB = db.host }\n  }\n}\n\nenvironment production {}\n\nenvironment story {\n  ttl = 8h\n  service worker {\n    image = \"ghcr.io/shop/worker:1.0.0\"\n    env { DB = db.host }\n  }\n}\n",
    );
    let human = bomc(&dir, &["impact", "shop.bom", "db"]);
    assert_eq!(human.code, 0, "{}", human.stderr);
    assert!(
        human
            .stdout
            .starts_with("db impacts 2 nodes in environments production, story:\n"),
        "{}",
        human.stdout
    );
    assert!(
        human
            .stdout
            .contains("worker  component  db → worker  (only in story)\n"),
        "{}",
        human.stdout
    );
    let json = bomc(&dir, &["impact", "shop.bom", "db", "--format", "json"]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let report: Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(
        report["environments"],
        serde_json::json!(["production", "story"])
    );
    let impacted = report["impacted"].as_array().expect("impacted");
    let summary: Vec<(&str, &Value)> = impacted
        .iter()
        .map(|i| (i["id"].as_str().unwrap_or(""), &i["environments"]))
        .collect();
    assert_eq!(
        summary,
        [
            ("api", &Value::Null),
            ("worker", &serde_json::json!(["story"]))
        ]
    );
    // A name of one environment's only is known without `--env`.
    let reverse = bomc(&dir, &["impact", "shop.bom", "worker", "--reverse"]);
    assert_eq!(reverse.code, 0, "{}", reverse.stderr);
    assert!(
        reverse.stdout.contains("worker → db  (only in story)"),
        "{}",
        reverse.stdout
    );
    // One environment asked for: that one alone.
    let production = bomc(&dir, &["impact", "shop.bom", "db", "--env", "production"]);
    assert_eq!(production.code, 0, "{}", production.stderr);
    assert_eq!(
        production.stdout,
        "db impacts 1 node:\n   1  api  component  db → api\n"
    );
    let missing = bomc(
        &dir,
        &["impact", "shop.bom", "worker", "--env", "production"],
    );
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    assert!(missing.stderr.contains("E0402"), "{}", missing.stderr);
}
