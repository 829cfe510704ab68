//! The Rust client (socketio-client) against our server over real sockets: every transport, both
//! parsers, acks both ways, multiplexing, auth and connect errors, buffering, timeouts, reconnection
//! and connection state recovery.

#![allow(clippy::unwrap_used)]

use socketio_client::{AckError, ClientBuilder, ManagerEvent, Socket as ClientSocket, Transport};
use socketio_e2e::client::start;
use socketio_server::parser::Value;
use socketio_server::{ConnectError, RecoveryConfig, ServerConfig, Socket, SocketIo};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::mpsc;

async fn within<F: std::future::Future>(fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), fut).await.expect("in time")
}

/// A server with an `echo` event (acked with its arguments) and a `hello` the client must answer.
async fn server(config: ServerConfig) -> (SocketIo, SocketAddr) {
    let (io, addr) = start(config).await;
    for nsp in ["/", "/admin"] {
        io.of(nsp).on_connection(|socket: Socket| async move {
            socket.on("echo", |_s, args: Vec<Value>, ack| async move {
                if let Some(ack) = ack {
                    let _ = ack.send(args);
                }
            });
            socket.on("ask-me", |s: Socket, _args: Vec<Value>, _| async move {
                let answer = s
                    .timeout(Duration::from_secs(5))
                    .emit_with_ack("question", ("q", bytes::Bytes::from_static(b"\x07")))
                    .await;
                let _ = s.emit("answered", (format!("{answer:?}"),));
            });
            socket.on("say-back", |s: Socket, args: Vec<Value>, _| async move {
                let _ = s.emit("message-back", args);
            });
            socket.on("kick", |s: Socket, _args: Vec<Value>, _| async move { s.disconnect(false) });
            socket.on("drop-transport", |s: Socket, _args: Vec<Value>, _| async move { s.conn().close() });
            socket.on("whoami", |s: Socket, _args: Vec<Value>, ack| async move {
                if let Some(ack) = ack {
                    let _ = ack.send((s.id().to_string(), s.recovered()));
                }
            });
        });
    }
    (io, addr)
}

/// A server configuration with the msgpack parser or the default one.
fn with_parser(msgpack: bool) -> ServerConfig {
    let parser =
        if msgpack { socketio_server::ParserKind::Msgpack } else { socketio_server::ParserKind::Default };
    ServerConfig { parser, ..ServerConfig::default() }
}

fn url(addr: SocketAddr, nsp: &str) -> String {
    format!("http://{addr}{nsp}")
}

async fn echo_both_ways(socket: &ClientSocket) {
    let bin = Value::Binary(bytes::Bytes::from_static(&[1, 2, 3]));
    let nested = Value::from(serde_json::json!({"a": [1, {"b": null}]}));
    let answer = within(socket.emit_with_ack("echo", vec![Value::from("hi"), bin.clone(), nested.clone()]))
        .await
        .unwrap();
    assert_eq!(answer, vec![Value::from("hi"), bin, nested]);
    // The server asks; the handler answers through the event's ack.
    let (tx, mut rx) = mpsc::unbounded_channel();
    socket.off("question", None);
    socket.off("answered", None);
    socket.on("question", |_s, mut event| async move {
        assert_eq!(event.args[1], Value::Binary(bytes::Bytes::from_static(b"\x07")));
        event.ack(("answer", bytes::Bytes::from_static(b"\x08"))).unwrap();
    });
    socket.on("answered", move |_s, event| {
        let tx = tx.clone();
        async move { tx.send(event.parse::<(String,)>().unwrap().0).unwrap() }
    });
    socket.emit("ask-me", ()).unwrap();
    let answered = within(rx.recv()).await.unwrap();
    assert!(answered.starts_with("Ok([String(\"answer\"), Binary("), "{answered}");
}

