//! The command line: clap definitions and one module per subcommand.

mod build;
mod check;
mod diff;
mod envs;
mod fmt;
mod graph;
mod impact;
mod import;
mod model;
mod reap;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// bomc compiles bills of materials: `.bom` files describing a whole
/// application landscape (services, databases, caches, queues, load balancers,
/// DNS, images) and the environments it runs in.
#[derive(Parser, Debug)]
#[command(name = "bomc", version, about, long_about = None, after_help = "Exit codes: 0 valid, 1 errors in the input, 2 usage errors.\nThe language is described in docs/language.md; error codes in docs/errors.md.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// The folder imports may not leave (default: the folder of the main file).
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check a .bom file: syntax, names, types, references, secrets, for every
    /// environment it declares (its landscape, when it declares none).
    ///
    /// Examples:
    ///   bomc check env.bom
    ///   bomc check env.bom --env story --set id=US-217
    ///   bomc check env.bom --format json
    #[command(verbatim_doc_comment)]
    Check(EvalArgs),
    /// Print the evaluated landscape model of one environment as JSON: every
    /// component with its settings, parameters and references.
    #[command(verbatim_doc_comment)]
    Model(EvalArgs),
    /// Draw the landscape's dependency graph: components, images, routes, DNS
    /// names and secrets, with the ports each edge carries.
    ///
    /// Examples:
    ///   bomc graph env.bom | dot -Tsvg > graph.svg
    ///   bomc graph env.bom --env production --format mermaid
    ///   bomc graph env.bom --format json    (adds start order, build order, access facts)
    #[command(verbatim_doc_comment)]
    Graph(GraphArgs),
    /// What a change touches: everything that transitively depends on the named
    /// components or images (to redeploy, retest, rebuild), nearest first, each
    /// with the path that makes it impacted. `--reverse` lists what they need.
    ///
    /// Examples:
    ///   bomc impact env.bom db
    ///   bomc impact env.bom go_runtime --env production --format json
    ///   bomc impact env.bom auth --reverse
    #[command(verbatim_doc_comment)]
    Impact(ImpactArgs),
    /// What a change does: compares two versions of a .bom file for every
    /// environment (or --env), on the plan and on the files each target gets,
    /// and lists what is added, removed and changed, setting by setting, with
    /// the components downstream of each change and its risks: data-loss,
    /// downtime, exposure, cost. No cloud credentials needed.
    ///
    /// Exit codes: 0 no change, 1 changes, 2 usage errors or a version that
    /// does not check, 3 a risk named by --fail-on occurs.
    ///
    /// Examples:
    ///   bomc diff old.bom new.bom
    ///   bomc diff --base origin/main env.bom                   (the file and its imports at a git revision)
    ///   bomc diff --base origin/main env.bom --format markdown (a pull-request comment)
    ///   bomc diff --base HEAD env.bom --env production --fail-on data-loss,downtime
    ///
    /// See docs/ci.md for a CI workflow.
    #[command(verbatim_doc_comment)]
    Diff(DiffArgs),
    /// Build the artifacts that run a landscape: compose.yaml, a CloudFormation
    /// template and a Dockerfile per image, into OUT/<landscape>/<environment>/,
    /// with a manifest of every file and its hash. Nothing is written unless the
    /// whole build succeeds.
    ///
    /// Examples:
    ///   bomc build env.bom                                  (every environment, every target)
    ///   bomc build env.bom --env production --target compose --out out
    ///   bomc build env.bom --env story --set id=US-217 --now 2026-11-27T09:00:00Z
    #[command(verbatim_doc_comment)]
    Build(BuildArgs),
    /// List environments: those a file declares (name, persistent or ephemeral,
    /// TTL, purpose, parameters), or with --out those built into an output folder
    /// (and running under a Docker engine), with purpose and expiry.
    ///
    /// Examples:
    ///   bomc envs env.bom
    ///   bomc envs env.bom --format json
    ///   bomc envs --out out
    #[command(verbatim_doc_comment)]
    Envs(EnvsArgs),
    /// Take down expired ephemeral environments built into an output folder:
    /// prints (with --dry-run) or runs `docker compose -p PROJECT down --volumes`
    /// for each. Persistent and live environments are never touched.
    ///
    /// Examples:
    ///   bomc reap --out out --dry-run
    ///   bomc reap --out out
    #[command(verbatim_doc_comment)]
    Reap(ReapArgs),
    /// Format .bom files in place, in the one canonical layout (2-space
    /// indentation, one member per line, comments and blank-line groups kept;
    /// docs/language.md, "Formatting"). Folders are searched for *.bom files.
    /// A file is rewritten only if its layout changes; one that does not parse
    /// is reported and left as it is.
    ///
    /// Exit codes: 0 formatted (or, with --check, nothing to change), 1 with
    /// --check: files would change (they are listed), 2 a file does not parse
    /// or cannot be read or written.
    ///
    /// Examples:
    ///   bomc fmt env.bom
    ///   bomc fmt --check examples stdlib
    ///   bomc fmt - < env.bom          (standard input to standard output, for editors)
    #[command(verbatim_doc_comment)]
    Fmt(FmtArgs),
    /// Print a shell completion script.
    ///
    /// Examples:
    ///   bomc completions bash > ~/.local/share/bash-completion/completions/bomc
    ///   bomc completions zsh > ~/.zfunc/_bomc
    ///   bomc completions fish > ~/.config/fish/completions/bomc.fish
    #[command(verbatim_doc_comment)]
    Completions(CompletionsArgs),
    /// Print bomc's man page (roff), or with a SUBCOMMAND the page
    /// `bomc-SUBCOMMAND(1)` that bomc's page refers to.
    ///
    /// Examples:
    ///   bomc man > bomc.1 && man ./bomc.1
    ///   bomc man fmt > bomc-fmt.1
    #[command(verbatim_doc_comment)]
    Man(ManArgs),
    /// Print a .bom landscape equivalent to compose files: stdlib kinds for
    /// recognised images, references instead of copied host names, secrets
    /// instead of passwords, and what has no setting through `compose { }`
    /// with a comment. Later files override earlier ones, as with
    /// `docker compose -f a -f b`; a `rancher-compose.yml` adds scale and
    /// health checks. Keep the output next to the first compose file.
    ///
    /// Examples:
    ///   bomc import compose.yaml > stack.bom
    ///   bomc import docker-compose.yml docker-compose.prod.yml rancher-compose.yml
    ///
    /// docs/import.md lists what maps to what.
    #[command(verbatim_doc_comment)]
    Import(ImportArgs),
}

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// Compose files, merged in order, then rancher-compose files (by name).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// How to print diagnostics (`json`: diagnostics only, no .bom).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(clap::Args, Debug)]
pub struct ManArgs {
    /// The subcommand whose page to print (default: bomc's own page).
    #[arg(value_name = "SUBCOMMAND")]
    pub subcommand: Option<String>,
}

