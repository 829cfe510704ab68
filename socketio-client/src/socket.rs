//! A socket: one namespace on a [`Manager`]'s connection, with events, acknowledgements both ways,
//! buffering while disconnected and connection state recovery.

use crate::error::{AckError, ConnectError, EmitError};
use crate::manager::Manager;
use serde::de::DeserializeOwned;
use socketio_parser::{from_args, IntoArgs, Packet, PacketData, Value, ValueError, RESERVED_EVENTS};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;
use tokio::sync::{oneshot, watch};

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// What a socket sends in its CONNECT packet.
#[derive(Clone, Default)]
pub enum Auth {
    /// Nothing.
    #[default]
    None,
    /// The same value each time.
    Static(Value),
    /// A function called at each (re)connection.
    Dynamic(Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Value> + Send>> + Send + Sync>),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("Auth::None"),
            Auth::Static(v) => f.debug_tuple("Auth::Static").field(v).finish(),
            Auth::Dynamic(_) => f.write_str("Auth::Dynamic(..)"),
        }
    }
}

/// Options of one socket.
#[derive(Debug, Clone, Default)]
pub struct SocketOptions {
    /// The CONNECT payload.
    pub auth: Auth,
    /// The timeout of every `emit_with_ack` that sets none (`ackTimeout`).
    pub ack_timeout: Option<Duration>,
    /// With `ack_timeout`: how many times an emit is sent again when its acknowledgement does not come
    /// (`retries`). Emits then go one at a time through a queue, each waiting for the server's
    /// acknowledgement (plain emits too): at-least-once delivery, in order.
    pub retries: Option<u32>,
}

/// An event received from the server.
#[derive(Debug)]
pub struct Event {
    /// Its name.
    pub name: String,
    /// Its arguments (binary as [`Value::Binary`]).
    pub args: Vec<Value>,
    ack: Option<AckSender>,
}

impl Event {
    /// The arguments as a tuple (or anything that deserializes from their array). As in JavaScript, a
    /// tuple of N takes the first N arguments, a missing one is `null` (`None` for an `Option`), and
    /// extra ones are ignored (see [`socketio_parser::from_args`]).
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ValueError> {
        from_args(self.args.clone())
    }

    /// Whether the server waits for an answer.
    pub fn wants_ack(&self) -> bool {
        self.ack.is_some()
    }

    /// Takes the acknowledgement to answer the server with.
    pub fn take_ack(&mut self) -> Option<AckSender> {
        self.ack.take()
    }

    /// Answers the server (once; nothing happens when it did not ask).
    pub fn ack(&mut self, args: impl IntoArgs) -> Result<(), EmitError> {
        match self.ack.take() {
            Some(ack) => ack.send(args),
            None => Ok(()),
        }
    }
}

/// Answers one event the server sent with an ack id.
#[derive(Debug)]
pub struct AckSender {
    socket: Weak<SocketInner>,
    id: u64,
}

impl AckSender {
    /// Sends the answer.
    pub fn send(self, args: impl IntoArgs) -> Result<(), EmitError> {
        let args = args.into_args()?;
        if let Some(socket) = self.socket.upgrade() {
            let socket = Socket(socket);
            socket.manager().send_packet(&Packet::ack(socket.0.nsp.clone(), self.id, args));
        }
        Ok(())
    }
}

type EventHandler = Arc<dyn Fn(Socket, Event) -> BoxFuture + Send + Sync>;
type AnyHandler = Arc<dyn Fn(&str, &[Value]) + Send + Sync>;
type ConnectHandler = Arc<dyn Fn(Socket) -> BoxFuture + Send + Sync>;
type ErrorHandler = Arc<dyn Fn(Socket, ConnectError) -> BoxFuture + Send + Sync>;
type DisconnectHandler = Arc<dyn Fn(Socket, String, Option<String>) -> BoxFuture + Send + Sync>;

#[derive(Default)]
struct Handlers {
    events: HashMap<String, Vec<(u64, EventHandler, bool)>>,
    any: Vec<(u64, AnyHandler)>,
    any_outgoing: Vec<(u64, AnyHandler)>,
    connect: Vec<ConnectHandler>,
    connect_error: Vec<ErrorHandler>,
    disconnect: Vec<DisconnectHandler>,
    next_id: u64,
}

