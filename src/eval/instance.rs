//! Component instances: creating them from kinds, service and included
//! landscapes, attaching the settings of their bodies and of environment
//! overrides, and evaluating their settings lazily (a setting may read another
//! component's setting) with cycle detection.

use super::scope::{ScopeId, ScopeMember};
use super::{Evaluator, duplicate_setting, misplaced};
use crate::check::schema::SERVICE;
use crate::check::{Field, Type};
use crate::diag::{Diagnostic, Diagnostics, ErrorCode, did_you_mean, one_of};
use crate::model::{self, Value, by_name, same_name};
use crate::resolve::DefId;
use crate::source::Span;
use crate::syntax::ast::{self, DefKind, Ident, Member};
use std::collections::BTreeMap;

/// Where a setting's expression comes from: the expression and the scope it is
/// evaluated in.
#[derive(Clone, Copy, Debug)]
pub struct Source<'p> {
    pub expr: &'p ast::Expr,
    pub scope: ScopeId,
}

#[derive(Clone, Debug)]
pub enum FieldState {
    InProgress,
    Done(Option<Value>),
}

/// Where each setting of an instance stands, by name. An instance has a
/// few dozen settings at most: a list searched in order (most names differ
/// in length, which is compared first) costs less than a tree's nodes,
/// allocated for every instance.
#[derive(Debug, Default)]
pub struct FieldStates<'p>(Vec<(&'p str, FieldState)>);

impl<'p> FieldStates<'p> {
    /// Room for every built-in setting at once: grown from nothing, the list
    /// was copied four times for every instance.
    fn with_capacity(settings: usize) -> Self {
        FieldStates(Vec::with_capacity(settings))
    }

    /// Whether `name` was evaluated (to a value or to nothing).
    pub fn done(&self, name: &str) -> bool {
        matches!(self.get(name), Some(FieldState::Done(_)))
    }

    pub fn get(&self, name: &str) -> Option<&FieldState> {
        by_name(&self.0, name)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The value of `name`, if it was evaluated to one.
    pub fn value(&self, name: &str) -> Option<&Value> {
        match self.get(name) {
            Some(FieldState::Done(v)) => v.as_ref(),
            _ => None,
        }
    }

    /// The value of `name` moved out, once nothing reads it again.
    fn take(&mut self, name: &str) -> Option<Value> {
        match self.0.iter_mut().find(|(k, _)| same_name(k, name)) {
            Some((_, FieldState::Done(v))) => v.take(),
            _ => None,
        }
    }

    /// Adds `name`, which has no state yet, in `state`; gives where it is,
    /// for [`FieldStates::set`]. Entries are never removed, so it stays there.
    fn push(&mut self, name: &'p str, state: FieldState) -> usize {
        self.0.push((name, state));
        self.0.len() - 1
    }

    /// Sets the state of the entry [`FieldStates::push`] put `at`: no
    /// search of the list a second time.
    fn set(&mut self, at: usize, state: FieldState) {
        if let Some((_, s)) = self.0.get_mut(at) {
            *s = state;
        }
    }
}

/// Where each setting of an instance gets its value, by name, in the order
/// of the names: a handful per instance, each looked up many times while it
/// is evaluated, in a list read in order rather than a tree allocated for
/// every instance (see [`same_name`]).
#[derive(Debug, Default)]
pub struct Sources<'p>(Vec<(&'p str, Source<'p>)>);

impl<'p> Sources<'p> {
    pub fn get(&self, name: &str) -> Option<&Source<'p>> {
        by_name(&self.0, name)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets where `name` gets its value, in place of where it got it.
    pub fn insert(&mut self, name: &'p str, source: Source<'p>) {
        match self.0.binary_search_by(|(k, _)| (*k).cmp(name)) {
            Ok(at) => self.0[at].1 = source,
            Err(at) => self.0.insert(at, (name, source)),
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn keys(&self) -> impl Iterator<Item = &&'p str> {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&&'p str, &Source<'p>)> {
        self.0.iter().map(|(k, s)| (k, s))
    }
}

/// An instance's component before [`Evaluator::fill`]: its settings and
/// parameters (the names with a value) are still in the instance's state.
pub(super) struct Completed<'p> {
    component: model::Component,
    instance: usize,
    params: Vec<&'p str>,
    settings: Vec<&'p str>,
}

#[derive(Debug)]
pub struct Instance<'p> {
    pub name: String,
    pub kind_chain: Vec<String>,
    pub docs: Vec<String>,
    pub span: Span,
    pub name_span: Span,
    /// The scope kind bodies and parameter defaults are evaluated in.
    pub self_scope: ScopeId,
    pub params: BTreeMap<&'p str, (&'p ast::Param, Option<&'static Type>)>,
    pub sources: Sources<'p>,
    /// Overrides of parts of a setting (`auth.env.MODE = "x"`): path from the setting down.
    pub nested: Vec<(&'p [Ident], Source<'p>)>,
    pub state: FieldStates<'p>,
    pub references: Vec<model::Reference>,
    /// Settings an ephemeral environment sized down, with the declared value.
    pub sized_down: BTreeMap<String, Value>,
}

impl Instance<'_> {
    /// The type of setting `name`, if the instance has such a setting.
    /// `Some(None)` is a parameter whose declared type was invalid.
    pub fn field_type(&self, name: &str) -> Option<Option<&'static Type>> {
        if let Some((_, ty)) = self.params.get(name) {
            return Some(*ty);
        }
        SERVICE.field(name).map(|f| Some(&f.ty))
    }

    pub fn setting_names(&self) -> Vec<&str> {
        self.params
            .keys()
            .copied()
            .chain(SERVICE.names().map(|n| -> &str { n }))
            .collect()
    }
}

