//! Resolution: loads the main file and every module it imports (stdlib modules
//! from the binary, local modules by relative path), detects import cycles, and
//! builds each module's scope of visible definitions.

pub mod stdlib;

use crate::diag::{Diagnostic, Diagnostics, ErrorCode, did_you_mean, one_of};
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::{self, ast};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Index of a module in [`Program::modules`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModuleId(pub usize);

/// A definition: the module it lives in and its index there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DefId {
    pub module: ModuleId,
    pub index: usize,
}

/// One loaded module.
#[derive(Debug)]
pub struct Module {
    pub file: FileId,
    pub ast: ast::File,
    /// Definitions visible in this module by name: its own and those of its imports.
    pub scope: BTreeMap<String, DefId>,
    dir: Option<PathBuf>,
}

/// Every module of a compilation; module 0 is the main file.
#[derive(Debug, Default)]
pub struct Program {
    pub sources: SourceMap,
    pub modules: Vec<Module>,
    /// The folder no path the program reads may leave (imports, image build
    /// contexts): `--root`, or the main file's folder; absolute and lexically
    /// normal; none for text without a file.
    pub root: Option<PathBuf>,
}

impl Program {
    pub fn def(&self, id: DefId) -> &ast::Definition {
        &self.modules[id.module.0].ast.definitions[id.index]
    }

    pub fn main(&self) -> Option<&Module> {
        self.modules.first()
    }

    /// Looks up a name visible in `module`.
    pub fn lookup(&self, module: ModuleId, name: &str) -> Option<DefId> {
        self.modules.get(module.0)?.scope.get(name).copied()
    }
}

/// Where a module comes from, as the loader identifies it (to reuse modules and
/// detect cycles).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum ModuleKey {
    Stdlib(String),
    File(PathBuf),
}

/// How the loader reads a file: from disk, or (for `bomc diff --base`) from
/// another source such as a git revision.
pub type Read<'r> = &'r dyn Fn(&Path) -> std::io::Result<String>;

/// The largest `.bom` file bomc reads: far above any real landscape, and it
/// bounds the memory and time a hostile file can take.
pub const MAX_FILE_SIZE: u64 = 16 << 20;

/// How deep imports may nest (a module importing one importing one …).
pub const MAX_IMPORT_DEPTH: usize = 32;

/// The folder imports may not leave, when `--root` gives it; otherwise each
/// compilation's root is the folder of its main file.
static ROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Sets the project root for every compilation of this process (`--root`).
pub fn set_root(root: PathBuf) {
    let _ = ROOT.set(std::path::absolute(&root).unwrap_or(root));
}

/// Why a file was not read into a string.
#[derive(Debug)]
enum Refusal {
    TooLarge,
    NotUtf8,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::TooLarge => write!(f, "larger than the limit of {MAX_FILE_SIZE} bytes"),
            Refusal::NotUtf8 => write!(f, "not UTF-8 text"),
        }
    }
}

impl std::error::Error for Refusal {}

/// Reads at most one byte past [`MAX_FILE_SIZE`], so a huge file (or
/// `/dev/zero`) costs nothing; the error never carries the file's bytes.
fn read_disk(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(std::io::Error::other(Refusal::TooLarge));
    }
    String::from_utf8(bytes).map_err(|_| std::io::Error::other(Refusal::NotUtf8))
}

/// The code for a file that could not be read: the limits have their own.
fn read_error_code(err: &std::io::Error, otherwise: ErrorCode) -> ErrorCode {
    match err.get_ref().and_then(|e| e.downcast_ref::<Refusal>()) {
        Some(Refusal::TooLarge) => ErrorCode::FileTooLarge,
        Some(Refusal::NotUtf8) => ErrorCode::InvalidUtf8,
        None if err.kind() == std::io::ErrorKind::InvalidData => ErrorCode::InvalidUtf8,
        None => otherwise,
    }
}

struct Loader<'d> {
    program: Program,
    read: Read<'d>,
    loaded: BTreeMap<ModuleKey, ModuleId>,
    /// The modules being loaded, innermost last, with the import span that led to each.
    stack: Vec<(ModuleKey, String, Option<Span>)>,
    diags: &'d mut Diagnostics,
}

/// Loads `path` and its imports. Returns `None` if the main file cannot be read.
pub fn load_file(path: &Path, diags: &mut Diagnostics) -> Option<Program> {
    load_file_with(path, &read_disk, diags)
}

/// [`load_file`], reading the file and its local imports through `read`
/// (`bomc diff --base` reads them from a git revision).
pub fn load_file_with(path: &Path, read: Read, diags: &mut Diagnostics) -> Option<Program> {
    let text = match read(path) {
        Ok(text) => text,
        Err(err) => {
            diags.push(
                Diagnostic::new(
                    read_error_code(&err, ErrorCode::UnreadableFile),
                    format!("cannot read `{}`: {err}", path.display()),
                )
                .help("check the path; bomc reads UTF-8 `.bom` files"),
            );
            return None;
        }
    };
    let key = ModuleKey::File(canonical(path));
    Some(load_main(
        path.display().to_string(),
        Some(path.to_path_buf()),
        text,
        key,
        read,
        diags,
    ))
}

