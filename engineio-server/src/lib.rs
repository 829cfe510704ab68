//! An Engine.IO server on hyper 1.x: HTTP long-polling, websocket, the upgrade from one to the other, and
//! the heartbeat, for Engine.IO protocol v4 (and v3 for `socket.io-client` 2.x, with `allow_eio3`).
//!
//! The engine knows nothing of Socket.IO: it opens sessions, moves text and binary messages, keeps the
//! sessions alive and closes them with the reference server's reasons. Implement [`Handler`] to hear of
//! connections, messages and closes; use [`Socket`] to send and close.
//!
//! Serve it standalone ([`EngineIo::listen`]), from your own hyper service ([`EngineIo::handle`]), or in a
//! tower/axum stack ([`EngineLayer`]).
//!
//! ```no_run
//! use engineio_server::{EngineConfig, EngineIo, Handler, Socket};
//! use engineio_server::parser::PacketData;
//!
//! /// Sends every message back.
//! struct Echo;
//!
//! impl Handler for Echo {
//!     fn on_message(&self, socket: &Socket, data: PacketData) {
//!         let _ = match data {
//!             PacketData::Text(text) => socket.send_text(text),
//!             PacketData::Binary(bytes) => socket.send_binary(bytes),
//!             PacketData::Empty => Ok(()),
//!         };
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let engine = EngineIo::new(EngineConfig::default(), Echo);
//!     let server = engine.listen("127.0.0.1:3000".parse().unwrap()).await?;
//!     println!("listening on {}", server.local_addr());
//!     tokio::signal::ctrl_c().await?;
//!     engine.close().await;
//!     Ok(())
//! }
//! ```

mod config;
mod engine;
mod handler;
mod polling;
mod request;
mod service;
mod session;
mod static_files;
mod websocket;
mod wsframe;

pub use config::{
    AllowRequest, BoxFuture, CompressionConfig, CookieConfig, CorsConfig, CorsOrigin, EngineConfig,
    GenerateId, OriginPredicate, OverflowPolicy, SameSite, TransportKind,
};
pub use engine::{generate_id, EngineIo, SHUTDOWN_WRITE_TIMEOUT};
pub use engineio_parser as parser;
pub use handler::{CloseReason, ConnectionError, ErrorCode, Handler, NoopHandler, SessionEvent};
pub use request::{DropConnection, EngineBody, RemoteAddr, RequestInfo, Secure};
/// The TLS library of [`EngineIo::serve_tls`] (feature `tls`).
#[cfg(feature = "tls")]
pub use rustls;
pub use service::{EngineLayer, EngineService, ServerHandle};
pub use session::{EncodedMessage, ReadyState, SendError, SendOptions, Socket};
pub use static_files::StaticFiles;
