//! Diff: two compiled versions of a landscape in, what the change does out.
//!
//! For each environment, the old and the new [`Side`] (plan, graph and the
//! artifacts emitted in memory) are compared twice:
//!
//! - the **plan**, workload by workload and setting by setting (`replicas`:
//!   2 → 4), with renames recognised (`plan.rs`);
//! - the **artifacts**: CloudFormation resource by resource and property by
//!   property, with replacement decided from the resource schemas'
//!   `createOnlyProperties` (`cloudformation.rs`), the compose file entry by
//!   entry (`compose.rs`), and the Dockerfiles line by line (`dockerfile.rs`).
//!
//! Every change carries its impact (the components downstream of it in the
//! graph) and its risks (`risk.rs`): data loss, downtime, exposure, cost.
//! Spans are not part of the plan, so reformatting and comments give no
//! change (doc comments are data: bomc writes them into image labels);
//! secrets are names in the plan, so no value can appear.

mod cloudformation;
mod compose;
mod dockerfile;
pub mod human;
mod impact;
pub mod markdown;
mod plan;
mod risk;
mod tree;

use crate::emit::Artifact;
use crate::graph::Graph;
use crate::lower::plan::Plan;
use serde::Serialize;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};

pub use tree::line_diff;

/// One version of one environment, compiled: what a diff compares.
pub struct Side {
    pub plan: Plan,
    pub graph: Graph,
    /// Every target, emitted in memory.
    pub artifacts: Vec<Artifact>,
}

impl Side {
    /// The keys of the labels and tags bomc puts on everything of the
    /// instance (and so on every resource): compared once, in the plan.
    fn labels(&self) -> BTreeSet<String> {
        let instance = serde_json::to_value(&self.plan.instance).unwrap_or_default();
        ["labels", "tags"]
            .iter()
            .filter_map(|field| instance.get(field)?.as_object())
            .flat_map(|m| m.keys().cloned())
            .collect()
    }

    fn artifact(&self, path: &str) -> Option<&Artifact> {
        self.artifacts.iter().find(|a| a.path == path)
    }
}

/// The classes of risk a change can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Risk {
    /// Data that exists now is gone or out of reach afterwards.
    DataLoss,
    /// What serves traffic now stops serving it for a while.
    Downtime,
    /// More can reach the landscape, or less protects it.
    Exposure,
    /// It costs more to run.
    Cost,
}

impl Risk {
    pub const ALL: [Risk; 4] = [Risk::DataLoss, Risk::Downtime, Risk::Exposure, Risk::Cost];

    pub fn name(self) -> &'static str {
        match self {
            Risk::DataLoss => "data-loss",
            Risk::Downtime => "downtime",
            Risk::Exposure => "exposure",
            Risk::Cost => "cost",
        }
    }
}

/// What happened to a component, resource or setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

/// Where a change is seen: in the plan (what the `.bom` means, for every
/// target), or in one target's artifacts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Plan,
    Compose,
    Cloudformation,
    Dockerfile,
}

impl Layer {
    pub fn name(self) -> &'static str {
        match self {
            Layer::Plan => "plan",
            Layer::Compose => "compose",
            Layer::Cloudformation => "cloudformation",
            Layer::Dockerfile => "dockerfile",
        }
    }
}

/// Why a change carries a risk, in a sentence.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reason {
    pub risk: Risk,
    pub why: String,
}

/// What CloudFormation does to a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Delete,
    /// Updated in place.
    Update,
    /// A new physical resource is created and the old one deleted.
    Replace,
}

/// The CloudFormation resource a change is about.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Resource {
    /// Logical id.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub action: Action,
}

