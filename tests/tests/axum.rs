//! The server's tower `Layer` in an axum 0.8 app served by `axum::serve`: Socket.IO over websocket and
//! polling on `/socket.io/`, the app's own routes beside it, and state shared both ways (an HTTP handler
//! emits to the sockets; a socket handler writes what an HTTP handler reads).

#![allow(clippy::unwrap_used)]

use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use socketio_client::{ClientBuilder, Socket as ClientSocket, Transport};
use socketio_server::{ServerConfig, SocketIo};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

async fn within<F: std::future::Future>(fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), fut).await.expect("in time")
}

#[derive(Clone)]
struct AppState {
    io: SocketIo,
    notes: Arc<Mutex<Vec<String>>>,
}

async fn notes(State(state): State<AppState>) -> String {
    state.notes.lock().unwrap().join(",")
}

async fn announce(State(state): State<AppState>, body: String) -> String {
    state.io.emit("announcement", (body,)).unwrap();
    "sent".into()
}

async fn serve() -> SocketAddr {
    let io = SocketIo::new(ServerConfig::default());
    let state = AppState { io: io.clone(), notes: Arc::default() };
    let shared = state.notes.clone();
    io.on_connection(move |socket| {
        let shared = shared.clone();
        async move {
            socket.on("note", move |_socket, (text,): (String,), ack| {
                let shared = shared.clone();
                async move {
                    shared.lock().unwrap().push(text);
                    if let Some(ack) = ack {
                        let _ = ack.send(("stored",));
                    }
                }
            });
        }
    });
    let app = Router::new()
        .route("/notes", get(notes))
        .route("/announce", post(announce))
        .with_state(state)
        .layer(io.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// One HTTP/1.1 request on a fresh connection; the response's status line and body.
async fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    within(stream.read_to_string(&mut response)).await.unwrap();
    let status = response.lines().next().unwrap_or_default().to_string();
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

async fn client(addr: SocketAddr, transport: Transport) -> (ClientSocket, mpsc::UnboundedReceiver<String>) {
    let socket = ClientBuilder::new(format!("http://{addr}/"))
        .transports(&[transport])
        .force_new(true)
        .build()
        .unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    socket.on("announcement", move |_s, event| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(event.args[0].as_str().unwrap_or_default().to_string());
        }
    });
    within(socket.connect()).await.unwrap();
    (socket, rx)
}

#[tokio::test]
async fn the_layer_serves_socketio_beside_axum_routes_with_shared_state() {
    let addr = serve().await;
    let (ws, mut ws_announcements) = client(addr, Transport::Websocket).await;
    let (polling, mut polling_announcements) = client(addr, Transport::Polling).await;

    // Socket handler → state → HTTP handler.
    assert_eq!(within(ws.emit_with_ack("note", ("from websocket",))).await.unwrap()[0], "stored");
    assert_eq!(within(polling.emit_with_ack("note", ("from polling",))).await.unwrap()[0], "stored");
    let (status, body) = http(addr, "GET", "/notes", "").await;
    assert!(status.contains("200"), "{status}");
    assert_eq!(body, "from websocket,from polling");

    // HTTP handler → io.emit → both clients.
    let (status, _) = http(addr, "POST", "/announce", "deploy at noon").await;
    assert!(status.contains("200"), "{status}");
    assert_eq!(within(ws_announcements.recv()).await.unwrap(), "deploy at noon");
    assert_eq!(within(polling_announcements.recv()).await.unwrap(), "deploy at noon");

    // The router still answers what is neither its own nor Socket.IO's.
    let (status, _) = http(addr, "GET", "/nowhere", "").await;
    assert!(status.contains("404"), "{status}");
}

/// The user an auth layer in front of the server put in the request's extensions.
#[derive(Clone, Debug, PartialEq)]
struct User(String);

/// What a tower/axum layer in front of the Socket.IO layer adds to the request (an authenticated user,
/// as `socket.request.user` in Node apps) reaches the namespace middleware and the socket, on every
/// transport; a request the layer did not authenticate is refused by the middleware.
#[tokio::test]
async fn what_an_upstream_layer_puts_in_the_request_reaches_the_middleware() {
    async fn auth(mut req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
        let user = req.headers().get("x-user").and_then(|v| v.to_str().ok()).map(str::to_owned);
        if let Some(name) = user {
            req.extensions_mut().insert(User(name));
        }
        next.run(req).await
    }
    let io = SocketIo::new(ServerConfig::default());
    io.sockets().use_middleware(|socket: socketio_server::Socket| async move {
        let user = socket.conn().request().extensions().get::<User>().cloned();
        match user {
            Some(user) => {
                socket.extensions().insert(user);
                Ok(())
            }
            None => Err(socketio_server::ConnectError::new("not authenticated")),
        }
    });
    io.sockets().on("whoami", |socket: socketio_server::Socket, (): (), ack| async move {
        let name = socket.extensions().get::<User>().map(|u| u.0.clone()).unwrap_or_default();
        if let Some(ack) = ack {
            let _ = ack.send((name,));
        }
    });
    let app = Router::new().layer(io.layer()).layer(axum::middleware::from_fn(auth));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    for transport in [Transport::Polling, Transport::Websocket] {
        let socket = ClientBuilder::new(format!("http://{addr}/"))
            .transports(&[transport])
            .extra_header("x-user", "ada")
            .auto_connect(false)
            .build()
            .unwrap();
        within(socket.connect()).await.unwrap();
        let answer = within(socket.emit_with_ack("whoami", ())).await.unwrap();
        assert_eq!(answer, vec![socketio_server::parser::Value::from("ada")], "{transport:?}");
        socket.disconnect();
        let anonymous = ClientBuilder::new(format!("http://{addr}/"))
            .transports(&[transport])
            .auto_connect(false)
            .reconnection(false)
            .build()
            .unwrap();
        assert_eq!(within(anonymous.connect()).await.unwrap_err().message, "not authenticated");
    }
}
