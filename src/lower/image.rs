//! Image definitions → the images bomc builds: settings read into types, the
//! chain's user and root, local tags, and — once the workloads are known —
//! which images carry the health probe and the secrets shim, and the
//! HEALTHCHECK each one gets.

use super::plan::*;
use crate::diag::{Diagnostic, ErrorCode};
use crate::graph::Graph;
use crate::model::{Image, Landscape, Part, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The user a container runs as when no image in the chain says.
const DEFAULT_USER: i64 = 10001;

/// A value of an image setting as text, or what it is instead.
fn image_text(value: &Value) -> Result<String, &'static str> {
    const HOST: &str = "a component's host name, which differs per target";
    match value {
        Value::Template(parts) => parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => Ok(t.clone()),
                Part::Port(p) => Ok(p.number.to_string()),
                Part::Host(_) | Part::Url(_) | Part::BucketName(_) => Err(HOST),
            })
            .collect(),
        Value::Port(p) => Ok(p.number.to_string()),
        Value::Host(_) => Err(HOST),
        Value::Secret(_) => Err("a secret, which never goes into an image"),
        Value::List(_) | Value::Map(_) => Err("a list or a map"),
        Value::Image(i) | Value::Component(i) => Ok(i.clone()),
        other => crate::eval::scalar_text(other).ok_or("a value that is not text"),
    }
}

struct Reader<'a> {
    image: &'a Image,
    errors: &'a mut Vec<Diagnostic>,
}

impl Reader<'_> {
    fn invalid(&mut self, message: String, help: &str) {
        self.errors.push(
            Diagnostic::new(ErrorCode::InvalidValue, message)
                .label(self.image.span, "in this image")
                .help(help.to_string()),
        );
    }

    fn text(&mut self, setting: &str) -> Option<String> {
        let v = self.image.settings.get(setting)?;
        match image_text(v) {
            Ok(t) => Some(t),
            Err(why) => {
                self.invalid(
                    format!("`{setting}` of image `{}` is {why}", self.image.name),
                    "image settings are plain text: a build happens before any component runs",
                );
                None
            }
        }
    }

    fn list(&mut self, setting: &str) -> Option<Vec<String>> {
        let v = self.image.settings.get(setting)?;
        let list = match v {
            Value::List(items) => items.iter().map(image_text).collect(),
            _ => Err("a value that is not a list"),
        };
        match list {
            Ok(l) => Some(l),
            Err(why) => {
                self.invalid(
                    format!("`{setting}` of image `{}` holds {why}", self.image.name),
                    &format!("`{setting}` is a list of plain strings"),
                );
                None
            }
        }
    }

    fn map(&mut self, setting: &str) -> Vec<(String, String)> {
        let Some(v) = self.image.settings.get(setting) else {
            return Vec::new();
        };
        let map: Result<Vec<(String, String)>, &str> = match v {
            Value::Map(items) => items
                .iter()
                .map(|(k, v)| Ok((k.clone(), image_text(v)?)))
                .collect(),
            _ => Err("a value that is not a map"),
        };
        map.unwrap_or_else(|why| {
            self.invalid(
                format!("`{setting}` of image `{}` holds {why}", self.image.name),
                &format!("`{setting}` maps names to plain strings"),
            );
            Vec::new()
        })
    }
}

/// `go_auth` → `go_auth`, `GoAuth` → `goauth`: a Docker repository path
/// component (`[a-z0-9]+` joined by `.`, `_`, `__` or dashes).
pub fn repository(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let mut out = String::new();
    let mut sep = String::new();
    for c in lower.chars() {
        if c.is_ascii_alphanumeric() {
            if !out.is_empty() && !sep.is_empty() {
                let ok = sep == "_" || sep == "__" || sep == "." || sep.chars().all(|c| c == '-');
                out.push_str(if ok { &sep } else { "-" });
            }
            sep.clear();
            out.push(c);
        } else {
            sep.push(c);
        }
    }
    if out.is_empty() {
        String::from("image")
    } else {
        out
    }
}

fn parent(image: &Image) -> Option<&str> {
    match image.settings.get("from") {
        Some(Value::Image(p)) => Some(p),
        _ => None,
    }
}

