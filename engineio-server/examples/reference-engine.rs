//! The engine-only reference app of `shared/reference-app.md`: every message a client sends (text or
//! binary) is sent back to it unchanged.
//!
//! `cargo run --release -p engineio-server --example reference-engine -- --port 3000`
//!
//! Flags: `--port N` (default 3000 or `$PORT`), `--path P` (`/engine.io/`), `--ping-interval MS`,
//! `--ping-timeout MS`, `--max-payload BYTES`, `--transports polling,websocket`, `--cors-origin O`
//! (`*`, or one origin that every response allows, as a string `origin` of the `cors` package),
//! `--allow-eio3`. Prints `listening on PORT` once it accepts connections; stops on SIGINT/SIGTERM.
//!
//! For the conformance tests only: `--forbid-query KEY` installs an `allowRequest` hook that refuses
//! (403, `{"code":4,"message":"Forbidden"}`) every handshake whose query string has the parameter `KEY`.

use engineio_server::parser::PacketData;
use engineio_server::{
    AllowRequest, CorsConfig, CorsOrigin, EngineConfig, EngineIo, Handler, RequestInfo, Socket, TransportKind,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

struct Echo;

impl Handler for Echo {
    fn on_message(&self, socket: &Socket, data: PacketData) {
        let _ = match data {
            PacketData::Text(text) => socket.send_text(text),
            PacketData::Binary(bytes) => socket.send_binary(bytes),
            // An empty message is a message too: it comes back as one.
            PacketData::Empty => socket.send_text(""),
        };
    }
}

fn parse_args() -> Result<(u16, EngineConfig), String> {
    let mut port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3000);
    let mut config = EngineConfig {
        cors: Some(CorsConfig { origin: CorsOrigin::Any, ..CorsConfig::default() }),
        ..EngineConfig::default()
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        let ms = |v: String| v.parse::<u64>().map(Duration::from_millis).map_err(|e| format!("{v}: {e}"));
        match flag.as_str() {
            "--port" => port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--path" => config.path = value()?,
            "--ping-interval" => config.ping_interval = ms(value()?)?,
            "--ping-timeout" => config.ping_timeout = ms(value()?)?,
            "--max-payload" => {
                config.max_http_buffer_size = value()?.parse().map_err(|e| format!("--max-payload: {e}"))?
            }
            "--transports" => {
                config.transports = value()?
                    .split(',')
                    .map(|t| {
                        TransportKind::from_name(t.trim()).ok_or_else(|| format!("unknown transport {t}"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--cors-origin" => {
                let origin = value()?;
                let origin = if origin == "*" { CorsOrigin::Any } else { CorsOrigin::Fixed(origin) };
                config.cors = Some(CorsConfig { origin, ..CorsConfig::default() });
            }
            "--allow-eio3" => config.allow_eio3 = true,
            "--forbid-query" => config.allow_request = Some(forbid_query(value()?)),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok((port, config))
}

/// An `allowRequest` hook refusing every handshake whose query has the parameter `key`.
fn forbid_query(key: String) -> AllowRequest {
    Arc::new(move |request: RequestInfo| {
        let refused = request.query_pairs().iter().any(|(k, _)| *k == key);
        Box::pin(async move {
            if refused {
                Err("Forbidden".to_string())
            } else {
                Ok(())
            }
        })
    })
}

#[tokio::main]
async fn main() {
    let (port, config) = match parse_args() {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("reference-engine: {e}");
            std::process::exit(2);
        }
    };
    let engine = EngineIo::new(config, Echo);
    let v4 = SocketAddr::from(([127, 0, 0, 1], port));
    let server = match engine.listen(v4).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("reference-engine: cannot listen on {v4}: {e}");
            std::process::exit(1);
        }
    };
    // IPv6 loopback too, where the machine has it.
    let _v6 =
        engine.listen(SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, server.local_addr().port()))).await;
    println!("listening on {}", server.local_addr().port());
    shutdown_signal().await;
    engine.close().await;
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
