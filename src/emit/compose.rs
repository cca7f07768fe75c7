//! The compose target: one `compose.yaml` (Compose Specification) per
//! environment instance, translated from the [`Plan`], built as typed values
//! and written by [`yaml`](super::yaml), a writer that double-quotes every
//! string so no YAML reader can take data for structure.
//!
//! How the plan maps onto compose:
//!
//! - **Services**: one per workload, named like it; `Host` pieces resolve to
//!   that name (Docker's DNS), `Port` pieces to the container port, `Url`
//!   pieces to the workload's compose endpoint, `BucketName` pieces to the
//!   bucket component's name.
//! - **Networks** follow the plan's access facts (least privilege): one
//!   network per client → server pair, `<client>.to.<server>`, joined by those
//!   two only, so a component reaches exactly the components it references and
//!   two clients of one database never share a network. A workload in no pair
//!   gets a network of its own (`<name>`), so nothing lands on a shared
//!   `default` network. Docker networks do not filter ports; `expose` lists the
//!   ones the workload serves.
//! - **Ports**: the plan's published host port ranges (public workloads);
//!   the others `expose` what they serve (a load balancer its HTTP port only).
//! - **Secrets** are never values. Each secret a service mounts is a top-level
//!   compose secret read from a host environment variable when the stack
//!   starts. How the value reaches the application's variable — under the
//!   same name as on ECS — is the plan's choice per image: images bomc builds
//!   get the compose secret mounted where their entrypoint shim reads it into
//!   the variable; images that read `<NAME>_FILE` themselves get that variable
//!   and the mount under `/run/secrets/`; any other image gets the variable
//!   interpolated by compose from the host environment (`${VARIABLE:?…}`),
//!   so the value is never in the file.
//! - **Volumes**: each volume is a named volume `<component>.<name>`.
//! - **depends_on**: the plan's dependencies, waiting for
//!   `service_completed_successfully` (jobs), `service_healthy` (a health
//!   check exists) or `service_started`.
//! - **Builds**: `context` and `dockerfile` are relative — the context to the
//!   folder the compose file is written to (compose resolves it from there),
//!   the Dockerfile (`images/<name>/Dockerfile`, the dockerfile target) to the
//!   context — so the file is the same wherever the tree is checked out. The
//!   image is tagged as the plan says (`<project>/<image>:<instance>`).
//! - **Load balancers** run HAProxy with a configuration generated from their
//!   routes ([`haproxy`]), passed as an inline compose config.
//! - **`$`**: compose interpolates `$VAR` and `${VAR}` in every string value
//!   when it loads the file, so every `$` bomc writes is doubled (`$$`), which
//!   compose turns back into one `$` — except in the `${VARIABLE:?…}` of a
//!   secret delivered through the environment, which compose must interpolate.
//! - The raw `compose` setting is merged into the service last (maps deeply,
//!   everything else replaced).

mod haproxy;
mod service;
mod spec;

use super::Artifact;
use crate::diag::{Diagnostic, ErrorCode};
use crate::lower::plan::{Piece, Plan, Text, Workload};
use serde_yaml_ng::Value as Yaml;
use spec::{ComposeFile, Labelled};
use std::collections::{BTreeMap, BTreeSet};

/// The file the compose target writes, relative to the environment's folder.
pub const PATH: &str = "compose.yaml";

/// Everything one emit needs across services.
struct Emit<'a> {
    plan: &'a Plan,
    /// Workloads by name.
    workloads: BTreeMap<&'a str, &'a Workload>,
    /// Workload → the networks it joins.
    networks: BTreeMap<String, BTreeSet<String>>,
    /// bomc's labels, `org.bomc.`-prefixed.
    labels: BTreeMap<String, String>,
    /// Only the diagnostics are wanted (`bomc check`): no service is
    /// serialized.
    validate_only: bool,
    /// The build of each image of the plan, in its order: worked out once,
    /// not for each of the services that run it (it reads the working
    /// directory).
    builds: Vec<spec::Build>,
}

