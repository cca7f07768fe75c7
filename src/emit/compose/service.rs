//! One component as a compose service: image or build, command, environment
//! and secrets, ports, networks, volumes, start order, health check,
//! resources, restart policy and labels, then the raw `compose` keys merged in.

use super::spec::*;
use super::{Names, Plan, haproxy, internal, name_error};
use crate::diag::{Diagnostic, ErrorCode};
use crate::emit::BuildContext;
use crate::lower::{text, text_list};
use crate::model::{Component, Value};
use serde_yaml_ng::{Mapping, Value as Yaml};
use std::collections::BTreeMap;
use std::path::{Component as PathPart, Path, PathBuf};

/// A compose duration (`2s`, `1m30s`, `500ms`).
fn duration(ms: u64) -> String {
    if ms == 0 {
        return String::from("0s");
    }
    let mut out = String::new();
    let units = [(3_600_000, "h"), (60_000, "m"), (1_000, "s"), (1, "ms")];
    let mut rest = ms;
    for (size, unit) in units {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

fn duration_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Duration(ms) => Some(duration(*ms)),
        _ => None,
    }
}

/// A memory limit: whole GiB / MiB / KiB when exact, else bytes.
fn memory(bytes: u64) -> String {
    const KIB: u64 = 1024;
    for (size, unit) in [(KIB * KIB * KIB, "G"), (KIB * KIB, "M"), (KIB, "K")] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{}{unit}", bytes / size);
        }
    }
    bytes.to_string()
}

fn is_load_balancer(c: &Component) -> bool {
    c.kind.iter().any(|k| k == "load_balancer") && c.params.contains_key("routes")
}

fn is_job(c: &Component) -> bool {
    c.setting("run").and_then(Value::as_str) == Some("once")
}

/// The local tag of an image bomc builds, as the dockerfile target tags it
/// (and as the images built on it name it in `FROM`): `<project>/<image>:<instance>`,
/// the image name lowercased into a Docker repository path component.
fn image_tag(ctx: &BuildContext, image: &str) -> String {
    let mut repo = String::new();
    let mut sep = String::new();
    for c in image.to_ascii_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            if !repo.is_empty() && !sep.is_empty() {
                let ok = matches!(sep.as_str(), "_" | "__" | ".") || sep.chars().all(|c| c == '-');
                repo.push_str(if ok { &sep } else { "-" });
            }
            sep.clear();
            repo.push(c);
        } else {
            sep.push(c);
        }
    }
    if repo.is_empty() {
        repo.push_str("image");
    }
    format!("{}/{repo}:{}", ctx.project(), ctx.instance)
}

/// Where the dockerfile target installs its health probe, a static binary
/// that checks `http://…` and `tcp://…` without curl, wget or a shell.
const PROBE: &str = "/usr/local/bin/bomc-healthcheck";

/// Whether a Dockerfile the dockerfile target wrote installs the probe.
pub(super) fn installs_probe(dockerfile: &str) -> bool {
    dockerfile
        .lines()
        .any(|l| l.starts_with("COPY --from=probe ") && l.trim_end().ends_with(PROBE))
}

