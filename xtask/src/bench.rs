//! `cargo xtask bench`: our servers, socketioxide, the Node `socket.io` 4.8 twin of the reference app
//! (`conformance/apps/reference.mjs`) and a bare websocket floor under the same load, in one run, side
//! by side (see [`SERVERS`]).
//!
//! Each scenario starts one server at a time pinned to CPU 1 (`taskset`), runs the load generator
//! (`xtask/src/bin/loadgen.rs`, release build) pinned to CPU 0, and reads the server's CPU time and RSS
//! from /proc. The figures go to a markdown table, printed and written to `target/bench/report.md`,
//! with the ratios ours / socketioxide, ours / floor and ours / Node for each.
//!
//! `cargo xtask bench [--quick] [--rounds N] [--servers a,b] [SCENARIO...]`: `--quick` runs smaller
//! loads (a smoke run, one round); `--rounds` (default 3) interleaved rounds, of which the table gives
//! the median; scenarios: idle, echo, broadcast, large (binary broadcasts of 200 KB: peak RSS), polling,
//! rooms, cluster (two nodes on a Redis the bench starts for itself). The floor serves echo and broadcast
//! only: it has no binary attachments. A PNG chart of the headline figures goes next to the report
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
            ("cpu_us_per_connection", "server CPU per connection opened (µs)", true),
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
        name: "large",
        full: &["--clients", "1000", "--messages", "20", "--size", "200000"],
        quick: &["--clients", "100", "--messages", "5", "--size", "200000"],
        nodes: 1,
        charted: 1,
        figures: &[
            ("rss_growth_mb", "server peak RSS growth (MB)", true),
            ("cpu_us_per_delivery", "server CPU per delivery (µs)", true),
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

/// A server under test: its key, its column's label, and the scenarios it serves (`None`: all).
pub(crate) struct Server {
    pub(crate) key: &'static str,
    pub(crate) label: &'static str,
    scenarios: Option<&'static [&'static str]>,
}

/// The servers, in column order. `ours` is the bench app (`socketio/examples/bench-app.rs`: the contract
/// and nothing else, as a user would write it); `reference` our reference app with its ~20 listeners per
/// socket; `socketioxide` 0.18 on its hyper service (`xtask/peers/socketioxide`); `node` the Node twin
/// of the reference app; `floor` bare tokio-tungstenite (`src/bin/floor.rs`), the cost of the transport.
pub(crate) const SERVERS: &[Server] = &[
    Server {
        key: "ours",
        label: "ours (bench app)",
        scenarios: Some(&["idle", "echo", "broadcast", "large", "polling", "rooms"]),
    },
    Server { key: "reference", label: "ours (reference app)", scenarios: None },
    Server {
        key: "socketioxide",
        label: "socketioxide 0.18",
        scenarios: Some(&["idle", "echo", "broadcast", "large", "polling", "rooms"]),
    },
    Server { key: "node", label: "Node socket.io 4.8", scenarios: None },
    Server { key: "floor", label: "floor (tokio-tungstenite)", scenarios: Some(&["echo", "broadcast"]) },
];

impl Server {
    fn serves(&self, scenario: &str) -> bool {
        self.scenarios.is_none_or(|list| list.contains(&scenario))
    }
}

/// One scenario's results: for each server of [`SERVERS`] that serves it, the figures of each round.
pub(crate) struct Row<'a> {
    pub(crate) scenario: &'a Scenario,
    pub(crate) rounds: Vec<Option<Vec<Value>>>,
}

impl Row<'_> {
    /// The median over the rounds of figure `key` of server `index`, with the lowest and highest.
    pub(crate) fn figure(&self, index: usize, key: &str) -> Option<(f64, f64, f64)> {
        let rounds = self.rounds.get(index)?.as_ref()?;
        let mut values: Vec<f64> = rounds.iter().filter_map(|r| r[key].as_f64()).collect();
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        Some((values[values.len() / 2], values[0], values[values.len() - 1]))
    }
}

