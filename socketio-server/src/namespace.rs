//! [`Namespace`]: a named channel of sockets with its middlewares, connection handlers and adapter.

use crate::operators::BroadcastOperator;
use crate::server::ServerInner;
use crate::socket::{AckTarget, BoxFuture, Socket};
use rustc_hash::FxHashMap;
use socketio_adapter::{
    AckEvent, Adapter, BroadcastFlags, BroadcastOptions, LocalNamespace, RestoredSession, Room, Sid,
    SocketInfo,
};
use socketio_parser::{Frame, Map, Packet, Str, Value};
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock, Weak};
use tokio::sync::mpsc;

/// A middleware refused the connection: the client gets a CONNECT_ERROR with this message and data.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectError {
    /// The message (`err.message`).
    pub message: String,
    /// Extra data for the client (`err.data`).
    pub data: Option<Value>,
}

impl ConnectError {
    /// A refusal with a message.
    pub fn new(message: impl Into<String>) -> Self {
        ConnectError { message: message.into(), data: None }
    }

    /// Adds data for the client.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }
}

/// The answer to a `serverSideEmit` from another node: call [`send`](ServerAck::send) once.
#[derive(Debug)]
pub struct ServerAck(tokio::sync::oneshot::Sender<Value>);

impl ServerAck {
    /// Answers with `value`.
    pub fn send<T: serde::Serialize>(self, value: &T) -> Result<(), socketio_parser::ValueError> {
        let _ = self.0.send(socketio_parser::to_value(value)?);
        Ok(())
    }
}

type ServerEventHandler = Arc<dyn Fn(Vec<Value>, Option<ServerAck>) -> BoxFuture + Send + Sync>;

type Middleware = Arc<
    dyn Fn(Socket) -> std::pin::Pin<Box<dyn Future<Output = Result<(), ConnectError>> + Send>> + Send + Sync,
>;
type ConnectHandler = Arc<dyn Fn(Socket) -> BoxFuture + Send + Sync>;

/// How long the first connections of a namespace wait for its adapter to be ready at most.
const ADAPTER_READY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

pub(crate) struct NsInner {
    pub(crate) name: String,
    pub(crate) server: Weak<ServerInner>,
    /// The server's hooks, reached without upgrading `server` (one atomic load when none is set).
    pub(crate) hooks: Arc<crate::hooks::Hooks>,
    /// By id. The ids are the server's own (random), and every delivery of a broadcast looks one up:
    /// a fast non-keyed hash (FxHash) instead of SipHash.
    sockets: RwLock<FxHashMap<Str, Socket>>,
    adapter: OnceLock<Arc<dyn Adapter>>,
    middlewares: RwLock<Vec<Middleware>>,
    handlers: RwLock<Vec<ConnectHandler>>,
    /// Event handlers every socket of the namespace has ([`Namespace::on`]).
    /// Every incoming event looks its name up here; only the app inserts names, so a non-keyed hash
    /// is safe from collisions a client could provoke.
    events: RwLock<FxHashMap<String, Vec<crate::socket::EventHandler>>>,
    ids: AtomicU64,
    /// For the child of a dynamic namespace: the parent, whose middlewares and handlers apply too.
    parent: OnceLock<Arc<NsInner>>,
    /// For a dynamic (parent) namespace: its children, which its broadcasts and bulk operations reach.
    children: RwLock<Vec<std::sync::Weak<NsInner>>>,
    /// Whether this is a dynamic (parent) namespace: it has no sockets of its own.
    pub(crate) is_parent: std::sync::atomic::AtomicBool,
    /// Whether the adapter was found ready ([`Adapter::ready`]): until then, each connection waits for it.
    adapter_ready: std::sync::atomic::AtomicBool,
    server_events: RwLock<HashMap<String, Vec<ServerEventHandler>>>,
    /// `socketio_sockets{nsp}`, taken from the recorder when the first socket connects.
    #[cfg(feature = "metrics")]
    sockets_gauge: OnceLock<::metrics::Gauge>,
}

