//! `cargo xtask conformance`: the Rust stack checked against the real Node peers.
//!
//! 1. Copies `conformance/` (package.json, package-lock.json, the test files) to `target/conformance/`
//!    and installs the pinned npm packages there with `npm ci` (skipped while the lock file is unchanged).
//! 2. Builds the reference apps in release mode.
//! 3. Runs the Node test files (`node --test`) with the binaries' paths in `ENGINE_BIN`,
//!    `SOCKETIO_BIN` and `CLIENT_BIN` (the Rust client under remote control); each test file starts the servers it needs on free ports and stops them.
//!    The cluster scenarios get a throwaway Redis (`CONFORMANCE_REDIS`), Postgres
//!    (`CONFORMANCE_POSTGRES`) and Redis Cluster of three primaries (`CONFORMANCE_REDIS_CLUSTER`, its
//!    seed addresses), all stopped when the run ends.
//! 4. Prints a table scenario × result per file and exits non-zero on any failure.
//!
//! `--against-node` runs the Socket.IO files against the Node twin of the reference app
//! (`conformance/apps/reference.mjs` on the official `socket.io` server) instead: a test that fails
//! there asserts our assumptions rather than the reference behaviour.

use serde_json::Value;
use socketio_test_services::{RedisCluster, Service};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

/// The release binaries the tests drive: `(environment variable, package, example)`.
const BINARIES: &[(&str, &str, &str)] = &[
    ("ENGINE_BIN", "engineio-server", "reference-engine"),
    ("SOCKETIO_BIN", "socketio", "reference"),
    ("CLIENT_BIN", "socketio", "client-driver"),
    ("ADMIN_UI_BIN", "socketio", "admin-ui"),
    ("BOT_BIN", "socketio", "bot"),
    ("AXUM_BIN", "socketio", "axum"),
];

/// Runs the conformance suite; `args` are filters (keep only the test files whose name contains one of
/// them) and `--against-node`.
pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let against_node = args.iter().any(|a| a == "--against-node");
    let mut filters: Vec<String> = args.iter().filter(|a| !a.starts_with("--")).cloned().collect();
    if let Some(unknown) = args.iter().find(|a| a.starts_with("--") && *a != "--against-node") {
        return Err(format!("unknown option {unknown}"));
    }
    if against_node && filters.is_empty() {
        filters.push("socketio-".into());
    }
    let source = root.join("conformance");
    let target_dir = crate::target_dir(root);
    let work = target_dir.join("conformance");
    prepare(&source, &work)?;

    // The Socket.IO reference app with the cluster adapters, for the cluster scenarios.
    let mut build = vec![
        "build",
        "--release",
        "--features",
        "socketio/redis socketio/postgres socketio/msgpack socketio/client socketio/admin",
    ];
    for (_, package, example) in BINARIES {
        build.extend(["-p", package, "--example", example]);
    }
    crate::cargo(&build)?;

    let mut files: Vec<String> = fs::read_dir(work.join("tests"))
        .map_err(|e| format!("cannot list the conformance tests: {e}"))?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".test.mjs"))
        .filter(|name| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())))
        .map(|name| format!("tests/{name}"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err("no conformance test file matches".into());
    }

    let results = work.join("results.jsonl");
    let _ = fs::remove_file(&results);
    let mut node = Command::new("node");
    node.current_dir(&work)
        .args(["--test", "--test-reporter=spec", "--test-reporter-destination=stdout"])
        .arg("--test-reporter=./lib/jsonl-reporter.mjs")
        .arg("--test-reporter-destination=results.jsonl")
        .args(&files);
    for (var, _, example) in BINARIES {
        node.env(var, target_dir.join("release").join("examples").join(example));
    }
    if against_node {
        node.env("TARGET_SERVER", "node");
    }
    // The cluster scenarios' buses: a Redis and a Postgres of this run, stopped when it ends.
    let (redis, postgres) = buses()?;
    if let Some(redis) = &redis {
        node.env("CONFORMANCE_REDIS", format!("127.0.0.1:{}", redis.port()));
    }
    if let Some(postgres) = &postgres {
        node.env("CONFORMANCE_POSTGRES", postgres.url());
    }
    let redis_cluster = redis_cluster(&files)?;
    if let Some(cluster) = &redis_cluster {
        node.env("CONFORMANCE_REDIS_CLUSTER", cluster.seeds_from(0));
    }
    eprintln!("xtask: node --test {}", files.join(" "));
    let status = node.status().map_err(|e| format!("could not run node: {e}"))?;

    let text = fs::read_to_string(&results).unwrap_or_default();
    let (passed, failed, skipped) = report(&text);
    println!("\n{passed} passed, {failed} failed, {skipped} skipped");
    if failed > 0 || !status.success() {
        return Err(format!("conformance failed ({failed} failing scenarios; node exited with {status})"));
    }
    if passed == 0 {
        return Err("conformance ran no scenario".into());
    }
    Ok(())
}

/// A throwaway Redis and Postgres for the cluster scenarios. Where a program is missing, the scenarios
/// use the machine's own on the default ports (said once here), unless `SOCKETIO_REQUIRE_SERVICES` is set.
fn buses() -> Result<(Option<Service>, Option<Service>), String> {
    let redis = Service::start_redis(&[])?;
    let postgres = Service::start_postgres()?;
    for (name, service, fallback) in [
        ("redis-server", redis.is_some(), "127.0.0.1:6379"),
        ("Postgres", postgres.is_some(), "127.0.0.1:5432"),
    ] {
        if !service {
            if socketio_test_services::services_required() {
                return Err(format!("{name} is not installed, and SOCKETIO_REQUIRE_SERVICES is set"));
            }
            eprintln!("xtask: {name} is not installed: the cluster scenarios use the one at {fallback}");
        }
    }
    Ok((redis, postgres))
}

