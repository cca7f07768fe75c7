//! A cheap guard against superlinear passes: compiling and emitting a
//! generated landscape (`scripts/gen-landscape`) of 8× the services must cost
//! well under 8² times the CPU. Linear cost gives a ratio near 8; the bound of
//! 20 leaves room for a loaded machine and for allocator and cache effects,
//! while a quadratic pass costs 64×. CPU time of this thread (not wall time),
//! best of three: other tests and other processes do not count.

use bomc::diag::Diagnostics;
use bomc::emit::{EmitOptions, Target};
use std::path::Path;
use std::time::Duration;

const SMALL: usize = 400;
const LARGE: usize = 3_200;

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

/// CPU time this thread has used (Linux: utime + stime in /proc, in clock ticks of 10 ms).
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// Every stage `bomc build --env production` runs, on this thread.
fn compile_and_emit(text: &str) {
    let mut diags = Diagnostics::default();
    let program = bomc::resolve::load_text("generated.bom", text.to_string(), &mut diags);
    let options = bomc::eval::Options {
        environment: Some(String::from("production")),
        ..bomc::eval::Options::default()
    };
    let landscape = bomc::eval::evaluate(&program, &options, &mut diags).expect("evaluates");
    let graph = bomc::graph::Graph::build(&landscape);
    let ctx = bomc::lower::Context {
        source: "generated.bom",
        source_dir: Path::new("."),
        now: 0,
        port_block: 0,
        out: Path::new("out"),
    };
    let plan = bomc::lower::lower(&landscape, &graph, &ctx).unwrap_or_else(|_| panic!("lowers"));
    for target in [Target::Compose, Target::Cloudformation, Target::Dockerfile] {
        let artifacts = bomc::emit::emit(target, &plan, &EmitOptions::default())
            .unwrap_or_else(|_| panic!("emits"));
        assert!(!artifacts.is_empty());
    }
    assert!(diags.is_empty());
}

fn best_cpu(text: &str) -> Option<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let start = thread_cpu()?;
        compile_and_emit(text);
        best = best.min(thread_cpu()? - start);
    }
    Some(best)
}

#[test]
fn cost_grows_linearly_with_services() {
    let (small, large) = (landscape(SMALL), landscape(LARGE));
    let (Some(small_cpu), Some(large_cpu)) = (best_cpu(&small), best_cpu(&large)) else {
        eprintln!("no per-thread CPU time on this system: scaling not measured");
        return;
    };
    // A tick of 10 ms is the clock's resolution: never divide by less.
    let ratio = large_cpu.as_secs_f64() / small_cpu.as_secs_f64().max(0.01);
    eprintln!("{SMALL} services: {small_cpu:?} CPU, {LARGE}: {large_cpu:?} CPU, ratio {ratio:.1}");
    assert!(
        ratio < 20.0,
        "{LARGE} services cost {ratio:.1}× the CPU of {SMALL} ({small_cpu:?} → {large_cpu:?}): a pass grows faster than linearly"
    );
}
