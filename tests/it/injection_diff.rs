//! Injection into `bomc diff`, as a property: two versions of a landscape
//! whose env value and label differ by arbitrary strings. The Markdown report
//! keeps its structure as GitHub reads it (every table row has its header's
//! cells, the tables their rows, the mermaid block its fence, no HTML but
//! bomc's own) and shows each value recoverably; the JSON report carries
//! both values exactly.

use super::injection::{literal, text};
use crate::{bomc, temp_dir};
use proptest::prelude::*;
use serde_json::Value;
use std::path::Path;

const LABEL: &str = "com.example.v";

fn landscape(value: &str, label: &str) -> String {
    format!(
        "landscape d {{\n  service app {{\n    image = \"busybox:1.36.1\"\n    ports {{ http = 8080 }}\n    env {{ VALUE = {} }}\n    labels {{ \"{LABEL}\" = {} }}\n  }}\n}}\n",
        literal(value),
        literal(label)
    )
}

/// Runs `bomc diff old new --format FORMAT` in `dir`.
fn diff(dir: &Path, old: (&str, &str), new: (&str, &str), format: &str) -> String {
    for (side, (value, label)) in [("old", old), ("new", new)] {
        std::fs::create_dir_all(dir.join(side)).expect("folder");
        std::fs::write(dir.join(side).join("env.bom"), landscape(value, label)).expect("write");
    }
    let run = bomc(
        dir,
        &["diff", "old/env.bom", "new/env.bom", "--format", format],
    );
    assert!(
        run.code == 0 || run.code == 1,
        "{}{}",
        run.stdout,
        run.stderr
    );
    run.stdout
}

/// The cells of a table row as GitHub splits them: a `|` right after a
/// backslash is part of the cell (cmark-gfm's longest match), every other
/// `|` ends one; then `\|` becomes `|` in each cell.
fn cells(row: &str) -> Vec<String> {
    let body = row.trim();
    let body = body.strip_prefix('|').unwrap_or(body);
    let mut out = Vec::new();
    let mut cell = String::new();
    let mut prev = None;
    for c in body.chars() {
        if c == '|' && prev != Some('\\') {
            out.push(std::mem::take(&mut cell));
        } else {
            cell.push(c);
        }
        prev = Some(c);
    }
    if !cell.trim().is_empty() {
        out.push(cell);
    }
    out.into_iter()
        .map(|c| c.replace("\\|", "|").trim().to_string())
        .collect()
}

/// Inline pieces of a cell, as CommonMark reads code spans: a run of n
/// backticks opens a span that the next run of exactly n closes; the span's
/// text has one leading and one trailing space stripped when it has both
/// and is not all spaces. Outside spans, a backslash escapes the next
/// punctuation character. `Err` when a backtick is left unmatched.
#[derive(Debug, PartialEq)]
enum Piece {
    Text(String),
    Code(String),
}

fn pieces(cell: &str) -> Result<Vec<Piece>, String> {
    let chars: Vec<char> = cell.chars().collect();
    let run_at = |i: usize| chars[i..].iter().take_while(|c| **c == '`').count();
    let mut out = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() && chars[i + 1].is_ascii_punctuation() => {
                text.push(chars[i + 1]);
                i += 2;
            }
            '`' => {
                let n = run_at(i);
                let mut j = i + n;
                let close = loop {
                    if j >= chars.len() {
                        break None;
                    }
                    if chars[j] == '`' {
                        let m = run_at(j);
                        if m == n {
                            break Some(j);
                        }
                        j += m;
                    } else {
                        j += 1;
                    }
                };
                let Some(close) = close else {
                    return Err(format!("unmatched backticks in {cell:?}"));
                };
                let mut content: String = chars[i + n..close].iter().collect();
                if content.len() >= 2
                    && content.starts_with(' ')
                    && content.ends_with(' ')
                    && !content.chars().all(|c| c == ' ')
                {
                    content = content[1..content.len() - 1].to_string();
                }
                if !text.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut text)));
                }
                out.push(Piece::Code(content));
                i = close + n;
            }
            c => {
                text.push(c);
                i += 1;
            }
        }
    }
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    Ok(out)
}

