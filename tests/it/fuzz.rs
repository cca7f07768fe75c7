//! Parsing and checking never panic: thousands of mutations of the examples
//! and stdlib modules go through the checker, which must answer with
//! diagnostics or success. Mutations are seeded, so a failure reproduces.

use crate::root;
use bomc::eval::Options;

/// xorshift64*: small, seeded, reproducible.
pub struct Rng(pub u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "\"",
    "${",
    "}",
    "=",
    ",",
    ".",
    "\\",
    "\n",
    "param x: int\n",
    "secret(",
    "secret(\"a\")",
    "-1",
    "0",
    "99999999999999999999999",
    "70000",
    "2s",
    "0s",
    "1.5",
    "512MiB",
    "true",
    "import \"redis\"\n",
    "import \"./nope.bom\"\n",
    "service s { image = \"x:1\" }\n",
    "ports.http",
    ".host",
    "db.",
    "landscape l {",
    "environment e {",
    "kind k {",
    "image i {",
    "é",
    "→",
    "\u{0}",
    "///",
    "//",
    "/*",
    "*/",
    "list<",
    "map<string>",
    "x.y.z = 1\n",
    "ttl = 1h\n",
];

fn char_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

pub fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut out = text.to_string();
    for _ in 0..=rng.below(3) {
        let at = char_boundary(&out, rng.below(out.len() + 1));
        match rng.below(6) {
            0 => {
                let end = char_boundary(&out, at + rng.below(40));
                out.replace_range(at..end, "");
            }
            1 | 2 => out.insert_str(at, TOKENS[rng.below(TOKENS.len())]),
            3 => {
                let lines: Vec<&str> = out.lines().collect();
                let i = rng.below(lines.len());
                let j = rng.below(lines.len());
                let mut lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                if i < lines.len() && j < lines.len() {
                    lines.swap(i, j);
                }
                out = lines.join("\n");
            }
            4 => {
                let lines: Vec<&str> = out.lines().collect();
                let i = rng.below(lines.len());
                if let Some(line) = lines.get(i) {
                    let line = format!("{line}\n");
                    out.insert_str(at, &line);
                }
            }
            _ => out.truncate(at),
        }
    }
    out
}

#[test]
fn mutated_inputs_never_panic() {
    let mut inputs = Vec::new();
    for dir in ["examples", "stdlib"] {
        for path in crate::bom_files(&root().join(dir)) {
            let text = std::fs::read_to_string(&path).expect("readable");
            inputs.push((path.display().to_string(), text));
        }
    }
    assert!(inputs.len() >= 10);
    let iterations: usize = std::env::var("BOMC_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000);
    let mut rng = Rng(0x5EED_B0C0_u64);
    let mut with_errors = 0;
    for n in 0..iterations {
        let (name, text) = &inputs[n % inputs.len()];
        let mutated = mutate(text, &mut rng);
        let options = Options::default();
        let result = std::panic::catch_unwind(|| bomc::check_text(name, mutated.clone(), &options));
        match result {
            Ok(checked) => {
                if !checked.diagnostics.is_empty() {
                    with_errors += 1;
                    // Rendering is part of the path a user sees.
                    let _ = bomc::diag::render_human(
                        &checked.diagnostics,
                        &checked.program.sources,
                        false,
                    );
                    let _ = bomc::diag::render_json(&checked.diagnostics, &checked.program.sources);
                }
            }
            Err(_) => panic!("bomc panicked on mutation {n} of {name}:\n{mutated}"),
        }
    }
    // The mutations must actually exercise error paths.
    assert!(
        with_errors > iterations / 4,
        "only {with_errors} of {iterations} mutations had errors"
    );
}
