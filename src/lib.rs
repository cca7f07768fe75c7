//! bomc: a compiler for bills of materials.

pub mod diag;
pub mod source;
pub mod syntax;
