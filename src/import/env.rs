//! Environments: kind parameters read from them, references instead of
//! copied host names and ports, secrets instead of passwords, and the
//! entries several services share as named values (`let`).

use super::bom::{Expr, Piece, inline};
use super::read::{self, Part};
use super::values::scalar;
use super::{FEATURES, Importer, kinds::Absent};
use serde_yaml_ng::Mapping;
use std::collections::{BTreeMap, BTreeSet};

/// A named value shared by several services' environments.
pub struct Let {
    pub name: String,
    pub entries: Vec<(String, Expr)>,
    /// Compose names of the services that merge it.
    pub services: BTreeSet<String>,
    pub comment: Vec<String>,
}

/// Whether a variable holds a password, a token or a key.
fn looks_secret(var: &str, value: &str) -> bool {
    let v = var.to_ascii_uppercase();
    let named = [
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "ACCESS_KEY",
        "CREDENTIAL",
    ]
    .iter()
    .any(|w| v.contains(w))
        || v.ends_with("_PASS")
        || v.ends_with("_KEY")
        || v.ends_with("_KEY_BASE");
    let not_a_value = ["_FILE", "_PATH", "_USER", "_HOST", "_URL", "_ID", "_NAME"]
        .iter()
        .any(|s| v.ends_with(s));
    let flag = matches!(
        value.to_ascii_lowercase().as_str(),
        "" | "yes" | "no" | "true" | "false" | "0" | "1" | "on" | "off"
    );
    named && !not_a_value && !flag
}

/// The environment of a service as an ordered mapping.
fn environment(imp: &Importer, raw: &str) -> Result<Mapping, Vec<crate::diag::Diagnostic>> {
    let Some(v) = imp.services[raw].yaml.get("environment") else {
        return Ok(Mapping::new());
    };
    read::as_map(v, '=').ok_or_else(|| {
        vec![imp.invalid(
            &["services", raw, "environment"],
            format!("the `environment` of `{raw}` is neither a mapping nor a list of `NAME=VALUE`"),
            "write `environment: {NAME: value}` or `environment: [NAME=value]`",
        )]
    })
}

impl Importer<'_> {
    /// A secret for the value of `var` in `component`: a reference to a
    /// database's password when the value is that password, else one secret
    /// per value, named after the compose variable it came from or after
    /// its first user.
    fn secret_for(&mut self, component: &str, var: &str, value: &str) -> Expr {
        if let [Part::Var { name, .. }] = read::parts(value).as_slice() {
            return Expr::secret(&format!("{}/{}", self.landscape, dashed(name)));
        }
        let owner = self
            .passwords
            .iter()
            .find(|(c, p)| c.as_str() != component && p.as_str() == value)
            .map(|(c, _)| c.clone());
        if let Some(owner) = owner
            && self.add_edge(component, &owner)
        {
            return Expr::reference(&format!("{owner}.password"));
        }
        let name = match self.secrets.get(value) {
            Some(n) => n.clone(),
            None => {
                let mut name = format!("{}/{component}-{}", self.landscape, dashed(var));
                while self.secrets.values().any(|n| n == &name) {
                    name.push_str("-2");
                }
                self.secrets.insert(value.to_string(), name.clone());
                name
            }
        };
        Expr::secret(&name)
    }
}

fn dashed(var: &str) -> String {
    var.to_ascii_lowercase().replace('_', "-")
}