/// Loads a main module from text (tests, fuzzing, stdin) as if it were the
/// file `name`: relative imports resolve against its directory.
pub fn load_text(name: &str, text: String, diags: &mut Diagnostics) -> Program {
    let path = PathBuf::from(name);
    let key = ModuleKey::File(canonical(&path));
    load_main(name.to_string(), Some(path), text, key, &read_disk, diags)
}

fn load_main(
    name: String,
    path: Option<PathBuf>,
    text: String,
    key: ModuleKey,
    read: Read,
    diags: &mut Diagnostics,
) -> Program {
    let dir = path
        .as_ref()
        .map(|p| p.parent().map(Path::to_path_buf).unwrap_or_default());
    let root = ROOT
        .get()
        .cloned()
        .or_else(|| {
            let dir = dir.as_deref()?;
            std::path::absolute(Path::new(".").join(dir)).ok()
        })
        .map(|r| normalize(&r));
    let mut loader = Loader {
        program: Program {
            root,
            ..Program::default()
        },
        read,
        loaded: BTreeMap::new(),
        stack: Vec::new(),
        diags,
    };
    loader.load(key, name.clone(), path, dir, text, None);
    loader.program
}

/// Why `path` (written `target`) is outside `root`, if it is: an absolute
/// path, a path climbing out with `..`, or a symbolic link leading out
/// (links are resolved before the test, so one inside the root cannot point
/// outside it). Decided before anything at `path` is read.
pub fn leaves_root(root: &Path, target: &str, path: &Path) -> Option<&'static str> {
    if Path::new(target).is_absolute() {
        return Some("is an absolute path");
    }
    let lexical = std::path::absolute(path).map(|p| normalize(&p)).ok()?;
    if !lexical.starts_with(root) {
        return Some("leaves the project root");
    }
    if let (Ok(real), Ok(real_root)) = (std::fs::canonicalize(path), std::fs::canonicalize(root))
        && !real.starts_with(&real_root)
    {
        return Some("is a symbolic link leading out of the project root");
    }
    None
}

/// `a/./b/../c` → `a/c`, lexically, so that paths in messages read as written.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

