//! Health checks: what the landscape declares for the components built from
//! an image, as a Dockerfile HEALTHCHECK.

use super::*;

/// An image's health check, as the components running it declare it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Health {
    /// `--interval=2s` …
    pub(super) options: Vec<String>,
    pub(super) command: Vec<String>,
    /// Whether the command is `bomc-healthcheck`.
    pub(super) probe: bool,
}

/// `2s`, `1500ms`: a Go duration, as HEALTHCHECK options take them.
pub(super) fn go_duration(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// The health check of one component, or why it has none in a Dockerfile.
pub(super) fn component_health(c: &Component) -> Result<Option<Health>, String> {
    let Some(Value::Map(h)) = c.settings.get("health") else {
        return Ok(None);
    };
    let mut options = Vec::new();
    for (key, flag) in [
        ("interval", "interval"),
        ("timeout", "timeout"),
        ("start_period", "start-period"),
    ] {
        if let Some(Value::Duration(ms)) = h.get(key) {
            options.push(format!("--{flag}={}", go_duration(*ms)));
        }
    }
    if let Some(Value::Int(n)) = h.get("unhealthy")
        && *n > 0
    {
        options.push(format!("--retries={n}"));
    }
    if let Some(cmd) = h.get("command") {
        let command = match cmd {
            Value::List(items) => items
                .iter()
                .map(|v| crate::lower::text(v, &Local))
                .collect::<Option<Vec<String>>>(),
            _ => None,
        };
        return match command {
            Some(command) if !command.is_empty() => Ok(Some(Health {
                options,
                command,
                probe: false,
            })),
            _ => Err(format!(
                "the health command of `{}` is not a list of plain strings",
                c.name
            )),
        };
    }
    let ports = c.ports();
    let port = match h.get("port") {
        Some(Value::String(p)) => ports.get(p.as_str()).copied(),
        _ => ports.values().next().copied(),
    };
    let Some(port) = port else {
        return Err(format!(
            "the health check of `{}` names no command and no port",
            c.name
        ));
    };
    let target = match h.get("path") {
        Some(path) => match crate::lower::text(path, &Local) {
            Some(path) => format!("http://127.0.0.1:{port}{path}"),
            None => {
                return Err(format!(
                    "the health path of `{}` is not a plain string",
                    c.name
                ));
            }
        },
        None => format!("tcp://127.0.0.1:{port}"),
    };
    Ok(Some(Health {
        options,
        command: vec![String::from(PROBE_PATH), target],
        probe: true,
    }))
}

/// The image's HEALTHCHECK (`None`: `HEALTHCHECK NONE`) and comments saying why.
pub(super) fn image_health(builders: &[&Component]) -> (Option<Health>, Vec<String>) {
    let names = |cs: &[&Component]| {
        cs.iter()
            .map(|c| format!("`{}`", c.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if builders.is_empty() {
        return (
            None,
            vec![String::from(
                "A layer: no component runs it, so no health check; images built on it declare their own.",
            )],
        );
    }
    let services: Vec<&Component> = builders
        .iter()
        .copied()
        .filter(|c| c.settings.get("run").and_then(Value::as_str) != Some("once"))
        .collect();
    if services.is_empty() {
        return (
            None,
            vec![format!(
                "Only run-once jobs use this image ({}): no health check.",
                names(builders)
            )],
        );
    }
    let mut checks = BTreeSet::new();
    for c in &services {
        match component_health(c) {
            Ok(h) => {
                checks.insert(h);
            }
            Err(why) => {
                return (
                    None,
                    vec![format!(
                        "No health check: {why}; compose and CloudFormation carry it."
                    )],
                );
            }
        }
    }
    let mut checks: Vec<Option<Health>> = checks.into_iter().collect();
    match (checks.len(), checks.pop().flatten()) {
        (1, Some(h)) => (
            Some(h),
            vec![format!(
                "Health check of {}, as the landscape declares it.",
                names(&services)
            )],
        ),
        (1, None) => (
            None,
            vec![format!(
                "No health check: {} declare{} none.",
                names(&services),
                if services.len() == 1 { "s" } else { "" }
            )],
        ),
        _ => (
            None,
            vec![
                format!(
                    "No health check: {} run this image with different health checks (or none);",
                    names(&services)
                ),
                String::from("compose and CloudFormation carry each component's own."),
            ],
        ),
    }
}
