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
mod redis_conn;
#[cfg(feature = "redis")]
pub mod redis_sharded;
#[cfg(feature = "redis")]
pub mod redis_streams;
#[cfg(feature = "redis")]
mod resp;
mod types;

pub mod testing;

/// How many messages a bus's publishing queue holds while the bus is slow or down; past it, messages
/// are dropped (and reported through the error hooks) rather than held in memory without bound.
pub(crate) const OUTBOX_LIMIT: usize = 10_000;

/// Reports the failed publications of one batch (`failures` holds the error of each message that
/// failed, `None` for the others) as one error: the count and the first cause, not one report per
/// message.
pub(crate) fn report_failures<'a>(
    errors: &ErrorHooks,
    label: &str,
    failures: impl Iterator<Item = Option<&'a AdapterError>>,
) {
    let (mut failed, mut first) = (0usize, None);
    for failure in failures.flatten() {
        failed += 1;
        first.get_or_insert(failure);
    }
    if let Some(first) = first {
        let cause = match first {
            AdapterError::Bus(cause) => cause.clone(),
            other => other.to_string(),
        };
        let what = if failed == 1 { "1 message".to_string() } else { format!("{failed} messages") };
        errors.report(AdapterError::Bus(format!("{label}: publishing {what} failed: {cause}")));
    }
}

/// Whether a publishing queue is dropping messages, so that an overload is reported once when it
/// starts rather than once per dropped message.
#[derive(Debug, Default)]
pub(crate) struct Overflow(std::sync::atomic::AtomicBool);

impl Overflow {
    /// A message was dropped: true for the first one since the queue last took a message.
    pub(crate) fn dropped(&self) -> bool {
        !self.0.swap(true, std::sync::atomic::Ordering::Relaxed)
    }

    /// The queue took a message.
    pub(crate) fn queued(&self) {
        if self.0.load(std::sync::atomic::Ordering::Relaxed) {
            self.0.store(false, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// The longest wait between two reconnection attempts of a Redis subscriber (the attempts start at
/// 100 ms and double): short, so that cluster delivery resumes within a few seconds of the bus coming back.
#[cfg(feature = "redis")]
pub(crate) const RECONNECT_DELAY_MAX: std::time::Duration = std::time::Duration::from_secs(1);

/// A command connection that reconnects on its own after a loss, its attempts spaced at most
/// [`RECONNECT_DELAY_MAX`] apart (the redis crate's default lets them grow to several seconds).
#[cfg(feature = "redis")]
pub(crate) async fn connection_manager(
    client: ::redis::Client,
) -> ::redis::RedisResult<::redis::aio::ConnectionManager> {
    let config = ::redis::aio::ConnectionManagerConfig::new()
        .set_min_delay(std::time::Duration::from_millis(100))
        .set_max_delay(RECONNECT_DELAY_MAX);
    ::redis::aio::ConnectionManager::new_with_config(client, config).await
}

pub use memory::MemoryAdapter;
pub use socketio_parser as parser;
pub use types::{
    AckEvent, Adapter, AdapterError, AdapterFactory, BroadcastFlags, BroadcastOptions, ErrorHook, ErrorHooks,
    LocalNamespace, RestoredSession, Room, RoomEvent, SessionState, Sid, SocketInfo,
};
