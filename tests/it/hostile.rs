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

/// Codes whose case is generated below (a 16 MiB file, bytes that are not
/// UTF-8 in an import, planted links): the ui corpus counts them as covered.
pub const GENERATED: &[&str] = &["E0105", "E0108", "E0230", "E0231", "E0232", "E0510"];

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

#[test]
fn a_mistake_in_a_landscape_included_many_times_is_reported_once_with_its_count() {
    let dir = root().join("tests/hostile");
    let run = check_bounded(&dir, "E0302-include-bomb-one-error-per-instance.bom");
    let diags: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON diagnostics");
    let diags = diags.as_array().expect("a list");
    let codes: Vec<&str> = diags.iter().filter_map(|d| d["code"].as_str()).collect();
    assert_eq!(
        codes,
        ["E0302", "E0204", "E0107", "E0301"],
        "{}",
        run.stdout
    );
    for d in diags.iter().filter(|d| d["code"] != "E0107") {
        assert_eq!(d["repeats"], 6663, "{d}");
    }
    let human = crate::bomc(
        &dir,
        &["check", "E0302-include-bomb-one-error-per-instance.bom"],
    );
    assert!(
        human
            .stderr
            .contains("the same is found 6663 more times at this place"),
        "{}",
        human.stderr
    );
}

