//! Reuse: `let` named values, `merge(a, b, …)`, and `null` removing a key.
//!
//! A `let` is evaluated once, on first use, in the scope that declares it.
//! The references its expression makes (`db.host`) belong to every setting
//! that uses it, so they are recorded while it is evaluated and replayed at
//! each use; that keeps the graph's edges (access, start order, impact) the
//! same as if the expression were written out in each place.

use super::Evaluator;
use super::scope::{LetSlot, LetState, ScopeId, ScopeMember};
use crate::check::{Type, conform};
use crate::diag::{Diagnostic, Diagnostics, ErrorCode, did_you_mean, one_of};
use crate::model::{self, Value};
use crate::source::Span;
use crate::syntax::ast::{self, Ident};
use std::collections::BTreeMap;

/// Removes the `null` entries a merge left, at every depth: what reaches the
/// model never holds `null`.
pub(super) fn strip_nulls(value: Value) -> Option<Value> {
    match value {
        Value::Null => None,
        mut other => {
            strip_nulls_inside(&mut other);
            Some(other)
        }
    }
}

/// [`strip_nulls`] in place: most values hold no `null`, and rebuilding
/// every map of every setting to find out cost a percent of `check`.
fn strip_nulls_inside(value: &mut Value) {
    match value {
        Value::Map(map) => {
            map.retain(|_, v| !matches!(v, Value::Null));
            map.values_mut().for_each(strip_nulls_inside);
        }
        Value::List(items) => {
            items.retain(|v| !matches!(v, Value::Null));
            items.iter_mut().for_each(strip_nulls_inside);
        }
        _ => {}
    }
}

/// Lays `layer` over `base`, key by key: `layer` wins, a `null` in it stays
/// (it removes the key once the setting's value is complete). Shallow: a
/// nested map in `layer` replaces the one in `base`.
pub(super) fn lay_over(base: &mut BTreeMap<String, Value>, layer: BTreeMap<String, Value>) {
    base.extend(layer);
}

impl<'p> Evaluator<'p> {
    /// Declares the `let`s of `block` in `scope`. A name given twice, or
    /// already a parameter of the block, is E0216.
    pub(super) fn declare_lets(
        &mut self,
        block: &'p ast::Block,
        scope: ScopeId,
        diags: &mut Diagnostics,
    ) {
        for decl in block.lets() {
            let name = decl.name.node.as_str();
            let first = self.scopes[scope.0]
                .lets
                .get(name)
                .map(|slot| (slot.decl.name.span, "a `let`"))
                .or_else(|| {
                    block
                        .params()
                        .find(|p| p.name.node == name)
                        .map(|p| (p.name.span, "a parameter"))
                });
            if let Some((first, what)) = first {
                diags.push(
                    Diagnostic::new(
                        ErrorCode::LetClash,
                        format!("`{name}` is already {what} here"),
                    )
                    .label(decl.name.span, "declared again as a `let`")
                    .label(first, "first declared here")
                    .help("a `let` needs a name of its own among the parameters and `let`s beside it; rename one of them"),
                );
                continue;
            }
            self.scopes[scope.0].lets.insert(
                name,
                LetSlot {
                    decl,
                    state: LetState::Pending,
                },
            );
        }
    }

    /// A `let` that has the name of a component beside it is E0216: a
    /// reference to the name could mean either.
    fn check_let_shadowing(&self, scope: ScopeId, diags: &mut Diagnostics) {
        let sc = &self.scopes[scope.0];
        for (name, slot) in &sc.lets {
            if let Some((member, span)) = sc.members.get(name)
                && !matches!(member, ScopeMember::Poisoned)
            {
                diags.push(
                    Diagnostic::new(
                        ErrorCode::LetClash,
                        format!("`{name}` is both a `let` and a component"),
                    )
                    .label(slot.decl.name.span, "a `let`")
                    .label(*span, "a component")
                    .help(format!(
                        "rename the `let`: `{name}.host` must name one thing"
                    )),
                );
            }
        }
    }

