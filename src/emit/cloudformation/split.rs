//! Stack quotas: a template over CloudFormation's limits (500 resources,
//! 200 parameters, 200 outputs, 1 MB of body) is split into nested stacks.
//! Components stay whole and are taken in start order (so a stack mostly needs
//! the ones before it); what a nested stack uses from elsewhere arrives as a
//! parameter, wired by the root from the owner's resource or output.

use crate::emit::json::{Json, Map};
use crate::emit::json::{json, key_len, string_len};
use std::collections::{BTreeMap, BTreeSet};

/// CloudFormation's quotas on one template: resources, parameters, outputs,
/// and the body `aws cloudformation package` uploads (1 MB).
pub const RESOURCES_QUOTA: usize = 500;
pub const PARAMETERS_QUOTA: usize = 200;
pub const OUTPUTS_QUOTA: usize = 200;
pub const BODY_QUOTA: usize = 1_000_000;

/// What the split packs a stack to: the quotas with a tenth to spare.
pub const MAX_RESOURCES: usize = RESOURCES_QUOTA * 9 / 10;
pub const MAX_PARAMETERS: usize = PARAMETERS_QUOTA * 9 / 10;
pub const MAX_OUTPUTS: usize = OUTPUTS_QUOTA * 9 / 10;
pub const MAX_BODY: usize = BODY_QUOTA * 9 / 10;

/// `(logical id, attribute)` a resource refers to; attribute `None` is a `Ref`.
type Target = (String, Option<String>);

/// A [`Target`] borrowed from the template it was found in.
type TargetRef<'a> = (&'a str, Option<&'a str>);

/// A [`TargetRef`] with its target's unit, if it is a resource of one.
type UnitRef<'a> = (TargetRef<'a>, Option<usize>);

fn owned((id, attr): TargetRef) -> Target {
    (id.to_string(), attr.map(String::from))
}

/// The entry of a one-entry map: every intrinsic function is one, so larger
/// maps cost a length check, not a key lookup per function.
fn only_entry(m: &Map) -> Option<(&str, &Json)> {
    if m.len() != 1 {
        return None;
    }
    m.iter().next()
}

/// The target of `{"Ref": id}` or `{"Fn::GetAtt": [id, attr]}`.
fn single_ref<'a>(entry: Option<(&'a str, &'a Json)>) -> Option<TargetRef<'a>> {
    match entry? {
        ("Ref", Json::String(id)) => Some((id, None)),
        ("Fn::GetAtt", Json::Array(a)) => match (a.first(), a.get(1)) {
            (Some(Json::String(id)), Some(Json::String(attr))) => Some((id, Some(attr))),
            _ => None,
        },
        _ => None,
    }
}

fn collect_refs<'a>(v: &'a Json, out: &mut BTreeSet<TargetRef<'a>>) {
    match v {
        Json::Object(m) => {
            let entry = only_entry(m);
            if let Some(target) = single_ref(entry) {
                out.insert(target);
                return;
            }
            if let Some(("Fn::Sub", Json::Array(a))) = entry {
                // `Fn::Sub` with a variable map: only the map's values hold references.
                a.iter().skip(1).for_each(|x| collect_refs(x, out));
                return;
            }
            m.values().for_each(|x| collect_refs(x, out));
        }
        Json::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        Json::Shared(value) => collect_refs(value, out),
        _ => {}
    }
}

fn param_name(target: &Target) -> String {
    let attr: String = target
        .1
        .as_deref()
        .unwrap_or("Ref")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    format!("{}{attr}", target.0)
}

/// The value a nested stack receives for the root's parameter `name`.
/// Stack parameters are strings: CloudFormation refuses a list-typed one
/// (`List<AWS::EC2::Subnet::Id>`, `CommaDelimitedList`) passed by `Ref`, so
/// a list is joined with commas, which the nested stack's parameter of the
/// same type splits again.
fn pass_parameter(name: &str, definition: &Json) -> Json {
    let list = definition["Type"]
        .as_str()
        .is_some_and(|t| t.starts_with("List<") || t == "CommaDelimitedList");
    if list {
        json!({"Fn::Join": [",", {"Ref": name}]})
    } else {
        json!({"Ref": name})
    }
}

/// Replaces references by the given expressions.
fn replace(v: &mut Json, external: &BTreeMap<TargetRef<'_>, Json>) {
    match v {
        Json::Object(m) => {
            // Looked up by the borrowed target: no copy of its names.
            if let Some(expr) = single_ref(only_entry(m)).and_then(|t| external.get(&t)) {
                *v = expr.clone();
                return;
            }
            m.values_mut().for_each(|x| replace(x, external));
        }
        Json::Array(a) => a.iter_mut().for_each(|x| replace(x, external)),
        // Made this place's own only when a reference in it changes.
        Json::Shared(value) => {
            let changes = {
                let mut refs = BTreeSet::new();
                collect_refs(value, &mut refs);
                refs.iter().any(|t| external.contains_key(t))
            };
            if changes {
                v.unshare();
                replace(v, external);
            }
        }
        _ => {}
    }
}

/// A split template: the root, and the nested templates.
pub struct Split {
    pub root: Map,
    pub nested: Vec<Nested>,
}

