//! Start order (dependencies first, for compose `depends_on` and CloudFormation
//! `DependsOn`) and image build order (bases first). Both are deterministic:
//! among nodes that are ready at the same time, declaration order (components)
//! or name (images) decides.

use super::{EdgeKind, Graph, NodeKind};
use petgraph::Direction;
use petgraph::graph::NodeIndex;
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

/// Kahn's algorithm over `nodes`, where `deps(n)` must come before `n`; among
/// ready nodes the lowest index (declaration order, see `Graph::build`) goes
/// first. Nodes on a cycle never become ready; they are appended in index order
/// so the result still lists every node (cycles are reported elsewhere).
fn topological(
    count: usize,
    nodes: &[NodeIndex],
    deps: impl Fn(NodeIndex) -> BTreeSet<NodeIndex>,
) -> Vec<NodeIndex> {
    let mut waiting: Vec<usize> = vec![0; count];
    let mut edges: Vec<(usize, NodeIndex)> = Vec::new();
    for &n in nodes {
        let d = deps(n);
        waiting[n.index()] = d.len();
        edges.extend(d.into_iter().map(|m| (m.index(), n)));
    }
    // Dependents of each node, stored flat (counting sort by node): one
    // allocation instead of a vector per node.
    let mut start = vec![0usize; count + 1];
    for &(m, _) in &edges {
        start[m + 1] += 1;
    }
    for i in 0..count {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut dependents = vec![NodeIndex::new(0); edges.len()];
    for &(m, n) in &edges {
        dependents[fill[m]] = n;
        fill[m] += 1;
    }
    let mut ready: BinaryHeap<Reverse<NodeIndex>> = nodes
        .iter()
        .filter(|n| waiting[n.index()] == 0)
        .map(|n| Reverse(*n))
        .collect();
    let mut placed = vec![false; count];
    let mut out = Vec::with_capacity(nodes.len());
    while let Some(Reverse(n)) = ready.pop() {
        out.push(n);
        placed[n.index()] = true;
        for m in &dependents[start[n.index()]..start[n.index() + 1]] {
            let w = &mut waiting[m.index()];
            *w = w.saturating_sub(1);
            if *w == 0 {
                ready.push(Reverse(*m));
            }
        }
    }
    if out.len() < nodes.len() {
        let mut rest: Vec<NodeIndex> = nodes
            .iter()
            .copied()
            .filter(|n| !placed[n.index()])
            .collect();
        rest.sort_unstable();
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
    topological(g.graph.node_count(), &nodes, |n| {
        g.component_dependencies(n)
            .into_iter()
            .filter(|m| *m != n)
            .collect()
    })
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
    topological(g.graph.node_count(), &nodes, deps)
        .into_iter()
        .map(|n| g.graph[n].name.clone())
        .collect()
}
