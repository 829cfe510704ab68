//! The official admin UI (`@socket.io/admin-ui` 0.5) watching and steering a Rust server (feature
//! `admin`, the `socketio-admin` crate).
//!
//! [`admin::instrument`](crate::admin::instrument) opens the `/admin` namespace the UI connects to:
//! server statistics every 2 s, and in development mode every socket, room and event; the UI's emit,
//! join, leave and disconnect commands act on the whole cluster through the adapter. The UI itself is
//! the npm package's built `ui/dist`; the `admin-ui` example serves it at
//! http://localhost:3000/admin-ui/.
//!
//! ```
//! use socketio::admin::{instrument, AdminAuth, AdminMode, AdminOptions};
//! use socketio::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let io = SocketIo::new(ServerConfig::default());
//! // Basic authentication keeps only a bcrypt hash of the password.
//! let hash = "$2a$04$fLEqu3L7DGuxjayAFXUmduqjpMZ6WRNHrhJn1fRdH.uim4k5LUD8u";
//! let mut options = AdminOptions::new(AdminAuth::basic("admin", hash)?);
//! options.mode = AdminMode::Production; // statistics only
//! options.readonly = true; // no commands
//! instrument(&io, options)?;
//! # Ok(())
//! # }
//! ```
//!
//! Without the feature, the admin UI is not even built; without `instrument`, nothing of it runs.
//!
//! After a password login the UI gets a session id and reconnects with it. By default the ids live
//! in the memory of the node that handed them out; behind a load balancer, keep them in Redis
//! (feature `redis`), where every node finds them, Node ones included (`RedisStore` uses the keys of
//! the reference's `RedisStore`):
//!
//! ```no_run
//! # #[cfg(feature = "redis")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use socketio::admin::{AdminAuth, AdminOptions, RedisStore};
//! let hash = "$2a$04$fLEqu3L7DGuxjayAFXUmduqjpMZ6WRNHrhJn1fRdH.uim4k5LUD8u";
//! let mut options = AdminOptions::new(AdminAuth::basic("admin", hash)?);
//! options.store = std::sync::Arc::new(RedisStore::connect("redis://127.0.0.1:6379").await?);
//! # Ok(())
//! # }
//! ```
//!
//! On a Redis Cluster, give `connect` one node of the cluster or several separated by commas
//! (`redis://10.0.0.1:7000,10.0.0.2:7000`), as the cluster adapters take them: each session's key
//! goes to the node that owns its slot (`tests/tests/redis_on_cluster.rs`).
//!
//! # Built on public hooks
//!
//! As `@socket.io/admin-ui` on Node, the crate uses only the server's public API, which any other
//! extension (audit logs, presence, rate limits, dashboards) can use too; a hook nobody registered
//! costs one atomic load:
//!
//! | what the admin UI reports | the hook |
//! |---|---|
//! | connections, upgrades, closes, packets and bytes | [`SocketIo::add_engine_handler`](crate::server::SocketIo::add_engine_handler) |
//! | sockets connected and disconnected, in any namespace | [`SocketIo::on_socket_connected`](crate::server::SocketIo::on_socket_connected), [`on_socket_disconnected`](crate::server::SocketIo::on_socket_disconnected) |
//! | events received and sent | [`Socket::on_any`](crate::server::Socket::on_any), [`Socket::on_any_outgoing`](crate::server::Socket::on_any_outgoing) |
//! | rooms joined and left | the adapter's [`on_room_event`](crate::adapter::Adapter::on_room_event) |
//! | `socket.data` updated | [`SocketIo::on_socket_data`](crate::server::SocketIo::on_socket_data) |
//! | client id and transport of sockets on other nodes | [`SocketIo::on_fetched_data`](crate::server::SocketIo::on_fetched_data) with `fetch_sockets` |
//!
//! For instance, a log of who is online, with the reason of each departure:
//!
//! ```
//! use socketio::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let io = SocketIo::new(ServerConfig::default());
//! io.on_socket_connected(|socket| println!("+ {} in {}", socket.id(), socket.nsp()));
//! io.on_socket_disconnected(|socket, reason| println!("- {} ({})", socket.id(), reason.as_str()));
//! # }
//! ```
