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

/// How a change reaches an impacted node: the node names from the changed
/// node to it (`["db", "auth", "/", "lb"]`), whole up to [`PATH_WHOLE`]
/// nodes; a longer one keeps its first [`PATH_HEAD`] and last [`PATH_TAIL`],
/// and counts those between.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Path {
    pub nodes: Vec<String>,
    /// How many nodes are left out after the first [`PATH_HEAD`].
    pub omitted: usize,
}

/// A path is shown whole up to this many nodes. A chain of N components
/// has impact paths of every length up to N: written whole, their names
/// were quadratic (at N = 10,000, 4.5 GB and 4 s for one query).
pub const PATH_WHOLE: usize = 8;
pub const PATH_HEAD: usize = 3;
pub const PATH_TAIL: usize = 4;

/// The path from a changed node to each impacted node, by following `via`
/// ([`Path`]): each costs at most [`PATH_WHOLE`] steps, the first nodes of a
/// long one found once per node as `impacted` (in distance order) is read.
pub fn paths(g: &Graph, impacted: &[Impacted]) -> Vec<Path> {
    let mut via: Vec<Option<NodeIndex>> = vec![None; g.graph.node_count()];
    for i in impacted {
        via[i.node.index()] = Some(i.via);
    }
    // The first nodes of each path, from the node reached through: that
    // one is nearer, so it came first (a changed node begins its own).
    let mut heads: Vec<Vec<NodeIndex>> = vec![Vec::new(); g.graph.node_count()];
    let name = |n: NodeIndex| g.graph[n].name.clone();
    impacted
        .iter()
        .map(|i| {
            let length = i.distance + 1;
            let mut head = match &heads[i.via.index()] {
                h if h.is_empty() => vec![i.via],
                h => h.clone(),
            };
            if head.len() < PATH_HEAD {
                head.push(i.node);
            }
            // The last nodes, back to the changed one at most.
            let keep = if length <= PATH_WHOLE {
                length
            } else {
                PATH_TAIL
            };
            let mut tail = vec![i.node];
            let mut cur = i.node;
            while tail.len() < keep {
                let Some(p) = via[cur.index()] else {
                    break;
                };
                tail.push(p);
                cur = p;
            }
            tail.reverse();
            let path = if length <= PATH_WHOLE {
                Path {
                    nodes: tail.into_iter().map(name).collect(),
                    omitted: 0,
                }
            } else {
                Path {
                    nodes: head.iter().chain(&tail).copied().map(name).collect(),
                    omitted: length - PATH_HEAD - PATH_TAIL,
                }
            };
            heads[i.node.index()] = head;
            path
        })
        .collect()
}
