//! `bomc check`: report every mistake in a file, exit 1 if there is one.

use super::{EvalArgs, Format, report};
use std::io::Write;
use std::process::ExitCode;

pub fn run(args: &EvalArgs) -> ExitCode {
    let checked = crate::check_file(&args.target.file, &args.target.options());
    report(&checked, args.format);
    if !checked.diagnostics.is_empty() {
        return ExitCode::from(1);
    }
    if args.format == Format::Human {
        let summary = match checked.landscapes.first() {
            Some(l) => {
                let envs: Vec<&str> = checked
                    .landscapes
                    .iter()
                    .filter_map(|l| l.environment.as_ref().map(|e| e.name.as_str()))
                    .collect();
                format!(
                    "{}: landscape `{}` is valid ({} components; environments: {})",
                    args.target.file.display(),
                    l.name,
                    l.components.len(),
                    if envs.is_empty() {
                        String::from("none")
                    } else {
                        envs.join(", ")
                    }
                )
            }
            None => format!("{}: module is valid", args.target.file.display()),
        };
        let _ = writeln!(std::io::stdout(), "{summary}");
    }
    ExitCode::SUCCESS
}
