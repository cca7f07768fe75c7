//! Syntax: the pest grammar (`grammar/bom.pest`), its translation into the
//! spanned AST of [`ast`], a reader that builds the same AST without pest
//! for well-formed files (`fast`), and the layout tree of [`tree`] for tools
//! that rewrite text.

pub mod ast;
mod fast;
mod nesting;
mod parser;
pub mod tree;

pub use parser::parse;
pub use tree::parse_tree;
