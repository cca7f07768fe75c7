//! CloudFormation: one template per environment. ECS on Fargate for
//! containers, managed services for the stateful stdlib kinds (RDS,
//! ElastiCache, OpenSearch, Amazon MQ, S3), an ALB with HTTPS and Route53 for
//! load balancers, security groups that admit only the components the graph
//! says may connect, Secrets Manager references for secrets, tags on every
//! taggable resource. The template is built as typed JSON values.

mod alb;
mod ecs;
mod expiry;
mod managed;
mod security;
mod split;

use super::{Artifact, BuildContext, EmitOptions};
use crate::diag::{Diagnostic, ErrorCode};
use crate::lower::{dns_label, pascal};
use crate::model::{Component, Part, Value};
use serde_json::{Map, Value as Json, json};
use std::collections::{BTreeMap, BTreeSet};

/// How a component is realised on CloudFormation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Realisation {
    /// An ECS service (or, for jobs, a task definition run on demand).
    Ecs,
    Rds,
    Redis,
    OpenSearch,
    RabbitMq,
    Bucket,
    LoadBalancer,
}

impl Realisation {
    fn of(c: &Component) -> Realisation {
        match c
            .settings
            .get("managed")
            .and_then(Value::as_str)
            .unwrap_or("none")
        {
            "rds-mysql" | "rds-postgres" => Realisation::Rds,
            "elasticache-redis" => Realisation::Redis,
            "opensearch" => Realisation::OpenSearch,
            "amazonmq-rabbitmq" => Realisation::RabbitMq,
            "s3" => Realisation::Bucket,
            "alb" => Realisation::LoadBalancer,
            _ => Realisation::Ecs,
        }
    }
}

