//! The `cloudformation { }` escape hatch: a component's raw resources, added
//! to the template under their own logical ids, with the same quoting
//! guarantees as everything else. Host names and ports inside them resolve as
//! they do in `env`; a secret becomes a Secrets Manager dynamic reference.

use super::Template;
use crate::diag::{Diagnostic, ErrorCode};
use crate::emit::json::json;
use crate::emit::json::{Json, Map};
use crate::lower::plan::Workload;
use crate::model::Value;

fn to_json(t: &Template, value: &Value) -> Json {
    match value {
        Value::Int(i) => json!(i),
        Value::Float(f) => json!(f),
        Value::Bool(b) => json!(b),
        Value::Secret(s) => json!(format!("{{{{resolve:secretsmanager:{s}:SecretString}}}}")),
        Value::List(items) => Json::Array(items.iter().map(|v| to_json(t, v)).collect()),
        Value::Map(m) => Json::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), to_json(t, v)))
                .collect::<Map>(),
        ),
        other => match crate::lower::plan_text(other) {
            Some(text) => t.text(&text),
            None => Json::Null,
        },
    }
}

pub(crate) fn resources(t: &mut Template, w: &Workload) {
    for (id, resource) in &w.cloudformation_resources {
        let span = w
            .cloudformation_spans
            .get(id)
            .copied()
            .unwrap_or(w.name_span);
        let valid =
            !id.is_empty() && id.len() <= 255 && id.chars().all(|c| c.is_ascii_alphanumeric());
        if !valid || t.resources.contains_key(id) {
            t.errors.push(
                Diagnostic::new(
                    ErrorCode::NameNotValid,
                    if valid {
                        format!("`{}` adds resource `{id}`, which bomc already emits", w.name)
                    } else {
                        format!("`{id}` of `{}` is not a CloudFormation logical id", w.name)
                    },
                )
                .label(span, if valid { "bomc emits a resource with this id" } else { "not a logical id" })
                .help("logical ids are letters and digits, unique in the template: choose another name (bomc's start with the component's `PascalCase` name)"),
            );
            continue;
        }
        let json = to_json(t, resource);
        if json.get("Type").and_then(Json::as_str).is_none() {
            t.errors.push(
                Diagnostic::new(
                    ErrorCode::MissingSetting,
                    format!("resource `{id}` of `{}` has no `Type`", w.name),
                )
                .label(span, "no `Type` in this resource")
                .help("give every raw resource its type, e.g. `Type = \"AWS::SNS::Topic\"`"),
            );
            continue;
        }
        t.add(id.clone(), json);
    }
}