/// A nested template's references to rewrite, each with what it becomes,
/// by the id they name and then by attribute (`None` for a `Ref`).
pub type References<'a> = crate::IdMap<&'a str, Vec<(Option<&'a str>, Json)>>;

/// A nested template, by file name, and the parameter each of its resources'
/// references to a resource elsewhere becomes: rewritten as the template is
/// written ([`Nested::instead`]), not in its tree.
pub struct Nested {
    pub file: String,
    pub template: Map,
    parameters: BTreeMap<Target, String>,
}

impl Nested {
    /// The references [`Nested::instead`] rewrites, each with its parameter:
    /// looked up by hash, since ids share long prefixes (`Svc12…`) that a
    /// search in order compares again and again.
    pub fn references(&self) -> References<'_> {
        let mut references = References::default();
        for ((id, attribute), instead) in self.rewrites() {
            let attributes: &mut Vec<_> = references.entry(id).or_default();
            attributes.push((attribute, instead));
        }
        references
    }

    /// Each reference to a resource elsewhere, with the reference to its
    /// parameter that replaces it.
    fn rewrites(&self) -> impl Iterator<Item = (TargetRef<'_>, Json)> {
        self.parameters
            .iter()
            .map(|(t, name)| ((t.0.as_str(), t.1.as_deref()), json!({"Ref": name})))
    }

    /// What `object` is written as: the parameter in `references` for a
    /// reference to a resource elsewhere, else `None` (itself).
    pub fn instead<'r>(references: &'r References<'_>, object: &Map) -> Option<&'r Json> {
        let (id, attribute) = single_ref(only_entry(object))?;
        let attributes = references.get(id)?;
        attributes
            .iter()
            .find(|(a, _)| *a == attribute)
            .map(|(_, instead)| instead)
    }

    /// The template with its references rewritten in its tree, for a writer
    /// that takes no [`Nested::instead`] (YAML).
    pub fn rewritten(&self) -> Map {
        let references: BTreeMap<TargetRef, Json> = self.rewrites().collect();
        let mut template = self.template.clone();
        template.values_mut().for_each(|v| replace(v, &references));
        template
    }
}

/// A value or a template, measured without wrapping the template in a value.
enum PrettyValue<'a> {
    #[cfg(test)]
    Json(&'a Json),
    Object(&'a Map),
}

/// The length of `value` as `emit::json::write_pretty` writes it, and its
/// number of lines, computed from the tree: running the serializer into a
/// counting writer cost a tenth of a large split.
fn pretty_len(value: PrettyValue) -> (usize, usize) {
    let mut measure = Measure {
        len: 0,
        newlines: 0,
        last: &mut LastMeasured::default(),
        refs: None,
    };
    match value {
        #[cfg(test)]
        PrettyValue::Json(v) => measure.walk(v, 0),
        PrettyValue::Object(m) => measure.object(m, 0),
    }
    (measure.len, measure.newlines + 1)
}

/// The length and line breaks of the shared value measured last, and at
/// what depth: the same tags go on most resources (see `json::LastShared`).
#[derive(Default)]
struct LastMeasured {
    measured: Option<(std::sync::Arc<Json>, usize)>,
    len: usize,
    newlines: usize,
}

/// A walk over a value as `emit::json::write_pretty` writes it: its length
/// and line breaks, and, when `refs` is given, the references in it (see
/// [`collect_refs`]). The split needs both of every resource, and one walk
/// over its tree costs less than two.
struct Measure<'a, 'w> {
    len: usize,
    newlines: usize,
    last: &'w mut LastMeasured,
    /// A shared value measured again from `last` is not walked again: its
    /// references went into this same list when it was measured. Gathered
    /// as found, in a list sorted once after (duplicates kept until then):
    /// inserted into a set one by one, they cost a fifth of the walk.
    refs: Option<&'w mut Vec<TargetRef<'a>>>,
}

impl<'a> Measure<'a, '_> {
    fn walk(&mut self, v: &'a Json, depth: usize) {
        let inner = 2 * (depth + 1);
        match v {
            Json::Null => self.len += 4,
            Json::Bool(b) => self.len += if *b { 4 } else { 5 },
            // Integers (ports, counts, sizes) are counted, not formatted.
            Json::Number(n) => {
                let digits = |u: u64| u.checked_ilog10().map_or(1, |d| d as usize + 1);
                self.len += match (n.as_u64(), n.as_i64()) {
                    (Some(u), _) => digits(u),
                    (None, Some(i)) => 1 + digits(i.unsigned_abs()),
                    _ => n.to_string().len(),
                }
            }
            Json::String(s) => self.len += string_len(s),
            Json::Array(a) if a.is_empty() => self.len += 2,
            Json::Array(a) => {
                // `[`, then per element a line break, the indent and a comma
                // (but the last), then a line break, the indent and `]`.
                self.len += 2 + a.len() * (1 + inner) + (a.len() - 1) + 1 + 2 * depth;
                self.newlines += a.len() + 1;
                a.iter().for_each(|x| self.walk(x, depth + 1));
            }
            Json::Object(m) => self.object(m, depth),
            Json::Shared(value) => match &self.last.measured {
                Some((held, at)) if *at == depth && std::sync::Arc::ptr_eq(held, value) => {
                    self.len += self.last.len;
                    self.newlines += self.last.newlines;
                }
                _ => {
                    let (len, newlines) = (self.len, self.newlines);
                    self.walk(value, depth);
                    *self.last = LastMeasured {
                        measured: Some((std::sync::Arc::clone(value), depth)),
                        len: self.len - len,
                        newlines: self.newlines - newlines,
                    };
                }
            },
        }
    }

    fn object(&mut self, m: &'a Map, depth: usize) {
        if m.is_empty() {
            self.len += 2;
            return;
        }
        // What is inside a reference is its target's name: walked on only
        // to be measured. `Fn::Sub`'s text holds none either.
        if let Some(refs) = &mut self.refs
            && let Some(target) = single_ref(only_entry(m))
        {
            refs.push(target);
        }
        let inner = 2 * (depth + 1);
        // As an array, with `"key": ` before each value.
        self.len += 2 + m.len() * (1 + inner + 2) + (m.len() - 1) + 1 + 2 * depth;
        self.newlines += m.len() + 1;
        for (k, x) in m.entries() {
            self.len += key_len(k);
            self.walk(x, depth + 1);
        }
    }
}

