//! The compose target: one `compose.yaml` (Compose Specification) per
//! environment, built as typed values and written by [`yaml`], a writer that
//! double-quotes every string so no YAML reader can take data for structure.
//!
//! How the landscape maps onto compose:
//!
//! - **Services**: one per component, named like it; `Host` values resolve to
//!   that name (Docker's DNS), `Port` values to the container port.
//! - **Networks** follow the graph's access facts (least privilege): one
//!   network per client → server pair, `<client>.to.<server>`, joined by those
//!   two only, so a component reaches exactly the components it references and
//!   two clients of one database never share a network. A component in no pair
//!   gets a network of its own (`<name>`), so nothing lands on a shared
//!   `default` network. Docker networks do not filter ports; `expose` lists the
//!   ones the component serves.
//! - **Ports**: only `public` components publish to the host (a load balancer
//!   its `http` port: TLS is the cloud load balancer's job); the others `expose`.
//!   A public component with several replicas publishes a range, one port each.
//! - **Secrets** are never values: an `env` variable holding `secret("a/b")`
//!   becomes `<NAME>_FILE: /run/secrets/a_b`, the service mounts the compose
//!   secret `a_b`, and the top-level secret reads its value from the host
//!   environment variable `A_B` when the stack is started.
//! - **Volumes**: each `volumes` entry is a named volume `<component>.<name>`.
//! - **depends_on**: every component dependency of the graph, waiting for
//!   `service_completed_successfully` (jobs, `run = "once"`), `service_healthy`
//!   (a health check exists) or `service_started`.
//! - **Builds**: `context` is the image's `context` made absolute from the
//!   directory of the `.bom` file (the emitter does not know where the output
//!   folder will be, and compose resolves relative contexts against it);
//!   the Dockerfile is inlined from the dockerfile target's
//!   `images/<name>/Dockerfile`, so the compose file works wherever it is
//!   written. The image is tagged `<project>/<image>:<instance>`.
//! - **Load balancers** run HAProxy with a configuration generated from their
//!   routes ([`haproxy`]), passed as an inline compose config.
//! - **`$`**: compose interpolates `$VAR` and `${VAR}` in every string value
//!   when it loads the file, so every `$` bomc writes is doubled (`$$`), which
//!   compose turns back into one `$`.
//! - The raw `compose` setting is merged into the service last (maps deeply,
//!   everything else replaced).

mod haproxy;
mod service;
mod spec;

use super::{Artifact, BuildContext};
use crate::diag::{Diagnostic, ErrorCode};
use crate::lower::Resolve;
use crate::model::{Component, Value};
use serde_yaml_ng::Value as Yaml;
use spec::{ComposeFile, Healthcheck, Labelled};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The file the compose target writes, relative to the environment's folder.
pub const PATH: &str = "compose.yaml";

/// Host names on compose are service names.
struct Names;

impl Resolve for Names {
    fn host(&self, component: &str) -> String {
        component.to_string()
    }
}

/// How a secret appears on compose.
struct SecretName {
    /// The top-level `secrets:` key, also the file name under `/run/secrets/`.
    key: String,
    /// The host environment variable that holds the value.
    variable: String,
}

/// `messenger/db` → key `messenger_db`, variable `MESSENGER_DB`.
fn secret_name(name: &str) -> SecretName {
    let key: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut variable: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if !variable.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        variable.insert(0, '_');
    }
    SecretName { key, variable }
}

fn name_error(c: &Component, message: String, help: &str) -> Diagnostic {
    Diagnostic::new(ErrorCode::NameNotValid, message)
        .label(c.name_span, "in this component")
        .help(help.to_string())
}

/// The directory of the `.bom` file, absolute.
fn source_dir(ctx: &BuildContext) -> PathBuf {
    let dir = if ctx.source_dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        ctx.source_dir
    };
    std::fs::canonicalize(dir)
        .or_else(|_| std::path::absolute(dir))
        .unwrap_or_else(|_| dir.to_path_buf())
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

/// Everything one emit needs across components.
struct Plan<'a> {
    ctx: &'a BuildContext<'a>,
    /// Component → the networks it joins.
    networks: BTreeMap<String, BTreeSet<String>>,
    /// Secret name → its compose names.
    secrets: BTreeMap<String, SecretName>,
    /// `images/<name>/Dockerfile` → contents, from the dockerfile target.
    dockerfiles: BTreeMap<String, String>,
    /// Component → its health check, if compose can run one.
    health: BTreeMap<String, Healthcheck>,
    source_dir: PathBuf,
}

