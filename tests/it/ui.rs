//! The diagnostics corpus: `tests/ui/errors/E0xxx-what.bom` holds one mistake
//! each, `tests/ui/warnings/W0xxx-what.bom` one thing bomc changes or ignores
//! on its own. A header line `// args: …` gives the command (default
//! `check {file}`). Each run must exit 1 (0 for a warning), report the file's
//! code first (in JSON), and render exactly as the snapshot in
//! `tests/ui/snapshots/` shows.

use crate::{bom_files, bomc, root};
use bomc::diag::ErrorCode;
use std::collections::BTreeSet;

fn args_of(text: &str, file: &str) -> Vec<String> {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("// args:"))
        .unwrap_or("check {file}");
    line.split_whitespace()
        .map(|a| a.replace("{file}", file))
        .collect()
}

#[test]
fn every_invalid_file_gives_its_diagnostic() {
    let dir = root().join("tests/ui/errors");
    let files = bom_files(&dir);
    assert!(files.len() >= 60, "the corpus has {} files", files.len());
    run_corpus(&dir, &files, 1);
}

#[test]
fn every_warning_file_gives_its_warning() {
    let dir = root().join("tests/ui/warnings");
    let files = bom_files(&dir);
    assert!(files.len() >= 6, "the corpus has {} files", files.len());
    run_corpus(&dir, &files, 0);
}

fn run_corpus(dir: &std::path::Path, files: &[std::path::PathBuf], exit: i32) {
    let mut failures = Vec::new();
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name");
        let code = name.get(..5).expect("file named E0xxx-…");
        let text = std::fs::read_to_string(path).expect("readable");
        let args = args_of(&text, name);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();

        let human = bomc(dir, &args);
        if human.code != exit {
            failures.push(format!(
                "{name}: exit code {} (expected {exit})\n{}",
                human.code, human.stderr
            ));
            continue;
        }
        if human.stderr.contains("panicked") {
            failures.push(format!("{name}: panicked"));
        }

        let mut json_args = args.clone();
        json_args.extend(["--format", "json"]);
        let json = bomc(dir, &json_args);
        let diags: serde_json::Value =
            serde_json::from_str(&json.stdout).expect("JSON diagnostics");
        let first = diags
            .get(0)
            .and_then(|d| d.get("code"))
            .and_then(|c| c.as_str());
        if first != Some(code) {
            failures.push(format!(
                "{name}: first code {first:?}, expected {code}\n{}",
                human.stderr
            ));
            continue;
        }
        let first = &diags[0];
        if first.get("help").is_none_or(|h| h.is_null()) {
            failures.push(format!("{name}: no help line"));
        }
        insta::with_settings!({
            snapshot_path => root().join("tests/ui/snapshots"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name.trim_end_matches(".bom"), format!("exit code: {}\n{}", human.code, human.stderr));
        });
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_error_code_has_a_case_and_a_doc() {
    let mut files = bom_files(&root().join("tests/ui/errors"));
    files.extend(bom_files(&root().join("tests/ui/warnings")));
    files.extend(bom_files(&root().join("tests/hostile")));
    let mut covered: BTreeSet<String> = files
        .iter()
        .filter_map(|p| p.file_name()?.to_str()?.get(..5).map(String::from))
        .collect();
    covered.extend(crate::hostile::GENERATED.iter().map(|c| c.to_string()));
    let docs = std::fs::read_to_string(root().join("docs/errors.md")).expect("docs/errors.md");
    for code in ErrorCode::ALL {
        assert!(
            covered.contains(code.code()),
            "no ui case for {}",
            code.code()
        );
        assert!(
            docs.contains(&format!("## {}", code.code())),
            "docs/errors.md does not document {}",
            code.code()
        );
    }
}
