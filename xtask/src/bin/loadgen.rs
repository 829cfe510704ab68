//! The load generator of `cargo xtask bench`: speaks Engine.IO v4 + Socket.IO v5 over websockets
//! directly (no client library in the hot path), drives one scenario against a running server, reads
//! the server's CPU time and RSS from /proc, and prints one JSON line of figures.
//!
//! `loadgen --scenario idle|echo|broadcast --port PORT --pid PID [--clients N] [--messages N]`
//!
//! It runs on one thread (`cargo xtask bench` pins it to one core and the server to the other), so the
//! figures that count are the server's: CPU time per message or delivery, RSS per connection.

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Semaphore};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

struct Options {
    scenario: String,
    port: u16,
    pid: u32,
    clients: usize,
    messages: usize,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options { scenario: String::new(), port: 0, pid: 0, clients: 0, messages: 0 };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| v.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--scenario" => options.scenario = value,
            "--port" => options.port = number(&value)? as u16,
            "--pid" => options.pid = number(&value)? as u32,
            "--clients" => options.clients = number(&value)?,
            "--messages" => options.messages = number(&value)?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if options.port == 0 || options.pid == 0 {
        return Err("--port and --pid are required".into());
    }
    Ok(options)
}

/// The server's CPU time so far (every thread), in nanoseconds, from /proc/PID/task/*/schedstat.
fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return 0 };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()))
        .sum()
}

/// The server's resident memory, in bytes, from /proc/PID/status.
fn rss_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<u64>().ok()))
        })
        .map_or(0, |kb| kb * 1024)
}

/// Opens a websocket session and joins the main namespace; the connection, ready for events.
async fn connect(port: u16) -> Result<Ws, String> {
    let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.map_err(|e| e.to_string())?;
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.starts_with('0') => {}
        other => return Err(format!("no open packet: {other:?}")),
    }
    ws.send(Message::text("40")).await.map_err(|e| e.to_string())?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.starts_with("40") => return Ok(ws),
            Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                ws.send(Message::text("3")).await.map_err(|e| e.to_string())?;
            }
            Some(Ok(_)) => {}
            other => return Err(format!("no CONNECT answer: {other:?}")),
        }
    }
}

/// Connects `n` clients, `window` at a time; the connections and the time it took.
async fn connect_many(port: u16, n: usize, window: usize) -> Result<(Vec<Ws>, Duration), String> {
    let started = Instant::now();
    let results: Vec<Result<Ws, String>> =
        futures_util::stream::iter((0..n).map(|_| connect(port))).buffer_unordered(window).collect().await;
    let conns = results.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok((conns, started.elapsed()))
}

/// Keeps a connection alive (answering pings) and hands every other text message to `on_text`;
/// messages sent on the returned channel go out.
fn spawn_conn(mut ws: Ws, mut on_text: impl FnMut(&str) + 'static) -> mpsc::UnboundedSender<String> {
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    tokio::task::spawn_local(async move {
        loop {
            tokio::select! {
                out = rx.recv() => match out {
                    Some(text) => if ws.send(Message::text(text)).await.is_err() { return },
                    None => { let _ = ws.close(None).await; return }
                },
                msg = ws.next() => match msg {
                    Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                        if ws.send(Message::text("3")).await.is_err() { return }
                    }
                    Some(Ok(Message::Text(t))) => on_text(t.as_str()),
                    Some(Ok(_)) => {}
                    _ => return,
                },
            }
        }
    });
    tx
}

/// 10,000 idle clients: RSS per connection, connections per second.
async fn idle(o: &Options) -> Result<serde_json::Value, String> {
    let clients = if o.clients == 0 { 10_000 } else { o.clients };
    let rss_before = rss_bytes(o.pid);
    let (conns, took) = connect_many(o.port, clients, 200).await?;
    let senders: Vec<_> = conns.into_iter().map(|ws| spawn_conn(ws, |_| {})).collect();
    // Let the server settle (allocations of the last handshakes, deferred frees).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = rss_bytes(o.pid);
    drop(senders);
    Ok(json!({
        "clients": clients,
        "rss_per_connection_bytes": (rss_after.saturating_sub(rss_before)) as f64 / clients as f64,
        "connections_per_second": clients as f64 / took.as_secs_f64(),
    }))
}

