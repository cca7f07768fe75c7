//! Image definitions: evaluated once each, on first use by a component's
//! `build` (and through `from` for the images they build on).

use super::{Evaluator, duplicate_setting, misplaced};
use crate::check::schema::IMAGE;
use crate::diag::{Diagnostic, Diagnostics, ErrorCode, did_you_mean, one_of};
use crate::model::{self, Value};
use crate::resolve::DefId;
use crate::syntax::ast::{self, Member};
use std::collections::BTreeMap;

impl<'p> Evaluator<'p> {
    /// `context` of a module's image, relative to the main file's folder.
    /// Checks the paths an image is built from, which its content tag reads:
    /// its `context` and its `dockerfile` within it stay inside the project
    /// root (E0232, before anything there is read), and the Dockerfile exists.
    fn image_paths(
        &self,
        def: &ast::Definition,
        settings: &BTreeMap<String, Value>,
        diags: &mut Diagnostics,
    ) {
        let folder = self
            .program
            .sources
            .get(def.name.span.file)
            .path
            .as_ref()
            .and_then(|p| p.parent())
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        let context = match settings.get("context") {
            Some(Value::String(c)) => c.clone(),
            _ => String::from("."),
        };
        let dockerfile = match settings.get("dockerfile") {
            Some(Value::String(d)) => Some(
                std::path::Path::new(&context)
                    .join(d)
                    .to_string_lossy()
                    .into_owned(),
            ),
            _ => None,
        };
        let paths = [
            ("context", Some(context.clone())),
            ("dockerfile", dockerfile),
        ];
        for (setting, written) in paths {
            let (Some(written), Some(a)) = (written, assignment(def, setting)) else {
                continue;
            };
            let why = self.program.root.as_deref().and_then(|root| {
                crate::resolve::leaves_root(root, &written, &folder.join(&written))
            });
            match why {
                Some(why) => diags.push(
                    Diagnostic::new(
                        ErrorCode::ImagePathOutsideRoot,
                        format!("the `{setting}` of image `{}`, `{written}`, {why}", def.name.node),
                    )
                    .label(a.value.span, "refused; nothing there was read")
                    .help("build contexts and Dockerfiles stay inside the project root, the folder of the main file: write the path relative to the file that defines the image, or run bomc with `--root DIR` on a folder that holds them"),
                ),
                // The project's Dockerfile must exist (relative to the
                // context, which is relative to this file).
                None if setting == "dockerfile" => {
                    let _ = self.host_path(&written, a.value.span, diags);
                }
                None => {}
            }
        }
    }

    pub(super) fn rebase(&self, module: crate::resolve::ModuleId, context: &str) -> Option<String> {
        let path = std::path::Path::new(context);
        if path.is_absolute() {
            return None;
        }
        let dir_of = |m: usize| {
            let file = self.program.modules.get(m)?.file;
            self.program
                .sources
                .get(file)
                .path
                .as_ref()?
                .parent()
                .map(std::path::Path::to_path_buf)
        };
        let module_dir = dir_of(module.0)?;
        let main_dir = dir_of(0)?;
        let relative = module_dir.strip_prefix(&main_dir).ok()?;
        let joined = relative.join(path);
        let text = joined.to_string_lossy().replace("/./", "/");
        Some(text.strip_prefix("./").unwrap_or(&text).to_string())
    }

    /// The image definition a resolved reference named.
    pub(super) fn image_def(&self, name: &str) -> Option<DefId> {
        self.image_ids.get(name).copied()
    }

