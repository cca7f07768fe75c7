//! Structure-aware: `arbitrary` builds landscapes that parse, so the fuzzer
//! spends its time in evaluation, lowering and the emitters rather than on
//! syntax errors.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use std::fmt::Write as _;

#[derive(Arbitrary, Debug)]
struct Landscape {
    params: Vec<(u8, Text)>,
    components: Vec<Component>,
    environment: Option<Vec<(u8, Text)>>,
}

#[derive(Arbitrary, Debug)]
enum Kind {
    Service,
    Postgres,
    Redis,
    LoadBalancer,
}

#[derive(Arbitrary, Debug)]
struct Component {
    kind: Kind,
    image: Text,
    port: Option<u16>,
    env: Vec<(u8, Value)>,
    labels: Vec<(u8, Text)>,
    command: Vec<Text>,
    replicas: Option<u8>,
    public: bool,
}

#[derive(Arbitrary, Debug)]
enum Value {
    Text(Text),
    Param(u8),
    Host(u8),
    Secret(Text),
    Int(i64),
}

/// A string literal's content: arbitrary text with interpolations of
/// parameters and component hosts.
#[derive(Arbitrary, Debug)]
struct Text(Vec<Piece>);

#[derive(Arbitrary, Debug)]
enum Piece {
    Chars(String),
    Param(u8),
    Host(u8),
}

fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' => "\\\"".to_string(),
            '\\' => "\\\\".to_string(),
            '$' => "\\$".to_string(),
            '\n' => "\\n".to_string(),
            c if c.is_control() => String::new(),
            c => c.to_string(),
        })
        .collect()
}

impl Text {
    fn render(&self, params: usize, components: usize) -> String {
        let mut out = String::from("\"");
        for piece in &self.0 {
            match piece {
                Piece::Chars(s) => out.push_str(&escape(s)),
                Piece::Param(i) if params > 0 => {
                    let _ = write!(out, "${{p{}}}", *i as usize % params);
                }
                Piece::Host(i) if components > 0 => {
                    let _ = write!(out, "${{c{}.host}}", *i as usize % components);
                }
                _ => {}
            }
        }
        out.push('"');
        out
    }
}

impl Landscape {
    fn render(&self) -> String {
        let params = self.params.len().min(8);
        let components = self.components.len().min(8);
        let mut out = String::from(
            "import \"postgres\"\nimport \"redis\"\nimport \"load_balancer\"\n\nlandscape fuzz {\n",
        );
        for (i, (_, default)) in self.params.iter().take(params).enumerate() {
            let _ = writeln!(out, "  param p{i}: string = {}", default.render(i, 0));
        }
        for (i, c) in self.components.iter().take(components).enumerate() {
            let kind = match c.kind {
                Kind::Service => "service",
                Kind::Postgres => "postgres",
                Kind::Redis => "redis",
                Kind::LoadBalancer => "load_balancer",
            };
            let _ = writeln!(out, "  {kind} c{i} {{");
            if matches!(c.kind, Kind::Service) {
                let _ = writeln!(out, "    image = {}", c.image.render(params, 0));
            }
            if let Some(port) = c.port {
                let _ = writeln!(out, "    ports {{ http = {port} }}");
            }
            if let Some(r) = c.replicas {
                let _ = writeln!(out, "    replicas = {r}");
            }
            if c.public {
                out.push_str("    public = true\n");
            }
            if !c.command.is_empty() {
                let items: Vec<String> = c
                    .command
                    .iter()
                    .map(|t| t.render(params, components))
                    .collect();
                let _ = writeln!(out, "    command = [{}]", items.join(", "));
            }
            if !c.env.is_empty() {
                out.push_str("    env {\n");
                for (k, v) in &c.env {
                    let value = match v {
                        Value::Text(t) => t.render(params, components),
                        Value::Param(p) if params > 0 => format!("p{}", *p as usize % params),
                        Value::Host(h) if components > 0 => {
                            format!("c{}.host", *h as usize % components)
                        }
                        Value::Secret(t) => format!("secret({})", t.render(0, 0)),
                        Value::Int(n) => n.to_string(),
                        _ => String::from("\"x\""),
                    };
                    let _ = writeln!(out, "      K{k} = {value}");
                }
                out.push_str("    }\n");
            }
            if !c.labels.is_empty() {
                out.push_str("    labels {\n");
                for (k, v) in &c.labels {
                    let _ = writeln!(out, "      \"l{k}\" = {}", v.render(params, components));
                }
                out.push_str("    }\n");
            }
            out.push_str("  }\n");
        }
        out.push_str("}\n");
        if let Some(sets) = &self.environment {
            out.push_str("\nenvironment fuzzenv {\n");
            for (p, v) in sets.iter().take(8) {
                if params > 0 {
                    let _ = writeln!(out, "  p{} = {}", *p as usize % params, v.render(0, 0));
                }
            }
            out.push_str("}\n");
        }
        out
    }
}

fuzz_target!(|landscape: Landscape| {
    let text = landscape.render();
    let checked = bomc::check_text("fuzz.bom", text.clone(), &bomc::eval::Options::default());
    drop(checked);
    let mut diags = bomc::diag::Diagnostics::default();
    let program = bomc::resolve::load_text("fuzz.bom", text, &mut diags);
    let settings = bomc::BuildSettings {
        source: "fuzz.bom",
        source_dir: std::path::Path::new("."),
        now: 1_800_000_000,
        out: std::path::Path::new("out"),
    };
    for environment in [None, Some(String::from("fuzzenv"))] {
        let options = bomc::eval::Options {
            environment,
            ..Default::default()
        };
        if let Some(plan) =
            bomc::compile(&program, &options, &settings, &mut |_, _| 20000, &mut diags)
        {
            let targets = [
                bomc::emit::Target::Compose,
                bomc::emit::Target::Cloudformation,
                bomc::emit::Target::Dockerfile,
            ];
            let _ = bomc::build(&plan, &targets, &bomc::emit::EmitOptions::default());
        }
    }
});
