//! The landscape model: a fully evaluated, target-neutral description of one
//! landscape in one environment. It is the input of the graph and of every
//! emitter; it holds no syntax, only values and the spans they came from.

use crate::source::Span;
use serde::Serialize;
use std::collections::BTreeMap;

/// An evaluated value. References to other components stay symbolic (`Host`,
/// `Port`, `Template`) because each target realises them differently.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Value {
    String(String),
    /// A string interpolating attributes only known on a target (host names, ports).
    Template(Vec<Part>),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Milliseconds.
    Duration(u64),
    /// Bytes.
    Size(u64),
    /// The name of a secret; never its value.
    Secret(String),
    /// The host name of a component.
    Host(String),
    Port(PortRef),
    Image(String),
    Component(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    /// `null`: a map entry removed. Exists only while maps are merged during
    /// evaluation; evaluation strips it before a value reaches the model.
    Null,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PortRef {
    pub component: String,
    pub port: String,
    pub number: u16,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Part {
    Text(String),
    Host(String),
    Port(PortRef),
    /// The URL clients reach a component at (scheme, host and port differ per target).
    Url(String),
    /// The real name of a bucket on the target.
    BucketName(String),
}

impl Value {
    /// How the value is named in messages: "a string", "a secret".
    pub fn describe(&self) -> &'static str {
        match self {
            Value::String(_) | Value::Template(_) => "a string",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Bool(_) => "a boolean",
            Value::Duration(_) => "a duration",
            Value::Size(_) => "a size",
            Value::Secret(_) => "a secret",
            Value::Host(_) => "a host name",
            Value::Port(_) => "a port reference",
            Value::Image(_) => "an image",
            Value::Component(_) => "a component",
            Value::List(_) => "a list",
            Value::Map(_) => "a map",
            Value::Null => "`null`",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }
}

/// A port as written in `ports { }`: a number (TCP), or `"PORT/PROTO"` with
/// `tcp` or `udp`. Returns the number and the protocol.
pub fn port_spec(value: &Value) -> Option<(i64, &'static str)> {
    match value {
        Value::Int(n) => Some((*n, "tcp")),
        Value::String(s) => {
            let (number, protocol) = s.split_once('/')?;
            let protocol = match protocol {
                "tcp" => "tcp",
                "udp" => "udp",
                _ => return None,
            };
            if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            Some((number.parse().ok()?, protocol))
        }
        _ => None,
    }
}

/// Whether an environment lives on or expires.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifetime {
    Persistent,
    /// Time to live in milliseconds.
    Ephemeral {
        ttl_ms: u64,
    },
}

/// The environment a landscape was evaluated for.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Environment {
    pub name: String,
    pub lifetime: Lifetime,
    pub purpose: Option<String>,
    pub params: BTreeMap<String, Value>,
    /// Long-lived infrastructure to attach to: `cluster`, `listener`,
    /// `load_balancer_dns`, `load_balancer_security_group`, `listener_priority`.
    pub shared: BTreeMap<String, String>,
    /// The cloud network: `vpc` (`existing` or `create`), `cidr`, `nat_gateways`.
    pub network: BTreeMap<String, String>,
}

/// A reference from one component to another: a dependency edge, with why it exists.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reference {
    /// The component referred to.
    pub target: String,
    /// `host`, `ports.http`, `password`, or `depends_on`.
    pub attribute: String,
    /// The setting of the referring component that holds the reference.
    pub setting: String,
    #[serde(skip)]
    pub span: Span,
}

/// One component instance, with every setting evaluated (defaults filled in).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Component {
    pub name: String,
    /// The kind chain: `["mysql", "service"]`.
    pub kind: Vec<String>,
    pub docs: Vec<String>,
    /// The built-in service settings.
    pub settings: BTreeMap<String, Value>,
    /// The kind's own parameters (`database`, `routes`…).
    pub params: BTreeMap<String, Value>,
    pub references: Vec<Reference>,
    /// Settings and parameters the environment assigns itself
    /// (`db.instance_class = …`): sizing defaults never override them.
    pub set_by_environment: std::collections::BTreeSet<String>,
    /// Settings an ephemeral environment sized down on its own, with the
    /// value the landscape declares (`replicas`: 2 → 1).
    pub sized_down: BTreeMap<String, Value>,
    /// Where each setting's value is written.
    #[serde(skip)]
    pub setting_spans: BTreeMap<String, Span>,
    #[serde(skip)]
    pub span: Span,
    /// The component's name where it is declared.
    #[serde(skip)]
    pub name_span: Span,
}

impl Component {
    pub fn setting(&self, name: &str) -> Option<&Value> {
        self.settings.get(name)
    }

    /// Port name → number and transport protocol (`tcp`, `udp`).
    pub fn ports(&self) -> BTreeMap<&str, (i64, &'static str)> {
        self.settings
            .get("ports")
            .and_then(Value::as_map)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| port_spec(v).map(|p| (k.as_str(), p)))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// An image build definition.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Image {
    pub name: String,
    pub docs: Vec<String>,
    pub settings: BTreeMap<String, Value>,
    #[serde(skip)]
    pub span: Span,
    /// Where `from` names another image definition (a layer edge).
    #[serde(skip)]
    pub from_span: Option<Span>,
}

/// A landscape evaluated for one environment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Landscape {
    pub name: String,
    pub docs: Vec<String>,
    pub environment: Option<Environment>,
    pub params: BTreeMap<String, Value>,
    /// Settings written in the landscape body (`targets`).
    pub settings: BTreeMap<String, Value>,
    /// In declaration order (the landscape's, then the environment's additions).
    pub components: Vec<Component>,
    /// Images used by the components, with the images they build on.
    pub images: Vec<Image>,
}

impl Landscape {
    pub fn component(&self, name: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.name == name)
    }
}
