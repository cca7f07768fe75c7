//! The abstract syntax tree of one `.bom` file. No pest type leaves `syntax/`;
//! every node carries the span it was parsed from.

use crate::source::{Span, Spanned};

pub type Ident = Spanned<String>;

/// A parsed file: its imports and top-level definitions, in source order.
#[derive(Clone, Debug, Default)]
pub struct File {
    pub imports: Vec<Import>,
    pub definitions: Vec<Definition>,
}

#[derive(Clone, Debug)]
pub struct Import {
    /// The module as written: `"postgres"` (stdlib) or `"./org.bom"` (relative file).
    pub target: Spanned<String>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DefKind {
    Landscape,
    Kind,
    Image,
    Environment,
}

impl DefKind {
    pub fn keyword(self) -> &'static str {
        match self {
            DefKind::Landscape => "landscape",
            DefKind::Kind => "kind",
            DefKind::Image => "image",
            DefKind::Environment => "environment",
        }
    }
}

/// `landscape NAME { ... }`, `kind NAME { ... }`, `image NAME { ... }`,
/// `environment NAME { ... }`.
#[derive(Clone, Debug)]
pub struct Definition {
    pub docs: Vec<String>,
    pub kind: DefKind,
    pub name: Ident,
    pub body: Block,
    pub span: Span,
}

/// `{ member* }`: the body of every definition, component and nested map.
#[derive(Clone, Debug, Default)]
pub struct Block {
    pub members: Vec<Member>,
    pub span: Span,
}

impl Block {
    /// The `param` declarations of the block, in order.
    pub fn params(&self) -> impl Iterator<Item = &Param> {
        self.members.iter().filter_map(|m| match m {
            Member::Param(p) => Some(p),
            _ => None,
        })
    }

    /// The `let` declarations of the block, in order.
    pub fn lets(&self) -> impl Iterator<Item = &Let> {
        self.members.iter().filter_map(|m| match m {
            Member::Let(l) => Some(l),
            _ => None,
        })
    }
}

#[derive(Clone, Debug)]
pub enum Member {
    Param(Param),
    /// `let NAME = EXPR`: a named value of a landscape or kind.
    Let(Let),
    Component(Component),
    /// `key = expr`, `a.b.c = expr`, or the block form `key { ... }`.
    Assign(Assign),
}

impl Member {
    pub fn span(&self) -> Span {
        match self {
            Member::Param(p) => p.span,
            Member::Let(l) => l.span,
            Member::Component(c) => c.span,
            Member::Assign(a) => a.span,
        }
    }
}

/// `param NAME: TYPE = DEFAULT`
#[derive(Clone, Debug)]
pub struct Param {
    pub docs: Vec<String>,
    pub name: Ident,
    pub ty: Spanned<TypeExpr>,
    pub default: Option<Expr>,
    pub span: Span,
}

/// `let NAME = EXPR`
#[derive(Clone, Debug)]
pub struct Let {
    pub docs: Vec<String>,
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TypeExpr {
    pub name: String,
    pub arg: Option<Box<Spanned<TypeExpr>>>,
}

/// `KIND NAME { ... }`: an instance of a component kind (or of a landscape).
#[derive(Clone, Debug)]
pub struct Component {
    pub docs: Vec<String>,
    pub kind: Ident,
    pub name: Ident,
    pub body: Block,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Assign {
    pub docs: Vec<String>,
    pub path: Vec<Ident>,
    pub value: Expr,
    pub span: Span,
}

impl Assign {
    pub fn path_text(&self) -> String {
        self.path
            .iter()
            .map(|k| k.node.as_str())
            .collect::<Vec<_>>()
            .join(".")
    }
}

#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    Str(Vec<StrPart>),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// `null`: removes a key from a map.
    Null,
    /// Milliseconds.
    Duration(u64),
    /// Bytes.
    Size(u64),
    List(Vec<Expr>),
    Map(Block),
    Call {
        name: Ident,
        args: Vec<Expr>,
    },
    /// `a.b.c`
    Ref(Vec<Ident>),
}

#[derive(Clone, Debug)]
pub enum StrPart {
    Text(String),
    Interp(Vec<Ident>, Span),
}
