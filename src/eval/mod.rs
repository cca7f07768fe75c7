//! Evaluation: binds parameters (defaults, environment assignments, `--set`),
//! instantiates components (kinds, inclusions of other landscapes), applies the
//! environment's overrides and evaluates every setting, checking each value
//! against its type as it goes. The output is the [`model::Landscape`].

mod expr;
mod image;
mod instance;
mod reuse;
mod scope;
pub mod sets;

pub use expr::scalar_text;

use crate::diag::{Diagnostic, Diagnostics, ErrorCode, did_you_mean, one_of};
use crate::model::{self, Lifetime, Value};
use crate::resolve::{DefId, ModuleId, Program};
use crate::source::Span;
use crate::syntax::ast::{self, DefKind, Member};
use instance::{Completed, Instance};
use scope::{Scope, ScopeId};
use std::collections::{BTreeMap, BTreeSet};

/// What to evaluate.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The environment to overlay; `None` evaluates the bare landscape.
    pub environment: Option<String>,
    /// `--set name=value`, in command-line order.
    pub sets: Vec<(String, String)>,
    /// Fill required parameters that have no value with a placeholder, so that
    /// `bomc check` can check an environment without its `--set`s.
    pub placeholders: bool,
    /// Several environments are evaluated with the same `--set`s: a `--set`
    /// for another environment's parameter is not an error here (the caller
    /// checks them against all environments).
    pub shared_sets: bool,
}

/// Evaluates the root landscape of `program` for `options.environment`.
/// Returns `None` when there is no landscape or errors were found.
pub fn evaluate(
    program: &Program,
    options: &Options,
    diags: &mut Diagnostics,
) -> Option<model::Landscape> {
    let before = diags.len();
    let root = root_landscape(program, diags)?;
    if let Some(landscape) = evaluate_in_halves(program, options, root) {
        return Some(landscape);
    }
    let mut eval = Evaluator::new(program, options);
    let landscape = eval.run(root, diags);
    if diags.len() > before {
        None
    } else {
        landscape
    }
}

/// How many members the root landscape has before its evaluation is shared
/// out: a thread and a second instantiation cost more than a small
/// landscape's settings.
const HALVES_FROM: usize = 64;

/// The landscape evaluated on two cores, each completing half of the
/// instances (in a state of its own, instantiated by each: evaluation is
/// lazy and memoized, so a setting of the other half that one reads is
/// evaluated there too). `None` where sharing out does not pay, or where
/// either half reports anything at all: the landscape is then evaluated on
/// one core, which reports every diagnostic once and in its order.
fn evaluate_in_halves(
    program: &Program,
    options: &Options,
    root: DefId,
) -> Option<model::Landscape> {
    if crate::parallel::sharing() || program.def(root).body.members.len() < HALVES_FROM {
        return None;
    }
    // The first half's evaluator goes on to finish the landscape; the
    // second's is freed on its own core, what it evaluated taken out first.
    enum Half<'p> {
        First(Box<Evaluator<'p>>, Begun<'p>, FirstHalf<'p>),
        Second(
            BTreeMap<String, Option<model::Image>>,
            usize,
            Vec<model::Component>,
        ),
    }
    let half = |&which: &usize| {
        let mut diags = Diagnostics::default();
        let mut eval = Evaluator::new(program, options);
        let begun = eval.begin(root, &mut diags)?;
        let cut = eval.middle();
        let range = if which == 0 {
            0..cut
        } else {
            cut..eval.instances.len()
        };
        let completed = eval.complete_all(range, &mut diags);
        if !diags.is_empty() {
            return None;
        }
        Some(if which == 0 {
            // With no `let` left to evaluate, nothing reads this half's
            // settings again: they move into its components here, while
            // the other core fills the second half's (at N = 10,000 each
            // core took 7 ms, one after the other).
            let first = if eval.lets_pending() {
                FirstHalf::Completed(completed)
            } else {
                let components = eval.finish_components(completed, &mut diags);
                if !diags.is_empty() {
                    return None;
                }
                FirstHalf::Filled(components)
            };
            Half::First(Box::new(eval), begun, first)
        } else {
            let components = eval.fill(completed);
            Half::Second(std::mem::take(&mut eval.images), eval.copied, components)
        })
    };
    let mut halves = crate::parallel::on_two_cores(&[0, 1], half).into_iter();
    let (
        Some(Some(Half::First(mut eval, begun, first))),
        Some(Some(Half::Second(images, copied, rest))),
    ) = (halves.next(), halves.next())
    else {
        return None;
    };
    // The limit on copying counts each half's copies; both halves' together
    // over it are evaluated again on one core, which reports it exactly.
    if eval.copied + copied > MAX_COPIED {
        return None;
    }
    for (name, image) in images {
        eval.images.entry(name).or_insert(image);
    }
    let cut = match &first {
        FirstHalf::Completed(completed) => completed.len(),
        FirstHalf::Filled(components) => components.len(),
    };
    let mut second = Vec::with_capacity(rest.len());
    for (instance, mut component) in eval.instances[cut..].iter().zip(rest) {
        component.references = in_one_run(instance, component.references)?;
        second.push(component);
    }
    let mut diags = Diagnostics::default();
    let components = match first {
        FirstHalf::Completed(completed) => eval.finish_components(completed, &mut diags),
        FirstHalf::Filled(components) => components,
    };
    let landscape = eval.finish(begun, components, second);
    diags.is_empty().then_some(landscape)
}

