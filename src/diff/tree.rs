//! Comparing two JSON trees: the differences as leaves with a readable path
//! (`env.DB_HOST`, `routes["/api"].port`,
//! `ContainerDefinitions[auth].Environment[DB_NAME].Value`). A subtree only on
//! one side is one difference, not one per leaf. Arrays whose elements are
//! objects named by a key field (`Name`, `Key`, `target`…) are compared
//! element by element, by that key; other arrays as a whole.

use super::ChangeKind;
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// One difference between two trees.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Leaf {
    pub path: String,
    pub kind: ChangeKind,
    pub old: Option<Json>,
    pub new: Option<Json>,
}

/// Fields that name the elements of an array of objects, tried in order.
const KEY_FIELDS: &[&str] = &["Name", "Key", "name", "target", "source"];

/// `a.b`, or `a["b.c"]` when the key is not a plain name.
pub(super) fn join(prefix: &str, key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        }
    } else {
        format!("{prefix}[{}]", Json::String(key.to_string()))
    }
}

/// `a[key]`: the element of a keyed array.
fn element(prefix: &str, key: &str) -> String {
    format!("{prefix}[{key}]")
}

/// The array as a map by its key field, when every element is an object
/// holding that field as a distinct string or number.
fn keyed(items: &[Json]) -> Option<BTreeMap<String, &Json>> {
    let first = items.first()?.as_object()?;
    let field = KEY_FIELDS.iter().find(|f| first.contains_key(**f))?;
    let mut out = BTreeMap::new();
    for item in items {
        let key = match item.as_object()?.get(*field)? {
            Json::String(s) => s.clone(),
            Json::Number(n) => n.to_string(),
            _ => return None,
        };
        if out.insert(key, item).is_some() {
            return None;
        }
    }
    Some(out)
}

/// Objects that stand for one value (a secret by name, a compose-only
/// variable) and are compared whole.
fn atom(v: &Json) -> bool {
    v.as_object()
        .is_some_and(|m| m.len() == 1 && m.keys().all(|k| k == "secret" || k == "compose_only"))
}

/// The differences between `old` and `new` under `prefix`, appended to `out`.
/// With `by_key`, arrays of named objects are compared element by element.
pub(super) fn diff(old: &Json, new: &Json, prefix: &str, by_key: bool, out: &mut Vec<Leaf>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Json::Object(a), Json::Object(b)) if !atom(old) && !atom(new) => {
            let map = |m: &serde_json::Map<String, Json>| -> BTreeMap<String, Json> {
                m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
            };
            maps(&map(a), &map(b), prefix, join, by_key, out);
        }
        (Json::Array(a), Json::Array(b)) if by_key => match (keyed(a), keyed(b)) {
            (Some(ka), Some(kb)) => {
                let own = |m: BTreeMap<String, &Json>| -> BTreeMap<String, Json> {
                    m.into_iter().map(|(k, v)| (k, v.clone())).collect()
                };
                maps(&own(ka), &own(kb), prefix, element, by_key, out);
            }
            _ => out.push(changed(prefix, old, new)),
        },
        _ => out.push(changed(prefix, old, new)),
    }
}

fn changed(path: &str, old: &Json, new: &Json) -> Leaf {
    Leaf {
        path: path.to_string(),
        kind: ChangeKind::Changed,
        old: Some(old.clone()),
        new: Some(new.clone()),
    }
}

fn maps(
    a: &BTreeMap<String, Json>,
    b: &BTreeMap<String, Json>,
    prefix: &str,
    path: fn(&str, &str) -> String,
    by_key: bool,
    out: &mut Vec<Leaf>,
) {
    for (k, va) in a {
        match b.get(k) {
            Some(vb) => diff(va, vb, &path(prefix, k), by_key, out),
            None => out.push(Leaf {
                path: path(prefix, k),
                kind: ChangeKind::Removed,
                old: Some(va.clone()),
                new: None,
            }),
        }
    }
    for (k, vb) in b {
        if !a.contains_key(k) {
            out.push(Leaf {
                path: path(prefix, k),
                kind: ChangeKind::Added,
                old: None,
                new: Some(vb.clone()),
            });
        }
    }
}

/// Maps of settings compared key by key (each value a tree).
pub(super) fn diff_maps(
    old: &BTreeMap<String, Json>,
    new: &BTreeMap<String, Json>,
    by_key: bool,
) -> Vec<Leaf> {
    let mut out = Vec::new();
    maps(old, new, "", join, by_key, &mut out);
    out
}

/// Lines removed from `old` and added in `new`, by a longest common
/// subsequence; `None` when the texts are too long to compare line by line.
pub fn line_diff(old: &str, new: &str) -> Option<(Vec<String>, Vec<String>)> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    if a.len().saturating_mul(b.len()) > 4_000_000 {
        return None;
    }
    // lcs[i][j]: length of the LCS of a[i..] and b[j..].
    let width = b.len() + 1;
    let mut lcs = vec![0u32; (a.len() + 1) * width];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i * width + j] = if a[i] == b[j] {
                lcs[(i + 1) * width + j + 1] + 1
            } else {
                lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            i += 1;
            j += 1;
        } else if lcs[(i + 1) * width + j] >= lcs[i * width + j + 1] {
            removed.push(a[i].to_string());
            i += 1;
        } else {
            added.push(b[j].to_string());
            j += 1;
        }
    }
    removed.extend(a[i..].iter().map(|s| s.to_string()));
    added.extend(b[j..].iter().map(|s| s.to_string()));
    Some((removed, added))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_quote_keys_that_are_not_names() {
        assert_eq!(join("", "env"), "env");
        assert_eq!(join("env", "DB_HOST"), "env.DB_HOST");
        assert_eq!(join("routes", "/api"), "routes[\"/api\"]");
        assert_eq!(join("labels", "org.x"), "labels[\"org.x\"]");
    }

    #[test]
    fn named_arrays_compare_by_name_and_new_subtrees_are_one_leaf() {
        let old = json!({"Env": [{"Name": "A", "Value": "1"}, {"Name": "B", "Value": "2"}]});
        let new = json!({"Env": [{"Name": "B", "Value": "3"}, {"Name": "C", "Value": "4"}], "X": {"y": 1}});
        let mut out = Vec::new();
        diff(&old, &new, "", true, &mut out);
        let got: Vec<(&str, ChangeKind)> = out.iter().map(|l| (l.path.as_str(), l.kind)).collect();
        assert_eq!(
            got,
            [
                ("Env[A]", ChangeKind::Removed),
                ("Env[B].Value", ChangeKind::Changed),
                ("Env[C]", ChangeKind::Added),
                ("X", ChangeKind::Added),
            ]
        );
    }

    #[test]
    fn lines_removed_and_added() {
        let (removed, added) = line_diff("a\nb\nc\n", "a\nc\nd\n").expect("small");
        assert_eq!(removed, ["b"]);
        assert_eq!(added, ["d"]);
    }
}
