//! Reuse in the language (docs/language.md, "Reuse"): `let`, `merge`, `null`,
//! kind and instance maps merged key by key, kinds taking components. Each
//! rule is a table of small landscapes and the values `bomc model` gives them.

use crate::{NOW, bomc, temp_dir, template, venv_tool, written_folder};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Writes `text` as `name.bom` in a fresh folder and returns its path.
fn bom(name: &str, text: &str) -> PathBuf {
    let dir = temp_dir(&format!("reuse-{name}"));
    let path = dir.join(format!("{name}.bom"));
    std::fs::write(&path, text).expect("written");
    path
}

/// `bomc model` of `text` (the bare landscape, or `--env env`).
fn model(name: &str, text: &str, env: Option<&str>) -> Value {
    let path = bom(name, text);
    let mut args = vec!["model", path.to_str().expect("utf-8")];
    if let Some(env) = env {
        args.extend(["--env", env]);
    }
    let run = bomc(path.parent().expect("folder"), &args);
    assert_eq!(run.code, 0, "{name}:\n{}", run.stderr);
    serde_json::from_str(&run.stdout).expect("model is JSON")
}

/// A model value as short text: `"x"`, `host:db`, `port:db.mysql`, `secret:a/b`.
fn show(v: &Value) -> String {
    let value = &v["value"];
    match v["type"].as_str().unwrap_or("") {
        "string" => value.as_str().unwrap_or("").to_string(),
        "int" => value.to_string(),
        "host" => format!("host:{}", value.as_str().unwrap_or("")),
        "port" => format!(
            "port:{}.{}",
            value["component"].as_str().unwrap_or(""),
            value["port"].as_str().unwrap_or("")
        ),
        "secret" => format!("secret:{}", value.as_str().unwrap_or("")),
        "template" => value
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| match p["type"].as_str().unwrap_or("") {
                "text" => p["value"].as_str().unwrap_or("").to_string(),
                other => format!("{other}:{}", p["value"].as_str().unwrap_or("?")),
            })
            .collect(),
        other => format!("{other}:{value}"),
    }
}

/// Component `name` of a model.
fn component<'m>(model: &'m Value, name: &str) -> &'m Value {
    model["components"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no component {name}"))
}

/// The map setting `setting` of component `name`, as `KEY=value` lines.
fn map_of(model: &Value, name: &str, setting: &str) -> Vec<String> {
    let c = component(model, name);
    let map: BTreeMap<String, Value> = c["settings"][setting]["value"]
        .as_object()
        .map(|m| m.clone().into_iter().collect())
        .unwrap_or_default();
    map.iter()
        .map(|(k, v)| format!("{k}={}", show(v)))
        .collect()
}

/// The references of component `name` as `target.attribute (setting)`.
fn references(model: &Value, name: &str) -> Vec<String> {
    let c = component(model, name);
    let mut refs: Vec<String> = c["references"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            format!(
                "{}.{} ({})",
                r["target"].as_str().unwrap_or(""),
                r["attribute"].as_str().unwrap_or(""),
                r["setting"].as_str().unwrap_or("")
            )
        })
        .collect();
    refs.sort();
    refs.dedup();
    refs
}

const KIND: &str = r#"
kind app {
  param tier: string = "web"
  image = "registry.example.com/app:1.2.3"
  ports { http = 8080, metrics = 9100 }
  env { TIER = tier, LOG = "info", DEBUG = "0" }
  labels { team = "core", tier = tier }
  volumes { cache = "/var/cache/app", data = "/srv/data" }
}
"#;

