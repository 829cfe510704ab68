//! Sessions: their shared state, the [`Socket`] handle, and the driver task that runs the heartbeat and
//! the websocket of each session.

use crate::config::{OverflowPolicy, TransportKind};
use crate::engine::Shared;
use crate::handler::{CloseReason, SessionEvent};
use crate::request::RequestInfo;
use crate::websocket::{OutFrame, OutQueue, WsError, WsStream, NORMAL_CLOSE};
use crate::wsframe::Incoming;
use engineio_parser::{Packet, PacketData, PacketType, ProtocolVersion, Str};
use futures_util::task::AtomicWaker;
use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use tokio::sync::Notify;
use tokio::time::{sleep_until, Instant};

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyState {
    /// Open: packets flow.
    Open,
    /// Closing: the last packets and the close are being delivered ([`Socket::close`]).
    Closing,
    /// Closed.
    Closed,
}

/// Options of one send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendOptions {
    /// Whether a polling response holding the packet may be compressed (default true).
    pub compress: bool,
    /// Drop the packet unless the transport can take it at once (default false).
    pub volatile: bool,
}

impl Default for SendOptions {
    fn default() -> Self {
        SendOptions { compress: true, volatile: false }
    }
}

/// Why a packet was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The session is closing or closed.
    #[error("the session is closed")]
    Closed,
    /// A volatile packet the transport could not take at once, or a packet dropped by
    /// [`OverflowPolicy::DropPacket`].
    #[error("the packet was dropped")]
    Dropped,
    /// The send queue was full: the session was closed ([`OverflowPolicy::Close`]).
    #[error("the send queue is full; the session was closed")]
    Overflow,
}

/// A packet waiting to be written.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub(crate) body: OutBody,
    pub(crate) compress: bool,
    /// Sent as volatile: while it waits, further volatile packets are dropped.
    pub(crate) volatile: bool,
}

/// What a queued packet is.
#[derive(Debug, Clone)]
pub(crate) enum OutBody {
    /// A packet, encoded when written.
    Packet(Packet),
    /// A message encoded beforehand: its text as a websocket text frame carries it (`4` + data),
    /// shared by every session a broadcast reaches (one reference count per recipient, no copy).
    Encoded(Str),
}

impl Outgoing {
    /// A packet neither compressed nor volatile.
    pub(crate) fn plain(packet: Packet) -> Self {
        Outgoing { body: OutBody::Packet(packet), compress: false, volatile: false }
    }

    /// The packet (a message encoded beforehand becomes one again, sharing its text).
    pub(crate) fn into_packet(self) -> Packet {
        match self.body {
            OutBody::Packet(packet) => packet,
            OutBody::Encoded(frame) => match frame.into_suffix(1) {
                Some(text) => Packet::message(text),
                None => Packet::empty(PacketType::Message),
            },
        }
    }
}

/// A message encoded once, to be sent to any number of sessions ([`Socket::send_encoded`]): a broadcast
/// builds it once and each session queues a clone (reference counts, no copy).
#[derive(Debug, Clone)]
pub struct EncodedMessage {
    packet: Packet,
    encoded: Option<Str>,
}

impl EncodedMessage {
    /// A text message: its frame text (`4` + `text`) is built here, once.
    pub fn text(text: &str) -> Self {
        let mut frame = String::with_capacity(text.len() + 1);
        frame.push('4');
        frame.push_str(text);
        Self::from_frame_text(Str::from(frame)).unwrap_or_else(|| unreachable!("starts with 4"))
    }

    /// A text message from its frame text (`4` + text), which is used as it is; `None` when `frame`
    /// is not a message's text.
    pub fn from_frame_text(frame: Str) -> Option<Self> {
        if !frame.as_str().starts_with('4') {
            return None;
        }
        let packet = Packet::message(frame.slice(1..frame.len()));
        Some(EncodedMessage { packet, encoded: Some(frame) })
    }

    /// A binary message (its bytes are shared as they are).
    pub fn binary(data: bytes::Bytes) -> Self {
        EncodedMessage { packet: Packet::binary(data), encoded: None }
    }
}

/// A volatile packet is dropped when this many packets already wait to be written.
const VOLATILE_QUEUE_LIMIT: usize = 16;