/// The first half's components: filled on its core when no `let` was left
/// to read their settings, else still to fill once the `let`s are evaluated.
enum FirstHalf<'p> {
    Completed(Vec<Completed<'p>>),
    Filled(Vec<model::Component>),
}

/// The references of a second-half instance as one run over every instance
/// records them, from what the first half evaluated of it (`first`: its
/// state there) and the second half's `references`.
///
/// The first half is that run's beginning, and one run records an
/// instance's references setting by setting, as each is evaluated: first
/// those the first half read of it, in its order, then the others, in the
/// second half's order (the first half's settings, evaluated again there,
/// read only what the first half had evaluated too). `None` if the second
/// half's references of those settings are not the first half's, setting
/// by setting.
fn in_one_run(
    first: &Instance,
    references: Vec<model::Reference>,
) -> Option<Vec<model::Reference>> {
    if first.references.is_empty() && !references.iter().any(|r| first.state.done(&r.setting)) {
        return Some(references);
    }
    let (again, after): (Vec<model::Reference>, Vec<model::Reference>) = references
        .into_iter()
        .partition(|r| first.state.done(&r.setting));
    fn by_setting(refs: &[model::Reference]) -> Vec<&model::Reference> {
        let mut refs: Vec<&model::Reference> = refs.iter().collect();
        refs.sort_by(|a, b| a.setting.cmp(&b.setting));
        refs
    }
    if by_setting(&again) != by_setting(&first.references) {
        return None;
    }
    let mut references = first.references.clone();
    references.extend(after);
    Some(references)
}

/// Checks the definitions of the main module that evaluation of a landscape does
/// not reach: kinds (with placeholders for required parameters) and images.
/// A run of its own over the same source, absorbed: a kind's mistake found
/// here and in its instances is not one more instance.
pub fn check_definitions(program: &Program, diags: &mut Diagnostics) {
    let mut run = Diagnostics::default();
    check_definitions_into(program, &mut run);
    diags.absorb(run);
}

fn check_definitions_into(program: &Program, diags: &mut Diagnostics) {
    let Some(main) = program.main() else { return };
    let options = Options {
        placeholders: true,
        ..Options::default()
    };
    let mut eval = Evaluator::new(program, &options);
    eval.checking_kinds = true;
    let scope = eval.new_scope(ModuleId(0), None);
    for (index, def) in main.ast.definitions.iter().enumerate() {
        let id = DefId {
            module: ModuleId(0),
            index,
        };
        match def.kind {
            DefKind::Kind => {
                let name = format!("{}-check", def.name.node.replace('_', "-"));
                if let Some(i) = eval.instantiate_kind(id, &name, def.name.span, scope, diags) {
                    eval.complete(i, diags);
                }
            }
            DefKind::Image => {
                eval.image(&def.name.node, id, diags);
            }
            DefKind::Landscape | DefKind::Environment => {}
        }
    }
    eval.finish_lets(diags);
}

/// The landscape the main file's environments overlay.
pub fn root_landscape(program: &Program, diags: &mut Diagnostics) -> Option<DefId> {
    let main = program.main()?;
    let landscapes: Vec<DefId> = main
        .ast
        .definitions
        .iter()
        .enumerate()
        .filter(|(_, d)| d.kind == DefKind::Landscape)
        .map(|(index, _)| DefId {
            module: ModuleId(0),
            index,
        })
        .collect();
    match landscapes.len() {
        0 => {
            let span = Span::new(main.file, 0, 0);
            diags.push(
                Diagnostic::new(ErrorCode::NoLandscape, "this file declares no landscape")
                    .label(span, "expected a `landscape NAME { ... }` in this file")
                    .help("add `landscape NAME { ... }` with the components it is made of; modules of only kinds and images are imported, not built"),
            );
            None
        }
        1 => landscapes.first().copied(),
        _ => {
            let included: BTreeSet<&str> = landscapes
                .iter()
                .flat_map(|id| program.def(*id).body.members.iter())
                .filter_map(|m| match m {
                    Member::Component(c) => Some(c.kind.node.as_str()),
                    _ => None,
                })
                .collect();
            let roots: Vec<DefId> = landscapes
                .iter()
                .copied()
                .filter(|id| !included.contains(program.def(*id).name.node.as_str()))
                .collect();
            if roots.len() == 1 {
                return roots.first().copied();
            }
            if roots.is_empty() {
                // Every landscape includes another: evaluation reports the circle.
                return landscapes.first().copied();
            }
            let mut diag = Diagnostic::new(
                ErrorCode::AmbiguousLandscape,
                "cannot tell which landscape this file builds",
            );
            for id in &roots {
                diag = diag.label(program.def(*id).name.span, "a candidate");
            }
            diags.push(diag.help("keep one top-level landscape per file: move the others into a module, or include them from one root landscape"));
            None
        }
    }
}

/// What [`Evaluator::begin`] leaves for [`Evaluator::finish`].
struct Begun<'p> {
    def: &'p ast::Definition,
    landscape_scope: ScopeId,
    environment: Option<model::Environment>,
    settings: BTreeMap<String, Value>,
}