/// The bytes `resources` take in a template: each sits two levels deep
/// (`Resources`, its id), so every line is indented by four more spaces.
#[cfg(test)]
fn size<'a>(resources: impl Iterator<Item = (&'a str, &'a Json)>) -> usize {
    size_and_refs(resources, None)
}

/// [`size`], and the references in `resources` added to `refs` if given.
fn size_and_refs<'a>(
    resources: impl Iterator<Item = (&'a str, &'a Json)>,
    mut refs: Option<&mut Vec<TargetRef<'a>>>,
) -> usize {
    let mut last = LastMeasured::default();
    resources
        .map(|(id, r)| {
            let mut measure = Measure {
                len: 0,
                newlines: 0,
                last: &mut last,
                refs: refs.as_deref_mut(),
            };
            measure.walk(r, 0);
            measure.len + 4 * (measure.newlines + 1) + id.len() + 16
        })
        .sum()
}

/// Whether a template must be split.
pub fn needed(template: &Map) -> bool {
    let count = |k: &str| {
        template
            .get(k)
            .and_then(Json::as_object)
            .map_or(0, Map::len)
    };
    count("Resources") > MAX_RESOURCES
        || count("Parameters") > MAX_PARAMETERS
        || count("Outputs") > MAX_OUTPUTS
        || pretty_len(PrettyValue::Object(template)).0 > MAX_BODY
}

