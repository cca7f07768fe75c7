//! The report as a pull-request comment (GitHub-flavoured Markdown): a
//! summary line, the risks, a table of the plan's changes with their impact,
//! the changed part of the graph as a Mermaid flowchart, and what the
//! targets' files do, folded away. A change seen the same way in several
//! environments is one row naming them; long tables are cut to keep the
//! comment within GitHub's size (the JSON report has everything).

use super::human::{self, cut, impact, old_new, verb};
use super::{Change, EnvironmentDiff, EnvironmentStatus, Layer, Report, Risk, Subgraph};
use std::fmt::Write as _;

/// The first line: lets a CI job find and update its previous comment.
pub const MARKER: &str = "<!-- bomc-diff -->";

/// Rows per table before the rest is only counted.
const MAX_ROWS: usize = 80;

/// Text in a table cell, as code: `|` escaped, one line, cut. The fence is
/// one backtick longer than the longest run of backticks in the text, so no
/// run inside closes it; a space pads text that starts or ends with a
/// backtick or a space, and Markdown strips exactly that padding.
fn code(text: &str) -> String {
    let one_line = cut(&text.replace(['\n', '\r'], " "), 90).replace('|', "\\|");
    if one_line.is_empty() {
        return String::new();
    }
    let longest = one_line
        .split(|c| c != '`')
        .map(str::len)
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let edge = |c: Option<char>| matches!(c, Some('`' | ' '));
    let pad = !one_line.chars().all(|c| c == ' ')
        && (edge(one_line.chars().next()) || edge(one_line.chars().last()));
    let pad = if pad { " " } else { "" };
    format!("{fence}{pad}{one_line}{pad}{fence}")
}

/// Plain text in a cell: Markdown and HTML specials escaped.
fn plain(text: &str) -> String {
    let mut out = String::new();
    for c in text.replace(['\n', '\r'], " ").chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '*' | '_' | '`' | '[' | ']' | '\\' | '#' | '@' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A sentence of bomc's whose `names` become code spans.
fn sentence(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(i, part)| if i % 2 == 1 { code(part) } else { plain(part) })
        .collect()
}

