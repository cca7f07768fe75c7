//! bomc: a compiler for bills of materials.
//!
//! Stages, each in its own module, data flowing one way:
//! `syntax` (text → AST) → `resolve` (imports, scopes) → `eval` (parameters,
//! environments, values, checked against `check`'s schemas) → `model` →
//! `graph` → `lower` (one typed plan per environment instance) → `emit`
//! (compose, CloudFormation, Dockerfiles) → `diff` → `write`. They are
//! chained here, and only here: [`check_file`] runs every stage but writing,
//! [`compile`] and [`build`] are what `bomc build` runs, [`diff`] what
//! `bomc diff` runs; the CLI parses and prints.

pub mod check;
pub mod cli;
pub mod diag;
pub mod diff;
pub mod emit;
pub mod eval;
pub mod format;
pub mod import;
pub mod model;
mod parallel;
pub use parallel::{Arenas, run_on_two_cores};
pub mod resolve;
pub mod source;
pub mod syntax;

use diag::{Diagnostic, Diagnostics};
use resolve::Program;
use std::collections::BTreeSet;

/// The result of checking a file: the loaded program (for rendering), the
/// errors, the warnings (what bomc would change or ignore when building), and
/// the environments that were evaluated.
pub struct Checked {
    pub program: Program,
    pub diagnostics: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
    pub landscapes: Vec<model::Landscape>,
    /// What checking built besides the landscapes, and no caller reads.
    pub built: Vec<Built>,
}

/// An environment's graph and lowered plan, once checked: held, not freed,
/// so that a caller about to end (`bomc check`) leaves them to the exit. Each
/// is many small allocations, and freeing both took 1.2 ms of each core's
/// 26 in `check` at N = 1,000.
pub struct Built {
    _graph: graph::Graph,
    _plan: Option<lower::plan::Plan>,
}

/// A hash map for bomc's own names (component names, node and resource
/// ids): looked up tens of thousands of times in a large landscape, with a
/// fast hasher and a fixed seed, since no one chooses these keys to collide.
pub type IdMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;

/// Where a build writes and when it happens: what lowering needs besides the model.
pub struct BuildSettings<'a> {
    /// The `.bom` file as the user named it.
    pub source: &'a str,
    pub source_dir: &'a std::path::Path,
    /// Build time, seconds since the epoch.
    pub now: i64,
    /// The output root.
    pub out: &'a std::path::Path,
}

/// Evaluates one landscape of a loaded program, builds its graph and lowers
/// it to a plan. `port_block` gives the instance (landscape, instance name)
/// its block of host ports.
pub fn compile(
    program: &Program,
    options: &eval::Options,
    settings: &BuildSettings,
    port_block: &mut dyn FnMut(&str, &str) -> u32,
    diags: &mut Diagnostics,
) -> Option<lower::plan::Plan> {
    compile_graph(program, options, settings, port_block, diags).map(|(plan, _)| plan)
}

/// [`compile`], keeping the graph the plan was lowered from.
fn compile_graph(
    program: &Program,
    options: &eval::Options,
    settings: &BuildSettings,
    port_block: &mut dyn FnMut(&str, &str) -> u32,
    diags: &mut Diagnostics,
) -> Option<(lower::plan::Plan, graph::Graph)> {
    evaluate_for_build(program, options, diags)?.lower_graph(settings, port_block, diags)
}

/// A landscape and its graph, lowered: no target reads them.
pub struct Spent {
    _landscape: model::Landscape,
    _graph: graph::Graph,
}

/// A landscape evaluated and not yet lowered: [`compile`] in two steps, so
/// that the program's syntax trees, which lowering does not read, can be
/// freed in between.
pub struct Evaluated {
    landscape: model::Landscape,
}

/// [`compile`]'s first step.
pub fn evaluate_for_build(
    program: &Program,
    options: &eval::Options,
    diags: &mut Diagnostics,
) -> Option<Evaluated> {
    eval::evaluate(program, options, diags).map(|landscape| Evaluated { landscape })
}

