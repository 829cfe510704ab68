//! The adapter trait and the types that cross it.

use async_trait::async_trait;
use socketio_parser::{Frame, Packet, Str, Value};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// A socket id.
pub type Sid = Str;

/// A room name. Every socket is in the room named after its own id.
pub type Room = Str;

/// How a broadcast is delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BroadcastFlags {
    /// Drop the packet for sockets whose transport cannot take it at once.
    pub volatile: bool,
    /// Whether the transport may compress the packet (default true).
    pub compress: bool,
    /// Only to sockets of this node, even with a cluster adapter.
    pub local: bool,
    /// For broadcasts with acks: how long to wait for the answers.
    pub timeout: Option<Duration>,
}

impl Default for BroadcastFlags {
    fn default() -> Self {
        BroadcastFlags { volatile: false, compress: true, local: false, timeout: None }
    }
}

/// Which sockets a broadcast or a bulk operation targets: the members of `rooms` (every socket of the
/// namespace when empty), minus the members of `except`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastOptions {
    /// Target rooms (a union). Empty means every socket.
    pub rooms: BTreeSet<Room>,
    /// Rooms whose members are left out.
    pub except: BTreeSet<Room>,
    /// Delivery flags.
    pub flags: BroadcastFlags,
}

impl BroadcastOptions {
    /// Adds a target room.
    pub fn to(mut self, room: impl Into<Room>) -> Self {
        self.rooms.insert(room.into());
        self
    }

    /// Adds an excluded room.
    pub fn except(mut self, room: impl Into<Room>) -> Self {
        self.except.insert(room.into());
        self
    }
}

/// What the adapter learns of a socket, for `fetchSockets` (local or from another node).
#[derive(Debug, Clone, PartialEq)]
pub struct SocketInfo {
    /// The socket id.
    pub id: Sid,
    /// The handshake, as the reference serializes it (`headers`, `time`, `address`, `xdomain`, `secure`,
    /// `issued`, `url`, `query`, `auth`).
    pub handshake: Value,
    /// The rooms the socket is in.
    pub rooms: Vec<Room>,
    /// `socket.data`, serialized.
    pub data: Value,
}

/// What connection state recovery keeps of a disconnected socket.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionState {
    /// The socket id, given back on recovery.
    pub sid: Sid,
    /// The private session id the client presents to recover.
    pub pid: Str,
    /// The rooms the socket was in.
    pub rooms: Vec<Room>,
    /// `socket.data`.
    pub data: Value,
}

/// A recovered session: its state and the event packets it missed (each the data array of an EVENT,
/// offset last), in order.
#[derive(Debug, Clone, PartialEq)]
pub struct RestoredSession {
    /// The state at disconnection.
    pub state: SessionState,
    /// The missed events.
    pub missed_packets: Vec<Vec<Value>>,
}

/// What happens to rooms, as the reference adapter emits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomEvent {
    /// A room got its first member (`create-room`).
    Create(Room),
    /// A room lost its last member (`delete-room`).
    Delete(Room),
    /// A socket joined a room (`join-room`).
    Join(Room, Sid),
    /// A socket left a room (`leave-room`).
    Leave(Room, Sid),
}

/// What a broadcast with acks reports, as it happens: how many clients a node reached, and each answer.
#[derive(Debug, Clone, PartialEq)]
pub enum AckEvent {
    /// One node sent the packet to this many of its clients (each node reports once).
    ClientCount(usize),
    /// One client answered.
    Response(Vec<Value>),
}

/// Errors of adapter operations.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// The other nodes did not answer in time.
    #[error("operation has timed out")]
    Timeout,
    /// Some nodes did not answer in time; the answers received so far.
    #[error("timeout reached: only {} responses received out of {expected}", .responses.len())]
    PartialTimeout {
        /// How many answers were expected.
        expected: usize,
        /// The answers received.
        responses: Vec<Value>,
    },
    /// The adapter does not offer this operation (e.g. `serverSideEmit` on a single node).
    #[error("this adapter does not support the {0} functionality")]
    Unsupported(&'static str),
    /// The bus (Redis, Postgres) failed.
    #[error("adapter bus error: {0}")]
    Bus(String),
    /// An event name the protocol reserves (`connect`, `disconnect`, ...).
    #[error("\"{0}\" is a reserved event name")]
    ReservedEvent(String),
}

/// A function told of each error of a cluster adapter's bus (a failed publish, a lost connection, an
/// unreadable message), as the Node adapters emit `error` events. Errors also go to `tracing`.
pub type ErrorHook = Arc<dyn Fn(&AdapterError) + Send + Sync>;

/// The error hooks of one bus. Cloning shares them.
#[derive(Clone, Default)]
pub struct ErrorHooks(Arc<std::sync::RwLock<Vec<ErrorHook>>>);

