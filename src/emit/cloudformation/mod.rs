//! CloudFormation: one template per environment instance, translated from
//! the plan. ECS on Fargate for containers, managed services for the
//! stateful stdlib kinds (RDS, ElastiCache, OpenSearch, Amazon MQ, S3), an
//! ALB with HTTPS and Route53 for load balancers, security groups that admit
//! only the components the graph says may connect, task roles granting what
//! each component's managed dependencies need, Secrets Manager references
//! for secrets, tags on every taggable resource. Built as typed JSON values.

mod alb;
mod ecs;
mod expiry;
mod jobs;
mod managed;
mod network;
mod raw;
mod resources;
mod security;
mod split;

use super::{Artifact, EmitOptions, cat};
use crate::diag::{Diagnostic, ErrorCode};
use crate::emit::json::json;
use crate::emit::json::{Json, Map};
use crate::lower::dns_label;
use crate::lower::plan::{DbEngine, Piece, Plan, Role, Route, Text, Workload};
use std::collections::{BTreeMap, BTreeSet};

/// The template under construction.
pub(crate) struct Template<'a> {
    pub plan: &'a Plan,
    /// Resources, parameters and outputs by logical id: a template has
    /// thousands, gathered in no particular order, so they are put in id
    /// order once, when the template is assembled.
    pub resources: resources::Resources,
    pub parameters: BTreeMap<String, Json>,
    pub outputs: BTreeMap<String, Json>,
    /// The position of each workload among the plan's, by name
    /// ([`Template::workload`]) and by logical id: what a resource's owner
    /// is given by.
    positions: crate::IdMap<&'a str, usize>,
    positions_by_id: crate::IdMap<&'a str, usize>,
    /// The servers whose clients' task roles get grants (buckets, search
    /// domains), with those clients: found once, not once per workload.
    pub grantors: Vec<(&'a str, &'a [crate::graph::Access])>,
    /// Component → the load balancer routes to it, in workload and route
    /// order: found once, not by scanning every route for each workload.
    pub routes: crate::IdMap<&'a str, Vec<(&'a Workload, &'a Route)>>,
    /// Secrets the ECS tasks read, by the id of the workload whose task reads
    /// them: for the execution roles' policies.
    pub task_secrets: BTreeMap<String, BTreeSet<String>>,
    /// Values a target cannot take (reported, nothing written).
    pub errors: Vec<Diagnostic>,
    /// The instance's tags, built once: every taggable resource carries them.
    tags: Json,
}

/// Tag values may hold letters, digits, spaces and `_.:/=+-@`; anything else becomes `-`.
fn tag_value(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_alphanumeric() || " _.:/=+-@".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(256)
        .collect()
}

impl<'a> Template<'a> {
    pub fn ephemeral(&self) -> bool {
        self.plan.instance.is_ephemeral()
    }

    /// `[{Key, Value}]` tags carried by every taggable resource: one list,
    /// shared by all of them.
    pub fn tags(&self) -> Json {
        self.tags.clone()
    }

    /// Adds a resource that goes, when the template is split, with the
    /// component its id's prefix names: the longest component id that `id`
    /// continues with an upper-case letter (each such prefix looked up, not
    /// every id compared); none, and it stays in the root.
    pub fn add(&mut self, id: String, resource: Json) {
        let owner = id
            .char_indices()
            .rev()
            .filter(|&(i, c)| i > 0 && c.is_ascii_uppercase())
            .find_map(|(i, _)| self.positions_by_id.get(&id[..i]).copied());
        self.resources
            .insert(id, resource, resources::Owner::Named(owner));
    }

    /// Adds a resource that goes with `component` when the template is split
    /// (a route's target group with the service it routes to), whatever its
    /// id's prefix names.
    pub fn add_with(&mut self, component: &str, id: String, resource: Json) {
        let owner = self.positions.get(component).copied();
        self.resources
            .insert(id, resource, resources::Owner::Placed(owner));
    }