impl Evaluated {
    /// [`compile`]'s second step: the plan, and what it was lowered from,
    /// for [`build_into`] to free.
    pub fn lower(
        self,
        settings: &BuildSettings,
        port_block: &mut dyn FnMut(&str, &str) -> u32,
        diags: &mut Diagnostics,
    ) -> Option<(lower::plan::Plan, Spent)> {
        let (plan, graph) = self.lower_graph(settings, port_block, diags)?;
        Some((
            plan,
            Spent {
                _landscape: self.landscape,
                _graph: graph,
            },
        ))
    }

    /// [`Evaluated::lower`], keeping the graph. The graph is built (and
    /// checked for cycles) on the other core while this one makes each
    /// component's workload, which reads no graph: the graph was a fifth of
    /// lowering's path at N = 1,000, on one core.
    fn lower_graph(
        &self,
        settings: &BuildSettings,
        port_block: &mut dyn FnMut(&str, &str) -> u32,
        diags: &mut Diagnostics,
    ) -> Option<(lower::plan::Plan, graph::Graph)> {
        let landscape = &self.landscape;
        let instance = lower::instance_name(landscape);
        let ctx = lower::Context {
            source: settings.source,
            source_dir: settings.source_dir,
            now: settings.now,
            port_block: port_block(&landscape.name, &instance),
            out: settings.out,
        };
        let ((graph, cycles), begun) = parallel::beside(
            || {
                let graph = graph::Graph::build(landscape);
                let cycles = graph::cycles(&graph);
                (graph, cycles)
            },
            || lower::begin(landscape, &ctx),
        );
        if !cycles.is_empty() {
            cycles.into_iter().for_each(|d| diags.push(d));
            return None;
        }
        match lower::finish(landscape, &graph, &ctx, begun) {
            Ok(plan) => Some((plan, graph)),
            Err(errors) => {
                errors.into_iter().for_each(|d| diags.push(d));
                None
            }
        }
    }
}

/// Emits every target asked for from one plan.
pub fn build(
    plan: &lower::plan::Plan,
    targets: &[emit::Target],
    options: &emit::EmitOptions,
) -> Result<Vec<emit::Artifact>, Vec<Diagnostic>> {
    build_into(plan, targets, options, &Ok, ())
}

/// A target's files, or what it refused.
type Made<T> = (emit::Target, Result<Vec<T>, Vec<Diagnostic>>);

