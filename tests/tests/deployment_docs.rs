//! The HAProxy configuration that the deployment conformance runs (`conformance/deploy/haproxy.cfg`) is
//! the one the README and the manual's `deployment` chapter show.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

fn read(path: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_readme_shows_the_tested_haproxy_config() {
    let config = read("conformance/deploy/haproxy.cfg");
    let readme = read("README.md");
    assert!(readme.contains(&format!("```text\n{config}```\n")), "README.md quotes another HAProxy config");
}

#[test]
fn the_manual_shows_the_tested_haproxy_config() {
    let config = read("conformance/deploy/haproxy.cfg");
    // The chapter's text without the `//! ` of its lines.
    let manual: String = read("socketio/src/manual/deployment.rs")
        .lines()
        .filter_map(|line| line.strip_prefix("//!"))
        .map(|line| format!("{}\n", line.strip_prefix(' ').unwrap_or(line)))
        .collect();
    assert!(
        manual.contains(&format!("```text\n{config}```\n")),
        "the manual's deployment chapter quotes another HAProxy config"
    );
}