/// What the socket's dispatcher hands to the handlers, in order.
enum Dispatch {
    Connect,
    ConnectError(ConnectError),
    Disconnect(String, Option<String>),
    Event(Event),
}

/// The connection state a socket observes.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Not connected.
    Disconnected,
    /// Connected with this id.
    Connected(String),
    /// Refused (or the server unreachable): the error.
    Failed(ConnectError),
}

struct State {
    /// Wants to be connected (reconnects with the manager).
    active: bool,
    connected: bool,
    id: Option<String>,
    pid: Option<String>,
    last_offset: Option<String>,
    recovered: bool,
    next_ack: u64,
    acks: HashMap<u64, oneshot::Sender<Result<Vec<Value>, AckError>>>,
    /// Packets emitted while disconnected, sent on connection.
    send_buffer: Vec<Packet>,
    /// Events received before the CONNECT packet, handled on connection.
    receive_buffer: Vec<Event>,
}

pub(crate) struct SocketInner {
    nsp: String,
    manager: Manager,
    options: SocketOptions,
    state: Mutex<State>,
    handlers: RwLock<Handlers>,
    dispatch: crate::queue::Sender<Dispatch>,
    status: watch::Sender<Status>,
    /// The queue of emits with retries: the ticket the next emit takes, and the one being served.
    next_ticket: std::sync::atomic::AtomicU64,
    /// Made on the first emit with retries (most sockets never have one).
    serving: std::sync::OnceLock<watch::Sender<u64>>,
}