#[test]
fn kind_and_instance_maps_merge_key_by_key() {
    // (setting, the instance's block, the merged result)
    let table: &[(&str, &str, &[&str])] = &[
        (
            "env",
            r#"env { EXTRA = "1", LOG = "debug" }"#,
            &["DEBUG=0", "EXTRA=1", "LOG=debug", "TIER=web"],
        ),
        ("env", "env { DEBUG = null }", &["LOG=info", "TIER=web"]),
        (
            "labels",
            r#"labels { owner = "ops", team = "platform" }"#,
            &["owner=ops", "team=platform", "tier=web"],
        ),
        (
            "ports",
            "ports { admin = 8081, metrics = null }",
            &["admin=8081", "http=8080"],
        ),
        (
            "volumes",
            r#"volumes { data = "/data", logs = "/var/log/app" }"#,
            &["cache=/var/cache/app", "data=/data", "logs=/var/log/app"],
        ),
    ];
    for (setting, body, expected) in table {
        let text = format!("{KIND}\nlandscape shop {{\n  app a {{ {body} }}\n}}\n");
        let m = model("kind-maps", &text, None);
        assert_eq!(map_of(&m, "a", setting), *expected, "{setting}: {body}");
    }
}

#[test]
fn a_stdlib_kind_keeps_its_env_when_an_instance_adds_a_variable() {
    let text = r#"
import "mysql"
landscape shop {
  mysql db {
    database = "shop"
    password = secret("shop/db")
    env { EXTRA = "1", MYSQL_RANDOM_ROOT_PASSWORD = null }
  }
}
"#;
    let m = model("mysql-env", text, None);
    assert_eq!(
        map_of(&m, "db", "env"),
        [
            "EXTRA=1",
            "MYSQL_DATABASE=shop",
            "MYSQL_PASSWORD=secret:shop/db",
            "MYSQL_USER=app"
        ]
    );
}

#[test]
fn environments_lay_their_maps_over_the_landscape() {
    // (the environment's overrides, the resulting env)
    let table: &[(&str, &[&str])] = &[
        (
            r#"a.env = { LOG = "warn", DEBUG = null }"#,
            &["EXTRA=1", "LOG=warn", "TIER=web"],
        ),
        ("a.env.EXTRA = null", &["DEBUG=0", "LOG=info", "TIER=web"]),
        (
            r#"a.env.LOG = "error""#,
            &["DEBUG=0", "EXTRA=1", "LOG=error", "TIER=web"],
        ),
    ];
    for (overrides, expected) in table {
        let text = format!(
            "{KIND}\nlandscape shop {{\n  app a {{ env {{ EXTRA = \"1\" }} }}\n}}\nenvironment prod {{\n  {overrides}\n}}\n"
        );
        let m = model("env-maps", &text, Some("prod"));
        assert_eq!(map_of(&m, "a", "env"), *expected, "{overrides}");
    }
}

#[test]
fn let_and_merge_build_maps() {
    // (the landscape's lets and web's env, web's resulting env)
    let table: &[(&str, &[&str])] = &[
        (
            r#"let base = { A = "1", B = "2" }
               service web { image = "nginx:1.27.3", env = merge(base, { B = "3", C = "4" }) }"#,
            &["A=1", "B=3", "C=4"],
        ),
        (
            r#"let base = { A = "1", B = "2" }
               service web { image = "nginx:1.27.3", env = merge(base, { A = null }) }"#,
            &["B=2"],
        ),
        (
            r#"let one = { A = "1" }
               let two = merge(one, { B = two_b })
               let two_b = "b"
               service web { image = "nginx:1.27.3", env = merge(two, one, { C = "c" }) }"#,
            &["A=1", "B=b", "C=c"],
        ),
        (
            r#"let db_env = { HOST = db.host, PORT = db.ports.pg }
               service db { image = "postgres:16.9-alpine", ports { pg = 5432 } }
               service web { image = "nginx:1.27.3", env = db_env }"#,
            &["HOST=host:db", "PORT=port:db.pg"],
        ),
        (
            r#"param region: string = "eu"
               let greeting = "hello ${region}"
               service web { image = "nginx:1.27.3", env { G = greeting } }"#,
            &["G=hello eu"],
        ),
    ];
    for (body, expected) in table {
        let text = format!("landscape shop {{\n{body}\n}}\n");
        let m = model("lets", &text, None);
        assert_eq!(map_of(&m, "web", "env"), *expected, "{body}");
    }
}