impl NsInner {
    pub(crate) fn new(name: String, server: &Arc<ServerInner>) -> Arc<Self> {
        let nsp = Arc::new(NsInner {
            name,
            server: Arc::downgrade(server),
            hooks: server.hooks.clone(),
            sockets: RwLock::new(FxHashMap::default()),
            adapter: OnceLock::new(),
            middlewares: RwLock::new(Vec::new()),
            handlers: RwLock::new(Vec::new()),
            events: RwLock::new(FxHashMap::default()),
            ids: AtomicU64::new(0),
            parent: OnceLock::new(),
            children: RwLock::new(Vec::new()),
            is_parent: std::sync::atomic::AtomicBool::new(false),
            adapter_ready: std::sync::atomic::AtomicBool::new(false),
            server_events: RwLock::new(HashMap::new()),
            #[cfg(feature = "metrics")]
            sockets_gauge: OnceLock::new(),
        });
        let adapter = (server.config.adapter)(nsp.clone() as Arc<dyn LocalNamespace>);
        let _ = nsp.adapter.set(adapter);
        nsp
    }

    /// Makes this namespace a child of dynamic namespace `parent`.
    pub(crate) fn inherit(self: &Arc<Self>, parent: &Arc<NsInner>) {
        let _ = self.parent.set(parent.clone());
        let mut children = parent.children.write().unwrap_or_else(|e| e.into_inner());
        children.retain(|c| c.strong_count() > 0);
        children.push(Arc::downgrade(self));
    }

    /// The namespaces an operation on this one reaches: its children for a dynamic parent (as the
    /// reference's parent namespace broadcasts to every child), else itself.
    pub(crate) fn targets(self: &Arc<Self>) -> Vec<Arc<NsInner>> {
        if self.is_parent.load(Ordering::SeqCst) {
            self.children
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .filter_map(|c| c.upgrade())
                .collect()
        } else {
            vec![self.clone()]
        }
    }

    /// The middlewares to run: the parent's first, then this namespace's.
    fn all_middlewares(&self) -> Vec<Middleware> {
        let mut all = self.parent.get().map(|p| p.all_middlewares()).unwrap_or_default();
        all.extend(self.middlewares.read().unwrap_or_else(|e| e.into_inner()).iter().cloned());
        all
    }

    /// The connection handlers to run: the parent's first, then this namespace's.
    fn all_handlers(&self) -> Vec<ConnectHandler> {
        let mut all = self.parent.get().map(|p| p.all_handlers()).unwrap_or_default();
        all.extend(self.handlers.read().unwrap_or_else(|e| e.into_inner()).iter().cloned());
        all
    }

    /// The namespace-level handlers of `event` (a dynamic child's parent's first).
    pub(crate) fn event_handlers(&self, event: &str) -> smallvec::SmallVec<[crate::socket::EventHandler; 2]> {
        let mut all = self.parent.get().map(|p| p.event_handlers(event)).unwrap_or_default();
        if let Some(own) = self.events.read().unwrap_or_else(|e| e.into_inner()).get(event) {
            all.extend(own.iter().cloned());
        }
        all
    }

    pub(crate) fn adapter(&self) -> &Arc<dyn Adapter> {
        // Set in `new`, before the namespace is shared.
        self.adapter.get().unwrap_or_else(|| unreachable!("namespace adapter is set at creation"))
    }

