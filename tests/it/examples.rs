//! Every example and every stdlib module checks cleanly, and every example
//! declares at least one persistent and one ephemeral environment.

use crate::{bom_files, bomc, root};
use bomc::model::Lifetime;

#[test]
fn every_example_and_stdlib_module_checks() {
    let files: Vec<_> = bom_files(&root().join("examples"))
        .into_iter()
        .chain(bom_files(&root().join("examples/lib")))
        .chain(bom_files(&root().join("stdlib")))
        .collect();
    assert!(files.len() >= 6 + 1 + 8, "found {} files", files.len());
    for path in files {
        let run = bomc(&root(), &["check", path.to_str().expect("utf-8 path")]);
        assert_eq!(run.code, 0, "{}:\n{}", path.display(), run.stderr);
        assert!(run.stdout.contains("is valid"), "{}", run.stdout);
    }
}

#[test]
fn the_six_seed_landscapes_are_examples() {
    for name in [
        "messenger",
        "collective-health",
        "fooda",
        "test-stack",
        "lidar",
        "books",
    ] {
        assert!(
            root().join(format!("examples/{name}.bom")).is_file(),
            "examples/{name}.bom"
        );
    }
}

#[test]
fn every_example_has_a_persistent_and_an_ephemeral_environment() {
    for path in bom_files(&root().join("examples")) {
        let checked = bomc::check_file(&path, &bomc::eval::Options::default());
        assert!(checked.diagnostics.is_empty(), "{}", path.display());
        let lifetimes: Vec<&Lifetime> = checked
            .landscapes
            .iter()
            .filter_map(|l| l.environment.as_ref().map(|e| &e.lifetime))
            .collect();
        assert!(
            lifetimes.iter().any(|l| **l == Lifetime::Persistent),
            "{} has no persistent environment",
            path.display()
        );
        assert!(
            lifetimes
                .iter()
                .any(|l| matches!(l, Lifetime::Ephemeral { ttl_ms } if *ttl_ms > 0)),
            "{} has no ephemeral environment",
            path.display()
        );
    }
}

#[test]
fn stdlib_has_the_kinds_the_product_needs() {
    for kind in [
        "mysql",
        "postgres",
        "mariadb",
        "mongodb",
        "redis",
        "elasticsearch",
        "rabbitmq",
        "load_balancer",
        "job",
        "nginx_static",
    ] {
        let text = std::fs::read_to_string(root().join(format!("stdlib/{kind}.bom")))
            .expect("module exists");
        assert!(
            text.contains(&format!("kind {kind} {{")),
            "stdlib/{kind}.bom defines kind {kind}"
        );
    }
}
