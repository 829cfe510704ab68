//! Adapters: rooms and broadcasts across a cluster of servers, Rust and Node.js alike.
//!
//! The adapter keeps the rooms and carries broadcasts. The default, [`MemoryAdapter`](crate::adapter::MemoryAdapter),
//! serves one process. The cluster adapters speak the wire format of the official Node adapters, so Rust
//! and Node servers on the same bus form one cluster:
//!
//! | bus | feature | Rust type | Node peer |
//! |---|---|---|---|
//! | Redis pub/sub | `redis` | `adapter::redis::RedisBus` | `@socket.io/redis-adapter` `createAdapter` |
//! | Redis 7 sharded pub/sub | `redis` | `adapter::redis_sharded::ShardedRedisBus` | `createShardedAdapter` |
//! | Redis Streams (recovery on any node) | `redis` | `adapter::redis_streams::RedisStreamsBus` | `@socket.io/redis-streams-adapter` |
//! | Postgres LISTEN/NOTIFY | `postgres` | `adapter::postgres::PostgresBus` | `@socket.io/postgres-adapter` |
//!
//! Everything that names sockets or rooms then acts on the whole cluster: broadcasts, `fetch_sockets`,
//! `sockets_join`/`sockets_leave`, `disconnect_sockets`, and acknowledgements from every node.
//!
//! ```no_run
//! use socketio::prelude::*;
//!
//! # #[cfg(feature = "redis")]
//! # async fn node() -> Result<(), Box<dyn std::error::Error>> {
//! use socketio::adapter::redis::RedisBus;
//!
//! let bus = RedisBus::connect("redis://127.0.0.1:6379", Default::default()).await?;
//! let mut config = ServerConfig::default();
//! config.adapter = bus.factory();
//! let io = SocketIo::new(config);
//! // The server holds a namespace's first clients until its adapter listens on the bus (5 s at most);
//! // waiting here as well keeps the node from taking any connection before.
//! io.sockets().adapter().ready().await;
//! io.listen("0.0.0.0:3000".parse()?).await?;
//! # Ok(())
//! # }
//! ```
//!
//! With the `postgres` feature, `adapter::postgres::PostgresBus::connect("postgres://user@host/db",
//! Default::default())` takes the place of the Redis bus.
//!
//! # On a Redis Cluster
//!
//! The three Redis buses (and `adapter::redis::RedisEmitter`) work on a Redis Cluster through the
//! `redis` crate's cluster client: each command goes to the node that owns its key's slot, `MOVED` and
//! `ASK` redirections are followed, the topology is read again after a failover, and subscriptions are
//! made again where their slot now lives. Give the bus the address of any node (it asks the server
//! whether it is a cluster node, `INFO cluster`) or several seed nodes separated by commas:
//!
//! ```no_run
//! # #[cfg(feature = "redis")]
//! # async fn node() -> Result<(), Box<dyn std::error::Error>> {
//! use socketio::adapter::redis_sharded::ShardedRedisBus;
//! let bus = ShardedRedisBus::connect("redis://10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000", Default::default())
//!     .await?; // an error, within seconds, when no seed node answers
//! # let _ = bus; Ok(())
//! # }
//! ```
//!
//! The reference example takes the same addresses: `--adapter redis-sharded://10.0.0.1:7000,10.0.0.2:7000`.
//!
//! - Sharded pub/sub is what scales on a cluster: each channel lives on the node of its slot.
//! - Redis Streams: the stream and the session keys live on the nodes of their slots; with
//!   `stream_count` above one, the namespaces spread over several streams, so over several nodes.
//! - Classic pub/sub works (a `PUBLISH` reaches the subscribers of every node), but every message goes
//!   to every node. The Rust bus counts the servers by asking every node (`PUBSUB NUMSUB`) and adding
//!   up; the Node adapter asks one node, so a Node server mixed in counts too few servers and its
//!   requests (`fetchSockets`, `serverSideEmit` with acks) stop waiting before every server answered.
//!   Prefer the sharded adapter on a cluster.
//!
//! # Messages between servers
//!
//! `server_side_emit` sends an event to the other nodes (not to clients); `on_server_event` receives
//! them. With an acknowledgement, each node answers and the sender collects the answers.
//!
//! ```
//! use socketio::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let io = SocketIo::new(ServerConfig::default());
//! io.on_server_event("cache:invalidate", |args, _ack| async move {
//!     println!("another node says: drop {args:?}");
//! });
//! // Alone on the memory adapter, there is nobody to tell; in a cluster every other node hears it.
//! let _ = io.server_side_emit("cache:invalidate", ("user:42",)).await;
//! # }
//! ```
//!
//! # Your own adapter
//!
//! Implement [`Adapter`](crate::adapter::Adapter) (rooms, broadcast, the cluster requests) and give the
//! server an [`AdapterFactory`](crate::adapter::AdapterFactory) that makes one per namespace;
//! `socketio_adapter::testing` has a conformance suite to run it against.
