//! End-to-end tests across the crates of the workspace, over real sockets and real buses. The tests live in
//! `tests/`; this library holds what they share: a minimal Socket.IO client built from the parser crates,
//! and nodes on each bus.
//!
//! The buses are throwaway servers of each test process (`socketio-test-services`): a test that needs
//! one starts with [`require_redis!`] or [`require_postgres!`], which return from the test, after one
//! line saying why, on a machine without the program (and fail instead under
//! `SOCKETIO_REQUIRE_SERVICES=1`, as in CI).

pub mod client;

pub use socketio_test_services::{postgres, redis, redis_cluster, RedisCluster, Service};

/// The Redis Cluster of this test process (three primaries), or a return from the calling test
/// (skipped, saying why).
#[macro_export]
macro_rules! require_redis_cluster {
    () => {{
        let Some(cluster) = $crate::redis_cluster() else { return };
        cluster
    }};
}

/// The Redis of this test process, or a return from the calling test (skipped, saying why).
#[macro_export]
macro_rules! require_redis {
    () => {{
        let Some(redis) = $crate::redis() else { return };
        redis
    }};
}

/// The Postgres of this test process, or a return from the calling test (skipped, saying why).
#[macro_export]
macro_rules! require_postgres {
    () => {{
        let Some(postgres) = $crate::postgres() else { return };
        postgres
    }};
}

/// The URL of this process's Redis, for helpers of tests that began with [`require_redis!`].
pub fn redis_url() -> &'static str {
    redis().expect("the test begins with require_redis!()").url()
}

/// The URL of this process's Postgres, for helpers of tests that began with [`require_postgres!`].
pub fn postgres_url() -> &'static str {
    postgres().expect("the test begins with require_postgres!()").url()
}

/// A server on the Redis adapter (this process's Redis, see [`require_redis!`]) under key prefix `key`,
/// subscribed and listening on a free loopback port.
pub async fn redis_node(key: &str) -> (socketio_server::SocketIo, std::net::SocketAddr) {
    redis_node_at(redis_url(), key).await
}

/// A server on the Redis adapter with Redis at `url` (a server, or a cluster), under key prefix `key`.
pub async fn redis_node_at(url: &str, key: &str) -> (socketio_server::SocketIo, std::net::SocketAddr) {
    use socketio_adapter::redis::{RedisAdapterConfig, RedisBus};
    let config = RedisAdapterConfig {
        key: key.to_string(),
        requests_timeout: std::time::Duration::from_secs(2),
        ..Default::default()
    };
    let bus = RedisBus::connect(url, config).await.expect("redis bus");
    cluster_node(bus.factory()).await
}

/// A key prefix no other test uses.
pub fn unique_key(name: &str) -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("test-{name}-{nanos}")
}

/// A server on the Postgres adapter (this process's Postgres, see [`require_postgres!`]) with channel
/// prefix `prefix`, listening to the main namespace's channel and on a free loopback port.
pub async fn postgres_node(prefix: &str) -> (socketio_server::SocketIo, std::net::SocketAddr) {
    use socketio_adapter::postgres::{PostgresBus, PostgresConfig};
    let mut config = PostgresConfig { channel_prefix: prefix.to_string(), ..PostgresConfig::default() };
    config.cluster.requests_timeout = std::time::Duration::from_secs(2);
    let bus = PostgresBus::connect(postgres_url(), config).await.expect("postgres bus");
    cluster_node(bus.factory()).await
}

/// A server on `adapter`, listening on a free loopback port, whose main namespace receives the bus's
/// messages before any client comes (the caller connects clients only once this returns).
/// A node on the sharded Redis adapter (Redis 7 sharded pub/sub) with channel prefix `prefix`.
pub async fn redis_sharded_node(prefix: &str) -> (socketio_server::SocketIo, std::net::SocketAddr) {
    redis_sharded_node_at(redis_url(), prefix).await
}

/// A node on the sharded Redis adapter with Redis at `url` (a server, or a cluster).
pub async fn redis_sharded_node_at(
    url: &str,
    prefix: &str,
) -> (socketio_server::SocketIo, std::net::SocketAddr) {
    use socketio_adapter::redis_sharded::{ShardedRedisBus, ShardedRedisConfig};
    let mut config = ShardedRedisConfig { channel_prefix: prefix.to_string(), ..Default::default() };
    config.cluster.requests_timeout = std::time::Duration::from_secs(2);
    let bus = ShardedRedisBus::connect(url, config).await.expect("sharded redis bus");
    cluster_node(bus.factory()).await
}

/// The options of a Redis Streams node of one test: its own stream, channels and session keys.
pub fn redis_streams_config(prefix: &str) -> socketio_adapter::redis_streams::RedisStreamsConfig {
    let mut config = socketio_adapter::redis_streams::RedisStreamsConfig {
        stream_name: prefix.to_string(),
        channel_prefix: prefix.to_string(),
        session_key_prefix: format!("{prefix}:session:"),
        ..Default::default()
    };
    config.cluster.requests_timeout = std::time::Duration::from_secs(2);
    config
}

/// A node on the Redis Streams adapter, with connection state recovery on for a minute.
pub async fn redis_streams_node(prefix: &str) -> (socketio_server::SocketIo, std::net::SocketAddr) {
    redis_streams_node_at(redis_url(), prefix).await
}

/// A node on the Redis Streams adapter with Redis at `url` (a server, or a cluster), with connection
/// state recovery on for a minute.
pub async fn redis_streams_node_at(
    url: &str,
    prefix: &str,
) -> (socketio_server::SocketIo, std::net::SocketAddr) {
    use socketio_adapter::redis_streams::RedisStreamsBus;
    let bus = RedisStreamsBus::connect(url, redis_streams_config(prefix)).await.expect("streams bus");
    let recovery = socketio_server::RecoveryConfig {
        max_disconnection_duration: std::time::Duration::from_secs(60),
        skip_middlewares: true,
    };
    let config = socketio_server::ServerConfig {
        adapter: bus.factory(),
        connection_state_recovery: Some(recovery),
        ..Default::default()
    };
    let (io, addr) = client::start(config).await;
    io.sockets().adapter().ready().await;
    (io, addr)
}

async fn cluster_node(
    adapter: socketio_adapter::AdapterFactory,
) -> (socketio_server::SocketIo, std::net::SocketAddr) {
    let (io, addr) = client::start(socketio_server::ServerConfig { adapter, ..Default::default() }).await;
    io.sockets().adapter().ready().await;
    (io, addr)
}

/// serverSideEmit from node `a` reaches node `b`, without and with an acknowledgement.
#[allow(clippy::unwrap_used)]
pub async fn assert_server_side_emit(a: &socketio_server::SocketIo, b: &socketio_server::SocketIo) {
    use socketio_server::parser::Value;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    b.sockets().on_server_event("hello", move |args, ack| {
        let tx = tx.clone();
        async move {
            tx.send(args).unwrap();
            if let Some(ack) = ack {
                ack.send(&"hi from b").unwrap();
            }
        }
    });
    a.sockets().server_side_emit("hello", ("plain",)).await.unwrap();
    assert_eq!(
        tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv()).await.expect("in time").unwrap(),
        vec![Value::from("plain")]
    );
    let answers = a.sockets().server_side_emit_with_ack("hello", ("ask",)).await.unwrap();
    assert_eq!(answers, vec![Value::from("hi from b")]);
    assert_eq!(
        tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv()).await.expect("in time").unwrap(),
        vec![Value::from("ask")]
    );
}
