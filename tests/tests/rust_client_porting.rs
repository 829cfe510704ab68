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

/// The `Cookie` header of the handshake of the next connection, after the current one was dropped by
/// the server (the manager reconnects).
async fn cookie_after_a_reconnection(
    socket: &socketio_client::Socket,
    seen: &mut mpsc::UnboundedReceiver<Seen>,
) -> Option<String> {
    socket.emit("drop-transport", ()).unwrap();
    within(seen.recv()).await.unwrap().cookie
}

#[tokio::test]
async fn with_credentials_the_servers_cookie_goes_back_with_later_requests_on_every_transport() {
    let mut config = ServerConfig::default();
    config.engine.cookie = Some(engineio_server::CookieConfig::default());
    let (_io, addr, mut seen) = reporting_server(config).await;
    for transports in [vec![Transport::Polling], vec![Transport::Websocket]] {
        let socket = ClientBuilder::new(format!("http://{addr}/"))
            .transports(&transports)
            .with_credentials(true)
            .reconnection_delay(Duration::from_millis(10))
            .force_new(true)
            .build()
            .unwrap();
        within(socket.connect()).await.unwrap();
        assert_eq!(within(seen.recv()).await.unwrap().cookie, None, "nothing to send yet");
        let first_sid = socket.manager().engine().unwrap().handshake().sid.clone();
        let jar = socket.manager().options().engine.cookies.clone().unwrap();
        // Set on the handshake (the polling GET, or the websocket's 101 response).
        assert_eq!(jar.get("io"), Some(first_sid.clone()), "{transports:?}");
        // The jar belongs to the manager: the next connection's handshake carries the cookie.
        let cookie = cookie_after_a_reconnection(&socket, &mut seen).await;
        assert_eq!(cookie, Some(format!("io={first_sid}")), "{transports:?}");
        socket.disconnect();
    }
    // Without credentials, no cookie is kept.
    let socket = ClientBuilder::new(format!("http://{addr}/"))
        .reconnection_delay(Duration::from_millis(10))
        .force_new(true)
        .build()
        .unwrap();
    within(socket.connect()).await.unwrap();
    within(seen.recv()).await.unwrap();
    assert!(socket.manager().options().engine.cookies.is_none());
    assert_eq!(cookie_after_a_reconnection(&socket, &mut seen).await, None);
}

/// A load balancer in front of `nodes` with cookie stickiness, as HAProxy's `cookie lb insert`: a
/// request with `lb=N` goes to node N; another goes to the next node in turn, and its response sets
/// `lb`. Polling only (it does not forward upgrades).
async fn sticky_balancer(nodes: Vec<SocketAddr>) -> SocketAddr {
    use hyper::body::Incoming;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client: Client<_, Incoming> = Client::builder(TokioExecutor::new()).build_http();
    let turn = Arc::new(AtomicUsize::new(0));
    let nodes = Arc::new(nodes);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (client, turn, nodes) = (client.clone(), turn.clone(), nodes.clone());
            let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
                let (client, turn, nodes) = (client.clone(), turn.clone(), nodes.clone());
                async move {
                    let pinned = request
                        .headers()
                        .get_all(http::header::COOKIE)
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .flat_map(|v| v.split(';'))
                        .find_map(|c| c.trim().strip_prefix("lb=")?.parse::<usize>().ok())
                        .filter(|n| *n < nodes.len());
                    let node = pinned.unwrap_or_else(|| turn.fetch_add(1, Ordering::SeqCst) % nodes.len());
                    let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
                    *request.uri_mut() = format!("http://{}{target}", nodes[node]).parse().unwrap();
                    let mut response = client.request(request).await?;
                    if pinned.is_none() {
                        let cookie = http::HeaderValue::from_str(&format!("lb={node}; Path=/")).unwrap();
                        response.headers_mut().append(http::header::SET_COOKIE, cookie);
                    }
                    Ok::<_, hyper_util::client::legacy::Error>(response)
                }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn with_credentials_polling_works_behind_a_cookie_sticky_load_balancer() {
    let (io_a, a, _seen_a) = reporting_server(ServerConfig::default()).await;
    let (io_b, b, _seen_b) = reporting_server(ServerConfig::default()).await;
    let balancer = sticky_balancer(vec![a, b]).await;
    // With the jar, every request follows the handshake to its node.
    let socket = ClientBuilder::new(format!("http://{balancer}/"))
        .transports(&[Transport::Polling])
        .with_credentials(true)
        .force_new(true)
        .build()
        .unwrap();
    within(socket.connect()).await.unwrap();
    for i in 0..5 {
        let answer = within(socket.emit_with_ack("echo", (i,))).await.unwrap();
        assert_eq!(answer, vec![Value::from(i)]);
    }
    let jar = socket.manager().options().engine.cookies.clone().unwrap();
    let node = jar.get("lb").unwrap();
    let (mine, other) = if node == "0" { (&io_a, &io_b) } else { (&io_b, &io_a) };
    assert_eq!(mine.sockets().sockets().len(), 1, "on node {node}");
    assert!(other.sockets().sockets().is_empty());
    assert!(socket.connected());
    // Without it, the first poll after the handshake lands on the other node: "Session ID unknown".
    let lost = ClientBuilder::new(format!("http://{balancer}/"))
        .transports(&[Transport::Polling])
        .reconnection(false)
        .auto_connect(false)
        .force_new(true)
        .build()
        .unwrap();
    let (tx, mut closes) = mpsc::unbounded_channel();
    lost.manager().on(move |event| {
        if let socketio_client::ManagerEvent::Close(reason) = event {
            let _ = tx.send(reason.clone());
        }
    });
    lost.open();
    assert_eq!(within(closes.recv()).await.unwrap(), "transport error");
    assert!(!lost.connected());
}