    /// The workload named `name`.
    pub fn workload(&self, name: &str) -> Option<&'a Workload> {
        let plan: &'a Plan = self.plan;
        self.positions.get(name).map(|&i| &plan.workloads[i])
    }

    pub fn id(&self, component: &str) -> String {
        self.workload(component)
            .map(|w| w.id.clone())
            .unwrap_or_else(|| crate::lower::pascal(component))
    }

    /// The resource whose readiness stands for the component (for `DependsOn`),
    /// if this template creates it.
    pub fn main_resource(&self, component: &str) -> Option<String> {
        let w = self.workload(component)?;
        let id = &w.id;
        let key = match &w.role {
            Role::Service => cat(&[id, "Service"]),
            Role::Job => cat(&[id, "Run"]),
            Role::Database(_) => cat(&[id, "Database"]),
            Role::Cache(_) => cat(&[id, "Cache"]),
            Role::Search(_) => cat(&[id, "Domain"]),
            Role::Queue(_) => cat(&[id, "Broker"]),
            Role::Bucket(_) => cat(&[id, "Bucket"]),
            Role::LoadBalancer(_) => cat(&[id, "LoadBalancer"]),
        };
        self.resources.contains_key(&key).then_some(key)
    }

    /// The host name of a component, as a CloudFormation expression.
    pub fn host(&self, component: &str) -> Json {
        let id = self.id(component);
        match self.workload(component).map(|w| &w.role) {
            Some(Role::Database(db)) if db.engine == DbEngine::DocumentDb => {
                json!({"Fn::GetAtt": [cat(&[&id, "Database"]), "Endpoint"]})
            }
            Some(Role::Database(_)) => {
                json!({"Fn::GetAtt": [cat(&[&id, "Database"]), "Endpoint.Address"]})
            }
            Some(Role::Cache(_)) => {
                json!({"Fn::GetAtt": [cat(&[&id, "Cache"]), "PrimaryEndPoint.Address"]})
            }
            Some(Role::Search(_)) => {
                json!({"Fn::GetAtt": [cat(&[&id, "Domain"]), "DomainEndpoint"]})
            }
            Some(Role::Queue(_)) => {
                json!({"Fn::Select": [0, {"Fn::Split": [":", {"Fn::Select": [1, {"Fn::Split": ["://", {"Fn::Select": [0, {"Fn::GetAtt": [cat(&[&id, "Broker"]), "AmqpEndpoints"]}]}]}]}]}]})
            }
            Some(Role::Bucket(_)) => {
                json!({"Fn::GetAtt": [cat(&[&id, "Bucket"]), "RegionalDomainName"]})
            }
            Some(Role::LoadBalancer(lb)) => match &lb.domain {
                Some(domain) => json!(domain),
                None => json!({"Fn::GetAtt": [cat(&[&id, "LoadBalancer"]), "DNSName"]}),
            },
            _ => Json::String(format!("{component}.{}", self.namespace())),
        }
    }

    /// The URL clients reach a component at on AWS: its contract's scheme
    /// and port (S3: the regional endpoint).
    pub fn url(&self, component: &str) -> Vec<Json> {
        let Some(w) = self.workload(component) else {
            return vec![json!(component)];
        };
        let e = &w.endpoints.aws;
        if matches!(w.role, Role::Bucket(_)) {
            return vec![json!({"Fn::Sub": "https://s3.${AWS::Region}.${AWS::URLSuffix}"})];
        }
        let mut parts = vec![json!(format!("{}://", e.scheme)), self.host(component)];
        if let Some(port) = e.port {
            parts.push(json!(format!(":{port}")));
        }
        if !e.query.is_empty() {
            parts.push(json!(format!("/?{}", e.query)));
        }
        parts
    }

    /// The private DNS namespace ECS services register in.
    pub fn namespace(&self) -> String {
        format!("{}.internal", self.plan.instance.project)
    }

    /// Text as a CloudFormation expression: a string, or `Fn::Join` over
    /// literal parts and the AWS realisation of hosts, ports and URLs.
    pub fn text(&self, text: &Text) -> Json {
        let mut parts = Vec::new();
        for piece in &text.0 {
            match piece {
                Piece::Literal(t) => parts.push(Json::String(t.clone())),
                Piece::Host(h) => parts.push(self.host(h)),
                Piece::Port {
                    component,
                    name,
                    number,
                } => {
                    let n = self
                        .workload(component)
                        .map(|w| w.endpoints.aws.port_number(name, *number))
                        .unwrap_or(*number);
                    parts.push(Json::String(n.to_string()));
                }
                Piece::Url(c) => parts.extend(self.url(c)),
                Piece::BucketName(c) => parts.push(json!({"Ref": format!("{}Bucket", self.id(c))})),
            }
        }
        join(parts)
    }

    pub fn deletion_policy(&self, snapshot_supported: bool) -> &'static str {
        match (self.ephemeral(), snapshot_supported) {
            (true, _) => "Delete",
            (false, true) => "Snapshot",
            (false, false) => "Retain",
        }
    }

    /// A parameter (declared once).
    pub fn parameter(&mut self, name: &str, definition: Json) -> Json {
        self.parameters
            .entry(name.to_string())
            .or_insert(definition);
        json!({"Ref": name})
    }

    pub fn private_subnets(&mut self) -> Json {
        if let Some(created) = network::private_subnets(self) {
            return created;
        }
        self.parameter(
            "PrivateSubnetIds",
            json!({"Type": "List<AWS::EC2::Subnet::Id>", "Description": "Private subnets for tasks, databases and caches (at least two, in different zones)."}),
        )
    }

    pub fn public_subnets(&mut self) -> Json {
        if let Some(created) = network::public_subnets(self) {
            return created;
        }
        self.parameter(
            "PublicSubnetIds",
            json!({"Type": "List<AWS::EC2::Subnet::Id>", "Description": "Public subnets for internet-facing load balancers (at least two, in different zones)."}),
        )
    }

    pub fn vpc(&mut self) -> Json {
        if let Some(created) = network::vpc(self) {
            return created;
        }
        self.parameter(
            "VpcId",
            json!({"Type": "AWS::EC2::VPC::Id", "Description": "The VPC the environment runs in."}),
        )
    }
}

