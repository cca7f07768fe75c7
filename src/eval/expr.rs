//! Expressions: literals, lists and maps (checked element by element against
//! the expected type, so every error points at the exact value), strings with
//! interpolation, `secret(...)`, and references to parameters, components,
//! their attributes and image definitions.

use super::Evaluator;
use super::scope::{ScopeId, ScopeMember};
use crate::check::types::Mismatch;
use crate::check::{Type, conform};
use crate::diag::{Diagnostic, Diagnostics, ErrorCode, did_you_mean, one_of};
use crate::model::{Part, PortRef, Value};
use crate::source::Span;
use crate::syntax::ast::{self, DefKind, ExprKind, Ident, Member, StrPart};
use std::collections::BTreeMap;

/// The text of a scalar when interpolated into a string.
pub fn scalar_text(v: &Value) -> Option<String> {
    Some(match v {
        Value::String(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Duration(ms) => super::sets::format_duration(*ms),
        Value::Size(b) => b.to_string(),
        _ => return None,
    })
}

/// Secret names: path-like, as Secrets Manager and compose accept them.
fn valid_secret_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 512
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c))
}

fn type_help(expected: &Type, found: &Value) -> String {
    match (expected, found) {
        (Type::Port, Value::Int(_)) => {
            String::from("reference a component's port, e.g. `auth.ports.http`")
        }
        (Type::Str | Type::HttpPath, Value::Int(i)) => format!("quote it if it is text: `\"{i}\"`"),
        (Type::Duration | Type::PositiveDuration, Value::Int(i)) => {
            format!("add a unit: `{i}s`, `{i}m` or `{i}h`")
        }
        (Type::Size, Value::Int(i)) => format!("add a unit: `{i}MiB` or `{i}GiB`"),
        (Type::Image, Value::String(_) | Value::Template(_)) => String::from(
            "`build` names an `image` definition; to pull a published image use `image = \"name:tag\"`",
        ),
        (Type::Component, _) => {
            String::from("name a component of this landscape, e.g. `depends_on = [db]`")
        }
        (Type::Str | Type::EnvValue | Type::ImageRef, Value::Component(c)) => {
            format!("to use its host name, write `{c}.host`")
        }
        (Type::Bool, Value::String(s))
            if s == "yes" || s == "no" || s == "true" || s == "false" =>
        {
            String::from("write `true` or `false` without quotes")
        }
        (Type::Int | Type::NonNegative | Type::Count | Type::PortNumber, Value::String(s))
            if s.parse::<i64>().is_ok() =>
        {
            format!("write the number without quotes: `{s}`")
        }
        (Type::PortSpec, Value::String(s)) if s.parse::<u16>().is_ok() => {
            format!("write the number without quotes: `{s}`, or `\"{s}/udp\"` for UDP")
        }
        (Type::PortSpec, _) => String::from(
            "write a number for TCP (`http = 80`), or the number and protocol as a string: `dns = \"53/udp\"` (tcp or udp)",
        ),
        (Type::List(_), _) => String::from("write a list in brackets: `[a, b]`"),
        _ => format!("this setting takes {}", expected.describe()),
    }
}

/// A mount names exactly one of `bind`, `volume` and `tmpfs`.
fn one_mount_source(value: &Value, span: Span, diags: &mut Diagnostics) -> Option<()> {
    let sources: Vec<&str> = ["bind", "volume", "tmpfs"]
        .into_iter()
        .filter(|k| value.as_map().is_some_and(|m| m.contains_key(*k)))
        .collect();
    if sources.len() == 1 {
        return Some(());
    }
    let message = if sources.is_empty() {
        String::from("this mount says nothing to mount")
    } else {
        format!("this mount has several sources: {}", sources.join(", "))
    };
    diags.push(
        Diagnostic::new(ErrorCode::MountSource, message)
            .label(span, "one mount")
            .help("give exactly one of `bind = \"./path\"`, `volume = \"name\"` or `tmpfs = true`"),
    );
    None
}

