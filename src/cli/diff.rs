//! `bomc diff`: what a change to a `.bom` file does to each environment.
//! Two files (`OLD NEW`), or one file against a git revision (`--base REV
//! FILE`): the file and every module it imports are read from the revision
//! with `git show`, leaving the work tree alone. Exit codes as `diff`'s: 0 no
//! change, 1 changes, 2 usage errors or input that does not check, 3 when a
//! risk named by `--fail-on` occurs.

use super::{DiffArgs, DiffFormat, FailOn, Format, report};
use crate::diff::{Report, Risk, human, markdown};
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, ExitCode};

/// A git revision of the repository holding a file.
struct Git {
    /// The repository's top folder (as git prints it).
    root: PathBuf,
    /// The revision as given, and the commit it names.
    rev: String,
    commit: String,
    cwd: PathBuf,
}

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// `a/./b/../c` → `a/c`.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

impl Git {
    fn open(file: &Path, rev: &str) -> Result<Git, String> {
        let cwd = std::env::current_dir().map_err(|e| format!("no current folder: {e}"))?;
        let dir = match file.parent() {
            Some(p) if !p.as_os_str().is_empty() => cwd.join(p),
            _ => cwd.clone(),
        };
        let root = git(&dir, &["rev-parse", "--show-toplevel"])
            .map_err(|e| format!("`{}` is not in a git repository: {e}", file.display()))?;
        let root = PathBuf::from(root.trim());
        let commit = git(
            &root,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{rev}^{{commit}}"),
            ],
        )
        .map_err(|_| {
            format!(
                "`{rev}` is not a revision of the repository at {}",
                root.display()
            )
        })?;
        Ok(Git {
            root,
            rev: rev.to_string(),
            commit: commit.trim().to_string(),
            cwd,
        })
    }

    /// The path inside the repository, `/`-separated.
    fn relative(&self, path: &Path) -> Option<String> {
        let abs = normalize(&self.cwd.join(path));
        let rel = abs
            .strip_prefix(&self.root)
            .map(Path::to_path_buf)
            .ok()
            .or_else(|| {
                // The path may pass through a symbolic link to the repository.
                let parent = std::fs::canonicalize(abs.parent()?).ok()?;
                let root = std::fs::canonicalize(&self.root).ok()?;
                parent
                    .join(abs.file_name()?)
                    .strip_prefix(root)
                    .map(Path::to_path_buf)
                    .ok()
            })?;
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        Some(parts.join("/"))
    }

    /// A file as it is at the revision.
    fn read(&self, path: &Path) -> std::io::Result<String> {
        let not_found = |why: String| std::io::Error::new(std::io::ErrorKind::NotFound, why);
        let rel = self.relative(path).ok_or_else(|| {
            not_found(format!(
                "it is outside the repository at {}",
                self.root.display()
            ))
        })?;
        let spec = format!("{}:{rel}", self.commit);
        let out = Command::new("git")
            .arg("-C")
            .arg(&self.root)
            .args(["show", &spec])
            .output()?;
        if !out.status.success() {
            return Err(not_found(format!("not in {} ({rel})", self.rev)));
        }
        String::from_utf8(out.stdout)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8"))
    }

    fn exists(&self, path: &Path) -> bool {
        self.relative(path).is_some_and(|rel| {
            git(
                &self.root,
                &["cat-file", "-e", &format!("{}:{rel}", self.commit)],
            )
            .is_ok()
        })
    }
}

fn usage(message: &str) -> ExitCode {
    use clap::CommandFactory;
    let err = super::Cli::command().error(clap::error::ErrorKind::ArgumentConflict, message);
    let _ = err.print();
    ExitCode::from(2)
}

/// The versions compared and how they are named.
struct Versions {
    old: Option<crate::resolve::Program>,
    new: crate::resolve::Program,
    old_label: String,
    new_label: String,
    file: PathBuf,
}

/// Loads a version; on errors, what to report.
fn load(
    path: &Path,
    read: crate::resolve::Read,
) -> Result<crate::resolve::Program, Box<crate::Checked>> {
    let mut diags = crate::diag::Diagnostics::default();
    let program = crate::resolve::load_file_with(path, read, &mut diags);
    if diags.is_empty()
        && let Some(p) = program
    {
        return Ok(p);
    }
    Err(Box::new(crate::Checked {
        program: program.unwrap_or_default(),
        diagnostics: diags.into_vec(),
        warnings: Vec::new(),
        landscapes: Vec::new(),
        built: Vec::new(),
    }))
}