/// Component names must work as compose service names, DNS labels and parts of
/// CloudFormation names.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Built-in settings a kind may declare as its own parameter: the database
/// kinds' `user` is the application's database user, not the container's;
/// their components cannot set the container's user.
const SHADOWABLE: &[&str] = &["user"];

/// Compose keys a newcomer writes, and what bomc calls them: the native
/// setting, or `None` when only the `compose { }` escape hatch carries it.
const COMPOSE_KEYS: &[(&str, Option<&str>)] = &[
    ("environment", Some("env { KEY = value }")),
    (
        "healthcheck",
        Some("health { command = [...] } (or path = \"/health\")"),
    ),
    ("restart_policy", Some("restart = \"on-failure\"")),
    ("working_directory", Some("working_dir = \"/app\"")),
    ("workdir", Some("working_dir = \"/app\"")),
    ("expose", Some("ports { http = 8080 }")),
    ("links", Some("uses = [db]")),
    ("external_links", Some("uses = [db]")),
    ("cap_add", Some("capabilities { add = [...] }")),
    ("cap_drop", Some("capabilities { drop = [...] }")),
    ("mem_limit", Some("memory = 1GiB")),
    ("memory_limit", Some("memory = 1GiB")),
    ("cpus", Some("cpu = 0.5")),
    ("cpu_count", Some("cpu = 0.5")),
    ("mem_reservation", Some("reserve { memory = 256MiB }")),
    ("tmpfs", Some("mounts { \"/path\" { tmpfs = true } }")),
    ("deploy", Some("replicas = 2, cpu = 0.5, memory = 1GiB")),
    ("scale", Some("replicas = 2")),
    ("container_name", None),
    ("hostname", None),
    ("domainname", None),
    ("networks", None),
    ("network_mode", None),
    ("extra_hosts", None),
    ("dns", None),
    ("logging", None),
    ("stop_signal", None),
    ("stop_grace_period", None),
    ("privileged", None),
    ("security_opt", None),
    ("shm_size", None),
    ("devices", None),
    ("ipc", None),
    ("pid", None),
    ("init", None),
    ("tty", None),
    ("stdin_open", None),
    ("platform", None),
    ("pull_policy", None),
];

/// Compose `healthcheck` keys and their names in a bomc `health` block.
const COMPOSE_HEALTH_KEYS: &[(&str, &str)] = &[
    ("test", "command = [\"CMD\", …]"),
    ("retries", "unhealthy = 3"),
    ("start_interval", "interval"),
    ("disable", "command = [\"NONE\"]"),
];

/// E0302's help for a compose `healthcheck` key inside a `health` block.
pub(super) fn compose_health_key(name: &str) -> Option<String> {
    let (_, native) = COMPOSE_HEALTH_KEYS.iter().find(|(k, _)| *k == name)?;
    Some(format!(
        "`{name}` is compose's name; in a bomc `health` block write `{native}`"
    ))
}

/// E0302's help for a compose key: the native setting, or the escape hatch.
fn compose_key(name: &str) -> Option<String> {
    let (_, native) = COMPOSE_KEYS.iter().find(|(k, _)| *k == name)?;
    Some(match native {
        Some(native) => format!("`{name}` is compose's name; in bomc write `{native}`"),
        None => format!(
            "`{name}` has no bomc setting: `compose {{ {name} = … }}` passes it to compose as it is (CloudFormation ignores it)"
        ),
    })
}

/// Whether setting `name` has a [`builtin_default`], without making it.
fn has_builtin_default(name: &str) -> bool {
    matches!(
        name,
        "replicas" | "cpu" | "memory" | "stateful" | "public" | "run" | "managed"
    )
}

fn builtin_default(name: &str) -> Option<Value> {
    Some(match name {
        "replicas" => Value::Int(1),
        "cpu" => Value::Float(0.25),
        "memory" => Value::Size(512 << 20),
        "stateful" | "public" => Value::Bool(false),
        "run" => Value::String(String::from("service")),
        "managed" => Value::String(String::from("none")),
        _ => return None,
    })
}