/// Reads a kind's parameters from the service's environment; a kind whose
/// required parameter is missing falls back to a plain `service`.
pub(super) fn kind_params(
    imp: &mut Importer,
    raw: &str,
) -> Result<(), Vec<crate::diag::Diagnostic>> {
    let Some(kind) = imp.services[raw].kind else {
        return Ok(());
    };
    let env = environment(imp, raw)?;
    let get = |var: &str| env.get(var).filter(|v| !v.is_null()).map(scalar);
    if kind
        .params
        .iter()
        .any(|p| matches!(p.absent, Absent::Fallback) && get(p.var).is_none())
        || (!FEATURES.reuse
            && (kind.params.iter().any(|p| get(p.var).is_none())
                || kind.env.iter().any(|(k, v)| get(k).as_deref() != Some(v))))
    {
        if let Some(info) = imp.services.get_mut(raw) {
            info.kind = None;
        }
        return Ok(());
    }
    let component = imp.services[raw].name.clone();
    let mut params = Vec::new();
    let mut consumed = BTreeSet::new();
    let mut nulls = Vec::new();
    for p in kind.params {
        consumed.insert(p.var.to_string());
        let value = match (get(p.var), p.absent) {
            (Some(v), _) => v,
            (None, Absent::Like(other, default)) => {
                nulls.push(p.var.to_string());
                get(other).unwrap_or_else(|| default.to_string())
            }
            (None, _) => {
                nulls.push(p.var.to_string());
                continue;
            }
        };
        let expr = if p.secret {
            imp.passwords
                .insert(component.clone(), read::concrete(&value));
            imp.secret_for(&component, p.var, &value)
        } else {
            imp.text(&value)
        };
        params.push((p.name.to_string(), expr));
    }
    for (var, value) in kind.env {
        consumed.insert(var.to_string());
        match get(var) {
            Some(v) if v == *value => {}
            Some(_) => {
                consumed.remove(*var);
            }
            None => nulls.push(var.to_string()),
        }
    }
    if let Some(info) = imp.services.get_mut(raw) {
        info.params = params;
        info.consumed = consumed;
        info.nulls = nulls;
    }
    Ok(())
}

/// `scheme://user:password@host…`.
fn url_with_password(value: &str) -> bool {
    let Some((_, rest)) = value.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority.rsplit_once('@').is_some_and(|(userinfo, _)| {
        userinfo
            .split_once(':')
            .is_some_and(|(_, pw)| !pw.is_empty())
    })
}

/// The service's environment with references, secrets and parameters.
pub(super) fn convert(imp: &mut Importer, raw: &str) -> Result<(), Vec<crate::diag::Diagnostic>> {
    let env = environment(imp, raw)?;
    let component = imp.services[raw].name.clone();
    let consumed = imp.services[raw].consumed.clone();
    let mut out: Vec<(String, Expr)> = Vec::new();
    let mut notes = Vec::new();
    let mut reached: BTreeSet<String> = BTreeSet::new();
    let mut ports_later = Vec::new();
    for (k, v) in &env {
        let var = scalar(k);
        if consumed.contains(&var) {
            continue;
        }
        if v.is_null() {
            imp.warn(
                crate::diag::ErrorCode::ComposeKeyDropped,
                &["services", raw, "environment", &var],
                format!("`{var}` of `{raw}` takes its value from the host's environment, which a .bom file cannot"),
                "give it a value, or a parameter: `NAME = name` with `param name: string`",
            );
            notes.push(format!(
                "`{var}` came from the host's environment: not imported"
            ));
            continue;
        }
        let value = scalar(v);
        let concrete = read::concrete(&value);
        if looks_secret(&var, &concrete) {
            let expr = imp.secret_for(&component, &var, &value);
            out.push((var, expr));
            continue;
        }
        if var.to_ascii_uppercase().contains("PORT")
            && concrete.parse::<u16>().is_ok()
            && !read::has_variable(&value)
        {
            ports_later.push((out.len(), var.clone(), concrete.clone()));
            out.push((var, Expr::str(&value)));
            continue;
        }
        let hosty = [
            "HOST", "SERVER", "ADDR", "ENDPOINT", "NODE", "BROKER", "URL", "URI", "DSN", "SERVICE",
        ]
        .iter()
        .any(|w| var.to_ascii_uppercase().contains(w));
        let before = reached.clone();
        let expr = reference_text(imp, raw, &component, &value, hosty, &mut reached);
        if url_with_password(&concrete) {
            // The password would be printed: the whole URL is a secret, and the
            // services it names become dependencies (access without a reference).
            let named: Vec<String> = reached
                .difference(&before)
                .filter_map(|r| imp.component(r))
                .collect();
            if let Some(info) = imp.services.get_mut(raw) {
                info.uses.extend(named);
            }
            notes.push(format!(
                "`{var}` carries a password in its URL: it is a secret, and a secret cannot be interpolated."
            ));
            let secret = imp.secret_for(&component, &var, &value);
            out.push((var, secret));
            continue;
        }
        out.push((var, expr));
    }
    // A bare port number next to a host reference: the referenced service's port.
    for (i, _var, number) in ports_later {
        let Ok(n) = number.parse::<u16>() else {
            continue;
        };
        let hit = reached.iter().find_map(|target| {
            let info = imp.services.get(target)?;
            info.ports
                .iter()
                .find(|(_, p, proto)| *p == n && proto == "tcp")
                .map(|(name, _, _)| format!("{}.ports.{name}", info.name))
        });
        if let (Some(r), Some(slot)) = (hit, out.get_mut(i)) {
            slot.1 = Expr::reference(&r);
        }
    }
    let nulls = imp.services[raw].nulls.clone();
    for var in nulls {
        out.push((var, Expr::Null));
    }
    if let Some(info) = imp.services.get_mut(raw) {
        info.env = out;
        info.env_notes = notes;
    }
    Ok(())
}