impl std::fmt::Debug for ErrorHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.read().map(|h| h.len()).unwrap_or(0);
        f.debug_tuple("ErrorHooks").field(&n).finish()
    }
}

impl ErrorHooks {
    /// Adds a hook.
    pub fn add(&self, hook: impl Fn(&AdapterError) + Send + Sync + 'static) {
        self.0.write().unwrap_or_else(|e| e.into_inner()).push(Arc::new(hook));
    }

    /// Logs `error` and hands it to every hook.
    pub fn report(&self, error: AdapterError) {
        tracing::warn!("{error}");
        #[cfg(feature = "metrics")]
        crate::metrics::bus_error();
        let hooks = self.0.read().unwrap_or_else(|e| e.into_inner()).clone();
        for hook in hooks {
            hook(&error);
        }
    }
}

/// The local side of one namespace, implemented by the server for its adapter.
pub trait LocalNamespace: Send + Sync + 'static {
    /// The namespace name.
    fn name(&self) -> &str;

    /// Encodes a packet once, for every local recipient (the frames share their buffers). The frames are
    /// opaque to the adapter: it hands them to [`send`](Self::send) as they are.
    fn encode(&self, packet: &Packet) -> Vec<Frame>;

    /// Writes pre-encoded frames to local socket `sid`; false when there is no such socket or it dropped
    /// the packet (volatile).
    /// `packet` is what `frames` encode (for the socket's outgoing listeners).
    fn send(&self, sid: &Sid, packet: &Packet, frames: &[Frame], flags: &BroadcastFlags) -> bool;

    /// [`send`](Self::send) to each of `sids`; how many took the packet. The default calls `send` for
    /// each; a namespace can do the work common to all recipients once (look its sockets up under one
    /// lock, prepare the frames for its transport once).
    fn send_many(&self, sids: &[Sid], packet: &Packet, frames: &[Frame], flags: &BroadcastFlags) -> usize {
        sids.iter().filter(|sid| self.send(sid, packet, frames, flags)).count()
    }

    /// Like [`send`](Self::send) for a packet carrying ack id `ack_id`: the socket forwards its client's
    /// answer to `acks` as an [`AckEvent::Response`].
    fn send_with_ack(
        &self,
        sid: &Sid,
        packet: &Packet,
        frames: &[Frame],
        flags: &BroadcastFlags,
        ack_id: u64,
        acks: mpsc::UnboundedSender<AckEvent>,
    ) -> bool;

    /// [`send_with_ack`](Self::send_with_ack) to each of `sids`; how many took the packet. The default
    /// calls `send_with_ack` for each; a namespace can do the work common to all recipients once, as
    /// with [`send_many`](Self::send_many).
    fn send_many_with_ack(
        &self,
        sids: &[Sid],
        packet: &Packet,
        frames: &[Frame],
        flags: &BroadcastFlags,
        ack_id: u64,
        acks: &mpsc::UnboundedSender<AckEvent>,
    ) -> usize {
        sids.iter().filter(|sid| self.send_with_ack(sid, packet, frames, flags, ack_id, acks.clone())).count()
    }

    /// A fresh ack id of the namespace.
    fn next_ack_id(&self) -> u64;

    /// Disconnects local socket `sid` (closing the whole connection when `close`).
    fn disconnect(&self, sid: &Sid, close: bool);

    /// Describes local socket `sid`.
    fn socket_info(&self, sid: &Sid) -> Option<SocketInfo>;

    /// With connection state recovery on, how long a disconnected session may be recovered.
    fn recovery_window(&self) -> Option<Duration> {
        None
    }

    /// Delivers a `serverSideEmit` from another node (`[event, ...args]`) to the namespace's listeners;
    /// `ack`, when given, takes the first answer.
    fn server_side_emit(&self, args: Vec<Value>, ack: Option<tokio::sync::oneshot::Sender<Value>>) {
        let _ = (args, ack);
    }
}

