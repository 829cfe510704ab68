//! socketioxide 0.18 serving the bench contract (`echo` acks its arguments; `broadcast` emits `bcast` to
//! the whole namespace; `large` emits `bcast-large` with a binary attachment of the size asked for;
//! `join` / `to-room` for the rooms scenario), the way its documentation shows it:
//! the standalone service on hyper. Started by `cargo xtask bench` as `bench-socketioxide --port 0`;
//! prints `listening on PORT`.

use hyper_util::rt::TokioIo;
use serde_json::Value;
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::SocketIo;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        if flag == "--port" {
            port = value.parse().map_err(|_| std::io::Error::other("--port PORT"))?;
        }
    }
    let (svc, io) = SocketIo::new_svc();
    let everyone = io.clone();
    io.ns("/", move |s: SocketRef| {
        let everyone = everyone.clone();
        let everyone_large = everyone.clone();
        async move {
            s.on("echo", |Data::<(Value, Value)>(args), ack: AckSender| async move {
                let _ = ack.send(&args);
            });
            s.on("broadcast", move |Data::<Value>(n)| {
                let everyone = everyone.clone();
                async move {
                    let _ = everyone.emit("bcast", &n).await;
                }
            });
            s.on("large", move |Data::<(Value, usize)>((n, size))| {
                let everyone = everyone_large.clone();
                async move {
                    let payload = bytes::Bytes::from(vec![0u8; size.min(16 << 20)]);
                    let _ = everyone.emit("bcast-large", &(n, payload)).await;
                }
            });
            s.on("join", |s: SocketRef, Data::<String>(room), ack: AckSender| async move {
                s.join(room);
                let _ = ack.send("ok");
            });
            s.on("to-room", |s: SocketRef, Data::<(String, Value)>((room, n))| async move {
                let _ = s.within(room).emit("room-msg", &n).await;
            });
        }
    });
    // The backlog our server listens with (the standard library's 128 overflows under the
    // bench's bursts of connections, and the rate would measure the kernel's SYN retries).
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(std::net::SocketAddr::from(([127, 0, 0, 1], port)))?;
    let listener = socket.listen(1024)?;
    println!("listening on {}", listener.local_addr()?.port());
    loop {
        let (stream, _) = listener.accept().await?;
        let svc = svc.clone();
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades()
                .await;
        });
    }
}
