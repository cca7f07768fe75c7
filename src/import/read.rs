//! Reading compose files: YAML (anchors and merge keys arrive expanded), the
//! compose variables (`${VAR:-default}`), and several files merged into one
//! as `docker compose -f a -f b` merges them (Compose Specification, "Merge").

use crate::diag::{Diagnostic, ErrorCode};
use crate::source::{FileId, SourceMap, Span};
use serde_yaml_ng::{Mapping, Value as Yaml};

/// Parses one file; a YAML error points at its position.
pub fn parse(sources: &SourceMap, file: FileId) -> Result<Yaml, Diagnostic> {
    let text = &sources.get(file).text;
    let mut value: Yaml = match serde_yaml_ng::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let at = e
                .location()
                .map(|l| l.index())
                .unwrap_or(0)
                .min(text.trim_end().len().saturating_sub(1));
            let end = (at + 1).min(text.len());
            let message = e.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_string();
            return Err(Diagnostic::new(
                ErrorCode::ComposeNotYaml,
                format!("`{}` is not valid YAML: {message}", sources.get(file).name),
            )
            .label(Span::new(file, at, end), "here")
            .help("fix the YAML; `docker compose config` shows the same error"));
        }
    };
    value.apply_merge().map_err(|e| {
        Diagnostic::new(
            ErrorCode::ComposeNotYaml,
            format!("`{}` has an invalid merge key: {e}", sources.get(file).name),
        )
        .label(Span::new(file, 0, 0), "in this file")
        .help("`<<:` takes a mapping or a list of mappings (YAML anchors)")
    })?;
    Ok(value)
}

/// The span of `path` (a chain of keys) in a YAML text: each key found as
/// `key:` indented deeper than the previous one, after it. Approximate, for
/// labels only; the whole first line when the key is not found.
pub fn locate(sources: &SourceMap, file: FileId, path: &[&str]) -> Span {
    let text = &sources.get(file).text;
    let mut from = 0;
    let mut found = None;
    for k in path {
        let mut hit = None;
        let mut offset = from;
        for line in text[from..].split_inclusive('\n') {
            let trimmed = line.trim_start_matches([' ', '-']);
            let indent = line.len() - trimmed.len();
            for form in [format!("{k}:"), format!("\"{k}\":"), format!("'{k}':")] {
                if trimmed.starts_with(&form) {
                    hit = Some((offset + indent, offset + indent + form.len() - 1));
                }
            }
            if hit.is_some() {
                break;
            }
            offset += line.len();
        }
        match hit {
            Some((s, e)) => {
                found = Some(Span::new(file, s, e));
                from = e;
            }
            None => break,
        }
    }
    found.unwrap_or_else(|| {
        let end = text.find('\n').unwrap_or(text.len());
        Span::new(file, 0, end)
    })
}

/// One compose variable inside a string.
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    Text(String),
    /// `${NAME}` / `${NAME:-default}` …: the name and the value compose gives
    /// it when the host does not set it.
    Var {
        name: String,
        unset: String,
    },
}

/// Splits a compose string into text and variables (`$$` is a literal `$`).
pub fn parts(s: &str) -> Vec<Part> {
    let mut out = Vec::new();
    let mut text = String::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '$' {
            text.push(c);
            i += 1;
            continue;
        }
        match chars.get(i + 1) {
            Some('$') => {
                text.push('$');
                i += 2;
            }
            Some('{') => {
                let mut depth = 1;
                let mut j = i + 2;
                while j < chars.len() && depth > 0 {
                    match chars[j] {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    j += 1;
                }
                if depth > 0 {
                    text.extend(&chars[i..]);
                    break;
                }
                let inner: String = chars[i + 2..j - 1].iter().collect();
                push_text(&mut out, &mut text);
                out.push(variable(&inner));
                i = j;
            }
            Some(n) if n.is_ascii_alphabetic() || *n == '_' => {
                let mut j = i + 1;
                while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                push_text(&mut out, &mut text);
                out.push(Part::Var {
                    name: chars[i + 1..j].iter().collect(),
                    unset: String::new(),
                });
                i = j;
            }
            _ => {
                text.push('$');
                i += 1;
            }
        }
    }
    push_text(&mut out, &mut text);
    out
}

