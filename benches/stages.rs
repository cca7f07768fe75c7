//! Per-stage benchmarks on issue 14's generated landscape
//! (`scripts/gen-landscape N`) for N = 10, 100, 1,000 and 10,000 services,
//! `--env production`: parse, resolve, evaluate, graph, lower, each emitter,
//! and writing the artifacts. Few samples, so the whole run stays short; the
//! whole-process figures come from `scripts/bench`.
//!
//! Run: `cargo bench --bench stages` (one stage: `cargo bench --bench stages -- lower`).

use bomc::diag::Diagnostics;
use bomc::emit::{self, EmitOptions, Target};
use bomc::eval::Options;
use bomc::graph::Graph;
use bomc::lower::plan::Plan;
use bomc::resolve::Program;
use divan::Bencher;
use std::path::Path;

const SIZES: &[usize] = &[10, 100, 1_000, 10_000];

fn main() {
    divan::main();
}

/// The generated landscape's text, from the one generator the scripts use.
fn landscape(n: usize) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/gen-landscape");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(n.to_string())
        .output()
        .expect("python3 runs scripts/gen-landscape");
    assert!(out.status.success(), "scripts/gen-landscape {n} failed");
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn production() -> Options {
    Options {
        environment: Some(String::from("production")),
        ..Options::default()
    }
}

fn program(n: usize) -> Program {
    let mut diags = Diagnostics::default();
    let program = bomc::resolve::load_text("generated.bom", landscape(n), &mut diags);
    assert!(diags.is_empty(), "the generated landscape loads");
    program
}

fn evaluated(n: usize) -> (Program, bomc::model::Landscape) {
    let program = program(n);
    let landscape = bomc::eval::evaluate(&program, &production(), &mut Diagnostics::default())
        .expect("the generated landscape evaluates");
    (program, landscape)
}

fn lower(landscape: &bomc::model::Landscape, graph: &Graph) -> Plan {
    let ctx = bomc::lower::Context {
        source: "generated.bom",
        source_dir: Path::new("."),
        now: 0,
        port_block: 0,
        out: Path::new("out"),
    };
    bomc::lower::lower(landscape, graph, &ctx).unwrap_or_else(|_| panic!("lowers"))
}

fn plan(n: usize) -> Plan {
    let (_, landscape) = evaluated(n);
    let graph = Graph::build(&landscape);
    lower(&landscape, &graph)
}

#[divan::bench(args = SIZES, sample_count = 5, sample_size = 1)]
fn parse(bencher: Bencher, n: usize) {
    let text = landscape(n);
    bencher
        .bench(|| bomc::syntax::parse(bomc::source::FileId(0), &text, &mut Diagnostics::default()));
}

#[divan::bench(args = SIZES, sample_count = 5, sample_size = 1)]
fn resolve(bencher: Bencher, n: usize) {
    let text = landscape(n);
    bencher.bench(|| {
        bomc::resolve::load_text("generated.bom", text.clone(), &mut Diagnostics::default())
    });
}

#[divan::bench(args = SIZES, sample_count = 5, sample_size = 1)]
fn evaluate(bencher: Bencher, n: usize) {
    let program = program(n);
    let options = production();
    bencher.bench(|| bomc::eval::evaluate(&program, &options, &mut Diagnostics::default()));
}

#[divan::bench(args = SIZES, sample_count = 5, sample_size = 1)]
fn graph(bencher: Bencher, n: usize) {
    let (_, landscape) = evaluated(n);
    bencher.bench(|| Graph::build(&landscape));
}

#[divan::bench(args = SIZES, sample_count = 5, sample_size = 1)]
fn lowering(bencher: Bencher, n: usize) {
    let (_, landscape) = evaluated(n);
    let graph = Graph::build(&landscape);
    bencher.bench(|| lower(&landscape, &graph));
}

fn emit_bench(bencher: Bencher, n: usize, target: Target, options: EmitOptions) {
    let plan = plan(n);
    bencher.bench(|| emit::emit(target, &plan, &options).unwrap_or_else(|_| panic!("emits")));
}

#[divan::bench(args = SIZES, sample_count = 5, sample_size = 1)]
fn emit_compose(bencher: Bencher, n: usize) {
    emit_bench(bencher, n, Target::Compose, EmitOptions::default());
}

#[divan::bench(args = SIZES, sample_count = 5, sample_size = 1)]
fn emit_cloudformation(bencher: Bencher, n: usize) {
    emit_bench(bencher, n, Target::Cloudformation, EmitOptions::default());
}

#[divan::bench(args = SIZES, sample_count = 5, sample_size = 1)]
fn emit_cloudformation_yaml(bencher: Bencher, n: usize) {
    let options = EmitOptions {
        cloudformation_yaml: true,
        ..EmitOptions::default()
    };
    emit_bench(bencher, n, Target::Cloudformation, options);
}

#[divan::bench(args = SIZES, sample_count = 5, sample_size = 1)]
fn emit_dockerfile(bencher: Bencher, n: usize) {
    emit_bench(bencher, n, Target::Dockerfile, EmitOptions::default());
}

#[divan::bench(args = SIZES, sample_count = 5, sample_size = 1)]
fn write(bencher: Bencher, n: usize) {
    let plan = plan(n);
    let targets = [Target::Compose, Target::Cloudformation, Target::Dockerfile];
    let artifacts =
        bomc::build(&plan, &targets, &EmitOptions::default()).unwrap_or_else(|_| panic!("emits"));
    let instance = &plan.instance;
    let outputs = [bomc::write::Output {
        dir: Path::new(&instance.landscape).join(&instance.instance),
        info: bomc::write::Instance {
            project: instance.project.clone(),
            port_block: instance.port_block,
            source: String::from("generated.bom"),
            landscape: instance.landscape.clone(),
            environment: instance.environment.clone(),
            instance: instance.instance.clone(),
            lifetime: String::from("persistent"),
            purpose: instance.purpose.clone(),
            expires: None,
            notes: Vec::new(),
        },
        artifacts,
    }];
    let root = std::env::temp_dir().join(format!("bomc-bench-write-{}", std::process::id()));
    bencher.bench(|| bomc::write::write(&root, &outputs).expect("writes"));
    let _ = std::fs::remove_dir_all(&root);
}