pub(crate) struct Evaluator<'p> {
    program: &'p Program,
    options: &'p Options,
    scopes: Vec<Scope<'p>>,
    instances: Vec<Instance<'p>>,
    /// Landscapes being instantiated, to refuse self-inclusion.
    including: Vec<DefId>,
    /// (instance, setting) pairs being evaluated, innermost last.
    evaluating: Vec<(usize, &'p str)>,
    images: BTreeMap<String, Option<model::Image>>,
    /// Image definitions referenced so far, by name.
    image_ids: BTreeMap<String, DefId>,
    sets_used: BTreeSet<String>,
    /// Checking a kind on its own: instances may leave `image`/`build` to their users.
    checking_kinds: bool,
    /// The environment's scope, when it is ephemeral (see `replicas` in `compute_field`).
    ephemeral_scope: Option<ScopeId>,
    /// The environment's scope: what it assigns wins over sizing defaults.
    environment_scope: Option<ScopeId>,
    /// The scopes whose parameters `--set` binds: the root landscape's and the environment's.
    cli_scopes: Vec<ScopeId>,
    /// Environment assignments to parameters of included landscapes, by the
    /// inclusion's full name and parameter, with the scope they evaluate in.
    include_overrides: BTreeMap<(String, &'p str), (&'p ast::Expr, ScopeId)>,
    /// The `let`s being evaluated, innermost last (to name a circle).
    let_stack: Vec<String>,
    /// References made while a `let` is evaluated, with the depth of
    /// `evaluating` it was entered at (see `note_reference`).
    capturing: Vec<(usize, Vec<model::Reference>)>,
    /// The landscape says `allow_floating_tags = true`: unpinned images are
    /// accepted (lowering warns about each).
    allow_floating_tags: bool,
    /// The landscape or environment parameter being bound, to name it when its
    /// value breaks a limit.
    binding: Option<&'p str>,
    /// [`MAX_COMPONENTS`] was reported (once).
    too_many_components: bool,
    /// Landscapes included so far: counted with the instances, since an
    /// included landscape whose components all fail creates none, yet its
    /// inclusions double the work at every level all the same.
    included: usize,
    /// What references have copied so far (values' sizes as
    /// [`expr::MAX_STRING_LEN`] counts them), against [`MAX_COPIED`].
    copied: usize,
    /// [`MAX_COPIED`] was reported (once).
    too_much_copied: bool,
    /// [`MAX_REFERENCE_CHAIN`] was reported (once: a chain of
    /// thousands would otherwise be cut, and reported, every 128 links).
    chain_too_long: bool,
}

/// How much all references of one evaluation may copy, in total: each value
/// stays under [`expr::MAX_STRING_LEN`], but a few lines referencing a large
/// value many times would copy it without end (the 10,000-service landscape
/// copies ~3 MB).
pub const MAX_COPIED: usize = 64 << 20;

/// How many components inclusion may create in one landscape.
pub const MAX_COMPONENTS: usize = 20_000;

/// How many references evaluation follows one through another (`a.env.V =
/// b.env.V`, `b.env.V = c.env.V` …, or `let`s): each is a level of
/// recursion, and a few thousand overflowed the main thread's stack.
pub const MAX_REFERENCE_CHAIN: usize = 128;

impl<'p> Evaluator<'p> {
    /// Whether one more reference would make the chain being evaluated
    /// longer than [`MAX_REFERENCE_CHAIN`]: each value in progress but the
    /// first was reached through one.
    fn chain_is_full(&self) -> bool {
        self.evaluating.len() + self.let_stack.len() > MAX_REFERENCE_CHAIN
    }

    /// Reports the reference at `at`, to `target`, that makes a chain too
    /// long; once, since every later link is cut at the same place.
    fn chain_too_long(&mut self, target: &str, at: Span, diags: &mut Diagnostics) {
        if !std::mem::replace(&mut self.chain_too_long, true) {
            diags.push(
                Diagnostic::new(
                    ErrorCode::ReferenceChainTooDeep,
                    format!("a chain of more than {MAX_REFERENCE_CHAIN} references, each to a value that is itself a reference"),
                )
                .label(at, format!("reference {} of the chain, to `{target}`", MAX_REFERENCE_CHAIN + 1))
                .help(format!("bomc follows at most {MAX_REFERENCE_CHAIN} references one through another: give a value along the chain directly, or refer to the value the chain ends at")),
            );
        }
    }

    fn new(program: &'p Program, options: &'p Options) -> Self {
        Evaluator {
            program,
            options,
            scopes: Vec::new(),
            instances: Vec::new(),
            including: Vec::new(),
            evaluating: Vec::new(),
            images: BTreeMap::new(),
            image_ids: BTreeMap::new(),
            sets_used: BTreeSet::new(),
            checking_kinds: false,
            ephemeral_scope: None,
            environment_scope: None,
            cli_scopes: Vec::new(),
            include_overrides: BTreeMap::new(),
            let_stack: Vec::new(),
            capturing: Vec::new(),
            allow_floating_tags: false,
            binding: None,
            too_many_components: false,
            included: 0,
            copied: 0,
            too_much_copied: false,
            chain_too_long: false,
        }
    }

