//! Project automation, run as `cargo xtask <command>` (an alias in `.cargo/config.toml`).
//!
//! - `cargo xtask ci`: what `.ci/run` runs: format check, clippy with warnings as errors, the tests.
//! - `cargo xtask bench`: the parser benchmarks (criterion).

use std::process::{Command, ExitCode};

/// The test command written in README.md; `.ci/run` and `cargo xtask ci` both run it.
const TEST_COMMAND: &[&str] = &["test", "--workspace"];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("bench") => cargo(&["bench", "-p", "engineio-parser", "-p", "socketio-parser"]),
        _ => {
            eprintln!("usage: cargo xtask <ci | bench>");
            eprintln!(
                "  ci      format check, clippy (-D warnings), then `cargo {}`",
                TEST_COMMAND.join(" ")
            );
            eprintln!("  bench   criterion benchmarks of both parsers");
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
    cargo(TEST_COMMAND)
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
