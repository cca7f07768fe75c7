//! The report for people, in a terminal: per environment, the risks first,
//! then each component with its changes (plan settings, then what each
//! target's files do), then what the whole stack shares.

use super::{
    Change, ChangeKind, ComponentChange, EnvironmentDiff, EnvironmentStatus, Layer, Report, Risk,
};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Longest value shown inline.
const MAX_VALUE: usize = 100;

/// A value as a reader sees it: strings quoted, secrets by name, long values
/// cut.
pub fn value(v: &Json) -> String {
    let text = match v {
        Json::Object(m) if m.len() == 1 && m.contains_key("secret") => {
            format!("secret({})", m["secret"])
        }
        Json::Object(m) if m.len() == 1 && m.contains_key("redacted") => {
            String::from("(a literal value, not shown)")
        }
        Json::Object(m) if m.len() == 1 && m.contains_key("compose_only") => {
            format!("{} (compose only)", value(&m["compose_only"]))
        }
        Json::String(s) if s.contains('\n') => format!("({} lines)", s.lines().count()),
        other => other.to_string(),
    };
    cut(&text, MAX_VALUE)
}

pub(super) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// `old → new`, `+ new` or `- old`; for a whole component, its image.
pub fn old_new(c: &Change) -> String {
    if c.target == Layer::Plan && c.setting.is_none() {
        let image = c
            .new
            .as_ref()
            .or(c.old.as_ref())
            .and_then(|v| v.get("image"));
        return image.map(value).unwrap_or_default();
    }
    match (&c.old, &c.new) {
        (Some(o), Some(n)) => format!("{} → {}", value(o), value(n)),
        (None, Some(n)) => format!("+ {}", value(n)),
        (Some(o), None) => format!("- {}", value(o)),
        (None, None) => String::new(),
    }
}

/// The changed lines of two multi-line strings, `-`/`+` prefixed.
pub fn text_lines(c: &Change, max: usize) -> Vec<String> {
    let (Some(Json::String(a)), Some(Json::String(b))) = (&c.old, &c.new) else {
        return Vec::new();
    };
    if !a.contains('\n') && !b.contains('\n') {
        return Vec::new();
    }
    let Some((removed, added)) = super::line_diff(a, b) else {
        return vec![String::from("(too long to compare line by line)")];
    };
    let mut out: Vec<String> = removed
        .iter()
        .map(|l| format!("- {l}"))
        .chain(added.iter().map(|l| format!("+ {l}")))
        .collect();
    if out.len() > max {
        let more = out.len() - max;
        out.truncate(max);
        out.push(format!("… {more} more lines"));
    }
    out
}

pub fn verb(c: &Change) -> &'static str {
    if let Some(r) = &c.resource {
        return match r.action {
            super::Action::Create => "create",
            super::Action::Delete => "delete",
            super::Action::Update => "update",
            super::Action::Replace => "replace",
        };
    }
    match c.change {
        ChangeKind::Added => "added",
        ChangeKind::Removed => "removed",
        ChangeKind::Changed => "changed",
    }
}

fn symbol(change: ComponentChange) -> &'static str {
    match change {
        ComponentChange::Added => "+",
        ComponentChange::Removed => "-",
        ComponentChange::Changed => "~",
        ComponentChange::Renamed => ">",
    }
}