#[derive(clap::Args, Debug)]
pub struct FmtArgs {
    /// .bom files, or folders to search for them; `-` formats standard input
    /// to standard output.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Write nothing: list the files that would change, exit 1 if there are any.
    #[arg(long)]
    pub check: bool,
}

#[derive(clap::Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete bomc in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    /// OLD and NEW .bom files, or with --base the one FILE.
    #[arg(value_name = "FILE", required = true, num_args = 1..=2)]
    pub files: Vec<PathBuf>,
    /// Compare FILE with its version at this git revision (a branch, tag or
    /// commit); the modules it imports are read from the revision too.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// Compare only this environment (repeatable; default: every environment
    /// either version declares).
    #[arg(long, value_name = "NAME")]
    pub env: Vec<String>,
    /// Set a parameter, in both versions (as for `check`). Required
    /// parameters without one are compared with placeholders.
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
    pub sets: Vec<(String, String)>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Human)]
    pub format: DiffFormat,
    /// Exit 3 if a change carries one of these risks (comma-separated or repeated).
    #[arg(
        long = "fail-on",
        value_enum,
        value_delimiter = ',',
        value_name = "RISK"
    )]
    pub fail_on: Vec<FailOn>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Grouped by environment and component, risks first.
    Human,
    /// A pull-request comment: summary, risks, tables, the changed graph in Mermaid.
    Markdown,
    /// Every change with component, change, target, setting, old, new, risks,
    /// impact (docs/ci.md describes the shape).
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Data deleted, or out of reach of the new resources.
    DataLoss,
    /// A load balancer, listener or service replaced; replicas to zero; a port moved under a route.
    Downtime,
    /// A new public port, route or ingress source; TLS removed; a secret turned literal.
    Exposure,
    /// Bigger instances, more storage or replicas, new services.
    Cost,
    /// Any of the above.
    Any,
}