/// One change: a component, resource or setting added, removed or changed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// The component (`image:NAME` for an image definition); `null` for the
    /// environment itself and for what the whole stack shares.
    pub component: Option<String>,
    pub change: ChangeKind,
    pub target: Layer,
    /// The file of the artifact (`compose.yaml`, `cloudformation.json`…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<Resource>,
    /// `replicas`, `env.DB_HOST`, `Properties.DBName`; `null` when the whole
    /// component or resource is added or removed.
    pub setting: Option<String>,
    pub old: Option<Json>,
    pub new: Option<Json>,
    pub risks: Vec<Risk>,
    pub reasons: Vec<Reason>,
    /// Components downstream of the change, nearest first.
    pub impact: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Change {
    fn new(component: Option<&str>, change: ChangeKind, target: Layer) -> Change {
        Change {
            component: component.map(String::from),
            change,
            target,
            file: None,
            resource: None,
            setting: None,
            old: None,
            new: None,
            risks: Vec::new(),
            reasons: Vec::new(),
            impact: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds a risk with its reason (once per class and reason).
    pub(crate) fn risk(&mut self, risk: Risk, why: impl Into<String>) {
        let reason = Reason {
            risk,
            why: why.into(),
        };
        if !self.reasons.contains(&reason) {
            self.reasons.push(reason);
        }
        if !self.risks.contains(&risk) {
            self.risks.push(risk);
            self.risks.sort();
        }
    }
}

/// What happened to a component as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentChange {
    Added,
    Removed,
    Changed,
    Renamed,
}

/// One component's changes, summed up.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComponentSummary {
    pub component: String,
    pub kind: String,
    pub change: ComponentChange,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// The targets whose artifacts change for it.
    pub targets: Vec<Layer>,
    pub risks: Vec<Risk>,
    pub impact: Vec<String>,
}

/// Whether an environment is in both versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvironmentStatus {
    Added,
    Removed,
    Changed,
    Unchanged,
}

/// Warnings (what bomc changes or ignores on its own) that appear or disappear.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Warnings {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// The changed part of the graph: changed components, what they impact, and
/// the dependencies between them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Subgraph {
    pub nodes: Vec<SubgraphNode>,
    /// `[from, to]`: `from` needs `to`.
    pub edges: Vec<(String, String)>,
    /// Impacted components left out to keep the drawing readable.
    pub omitted: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SubgraphNode {
    pub name: String,
    pub kind: String,
    /// `added`, `removed`, `changed`, `renamed` or `impacted`.
    pub state: String,
}

/// One environment, compared.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EnvironmentDiff {
    /// `production`, or `default` for a landscape without environments.
    pub environment: String,
    pub landscape: String,
    /// The instance compared (`story-placeholder` with placeholders).
    pub instance: String,
    /// `persistent` or `ephemeral`.
    pub lifetime: String,
    pub status: EnvironmentStatus,
    /// Required parameters compared with placeholder values.
    pub placeholders: Vec<String>,
    pub components: Vec<ComponentSummary>,
    pub changes: Vec<Change>,
    pub warnings: Warnings,
    pub graph: Subgraph,
}

impl EnvironmentDiff {
    /// The risks of its changes, each once.
    pub fn risks(&self) -> BTreeSet<Risk> {
        self.changes
            .iter()
            .flat_map(|c| c.risks.iter().copied())
            .collect()
    }
}

/// The whole comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// What was compared: `origin/main:env.bom`, `old.bom`.
    pub old: String,
    pub new: String,
    pub summary: Summary,
    pub environments: Vec<EnvironmentDiff>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Number of changes, over every environment.
    pub changes: usize,
    pub environments: usize,
    pub environments_changed: usize,
    /// Risk → how many components (per environment) carry it.
    pub risks: BTreeMap<Risk, usize>,
}

