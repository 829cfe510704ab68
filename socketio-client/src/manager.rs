//! The manager: one Engine.IO connection shared by the sockets of several namespaces, reconnection with
//! exponential backoff and jitter, and the manager events of the JS client.

use crate::engine::{self, CloseReason, EngineEvent, EngineHandle, EngineOptions};
use crate::error::Error;
use crate::socket::{Socket, SocketInner, SocketOptions};
use socketio_parser::{Frame, JsonParser, Packet, Parser};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// Options of a manager, with the defaults of socket.io-client 4.8.
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    /// Where and how to open the Engine.IO connection.
    pub engine: EngineOptions,
    /// The Socket.IO parser (default: JSON with binary attachments).
    pub parser: Arc<dyn Parser>,
    /// Whether to reconnect after the connection is lost (default true).
    pub reconnection: bool,
    /// How many attempts before giving up (default: unlimited).
    pub reconnection_attempts: Option<u32>,
    /// The first delay between attempts (default 1 s), doubled at each attempt ...
    pub reconnection_delay: Duration,
    /// ... up to this (default 5 s).
    pub reconnection_delay_max: Duration,
    /// How much each delay is randomized, 0 to 1 (default 0.5).
    pub randomization_factor: f64,
    /// How long opening the connection may take (default 20 s).
    pub timeout: Duration,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        ManagerOptions {
            engine: EngineOptions::default(),
            parser: Arc::new(JsonParser::default()),
            reconnection: true,
            reconnection_attempts: None,
            reconnection_delay: Duration::from_secs(1),
            reconnection_delay_max: Duration::from_secs(5),
            randomization_factor: 0.5,
            timeout: Duration::from_secs(20),
        }
    }
}

/// What a manager reports (`manager.on(...)` in the JS client).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ManagerEvent {
    /// The connection opened.
    Open,
    /// Opening failed.
    Error(String),
    /// The server pinged.
    Ping,
    /// The connection closed, with the reason (`transport close`, `ping timeout`, `forced close`, ...).
    Close(String),
    /// A reconnection attempt starts (its number, from 1).
    ReconnectAttempt(u32),
    /// Reconnected after this many attempts.
    Reconnect(u32),
    /// A reconnection attempt failed.
    ReconnectError(String),
    /// The attempts are exhausted.
    ReconnectFailed,
}

type Listener = Arc<dyn Fn(&ManagerEvent) + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Closed,
    Opening,
    Open,
}

struct State {
    status: Status,
    engine: Option<EngineHandle>,
    /// Set when the manager was closed on purpose: no reconnection.
    skip_reconnect: bool,
    reconnecting: bool,
    attempts: u32,
    /// Counts the connections opened: the driver of an older one, ending after the manager was closed
    /// and opened again, must not mark the new one closed.
    generation: u64,
}

pub(crate) struct ManagerInner {
    options: ManagerOptions,
    state: Mutex<State>,
    sockets: Mutex<HashMap<String, Weak<SocketInner>>>,
    /// Every namespace a socket was made for (the `nsps` of the JS client, which never forgets one).
    namespaces: Mutex<HashSet<String>>,
    listeners: Mutex<Vec<Listener>>,
}

impl ManagerInner {
    pub(crate) fn sockets_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Weak<SocketInner>>> {
        lock(&self.sockets)
    }
}

