//! The load generator of `cargo xtask bench`: speaks Engine.IO v4 + Socket.IO v5 over websockets
//! directly (no client library in the hot path), drives one scenario against a running server, reads
//! the server's CPU time and RSS from /proc, and prints one JSON line of figures.
//!
//! `loadgen --scenario idle|echo|broadcast|large|polling|rooms|cluster --port PORT --pid PID [--clients N]
//! [--messages N] [--rooms N] [--size BYTES] [--port2 PORT --pid2 PID]` (`cluster` drives two servers, the second given by
//! `--port2`/`--pid2`).
//!
//! It runs on one thread (`cargo xtask bench` pins it to one core and the server to the other), so the
//! figures that count are the server's: CPU time per message or delivery, RSS per connection.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
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
    rooms: usize,
    size: usize,
    port2: u16,
    pid2: u32,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        scenario: String::new(),
        port: 0,
        pid: 0,
        clients: 0,
        messages: 0,
        rooms: 0,
        size: 0,
        port2: 0,
        pid2: 0,
    };
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
            "--rooms" => options.rooms = number(&value)?,
            "--size" => options.size = number(&value)?,
            "--port2" => options.port2 = number(&value)? as u16,
            "--pid2" => options.pid2 = number(&value)? as u32,
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

#[path = "../procfs.rs"]
mod procfs;

/// The server's resident memory, in bytes.
fn rss_bytes(pid: u32) -> u64 {
    procfs::rss_bytes(&pid.to_string())
}

/// Opens a websocket session and joins the main namespace; the connection, ready for events.
/// A client's TCP connection. Closed with a reset: a graceful close leaves the client's end in
/// TIME_WAIT for a minute, and the thousands each scenario opens filled the ephemeral port range, so
/// that the servers run later in a round connected slower (and the connection rate depended on the
/// order of the servers).
async fn client_stream(port: u16) -> Result<TcpStream, String> {
    let stream = TcpStream::connect(("127.0.0.1", port)).await.map_err(|e| e.to_string())?;
    stream.set_zero_linger().map_err(|e| e.to_string())?;
    Ok(stream)
}

async fn connect(port: u16) -> Result<Ws, String> {
    let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
    // A small read buffer: tungstenite's default (128 KiB) is mapped and faulted in for every
    // connection, which made the load generator's core, not the server, the limit of the
    // connection rate. It grows when a frame needs more.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(4096);
    let stream = client_stream(port).await?;
    let (mut ws, _) =
        tokio_tungstenite::client_async_with_config(url, MaybeTlsStream::Plain(stream), Some(config))
            .await
            .map_err(|e| e.to_string())?;
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
    let cpu_before = cpu_ns(o.pid);
    let (conns, took) = connect_many(o.port, clients, 200).await?;
    let cpu_connecting = cpu_ns(o.pid).saturating_sub(cpu_before);
    let senders: Vec<_> = conns.into_iter().map(|ws| spawn_conn(ws, |_| {})).collect();
    // Let the server settle (allocations of the last handshakes, deferred frees).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = rss_bytes(o.pid);
    drop(senders);
    Ok(json!({
        "clients": clients,
        "rss_per_connection_bytes": (rss_after.saturating_sub(rss_before)) as f64 / clients as f64,
        "connections_per_second": clients as f64 / took.as_secs_f64(),
        "cpu_us_per_connection": cpu_connecting as f64 / 1000.0 / clients as f64,
    }))
}

/// A connection that can do one `echo` emit and wait for its ack, over some transport.
trait EchoClient: Sized + 'static {
    /// Emits `echo` with ack id `i` and waits for the ack, answering pings meanwhile.
    async fn echo(&mut self, i: usize) -> Result<(), String>;
    /// Closes the connection.
    async fn finish(self);
}

impl EchoClient for Ws {
    async fn echo(&mut self, i: usize) -> Result<(), String> {
        self.send(Message::text(format!("42{i}[\"echo\",\"hello\",{i}]")))
            .await
            .map_err(|e| e.to_string())?;
        let answer = format!("43{i}[");
        loop {
            match self.next().await {
                Some(Ok(Message::Text(t))) if t.starts_with(&answer) => return Ok(()),
                Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                    self.send(Message::text("3")).await.map_err(|e| e.to_string())?;
                }
                Some(Ok(_)) => {}
                other => return Err(format!("echo {i}: {other:?}")),
            }
        }
    }

    async fn finish(mut self) {
        let _ = WebSocketStream::close(&mut self, None).await;
    }
}

