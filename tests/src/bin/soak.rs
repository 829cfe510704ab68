//! Soak: thousands of connect / join / ack / broadcast / disconnect cycles against a server in this
//! process, then checks that the server is back where it started: no engine connection, socket or room
//! left, as many live tasks on the server's runtime as after the warm-up, and the process RSS within 10%
//! of its warmed-up baseline. `cargo xtask soak` runs it in release mode.
//!
//! ```sh
//! cargo run --release -p socketio-e2e --bin soak -- [--cycles 10000] [--warm-up 5000] [--concurrency 50] [--adapter redis://127.0.0.1:6379]
//! ```
//!
//! The server runs on its own runtime (one worker thread) so that its tasks are counted apart from the
//! clients'. Half the clients use websocket, half polling. Prints one JSON object with the figures and
//! exits with 1 when a check fails.
//!
//! `--faults` (with `--adapter redis://...` or `postgres://...`) adds a second node on the bus, a client
//! on it that watches broadcasts from the first node, and restarts the bus's server process every few
//! seconds during the cycles: with `redis://` a `redis-server` of its own on the URL's port (default
//! 6390; the soak starts and kills it), with `postgres://` the machine's cluster (`pg_ctlcluster
//! restart`). Checks: no cycle fails (local delivery never stops), a cluster request made while the bus
//! is down ends within its timeout, and broadcasts reach the other node again within 5 s of the bus
//! coming back.

use socketio_client::{ClientBuilder, Transport};
use socketio_parser::Value;
use socketio_server::{ServerConfig, SocketIo};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Options {
    cycles: u64,
    /// Cycles run before the baseline is taken (allocator arenas and caches fill up first).
    warm_up: Option<u64>,
    concurrency: u64,
    adapter: Option<String>,
    /// Restart the bus's server process during the cycles.
    faults: bool,
}

fn options() -> Result<Options, String> {
    let mut o = Options { cycles: 10_000, warm_up: None, concurrency: 50, adapter: None, faults: false };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--faults" {
            o.faults = true;
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        let number = || value.parse::<u64>().map_err(|e| format!("{arg} {value}: {e}"));
        match arg.as_str() {
            "--cycles" => o.cycles = number()?,
            "--warm-up" => o.warm_up = Some(number()?),
            "--concurrency" => o.concurrency = number()?.max(1),
            "--adapter" => o.adapter = Some(value),
            _ => {
                return Err(format!(
                    "unknown option {arg} (--cycles N, --warm-up N, --concurrency N, --adapter URL, --faults)"
                ))
            }
        }
    }
    if o.faults && o.adapter.is_none() {
        o.adapter = Some("redis://127.0.0.1:6390".into());
    }
    Ok(o)
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
unsafe extern "C" {
    /// glibc: gives the free memory at the top of the heaps back to the system.
    fn malloc_trim(pad: usize) -> std::ffi::c_int;
}

