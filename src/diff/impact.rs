//! Impact from the graph: for each change, the components downstream of
//! what changed (from the new graph; for what was removed, from the old one,
//! with renamed components under their new names), and the changed part of
//! the graph to draw.

use super::{Change, ComponentChange, ComponentSummary, Subgraph, SubgraphNode};
use crate::graph::{Graph, NodeKind, impact};
use std::collections::{BTreeMap, BTreeSet};

/// Most components drawn in one environment's graph.
const MAX_NODES: usize = 40;

fn node_id(component: &str) -> String {
    component.to_string()
}

/// Components downstream of `component` in `g`, nearest first.
fn downstream(g: &Graph, component: &str) -> Option<Vec<String>> {
    let start = g.node(&node_id(component))?;
    Some(
        impact(g, &[start], false)
            .into_iter()
            .filter(|i| g.graph[i.node].kind == NodeKind::Component)
            .map(|i| g.graph[i.node].name.clone())
            .collect(),
    )
}

/// Sets each change's impact.
pub(super) fn attach(
    old: Option<&Graph>,
    new: &Graph,
    renames: &BTreeMap<String, String>,
    changes: &mut [Change],
) {
    let mut cache: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in changes.iter_mut() {
        let Some(component) = &c.component else {
            continue;
        };
        if let Some(hit) = cache.get(component) {
            c.impact = hit.clone();
            continue;
        }
        let found = downstream(new, component).or_else(|| {
            old.and_then(|g| downstream(g, component)).map(|names| {
                names
                    .into_iter()
                    .map(|n| renames.get(&n).cloned().unwrap_or(n))
                    .collect()
            })
        });
        let list = found.unwrap_or_default();
        cache.insert(component.clone(), list.clone());
        c.impact = list;
    }
}

/// The changed components, what they impact (as far as the drawing holds),
/// and the dependencies among them (`from` needs `to`).
pub(super) fn subgraph(
    old: Option<&Graph>,
    new: &Graph,
    components: &[ComponentSummary],
) -> Subgraph {
    let mut nodes: Vec<SubgraphNode> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for c in components {
        if seen.insert(c.component.clone()) {
            nodes.push(SubgraphNode {
                name: c.component.clone(),
                kind: c.kind.clone(),
                state: serde_json::to_value(c.change)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
            });
        }
    }
    let mut omitted = 0;
    // In first-mention order; `listed` keeps the duplicate check off the list,
    // which grows with the landscape (a change at the root of a chain impacts
    // every component).
    let mut impacted: Vec<String> = Vec::new();
    let mut listed: BTreeSet<&str> = BTreeSet::new();
    for c in components {
        for name in &c.impact {
            if !seen.contains(name) && listed.insert(name.as_str()) {
                impacted.push(name.clone());
            }
        }
    }
    for name in impacted {
        if nodes.len() >= MAX_NODES {
            omitted += 1;
            continue;
        }
        let kind = new
            .node(&name)
            .map(|n| new.graph[n].group.clone())
            .unwrap_or_default();
        seen.insert(name.clone());
        nodes.push(SubgraphNode {
            name,
            kind,
            state: String::from("impacted"),
        });
    }
    let mut edges: BTreeSet<(String, String)> = BTreeSet::new();
    let removed: BTreeSet<&str> = components
        .iter()
        .filter(|c| c.change == ComponentChange::Removed)
        .map(|c| c.component.as_str())
        .collect();
    let mut add_edges = |g: &Graph, only_from: Option<&BTreeSet<&str>>| {
        for n in &nodes {
            if only_from.is_some_and(|set| !set.contains(n.name.as_str())) {
                continue;
            }
            let Some(i) = g.node(&node_id(&n.name)) else {
                continue;
            };
            let mut needs: Vec<String> = g
                .component_dependencies(i)
                .into_iter()
                .map(|d| g.graph[d].name.clone())
                .collect();
            // Images a component is built from, and the images they build on.
            needs.extend(
                g.graph
                    .neighbors(i)
                    .filter(|d| g.graph[*d].kind == NodeKind::Image)
                    .map(|d| g.graph[d].id.clone()),
            );
            for d in needs {
                if seen.contains(&d) {
                    edges.insert((n.name.clone(), d));
                }
            }
        }
    };
    add_edges(new, None);
    if let Some(old) = old {
        add_edges(old, Some(&removed));
        // Who needed a removed component, as the old graph says.
        for r in &removed {
            let Some(i) = old.node(r) else { continue };
            for d in old
                .graph
                .neighbors_directed(i, petgraph::Direction::Incoming)
            {
                let name = old.graph[d].name.clone();
                if seen.contains(&name) {
                    edges.insert((name, r.to_string()));
                }
            }
        }
    }
    Subgraph {
        nodes,
        edges: edges.into_iter().collect(),
        omitted,
    }
}
