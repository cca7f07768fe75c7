//! One compose service as a component: the table of compose keys, each to
//! its native setting, through the `compose { }` escape hatch, or dropped.

use super::bom::{Expr, Member};
use super::env::Let;
use super::values::{duration_literal, duration_ms, scalar, shell_words, size_literal};
use super::{FEATURES, Importer, Info, read};
use crate::diag::{Diagnostic, ErrorCode};
use serde_yaml_ng::{Mapping, Value as Yaml};

/// Where a compose key goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Route {
    /// Its native `.bom` setting.
    Native,
    /// Passed through `compose { }`, as is.
    Hatch,
    /// Not carried (a warning says why).
    Drop(&'static str),
}

use Route::*;

/// Native when this bomc has the setting, else through the hatch.
const fn when(native: bool) -> Route {
    if native { Native } else { Hatch }
}

/// The table: compose service key → route. Keys not listed go through the hatch.
pub const ROUTES: &[(&str, Route)] = &[
    ("image", Native),
    ("command", Native),
    ("environment", Native),
    ("healthcheck", Native),
    ("labels", Native),
    ("depends_on", Native),
    ("expose", Native),
    ("deploy", Native),
    ("cpus", Native),
    ("mem_limit", Native),
    ("scale", Native),
    ("ports", when(FEATURES.publish)),
    ("volumes", when(FEATURES.mounts)),
    ("build", when(FEATURES.dockerfile)),
    ("restart", when(FEATURES.process)),
    ("user", when(FEATURES.process)),
    ("working_dir", when(FEATURES.process)),
    ("entrypoint", when(FEATURES.process)),
    ("env_file", when(FEATURES.env_file)),
    ("profiles", when(FEATURES.env_file)),
    ("cap_add", when(FEATURES.kernel)),
    ("cap_drop", when(FEATURES.kernel)),
    ("ulimits", when(FEATURES.kernel)),
    ("sysctls", when(FEATURES.kernel)),
    ("tmpfs", when(FEATURES.mounts)),
    ("mem_reservation", when(FEATURES.reserve)),
    (
        "networks",
        Drop("bomc gives each service the networks its references and dependencies need"),
    ),
    (
        "network_mode",
        Drop("bomc gives each service the networks its references and dependencies need"),
    ),
    (
        "links",
        Drop("a reference or `depends_on` gives the access (and the host name is the service's)"),
    ),
    (
        "secrets",
        Drop(
            "compose secrets from files have no .bom form: give the value as `env { NAME = secret(\"…\") }`",
        ),
    ),
    (
        "configs",
        Drop("compose configs have no .bom form: mount the file instead"),
    ),
    (
        "extends",
        Drop("`extends` is not followed: write the settings out"),
    ),
    ("container_name", Hatch),
];

pub fn route(key: &str) -> Route {
    ROUTES
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, r)| *r)
        .unwrap_or(Hatch)
}

/// The container ports of a service (from `ports` and `expose`) as named ports.
pub(super) fn declare_ports(
    imp: &mut Importer,
    raw: &str,
    info: &mut Info,
) -> Result<(), Vec<Diagnostic>> {
    let mut found = Vec::new();
    for key in ["ports", "expose"] {
        let Some(v) = info.yaml.get(key) else {
            continue;
        };
        let Yaml::Sequence(items) = v else {
            return Err(vec![imp.invalid(
                &["services", raw, key],
                format!("`{key}` of `{raw}` is not a list"),
                "write `ports: [\"8080:80\"]`",
            )]);
        };
        for item in items {
            match port_entry(imp, raw, item) {
                Some(p) => found.push((p.target, p.protocol)),
                None => {
                    return Err(vec![imp.invalid(
                        &["services", raw, key],
                        format!("`{}` in the `{key}` of `{raw}` is not a port", scalar(item)),
                        "a port is `[HOST_IP:][HOST:]CONTAINER[/PROTOCOL]`, e.g. `\"127.0.0.1:8080:80/tcp\"`",
                    )]);
                }
            }
        }
    }
    for (target, protocol) in found {
        if info
            .ports
            .iter()
            .any(|(_, n, p)| *n == target && *p == protocol)
        {
            continue;
        }
        let mut name = super::values::port_name(target);
        if protocol != "tcp" {
            name = format!("{name}-{protocol}");
        }
        if info.ports.iter().any(|(n, _, _)| *n == name) {
            name = format!("{name}-{target}");
        }
        info.ports.push((name, target, protocol));
    }
    Ok(())
}

