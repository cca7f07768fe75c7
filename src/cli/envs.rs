//! `bomc envs`: the environments a file declares, or the environment
//! instances built into an output folder (and running, when a Docker engine
//! answers), with their purpose and expiry.

use super::{EnvsArgs, Format, report};
use crate::syntax::ast::{ExprKind, Member, StrPart};
use serde::Serialize;
use std::io::Write;
use std::process::ExitCode;

#[derive(Serialize)]
struct Parameter {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    default: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct Declared {
    name: String,
    kind: &'static str,
    ttl: Option<u64>,
    purpose: Option<String>,
    parameters: Vec<Parameter>,
}

#[derive(Serialize)]
pub(super) struct Instance {
    pub landscape: String,
    pub instance: String,
    pub environment: String,
    pub lifetime: String,
    pub purpose: Option<String>,
    pub expires: Option<String>,
    pub expired: bool,
    pub project: String,
    /// Where it was found: `output` (a folder bomc built) or `docker` (running containers).
    pub found_in: &'static str,
    /// Containers of its compose project running on the Docker engine (0
    /// when none, or when no engine answers).
    pub running: usize,
    pub folder: Option<String>,
}

fn type_text(t: &crate::syntax::ast::TypeExpr) -> String {
    match &t.arg {
        Some(a) => format!("{}<{}>", t.name, type_text(&a.node)),
        None => t.name.clone(),
    }
}

/// A default as JSON: literals as values, anything else as its source text.
fn default_json(e: &crate::syntax::ast::Expr, source: &str) -> serde_json::Value {
    let text = || {
        serde_json::Value::String(
            source
                .get(e.span.start as usize..e.span.end as usize)
                .unwrap_or("")
                .to_string(),
        )
    };
    match &e.kind {
        ExprKind::Int(i) => serde_json::json!(i),
        ExprKind::Float(f) => serde_json::json!(f),
        ExprKind::Bool(b) => serde_json::json!(b),
        ExprKind::Str(parts) => match parts.as_slice() {
            [] => serde_json::json!(""),
            [StrPart::Text(t)] => serde_json::json!(t),
            _ => text(),
        },
        _ => text(),
    }
}

fn declared(args: &EnvsArgs, file: &std::path::Path) -> ExitCode {
    let checked = crate::check_file(file, &crate::eval::Options::default());
    if !checked.diagnostics.is_empty() {
        report(&checked, args.format);
        return ExitCode::from(1);
    }
    let program = &checked.program;
    let source = program
        .main()
        .map(|m| program.sources.get(m.file).text.as_str())
        .unwrap_or("");
    let mut list = Vec::new();
    for env in crate::resolve::environments(program) {
        // Lifetime, TTL and purpose as evaluated (parameters at their
        // defaults, required ones as placeholders), as `build` sees them.
        let evaluated = checked
            .landscapes
            .iter()
            .filter_map(|l| l.environment.as_ref())
            .find(|e| e.name == env.name.node);
        let required = env.body.params().any(|p| p.default.is_none());
        let mut ttl = None;
        let mut ephemeral = false;
        if let Some(crate::model::Lifetime::Ephemeral { ttl_ms }) = evaluated.map(|e| &e.lifetime) {
            ephemeral = true;
            // A TTL computed from a required parameter is known only at build time.
            let literal = env.body.members.iter().any(|m| {
                matches!(m, Member::Assign(a) if a.path.len() == 1 && a.path[0].node == "ttl" && matches!(a.value.kind, ExprKind::Duration(_)))
            });
            if literal || !required {
                ttl = Some(ttl_ms / 1000);
            }
        }
        let mut purpose = None;
        let mut parameters = Vec::new();
        for member in &env.body.members {
            match member {
                Member::Assign(a) if a.path.len() == 1 && a.path[0].node == "purpose" => {
                    purpose = Some(match &a.value.kind {
                        ExprKind::Str(parts)
                            if parts.iter().all(|p| matches!(p, StrPart::Text(_))) =>
                        {
                            parts
                                .iter()
                                .map(|p| match p {
                                    StrPart::Text(t) => t.as_str(),
                                    StrPart::Interp(..) => "",
                                })
                                .collect()
                        }
                        _ => source
                            .get(a.value.span.start as usize..a.value.span.end as usize)
                            .unwrap_or("")
                            .trim_matches('"')
                            .to_string(),
                    });
                }
                Member::Param(p) => parameters.push(Parameter {
                    name: p.name.node.clone(),
                    ty: type_text(&p.ty.node),
                    default: p.default.as_ref().map(|d| default_json(d, source)),
                }),
                _ => {}
            }
        }
        list.push(Declared {
            name: env.name.node.clone(),
            kind: if ephemeral { "ephemeral" } else { "persistent" },
            ttl,
            purpose,
            parameters,
        });
    }
    let mut out = std::io::stdout();
    match args.format {
        Format::Json => {
            super::print_json(&list);
        }
        Format::Human => {
            if list.is_empty() {
                let _ = writeln!(out, "{} declares no environments", file.display());
            }
            for d in &list {
                let ttl = d
                    .ttl
                    .map(|s| format!(", ttl {}", crate::eval::sets::format_duration(s * 1000)))
                    .unwrap_or_default();
                let _ = writeln!(out, "{} ({}{ttl})", d.name, d.kind);
                if let Some(p) = &d.purpose {
                    let _ = writeln!(out, "  purpose: {p}");
                }
                for p in &d.parameters {
                    let default = match &p.default {
                        Some(v) => format!(" = {v}"),
                        None => String::from(" (required: --set)"),
                    };
                    let _ = writeln!(out, "  param {}: {}{default}", p.name, p.ty);
                }
            }
        }
    }
    ExitCode::SUCCESS
}

/// Instances built into `out` and, when a Docker engine answers, running ones.
pub(super) fn instances(out: &std::path::Path, now: i64) -> Vec<Instance> {
    let expired = |e: &Option<String>| {
        e.as_deref()
            .and_then(crate::lower::time::parse_rfc3339)
            .is_some_and(|t| t <= now)
    };
    let mut list: Vec<Instance> = crate::write::instances(out)
        .into_iter()
        .map(|(dir, m)| (dir, m.info))
        .map(|(dir, m)| Instance {
            expired: expired(&m.expires),
            project: if m.project.is_empty() {
                crate::lower::dns_label(&format!("{}-{}", m.landscape, m.instance), 63)
            } else {
                m.project
            },
            landscape: m.landscape,
            instance: m.instance,
            environment: m.environment,
            lifetime: m.lifetime,
            purpose: m.purpose,
            expires: m.expires,
            found_in: "output",
            folder: Some(out.join(dir).display().to_string()),
            running: 0,
        })
        .collect();
    for running in docker_instances() {
        match list.iter_mut().find(|i| i.project == running.project) {
            Some(built) => built.running = running.running,
            None => list.push(Instance {
                expired: expired(&running.expires),
                ..running
            }),
        }
    }
    list
}

/// Compose projects bomc built that a Docker engine knows, from their labels,
/// with how many of their containers run.
fn docker_instances() -> Vec<Instance> {
    let format = "{{.Label \"com.docker.compose.project\"}}\t{{.Label \"org.bomc.landscape\"}}\t{{.Label \"org.bomc.instance\"}}\t{{.Label \"org.bomc.environment\"}}\t{{.Label \"org.bomc.lifetime\"}}\t{{.Label \"org.bomc.expires\"}}\t{{.Label \"org.bomc.purpose\"}}\t{{.State}}";
    let Ok(out) = std::process::Command::new("docker")
        .args([
            "ps",
            "--all",
            "--filter",
            "label=org.bomc.generated-by=bomc",
            "--format",
            format,
        ])
        .stderr(std::process::Stdio::null())
        .output()
    else {
        return Vec::new();
    };
    if !out.status.success() {
        return Vec::new();
    }
    let mut projects: Vec<Instance> = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let [
            project,
            landscape,
            instance,
            environment,
            lifetime,
            expires,
            purpose,
            state,
        ] = f.as_slice()
        else {
            continue;
        };
        if project.is_empty() {
            continue;
        }
        let running = usize::from(*state == "running");
        if let Some(known) = projects.iter_mut().find(|i| i.project == *project) {
            known.running += running;
            continue;
        }
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        projects.push(Instance {
            landscape: landscape.to_string(),
            instance: instance.to_string(),
            environment: environment.to_string(),
            lifetime: lifetime.to_string(),
            purpose: opt(purpose),
            expires: opt(expires),
            expired: false,
            project: project.to_string(),
            found_in: "docker",
            folder: None,
            running,
        });
    }
    projects
}