    /// The value of `let name` of `scope`, evaluated on first use.
    pub(super) fn let_value(
        &mut self,
        scope: ScopeId,
        name: &str,
        at: Span,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        let (decl, state) = {
            let slot = self.scopes[scope.0].lets.get(name)?;
            (slot.decl, slot.state.clone())
        };
        match state {
            LetState::Done(value, references) => {
                for r in references {
                    self.note_reference(r.target, r.attribute, r.span);
                }
                value
            }
            LetState::InProgress => {
                let start = self.let_stack.iter().position(|n| n == name).unwrap_or(0);
                let mut circle: Vec<&str> =
                    self.let_stack[start..].iter().map(String::as_str).collect();
                circle.push(name);
                diags.push(
                    Diagnostic::new(
                        ErrorCode::CircularDefinition,
                        format!(
                            "`let {name}` is defined in terms of itself: {}",
                            circle.join(" → ")
                        ),
                    )
                    .label(at, "this use needs the value being computed")
                    .label(decl.name.span, "declared here")
                    .help("break the circle: one of these `let`s must not use the others"),
                );
                None
            }
            LetState::Pending => {
                if self.chain_is_full() {
                    self.chain_too_long(name, at, diags);
                    return None;
                }
                self.set_let_state(scope, decl, LetState::InProgress);
                self.let_stack.push(name.to_string());
                self.capturing.push((self.evaluating.len(), Vec::new()));
                let value = self.eval_typed(&decl.value, &Type::Any, scope, diags);
                let references = self.capturing.pop().map(|(_, r)| r).unwrap_or_default();
                self.let_stack.pop();
                self.set_let_state(
                    scope,
                    decl,
                    LetState::Done(value.clone(), references.clone()),
                );
                for r in references {
                    self.note_reference(r.target, r.attribute, r.span);
                }
                value
            }
        }
    }

    fn set_let_state(&mut self, scope: ScopeId, decl: &'p ast::Let, state: LetState) {
        if let Some(slot) = self.scopes[scope.0].lets.get_mut(decl.name.node.as_str()) {
            slot.state = state;
        }
    }

    /// Reports `let`s named like a component beside them, and evaluates
    /// every `let` not used yet, so that a mistake in one is reported even if
    /// nothing uses it.
    /// Whether a `let` waits to be evaluated by [`Evaluator::finish_lets`]:
    /// until then a component's setting may still be read.
    pub(super) fn lets_pending(&self) -> bool {
        self.scopes.iter().any(|scope| {
            scope
                .lets
                .values()
                .any(|slot| matches!(slot.state, LetState::Pending))
        })
    }