impl<'p> Evaluator<'p> {
    /// Declares component `c` in `scope`; its body is evaluated in `body_scope`.
    pub(super) fn component(
        &mut self,
        c: &'p ast::Component,
        scope: ScopeId,
        body_scope: ScopeId,
        _prefix: &str,
        diags: &mut Diagnostics,
    ) {
        let name = c.name.node.as_str();
        if !valid_name(name) {
            let fixed: String = name
                .to_ascii_lowercase()
                .chars()
                .map(|ch| {
                    if ch.is_ascii_alphanumeric() || ch == '-' || ch == '_' {
                        ch
                    } else {
                        '-'
                    }
                })
                .collect();
            diags.push(
                Diagnostic::new(ErrorCode::InvalidName, format!("`{name}` is not a valid component name"))
                    .label(c.name.span, "invalid name")
                    .help(format!(
                        "component names start with a lowercase letter and use only `a-z`, `0-9`, `-` and `_` (they become host names); try `{}`",
                        fixed.trim_start_matches(|ch: char| !ch.is_ascii_lowercase())
                    )),
            );
        }
        if let Some((_, first)) = self.scopes[scope.0].members.get(name) {
            diags.push(
                Diagnostic::new(
                    ErrorCode::DuplicateComponent,
                    format!("component `{name}` is declared twice"),
                )
                .label(c.name.span, "declared again here")
                .label(*first, "first declared here")
                .help("component names are unique in a landscape; rename one of them"),
            );
            return;
        }
        let full = format!("{}{}", self.scopes[scope.0].prefix, name);
        let kind = c.kind.node.as_str();
        let module = self.scopes[scope.0].module;
        let member = if kind == "service" {
            let i = self.new_instance(full, vec![String::from("service")], c, None);
            self.attach_body(i, c, body_scope, diags);
            ScopeMember::Component(i)
        } else {
            match self.program.lookup(module, kind) {
                Some(id) if self.program.def(id).kind == DefKind::Kind => {
                    let Some(i) = self.instantiate_kind(id, &full, c.name.span, body_scope, diags)
                    else {
                        return;
                    };
                    let inst = &mut self.instances[i];
                    inst.docs = c.docs.clone();
                    inst.span = c.span;
                    self.attach_body(i, c, body_scope, diags);
                    ScopeMember::Component(i)
                }
                Some(id) if self.program.def(id).kind == DefKind::Landscape => {
                    let Some(s) = self.include(id, c, &full, body_scope, diags) else {
                        self.poison(scope, c);
                        return;
                    };
                    ScopeMember::Include(s)
                }
                Some(id) => {
                    let what = self.program.def(id).kind.keyword();
                    diags.push(
                        Diagnostic::new(ErrorCode::UnknownKind, format!("`{kind}` is an {what}, not a component kind"))
                            .label(c.kind.span, format!("an {what}"))
                            .help(format!("to run an image definition, write `service {name} {{ build = {kind} }}`")),
                    );
                    self.poison(scope, c);
                    return;
                }
                None => {
                    self.unknown_kind(c, module, diags);
                    self.poison(scope, c);
                    return;
                }
            }
        };
        self.scopes[scope.0]
            .members
            .insert(name, (member, c.name.span));
    }

    fn poison(&mut self, scope: ScopeId, c: &'p ast::Component) {
        self.scopes[scope.0]
            .members
            .insert(c.name.node.as_str(), (ScopeMember::Poisoned, c.name.span));
    }

    fn unknown_kind(
        &self,
        c: &ast::Component,
        module: crate::resolve::ModuleId,
        diags: &mut Diagnostics,
    ) {
        if diags.repeated(ErrorCode::UnknownKind, c.kind.span) {
            return;
        }
        let kind = c.kind.node.as_str();
        let visible: Vec<&str> = self.program.modules[module.0]
            .scope
            .iter()
            .filter(|(_, id)| {
                matches!(
                    self.program.def(**id).kind,
                    DefKind::Kind | DefKind::Landscape
                )
            })
            .map(|(n, _)| n.as_str())
            .chain(std::iter::once("service"))
            .collect();
        let help = if crate::resolve::stdlib::module(kind).is_some() {
            format!("`{kind}` is in the stdlib: add `import \"{kind}\"` at the top of the file")
        } else if let Some(s) = crate::diag::suggest(kind, visible.iter().copied()) {
            format!("did you mean `{s}`?")
        } else if let Some(s) = crate::diag::suggest(kind, crate::resolve::stdlib::names()) {
            format!("did you mean the stdlib kind `{s}`? add `import \"{s}\"`")
        } else {
            format!(
                "the kinds here are {}; define your own with `kind {kind} {{ ... }}`",
                one_of(&visible)
            )
        };
        diags.push(
            Diagnostic::new(
                ErrorCode::UnknownKind,
                format!("unknown component kind `{kind}`"),
            )
            .label(c.kind.span, "not a kind in scope")
            .help(help),
        );
    }

    fn new_instance(
        &mut self,
        name: String,
        kind_chain: Vec<String>,
        c: &'p ast::Component,
        self_scope: Option<ScopeId>,
    ) -> usize {
        let i = self.instances.len();
        let self_scope =
            self_scope.unwrap_or_else(|| self.new_scope(crate::resolve::ModuleId(0), None));
        self.scopes[self_scope.0].self_instance = Some(i);
        self.instances.push(Instance {
            name,
            kind_chain,
            docs: c.docs.clone(),
            span: c.span,
            name_span: c.name.span,
            self_scope,
            params: BTreeMap::new(),
            sources: Sources::default(),
            nested: Vec::new(),
            state: FieldStates::with_capacity(SERVICE.fields.len()),
            references: Vec::new(),
            sized_down: BTreeMap::new(),
        });
        i
    }

    /// Creates an instance of the kind `id`, with the kind's defaults attached.
    pub(super) fn instantiate_kind(
        &mut self,
        id: DefId,
        full: &str,
        name_span: Span,
        _body_scope: ScopeId,
        diags: &mut Diagnostics,
    ) -> Option<usize> {
        let def: &'p ast::Definition = self.program.def(id);
        let self_scope = self.new_scope(id.module, None);
        let i = self.instances.len();
        self.scopes[self_scope.0].self_instance = Some(i);
        self.instances.push(Instance {
            name: full.to_string(),
            kind_chain: vec![def.name.node.clone(), String::from("service")],
            docs: def.docs.clone(),
            span: name_span,
            name_span,
            self_scope,
            params: BTreeMap::new(),
            sources: Sources::default(),
            nested: Vec::new(),
            state: FieldStates::with_capacity(SERVICE.fields.len()),
            references: Vec::new(),
            sized_down: BTreeMap::new(),
        });
        self.declare_lets(&def.body, self_scope, diags);
        for member in &def.body.members {
            match member {
                Member::Let(_) => {}
                Member::Param(p) => {
                    let name = p.name.node.as_str();
                    let builtin = SERVICE.field(name).is_some() && !SHADOWABLE.contains(&name);
                    if builtin || self.instances[i].params.contains_key(name) {
                        diags.push(
                            Diagnostic::new(ErrorCode::DuplicateParam, format!("parameter `{name}` clashes with an existing setting"))
                                .label(p.name.span, "declared here")
                                .help(if builtin {
                                    format!("`{name}` is a built-in service setting; set it with `{name} = ...` instead of declaring it")
                                } else {
                                    String::from("remove one of the declarations")
                                }),
                        );
                        continue;
                    }
                    let ty = self.param_type(p, diags);
                    self.instances[i].params.insert(name, (p, ty));
                }
                Member::Assign(a) => {
                    self.attach_assign(i, a, self_scope, diags);
                }
                Member::Component(c) => diags.push(misplaced(
                    c.span,
                    "a component inside a kind",
                    "a kind describes one component; to group components, define a `landscape` and include it",
                )),
            }
        }
        Some(i)
    }

