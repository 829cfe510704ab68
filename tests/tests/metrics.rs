//! The server's `metrics` feature as a user sees it: real clients connect, emit, broadcast and leave,
//! and the figures a Prometheus recorder renders follow (connections up then down, sockets per
//! namespace, packets and bytes, broadcast recipients, recovery hits and misses, cluster requests and
//! their failures, bus errors).
//!
//! A recorder is global to the process, so this file holds one test that goes through every phase in
//! turn: the figures are read before and after each step and compared.

#![allow(clippy::unwrap_used)]

use async_trait::async_trait;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use socketio_adapter::cluster::{ClusterAdapter, ClusterBus, ClusterConfig};
use socketio_adapter::{AdapterError, ErrorHooks};
use socketio_client::{ClientBuilder, Socket as ClientSocket, Status, Transport};
use socketio_e2e::client::{start, Client};
use socketio_server::parser::Value;
use socketio_server::{RecoveryConfig, ServerConfig, Socket, SocketIo};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::mpsc;

async fn within<F: std::future::Future>(fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), fut).await.expect("in time")
}

/// What the recorder renders, as `name{labels}` → value.
struct Figures(HashMap<String, f64>);

impl Figures {
    fn read(handle: &PrometheusHandle) -> Figures {
        let text = handle.render();
        let figures = text
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .filter_map(|line| line.rsplit_once(' '))
            .map(|(key, value)| (key.to_string(), value.parse::<f64>().unwrap()))
            .collect();
        Figures(figures)
    }

    /// A figure; 0 when the recorder has not seen it (yet).
    fn get(&self, key: &str) -> f64 {
        self.0.get(key).copied().unwrap_or(0.0)
    }

    /// How much `key` grew since `before`.
    fn delta(&self, before: &Figures, key: &str) -> f64 {
        self.get(key) - before.get(key)
    }
}

const CONNECTIONS: &str = "socketio_engine_connections";
const CONNECTIONS_TOTAL: &str = "socketio_engine_connections_total";
const PACKETS_IN: &str = "socketio_packets_total{direction=\"in\"}";
const PACKETS_OUT: &str = "socketio_packets_total{direction=\"out\"}";
const BYTES_IN: &str = "socketio_bytes_total{direction=\"in\"}";
const BYTES_OUT: &str = "socketio_bytes_total{direction=\"out\"}";
const BROADCASTS: &str = "socketio_broadcasts_total";
const RECIPIENTS: &str = "socketio_broadcast_recipients_total";

fn sockets(nsp: &str) -> String {
    format!("socketio_sockets{{nsp=\"{nsp}\"}}")
}

fn disconnections(reason: &str) -> String {
    format!("socketio_engine_disconnections_total{{reason=\"{reason}\"}}")
}

/// Tells the test of each engine connection that closes, with its reason (the metrics are updated
/// before the user's engine hooks run).
struct CloseWatch(mpsc::UnboundedSender<&'static str>);

impl socketio_server::engine::Handler for CloseWatch {
    fn on_close(
        &self,
        _socket: &socketio_server::engine::Socket,
        reason: socketio_server::engine::CloseReason,
        _description: Option<&str>,
    ) {
        let _ = self.0.send(reason.as_str());
    }
}

async fn client(addr: SocketAddr, nsp: &str) -> ClientSocket {
    let socket = ClientBuilder::new(format!("http://{addr}{nsp}"))
        .transports(&[Transport::Websocket])
        .force_new(true)
        .reconnection(false)
        .build()
        .unwrap();
    within(socket.connect()).await.unwrap();
    socket
}

/// Forwards every `news` event a client receives.
fn listen_news(socket: &ClientSocket) -> mpsc::UnboundedReceiver<Value> {
    let (tx, rx) = mpsc::unbounded_channel();
    socket.on("news", move |_s, event| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(event.args[0].clone());
        }
    });
    rx
}

#[tokio::test]
async fn metrics_follow_connections_packets_broadcasts_recovery_and_cluster_requests() {
    // Installed before any server: servers take their handles from it when created.
    let recorder = PrometheusBuilder::new().install_recorder().unwrap();

    engine_sockets_packets_and_broadcasts(&recorder).await;
    dynamic_children_count_under_their_parent(&recorder).await;
    recovery_hits_and_misses(&recorder).await;
    cluster_requests_failures_and_bus_errors(&recorder).await;
}

