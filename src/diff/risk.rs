//! Risk classes of plan changes, from what each setting means on the
//! targets: a stateful component removed loses its data; replicas to zero or
//! a port moved under a live route is downtime; a public component, a new
//! route, port or ingress source, TLS removed or a secret turned into a
//! literal is exposure; bigger instances, more storage, replicas, CPU or
//! memory and new services cost more. The artifact layers classify their own
//! changes (`cloudformation.rs`, `compose.rs`); here, after all of them,
//! ephemeral environments' data loss is set aside (their data is disposable)
//! and literals that replace secrets are redacted everywhere.

use super::plan::is_secret;
use super::{Change, ChangeKind, Layer, Risk, Sides};
use crate::lower::plan::{Role, Workload};
use serde_json::{Value as Json, json};
use std::collections::BTreeSet;

/// Classifies the plan changes, then applies the environment-wide rules.
pub(super) fn classify(sides: &Sides, changes: &mut [Change]) {
    // (component, literal) of secrets turned into literals.
    let mut literals: BTreeSet<(String, String)> = BTreeSet::new();
    for c in changes.iter_mut().filter(|c| c.target == Layer::Plan) {
        plan_change(sides, c);
        if let Some(literal) = secret_to_literal(c)
            && let Some(component) = &c.component
        {
            literals.insert((component.clone(), literal));
        }
    }
    for c in changes.iter_mut() {
        for (component, literal) in &literals {
            if c.component.as_ref() == Some(component) && !literal.is_empty() {
                for v in [&mut c.old, &mut c.new].into_iter().flatten() {
                    hide(v, literal);
                }
            }
        }
        if !sides.persistent && c.risks.contains(&Risk::DataLoss) {
            let whys: Vec<String> = c
                .reasons
                .iter()
                .filter(|r| r.risk == Risk::DataLoss)
                .map(|r| r.why.clone())
                .collect();
            c.reasons.retain(|r| r.risk != Risk::DataLoss);
            c.risks.retain(|r| *r != Risk::DataLoss);
            for why in whys {
                c.notes.push(format!(
                    "not data-loss: the environment is ephemeral, its data disposable ({why})"
                ));
            }
        }
    }
}

/// The literal that replaces a secret in an environment variable, which
/// the change then hides.
fn secret_to_literal(c: &mut Change) -> Option<String> {
    let var = c.setting.as_deref()?.strip_prefix("env.")?.to_string();
    let was_secret = c.old.as_ref().is_some_and(is_secret);
    let literal = match &c.new {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Object(m)) => m.get("compose_only")?.as_str()?.to_string(),
        _ => return None,
    };
    if was_secret && c.change == ChangeKind::Changed {
        c.new = Some(json!({ "redacted": "a literal that replaces a secret is not shown" }));
        c.risk(
            Risk::Exposure,
            format!(
                "`{var}` was a secret and is now a literal value, written into every target's files"
            ),
        );
        return Some(literal);
    }
    None
}

/// Replaces a literal wherever it appears in a value.
fn hide(v: &mut Json, literal: &str) {
    match v {
        Json::String(s) if s.contains(literal) => *s = s.replace(literal, "(redacted)"),
        Json::Array(items) => items.iter_mut().for_each(|i| hide(i, literal)),
        Json::Object(m) => m.values_mut().for_each(|i| hide(i, literal)),
        _ => {}
    }
}

fn number(v: &Option<Json>) -> Option<f64> {
    v.as_ref().and_then(Json::as_f64)
}

/// `db.m5.large` → (family `m5`, size weight); `None` if not recognised.
fn instance_size(class: &str) -> Option<(String, f64)> {
    let parts: Vec<&str> = class.split('.').collect();
    let (i, weight) = parts.iter().enumerate().find_map(|(i, p)| {
        let w = match *p {
            "nano" => 1.0,
            "micro" => 2.0,
            "small" => 4.0,
            "medium" => 8.0,
            "large" => 16.0,
            "xlarge" => 32.0,
            "metal" => 32.0 * 1024.0,
            other => {
                let n: f64 = other.strip_suffix("xlarge")?.parse().ok()?;
                32.0 * n
            }
        };
        Some((i, w))
    })?;
    let family = parts.get(i.checked_sub(1)?)?.to_string();
    Some((family, weight))
}

