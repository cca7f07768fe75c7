//! The plan, compared: the environment instance, each workload setting by
//! setting, each image definition, and whatever else the plan holds. Each is
//! first put in a *view* — a JSON tree with the names a `.bom` author knows
//! (`env.DB_HOST`, `routes["/api"].port`, `instance_class`), target pieces
//! written as references (`${db.host}`) and secrets as their names — and the
//! views are compared. Fields the plan gains later appear without changes
//! here: the views start from the plan's own serialization.

use super::tree::{self, Leaf};
use super::{Change, ChangeKind, Layer};
use crate::lower::plan::{EnvValue, ImageSource, Piece, Plan, Role, Text, Workload};
use crate::model::Value;
use serde_json::{Map, Value as Json, json};
use std::collections::{BTreeMap, BTreeSet};

/// A target-resolved text as the author wrote it: `postgres://${db.host}:${db.ports.postgres}`.
pub(super) fn text(t: &Text) -> String {
    t.0.iter()
        .map(|p| match p {
            Piece::Literal(s) => s.clone(),
            Piece::Host(c) => format!("${{{c}.host}}"),
            Piece::Port {
                component, name, ..
            } => format!("${{{component}.ports.{name}}}"),
            Piece::Url(c) => format!("${{{c}.url}}"),
            Piece::BucketName(c) => format!("${{{c}.bucket}}"),
        })
        .collect()
}

/// A secret, by name: `{"secret": "messenger/db"}`.
pub(super) fn secret(name: &str) -> Json {
    json!({ "secret": name })
}

pub(super) fn is_secret(v: &Json) -> bool {
    v.as_object()
        .is_some_and(|m| m.len() == 1 && m.contains_key("secret"))
}

/// A model value (the escape hatches) as plain JSON, secrets by name.
fn plain(v: &Value) -> Json {
    match v {
        Value::String(s) => json!(s),
        Value::Template(_) | Value::Host(_) | Value::Port(_) => crate::lower::plan_text(v)
            .map(|t| json!(text(&t)))
            .unwrap_or(Json::Null),
        Value::Int(i) => json!(i),
        Value::Float(f) => json!(f),
        Value::Bool(b) => json!(b),
        Value::Duration(ms) => json!(format!("{ms}ms")),
        Value::Size(b) => json!(b),
        Value::Secret(s) => secret(s),
        Value::Image(i) | Value::Component(i) => json!(i),
        Value::List(items) => Json::Array(items.iter().map(plain).collect()),
        Value::Map(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), plain(v))).collect()),
        Value::Null => Json::Null,
    }
}

/// Drops `null`s, so an optional setting that appears is `added`.
fn prune(v: Json) -> Option<Json> {
    match v {
        Json::Null => None,
        Json::Object(m) => Some(Json::Object(
            m.into_iter()
                .filter_map(|(k, v)| prune(v).map(|v| (k, v)))
                .collect(),
        )),
        other => Some(other),
    }
}

fn object(v: Json) -> BTreeMap<String, Json> {
    match prune(v) {
        Some(Json::Object(m)) => m.into_iter().collect(),
        _ => BTreeMap::new(),
    }
}