#[tokio::test]
async fn every_transport_and_both_parsers_carry_events_and_acks_both_ways() {
    for msgpack in [false, true] {
        let (_io, addr) = server(with_parser(msgpack)).await;
        for transports in [
            vec![Transport::Websocket],
            vec![Transport::Polling],
            vec![Transport::Polling, Transport::Websocket],
        ] {
            let mut builder = ClientBuilder::new(url(addr, "/")).transports(&transports).force_new(true);
            if msgpack {
                builder = builder.msgpack();
            }
            if transports == [Transport::Polling] {
                builder = builder.upgrade(false);
            }
            let socket = builder.build().unwrap();
            within(socket.connect()).await.unwrap();
            assert!(socket.id().is_some());
            echo_both_ways(&socket).await;
            if transports.len() == 2 {
                // Upgraded by now or soon; events go on working over the websocket.
                let engine = socket.manager().engine().unwrap();
                let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
                while engine.transport() != Transport::Websocket {
                    assert!(tokio::time::Instant::now() < deadline, "never upgraded");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                echo_both_ways(&socket).await;
            }
            socket.disconnect();
        }
    }
}

#[tokio::test]
async fn namespaces_share_one_connection() {
    let (io, addr) = server(ServerConfig::default()).await;
    let main = ClientBuilder::new(url(addr, "/")).transports(&[Transport::Websocket]).build().unwrap();
    let admin = ClientBuilder::new(url(addr, "/admin")).transports(&[Transport::Websocket]).build().unwrap();
    within(main.connect()).await.unwrap();
    within(admin.connect()).await.unwrap();
    let (a, b) = (main.manager().engine().unwrap(), admin.manager().engine().unwrap());
    assert_eq!(a.handshake().sid, b.handshake().sid, "one Engine.IO session");
    let s1 = io.sockets().sockets();
    let s2 = io.of("/admin").sockets();
    assert_eq!(s1[0].conn().id(), s2[0].conn().id());
    assert_eq!(within(admin.emit_with_ack("echo", ("x",))).await.unwrap(), vec![Value::from("x")]);
    // Leaving one namespace keeps the connection for the other.
    admin.disconnect();
    assert_eq!(within(main.emit_with_ack("echo", ("y",))).await.unwrap(), vec![Value::from("y")]);
    main.disconnect();
}

#[tokio::test]
async fn auth_reaches_the_middleware_and_refusals_carry_message_and_data() {
    let (io, addr) = server(ServerConfig::default()).await;
    io.sockets().use_middleware(|s: Socket| async move {
        let token = s.handshake().auth.get("token").and_then(Value::as_str).map(str::to_owned);
        match token.as_deref() {
            Some("good") => Ok(()),
            _ => {
                Err(ConnectError::new("not authorized")
                    .with_data(Value::from(serde_json::json!({"code": 401}))))
            }
        }
    });
    let refused = ClientBuilder::new(url(addr, "/"))
        .transports(&[Transport::Websocket])
        .auth(serde_json::json!({"token": "bad"}))
        .build()
        .unwrap();
    let error = within(refused.connect()).await.unwrap_err();
    assert_eq!(error.message, "not authorized");
    assert_eq!(error.data, Some(Value::from(serde_json::json!({"code": 401}))));
    assert!(!refused.active(), "a refused socket does not retry by itself");
    // An auth function is called for each connection.
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = calls.clone();
    let accepted = ClientBuilder::new(url(addr, "/"))
        .transports(&[Transport::Websocket])
        .force_new(true)
        .auth_fn(move || {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { Value::from(serde_json::json!({"token": "good"})) }
        })
        .build()
        .unwrap();
    within(accepted.connect()).await.unwrap();
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn emits_are_buffered_until_connected_and_volatile_ones_dropped() {
    let (io, addr) = server(ServerConfig::default()).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    io.on_connection(move |socket: Socket| {
        let tx = tx.clone();
        async move {
            socket.on("note", move |_s, (text,): (String,), _| {
                let tx = tx.clone();
                async move { tx.send(text).unwrap() }
            });
        }
    });
    let socket = ClientBuilder::new(url(addr, "/")).auto_connect(false).force_new(true).build().unwrap();
    socket.emit("note", ("buffered 1",)).unwrap();
    socket.volatile().emit("note", ("volatile",)).unwrap();
    socket.emit("note", ("buffered 2",)).unwrap();
    assert!(matches!(socket.emit("connect", ()), Err(socketio_client::EmitError::Reserved(_))));
    within(socket.connect()).await.unwrap();
    socket.emit("note", ("live",)).unwrap();
    for expected in ["buffered 1", "buffered 2", "live"] {
        assert_eq!(within(rx.recv()).await.unwrap(), expected);
    }
}

#[tokio::test]
async fn ack_timeouts_and_acks_pending_at_disconnection_fail() {
    let (io, addr) = server(ServerConfig::default()).await;
    io.of("/").on_connection(|socket: Socket| async move {
        socket.on("never", |_s, _args: Vec<Value>, _ack| async move {});
    });
    let socket = ClientBuilder::new(url(addr, "/"))
        .transports(&[Transport::Websocket])
        .force_new(true)
        .build()
        .unwrap();
    within(socket.connect()).await.unwrap();
    let timed_out = socket.timeout(Duration::from_millis(50)).emit_with_ack("never", ()).await;
    assert_eq!(timed_out, Err(AckError::Timeout));
    let pending = {
        let socket = socket.clone();
        tokio::spawn(async move { socket.emit_with_ack("never", ()).await })
    };
    // Once the emit is out, the server disconnects the socket.
    assert_eq!(within(socket.emit_with_ack("echo", ())).await.unwrap(), Vec::<Value>::new());
    socket.emit("kick", ()).unwrap();
    assert_eq!(within(pending).await.unwrap(), Err(AckError::Disconnected));
}

#[tokio::test]
async fn reconnects_after_a_lost_connection_but_not_after_a_server_disconnect() {
    let (_io, addr) = server(ServerConfig::default()).await;
    let socket = ClientBuilder::new(url(addr, "/"))
        .transports(&[Transport::Websocket])
        .force_new(true)
        .reconnection_delay(Duration::from_millis(20))
        .reconnection_delay_max(Duration::from_millis(50))
        .build()
        .unwrap();
    let (tx, mut events) = mpsc::unbounded_channel();
    socket.manager().on(move |e| drop(tx.send(e.clone())));
    let (dtx, mut reasons) = mpsc::unbounded_channel();
    socket.on_disconnect(move |_s, reason| {
        let dtx = dtx.clone();
        async move { dtx.send(reason).unwrap() }
    });
    within(socket.connect()).await.unwrap();
    let first_id = socket.id().unwrap();
    let mut status = socket.status();
    socket.emit("drop-transport", ()).unwrap();
    assert_eq!(within(reasons.recv()).await.unwrap(), "transport close");
    // Back by itself, with a new id.
    within(status.wait_for(|s| matches!(s, socketio_client::Status::Connected(id) if *id != first_id)))
        .await
        .unwrap();
    let mut seen = Vec::new();
    while let Ok(e) = events.try_recv() {
        seen.push(e);
    }
    assert!(seen.contains(&ManagerEvent::Close("transport close".into())), "{seen:?}");
    assert!(seen.contains(&ManagerEvent::ReconnectAttempt(1)), "{seen:?}");
    assert!(seen.contains(&ManagerEvent::Reconnect(1)), "{seen:?}");
    // The server disconnects the socket: no reconnection.
    socket.emit("kick", ()).unwrap();
    assert_eq!(within(reasons.recv()).await.unwrap(), "io server disconnect");
    assert!(!socket.active());
    assert!(tokio::time::timeout(Duration::from_millis(200), reasons.recv()).await.is_err());
}

#[tokio::test]
async fn reconnection_attempts_back_off_and_give_up() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let socket = ClientBuilder::new(url(addr, "/"))
        .force_new(true)
        .reconnection_attempts(3)
        .reconnection_delay(Duration::from_millis(10))
        .randomization_factor(0.0)
        .build()
        .unwrap();
    let (tx, mut events) = mpsc::unbounded_channel();
    socket.manager().on(move |e| drop(tx.send((tokio::time::Instant::now(), e.clone()))));
    let mut attempts = Vec::new();
    loop {
        let (at, event) = within(events.recv()).await.unwrap();
        match event {
            ManagerEvent::ReconnectAttempt(n) => attempts.push((n, at)),
            ManagerEvent::ReconnectFailed => break,
            _ => {}
        }
    }
    assert_eq!(attempts.iter().map(|(n, _)| *n).collect::<Vec<_>>(), vec![1, 2, 3]);
    // The delays grow: 10, 20, 40 ms between attempts.
    let gaps: Vec<Duration> = attempts.windows(2).map(|w| w[1].1 - w[0].1).collect();
    assert!(gaps[1] > gaps[0], "{gaps:?}");
}

#[tokio::test]
async fn recovers_missed_events_after_a_lost_connection() {
    let config = ServerConfig {
        connection_state_recovery: Some(RecoveryConfig {
            max_disconnection_duration: Duration::from_secs(60),
            skip_middlewares: true,
        }),
        ..ServerConfig::default()
    };
    let (io, addr) = server(config).await;
    let socket = ClientBuilder::new(url(addr, "/"))
        .transports(&[Transport::Websocket])
        .force_new(true)
        .reconnection_delay(Duration::from_millis(20))
        .build()
        .unwrap();
    let (tx, mut news) = mpsc::unbounded_channel();
    socket.on("news", move |_s, event| {
        let tx = tx.clone();
        async move { tx.send(event.args[0].clone()).unwrap() }
    });
    within(socket.connect()).await.unwrap();
    let id = socket.id().unwrap();
    io.emit("news", ("one",)).unwrap();
    assert_eq!(within(news.recv()).await.unwrap(), Value::from("one"));
    let mut status = socket.status();
    socket.emit("drop-transport", ()).unwrap();
    within(status.wait_for(|s| *s == socketio_client::Status::Disconnected)).await.unwrap();
    io.emit("news", ("two",)).unwrap();
    within(status.wait_for(|s| matches!(s, socketio_client::Status::Connected(_)))).await.unwrap();
    assert!(socket.recovered());
    assert_eq!(socket.id().unwrap(), id);
    assert_eq!(within(news.recv()).await.unwrap(), Value::from("two"));
}

#[tokio::test]
async fn retries_resend_until_acknowledged_one_emit_at_a_time() {
    let (io, addr) = server(ServerConfig::default()).await;
    let (tx, mut seen) = mpsc::unbounded_channel();
    io.of("/").on_connection(move |socket: Socket| {
        let tx = tx.clone();
        async move {
            let tries = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            socket.on("flaky", move |_s, (n,): (u32,), ack| {
                let (tx, tries) = (tx.clone(), tries.clone());
                async move {
                    let attempt = tries.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    tx.send((n, attempt)).unwrap();
                    // The first emit is answered at its third try; later ones at once.
                    if n != 1 || attempt == 3 {
                        ack.unwrap().send((n,)).unwrap();
                    }
                }
            });
        }
    });
    let socket = ClientBuilder::new(url(addr, "/"))
        .transports(&[Transport::Websocket])
        .force_new(true)
        .ack_timeout(Duration::from_millis(100))
        .retries(3)
        .build()
        .unwrap();
    within(socket.connect()).await.unwrap();
    let first = {
        let socket = socket.clone();
        tokio::spawn(async move { socket.emit_with_ack("flaky", (1,)).await })
    };
    // Once emit 1 is out (and waiting for its ack), emit 2 queues behind it.
    let mut order = vec![within(seen.recv()).await.unwrap()];
    socket.emit("flaky", (2,)).unwrap();
    assert_eq!(within(first).await.unwrap().unwrap(), vec![Value::from(1)]);
    // Emit 2 waited for emit 1: the server saw 1 three times, then 2.
    while order.len() < 4 {
        order.push(within(seen.recv()).await.unwrap());
    }
    assert_eq!(order, vec![(1, 1), (1, 2), (1, 3), (2, 4)]);
    // Retries exhausted: the emit fails with a timeout after 1 + retries tries.
    let never = ClientBuilder::new(url(addr, "/"))
        .transports(&[Transport::Websocket])
        .force_new(true)
        .ack_timeout(Duration::from_millis(50))
        .retries(1)
        .build()
        .unwrap();
    within(never.connect()).await.unwrap();
    io.of("/").sockets().iter().for_each(|s| {
        s.on("ignored", |_s, _args: Vec<Value>, _ack| async move {});
    });
    assert_eq!(within(never.emit_with_ack("ignored", ())).await, Err(AckError::Timeout));
}

/// A server over HTTPS with the test certificate for `localhost` (see tests/fixtures/tls).
async fn tls_server() -> (SocketIo, SocketAddr) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/tls/");
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(format!("{dir}server.pem")).unwrap().map(Result::unwrap).collect();
    let key = PrivateKeyDer::from_pem_file(format!("{dir}server.key")).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let io = SocketIo::new(ServerConfig::default());
    io.on_connection(|socket: Socket| async move {
        socket.on("secure?", |s: Socket, _args: Vec<Value>, ack| async move {
            if let Some(ack) = ack {
                let _ = ack.send((s.handshake().secure, bytes::Bytes::from_static(b"\x01\x02")));
            }
        });
    });
    let handle = io.listen_tls("127.0.0.1:0".parse().unwrap(), std::sync::Arc::new(config)).await.unwrap();
    let addr = handle.local_addr();
    std::mem::forget(handle);
    (io, addr)
}

