//! Image definitions → the images bomc builds: settings read into types, the
//! chain's user and root, local tags, and — once the workloads are known —
//! which images carry the health probe and the secrets shim, and the
//! HEALTHCHECK each one gets.

use super::plan::*;
use crate::diag::{Diagnostic, ErrorCode};
use crate::graph::Graph;
use crate::model::{Image, Landscape, Part, Value};
use std::collections::{BTreeMap, BTreeSet};

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
    let tags = tags(landscape, instance, errors);
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
                tag: tags.get(&image.name).cloned().unwrap_or_default(),
                from,
                root,
                template: r.text("template"),
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
                span: image.span,
            }
        })
        .collect()
}

/// The local tag of every image: `<project>/<image>:<instance>`.
fn tags(
    landscape: &Landscape,
    instance: &Instance,
    errors: &mut Vec<Diagnostic>,
) -> BTreeMap<String, String> {
    let project = &instance.project;
    let name = &instance.instance;
    let valid_tag = !name.is_empty()
        && name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !valid_tag || name == "latest" {
        errors.push(
            Diagnostic::new(
                ErrorCode::NameNotValid,
                format!("environment instance `{name}` cannot tag the images it builds"),
            )
            .help("images are tagged `<project>/<image>:<instance>`, and `latest` is not a pinned tag: rename the environment"),
        );
    }
    let mut tags = BTreeMap::new();
    let mut owners: BTreeMap<String, &str> = BTreeMap::new();
    for image in &landscape.images {
        let repo = repository(&image.name);
        if let Some(other) = owners.insert(repo.clone(), &image.name) {
            errors.push(
                Diagnostic::new(
                    ErrorCode::NameNotValid,
                    format!(
                        "images `{other}` and `{}` would both be tagged `{project}/{repo}`",
                        image.name
                    ),
                )
                .label(image.span, "same image name as another, in lowercase")
                .help("Docker image names are lowercase: rename one of the images"),
            );
        }
        tags.insert(image.name.clone(), format!("{project}/{repo}:{name}"));
    }
    tags
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
/// serves, its HEALTHCHECK, the probe and the secrets shim.
pub(super) fn finish(
    mut images: Vec<BuildImage>,
    workloads: &[Workload],
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

    #[test]
    fn repositories_are_docker_names() {
        assert_eq!(repository("go_auth"), "go_auth");
        assert_eq!(repository("GoAuth"), "goauth");
        assert_eq!(repository("_a__b___c-_d"), "a__b-c-d");
        assert_eq!(repository("a--b"), "a--b");
        assert_eq!(repository("_"), "image");
    }
}
