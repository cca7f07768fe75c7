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
    /// Boxed: the other values are a word or three, and every map entry,
    /// list item and setting state is as large as the largest.
    Port(Box<PortRef>),
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
    /// Boxed, as in [`Value`].
    Port(Box<PortRef>),
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
    pub settings: Settings,
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
    pub setting_spans: SettingSpans,
    #[serde(skip)]
    pub span: Span,
    /// The component's name where it is declared.
    #[serde(skip)]
    pub name_span: Span,
}

/// A component's built-in settings by name, in name order: a dozen or so,
/// each looked up by lowering many times. In one list read in order, most
/// names are passed over on their length alone; a tree allocated for every
/// component cost 250 instructions a look-up, walked node by node, and
/// twice as much to fill (5 % of `check`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settings(Vec<(String, Value)>);

impl Settings {
    pub fn get(&self, name: &str) -> Option<&Value> {
        by_name(&self.0, name)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The settings in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.0.iter().map(|(_, v)| v)
    }
}

/// Sorted once all are in; of a name given twice, the later value wins, as
/// in a map.
impl FromIterator<(String, Value)> for Settings {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(entries: I) -> Self {
        let mut entries: Vec<(String, Value)> = entries.into_iter().collect();
        sort_keeping_last(&mut entries, |a, b| a.0.cmp(&b.0));
        Settings(entries)
    }
}

/// The value of `name` in a short list of named values, read in order (see
/// [`same_name`]).
pub fn by_name<'a, K: AsRef<str>, V>(entries: &'a [(K, V)], name: &str) -> Option<&'a V> {
    entries
        .iter()
        .find(|(k, _)| same_name(k.as_ref(), name))
        .map(|(_, v)| v)
}

/// Sorts `entries` by their names, which `order` compares, keeping of a
/// name given twice the later one (in its first one's place), as a map's
/// insertions would. Lists built in name order are only looked at.
fn sort_keeping_last<T>(entries: &mut Vec<T>, order: impl Fn(&T, &T) -> std::cmp::Ordering) {
    if entries.is_sorted_by(|a, b| order(a, b).is_lt()) {
        return;
    }
    // Stable: equal names stay in the order given.
    entries.sort_by(&order);
    entries.dedup_by(|later, kept| {
        let same = order(later, kept).is_eq();
        if same {
            std::mem::swap(later, kept);
        }
        same
    });
}

/// As a map, name by name, in name order.
impl Serialize for Settings {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

/// Where each setting of a component is written, and each entry of a map
/// written as a block (`mounts.key`). Every component has one, with a dozen
/// names or more: the names share one text, found by binary search, rather
/// than a string and a tree node each (a tenth of evaluation's allocations).
#[derive(Clone, Debug, Default)]
pub struct SettingSpans {
    names: String,
    /// Each name's bytes in `names`, and its span; sorted by name.
    entries: Vec<(u32, u32, Span)>,
}

impl SettingSpans {
    pub fn with_capacity(entries: usize) -> Self {
        SettingSpans {
            names: String::with_capacity(entries * 16),
            entries: Vec::with_capacity(entries),
        }
    }

    /// Adds the name made of `parts` joined by dots; [`SettingSpans::sorted`]
    /// orders them once all are in.
    pub fn push(&mut self, parts: &[&str], span: Span) {
        let start = self.names.len();
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                self.names.push('.');
            }
            self.names.push_str(part);
        }
        let (Ok(start), Ok(end)) = (u32::try_from(start), u32::try_from(self.names.len())) else {
            // A component's setting names past 4 GiB: no source is that large.
            self.names.truncate(start);
            return;
        };
        self.entries.push((start, end, span));
    }

    /// The names in order; of one name pushed twice, the last is kept.
    /// Settings come in order (a dot sorts before any character of a
    /// name), a map's entries in the order written.
    pub fn sorted(mut self) -> Self {
        let names = &self.names;
        let name = |&(start, end, _): &(u32, u32, Span)| &names[start as usize..end as usize];
        sort_keeping_last(&mut self.entries, |a, b| name(a).cmp(name(b)));
        self
    }

    fn name(&self, entry: &(u32, u32, Span)) -> &str {
        &self.names[entry.0 as usize..entry.1 as usize]
    }

    pub fn get(&self, name: &str) -> Option<&Span> {
        self.entries
            .binary_search_by(|e| self.name(e).cmp(name))
            .ok()
            .map(|i| &self.entries[i].2)
    }

    /// Where entry `key` of map setting `setting` is written: the name
    /// `setting.key`, compared part by part rather than joined for each
    /// look-up (a load balancer's every route asks).
    pub fn get_entry(&self, setting: &str, key: &str) -> Option<&Span> {
        self.entries
            .binary_search_by(|e| {
                let name = self.name(e).as_bytes();
                let (head, rest) = name.split_at(name.len().min(setting.len()));
                head.cmp(setting.as_bytes())
                    .then_with(|| rest.first().cmp(&Some(&b'.')))
                    .then_with(|| rest.get(1..).unwrap_or_default().cmp(key.as_bytes()))
            })
            .ok()
            .map(|i| &self.entries[i].2)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Span)> {
        self.entries.iter().map(|e| (self.name(e), &e.2))
    }
}