impl Report {
    pub fn new(old: String, new: String, environments: Vec<EnvironmentDiff>) -> Report {
        let mut summary = Summary {
            environments: environments.len(),
            ..Summary::default()
        };
        for env in &environments {
            summary.changes += env.changes.len();
            if env.status != EnvironmentStatus::Unchanged {
                summary.environments_changed += 1;
            }
            let mut carriers: BTreeSet<(Risk, Option<&str>)> = BTreeSet::new();
            for c in &env.changes {
                for r in &c.risks {
                    carriers.insert((*r, c.component.as_deref()));
                }
            }
            for (risk, _) in carriers {
                *summary.risks.entry(risk).or_default() += 1;
            }
        }
        Report {
            old,
            new,
            summary,
            environments,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.summary.changes == 0
    }

    /// Every risk that occurs.
    pub fn risks(&self) -> BTreeSet<Risk> {
        self.environments.iter().flat_map(|e| e.risks()).collect()
    }
}

/// What the diff of one environment needs besides the two sides.
pub struct Context {
    pub environment: String,
    /// Required parameters filled with placeholders.
    pub placeholders: Vec<String>,
}

/// Compares one environment. `old` is `None` when the environment is new.
pub fn environment(old: Option<&Side>, new: &Side, ctx: &Context) -> EnvironmentDiff {
    let instance = &new.plan.instance;
    // Data is at risk where it lives now: an environment that was persistent.
    let persistent = !old.map_or(&new.plan, |o| &o.plan).instance.is_ephemeral();
    let mut changes = Vec::new();
    let renames = match old {
        Some(old) => plan::renames(&old.plan, &new.plan),
        None => BTreeMap::new(),
    };
    let empty = old.is_none();
    let old_plan = old.map(|o| &o.plan);
    let sides = Sides {
        old: old_plan,
        new: &new.plan,
        renames: &renames,
        persistent,
    };
    // The plan and each target are compared at once, each into its own list,
    // appended in a fixed order: on a large landscape each takes a while.
    let (cloudformation, compose) = std::thread::scope(|s| {
        let cloudformation = s.spawn(|| {
            let mut changes = Vec::new();
            cloudformation::diff(old, new, &sides, &mut changes);
            changes
        });
        let compose = s.spawn(|| {
            let mut changes = Vec::new();
            compose::diff(old, new, &sides, &mut changes);
            changes
        });
        plan::instance(old_plan, &new.plan, &mut changes);
        plan::workloads(old_plan, &new.plan, &renames, &mut changes);
        plan::images(old_plan, &new.plan, &mut changes);
        plan::rest(old_plan, &new.plan, &mut changes);
        let join = |h: std::thread::ScopedJoinHandle<Vec<Change>>| {
            h.join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        };
        (join(cloudformation), join(compose))
    });
    changes.extend(cloudformation);
    changes.extend(compose);
    dockerfile::diff(old, new, &mut changes);
    risk::classify(&sides, &mut changes);
    impact::attach(old.map(|o| &o.graph), &new.graph, &renames, &mut changes);
    let components = summarize(old_plan, &new.plan, &renames, &changes);
    let graph = impact::subgraph(old.map(|o| &o.graph), &new.graph, &components);
    let warnings = warnings(old_plan, &new.plan);
    let status = if empty {
        EnvironmentStatus::Added
    } else if changes.is_empty() {
        EnvironmentStatus::Unchanged
    } else {
        EnvironmentStatus::Changed
    };
    EnvironmentDiff {
        environment: ctx.environment.clone(),
        landscape: instance.landscape.clone(),
        instance: instance.instance.clone(),
        lifetime: String::from(if instance.is_ephemeral() {
            "ephemeral"
        } else {
            "persistent"
        }),
        status,
        placeholders: ctx.placeholders.clone(),
        components,
        changes,
        warnings,
        graph,
    }
}

/// An environment the new version no longer declares. bomc does not tear
/// down what was deployed from it, so its components are not listed as removed.
pub fn removed_environment(old: &Side, ctx: &Context) -> EnvironmentDiff {
    let instance = &old.plan.instance;
    let mut change = Change::new(None, ChangeKind::Removed, Layer::Plan);
    change.setting = Some(String::from("environment"));
    change.old = Some(Json::String(ctx.environment.clone()));
    change.notes.push(String::from(
        "bomc no longer builds this environment; what was deployed from it stays until it is taken down",
    ));
    EnvironmentDiff {
        environment: ctx.environment.clone(),
        landscape: instance.landscape.clone(),
        instance: instance.instance.clone(),
        lifetime: String::from(if instance.is_ephemeral() {
            "ephemeral"
        } else {
            "persistent"
        }),
        status: EnvironmentStatus::Removed,
        placeholders: ctx.placeholders.clone(),
        components: Vec::new(),
        changes: vec![change],
        warnings: Warnings::default(),
        graph: Subgraph::default(),
    }
}

/// Both plans, with what every comparison needs.
pub(crate) struct Sides<'a> {
    pub old: Option<&'a Plan>,
    pub new: &'a Plan,
    /// Old component name → new name.
    pub renames: &'a BTreeMap<String, String>,
    pub persistent: bool,
}