/// Joins parts, merging adjacent literals; a single literal stays a string.
fn join(parts: Vec<Json>) -> Json {
    let mut merged: Vec<Json> = Vec::new();
    for p in parts {
        match (merged.last_mut(), &p) {
            (Some(Json::String(prev)), Json::String(s)) => prev.push_str(s),
            _ => merged.push(p),
        }
    }
    match merged.len() {
        0 => Json::String(String::new()),
        1 => merged.remove(0),
        _ => json!({"Fn::Join": ["", merged]}),
    }
}

/// The log group of a function bomc deploys (expiry, bucket emptying, job
/// runners): deleted with the stack, kept `days` days.
pub(crate) fn add_function_log_group(t: &mut Template, id: String, days: u32) {
    let tags = t.tags();
    t.add(
        id,
        json!({
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {"RetentionInDays": days, "Tags": tags},
            "Metadata": skips(&[("CKV_AWS_158", "logs are encrypted at rest with the CloudWatch Logs service key; a customer key adds cost without a requirement")]),
        }),
    );
}

/// Checkov skips with their reasons, kept in the resource's metadata.
pub(crate) fn skips(reasons: &[(&str, &str)]) -> Json {
    json!({"checkov": {"skip": reasons.iter().map(|(id, comment)| json!({"id": id, "comment": comment})).collect::<Vec<_>>()}})
}

/// The root template of `plan`, and its nested templates when it is over
/// CloudFormation's quotas.
pub fn emit(plan: &Plan, options: &EmitOptions) -> Result<Vec<Artifact>, Vec<Diagnostic>> {
    emit_into(plan, options, &Ok)
}