/// The template under construction.
pub(crate) struct Template<'a> {
    pub ctx: &'a BuildContext<'a>,
    pub resources: Map<String, Json>,
    pub parameters: Map<String, Json>,
    pub outputs: Map<String, Json>,
    /// Logical id prefix of each component (`auth` → `Auth`).
    pub ids: BTreeMap<String, String>,
    pub realisation: BTreeMap<String, Realisation>,
    /// Secrets the ECS tasks read, for the execution role's policy.
    pub secrets: BTreeSet<String>,
    /// Notes on values adjusted to AWS limits, kept in the template's metadata.
    pub notes: Vec<String>,
    /// Values a target cannot take (reported, nothing written).
    pub errors: Vec<Diagnostic>,
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
        self.ctx.is_ephemeral()
    }

    /// `[{Key, Value}]` tags carried by every taggable resource.
    pub fn tags(&self) -> Json {
        Json::Array(
            self.ctx
                .labels()
                .into_iter()
                .map(|(k, v)| json!({"Key": format!("bomc:{k}"), "Value": tag_value(&v)}))
                .collect(),
        )
    }

    pub fn add(&mut self, id: String, resource: Json) {
        self.resources.insert(id, resource);
    }

    pub fn id(&self, component: &str) -> String {
        self.ids
            .get(component)
            .cloned()
            .unwrap_or_else(|| pascal(component))
    }

    /// The resource whose readiness stands for the component (for `DependsOn`),
    /// if this template creates it.
    pub fn main_resource(&self, component: &str) -> Option<String> {
        let id = self.id(component);
        let key = match self.realisation.get(component)? {
            Realisation::Ecs => format!("{id}Service"),
            Realisation::Rds => format!("{id}Database"),
            Realisation::Redis => format!("{id}Cache"),
            Realisation::OpenSearch => format!("{id}Domain"),
            Realisation::RabbitMq => format!("{id}Broker"),
            Realisation::Bucket => format!("{id}Bucket"),
            Realisation::LoadBalancer => format!("{id}LoadBalancer"),
        };
        self.resources.contains_key(&key).then_some(key)
    }

    /// Shared infrastructure the environment attaches to (`shared { … }`).
    pub fn shared(&self, key: &str) -> Option<&str> {
        self.ctx
            .landscape
            .environment
            .as_ref()?
            .shared
            .get(key)
            .map(String::as_str)
    }

    /// The host name of a component, as a CloudFormation expression.
    pub fn host(&self, component: &str) -> Json {
        let id = self.id(component);
        match self.realisation.get(component) {
            Some(Realisation::Rds) => {
                json!({"Fn::GetAtt": [format!("{id}Database"), "Endpoint.Address"]})
            }
            Some(Realisation::Redis) => {
                json!({"Fn::GetAtt": [format!("{id}Cache"), "PrimaryEndPoint.Address"]})
            }
            Some(Realisation::OpenSearch) => {
                json!({"Fn::GetAtt": [format!("{id}Domain"), "DomainEndpoint"]})
            }
            Some(Realisation::RabbitMq) => {
                json!({"Fn::Select": [0, {"Fn::Split": [":", {"Fn::Select": [1, {"Fn::Split": ["://", {"Fn::Select": [0, {"Fn::GetAtt": [format!("{id}Broker"), "AmqpEndpoints"]}]}]}]}]}]})
            }
            Some(Realisation::Bucket) => {
                json!({"Fn::GetAtt": [format!("{id}Bucket"), "RegionalDomainName"]})
            }
            Some(Realisation::LoadBalancer) => {
                json!({"Fn::GetAtt": [format!("{id}LoadBalancer"), "DNSName"]})
            }
            _ => Json::String(format!("{component}.{}", self.namespace())),
        }
    }

    /// The private DNS namespace ECS services register in.
    pub fn namespace(&self) -> String {
        format!("{}.internal", self.ctx.project())
    }

    /// A text value as a CloudFormation expression: a string, or `Fn::Join`
    /// over literal parts and host expressions. `None` for secrets and collections.
    pub fn text(&self, value: &Value) -> Option<Json> {
        let parts: Vec<Json> = match value {
            Value::Template(parts) => parts
                .iter()
                .map(|p| match p {
                    Part::Text(t) => Json::String(t.clone()),
                    Part::Host(h) => self.host(h),
                    Part::Port(p) => Json::String(p.number.to_string()),
                })
                .collect(),
            Value::Host(h) => vec![self.host(h)],
            Value::Port(p) => vec![Json::String(p.number.to_string())],
            other => vec![Json::String(crate::lower::text(other, &Plain)?)],
        };
        Some(join(parts))
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
        self.parameter(
            "PrivateSubnetIds",
            json!({"Type": "List<AWS::EC2::Subnet::Id>", "Description": "Private subnets for tasks, databases and caches (at least two, in different zones)."}),
        )
    }

    pub fn public_subnets(&mut self) -> Json {
        self.parameter(
            "PublicSubnetIds",
            json!({"Type": "List<AWS::EC2::Subnet::Id>", "Description": "Public subnets for internet-facing load balancers (at least two, in different zones)."}),
        )
    }

    pub fn vpc(&mut self) -> Json {
        self.parameter(
            "VpcId",
            json!({"Type": "AWS::EC2::VPC::Id", "Description": "The VPC the environment runs in."}),
        )
    }
}

/// Whether `name` is a DNS name Route53 and ACM accept: labels of letters,
/// digits and `-` (not at either end), at most 63 characters each, 253 in all.
pub(crate) fn valid_dns_name(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
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
        1 if merged[0].is_string() => merged.remove(0),
        _ => json!({"Fn::Join": ["", merged]}),
    }
}

struct Plain;

impl crate::lower::Resolve for Plain {
    fn host(&self, component: &str) -> String {
        component.to_string()
    }
}

/// Checkov skips with their reasons, kept in the resource's metadata.
pub(crate) fn skips(reasons: &[(&str, &str)]) -> Json {
    json!({"checkov": {"skip": reasons.iter().map(|(id, comment)| json!({"id": id, "comment": comment})).collect::<Vec<_>>()}})
}

