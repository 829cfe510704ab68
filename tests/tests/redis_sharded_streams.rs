//! Two servers sharing namespaces through the sharded Redis adapter and through the Redis Streams
//! adapter (real Redis 7 at 127.0.0.1:6379), with unique channels, streams and keys per test.

#![allow(clippy::unwrap_used)]

use socketio_e2e::client::{bin, Client};
use socketio_e2e::{redis_sharded_node, redis_streams_node, unique_key};
use socketio_server::parser::{JsonParser, Packet, PacketData, Value};
use socketio_server::{Socket, SocketIo};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Copy, Debug)]
enum Bus {
    Sharded,
    Streams,
}

/// A node whose sockets can `join` a room (acked).
async fn node(bus: Bus, prefix: &str) -> (SocketIo, SocketAddr) {
    let (io, addr) = match bus {
        Bus::Sharded => redis_sharded_node(prefix).await,
        Bus::Streams => redis_streams_node(prefix).await,
    };
    io.on_connection(|socket: Socket| async move {
        socket.on("join", |s, (room,): (String,), ack| async move {
            s.join(room);
            ack.unwrap().send(()).unwrap();
        });
    });
    (io, addr)
}

/// The arguments of an event, without the offset that recovery appends (streams).
fn args_of(bus: Bus, mut args: Vec<Value>) -> Vec<Value> {
    if let Bus::Streams = bus {
        let offset = args.pop().unwrap();
        assert!(offset.as_str().is_some_and(|o| o.contains('-')), "offset last: {offset:?}");
    }
    args
}

async fn cluster(bus: Bus, name: &str) -> (SocketIo, Client, SocketIo, Client) {
    cluster_on(bus, &unique_key(name)).await
}

async fn cluster_on(bus: Bus, prefix: &str) -> (SocketIo, Client, SocketIo, Client) {
    let (a, addr_a) = node(bus, prefix).await;
    let (b, addr_b) = node(bus, prefix).await;
    assert_eq!(a.sockets().adapter().server_count().await, 2, "Redis counts the subscribers");
    let (ca, _) = Client::connect(addr_a, "/", None).await;
    let (cb, _) = Client::connect(addr_b, "/", None).await;
    (a, ca, b, cb)
}

async fn broadcasts_rooms_and_order(bus: Bus) {
    let (a, mut ca, _b, mut cb) = cluster(bus, "bcast").await;
    a.emit("news", ("from a", bin(b"\x01"))).unwrap();
    for client in [&mut ca, &mut cb] {
        let (args, _) = client.recv_event("news").await;
        assert_eq!(args_of(bus, args), vec![Value::from("from a"), bin(b"\x01")]);
    }
    // A public room of b: with the sharded adapter it has a channel of its own, subscribed by b only.
    cb.send(Packet::event("/", "join", vec![Value::from("blue")]).with_ack_id(1)).await;
    cb.recv_ack().await;
    a.to("blue").emit("only-blue", ("x".repeat(10_000),)).unwrap();
    a.sockets().except("blue").emit("not-blue", ()).unwrap();
    a.emit("marker", ()).unwrap();
    let only_blue = cb.recv().await.unwrap();
    assert_eq!(only_blue.event_name(), Some("only-blue"));
    assert_eq!(cb.recv().await.unwrap().event_name(), Some("marker"), "not-blue skipped the blue socket");
    assert_eq!(ca.recv().await.unwrap().event_name(), Some("not-blue"));
    assert_eq!(ca.recv().await.unwrap().event_name(), Some("marker"));
    // A broadcast to one socket id goes through the namespace channel.
    let id_b = b_id(&_b);
    a.to(id_b.as_str()).emit("direct", (1,)).unwrap();
    assert_eq!(args_of(bus, cb.recv_event("direct").await.0), vec![Value::from(1)]);
}