/// The resident set of this process, in bytes, once the allocator has given back what it holds free
/// (so that memory still in use is what is compared, not what the allocator happens to cache).
fn rss() -> u64 {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointer and only releases memory that no allocation uses.
    unsafe {
        malloc_trim(0);
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The app every cycle exercises: a room join, an echo with an ack, a broadcast to the room.
fn app(io: &SocketIo) {
    io.on_connection(|socket| async move {
        socket.on("join", |socket, (room,): (String,), ack| async move {
            socket.join(room);
            if let Some(ack) = ack {
                let _ = ack.send(("joined",));
            }
        });
        socket.on("echo", |_socket, args: Vec<Value>, ack| async move {
            if let Some(ack) = ack {
                let _ = ack.send(args);
            }
        });
        socket.on("to-room", |socket, (room, text): (String, String), ack| async move {
            let _ = socket.to(room).emit("room-message", (text,));
            if let Some(ack) = ack {
                let _ = ack.send(("sent",));
            }
        });
    });
}

async fn adapter(url: &str) -> Result<socketio_adapter::AdapterFactory, String> {
    if url.starts_with("redis://") {
        let bus = socketio_adapter::redis::RedisBus::connect(url, Default::default()).await;
        bus.map(|bus| bus.factory()).map_err(|e| e.to_string())
    } else if url.starts_with("postgres://") {
        let bus = socketio_adapter::postgres::PostgresBus::connect(url, Default::default()).await;
        bus.map(|bus| bus.factory()).map_err(|e| e.to_string())
    } else {
        Err(format!("unknown adapter {url} (redis://..., postgres://...)"))
    }
}

/// One cycle: connect, join a room, echo, broadcast to the room, disconnect.
async fn cycle(addr: SocketAddr, n: u64) -> Result<(), String> {
    let transport = if n % 2 == 0 { Transport::Websocket } else { Transport::Polling };
    let socket = ClientBuilder::new(format!("http://{addr}/"))
        .transports(&[transport])
        .force_new(true)
        .reconnection(false)
        .build()
        .map_err(|e| e.to_string())?;
    let result = async {
        socket.connect().await.map_err(|e| format!("connect: {e}"))?;
        let room = format!("room-{}", n % 20);
        socket.emit_with_ack("join", (room.as_str(),)).await.map_err(|e| format!("join: {e}"))?;
        let echoed = socket.emit_with_ack("echo", ("soak", n)).await.map_err(|e| format!("echo: {e}"))?;
        if echoed.len() != 2 || echoed[1].as_u64() != Some(n) {
            return Err(format!("echo answered {echoed:?}"));
        }
        socket
            .emit_with_ack("to-room", (room.as_str(), "hello"))
            .await
            .map_err(|e| format!("to-room: {e}"))?;
        Ok(())
    }
    .await;
    socket.disconnect();
    result
}

/// Runs `cycles` cycles, `concurrency` at a time; the number that failed.
async fn run(addr: SocketAddr, first: u64, cycles: u64, concurrency: u64) -> u64 {
    let next = Arc::new(AtomicU64::new(first));
    let failed = Arc::new(AtomicU64::new(0));
    let end = first + cycles;
    let mut workers = Vec::new();
    for _ in 0..concurrency.min(cycles.max(1)) {
        let (next, failed) = (next.clone(), failed.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= end {
                    return;
                }
                let outcome = tokio::time::timeout(Duration::from_secs(20), cycle(addr, n)).await;
                if let Err(e) = outcome.map_err(|_| "timed out".to_string()).and_then(|r| r) {
                    if failed.fetch_add(1, Ordering::Relaxed) < 5 {
                        eprintln!("soak: cycle {n}: {e}");
                    }
                }
            }
        }));
    }
    for worker in workers {
        let _ = worker.await;
    }
    failed.load(Ordering::Relaxed)
}

/// What the server holds once every client has gone.
#[derive(Debug, Clone, Copy)]
struct Snapshot {
    rss: u64,
    tasks: usize,
    connections: usize,
    sockets: usize,
    rooms: usize,
}

/// Waits (at most 30 s) until the server has closed every connection, then reads its state.
async fn settle(io: &SocketIo, server_rt: &tokio::runtime::Handle) -> Snapshot {
    let deadline = Instant::now() + Duration::from_secs(30);
    while (io.engine().clients_count() > 0 || !io.sockets().sockets().is_empty()) && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Give the tasks of the last disconnections a moment to end: wait for the live task count to stop
    // falling.
    let mut tasks = server_rt.metrics().num_alive_tasks();
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = server_rt.metrics().num_alive_tasks();
        if now >= tasks || Instant::now() >= deadline {
            tasks = now;
            break;
        }
        tasks = now;
    }
    let rooms = io.sockets().adapter().rooms().len();
    Snapshot {
        rss: rss(),
        tasks,
        connections: io.engine().clients_count(),
        sockets: io.sockets().sockets().len(),
        rooms,
    }
}

/// The server process of the bus, which `--faults` restarts.
enum Bus {
    /// A `redis-server` of the soak's own, on this port.
    Redis { port: u16, child: Option<tokio::process::Child> },
    /// The machine's Postgres cluster, through `pg_ctlcluster`.
    Postgres { url: String },
}