/// Equal when they hold the same names at the same spans.
impl PartialEq for SettingSpans {
    fn eq(&self, other: &SettingSpans) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Component {
    /// The value of setting `name`. A component has a few dozen settings at
    /// most, and most names differ from the one looked for in length: read
    /// in order, they are compared without a call for the bytes of each, as
    /// a search of the tree compares them.
    pub fn setting(&self, name: &str) -> Option<&Value> {
        self.settings.get(name)
    }

    /// Each port's name, number and transport protocol (`tcp`, `udp`), in
    /// name order: read from the setting, which holds them so.
    pub fn ports(&self) -> impl Iterator<Item = (&str, (i64, &'static str))> {
        self.settings
            .get("ports")
            .and_then(Value::as_map)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| port_spec(v).map(|p| (k.as_str(), p)))
    }
}

/// Whether two names are the same, without a call to compare their bytes
/// where the length, the first byte or the very text decides: a name looked
/// for is mostly the text it was stored as, and names of one length mostly
/// differ in their first byte.
pub fn same_name(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && (std::ptr::eq(a.as_ptr(), b.as_ptr())
            || (a.as_bytes().first() == b.as_bytes().first() && a == b))
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

#[cfg(test)]
mod tests {
    use super::{SettingSpans, Settings, Value, same_name};

    /// Settings come out in name order however they went in, the later of
    /// a name given twice wins, and they serialize as a map.
    #[test]
    fn settings_are_held_in_name_order() {
        let int = |n: i64| Value::Int(n);
        let settings: Settings = [
            (String::from("replicas"), int(1)),
            (String::from("cpu"), int(2)),
            (String::from("replicas"), int(3)),
            (String::from("build"), int(4)),
        ]
        .into_iter()
        .collect();
        assert_eq!(settings.get("replicas"), Some(&int(3)));
        assert_eq!(settings.get("replica"), None);
        let names: Vec<&String> = settings.iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["build", "cpu", "replicas"]);
        assert_eq!(
            serde_json::to_string(&settings).expect("a map"),
            r#"{"build":{"type":"int","value":4},"cpu":{"type":"int","value":2},"replicas":{"type":"int","value":3}}"#
        );
    }

    /// Same text is the same name wherever it is stored; a different
    /// length, first byte or later byte is not.
    #[test]
    fn names_are_the_same_by_their_text() {
        let stored = String::from("replicas");
        assert!(same_name(&stored, "replicas"));
        assert!(same_name(&stored, &stored));
        assert!(same_name("", ""));
        assert!(!same_name(&stored, "replica"));
        assert!(!same_name(&stored, "Replicas"));
        assert!(!same_name(&stored, "replicaz"));
        assert!(!same_name(&stored[..7], &stored));
    }
    use crate::source::Span;

    /// Names are found whatever order they were given in, the later of a
    /// name given twice wins, and two sets of the same names and spans are
    /// equal.
    #[test]
    fn setting_spans_are_found_by_name() {
        let span = |n: u32| Span {
            start: n,
            end: n + 1,
            ..Span::default()
        };
        let mut spans = SettingSpans::with_capacity(2);
        spans.push(&["ports"], span(1));
        spans.push(&["env"], span(2));
        spans.push(&["env", "MODE"], span(3));
        spans.push(&["env", "MODE"], span(4));
        spans.push(&["cpu"], span(5));
        let spans = spans.sorted();
        assert_eq!(spans.get("env.MODE"), Some(&span(4)));
        assert_eq!(spans.get("ports"), Some(&span(1)));
        assert!(spans.contains_key("cpu"));
        assert!(!spans.contains_key("env.MOD"));
        assert!(!spans.contains_key("memory"));
        let names: Vec<&str> = spans.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["cpu", "env", "env.MODE", "ports"]);
        let mut again = SettingSpans::default();
        for (name, s) in [("env.MODE", 4), ("ports", 1), ("cpu", 5), ("env", 2)] {
            again.push(&[name], span(s));
        }
        assert_eq!(again.sorted(), spans);
    }

    /// A map entry is found by its setting and key as by the joined name,
    /// among names that share a beginning with either.
    #[test]
    fn map_entries_are_found_by_setting_and_key() {
        let mut spans = SettingSpans::default();
        let names = [
            "env",
            "env-x",
            "env.A",
            "env.AB",
            "env.B",
            "env_file",
            "envy",
            "en",
            "mounts./a",
        ];
        for (n, name) in names.iter().enumerate() {
            spans.push(
                &[name],
                crate::source::Span::new(crate::source::FileId(0), n, n + 1),
            );
        }
        let spans = spans.sorted();
        for (setting, key) in [
            ("env", "A"),
            ("env", "AB"),
            ("env", "B"),
            ("env", ""),
            ("env", "C"),
            ("en", "v"),
            ("mounts", "/a"),
            ("mounts", "/"),
            ("env_file", "x"),
            ("", "env"),
        ] {
            assert_eq!(
                spans.get_entry(setting, key),
                spans.get(&format!("{setting}.{key}")),
                "{setting}.{key}"
            );
        }
        assert!(spans.get_entry("env", "AB").is_some());
        assert!(spans.get_entry("env", "C").is_none());
    }
}
