//! Components → workloads: every setting read once, defaults and sizing
//! decided, health and secrets resolved, and what bomc changes reported.

use super::contracts::{self, Managed, Side};
use super::plan::*;
use crate::diag::{Diagnostic, ErrorCode};
use crate::graph::Graph;
use crate::model::{Component, Landscape, Part, Value};
use crate::source::Span;
use std::collections::{BTreeMap, BTreeSet};

pub(super) struct Lowering<'a> {
    pub landscape: &'a Landscape,
    /// The landscape's components by name (a lookup per reference, not a scan).
    pub components: &'a crate::IdMap<&'a str, &'a Component>,
    pub instance: &'a Instance,
    pub errors: &'a mut Vec<Diagnostic>,
    pub warnings: &'a mut Vec<Diagnostic>,
}

/// How long a deployment waits for a job to finish before it fails. A
/// CloudFormation custom resource times out after at most an hour
/// (`ServiceTimeout`, 1–3600 s); the rest is the margin to start the task
/// and report.
pub const JOB_TIMEOUT_S: u64 = 3300;

/// The target groups an Application Load Balancer takes: an AWS quota that
/// cannot be raised ("Target Groups per Application Load Balancer").
const MAX_TARGET_GROUPS: usize = 100;
/// How many components a landscape has before its workloads are made on
/// two cores: a thread costs more than a small landscape's workloads.
pub(super) const HALVES_FROM: usize = 64;
/// The highest priority a listener rule may have (ALB: 1–50,000).
pub const MAX_RULE_PRIORITY: u32 = 50_000;

/// The smallest sizes, which ephemeral environments run unless they say otherwise.
const SMALLEST_DB: &str = "db.t3.micro";
/// DocumentDB's smallest instance classes are the `*.medium` burstables.
const SMALLEST_DOCDB: &str = "db.t3.medium";
const SMALLEST_CACHE: &str = "cache.t3.micro";
const SMALLEST_SEARCH: &str = "t3.small.search";
const SMALLEST_MQ: &str = "mq.t3.micro";

fn param<'c>(c: &'c Component, name: &str) -> Option<&'c Value> {
    c.params.get(name).or_else(|| c.setting(name))
}

fn param_str(c: &Component, name: &str) -> Option<String> {
    param(c, name).and_then(Value::as_str).map(String::from)
}

fn secret_of(c: &Component, name: &str) -> Option<String> {
    match param(c, name) {
        Some(Value::Secret(s)) => Some(s.clone()),
        _ => None,
    }
}

/// Where a setting is written, else the component's name.
/// Where entry `key` of map setting `setting` is written, else the setting.
pub(super) fn entry_span(c: &Component, setting: &str, key: &str) -> Span {
    c.setting_spans
        .get_entry(setting, key)
        .copied()
        .unwrap_or_else(|| span_of(c, setting))
}

pub(super) fn span_of(c: &Component, setting: &str) -> Span {
    c.setting_spans.get(setting).copied().unwrap_or(c.name_span)
}

/// A value as target-resolved text; `None` for secrets and collections.
pub(super) fn text(value: &Value) -> Option<Text> {
    let scalar = |v: &Value| crate::eval::scalar_text(v).map(Piece::Literal);
    let pieces = match value {
        Value::Template(parts) => parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => Piece::Literal(t.clone()),
                Part::Host(h) => Piece::Host(h.clone()),
                Part::Port(p) => Piece::Port {
                    component: p.component.clone(),
                    name: p.port.clone(),
                    number: p.number,
                },
                Part::Url(c) => Piece::Url(c.clone()),
                Part::BucketName(c) => Piece::BucketName(c.clone()),
            })
            .collect(),
        Value::Host(h) => vec![Piece::Host(h.clone())],
        Value::Port(p) => vec![Piece::Port {
            component: p.component.clone(),
            name: p.port.clone(),
            number: p.number,
        }],
        Value::Image(i) | Value::Component(i) => vec![Piece::Literal(i.clone())],
        Value::Secret(_) | Value::List(_) | Value::Map(_) => return None,
        other => vec![scalar(other)?],
    };
    Some(Text(pieces))
}

fn literal_list(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::List(items) => items
            .iter()
            .map(|v| text(v).and_then(|t| t.as_literal()))
            .collect(),
        _ => None,
    }
}

/// `health { command = ["NONE"] }`: the image's HEALTHCHECK is turned off.
fn health_disabled(c: &Component) -> bool {
    let Some(Value::Map(h)) = c.setting("health") else {
        return false;
    };
    matches!(h.get("command"), Some(Value::List(items))
        if matches!(items.as_slice(), [Value::String(first), ..] if first == "NONE"))
}

fn managed_of(c: &Component) -> Option<Managed> {
    Managed::from_setting(c.setting("managed").and_then(Value::as_str)?)
}

/// Fargate CPU units and memory (MiB) of a valid combination, at least what
/// is asked for.
pub(super) fn fargate_size(cpu: f64, memory_mib: u64) -> (u32, u32) {
    let want_cpu = (cpu * 1024.0).ceil() as u32;
    let memory = u32::try_from(memory_mib).unwrap_or(u32::MAX);
    const SIZES: [(u32, u32, u32, u32); 7] = [
        (256, 512, 2048, 512),
        (512, 1024, 4096, 1024),
        (1024, 2048, 8192, 1024),
        (2048, 4096, 16384, 1024),
        (4096, 8192, 30720, 1024),
        (8192, 16384, 61440, 4096),
        (16384, 32768, 122880, 8192),
    ];
    for (units, min, max, step) in SIZES {
        if units < want_cpu || memory > max {
            continue;
        }
        let mut m = min;
        while m < memory {
            m += step;
        }
        if units == 256 && m == 1536 {
            m = 2048;
        }
        return (units, m.min(max));
    }
    (16384, 122880)
}

