//! Emitters: one per target, same shape — a [`BuildContext`] in, the files of
//! one environment out (paths relative to the environment's output folder).
//! Structured formats are built as typed values and serialized with serde;
//! only Dockerfiles are text, rendered with handlebars.

pub mod cloudformation;
pub mod compose;
pub mod dockerfile;
pub mod yaml;

use crate::diag::Diagnostic;
pub use crate::lower::BuildContext;

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
}

/// Emits one target for one environment.
pub fn emit(
    target: Target,
    ctx: &BuildContext,
    options: &EmitOptions,
) -> Result<Vec<Artifact>, Vec<Diagnostic>> {
    match target {
        Target::Compose => compose::emit(ctx),
        Target::Cloudformation => cloudformation::emit(ctx, options),
        Target::Dockerfile => dockerfile::emit(ctx),
    }
}
