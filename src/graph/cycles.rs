//! Dependency cycles, reported as diagnostics with the cycle drawn in order
//! and a label on each reference that closes it.

use super::{Graph, NodeKind};
use crate::diag::{Diagnostic, ErrorCode};
use petgraph::graph::NodeIndex;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// One diagnostic per cycle (per strongly connected component, drawn through
/// its first node in declaration order, along a shortest way back).
pub fn cycles(g: &Graph) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    // `uses` orders nothing: two components may use each other.
    let ordering = petgraph::visit::EdgeFiltered::from_fn(&g.graph, |e| {
        e.weight().kind != super::EdgeKind::Uses
    });
    let mut sccs = petgraph::algo::tarjan_scc(&ordering);
    for scc in &mut sccs {
        scc.sort_by_key(|n| g.graph[*n].order);
    }
    sccs.sort_by_key(|scc| scc.first().map(|n| g.graph[*n].order));
    for scc in sccs {
        let Some(&start) = scc.first() else { continue };
        let self_loop = g
            .graph
            .edges_connecting(start, start)
            .any(|e| e.weight().kind != super::EdgeKind::Uses);
        if scc.len() < 2 && !self_loop {
            continue;
        }
        let members: BTreeSet<NodeIndex> = scc.iter().copied().collect();
        let path = if self_loop {
            vec![start, start]
        } else {
            shortest_cycle(g, start, &members)
        };
        out.push(diagnostic(g, &path));
    }
    out
}

/// The shortest path `start → … → start` inside one strongly connected component.
fn shortest_cycle(g: &Graph, start: NodeIndex, members: &BTreeSet<NodeIndex>) -> Vec<NodeIndex> {
    let mut parent: BTreeMap<NodeIndex, NodeIndex> = BTreeMap::new();
    let mut queue = VecDeque::new();
    let succ = |n: NodeIndex| {
        let mut next: Vec<NodeIndex> = g
            .graph
            .edges(n)
            .filter(|e| e.weight().kind != super::EdgeKind::Uses)
            .map(|e| petgraph::visit::EdgeRef::target(&e))
            .filter(|m| members.contains(m))
            .collect();
        next.sort_by_key(|m| g.graph[*m].order);
        next.dedup();
        next
    };
    for n in succ(start) {
        if n == start {
            return vec![start, start];
        }
        if parent.insert(n, start).is_none() {
            queue.push_back(n);
        }
    }
    while let Some(n) = queue.pop_front() {
        for m in succ(n) {
            if m == start {
                let mut path = vec![start, n];
                let mut cur = n;
                while let Some(&p) = parent.get(&cur) {
                    if p == start {
                        break;
                    }
                    path.push(p);
                    cur = p;
                }
                path[1..].reverse();
                path.push(start);
                return path;
            }
            if let std::collections::btree_map::Entry::Vacant(e) = parent.entry(m) {
                e.insert(n);
                queue.push_back(m);
            }
        }
    }
    vec![start, start]
}

fn diagnostic(g: &Graph, path: &[NodeIndex]) -> Diagnostic {
    let names: Vec<&str> = path.iter().map(|n| g.graph[*n].name.as_str()).collect();
    let through_images = path.iter().any(|n| g.graph[*n].kind == NodeKind::Image);
    let what = if through_images {
        "image layer cycle"
    } else {
        "dependency cycle"
    };
    let mut diag = Diagnostic::new(
        ErrorCode::DependencyCycle,
        format!("{what}: {}", names.join(" → ")),
    );
    for pair in path.windows(2) {
        let (from, to) = (pair[0], pair[1]);
        let reasons = g
            .graph
            .edges_connecting(from, to)
            .flat_map(|e| e.weight().reasons.iter());
        if let Some(reason) = reasons.min_by_key(|r| r.span) {
            let label = if reason.setting == "from" {
                format!(
                    "`{}` is built on `{}`",
                    g.graph[from].name, g.graph[to].name
                )
            } else if reason.attribute == "component" || reason.setting == "depends_on" {
                format!("`{}` depends on `{}`", g.graph[from].name, g.graph[to].name)
            } else {
                format!(
                    "`{}` uses `{}.{}`",
                    g.graph[from].name, g.graph[to].name, reason.attribute
                )
            };
            diag = diag.label(reason.span, label);
        }
    }
    let help = if path.len() == 2 {
        format!(
            "`{}` refers to itself; a component reaches itself without a reference (use `localhost`), so remove it",
            names[0]
        )
    } else if through_images {
        String::from(
            "an image cannot be built on itself; make one of them start `from` a pinned base image",
        )
    } else {
        String::from(
            "components must start in some order; remove one of these references, or pass the value as a parameter instead",
        )
    };
    diag.help(help)
}