impl Lowering<'_> {
    fn warn(&mut self, code: ErrorCode, span: Span, label: &str, message: String, help: &str) {
        self.warnings
            .push(Diagnostic::new(code, message).label(span, label).help(help));
    }

    pub(super) fn error(
        &mut self,
        code: ErrorCode,
        span: Span,
        label: &str,
        message: String,
        help: &str,
    ) {
        self.errors
            .push(Diagnostic::new(code, message).label(span, label).help(help));
    }

    fn ephemeral(&self) -> bool {
        self.instance.is_ephemeral()
    }

    /// Each component's workload, on its own: what lowering makes before
    /// it needs the landscape's graph ([`Lowering::connect`] then does).
    pub(super) fn workloads(&mut self) -> Vec<Workload> {
        let ids = self.logical_ids();
        self.each_workload(&self.landscape.components, ids)
    }

    /// The workloads made by [`Lowering::workloads`], connected: what each
    /// uses across targets, publishes, waits for and routes.
    pub(super) fn connect(&mut self, workloads: &mut [Workload], graph: &Graph) {
        self.references_across_targets(workloads);
        self.published_ports(workloads);
        self.dependencies(workloads, graph);
        self.routes(workloads);
        self.rule_priorities(workloads);
        self.endpoints_built_by_hand(workloads);
    }

    /// The workloads of `components`, `ids` their logical ids, one after
    /// the other.
    fn workloads_of(&mut self, components: &[Component], ids: Vec<String>) -> Vec<Workload> {
        components
            .iter()
            .zip(ids)
            .map(|(c, id)| self.workload(c, id))
            .collect()
    }

    /// Each component's workload, `ids` their logical ids. A large
    /// landscape's are made in two halves on two cores (a third of lowering
    /// at N = 1,000, on one core while the other had nothing to do), each
    /// half's diagnostics kept apart and taken in order: they read as one
    /// run's, since a component's workload reads no other's.
    fn each_workload(&mut self, components: &[Component], mut ids: Vec<String>) -> Vec<Workload> {
        if components.len() < HALVES_FROM || crate::parallel::sharing() {
            return self.workloads_of(components, ids);
        }
        let cut = components.len() / 2;
        let second = ids.split_off(cut);
        let (landscape, named, instance) = (self.landscape, self.components, self.instance);
        // A half's workloads, with what making them reported.
        let half = |components: &[Component], ids: Vec<String>| {
            let (mut errors, mut warnings) = (Vec::new(), Vec::new());
            let mut lowering = Lowering {
                landscape,
                components: named,
                instance,
                errors: &mut errors,
                warnings: &mut warnings,
            };
            let workloads = lowering.workloads_of(components, ids);
            (workloads, errors, warnings)
        };
        let (later, earlier) = crate::parallel::beside(
            || half(&components[cut..], second),
            || half(&components[..cut], ids),
        );
        let mut workloads = Vec::with_capacity(components.len());
        for (mut made, mut errors, mut warnings) in [earlier, later] {
            workloads.append(&mut made);
            self.errors.append(&mut errors);
            self.warnings.append(&mut warnings);
        }
        workloads
    }

    /// CloudFormation logical-id prefixes, which must stay distinct.
    /// Each component's, in the components' order.
    fn logical_ids(&mut self) -> Vec<String> {
        let components = &self.landscape.components;
        let ids: Vec<String> = components.iter().map(|c| super::pascal(&c.name)).collect();
        let mut seen: crate::IdMap<&str, &Component> = crate::IdMap::default();
        seen.reserve(components.len());
        for (c, id) in components.iter().zip(&ids) {
            if let Some(other) = seen.insert(id, c) {
                self.errors.push(
                    Diagnostic::new(
                        ErrorCode::NameNotValid,
                        format!("components `{}` and `{}` get the same CloudFormation name `{id}`", other.name, c.name),
                    )
                    .label(c.name_span, format!("becomes `{id}`"))
                    .label(other.name_span, format!("also becomes `{id}`"))
                    .help("CloudFormation logical ids keep only letters and digits; rename one so they differ by more than `-` or `_`"),
                );
            }
        }
        ids
    }

    fn workload(&mut self, c: &Component, id: String) -> Workload {
        let managed = managed_of(c);
        let image = match (c.setting("build"), c.setting("image")) {
            (Some(Value::Image(name)), _) => ImageSource::Build(name.clone()),
            (_, Some(v)) => {
                ImageSource::Pull(text(v).and_then(|t| t.as_literal()).unwrap_or_default())
            }
            _ => ImageSource::Pull(String::new()),
        };
        let ports: Vec<Port> = c
            .ports()
            .filter_map(|(name, (n, protocol))| {
                Some(Port {
                    name: name.to_string(),
                    number: u16::try_from(n).ok()?,
                    protocol: if protocol == "udp" {
                        Protocol::Udp
                    } else {
                        Protocol::Tcp
                    },
                })
            })
            .collect();
        let role = self.role(c, managed, &ports);
        let command = c.setting("command").and_then(|v| match v {
            Value::List(items) => {
                let list: Option<Vec<Text>> = items.iter().map(text).collect();
                if list.is_none() {
                    self.not_text(c, "command");
                }
                list
            }
            _ => None,
        });
        let env = self.environment(c, &image);
        let entrypoint = self.entrypoint(c, &env);
        let health_disabled = health_disabled(c);
        let health = self.health(c, &ports, &image, &role);
        let volumes = self.volumes(c);
        let targets = self.targets(c);
        let restart = self.restart(c, &role, targets);
        let mounts = self.mounts(c, targets);
        let env_files = self.env_files(c, targets);
        let profiles = self.profiles(c, targets);
        let linux = self.linux(c, targets);
        let replicas = c
            .settings
            .get("replicas")
            .and_then(Value::as_int)
            .unwrap_or(1)
            .clamp(0, i64::from(u32::MAX)) as u32;
        if let Some(declared) = c.sized_down.get("replicas") {
            self.warn(
                ErrorCode::SizedDown,
                span_of(c, "replicas"),
                "declared here",
                format!(
                    "`{}` runs 1 replica instead of {} in ephemeral environment `{}`",
                    c.name,
                    crate::eval::scalar_text(declared).unwrap_or_default(),
                    self.instance.environment
                ),
                &format!("set `{}.replicas` in the environment to keep more", c.name),
            );
        }
        let cpu = match c.setting("cpu") {
            Some(Value::Float(f)) => *f,
            Some(Value::Int(i)) => *i as f64,
            _ => 0.25,
        };
        let memory_mib = match c.setting("memory") {
            Some(Value::Size(b)) => b.div_ceil(1 << 20),
            _ => 512,
        };
        let written = |k: &str| c.setting_spans.contains_key(k);
        let limits = Resources {
            cpu: written("cpu").then_some(cpu),
            memory_mib: written("memory").then_some(memory_mib),
        };
        let reservations = self.reservations(c, limits);
        // The task is at least what the container is guaranteed.
        let cpu = cpu.max(reservations.cpu.unwrap_or(0.0));
        let memory_mib = memory_mib.max(reservations.memory_mib.unwrap_or(0));
        let container = matches!(role, Role::Service | Role::Job);
        let fargate = container.then(|| fargate_size(cpu, memory_mib));
        if let Some((units, mib)) = fargate
            && (f64::from(units) > cpu * 1024.0 + 0.5 || u64::from(mib) > memory_mib)
        {
            let span = c
                .setting_spans
                .get("memory")
                .or_else(|| c.setting_spans.get("cpu"))
                .copied()
                .unwrap_or(c.name_span);
            self.warn(
                ErrorCode::ResourcesRounded,
                span,
                "asked for here",
                format!(
                    "`{}` asks for {cpu} vCPU and {memory_mib} MiB; Fargate runs it with {} vCPU and {mib} MiB, the nearest size it offers",
                    c.name,
                    f64::from(units) / 1024.0
                ),
                "choose a Fargate combination (0.25 vCPU: 512 MiB–2 GiB; 0.5: 1–4 GiB; 1: 2–8 GiB…) to silence this",
            );
        }
        if c.setting("public") == Some(&Value::Bool(true)) && !matches!(role, Role::LoadBalancer(_))
        {
            self.warn(
                ErrorCode::NotHonoured,
                span_of(c, "public"),
                "public",
                format!(
                    "`public = true` publishes `{}`'s ports on compose only; on AWS only load balancers are reachable from outside",
                    c.name
                ),
                "put a `load_balancer` in front of it to reach it on AWS",
            );
        }
        let storage_gib = match c.setting("storage") {
            Some(Value::Size(b)) => Some(b.div_ceil(1 << 30).max(1)),
            _ => None,
        };
        let labels = c
            .settings
            .get("labels")
            .and_then(Value::as_map)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), text(v)?.as_literal()?)))
                    .collect()
            })
            .unwrap_or_default();
        let cloudformation_resources = c
            .settings
            .get("cloudformation")
            .and_then(Value::as_map)
            .cloned()
            .unwrap_or_default();
        let cloudformation_spans = cloudformation_resources
            .keys()
            .map(|id| (id.clone(), entry_span(c, "cloudformation", id)))
            .collect();
        let endpoints = endpoints(managed, &role, &ports);
        let run_timeout_s = (role == Role::Job).then_some(JOB_TIMEOUT_S);
        Workload {
            name: c.name.clone(),
            kind: c.kind.first().cloned().unwrap_or_default(),
            id,
            role,
            image,
            command,
            entrypoint,
            user: c
                .settings
                .get("user")
                .and_then(text)
                .and_then(|t| t.as_literal()),
            working_dir: c
                .settings
                .get("working_dir")
                .and_then(text)
                .and_then(|t| t.as_literal()),
            restart,
            ports,
            env,
            health,
            health_disabled,
            volumes,
            mounts,
            targets,
            env_files,
            profiles,
            linux,
            replicas,
            cpu,
            memory_mib,
            limits,
            reservations,
            storage_gib,
            fargate,
            endpoints,
            public: c.setting("public") == Some(&Value::Bool(true)),
            stateful: c.setting("stateful") == Some(&Value::Bool(true)),
            depends_on: Vec::new(),
            published: Vec::new(),
            run_timeout_s,
            labels,
            compose_overrides: c.setting("compose").cloned(),
            cloudformation_resources,
            cloudformation_spans,
            span: c.span,
            name_span: c.name_span,
        }
    }

    /// Whether the image is built from the project's own Dockerfile (which
    /// carries neither bomc's probe nor its secrets shim).
    fn own_dockerfile(&self, image: &ImageSource) -> bool {
        let ImageSource::Build(name) = image else {
            return false;
        };
        self.landscape
            .images
            .iter()
            .any(|i| &i.name == name && i.settings.contains_key("dockerfile"))
    }

    /// `reserve { }`: at most the limits.
    fn reservations(&mut self, c: &Component, limits: Resources) -> Resources {
        let Some(reserve) = c.setting("reserve").and_then(Value::as_map) else {
            return Resources::default();
        };
        let cpu = match reserve.get("cpu") {
            Some(Value::Float(f)) => Some(*f),
            Some(Value::Int(i)) => Some(*i as f64),
            _ => None,
        };
        let memory_mib = match reserve.get("memory") {
            Some(Value::Size(b)) => Some(b.div_ceil(1 << 20)),
            _ => None,
        };
        let over_cpu = matches!((cpu, limits.cpu), (Some(r), Some(l)) if r > l);
        let over_memory = matches!((memory_mib, limits.memory_mib), (Some(r), Some(l)) if r > l);
        if over_cpu || over_memory {
            self.error(
                ErrorCode::OutOfRange,
                span_of(c, "reserve"),
                "reserved here",
                format!(
                    "`{}` reserves more than its limit (`cpu`, `memory`)",
                    c.name
                ),
                "reserve at most the limit, or raise `cpu` / `memory`",
            );
        }
        Resources { cpu, memory_mib }
    }

    /// A component built for a target may not use one left out of it.
    fn references_across_targets(&mut self, workloads: &[Workload]) {
        let targets: crate::IdMap<&str, Targets> = workloads
            .iter()
            .map(|w| (w.name.as_str(), w.targets))
            .collect();
        for c in &self.landscape.components {
            let Some(from) = targets.get(c.name.as_str()) else {
                continue;
            };
            let mut seen = BTreeSet::new();
            for r in &c.references {
                let Some(to) = targets.get(r.target.as_str()) else {
                    continue;
                };
                for (name, a, b) in [
                    ("compose", from.compose, to.compose),
                    ("CloudFormation", from.cloudformation, to.cloudformation),
                ] {
                    if a && !b && seen.insert((r.target.clone(), name)) {
                        self.error(
                            ErrorCode::TargetMismatch,
                            r.span,
                            "used here",
                            format!("`{}` is built for {name} and uses `{}`, which is not", c.name, r.target),
                            &format!("restrict `{}` to the same targets (`targets = [...]`), or build `{}` for {name} too", c.name, r.target),
                        );
                    }
                }
            }
        }
    }

    /// The targets a component is built for: its own `targets`, else the
    /// landscape's, else all. Leaving one out is said (W0007).
    fn targets(&mut self, c: &Component) -> Targets {
        let list = c
            .settings
            .get("targets")
            .map(|v| (v, span_of(c, "targets")))
            .or_else(|| {
                self.landscape
                    .settings
                    .get("targets")
                    .map(|v| (v, c.name_span))
            });
        let Some((Value::List(items), span)) = list else {
            return Targets {
                compose: true,
                cloudformation: true,
            };
        };
        let has = |t: &str| items.iter().any(|v| v.as_str() == Some(t));
        let targets = Targets {
            compose: has("compose"),
            cloudformation: has("cloudformation"),
        };
        for (on, name) in [
            (targets.compose, "compose"),
            (targets.cloudformation, "CloudFormation"),
        ] {
            if !on {
                self.warn(
                    ErrorCode::LeftOut,
                    span,
                    "its targets",
                    format!(
                        "`{}` is not built for {name}: the {name} output leaves it out",
                        c.name
                    ),
                    "add the target to `targets` to build it there",
                );
            }
        }
        targets
    }

    /// Bind mounts, volumes and tmpfs under `mounts`; what CloudFormation
    /// (Fargate) cannot mount is refused unless the component is left out of it.
    fn mounts(&mut self, c: &Component, targets: Targets) -> Vec<Mount> {
        let mut out = Vec::new();
        let entries = c.setting("mounts").and_then(Value::as_map);
        for (target, spec) in entries.into_iter().flatten() {
            let Some(spec) = spec.as_map() else { continue };
            let read_only = spec.get("read_only") == Some(&Value::Bool(true));
            let text_of = |k: &str| spec.get(k).and_then(text).and_then(|t| t.as_literal());
            let mount = if let Some(source) = text_of("bind") {
                Mount::Bind {
                    source,
                    target: target.clone(),
                    read_only,
                }
            } else if let Some(name) = text_of("volume") {
                Mount::Volume {
                    name,
                    target: target.clone(),
                    read_only,
                }
            } else if let Some(tmpfs) = spec.get("tmpfs") {
                Mount::Tmpfs {
                    target: target.clone(),
                    size: match tmpfs {
                        Value::Size(b) => Some(*b),
                        _ => None,
                    },
                }
            } else {
                continue;
            };
            if targets.cloudformation {
                let what = match &mount {
                    Mount::Bind { .. } => Some("a bind mount (a host path)"),
                    Mount::Tmpfs { .. } => Some("a tmpfs mount"),
                    Mount::Volume { .. } => None,
                };
                if let Some(what) = what {
                    self.error(
                        ErrorCode::NoEquivalent,
                        entry_span(c, "mounts", target),
                        "not on CloudFormation",
                        format!("`{target}` of `{}` is {what}, which ECS on Fargate (CloudFormation) cannot mount", c.name),
                        "build the files into the image, or restrict the component to compose: `targets = [\"compose\"]`",
                    );
                }
            }
            out.push(mount);
        }
        out
    }

    /// The entrypoint the component sets, behind the secrets shim when its
    /// image (one bomc builds) delivers secrets through it.
    fn entrypoint(&mut self, c: &Component, env: &[EnvVar]) -> Option<Vec<Text>> {
        let Value::List(items) = c.setting("entrypoint")? else {
            return None;
        };
        let Some(list) = items.iter().map(text).collect::<Option<Vec<Text>>>() else {
            self.not_text(c, "entrypoint");
            return None;
        };
        let shimmed = env.iter().any(|e| {
            matches!(
                &e.value,
                EnvValue::Secret(SecretUse {
                    compose: SecretDelivery::Shim(_),
                    ..
                })
            )
        });
        Some(if shimmed {
            std::iter::once(Text::literal(SHIM_PATH))
                .chain(list)
                .collect()
        } else {
            list
        })
    }

    /// The restart policy on compose. ECS replaces a service's stopped tasks
    /// and runs a job once, whatever the policy says: a policy that says
    /// otherwise is honoured on compose only.
    fn restart(&mut self, c: &Component, role: &Role, targets: Targets) -> String {
        let default = if *role == Role::Job {
            "no"
        } else {
            "unless-stopped"
        };
        let Some(policy) = c.setting("restart").and_then(Value::as_str) else {
            return default.to_string();
        };
        let differs = match role {
            Role::Job => policy != "no",
            Role::Service => policy == "no" || policy.starts_with("on-failure"),
            _ => false,
        };
        if differs && targets.cloudformation {
            let on_aws = if *role == Role::Job {
                "a job runs once"
            } else {
                "ECS replaces every stopped task of a service"
            };
            self.warn(
                ErrorCode::NotHonoured,
                span_of(c, "restart"),
                "compose only",
                format!(
                    "`restart = \"{policy}\"` of `{}` applies on compose only: on AWS {on_aws}",
                    c.name
                ),
                "drop `restart`, or restrict the component to compose with `targets = [\"compose\"]`",
            );
        }
        policy.to_string()
    }

    fn not_text(&mut self, c: &Component, what: &str) {
        self.error(
            ErrorCode::SecretAsString,
            c.name_span,
            "in this component",
            format!("the {what} of `{}` is not all text", c.name),
            "give secrets to a container through `env`, as a whole value",
        );
    }

    /// A class the ephemeral environment runs instead of the declared one,
    /// unless the environment sets it itself.
    fn sized_class(&mut self, c: &Component, setting: &str, smallest: &str) -> String {
        let declared = param_str(c, setting).unwrap_or_else(|| smallest.to_string());
        if !self.ephemeral() || declared == smallest || c.set_by_environment.contains(setting) {
            return declared;
        }
        self.warn(
            ErrorCode::SizedDown,
            span_of(c, setting),
            "declared here",
            format!(
                "`{}` runs `{smallest}` instead of `{declared}` in ephemeral environment `{}`",
                c.name, self.instance.environment
            ),
            &format!(
                "set `{}.{setting}` in the environment to keep a bigger size",
                c.name
            ),
        );
        smallest.to_string()
    }

    fn version<T>(&mut self, c: &Component, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(why) => {
                self.error(
                    ErrorCode::UnsupportedVersion,
                    span_of(c, "version"),
                    "this version",
                    format!("`{}`: {why}", c.name),
                    "pick a version the managed service offers, or set `managed = \"none\"` to run the image as a container on every target",
                );
                None
            }
        }
    }

    fn role(&mut self, c: &Component, managed: Option<Managed>, ports: &[Port]) -> Role {
        if let Some(m) = managed {
            self.managed_image_and_command(c, m);
        }
        let first_port = ports.first().map(|p| p.number).unwrap_or(0);
        let version = param_str(c, "version").unwrap_or_default();
        match managed {
            Some(
                m @ (Managed::RdsMysql
                | Managed::RdsPostgres
                | Managed::RdsMariadb
                | Managed::DocumentDb),
            ) => {
                let (engine, rds) = match m {
                    Managed::RdsMysql => (
                        DbEngine::Mysql,
                        contracts::rds_version(contracts::RdsEngine::Mysql, &version),
                    ),
                    Managed::RdsPostgres => (
                        DbEngine::Postgres,
                        contracts::rds_version(contracts::RdsEngine::Postgres, &version),
                    ),
                    Managed::RdsMariadb => (
                        DbEngine::Mariadb,
                        contracts::rds_version(contracts::RdsEngine::Mariadb, &version),
                    ),
                    _ => (
                        DbEngine::DocumentDb,
                        contracts::docdb_version(&version).map(|v| contracts::RdsVersion {
                            engine_version: v,
                            auto_minor_version_upgrade: true,
                        }),
                    ),
                };
                let rds = self.version(c, rds);
                Role::Database(Database {
                    engine,
                    engine_version: rds
                        .as_ref()
                        .map(|r| r.engine_version.clone())
                        .unwrap_or_default(),
                    auto_minor_version_upgrade: rds.is_none_or(|r| r.auto_minor_version_upgrade),
                    version,
                    database: param_str(c, "database"),
                    user: param_str(c, "user"),
                    password: secret_of(c, "password"),
                    instance_class: if engine == DbEngine::DocumentDb {
                        self.sized_class(c, "instance_class", SMALLEST_DOCDB)
                    } else {
                        self.sized_class(c, "instance_class", SMALLEST_DB)
                    },
                    port: first_port,
                })
            }
            Some(Managed::ElastiCacheRedis) => {
                let engine = contracts::cache_engine(&version);
                let engine = self.version(c, engine);
                if let Some(note) = engine.as_ref().and_then(|e| e.note.clone()) {
                    self.warn(
                        ErrorCode::EngineSubstituted,
                        span_of(c, "version"),
                        "this version",
                        format!("`{}`: {note}", c.name),
                        "Valkey speaks the Redis protocol of the same version; pin `version` to 7.0.x to stay on Redis OSS",
                    );
                }
                Role::Cache(Cache {
                    engine: engine
                        .as_ref()
                        .map(|e| e.engine.to_string())
                        .unwrap_or_default(),
                    engine_version: engine.map(|e| e.engine_version).unwrap_or_default(),
                    version,
                    node_type: self.sized_class(c, "instance_class", SMALLEST_CACHE),
                    port: first_port,
                })
            }
            Some(Managed::OpenSearch) => {
                let engine = contracts::search_engine(&version);
                Role::Search(Search {
                    engine_version: self.version(c, engine).unwrap_or_default(),
                    version,
                    instance_type: self.sized_class(c, "instance_class", SMALLEST_SEARCH),
                })
            }
            Some(Managed::AmazonMqRabbitMq) => {
                let engine = contracts::mq_engine(&version);
                Role::Queue(Queue {
                    engine_version: self.version(c, engine).unwrap_or_default(),
                    version,
                    user: param_str(c, "user").unwrap_or_else(|| String::from("app")),
                    password: secret_of(c, "password"),
                    instance_type: self.sized_class(c, "instance_class", SMALLEST_MQ),
                })
            }
            Some(Managed::S3) => Role::Bucket(Bucket {
                versioning: !matches!(param(c, "versioning"), Some(Value::Bool(false))),
            }),
            None if c.setting("managed").and_then(Value::as_str) == Some("alb") => {
                self.load_balancer(c, ports)
            }
            None if c.setting("run").and_then(Value::as_str) == Some("once") => Role::Job,
            None => Role::Service,
        }
    }

    fn load_balancer(&mut self, c: &Component, ports: &[Port]) -> Role {
        let domain = param_str(c, "domain").map(|d| d.to_ascii_lowercase());
        if let Some(d) = &domain
            && !super::valid_dns_name(d)
        {
            self.error(
                ErrorCode::NameNotValid,
                c.name_span,
                "its `domain`",
                format!("`{d}` is not a valid DNS name for `{}`", c.name),
                "DNS names are labels of letters, digits and `-` separated by dots; check the parameters that build the domain (e.g. `--set id=us-217`)",
            );
        }
        let http_port = ports
            .iter()
            .find(|p| p.name == "http")
            .map(|p| p.number)
            .unwrap_or(80);
        for p in ports {
            let aws = match p.name.as_str() {
                "http" => 80,
                "https" => 443,
                _ => 0,
            };
            if p.number != aws {
                self.warn(
                    ErrorCode::NotHonoured,
                    span_of(c, "ports"),
                    "ports",
                    format!(
                        "`{}.ports.{} = {}` applies on compose only: on AWS the load balancer listens on 80 (HTTP) and 443 (HTTPS)",
                        c.name, p.name, p.number
                    ),
                    "keep `http = 80` and `https = 443` to run the same on both targets",
                );
            }
        }
        let tls = !matches!(param(c, "tls"), Some(Value::Bool(false))) && domain.is_some();
        if self.instance.shared.listener.is_some() {
            if matches!(self.instance.network, Network::Create { .. }) {
                self.error(
                    ErrorCode::InvalidValue,
                    c.name_span,
                    "routes go to the shared listener",
                    format!(
                        "`{}` attaches to a shared listener, whose load balancer is in another VPC than the one `network {{ vpc = \"create\" }}` creates",
                        c.name
                    ),
                    "a load balancer forwards only to targets in its own VPC: run the environment in the shared load balancer's VPC (`vpc = \"existing\"`), or drop `listener` from `shared` to give it its own load balancer",
                );
            }
            if domain.is_none() {
                self.error(
                    ErrorCode::MissingSetting,
                    c.name_span,
                    "needs a domain",
                    format!("`{}` attaches to a shared listener but has no `domain`", c.name),
                    "routes on a shared listener are told apart by host name: give the load balancer a `domain`",
                );
            }
            if self.instance.shared.load_balancer_dns.is_none() {
                self.error(
                    ErrorCode::MissingSetting,
                    c.name_span,
                    "routes go to the shared listener",
                    String::from("`shared` names a listener but not `load_balancer_dns`"),
                    "add `load_balancer_dns` and `load_balancer_security_group` of the shared load balancer to the environment's `shared { … }`",
                );
            }
        }
        // Room for every route at once: a landscape's load balancer may
        // route to each of its services.
        let mut routes: Vec<Route> = match param(c, "routes") {
            Some(Value::Map(m)) => {
                let mut routes = Vec::with_capacity(m.len());
                routes.extend(m.iter().filter_map(|(path, v)| match v {
                    Value::Port(p) => Some(Route {
                        path: path.clone(),
                        component: p.component.clone(),
                        port_name: p.port.clone(),
                        port: p.number,
                        priority: 0,
                        health: TargetHealth {
                            path: String::from("/"),
                            interval_s: 30,
                            timeout_s: 5,
                            healthy: 2,
                            unhealthy: 3,
                        },
                    }),
                    _ => None,
                }));
                routes
            }
            _ => Vec::new(),
        };
        routes.sort_by(|a, b| b.path.len().cmp(&a.path.len()).then(a.path.cmp(&b.path)));
        // A route is a target group and a listener rule on AWS. An ALB takes
        // 100 target groups (a quota AWS does not raise) and 100 rules by
        // default: CloudFormation would fail on the 101st, minutes into a
        // deployment; `bomc build` says so before.
        if routes.len() > MAX_TARGET_GROUPS {
            // The first route past the quota, in the order they are written.
            let mut spans: Vec<Span> = routes
                .iter()
                .map(|r| entry_span(c, "routes", &r.path))
                .collect();
            spans.sort_by_key(|s| (s.start, s.end));
            self.warn(
                ErrorCode::LoadBalancerQuota,
                spans[MAX_TARGET_GROUPS],
                &format!("route {} of {}", MAX_TARGET_GROUPS + 1, routes.len()),
                format!(
                    "`{}` has {} routes; on AWS each is a target group and a listener rule, and an Application Load Balancer takes at most {MAX_TARGET_GROUPS} target groups",
                    c.name,
                    routes.len()
                ),
                "split the routes over several load balancers, at most 100 each (the target-group quota cannot be raised, the rules quota of 100 can)",
            );
        }
        // Its own listener: 1, 2, … (longest path first). A shared listener:
        // decided with the instance's other load balancers (`rule_priorities`).
        for (index, r) in routes.iter_mut().enumerate() {
            r.priority = index as u32 + 1;
        }
        Role::LoadBalancer(LoadBalancer {
            domain,
            tls,
            routes,
            http_port,
            priorities: None,
        })
    }

    /// `env`, secrets with how each reaches the variable on compose, and the
    /// MinIO credentials of the buckets the component uses (compose only).
    fn environment(&mut self, c: &Component, image: &ImageSource) -> Vec<EnvVar> {
        let mut out = Vec::new();
        let env = c.setting("env").and_then(Value::as_map);
        let repository = match image {
            ImageSource::Pull(r) => r.split([':', '@']).next().unwrap_or(""),
            ImageSource::Build(_) => "",
        };
        let file_vars = contracts::image_reads_secret_files(repository);
        let own = self.own_dockerfile(image);
        let delivery = |name: &str| match image {
            // The project's own Dockerfile has no shim: the variable is set
            // from the host when the stack starts, as for a pulled image.
            ImageSource::Build(_) if own => SecretDelivery::Environment,
            ImageSource::Build(_) => SecretDelivery::Shim(format!("{SHIM_SECRETS_DIR}/{name}")),
            ImageSource::Pull(_) if file_vars.contains(&name) => SecretDelivery::File,
            ImageSource::Pull(_) => SecretDelivery::Environment,
        };
        for (name, value) in env.into_iter().flatten() {
            if name.is_empty()
                || name.contains('=')
                || name.contains('/')
                || name.chars().any(char::is_control)
            {
                self.error(
                    ErrorCode::NameNotValid,
                    span_of(c, "env"),
                    "in this environment",
                    format!("`{}` cannot be an environment variable name", name.escape_debug()),
                    "environment variable names cannot be empty or contain `=`, `/` or control characters",
                );
                continue;
            }
            let value = match value {
                Value::Secret(secret) => {
                    let compose = delivery(name);
                    if compose == SecretDelivery::File
                        && env.is_some_and(|e| e.contains_key(&format!("{name}_FILE")))
                    {
                        self.error(
                            ErrorCode::NameNotValid,
                            span_of(c, "env"),
                            "in this environment",
                            format!("`{name}` holds a secret, so compose sets `{name}_FILE`, which `env` also sets"),
                            "remove one of the two variables",
                        );
                        continue;
                    }
                    EnvValue::Secret(SecretUse {
                        secret: secret.clone(),
                        compose,
                    })
                }
                other => match text(other) {
                    Some(t) => EnvValue::Text(t),
                    None => {
                        self.not_text(c, &format!("environment variable `{name}`"));
                        continue;
                    }
                },
            };
            out.push(EnvVar {
                name: name.clone(),
                value,
                compose_only: false,
            });
        }
        // Clients of a bucket: on compose MinIO checks an access key; on AWS
        // the task role grants access, and the SDKs need no key.
        let buckets: BTreeSet<&str> = c
            .references
            .iter()
            .map(|r| r.target.as_str())
            .filter(|t| *t != c.name)
            .collect();
        for bucket in buckets {
            let Some(&b) = self.components.get(bucket) else {
                continue;
            };
            if managed_of(b) != Some(Managed::S3) {
                continue;
            }
            if let Some(user) = param_str(b, "user") {
                out.push(EnvVar {
                    name: String::from("AWS_ACCESS_KEY_ID"),
                    value: EnvValue::Text(Text::literal(user)),
                    compose_only: true,
                });
            }
            if let Some(secret) = secret_of(b, "password") {
                out.push(EnvVar {
                    name: String::from("AWS_SECRET_ACCESS_KEY"),
                    value: EnvValue::Secret(SecretUse {
                        secret,
                        compose: delivery("AWS_SECRET_ACCESS_KEY"),
                    }),
                    compose_only: true,
                });
            }
        }
        out
    }

    fn health(
        &mut self,
        c: &Component,
        ports: &[Port],
        image: &ImageSource,
        role: &Role,
    ) -> Option<Health> {
        let h = c.setting("health").and_then(Value::as_map)?;
        let span = span_of(c, "health");
        let check = if let Some(Value::String(command)) = h.get("command") {
            Check::Shell {
                command: command.clone(),
            }
        } else if let Some(command) = h.get("command") {
            let Some(list) = literal_list(command) else {
                self.not_text(c, "health command");
                return None;
            };
            match list.split_first() {
                Some((first, rest)) if first == "CMD-SHELL" => Check::Shell {
                    command: rest.join(" "),
                },
                Some((first, rest)) if first == "CMD" => Check::Exec {
                    command: rest.to_vec(),
                },
                Some((first, _)) if first == "NONE" => return None,
                _ => Check::Exec { command: list },
            }
        } else {
            let port = match h.get("port").and_then(Value::as_str) {
                Some(name) => ports.iter().find(|p| p.name == name),
                None => ports.first(),
            };
            let Some(port) = port else {
                self.error(
                    ErrorCode::HealthWithoutPort,
                    span,
                    "probes a port",
                    format!("the health check of `{}` probes a port, but `{}` serves none", c.name, c.name),
                    "declare the port it serves (`ports { http = 8080 }`), or check with `health { command = [...] }`",
                );
                return None;
            };
            match h.get("path").and_then(text).and_then(|t| t.as_literal()) {
                Some(path) => Check::Http {
                    port: port.number,
                    path: if path.starts_with('/') {
                        path
                    } else {
                        format!("/{path}")
                    },
                },
                None => Check::Tcp { port: port.number },
            }
        };
        if check.needs_probe()
            && let ImageSource::Build(name) = image
            && self.own_dockerfile(image)
        {
            self.error(
                ErrorCode::HealthNeedsCommand,
                span,
                "checked by bomc's probe",
                format!("the health check of `{}` needs bomc's probe, which image `{name}`, built from the project's own Dockerfile, does not carry", c.name),
                "check with a command the image has, e.g. `health { command = \"wget -q -O /dev/null http://127.0.0.1:8080/health\" }`",
            );
        }
        if check.needs_probe()
            && let ImageSource::Pull(reference) = image
            && !role.is_managed()
        {
            self.error(
                ErrorCode::HealthNeedsCommand,
                span,
                "checked by bomc's probe",
                format!("the health check of `{}` needs bomc's probe, which only images bomc builds carry; `{reference}` is pulled", c.name),
                "check with a command the image has, e.g. `health { command = [\"CMD-SHELL\", \"wget -q -O /dev/null http://127.0.0.1:8080/health\"] }`, or build the image (`build = IMAGE`)",
            );
        }
        let ms = |key: &str| match h.get(key) {
            Some(Value::Duration(ms)) => Some(*ms),
            _ => None,
        };
        let count = |key: &str| {
            h.get(key)
                .and_then(Value::as_int)
                .map(|n| n.clamp(0, i64::from(u32::MAX)) as u32)
        };
        let (interval_ms, timeout_ms, start_period_ms) =
            (ms("interval"), ms("timeout"), ms("start_period"));
        let (healthy, unhealthy) = (count("healthy"), count("unhealthy"));
        if healthy.is_some_and(|n| n > 1) && matches!(role, Role::Service) {
            self.warn(
                ErrorCode::NotHonoured,
                span,
                "healthy",
                format!(
                    "`healthy = {}` of `{}` is honoured by AWS load balancers only: compose and ECS call a container healthy after one passing check",
                    healthy.unwrap_or(1),
                    c.name
                ),
                "drop `healthy` (or set it to 1) unless a load balancer routes to it",
            );
        }
        let secs = |ms: Option<u64>, default: u64| ms.map(|m| (m / 1000).max(1)).unwrap_or(default);
        let ecs = EcsHealth {
            interval_s: secs(interval_ms, HEALTH_INTERVAL_S).clamp(5, 300),
            timeout_s: secs(timeout_ms, HEALTH_TIMEOUT_S).clamp(2, 60),
            retries: unhealthy.unwrap_or(HEALTH_RETRIES).clamp(1, 10),
            start_period_s: start_period_ms.map(|m| m / 1000).unwrap_or(0).min(300),
        };
        if matches!(role, Role::Service | Role::Job) {
            let adjusted: Vec<String> = [
                (
                    "interval",
                    interval_ms.map(|m| secs(Some(m), HEALTH_INTERVAL_S)),
                    ecs.interval_s,
                ),
                (
                    "timeout",
                    timeout_ms.map(|m| secs(Some(m), HEALTH_TIMEOUT_S)),
                    ecs.timeout_s,
                ),
                (
                    "unhealthy",
                    unhealthy.map(u64::from),
                    u64::from(ecs.retries),
                ),
                (
                    "start_period",
                    start_period_ms.map(|m| m / 1000),
                    ecs.start_period_s,
                ),
            ]
            .into_iter()
            .filter_map(|(key, declared, used)| {
                let declared = declared?;
                (declared != used).then(|| format!("{key} {declared} → {used}"))
            })
            .collect();
            if !adjusted.is_empty() {
                self.warn(
                    ErrorCode::HealthAdjusted,
                    span,
                    "health check",
                    format!(
                        "ECS runs the health check of `{}` within its limits: {}",
                        c.name,
                        adjusted.join(", ")
                    ),
                    "ECS takes intervals of 5–300 s, timeouts of 2–60 s, 1–10 retries and start periods up to 300 s",
                );
            }
        }
        Some(Health {
            check,
            interval_ms,
            timeout_ms,
            start_period_ms,
            healthy,
            unhealthy,
            ecs,
        })
    }

    fn volumes(&mut self, c: &Component) -> Vec<Volume> {
        let mut out = Vec::new();
        for (name, path) in c
            .settings
            .get("volumes")
            .and_then(Value::as_map)
            .into_iter()
            .flatten()
        {
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-'));
            match text(path).and_then(|t| t.as_literal()).filter(|_| valid) {
                Some(path) => out.push(Volume {
                    name: name.clone(),
                    path,
                }),
                None => self.error(
                    ErrorCode::NameNotValid,
                    span_of(c, "volumes"),
                    "in these volumes",
                    format!("`{}` cannot be a volume name", name.escape_debug()),
                    "volume names use letters, digits, `.`, `_` and `-`, and map to a path inside the container",
                ),
            }
        }
        out
    }

    /// Host ports on compose: the ports a component names in `publish`, at
    /// the host port it gives;
    /// (a load balancer its HTTP port), each instance of the landscape in its
    /// own block, as wide as the most replicated public component.
    fn published_ports(&mut self, workloads: &mut [Workload]) {
        let chosen = self.chosen_host_ports(workloads);
        let stride = workloads
            .iter()
            .filter(|w| w.public || chosen.contains_key(&w.name))
            .map(|w| w.replicas.max(1))
            .max()
            .unwrap_or(1);
        let shift = self.instance.port_block * stride;
        for w in workloads.iter_mut() {
            let chosen = chosen.get(&w.name).cloned().unwrap_or_default();
            let serving: Vec<(u16, Protocol)> = match &w.role {
                _ if !w.public => Vec::new(),
                Role::LoadBalancer(lb) => vec![(lb.http_port, Protocol::Tcp)],
                _ => w.ports.iter().map(|p| (p.number, p.protocol)).collect(),
            };
            let serving = serving
                .into_iter()
                .filter(|(n, proto)| {
                    !chosen
                        .iter()
                        .any(|(p, _, _)| p.number == *n && p.protocol == *proto)
                })
                .map(|(target, protocol)| (target, protocol, None, target))
                .collect::<Vec<_>>();
            let published: Vec<(u16, Protocol, Option<String>, u16)> = chosen
                .into_iter()
                .map(|(p, ip, host)| (p.number, p.protocol, ip, host))
                .chain(serving)
                .collect();
            for (target, protocol, host_ip, host) in published {
                let first = u32::from(host) + shift;
                let last = first + w.replicas.max(1) - 1;
                if last > 65_535 {
                    self.errors.push(
                        Diagnostic::new(
                            ErrorCode::NameNotValid,
                            format!(
                                "{} replicas of `{}` cannot each publish a port from {target}",
                                w.replicas, w.name
                            ),
                        )
                        .label(w.name_span, "in this component")
                        .help("use fewer replicas or a lower port"),
                    );
                    continue;
                }
                w.published.push(Published {
                    target,
                    protocol,
                    host_ip,
                    first,
                    last,
                });
            }
        }
    }

    /// The host ports each component chooses with `publish { PORT = HOST }`:
    /// its port, the address and the host port.
    fn chosen_host_ports(
        &mut self,
        workloads: &[Workload],
    ) -> BTreeMap<String, Vec<(Port, Option<String>, u16)>> {
        let mut out: BTreeMap<String, Vec<(Port, Option<String>, u16)>> = BTreeMap::new();
        for c in &self.landscape.components {
            let Some(publish) = c.setting("publish").and_then(Value::as_map) else {
                continue;
            };
            let Some(w) = workloads.iter().find(|w| w.name == c.name) else {
                continue;
            };
            for (name, value) in publish {
                let Some((ip, host)) = crate::check::types::host_port(value) else {
                    continue;
                };
                let port = match &w.role {
                    Role::LoadBalancer(lb) if name == "http" => Some(Port {
                        name: name.clone(),
                        number: lb.http_port,
                        protocol: Protocol::Tcp,
                    }),
                    _ => w.port(name).cloned(),
                };
                let Some(port) = port else {
                    let names: Vec<&str> = w.ports.iter().map(|p| p.name.as_str()).collect();
                    let help = crate::diag::did_you_mean(name, names.iter().copied(), |all| {
                        if all.is_empty() {
                            format!(
                                "`{}` serves no port; declare it first: `ports {{ {name} = 8080 }}`",
                                c.name
                            )
                        } else {
                            format!("`{}` serves {}", c.name, crate::diag::one_of(&all))
                        }
                    });
                    self.errors.push(
                        Diagnostic::new(
                            ErrorCode::PortNotExposed,
                            format!(
                                "`publish` names port `{name}`, which `{}` does not serve",
                                c.name
                            ),
                        )
                        .label(span_of(c, "publish"), "not a port of this component")
                        .help(help),
                    );
                    continue;
                };
                out.entry(c.name.clone())
                    .or_default()
                    .push((port, ip, host));
            }
            if !w.targets.cloudformation {
                continue;
            }
            self.warn(
                ErrorCode::NotHonoured,
                span_of(c, "publish"),
                "compose only",
                format!(
                    "`publish` of `{}` applies on compose only: on AWS a component is reached from outside through a load balancer",
                    c.name
                ),
                "route to it from a `load_balancer` to reach it on AWS",
            );
        }
        out
    }

    /// What each workload waits for: every component it depends on, until
    /// that one completed (a job), is healthy (it has a check) or started.
    fn dependencies(&self, workloads: &mut [Workload], graph: &Graph) {
        // Each workload's node, and how one waits for it, by node: found
        // once, where a tree of names was searched for every dependency.
        let nodes: Vec<Option<petgraph::graph::NodeIndex>> =
            workloads.iter().map(|w| graph.node(&w.name)).collect();
        let mut wait: crate::IdMap<petgraph::graph::NodeIndex, Wait> = crate::IdMap::default();
        wait.reserve(workloads.len());
        for (w, node) in workloads.iter().zip(&nodes) {
            let Some(node) = node else { continue };
            let how = if w.is_job() {
                Wait::Completed
            } else if w.health.is_some() {
                Wait::Healthy
            } else {
                Wait::Started
            };
            wait.insert(*node, how);
        }
        for (w, node) in workloads.iter_mut().zip(nodes) {
            let Some(node) = node else {
                continue;
            };
            let mut deps: Vec<Dependency> = graph
                .component_dependencies(node)
                .into_iter()
                .filter(|d| *d != node)
                .filter_map(|d| {
                    let wait = *wait.get(&d)?;
                    Some(Dependency {
                        component: graph.graph[d].name.clone(),
                        wait,
                    })
                })
                .collect();
            deps.sort_by(|a, b| a.component.cmp(&b.component));
            w.depends_on = deps;
        }
    }

    /// Each route's target-group probe: the routed component's HTTP check
    /// within the load balancer's limits, else `GET /`.
    /// Rule priorities on a listener shared by many environments. Each load
    /// balancer takes a block of consecutive priorities (one per route,
    /// longest path first): the environment's `shared.listener_priority`
    /// if set, else a block derived from a SHA-256 of its host name, so that
    /// instances built anywhere (two checkouts, two CI runners) choose the
    /// same block for the same host and, almost always, different blocks for
    /// different hosts. Blocks are aligned to a power of two at least the
    /// route count, inside ALB's range 1–50,000; two load balancers of one
    /// instance that hash to the same block take the next free one.
    fn rule_priorities(&mut self, workloads: &mut [Workload]) {
        if self.instance.shared.listener.is_none() {
            return;
        }
        let mut next_set = self.instance.shared.listener_priority;
        let mut taken: Vec<(u32, u32)> = Vec::new();
        for w in workloads.iter_mut() {
            let Role::LoadBalancer(lb) = &mut w.role else {
                continue;
            };
            let Some(host) = lb.domain.clone() else {
                continue; // an error already: rules on a shared listener need a host
            };
            let count = (lb.routes.len() as u32).max(1);
            let (first, origin) = match next_set {
                Some(first) => {
                    next_set = Some(first + count);
                    (first, PriorityOrigin::Set)
                }
                None => {
                    let size = count.next_power_of_two();
                    let blocks = (MAX_RULE_PRIORITY / size).max(1);
                    use sha2::Digest;
                    let digest = sha2::Sha256::digest(host.as_bytes());
                    let mut bytes = [0u8; 8];
                    bytes.copy_from_slice(&digest[..8]);
                    let mut block = (u64::from_be_bytes(bytes) % u64::from(blocks)) as u32;
                    let overlaps = |first: u32, taken: &[(u32, u32)]| {
                        taken.iter().any(|(a, b)| first <= *b && *a < first + count)
                    };
                    for _ in 0..blocks {
                        if !overlaps(block * size + 1, &taken) {
                            break;
                        }
                        block = (block + 1) % blocks;
                    }
                    (block * size + 1, PriorityOrigin::HostHash)
                }
            };
            let last = first + count - 1;
            if last > MAX_RULE_PRIORITY {
                self.errors.push(
                    Diagnostic::new(
                        ErrorCode::OutOfRange,
                        format!(
                            "`shared.listener_priority` gives `{}` the priorities {first}–{last}, beyond the listener's last, {MAX_RULE_PRIORITY}",
                            w.name
                        ),
                    )
                    .label(w.name_span, format!("{count} route{} from {first}", if count == 1 { "" } else { "s" }))
                    .help(format!(
                        "set `listener_priority` to at most {}, or leave it out to derive the priorities from the host name",
                        MAX_RULE_PRIORITY + 1 - count
                    )),
                );
                continue;
            }
            for (index, r) in lb.routes.iter_mut().enumerate() {
                r.priority = first + index as u32;
            }
            taken.push((first, last));
            lb.priorities = Some(SharedPriorities {
                first,
                last,
                origin,
                host,
            });
        }
    }

    fn routes(&mut self, workloads: &mut [Workload]) {
        // Every route's probe, and what it says of it, read from the
        // workloads in place (by position, found by name once); then set.
        let position: crate::IdMap<&str, usize> = workloads
            .iter()
            .enumerate()
            .map(|(i, w)| (w.name.as_str(), i))
            .collect();
        let mut probes: Vec<(usize, Vec<TargetHealth>, Vec<Warning>)> = Vec::new();
        for (at, w) in workloads.iter().enumerate() {
            let Role::LoadBalancer(lb) = &w.role else {
                continue;
            };
            let mut warnings = Vec::new();
            let healths = lb
                .routes
                .iter()
                .map(|r| {
                    let h = position
                        .get(r.component.as_str())
                        .and_then(|&i| workloads[i].health.as_ref());
                    route_health(w, r, h, &mut warnings)
                })
                .collect();
            probes.push((at, healths, warnings));
        }
        for (at, healths, warnings) in probes {
            let w = &mut workloads[at];
            if let Role::LoadBalancer(lb) = &mut w.role {
                for (r, health) in lb.routes.iter_mut().zip(healths) {
                    r.health = health;
                }
            }
            for (code, message) in warnings {
                self.warnings.push(
                    Diagnostic::new(code, message)
                        .label(w.name_span, "this load balancer")
                        .help("ALB target groups take intervals of 5–300 s, timeouts of 2–120 s below the interval, and 2–10 healthy and unhealthy checks; give the routed component an HTTP `health { path = … }`"),
                );
            }
        }
    }

    /// A client that builds a URL from the host and port of a service reached
    /// with TLS on AWS only gets the AWS port, but not the scheme: say so.
    fn endpoints_built_by_hand(&mut self, workloads: &[Workload]) {
        let differs: BTreeMap<&str, &Endpoints> = workloads
            .iter()
            .filter(|w| w.endpoints.aws.scheme != w.endpoints.compose.scheme)
            .map(|w| (w.name.as_str(), &w.endpoints))
            .collect();
        for (w, c) in workloads.iter().zip(&self.landscape.components) {
            for var in &w.env {
                let EnvValue::Text(t) = &var.value else {
                    continue;
                };
                let target = t.0.iter().find_map(|p| match p {
                    Piece::Host(h) => Some(h.as_str()),
                    Piece::Port { component, .. } => Some(component.as_str()),
                    _ => None,
                });
                let Some((target, e)) = target.and_then(|t| differs.get_key_value(t)) else {
                    continue;
                };
                self.warnings.push(
                    Diagnostic::new(
                        ErrorCode::EndpointDiffers,
                        format!(
                            "`{}` of `{}` is built from `{target}`'s host or port; on AWS `{target}` is reached with {} (port {}), which this value does not say",
                            var.name,
                            w.name,
                            e.aws.scheme,
                            e.aws.port.map(|p| p.to_string()).unwrap_or_else(|| String::from("default"))
                        ),
                    )
                    .label(span_of(c, "env"), "in this environment")
                    .help(format!("use `{target}.url`, which carries the scheme, host and port of each target")),
                );
            }
        }
    }
}

