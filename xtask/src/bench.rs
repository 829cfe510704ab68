//! `cargo xtask bench`: our reference app and the Node `socket.io` 4.8 twin
//! (`conformance/apps/reference.mjs`) under the same load, in one run, side by side.
//!
//! Each scenario starts one server at a time pinned to CPU 1 (`taskset`), runs the load generator
//! (`xtask/src/bin/loadgen.rs`, release build) pinned to CPU 0, and reads the server's CPU time and RSS
//! from /proc. The figures go to a markdown table, printed and written to `target/bench/report.md`,
//! with the ratio ours / Node for each.
//!
//! `cargo xtask bench [--quick] [SCENARIO...]`: `--quick` runs smaller loads (a smoke run);
//! scenarios: idle, echo, broadcast, polling, rooms, cluster (two nodes on the Redis at 127.0.0.1:6379,
//! started if it is not running). A PNG chart of the headline figures goes next to the report
//! (`target/bench/report.png`). `cargo xtask bench-parsers` runs the parsers' criterion benchmarks.

use serde_json::Value;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A scenario: its name, the load generator's flags (full, quick), how many server nodes it needs
/// (two share a Redis adapter), and the figures it reports as `(key, label, lower is better)`; the
/// first `charted` of them are drawn in the chart.
pub(crate) struct Scenario {
    pub(crate) name: &'static str,
    full: &'static [&'static str],
    quick: &'static [&'static str],
    nodes: usize,
    pub(crate) figures: &'static [(&'static str, &'static str, bool)],
    pub(crate) charted: usize,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "idle",
        full: &["--clients", "10000"],
        quick: &["--clients", "500"],
        nodes: 1,
        charted: 1,
        figures: &[
            ("rss_per_connection_bytes", "server RSS per connection (bytes)", true),
            ("connections_per_second", "connections opened per second", false),
        ],
    },
    Scenario {
        name: "echo",
        full: &["--clients", "50", "--messages", "2000"],
        quick: &["--clients", "10", "--messages", "200"],
        nodes: 1,
        charted: 1,
        figures: &[
            ("cpu_us_per_message", "server CPU per message (µs)", true),
            ("messages_per_second", "messages per second", false),
            ("p50_us", "latency p50 (µs)", true),
            ("p99_us", "latency p99 (µs)", true),
            ("p999_us", "latency p99.9 (µs)", true),
        ],
    },
    Scenario {
        name: "broadcast",
        full: &["--clients", "1000", "--messages", "200"],
        quick: &["--clients", "100", "--messages", "50"],
        nodes: 1,
        charted: 1,
        figures: &[
            ("cpu_ns_per_delivery", "server CPU per delivery (ns)", true),
            ("deliveries_per_second", "deliveries per second", false),
        ],
    },
    Scenario {
        name: "polling",
        full: &["--clients", "500", "--messages", "100"],
        quick: &["--clients", "20", "--messages", "20"],
        nodes: 1,
        charted: 1,
        figures: &[
            ("cpu_us_per_message", "server CPU per message (µs)", true),
            ("messages_per_second", "messages per second", false),
            ("p50_us", "latency p50 (µs)", true),
            ("p99_us", "latency p99 (µs)", true),
        ],
    },
    Scenario {
        name: "rooms",
        full: &["--clients", "10000", "--rooms", "100", "--messages", "2000"],
        quick: &["--clients", "500", "--rooms", "10", "--messages", "100"],
        nodes: 1,
        charted: 1,
        figures: &[
            ("cpu_ns_per_delivery", "server CPU per delivery (ns)", true),
            ("deliveries_per_second", "deliveries per second", false),
        ],
    },
    Scenario {
        name: "cluster",
        full: &["--clients", "1000", "--messages", "200"],
        quick: &["--clients", "100", "--messages", "50"],
        nodes: 2,
        charted: 2,
        figures: &[
            ("cpu_ns_per_delivery_first", "sender's node: CPU per delivery (ns)", true),
            ("cpu_ns_per_delivery_second", "other node: CPU per delivery (ns)", true),
            ("deliveries_per_second", "deliveries per second", false),
        ],
    },
];

/// The Redis the cluster scenario uses.
const REDIS: &str = "127.0.0.1:6379";

