//! The compose file, compared entry by entry: services, volumes, networks,
//! secrets and configs, each attributed to its component. A named volume
//! that is no longer used is data loss (compose has no rename: the
//! containers start on a new, empty volume); a port newly published on the
//! host is exposure.

use super::tree::{self, Leaf};
use super::{Change, ChangeKind, Layer, Risk, Side, Sides};
use serde_json::{Map, Value as Json};
use std::collections::{BTreeMap, BTreeSet};

const FILE: &str = "compose.yaml";

/// The compose file of one side, without the labels bomc puts on
/// everything of an instance (compared once, in the plan): only its parts
/// whose text is not in `same` (see [`chunks`]), since identical entries
/// cannot differ and reading 2 MB of YAML twice was a fifth of a large diff.
fn read(side: &Side, same: &BTreeSet<(&str, &str)>) -> Option<Json> {
    let labels = side.labels();
    let labels = &labels;
    let a = side.artifact(FILE)?;
    let mut text = String::new();
    let mut section = None;
    for (name, chunk) in chunks(&a.contents) {
        if same.contains(&(name, chunk)) {
            continue;
        }
        if !name.is_empty() && section != Some(name) {
            text.push_str(name);
            text.push_str(":\n");
            section = Some(name);
        }
        text.push_str(chunk);
    }
    let mut file: Json = serde_yaml_ng::from_str(&text).ok()?;
    if file.is_null() {
        file = Json::Object(Map::new());
    }
    if let Json::Object(sections) = &mut file {
        for section in sections.values_mut() {
            if let Json::Object(entries) = section {
                entries.values_mut().for_each(|e| strip_labels(e, labels));
            }
        }
    }
    Some(file)
}

/// The compose file as bomc writes it, cut into its parts: each entry of a
/// section (`services:`, `volumes:` …; an entry starts at two spaces) with
/// the section's name, and each other top-level line with its continuation
/// under the name `""`. Comments and the lines between sections are left out.
fn chunks(text: &str) -> Vec<(&str, &str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    let mut section: Option<&str> = None;
    let mut start: Option<(usize, &str)> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let top = !line.starts_with([' ', '#', '\n', '\r']);
        let entry = section.is_some()
            && line.starts_with("  ")
            && !line[2..].starts_with([' ', '\n', '\r']);
        if (top || entry || line.starts_with('#'))
            && let Some((from, name)) = start.take()
        {
            out.push((name, &text[from..offset]));
        }
        if top {
            let bare = line.trim_end();
            section = bare.strip_suffix(':').filter(|k| !k.contains(' '));
            if section.is_none() {
                start = Some((offset, ""));
            }
        } else if entry {
            start = section.map(|name| (offset, name));
        }
        offset += line.len();
    }
    if let Some((from, name)) = start {
        out.push((name, &text[from..]));
    }
    out
}

/// Drops the labels bomc puts on everything of an instance (compared once,
/// in the plan).
fn strip_labels(entry: &mut Json, labels: &BTreeSet<String>) {
    if let Some(Json::Object(l)) = entry.get_mut("labels") {
        l.retain(|k, _| {
            !k.strip_prefix("org.bomc.")
                .is_some_and(|label| labels.contains(label))
        });
    }
}

/// The component a compose entry belongs to: its `org.bomc.component`
/// label, else (for networks `a.to.b`) the component accepting the
/// traffic, else the component whose name starts the key.
fn component(section: &str, key: &str, entry: &Json, names: &BTreeSet<String>) -> Option<String> {
    if let Some(c) = entry
        .get("labels")
        .and_then(|l| l.get("org.bomc.component"))
        .and_then(Json::as_str)
    {
        return Some(c.to_string());
    }
    if section == "secrets" {
        return None;
    }
    if section == "networks"
        && let Some((_, to)) = key.split_once(".to.")
    {
        return names.contains(to).then(|| to.to_string());
    }
    names
        .iter()
        .filter(|n| {
            key.strip_prefix(n.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '-']))
        })
        .max_by_key(|n| n.len())
        .cloned()
}

fn section<'a>(file: &'a Json, name: &str) -> BTreeMap<&'a String, &'a Json> {
    file.get(name)
        .and_then(Json::as_object)
        .map(|m| m.iter().collect())
        .unwrap_or_default()
}

fn new_change(component: Option<String>, leaf: Leaf) -> Change {
    let mut c = Change::new(component.as_deref(), leaf.kind, Layer::Compose);
    c.file = Some(String::from(FILE));
    c.setting = Some(leaf.path);
    c.old = leaf.old;
    c.new = leaf.new;
    c
}

