//! The stdlib modules embedded at build time (see `build.rs`).

include!(concat!(env!("OUT_DIR"), "/stdlib.rs"));

/// The source of the stdlib module `name`, if there is one.
pub fn module(name: &str) -> Option<&'static str> {
    STDLIB
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// The names of all stdlib modules, for suggestions.
pub fn names() -> impl Iterator<Item = &'static str> + Clone {
    STDLIB.iter().map(|(n, _)| *n)
}
