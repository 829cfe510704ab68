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
use socketio_parser::{from_args, from_value, to_value, Packet, PacketData, Str, Value, RESERVED_EVENTS};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
pub(crate) type EventHandler = Arc<dyn Fn(Socket, Vec<Value>, Option<AckSender>) -> BoxFuture + Send + Sync>;

/// The lifecycle handlers that `on("disconnect")` / `on("disconnecting")` add to, as in Node, where
/// these are events of the socket like any other.
fn lifecycle_list<'a>(inner: &'a SocketInner, event: &str) -> Option<&'a RwLock<Vec<DisconnectHandler>>> {
    match event {
        "disconnect" => Some(&inner.disconnect),
        "disconnecting" => Some(&inner.disconnecting),
        _ => None,
    }
}

/// An event handler called as a lifecycle handler, with the arguments Node gives these events: the
/// reason, then its description when there is one.
fn as_lifecycle_handler(f: EventHandler) -> DisconnectHandler {
    Arc::new(move |socket: Socket, reason: DisconnectReason| {
        let mut args = vec![Value::from(reason.as_str())];
        if let Some(description) = socket.disconnect_description() {
            args.push(Value::from(description));
        }
        f(socket, args, None)
    })
}

/// Wraps a typed handler of `event`: its arguments are deserialized into `T`, a mismatch and a failed
/// result are reported on the socket.
pub(crate) fn event_handler<T, F, Fut>(event: &str, handler: F) -> EventHandler
where
    T: DeserializeOwned + Send + 'static,
    F: Fn(Socket, T, Option<AckSender>) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: HandlerResult,
{
    let name = event.to_string();
    Arc::new(move |socket: Socket, args: Vec<Value>, ack| match from_args::<T>(args) {
        Ok(args) => {
            let fut = handler(socket.clone(), args, ack);
            let name = name.clone();
            Box::pin(async move {
                if let Some(e) = fut.await.into_error() {
                    socket.report_error(&format!("handler of \"{name}\" failed: {e}"));
                }
            })
        }
        Err(e) => {
            socket.report_error(&format!("arguments of \"{name}\" do not fit the handler: {e}"));
            Box::pin(async {})
        }
    })
}
type AnyHandler = Arc<dyn Fn(&Socket, &str, &[Value]) + Send + Sync>;
type PacketMiddleware = Arc<
    dyn Fn(Socket, Vec<Value>) -> Pin<Box<dyn Future<Output = Result<Vec<Value>, SocketError>> + Send>>
        + Send
        + Sync,
>;
type ErrorHandler = Arc<dyn Fn(&Socket, &SocketError) + Send + Sync>;

/// An error of a socket, as its [`on_error`](Socket::on_error) listeners get it (the reference's `error`
/// event, an `Error` with an optional `data`): a packet middleware's refusal, a failed handler, arguments
/// that do not fit a handler. It shows as its message.
#[derive(Debug, Clone, PartialEq)]
pub struct SocketError {
    /// The message (`err.message`).
    pub message: String,
    /// Extra data (`err.data`).
    pub data: Option<Value>,
}

impl SocketError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        SocketError { message: message.into(), data: None }
    }

    /// Adds data.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }
}

impl std::fmt::Display for SocketError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SocketError {}

/// Identifies a registered listener, to remove it with [`Socket::off_listener`] or [`Socket::off_any`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

static NEXT_LISTENER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl ListenerId {
    fn next() -> Self {
        ListenerId(NEXT_LISTENER.fetch_add(1, Ordering::Relaxed))
    }
}

/// A registered listener.
#[derive(Clone)]
struct Listener<F> {
    id: ListenerId,
    once: bool,
    f: F,
}

/// What a handler may return: nothing, or a `Result` whose error is reported (tracing and the socket's
/// [`on_error`](Socket::on_error) listeners) without affecting the connection.
pub trait HandlerResult: Send + 'static {
    /// The error to report, if any.
    fn into_error(self) -> Option<String>;
}

