//! The official admin UI (`@socket.io/admin-ui` 0.5) watching and steering a Rust server.
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
//! Without `instrument`, nothing of the admin UI runs: the hooks are one check of an unset cell.
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
