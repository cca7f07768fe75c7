//! The output folder: every environment's files written atomically (each file
//! to a temporary sibling, then renamed), a manifest of what bomc wrote with
//! hashes, stale files from bomc's previous manifest removed — and nothing
//! else ever deleted (a failed build takes back its temporary files and the
//! empty folders it created).

use crate::diag::{Diagnostic, ErrorCode};
use crate::emit::Artifact;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub const MANIFEST: &str = "bomc-manifest.json";

/// What identifies an environment instance, as its manifest records it.
#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
pub struct Instance {
    /// The compose project / stack name of this instance.
    #[serde(default)]
    pub project: String,
    /// The block of host ports this instance publishes in.
    #[serde(default)]
    pub port_block: u32,
    pub source: String,
    pub landscape: String,
    pub environment: String,
    pub instance: String,
    pub lifetime: String,
    pub purpose: Option<String>,
    pub expires: Option<String>,
    /// What bomc changed or ignored on its own (`W` codes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One environment's output: its folder (relative to the output root), what
/// it is, and its files.
pub struct Output {
    pub dir: PathBuf,
    pub info: Instance,
    pub artifacts: Vec<Artifact>,
}

/// One environment's output once its files are staged: its folder (relative
/// to the output root), what it is, and what its manifest records of each file.
pub struct Folder {
    pub dir: PathBuf,
    pub info: Instance,
    pub files: Vec<ManifestFile>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct ManifestFile {
    pub path: String,
    pub sha256: String,
    pub bytes: usize,
}

/// `bomc-manifest.json`: what bomc wrote into one environment folder.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct Manifest {
    pub generator: String,
    #[serde(flatten)]
    pub info: Instance,
    pub files: Vec<ManifestFile>,
}

fn sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn io_error(path: &Path, err: std::io::Error) -> Diagnostic {
    Diagnostic::new(ErrorCode::OutputNotWritable, format!("cannot write `{}`: {err}", path.display()))
        .help("check that the output folder is writable and is not a file; the previous output is left as it was")
}

/// The first symbolic link on the way from `root` to `path` (below `root`;
/// the folder the user names with `--out` may itself be a link).
fn link_below(root: &Path, path: &Path) -> Option<PathBuf> {
    let rel = path.strip_prefix(root).ok()?;
    let mut at = root.to_path_buf();
    for part in rel.components() {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => return Some(at),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

/// Refuses to write to `dest` through a link planted in the output folder:
/// the link could lead anywhere the CI runner may write.
fn refuse_links(root: &Path, dest: &Path) -> Result<(), Diagnostic> {
    match link_below(root, dest) {
        Some(link) => Err(Diagnostic::new(
            ErrorCode::OutputSymlink,
            format!("`{}` is a symbolic link; bomc does not write through links in the output folder", link.display()),
        )
        .help("remove the link (bomc writes real files and folders there); the previous output is left as it was")),
        None => Ok(()),
    }
}

/// Reads the manifest bomc left in `dir`, if any.
pub fn read_manifest(dir: &Path) -> Option<Manifest> {
    let text = std::fs::read_to_string(dir.join(MANIFEST)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Every instance bomc built under `root`: (folder relative to root, manifest).
pub fn instances(root: &Path) -> Vec<(PathBuf, Manifest)> {
    let mut out = Vec::new();
    let Ok(landscapes) = std::fs::read_dir(root) else {
        return out;
    };
    let mut landscapes: Vec<PathBuf> = landscapes
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    landscapes.sort();
    for landscape in landscapes {
        let Ok(instances) = std::fs::read_dir(&landscape) else {
            continue;
        };
        let mut dirs: Vec<PathBuf> = instances
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        for dir in dirs {
            if let Some(m) = read_manifest(&dir) {
                let rel = dir
                    .strip_prefix(root)
                    .map(Path::to_path_buf)
                    .unwrap_or(dir.clone());
                out.push((rel, m));
            }
        }
    }
    out
}

/// Relative artifact paths must stay inside their folder.
fn safe_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

/// Writes every output under `root`. All files are first written to temporary
/// siblings; only when all of them are written are they renamed into place, so
/// an error leaves the previous output as it was. Returns the files written.
pub fn write(root: &Path, outputs: &[Output]) -> Result<Vec<PathBuf>, Diagnostic> {
    let staging = Staging::new(root);
    let mut folders = Vec::new();
    for output in outputs {
        let files = output
            .artifacts
            .iter()
            .map(|a| staging.file(&output.dir, a))
            .collect::<Result<Vec<_>, _>>()?;
        folders.push(Folder {
            dir: output.dir.clone(),
            info: output.info.clone(),
            files,
        });
    }
    staging.commit(&folders)
}

/// An output folder being written. Each file goes to a temporary sibling as
/// soon as it is made ([`Staging::file`], from any thread), so that a build
/// never holds all its texts at once; [`Staging::commit`] adds the manifests
/// and renames everything into place. Dropped without a commit (an error
/// anywhere in the build), it removes its temporary files and the folders it
/// created, and the previous output is as it was.
pub struct Staging {
    root: PathBuf,
    pid: u32,
    state: std::sync::Mutex<StagingState>,
    syncer: Syncer,
}

/// Waits for the staged files to reach the disk on a thread of its own, so
/// that the threads that make them never do: at N = 1,000, waiting for each
/// of the 26 files in turn was a tenth of a build's wall time. Every file is
/// on disk before anything is renamed into place ([`Syncer::finish`] runs
/// first in [`Staging::commit`]), so a crash never leaves a renamed file
/// whose contents were not written.
#[derive(Default)]
struct Syncer {
    queue: std::sync::Mutex<Option<std::sync::mpsc::Sender<PathBuf>>>,
    worker: std::sync::Mutex<Option<std::thread::JoinHandle<Result<(), Diagnostic>>>>,
}

impl Syncer {
    /// Queues `path`, a staged file written in full, to be flushed to disk.
    fn sync(&self, path: &Path) -> Result<(), Diagnostic> {
        let mut queue = lock(&self.queue);
        if queue.is_none() {
            let (send, receive) = std::sync::mpsc::channel::<PathBuf>();
            let worker = std::thread::Builder::new()
                .name(String::from("bomc-sync"))
                .spawn(move || {
                    // Every file is flushed even after one failed: the first
                    // failure is the one reported.
                    let mut first = Ok(());
                    for path in receive {
                        if let Err(e) = flush(&path)
                            && first.is_ok()
                        {
                            first = Err(io_error(&path, e));
                        }
                    }
                    first
                });
            if let Ok(worker) = worker {
                *lock(&self.worker) = Some(worker);
                *queue = Some(send);
            }
        }
        match queue.as_ref().map(|q| q.send(path.to_path_buf())) {
            Some(Ok(())) => Ok(()),
            // No thread to spare: this one waits for the disk.
            _ => flush(path).map_err(|e| io_error(path, e)),
        }
    }

    /// Waits until every queued file is on disk; the first that could not
    /// be flushed, if any.
    fn finish(&self) -> Result<(), Diagnostic> {
        drop(lock(&self.queue).take());
        let worker = lock(&self.worker).take();
        match worker.map(std::thread::JoinHandle::join) {
            None => Ok(()),
            Some(Ok(result)) => result,
            // A panic is bomc's bug: it goes on to the panic hook.
            Some(Err(panic)) => std::panic::resume_unwind(panic),
        }
    }
}

/// A lock whose holder panicked left what it guards whole: each change
/// under the locks of this module is a single push or assignment.
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Flushes the file at `path` to disk. `fsync` flushes a file, not one
/// descriptor's writes, so opening it again is enough: for writing, since
/// some systems flush only files opened so, else for reading (a umask that
/// leaves the owner no write permission; Linux flushes either).
fn flush(path: &Path) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .or_else(|_| std::fs::File::open(path))?
        .sync_all()
}

#[derive(Default)]
struct StagingState {
    /// (temporary file, destination), in the order written.
    files: Vec<(PathBuf, PathBuf)>,
    /// Folders that did not exist before, outermost first.
    created: Vec<PathBuf>,
    /// The first file that could not be written.
    failure: Option<Diagnostic>,
    committed: bool,
}

impl Staging {
    pub fn new(root: &Path) -> Self {
        Staging {
            root: root.to_path_buf(),
            pid: std::process::id(),
            state: Default::default(),
            syncer: Syncer::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, StagingState> {
        lock(&self.state)
    }

    /// Writes `artifact`, a file of the environment folder `dir` (relative
    /// to the root), to its temporary sibling; returns its manifest entry.
    pub fn file(&self, dir: &Path, artifact: &Artifact) -> Result<ManifestFile, Diagnostic> {
        let result = self.stage_artifact(&self.root.join(dir), artifact);
        if let Err(d) = &result {
            self.state().failure.get_or_insert_with(|| d.clone());
        }
        result
    }

    fn stage_artifact(&self, dir: &Path, artifact: &Artifact) -> Result<ManifestFile, Diagnostic> {
        if !safe_relative(&artifact.path) {
            return Err(io_error(
                &dir.join(&artifact.path),
                std::io::Error::other("path leaves the output folder"),
            ));
        }
        refuse_links(&self.root, dir)?;
        let dest = dir.join(&artifact.path);
        refuse_links(&self.root, &dest)?;
        let bytes = artifact.contents.as_bytes();
        self.stage(&dest, bytes)?;
        Ok(ManifestFile {
            path: artifact.path.clone(),
            sha256: sha256(bytes),
            bytes: bytes.len(),
        })
    }

    /// The first file that could not be written, if any: a build stops there.
    pub fn failure(&self) -> Option<Diagnostic> {
        self.state().failure.clone()
    }

    fn stage(&self, dest: &Path, bytes: &[u8]) -> Result<(), Diagnostic> {
        let parent = dest.parent().unwrap_or(Path::new("."));
        let missing: Vec<PathBuf> = parent
            .ancestors()
            .take_while(|a| !a.as_os_str().is_empty() && std::fs::symlink_metadata(a).is_err())
            .map(Path::to_path_buf)
            .collect();
        let result = create_dir_all(parent);
        if !missing.is_empty() {
            self.state().created.extend(missing.into_iter().rev());
        }
        result?;
        let tmp = temporary(dest, self.pid);
        write_temporary(&tmp, bytes, Durable::Later)?;
        self.state().files.push((tmp.clone(), dest.to_path_buf()));
        self.syncer.sync(&tmp)?;
        test_hook::operation_done();
        Ok(())
    }

    /// Stages each folder's manifest (the previous one kept aside), renames
    /// every file into place, and removes what bomc wrote last time that
    /// this build no longer makes. Returns the files written.
    pub fn commit(self, folders: &[Folder]) -> Result<Vec<PathBuf>, Diagnostic> {
        for folder in folders {
            self.stage_manifest(folder)?;
        }
        self.syncer.finish()?;
        let staged = {
            let mut state = self.state();
            state.committed = true;
            std::mem::take(&mut state.files)
        };
        let mut written = Vec::new();
        for (tmp, dest) in &staged {
            std::fs::rename(tmp, dest).map_err(|e| io_error(dest, e))?;
            test_hook::operation_done();
            written.push(dest.clone());
        }
        remove_orphans(&written);
        // Files bomc wrote last time that this build no longer produces.
        for folder in folders {
            let dir = self.root.join(&folder.dir);
            let now: BTreeSet<&str> = folder.files.iter().map(|f| f.path.as_str()).collect();
            if let Some(previous) = previous_manifests(&dir) {
                for file in previous.files {
                    if !now.contains(file.path.as_str())
                        && safe_relative(&file.path)
                        && link_below(&dir, &dir.join(&file.path)).is_none()
                    {
                        let _ = std::fs::remove_file(dir.join(&file.path));
                    }
                }
            }
        }
        Ok(written)
    }

    fn stage_manifest(&self, folder: &Folder) -> Result<(), Diagnostic> {
        let dir = self.root.join(&folder.dir);
        refuse_links(&self.root, &dir)?;
        let mut files: Vec<&ManifestFile> = folder.files.iter().collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let manifest = ManifestOut {
            generator: format!("bomc {}", env!("CARGO_PKG_VERSION")),
            info: &folder.info,
            files,
        };
        let text = serde_json::to_string_pretty(&manifest)
            .map_err(|e| io_error(&dir, std::io::Error::other(e)))?
            + "\n";
        refuse_links(&self.root, &dir.join(MANIFEST))?;
        // Keep the previous manifest aside so stale files can be found after the swap.
        if let Ok(previous) = std::fs::read(dir.join(MANIFEST)) {
            self.stage(&dir.join(format!(".{MANIFEST}.previous")), &previous)?;
        }
        self.stage(&dir.join(MANIFEST), text.as_bytes())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let state = self.state();
        if state.committed {
            return;
        }
        for (tmp, _) in &state.files {
            let _ = std::fs::remove_file(tmp);
        }
        // Innermost first; `remove_dir` leaves a folder that is not empty.
        for dir in state.created.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// [`Manifest`] as written, borrowing what the build already holds.
#[derive(Serialize)]
struct ManifestOut<'a> {
    generator: String,
    #[serde(flatten)]
    info: &'a Instance,
    files: Vec<&'a ManifestFile>,
}

fn previous_manifests(dir: &Path) -> Option<Manifest> {
    // The manifest has already been replaced; the previous one was kept aside.
    let text = std::fs::read_to_string(dir.join(format!(".{MANIFEST}.previous"))).ok();
    let _ = std::fs::remove_file(dir.join(format!(".{MANIFEST}.previous")));
    serde_json::from_str(&text?).ok()
}

fn create_dir_all(dir: &Path) -> Result<(), Diagnostic> {
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))
}

/// The temporary sibling `dest` is written to first: `.NAME.bomc-PID.tmp`.
fn temporary(dest: &Path, pid: u32) -> PathBuf {
    let parent = dest.parent().unwrap_or(Path::new("."));
    let name = dest.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    parent.join(format!(".{name}.bomc-{pid}.tmp"))
}

/// When a file written is flushed to disk: before the write returns, or
/// later, by whoever wrote it (a staging's syncer).
#[derive(Clone, Copy, PartialEq)]
enum Durable {
    Now,
    Later,
}

fn write_temporary(tmp: &Path, bytes: &[u8], durable: Durable) -> Result<(), Diagnostic> {
    write_new(tmp, bytes, durable).map_err(|err| {
        // A part written before the disk filled up is not left behind.
        let _ = std::fs::remove_file(tmp);
        io_error(tmp, err)
    })
}

/// Removes the temporary files a killed bomc left beside the files just
/// written (`.NAME.bomc-PID.tmp`, NAME one of them, PID no longer running).
/// Where `/proc` cannot tell whether a process runs, they are left: a later
/// build writes over its own names only.
fn remove_orphans(written: &[PathBuf]) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let own = std::process::id().to_string();
    let mut by_folder: std::collections::BTreeMap<&Path, BTreeSet<&str>> = Default::default();
    for dest in written {
        if let (Some(parent), Some(name)) =
            (dest.parent(), dest.file_name().and_then(|n| n.to_str()))
        {
            by_folder.entry(parent).or_default().insert(name);
        }
    }
    for (folder, names) in by_folder {
        let Ok(entries) = std::fs::read_dir(folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let file = entry.file_name();
            let Some(rest) = file.to_str().and_then(|f| f.strip_prefix('.')) else {
                continue;
            };
            let Some((name, pid)) = rest
                .strip_suffix(".tmp")
                .and_then(|r| r.rsplit_once(".bomc-"))
            else {
                continue;
            };
            let orphan = names.contains(name)
                && !pid.is_empty()
                && pid.chars().all(|c| c.is_ascii_digit())
                && pid != own
                && !Path::new("/proc").join(pid).exists();
            // `remove_file` removes a link itself, never what it points to.
            if orphan {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// A hook for tests/it/killed.rs only, not a user setting (no `.bom` file or
/// flag reaches it): with `BOMC_TEST_PAUSE_AFTER_WRITES=N` in its
/// environment, bomc stops for good after its Nth file operation of a build
/// (half of a temporary file written, all of it, or one renamed into place)
/// and says so on stderr, so the test can kill it with SIGKILL at exactly
/// that point.
mod test_hook {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static AFTER: OnceLock<Option<usize>> = OnceLock::new();
    static DONE: AtomicUsize = AtomicUsize::new(0);

    pub(super) fn operation_done() {
        let after = AFTER.get_or_init(|| {
            std::env::var("BOMC_TEST_PAUSE_AFTER_WRITES")
                .ok()
                .and_then(|v| v.parse().ok())
        });
        let Some(after) = *after else {
            return;
        };
        if DONE.fetch_add(1, Ordering::SeqCst) + 1 == after {
            eprintln!("bomc: paused after {after} file operations (BOMC_TEST_PAUSE_AFTER_WRITES)");
            loop {
                std::thread::sleep(std::time::Duration::from_secs(60));
            }
        }
    }
}

/// Writes a file that did not exist: `create_new` never follows a link, so a
/// link planted under the (predictable) temporary name is removed, not
/// written through.
fn write_new(path: &Path, bytes: &[u8], durable: Durable) -> std::io::Result<()> {
    use std::io::Write as _;
    let open = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
    };
    let mut file = match open() {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(path)?;
            open()?
        }
        other => other?,
    };
    // In two halves, so that the test hook can stop bomc with a file half written.
    let (first, second) = bytes.split_at(bytes.len() / 2);
    file.write_all(first)?;
    test_hook::operation_done();
    file.write_all(second)?;
    match durable {
        Durable::Now => file.sync_all(),
        Durable::Later => {
            start_writeback(&file);
            Ok(())
        }
    }
}

/// Asks the kernel to start writing `file` to disk now, without waiting:
/// the disk then writes every staged file while the build makes the next,
/// and the flush before the renames finds little left to do.
#[cfg(target_os = "linux")]
fn start_writeback(file: &std::fs::File) {
    use std::os::fd::AsRawFd;
    unsafe extern "C" {
        fn sync_file_range(
            fd: std::ffi::c_int,
            offset: i64,
            nbytes: i64,
            flags: std::ffi::c_uint,
        ) -> std::ffi::c_int;
    }
    const SYNC_FILE_RANGE_WRITE: std::ffi::c_uint = 2;
    // SAFETY: sync_file_range(2) reads no memory of ours; offset 0 and
    // length 0 name the whole file. A failure only leaves the writing to
    // the flush before the renames.
    unsafe {
        sync_file_range(file.as_raw_fd(), 0, 0, SYNC_FILE_RANGE_WRITE);
    }
}

/// Elsewhere the flush before the renames does all the writing.
#[cfg(not(target_os = "linux"))]
fn start_writeback(_: &std::fs::File) {}

/// Replaces one file atomically: the new contents go to a temporary sibling
/// that is renamed over `dest`, so a reader sees the old file or the new one,
/// never a part. The file keeps its permissions.
pub fn replace_file(dest: &Path, bytes: &[u8]) -> Result<(), Diagnostic> {
    let parent = dest.parent().unwrap_or(Path::new("."));
    create_dir_all(parent)?;
    let tmp = temporary(dest, std::process::id());
    write_temporary(&tmp, bytes, Durable::Now)?;
    test_hook::operation_done();
    if let Ok(meta) = std::fs::metadata(dest) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    if let Err(err) = std::fs::rename(&tmp, dest) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error(dest, err));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Syncer;

    #[test]
    fn the_syncer_flushes_every_file_queued_and_reports_the_first_it_cannot() {
        let dir = std::env::temp_dir().join(format!("bomc-syncer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let written = dir.join("written");
        std::fs::write(&written, "text").unwrap();

        let syncer = Syncer::default();
        syncer.sync(&written).unwrap();
        syncer.sync(&written).unwrap();
        assert!(syncer.finish().is_ok());
        // Finished, it has nothing left to wait for.
        assert!(syncer.finish().is_ok());

        let syncer = Syncer::default();
        let gone = dir.join("gone");
        let also_gone = dir.join("also-gone");
        syncer.sync(&written).unwrap();
        syncer.sync(&gone).unwrap();
        syncer.sync(&also_gone).unwrap();
        let failure = syncer.finish().unwrap_err();
        assert!(
            failure.message.contains("gone`"),
            "the first failure is reported: {}",
            failure.message
        );
        assert!(!failure.message.contains("also-gone"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