/// A throwaway Redis Cluster (three primaries) for the cluster scenarios, when they run. Without
/// `redis-server` and `redis-cli`, its scenarios are skipped, said loudly here, unless CI asks for every
/// service (`CI` or `SOCKETIO_REQUIRE_SERVICES` set): then it is an error.
fn redis_cluster(files: &[String]) -> Result<Option<RedisCluster>, String> {
    if !files.iter().any(|f| f.contains("socketio-cluster")) {
        return Ok(None);
    }
    let cluster = RedisCluster::start(3)?;
    if cluster.is_none() {
        let ci = std::env::var("CI").map(|v| !v.is_empty() && v != "false" && v != "0").unwrap_or(false);
        if ci || socketio_test_services::services_required() {
            return Err("redis-server and redis-cli are needed for the Redis Cluster scenarios (CI or \
                 SOCKETIO_REQUIRE_SERVICES is set): install Redis (Debian: redis-server and redis-tools)"
                .into());
        }
        eprintln!(
            "\nxtask: SKIPPING the Redis Cluster scenarios of socketio-cluster: `redis-server` and `redis-cli` \
             are not both installed (Debian: redis-server and redis-tools)\n"
        );
    }
    Ok(cluster)
}

/// Copies the suite to `work` and runs `npm ci` there unless the installed lock file is the same.
pub(crate) fn prepare(source: &Path, work: &Path) -> Result<(), String> {
    for dir in ["apps", "deploy", "lib", "tests"] {
        let _ = fs::remove_dir_all(work.join(dir));
        copy_dir(&source.join(dir), &work.join(dir))?;
    }
    for file in ["package.json", "package-lock.json"] {
        fs::copy(source.join(file), work.join(file)).map_err(|e| format!("cannot copy {file}: {e}"))?;
    }
    let lock = fs::read(source.join("package-lock.json")).map_err(|e| format!("package-lock.json: {e}"))?;
    let stamp = work.join("node_modules").join(".installed-lock.json");
    if fs::read(&stamp).ok().as_deref() == Some(lock.as_slice()) {
        return Ok(());
    }
    eprintln!("xtask: npm ci (in {})", work.display());
    let status = Command::new("npm")
        .current_dir(work)
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .status()
        .map_err(|e| format!("could not run npm: {e}"))?;
    if !status.success() {
        return Err(format!("npm ci failed ({status})"));
    }
    fs::write(&stamp, lock).map_err(|e| format!("cannot write {}: {e}", stamp.display()))
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    for entry in fs::read_dir(from).map_err(|e| format!("cannot read {}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let dest = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            fs::copy(entry.path(), &dest)
                .map_err(|e| format!("cannot copy {}: {e}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// One finished test: where it stands and how it ended.
struct Outcome {
    column: String,
    row: String,
    status: String,
    error: Option<String>,
}

/// Prints one table per test file (rows: scenarios; columns: the file's top-level suites, e.g. the
/// transport × parser configurations) and returns the counts (passed, failed, skipped).
fn report(jsonl: &str) -> (usize, usize, usize) {
    let mut files: BTreeMap<String, Vec<Outcome>> = BTreeMap::new();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for line in jsonl.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else { continue };
        let status = v["status"].as_str().unwrap_or("fail").to_string();
        let path: Vec<String> =
            v["path"].as_array().into_iter().flatten().filter_map(|p| p.as_str().map(String::from)).collect();
        // A suite is reported only when it fails by itself (e.g. a `before` hook threw).
        if v["suite"].as_bool() == Some(true) && (status != "fail" || path.is_empty()) {
            continue;
        }
        match status.as_str() {
            "pass" => passed += 1,
            "skip" => skipped += 1,
            _ => failed += 1,
        }
        let (column, row) = match path.as_slice() {
            [] => (String::new(), String::new()),
            [only] => (String::new(), only.clone()),
            [first, rest @ ..] => (first.clone(), rest.join(" › ")),
        };
        let error = v["error"].as_str().map(String::from);
        let file = v["file"].as_str().unwrap_or("").to_string();
        files.entry(file).or_default().push(Outcome { column, row, status, error });
    }
    for (file, outcomes) in &files {
        println!("\n## {file}\n");
        let mut columns: Vec<&str> = Vec::new();
        let mut rows: Vec<&str> = Vec::new();
        for o in outcomes {
            if !columns.contains(&o.column.as_str()) {
                columns.push(&o.column);
            }
            if !rows.contains(&o.row.as_str()) {
                rows.push(&o.row);
            }
        }
        let header: Vec<&str> = columns.iter().map(|c| if c.is_empty() { "result" } else { c }).collect();
        println!("| scenario | {} |", header.join(" | "));
        println!("|---|{}", "---|".repeat(columns.len()));
        for row in &rows {
            let cells: Vec<&str> = columns
                .iter()
                .map(|col| {
                    match outcomes
                        .iter()
                        .find(|o| o.row == *row && o.column == *col)
                        .map(|o| o.status.as_str())
                    {
                        Some("pass") => "✅",
                        Some("skip") => "skipped",
                        Some(_) => "❌",
                        None => "",
                    }
                })
                .collect();
            println!("| {row} | {} |", cells.join(" | "));
        }
        for o in outcomes.iter().filter(|o| o.status == "fail") {
            let at = if o.column.is_empty() { o.row.clone() } else { format!("{} › {}", o.column, o.row) };
            println!("- ❌ {at}: {}", o.error.as_deref().unwrap_or("failed").replace('\n', " "));
        }
    }
    (passed, failed, skipped)
}
