//! What a managed kind's container settings mean on AWS: the managed service
//! runs its own engine and takes no command, so an `image` naming another
//! engine (`mysql { image = "mariadb:10.5" }`) or a `command` (server flags)
//! would differ between compose and AWS without a word. Both are warnings.

use super::contracts::{self, Managed};
use super::workload::{Lowering, text};
use crate::diag::{Diagnostic, ErrorCode};
use crate::model::{Component, Value};

/// `docker.elastic.co/elasticsearch/elasticsearch-oss:7.10.2` → `elasticsearch-oss`.
fn repository(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split(':').next().unwrap_or(last)
}

impl Lowering<'_> {
    pub(super) fn managed_image_and_command(&mut self, c: &Component, managed: Managed) {
        let span = |setting: &str| c.setting_spans.get(setting).copied().unwrap_or(c.name_span);
        let service = contracts::service_name(managed);
        let image = c
            .settings
            .get("image")
            .and_then(text)
            .and_then(|t| t.as_literal());
        if let Some(image) = image {
            let repo = repository(&image);
            let engines = contracts::engine_images(managed);
            if !engines.contains(&repo) {
                let kind = crate::resolve::stdlib::names()
                    .find(|k| !repo.is_empty() && k.starts_with(repo));
                let instead = match kind {
                    Some(kind) => format!("use the `{kind}` kind (`import \"{kind}\"`)"),
                    None => String::from("use the kind of that engine"),
                };
                self.warnings.push(
                    Diagnostic::new(
                        ErrorCode::ImageOfAnotherEngine,
                        format!(
                            "`{}` runs `{image}` on compose but {service} on AWS",
                            c.name
                        ),
                    )
                    .label(span("image"), "another engine's image")
                    .help(format!(
                        "{instead}, or set `managed = \"none\"` to run this image as a container on every target"
                    )),
                );
            }
        }
        if matches!(c.setting("command"), Some(Value::List(items)) if !items.is_empty()) {
            self.warnings.push(
                Diagnostic::new(
                    ErrorCode::CommandDropped,
                    format!(
                        "the `command` of `{}` runs on compose only: {service} takes no command on AWS",
                        c.name
                    ),
                )
                .label(span("command"), "not run on AWS")
                .help("set server options on AWS through the `cloudformation { }` escape hatch (a parameter group), or set `managed = \"none\"` to run the container with its command on every target"),
            );
        }
    }
}
