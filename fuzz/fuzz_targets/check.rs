//! The whole check pipeline (resolve, evaluate, check every environment) on
//! arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = bomc::check_text(
        "fuzz.bom",
        text.to_string(),
        &bomc::eval::Options::default(),
    );
});
