//! Two servers sharing namespaces through the Postgres adapter (a throwaway Postgres of this test
//! process, see `socketio_e2e::require_postgres!`), with a unique channel prefix per test; nodes starting
//! together on a new database; bus errors that say what the database said.

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
    socketio_e2e::require_postgres!();
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
    socketio_e2e::require_postgres!();
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

/// Pods of a deployment start together on a new database: every node creates the attachments table
/// at once, and every one of them must start (concurrent `CREATE TABLE IF NOT EXISTS` can fail with a
/// unique violation on the catalog).
#[tokio::test]
async fn nodes_starting_together_on_a_new_database_all_start() {
    use socketio_adapter::postgres::{PostgresBus, PostgresConfig};
    let postgres = socketio_e2e::require_postgres!();
    let (admin, connection) = tokio_postgres::connect(postgres.url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    for round in 0..5 {
        let table = format!("{}_{round}", unique_key("attachments").replace('-', "_"));
        admin.batch_execute(&format!("DROP TABLE IF EXISTS \"{table}\"")).await.unwrap();
        let starts = (0..8).map(|_| {
            let config = PostgresConfig {
                table_name: table.clone(),
                channel_prefix: unique_key("race"),
                ..PostgresConfig::default()
            };
            PostgresBus::connect(postgres.url(), config)
        });
        for started in futures_util::future::join_all(starts).await {
            if let Err(e) = started {
                panic!("round {round}: a node did not start: {e}");
            }
        }
        let rows = admin.query("SELECT 1 FROM pg_tables WHERE tablename = $1", &[&table]).await.unwrap();
        assert_eq!(rows.len(), 1, "the table {table} exists once");
    }
}

/// A bus error names what the server said (severity, SQLSTATE code, message), not just "db error".
#[tokio::test]
async fn bus_errors_carry_the_database_s_message_and_code() {
    use socketio_adapter::postgres::{PostgresBus, PostgresConfig};
    let postgres = socketio_e2e::require_postgres!();
    let url = format!("postgres://postgres@127.0.0.1:{}/no_such_database", postgres.port());
    let error = PostgresBus::connect(&url, PostgresConfig::default()).await.unwrap_err().to_string();
    assert!(error.contains("3D000"), "{error}");
    assert!(error.contains("\"no_such_database\" does not exist"), "{error}");
    // The attachments "table" is a view without the payload column: preparing the statements fails,
    // and the caller hears which column of which relation.
    let (admin, connection) = tokio_postgres::connect(postgres.url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let view = unique_key("view").replace('-', "_");
    admin.batch_execute(&format!("CREATE VIEW \"{view}\" AS SELECT 1 AS one")).await.unwrap();
    let config = PostgresConfig { table_name: view.clone(), ..PostgresConfig::default() };
    let error = PostgresBus::connect(postgres.url(), config).await.unwrap_err().to_string();
    assert!(error.contains("42703"), "{error}");
    assert!(error.contains("payload") && error.contains(&view), "{error}");
}
