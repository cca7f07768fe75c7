//! One workload as a compose service: image or build, command, environment
//! and secrets, ports, networks, volumes, start order, health check,
//! resources, restart policy and labels, then the raw `compose` keys merged in.

use super::spec::*;
use super::{Emit, escape_dollars, haproxy, internal};
use crate::diag::{Diagnostic, ErrorCode};
use crate::lower::plan::{
    BuildImage, Check, EnvValue, Health, ImageSource, Mount, Protocol, Role, SecretDelivery, Wait,
    Workload,
};
use crate::model::Value;
use crate::source::{absolute, normalize, relative};
use serde_yaml_ng::{Mapping, Value as Yaml};
use std::collections::BTreeSet;
use std::path::Path;
#[cfg(test)]
use std::path::PathBuf;

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

/// The build of an image bomc builds: its context as the dockerfile target's
/// build script takes it (the image's `context` from the `.bom` file's
/// folder; for a template without one, that folder; for a layer without one,
/// the image's own output folder), relative to the compose file's folder,
/// and the dockerfile target's `images/<name>/Dockerfile` relative to the context.
pub(super) fn build(instance: &crate::lower::plan::Instance, image: &BuildImage) -> Build {
    let source_dir = absolute(&instance.source_dir);
    let output_dir = absolute(&instance.output_dir);
    let image_dir = output_dir.join("images").join(&image.name);
    let context = match &image.context {
        Some(c) => normalize(&source_dir.join(c)),
        None if image.template.is_some() || image.dockerfile.is_some() => source_dir,
        None => image_dir.clone(),
    };
    match &image.dockerfile {
        // The project's own Dockerfile: compose names it relative to the context.
        Some(dockerfile) => Build {
            context: relative(&context, &output_dir),
            dockerfile: dockerfile.clone(),
            target: image.target.clone(),
            args: image.args.iter().cloned().collect(),
        },
        None => Build {
            context: relative(&context, &output_dir),
            dockerfile: relative(&image_dir.join("Dockerfile"), &context),
            target: None,
            args: Default::default(),
        },
    }
}

/// A model value as raw compose data (the escape hatch), not yet `$`-escaped.
fn raw(emit: &Emit, value: &Value, w: &Workload, errors: &mut Vec<Diagnostic>) -> Yaml {
    match value {
        Value::Int(i) => Yaml::Number((*i).into()),
        Value::Float(f) => Yaml::Number((*f).into()),
        Value::Bool(b) => Yaml::Bool(*b),
        Value::Size(b) => Yaml::Number((*b).into()),
        Value::Null => Yaml::Null,
        Value::Duration(ms) => Yaml::String(duration(*ms)),
        Value::Port(p) => Yaml::Number(emit.port(&p.component, &p.port, p.number).into()),
        Value::List(items) => {
            Yaml::Sequence(items.iter().map(|v| raw(emit, v, w, errors)).collect())
        }
        Value::Map(map) => {
            let mut m = Mapping::new();
            for (k, v) in map {
                m.insert(Yaml::String(k.clone()), raw(emit, v, w, errors));
            }
            Yaml::Mapping(m)
        }
        Value::Secret(name) => {
            errors.push(
                Diagnostic::new(
                    ErrorCode::SecretAsString,
                    format!(
                        "secret `{name}` in the raw `compose` keys of `{}` would be written as text",
                        w.name
                    ),
                )
                .label(w.name_span, "in this component")
                .help("give secrets to a container through `env`: bomc mounts them as compose secrets"),
            );
            Yaml::Null
        }
        Value::Template(_) | Value::Host(_) => Yaml::String(
            crate::lower::plan_text(value)
                .map(|t| emit.resolve(&t))
                .unwrap_or_default(),
        ),
        Value::String(s) | Value::Image(s) | Value::Component(s) => Yaml::String(s.clone()),
    }
}

