//! Project automation, run as `cargo xtask <command>` (an alias in `.cargo/config.toml`).
//!
//! - `cargo xtask ci`: what `.ci/run` runs: format check, clippy with warnings as errors, the tests, and
//!   the conformance suite, then the browser tests.
//! - `cargo xtask bench [--quick] [--rounds N] [--servers a,b] [SCENARIO...]`: our servers, socketioxide,
//!   Node and a bare websocket floor under the same load,
//!   side by side (see `bench.rs`); `cargo xtask bench-parsers`: the parsers' criterion benchmarks.
//! - `cargo xtask conformance [FILTER...]`: the stack against the real Node peers (see `conformance.rs`).
//! - `cargo xtask soak [--cycles N] [--faults] [--adapter URL]`: connect/disconnect cycles, then checks
//!   that nothing is left behind (see `tests/src/bin/soak.rs`).
//! - `cargo xtask e2e-browser [FILTER...]`: the `chat` example driven in headless Chromium; `cargo xtask
//!   chat [ARGS...]`: the `chat` example, its browser client installed first (see `e2e_browser.rs`).
//! - `cargo xtask fuzz [--seconds N] [--runs N] [TARGET...]`: the libFuzzer targets of `fuzz/`, built and
//!   run on stable Rust (see `fuzz.rs`); `ci` runs them 10 s each.

mod bench;
mod chart;
mod conformance;
mod e2e_browser;
mod fuzz;

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
        Some("e2e-browser") => e2e_browser::run(&workspace_root(), &args[1..]),
        Some("chat") => e2e_browser::chat(&workspace_root(), &args[1..]),
        Some("soak") => soak(&args[1..]),
        Some("fuzz") => fuzz::run(&workspace_root(), &args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <ci | bench [--quick] [--rounds N] [--servers a,b] [SCENARIO...] | bench-parsers | conformance [--against-node] [FILTER...] | e2e-browser [FILTER...] | chat [ARGS...] | soak [ARGS...] | fuzz [--seconds N] [--runs N] [TARGET...]>"
            );
            eprintln!(
                "  ci      format check, clippy (-D warnings), `cargo {}`, the manual's doctests with all features, docs without warnings, conformance, e2e-browser, soak, then 10 s of each fuzz target",
                TEST_COMMAND.join(" ")
            );
            eprintln!("  bench   ours, socketioxide, Node and a websocket floor under the same load (idle, echo, broadcast, polling, rooms, cluster, client)");
            eprintln!("  bench-parsers  criterion benchmarks of both parsers");
            eprintln!(
                "  conformance  the reference apps against the official Node clients (FILTER: test files)"
            );
            eprintln!("  e2e-browser  the chat example in headless Chromium (FILTER: test files)");
            eprintln!(
                "  soak    connect/disconnect cycles, then leak checks (--cycles N, --faults, --adapter URL)"
            );
            eprintln!(
                "  chat    the chat example on http://localhost:3000 (ARGS: --port N, --client-js PATH)"
            );
            eprintln!(
                "  fuzz    build the fuzz targets on stable and run each for N seconds (default 60) or N runs; \
                 TARGET: engine_payload, socketio_json, socketio_msgpack, engine_request (default all); \
                 arguments after `--` go to libFuzzer"
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
    // The tests that need Redis or Postgres start throwaway servers of their own, and skip (saying so)
    // where the programs are missing; in CI none may be skipped.
    cargo_with_env(TEST_COMMAND, &[("SOCKETIO_REQUIRE_SERVICES", "1")])?;
    // The facade's manual with every feature on (its client, Redis and metrics pages), and the docs of
    // every crate without a warning (missing docs, broken links).
    cargo(&["test", "-p", "socketio", "--all-features", "--doc"])?;
    cargo_with_env(
        &["doc", "--workspace", "--all-features", "--no-deps"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    conformance::run(&workspace_root(), &[])?;
    e2e_browser::run(&workspace_root(), &[])?;
    // A reduced soak on the memory adapter and on Postgres, then one with the Redis server process
    // restarted during the cycles.
    soak(&["--cycles".into(), "10000".into()])?;
    // The Postgres soak on a throwaway Postgres of its own.
    let postgres = socketio_test_services::Service::start_postgres()?
        .ok_or("Postgres (initdb, postgres) is not installed: the Postgres soak cannot run")?;
    soak(&["--cycles".into(), "10000".into(), "--adapter".into(), postgres.url().into()])?;
    drop(postgres);
    soak(&["--cycles".into(), "20000".into(), "--faults".into()])?;
    // The fuzz targets' short mode: a build on stable and 10 s each, so that none rots.
    fuzz::run(&workspace_root(), &["--seconds".into(), "10".into()])
}

/// `cargo xtask soak [ARGS...]`: the soak program of the e2e crate, in release mode (see
/// tests/src/bin/soak.rs for its options).
fn soak(args: &[String]) -> Result<(), String> {
    let mut all = vec!["run", "--release", "-q", "-p", "socketio-e2e", "--bin", "soak", "--"];
    all.extend(args.iter().map(String::as_str));
    cargo(&all)
}

/// Where cargo puts its builds (`$CARGO_TARGET_DIR`, else `target/` under the workspace root).
pub(crate) fn target_dir(root: &std::path::Path) -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(std::path::PathBuf::from).unwrap_or_else(|| root.join("target"))
}

/// The workspace root (the parent of this crate's folder).
fn workspace_root() -> std::path::PathBuf {
    let manifest = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(std::path::Path::to_path_buf).unwrap_or(manifest)
}

/// Runs `cargo` with `args`, failing when it does.
fn cargo(args: &[&str]) -> Result<(), String> {
    cargo_with_env(args, &[])
}

/// Runs `cargo` with `args` and extra environment variables, failing when it does.
fn cargo_with_env(args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("xtask: cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .envs(env.iter().copied())
        .status()
        .map_err(|e| format!("could not run {cargo}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}
