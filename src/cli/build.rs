//! `bomc build`: evaluate every requested environment, emit every requested
//! target (each file staged under a temporary name as it is made), and only
//! if all of that succeeded, move the files into the output folder.

use super::{BuildArgs, report};
use crate::diag::{Diagnostic, Diagnostics, ErrorCode};
use crate::emit::{self, EmitOptions, Target};
use crate::lower::time;
use crate::write::{self, Folder};
use std::io::Write;
use std::process::ExitCode;

/// Build time: `--now`, else `SOURCE_DATE_EPOCH` (reproducible builds), else the clock.
pub(super) fn now(now: Option<&str>) -> Result<i64, Diagnostic> {
    if let Some(text) = now {
        return time::parse_rfc3339(text).ok_or_else(|| {
            Diagnostic::new(
                ErrorCode::InvalidNow,
                format!("`--now {text}` is not an RFC 3339 time"),
            )
            .help("write it like `2026-11-27T09:00:00Z` (UTC) or `2026-11-27T10:00:00+01:00`")
        });
    }
    if let Some(epoch) = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return Ok(epoch);
    }
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0))
}

pub fn run(args: &BuildArgs) -> ExitCode {
    let mut diags = Diagnostics::default();
    let program = crate::resolve::load_file(&args.target.file, &mut diags).unwrap_or_default();
    let mut checked = crate::Checked {
        program,
        diagnostics: Vec::new(),
        warnings: Vec::new(),
        landscapes: Vec::new(),
        built: Vec::new(),
    };
    let fail = |checked: &mut crate::Checked, diags: Diagnostics| {
        checked.diagnostics = diags.into_vec();
        report(checked, args.format);
        ExitCode::from(1)
    };
    if !diags.is_empty() {
        return fail(&mut checked, diags);
    }
    let now = match now(args.now.as_deref()) {
        Ok(n) => n,
        Err(d) => {
            diags.push(d);
            return fail(&mut checked, diags);
        }
    };
    let declared = crate::resolve::environments(&checked.program);
    let mut skipped = Vec::new();
    // Where each skipped environment is declared, and what builds it.
    let mut needs: Vec<(crate::source::Span, String)> = Vec::new();
    let environments: Vec<Option<String>> = match &args.target.env {
        Some(e) => vec![Some(e.clone())],
        None if declared.is_empty() => vec![None],
        None => declared
            .iter()
            .filter(|env| {
                let missing: Vec<&str> = env
                    .body
                    .params()
                    .filter(|p| {
                        p.default.is_none()
                            && !args.target.sets.iter().any(|(k, _)| *k == p.name.node)
                    })
                    .map(|p| p.name.node.as_str())
                    .collect();
                if missing.is_empty() {
                    true
                } else {
                    let sets: Vec<String> =
                        missing.iter().map(|m| format!("--set {m}=…")).collect();
                    needs.push((
                        env.name.span,
                        format!("--env {} {}", env.name.node, sets.join(" ")),
                    ));
                    skipped.push(format!(
                        "{} (needs --env {} {})",
                        env.name.node,
                        env.name.node,
                        sets.join(" ")
                    ));
                    false
                }
            })
            .map(|env| Some(env.name.node.clone()))
            .collect(),
    };
    if environments.is_empty() {
        // Building nothing would exit 0 and leave stale output in place.
        let mut d = Diagnostic::new(
            ErrorCode::BuildsNothing,
            format!(
                "`{}` builds nothing: every environment needs parameters",
                args.target.file.display()
            ),
        );
        for (span, _) in &needs {
            d = d.label(*span, "needs `--set`");
        }
        let ways: Vec<String> = needs
            .iter()
            .map(|(_, way)| format!("`bomc build {} {way}`", args.target.file.display()))
            .collect();
        diags.push(d.help(format!("build one with {}", ways.join(" or "))));
        return fail(&mut checked, diags);
    }
    let mut targets = args.targets.clone();
    if targets.is_empty() {
        targets = vec![Target::Compose, Target::Cloudformation, Target::Dockerfile];
    }
    targets.sort();
    targets.dedup();
    let options = EmitOptions {
        cloudformation_yaml: args.cloudformation_yaml,
        validate_only: false,
        ends_process: false,
    };
    let source = args.target.file.display().to_string();
    let source_dir = args
        .target
        .file
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();

    // Host-port blocks already taken by instances in the output folder.
    let existing = write::instances(&args.out);
    let mut taken: std::collections::BTreeMap<(String, String), u32> = existing
        .iter()
        .map(|(_, m)| {
            (
                (m.info.landscape.clone(), m.info.instance.clone()),
                m.info.port_block,
            )
        })
        .collect();
    let settings = crate::BuildSettings {
        source: &source,
        source_dir: &source_dir,
        now,
        out: &args.out,
    };
    let mut port_block =
        |landscape: &str, instance: &str| port_block(&mut taken, landscape, instance);
    // The file-level checks (`check` runs them too), so a build never ships
    // a file whose kinds or images `check` rejects; each environment built is
    // checked as it is compiled. Run first, so that the syntax trees can go
    // before the last environment is emitted; reported, as before, only when
    // every environment compiled and emitted without an error.
    let mut file_level = Diagnostics::default();
    crate::check_file_level(&checked.program, &args.target.sets, &mut file_level);
    let mut outputs = Vec::new();
    let mut warnings = Vec::new();
    // Each file goes to the output folder as soon as it is made, so that the
    // texts of a large landscape are never all held at once; dropped on any
    // error below, the staging leaves the previous output as it was.
    let staging = write::Staging::new(&args.out);
    let last = environments.len() - 1;
    for (i, env) in environments.into_iter().enumerate() {
        let opts = crate::eval::Options {
            environment: env.clone(),
            sets: args.target.sets.clone(),
            placeholders: false,
            shared_sets: args.target.env.is_none(),
        };
        let evaluated = crate::evaluate_for_build(&checked.program, &opts, &mut diags);
        if i == last {
            // Nothing reads the syntax trees after the last evaluation (a
            // diagnostic needs only the sources): at N = 10,000 they are a
            // quarter of what a build holds while lowering, at N = 1,000 a
            // sixth of what it holds while emitting.
            // On the other core, while this one lowers; their memory is
            // reused by emission (see `main.rs` on jemalloc's options).
            emit::free_in_background(std::mem::take(&mut checked.program.modules));
        }
        let plan = evaluated.and_then(|e| e.lower(&settings, &mut port_block, &mut diags));
        let Some((mut plan, spent)) = plan else {
            continue;
        };
        let instance = &plan.instance;
        let dir = std::path::PathBuf::from(&instance.landscape).join(&instance.instance);
        let keep = |a| staging.file(&dir, &a);
        let options = EmitOptions {
            ends_process: i == last,
            ..options.clone()
        };
        let files = match crate::build_into(&plan, &targets, &options, &keep, spent) {
            Ok(files) => files,
            Err(errors) => {
                // A file that cannot be written ends the build: every other
                // file would fail the same way.
                if let Some(failure) = staging.failure() {
                    diags.push(failure);
                    return fail(&mut checked, diags);
                }
                errors.into_iter().for_each(|d| diags.push(d));
                continue;
            }
        };
        outputs.push(Folder {
            dir,
            info: write::Instance {
                project: instance.project.clone(),
                port_block: instance.port_block,
                source: source.clone(),
                landscape: instance.landscape.clone(),
                environment: instance.environment.clone(),
                instance: instance.instance.clone(),
                lifetime: String::from(if instance.is_ephemeral() {
                    "ephemeral"
                } else {
                    "persistent"
                }),
                purpose: instance.purpose.clone(),
                expires: instance.expires().map(String::from),
                notes: emit::notes(&plan),
            },
            files,
        });
        warnings.append(&mut plan.warnings);
        // Freed on another core: at N = 1,000 freeing the plan's workloads
        // held this one while the other waited, at the end of the build.
        // The last one is left for the exit, as its templates' trees are.
        if i == last {
            std::mem::forget(plan);
        } else {
            emit::free_in_background(plan);
        }
    }
    if diags.is_empty() {
        file_level
            .into_vec()
            .into_iter()
            .for_each(|d| diags.push(d));
    }
    if !diags.is_empty() {
        return fail(&mut checked, diags);
    }
    let mut seen = std::collections::BTreeSet::new();
    checked.warnings = warnings
        .into_iter()
        .filter(|d| seen.insert((d.code, d.message.clone(), d.primary_span())))
        .collect();
    if args.format == super::Format::Human {
        report(&checked, args.format);
    }
    let written = match staging.commit(&outputs) {
        Ok(w) => w,
        Err(d) => {
            diags.push(d);
            return fail(&mut checked, diags);
        }
    };
    let mut out = std::io::stdout();
    for output in &outputs {
        let _ = writeln!(
            out,
            "{}: {} file{} ({})",
            args.out.join(&output.dir).display(),
            output.files.len() + 1,
            if output.files.is_empty() { "" } else { "s" },
            output
                .info
                .expires
                .as_ref()
                .map(|e| format!("ephemeral, expires {e}"))
                .unwrap_or_else(|| output.info.lifetime.clone())
        );
    }
    let _ = written;
    for s in skipped {
        let _ = writeln!(std::io::stderr(), "note: skipped environment {s}");
    }
    // The process ends here: the parsed program is freed by the exit, not
    // one small allocation at a time (as in `check`).
    std::mem::forget(checked);
    ExitCode::SUCCESS
}

/// The instance's block of host ports: the one it had, else the lowest free
/// block among the landscape's instances.
fn port_block(
    taken: &mut std::collections::BTreeMap<(String, String), u32>,
    landscape: &str,
    instance: &str,
) -> u32 {
    let key = (landscape.to_string(), instance.to_string());
    if let Some(b) = taken.get(&key) {
        return *b;
    }
    let used: std::collections::BTreeSet<u32> = taken
        .iter()
        .filter(|((l, _), _)| l == landscape)
        .map(|(_, b)| *b)
        .collect();
    let block = (0..).find(|b| !used.contains(b)).unwrap_or(0);
    taken.insert(key, block);
    block
}