    /// Resolves once the adapter hears the other nodes ([`Adapter::ready`]: its subscriptions are in
    /// place), or after [`ADAPTER_READY_WAIT`] when its bus does not answer. The first clients of a
    /// namespace wait for it before they are told they joined, so that no broadcast another node sends
    /// them right after is lost; later ones find it ready at once.
    pub(crate) async fn adapter_ready(&self) {
        if self.adapter_ready.load(Ordering::Acquire) {
            return;
        }
        let _ = tokio::time::timeout(ADAPTER_READY_WAIT, self.adapter().ready()).await;
        self.adapter_ready.store(true, Ordering::Release);
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::SeqCst)
    }

    /// How many sockets this node has in the namespace.
    pub(crate) fn socket_count(&self) -> usize {
        self.sockets.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn socket(&self, sid: &str) -> Option<Socket> {
        self.sockets.read().unwrap_or_else(|e| e.into_inner()).get(sid).cloned()
    }

    /// Writes one packet to each of the sockets `sids` that are still here (with `ack`, each one expects
    /// its client's answer to that ack id); how many took it. What is common to the recipients is done
    /// once: the engine messages, and the look-up of the sockets under one read of the map.
    fn write_to_each(
        &self,
        sids: &[Sid],
        packet: &Packet,
        frames: &[Frame],
        flags: &BroadcastFlags,
        ack: Option<(u64, &mpsc::UnboundedSender<AckEvent>)>,
    ) -> usize {
        let messages = crate::client::engine_messages(frames);
        let sockets: Vec<Socket> = {
            let map = self.sockets.read().unwrap_or_else(|e| e.into_inner());
            sids.iter().filter_map(|sid| map.get(sid).cloned()).collect()
        };
        sockets
            .iter()
            .filter(|socket| {
                socket.notify_outgoing(packet);
                if let Some((id, acks)) = ack {
                    crate::socket::expect_ack(&socket.0.acks, id, AckTarget::Broadcast(acks.clone()));
                }
                socket.0.client.write_messages(&messages, flags)
            })
            .count()
    }

    /// Stops routing packets to `socket` (its rooms are left separately, after `disconnecting`).
    pub(crate) fn forget_socket(self: &Arc<Self>, socket: &Socket) {
        let empty = {
            let mut sockets = self.sockets.write().unwrap_or_else(|e| e.into_inner());
            if sockets.get(&socket.0.id).is_some_and(|s| s == socket) {
                sockets.remove(&socket.0.id);
            }
            sockets.is_empty()
        };
        if empty && self.parent.get().is_some() {
            if let Some(server) = self.server.upgrade() {
                if server.config.cleanup_empty_child_namespaces {
                    server.remove_namespace(self);
                }
            }
        }
    }

    /// The gauge of the sockets connected here.
    #[cfg(feature = "metrics")]
    pub(crate) fn sockets_gauge(&self) -> &::metrics::Gauge {
        // A dynamic child counts under its parent's name (`<dynamic #N>`): clients choose children's
        // names, and a label per name would grow the recorder without bound.
        let label = self.parent.get().map_or(self.name.as_str(), |parent| parent.name.as_str());
        self.sockets_gauge.get_or_init(|| crate::metrics::sockets_gauge(label))
    }

    /// The recovery options of the server, when on.
    pub(crate) fn recovery(&self) -> Option<crate::RecoveryConfig> {
        self.server.upgrade().and_then(|s| s.config.connection_state_recovery)
    }

    /// Runs the middlewares (unless a recovered socket may skip them), then connects the socket, gives a
    /// recovered socket back its rooms, data and missed events, and runs the connection handlers.
    pub(crate) async fn add(
        self: Arc<Self>,
        socket: Socket,
        reply: Packet,
        restored: Option<RestoredSession>,
    ) {
        let skip = restored.is_some() && self.recovery().is_some_and(|r| r.skip_middlewares);
        if !skip {
            for middleware in self.all_middlewares() {
                let outcome = std::panic::AssertUnwindSafe(middleware(socket.clone()));
                let refused = match futures_util::FutureExt::catch_unwind(outcome).await {
                    Ok(Ok(())) => None,
                    Ok(Err(e)) => Some(e),
                    // A middleware that panics refuses the socket, telling the client nothing of why.
                    Err(_) => {
                        tracing::warn!(sid = %socket.id(), nsp = %self.name, "a middleware panicked");
                        Some(ConnectError::new("server error"))
                    }
                };
                if let Some(e) = refused {
                    socket.connect_error(&e.message, e.data);
                    // Rooms a middleware joined go with the refused socket.
                    socket.leave_all_rooms();
                    return;
                }
            }
        }
        self.sockets.write().unwrap_or_else(|e| e.into_inner()).insert(socket.0.id.clone(), socket.clone());
        // Connected before the client knows it, so that a connection closing from now on closes it;
        // a connection that closed already takes it back at once.
        socket.0.connected.store(true, std::sync::atomic::Ordering::SeqCst);
        #[cfg(feature = "metrics")]
        self.sockets_gauge().increment(1.0);
        if !socket.0.client.add(&socket) {
            // Unless the socket was closed meanwhile (which counted it out already).
            let _was_connected = socket.0.connected.swap(false, std::sync::atomic::Ordering::SeqCst);
            #[cfg(feature = "metrics")]
            if _was_connected {
                self.sockets_gauge().decrement(1.0);
            }
            self.forget_socket(&socket);
            socket.leave_all_rooms();
            return;
        }
        socket.on_connect(reply);
        if let Some(restored) = restored {
            socket.join(restored.state.rooms);
            socket.set_data_value(restored.state.data);
            for data in restored.missed_packets {
                let packet = Packet {
                    nsp: self.name.clone(),
                    id: None,
                    data: socketio_parser::PacketData::Event(data),
                };
                socket.packet(&packet, &BroadcastFlags::default());
            }
        }
        if let Some(hooks) = self.hooks.socket_connected.get() {
            for hook in hooks {
                hook(&socket);
            }
        }
        for handler in self.all_handlers() {
            socket.run(handler(socket.clone()));
        }
    }
}

