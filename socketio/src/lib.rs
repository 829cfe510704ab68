//! Socket.IO for Rust: a server with the API of the Node.js `socket.io` 4.x server, a client, cluster
//! adapters that interoperate with the official Node adapters, and the wire-format parsers, behind one
//! crate.
//!
//! The official JavaScript client (`socket.io-client` 4.x, and 2.x/3.x through Engine.IO v3) talks to the
//! server; the Rust client talks to any Socket.IO 4.x server; a Rust node and a Node.js node on the same
//! Redis or Postgres bus form one cluster.
//!
//! # Quick start
//!
//! ```no_run
//! use socketio::prelude::*;
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let io = SocketIo::new(ServerConfig::default());
//!     io.on_connection(|socket| async move {
//!         // Arguments arrive deserialized into the types you ask for.
//!         socket.on("chat message", |socket, (text,): (String,), ack| async move {
//!             let _ = socket.broadcast().emit("chat message", (text,));
//!             if let Some(ack) = ack {
//!                 let _ = ack.send(("delivered",));
//!             }
//!         });
//!     });
//!     io.listen("127.0.0.1:3000".parse().unwrap()).await?;
//!     tokio::signal::ctrl_c().await?;
//!     io.close().await;
//!     Ok(())
//! }
//! ```
//!
//! In a browser: `const socket = io("http://localhost:3000"); socket.emit("chat message", "hi")`.
//!
//! # The manual
//!
//! - [`manual::concepts`]: namespaces, sockets, events, acknowledgements, rooms, middlewares.
//! - [`manual::broadcasting`]: rooms, broadcast operators, bulk operations on sockets.
//! - [`manual::integration`]: standalone `listen()`, a tower `Layer` in an axum app, a hyper service,
//!   CORS, TLS.
//! - [`manual::adapters`]: clusters on Redis or Postgres, mixed with Node.js servers; `serverSideEmit`.
//! - [`manual::recovery`]: connection state recovery.
//! - [`manual::deployment`]: load balancers and sticky sessions (HAProxy, nginx), draining a node,
//!   Kubernetes, which cluster adapter to choose.
//! - [`manual::client`]: the Rust client.
//! - [`manual::admin_ui`]: the official admin UI.
//! - [`manual::observability`]: `tracing` spans and Prometheus-ready metrics.
//!
//! # Features
//!
//! | feature | what it brings |
//! |---|---|
//! | `server` (default) | [`server`] and [`engine`]: the server, its `listen()`, tower layer and hyper service |
//! | `admin` | `admin`: the server side of the official admin UI (`@socket.io/admin-ui`), with `redis` its `RedisStore` |
//! | `client` | [`client`]: the Rust client (websocket and polling, reconnection, TLS) |
//! | `redis` | the Redis adapters in [`adapter`] (`redis`, `redis_sharded`, `redis_streams`) |
//! | `postgres` | the Postgres adapter in [`adapter`] (`postgres`) |
//! | `msgpack` | the msgpack parser in the server (`ParserKind::Msgpack`) and the client (`ClientBuilder::msgpack`) |
//! | `tls` | `SocketIo::listen_tls` (rustls); the client always has TLS |
//! | `tracing` | spans per engine connection, socket and handled event (logs are always there) |
//! | `metrics` | counters and gauges through the `metrics` facade (`server::metrics` lists them) |
//!
//! The parsers ([`parser`], [`engine_parser`]) and the adapter trait with the memory adapter
//! ([`adapter`]) are always there: they have no IO of their own.

pub mod manual;
pub mod prelude;

pub use engineio_parser as engine_parser;
pub use socketio_adapter as adapter;
pub use socketio_parser as parser;

#[cfg(feature = "server")]
pub use engineio_server as engine;
#[cfg(feature = "server")]
pub use socketio_server as server;

#[cfg(feature = "client")]
pub use socketio_client as client;

#[cfg(feature = "server")]
pub use socketio_server::{Namespace, ServerConfig, Socket, SocketIo};

#[cfg(feature = "admin")]
pub use socketio_admin as admin;
