//! `bomc impact`: what depends on the named nodes (or, reversed, what they need).

use super::{Format, ImpactArgs, Target, evaluate};
use crate::diag::{Diagnostic, ErrorCode, did_you_mean};
use crate::graph::{Graph, impact};
use serde::Serialize;
use std::io::Write;
use std::process::ExitCode;

#[derive(Serialize)]
struct Report<'a> {
    landscape: &'a str,
    environment: Option<&'a str>,
    changed: &'a [String],
    reverse: bool,
    impacted: &'a [crate::graph::Impacted],
}

pub fn run(args: &ImpactArgs) -> ExitCode {
    let target = Target {
        file: args.file.clone(),
        env: args.env.clone(),
        sets: args.sets.clone(),
    };
    let (mut checked, landscape) = match evaluate(&target, args.format) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let graph = Graph::build(&landscape);
    let mut starts = Vec::new();
    for name in &args.names {
        match graph.find(name) {
            Some(n) => starts.push(n),
            None => {
                let help = did_you_mean(name, graph.ids(), |all| {
                    format!(
                        "the landscape has {}",
                        crate::diag::one_of(&all[..all.len().min(12)])
                    )
                });
                checked.diagnostics.push(
                    Diagnostic::new(
                        ErrorCode::UnknownNode,
                        format!(
                            "`{name}` is not a component, image, secret or DNS name of `{}`",
                            landscape.name
                        ),
                    )
                    .help(help),
                );
            }
        }
    }
    if !checked.diagnostics.is_empty() {
        super::report(&checked, args.format);
        return ExitCode::from(1);
    }
    let impacted = impact(&graph, &starts, args.reverse);
    let mut out = std::io::stdout();
    match args.format {
        Format::Json => {
            let report = Report {
                landscape: &landscape.name,
                environment: landscape.environment.as_ref().map(|e| e.name.as_str()),
                changed: &args.names,
                reverse: args.reverse,
                impacted: &impacted,
            };
            let _ = writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
        }
        Format::Human => {
            let names = args.names.join(", ");
            let verb = if args.reverse { "needs" } else { "impacts" };
            if impacted.is_empty() {
                let _ = writeln!(out, "{names} {verb} nothing else.");
                return ExitCode::SUCCESS;
            }
            let _ = writeln!(
                out,
                "{names} {verb} {} node{}:",
                impacted.len(),
                if impacted.len() == 1 { "" } else { "s" }
            );
            let width = impacted.iter().map(|i| i.id.len()).max().unwrap_or(0);
            for i in &impacted {
                let kind = serde_json::to_value(&i.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  {:>2}  {:<width$}  {:<9}  {}",
                    i.distance,
                    i.id,
                    kind,
                    i.path.join(" → ")
                );
            }
        }
    }
    ExitCode::SUCCESS
}