/// A socket of one namespace. Cloning shares it.
#[derive(Clone)]
pub struct Socket(pub(crate) Arc<SocketInner>);

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket").field("nsp", &self.0.nsp).field("id", &self.id()).finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Socket {
    pub(crate) fn new(manager: Manager, nsp: &str, options: SocketOptions) -> Socket {
        let (dispatch, queue) = crate::queue::unbounded();
        let inner = Arc::new(SocketInner {
            nsp: nsp.to_string(),
            manager,
            options,
            state: Mutex::new(State {
                active: false,
                connected: false,
                id: None,
                pid: None,
                last_offset: None,
                recovered: false,
                next_ack: 0,
                acks: HashMap::new(),
                send_buffer: Vec::new(),
                receive_buffer: Vec::new(),
            }),
            handlers: RwLock::new(Handlers::default()),
            dispatch,
            status: watch::Sender::new(Status::Disconnected),
            next_ticket: std::sync::atomic::AtomicU64::new(0),
            serving: std::sync::OnceLock::new(),
        });
        tokio::spawn(dispatcher(Arc::downgrade(&inner), queue));
        Socket(inner)
    }

    /// The namespace.
    pub fn nsp(&self) -> &str {
        &self.0.nsp
    }

    /// The manager (the connection).
    pub fn manager(&self) -> &Manager {
        &self.0.manager
    }

    /// The id the server gave, while connected.
    pub fn id(&self) -> Option<String> {
        let state = lock(&self.0.state);
        state.connected.then(|| state.id.clone()).flatten()
    }

    /// Whether connected.
    pub fn connected(&self) -> bool {
        lock(&self.0.state).connected
    }

    /// Whether the socket wants to be connected (it reconnects with the manager).
    pub fn active(&self) -> bool {
        lock(&self.0.state).active
    }

    /// Whether the last connection recovered the previous session (connection state recovery).
    pub fn recovered(&self) -> bool {
        lock(&self.0.state).recovered
    }

    /// The connection state, to await changes (`changed()`).
    pub fn status(&self) -> watch::Receiver<Status> {
        self.0.status.subscribe()
    }

    /// Starts connecting (opening the manager's connection if needed) and resolves with the outcome of
    /// this attempt: connected, or the `connect_error`. The socket goes on reconnecting with the manager
    /// after a lost connection either way, unless the server refused it.
    pub async fn connect(&self) -> Result<(), ConnectError> {
        let mut status = self.status();
        if let Status::Connected(_) = *status.borrow_and_update() {
            return Ok(());
        }
        self.open();
        loop {
            if status.changed().await.is_err() {
                return Err(ConnectError { message: "socket dropped".into(), data: None });
            }
            match status.borrow_and_update().clone() {
                Status::Connected(_) => return Ok(()),
                Status::Failed(e) => return Err(e),
                Status::Disconnected => {}
            }
        }
    }

    /// Starts connecting without waiting (`autoConnect`).
    pub fn open(&self) {
        {
            let mut state = lock(&self.0.state);
            if state.active {
                // Connected, or an attempt is under way (the manager reconnects it).
                return;
            }
            state.active = true;
        }
        let manager = self.manager().clone();
        // Registered again if the manager forgot it (after a disconnect).
        manager.0.register(self);
        if manager.is_open() {
            tokio::spawn({
                let socket = self.clone();
                async move { socket.send_connect().await }
            });
        } else {
            manager.open();
        }
    }

    /// The same as [`Socket::disconnect`] (`socket.close()`).
    pub fn close(&self) {
        self.disconnect();
    }

    /// Disconnects (`io client disconnect`): the server is told, and there is no reconnection.
    pub fn disconnect(&self) {
        let was_connected = {
            let mut state = lock(&self.0.state);
            state.active = false;
            state.connected
        };
        if was_connected {
            self.manager().send_packet(&Packet::disconnect(self.0.nsp.clone()));
        }
        self.on_close("io client disconnect", None);
        self.manager().destroy(&self.0.nsp);
    }

    /// Registers a handler of event `name`. Gives an id for [`Socket::off`].
    ///
    /// `"connect"`, `"connect_error"` and `"disconnect"` are the lifecycle events, as in
    /// socket.io-client: their handlers get no arguments, the error (`{message, data}`), and the reason
    /// (then its details, when there are some), like [`Socket::on_connect`], [`Socket::on_connect_error`]
    /// and [`Socket::on_disconnect_with_details`] (and, like those, are not removed by [`Socket::off`]).
    ///
    /// Handlers run as in socket.io-client: every handler of the socket (events, connect,
    /// connect_error, disconnect) is started in the order its event arrived, and the part of it before
    /// its first `.await` runs in that order, before the next event's handlers start. From its first
    /// `.await` on, a handler runs alongside the others: awaiting an ack that never comes holds back
    /// no other event. A handler that panics is reported (through `tracing`) and the socket goes on.
    pub fn on<F, Fut>(&self, name: &str, handler: F) -> u64
    where
        F: Fn(Socket, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.add_handler(name, handler, false)
    }

    /// Like [`Socket::on`], for the next event only.
    pub fn once<F, Fut>(&self, name: &str, handler: F) -> u64
    where
        F: Fn(Socket, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.add_handler(name, handler, true)
    }

    fn add_handler<F, Fut>(&self, name: &str, handler: F, once: bool) -> u64
    where
        F: Fn(Socket, Event) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut handlers = self.0.handlers.write().unwrap_or_else(|e| e.into_inner());
        handlers.next_id += 1;
        let id = handlers.next_id;
        let handler: EventHandler = Arc::new(move |s, e| Box::pin(handler(s, e)));
        // As in socket.io-client, the lifecycle events are events of the socket like any other.
        let event = |name: &str, args: Vec<Value>| Event { name: name.to_string(), args, ack: None };
        match name {
            "connect" => {
                let h = handler.clone();
                handlers.connect.push(Arc::new(move |s| h(s, event("connect", Vec::new()))));
            }
            "connect_error" => {
                let h = handler.clone();
                handlers.connect_error.push(Arc::new(move |s, e: ConnectError| {
                    let mut error = socketio_parser::Map::new();
                    error.insert("message".into(), Value::from(e.message.as_str()));
                    error.insert("data".into(), e.data.unwrap_or(Value::Null));
                    h(s, event("connect_error", vec![Value::Object(error)]))
                }));
            }
            "disconnect" => {
                let h = handler.clone();
                handlers.disconnect.push(Arc::new(move |s, reason, details| {
                    let mut args = vec![Value::from(reason)];
                    args.extend(details.map(Value::from));
                    h(s, event("disconnect", args))
                }));
            }
            _ => handlers.events.entry(name.to_string()).or_default().push((id, handler, once)),
        }
        id
    }

    /// Removes the handler `id` (from [`Socket::on`], [`Socket::on_any`], ...), or every handler of
    /// event `name` when `id` is `None`.
    pub fn off(&self, name: &str, id: Option<u64>) {
        let mut handlers = self.0.handlers.write().unwrap_or_else(|e| e.into_inner());
        match id {
            None => {
                handlers.events.remove(name);
            }
            Some(id) => {
                if let Some(list) = handlers.events.get_mut(name) {
                    list.retain(|(i, _, _)| *i != id);
                }
            }
        }
    }

    /// Calls `listener` with every incoming event (before its handlers). Gives an id for
    /// [`Socket::off_any`].
    pub fn on_any(&self, listener: impl Fn(&str, &[Value]) + Send + Sync + 'static) -> u64 {
        self.add_any(listener, false, false)
    }

    /// Like [`Socket::on_any`], called before the listeners already there.
    pub fn prepend_any(&self, listener: impl Fn(&str, &[Value]) + Send + Sync + 'static) -> u64 {
        self.add_any(listener, true, false)
    }

    /// Calls `listener` with every outgoing event.
    pub fn on_any_outgoing(&self, listener: impl Fn(&str, &[Value]) + Send + Sync + 'static) -> u64 {
        self.add_any(listener, false, true)
    }

    /// Like [`Socket::on_any_outgoing`], called before the listeners already there.
    pub fn prepend_any_outgoing(&self, listener: impl Fn(&str, &[Value]) + Send + Sync + 'static) -> u64 {
        self.add_any(listener, true, true)
    }

    fn add_any(
        &self,
        listener: impl Fn(&str, &[Value]) + Send + Sync + 'static,
        first: bool,
        outgoing: bool,
    ) -> u64 {
        let mut handlers = self.0.handlers.write().unwrap_or_else(|e| e.into_inner());
        handlers.next_id += 1;
        let id = handlers.next_id;
        let list = if outgoing { &mut handlers.any_outgoing } else { &mut handlers.any };
        let entry: (u64, AnyHandler) = (id, Arc::new(listener));
        if first {
            list.insert(0, entry);
        } else {
            list.push(entry);
        }
        id
    }

    /// Removes a catch-all listener (incoming), or all of them with `None`.
    pub fn off_any(&self, id: Option<u64>) {
        let mut handlers = self.0.handlers.write().unwrap_or_else(|e| e.into_inner());
        match id {
            Some(id) => handlers.any.retain(|(i, _)| *i != id),
            None => handlers.any.clear(),
        }
    }

    /// Removes an outgoing catch-all listener, or all of them with `None`.
    pub fn off_any_outgoing(&self, id: Option<u64>) {
        let mut handlers = self.0.handlers.write().unwrap_or_else(|e| e.into_inner());
        match id {
            Some(id) => handlers.any_outgoing.retain(|(i, _)| *i != id),
            None => handlers.any_outgoing.clear(),
        }
    }

    /// Called on each connection (`connect`).
    pub fn on_connect<F, Fut>(&self, handler: F)
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: ConnectHandler = Arc::new(move |s| Box::pin(handler(s)));
        self.0.handlers.write().unwrap_or_else(|e| e.into_inner()).connect.push(handler);
    }

    /// Called when a connection fails (`connect_error`): the server's message and data, or the manager's
    /// failure to reach the server.
    pub fn on_connect_error<F, Fut>(&self, handler: F)
    where
        F: Fn(Socket, ConnectError) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: ErrorHandler = Arc::new(move |s, e| Box::pin(handler(s, e)));
        self.0.handlers.write().unwrap_or_else(|e| e.into_inner()).connect_error.push(handler);
    }

    /// Called on each disconnection (`disconnect`), with the reason (`io server disconnect`,
    /// `io client disconnect`, `transport close`, `ping timeout`, ...).
    pub fn on_disconnect<F, Fut>(&self, handler: F)
    where
        F: Fn(Socket, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: DisconnectHandler = Arc::new(move |s, r, _| Box::pin(handler(s, r)));
        self.0.handlers.write().unwrap_or_else(|e| e.into_inner()).disconnect.push(handler);
    }

    /// Like [`Socket::on_disconnect`], with the details of the reason when there are some (what
    /// failed, for `transport error`), as the JS client's second `disconnect` argument.
    pub fn on_disconnect_with_details<F, Fut>(&self, handler: F)
    where
        F: Fn(Socket, String, Option<String>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: DisconnectHandler = Arc::new(move |s, r, d| Box::pin(handler(s, r, d)));
        self.0.handlers.write().unwrap_or_else(|e| e.into_inner()).disconnect.push(handler);
    }

    /// Emits an event (buffered while disconnected, sent on connection).
    pub fn emit(&self, name: &str, args: impl IntoArgs) -> Result<(), EmitError> {
        self.emitter().emit(name, args)
    }

    /// Emits an event and gives the server's answer (with the socket's `ack_timeout`, if set). The
    /// packet goes out (or into the buffer or the retry queue) at the call, before the first poll.
    pub fn emit_with_ack(
        &self,
        name: &str,
        args: impl IntoArgs,
    ) -> impl Future<Output = Result<Vec<Value>, AckError>> + Send + 'static {
        self.emitter().emit_with_ack(name, args)
    }

    /// Sends a `message` event (`send`).
    pub fn send(&self, args: impl IntoArgs) -> Result<(), EmitError> {
        self.emit("message", args)
    }

    /// An emit that waits at most `timeout` for its acknowledgement.
    pub fn timeout(&self, timeout: Duration) -> Emitter {
        Emitter { timeout: Some(timeout), ..self.emitter() }
    }

    /// An emit that is dropped if the socket is not connected (not buffered).
    pub fn volatile(&self) -> Emitter {
        Emitter { volatile: true, ..self.emitter() }
    }

    /// An emit with the compression flag (kept for API parity; frames are not compressed).
    pub fn compress(&self, compress: bool) -> Emitter {
        Emitter { compress, ..self.emitter() }
    }

    fn emitter(&self) -> Emitter {
        Emitter { socket: self.clone(), timeout: self.0.options.ack_timeout, volatile: false, compress: true }
    }

    // What the manager tells the socket.

    pub(crate) fn on_open(&self) {
        if !self.active() {
            return;
        }
        let socket = self.clone();
        tokio::spawn(async move { socket.send_connect().await });
    }

    async fn send_connect(&self) {
        let auth = match &self.0.options.auth {
            Auth::None => None,
            Auth::Static(v) => Some(v.clone()),
            Auth::Dynamic(f) => Some(f().await),
        };
        let data = {
            let state = lock(&self.0.state);
            match &state.pid {
                Some(pid) => {
                    let mut map = match auth {
                        Some(Value::Object(map)) => map,
                        _ => socketio_parser::Map::new(),
                    };
                    map.insert("pid".into(), Value::from(pid.as_str()));
                    if let Some(offset) = &state.last_offset {
                        map.insert("offset".into(), Value::from(offset.as_str()));
                    }
                    Some(Value::Object(map))
                }
                None => auth,
            }
        };
        self.manager().send_packet(&Packet::connect(self.0.nsp.clone(), data));
    }

    pub(crate) fn on_manager_error(&self, message: &str) {
        if self.connected() || !self.active() {
            return;
        }
        let error = ConnectError { message: message.to_string(), data: None };
        self.0.status.send_replace(Status::Failed(error.clone()));
        let _ = self.0.dispatch.send(Dispatch::ConnectError(error));
    }

    /// Hands an event to the handlers, noting its offset when the session is recoverable.
    fn deliver(&self, event: Event) {
        {
            let mut state = lock(&self.0.state);
            if state.pid.is_some() {
                if let Some(Value::String(offset)) = event.args.last() {
                    state.last_offset = Some(offset.clone());
                }
            }
        }
        let _ = self.0.dispatch.send(Dispatch::Event(event));
    }

    pub(crate) fn on_packet(&self, packet: Packet) {
        match packet.data {
            PacketData::Connect(data) => {
                let data = data.unwrap_or_default();
                let Some(sid) = data.get("sid").and_then(Value::as_str).map(str::to_owned) else { return };
                let pid = data.get("pid").and_then(Value::as_str).map(str::to_owned);
                let buffered = {
                    let mut state = lock(&self.0.state);
                    state.recovered = pid.is_some() && state.pid == pid;
                    state.pid = pid;
                    state.id = Some(sid.clone());
                    state.connected = true;
                    (std::mem::take(&mut state.receive_buffer), std::mem::take(&mut state.send_buffer))
                };
                // Events that came before the CONNECT (a recovered session's missed packets) are
                // handled first, then the emits buffered while disconnected go out, then `connect`.
                for event in buffered.0 {
                    self.deliver(event);
                }
                for packet in &buffered.1 {
                    self.manager().send_packet(packet);
                }
                self.0.status.send_replace(Status::Connected(sid));
                let _ = self.0.dispatch.send(Dispatch::Connect);
            }
            PacketData::ConnectError(data) => {
                let message = data.get("message").and_then(Value::as_str).unwrap_or("").to_string();
                let error = ConnectError { message, data: data.get("data").cloned() };
                lock(&self.0.state).active = false;
                self.manager().destroy(&self.0.nsp);
                self.0.status.send_replace(Status::Failed(error.clone()));
                let _ = self.0.dispatch.send(Dispatch::ConnectError(error));
            }
            PacketData::Disconnect => {
                lock(&self.0.state).active = false;
                self.on_close("io server disconnect", None);
                self.manager().destroy(&self.0.nsp);
            }
            PacketData::Event(args) => {
                let Some((Value::String(name), rest)) =
                    args.split_first().map(|(n, r)| (n.clone(), r.to_vec()))
                else {
                    return;
                };
                let ack = packet.id.map(|id| AckSender { socket: Arc::downgrade(&self.0), id });
                let event = Event { name, args: rest, ack };
                {
                    let mut state = lock(&self.0.state);
                    if !state.connected {
                        // The Node server sends a recovered session's missed packets before the CONNECT.
                        state.receive_buffer.push(event);
                        return;
                    }
                }
                self.deliver(event);
            }
            PacketData::Ack(args) => {
                let Some(id) = packet.id else { return };
                let waiter = lock(&self.0.state).acks.remove(&id);
                if let Some(waiter) = waiter {
                    let _ = waiter.send(Ok(args));
                }
            }
        }
    }

    /// The connection of this socket ended (the manager's closed, or the server or the user
    /// disconnected it): pending acks fail, handlers hear the reason.
    pub(crate) fn on_close(&self, reason: &str, details: Option<&str>) {
        let acks = {
            let mut state = lock(&self.0.state);
            if !state.connected {
                return;
            }
            state.connected = false;
            let buffered: Vec<u64> = state.send_buffer.iter().filter_map(|p| p.id).collect();
            let ids: Vec<u64> = state.acks.keys().filter(|id| !buffered.contains(id)).copied().collect();
            ids.into_iter().filter_map(|id| state.acks.remove(&id)).collect::<Vec<_>>()
        };
        for ack in acks {
            let _ = ack.send(Err(AckError::Disconnected));
        }
        self.0.status.send_replace(Status::Disconnected);
        let _ = self.0.dispatch.send(Dispatch::Disconnect(reason.to_string(), details.map(str::to_owned)));
    }
}