/// Merges `patch` into `base` as a Compose override file merges into the
/// file before it (Compose Specification, "Merge"): maps key by key,
/// recursively; sequences appended, but `command`, `entrypoint` and
/// `healthcheck.test` replaced, and `ports`, `volumes`, `secrets` and
/// `configs` merged by their unique key (an entry with the key of one bomc
/// wrote replaces it); `environment` and `labels` written as `KEY=VALUE`
/// lists merged by name.
fn merge(base: &mut Yaml, patch: Yaml) {
    merge_at(base, patch, "");
}

fn merge_at(base: &mut Yaml, patch: Yaml, key: &str) {
    match (base, patch) {
        (Yaml::Mapping(b), Yaml::Mapping(p)) => {
            for (k, v) in p {
                let name = k.as_str().unwrap_or("").to_string();
                match b.get_mut(&k) {
                    Some(existing) => merge_at(existing, v, &name),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (base @ Yaml::Mapping(_), Yaml::Sequence(p)) if matches!(key, "environment" | "labels") => {
            merge_at(base, Yaml::Mapping(key_values(p)), key);
        }
        (Yaml::Sequence(b), Yaml::Sequence(p))
            if !matches!(key, "command" | "entrypoint" | "test") =>
        {
            for item in p {
                let id = unique_key(key, &item);
                match id.and_then(|id| {
                    b.iter()
                        .position(|e| unique_key(key, e).as_ref() == Some(&id))
                }) {
                    Some(i) => b[i] = item,
                    None => b.push(item),
                }
            }
        }
        (base, patch) => *base = patch,
    }
}

/// `["KEY=VALUE", …]` as a map (a `KEY` alone maps to null, as compose reads it).
fn key_values(items: Vec<Yaml>) -> Mapping {
    let mut m = Mapping::new();
    for item in items {
        let text = item.as_str().unwrap_or_default().to_string();
        match text.split_once('=') {
            Some((k, v)) => m.insert(Yaml::String(k.into()), Yaml::String(v.into())),
            None => m.insert(Yaml::String(text), Yaml::Null),
        };
    }
    m
}

/// The key compose merges an entry of `ports`, `volumes`, `secrets` or
/// `configs` by (long or short syntax); `None` for other lists.
fn unique_key(list: &str, entry: &Yaml) -> Option<String> {
    let field = |name: &str| -> String {
        match entry.get(name) {
            Some(Yaml::String(s)) => s.clone(),
            Some(Yaml::Number(n)) => n.to_string(),
            _ => String::new(),
        }
    };
    let short = entry.as_str();
    match list {
        "volumes" => Some(match short {
            // SOURCE:TARGET[:MODE], or an anonymous TARGET.
            Some(s) => {
                let parts: Vec<&str> = s.split(':').collect();
                parts
                    .get(1)
                    .or(parts.first())
                    .copied()
                    .unwrap_or("")
                    .to_string()
            }
            None => field("target"),
        }),
        // The path it is mounted at: a secret by default in /run/secrets/,
        // a config at the root.
        "secrets" | "configs" => {
            let folder = if list == "secrets" {
                "/run/secrets/"
            } else {
                "/"
            };
            Some(match short {
                Some(s) => format!("{folder}{s}"),
                None if entry.get("target").is_some() => field("target"),
                None => format!("{folder}{}", field("source")),
            })
        }
        "ports" => Some(match short {
            // [IP:][PUBLISHED:]TARGET[/PROTOCOL]
            Some(s) => {
                let (rest, protocol) = s.split_once('/').unwrap_or((s, "tcp"));
                let mut parts: Vec<&str> = rest.rsplitn(3, ':').collect();
                parts.resize(3, "");
                format!("{}|{}|{}|{protocol}", parts[2], parts[0], parts[1])
            }
            None => {
                let protocol = field("protocol");
                format!(
                    "{}|{}|{}|{}",
                    field("host_ip"),
                    field("target"),
                    field("published"),
                    if protocol.is_empty() {
                        "tcp"
                    } else {
                        &protocol
                    }
                )
            }
        }),
        _ => None,
    }
}

/// One workload as a compose service, with the top-level entries it needs;
/// its strings `$`-escaped.
pub(super) fn service(
    emit: &Emit,
    w: &Workload,
    file: &mut ComposeFile,
) -> Result<Made, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    if emit.validate_only {
        // What compose itself can refuse: the escape hatch's values and a load
        // balancer's route paths in its HAProxy configuration; every other
        // mistake is found while lowering, so no service is built to be freed.
        if let Some(hatch) = &w.compose_overrides {
            raw(emit, hatch, w, &mut errors);
        }
        if let Role::LoadBalancer(lb) = &w.role {
            errors.append(&mut haproxy::errors(emit, w, lb));
        }
        return if errors.is_empty() {
            Ok(Made::Merged(Yaml::Null))
        } else {
            Err(errors)
        };
    }
    let mut s = Service {
        restart: w.restart.clone(),
        entrypoint: w
            .entrypoint
            .as_ref()
            .map(|c| c.iter().map(|t| emit.resolve(t)).collect()),
        user: w.user.clone(),
        working_dir: w.working_dir.clone(),
        env_file: w.env_files.iter().map(|f| host_path(emit, f)).collect(),
        profiles: w.profiles.clone(),
        cap_add: w.linux.cap_add.clone(),
        cap_drop: w.linux.cap_drop.clone(),
        ulimits: w
            .linux
            .ulimits
            .iter()
            .map(|(name, &(soft, hard))| {
                let limit = if soft == hard {
                    Ulimit::Same(soft)
                } else {
                    Ulimit::Split { soft, hard }
                };
                (name.clone(), limit)
            })
            .collect(),
        sysctls: w.linux.sysctls.clone(),
        networks: emit
            .networks
            .get(&w.name)
            .map(|n| n.iter().cloned().collect())
            .unwrap_or_default(),
        healthcheck: match &w.health {
            Some(h) => Some(healthcheck(h)),
            None if w.health_disabled => Some(check_off()),
            None => inherited_check_off(emit, w),
        },
        command: w
            .command
            .as_ref()
            .map(|c| c.iter().map(|t| emit.resolve(t)).collect()),
        depends_on: w
            .depends_on
            .iter()
            .map(|d| {
                let condition = match d.wait {
                    Wait::Completed => "service_completed_successfully",
                    Wait::Healthy => "service_healthy",
                    Wait::Started => "service_started",
                };
                (d.component.clone(), DependsOn { condition })
            })
            .collect(),
        deploy: Some(Deploy {
            replicas: w.replicas,
            resources: Resources {
                limits: limits(&w.limits),
                reservations: limits(&w.reservations),
            },
        }),
        ..Service::default()
    };
    image(emit, w, &mut s, &mut errors);
    environment(emit, w, &mut s, file, &mut errors);
    ports(emit, w, &mut s, file, &mut errors);
    volumes(emit, w, &mut s, file);
    // The component's own labels, then bomc's (which win).
    s.labels
        .extend(w.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    s.labels
        .extend(emit.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    s.labels
        .insert(String::from("org.bomc.component"), w.name.clone());
    if !w.kind.is_empty() {
        s.labels
            .insert(String::from("org.bomc.kind"), w.kind.clone());
    }

    // The environment is written in its final form already: escaped, but for
    // the interpolation of secrets compose reads from the host.
    let made = match &w.compose_overrides {
        None => Made::Typed(Box::new(s)),
        Some(hatch) => {
            let mut value =
                serde_yaml_ng::to_value(&s).map_err(|e| vec![internal(&e.to_string())])?;
            if let Yaml::Mapping(m) = &mut value {
                m.iter_mut()
                    .filter(|(k, _)| k.as_str() != Some("environment"))
                    .for_each(|(_, v)| escape_dollars(v));
            }
            let mut patch = raw(emit, hatch, w, &mut errors);
            escape_dollars(&mut patch);
            merge(&mut value, patch);
            Made::Merged(value)
        }
    };
    if errors.is_empty() {
        Ok(made)
    } else {
        Err(errors)
    }
}

/// A service as it is written: its typed value (strings `$`-escaped as they
/// are written, but for its environment), or, with the escape hatch merged
/// into it, a tree (every string escaped).
pub(super) enum Made {
    Typed(Box<Service>),
    Merged(Yaml),
}

impl Made {
    /// `name:` and the service, at `level`.
    pub(super) fn write(
        &self,
        out: &mut String,
        name: &str,
        level: usize,
    ) -> Result<(), Diagnostic> {
        use crate::emit::yaml::{Dollars, typed_entry};
        match self {
            Made::Typed(s) => typed_entry(out, name, s, level, Dollars::DoubledButEnvironment)
                .map_err(|e| internal(&e.to_string())),
            Made::Merged(value) => {
                crate::emit::yaml::entry(out, &Yaml::String(name.to_string()), value, level);
                Ok(())
            }
        }
    }
}

/// CPU and memory as compose writes them.
fn limits(r: &crate::lower::plan::Resources) -> Limits {
    Limits {
        cpus: r.cpu.map(|c| c.to_string()),
        memory: r.memory_mib.map(|m| memory(m.saturating_mul(1 << 20))),
    }
}

/// The health check as compose runs it; `healthy` has no compose equivalent
/// (the plan carries the warning).
fn healthcheck(h: &Health) -> Healthcheck {
    let cmd = String::from("CMD");
    let test = match &h.check {
        probe @ (Check::Http { .. } | Check::Tcp { .. }) => std::iter::once(cmd)
            .chain(probe.probe_command().unwrap_or_default())
            .collect(),
        Check::Exec { command } => std::iter::once(cmd).chain(command.clone()).collect(),
        Check::Shell { command } => vec![String::from("CMD-SHELL"), command.clone()],
    };
    Healthcheck {
        test,
        disable: false,
        interval: h.interval_ms.map(duration),
        // Docker's own default is 30 s; ECS's and the ALB's is 5 s.
        timeout: Some(duration(h.timeout_or_default_ms())),
        retries: h.unhealthy,
        start_period: h.start_period_ms.map(duration),
    }
}

/// For a workload without a health check built from an image whose
/// HEALTHCHECK is another component's (a job built from its service's image):
/// that check turned off, else Docker would run it in the job's container —
/// probing a port the job does not serve, and calling it unhealthy.
fn inherited_check_off(emit: &Emit, w: &Workload) -> Option<Healthcheck> {
    let ImageSource::Build(name) = &w.image else {
        return None;
    };
    emit.plan
        .images
        .iter()
        .find(|i| &i.name == name)
        .and_then(|i| i.health.as_ref())
        .map(|_| check_off())
}

/// The image's HEALTHCHECK turned off.
fn check_off() -> Healthcheck {
    Healthcheck {
        test: Vec::new(),
        disable: true,
        interval: None,
        timeout: None,
        retries: None,
        start_period: None,
    }
}

/// The image, or the build of an image definition.
fn image(emit: &Emit, w: &Workload, s: &mut Service, errors: &mut Vec<Diagnostic>) {
    match &w.image {
        ImageSource::Pull(reference) => {
            s.image = Some(reference.clone()).filter(|r| !r.is_empty());
        }
        ImageSource::Build(name) => match emit.plan.images.iter().position(|i| &i.name == name) {
            Some(at) => {
                s.image = Some(emit.plan.images[at].tag.clone());
                s.build = emit.builds.get(at).cloned();
            }
            None => errors.push(internal(&format!(
                "`{}` builds image `{name}`, which the plan does not hold",
                w.name
            ))),
        },
    }
}

/// `env`: text as it resolves on compose; each secret as the plan delivers
/// it on compose, under the variable name it has on every target.
fn environment(
    emit: &Emit,
    w: &Workload,
    s: &mut Service,
    file: &mut ComposeFile,
    errors: &mut Vec<Diagnostic>,
) {
    let mut mounts = BTreeSet::new();
    for var in &w.env {
        let name = var.name.clone();
        let secret = match &var.value {
            EnvValue::Text(t) => {
                s.environment
                    .insert(name, emit.resolve(t).replace('$', "$$"));
                continue;
            }
            EnvValue::Secret(secret) => secret,
        };
        let Some(names) = emit.plan.secrets.get(&secret.secret) else {
            errors.push(internal(&format!(
                "secret `{}` of `{}` has no compose name in the plan",
                secret.secret, w.name
            )));
            continue;
        };
        let mut mount = |m: SecretMount| {
            mounts.insert(m);
            file.secrets.insert(
                names.key.clone(),
                SecretSource {
                    environment: names.variable.clone(),
                },
            );
        };
        match &secret.compose {
            // The entrypoint shim reads the file into the variable.
            SecretDelivery::Shim(path) => mount(SecretMount::Long {
                source: names.key.clone(),
                target: path.clone(),
            }),
            SecretDelivery::File => {
                mount(SecretMount::Short(names.key.clone()));
                s.environment.insert(
                    format!("{name}_FILE"),
                    format!("/run/secrets/{}", names.key),
                );
            }
            // Interpolated by compose from the host when the stack starts:
            // the one `$` bomc does not double.
            SecretDelivery::Environment => {
                let v = &names.variable;
                let what: String = secret
                    .secret
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || "/_+=.@-".contains(c) {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                s.environment.insert(
                    name,
                    format!("${{{v}:?set {v} to the value of secret {what}}}"),
                );
            }
        }
    }
    s.secrets = mounts.into_iter().collect();
}

/// The plan's published host ports; what the others serve, exposed (a load
/// balancer serves its HTTP port, with its HAProxy configuration).
fn ports(
    emit: &Emit,
    w: &Workload,
    s: &mut Service,
    file: &mut ComposeFile,
    errors: &mut Vec<Diagnostic>,
) {
    let lb = match &w.role {
        Role::LoadBalancer(lb) => Some(lb),
        _ => None,
    };
    for p in &w.published {
        s.ports.push(Published {
            target: p.target,
            host_ip: p.host_ip.clone(),
            published: if p.last > p.first {
                format!("{}-{}", p.first, p.last)
            } else {
                p.first.to_string()
            },
            protocol: p.protocol.as_str(),
        });
    }
    if !w.public {
        let serving: BTreeSet<(u16, Protocol)> = match lb {
            Some(lb) => BTreeSet::from([(lb.http_port, Protocol::Tcp)]),
            None => w.ports.iter().map(|p| (p.number, p.protocol)).collect(),
        };
        s.expose = serving
            .into_iter()
            .map(|(n, protocol)| match protocol {
                Protocol::Tcp => Yaml::Number(n.into()),
                Protocol::Udp => Yaml::String(format!("{n}/udp")),
            })
            .collect();
    }
    let Some(lb) = lb else {
        return;
    };
    match haproxy::config(emit, w, lb) {
        Ok(content) => {
            let key = format!("{}.haproxy.cfg", w.name);
            file.configs.insert(key.clone(), InlineConfig { content });
            s.configs.push(ConfigMount {
                source: key,
                target: haproxy::CONFIG_PATH.to_string(),
            });
            if lb.http_port < 1024 {
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

/// Each volume as the named volume `<component>.<name>`; then the mounts:
/// bind mounts from the `.bom` file's folder, written relative to the
/// compose file's, volumes and tmpfs.
fn volumes(emit: &Emit, w: &Workload, s: &mut Service, file: &mut ComposeFile) {
    let mut named = |name: &str| {
        let key = format!("{}.{name}", w.name);
        let mut labels = emit.labels.clone();
        labels.insert(String::from("org.bomc.component"), w.name.clone());
        labels.insert(String::from("org.bomc.stateful"), w.stateful.to_string());
        file.volumes.insert(key.clone(), Labelled { labels });
        key
    };
    for v in &w.volumes {
        s.volumes.push(VolumeMount {
            kind: "volume",
            source: Some(named(&v.name)),
            target: v.path.clone(),
            read_only: false,
            tmpfs: None,
        });
    }
    for m in &w.mounts {
        s.volumes.push(match m {
            Mount::Bind {
                source,
                target,
                read_only,
            } => VolumeMount {
                kind: "bind",
                source: Some(host_path(emit, source)),
                target: target.clone(),
                read_only: *read_only,
                tmpfs: None,
            },
            Mount::Volume {
                name,
                target,
                read_only,
            } => VolumeMount {
                kind: "volume",
                source: Some(named(name)),
                target: target.clone(),
                read_only: *read_only,
                tmpfs: None,
            },
            Mount::Tmpfs { target, size } => VolumeMount {
                kind: "tmpfs",
                source: None,
                target: target.clone(),
                read_only: false,
                tmpfs: size.map(|size| TmpfsOptions { size }),
            },
        });
    }
}

/// A host path from the `.bom` file's folder, relative to the compose
/// file's (absolute paths stay as written).
fn host_path(emit: &Emit, path: &str) -> String {
    if Path::new(path).is_absolute() {
        return path.to_string();
    }
    let instance = &emit.plan.instance;
    let full = normalize(&absolute(&instance.source_dir).join(path));
    let rel = relative(&full, &absolute(&instance.output_dir));
    if rel.starts_with("..") {
        rel
    } else {
        format!("./{rel}")
    }
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
    fn relative_paths() {
        let p = |s: &str| normalize(Path::new(s));
        assert_eq!(relative(&p("/a/b/c"), &p("/a/x/y")), "../../b/c");
        assert_eq!(relative(&p("/a/b"), &p("/a/b")), ".");
        assert_eq!(
            relative(&p("/a/b/images/x/Dockerfile"), &p("/a/b/images/x")),
            "Dockerfile"
        );
        assert_eq!(relative(&p("/a"), &p("/a/b/c")), "../..");
        assert_eq!(
            relative(&p("/src/./app/../app2"), &p("/out/l/i")),
            "../../../src/app2"
        );
        assert_eq!(p("/../x/.."), PathBuf::from("/"));
        assert_eq!(p("../a/../../b"), PathBuf::from("../../b"));
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

    #[test]
    fn escape_hatch_lists_merge_as_compose_override_files_do() {
        let yaml = |s: &str| -> Yaml { serde_yaml_ng::from_str(s).unwrap() };
        let mut base = yaml(
            "volumes: [{type: volume, source: db.data, target: /var/lib/mysql}]\n\
             ports: [{target: 80, published: '8080', protocol: tcp}]\n\
             secrets: [{source: a, target: /run/bomc/env/A}]\n\
             environment: {A: '1', B: '2'}\n\
             command: [serve]\n\
             dns: [1.1.1.1]\n\
             healthcheck: {test: [CMD, a], interval: 2s}",
        );
        merge(
            &mut base,
            yaml(
                "volumes: ['./conf:/etc/mysql/conf.d:ro', {type: volume, source: other, target: /var/lib/mysql}]\n\
                 ports: ['9090:90', {target: 80, published: '8080', protocol: tcp, mode: host}]\n\
                 secrets: [b]\n\
                 environment: [B=3, C]\n\
                 command: [debug]\n\
                 dns: [8.8.8.8]\n\
                 healthcheck: {test: [CMD, b]}",
            ),
        );
        let want = yaml(
            "volumes: [{type: volume, source: other, target: /var/lib/mysql}, './conf:/etc/mysql/conf.d:ro']\n\
             ports: [{target: 80, published: '8080', protocol: tcp, mode: host}, '9090:90']\n\
             secrets: [{source: a, target: /run/bomc/env/A}, b]\n\
             environment: {A: '1', B: '3', C: null}\n\
             command: [debug]\n\
             dns: [1.1.1.1, 8.8.8.8]\n\
             healthcheck: {test: [CMD, b], interval: 2s}",
        );
        assert_eq!(base, want);
    }
}
