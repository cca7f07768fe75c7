//! `bomc fmt`, `bomc completions`, `bomc man`: the formatter keeps the meaning
//! and every comment of every `.bom` file in the repository, and the commands
//! behave as documented.

use super::{bomc, root};
use bomc::format::{comments, format_source};
use bomc::source::FileId;
use std::path::{Path, PathBuf};

/// Every `.bom` file under `dir`, at any depth.
fn all_bom_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            all_bom_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "bom") {
            out.push(path);
        }
    }
}

/// The AST's debug form without positions: what the file means.
fn meaning(text: &str) -> String {
    let mut diags = bomc::diag::Diagnostics::default();
    let ast = bomc::syntax::parse(FileId(0), text, &mut diags);
    let codes: Vec<&str> = diags.as_slice().iter().map(|d| d.code.code()).collect();
    let debug = format!("{ast:?} {codes:?}");
    let mut out = String::with_capacity(debug.len());
    let mut rest = debug.as_str();
    while let Some(at) = rest.find("Span {") {
        out.push_str(&rest[..at]);
        let close = rest[at..].find('}').map_or(rest.len(), |c| at + c + 1);
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

fn tokens(text: &str) -> Vec<String> {
    let tree = bomc::syntax::parse_tree(FileId(0), text).expect("parses");
    tree.tokens()
        .iter()
        .map(|t| t.text(text).trim_end().to_string())
        .collect()
}

fn comment_texts(text: &str) -> Vec<String> {
    let tree = bomc::syntax::parse_tree(FileId(0), text).expect("parses");
    comments(text, &tree).into_iter().map(|c| c.text).collect()
}

#[test]
fn formatting_keeps_meaning_and_comments_of_every_bom_file() {
    let mut files = Vec::new();
    for dir in ["examples", "stdlib", "tests", "docs"] {
        all_bom_files(&root().join(dir), &mut files);
    }
    files.sort();
    let mut formatted_files = 0;
    for path in &files {
        // tests/hostile holds files that are not UTF-8 on purpose.
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let Ok(once) = format_source(&text) else {
            // Syntax-error cases of tests/ui: the formatter refuses them (tested below).
            assert!(
                bomc::syntax::parse_tree(FileId(0), &text).is_err(),
                "{}",
                path.display()
            );
            continue;
        };
        formatted_files += 1;
        let name = path.display();
        let twice = format_source(&once).expect("the formatted text parses");
        assert_eq!(twice, once, "{name}: formatting twice changes the text");
        assert_eq!(meaning(&once), meaning(&text), "{name}: meaning changed");
        assert_eq!(tokens(&once), tokens(&text), "{name}: a token changed");
        assert_eq!(
            comment_texts(&once),
            comment_texts(&text),
            "{name}: a comment was lost or changed"
        );
    }
    assert!(
        formatted_files > 150,
        "only {formatted_files} files formatted"
    );
}

/// Thousands of mutated examples: the formatter never panics, and whatever
/// parses keeps its tokens and comments and formats to a fixed point.
#[test]
fn mutated_inputs_format_to_a_fixed_point_or_are_refused() {
    let mut inputs = Vec::new();
    for dir in ["examples", "stdlib"] {
        for path in super::bom_files(&root().join(dir)) {
            inputs.push(std::fs::read_to_string(&path).expect("readable"));
        }
    }
    let mut rng = super::fuzz::Rng(0xF0_4A77);
    let mut formatted = 0;
    for n in 0..2000 {
        let mutated = super::fuzz::mutate(&inputs[n % inputs.len()], &mut rng);
        let result = std::panic::catch_unwind(|| format_source(&mutated));
        let Ok(result) = result else {
            panic!("the formatter panicked on mutation {n}:\n{mutated}");
        };
        let Ok(once) = result else { continue };
        formatted += 1;
        assert_eq!(
            format_source(&once).ok().as_deref(),
            Some(once.as_str()),
            "mutation {n}: not a fixed point:\n{mutated}"
        );
        assert_eq!(tokens(&once), tokens(&mutated), "mutation {n}:\n{mutated}");
        assert_eq!(
            comment_texts(&once),
            comment_texts(&mutated),
            "mutation {n}:\n{mutated}"
        );
    }
    assert!(formatted > 200, "only {formatted} mutations parsed");
}

#[test]
fn the_repository_s_own_files_are_formatted() {
    let run = bomc(&root(), &["fmt", "--check", "examples", "stdlib", "docs"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}

/// Constructs written every odd way: comments in every gap, blank-line runs, lets, nulls.
const MESSY: &str = r#"// head comment
import "redis"


/// The shop.
/// Second doc line.
landscape shop{ // after the brace
  param domain:string="shop.example.com" // trailing
  let base={A=1,B=null}



  //// four slashes
  redis cache {}
  service api{
    image="registry.example.com/api:1.2.3"
    env=merge(base,{
        C="${domain}" /* inline */
    })
    command=["serve" , "--port",/* why */ "80"]
    /* own line */ replicas=2

  }
  // before the closing brace
}
"#;

const TIDY: &str = r#"// head comment
import "redis"

/// The shop.
/// Second doc line.
landscape shop { // after the brace
  param domain: string = "shop.example.com" // trailing
  let base = { A = 1, B = null }

  //// four slashes
  redis cache {}
  service api {
    image = "registry.example.com/api:1.2.3"
    env = merge(base, {
      C = "${domain}" /* inline */
    })
    command = [
      "serve",
      "--port", /* why */
      "80",
    ]
    /* own line */
    replicas = 2
  }
  // before the closing brace
}
"#;

#[test]
fn fmt_lays_out_every_construct() {
    assert_eq!(format_source(MESSY).expect("parses"), TIDY);
    assert_eq!(format_source(TIDY).expect("parses"), TIDY);
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = crate::temp_dir(&format!("fmt-{name}"));
    std::fs::create_dir_all(dir.join("sub")).expect("temp folder");
    dir
}

#[test]
fn fmt_rewrites_only_what_changes_and_check_writes_nothing() {
    let dir = temp_dir("rewrite");
    std::fs::write(dir.join("sub/messy.bom"), MESSY).expect("write");
    std::fs::write(dir.join("tidy.bom"), TIDY).expect("write");
    std::fs::write(dir.join("notes.txt"), "not bom {").expect("write");
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    let tidy = std::fs::File::options()
        .write(true)
        .open(dir.join("tidy.bom"))
        .expect("open");
    tidy.set_modified(old).expect("set mtime");
    drop(tidy);

    let check = bomc(&dir, &["fmt", "--check", "."]);
    assert_eq!(check.code, 1, "{}", check.stderr);
    assert_eq!(check.stdout, "./sub/messy.bom\n");
    assert!(
        check.stderr.contains("1 file is not formatted"),
        "{}",
        check.stderr
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("sub/messy.bom")).expect("read"),
        MESSY
    );

    let fmt = bomc(&dir, &["fmt", "."]);
    assert_eq!(fmt.code, 0, "{}", fmt.stderr);
    assert_eq!(fmt.stdout, "./sub/messy.bom\n");
    assert_eq!(
        std::fs::read_to_string(dir.join("sub/messy.bom")).expect("read"),
        TIDY
    );
    let mtime = std::fs::metadata(dir.join("tidy.bom"))
        .and_then(|m| m.modified())
        .expect("mtime");
    assert_eq!(mtime, old, "an already formatted file was rewritten");
    let leftovers: Vec<_> = std::fs::read_dir(dir.join("sub"))
        .expect("read")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(leftovers, ["messy.bom"], "temporary files left behind");

    let again = bomc(&dir, &["fmt", "--check", "tidy.bom", "sub"]);
    assert_eq!((again.code, again.stdout.as_str()), (0, ""));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fmt_leaves_a_file_that_does_not_parse_untouched() {
    let dir = temp_dir("broken");
    let broken = "landscape shop {\n  service api {\n    replicas 2\n  }\n}\n";
    std::fs::write(dir.join("broken.bom"), broken).expect("write");
    std::fs::write(dir.join("ok.bom"), "landscape ok {\nx=1\n}\n").expect("write");
    let run = bomc(&dir, &["fmt", "broken.bom", "ok.bom"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("error[E0101]"), "{}", run.stderr);
    assert!(run.stderr.contains("broken.bom:3:14"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.join("broken.bom")).expect("read"),
        broken
    );
    // The other files are still formatted.
    assert_eq!(
        std::fs::read_to_string(dir.join("ok.bom")).expect("read"),
        "landscape ok {\n  x = 1\n}\n"
    );
    let missing = bomc(&dir, &["fmt", "--check", "nowhere.bom"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("error[E0214]"),
        "{}",
        missing.stderr
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fmt_dash_formats_standard_input_to_standard_output() {
    use std::io::Write;
    let run = |args: &[&str], input: &str| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bomc"))
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("bomc runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        let out = child.wait_with_output().expect("bomc ends");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(
        run(&["fmt", "-"], MESSY),
        (0, TIDY.to_string(), String::new())
    );
    assert_eq!(run(&["fmt", "--check", "-"], MESSY).0, 1);
    assert_eq!(run(&["fmt", "--check", "-"], TIDY).0, 0);
    let (code, stdout, stderr) = run(&["fmt", "-"], "landscape x {");
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert!(
        stderr.contains("error[E0101]") && stderr.contains("<stdin>:1:"),
        "{stderr}"
    );
}

const SUBCOMMANDS: &[&str] = &[
    "check",
    "model",
    "graph",
    "impact",
    "diff",
    "build",
    "envs",
    "reap",
    "fmt",
    "completions",
    "man",
];

#[test]
fn bash_completion_names_every_subcommand_and_is_valid_bash() {
    let run = bomc(&root(), &["completions", "bash"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for sub in SUBCOMMANDS {
        assert!(
            run.stdout.contains(&format!("cmd=\"bomc__subcmd__{sub}\"")),
            "no completion for `{sub}`"
        );
    }
    let dir = temp_dir("completion");
    let script = dir.join("bomc.bash");
    std::fs::write(&script, &run.stdout).expect("write");
    let syntax = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .expect("bash runs");
    assert!(
        syntax.status.success(),
        "{}",
        String::from_utf8_lossy(&syntax.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let run = bomc(&root(), &["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(run.stdout.contains("fmt"), "{shell}");
    }
    assert_eq!(bomc(&root(), &["completions", "tcsh"]).code, 2);
}

#[test]
fn man_page_is_roff_and_names_every_subcommand() {
    let run = bomc(&root(), &["man"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Before the title, clap_mangen defines the portable apostrophe (`\*(Aq`).
    let first = run
        .stdout
        .lines()
        .find(|l| !l.starts_with(".ie ") && !l.starts_with(".el "))
        .unwrap_or("");
    assert!(first.starts_with(".TH bomc 1"), "{first}");
    for sub in SUBCOMMANDS {
        assert!(
            run.stdout.contains(&format!("bomc\\-{sub}(1)")),
            "man page does not mention `{sub}`"
        );
        let page = bomc(&root(), &["man", sub]);
        assert_eq!(page.code, 0, "{sub}: {}", page.stderr);
        assert!(page.stdout.contains(&format!(".TH bomc-{sub} 1 ")), "{sub}");
    }
    let unknown = bomc(&root(), &["man", "frobnicate"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("bomc has: check, model"),
        "{}",
        unknown.stderr
    );
}
