//! `bomc fmt`: rewrite `.bom` files in their canonical layout (src/format), or
//! with `--check` list those that are not in it.

use super::FmtArgs;
use crate::diag::{Diagnostic, ErrorCode};
use crate::source::SourceMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn run(args: &FmtArgs) -> ExitCode {
    if args.paths.iter().any(|p| p.as_os_str() == "-") {
        return stdin(args);
    }
    let mut sources = SourceMap::default();
    let mut errors: Vec<Diagnostic> = Vec::new();
    let mut changed: Vec<PathBuf> = Vec::new();
    for path in files(&args.paths, &mut errors) {
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) => {
                errors.push(unreadable(&path, err));
                continue;
            }
        };
        let file = sources.add(path.display().to_string(), Some(path.clone()), text);
        let text = &sources.get(file).text;
        let formatted = match crate::format::format_file(file, text) {
            Ok(formatted) => formatted,
            Err(diag) => {
                errors.push(diag);
                continue;
            }
        };
        if formatted == *text {
            continue;
        }
        if !args.check
            && let Err(diag) = crate::write::replace_file(&path, formatted.as_bytes())
        {
            errors.push(diag);
            continue;
        }
        changed.push(path);
    }
    let mut stdout = std::io::stdout();
    for path in &changed {
        let _ = writeln!(stdout, "{}", path.display());
    }
    if !errors.is_empty() {
        print_errors(&errors, &sources);
        return ExitCode::from(2);
    }
    if args.check && !changed.is_empty() {
        let _ = writeln!(
            std::io::stderr(),
            "{} file{} not formatted; `bomc fmt` rewrites {}",
            changed.len(),
            if changed.len() == 1 { " is" } else { "s are" },
            if changed.len() == 1 { "it" } else { "them" },
        );
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// `bomc fmt -`: standard input to standard output, for editors.
fn stdin(args: &FmtArgs) -> ExitCode {
    if args.paths.len() > 1 {
        let _ = writeln!(
            std::io::stderr(),
            "error: `-` (standard input) cannot be combined with other paths"
        );
        return ExitCode::from(2);
    }
    let mut text = String::new();
    let mut sources = SourceMap::default();
    if let Err(err) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
        let diag = unreadable(Path::new("<stdin>"), err);
        let _ = write!(
            std::io::stderr(),
            "{}",
            crate::diag::render_human(&[diag], &sources, false)
        );
        return ExitCode::from(2);
    }
    let file = sources.add(String::from("<stdin>"), None, text);
    let text = &sources.get(file).text;
    match crate::format::format_file(file, text) {
        Ok(formatted) if args.check => ExitCode::from(u8::from(formatted != *text)),
        Ok(formatted) => {
            let _ = write!(std::io::stdout(), "{formatted}");
            ExitCode::SUCCESS
        }
        Err(diag) => {
            print_errors(&[diag], &sources);
            ExitCode::from(2)
        }
    }
}

/// The files named, and the `.bom` files under the folders named, in order.
fn files(paths: &[PathBuf], errors: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let before = out.len();
            bom_files_under(path, &mut out, errors);
            out[before..].sort();
        } else if path.exists() {
            out.push(path.clone());
        } else {
            errors.push(unreadable(path, std::io::ErrorKind::NotFound.into()));
        }
    }
    out
}

fn bom_files_under(dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<Diagnostic>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => {
            errors.push(unreadable(dir, err));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        // Hidden folders (.git, .venv) hold no sources of the project.
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            bom_files_under(&path, out, errors);
        } else if path.extension().is_some_and(|e| e == "bom") {
            out.push(path);
        }
    }
}

fn print_errors(errors: &[Diagnostic], sources: &SourceMap) {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let text = crate::diag::render_human(errors, sources, color);
    let _ = write!(std::io::stderr(), "{text}");
}

fn unreadable(path: &Path, err: std::io::Error) -> Diagnostic {
    Diagnostic::new(
        ErrorCode::UnreadableFile,
        format!("cannot read `{}`: {err}", path.display()),
    )
    .help("check the path; `bomc fmt` takes `.bom` files and folders holding them")
}