/// Splits `template`, its resources given apart: the `i`th resource (in id
/// order) goes with unit `unit_of[i]`, and one of no unit stays in the root.
/// The `units` (numbered in start order) are packed into nested stacks,
/// written as `<folder>/<file_prefix>-NN.<extension>` next to the root
/// template. Each stack's `TemplateURL` is that relative path: `aws
/// cloudformation package` uploads the file it names and rewrites the
/// property to the uploaded object's URL (AWS CLI reference, `package`:
/// "TemplateURL property for the AWS::CloudFormation::Stack resource").
pub fn split(
    template: Map,
    resources: Vec<(String, Json)>,
    unit_of: &[Option<usize>],
    units: usize,
    folder: &str,
    file_prefix: &str,
    extension: &str,
) -> Split {
    let mut template = template;
    let parameters = match template.remove("Parameters") {
        Some(Json::Object(m)) => m,
        _ => Map::new(),
    };
    let outputs = match template.remove("Outputs") {
        Some(Json::Object(m)) => m,
        _ => Map::new(),
    };
    // Resources by position, ids apart from bodies: each body is moved into
    // its stack by position, with no lookup, while the ids are still read.
    let (ids, mut bodies): (Vec<String>, Vec<Option<Json>>) =
        resources.into_iter().map(|(id, r)| (id, Some(r))).unzip();
    let position: crate::IdMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    // A resource's unit, if it has one.
    let owner = |id: &str| position.get(id).and_then(|&i| unit_of[i]);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); units];
    for (i, unit) in unit_of.iter().enumerate() {
        if let Some(u) = unit {
            members[*u].push(i);
        }
    }

    // Pack units into stacks. What a unit must export (its resources' values
    // that other units, the shared resources or the template's outputs use)
    // is counted first: a stack's outputs are bounded as its parameters are.
    // Each stack's resources, and what it takes from elsewhere with the
    // unit (if any) of each target.
    type Stacks = (
        Vec<Vec<usize>>,
        Vec<Vec<(Target, Option<usize>)>>,
        Vec<usize>,
    );
    let (stacks, stack_refs, stack_of_unit): Stacks = {
        // What each unit refers to, with each target's unit, and how large
        // it is: read-only walks over every resource, a third of the split,
        // on two cores.
        let (unit_refs, unit_sizes): (Vec<Vec<UnitRef>>, Vec<usize>) =
            crate::parallel::on_two_cores(&members, |members| {
                let mut refs = Vec::new();
                let size = size_and_refs(
                    members
                        .iter()
                        .filter_map(|&m| bodies[m].as_ref().map(|r| (ids[m].as_str(), r))),
                    Some(&mut refs),
                );
                refs.sort_unstable();
                refs.dedup();
                let refs = refs.into_iter().map(|t| (t, owner(t.0))).collect();
                (refs, size)
            })
            .into_iter()
            .unzip();
        let mut exported: Vec<BTreeSet<TargetRef>> = vec![BTreeSet::new(); units];
        let mut outputs_of = vec![0usize; units];
        for (u, refs) in unit_refs.iter().enumerate() {
            for (target, of) in refs {
                if let Some(o) = *of
                    && o != u
                {
                    exported[o].insert(*target);
                }
            }
        }
        let mut from_root = BTreeSet::new();
        for (r, unit) in bodies.iter().zip(unit_of) {
            if let (Some(r), None) = (r, unit) {
                collect_refs(r, &mut from_root);
            }
        }
        for target in &from_root {
            if let Some(o) = owner(target.0) {
                exported[o].insert(*target);
            }
        }
        for output in outputs.values() {
            let mut refs = BTreeSet::new();
            collect_refs(output, &mut refs);
            if let Some(o) = refs.iter().find_map(|t| owner(t.0)) {
                outputs_of[o] += 1;
            }
        }

        let mut stacks: Vec<Vec<usize>> = Vec::new();
        let mut stack_units: Vec<Vec<usize>> = Vec::new();
        let mut current: Vec<usize> = Vec::new();
        let mut current_units: Vec<usize> = Vec::new();
        // What the stack takes from elsewhere: its parameters.
        let mut current_refs: BTreeSet<TargetRef> = BTreeSet::new();
        let mut current_size = 0;
        let mut current_outputs = 0;
        for u in 0..units {
            // References to the unit's own resources and to pseudo parameters
            // never become parameters.
            let external =
                |(t, of): &&(TargetRef, Option<usize>)| *of != Some(u) && !t.0.starts_with("AWS::");
            // A stack is a run of units: a target is in it if its unit is
            // one of the run's before this one.
            let earlier_in_stack =
                |of: Option<usize>, first: usize| of.is_some_and(|o| (first..u).contains(&o));
            let first = current_units.first().copied().unwrap_or(u);
            let unit_size = unit_sizes[u];
            let unit_outputs = exported[u].len() + outputs_of[u];
            // The size of the union, counted rather than built: cloning the
            // stack's references for every unit made packing quadratic in a stack.
            let merged = current_refs.len()
                + unit_refs[u]
                    .iter()
                    .filter(external)
                    .filter(|(t, of)| !earlier_in_stack(*of, first) && !current_refs.contains(t))
                    .count();
            if !current.is_empty()
                && (current.len() + members[u].len() > MAX_RESOURCES
                    || merged > MAX_PARAMETERS
                    || current_outputs + unit_outputs > MAX_OUTPUTS
                    || current_size + unit_size > MAX_BODY)
            {
                stacks.push(std::mem::take(&mut current));
                stack_units.push(std::mem::take(&mut current_units));
                current_refs.clear();
                current_size = 0;
                current_outputs = 0;
            }
            let first = current_units.first().copied().unwrap_or(u);
            current_refs.extend(
                unit_refs[u]
                    .iter()
                    .filter(external)
                    .filter(|(_, of)| !earlier_in_stack(*of, first))
                    .map(|(t, _)| *t),
            );
            current_size += unit_size;
            current_outputs += unit_outputs;
            current.extend_from_slice(&members[u]);
            current_units.push(u);
        }
        if !current.is_empty() {
            stacks.push(current);
            stack_units.push(current_units);
        }
        // The units' references, gathered above, rather than a second walk
        // over every resource.
        let mut stack_of_unit = vec![0; units];
        for (i, units) in stack_units.iter().enumerate() {
            units.iter().for_each(|&u| stack_of_unit[u] = i);
        }
        // What each stack takes from elsewhere (not its own resources, not
        // pseudo parameters), copied out of the tree: on two cores, the other
        // idle while this one packed.
        let stacks_in_order: Vec<usize> = (0..stack_units.len()).collect();
        let stack_refs = crate::parallel::on_two_cores(&stacks_in_order, |&i| {
            let refs: BTreeSet<UnitRef> = stack_units[i]
                .iter()
                .flat_map(|&u| unit_refs[u].iter().copied())
                .filter(|(t, of)| {
                    of.map(|u| stack_of_unit[u]) != Some(i) && !t.0.starts_with("AWS::")
                })
                .collect();
            refs.into_iter().map(|(t, of)| (owned(t), of)).collect()
        });
        (stacks, stack_refs, stack_of_unit)
    };

    let stack_id = |i: usize| format!("Stack{:02}", i + 1);
    // Each resource's stack: its unit's.
    let stack_of = |id: &str| owner(id).map(|u| stack_of_unit[u]);
    let mut child_outputs: Vec<Map> = vec![Map::new(); stacks.len()];
    let mut child_params: Vec<Map> = vec![Map::new(); stacks.len()];
    let mut stack_params: Vec<Map> = vec![Map::new(); stacks.len()];
    let mut externals: Vec<BTreeMap<Target, String>> = Vec::with_capacity(stacks.len());
    // What each stack takes from elsewhere (its parameters) and gives (its
    // outputs), from the references found while measuring: no resource is
    // read here.
    for i in 0..stacks.len() {
        let mut external: BTreeMap<Target, String> = BTreeMap::new();
        for (target, of) in &stack_refs[i] {
            let elsewhere = of.map(|u| stack_of_unit[u]);
            let name = param_name(target);
            let (definition, value) = if let Some(p) = parameters.get(&target.0) {
                (p.clone(), pass_parameter(&target.0, p))
            } else if let Some(o) = elsewhere {
                let out_name = name.clone();
                let expr = match &target.1 {
                    None => json!({"Ref": &target.0}),
                    Some(a) => json!({"Fn::GetAtt": [&target.0, a]}),
                };
                child_outputs[o].insert(out_name.clone(), json!({"Value": expr}));
                (
                    json!({"Type": "String"}),
                    json!({"Fn::GetAtt": [stack_id(o), format!("Outputs.{out_name}")]}),
                )
            } else {
                let expr = match &target.1 {
                    None => json!({"Ref": &target.0}),
                    Some(a) => json!({"Fn::GetAtt": [&target.0, a]}),
                };
                (json!({"Type": "String"}), expr)
            };
            child_params[i].insert(name.clone(), definition);
            stack_params[i].insert(name.clone(), value);
            external.insert(target.clone(), name);
        }
        externals.push(external);
    }
    // Each stack's resources, taken out of the list by position, then (on
    // two cores, a stack at a time: at N = 10,000 this was half of the
    // split after measuring, on one core) sorted, and their ordering on
    // other stacks' resources taken out. References to resources outside
    // the stack become `Ref`s to its parameters as the stack is written
    // (`externals`, kept with it).
    let taken: Vec<(usize, Vec<(usize, Json)>)> = stacks
        .iter()
        .enumerate()
        .map(|(i, members)| {
            let bodies = members
                .iter()
                .filter_map(|&m| bodies[m].take().map(|r| (m, r)))
                .collect();
            (i, bodies)
        })
        .collect();
    let assembled = crate::parallel::on_two_cores_taking(taken, |(i, members)| {
        // Gathered in start order, sorted once, by position: positions are
        // in id order, and compare without reading the ids.
        let mut members = members;
        members.sort_unstable_by_key(|(m, _)| *m);
        let mut res = Map::from_sorted(members.into_iter().map(|(m, r)| (ids[m].clone(), r)));
        let mut depends = BTreeSet::new();
        for r in res.values_mut() {
            // Ordering on resources in other stacks becomes ordering between
            // stacks; taken out to be partitioned, not copied.
            let Some(obj) = r.as_object_mut() else {
                continue;
            };
            if !matches!(obj.get("DependsOn"), Some(Json::Array(_))) {
                continue;
            }
            let Some(Json::Array(deps)) = obj.remove("DependsOn") else {
                continue;
            };
            let (inside, outside): (Vec<Json>, Vec<Json>) = deps
                .into_iter()
                .partition(|d| d.as_str().is_some_and(|d| stack_of(d) == Some(i)));
            for d in outside.iter().filter_map(Json::as_str) {
                match stack_of(d) {
                    Some(o) if o != i => {
                        depends.insert(stack_id(o));
                    }
                    Some(_) => {}
                    None => {
                        depends.insert(d.to_string());
                    }
                }
            }
            if !inside.is_empty() {
                obj.insert(String::from("DependsOn"), Json::Array(inside));
            }
        }
        (res, depends)
    });
    let mut child_resources = Vec::with_capacity(stacks.len());
    let mut stack_depends = Vec::with_capacity(stacks.len());
    for ((res, depends), external) in assembled.into_iter().zip(externals) {
        child_resources.push((res, external));
        stack_depends.push(depends);
    }

    // Outputs go with the resources they name.
    let mut root_outputs = Map::new();
    for (name, output) in outputs {
        let mut refs = BTreeSet::new();
        collect_refs(&output, &mut refs);
        match refs.iter().find_map(|t| stack_of(t.0)) {
            Some(o) => {
                child_outputs[o].insert(name, output);
            }
            None => {
                root_outputs.insert(name, output);
            }
        }
    }

    // Root resources that use a nested stack's resources read its outputs.
    let mut root_resources: BTreeMap<String, Json> = ids
        .iter()
        .zip(bodies)
        .filter_map(|(id, r)| r.map(|r| (id.clone(), r)))
        .collect();
    for r in root_resources.values_mut() {
        let mut refs = BTreeSet::new();
        collect_refs(r, &mut refs);
        let refs: Vec<Target> = refs.into_iter().map(owned).collect();
        let mut external: BTreeMap<TargetRef, Json> = BTreeMap::new();
        for target in &refs {
            if let Some(o) = stack_of(&target.0) {
                let name = param_name(target);
                let expr = match &target.1 {
                    None => json!({"Ref": &target.0}),
                    Some(a) => json!({"Fn::GetAtt": [&target.0, a]}),
                };
                child_outputs[o].insert(name.clone(), json!({"Value": expr}));
                external.insert(
                    (target.0.as_str(), target.1.as_deref()),
                    json!({"Fn::GetAtt": [stack_id(o), format!("Outputs.{name}")]}),
                );
            }
        }
        replace(r, &external);
        if let Some(Json::Array(deps)) = r.get("DependsOn").cloned() {
            let mapped: BTreeSet<String> = deps
                .iter()
                .filter_map(Json::as_str)
                .map(|d| stack_of(d).map(stack_id).unwrap_or_else(|| d.to_string()))
                .collect();
            if let Some(obj) = r.as_object_mut() {
                obj.insert(
                    String::from("DependsOn"),
                    json!(mapped.into_iter().collect::<Vec<_>>()),
                );
            }
        }
    }
    let mut nested = Vec::new();
    for (i, (res, parameters)) in child_resources.into_iter().enumerate() {
        let file = format!("{file_prefix}-{:02}.{extension}", i + 1);
        let mut t = Map::new();
        t.insert(
            String::from("AWSTemplateFormatVersion"),
            json!("2010-09-09"),
        );
        if let Some(d) = template.get("Description").and_then(Json::as_str) {
            t.insert(
                String::from("Description"),
                json!(format!("{d} (nested stack {} of {})", i + 1, stacks.len())),
            );
        }
        if !child_params[i].is_empty() {
            t.insert(
                String::from("Parameters"),
                Json::Object(std::mem::take(&mut child_params[i])),
            );
        }
        t.insert(String::from("Resources"), Json::Object(res));
        if !child_outputs[i].is_empty() {
            t.insert(
                String::from("Outputs"),
                Json::Object(std::mem::take(&mut child_outputs[i])),
            );
        }
        let mut stack = json!({
            "Type": "AWS::CloudFormation::Stack",
            "Properties": {
                "TemplateURL": format!("{folder}/{file}"),
                "Parameters": Json::Object(std::mem::take(&mut stack_params[i])),
            },
        });
        // `Fn::GetAtt` on another stack's outputs already orders the stacks.
        let implied: BTreeSet<String> = {
            let mut refs = BTreeSet::new();
            collect_refs(&stack, &mut refs);
            refs.into_iter().map(|t| t.0.to_string()).collect()
        };
        let depends: Vec<String> = stack_depends[i]
            .iter()
            .filter(|d| !implied.contains(*d))
            .cloned()
            .collect();
        if !depends.is_empty() {
            stack["DependsOn"] = json!(depends);
        }
        if stack["Properties"]["Parameters"]
            .as_object()
            .is_some_and(Map::is_empty)
            && let Some(p) = stack["Properties"].as_object_mut()
        {
            p.remove("Parameters");
        }
        root_resources.insert(stack_id(i), stack);
        nested.push(Nested {
            file,
            template: t,
            parameters,
        });
    }
    let mut root = template;
    // cfn-lint W3002 says a local TemplateURL needs `package`: it does, by
    // design (docs/deploy.md). Said once for the template, not per stack,
    // since the root's size is bounded too.
    if let Some(Json::Object(metadata)) = root.get_mut("Metadata") {
        metadata.insert(
            String::from("cfn-lint"),
            json!({"config": {"ignore_checks": ["W3002"]}}),
        );
    } else {
        root.insert(
            String::from("Metadata"),
            json!({"cfn-lint": {"config": {"ignore_checks": ["W3002"]}}}),
        );
    }
    let mut root_parameters = parameters;
    // The root keeps only parameters it (or a nested stack it feeds) uses.
    let mut used = BTreeSet::new();
    for r in root_resources.values() {
        collect_refs(r, &mut used);
    }
    for o in root_outputs.values() {
        collect_refs(o, &mut used);
    }
    let used: BTreeSet<&str> = used.iter().map(|t| t.0).collect();
    root_parameters.retain(|k, _| used.contains(k));
    if !root_parameters.is_empty() {
        root.insert(String::from("Parameters"), Json::Object(root_parameters));
    }
    root.insert(
        String::from("Resources"),
        Json::Object(Map::from_sorted(root_resources)),
    );
    if !root_outputs.is_empty() {
        root.insert(String::from("Outputs"), Json::Object(root_outputs));
    }
    Split { root, nested }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`split`] of `resources`, gathered in id order as the template does,
    /// into nested files `cf/nested-NN.json`.
    fn split_into_nested(
        resources: BTreeMap<String, Json>,
        unit_of: &[Option<usize>],
        units: usize,
    ) -> Split {
        split(
            Map::new(),
            resources.into_iter().collect(),
            unit_of,
            units,
            "cf",
            "nested",
            "json",
        )
    }

    /// Ordering on a resource in another stack becomes ordering between the
    /// stacks (on the root's stack resource), ordering on one of the same
    /// stack stays on the resource, and ordering on a resource the root
    /// keeps goes to the stack resource as it is.
    #[test]
    fn ordering_across_stacks_becomes_ordering_of_stacks() {
        let mut resources: BTreeMap<String, Json> = (0..MAX_RESOURCES)
            .map(|i| (format!("A{i:04}"), json!({"Type": "AWS::Logs::LogGroup"})))
            .collect();
        resources.insert(
            String::from("BFirst"),
            json!({"Type": "AWS::Logs::LogGroup"}),
        );
        resources.insert(
            String::from("BWaiter"),
            json!({"Type": "AWS::Logs::LogGroup", "DependsOn": ["A0000", "BFirst", "RootThing"]}),
        );
        resources.insert(
            String::from("RootThing"),
            json!({"Type": "AWS::Logs::LogGroup"}),
        );
        let unit_of: Vec<Option<usize>> = resources
            .keys()
            .map(|id| match id.as_bytes()[0] {
                b'A' => Some(0),
                b'B' => Some(1),
                _ => None,
            })
            .collect();
        let split = split_into_nested(resources, &unit_of, 2);
        assert_eq!(split.nested.len(), 2);
        let resources_of = |t: &Map| t.get("Resources").cloned().unwrap_or_default();
        let second = resources_of(&split.nested[1].template);
        assert_eq!(second["BWaiter"]["DependsOn"], json!(["BFirst"]));
        let first = resources_of(&split.nested[0].template);
        assert!(first["A0000"].get("DependsOn").is_none());
        let stacks = resources_of(&split.root);
        assert_eq!(
            stacks["Stack02"]["DependsOn"],
            json!(["RootThing", "Stack01"])
        );
        assert!(stacks["Stack01"].get("DependsOn").is_none());
    }

    /// A stack's resources are in id order whatever the order of its units
    /// (start order), and each is found by its id.
    #[test]
    fn a_stacks_resources_are_in_id_order_across_its_units() {
        let log = || json!({"Type": "AWS::Logs::LogGroup"});
        let mut resources: BTreeMap<String, Json> = (0..MAX_RESOURCES)
            .map(|i| (format!("R{i:04}"), log()))
            .collect();
        resources.insert(String::from("A0"), log());
        resources.insert(String::from("B0"), log());
        // `B0` starts first (unit 0), `A0` after it (unit 1).
        let unit_of: Vec<Option<usize>> = resources
            .keys()
            .map(|id| match id.as_str() {
                "A0" => Some(1),
                "B0" => Some(0),
                _ => None,
            })
            .collect();
        let split = split_into_nested(resources, &unit_of, 2);
        assert_eq!(split.nested.len(), 1);
        let Some(Json::Object(stack)) = split.nested[0].template.get("Resources") else {
            panic!("a nested stack has resources");
        };
        assert_eq!(stack.keys().collect::<Vec<_>>(), ["A0", "B0"]);
        assert!(stack.get("A0").is_some() && stack.get("B0").is_some());
    }

    /// A target that a unit's resources refer to many times is one parameter
    /// of its stack, and counts once toward the parameter quota: two
    /// resources naming the same 100 root resources fit in one stack with
    /// the unit before them.
    #[test]
    fn a_target_referred_to_again_counts_once_toward_the_parameters() {
        let targets = 100;
        let refs: Vec<Json> = (0..targets)
            .map(|i| json!({"Ref": (format!("R{i:03}"))}))
            .collect();
        let user =
            || json!({"Type": "AWS::Logs::LogGroup", "Properties": {"Refs": (refs.clone())}});
        let mut resources: BTreeMap<String, Json> = (0..targets)
            .map(|i| (format!("R{i:03}"), json!({"Type": "AWS::Logs::LogGroup"})))
            .collect();
        resources.insert(String::from("A0"), json!({"Type": "AWS::Logs::LogGroup"}));
        resources.insert(String::from("B0"), user());
        resources.insert(String::from("B1"), user());
        // Past the resource quota, so the template is split.
        for i in 0..MAX_RESOURCES {
            resources.insert(format!("C{i:04}"), json!({"Type": "AWS::Logs::LogGroup"}));
        }
        let unit_of: Vec<Option<usize>> = resources
            .keys()
            .map(|id| match id.as_bytes()[0] {
                b'A' => Some(0),
                b'B' => Some(1),
                b'C' => Some(2),
                _ => None,
            })
            .collect();
        let split = split_into_nested(resources, &unit_of, 3);
        let Some(Json::Object(first)) = split.nested[0].template.get("Resources") else {
            panic!("a nested stack has resources");
        };
        assert!(first.get("A0").is_some() && first.get("B0").is_some());
        let Some(Json::Object(parameters)) = split.nested[0].template.get("Parameters") else {
            panic!("the first stack takes the root's resources as parameters");
        };
        assert_eq!(parameters.len(), targets);
    }

    /// A shared value is measured as the value it holds, and a reference in
    /// it is replaced in the one place being rewritten, not in the others.
    #[test]
    fn shared_values_are_measured_and_rewritten_as_their_own() {
        let shared = Json::Shared(std::sync::Arc::new(
            json!([{"Key": "k", "Value": {"Ref": "Elsewhere"}}]),
        ));
        let own = shared.shown().clone();
        let resource = |tags: &Json| json!({"Properties": {"Tags": (tags.clone())}});
        let mut text = String::new();
        crate::emit::json::write_pretty(&mut text, &resource(&own));
        assert_eq!(
            pretty_len(PrettyValue::Json(&resource(&shared))),
            (text.len(), text.lines().count())
        );
        let mut refs = BTreeSet::new();
        let held = resource(&shared);
        collect_refs(&held, &mut refs);
        assert_eq!(refs.into_iter().collect::<Vec<_>>(), [("Elsewhere", None)]);
        let mut rewritten = resource(&shared);
        let untouched = resource(&shared);
        let external = BTreeMap::from([(("Elsewhere", None), json!({"Ref": "ElsewhereRef"}))]);
        replace(&mut rewritten, &external);
        assert_eq!(
            rewritten,
            json!({"Properties": {"Tags": [{"Key": "k", "Value": {"Ref": "ElsewhereRef"}}]}})
        );
        assert_eq!(untouched, resource(&own));
        let mut unrelated = resource(&shared);
        replace(
            &mut unrelated,
            &BTreeMap::from([(("Other", None), json!(1))]),
        );
        assert!(matches!(&unrelated["Properties"]["Tags"], Json::Shared(_)));
    }

    /// A nested template written with its references rewritten as it is
    /// written is its tree rewritten and then written: a reference in a
    /// shared value (the same tags on every resource) included, a value put
    /// in a reference's place not rewritten again, and a reference to a
    /// resource of the stack left as it is.
    #[test]
    fn references_rewritten_as_written_are_the_rewritten_tree() {
        let tags = Json::Shared(std::sync::Arc::new(
            json!([{"Key": "k", "Value": {"Ref": "Elsewhere"}}]),
        ));
        let resource = |n: i64| {
            json!({"Type": "T", "Properties": {"Tags": (tags.clone()), "N": n,
                "A": {"Fn::GetAtt": ["Elsewhere", "Arn"]}, "Here": {"Ref": "Here"},
                "Sub": {"Fn::Sub": ["${X}", {"X": {"Ref": "Elsewhere"}}]},
                "List": [{"Ref": "ElsewhereRef"}, {"Ref": "Elsewhere", "Extra": 1}]}})
        };
        let mut template = Map::new();
        template.insert(
            "Resources",
            json!({"Here": (resource(1)), "There": (resource(2))}),
        );
        let nested = Nested {
            file: String::from("nested-01.json"),
            template,
            parameters: BTreeMap::from([
                (
                    (String::from("Elsewhere"), None),
                    String::from("ElsewhereRef"),
                ),
                (
                    (String::from("Elsewhere"), Some(String::from("Arn"))),
                    String::from("ElsewhereArn"),
                ),
                // Its parameter is itself a reference to rewrite: it is not.
                ((String::from("ElsewhereRef"), None), String::from("Twice")),
            ]),
        };
        let references = nested.references();
        let mut as_written = String::new();
        crate::emit::json::write_pretty_object_instead(&mut as_written, &nested.template, &|m| {
            Nested::instead(&references, m)
        });
        let mut rewritten = String::new();
        crate::emit::json::write_pretty_object(&mut rewritten, &nested.rewritten());
        assert_eq!(as_written, rewritten);
        assert!(as_written.contains("\"Ref\": \"ElsewhereArn\""));
        assert!(as_written.contains("\"Ref\": \"Twice\""));
        assert!(as_written.contains("\"Ref\": \"Here\""));
        // Only in the object of two entries, which is no reference: once a resource.
        assert_eq!(as_written.matches("\"Ref\": \"Elsewhere\"").count(), 2);
    }

    /// The computed length is the writer's, byte for byte: stacks are
    /// packed by it, so a difference would move resources between stacks.
    /// One shared value in many places, at one depth and at others, and two
    /// shared values in turn: written and measured as the values they hold.
    #[test]
    fn a_shared_value_written_again_is_written_the_same() {
        let tags = Json::Shared(std::sync::Arc::new(
            json!([{"Key": "a", "Value": "x"}, {"Key": "b", "Value": {"Ref": "R"}}]),
        ));
        let other = Json::Shared(std::sync::Arc::new(json!({"K": [1, 2]})));
        let resource = |tags: &Json, other: &Json| {
            json!({"Properties": {"Tags": (tags.clone()), "Other": (other.clone()),
                "Deeper": {"Tags": (tags.clone())}}, "Tags": (tags.clone())})
        };
        let shared: Vec<Json> = (0..4).map(|_| resource(&tags, &other)).collect();
        let own: Vec<Json> = (0..4)
            .map(|_| resource(tags.shown(), other.shown()))
            .collect();
        let (mut held, mut plain) = (String::new(), String::new());
        crate::emit::json::write_pretty(&mut held, &json!(shared.clone()));
        crate::emit::json::write_pretty(&mut plain, &json!(own.clone()));
        assert_eq!(held, plain);
        let resources: BTreeMap<String, Json> = shared
            .into_iter()
            .enumerate()
            .map(|(i, r)| (format!("R{i}"), r))
            .collect();
        let ids: Vec<String> = resources.keys().cloned().collect();
        let expected: usize = own
            .iter()
            .zip(&ids)
            .map(|(r, id)| {
                let mut text = String::new();
                crate::emit::json::write_pretty(&mut text, r);
                text.len() + 4 * text.lines().count() + id.len() + 16
            })
            .sum();
        assert_eq!(
            size(resources.iter().map(|(id, r)| (id.as_str(), r))),
            expected
        );
    }

    #[test]
    fn pretty_len_is_the_writers() {
        let values = [
            json!(null),
            json!([]),
            json!({}),
            json!({"a": [], "b": {}, "c": [[], {}], "d": [{"e": null}]}),
            json!({"Type": "AWS::ECS::Service", "Properties": {"DesiredCount": 2,
                "Ratio": -1.5e-7, "Big": 18446744073709551615u64, "Neg": -42,
                "Zero": 0, "Nine": 9, "Ten": 10, "Min": i64::MIN, "MinusOne": -1,
                "On": true, "Off": false,
                "Text": "quote \" backslash \\ tab \t cr \r nl \n bell \u{7} del \u{7f} \u{8}\u{c} ünïcødé ✓ \u{1f600}",
                "List": ["x", {"Ref": "Y"}, [1, [2, [3]]]]}}),
        ];
        for v in &values {
            let mut text = String::new();
            crate::emit::json::write_pretty(&mut text, v);
            let lines = text.lines().count();
            assert_eq!(
                pretty_len(PrettyValue::Json(v)),
                (text.len(), lines),
                "{text}"
            );
            if let Json::Object(m) = v {
                assert_eq!(pretty_len(PrettyValue::Object(m)).0, text.len());
            }
        }
    }
}