fn test_ca() -> socketio_client::TlsConfig {
    let ca = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/tls/ca.pem")).unwrap();
    socketio_client::TlsConfig::builder()
        .native_roots(false)
        .root_certificates_pem(&ca)
        .unwrap()
        .build()
        .unwrap()
}

#[tokio::test]
async fn https_and_wss_with_custom_roots_on_every_transport() {
    let (_io, addr) = tls_server().await;
    for (transports, upgrade) in [
        (vec![Transport::Websocket], true),
        (vec![Transport::Polling], false),
        (vec![Transport::Polling, Transport::Websocket], true),
    ] {
        let socket = ClientBuilder::new(format!("https://localhost:{}/", addr.port()))
            .tls(test_ca())
            .transports(&transports)
            .upgrade(upgrade)
            .force_new(true)
            .build()
            .unwrap();
        within(socket.connect()).await.unwrap();
        let answer = within(socket.emit_with_ack("secure?", ())).await.unwrap();
        assert_eq!(answer, vec![Value::Bool(true), Value::Binary(bytes::Bytes::from_static(b"\x01\x02"))]);
        socket.disconnect();
    }
    // wss:// is read as https:// (the path is the namespace either way).
    let socket = ClientBuilder::new(format!("wss://127.0.0.1:{}/", addr.port()))
        .tls(test_ca())
        .transports(&[Transport::Websocket])
        .force_new(true)
        .build()
        .unwrap();
    within(socket.connect()).await.unwrap();
    socket.disconnect();
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_connect_error() {
    let (_io, addr) = tls_server().await;
    // The platform's roots (the default) do not include the test CA.
    for transports in [vec![Transport::Websocket], vec![Transport::Polling]] {
        let socket = ClientBuilder::new(format!("https://localhost:{}/", addr.port()))
            .transports(&transports)
            .reconnection(false)
            .force_new(true)
            .build()
            .unwrap();
        let err = within(socket.connect()).await.unwrap_err();
        assert!(err.message.contains("certificate"), "{transports:?}: {err}");
    }
}

#[tokio::test]
async fn catch_all_listeners_once_and_off() {
    let (_io, addr) = server(ServerConfig::default()).await;
    let socket = ClientBuilder::new(url(addr, "/"))
        .transports(&[Transport::Websocket])
        .force_new(true)
        .build()
        .unwrap();
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let entry = |tag: &'static str| {
        let log = log.clone();
        move |name: &str, args: &[Value]| log.lock().unwrap().push(format!("{tag} {name} {}", args.len()))
    };
    let second = socket.on_any(entry("any"));
    socket.prepend_any(entry("first"));
    socket.on_any_outgoing(entry("out"));
    let (tx, mut answered) = mpsc::unbounded_channel();
    let once_tx = tx.clone();
    socket.once("question", move |_s, mut event| {
        let tx = once_tx.clone();
        async move {
            event.ack(("once",)).unwrap();
            tx.send("once").unwrap();
        }
    });
    let on_id = socket.on("answered", move |_s, _event| {
        let tx = tx.clone();
        async move { tx.send("answered").unwrap() }
    });
    within(socket.connect()).await.unwrap();
    socket.emit("ask-me", ()).unwrap();
    assert_eq!(within(answered.recv()).await.unwrap(), "once");
    assert_eq!(within(answered.recv()).await.unwrap(), "answered");
    // The `once` handler is gone and `answered` is removed; a new handler sees the second question
    // (without answering it), after the catch-all listeners.
    socket.off("answered", Some(on_id));
    let (qtx, mut questions) = mpsc::unbounded_channel();
    socket.on("question", move |_s, _event| {
        let qtx = qtx.clone();
        async move { qtx.send(()).unwrap() }
    });
    socket.emit("ask-me", ()).unwrap();
    within(questions.recv()).await.unwrap();
    socket.off_any(Some(second));
    let echo = within(socket.emit_with_ack("echo", (1,))).await.unwrap();
    assert_eq!(echo, vec![Value::from(1)]);
    let log = log.lock().unwrap().clone();
    let expected = [
        "out ask-me 0",
        "first question 2",
        "any question 2",
        "first answered 1",
        "any answered 1",
        "out ask-me 0",
        "first question 2",
        "any question 2",
        "out echo 1",
    ];
    assert_eq!(log, expected);
    assert!(answered.try_recv().is_err(), "handlers removed by once/off did not run");
}