/// Room membership and delivery for one namespace.
///
/// Methods that only touch local state are synchronous; those that may need other nodes are async. A
/// single-node adapter answers the async ones at once.
#[async_trait]
pub trait Adapter: Send + Sync + 'static {
    /// Adds socket `sid` to `rooms`.
    fn add_all(&self, sid: &Sid, rooms: &[Room]);

    /// Removes socket `sid` from `room`.
    fn del(&self, sid: &Sid, room: &Room);

    /// Removes socket `sid` from every room.
    fn del_all(&self, sid: &Sid);

    /// The rooms of local socket `sid` (empty when unknown).
    fn socket_rooms(&self, sid: &Sid) -> Vec<Room>;

    /// The local sockets that `opts` targets.
    fn sockets(&self, opts: &BroadcastOptions) -> Vec<Sid>;

    /// Every room of this node.
    fn rooms(&self) -> Vec<Room>;

    /// Sends `packet` to every socket `opts` targets. Synchronous, so consecutive broadcasts keep their
    /// order and cost no task: local sockets get the packet at once; a cluster adapter queues what it
    /// publishes to its bus.
    fn broadcast(&self, packet: Packet, opts: BroadcastOptions) -> Result<(), AdapterError>;

    /// Sends `packet` with an ack id to every socket `opts` targets; reports each node's client count and
    /// every answer to `acks`. Synchronous like [`broadcast`](Self::broadcast).
    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
        acks: mpsc::UnboundedSender<AckEvent>,
    ) -> Result<(), AdapterError>;

    /// How many nodes share this namespace (1 for a single node).
    async fn server_count(&self) -> usize {
        1
    }

    /// Describes every socket `opts` targets, on every node.
    async fn fetch_sockets(&self, opts: BroadcastOptions) -> Result<Vec<SocketInfo>, AdapterError>;

    /// Makes every socket `opts` targets join `rooms`, on every node.
    async fn add_sockets(&self, opts: BroadcastOptions, rooms: Vec<Room>) -> Result<(), AdapterError>;

    /// Makes every socket `opts` targets leave `rooms`, on every node.
    async fn del_sockets(&self, opts: BroadcastOptions, rooms: Vec<Room>) -> Result<(), AdapterError>;

    /// Disconnects every socket `opts` targets, on every node.
    async fn disconnect_sockets(&self, opts: BroadcastOptions, close: bool) -> Result<(), AdapterError>;

    /// Sends an event to the other nodes' namespaces (`serverSideEmit`); a single node has none.
    async fn server_side_emit(&self, args: Vec<Value>) -> Result<(), AdapterError> {
        let _ = args;
        Err(AdapterError::Unsupported("serverSideEmit"))
    }

    /// Sends an event to the other nodes' namespaces and collects one answer from each
    /// (`serverSideEmitWithAck`); fails after the requests timeout, with the answers received so far.
    async fn server_side_emit_with_ack(&self, args: Vec<Value>) -> Result<Vec<Value>, AdapterError> {
        let _ = args;
        Err(AdapterError::Unsupported("serverSideEmit"))
    }

    /// Every room of every node (`allRooms`).
    async fn all_rooms(&self) -> Result<Vec<Room>, AdapterError> {
        Ok(self.rooms())
    }

    /// Resolves once the adapter can reach the other nodes (subscriptions in place). At once for a single
    /// node. The server waits for it (5 s at most) before it tells a namespace's first clients that they
    /// joined, so that a broadcast another node sends them right after reaches them.
    async fn ready(&self) {}

    /// Keeps the state of a socket that disconnected, for connection state recovery.
    fn persist_session(&self, session: SessionState) {
        let _ = session;
    }

    /// Gives back the session `pid` with the events it missed since `offset`, once; `None` when it
    /// expired, is unknown, or the offset is too old.
    async fn restore_session(
        &self,
        pid: &str,
        offset: &str,
    ) -> Result<Option<RestoredSession>, AdapterError> {
        let _ = (pid, offset);
        Ok(None)
    }

    /// Registers a listener of room events (the reference adapter's `create-room`, `join-room`,
    /// `leave-room`, `delete-room`), of this node's sockets: how extensions follow room membership
    /// (e.g. a server's `namespace.adapter()`).
    ///
    /// ```
    /// use socketio_adapter::{Adapter, RoomEvent};
    /// use std::sync::Arc;
    ///
    /// fn log_rooms(adapter: &dyn Adapter) {
    ///     adapter.on_room_event(Arc::new(|event: &RoomEvent| match event {
    ///         RoomEvent::Create(room) => println!("{room:?} opened"),
    ///         RoomEvent::Join(room, sid) => println!("{sid:?} joined {room:?}"),
    ///         RoomEvent::Leave(room, sid) => println!("{sid:?} left {room:?}"),
    ///         RoomEvent::Delete(room) => println!("{room:?} closed"),
    ///     }));
    /// }
    /// ```
    fn on_room_event(&self, listener: Arc<dyn Fn(&RoomEvent) + Send + Sync>);

    /// Called when the namespace goes away.
    async fn close(&self) {}
}

/// Makes the adapter of each namespace.
pub type AdapterFactory = Arc<dyn Fn(Arc<dyn LocalNamespace>) -> Arc<dyn Adapter> + Send + Sync>;

/// `e` followed by each of its causes that its own message does not already include: libraries often
/// put the interesting part (the server's answer, the OS error) in a source that `Display` leaves out.
#[cfg(any(feature = "redis", feature = "postgres"))]
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !cause_text.is_empty() && !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