pub(crate) struct State {
    pub(crate) ready: ReadyState,
    pub(crate) transport: TransportKind,
    pub(crate) queue: VecDeque<Outgoing>,
    /// A polling GET is waiting for packets.
    pub(crate) poll_pending: bool,
    /// A polling POST is being read.
    pub(crate) post_pending: bool,
    pub(crate) upgrading: bool,
    pub(crate) upgraded: bool,
    /// The probe was answered: pending and new GETs are released at once with a noop.
    pub(crate) probe_done: bool,
    /// A websocket the upgrade handed over, for the driver to take.
    pub(crate) pending_ws: Option<WsStream>,
    /// v4: when the next ping goes out (`None` while a pong is awaited).
    next_ping: Option<Instant>,
    /// When the session times out without heartbeat.
    ping_deadline: Option<Instant>,
    /// v4: whether another packet already extended the current ping timeout.
    refreshed: bool,
    /// A closing polling session closes by this time even without a GET.
    closing_deadline: Option<Instant>,
    /// The reason reported once a closing session has delivered its last packets.
    closing_reason: CloseReason,
    /// The client closed the session with a close packet: a pending GET is released with a noop rather
    /// than a close packet, as the reference does.
    pub(crate) closed_by_client: bool,
}

pub(crate) struct SessionInner {
    id: Str,
    protocol: ProtocolVersion,
    /// v3: whether polling responses may use the binary payload form (`b64` absent).
    pub(crate) supports_binary: bool,
    pub(crate) shared: Arc<Shared>,
    request: RequestInfo,
    state: Mutex<State>,
    /// Wakes the driver: packets to write on a websocket, a websocket handed over, a close.
    pub(crate) driver_wake: DriverWake,
    /// Wakes the pending polling GET.
    pub(crate) poll_wake: Notify,
    /// Wakes every waiter once the session has closed (a POST still being read is then dropped).
    pub(crate) closed_wake: Notify,
    /// The session's span: the driver task, the polling requests and the upgrade run inside it.
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

/// What [`Socket::enter_span`] gives without the `tracing` feature: nothing to enter.
#[cfg(not(feature = "tracing"))]
pub(crate) struct NoSpan;

/// One Engine.IO session (the reference's `Socket`). Cheap to clone; all clones are the same session.
#[derive(Clone)]
pub struct Socket(pub(crate) Arc<SessionInner>);

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.id())
            .field("protocol", &self.protocol())
            .field("transport", &self.transport())
            .field("ready_state", &self.ready_state())
            .finish()
    }
}

impl PartialEq for Socket {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Socket {}

impl Socket {
    pub(crate) fn new(
        id: Str,
        protocol: ProtocolVersion,
        transport: TransportKind,
        shared: Arc<Shared>,
        request: RequestInfo,
    ) -> Self {
        let config = &shared.config;
        let now = Instant::now();
        let (next_ping, ping_deadline) = match protocol {
            ProtocolVersion::V4 => (Some(now + config.ping_interval), None),
            ProtocolVersion::V3 => (None, Some(now + config.ping_interval + config.ping_timeout)),
        };
        let supports_binary = request.query("b64").is_none();
        // A root span: the session outlives the request that opened it.
        #[cfg(feature = "tracing")]
        let span = tracing::info_span!(
            parent: None,
            "engineio.connection",
            sid = %id,
            transport = transport.as_str()
        );
        Socket(Arc::new(SessionInner {
            id,
            protocol,
            supports_binary,
            request,
            state: Mutex::new(State {
                ready: ReadyState::Open,
                transport,
                queue: VecDeque::new(),
                poll_pending: false,
                post_pending: false,
                upgrading: false,
                upgraded: false,
                probe_done: false,
                pending_ws: None,
                next_ping,
                ping_deadline,
                refreshed: false,
                closing_deadline: None,
                closing_reason: CloseReason::ForcedClose,
                closed_by_client: false,
            }),
            shared,
            driver_wake: DriverWake::default(),
            poll_wake: Notify::new(),
            closed_wake: Notify::new(),
            #[cfg(feature = "tracing")]
            span,
        }))
    }

