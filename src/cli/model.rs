//! `bomc model`: the evaluated landscape model as JSON, for tools and debugging.

use super::{EvalArgs, evaluate};
use std::io::Write;
use std::process::ExitCode;

pub fn run(args: &EvalArgs) -> ExitCode {
    let (_, landscape) = match evaluate(&args.target, args.format) {
        Ok(l) => l,
        Err(code) => return code,
    };
    match serde_json::to_string_pretty(&landscape) {
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