/// [`build`], each file handed to `keep` as soon as it is made; `spent`
/// (what the plan was lowered from) freed first, on the core that makes
/// compose.
pub fn build_into<T: Send>(
    plan: &lower::plan::Plan,
    targets: &[emit::Target],
    options: &emit::EmitOptions,
    keep: emit::Keep<'_, T>,
    spent: impl Send,
) -> Result<Vec<T>, Vec<Diagnostic>> {
    let mut artifacts = Vec::new();
    let mut errors = Vec::new();
    // compose.yaml builds from the Dockerfiles beside it: they go with it.
    let mut targets = targets.to_vec();
    if targets.contains(&emit::Target::Compose) && !plan.images.is_empty() {
        targets.push(emit::Target::Dockerfile);
        targets.sort();
        targets.dedup();
    }
    let emit_each = |targets: &[emit::Target]| -> Vec<Made<T>> {
        targets
            .iter()
            .map(|target| (*target, emit::emit_into(*target, plan, options, keep)))
            .collect()
    };
    // Compose, then the Dockerfiles, on the other core while this one makes
    // CloudFormation: they share only the plan, and the two cores take 9 %
    // off a build at N = 1,000. What compose frees, CloudFormation's split
    // reuses (one arena, `parallel::Arenas::One`, and jemalloc's options in
    // `main.rs`): at N = 10,000 the peak is 258–279 MiB.
    let (here, there): (Vec<emit::Target>, Vec<emit::Target>) = targets
        .iter()
        .partition(|target| **target == emit::Target::Cloudformation);
    // What the plan was lowered from is freed before emission allocates,
    // its memory reused (at N = 10,000, freed on another core while the
    // targets were made, it raised the peak from 282 to 312 MiB): before
    // compose, which waits less for it than CloudFormation's split does
    // for compose (at N = 1,000 the core that makes compose and the
    // Dockerfiles is free 3–4 ms before the split needs both).
    let mut made = if here.is_empty() || there.is_empty() {
        drop(spent);
        emit_each(&targets)
    } else {
        let (mut made, made_here) = crate::parallel::beside(
            || {
                drop(spent);
                emit_each(&there)
            },
            || emit_each(&here),
        );
        made.extend(made_here);
        made
    };
    // In the targets' order, whichever core made them.
    made.sort_by_key(|(target, _)| *target);
    for (_, result) in made {
        match result {
            Ok(mut a) => artifacts.append(&mut a),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(artifacts)
    } else {
        Err(errors)
    }
}

/// Loads and checks `path`. With `options.environment` set, checks that one
/// environment; otherwise every environment (with placeholders for required
/// parameters not given by `--set`), or the bare landscape when none is
/// declared, as `bomc build` builds them; plus the kinds and images the file
/// defines.
pub fn check_file(path: &std::path::Path, options: &eval::Options) -> Checked {
    let mut diags = Diagnostics::default();
    let program = resolve::load_file(path, &mut diags).unwrap_or_default();
    check_program(program, diags, options)
}

/// [`check_file`] on text instead of a file.
pub fn check_text(name: &str, text: String, options: &eval::Options) -> Checked {
    let mut diags = Diagnostics::default();
    let program = resolve::load_text(name, text, &mut diags);
    check_program(program, diags, options)
}

/// Loads `path` and evaluates exactly one landscape: the bare landscape, or
/// `options.environment` overlaid on it. Cycles are reported as diagnostics.
pub fn evaluate_file(path: &std::path::Path, options: &eval::Options) -> Checked {
    let mut diags = Diagnostics::default();
    let program = resolve::load_file(path, &mut diags).unwrap_or_default();
    let mut landscapes = Vec::new();
    if diags.is_empty()
        && let Some(l) = evaluate_one(&program, options, &mut diags)
    {
        landscapes.push(l);
    }
    Checked {
        program,
        diagnostics: diags.into_vec(),
        warnings: Vec::new(),
        landscapes,
        built: Vec::new(),
    }
}

/// Evaluates one landscape of a loaded program and checks its graph for cycles.
pub fn evaluate_landscape(
    program: &Program,
    options: &eval::Options,
    diags: &mut Diagnostics,
) -> Option<model::Landscape> {
    evaluate_one(program, options, diags)
}

/// Evaluates one landscape and checks its graph for cycles.
fn evaluate_one(
    program: &Program,
    options: &eval::Options,
    diags: &mut Diagnostics,
) -> Option<model::Landscape> {
    evaluate_graph(program, options, diags).map(|(l, _)| l)
}

/// The environments `bomc build` builds without `--env`, each once, in
/// declaration order; the bare landscape (`None`) when none is declared.
fn built_environments(program: &Program) -> Vec<Option<String>> {
    let mut names = BTreeSet::new();
    let mut envs: Vec<Option<String>> = resolve::environments(program)
        .iter()
        .filter(|e| names.insert(e.name.node.as_str()))
        .map(|e| Some(e.name.node.clone()))
        .collect();
    if envs.is_empty() {
        envs.push(None);
    }
    envs
}

/// One of [`built_environments`] evaluated with its graph, as `check`
/// evaluates it: a required parameter `--set` does not give held by a
/// placeholder. Its diagnostics apart, for the caller to gather in order.
fn evaluate_built_environment(
    program: &Program,
    env: &Option<String>,
    options: &eval::Options,
) -> (Diagnostics, Option<(model::Landscape, graph::Graph)>) {
    let opts = eval::Options {
        environment: env.clone(),
        sets: options.sets.clone(),
        placeholders: true,
        shared_sets: false,
    };
    let mut diags = Diagnostics::default();
    let evaluated = evaluate_graph(program, &opts, &mut diags);
    (diags, evaluated)
}

/// Loads `path` and evaluates, each with the graph made to find its
/// cycles, `options.environment`'s landscape; without one, those `bomc
/// build` builds: every declared environment (a required parameter `--set`
/// does not give held by a placeholder), or the bare landscape when none is
/// declared. A cycle in any is a diagnostic.
pub fn evaluate_environments(
    path: &std::path::Path,
    options: &eval::Options,
) -> (Checked, Vec<graph::Graph>) {
    let mut diags = Diagnostics::default();
    let program = resolve::load_file(path, &mut diags).unwrap_or_default();
    let mut landscapes = Vec::new();
    let mut graphs = Vec::new();
    if diags.is_empty() && program.main().is_some() {
        let evaluated = if options.environment.is_some() {
            let mut env_diags = Diagnostics::default();
            let one = evaluate_graph(&program, options, &mut env_diags);
            vec![(env_diags, one)]
        } else {
            // Each on a core of its own, in the environments' order.
            parallel::on_two_cores(&built_environments(&program), |env| {
                evaluate_built_environment(&program, env, options)
            })
        };
        for (env_diags, evaluated) in evaluated {
            env_diags.into_vec().into_iter().for_each(|d| diags.push(d));
            if let Some((l, g)) = evaluated {
                landscapes.push(l);
                graphs.push(g);
            }
        }
    }
    let checked = Checked {
        program,
        diagnostics: diags.into_vec(),
        warnings: Vec::new(),
        landscapes,
        built: Vec::new(),
    };
    (checked, graphs)
}

/// Evaluates one landscape and builds its graph, free of cycles.
fn evaluate_graph(
    program: &Program,
    options: &eval::Options,
    diags: &mut Diagnostics,
) -> Option<(model::Landscape, graph::Graph)> {
    let landscape = eval::evaluate(program, options, diags)?;
    let graph = graph::Graph::build(&landscape);
    let cycles = graph::cycles(&graph);
    if cycles.is_empty() {
        Some((landscape, graph))
    } else {
        cycles.into_iter().for_each(|d| diags.push(d));
        None
    }
}

/// Lowers an evaluated landscape and emits every target in memory, as a
/// build would, so `check` reports whatever `build` would refuse.
fn check_build(
    program: &Program,
    landscape: &model::Landscape,
    graph: &graph::Graph,
    diags: &mut Diagnostics,
    warnings: &mut Vec<Diagnostic>,
) -> Option<lower::plan::Plan> {
    let source = program
        .main()
        .map(|m| program.sources.get(m.file).name.clone())
        .unwrap_or_default();
    let ctx = lower::Context {
        source: &source,
        source_dir: std::path::Path::new("."),
        now: 0,
        port_block: 0,
        out: std::path::Path::new("out"),
    };
    match lower::lower(landscape, graph, &ctx) {
        Ok(mut plan) => {
            let targets = [
                emit::Target::Compose,
                emit::Target::Cloudformation,
                emit::Target::Dockerfile,
            ];
            let validate = emit::EmitOptions {
                validate_only: true,
                ..emit::EmitOptions::default()
            };
            if let Err(errors) = build(&plan, &targets, &validate) {
                errors.into_iter().for_each(|d| diags.push(d));
            }
            warnings.append(&mut plan.warnings);
            Some(plan)
        }
        Err(errors) => {
            errors.into_iter().for_each(|d| diags.push(d));
            None
        }
    }
}

fn check_program(program: Program, mut diags: Diagnostics, options: &eval::Options) -> Checked {
    let mut landscapes = Vec::new();
    let mut warnings = Vec::new();
    let mut built = Vec::new();
    if program.main().is_none() || !diags.is_empty() {
        return Checked {
            program,
            diagnostics: diags.into_vec(),
            warnings,
            landscapes,
            built,
        };
    }
    let has_landscape = program.main().is_some_and(|m| {
        m.ast
            .definitions
            .iter()
            .any(|d| d.kind == syntax::ast::DefKind::Landscape)
    });
    if options.environment.is_some() {
        if let Some((l, g)) = evaluate_graph(&program, options, &mut diags) {
            let plan = check_build(&program, &l, &g, &mut diags, &mut warnings);
            landscapes.push(l);
            built.push(Built {
                _graph: g,
                _plan: plan,
            });
        }
        eval::check_definitions(&program, &mut diags);
    } else if has_landscape {
        // With environments declared, `bomc build` builds each of them and
        // never the bare landscape: checking it could only report, as one a
        // build would refuse, a mistake that every environment overrides.
        let envs = built_environments(&program);
        // Two at most, one on each core, are held to the end; a core that
        // checks more frees each one's before the next, reusing its memory.
        let hold = envs.len() <= 2;
        let evaluate = |env: &Option<String>| evaluate_built_environment(&program, env, options);
        let lower_and_emit = |_: &Option<String>, (diags, evaluated)| {
            let mut run = EnvironmentCheck {
                diags,
                ..EnvironmentCheck::default()
            };
            if let Some((l, g)) = evaluated {
                let plan = check_build(&program, &l, &g, &mut run.diags, &mut run.warnings);
                run.landscape = Some(l);
                run.built = hold.then_some(Built {
                    _graph: g,
                    _plan: plan,
                });
            }
            run
        };
        // Several landscapes go two at a time, each in two halves
        // (evaluation, then lowering and emission), so that both cores stay
        // busy to the end with an odd number; one alone shares each stage out.
        for run in parallel::in_two_stages(&envs, evaluate, lower_and_emit) {
            warnings.extend(run.warnings);
            landscapes.extend(run.landscape);
            built.extend(run.built);
            diags.absorb(run.diags);
        }
        check_file_level(&program, &options.sets, &mut diags);
    } else {
        eval::check_definitions(&program, &mut diags);
    }
    let mut seen = BTreeSet::new();
    let diagnostics = diags
        .into_vec()
        .into_iter()
        .filter(|d| seen.insert((d.code, d.message.clone(), d.primary_span())))
        .collect();
    let warnings = warnings
        .into_iter()
        .filter(|d| seen.insert((d.code, d.message.clone(), d.primary_span())))
        .collect();
    Checked {
        program,
        diagnostics,
        warnings,
        landscapes,
        built,
    }
}

/// What checking one environment (or the bare landscape) found.
#[derive(Default)]
struct EnvironmentCheck {
    diags: Diagnostics,
    warnings: Vec<Diagnostic>,
    landscape: Option<model::Landscape>,
    built: Option<Built>,
}

/// What `check` finds in a file beyond its environments: environments
/// declared twice, `--set` names no environment declares, and the kinds and
/// images the file defines. `bomc build` runs this once, with each
/// environment it builds, instead of checking the whole file again.
pub fn check_file_level(program: &Program, sets: &[(String, String)], diags: &mut Diagnostics) {
    duplicate_environments(program, diags);
    if let Some(root) = eval::root_landscape(program, &mut Diagnostics::default()) {
        let envs = resolve::environments(program);
        eval::unknown_sets(
            sets,
            &BTreeSet::new(),
            program.def(root),
            envs.into_iter(),
            diags,
        );
    }
    eval::check_definitions(program, diags);
}

fn duplicate_environments(program: &Program, diags: &mut Diagnostics) {
    let mut first: std::collections::BTreeMap<&str, source::Span> = Default::default();
    for env in resolve::environments(program) {
        if let Some(span) = first.get(env.name.node.as_str()) {
            diags.push(
                Diagnostic::new(
                    diag::ErrorCode::DuplicateDefinition,
                    format!("environment `{}` is declared twice", env.name.node),
                )
                .label(env.name.span, "declared again here")
                .label(*span, "first declared here")
                .help("environment names are unique in a file; rename one"),
            );
        } else {
            first.insert(&env.name.node, env.name.span);
        }
    }
}
pub mod graph;
pub mod lower;
pub mod write;

/// What `bomc diff` compares, and how.
pub struct DiffRequest<'a> {
    /// The environments to compare; empty: every environment either version
    /// declares (the bare landscape if neither declares one).
    pub environments: &'a [String],
    pub sets: &'a [(String, String)],
    /// The new file as the user named it. Both versions are compiled as this
    /// file, in its folder, at one fixed time and port block, so that only
    /// what the `.bom` files say differs.
    pub source: &'a str,
    pub source_dir: &'a std::path::Path,
}