    /// Where the instances are cut in two halves of about the same work:
    /// by the length of their source, since one component may be a large
    /// part of the file (a load balancer with a route to every service).
    fn middle(&self) -> usize {
        let length = |i: &Instance| u64::from(i.span.end.saturating_sub(i.span.start)) + 1;
        let total: u64 = self.instances.iter().map(length).sum();
        let mut before = 0;
        self.instances
            .iter()
            .position(|i| {
                before += length(i);
                2 * before > total
            })
            .map_or(self.instances.len(), |i| i + 1)
    }

    fn new_scope(&mut self, module: ModuleId, parent: Option<ScopeId>) -> ScopeId {
        self.scopes.push(Scope::new(module, parent));
        ScopeId(self.scopes.len() - 1)
    }

    fn set_value(&self, name: &str) -> Option<&'p str> {
        self.options
            .sets
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn run(&mut self, root: DefId, diags: &mut Diagnostics) -> Option<model::Landscape> {
        let begun = self.begin(root, diags)?;
        let completed = self.complete_all(0..self.instances.len(), diags);
        let components = self.finish_components(completed, diags);
        Some(self.finish(begun, components, Vec::new()))
    }

    /// The `completed` components, filled once the `let`s no setting read
    /// are evaluated (for their mistakes): the last readers of the settings.
    fn finish_components(
        &mut self,
        completed: Vec<Completed<'p>>,
        diags: &mut Diagnostics,
    ) -> Vec<model::Component> {
        self.finish_lets(diags);
        self.fill(completed)
    }

    /// Everything before the settings are evaluated: the parameters bound,
    /// the environment read, every component instantiated and the
    /// environment's overrides applied.
    fn begin(&mut self, root: DefId, diags: &mut Diagnostics) -> Option<Begun<'p>> {
        let program = self.program;
        let def = program.def(root);
        // An instance, and a scope, for each member at least: reserved, not
        // doubled, for a large landscape's copies cost a page fault a page.
        self.instances.reserve(def.body.members.len());
        self.scopes.reserve(def.body.members.len() + 2);
        let landscape_scope = self.new_scope(root.module, None);
        self.declare_lets(&def.body, landscape_scope, diags);

        let env_def = match &self.options.environment {
            Some(name) => Some(find_environment(program, name, diags)?),
            None => None,
        };

        // Environment parameters come first: the environment's assignments to
        // landscape parameters may use them.
        let env_scope = self.new_scope(root.module, Some(landscape_scope));
        self.cli_scopes = vec![landscape_scope, env_scope];
        let mut env_assigns: BTreeMap<&str, &'p ast::Assign> = BTreeMap::new();
        let mut overrides: Vec<&'p ast::Assign> = Vec::new();
        let mut env_components: Vec<&'p ast::Component> = Vec::new();
        let mut env_settings: BTreeMap<&str, &'p ast::Assign> = BTreeMap::new();
        let landscape_params: BTreeMap<&str, &ast::Param> = def
            .body
            .params()
            .map(|p| (p.name.node.as_str(), p))
            .collect();
        if let Some(env) = env_def {
            for member in &env.body.members {
                match member {
                    Member::Param(p) => {
                        if let Some(other) = landscape_params.get(p.name.node.as_str()) {
                            diags.push(
                                Diagnostic::new(
                                    ErrorCode::DuplicateParam,
                                    format!("parameter `{}` is already a landscape parameter", p.name.node),
                                )
                                .label(p.name.span, "declared again here")
                                .label(other.name.span, "landscape parameter declared here")
                                .help(format!(
                                    "assign it instead: `{} = ...`, or give the environment parameter another name",
                                    p.name.node
                                )),
                            );
                            continue;
                        }
                        self.bind_param(env_scope, p, env_scope, None, diags);
                    }
                    Member::Component(c) => env_components.push(c),
                    Member::Let(l) => diags.push(misplaced(
                        l.span,
                        "a `let` in an environment",
                        "declare named values in the landscape: environments change `param`s and settings, never `let`s",
                    )),
                    Member::Assign(a) => {
                        let first = a.path.first().map(|k| k.node.as_str()).unwrap_or("");
                        if a.path.len() > 1 {
                            overrides.push(a);
                        } else if crate::check::schema::ENVIRONMENT.field(first).is_some() {
                            if let Some(prev) = env_settings.insert(first, a) {
                                diags.push(duplicate_setting(a, prev.path.first().map(|k| k.span)));
                            }
                        } else if landscape_params.contains_key(first) {
                            if let Some(prev) = env_assigns.insert(first, a) {
                                diags.push(duplicate_setting(a, prev.path.first().map(|k| k.span)));
                            }
                        } else if let Some(l) = def.body.lets().find(|l| l.name.node == first) {
                            diags.push(
                                Diagnostic::new(
                                    ErrorCode::UnknownSetting,
                                    format!("`{first}` is a `let` of the landscape, which environments cannot change"),
                                )
                                .label(a.path[0].span, "assigned here")
                                .label(l.name.span, "declared as a `let` here")
                                .help(format!("to let environments change it, declare it as a parameter: `param {first}: TYPE = …`")),
                            );
                        } else {
                            let candidates: Vec<&str> = landscape_params
                                .keys()
                                .copied()
                                .chain(
                                    crate::check::schema::ENVIRONMENT
                                        .names()
                                        .map(|n| -> &str { n }),
                                )
                                .collect();
                            let help = did_you_mean(first, candidates.iter().copied(), |all| {
                                format!(
                                    "an environment sets {}, or overrides a component setting with `component.setting = ...`",
                                    one_of(&all)
                                )
                            });
                            diags.push(
                                Diagnostic::new(
                                    ErrorCode::UnknownSetting,
                                    format!("`{first}` is not a landscape parameter or an environment setting"),
                                )
                                .label(a.path[0].span, "unknown here")
                                .help(help),
                            );
                        }
                    }
                }
            }
        }