impl<'p> Evaluator<'p> {
    /// Reports a value that does not conform, at `span`.
    pub(super) fn mismatch(
        &self,
        span: Span,
        ty: &Type,
        value: &Value,
        mismatch: Mismatch,
        diags: &mut Diagnostics,
    ) {
        let diag = match mismatch {
            Mismatch::Type { expected, found } => {
                Diagnostic::new(ErrorCode::TypeMismatch, format!("expected {expected}, found {found}"))
                    .label(span, format!("this is {found}"))
                    .help(type_help(ty, value))
            }
            Mismatch::Secret { expected } => Diagnostic::new(
                ErrorCode::SecretAsString,
                format!("a secret cannot be used where {expected} is required"),
            )
            .label(span, "a secret")
            .help("secrets are passed only as whole values of settings that accept them (such as `env` entries or a kind's `secret` parameters), never as plain text"),
            Mismatch::NotAllowed { expected, help } => {
                let shown = match value {
                    Value::String(s) => format!("`\"{s}\"`"),
                    _ => String::from("this value"),
                };
                Diagnostic::new(ErrorCode::InvalidValue, format!("{shown} is not allowed here: expected {expected}"))
                    .label(span, "not one of the choices")
                    .help(help)
            }
            Mismatch::Unpinned { reference } => Diagnostic::new(
                ErrorCode::UnpinnedImage,
                format!("image `{reference}` is not pinned to a version"),
            )
            .label(span, "no fixed version")
            .help(format!(
                "name a full version or a digest, e.g. `\"{}:1.2.3\"` or `…@sha256:…`, so every build runs the same image (or allow floating tags in the landscape: `allow_floating_tags = true`)",
                reference.split(':').next().unwrap_or(&reference)
            )),
            Mismatch::Range { expected, help } => {
                let shown = match value {
                    Value::String(s) => format!("`\"{s}\"`"),
                    other => scalar_text(other).map(|t| format!("`{t}`")).unwrap_or_else(|| String::from("this value")),
                };
                Diagnostic::new(ErrorCode::OutOfRange, format!("{shown} is out of range: expected {expected}"))
                    .label(span, "out of range")
                    .help(help)
            }
        };
        diags.push(diag);
    }

    /// Evaluates `expr` as a value of type `ty`, reporting any mismatch.
    pub(super) fn eval_typed(
        &mut self,
        expr: &'p ast::Expr,
        ty: &'static Type,
        scope: ScopeId,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        match &expr.kind {
            ExprKind::List(items) => {
                let Some(elem) = (match ty {
                    Type::List(t) => Some(*t),
                    Type::CommandLine => Some(&Type::Str),
                    Type::Any => Some(&Type::Any),
                    _ => None,
                }) else {
                    let found = Value::List(Vec::new());
                    self.mismatch(expr.span, ty, &found, conform(&found, ty).err()?, diags);
                    return None;
                };
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                let mut size = 0;
                for item in items {
                    match self.eval_typed(item, elem, scope, diags) {
                        Some(v) => {
                            size += value_len(&v);
                            if size > MAX_STRING_LEN {
                                diags.push(self.too_large(
                                    "list",
                                    item.span,
                                    format!("the list reaches {size} bytes here"),
                                ));
                                return None;
                            }
                            out.push(v);
                        }
                        None => ok = false,
                    }
                }
                ok.then_some(Value::List(out))
            }
            ExprKind::Map(block) => match ty {
                Type::Record(schema) => {
                    let value = self.eval_map(
                        block,
                        |k| schema.field(k).map(|f| &f.ty),
                        Some(schema),
                        scope,
                        diags,
                    )?;
                    if std::ptr::eq(*schema, &crate::check::schema::MOUNT) {
                        one_mount_source(&value, expr.span, diags)?;
                    }
                    Some(value)
                }
                Type::Map(t) => self.eval_map(block, |_| Some(*t), None, scope, diags),
                Type::Ulimit => {
                    let schema = &crate::check::schema::ULIMIT;
                    self.eval_map(
                        block,
                        |k| schema.field(k).map(|f| &f.ty),
                        Some(schema),
                        scope,
                        diags,
                    )
                }
                Type::Any => self.eval_map(block, |_| Some(&Type::Any), None, scope, diags),
                _ => {
                    let found = Value::Map(BTreeMap::new());
                    self.mismatch(expr.span, ty, &found, conform(&found, ty).err()?, diags);
                    None
                }
            },
            ExprKind::Call { name, args } if name.node == "merge" => {
                let value = self.merge(name, args, expr.span, ty, scope, diags)?;
                match conform(&value, ty) {
                    Ok(()) => self
                        .check_records(expr.span, ty, &value, diags)
                        .then_some(value),
                    Err(m) => {
                        self.mismatch(expr.span, ty, &value, m, diags);
                        None
                    }
                }
            }
            _ => {
                let value = self.eval_leaf(expr, scope, diags)?;
                if value == Value::Null && *ty != Type::Any {
                    diags.push(
                        Diagnostic::new(ErrorCode::MisplacedNull, "`null` is not a value here")
                            .label(expr.span, "`null`")
                            .help("`null` removes a key from a map: write it as a map entry, e.g. `env { MYSQL_RANDOM_ROOT_PASSWORD = null }`; to leave a setting unset, do not set it"),
                    );
                    return None;
                }
                match conform(&value, ty) {
                    Ok(()) if !self.check_records(expr.span, ty, &value, diags) => None,
                    Ok(()) => Some(match (ty, value) {
                        (Type::Float | Type::PositiveFloat, Value::Int(i)) => {
                            Value::Float(i as f64)
                        }
                        (Type::HostPath, Value::String(path)) => {
                            Value::String(self.host_path(&path, expr.span, diags)?)
                        }
                        (_, v) => v,
                    }),
                    // Lowering warns about each floating image the landscape allows.
                    Err(Mismatch::Unpinned { .. }) if self.allow_floating_tags => Some(value),
                    Err(m) => {
                        self.mismatch(expr.span, ty, &value, m, diags);
                        None
                    }
                }
            }
        }
    }

