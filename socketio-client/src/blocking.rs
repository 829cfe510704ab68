//! A blocking facade for scripts and programs without async: the same socket, run by a small runtime
//! of its own.
//!
//! ```no_run
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use socketio_client::{blocking, ClientBuilder};
//! use std::time::Duration;
//! let socket = blocking::Socket::connect(ClientBuilder::new("http://localhost:3000/"))?;
//! socket.on("news", |event| println!("news: {:?}", event.args));
//! socket.emit("hello", ("world",))?;
//! let answer = socket.emit_with_ack_timeout("echo", (1, 2), Duration::from_secs(5))?;
//! println!("{answer:?}");
//! while let Some(event) = socket.recv_timeout(Duration::from_secs(1)) {
//!     println!("{} {:?}", event.name, event.args);
//! }
//! socket.disconnect();
//! # Ok(()) }
//! ```
//!
//! Its methods block the calling thread; do not call them from async code (use [`crate::Socket`]
//! there). Handlers given to [`Socket::on`] run on the facade's runtime thread.

use crate::error::{AckError, ConnectError, EmitError, Error};
use crate::socket::Event;
use crate::ClientBuilder;
use socketio_parser::{IntoArgs, Value};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What [`Socket::connect`] can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ConnectFailure {
    /// The options or the URL are not usable, or the runtime could not start.
    #[error(transparent)]
    Setup(#[from] Error),
    /// The server refused the namespace, or could not be reached.
    #[error(transparent)]
    Refused(#[from] ConnectError),
}

/// An event as the blocking socket hands it over (arguments only; use [`Socket::on`] to answer acks).
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedEvent {
    /// Its name.
    pub name: String,
    /// Its arguments.
    pub args: Vec<Value>,
}

/// A connected socket that blocks instead of awaiting.
pub struct Socket {
    socket: crate::Socket,
    runtime: Option<tokio::runtime::Runtime>,
    received: Mutex<mpsc::Receiver<ReceivedEvent>>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("blocking::Socket").field("socket", &self.socket).finish()
    }
}

impl Socket {
    /// Builds the socket from `builder` and waits until it is connected (or refused). Each blocking
    /// socket has a connection of its own (`force_new`).
    pub fn connect(builder: ClientBuilder) -> Result<Socket, ConnectFailure> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("socketio-client")
            .enable_all()
            .build()
            .map_err(|e| Error::Transport(format!("cannot start a runtime: {e}")))?;
        let socket = {
            let _context = runtime.enter();
            // A connection of its own: a shared one would live on another socket's runtime.
            builder.auto_connect(false).force_new(true).build()?
        };
        let (tx, rx) = mpsc::channel();
        let tx = Arc::new(Mutex::new(tx));
        socket.on_any(move |name, args| {
            let tx = tx.lock().unwrap_or_else(|e| e.into_inner());
            let _ = tx.send(ReceivedEvent { name: name.to_string(), args: args.to_vec() });
        });
        runtime.block_on(socket.connect())?;
        Ok(Socket { socket, runtime: Some(runtime), received: Mutex::new(rx) })
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        // Only `Drop` takes it.
        self.runtime.as_ref().unwrap_or_else(|| unreachable!("the runtime lives as long as the socket"))
    }

    /// The async socket underneath (its getters and listeners work from any thread).
    pub fn inner(&self) -> &crate::Socket {
        &self.socket
    }

    /// The socket id while connected.
    pub fn id(&self) -> Option<String> {
        self.socket.id()
    }

    /// Whether the socket is connected.
    pub fn connected(&self) -> bool {
        self.socket.connected()
    }

    /// Calls `handler` for each `name` event, on the facade's thread; it may answer the server's ack.
    pub fn on(&self, name: &str, handler: impl Fn(&mut Event) + Send + Sync + 'static) {
        let handler = Arc::new(handler);
        self.socket.on(name, move |_socket, mut event| {
            handler(&mut event);
            async {}
        });
    }

    /// Emits an event (buffered while reconnecting).
    pub fn emit(&self, name: &str, args: impl IntoArgs) -> Result<(), EmitError> {
        let _context = self.runtime().enter();
        self.socket.emit(name, args)
    }

    /// Emits an event and waits for the answer (with the socket's `ack_timeout`, if any).
    pub fn emit_with_ack(&self, name: &str, args: impl IntoArgs) -> Result<Vec<Value>, AckError> {
        let runtime = self.runtime();
        let answer = {
            let _context = runtime.enter();
            self.socket.emit_with_ack(name, args)
        };
        runtime.block_on(answer)
    }

    /// Emits an event and waits at most `timeout` for the answer.
    pub fn emit_with_ack_timeout(
        &self,
        name: &str,
        args: impl IntoArgs,
        timeout: Duration,
    ) -> Result<Vec<Value>, AckError> {
        let runtime = self.runtime();
        let answer = {
            let _context = runtime.enter();
            self.socket.timeout(timeout).emit_with_ack(name, args)
        };
        runtime.block_on(answer)
    }

    /// The next event received (in order, every event, handled by [`Socket::on`] or not), waiting for
    /// it; `None` once the socket is gone.
    pub fn recv(&self) -> Option<ReceivedEvent> {
        self.received.lock().unwrap_or_else(|e| e.into_inner()).recv().ok()
    }

    /// The next event received, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<ReceivedEvent> {
        self.received.lock().unwrap_or_else(|e| e.into_inner()).recv_timeout(timeout).ok()
    }

    /// An event already received, without waiting.
    pub fn try_recv(&self) -> Option<ReceivedEvent> {
        self.received.lock().unwrap_or_else(|e| e.into_inner()).try_recv().ok()
    }

    /// Leaves the namespace (the connection closes when no other socket uses it).
    pub fn disconnect(&self) {
        let _context = self.runtime().enter();
        self.socket.disconnect();
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            let (tx, closed) = tokio::sync::oneshot::channel();
            let tx = Mutex::new(Some(tx));
            self.socket.manager().on(move |event| {
                if matches!(event, crate::ManagerEvent::Close(_)) {
                    if let Some(tx) = tx.lock().unwrap_or_else(|e| e.into_inner()).take() {
                        let _ = tx.send(());
                    }
                }
            });
            let was_open = self.socket.manager().is_open();
            {
                let _context = runtime.enter();
                self.socket.disconnect();
            }
            if was_open {
                // The connection closes once the DISCONNECT is out; a stuck one is not waited for long.
                let _ =
                    runtime.block_on(async { tokio::time::timeout(Duration::from_secs(1), closed).await });
            }
            runtime.shutdown_background();
        }
    }
}
