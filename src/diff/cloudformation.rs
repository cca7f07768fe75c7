//! The CloudFormation templates, compared resource by resource and property
//! by property, as CloudFormation would apply the change: a resource is
//! created, deleted, updated in place, or replaced — when one of its
//! `createOnlyProperties` changes (from the resource schemas, extracted by
//! `scripts/cfn-create-only` into `create_only.json`), when its logical id
//! changes (a renamed component), when its type changes, or when it moves to
//! another nested stack. Replacing or deleting a resource that holds data is
//! data loss; replacing a load balancer, listener or ECS service is downtime;
//! new ingress, public listeners or lost TLS are exposure.

use super::tree::{self, Leaf};
use super::{Action, Change, ChangeKind, Layer, Resource, Risk, Side, Sides};
use crate::lower::plan::Plan;
use serde_json::{Map, Value as Json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// Resource types that hold data: deleting or replacing one loses it.
const STATEFUL: &[&str] = &[
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::DocDB::DBCluster",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::ElastiCache::CacheCluster",
    "AWS::OpenSearchService::Domain",
    "AWS::Elasticsearch::Domain",
    "AWS::AmazonMQ::Broker",
    "AWS::S3::Bucket",
    "AWS::DynamoDB::Table",
    "AWS::EFS::FileSystem",
];

/// Resource types whose replacement interrupts traffic.
const SERVING: &[&str] = &[
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ECS::Service",
];

/// Type → its create-only property pointers (`/properties/DBName`).
fn create_only() -> &'static BTreeMap<String, Vec<String>> {
    static TABLE: OnceLock<BTreeMap<String, Vec<String>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        serde_json::from_str::<Json>(include_str!("create_only.json"))
            .ok()
            .and_then(|t| serde_json::from_value(t.get("types")?.clone()).ok())
            .unwrap_or_default()
    })
}

/// Whether bomc's table knows the type.
pub(super) fn known_type(kind: &str) -> bool {
    create_only().contains_key(kind)
}

/// One resource and the template file it is in.
struct Placed {
    file: String,
    resource: Json,
}

/// Resources by logical id, with the template file each is in.
type Resources = BTreeMap<String, Placed>;

fn is_template(path: &str) -> bool {
    path.ends_with(".json")
        && (path == "cloudformation.json" || path.starts_with("cloudformation/"))
}

/// The resources of some template files of one side, without the tags bomc
/// puts on every resource of an instance (those labels are compared once, in
/// the plan) and without resource metadata (checkov's notes); and the root
/// template's parameters if the root is among the files.
fn read(side: &Side, files: &BTreeSet<&str>) -> (Resources, BTreeMap<String, Json>) {
    let labels = side.labels();
    let mut resources = BTreeMap::new();
    let mut parameters = BTreeMap::new();
    for a in side
        .artifacts
        .iter()
        .filter(|a| files.contains(a.path.as_str()))
    {
        let Ok(Json::Object(mut t)) = serde_json::from_str(&a.contents) else {
            continue;
        };
        if a.path == "cloudformation.json"
            && let Some(Json::Object(p)) = t.remove("Parameters")
        {
            parameters.extend(p);
        }
        let Some(Json::Object(rs)) = t.remove("Resources") else {
            continue;
        };
        for (id, mut r) in rs {
            if let Json::Object(m) = &mut r {
                m.remove("Metadata");
                if let Some(Json::Object(props)) = m.get_mut("Properties") {
                    strip_tags(props, &labels);
                }
            }
            let placed = Placed {
                file: a.path.clone(),
                resource: r,
            };
            resources.insert(id, placed);
        }
    }
    (resources, parameters)
}

fn strip_tags(props: &mut Map<String, Json>, labels: &BTreeSet<String>) {
    let is_instance_tag = |k: &str| {
        k.strip_prefix("bomc:")
            .is_some_and(|label| labels.contains(label))
    };
    match props.get_mut("Tags") {
        Some(Json::Array(tags)) => {
            tags.retain(|t| {
                !t.get("Key")
                    .and_then(Json::as_str)
                    .is_some_and(is_instance_tag)
            });
        }
        Some(Json::Object(tags)) => tags.retain(|k, _| !is_instance_tag(k)),
        _ => {}
    }
    if props.get("Tags").is_some_and(|t| {
        t.as_array().is_some_and(Vec::is_empty) || t.as_object().is_some_and(Map::is_empty)
    }) {
        props.remove("Tags");
    }
}

/// Which component each logical id belongs to: the longest workload id it
/// starts with, followed by an upper-case letter or nothing (as the emitter
/// names them: `AuthDb` + `Database`).
struct Owners<'p> {
    ids: BTreeMap<&'p str, &'p str>,
}