    /// A host path written in a `.bom` file: relative to that file's folder,
    /// rebased onto the main file's folder (which the targets resolve from);
    /// it must exist.
    pub(super) fn host_path(
        &self,
        path: &str,
        span: Span,
        diags: &mut Diagnostics,
    ) -> Option<String> {
        let folder = |file: crate::source::FileId| {
            let path = self.program.sources.get(file).path.as_ref()?;
            Some(
                path.parent()
                    .unwrap_or(std::path::Path::new(""))
                    .to_path_buf(),
            )
        };
        let here = folder(span.file).unwrap_or_default();
        let main = self
            .program
            .main()
            .and_then(|m| folder(m.file))
            .unwrap_or_default();
        let full = crate::source::absolute(&here.join(path));
        if !full.exists() {
            diags.push(
                Diagnostic::new(
                    ErrorCode::HostPathMissing,
                    format!("`{path}` does not exist"),
                )
                .label(span, "not found")
                .help("host paths are relative to the `.bom` file that writes them; create it, or correct the path"),
            );
            return None;
        }
        if std::path::Path::new(path).is_absolute() {
            return Some(path.to_string());
        }
        let rebased = crate::source::relative(&full, &crate::source::absolute(&main));
        Some(if rebased.starts_with("..") || rebased == "." {
            rebased
        } else {
            format!("./{rebased}")
        })
    }

    fn eval_map(
        &mut self,
        block: &'p ast::Block,
        field_type: impl Fn(&str) -> Option<&'static Type>,
        schema: Option<&'static crate::check::Schema>,
        scope: ScopeId,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        // The entries in the order written, sorted into the map's tree at
        // once, and the keys seen by hash: a tree searched and grown entry
        // by entry, twice, cost 350 instructions an entry (3 % of `check`).
        let mut out: Vec<(String, Value)> = Vec::with_capacity(block.members.len());
        let mut first_spans: crate::IdMap<&str, Span> = crate::IdMap::default();
        first_spans.reserve(block.members.len());
        let mut ok = true;
        let mut size = 0;
        for member in &block.members {
            let Member::Assign(a) = member else {
                diags.push(super::misplaced(
                    member.span(),
                    "a declaration inside a map",
                    "a map holds `key = value` entries",
                ));
                ok = false;
                continue;
            };
            let [key] = a.path.as_slice() else {
                diags.push(super::misplaced(
                    a.span,
                    "a dotted key inside a map",
                    "write nested maps as blocks: `outer { inner = value }`; dotted paths are for environment overrides",
                ));
                ok = false;
                continue;
            };
            let Some(ty) = field_type(&key.node) else {
                ok = false;
                if diags.repeated(ErrorCode::UnknownSetting, key.span) {
                    continue;
                }
                let compose = schema
                    .filter(|s| std::ptr::eq(*s, &crate::check::schema::HEALTH))
                    .and_then(|_| super::instance::compose_health_key(&key.node));
                let help = match (compose, schema) {
                    (Some(help), _) => help,
                    (None, Some(s)) => did_you_mean(&key.node, s.names(), |all| {
                        format!("a {} takes {}", s.what, one_of(&all))
                    }),
                    (None, None) => String::from("remove it"),
                };
                diags.push(
                    Diagnostic::new(
                        ErrorCode::UnknownSetting,
                        format!("unknown setting `{}`", key.node),
                    )
                    .label(key.span, "unknown setting")
                    .help(help),
                );
                continue;
            };
            if let Some(first) = first_spans.get(key.node.as_str()) {
                diags.push(super::duplicate_setting(a, Some(*first)));
                ok = false;
                continue;
            }
            first_spans.insert(key.node.as_str(), key.span);
            if matches!(a.value.kind, ExprKind::Null) {
                out.push((key.node.clone(), Value::Null));
                continue;
            }
            match self.eval_typed(&a.value, ty, scope, diags) {
                Some(v) => {
                    size += key.node.len() + value_len(&v);
                    if size > MAX_STRING_LEN {
                        diags.push(self.too_large(
                            "map",
                            a.value.span,
                            format!("the map reaches {size} bytes here"),
                        ));
                        return None;
                    }
                    out.push((key.node.clone(), v));
                }
                None => ok = false,
            }
        }
        // Each key once (a second is refused above): the tree is built from
        // the sorted entries, with no search.
        ok.then(|| Value::Map(out.into_iter().collect()))
    }