/// A string with host names of other services as references (`db` →
/// `db.host`, `db:5432` → `${db.host}:${db.ports.postgres}`) and compose
/// variables as parameters.
fn reference_text(
    imp: &mut Importer,
    raw: &str,
    component: &str,
    value: &str,
    hosty: bool,
    reached: &mut BTreeSet<String>,
) -> Expr {
    let parts = read::parts(value);
    let whole = parts.len() == 1 && hosty;
    let mut pieces = Vec::new();
    for part in parts {
        match part {
            Part::Var { .. } => {
                if let Expr::Str(p) = imp.text(&render_var(&part)) {
                    pieces.extend(p);
                }
            }
            Part::Text(t) => pieces.extend(hosts_in(imp, raw, component, &t, whole, reached)),
        }
    }
    Expr::Str(merge_lits(pieces))
}

fn render_var(part: &Part) -> String {
    match part {
        Part::Var { name, unset } if unset.is_empty() => format!("${{{name}}}"),
        Part::Var { name, unset } => format!("${{{name}:-{}}}", unset.replace('$', "$$")),
        Part::Text(t) => t.replace('$', "$$"),
    }
}

fn merge_lits(pieces: Vec<Piece>) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    for p in pieces {
        match (out.last_mut(), p) {
            (Some(Piece::Lit(a)), Piece::Lit(b)) => a.push_str(&b),
            (_, p) => out.push(p),
        }
    }
    out
}

/// References for the host names in a piece of literal text.
fn hosts_in(
    imp: &mut Importer,
    raw: &str,
    component: &str,
    text: &str,
    whole: bool,
    reached: &mut BTreeSet<String>,
) -> Vec<Piece> {
    let mut names: Vec<String> = imp
        .services
        .keys()
        .filter(|n| n.as_str() != raw)
        .cloned()
        .collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    if whole && let Some(target) = names.iter().find(|n| n.as_str() == text).cloned() {
        let to = imp.services[&target].name.clone();
        if imp.add_edge(component, &to) {
            reached.insert(target);
            return vec![Piece::Ref(format!("{to}.host"))];
        }
    }
    let mut out = Vec::new();
    let mut lit = String::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    'scan: while i < text.len() {
        let before_ok = i == 0 || matches!(bytes[i - 1], b'/' | b'@');
        if before_ok {
            for n in &names {
                if !text[i..].starts_with(n.as_str()) {
                    continue;
                }
                let after = i + n.len();
                let digits_end = text[after..]
                    .strip_prefix(':')
                    .map(|r| after + 1 + r.chars().take_while(char::is_ascii_digit).count())
                    .filter(|&e| e > after + 1);
                let boundary = after == text.len() || matches!(bytes[after], b'/' | b'?' | b',');
                if !(digits_end.is_some() || (boundary && i > 0)) {
                    continue;
                }
                if let Some(e) = digits_end
                    && !(e == text.len() || matches!(bytes[e], b'/' | b'?' | b','))
                {
                    continue;
                }
                let to = imp.services[n].name.clone();
                if !imp.add_edge(component, &to) {
                    continue;
                }
                reached.insert(n.clone());
                if !lit.is_empty() {
                    out.push(Piece::Lit(std::mem::take(&mut lit)));
                }
                out.push(Piece::Ref(format!("{to}.host")));
                i = after;
                if let Some(e) = digits_end
                    && let Ok(number) = text[after + 1..e].parse::<u16>()
                {
                    let port = port_of(imp, n, number);
                    out.push(Piece::Lit(String::from(":")));
                    out.push(Piece::Ref(format!("{to}.ports.{port}")));
                    i = e;
                }
                continue 'scan;
            }
        }
        let c = text[i..].chars().next().unwrap_or(' ');
        lit.push(c);
        i += c.len_utf8();
    }
    if !lit.is_empty() {
        out.push(Piece::Lit(lit));
    }
    out
}

