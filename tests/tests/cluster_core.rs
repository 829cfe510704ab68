//! The cluster protocol core (`socketio_adapter::cluster`) between real servers, over an in-process bus
//! that carries every message encoded (msgpack, which keeps binary), as a real bus would.

#![allow(clippy::unwrap_used)]

use async_trait::async_trait;
use socketio_adapter::cluster::{ClusterAdapter, ClusterBus, ClusterConfig};
use socketio_adapter::AdapterError;
use socketio_e2e::client::Client;
use socketio_server::parser::{Packet, PacketData, Value};
use socketio_server::{ServerConfig, Socket, SocketIo};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// Every node's adapters, by node and namespace.
#[derive(Default)]
struct Hub {
    adapters: Mutex<Vec<(usize, String, Weak<ClusterAdapter>)>>,
}

struct LoopbackBus {
    hub: Arc<Hub>,
    node: usize,
}

#[async_trait]
impl ClusterBus for LoopbackBus {
    async fn publish(&self, message: Value) -> Result<Option<String>, AdapterError> {
        let encoded = socketio_server::parser::msgpack_codec::encode_value(&message);
        let nsp = message.get("nsp").and_then(Value::as_str).unwrap_or("/").to_string();
        let targets: Vec<Arc<ClusterAdapter>> = self
            .hub
            .adapters
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, n, _)| *n == nsp)
            .filter_map(|(_, _, a)| a.upgrade())
            .collect();
        for adapter in targets {
            adapter.on_message(
                socketio_server::parser::msgpack_codec::decode_value(encoded.clone()).unwrap(),
                None,
            );
        }
        Ok(None)
    }

    fn register(&self, nsp: &str, adapter: Weak<ClusterAdapter>) {
        self.hub.adapters.lock().unwrap().push((self.node, nsp.to_string(), adapter));
    }

    fn unregister(&self, nsp: &str) {
        self.hub.adapters.lock().unwrap().retain(|(node, n, _)| !(*node == self.node && n == nsp));
    }
}

async fn node(hub: &Arc<Hub>, index: usize) -> (SocketIo, std::net::SocketAddr) {
    let bus = Arc::new(LoopbackBus { hub: hub.clone(), node: index });
    let config = ClusterConfig { requests_timeout: Duration::from_millis(500), ..ClusterConfig::default() };
    let io = SocketIo::new(ServerConfig {
        adapter: ClusterAdapter::factory(bus, config),
        ..ServerConfig::default()
    });
    io.on_connection(|socket: Socket| async move {
        socket.on("ask", |_, _: Vec<Value>, _| async move {});
    });
    let handle = io.listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = handle.local_addr();
    std::mem::forget(handle);
    (io, addr)
}