    fn eval_leaf(
        &mut self,
        expr: &'p ast::Expr,
        scope: ScopeId,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        Some(match &expr.kind {
            ExprKind::Int(i) => Value::Int(*i),
            ExprKind::Float(f) => Value::Float(*f),
            ExprKind::Bool(b) => Value::Bool(*b),
            ExprKind::Null => Value::Null,
            ExprKind::Duration(d) => Value::Duration(*d),
            ExprKind::Size(s) => Value::Size(*s),
            ExprKind::Str(parts) => return self.eval_string(parts, scope, diags),
            ExprKind::Call { name, args } => return self.call(name, args, expr.span, scope, diags),
            ExprKind::Ref(path) => return self.resolve(path, scope, diags),
            ExprKind::List(_) | ExprKind::Map(_) => {
                return self.eval_typed(expr, &Type::Any, scope, diags);
            }
        })
    }

    fn eval_string(
        &mut self,
        parts: &'p [StrPart],
        scope: ScopeId,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        // Most strings are plain text: copied once, with no parts around it.
        if let [StrPart::Text(text)] = parts {
            return Some(Value::String(text.clone()));
        }
        let mut out: Vec<Part> = Vec::new();
        let mut ok = true;
        let push_text = |out: &mut Vec<Part>, s: &str| match out.last_mut() {
            Some(Part::Text(t)) => t.push_str(s),
            _ => out.push(Part::Text(s.to_string())),
        };
        for part in parts {
            match part {
                StrPart::Text(t) => push_text(&mut out, t),
                StrPart::Interp(path, span) => {
                    let Some(value) = self.resolve(path, scope, diags) else {
                        ok = false;
                        continue;
                    };
                    // Checked before the text is copied: a value that doubles
                    // at every step must stop here, not after exhausting memory.
                    let grown = template_len(&out) + value_len(&value);
                    if grown > MAX_STRING_LEN {
                        let reference = path.iter().map(|p| p.node.as_str()).collect::<Vec<_>>();
                        let label =
                            format!("adding `{}` makes it {grown} bytes", reference.join("."));
                        diags.push(self.too_large("string", *span, label));
                        return None;
                    }
                    match value {
                        Value::Host(h) => out.push(Part::Host(h)),
                        Value::Port(p) => out.push(Part::Port(p)),
                        Value::Template(inner) => {
                            for p in inner {
                                match p {
                                    Part::Text(t) => push_text(&mut out, &t),
                                    other => out.push(other),
                                }
                            }
                        }
                        Value::Secret(name) => {
                            diags.push(
                                Diagnostic::new(ErrorCode::SecretAsString, format!("secret `{name}` cannot be interpolated into a string"))
                                    .label(*span, "a secret")
                                    .help("a secret's value never becomes part of a string; pass it as a whole value, e.g. `DB_PASSWORD = db.password`, and let the program build the string"),
                            );
                            ok = false;
                        }
                        other => match scalar_text(&other) {
                            Some(text) => push_text(&mut out, &text),
                            None => {
                                let help = match &other {
                                    Value::Component(c) => format!("did you mean `${{{c}.host}}`?"),
                                    _ => String::from(
                                        "only strings, numbers, booleans, durations, host names and ports can be interpolated",
                                    ),
                                };
                                diags.push(
                                    Diagnostic::new(
                                        ErrorCode::NotInterpolable,
                                        format!(
                                            "{} cannot be interpolated into a string",
                                            other.describe()
                                        ),
                                    )
                                    .label(*span, other.describe())
                                    .help(help),
                                );
                                ok = false;
                            }
                        },
                    }
                }
            }
        }
        if !ok {
            return None;
        }
        if let [Part::Text(_)] = out.as_slice()
            && let Some(Part::Text(text)) = out.pop()
        {
            return Some(Value::String(text));
        }
        Some(if out.is_empty() {
            Value::String(String::new())
        } else {
            Value::Template(out)
        })
    }

