//! Connection state recovery: a client that lost its connection for a short while gets back its socket
//! id, rooms, data and the events it missed.
//!
//! Turn it on with [`RecoveryConfig`](crate::server::RecoveryConfig); the reference's defaults are two
//! minutes and skipping the middlewares. The official JavaScript client (4.6 and later) and the Rust
//! client recover on their own; `socket.recovered()` tells whether a connection was a recovery.
//!
//! ```
//! use socketio::prelude::*;
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let mut config = ServerConfig::default();
//! config.connection_state_recovery = Some(RecoveryConfig {
//!     max_disconnection_duration: Duration::from_secs(120),
//!     skip_middlewares: true,
//! });
//! let io = SocketIo::new(config);
//! io.on_connection(|socket| async move {
//!     if socket.recovered() {
//!         // Same id, rooms and data as before; missed events are on their way.
//!     } else {
//!         socket.join("new-users");
//!     }
//! });
//! # }
//! ```
//!
//! Only broadcasts are kept for replay (as in the reference): events sent to one socket with
//! `socket.emit` while it is away are lost. Across a cluster, recovery on another node needs an adapter
//! that stores sessions: the Redis Streams adapter does (see [`adapters`](super::adapters)).
