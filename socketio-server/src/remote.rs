//! [`RemoteSocket`]: a socket found by `fetchSockets`, on this node or another, that can be acted on.

use crate::args::{AckError, EmitError, IntoArgs};
use crate::namespace::NsInner;
use crate::operators::BroadcastOperator;
use socketio_adapter::{BroadcastOptions, SocketInfo};
use std::sync::Arc;

/// A socket returned by `fetch_sockets` (the reference's `RemoteSocket`): what is known of it (through
/// `Deref` to [`SocketInfo`]: `id`, `handshake`, `rooms`, `data`), and the operations that reach it
/// wherever it is connected, through the adapter.
///
/// ```no_run
/// # use socketio_server::{ServerConfig, SocketIo};
/// # async fn demo(io: SocketIo) -> Result<(), Box<dyn std::error::Error>> {
/// for socket in io.sockets().to("lobby").fetch_sockets().await? {
///     socket.emit("moved", ("game-1",))?;
///     socket.join("game-1").await?;
///     socket.leave("lobby").await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RemoteSocket {
    info: SocketInfo,
    nsp: Arc<NsInner>,
}

impl std::fmt::Debug for RemoteSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSocket").field("nsp", &self.nsp.name).field("info", &self.info).finish()
    }
}

impl std::ops::Deref for RemoteSocket {
    type Target = SocketInfo;

    fn deref(&self) -> &SocketInfo {
        &self.info
    }
}

impl RemoteSocket {
    pub(crate) fn new(info: SocketInfo, nsp: Arc<NsInner>) -> Self {
        RemoteSocket { info, nsp }
    }

    /// What the adapter reported of the socket.
    pub fn info(&self) -> &SocketInfo {
        &self.info
    }

    /// The socket's `data`, deserialized.
    pub fn data<T: serde::de::DeserializeOwned>(&self) -> Result<T, socketio_parser::ValueError> {
        socketio_parser::from_value(self.info.data.clone())
    }

    /// Targets this socket alone, in its own room.
    fn only(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.nsp.clone(), BroadcastOptions::default()).to(self.info.id.clone())
    }

    /// Emits `event` to the socket.
    pub fn emit(&self, event: &str, args: impl IntoArgs) -> Result<(), EmitError> {
        self.only().emit(event, args)
    }

    /// Makes the socket join `rooms`.
    pub async fn join(&self, rooms: impl crate::IntoRooms) -> Result<(), AckError> {
        self.only().sockets_join(rooms).await
    }

    /// Makes the socket leave `rooms`.
    pub async fn leave(&self, rooms: impl crate::IntoRooms) -> Result<(), AckError> {
        self.only().sockets_leave(rooms).await
    }

    /// Disconnects the socket; with `close`, its whole connection.
    pub async fn disconnect(&self, close: bool) -> Result<(), AckError> {
        self.only().disconnect_sockets(close).await
    }
}