    fn too_large(&self, what: &str, span: Span, label: String) -> Diagnostic {
        let owner = match (self.let_stack.last(), self.binding, self.evaluating.last()) {
            (Some(name), _, _) => format!("`let {name}`"),
            (None, Some(param), _) => format!("parameter `{param}`"),
            (None, None, Some((_, setting))) => format!("setting `{setting}`"),
            (None, None, None) => String::from("a value"),
        };
        Diagnostic::new(
            ErrorCode::ValueTooLarge,
            format!(
                "{owner}: this {what} grows past the limit of {MAX_STRING_LEN} bytes for an evaluated value"
            ),
        )
        .label(span, label)
        .help("a value built from another twice doubles at every step; build it from fewer, shorter parts")
    }

    fn call(
        &mut self,
        name: &Ident,
        args: &'p [ast::Expr],
        span: Span,
        scope: ScopeId,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        if name.node == "select" {
            return self.select(args, span, scope, diags);
        }
        if name.node == "merge" {
            return self.merge(name, args, span, &Type::Any, scope, diags);
        }
        if name.node != "secret" {
            let help = did_you_mean(&name.node, ["secret", "select", "merge"], |_| {
                String::from(
                    "the functions are `secret(\"name\")`, `select(key, { choice = value, … })` and `merge(map, map, …)`",
                )
            });
            diags.push(
                Diagnostic::new(
                    ErrorCode::UnknownFunction,
                    format!("unknown function `{}`", name.node),
                )
                .label(name.span, "not a function")
                .help(help),
            );
            return None;
        }
        let [arg] = args else {
            diags.push(
                Diagnostic::new(
                    ErrorCode::BadArguments,
                    format!("`secret` takes one argument, found {}", args.len()),
                )
                .label(span, "wrong number of arguments")
                .help("name the secret: `secret(\"messenger/db\")`"),
            );
            return None;
        };
        let value = self.eval_leaf(arg, scope, diags)?;
        let Value::String(secret) = value else {
            diags.push(
                Diagnostic::new(
                    ErrorCode::BadArguments,
                    format!(
                        "`secret` takes the secret's name as a string, found {}",
                        value.describe()
                    ),
                )
                .label(arg.span, "not a plain string")
                .help(
                    "name the secret with a string known at build time: `secret(\"messenger/db\")`",
                ),
            );
            return None;
        };
        if !valid_secret_name(&secret) {
            let what = if secret.is_empty() {
                String::from("an empty secret name")
            } else {
                format!("`{secret}`")
            };
            diags.push(
                Diagnostic::new(ErrorCode::InvalidSecretName, format!("{what} is not a valid secret name"))
                    .label(arg.span, "invalid name")
                    .help("secret names use letters, digits and `/_+=.@-`, e.g. `secret(\"messenger/db-password\")`"),
            );
            return None;
        }
        Some(Value::Secret(secret))
    }

    /// `select(key, { a = x, b = y })`: the value under `key` — how a blue/green
    /// switch picks the live colour from a parameter.
    fn select(
        &mut self,
        args: &'p [ast::Expr],
        span: Span,
        scope: ScopeId,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let [key, choices] = args else {
            diags.push(
                Diagnostic::new(ErrorCode::BadArguments, format!("`select` takes two arguments, found {}", args.len()))
                    .label(span, "wrong number of arguments")
                    .help("write `select(live, { blue = auth_blue.ports.http, green = auth_green.ports.http })`"),
            );
            return None;
        };
        let chosen = self.eval_leaf(key, scope, diags)?;
        let Value::String(chosen) = chosen else {
            diags.push(
                Diagnostic::new(
                    ErrorCode::BadArguments,
                    format!("`select` chooses by a string, found {}", chosen.describe()),
                )
                .label(key.span, "not a string")
                .help("pass a string parameter, e.g. `param live: string = \"blue\"`"),
            );
            return None;
        };
        let ExprKind::Map(_) = &choices.kind else {
            diags.push(
                Diagnostic::new(ErrorCode::BadArguments, "`select` needs a map of choices")
                    .label(choices.span, "not a `{ … }` map")
                    .help("write the choices as a map: `{ blue = …, green = … }`"),
            );
            return None;
        };
        let Value::Map(mut map) = self.eval_typed(choices, &Type::Any, scope, diags)? else {
            return None;
        };
        match map.remove(&chosen) {
            Some(v) => Some(v),
            None => {
                let help = did_you_mean(&chosen, map.keys().map(String::as_str), |all| {
                    format!("the choices are {}", one_of(&all))
                });
                diags.push(
                    Diagnostic::new(
                        ErrorCode::BadArguments,
                        format!("`{chosen}` is not one of the choices"),
                    )
                    .label(key.span, format!("is `{chosen}`"))
                    .help(help),
                );
                None
            }
        }
    }

