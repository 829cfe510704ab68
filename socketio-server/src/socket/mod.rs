//! [`Socket`]: one client's connection to one namespace.

use crate::args::{AckError, EmitError, IntoArgs};
use crate::client::Client;
use crate::handshake::Handshake;
use crate::namespace::NsInner;
use crate::operators::BroadcastOperator;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use socketio_adapter::{AckEvent, BroadcastFlags, BroadcastOptions, Room, SessionState};
use socketio_parser::{from_args, from_value, to_value, Packet, PacketData, Str, Value};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

mod ack;
mod dispatch;
mod jobs;
mod listeners;
mod reason;
mod rooms;

pub use ack::*;
pub(crate) use jobs::*;
pub use listeners::*;
pub use reason::*;
pub use rooms::*;

pub(crate) struct SocketInner {
    pub(crate) id: Str,
    /// The private session id of connection state recovery.
    pid: Option<Str>,
    recovered: bool,
    pub(crate) nsp: Arc<NsInner>,
    pub(crate) client: Arc<Client>,
    /// The CONNECT packet's `auth` and when the socket connected: what the [`Handshake`] adds to the
    /// engine session's request, which is built from the three on first use (most apps never ask for
    /// the headers, and an idle socket should not hold a second copy of them).
    auth: Value,
    issued: u64,
    handshake: std::sync::OnceLock<Box<Handshake>>,
    pub(crate) connected: AtomicBool,
    /// `true` once the socket has left every room for good (disconnected, or refused by a middleware);
    /// joins and that final leave take this lock, so no room entry outlives the socket.
    left: Mutex<bool>,
    /// Details of why the connection closed, when the engine gave some (the reference's second
    /// `disconnect` argument).
    disconnect_description: Mutex<Option<String>>,
    /// The socket's own listeners, allocated with the first: with handlers registered once per
    /// namespace ([`Namespace::on`](crate::Namespace::on)), most sockets have none.
    own: std::sync::OnceLock<Box<OwnListeners>>,
    pub(crate) acks: Mutex<HashMap<u64, AckTarget>>,
    data: Mutex<Value>,
    extensions: Mutex<http::Extensions>,
    /// Where the socket's next job runs (see [`Jobs`]).
    jobs: Mutex<Jobs>,
    /// `socketio.socket` (`sid`, `nsp`), a child of the engine connection's span: the handler task runs
    /// inside it.
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

/// The listeners registered on one socket (see [`SocketInner::own`]).
#[derive(Default)]
struct OwnListeners {
    handlers: RwLock<HashMap<String, Vec<Listener<EventHandler>>>>,
    any: RwLock<Vec<Listener<AnyHandler>>>,
    any_outgoing: RwLock<Vec<Listener<AnyHandler>>>,
    packet_middlewares: RwLock<Vec<PacketMiddleware>>,
    error_handlers: RwLock<Vec<ErrorHandler>>,
    disconnecting: RwLock<Vec<DisconnectHandler>>,
    disconnect: RwLock<Vec<DisconnectHandler>>,
}

/// One client's connection to one namespace (the reference's server-side `Socket`). Cheap to clone.
#[derive(Clone)]
pub struct Socket(pub(crate) Arc<SocketInner>);

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket").field("id", &self.id()).field("nsp", &self.nsp()).finish()
    }
}

impl PartialEq for Socket {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Socket {
    pub(crate) fn new(
        id: Str,
        pid: Option<Str>,
        recovered: bool,
        nsp: Arc<NsInner>,
        client: Arc<Client>,
        auth: Value,
    ) -> Self {
        #[cfg(feature = "tracing")]
        let span = tracing::info_span!(
            parent: client.conn.span(),
            "socketio.socket",
            sid = %id,
            nsp = %nsp.name
        );
        Socket(Arc::new(SocketInner {
            id,
            pid,
            recovered,
            nsp,
            client,
            auth,
            issued: Handshake::now_ms(),
            handshake: std::sync::OnceLock::new(),
            connected: AtomicBool::new(false),
            left: Mutex::new(false),
            disconnect_description: Mutex::new(None),
            own: std::sync::OnceLock::new(),
            acks: Mutex::new(HashMap::new()),
            data: Mutex::new(Value::Null),
            extensions: Mutex::new(http::Extensions::new()),
            jobs: Mutex::new(Jobs::Idle),
            #[cfg(feature = "tracing")]
            span,
        }))
    }