/// Whether an instance class, node type or instance type grows: a bigger
/// size, or at the same size a family that costs more (burstable `t` → any
/// other). Unrecognised names count as growing: a reviewer should look.
fn class_up(old: &str, new: &str) -> bool {
    match (instance_size(old), instance_size(new)) {
        (Some((fa, wa)), Some((fb, wb))) => {
            wb > wa || (wb == wa && fa.starts_with('t') && !fb.starts_with('t'))
        }
        _ => old != new,
    }
}

fn role_name(w: &Workload) -> String {
    match &w.role {
        Role::Database(d) => format!("a database ({})", d.instance_class),
        Role::Cache(c) => format!("a cache ({})", c.node_type),
        Role::Search(s) => format!("a search domain ({})", s.instance_type),
        Role::Queue(q) => format!("a message broker ({})", q.instance_type),
        Role::Bucket(_) => String::from("an object storage bucket"),
        Role::LoadBalancer(_) => String::from("a load balancer"),
        Role::Service => String::from("a service"),
        Role::Job => String::from("a job"),
    }
}

fn plan_change(sides: &Sides, c: &mut Change) {
    let Some(component) = c.component.clone() else {
        environment_change(sides, c);
        return;
    };
    let new_w = sides.new_workload(&component);
    match (c.change, c.setting.clone()) {
        (ChangeKind::Added, None) => {
            let Some(w) = new_w else { return };
            if w.role.is_managed() {
                c.risk(Risk::Cost, format!("new managed service: {}", role_name(w)));
            } else if w.role == Role::Service {
                c.risk(
                    Risk::Cost,
                    format!(
                        "new service: {} × {} vCPU, {} MiB",
                        w.replicas, w.cpu, w.memory_mib
                    ),
                );
            }
            if w.public {
                c.risk(
                    Risk::Exposure,
                    format!(
                        "new public component: {} reachable from outside",
                        role_name(w)
                    ),
                );
            }
        }
        (ChangeKind::Removed, None) => {
            let Some(w) = sides.old_workload(&component) else {
                return;
            };
            if w.stateful {
                c.risk(
                    Risk::DataLoss,
                    format!(
                        "stateful component removed: the data of {} is deleted with it",
                        role_name(w)
                    ),
                );
            }
        }
        (_, Some(setting)) => setting_change(sides, &component, &setting, c),
        _ => {}
    }
}

/// The environment itself: becoming ephemeral means deleting itself, data
/// and all, at expiry.
fn environment_change(sides: &Sides, c: &mut Change) {
    if c.setting.as_deref() == Some("lifetime.kind")
        && c.new.as_ref().and_then(Json::as_str) == Some("ephemeral")
        && sides.new.workloads.iter().any(|w| w.stateful)
    {
        c.risk(
            Risk::DataLoss,
            "the environment becomes ephemeral: it deletes itself, stateful components included, when its TTL runs out",
        );
    }
}

fn setting_change(sides: &Sides, component: &str, setting: &str, c: &mut Change) {
    let (old, new) = (number(&c.old), number(&c.new));
    let up = matches!((old, new), (Some(a), Some(b)) if b > a)
        || (c.change == ChangeKind::Added && new.is_some());
    let public = sides.new_workload(component).is_some_and(|w| w.public);
    let text = |v: &Option<Json>| v.as_ref().and_then(Json::as_str).map(String::from);
    let flag = |v: &Option<Json>| v.as_ref().and_then(Json::as_bool);
    match setting {
        "replicas" => {
            if matches!((old, new), (Some(a), Some(b)) if a > 0.0 && b == 0.0) {
                c.risk(
                    Risk::Downtime,
                    "replicas to zero: nothing serves it any more",
                );
            } else if up {
                c.risk(Risk::Cost, "more replicas");
            }
        }
        "instance_class" | "node_type" | "instance_type" => {
            if let (Some(a), Some(b)) = (text(&c.old), text(&c.new))
                && class_up(&a, &b)
            {
                c.risk(Risk::Cost, format!("bigger {setting}: {a} → {b}"));
            }
        }
        "storage_gib" if up => c.risk(Risk::Cost, "more storage"),
        "fargate" => {
            let pair = |v: &Option<Json>| -> Option<(f64, f64)> {
                let a = v.as_ref()?.as_array()?;
                Some((a.first()?.as_f64()?, a.get(1)?.as_f64()?))
            };
            if let (Some((ca, ma)), Some((cb, mb))) = (pair(&c.old), pair(&c.new))
                && (cb > ca || mb > ma)
            {
                c.risk(Risk::Cost, "a bigger Fargate task (CPU or memory)");
            }
        }
        "public" if flag(&c.old) == Some(false) && flag(&c.new) == Some(true) => {
            c.risk(Risk::Exposure, "now reachable from outside the landscape");
        }
        "tls" | "endpoints.aws.tls" | "endpoints.compose.tls"
            if flag(&c.old) == Some(true) && flag(&c.new) == Some(false) =>
        {
            c.risk(
                Risk::Exposure,
                "TLS removed: traffic is no longer encrypted",
            );
        }
        _ => pattern_change(sides, component, setting, public, c),
    }
}