fn risks(c: &Change) -> String {
    c.risks
        .iter()
        .map(|r| format!("**{}**", r.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn component(c: &Change) -> String {
    c.component
        .as_deref()
        .map(code)
        .unwrap_or_else(|| String::from("*(environment)*"))
}

/// Rows (without their first, environments, column) with the environments
/// they occur in, in first-seen order.
#[derive(Default)]
struct Rows(Vec<(String, Vec<String>)>);

impl Rows {
    fn add(&mut self, env: &str, row: String) {
        match self.0.iter_mut().find(|(r, _)| *r == row) {
            Some((_, envs)) => {
                if !envs.iter().any(|e| e == env) {
                    envs.push(env.to_string());
                }
            }
            None => self.0.push((row, vec![env.to_string()])),
        }
    }

    fn write(&self, header: &str, all: &[String], out: &mut String) {
        if self.0.is_empty() {
            return;
        }
        let columns = header.matches('|').count() - 1;
        let _ = writeln!(out, "{header}");
        let _ = writeln!(out, "{}|", "| --- ".repeat(columns));
        for (row, envs) in self.0.iter().take(MAX_ROWS) {
            let _ = writeln!(out, "| {} {row}", environments(envs, all));
        }
        if self.0.len() > MAX_ROWS {
            let _ = writeln!(
                out,
                "| … | {} more rows: see `bomc diff --format json` |{}",
                self.0.len() - MAX_ROWS,
                " |".repeat(columns.saturating_sub(2))
            );
        }
        out.push('\n');
    }
}

/// The environments column: `all`, or their names.
fn environments(envs: &[String], all: &[String]) -> String {
    if all.len() > 1 && envs.len() == all.len() {
        String::from("all |")
    } else {
        format!("{} |", plain(&envs.join(", ")))
    }
}

/// Renders the report.
pub fn render(report: &Report, title: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{MARKER}");
    let _ = writeln!(out, "### bomc diff: {}\n", code(title));
    let _ = writeln!(
        out,
        "{} → {} · {}\n",
        code(&report.old),
        code(&report.new),
        plain(&human::summary(report))
    );
    let changed: Vec<&EnvironmentDiff> = report
        .environments
        .iter()
        .filter(|e| e.status != EnvironmentStatus::Unchanged)
        .collect();
    let all: Vec<String> = changed.iter().map(|e| e.environment.clone()).collect();
    for env in &report.environments {
        let _ = writeln!(out, "- {}", plain(&human::heading(env)));
    }
    out.push('\n');
    if changed.is_empty() {
        return out;
    }

    let mut risk_rows = Rows::default();
    for risk in Risk::ALL {
        for env in &changed {
            for c in &env.changes {
                for r in c.reasons.iter().filter(|r| r.risk == risk) {
                    let row = format!(
                        "**{}** | {} | {} |",
                        risk.name(),
                        component(c),
                        sentence(&r.why)
                    );
                    risk_rows.add(&env.environment, row);
                }
            }
        }
    }
    if !risk_rows.0.is_empty() {
        let _ = writeln!(out, "#### Risks\n");
        risk_rows.write("| environments | risk | component | why |", &all, &mut out);
    }

    let mut plan_rows = Rows::default();
    let mut warning_rows = Rows::default();
    for env in &changed {
        for c in env.changes.iter().filter(|c| c.target == Layer::Plan) {
            let row = format!(
                "{} | {} | {} | {} | {} | {} |",
                component(c),
                verb(c),
                c.setting.as_deref().map(code).unwrap_or_default(),
                code(&old_new(c)),
                risks(c),
                plain(&impact(&c.impact, 6))
            );
            plan_rows.add(&env.environment, row);
        }
        for (what, list) in [
            ("new", &env.warnings.added),
            ("gone", &env.warnings.removed),
        ] {
            for w in list {
                warning_rows.add(&env.environment, format!("{what} | {} |", sentence(w)));
            }
        }
    }
    let _ = writeln!(out, "#### Changes\n");
    plan_rows.write(
        "| environments | component | change | setting | old → new | risks | impact |",
        &all,
        &mut out,
    );
    let mut only = Rows::default();
    for env in &changed {
        for s in env.components.iter().filter(|s| s.targets.len() == 1) {
            let target = s.targets.first().map(|t| t.name()).unwrap_or("");
            only.add(
                &env.environment,
                format!("{} | {target} |", code(&s.component)),
            );
        }
    }
    if !only.0.is_empty() {
        let _ = writeln!(out, "Components whose change reaches one target only:\n");
        only.write("| environments | component | target |", &all, &mut out);
    }
    if !warning_rows.0.is_empty() {
        let _ = writeln!(out, "Warnings (what bomc changes or ignores on its own):\n");
        warning_rows.write("| environments | warning | |", &all, &mut out);
    }

    let mut graphs: Vec<(String, Vec<String>)> = Vec::new();
    for env in &changed {
        if env.graph.nodes.is_empty() {
            continue;
        }
        let m = mermaid(&env.graph);
        match graphs.iter_mut().find(|(g, _)| *g == m) {
            Some((_, envs)) => envs.push(env.environment.clone()),
            None => graphs.push((m, vec![env.environment.clone()])),
        }
    }
    for (graph, envs) in &graphs {
        let names = environments(envs, &all);
        let _ = writeln!(
            out,
            "#### The changed part of the graph ({})\n\n```mermaid\n{graph}```\n",
            names.trim_end_matches(" |")
        );
    }

    artifacts(&changed, &all, &mut out);
    out
}

fn artifacts(changed: &[&EnvironmentDiff], all: &[String], out: &mut String) {
    let mut rows = Rows::default();
    let mut files: Vec<&str> = Vec::new();
    let mut count = 0;
    for env in changed {
        for c in env.changes.iter().filter(|c| c.target != Layer::Plan) {
            count += 1;
            if let Some(f) = c.file.as_deref()
                && !files.contains(&f)
            {
                files.push(f);
            }
            let mut detail = code(&old_new(c));
            let lines = human::text_lines(c, 6);
            if !lines.is_empty() {
                detail = lines
                    .iter()
                    .map(|l| code(l))
                    .collect::<Vec<_>>()
                    .join("<br>");
            }
            for n in &c.notes {
                let _ = write!(detail, "<br>{}", sentence(n));
            }
            let what = match &c.resource {
                Some(r) => format!("{} ({})", r.id, r.kind),
                None => c.file.clone().unwrap_or_default(),
            };
            let row = format!(
                "{} | {} | {} | {} | {} | {} | {} |",
                c.target.name(),
                component(c),
                verb(c),
                code(&what),
                c.setting.as_deref().map(code).unwrap_or_default(),
                detail,
                risks(c)
            );
            rows.add(&env.environment, row);
        }
    }
    if rows.0.is_empty() {
        return;
    }
    files.sort_unstable();
    let shown = files.iter().take(6).copied().collect::<Vec<_>>().join(", ");
    let more = if files.len() > 6 {
        format!(" and {} more", files.len() - 6)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "<details><summary>What the targets' files do: {count} change{} in {}{more}</summary>\n",
        if count == 1 { "" } else { "s" },
        plain(&shown)
    );
    rows.write(
        "| environments | target | component | action | resource or file | setting | old → new | risks |",
        all,
        out,
    );
    let _ = writeln!(out, "</details>");
}

/// A Mermaid string: quotes and `#` as entities, one line.
fn mermaid_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The changed part of the graph: changed components coloured by what
/// happened to them, impacted ones grey; arrows from a component to what it
/// needs.
pub fn mermaid(g: &Subgraph) -> String {
    let mut out = String::from("flowchart LR\n");
    let index = |name: &str| g.nodes.iter().position(|n| n.name == name);
    for (i, n) in g.nodes.iter().enumerate() {
        let label = if n.state == "impacted" {
            format!("{} ({})", n.name, n.kind)
        } else {
            format!("{} ({}): {}", n.name, n.kind, n.state)
        };
        let _ = writeln!(out, "  n{i}[{}]", mermaid_str(&label));
    }
    for (from, to) in &g.edges {
        if let (Some(a), Some(b)) = (index(from), index(to)) {
            let _ = writeln!(out, "  n{a} --> n{b}");
        }
    }
    if g.omitted > 0 {
        let _ = writeln!(
            out,
            "  more[{}]",
            mermaid_str(&format!("… {} more impacted components", g.omitted))
        );
    }
    for (state, style) in [
        ("added", "fill:#d4f8d4,stroke:#1a7f37"),
        ("removed", "fill:#ffd7d5,stroke:#cf222e"),
        ("changed", "fill:#fff1c2,stroke:#9a6700"),
        ("renamed", "fill:#ddf4ff,stroke:#0969da"),
        ("impacted", "fill:#f6f8fa,stroke:#8c959f"),
    ] {
        let members: Vec<String> = g
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.state == state)
            .map(|(i, _)| format!("n{i}"))
            .collect();
        if !members.is_empty() {
            let _ = writeln!(out, "  classDef {state} {style}");
            let _ = writeln!(out, "  class {} {state}", members.join(","));
        }
    }
    out
}
