//! bomc: a compiler for bills of materials.
//!
//! Stages, each in its own module, data flowing one way:
//! `syntax` (text → AST) → `resolve` (imports, scopes) → `eval` (parameters,
//! environments, values, checked against `check`'s schemas) → `model` →
//! `graph` → `lower` (one typed plan per environment instance) → `emit`
//! (compose, CloudFormation, Dockerfiles) → `write`. They are chained here,
//! and only here: [`check_file`] runs every stage but writing, [`compile`]
//! and [`build`] are what `bomc build` runs; the CLI parses and prints.

pub mod check;
pub mod cli;
pub mod diag;
pub mod emit;
pub mod eval;
pub mod model;
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
}

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
    let (landscape, graph) = evaluate_graph(program, options, diags)?;
    let instance = lower::instance_name(&landscape);
    let ctx = lower::Context {
        source: settings.source,
        source_dir: settings.source_dir,
        now: settings.now,
        port_block: port_block(&landscape.name, &instance),
        out: settings.out,
    };
    match lower::lower(&landscape, &graph, &ctx) {
        Ok(plan) => Some(plan),
        Err(errors) => {
            errors.into_iter().for_each(|d| diags.push(d));
            None
        }
    }
}

/// Emits every target asked for from one plan.
pub fn build(
    plan: &lower::plan::Plan,
    targets: &[emit::Target],
    options: &emit::EmitOptions,
) -> Result<Vec<emit::Artifact>, Vec<Diagnostic>> {
    let mut artifacts = Vec::new();
    let mut errors = Vec::new();
    // compose.yaml builds from the Dockerfiles beside it: they go with it.
    let mut targets = targets.to_vec();
    if targets.contains(&emit::Target::Compose) && !plan.images.is_empty() {
        targets.push(emit::Target::Dockerfile);
        targets.sort();
        targets.dedup();
    }
    for target in &targets {
        match emit::emit(*target, plan, options) {
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
/// environment; otherwise the bare landscape and every environment (with
/// placeholders for required parameters not given by `--set`), plus the kinds
/// and images the file defines.
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
) {
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
        Ok(plan) => {
            let targets = [
                emit::Target::Compose,
                emit::Target::Cloudformation,
                emit::Target::Dockerfile,
            ];
            if let Err(errors) = build(&plan, &targets, &emit::EmitOptions::default()) {
                errors.into_iter().for_each(|d| diags.push(d));
            }
            warnings.extend(plan.warnings);
        }
        Err(errors) => errors.into_iter().for_each(|d| diags.push(d)),
    }
}

fn check_program(program: Program, mut diags: Diagnostics, options: &eval::Options) -> Checked {
    let mut landscapes = Vec::new();
    let mut warnings = Vec::new();
    if program.main().is_none() || !diags.is_empty() {
        return Checked {
            program,
            diagnostics: diags.into_vec(),
            warnings,
            landscapes,
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
            check_build(&program, &l, &g, &mut diags, &mut warnings);
            landscapes.push(l);
        }
        eval::check_definitions(&program, &mut diags);
    } else if has_landscape {
        let mut all = vec![None];
        all.extend(
            resolve::environments(&program)
                .iter()
                .map(|e| Some(e.name.node.clone())),
        );
        let mut names = BTreeSet::new();
        for env in all {
            if let Some(name) = &env
                && !names.insert(name.clone())
            {
                continue;
            }
            let opts = eval::Options {
                environment: env,
                sets: options.sets.clone(),
                placeholders: true,
                shared_sets: false,
            };
            let mut run = Diagnostics::default();
            if let Some((l, g)) = evaluate_graph(&program, &opts, &mut run) {
                check_build(&program, &l, &g, &mut run, &mut warnings);
                landscapes.push(l);
            }
            for d in run.into_vec() {
                diags.push(d);
            }
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
    }
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