impl Sides<'_> {
    /// The new name of an old component.
    pub fn renamed<'n>(&'n self, old: &'n str) -> &'n str {
        self.renames.get(old).map_or(old, String::as_str)
    }

    pub fn old_workload(&self, name: &str) -> Option<&crate::lower::plan::Workload> {
        self.old?.workloads.iter().find(|w| w.name == name)
    }

    pub fn new_workload(&self, name: &str) -> Option<&crate::lower::plan::Workload> {
        self.new.workloads.iter().find(|w| w.name == name)
    }
}

fn warnings(old: Option<&Plan>, new: &Plan) -> Warnings {
    let set = |p: &Plan| -> BTreeSet<String> {
        p.warnings
            .iter()
            .map(|w| format!("{}: {}", w.code.code(), w.message))
            .collect()
    };
    let a = old.map(set).unwrap_or_default();
    let b = set(new);
    Warnings {
        added: b.difference(&a).cloned().collect(),
        removed: a.difference(&b).cloned().collect(),
    }
}

/// One summary per component that changed, in the new plan's order, then
/// the removed ones in the old plan's order.
fn summarize(
    old: Option<&Plan>,
    new: &Plan,
    renames: &BTreeMap<String, String>,
    changes: &[Change],
) -> Vec<ComponentSummary> {
    let old_names: BTreeSet<&str> = old
        .map(|p| p.workloads.iter().map(|w| w.name.as_str()).collect())
        .unwrap_or_default();
    let renamed_from: BTreeMap<&str, &str> = renames
        .iter()
        .map(|(o, n)| (n.as_str(), o.as_str()))
        .collect();
    let mut by_component: BTreeMap<&str, Vec<&Change>> = BTreeMap::new();
    for c in changes {
        if let Some(name) = &c.component {
            by_component.entry(name).or_default().push(c);
        }
    }
    let summary = |name: &str, kind: &str, change: ComponentChange, from: Option<&str>| {
        let mine = by_component.get(name).map(Vec::as_slice).unwrap_or(&[]);
        let targets: BTreeSet<Layer> = mine
            .iter()
            .map(|c| c.target)
            .filter(|t| *t != Layer::Plan)
            .collect();
        let risks: BTreeSet<Risk> = mine.iter().flat_map(|c| c.risks.iter().copied()).collect();
        let impact = mine.first().map(|c| c.impact.clone()).unwrap_or_default();
        ComponentSummary {
            component: name.to_string(),
            kind: kind.to_string(),
            change,
            renamed_from: from.map(String::from),
            targets: targets.into_iter().collect(),
            risks: risks.into_iter().collect(),
            impact,
        }
    };
    let mut out = Vec::new();
    for w in &new.workloads {
        let from = renamed_from.get(w.name.as_str()).copied();
        let change = if from.is_some() {
            ComponentChange::Renamed
        } else if !old_names.contains(w.name.as_str()) {
            ComponentChange::Added
        } else if by_component.contains_key(w.name.as_str()) {
            ComponentChange::Changed
        } else {
            continue;
        };
        out.push(summary(&w.name, &w.kind, change, from));
    }
    for image in &new.images {
        let name = format!("image:{}", image.name);
        if by_component.contains_key(name.as_str()) {
            let existed = old.is_some_and(|p| p.images.iter().any(|i| i.name == image.name));
            let change = if existed {
                ComponentChange::Changed
            } else {
                ComponentChange::Added
            };
            out.push(summary(&name, "image", change, None));
        }
    }
    if let Some(old) = old {
        let names: BTreeSet<&str> = new.workloads.iter().map(|w| w.name.as_str()).collect();
        for w in &old.workloads {
            if !renames.contains_key(&w.name) && !names.contains(w.name.as_str()) {
                out.push(summary(&w.name, &w.kind, ComponentChange::Removed, None));
            }
        }
        for image in &old.images {
            if !new.images.iter().any(|i| i.name == image.name) {
                let name = format!("image:{}", image.name);
                out.push(summary(&name, "image", ComponentChange::Removed, None));
            }
        }
    }
    out
}