/// Removes `.` and resolves `..` lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            PathPart::CurDir => {}
            PathPart::ParentDir
                if matches!(out.components().next_back(), Some(PathPart::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// A model value as raw compose data (the escape hatch).
fn raw(value: &Value, c: &Component, errors: &mut Vec<Diagnostic>) -> Yaml {
    match value {
        Value::Int(i) => Yaml::Number((*i).into()),
        Value::Float(f) => Yaml::Number((*f).into()),
        Value::Bool(b) => Yaml::Bool(*b),
        Value::Size(b) => Yaml::Number((*b).into()),
        Value::Duration(ms) => Yaml::String(duration(*ms)),
        Value::Port(p) => Yaml::Number(p.number.into()),
        Value::List(items) => Yaml::Sequence(items.iter().map(|v| raw(v, c, errors)).collect()),
        Value::Map(map) => {
            let mut m = Mapping::new();
            for (k, v) in map {
                m.insert(Yaml::String(k.clone()), raw(v, c, errors));
            }
            Yaml::Mapping(m)
        }
        Value::Secret(name) => {
            errors.push(
                Diagnostic::new(
                    ErrorCode::SecretAsString,
                    format!("secret `{name}` in the raw `compose` keys of `{}` would be written as text", c.name),
                )
                .label(c.name_span, "in this component")
                .help("give secrets to a container through `env`: bomc mounts them as compose secrets"),
            );
            Yaml::Null
        }
        other => Yaml::String(text(other, &Names).unwrap_or_default()),
    }
}

/// Merges `patch` into `base`: maps key by key, recursively; anything else replaced.
fn merge(base: &mut Yaml, patch: Yaml) {
    match (base, patch) {
        (Yaml::Mapping(b), Yaml::Mapping(p)) => {
            for (k, v) in p {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (base, patch) => *base = patch,
    }
}

/// One component as a compose service, with the top-level entries it needs.
pub(super) fn service(
    plan: &Plan,
    c: &Component,
    labels: &BTreeMap<String, String>,
    file: &mut ComposeFile,
) -> Result<Yaml, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut s = Service {
        restart: if is_job(c) { "no" } else { "unless-stopped" },
        networks: plan
            .networks
            .get(&c.name)
            .map(|n| n.iter().cloned().collect())
            .unwrap_or_default(),
        healthcheck: plan.health.get(&c.name).cloned(),
        ..Service::default()
    };
    image(plan, c, &mut s, &mut errors);
    environment(plan, c, &mut s, file, &mut errors);
    ports(plan, c, &mut s, file, &mut errors);
    volumes(c, labels, &mut s, file, &mut errors);
    depends_on(plan, c, &mut s);
    s.deploy = Some(deploy(c));
    // The component's own labels, then bomc's (which win).
    if let Some(own) = c.setting("labels").and_then(Value::as_map) {
        s.labels.extend(
            own.iter()
                .filter_map(|(k, v)| Some((k.clone(), text(v, &Names)?))),
        );
    }
    s.labels
        .extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    s.labels
        .insert(String::from("org.bomc.component"), c.name.clone());
    if let Some(kind) = c.kind.first() {
        s.labels.insert(String::from("org.bomc.kind"), kind.clone());
    }

    let mut value = serde_yaml_ng::to_value(&s).map_err(|e| vec![internal(&e.to_string())])?;
    if let Some(hatch) = c.setting("compose") {
        let patch = raw(hatch, c, &mut errors);
        merge(&mut value, patch);
    }
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(errors)
    }
}

fn not_text(c: &Component, what: &str) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::SecretAsString,
        format!("the {what} of `{}` is not all text", c.name),
    )
    .label(c.name_span, "in this component")
    .help("give secrets to a container through `env`: bomc mounts them as compose secrets")
}

/// The image, or the build of an image definition; the command.
fn image(plan: &Plan, c: &Component, s: &mut Service, errors: &mut Vec<Diagnostic>) {
    let ctx = plan.ctx;
    match c.setting("build") {
        Some(Value::Image(name)) => {
            let image = ctx.landscape.images.iter().find(|i| &i.name == name);
            // As the dockerfile target builds it: the image's context, else the
            // .bom file's folder (a layer without context copies nothing from it).
            let context = image
                .and_then(|i| i.settings.get("context"))
                .and_then(Value::as_str)
                .unwrap_or(".");
            s.build = Some(Build {
                context: normalize(&plan.source_dir.join(context))
                    .to_string_lossy()
                    .into_owned(),
                dockerfile_inline: plan
                    .dockerfiles
                    .get(&format!("images/{name}/Dockerfile"))
                    .cloned(),
            });
            s.image = Some(image_tag(ctx, name));
        }
        _ => s.image = c.setting("image").and_then(|v| text(v, &Names)),
    }
    if let Some(command) = c.setting("command") {
        match text_list(Some(command), &Names) {
            Some(list) => s.command = Some(list),
            None => errors.push(not_text(c, "command")),
        }
    }
}

/// `env`, with every secret as a file: `<NAME>_FILE` names where the compose
/// secret is mounted, and the top-level secret reads the value from the host.
fn environment(
    plan: &Plan,
    c: &Component,
    s: &mut Service,
    file: &mut ComposeFile,
    errors: &mut Vec<Diagnostic>,
) {
    let Some(env) = c.setting("env").and_then(Value::as_map) else {
        return;
    };
    for (name, value) in env {
        if name.is_empty() || name.contains('=') || name.chars().any(char::is_control) {
            errors.push(name_error(
                c,
                format!(
                    "`{}` cannot be an environment variable name",
                    name.escape_debug()
                ),
                "environment variable names cannot be empty or contain `=` or control characters",
            ));
            continue;
        }
        if let Value::Secret(secret) = value {
            let Some(names) = plan.secrets.get(secret) else {
                continue;
            };
            let var = format!("{name}_FILE");
            if env.contains_key(&var) {
                errors.push(name_error(
                    c,
                    format!(
                        "`{name}` holds a secret, so compose sets `{var}`, which `env` also sets"
                    ),
                    "remove one of the two variables",
                ));
                continue;
            }
            s.environment
                .insert(var, format!("/run/secrets/{}", names.key));
            if !s.secrets.contains(&names.key) {
                s.secrets.push(names.key.clone());
            }
            file.secrets.insert(
                names.key.clone(),
                SecretSource {
                    environment: names.variable.clone(),
                },
            );
        } else {
            match text(value, &Names) {
                Some(t) => {
                    s.environment.insert(name.clone(), t);
                }
                None => errors.push(not_text(c, &format!("environment variable `{name}`"))),
            }
        }
    }
    s.secrets.sort();
}