/// 50 clients, each 2,000 sequential `echo` emits with ack: CPU per message and latencies.
async fn echo(o: &Options) -> Result<serde_json::Value, String> {
    let clients = if o.clients == 0 { 50 } else { o.clients };
    let messages = if o.messages == 0 { 2_000 } else { o.messages };
    let (conns, _) = connect_many(o.port, clients, 50).await?;
    let cpu_before = cpu_ns(o.pid);
    let started = Instant::now();
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|mut ws| {
            tokio::task::spawn_local(async move {
                let mut latencies = Vec::with_capacity(messages);
                for i in 0..messages {
                    let sent = Instant::now();
                    ws.send(Message::text(format!("42{i}[\"echo\",\"hello\",{i}]")))
                        .await
                        .map_err(|e| e.to_string())?;
                    let answer = format!("43{i}[");
                    loop {
                        match ws.next().await {
                            Some(Ok(Message::Text(t))) if t.starts_with(&answer) => break,
                            Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                                ws.send(Message::text("3")).await.map_err(|e| e.to_string())?;
                            }
                            Some(Ok(_)) => {}
                            other => return Err(format!("echo {i}: {other:?}")),
                        }
                    }
                    latencies.push(sent.elapsed().as_micros() as u64);
                }
                let _ = ws.close(None).await;
                Ok::<_, String>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(clients * messages);
    for task in tasks {
        latencies.extend(task.await.map_err(|e| e.to_string())??);
    }
    let elapsed = started.elapsed();
    let cpu = cpu_ns(o.pid) - cpu_before;
    latencies.sort_unstable();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let total = (clients * messages) as f64;
    Ok(json!({
        "clients": clients,
        "messages": total,
        "cpu_us_per_message": cpu as f64 / 1000.0 / total,
        "messages_per_second": total / elapsed.as_secs_f64(),
        "p50_us": pct(0.50),
        "p99_us": pct(0.99),
        "p999_us": pct(0.999),
    }))
}

/// 1,000 clients; one more emits `broadcast` 200 times, 8 in flight: CPU per delivery.
async fn broadcast(o: &Options) -> Result<serde_json::Value, String> {
    let clients = if o.clients == 0 { 1_000 } else { o.clients };
    let messages = if o.messages == 0 { 200 } else { o.messages };
    let (conns, _) = connect_many(o.port, clients + 1, 200).await?;
    // Every socket of the namespace gets each broadcast, the sender's included.
    let recipients = clients + 1;
    let counts = Rc::new(RefCell::new(vec![0usize; messages]));
    let window = Rc::new(Semaphore::new(8));
    let done = Rc::new(Cell::new(0usize));
    let finished = Rc::new(tokio::sync::Notify::new());
    let mut senders = Vec::with_capacity(recipients);
    for ws in conns {
        let (counts, window, done, finished) =
            (counts.clone(), window.clone(), done.clone(), finished.clone());
        senders.push(spawn_conn(ws, move |text| {
            let Some(rest) = text.strip_prefix("42[\"bcast\",") else { return };
            let Some(n) = rest.split(']').next().and_then(|n| n.parse::<usize>().ok()) else { return };
            let mut counts = counts.borrow_mut();
            let Some(count) = counts.get_mut(n) else { return };
            *count += 1;
            if *count == recipients {
                window.add_permits(1);
                done.set(done.get() + 1);
                if done.get() == messages {
                    finished.notify_one();
                }
            }
        }));
    }
    let cpu_before = cpu_ns(o.pid);
    let started = Instant::now();
    let sender = senders[0].clone();
    for n in 0..messages {
        window.acquire().await.map_err(|e| e.to_string())?.forget();
        sender.send(format!("42[\"broadcast\",{n}]")).map_err(|e| e.to_string())?;
    }
    tokio::time::timeout(Duration::from_secs(300), finished.notified())
        .await
        .map_err(|_| format!("only {} of {messages} broadcasts reached every client", done.get()))?;
    let elapsed = started.elapsed();
    let cpu = cpu_ns(o.pid) - cpu_before;
    let deliveries = (messages * recipients) as f64;
    drop(senders);
    Ok(json!({
        "clients": recipients,
        "messages": messages,
        "deliveries": deliveries,
        "cpu_ns_per_delivery": cpu as f64 / deliveries,
        "deliveries_per_second": deliveries / elapsed.as_secs_f64(),
    }))
}

fn main() {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(1);
        }
    };
    let local = tokio::task::LocalSet::new();
    let result = local.block_on(&runtime, async {
        match options.scenario.as_str() {
            "idle" => idle(&options).await,
            "echo" => echo(&options).await,
            "broadcast" => broadcast(&options).await,
            other => Err(format!("unknown scenario {other}")),
        }
    });
    match result {
        Ok(figures) => println!("{}", json!({ "scenario": options.scenario, "figures": figures })),
        Err(e) => {
            eprintln!("loadgen: {}: {e}", options.scenario);
            std::process::exit(1);
        }
    }
}