pub fn emit(ctx: &BuildContext, options: &EmitOptions) -> Result<Vec<Artifact>, Vec<Diagnostic>> {
    let mut t = Template {
        ctx,
        resources: Map::new(),
        parameters: Map::new(),
        outputs: Map::new(),
        ids: BTreeMap::new(),
        realisation: BTreeMap::new(),
        secrets: BTreeSet::new(),
        notes: Vec::new(),
        errors: Vec::new(),
    };
    let mut diags = Vec::new();
    let mut seen: BTreeMap<String, &Component> = BTreeMap::new();
    for c in &ctx.landscape.components {
        let id = pascal(&c.name);
        if let Some(other) = seen.insert(id.clone(), c) {
            diags.push(
                Diagnostic::new(
                    ErrorCode::NameNotValid,
                    format!("components `{}` and `{}` get the same CloudFormation name `{id}`", other.name, c.name),
                )
                .label(c.name_span, format!("becomes `{id}`"))
                .label(other.name_span, format!("also becomes `{id}`"))
                .help("CloudFormation logical ids keep only letters and digits; rename one so they differ by more than `-` or `_`"),
            );
        }
        t.ids.insert(c.name.clone(), id);
        t.realisation.insert(c.name.clone(), Realisation::of(c));
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let order = crate::graph::start_order(ctx.graph);
    let by_name: BTreeMap<&str, &Component> = ctx
        .landscape
        .components
        .iter()
        .map(|c| (c.name.as_str(), c))
        .collect();
    security::security_groups(&mut t);
    let has_ecs = t.realisation.values().any(|r| *r == Realisation::Ecs);
    if has_ecs {
        ecs::cluster(&mut t);
    }
    // Managed services and load balancers first: ECS services refer to them.
    for name in &order {
        let Some(c) = by_name.get(name.as_str()) else {
            continue;
        };
        match t.realisation[name.as_str()] {
            Realisation::Ecs => {}
            Realisation::LoadBalancer => alb::load_balancer(&mut t, c),
            other => managed::resource(&mut t, c, other),
        }
    }
    for name in &order {
        let Some(c) = by_name.get(name.as_str()) else {
            continue;
        };
        if t.realisation[name.as_str()] == Realisation::Ecs {
            ecs::workload(&mut t, c);
        }
    }
    if has_ecs {
        ecs::execution_role(&mut t);
    }
    // Start order: an ECS service waits for the components it needs.
    for name in &order {
        let Some(c) = by_name.get(name.as_str()) else {
            continue;
        };
        if t.realisation[name.as_str()] != Realisation::Ecs {
            continue;
        }
        let service = format!("{}Service", t.id(name));
        let Some(node) = ctx.graph.node(name) else {
            continue;
        };
        let mut needs: BTreeSet<String> = ctx
            .graph
            .component_dependencies(node)
            .into_iter()
            .filter_map(|d| t.main_resource(&ctx.graph.graph[d].name))
            .filter(|d| *d != service)
            .collect();
        let _ = c;
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
    if !t.errors.is_empty() {
        return Err(std::mem::take(&mut t.errors));
    }
    let types: BTreeSet<String> = t
        .resources
        .values()
        .filter_map(|r| r["Type"].as_str().map(String::from))
        .collect();
    expiry::self_delete(&mut t, &types);
    let mut template = Map::new();
    template.insert(
        String::from("AWSTemplateFormatVersion"),
        json!("2010-09-09"),
    );
    template.insert(String::from("Description"), json!(ctx.header()));
    let mut metadata = Map::new();
    let mut info = json!({
        "source": ctx.source,
        "landscape": ctx.landscape.name,
        "environment": ctx.environment(),
        "instance": ctx.instance,
        "stack_name": ctx.project(),
        "notes": t.notes,
    });
    if let Some(expires) = ctx.expires() {
        info["expires"] = json!(expires);
    }
    metadata.insert(String::from("bomc"), info);
    template.insert(String::from("Metadata"), Json::Object(metadata));
    if !t.parameters.is_empty() {
        template.insert(
            String::from("Parameters"),
            Json::Object(std::mem::take(&mut t.parameters)),
        );
    }
    template.insert(
        String::from("Resources"),
        Json::Object(std::mem::take(&mut t.resources)),
    );
    if !t.outputs.is_empty() {
        template.insert(
            String::from("Outputs"),
            Json::Object(std::mem::take(&mut t.outputs)),
        );
    }
    if !split::needed(&template) {
        return Ok(vec![render("cloudformation", &template, ctx, options)?]);
    }
    // Over the quotas: components (in start order) go to nested stacks; the
    // cluster, roles and load balancers stay in the root.
    let resource_ids: Vec<String> = template
        .get("Resources")
        .and_then(Json::as_object)
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default();
    let mut by_prefix: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let id_to_name: BTreeMap<&str, &str> = t
        .ids
        .iter()
        .map(|(n, i)| (i.as_str(), n.as_str()))
        .collect();
    for rid in &resource_ids {
        // An ingress rule goes with the component that connects: it needs the
        // target, which starts earlier, so nested stacks only look back.
        let source = template
            .get("Resources")
            .and_then(|r| r.get(rid))
            .filter(|r| r["Type"] == "AWS::EC2::SecurityGroupIngress")
            .and_then(|r| r["Properties"]["SourceSecurityGroupId"]["Fn::GetAtt"][0].as_str())
            .and_then(|sg| sg.strip_suffix("SecurityGroup"))
            .and_then(|id| id_to_name.get(id))
            .map(|n| n.to_string());
        if let Some(source) = source {
            by_prefix.entry(source).or_default().push(rid.clone());
            continue;
        }
        let owner = t
            .ids
            .iter()
            .filter(|(_, id)| {
                rid.starts_with(id.as_str())
                    && rid[id.len()..].starts_with(|c: char| c.is_ascii_uppercase())
            })
            .max_by_key(|(_, id)| id.len())
            .map(|(name, _)| name.clone());
        if let Some(owner) = owner {
            by_prefix.entry(owner).or_default().push(rid.clone());
        }
    }
    let mut units = Vec::new();
    for name in &order {
        if t.realisation.get(name) == Some(&Realisation::LoadBalancer) {
            continue;
        }
        if let Some(ids) = by_prefix.remove(name) {
            units.push(split::Unit { ids });
        }
    }
    let shared: Vec<String> = by_prefix.into_values().flatten().collect();
    let parts = split::split(template, shared, units, "nested");
    let mut artifacts = vec![render("cloudformation", &parts.root, ctx, options)?];
    for (file, nested) in &parts.nested {
        let stem = file.trim_end_matches(".json");
        let mut a = render(stem, nested, ctx, options)?;
        a.path = format!("cloudformation/{}", a.path);
        artifacts.push(a);
    }
    Ok(artifacts)
}

/// One template file, JSON (or YAML on request).
fn render(
    stem: &str,
    template: &Map<String, Json>,
    ctx: &BuildContext,
    options: &EmitOptions,
) -> Result<Artifact, Vec<Diagnostic>> {
    if options.cloudformation_yaml {
        let value = serde_yaml_ng::to_value(template).map_err(|e| vec![serialize_error(e)])?;
        Ok(Artifact {
            path: format!("{stem}.yaml"),
            contents: super::yaml::document(&[ctx.header()], &value),
        })
    } else {
        let json = serde_json::to_string_pretty(template).map_err(|e| vec![serialize_error(e)])?;
        Ok(Artifact {
            path: format!("{stem}.json"),
            contents: json + "\n",
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
    dns_label(&format!("{}-{component}", t.ctx.project()), 255)
}
