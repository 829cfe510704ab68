//! A Socket.IO server whose metrics Prometheus can scrape. With the `metrics` feature the server reports
//! its counters and gauges (connections, sockets per namespace, packets and bytes, broadcasts, cluster
//! requests, recovery; the list is in `socketio::server::metrics`) through the `metrics` facade; here
//! `metrics-exporter-prometheus` records them, and a small hyper server next to the Socket.IO one
//! answers `GET /metrics` with the Prometheus text format.
//!
//! `cargo run -p socketio --features metrics --example metrics -- [--port 3000] [--metrics-port 9000]`
//!
//! Then connect any Socket.IO client to http://localhost:3000: emit `echo` (answered through the ack),
//! `join` a room, emit `chat` (sent to every other socket, or to a room with `chat room text`), and
//! watch the figures move with `curl http://localhost:9000/metrics`.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use socketio::server::parser::Value;
use socketio::{ServerConfig, SocketIo};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

struct Options {
    port: u16,
    metrics_port: u16,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options { port: 3000, metrics_port: 9000 };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let port = value.parse::<u16>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--port" => options.port = port?,
            "--metrics-port" => options.metrics_port = port?,
            other => return Err(format!("unknown flag {other} (flags: --port N, --metrics-port N)")),
        }
    }
    Ok(options)
}

/// The answer of the metrics server: the Prometheus text on `GET /metrics`, 404 elsewhere.
fn answer(req: &Request<hyper::body::Incoming>, handle: &PrometheusHandle) -> Response<Full<Bytes>> {
    if req.method() != Method::GET || req.uri().path() != "/metrics" {
        let mut res = Response::new(Full::new(Bytes::from_static(b"try GET /metrics\n")));
        *res.status_mut() = StatusCode::NOT_FOUND;
        return res;
    }
    let mut res = Response::new(Full::new(Bytes::from(handle.render())));
    res.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    res
}

/// Serves the metrics on `addr`, one task per connection.
async fn serve_metrics(addr: SocketAddr, handle: PrometheusHandle) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("metrics on http://localhost:{}/metrics", listener.local_addr()?.port());
    tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, say: wait a little rather than spin.
                    eprintln!("accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let handle = handle.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let res = answer(&req, &handle);
                    async move { Ok::<_, Infallible>(res) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = parse_args()?;

    // The recorder goes in first: the server takes its counters from it when it is created.
    let handle = PrometheusBuilder::new().install_recorder()?;
    // Without the exporter's own HTTP listener, its upkeep (draining histogram buckets) is ours to run.
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });

    let io = SocketIo::new(ServerConfig::default());
    io.on_connection(|socket| async move {
        socket.on("echo", |_socket, args: Vec<Value>, ack| async move {
            if let Some(ack) = ack {
                let _ = ack.send(args);
            }
        });
        socket.on("join", |socket, (room,): (String,), _ack| async move {
            socket.join(room);
        });
        socket.on("chat", |socket, args: Vec<Value>, _ack| async move {
            // `chat room text` goes to a room; `chat text` to every other socket.
            let _ = match args.as_slice() {
                [Value::String(room), text] => socket.to(room.as_str()).emit("chat", (text.clone(),)),
                _ => socket.broadcast().emit("chat", args),
            };
        });
    });

    serve_metrics(SocketAddr::from(([127, 0, 0, 1], options.metrics_port)), handle).await?;
    let server = io.listen(SocketAddr::from(([127, 0, 0, 1], options.port))).await?;
    println!("socket.io on http://localhost:{}", server.local_addr().port());
    tokio::signal::ctrl_c().await?;
    io.close().await;
    Ok(())
}
