//! The Redis adapter when the bus fails: its own test binary, because killing Redis's subscriber
//! connections would also cut the other tests' nodes if they ran at the same time (cargo runs test
//! binaries one after another).

#![allow(clippy::unwrap_used)]

use socketio_e2e::client::Client;
use socketio_e2e::{redis_node as node, unique_key};
use socketio_server::parser::Value;
use std::time::Duration;

#[tokio::test]
async fn local_delivery_goes_on_and_the_cluster_resumes_after_the_bus_drops() {
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

/// `CLIENT KILL TYPE pubsub` over a raw connection; returns how many connections were killed.
async fn redis_kill_pubsub() -> i64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect("127.0.0.1:6379").await.unwrap();
    s.write_all(b"*4\r\n$6\r\nCLIENT\r\n$4\r\nKILL\r\n$4\r\nTYPE\r\n$6\r\npubsub\r\n").await.unwrap();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).await.unwrap();
    let reply = String::from_utf8_lossy(&buf[..n]);
    reply.trim().trim_start_matches(':').parse().unwrap_or(0)
}
