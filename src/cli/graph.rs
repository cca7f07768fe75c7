//! `bomc graph`: the dependency graph as DOT, Mermaid or JSON.

use super::{Format, GraphArgs, GraphFormat, evaluate};
use crate::graph::{Graph, render};
use std::io::Write;
use std::process::ExitCode;

pub fn run(args: &GraphArgs) -> ExitCode {
    let diag_format = if args.format == GraphFormat::Json {
        Format::Json
    } else {
        Format::Human
    };
    let (checked, landscape) = match evaluate(&args.target, diag_format) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let graph = Graph::build(&landscape);
    let text = match args.format {
        GraphFormat::Dot => render::dot(&graph),
        GraphFormat::Mermaid => render::mermaid(&graph),
        GraphFormat::Json => render::json(&graph, &checked.program.sources) + "\n",
    };
    let _ = std::io::stdout().write_all(text.as_bytes());
    ExitCode::SUCCESS
}