    fn record_reference(&mut self, target: usize, attribute: String, span: Span) {
        let target = self.instances[target].name.clone();
        self.note_reference(target, attribute, span);
    }

    /// Resolves a dotted reference in `scope`.
    /// The value `path` names, a copy: counted against [`super::MAX_COPIED`].
    pub(super) fn resolve(
        &mut self,
        path: &'p [Ident],
        scope: ScopeId,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        if self.too_much_copied {
            // Reported once; every further copy would only cost time.
            return None;
        }
        let value = self.resolve_uncounted(path, scope, diags)?;
        self.copied += copy_cost(&value);
        if self.copied > super::MAX_COPIED {
            if !std::mem::replace(&mut self.too_much_copied, true) {
                let span = match (path.first(), path.last()) {
                    (Some(a), Some(b)) => a.span.to(b.span),
                    _ => return None,
                };
                diags.push(
                    Diagnostic::new(
                        ErrorCode::ValueTooLarge,
                        format!(
                            "references copy more than the limit of {} bytes of values in total",
                            super::MAX_COPIED
                        ),
                    )
                    .label(span, "this reference goes past the limit")
                    .help("each reference copies the value it names; reference a large value fewer times, or build it from fewer, shorter parts"),
                );
            }
            return None;
        }
        Some(value)
    }

    fn resolve_uncounted(
        &mut self,
        path: &'p [Ident],
        scope: ScopeId,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let (first, rest) = path.split_first()?;
        let name = first.node.as_str();
        let mut current = Some(scope);
        while let Some(s) = current {
            if let Some(i) = self.scopes[s.0].self_instance
                && self.instances[i].params.contains_key(name)
            {
                let v = self.field(i, name, first.span, diags)?;
                // A mistake reaching into a component parameter is also the
                // instance's: point at the component it gave.
                let given = match &v {
                    Value::Component(c) if !rest.is_empty() => {
                        self.instances[i].sources.get(name).map(|src| {
                            (
                                src.expr.span,
                                format!("`{}` gives `{name} = {c}` here", self.instances[i].name),
                            )
                        })
                    }
                    _ => None,
                };
                let before = diags.len();
                let value = self.index(v, first, rest, diags);
                if let Some((span, label)) = given {
                    diags.label_since(before, span, &label);
                }
                return value;
            }
            if let Some(v) = self.scopes[s.0].params.get(name) {
                let v = v.clone()?;
                return self.index(v, first, rest, diags);
            }
            if self.scopes[s.0].lets.contains_key(name) {
                let v = self.let_value(s, name, first.span, diags)?;
                return self.index(v, first, rest, diags);
            }
            if let Some((member, _)) = self.scopes[s.0].members.get(name).copied() {
                return self.member(member, first, rest, diags);
            }
            current = self.scopes[s.0].parent;
        }
        let module = self.scopes[scope.0].module;
        if let Some(id) = self.program.lookup(module, name) {
            let def = self.program.def(id);
            if def.kind == DefKind::Image && rest.is_empty() {
                self.image_ids.insert(name.to_string(), id);
                self.note_reference(name.to_string(), String::from("image"), first.span);
                return Some(Value::Image(name.to_string()));
            }
            diags.push(
                Diagnostic::new(ErrorCode::UnknownName, format!("`{name}` is a {}, not a value", def.kind.keyword()))
                    .label(first.span.to(path.last().map(|p| p.span).unwrap_or(first.span)), format!("a {}", def.kind.keyword()))
                    .help(match def.kind {
                        DefKind::Image => format!("an image is used whole: `build = {name}`"),
                        _ => format!("declare a component of it, e.g. `{name} my_{name} {{ ... }}`, and reference that"),
                    }),
            );
            return None;
        }
        self.unknown_name(first, scope, diags);
        None
    }

    fn unknown_name(&self, first: &Ident, scope: ScopeId, diags: &mut Diagnostics) {
        let mut visible: Vec<&str> = Vec::new();
        let mut current = Some(scope);
        while let Some(s) = current {
            let sc = &self.scopes[s.0];
            if let Some(i) = sc.self_instance {
                visible.extend(self.instances[i].params.keys().copied());
            }
            visible.extend(sc.params.keys().copied());
            visible.extend(sc.member_names());
            current = sc.parent;
        }
        let module = self.scopes[scope.0].module;
        visible.extend(
            self.program.modules[module.0]
                .scope
                .iter()
                .filter(|(_, id)| self.program.def(**id).kind == DefKind::Image)
                .map(|(n, _)| n.as_str()),
        );
        let help = did_you_mean(&first.node, visible.iter().copied(), |all| {
            if all.is_empty() {
                String::from("nothing is in scope here; quote text as a string: `\"...\"`")
            } else {
                format!(
                    "names in scope here: {}; quote text as a string",
                    one_of(&all)
                )
            }
        });
        diags.push(
            Diagnostic::new(
                ErrorCode::UnknownName,
                format!("unknown name `{}`", first.node),
            )
            .label(first.span, "not found in this scope")
            .help(help),
        );
    }