#[test]
fn references_inside_a_let_belong_to_every_user() {
    let text = r#"
landscape shop {
  let db_env = { HOST = db.host, PORT = db.ports.pg }
  service db { image = "postgres:16.9-alpine", ports { pg = 5432 } }
  service web { image = "nginx:1.27.3", env = db_env }
  service worker { image = "nginx:1.27.3", env = merge(db_env, { Q = "1" }) }
  service idle { image = "nginx:1.27.3" }
}
"#;
    let m = model("let-refs", text, None);
    for user in ["web", "worker"] {
        assert_eq!(
            references(&m, user),
            ["db.host (env)", "db.ports.pg (env)"],
            "{user}"
        );
    }
    assert!(references(&m, "idle").is_empty());
}

/// Each mistake and the code it gets, first.
#[test]
fn reuse_mistakes_are_diagnostics() {
    let table: &[(&str, &str)] = &[
        (
            "let probe = { pathh = \"/up\" }\nservice web { image = \"nginx:1.27.3\", ports { http = 80 }, health = probe }",
            "E0302",
        ),
        (
            "let probe = { interval = 5 }\nservice web { image = \"nginx:1.27.3\", ports { http = 80 }, health = merge(probe) }",
            "E0303",
        ),
        (
            "let a = { X = b.Y }\nlet b = { Y = a.X }\nservice web { image = \"nginx:1.27.3\", env = a }",
            "E0315",
        ),
        (
            "let a = a\nservice web { image = \"nginx:1.27.3\", env { A = a } }",
            "E0315",
        ),
        (
            "let x = \"1\"\nlet x = \"2\"\nservice web { image = \"nginx:1.27.3\" }",
            "E0216",
        ),
        (
            "let web = \"1\"\nservice web { image = \"nginx:1.27.3\" }",
            "E0216",
        ),
        (
            "service web { image = \"nginx:1.27.3\", env = null }",
            "E0217",
        ),
        (
            "service web { image = \"nginx:1.27.3\", env = merge() }",
            "E0311",
        ),
        (
            "service web { image = \"nginx:1.27.3\", replicas = merge({ A = 1 }) }",
            "E0303",
        ),
        (
            "service web { image = \"nginx:1.27.3\", let x = 1 }",
            "E0211",
        ),
        (
            "let x = unknown_thing\nservice web { image = \"nginx:1.27.3\" }",
            "E0205",
        ),
        (
            "service web { image = \"nginx:1.27.3\", environment { A = \"1\" } }",
            "E0302",
        ),
    ];
    for (body, code) in table {
        let path = bom("mistake", &format!("landscape shop {{\n{body}\n}}\n"));
        let run = bomc(
            path.parent().expect("folder"),
            &["check", path.to_str().expect("utf-8"), "--format", "json"],
        );
        assert_eq!(run.code, 1, "{body}:\n{}", run.stdout);
        let diags: Value = serde_json::from_str(&run.stdout).expect("JSON");
        assert_eq!(diags[0]["code"], *code, "{body}:\n{}", run.stdout);
        assert!(!run.stdout.contains("panicked"));
    }
}

const WIKI: &str = r#"
import "mariadb"
import "mongodb"

kind wiki {
  param store: component
  param sessions: component
  let store_env = { DB_HOST = store.host, DB_PORT = store.ports.mariadb }
  image = "registry.example.com/wiki:2.4.1"
  ports { http = 8080 }
  env = merge(store_env, { DB_PASSWORD = store.password, SESSIONS_URL = sessions.url })
}

landscape docs {
  mariadb db { database = "wiki", password = secret("docs/db") }
  mongodb sessions_db { password = secret("docs/mongo") }
  wiki site { store = db, sessions = sessions_db }
  service unrelated { image = "nginx:1.27.3" }
}

environment production {}
environment preview { ttl = 2d }
"#;