/// One compose port.
struct Port {
    ip: Option<String>,
    published: Option<String>,
    target: u16,
    protocol: String,
}

fn port_entry(imp: &mut Importer, raw: &str, item: &Yaml) -> Option<Port> {
    match item {
        Yaml::Number(n) => Some(Port {
            ip: None,
            published: None,
            target: u16::try_from(n.as_u64()?).ok()?,
            protocol: String::from("tcp"),
        }),
        Yaml::String(s) => {
            let s = imp.fixed(s, &["services", raw, "ports"]);
            let (spec, protocol) = match s.rsplit_once('/') {
                Some((a, p)) => (a.to_string(), p.to_string()),
                None => (s.clone(), String::from("tcp")),
            };
            let parts: Vec<&str> = spec.rsplitn(3, ':').collect();
            let target: u16 = parts.first()?.parse().ok()?;
            Some(Port {
                ip: parts.get(2).map(|s| s.trim_matches(['[', ']']).to_string()),
                published: parts
                    .get(1)
                    .map(|s| s.to_string())
                    .filter(|s| !s.is_empty()),
                target,
                protocol,
            })
        }
        Yaml::Mapping(m) => Some(Port {
            ip: m.get("host_ip").map(scalar),
            published: m.get("published").map(scalar),
            target: scalar(m.get("target")?).parse().ok()?,
            protocol: m
                .get("protocol")
                .map(scalar)
                .unwrap_or_else(|| String::from("tcp")),
        }),
        _ => None,
    }
}

/// The compose names a service depends on.
pub(super) fn depends_on_names(imp: &Importer, raw: &str) -> Vec<String> {
    let Some(v) = imp.services[raw].yaml.get("depends_on") else {
        return Vec::new();
    };
    let names: Vec<String> = match v {
        Yaml::Sequence(items) => items.iter().map(scalar).collect(),
        Yaml::Mapping(m) => m.keys().map(scalar).collect(),
        _ => Vec::new(),
    };
    names.iter().filter_map(|n| imp.component(n)).collect()
}

/// Whether any service waits for `raw` to complete.
fn waited_for_completion(imp: &Importer, raw: &str) -> bool {
    imp.services.values().any(|i| {
        i.yaml
            .get("depends_on")
            .and_then(|d| d.get(raw))
            .and_then(|d| d.get("condition"))
            .and_then(Yaml::as_str)
            == Some("service_completed_successfully")
    })
}