    /// Looks up keys inside a map value (`config.region`), and the attributes
    /// of a component held by a parameter or `let` (`store.host`). `prior` is
    /// the name before `rest`.
    fn index(
        &mut self,
        mut value: Value,
        prior: &'p Ident,
        rest: &'p [Ident],
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let mut prior = prior;
        for (at, key) in rest.iter().enumerate() {
            if let Value::Component(component) = &value {
                let component = component.clone();
                return self.component_attribute(&component, prior, &rest[at..], diags);
            }
            prior = key;
            let Value::Map(mut map) = value else {
                diags.push(
                    Diagnostic::new(
                        ErrorCode::UnknownAttribute,
                        format!("{} has no attribute `{}`", value.describe(), key.node),
                    )
                    .label(key.span, "no such attribute")
                    .help("only maps and components have attributes"),
                );
                return None;
            };
            let Some(next) = map.remove(&key.node).filter(|v| *v != Value::Null) else {
                let help = did_you_mean(&key.node, map.keys().map(String::as_str), |all| {
                    format!("the keys are {}", one_of(&all))
                });
                diags.push(
                    Diagnostic::new(
                        ErrorCode::UnknownAttribute,
                        format!("no key `{}` in this map", key.node),
                    )
                    .label(key.span, "no such key")
                    .help(help),
                );
                return None;
            };
            value = next;
        }
        Some(value)
    }