/// The binaries the bench runs.
struct Binaries {
    loadgen: std::path::PathBuf,
    reference: std::path::PathBuf,
    bench_app: std::path::PathBuf,
    floor: std::path::PathBuf,
    clientgen: std::path::PathBuf,
    socketioxide: std::path::PathBuf,
}

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    let mut rounds = if quick { 1 } else { 3 };
    let mut wanted: Vec<String> = Vec::new();
    let mut only: Option<Vec<String>> = None;
    let mut args_iter = args.iter();
    while let Some(arg) = args_iter.next() {
        match arg.as_str() {
            "--quick" => {}
            "--rounds" => {
                rounds =
                    args_iter.next().and_then(|n| n.parse().ok()).filter(|n| *n > 0).ok_or("--rounds N")?
            }
            "--servers" => {
                only = Some(args_iter.next().ok_or("--servers a,b")?.split(',').map(str::to_owned).collect())
            }
            other if other.starts_with("--") => return Err(format!("unknown option {other}")),
            name => wanted.push(name.to_string()),
        }
    }
    for name in &wanted {
        if name != "client" && !SCENARIOS.iter().any(|s| s.name == name.as_str()) {
            return Err(format!("unknown scenario {name}"));
        }
    }
    if let Some(only) = &only {
        if let Some(unknown) = only.iter().find(|k| !SERVERS.iter().any(|s| s.key == k.as_str())) {
            return Err(format!("unknown server {unknown}"));
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
        "socketio/redis socketio/postgres socketio/msgpack socketio/client socketio/admin",
        "-p",
        "socketio",
        "--example",
        "reference",
        "--example",
        "bench-app",
        "-p",
        "xtask",
        "--bin",
        "loadgen",
        "--bin",
        "floor",
        "--bin",
        "clientgen",
    ])?;
    // socketioxide is a workspace of its own (its dependencies stay out of the project's build).
    let peers = target_dir.join("bench-peers");
    let manifest = root.join("xtask").join("peers").join("socketioxide").join("Cargo.toml");
    crate::cargo(&[
        "build",
        "--release",
        "--locked",
        "--manifest-path",
        &manifest.to_string_lossy(),
        "--target-dir",
        &peers.to_string_lossy(),
    ])?;
    let release = target_dir.join("release");
    let binaries = Binaries {
        loadgen: release.join("loadgen"),
        reference: release.join("examples").join("reference"),
        bench_app: release.join("examples").join("bench-app"),
        floor: release.join("floor"),
        clientgen: release.join("clientgen"),
        socketioxide: peers.join("release").join("bench-socketioxide"),
    };

    let chosen: Vec<&Scenario> =
        SCENARIOS.iter().filter(|s| wanted.is_empty() || wanted.iter().any(|w| w == s.name)).collect();
    let servers: Vec<(usize, &Server)> = SERVERS
        .iter()
        .enumerate()
        .filter(|(_, s)| only.as_ref().is_none_or(|only| only.iter().any(|k| k == s.key)))
        .collect();
    // The cluster scenario's Redis: one of this run's own.
    let redis = if chosen.iter().any(|s| s.nodes > 1) {
        Some(
            socketio_test_services::Service::start_redis(&[])?
                .ok_or("the cluster scenario needs redis-server (not installed)")?,
        )
    } else {
        None
    };
    let mut results: Vec<Row> = Vec::new();
    for scenario in chosen {
        let mut row = Row { scenario, rounds: vec![None; SERVERS.len()] };
        // Rounds interleave the servers, so that a slow patch of the machine hits them all alike.
        for round in 0..rounds {
            for (index, server) in &servers {
                if !server.serves(scenario.name) {
                    continue;
                }
                eprintln!(
                    "xtask bench: {} on {} (round {}/{rounds})",
                    scenario.name,
                    server.label,
                    round + 1
                );
                let adapter = match &redis {
                    Some(redis) if scenario.nodes > 1 => redis.url().to_string(),
                    _ => "memory".into(),
                };
                let figures = run_one(scenario, server, &binaries, &work, &adapter, quick)?;
                row.rounds[*index].get_or_insert_with(Vec::new).push(figures);
            }
        }
        results.push(row);
    }
    drop(redis);
    let clients = if wanted.is_empty() || wanted.iter().any(|w| w == "client") {
        Some(client_scenario(&binaries, &work, quick, rounds)?)
    } else {
        None
    };

    let mut report = render(&results, quick, rounds);
    if let Some(clients) = &clients {
        report.push('\n');
        report.push_str(&render_clients(clients, quick, rounds));
    }
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