impl Emit<'_> {
    /// The number a port of a component is served on, on compose.
    fn port(&self, component: &str, name: &str, declared: u16) -> u16 {
        self.workloads
            .get(component)
            .map(|w| w.endpoints.compose.port_number(name, declared))
            .unwrap_or(declared)
    }

    /// A text as compose sees it (not yet `$`-escaped).
    fn resolve(&self, text: &Text) -> String {
        let mut out = String::new();
        for piece in &text.0 {
            match piece {
                Piece::Literal(s) => out.push_str(s),
                Piece::Host(c) | Piece::BucketName(c) => out.push_str(c),
                Piece::Port {
                    component,
                    name,
                    number,
                } => out.push_str(&self.port(component, name, *number).to_string()),
                Piece::Url(c) => match self.workloads.get(c.as_str()) {
                    Some(w) => {
                        let e = &w.endpoints.compose;
                        out.push_str(&format!("{}://{c}", e.scheme));
                        if let Some(port) = e.port {
                            out.push_str(&format!(":{port}"));
                        }
                        if !e.query.is_empty() {
                            out.push_str(&format!("/?{}", e.query));
                        }
                    }
                    None => out.push_str(c),
                },
            }
        }
        out
    }
}

/// Workload → the networks it joins: one network per client → server pair
/// the access facts allow; a workload in no pair gets one of its own.
fn networks(plan: &Plan) -> BTreeMap<String, BTreeSet<String>> {
    let mut networks: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (server, clients) in &plan.access {
        for a in clients {
            // Component names have no `.`, so these names cannot collide.
            let net = format!("{}.to.{server}", a.from);
            networks
                .entry(a.from.clone())
                .or_default()
                .insert(net.clone());
            networks.entry(server.clone()).or_default().insert(net);
        }
    }
    for w in &plan.workloads {
        let own = networks.entry(w.name.clone()).or_default();
        if own.is_empty() {
            own.insert(w.name.clone());
        }
    }
    networks
}

/// Doubles every `$` in every string value (not in keys): compose interpolates values.
fn escape_dollars(value: &mut Yaml) {
    match value {
        Yaml::String(s) if s.contains('$') => *s = s.replace('$', "$$"),
        Yaml::Sequence(items) => items.iter_mut().for_each(escape_dollars),
        Yaml::Mapping(m) => m.iter_mut().for_each(|(_, v)| escape_dollars(v)),
        Yaml::Tagged(t) => escape_dollars(&mut t.value),
        _ => {}
    }
}

/// The comment at the top of the file: what it is, how to run it, where the
/// secrets' values come from, and what bomc changed or ignored.
fn header(plan: &Plan) -> Vec<String> {
    let instance = &plan.instance;
    let mut comment = vec![instance.header.clone()];
    if plan
        .workloads
        .iter()
        .any(|w| matches!(w.image, crate::lower::plan::ImageSource::Build(_)))
    {
        comment.push(String::from(
            "Build the images first, bases before the images built on them: sh images/build.sh (the dockerfile target).",
        ));
    }
    comment.push(format!(
        "Start it with: docker compose -f {PATH} up --detach"
    ));
    if let Some(expires) = instance.expires() {
        comment.push(format!(
            "Ephemeral: remove it after {expires} with: docker compose -f {PATH} down --volumes"
        ));
    }
    if !plan.secrets.is_empty() {
        comment.push(String::from(
            "Secret values are read from these environment variables when the stack starts:",
        ));
        for (name, s) in &plan.secrets {
            comment.push(format!("  {} (secret(\"{name}\"))", s.variable));
        }
    }
    let notes = super::notes(plan);
    if !notes.is_empty() {
        comment.push(String::from("Notes: what bomc changed or ignored:"));
        comment.extend(notes.into_iter().map(|n| format!("  {n}")));
    }
    comment
}