    fn attach_body(
        &mut self,
        i: usize,
        c: &'p ast::Component,
        body_scope: ScopeId,
        diags: &mut Diagnostics,
    ) {
        // The settings given so far, by hash: a tree allocated and searched
        // for every component cost twice as much.
        let mut seen: crate::IdMap<&str, Span> = crate::IdMap::default();
        seen.reserve(c.body.members.len());
        for member in &c.body.members {
            match member {
                Member::Assign(a) => {
                    if a.path.len() == 1
                        && let Some(first) = seen.insert(a.path[0].node.as_str(), a.path[0].span)
                    {
                        diags.push(duplicate_setting(a, Some(first)));
                        continue;
                    }
                    self.attach_assign(i, a, body_scope, diags);
                }
                Member::Let(l) => diags.push(misplaced(
                    l.span,
                    "a `let` inside a component",
                    "declare the `let` in the landscape (or the kind) and use it here by name",
                )),
                other => diags.push(misplaced(
                    other.span(),
                    "a declaration inside a component",
                    "a component's body holds its settings (`name = value`); declare parameters in the landscape and components beside this one",
                )),
            }
        }
    }

    /// Attaches `a` (whose path starts at a setting of instance `i`); later
    /// attachments override earlier ones.
    fn attach_assign(
        &mut self,
        i: usize,
        a: &'p ast::Assign,
        scope: ScopeId,
        diags: &mut Diagnostics,
    ) {
        self.attach_path(i, &a.path, &a.value, scope, diags);
    }

    fn attach_path(
        &mut self,
        i: usize,
        path: &'p [Ident],
        expr: &'p ast::Expr,
        scope: ScopeId,
        diags: &mut Diagnostics,
    ) {
        let Some(first) = path.first() else { return };
        let inst = &self.instances[i];
        let Some(ty) = inst.field_type(&first.node) else {
            if diags.repeated(ErrorCode::UnknownSetting, first.span) {
                return;
            }
            let names = inst.setting_names();
            let kind = inst.kind_chain.first().cloned().unwrap_or_default();
            let params: Vec<&str> = inst.params.keys().copied().collect();
            let help = match compose_key(&first.node) {
                Some(help) => help,
                None => did_you_mean(&first.node, names.iter().copied(), |_| {
                    let own = if params.is_empty() {
                        String::new()
                    } else {
                        format!(" (its parameters are {})", one_of(&params))
                    };
                    format!(
                        "a `{kind}` has no such setting{own}; docs/language.md lists the settings. A compose key bomc has no name for goes through as it is: `compose {{ {} = … }}`",
                        first.node
                    )
                }),
            };
            diags.push(
                Diagnostic::new(
                    ErrorCode::UnknownSetting,
                    format!("unknown setting `{}` for `{}`", first.node, inst.name),
                )
                .label(first.span, "unknown setting")
                .help(help),
            );
            return;
        };
        let source = Source { expr, scope };
        // A built-in map's layers (the kind's, the instance's, the
        // environment's) merge key by key; a parameter's replace. From the
        // type just found, not a second search of the schema.
        let merged =
            matches!(ty, Some(Type::Map(_))) && !inst.params.contains_key(first.node.as_str());
        let inst = &mut self.instances[i];
        if path.len() == 1 && merged {
            // A map laid over what the kind (or an earlier layer) set.
            inst.sources.insert(first.node.as_str(), source);
            inst.nested.push((path, source));
        } else if path.len() == 1 {
            inst.sources.insert(first.node.as_str(), source);
            inst.nested
                .retain(|(p, _)| p.first().map(|k| k.node.as_str()) != Some(first.node.as_str()));
        } else {
            inst.nested.push((path, source));
        }
    }