#[derive(clap::Args, Debug)]
pub struct EnvsArgs {
    /// A .bom file: list the environments it declares.
    #[arg(required_unless_present = "out")]
    pub file: Option<PathBuf>,
    /// An output folder: list the environment instances built into it.
    #[arg(long, value_name = "DIR", conflicts_with = "file")]
    pub out: Option<PathBuf>,
    /// The time expiry is judged against (default: now).
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(clap::Args, Debug)]
pub struct ReapArgs {
    /// The output folder bomc built into.
    #[arg(long, default_value = "out", value_name = "DIR")]
    pub out: PathBuf,
    /// The time expiry is judged against (default: now).
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
    /// Print the commands instead of running them.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(clap::Args, Debug)]
pub struct BuildArgs {
    #[command(flatten)]
    pub target: Target,
    /// Targets to emit (default: all), comma-separated or repeated.
    #[arg(
        long = "target",
        value_enum,
        value_delimiter = ',',
        value_name = "TARGET"
    )]
    pub targets: Vec<crate::emit::Target>,
    /// The output folder.
    #[arg(long, default_value = "out", value_name = "DIR")]
    pub out: PathBuf,
    /// The build time, RFC 3339 (default: SOURCE_DATE_EPOCH, else now); expiry = now + TTL.
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
    /// Write CloudFormation templates as YAML instead of JSON.
    #[arg(long = "cloudformation-yaml")]
    pub cloudformation_yaml: bool,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// What to evaluate: a file, an environment, parameter values.
#[derive(clap::Args, Debug)]
pub struct Target {
    /// The .bom file.
    pub file: PathBuf,
    /// The environment to overlay (`check` without it checks every environment
    /// the file declares, or the bare landscape if it declares none; other
    /// commands use the bare landscape).
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// Set a parameter of the landscape or environment, typed by its declaration
    /// (`--set id=US-217 --set replicas=3 --set ttl=90m`). Repeatable; the last wins.
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
    pub sets: Vec<(String, String)>,
}

#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    #[command(flatten)]
    pub target: Target,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(clap::Args, Debug)]
pub struct GraphArgs {
    #[command(flatten)]
    pub target: Target,
    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT.
    Dot,
    /// A Mermaid flowchart (renders in pull-request comments).
    Mermaid,
    /// JSON: nodes, edges with reasons and ports, start and build order, access facts.
    Json,
}

#[derive(clap::Args, Debug)]
pub struct ImpactArgs {
    /// The .bom file.
    pub file: PathBuf,
    /// Components, images (`image:NAME` if a component has the same name), secrets or DNS names.
    #[arg(required = true, value_name = "COMPONENT")]
    pub names: Vec<String>,
    /// The environment to read; without it, every environment `bomc build` builds.
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// Set a parameter (as for `check`).
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
    pub sets: Vec<(String, String)>,
    /// List what the components need instead of what needs them.
    #[arg(long)]
    pub reverse: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Source excerpts with labels and help, for people.
    Human,
    /// A JSON array of diagnostics (code, message, file, line, column, span, help).
    Json,
}

fn parse_set(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected NAME=VALUE, found `{text}`")),
    }
}

impl Target {
    pub fn options(&self) -> crate::eval::Options {
        crate::eval::Options {
            environment: self.env.clone(),
            sets: self.sets.clone(),
            placeholders: false,
            shared_sets: false,
        }
    }
}

