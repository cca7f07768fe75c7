//! The Dockerfiles and the scripts beside them (`images/…`), compared as
//! text. A Dockerfile belongs to its image definition (`image:NAME`); its
//! impact is every component built from it.

use super::{Change, ChangeKind, Layer, Side};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};

/// The image files of one side, without the `LABEL`s of the labels bomc
/// puts on everything of the instance (compared once, in the plan).
fn files(side: Option<&Side>) -> BTreeMap<&str, String> {
    let Some(side) = side else {
        return BTreeMap::new();
    };
    let labels: Vec<String> = side
        .labels()
        .iter()
        .map(|k| format!("LABEL \"org.bomc.{k}\"="))
        .collect();
    side.artifacts
        .iter()
        .filter(|a| a.path.starts_with("images/"))
        .map(|a| {
            let text: Vec<&str> = a
                .contents
                .lines()
                .filter(|l| !labels.iter().any(|p| l.starts_with(p.as_str())))
                .collect();
            (a.path.as_str(), text.join("\n") + "\n")
        })
        .collect()
}

/// `images/go_auth/Dockerfile` → `image:go_auth`.
fn image_of(path: &str) -> Option<String> {
    let name = path.strip_prefix("images/")?.strip_suffix("/Dockerfile")?;
    Some(format!("image:{name}"))
}

/// Compares the image files of both sides.
pub(super) fn diff(old: Option<&Side>, new: &Side, changes: &mut Vec<Change>) {
    let (a, b) = (files(old), files(Some(new)));
    let paths: BTreeSet<&str> = a.keys().chain(b.keys()).copied().collect();
    for path in paths {
        let (x, y) = (a.get(path), b.get(path));
        let kind = match (x, y) {
            (Some(x), Some(y)) if x == y => continue,
            (Some(_), Some(_)) => ChangeKind::Changed,
            (None, _) => ChangeKind::Added,
            (_, None) => ChangeKind::Removed,
        };
        let mut c = Change::new(image_of(path).as_deref(), kind, Layer::Dockerfile);
        c.file = Some(path.to_string());
        c.old = x.map(|t| Json::String(t.clone()));
        c.new = y.map(|t| Json::String(t.clone()));
        changes.push(c);
    }
}
