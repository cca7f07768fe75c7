//! A build killed mid-write: the real `bomc build`, over an output folder
//! holding a previous good build, is stopped after each of its file
//! operations in turn (through the test-only `BOMC_TEST_PAUSE_AFTER_WRITES`
//! hook in `src/write.rs`) and killed with SIGKILL there. Every output file is
//! then byte-equal to the previous build's or to the new build's, a manifest
//! that is the new one describes files that are all new, and nothing else is
//! left but bomc's temporary files; the next build succeeds, writes exactly
//! the new build and removes those temporary files.

use crate::{NOW, temp_dir};
use std::collections::BTreeMap;
use std::io::BufRead as _;
use std::path::Path;
use std::process::{Command, Stdio};

/// Services, each built from an image of its own: per environment a
/// compose file, a template, one Dockerfile per image, the build and publish
/// scripts and the manifest.
const SERVICES: usize = 12;

fn landscape(version: &str) -> String {
    let mut s = String::from("landscape killed {\n");
    for i in 0..SERVICES {
        s.push_str(&format!(
            "  service s{i} {{\n    build = img{i}\n    ports {{ http = 8080 }}\n    env {{ VERSION = \"{version}\" }}\n  }}\n"
        ));
    }
    s.push_str("}\n\n");
    for i in 0..SERVICES {
        s.push_str(&format!(
            "image img{i} {{\n  from = \"debian:12.5-slim\"\n  labels {{ \"org.example.version\" = \"{version}\" }}\n  command = [\"/bin/s{i}\"]\n}}\n\n"
        ));
    }
    s.push_str("environment staging {}\n\nenvironment production {}\n");
    s
}

/// `bomc build x.bom --out out` in `dir`.
fn build(dir: &Path, pause_after: Option<usize>) -> std::process::Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bomc"));
    cmd.args(["build", "x.bom", "--out", "out", "--now", NOW])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    match pause_after {
        Some(n) => cmd.env("BOMC_TEST_PAUSE_AFTER_WRITES", n.to_string()),
        None => cmd.env_remove("BOMC_TEST_PAUSE_AFTER_WRITES"),
    };
    cmd.spawn().expect("bomc starts")
}

/// Every file under `root`: path relative to it, as text → bytes.
fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    crate::build::snapshot(root)
        .into_iter()
        .map(|(rel, bytes)| (rel.to_string_lossy().into_owned(), bytes))
        .collect()
}

/// A clean build of `version` in `dir` (the folder the killed builds run in,
/// so that paths in the files are the same): its files.
fn reference(dir: &Path, version: &str) -> BTreeMap<String, Vec<u8>> {
    let _ = std::fs::remove_dir_all(dir.join("out"));
    std::fs::write(dir.join("x.bom"), landscape(version)).expect("write");
    let out = build(dir, None).wait_with_output().expect("bomc runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    files(&dir.join("out"))
}

/// A file bomc may leave behind when killed: `.NAME.bomc-PID.tmp`, or the
/// previous manifest kept aside.
fn leftover(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let tmp = name
        .strip_prefix('.')
        .and_then(|n| n.strip_suffix(".tmp"))
        .and_then(|n| n.rsplit_once(".bomc-"))
        .is_some_and(|(_, pid)| !pid.is_empty() && pid.chars().all(|c| c.is_ascii_digit()));
    tmp || name == ".bomc-manifest.json.previous"
}

/// Replaces the folder `to` with `files`.
fn restore(files: &BTreeMap<String, Vec<u8>>, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    for (rel, bytes) in files {
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("folder");
        std::fs::write(dest, bytes).expect("write");
    }
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_build_killed_at_any_file_operation_leaves_whole_files() {
    let dir = temp_dir("killed");
    let old = reference(&dir, "1");
    let new = reference(&dir, "2");
    assert_eq!(
        old.keys().collect::<Vec<_>>(),
        new.keys().collect::<Vec<_>>()
    );
    for (rel, bytes) in &old {
        assert_ne!(
            Some(bytes),
            new.get(rel),
            "{rel} is the same in both builds"
        );
    }
    assert!(old.len() >= 2 * (SERVICES + 4), "{} files", old.len());

    let mut paused_at = 0;
    for n in 1.. {
        restore(&old, &dir.join("out"));
        let mut child = build(&dir, Some(n));
        let stderr = child.stderr.take().expect("stderr");
        let mut paused = false;
        for line in std::io::BufReader::new(stderr).lines() {
            if line.expect("stderr is text").contains("paused after") {
                paused = true;
                break;
            }
        }
        if paused {
            child.kill().expect("SIGKILL");
        }
        let status = child.wait().expect("bomc ends");
        if !paused {
            // Fewer operations than `n`: the build ran to its end.
            assert!(status.success(), "the build after {n} operations failed");
            break;
        }
        paused_at = n;

        let now = files(&dir.join("out"));
        for (rel, bytes) in &now {
            match (old.get(rel), new.get(rel)) {
                (Some(o), Some(w)) => assert!(
                    bytes == o || bytes == w,
                    "killed after {n} operations: {rel} is neither the old nor the new file"
                ),
                _ => assert!(
                    leftover(rel),
                    "killed after {n} operations: an unexpected file {rel}"
                ),
            }
        }
        for rel in old.keys() {
            assert!(
                now.contains_key(rel),
                "killed after {n} operations: {rel} is gone"
            );
        }
        // A manifest that is the new one only describes new files.
        for (rel, bytes) in now
            .iter()
            .filter(|(r, _)| r.ends_with("/bomc-manifest.json"))
        {
            if Some(bytes) != new.get(rel) {
                continue;
            }
            let folder = rel.trim_end_matches("bomc-manifest.json");
            let manifest: serde_json::Value = serde_json::from_slice(bytes).expect("JSON");
            for file in manifest["files"].as_array().expect("files") {
                let path = format!("{folder}{}", file["path"].as_str().expect("path"));
                assert_eq!(
                    now.get(&path).map(|b| sha256(b)).as_deref(),
                    file["sha256"].as_str(),
                    "killed after {n} operations: the new manifest does not describe {path}"
                );
            }
        }
    }
    assert!(
        paused_at >= 2 * old.len(),
        "only {paused_at} file operations"
    );

    // Killed after the last operation but one, the next build cleans up.
    restore(&old, &dir.join("out"));
    let mut child = build(&dir, Some(paused_at));
    let stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    for line in stderr.lines() {
        if line.expect("text").contains("paused after") {
            break;
        }
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("bomc ends");
    // A temporary file of a killed run under every name bomc writes.
    for rel in new.keys() {
        let path = dir.join("out").join(rel);
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        std::fs::write(
            path.with_file_name(format!(".{name}.bomc-999999999.tmp")),
            "stale",
        )
        .expect("write");
    }
    let out = build(&dir, None).wait_with_output().expect("bomc runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        files(&dir.join("out")),
        new,
        "the next build is not exactly the new build"
    );
}
