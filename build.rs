//! Embeds every `stdlib/*.bom` module into the binary, so `import "redis"` works
//! wherever bomc runs.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=stdlib");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("stdlib");
    let mut modules: Vec<(String, String)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if let (true, Some(stem)) = (
                path.extension().is_some_and(|e| e == "bom"),
                path.file_stem().and_then(|s| s.to_str()),
            ) {
                modules.push((stem.to_string(), path.display().to_string()));
            }
        }
    }
    modules.sort();
    let mut code = String::from(
        "/// Stdlib modules: (import name, source text).\npub static STDLIB: &[(&str, &str)] = &[\n",
    );
    for (name, path) in &modules {
        let _ = writeln!(code, "    ({name:?}, include_str!({path:?})),");
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap_or_else(|_| String::from(".")))
        .join("stdlib.rs");
    if let Err(err) = std::fs::write(&out, code) {
        panic!("cannot write {}: {err}", out.display());
    }
}