/// How many host ports one instance may use per published port: the most
/// replicas of any public component.
fn port_stride(plan: &Plan) -> i64 {
    plan.ctx
        .landscape
        .components
        .iter()
        .filter(|c| c.setting("public") == Some(&Value::Bool(true)))
        .map(replicas)
        .max()
        .unwrap_or(1)
        .max(1)
}

/// Public components publish the ports they serve (a load balancer its `http`
/// port, with its HAProxy configuration); the others only expose them.
fn ports(
    plan: &Plan,
    c: &Component,
    s: &mut Service,
    file: &mut ComposeFile,
    errors: &mut Vec<Diagnostic>,
) {
    let lb = is_load_balancer(c);
    let serving: Vec<u16> = c
        .ports()
        .into_iter()
        .filter(|(name, _)| !lb || *name == "http")
        .filter_map(|(_, n)| u16::try_from(n).ok())
        .collect();
    let replicas = replicas(c);
    if c.setting("public") == Some(&Value::Bool(true)) {
        // Each instance of the landscape publishes in its own block of host
        // ports, as wide as the most replicated public component.
        let shift = i64::from(plan.ctx.port_block) * port_stride(plan);
        for n in &serving {
            // Several replicas cannot share a host port: one port each.
            let first = i64::from(*n) + shift;
            let last = first + replicas - 1;
            if last > 65_535 {
                errors.push(name_error(
                    c,
                    format!(
                        "{replicas} replicas of `{}` cannot each publish a port from {n}",
                        c.name
                    ),
                    "use fewer replicas or a lower port",
                ));
            }
            s.ports.push(Published {
                target: *n,
                published: if replicas > 1 {
                    format!("{first}-{last}")
                } else {
                    first.to_string()
                },
                protocol: "tcp",
            });
        }
    } else {
        s.expose = serving.clone();
        s.expose.sort_unstable();
        s.expose.dedup();
    }
    let Some(listen) = serving.first().filter(|_| lb) else {
        return;
    };
    match haproxy::config(&plan.ctx.header(), c, plan.ctx.landscape, *listen) {
        Ok(content) => {
            let key = format!("{}.haproxy.cfg", c.name);
            file.configs.insert(key.clone(), InlineConfig { content });
            s.configs.push(ConfigMount {
                source: key,
                target: haproxy::CONFIG_PATH.to_string(),
            });
            if *listen < 1024 {
                // HAProxy runs unprivileged in the official image.
                s.sysctls.insert(
                    String::from("net.ipv4.ip_unprivileged_port_start"),
                    String::from("0"),
                );
            }
        }
        Err(mut e) => errors.append(&mut e),
    }
}

/// Each `volumes` entry as the named volume `<component>.<name>`.
fn volumes(
    c: &Component,
    labels: &BTreeMap<String, String>,
    s: &mut Service,
    file: &mut ComposeFile,
    errors: &mut Vec<Diagnostic>,
) {
    for (name, path) in c
        .setting("volumes")
        .and_then(Value::as_map)
        .into_iter()
        .flatten()
    {
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-'));
        let Some(target) = text(path, &Names).filter(|_| valid) else {
            errors.push(name_error(
                c,
                format!(
                    "`{}` cannot be a volume name on compose",
                    name.escape_debug()
                ),
                "volume names use letters, digits, `.`, `_` and `-`",
            ));
            continue;
        };
        let key = format!("{}.{name}", c.name);
        let mut labels = labels.clone();
        labels.insert(String::from("org.bomc.component"), c.name.clone());
        let stateful = c.setting("stateful") == Some(&Value::Bool(true));
        labels.insert(String::from("org.bomc.stateful"), stateful.to_string());
        file.volumes.insert(key.clone(), Labelled { labels });
        s.volumes.push(VolumeMount {
            kind: "volume",
            source: key,
            target,
        });
    }
}

