//! Injection, as a property: arbitrary strings given to string settings come
//! back out of the emitted compose (YAML) and CloudFormation (JSON) as the
//! same values, and the documents keep their structure.

use bomc::diag::Diagnostics;
use proptest::prelude::*;
use serde_json::Value;

/// Any text a `.bom` string can hold: every character but the control
/// characters, which the language writes only as `\n`, `\t` and `\r`.
pub(crate) fn text() -> impl Strategy<Value = String> {
    let char = any::<char>().prop_filter("printable or an escapable control", |c| {
        !c.is_control() || matches!(c, '\n' | '\t' | '\r')
    });
    let special = prop::sample::select(vec![
        "${", "$", "\"", "\\", "#", ": ", "- ", "---", "\n", "yes", "on", "null", "&a", "*a", "!!",
        "{{", "}}", "\u{2028}", "'", "`", "%", "@", "|", ">",
    ]);
    prop::collection::vec(
        prop_oneof![char.prop_map(String::from), special.prop_map(String::from)],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

/// The `.bom` literal that means `s`.
pub(crate) fn literal(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The plan of `inject.bom` holding `source`, compiled in memory; a source
/// that does not compile is the test's mistake.
pub(crate) fn plan_of(source: &str) -> bomc::lower::plan::Plan {
    let mut diags = Diagnostics::default();
    let program = bomc::resolve::load_text("inject.bom", source.to_string(), &mut diags);
    let settings = bomc::BuildSettings {
        source: "inject.bom",
        source_dir: std::path::Path::new("."),
        now: 1_800_000_000,
        out: std::path::Path::new("out"),
    };
    bomc::compile(
        &program,
        &bomc::eval::Options::default(),
        &settings,
        &mut |_, _| 20000,
        &mut diags,
    )
    .unwrap_or_else(|| panic!("{source}\n{:?}", diags.as_slice()))
}

/// Builds compose and CloudFormation for a landscape whose `app` service
/// carries `value` in an env variable, a label and its command.
fn build(value: &str) -> (serde_yaml_ng::Value, Value) {
    let lit = literal(value);
    let source = format!(
        "landscape inject {{\n  service app {{\n    image = \"busybox:1.36.1\"\n    command = [\"sh\", {lit}]\n    ports {{ http = 8080 }}\n    env {{ VALUE = {lit} }}\n    labels {{ \"com.example.v\" = {lit} }}\n  }}\n}}\n"
    );
    let plan = plan_of(&source);
    let targets = [
        bomc::emit::Target::Compose,
        bomc::emit::Target::Cloudformation,
    ];
    let artifacts = bomc::build(&plan, &targets, &bomc::emit::EmitOptions::default())
        .unwrap_or_else(|e| panic!("{source}\n{e:?}"));
    let file = |name: &str| {
        artifacts
            .iter()
            .find(|a| a.path == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .contents
            .clone()
    };
    let compose = serde_yaml_ng::from_str(&file("compose.yaml")).expect("compose is YAML");
    let template = serde_json::from_str(&file("cloudformation.json")).expect("template is JSON");
    (compose, template)
}

/// Every `{"Name": name, "Value": …}` in the template.
fn named_values<'v>(v: &'v Value, name: &str, out: &mut Vec<&'v Value>) {
    match v {
        Value::Object(map) => {
            if map.get("Name").and_then(Value::as_str) == Some(name)
                && let Some(value) = map.get("Value")
            {
                out.push(value);
            }
            map.values().for_each(|v| named_values(v, name, out));
        }
        Value::Array(items) => items.iter().for_each(|v| named_values(v, name, out)),
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_stay_data_in_compose_and_cloudformation(value in text()) {
        let (compose, template) = build(&value);
        // Compose interpolates `$`: bomc writes `$$` for a literal one.
        let escaped = value.replace('$', "$$");
        let app = &compose["services"]["app"];
        prop_assert_eq!(app["environment"]["VALUE"].as_str(), Some(escaped.as_str()));
        prop_assert_eq!(app["labels"]["com.example.v"].as_str(), Some(escaped.as_str()));
        let command: Vec<&str> = app["command"]
            .as_sequence()
            .expect("command is a list")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        prop_assert_eq!(command, vec!["sh", escaped.as_str()]);
        prop_assert_eq!(
            compose["services"].as_mapping().map(|m| m.len()),
            Some(1),
            "a string added a service"
        );

        let mut values = Vec::new();
        named_values(&template, "VALUE", &mut values);
        prop_assert!(!values.is_empty(), "VALUE is not in the template");
        for v in values {
            prop_assert_eq!(v.as_str(), Some(value.as_str()));
        }
    }
}

/// A file name: `f`, then any text without `/`.
fn file_name() -> impl Strategy<Value = String> {
    text()
        .prop_map(|s| format!("f{}", s.replace('/', "")))
        .prop_filter("a file name", |s| s.len() < 200)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// A bind mount's host path (a file that exists, named anything) and its
    /// container path come back from compose.yaml unchanged, in one volume.
    #[test]
    fn arbitrary_bind_mount_paths_stay_data_in_compose(name in file_name(), target in text()) {
        let dir = crate::temp_dir("injection-bind");
        std::fs::write(dir.join(&name), "x").expect("a file of that name");
        let target = format!("/data/{target}");
        let source = format!(
            "landscape inject {{\n  service app {{\n    image = \"busybox:1.36.1\"\n    targets = [\"compose\"]\n    mounts {{ {} {{ bind = {}, read_only = true }} }}\n  }}\n}}\n",
            literal(&target),
            literal(&format!("./{name}"))
        );
        std::fs::write(dir.join("inject.bom"), &source).expect("write");
        let run = crate::bomc(
            &dir,
            &["build", "inject.bom", "--target", "compose", "--out", "out", "--now", crate::NOW],
        );
        prop_assert_eq!(run.code, 0, "{}\n{}", source, run.stderr);
        let text = std::fs::read_to_string(dir.join("out/inject/default/compose.yaml")).expect("compose.yaml");
        let compose: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("compose is YAML");
        let volumes = compose["services"]["app"]["volumes"].as_sequence().expect("volumes");
        prop_assert_eq!(volumes.len(), 1, "{}", text);
        // Compose interpolates `$`: bomc writes `$$` for a literal one.
        let escaped = |s: &str| s.replace('$', "$$");
        prop_assert_eq!(volumes[0]["type"].as_str(), Some("bind"));
        let (want_source, want_target) = (escaped(&format!("../../../{name}")), escaped(&target));
        prop_assert_eq!(volumes[0]["source"].as_str(), Some(want_source.as_str()));
        prop_assert_eq!(volumes[0]["target"].as_str(), Some(want_target.as_str()));
        prop_assert_eq!(volumes[0]["read_only"].as_bool(), Some(true));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