/// The servers under test: a label and how to start it.
const SERVERS: &[&str] = &["rust", "node"];

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    if let Some(unknown) = args.iter().find(|a| a.starts_with("--") && *a != "--quick") {
        return Err(format!("unknown option {unknown}"));
    }
    let wanted: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    for name in &wanted {
        if !SCENARIOS.iter().any(|s| s.name == name.as_str()) {
            return Err(format!("unknown scenario {name}"));
        }
    }
    for tool in ["taskset", "node"] {
        if Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_err() {
            return Err(format!("{tool} is needed"));
        }
    }
    let target_dir = crate::target_dir(root);
    let work = target_dir.join("conformance");
    crate::conformance::prepare(&root.join("conformance"), &work)?;
    crate::cargo(&[
        "build",
        "--release",
        // The conformance run's features, so that both share one build of the reference app.
        "--features",
        "socketio/redis socketio/postgres socketio/msgpack socketio/client",
        "-p",
        "socketio",
        "--example",
        "reference",
        "-p",
        "xtask",
        "--bin",
        "loadgen",
    ])?;
    let loadgen = target_dir.join("release").join("loadgen");
    let reference = target_dir.join("release").join("examples").join("reference");

    let chosen: Vec<&Scenario> =
        SCENARIOS.iter().filter(|s| wanted.is_empty() || wanted.iter().any(|w| *w == s.name)).collect();
    if chosen.iter().any(|s| s.nodes > 1) {
        ensure_redis()?;
    }
    let mut results: Vec<(&Scenario, Vec<Value>)> = Vec::new();
    for scenario in chosen {
        let mut row = Vec::new();
        for server in SERVERS {
            eprintln!("xtask bench: {} on the {server} server", scenario.name);
            let adapter = if scenario.nodes > 1 { format!("redis://{REDIS}") } else { "memory".into() };
            let mut children = Vec::new();
            let outcome = (|| {
                let mut target = Vec::new();
                for (i, ports_flag) in ["--port", "--port2"].iter().enumerate().take(scenario.nodes) {
                    let mut child = start_server(server, &reference, &work, &adapter)?;
                    let port = read_port(&mut child);
                    let pid = child.id();
                    children.push(child);
                    target.extend([ports_flag.to_string(), port?.to_string()]);
                    target.extend([if i == 0 { "--pid" } else { "--pid2" }.to_string(), pid.to_string()]);
                }
                let flags = if quick { scenario.quick } else { scenario.full };
                let output = Command::new("taskset")
                    .args(["-c", "0"])
                    .arg(&loadgen)
                    .args(["--scenario", scenario.name])
                    .args(&target)
                    .args(flags)
                    .stderr(Stdio::inherit())
                    .output()
                    .map_err(|e| format!("could not run the load generator: {e}"))?;
                if !output.status.success() {
                    return Err(format!("the load generator failed on {server} ({})", output.status));
                }
                let line = String::from_utf8_lossy(&output.stdout);
                serde_json::from_str::<Value>(line.trim())
                    .map(|v| v["figures"].clone())
                    .map_err(|e| format!("unreadable figures {line:?}: {e}"))
            })();
            for mut child in children {
                let _ = child.kill();
                let _ = child.wait();
            }
            row.push(outcome?);
        }
        results.push((scenario, row));
    }

    let report = render(&results, quick);
    println!("\n{report}");
    let dir = target_dir.join("bench");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    std::fs::write(dir.join("report.md"), &report).map_err(|e| format!("cannot write the report: {e}"))?;
    eprintln!("xtask bench: written to {}", dir.join("report.md").display());
    let chart = dir.join("report.png");
    match crate::chart::draw(&chart, &results, quick) {
        Ok(()) => eprintln!("xtask bench: chart in {}", chart.display()),
        Err(e) => return Err(format!("cannot draw the chart: {e}")),
    }
    Ok(())
}

/// Checks that Redis answers at [`REDIS`]; starts it (as CI does) if it does not.
fn ensure_redis() -> Result<(), String> {
    let answers = || std::net::TcpStream::connect(REDIS).is_ok();
    if answers() {
        return Ok(());
    }
    eprintln!("xtask bench: starting redis-server for the cluster scenario");
    let started = Command::new("redis-server")
        .args(["--daemonize", "yes", "--port", "6379", "--save", "", "--appendonly", "no"])
        .status()
        .map_err(|e| format!("the cluster scenario needs Redis at {REDIS}, and redis-server failed: {e}"))?;
    for _ in 0..50 {
        if answers() {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Err(format!("Redis does not answer at {REDIS} (redis-server exited with {started})"))
}

/// Starts a server pinned to CPU 1, printing `listening on PORT` when ready.
fn start_server(server: &str, reference: &Path, work: &Path, adapter: &str) -> Result<Child, String> {
    let mut command = Command::new("taskset");
    command.args(["-c", "1"]);
    match server {
        "rust" => command.arg(reference),
        _ => command.arg("node").arg(work.join("apps").join("reference.mjs")).current_dir(work),
    };
    command
        .args(["--port", "0", "--adapter", adapter])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("could not start the {server} server: {e}"))
}

fn read_port(child: &mut Child) -> Result<u16, String> {
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let port = loop {
        let line = lines.next().ok_or("the server exited before listening")?.map_err(|e| e.to_string())?;
        if let Some(port) = line.strip_prefix("listening on ").and_then(|p| p.trim().parse::<u16>().ok()) {
            break port;
        }
    };
    // Keep draining its stdout so that it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Ok(port)
}

/// The markdown table: one row per figure, the two servers and the ratio ours / Node.
fn render(results: &[(&Scenario, Vec<Value>)], quick: bool) -> String {
    let with_nodes = results.iter().any(|(s, _)| s.nodes > 1);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| scenario | figure | ours (Rust) | Node socket.io 4.8 | ours / Node |\n|---|---|---:|---:|---:|"
    );
    for (scenario, row) in results {
        for (key, label, lower_is_better) in scenario.figures {
            let ours = row[0][key].as_f64().unwrap_or(f64::NAN);
            let node = row[1][key].as_f64().unwrap_or(f64::NAN);
            let ratio = ours / node;
            let better = if (ratio < 1.0) == *lower_is_better { "better" } else { "worse" };
            let _ = writeln!(
                out,
                "| {} | {label} | {} | {} | {ratio:.2} ({better}) |",
                scenario.name,
                format_figure(ours),
                format_figure(node)
            );
        }
    }
    let _ = writeln!(
        out,
        "\nOne server core (taskset -c 1), the load generator on the other; CPU and RSS read from /proc.{}{}",
        if with_nodes { " The cluster's two nodes share that core; Redis runs unpinned." } else { "" },
        if quick { " Quick (smoke) loads: not the benchmark's figures." } else { "" }
    );
    out
}

fn format_figure(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}
