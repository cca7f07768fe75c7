//! Build to memory: evaluate, lower and emit every target, on arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| bomc_fuzz_build(text));

fn bomc_fuzz_build(text: &str) {
    let mut diags = bomc::diag::Diagnostics::default();
    let program = bomc::resolve::load_text("fuzz.bom", text.to_string(), &mut diags);
    if !diags.is_empty() {
        return;
    }
    let settings = bomc::BuildSettings {
        source: "fuzz.bom",
        source_dir: std::path::Path::new("."),
        now: 1_800_000_000,
        out: std::path::Path::new("out"),
    };
    let options = bomc::eval::Options::default();
    if let Some(plan) = bomc::compile(&program, &options, &settings, &mut |_, _| 20000, &mut diags)
    {
        let targets = [
            bomc::emit::Target::Compose,
            bomc::emit::Target::Cloudformation,
            bomc::emit::Target::Dockerfile,
        ];
        let _ = bomc::build(&plan, &targets, &bomc::emit::EmitOptions::default());
    }
}