/// A workload's settings, as compared. `access` is who may connect, with
/// old names already mapped through `renames`.
pub(super) fn workload_view(
    w: &Workload,
    access: &[crate::graph::Access],
    renames: &BTreeMap<String, String>,
) -> BTreeMap<String, Json> {
    let mut view = object(serde_json::to_value(w).unwrap_or_default());
    for key in ["name", "id", "role", "env", "command", "image", "ports"] {
        view.remove(key);
    }
    for key in [
        "volumes",
        "depends_on",
        "published",
        "compose_overrides",
        "cloudformation_resources",
    ] {
        view.remove(key);
    }
    let rename = |c: &str| renames.get(c).cloned().unwrap_or_else(|| c.to_string());
    view.insert(
        String::from("image"),
        json!(match &w.image {
            ImageSource::Pull(r) => r.clone(),
            ImageSource::Build(i) => format!("image:{i}"),
        }),
    );
    if let Some(command) = &w.command {
        view.insert(
            String::from("command"),
            Json::Array(command.iter().map(|t| json!(text(t))).collect()),
        );
    }
    let mut ports = Map::new();
    for p in &w.ports {
        ports.insert(p.name.clone(), json!(p.number));
    }
    view.insert(String::from("ports"), Json::Object(ports));
    let mut env = Map::new();
    for e in &w.env {
        let mut value = match &e.value {
            EnvValue::Text(t) => json!(text(t)),
            EnvValue::Secret(s) => secret(&s.secret),
        };
        if e.compose_only {
            value = json!({ "compose_only": value });
        }
        env.insert(e.name.clone(), value);
    }
    view.insert(String::from("env"), Json::Object(env));
    let volumes: Map<String, Json> = w
        .volumes
        .iter()
        .map(|v| (v.name.clone(), json!(v.path)))
        .collect();
    view.insert(String::from("volumes"), Json::Object(volumes));
    let depends: Map<String, Json> = w
        .depends_on
        .iter()
        .map(|d| {
            (
                rename(&d.component),
                serde_json::to_value(d.wait).unwrap_or_default(),
            )
        })
        .collect();
    view.insert(String::from("depends_on"), Json::Object(depends));
    let published: Map<String, Json> = w
        .published
        .iter()
        .map(|p| {
            (
                p.target.to_string(),
                json!(format!("{}-{}", p.first, p.last)),
            )
        })
        .collect();
    view.insert(String::from("published"), Json::Object(published));
    if let Some(o) = &w.compose_overrides {
        view.insert(String::from("compose"), plain(o));
    }
    if !w.cloudformation_resources.is_empty() {
        let raw: Map<String, Json> = w
            .cloudformation_resources
            .iter()
            .map(|(k, v)| (k.clone(), plain(v)))
            .collect();
        view.insert(String::from("cloudformation"), Json::Object(raw));
    }
    let who: Map<String, Json> = access
        .iter()
        .map(|a| {
            let ports: Vec<String> = a
                .ports
                .iter()
                .map(|p| format!("{} {}/{}", p.name, p.number, p.protocol))
                .collect();
            (rename(&a.from), json!(ports.join(", ")))
        })
        .collect();
    view.insert(String::from("access"), Json::Object(who));
    role_view(&w.role, &mut view);
    view
}

/// The role's settings, at the top of the view (`instance_class`, `routes`).
fn role_view(role: &Role, view: &mut BTreeMap<String, Json>) {
    let Json::Object(fields) = serde_json::to_value(role).unwrap_or_default() else {
        return;
    };
    for (k, v) in fields {
        let v = match k.as_str() {
            "password" => match v {
                Json::String(s) => secret(&s),
                other => other,
            },
            "routes" => {
                let routes: Map<String, Json> = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| {
                        let mut r = r.as_object()?.clone();
                        let path = r.remove("path")?.as_str()?.to_string();
                        Some((path, Json::Object(r)))
                    })
                    .collect();
                Json::Object(routes)
            }
            _ => v,
        };
        let key = if view.contains_key(&k) {
            format!("role.{k}")
        } else {
            k
        };
        if let Some(v) = prune(v) {
            view.insert(key, v);
        }
    }
}

/// The environment instance's settings: lifetime, purpose, shared
/// infrastructure, names. Where files go and when the build runs are not
/// compared (the diff fixes both).
fn instance_view(plan: &Plan) -> BTreeMap<String, Json> {
    let mut view = object(serde_json::to_value(&plan.instance).unwrap_or_default());
    // Labels and tags follow from the rest (name, lifetime, purpose).
    for key in [
        "source",
        "source_dir",
        "output_dir",
        "port_block",
        "header",
        "labels",
        "tags",
        "environment",
    ] {
        view.remove(key);
    }
    if let Some(Json::Object(lifetime)) = view.get_mut("lifetime") {
        lifetime.remove("expires");
    }
    view
}