/// The images of the landscape, bases first, read into types.
pub(super) fn images(
    landscape: &Landscape,
    graph: &Graph,
    instance: &Instance,
    errors: &mut Vec<Diagnostic>,
) -> Vec<BuildImage> {
    if landscape.images.is_empty() {
        return Vec::new();
    }
    let by_name: BTreeMap<&str, &Image> = landscape
        .images
        .iter()
        .map(|i| (i.name.as_str(), i))
        .collect();
    let repositories = repositories(landscape, errors);
    let bomc_labels = BTreeMap::from([
        (String::from("generated-by"), String::from("bomc")),
        (String::from("landscape"), instance.landscape.clone()),
    ]);
    let mut order: Vec<&Image> = Vec::new();
    let mut seen = BTreeSet::new();
    for name in crate::graph::build_order(graph)
        .iter()
        .map(String::as_str)
        .chain(by_name.keys().copied())
    {
        if let Some(image) = by_name.get(name)
            && seen.insert(image.name.as_str())
        {
            order.push(image);
        }
    }
    order
        .into_iter()
        .map(|image| {
            // The image and its ancestors, nearest first (stops at a cycle).
            let mut chain = vec![image];
            let mut names = BTreeSet::from([image.name.as_str()]);
            while let Some(p) = chain
                .last()
                .and_then(|i| parent(i))
                .and_then(|p| by_name.get(p))
            {
                if !names.insert(p.name.as_str()) {
                    break;
                }
                chain.push(p);
            }
            let mut r = Reader { image, errors };
            let from = match image.settings.get("from") {
                Some(Value::Image(p)) => BaseImage::Image(p.clone()),
                Some(_) => BaseImage::Pinned(r.text("from").unwrap_or_default()),
                None => BaseImage::Pinned(String::new()),
            };
            let root = chain
                .last()
                .and_then(|i| i.settings.get("from"))
                .and_then(Value::as_str)
                .map(String::from);
            let user = chain
                .iter()
                .find_map(|i| i.settings.get("user").and_then(Value::as_int))
                .unwrap_or(DEFAULT_USER);
            let parent_onbuild = parent(image).and_then(|p| by_name.get(p)).is_some_and(
                |p| matches!(p.settings.get("onbuild"), Some(Value::List(l)) if !l.is_empty()),
            );
            BuildImage {
                name: image.name.clone(),
                docs: image.docs.clone(),
                repository: repositories.get(&image.name).cloned().unwrap_or_default(),
                // Known once the workloads say what the image must carry (`finish`).
                content_tag: String::new(),
                tag: String::new(),
                publish: false,
                bomc_labels: bomc_labels.clone(),
                from,
                root,
                template: r.text("template"),
                dockerfile: r.text("dockerfile"),
                target: r.text("target"),
                context: r.text("context"),
                args: r.map("args"),
                steps: r.list("steps").unwrap_or_default(),
                onbuild: r.list("onbuild").unwrap_or_default(),
                parent_onbuild,
                user,
                labels: r.map("labels"),
                entrypoint: r.list("entrypoint"),
                command: r.list("command"),
                expose: Vec::new(),
                health: None,
                health_notes: Vec::new(),
                probe: false,
                shim: false,
                go_binary: None,
                span: image.span,
            }
        })
        .collect()
}

/// The repository of every image: `<landscape>/<image>`, shared by every
/// instance of the landscape (their content tags tell the builds apart).
fn repositories(landscape: &Landscape, errors: &mut Vec<Diagnostic>) -> BTreeMap<String, String> {
    let prefix = repository(&landscape.name);
    let mut repositories = BTreeMap::new();
    let mut owners: BTreeMap<String, &str> = BTreeMap::new();
    for image in &landscape.images {
        let repo = format!("{prefix}/{}", repository(&image.name));
        if let Some(other) = owners.insert(repo.clone(), &image.name) {
            errors.push(
                Diagnostic::new(
                    ErrorCode::NameNotValid,
                    format!(
                        "images `{other}` and `{}` would both be the repository `{repo}`",
                        image.name
                    ),
                )
                .label(image.span, "same image name as another, in lowercase")
                .help("Docker repository names are lowercase: rename one of the images"),
            );
        }
        repositories.insert(image.name.clone(), repo);
    }
    repositories
}

/// What the tag covers besides the image's fields and context: bump it when
/// the way bomc renders Dockerfiles changes without a version change.
const TAG_SCHEME: &str = "bomc image tag v1";