/// `compose.yaml` for the environment instance of `plan`.
pub fn emit(plan: &Plan, options: &super::EmitOptions) -> Result<Vec<Artifact>, Vec<Diagnostic>> {
    let emit = Emit {
        plan,
        workloads: plan
            .workloads
            .iter()
            .map(|w| (w.name.as_str(), w))
            .collect(),
        // Only what is written needs the networks and the labels; `check`
        // looks for what compose would refuse, in the services' own values.
        networks: if options.validate_only {
            BTreeMap::new()
        } else {
            networks(plan)
        },
        labels: if options.validate_only {
            BTreeMap::new()
        } else {
            plan.instance
                .labels
                .iter()
                .map(|(k, v)| (format!("org.bomc.{k}"), v.clone()))
                .collect()
        },
        validate_only: options.validate_only,
        builds: plan
            .images
            .iter()
            .map(|i| service::build(&plan.instance, i))
            .collect(),
    };
    let mut file = ComposeFile::default();
    if options.validate_only {
        // Only the diagnostics, in the workloads' order.
        let errors: Vec<Diagnostic> = plan
            .workloads
            .iter()
            .filter_map(|w| service::service(&emit, w, &mut file).err())
            .flatten()
            .collect();
        return if errors.is_empty() {
            Ok(Vec::new())
        } else {
            Err(errors)
        };
    }
    // The file is written in order as it is made: `name`, then each service
    // (in name order) as soon as it is made and its tree freed, then the
    // entries the services need. At N = 10,000 the services' trees held at
    // once were most of a build's peak memory, and their texts held apart
    // from the file's text another 23 MB.
    // About 2 KB a service at N = 1,000 (2.4 MB); twice that reserved.
    let mut doc = super::yaml::Document::new(&header(plan), 4096 * (plan.workloads.len() + 16));
    let mut name = Yaml::String(plan.instance.project.clone());
    escape_dollars(&mut name);
    doc.entry(&Yaml::String(String::from("name")), &name);
    let mut by_name: Vec<(usize, &Workload)> = plan.workloads.iter().enumerate().collect();
    by_name.sort_by(|(_, a), (_, b)| a.name.cmp(&b.name));
    // Each workload's mistakes, reported in the workloads' order.
    let mut failed: Vec<(usize, Vec<Diagnostic>)> = Vec::new();
    doc.entries(&Yaml::String(String::from("services")), |out| {
        for (i, w) in by_name {
            match service::service(&emit, w, &mut file) {
                Ok(service) if failed.is_empty() => {
                    if let Err(e) = service.write(out, &w.name, 2) {
                        failed.push((i, vec![e]));
                    }
                }
                Ok(_) => {}
                Err(e) => failed.push((i, e)),
            }
        }
    });
    if !failed.is_empty() {
        failed.sort_by_key(|(i, _)| *i);
        return Err(failed.into_iter().flat_map(|(_, e)| e).collect());
    }
    // Every network is labelled alike: the labels' text is made once.
    let names: BTreeSet<&String> = emit.networks.values().flatten().collect();
    if !names.is_empty() {
        let labelled = Labelled {
            labels: emit.labels.clone(),
        };
        let mut labelled =
            serde_yaml_ng::to_value(&labelled).map_err(|e| vec![internal(&e.to_string())])?;
        escape_dollars(&mut labelled);
        let after = super::yaml::after_key(&labelled, 2);
        doc.entries(&Yaml::String(String::from("networks")), |out| {
            for name in names {
                super::yaml::entry_after(out, &Yaml::String(name.clone()), &after, 2);
            }
        });
    }
    // Services come escaped (all but their secrets' interpolations); the rest
    // of the file is escaped here.
    let rest = serde_yaml_ng::to_value(&file).map_err(|e| vec![internal(&e.to_string())])?;
    let Yaml::Mapping(rest) = rest else {
        return Err(vec![internal("the file is not a mapping")]);
    };
    for (k, mut v) in rest {
        escape_dollars(&mut v);
        doc.entry(&k, &v);
    }
    Ok(vec![Artifact {
        path: PATH.to_string(),
        contents: doc.finish(),
    }])
}

fn internal(message: &str) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::NameNotValid,
        format!("compose.yaml cannot be written: {message}"),
    )
}
