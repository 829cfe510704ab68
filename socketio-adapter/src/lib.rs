//! Socket.IO adapters: where room membership lives and how broadcasts reach sockets.
//!
//! Every room operation and every broadcast of the server goes through an [`Adapter`]. The in-memory
//! adapter ([`MemoryAdapter`]) serves one process; cluster adapters (Redis, Postgres) implement the same
//! trait and forward what concerns other nodes.
//!
//! Adapters know packets and broadcast options, not the server's sockets: they reach local sockets through
//! the [`LocalNamespace`] the server gives them (send pre-encoded frames, register acks, disconnect, describe
//! a socket).
//!
//! ```
//! use socketio_adapter::{Adapter, BroadcastOptions, MemoryAdapter, Room};
//! # use socketio_adapter::testing::RecordingNamespace;
//! # let nsp = RecordingNamespace::new("/");
//! let adapter = MemoryAdapter::new(nsp.clone());
//! adapter.add_all(&"sid1".into(), &[Room::from("lobby")]);
//! adapter.add_all(&"sid2".into(), &[Room::from("lobby"), Room::from("vip")]);
//! let opts = BroadcastOptions::default().to("lobby").except("vip");
//! assert_eq!(adapter.sockets(&opts), vec![socketio_adapter::Sid::from("sid1")]);
//! ```

pub mod cluster;
mod memory;
#[cfg(feature = "metrics")]
mod metrics;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "redis")]
mod redis_common;
#[cfg(feature = "redis")]
pub mod redis_sharded;
#[cfg(feature = "redis")]
pub mod redis_streams;
#[cfg(feature = "redis")]
mod resp;
mod types;

pub mod testing;

pub use memory::MemoryAdapter;
pub use socketio_parser as parser;
pub use types::{
    AckEvent, Adapter, AdapterError, AdapterFactory, BroadcastFlags, BroadcastOptions, ErrorHook, ErrorHooks,
    LocalNamespace, RestoredSession, Room, RoomEvent, SessionState, Sid, SocketInfo,
};