/// A version that does not check: `old` tells which, with its diagnostics.
pub struct DiffError {
    pub old: bool,
    pub diagnostics: Vec<Diagnostic>,
}

/// Compares two versions of a file, environment by environment: each is
/// evaluated, lowered and emitted to every target in memory (required
/// parameters without a `--set` get placeholders, as `check` gives them), and
/// [`diff::environment`] compares the results. `old` is `None` when the file
/// is new. Either version failing to check is an error.
pub fn diff(
    old: Option<&Program>,
    new: &Program,
    request: &DiffRequest,
) -> Result<Vec<diff::EnvironmentDiff>, DiffError> {
    let fail = |old: bool, diags: Diagnostics| DiffError {
        old,
        diagnostics: diags.into_vec(),
    };
    for (is_old, program) in [(true, old), (false, Some(new))] {
        let Some(program) = program else { continue };
        let mut diags = Diagnostics::default();
        check_file_level(program, request.sets, &mut diags);
        if !diags.is_empty() {
            return Err(fail(is_old, diags));
        }
    }
    let declared = |p: &Program| -> Vec<Option<String>> {
        let mut names: Vec<Option<String>> = Vec::new();
        for e in resolve::environments(p) {
            let name = Some(e.name.node.clone());
            if !names.contains(&name) {
                names.push(name);
            }
        }
        if names.is_empty() {
            names.push(None);
        }
        names
    };
    let new_envs = declared(new);
    let old_envs = old.map(declared).unwrap_or_default();
    let envs: Vec<Option<String>> = if request.environments.is_empty() {
        let mut all = new_envs.clone();
        all.extend(old_envs.iter().filter(|e| !new_envs.contains(e)).cloned());
        all
    } else {
        request.environments.iter().cloned().map(Some).collect()
    };
    let mut out = Vec::new();
    for env in envs {
        let in_old = old_envs.contains(&env);
        let in_new = new_envs.contains(&env) || !in_old;
        let placeholders = placeholders(if in_new { Some(new) } else { old }, &env, request.sets);
        let ctx = diff::Context {
            environment: env.clone().unwrap_or_else(|| String::from("default")),
            placeholders,
        };
        // The two versions at once: compiling and emitting a large
        // landscape is most of the time a diff takes.
        let (old_side, new_side) = parallel::both(
            || match (old, in_old) {
                (Some(p), true) => lower_side(p, &env, request).and_then(emit_side).map(Some),
                _ => Ok(None),
            },
            || {
                if in_new {
                    lower_side(new, &env, request).and_then(emit_side).map(Some)
                } else {
                    Ok(None)
                }
            },
        );
        let old_side = old_side.map_err(|d| fail(true, d))?;
        let new_side = new_side.map_err(|d| fail(false, d))?;
        match (&old_side, &new_side) {
            (_, Some(n)) => out.push(diff::environment(old_side.as_ref(), n, &ctx)),
            (Some(o), None) => out.push(diff::removed_environment(o, &ctx)),
            (None, None) => {}
        }
    }
    Ok(out)
}

