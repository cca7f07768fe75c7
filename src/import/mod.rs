//! `bomc import`: compose files (and a `rancher-compose.yml`) in, the source
//! of one `.bom` landscape out. Its input is YAML text in the source map; its
//! output is text (through [`bom`]'s printer) and warnings. It uses no later
//! stage: what it writes is checked by running `bomc check` on it.
//!
//! The conversion is a table (see [`service`]): each compose key goes to its
//! native setting, or through the `compose { }` escape hatch while bomc has
//! no setting for it, or is dropped with a warning when it cannot be carried.

mod bom;
mod env;
mod kinds;
mod rancher;
pub mod read;
mod service;
mod values;

use crate::diag::{Diagnostic, ErrorCode};
use crate::source::{FileId, SourceMap};
use bom::{Expr, Member};
use serde_yaml_ng::{Mapping, Value as Yaml};
use std::collections::{BTreeMap, BTreeSet};

/// What of the language this bomc has: each flag moves the compose keys it
/// covers from the escape hatch to their native settings (`service::ROUTES`),
/// so adopting a new setting is one line here.
pub struct Features {
    /// `ports { dns = "53/udp" }` and `publish { http = 8080 }`.
    pub publish: bool,
    /// `restart`, `user`, `working_dir`, `entrypoint`.
    pub process: bool,
    /// `health { command = "…" }` (a string is CMD-SHELL), `["NONE"]` turning the image's check off.
    pub shell_health: bool,
    /// `mounts { }`: bind mounts relative to the .bom file, tmpfs, read-only volumes.
    pub mounts: bool,
    /// `env_file` and `profiles`.
    pub env_file: bool,
    /// `capabilities { }`, `ulimits { }`, `sysctls { }`.
    pub kernel: bool,
    /// `reserve { cpu, memory }`.
    pub reserve: bool,
    /// `image NAME { context, dockerfile, target, args }`: a project's own Dockerfile.
    pub dockerfile: bool,
    /// `allow_floating_tags = true` in a landscape.
    pub floating_tags: bool,
    /// `let`, `merge(…)`, `null`.
    pub reuse: bool,
}

pub const FEATURES: Features = Features {
    publish: true,
    process: true,
    shell_health: true,
    mounts: true,
    env_file: true,
    kernel: true,
    reserve: true,
    dockerfile: true,
    floating_tags: true,
    reuse: true,
};

/// The result of an import.
pub struct Imported {
    pub text: String,
    pub warnings: Vec<Diagnostic>,
}

/// One compose service as the importer knows it before converting it.
struct Info {
    /// The component name (the compose name, made valid).
    name: String,
    kind: Option<&'static kinds::Kind>,
    /// Named ports: the kind's, the compose ports', and ports other
    /// services reach it on.
    ports: Vec<(String, u16, String)>,
    /// The compose definition.
    yaml: Mapping,
    /// Kind parameters taken from the environment, with their values.
    params: Vec<(String, Expr)>,
    /// The environment after references and secrets, in the compose order.
    env: Vec<(String, Expr)>,
    /// Comments for the environment.
    env_notes: Vec<String>,
    /// Variables a kind parameter took.
    consumed: BTreeSet<String>,
    /// Variables the kind sets that the compose file does not (`null`).
    nulls: Vec<String>,
    /// What the rancher-compose file said that has no setting.
    rancher_notes: Vec<String>,
    /// Members added from the rancher-compose file.
    extra: Vec<Member>,
    /// Components a secret URL names: dependencies, for the access.
    uses: Vec<String>,
}

/// The state of one import.
struct Importer<'a> {
    sources: &'a SourceMap,
    /// The first compose file: spans and the project directory.
    main: FileId,
    landscape: String,
    /// Compose variables turned into parameters, with their defaults.
    params: BTreeMap<String, String>,
    warnings: Vec<Diagnostic>,
    /// Compose service name → what the importer knows of it.
    services: BTreeMap<String, Info>,
    /// Component → the components it depends on (references and
    /// `depends_on`), so that no reference closes a cycle.
    edges: BTreeMap<String, BTreeSet<String>>,
    /// Secret values → their secret names (one secret per value).
    secrets: BTreeMap<String, String>,
    /// Component → its password parameter's value, for `db.password`.
    passwords: BTreeMap<String, String>,
    /// Top-level `x-` fields, for naming the shared values.
    extensions: Vec<(String, Yaml)>,
    /// Every file read, for the header.
    inputs: Vec<FileId>,
}