impl Bus {
    fn for_url(url: &str) -> Result<Bus, String> {
        if let Some(rest) = url.strip_prefix("redis://") {
            // host[:port][/db]; without a port, the faults mode's own 6390.
            let authority = rest.split('/').next().unwrap_or_default();
            let port = match authority.rsplit_once(':') {
                Some((_, port)) => port.parse().map_err(|e| format!("{url}: port: {e}"))?,
                None => 6390,
            };
            Ok(Bus::Redis { port, child: None })
        } else if url.starts_with("postgres://") {
            Ok(Bus::Postgres { url: url.to_string() })
        } else {
            Err(format!("--faults needs a redis:// or postgres:// adapter, not {url}"))
        }
    }

    async fn start(&mut self) -> Result<(), String> {
        match self {
            Bus::Redis { port, child } => {
                // Killed with the soak, whichever way it ends.
                let spawned = tokio::process::Command::new("redis-server")
                    .args(["--port", &port.to_string(), "--save", "", "--appendonly", "no"])
                    .stdout(std::process::Stdio::null())
                    .kill_on_drop(true)
                    .spawn()
                    .map_err(|e| format!("cannot start redis-server: {e}"))?;
                *child = Some(spawned);
            }
            Bus::Postgres { .. } => pg_ctl("start").await?,
        }
        self.wait_up().await
    }

    async fn stop(&mut self) -> Result<(), String> {
        match self {
            Bus::Redis { child, .. } => {
                if let Some(mut c) = child.take() {
                    let _ = c.kill().await;
                }
                Ok(())
            }
            Bus::Postgres { .. } => pg_ctl("stop").await,
        }
    }