/// One scenario on one server: starts its nodes, runs the load generator, stops them; the figures.
fn run_one(
    scenario: &Scenario,
    server: &Server,
    binaries: &Binaries,
    work: &Path,
    adapter: &str,
    quick: bool,
) -> Result<Value, String> {
    let mut children = Vec::new();
    let outcome = (|| {
        let mut target = Vec::new();
        for (i, ports_flag) in ["--port", "--port2"].iter().enumerate().take(scenario.nodes) {
            let mut child = start_server(server.key, binaries, work, adapter)?;
            let port = read_port(&mut child);
            let pid = child.id();
            children.push(child);
            target.extend([ports_flag.to_string(), port?.to_string()]);
            target.extend([if i == 0 { "--pid" } else { "--pid2" }.to_string(), pid.to_string()]);
        }
        let flags = if quick { scenario.quick } else { scenario.full };
        let output = Command::new("taskset")
            .args(["-c", "0"])
            .arg(&binaries.loadgen)
            .args(["--scenario", scenario.name])
            .args(&target)
            .args(flags)
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("could not run the load generator: {e}"))?;
        if !output.status.success() {
            return Err(format!("the load generator failed on {} ({})", server.label, output.status));
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
    outcome
}

/// The client scenario's figures: `(key, label, lower is better)`.
const CLIENT_FIGURES: &[(&str, &str, bool)] = &[
    ("rss_per_connection_bytes", "client RSS per connection (bytes)", true),
    ("connections_per_second", "connections opened per second", false),
    ("echo_all_ms", "one acked echo on every connection (ms)", true),
];

/// The client scenario: our client (`src/bin/clientgen.rs`) and socket.io-client 4.8 in Node
/// (`conformance/apps/clientgen.mjs`), each pinned to CPU 0, open N websocket connections to the bench
/// app (pinned to CPU 1) and do one acked echo on each; the figures of each round, ours then Node's.
fn client_scenario(
    binaries: &Binaries,
    work: &Path,
    quick: bool,
    rounds: usize,
) -> Result<[Vec<Value>; 2], String> {
    let clients = if quick { "200" } else { "2000" };
    let mut figures: [Vec<Value>; 2] = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        for (index, label) in ["ours (socketio-client)", "socket.io-client 4.8"].iter().enumerate() {
            eprintln!("xtask bench: client on {label} (round {}/{rounds})", round + 1);
            let mut server = start_server("ours", binaries, work, "memory")?;
            let outcome = (|| {
                let port = read_port(&mut server)?.to_string();
                let mut command = Command::new("taskset");
                command.args(["-c", "0"]);
                if index == 0 {
                    command.arg(&binaries.clientgen);
                } else {
                    command.arg("node").arg(work.join("apps").join("clientgen.mjs")).current_dir(work);
                }
                let output = command
                    .args(["--port", &port, "--clients", clients])
                    .stderr(Stdio::inherit())
                    .output()
                    .map_err(|e| format!("could not run the {label} client: {e}"))?;
                if !output.status.success() {
                    return Err(format!("the {label} client failed ({})", output.status));
                }
                let line = String::from_utf8_lossy(&output.stdout);
                serde_json::from_str::<Value>(line.trim())
                    .map(|v| v["figures"].clone())
                    .map_err(|e| format!("unreadable figures {line:?}: {e}"))
            })();
            let _ = server.kill();
            let _ = server.wait();
            figures[index].push(outcome?);
        }
    }
    Ok(figures)
}

/// The client scenario's table: the median of the rounds for each client, and ours / socket.io-client.
fn render_clients(figures: &[Vec<Value>; 2], quick: bool, rounds: usize) -> String {
    let median = |runs: &Vec<Value>, key: &str| {
        let mut values: Vec<f64> = runs.iter().filter_map(|r| r[key].as_f64()).collect();
        values.sort_by(f64::total_cmp);
        values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let clients = figures[0].first().and_then(|f| f["clients"].as_u64()).unwrap_or(0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| client scenario ({clients} connections) | ours (socketio-client) | socket.io-client 4.8 (Node) | ours / socket.io-client |\n|---|---:|---:|---:|"
    );
    for (key, label, lower_is_better) in CLIENT_FIGURES {
        let (ours, node) = (median(&figures[0], key), median(&figures[1], key));
        let ratio = ours / node;
        let better = if (ratio < 1.0) == *lower_is_better { "better" } else { "worse" };
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {ratio:.2} ({better}) |",
            format_figure(ours),
            format_figure(node)
        );
    }
    let _ = writeln!(
        out,
        "\nEach client process on CPU 0, the bench app on CPU 1; RSS of the client process from /proc (ours) \
         and process.memoryUsage() (Node), after one warm-up connection; median of {rounds} round(s).{}",
        if quick { " Quick (smoke) loads." } else { "" }
    );
    out
}

/// Starts a server pinned to CPU 1, printing `listening on PORT` when ready.
fn start_server(key: &str, binaries: &Binaries, work: &Path, adapter: &str) -> Result<Child, String> {
    let mut command = Command::new("taskset");
    command.args(["-c", "1"]);
    match key {
        "ours" => command.arg(&binaries.bench_app),
        "reference" => command.arg(&binaries.reference),
        "socketioxide" => command.arg(&binaries.socketioxide),
        "floor" => command.arg(&binaries.floor),
        _ => command.arg("node").arg(work.join("apps").join("reference.mjs")).current_dir(work),
    };
    command.args(["--port", "0"]);
    if matches!(key, "ours" | "reference" | "node") {
        command.args(["--adapter", adapter]);
    }
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("could not start the {key} server: {e}"))
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

/// The markdown table: one row per figure, a column per server (the median of the rounds, with the
/// lowest and highest when there are several), and the ratios of ours (the bench app, or the reference
/// app where the bench app does not serve the scenario) to socketioxide, the floor and Node.
fn render(results: &[Row], quick: bool, rounds: usize) -> String {
    let with_nodes = results.iter().any(|r| r.scenario.nodes > 1);
    let index = |key: &str| SERVERS.iter().position(|s| s.key == key).unwrap_or(0);
    let mut out = String::new();
    let mut head = String::from("| scenario | figure |");
    let mut rule = String::from("|---|---|");
    for server in SERVERS {
        head.push_str(&format!(" {} |", server.label));
        rule.push_str("---:|");
    }
    head.push_str(" ours / socketioxide | ours / floor | ours / Node |");
    rule.push_str("---:|---:|---:|");
    let _ = writeln!(out, "{head}\n{rule}");
    for row in results {
        for (key, label, lower_is_better) in row.scenario.figures {
            let mut line = format!("| {} | {label} |", row.scenario.name);
            for i in 0..SERVERS.len() {
                match row.figure(i, key) {
                    Some((median, low, high)) if rounds > 1 => line.push_str(&format!(
                        " {} ({}–{}) |",
                        format_figure(median),
                        format_figure(low),
                        format_figure(high)
                    )),
                    Some((median, _, _)) => line.push_str(&format!(" {} |", format_figure(median))),
                    None => line.push_str(" — |"),
                }
            }
            let ours = row.figure(index("ours"), key).or_else(|| row.figure(index("reference"), key));
            for peer in ["socketioxide", "floor", "node"] {
                match (ours, row.figure(index(peer), key)) {
                    (Some((ours, _, _)), Some((theirs, _, _))) => {
                        let ratio = ours / theirs;
                        let better = if (ratio < 1.0) == *lower_is_better { "better" } else { "worse" };
                        line.push_str(&format!(" {ratio:.2} ({better}) |"));
                    }
                    _ => line.push_str(" — |"),
                }
            }
            let _ = writeln!(out, "{line}");
        }
    }
    let _ = writeln!(
        out,
        "\nOne server core (taskset -c 1), the load generator on the other; CPU and RSS read from /proc; \
         the median of {rounds} interleaved round(s){}.{}{}",
        if rounds > 1 { " (lowest–highest in brackets)" } else { "" },
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