/// An emit with flags: [`Socket::timeout`], [`Socket::volatile`], [`Socket::compress`].
#[derive(Clone)]
pub struct Emitter {
    socket: Socket,
    timeout: Option<Duration>,
    volatile: bool,
    compress: bool,
}

impl std::fmt::Debug for Emitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter")
            .field("timeout", &self.timeout)
            .field("volatile", &self.volatile)
            .field("compress", &self.compress)
            .finish()
    }
}

impl Emitter {
    /// Sets the acknowledgement timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Drops the emit when not connected.
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    fn packet(&self, name: &str, args: impl IntoArgs) -> Result<Packet, EmitError> {
        if RESERVED_EVENTS.contains(&name) {
            return Err(EmitError::Reserved(name.to_string()));
        }
        let args = args.into_args()?;
        let listeners = self.socket.0.handlers.read().unwrap_or_else(|e| e.into_inner()).any_outgoing.clone();
        for (_, listener) in listeners {
            listener(name, &args);
        }
        Ok(Packet::event(self.socket.0.nsp.clone(), name, args))
    }

    /// Sends, buffers (when disconnected) or drops (volatile and disconnected) the packet.
    fn dispatch(&self, packet: Packet) {
        let mut state = lock(&self.socket.0.state);
        if state.connected {
            drop(state);
            self.socket.manager().send_packet(&packet);
        } else if !self.volatile {
            state.send_buffer.push(packet);
        }
    }