fn push_text(out: &mut Vec<Part>, text: &mut String) {
    if !text.is_empty() {
        out.push(Part::Text(std::mem::take(text)));
    }
}

/// `NAME`, `NAME:-default`, `NAME-default`, `NAME:?err`, `NAME:+alt`.
fn variable(inner: &str) -> Part {
    let end = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    let (name, rest) = inner.split_at(end);
    let unset = if let Some(d) = rest.strip_prefix(":-").or_else(|| rest.strip_prefix('-')) {
        concrete(d)
    } else {
        // `:?`/`?` fail and `:+`/`+` give "" when the variable is unset.
        String::new()
    };
    Part::Var {
        name: name.to_string(),
        unset,
    }
}

/// The string as compose reads it when no variable is set on the host.
pub fn concrete(s: &str) -> String {
    parts(s)
        .into_iter()
        .map(|p| match p {
            Part::Text(t) => t,
            Part::Var { unset, .. } => unset,
        })
        .collect()
}

/// Whether a string uses a compose variable.
pub fn has_variable(s: &str) -> bool {
    parts(s).iter().any(|p| matches!(p, Part::Var { .. }))
}

/// Keys whose lists compose merges by a key of each entry (a later file's
/// entry replaces the earlier one with the same key) rather than appending.
fn entry_key(field: &str, entry: &Yaml) -> Option<String> {
    let text = |v: &Yaml| match v {
        Yaml::String(s) => s.clone(),
        Yaml::Number(n) => n.to_string(),
        _ => String::new(),
    };
    match field {
        "volumes" | "tmpfs" => Some(match entry {
            Yaml::String(s) => {
                let parts: Vec<&str> = s.split(':').collect();
                match parts.as_slice() {
                    [target] => (*target).to_string(),
                    [_, target, ..] => (*target).to_string(),
                    [] => s.clone(),
                }
            }
            Yaml::Mapping(m) => m.get("target").map(text).unwrap_or_default(),
            _ => return None,
        }),
        "secrets" | "configs" => Some(match entry {
            Yaml::String(s) => s.clone(),
            Yaml::Mapping(m) => m
                .get("target")
                .or_else(|| m.get("source"))
                .map(text)
                .unwrap_or_default(),
            _ => return None,
        }),
        "ports" | "expose" | "dns" | "dns_search" | "env_file" | "cap_add" | "cap_drop"
        | "profiles" | "devices" | "security_opt" | "links" | "external_links" => {
            Some(serde_yaml_ng::to_string(entry).unwrap_or_default())
        }
        _ => None,
    }
}

/// A list of `KEY=VALUE` (or `KEY`) as a mapping; a mapping as is.
pub fn as_map(value: &Yaml, separator: char) -> Option<Mapping> {
    match value {
        Yaml::Mapping(m) => Some(m.clone()),
        Yaml::Sequence(items) => {
            let mut m = Mapping::new();
            for item in items {
                let Yaml::String(s) = item else { return None };
                match s.split_once(separator) {
                    Some((k, v)) => m.insert(Yaml::from(k.trim()), Yaml::from(v)),
                    None => m.insert(Yaml::from(s.trim()), Yaml::Null),
                };
            }
            Some(m)
        }
        Yaml::Null => Some(Mapping::new()),
        _ => None,
    }
}