    /// The session's `tracing` span (`engineio.connection`, fields `sid` and `transport`, the latter
    /// updated on upgrade), entered around the session's work; spans of the layers above (a
    /// Socket.IO socket) take it as their parent. Feature `tracing`.
    #[cfg(feature = "tracing")]
    pub fn span(&self) -> &tracing::Span {
        &self.0.span
    }

    /// Runs `fut` inside the session's span.
    #[cfg(feature = "tracing")]
    pub(crate) fn in_span<F: std::future::Future>(&self, fut: F) -> tracing::instrument::Instrumented<F> {
        tracing::Instrument::instrument(fut, self.0.span.clone())
    }

    /// Runs `fut` as it is (no `tracing` feature).
    #[cfg(not(feature = "tracing"))]
    pub(crate) fn in_span<F: std::future::Future>(&self, fut: F) -> F {
        fut
    }

    /// Enters the session's span until the guard drops (synchronous code only).
    #[cfg(feature = "tracing")]
    pub(crate) fn enter_span(&self) -> tracing::span::Entered<'_> {
        self.0.span.enter()
    }

    /// Nothing to enter (no `tracing` feature).
    #[cfg(not(feature = "tracing"))]
    pub(crate) fn enter_span(&self) -> NoSpan {
        NoSpan
    }

    /// Records the session's new transport on its span, after an upgrade.
    pub(crate) fn record_transport(&self, transport: TransportKind) {
        #[cfg(feature = "tracing")]
        self.0.span.record("transport", transport.as_str());
        #[cfg(not(feature = "tracing"))]
        let _ = transport;
    }

    /// The session id.
    pub fn id(&self) -> &str {
        &self.0.id
    }

    /// The session id as a shared string.
    pub fn id_str(&self) -> &Str {
        &self.0.id
    }

    /// The Engine.IO revision of the client.
    pub fn protocol(&self) -> ProtocolVersion {
        self.0.protocol
    }

    /// The transport in use.
    pub fn transport(&self) -> TransportKind {
        self.lock().transport
    }

    /// Whether the session is open, closing or closed.
    pub fn ready_state(&self) -> ReadyState {
        self.lock().ready
    }

    /// The request that opened the session.
    pub fn request(&self) -> &RequestInfo {
        &self.0.request
    }

    /// How many packets wait to be written.
    pub fn buffered(&self) -> usize {
        self.lock().queue.len()
    }

    /// Sends a text message.
    pub fn send_text(&self, text: impl Into<Str>) -> Result<(), SendError> {
        self.send(Packet::message(text), SendOptions::default())
    }

    /// Sends a binary message.
    pub fn send_binary(&self, data: impl Into<bytes::Bytes>) -> Result<(), SendError> {
        self.send(Packet::binary(data), SendOptions::default())
    }

    /// Queues a packet. Packets queued while a write is in flight go out together in the next write.
    pub fn send(&self, packet: Packet, options: SendOptions) -> Result<(), SendError> {
        self.send_outgoing(OutBody::Packet(packet), None, options)
    }

    /// Queues a message encoded beforehand (see [`EncodedMessage`]), as [`Socket::send`] does.
    pub fn send_encoded(&self, message: &EncodedMessage, options: SendOptions) -> Result<(), SendError> {
        match &message.encoded {
            Some(frame) => {
                self.send_outgoing(OutBody::Encoded(frame.clone()), Some(&message.packet), options)
            }
            None => self.send_outgoing(OutBody::Packet(message.packet.clone()), None, options),
        }
    }

    /// Queues `body`; the handler's observers see `shown`, or the body's own packet.
    fn send_outgoing(
        &self,
        body: OutBody,
        shown: Option<&Packet>,
        options: SendOptions,
    ) -> Result<(), SendError> {
        let handler = &self.0.shared.handler;
        let out = Outgoing { body, compress: options.compress, volatile: options.volatile };
        if !handler.observes_outgoing() {
            // Nobody hears of it: checked and queued under one lock.
            let mut st = self.lock();
            if let Err(refusal) = self.admit(&st, options) {
                drop(st);
                return Err(self.refused(refusal));
            }
            self.push(&mut st, out);
            return Ok(());
        }
        // The lock is released before a refusal is acted on (it may close the session).
        let admitted = self.admit(&self.lock(), options);
        if let Err(refusal) = admitted {
            return Err(self.refused(refusal));
        }
        match (&out.body, shown) {
            (_, Some(packet)) | (OutBody::Packet(packet), None) => {
                handler.on_session_event(self, SessionEvent::PacketCreate(packet))
            }
            (OutBody::Encoded(_), None) => {}
        }
        let mut st = self.lock();
        if st.ready != ReadyState::Open {
            return Err(SendError::Closed);
        }
        self.push(&mut st, out);
        Ok(())
    }

