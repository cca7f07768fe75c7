//! The parser on arbitrary text: a diagnostic or a file, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let mut diags = bomc::diag::Diagnostics::default();
    let _ = bomc::syntax::parse(bomc::source::FileId(0), text, &mut diags);
    let _ = bomc::syntax::parse_tree(bomc::source::FileId(0), text);
});