    /// Instantiates landscape `id` as component `c`: binds its parameters from
    /// `c`'s body and declares its components under the prefix `full-`.
    fn include(
        &mut self,
        id: DefId,
        c: &'p ast::Component,
        full: &str,
        body_scope: ScopeId,
        diags: &mut Diagnostics,
    ) -> Option<ScopeId> {
        // Inclusion is the one way a short file multiplies components (a
        // landscape including another twice, which includes another twice …).
        self.included += 1;
        if self.instances.len() + self.included > super::MAX_COMPONENTS {
            if !std::mem::replace(&mut self.too_many_components, true) {
                diags.push(
                    Diagnostic::new(
                        ErrorCode::TooManyComponents,
                        format!("the landscape grows past the limit of {} components", super::MAX_COMPONENTS),
                    )
                    .label(c.name.span, "including this landscape goes past the limit")
                    .help("a landscape that includes another several times multiplies its components; include each landscape once"),
                );
            }
            return None;
        }
        if let Some(pos) = self.including.iter().position(|d| *d == id) {
            let mut chain: Vec<&str> = self.including[pos..]
                .iter()
                .map(|d| self.program.def(*d).name.node.as_str())
                .collect();
            chain.push(self.program.def(id).name.node.as_str());
            diags.push(
                Diagnostic::new(ErrorCode::RecursiveLandscape, format!("landscape includes itself: {}", chain.join(" → ")))
                    .label(c.kind.span, "this inclusion closes the circle")
                    .help("a landscape cannot contain itself; move the shared components into a third landscape"),
            );
            return None;
        }
        let def: &'p ast::Definition = self.program.def(id);
        let child = self.new_scope(id.module, None);
        self.scopes[child.0].prefix = format!("{full}-");
        let params: BTreeMap<&str, &ast::Param> = def
            .body
            .params()
            .map(|p| (p.name.node.as_str(), p))
            .collect();
        let mut assigned: BTreeMap<&str, &'p ast::Assign> = BTreeMap::new();
        for member in &c.body.members {
            match member {
                Member::Assign(a) if a.path.len() == 1 && params.contains_key(a.path[0].node.as_str()) => {
                    if let Some(prev) = assigned.insert(a.path[0].node.as_str(), a) {
                        diags.push(duplicate_setting(a, prev.path.first().map(|k| k.span)));
                    }
                }
                Member::Assign(a) => {
                    let first = &a.path[0];
                    if diags.repeated(ErrorCode::UnknownSetting, first.span) {
                        continue;
                    }
                    let help = did_you_mean(&first.node, params.keys().copied(), |all| {
                        if all.is_empty() {
                            format!("landscape `{}` declares no parameters", def.name.node)
                        } else {
                            format!("landscape `{}` takes {}", def.name.node, one_of(&all))
                        }
                    });
                    diags.push(
                        Diagnostic::new(ErrorCode::UnknownSetting, format!("landscape `{}` has no parameter `{}`", def.name.node, a.path_text()))
                            .label(first.span, "unknown parameter")
                            .help(help),
                    );
                }
                other => diags.push(misplaced(
                    other.span(),
                    "a declaration inside an included landscape",
                    "an included landscape takes its parameters (`name = value`); add components to its definition",
                )),
            }
        }
        self.including.push(id);
        self.declare_lets(&def.body, child, diags);
        for member in &def.body.members {
            match member {
                Member::Param(p) => {
                    let overridden = self
                        .include_overrides
                        .get(&(full.to_string(), p.name.node.as_str()))
                        .copied();
                    let assigned = overridden.or_else(|| {
                        assigned
                            .get(p.name.node.as_str())
                            .map(|a| (&a.value, body_scope))
                    });
                    if assigned.is_none() && p.default.is_none() {
                        diags.push(
                            Diagnostic::new(
                                ErrorCode::MissingSetting,
                                format!("`{}` needs parameter `{}`", c.name.node, p.name.node),
                            )
                            .label(c.name.span, "required parameter missing")
                            .label(p.name.span, "declared here")
                            .help(format!("add `{} = ...` to `{}`", p.name.node, c.name.node)),
                        );
                        self.scopes[child.0]
                            .params
                            .insert(p.name.node.as_str(), None);
                        continue;
                    }
                    self.bind_param(child, p, child, assigned, diags);
                }
                Member::Component(inner) => self.component(inner, child, child, "", diags),
                Member::Let(_) => {}
                Member::Assign(a) => diags.push(misplaced(
                    a.span,
                    "a setting directly in a landscape",
                    "a landscape holds `param` declarations and components",
                )),
            }
        }
        self.including.pop();
        Some(child)
    }

    /// Applies an environment override `component.setting... = expr`.
    pub(super) fn apply_override(
        &mut self,
        a: &'p ast::Assign,
        landscape: ScopeId,
        env: ScopeId,
        diags: &mut Diagnostics,
    ) {
        let mut scope = landscape;
        let mut rest: &'p [Ident] = &a.path;
        loop {
            let Some((first, tail)) = rest.split_first() else {
                return;
            };
            let member = self.scopes[scope.0]
                .members
                .get(first.node.as_str())
                .map(|(m, _)| *m);
            match member {
                Some(ScopeMember::Component(i)) => {
                    self.attach_path(i, tail, &a.value, env, diags);
                    return;
                }
                Some(ScopeMember::Include(s)) if tail.len() > 1 => {
                    scope = s;
                    rest = tail;
                }
                Some(ScopeMember::Include(s))
                    if tail.len() == 1
                        && tail
                            .iter()
                            .all(|k| self.scopes[s.0].params.contains_key(k.node.as_str())) =>
                {
                    // Bound when the landscape was included (see `include_overrides`).
                    return;
                }
                Some(ScopeMember::Poisoned) => return,
                Some(ScopeMember::Include(_)) => {
                    diags.push(
                        Diagnostic::new(
                            ErrorCode::UnknownOverrideTarget,
                            format!("`{}` is an included landscape, not a component", first.node),
                        )
                        .label(first.span, "an included landscape")
                        .help("override a component inside it: `included.component.setting = ...`"),
                    );
                    return;
                }
                None => {
                    if diags.repeated(ErrorCode::UnknownOverrideTarget, first.span) {
                        return;
                    }
                    let names = self.scopes[scope.0].member_names();
                    let help = did_you_mean(&first.node, names.iter().copied(), |all| {
                        format!("the components here are {}", one_of(&all))
                    });
                    diags.push(
                        Diagnostic::new(
                            ErrorCode::UnknownOverrideTarget,
                            format!("no component `{}` to override", first.node),
                        )
                        .label(first.span, "no such component")
                        .help(help),
                    );
                    return;
                }
            }
        }
    }

    /// The value of setting `name` of instance `i`, evaluated on first use.
    pub(super) fn field(
        &mut self,
        i: usize,
        name: &str,
        at: Span,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let key = self.evaluated(i, name, at, diags)?;
        self.instances[i].state.value(key).cloned()
    }

