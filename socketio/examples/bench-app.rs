//! The bench contract on the least code a user of this crate would write: `echo` acks its arguments,
//! `broadcast` emits `bcast` to the whole namespace, `large` emits `bcast-large` with a binary
//! attachment of the size asked for to the whole namespace, `join` (acked) and `to-room` for the rooms
//! scenario. `cargo xtask bench` runs it beside the reference app, socketioxide, Node and a bare
//! websocket floor.
//!
//! ```text
//! cargo run --release -p socketio --example bench-app -- --port 3000
//! ```
//!
//! Prints `listening on PORT` once it accepts connections (`--port 0`: any free port).

use socketio::parser::Value;
use socketio::{ServerConfig, Socket, SocketIo};
use std::net::SocketAddr;

/// The largest payload `large` builds.
const MAX_LARGE: usize = 16 << 20;

#[tokio::main]
async fn main() {
    let mut port = 3000u16;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        match flag.as_str() {
            "--port" => port = value.parse().unwrap_or_else(|_| exit("--port PORT")),
            // The bench passes the reference app's flags; only the memory adapter is served here.
            "--adapter" if value == "memory" => {}
            other => exit(&format!("unknown flag {other}")),
        }
    }
    let io = SocketIo::new(ServerConfig::default());
    // Handlers registered once for every socket of the namespace.
    let nsp = io.sockets();
    nsp.on("echo", |_, args: Vec<Value>, ack| async move {
        if let Some(ack) = ack {
            let _ = ack.send(args);
        }
    });
    nsp.on("broadcast", |s: Socket, args: Vec<Value>, _| async move {
        let _ = s.namespace().emit("bcast", args);
    });
    // `large`: a broadcast of `size` zero bytes as a binary attachment, built once.
    nsp.on("large", |s: Socket, (n, size): (Value, usize), _| async move {
        let payload = Value::Binary(bytes::Bytes::from(vec![0u8; size.min(MAX_LARGE)]));
        let _ = s.namespace().emit("bcast-large", (n, payload));
    });
    nsp.on("join", |s: Socket, (room,): (String,), ack| async move {
        s.join(room);
        if let Some(ack) = ack {
            let _ = ack.send(("ok",));
        }
    });
    nsp.on("to-room", |s: Socket, (room, n): (String, Value), _| async move {
        let _ = s.namespace().to(room).emit("room-msg", (n,));
    });
    let server =
        io.listen(SocketAddr::from(([127, 0, 0, 1], port))).await.unwrap_or_else(|e| exit(&e.to_string()));
    println!("listening on {}", server.local_addr().port());
    let _ = tokio::signal::ctrl_c().await;
    io.close().await;
}

fn exit(message: &str) -> ! {
    eprintln!("bench-app: {message}");
    std::process::exit(2)
}
