//! The landscape graph on the examples, against expectations written by hand
//! from the landscapes themselves; cycle diagnostics; DOT and Mermaid outputs
//! checked by Graphviz and Mermaid's own parser.

use crate::{bom_files, bomc, root};
use bomc::eval::Options;
use bomc::graph::{self, EdgeKind, Graph};
use std::collections::BTreeSet;

fn graph_of(example: &str, env: Option<&str>, sets: &[(&str, &str)]) -> Graph {
    let options = Options {
        environment: env.map(String::from),
        sets: sets
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        placeholders: false,
        shared_sets: false,
    };
    let checked = bomc::evaluate_file(&root().join(format!("examples/{example}.bom")), &options);
    assert!(
        checked.diagnostics.is_empty(),
        "{example}: {:?}",
        checked.diagnostics
    );
    Graph::build(checked.landscapes.first().expect("one landscape"))
}

/// Edges as `from -kind-> to [ports]` strings, for readable expectations.
fn edges(g: &Graph, kinds: &[EdgeKind]) -> BTreeSet<String> {
    use petgraph::visit::EdgeRef;
    g.graph
        .edge_references()
        .filter(|e| kinds.contains(&e.weight().kind))
        .map(|e| {
            let ports: Vec<String> = e
                .weight()
                .ports
                .iter()
                .map(|p| format!("{}:{}", p.name, p.number))
                .collect();
            format!(
                "{} -> {} [{}]",
                g.graph[e.source()].id,
                g.graph[e.target()].id,
                ports.join(",")
            )
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn impact_ids(g: &Graph, names: &[&str], reverse: bool) -> Vec<(usize, String)> {
    let starts: Vec<_> = names
        .iter()
        .map(|n| g.find(n).expect("node exists"))
        .collect();
    graph::impact(g, &starts, reverse)
        .into_iter()
        .map(|i| (i.distance, g.graph[i.node].id.clone()))
        .collect()
}

#[test]
fn messenger_edges_orders_and_impact() {
    let g = graph_of("messenger", Some("production"), &[]);
    assert_eq!(
        edges(
            &g,
            &[EdgeKind::Reference, EdgeKind::Route, EdgeKind::DependsOn]
        ),
        set(&[
            "auth -> db [mysql:3306]",
            "lb -> route:lb:/ []",
            "route:lb:/ -> auth [http:9000]"
        ])
    );
    assert_eq!(
        edges(&g, &[EdgeKind::Build, EdgeKind::Layer]),
        set(&[
            "auth -> image:go_auth []",
            "image:go_auth -> image:go_runtime []",
            "image:go_runtime -> image:org_base []",
        ])
    );
    assert_eq!(
        edges(&g, &[EdgeKind::Dns, EdgeKind::Secret]),
        set(&[
            "dns:api.gomessenger.com -> lb []",
            "auth -> secret:messenger/db []",
            "db -> secret:messenger/db []",
        ])
    );
    assert_eq!(graph::start_order(&g), ["db", "auth", "lb"]);
    assert_eq!(
        graph::build_order(&g),
        ["org_base", "go_runtime", "go_auth"]
    );
    assert_eq!(
        impact_ids(&g, &["db"], false),
        [
            (1, "auth".to_string()),
            (2, "route:lb:/".to_string()),
            (3, "lb".to_string()),
            (4, "dns:api.gomessenger.com".to_string()),
        ]
    );
    // Changing the org base image touches every image and service built on it.
    let from_base: Vec<String> = impact_ids(&g, &["org_base"], false)
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    assert_eq!(
        &from_base[..3],
        ["image:go_runtime", "image:go_auth", "auth"]
    );
    assert_eq!(
        impact_ids(&g, &["auth"], true),
        [
            (1, "db".to_string()),
            (1, "image:go_auth".to_string()),
            (1, "secret:messenger/db".to_string()),
            (2, "image:go_runtime".to_string()),
            (3, "image:org_base".to_string()),
        ]
    );
}

#[test]
fn impact_paths_explain_why() {
    let g = graph_of("messenger", None, &[]);
    let impacted = graph::impact(&g, &[g.find("db").expect("db")], false);
    let paths = graph::paths(&g, &impacted);
    let lb = impacted
        .iter()
        .position(|i| g.graph[i.node].id == "lb")
        .expect("lb impacted");
    assert_eq!(paths[lb].nodes, ["db", "auth", "/", "lb"]);
    assert_eq!(paths[lb].omitted, 0);
    assert_eq!(g.graph[impacted[lb].via].id, "route:lb:/");
}

/// A chain of components: each path is whole up to eight nodes, and a
/// longer one keeps its first three and last four and counts the rest, so
/// the paths of a chain of N cost N·8 names, not N²/2.
#[test]
fn long_impact_paths_keep_their_ends() {
    let mut text =
        String::from("landscape chain {\n  service c0 { image = \"ghcr.io/x/c:1.0.0\" }\n");
    for i in 1..=40 {
        text.push_str(&format!(
            "  service c{i} {{\n    image = \"ghcr.io/x/c:1.0.0\"\n    env {{ UP = c{}.host }}\n  }}\n",
            i - 1
        ));
    }
    text.push_str("}\n");
    let dir = crate::temp_dir("graph-chain");
    let file = dir.join("chain.bom");
    std::fs::write(&file, &text).expect("file");
    let checked = bomc::evaluate_file(&file, &bomc::eval::Options::default());
    assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
    let g = Graph::build(&checked.landscapes[0]);
    let impacted = graph::impact(&g, &[g.find("c0").expect("c0")], false);
    let paths = graph::paths(&g, &impacted);
    assert_eq!(paths.len(), 40);
    let names = |range: std::ops::RangeInclusive<usize>| -> Vec<String> {
        range.map(|i| format!("c{i}")).collect()
    };
    // c7's path is c0 … c7: eight nodes, whole.
    assert_eq!(paths[6].nodes, names(0..=7));
    assert_eq!(paths[6].omitted, 0);
    // c8's has nine: c0 c1 c2, two left out, c5 … c8.
    assert_eq!(paths[7].nodes, [names(0..=2), names(5..=8)].concat());
    assert_eq!(paths[7].omitted, 2);
    assert_eq!(paths[39].nodes, [names(0..=2), names(37..=40)].concat());
    assert_eq!(paths[39].omitted, 41 - 7);
    let shown = bomc(&dir, &["impact", "chain.bom", "c0"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(
        shown
            .stdout
            .contains("c40  component  c0 → c1 → c2 → … 34 more … → c37 → c38 → c39 → c40\n"),
        "{}",
        shown.stdout
    );
    let json = bomc(&dir, &["impact", "chain.bom", "c0", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    let last = &report["impacted"][39];
    assert_eq!(last["path_omitted"], 34);
    assert_eq!(last["via"], "c39");
}

#[test]
fn least_privilege_follows_references() {
    let g = graph_of("messenger", None, &[]);
    let access = graph::access(&g);
    let who = |c: &str| -> Vec<(String, Vec<u16>)> {
        access[c]
            .iter()
            .map(|a| (a.from.clone(), a.ports.iter().map(|p| p.number).collect()))
            .collect()
    };
    assert_eq!(who("db"), [("auth".to_string(), vec![3306])]);
    assert_eq!(who("auth"), [("lb".to_string(), vec![9000])]);
    assert!(who("lb").is_empty());
    // A client that names the port it uses gets only that port (not the management port).
    let g = graph_of("collective-health", None, &[]);
    let access = graph::access(&g);
    let queue: Vec<(String, Vec<u16>)> = access["queue"]
        .iter()
        .map(|a| (a.from.clone(), a.ports.iter().map(|p| p.number).collect()))
        .collect();
    assert_eq!(
        queue,
        [
            ("claims".to_string(), vec![5672]),
            ("notifier".to_string(), vec![5672])
        ]
    );
}

#[test]
fn fooda_runs_migrations_before_the_app() {
    let g = graph_of("fooda", Some("production"), &[]);
    assert_eq!(
        graph::start_order(&g),
        ["db", "cache", "search", "migrate", "web", "worker", "lb"]
    );
    assert_eq!(graph::build_order(&g), ["ruby_base", "fooda_app"]);
    let deps = edges(&g, &[EdgeKind::DependsOn]);
    assert_eq!(deps, set(&["web -> migrate []", "worker -> migrate []"]));
    let impacted: Vec<String> = impact_ids(&g, &["migrate"], false)
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    assert_eq!(impacted[..2], ["web", "worker"]);
}

#[test]
fn lidar_is_one_line_and_its_graph_is_whole() {
    let g = graph_of("lidar", Some("production"), &[]);
    assert_eq!(
        graph::start_order(&g),
        [
            "processing-queue",
            "processing-db",
            "processing-tiles",
            "processing-api",
            "processing-worker",
            "processing-lb",
        ]
    );
    assert_eq!(
        graph::build_order(&g),
        ["lidar_base", "lidar_runtime", "lidar_api", "lidar_worker"]
    );
    let impacted: BTreeSet<String> = impact_ids(&g, &["lidar_runtime"], false)
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    for id in [
        "image:lidar_api",
        "image:lidar_worker",
        "processing-api",
        "processing-worker",
    ] {
        assert!(
            impacted.contains(id),
            "{id} not impacted by lidar_runtime: {impacted:?}"
        );
    }
}

#[test]
fn test_stack_merges_transitive_dependencies() {
    let g = graph_of("test-stack", None, &[]);
    assert_eq!(
        graph::start_order(&g),
        ["db", "fixtures", "accounts-db", "accounts-api", "articles"]
    );
    assert_eq!(
        edges(&g, &[EdgeKind::Reference, EdgeKind::DependsOn]),
        set(&[
            "articles -> db [postgres:5432]",
            "articles -> fixtures []",
            "articles -> accounts-api [http:3000]",
            "fixtures -> db [postgres:5432]",
            "accounts-api -> accounts-db [postgres:5432]",
        ])
    );
}

#[test]
fn each_cycle_case_gives_exactly_one_diagnostic() {
    let dir = root().join("tests/ui/errors");
    let cases: Vec<_> = bom_files(&dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("E0401"))
        })
        .collect();
    assert!(
        cases.len() >= 5,
        "direct, self, image, environment override, imported module"
    );
    for path in cases {
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        let text = std::fs::read_to_string(&path).expect("readable");
        let mut args = vec!["check", name, "--format", "json"];
        if text.contains("--env staging") {
            args.extend(["--env", "staging"]);
        }
        if text.contains("--root ..") {
            args.extend(["--root", ".."]);
        }
        let run = bomc(&dir, &args);
        let diags: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
        let diags = diags.as_array().expect("array");
        assert_eq!(diags.len(), 1, "{name}: {diags:?}");
        assert_eq!(diags[0]["code"], "E0401");
        let message = diags[0]["message"].as_str().unwrap_or("");
        let drawn: Vec<&str> = message
            .rsplit(": ")
            .next()
            .unwrap_or("")
            .split(" → ")
            .collect();
        assert_eq!(
            drawn.first(),
            drawn.last(),
            "{name}: the cycle is drawn closed: {message}"
        );
        // One label per edge of the cycle.
        assert_eq!(
            diags[0]["labels"].as_array().map(Vec::len),
            Some(drawn.len() - 1),
            "{name}"
        );
        // `build` builds the graph while it lowers the components, and
        // reports the same one diagnostic instead of a plan, writing nothing.
        let out = std::env::temp_dir().join(format!("bomc-cycle-{}-{name}", std::process::id()));
        let out_arg = out.display().to_string();
        let mut build_args = args.clone();
        build_args[0] = "build";
        build_args.extend(["--out", &out_arg]);
        let built = bomc(&dir, &build_args);
        assert_eq!(built.code, 1, "{name}: {}", built.stderr);
        let built: serde_json::Value = serde_json::from_str(&built.stdout).expect("JSON");
        assert_eq!(&built, &serde_json::Value::Array(diags.clone()), "{name}");
        assert!(!out.exists(), "{name}: nothing written");
    }
}

/// Every example × environment, with placeholders for required parameters.
fn all_graphs() -> Vec<(String, Graph)> {
    let mut out = Vec::new();
    for path in bom_files(&root().join("examples")) {
        let checked = bomc::check_file(&path, &Options::default());
        assert!(checked.diagnostics.is_empty());
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("x")
            .to_string();
        for l in &checked.landscapes {
            let env = l
                .environment
                .as_ref()
                .map(|e| e.name.clone())
                .unwrap_or_else(|| String::from("base"));
            out.push((format!("{stem}-{env}"), Graph::build(l)));
        }
    }
    out
}

fn out_dir(name: &str) -> std::path::PathBuf {
    crate::temp_dir(&format!("graph-{name}"))
}

#[test]
fn dot_output_parses_with_graphviz() {
    let dir = out_dir("dot");
    for (name, g) in all_graphs() {
        let file = dir.join(format!("{name}.dot"));
        std::fs::write(&file, graph::render::dot(&g)).expect("write");
        let run = std::process::Command::new("dot")
            .arg("-Tsvg")
            .arg(&file)
            .output()
            .expect("Graphviz `dot` is installed (scripts/test installs it)");
        assert!(
            run.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(
            String::from_utf8_lossy(&run.stdout).contains("<svg"),
            "{name}"
        );
    }
}

#[test]
fn mermaid_output_parses_with_mermaid() {
    let dir = out_dir("mermaid");
    let mut files = Vec::new();
    for (name, g) in all_graphs() {
        let file = dir.join(format!("{name}.mmd"));
        std::fs::write(&file, graph::render::mermaid(&g)).expect("write");
        files.push(file);
    }
    // A file Mermaid must refuse, so the check itself is known to work.
    let broken = dir.join("broken.mmd");
    std::fs::write(&broken, "flowchart LR\n  n0 -->\n").expect("write");
    let checker = root().join("tests/tools/mermaid-check.mjs");
    let run = |files: &[std::path::PathBuf]| {
        std::process::Command::new("node")
            .arg(&checker)
            .args(files)
            .output()
            .expect("node runs (scripts/test installs tests/tools)")
    };
    let ok = run(&files);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(
        !run(&[broken]).status.success(),
        "the Mermaid checker accepts anything"
    );
}

#[test]
fn graph_output_is_stable_and_labels_escape() {
    let first = bomc(
        &root(),
        &[
            "graph",
            "examples/collective-health.bom",
            "--format",
            "mermaid",
        ],
    );
    let second = bomc(
        &root(),
        &[
            "graph",
            "examples/collective-health.bom",
            "--format",
            "mermaid",
        ],
    );
    assert_eq!(first.code, 0);
    assert_eq!(first.stdout, second.stdout);
    let json = bomc(
        &root(),
        &["graph", "examples/messenger.bom", "--format", "json"],
    );
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(v["start_order"], serde_json::json!(["db", "auth", "lb"]));
    let reason = &v["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .find(|e| e["from"] == "auth" && e["to"] == "db")
        .expect("edge")["reasons"][0];
    assert_eq!(reason["file"], "examples/messenger.bom");
    assert!(reason["line"].as_u64().is_some_and(|l| l > 1));
}