    /// Whether the session takes one more packet now.
    fn admit(&self, st: &State, options: SendOptions) -> Result<(), SendError> {
        if st.ready != ReadyState::Open {
            return Err(SendError::Closed);
        }
        if options.volatile && !Self::writable(st) {
            return Err(SendError::Dropped);
        }
        if st.queue.len() >= self.0.shared.config.max_buffered_packets {
            return Err(SendError::Overflow);
        }
        Ok(())
    }

    /// Acts on a refusal of [`admit`](Self::admit), the session's lock released: a full queue drops
    /// the packet or closes the session, as configured.
    fn refused(&self, refusal: SendError) -> SendError {
        match refusal {
            SendError::Overflow => match self.0.shared.config.overflow {
                OverflowPolicy::DropPacket => SendError::Dropped,
                OverflowPolicy::Close => {
                    self.close_with(CloseReason::TransportError, Some("send buffer full"));
                    SendError::Overflow
                }
            },
            other => other,
        }
    }

    /// Closes the session: queued packets are delivered first, then the transport is closed, with the
    /// reason `forced close`.
    ///
    /// On polling, as the reference does, the queued packets and the close packet travel in two
    /// responses: a client handles the packets before it hears of the close. A client that sends no
    /// further GET is dropped after `close_timeout`.
    pub fn close(&self) {
        self.close_gracefully(CloseReason::ForcedClose, self.0.shared.config.close_timeout);
    }

    /// Starts a graceful close that ends with `reason`; a polling client has `wait` to fetch the
    /// last packets and the close packet.
    pub(crate) fn close_gracefully(&self, reason: CloseReason, wait: std::time::Duration) {
        let mut st = self.lock();
        if st.ready != ReadyState::Open {
            return;
        }
        st.ready = ReadyState::Closing;
        st.closing_reason = reason;
        if st.transport == TransportKind::Polling {
            st.closing_deadline = Some(Instant::now() + wait);
            if st.poll_pending {
                self.0.poll_wake.notify_one();
            }
        }
        drop(st);
        self.0.driver_wake.notify_one();
    }

    /// Closes the session for a server shutdown ([`crate::EngineIo::close`]), as the reference closes
    /// every client with a discarding close: a polling session closes at once (a pending GET gets the
    /// queued packets and the close packet; without one they are dropped, nothing waits for the
    /// client's next GET); a websocket has until `wait` to take its last packets. A session already
    /// closing keeps the reason it was closed with.
    pub(crate) fn shutdown(&self, wait: std::time::Duration) {
        let mut st = self.lock();
        let reason = match st.ready {
            ReadyState::Closed => return,
            ReadyState::Closing => st.closing_reason,
            ReadyState::Open => CloseReason::ServerShuttingDown,
        };
        if st.transport == TransportKind::Polling {
            if st.poll_pending {
                // `close_with` leaves the queue to the waiting GET: the close packet ends it.
                st.queue.push_back(Outgoing::plain(Packet::close()));
            }
            drop(st);
            self.close_with(reason, None);
            return;
        }
        st.ready = ReadyState::Closing;
        st.closing_reason = reason;
        let deadline = Instant::now() + wait;
        st.closing_deadline = Some(st.closing_deadline.map_or(deadline, |d| d.min(deadline)));
        drop(st);
        self.0.driver_wake.notify_one();
    }