/// Every client does `messages` sequential echoes at once: the server's CPU per message and the
/// latencies.
async fn run_echoes<C: EchoClient>(
    o: &Options,
    clients: Vec<C>,
    messages: usize,
) -> Result<serde_json::Value, String> {
    let count = clients.len();
    let cpu_before = cpu_ns(o.pid);
    let started = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            tokio::task::spawn_local(async move {
                let mut latencies = Vec::with_capacity(messages);
                for i in 0..messages {
                    let sent = Instant::now();
                    client.echo(i).await?;
                    latencies.push(sent.elapsed().as_micros() as u64);
                }
                client.finish().await;
                Ok::<_, String>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(count * messages);
    for task in tasks {
        latencies.extend(task.await.map_err(|e| e.to_string())??);
    }
    Ok(latency_figures(latencies, count, started.elapsed(), cpu_ns(o.pid) - cpu_before))
}

/// 50 clients, each 2,000 sequential `echo` emits with ack: CPU per message and latencies.
async fn echo(o: &Options) -> Result<serde_json::Value, String> {
    let clients = if o.clients == 0 { 50 } else { o.clients };
    let messages = if o.messages == 0 { 2_000 } else { o.messages };
    let (conns, _) = connect_many(o.port, clients, 50).await?;
    run_echoes(o, conns, messages).await
}

/// The figures of a request/answer scenario: CPU per message, throughput, latency percentiles.
fn latency_figures(
    mut latencies: Vec<u64>,
    clients: usize,
    elapsed: Duration,
    cpu: u64,
) -> serde_json::Value {
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies.get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1))).copied()
    };
    let total = latencies.len() as f64;
    json!({
        "clients": clients,
        "messages": total,
        "cpu_us_per_message": cpu as f64 / 1000.0 / total,
        "messages_per_second": total / elapsed.as_secs_f64(),
        "p50_us": pct(0.50),
        "p99_us": pct(0.99),
        "p999_us": pct(0.999),
    })
}

/// One HTTP/1.1 keep-alive connection, for the polling transport.
struct Http {
    send: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl Http {
    async fn open(port: u16) -> Result<Self, String> {
        let stream = client_stream(port).await?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (send, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
        tokio::task::spawn_local(async move {
            let _ = connection.await;
        });
        Ok(Http { send })
    }

    /// A polling request (`query` is appended to the Engine.IO query); the response's body.
    async fn request(&mut self, post: Option<String>, query: &str) -> Result<String, String> {
        self.send.ready().await.map_err(|e| e.to_string())?;
        let request = hyper::Request::builder()
            .method(if post.is_some() { hyper::Method::POST } else { hyper::Method::GET })
            .uri(format!("/socket.io/?EIO=4&transport=polling{query}"))
            .header(hyper::header::HOST, "127.0.0.1")
            .header(hyper::header::CONTENT_TYPE, "text/plain;charset=UTF-8")
            .body(Full::new(Bytes::from(post.unwrap_or_default())))
            .map_err(|e| e.to_string())?;
        let response = self.send.send_request(request).await.map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        let body = String::from_utf8(body.to_vec()).map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{status}: {body}"));
        }
        Ok(body)
    }
}

/// A polling client: one long-polling GET always outstanding (its packets go to `packets`), POSTs on a
/// second connection, as a browser does.
struct PollingClient {
    post: Http,
    query: String,
    packets: mpsc::UnboundedReceiver<String>,
}

impl PollingClient {
    async fn connect(port: u16) -> Result<Self, String> {
        let mut get = Http::open(port).await?;
        let open = get.request(None, "").await?;
        let handshake: serde_json::Value =
            serde_json::from_str(open.strip_prefix('0').ok_or_else(|| format!("no open packet: {open:?}"))?)
                .map_err(|e| e.to_string())?;
        let sid = handshake["sid"].as_str().ok_or("no sid")?;
        let query = format!("&sid={sid}");
        let (tx, packets) = mpsc::unbounded_channel();
        let get_query = query.clone();
        tokio::task::spawn_local(async move {
            while let Ok(payload) = get.request(None, &get_query).await {
                for packet in payload.split('\x1e') {
                    if packet == "1" || tx.send(packet.to_owned()).is_err() {
                        return;
                    }
                }
            }
        });
        let mut client = PollingClient { post: Http::open(port).await?, query, packets };
        client.send("40".into()).await?;
        client.wait_for(|p| p.starts_with("40")).await?;
        Ok(client)
    }

    async fn send(&mut self, packet: String) -> Result<(), String> {
        self.post.request(Some(packet), &self.query).await.map(drop)
    }