    pub(super) fn finish_lets(&mut self, diags: &mut Diagnostics) {
        for s in 0..self.scopes.len() {
            self.check_let_shadowing(ScopeId(s), diags);
        }
        for s in 0..self.scopes.len() {
            let names: Vec<(&'p str, Span)> = self.scopes[s]
                .lets
                .iter()
                .filter(|(_, slot)| matches!(slot.state, LetState::Pending))
                .map(|(n, slot)| (*n, slot.decl.name.span))
                .collect();
            for (name, span) in names {
                self.let_value(ScopeId(s), name, span, diags);
            }
        }
    }

    /// Records that the setting being evaluated reads `attribute` of `target`
    /// (or, while a `let` is evaluated, that the `let` does).
    pub(super) fn note_reference(&mut self, target: String, attribute: String, span: Span) {
        let depth = self.evaluating.len();
        if let Some((at, captured)) = self.capturing.last_mut()
            && *at == depth
        {
            captured.push(model::Reference {
                target,
                attribute,
                setting: String::new(),
                span,
            });
            return;
        }
        let Some(&(from, setting)) = self.evaluating.last() else {
            return;
        };
        self.instances[from].references.push(model::Reference {
            target,
            attribute,
            setting: setting.to_string(),
            span,
        });
    }

    /// `merge(a, b, …)`: maps laid over each other from left to right, later
    /// keys winning; each argument is checked against `ty` where it is written.
    pub(super) fn merge(
        &mut self,
        name: &Ident,
        args: &'p [ast::Expr],
        span: Span,
        ty: &'static Type,
        scope: ScopeId,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        if args.is_empty() {
            diags.push(
                Diagnostic::new(ErrorCode::BadArguments, "`merge` needs at least one map")
                    .label(span, "nothing to merge")
                    .help("write `merge(shared, { KEY = value })`: maps, later keys winning"),
            );
            return None;
        }
        let arg_type = match ty {
            Type::Map(_) | Type::Record(_) | Type::Any => ty,
            _ => {
                diags.push(
                    Diagnostic::new(
                        ErrorCode::TypeMismatch,
                        format!("expected {}, found a map", ty.describe()),
                    )
                    .label(name.span.to(span), "`merge` makes a map")
                    .help(format!("this setting takes {}", ty.describe())),
                );
                return None;
            }
        };
        let mut out = BTreeMap::new();
        let mut ok = true;
        for arg in args {
            match self.eval_typed(arg, arg_type, scope, diags) {
                Some(Value::Map(layer)) => lay_over(&mut out, layer),
                Some(other) => {
                    diags.push(
                        Diagnostic::new(
                            ErrorCode::BadArguments,
                            format!("`merge` takes maps, found {}", other.describe()),
                        )
                        .label(arg.span, "not a map")
                        .help("pass maps: `{ KEY = value }` blocks, or `let`s and parameters holding maps"),
                    );
                    ok = false;
                }
                None => ok = false,
            }
        }
        ok.then_some(Value::Map(out))
    }

    /// Checks the blocks inside a value that was not written where it is used
    /// (a `let`, a parameter, a `merge`): `conform` takes any map for a block,
    /// since blocks written in place are checked key by key as they are
    /// evaluated. Reported at `span`, where the value is used.
    pub(super) fn check_records(
        &mut self,
        span: Span,
        ty: &'static Type,
        value: &Value,
        diags: &mut Diagnostics,
    ) -> bool {
        match (ty, value) {
            (Type::Record(schema), Value::Map(map)) => {
                let mut ok = true;
                for (key, v) in map {
                    if *v == Value::Null {
                        continue;
                    }
                    let Some(field) = schema.field(key) else {
                        let help = did_you_mean(key, schema.names(), |all| {
                            format!("a {} takes {}", schema.what, one_of(&all))
                        });
                        diags.push(
                            Diagnostic::new(
                                ErrorCode::UnknownSetting,
                                format!("unknown setting `{key}` in this {}", schema.what),
                            )
                            .label(span, format!("holds `{key}`"))
                            .help(help),
                        );
                        ok = false;
                        continue;
                    };
                    match conform(v, &field.ty) {
                        Ok(()) => ok &= self.check_records(span, &field.ty, v, diags),
                        Err(m) => {
                            self.mismatch(span, &field.ty, v, m, diags);
                            ok = false;
                        }
                    }
                }
                ok
            }
            (Type::Map(t), Value::Map(map)) => {
                let mut ok = true;
                for v in map.values().filter(|v| **v != Value::Null) {
                    ok &= self.check_records(span, t, v, diags);
                }
                ok
            }
            (Type::List(t), Value::List(items)) => {
                let mut ok = true;
                for v in items {
                    ok &= self.check_records(span, t, v, diags);
                }
                ok
            }
            _ => true,
        }
    }

    /// `store.host` where `store` holds a component (a kind's
    /// `param store: component`, or a `let`): the component's attribute, with
    /// the edge recorded as for a direct reference.
    pub(super) fn component_attribute(
        &mut self,
        component: &str,
        first: &'p Ident,
        rest: &'p [Ident],
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        if let Some(i) = self.instances.iter().position(|x| x.name == component) {
            return self.member(ScopeMember::Component(i), first, rest, diags);
        }
        // Checking a kind on its own: its component parameters hold placeholders.
        let (attr, tail) = rest.split_first()?;
        let placeholder = match attr.node.as_str() {
            "host" => Value::Host(component.to_string()),
            "url" => Value::Template(vec![model::Part::Url(component.to_string())]),
            "ports" => match tail.first() {
                Some(port) => Value::Port(Box::new(model::PortRef {
                    component: component.to_string(),
                    port: port.node.clone(),
                    number: 1,
                })),
                None => Value::Map(BTreeMap::new()),
            },
            _ => Value::String(format!("{component}.{}", attr.node)),
        };
        Some(placeholder)
    }
}

#[cfg(test)]
mod tests {
    use super::strip_nulls;
    use crate::model::Value;
    use std::collections::BTreeMap;

    /// `null` goes at every depth, in maps and in lists; empty maps and lists
    /// stay, and so does everything else.
    #[test]
    fn nulls_go_at_every_depth() {
        let map = |entries: Vec<(&str, Value)>| {
            Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect::<BTreeMap<_, _>>(),
            )
        };
        let written = map(vec![
            ("a", Value::Null),
            ("b", Value::Int(1)),
            (
                "c",
                map(vec![
                    ("d", Value::Null),
                    (
                        "e",
                        Value::List(vec![Value::Null, map(vec![("f", Value::Null)])]),
                    ),
                ]),
            ),
            ("g", Value::List(vec![])),
        ]);
        let expected = map(vec![
            ("b", Value::Int(1)),
            ("c", map(vec![("e", Value::List(vec![map(vec![])]))])),
            ("g", Value::List(vec![])),
        ]);
        assert_eq!(strip_nulls(written), Some(expected));
        assert_eq!(strip_nulls(Value::Null), None);
        assert_eq!(strip_nulls(Value::Bool(false)), Some(Value::Bool(false)));
    }
}
