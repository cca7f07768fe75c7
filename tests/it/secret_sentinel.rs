//! No command prints a secret's value. bomc never holds one (`secret("name")`
//! is a reference), but the values sit where bomc runs: in the environment of a
//! CI job, in a `.env` file, in files next to the landscape. Every command runs
//! with those planted, and no output file, stdout or stderr may carry them.
//! A literal written where a secret is expected must not be echoed by the
//! diagnostic's own words either (the source excerpt shows the user's line).

use crate::temp_dir;
use std::path::Path;
use std::process::Command;

const VALUE: &str = "VALUE-0f5e3b9c-never-printed";

const LANDSCAPE: &str = r#"import "postgres"

landscape shop {
  postgres db {
    database = "shop"
    password = secret("sentinel/db")
  }
  service api {
    image = "registry.example.com/api:1.0.0"
    ports { http = 8080 }
    env {
      DB_HOST = db.host
      DB_PASSWORD = db.password
      API_KEY = secret("sentinel/api-key")
    }
  }
}

environment production {
  purpose = "live"
}
"#;

struct Seen {
    what: String,
    text: String,
}

fn run(dir: &Path, args: &[&str], seen: &mut Vec<Seen>) {
    let out = Command::new(env!("CARGO_BIN_EXE_bomc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("SENTINEL_DB", VALUE)
        .env("SENTINEL_API_KEY", VALUE)
        .env("DB_PASSWORD", VALUE)
        .output()
        .expect("bomc runs");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "bomc {args:?} panicked"
    );
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        seen.push(Seen {
            what: format!("bomc {} ({stream})", args.join(" ")),
            text: String::from_utf8_lossy(bytes).into_owned(),
        });
    }
}

fn files_under(dir: &Path, seen: &mut Vec<Seen>) {
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, seen);
        } else if let Ok(bytes) = std::fs::read(&path) {
            seen.push(Seen {
                what: path.display().to_string(),
                text: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
    }
}

#[test]
fn no_command_prints_a_secret_value() {
    let dir = temp_dir("secret-sentinel");
    std::fs::write(dir.join("a.bom"), LANDSCAPE).expect("write");
    std::fs::write(
        dir.join("b.bom"),
        LANDSCAPE
            .replace("api:1.0.0", "api:1.1.0")
            .replace("\"shop\"", "\"shop2\""),
    )
    .expect("write");
    std::fs::write(dir.join("fmt.bom"), LANDSCAPE.replace("  ", "    ")).expect("write");
    // Values where a careless tool might look for them.
    std::fs::write(
        dir.join(".env"),
        format!("SENTINEL_DB={VALUE}\nSENTINEL_API_KEY={VALUE}\n"),
    )
    .expect("write");
    std::fs::create_dir_all(dir.join("secrets/sentinel")).expect("mkdir");
    std::fs::write(dir.join("secrets/sentinel/db"), VALUE).expect("write");

    let mut seen = Vec::new();
    let commands: &[&[&str]] = &[
        &["check", "a.bom"],
        &["check", "a.bom", "--format", "json"],
        &["check", "a.bom", "--env", "production", "--format", "json"],
        &["model", "a.bom"],
        &["model", "a.bom", "--env", "production"],
        &["graph", "a.bom"],
        &["graph", "a.bom", "--format", "mermaid"],
        &["graph", "a.bom", "--format", "json"],
        &["impact", "a.bom", "db"],
        &["impact", "a.bom", "db", "--format", "json"],
        &["impact", "a.bom", "api", "--reverse"],
        &["diff", "a.bom", "b.bom"],
        &["diff", "a.bom", "b.bom", "--format", "markdown"],
        &["diff", "a.bom", "b.bom", "--format", "json"],
        &["build", "a.bom", "--out", "out"],
        &[
            "build",
            "a.bom",
            "--out",
            "out-yaml",
            "--cloudformation-yaml",
        ],
        &["build", "a.bom", "--out", "out-json", "--format", "json"],
        &["envs", "a.bom"],
        &["envs", "a.bom", "--format", "json"],
        &["envs", "--out", "out"],
        &["reap", "--out", "out", "--dry-run"],
        &["fmt", "fmt.bom"],
    ];
    for args in commands {
        run(&dir, args, &mut seen);
    }
    for folder in ["out", "out-yaml", "out-json"] {
        files_under(&dir.join(folder), &mut seen);
    }
    seen.push(Seen {
        what: String::from("fmt.bom after fmt"),
        text: std::fs::read_to_string(dir.join("fmt.bom")).expect("read"),
    });
    assert!(
        seen.iter().any(|s| s.text.contains("sentinel/db")),
        "the secret's name (a reference) should appear somewhere: is the landscape built?"
    );
    let leaks: Vec<&str> = seen
        .iter()
        .filter(|s| s.text.contains(VALUE))
        .map(|s| s.what.as_str())
        .collect();
    assert!(leaks.is_empty(), "a secret value leaked into: {leaks:?}");
}

#[test]
fn a_literal_where_a_secret_belongs_is_not_echoed() {
    let dir = temp_dir("secret-literal");
    let literal = "LITERAL-8d1c-hunter2";
    std::fs::write(
        dir.join("a.bom"),
        LANDSCAPE.replace("secret(\"sentinel/db\")", &format!("\"{literal}\"")),
    )
    .expect("write");
    let mut seen = Vec::new();
    for args in [
        &["check", "a.bom", "--format", "json"][..],
        &["graph", "a.bom", "--format", "json"],
        &["build", "a.bom", "--out", "out", "--format", "json"],
        &["diff", "a.bom", "a.bom", "--format", "json"],
    ] {
        run(&dir, args, &mut seen);
    }
    let leaks: Vec<&str> = seen
        .iter()
        .filter(|s| s.text.contains(literal))
        .map(|s| s.what.as_str())
        .collect();
    assert!(leaks.is_empty(), "the literal was echoed by: {leaks:?}");
    assert!(
        !dir.join("out").exists(),
        "a landscape with a literal password was built"
    );

    // In a human report only the source excerpt (the user's own line) shows it.
    let mut human = Vec::new();
    run(&dir, &["check", "a.bom"], &mut human);
    run(&dir, &["model", "a.bom"], &mut human);
    for line in human.iter().flat_map(|s| s.text.lines()) {
        if line.contains(literal) {
            assert!(
                line.contains('│'),
                "echoed outside the source excerpt: {line}"
            );
        }
    }
}