    /// Emits the event.
    pub fn emit(&self, name: &str, args: impl IntoArgs) -> Result<(), EmitError> {
        let packet = self.packet(name, args)?;
        if let (Some(retries), Some(timeout)) = (self.socket.0.options.retries, self.timeout) {
            // Queued like an emit with ack; the answer is not wanted.
            drop(self.enqueue(packet, retries, timeout));
            return Ok(());
        }
        self.dispatch(packet);
        Ok(())
    }

    /// Takes a place in the retry queue now (emits keep the order of the calls) and serves it in a
    /// task; the answer comes on the handle.
    fn enqueue(
        &self,
        packet: Packet,
        retries: u32,
        timeout: Duration,
    ) -> tokio::task::JoinHandle<Result<Vec<Value>, AckError>> {
        let ticket = self.socket.0.next_ticket.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let emitter = self.clone();
        tokio::spawn(async move { emitter.queued(ticket, packet, retries, timeout).await })
    }

    /// Waits for the turn of `ticket`, then sends `packet`, and again until acknowledged or `retries`
    /// more tries timed out; each try waits for the connection.
    async fn queued(
        &self,
        ticket: u64,
        packet: Packet,
        retries: u32,
        timeout: Duration,
    ) -> Result<Vec<Value>, AckError> {
        /// Hands the turn to the next ticket however the emit ends.
        struct Turn<'a>(&'a watch::Sender<u64>);
        impl Drop for Turn<'_> {
            fn drop(&mut self) {
                self.0.send_modify(|serving| *serving += 1);
            }
        }
        let queue = self.socket.0.serving.get_or_init(|| watch::Sender::new(0));
        let mut serving = queue.subscribe();
        if serving.wait_for(|s| *s == ticket).await.is_err() {
            return Err(AckError::Disconnected);
        }
        let _turn = Turn(queue);
        let mut tries = 0;
        loop {
            let mut status = self.socket.status();
            if status.wait_for(|s| matches!(s, Status::Connected(_))).await.is_err() {
                return Err(AckError::Disconnected);
            }
            tries += 1;
            match self.clone().timeout(timeout).send_with_ack(packet.clone()).await {
                Ok(answer) => return Ok(answer),
                Err(AckError::Timeout) if tries > retries => return Err(AckError::Timeout),
                // Timed out with tries left, or disconnected: again (after reconnection).
                Err(_) => {}
            }
        }
    }

    /// Emits the event and gives the answer. The packet is sent (or buffered, or queued) by this call,
    /// before the future is first polled, as `emitWithAck` does.
    pub fn emit_with_ack(
        &self,
        name: &str,
        args: impl IntoArgs,
    ) -> impl Future<Output = Result<Vec<Value>, AckError>> + Send + 'static {
        let started = self.packet(name, args).map(|packet| {
            if let (Some(retries), Some(timeout)) = (self.socket.0.options.retries, self.timeout) {
                Either::Queued(self.enqueue(packet, retries, timeout))
            } else {
                Either::Sent(self.start_with_ack(packet))
            }
        });
        async move {
            match started? {
                Either::Queued(handle) => handle.await.unwrap_or(Err(AckError::Disconnected)),
                Either::Sent(answer) => answer.await,
            }
        }
    }

    /// Sends `packet` with a new ack id now; the future waits for the answer (or the timeout).
    fn start_with_ack(
        &self,
        packet: Packet,
    ) -> impl Future<Output = Result<Vec<Value>, AckError>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut state = lock(&self.socket.0.state);
            let id = state.next_ack;
            state.next_ack += 1;
            state.acks.insert(id, tx);
            id
        };
        self.dispatch(packet.with_ack_id(id));
        let (socket, limit) = (Arc::downgrade(&self.socket.0), self.timeout);
        async move {
            let outcome = match limit {
                Some(limit) => match tokio::time::timeout(limit, rx).await {
                    Ok(outcome) => outcome,
                    Err(_) => {
                        if let Some(socket) = socket.upgrade() {
                            let mut state = lock(&socket.state);
                            state.acks.remove(&id);
                            state.send_buffer.retain(|p| p.id != Some(id));
                        }
                        return Err(AckError::Timeout);
                    }
                },
                None => rx.await,
            };
            outcome.unwrap_or(Err(AckError::Disconnected))
        }
    }

    async fn send_with_ack(&self, packet: Packet) -> Result<Vec<Value>, AckError> {
        self.start_with_ack(packet).await
    }
}