impl LocalNamespace for NsInner {
    fn name(&self) -> &str {
        &self.name
    }

    fn encode(&self, packet: &Packet) -> Vec<Frame> {
        match self.server.upgrade() {
            // Frames as the clients write them: encoded once for every recipient.
            Some(server) => crate::client::engine_frames(&*server.parser, packet),
            None => Vec::new(),
        }
    }

    fn send(&self, sid: &Sid, packet: &Packet, frames: &[Frame], flags: &BroadcastFlags) -> bool {
        match self.socket(sid) {
            Some(socket) => {
                socket.notify_outgoing(packet);
                socket.0.client.write(frames, flags)
            }
            None => false,
        }
    }

    fn send_many(&self, sids: &[Sid], packet: &Packet, frames: &[Frame], flags: &BroadcastFlags) -> usize {
        self.write_to_each(sids, packet, frames, flags, None)
    }

    fn send_with_ack(
        &self,
        sid: &Sid,
        packet: &Packet,
        frames: &[Frame],
        flags: &BroadcastFlags,
        ack_id: u64,
        acks: mpsc::UnboundedSender<AckEvent>,
    ) -> bool {
        let Some(socket) = self.socket(sid) else { return false };
        socket.notify_outgoing(packet);
        crate::socket::expect_ack(&socket.0.acks, ack_id, AckTarget::Broadcast(acks));
        socket.0.client.write(frames, flags)
    }

    fn send_many_with_ack(
        &self,
        sids: &[Sid],
        packet: &Packet,
        frames: &[Frame],
        flags: &BroadcastFlags,
        ack_id: u64,
        acks: &mpsc::UnboundedSender<AckEvent>,
    ) -> usize {
        self.write_to_each(sids, packet, frames, flags, Some((ack_id, acks)))
    }

    fn next_ack_id(&self) -> u64 {
        self.next_id()
    }

    fn disconnect(&self, sid: &Sid, close: bool) {
        if let Some(socket) = self.socket(sid) {
            socket.disconnect(close);
        }
    }

    fn server_side_emit(&self, mut args: Vec<Value>, ack: Option<tokio::sync::oneshot::Sender<Value>>) {
        if args.is_empty() {
            return;
        }
        let name = match args.remove(0) {
            Value::String(s) => s,
            other => other.to_string(),
        };
        // A dynamic child hears its parent's listeners too, as it runs its parent's connection handlers.
        let listeners = |nsp: &NsInner| {
            nsp.server_events
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .get(&name)
                .cloned()
                .unwrap_or_default()
        };
        let mut handlers = self.parent.get().map(|p| listeners(p)).unwrap_or_default();
        handlers.extend(listeners(self));
        let mut ack = ack.map(ServerAck);
        for handler in handlers {
            tokio::spawn(handler(args.clone(), ack.take()));
        }
    }

