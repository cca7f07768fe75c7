//! The landscape graph: components, images, load-balancer routes, DNS names
//! and secrets as nodes; references, `depends_on`, builds, image layers and
//! routes as edges, each knowing why it exists and which ports it carries.
//! From it: cycles (as diagnostics), start and build order, impact sets and
//! the least-privilege facts the emitters use.

mod access;
mod cycles;
mod impact;
mod order;
pub mod render;

pub use access::{Access, access};
pub use cycles::cycles;
pub use impact::{Impacted, PATH_HEAD, PATH_TAIL, PATH_WHOLE, Path, impact, paths};
pub use order::{build_order, start_order};

use crate::model::{Landscape, Value};
use crate::source::Span;
use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;
use std::collections::BTreeSet;

/// What a node stands for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Component,
    Image,
    Route,
    Dns,
    Secret,
}

#[derive(Clone, Debug, Serialize)]
pub struct Node {
    /// Unique: `auth`, `image:go_auth`, `route:lb:/api`, `dns:api.example.com`, `secret:messenger/db`.
    pub id: String,
    /// What people call it: `auth`, `go_auth`, `/api`, `api.example.com`.
    pub name: String,
    pub kind: NodeKind,
    /// The group it is drawn in: the component's kind, or `images`, `routes`, `dns`, `secrets`.
    pub group: String,
    /// Position in the landscape (declaration order), for stable orders.
    #[serde(skip)]
    pub order: usize,
    #[serde(skip)]
    pub span: Option<Span>,
}

/// Why an edge exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// The source reads an attribute of the target (`db.host`, `db.password`).
    Reference,
    /// An explicit `depends_on`: started first, and connected to.
    DependsOn,
    /// `uses`: connected to, without start ordering.
    Uses,
    /// A component built from an image definition.
    Build,
    /// An image built on another (`from`).
    Layer,
    /// A load balancer's route, or a route's target.
    Route,
    /// A DNS name pointing at a component.
    Dns,
    /// A component using a secret.
    Secret,
}

/// One place in the source that makes an edge.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Reason {
    /// The setting holding the reference (`env`, `routes`, `from`).
    pub setting: String,
    /// What is referenced (`host`, `ports.http`, `password`, `image`).
    pub attribute: String,
    #[serde(skip)]
    pub span: Span,
}

/// A port an edge carries traffic on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PortUse {
    pub name: String,
    pub number: u16,
    pub protocol: &'static str,
}

#[derive(Clone, Debug, Serialize)]
pub struct Edge {
    pub kind: EdgeKind,
    pub reasons: Vec<Reason>,
    pub ports: BTreeSet<PortUse>,
}

/// The graph of one evaluated landscape. Edges point from the dependent to
/// what it needs (`auth → db`).
#[derive(Debug)]
pub struct Graph {
    pub landscape: String,
    pub environment: Option<String>,
    pub graph: DiGraph<Node, Edge>,
    /// Node by id: looked up for every reference of every component.
    index: crate::IdMap<String, NodeIndex>,
    /// Edge by its ends and kind: looked up for every edge added, never
    /// walked (the graph's own lists give the order).
    edges: crate::IdMap<(NodeIndex, NodeIndex, EdgeKind), petgraph::graph::EdgeIndex>,
}

fn protocol(port: &str) -> &'static str {
    match port {
        "http" | "https" | "web" | "api" | "admin" | "metrics" | "management" => "http",
        _ => "tcp",
    }
}

impl Graph {
    /// The node with this id.
    pub fn node(&self, id: &str) -> Option<NodeIndex> {
        self.index.get(id).copied()
    }

    /// Finds a node by what a user typed: an id, or a component / image name.
    pub fn find(&self, name: &str) -> Option<NodeIndex> {
        self.node(name)
            .or_else(|| self.node(&format!("image:{name}")))
            .or_else(|| self.node(&format!("secret:{name}")))
            .or_else(|| self.node(&format!("dns:{name}")))
    }

    /// Every node id, in order, for suggestions.
    pub fn ids(&self) -> impl Iterator<Item = &str> + Clone {
        let mut ids: Vec<&str> = self.index.keys().map(String::as_str).collect();
        ids.sort_unstable();
        ids.into_iter()
    }

    fn add_node(
        &mut self,
        id: String,
        name: String,
        kind: NodeKind,
        group: String,
        span: Option<Span>,
    ) -> NodeIndex {
        // One search of the index, whether the node is new or not.
        match self.index.entry(id) {
            std::collections::hash_map::Entry::Occupied(known) => *known.get(),
            std::collections::hash_map::Entry::Vacant(new) => {
                let order = self.graph.node_count();
                let i = self.graph.add_node(Node {
                    id: new.key().clone(),
                    name,
                    kind,
                    group,
                    order,
                    span,
                });
                *new.insert(i)
            }
        }
    }