/// `data-loss (1), cost (2)`.
pub fn risk_counts(counts: &BTreeMap<Risk, usize>) -> String {
    counts
        .iter()
        .map(|(r, n)| format!("{} ({n})", r.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The heading line of an environment.
pub fn heading(env: &EnvironmentDiff) -> String {
    let mut about = vec![env.landscape.clone(), env.lifetime.clone()];
    if !env.placeholders.is_empty() {
        about.push(format!("placeholders for {}", env.placeholders.join(", ")));
    }
    let status = match env.status {
        EnvironmentStatus::Added => String::from("new environment"),
        EnvironmentStatus::Removed => String::from("removed"),
        EnvironmentStatus::Unchanged => String::from("no changes"),
        EnvironmentStatus::Changed => format!(
            "{} change{} to {} component{}",
            env.changes.len(),
            if env.changes.len() == 1 { "" } else { "s" },
            env.components.len(),
            if env.components.len() == 1 { "" } else { "s" }
        ),
    };
    format!("{} ({}): {status}", env.environment, about.join(", "))
}

/// The one-line summary of the whole report.
pub fn summary(report: &Report) -> String {
    let s = &report.summary;
    if report.is_empty() {
        return format!(
            "no changes in {} environment{}",
            s.environments,
            if s.environments == 1 { "" } else { "s" }
        );
    }
    let mut line = format!(
        "{} change{} in {} of {} environment{}",
        s.changes,
        if s.changes == 1 { "" } else { "s" },
        s.environments_changed,
        s.environments,
        if s.environments == 1 { "" } else { "s" }
    );
    if s.risks.is_empty() {
        line.push_str("; no risks found");
    } else {
        let _ = write!(line, "; risks: {}", risk_counts(&s.risks));
    }
    line
}

/// Renders the report.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "bomc diff: {} → {}", report.old, report.new);
    for env in &report.environments {
        out.push('\n');
        let _ = writeln!(out, "{}", heading(env));
        environment(env, &mut out);
    }
    let _ = writeln!(out, "\n{}", summary(report));
    out
}

fn environment(env: &EnvironmentDiff, out: &mut String) {
    let risky: Vec<&Change> = env.changes.iter().filter(|c| !c.risks.is_empty()).collect();
    if !risky.is_empty() {
        let _ = writeln!(out, "  risks:");
        for risk in Risk::ALL {
            for c in &risky {
                for r in c.reasons.iter().filter(|r| r.risk == risk) {
                    let _ = writeln!(
                        out,
                        "    {:<10} {}: {}",
                        risk.name(),
                        c.component.as_deref().unwrap_or("(stack)"),
                        r.why
                    );
                }
            }
        }
    }
    let mut by_component: BTreeMap<Option<&str>, Vec<&Change>> = BTreeMap::new();
    for c in &env.changes {
        by_component
            .entry(c.component.as_deref())
            .or_default()
            .push(c);
    }
    if let Some(changes) = by_component.get(&None) {
        let (plan, shared): (Vec<&Change>, Vec<&Change>) =
            changes.iter().partition(|c| c.target == Layer::Plan);
        if !plan.is_empty() {
            let _ = writeln!(out, "  ~ (environment)");
            changes_of(&plan, out);
        }
        if !shared.is_empty() {
            let _ = writeln!(out, "  ~ (shared by the stack)");
            changes_of(&shared, out);
        }
    }
    for s in &env.components {
        let mut line = format!("  {} {} ({})", symbol(s.change), s.component, s.kind);
        if let Some(from) = &s.renamed_from {
            let _ = write!(line, ", renamed from {from}");
        }
        if !s.targets.is_empty() {
            let targets: Vec<&str> = s.targets.iter().map(|t| t.name()).collect();
            let _ = write!(line, " [{}]", targets.join(", "));
        }
        if !s.impact.is_empty() {
            let _ = write!(line, " → {}", impact(&s.impact, 8));
        }
        let _ = writeln!(out, "{line}");
        if let Some(changes) = by_component.get(&Some(s.component.as_str())) {
            changes_of(changes, out);
        }
    }
    for w in &env.warnings.added {
        let _ = writeln!(out, "  new warning {w}");
    }
    for w in &env.warnings.removed {
        let _ = writeln!(out, "  warning gone {w}");
    }
}

/// `auth, lb and 3 more`.
pub fn impact(names: &[String], max: usize) -> String {
    if names.len() <= max {
        return names.join(", ");
    }
    format!("{} and {} more", names[..max].join(", "), names.len() - max)
}

fn changes_of(changes: &[&Change], out: &mut String) {
    let mut resource: Option<String> = None;
    for c in changes {
        let detail = old_new(c);
        match (c.target, &c.resource) {
            (Layer::Plan, _) => match &c.setting {
                Some(what) => {
                    let _ = writeln!(out, "      {what}: {detail}");
                }
                None if !detail.is_empty() => {
                    let _ = writeln!(out, "      {}: {detail}", verb(c));
                }
                None => {}
            },
            (Layer::Cloudformation, Some(r)) => {
                let head = format!("{} {} ({})", verb(c), r.id, r.kind);
                if resource.as_ref() != Some(&head) {
                    let _ = writeln!(out, "      cloudformation: {head}");
                    resource = Some(head);
                }
                if let Some(s) = &c.setting {
                    let _ = writeln!(out, "          {s}: {detail}");
                }
            }
            (target, _) => {
                let what = c.setting.clone().or(c.file.clone()).unwrap_or_default();
                if c.change == ChangeKind::Changed && detail.is_empty() {
                    let _ = writeln!(out, "      {}: {what}", target.name());
                } else if matches!(c.change, ChangeKind::Changed) {
                    let _ = writeln!(out, "      {}: {what}: {detail}", target.name());
                } else {
                    let _ = writeln!(out, "      {}: {} {what}", target.name(), verb(c));
                }
            }
        }
        for line in text_lines(c, 12) {
            let _ = writeln!(out, "          {line}");
        }
        for n in &c.notes {
            let _ = writeln!(out, "          note: {n}");
        }
    }
}