impl<'p> Owners<'p> {
    fn new(plan: Option<&'p Plan>) -> Owners<'p> {
        Owners {
            ids: plan
                .into_iter()
                .flat_map(|p| &p.workloads)
                .map(|w| (w.id.as_str(), w.name.as_str()))
                .collect(),
        }
    }

    fn of(&self, id: &str) -> Option<String> {
        let ends = id
            .char_indices()
            .filter(|(_, c)| c.is_ascii_uppercase())
            .map(|(i, _)| i)
            .chain([id.len()]);
        let mut found = None;
        for end in ends {
            if let Some(name) = id.get(..end).and_then(|prefix| self.ids.get(prefix)) {
                found = Some(name.to_string());
            }
        }
        found
    }
}

fn kind(r: &Json) -> String {
    r.get("Type")
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_string()
}

/// Values at a create-only pointer (`/properties/A/*/B`) of a resource.
fn at_pointer<'a>(r: &'a Json, pointer: &str) -> Vec<&'a Json> {
    let mut current = vec![r];
    for (i, part) in pointer.trim_start_matches('/').split('/').enumerate() {
        let part = if i == 0 && part == "properties" {
            "Properties"
        } else {
            part
        };
        current = current
            .into_iter()
            .flat_map(|v| -> Vec<&Json> {
                match (part, v) {
                    ("*", Json::Array(items)) => items.iter().collect(),
                    (key, Json::Object(m)) => m.get(key).into_iter().collect(),
                    _ => Vec::new(),
                }
            })
            .collect();
    }
    current
}

/// The create-only properties whose value changes (top-level names).
fn replacing(kind: &str, old: &Json, new: &Json) -> Vec<String> {
    let Some(pointers) = create_only().get(kind) else {
        return Vec::new();
    };
    pointers
        .iter()
        .filter(|p| at_pointer(old, p) != at_pointer(new, p))
        .map(|p| p.trim_start_matches("/properties/").replace('/', "."))
        .collect()
}

fn is_stateful(kind: &str) -> bool {
    STATEFUL.contains(&kind)
}

/// What deleting or replacing a stateful resource keeps, by its policy.
fn kept(r: &Json, policy: &str) -> Option<&'static str> {
    match r.get(policy).and_then(Json::as_str) {
        Some("Snapshot") => Some("a final snapshot is kept"),
        Some("Retain") => Some("the old resource is kept, outside the stack"),
        _ => None,
    }
}

/// Risks of replacing a resource, with why.
fn replacement_risks(c: &mut Change, id: &str, kind: &str, old: &Json, why: &str) {
    if is_stateful(kind) {
        let keeps = kept(old, "UpdateReplacePolicy")
            .map(|k| format!("; {k}, the new one starts empty"))
            .unwrap_or_else(|| String::from("; its data is deleted"));
        c.risk(
            Risk::DataLoss,
            format!("CloudFormation replaces {id} ({kind}) {why}{keeps}"),
        );
    }
    if SERVING.contains(&kind) {
        c.risk(
            Risk::Downtime,
            format!("CloudFormation replaces {id} ({kind}) {why}: traffic is interrupted while the new one takes over"),
        );
    }
    if kind == "AWS::ECS::TaskDefinition" {
        c.notes.push(String::from(
            "a new task definition revision: the service rolls its tasks over to it",
        ));
    }
}

fn change(
    component: Option<String>,
    kind: ChangeKind,
    file: &str,
    id: &str,
    rtype: &str,
    action: Action,
) -> Change {
    let mut c = Change::new(component.as_deref(), kind, Layer::Cloudformation);
    c.file = Some(file.to_string());
    c.resource = Some(Resource {
        id: id.to_string(),
        kind: rtype.to_string(),
        action,
    });
    c
}

/// The logical id an old resource has after the renames
/// (`DbDatabase` → `UsersDatabase`), if that differs.
fn renamed_id(
    id: &str,
    old: &Plan,
    new: &Plan,
    renames: &BTreeMap<String, String>,
) -> Option<String> {
    let ids = |p: &Plan, name: &str| {
        p.workloads
            .iter()
            .find(|w| w.name == name)
            .map(|w| w.id.clone())
    };
    let mut out = id.to_string();
    let mut pairs: Vec<(String, String)> = renames
        .iter()
        .filter_map(|(o, n)| Some((ids(old, o)?, ids(new, n)?)))
        .collect();
    // Longest first, so `AuthDb` is replaced before `Auth`.
    pairs.sort_by_key(|(o, _)| std::cmp::Reverse(o.len()));
    for (o, n) in pairs {
        let mut next = String::new();
        let mut rest = out.as_str();
        while let Some(i) = rest.find(&o) {
            let after = &rest[i + o.len()..];
            let boundary = after.is_empty()
                || after.starts_with(|c: char| c.is_ascii_uppercase() || c.is_ascii_digit());
            next.push_str(&rest[..i]);
            next.push_str(if boundary { &n } else { &o });
            rest = after;
        }
        next.push_str(rest);
        out = next;
    }
    (out != id).then_some(out)
}