/// Waits until `io` counts `n` servers: nodes learn of each other from heartbeats, asynchronously.
async fn until_count(io: &SocketIo, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while io.sockets().adapter().server_count().await != n {
        assert!(tokio::time::Instant::now() < deadline, "the nodes never saw each other");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn within<F: std::future::Future>(fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(5), fut).await.expect("in time")
}

#[tokio::test]
async fn two_nodes_share_every_operation() {
    let hub = Arc::new(Hub::default());
    let (a, addr_a) = node(&hub, 0).await;
    let (b, addr_b) = node(&hub, 1).await;
    // The initial heartbeats: each node learns of the other.
    until_count(&a, 2).await;
    until_count(&b, 2).await;
    let (mut ca, id_a) = Client::connect(addr_a, "/", None).await;
    let (mut cb, id_b) = Client::connect(addr_b, "/", None).await;

    // Broadcasts, rooms, except.
    let bin = socketio_e2e::client::bin(b"\x01\x02");
    a.emit("all", ("x", bin.clone())).unwrap();
    for client in [&mut ca, &mut cb] {
        assert_eq!(within(client.recv_event("all")).await.0, vec![Value::from("x"), bin.clone()]);
    }
    b.sockets().sockets()[0].join("blue");
    a.to("blue").emit("blue only", ()).unwrap();
    a.sockets().except("blue").emit("not blue", ()).unwrap();
    assert_eq!(within(cb.recv()).await.unwrap().event_name(), Some("blue only"));
    assert_eq!(within(ca.recv()).await.unwrap().event_name(), Some("not blue"));

    // fetchSockets and socketsJoin across nodes.
    let mut ids: Vec<String> = a.fetch_sockets().await.unwrap().iter().map(|s| s.id.to_string()).collect();
    ids.sort();
    let mut expected = vec![id_a.clone(), id_b.clone()];
    expected.sort();
    assert_eq!(ids, expected);
    a.sockets().sockets_join("everyone").await.unwrap();
    // The join is applied on b before the broadcast published after it.
    a.to("everyone").emit("joined", ()).unwrap();
    within(ca.recv_event("joined")).await;
    within(cb.recv_event("joined")).await;
    assert_eq!(b.sockets().to("everyone").socket_ids(), vec![id_b.clone()]);

    // Broadcast with acks: one answer from each node's client.
    let asking = {
        let a = a.clone();
        tokio::spawn(async move { a.timeout(Duration::from_secs(3)).emit_with_ack("question", ()).await })
    };
    for (client, name) in [(&mut ca, "a"), (&mut cb, "b")] {
        let (_, id) = within(client.recv_event("question")).await;
        client.send(Packet::ack("/", id.unwrap(), vec![Value::from(name)])).await;
    }
    let mut answers: Vec<String> =
        within(asking).await.unwrap().unwrap().iter().map(|a| a[0].to_string()).collect();
    answers.sort();
    assert_eq!(answers, vec!["\"a\"", "\"b\""]);

    // serverSideEmit with an answer from the other node.
    b.on_server_event("hello", |args, ack| async move {
        if let Some(ack) = ack {
            ack.send(&format!("b got {}", args.len())).unwrap();
        }
    });
    assert_eq!(a.server_side_emit_with_ack("hello", (1, 2)).await.unwrap(), vec![Value::from("b got 2")]);

    // disconnectSockets on the other node.
    a.to("blue").disconnect_sockets(false).await.unwrap();
    assert_eq!(within(cb.recv()).await.unwrap().data, PacketData::Disconnect);

    // A node that leaves is no longer counted, and requests stop waiting for it.
    b.sockets().adapter().close().await;
    until_count(&a, 1).await;
    assert_eq!(a.server_side_emit_with_ack("hello", ()).await.unwrap(), Vec::<Value>::new());
}

#[tokio::test]
async fn a_silent_node_makes_requests_time_out_with_what_arrived() {
    let hub = Arc::new(Hub::default());
    let (a, _) = node(&hub, 0).await;
    let (b, _) = node(&hub, 1).await;
    let (c, _) = node(&hub, 2).await;
    until_count(&a, 3).await;
    b.on_server_event("ping", |_, ack| async move {
        if let Some(ack) = ack {
            ack.send(&"pong").unwrap();
        }
    });
    // c has no listener: it never answers.
    let _ = &c;
    match a.server_side_emit_with_ack("ping", ()).await {
        Err(socketio_server::AckError::Adapter(AdapterError::PartialTimeout { expected, responses })) => {
            assert_eq!(expected, 2);
            assert_eq!(responses, vec![Value::from("pong")]);
        }
        other => panic!("expected a partial timeout, got {other:?}"),
    }
}

/// A bus that never finishes publishing (a bus that hangs), and says two nodes serve each namespace
/// (or, with `count_hangs`, never says how many).
struct StuckBus {
    errors: socketio_adapter::ErrorHooks,
    count_hangs: bool,
}

#[async_trait]
impl ClusterBus for StuckBus {
    async fn publish(&self, _: Value) -> Result<Option<String>, AdapterError> {
        std::future::pending().await
    }
    fn register(&self, _: &str, _: Weak<ClusterAdapter>) {}
    fn unregister(&self, _: &str) {}
    fn counts_servers(&self) -> bool {
        true
    }
    async fn server_count(&self, _: &str) -> Result<usize, AdapterError> {
        if self.count_hangs {
            std::future::pending::<()>().await;
        }
        Ok(2)
    }
    fn errors(&self) -> socketio_adapter::ErrorHooks {
        self.errors.clone()
    }
}

#[tokio::test]
async fn a_full_publishing_queue_drops_reports_once_and_fails_requests_at_once() {
    let bus = Arc::new(StuckBus { errors: Default::default(), count_hangs: false });
    let reports = Arc::new(Mutex::new(Vec::new()));
    let seen = reports.clone();
    bus.errors.add(move |e| seen.lock().unwrap().push(e.to_string()));
    // A request would wait a minute for its answer; a test that waits for it fails.
    let config = ClusterConfig { requests_timeout: Duration::from_secs(60), ..ClusterConfig::default() };
    let io = SocketIo::new(ServerConfig {
        adapter: ClusterAdapter::factory(bus, config),
        ..ServerConfig::default()
    });
    // The queue holds 10,000 messages; the publisher, once it runs, takes at most one batch (256) of
    // them into the stuck publish. Either way, 10,400 overflow it.
    for i in 0..10_400u32 {
        io.emit("n", (i,)).unwrap();
    }
    let fetched = within(io.fetch_sockets()).await;
    match fetched {
        Err(socketio_server::AckError::Adapter(AdapterError::Bus(message))) => {
            assert!(message.contains("publishing queue is full"), "{message}")
        }
        other => panic!("expected a bus error at once, got {other:?}"),
    }
    let reports = reports.lock().unwrap().clone();
    assert_eq!(reports.len(), 1, "one report per overload: {reports:?}");
    assert!(reports[0].contains("10000 messages wait to be published"), "{reports:?}");
}

#[tokio::test]
async fn counting_the_servers_counts_against_the_request_timeout() {
    let bus = Arc::new(StuckBus { errors: Default::default(), count_hangs: true });
    let config = ClusterConfig { requests_timeout: Duration::from_millis(200), ..ClusterConfig::default() };
    let io = SocketIo::new(ServerConfig {
        adapter: ClusterAdapter::factory(bus, config),
        ..ServerConfig::default()
    });
    match within(io.fetch_sockets()).await {
        Err(socketio_server::AckError::Adapter(AdapterError::Timeout)) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
}

/// A bus whose subscriptions are in place only once the test opens its gate; it counts, per namespace,
/// the waits for them.
struct GatedBus {
    waits: tokio::sync::watch::Sender<Vec<String>>,
    open: tokio::sync::watch::Receiver<bool>,
}

#[async_trait]
impl ClusterBus for GatedBus {
    async fn publish(&self, _: Value) -> Result<Option<String>, AdapterError> {
        Ok(None)
    }
    fn register(&self, _: &str, _: Weak<ClusterAdapter>) {}
    fn unregister(&self, _: &str) {}
    async fn subscribed(&self, nsp: &str) {
        self.waits.send_modify(|waits| waits.push(nsp.to_string()));
        let _ = self.open.clone().wait_for(|open| *open).await;
    }
}

#[tokio::test]
async fn a_new_namespace_tells_its_first_client_it_joined_once_the_adapter_hears_the_other_nodes() {
    let (waits, mut waited) = tokio::sync::watch::channel(Vec::new());
    let (gate, open) = tokio::sync::watch::channel(false);
    let bus = Arc::new(GatedBus { waits, open });
    let io = SocketIo::new(ServerConfig {
        adapter: ClusterAdapter::factory(bus, ClusterConfig::default()),
        ..ServerConfig::default()
    });
    io.of_regex("^/dyn-[0-9]+$").unwrap();
    let handle = io.listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = handle.local_addr();
    let joining = tokio::spawn(async move { Client::connect(addr, "/dyn-1", None).await });
    // The namespace's publisher waits for the subscriptions, and so does the client's CONNECT.
    let count = |waits: &Vec<String>| waits.iter().filter(|n| *n == "/dyn-1").count();
    within(waited.wait_for(|waits| count(waits) >= 2)).await.unwrap();
    assert!(!joining.is_finished(), "the client was told it joined before the subscriptions were in place");
    gate.send(true).unwrap();
    let (_client, sid) = within(joining).await.unwrap();
    assert!(!sid.is_empty());
    // Later clients find the adapter ready: no new wait.
    let before = count(&waited.borrow());
    let _second = within(Client::connect(addr, "/dyn-1", None)).await;
    assert_eq!(count(&waited.borrow()), before);
}
