//! Socket.IO mounted in an axum 0.8 app, with state shared both ways: HTTP handlers emit to the sockets,
//! and socket handlers write to the state the HTTP handlers read.
//!
//! ```sh
//! cargo run -p socketio --example axum -- --port 3000
//! # in another shell, with any Socket.IO client connected to http://localhost:3000:
//! curl -X POST --data 'deploy at noon' http://localhost:3000/api/announce   # clients get `announcement`
//! curl http://localhost:3000/api/messages                                   # what clients sent as `message`
//! ```
//!
//! - `GET /api/messages`: the messages clients sent (a socket handler stores them in the app state).
//! - `POST /api/announce`: emits the body to every socket as `announcement`; answers how many sockets
//!   are connected.
//! - Socket.IO on `/socket.io/`: `message` (text, with an optional ack answering its number) is stored
//!   and broadcast to the others, with the sender's name.
//! - An auth layer in front of everything (`axum::middleware::from_fn`) puts the user named by the
//!   `user` query parameter (`io("http://localhost:3000", { query: { user: "ada" } })`) in the request's
//!   extensions, as a session or auth layer would; the namespace middleware reads it from the socket's
//!   request (Node: `socket.request.user`) and refuses connections without one.
//!
//! The `/api` routes allow any origin through `tower_http::cors`; the Socket.IO path has its own CORS
//! options (`ServerConfig::engine.cors`, off here, as in the reference server).

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use socketio::prelude::*;
use std::sync::{Arc, Mutex};

/// What the HTTP handlers and the Socket.IO handlers share.
#[derive(Clone)]
struct AppState {
    io: SocketIo,
    messages: Arc<Mutex<Vec<String>>>,
}

/// The user an auth layer found for a request.
#[derive(Clone)]
struct User(String);

/// Stands for a real session or authentication layer: names the user from the `user` query parameter.
async fn auth(mut req: Request, next: Next) -> Response {
    let user = req.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|pair| pair.strip_prefix("user="))
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
    });
    if let Some(name) = user {
        req.extensions_mut().insert(User(name));
    }
    next.run(req).await
}

async fn messages(State(state): State<AppState>) -> Json<Vec<String>> {
    let list = state.messages.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Json(list)
}

async fn announce(State(state): State<AppState>, body: String) -> String {
    let _ = state.io.emit("announcement", (body,));
    format!("{} sockets\n", state.io.sockets().sockets().len())
}

fn app(io: &SocketIo) -> Router {
    let state = AppState { io: io.clone(), messages: Arc::default() };
    let messages_for_sockets = state.messages.clone();
    // What the auth layer found reaches the socket through its request.
    io.sockets().use_middleware(|socket: Socket| async move {
        let user = socket.conn().request().extensions().get::<User>().cloned();
        match user {
            Some(user) => {
                socket.extensions().insert(user);
                Ok(())
            }
            None => Err(ConnectError::new("not authenticated: connect with the query {user: NAME}")),
        }
    });
    io.on_connection(move |socket| {
        let messages = messages_for_sockets.clone();
        async move {
            socket.on("message", move |socket, (text,): (String,), ack| {
                let messages = messages.clone();
                async move {
                    let number = {
                        let mut list = messages.lock().unwrap_or_else(|e| e.into_inner());
                        list.push(text.clone());
                        list.len()
                    };
                    let name = socket.extensions().get::<User>().map(|u| u.0.clone()).unwrap_or_default();
                    let _ = socket.broadcast().emit("message", (name, text));
                    if let Some(ack) = ack {
                        let _ = ack.send((number,));
                    }
                }
            });
        }
    });
    let api = Router::new()
        .route("/messages", get(messages))
        .route("/announce", post(announce))
        .layer(tower_http::cors::CorsLayer::permissive());
    // Layers added later run first: the auth layer sees every request before the Socket.IO layer.
    Router::new().nest("/api", api).with_state(state).layer(io.layer()).layer(axum::middleware::from_fn(auth))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut port = 3000u16;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next().map(|v| v.parse())) {
            ("--port", Some(Ok(p))) => port = p,
            _ => {
                eprintln!("usage: axum [--port N]");
                std::process::exit(2);
            }
        }
    }
    let io = SocketIo::new(ServerConfig::default());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on {}", listener.local_addr()?.port());
    axum::serve(listener, app(&io))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    io.close().await;
    Ok(())
}