#[tokio::test]
async fn query_and_extra_headers_reach_the_handshake() {
    let (io, addr) = server(ServerConfig::default()).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    io.of("/").on_connection(move |socket: Socket| {
        let tx = tx.clone();
        async move {
            let handshake = socket.handshake();
            let query = handshake.query.get("room").and_then(Value::as_str).map(str::to_owned);
            let header = handshake.headers.get("x-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
            tx.send((query, header)).unwrap();
        }
    });
    for transports in [vec![Transport::Polling], vec![Transport::Websocket]] {
        let socket = ClientBuilder::new(url(addr, "/"))
            .transports(&transports)
            .query("room", "a b&c")
            .extra_header("x-token", "secret")
            .force_new(true)
            .build()
            .unwrap();
        within(socket.connect()).await.unwrap();
        let (query, header) = within(rx.recv()).await.unwrap();
        assert_eq!(query.as_deref(), Some("a b&c"), "{transports:?}");
        assert_eq!(header.as_deref(), Some("secret"), "{transports:?}");
        socket.disconnect();
    }
}

#[tokio::test]
async fn events_sent_before_the_connect_packet_are_handled_on_connection() {
    // An engine that answers a namespace CONNECT with an event first, as the Node server does when it
    // replays a recovered session's missed packets.
    struct EarlyEvents;
    impl engineio_server::Handler for EarlyEvents {
        fn on_message(&self, socket: &engineio_server::Socket, data: engineio_server::parser::PacketData) {
            if data.as_text().is_some_and(|t| t.starts_with('0')) {
                socket.send_text(r#"2["early",1]"#).unwrap();
                socket.send_text(r#"0{"sid":"s1"}"#).unwrap();
            }
        }
    }
    let engine = engineio_server::EngineIo::new(
        engineio_server::EngineConfig { path: "/socket.io/".into(), ..Default::default() },
        EarlyEvents,
    );
    let handle = engine.listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let socket = ClientBuilder::new(url(handle.local_addr(), "/"))
        .transports(&[Transport::Websocket])
        .auto_connect(false)
        .force_new(true)
        .build()
        .unwrap();
    let (tx, mut seen) = mpsc::unbounded_channel();
    let early_tx = tx.clone();
    socket.on("early", move |s, event| {
        let tx = early_tx.clone();
        async move { tx.send(format!("early {:?} connected={}", event.args, s.connected())).unwrap() }
    });
    socket.on_connect(move |_s| {
        let tx = tx.clone();
        async move { tx.send("connect".to_string()).unwrap() }
    });
    within(socket.connect()).await.unwrap();
    assert_eq!(within(seen.recv()).await.unwrap(), "early [Number(1)] connected=true");
    assert_eq!(within(seen.recv()).await.unwrap(), "connect");
}

#[test]
fn the_blocking_facade_connects_emits_and_receives() {
    use socketio_client::blocking;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (io, addr) = runtime.block_on(server(ServerConfig::default()));
    let (tx, gone) = std::sync::mpsc::channel();
    runtime.block_on(async {
        io.of("/").on_connection(move |socket: Socket| {
            let tx = tx.clone();
            async move {
                socket.on_disconnect(move |_s, reason| {
                    let tx = tx.clone();
                    async move { tx.send(reason.to_string()).unwrap() }
                });
            }
        });
        io.of("/").use_middleware(|s: Socket| async move {
            match s.handshake().auth.get("deny") {
                Some(_) => Err(ConnectError::new("denied")),
                None => Ok(()),
            }
        });
    });
    let socket = blocking::Socket::connect(ClientBuilder::new(url(addr, "/"))).unwrap();
    assert!(socket.connected());
    socket.on("question", |event| {
        event.ack(("blocking answer",)).unwrap();
    });
    let answer = socket.emit_with_ack_timeout("echo", ("hi", 2), Duration::from_secs(5)).unwrap();
    assert_eq!(answer, vec![Value::from("hi"), Value::from(2)]);
    socket.emit("ask-me", ()).unwrap();
    let mut names = Vec::new();
    while let Some(event) = socket.recv_timeout(Duration::from_secs(5)) {
        names.push(event.name.clone());
        if event.name == "answered" {
            assert!(event.args[0].as_str().unwrap().contains("blocking answer"), "{:?}", event.args);
            break;
        }
    }
    assert_eq!(names, ["question", "answered"]);
    drop(socket);
    assert_eq!(gone.recv_timeout(Duration::from_secs(5)).unwrap(), "client namespace disconnect");
    let refused = blocking::Socket::connect(
        ClientBuilder::new(url(addr, "/")).auth(serde_json::json!({"deny": true})).reconnection(false),
    );
    assert!(matches!(refused, Err(blocking::ConnectFailure::Refused(e)) if e.message == "denied"));
}

#[tokio::test]
async fn typed_arguments_through_serde_with_binary_as_bytes() {
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq, Clone)]
    struct Move {
        player: String,
        to: (u8, u8),
        replay: bytes::Bytes,
    }
    for msgpack in [false, true] {
        let (_io, addr) = server(with_parser(msgpack)).await;
        let mut builder =
            ClientBuilder::new(url(addr, "/")).transports(&[Transport::Websocket]).force_new(true);
        if msgpack {
            builder = builder.msgpack();
        }
        let socket = builder.build().unwrap();
        within(socket.connect()).await.unwrap();
        let sent = Move { player: "ada".into(), to: (3, 4), replay: bytes::Bytes::from_static(&[0, 255, 7]) };
        let answer = within(socket.emit_with_ack("echo", (sent.clone(), 7u32))).await.unwrap();
        assert!(matches!(&answer[0], Value::Object(m) if matches!(m.get("replay"), Some(Value::Binary(_)))));
        let (back, n): (Move, u32) = socketio_parser::from_value(Value::Array(answer)).unwrap();
        assert_eq!((back, n), (sent.clone(), 7));
        // Received events parse the same way.
        let (tx, mut rx) = mpsc::unbounded_channel();
        socket.on("message-back", move |_s, event| {
            let tx = tx.clone();
            async move { tx.send(event.parse::<(Move,)>()).unwrap() }
        });
        socket.emit("say-back", (sent.clone(),)).unwrap();
        assert_eq!(within(rx.recv()).await.unwrap().unwrap().0, sent);
        // Arguments of the wrong shape are a typed error, not a panic.
        let wrong = socketio_parser::from_value::<(u32,)>(Value::Array(vec![Value::from("x")]));
        assert!(wrong.is_err());
    }
}

#[test]
fn a_server_gone_without_a_word_is_a_transport_close_or_error_with_details() {
    let client_runtime = tokio::runtime::Runtime::new().unwrap();
    for transports in [vec![Transport::Websocket], vec![Transport::Polling]] {
        // The server lives on a runtime of its own; dropping it cuts every connection at once.
        let server_runtime = tokio::runtime::Runtime::new().unwrap();
        let (_io, addr) = server_runtime.block_on(server(ServerConfig::default()));
        let socket = client_runtime.block_on(async {
            let socket = ClientBuilder::new(url(addr, "/"))
                .transports(&transports)
                .reconnection(false)
                .force_new(true)
                .build()
                .unwrap();
            within(socket.connect()).await.unwrap();
            socket
        });
        let (tx, mut rx) = mpsc::unbounded_channel();
        socket.on_disconnect_with_details(move |_s, reason, details| {
            let tx = tx.clone();
            async move { tx.send((reason, details)).unwrap() }
        });
        drop(server_runtime);
        let (reason, details) = client_runtime.block_on(within(rx.recv())).unwrap();
        // As the JS client: a websocket closed without a close frame is a close; a failed poll is an
        // error, with what failed.
        if transports == [Transport::Websocket] {
            assert_eq!((reason.as_str(), details), ("transport close", None));
        } else {
            assert_eq!(reason, "transport error");
            // What failed: the request, and why (closed, reset, ...).
            assert!(details.as_deref().is_some_and(|d| d.starts_with("client error")), "{details:?}");
        }
    }
}

#[tokio::test]
async fn polling_posts_stay_under_the_servers_max_payload() {
    let mut config = ServerConfig::default();
    config.engine.max_http_buffer_size = 1_000;
    let (io, addr) = server(config).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    io.on_connection(move |socket: Socket| {
        let tx = tx.clone();
        async move {
            socket.on("chunk", move |_s, (n, _text): (u32, String), _| {
                let tx = tx.clone();
                async move { tx.send(n).unwrap() }
            });
        }
    });
    let socket = ClientBuilder::new(url(addr, "/"))
        .transports(&[Transport::Polling])
        .upgrade(false)
        .reconnection(false)
        .force_new(true)
        .build()
        .unwrap();
    within(socket.connect()).await.unwrap();
    // 30 emits of ~300 bytes queued at once: a single POST would be 9 kB, far over the limit, and the
    // server would close the session; batched under 1000 bytes, every one arrives.
    for n in 0..30u32 {
        socket.emit("chunk", (n, "x".repeat(280))).unwrap();
    }
    for n in 0..30u32 {
        assert_eq!(within(rx.recv()).await.unwrap(), n);
    }
    assert!(socket.connected());
}

/// A TCP proxy that can stop forwarding (a network that goes silent without closing anything).
async fn freezable_proxy(upstream: SocketAddr) -> (SocketAddr, tokio::sync::watch::Sender<bool>) {
    async fn pipe(
        mut from: impl tokio::io::AsyncRead + Unpin,
        mut to: impl tokio::io::AsyncWrite + Unpin,
        mut frozen: tokio::sync::watch::Receiver<bool>,
    ) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            // Frozen: everything is held, for as long as it stays frozen.
            if frozen.wait_for(|f| !*f).await.is_err() || to.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (freeze, frozen) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(upstream).await else { return };
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            tokio::spawn(pipe(cr, sw, frozen.clone()));
            tokio::spawn(pipe(sr, cw, frozen.clone()));
        }
    });
    (addr, freeze)
}