    fn add_edge(
        &mut self,
        from: NodeIndex,
        to: NodeIndex,
        kind: EdgeKind,
        reason: Option<Reason>,
        ports: impl IntoIterator<Item = PortUse>,
    ) {
        let e = match self.edges.entry((from, to, kind)) {
            std::collections::hash_map::Entry::Occupied(known) => *known.get(),
            std::collections::hash_map::Entry::Vacant(new) => {
                let e = self.graph.add_edge(
                    from,
                    to,
                    Edge {
                        kind,
                        reasons: Vec::new(),
                        ports: BTreeSet::new(),
                    },
                );
                *new.insert(e)
            }
        };
        let edge = &mut self.graph[e];
        if let Some(r) = reason
            && !edge.reasons.contains(&r)
        {
            edge.reasons.push(r);
        }
        edge.ports.extend(ports);
    }

    /// Builds the graph of `landscape`. Linear in the size of the model.
    pub fn build(landscape: &Landscape) -> Graph {
        // Room for every node and edge, reserved at once: grown by doubling,
        // the node list was copied into fresh memory a dozen times (a thirtieth
        // of `check` at N = 1,000). Components, images, routes and references
        // are counted; a DNS name and the secrets of a component are taken
        // as one node and one edge each, which further ones grow past.
        let components = landscape.components.len();
        let routes: usize = landscape
            .components
            .iter()
            .map(|c| match c.params.get("routes") {
                Some(Value::Map(routes)) => routes.len(),
                _ => 0,
            })
            .sum();
        let references: usize = landscape
            .components
            .iter()
            .map(|c| c.references.len())
            .sum();
        let nodes = 2 * components + landscape.images.len() + routes;
        let edges = references + components + landscape.images.len() + 2 * routes;
        let mut g = Graph {
            landscape: landscape.name.clone(),
            environment: landscape.environment.as_ref().map(|e| e.name.clone()),
            graph: DiGraph::with_capacity(nodes, edges),
            index: crate::IdMap::with_capacity_and_hasher(nodes, Default::default()),
            edges: crate::IdMap::with_capacity_and_hasher(edges, Default::default()),
        };
        let mut ports_of: crate::IdMap<&str, Vec<PortUse>> = crate::IdMap::default();
        for c in &landscape.components {
            let group = c
                .kind
                .first()
                .cloned()
                .unwrap_or_else(|| String::from("service"));
            g.add_node(
                c.name.clone(),
                c.name.clone(),
                NodeKind::Component,
                group,
                Some(c.span),
            );
            let ports = c
                .ports()
                .map(|(name, (number, transport))| PortUse {
                    name: name.to_string(),
                    number: u16::try_from(number).unwrap_or(0),
                    protocol: if transport == "udp" {
                        "udp"
                    } else {
                        protocol(name)
                    },
                })
                .collect();
            ports_of.insert(&c.name, ports);
        }
        let mut images: Vec<&crate::model::Image> = landscape.images.iter().collect();
        images.sort_by(|a, b| a.name.cmp(&b.name));
        // Image nodes by name: a reference to an image is looked up with no
        // id made for it.
        let mut image_nodes: crate::IdMap<&str, NodeIndex> = crate::IdMap::default();
        for image in &images {
            let node = g.add_node(
                format!("image:{}", image.name),
                image.name.clone(),
                NodeKind::Image,
                String::from("images"),
                Some(image.span),
            );
            image_nodes.insert(&image.name, node);
        }
        for image in &images {
            if let Some(Value::Image(parent)) = image.settings.get("from") {
                let from = g.index[&format!("image:{}", image.name)];
                let Some(to) = g.node(&format!("image:{parent}")) else {
                    continue;
                };
                let reason = image.from_span.map(|span| Reason {
                    setting: String::from("from"),
                    attribute: String::from("image"),
                    span,
                });
                g.add_edge(from, to, EdgeKind::Layer, reason, []);
            }
        }
        for c in &landscape.components {
            let from = g.index[&c.name];
            // A component that names the ports it uses gets only those; one that
            // reads only a host may use any port the target exposes.
            let named_ports: BTreeSet<&str> = c
                .references
                .iter()
                .filter(|r| r.attribute.starts_with("ports.") && r.setting != "routes")
                .map(|r| r.target.as_str())
                .collect();
            for r in &c.references {
                if r.setting == "routes" {
                    continue;
                }
                let reason = Reason {
                    setting: r.setting.clone(),
                    attribute: r.attribute.clone(),
                    span: r.span,
                };
                if r.attribute == "image" {
                    if let Some(&to) = image_nodes.get(r.target.as_str()) {
                        g.add_edge(from, to, EdgeKind::Build, Some(reason), []);
                    }
                    continue;
                }
                let Some(to) = g.node(&r.target) else {
                    continue;
                };
                let target_ports = ports_of
                    .get(r.target.as_str())
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                let ports: Vec<PortUse> = if let Some(port) = r.attribute.strip_prefix("ports.") {
                    target_ports
                        .iter()
                        .filter(|p| p.name == port)
                        .cloned()
                        .collect()
                } else if r.attribute == "host" && !named_ports.contains(r.target.as_str()) {
                    target_ports.to_vec()
                } else if r.attribute == "url" {
                    // A URL names the component's first port.
                    target_ports.iter().take(1).cloned().collect()
                } else if matches!(r.setting.as_str(), "depends_on" | "uses")
                    && !named_ports.contains(r.target.as_str())
                {
                    // Configured by a file (nginx.conf, database.yml): it may
                    // connect on any port the component serves.
                    target_ports.to_vec()
                } else {
                    Vec::new()
                };
                let kind = match r.setting.as_str() {
                    "depends_on" => EdgeKind::DependsOn,
                    "uses" => EdgeKind::Uses,
                    _ => EdgeKind::Reference,
                };
                g.add_edge(from, to, kind, Some(reason), ports);
            }
            if let Some(Value::Map(routes)) = c.params.get("routes") {
                // Where each route's target is named, looked up once per component.
                let mut route_spans: crate::IdMap<&str, Span> = crate::IdMap::default();
                for r in c.references.iter().filter(|r| r.setting == "routes") {
                    route_spans.entry(r.target.as_str()).or_insert(r.span);
                }
                for (path, target) in routes {
                    let Value::Port(port) = target else { continue };
                    let Some(to) = g.node(&port.component) else {
                        continue;
                    };
                    let route = g.add_node(
                        ["route:", &c.name, ":", path].concat(),
                        path.clone(),
                        NodeKind::Route,
                        String::from("routes"),
                        None,
                    );
                    let span = route_spans
                        .get(port.component.as_str())
                        .copied()
                        .unwrap_or(c.span);
                    let use_ = PortUse {
                        name: port.port.clone(),
                        number: port.number,
                        protocol: protocol(&port.port),
                    };
                    let reason = Reason {
                        setting: String::from("routes"),
                        attribute: ["ports.", &port.port].concat(),
                        span,
                    };
                    g.add_edge(from, route, EdgeKind::Route, Some(reason.clone()), []);
                    g.add_edge(route, to, EdgeKind::Route, Some(reason), [use_]);
                }
            }
            if let Some(Value::String(domain)) = c.params.get("domain") {
                let dns = g.add_node(
                    format!("dns:{domain}"),
                    domain.clone(),
                    NodeKind::Dns,
                    String::from("dns"),
                    None,
                );
                g.add_edge(dns, from, EdgeKind::Dns, None, []);
            }
            let mut secrets = BTreeSet::new();
            for v in c.settings.values().chain(c.params.values()) {
                collect_secrets(v, &mut secrets);
            }
            for s in secrets {
                let node = g.add_node(
                    format!("secret:{s}"),
                    s.clone(),
                    NodeKind::Secret,
                    String::from("secrets"),
                    None,
                );
                g.add_edge(from, node, EdgeKind::Secret, None, []);
            }
        }
        g
    }

    /// The components `c` needs to be running first: its direct component
    /// dependencies, looking through route nodes.
    pub fn component_dependencies(&self, c: NodeIndex) -> BTreeSet<NodeIndex> {
        let mut out = BTreeSet::new();
        let ordered = self
            .graph
            .edges(c)
            .filter(|e| e.weight().kind != EdgeKind::Uses)
            .map(|e| petgraph::visit::EdgeRef::target(&e));
        for n in ordered {
            match self.graph[n].kind {
                NodeKind::Component => {
                    out.insert(n);
                }
                NodeKind::Route => out.extend(
                    self.graph
                        .neighbors(n)
                        .filter(|t| self.graph[*t].kind == NodeKind::Component),
                ),
                _ => {}
            }
        }
        out
    }
}

fn collect_secrets(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Secret(s) => {
            out.insert(s.clone());
        }
        Value::List(items) => items.iter().for_each(|i| collect_secrets(i, out)),
        Value::Map(items) => items.values().for_each(|i| collect_secrets(i, out)),
        _ => {}
    }
}
