//! The server-wide observers that extensions register on [`SocketIo`](crate::SocketIo) (engine events,
//! sockets connecting, `socket.data` changing, the data other nodes fetch). Each list answers "nobody
//! listens" with one atomic load, so that the hot paths pay nothing for hooks no one registered.

use crate::Socket;
use socketio_parser::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

/// Observers of one kind.
pub(crate) struct HookList<F: ?Sized> {
    /// Whether `list` holds anything: read first, without the lock.
    set: AtomicBool,
    list: RwLock<Vec<Arc<F>>>,
}

impl<F: ?Sized> Default for HookList<F> {
    fn default() -> Self {
        HookList { set: AtomicBool::new(false), list: RwLock::new(Vec::new()) }
    }
}

impl<F: ?Sized> HookList<F> {
    pub(crate) fn add(&self, hook: Arc<F>) {
        self.list.write().unwrap_or_else(|e| e.into_inner()).push(hook);
        self.set.store(true, Ordering::Release);
    }

    /// Whether any observer was ever added (one atomic load).
    pub(crate) fn is_set(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    /// The observers, or `None` (one atomic load) when there are none. A copy: an observer may register
    /// another one while it runs.
    pub(crate) fn get(&self) -> Option<Vec<Arc<F>>> {
        if !self.set.load(Ordering::Acquire) {
            return None;
        }
        Some(self.list.read().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

pub(crate) type SocketHook = dyn Fn(&Socket) + Send + Sync;
pub(crate) type SocketDisconnectedHook = dyn Fn(&Socket, crate::DisconnectReason) + Send + Sync;
pub(crate) type FetchedDataHook = dyn Fn(&Socket, &mut Value) + Send + Sync;

/// Every server-wide observer of a server.
#[derive(Default)]
pub(crate) struct Hooks {
    /// Extra engine handlers ([`SocketIo::add_engine_handler`](crate::SocketIo::add_engine_handler)).
    pub(crate) engine: HookList<dyn engineio_server::Handler>,
    /// [`SocketIo::on_socket_connected`](crate::SocketIo::on_socket_connected).
    pub(crate) socket_connected: HookList<SocketHook>,
    /// [`SocketIo::on_socket_disconnected`](crate::SocketIo::on_socket_disconnected).
    pub(crate) socket_disconnected: HookList<SocketDisconnectedHook>,
    /// [`SocketIo::on_socket_data`](crate::SocketIo::on_socket_data).
    pub(crate) socket_data: HookList<SocketHook>,
    /// [`SocketIo::on_fetched_data`](crate::SocketIo::on_fetched_data).
    pub(crate) fetched_data: HookList<FetchedDataHook>,
}