/// How clients reach a workload on each target: managed services by their
/// contract, containers over plain HTTP on their first port.
fn endpoints(managed: Option<Managed>, role: &Role, ports: &[Port]) -> Endpoints {
    let first = ports.first();
    let plain = |scheme: &str| Endpoint {
        scheme: scheme.to_string(),
        port: first.map(|p| p.number),
        tls: false,
        query: String::new(),
        ports: BTreeMap::new(),
    };
    let Some(m) = managed else {
        let scheme = match role {
            Role::LoadBalancer(lb) if lb.tls => "https",
            _ => "http",
        };
        let mut aws = plain(scheme);
        if let Role::LoadBalancer(lb) = role {
            aws.port = None;
            aws.tls = lb.tls;
        }
        return Endpoints {
            compose: plain("http"),
            aws,
        };
    };
    let side = |side: Side| {
        let contract = contracts::endpoint(m, side);
        let port = contract.port.or(first.map(|p| p.number));
        let mut ports = BTreeMap::new();
        if let (Some(first), Some(p)) = (first, contract.port)
            && p != first.number
        {
            ports.insert(first.name.clone(), p);
        }
        Endpoint {
            scheme: contract.scheme.to_string(),
            port: if m == Managed::S3 && side == Side::Aws {
                None
            } else {
                port
            },
            tls: contract.tls,
            query: contract.query.to_string(),
            ports,
        }
    };
    Endpoints {
        compose: side(Side::Compose),
        aws: side(Side::Aws),
    }
}

