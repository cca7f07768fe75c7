//! `bomc impact`: what depends on the named nodes (or, reversed, what they need).

use super::{Format, ImpactArgs, Target};
use crate::diag::{Diagnostic, ErrorCode, did_you_mean};
use crate::graph::{Graph, Impacted, PATH_HEAD, Path, impact};
use serde::Serialize;
use std::io::Write;
use std::process::ExitCode;

#[derive(Serialize)]
struct Report<'a> {
    landscape: &'a str,
    /// The one environment evaluated, if one; several are in `environments`.
    environment: Option<&'a str>,
    /// Without `--env`, the environments whose graphs were read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    environments: Vec<&'a str>,
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
    /// The path from a changed node, whole up to 8 nodes; a longer one's
    /// first 3 and last 4 (`via` leads back through those left out).
    path: Vec<String>,
    /// How many nodes of the path are left out after its first 3.
    #[serde(skip_serializing_if = "is_zero")]
    path_omitted: usize,
    /// The environments it is impacted in, when not all of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    environments: Option<Vec<&'a str>>,
}

/// A node impacted in one or more environments: where it is nearest (the
/// first such environment), and every environment it is impacted in.
struct Found<'a> {
    graph: &'a Graph,
    impacted: Impacted,
    path: Path,
    environments: Vec<&'a str>,
}