/// Imports compose files (merged in order) and rancher-compose files.
pub fn import(
    sources: &SourceMap,
    compose: &[FileId],
    rancher: &[FileId],
) -> Result<Imported, Vec<Diagnostic>> {
    let Some(&main) = compose.first() else {
        return Err(vec![
            Diagnostic::new(ErrorCode::NotCompose, "no compose file to import")
                .help("name a compose file: `bomc import compose.yaml [override.yaml…] [rancher-compose.yml]`"),
        ]);
    };
    let mut errors = Vec::new();
    let mut files = Vec::new();
    for &f in compose {
        match read::parse(sources, f).and_then(|y| check_compose(sources, f, y)) {
            Ok(y) => files.push(y),
            Err(e) => errors.push(e),
        }
    }
    let mut rancher_files = Vec::new();
    for &f in rancher {
        match read::parse(sources, f) {
            Ok(y) => rancher_files.push((f, y)),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let merged = read::merge_files(files);
    let mut importer = Importer::new(sources, main, &merged);
    importer.inputs = compose.iter().chain(rancher).copied().collect();
    importer.prepare(&merged)?;
    for (f, y) in &rancher_files {
        rancher::apply(&mut importer, *f, y)?;
    }
    let text = importer.write()?;
    Ok(Imported {
        text,
        warnings: importer.warnings,
    })
}

/// A compose file is a mapping with a `services` mapping of mappings.
fn check_compose(sources: &SourceMap, file: FileId, yaml: Yaml) -> Result<Yaml, Diagnostic> {
    let name = &sources.get(file).name;
    let not = |what: String, at: &[&str]| {
        Diagnostic::new(ErrorCode::NotCompose, what)
            .label(read::locate(sources, file, at), "here")
            .help("a compose file is a mapping with `services:`, each service a mapping of its settings (Compose Specification)")
    };
    let Yaml::Mapping(top) = &yaml else {
        return Err(not(
            format!("`{name}` is not a compose file: its top level is not a mapping"),
            &[],
        ));
    };
    match top.get("services") {
        None if top.keys().all(|k| {
            k.as_str()
                .is_some_and(|k| k.starts_with("x-") || k == "version" || k == "name")
        }) =>
        {
            return Err(not(format!("`{name}` has no `services`"), &[]));
        }
        None => {}
        Some(Yaml::Mapping(services)) => {
            for (k, v) in services {
                let key = k.as_str().unwrap_or_default();
                if !matches!(v, Yaml::Mapping(_) | Yaml::Null) {
                    return Err(not(
                        format!("service `{key}` in `{name}` is not a mapping"),
                        &["services", key],
                    ));
                }
            }
        }
        Some(_) => {
            return Err(not(
                format!("`services` in `{name}` is not a mapping"),
                &["services"],
            ));
        }
    }
    Ok(yaml)
}

/// Settings in a component that only compose can run (E0324 on CloudFormation).
fn compose_only_settings(m: &Member, out: &mut BTreeSet<&'static str>) {
    match &m.body {
        bom::Body::Block(head, members) if head == "mounts" => {
            for entry in members {
                if let bom::Body::Set(_, Expr::Map(e)) = &entry.body {
                    for (k, _) in e {
                        match k.as_str() {
                            "bind" => out.insert("bind mounts"),
                            "tmpfs" => out.insert("tmpfs"),
                            _ => false,
                        };
                    }
                }
            }
        }
        bom::Body::Block(_, members) => members.iter().for_each(|x| compose_only_settings(x, out)),
        bom::Body::Set(k, value) => {
            match k.as_str() {
                "env_file" => out.insert("env_file"),
                "profiles" => out.insert("profiles"),
                "sysctls" => out.insert("sysctls"),
                "capabilities" if matches!(value, Expr::Map(e) if e.iter().any(|(k, _)| k == "add")) => {
                    out.insert("added capabilities")
                }
                _ => false,
            };
        }
        _ => {}
    }
}

/// A component (or landscape) name: lowercase letters, digits, `_`, `-`,
/// starting with a letter.
fn component_name(raw: &str) -> String {
    let mut out: String = raw
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert(0, 's');
    }
    out
}

impl<'a> Importer<'a> {
    fn new(sources: &'a SourceMap, main: FileId, merged: &Yaml) -> Self {
        let project = merged
            .get("name")
            .and_then(Yaml::as_str)
            .map(String::from)
            .or_else(|| {
                let path = sources.get(main).path.clone()?;
                let dir = std::path::absolute(path)
                    .ok()?
                    .parent()?
                    .file_name()?
                    .to_str()?
                    .to_string();
                Some(dir)
            })
            .unwrap_or_else(|| String::from("imported"));
        let extensions = match merged {
            Yaml::Mapping(m) => m
                .iter()
                .filter_map(|(k, v)| {
                    let k = k.as_str()?;
                    k.starts_with("x-").then(|| (k.to_string(), v.clone()))
                })
                .collect(),
            _ => Vec::new(),
        };
        Importer {
            sources,
            main,
            landscape: component_name(&project),
            params: BTreeMap::new(),
            warnings: Vec::new(),
            services: BTreeMap::new(),
            edges: BTreeMap::new(),
            secrets: BTreeMap::new(),
            passwords: BTreeMap::new(),
            extensions,
            inputs: Vec::new(),
        }
    }

    fn warn(&mut self, code: ErrorCode, path: &[&str], message: String, help: &str) {
        let span = read::locate(self.sources, self.main, path);
        // A value read twice (a port's number and its publishing) warns once.
        if self
            .warnings
            .iter()
            .any(|w| w.code == code && w.message == message && w.primary_span() == Some(span))
        {
            return;
        }
        self.warnings.push(
            Diagnostic::new(code, message)
                .label(span, "here")
                .help(help.to_string()),
        );
    }

    fn invalid(&self, path: &[&str], message: String, help: &str) -> Diagnostic {
        Diagnostic::new(ErrorCode::ComposeValueInvalid, message)
            .label(read::locate(self.sources, self.main, path), "here")
            .help(help.to_string())
    }

    /// Names, kinds and ports of every service; then each environment.
    fn prepare(&mut self, merged: &Yaml) -> Result<(), Vec<Diagnostic>> {
        let services = merged
            .get("services")
            .and_then(Yaml::as_mapping)
            .cloned()
            .unwrap_or_default();
        let mut taken = BTreeSet::new();
        for (k, v) in &services {
            let raw = k.as_str().unwrap_or_default().to_string();
            let mut name = component_name(&raw);
            while !taken.insert(name.clone()) {
                name.push('-');
            }
            if name != raw {
                self.warn(
                    ErrorCode::ServiceRenamed,
                    &["services", &raw],
                    format!("compose service `{raw}` is the component `{name}`"),
                    &format!("component names are lowercase letters, digits, `_` and `-`: other services reach it as `{name}` now; rename it in the compose file to keep its host name"),
                );
            }
            let yaml = v.as_mapping().cloned().unwrap_or_default();
            let image = yaml.get("image").and_then(Yaml::as_str).map(read::concrete);
            let kind = image
                .as_deref()
                .filter(|_| !yaml.contains_key("build"))
                .and_then(kinds::kind_of);
            let mut info = Info {
                name,
                kind,
                ports: Vec::new(),
                yaml,
                params: Vec::new(),
                env: Vec::new(),
                env_notes: Vec::new(),
                consumed: BTreeSet::new(),
                nulls: Vec::new(),
                rancher_notes: Vec::new(),
                extra: Vec::new(),
                uses: Vec::new(),
            };
            if let Some(kind) = kind {
                for (n, number) in kind.ports {
                    info.ports
                        .push((n.to_string(), *number, String::from("tcp")));
                }
            }
            service::declare_ports(self, &raw, &mut info)?;
            self.services.insert(raw, info);
        }
        self.top_level(merged);
        let names: Vec<String> = self.services.keys().cloned().collect();
        for raw in &names {
            let deps = service::depends_on_names(self, raw);
            let component = self.services[raw].name.clone();
            self.edges.entry(component).or_default().extend(deps);
        }
        for raw in &names {
            env::kind_params(self, raw)?;
        }
        for raw in &names {
            env::convert(self, raw)?;
        }
        Ok(())
    }

    /// Top-level definitions bomc makes itself: a warning for what they said.
    fn top_level(&mut self, merged: &Yaml) {
        for key in ["networks", "volumes", "secrets", "configs"] {
            let Some(Yaml::Mapping(m)) = merged.get(key) else {
                continue;
            };
            for (name, def) in m {
                let name = values::scalar(name);
                let said = def.as_mapping().is_some_and(|d| !d.is_empty());
                if key == "volumes" && !said {
                    continue;
                }
                if key == "networks" && !said {
                    continue;
                }
                let why = match key {
                    "volumes" => "bomc creates each named volume itself, as `<component>.<name>`",
                    "networks" => "bomc derives the networks from references and `depends_on`",
                    _ => {
                        "compose secrets and configs have no .bom form: use `secret(\"…\")` in `env`, or a mount"
                    }
                };
                self.warn(
                    ErrorCode::ComposeKeyDropped,
                    &[key, &name],
                    format!("top-level `{key}` entry `{name}` is not imported: {why}"),
                    "docs/import.md lists what is not imported; check the .bom before relying on it",
                );
            }
        }
    }

    /// Whether `from` reaching `to` through a new edge would close a cycle.
    fn closes_cycle(&self, from: &str, to: &str) -> bool {
        if from == to {
            return true;
        }
        let mut stack = vec![to.to_string()];
        let mut seen = BTreeSet::new();
        while let Some(n) = stack.pop() {
            if n == from {
                return true;
            }
            if seen.insert(n.clone())
                && let Some(next) = self.edges.get(&n)
            {
                stack.extend(next.iter().cloned());
            }
        }
        false
    }

    /// Records `from` → `to` unless it would close a cycle; whether it did.
    fn add_edge(&mut self, from: &str, to: &str) -> bool {
        if self.closes_cycle(from, to) {
            return false;
        }
        self.edges
            .entry(from.to_string())
            .or_default()
            .insert(to.to_string());
        true
    }

    /// The component name of a compose service.
    fn component(&self, raw: &str) -> Option<String> {
        self.services.get(raw).map(|i| i.name.clone())
    }

    /// The whole `.bom` text.
    fn write(&mut self) -> Result<String, Vec<Diagnostic>> {
        let names: Vec<String> = self.services.keys().cloned().collect();
        let lets = env::shared(self);
        let mut components = Vec::new();
        let mut images = Vec::new();
        for raw in &names {
            let (component, image) = service::component(self, raw, &lets)?;
            components.push(component);
            images.extend(image);
        }
        let mut body = Vec::new();
        let mut compose_only: BTreeSet<&str> = BTreeSet::new();
        for c in &components {
            compose_only_settings(c, &mut compose_only);
        }
        if !compose_only.is_empty() {
            let list: Vec<String> = compose_only.iter().map(|s| format!("`{s}`")).collect();
            body.push(
                Member::set("targets", Expr::List(vec![Expr::str("compose")])).with_comment([
                    format!(
                        "Built for compose only: ECS on Fargate has no {} as the compose file uses them.",
                        list.join(", ")
                    ),
                ]),
            );
        }
        if FEATURES.floating_tags
            && self.services.values().any(|i| {
                i.yaml
                    .get("image")
                    .and_then(Yaml::as_str)
                    .is_some_and(|s| !values::pinned(&read::concrete(s)))
            })
        {
            body.push(
                Member::set("allow_floating_tags", Expr::Bool(true)).with_comment([
                    String::from(
                        "The compose file runs images by floating tags, kept as they are: pin them",
                    ),
                    String::from("(`mysql:8.0.43`, or a digest) and remove this line."),
                ]),
            );
        }
        for (name, default) in &self.params {
            body.push(Member::line(format!(
                "param {name}: string = {}",
                bom::quote(default)
            )));
        }
        if let Some(first) = body
            .iter_mut()
            .find(|m| matches!(&m.body, bom::Body::Line(l) if l.starts_with("param ")))
        {
            first.comment.push(String::from(
                "Compose variables, with the value compose gives them when unset: `--set NAME=VALUE`.",
            ));
        }
        for l in &lets {
            body.push(Member {
                comment: l.comment.clone(),
                body: bom::Body::Let(l.name.clone(), l.entries.clone()),
            });
        }
        let mut landscape_members = body;
        landscape_members.extend(components);
        let mut imports: BTreeSet<&str> = BTreeSet::new();
        for i in self.services.values() {
            if let Some(k) = i.kind {
                imports.insert(k.name);
            }
        }
        let mut top = Vec::new();
        let files: Vec<String> = self
            .sources_names()
            .into_iter()
            .map(|n| format!("`{n}`"))
            .collect();
        let mut header = vec![format!(
            "Imported by `bomc import` from {}.",
            files.join(", ")
        )];
        header.push(String::from(
            "Relative paths are the compose project's: keep this file next to the first compose file.",
        ));
        let mut first = true;
        for k in &imports {
            let mut m = Member::line(format!("import {}", bom::quote(k)));
            if first {
                m.comment = std::mem::take(&mut header);
                first = false;
            }
            top.push(m);
        }
        let mut landscape =
            Member::block(&format!("landscape {}", self.landscape), landscape_members);
        landscape.comment = header;
        top.push(landscape);
        top.extend(images);
        let mut out = String::new();
        for (i, m) in top.iter().enumerate() {
            if i > 0
                && !matches!(
                    (&top[i - 1].body, &m.body),
                    (bom::Body::Line(_), bom::Body::Line(_))
                )
            {
                out.push('\n');
            }
            bom::print(std::slice::from_ref(m), 0, &mut out);
        }
        // `bomc fmt`'s layout; the printer's own is close to it already.
        Ok(crate::format::format_source(&out).unwrap_or(out))
    }

    fn sources_names(&self) -> Vec<String> {
        self.inputs
            .iter()
            .map(|f| self.sources.get(*f).name.clone())
            .collect()
    }
}