/// Merges an override service into a base service, per the Compose Specification.
fn merge_service(base: &mut Mapping, patch: Mapping) {
    for (k, v) in patch {
        let field = k.as_str().unwrap_or_default().to_string();
        let Some(existing) = base.get_mut(&k) else {
            base.insert(k, v);
            continue;
        };
        match field.as_str() {
            // Replaced whole.
            "command" | "entrypoint" => *existing = v,
            "environment" | "labels" | "extra_hosts" | "sysctls" | "annotations" => {
                let sep = if field == "extra_hosts" { ':' } else { '=' };
                match (as_map(existing, sep), as_map(&v, sep)) {
                    (Some(mut a), Some(b)) => {
                        for (bk, bv) in b {
                            a.insert(bk, bv);
                        }
                        *existing = Yaml::Mapping(a);
                    }
                    _ => *existing = v,
                }
            }
            "depends_on" => {
                let list_to_map = |v: &Yaml| match v {
                    Yaml::Sequence(items) => {
                        let mut m = Mapping::new();
                        for i in items {
                            let mut cond = Mapping::new();
                            cond.insert(Yaml::from("condition"), Yaml::from("service_started"));
                            m.insert(i.clone(), Yaml::Mapping(cond));
                        }
                        Some(m)
                    }
                    Yaml::Mapping(m) => Some(m.clone()),
                    _ => None,
                };
                match (list_to_map(existing), list_to_map(&v)) {
                    (Some(mut a), Some(b)) => {
                        for (bk, bv) in b {
                            a.insert(bk, bv);
                        }
                        *existing = Yaml::Mapping(a);
                    }
                    _ => *existing = v,
                }
            }
            "healthcheck" | "build" | "deploy" | "logging" | "ulimits" => merge_maps(existing, v),
            _ => match (existing, v) {
                (Yaml::Sequence(a), Yaml::Sequence(b)) => {
                    for item in b {
                        match entry_key(&field, &item) {
                            Some(key) => {
                                let same = a
                                    .iter()
                                    .position(|x| entry_key(&field, x).as_ref() == Some(&key));
                                match same {
                                    Some(i) => a[i] = item,
                                    None => a.push(item),
                                }
                            }
                            None => a.push(item),
                        }
                    }
                }
                (existing, v) => *existing = v,
            },
        }
    }
}

/// Maps merged key by key, recursively; anything else replaced.
fn merge_maps(base: &mut Yaml, patch: Yaml) {
    match (base, patch) {
        (Yaml::Mapping(a), Yaml::Mapping(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(existing) => merge_maps(existing, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (base, patch) => *base = patch,
    }
}

/// Merges compose files in order: later files override earlier ones.
pub fn merge_files(files: Vec<Yaml>) -> Yaml {
    let mut out = Mapping::new();
    for file in files {
        let Yaml::Mapping(file) = file else { continue };
        for (k, v) in file {
            match (k.as_str(), out.get_mut(&k), v) {
                (Some("services"), Some(Yaml::Mapping(base)), Yaml::Mapping(patch)) => {
                    for (name, service) in patch {
                        match (base.get_mut(&name), service) {
                            (Some(Yaml::Mapping(b)), Yaml::Mapping(p)) => merge_service(b, p),
                            (_, service) => {
                                base.insert(name, service);
                            }
                        }
                    }
                }
                (_, Some(existing), v) => merge_maps(existing, v),
                (_, None, v) => {
                    out.insert(k, v);
                }
            }
        }
    }
    Yaml::Mapping(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables() {
        assert_eq!(concrete("${TAG:-1.2}-x"), "1.2-x");
        assert_eq!(concrete("a$$b ${X} $Y"), "a$b  ");
        assert_eq!(concrete("${A:-${B:-c}}"), "c");
        assert_eq!(
            parts("p${V-d}"),
            vec![
                Part::Text(String::from("p")),
                Part::Var {
                    name: String::from("V"),
                    unset: String::from("d")
                }
            ]
        );
    }

    #[test]
    fn override_files_merge_as_compose_does() {
        let a: Yaml = serde_yaml_ng::from_str(
            "services: {web: {image: a, ports: ['80:80'], environment: [A=1, B=2], command: [x], volumes: ['d:/data']}}",
        )
        .unwrap();
        let b: Yaml = serde_yaml_ng::from_str(
            "services: {web: {ports: ['443:443'], environment: {B: '3'}, command: [y], volumes: ['./d:/data']}, db: {image: p}}",
        )
        .unwrap();
        let merged = merge_files(vec![a, b]);
        let want: Yaml = serde_yaml_ng::from_str(
            "services: {web: {image: a, ports: ['80:80', '443:443'], environment: {A: '1', B: '3'}, command: [y], volumes: ['./d:/data']}, db: {image: p}}",
        )
        .unwrap();
        assert_eq!(merged, want);
    }
}