/// Settings under a map: routes, ports, access, published ports.
fn pattern_change(sides: &Sides, component: &str, setting: &str, public: bool, c: &mut Change) {
    let existed = sides
        .old_workload(sides_old_name(sides, component))
        .is_some();
    if let Some(route) = setting.strip_prefix("routes") {
        let target = |v: &Option<Json>| {
            v.as_ref()
                .and_then(|r| r.get("component"))
                .and_then(Json::as_str)
                .map(String::from)
        };
        if c.change == ChangeKind::Added && !route.contains("].") {
            let to = target(&c.new).unwrap_or_default();
            // `["/admin"]` → `/admin`.
            let path = route
                .strip_prefix('[')
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|r| serde_json::from_str::<String>(r).ok())
                .unwrap_or_else(|| route.to_string());
            c.risk(
                Risk::Exposure,
                format!("new route {path}: `{to}` is reachable through `{component}`"),
            );
        } else if route.ends_with("].port") && c.change == ChangeKind::Changed {
            c.risk(
                Risk::Downtime,
                format!(
                    "the port under a live route changes ({} → {}): targets are re-registered on the new port while the old ones drain",
                    c.old.clone().unwrap_or_default(),
                    c.new.clone().unwrap_or_default()
                ),
            );
        }
        return;
    }
    if c.change != ChangeKind::Added {
        if setting.starts_with("access.") && c.change == ChangeKind::Changed {
            // By port name: the same port on a new number is not more access.
            let ports = |v: &Option<Json>| -> BTreeSet<String> {
                v.as_ref()
                    .and_then(Json::as_str)
                    .map(|s| {
                        s.split(", ")
                            .map(|p| p.split(' ').next().unwrap_or(p).to_string())
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let more: Vec<String> = ports(&c.new).difference(&ports(&c.old)).cloned().collect();
            if !more.is_empty() {
                let from = setting.trim_start_matches("access.");
                c.risk(
                    Risk::Exposure,
                    format!("`{from}` may now also connect on {}", more.join(", ")),
                );
            }
        }
        return;
    }
    if let Some(from) = setting.strip_prefix("access.")
        && existed
    {
        c.risk(
            Risk::Exposure,
            format!(
                "new ingress source: `{from}` may now connect to `{component}` ({})",
                c.new.as_ref().and_then(Json::as_str).unwrap_or("")
            ),
        );
    } else if setting.starts_with("published") {
        c.risk(Risk::Exposure, "a new port published on the host (compose)");
    } else if setting.starts_with("ports.") && public && existed {
        c.risk(Risk::Exposure, "a new port on a public component");
    }
}

/// The old name of a component that may have been renamed.
fn sides_old_name<'a>(sides: &'a Sides, new: &'a str) -> &'a str {
    sides
        .renames
        .iter()
        .find(|(_, n)| n.as_str() == new)
        .map_or(new, |(o, _)| o.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_classes_grow_by_size_then_family() {
        assert!(class_up("db.t3.micro", "db.t3.small"));
        assert!(class_up("db.t3.large", "db.m5.large"));
        assert!(class_up("cache.t3.micro", "cache.m6g.xlarge"));
        assert!(class_up("db.m5.xlarge", "db.m5.2xlarge"));
        assert!(class_up("t3.small.search", "m5.large.search"));
        assert!(!class_up("db.m5.large", "db.t3.micro"));
        assert!(!class_up("db.m5.large", "db.m6g.large"));
        assert!(!class_up("mq.m5.large", "mq.t3.micro"));
        assert!(class_up("weird", "other"));
    }
}
