//! `bomc import`: compose files in, a `.bom` landscape on stdout, warnings
//! about what did not carry over on stderr.

use super::{Format, ImportArgs};
use crate::diag::{Diagnostic, ErrorCode};
use crate::source::{FileId, SourceMap};
use std::io::Write;
use std::process::ExitCode;

/// Whether a file is a rancher-compose file, by its name.
fn is_rancher(path: &std::path::Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("rancher-compose"))
}

pub fn run(args: &ImportArgs) -> ExitCode {
    let mut sources = SourceMap::default();
    let mut errors = Vec::new();
    let mut compose: Vec<FileId> = Vec::new();
    let mut rancher: Vec<FileId> = Vec::new();
    for path in &args.files {
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let id = sources.add(name, Some(path.clone()), text);
                if is_rancher(path) {
                    rancher.push(id);
                } else {
                    compose.push(id);
                }
            }
            Err(e) => errors.push(
                Diagnostic::new(
                    ErrorCode::ComposeUnreadable,
                    format!("cannot read `{name}`: {e}"),
                )
                .help("name compose files that exist and are readable: `bomc import compose.yaml`"),
            ),
        }
    }
    if errors.is_empty() && compose.is_empty() {
        errors.push(
            Diagnostic::new(ErrorCode::NotCompose, "only rancher-compose files were given")
                .help("name the compose files first: `bomc import docker-compose.yml rancher-compose.yml`"),
        );
    }
    if !errors.is_empty() {
        report(&errors, &sources, args.format);
        return ExitCode::from(1);
    }
    match crate::import::import(&sources, &compose, &rancher) {
        Ok(imported) => {
            report(&imported.warnings, &sources, args.format);
            if args.format == Format::Human {
                let _ = write!(std::io::stdout(), "{}", imported.text);
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            report(&errors, &sources, args.format);
            ExitCode::from(1)
        }
    }
}

fn report(diags: &[Diagnostic], sources: &SourceMap, format: Format) {
    use std::io::IsTerminal;
    match format {
        Format::Json => {
            let json = crate::diag::render_json(diags, sources);
            let _ = writeln!(std::io::stdout(), "{json}");
        }
        Format::Human if !diags.is_empty() => {
            let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let _ = write!(
                std::io::stderr(),
                "{}",
                crate::diag::render_human(diags, sources, color)
            );
        }
        Format::Human => {}
    }
}
