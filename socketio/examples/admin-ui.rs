//! The official Socket.IO admin UI watching a Rust server: the server is instrumented on `/admin`, and
//! the UI's built files (from the `@socket.io/admin-ui` npm package) are served next to it, so an
//! operator opens http://localhost:3000/admin-ui/, keeps the server URL `http://localhost:3000`, and
//! connects.
//!
//! `cargo run -p socketio --example admin-ui -- [--port N] [--ui DIR] [--username U --password-hash H]`
//!
//! `--ui` is the package's `ui/dist` folder; by default the copy `cargo xtask conformance` installs
//! (`target/conformance/node_modules/@socket.io/admin-ui/ui/dist`), or `npm install @socket.io/admin-ui`
//! anywhere and point to it. Without `--username`, the UI logs in with no credentials.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use socketio::admin::{instrument, AdminAuth, AdminOptions};
use socketio::server::parser::Value;
use socketio::server::{ServerConfig, Socket, SocketIo};
use std::path::{Path, PathBuf};
use std::sync::Arc;

struct Options {
    port: u16,
    ui: PathBuf,
    username: Option<String>,
    password_hash: Option<String>,
}

fn parse_args() -> Result<Options, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut options = Options {
        port: 3000,
        ui: root.join("target/conformance/node_modules/@socket.io/admin-ui/ui/dist"),
        username: None,
        password_hash: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => options.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--ui" => options.ui = PathBuf::from(value()?),
            "--username" => options.username = Some(value()?),
            "--password-hash" => options.password_hash = Some(value()?),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if !options.ui.join("index.html").is_file() {
        return Err(format!(
            "no admin UI in {} (run `cargo xtask conformance` once, or pass --ui <@socket.io/admin-ui>/ui/dist)",
            options.ui.display()
        ));
    }
    Ok(options)
}

/// A file of the UI, or 404; `path` is what follows `/admin-ui/`.
async fn ui_file(dir: &Path, path: &str) -> Response<Full<Bytes>> {
    let path = if path.is_empty() { "index.html" } else { path };
    let status = |code| Response::builder().status(code).body(Full::new(Bytes::new())).unwrap_or_default();
    if path.split('/').any(|part| part == ".." || part.is_empty()) {
        return status(StatusCode::NOT_FOUND);
    }
    let kind = match Path::new(path).extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("map") | Some("json") => "application/json",
        _ => "application/octet-stream",
    };
    match tokio::fs::read(dir.join(path)).await {
        Ok(body) => Response::builder()
            .header(hyper::header::CONTENT_TYPE, kind)
            .body(Full::new(Bytes::from(body)))
            .unwrap_or_else(|_| status(StatusCode::INTERNAL_SERVER_ERROR)),
        Err(_) => status(StatusCode::NOT_FOUND),
    }
}

#[tokio::main]
async fn main() {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("admin-ui: {e}");
            std::process::exit(2);
        }
    };
    let io = SocketIo::new(ServerConfig::default());
    // Something for the UI to watch: clients may join rooms and chat in them.
    io.on_connection(|socket: Socket| async move {
        socket.on("join", |s: Socket, args: Vec<Value>, _| async move {
            if let Some(room) = args.first().and_then(Value::as_str) {
                s.join(room);
            }
        });
        socket.on("say", |s: Socket, args: Vec<Value>, _| async move {
            let _ = s.broadcast().emit("said", args);
        });
    });
    let auth = match (options.username, options.password_hash) {
        (Some(user), Some(hash)) => AdminAuth::basic(user, hash),
        _ => Ok(AdminAuth::None),
    };
    if let Err(e) = auth.and_then(|auth| instrument(&io, AdminOptions::new(auth))) {
        eprintln!("admin-ui: {e}");
        std::process::exit(2);
    }

    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", options.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("admin-ui: cannot listen on port {}: {e}", options.port);
            std::process::exit(1);
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(options.port);
    println!("listening on {port}");
    println!("admin UI: http://localhost:{port}/admin-ui/ (server URL http://localhost:{port})");
    let ui = Arc::new(options.ui);
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
        let (io, ui) = (io.clone(), ui.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let (io, ui) = (io.clone(), ui.clone());
                async move {
                    let path = req.uri().path().to_string();
                    let response = if path == "/admin-ui" {
                        Response::builder()
                            .status(StatusCode::MOVED_PERMANENTLY)
                            .header(hyper::header::LOCATION, "/admin-ui/")
                            .body(Full::new(Bytes::new()))
                            .unwrap_or_default()
                    } else if let Some(file) = path.strip_prefix("/admin-ui/") {
                        ui_file(&ui, file).await
                    } else {
                        io.handle(req).await
                    };
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}