async fn engine_sockets_packets_and_broadcasts(recorder: &PrometheusHandle) {
    let (closes_tx, mut closes) = mpsc::unbounded_channel();
    let config = ServerConfig { engine_handler: Some(Arc::new(CloseWatch(closes_tx))), ..Default::default() };
    let (io, addr) = start(config).await;
    let (left_tx, mut left) = mpsc::unbounded_channel::<String>();
    io.of("/chat").on_connection(move |socket: Socket| {
        let left_tx = left_tx.clone();
        async move {
            socket.on("echo", |_s, args: Vec<Value>, ack| async move {
                if let Some(ack) = ack {
                    let _ = ack.send(args);
                }
            });
            socket.on("shout", |s: Socket, args: Vec<Value>, _| async move {
                let _ = s.broadcast().emit("news", args);
            });
            socket.on("kick-me", |s: Socket, _args: Vec<Value>, _| async move { s.disconnect(true) });
            socket.on_disconnect(move |s, reason| {
                let left_tx = left_tx.clone();
                async move {
                    let _ = left_tx.send(format!("{} {reason}", s.nsp()));
                }
            });
        }
    });

    let before = Figures::read(recorder);
    let main = client(addr, "/").await;
    let a = client(addr, "/chat").await;
    let b = client(addr, "/chat").await;
    let c = client(addr, "/chat").await;
    let mut news_b = listen_news(&b);
    let mut news_c = listen_news(&c);
    let mut news_a = listen_news(&a);

    // Four engine connections, one socket in the main namespace and three in /chat.
    let now = Figures::read(recorder);
    assert_eq!(now.get(CONNECTIONS), 4.0);
    assert_eq!(now.delta(&before, CONNECTIONS_TOTAL), 4.0);
    assert_eq!(now.get(&sockets("/")), 1.0);
    assert_eq!(now.get(&sockets("/chat")), 3.0);
    // The four CONNECTs in, their four answers out.
    assert_eq!(now.delta(&before, PACKETS_IN), 4.0);
    assert_eq!(now.delta(&before, PACKETS_OUT), 4.0);

    // An acked emit: one packet each way, with the bytes of the Socket.IO packets' text.
    let before = Figures::read(recorder);
    let answer = within(a.emit_with_ack("echo", ("hello",))).await.unwrap();
    assert_eq!(answer, vec![Value::from("hello")]);
    let now = Figures::read(recorder);
    assert_eq!(now.delta(&before, PACKETS_IN), 1.0);
    assert_eq!(now.delta(&before, PACKETS_OUT), 1.0);
    // `2/chat,<id>["echo","hello"]` and `3/chat,<id>["hello"]`, the ack id of one or a few digits.
    let bytes_in = now.delta(&before, BYTES_IN);
    let bytes_out = now.delta(&before, BYTES_OUT);
    let event_text = r#"2/chat,0["echo","hello"]"#.len() as f64;
    let ack_text = r#"3/chat,0["hello"]"#.len() as f64;
    assert!((event_text..event_text + 4.0).contains(&bytes_in), "bytes in: {bytes_in}");
    assert!((ack_text..ack_text + 4.0).contains(&bytes_out), "bytes out: {bytes_out}");

    // A socket's broadcast reaches the two others: one fan-out, two recipients, two packets out.
    let before = Figures::read(recorder);
    a.emit("shout", ("hi all",)).unwrap();
    assert_eq!(within(news_b.recv()).await.unwrap(), Value::from("hi all"));
    assert_eq!(within(news_c.recv()).await.unwrap(), Value::from("hi all"));
    let now = Figures::read(recorder);
    assert_eq!(now.delta(&before, BROADCASTS), 1.0);
    assert_eq!(now.delta(&before, RECIPIENTS), 2.0);
    assert_eq!(now.delta(&before, PACKETS_IN), 1.0);
    assert_eq!(now.delta(&before, PACKETS_OUT), 2.0);

    // The server's own emit to the namespace reaches its three sockets.
    let before = Figures::read(recorder);
    io.of("/chat").emit("news", ("from the server",)).unwrap();
    for news in [&mut news_a, &mut news_b, &mut news_c] {
        assert_eq!(within(news.recv()).await.unwrap(), Value::from("from the server"));
    }
    let now = Figures::read(recorder);
    assert_eq!(now.delta(&before, BROADCASTS), 1.0);
    assert_eq!(now.delta(&before, RECIPIENTS), 3.0);
    assert_eq!(now.delta(&before, PACKETS_OUT), 3.0);

    // A client leaves: its socket and its connection are counted out, with the close reason.
    let before = Figures::read(recorder);
    c.disconnect();
    assert_eq!(within(left.recv()).await.unwrap(), "/chat client namespace disconnect");
    let reason = within(closes.recv()).await.unwrap();
    let now = Figures::read(recorder);
    assert_eq!(now.get(CONNECTIONS), 3.0);
    assert_eq!(now.get(&sockets("/chat")), 2.0);
    assert_eq!(now.delta(&before, &disconnections(reason)), 1.0);

    // The server sends one away, closing its connection.
    b.emit("kick-me", ()).unwrap();
    assert_eq!(within(left.recv()).await.unwrap(), "/chat server namespace disconnect");
    assert_eq!(within(closes.recv()).await.unwrap(), "forced close");
    let now = Figures::read(recorder);
    assert_eq!(now.get(CONNECTIONS), 2.0);
    assert_eq!(now.get(&sockets("/chat")), 1.0);
    assert_eq!(now.get(&sockets("/")), 1.0);

    // Shutdown: everything is counted out; the totals stay.
    io.close().await;
    for _ in 0..2 {
        assert_eq!(within(closes.recv()).await.unwrap(), "server shutting down");
    }
    let now = Figures::read(recorder);
    assert_eq!(now.get(CONNECTIONS), 0.0);
    assert_eq!(now.get(&sockets("/chat")), 0.0);
    assert_eq!(now.get(&sockets("/")), 0.0);
    assert_eq!(now.get(CONNECTIONS_TOTAL), 4.0);
    assert_eq!(now.get(&disconnections("server shutting down")), 2.0);
    drop((main, a, b, c));
}

