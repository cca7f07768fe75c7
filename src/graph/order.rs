//! Start order (dependencies first, for compose `depends_on` and CloudFormation
//! `DependsOn`) and image build order (bases first). Both are deterministic:
//! among nodes that are ready at the same time, declaration order (components)
//! or name (images) decides.

use super::{EdgeKind, Graph, NodeKind};
use petgraph::Direction;
use petgraph::graph::NodeIndex;
use std::collections::{BTreeMap, BTreeSet};

/// Kahn's algorithm over `nodes`, where `deps(n)` must come before `n`.
/// Nodes on a cycle never become ready; they are appended in key order so the
/// result still lists every node (cycles are reported elsewhere).
fn topological<K: Ord + Copy>(
    nodes: &[NodeIndex],
    deps: impl Fn(NodeIndex) -> BTreeSet<NodeIndex>,
    key: impl Fn(NodeIndex) -> K,
) -> Vec<NodeIndex> {
    let mut waiting: BTreeMap<NodeIndex, usize> = BTreeMap::new();
    let mut dependents: BTreeMap<NodeIndex, Vec<NodeIndex>> = BTreeMap::new();
    for &n in nodes {
        let d = deps(n);
        waiting.insert(n, d.len());
        for m in d {
            dependents.entry(m).or_default().push(n);
        }
    }
    let mut ready: BTreeSet<(K, NodeIndex)> = waiting
        .iter()
        .filter(|(_, c)| **c == 0)
        .map(|(n, _)| (key(*n), *n))
        .collect();
    let mut out = Vec::with_capacity(nodes.len());
    while let Some(first) = ready.pop_first() {
        let n = first.1;
        out.push(n);
        for m in dependents.get(&n).map(Vec::as_slice).unwrap_or(&[]) {
            if let Some(c) = waiting.get_mut(m) {
                *c = c.saturating_sub(1);
                if *c == 0 {
                    ready.insert((key(*m), *m));
                }
            }
        }
    }
    if out.len() < nodes.len() {
        let placed: BTreeSet<NodeIndex> = out.iter().copied().collect();
        let mut rest: Vec<NodeIndex> = nodes
            .iter()
            .copied()
            .filter(|n| !placed.contains(n))
            .collect();
        rest.sort_by_key(|n| key(*n));
        out.extend(rest);
    }
    out
}

/// Components in the order they can start: everything a component needs
/// comes before it.
pub fn start_order(g: &Graph) -> Vec<String> {
    let nodes: Vec<NodeIndex> = g
        .graph
        .node_indices()
        .filter(|n| g.graph[*n].kind == NodeKind::Component)
        .collect();
    topological(
        &nodes,
        |n| {
            g.component_dependencies(n)
                .into_iter()
                .filter(|m| *m != n)
                .collect()
        },
        |n| g.graph[n].order,
    )
    .into_iter()
    .map(|n| g.graph[n].name.clone())
    .collect()
}

/// Image definitions in the order they can be built: bases first.
pub fn build_order(g: &Graph) -> Vec<String> {
    let nodes: Vec<NodeIndex> = g
        .graph
        .node_indices()
        .filter(|n| g.graph[*n].kind == NodeKind::Image)
        .collect();
    let deps = |n: NodeIndex| {
        g.graph
            .edges_directed(n, Direction::Outgoing)
            .filter(|e| e.weight().kind == EdgeKind::Layer)
            .map(|e| petgraph::visit::EdgeRef::target(&e))
            .filter(|m| *m != n)
            .collect()
    };
    // Images are numbered by name (see `Graph::build`), so order is by name.
    topological(&nodes, deps, |n| g.graph[n].order)
        .into_iter()
        .map(|n| g.graph[n].name.clone())
        .collect()
}
