//! The Postgres adapter when its listening connections are killed (`pg_terminate_backend`): local
//! delivery goes on, and the cluster works again once they have reconnected. Its own test binary: it
//! kills database connections, which must not be those of tests running at the same time (each test
//! uses its own channel prefix, which names the connections to kill).

#![allow(clippy::unwrap_used)]

use socketio_e2e::client::Client;
use socketio_e2e::{postgres_node, unique_key};
use socketio_server::parser::Value;
use std::time::Duration;

#[tokio::test]
async fn the_cluster_resumes_after_the_listeners_are_killed() {
    socketio_e2e::require_postgres!();
    let prefix = unique_key("pgfault");
    // Node a with an error hook.
    let mut config =
        socketio_adapter::postgres::PostgresConfig { channel_prefix: prefix.clone(), ..Default::default() };
    config.cluster.requests_timeout = Duration::from_secs(2);
    let bus =
        socketio_adapter::postgres::PostgresBus::connect(socketio_e2e::postgres_url(), config).await.unwrap();
    let (errors_tx, mut errors) = tokio::sync::mpsc::unbounded_channel();
    bus.on_error(move |e| drop(errors_tx.send(e.to_string())));
    let (a, addr_a) = socketio_e2e::client::start(socketio_server::ServerConfig {
        adapter: bus.factory(),
        ..Default::default()
    })
    .await;
    a.sockets().adapter().ready().await;
    let (b, addr_b) = postgres_node(&prefix).await;
    let (mut ca, _) = Client::connect(addr_a, "/", None).await;
    let (mut cb, _) = Client::connect(addr_b, "/", None).await;
    a.emit("before", ()).unwrap();
    assert_eq!(cb.recv_event("before").await.0, Vec::<Value>::new());

    // Kill the connections that listen on this test's channels (their last query names the prefix).
    let (admin, connection) =
        tokio_postgres::connect(socketio_e2e::postgres_url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let killed = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()",
            &[&format!("%{prefix}%")],
        )
        .await
        .unwrap();
    assert!(killed.len() >= 2, "killed {} listening connections", killed.len());
    let error = tokio::time::timeout(Duration::from_secs(5), errors.recv()).await.unwrap().unwrap();
    assert!(error.contains("listening connection dropped"), "the error hook hears of it: {error}");

    // Local delivery does not need the database.
    a.local().emit("local", ()).unwrap();
    assert_eq!(ca.recv_event("local").await.0, Vec::<Value>::new());

    // Messages sent while b does not listen are lost; once it listens again (within a few seconds),
    // broadcasts reach it: probe until one arrives.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        a.emit("probe", ()).unwrap();
        match tokio::time::timeout(Duration::from_millis(200), cb.recv_event("probe")).await {
            Ok(_) => break,
            Err(_) => assert!(tokio::time::Instant::now() < deadline, "the cluster never came back"),
        }
    }
    drop(b);
}