async fn dynamic_children_count_under_their_parent(recorder: &PrometheusHandle) {
    let (io, addr) = start(ServerConfig::default()).await;
    let (left_tx, mut left) = mpsc::unbounded_channel::<String>();
    io.of_dynamic(|name, _auth| async move { name.starts_with("/room-") }).on_connection(
        move |socket: Socket| {
            let left_tx = left_tx.clone();
            async move {
                socket.on_disconnect(move |s, _reason| {
                    let left_tx = left_tx.clone();
                    async move {
                        let _ = left_tx.send(s.nsp().to_string());
                    }
                });
            }
        },
    );
    let parent_label = sockets("<dynamic #0>");
    let clients =
        [client(addr, "/room-1").await, client(addr, "/room-2").await, client(addr, "/room-2").await];
    // Clients choose the children's names: they share the parent's label, and none has its own.
    let now = Figures::read(recorder);
    assert_eq!(now.get(&parent_label), 3.0);
    assert!(!now.0.keys().any(|key| key.contains("/room-")), "a label per child: {:?}", now.0.keys());
    for socket in &clients {
        socket.disconnect();
    }
    let mut gone: Vec<String> = Vec::new();
    for _ in 0..3 {
        gone.push(within(left.recv()).await.unwrap());
    }
    gone.sort();
    assert_eq!(gone, ["/room-1", "/room-2", "/room-2"]);
    assert_eq!(Figures::read(recorder).get(&parent_label), 0.0);
    io.close().await;
}

async fn recovery_hits_and_misses(recorder: &PrometheusHandle) {
    let hit = "socketio_recovery_total{result=\"hit\"}";
    let miss = "socketio_recovery_total{result=\"miss\"}";
    let config = ServerConfig {
        connection_state_recovery: Some(RecoveryConfig {
            max_disconnection_duration: Duration::from_secs(60),
            skip_middlewares: true,
        }),
        ..ServerConfig::default()
    };
    let (io, addr) = start(config).await;
    io.on_connection(|socket: Socket| async move {
        socket.on("drop-transport", |s: Socket, _args: Vec<Value>, _| async move { s.conn().close() });
    });

    // A first connection is no recovery attempt.
    let before = Figures::read(recorder);
    let socket = ClientBuilder::new(format!("http://{addr}/"))
        .transports(&[Transport::Websocket])
        .force_new(true)
        .reconnection_delay(Duration::from_millis(20))
        .build()
        .unwrap();
    within(socket.connect()).await.unwrap();
    let now = Figures::read(recorder);
    assert_eq!(now.delta(&before, hit) + now.delta(&before, miss), 0.0);

    // An event gives the client an offset to recover from; then the connection drops, and the client
    // comes back with its session and recovers it.
    let mut news = listen_news(&socket);
    io.emit("news", ("one",)).unwrap();
    assert_eq!(within(news.recv()).await.unwrap(), Value::from("one"));
    let mut status = socket.status();
    socket.emit("drop-transport", ()).unwrap();
    within(status.wait_for(|s| *s == Status::Disconnected)).await.unwrap();
    within(status.wait_for(|s| matches!(s, Status::Connected(_)))).await.unwrap();
    assert!(socket.recovered());
    let now = Figures::read(recorder);
    assert_eq!(now.delta(&before, hit), 1.0);
    assert_eq!(now.delta(&before, miss), 0.0);

    // A session the server never had: a miss (and a fresh socket).
    let auth = serde_json::json!({ "pid": "no-such-session", "offset": "0-0" });
    let (_raw, _sid) = Client::connect(addr, "/", Some(auth)).await;
    let now = Figures::read(recorder);
    assert_eq!(now.delta(&before, hit), 1.0);
    assert_eq!(now.delta(&before, miss), 1.0);
    socket.disconnect();
    io.close().await;
}