/// A table: its header cells and rows of cells.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// Every table of the report, after checking the report's structure: rows
/// have their header's cells, HTML is only bomc's, the mermaid block is
/// fenced.
fn tables(md: &str) -> Result<Vec<Table>, String> {
    let lines: Vec<&str> = md.lines().collect();
    let mut tables = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line == "```mermaid" {
            let end = lines[i + 1..]
                .iter()
                .position(|l| l.starts_with("```"))
                .ok_or("the mermaid block is not closed")?;
            for l in &lines[i + 1..i + 1 + end] {
                if !(l.starts_with("  ") || *l == "flowchart LR") {
                    return Err(format!("a foreign line in the mermaid block: {l:?}"));
                }
            }
            if lines[i + 1 + end] != "```" {
                return Err(format!(
                    "the mermaid block ends with {:?}",
                    lines[i + 1 + end]
                ));
            }
            i += end + 2;
            continue;
        }
        if line.starts_with('<') {
            let ours = line == "<!-- bomc-diff -->"
                || line == "</details>"
                || (line.starts_with("<details><summary>") && line.ends_with("</summary>"));
            if !ours {
                return Err(format!("HTML bomc does not write: {line:?}"));
            }
        }
        if line.starts_with("| ") && lines.get(i + 1).is_some_and(|l| l.starts_with("| --- ")) {
            let header = cells(line);
            if cells(lines[i + 1]).len() != header.len() {
                return Err(format!("the delimiter row of {line:?} has other columns"));
            }
            let mut rows = Vec::new();
            i += 2;
            while i < lines.len() && lines[i].starts_with('|') {
                let row = cells(lines[i]);
                if row.len() != header.len() {
                    return Err(format!(
                        "{} cells under a header of {}: {:?}",
                        row.len(),
                        header.len(),
                        lines[i]
                    ));
                }
                for cell in &row {
                    for piece in pieces(cell)? {
                        if let Piece::Text(t) = piece {
                            let rest = t.replace("<br>", "");
                            if rest.contains('<') {
                                return Err(format!("HTML outside code in {cell:?}"));
                            }
                        }
                    }
                }
                rows.push(row);
                i += 1;
            }
            tables.push(Table { header, rows });
            continue;
        }
        if line.starts_with('|') {
            return Err(format!("a table row without a header: {line:?}"));
        }
        i += 1;
    }
    Ok(tables)
}

/// A value as the report shows it: a JSON string, or `(N lines)`; cut.
fn shown(v: &str) -> String {
    let text = if v.contains('\n') {
        format!("({} lines)", v.lines().count())
    } else {
        Value::String(v.to_string()).to_string()
    };
    cut(&text, 100)
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

/// The "old → new" cell of the change to `setting` in the Changes table.
fn old_new_cell(tables: &[Table], setting: &str) -> Result<String, String> {
    let changes = tables
        .iter()
        .find(|t| t.header.iter().any(|h| h == "old → new") && t.header.len() == 7)
        .ok_or("no Changes table")?;
    let col = |name: &str| changes.header.iter().position(|h| h == name).unwrap_or(0);
    let row = changes
        .rows
        .iter()
        .find(|r| pieces(&r[col("setting")]) == Ok(vec![Piece::Code(setting.to_string())]))
        .ok_or_else(|| format!("no row for {setting}"))?;
    match pieces(&row[col("old → new")])?.as_slice() {
        [Piece::Code(c)] => Ok(c.clone()),
        other => Err(format!(
            "the old → new cell is not one code span: {other:?}"
        )),
    }
}

/// Two JSON strings joined by ` → `.
fn two_strings(s: &str) -> Option<(String, String)> {
    let mut stream = serde_json::Deserializer::from_str(s).into_iter::<String>();
    let old = stream.next()?.ok()?;
    let rest = s[stream.byte_offset()..].strip_prefix(" → ")?;
    let new: String = serde_json::from_str(rest).ok()?;
    Some((old, new))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_keep_the_diff_reports_whole(
        old_value in text(), new_value in text(), old_label in text(), new_label in text()
    ) {
        prop_assume!(old_value != new_value && old_label != new_label);
        let dir = temp_dir("injection-diff");
        let md = diff(&dir, (&old_value, &old_label), (&new_value, &new_label), "markdown");
        let reference = diff(&dir, ("old", "old"), ("new", "new"), "markdown");
        let got = tables(&md).map_err(|e| TestCaseError::fail(format!("{e}\n{md}")))?;
        let want = tables(&reference).expect("the reference report is whole");
        let shape = |t: &[Table]| t.iter().map(|t| (t.header.clone(), t.rows.len())).collect::<Vec<_>>();
        prop_assert_eq!(shape(&got), shape(&want), "{}", md);

        let setting_label = format!("labels[\"{LABEL}\"]");
        for (setting, old, new) in [
            ("env.VALUE", &old_value, &new_value),
            (setting_label.as_str(), &old_label, &new_label),
        ] {
            let cell = old_new_cell(&got, setting).map_err(|e| TestCaseError::fail(format!("{e}\n{md}")))?;
            let expected = cut(&format!("{} → {}", shown(old), shown(new)), 90);
            prop_assert_eq!(&cell, &expected, "{}", md);
            if !old.contains('\n') && !new.contains('\n') && expected.chars().count() < 90 {
                prop_assert_eq!(two_strings(&cell), Some((old.clone(), new.clone())));
            }
        }

        let json: Value = serde_json::from_str(&diff(
            &dir, (&old_value, &old_label), (&new_value, &new_label), "json",
        )).expect("diff --format json is JSON");
        let changes = json["environments"][0]["changes"].as_array().expect("changes");
        for (setting, old, new) in [
            ("env.VALUE", &old_value, &new_value),
            (setting_label.as_str(), &old_label, &new_label),
        ] {
            let change = changes
                .iter()
                .find(|c| c["target"] == "plan" && c["setting"] == setting)
                .expect("the change is in the JSON report");
            prop_assert_eq!(change["old"].as_str(), Some(old.as_str()));
            prop_assert_eq!(change["new"].as_str(), Some(new.as_str()));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
