//! Lowering: the evaluated model and its graph in, one typed [`Plan`] per
//! environment instance out. Settings are read here, once; defaults, sizing,
//! clamps, names, health, secrets and endpoints are decided here, once; what
//! bomc changes on its own is a `W` warning recorded in the plan. Emitters
//! take the plan and nothing else.

mod context;
pub mod contracts;
mod engine;
mod image;
mod linux;
pub mod plan;
pub mod time;
mod workload;

use crate::diag::{Diagnostic, ErrorCode};
use crate::graph::Graph;
use crate::model::{Component, Landscape, Lifetime, Value};
use plan::{Instance, Plan, SecretNames, Shared, Workload};
use std::collections::BTreeMap;
use std::path::Path;

/// What lowering needs besides the model: where the file is, when the build
/// happens, and which block of host ports the instance gets.
pub struct Context<'a> {
    /// The `.bom` file as the user named it, for generated-file headers.
    pub source: &'a str,
    /// Its folder, to resolve build contexts.
    pub source_dir: &'a Path,
    /// Build time, seconds since the epoch.
    pub now: i64,
    /// Which block of host ports the instance publishes in.
    pub port_block: u32,
    /// The output root (`--out`); the instance goes to `<out>/<landscape>/<instance>`.
    pub out: &'a Path,
}

/// Lowers one evaluated landscape. Errors are what no target can run; the
/// plan's `warnings` what bomc changed or ignored.
pub fn lower(landscape: &Landscape, graph: &Graph, ctx: &Context) -> Result<Plan, Vec<Diagnostic>> {
    finish(landscape, graph, ctx, begin(landscape, ctx))
}

/// What lowering makes of a landscape before it needs its graph: the
/// instance, and each component's workload with what making it reported.
/// `bomc build` makes it while the graph is built on the other core.
pub struct Begun<'a> {
    instance: Instance,
    components: crate::IdMap<&'a str, &'a Component>,
    workloads: Vec<Workload>,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
}

/// [`lower`]'s first step, which reads no graph.
pub fn begin<'a>(landscape: &'a Landscape, ctx: &Context) -> Begun<'a> {
    let instance = instance(landscape, ctx);
    let components = landscape
        .components
        .iter()
        .map(|c| (c.name.as_str(), c))
        .collect();
    let (mut errors, mut warnings) = (Vec::new(), Vec::new());
    let workloads = workload::Lowering {
        landscape,
        components: &components,
        instance: &instance,
        errors: &mut errors,
        warnings: &mut warnings,
    }
    .workloads();
    Begun {
        instance,
        components,
        workloads,
        errors,
        warnings,
    }
}

/// [`lower`]'s second step: `begun` (of `landscape`) and its graph to a
/// plan. What it reports comes in the order of one run: the images', then
/// what making the workloads reported, then the rest.
pub fn finish(
    landscape: &Landscape,
    graph: &Graph,
    ctx: &Context,
    begun: Begun,
) -> Result<Plan, Vec<Diagnostic>> {
    let Begun {
        instance,
        components,
        mut workloads,
        errors: made,
        mut warnings,
    } = begun;
    let mut errors = Vec::new();
    // What the graph alone gives, on the other core while this one connects
    // the workloads (at N = 10,000, 9 and 14 ms, one after the other).
    let ((start_order, access), images) = crate::parallel::beside(
        || {
            (
                crate::graph::start_order(graph),
                crate::graph::access(graph),
            )
        },
        || {
            let images = image::images(landscape, graph, &instance, &mut errors);
            errors.extend(made);
            workload::Lowering {
                landscape,
                components: &components,
                instance: &instance,
                errors: &mut errors,
                warnings: &mut warnings,
            }
            .connect(&mut workloads, graph);
            images
        },
    );
    let secrets = secrets(&workloads, &mut errors);
    let images = image::finish(images, &workloads, &instance, ctx.out, &mut errors);
    let publish = publish(&instance);
    floating_tags(&workloads, &images, &mut warnings);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Plan {
        instance,
        workloads,
        images,
        publish,
        start_order,
        access,
        secrets,
        warnings,
    })
}

/// W0008 for every image a landscape with `allow_floating_tags = true` pulls
/// or builds on without a full version.
fn floating_tags(
    workloads: &[plan::Workload],
    images: &[plan::BuildImage],
    warnings: &mut Vec<Diagnostic>,
) {
    let pulled = workloads.iter().filter_map(|w| match &w.image {
        plan::ImageSource::Pull(r) => Some((r, w.span)),
        plan::ImageSource::Build(_) => None,
    });
    let bases = images.iter().filter_map(|i| match &i.from {
        plan::BaseImage::Pinned(r) => Some((r, i.span)),
        plan::BaseImage::Image(_) => None,
    });
    for (reference, span) in pulled.chain(bases) {
        if reference.is_empty() || crate::check::types::is_pinned(reference) {
            continue;
        }
        warnings.push(
            Diagnostic::new(
                ErrorCode::FloatingTag,
                format!(
                    "image `{reference}` has no full version: each build may run another image"
                ),
            )
            .label(span, "floating")
            .help("pin a full version or a digest (`name:1.2.3`, `name@sha256:…`) to silence this"),
        );
    }
}