/// Runs bomc with the given arguments; returns the process exit code.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    if let Some(root) = cli.root {
        crate::resolve::set_root(root);
    }
    // A build's two cores share one arena: what compose frees,
    // CloudFormation's split reuses. The other commands' cores evaluate at
    // once, each in its own.
    let arenas = match cli.command {
        Command::Build(_) => crate::parallel::Arenas::One,
        _ => crate::parallel::Arenas::Two,
    };
    crate::parallel::run_on_two_cores(arenas, || dispatch(cli.command))
}

/// Runs the subcommand.
fn dispatch(command: Command) -> ExitCode {
    match command {
        Command::Check(args) => check::run(&args),
        Command::Model(args) => model::run(&args),
        Command::Graph(args) => graph::run(&args),
        Command::Impact(args) => impact::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Build(args) => build::run(&args),
        Command::Envs(args) => envs::run(&args),
        Command::Reap(args) => reap::run(&args),
        Command::Import(args) => import::run(&args),
        Command::Fmt(args) => fmt::run(&args),
        Command::Completions(args) => {
            clap_complete::generate(
                args.shell,
                &mut Cli::command(),
                "bomc",
                &mut std::io::stdout(),
            );
            ExitCode::SUCCESS
        }
        Command::Man(args) => man(&args),
    }
}

/// `bomc man [SUBCOMMAND]`: the page generated from the same clap definitions
/// as `--help`, so the two never disagree.
fn man(args: &ManArgs) -> ExitCode {
    let bomc = Cli::command();
    let page = match &args.subcommand {
        None => bomc,
        Some(name) => match bomc.find_subcommand(name) {
            Some(sub) => sub
                .clone()
                .display_name(format!("bomc-{name}"))
                .bin_name(format!("bomc {name}"))
                .version(env!("CARGO_PKG_VERSION")),
            None => {
                let names: Vec<&str> = bomc.get_subcommands().map(|c| c.get_name()).collect();
                let _ = writeln!(
                    std::io::stderr(),
                    "error: no subcommand `{name}`; bomc has: {}",
                    names.join(", ")
                );
                return ExitCode::from(2);
            }
        },
    };
    match clap_mangen::Man::new(page).render(&mut std::io::stdout()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(2),
    }
}

/// Evaluates one landscape for a command that needs it; on errors, reports
/// them and returns the exit code.
pub(crate) fn evaluate(
    target: &Target,
    format: Format,
) -> Result<(crate::Checked, crate::model::Landscape), ExitCode> {
    let mut checked = crate::evaluate_file(&target.file, &target.options());
    if !checked.diagnostics.is_empty() {
        report(&checked, format);
        return Err(ExitCode::from(1));
    }
    match checked.landscapes.pop() {
        Some(l) => Ok((checked, l)),
        None => Err(ExitCode::from(1)),
    }
}

/// Prints a value as pretty JSON on stdout.
pub(crate) fn print_json(value: &impl serde::Serialize) {
    use std::io::Write;
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    let _ = writeln!(std::io::stdout(), "{text}");
}

/// Prints diagnostics in the chosen format: human text on stderr, JSON on stdout.
pub(crate) fn report(checked: &crate::Checked, format: Format) {
    use std::io::{IsTerminal, Write};
    let all: Vec<crate::diag::Diagnostic>;
    let diags = if checked.warnings.is_empty() {
        &checked.diagnostics
    } else {
        all = checked
            .diagnostics
            .iter()
            .chain(&checked.warnings)
            .cloned()
            .collect();
        &all
    };
    match format {
        Format::Json => {
            let json = crate::diag::render_json(diags, &checked.program.sources);
            let _ = writeln!(std::io::stdout(), "{json}");
        }
        Format::Human => {
            if diags.is_empty() {
                return;
            }
            let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let text = crate::diag::render_human(diags, &checked.program.sources, color);
            let _ = write!(std::io::stderr(), "{text}");
        }
    }
}