#[test]
fn kinds_reach_the_components_they_are_given() {
    let m = model("wiki", WIKI, None);
    assert_eq!(
        map_of(&m, "site", "env"),
        [
            "DB_HOST=host:db",
            "DB_PASSWORD=secret:docs/db",
            "DB_PORT=port:db.mariadb",
            "SESSIONS_URL=url:sessions_db"
        ]
    );
    let path = bom("wiki-graph", WIKI);
    let dir = path.parent().expect("folder");
    let file = path.to_str().expect("utf-8");
    let graph = bomc(dir, &["graph", file, "--format", "json"]);
    assert_eq!(graph.code, 0, "{}", graph.stderr);
    let graph: Value = serde_json::from_str(&graph.stdout).expect("JSON");
    let edges: Vec<(String, String, Vec<u64>)> = graph["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["from"] == "site" && e["kind"] == "reference")
        .map(|e| {
            let ports = e["ports"].as_array().into_iter().flatten();
            (
                e["to"].as_str().unwrap_or("").to_string(),
                e["kind"].as_str().unwrap_or("").to_string(),
                ports.filter_map(|p| p["number"].as_u64()).collect(),
            )
        })
        .collect();
    assert_eq!(
        edges,
        [
            ("db".into(), "reference".into(), vec![3306]),
            ("sessions_db".into(), "reference".into(), vec![27017])
        ]
    );
    let impact = bomc(dir, &["impact", file, "db", "--format", "json"]);
    assert_eq!(impact.code, 0, "{}", impact.stderr);
    let impact: Value = serde_json::from_str(&impact.stdout).expect("JSON");
    let impacted: Vec<&str> = impact["impacted"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["name"].as_str())
        .collect();
    assert_eq!(impacted, ["site"]);
}

/// DocumentDB and RDS for MariaDB, built for a persistent and an ephemeral
/// environment, pass cfn-lint; the persistent one passes checkov.
#[test]
fn mongodb_and_mariadb_templates_pass_the_validators() {
    let path = bom("wiki-cfn", WIKI);
    let dir = path.parent().expect("folder").to_path_buf();
    for env in ["production", "preview"] {
        let out = dir.join(format!("out-{env}"));
        let run = bomc(
            &dir,
            &[
                "build",
                path.to_str().expect("utf-8"),
                "--env",
                env,
                "--target",
                "cloudformation",
                "--out",
                out.to_str().expect("utf-8"),
                "--now",
                NOW,
            ],
        );
        assert_eq!(run.code, 0, "{env}:\n{}", run.stderr);
        let folder = written_folder(&run);
        let t = template(&folder);
        let resources = t["Resources"].as_object().expect("resources");
        let cluster = &resources["SessionsDbDatabase"];
        assert_eq!(cluster["Type"], "AWS::DocDB::DBCluster");
        assert_eq!(cluster["Properties"]["EngineVersion"], "8.0.0");
        assert_eq!(cluster["Properties"]["StorageEncrypted"], true);
        let instances = resources
            .values()
            .filter(|r| r["Type"] == "AWS::DocDB::DBInstance")
            .count();
        assert_eq!(instances, if env == "production" { 2 } else { 1 }, "{env}");
        let maria = &resources["DbDatabase"]["Properties"];
        assert_eq!(
            (&maria["Engine"], &maria["EngineVersion"]),
            (&Value::from("mariadb"), &Value::from("11.4"))
        );
        let text = std::fs::read_to_string(folder.join("cloudformation.json")).expect("template");
        assert!(
            text.contains("retryWrites=false"),
            "the URL carries DocumentDB's options"
        );

        let lint = std::process::Command::new(venv_tool("cfn-lint"))
            .arg(folder.join("cloudformation.json"))
            .output()
            .expect("cfn-lint runs");
        assert!(
            lint.status.success(),
            "cfn-lint {env}:\n{}",
            String::from_utf8_lossy(&lint.stdout)
        );
        if env == "production" {
            let (passed, report) =
                crate::checkov_cloudformation(&folder.join("cloudformation.json"), &dir);
            assert!(passed, "checkov:\n{report}");
        }
    }
}
