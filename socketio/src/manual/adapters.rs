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
//! // Wait until the node listens on the bus before taking clients.
//! io.sockets().adapter().ready().await;
//! io.listen("0.0.0.0:3000".parse()?).await?;
//! # Ok(())
//! # }
//! ```
//!
//! With the `postgres` feature, `adapter::postgres::PostgresBus::connect("postgres://user@host/db",
//! Default::default())` takes the place of the Redis bus.
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
