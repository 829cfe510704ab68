//! The Redis adapter when the bus fails: its own test binary, because killing Redis's subscriber
//! connections would also cut the other tests' nodes if they ran at the same time (cargo runs test
//! binaries one after another).

#![allow(clippy::unwrap_used)]

use socketio_e2e::client::Client;
use socketio_e2e::{redis_node as node, unique_key};
use socketio_server::parser::Value;
use socketio_server::SocketIo;
use std::time::Duration;

/// The tests of this binary kill each other's connections: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn local_delivery_goes_on_and_the_cluster_resumes_after_the_bus_drops() {
    socketio_e2e::require_redis!();
    let _serial = SERIAL.lock().await;
    let key = unique_key("fault");
    let (a, addr_a) = node(&key).await;
    let (b, addr_b) = node(&key).await;
    assert_eq!(a.sockets().adapter().server_count().await, 2);
    let (mut ca, _) = Client::connect(addr_a, "/", None).await;
    let (mut cb, _) = Client::connect(addr_b, "/", None).await;
    // Kill every subscriber connection of Redis (ours among them).
    let killed = redis_kill_pubsub().await;
    assert!(killed >= 2, "killed {killed} subscriber connections");
    // Local delivery does not wait for the bus.
    a.local().emit("local", ()).unwrap();
    assert_eq!(ca.recv_event("local").await.0, Vec::<Value>::new());
    // The subscribers come back by themselves; then cross-node delivery works again.
    for io in [&a, &b] {
        tokio::time::timeout(Duration::from_secs(5), io.sockets().adapter().ready())
            .await
            .expect("resubscribed");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while a.sockets().adapter().server_count().await < 2 {
        assert!(tokio::time::Instant::now() < deadline, "the other node never came back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.emit("after", ()).unwrap();
    assert_eq!(cb.recv_event("after").await.0, Vec::<Value>::new());
}

/// Two nodes on one of the cluster-protocol Redis buses, with the errors the first one reports.
async fn cluster_protocol_nodes(
    streams: bool,
    prefix: &str,
) -> (Vec<(SocketIo, std::net::SocketAddr)>, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use socketio_adapter::redis_sharded::{ShardedRedisBus, ShardedRedisConfig};
    use socketio_adapter::redis_streams::RedisStreamsBus;
    let (tx, errors) = tokio::sync::mpsc::unbounded_channel();
    let mut nodes = Vec::new();
    for i in 0..2 {
        let factory = if streams {
            let bus = RedisStreamsBus::connect(
                socketio_e2e::redis_url(),
                socketio_e2e::redis_streams_config(prefix),
            )
            .await
            .unwrap();
            let tx = tx.clone();
            if i == 0 {
                bus.on_error(move |e| drop(tx.send(e.to_string())));
            }
            bus.factory()
        } else {
            let mut config = ShardedRedisConfig { channel_prefix: prefix.to_string(), ..Default::default() };
            config.cluster.requests_timeout = Duration::from_secs(2);
            let bus = ShardedRedisBus::connect(socketio_e2e::redis_url(), config).await.unwrap();
            let tx = tx.clone();
            if i == 0 {
                bus.on_error(move |e| drop(tx.send(e.to_string())));
            }
            bus.factory()
        };
        let (io, addr) = socketio_e2e::client::start(socketio_server::ServerConfig {
            adapter: factory,
            ..Default::default()
        })
        .await;
        io.sockets().adapter().ready().await;
        nodes.push((io, addr));
    }
    (nodes, errors)
}

#[tokio::test]
async fn sharded_and_streams_buses_report_the_loss_and_resume() {
    socketio_e2e::require_redis!();
    let _serial = SERIAL.lock().await;
    for streams in [false, true] {
        let prefix = unique_key(if streams { "fault-streams" } else { "fault-sharded" });
        let (nodes, mut errors) = cluster_protocol_nodes(streams, &prefix).await;
        let [(a, addr_a), (b, addr_b)] = &nodes[..] else { unreachable!() };
        assert_eq!(a.sockets().adapter().server_count().await, 2);
        let (mut ca, _) = Client::connect(*addr_a, "/", None).await;
        let (mut cb, _) = Client::connect(*addr_b, "/", None).await;
        let killed = redis_kill_pubsub().await;
        assert!(killed >= 2, "killed {killed} subscriber connections");
        // The error hook hears of it.
        let error = tokio::time::timeout(Duration::from_secs(5), errors.recv()).await.unwrap().unwrap();
        assert!(error.contains("redis subscriber"), "{error}");
        // Local delivery does not wait for the bus.
        a.local().emit("local", ()).unwrap();
        assert_eq!(ca.recv_event("local").await.0, Vec::<Value>::new());
        // Back by themselves: the nodes count each other again, and broadcasts cross.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while a.sockets().adapter().server_count().await < 2 || b.sockets().adapter().server_count().await < 2
        {
            assert!(tokio::time::Instant::now() < deadline, "the subscribers never came back");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        a.emit("after", ()).unwrap();
        let got = cb.recv_event("after").await.0;
        assert!(got.len() <= 1, "the event, maybe with its offset: {got:?}");
        // Requests work again too.
        assert_eq!(b.sockets().fetch_sockets().await.unwrap().len(), 2);
    }
}

/// `CLIENT KILL TYPE pubsub` over a raw connection; returns how many connections were killed.
async fn redis_kill_pubsub() -> i64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(socketio_e2e::redis().expect("redis").addr()).await.unwrap();
    s.write_all(b"*4\r\n$6\r\nCLIENT\r\n$4\r\nKILL\r\n$4\r\nTYPE\r\n$6\r\npubsub\r\n").await.unwrap();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).await.unwrap();
    let reply = String::from_utf8_lossy(&buf[..n]);
    reply.trim().trim_start_matches(':').parse().unwrap_or(0)
}