/// The plan one target builds: `plan` without the workloads left out of
/// that target (`targets`), or `None` when every workload is on it.
pub fn for_target(plan: &Plan, on: impl Fn(&plan::Targets) -> bool) -> Option<Plan> {
    if plan.workloads.iter().all(|w| on(&w.targets)) {
        return None;
    }
    let mut plan = plan.clone();
    let out: std::collections::BTreeSet<String> = plan
        .workloads
        .iter()
        .filter(|w| !on(&w.targets))
        .map(|w| w.name.clone())
        .collect();
    plan.workloads.retain(|w| !out.contains(&w.name));
    plan.start_order.retain(|n| !out.contains(n));
    plan.access.retain(|n, _| !out.contains(n));
    for clients in plan.access.values_mut() {
        clients.retain(|a| !out.contains(&a.from));
    }
    let read: std::collections::BTreeSet<String> = plan
        .workloads
        .iter()
        .flat_map(|w| w.secrets().map(|(_, s)| s.secret.clone()))
        .collect();
    plan.secrets.retain(|s, _| read.contains(s));
    Some(plan)
}

/// Images run on AWS are built for the platform the task definitions
/// declare: Fargate's default, Linux on x86-64.
pub const PLATFORM: &str = "linux/amd64";

/// How long a registry keeps an image that no persistent instance runs: longer
/// than an ephemeral environment usually lives, short enough that a story's
/// images do not pile up.
pub const IMAGE_RETENTION_DAYS: u32 = 30;

/// Publishing: persistent instances move a `live-<instance>` tag to the images
/// they run, which the repositories' lifecycle policy never expires; every
/// other image expires `IMAGE_RETENTION_DAYS` after it was pushed.
fn publish(instance: &Instance) -> plan::Publish {
    let live_prefix = String::from("live-");
    plan::Publish {
        platform: String::from(PLATFORM),
        live_tag: (!instance.is_ephemeral()).then(|| format!("{live_prefix}{}", instance.instance)),
        live_prefix,
        retention_days: IMAGE_RETENTION_DAYS,
    }
}

/// A model value as plan text (hosts, ports and URLs kept symbolic); `None`
/// for secrets and collections. For the raw escape hatches.
pub fn plan_text(value: &Value) -> Option<plan::Text> {
    workload::text(value)
}

/// The environment instance: its name, then its parameters' values, so two
/// instances of one environment (`story-us-217`, `story-us-218`) never share a folder.
pub fn instance_name(landscape: &Landscape) -> String {
    let Some(env) = &landscape.environment else {
        return String::from("default");
    };
    let mut name = env.name.clone();
    for value in env.params.values() {
        if let Some(text) = crate::eval::scalar_text(value) {
            name.push('-');
            name.push_str(&text);
        }
    }
    dns_label(&name, 63)
}