    /// Evaluates setting `name` of instance `i` if it was not yet: the name
    /// as the instance holds it where it has a value, kept in its state.
    pub(super) fn evaluated(
        &mut self,
        i: usize,
        name: &str,
        at: Span,
        diags: &mut Diagnostics,
    ) -> Option<&'p str> {
        let inst = &self.instances[i];
        // The setting's name as the instance holds it, its type, and whether
        // its layers merge (a built-in map's do, key by key; a parameter's replace), found once.
        let (key, ty, merged) = match inst.params.get_key_value(name) {
            Some((key, (_, ty))) => (*key, *ty, false),
            None => {
                let f = SERVICE.field(name)?;
                (f.name, Some(&f.ty), matches!(f.ty, Type::Map(_)))
            }
        };
        match inst.state.get(key) {
            Some(FieldState::Done(v)) => return v.as_ref().map(|_| key),
            Some(FieldState::InProgress) => {
                diags.push(
                    Diagnostic::new(
                        ErrorCode::CircularDefinition,
                        format!("`{}.{name}` is defined in terms of itself", inst.name),
                    )
                    .label(at, "this reference needs the value being computed")
                    .help("break the circle: give one of the settings a literal value"),
                );
                return None;
            }
            None => {}
        }
        if self.chain_is_full() {
            let target = format!("{}.{name}", inst.name);
            self.chain_too_long(&target, at, diags);
            return None;
        }
        // Absent, as just found.
        let at = self.instances[i].state.push(key, FieldState::InProgress);
        self.evaluating.push((i, key));
        let value = self.compute_field(i, key, ty, merged, diags);
        self.evaluating.pop();
        let evaluated = value.as_ref().map(|_| key);
        self.instances[i].state.set(at, FieldState::Done(value));
        evaluated
    }

    fn compute_field(
        &mut self,
        i: usize,
        key: &'p str,
        ty: Option<&'static Type>,
        merged: bool,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let inst = &self.instances[i];
        let source = inst.sources.get(key).copied();
        let param_default = inst.params.get(key).and_then(|(p, _)| p.default.as_ref());
        let self_scope = inst.self_scope;
        let ty = ty?;
        // Ephemeral environments run one copy of what the landscape sizes with
        // a fixed number, unless the environment itself asks for more
        // (`auth.replicas = 3`); counts that follow a parameter follow it.
        if key == "replicas"
            && let Some(env) = self.ephemeral_scope
            && let Some(src) = source
            && src.scope != env
            && matches!(src.expr.kind, crate::syntax::ast::ExprKind::Int(_))
        {
            let declared = self.eval_typed(src.expr, ty, src.scope, diags);
            if let Some(Value::Int(n)) = declared
                && n > 1
            {
                self.instances[i]
                    .sized_down
                    .insert(key.to_string(), Value::Int(n));
                return Some(Value::Int(1));
            }
            return declared;
        }
        let mut value = match (source, param_default) {
            // Built from its layers below.
            _ if merged => None,
            (Some(src), _) => self.eval_typed(src.expr, ty, src.scope, diags),
            (None, Some(default)) => self.eval_typed(default, ty, self_scope, diags),
            (None, None) => builtin_default(key),
        };
        let nested: Vec<(&'p [Ident], Source<'p>)> = self.instances[i]
            .nested
            .iter()
            .filter(|(p, _)| p.first().map(|k| k.node.as_str()) == Some(key))
            .cloned()
            .collect();
        for (path, src) in nested {
            if path.len() == 1 {
                let layer = self.eval_typed(src.expr, ty, src.scope, diags);
                match (&mut value, layer) {
                    (Some(Value::Map(base)), Some(Value::Map(layer))) => {
                        super::reuse::lay_over(base, layer);
                    }
                    (_, layer @ Some(_)) => value = layer,
                    (_, None) => {}
                }
                continue;
            }
            let base = value.get_or_insert_with(|| Value::Map(BTreeMap::new()));
            self.set_nested(base, ty, &path[1..], src, diags);
        }
        value.and_then(super::reuse::strip_nulls)
    }

    /// Sets `path` inside `base` (of type `ty`) to the value of `src`.
    fn set_nested(
        &mut self,
        base: &mut Value,
        ty: &'static Type,
        path: &'p [Ident],
        src: Source<'p>,
        diags: &mut Diagnostics,
    ) {
        let Some((key, rest)) = path.split_first() else {
            return;
        };
        let elem: Option<&'static Type> = match ty {
            Type::Record(schema) => schema.field(&key.node).map(|f: &'static Field| &f.ty),
            other => other.element(),
        };
        let Some(elem) = elem else {
            if diags.repeated(ErrorCode::UnknownSetting, key.span) {
                return;
            }
            let help = match ty {
                Type::Record(schema) => did_you_mean(&key.node, schema.names(), |all| {
                    format!("a {} takes {}", schema.what, one_of(&all))
                }),
                other => format!(
                    "this setting is {}, which has no parts to override",
                    other.describe()
                ),
            };
            diags.push(
                Diagnostic::new(
                    ErrorCode::UnknownSetting,
                    format!("cannot set `{}` here", key.node),
                )
                .label(key.span, "no such part")
                .help(help),
            );
            return;
        };
        let Value::Map(map) = base else {
            diags.push(
                Diagnostic::new(
                    ErrorCode::TypeMismatch,
                    format!("cannot set `{}` inside {}", key.node, base.describe()),
                )
                .label(key.span, "not a map")
                .help("only maps and blocks have parts that can be overridden"),
            );
            return;
        };
        if rest.is_empty() {
            if matches!(src.expr.kind, crate::syntax::ast::ExprKind::Null) {
                map.insert(key.node.clone(), Value::Null);
            } else if let Some(v) = self.eval_typed(src.expr, elem, src.scope, diags) {
                map.insert(key.node.clone(), v);
            }
        } else {
            let entry = map
                .entry(key.node.clone())
                .or_insert_with(|| Value::Map(BTreeMap::new()));
            self.set_nested(entry, elem, rest, src, diags);
        }
    }

    /// Evaluates every setting of instance `i` and checks it is complete:
    /// its component, whose settings and parameters [`Evaluator::fill`]
    /// moves in from the instance once nothing reads them again.
    pub(super) fn complete(&mut self, i: usize, diags: &mut Diagnostics) -> Option<Completed<'p>> {
        let before = diags.len();
        let span = self.instances[i].name_span;
        // Every built-in name is asked about, and an instance sets a few:
        // the names it has, in short lists compared name by name, cost less
        // than a search of its trees for each.
        let (names, own_params, sourced) = {
            let inst = &self.instances[i];
            let own_params: Vec<&'p str> = inst.params.keys().copied().collect();
            // Sized at once: grown from nothing, these lists were copied
            // four or five times for every instance.
            let mut sourced: Vec<&'p str> =
                Vec::with_capacity(inst.sources.len() + inst.nested.len());
            sourced.extend(inst.sources.keys().copied());
            sourced.extend(
                inst.nested
                    .iter()
                    .filter_map(|(p, _)| p.first().map(|k| k.node.as_str())),
            );
            let mut names: Vec<&'p str> =
                Vec::with_capacity(own_params.len() + SERVICE.fields.len());
            names.extend(own_params.iter().copied());
            names.extend(
                SERVICE
                    .names()
                    .filter(|n| !own_params.iter().any(|p| same_name(p, n)))
                    .map(|n| -> &'p str { n }),
            );
            (names, own_params, sourced)
        };
        // Checking a kind on its own, its required parameters take placeholders.
        let mut placeholders = BTreeMap::new();
        let mut params = Vec::new();
        let mut settings = Vec::new();
        for name in names {
            let inst = &self.instances[i];
            let is_param = own_params.iter().any(|p| same_name(p, name));
            let has_source = sourced.iter().any(|k| same_name(k, name));
            let has_default = (is_param
                && inst
                    .params
                    .get(name)
                    .is_some_and(|(p, _)| p.default.is_some()))
                || has_builtin_default(name);
            if !has_source && !has_default {
                if let (true, Some((p, ty))) = (is_param, inst.params.get(name)) {
                    if self.checking_kinds {
                        if let Some(ty) = ty {
                            placeholders.insert(name.to_string(), super::placeholder(name, ty));
                        }
                        continue;
                    }
                    let what = ty
                        .map(|t| t.describe())
                        .unwrap_or_else(|| String::from("a value"));
                    diags.push(
                        Diagnostic::new(
                            ErrorCode::MissingSetting,
                            format!("`{}` is missing required setting `{name}`", inst.name),
                        )
                        .label(span, format!("needs `{name}`"))
                        .label(p.name.span, "declared here")
                        .help(format!("add `{name} = ...` ({what}) to `{}`", inst.name)),
                    );
                }
                continue;
            }
            if self.evaluated(i, name, span, diags).is_some() {
                if is_param {
                    params.push(name);
                } else {
                    settings.push(name);
                }
            }
        }
        let inst = &self.instances[i];
        match (inst.sources.get("image"), inst.sources.get("build")) {
            (None, None) if self.checking_kinds => {}
            (None, None) => diags.push(
                Diagnostic::new(ErrorCode::MissingSetting, format!("`{}` has neither `image` nor `build`", inst.name))
                    .label(span, "nothing to run")
                    .help("set `image = \"name:tag\"` to run a published image, or `build = IMAGE` to build one"),
            ),
            (Some(a), Some(b)) => diags.push(
                Diagnostic::new(ErrorCode::InvalidValue, format!("`{}` sets both `image` and `build`", inst.name))
                    .label(a.expr.span, "an image to pull")
                    .label(b.expr.span, "an image to build")
                    .help("keep one: `image` pulls a published image, `build` builds an image definition"),
            ),
            _ => {}
        }
        self.check_health_port(i, &settings, diags);
        if let Some(Value::Image(image)) = self.setting(i, &settings, "build")
            && let Some(id) = self.image_def(image)
        {
            let image = image.clone();
            self.image(&image, id, diags);
        }
        if diags.len() > before {
            return None;
        }
        // Every setting is evaluated now, so nothing records a reference
        // from this instance again: its list moves to the component.
        let references = std::mem::take(&mut self.instances[i].references);
        let inst = &self.instances[i];
        let environment = self.environment_scope;
        let set_by_environment = inst
            .sources
            .iter()
            .filter(|(_, s)| Some(s.scope) == environment)
            .map(|(k, _)| k.to_string())
            .chain(
                inst.nested
                    .iter()
                    .filter(|(_, s)| Some(s.scope) == environment)
                    .filter_map(|(p, _)| p.first().map(|k| k.node.clone())),
            )
            .collect();
        let mut setting_spans = model::SettingSpans::with_capacity(2 * inst.sources.len());
        let mut entries: Vec<(&str, Span)> = Vec::new();
        for (k, s) in inst.sources.iter() {
            setting_spans.push(&[k], s.expr.span);
            // Each entry of a map written as a block (`mounts { "/x" { … } }`),
            // as `setting.key`, so a diagnostic can point at the entry. In
            // name order, as the settings come: the whole list then needs no
            // sort (an `env` block written in any other order sorted every
            // component's, 2 % of `check`). Stable: of a key written twice,
            // the later still wins.
            if let crate::syntax::ast::ExprKind::Map(block) = &s.expr.kind {
                entries.clear();
                entries.extend(block.members.iter().filter_map(|m| match m {
                    Member::Assign(a) => match a.path.as_slice() {
                        [key] => Some((key.node.as_str(), a.span)),
                        _ => None,
                    },
                    _ => None,
                }));
                entries.sort_by(|a, b| a.0.cmp(b.0));
                for (key, span) in &entries {
                    setting_spans.push(&[k, key], *span);
                }
            }
        }
        let setting_spans = setting_spans.sorted();
        let component = model::Component {
            name: inst.name.clone(),
            kind: inst.kind_chain.clone(),
            docs: inst.docs.clone(),
            settings: model::Settings::default(),
            params: placeholders,
            references,
            set_by_environment,
            sized_down: inst.sized_down.clone(),
            setting_spans,
            span: inst.span,
            name_span: inst.name_span,
        };
        Some(Completed {
            component,
            instance: i,
            params,
            settings,
        })
    }

    /// The component of each of `completed`, its settings and parameters
    /// moved in from its instance rather than copied: called once nothing
    /// reads them again (the instances' states are spent).
    pub(super) fn fill(&mut self, completed: Vec<Completed<'p>>) -> Vec<model::Component> {
        completed
            .into_iter()
            .map(|c| {
                let Completed {
                    mut component,
                    instance,
                    params,
                    settings,
                } = c;
                let state = &mut self.instances[instance].state;
                let mut take = |n: &str| state.take(n).map(|v| (n.to_string(), v));
                component
                    .params
                    .extend(params.into_iter().filter_map(&mut take));
                component.settings = settings.into_iter().filter_map(&mut take).collect();
                component
            })
            .collect()
    }

    /// The value of setting `name` of instance `i`, if it is one of its
    /// `settings` (the names with a value), as its component will hold it.
    fn setting(&self, i: usize, settings: &[&str], name: &str) -> Option<&Value> {
        settings
            .contains(&name)
            .then(|| self.instances[i].state.value(name))
            .flatten()
    }

    /// `settings` are the names of instance `i`'s settings with a value.
    fn check_health_port(&self, i: usize, settings: &[&str], diags: &mut Diagnostics) {
        let setting = |name: &str| self.setting(i, settings, name);
        let Some(Value::Map(health)) = setting("health") else {
            return;
        };
        let Some(Value::String(port)) = health.get("port") else {
            return;
        };
        let ports: Vec<&str> = setting("ports")
            .and_then(Value::as_map)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        if ports.contains(&port.as_str()) {
            return;
        }
        let inst = &self.instances[i];
        // The `port = …` that names it: an override of `health.port`, or the
        // entry in the `health` block.
        let overridden = inst
            .nested
            .iter()
            .rev()
            .find(|(p, _)| p.len() == 2 && p[0].node == "health" && p[1].node == "port");
        let span = match overridden {
            Some((_, src)) => src.expr.span,
            None => inst
                .sources
                .get("health")
                .map(|s| match &s.expr.kind {
                    crate::syntax::ast::ExprKind::Map(block) => block
                        .members
                        .iter()
                        .find_map(|m| match m {
                            Member::Assign(a) if a.path_text() == "port" => Some(a.value.span),
                            _ => None,
                        })
                        .unwrap_or(s.expr.span),
                    _ => s.expr.span,
                })
                .unwrap_or(inst.name_span),
        };
        if diags.repeated(ErrorCode::PortNotExposed, span) {
            return;
        }
        let help = did_you_mean(port, ports.iter().copied(), |all| {
            if all.is_empty() {
                String::from("declare the port first: `ports { http = 8080 }`")
            } else {
                format!("`{}` exposes {}", inst.name, one_of(&all))
            }
        });
        diags.push(
            Diagnostic::new(
                ErrorCode::PortNotExposed,
                format!(
                    "health check probes port `{port}`, which `{}` does not expose",
                    inst.name
                ),
            )
            .label(span, "not a port of this component")
            .help(help),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::{SERVICE, Source, Sources, builtin_default, has_builtin_default};
    use crate::eval::scope::ScopeId;
    use crate::syntax::ast::{Expr, ExprKind};

    /// A setting given again (an environment over the landscape) replaces
    /// where it came from; the names read in order, as a tree's would.
    #[test]
    fn sources_are_replaced_by_name_and_read_in_order() {
        let exprs: Vec<Expr> = (0..4)
            .map(|n| Expr {
                kind: ExprKind::Int(n),
                span: crate::source::Span::default(),
            })
            .collect();
        let at = |n: usize| Source {
            expr: &exprs[n],
            scope: ScopeId(n),
        };
        let mut sources = Sources::default();
        sources.insert("replicas", at(0));
        sources.insert("env", at(1));
        let written = String::from("replicas");
        sources.insert(&written, at(2));
        sources.insert("cpu", at(3));
        assert_eq!(sources.len(), 3);
        assert_eq!(sources.get("replicas").map(|s| s.scope), Some(ScopeId(2)));
        assert!(sources.contains_key("env"));
        assert!(!sources.contains_key("envs"));
        let names: Vec<&str> = sources.keys().copied().collect();
        assert_eq!(names, ["cpu", "env", "replicas"]);
    }

    /// The two lists of settings with a default name the same settings.
    #[test]
    fn a_setting_has_a_builtin_default_exactly_where_one_is_made() {
        for name in SERVICE.names().chain(["nothing", ""]) {
            assert_eq!(
                has_builtin_default(name),
                builtin_default(name).is_some(),
                "{name}"
            );
        }
    }
}