/// The name of `target`'s TCP port `number`, declaring it when the compose
/// file does not (clients reach it there).
fn port_of(imp: &mut Importer, target: &str, number: u16) -> String {
    let Some(info) = imp.services.get_mut(target) else {
        return String::from("p");
    };
    if let Some((name, _, _)) = info
        .ports
        .iter()
        .find(|(_, p, proto)| *p == number && proto == "tcp")
    {
        return name.clone();
    }
    let mut name = super::values::port_name(number);
    if info.ports.iter().any(|(n, _, _)| *n == name) {
        name = format!("{name}-{number}");
    }
    info.ports.push((name.clone(), number, String::from("tcp")));
    name
}

/// Entries several services share, as named values merged into each.
pub(super) fn shared(imp: &Importer) -> Vec<Let> {
    if !FEATURES.reuse {
        return Vec::new();
    }
    let mut holders: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for (raw, info) in &imp.services {
        for (k, v) in &info.env {
            if *v != Expr::Null {
                holders
                    .entry((k.clone(), inline(v)))
                    .or_default()
                    .insert(raw.clone());
            }
        }
    }
    let mut groups: BTreeMap<BTreeSet<String>, Vec<String>> = BTreeMap::new();
    for ((k, _), services) in holders {
        if services.len() >= 2 {
            groups.entry(services).or_default().push(k);
        }
    }
    let mut lets = Vec::new();
    for (services, keys) in groups {
        let Some(first) = services.iter().next() else {
            continue;
        };
        // The `x-` fields (YAML anchors) among the shared entries keep their
        // names; what else the services share becomes one more value.
        let mut rest: BTreeSet<String> = keys.iter().cloned().collect();
        let mut parts: Vec<(String, BTreeSet<String>, String)> = Vec::new();
        for (x, v) in &imp.extensions {
            let map = v.get("environment").unwrap_or(v);
            let Some(m) = read::as_map(map, '=') else {
                continue;
            };
            let theirs: BTreeSet<String> = m.keys().map(scalar).collect();
            if !theirs.is_empty() && theirs.is_subset(&rest) {
                rest.retain(|k| !theirs.contains(k));
                parts.push((
                    x.trim_start_matches("x-").replace('-', "_"),
                    theirs,
                    format!(
                        "`{x}` of the compose file, merged into {}.",
                        list(imp, &services)
                    ),
                ));
            }
        }
        if rest.len() >= 2 {
            parts.push((
                format!("{}_env", imp.services[first].name.replace('-', "_")),
                rest,
                format!("Environment shared by {}.", list(imp, &services)),
            ));
        }
        for (name, part, comment) in parts {
            let entries: Vec<(String, Expr)> = imp.services[first]
                .env
                .iter()
                .filter(|(k, _)| part.contains(k))
                .cloned()
                .collect();
            let mut name = name;
            while lets.iter().any(|l: &Let| l.name == name)
                || imp.params.contains_key(&name)
                || imp.services.values().any(|i| i.name == name)
            {
                name.push('_');
            }
            lets.push(Let {
                name,
                entries,
                services: services.clone(),
                comment: vec![comment],
            });
        }
    }
    lets
}

fn list(imp: &Importer, services: &BTreeSet<String>) -> String {
    services
        .iter()
        .map(|s| format!("`{}`", imp.services[s].name))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_by_name_and_value() {
        assert!(looks_secret("MYSQL_ROOT_PASSWORD", "example"));
        assert!(looks_secret("SECRET_KEY_BASE", "abc"));
        assert!(looks_secret("RABBITMQ_DEFAULT_PASS", "guest"));
        assert!(!looks_secret("MYSQL_RANDOM_ROOT_PASSWORD", "yes"));
        assert!(!looks_secret("PASSWORD_FILE", "/run/secrets/x"));
        assert!(!looks_secret("DB_HOST", "db"));
        assert!(url_with_password("postgres://shop:pw@db:5432/shop"));
        assert!(!url_with_password("postgres://shop@db:5432/shop"));
        assert!(!url_with_password("http://api:8080/a@b:c"));
    }
}