/// One connection to a server, shared by the sockets of its namespaces. Cloning shares it.
#[derive(Clone)]
pub struct Manager(pub(crate) Arc<ManagerInner>);

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager").field("host", &self.0.options.engine.host).finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Manager {
    /// A manager with `options`; it connects when a socket asks.
    pub fn new(options: ManagerOptions) -> Manager {
        Manager(Arc::new(ManagerInner {
            options,
            state: Mutex::new(State {
                status: Status::Closed,
                engine: None,
                skip_reconnect: false,
                reconnecting: false,
                attempts: 0,
                generation: 0,
            }),
            sockets: Mutex::new(HashMap::new()),
            namespaces: Mutex::new(HashSet::new()),
            listeners: Mutex::new(Vec::new()),
        }))
    }

    /// The options.
    pub fn options(&self) -> &ManagerOptions {
        &self.0.options
    }

    /// The socket of namespace `nsp` on this connection (the same socket for the same namespace while it
    /// exists), not yet connecting: call [`Socket::connect`].
    pub fn socket(&self, nsp: &str, options: SocketOptions) -> Socket {
        let mut sockets = lock(&self.0.sockets);
        if let Some(existing) = sockets.get(nsp).and_then(Weak::upgrade) {
            return Socket(existing);
        }
        let socket = Socket::new(self.clone(), nsp, options);
        sockets.insert(nsp.to_string(), Arc::downgrade(&socket.0));
        lock(&self.0.namespaces).insert(nsp.to_string());
        socket
    }

    /// Whether a socket was ever made for namespace `nsp` on this manager.
    pub(crate) fn has_namespace(&self, nsp: &str) -> bool {
        lock(&self.0.namespaces).contains(nsp)
    }

    /// Calls `listener` with each manager event.
    pub fn on(&self, listener: impl Fn(&ManagerEvent) + Send + Sync + 'static) {
        lock(&self.0.listeners).push(Arc::new(listener));
    }

    /// Whether the connection is open.
    pub fn is_open(&self) -> bool {
        lock(&self.0.state).status == Status::Open
    }

    /// The Engine.IO connection, when open.
    pub fn engine(&self) -> Option<EngineHandle> {
        lock(&self.0.state).engine.clone()
    }

    /// Closes the connection and stops reconnecting.
    pub fn close(&self) {
        let engine = {
            let mut state = lock(&self.0.state);
            state.skip_reconnect = true;
            state.reconnecting = false;
            // Closed from now on: a socket that asks may open a new connection at once, without
            // waiting for this one's driver to see the end.
            state.status = Status::Closed;
            state.engine.take()
        };
        if let Some(engine) = engine {
            engine.close();
        }
    }

    /// Opens the connection if it is not open or opening; sockets are told when it is.
    pub(crate) fn open(&self) {
        {
            let mut state = lock(&self.0.state);
            if state.status != Status::Closed || state.reconnecting {
                return;
            }
            state.status = Status::Opening;
            state.skip_reconnect = false;
        }
        let manager = self.clone();
        tokio::spawn(async move {
            if let Err(e) = manager.try_open().await {
                manager.emit(&ManagerEvent::Error(e.to_string()));
                manager.each_socket(|s| s.on_manager_error(&e.to_string()));
                manager.maybe_reconnect();
            }
        });
    }

    /// One attempt to open the connection; on success the driver runs and the sockets connect.
    async fn try_open(&self) -> Result<(), Error> {
        let opened =
            tokio::time::timeout(self.0.options.timeout, engine::connect(self.0.options.engine.clone()))
                .await;
        let (engine, events) = match opened {
            Ok(Ok(opened)) => opened,
            Ok(Err(e)) => {
                lock(&self.0.state).status = Status::Closed;
                return Err(e);
            }
            Err(_) => {
                lock(&self.0.state).status = Status::Closed;
                return Err(Error::Timeout);
            }
        };
        let generation = {
            let mut state = lock(&self.0.state);
            if state.skip_reconnect {
                // Closed while opening.
                state.status = Status::Closed;
                engine.close();
                return Ok(());
            }
            state.status = Status::Open;
            state.engine = Some(engine.clone());
            state.generation += 1;
            state.generation
        };
        tokio::spawn(drive(Arc::downgrade(&self.0), events, generation));
        self.emit(&ManagerEvent::Open);
        self.each_socket(|s| s.on_open());
        Ok(())
    }

    fn emit(&self, event: &ManagerEvent) {
        let listeners = lock(&self.0.listeners).clone();
        for listener in listeners {
            listener(event);
        }
    }

    fn each_socket(&self, f: impl Fn(&Socket)) {
        let sockets: Vec<Socket> =
            lock(&self.0.sockets).values().filter_map(Weak::upgrade).map(Socket).collect();
        for socket in &sockets {
            f(socket);
        }
    }

    /// Encodes and sends a packet; false if the connection is not open.
    pub(crate) fn send_packet(&self, packet: &Packet) -> bool {
        let frames: Vec<Frame> = self.0.options.parser.encode(packet);
        match lock(&self.0.state).engine.as_ref() {
            Some(engine) => engine.send(frames),
            None => false,
        }
    }

    /// A socket left for good: when no socket is left, the connection closes.
    pub(crate) fn destroy(&self, nsp: &str) {
        let remaining = {
            let mut sockets = lock(&self.0.sockets);
            sockets.remove(nsp);
            sockets.values().filter_map(Weak::upgrade).filter(|s| Socket(s.clone()).active()).count()
        };
        if remaining == 0 {
            self.close();
        }
    }

    fn maybe_reconnect(&self) {
        let start = {
            let mut state = lock(&self.0.state);
            let start = self.0.options.reconnection && !state.skip_reconnect && !state.reconnecting;
            if start {
                state.reconnecting = true;
            }
            start
        };
        if !start {
            return;
        }
        let manager = self.clone();
        tokio::spawn(async move { manager.reconnect_loop().await });
    }

    async fn reconnect_loop(&self) {
        loop {
            let attempt = {
                let mut state = lock(&self.0.state);
                if state.skip_reconnect {
                    state.reconnecting = false;
                    state.attempts = 0;
                    return;
                }
                if self.0.options.reconnection_attempts.is_some_and(|max| state.attempts >= max) {
                    state.reconnecting = false;
                    state.attempts = 0;
                    drop(state);
                    self.emit(&ManagerEvent::ReconnectFailed);
                    return;
                }
                state.attempts += 1;
                state.attempts
            };
            tokio::time::sleep(backoff(&self.0.options, attempt - 1)).await;
            if lock(&self.0.state).skip_reconnect {
                continue;
            }
            self.emit(&ManagerEvent::ReconnectAttempt(attempt));
            lock(&self.0.state).status = Status::Opening;
            match self.try_open().await {
                Ok(()) => {
                    {
                        let mut state = lock(&self.0.state);
                        state.reconnecting = false;
                        state.attempts = 0;
                    }
                    self.emit(&ManagerEvent::Reconnect(attempt));
                    return;
                }
                Err(e) => {
                    self.emit(&ManagerEvent::ReconnectError(e.to_string()));
                    self.each_socket(|s| s.on_manager_error(&e.to_string()));
                }
            }
        }
    }
}