/// [`emit`], each template handed to `keep` as soon as its text is made.
pub fn emit_into<T: Send>(
    plan: &Plan,
    options: &EmitOptions,
    keep: super::Keep<'_, T>,
) -> Result<Vec<T>, Vec<Diagnostic>> {
    // What the template itself can refuse comes from raw resources (`raw`: an
    // id bomc emits too, a missing `Type`); every other mistake is found while
    // lowering. Without any, `check` has nothing to learn from building a
    // template only to free it: a quarter of its work on a large landscape.
    if options.validate_only
        && plan
            .workloads
            .iter()
            .all(|w| w.cloudformation_resources.is_empty())
    {
        return Ok(Vec::new());
    }
    let positions: crate::IdMap<&str, usize> = plan
        .workloads
        .iter()
        .enumerate()
        .map(|(i, w)| (w.name.as_str(), i))
        .collect();
    let grantors = plan
        .access
        .iter()
        .filter(|(server, _)| {
            positions.get(server.as_str()).is_some_and(|&s| {
                matches!(plan.workloads[s].role, Role::Bucket(_) | Role::Search(_))
            })
        })
        .map(|(server, clients)| (server.as_str(), clients.as_slice()))
        .collect();
    let mut routes: crate::IdMap<&str, Vec<(&Workload, &Route)>> = crate::IdMap::default();
    for lb in &plan.workloads {
        if let Role::LoadBalancer(balancer) = &lb.role {
            for route in &balancer.routes {
                routes
                    .entry(&route.component)
                    .or_default()
                    .push((lb, route));
            }
        }
    }
    let mut t = Template {
        plan,
        resources: resources::Resources::default(),
        parameters: BTreeMap::new(),
        outputs: BTreeMap::new(),
        grantors,
        routes,
        task_secrets: BTreeMap::new(),
        positions,
        positions_by_id: plan
            .workloads
            .iter()
            .enumerate()
            .map(|(i, w)| (w.id.as_str(), i))
            .collect(),
        errors: Vec::new(),
        tags: Json::Shared(std::sync::Arc::new(Json::Array(
            plan.instance
                .tags
                .iter()
                .map(|(k, v)| json!({"Key": format!("bomc:{k}"), "Value": tag_value(v)}))
                .collect(),
        ))),
    };
    let in_order: Vec<&Workload> = plan
        .start_order
        .iter()
        .filter_map(|name| t.workload(name))
        .collect();
    network::network(&mut t);
    security::security_groups(&mut t);
    let containers = plan
        .workloads
        .iter()
        .any(|w| matches!(w.role, Role::Service | Role::Job));
    if containers {
        ecs::cluster(&mut t);
    }
    // Managed services and load balancers first: ECS services refer to them.
    for w in &in_order {
        match &w.role {
            Role::Service | Role::Job => {}
            Role::LoadBalancer(lb) => alb::load_balancer(&mut t, w, lb),
            _ => managed::resource(&mut t, w),
        }
    }
    for w in &in_order {
        if matches!(w.role, Role::Service | Role::Job) {
            ecs::workload(&mut t, w);
        }
    }
    if containers {
        ecs::execution_role(&mut t);
    }
    let job_workloads: Vec<&Workload> = in_order.iter().copied().filter(|w| w.is_job()).collect();
    jobs::jobs(&mut t, &job_workloads);
    // Start order: an ECS service (or a job's run) waits for the components it
    // needs — a job until it ran to completion.
    for w in &in_order {
        let service = match w.role {
            Role::Service => format!("{}Service", w.id),
            Role::Job => format!("{}Run", w.id),
            _ => continue,
        };
        let mut needs: BTreeSet<String> = w
            .depends_on
            .iter()
            .filter_map(|d| t.main_resource(&d.component))
            .filter(|d| *d != service)
            .collect();
        if let Some(Json::Object(res)) = t.resources.get_mut(&service) {
            if let Some(Json::Array(existing)) = res.get("DependsOn") {
                needs.extend(existing.iter().filter_map(|v| v.as_str().map(String::from)));
            }
            if !needs.is_empty() {
                res.insert(
                    String::from("DependsOn"),
                    json!(needs.into_iter().collect::<Vec<_>>()),
                );
            }
        }
    }
    network::tasks_wait_for_routes(&mut t);
    for w in &plan.workloads {
        raw::resources(&mut t, w);
    }
    if !t.errors.is_empty() {
        return Err(std::mem::take(&mut t.errors));
    }
    if options.validate_only {
        super::free_in_background(std::mem::take(&mut t.resources));
        return Ok(Vec::new());
    }
    expiry::self_delete(&mut t);
    let instance = &plan.instance;
    let mut template = Map::new();
    template.insert(
        String::from("AWSTemplateFormatVersion"),
        json!("2010-09-09"),
    );
    template.insert(String::from("Description"), json!(&instance.header));
    let mut metadata = Map::new();
    let mut info = json!({
        "source": &instance.source,
        "landscape": &instance.landscape,
        "environment": &instance.environment,
        "instance": &instance.instance,
        "stack_name": &instance.project,
        "notes": super::notes(plan),
    });
    // An ephemeral stack's expiry is counted from its creation (the
    // `Expires` output): the template records the TTL, not a time.
    info["lifetime"] = json!(if instance.is_ephemeral() {
        "ephemeral"
    } else {
        "persistent"
    });
    if let Some(ttl) = instance.tags.get("ttl") {
        info["ttl"] = json!(ttl);
    }
    let rules: Vec<Json> = plan
        .workloads
        .iter()
        .filter_map(|w| match &w.role {
            Role::LoadBalancer(lb) => lb.priorities.as_ref().map(|p| {
                json!({"load_balancer": &w.name, "host": &p.host, "first": p.first, "last": p.last, "origin": serde_json::to_value(p.origin).map_or(Json::Null, Json::from)})
            }),
            _ => None,
        })
        .collect();
    if !rules.is_empty() {
        info["shared_listener_priorities"] = json!(rules);
    }
    metadata.insert(String::from("bomc"), info);
    template.insert(String::from("Metadata"), Json::Object(metadata));
    if !t.parameters.is_empty() {
        template.insert(
            String::from("Parameters"),
            Json::Object(Map::from_sorted(std::mem::take(&mut t.parameters))),
        );
    }
    if !t.outputs.is_empty() {
        template.insert(
            String::from("Outputs"),
            Json::Object(Map::from_sorted(std::mem::take(&mut t.outputs))),
        );
    }
    // Resources stay a tree for the split, which takes them out by stack: a
    // template over the resource quota is split whatever its size, and only
    // a smaller one is measured whole.
    let (mut resources, owners) = std::mem::take(&mut t.resources).into_sorted();
    if resources.len() <= split::MAX_RESOURCES {
        template.insert(
            String::from("Resources"),
            Json::Object(Map::from_sorted(resources)),
        );
        if !split::needed(&template) {
            let artifact = render("cloudformation", Written::Whole(&template), plan, options)?;
            super::spend(template, options);
            return keep(artifact).map(|k| vec![k]).map_err(|d| vec![d]);
        }
        resources = match template.remove("Resources") {
            Some(Json::Object(m)) => m.into_iter().map(|(k, v)| (k.into_owned(), v)).collect(),
            _ => Vec::new(),
        };
    }
    // Over the quotas: components (in start order) go to nested stacks; the
    // cluster, roles and load balancers stay in the root.
    let (unit_of, units) = resource_units(&t, &in_order, &owners);
    let extension = if options.cloudformation_yaml {
        "yaml"
    } else {
        "json"
    };
    let parts = split::split(
        template,
        resources,
        &unit_of,
        units,
        "cloudformation",
        "nested",
        extension,
    );
    // The templates are written on two cores: each is text made from a tree
    // the split no longer changes, and the texts come back in order.
    let suffix = format!(".{extension}");
    let templates: Vec<(String, Written)> =
        std::iter::once((String::from("cloudformation"), Written::Whole(&parts.root)))
            .chain(parts.nested.iter().map(|nested| {
                let stem = nested.file.trim_end_matches(&suffix);
                (format!("cloudformation/{stem}"), Written::Nested(nested))
            }))
            .collect();
    // Each text is handed on as soon as it is made, its length kept for the
    // root's quota.
    let kept = crate::parallel::on_two_cores(&templates, |(stem, template)| {
        let artifact = render(stem, *template, plan, options)?;
        let bytes = artifact.contents.len();
        keep(artifact).map(|k| (k, bytes)).map_err(|d| vec![d])
    })
    .into_iter()
    .collect::<Result<Vec<(T, usize)>, _>>()?;
    root_within_quotas(&parts.root, kept[0].1, plan)?;
    super::spend(parts, options);
    Ok(kept.into_iter().map(|(k, _)| k).collect())
}