fn instance(landscape: &Landscape, ctx: &Context) -> Instance {
    let env = landscape.environment.as_ref();
    let environment = env
        .map(|e| e.name.clone())
        .unwrap_or_else(|| String::from("default"));
    let instance = instance_name(landscape);
    let project = dns_label(&format!("{}-{instance}", landscape.name), 63);
    let lifetime = match env.map(|e| &e.lifetime) {
        Some(Lifetime::Ephemeral { ttl_ms }) => {
            let ttl_seconds = ttl_ms / 1000;
            let ttl = i64::try_from(ttl_seconds).unwrap_or(i64::MAX / 4);
            plan::Lifetime::Ephemeral {
                ttl_seconds,
                expires: time::format_rfc3339(ctx.now.saturating_add(ttl)),
            }
        }
        _ => plan::Lifetime::Persistent,
    };
    let purpose = env.and_then(|e| e.purpose.clone());
    let shared_of = |key: &str| env.and_then(|e| e.shared.get(key).cloned());
    let shared = Shared {
        cluster: shared_of("cluster"),
        listener: shared_of("listener"),
        load_balancer_dns: shared_of("load_balancer_dns"),
        load_balancer_security_group: shared_of("load_balancer_security_group"),
        // 0 (or absent): derived from the host name.
        listener_priority: shared_of("listener_priority")
            .and_then(|p| p.parse().ok())
            .filter(|p| *p > 0),
    };
    let network = network(env, &lifetime);
    let mut labels = BTreeMap::new();
    labels.insert(String::from("generated-by"), String::from("bomc"));
    labels.insert(String::from("source"), ctx.source.to_string());
    labels.insert(String::from("landscape"), landscape.name.clone());
    labels.insert(String::from("environment"), environment.clone());
    labels.insert(String::from("instance"), instance.clone());
    labels.insert(
        String::from("lifetime"),
        String::from(match lifetime {
            plan::Lifetime::Ephemeral { .. } => "ephemeral",
            plan::Lifetime::Persistent => "persistent",
        }),
    );
    if let Some(p) = &purpose {
        labels.insert(String::from("purpose"), p.clone());
    }
    if let plan::Lifetime::Ephemeral { expires, .. } = &lifetime {
        labels.insert(String::from("expires"), expires.clone());
    }
    let mut tags = labels.clone();
    if let plan::Lifetime::Ephemeral { ttl_seconds, .. } = &lifetime {
        tags.remove("expires");
        tags.insert(String::from("ttl"), time::format_duration(*ttl_seconds));
    }
    let header = format!(
        "Generated by bomc from {} (landscape {}, environment {environment}). Do not edit: change the .bom file and rebuild.",
        ctx.source, landscape.name
    );
    let output_dir = ctx.out.join(&landscape.name).join(&instance);
    Instance {
        landscape: landscape.name.clone(),
        environment,
        instance,
        project,
        source: ctx.source.to_string(),
        source_dir: ctx.source_dir.to_path_buf(),
        output_dir,
        port_block: ctx.port_block,
        lifetime,
        purpose,
        shared,
        network,
        labels,
        tags,
        header,
    }
}

/// The block of a VPC bomc creates when the environment gives none.
pub const DEFAULT_VPC_CIDR: &str = "10.0.0.0/16";

/// The environment's network. A created VPC gets one NAT gateway in an
/// ephemeral environment (cheap, and it lives hours) and one per zone in a
/// persistent one (a zone's outage does not cut the other's egress), unless
/// it says; flow logs in persistent ones. (The values were checked against
/// the schema when the environment was evaluated.)
fn network(env: Option<&crate::model::Environment>, lifetime: &plan::Lifetime) -> plan::Network {
    let settings = env.map(|e| &e.network);
    let get = |key: &str| settings.and_then(|s| s.get(key));
    if get("vpc").map(String::as_str) != Some("create") {
        return plan::Network::Existing;
    }
    let ephemeral = matches!(lifetime, plan::Lifetime::Ephemeral { .. });
    let cidr = get("cidr")
        .cloned()
        .unwrap_or_else(|| String::from(DEFAULT_VPC_CIDR));
    let prefix = crate::check::types::vpc_cidr(&cidr).map_or(16, |(_, p)| p);
    plan::Network::Create {
        cidr,
        subnet_prefix: prefix + 2,
        nat_gateways: get("nat_gateways")
            .and_then(|n| n.parse().ok())
            .unwrap_or(if ephemeral { 1 } else { 2 }),
        flow_logs: !ephemeral,
    }
}

/// `messenger/db` → key `messenger_db`, variable `MESSENGER_DB`.
pub fn secret_names(name: &str) -> SecretNames {
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
    SecretNames { key, variable }
}

/// Every secret a workload reads, with its compose names, which must stay distinct.
fn secrets(
    workloads: &[plan::Workload],
    errors: &mut Vec<Diagnostic>,
) -> BTreeMap<String, SecretNames> {
    let mut secrets: BTreeMap<String, SecretNames> = BTreeMap::new();
    let mut first_user = BTreeMap::new();
    for w in workloads {
        for (_, s) in w.secrets() {
            first_user.entry(s.secret.clone()).or_insert(w);
            secrets
                .entry(s.secret.clone())
                .or_insert_with(|| secret_names(&s.secret));
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
            && let Some(w) = first_user.get(name)
        {
            errors.push(
                Diagnostic::new(
                    ErrorCode::NameNotValid,
                    format!("secrets `{other}` and `{name}` would both be `{value}` on compose"),
                )
                .label(w.name_span, "in this component")
                .help("rename one of them: compose secret names and environment variables keep only letters, digits, `.`, `_` and `-`"),
            );
        }
    }
    secrets
}

/// Lowercases and replaces anything outside `[a-z0-9-]` with `-`, collapses
/// repeats and makes it start with a letter. A name longer than `max` is cut
/// and ends with 8 hex digits of a hash of the whole name, so two long names
/// that share a prefix stay different.
pub fn dns_label(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_alphanumeric() { c } else { '-' };
        if c == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert_str(0, "x-");
    }
    if out.len() > max && max > 12 {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(out.as_bytes());
        let suffix: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        out.truncate(max - 9);
        while out.ends_with('-') {
            out.pop();
        }
        out.push('-');
        out.push_str(&suffix);
        return out;
    }
    out.truncate(max);
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// `auth-db` → `AuthDb`: a CloudFormation logical id part (alphanumeric).
pub fn pascal(text: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(if upper { c.to_ascii_uppercase() } else { c });
            upper = false;
        } else {
            upper = true;
        }
    }
    out
}