    /// Waits (at most 20 s) until the bus answers.
    async fn wait_up(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let up = match self {
                Bus::Redis { port, .. } => redis_ping(*port).await,
                Bus::Postgres { url } => tokio_postgres_up(url).await,
            };
            if up {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err("the bus did not come back within 20 s".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn redis_ping(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else { return false };
    if stream.write_all(b"PING\r\n").await.is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await, Ok(Ok(n)) if buf[..n].starts_with(b"+PONG"))
}

async fn tokio_postgres_up(url: &str) -> bool {
    let status = tokio::process::Command::new("pg_isready").args(["-d", url]).output().await;
    status.is_ok_and(|o| o.status.success())
}

/// `pg_ctlcluster <version> main <action>` on the machine's cluster.
async fn pg_ctl(action: &str) -> Result<(), String> {
    let version = std::fs::read_dir("/etc/postgresql")
        .map_err(|e| format!("/etc/postgresql: {e}"))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .next()
        .ok_or("no Postgres cluster in /etc/postgresql")?;
    let mut args = vec!["--skip-systemctl-redirect", version.as_str(), "main", action];
    if action == "stop" {
        args.extend(["--", "-m", "fast"]);
    }
    let out = tokio::process::Command::new("pg_ctlcluster")
        .args(&args)
        .output()
        .await
        .map_err(|e| format!("pg_ctlcluster: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("pg_ctlcluster {action}: {}", String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// What the fault rounds measured.
#[derive(Default)]
struct FaultReport {
    rounds: u32,
    /// Seconds from the bus answering again to the first broadcast reaching the other node, per round.
    resume_seconds: Vec<f64>,
    /// Seconds a cluster request took while the bus was down, per round.
    request_seconds: Vec<f64>,
    /// How those requests failed.
    request_errors: Vec<String>,
    problems: Vec<String>,
}

/// Restarts the bus every few seconds until `stop`; after each restart, broadcasts from `io` until the
/// probe client on the other node hears one.
async fn fault_rounds(
    mut bus: Bus,
    io: SocketIo,
    mut probes: tokio::sync::mpsc::UnboundedReceiver<u64>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> (Bus, FaultReport) {
    let mut report = FaultReport::default();
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) && report.problems.is_empty() {
        tokio::time::sleep(Duration::from_secs(2)).await;
        // A node not heard of for a heartbeat timeout is forgotten, and a request then answers from
        // this node alone: the other node must be counted again before the bus goes down (after a
        // restart, at its next heartbeat).
        let counted = tokio::time::timeout(Duration::from_secs(15), async {
            while io.sockets().adapter().server_count().await < 2 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
        if counted.is_err() {
            report.problems.push("the other node was not counted again within 15 s".into());
            break;
        }
        report.rounds += 1;
        if let Err(e) = bus.stop().await {
            report.problems.push(e);
            break;
        }
        // A cluster request while the bus is down ends (with an answer or an error) within its timeout.
        let began = Instant::now();
        match tokio::time::timeout(Duration::from_secs(12), io.fetch_sockets()).await {
            Ok(Err(e)) => {
                report.request_seconds.push(began.elapsed().as_secs_f64());
                report.request_errors.push(e.to_string());
            }
            Ok(Ok(_)) => report.problems.push("a fetchSockets made while the bus was down succeeded".into()),
            Err(_) => {
                report.problems.push("a fetchSockets made while the bus was down did not end in 12 s".into())
            }
        }
        if let Err(e) = bus.start().await {
            report.problems.push(e);
            break;
        }
        let back = Instant::now();
        let first = seq + 1;
        let resumed = loop {
            seq += 1;
            let _ = io.emit("probe", (seq,));
            let heard = tokio::time::timeout(Duration::from_millis(200), async {
                while let Some(n) = probes.recv().await {
                    if n >= first {
                        return true;
                    }
                }
                false
            })
            .await;
            if heard == Ok(true) {
                break Some(back.elapsed());
            }
            if back.elapsed() > Duration::from_secs(15) {
                break None;
            }
        };
        match resumed {
            Some(t) if t <= Duration::from_secs(5) => report.resume_seconds.push(t.as_secs_f64()),
            Some(t) => report
                .problems
                .push(format!("cluster delivery resumed {:.1} s after the bus came back", t.as_secs_f64())),
            None => report.problems.push("cluster delivery did not resume within 15 s".into()),
        }
    }
    (bus, report)
}

/// Starts a node with the soak's app on `rt`; its handle and address.
async fn start_node(
    rt: &tokio::runtime::Runtime,
    adapter_url: Option<String>,
) -> Result<(SocketIo, SocketAddr), String> {
    let started = rt.spawn(async move {
        let mut config = ServerConfig::default();
        if let Some(url) = adapter_url {
            config.adapter = adapter(&url).await?;
        }
        let io = SocketIo::new(config);
        app(&io);
        io.sockets().adapter().ready().await;
        let server = io.listen(SocketAddr::from(([127, 0, 0, 1], 0))).await.map_err(|e| e.to_string())?;
        Ok::<_, String>((io, server.local_addr()))
    });
    started.await.map_err(|e| e.to_string())?.map_err(|e| format!("the server did not start: {e}"))
}

/// A client on `addr` whose `probe` events (their sequence numbers) come out of the returned channel.
async fn probe_client(
    addr: SocketAddr,
) -> Result<(socketio_client::Socket, tokio::sync::mpsc::UnboundedReceiver<u64>), String> {
    let socket = ClientBuilder::new(format!("http://{addr}/"))
        .transports(&[Transport::Websocket])
        .force_new(true)
        .build()
        .map_err(|e| e.to_string())?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    socket.on("probe", move |_socket, event| {
        let tx = tx.clone();
        async move {
            if let Some(n) = event.args.first().and_then(Value::as_u64) {
                let _ = tx.send(n);
            }
        }
    });
    socket.connect().await.map_err(|e| format!("probe client: {e}"))?;
    Ok((socket, rx))
}

async fn soak(
    o: &Options,
    server_rt: &tokio::runtime::Runtime,
) -> Result<(serde_json::Value, Vec<String>), String> {
    let mut bus = match (&o.adapter, o.faults) {
        (Some(url), true) => Some(Bus::for_url(url)?),
        _ => None,
    };
    if let Some(b @ Bus::Redis { .. }) = bus.as_mut() {
        b.start().await?;
    }
    let (io, addr) = start_node(server_rt, o.adapter.clone()).await?;
    // With faults, a second node and a client on it that hears the first node's broadcasts.
    let mut other = None;
    if bus.is_some() {
        let (other_io, other_addr) = start_node(server_rt, o.adapter.clone()).await?;
        other = Some((other_io, probe_client(other_addr).await?));
    }
    let handle = server_rt.handle().clone();

    let warm_up = o.warm_up.unwrap_or(5_000);
    let began = Instant::now();
    let failed_warm_up = run(addr, 0, warm_up, o.concurrency).await;
    let baseline = settle(&io, &handle).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let faults = match (bus.take(), other.as_mut()) {
        (Some(bus), Some((_, (_, probes)))) => {
            let probes = std::mem::replace(probes, tokio::sync::mpsc::unbounded_channel().1);
            Some(tokio::spawn(fault_rounds(bus, io.clone(), probes, stop.clone())))
        }
        _ => None,
    };
    let failed = run(addr, warm_up, o.cycles, o.concurrency).await;
    stop.store(true, Ordering::Relaxed);
    let mut fault_report = FaultReport::default();
    if let Some(task) = faults {
        let (b, report) = task.await.map_err(|e| e.to_string())?;
        bus = Some(b);
        fault_report = report;
    }
    let after = settle(&io, &handle).await;
    let elapsed = began.elapsed();

    let mut problems = fault_report.problems.clone();
    if failed_warm_up + failed > 0 {
        problems.push(format!("{} cycles failed", failed_warm_up + failed));
    }
    if after.connections != 0 || after.sockets != 0 || after.rooms != 0 {
        problems.push(format!(
            "left behind: {} connections, {} sockets, {} rooms",
            after.connections, after.sockets, after.rooms
        ));
    }
    if after.tasks > baseline.tasks {
        problems
            .push(format!("server tasks {} after the warm-up, {} at the end", baseline.tasks, after.tasks));
    }
    let growth = after.rss as f64 / baseline.rss.max(1) as f64 - 1.0;
    // A bus restart leaves reconnection state behind for a while; RSS is only judged without faults.
    if growth > 0.10 && !o.faults {
        problems.push(format!("RSS grew {:.1}% past the warmed-up baseline", growth * 100.0));
    }
    let report = serde_json::json!({
        "cycles": o.cycles,
        "warm_up_cycles": warm_up,
        "concurrency": o.concurrency,
        "adapter": o.adapter.as_deref().unwrap_or("memory"),
        "seconds": elapsed.as_secs_f64(),
        "cycles_per_second": (warm_up + o.cycles) as f64 / elapsed.as_secs_f64(),
        "failed_cycles": failed_warm_up + failed,
        "baseline": { "rss": baseline.rss, "server_tasks": baseline.tasks },
        "end": {
            "rss": after.rss,
            "server_tasks": after.tasks,
            "connections": after.connections,
            "sockets": after.sockets,
            "rooms": after.rooms,
        },
        "rss_growth_percent": growth * 100.0,
        "faults": o.faults.then(|| serde_json::json!({
            "bus_restarts": fault_report.rounds,
            "resume_seconds": fault_report.resume_seconds,
            "request_seconds_while_down": fault_report.request_seconds,
            "request_errors_while_down": fault_report.request_errors,
        })),
        "ok": problems.is_empty(),
        "problems": problems,
    });
    if let Some((other_io, (probe, _))) = other {
        probe.disconnect();
        other_io.close().await;
    }
    io.close().await;
    if let Some(b @ Bus::Redis { .. }) = bus.as_mut() {
        let _ = b.stop().await;
    }
    Ok((report, problems))
}

#[tokio::main]
async fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("soak: {e}");
            std::process::exit(2);
        }
    };
    let server_rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("soak: {e}");
            std::process::exit(1);
        }
    };
    let outcome = soak(&o, &server_rt).await;
    server_rt.shutdown_background();
    match outcome {
        Ok((report, problems)) => {
            println!("{report:#}");
            if !problems.is_empty() {
                std::process::exit(1);
            }
        }
        Err(e) => {
            eprintln!("soak: {e}");
            std::process::exit(1);
        }
    }
}