/// The unit of each resource, given its owner (the position of the
/// workload it goes with, found as it was added: [`Template::add`]), and
/// how many units there are: a unit per component that owns resources,
/// numbered in start order (`in_order`); a load balancer's resources, and
/// those of no component, have no unit and stay in the root.
fn resource_units(
    t: &Template,
    in_order: &[&Workload],
    owners: &[Option<usize>],
) -> (Vec<Option<usize>>, usize) {
    let plan = t.plan;
    let by_name = &t.positions;
    let mut owning = vec![false; plan.workloads.len()];
    owners.iter().flatten().for_each(|&w| owning[w] = true);
    let mut unit_numbers: Vec<Option<usize>> = vec![None; plan.workloads.len()];
    let mut units = 0;
    for w in in_order {
        if let Some(&i) = by_name.get(w.name.as_str())
            && owning[i]
            && !matches!(w.role, Role::LoadBalancer(_))
        {
            unit_numbers[i] = Some(units);
            units += 1;
        }
    }
    let unit_of = owners
        .iter()
        .map(|owner| owner.and_then(|w| unit_numbers[w]))
        .collect();
    (unit_of, units)
}

/// The sections of a template CloudFormation counts, with their quotas.
const TEMPLATE_QUOTAS: [(&str, usize); 3] = [
    ("Resources", split::RESOURCES_QUOTA),
    ("Parameters", split::PARAMETERS_QUOTA),
    ("Outputs", split::OUTPUTS_QUOTA),
];

