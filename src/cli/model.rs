//! `bomc model`: the evaluated landscape model as JSON, for tools and debugging.

use super::{EvalArgs, report};
use std::io::Write;
use std::process::ExitCode;

pub fn run(args: &EvalArgs) -> ExitCode {
    let checked = crate::check_file(&args.file, &args.options());
    if !checked.diagnostics.is_empty() {
        report(&checked, args.format);
        return ExitCode::from(1);
    }
    let Some(landscape) = checked.landscapes.first() else {
        let _ = writeln!(
            std::io::stderr(),
            "{}: no landscape to evaluate",
            args.file.display()
        );
        return ExitCode::from(1);
    };
    match serde_json::to_string_pretty(landscape) {
        Ok(json) => {
            let _ = writeln!(std::io::stdout(), "{json}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "cannot serialize the model: {err}");
            ExitCode::from(1)
        }
    }
}
