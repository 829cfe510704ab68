//! The Rust client where a port of a Node app would otherwise trip (issue 24): the URL's query reaches
//! the handshake, a second socket on the same namespace gets a connection (and an auth) of its own, and
//! cookies are kept per manager when asked (`with_credentials`), down to a cookie-sticky load balancer.

#![allow(clippy::unwrap_used)]

use socketio_client::{ClientBuilder, Transport};
use socketio_e2e::client::start;
use socketio_server::parser::Value;
use socketio_server::{ServerConfig, Socket, SocketIo};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::mpsc;

async fn within<F: std::future::Future>(fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), fut).await.expect("in time")
}

/// What the server saw of one connection.
#[derive(Debug)]
struct Seen {
    nsp: String,
    query: serde_json::Value,
    auth: serde_json::Value,
    cookie: Option<String>,
}

/// A server that reports each connection on `/` and `/admin`, and echoes `echo` with an ack.
async fn reporting_server(config: ServerConfig) -> (SocketIo, SocketAddr, mpsc::UnboundedReceiver<Seen>) {
    let (io, addr) = start(config).await;
    let (tx, rx) = mpsc::unbounded_channel();
    for nsp in ["/", "/admin"] {
        let tx = tx.clone();
        io.of(nsp).on_connection(move |socket: Socket| {
            let tx = tx.clone();
            async move {
                let handshake = socket.handshake();
                let _ = tx.send(Seen {
                    nsp: socket.nsp().to_string(),
                    query: serde_json::to_value(&handshake.query).unwrap(),
                    auth: serde_json::to_value(&handshake.auth).unwrap(),
                    cookie: handshake.headers.get("cookie").and_then(|v| v.to_str().ok()).map(str::to_owned),
                });
                socket.on("echo", |_s, args: Vec<Value>, ack| async move {
                    if let Some(ack) = ack {
                        let _ = ack.send(args);
                    }
                });
                socket
                    .on("drop-transport", |s: Socket, _args: Vec<Value>, _| async move { s.conn().close() });
            }
        });
    }
    (io, addr, rx)
}

#[tokio::test]
async fn the_urls_query_reaches_the_handshake_and_the_namespace_is_the_path() {
    let (_io, addr, mut seen) = reporting_server(ServerConfig::default()).await;
    for transports in [vec![Transport::Polling], vec![Transport::Websocket]] {
        let socket = ClientBuilder::new(format!("http://{addr}/admin?token=abc%20d&empty"))
            .transports(&transports)
            .query("room", "r1")
            .force_new(true)
            .build()
            .unwrap();
        within(socket.connect()).await.unwrap();
        let seen = within(seen.recv()).await.unwrap();
        assert_eq!(seen.nsp, "/admin", "{transports:?}");
        assert_eq!(socket.nsp(), "/admin");
        assert_eq!(seen.query["token"], "abc d", "{transports:?}: {seen:?}");
        assert_eq!(seen.query["empty"], "", "{transports:?}: {seen:?}");
        assert_eq!(seen.query["room"], "r1", "the query option is sent too: {seen:?}");
        socket.disconnect();
    }
}

#[tokio::test]
async fn a_second_socket_on_the_same_namespace_connects_with_its_own_auth() {
    let (io, addr, mut seen) = reporting_server(ServerConfig::default()).await;
    let url = format!("http://{addr}/admin");
    let first = ClientBuilder::new(&url).auth(serde_json::json!({"user": 1})).build().unwrap();
    within(first.connect()).await.unwrap();
    let second = ClientBuilder::new(&url).auth(serde_json::json!({"user": 2})).build().unwrap();
    within(second.connect()).await.unwrap();
    let auths = [within(seen.recv()).await.unwrap().auth, within(seen.recv()).await.unwrap().auth];
    assert_eq!(auths, [serde_json::json!({"user": 1}), serde_json::json!({"user": 2})]);
    assert_ne!(first.id(), second.id(), "two sockets");
    let (a, b) = (first.manager().engine().unwrap(), second.manager().engine().unwrap());
    assert_ne!(a.handshake().sid, b.handshake().sid, "two connections, as io() opens in the JS client");
    assert_eq!(io.of("/admin").sockets().len(), 2);
    // Another namespace of the same origin still shares the first connection.
    let main = ClientBuilder::new(format!("http://{addr}/")).build().unwrap();
    within(main.connect()).await.unwrap();
    assert_eq!(main.manager().engine().unwrap().handshake().sid, a.handshake().sid);
    // Both /admin sockets work on their own.
    assert_eq!(within(second.emit_with_ack("echo", ("2",))).await.unwrap(), vec![Value::from("2")]);
    first.disconnect();
    assert_eq!(within(second.emit_with_ack("echo", ("3",))).await.unwrap(), vec![Value::from("3")]);
}
