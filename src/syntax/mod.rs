//! Syntax: the pest grammar (`grammar/bom.pest`), its translation into the
//! spanned AST of [`ast`], and the layout tree of [`tree`] for tools that
//! rewrite text.

pub mod ast;
mod halves;
mod parser;
pub mod tree;

pub use parser::parse;
pub use tree::parse_tree;