/// Hex digits of the content tag (64 bits).
const TAG_DIGITS: usize = 16;

/// The content tag of every image, bases first: a SHA-256 over
/// - the tag scheme and bomc's version (which renders the Dockerfile),
/// - the image's fields as the plan holds them (canonical JSON, without the
///   tag fields themselves): base, template, arguments, steps, user, labels,
///   entrypoint, command, ports, HEALTHCHECK, probe and shim — everything the
///   Dockerfile emitter reads,
/// - the parent's tag, for an image built on another definition,
/// - the build context as Docker sends it (`context.rs`): every path not
///   excluded by `.dockerignore`, sorted, with its size, mode and SHA-256,
///   leaving out bomc's output folder.
///
/// Nothing about the environment instance goes in, so instances built from
/// the same sources share images, and any change to those sources makes a
/// new tag, which rolls the services that run it.
fn content_tags(images: &mut [BuildImage], source_dir: &Path, out: &Path) {
    let mut tags: BTreeMap<String, String> = BTreeMap::new();
    for image in images.iter_mut() {
        let mut text = format!("{TAG_SCHEME}\nbomc {}\n", env!("CARGO_PKG_VERSION"));
        let mut fields = serde_json::to_value(&*image).unwrap_or_default();
        if let Some(map) = fields.as_object_mut() {
            for key in ["repository", "content_tag", "tag", "publish"] {
                map.remove(key);
            }
        }
        text.push_str(&format!("definition {fields}\n"));
        if let BaseImage::Image(parent) = &image.from {
            let tag = tags.get(parent).map(String::as_str).unwrap_or("unknown");
            text.push_str(&format!("parent {tag}\n"));
        }
        let context = context_dir(image, source_dir);
        // The project's Dockerfile may lie outside its context.
        if let (Some(dockerfile), Some(dir)) = (&image.dockerfile, &context) {
            use sha2::Digest;
            let bytes = super::context::regular_file(&dir.join(dockerfile)).unwrap_or_default();
            let digest = super::context::hex(&sha2::Sha256::digest(&bytes));
            text.push_str(&format!("dockerfile {digest}\n"));
        }
        text.push_str("context\n");
        if let Some(dir) = context {
            text.push_str(&super::context::digest(&dir, &[out.to_path_buf()]));
        }
        use sha2::Digest;
        let digest = super::context::hex(&sha2::Sha256::digest(text.as_bytes()));
        image.content_tag = digest[..TAG_DIGITS].to_string();
        image.tag = format!("{}:{}", image.repository, image.content_tag);
        tags.insert(image.name.clone(), image.tag.clone());
    }
}

/// The folder the image is built from, as Docker is given it; `None` for a
/// layer without one (Docker gets the Dockerfile's folder).
fn context_dir(image: &BuildImage, source_dir: &Path) -> Option<PathBuf> {
    let dir = match (&image.context, &image.template) {
        (Some(c), _) => source_dir.join(c),
        (None, Some(_)) => source_dir.to_path_buf(),
        (None, None) if image.dockerfile.is_some() => source_dir.to_path_buf(),
        (None, None) => return None,
    };
    Some(if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    })
}

/// The binary a `go` image runs unless told otherwise: the one `go build -o
/// DIR/ ./...` makes of the context's root package, or of its one main
/// package when the root holds none; `Err` with the binaries it makes when
/// the root holds none and there are several, or none at all. `Ok(None)`
/// when the context cannot be read (its folder's name is used then).
fn go_binary(image: &BuildImage, source_dir: &Path) -> Result<Option<String>, Vec<String>> {
    let Some(context) = context_dir(image, source_dir) else {
        return Ok(None);
    };
    let module = super::context::regular_file(&context.join("go.mod"))
        .and_then(|text| module_path(&String::from_utf8_lossy(&text)).map(String::from));
    let at_root = || Ok(module.as_deref().and_then(binary_name));
    let Some(mut mains) = go_main_packages(&context) else {
        return at_root();
    };
    if mains.iter().any(String::is_empty) {
        return at_root();
    }
    // Each binary after its package's import path, as `go build` names it.
    let named = |folder: &String| match &module {
        Some(module) => binary_name(&format!("{module}/{folder}")),
        None => binary_name(folder),
    };
    match mains.len() {
        1 => Ok(named(&mains[0])),
        _ => {
            mains.sort();
            Err(mains.iter().filter_map(named).collect())
        }
    }
}