    pub(super) fn member(
        &mut self,
        member: ScopeMember,
        first: &Ident,
        rest: &'p [Ident],
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        match member {
            ScopeMember::Poisoned => None,
            ScopeMember::Include(s) => {
                let Some((next, tail)) = rest.split_first() else {
                    diags.push(
                        Diagnostic::new(
                            ErrorCode::UnknownAttribute,
                            format!("`{}` is an included landscape", first.node),
                        )
                        .label(first.span, "a landscape, not a value")
                        .help(format!(
                            "reference a component inside it: `{}.COMPONENT.host`",
                            first.node
                        )),
                    );
                    return None;
                };
                match self.scopes[s.0].members.get(next.node.as_str()).copied() {
                    Some((m, _)) => self.member(m, next, tail, diags),
                    None => {
                        let names = self.scopes[s.0].member_names();
                        let help = did_you_mean(&next.node, names.iter().copied(), |all| {
                            format!("`{}` has {}", first.node, one_of(&all))
                        });
                        diags.push(
                            Diagnostic::new(
                                ErrorCode::UnknownAttribute,
                                format!("`{}` has no component `{}`", first.node, next.node),
                            )
                            .label(next.span, "no such component")
                            .help(help),
                        );
                        None
                    }
                }
            }
            ScopeMember::Component(i) => {
                let Some((attr, tail)) = rest.split_first() else {
                    self.record_reference(i, String::from("component"), first.span);
                    return Some(Value::Component(self.instances[i].name.clone()));
                };
                let span = first.span.to(attr.span);
                match attr.node.as_str() {
                    "host" => {
                        self.record_reference(i, String::from("host"), span);
                        let v = Value::Host(self.instances[i].name.clone());
                        self.index(v, attr, tail, diags)
                    }
                    "name" => {
                        let name = self.instances[i].name.clone();
                        // A bucket's name is the one its target gives it
                        // (S3 names are global), so it stays symbolic.
                        let managed = self.field(i, "managed", span, diags);
                        let v = if managed.as_ref().and_then(Value::as_str) == Some("s3") {
                            self.record_reference(i, String::from("name"), span);
                            Value::Template(vec![Part::BucketName(name)])
                        } else {
                            Value::String(name)
                        };
                        self.index(v, attr, tail, diags)
                    }
                    "url" => {
                        self.record_reference(i, String::from("url"), span);
                        let v = Value::Template(vec![Part::Url(self.instances[i].name.clone())]);
                        self.index(v, attr, tail, diags)
                    }
                    "ports" => {
                        let Some((port, tail)) = tail.split_first() else {
                            self.record_reference(i, String::from("ports"), span);
                            return self.field(i, "ports", span, diags);
                        };
                        let span = first.span.to(port.span);
                        // Read where the instance keeps it, not copied out.
                        let ports = self
                            .evaluated(i, "ports", span, diags)
                            .and_then(|key| self.instances[i].state.value(key))
                            .and_then(Value::as_map);
                        let number = ports
                            .and_then(|m| m.get(&port.node))
                            .and_then(crate::model::port_spec)
                            .map(|(n, _)| n);
                        let Some(number) = number else {
                            let names: Vec<&str> = ports
                                .map(|m| m.keys().map(String::as_str).collect())
                                .unwrap_or_default();
                            let inst = &self.instances[i].name;
                            let help = did_you_mean(&port.node, names.iter().copied(), |all| {
                                if all.is_empty() {
                                    format!(
                                        "`{inst}` exposes no ports; declare one with `ports {{ {} = 8080 }}`",
                                        port.node
                                    )
                                } else {
                                    format!("`{inst}` exposes {}", one_of(&all))
                                }
                            });
                            diags.push(
                                Diagnostic::new(
                                    ErrorCode::PortNotExposed,
                                    format!(
                                        "`{inst}` does not expose a port named `{}`",
                                        port.node
                                    ),
                                )
                                .label(port.span, "no such port")
                                .help(help),
                            );
                            return None;
                        };
                        self.record_reference(i, format!("ports.{}", port.node), span);
                        let v = Value::Port(Box::new(PortRef {
                            component: self.instances[i].name.clone(),
                            port: port.node.clone(),
                            number: u16::try_from(number).unwrap_or(0),
                        }));
                        self.index(v, port, tail, diags)
                    }
                    other => {
                        if self.instances[i].field_type(other).is_none() {
                            let mut names = vec!["host", "name", "ports", "url"];
                            names.extend(self.instances[i].setting_names());
                            let inst = &self.instances[i].name;
                            let help = did_you_mean(other, names.iter().copied(), |_| {
                                format!(
                                    "a component has `host`, `name`, `url`, `ports.NAME` and its settings; `{inst}` has no `{other}`"
                                )
                            });
                            diags.push(
                                Diagnostic::new(
                                    ErrorCode::UnknownAttribute,
                                    format!("`{inst}` has no attribute `{other}`"),
                                )
                                .label(attr.span, "unknown attribute")
                                .help(help),
                            );
                            return None;
                        }
                        self.record_reference(i, other.to_string(), span);
                        let v = self.field(i, other, span, diags);
                        let Some(v) = v else {
                            if !self.instances[i].state.contains_key(other)
                                || matches!(
                                    self.instances[i].state.get(other),
                                    Some(super::instance::FieldState::Done(None))
                                )
                            {
                                let inst = &self.instances[i].name;
                                if !self.instances[i].sources.contains_key(other)
                                    && self.instances[i]
                                        .params
                                        .get(other)
                                        .is_none_or(|(p, _)| p.default.is_none())
                                {
                                    diags.push(
                                        Diagnostic::new(
                                            ErrorCode::MissingSetting,
                                            format!("`{inst}.{other}` is not set"),
                                        )
                                        .label(span, "read here")
                                        .help(format!(
                                            "set `{other}` on `{inst}` before reading it"
                                        )),
                                    );
                                }
                            }
                            return None;
                        };
                        self.index(v, attr, tail, diags)
                    }
                }
            }
        }
    }
}

/// The largest value (in bytes of text, counting each other scalar as one)
/// an expression may evaluate to: far above any real setting, far below what
/// exhausts memory.
pub const MAX_STRING_LEN: usize = 1 << 20;

fn template_len(parts: &[Part]) -> usize {
    parts
        .iter()
        .map(|p| match p {
            Part::Text(t) => t.len(),
            _ => 1,
        })
        .sum()
}

/// What copying a value costs, roughly in bytes of memory: a map or list
/// costs its allocation as well as its entries (a map of one entry is a
/// B-tree node of several hundred bytes), so that [`super::MAX_COPIED`] bounds
/// the time copies take, not only the text they hold.
fn copy_cost(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len() + 24,
        Value::Template(parts) => template_len(parts) + 24 * parts.len() + 24,
        Value::List(items) => items.iter().map(copy_cost).sum::<usize>() + 64,
        Value::Map(entries) => {
            entries
                .iter()
                .map(|(k, v)| k.len() + 24 + copy_cost(v))
                .sum::<usize>()
                + 512
        }
        _ => 16,
    }
}

/// Values are built under [`MAX_STRING_LEN`], so walking one is bounded.
fn value_len(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        Value::Template(parts) => template_len(parts),
        Value::List(items) => items.iter().map(value_len).sum::<usize>() + 1,
        Value::Map(entries) => {
            entries
                .iter()
                .map(|(k, v)| k.len() + value_len(v))
                .sum::<usize>()
                + 1
        }
        _ => 1,
    }
}