    /// Brings the heartbeat up to `now`: queues the ping that is due, and tells whether the session has
    /// timed out. The ping counts as queued at the moment it was due, whoever queues it (the session's
    /// task, or a request that came first): its timeout runs from then, so the session is timed out
    /// at pingInterval + pingTimeout exactly, however late a task wakes.
    fn heartbeat_due(&self, st: &mut State, now: Instant) -> bool {
        if st.ready == ReadyState::Open {
            if let Some(due) = st.next_ping.filter(|t| *t <= now) {
                st.next_ping = None;
                st.ping_deadline = Some(due + self.0.shared.config.ping_timeout);
                st.refreshed = false;
                self.push(st, Outgoing::plain(Packet::ping()));
            }
        }
        st.ping_deadline.is_some_and(|d| d <= now)
    }

    /// Whether a request may still reach the session: not once it has closed, nor once its heartbeat
    /// has timed out (it closes here and then, rather than when its task next wakes). A session that
    /// refuses requests is unknown to them, as the reference's session table no longer holds it.
    pub(crate) fn accepts_requests(&self) -> bool {
        let mut st = self.lock();
        if st.ready == ReadyState::Closed {
            return false;
        }
        if !self.heartbeat_due(&mut st, Instant::now()) {
            return true;
        }
        drop(st);
        self.close_with(CloseReason::PingTimeout, None);
        false
    }

    /// Ends a graceful close that ran out of time, with the reason it was started with.
    pub(crate) fn cut_close(&self, description: &str) {
        let reason = self.lock().closing_reason;
        self.close_with(reason, Some(description));
    }