        for member in &def.body.members {
            if let Member::Param(p) = member {
                let assigned = env_assigns
                    .get(p.name.node.as_str())
                    .map(|a| (&a.value, env_scope));
                self.bind_param(landscape_scope, p, landscape_scope, assigned, diags);
            }
        }
        if !self.options.placeholders && !self.options.shared_sets {
            self.check_unused_sets(def, env_def, diags);
        }

        let environment = env_def.map(|env| {
            let ttl = env_settings.get("ttl").and_then(|a| {
                self.eval_typed(
                    &a.value,
                    &crate::check::Type::PositiveDuration,
                    env_scope,
                    diags,
                )
            });
            let purpose = env_settings.get("purpose").and_then(|a| {
                self.eval_typed(&a.value, &crate::check::Type::Str, env_scope, diags)
            });
            let params = self.scopes[env_scope.0]
                .params
                .iter()
                .filter_map(|(k, v)| v.clone().map(|v| (k.to_string(), v)))
                .collect();
            let mut record = |setting: &str| {
                env_settings
                    .get(setting)
                    .zip(crate::check::schema::ENVIRONMENT.field(setting))
                    .and_then(|(a, field)| self.eval_typed(&a.value, &field.ty, env_scope, diags))
                    .and_then(|v| match v {
                        Value::Map(m) => Some(
                            m.iter()
                                .map(|(k, v)| (k.clone(), self.display(v)))
                                .collect(),
                        ),
                        _ => None,
                    })
                    .unwrap_or_default()
            };
            let shared = record("shared");
            let network = record("network");
            model::Environment {
                name: env.name.node.clone(),
                lifetime: match ttl {
                    Some(Value::Duration(ms)) => Lifetime::Ephemeral { ttl_ms: ms },
                    _ => Lifetime::Persistent,
                },
                purpose: purpose.map(|p| self.display(&p)),
                params,
                shared,
                network,
            }
        });

        if environment
            .as_ref()
            .is_some_and(|e| matches!(e.lifetime, Lifetime::Ephemeral { .. }))
        {
            self.ephemeral_scope = Some(env_scope);
        }
        if environment.is_some() {
            self.environment_scope = Some(env_scope);
        }
        for a in &overrides {
            if let Some((param, inclusion)) = a.path.split_last() {
                let full = inclusion
                    .iter()
                    .map(|k| k.node.as_str())
                    .collect::<Vec<_>>()
                    .join("-");
                self.include_overrides
                    .insert((full, param.node.as_str()), (&a.value, env_scope));
            }
        }
        self.including.push(root);
        let mut settings = BTreeMap::new();
        for member in &def.body.members {
            match member {
                Member::Component(c) => self.component(c, landscape_scope, landscape_scope, "", diags),
                Member::Param(_) | Member::Let(_) => {}
                Member::Assign(a) if a.path.len() == 1 && crate::check::schema::LANDSCAPE.field(&a.path[0].node).is_some() => {
                    let name = a.path[0].node.as_str();
                    let ty = crate::check::schema::LANDSCAPE.field(name).map(|f| &f.ty);
                    if let Some(ty) = ty
                        && let Some(v) = self.eval_typed(&a.value, ty, landscape_scope, diags)
                        && settings.insert(name.to_string(), v).is_some()
                    {
                        diags.push(duplicate_setting(a, None));
                    }
                    if name == "allow_floating_tags" {
                        self.allow_floating_tags = v_is_true(&settings, name);
                    }
                }
                Member::Assign(a) => diags.push(misplaced(
                    a.span,
                    "a setting directly in a landscape",
                    "a landscape holds `param` declarations and components; put settings inside a component, e.g. `service api { replicas = 2 }`",
                )),
            }
        }
        for c in env_components {
            self.component(c, landscape_scope, env_scope, "", diags);
        }
        self.including.pop();