/// An emit with ack once started: sent and waiting, or queued behind others.
enum Either<Q, S> {
    Queued(Q),
    Sent(S),
}

/// Runs the handlers of one socket as socket.io-client does: each is started in the order its event
/// arrived and polled until it first waits; whatever is left of it then runs alongside the others, so
/// that a handler awaiting something (an ack that never comes) holds back no other. A handler that
/// panics is reported and the socket goes on.
async fn dispatcher(socket: Weak<SocketInner>, mut queue: crate::queue::Receiver<Dispatch>) {
    use futures_util::stream::{FuturesUnordered, StreamExt};
    use futures_util::FutureExt;
    let mut running = FuturesUnordered::new();
    loop {
        let item = tokio::select! {
            item = queue.recv() => match item {
                Some(item) => item,
                None => break,
            },
            Some(()) = running.next(), if !running.is_empty() => continue,
        };
        let Some(inner) = socket.upgrade() else { break };
        let socket = Socket(inner);
        let started =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| start_handlers(&socket, item)));
        drop(socket);
        let futures = started.unwrap_or_else(|_| {
            tracing::error!("socket.io client: a listener panicked");
            Vec::new()
        });
        for future in futures {
            let mut future = std::panic::AssertUnwindSafe(future).catch_unwind().map(|result| {
                if result.is_err() {
                    tracing::error!("socket.io client: a handler panicked");
                }
            });
            // The part before its first `.await` runs now, in arrival order.
            let first = std::future::poll_fn(|cx| std::task::Poll::Ready(future.poll_unpin(cx))).await;
            if first.is_pending() {
                running.push(future);
            }
        }
    }
    while running.next().await.is_some() {}
}