    /// Waits for a packet that `wanted` accepts, answering pings meanwhile.
    async fn wait_for(&mut self, wanted: impl Fn(&str) -> bool) -> Result<(), String> {
        loop {
            let packet = self.packets.recv().await.ok_or("the long poll ended")?;
            if packet == "2" {
                self.send("3".into()).await?;
            } else if wanted(&packet) {
                return Ok(());
            }
        }
    }
}

impl EchoClient for PollingClient {
    async fn echo(&mut self, i: usize) -> Result<(), String> {
        self.send(format!("42{i}[\"echo\",\"hello\",{i}]")).await?;
        let answer = format!("43{i}[");
        self.wait_for(|p| p.starts_with(&answer)).await
    }

    async fn finish(mut self) {
        let _ = self.send("1".into()).await;
    }
}

/// 500 polling-only clients, each `messages` sequential `echo` emits with ack: CPU per message.
async fn polling(o: &Options) -> Result<serde_json::Value, String> {
    let clients = if o.clients == 0 { 500 } else { o.clients };
    let messages = if o.messages == 0 { 100 } else { o.messages };
    let connected: Vec<Result<PollingClient, String>> =
        futures_util::stream::iter((0..clients).map(|_| PollingClient::connect(o.port)))
            .buffer_unordered(100)
            .collect()
            .await;
    let connected = connected.into_iter().collect::<Result<Vec<_>, _>>()?;
    run_echoes(o, connected, messages).await
}

/// Numbered events fanned out to many clients: message `n` is complete once `per_message` clients got
/// it, which frees a place in the sender's window.
struct Tally {
    prefix: String,
    per_message: usize,
    counts: RefCell<Vec<usize>>,
    window: Semaphore,
    done: Cell<usize>,
    finished: tokio::sync::Notify,
}

impl Tally {
    fn new(event: &str, messages: usize, per_message: usize, window: usize) -> Rc<Self> {
        Self::with_prefix(format!("42[\"{event}\","), messages, per_message, window)
    }

    /// Numbered events whose text starts with `prefix` (for binary events: `451-["event",`).
    fn with_prefix(prefix: String, messages: usize, per_message: usize, window: usize) -> Rc<Self> {
        Rc::new(Tally {
            prefix,
            per_message,
            counts: RefCell::new(vec![0; messages]),
            window: Semaphore::new(window),
            done: Cell::new(0),
            finished: tokio::sync::Notify::new(),
        })
    }

    /// Counts `text` if it is one of the numbered events.
    fn count(&self, text: &str) {
        if let Some(n) = self.number(text) {
            self.count_number(n);
        }
    }

    /// The number of the event `text` is, if it is one of them.
    fn number(&self, text: &str) -> Option<usize> {
        let rest = text.strip_prefix(self.prefix.as_str())?;
        rest.split([']', ',']).next().and_then(|n| n.parse::<usize>().ok())
    }