/// Whether `name` is a DNS name Route53 and ACM accept: labels of letters,
/// digits and `-` (not at either end), at most 63 characters each, 253 in all.
pub fn valid_dns_name(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A landscape of `count` services; the first and last ask for a size
    /// Fargate rounds, the second is public (two warnings in each half), and
    /// with `reserving` the third and the one before last reserve more than
    /// their limit (an error in each half).
    fn many_services(count: usize, reserving: bool) -> String {
        let mut text = String::from("landscape many {\n");
        for i in 0..count {
            let mut body =
                String::from("    image = \"nginx:1.27.0\"\n    ports { http = 8080 }\n");
            if i == 0 || i == count - 1 {
                body.push_str("    cpu = 0.3\n");
            }
            if i == 1 || i == count - 2 {
                body.push_str("    public = true\n");
            }
            if reserving && (i == 2 || i == count - 3) {
                body.push_str("    cpu = 1.0\n    reserve { cpu = 2.0 }\n");
            }
            text.push_str(&format!("  service s{i} {{\n{body}  }}\n"));
        }
        text.push_str("}\n");
        text
    }

    /// Made in halves on two cores, a large landscape's workloads, and what
    /// lowering reports of them, are one run's: the same plan, the same
    /// warnings and errors in the same order.
    #[test]
    fn workloads_made_in_halves_are_one_runs() {
        let ctx = Context {
            source: "many.bom",
            source_dir: std::path::Path::new("."),
            now: 0,
            port_block: 0,
            out: std::path::Path::new("out"),
        };
        for reserving in [false, true] {
            let mut diags = crate::diag::Diagnostics::default();
            let text = many_services(workload::HALVES_FROM + 2, reserving);
            let program = crate::resolve::load_text("many.bom", text, &mut diags);
            let (landscape, graph) =
                crate::evaluate_graph(&program, &crate::eval::Options::default(), &mut diags)
                    .expect("evaluates");
            assert!(diags.is_empty(), "{:?}", diags.into_vec());
            let halves = lower(&landscape, &graph, &ctx);
            // On a core already sharing, the workloads are made in one run.
            let one_run =
                crate::parallel::on_two_cores(&[()], |()| lower(&landscape, &graph, &ctx));
            assert_eq!(format!("{halves:?}"), format!("{:?}", one_run[0]));
            let codes: Vec<(ErrorCode, String)> = match &halves {
                Ok(plan) => plan.warnings.iter(),
                Err(errors) => errors.iter(),
            }
            .map(|d| (d.code, d.message.clone()))
            .collect();
            let last = workload::HALVES_FROM + 1;
            let named = |name: String| codes.iter().any(|(_, m)| m.contains(&format!("`{name}`")));
            if reserving {
                assert!(codes.iter().all(|(c, _)| *c == ErrorCode::OutOfRange));
                assert!(named(String::from("s2")) && named(format!("s{}", last - 2)));
            } else {
                assert_eq!(codes.len(), 4, "{codes:?}");
                assert!(named(String::from("s0")) && named(format!("s{last}")));
                assert!(named(String::from("s1")) && named(format!("s{}", last - 1)));
            }
        }
    }

    #[test]
    fn long_names_stay_distinct_within_their_limit() {
        assert_eq!(
            dns_label("Messenger_Story US-217", 63),
            "messenger-story-us-217"
        );
        let a = dns_label(&format!("{}-a", "x".repeat(80)), 50);
        let b = dns_label(&format!("{}-b", "x".repeat(80)), 50);
        assert!(a.len() <= 50 && b.len() <= 50);
        assert_ne!(a, b);
        assert_eq!(dns_label("9lives", 63), "x-9lives");
    }

    #[test]
    fn secret_names_are_compose_names() {
        let s = secret_names("messenger/db");
        assert_eq!(
            (s.key.as_str(), s.variable.as_str()),
            ("messenger_db", "MESSENGER_DB")
        );
        let s = secret_names("1/a+b=c@d.e");
        assert_eq!(
            (s.key.as_str(), s.variable.as_str()),
            ("1_a_b_c_d.e", "_1_A_B_C_D_E")
        );
    }
}