    fn recovery_window(&self) -> Option<std::time::Duration> {
        self.recovery().map(|r| r.max_disconnection_duration)
    }

    fn socket_info(&self, sid: &Sid) -> Option<SocketInfo> {
        let socket = self.socket(sid)?;
        let mut data = socket.data_value();
        if let Some(hooks) = self.hooks.fetched_data.get() {
            for hook in hooks {
                hook(&socket, &mut data);
            }
        }
        Some(SocketInfo {
            id: sid.clone(),
            handshake: socket.handshake().to_value(),
            rooms: socket.rooms(),
            data,
        })
    }
}

/// A namespace (`io.of(name)`). Cheap to clone.
#[derive(Clone)]
pub struct Namespace(pub(crate) Arc<NsInner>);

impl std::fmt::Debug for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Namespace").field(&self.0.name).finish()
    }
}

impl Namespace {
    /// The name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The adapter.
    pub fn adapter(&self) -> Arc<dyn Adapter> {
        self.0.adapter().clone()
    }

    /// Listens for `event` on every socket of the namespace, present and future (and, for a dynamic
    /// namespace, of its children): the same as calling [`Socket::on`] in a connection handler, with the
    /// handler stored once for the namespace instead of once per socket. Each socket runs these handlers
    /// before its own ones of the same event; the first of them gets the ack.
    ///
    /// ```no_run
    /// # fn f(io: socketio_server::SocketIo) {
    /// io.of("/").on("chat message", |socket, (text,): (String,), ack| async move {
    ///     let _ = socket.broadcast().emit("chat message", (text,));
    ///     if let Some(ack) = ack {
    ///         let _ = ack.send(("delivered",));
    ///     }
    /// });
    /// # }
    /// ```
    pub fn on<T, F, Fut>(&self, event: &str, handler: F)
    where
        T: serde::de::DeserializeOwned + Send + 'static,
        F: Fn(Socket, T, Option<crate::AckSender>) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: crate::socket::HandlerResult,
    {
        let handler = crate::socket::event_handler(event, handler);
        self.0
            .events
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(event.to_string())
            .or_default()
            .push(handler);
    }