    /// The socket's `tracing` span (`socketio.socket`, fields `sid` and `nsp`; its parent is the span of
    /// the engine connection). Its handlers run inside it, each event's in a child span
    /// (`socketio.event`, fields `sid`, `nsp` and `event`). Instrument the tasks you spawn for the
    /// socket with it to keep them in context. Feature `tracing`.
    #[cfg(feature = "tracing")]
    pub fn span(&self) -> &tracing::Span {
        &self.0.span
    }

    /// The socket's own listeners, if any was ever registered.
    fn own(&self) -> Option<&OwnListeners> {
        self.0.own.get().map(|own| &**own)
    }

    /// The socket's own listeners, allocated with the first registration.
    fn own_mut(&self) -> &OwnListeners {
        self.0.own.get_or_init(Box::default)
    }

    /// The socket id.
    pub fn id(&self) -> &str {
        &self.0.id
    }

    /// The namespace name.
    pub fn nsp(&self) -> &str {
        &self.0.nsp.name
    }

    /// The namespace.
    pub fn namespace(&self) -> crate::Namespace {
        crate::Namespace(self.0.nsp.clone())
    }

    /// The connection details (Node's `socket.handshake`), built from the engine session's request the
    /// first time they are asked for.
    pub fn handshake(&self) -> &Handshake {
        self.0.handshake.get_or_init(|| {
            Box::new(Handshake::new(self.0.client.conn.request(), self.0.auth.clone(), self.0.issued))
        })
    }

    /// The `auth` payload of the CONNECT packet (`{}` when none): `handshake().auth` without building
    /// the rest of the handshake.
    pub fn auth(&self) -> &Value {
        &self.0.auth
    }

    /// The Engine.IO session under this socket (shared with the client's other namespaces).
    pub fn conn(&self) -> &engineio_server::Socket {
        &self.0.client.conn
    }

    /// The transport in use (`polling` or `websocket`).
    pub fn transport(&self) -> engineio_server::TransportKind {
        self.0.client.conn.transport()
    }