fn push(leaves: Vec<Leaf>, component: Option<&str>, changes: &mut Vec<Change>) {
    for leaf in leaves {
        let mut c = Change::new(component, leaf.kind, Layer::Plan);
        c.setting = Some(leaf.path);
        c.old = leaf.old;
        c.new = leaf.new;
        changes.push(c);
    }
}

/// Changes to the environment instance.
pub(super) fn instance(old: Option<&Plan>, new: &Plan, changes: &mut Vec<Change>) {
    let Some(old) = old else {
        let mut c = Change::new(None, ChangeKind::Added, Layer::Plan);
        c.setting = Some(String::from("environment"));
        c.new = Some(json!(new.instance.environment));
        changes.push(c);
        return;
    };
    push(
        tree::diff_maps(&instance_view(old), &instance_view(new), false),
        None,
        changes,
    );
}

fn access_of<'p>(plan: &'p Plan, name: &str) -> &'p [crate::graph::Access] {
    plan.access.get(name).map(Vec::as_slice).unwrap_or(&[])
}

/// Changes to workloads: added, removed, renamed, and setting by setting.
pub(super) fn workloads(
    old: Option<&Plan>,
    new: &Plan,
    renames: &BTreeMap<String, String>,
    changes: &mut Vec<Change>,
) {
    let none = BTreeMap::new();
    let renamed_from: BTreeMap<&str, &str> = renames
        .iter()
        .map(|(o, n)| (n.as_str(), o.as_str()))
        .collect();
    let old_by_name: BTreeMap<&str, &Workload> = old
        .map(|p| p.workloads.iter().map(|w| (w.name.as_str(), w)).collect())
        .unwrap_or_default();
    for w in &new.workloads {
        let view = || workload_view(w, access_of(new, &w.name), &none);
        let from = renamed_from.get(w.name.as_str()).copied();
        let before = old_by_name.get(from.unwrap_or(&w.name));
        let (Some(old_plan), Some(before)) = (old, before) else {
            let mut c = Change::new(Some(&w.name), ChangeKind::Added, Layer::Plan);
            c.new = Some(Json::Object(view().into_iter().collect()));
            changes.push(c);
            continue;
        };
        if let Some(from) = from {
            let mut c = Change::new(Some(&w.name), ChangeKind::Changed, Layer::Plan);
            c.setting = Some(String::from("name"));
            c.old = Some(json!(from));
            c.new = Some(json!(w.name));
            changes.push(c);
        }
        // Most workloads do not change: compare them serialized first.
        if from.is_none()
            && access_of(old_plan, &before.name) == access_of(new, &w.name)
            && serde_json::to_string(*before).ok() == serde_json::to_string(w).ok()
        {
            continue;
        }
        let old_view = workload_view(before, access_of(old_plan, &before.name), renames);
        push(
            tree::diff_maps(&old_view, &view(), false),
            Some(&w.name),
            changes,
        );
    }
    if let Some(old) = old {
        let new_names: BTreeSet<&str> = new.workloads.iter().map(|w| w.name.as_str()).collect();
        for w in &old.workloads {
            if new_names.contains(w.name.as_str()) || renames.contains_key(&w.name) {
                continue;
            }
            let mut c = Change::new(Some(&w.name), ChangeKind::Removed, Layer::Plan);
            let view = workload_view(w, access_of(old, &w.name), &none);
            c.old = Some(Json::Object(view.into_iter().collect()));
            changes.push(c);
        }
    }
}

/// An image definition's settings. Its tag is left out: it names the
/// instance, or hashes the definition, so it changes with the settings
/// compared here, and the files that use it show the new one.
fn image_view(image: &crate::lower::plan::BuildImage) -> BTreeMap<String, Json> {
    let mut view = object(serde_json::to_value(image).unwrap_or_default());
    for key in ["name", "tag", "content_tag"] {
        view.remove(key);
    }
    view
}