/// The handler futures of one dispatched item (the catch-all listeners are called here).
fn start_handlers(socket: &Socket, item: Dispatch) -> Vec<BoxFuture> {
    let mut handlers = socket.0.handlers.write().unwrap_or_else(|e| e.into_inner());
    match item {
        Dispatch::Connect => handlers.connect.iter().map(|h| h(socket.clone())).collect(),
        Dispatch::ConnectError(e) => {
            handlers.connect_error.iter().map(|h| h(socket.clone(), e.clone())).collect()
        }
        Dispatch::Disconnect(reason, details) => {
            handlers.disconnect.iter().map(|h| h(socket.clone(), reason.clone(), details.clone())).collect()
        }
        Dispatch::Event(mut event) => {
            for (_, any) in &handlers.any {
                any(&event.name, &event.args);
            }
            let Some(list) = handlers.events.get_mut(&event.name) else { return Vec::new() };
            let chosen: Vec<EventHandler> = list.iter().map(|(_, h, _)| h.clone()).collect();
            list.retain(|(_, _, once)| !once);
            // The ack goes to the first handler; the others see the arguments.
            chosen
                .into_iter()
                .map(|handler| {
                    let e =
                        Event { name: event.name.clone(), args: event.args.clone(), ack: event.ack.take() };
                    handler(socket.clone(), e)
                })
                .collect()
        }
    }
}

impl crate::manager::ManagerInner {
    /// Registers `socket` under its namespace (again, after it was destroyed).
    pub(crate) fn register(&self, socket: &Socket) {
        let mut sockets = self.sockets_map();
        sockets.insert(socket.0.nsp.clone(), Arc::downgrade(&socket.0));
    }
}