        for a in overrides {
            self.apply_override(a, landscape_scope, env_scope, diags);
        }
        Some(Begun {
            def,
            landscape_scope,
            environment,
            settings,
        })
    }

    /// The components of the instances in `range`, their settings evaluated.
    fn complete_all(
        &mut self,
        range: std::ops::Range<usize>,
        diags: &mut Diagnostics,
    ) -> Vec<Completed<'p>> {
        let mut completed = Vec::with_capacity(range.len());
        completed.extend(range.filter_map(|i| self.complete(i, diags)));
        completed
    }

    /// The landscape of the `components` and then the `rest` (filled by
    /// the other half's evaluator), with the images the components build.
    fn finish(
        &mut self,
        begun: Begun<'p>,
        mut components: Vec<model::Component>,
        rest: Vec<model::Component>,
    ) -> model::Landscape {
        let Begun {
            def,
            landscape_scope,
            environment,
            settings,
        } = begun;
        components.extend(rest);
        let mut images: Vec<model::Image> = Vec::new();
        let used: Vec<String> = components
            .iter()
            .filter_map(|c| match c.settings.get("build") {
                Some(Value::Image(name)) => Some(name.clone()),
                _ => None,
            })
            .collect();
        let mut seen = BTreeSet::new();
        let mut queue = used;
        while let Some(name) = queue.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            if let Some(Some(image)) = self.images.get(&name) {
                if let Some(Value::Image(parent)) = image.settings.get("from") {
                    queue.push(parent.clone());
                }
                images.push(image.clone());
            }
        }
        images.sort_by(|a, b| a.name.cmp(&b.name));

        let params = self.scopes[landscape_scope.0]
            .params
            .iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k.to_string(), v)))
            .collect();
        model::Landscape {
            name: def.name.node.clone(),
            docs: def.docs.clone(),
            environment,
            params,
            settings,
            components,
            images,
        }
    }

    fn check_unused_sets(
        &mut self,
        def: &ast::Definition,
        env: Option<&ast::Definition>,
        diags: &mut Diagnostics,
    ) {
        let used = self.sets_used.clone();
        unknown_sets(&self.options.sets, &used, def, env.into_iter(), diags);
    }
}

/// Reports every `--set` that binds no parameter of `def` or of `envs`.
pub fn unknown_sets<'a>(
    sets: &[(String, String)],
    used: &BTreeSet<String>,
    def: &'a ast::Definition,
    envs: impl Iterator<Item = &'a ast::Definition>,
    diags: &mut Diagnostics,
) {
    {
        let mut known: Vec<&str> = def
            .body
            .params()
            .chain(envs.flat_map(|e| e.body.params()))
            .map(|p| p.name.node.as_str())
            .collect();
        known.sort_unstable();
        let mut reported = BTreeSet::new();
        for (name, _) in sets {
            if used.contains(name)
                || known.contains(&name.as_str())
                || !reported.insert(name.clone())
            {
                continue;
            }
            let help = did_you_mean(name, known.iter().copied(), |all| {
                if all.is_empty() {
                    String::from("this landscape and environment declare no parameters")
                } else {
                    format!("the parameters here are {}", one_of(&all))
                }
            });
            diags.push(
                Diagnostic::new(
                    ErrorCode::UnknownParameter,
                    format!("`--set {name}=…` names no parameter of this landscape or environment"),
                )
                .help(help),
            );
        }
    }
}

impl<'p> Evaluator<'p> {
    /// Binds parameter `p` in `scope`: `--set` beats an environment assignment,
    /// which beats the default.
    fn bind_param(
        &mut self,
        scope: ScopeId,
        p: &'p ast::Param,
        default_scope: ScopeId,
        assigned: Option<(&'p ast::Expr, ScopeId)>,
        diags: &mut Diagnostics,
    ) {
        let name = p.name.node.as_str();
        if self.scopes[scope.0].params.contains_key(name) {
            diags.push(
                Diagnostic::new(
                    ErrorCode::DuplicateParam,
                    format!("parameter `{name}` is declared twice"),
                )
                .label(p.name.span, "declared again here")
                .help("remove one of the declarations"),
            );
            return;
        }
        let Some(ty) = self.param_type(p, diags) else {
            self.scopes[scope.0].params.insert(name, None);
            return;
        };
        let from_cli = if self.cli_scopes.contains(&scope) {
            self.set_value(name)
        } else {
            None
        };
        let value = if let Some(text) = from_cli {
            self.sets_used.insert(name.to_string());
            match sets::parse_value(text, ty) {
                Ok(v) => Some(v),
                Err(expected) => {
                    diags.push(
                        Diagnostic::new(
                            ErrorCode::InvalidParameterValue,
                            format!("`--set {name}={text}` does not fit the parameter's type"),
                        )
                        .label(p.ty.span, "the parameter's type is declared here")
                        .help(format!("`{name}` expects {expected}")),
                    );
                    None
                }
            }
        } else if let Some((expr, s)) = assigned.or(p.default.as_ref().map(|d| (d, default_scope)))
        {
            let outer = self.binding.replace(name);
            let value = self.eval_typed(expr, ty, s, diags);
            self.binding = outer;
            value
        } else if self.options.placeholders && self.cli_scopes.contains(&scope) {
            Some(placeholder(name, ty))
        } else {
            diags.push(
                Diagnostic::new(
                    ErrorCode::MissingSetting,
                    format!("parameter `{name}` has no value"),
                )
                .label(p.name.span, "required parameter")
                .help(format!("give it a value with `--set {name}=…`, or declare a default: `param {name}: … = …`")),
            );
            None
        };
        self.scopes[scope.0]
            .params
            .insert(name, value.and_then(reuse::strip_nulls));
    }

    fn param_type(
        &self,
        p: &ast::Param,
        diags: &mut Diagnostics,
    ) -> Option<&'static crate::check::Type> {
        use crate::check::types::{TYPE_NAMES, TypeError};
        let t = &p.ty.node;
        let arg = t.arg.as_ref();
        if let Some(inner) = arg
            && inner.node.arg.is_some()
        {
            diags.push(
                Diagnostic::new(
                    ErrorCode::UnknownType,
                    "nested collection types are not supported",
                )
                .label(inner.span, "a collection inside a collection")
                .help("use `list<any>` or `map<any>` for nested data"),
            );
            return None;
        }
        match crate::check::parse_type(&t.name, arg.map(|a| a.node.name.as_str())) {
            Ok(ty) => Some(ty),
            Err(err) => {
                let (span, name) = match (&err, arg) {
                    (TypeError::UnknownArgument, Some(a)) => (a.span, a.node.name.as_str()),
                    _ => (p.ty.span, t.name.as_str()),
                };
                let help = match err {
                    TypeError::MissingArgument => {
                        format!("say what the {} holds, e.g. `{}<string>`", t.name, t.name)
                    }
                    _ => did_you_mean(name, TYPE_NAMES.iter().copied(), |all| {
                        format!("the types are {}", one_of(&all))
                    }),
                };
                diags.push(
                    Diagnostic::new(ErrorCode::UnknownType, format!("unknown type `{name}`"))
                        .label(span, "not a type")
                        .help(help),
                );
                None
            }
        }
    }