/// A warning about a load balancer, with its code, before it is placed.
type Warning = (ErrorCode, String);

/// The target-group probe of route `r` of load balancer `w`, from the routed
/// component's health check `h` within ALB's limits, else `GET /`; what it
/// changed or could not honour goes to `warnings`, with its code.
fn route_health(
    w: &Workload,
    r: &Route,
    h: Option<&Health>,
    warnings: &mut Vec<Warning>,
) -> TargetHealth {
    let secs = |ms: Option<u64>, default: u64| ms.map(|m| (m / 1000).max(1)).unwrap_or(default);
    let interval = secs(h.and_then(|h| h.interval_ms), HEALTH_INTERVAL_S).clamp(5, 300);
    let declared_timeout = secs(h.and_then(|h| h.timeout_ms), HEALTH_TIMEOUT_S);
    let timeout = declared_timeout
        .clamp(2, 120)
        .min(interval.saturating_sub(1).max(2));
    let declared_healthy = h.and_then(|h| h.healthy).unwrap_or(2);
    let declared_unhealthy = h.and_then(|h| h.unhealthy).unwrap_or(HEALTH_RETRIES);
    let path = match h.map(|h| &h.check) {
        Some(Check::Http { path, .. }) => path.clone(),
        _ => {
            warnings.push((
                ErrorCode::NotHonoured,
                format!(
                    "the load balancer `{}` probes `{}` with `GET /` on port {}: `{}` declares no HTTP health check",
                    w.name, r.component, r.port, r.component
                ),
            ));
            String::from("/")
        }
    };
    let health = TargetHealth {
        path,
        interval_s: interval,
        timeout_s: timeout,
        healthy: declared_healthy.clamp(2, 10),
        unhealthy: declared_unhealthy.clamp(2, 10),
    };
    let mut adjusted = Vec::new();
    if let Some(h) = h {
        if h.interval_ms
            .is_some_and(|m| secs(Some(m), HEALTH_INTERVAL_S) != interval)
        {
            adjusted.push(format!(
                "interval {} → {interval}",
                secs(h.interval_ms, HEALTH_INTERVAL_S)
            ));
        }
        if h.timeout_ms.is_some() && declared_timeout != timeout {
            adjusted.push(format!("timeout {declared_timeout} → {timeout}"));
        }
        if h.healthy.is_some() && declared_healthy != health.healthy {
            adjusted.push(format!("healthy {declared_healthy} → {}", health.healthy));
        }
        if h.unhealthy.is_some() && declared_unhealthy != health.unhealthy {
            adjusted.push(format!(
                "unhealthy {declared_unhealthy} → {}",
                health.unhealthy
            ));
        }
    }
    if !adjusted.is_empty() {
        warnings.push((
            ErrorCode::HealthAdjusted,
            format!(
                "the AWS load balancer `{}` probes `{}` within its limits: {}",
                w.name,
                r.component,
                adjusted.join(", ")
            ),
        ));
    }
    health
}