/// The required parameters of an environment that no `--set` gives.
fn placeholders(
    program: Option<&Program>,
    env: &Option<String>,
    sets: &[(String, String)],
) -> Vec<String> {
    let (Some(program), Some(env)) = (program, env) else {
        return Vec::new();
    };
    resolve::environments(program)
        .into_iter()
        .filter(|e| e.name.node == *env)
        .flat_map(|e| e.body.params())
        .filter(|p| p.default.is_none() && !sets.iter().any(|(k, _)| *k == p.name.node))
        .map(|p| p.name.node.clone())
        .collect()
}

/// Evaluates and lowers one environment of one version, for a diff.
fn lower_side(
    program: &Program,
    env: &Option<String>,
    request: &DiffRequest,
) -> Result<(lower::plan::Plan, graph::Graph), Diagnostics> {
    let options = eval::Options {
        environment: env.clone(),
        sets: request.sets.to_vec(),
        placeholders: true,
        shared_sets: true,
    };
    let settings = BuildSettings {
        source: request.source,
        source_dir: request.source_dir,
        now: 0,
        out: std::path::Path::new("out"),
    };
    let mut diags = Diagnostics::default();
    match compile_graph(program, &options, &settings, &mut |_, _| 0, &mut diags) {
        Some(side) if diags.is_empty() => Ok(side),
        _ => Err(diags),
    }
}

/// Emits every target of a lowered environment in memory, for a diff.
fn emit_side((plan, graph): (lower::plan::Plan, graph::Graph)) -> Result<diff::Side, Diagnostics> {
    let targets = [
        emit::Target::Compose,
        emit::Target::Cloudformation,
        emit::Target::Dockerfile,
    ];
    match build(&plan, &targets, &emit::EmitOptions::default()) {
        Ok(artifacts) => Ok(diff::Side {
            plan,
            graph,
            artifacts,
        }),
        Err(errors) => {
            let mut diags = Diagnostics::default();
            errors.into_iter().for_each(|d| diags.push(d));
            Err(diags)
        }
    }
}
