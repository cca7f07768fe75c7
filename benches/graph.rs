//! Scaling benchmark: generated landscapes of 1,000 and 10,000 components,
//! timed through evaluation (parse, resolve, evaluate, check), graph building
//! and impact queries. Prints milliseconds per phase and the 10k/1k ratio;
//! linear cost gives a ratio near 10.
//!
//! Run: `cargo bench --bench graph`

use bomc::eval::Options;
use bomc::graph::{self, Graph};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// A landscape of `n` components: one database per 20 services, services that
/// call the previous one and their database, and a load balancer routing to
/// every tenth service.
fn landscape(n: usize) -> String {
    let mut text =
        String::from("import \"postgres\"\nimport \"load_balancer\"\n\nlandscape generated {\n");
    let dbs = n / 21 + 1;
    for d in 0..dbs {
        let _ = writeln!(
            text,
            "  postgres db{d} {{\n    database = \"db{d}\"\n    password = secret(\"generated/db{d}\")\n  }}"
        );
    }
    let services = n.saturating_sub(dbs + 1);
    for s in 0..services {
        let db = s % dbs;
        let _ = write!(
            text,
            "  service svc{s} {{\n    image = \"ghcr.io/generated/svc:1.0.{s}\"\n    ports {{ http = 8080 }}\n    env {{\n      DB = \"postgres://${{db{db}.host}}:${{db{db}.ports.postgres}}/db{db}\"\n      DB_PASSWORD = db{db}.password\n"
        );
        if s > 0 {
            let _ = writeln!(
                text,
                "      UPSTREAM = \"http://${{svc{}.host}}:8080\"",
                s - 1
            );
        }
        text.push_str("    }\n  }\n");
    }
    text.push_str("  load_balancer lb {\n    domain = \"generated.example.com\"\n    routes {\n");
    for s in (0..services).step_by(10) {
        let _ = writeln!(text, "      \"/svc{s}\" = svc{s}.ports.http");
    }
    text.push_str("    }\n  }\n}\n");
    text
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let v = f();
        best = best.min(start.elapsed());
        last = Some(v);
    }
    (best, last.expect("at least one run"))
}

struct Timing {
    evaluate: Duration,
    build: Duration,
    impact: Duration,
}

fn measure(n: usize) -> Timing {
    let text = landscape(n);
    let options = Options::default();
    let name = std::env::temp_dir().join("generated.bom");
    let name = name.to_string_lossy().into_owned();
    let (evaluate, checked) = best_of(3, || bomc::check_text(&name, text.clone(), &options));
    assert!(
        checked.diagnostics.is_empty(),
        "generated landscape is valid"
    );
    let landscape = checked.landscapes.first().expect("landscape");
    assert_eq!(landscape.components.len(), n);
    let (build, g) = best_of(5, || Graph::build(landscape));
    let (impact, count) = best_of(5, || {
        let mut total = 0;
        for q in ["db0", "svc0", "lb"] {
            let start = g.find(q).expect("node");
            total += graph::impact(&g, &[start], false).len();
            total += graph::impact(&g, &[start], true).len();
        }
        total += graph::start_order(&g).len();
        total
    });
    assert!(count > n);
    if std::env::var("BOMC_BENCH_SPLIT").is_ok() {
        for q in ["db0", "svc0", "lb"] {
            for rev in [false, true] {
                let start = g.find(q).expect("node");
                let (t, r) = best_of(3, || graph::impact(&g, &[start], rev).len());
                println!("    impact {q} reverse={rev}: {t:?} ({r} nodes)");
            }
        }
        let (t, _) = best_of(3, || graph::start_order(&g).len());
        println!("    start order: {t:?}");
    }
    Timing {
        evaluate,
        build,
        impact,
    }
}

fn main() {
    if let Ok(sizes) = std::env::var("BOMC_BENCH_SIZES") {
        for n in sizes.split(',').filter_map(|s| s.parse().ok()) {
            let t = measure(n);
            println!(
                "{n:>6}: evaluate {:?}, build {:?}, impact {:?}",
                t.evaluate, t.build, t.impact
            );
        }
        return;
    }
    let small = measure(1_000);
    let large = measure(10_000);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{:<34} {:>10} {:>10} {:>7}",
        "phase", "1k (ms)", "10k (ms)", "ratio"
    );
    for (phase, a, b) in [
        (
            "parse + resolve + evaluate + check",
            small.evaluate,
            large.evaluate,
        ),
        ("graph build", small.build, large.build),
        ("6 impact queries + start order", small.impact, large.impact),
    ] {
        println!(
            "{phase:<34} {:>10.2} {:>10.2} {:>7.1}",
            ms(a),
            ms(b),
            ms(b) / ms(a)
        );
    }
}