    /// Runs `handler` for every socket that connects (`connection`).
    pub fn on_connection<F, Fut>(&self, handler: F)
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.0
            .handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::new(move |s| Box::pin(handler(s))));
    }

    /// Adds a middleware, run for every connecting socket before it is connected; an `Err` refuses the
    /// connection with a CONNECT_ERROR carrying its message and data.
    pub fn use_middleware<F, Fut>(&self, middleware: F)
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), ConnectError>> + Send + 'static,
    {
        self.0
            .middlewares
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::new(move |s| Box::pin(middleware(s))));
    }

    /// The connected sockets of this node.
    pub fn sockets(&self) -> Vec<Socket> {
        self.0.sockets.read().unwrap_or_else(|e| e.into_inner()).values().cloned().collect()
    }

    /// The connected socket with id `sid`, on this node.
    pub fn socket(&self, sid: &str) -> Option<Socket> {
        self.0.socket(sid)
    }

    /// How many sockets this node has in the namespace (as `sockets().len()`, without the copy).
    pub fn socket_count(&self) -> usize {
        self.0.socket_count()
    }

    fn operator(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.0.clone(), BroadcastOptions::default())
    }

    /// Targets the sockets in `room`.
    pub fn to(&self, room: impl crate::IntoRooms) -> BroadcastOperator {
        self.operator().to(room)
    }

    /// Alias of [`Namespace::to`].
    pub fn within(&self, room: impl crate::IntoRooms) -> BroadcastOperator {
        self.to(room)
    }

    /// Targets every socket but those in `room`.
    pub fn except(&self, room: impl crate::IntoRooms) -> BroadcastOperator {
        self.operator().except(room)
    }

    /// Every socket, volatile.
    pub fn volatile(&self) -> BroadcastOperator {
        self.operator().volatile()
    }

    /// Every socket of this node.
    pub fn local(&self) -> BroadcastOperator {
        self.operator().local()
    }

    /// Every socket, with an ack timeout.
    pub fn timeout(&self, timeout: std::time::Duration) -> BroadcastOperator {
        self.operator().timeout(timeout)
    }

    /// Every socket, with compression set.
    pub fn compress(&self, compress: bool) -> BroadcastOperator {
        self.operator().compress(compress)
    }

    /// Emits to every socket of the namespace.
    pub fn emit(&self, event: &str, args: impl crate::IntoArgs) -> Result<(), crate::EmitError> {
        self.operator().emit(event, args)
    }

    /// Every socket of the namespace, on every node (`fetchSockets`).
    pub async fn fetch_sockets(&self) -> Result<Vec<crate::RemoteSocket>, crate::AckError> {
        self.operator().fetch_sockets().await
    }

    /// Makes every socket join `rooms`.
    pub async fn sockets_join(&self, rooms: impl crate::IntoRooms) -> Result<(), crate::AckError> {
        self.operator().sockets_join(rooms).await
    }

    /// Makes every socket leave `rooms`.
    pub async fn sockets_leave(&self, rooms: impl crate::IntoRooms) -> Result<(), crate::AckError> {
        self.operator().sockets_leave(rooms).await
    }

    /// Disconnects every socket.
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), crate::AckError> {
        self.operator().disconnect_sockets(close).await
    }

    /// Listens for `event` sent by other nodes with `serverSideEmit`; the handler gets the arguments and,
    /// when the sender waits for answers, a [`ServerAck`].
    pub fn on_server_event<F, Fut>(&self, event: &str, handler: F)
    where
        F: Fn(Vec<Value>, Option<ServerAck>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.0
            .server_events
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(event.to_string())
            .or_default()
            .push(Arc::new(move |args, ack| Box::pin(handler(args, ack))));
    }

    /// Sends an event to the other nodes and collects one answer from each (`serverSideEmitWithAck`).
    pub async fn server_side_emit_with_ack(
        &self,
        event: &str,
        args: impl crate::IntoArgs,
    ) -> Result<Vec<Value>, crate::AckError> {
        if socketio_parser::RESERVED_EVENTS.contains(&event) {
            return Err(crate::EmitError::Reserved(event.to_string()).into());
        }
        let mut all = vec![Value::from(event)];
        all.extend(args.into_args()?);
        Ok(self.0.adapter().server_side_emit_with_ack(all).await?)
    }

    /// Every room, on every node (`allRooms`).
    pub async fn all_rooms(&self) -> Result<Vec<Room>, crate::AckError> {
        Ok(self.0.adapter().all_rooms().await?)
    }

    /// Sends an event to the other nodes of the cluster (`serverSideEmit`).
    pub async fn server_side_emit(
        &self,
        event: &str,
        args: impl crate::IntoArgs,
    ) -> Result<(), crate::EmitError> {
        if socketio_parser::RESERVED_EVENTS.contains(&event) {
            return Err(crate::EmitError::Reserved(event.to_string()));
        }
        let mut all = vec![Value::from(event)];
        all.extend(args.into_args()?);
        Ok(self.0.adapter().server_side_emit(all).await?)
    }
}

/// The CONNECT answer of protocol v5: `{sid}`, and `pid` with connection state recovery on.
pub(crate) fn connect_reply(nsp: &str, sid: &str, pid: Option<&str>) -> Packet {
    let mut data = Map::new();
    data.insert("sid".into(), Value::from(sid));
    if let Some(pid) = pid {
        data.insert("pid".into(), Value::from(pid));
    }
    Packet::connect(nsp, Some(Value::Object(data)))
}
