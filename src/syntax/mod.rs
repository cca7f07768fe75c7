//! Syntax: the pest grammar (`grammar/bom.pest`) and its translation into the
//! spanned AST of [`ast`].

pub mod ast;
mod parser;

pub use parser::parse;