    /// Text of a value for messages and purposes.
    fn display(&self, v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Template(parts) => parts
                .iter()
                .map(|p| match p {
                    model::Part::Text(t) => t.clone(),
                    model::Part::Host(h) => h.clone(),
                    model::Part::Port(p) => p.number.to_string(),
                    model::Part::Url(c) => format!("{c}.url"),
                    model::Part::BucketName(c) => c.clone(),
                })
                .collect(),
            other => expr::scalar_text(other).unwrap_or_default(),
        }
    }
}

fn placeholder(name: &str, ty: &crate::check::Type) -> Value {
    use crate::check::Type;
    match ty {
        Type::Int | Type::NonNegative | Type::Count => Value::Int(1),
        Type::Float | Type::PositiveFloat => Value::Float(1.0),
        Type::Bool => Value::Bool(false),
        Type::Duration | Type::PositiveDuration => Value::Duration(1_000),
        Type::Size => Value::Size(1 << 20),
        Type::Secret => Value::Secret(format!("placeholder/{name}")),
        Type::Port => Value::Port(Box::new(model::PortRef {
            component: String::from("placeholder"),
            port: String::from("http"),
            number: 80,
        })),
        Type::List(_) => Value::List(Vec::new()),
        Type::Map(_) | Type::Record(_) => Value::Map(BTreeMap::new()),
        Type::Image => Value::Image(name.to_string()),
        Type::Component => Value::Component(name.to_string()),
        Type::PortNumber | Type::PortSpec => Value::Int(80),
        Type::UserId => Value::Int(10001),
        Type::OneOf(options) => Value::String(options.first().copied().unwrap_or("").to_string()),
        Type::HttpPath => Value::String(String::from("/")),
        _ => Value::String(name.to_string()),
    }
}

fn find_environment<'p>(
    program: &'p Program,
    name: &str,
    diags: &mut Diagnostics,
) -> Option<&'p ast::Definition> {
    let envs = crate::resolve::environments(program);
    if let Some(env) = envs.iter().find(|e| e.name.node == name) {
        return Some(env);
    }
    let help = did_you_mean(name, envs.iter().map(|e| e.name.node.as_str()), |all| {
        if all.is_empty() {
            String::from("this file declares no environments; add `environment NAME { ... }`")
        } else {
            format!("this file declares {}", one_of(&all))
        }
    });
    diags.push(
        Diagnostic::new(
            ErrorCode::UnknownEnvironment,
            format!("no environment named `{name}`"),
        )
        .help(help),
    );
    None
}

fn v_is_true(settings: &BTreeMap<String, Value>, name: &str) -> bool {
    settings.get(name) == Some(&Value::Bool(true))
}

/// E0309, labelled where the setting is given again and, when known, first.
fn duplicate_setting(a: &ast::Assign, first: Option<Span>) -> Diagnostic {
    let again = a.path.first().map(|k| k.span).unwrap_or(a.span).to(a
        .path
        .last()
        .map(|k| k.span)
        .unwrap_or(a.span));
    let mut diag = Diagnostic::new(
        ErrorCode::DuplicateSetting,
        format!("`{}` is set twice", a.path_text()),
    )
    .label(again, "set again here");
    if let Some(first) = first {
        diag = diag.label(first, "first set here");
    }
    diag.help("remove one of the assignments; each setting is given once per block")
}