    /// Evaluates image definition `id` once.
    pub(super) fn image(&mut self, name: &str, id: DefId, diags: &mut Diagnostics) {
        if self.images.contains_key(name) {
            return;
        }
        self.images.insert(name.to_string(), None);
        let def: &'p ast::Definition = self.program.def(id);
        let scope = self.new_scope(id.module, None);
        let mut settings = BTreeMap::new();
        let mut first_spans: BTreeMap<&str, crate::source::Span> = BTreeMap::new();
        let mut from_span = None;
        let before = diags.len();
        for member in &def.body.members {
            let Member::Assign(a) = member else {
                diags.push(misplaced(
                    member.span(),
                    "a declaration inside an image",
                    "an image holds settings: `from`, `template`, `context`, `steps`…",
                ));
                continue;
            };
            let key = &a.path[0];
            let Some(field) = IMAGE.field(&key.node).filter(|_| a.path.len() == 1) else {
                let help = did_you_mean(&key.node, IMAGE.names(), |all| {
                    format!("an image takes {}", one_of(&all))
                });
                diags.push(
                    Diagnostic::new(
                        ErrorCode::UnknownSetting,
                        format!("unknown image setting `{}`", a.path_text()),
                    )
                    .label(key.span, "unknown setting")
                    .help(help),
                );
                continue;
            };
            if let Some(first) = first_spans.get(field.name) {
                diags.push(duplicate_setting(a, Some(*first)));
                continue;
            }
            first_spans.insert(field.name, key.span);
            if let Some(v) = self.eval_typed(&a.value, &field.ty, scope, diags) {
                if field.name == "from" && matches!(v, Value::Image(_)) {
                    from_span = Some(a.value.span);
                }
                settings.insert(field.name.to_string(), v);
            }
        }
        let written = |name: &str| assignment(def, name).map(|a| a.path[0].span);
        if let Some(dockerfile) = written("dockerfile") {
            // The project's Dockerfile says how to build; bomc's settings for
            // its own Dockerfiles have no place in it.
            for other in [
                "from",
                "template",
                "steps",
                "onbuild",
                "user",
                "entrypoint",
                "command",
            ] {
                if let Some(span) = written(other) {
                    diags.push(
                        Diagnostic::new(
                            ErrorCode::DockerfileExclusive,
                            format!("image `{name}` builds its own Dockerfile and sets `{other}`, which only bomc's Dockerfiles take"),
                        )
                        .label(span, "for bomc's Dockerfiles")
                        .label(dockerfile, "the project's Dockerfile")
                        .help(format!("remove `{other}` (write it in the Dockerfile), or remove `dockerfile` to let bomc write one")),
                    );
                }
            }
        } else if let Some(span) = written("target") {
            diags.push(
                Diagnostic::new(
                    ErrorCode::DockerfileExclusive,
                    format!("image `{name}` names a `target` stage but no `dockerfile`"),
                )
                .label(span, "a stage of which Dockerfile?")
                .help("name the project's Dockerfile: `dockerfile = \"Dockerfile\"`, relative to `context`"),
            );
        } else if written("from").is_none() {
            diags.push(
                Diagnostic::new(ErrorCode::MissingSetting, format!("image `{name}` has no `from`"))
                    .label(def.name.span, "needs a base")
                    .help("set `from = \"debian:12.5-slim\"` (a pinned image) or `from = OTHER_IMAGE` to build on another definition"),
            );
        }
        // Build contexts and Dockerfiles are read (their content tags hash
        // them): like imports, they stay inside the project root, so a pull
        // request cannot make bomc read the runner's files or a device
        // (`context = "/dev"` never ended).
        self.image_paths(def, &settings, diags);
        // Build contexts are written relative to the file defining the image;
        // the model keeps them relative to the main file, as the emitters read them.
        if id.module.0 != 0
            && let Some(Value::String(context)) = settings.get("context").cloned()
            && let Some(rebased) = self.rebase(id.module, &context)
        {
            settings.insert(String::from("context"), Value::String(rebased));
        }
        if let Some(Value::Image(parent)) = settings.get("from").cloned()
            && let Some(pid) = self.image_def(&parent)
        {
            self.image(&parent, pid, diags);
        }
        if diags.len() == before {
            self.images.insert(
                name.to_string(),
                Some(model::Image {
                    name: name.to_string(),
                    docs: def.docs.clone(),
                    settings: settings.into_iter().collect(),
                    span: def.name.span,
                    from_span,
                }),
            );
        }
    }
}

/// The assignment of `setting` in an image definition's body.
fn assignment<'d>(def: &'d ast::Definition, setting: &str) -> Option<&'d ast::Assign> {
    def.body.members.iter().find_map(|m| match m {
        Member::Assign(a) if a.path[0].node == setting => Some(a),
        _ => None,
    })
}