    /// Counts one delivery of event `n`.
    fn count_number(&self, n: usize) {
        let mut counts = self.counts.borrow_mut();
        let Some(count) = counts.get_mut(n) else { return };
        *count += 1;
        if *count == self.per_message {
            self.window.add_permits(1);
            self.done.set(self.done.get() + 1);
            if self.done.get() == counts.len() {
                self.finished.notify_one();
            }
        }
    }
}

/// Drives a fan-out: `conns[0]` sends `emit(n)` for every message, 8 in flight, until every message
/// reached `per_message` clients. The elapsed time and the CPU time each server in `pids` spent.
async fn fan_out(
    pids: &[u32],
    conns: Vec<Ws>,
    event: &str,
    per_message: usize,
    messages: usize,
    emit: impl Fn(usize) -> String,
) -> Result<(Duration, Vec<u64>), String> {
    let tally = Tally::new(event, messages, per_message, 8);
    let senders: Vec<_> = conns
        .into_iter()
        .map(|ws| {
            let tally = tally.clone();
            spawn_conn(ws, move |text| tally.count(text))
        })
        .collect();
    let cpu_before: Vec<u64> = pids.iter().map(|pid| cpu_ns(*pid)).collect();
    let started = Instant::now();
    let sender = senders.first().ok_or("no client")?.clone();
    for n in 0..messages {
        tally.window.acquire().await.map_err(|e| e.to_string())?.forget();
        sender.send(emit(n)).map_err(|e| e.to_string())?;
    }
    tokio::time::timeout(Duration::from_secs(300), tally.finished.notified()).await.map_err(|_| {
        format!("only {} of {messages} messages reached all {per_message} of their clients", tally.done.get())
    })?;
    let elapsed = started.elapsed();
    let cpu = pids.iter().zip(cpu_before).map(|(pid, before)| cpu_ns(*pid) - before).collect();
    drop(senders);
    Ok((elapsed, cpu))
}

/// 1,000 clients; one more emits `broadcast` 200 times, 8 in flight: CPU per delivery.
async fn broadcast(o: &Options) -> Result<serde_json::Value, String> {
    let clients = if o.clients == 0 { 1_000 } else { o.clients };
    let messages = if o.messages == 0 { 200 } else { o.messages };
    let (conns, _) = connect_many(o.port, clients + 1, 200).await?;
    // Every socket of the namespace gets each broadcast, the sender's included.
    let recipients = clients + 1;
    let (elapsed, cpu) =
        fan_out(&[o.pid], conns, "bcast", recipients, messages, |n| format!("42[\"broadcast\",{n}]")).await?;
    let deliveries = (messages * recipients) as f64;
    Ok(json!({
        "clients": recipients,
        "messages": messages,
        "deliveries": deliveries,
        "cpu_ns_per_delivery": cpu[0] as f64 / deliveries,
        "deliveries_per_second": deliveries / elapsed.as_secs_f64(),
    }))
}

/// 1,000 clients; one more emits `large` 20 times, 4 in flight, each answered by a broadcast of
/// `bcast-large` with a binary attachment of `--size` bytes (200 KB) to the whole namespace: the peak of
/// the server's RSS above its level before the first broadcast, sampled every 5 ms. A delivery counts
/// once its attachment (the binary frame after the event's header) has arrived.
async fn large(o: &Options) -> Result<serde_json::Value, String> {
    let clients = if o.clients == 0 { 1_000 } else { o.clients };
    let messages = if o.messages == 0 { 20 } else { o.messages };
    let size = if o.size == 0 { 200_000 } else { o.size };
    let (conns, _) = connect_many(o.port, clients + 1, 200).await?;
    let recipients = clients + 1;
    let tally = Tally::with_prefix("451-[\"bcast-large\",".into(), messages, recipients, 4);
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let mut conns = conns.into_iter();
    let mut sender = conns.next().ok_or("no client")?;
    for mut ws in conns {
        let tally = tally.clone();
        tokio::task::spawn_local(async move {
            let mut header = None;
            while let Some(Ok(message)) = ws.next().await {
                match message {
                    Message::Text(t) if t.as_str() == "2" && ws.send(Message::text("3")).await.is_err() => {
                        return
                    }
                    Message::Text(t) if t.as_str() == "2" => {}
                    Message::Text(t) => header = tally.number(t.as_str()),
                    Message::Binary(b) => {
                        if let Some(n) = header.take().filter(|_| b.len() == size) {
                            tally.count_number(n);
                        }
                    }
                    _ => {}
                }
            }
        });
    }
    let sender_tally = tally.clone();
    tokio::task::spawn_local(async move {
        let mut header = None;
        loop {
            tokio::select! {
                out = rx.recv() => match out {
                    Some(text) => if sender.send(Message::text(text)).await.is_err() { return },
                    None => return,
                },
                msg = sender.next() => match msg {
                    Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                        if sender.send(Message::text("3")).await.is_err() { return }
                    }
                    Some(Ok(Message::Text(t))) => header = sender_tally.number(t.as_str()),
                    Some(Ok(Message::Binary(b))) => {
                        if let Some(n) = header.take().filter(|_| b.len() == size) {
                            sender_tally.count_number(n);
                        }
                    }
                    Some(Ok(_)) => {}
                    _ => return,
                },
            }
        }
    });
    // Let the server settle after the connections, then sample its RSS until the last delivery.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let baseline = rss_bytes(o.pid);
    let peak = Rc::new(Cell::new(baseline));
    let sampling = Rc::new(Cell::new(true));
    let sampler = {
        let (peak, sampling, pid) = (peak.clone(), sampling.clone(), o.pid);
        tokio::task::spawn_local(async move {
            while sampling.get() {
                peak.set(peak.get().max(rss_bytes(pid)));
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let cpu_before = cpu_ns(o.pid);
    let started = Instant::now();
    for n in 0..messages {
        tally.window.acquire().await.map_err(|e| e.to_string())?.forget();
        tx.send(format!("42[\"large\",{n},{size}]")).map_err(|e| e.to_string())?;
    }
    tokio::time::timeout(Duration::from_secs(300), tally.finished.notified()).await.map_err(|_| {
        format!("only {} of {messages} messages reached all {recipients} of their clients", tally.done.get())
    })?;
    let elapsed = started.elapsed();
    let cpu = cpu_ns(o.pid) - cpu_before;
    sampling.set(false);
    let _ = sampler.await;
    peak.set(peak.get().max(rss_bytes(o.pid)));
    let deliveries = (messages * recipients) as f64;
    Ok(json!({
        "clients": recipients,
        "messages": messages,
        "size": size,
        "rss_growth_bytes": peak.get().saturating_sub(baseline),
        "rss_growth_mb": peak.get().saturating_sub(baseline) as f64 / 1e6,
        "cpu_us_per_delivery": cpu as f64 / 1000.0 / deliveries,
        "deliveries_per_second": deliveries / elapsed.as_secs_f64(),
    }))
}

/// Asks the server to put the client in `room` (the reference app's `join`, with an ack).
async fn join(mut ws: Ws, room: usize) -> Result<Ws, String> {
    ws.send(Message::text(format!("420[\"join\",\"room-{room}\"]"))).await.map_err(|e| e.to_string())?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.starts_with("430[") => return Ok(ws),
            Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                ws.send(Message::text("3")).await.map_err(|e| e.to_string())?;
            }
            Some(Ok(_)) => {}
            other => return Err(format!("no answer to join: {other:?}")),
        }
    }
}

/// 10,000 clients in 100 rooms; one more client (in no room) emits `to-room` to each room in turn,
/// 8 in flight: CPU per delivery.
async fn rooms(o: &Options) -> Result<serde_json::Value, String> {
    let rooms = if o.rooms == 0 { 100 } else { o.rooms };
    let clients = if o.clients == 0 { 10_000 } else { o.clients };
    let messages = if o.messages == 0 { 2_000 } else { o.messages };
    let per_room = clients / rooms;
    let (conns, _) = connect_many(o.port, per_room * rooms + 1, 200).await?;
    let mut conns = conns.into_iter();
    let sender = conns.next().ok_or("no client")?;
    let members: Vec<Ws> = futures_util::stream::iter(conns.enumerate().map(|(i, ws)| join(ws, i % rooms)))
        .buffer_unordered(200)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let all = std::iter::once(sender).chain(members).collect();
    let (elapsed, cpu) = fan_out(&[o.pid], all, "room-msg", per_room, messages, |n| {
        format!("42[\"to-room\",\"room-{}\",{n}]", n % rooms)
    })
    .await?;
    let deliveries = (messages * per_room) as f64;
    Ok(json!({
        "clients": per_room * rooms,
        "rooms": rooms,
        "messages": messages,
        "deliveries": deliveries,
        "cpu_ns_per_delivery": cpu[0] as f64 / deliveries,
        "deliveries_per_second": deliveries / elapsed.as_secs_f64(),
    }))
}

/// Two nodes on one bus (Redis), the clients split over them; one client of the first node emits
/// `broadcast` 200 times, 8 in flight. Deliveries per second and each node's CPU per delivery it made.
async fn cluster(o: &Options) -> Result<serde_json::Value, String> {
    if o.port2 == 0 || o.pid2 == 0 {
        return Err("cluster needs --port2 and --pid2".into());
    }
    let clients = if o.clients == 0 { 1_000 } else { o.clients };
    let messages = if o.messages == 0 { 200 } else { o.messages };
    let (on_first, on_second) = (clients / 2 + 1, clients - clients / 2);
    let (mut conns, _) = connect_many(o.port, on_first, 200).await?;
    let (second, _) = connect_many(o.port2, on_second, 200).await?;
    conns.extend(second);
    let recipients = on_first + on_second;
    let (elapsed, cpu) =
        fan_out(&[o.pid, o.pid2], conns, "bcast", recipients, messages, |n| format!("42[\"broadcast\",{n}]"))
            .await?;
    let deliveries = (messages * recipients) as f64;
    Ok(json!({
        "clients": recipients,
        "messages": messages,
        "deliveries": deliveries,
        "deliveries_per_second": deliveries / elapsed.as_secs_f64(),
        "cpu_ns_per_delivery_first": cpu[0] as f64 / (messages * on_first) as f64,
        "cpu_ns_per_delivery_second": cpu[1] as f64 / (messages * on_second) as f64,
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
            "large" => large(&options).await,
            "polling" => polling(&options).await,
            "rooms" => rooms(&options).await,
            "cluster" => cluster(&options).await,
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
