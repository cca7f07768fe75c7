//! `rancher-compose.yml` (Rancher 1.x): per service, `scale` becomes
//! `replicas`, `health_check` a `health` block when the compose file has no
//! health check, and every other key is kept for the reader under
//! `compose { x-rancher { … } }`, which compose ignores.

use super::bom::{Expr, Member};
use super::values::{duration_literal, scalar};
use super::{FEATURES, Importer};
use crate::diag::{Diagnostic, ErrorCode};
use crate::source::FileId;
use serde_yaml_ng::{Mapping, Value as Yaml};

/// Applies one rancher-compose file to the services read so far.
pub(super) fn apply(imp: &mut Importer, file: FileId, yaml: &Yaml) -> Result<(), Vec<Diagnostic>> {
    let services = match yaml.get("services") {
        Some(Yaml::Mapping(m)) => m.clone(),
        // Version 1 files list the services at the top level.
        _ => {
            match yaml {
                Yaml::Mapping(m) => m
                    .iter()
                    .filter(|(k, _)| {
                        k.as_str()
                            .is_some_and(|k| k != "version" && !k.starts_with("x-"))
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                _ => {
                    return Err(vec![
                    Diagnostic::new(ErrorCode::NotCompose, "the rancher-compose file is not a mapping of services")
                        .label(super::read::locate(imp.sources, file, &[]), "here")
                        .help("a rancher-compose.yml maps service names to `scale`, `health_check`, …"),
                ]);
                }
            }
        }
    };
    for (k, v) in services {
        let raw = scalar(&k);
        let Some(settings) = v.as_mapping().cloned() else {
            continue;
        };
        if !imp.services.contains_key(&raw) {
            let span = super::read::locate(imp.sources, file, &[&raw]);
            imp.warnings.push(
                Diagnostic::new(
                    ErrorCode::ComposeKeyDropped,
                    format!("the rancher-compose file sets `{raw}`, which no compose file defines"),
                )
                .label(span, "here")
                .help("name the compose files that define it before the rancher-compose file"),
            );
            continue;
        }
        let mut rest = Mapping::new();
        let mut extra = Vec::new();
        let mut notes = Vec::new();
        let has_check = imp.services[&raw].yaml.contains_key("healthcheck");
        for (key, value) in settings {
            match key.as_str() {
                Some("scale") => {
                    if let Some(info) = imp.services.get_mut(&raw) {
                        info.yaml.insert(Yaml::from("scale"), value);
                    }
                }
                Some("health_check") if !has_check => match health(&value) {
                    Some(block) => extra.push(block.with_comment([String::from(
                        "From rancher-compose's `health_check`, which Rancher ran from outside the container: this runs inside it, with `wget`.",
                    )])),
                    None => {
                        rest.insert(key, value);
                    }
                },
                _ => {
                    rest.insert(key, value);
                }
            }
        }
        if !rest.is_empty() {
            notes.push(String::from(
                "rancher-compose settings without a .bom equivalent are kept under `x-rancher`, which compose ignores.",
            ));
            if let Some(info) = imp.services.get_mut(&raw) {
                info.yaml
                    .insert(Yaml::from("x-rancher"), Yaml::Mapping(rest));
            }
        }
        if let Some(info) = imp.services.get_mut(&raw) {
            info.extra.extend(extra);
            info.rancher_notes.extend(notes);
        }
    }
    Ok(())
}

/// A Rancher health check (`port`, `request_line`, times in milliseconds) as
/// a `health` block.
fn health(v: &Yaml) -> Option<Member> {
    let h = v.as_mapping()?;
    let port: u16 = scalar(h.get("port")?).parse().ok()?;
    let probe = match h.get("request_line").map(scalar) {
        Some(line) => {
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            format!("wget -q -O /dev/null http://127.0.0.1:{port}{path} || exit 1")
        }
        None => format!("nc -z 127.0.0.1 {port} || exit 1"),
    };
    let command = if FEATURES.shell_health {
        Expr::str(&probe)
    } else {
        Expr::List(vec![Expr::str("CMD-SHELL"), Expr::str(&probe)])
    };
    let mut m = vec![Member::set("command", command)];
    let ms = |key: &str| h.get(key).and_then(|v| scalar(v).parse::<u64>().ok());
    if let Some(i) = ms("interval") {
        m.push(Member::set("interval", Expr::Raw(duration_literal(i))));
    }
    if let Some(t) = ms("response_timeout") {
        m.push(Member::set("timeout", Expr::Raw(duration_literal(t))));
    }
    if let Some(n) = ms("healthy_threshold") {
        m.push(Member::set("healthy", Expr::Int(n as i64)));
    }
    if let Some(n) = ms("unhealthy_threshold") {
        m.push(Member::set("unhealthy", Expr::Int(n as i64)));
    }
    if let Some(t) = ms("initializing_timeout") {
        m.push(Member::set("start_period", Expr::Raw(duration_literal(t))));
    }
    Some(Member::block("health", m))
}