#[test]
fn a_kinds_mistake_counts_its_instances_not_the_check_of_the_definition() {
    // Two instances of a kind with an unknown setting: one report, one repeat,
    // whether `check` runs the bare landscape or an environment. The kind's
    // definition is also checked on its own; that is not a third instance.
    let dir = temp_dir("repeats-of-a-kind");
    std::fs::write(
        dir.join("k.bom"),
        "kind worker {\n  image = \"x:1.0.0\"\n  replcas = 2\n}\n\
         landscape shop {\n  worker a {}\n  worker b {}\n}\n\
         environment prod {}\n",
    )
    .expect("write");
    for args in [
        &["check", "--format", "json", "k.bom"][..],
        &["check", "--format", "json", "--env", "prod", "k.bom"],
    ] {
        let run = crate::bomc(&dir, args);
        let diags: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON diagnostics");
        let unknown: Vec<&serde_json::Value> = diags
            .as_array()
            .expect("a list")
            .iter()
            .filter(|d| d["code"] == "E0302")
            .collect();
        assert_eq!(unknown.len(), 1, "{args:?}: {}", run.stdout);
        assert_eq!(unknown[0]["repeats"], 1, "{args:?}: {}", run.stdout);
    }
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
            "import \"{import}\"\nlandscape x {{ service web {{ image = \"nginx:1.27.3\" }} }}\n"
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
        "kind web_app { image = \"nginx:1.27.3\" }\n",
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

/// `main.bom` building image `app` from `context`, with the project's
/// Dockerfile `dockerfile` if given.
fn main_building(dir: &Path, context: &str, dockerfile: Option<&str>) {
    let image = match dockerfile {
        Some(d) => format!("image app {{\n  context = \"{context}\"\n  dockerfile = \"{d}\"\n}}\n"),
        None => format!(
            "image app {{\n  from = \"debian:12.5-slim\"\n  template = \"static\"\n  context = \"{context}\"\n}}\n"
        ),
    };
    std::fs::write(
        dir.join("root/main.bom"),
        format!("{image}landscape x {{\n  service web {{\n    build = app\n    ports {{ http = 8080 }}\n  }}\n}}\n"),
    )
    .expect("write");
}

#[test]
fn a_build_context_leading_out_of_the_root_is_refused_unread() {
    let dir = project("hostile-context-link");
    std::os::unix::fs::symlink(dir.join("outside"), dir.join("root/site")).expect("symlink");
    main_building(&dir, "./site", None);
    refused_unseen(&dir, "E0232");
}

#[test]
fn a_dockerfile_linked_to_a_device_is_refused_unread() {
    let dir = project("hostile-dockerfile-link");
    std::fs::create_dir_all(dir.join("root/app")).expect("mkdir");
    std::os::unix::fs::symlink("/dev/zero", dir.join("root/app/Dockerfile")).expect("symlink");
    main_building(&dir, "./app", Some("Dockerfile"));
    refused_unseen(&dir, "E0232");
}

/// A FIFO cannot come from git, but a local context may hold one: opening
/// it would wait for a writer forever. It is listed in the content tag's
/// text, never opened.
#[test]
fn a_fifo_in_a_build_context_is_not_opened() {
    let dir = project("hostile-context-fifo");
    std::fs::create_dir_all(dir.join("root/site")).expect("mkdir");
    std::fs::write(dir.join("root/site/index.html"), "<p>hello</p>\n").expect("write");
    let fifo = dir.join("root/site/pipe");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    main_building(&dir, "./site", None);
    let run = check_bounded(&dir.join("root"), "main.bom");
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

#[test]
fn a_file_past_the_size_limit_is_refused() {
    let dir = project("hostile-large");
    let line = "// padding padding padding padding padding padding padding padding\n";
    let big = line.repeat((16 << 20) / line.len() + 1);
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

/// miette pads a label out to its column with a formatting width, which Rust
/// refuses past 65,535 with a panic: a long line is shown around the mistake.
#[test]
fn a_mistake_far_along_a_long_line_is_shown_in_an_excerpt() {
    let dir = temp_dir("hostile-long-line");
    let text = format!("landscape x {{ a = \"{}\" b }}\n", "x".repeat(100_000));
    std::fs::write(dir.join("long.bom"), &text).expect("write");
    let column = text.find(" }").expect("the mistake") + 2;
    let run = crate::bomc(&dir, &["check", "long.bom"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("error[E0101]")
            && run.stderr.contains(&format!("long.bom:1:{column}"))
            && run.stderr.contains("xx\" b }"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.len() < 4_000, "{} bytes", run.stderr.len());
    let _ = std::fs::remove_dir_all(&dir);
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

const LANDSCAPE: &str = "landscape x {\n  service web { image = \"nginx:1.27.3\" }\n}\n";

/// Builds `x.bom` in `dir` into `dir/out` for compose.
fn build(dir: &Path) -> crate::Run {
    crate::bomc(
        dir,
        &["build", "x.bom", "--target", "compose", "--out", "out"],
    )
}

#[test]
fn a_link_planted_for_an_output_folder_is_not_written_through() {
    let dir = temp_dir("hostile-out-folder-link");
    std::fs::write(dir.join("x.bom"), LANDSCAPE).expect("write");
    std::fs::create_dir_all(dir.join("elsewhere")).expect("mkdir");
    std::fs::create_dir_all(dir.join("out/x")).expect("mkdir");
    std::os::unix::fs::symlink(dir.join("elsewhere"), dir.join("out/x/default")).expect("symlink");
    let run = build(&dir);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("E0510"), "{}", run.stderr);
    let written: Vec<_> = std::fs::read_dir(dir.join("elsewhere"))
        .expect("dir")
        .collect();
    assert!(written.is_empty(), "wrote through the link: {written:?}");
}

#[test]
fn a_link_planted_for_an_output_file_is_not_written_through() {
    let dir = temp_dir("hostile-out-file-link");
    std::fs::write(dir.join("x.bom"), LANDSCAPE).expect("write");
    let first = build(&dir);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "untouched").expect("write");
    let compose = dir.join("out/x/default/compose.yaml");
    std::fs::remove_file(&compose).expect("remove");
    std::os::unix::fs::symlink(&victim, &compose).expect("symlink");
    let run = build(&dir);
    assert!(run.stderr.contains("E0510"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&victim).expect("read"), "untouched");
    assert!(
        std::fs::symlink_metadata(&compose)
            .expect("link")
            .file_type()
            .is_symlink(),
        "the link was replaced without a word"
    );
}

/// A tmpfs mounted on a folder, unmounted when dropped.
struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_leaves_the_previous_output_as_it_was() {
    let dir = temp_dir("hostile-full-disk");
    let out = dir.join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&out)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        // Mounting needs root; scripts/test runs the suite as root in CI.
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    }
    let _mount = Mount(out.clone());
    std::fs::write(dir.join("x.bom"), LANDSCAPE).expect("write");
    let first = build(&dir);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let compose = out.join("x/default/compose.yaml");
    let before = std::fs::read_to_string(&compose).expect("previous output");

    // Fill the disk, then build something larger.
    let chunk = vec![b'#'; 4096];
    let mut filler = std::fs::File::create(out.join("filler")).expect("filler");
    while std::io::Write::write_all(&mut filler, &chunk).is_ok() {}
    let bigger = format!(
        "landscape x {{\n  service web {{ image = \"nginx:1.27.3\" env {{ A = \"{}\" }} }}\n}}\n",
        "a".repeat(8192)
    );
    std::fs::write(dir.join("x.bom"), bigger).expect("write");
    let run = build(&dir);
    assert_eq!(run.code, 1, "a full disk went unnoticed:\n{}", run.stderr);
    assert!(run.stderr.contains("E0501"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(&compose).expect("still there"),
        before
    );
    let leftovers: Vec<_> = std::fs::read_dir(out.join("x/default"))
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// A landscape whose services each read the next one's setting
/// (`s0.env.V = s1.env.V` …), `links` of them, declared first to last or last
/// to first, with three environments.
fn setting_chain(links: usize, backwards: bool) -> String {
    let mut text = String::from("landscape chain {\n");
    for n in 0..links {
        let i = if backwards { n } else { links - 1 - n };
        let value = if i + 1 == links {
            String::from("\"x\"")
        } else {
            format!("s{}.env.V", i + 1)
        };
        text.push_str(&format!(
            "  service s{i} {{\n    image = \"nginx:1.27.3\"\n    env {{ V = {value} }}\n  }}\n"
        ));
    }
    text.push_str("}\nenvironment a {}\nenvironment b {}\nenvironment c {}\n");
    text
}

/// The codes of `bomc check --format json`'s diagnostics.
fn codes(run: &Bounded) -> Vec<String> {
    let diags: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_default();
    diags
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| Some(d.get("code")?.as_str()?.to_string()))
        .collect()
}

/// Evaluation follows a chain of references recursively: a chain of a few
/// thousand overflowed the main thread's stack (and 600 the second thread's,
/// when `check` first ran environments there). Past 128 references it stops
/// with E0326, once however long the chain and however many environments.
#[test]
fn a_chain_of_thousands_of_references_is_refused_once_without_a_crash() {
    let dir = temp_dir("hostile-reference-chain");
    std::fs::write(dir.join("chain.bom"), setting_chain(3_000, true)).expect("write");
    let run = check_bounded(&dir, "chain.bom");
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(codes(&run), ["E0326"], "{}", run.stdout);
    // Declared the other way round, each link's value is known before the
    // next needs it: no chain is followed, and all of it checks.
    std::fs::write(dir.join("chain.bom"), setting_chain(3_000, false)).expect("write");
    let run = check_bounded(&dir, "chain.bom");
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `let`s chain too, with settings or alone: 128 references are followed,
/// the 129th is refused.
#[test]
fn a_chain_of_128_references_is_followed_and_one_more_is_refused() {
    let dir = temp_dir("hostile-let-chain");
    // `api.env` reads `hop0` (one reference), each `hop` the next.
    let chain = |hops: usize| {
        let mut text = String::from("landscape relay {\n");
        for i in 0..hops - 1 {
            text.push_str(&format!("  let hop{i} = hop{}\n", i + 1));
        }
        text.push_str(&format!(
            "  let hop{} = \"https://api.example.com\"\n",
            hops - 1
        ));
        text.push_str("  service api {\n    image = \"ghcr.io/shop/api:3.1.0\"\n    env { UPSTREAM = hop0 }\n  }\n}\n");
        text
    };
    std::fs::write(dir.join("relay.bom"), chain(128)).expect("write");
    let run = check_bounded(&dir, "relay.bom");
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    std::fs::write(dir.join("relay.bom"), chain(129)).expect("write");
    let run = check_bounded(&dir, "relay.bom");
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(codes(&run), ["E0326"], "{}", run.stdout);
    std::fs::write(dir.join("relay.bom"), chain(5_000)).expect("write");
    let run = check_bounded(&dir, "relay.bom");
    assert_eq!(codes(&run), ["E0326"], "{}{}", run.stdout, run.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}
