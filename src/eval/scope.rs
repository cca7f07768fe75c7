//! Scopes: what a bare name means where an expression is evaluated.

use crate::model::{Reference, Value};
use crate::resolve::ModuleId;
use crate::source::Span;
use crate::syntax::ast;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScopeId(pub usize);

/// A named member of a landscape scope.
#[derive(Clone, Copy, Debug)]
pub enum ScopeMember {
    /// A component instance (index into the evaluator's instances).
    Component(usize),
    /// An included landscape, with its own scope.
    Include(ScopeId),
    /// A component whose declaration was wrong (already reported): references
    /// to it stay silent instead of cascading into more errors.
    Poisoned,
}

/// A `let` of a landscape or kind, evaluated on first use.
#[derive(Debug)]
pub struct LetSlot<'p> {
    pub decl: &'p ast::Let,
    pub state: LetState,
}

#[derive(Clone, Debug)]
pub enum LetState {
    Pending,
    InProgress,
    /// The value (`None`: an error, already reported) and the references its
    /// expression made, replayed into every setting that uses it.
    Done(Option<Value>, Vec<Reference>),
}

/// Names are looked up in `self_instance`'s parameters (kind bodies), then in
/// `params`, `lets` and `members` along the `parent` chain, then among the
/// definitions visible in `module`.
#[derive(Debug)]
pub struct Scope<'p> {
    pub module: ModuleId,
    pub parent: Option<ScopeId>,
    /// `None` marks a parameter whose value could not be evaluated (already reported).
    pub params: BTreeMap<&'p str, Option<Value>>,
    pub lets: BTreeMap<&'p str, LetSlot<'p>>,
    /// By hash: a landscape's scope holds every component, looked up by
    /// name at each reference; [`Scope::member_names`] gives them in order.
    pub members: crate::IdMap<&'p str, (ScopeMember, Span)>,
    pub self_instance: Option<usize>,
    /// Prefix of the full names of components declared in this scope.
    pub prefix: String,
}

impl<'p> Scope<'p> {
    /// The names of the members, in order (for suggestions).
    pub fn member_names(&self) -> Vec<&'p str> {
        let mut names: Vec<&'p str> = self.members.keys().copied().collect();
        names.sort_unstable();
        names
    }

    pub fn new(module: ModuleId, parent: Option<ScopeId>) -> Self {
        Scope {
            module,
            parent,
            params: BTreeMap::new(),
            lets: BTreeMap::new(),
            members: crate::IdMap::default(),
            self_instance: None,
            prefix: String::new(),
        }
    }
}
