//! Impact: everything that transitively depends on some nodes (what must be
//! redeployed, retested or rebuilt when they change), or with `reverse`,
//! everything they need. Breadth-first, so each node comes with a shortest
//! path and its distance.

use super::{Graph, NodeKind};
use petgraph::Direction;
use petgraph::graph::NodeIndex;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Impacted {
    pub id: String,
    pub name: String,
    pub kind: NodeKind,
    pub distance: usize,
    /// From a changed node to this one: `["db", "auth", "route:lb:/", "lb"]` (node names).
    pub path: Vec<String>,
}

/// Nodes reached from `starts`, ordered by distance then declaration order.
pub fn impact(g: &Graph, starts: &[NodeIndex], reverse: bool) -> Vec<Impacted> {
    let direction = if reverse {
        Direction::Outgoing
    } else {
        Direction::Incoming
    };
    let mut parent: BTreeMap<NodeIndex, Option<NodeIndex>> = BTreeMap::new();
    let mut distance: BTreeMap<NodeIndex, usize> = BTreeMap::new();
    let mut queue = VecDeque::new();
    let mut sorted_starts = starts.to_vec();
    sorted_starts.sort_by_key(|n| g.graph[*n].order);
    for &s in &sorted_starts {
        if parent.insert(s, None).is_none() {
            distance.insert(s, 0);
            queue.push_back(s);
        }
    }
    while let Some(n) = queue.pop_front() {
        let mut next: Vec<NodeIndex> = g.graph.neighbors_directed(n, direction).collect();
        next.sort_by_key(|m| g.graph[*m].order);
        next.dedup();
        for m in next {
            if let std::collections::btree_map::Entry::Vacant(e) = parent.entry(m) {
                e.insert(Some(n));
                distance.insert(m, distance[&n] + 1);
                queue.push_back(m);
            }
        }
    }
    let mut out: Vec<(usize, usize, NodeIndex)> = distance
        .iter()
        .filter(|(_, d)| **d > 0)
        .map(|(n, d)| (*d, g.graph[*n].order, *n))
        .collect();
    out.sort();
    out.into_iter()
        .map(|(d, _, n)| {
            let mut path = vec![g.graph[n].name.clone()];
            let mut cur = n;
            while let Some(Some(p)) = parent.get(&cur) {
                path.push(g.graph[*p].name.clone());
                cur = *p;
            }
            path.reverse();
            Impacted {
                id: g.graph[n].id.clone(),
                name: g.graph[n].name.clone(),
                kind: g.graph[n].kind.clone(),
                distance: d,
                path,
            }
        })
        .collect()
}