#[tokio::test]
async fn a_silent_server_is_a_ping_timeout_on_every_transport() {
    let mut config = ServerConfig::default();
    config.engine.ping_interval = Duration::from_millis(100);
    config.engine.ping_timeout = Duration::from_millis(100);
    let (_io, addr) = server(config).await;
    for transports in [vec![Transport::Websocket], vec![Transport::Polling]] {
        let (proxy, freeze) = freezable_proxy(addr).await;
        let socket = ClientBuilder::new(url(proxy, "/"))
            .transports(&transports)
            .upgrade(false)
            .reconnection(false)
            .force_new(true)
            .build()
            .unwrap();
        let (tx, mut pings) = mpsc::unbounded_channel();
        socket.manager().on(move |event| {
            if *event == ManagerEvent::Ping {
                let _ = tx.send(());
            }
        });
        let (dtx, mut reasons) = mpsc::unbounded_channel();
        socket.on_disconnect(move |_s, reason| {
            let dtx = dtx.clone();
            async move { dtx.send(reason).unwrap() }
        });
        within(socket.connect()).await.unwrap();
        // Pings come and are answered: the connection holds past several heartbeats.
        for _ in 0..3 {
            within(pings.recv()).await.unwrap();
        }
        assert!(socket.connected());
        freeze.send_replace(true);
        assert_eq!(within(reasons.recv()).await.unwrap(), "ping timeout", "{transports:?}");
    }
}

#[tokio::test]
async fn a_custom_path_on_every_transport() {
    let mut config = ServerConfig::default();
    config.engine.path = "/realtime/".into();
    let (_io, addr) = server(config).await;
    for transports in [vec![Transport::Polling], vec![Transport::Websocket]] {
        let socket = ClientBuilder::new(url(addr, "/"))
            .path("/realtime/")
            .transports(&transports)
            .force_new(true)
            .build()
            .unwrap();
        within(socket.connect()).await.unwrap();
        assert_eq!(within(socket.emit_with_ack("echo", ("p",))).await.unwrap(), vec![Value::from("p")]);
        socket.disconnect();
    }
    // The default path is not served: the connection fails.
    let lost = ClientBuilder::new(url(addr, "/")).reconnection(false).force_new(true).build().unwrap();
    assert!(within(lost.connect()).await.is_err());
}
