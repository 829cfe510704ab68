//! The client scenario of `cargo xtask bench`: this process opens `--clients N` connections of our Rust
//! client (socketio-client, websocket only) to the server on `--port`, each doing one acknowledged
//! `echo`, and reports what holding them cost it: RSS per connection, connections per second, and how
//! long one acked echo on every connection took. `conformance/apps/clientgen.mjs` does the same with
//! the official socket.io-client in Node.
//!
//! `clientgen --port PORT [--clients N]`; prints one JSON object `{"figures": {...}}`.

use socketio_client::{ClientBuilder, Transport};
use std::time::Instant;

#[path = "../procfs.rs"]
mod procfs;

/// This process's resident memory, in bytes.
fn rss_bytes() -> u64 {
    procfs::rss_bytes("self")
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let (mut port, mut clients) = (0u16, 1000usize);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--port" => port = value.parse().unwrap_or(0),
            "--clients" => clients = value.parse().unwrap_or(1000),
            _ => {}
        }
    }
    if let Err(e) = run(port, clients).await {
        eprintln!("clientgen: {e}");
        std::process::exit(1);
    }
}

async fn run(port: u16, clients: usize) -> Result<(), String> {
    let url = format!("http://127.0.0.1:{port}/");
    // One client first, so that what every process pays once (runtime, TLS roots) is not counted.
    let first =
        ClientBuilder::new(url.clone()).transports(&[Transport::Websocket]).auto_connect(false).build();
    let first = first.map_err(|e| e.to_string())?;
    first.connect().await.map_err(|e| e.to_string())?;
    first.emit_with_ack("echo", ("warm-up", 0)).await.map_err(|e| e.to_string())?;
    let before = rss_bytes();
    let started = Instant::now();
    let mut sockets = Vec::with_capacity(clients);
    for chunk in (0..clients).collect::<Vec<_>>().chunks(100) {
        let mut connecting = Vec::new();
        for _ in chunk {
            let socket = ClientBuilder::new(url.clone())
                .transports(&[Transport::Websocket])
                .force_new(true)
                .auto_connect(false)
                .build()
                .map_err(|e| e.to_string())?;
            connecting.push(async move { socket.connect().await.map(|()| socket) });
        }
        for socket in futures_util::future::join_all(connecting).await {
            sockets.push(socket.map_err(|e| e.to_string())?);
        }
    }
    let connect_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let echoes = sockets.iter().enumerate().map(|(i, s)| s.emit_with_ack("echo", ("hello", i)));
    for answer in futures_util::future::join_all(echoes).await {
        answer.map_err(|e| e.to_string())?;
    }
    let echo_seconds = started.elapsed().as_secs_f64();
    let after = rss_bytes();
    let figures = serde_json::json!({
        "clients": clients,
        "rss_per_connection_bytes": after.saturating_sub(before) as f64 / clients as f64,
        "connections_per_second": clients as f64 / connect_seconds,
        "echo_all_ms": echo_seconds * 1000.0,
    });
    println!("{}", serde_json::json!({ "figures": figures }));
    for socket in sockets {
        socket.disconnect();
    }
    first.disconnect();
    Ok(())
}