/// Compares the templates of both sides. Only the files whose text differs
/// are read: a resource in a file that is the same on both sides is the
/// same, and cannot have moved (both files it moved between would differ).
pub(super) fn diff(old: Option<&Side>, new: &Side, sides: &Sides, changes: &mut Vec<Change>) {
    fn text<'s>(side: Option<&'s Side>, path: &str) -> Option<&'s str> {
        side.and_then(|s| s.artifact(path))
            .map(|a| a.contents.as_str())
    }
    let paths: BTreeSet<&str> = old
        .into_iter()
        .chain([new])
        .flat_map(|s| s.artifacts.iter().map(|a| a.path.as_str()))
        .filter(|p| is_template(p))
        .collect();
    let differ: BTreeSet<&str> = paths
        .into_iter()
        .filter(|p| text(old, p) != text(Some(new), p))
        .collect();
    if differ.is_empty() {
        return;
    }
    let ((a, old_parameters), (b, new_parameters)) = std::thread::scope(|s| {
        let old_read = s.spawn(|| old.map(|o| read(o, &differ)).unwrap_or_default());
        let new_read = read(new, &differ);
        (old_read.join().unwrap_or_default(), new_read)
    });
    // Every old resource, read only if a new ingress rule or listener must
    // be checked against what was there.
    let everything: BTreeSet<&str> = old
        .map(|o| {
            o.artifacts
                .iter()
                .map(|a| a.path.as_str())
                .filter(|p| is_template(p))
                .collect()
        })
        .unwrap_or_default();
    let all_old = std::cell::OnceCell::new();
    let all_old =
        || all_old.get_or_init(|| old.map(|o| read(o, &everything).0).unwrap_or_default());
    let (a, b) = (&a, &b);
    let (new_owners, old_owners) = (Owners::new(Some(sides.new)), Owners::new(sides.old));
    let new_owner = |id: &str| new_owners.of(id);
    let old_owner = |id: &str| old_owners.of(id).map(|n| sides.renamed(&n).to_string());
    let mut paired: BTreeMap<String, String> = BTreeMap::new();
    for id in a.keys().filter(|id| !b.contains_key(*id)) {
        if let Some(old_plan) = sides.old
            && let Some(n) = renamed_id(id, old_plan, sides.new, sides.renames)
            && b.contains_key(&n)
            && !a.contains_key(&n)
        {
            paired.insert(id.clone(), n);
        }
    }
    let targets: BTreeSet<&String> = paired.values().collect();
    for (id, placed) in b {
        let rtype = kind(&placed.resource);
        let component = new_owner(id);
        if let Some((old_id, before)) = paired
            .iter()
            .find(|(_, n)| *n == id)
            .and_then(|(o, _)| Some((o, a.get(o)?)))
        {
            let mut c = change(
                component,
                ChangeKind::Changed,
                &placed.file,
                id,
                &rtype,
                Action::Replace,
            );
            c.setting = Some(String::from("logical id"));
            c.old = Some(Json::String(old_id.clone()));
            c.new = Some(Json::String(id.clone()));
            replacement_risks(
                &mut c,
                id,
                &rtype,
                &before.resource,
                &format!("(its logical id changes: {old_id} → {id})"),
            );
            changes.push(c);
            continue;
        }
        let Some(before) = a.get(id) else {
            if targets.contains(id) {
                continue;
            }
            let mut c = change(
                component.clone(),
                ChangeKind::Added,
                &placed.file,
                id,
                &rtype,
                Action::Create,
            );
            c.new = placed.resource.get("Properties").cloned();
            added_risks(&mut c, id, &placed.resource, &all_old, sides, &new_owners);
            changes.push(c);
            continue;
        };
        modified(id, before, placed, component, changes);
    }
    for (id, placed) in a {
        if b.contains_key(id) || paired.contains_key(id) {
            continue;
        }
        let rtype = kind(&placed.resource);
        let mut c = change(
            old_owner(id),
            ChangeKind::Removed,
            &placed.file,
            id,
            &rtype,
            Action::Delete,
        );
        c.old = placed.resource.get("Properties").cloned();
        if is_stateful(&rtype) {
            match kept(&placed.resource, "DeletionPolicy") {
                Some(k) if k.starts_with("the old") => c.notes.push(format!(
                    "DeletionPolicy Retain: {id} ({rtype}) stays, outside the stack"
                )),
                keeps => c.risk(
                    Risk::DataLoss,
                    format!(
                        "CloudFormation deletes {id} ({rtype}){}",
                        keeps.map(|k| format!("; {k}")).unwrap_or_default()
                    ),
                ),
            }
        }
        changes.push(c);
    }
    if differ.contains("cloudformation.json") {
        parameters(&old_parameters, &new_parameters, changes);
    }
}

