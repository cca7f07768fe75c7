//! bomc: a compiler for bills of materials.
//!
//! Stages, each in its own module, data flowing one way:
//! `syntax` (text → AST) → `resolve` (imports, scopes) → `eval` (parameters,
//! environments, values, checked against `check`'s schemas) → `model`.

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
/// diagnostics, and the environments that were evaluated.
pub struct Checked {
    pub program: Program,
    pub diagnostics: Vec<Diagnostic>,
    pub landscapes: Vec<model::Landscape>,
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
    let landscape = eval::evaluate(program, options, diags)?;
    let cycles = graph::cycles(&graph::Graph::build(&landscape));
    if cycles.is_empty() {
        Some(landscape)
    } else {
        cycles.into_iter().for_each(|d| diags.push(d));
        None
    }
}

fn check_program(program: Program, mut diags: Diagnostics, options: &eval::Options) -> Checked {
    let mut landscapes = Vec::new();
    if program.main().is_none() || !diags.is_empty() {
        return Checked {
            program,
            diagnostics: diags.into_vec(),
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
        if let Some(l) = evaluate_one(&program, options, &mut diags) {
            landscapes.push(l);
        }
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
            if let Some(l) = evaluate_one(&program, &opts, &mut run) {
                landscapes.push(l);
            }
            for d in run.into_vec() {
                diags.push(d);
            }
        }
        duplicate_environments(&program, &mut diags);
        if let Some(root) = eval::root_landscape(&program, &mut Diagnostics::default()) {
            let envs = resolve::environments(&program);
            eval::unknown_sets(
                &options.sets,
                &BTreeSet::new(),
                program.def(root),
                envs.into_iter(),
                &mut diags,
            );
        }
    }
    eval::check_definitions(&program, &mut diags);
    let mut seen = BTreeSet::new();
    let diagnostics = diags
        .into_vec()
        .into_iter()
        .filter(|d| seen.insert((d.code, d.message.clone(), d.primary_span())))
        .collect();
    Checked {
        program,
        diagnostics,
        landscapes,
    }
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