impl Loader<'_> {
    fn load(
        &mut self,
        key: ModuleKey,
        name: String,
        path: Option<PathBuf>,
        dir: Option<PathBuf>,
        text: String,
        via: Option<Span>,
    ) -> ModuleId {
        // A byte order mark is accepted (editors on Windows write one) and
        // dropped, so spans count from the first real character.
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => text,
        };
        let file = self.program.sources.add(name.clone(), path, text);
        let source = self.program.sources.get(file).text.clone();
        let ast = match source.find('\0') {
            Some(at) => {
                self.diags.push(
                    Diagnostic::new(ErrorCode::NulByte, "NUL byte in a `.bom` file")
                        .label(Span::new(file, at, at + 1), "a NUL byte")
                        .help("a `.bom` file is text; remove the NUL byte (the file may be binary, or saved in UTF-16)"),
                );
                ast::File::default()
            }
            None => syntax::parse(file, &source, self.diags).unwrap_or_default(),
        };
        let id = ModuleId(self.program.modules.len());
        self.program.modules.push(Module {
            file,
            ast,
            scope: BTreeMap::new(),
            dir,
        });
        self.loaded.insert(key.clone(), id);
        self.stack.push((key, name, via));

        let imports = self.program.modules[id.0].ast.imports.clone();
        let mut imported: Vec<(ModuleId, Span)> = Vec::new();
        for import in &imports {
            if let Some(m) = self.import(id, import) {
                imported.push((m, import.span));
            }
        }
        self.stack.pop();
        self.build_scope(id, &imported);
        id
    }

    fn import(&mut self, from: ModuleId, import: &ast::Import) -> Option<ModuleId> {
        let target = import.target.node.as_str();
        let is_path = target.starts_with("./")
            || target.starts_with("../")
            || target.ends_with(".bom")
            || Path::new(target).is_absolute();
        let (key, name, path, dir, text) = if is_path {
            let base = self.program.modules[from.0].dir.clone().unwrap_or_default();
            let path = normalize(&base.join(target));
            if let Some(refusal) = self.outside_root(target, &path, import) {
                self.diags.push(refusal);
                return None;
            }
            if self.stack.len() >= MAX_IMPORT_DEPTH {
                self.diags.push(
                    Diagnostic::new(
                        ErrorCode::ImportTooDeep,
                        format!("imports nest deeper than the limit of {MAX_IMPORT_DEPTH} modules"),
                    )
                    .label(import.target.span, "this import is one too deep")
                    .help("flatten the chain: import the modules the main file needs directly from it"),
                );
                return None;
            }
            let key = ModuleKey::File(canonical(&path));
            if let Some(cycle) = self.cycle(&key, import) {
                self.diags.push(cycle);
                return None;
            }
            if let Some(id) = self.loaded.get(&key) {
                return Some(*id);
            }
            let text = match (self.read)(&path) {
                Ok(t) => t,
                Err(err) => {
                    self.diags.push(
                        Diagnostic::new(
                            read_error_code(&err, ErrorCode::ModuleNotFound),
                            format!("cannot read module `{target}`: {err}"),
                        )
                        .label(import.target.span, "imported here")
                        .help(format!(
                            "local modules are resolved relative to the importing file; looked for `{}`",
                            path.display()
                        )),
                    );
                    return None;
                }
            };
            let dir = path.parent().map(Path::to_path_buf);
            (key, path.display().to_string(), Some(path), dir, text)
        } else {
            let key = ModuleKey::Stdlib(target.to_string());
            if let Some(cycle) = self.cycle(&key, import) {
                self.diags.push(cycle);
                return None;
            }
            if let Some(id) = self.loaded.get(&key) {
                return Some(*id);
            }
            let Some(text) = stdlib::module(target) else {
                let help = did_you_mean(target, stdlib::names(), |all| {
                    format!(
                        "the stdlib has {}; a local module path starts with `./`",
                        one_of(&all)
                    )
                });
                self.diags.push(
                    Diagnostic::new(
                        ErrorCode::ModuleNotFound,
                        format!("no stdlib module named `{target}`"),
                    )
                    .label(import.target.span, "imported here")
                    .help(help),
                );
                return None;
            };
            (
                key,
                format!("stdlib/{target}.bom"),
                None,
                None,
                text.to_string(),
            )
        };
        Some(self.load(key, name, path, dir, text, Some(import.target.span)))
    }

    /// Refuses an import that leaves the project root: absolute, climbing out
    /// with `..`, or reaching out through a symbolic link. Nothing of the
    /// refused file is read, so nothing of it can be shown.
    fn outside_root(&self, target: &str, path: &Path, import: &ast::Import) -> Option<Diagnostic> {
        let root = self.program.root.as_ref()?;
        let why = leaves_root(root, target, path)?;
        Some(
            Diagnostic::new(ErrorCode::ImportOutsideRoot, format!("import `{target}` {why}"))
                .label(import.target.span, "refused; the file was not read")
                .help("imports stay inside the project root, the folder of the main file; write the path relative to the importing file, or run bomc with `--root DIR` on a folder that holds every module"),
        )
    }

    fn cycle(&self, key: &ModuleKey, import: &ast::Import) -> Option<Diagnostic> {
        let start = self.stack.iter().position(|(k, _, _)| k == key)?;
        let mut names: Vec<&str> = self.stack[start..]
            .iter()
            .map(|(_, n, _)| n.as_str())
            .collect();
        names.push(self.stack[start].1.as_str());
        let mut diag = Diagnostic::new(
            ErrorCode::ImportCycle,
            format!("import cycle: {}", names.join(" → ")),
        )
        .label(import.target.span, "this import closes the cycle");
        for (_, name, via) in &self.stack[start + 1..] {
            if let Some(span) = via {
                diag = diag.label(*span, format!("imports `{name}`"));
            }
        }
        Some(diag.help("modules cannot import each other in a circle; move the shared definitions into a module both import"))
    }

    /// The module's own definitions, then those of its imports (each import
    /// standing where it is written); a name given twice is E0203.
    fn build_scope(&mut self, id: ModuleId, imported: &[(ModuleId, Span)]) {
        let mut scope: BTreeMap<String, DefId> = BTreeMap::new();
        let mut origin: BTreeMap<String, Span> = BTreeMap::new();
        let sources =
            std::iter::once((id, None)).chain(imported.iter().map(|(m, span)| (*m, Some(*span))));
        for (m, via) in sources {
            let module = &self.program.modules[m.0];
            for (index, def) in module.ast.definitions.iter().enumerate() {
                if def.kind == crate::syntax::ast::DefKind::Environment {
                    continue;
                }
                let name = def.name.node.clone();
                if let Some(first) = origin.get(&name) {
                    let diag = match via {
                        None => Diagnostic::new(
                            ErrorCode::DuplicateDefinition,
                            format!("`{name}` is defined twice"),
                        )
                        .label(def.name.span, "defined again here")
                        .label(*first, "first defined here")
                        .help(
                            "rename one of them; landscapes, kinds and images share one namespace",
                        ),
                        Some(import) => Diagnostic::new(
                            ErrorCode::DuplicateDefinition,
                            format!("`{name}` is defined here and by an imported module"),
                        )
                        .label(*first, "defined here")
                        .label(import, format!("this import also defines `{name}`"))
                        .help("rename the local definition, or drop the import"),
                    };
                    self.diags.push(diag);
                    continue;
                }
                origin.insert(name.clone(), via.unwrap_or(def.name.span));
                scope.insert(name, DefId { module: m, index });
            }
        }
        self.program.modules[id.0].scope = scope;
    }
}

/// The environments declared in the main file, by name.
pub fn environments(program: &Program) -> Vec<&ast::Definition> {
    program
        .main()
        .map(|m| {
            m.ast
                .definitions
                .iter()
                .filter(|d| d.kind == crate::syntax::ast::DefKind::Environment)
                .collect()
        })
        .unwrap_or_default()
}
