//! The shape of the compiler: data flows one way through the stages, and the
//! emitters translate the plan and nothing else.

use crate::root;
use std::path::{Path, PathBuf};

/// The stages, earliest first. A stage may use only the stages before it.
const STAGES: &[&str] = &[
    "source", "diag", "syntax", "format", "import", "resolve", "model", "check", "eval", "graph",
    "lower", "emit", "diff", "write", "cli",
];

fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut out = Vec::new();
    let mut dirs = vec![path.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable folder") {
            let p = entry.expect("entry").path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn stage_files(stage: &str) -> Vec<PathBuf> {
    let dir = root().join("src").join(stage);
    let file = root().join("src").join(format!("{stage}.rs"));
    let mut files = Vec::new();
    if file.exists() {
        files.extend(rust_files(&file));
    }
    if dir.exists() {
        files.extend(rust_files(&dir));
    }
    files
}

/// Every `crate::<stage>` a file names, including inside `use crate::{…}`.
fn used_stages(text: &str) -> Vec<String> {
    let mut used = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                used.push(name);
            }
        } else {
            used.push(
                rest.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect(),
            );
        }
    }
    used
}

#[test]
fn no_stage_uses_a_later_one() {
    let mut violations = Vec::new();
    for (rank, stage) in STAGES.iter().enumerate() {
        let files = stage_files(stage);
        assert!(!files.is_empty(), "stage `{stage}` has no source");
        for file in files {
            let text = std::fs::read_to_string(&file).expect("readable source");
            for used in used_stages(&text) {
                if let Some(later) = STAGES.iter().position(|s| *s == used)
                    && later > rank
                {
                    violations.push(format!(
                        "{} ({stage}) uses `crate::{used}`, a later stage",
                        file.strip_prefix(root()).unwrap_or(&file).display()
                    ));
                }
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_detector_sees_grouped_and_nested_uses() {
    assert_eq!(
        used_stages(
            "use crate::{emit::Artifact, lower::plan::Plan};\nlet x = crate::write::write;"
        ),
        ["emit", "lower", "write"]
    );
}

/// The emitters read the plan: no model component, no setting looked up by name.
#[test]
fn emitters_read_only_the_plan() {
    let mut violations = Vec::new();
    for file in stage_files("emit") {
        let text = std::fs::read_to_string(&file).expect("readable source");
        let name = file
            .strip_prefix(root())
            .unwrap_or(&file)
            .display()
            .to_string();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for needle in [
                "settings.get(",
                "params.get(",
                ".setting(",
                "model::Component",
                "model::Landscape",
                "model::Image",
                "emit::dockerfile::",
                "dockerfile::emit",
                "compose::emit",
                "cloudformation::emit",
            ] {
                if code.contains(needle) && !name.ends_with("emit/mod.rs") {
                    violations.push(format!("{name}:{}: `{needle}`", n + 1));
                }
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}
