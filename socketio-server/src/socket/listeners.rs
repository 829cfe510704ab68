//! What a socket calls: event, catch-all, error and lifecycle handlers, their ids, and the errors they report.
use super::*;

pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
pub(crate) type EventHandler = Arc<dyn Fn(Socket, Vec<Value>, Option<AckSender>) -> BoxFuture + Send + Sync>;

/// The lifecycle handlers that `on("disconnect")` / `on("disconnecting")` add to, as in Node, where
/// these are events of the socket like any other.
pub(super) fn lifecycle_list<'a>(
    own: &'a OwnListeners,
    event: &str,
) -> Option<&'a RwLock<Vec<DisconnectHandler>>> {
    match event {
        "disconnect" => Some(&own.disconnect),
        "disconnecting" => Some(&own.disconnecting),
        _ => None,
    }
}

/// An event handler called as a lifecycle handler, with the arguments Node gives these events: the
/// reason, then its description when there is one.
pub(super) fn as_lifecycle_handler(f: EventHandler) -> DisconnectHandler {
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
    let name: Arc<str> = Arc::from(event);
    Arc::new(move |socket: Socket, args: Vec<Value>, ack| match args_as::<T>(args) {
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

/// The arguments of an event as a handler takes them: as they are when it takes `Vec<Value>` (nothing
/// is deserialized or copied), else deserialized.
fn args_as<T: DeserializeOwned + 'static>(args: Vec<Value>) -> Result<T, socketio_parser::ValueError> {
    let mut args = Some(args);
    if let Some(same) = (&mut args as &mut dyn std::any::Any).downcast_mut::<Option<T>>() {
        if let Some(args) = same.take() {
            return Ok(args);
        }
    }
    from_args(args.unwrap_or_default())
}

pub(super) type AnyHandler = Arc<dyn Fn(&Socket, &str, &[Value]) + Send + Sync>;
pub(super) type PacketMiddleware = Arc<
    dyn Fn(Socket, Vec<Value>) -> Pin<Box<dyn Future<Output = Result<Vec<Value>, SocketError>> + Send>>
        + Send
        + Sync,
>;
pub(super) type ErrorHandler = Arc<dyn Fn(&Socket, &SocketError) + Send + Sync>;

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
pub struct ListenerId(pub(super) u64);

pub(super) static NEXT_LISTENER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl ListenerId {
    pub(super) fn next() -> Self {
        ListenerId(NEXT_LISTENER.fetch_add(1, Ordering::Relaxed))
    }
}

/// A registered listener.
#[derive(Clone)]
pub(super) struct Listener<F> {
    pub(super) id: ListenerId,
    pub(super) once: bool,
    pub(super) f: F,
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
pub(super) type DisconnectHandler = Arc<dyn Fn(Socket, DisconnectReason) -> BoxFuture + Send + Sync>;
