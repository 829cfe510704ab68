//! `RedisEmitter`: a process that is not a server reaches the sockets of every node of a Redis cluster.

#![allow(clippy::unwrap_used)]

use socketio_adapter::redis::RedisEmitter;
use socketio_e2e::client::Client;
use socketio_e2e::{redis_node, unique_key};
use socketio_server::parser::{PacketData, Value};
use std::time::Duration;

async fn within<F: std::future::Future>(fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(5), fut).await.expect("in time")
}

#[tokio::test]
async fn the_emitter_reaches_every_node() {
    socketio_e2e::require_redis!();
    let key = unique_key("emitter");
    let (a, addr_a) = redis_node(&key).await;
    let (b, addr_b) = redis_node(&key).await;
    let (mut ca, _) = Client::connect(addr_a, "/", None).await;
    let (mut cb, id_b) = Client::connect(addr_b, "/", None).await;
    let emitter = RedisEmitter::connect(socketio_e2e::redis_url(), &key).await.unwrap();

    // Everyone, binary included.
    let bin = socketio_e2e::client::bin(b"\x00\xff");
    emitter.emit("news", vec![Value::from("all"), bin.clone()]).await.unwrap();
    for client in [&mut ca, &mut cb] {
        assert_eq!(within(client.recv_event("news")).await.0, vec![Value::from("all"), bin.clone()]);
    }
    // One room; except a room (in one message, so their order is kept on each node).
    a.sockets().sockets()[0].join("red");
    emitter.to("red").emit("to red", vec![]).await.unwrap();
    emitter.except("red").emit("not red", vec![]).await.unwrap();
    assert_eq!(within(ca.recv()).await.unwrap().event_name(), Some("to red"));
    assert_eq!(within(cb.recv()).await.unwrap().event_name(), Some("not red"));

    // socketsJoin through the emitter, seen by a room broadcast published after it (each node reads
    // the emitter's messages in the order they were published).
    emitter.except("red").sockets_join(vec!["blue".into()]).await.unwrap();
    emitter.to("blue").emit("to blue", vec![]).await.unwrap();
    emitter.emit("marker", vec![]).await.unwrap();
    assert_eq!(within(cb.recv()).await.unwrap().event_name(), Some("to blue"));
    assert_eq!(within(ca.recv()).await.unwrap().event_name(), Some("marker"), "a is not in blue");
    assert_eq!(within(cb.recv()).await.unwrap().event_name(), Some("marker"));
    assert_eq!(b.sockets().to("blue").socket_ids(), vec![id_b]);

    // serverSideEmit reaches each node's listeners.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for (name, io) in [("a", &a), ("b", &b)] {
        let tx = tx.clone();
        io.on_server_event("ping", move |args, _| {
            let tx = tx.clone();
            async move { tx.send((name, args)).unwrap() }
        });
    }
    emitter.server_side_emit("ping", vec![Value::from(1)]).await.unwrap();
    let mut got = vec![within(rx.recv()).await.unwrap(), within(rx.recv()).await.unwrap()];
    got.sort_by_key(|(n, _)| *n);
    assert_eq!(got, vec![("a", vec![Value::from(1)]), ("b", vec![Value::from(1)])]);

    // disconnectSockets of one room.
    emitter.to("red").disconnect_sockets(false).await.unwrap();
    assert_eq!(within(ca.recv()).await.unwrap().data, PacketData::Disconnect);
    assert_eq!(b.sockets().sockets().len(), 1);

    // Reserved names are refused before anything is sent.
    assert!(emitter.emit("disconnect", vec![]).await.is_err());
}