    /// Finishes a graceful close with the reason it was started with.
    pub(crate) fn finish_close(&self) {
        let reason = self.lock().closing_reason;
        self.close_with(reason, None);
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind: keep going with it.
        self.0.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a volatile packet is taken: not when another volatile packet still waits to be written
    /// (one per write at most, so they never pile up), nor when [`VOLATILE_QUEUE_LIMIT`] packets wait
    /// (the client is not keeping up). On polling this does not ask for a GET to be pending at that
    /// instant: the client's next GET is on its way, and on a multi-threaded server it may be read
    /// after a POST that it preceded.
    fn writable(st: &State) -> bool {
        st.queue.len() < VOLATILE_QUEUE_LIMIT && !st.queue.iter().any(|o| o.volatile)
    }

    /// Queues a packet and wakes whoever writes it.
    fn push(&self, st: &mut State, out: Outgoing) {
        st.queue.push_back(out);
        match st.transport {
            // A packet sent by the driver's own task (a handler answering inline) is written when
            // the driver goes round its loop: no wake-up, which would poll the task once more.
            TransportKind::WebSocket if self.0.driver_wake.busy() => {}
            TransportKind::WebSocket => self.0.driver_wake.notify_one(),
            TransportKind::Polling if st.poll_pending => self.0.poll_wake.notify_one(),
            TransportKind::Polling => {}
        }
    }

    /// Closes the session at once with `reason`: the pending GET gets a close packet, the websocket is
    /// closed by the driver, the engine forgets the session and the handler hears of it, once.
    pub(crate) fn close_with(&self, reason: CloseReason, description: Option<&str>) {
        {
            let mut st = self.lock();
            if st.ready == ReadyState::Closed {
                return;
            }
            st.ready = ReadyState::Closed;
            if st.transport == TransportKind::Polling && st.poll_pending {
                // The reference writes packets to a waiting GET at once: they are its answer, not the
                // close packet.
                self.0.poll_wake.notify_one();
            } else {
                st.queue.clear();
            }
        }
        self.0.driver_wake.notify_one();
        self.0.closed_wake.notify_waiters();
        self.0.shared.remove(self);
        tracing::debug!(sid = %self.id(), %reason, ?description, "engine session closed");
        self.0.shared.handler.on_close(self, reason, description);
    }

    /// Handles a packet from the client, whatever the transport.
    pub(crate) fn on_packet(&self, packet: Packet) {
        let handler = &self.0.shared.handler;
        handler.on_session_event(self, SessionEvent::Packet(&packet));
        let config = &self.0.shared.config;
        let v3 = self.0.protocol == ProtocolVersion::V3;
        {
            let mut st = self.lock();
            if st.ready == ReadyState::Closed {
                return;
            }
            // v4: any packet but a pong extends a running ping timeout once.
            if !v3 && packet.ty != PacketType::Pong && st.ping_deadline.is_some() && !st.refreshed {
                st.ping_deadline = Some(Instant::now() + config.ping_timeout);
                st.refreshed = true;
            }
        }
        match packet.ty {
            PacketType::Ping if v3 => {
                self.lock().ping_deadline = Some(Instant::now() + config.ping_interval + config.ping_timeout);
                let pong = match packet.data {
                    PacketData::Text(t) => Packet::text(PacketType::Pong, t),
                    _ => Packet::pong(),
                };
                let _ = self.send(pong, SendOptions::default());
                handler.on_session_event(self, SessionEvent::Heartbeat);
            }
            PacketType::Pong if !v3 => {
                {
                    let mut st = self.lock();
                    st.ping_deadline = None;
                    st.next_ping = Some(Instant::now() + config.ping_interval);
                }
                handler.on_session_event(self, SessionEvent::Heartbeat);
            }
            PacketType::Ping | PacketType::Pong => {
                self.close_with(CloseReason::TransportError, Some("invalid heartbeat direction"));
            }
            PacketType::Message => handler.on_message(self, packet.data),
            // A close packet ends a polling session (the POST handler sees to it); on a websocket the
            // reference ignores it: the client closes the websocket itself.
            PacketType::Close | PacketType::Open | PacketType::Upgrade | PacketType::Noop => {}
        }
    }

    /// What a polling GET takes: `None` when it must wait. The second value asks the GET to finish the
    /// forced close once it has answered.
    pub(crate) fn take_poll_batch(&self, st: &mut State) -> Option<(Vec<Outgoing>, bool)> {
        let close = Outgoing::plain(Packet::close());
        let noop = Outgoing::plain(Packet::noop());
        match st.ready {
            ReadyState::Closed if !st.queue.is_empty() => Some((std::mem::take(&mut st.queue).into(), false)),
            ReadyState::Closed if st.closed_by_client => Some((vec![noop], false)),
            ReadyState::Closed => Some((vec![close], false)),
            ReadyState::Closing if !st.queue.is_empty() => {
                Some((std::mem::take(&mut st.queue).into(), false))
            }
            ReadyState::Closing => Some((vec![close], true)),
            ReadyState::Open if st.transport == TransportKind::WebSocket => Some((vec![noop], false)),
            ReadyState::Open if !st.queue.is_empty() => Some((std::mem::take(&mut st.queue).into(), false)),
            ReadyState::Open if st.probe_done => Some((vec![noop], false)),
            ReadyState::Open => None,
        }
    }

    /// The timers and writes of the session, for its whole life: one task per session.
    pub(crate) async fn drive(self, mut ws: Option<WsStream>) {
        let shared = self.0.shared.clone();
        shared.drivers_started();
        // A write that did not finish leaves the websocket mid-frame: it is then dropped, not closed.
        let mut stuck = false;
        // The status code of the close frame that ends the websocket.
        let mut close_code = NORMAL_CLOSE;
        // Frames to write: pongs, then the packets of each batch; the first may be partly written.
        let mut frames = OutQueue::default();
        let timer = sleep_until(Instant::now() + shared.config.ping_interval);
        let mut timer = std::pin::pin!(timer);
        loop {
            // Everything is looked at below, under the session's lock: a wake-up set before that is
            // moot, and from here on a packet queued must wake the task (see `push`). Whatever
            // changes after the lock was released sets the wake-up again.
            self.0.driver_wake.set_busy(false);
            self.0.driver_wake.clear();
            let now = Instant::now();
            let mut batch = Vec::new();
            let mut timeout = false;
            let mut finish_forced_close = false;
            let wake_at;
            {
                let mut st = self.lock();
                if let Some(new_ws) = st.pending_ws.take() {
                    ws = Some(new_ws);
                }
                if st.ready == ReadyState::Closed {
                    break;
                }
                if self.heartbeat_due(&mut st, now) {
                    timeout = true;
                }
                if st.closing_deadline.is_some_and(|d| d <= now) {
                    finish_forced_close = true;
                }
                if ws.is_some() && st.transport == TransportKind::WebSocket {
                    // Taken, allocation and all: an idle session keeps no queue capacity.
                    batch = std::mem::take(&mut st.queue).into();
                    if st.ready == ReadyState::Closing {
                        finish_forced_close = true;
                    }
                }
                // Pings go out only while open: a closing session must not wake for a ping time it
                // will not act on (it would wake at once, again and again, until its close finished).
                let next_ping = st.next_ping.filter(|_| st.ready == ReadyState::Open);
                wake_at = [st.ping_deadline, next_ping, st.closing_deadline].into_iter().flatten().min();
            }
            if timeout {
                self.close_with(CloseReason::PingTimeout, None);
                break;
            }
            if !batch.is_empty() || !frames.is_empty() {
                if let Some(socket) = ws.as_mut() {
                    let n = batch.len();
                    let handler = &shared.handler;
                    if n > 0 {
                        handler.on_session_event(&self, SessionEvent::Flush(n));
                    }
                    for out in batch {
                        frames.push(OutFrame::packet(self.0.protocol, out));
                    }
                    // Most writes go out at once; only what the connection does not take now waits,
                    // bounded. Boxed: the state of such a write (its deadline, the close
                    // notification) exists while one is in flight only, and an idle session's task
                    // stays small.
                    let written = match socket.try_write(&mut frames) {
                        Ok(()) if frames.is_empty() => Written::Done,
                        Ok(()) => Box::pin(self.write_with_deadline(socket, &mut frames)).await,
                        Err(e) => {
                            self.close_with(CloseReason::TransportError, Some(&e.to_string()));
                            Written::Stuck
                        }
                    };
                    match written {
                        Written::Done => {
                            if frames.is_empty() {
                                // Nothing kept between writes.
                                frames = OutQueue::default();
                            }
                            if n > 0 {
                                handler.on_session_event(&self, SessionEvent::Drain);
                            }
                        }
                        Written::SessionClosed => break,
                        Written::Stuck => {
                            stuck = true;
                            break;
                        }
                    }
                }
            }
            if finish_forced_close {
                self.finish_close();
                break;
            }
            // One timer for the task's life, moved only when the wake-up time changes (a ping sent, a
            // close begun): a wake-up for a packet to write neither registers nor removes a timer.
            if let Some(t) = wake_at.filter(|t| *t != timer.deadline()) {
                timer.as_mut().reset(t);
            }
            // In this order: a message read is handled at once; the loop's top then looks at the
            // queue, the heartbeat and the state whichever branch woke it, so none waits on another.
            tokio::select! {
                biased;
                msg = next_message(&mut ws) => {
                    self.0.driver_wake.set_busy(true);
                    self.on_ws_message(msg, &mut close_code, &mut frames);
                }
                _ = self.0.driver_wake.notified() => {}
                _ = timer.as_mut(), if wake_at.is_some() => {}
            }
        }
        if let Some(mut socket) = ws.filter(|_| !stuck) {
            // The close frame gets a second at most, and no more than what is left of a graceful close.
            let mut limit = std::time::Duration::from_secs(1);
            if let Some(deadline) = self.lock().closing_deadline {
                limit = limit.min(deadline.saturating_duration_since(Instant::now()));
            }
            // Pongs not written yet are dropped: the close frame ends the connection.
            let _ = Box::pin(tokio::time::timeout(limit, socket.close(close_code))).await;
        }
        shared.drivers_finished();
    }

    /// Writes `frames`, bounded: a client that stops reading must not hold the session's task (and the
    /// session) forever. The write ends when the session closes meanwhile (say, its send buffer
    /// overflowed), and it may last as long as a heartbeat round at most, which a live client answers;
    /// a graceful close keeps its own deadline for the last writes.
    async fn write_with_deadline(&self, socket: &mut WsStream, frames: &mut OutQueue) -> Written {
        let closed = self.0.closed_wake.notified();
        let mut closed = std::pin::pin!(closed);
        closed.as_mut().enable();
        if self.ready_state() == ReadyState::Closed {
            return Written::SessionClosed;
        }
        let config = &self.0.shared.config;
        let heartbeat = config.ping_interval + config.ping_timeout;
        let closing = self.lock().closing_deadline;
        let limit = closing.map_or(heartbeat, |d| d.saturating_duration_since(Instant::now()).min(heartbeat));
        let write = socket.write_owned(frames);
        let written = tokio::select! {
            written = tokio::time::timeout(limit, write) => written,
            _ = closed.as_mut() => return Written::Stuck,
        };
        match written {
            Ok(Ok(())) => Written::Done,
            Ok(Err(e)) => {
                self.close_with(CloseReason::TransportError, Some(&e.to_string()));
                Written::Stuck
            }
            Err(_) if closing.is_some() => {
                self.cut_close("the client stopped reading");
                Written::Stuck
            }
            Err(_) => {
                self.close_with(CloseReason::PingTimeout, Some("the client stopped reading"));
                Written::Stuck
            }
        }
    }

    fn on_ws_message(
        &self,
        msg: Option<Result<Incoming, WsError>>,
        close_code: &mut u16,
        frames: &mut OutQueue,
    ) {
        match msg {
            None => self.close_with(CloseReason::TransportClose, None),
            Some(Ok(Incoming::Close(code))) => {
                // The close frame answers with the client's code when it is one that may be sent.
                *close_code = code.filter(|c| sendable_close_code(*c)).unwrap_or(NORMAL_CLOSE);
                self.close_with(CloseReason::TransportClose, None);
            }
            Some(Err(WsError::Decode(e))) => {
                *close_code = e.close_code();
                self.close_with(CloseReason::TransportError, Some(&e.to_string()));
            }
            Some(Err(e)) => self.close_with(CloseReason::TransportError, Some(&e.to_string())),
            Some(Ok(Incoming::Ping(payload))) => {
                // Written when the task goes round its loop, right after this.
                frames.push(OutFrame::pong(payload));
            }
            Some(Ok(Incoming::Pong)) => {}
            Some(Ok(message)) => match crate::websocket::packet_of(self.0.protocol, message) {
                Ok(Some(packet)) => self.on_packet(packet),
                Ok(None) => {}
                Err(_) => self.close_with(CloseReason::ParseError, None),
            },
        }
    }
}

/// Whether a close code received may be sent back (RFC 6455 7.4: 1005, 1006 and 1015 are never sent;
/// below 1000 and 1016 to 2999 unassigned).
fn sendable_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// What wakes a session's task: a flag with the task's waker, lock-free (a wake-up is set far more often
/// than the task waits), and whether the task is busy with a message it read, when packets it queues
/// itself need no wake-up.
#[derive(Default)]
pub(crate) struct DriverWake {
    woken: AtomicBool,
    busy: AtomicBool,
    waker: AtomicWaker,
}

impl DriverWake {
    /// Wakes the task, or has its next wait end at once.
    pub(crate) fn notify_one(&self) {
        self.woken.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// Forgets a wake-up not waited for yet: the task is about to look at everything anyway.
    fn clear(&self) {
        self.woken.store(false, Ordering::Release);
    }

    /// Whether the session's task is handling a message it read (packets queued then are written
    /// when it goes round its loop).
    fn busy(&self) -> bool {
        self.busy.load(Ordering::Acquire)
    }

    fn set_busy(&self, busy: bool) {
        self.busy.store(busy, Ordering::Release);
    }

    /// Waits for a wake-up (the session's task alone waits).
    async fn notified(&self) {
        std::future::poll_fn(|cx| {
            if self.woken.swap(false, Ordering::AcqRel) {
                return Poll::Ready(());
            }
            self.waker.register(cx.waker());
            if self.woken.swap(false, Ordering::AcqRel) {
                return Poll::Ready(());
            }
            Poll::Pending
        })
        .await
    }
}

/// How a bounded write of the session's task ended.
enum Written {
    /// Every frame went out.
    Done,
    /// The session had closed before the write began.
    SessionClosed,
    /// The websocket is left mid-frame or failed: dropped, not closed.
    Stuck,
}

/// The next websocket message, or never when there is no websocket.
async fn next_message(ws: &mut Option<WsStream>) -> Option<Result<Incoming, WsError>> {
    match ws {
        Some(ws) => ws.next().await,
        None => std::future::pending().await,
    }
}
