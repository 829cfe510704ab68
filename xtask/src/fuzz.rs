//! `cargo xtask fuzz [--seconds N] [--runs N] [TARGET...] [-- LIBFUZZER_ARGS...]`: builds the libFuzzer
//! targets of `fuzz/` and runs each for N seconds (default 60), one after the other.
//!
//! # On stable Rust
//!
//! `cargo fuzz` asks for nightly because it builds with AddressSanitizer (`-Zsanitizer=address`). The
//! coverage instrumentation libFuzzer needs is not nightly-only: `-Cpasses=sancov-module` and the
//! `-Cllvm-args=-sanitizer-coverage-*` options are stable codegen flags, and `libfuzzer-sys` compiles
//! libFuzzer itself with the system C++ compiler. So this command builds the targets with those flags
//! (what cargo-fuzz passes, minus the sanitizer) and runs the binaries directly. Without ASan, what is
//! lost is the detection of memory errors in `unsafe` code; everything else is caught: panics (with
//! overflow checks and debug assertions on) abort through the panic hook `libfuzzer-sys` installs, even
//! inside tokio tasks, and libFuzzer reports hangs (`-timeout`) and memory blow-ups (`-rss_limit_mb`).
//! The fuzz crate keeps the cargo-fuzz layout, so `cargo +nightly fuzz run TARGET` works as well.
//!
//! The build goes to `target/fuzz` (its own target dir: the flags would otherwise rebuild the main
//! workspace), with an explicit `--target`, so that the flags apply to the fuzzed code only and not to
//! build scripts and proc macros (which could not link the coverage callbacks).
//!
//! Each target's corpus lives in `target/fuzz/corpus/TARGET`, seeded from the committed
//! `fuzz/seeds/TARGET/` on every run (so what libFuzzer adds is kept between runs but never committed);
//! `fuzz/dicts/TARGET.dict`, when present, is passed as a dictionary. A crash leaves its input in
//! `target/fuzz/artifacts/TARGET/`, the whole libFuzzer log in `target/fuzz/logs/TARGET.log`, and the
//! command fails.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The coverage flags of cargo-fuzz that stable rustc accepts, plus the checks a fuzz build wants on.
const RUSTFLAGS: &[&str] = &[
    "--cfg",
    "fuzzing",
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
    "-Cdebug-assertions",
    "-Coverflow-checks",
];

/// What one target's run gave.
struct Outcome {
    target: String,
    executions: Option<u64>,
    per_second: Option<u64>,
    corpus: usize,
    crash: Option<String>,
}

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let mut seconds = None;
    let mut runs = None;
    let mut wanted = Vec::new();
    let mut extra = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--seconds" => seconds = Some(number(iter.next(), "--seconds")?),
            "--runs" => runs = Some(number(iter.next(), "--runs")?),
            "--" => {
                extra.extend(iter.by_ref().cloned());
            }
            other if other.starts_with('-') => return Err(format!("fuzz: unknown option {other}")),
            target => wanted.push(target.to_string()),
        }
    }
    // Bounded by time unless only a number of runs is asked for.
    let seconds = match (seconds, runs) {
        (None, Some(_)) => None,
        (seconds, _) => Some(seconds.unwrap_or(60)),
    };

    let fuzz_dir = root.join("fuzz");
    let all = targets(&fuzz_dir)?;
    if let Some(unknown) = wanted.iter().find(|t| !all.contains(t)) {
        return Err(format!("fuzz: no target {unknown} (targets: {})", all.join(", ")));
    }
    let targets = if wanted.is_empty() { all } else { wanted };

    let target_dir = root.join("target").join("fuzz");
    let triple = host_triple()?;
    build(&fuzz_dir, &target_dir, &triple, &targets)?;

    let bin_dir = target_dir.join(&triple).join("release");
    let mut outcomes = Vec::new();
    for target in &targets {
        let outcome = fuzz_one(&fuzz_dir, &target_dir, &bin_dir, target, seconds, runs, &extra)?;
        outcomes.push(outcome);
    }

    eprintln!();
    eprintln!("{:<20} {:>14} {:>10} {:>8}  result", "target", "executions", "exec/s", "corpus");
    for o in &outcomes {
        let show = |n: Option<u64>| n.map_or("?".to_string(), |n| n.to_string());
        let result = match &o.crash {
            None => "no crash".to_string(),
            Some(artifact) => format!("CRASH: {artifact}"),
        };
        eprintln!(
            "{:<20} {:>14} {:>10} {:>8}  {result}",
            o.target,
            show(o.executions),
            show(o.per_second),
            o.corpus
        );
    }
    let crashed: Vec<&Outcome> = outcomes.iter().filter(|o| o.crash.is_some()).collect();
    if crashed.is_empty() {
        return Ok(());
    }
    eprintln!();
    for o in &crashed {
        if let Some(artifact) = &o.crash {
            eprintln!(
                "reproduce with: {} {artifact}",
                bin_dir.join(&o.target).strip_prefix(root).unwrap_or(&bin_dir).display()
            );
        }
    }
    Err(format!("fuzz: {} target(s) crashed", crashed.len()))
}

fn number(arg: Option<&String>, option: &str) -> Result<u64, String> {
    arg.and_then(|n| n.parse().ok()).ok_or_else(|| format!("fuzz: {option} takes a number"))
}

/// The targets: the files of `fuzz/fuzz_targets/`.
fn targets(fuzz_dir: &Path) -> Result<Vec<String>, String> {
    let dir = fuzz_dir.join("fuzz_targets");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("fuzz: {}: {e}", dir.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".rs").map(str::to_string))
        .collect();
    names.sort();
    Ok(names)
}

