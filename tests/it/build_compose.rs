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
        // A secret from the host is an environment variable's whole value, nothing else.
        ("formats", good.replace("busybox:1.36.1", "${TAG:?set TAG}"), "unescaped `$`"),
        ("formats", good.replace("    networks", "    environment: {A: \"${A:?set A} and more\"}\n    networks"), "unescaped `$`"),
        ("formats", good.replace("    networks", "    healthcheck: {test: [\"CMD\", \"true\"], interval: \"2 seconds\"}\n    networks"), "is not a duration"),
    ];
    let (ok, report) = validate(
        "schema,references,formats",
        &[
            write(&dir, "good.yaml", good),
            write(
                &dir,
                "from-host.yaml",
                &good.replace(
                    "    networks",
                    "    environment: {A: \"${A:?set A to the value of secret a}\"}\n    networks",
                ),
            ),
        ],
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
    // The networks carry bomc's labels, escaped as the services' are.
    let networks = doc["networks"].as_object().expect("networks");
    assert!(!networks.is_empty());
    for (name, network) in networks {
        assert_eq!(
            network["labels"]["org.bomc.purpose"],
            json!(compose_escaped(&format!("check {id}"))),
            "{name}"
        );
    }
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
            // mysql's entrypoint reads MYSQL_PASSWORD_FILE, which compose sets.
            "file-clash",
            "service b {\n image = \"mysql:8.0.43\"\n env { MYSQL_PASSWORD = secret(\"a/b\"), MYSQL_PASSWORD_FILE = \"/x\" }\n }",
            "E0503",
            "MYSQL_PASSWORD_FILE",
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
        // `check` refuses what `build` refuses, without building the file.
        let checked = bomc(&root(), &["check", file.to_str().expect("utf-8")]);
        assert_eq!(checked.code, 1, "{name}: {}", checked.stdout);
        assert!(
            checked.stderr.contains(code) && checked.stderr.contains(expected),
            "{name}:\n{}",
            checked.stderr
        );
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

/// Pulled images whose entrypoint reads `<NAME>_FILE` for these variables, as
/// their documentation says: compose gives them the file. Any other pulled
/// image gets the variable itself, interpolated by compose from the host
/// environment; images bomc builds read the mounted file through bomc's
/// entrypoint shim, under the variable's own name (as on ECS). rabbitmq reads
/// none: its 3.13 entrypoint exits 1 on `RABBITMQ_DEFAULT_PASS_FILE`.
/// Sources: the docker-library entrypoints of mysql (8.0) and postgres (16),
/// and minio's `loadEnvVarsFromFiles`.
const READS_FILES: &[(&str, &[&str])] = &[
    (
        "mysql",
        &[
            "MYSQL_ROOT_PASSWORD",
            "MYSQL_PASSWORD",
            "MYSQL_USER",
            "MYSQL_DATABASE",
            "MYSQL_ROOT_HOST",
        ],
    ),
    (
        "postgres",
        &[
            "POSTGRES_PASSWORD",
            "POSTGRES_USER",
            "POSTGRES_DB",
            "POSTGRES_INITDB_ARGS",
        ],
    ),
    ("minio/minio", &["MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"]),
    ("rabbitmq", &[]),
];

/// How a secret reaches a variable on compose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Delivery {
    /// An image bomc builds: the compose secret mounted at
    /// `/run/bomc/env/<NAME>`, which its entrypoint shim exports as `NAME`.
    Shim,
    /// `<NAME>_FILE` names the compose secret under `/run/secrets/`.
    File,
    /// `NAME` interpolated by compose from the host environment.
    Host,
}

/// How the secret of `var` should reach a component of the model.
fn delivery(component: &Value, var: &str) -> Delivery {
    let settings = &component["settings"];
    if settings["build"]["type"] == "image" {
        return Delivery::Shim;
    }
    let image = settings["image"]["value"].as_str().unwrap_or_default();
    let repository = image.split([':', '@']).next().unwrap_or_default();
    let reads = READS_FILES
        .iter()
        .any(|(r, vars)| *r == repository && vars.contains(&var));
    if reads {
        Delivery::File
    } else {
        Delivery::Host
    }
}