/// An in-process bus between the nodes of one test. It counts the nodes itself (no heartbeats), may
/// claim a node that never answers, and may fail every publish.
#[derive(Default)]
struct Hub {
    adapters: Mutex<Vec<(String, Weak<ClusterAdapter>)>>,
    silent_nodes: AtomicUsize,
    failing: AtomicBool,
    errors: ErrorHooks,
}

struct HubBus(Arc<Hub>);

#[async_trait]
impl ClusterBus for HubBus {
    async fn publish(&self, message: Value) -> Result<Option<String>, AdapterError> {
        if self.0.failing.load(Ordering::SeqCst) {
            return Err(AdapterError::Bus("the hub is down".into()));
        }
        let nsp = message.get("nsp").and_then(Value::as_str).unwrap_or("/").to_string();
        let targets: Vec<Arc<ClusterAdapter>> = {
            let adapters = self.0.adapters.lock().unwrap();
            adapters.iter().filter(|(n, _)| *n == nsp).filter_map(|(_, a)| a.upgrade()).collect()
        };
        for adapter in targets {
            adapter.on_message(message.clone(), None);
        }
        Ok(None)
    }

    fn register(&self, nsp: &str, adapter: Weak<ClusterAdapter>) {
        self.0.adapters.lock().unwrap().push((nsp.to_string(), adapter));
    }

    fn unregister(&self, _nsp: &str) {}

    fn counts_servers(&self) -> bool {
        true
    }

    async fn server_count(&self, nsp: &str) -> Result<usize, AdapterError> {
        let live =
            self.0.adapters.lock().unwrap().iter().filter(|(n, a)| n == nsp && a.strong_count() > 0).count();
        Ok(live + self.0.silent_nodes.load(Ordering::SeqCst))
    }

    fn errors(&self) -> ErrorHooks {
        self.0.errors.clone()
    }
}

fn hub_node(hub: &Arc<Hub>) -> SocketIo {
    let config = ClusterConfig { requests_timeout: Duration::from_millis(300), ..ClusterConfig::default() };
    SocketIo::new(ServerConfig {
        adapter: ClusterAdapter::factory(Arc::new(HubBus(hub.clone())), config),
        ..ServerConfig::default()
    })
}

async fn cluster_requests_failures_and_bus_errors(recorder: &PrometheusHandle) {
    let requests = |kind: &str| format!("socketio_adapter_requests_total{{kind=\"{kind}\"}}");
    let failures = |kind: &str| format!("socketio_adapter_request_failures_total{{kind=\"{kind}\"}}");
    let bus_errors = "socketio_adapter_bus_errors_total";
    let hub = Arc::new(Hub::default());
    let (errors_tx, mut errors) = mpsc::unbounded_channel();
    hub.errors.add(move |e| {
        let _ = errors_tx.send(e.to_string());
    });
    let x = hub_node(&hub);
    let y = hub_node(&hub);
    y.on_server_event("ping", |_args, ack| async move {
        if let Some(ack) = ack {
            ack.send(&"pong").unwrap();
        }
    });

    // Answered requests count, without failures.
    let before = Figures::read(recorder);
    let answers = within(x.server_side_emit_with_ack("ping", ())).await.unwrap();
    assert_eq!(answers, vec![Value::from("pong")]);
    assert!(within(x.fetch_sockets()).await.unwrap().is_empty());
    let now = Figures::read(recorder);
    assert_eq!(now.delta(&before, &requests("serverSideEmit")), 1.0);
    assert_eq!(now.delta(&before, &requests("fetchSockets")), 1.0);
    assert_eq!(now.delta(&before, &failures("serverSideEmit")), 0.0);
    assert_eq!(now.delta(&before, &failures("fetchSockets")), 0.0);

    // A node that never answers: the request times out and counts as failed.
    hub.silent_nodes.store(1, Ordering::SeqCst);
    let before = Figures::read(recorder);
    assert!(within(x.server_side_emit_with_ack("ping", ())).await.is_err());
    let now = Figures::read(recorder);
    assert_eq!(now.delta(&before, &requests("serverSideEmit")), 1.0);
    assert_eq!(now.delta(&before, &failures("serverSideEmit")), 1.0);
    hub.silent_nodes.store(0, Ordering::SeqCst);

    // The bus fails: its error hooks hear of it, and so does the counter.
    hub.failing.store(true, Ordering::SeqCst);
    let before = Figures::read(recorder);
    x.server_side_emit("ping", ()).await.unwrap();
    assert!(within(errors.recv()).await.unwrap().contains("the hub is down"));
    let now = Figures::read(recorder);
    assert_eq!(now.delta(&before, bus_errors), 1.0);
}