pub fn run(args: &EnvsArgs) -> ExitCode {
    if let Some(file) = &args.file {
        return declared(args, file);
    }
    let now = match super::build::now(args.now.as_deref()) {
        Ok(n) => n,
        Err(d) => {
            let checked = crate::Checked {
                warnings: Vec::new(),
                program: Default::default(),
                diagnostics: vec![d],
                landscapes: Vec::new(),
                built: Vec::new(),
            };
            report(&checked, args.format);
            return ExitCode::from(1);
        }
    };
    let folder = args
        .out
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("out"));
    let list = instances(&folder, now);
    let mut out = std::io::stdout();
    match args.format {
        Format::Json => {
            super::print_json(&list);
        }
        Format::Human => {
            if list.is_empty() {
                let _ = writeln!(out, "no environment instances in {}", folder.display());
            }
            for i in &list {
                let state = match (&i.expires, i.expired) {
                    (Some(e), true) => format!("expired {e}"),
                    (Some(e), false) => format!("expires {e}"),
                    (None, _) => String::from("persistent"),
                };
                let purpose = i
                    .purpose
                    .as_deref()
                    .map(|p| format!(" — {p}"))
                    .unwrap_or_default();
                let state = match i.running {
                    0 => state,
                    1 => format!("{state}, running (1 container)"),
                    n => format!("{state}, running ({n} containers)"),
                };
                let _ = writeln!(
                    out,
                    "{:<40} {state}{purpose}",
                    format!("{}/{}", i.landscape, i.instance)
                );
            }
        }
    }
    ExitCode::SUCCESS
}
