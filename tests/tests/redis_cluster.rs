//! Two servers sharing a namespace through the Redis adapter (a throwaway Redis of this test process, see
//! `socketio_e2e::require_redis!`), with a unique key prefix per test; bus errors that say why.

#![allow(clippy::unwrap_used)]

use socketio_e2e::client::Client;
use socketio_e2e::{redis_node, unique_key};
use socketio_server::parser::{Packet, Value};
use socketio_server::{Socket, SocketIo};
use std::net::SocketAddr;
use std::time::Duration;

/// A node whose sockets can `join` a room (acked).
async fn node(key: &str) -> (SocketIo, SocketAddr) {
    let (io, addr) = redis_node(key).await;
    io.on_connection(|socket: Socket| async move {
        socket.on("join", |s, (room,): (String,), ack| async move {
            s.join(room);
            ack.unwrap().send(()).unwrap();
        });
    });
    (io, addr)
}

/// Two nodes that see each other, each with one connected client.
async fn cluster(name: &str) -> (SocketIo, Client, SocketIo, Client) {
    let key = unique_key(name);
    let (a, addr_a) = node(&key).await;
    let (b, addr_b) = node(&key).await;
    assert_eq!(a.sockets().adapter().server_count().await, 2);
    let (ca, _) = Client::connect(addr_a, "/", None).await;
    let (cb, _) = Client::connect(addr_b, "/", None).await;
    (a, ca, b, cb)
}

#[tokio::test]
async fn broadcasts_reach_every_node() {
    socketio_e2e::require_redis!();
    let (a, mut ca, _b, mut cb) = cluster("broadcast").await;
    a.emit("news", ("from a", socketio_e2e::client::bin(b"\x01"))).unwrap();
    for client in [&mut ca, &mut cb] {
        let (args, _) = client.recv_event("news").await;
        assert_eq!(args, vec![Value::from("from a"), socketio_e2e::client::bin(b"\x01")]);
    }
    // Rooms and exceptions apply on the other node too.
    cb.send(Packet::event("/", "join", vec![Value::from("blue")]).with_ack_id(1)).await;
    cb.recv_ack().await;
    a.to("blue").emit("only-blue", ()).unwrap();
    a.sockets().except("blue").emit("not-blue", ()).unwrap();
    // Published after the others by the same node, the marker arrives after them everywhere.
    a.emit("marker", ()).unwrap();
    assert_eq!(cb.recv().await.unwrap().event_name(), Some("only-blue"));
    assert_eq!(cb.recv().await.unwrap().event_name(), Some("marker"), "not-blue skipped the blue socket");
    assert_eq!(ca.recv().await.unwrap().event_name(), Some("not-blue"));
    assert_eq!(ca.recv().await.unwrap().event_name(), Some("marker"));
}

#[tokio::test]
async fn broadcast_acks_fetch_and_bulk_operations_span_the_cluster() {
    socketio_e2e::require_redis!();
    let (a, mut ca, b, mut cb) = cluster("acks").await;
    let answers = {
        let a = a.clone();
        tokio::spawn(
            async move { a.sockets().timeout(Duration::from_secs(3)).emit_with_ack("ask", ()).await },
        )
    };
    for (client, name) in [(&mut ca, "a"), (&mut cb, "b")] {
        let (_, id) = client.recv_event("ask").await;
        client.send(Packet::ack("/", id.unwrap(), vec![Value::from(name)])).await;
    }
    let mut got: Vec<String> =
        answers.await.unwrap().unwrap().into_iter().map(|a| a[0].to_string()).collect();
    got.sort();
    assert_eq!(got, vec!["\"a\"", "\"b\""]);

    let sockets = a.sockets().fetch_sockets().await.unwrap();
    assert_eq!(sockets.len(), 2);
    // socketsJoin from a reaches b's socket: a room broadcast sent after it arrives there.
    a.sockets().sockets_join("everyone").await.unwrap();
    a.to("everyone").emit("joined", ()).unwrap();
    assert_eq!(ca.recv_event("joined").await.0, Vec::<Value>::new());
    assert_eq!(cb.recv_event("joined").await.0, Vec::<Value>::new());
    assert_eq!(b.sockets().sockets()[0].rooms().len(), 2);
    a.sockets().disconnect_sockets(false).await.unwrap();
    for client in [&mut ca, &mut cb] {
        assert_eq!(client.recv().await.unwrap().data, socketio_server::parser::PacketData::Disconnect);
    }
}

#[tokio::test]
async fn server_side_emit_with_and_without_acks() {
    socketio_e2e::require_redis!();
    let (a, _ca, b, _cb) = cluster("ssemit").await;
    socketio_e2e::assert_server_side_emit(&a, &b).await;
}

/// A bus that cannot connect says why (the OS error), with no Redis needed: nothing listens on the port.
#[tokio::test]
async fn a_bus_that_cannot_connect_says_why() {
    use socketio_adapter::redis::{RedisAdapterConfig, RedisBus};
    use socketio_adapter::redis_sharded::{ShardedRedisBus, ShardedRedisConfig};
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("redis://127.0.0.1:{port}");
    let classic = RedisBus::connect(&url, RedisAdapterConfig::default()).await.unwrap_err().to_string();
    assert!(classic.to_lowercase().contains("connection refused"), "{classic}");
    let sharded =
        ShardedRedisBus::connect(&url, ShardedRedisConfig::default()).await.unwrap_err().to_string();
    assert!(sharded.to_lowercase().contains("connection refused"), "{sharded}");
}
