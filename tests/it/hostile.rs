//! Hostile input: every file in `tests/hostile/` (named `CODE-what.bom`, or
//! `ok-what.bom` for input bomc accepts) and every generated case below gives
//! its diagnostic within bounded time and memory, without a panic and without
//! showing anything of a file bomc refused to read.

use crate::{bom_files, root, temp_dir};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Address space bomc may use for one hostile file: a runaway allocation
/// fails fast instead of swapping the machine.
const MEMORY: &str = "--as=2000000000";
/// Wall time for one file; generous because the debug binary runs on a
/// loaded machine, and still far below a hang.
const TIME: Duration = Duration::from_secs(30);

/// Codes whose case is generated below (a 4 MiB file, bytes that are not
/// UTF-8 in an import, planted links): the ui corpus counts them as covered.
pub const GENERATED: &[&str] = &["E0105", "E0108", "E0230", "E0231"];

struct Bounded {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `bomc check --format json FILE` under [`MEMORY`] and [`TIME`].
fn check_bounded(dir: &Path, file: &str) -> Bounded {
    let mut child = Command::new("prlimit")
        .arg(MEMORY)
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_bomc"))
        .args(["check", "--format", "json", file])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("prlimit runs bomc");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > TIME {
            let _ = child.kill();
            panic!("{file}: bomc still running after {TIME:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    Bounded {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn first_code(run: &Bounded) -> Option<String> {
    let diags: serde_json::Value = serde_json::from_str(&run.stdout).ok()?;
    Some(diags.get(0)?.get("code")?.as_str()?.to_string())
}

/// Checks `file` in `dir` and returns what failed, if anything.
fn expect(dir: &Path, file: &str, expected: &str) -> Option<String> {
    let run = check_bounded(dir, file);
    if run.stderr.contains("panicked") || run.code > 2 || run.code < 0 {
        return Some(format!(
            "{file}: crashed (exit {})\n{}",
            run.code, run.stderr
        ));
    }
    if expected == "ok" {
        return (run.code != 0).then(|| format!("{file}: rejected\n{}", run.stdout));
    }
    let first = first_code(&run);
    (first.as_deref() != Some(expected)).then(|| {
        format!(
            "{file}: first code {first:?}, expected {expected}\n{}",
            run.stdout
        )
    })
}

#[test]
fn every_hostile_file_gives_its_diagnostic_in_bounded_time_and_memory() {
    let dir = root().join("tests/hostile");
    let files = bom_files(&dir);
    assert!(files.len() >= 40, "the corpus has {} files", files.len());
    let failures: Vec<String> = files
        .iter()
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?;
            let expected = name.split('-').next()?;
            expect(&dir, name, expected)
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

const SENTINEL: &str = "SENTINEL-refused-file-contents";

/// A project root `root/` next to a folder `outside/` holding a module with
/// [`SENTINEL`] in it.
fn project(name: &str) -> std::path::PathBuf {
    let dir = temp_dir(name);
    std::fs::create_dir_all(dir.join("root/lib")).expect("mkdir");
    std::fs::create_dir_all(dir.join("outside")).expect("mkdir");
    std::fs::write(
        dir.join("outside/secret.bom"),
        format!("{SENTINEL} this is not a bom file\n"),
    )
    .expect("write");
    dir
}

fn main_importing(dir: &Path, import: &str) {
    std::fs::write(
        dir.join("root/main.bom"),
        format!(
            "import \"{import}\"\nlandscape x {{ service web {{ image = \"nginx:1.27\" }} }}\n"
        ),
    )
    .expect("write");
}

fn refused_unseen(dir: &Path, expected: &str) {
    let run = check_bounded(&dir.join("root"), "main.bom");
    assert_eq!(
        first_code(&run).as_deref(),
        Some(expected),
        "{}",
        run.stdout
    );
    let human = check_bounded(&dir.join("root"), "main.bom");
    for text in [&run.stdout, &run.stderr, &human.stdout, &human.stderr] {
        assert!(!text.contains(SENTINEL), "the refused file shows:\n{text}");
    }
}

#[test]
fn an_import_climbing_out_of_the_root_is_refused_unread() {
    let dir = project("hostile-climb");
    main_importing(&dir, "../outside/secret.bom");
    refused_unseen(&dir, "E0230");
}

#[test]
fn an_absolute_import_is_refused_unread() {
    let dir = project("hostile-absolute");
    let target = dir.join("outside/secret.bom");
    main_importing(&dir, target.to_str().expect("utf-8 path"));
    refused_unseen(&dir, "E0230");
}

#[test]
fn a_symbolic_link_leading_out_of_the_root_is_refused_unread() {
    let dir = project("hostile-link");
    std::os::unix::fs::symlink(
        dir.join("outside/secret.bom"),
        dir.join("root/lib/shared.bom"),
    )
    .expect("symlink");
    main_importing(&dir, "./lib/shared.bom");
    refused_unseen(&dir, "E0230");
}

#[test]
fn a_linked_folder_leading_out_of_the_root_is_refused_unread() {
    let dir = project("hostile-link-folder");
    std::os::unix::fs::symlink(dir.join("outside"), dir.join("root/vendor")).expect("symlink");
    main_importing(&dir, "./vendor/secret.bom");
    refused_unseen(&dir, "E0230");
}

#[test]
fn root_flag_widens_the_root() {
    let dir = project("hostile-root-flag");
    std::fs::write(
        dir.join("outside/shared.bom"),
        "kind web_app { image = \"nginx:1.27\" }\n",
    )
    .expect("write");
    main_importing(&dir, "../outside/shared.bom");
    let refused = check_bounded(&dir.join("root"), "main.bom");
    assert_eq!(first_code(&refused).as_deref(), Some("E0230"));
    let run = crate::bomc(&dir.join("root"), &["check", "main.bom", "--root", ".."]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn an_imported_module_that_is_not_utf8_is_refused_unshown() {
    let dir = project("hostile-utf8");
    let mut bytes = SENTINEL.as_bytes().to_vec();
    bytes.extend([0xff, 0xfe, 0x00]);
    std::fs::write(dir.join("root/lib/binary.bom"), bytes).expect("write");
    main_importing(&dir, "./lib/binary.bom");
    refused_unseen(&dir, "E0108");
}

#[test]
fn a_file_past_the_size_limit_is_refused() {
    let dir = project("hostile-large");
    let line = "// padding padding padding padding padding padding padding padding\n";
    let big = line.repeat((4 << 20) / line.len() + 1);
    std::fs::write(dir.join("root/big.bom"), &big).expect("write");
    assert_eq!(
        first_code(&check_bounded(&dir.join("root"), "big.bom")).as_deref(),
        Some("E0105")
    );
    std::fs::write(dir.join("root/lib/big.bom"), &big).expect("write");
    main_importing(&dir, "./lib/big.bom");
    refused_unseen(&dir, "E0105");
}

#[test]
fn an_endless_file_is_refused() {
    let run = check_bounded(Path::new("/"), "/dev/zero");
    assert_eq!(first_code(&run).as_deref(), Some("E0105"), "{}", run.stdout);
}

#[test]
fn a_directory_as_the_main_file_is_unreadable() {
    let dir = temp_dir("hostile-directory");
    std::fs::create_dir_all(dir.join("folder.bom")).expect("mkdir");
    assert_eq!(
        first_code(&check_bounded(&dir, "folder.bom")).as_deref(),
        Some("E0214")
    );
}

#[test]
fn an_import_chain_past_the_depth_limit_stops() {
    let dir = project("hostile-chain");
    for i in 0..40 {
        std::fs::write(
            dir.join(format!("root/lib/m{i}.bom")),
            format!("import \"./m{}.bom\"\n", i + 1),
        )
        .expect("write");
    }
    std::fs::write(dir.join("root/lib/m40.bom"), "").expect("write");
    main_importing(&dir, "./lib/m0.bom");
    refused_unseen(&dir, "E0231");
}