/// The value compose interpolates from the host for secret `name`.
fn from_host(name: &str) -> String {
    let v = secret_variable(name);
    format!("${{{v}:?set {v} to the value of secret {name}}}")
}

/// Component → variable → (secret, delivery), from the model: `env`, and the
/// MinIO key of the buckets a component uses (compose only).
fn secret_uses(model: &Value) -> BTreeMap<String, BTreeMap<String, (String, Delivery)>> {
    let components = model["components"].as_array().expect("components");
    let mut uses: BTreeMap<String, BTreeMap<String, (String, Delivery)>> = BTreeMap::new();
    for c in components {
        let name = c["name"].as_str().expect("name").to_string();
        for (var, v) in c["settings"]["env"]["value"]
            .as_object()
            .into_iter()
            .flatten()
        {
            if v["type"] == "secret" {
                let secret = v["value"].as_str().expect("secret name").to_string();
                uses.entry(name.clone())
                    .or_default()
                    .insert(var.clone(), (secret, delivery(c, var)));
            }
        }
        for r in c["references"].as_array().into_iter().flatten() {
            let Some(bucket) = components
                .iter()
                .find(|b| b["name"] == r["target"] && b["name"] != c["name"])
            else {
                continue;
            };
            let password = &bucket["params"]["password"];
            if bucket["settings"]["managed"]["value"] == "s3" && password["type"] == "secret" {
                let var = "AWS_SECRET_ACCESS_KEY";
                let secret = password["value"].as_str().expect("secret name").to_string();
                uses.entry(name.clone())
                    .or_default()
                    .insert(var.to_string(), (secret, delivery(c, var)));
            }
        }
    }
    uses
}