    /// How many acks the server waits for from this socket's client (its own `emit_with_ack`s and
    /// broadcasts with acks); abandoned ones are pruned as new ones come. For monitoring and tests.
    pub fn pending_acks(&self) -> usize {
        self.0.acks.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Once disconnected: details of why, when the transport gave some (e.g. the error of a
    /// `transport error`); the reference's second `disconnect` argument.
    pub fn disconnect_description(&self) -> Option<String> {
        self.0.disconnect_description.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set_disconnect_description(&self, description: Option<&str>) {
        if let Some(description) = description {
            *self.0.disconnect_description.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(description.to_string());
        }
    }

    /// Whether the socket is connected.
    pub fn connected(&self) -> bool {
        self.0.connected.load(Ordering::SeqCst)
    }

    /// Whether the socket was restored by connection state recovery: same id, rooms and data as before
    /// its connection dropped, and the events it missed were sent to it.
    pub fn recovered(&self) -> bool {
        self.0.recovered
    }

    /// The rooms the socket is in (its own id among them).
    pub fn rooms(&self) -> Vec<Room> {
        self.0.nsp.adapter().socket_rooms(&self.0.id)
    }

    /// `socket.data`: serializable data shared with `fetchSockets`, as its untyped value.
    pub fn data_value(&self) -> Value {
        self.0.data.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// `socket.data` as `T` (`None` when unset or of another shape).
    pub fn data<T: DeserializeOwned>(&self) -> Option<T> {
        from_value(self.data_value()).ok()
    }

    pub(crate) fn set_data_value(&self, data: Value) {
        *self.0.data.lock().unwrap_or_else(|e| e.into_inner()) = data;
    }

    /// Sets `socket.data`.
    pub fn set_data<T: Serialize>(&self, data: &T) -> Result<(), socketio_parser::ValueError> {
        *self.0.data.lock().unwrap_or_else(|e| e.into_inner()) = to_value(data)?;
        if let Some(hooks) = self.0.nsp.hooks.socket_data.get() {
            for hook in hooks {
                hook(self);
            }
        }
        Ok(())
    }

    /// Typed per-socket state that never leaves the process (any `Clone + Send + Sync` type).
    pub fn extensions(&self) -> std::sync::MutexGuard<'_, http::Extensions> {
        self.0.extensions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Listens for `event`. The arguments are deserialized into `T` (a tuple, a `Vec<Value>`, or any type
    /// an array of the arguments deserializes to); the handler also gets the ack when the client asked for
    /// one. As JavaScript hands arguments to a listener, a tuple of N takes the first N arguments, a
    /// missing one is `null` (so an `Option` is `None`) and extra ones are ignored. Arguments that still
    /// do not fit `T` (a string where a number is expected) are reported to the socket's `error` listeners
    /// ([`Socket::on_error`]) and `tracing`, and the handler is not called.
    ///
    /// `"disconnect"` and `"disconnecting"` are the lifecycle events, as in Node: their handlers get the
    /// reason (and its description, when there is one) as arguments, like [`Socket::on_disconnect`] and
    /// [`Socket::on_disconnecting`] (and, like those, cannot be removed with [`Socket::off`]).
    ///
    /// ```no_run
    /// # fn f(socket: socketio_server::Socket) {
    /// socket.on("chat message", |socket, (text,): (String,), ack| async move {
    ///     let _ = socket.broadcast().emit("chat message", (text,));
    ///     if let Some(ack) = ack {
    ///         let _ = ack.send(("delivered",));
    ///     }
    /// });
    /// # }
    /// ```
    pub fn on<T, F, Fut>(&self, event: &str, handler: F) -> ListenerId
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(Socket, T, Option<AckSender>) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: HandlerResult,
    {
        self.add_listener(event, handler, false)
    }

    /// Like [`on`](Self::on), for the next `event` only.
    pub fn once<T, F, Fut>(&self, event: &str, handler: F) -> ListenerId
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(Socket, T, Option<AckSender>) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: HandlerResult,
    {
        self.add_listener(event, handler, true)
    }

    fn add_listener<T, F, Fut>(&self, event: &str, handler: F, once: bool) -> ListenerId
    where
        T: DeserializeOwned + Send + 'static,
        F: Fn(Socket, T, Option<AckSender>) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: HandlerResult,
    {
        let f = event_handler(event, handler);
        let id = ListenerId::next();
        if let Some(lifecycle) = lifecycle_list(self.own_mut(), event) {
            lifecycle.write().unwrap_or_else(|e| e.into_inner()).push(as_lifecycle_handler(f));
            return id;
        }
        self.own_mut()
            .handlers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(event.to_string())
            .or_default()
            .push(Listener { id, once, f });
        id
    }

    /// Removes every listener of `event`.
    pub fn off(&self, event: &str) {
        if let Some(own) = self.own() {
            own.handlers.write().unwrap_or_else(|e| e.into_inner()).remove(event);
        }
    }

    /// Removes one listener.
    pub fn off_listener(&self, id: ListenerId) {
        let Some(own) = self.own() else { return };
        let mut handlers = own.handlers.write().unwrap_or_else(|e| e.into_inner());
        for listeners in handlers.values_mut() {
            listeners.retain(|l| l.id != id);
        }
        handlers.retain(|_, l| !l.is_empty());
    }

    /// Removes every event listener.
    pub fn remove_all_listeners(&self) {
        if let Some(own) = self.own() {
            own.handlers.write().unwrap_or_else(|e| e.into_inner()).clear();
        }
    }

    /// How many listeners `event` has.
    pub fn listener_count(&self, event: &str) -> usize {
        self.own().map_or(0, |own| {
            own.handlers.read().unwrap_or_else(|e| e.into_inner()).get(event).map_or(0, Vec::len)
        })
    }

    /// The events that have listeners.
    pub fn event_names(&self) -> Vec<String> {
        self.own()
            .map(|own| own.handlers.read().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Listens for every incoming event (called before the event's own listeners).
    pub fn on_any(&self, handler: impl Fn(&Socket, &str, &[Value]) + Send + Sync + 'static) -> ListenerId {
        push_any(&self.own_mut().any, Arc::new(handler), false)
    }

    /// Like [`on_any`](Self::on_any), called before the catch-all listeners already registered.
    pub fn prepend_any(
        &self,
        handler: impl Fn(&Socket, &str, &[Value]) + Send + Sync + 'static,
    ) -> ListenerId {
        push_any(&self.own_mut().any, Arc::new(handler), true)
    }

    /// Removes one catch-all listener, or all of them with `None`.
    pub fn off_any(&self, id: Option<ListenerId>) {
        if let Some(own) = self.own() {
            off_any(&own.any, id);
        }
    }

    /// How many catch-all listeners there are (`listenersAny().length`).
    pub fn any_listener_count(&self) -> usize {
        self.own().map_or(0, |own| own.any.read().unwrap_or_else(|e| e.into_inner()).len())
    }

    /// Listens for every outgoing event of this socket.
    pub fn on_any_outgoing(
        &self,
        handler: impl Fn(&Socket, &str, &[Value]) + Send + Sync + 'static,
    ) -> ListenerId {
        push_any(&self.own_mut().any_outgoing, Arc::new(handler), false)
    }

    /// Like [`on_any_outgoing`](Self::on_any_outgoing), called first.
    pub fn prepend_any_outgoing(
        &self,
        handler: impl Fn(&Socket, &str, &[Value]) + Send + Sync + 'static,
    ) -> ListenerId {
        push_any(&self.own_mut().any_outgoing, Arc::new(handler), true)
    }

    /// Removes one outgoing catch-all listener, or all of them with `None`.
    pub fn off_any_outgoing(&self, id: Option<ListenerId>) {
        if let Some(own) = self.own() {
            off_any(&own.any_outgoing, id);
        }
    }

    /// How many outgoing catch-all listeners there are.
    pub fn any_outgoing_listener_count(&self) -> usize {
        self.own().map_or(0, |own| own.any_outgoing.read().unwrap_or_else(|e| e.into_inner()).len())
    }

    /// Adds a packet middleware (`socket.use`): an async function that gets every incoming event as
    /// `[name, ...args]` and answers with it (changed or not: `next()`), or refuses it with a
    /// [`SocketError`] (`next(err)`): a refused event reaches no later middleware and no listener, and the
    /// error goes to the socket's [`on_error`](Self::on_error) listeners. The middlewares run in the order
    /// they were added, one after the other; the socket's later events wait for them, so that events
    /// reach the listeners in the order they came, however long a middleware takes.
    ///
    /// ```no_run
    /// use socketio_server::parser::Value;
    /// use socketio_server::SocketError;
    /// # fn f(socket: socketio_server::Socket) {
    /// socket.use_packet_middleware(|socket, packet: Vec<Value>| async move {
    ///     // e.g. a permission looked up in a database
    ///     let allowed = packet[0] != "order:refund" || socket.handshake().auth["role"] == "staff";
    ///     if !allowed {
    ///         return Err(SocketError::new("not allowed").with_data(Value::from("order:refund")));
    ///     }
    ///     Ok(packet)
    /// });
    /// socket.on_error(|_socket, error| eprintln!("{error} ({:?})", error.data));
    /// # }
    /// ```
    pub fn use_packet_middleware<F, Fut>(&self, middleware: F)
    where
        F: Fn(Socket, Vec<Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<Value>, SocketError>> + Send + 'static,
    {
        let middleware: PacketMiddleware =
            Arc::new(move |socket, packet| Box::pin(middleware(socket, packet)));
        self.own_mut().packet_middlewares.write().unwrap_or_else(|e| e.into_inner()).push(middleware);
    }

    /// Listens for the socket's `error` event: refusals by packet middlewares (with their data), failed
    /// handlers, arguments that do not fit a handler.
    pub fn on_error(&self, handler: impl Fn(&Socket, &SocketError) + Send + Sync + 'static) {
        self.own_mut().error_handlers.write().unwrap_or_else(|e| e.into_inner()).push(Arc::new(handler));
    }

    pub(crate) fn report_error(&self, error: &str) {
        self.report(SocketError::new(error));
    }

    fn report(&self, error: SocketError) {
        tracing::warn!(sid = %self.id(), nsp = %self.nsp(), "{error}");
        let handlers = self
            .own()
            .map(|own| own.error_handlers.read().unwrap_or_else(|e| e.into_inner()).clone())
            .unwrap_or_default();
        for handler in handlers {
            handler(self, &error);
        }
    }

    /// Called when the socket is about to disconnect; its rooms are still readable.
    pub fn on_disconnecting<F, Fut>(&self, handler: F)
    where
        F: Fn(Socket, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.own_mut()
            .disconnecting
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::new(move |s, r| Box::pin(handler(s, r))));
    }

    /// Called once the socket disconnected, with the reason.
    pub fn on_disconnect<F, Fut>(&self, handler: F)
    where
        F: Fn(Socket, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.own_mut()
            .disconnect
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::new(move |s, r| Box::pin(handler(s, r))));
    }

    /// Emits `event` to this client.
    ///
    /// As in Node, an emit on a socket that has disconnected does nothing and is not an error (there is
    /// nothing a caller could do about it; [`connected`](Self::connected) tells, where it matters). What
    /// remains an `Err` is a mistake of the caller — a reserved event name, arguments that cannot be
    /// encoded — or an adapter failure (a socket with connection state recovery emits through its
    /// adapter); each is also logged at `warn` level, so that a discarded result (`let _ =`) hides
    /// nothing.
    pub fn emit(&self, event: &str, args: impl IntoArgs) -> Result<(), EmitError> {
        self.emit_with(event, crate::args::encode_args(event, args)?, BroadcastFlags::default(), None)
    }

    /// Emits a `message` event (`socket.send`).
    pub fn send(&self, args: impl IntoArgs) -> Result<(), EmitError> {
        self.emit("message", args)
    }

    /// Emits `event` and waits for the client's ack (no timeout; see [`Socket::timeout`]).
    pub async fn emit_with_ack(&self, event: &str, args: impl IntoArgs) -> Result<Vec<Value>, AckError> {
        SocketEmitter { socket: self.clone(), flags: BroadcastFlags::default() }
            .emit_with_ack(event, args)
            .await
    }

    /// [`emit_with_ack`](Self::emit_with_ack) with the answer read as Node's `emitWithAck` resolves it:
    /// its first argument (`null` when the client answered with none), deserialized into `T`.
    ///
    /// ```no_run
    /// # async fn f(socket: socketio_server::Socket) -> Result<(), socketio_server::AckError> {
    /// // Node: const name = await socket.timeout(1000).emitWithAck("name?");
    /// let name: String =
    ///     socket.timeout(std::time::Duration::from_secs(1)).emit_with_ack_as("name?", ()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn emit_with_ack_as<T: serde::de::DeserializeOwned>(
        &self,
        event: &str,
        args: impl IntoArgs,
    ) -> Result<T, AckError> {
        crate::args::first_arg(self.emit_with_ack(event, args).await?)
    }

    /// Flags for the next emit: an ack timeout.
    pub fn timeout(&self, timeout: Duration) -> SocketEmitter {
        SocketEmitter {
            socket: self.clone(),
            flags: BroadcastFlags { timeout: Some(timeout), ..Default::default() },
        }
    }

    /// Flags for the next emit: volatile (dropped if the transport cannot take it at once).
    pub fn volatile(&self) -> SocketEmitter {
        SocketEmitter { socket: self.clone(), flags: BroadcastFlags { volatile: true, ..Default::default() } }
    }

    /// Flags for the next emit: compression.
    pub fn compress(&self, compress: bool) -> SocketEmitter {
        SocketEmitter { socket: self.clone(), flags: BroadcastFlags { compress, ..Default::default() } }
    }

    fn emit_with(
        &self,
        event: &str,
        args: Vec<Value>,
        flags: BroadcastFlags,
        ack: Option<u64>,
    ) -> Result<(), EmitError> {
        crate::args::check_event(event)?;
        if !self.connected() {
            tracing::debug!(event, "emit on a disconnected socket: dropped");
            return Ok(());
        }
        let mut packet = Packet::event(self.nsp(), event, args);
        packet.id = ack;
        if self.0.nsp.recovery().is_some() {
            // Through the adapter, to the socket's own room, so that the event is kept for recovery (the
            // outgoing listeners hear of it there).
            let opts = BroadcastOptions { flags, ..BroadcastOptions::default() }.to(self.0.id.clone());
            self.0.nsp.adapter().broadcast(packet, opts)?;
        } else {
            self.notify_outgoing(&packet);
            self.packet(&packet, &flags);
        }
        Ok(())
    }

    /// Calls the outgoing catch-all listeners with an event about to be written to this socket (its own
    /// emits and the broadcasts that reach it, as in the reference).
    pub(crate) fn notify_outgoing(&self, packet: &Packet) {
        let listeners = {
            let Some(own) = self.own() else { return };
            let listeners = own.any_outgoing.read().unwrap_or_else(|e| e.into_inner());
            if listeners.is_empty() {
                return;
            }
            listeners.clone()
        };
        let PacketData::Event(data) = &packet.data else { return };
        let Some((name, args)) = data.split_first() else { return };
        let event = name.as_str().unwrap_or_default();
        for listener in listeners {
            (listener.f)(self, event, args);
        }
    }

    /// Writes a packet to this client.
    pub(crate) fn packet(&self, packet: &Packet, flags: &BroadcastFlags) -> bool {
        let frames = self.0.client.encode(packet);
        self.0.client.write(&frames, flags)
    }

    /// Joins rooms (also from a middleware, before the socket is connected). Does nothing once the
    /// socket has disconnected.
    pub fn join(&self, rooms: impl IntoRooms) {
        let left = self.0.left.lock().unwrap_or_else(|e| e.into_inner());
        if !*left {
            self.0.nsp.adapter().add_all(&self.0.id, &rooms.into_rooms());
        }
    }

    /// Leaves every room for good: later joins do nothing.
    pub(crate) fn leave_all_rooms(&self) {
        let mut left = self.0.left.lock().unwrap_or_else(|e| e.into_inner());
        *left = true;
        self.0.nsp.adapter().del_all(&self.0.id);
    }

    /// Leaves a room.
    pub fn leave(&self, room: impl Into<Room>) {
        self.0.nsp.adapter().del(&self.0.id, &room.into());
    }

    /// Targets the sockets in `room` (this one excluded): `socket.to(room).emit(...)`.
    pub fn to(&self, room: impl crate::IntoRooms) -> BroadcastOperator {
        self.broadcast().to(room)
    }

    /// Alias of [`Socket::to`].
    pub fn within(&self, room: impl crate::IntoRooms) -> BroadcastOperator {
        self.to(room)
    }

    /// Targets every socket of the namespace but those in `room` and this one.
    pub fn except(&self, room: impl crate::IntoRooms) -> BroadcastOperator {
        self.broadcast().except(room)
    }

    /// Targets every other socket of the namespace.
    pub fn broadcast(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.0.nsp.clone(), BroadcastOptions::default().except(self.0.id.clone()))
    }

    /// Disconnects the socket from its namespace (the client may reconnect); with `close`, closes the
    /// whole connection (every namespace).
    pub fn disconnect(&self, close: bool) {
        if !self.connected() {
            return;
        }
        if close {
            self.0.client.disconnect_all();
        } else {
            self.packet(&Packet::disconnect(self.nsp()), &BroadcastFlags::default());
            self.on_close(DisconnectReason::ServerNamespaceDisconnect);
        }
    }

    /// Marks the socket connected, joins its own room, answers the CONNECT and runs the connection
    /// handlers.
    pub(crate) fn on_connect(&self, reply: Packet) {
        self.join(self.0.id.clone());
        self.packet(&reply, &BroadcastFlags::default());
    }
}

fn push_any(list: &RwLock<Vec<Listener<AnyHandler>>>, f: AnyHandler, first: bool) -> ListenerId {
    let id = ListenerId::next();
    let mut list = list.write().unwrap_or_else(|e| e.into_inner());
    let listener = Listener { id, once: false, f };
    if first {
        list.insert(0, listener);
    } else {
        list.push(listener);
    }
    id
}

fn off_any(list: &RwLock<Vec<Listener<AnyHandler>>>, id: Option<ListenerId>) {
    let mut list = list.write().unwrap_or_else(|e| e.into_inner());
    match id {
        Some(id) => list.retain(|l| l.id != id),
        None => list.clear(),
    }
}

/// Emits from one socket with flags set ([`Socket::timeout`], [`Socket::volatile`], [`Socket::compress`]).
#[derive(Debug, Clone)]
pub struct SocketEmitter {
    socket: Socket,
    flags: BroadcastFlags,
}

impl SocketEmitter {
    /// Adds a timeout for acks.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.flags.timeout = Some(timeout);
        self
    }

    /// Makes the emit volatile.
    pub fn volatile(mut self) -> Self {
        self.flags.volatile = true;
        self
    }

    /// Sets compression.
    pub fn compress(mut self, compress: bool) -> Self {
        self.flags.compress = compress;
        self
    }

    /// Emits `event`.
    pub fn emit(&self, event: &str, args: impl IntoArgs) -> Result<(), EmitError> {
        self.socket.emit_with(event, crate::args::encode_args(event, args)?, self.flags.clone(), None)
    }

    /// [`emit_with_ack`](Self::emit_with_ack) with the answer's first argument deserialized into `T`
    /// (see [`Socket::emit_with_ack_as`]).
    pub async fn emit_with_ack_as<T: serde::de::DeserializeOwned>(
        &self,
        event: &str,
        args: impl IntoArgs,
    ) -> Result<T, AckError> {
        crate::args::first_arg(self.emit_with_ack(event, args).await?)
    }

    /// Emits `event` and waits for the ack, at most the timeout (error `operation has timed out`).
    pub async fn emit_with_ack(&self, event: &str, args: impl IntoArgs) -> Result<Vec<Value>, AckError> {
        let socket = &self.socket;
        let id = socket.0.nsp.next_id();
        let (tx, rx) = oneshot::channel();
        socket.0.acks.lock().unwrap_or_else(|e| e.into_inner()).insert(id, AckTarget::One(tx));
        // Checked after the ack is registered: a disconnection clears `connected` before it fails the
        // pending acks, so the answer below cannot be missed either way.
        let sent = if socket.connected() {
            crate::args::encode_args(event, args)
                .and_then(|args| socket.emit_with(event, args, self.flags.clone(), Some(id)))
                .map_err(AckError::from)
        } else {
            Err(AckError::Disconnected)
        };
        if let Err(e) = sent {
            socket.0.acks.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
            return Err(e);
        }
        let answer = match self.flags.timeout {
            Some(t) => match tokio::time::timeout(t, rx).await {
                Ok(answer) => answer,
                Err(_) => {
                    socket.0.acks.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
                    return Err(AckError::Timeout(Vec::new()));
                }
            },
            None => rx.await,
        };
        answer.map_err(|_| AckError::Disconnected)
    }
}
