//! Compose output: every example environment validates against the Compose
//! Specification schema, references nothing undeclared and writes values in
//! the formats compose expects; strings from `.bom` files stay data for YAML
//! 1.1 and 1.2 readers; secrets are references, never values; start order,
//! networks and published ports follow the landscape; rebuilding gives the
//! same bytes. The Python helpers live in tests/tools and run in `.venv`.

use crate::{NOW, bomc, build_examples, root, temp_dir, venv_tool};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

fn schema() -> PathBuf {
    root().join("tests/tools/compose-spec.json")
}

/// Runs `tests/tools/<script> args…` with the venv's Python: (success, stdout, stderr).
fn tool<S: AsRef<OsStr>>(script: &str, args: &[S]) -> (bool, String, String) {
    let out = Command::new(venv_tool("python"))
        .arg(root().join("tests/tools").join(script))
        .args(args)
        .output()
        .expect("python runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `validate_compose.py --check CHECKS` on `files`; the problems it reports.
fn validate(checks: &str, files: &[PathBuf]) -> (bool, String) {
    let mut args: Vec<std::ffi::OsString> = vec!["--check".into(), checks.into(), schema().into()];
    args.extend(files.iter().map(|f| f.clone().into_os_string()));
    let (ok, stdout, stderr) = tool("validate_compose.py", &args);
    (ok, format!("{stdout}{stderr}"))
}

/// A YAML file as PyYAML (YAML 1.1) and ruamel.yaml (YAML 1.2, C and pure
/// parsers) read it. All readers must succeed and agree; returns the document.
fn load(path: &Path) -> Value {
    let (ok, stdout, stderr) = tool("yaml_load.py", &[path]);
    assert!(ok, "yaml_load.py {}: {stderr}", path.display());
    let all: Value = serde_json::from_str(&stdout).expect("yaml_load prints JSON");
    let doc = &all["pyyaml"];
    assert!(
        doc.get("error").is_none(),
        "PyYAML cannot read {}: {}",
        path.display(),
        doc["error"]
    );
    for reader in ["ruamel", "ruamel_pure"] {
        assert_eq!(
            &all[reader],
            doc,
            "{reader} and PyYAML read {} differently",
            path.display()
        );
    }
    doc.clone()
}

/// compose.yaml of every example environment: (example, environment, file).
fn example_composes(name: &str) -> Vec<(String, String, PathBuf)> {
    let out = temp_dir(name);
    let built: Vec<_> = build_examples("compose", &out)
        .into_iter()
        .map(|(example, env, dir)| (example, env, dir.join("compose.yaml")))
        .collect();
    assert!(built.len() >= 19, "only {} environments built", built.len());
    built
}

fn build_one(out: &Path, file: &Path, args: &[&str]) -> PathBuf {
    let mut all = vec![
        "build",
        file.to_str().expect("utf-8"),
        "--target",
        "compose",
        "--out",
        out.to_str().expect("utf-8"),
        "--now",
        NOW,
    ];
    all.extend_from_slice(args);
    let run = bomc(&root(), &all);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.stdout
        .lines()
        .next()
        .and_then(|l| l.split(": ").next())
        .map(|d| PathBuf::from(d).join("compose.yaml"))
        .expect("build prints the folder it wrote")
}

/// A fresh temporary folder: tests run in parallel and several build the same example.
fn fresh(name: &str) -> PathBuf {
    static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    temp_dir(&format!(
        "{name}-{}",
        COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ))
}

fn example(example: &str, args: &[&str]) -> Value {
    let out = fresh(&format!("compose-{example}"));
    load(&build_one(
        &out,
        &root().join(format!("examples/{example}.bom")),
        args,
    ))
}

fn services(doc: &Value) -> &serde_json::Map<String, Value> {
    doc["services"].as_object().expect("services")
}

fn strings_of(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_example_environment_matches_the_compose_schema() {
    let files: Vec<PathBuf> = example_composes("compose-schema")
        .into_iter()
        .map(|(_, _, f)| f)
        .collect();
    let (ok, report) = validate("schema", &files);
    assert!(ok, "{report}");
}

#[test]
fn every_reference_in_every_example_is_declared() {
    let files: Vec<PathBuf> = example_composes("compose-refs")
        .into_iter()
        .map(|(_, _, f)| f)
        .collect();
    let (ok, report) = validate("references", &files);
    assert!(ok, "{report}");
}

#[test]
fn values_have_the_formats_compose_expects() {
    let files: Vec<PathBuf> = example_composes("compose-formats")
        .into_iter()
        .map(|(_, _, f)| f)
        .collect();
    let (ok, report) = validate("formats", &files);
    assert!(ok, "{report}");
}

/// The checks above pass because the files are right, not because the
/// validator accepts anything: each check rejects a file that breaks it.
#[test]
fn the_validator_rejects_what_it_should() {
    let dir = temp_dir("compose-validator");
    let good = "name: \"x\"\nservices:\n  a:\n    image: \"busybox:1.36.1\"\n    networks: [\"n\"]\nnetworks:\n  n: {}\n";
    let cases = [
        ("schema", good.replace("image:", "imag:"), "'imag' does not match"),
        ("schema", good.replace("image: \"busybox:1.36.1\"", "image: [1]"), "is not of type"),
        ("references", good.replace("networks: [\"n\"]", "networks: [\"m\"]"), "network m is not declared"),
        ("references", good.replace("    networks: [\"n\"]\n", "    depends_on: [\"b\"]\n"), "joins no network"),
        ("references", good.replace("    networks: [\"n\"]\n", "    networks: [\"n\"]\n    secrets: [\"s\"]\n"), "secret s is not declared"),
        ("formats", good.replace("busybox:1.36.1", "busybox:${TAG}"), "unescaped `$`"),
        ("formats", good.replace("    networks", "    healthcheck: {test: [\"CMD\", \"true\"], interval: \"2 seconds\"}\n    networks"), "is not a duration"),
    ];
    let (ok, report) = validate(
        "schema,references,formats",
        &[write(&dir, "good.yaml", good)],
    );
    assert!(ok, "a valid file was rejected: {report}");
    for (i, (check, text, expected)) in cases.iter().enumerate() {
        let file = write(&dir, &format!("bad{i}.yaml"), text);
        let (ok, report) = validate(check, &[file]);
        assert!(
            !ok && report.contains(expected),
            "{check} accepted case {i} or said something else:\n{text}\n{report}"
        );
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

/// Values planted in `env`: name, `.bom` literal, the string it means.
const PLANTED: &[(&str, &str, &str)] = &[
    ("QUOTES", r#"say \"hi\" it's"#, "say \"hi\" it's"),
    (
        "NEWLINES",
        r"line1\nline2\r\nline3\n",
        "line1\nline2\r\nline3\n",
    ),
    (
        "LITERAL_BLOCK",
        r"# not a comment\n--- not a document\n... nor an end\n",
        "# not a comment\n--- not a document\n... nor an end\n",
    ),
    (
        "INDENTED",
        r"first\n  indented\n\tlast",
        "first\n  indented\n\tlast",
    ),
    (
        "INTERPOLATION",
        r"\${HOME} and \$USER, $ and $$",
        "${HOME} and $USER, $ and $$",
    ),
    ("HASH", "a #comment", "a #comment"),
    ("HASH_FIRST", "#start", "#start"),
    ("DOCUMENT", "---", "---"),
    ("END", "...", "..."),
    ("ANCHOR", "&anchor", "&anchor"),
    ("ALIAS", "*alias", "*alias"),
    ("TAG", "!!binary aGk=", "!!binary aGk="),
    ("DIRECTIVE", "%YAML 1.2", "%YAML 1.2"),
    ("YES", "yes", "yes"),
    ("NO", "No", "No"),
    ("ON", "on", "on"),
    ("OFF", "OFF", "OFF"),
    ("Y", "y", "y"),
    ("TRUE", "true", "true"),
    ("OCTAL", "0755", "0755"),
    ("SEXAGESIMAL", "22:22", "22:22"),
    ("TIME", "1:30:00", "1:30:00"),
    ("HEX", "0x1F", "0x1F"),
    ("EXPONENT", "1e3", "1e3"),
    ("UNDERSCORES", "1_000", "1_000"),
    ("FLOAT", ".5", ".5"),
    ("INFINITY", ".inf", ".inf"),
    ("NULL", "null", "null"),
    ("TILDE", "~", "~"),
    ("EMPTY", "", ""),
    ("DATE", "2001-12-14", "2001-12-14"),
    ("MERGE", "<<", "<<"),
    ("MAPPING", "key: value", "key: value"),
    ("SEQUENCE", "- item", "- item"),
    ("COMPLEX_KEY", "? x", "? x"),
    ("FLOW", "{a: [1, 2]}", "{a: [1, 2]}"),
    ("PIPE", "|", "|"),
    ("FOLDED", "> folded", "> folded"),
    ("PADDED", "  padded  ", "  padded  "),
    (
        "YAML_INSIDE",
        r"a: 1\n  - b\n? c\n: d\n&x *y !z\n",
        "a: 1\n  - b\n? c\n: d\n&x *y !z\n",
    ),
    ("TRAILING_SPACE_LINES", r"a \nb\t\nc", "a \nb\t\nc"),
    ("BACKSLASH", r"C:\\temp\\new", "C:\\temp\\new"),
    ("TAB", r"a\tb", "a\tb"),
    ("UNICODE", "é 日本 🚀", "é 日本 🚀"),
    (
        "SEPARATORS",
        "a\u{2028}b\u{2029}c\u{85}d\u{feff}e",
        "a\u{2028}b\u{2029}c\u{85}d\u{feff}e",
    ),
    ("on", "key named on", "key named on"),
    ("x: y", "key with a colon", "key with a colon"),
    ("#k", "key starting with a hash", "key starting with a hash"),
    (
        "&k",
        "key starting with an ampersand",
        "key starting with an ampersand",
    ),
    ("<<", "key that is a merge key", "key that is a merge key"),
    ("0755", "key that looks octal", "key that looks octal"),
];

/// How compose wants a string bomc means literally: compose interpolates
/// `$VAR` and `${VAR}` in every value of the file, and `$$` is its escape for
/// one `$`. So a value that means `${HOME}` must be written `$${HOME}`: after
/// compose's interpolation the container gets exactly the `.bom` string.
fn compose_escaped(s: &str) -> String {
    s.replace('$', "$$")
}

#[test]
fn strings_from_bom_files_stay_data() {
    // The source path and the environment parameter are data too.
    let dir = temp_dir("compose-inject").join("dir #x: yes\n--- ${HOME}");
    std::fs::create_dir_all(&dir).expect("dir");
    let env: String = PLANTED
        .iter()
        .map(|(name, literal, _)| format!("      \"{name}\" = \"{literal}\"\n"))
        .collect();
    let source = format!(
        r#"
landscape inject {{
  service app {{
    image = "busybox:1.36.1"
    command = ["sh", "-c", "echo \$HOME; exit 0 # done", "yes", "22:22", "null"]
    ports {{ http = 8080 }}
    env {{
{env}    }}
    labels {{
      "com.example.yes" = "yes"
      "x: y" = "on\n---\n&a *b"
      "<<" = "*alias"
    }}
    compose {{
      labels {{ "com.example.raw" = "on: \${{X}} #" }}
    }}
  }}
}}

environment test {{
  param id: string
  ttl = 1h
  purpose = "check ${{id}}"
}}
"#
    );
    let file = write(&dir, "inject.bom", &source);
    let id = "on\n---\n&a *b ${Z} #c 'q\"";
    let compose = build_one(
        &temp_dir("compose-inject-out"),
        &file,
        &["--env", "test", "--set", &format!("id={id}")],
    );
    let doc = load(&compose);
    let app = &doc["services"]["app"];

    let env = app["environment"]
        .as_object()
        .expect("environment is a mapping");
    let expected: BTreeMap<String, Value> = PLANTED
        .iter()
        .map(|(name, _, meant)| (name.to_string(), json!(compose_escaped(meant))))
        .collect();
    let actual: BTreeMap<String, Value> = env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert_eq!(actual, expected);

    assert_eq!(
        app["command"],
        json!([
            "sh",
            "-c",
            compose_escaped("echo $HOME; exit 0 # done"),
            "yes",
            "22:22",
            "null"
        ])
    );
    let labels = &app["labels"];
    assert_eq!(labels["com.example.yes"], "yes");
    assert_eq!(labels["x: y"], "on\n---\n&a *b");
    assert_eq!(labels["<<"], "*alias");
    assert_eq!(labels["com.example.raw"], compose_escaped("on: ${X} #"));
    assert_eq!(
        labels["org.bomc.purpose"],
        json!(compose_escaped(&format!("check {id}")))
    );
    assert_eq!(
        labels["org.bomc.source"],
        json!(compose_escaped(&file.display().to_string()))
    );
    assert_eq!(
        doc["services"].as_object().map(|s| s.len()),
        Some(1),
        "one service"
    );
    // The header comment stays a comment: the file starts with comment lines
    // and then the document's first key.
    let text = std::fs::read_to_string(&compose).expect("compose.yaml");
    let first = text.lines().find(|l| !l.starts_with('#')).expect("content");
    assert!(first.starts_with("name: "), "{first}");
}

#[test]
fn names_compose_cannot_carry_safely_are_errors() {
    let dir = temp_dir("compose-names");
    for (name, body, code, expected) in [
        (
            "route",
            "load_balancer lb {\n domain = \"a.example.com\"\n routes { \"/a b\\n#x\" = app.ports.http }\n }",
            "E0503",
            "route path",
        ),
        (
            "env",
            "service b {\n image = \"busybox:1.36.1\"\n env { \"A=B\" = \"x\" }\n }",
            "E0503",
            "environment variable name",
        ),
        (
            "volume",
            "service b {\n image = \"busybox:1.36.1\"\n volumes { \"data:x\" = \"/data\" }\n }",
            "E0503",
            "volume name",
        ),
        (
            "secret-clash",
            "service b {\n image = \"busybox:1.36.1\"\n env { P = secret(\"a/b\"), Q = secret(\"a.b\"), R = secret(\"a_b\") }\n }",
            "E0503",
            "would both be",
        ),
        (
            "file-clash",
            "service b {\n image = \"busybox:1.36.1\"\n env { P = secret(\"a/b\"), P_FILE = \"/x\" }\n }",
            "E0503",
            "P_FILE",
        ),
        (
            "raw-secret",
            "service b {\n image = \"busybox:1.36.1\"\n compose { environment { P = secret(\"a/b\") } }\n }",
            "E0305",
            "would be written as text",
        ),
    ] {
        let source = format!(
            "import \"load_balancer\"\nlandscape n {{\n service app {{\n image = \"busybox:1.36.1\"\n ports {{ http = 8080 }}\n }}\n {body}\n}}\n"
        );
        let file = write(&dir, &format!("{name}.bom"), &source);
        let out = dir.join(format!("out-{name}"));
        let run = bomc(
            &root(),
            &[
                "build",
                file.to_str().expect("utf-8"),
                "--target",
                "compose",
                "--out",
                out.to_str().expect("utf-8"),
                "--now",
                NOW,
            ],
        );
        assert_eq!(run.code, 1, "{name}: {}", run.stdout);
        assert!(
            run.stderr.contains(code) && run.stderr.contains(expected),
            "{name}:\n{}",
            run.stderr
        );
        assert!(!out.exists(), "{name}: a failed build wrote output");
    }
}

/// Secret names → host variables as the compose file should name them.
fn secret_key(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn secret_variable(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

fn every_string(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| every_string(x, out)),
        Value::Object(m) => m.values().for_each(|x| every_string(x, out)),
        _ => {}
    }
}

#[test]
fn secrets_are_references_never_values() {
    let out = temp_dir("compose-secrets");
    let mut checked = 0;
    for path in crate::bom_files(&root().join("examples")) {
        for (env, sets) in crate::environments_of(&path) {
            let file = path.to_str().expect("utf-8");
            let mut args = vec!["model", file, "--env", &env];
            args.extend(sets.iter().map(String::as_str));
            let model: Value =
                serde_json::from_str(&bomc(&root(), &args).stdout).expect("model is JSON");
            // component → env variable → secret name
            let mut uses: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
            for c in model["components"].as_array().expect("components") {
                for (var, v) in c["settings"]["env"]["value"]
                    .as_object()
                    .into_iter()
                    .flatten()
                {
                    if v["type"] == "secret" {
                        let name = c["name"].as_str().expect("name").to_string();
                        uses.entry(name)
                            .or_default()
                            .insert(var.clone(), v["value"].as_str().expect("name").to_string());
                    }
                }
            }
            let names: BTreeSet<&String> = uses.values().flat_map(|m| m.values()).collect();
            if names.is_empty() {
                continue;
            }
            // The secrets' values are in bomc's environment, under every name
            // bomc could look for: it must not read them, let alone write them.
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_bomc"));
            let target = out.join(format!(
                "{}-{env}",
                path.file_stem().and_then(OsStr::to_str).unwrap_or("x")
            ));
            cmd.args([
                "build",
                file,
                "--env",
                &env,
                "--target",
                "compose",
                "--out",
                target.to_str().expect("utf-8"),
                "--now",
                NOW,
            ])
            .args(&sets)
            .current_dir(root());
            let sentinel = |i: usize| format!("sentinel-{i}-do-not-leak-4f1c");
            for (i, name) in names.iter().enumerate() {
                cmd.env(secret_variable(name), sentinel(i))
                    .env(name.as_str(), sentinel(i))
                    .env(secret_key(name), sentinel(i));
            }
            let run = cmd.output().expect("bomc runs");
            assert!(
                run.status.success(),
                "{}",
                String::from_utf8_lossy(&run.stderr)
            );
            let mut files = vec![target.clone()];
            let mut written = Vec::new();
            while let Some(d) = files.pop() {
                for e in std::fs::read_dir(&d).expect("readable").flatten() {
                    if e.path().is_dir() {
                        files.push(e.path())
                    } else {
                        written.push(e.path())
                    }
                }
            }
            for f in &written {
                let text = std::fs::read_to_string(f).expect("text");
                assert!(
                    !text.contains("sentinel-"),
                    "{} leaks a secret value",
                    f.display()
                );
            }
            let compose = written
                .iter()
                .find(|f| f.ends_with("compose.yaml"))
                .expect("compose.yaml");
            let doc = load(compose);

            // Top level: each secret read from the host variable named after it, nothing else.
            let expected: BTreeMap<String, Value> = names
                .iter()
                .map(|n| (secret_key(n), json!({ "environment": secret_variable(n) })))
                .collect();
            let declared: BTreeMap<String, Value> = doc["secrets"]
                .as_object()
                .expect("secrets")
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            assert_eq!(declared, expected, "{file} {env}");

            for (component, vars) in &uses {
                let service = &doc["services"][component];
                let environment = service["environment"].as_object().expect("environment");
                let mounted: BTreeSet<String> =
                    strings_of(&service["secrets"]).into_iter().collect();
                for (var, name) in vars {
                    assert!(
                        !environment.contains_key(var),
                        "{component}.{var} carries a secret as a value"
                    );
                    assert_eq!(
                        environment[&format!("{var}_FILE")],
                        json!(format!("/run/secrets/{}", secret_key(name))),
                        "{component}.{var}"
                    );
                    assert!(
                        mounted.contains(&secret_key(name)),
                        "{component} does not mount {name}"
                    );
                }
                let wanted: BTreeSet<String> = vars.values().map(|n| secret_key(n)).collect();
                assert_eq!(
                    mounted, wanted,
                    "{component} mounts secrets it does not use"
                );
            }
            // Secret names are references only: no value of the file mentions one.
            let mut all = Vec::new();
            every_string(&doc, &mut all);
            for name in &names {
                assert!(
                    !all.iter().any(|s| s.contains(name.as_str())),
                    "{name} appears as a value"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} environments with secrets");
}

fn conditions(doc: &Value) -> BTreeMap<String, BTreeMap<String, String>> {
    services(doc)
        .iter()
        .map(|(name, s)| {
            let deps = s["depends_on"]
                .as_object()
                .map(|d| {
                    d.iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                v["condition"].as_str().expect("condition").to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            (name.clone(), deps)
        })
        .collect()
}

fn expect_conditions(
    pairs: &[(&str, &[(&str, &str)])],
) -> BTreeMap<String, BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|(s, deps)| {
            (
                s.to_string(),
                deps.iter()
                    .map(|(d, c)| (d.to_string(), c.to_string()))
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn start_order_follows_the_landscape() {
    const HEALTHY: &str = "service_healthy";
    const DONE: &str = "service_completed_successfully";
    // messenger: the API waits for MySQL's health check, the load balancer for the API's.
    assert_eq!(
        conditions(&example("messenger", &["--env", "production"])),
        expect_conditions(&[
            ("db", &[]),
            ("auth", &[("db", HEALTHY)]),
            ("lb", &[("auth", HEALTHY)])
        ])
    );
    // fooda: migrations run to completion before web and workers start; every
    // store has a health check; the load balancer waits for the web containers.
    let stores: &[(&str, &str)] = &[
        ("cache", HEALTHY),
        ("db", HEALTHY),
        ("migrate", DONE),
        ("search", HEALTHY),
    ];
    assert_eq!(
        conditions(&example("fooda", &["--env", "production"])),
        expect_conditions(&[
            ("db", &[]),
            ("cache", &[]),
            ("search", &[]),
            ("migrate", &[("db", HEALTHY)]),
            ("web", stores),
            ("worker", stores),
            ("lb", &[("web", HEALTHY)]),
        ])
    );
    // A dependency without a health check is only waited for to start.
    let dir = fresh("compose-started");
    let file = write(
        &dir,
        "s.bom",
        "landscape s {\n service a { image = \"busybox:1.36.1\"\n ports { p = 1000 } }\n service b { image = \"busybox:1.36.1\"\n env { A = a.host } }\n}\n",
    );
    let doc = load(&build_one(&dir.join("out"), &file, &[]));
    assert_eq!(
        conditions(&doc),
        expect_conditions(&[("a", &[]), ("b", &[("a", "service_started")])])
    );
    // Jobs run once; services are kept running.
    let fooda = example("fooda", &["--env", "staging"]);
    assert_eq!(fooda["services"]["migrate"]["restart"], "no");
    assert_eq!(fooda["services"]["web"]["restart"], "unless-stopped");
}

fn networks(doc: &Value) -> BTreeMap<String, Vec<String>> {
    services(doc)
        .iter()
        .map(|(n, s)| (n.clone(), strings_of(&s["networks"])))
        .collect()
}

fn expect_networks(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(s, n)| (s.to_string(), n.iter().map(|x| x.to_string()).collect()))
        .collect()
}

#[test]
fn networks_give_least_privilege() {
    assert_eq!(
        networks(&example("messenger", &["--env", "production"])),
        expect_networks(&[
            ("auth", &["auth.to.db", "lb.to.auth"]),
            ("db", &["auth.to.db"]),
            ("lb", &["lb.to.auth"])
        ])
    );
    // Two clients of one database (members, claims) share no network; the
    // notifier reaches the queue only.
    assert_eq!(
        networks(&example("collective-health", &["--env", "production"])),
        expect_networks(&[
            (
                "api",
                &[
                    "api.to.claims",
                    "api.to.members",
                    "api.to.sessions",
                    "lb.to.api"
                ]
            ),
            (
                "claims",
                &["api.to.claims", "claims.to.db", "claims.to.queue"]
            ),
            ("db", &["claims.to.db", "members.to.db"]),
            ("lb", &["lb.to.api", "lb.to.web"]),
            ("members", &["api.to.members", "members.to.db"]),
            ("notifier", &["notifier.to.queue"]),
            ("queue", &["claims.to.queue", "notifier.to.queue"]),
            ("sessions", &["api.to.sessions"]),
            ("web", &["lb.to.web"]),
        ])
    );
    // In every example: a network joins exactly a client and the server it
    // may connect to (or one component alone).
    for (example, env, file) in example_composes("compose-networks") {
        let doc = load(&file);
        let mut members: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (service, nets) in networks(&doc) {
            for n in nets {
                members.entry(n).or_default().insert(service.clone());
            }
        }
        for (net, who) in members {
            let expected: BTreeSet<String> = match net.split_once(".to.") {
                Some((client, server)) => [client.to_string(), server.to_string()].into(),
                None => [net.clone()].into(),
            };
            assert_eq!(who, expected, "{example} {env}: network {net}");
        }
    }
}

#[test]
fn only_public_components_publish_ports() {
    for (example, env, file) in example_composes("compose-ports") {
        let doc = load(&file);
        for (name, s) in services(&doc) {
            match s["labels"]["org.bomc.kind"].as_str() {
                Some("load_balancer") => {
                    assert_eq!(
                        s["ports"].as_array().map(Vec::len),
                        Some(1),
                        "{example} {env} {name}: only http"
                    );
                    assert!(s["expose"].is_null(), "{example} {env} {name}");
                }
                _ if example == "books" && name == "api" => {
                    assert!(s["ports"].is_array(), "books' api is public")
                }
                _ => assert!(
                    s["ports"].is_null(),
                    "{example} {env} {name} publishes ports"
                ),
            }
        }
    }
    // Two copies of messenger side by side: the load balancer on another port,
    // and a public service with replicas publishes one port per replica.
    let ci = example(
        "messenger",
        &["--env", "ci", "--set", "build=41", "--set", "port=9001"],
    );
    assert_eq!(
        ci["services"]["lb"]["ports"],
        json!([{ "target": 9001, "published": "9001", "protocol": "tcp" }])
    );
    let books = example("books", &["--env", "latency", "--set", "run=7"]);
    assert_eq!(
        books["services"]["api"]["ports"],
        json!([{ "target": 8080, "published": "8080-8082", "protocol": "tcp" }])
    );
    assert_eq!(books["services"]["db"]["expose"], json!([5432]));
}

#[test]
fn a_service_says_what_the_landscape_says() {
    let doc = example("messenger", &["--env", "production"]);
    let auth = &doc["services"]["auth"];
    assert_eq!(auth["command"], json!(["--db-host", "db", "-p", "9000"]));
    assert_eq!(auth["environment"]["DB_PORT"], "3306");
    assert_eq!(auth["environment"]["DB_NAME"], "messenger");
    let health = &auth["healthcheck"];
    assert_eq!(
        (&health["interval"], &health["timeout"], &health["retries"]),
        (&json!("2s"), &json!("2s"), &json!(3))
    );
    // production overrides replicas; the raw `compose` keys are merged in, not replacing `deploy`.
    assert_eq!(
        auth["deploy"],
        json!({
            "replicas": 4,
            "resources": { "limits": { "cpus": "0.25", "memory": "512M" } },
            "update_config": { "order": "start-first" },
        })
    );
    // Built images carry the tag the dockerfile target gives them, and their
    // Dockerfile; the health check runs the probe that Dockerfile installs.
    assert_eq!(auth["image"], "messenger-production/go_auth:production");
    assert_eq!(
        auth["build"]["context"],
        json!(root().join("examples/go-auth").display().to_string())
    );
    let dockerfile = auth["build"]["dockerfile_inline"]
        .as_str()
        .expect("Dockerfile inlined");
    assert!(
        dockerfile.contains("# Image `go_auth`, tagged messenger-production/go_auth:production."),
        "{dockerfile}"
    );
    assert_eq!(
        health["test"],
        json!([
            "CMD",
            "/usr/local/bin/bomc-healthcheck",
            "http://127.0.0.1:9000/health"
        ])
    );
    let db = &doc["services"]["db"];
    assert_eq!(
        db["volumes"],
        json!([{ "type": "volume", "source": "db.data", "target": "/var/lib/mysql" }])
    );
    assert_eq!(
        doc["volumes"]["db.data"]["labels"]["org.bomc.stateful"],
        "true"
    );
    assert_eq!(db["healthcheck"]["start_period"], "30s");
    assert_eq!(db["labels"]["org.bomc.lifetime"], "persistent");
    assert_eq!(doc["name"], "messenger-production");
    // The load balancer is HAProxy with its routes, longest prefix first.
    let ch = example("collective-health", &["--env", "production"]);
    let lb = &ch["services"]["lb"];
    assert_eq!(
        lb["configs"],
        json!([{ "source": "lb.haproxy.cfg", "target": "/usr/local/etc/haproxy/haproxy.cfg" }])
    );
    let cfg = ch["configs"]["lb.haproxy.cfg"]["content"]
        .as_str()
        .expect("content");
    let api = cfg.find("path_beg /api").expect("route /api");
    let all = cfg.find("path_beg /\n").expect("route /");
    assert!(api < all, "{cfg}");
    assert!(
        cfg.contains("server-template srv 3 api:8080 check resolvers docker"),
        "{cfg}"
    );
    // Ephemeral environments say when they expire.
    let story = example("messenger", &["--env", "story", "--set", "id=US-217"]);
    assert_eq!(
        story["services"]["db"]["labels"]["org.bomc.expires"],
        "2026-11-27T23:00:00Z"
    );
    assert_eq!(story["name"], "messenger-story-us-217");
}

#[test]
fn building_twice_gives_identical_bytes() {
    let first = example_composes("compose-twice-1");
    let second = example_composes("compose-twice-2");
    assert_eq!(first.len(), second.len());
    for ((example, env, a), (_, _, b)) in first.iter().zip(&second) {
        // Built into different output folders: the compose file does not depend on where.
        assert_ne!(a, b);
        assert!(
            std::fs::read(a).expect("first") == std::fs::read(b).expect("second"),
            "{example} {env}: {} and {} differ",
            a.display(),
            b.display()
        );
    }
}