/// The split cannot make the root small enough when what stays there (load
/// balancers, the cluster, shared roles, one stack resource per nested
/// template) is over a quota itself: CloudFormation would refuse the
/// template, so bomc says so instead of writing it.
fn root_within_quotas(root: &Map, bytes: usize, plan: &Plan) -> Result<(), Vec<Diagnostic>> {
    let count = |k: &str| root.get(k).and_then(Json::as_object).map_or(0, Map::len);
    let over = TEMPLATE_QUOTAS
        .iter()
        .find(|(k, quota)| count(k) > *quota)
        .map(|(k, quota)| {
            format!(
                "{} {}, over CloudFormation's {quota}",
                count(k),
                k.to_lowercase()
            )
        })
        .or_else(|| {
            (bytes > split::BODY_QUOTA)
                .then(|| format!("{bytes} bytes, over CloudFormation's {}", split::BODY_QUOTA))
        });
    let Some(over) = over else {
        return Ok(());
    };
    let mut d = Diagnostic::new(
        ErrorCode::TemplateOverQuota,
        format!("the root CloudFormation template holds {over}"),
    )
    .help("the root keeps every load balancer, the cluster, the shared roles and one resource per nested stack; split the landscape into landscapes deployed as stacks of their own, or build the other targets with `--target compose` or `--target dockerfile`");
    let lbs = plan
        .workloads
        .iter()
        .filter(|w| matches!(w.role, Role::LoadBalancer(_)));
    if let Some(first) = lbs.clone().next() {
        d = d.label(first.name_span, load_balancers_in_root(lbs.count()));
    } else if let Some(first) = plan.workloads.first() {
        d = d.label(
            first.name_span,
            "one of the components the root's nested stacks hold",
        );
    }
    Err(vec![d])
}

/// The label on the first of `count` load balancers the root keeps.
fn load_balancers_in_root(count: usize) -> String {
    match count.saturating_sub(1) {
        0 => String::from("this load balancer stays in the root"),
        1 => String::from("this and 1 more load balancer stay in the root"),
        more => format!("this and {more} more load balancers stay in the root"),
    }
}

/// A template to write: the whole one or the root of a split, or a nested
/// one, whose references to resources elsewhere are rewritten as it is written.
#[derive(Clone, Copy)]
enum Written<'a> {
    Whole(&'a Map),
    Nested(&'a split::Nested),
}

/// One template file, JSON (or YAML on request).
fn render(
    stem: &str,
    template: Written,
    plan: &Plan,
    options: &EmitOptions,
) -> Result<Artifact, Vec<Diagnostic>> {
    if options.cloudformation_yaml {
        let value = match template {
            Written::Whole(template) => serde_yaml_ng::to_value(template),
            Written::Nested(nested) => serde_yaml_ng::to_value(nested.rewritten()),
        }
        .map_err(|e| vec![serialize_error(e)])?;
        Ok(Artifact {
            path: format!("{stem}.yaml"),
            contents: super::yaml::document(std::slice::from_ref(&plan.instance.header), &value),
        })
    } else {
        // Room for the largest template CloudFormation takes, reserved, not
        // touched: a text grown by doubling copies itself and faults in
        // new pages at each step (a tenth of a large build's page faults).
        let mut json = String::with_capacity(split::BODY_QUOTA);
        match template {
            Written::Whole(template) => super::json::write_pretty_object(&mut json, template),
            Written::Nested(nested) => {
                let references = nested.references();
                super::json::write_pretty_object_instead(&mut json, &nested.template, &|object| {
                    split::Nested::instead(&references, object)
                });
            }
        }
        json.push('\n');
        Ok(Artifact {
            path: format!("{stem}.json"),
            contents: json,
        })
    }
}

fn serialize_error(e: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::OutputNotWritable,
        format!("cannot serialize the template: {e}"),
    )
    .help("this is a bug in bomc; please report it with the .bom file")
}

/// A DNS-safe short name for physical names (task families, namespaces).
pub(crate) fn physical(t: &Template, component: &str) -> String {
    dns_label(&format!("{}-{component}", t.plan.instance.project), 255)
}

#[cfg(test)]
mod tests {
    use super::load_balancers_in_root;

    #[test]
    fn the_root_label_counts_the_other_load_balancers() {
        assert_eq!(
            load_balancers_in_root(1),
            "this load balancer stays in the root"
        );
        assert_eq!(
            load_balancers_in_root(2),
            "this and 1 more load balancer stay in the root"
        );
        assert_eq!(
            load_balancers_in_root(85),
            "this and 84 more load balancers stay in the root"
        );
    }
}
