//! Impact: everything that transitively depends on some nodes (what must be
//! redeployed, retested or rebuilt when they change), or with `reverse`,
//! everything they need. Breadth-first, so each node comes with its distance
//! and the node it was reached through.

use super::Graph;
use petgraph::Direction;
use petgraph::graph::NodeIndex;
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Impacted {
    pub node: NodeIndex,
    pub distance: usize,
    /// The node this one was reached through: a changed node or another
    /// impacted one. [`paths`] follows these back.
    pub via: NodeIndex,
}

/// Nodes reached from `starts`, ordered by distance then declaration order.
/// Linear in the size of the graph.
pub fn impact(g: &Graph, starts: &[NodeIndex], reverse: bool) -> Vec<Impacted> {
    let direction = if reverse {
        Direction::Outgoing
    } else {
        Direction::Incoming
    };
    // Indexed by node: (distance, reached through). Node indices follow
    // declaration order (see `Graph::build`), so they order ties.
    let mut seen: Vec<Option<(usize, NodeIndex)>> = vec![None; g.graph.node_count()];
    let mut queue = VecDeque::new();
    let mut sorted_starts = starts.to_vec();
    sorted_starts.sort_unstable();
    for &s in &sorted_starts {
        if seen[s.index()].is_none() {
            seen[s.index()] = Some((0, s));
            queue.push_back(s);
        }
    }
    let mut out = Vec::new();
    let mut next = Vec::new();
    while let Some(n) = queue.pop_front() {
        let d = seen[n.index()].map_or(0, |(d, _)| d) + 1;
        next.clear();
        next.extend(g.graph.neighbors_directed(n, direction));
        next.sort_unstable();
        for &m in &next {
            if seen[m.index()].is_none() {
                seen[m.index()] = Some((d, n));
                queue.push_back(m);
                out.push(Impacted {
                    node: m,
                    distance: d,
                    via: n,
                });
            }
        }
    }
    // Breadth-first already yields nondecreasing distances; order ties by declaration.
    out.sort_by_key(|i| (i.distance, i.node));
    out
}

/// The path from a changed node to each impacted node, by following `via`:
/// `["db", "auth", "/", "lb"]` (node names). Costs the total length of the
/// paths, so it is for rendering, not for queries.
pub fn paths(g: &Graph, impacted: &[Impacted]) -> Vec<Vec<String>> {
    let mut via: Vec<Option<NodeIndex>> = vec![None; g.graph.node_count()];
    for i in impacted {
        via[i.node.index()] = Some(i.via);
    }
    impacted
        .iter()
        .map(|i| {
            let mut path = vec![g.graph[i.node].name.clone()];
            let mut cur = i.node;
            while let Some(p) = via[cur.index()] {
                path.push(g.graph[p].name.clone());
                if via[p.index()].is_none() {
                    break;
                }
                cur = p;
            }
            path.reverse();
            path
        })
        .collect()
}