/// Far more broadcasts at once than one round trip's worth: they are published in pipelines, and
/// arrive whole and in order on both nodes (with increasing offsets on streams).
async fn a_burst_arrives_whole_and_in_order(bus: Bus) {
    let (a, mut ca, _b, mut cb) = cluster(bus, "burst").await;
    let expected: Vec<Vec<Value>> = (0..1_500u64)
        .map(|i| match i % 5 {
            1 => vec![Value::from(i), Value::Binary(i.to_be_bytes().to_vec().into())],
            _ => vec![Value::from(i)],
        })
        .collect();
    for args in &expected {
        a.emit("n", args.clone()).unwrap();
    }
    for client in [&mut ca, &mut cb] {
        let mut last_offset: Option<(u64, u64)> = None;
        for (i, want) in expected.iter().enumerate() {
            let packet = client.recv().await.expect("the connection stays open");
            assert_eq!(packet.event_name(), Some("n"), "message {i}");
            let mut args = packet.args().to_vec();
            if let Bus::Streams = bus {
                let offset = args.last().and_then(Value::as_str).unwrap();
                let (ms, seq) = offset.split_once('-').unwrap();
                let offset = (ms.parse().unwrap(), seq.parse().unwrap());
                assert!(last_offset < Some(offset), "offsets increase: {last_offset:?} then {offset:?}");
                last_offset = Some(offset);
            }
            args = args_of(bus, args);
            assert_eq!(&args, want, "message {i}");
        }
    }
}

fn b_id(b: &SocketIo) -> String {
    b.sockets().sockets()[0].id().to_string()
}