/// Changes to image definitions (`image:NAME`).
pub(super) fn images(old: Option<&Plan>, new: &Plan, changes: &mut Vec<Change>) {
    let old_images: BTreeMap<&str, _> = old
        .map(|p| p.images.iter().map(|i| (i.name.as_str(), i)).collect())
        .unwrap_or_default();
    for image in &new.images {
        let name = format!("image:{}", image.name);
        match old_images.get(image.name.as_str()) {
            Some(before) => push(
                tree::diff_maps(&image_view(before), &image_view(image), false),
                Some(&name),
                changes,
            ),
            None => {
                let mut c = Change::new(Some(&name), ChangeKind::Added, Layer::Plan);
                c.new = Some(Json::Object(image_view(image).into_iter().collect()));
                changes.push(c);
            }
        }
    }
    for (n, image) in old_images {
        if !new.images.iter().any(|i| i.name == n) {
            let mut c = Change::new(
                Some(&format!("image:{n}")),
                ChangeKind::Removed,
                Layer::Plan,
            );
            c.old = Some(Json::Object(image_view(image).into_iter().collect()));
            changes.push(c);
        }
    }
}

/// The plan's parts compared one by one above, or following from them
/// (start order, access and secret names follow from the workloads).
const COMPARED: &[&str] = &[
    "instance",
    "workloads",
    "images",
    "start_order",
    "access",
    "secrets",
];

/// The plan's other parts (how images are published…), compared as they
/// are: fields the plan gains show up here without a change to this module.
pub(super) fn rest(old: Option<&Plan>, new: &Plan, changes: &mut Vec<Change>) {
    let Some(old) = old else { return };
    let view = |p: &Plan| -> BTreeMap<String, Json> {
        let mut fields = Fields::default();
        let _ = serde::Serialize::serialize(p, &mut fields);
        fields
            .0
            .into_iter()
            .filter_map(|(k, v)| Some((k, prune(v)?)))
            .collect()
    };
    push(
        tree::diff_maps(&view(old), &view(new), false),
        None,
        changes,
    );
}

/// Serializes the fields of a struct to JSON, except those in [`COMPARED`]
/// (which it does not serialize at all: the plan's bulk).
#[derive(Default)]
struct Fields(Vec<(String, Json)>);

/// What [`Fields`] cannot take: anything but a struct.
#[derive(Debug)]
struct NotAStruct;

impl std::fmt::Display for NotAStruct {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("not a struct")
    }
}

impl std::error::Error for NotAStruct {}

impl serde::ser::Error for NotAStruct {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        NotAStruct
    }
}

macro_rules! not_a_struct {
    ($($name:ident($($arg:ty),*) -> $ok:ty;)*) => {
        $(fn $name(self, $(_: $arg),*) -> Result<$ok, NotAStruct> {
            Err(NotAStruct)
        })*
    };
}

impl serde::Serializer for &mut Fields {
    type Ok = ();
    type Error = NotAStruct;
    type SerializeSeq = serde::ser::Impossible<(), NotAStruct>;
    type SerializeTuple = serde::ser::Impossible<(), NotAStruct>;
    type SerializeTupleStruct = serde::ser::Impossible<(), NotAStruct>;
    type SerializeTupleVariant = serde::ser::Impossible<(), NotAStruct>;
    type SerializeMap = serde::ser::Impossible<(), NotAStruct>;
    type SerializeStruct = Self;
    type SerializeStructVariant = serde::ser::Impossible<(), NotAStruct>;

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, NotAStruct> {
        Ok(self)
    }

    fn serialize_some<T: serde::Serialize + ?Sized>(self, _: &T) -> Result<(), NotAStruct> {
        Err(NotAStruct)
    }

    fn serialize_newtype_struct<T: serde::Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), NotAStruct> {
        Err(NotAStruct)
    }

    fn serialize_newtype_variant<T: serde::Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), NotAStruct> {
        Err(NotAStruct)
    }

    not_a_struct! {
        serialize_bool(bool) -> ();
        serialize_i8(i8) -> ();
        serialize_i16(i16) -> ();
        serialize_i32(i32) -> ();
        serialize_i64(i64) -> ();
        serialize_u8(u8) -> ();
        serialize_u16(u16) -> ();
        serialize_u32(u32) -> ();
        serialize_u64(u64) -> ();
        serialize_f32(f32) -> ();
        serialize_f64(f64) -> ();
        serialize_char(char) -> ();
        serialize_str(&str) -> ();
        serialize_bytes(&[u8]) -> ();
        serialize_none() -> ();
        serialize_unit() -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_unit_variant(&'static str, u32, &'static str) -> ();
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }
}