/// Most files a context's Go packages are looked for in: past it, the
/// context is not looked through and the binary is named after the module.
const GO_FILES_LOOKED_AT: usize = 5_000;

/// The folders of a context (relative, `""` for its root) holding a main
/// package that `go build ./...` builds: as Go matches `./...`, not below
/// folders named `vendor` or `testdata` or starting with `.` or `_`, nor in
/// nested modules (a `go.mod` of their own) or through symbolic links; a
/// file excluded by the build constraint `ignore` not counted. `None` when
/// the context holds no Go file, cannot be read or holds too many.
fn go_main_packages(context: &Path) -> Option<Vec<String>> {
    let mut mains = Vec::new();
    let mut go_files = 0;
    let mut looked_at = 0;
    let mut folders = vec![(context.to_path_buf(), String::new())];
    while let Some((dir, relative)) = folders.pop() {
        let mut entries: Vec<std::fs::DirEntry> = std::fs::read_dir(&dir)
            .ok()?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        let mut main = false;
        for entry in entries {
            looked_at += 1;
            if looked_at > GO_FILES_LOOKED_AT {
                return None;
            }
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                continue;
            };
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if name.starts_with(['.', '_']) {
                continue;
            }
            if kind.is_dir() {
                let path = entry.path();
                if name != "vendor" && name != "testdata" && !path.join("go.mod").exists() {
                    let inner = if relative.is_empty() {
                        name.to_string()
                    } else {
                        format!("{relative}/{name}")
                    };
                    folders.push((path, inner));
                }
            } else if kind.is_file() && name.ends_with(".go") && !name.ends_with("_test.go") {
                go_files += 1;
                if !main && let Some(text) = super::context::regular_file(&entry.path()) {
                    main = declares_main(&String::from_utf8_lossy(&text));
                }
            }
        }
        if main {
            mains.push(relative);
        }
    }
    (go_files > 0).then_some(mains)
}