async fn acks_fetch_and_bulk_operations(bus: Bus) {
    let prefix = unique_key("acks");
    let (a, mut ca, b, mut cb) = cluster_on(bus, &prefix).await;
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

    assert_eq!(a.sockets().fetch_sockets().await.unwrap().len(), 2);
    a.sockets().sockets_join("everyone").await.unwrap();
    if let Bus::Sharded = bus {
        // The room has a channel of its own, which b subscribes to once its socket has joined, after
        // the join request reached it: a broadcast published before that is not b's to hear (the
        // Node adapter is the same). Both nodes are subscribed when Redis counts two subscribers.
        let channel = format!("{prefix}#/#everyone#");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while shard_subscribers(&channel).await != 2 {
            assert!(tokio::time::Instant::now() < deadline, "room channel never subscribed by both");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    a.to("everyone").emit("joined", ()).unwrap();
    assert_eq!(args_of(bus, ca.recv_event("joined").await.0), Vec::<Value>::new());
    assert_eq!(args_of(bus, cb.recv_event("joined").await.0), Vec::<Value>::new());
    assert_eq!(b.sockets().sockets()[0].rooms().len(), 2);
    a.sockets().disconnect_sockets(false).await.unwrap();
    for client in [&mut ca, &mut cb] {
        assert_eq!(client.recv().await.unwrap().data, PacketData::Disconnect);
    }
}

async fn server_side_emit(bus: Bus) {
    let (a, _ca, b, _cb) = cluster(bus, "ssemit").await;
    socketio_e2e::assert_server_side_emit(&a, &b).await;
}

#[tokio::test]
async fn sharded_broadcasts_rooms_and_order() {
    socketio_e2e::require_redis!();
    broadcasts_rooms_and_order(Bus::Sharded).await;
}

#[tokio::test]
async fn sharded_burst_arrives_whole_and_in_order() {
    socketio_e2e::require_redis!();
    a_burst_arrives_whole_and_in_order(Bus::Sharded).await;
}

#[tokio::test]
async fn streams_burst_arrives_whole_and_in_order() {
    socketio_e2e::require_redis!();
    a_burst_arrives_whole_and_in_order(Bus::Streams).await;
}

#[tokio::test]
async fn sharded_acks_fetch_and_bulk_operations() {
    socketio_e2e::require_redis!();
    acks_fetch_and_bulk_operations(Bus::Sharded).await;
}

#[tokio::test]
async fn sharded_server_side_emit() {
    socketio_e2e::require_redis!();
    server_side_emit(Bus::Sharded).await;
}

#[tokio::test]
async fn streams_broadcasts_rooms_and_order() {
    socketio_e2e::require_redis!();
    broadcasts_rooms_and_order(Bus::Streams).await;
}

#[tokio::test]
async fn streams_acks_fetch_and_bulk_operations() {
    socketio_e2e::require_redis!();
    acks_fetch_and_bulk_operations(Bus::Streams).await;
}

#[tokio::test]
async fn streams_server_side_emit() {
    socketio_e2e::require_redis!();
    server_side_emit(Bus::Streams).await;
}

#[tokio::test]
async fn sharded_room_channels_follow_the_rooms() {
    socketio_e2e::require_redis!();
    let prefix = unique_key("rooms");
    let (a, _) = node(Bus::Sharded, &prefix).await;
    let (b, addr_b) = node(Bus::Sharded, &prefix).await;
    let (mut cb, _) = Client::connect(addr_b, "/", None).await;
    let channel = format!("{prefix}#/#green#");
    let subscribers = || shard_subscribers(&channel);
    assert_eq!(subscribers().await, 0);
    cb.send(Packet::event("/", "join", vec![Value::from("green")]).with_ack_id(1)).await;
    cb.recv_ack().await;
    // Subscribed as the room is created on b (the subscription is confirmed asynchronously).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while subscribers().await != 1 {
        assert!(tokio::time::Instant::now() < deadline, "room channel never subscribed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    a.to("green").emit("g", ()).unwrap();
    assert_eq!(cb.recv_event("g").await.0, Vec::<Value>::new());
    // The room goes away with its last member: so does the subscription.
    b.sockets().sockets()[0].leave("green");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while subscribers().await != 0 {
        assert!(tokio::time::Instant::now() < deadline, "room channel never unsubscribed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn streams_recover_a_session_on_another_node() {
    socketio_e2e::require_redis!();
    let prefix = unique_key("recover");
    let (a, addr_a) = node(Bus::Streams, &prefix).await;
    let (b, addr_b) = node(Bus::Streams, &prefix).await;
    let mut client = Client::open(addr_a, Arc::new(JsonParser::default())).await;
    let connect = client.join_full("/", None).await.unwrap();
    let (sid, pid) =
        (connect["sid"].as_str().unwrap().to_string(), connect["pid"].as_str().unwrap().to_string());
    a.sockets().sockets()[0].join("vip");
    a.sockets().sockets()[0].set_data(&serde_json::json!({"n": 1})).unwrap();
    b.to("vip").emit("news", ("one",)).unwrap();
    let (args, _) = client.recv_event("news").await;
    assert_eq!(args[0], Value::from("one"));
    let offset = args.last().and_then(Value::as_str).unwrap().to_string();
    let (mut watcher, _) = Client::connect(addr_b, "/", None).await;
    client.close().await;
    while !a.sockets().sockets().is_empty() {
        tokio::task::yield_now().await;
    }
    // Broadcasts from both nodes, one after the other in the stream: each is awaited on a watching
    // socket of b (which is in no room) before the next is sent.
    b.to("vip").emit("news", ("two", bin(b"\x02"))).unwrap();
    b.to("elsewhere").emit("news", ("not for us",)).unwrap();
    b.emit("step", ()).unwrap();
    watcher.recv_event("step").await;
    a.emit("news", ("three",)).unwrap();
    assert_eq!(watcher.recv_event("news").await.0[0], Value::from("three"));
    b.emit("marker", ()).unwrap();
    watcher.recv_event("marker").await;
    // Back on the other node: same id, rooms and data, and what was missed, in order.
    let mut client = Client::open(addr_b, Arc::new(JsonParser::default())).await;
    let auth = serde_json::json!({"pid": pid, "offset": offset});
    let connect = client.join_full("/", Some(auth.clone())).await.unwrap();
    assert_eq!(connect["sid"].as_str(), Some(sid.as_str()));
    let mut missed = Vec::new();
    while missed.len() < 4 {
        let p = client.recv().await.unwrap();
        if let PacketData::Event(args) = p.data {
            missed.push(args);
        }
    }
    let names: Vec<Value> = missed.iter().map(|m| m[0].clone()).collect();
    assert_eq!(names, ["news", "step", "news", "marker"].map(Value::from));
    assert_eq!(&missed[0][1..3], &[Value::from("two"), bin(b"\x02")]);
    assert_eq!(missed[2][1], Value::from("three"));
    let recovered = b.sockets().sockets().into_iter().find(|s| s.id() == sid).unwrap();
    assert!(recovered.recovered());
    assert!(recovered.rooms().contains(&"vip".into()));
    assert_eq!(recovered.data_value(), socketio_server::parser::Value::from(serde_json::json!({"n": 1})));
    // Taken once: a second attempt is a fresh session.
    let mut other = Client::open(addr_a, Arc::new(JsonParser::default())).await;
    let connect = other.join_full("/", Some(auth)).await.unwrap();
    assert_ne!(connect["sid"].as_str(), Some(sid.as_str()));
}

#[tokio::test]
async fn streams_a_drained_node_hands_its_sessions_over() {
    socketio_e2e::require_redis!();
    let prefix = unique_key("drain");
    let (a, addr_a) = node(Bus::Streams, &prefix).await;
    let (b, addr_b) = node(Bus::Streams, &prefix).await;
    let mut client = Client::open(addr_a, Arc::new(JsonParser::default())).await;
    let connect = client.join_full("/", None).await.unwrap();
    let (sid, pid) =
        (connect["sid"].as_str().unwrap().to_string(), connect["pid"].as_str().unwrap().to_string());
    client.send(Packet::event("/", "join", vec![Value::from("vip")]).with_ack_id(1)).await;
    client.recv_ack().await;
    b.to("vip").emit("news", ("one",)).unwrap();
    let (args, _) = client.recv_event("news").await;
    let offset = args.last().and_then(Value::as_str).unwrap().to_string();
    let began = std::time::Instant::now();
    let deadline = Duration::from_secs(5);
    let drained = tokio::spawn({
        let a = a.clone();
        async move { a.drain(deadline).await }
    });
    // The connection ends without a Socket.IO DISCONNECT: a client takes it as a lost connection and
    // reconnects (a DISCONNECT would tell it to stay away).
    while let Some(packet) = client.recv().await {
        assert_ne!(packet.data, PacketData::Disconnect, "drain sent a DISCONNECT");
    }
    drained.await.unwrap();
    assert!(began.elapsed() < deadline, "drain took {:?}", began.elapsed());
    // The node takes no new connection; the load balancer sends the client elsewhere.
    assert!(tokio::net::TcpStream::connect(addr_a).await.is_err(), "a drained node still accepts");
    b.to("vip").emit("news", ("two",)).unwrap();
    // At once on the other node (the drain stored the session before it returned): same id and rooms,
    // and the broadcast it missed.
    let mut client = Client::open(addr_b, Arc::new(JsonParser::default())).await;
    let auth = serde_json::json!({"pid": pid, "offset": offset});
    let connect = client.join_full("/", Some(auth)).await.unwrap();
    assert_eq!(connect["sid"].as_str(), Some(sid.as_str()));
    let (args, _) = client.recv_event("news").await;
    assert_eq!(args_of(Bus::Streams, args), vec![Value::from("two")]);
    let recovered = b.sockets().sockets().into_iter().find(|s| s.id() == sid).unwrap();
    assert!(recovered.recovered());
    assert!(recovered.rooms().contains(&"vip".into()));
}

/// `PUBSUB SHARDNUMSUB channel` over a raw connection.
async fn shard_subscribers(channel: &str) -> usize {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(socketio_e2e::redis().expect("redis").addr()).await.unwrap();
    let command = format!("*3\r\n$6\r\nPUBSUB\r\n$11\r\nSHARDNUMSUB\r\n${}\r\n{channel}\r\n", channel.len());
    s.write_all(command.as_bytes()).await.unwrap();
    let mut reply = Vec::new();
    let mut buf = [0u8; 256];
    // The reply ends with the count, an integer line.
    while !reply.ends_with(b"\r\n") || !String::from_utf8_lossy(&reply).contains("\r\n:") {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "redis closed the connection");
        reply.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&reply).into_owned();
    text.rsplit(':').next().unwrap().trim().parse().unwrap()
}