/// The component for one compose service, and the image definition it builds.
pub(super) fn component(
    imp: &mut Importer,
    raw: &str,
    lets: &[Let],
) -> Result<(Member, Option<Member>), Vec<Diagnostic>> {
    let info = &imp.services[raw];
    let yaml = info.yaml.clone();
    let name = info.name.clone();
    let kind = info.kind;
    let mut m: Vec<Member> = Vec::new();
    let mut hatch: Vec<(String, Expr)> = Vec::new();
    let mut hatched: Vec<String> = Vec::new();
    let mut image_def = None;
    let path = |k: &str| vec![String::from("services"), raw.to_string(), k.to_string()];

    // Image, or a build (lang: an image definition of the project's Dockerfile).
    if let Some(image) = yaml.get("image").and_then(Yaml::as_str) {
        let concrete = read::concrete(image);
        let version = kind.and_then(|k| super::kinds::version_for(k, &concrete));
        match version {
            Some(v) if !read::has_variable(image) => m.push(Member::set("version", Expr::str(&v))),
            _ if yaml.contains_key("build") && route("build") == Native => {}
            _ => {
                let e = imp.text(image);
                m.push(Member::set("image", e));
            }
        }
    }
    for (p, v) in imp.services[raw].params.clone() {
        m.push(Member::set(&p, v));
    }
    let mut notes: Vec<String> = imp.services[raw].env_notes.clone();
    let mut dropped: Vec<(String, &'static str)> = Vec::new();
    let mut replicas = None;
    let mut cpu = None;
    let mut memory = None;
    let mut reserve: Vec<(String, Expr)> = Vec::new();

    for (k, v) in &yaml {
        let key = scalar(k);
        let r = if key.starts_with("x-") {
            Hatch
        } else {
            route(&key)
        };
        match r {
            Drop(why) => {
                let p = path(&key);
                let p: Vec<&str> = p.iter().map(String::as_str).collect();
                imp.warn(
                    ErrorCode::ComposeKeyDropped,
                    &p,
                    format!("`{key}` of `{raw}` is not imported: {why}"),
                    "the .bom says so in a comment on the component; docs/import.md lists what is not imported",
                );
                dropped.push((key, why));
                continue;
            }
            Hatch => {
                // Volumes and tmpfs go through the hatch together, below.
                if key != "volumes" && key != "tmpfs" {
                    let e = imp.raw(v);
                    hatch.push((key.clone(), e));
                    hatched.push(key);
                }
                continue;
            }
            Native => {}
        }
        match key.as_str() {
            "image" | "environment" | "expose" => {}
            "command" | "entrypoint" => {
                let list = match v {
                    Yaml::String(s) => {
                        match shell_words(&read::concrete(s)).filter(|_| !read::has_variable(s)) {
                            Some(words) => Expr::List(words.iter().map(|w| Expr::str(w)).collect()),
                            None => {
                                hatch.push((key.clone(), imp.raw(v)));
                                hatched.push(key);
                                continue;
                            }
                        }
                    }
                    Yaml::Sequence(items) => {
                        Expr::List(items.iter().map(|i| imp.text(&scalar(i))).collect())
                    }
                    Yaml::Null => continue,
                    _ => {
                        return Err(vec![invalid(
                            imp,
                            raw,
                            &key,
                            "a string or a list of strings",
                        )]);
                    }
                };
                m.push(Member::set(&key, list));
            }
            "healthcheck" => {
                let Some(h) = v.as_mapping() else {
                    return Err(vec![invalid(imp, raw, &key, "a mapping")]);
                };
                match health(imp, raw, h) {
                    Some(block) => m.push(block),
                    None => {
                        hatch.push((key.clone(), imp.raw(v)));
                        hatched.push(key);
                    }
                }
            }
            "labels" => match read::as_map(v, '=') {
                Some(map) => {
                    let entries = map
                        .iter()
                        .map(|(k, v)| (scalar(k), imp.text(&scalar(v))))
                        .collect();
                    m.push(Member::set("labels", Expr::Map(entries)));
                }
                None => {
                    return Err(vec![invalid(
                        imp,
                        raw,
                        &key,
                        "a mapping or a list of `NAME=VALUE`",
                    )]);
                }
            },
            "depends_on" => {}
            "deploy" => {
                let Some(d) = v.as_mapping() else {
                    return Err(vec![invalid(imp, raw, &key, "a mapping")]);
                };
                let mut rest = d.clone();
                if let Some(r) = rest.remove("replicas") {
                    replicas = scalar(&r).parse::<i64>().ok();
                }
                if let Some(Yaml::Mapping(res)) = rest.get("resources").cloned() {
                    let mut res_rest = res.clone();
                    if let Some(Yaml::Mapping(limits)) = res.get("limits") {
                        let mut l = limits.clone();
                        if let Some(c) = l.remove("cpus") {
                            cpu = scalar(&c).parse::<f64>().ok();
                        }
                        if let Some(mem) = l.remove("memory") {
                            memory = size_literal(&scalar(&mem));
                        }
                        res_rest.remove("limits");
                        if !l.is_empty() {
                            res_rest.insert(Yaml::from("limits"), Yaml::Mapping(l));
                        }
                    }
                    if FEATURES.reserve
                        && let Some(Yaml::Mapping(r)) = res.get("reservations")
                    {
                        let mut r = r.clone();
                        if let Some(c) = r
                            .remove("cpus")
                            .and_then(|c| scalar(&c).parse::<f64>().ok())
                        {
                            reserve.push((String::from("cpu"), Expr::Float(c)));
                        }
                        if let Some(mem) =
                            r.remove("memory").and_then(|m| size_literal(&scalar(&m)))
                        {
                            reserve.push((String::from("memory"), Expr::Raw(mem)));
                        }
                        res_rest.remove("reservations");
                        if !r.is_empty() {
                            res_rest.insert(Yaml::from("reservations"), Yaml::Mapping(r));
                        }
                    }
                    rest.remove("resources");
                    if !res_rest.is_empty() {
                        rest.insert(Yaml::from("resources"), Yaml::Mapping(res_rest));
                    }
                }
                if !rest.is_empty() {
                    hatch.push((key.clone(), imp.raw(&Yaml::Mapping(rest))));
                    hatched.push(key);
                }
            }
            "cpus" => cpu = scalar(v).parse::<f64>().ok(),
            "mem_limit" => memory = size_literal(&scalar(v)),
            "scale" => replicas = scalar(v).parse::<i64>().ok(),
            "mem_reservation" => {
                if let Some(s) = size_literal(&scalar(v)) {
                    reserve.push((String::from("memory"), Expr::Raw(s)));
                }
            }
            "restart" | "user" | "working_dir" => m.push(Member::set(&key, imp.text(&scalar(v)))),
            "env_file" | "profiles" => {
                let items = match v {
                    Yaml::Sequence(items) => items
                        .iter()
                        .map(|i| imp.text(&scalar(i.get("path").unwrap_or(i))))
                        .collect(),
                    other => vec![imp.text(&scalar(other))],
                };
                m.push(Member::set(&key, Expr::List(items)));
            }
            "cap_add" | "cap_drop" => {
                let items = v
                    .as_sequence()
                    .map(|s| s.iter().map(|i| Expr::str(&scalar(i))).collect())
                    .unwrap_or_default();
                let which = if key == "cap_add" { "add" } else { "drop" };
                let existing = m.iter_mut().find(
                    |x| matches!(&x.body, super::bom::Body::Set(k, _) if k == "capabilities"),
                );
                match existing {
                    Some(Member {
                        body: super::bom::Body::Set(_, Expr::Map(e)),
                        ..
                    }) => e.push((which.to_string(), Expr::List(items))),
                    _ => m.push(Member::set(
                        "capabilities",
                        Expr::Map(vec![(which.to_string(), Expr::List(items))]),
                    )),
                }
            }
            // Docker's "unlimited" (-1) has no .bom form.
            "ulimits"
                if serde_yaml_ng::to_string(v)
                    .unwrap_or_default()
                    .contains("-1") =>
            {
                hatch.push((key.clone(), imp.raw(v)));
                hatched.push(key);
            }
            "ulimits" | "sysctls" => {
                let map = read::as_map(v, '=').unwrap_or_default();
                let e = imp.raw(&Yaml::Mapping(map));
                m.push(Member::set(&key, e));
            }
            "ports" => publish(imp, raw, v, &mut m, &mut hatch),
            "volumes" | "tmpfs" => {}
            "build" => {
                image_def = Some(build(imp, raw, &name, v, &mut m));
                // What the image definition does not say goes to compose as is.
                if let Some(b) = v.as_mapping() {
                    let mut other = b.clone();
                    for k in ["context", "dockerfile", "target", "args"] {
                        other.remove(k);
                    }
                    if !other.is_empty() {
                        hatch.push((key.clone(), imp.raw(&Yaml::Mapping(other))));
                        hatched.push(key);
                    }
                }
            }
            _ => {
                hatch.push((key.clone(), imp.raw(v)));
                hatched.push(key);
            }
        }
    }

    // Ports: every container port, named.
    let ports = imp.services[raw].ports.clone();
    let own_ports: Vec<(String, Expr)> = ports
        .iter()
        .filter(|(n, p, _)| kind.is_none_or(|k| !k.ports.iter().any(|(kn, kp)| kn == n && kp == p)))
        .map(|(n, p, proto)| {
            let v = if proto == "tcp" {
                Expr::Int(i64::from(*p))
            } else {
                Expr::str(&format!("{p}/{proto}"))
            };
            (n.clone(), v)
        })
        .collect();
    if !own_ports.is_empty() {
        insert_after(
            &mut m,
            &["command", "entrypoint", "image", "version"],
            Member::set("ports", Expr::Map(own_ports)),
        );
        // `publish` right after the ports it names.
        if let Some(i) = m
            .iter()
            .position(|x| matches!(&x.body, super::bom::Body::Set(k, _) if k == "publish"))
        {
            let publish = m.remove(i);
            insert_after(&mut m, &["ports"], publish);
        }
    }

    // Volumes: named ones natively; binds, tmpfs and read-only mounts as mounts (lang).
    volumes(imp, raw, &name, &yaml, &mut m, &mut hatch, &mut hatched)?;

    // Environment, with the shared values merged in.
    let env = imp.services[raw].env.clone();
    let mine: Vec<&Let> = lets.iter().filter(|l| l.services.contains(raw)).collect();
    let rest: Vec<(String, Expr)> = env
        .iter()
        .filter(|(k, _)| !mine.iter().any(|l| l.entries.iter().any(|(lk, _)| lk == k)))
        .cloned()
        .collect();
    if !mine.is_empty() {
        let mut args: Vec<Expr> = mine.iter().map(|l| Expr::Raw(l.name.clone())).collect();
        if !rest.is_empty() {
            args.push(Expr::Map(rest));
        }
        let e = if args.len() == 1 {
            args.remove(0)
        } else {
            Expr::Call(String::from("merge"), args)
        };
        m.push(Member::set("env", e).with_comment(notes.drain(..)));
    } else if !rest.is_empty() {
        m.push(Member::set("env", Expr::Map(rest)).with_comment(notes.drain(..)));
    }

    let mut deps = depends_on_names(imp, raw);
    for u in imp.services[raw].uses.clone() {
        if !deps.contains(&u) {
            deps.push(u);
        }
    }
    if !deps.is_empty() {
        m.push(Member::set(
            "depends_on",
            Expr::List(deps.iter().map(|d| Expr::Raw(d.clone())).collect()),
        ));
    }
    if waited_for_completion(imp, raw) {
        m.push(
            Member::set("run", Expr::str("once")).with_comment([String::from(
                "Another service waits for it to complete: a one-off job.",
            )]),
        );
    }
    if let Some(r) = replicas {
        m.push(Member::set("replicas", Expr::Int(r)));
    }
    if let Some(c) = cpu {
        m.push(Member::set("cpu", Expr::Float(c)));
    }
    if let Some(mem) = memory {
        m.push(Member::set("memory", Expr::Raw(mem)));
    }
    if !reserve.is_empty() {
        m.push(Member::set("reserve", Expr::Map(reserve)));
    }
    let mut extra = std::mem::take(
        &mut imp
            .services
            .get_mut(raw)
            .map(|i| std::mem::take(&mut i.extra))
            .unwrap_or_default(),
    );
    m.append(&mut extra);
    if !hatch.is_empty() {
        hatched.sort();
        hatched.dedup();
        let why = hatched
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        m.push(
            Member::set("compose", Expr::Map(hatch)).with_comment([format!(
                "Passed through to compose as is (no .bom setting): {why}."
            )]),
        );
    }
    let mut comment = Vec::new();
    for (k, why) in dropped {
        comment.push(format!("Not imported: `{k}`: {why}."));
    }
    comment.extend(notes);
    if let Some(rc) = imp.services[raw]
        .rancher_notes
        .clone()
        .into_iter()
        .reduce(|a, b| format!("{a} {b}"))
    {
        comment.push(rc);
    }
    let head = format!("{} {name}", kind.map(|k| k.name).unwrap_or("service"));
    Ok((Member::block(&head, m).with_comment(comment), image_def))
}

fn insert_after(m: &mut Vec<Member>, keys: &[&str], member: Member) {
    let pos = m
        .iter()
        .rposition(|x| matches!(&x.body, super::bom::Body::Set(k, _) if keys.contains(&k.as_str())))
        .map(|i| i + 1)
        .unwrap_or(0);
    m.insert(pos, member);
}

fn invalid(imp: &Importer, raw: &str, key: &str, want: &str) -> Diagnostic {
    imp.invalid(
        &["services", raw, key],
        format!("`{key}` of `{raw}` is not {want}"),
        &format!("compose takes {want} for `{key}`: see the Compose Specification"),
    )
}

/// `healthcheck` as `health`; `None` when only the hatch can say it
/// (timings on the image's own check).
fn health(imp: &mut Importer, raw: &str, h: &Mapping) -> Option<Member> {
    let mut m = Vec::new();
    if h.get("disable").and_then(Yaml::as_bool) == Some(true) {
        m.push(Member::set("command", Expr::List(vec![Expr::str("NONE")])));
        return Some(Member::block("health", m));
    }
    let test = h.get("test")?;
    let command = match test {
        Yaml::String(s) if FEATURES.shell_health => imp.text(s),
        Yaml::String(s) => Expr::List(vec![Expr::str("CMD-SHELL"), imp.text(s)]),
        Yaml::Sequence(items) => Expr::List(items.iter().map(|i| imp.text(&scalar(i))).collect()),
        _ => return None,
    };
    m.push(Member::set("command", command));
    for (key, setting) in [
        ("interval", "interval"),
        ("timeout", "timeout"),
        ("start_period", "start_period"),
    ] {
        if let Some(v) = h.get(key) {
            let text = imp.fixed(&scalar(v), &["services", raw, "healthcheck", key]);
            m.push(Member::set(
                setting,
                Expr::Raw(duration_literal(duration_ms(&text)?)),
            ));
        }
    }
    // Docker waits 30 s for a check the file gives no timeout; bomc's
    // default is 5 s on every target. Said, so the check keeps its time.
    if h.get("timeout").is_none() {
        let at = m
            .iter()
            .position(|x| matches!(&x.body, super::bom::Body::Set(k, _) if k == "interval"));
        let timeout = Member::set("timeout", Expr::Raw(duration_literal(30_000))).with_comment([
            String::from(
                "compose's default: Docker waits 30 s for a check that sets no timeout (bomc: 5 s)",
            ),
        ]);
        m.insert(at.map_or(1, |i| i + 1), timeout);
    }
    if let Some(r) = h.get("retries") {
        m.push(Member::set("unhealthy", Expr::Int(scalar(r).parse().ok()?)));
    }
    if h.keys().any(|k| {
        !matches!(
            k.as_str(),
            Some("test" | "interval" | "timeout" | "start_period" | "retries")
        )
    }) {
        return None;
    }
    Some(Member::block("health", m))
}

/// `ports` as `publish` (lang): each published port by the name of its
/// container port; the whole list through the hatch if one cannot be said so.
fn publish(
    imp: &mut Importer,
    raw: &str,
    v: &Yaml,
    m: &mut Vec<Member>,
    hatch: &mut Vec<(String, Expr)>,
) {
    let ports = imp.services[raw].ports.clone();
    let mut entries: Vec<(String, Expr)> = Vec::new();
    let mut ok = true;
    for item in v.as_sequence().cloned().unwrap_or_default() {
        let Some(p) = port_entry(imp, raw, &item) else {
            ok = false;
            break;
        };
        let Some(published) = p.published.filter(|s| s.parse::<u16>().is_ok()) else {
            ok = false;
            break;
        };
        let Some((name, _, _)) = ports
            .iter()
            .find(|(_, n, proto)| *n == p.target && *proto == p.protocol)
        else {
            ok = false;
            break;
        };
        if entries.iter().any(|(n, _)| n == name) {
            ok = false;
            break;
        }
        let value = match p.ip.filter(|ip| !ip.is_empty()) {
            Some(ip) => Expr::str(&format!("{ip}:{published}")),
            None => Expr::Int(published.parse().unwrap_or_default()),
        };
        entries.push((name.clone(), value));
    }
    if ok {
        if !entries.is_empty() {
            m.push(Member::set("publish", Expr::Map(entries)));
        }
    } else {
        let e = imp.raw(v);
        hatch.push((String::from("ports"), e));
    }
}

/// A `build` as an image definition built from the project's Dockerfile.
fn build(imp: &mut Importer, raw: &str, name: &str, v: &Yaml, m: &mut Vec<Member>) -> Member {
    let mut def = Vec::new();
    let (context, rest) = match v {
        Yaml::Mapping(b) => (
            b.get("context")
                .map(scalar)
                .unwrap_or_else(|| String::from(".")),
            Some(b.clone()),
        ),
        other => (scalar(other), None),
    };
    let context = imp.fixed(&context, &["services", raw, "build"]);
    def.push(Member::set("context", Expr::str(&relative_path(&context))));
    // Compose's default, which bomc needs said to build the project's own.
    let dockerfile = rest
        .as_ref()
        .and_then(|b| b.get("dockerfile"))
        .map(scalar)
        .unwrap_or_else(|| String::from("Dockerfile"));
    def.push(Member::set("dockerfile", imp.text(&dockerfile)));
    if let Some(b) = rest {
        if let Some(t) = b.get("target") {
            def.push(Member::set("target", imp.text(&scalar(t))));
        }
        if let Some(a) = b.get("args").and_then(|a| read::as_map(a, '=')) {
            let entries = a
                .iter()
                .map(|(k, v)| (scalar(k), imp.text(&scalar(v))))
                .collect();
            def.push(Member::set("args", Expr::Map(entries)));
        }
    }
    // Not the component's own name: `build = web` inside `web` would name the component.
    let image_name = format!("{}_image", name.replace('-', "_"));
    m.insert(0, Member::set("build", Expr::Raw(image_name.clone())));
    Member::block(&format!("image {image_name}"), def).with_comment([format!(
        "Built from the project's Dockerfile, as `{raw}` was."
    )])
}

/// A host path as the `.bom` writes it: relative ones with `./`.
fn relative_path(p: &str) -> String {
    if p.starts_with('/') || p.starts_with("./") || p.starts_with("../") || p.starts_with('~') {
        p.to_string()
    } else if p == "." {
        String::from(".")
    } else {
        format!("./{p}")
    }
}

/// One compose volume entry.
struct Volume {
    kind: &'static str,
    source: String,
    target: String,
    read_only: bool,
    plain: bool,
}

fn volume_entry(imp: &mut Importer, raw: &str, item: &Yaml) -> Option<Volume> {
    match item {
        Yaml::String(s) => {
            let s = imp.fixed(s, &["services", raw, "volumes"]);
            let parts: Vec<&str> = s.split(':').collect();
            let (source, target, mode) = match parts.as_slice() {
                [t] => ("", *t, ""),
                [s, t] => (*s, *t, ""),
                [s, t, m] => (*s, *t, *m),
                _ => return None,
            };
            let kind = if source.is_empty() {
                "volume"
            } else if source.starts_with(['.', '/', '~']) {
                "bind"
            } else {
                "volume"
            };
            let modes: Vec<&str> = mode.split(',').filter(|m| !m.is_empty()).collect();
            Some(Volume {
                kind,
                source: source.to_string(),
                target: target.to_string(),
                read_only: modes.contains(&"ro"),
                plain: modes.iter().all(|m| matches!(*m, "ro" | "rw")),
            })
        }
        Yaml::Mapping(v) => {
            let kind = match v.get("type").map(scalar).as_deref() {
                Some("bind") => "bind",
                Some("tmpfs") => "tmpfs",
                Some("volume") | None => "volume",
                _ => return None,
            };
            let known = v
                .keys()
                .all(|k| matches!(k.as_str(), Some("type" | "source" | "target" | "read_only")));
            Some(Volume {
                kind,
                source: v.get("source").map(scalar).unwrap_or_default(),
                target: scalar(v.get("target")?),
                read_only: v.get("read_only").and_then(Yaml::as_bool).unwrap_or(false),
                plain: known,
            })
        }
        _ => None,
    }
}

/// `volumes` and `tmpfs`: named volumes as `volumes { }`, the rest as
/// `mounts { }` (lang) or, without it, the whole list through the hatch.
fn volumes(
    imp: &mut Importer,
    raw: &str,
    name: &str,
    yaml: &Mapping,
    m: &mut Vec<Member>,
    hatch: &mut Vec<(String, Expr)>,
    hatched: &mut Vec<String>,
) -> Result<(), Vec<Diagnostic>> {
    let kind = imp.services[raw].kind;
    let mut named: Vec<(String, Expr)> = Vec::new();
    let mut mounts: Vec<Member> = Vec::new();
    let mut everything_native = true;
    let items = match yaml.get("volumes") {
        Some(Yaml::Sequence(items)) => items.clone(),
        Some(_) => return Err(vec![invalid(imp, raw, "volumes", "a list")]),
        None => Vec::new(),
    };
    for item in &items {
        let Some(v) = volume_entry(imp, raw, item) else {
            return Err(vec![invalid(
                imp,
                raw,
                "volumes",
                "a list of `SOURCE:TARGET[:MODE]` or volume mappings",
            )]);
        };
        if !v.plain {
            everything_native = false;
            continue;
        }
        if kind.is_some_and(|k| k.data == v.target) && v.kind == "volume" && !v.read_only {
            continue;
        }
        match (v.kind, v.read_only) {
            ("volume", false) => {
                let key = if v.source.is_empty() {
                    format!("data{}", named.len() + 1)
                } else {
                    v.source.replace(
                        |c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)),
                        "_",
                    )
                };
                named.push((key, Expr::str(&v.target)));
            }
            ("volume", true) => {
                let key = v.source.clone();
                mounts.push(Member::set(
                    &v.target,
                    Expr::Map(vec![
                        (String::from("volume"), Expr::str(&key)),
                        (String::from("read_only"), Expr::Bool(true)),
                    ]),
                ));
            }
            ("bind", ro) => {
                let mut e = vec![(String::from("bind"), Expr::str(&relative_path(&v.source)))];
                if ro {
                    e.push((String::from("read_only"), Expr::Bool(true)));
                }
                mounts.push(Member::set(&v.target, Expr::Map(e)));
            }
            _ => mounts.push(Member::set(
                &v.target,
                Expr::Map(vec![(String::from("tmpfs"), Expr::Bool(true))]),
            )),
        }
    }
    if let Some(t) = yaml.get("tmpfs") {
        let list = match t {
            Yaml::Sequence(items) => items.iter().map(scalar).collect(),
            other => vec![scalar(other)],
        };
        for target in list {
            if target.contains(':') {
                everything_native = false;
            } else {
                mounts.push(Member::set(
                    &target,
                    Expr::Map(vec![(String::from("tmpfs"), Expr::Bool(true))]),
                ));
            }
        }
    }
    let native = route("volumes") == Native && everything_native;
    let needs_mounts = !mounts.is_empty();
    if native || !needs_mounts && everything_native {
        if !named.is_empty() {
            m.push(Member::set("volumes", Expr::Map(named)));
        }
        if needs_mounts {
            m.push(Member::block("mounts", mounts));
        }
        return Ok(());
    }
    let _ = name;
    if let Some(v) = yaml.get("volumes") {
        hatch.push((String::from("volumes"), imp.raw(v)));
        hatched.push(String::from("volumes"));
    }
    if let Some(t) = yaml.get("tmpfs") {
        hatch.push((String::from("tmpfs"), imp.raw(t)));
        hatched.push(String::from("tmpfs"));
    }
    Ok(())
}