/// The host's target triple, from `rustc -vV`.
fn host_triple() -> Result<String, String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(&rustc).arg("-vV").output().map_err(|e| format!("could not run {rustc}: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_string)
        .ok_or_else(|| format!("fuzz: no host triple in `{rustc} -vV`"))
}

fn build(fuzz_dir: &Path, target_dir: &Path, triple: &str, targets: &[String]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = fuzz_dir.join("Cargo.toml");
    let mut args = vec![
        "build".to_string(),
        "--release".into(),
        "--manifest-path".into(),
        manifest.display().to_string(),
        "--target".into(),
        triple.into(),
    ];
    for target in targets {
        args.push("--bin".into());
        args.push(target.clone());
    }
    eprintln!("xtask: RUSTFLAGS=\"{}\" cargo {}", RUSTFLAGS.join(" "), args.join(" "));
    let status = Command::new(&cargo)
        .args(&args)
        .env("CARGO_TARGET_DIR", target_dir)
        .env("RUSTFLAGS", RUSTFLAGS.join(" "))
        // Takes precedence over RUSTFLAGS when set by an outer cargo.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .map_err(|e| format!("could not run {cargo}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("fuzz: building the targets failed ({status})"))
    }
}

fn fuzz_one(
    fuzz_dir: &Path,
    target_dir: &Path,
    bin_dir: &Path,
    target: &str,
    seconds: Option<u64>,
    runs: Option<u64>,
    extra: &[String],
) -> Result<Outcome, String> {
    let corpus = target_dir.join("corpus").join(target);
    let artifacts = target_dir.join("artifacts").join(target);
    let logs = target_dir.join("logs");
    for dir in [&corpus, &artifacts, &logs] {
        std::fs::create_dir_all(dir).map_err(|e| format!("fuzz: {}: {e}", dir.display()))?;
    }
    let seeds = copy_seeds(&fuzz_dir.join("seeds").join(target), &corpus)?;

    let mut args = vec![
        "-rss_limit_mb=2048".to_string(),
        "-timeout=10".into(),
        "-print_final_stats=1".into(),
        format!("-artifact_prefix={}/", artifacts.display()),
    ];
    if let Some(seconds) = seconds {
        args.push(format!("-max_total_time={seconds}"));
    }
    if let Some(runs) = runs {
        args.push(format!("-runs={runs}"));
    }
    let dict = fuzz_dir.join("dicts").join(format!("{target}.dict"));
    if dict.exists() {
        args.push(format!("-dict={}", dict.display()));
    }
    args.extend(extra.iter().cloned());
    args.push(corpus.display().to_string());

    let bin = bin_dir.join(target);
    eprintln!();
    eprintln!("xtask: fuzzing {target} ({seeds} seeds): {} {}", bin.display(), args.join(" "));
    let log_path = logs.join(format!("{target}.log"));
    let mut log =
        std::fs::File::create(&log_path).map_err(|e| format!("fuzz: {}: {e}", log_path.display()))?;
    let mut child = Command::new(&bin)
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not run {}: {e}", bin.display()))?;
    let mut executions = None;
    let mut per_second = None;
    let mut artifact = None;
    let mut crash_report = false;
    if let Some(stderr) = child.stderr.take() {
        // Read to the end whatever the bytes (libFuzzer may print an input as it is): stopping early
        // would leave it blocked on a full pipe.
        for line in BufReader::new(stderr).split(b'\n') {
            let Ok(line) = line else { break };
            let line = String::from_utf8_lossy(&line).into_owned();
            let _ = writeln!(log, "{line}");
            if let Some(n) = line.strip_prefix("stat::number_of_executed_units: ") {
                executions = n.trim().parse().ok();
            } else if let Some(n) = line.strip_prefix("stat::average_exec_per_sec: ") {
                per_second = n.trim().parse().ok();
            } else if let Some((_, path)) = line.split_once("Test unit written to ") {
                artifact = Some(path.trim().to_string());
            }
            // libFuzzer's progress lines start with `#`; print the start, the end, and any report.
            crash_report |= line.starts_with("==") || line.contains("panicked at");
            let progress = line.contains("INITED") || line.contains("DONE") || line.contains("pulse");
            if progress || crash_report || line.starts_with("stat::") {
                eprintln!("  {line}");
            }
        }
    }
    let status = child.wait().map_err(|e| format!("fuzz: waiting for {target}: {e}"))?;
    let corpus_len = std::fs::read_dir(&corpus).map(|d| d.count()).unwrap_or(0);
    let crash = if status.success() {
        None
    } else {
        eprintln!("  {target} failed ({status}); full log: {}", log_path.display());
        Some(artifact.unwrap_or_else(|| format!("no artifact written, see {}", log_path.display())))
    };
    Ok(Outcome { target: target.to_string(), executions, per_second, corpus: corpus_len, crash })
}

/// Copies the committed seeds into the working corpus; returns how many there are.
fn copy_seeds(seeds: &Path, corpus: &Path) -> Result<usize, String> {
    let Ok(entries) = std::fs::read_dir(seeds) else { return Ok(0) };
    let mut count = 0;
    for entry in entries.filter_map(Result::ok) {
        let from: PathBuf = entry.path();
        if from.is_file() {
            std::fs::copy(&from, corpus.join(entry.file_name()))
                .map_err(|e| format!("fuzz: copying {}: {e}", from.display()))?;
            count += 1;
        }
    }
    Ok(count)
}
