//! A cheap guard against superlinear passes: `bomc build`, `bomc check`,
//! `bomc graph --format json` and `bomc impact` of a generated landscape (`scripts/gen-landscape`) of 8× the services must cost well
//! under 8² times the CPU. Linear cost gives a ratio near 8; the bound of 20
//! leaves room for a loaded machine and for allocator and cache effects,
//! while a quadratic pass costs 64×. CPU time of the `bomc` process, every
//! thread of it (parsing, the split's analysis and the templates' rendering
//! run partly on a second core), not wall time, best of three: other tests
//! and other processes do not count.

use crate::temp_dir;
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

const SMALL: usize = 1_000;
const LARGE: usize = 8_000;

fn landscape(n: usize) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/gen-landscape");
    let out = Command::new("python3")
        .arg(script)
        .arg(n.to_string())
        .output()
        .expect("python3 runs scripts/gen-landscape");
    assert!(out.status.success(), "scripts/gen-landscape {n} failed");
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The CPU time a child used, all its threads, read once it has exited and
/// before it is reaped (Linux: utime + stime in /proc, in clock ticks of
/// 10 ms); `None` where /proc does not say.
fn cpu_at_exit(child: &mut Child) -> Option<Duration> {
    let path = format!("/proc/{}/stat", child.id());
    loop {
        let stat = std::fs::read_to_string(&path).ok()?;
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        // A zombie has exited and still holds its accounting.
        if fields.first() == Some(&"Z") {
            let ticks =
                fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
            return Some(Duration::from_millis(ticks * 10));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `bomc build --env production` of `file`, every target, or `bomc check`
/// of it (the bare landscape and every environment): its CPU time.
fn run_cpu(command: Subcommand, file: &Path, out: &Path) -> Option<Duration> {
    let _ = std::fs::remove_dir_all(out);
    let mut bomc = Command::new(env!("CARGO_BIN_EXE_bomc"));
    match command {
        Subcommand::Build => bomc
            .arg("build")
            .arg(file)
            .args(["--env", "production", "--out"])
            .arg(out),
        Subcommand::Check => bomc.arg("check").arg(file),
        Subcommand::GraphJson => bomc.arg("graph").arg(file).args(["--format", "json"]),
        // The generated services form a chain: `db0` reaches all of them.
        Subcommand::Impact => bomc.arg("impact").arg(file).arg("db0"),
    };
    let mut child = bomc
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("bomc runs");
    let cpu = cpu_at_exit(&mut child);
    let status = child.wait().expect("bomc ends");
    assert!(
        status.success(),
        "bomc {command:?} {} failed",
        file.display()
    );
    cpu
}

#[derive(Clone, Copy, Debug)]
enum Subcommand {
    Build,
    Check,
    GraphJson,
    Impact,
}

const SUBCOMMANDS: [Subcommand; 4] = [
    Subcommand::Build,
    Subcommand::Check,
    Subcommand::GraphJson,
    Subcommand::Impact,
];

/// The best of three trials' CPU time a run, for `bomc build` and for
/// `bomc check` of a landscape of `n` services, each trial the mean of
/// `runs` runs: /proc counts in ticks of 10 ms, and `check` of 400 services
/// came to take about one, so one run of it read as none or two and the
/// ratio divided by the 10 ms floor: under load it passed the bound. Sizes
/// of 1,000 and 8,000 keep the smaller run several ticks long.
fn best_cpu(n: usize, runs: u32) -> Option<[Duration; 4]> {
    let dir = temp_dir(&format!("scaling-{n}"));
    let file = dir.join("generated.bom");
    std::fs::write(&file, landscape(n)).expect("landscape written");
    let mut best = [Duration::MAX; 4];
    for _ in 0..3 {
        for (at, command) in SUBCOMMANDS.into_iter().enumerate() {
            let mut total = Duration::ZERO;
            for _ in 0..runs {
                total += run_cpu(command, &file, &dir.join("out"))?;
            }
            best[at] = best[at].min(total / runs);
        }
    }
    Some(best)
}

#[test]
fn cost_grows_linearly_with_services() {
    // The smaller landscape's runs are as many as the larger is times its
    // size, so both trials measure about as much CPU.
    let (Some(small), Some(large)) = (best_cpu(SMALL, 8), best_cpu(LARGE, 1)) else {
        eprintln!("no per-process CPU time on this system: scaling not measured");
        return;
    };
    for (at, command) in SUBCOMMANDS.into_iter().enumerate() {
        let (small_cpu, large_cpu) = (small[at], large[at]);
        // A tick of 10 ms is the clock's resolution: never divide by less.
        let ratio = large_cpu.as_secs_f64() / small_cpu.as_secs_f64().max(0.01);
        eprintln!(
            "{command:?}: {SMALL} services {small_cpu:?} CPU, {LARGE}: {large_cpu:?} CPU, ratio {ratio:.1}"
        );
        assert!(
            ratio < 20.0,
            "{command:?} of {LARGE} services costs {ratio:.1}× the CPU of {SMALL} ({small_cpu:?} → {large_cpu:?}): a pass grows faster than linearly"
        );
    }
}

/// The whole-process script (`scripts/bench`) runs: every command it
/// measures succeeds on a small generated landscape, and each gives a row of
/// wall time, CPU time, peak memory and CPU per service. Its figures are not
/// asserted: a slow machine must not fail the suite.
#[test]
fn the_benchmark_script_measures_every_command() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = Command::new(root.join("scripts/bench"))
        .args(["10", "1"])
        .env("BOMC", env!("CARGO_BIN_EXE_bomc"))
        .output()
        .expect("scripts/bench runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for command in [
        "build",
        "build --target compose",
        "build --target cloudformation",
        "build --target dockerfile",
        "check",
        "check --env production",
    ] {
        let row = stdout.lines().find(|l| {
            l.starts_with("10 ") && l[2..].trim_start().starts_with(command) && {
                let rest = l[2..].trim_start()[command.len()..].split_whitespace();
                rest.clone().count() == 4 && rest.map(str::parse::<f64>).all(|n| n.is_ok())
            }
        });
        assert!(row.is_some(), "no figures for `{command}`:\n{stdout}");
    }
}