fn versions(args: &DiffArgs) -> Result<Versions, ExitCode> {
    let disk = |p: &Path| std::fs::read_to_string(p);
    let fail = |checked: Box<crate::Checked>, which: &str, file: &Path| {
        does_not_check(&checked, args.format, which, file)
    };
    match (&args.base, args.files.as_slice()) {
        (Some(rev), [file]) => {
            let new = load(file, &disk).map_err(|c| fail(c, "the file", file))?;
            let repo = Git::open(file, rev).map_err(|e| usage(&e))?;
            let rel = repo
                .relative(file)
                .unwrap_or_else(|| file.display().to_string());
            let old_label = format!("{rev}:{rel}");
            let old = if repo.exists(file) {
                let read = |p: &Path| repo.read(p);
                let which = format!("`{old_label}`");
                Some(load(file, &read).map_err(|c| fail(c, &which, file))?)
            } else {
                None
            };
            Ok(Versions {
                old,
                new,
                old_label,
                new_label: file.display().to_string(),
                file: file.clone(),
            })
        }
        (None, [old, new]) => {
            // Both at once: parsing a large landscape takes a while.
            let (old_program, new_program) =
                crate::parallel::both(|| load(old, &disk), || load(new, &disk));
            let old_program = old_program.map_err(|c| fail(c, "OLD", old))?;
            let new_program = new_program.map_err(|c| fail(c, "NEW", new))?;
            Ok(Versions {
                old: Some(old_program),
                new: new_program,
                old_label: old.display().to_string(),
                new_label: new.display().to_string(),
                file: new.clone(),
            })
        }
        (Some(_), _) => Err(usage(
            "with --base, give one FILE: `bomc diff --base REV FILE`",
        )),
        (None, _) => Err(usage(
            "give two files, `bomc diff OLD NEW`, or one with a revision, `bomc diff --base REV FILE`",
        )),
    }
}

/// Reports a version that does not check: diagnostics on stderr (JSON on
/// stdout with `--format json`), and for Markdown a comment that says so.
fn does_not_check(
    checked: &crate::Checked,
    format: DiffFormat,
    which: &str,
    file: &Path,
) -> ExitCode {
    match format {
        DiffFormat::Json => report(checked, Format::Json),
        DiffFormat::Human => {
            let _ = writeln!(std::io::stderr(), "error: {which} does not check");
            report(checked, Format::Human);
        }
        DiffFormat::Markdown => {
            report(checked, Format::Human);
            let text =
                crate::diag::render_human(&checked.diagnostics, &checked.program.sources, false);
            let _ = write!(
                std::io::stdout(),
                "{}\n### bomc diff: `{}`\n\n**{which} does not check**, so nothing was compared. `bomc check` says:\n\n```text\n{text}```\n",
                markdown::MARKER,
                file.display()
            );
        }
    }
    ExitCode::from(2)
}

pub fn run(args: &DiffArgs) -> ExitCode {
    let v = match versions(args) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let source = v.file.display().to_string();
    let source_dir = v.file.parent().map(Path::to_path_buf).unwrap_or_default();
    let request = crate::DiffRequest {
        environments: &args.env,
        sets: &args.sets,
        source: &source,
        source_dir: &source_dir,
    };
    let environments = match crate::diff(v.old.as_ref(), &v.new, &request) {
        Ok(e) => e,
        Err(err) => {
            let (program, which) = match (err.old, v.old) {
                (true, Some(p)) => (p, format!("`{}`", v.old_label)),
                _ => (v.new, String::from("the new version")),
            };
            let checked = crate::Checked {
                program,
                diagnostics: err.diagnostics,
                warnings: Vec::new(),
                landscapes: Vec::new(),
                built: Vec::new(),
            };
            return does_not_check(&checked, args.format, &which, &v.file);
        }
    };
    let report = Report::new(v.old_label, v.new_label, environments);
    let text = match args.format {
        DiffFormat::Human => human::render(&report),
        DiffFormat::Markdown => markdown::render(&report, &source),
        DiffFormat::Json => serde_json::to_string_pretty(&report).unwrap_or_default() + "\n",
    };
    let _ = write!(std::io::stdout(), "{text}");
    let risks = report.risks();
    let fails = args.fail_on.iter().any(|f| match f {
        FailOn::Any => !risks.is_empty(),
        FailOn::DataLoss => risks.contains(&Risk::DataLoss),
        FailOn::Downtime => risks.contains(&Risk::Downtime),
        FailOn::Exposure => risks.contains(&Risk::Exposure),
        FailOn::Cost => risks.contains(&Risk::Cost),
    });
    if fails {
        ExitCode::from(3)
    } else if report.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
