//! Emitters: one per target, same shape — a [`Plan`] in, the files of one
//! environment instance out (paths relative to the instance's output folder).
//! They translate the plan and decide nothing else; no emitter calls another.
//! Structured formats are built as typed values and serialized with serde;
//! only Dockerfiles are text, rendered with handlebars.

pub mod cloudformation;
pub mod compose;
pub mod dockerfile;
pub mod json;
pub mod yaml;

use crate::diag::Diagnostic;
use crate::lower::plan::Plan;

/// One emitted file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    /// Relative to the environment's folder, `/`-separated: `compose.yaml`,
    /// `images/go_auth/Dockerfile`.
    pub path: String,
    pub contents: String,
}

/// What `bomc build` can emit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Target {
    /// `compose.yaml` (Compose Specification).
    Compose,
    /// `cloudformation.json` (or `.yaml`): ECS on Fargate, ALB, RDS, ElastiCache…
    Cloudformation,
    /// A Dockerfile per image definition: `images/<name>/Dockerfile`.
    Dockerfile,
}

/// Options that shape the emitted files.
#[derive(Clone, Debug, Default)]
pub struct EmitOptions {
    /// CloudFormation as YAML instead of JSON.
    pub cloudformation_yaml: bool,
    /// Find what a target cannot take, and write nothing: `bomc check` needs
    /// the diagnostics, not the files (no split into nested stacks, no
    /// rendering of the templates and the compose file).
    pub validate_only: bool,
    /// Nothing reads what this emission leaves behind, and the process ends
    /// once its files are written (`bomc build`'s last environment): the
    /// trees its templates were made from are left for the exit to return,
    /// as `build` and `check` leave the parsed program. Freed on threads of
    /// their own, the last of them took the cores from the commit: 1.2 ms of
    /// a build at N = 1,000 (docs/performance.md).
    pub ends_process: bool,
}

/// `parts` joined, in a string of exactly their length. The emitters name
/// and describe every resource from pieces (`{id}TaskDefinition`), and
/// `format!`, which guesses the length and writes each piece through
/// `Display`, cost some 1,000 instructions a name: 4 % of a build.
pub(crate) fn cat(parts: &[&str]) -> String {
    let mut joined = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    parts.iter().for_each(|p| joined.push_str(p));
    joined
}

/// Frees `value` on a thread of its own. The trees a large landscape's
/// templates are built from take about a tenth of an emission's instructions
/// to free; on a second core that runs beside the stages that follow instead of
/// before them. Should no thread start, the value is freed here.
pub(crate) fn free_in_background<T: Send + 'static>(value: T) {
    // The handle is dropped: nothing waits for the freeing, not even the
    // process's exit.
    let _ = std::thread::Builder::new()
        .name(String::from("bomc-free"))
        .spawn(move || drop(value));
}

/// `value`, no longer read, freed on a thread of its own, or left for the
/// process's exit when `options` say it ends after this emission.
pub(crate) fn spend<T: Send + 'static>(value: T, options: &EmitOptions) {
    if options.ends_process {
        std::mem::forget(value);
    } else {
        free_in_background(value);
    }
}

/// What becomes of each file an emitter makes, as soon as it is made: kept
/// in memory (`Ok`, for [`emit`]), or written to the output folder's staging
/// (`bomc build`), so that a large landscape's texts are never all held at
/// once. Called from either core.
pub type Keep<'k, T> = &'k (dyn Fn(Artifact) -> Result<T, Diagnostic> + Sync);

/// Emits one target for one environment.
pub fn emit(
    target: Target,
    plan: &Plan,
    options: &EmitOptions,
) -> Result<Vec<Artifact>, Vec<Diagnostic>> {
    emit_into(target, plan, options, &Ok)
}

/// [`emit`], each file handed to `keep` as soon as it is made.
pub fn emit_into<T: Send>(
    target: Target,
    plan: &Plan,
    options: &EmitOptions,
    keep: Keep<'_, T>,
) -> Result<Vec<T>, Vec<Diagnostic>> {
    let kept = |artifacts: Vec<Artifact>| {
        artifacts
            .into_iter()
            .map(keep)
            .collect::<Result<Vec<T>, Diagnostic>>()
            .map_err(|d| vec![d])
    };
    match target {
        Target::Cloudformation => match crate::lower::for_target(plan, |t| t.cloudformation) {
            Some(restricted) => cloudformation::emit_into(&restricted, options, keep),
            None => cloudformation::emit_into(plan, options, keep),
        },
        // Made whole (one compose file, small Dockerfiles), then handed on.
        Target::Compose => kept(match crate::lower::for_target(plan, |t| t.compose) {
            Some(restricted) => compose::emit(&restricted, options)?,
            None => compose::emit(plan, options)?,
        }),
        Target::Dockerfile => kept(dockerfile::emit(plan, options.validate_only)?),
    }
}

/// The notes every target records: what bomc changed or ignored, by code.
pub fn notes(plan: &Plan) -> Vec<String> {
    plan.warnings
        .iter()
        .map(|w| format!("{}: {}", w.code.code(), w.message))
        .collect()
}