pub fn run(args: &ImpactArgs) -> ExitCode {
    let target = Target {
        file: args.file.clone(),
        env: args.env.clone(),
        sets: args.sets.clone(),
    };
    // The environment asked for; else every one `bomc build` builds, for a
    // change touches whatever any of them runs, and a component may exist
    // in one only (the bare landscape, never built, only when none is
    // declared).
    let (mut checked, graphs) = crate::evaluate_environments(&args.file, &target.options());
    if !checked.diagnostics.is_empty() {
        super::report(&checked, args.format);
        return ExitCode::from(1);
    }
    let Some(landscape) = checked.landscapes.first() else {
        return ExitCode::from(1);
    };
    let environments: Vec<&str> = checked
        .landscapes
        .iter()
        .filter_map(|l| l.environment.as_ref().map(|e| e.name.as_str()))
        .collect();
    let mut unknown = Vec::new();
    // A name unknown to the environment asked for may be another's: read
    // them all, on this path only.
    let mut others: Option<(crate::Checked, Vec<Graph>)> = None;
    for name in &args.names {
        if graphs.iter().all(|g| g.find(name).is_none()) {
            let mut ids: Vec<&str> = graphs.iter().flat_map(|g| g.ids()).collect();
            ids.sort();
            ids.dedup();
            let mut help = did_you_mean(name, ids, |all| {
                format!(
                    "the landscape has {}",
                    crate::diag::one_of(&all[..all.len().min(12)])
                )
            });
            if args.env.is_some() {
                let (all, all_graphs) = others.get_or_insert_with(|| {
                    let every = crate::eval::Options {
                        environment: None,
                        ..target.options()
                    };
                    crate::evaluate_environments(&args.file, &every)
                });
                let holding: Vec<&str> = all
                    .landscapes
                    .iter()
                    .zip(all_graphs.iter())
                    .filter(|(_, g)| g.find(name).is_some())
                    .filter_map(|(l, _)| l.environment.as_ref().map(|e| e.name.as_str()))
                    .collect();
                if !holding.is_empty() {
                    help = format!(
                        "`{name}` is in the environment {}: ask with `--env` set to it, or without `--env` for every environment",
                        crate::diag::one_of(&holding)
                    );
                }
            }
            unknown.push(
                Diagnostic::new(
                    ErrorCode::UnknownNode,
                    match &args.env {
                        Some(env) => format!(
                            "`{name}` is not a component, image, secret or DNS name of `{}` in the environment `{env}`",
                            landscape.name
                        ),
                        None => format!(
                            "`{name}` is not a component, image, secret or DNS name of `{}`",
                            landscape.name
                        ),
                    },
                )
                .help(help),
            );
        }
    }
    if !unknown.is_empty() {
        checked.diagnostics = unknown;
        super::report(&checked, args.format);
        return ExitCode::from(1);
    }
    let mut found: Vec<Found> = Vec::new();
    let mut at: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (graph, landscape) in graphs.iter().zip(&checked.landscapes) {
        let environment = landscape.environment.as_ref().map(|e| e.name.as_str());
        let starts: Vec<_> = args.names.iter().filter_map(|n| graph.find(n)).collect();
        let impacted = impact(graph, &starts, args.reverse);
        let paths = crate::graph::paths(graph, &impacted);
        for (i, path) in impacted.into_iter().zip(paths) {
            let id = graph.graph[i.node].id.as_str();
            match at.get(id) {
                Some(&f) => {
                    let earlier = &mut found[f];
                    earlier.environments.extend(environment);
                    if i.distance < earlier.impacted.distance {
                        (earlier.graph, earlier.impacted, earlier.path) = (graph, i, path);
                    }
                }
                None => {
                    at.insert(id, found.len());
                    found.push(Found {
                        graph,
                        impacted: i,
                        path,
                        environments: environment.into_iter().collect(),
                    });
                }
            }
        }
    }
    // Nearest first; then as the first environment found them.
    found.sort_by_key(|f| f.impacted.distance);
    let partly = |f: &Found| f.environments.len() < environments.len();
    let mut out = std::io::stdout();
    match args.format {
        Format::Json => {
            let report = Report {
                landscape: &landscape.name,
                environment: match environments.as_slice() {
                    [one] => Some(one),
                    _ => None,
                },
                environments: if args.env.is_none() && environments.len() > 1 {
                    environments.clone()
                } else {
                    Vec::new()
                },
                changed: &args.names,
                reverse: args.reverse,
                impacted: found
                    .iter()
                    .map(|f| {
                        let node = &f.graph.graph[f.impacted.node];
                        Entry {
                            id: &node.id,
                            name: &node.name,
                            kind: &node.kind,
                            distance: f.impacted.distance,
                            via: &f.graph.graph[f.impacted.via].id,
                            path: f.path.nodes.clone(),
                            path_omitted: f.path.omitted,
                            environments: partly(f).then(|| f.environments.clone()),
                        }
                    })
                    .collect(),
            };
            super::print_json(&report);
        }
        Format::Human => {
            let names = args.names.join(", ");
            let verb = if args.reverse { "needs" } else { "impacts" };
            let across = if args.env.is_none() && environments.len() > 1 {
                format!(" in environments {}", environments.join(", "))
            } else {
                String::new()
            };
            if found.is_empty() {
                let _ = writeln!(out, "{names} {verb} nothing else{across}.");
                return ExitCode::SUCCESS;
            }
            let _ = writeln!(
                out,
                "{names} {verb} {} node{}{across}:",
                found.len(),
                if found.len() == 1 { "" } else { "s" }
            );
            let width = found
                .iter()
                .map(|f| f.graph.graph[f.impacted.node].id.len())
                .max()
                .unwrap_or(0);
            for f in &found {
                let (i, path) = (&f.impacted, &f.path);
                let node = &f.graph.graph[i.node];
                let kind = serde_json::to_value(&node.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default();
                let only = if partly(f) {
                    format!("  (only in {})", f.environments.join(", "))
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "  {:>2}  {:<width$}  {:<9}  {}{only}",
                    i.distance,
                    node.id,
                    kind,
                    shown(path)
                );
            }
        }
    }
    ExitCode::SUCCESS
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A path as a line shows it: `db → auth → / → lb`, a long one with the
/// nodes left out counted (`a → b → c → … 12 more … → w → x → y → z`).
fn shown(path: &Path) -> String {
    if path.omitted == 0 {
        return path.nodes.join(" → ");
    }
    let (head, tail) = path.nodes.split_at(PATH_HEAD.min(path.nodes.len()));
    format!(
        "{} → … {} more … → {}",
        head.join(" → "),
        path.omitted,
        tail.join(" → ")
    )
}
