//! Two servers sharing namespaces through the Postgres adapter (real Postgres at 127.0.0.1:5432), with a
//! unique channel prefix per test.

#![allow(clippy::unwrap_used)]

use socketio_e2e::client::{bin, Client};
use socketio_e2e::{postgres_node, unique_key};
use socketio_server::parser::{Packet, PacketData, Value};
use socketio_server::SocketIo;
use std::time::Duration;

async fn within<F: std::future::Future>(fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(5), fut).await.expect("in time")
}

/// Waits until `io` counts `n` servers (nodes learn of each other from heartbeats).
async fn until_count(io: &SocketIo, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    while io.sockets().adapter().server_count().await != n {
        assert!(tokio::time::Instant::now() < deadline, "the nodes never saw each other");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn two_nodes_share_every_operation_through_postgres() {
    let prefix = unique_key("pg");
    let (a, addr_a) = postgres_node(&prefix).await;
    let (b, addr_b) = postgres_node(&prefix).await;
    until_count(&a, 2).await;
    until_count(&b, 2).await;
    let (mut ca, id_a) = Client::connect(addr_a, "/", None).await;
    let (mut cb, id_b) = Client::connect(addr_b, "/", None).await;

    // Plain, binary (an attachment row) and large (over 8000 bytes: an attachment too) broadcasts.
    a.emit("plain", ("hello",)).unwrap();
    a.emit("binary", (bin(b"\x00\x01\xff"),)).unwrap();
    let large = "x".repeat(10_000);
    a.emit("large", (large.as_str(),)).unwrap();
    for client in [&mut ca, &mut cb] {
        assert_eq!(within(client.recv_event("plain")).await.0, vec![Value::from("hello")]);
        assert_eq!(within(client.recv_event("binary")).await.0, vec![bin(b"\x00\x01\xff")]);
        assert_eq!(within(client.recv_event("large")).await.0, vec![Value::from(large.as_str())]);
    }

    // Rooms and socketsJoin from the other node.
    b.sockets().sockets()[0].join("blue");
    a.to("blue").emit("blue", ()).unwrap();
    assert_eq!(within(cb.recv_event("blue")).await.0, Vec::<Value>::new());
    a.sockets().sockets_join("all").await.unwrap();
    a.to("all").emit("joined", ()).unwrap();
    within(ca.recv_event("joined")).await;
    within(cb.recv_event("joined")).await;

    // fetchSockets.
    let mut ids: Vec<String> = a.fetch_sockets().await.unwrap().iter().map(|s| s.id.to_string()).collect();
    ids.sort();
    let mut expected = vec![id_a, id_b];
    expected.sort();
    assert_eq!(ids, expected);

    // Broadcast acks from both nodes' clients.
    let asking = {
        let a = a.clone();
        tokio::spawn(async move { a.timeout(Duration::from_secs(3)).emit_with_ack("question", ()).await })
    };
    for (client, name) in [(&mut ca, "a"), (&mut cb, "b")] {
        let (_, id) = within(client.recv_event("question")).await;
        client.send(Packet::ack("/", id.unwrap(), vec![Value::from(name)])).await;
    }
    assert_eq!(within(asking).await.unwrap().unwrap().len(), 2);

    // serverSideEmit with an answer, binary included.
    b.on_server_event("hello", |args, ack| async move {
        if let Some(ack) = ack {
            ack.send(&args).unwrap();
        }
    });
    let answers = a.server_side_emit_with_ack("hello", (bin(b"\x07"),)).await.unwrap();
    assert_eq!(answers, vec![Value::Array(vec![bin(b"\x07")])]);

    // disconnectSockets across nodes.
    a.to("blue").disconnect_sockets(false).await.unwrap();
    assert_eq!(within(cb.recv()).await.unwrap().data, PacketData::Disconnect);
}

#[tokio::test]
async fn a_burst_of_broadcasts_arrives_whole_and_in_order() {
    let prefix = unique_key("pg-burst");
    let (a, _) = postgres_node(&prefix).await;
    let (b, addr_b) = postgres_node(&prefix).await;
    until_count(&a, 2).await;
    until_count(&b, 2).await;
    let (mut cb, _) = Client::connect(addr_b, "/", None).await;

    // Far more than one round trip's worth, sent at once: they are published in batches. Identical
    // messages must stay distinct notifications, and attachments (binary) keep their place.
    let mut expected = Vec::new();
    for i in 0..1_500u64 {
        let (event, args) = match i % 5 {
            0 => ("same", vec![]),
            1 => ("binary", vec![Value::from(i), Value::Binary(i.to_be_bytes().to_vec().into())]),
            _ => ("n", vec![Value::from(i)]),
        };
        a.emit(event, args.clone()).unwrap();
        expected.push((event, args));
    }
    for (i, (event, args)) in expected.into_iter().enumerate() {
        let packet = within(cb.recv()).await.expect("the connection stays open");
        assert_eq!(packet.event_name(), Some(event), "message {i}");
        assert_eq!(packet.args(), &args[..], "message {i}");
    }
}