/// Every component dependency of the graph, with what to wait for.
fn depends_on(plan: &Plan, c: &Component, s: &mut Service) {
    let ctx = plan.ctx;
    let Some(node) = ctx.graph.node(&c.name) else {
        return;
    };
    for dep in ctx.graph.component_dependencies(node) {
        let name = &ctx.graph.graph[dep].name;
        let Some(d) = ctx.landscape.component(name).filter(|d| d.name != c.name) else {
            continue;
        };
        let condition = if is_job(d) {
            "service_completed_successfully"
        } else if plan.health.contains_key(&d.name) {
            "service_healthy"
        } else {
            "service_started"
        };
        s.depends_on.insert(d.name.clone(), DependsOn { condition });
    }
}

fn replicas(c: &Component) -> i64 {
    c.setting("replicas")
        .and_then(Value::as_int)
        .unwrap_or(1)
        .max(0)
}

/// Replicas and resource limits.
fn deploy(c: &Component) -> Deploy {
    Deploy {
        replicas: replicas(c),
        resources: Resources {
            limits: Limits {
                cpus: match c.setting("cpu") {
                    Some(Value::Float(f)) => Some(f.to_string()),
                    Some(Value::Int(i)) => Some(i.to_string()),
                    _ => None,
                },
                memory: match c.setting("memory") {
                    Some(Value::Size(b)) => Some(memory(*b)),
                    _ => None,
                },
            },
        },
    }
}

/// The health check: the component's command; else, in an image bomc built
/// with its probe, the probe on `http://127.0.0.1:<port><path>` (or
/// `tcp://127.0.0.1:<port>` without a path); else for an HTTP path an HTTP GET
/// with wget (busybox and GNU wget both take these flags). A TCP check without
/// the probe has no portable command, so there is none.
pub(super) fn healthcheck(
    c: &Component,
    probe: bool,
    errors: &mut Vec<Diagnostic>,
) -> Option<Healthcheck> {
    let health = c.setting("health").and_then(Value::as_map)?;
    let test: Vec<String> = if let Some(command) = health.get("command") {
        let Some(list) = text_list(Some(command), &Names) else {
            errors.push(not_text(c, "health command"));
            return None;
        };
        std::iter::once(String::from("CMD")).chain(list).collect()
    } else {
        let path = health.get("path").and_then(|p| text(p, &Names));
        let ports = c.ports();
        let port = match health.get("port").and_then(Value::as_str) {
            Some(n) => ports.get(n).copied(),
            None => ports.values().next().copied(),
        };
        let Some(port) = port else {
            errors.push(name_error(
                c,
                format!("the health check of `{}` names no port it serves", c.name),
                "set `health.port` to one of the names in `ports`",
            ));
            return None;
        };
        let url = path.map(|p| {
            format!(
                "http://127.0.0.1:{port}{}{p}",
                if p.starts_with('/') { "" } else { "/" }
            )
        });
        match (probe, url) {
            (true, Some(url)) => vec![String::from("CMD"), String::from(PROBE), url],
            (true, None) => vec![
                String::from("CMD"),
                String::from(PROBE),
                format!("tcp://127.0.0.1:{port}"),
            ],
            (false, Some(url)) => ["CMD", "wget", "-q", "-O", "/dev/null", &url]
                .map(String::from)
                .to_vec(),
            (false, None) => return None,
        }
    };
    Some(Healthcheck {
        test,
        interval: duration_of(health.get("interval")),
        timeout: duration_of(health.get("timeout")),
        retries: health.get("unhealthy").and_then(Value::as_int),
        start_period: duration_of(health.get("start_period")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration(2_000), "2s");
        assert_eq!(duration(90_000), "1m30s");
        assert_eq!(duration(1_500), "1s500ms");
        assert_eq!(duration(3_600_000), "1h");
        assert_eq!(duration(0), "0s");
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(memory(1 << 30), "1G");
        assert_eq!(memory(512 << 20), "512M");
        assert_eq!(memory(1_000_000_000), "1000000000");
    }

    #[test]
    fn escape_hatch_merges_deeply() {
        let mut base: Yaml = serde_yaml_ng::from_str(
            "deploy: {replicas: 2, resources: {limits: {cpus: '1'}}}\nrestart: no",
        )
        .unwrap();
        let patch: Yaml =
            serde_yaml_ng::from_str("deploy: {update_config: {order: start-first}, replicas: 3}")
                .unwrap();
        merge(&mut base, patch);
        let want: Yaml = serde_yaml_ng::from_str(
            "deploy: {replicas: 3, resources: {limits: {cpus: '1'}}, update_config: {order: start-first}}\nrestart: no",
        )
        .unwrap();
        assert_eq!(base, want);
    }
}