/// A resource on both sides: moved, retyped, or property by property.
fn modified(
    id: &str,
    before: &Placed,
    after: &Placed,
    component: Option<String>,
    changes: &mut Vec<Change>,
) {
    let (old_r, new_r) = (&before.resource, &after.resource);
    if old_r == new_r && before.file == after.file {
        return;
    }
    let rtype = kind(new_r);
    if before.file != after.file || kind(old_r) != rtype {
        let mut c = change(
            component,
            ChangeKind::Changed,
            &after.file,
            id,
            &rtype,
            Action::Replace,
        );
        let (setting, why, old, new) = if before.file != after.file {
            (
                "stack",
                format!(
                    "(it moves from {} to {}: deleted in one stack, created in the other)",
                    before.file, after.file
                ),
                before.file.clone(),
                after.file.clone(),
            )
        } else {
            (
                "Type",
                String::from("(its type changes)"),
                kind(old_r),
                rtype.clone(),
            )
        };
        c.setting = Some(setting.to_string());
        c.old = Some(Json::String(old));
        c.new = Some(Json::String(new));
        replacement_risks(&mut c, id, &rtype, old_r, &why);
        changes.push(c);
        return;
    }
    let mut leaves: Vec<Leaf> = Vec::new();
    tree::diff(old_r, new_r, "", true, &mut leaves);
    let replaced = replacing(&rtype, old_r, new_r);
    let action = if replaced.is_empty() {
        Action::Update
    } else {
        Action::Replace
    };
    let cause = |path: &str| {
        replaced.iter().any(|p| {
            let top = p.split('.').next().unwrap_or(p);
            path == format!("Properties.{top}")
                || path.starts_with(&format!("Properties.{top}."))
                || path.starts_with(&format!("Properties.{top}["))
        })
    };
    let first_cause = leaves.iter().position(|l| cause(&l.path)).unwrap_or(0);
    for (i, leaf) in leaves.into_iter().enumerate() {
        let mut c = change(
            component.clone(),
            leaf.kind,
            &after.file,
            id,
            &rtype,
            action,
        );
        if action == Action::Replace && i == first_cause {
            let why = format!("(create-only {} changes)", replaced.join(", "));
            replacement_risks(&mut c, id, &rtype, old_r, &why);
        }
        if action == Action::Update && !known_type(&rtype) {
            c.notes.push(if rtype.starts_with("Custom::") {
                format!("{rtype} is a custom resource: its handler decides how it is updated")
            } else {
                format!("bomc's table of create-only properties does not know {rtype}: it may be replaced")
            });
        }
        exposure(&mut c, &rtype, &leaf);
        c.setting = Some(leaf.path);
        c.old = leaf.old;
        c.new = leaf.new;
        changes.push(c);
    }
}

fn is_cidr_rule(rule: &Json) -> bool {
    rule.get("CidrIp").is_some() || rule.get("CidrIpv6").is_some()
}

fn describe_rule(rule: &Json) -> String {
    let range = rule
        .get("CidrIp")
        .or_else(|| rule.get("CidrIpv6"))
        .and_then(Json::as_str)
        .unwrap_or("?");
    let port = match (rule.get("FromPort"), rule.get("ToPort")) {
        (Some(a), Some(b)) if a == b => a.to_string(),
        (Some(a), Some(b)) => format!("{a}-{b}"),
        _ => String::from("all ports"),
    };
    format!("port {port} from {range}")
}