/// The delay before attempt `attempt` (from 0): `delay * 2^attempt`, randomized by the factor, capped,
/// as the JS client's backoff computes it.
pub fn backoff(options: &ManagerOptions, attempt: u32) -> Duration {
    let base = options.reconnection_delay.as_millis() as f64 * 2f64.powi(attempt.min(62) as i32);
    let mut ms = base;
    if options.randomization_factor > 0.0 {
        let mut bytes = [0u8; 8];
        let _ = getrandom::fill(&mut bytes);
        let rand = (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64;
        let deviation = (rand * options.randomization_factor * base).floor();
        ms = if ((rand * 10.0).floor() as u64) & 1 == 0 { base - deviation } else { base + deviation };
    }
    Duration::from_millis(ms.min(options.reconnection_delay_max.as_millis() as f64).max(0.0) as u64)
}

/// Reads one connection: decodes packets and hands them to their sockets; when it closes, tells the
/// sockets and reconnects.
async fn drive(
    manager: Weak<ManagerInner>,
    mut events: crate::queue::Receiver<EngineEvent>,
    generation: u64,
) {
    let mut decoder = match manager.upgrade() {
        Some(m) => m.options.parser.decoder(),
        None => return,
    };
    let reason = loop {
        let Some(event) = events.recv().await else { break CloseReason::TransportClose };
        let Some(inner) = manager.upgrade() else { return };
        let manager = Manager(inner);
        match event {
            EngineEvent::Message(frame) => match decoder.add(frame) {
                Ok(Some(packet)) => {
                    let socket = lock(&manager.0.sockets).get(packet.nsp.as_str()).and_then(Weak::upgrade);
                    if let Some(socket) = socket {
                        Socket(socket).on_packet(packet);
                    }
                }
                Ok(None) => {}
                Err(_) => {
                    // Not Socket.IO: the connection is dropped as the JS client does.
                    if let Some(engine) = manager.engine() {
                        engine.close();
                    }
                    decoder.reset();
                }
            },
            EngineEvent::Ping => manager.emit(&ManagerEvent::Ping),
            EngineEvent::Upgraded => {}
            EngineEvent::Closed(reason) => break reason,
        }
    };
    let Some(inner) = manager.upgrade() else { return };
    let manager = Manager(inner);
    {
        let mut state = lock(&manager.0.state);
        if state.generation != generation {
            // The manager was closed and has opened another connection since: that one is its own.
            return;
        }
        state.status = Status::Closed;
        state.engine = None;
    }
    let details = match &reason {
        CloseReason::TransportError(detail) => Some(detail.as_str()),
        _ => None,
    };
    let reason = match &reason {
        CloseReason::ForcedClose => "forced close",
        other => other.as_str(),
    };
    manager.each_socket(|s| s.on_close(reason, details));
    manager.emit(&ManagerEvent::Close(reason.to_string()));
    manager.maybe_reconnect();
}