/// Component → the networks it joins: one network per client → server pair
/// the access facts allow; a component in no pair gets one of its own.
fn networks(ctx: &BuildContext) -> BTreeMap<String, BTreeSet<String>> {
    let mut networks: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (server, clients) in crate::graph::access(ctx.graph) {
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
    for c in &ctx.landscape.components {
        let own = networks.entry(c.name.clone()).or_default();
        if own.is_empty() {
            own.insert(c.name.clone());
        }
    }
    networks
}

/// The secrets components get through `env`, with their compose names, which
/// must stay distinct.
fn secrets(ctx: &BuildContext, errors: &mut Vec<Diagnostic>) -> BTreeMap<String, SecretName> {
    let mut secrets: BTreeMap<String, SecretName> = BTreeMap::new();
    let mut first_user: BTreeMap<String, &Component> = BTreeMap::new();
    for c in &ctx.landscape.components {
        for v in c
            .setting("env")
            .and_then(Value::as_map)
            .into_iter()
            .flat_map(|e| e.values())
        {
            if let Value::Secret(s) = v {
                first_user.entry(s.clone()).or_insert(c);
                secrets.entry(s.clone()).or_insert_with(|| secret_name(s));
            }
        }
    }
    let mut keys: BTreeMap<&str, &str> = BTreeMap::new();
    let mut variables: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, s) in &secrets {
        let clash = [
            keys.insert(&s.key, name).map(|other| (other, &s.key)),
            variables
                .insert(&s.variable, name)
                .map(|other| (other, &s.variable)),
        ];
        if let Some((other, value)) = clash.into_iter().flatten().next()
            && let Some(c) = first_user.get(name)
        {
            errors.push(name_error(
                c,
                format!("secrets `{other}` and `{name}` would both be `{value}` on compose"),
                "rename one of them: compose secret names and environment variables keep only letters, digits, `.`, `_` and `-`",
            ));
        }
    }
    secrets
}

/// The Dockerfiles of the dockerfile target, when a component builds an image.
fn dockerfiles(ctx: &BuildContext, errors: &mut Vec<Diagnostic>) -> BTreeMap<String, String> {
    if !ctx
        .landscape
        .components
        .iter()
        .any(|c| c.setting("build").is_some())
    {
        return BTreeMap::new();
    }
    match super::dockerfile::emit(ctx) {
        Ok(files) => files.into_iter().map(|a| (a.path, a.contents)).collect(),
        Err(mut e) => {
            errors.append(&mut e);
            BTreeMap::new()
        }
    }
}

/// The comment at the top of the file: what it is, how to run it, and where
/// the secrets' values come from.
fn header(plan: &Plan) -> Vec<String> {
    let ctx = plan.ctx;
    let mut comment = vec![ctx.header()];
    if !plan.dockerfiles.is_empty() {
        comment.push(String::from(
            "Build the images first, bases before the images built on them: sh images/build.sh (the dockerfile target).",
        ));
    }
    comment.push(format!(
        "Start it with: docker compose -f {PATH} up --detach"
    ));
    if let Some(expires) = ctx.expires() {
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
    comment
}

/// `compose.yaml` for the environment of `ctx`.
pub fn emit(ctx: &BuildContext) -> Result<Vec<Artifact>, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let secrets = secrets(ctx, &mut errors);
    let dockerfiles = dockerfiles(ctx, &mut errors);
    let mut health = BTreeMap::new();
    for c in &ctx.landscape.components {
        let probe = match c.setting("build") {
            Some(Value::Image(image)) => dockerfiles
                .get(&format!("images/{image}/Dockerfile"))
                .is_some_and(|d| service::installs_probe(d)),
            _ => false,
        };
        if let Some(h) = service::healthcheck(c, probe, &mut errors) {
            health.insert(c.name.clone(), h);
        }
    }
    let plan = Plan {
        ctx,
        networks: networks(ctx),
        secrets,
        dockerfiles,
        health,
        source_dir: source_dir(ctx),
    };

    let mut file = ComposeFile {
        name: ctx.project(),
        services: BTreeMap::new(),
        networks: BTreeMap::new(),
        volumes: BTreeMap::new(),
        secrets: BTreeMap::new(),
        configs: BTreeMap::new(),
    };
    let labels: BTreeMap<String, String> = ctx
        .labels()
        .into_iter()
        .map(|(k, v)| (format!("org.bomc.{k}"), v))
        .collect();
    for net in plan.networks.values().flatten() {
        file.networks.insert(
            net.clone(),
            Labelled {
                labels: labels.clone(),
            },
        );
    }
    for c in &ctx.landscape.components {
        match service::service(&plan, c, &labels, &mut file) {
            Ok(s) => {
                file.services.insert(c.name.clone(), s);
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let mut doc = serde_yaml_ng::to_value(&file).map_err(|e| vec![internal(&e.to_string())])?;
    escape_dollars(&mut doc);
    Ok(vec![Artifact {
        path: PATH.to_string(),
        contents: super::yaml::document(&header(&plan), &doc),
    }])
}

fn internal(message: &str) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::NameNotValid,
        format!("compose.yaml cannot be written: {message}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        let s = secret_name("messenger/db");
        assert_eq!(
            (s.key.as_str(), s.variable.as_str()),
            ("messenger_db", "MESSENGER_DB")
        );
        let s = secret_name("1/a+b=c@d.e");
        assert_eq!(
            (s.key.as_str(), s.variable.as_str()),
            ("1_a_b_c_d.e", "_1_A_B_C_D_E")
        );
    }
}