impl HandlerResult for () {
    fn into_error(self) -> Option<String> {
        None
    }
}

impl<E: std::fmt::Display + Send + 'static> HandlerResult for Result<(), E> {
    fn into_error(self) -> Option<String> {
        self.err().map(|e| e.to_string())
    }
}
type DisconnectHandler = Arc<dyn Fn(Socket, DisconnectReason) -> BoxFuture + Send + Sync>;

/// Why a socket disconnected. The strings are those of the reference server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// The server called [`Socket::disconnect`].
    ServerNamespaceDisconnect,
    /// The client left the namespace.
    ClientNamespaceDisconnect,
    /// The server is shutting down.
    ServerShuttingDown,
    /// The client stopped answering the heartbeat.
    PingTimeout,
    /// The client closed its connection.
    TransportClose,
    /// The connection failed.
    TransportError,
    /// The client sent something that does not decode.
    ParseError,
    /// The connection was closed by the server (e.g. after an invalid packet).
    ForcedClose,
    /// The connection was closed by the server at the client level.
    ForcedServerClose,
}

impl DisconnectReason {
    /// The reason as the reference server words it.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ServerShuttingDown => "server shutting down",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::ForcedClose => "forced close",
            DisconnectReason::ForcedServerClose => "forced server close",
        }
    }

    /// Whether a socket disconnected for this reason may be recovered (the client did not leave on purpose
    /// and was not sent away).
    pub fn is_recoverable(self) -> bool {
        matches!(
            self,
            DisconnectReason::TransportError
                | DisconnectReason::TransportClose
                | DisconnectReason::ForcedClose
                | DisconnectReason::PingTimeout
                | DisconnectReason::ServerShuttingDown
                | DisconnectReason::ForcedServerClose
        )
    }

    pub(crate) fn from_engine(reason: engineio_server::CloseReason) -> Self {
        use engineio_server::CloseReason as C;
        match reason {
            C::TransportClose => DisconnectReason::TransportClose,
            C::TransportError => DisconnectReason::TransportError,
            C::PingTimeout => DisconnectReason::PingTimeout,
            C::ForcedClose => DisconnectReason::ForcedClose,
            C::ParseError => DisconnectReason::ParseError,
            C::ServerShuttingDown => DisconnectReason::ServerShuttingDown,
        }
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the answer to an ack id goes.
pub(crate) enum AckTarget {
    One(oneshot::Sender<Vec<Value>>),
    Broadcast(mpsc::UnboundedSender<AckEvent>),
}

impl AckTarget {
    /// Whether nobody waits for the answer any more (the emit timed out or was dropped).
    fn abandoned(&self) -> bool {
        match self {
            AckTarget::One(tx) => tx.is_closed(),
            AckTarget::Broadcast(tx) => tx.is_closed(),
        }
    }
}

/// Registers an ack expected from the client. Entries whose emitter stopped waiting (a broadcast that
/// timed out leaves one in every recipient) are pruned whenever the map doubles, so a client that
/// never answers costs bounded memory at amortized constant cost.
pub(crate) fn expect_ack(acks: &Mutex<HashMap<u64, AckTarget>>, id: u64, target: AckTarget) {
    let mut acks = acks.lock().unwrap_or_else(|e| e.into_inner());
    if acks.len() >= 8 && acks.len().is_power_of_two() {
        acks.retain(|_, t| !t.abandoned());
    }
    acks.insert(id, target);
}

pub(crate) struct SocketInner {
    pub(crate) id: Str,
    /// The private session id of connection state recovery.
    pid: Option<Str>,
    recovered: bool,
    pub(crate) nsp: Arc<NsInner>,
    pub(crate) client: Arc<Client>,
    handshake: Handshake,
    pub(crate) connected: AtomicBool,
    /// `true` once the socket has left every room for good (disconnected, or refused by a middleware);
    /// joins and that final leave take this lock, so no room entry outlives the socket.
    left: Mutex<bool>,
    /// Details of why the connection closed, when the engine gave some (the reference's second
    /// `disconnect` argument).
    disconnect_description: Mutex<Option<String>>,
    handlers: RwLock<HashMap<String, Vec<Listener<EventHandler>>>>,
    any: RwLock<Vec<Listener<AnyHandler>>>,
    any_outgoing: RwLock<Vec<Listener<AnyHandler>>>,
    packet_middlewares: RwLock<Vec<PacketMiddleware>>,
    error_handlers: RwLock<Vec<ErrorHandler>>,
    disconnecting: RwLock<Vec<DisconnectHandler>>,
    disconnect: RwLock<Vec<DisconnectHandler>>,
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

/// Work for a socket's handlers: run synchronously, it yields what to start.
pub(crate) type Job = Box<dyn FnOnce() -> JobStart + Send>;

/// Work that must finish before the socket's next job starts (an event's packet middlewares); it then
/// yields the futures to start.
type Gate = Pin<Box<dyn Future<Output = Vec<BoxFuture>> + Send + 'static>>;

/// What a job yields.
pub(crate) enum JobStart {
    /// Futures to start (poll once, in order) and let run alongside the socket's later jobs.
    Run(Vec<BoxFuture>),
    /// A gate: the socket's later jobs wait for it.
    Gate(Gate),
}

/// What a job left running after its start.
struct Started {
    /// Futures still pending after their first poll.
    running: Vec<BoxFuture>,
    /// A gate still pending after its first poll.
    gate: Option<Gate>,
}

/// Where a socket's jobs run. Most handlers never wait (they emit or answer and return), so a socket
/// has no task of its own until one does: a job runs inline, in the task that received its packet,
/// and its futures are polled once there. Only futures still pending after that first poll move to a
/// handler task, which then takes the socket's later jobs, in order, for as long as it lives.
pub(crate) enum Jobs {
    /// No job runs: the next one runs inline.
    Idle,
    /// A job runs inline now; jobs that come meanwhile (from inside it) wait here, in order. `closed`:
    /// the socket finished disconnecting meanwhile (what is queued still runs, nothing more).
    Inline { queued: Vec<Job>, closed: bool },
    /// The handler task runs: jobs go to it.
    Task(mpsc::UnboundedSender<Job>),
    /// Disconnected: jobs are dropped.
    Closed,
}

/// A handler future that reports a panic instead of unwinding into its caller.
fn guarded(fut: BoxFuture) -> BoxFuture {
    Box::pin(std::panic::AssertUnwindSafe(fut).catch_unwind().map(|r| {
        if r.is_err() {
            tracing::error!("a socket.io handler panicked");
        }
    }))
}

/// A gate that reports a panic (and then starts nothing) instead of unwinding into its caller.
fn guarded_gate(gate: Gate) -> Gate {
    Box::pin(std::panic::AssertUnwindSafe(gate).catch_unwind().map(|r| {
        r.unwrap_or_else(|_| {
            tracing::error!("a socket.io packet middleware panicked");
            Vec::new()
        })
    }))
}

/// Runs `job`, reporting a panic.
fn call_job(job: Job) -> JobStart {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).unwrap_or_else(|_| {
        tracing::error!("a socket.io listener panicked");
        JobStart::Run(Vec::new())
    })
}

/// Runs `job` and polls each of its futures, or its gate, once: what is still pending.
fn start_job(job: Job) -> Started {
    // Polled with a waker that does nothing: a future still pending is polled again, with its task's
    // waker, as soon as it reaches the handler task, and registers that waker then.
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let futures = match call_job(job) {
        JobStart::Run(futures) => futures,
        JobStart::Gate(gate) => {
            let mut gate = guarded_gate(gate);
            match gate.as_mut().poll(&mut cx) {
                std::task::Poll::Ready(futures) => futures,
                std::task::Poll::Pending => return Started { running: Vec::new(), gate: Some(gate) },
            }
        }
    };
    let running = futures
        .into_iter()
        .filter_map(|fut| {
            let mut fut = guarded(fut);
            fut.as_mut().poll(&mut cx).is_pending().then_some(fut)
        })
        .collect();
    Started { running, gate: None }
}

/// Starts `futures` on the handler task: each polled once, in order; the pending ones join `running`.
async fn start_futures(futures: Vec<BoxFuture>, running: &mut FuturesUnordered<BoxFuture>) {
    for fut in futures {
        let mut fut = guarded(fut);
        let first = std::future::poll_fn(|cx| std::task::Poll::Ready(fut.as_mut().poll(cx))).await;
        if first.is_pending() {
            running.push(fut);
        }
    }
}

/// A socket's handler task: it finishes `started` (already polled once) and runs the jobs that come,
/// each started (polled once) in arrival order, as the reference runs its listeners; they then run to
/// completion alongside the others. While a gate (an event's packet middlewares) is pending, the jobs
/// after it wait, and the futures already running go on. A handler that panics is reported and the
/// socket goes on.
async fn run_handlers(mut jobs: mpsc::UnboundedReceiver<Job>, started: Started) {
    let mut running: FuturesUnordered<BoxFuture> = started.running.into_iter().collect();
    let mut gate = started.gate;
    loop {
        if let Some(pending) = gate.as_mut() {
            tokio::select! {
                futures = pending => {
                    gate = None;
                    start_futures(futures, &mut running).await;
                }
                Some(()) = running.next(), if !running.is_empty() => {}
            }
            continue;
        }
        tokio::select! {
            job = jobs.recv() => match job {
                Some(job) => match call_job(job) {
                    JobStart::Run(futures) => start_futures(futures, &mut running).await,
                    JobStart::Gate(next) => gate = Some(guarded_gate(next)),
                },
                None => break,
            },
            Some(()) = running.next(), if !running.is_empty() => {}
        }
    }
    while running.next().await.is_some() {}
}

impl Socket {
    pub(crate) fn new(
        id: Str,
        pid: Option<Str>,
        recovered: bool,
        nsp: Arc<NsInner>,
        client: Arc<Client>,
        handshake: Handshake,
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
            handshake,
            connected: AtomicBool::new(false),
            left: Mutex::new(false),
            disconnect_description: Mutex::new(None),
            handlers: RwLock::new(HashMap::new()),
            any: RwLock::new(Vec::new()),
            any_outgoing: RwLock::new(Vec::new()),
            packet_middlewares: RwLock::new(Vec::new()),
            error_handlers: RwLock::new(Vec::new()),
            disconnecting: RwLock::new(Vec::new()),
            disconnect: RwLock::new(Vec::new()),
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

    /// The connection details.
    pub fn handshake(&self) -> &Handshake {
        &self.0.handshake
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
        if let Some(lifecycle) = lifecycle_list(&self.0, event) {
            lifecycle.write().unwrap_or_else(|e| e.into_inner()).push(as_lifecycle_handler(f));
            return id;
        }
        self.0
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
        self.0.handlers.write().unwrap_or_else(|e| e.into_inner()).remove(event);
    }

    /// Removes one listener.
    pub fn off_listener(&self, id: ListenerId) {
        let mut handlers = self.0.handlers.write().unwrap_or_else(|e| e.into_inner());
        for listeners in handlers.values_mut() {
            listeners.retain(|l| l.id != id);
        }
        handlers.retain(|_, l| !l.is_empty());
    }

    /// Removes every event listener.
    pub fn remove_all_listeners(&self) {
        self.0.handlers.write().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// How many listeners `event` has.
    pub fn listener_count(&self, event: &str) -> usize {
        self.0.handlers.read().unwrap_or_else(|e| e.into_inner()).get(event).map_or(0, Vec::len)
    }

    /// The events that have listeners.
    pub fn event_names(&self) -> Vec<String> {
        self.0.handlers.read().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect()
    }

    /// Listens for every incoming event (called before the event's own listeners).
    pub fn on_any(&self, handler: impl Fn(&Socket, &str, &[Value]) + Send + Sync + 'static) -> ListenerId {
        push_any(&self.0.any, Arc::new(handler), false)
    }

    /// Like [`on_any`](Self::on_any), called before the catch-all listeners already registered.
    pub fn prepend_any(
        &self,
        handler: impl Fn(&Socket, &str, &[Value]) + Send + Sync + 'static,
    ) -> ListenerId {
        push_any(&self.0.any, Arc::new(handler), true)
    }

    /// Removes one catch-all listener, or all of them with `None`.
    pub fn off_any(&self, id: Option<ListenerId>) {
        off_any(&self.0.any, id);
    }

    /// How many catch-all listeners there are (`listenersAny().length`).
    pub fn any_listener_count(&self) -> usize {
        self.0.any.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Listens for every outgoing event of this socket.
    pub fn on_any_outgoing(
        &self,
        handler: impl Fn(&Socket, &str, &[Value]) + Send + Sync + 'static,
    ) -> ListenerId {
        push_any(&self.0.any_outgoing, Arc::new(handler), false)
    }

    /// Like [`on_any_outgoing`](Self::on_any_outgoing), called first.
    pub fn prepend_any_outgoing(
        &self,
        handler: impl Fn(&Socket, &str, &[Value]) + Send + Sync + 'static,
    ) -> ListenerId {
        push_any(&self.0.any_outgoing, Arc::new(handler), true)
    }

    /// Removes one outgoing catch-all listener, or all of them with `None`.
    pub fn off_any_outgoing(&self, id: Option<ListenerId>) {
        off_any(&self.0.any_outgoing, id);
    }

    /// How many outgoing catch-all listeners there are.
    pub fn any_outgoing_listener_count(&self) -> usize {
        self.0.any_outgoing.read().unwrap_or_else(|e| e.into_inner()).len()
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
        self.0.packet_middlewares.write().unwrap_or_else(|e| e.into_inner()).push(middleware);
    }

    /// Listens for the socket's `error` event: refusals by packet middlewares (with their data), failed
    /// handlers, arguments that do not fit a handler.
    pub fn on_error(&self, handler: impl Fn(&Socket, &SocketError) + Send + Sync + 'static) {
        self.0.error_handlers.write().unwrap_or_else(|e| e.into_inner()).push(Arc::new(handler));
    }

    pub(crate) fn report_error(&self, error: &str) {
        self.report(SocketError::new(error));
    }

    fn report(&self, error: SocketError) {
        tracing::warn!(sid = %self.id(), nsp = %self.nsp(), "{error}");
        let handlers = self.0.error_handlers.read().unwrap_or_else(|e| e.into_inner()).clone();
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
        self.0
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
        self.0
            .disconnect
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::new(move |s, r| Box::pin(handler(s, r))));
    }

    /// Emits `event` to this client.
    pub fn emit(&self, event: &str, args: impl IntoArgs) -> Result<(), EmitError> {
        self.emit_with(event, args.into_args()?, BroadcastFlags::default(), None)
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
        if RESERVED_EVENTS.contains(&event) {
            return Err(EmitError::Reserved(event.to_string()));
        }
        if !self.connected() {
            return Err(EmitError::Disconnected);
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
            let listeners = self.0.any_outgoing.read().unwrap_or_else(|e| e.into_inner());
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

    /// Queues a future on the socket's handler task.
    pub(crate) fn run(&self, fut: BoxFuture) {
        self.run_job(Box::new(move || JobStart::Run(vec![fut])));
    }

    /// Runs a job after the socket's earlier ones: inline when nothing of the socket runs (see [`Jobs`]),
    /// else on its handler task.
    fn run_job(&self, job: Job) {
        {
            let mut jobs = self.0.jobs.lock().unwrap_or_else(|e| e.into_inner());
            match &mut *jobs {
                Jobs::Closed => return,
                Jobs::Task(tx) => {
                    let _ = tx.send(job);
                    return;
                }
                Jobs::Inline { queued, .. } => {
                    queued.push(job);
                    return;
                }
                Jobs::Idle => *jobs = Jobs::Inline { queued: Vec::new(), closed: false },
            }
        }
        let pending = {
            #[cfg(feature = "tracing")]
            let _entered = self.0.span.enter();
            start_job(job)
        };
        let mut jobs = self.0.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let (queued, closed) = match std::mem::replace(&mut *jobs, Jobs::Idle) {
            Jobs::Inline { queued, closed } => (queued, closed),
            other => {
                *jobs = other;
                return;
            }
        };
        if closed {
            *jobs = Jobs::Closed;
        }
        if pending.running.is_empty() && pending.gate.is_none() && queued.is_empty() {
            return;
        }
        // Something waits, or came meanwhile: from now on the socket's jobs run on a task of its own.
        let (tx, rx) = mpsc::unbounded_channel();
        for job in queued {
            let _ = tx.send(job);
        }
        if !closed {
            *jobs = Jobs::Task(tx);
        }
        drop(jobs);
        #[cfg(feature = "tracing")]
        tokio::spawn(tracing::Instrument::instrument(run_handlers(rx, pending), self.0.span.clone()));
        #[cfg(not(feature = "tracing"))]
        tokio::spawn(run_handlers(rx, pending));
    }

    /// No job runs after the ones already started or queued (the socket is gone).
    fn close_jobs(&self) {
        let mut jobs = self.0.jobs.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *jobs {
            Jobs::Inline { closed, .. } => *closed = true,
            // Dropping the sender lets the task finish its queue and end.
            _ => *jobs = Jobs::Closed,
        }
    }

    /// Handles a packet for this socket.
    pub(crate) fn on_packet(&self, packet: Packet) {
        match packet.data {
            PacketData::Event(args) => self.on_event(args, packet.id),
            PacketData::Ack(args) => {
                let target = packet
                    .id
                    .and_then(|id| self.0.acks.lock().unwrap_or_else(|e| e.into_inner()).remove(&id));
                match target {
                    Some(AckTarget::One(tx)) => {
                        let _ = tx.send(args);
                    }
                    Some(AckTarget::Broadcast(tx)) => {
                        let _ = tx.send(AckEvent::Response(args));
                    }
                    None => tracing::debug!(sid = %self.id(), "ack for an unknown id"),
                }
            }
            PacketData::Disconnect => self.on_close(DisconnectReason::ClientNamespaceDisconnect),
            PacketData::Connect(_) | PacketData::ConnectError(_) => {}
        }
    }

    /// Dispatches an event on the socket's handler task, so that everything one event triggers (packet
    /// middlewares, catch-all listeners, the start of its handlers) happens before the next event's.
    fn on_event(&self, args: Vec<Value>, id: Option<u64>) {
        let socket = self.clone();
        self.run_job(Box::new(move || socket.start_event(args, id)));
    }

    /// Without packet middlewares, dispatches the event at once; with some, returns the gate that runs
    /// them, then dispatches the event if they let it through.
    fn start_event(&self, args: Vec<Value>, id: Option<u64>) -> JobStart {
        let middlewares = self.0.packet_middlewares.read().unwrap_or_else(|e| e.into_inner()).clone();
        if middlewares.is_empty() || args.is_empty() {
            return JobStart::Run(self.dispatch_event(args, id));
        }
        let socket = self.clone();
        JobStart::Gate(Box::pin(async move {
            let mut args = args;
            for middleware in middlewares {
                match middleware(socket.clone(), args).await {
                    Ok(passed) => args = passed,
                    Err(e) => {
                        socket.report(e);
                        return Vec::new();
                    }
                }
            }
            socket.dispatch_event(args, id)
        }))
    }

    /// Runs the catch-all listeners of an event that passed the packet middlewares; returns its
    /// handlers' futures.
    fn dispatch_event(&self, mut args: Vec<Value>, id: Option<u64>) -> Vec<BoxFuture> {
        if args.is_empty() {
            return Vec::new();
        }
        let name = match args.remove(0) {
            Value::String(s) => s,
            other => other.to_string(),
        };
        // The catch-all listeners, the handlers' calls and their futures run inside the event's span.
        #[cfg(feature = "tracing")]
        let span = tracing::info_span!(
            parent: &self.0.span,
            "socketio.event",
            sid = %self.id(),
            nsp = %self.nsp(),
            event = %name
        );
        #[cfg(feature = "tracing")]
        let _entered = span.enter();
        let any = self.0.any.read().unwrap_or_else(|e| e.into_inner()).clone();
        for listener in any {
            (listener.f)(self, &name, &args);
        }
        // The namespace's handlers of the event (registered once for all its sockets), then the socket's.
        let mut handlers = self.0.nsp.event_handlers(&name);
        {
            let mut all = self.0.handlers.write().unwrap_or_else(|e| e.into_inner());
            if let Some(listeners) = all.get_mut(&name) {
                handlers.extend(listeners.iter().map(|l| l.f.clone()));
                listeners.retain(|l| !l.once);
                if listeners.is_empty() {
                    all.remove(&name);
                }
            }
        }
        let ack = id.map(|id| AckSender { socket: self.clone(), id, sent: Arc::new(AtomicBool::new(false)) });
        let n = handlers.len();
        let mut futures = Vec::with_capacity(n);
        for (i, listener) in handlers.into_iter().enumerate() {
            let args = if i + 1 == n { std::mem::take(&mut args) } else { args.clone() };
            let fut = listener(self.clone(), args, ack.clone());
            #[cfg(feature = "tracing")]
            let fut: BoxFuture = if span.is_disabled() {
                fut
            } else {
                Box::pin(tracing::Instrument::instrument(fut, span.clone()))
            };
            futures.push(fut);
        }
        futures
    }

    /// Disconnects the socket with `reason`. At once: it stops being connected and stops receiving packets.
    /// Then, on its handler task: the `disconnecting` handlers run to completion (the rooms are still
    /// readable), the socket leaves every room, pending acks fail, and the `disconnect` handlers run.
    /// Runs once.
    pub(crate) fn on_close(&self, reason: DisconnectReason) {
        if !self.0.connected.swap(false, Ordering::SeqCst) {
            return;
        }
        #[cfg(feature = "metrics")]
        self.0.nsp.sockets_gauge().decrement(1.0);
        self.0.nsp.forget_socket(self);
        self.0.client.remove(self);
        let socket = self.clone();
        self.run(Box::pin(async move {
            let mut disconnecting: Vec<DisconnectHandler> =
                socket.0.nsp.event_handlers("disconnecting").into_iter().map(as_lifecycle_handler).collect();
            disconnecting
                .extend(socket.0.disconnecting.read().unwrap_or_else(|e| e.into_inner()).iter().cloned());
            for handler in disconnecting {
                handler(socket.clone(), reason).await;
            }
            let adapter = socket.0.nsp.adapter();
            if let (Some(pid), Some(_)) = (&socket.0.pid, socket.0.nsp.recovery()) {
                if reason.is_recoverable() {
                    adapter.persist_session(SessionState {
                        sid: socket.0.id.clone(),
                        pid: pid.clone(),
                        rooms: adapter.socket_rooms(&socket.0.id),
                        data: socket.data_value(),
                    });
                }
            }
            socket.leave_all_rooms();
            // Pending acks fail: their senders are dropped.
            socket.0.acks.lock().unwrap_or_else(|e| e.into_inner()).clear();
            let hooks = socket.0.nsp.hooks.socket_disconnected.get();
            for hook in hooks.unwrap_or_default() {
                hook(&socket, reason);
            }
            let mut disconnect: Vec<DisconnectHandler> =
                socket.0.nsp.event_handlers("disconnect").into_iter().map(as_lifecycle_handler).collect();
            disconnect.extend(socket.0.disconnect.read().unwrap_or_else(|e| e.into_inner()).iter().cloned());
            for handler in disconnect {
                socket.run(handler(socket.clone(), reason));
            }
            // Let the handler task finish what runs and end.
            socket.close_jobs();
        }));
    }

    /// Sends a CONNECT_ERROR for this socket's namespace.
    pub(crate) fn connect_error(&self, message: &str, data: Option<Value>) {
        let packet = if self.0.client.conn.protocol() == engineio_server::parser::ProtocolVersion::V3 {
            Packet {
                nsp: self.nsp().to_string(),
                id: None,
                data: PacketData::ConnectError(data.unwrap_or_else(|| Value::from(message))),
            }
        } else {
            Packet::connect_error(self.nsp(), message, data)
        };
        let frames = self.0.client.encode(&packet);
        self.0.client.write(&frames, &BroadcastFlags::default());
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
        self.socket.emit_with(event, args.into_args()?, self.flags.clone(), None)
    }

    /// Emits `event` and waits for the ack, at most the timeout (error `operation has timed out`).
    pub async fn emit_with_ack(&self, event: &str, args: impl IntoArgs) -> Result<Vec<Value>, AckError> {
        let socket = &self.socket;
        let id = socket.0.nsp.next_id();
        let (tx, rx) = oneshot::channel();
        socket.0.acks.lock().unwrap_or_else(|e| e.into_inner()).insert(id, AckTarget::One(tx));
        if let Err(e) = socket.emit_with(event, args.into_args()?, self.flags.clone(), Some(id)) {
            socket.0.acks.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
            return Err(match e {
                EmitError::Args(e) => AckError::Args(e),
                _ => AckError::Disconnected,
            });
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

/// The ack of one received event: call [`send`](AckSender::send) once to answer.
#[derive(Debug, Clone)]
pub struct AckSender {
    socket: Socket,
    id: u64,
    sent: Arc<AtomicBool>,
}

impl AckSender {
    /// Answers the event with `args`. Only the first answer is sent.
    pub fn send(self, args: impl IntoArgs) -> Result<(), EmitError> {
        if self.sent.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let packet = Packet::ack(self.socket.nsp(), self.id, args.into_args()?);
        self.socket.packet(&packet, &BroadcastFlags::default());
        Ok(())
    }
}

/// One room or several.
pub trait IntoRooms {
    /// The rooms.
    fn into_rooms(self) -> Vec<Room>;
}

impl IntoRooms for Room {
    fn into_rooms(self) -> Vec<Room> {
        vec![self]
    }
}

impl IntoRooms for &str {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self)]
    }
}

impl IntoRooms for String {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self)]
    }
}

impl<T: Into<Room>> IntoRooms for Vec<T> {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().map(Into::into).collect()
    }
}

impl IntoRooms for &String {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self.as_str())]
    }
}

impl IntoRooms for &Room {
    fn into_rooms(self) -> Vec<Room> {
        vec![self.clone()]
    }
}

impl<T: Clone + Into<Room>> IntoRooms for &[T] {
    fn into_rooms(self) -> Vec<Room> {
        self.iter().cloned().map(Into::into).collect()
    }
}

impl<T: Into<Room>, const N: usize> IntoRooms for [T; N] {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().map(Into::into).collect()
    }
}
