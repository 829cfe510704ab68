//! Project automation, run as `cargo xtask <command>` (an alias in `.cargo/config.toml`).
//!
//! - `cargo xtask ci`: what `.ci/run` runs: format check, clippy with warnings as errors, the tests, and
//!   the conformance suite.
//! - `cargo xtask bench [--quick] [SCENARIO...]`: our server and the Node server under the same load,
//!   side by side (see `bench.rs`); `cargo xtask bench-parsers`: the parsers' criterion benchmarks.
//! - `cargo xtask conformance [FILTER...]`: the stack against the real Node peers (see `conformance.rs`).

mod bench;
mod chart;
mod conformance;

use std::process::{Command, ExitCode};

/// The test command written in README.md; `.ci/run` and `cargo xtask ci` both run it.
const TEST_COMMAND: &[&str] = &["test", "--workspace"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("bench") => bench::run(&workspace_root(), &args[1..]),
        Some("bench-parsers") => cargo(&["bench", "-p", "engineio-parser", "-p", "socketio-parser"]),
        Some("conformance") => conformance::run(&workspace_root(), &args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci | bench [--quick] [SCENARIO...] | bench-parsers | conformance [--against-node] [FILTER...]>"
            );
            eprintln!(
                "  ci      format check, clippy (-D warnings), `cargo {}`, then conformance",
                TEST_COMMAND.join(" ")
            );
            eprintln!("  bench   our server and the Node server under the same load (idle, echo, broadcast, polling, rooms, cluster)");
            eprintln!("  bench-parsers  criterion benchmarks of both parsers");
            eprintln!(
                "  conformance  the reference apps against the official Node clients (FILTER: test files)"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every check of CI in order, stopping at the first failure.
fn ci() -> Result<(), String> {
    cargo(&["fmt", "--all", "--check"])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    cargo(TEST_COMMAND)?;
    conformance::run(&workspace_root(), &[])
}

/// The workspace root (the parent of this crate's folder).
fn workspace_root() -> std::path::PathBuf {
    let manifest = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(std::path::Path::to_path_buf).unwrap_or(manifest)
}

/// Runs `cargo` with `args`, failing when it does.
fn cargo(args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("xtask: cargo {}", args.join(" "));
    let status =
        Command::new(&cargo).args(args).status().map_err(|e| format!("could not run {cargo}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}