/// Compares the compose files of both sides (read only if they differ).
pub(super) fn diff(old: Option<&Side>, new: &Side, sides: &Sides, changes: &mut Vec<Change>) {
    fn text(s: Option<&Side>) -> Option<&str> {
        s.and_then(|s| s.artifact(FILE))
            .map(|a| a.contents.as_str())
    }
    if text(old) == text(Some(new)) {
        return;
    }
    fn parts(s: Option<&Side>) -> BTreeSet<(&str, &str)> {
        text(s)
            .map(chunks)
            .unwrap_or_default()
            .into_iter()
            .collect()
    }
    let (old_parts, new_parts) = (parts(old), parts(Some(new)));
    let same: BTreeSet<(&str, &str)> = old_parts.intersection(&new_parts).copied().collect();
    let (a, b) = (old.and_then(|o| read(o, &same)), read(new, &same));
    let empty = Json::Object(Map::new());
    let (a, b) = (a.as_ref().unwrap_or(&empty), b.as_ref().unwrap_or(&empty));
    let old_names: BTreeSet<String> = sides
        .old
        .map(|p| p.workloads.iter().map(|w| w.name.clone()).collect())
        .unwrap_or_default();
    let new_names: BTreeSet<String> = sides.new.workloads.iter().map(|w| w.name.clone()).collect();
    let keys: BTreeSet<&String> = a
        .as_object()
        .into_iter()
        .chain(b.as_object())
        .flat_map(|m| m.keys())
        .collect();
    for key in keys {
        let (sa, sb) = (section(a, key), section(b, key));
        let sectioned = matches!(
            key.as_str(),
            "services" | "volumes" | "networks" | "secrets" | "configs"
        );
        if !sectioned {
            let (va, vb) = (a.get(key).cloned(), b.get(key).cloned());
            let mut leaves = Vec::new();
            match (&va, &vb) {
                (Some(x), Some(y)) => tree::diff(x, y, key, true, &mut leaves),
                _ if va != vb => leaves.push(Leaf {
                    path: key.clone(),
                    kind: if va.is_none() {
                        ChangeKind::Added
                    } else {
                        ChangeKind::Removed
                    },
                    old: va,
                    new: vb,
                }),
                _ => {}
            }
            changes.extend(leaves.into_iter().map(|l| new_change(None, l)));
            continue;
        }
        let names: BTreeSet<&String> = sa.keys().chain(sb.keys()).copied().collect();
        for name in names {
            let prefix = tree::join(key, name);
            let mut leaves = Vec::new();
            let (owner, renamed_owner) = match (sa.get(name), sb.get(name)) {
                (Some(x), Some(y)) => {
                    tree::diff(x, y, &prefix, true, &mut leaves);
                    (component(key, name, y, &new_names), None)
                }
                (None, Some(y)) => {
                    leaves.push(Leaf {
                        path: prefix,
                        kind: ChangeKind::Added,
                        old: None,
                        new: Some((*y).clone()),
                    });
                    (component(key, name, y, &new_names), None)
                }
                (Some(x), None) => {
                    leaves.push(Leaf {
                        path: prefix,
                        kind: ChangeKind::Removed,
                        old: Some((*x).clone()),
                        new: None,
                    });
                    let o = component(key, name, x, &old_names);
                    let renamed = o.as_deref().map(|o| sides.renamed(o).to_string());
                    (renamed.clone(), renamed.filter(|n| Some(n) != o.as_ref()))
                }
                (None, None) => continue,
            };
            for leaf in leaves {
                let mut c = new_change(owner.clone(), leaf);
                classify(key, name, &mut c, renamed_owner.is_some());
                changes.push(c);
            }
        }
    }
}

fn classify(section: &str, name: &str, c: &mut Change, renamed: bool) {
    let setting = c.setting.clone().unwrap_or_default();
    if section == "volumes"
        && c.change == ChangeKind::Removed
        && setting == tree::join(section, name)
    {
        let why = if renamed {
            "the component was renamed"
        } else {
            "nothing uses it any more"
        };
        c.risk(
            Risk::DataLoss,
            format!(
                "named volume `{name}` is dropped ({why}): the containers start on a new, empty volume; the old one stays on the host until `docker compose down --volumes`"
            ),
        );
    }
    if section == "services" && setting.ends_with(".ports") && c.change == ChangeKind::Added {
        c.risk(
            Risk::Exposure,
            format!("`{name}` publishes ports on the host"),
        );
    } else if section == "services" && setting.contains(".ports[") {
        let published = |v: &Option<Json>| {
            v.as_ref()
                .map(|p| p.get("published").cloned().unwrap_or(p.clone()))
        };
        let opens = match c.change {
            ChangeKind::Added => true,
            ChangeKind::Changed => {
                setting.ends_with(".published") || published(&c.old) != published(&c.new)
            }
            ChangeKind::Removed => false,
        };
        if opens {
            c.risk(
                Risk::Exposure,
                format!("`{name}` publishes a new port on the host"),
            );
        }
    }
}
