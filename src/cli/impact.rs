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
    impacted: Vec<Entry<'a>>,
}

#[derive(Serialize)]
struct Entry<'a> {
    id: &'a str,
    name: &'a str,
    kind: &'a crate::graph::NodeKind,
    distance: usize,
    via: &'a str,
    path: Vec<String>,
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
    let paths = crate::graph::paths(&graph, &impacted);
    let mut out = std::io::stdout();
    match args.format {
        Format::Json => {
            let report = Report {
                landscape: &landscape.name,
                environment: landscape.environment.as_ref().map(|e| e.name.as_str()),
                changed: &args.names,
                reverse: args.reverse,
                impacted: impacted
                    .iter()
                    .zip(paths)
                    .map(|(i, path)| {
                        let node = &graph.graph[i.node];
                        Entry {
                            id: &node.id,
                            name: &node.name,
                            kind: &node.kind,
                            distance: i.distance,
                            via: &graph.graph[i.via].id,
                            path,
                        }
                    })
                    .collect(),
            };
            super::print_json(&report);
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
            let width = impacted
                .iter()
                .map(|i| graph.graph[i.node].id.len())
                .max()
                .unwrap_or(0);
            for (i, path) in impacted.iter().zip(&paths) {
                let node = &graph.graph[i.node];
                let kind = serde_json::to_value(&node.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  {:>2}  {:<width$}  {:<9}  {}",
                    i.distance,
                    node.id,
                    kind,
                    path.join(" → ")
                );
            }
        }
    }
    ExitCode::SUCCESS
}
