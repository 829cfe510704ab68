//! A Socket.IO server with the API of the Node.js `socket.io` 4.x server, on [`engineio_server`].
//!
//! - [`SocketIo`]: the server: namespaces (`of`, dynamic ones with `of_dynamic`), `listen`, a tower
//!   `layer`, `close`.
//! - [`Namespace`]: middlewares (`use_middleware`), connection handlers, broadcasting (`to`, `except`,
//!   `emit`), bulk operations (`fetch_sockets`, `sockets_join`, `disconnect_sockets`).
//! - [`Socket`]: events in (`on`, with arguments deserialized into your types) and out (`emit`,
//!   `emit_with_ack`, `timeout`, `volatile`), acks, rooms (`join`, `leave`, `to`, `broadcast`), data,
//!   `disconnect`.
//!
//! Room state and broadcasts go through the adapter ([`socketio_adapter`]); the default is in memory.
//!
//! Extensions (dashboards such as [`socketio-admin`](https://docs.rs/socketio-admin), audit logs,
//! presence) build on public hooks only: [`SocketIo::add_engine_handler`] (engine connections,
//! upgrades, packets, closes), [`SocketIo::on_socket_connected`] and
//! [`SocketIo::on_socket_disconnected`] (every namespace), [`Socket::on_any`] and
//! [`Socket::on_any_outgoing`], [`SocketIo::on_socket_data`], [`SocketIo::on_fetched_data`] (what
//! `fetch_sockets` sees, on every node), and the adapter's room events
//! ([`adapter::Adapter::on_room_event`]). A hook nobody registered costs one atomic load.
//!
//! ```no_run
//! use socketio_server::{ServerConfig, SocketIo};
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let io = SocketIo::new(ServerConfig::default());
//!     io.on_connection(|socket| async move {
//!         socket.on("chat message", |socket, (text,): (String,), _ack| async move {
//!             let _ = socket.broadcast().emit("chat message", (text,));
//!         });
//!     });
//!     io.listen("127.0.0.1:3000".parse().unwrap()).await?;
//!     tokio::signal::ctrl_c().await?;
//!     io.close().await;
//!     Ok(())
//! }
//! ```

mod args;
mod client;
mod config;
mod handshake;
mod hooks;
#[cfg(feature = "metrics")]
pub mod metrics;
mod namespace;
mod operators;
mod remote;
mod server;
mod socket;

pub use args::{AckError, EmitError, IntoArgs};
pub use config::{ParserKind, RecoveryConfig, ServerConfig};
pub use engineio_server as engine;
pub use handshake::Handshake;
pub use namespace::{ConnectError, Namespace, ServerAck};
pub use operators::BroadcastOperator;
pub use remote::RemoteSocket;
pub use server::{SocketIo, WeakSocketIo};
pub use socket::{
    AckSender, DisconnectReason, HandlerResult, IntoRooms, ListenerId, Socket, SocketEmitter, SocketError,
};
pub use socketio_adapter as adapter;
pub use socketio_parser as parser;