#[test]
fn secrets_are_references_never_values() {
    let out = temp_dir("compose-secrets");
    let mut checked = 0;
    let mut seen = BTreeSet::new();
    for path in crate::bom_files(&root().join("examples")) {
        for (env, sets) in crate::environments_of(&path) {
            let file = path.to_str().expect("utf-8");
            let mut args = vec!["model", file, "--env", &env];
            args.extend(sets.iter().map(String::as_str));
            let model: Value =
                serde_json::from_str(&bomc(&root(), &args).stdout).expect("model is JSON");
            let uses = secret_uses(&model);
            let names: BTreeSet<&String> = uses
                .values()
                .flat_map(|m| m.values())
                .map(|(n, _)| n)
                .collect();
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

            let mut all_mounted = BTreeSet::new();
            for (component, vars) in &uses {
                let service = &doc["services"][component];
                let environment = service["environment"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default();
                let mounted: BTreeSet<String> = service["secrets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|m| m.to_string())
                    .collect();
                let mut wanted = BTreeSet::new();
                for (var, (name, how)) in vars {
                    let key = secret_key(name);
                    let file_var = format!("{var}_FILE");
                    let what = format!("{file} {env}: {component}.{var} ({how:?})");
                    match how {
                        Delivery::Shim => {
                            assert!(!environment.contains_key(var), "{what} carries a value");
                            assert!(
                                !environment.contains_key(&file_var),
                                "{what}: an image bomc builds gets {file_var}"
                            );
                            wanted.insert(
                                json!({ "source": key, "target": format!("/run/bomc/env/{var}") })
                                    .to_string(),
                            );
                        }
                        Delivery::File => {
                            assert!(!environment.contains_key(var), "{what} carries a value");
                            assert_eq!(
                                environment.get(&file_var),
                                Some(&json!(format!("/run/secrets/{key}"))),
                                "{what}"
                            );
                            wanted.insert(json!(key).to_string());
                        }
                        Delivery::Host => {
                            assert_eq!(
                                environment.get(var),
                                Some(&json!(from_host(name))),
                                "{what}"
                            );
                            assert!(
                                !environment.contains_key(&file_var),
                                "{what}: gets {file_var}"
                            );
                        }
                    }
                    seen.insert(*how);
                }
                assert_eq!(
                    mounted, wanted,
                    "{file} {env}: {component} mounts other secrets than it uses"
                );
                all_mounted.extend(
                    service["secrets"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|m| {
                            m["source"]
                                .as_str()
                                .or(m.as_str())
                                .expect("source")
                                .to_string()
                        }),
                );
            }
            // Top level: each mounted secret read from the host variable named after it, nothing else.
            let expected: BTreeMap<String, Value> = names
                .iter()
                .map(|n| (secret_key(n), json!({ "environment": secret_variable(n) })))
                .filter(|(k, _)| all_mounted.contains(k))
                .collect();
            let declared: BTreeMap<String, Value> = doc["secrets"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            assert_eq!(declared, expected, "{file} {env}");

            // Secret names are references only: no value of the file mentions
            // one but the message of a host interpolation.
            let mut all = Vec::new();
            every_string(&doc, &mut all);
            for name in &names {
                assert!(
                    !all.iter()
                        .any(|s| s.contains(name.as_str()) && *s != from_host(name)),
                    "{name} appears as a value"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} environments with secrets");
    assert_eq!(
        seen,
        BTreeSet::from([Delivery::Shim, Delivery::File, Delivery::Host]),
        "the examples use every way of delivering a secret"
    );
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
            "update_config": { "order": "start-first" },
        })
    );
    // Built images carry the tag the dockerfile target gives them; the build
    // is relative to the compose file's folder (see
    // `builds_resolve_from_the_compose_files_folder`), never an inlined
    // Dockerfile. The health check runs the probe that Dockerfile installs.
    // `<landscape>/<image>:<content tag>` (see tests/it/deploy.rs).
    let tag = auth["image"]
        .as_str()
        .and_then(|i| i.strip_prefix("messenger/go_auth:"))
        .unwrap_or_default();
    assert!(
        tag.len() == 16 && tag.chars().all(|c| c.is_ascii_hexdigit()),
        "{}",
        auth["image"]
    );
    assert!(auth["build"]["dockerfile_inline"].is_null());
    for key in ["context", "dockerfile"] {
        let path = auth["build"][key].as_str().expect("build path");
        assert!(!Path::new(path).is_absolute(), "{key}: {path}");
    }
    assert!(
        auth["build"]["dockerfile"]
            .as_str()
            .is_some_and(|d| d.ends_with("/images/go_auth/Dockerfile")),
        "{}",
        auth["build"]
    );
    assert_eq!(
        health["test"],
        json!([
            "CMD",
            "/usr/local/bin/bomc-healthcheck",
            "http://127.0.0.1:9000/health"
        ])
    );
    // A secret reaches an image bomc builds under its own name, as on ECS:
    // mounted where the image's entrypoint shim reads it, no `_FILE` variable.
    assert_eq!(
        auth["secrets"],
        json!([{ "source": "messenger_db", "target": "/run/bomc/env/DB_PASSWORD" }])
    );
    assert!(auth["environment"]["DB_PASSWORD_FILE"].is_null());
    assert!(auth["environment"]["DB_PASSWORD"].is_null());
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
    // The same output folder each time (`temp_dir` empties it): build
    // contexts are relative to it, so the file is the same on every machine
    // that has the same layout of source and output.
    let read = |built: Vec<(String, String, PathBuf)>| -> Vec<(String, String, Vec<u8>)> {
        built
            .into_iter()
            .map(|(example, env, f)| (example, env, std::fs::read(f).expect("compose.yaml")))
            .collect()
    };
    let first = read(example_composes("compose-twice"));
    let second = read(example_composes("compose-twice"));
    assert_eq!(first.len(), second.len());
    for ((example, env, a), (_, _, b)) in first.iter().zip(&second) {
        assert!(a == b, "{example} {env}: the two builds differ");
    }
}

/// `path` with `.` removed and `..` resolved, as compose joins paths.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Where compose takes a service's build context and Dockerfile from: the
/// context relative to the compose file's folder, the Dockerfile relative
/// to the context.
fn build_paths(compose: &Path, service: &Value) -> (PathBuf, PathBuf) {
    let dir = compose.parent().expect("folder");
    let context = service["build"]["context"].as_str().expect("context");
    let dockerfile = service["build"]["dockerfile"].as_str().expect("dockerfile");
    assert!(!Path::new(context).is_absolute(), "{context}");
    assert!(!Path::new(dockerfile).is_absolute(), "{dockerfile}");
    let context = lexical(&dir.join(context));
    let dockerfile = lexical(&context.join(dockerfile));
    (context, dockerfile)
}

const PROBE: &str = "/usr/local/bin/bomc-healthcheck";

/// In every example, each service bomc builds finds its Dockerfile (the
/// dockerfile target's) from the compose file, and its context where the
/// image says; a health check that calls the probe is in an image whose
/// Dockerfile installs it; and no check calls `wget`, which bomc used to
/// invent and slim images lack.
#[test]
fn builds_resolve_from_the_compose_files_folder() {
    let out = temp_dir("compose-builds");
    let mut builds = 0;
    for (example, env, dir) in build_examples("compose,dockerfile", &out) {
        let compose = dir.join("compose.yaml");
        let doc = load(&compose);
        for (name, s) in services(&doc) {
            let test = strings_of(&s["healthcheck"]["test"]);
            assert!(
                !test.iter().any(|t| t.contains("wget")),
                "{example} {env} {name}: {test:?}"
            );
            if s["build"].is_null() {
                assert!(
                    !test.iter().any(|t| t == PROBE),
                    "{example} {env} {name}: a pulled image has no probe"
                );
                continue;
            }
            builds += 1;
            let (context, dockerfile) = build_paths(&compose, s);
            let image = s["image"]
                .as_str()
                .and_then(|i| i.split('/').nth(1))
                .and_then(|i| i.split(':').next())
                .expect("image tag");
            assert_eq!(
                dockerfile,
                dir.join("images").join(image).join("Dockerfile"),
                "{example} {env} {name}"
            );
            let text = std::fs::read_to_string(&dockerfile).expect("the Dockerfile is there");
            if test.iter().any(|t| t == PROBE) {
                assert!(
                    text.lines()
                        .any(|l| l.starts_with("COPY ") && l.trim_end().ends_with(PROBE)),
                    "{example} {env} {name}: the probe is not in {}",
                    dockerfile.display()
                );
            }
            // The contexts of the examples are folders beside their .bom files.
            assert!(
                context.starts_with(root().join("examples")) && context != root().join("examples"),
                "{example} {env} {name}: {}",
                context.display()
            );
        }
    }
    assert!(builds >= 20, "only {builds} builds");
    // fooda's web is checked by the probe on its HTTP port (the ruby image has no wget).
    let fooda = example("fooda", &["--env", "production"]);
    assert_eq!(
        fooda["services"]["web"]["healthcheck"]["test"],
        json!(["CMD", PROBE, "http://127.0.0.1:3000/up"])
    );
}

/// Contexts resolve from the compose file's folder, whatever the working
/// directory and however the paths are written: an image's own context, a
/// template's (the .bom file's folder) and a layer's (its images/ folder).
#[test]
fn relative_contexts_name_the_right_folders() {
    let dir = fresh("compose-contexts");
    let repo = dir.join("repo");
    std::fs::create_dir_all(repo.join("app/code")).expect("dirs");
    std::fs::create_dir_all(repo.join("elsewhere")).expect("dirs");
    write(
        &repo.join("app"),
        "stack.bom",
        "landscape paths {\n  service app {\n    build = app_image\n    ports { http = 8080 }\n  }\n  service tool {\n    build = tool_image\n    command = [\"true\"]\n  }\n  service plain {\n    build = base_layer\n    command = [\"sleep\", \"1\"]\n  }\n}\n\nimage base_layer { from = \"debian:12.5-slim\" }\nimage app_image { from = base_layer, template = \"go\", context = \"./code\" }\nimage tool_image { from = base_layer, template = \"go\" }\n",
    );
    let build = |cwd: &Path, file: &str, out: &str| -> PathBuf {
        let run = bomc(
            cwd,
            &[
                "build",
                file,
                "--target",
                "compose,dockerfile",
                "--out",
                out,
                "--now",
                NOW,
            ],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        let folder = crate::written_folder(&run);
        cwd.join(folder).join("compose.yaml")
    };
    let expected = |compose: &Path| {
        let doc = load(compose);
        let folder = compose.parent().expect("folder").to_path_buf();
        let canonical = |p: &Path| std::fs::canonicalize(p).expect("exists");
        for (service, context, image) in [
            ("app", repo.join("app/code"), "app_image"),
            ("tool", repo.join("app"), "tool_image"),
            ("plain", folder.join("images/base_layer"), "base_layer"),
        ] {
            let (c, d) = build_paths(compose, &doc["services"][service]);
            assert_eq!(canonical(&c), canonical(&context), "{service}");
            assert_eq!(
                canonical(&d),
                canonical(&folder.join("images").join(image).join("Dockerfile")),
                "{service}"
            );
        }
        doc
    };
    // Relative paths from the repository's root.
    let doc = expected(&build(&repo, "app/stack.bom", "out"));
    let services = &doc["services"];
    assert_eq!(
        services["app"]["build"],
        json!({ "context": "../../../app/code", "dockerfile": "../../out/paths/default/images/app_image/Dockerfile" })
    );
    assert_eq!(
        services["tool"]["build"],
        json!({ "context": "../../../app", "dockerfile": "../out/paths/default/images/tool_image/Dockerfile" })
    );
    assert_eq!(
        services["plain"]["build"],
        json!({ "context": "images/base_layer", "dockerfile": "Dockerfile" })
    );
    // Absolute paths, from another folder, with `..` in them.
    let file = repo.join("elsewhere/../app/./stack.bom");
    expected(&build(
        &repo.join("elsewhere"),
        file.to_str().expect("utf-8"),
        dir.join("out2").to_str().expect("utf-8"),
    ));
    // Relative paths that climb out of the working directory.
    expected(&build(
        &repo.join("elsewhere"),
        "../app/stack.bom",
        "../../out3",
    ));
}

fn build_source(name: &str, source: &str) -> (PathBuf, Value) {
    let dir = fresh(name);
    let file = write(&dir, "s.bom", source);
    let compose = build_one(&dir.join("out"), &file, &[]);
    let doc = load(&compose);
    (compose, doc)
}

/// A pulled image that reads neither bomc's shim nor `_FILE` variables gets
/// the secret's variable from compose, which interpolates it from the host's
/// environment when the stack starts: that one `${…}` is not escaped. rabbitmq
/// is such an image: its 3.13 entrypoint exits 1 on `RABBITMQ_DEFAULT_PASS_FILE`.
#[test]
fn secrets_for_images_that_read_no_files_come_from_the_host() {
    let (compose, doc) = build_source(
        "compose-host-secret",
        "landscape h {\n  service q {\n    image = \"rabbitmq:3.13.0-management-alpine\"\n    ports { amqp = 5672 }\n    env {\n      RABBITMQ_DEFAULT_USER = \"app\"\n      RABBITMQ_DEFAULT_PASS = secret(\"h/queue\")\n    }\n  }\n}\n",
    );
    let q = &doc["services"]["q"];
    let value = "${H_QUEUE:?set H_QUEUE to the value of secret h/queue}";
    assert_eq!(q["environment"]["RABBITMQ_DEFAULT_PASS"], value);
    assert!(q["environment"]["RABBITMQ_DEFAULT_PASS_FILE"].is_null());
    assert!(q["secrets"].is_null(), "nothing to mount: {}", q["secrets"]);
    assert!(
        doc["secrets"].is_null(),
        "no compose secret without a mount"
    );
    // Written with one `$`, for compose to interpolate; every other `$` doubled.
    let text = std::fs::read_to_string(&compose).expect("compose.yaml");
    assert!(
        text.contains(&format!("RABBITMQ_DEFAULT_PASS: \"{value}\"")),
        "{text}"
    );
    assert!(!text.contains("$${H_QUEUE"), "{text}");
    // The header says which variable to set.
    assert!(text.contains("#   H_QUEUE (secret(\"h/queue\"))"), "{text}");
    let (ok, report) = validate("schema,references,formats", &[compose]);
    assert!(ok, "{report}");

    // In the examples: the stdlib's rabbitmq, and every other rabbitmq, too.
    let mut queues = 0;
    for (example, env, file) in example_composes("compose-rabbitmq") {
        let doc = load(&file);
        for (name, s) in services(&doc) {
            if !s["image"]
                .as_str()
                .is_some_and(|i| i.starts_with("rabbitmq:"))
            {
                continue;
            }
            queues += 1;
            let environment = s["environment"].as_object().expect("environment");
            assert!(
                !environment
                    .keys()
                    .any(|k| k.starts_with("RABBITMQ_") && k.ends_with("_FILE")),
                "{example} {env} {name}: {environment:?}"
            );
            let pass = environment["RABBITMQ_DEFAULT_PASS"]
                .as_str()
                .expect("password");
            assert!(
                pass.starts_with("${") && pass.contains(":?"),
                "{example} {env} {name}: {pass}"
            );
        }
    }
    assert!(queues >= 3, "only {queues} rabbitmq services");
}

/// Images bomc builds read every secret through the entrypoint shim under
/// the variable's own name: no `_FILE` variable, whatever the name.
#[test]
fn images_bomc_builds_get_no_file_variables() {
    let (_, doc) = build_source(
        "compose-shim",
        "landscape s {\n  service app {\n    build = app_image\n    command = [\"true\"]\n    env {\n      PGPASSWORD = secret(\"s/db\")\n      MYSQL_PASSWORD = secret(\"s/db\")\n      TOKEN = secret(\"s/token\")\n    }\n  }\n}\n\nimage app_image { from = \"debian:12.5-slim\" }\n",
    );
    let app = &doc["services"]["app"];
    assert!(app["environment"].is_null(), "{}", app["environment"]);
    assert_eq!(
        app["secrets"],
        json!([
            { "source": "s_db", "target": "/run/bomc/env/MYSQL_PASSWORD" },
            { "source": "s_db", "target": "/run/bomc/env/PGPASSWORD" },
            { "source": "s_token", "target": "/run/bomc/env/TOKEN" },
        ])
    );
    assert_eq!(
        doc["secrets"],
        json!({ "s_db": { "environment": "S_DB" }, "s_token": { "environment": "S_TOKEN" } })
    );
    for (example, env, file) in example_composes("compose-shim-examples") {
        let doc = load(&file);
        for (name, s) in services(&doc).iter().filter(|(_, s)| !s["build"].is_null()) {
            for (var, _) in s["environment"].as_object().into_iter().flatten() {
                assert!(!var.ends_with("_FILE"), "{example} {env} {name}: {var}");
            }
            for mount in s["secrets"].as_array().into_iter().flatten() {
                assert!(
                    mount["target"]
                        .as_str()
                        .is_some_and(|t| t.starts_with("/run/bomc/env/")),
                    "{example} {env} {name}: {mount}"
                );
            }
        }
    }
}

/// Health commands keep their compose form: `CMD-SHELL` runs a shell command
/// (not the program `CMD-SHELL`), `CMD` and a bare list run a program.
#[test]
fn health_commands_keep_their_form() {
    let (_, doc) = build_source(
        "compose-health-forms",
        "landscape f {\n  service shell {\n    image = \"busybox:1.36.1\"\n    health { command = [\"CMD-SHELL\", \"wget -q -O /dev/null http://\\$HOSTNAME:8080/ || exit 1\"] }\n  }\n  service exec {\n    image = \"busybox:1.36.1\"\n    health { command = [\"CMD\", \"true\"] }\n  }\n  service bare {\n    image = \"busybox:1.36.1\"\n    health { command = [\"test\", \"-e\", \"/tmp\"] }\n  }\n}\n",
    );
    let test = |s: &str| doc["services"][s]["healthcheck"]["test"].clone();
    assert_eq!(
        test("shell"),
        json!([
            "CMD-SHELL",
            compose_escaped("wget -q -O /dev/null http://$HOSTNAME:8080/ || exit 1")
        ])
    );
    assert_eq!(test("exec"), json!(["CMD", "true"]));
    assert_eq!(test("bare"), json!(["CMD", "test", "-e", "/tmp"]));
}

/// A health path HAProxy checks is written into its configuration as the
/// landscape writes it, a query and `$` included (HAProxy reads `$` as
/// itself outside double quotes), a `'` escaped as `\'` (a bare one would
/// open a quoted string there). The end-to-end suite's shop probes such a
/// path through a real HAProxy.
#[test]
fn a_route_targets_health_path_reaches_haproxy_as_written() {
    let dir = temp_dir("haproxy-health-path");
    std::fs::create_dir_all(dir.join("app")).expect("context");
    let landscape = |path: &str| {
        format!(
            "import \"load_balancer\"\n\nlandscape shop {{\n  service web {{\n    build = app\n    ports {{ http = 8080 }}\n    health {{ path = \"{path}\", port = \"http\" }}\n  }}\n  load_balancer lb {{\n    domain = \"shop.example.com\"\n    routes {{ \"/\" = web.ports.http }}\n  }}\n}}\n\nimage app {{\n  from = \"debian:12.5-slim\"\n  template = \"go\"\n  context = \"./app\"\n}}\n"
        )
    };
    // The HAProxy configuration `build` writes for a health path.
    let config = |path: &str| -> String {
        std::fs::write(dir.join("shop.bom"), landscape(path)).expect("file");
        let _ = std::fs::remove_dir_all(dir.join("out"));
        let built = bomc(&dir, &["build", "shop.bom", "--out", "out"]);
        assert_eq!(built.code, 0, "{}", built.stderr);
        let compose =
            std::fs::read_to_string(dir.join("out/shop/default/compose.yaml")).expect("compose");
        let doc: Value = serde_yaml_ng::from_str(&compose).expect("yaml");
        doc["configs"]["lb.haproxy.cfg"]["content"]
            .as_str()
            .expect("config")
            .to_string()
    };
    let path = "/health/ready?full=1&from=lb&v=$x(y)*!";
    let cfg = config(path);
    // Compose reads `$$` as `$`.
    let escaped = path.replace('$', "$$");
    assert!(
        cfg.contains(&format!("\n    option httpchk GET {escaped}\n")),
        "{cfg}"
    );
    // A bare `'` would open a quoted string: HAProxy reads `\'` as one.
    let cfg = config("/health?name='x'&of=lb's");
    assert!(
        cfg.contains("\n    option httpchk GET /health?name=\\'x\\'&of=lb\\'s\n"),
        "{cfg}"
    );
}

/// A route path HAProxy could not read as written is refused by `check`,
/// which looks for it without writing the configuration, as by `build`,
/// which writes it: the same diagnostic, and nothing built.
#[test]
fn a_route_path_haproxy_cannot_take_is_refused_by_check_and_build() {
    let dir = temp_dir("haproxy-route-path");
    std::fs::create_dir_all(dir.join("app")).expect("context");
    std::fs::write(
        dir.join("shop.bom"),
        "import \"load_balancer\"\n\nlandscape shop {\n  service web {\n    build = app\n    ports { http = 8080 }\n  }\n  load_balancer lb {\n    domain = \"shop.example.com\"\n    routes { \"/a#b\" = web.ports.http, \"/ok\" = web.ports.http }\n  }\n}\n\nimage app {\n  from = \"debian:12.5-slim\"\n  template = \"go\"\n  context = \"./app\"\n}\n",
    )
    .expect("file");
    let message = "route path `/a#b` of `lb` cannot be written into the HAProxy configuration";
    let checked = bomc(&dir, &["check", "shop.bom"]);
    assert_eq!(checked.code, 1, "{}", checked.stderr);
    assert!(checked.stderr.contains("E0503"), "{}", checked.stderr);
    assert!(checked.stderr.contains(message), "{}", checked.stderr);
    let built = bomc(&dir, &["build", "shop.bom", "--out", "out"]);
    assert_eq!(built.code, 1, "{}", built.stderr);
    assert!(built.stderr.contains(message), "{}", built.stderr);
    assert!(!dir.join("out").exists());
}
