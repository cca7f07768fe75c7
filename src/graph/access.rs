//! Least-privilege facts: for each component, who may connect to it and on
//! which ports. A component accepts traffic only from the components that
//! reference its host or ports, depend on it or use it, and from load
//! balancers routing to it.

use super::{EdgeKind, Graph, NodeKind, PortUse};
use petgraph::Direction;
use petgraph::visit::EdgeRef;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Access {
    /// The component allowed to connect.
    pub from: String,
    pub ports: Vec<PortUse>,
}

/// Component name → who may connect, sorted by the connecting component.
pub fn access(g: &Graph) -> BTreeMap<String, Vec<Access>> {
    let mut out = BTreeMap::new();
    for n in g
        .graph
        .node_indices()
        .filter(|n| g.graph[*n].kind == NodeKind::Component)
    {
        let mut by_source: BTreeMap<String, BTreeSet<PortUse>> = BTreeMap::new();
        for e in g.graph.edges_directed(n, Direction::Incoming) {
            let source = e.source();
            let from = match (&e.weight().kind, &g.graph[source].kind) {
                (
                    EdgeKind::Reference | EdgeKind::DependsOn | EdgeKind::Uses,
                    NodeKind::Component,
                ) => g.graph[source].name.clone(),
                (EdgeKind::Route, NodeKind::Route) => {
                    match g
                        .graph
                        .neighbors_directed(source, Direction::Incoming)
                        .next()
                    {
                        Some(lb) => g.graph[lb].name.clone(),
                        None => continue,
                    }
                }
                _ => continue,
            };
            if from == g.graph[n].name || e.weight().ports.is_empty() {
                continue;
            }
            by_source
                .entry(from)
                .or_default()
                .extend(e.weight().ports.iter().cloned());
        }
        let list = by_source
            .into_iter()
            .map(|(from, ports)| Access {
                from,
                ports: ports.into_iter().collect(),
            })
            .collect();
        out.insert(g.graph[n].name.clone(), list);
    }
    out
}