/// Whether a Go file is in package `main` and builds: its package clause,
/// past the comments before it, with no `//go:build ignore` (or `// +build
/// ignore`) among them — the constraint generators' own `main`s carry.
fn declares_main(source: &str) -> bool {
    let mut in_block_comment = false;
    for line in source.lines() {
        let line = line.trim();
        if in_block_comment {
            in_block_comment = !line.contains("*/");
            continue;
        }
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix("//") {
            let constraint = comment
                .strip_prefix("go:build")
                .or_else(|| comment.trim_start().strip_prefix("+build"));
            if constraint.is_some_and(|c| {
                c.split(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
                    .any(|word| word == "ignore")
            }) {
                return false;
            }
            continue;
        }
        if line.starts_with("/*") {
            in_block_comment = !line.contains("*/");
            continue;
        }
        return line
            .strip_prefix("package")
            .is_some_and(|rest| rest.split_whitespace().next() == Some("main"));
    }
    false
}

/// The module path a `go.mod`'s text declares.
fn module_path(go_mod: &str) -> Option<&str> {
    go_mod.lines().find_map(|line| {
        let line = line.split("//").next().unwrap_or_default().trim();
        let rest = line.strip_prefix("module")?;
        rest.starts_with(char::is_whitespace)
            .then(|| rest.trim().trim_matches(|c| c == '"' || c == '`'))
    })
}

/// The name `go build -o DIR/` gives the binary of the package at import
/// path `path`: its last element, a major-version suffix (`/v2`) left out.
/// A context folder's own name is not it: `./go-auth` holding `module
/// example.com/auth` builds `auth`.
fn binary_name(path: &str) -> Option<String> {
    let mut elements = path.rsplit('/').filter(|e| !e.is_empty());
    let last = elements.next()?;
    // As Go tells a major version (`isVersionElement`): `v2` and up, not
    // `v0…` or `v1`, which a module path never carries as a suffix.
    let major_version = last.len() > 1
        && last.starts_with('v')
        && last[1..].bytes().all(|b| b.is_ascii_digit())
        && !last[1..].starts_with('0')
        && last != "v1";
    let name = match elements.next() {
        Some(before) if major_version => before,
        _ => last,
    };
    name.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
        .then(|| name.to_string())
}

/// [`binary_name`] of the module a `go.mod`'s text declares.
#[cfg(test)]
fn module_binary(go_mod: &str) -> Option<String> {
    binary_name(module_path(go_mod)?)
}

/// E0327: a `go` image whose context's root is no main package, and which
/// builds several binaries, or none.
fn go_binary_unknown(image: &BuildImage, binaries: &[String]) -> Diagnostic {
    let (message, help) = match binaries {
        [] => (
            format!(
                "image `{}` builds no binary: its context holds no Go main package",
                image.name
            ),
            String::from(
                "add a `package main` with a `func main()` to the context, or build it from another template",
            ),
        ),
        _ => (
            format!(
                "image `{}` builds {} binaries and its context's root is none of them: which one runs is not known",
                image.name,
                binaries.len()
            ),
            format!(
                "set `entrypoint` on the image to the one to run: {}",
                binaries
                    .iter()
                    .map(|b| format!("`entrypoint = [\"/app/{b}\"]`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        ),
    };
    Diagnostic::new(ErrorCode::GoBinaryUnknown, message)
        .label(image.span, "this image")
        .help(help)
}

/// Templates whose Dockerfile starts a program of their own (see the
/// dockerfile emitter's default process).
const TEMPLATES_WITH_A_PROCESS: &[&str] = &["go", "node", "ruby", "java"];

/// Whether the image, or an image of the landscape it builds on, says what
/// to run; a pulled base's own ENTRYPOINT and CMD do not count, since the
/// secrets shim replaces them.
fn knows_its_process(image: &BuildImage, images: &[BuildImage]) -> bool {
    let mut current = Some(image);
    let mut seen = BTreeSet::new();
    while let Some(i) = current {
        if !seen.insert(i.name.as_str()) {
            return false;
        }
        if i.entrypoint.is_some()
            || i.command.is_some()
            || i.template
                .as_deref()
                .is_some_and(|t| TEMPLATES_WITH_A_PROCESS.contains(&t))
        {
            return true;
        }
        current = match &i.from {
            BaseImage::Image(parent) => images.iter().find(|p| &p.name == parent),
            BaseImage::Pinned(_) => None,
        };
    }
    false
}

/// What the workloads built from each image need of it: the ports it
/// serves, its HEALTHCHECK, the probe and the secrets shim; then its tag.
pub(super) fn finish(
    mut images: Vec<BuildImage>,
    workloads: &[Workload],
    instance: &Instance,
    out: &Path,
    errors: &mut Vec<Diagnostic>,
) -> Vec<BuildImage> {
    for image in &mut images {
        let builders: Vec<&Workload> = workloads
            .iter()
            .filter(|w| w.image == ImageSource::Build(image.name.clone()))
            .collect();
        image.expose = builders
            .iter()
            .flat_map(|w| w.ports.iter().map(|p| p.number))
            .collect::<BTreeSet<u16>>()
            .into_iter()
            .collect();
        image.probe = builders
            .iter()
            .any(|w| w.health.as_ref().is_some_and(|h| h.check.needs_probe()));
        image.shim = builders.iter().any(|w| {
            w.secrets()
                .any(|(_, s)| matches!(s.compose, SecretDelivery::Shim(_)))
        });
        (image.health, image.health_notes) = image_health(&builders);
        image.publish = !builders.is_empty();
        if image.template.as_deref() == Some("go") {
            match go_binary(image, &instance.source_dir) {
                Ok(binary) => image.go_binary = binary,
                // Told what to run, by the image or by every component.
                Err(_)
                    if image.entrypoint.is_some()
                        || image.command.is_some()
                        || (!builders.is_empty()
                            && builders.iter().all(|w| w.entrypoint.is_some())) => {}
                Err(binaries) => errors.push(go_binary_unknown(image, &binaries)),
            }
        }
    }
    for image in images.iter().filter(|i| i.shim) {
        if knows_its_process(image, &images) {
            continue;
        }
        let without: Vec<String> = workloads
            .iter()
            .filter(|w| w.image == ImageSource::Build(image.name.clone()) && w.command.is_none())
            .map(|w| format!("`{}`", w.name))
            .collect();
        if !without.is_empty() {
            errors.push(
                Diagnostic::new(
                    ErrorCode::ProcessUnknown,
                    format!(
                        "image `{}` starts its components through bomc's secrets shim, which replaces its base image's entrypoint, and neither it nor {} say what to run",
                        image.name,
                        without.join(", ")
                    ),
                )
                .label(image.span, "this image")
                .help("set `command` (or `entrypoint`) on the image, e.g. `command = [\"/docker-entrypoint.sh\", \"nginx\", \"-g\", \"daemon off;\"]`, or on each component built from it"),
            );
        }
    }
    content_tags(&mut images, &instance.source_dir, out);
    images
}

/// The image's HEALTHCHECK — when every long-running component built from it
/// declares the same check — and comments saying why (or why not).
fn image_health(builders: &[&Workload]) -> (Option<Health>, Vec<String>) {
    let names = |ws: &[&Workload]| {
        ws.iter()
            .map(|w| format!("`{}`", w.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if builders.is_empty() {
        return (
            None,
            vec![String::from(
                "A layer: no component runs it, so no health check; images built on it declare their own.",
            )],
        );
    }
    let services: Vec<&Workload> = builders.iter().copied().filter(|w| !w.is_job()).collect();
    if services.is_empty() {
        return (
            None,
            vec![format!(
                "Only run-once jobs use this image ({}): no health check.",
                names(builders)
            )],
        );
    }
    let checks: BTreeSet<Option<&Health>> = services.iter().map(|w| w.health.as_ref()).collect();
    if checks.len() > 1 {
        return (
            None,
            vec![
                format!(
                    "No health check: {} run this image with different health checks (or none);",
                    names(&services)
                ),
                String::from("compose and CloudFormation carry each component's own."),
            ],
        );
    }
    match services[0].health.clone() {
        Some(h) => (
            Some(h),
            vec![format!(
                "Health check of {}, as the landscape declares it.",
                names(&services)
            )],
        ),
        None => (
            None,
            vec![format!(
                "No health check: {} declare{} none.",
                names(&services),
                if services.len() == 1 { "s" } else { "" }
            )],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The binary `go build` names a module's root package by, checked
    /// against Go 1.19: `…/shop-api/v2` builds `shop-api`, a quoted path
    /// with a comment is read, `v1` and `v0…` are names, not versions.
    #[test]
    fn go_binaries_are_named_as_go_build_names_them() {
        let cases = [
            (
                "module github.com/acme/shop-api/v2\n\ngo 1.22\n",
                Some("shop-api"),
            ),
            (
                "// the service\nmodule \"example.com/go-auth\" // renamed\n",
                Some("go-auth"),
            ),
            ("module app\n", Some("app")),
            ("module example.com/api/v1\n", Some("v1")),
            ("module example.com/api/v0\n", Some("v0")),
            ("module example.com/api/v10\n", Some("api")),
            ("module `example.com/tick`\n", Some("tick")),
            ("modules example.com/x\ngo 1.22\n", None),
            ("go 1.22\n", None),
        ];
        for (go_mod, binary) in cases {
            assert_eq!(module_binary(go_mod).as_deref(), binary, "{go_mod}");
        }
    }

    #[test]
    fn main_packages_are_told_as_go_tells_them() {
        let cases = [
            ("package main\n\nfunc main() {}\n", true),
            (
                "// Command tick.\n/* a\n   block */\npackage main // here\n",
                true,
            ),
            ("//go:build linux\n\npackage main\n", true),
            ("//go:build ignore\n\npackage main\n", false),
            ("// +build ignore\n\npackage main\n", false),
            ("//go:build !windows && ignore\npackage main\n", false),
            ("//go:build ignored_tag\npackage main\n", true),
            ("package mainly\n", false),
            ("package tools\n", false),
            ("/* package main */\npackage lib\n", false),
            ("", false),
        ];
        for (source, main) in cases {
            assert_eq!(declares_main(source), main, "{source}");
        }
    }

    #[test]
    fn repositories_are_docker_names() {
        assert_eq!(repository("go_auth"), "go_auth");
        assert_eq!(repository("GoAuth"), "goauth");
        assert_eq!(repository("_a__b___c-_d"), "a__b-c-d");
        assert_eq!(repository("a--b"), "a--b");
        assert_eq!(repository("_"), "image");
    }
}
