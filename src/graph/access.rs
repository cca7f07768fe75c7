//! Least-privilege facts: for each component, who may connect to it and on
//! which ports. A component accepts traffic only from the components that
//! reference its host or ports, depend on it or use it, and from load
//! balancers routing to it.

use super::{EdgeKind, Graph, NodeKind, PortUse};
use petgraph::Direction;
use petgraph::visit::EdgeRef;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Access {
    /// The component allowed to connect.
    pub from: String,
    pub ports: Vec<PortUse>,
}

/// Component name → who may connect, sorted by the connecting component.
/// Names and ports are read from the graph and copied once, into the
/// result: a component that every other one reaches (a shared service)
/// has as many sources as the landscape has components.
pub fn access(g: &Graph) -> BTreeMap<String, Vec<Access>> {
    let mut out = BTreeMap::new();
    for n in g
        .graph
        .node_indices()
        .filter(|n| g.graph[*n].kind == NodeKind::Component)
    {
        let name = g.graph[n].name.as_str();
        let mut by_source: BTreeMap<&str, Vec<&PortUse>> = BTreeMap::new();
        for e in g.graph.edges_directed(n, Direction::Incoming) {
            let source = e.source();
            let from = match (&e.weight().kind, &g.graph[source].kind) {
                (
                    EdgeKind::Reference | EdgeKind::DependsOn | EdgeKind::Uses,
                    NodeKind::Component,
                ) => g.graph[source].name.as_str(),
                (EdgeKind::Route, NodeKind::Route) => {
                    match g
                        .graph
                        .neighbors_directed(source, Direction::Incoming)
                        .next()
                    {
                        Some(lb) => g.graph[lb].name.as_str(),
                        None => continue,
                    }
                }
                _ => continue,
            };
            if from == name || e.weight().ports.is_empty() {
                continue;
            }
            by_source
                .entry(from)
                .or_default()
                .extend(e.weight().ports.iter());
        }
        let list = by_source
            .into_iter()
            .map(|(from, mut ports)| {
                // In order, each once, as a set of them holds them.
                ports.sort();
                ports.dedup();
                Access {
                    from: from.to_string(),
                    ports: ports.into_iter().cloned().collect(),
                }
            })
            .collect();
        out.insert(name.to_string(), list);
    }
    out
}