impl serde::ser::SerializeStruct for &mut Fields {
    type Ok = ();
    type Error = NotAStruct;

    fn serialize_field<T: serde::Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), NotAStruct> {
        if !COMPARED.contains(&key) {
            let value = serde_json::to_value(value).map_err(|_| NotAStruct)?;
            self.0.push((key.to_string(), value));
        }
        Ok(())
    }

    fn end(self) -> Result<(), NotAStruct> {
        Ok(())
    }
}

/// Leaves of a view, for similarity.
fn leaves(view: &BTreeMap<String, Json>, out: &mut BTreeMap<String, Json>) {
    fn walk(prefix: &str, v: &Json, out: &mut BTreeMap<String, Json>) {
        match v {
            Json::Object(m) if !m.is_empty() => {
                for (k, v) in m {
                    walk(&tree::join(prefix, k), v, out);
                }
            }
            other => {
                out.insert(prefix.to_string(), other.clone());
            }
        }
    }
    for (k, v) in view {
        walk(k, v, out);
    }
}

/// How alike two views are: the share of settings with the same value.
fn similarity(a: &BTreeMap<String, Json>, b: &BTreeMap<String, Json>) -> f64 {
    let (mut la, mut lb) = (BTreeMap::new(), BTreeMap::new());
    leaves(a, &mut la);
    leaves(b, &mut lb);
    for m in [&mut la, &mut lb] {
        m.retain(|k, _| !k.starts_with("access") && !k.starts_with("depends_on"));
    }
    let keys: BTreeSet<&String> = la.keys().chain(lb.keys()).collect();
    if keys.is_empty() {
        return 1.0;
    }
    let same = keys.iter().filter(|k| la.get(**k) == lb.get(**k)).count();
    same as f64 / keys.len() as f64
}

/// The share of equal settings from which a removed and an added component
/// of the same kind and image are taken for one, renamed.
const RENAME_SIMILARITY: f64 = 0.75;

/// Renames: a removed and an added component of the same kind, running the
/// same image, with (nearly) the same settings. Old name → new name.
pub(super) fn renames(old: &Plan, new: &Plan) -> BTreeMap<String, String> {
    let none = BTreeMap::new();
    let old_names: BTreeSet<&str> = old.workloads.iter().map(|w| w.name.as_str()).collect();
    let new_names: BTreeSet<&str> = new.workloads.iter().map(|w| w.name.as_str()).collect();
    let removed: Vec<(&Workload, BTreeMap<String, Json>)> = old
        .workloads
        .iter()
        .filter(|w| !new_names.contains(w.name.as_str()))
        .map(|w| (w, workload_view(w, &[], &none)))
        .collect();
    let added: Vec<(&Workload, BTreeMap<String, Json>)> = new
        .workloads
        .iter()
        .filter(|w| !old_names.contains(w.name.as_str()))
        .map(|w| (w, workload_view(w, &[], &none)))
        .collect();
    let mut candidates = Vec::new();
    for (i, (r, rv)) in removed.iter().enumerate() {
        for (j, (a, av)) in added.iter().enumerate() {
            if r.kind != a.kind || r.image != a.image {
                continue;
            }
            let s = similarity(rv, av);
            if s >= RENAME_SIMILARITY {
                candidates.push((s, i, j));
            }
        }
    }
    // Best matches first; ties in declaration order.
    candidates.sort_by(|x, y| y.0.total_cmp(&x.0).then((x.1, x.2).cmp(&(y.1, y.2))));
    let mut out = BTreeMap::new();
    let (mut used_r, mut used_a) = (BTreeSet::new(), BTreeSet::new());
    for (_, i, j) in candidates {
        if used_r.contains(&i) || used_a.contains(&j) {
            continue;
        }
        used_r.insert(i);
        used_a.insert(j);
        out.insert(removed[i].0.name.clone(), added[j].0.name.clone());
    }
    out
}