fn misplaced(span: Span, what: &str, help: &str) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::MisplacedMember,
        format!("{what} is not allowed here"),
    )
    .label(span, "not allowed here")
    .help(help.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A landscape of `extra + 3` services, `early` first and `late` last:
    /// evaluating `early` reads a setting of `late` that refers elsewhere.
    fn crossing(extra: usize) -> String {
        let mut text = String::from(
            "landscape crossing {\n  service early {\n    image = \"nginx:1.27.0\"\n    env { A = \"${late.env.X}\" }\n  }\n",
        );
        for i in 0..extra {
            text.push_str(&format!(
                "  service s{i} {{\n    image = \"nginx:1.27.0\"\n    ports {{ http = 8080 }}\n    env {{ UP = \"${{early.host}}\" }}\n  }}\n"
            ));
        }
        text.push_str(
            "  service late {\n    image = \"nginx:1.27.0\"\n    command = [\"${s1.host}\"]\n    env { X = \"${s0.host}\", Y = \"${s2.ports.http}\" }\n  }\n}\n",
        );
        text
    }

    /// `text` evaluated in halves, asserted to be one run's landscape.
    fn halves_as_one_run(name: &str, text: String) -> model::Landscape {
        let mut diags = Diagnostics::default();
        let program = crate::resolve::load_text(name, text, &mut diags);
        assert!(diags.is_empty(), "{:?}", diags.into_vec());
        let root = root_landscape(&program, &mut diags).expect("a landscape");
        let options = Options::default();
        let one_run = Evaluator::new(&program, &options)
            .run(root, &mut diags)
            .expect("evaluates");
        assert!(diags.is_empty(), "{:?}", diags.into_vec());
        let halves = evaluate_in_halves(&program, &options, root).expect("evaluated in halves");
        assert_eq!(halves, one_run);
        halves
    }

    /// Evaluated in halves, a landscape is what one run over it gives: its
    /// references included, in one run's order. `late`'s `env` is read
    /// while `early` (first half) is evaluated, before its `command`, which
    /// the second half, on its own, evaluates first.
    #[test]
    fn a_landscape_evaluated_in_halves_is_the_one_run_landscape() {
        let halves = halves_as_one_run("crossing.bom", crossing(HALVES_FROM));
        let late = |l: &model::Landscape| -> Vec<(String, String)> {
            let late = l
                .components
                .iter()
                .find(|c| c.name == "late")
                .expect("late");
            late.references
                .iter()
                .map(|r| (r.setting.clone(), r.target.clone()))
                .collect()
        };
        assert_eq!(
            late(&halves),
            [("env", "s0"), ("env", "s2"), ("command", "s1")]
                .map(|(s, t)| (s.to_string(), t.to_string()))
        );
    }

    /// A `let` no setting reads is evaluated after every component, and may
    /// read any component's settings: the first half's are then filled only
    /// after it (and without one, on their own core before the join). Both
    /// give one run's landscape.
    #[test]
    fn a_let_no_setting_reads_still_reads_the_first_halfs_settings() {
        let text = crossing(HALVES_FROM).replacen(
            "landscape crossing {\n",
            "landscape crossing {\n  let spare = { P = s3.ports.http, E = early.env.A }\n",
            1,
        );
        let halves = halves_as_one_run("spare.bom", text);
        let (mut diags, options) = (Diagnostics::default(), Options::default());
        let s3 = halves
            .components
            .iter()
            .find(|c| c.name == "s3")
            .expect("s3");
        assert!(s3.settings.contains_key("ports"), "{:?}", s3.settings);
        // The `let` reads the setting as one run would, mistakes included.
        let wrong = crossing(HALVES_FROM).replacen(
            "landscape crossing {\n",
            "landscape crossing {\n  let spare = s3.env.NOPE\n",
            1,
        );
        let wrong = crate::resolve::load_text("wrong.bom", wrong, &mut diags);
        let root = root_landscape(&wrong, &mut diags).expect("a landscape");
        assert!(evaluate_in_halves(&wrong, &options, root).is_none());
        assert!(evaluate(&wrong, &options, &mut diags).is_none());
        assert_eq!(
            diags.into_vec().iter().map(|d| d.code).collect::<Vec<_>>(),
            [ErrorCode::UnknownAttribute]
        );
    }

    /// Too small a landscape, or a thread already sharing the cores, is
    /// evaluated on one core; so is one with a mistake, whose diagnostics
    /// one run reports.
    #[test]
    fn halves_only_where_they_pay_and_nothing_is_reported() {
        let mut diags = Diagnostics::default();
        let small = crate::resolve::load_text("small.bom", crossing(4), &mut diags);
        let root = root_landscape(&small, &mut diags).expect("a landscape");
        assert!(evaluate_in_halves(&small, &Options::default(), root).is_none());
        let large = crate::resolve::load_text("large.bom", crossing(HALVES_FROM), &mut diags);
        let root = root_landscape(&large, &mut diags).expect("a landscape");
        let shared = crate::parallel::on_two_cores(&[()], |()| {
            evaluate_in_halves(&large, &Options::default(), root).is_some()
        });
        assert_eq!(shared, [false]);
        let wrong = crossing(HALVES_FROM).replace("${s2.ports.http}", "${s2.ports.nope}");
        let wrong = crate::resolve::load_text("wrong.bom", wrong, &mut diags);
        let root = root_landscape(&wrong, &mut diags).expect("a landscape");
        assert!(evaluate_in_halves(&wrong, &Options::default(), root).is_none());
        assert!(evaluate(&wrong, &Options::default(), &mut diags).is_none());
        assert_eq!(
            diags.into_vec().iter().map(|d| d.code).collect::<Vec<_>>(),
            [ErrorCode::PortNotExposed]
        );
    }
}