/// Exposure in a property change of a resource that stays.
fn exposure(c: &mut Change, rtype: &str, leaf: &Leaf) {
    let path = leaf.path.as_str();
    let (old, new) = (leaf.old.as_ref(), leaf.new.as_ref());
    match (rtype, path) {
        ("AWS::EC2::SecurityGroup", "Properties.SecurityGroupIngress") => {
            let before: Vec<&Json> = old
                .and_then(Json::as_array)
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            for rule in new.and_then(Json::as_array).into_iter().flatten() {
                if is_cidr_rule(rule) && !before.contains(&rule) {
                    c.risk(
                        Risk::Exposure,
                        format!("the security group now admits {}", describe_rule(rule)),
                    );
                }
            }
        }
        ("AWS::ElasticLoadBalancingV2::Listener", "Properties.Protocol")
            if old.and_then(Json::as_str) == Some("HTTPS")
                && new.and_then(Json::as_str) != Some("HTTPS") =>
        {
            c.risk(
                Risk::Exposure,
                "the listener stops speaking HTTPS: TLS removed",
            );
        }
        ("AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties.Scheme")
            if new.and_then(Json::as_str) == Some("internet-facing") =>
        {
            c.risk(Risk::Exposure, "the load balancer becomes internet-facing");
        }
        (_, "Properties.PubliclyAccessible") if new == Some(&Json::Bool(true)) => {
            c.risk(
                Risk::Exposure,
                format!("{rtype} becomes publicly accessible"),
            );
        }
        _ => {}
    }
}

/// Exposure of a new resource: an ingress rule for a new source or from a
/// network range, a listener on an internet-facing load balancer that was
/// there before.
fn added_risks<'a>(
    c: &mut Change,
    id: &str,
    r: &Json,
    all_old: &dyn Fn() -> &'a Resources,
    sides: &Sides,
    owners: &Owners,
) {
    let props = r.get("Properties").cloned().unwrap_or_default();
    match kind(r).as_str() {
        "AWS::EC2::SecurityGroupIngress" => {
            if is_cidr_rule(&props) {
                c.risk(
                    Risk::Exposure,
                    format!("new ingress rule {id}: {}", describe_rule(&props)),
                );
                return;
            }
            // Admitting a source into a security group that was there
            // before, and did not admit it (on any port).
            let group = props["GroupId"]["Fn::GetAtt"][0].as_str().unwrap_or("");
            let source = props["SourceSecurityGroupId"]["Fn::GetAtt"][0]
                .as_str()
                .unwrap_or("");
            let old = all_old();
            let target_existed = old.contains_key(group)
                || owners
                    .of(group)
                    .is_some_and(|n| sides.old_workload(old_name(sides, &n)).is_some());
            let admitted = old.values().any(|p| {
                let q = &p.resource["Properties"];
                let id = |v: &Json| {
                    let id = v["Fn::GetAtt"][0].as_str().unwrap_or("").to_string();
                    sides
                        .old
                        .and_then(|o| renamed_id(&id, o, sides.new, sides.renames))
                        .unwrap_or(id)
                };
                kind(&p.resource) == "AWS::EC2::SecurityGroupIngress"
                    && id(&q["GroupId"]) == group
                    && id(&q["SourceSecurityGroupId"]) == source
            });
            if target_existed && !admitted {
                c.risk(
                    Risk::Exposure,
                    format!(
                        "new ingress source: {source} may connect to {group} on {}",
                        describe_rule(&props).replace(" from ?", "")
                    ),
                );
            }
        }
        "AWS::ElasticLoadBalancingV2::Listener" => {
            let lb = props["LoadBalancerArn"]["Ref"].as_str().unwrap_or("");
            if let Some(before) = all_old().get(lb)
                && before.resource["Properties"]["Scheme"] == "internet-facing"
            {
                c.risk(
                    Risk::Exposure,
                    format!(
                        "new public port {} on {lb}",
                        props.get("Port").cloned().unwrap_or_default()
                    ),
                );
            }
        }
        _ => {}
    }
}

fn old_name<'a>(sides: &'a Sides, new: &'a str) -> &'a str {
    sides
        .renames
        .iter()
        .find(|(_, n)| n.as_str() == new)
        .map_or(new, |(o, _)| o.as_str())
}

/// Parameters of the root template that deployers must now pass, or no longer.
fn parameters(a: &BTreeMap<String, Json>, b: &BTreeMap<String, Json>, changes: &mut Vec<Change>) {
    for leaf in tree::diff_maps(a, b, true) {
        let mut c = Change::new(None, leaf.kind, Layer::Cloudformation);
        c.file = Some(String::from("cloudformation.json"));
        c.setting = Some(format!("Parameters.{}", leaf.path));
        match leaf.kind {
            ChangeKind::Added if !leaf.path.contains('.') => c.notes.push(String::from(
                "a new stack parameter: deployments must pass it (unless it has a default)",
            )),
            ChangeKind::Removed if !leaf.path.contains('.') => c
                .notes
                .push(String::from("a stack parameter deployments no longer pass")),
            _ => {}
        }
        c.old = leaf.old;
        c.new = leaf.new;
        changes.push(c);
    }
}
