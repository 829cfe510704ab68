//! The cluster protocol of `socket.io-adapter`'s `ClusterAdapter` and `ClusterAdapterWithHeartbeat`,
//! shared by every bus that speaks it (Postgres, sharded Redis, Redis Streams): every operation is a
//! message `{type, data, uid, nsp}` published to all nodes of the namespace. Nodes either announce
//! themselves with heartbeats (Postgres), or the bus counts them (Redis, with `PUBSUB NUMSUB`).
//!
//! [`ClusterAdapter`] implements [`Adapter`] on top of a [`ClusterBus`], which only moves messages:
//! it publishes them and hands each received one to [`ClusterAdapter::on_message`]. A bus that stores
//! messages (Redis Streams) gives back an offset for each, and then keeps the sessions of connection
//! state recovery too, so that a client can recover on any node.
//!
//! | type | message | data |
//! |---|---|---|
//! | 1 | INITIAL_HEARTBEAT (a node starts; others answer with a heartbeat) | |
//! | 2 | HEARTBEAT (every 5 s; a node unheard of for 10 s is gone) | |
//! | 3 | BROADCAST | `{packet, opts, requestId?}` |
//! | 4, 5 | SOCKETS_JOIN, SOCKETS_LEAVE | `{opts, rooms}` |
//! | 6 | DISCONNECT_SOCKETS | `{opts, close}` |
//! | 7, 8 | FETCH_SOCKETS, FETCH_SOCKETS_RESPONSE | `{opts, requestId}`, `{requestId, sockets}` |
//! | 9, 10 | SERVER_SIDE_EMIT, SERVER_SIDE_EMIT_RESPONSE | `{packet, requestId?}`, `{requestId, packet}` |
//! | 11, 12 | BROADCAST_CLIENT_COUNT, BROADCAST_ACK | `{requestId, clientCount}`, `{requestId, packet}` |
//! | 13 | ADAPTER_CLOSE (a node leaves) | |

use crate::memory::MemoryAdapter;
use crate::types::{
    AckEvent, Adapter, AdapterError, BroadcastFlags, BroadcastOptions, ErrorHooks, LocalNamespace,
    RestoredSession, Room, RoomEvent, SessionState, Sid, SocketInfo,
};
use async_trait::async_trait;
use socketio_parser::{Map, Packet, PacketData, Value};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// The message types of the protocol.
pub mod message_type {
    /// A node starts: the others answer with a heartbeat.
    pub const INITIAL_HEARTBEAT: u64 = 1;
    /// A node is alive.
    pub const HEARTBEAT: u64 = 2;
    /// A broadcast (with a `requestId` when acks are expected).
    pub const BROADCAST: u64 = 3;
    /// `socketsJoin`.
    pub const SOCKETS_JOIN: u64 = 4;
    /// `socketsLeave`.
    pub const SOCKETS_LEAVE: u64 = 5;
    /// `disconnectSockets`.
    pub const DISCONNECT_SOCKETS: u64 = 6;
    /// `fetchSockets`.
    pub const FETCH_SOCKETS: u64 = 7;
    /// The answer to `fetchSockets`.
    pub const FETCH_SOCKETS_RESPONSE: u64 = 8;
    /// `serverSideEmit` (with a `requestId` when answers are expected).
    pub const SERVER_SIDE_EMIT: u64 = 9;
    /// An answer to `serverSideEmit`.
    pub const SERVER_SIDE_EMIT_RESPONSE: u64 = 10;
    /// How many clients a broadcast with acks reached on a node.
    pub const BROADCAST_CLIENT_COUNT: u64 = 11;
    /// A client's answer to a broadcast with acks.
    pub const BROADCAST_ACK: u64 = 12;
    /// A node leaves.
    pub const ADAPTER_CLOSE: u64 = 13;
}
use message_type as kind;

/// The uid of messages from an emitter process (not a node: never counted).
const EMITTER_UID: &str = "emitter";

/// At most this many queued messages are handed to [`ClusterBus::publish_all`] at once.
const PUBLISH_BATCH: usize = 256;

/// Moves the messages of the cluster protocol. Implemented by each bus (Postgres, Redis, ...).
#[async_trait]
pub trait ClusterBus: Send + Sync + 'static {
    /// Publishes `message` (an object with `type`, `uid`, `nsp` and maybe `data`) to every node of its
    /// namespace, this one included (the adapter ignores its own messages). A bus that stores messages
    /// gives back the offset of this one (see [`ClusterBus::keeps_sessions`]).
    async fn publish(&self, message: Value) -> Result<Option<String>, AdapterError>;

    /// Publishes `messages` in order, with the result of each: what the adapter's publisher does with
    /// the messages that queued up while it waited for the last ones. By default one after the other;
    /// a bus that can pipeline them (and not wait a round trip per message) should.
    async fn publish_all(&self, messages: Vec<Value>) -> Vec<Result<Option<String>, AdapterError>> {
        let mut results = Vec::with_capacity(messages.len());
        for message in messages {
            results.push(self.publish(message).await);
        }
        results
    }

    /// Publishes a response meant for the node `requester_uid` (by default, to every node: the others
    /// ignore a response to a request they did not send).
    async fn publish_response(&self, requester_uid: &str, message: Value) -> Result<(), AdapterError> {
        let _ = requester_uid;
        self.publish(message).await.map(|_| ())
    }

    /// Starts handing the messages of namespace `nsp` to `adapter` ([`ClusterAdapter::on_message`]).
    fn register(&self, nsp: &str, adapter: Weak<ClusterAdapter>);

    /// Stops delivering the messages of namespace `nsp`.
    fn unregister(&self, nsp: &str);

    /// Resolves once messages of namespace `nsp` are being received (e.g. the subscription is in
    /// place), so that the answers to this node's first heartbeat are not missed. At once by default.
    async fn subscribed(&self, nsp: &str) {
        let _ = nsp;
    }

    /// Whether the bus itself knows how many nodes serve a namespace ([`ClusterBus::server_count`]).
    /// Then the adapter sends no heartbeats, and a request waits for `server_count - 1` answers (the
    /// Node `ClusterAdapter`); otherwise nodes are known by their heartbeats (`ClusterAdapterWithHeartbeat`).
    fn counts_servers(&self) -> bool {
        false
    }

    /// How many nodes serve namespace `nsp`, this one included (when [`ClusterBus::counts_servers`]).
    async fn server_count(&self, nsp: &str) -> Result<usize, AdapterError> {
        let _ = nsp;
        Ok(1)
    }

    /// Whether the bus keeps the sessions of connection state recovery and the broadcasts they may miss,
    /// with [`ClusterBus::publish`] giving back offsets. Otherwise each node keeps nothing to recover.
    fn keeps_sessions(&self) -> bool {
        false
    }

    /// Stores the session of a socket that disconnected, for `ttl`.
    async fn persist_session(
        &self,
        nsp: &str,
        session: SessionState,
        ttl: Duration,
    ) -> Result<(), AdapterError> {
        let _ = (nsp, session, ttl);
        Ok(())
    }

    /// Takes back the session `pid` of namespace `nsp` with the broadcasts it missed after `offset`.
    async fn restore_session(
        &self,
        nsp: &str,
        pid: &str,
        offset: &str,
    ) -> Result<Option<RestoredSession>, AdapterError> {
        let _ = (nsp, pid, offset);
        Ok(None)
    }

    /// Where the adapters on this bus report errors.
    fn errors(&self) -> ErrorHooks {
        ErrorHooks::default()
    }
}

/// Timings of the protocol, with the defaults of the Node adapters.
#[derive(Debug, Clone, Copy)]
pub struct ClusterConfig {
    /// How often a node says it is alive (default 5 s).
    pub heartbeat_interval: Duration,
    /// After how long without news a node is considered gone (default 10 s).
    pub heartbeat_timeout: Duration,
    /// How long requests wait for the other nodes' answers (default 5 s).
    pub requests_timeout: Duration,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            heartbeat_interval: Duration::from_secs(5),
            heartbeat_timeout: Duration::from_secs(10),
            requests_timeout: Duration::from_secs(5),
        }
    }
}

/// Whom a request waits for.
enum Waiting {
    /// One answer from each of these nodes (known by their heartbeats).
    Nodes(HashSet<String>),
    /// This many more answers (the bus counted the nodes).
    Count(usize),
}

impl Waiting {
    fn answered(&mut self, from: &str) {
        match self {
            Waiting::Nodes(missing) => {
                missing.remove(from);
            }
            Waiting::Count(n) => *n = n.saturating_sub(1),
        }
    }

    fn done(&self) -> bool {
        match self {
            Waiting::Nodes(missing) => missing.is_empty(),
            Waiting::Count(n) => *n == 0,
        }
    }
}

/// A request waiting for its answers.
struct Pending {
    waiting: Waiting,
    answers: Vec<Value>,
    done: Option<oneshot::Sender<Vec<Value>>>,
}

/// A message to publish, and maybe the local delivery of a broadcast that waits for its offset.
struct Outgoing {
    message: Value,
    then_deliver: Option<(Packet, BroadcastOptions)>,
}

/// The adapter of one namespace on a [`ClusterBus`]: local work through a [`MemoryAdapter`], the rest
/// through messages.
pub struct ClusterAdapter {
    local: Arc<MemoryAdapter>,
    nsp: Arc<dyn LocalNamespace>,
    name: String,
    uid: String,
    config: ClusterConfig,
    /// Messages to publish, in order (broadcasts are synchronous; their publishing is not).
    outbox: mpsc::Sender<Outgoing>,
    /// Whether the bus counts the nodes (no heartbeats then).
    counted: bool,
    /// Whether the bus keeps recovery sessions and gives offsets, and recovery is on.
    bus_sessions: bool,
    errors: ErrorHooks,
    /// Whether the publishing queue is dropping messages.
    overflow: crate::Overflow,
    /// Other nodes, by uid, with when they were last heard of.
    nodes: Mutex<HashMap<String, Instant>>,
    /// fetchSockets and serverSideEmit requests, by request id.
    requests: Mutex<HashMap<String, Pending>>,
    /// Broadcasts with acks sent from here, by request id.
    ack_requests: Mutex<HashMap<String, mpsc::UnboundedSender<AckEvent>>>,
    bus: Arc<dyn ClusterBus>,
    /// This adapter, for the tasks it starts (which must not keep it alive).
    me: Weak<ClusterAdapter>,
    /// Set by [`Adapter::close`]: the node has left; it sends and handles nothing more.
    closed: std::sync::atomic::AtomicBool,
    /// Batches being published and sessions being stored: [`Adapter::close`] waits for them.
    busy: Arc<Busy>,
}

/// Counts work in flight on the bus; [`Busy::idle`] resolves when none is left.
#[derive(Default)]
struct Busy {
    count: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
}

/// Held while one piece of work is in flight.
struct BusyGuard(Arc<Busy>);

impl Busy {
    fn start(self: &Arc<Self>) -> BusyGuard {
        self.count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        BusyGuard(self.clone())
    }

    /// Resolves once nothing is in flight and `queued()` says nothing waits.
    async fn idle(&self, queued: impl Fn() -> bool) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.count.load(std::sync::atomic::Ordering::SeqCst) == 0 && !queued() {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl std::fmt::Debug for ClusterAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterAdapter")
            .field("nsp", &self.name)
            .field("uid", &self.uid)
            .finish_non_exhaustive()
    }
}

/// 16 hex digits of randomness, as the Node adapters make their uids and request ids.
pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl ClusterAdapter {
    /// The adapter of namespace `nsp` on `bus`: registers with the bus, announces itself, and keeps
    /// its heartbeat going until the namespace is gone or [`Adapter::close`] is called.
    pub fn new(nsp: Arc<dyn LocalNamespace>, bus: Arc<dyn ClusterBus>, config: ClusterConfig) -> Arc<Self> {
        let (outbox, mut queue) = mpsc::channel::<Outgoing>(crate::OUTBOX_LIMIT);
        let counted = bus.counts_servers();
        let bus_sessions = bus.keeps_sessions() && nsp.recovery_window().is_some();
        let local = if bus_sessions {
            MemoryAdapter::without_recovery(nsp.clone())
        } else {
            MemoryAdapter::new(nsp.clone())
        };
        let adapter = Arc::new_cyclic(|me| ClusterAdapter {
            local,
            name: nsp.name().to_string(),
            nsp,
            uid: random_id(),
            config,
            outbox,
            counted,
            bus_sessions,
            errors: bus.errors(),
            overflow: crate::Overflow::default(),
            nodes: Mutex::new(HashMap::new()),
            requests: Mutex::new(HashMap::new()),
            ack_requests: Mutex::new(HashMap::new()),
            bus: bus.clone(),
            me: me.clone(),
            closed: std::sync::atomic::AtomicBool::new(false),
            busy: Arc::default(),
        });
        bus.register(&adapter.name, Arc::downgrade(&adapter));
        // The publisher, in order, once this node receives too: whatever queued up while the last
        // messages were published goes out together. Failures are reported, not fatal. A broadcast
        // waiting for its offset is delivered here once it has it.
        let name = adapter.name.clone();
        let weak = Arc::downgrade(&adapter);
        let busy = adapter.busy.clone();
        tokio::spawn(async move {
            bus.subscribed(&name).await;
            let mut batch = Vec::with_capacity(PUBLISH_BATCH);
            while queue.recv_many(&mut batch, PUBLISH_BATCH).await > 0 {
                let _busy = busy.start();
                let (messages, deliveries): (Vec<Value>, Vec<_>) =
                    batch.drain(..).map(|out| (out.message, out.then_deliver)).unzip();
                let results = bus.publish_all(messages).await;
                crate::report_failures(
                    &bus.errors(),
                    "cluster adapter",
                    results.iter().map(|r| r.as_ref().err()),
                );
                let mut results = results.into_iter();
                for then_deliver in deliveries {
                    let offset = results.next().and_then(Result::ok).flatten();
                    if let (Some((mut packet, opts)), Some(adapter)) = (then_deliver, weak.upgrade()) {
                        adapter.add_offset(&mut packet, &opts, offset.as_deref());
                        adapter.local.broadcast_local(&packet, &opts);
                    }
                }
            }
        });
        if counted {
            return adapter;
        }
        adapter.publish(kind::INITIAL_HEARTBEAT, None);
        let weak = Arc::downgrade(&adapter);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut last_heartbeat = Instant::now();
            loop {
                tick.tick().await;
                let Some(adapter) = weak.upgrade() else { return };
                if adapter.is_closed() {
                    return;
                }
                if last_heartbeat.elapsed() >= adapter.config.heartbeat_interval {
                    adapter.publish(kind::HEARTBEAT, None);
                    last_heartbeat = Instant::now();
                }
                let timeout = adapter.config.heartbeat_timeout;
                let gone: Vec<String> = adapter
                    .nodes
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .filter(|(_, seen)| seen.elapsed() > timeout)
                    .map(|(uid, _)| uid.clone())
                    .collect();
                for uid in gone {
                    adapter.remove_node(&uid);
                }
            }
        });
        adapter
    }

    /// The factory to give the server: one adapter per namespace, all on `bus`.
    pub fn factory(bus: Arc<dyn ClusterBus>, config: ClusterConfig) -> crate::AdapterFactory {
        Arc::new(move |nsp| ClusterAdapter::new(nsp, bus.clone(), config) as Arc<dyn Adapter>)
    }

    /// This node's id in the cluster.
    pub fn uid(&self) -> &str {
        &self.uid
    }

    fn message(&self, ty: u64, data: Option<Value>) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), Value::from(ty));
        if let Some(data) = data {
            m.insert("data".into(), data);
        }
        m.insert("uid".into(), Value::from(self.uid.as_str()));
        m.insert("nsp".into(), Value::from(self.name.as_str()));
        Value::Object(m)
    }

    /// The publishing queue is full: the message is dropped, and the error hooks hear of it when the
    /// overload starts.
    fn report_full(&self) {
        if self.overflow.dropped() {
            self.errors.report(AdapterError::Bus(format!(
                "cluster adapter: {} messages wait to be published; more are dropped until they drain",
                crate::OUTBOX_LIMIT
            )));
        }
    }

    fn is_closed(&self) -> bool {
        self.closed.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Queues a message for the publisher; whether it was queued (not when the queue is full or the
    /// adapter closed).
    fn publish(&self, ty: u64, data: Option<Value>) -> bool {
        if self.is_closed() {
            return false;
        }
        match self.outbox.try_send(Outgoing { message: self.message(ty, data), then_deliver: None }) {
            Ok(()) => {
                self.overflow.queued();
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.report_full();
                false
            }
            Err(_) => false,
        }
    }

    /// Appends a broadcast's offset to its data where recovery keeps it: an event without ack, not
    /// volatile, with recovery on.
    fn add_offset(&self, packet: &mut Packet, opts: &BroadcastOptions, offset: Option<&str>) {
        let Some(offset) = offset else { return };
        if !self.bus_sessions || packet.id.is_some() || opts.flags.volatile {
            return;
        }
        if let PacketData::Event(data) = &mut packet.data {
            data.push(Value::from(offset));
        }
    }

    fn respond(self: &Arc<Self>, requester: &str, ty: u64, data: Value) {
        let message = self.message(ty, Some(data));
        let bus = self.bus.clone();
        let requester = requester.to_string();
        tokio::spawn(async move {
            if let Err(e) = bus.publish_response(&requester, message).await {
                bus.errors()
                    .report(AdapterError::Bus(format!("cluster adapter: publishing a response failed: {e}")));
            }
        });
    }

    fn known_nodes(&self) -> HashSet<String> {
        self.nodes.lock().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect()
    }

    fn remove_node(&self, uid: &str) {
        self.nodes.lock().unwrap_or_else(|e| e.into_inner()).remove(uid);
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        let finished: Vec<String> = requests
            .iter_mut()
            .filter_map(|(id, p)| {
                if let Waiting::Nodes(missing) = &mut p.waiting {
                    missing.remove(uid);
                }
                p.waiting.done().then(|| id.clone())
            })
            .collect();
        for id in finished {
            if let Some(mut p) = requests.remove(&id) {
                if let Some(done) = p.done.take() {
                    let _ = done.send(std::mem::take(&mut p.answers));
                }
            }
        }
    }

    /// Handles a message of this namespace from the bus; `offset` is where the bus stored it, if it
    /// stores messages.
    pub fn on_message(self: &Arc<Self>, message: Value, offset: Option<&str>) {
        if self.is_closed() {
            return;
        }
        let Some(uid) = message.get("uid").and_then(Value::as_str).map(str::to_owned) else { return };
        if uid == self.uid {
            return;
        }
        if message.get("nsp").and_then(Value::as_str).is_some_and(|n| n != self.name) {
            return;
        }
        if uid != EMITTER_UID {
            self.nodes.lock().unwrap_or_else(|e| e.into_inner()).insert(uid.clone(), Instant::now());
        }
        let data = message.get("data").cloned().unwrap_or_default();
        let request_id = data.get("requestId").and_then(Value::as_str).map(str::to_owned);
        match message.get("type").and_then(Value::as_u64) {
            Some(kind::INITIAL_HEARTBEAT) => {
                self.publish(kind::HEARTBEAT, None);
            }
            Some(kind::HEARTBEAT) => {}
            Some(kind::ADAPTER_CLOSE) => self.remove_node(&uid),
            Some(kind::BROADCAST) => {
                let opts = options_from(data.get("opts"));
                let Some(packet) = self.packet_from(data.get("packet")) else { return };
                match request_id {
                    None => {
                        let mut packet = packet;
                        self.add_offset(&mut packet, &opts, offset);
                        self.local.broadcast_local(&packet, &opts)
                    }
                    Some(request_id) => self.broadcast_with_remote_ack(&uid, request_id, packet, &opts),
                }
            }
            Some(kind::SOCKETS_JOIN) => {
                let rooms: Vec<Room> = strings(data.get("rooms")).into_iter().collect();
                self.local.add_sockets_local(&options_from(data.get("opts")), &rooms);
            }
            Some(kind::SOCKETS_LEAVE) => {
                let rooms: Vec<Room> = strings(data.get("rooms")).into_iter().collect();
                self.local.del_sockets_local(&options_from(data.get("opts")), &rooms);
            }
            Some(kind::DISCONNECT_SOCKETS) => {
                let close = data.get("close").and_then(Value::as_bool).unwrap_or(false);
                self.local.disconnect_sockets_local(&options_from(data.get("opts")), close);
            }
            Some(kind::FETCH_SOCKETS) => {
                let Some(request_id) = request_id else { return };
                let sockets = self.local.fetch_sockets_local(&options_from(data.get("opts")));
                let sockets = Value::Array(sockets.iter().map(socket_info_value).collect());
                let answer = object(vec![("requestId", Value::from(request_id)), ("sockets", sockets)]);
                self.respond(&uid, kind::FETCH_SOCKETS_RESPONSE, answer);
            }
            Some(kind::SERVER_SIDE_EMIT) => {
                let args = data.get("packet").and_then(Value::as_array).cloned().unwrap_or_default();
                let answer = request_id.map(|request_id| {
                    let adapter = self.clone();
                    move |answer| {
                        let data = object(vec![("requestId", Value::from(request_id)), ("packet", answer)]);
                        adapter.respond(&uid, kind::SERVER_SIDE_EMIT_RESPONSE, data);
                    }
                });
                deliver_server_side_emit(self.nsp.as_ref(), args, answer);
            }
            Some(kind::FETCH_SOCKETS_RESPONSE) => {
                let sockets = data.get("sockets").and_then(Value::as_array).cloned().unwrap_or_default();
                self.on_answer(request_id, &uid, sockets);
            }
            Some(kind::SERVER_SIDE_EMIT_RESPONSE) => {
                let answer = data.get("packet").cloned().unwrap_or_default();
                self.on_answer(request_id, &uid, vec![answer]);
            }
            Some(kind::BROADCAST_CLIENT_COUNT) => {
                let n = data.get("clientCount").and_then(Value::as_u64).unwrap_or(0) as usize;
                self.on_ack_event(request_id, AckEvent::ClientCount(n));
            }
            Some(kind::BROADCAST_ACK) => {
                let answer = data.get("packet").cloned().unwrap_or_default();
                self.on_ack_event(request_id, AckEvent::Response(vec![answer]));
            }
            _ => {}
        }
    }

    /// The packet of a broadcast, in this namespace.
    fn packet_from(&self, v: Option<&Value>) -> Option<Packet> {
        let mut object = v?.clone();
        if let Some(m) = object.as_object_mut() {
            m.insert("nsp".into(), Value::from(self.name.as_str()));
        }
        Packet::from_object(object).ok()
    }

    /// A broadcast with acks from node `requester`: deliver here, tell it how many clients were
    /// reached, then forward each client's answer.
    fn broadcast_with_remote_ack(
        self: &Arc<Self>,
        requester: &str,
        request_id: String,
        packet: Packet,
        opts: &BroadcastOptions,
    ) {
        let (tx, mut rx) = mpsc::unbounded_channel();
        self.local.broadcast_with_ack_local(packet, opts, tx);
        let adapter = self.clone();
        let requester = requester.to_string();
        let timeout = opts.flags.timeout.unwrap_or(self.config.requests_timeout);
        tokio::spawn(async move {
            let forward = async {
                while let Some(event) = rx.recv().await {
                    let (ty, data) = match event {
                        AckEvent::ClientCount(n) => (
                            kind::BROADCAST_CLIENT_COUNT,
                            object(vec![
                                ("requestId", Value::from(request_id.as_str())),
                                ("clientCount", Value::from(n)),
                            ]),
                        ),
                        AckEvent::Response(mut args) => (
                            kind::BROADCAST_ACK,
                            object(vec![
                                ("requestId", Value::from(request_id.as_str())),
                                ("packet", if args.is_empty() { Value::Null } else { args.swap_remove(0) }),
                            ]),
                        ),
                    };
                    adapter.respond(&requester, ty, data);
                }
            };
            let _ = tokio::time::timeout(timeout, forward).await;
        });
    }

    fn on_answer(&self, request_id: Option<String>, from: &str, answers: Vec<Value>) {
        let Some(request_id) = request_id else { return };
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        let Some(pending) = requests.get_mut(&request_id) else { return };
        pending.answers.extend(answers);
        pending.waiting.answered(from);
        if pending.waiting.done() {
            if let Some(mut pending) = requests.remove(&request_id) {
                if let Some(done) = pending.done.take() {
                    let _ = done.send(std::mem::take(&mut pending.answers));
                }
            }
        }
    }

    fn on_ack_event(&self, request_id: Option<String>, event: AckEvent) {
        let Some(request_id) = request_id else { return };
        let acks = self.ack_requests.lock().unwrap_or_else(|e| e.into_inner()).get(&request_id).cloned();
        if let Some(acks) = acks {
            let _ = acks.send(event);
        }
    }

    /// Sends a request to every known node and waits for one answer each (or the timeout, failing with
    /// the answers received).
    async fn request(&self, ty: u64, mut data: Map, timeout: Duration) -> Result<Vec<Value>, AdapterError> {
        // Counting the servers and waiting for their answers share the timeout.
        let deadline = tokio::time::Instant::now() + timeout;
        let waiting = if self.counted {
            let count = tokio::time::timeout_at(deadline, self.bus.server_count(&self.name)).await;
            Waiting::Count(count.map_err(|_| AdapterError::Timeout)??.saturating_sub(1))
        } else {
            Waiting::Nodes(self.known_nodes())
        };
        let expected = match &waiting {
            Waiting::Nodes(missing) => missing.len(),
            Waiting::Count(n) => *n,
        };
        if expected == 0 {
            return Ok(Vec::new());
        }
        #[cfg(feature = "metrics")]
        crate::metrics::request(request_kind(ty));
        let request_id = random_id();
        let (tx, rx) = oneshot::channel();
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(request_id.clone(), Pending { waiting, answers: Vec::new(), done: Some(tx) });
        data.insert("requestId".into(), Value::from(request_id.as_str()));
        if !self.publish(ty, Some(Value::Object(data))) {
            // No node will hear of it: fail now rather than at the timeout.
            self.requests.lock().unwrap_or_else(|e| e.into_inner()).remove(&request_id);
            #[cfg(feature = "metrics")]
            crate::metrics::request_failed(request_kind(ty));
            let why = if self.is_closed() { "the adapter is closed" } else { "the publishing queue is full" };
            return Err(AdapterError::Bus(format!(
                "cluster adapter: the {} request was not sent ({why})",
                request_kind(ty)
            )));
        }
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(answers)) => Ok(answers),
            _ => {
                #[cfg(feature = "metrics")]
                crate::metrics::request_failed(request_kind(ty));
                let pending = self.requests.lock().unwrap_or_else(|e| e.into_inner()).remove(&request_id);
                let responses = pending.map(|p| p.answers).unwrap_or_default();
                Err(AdapterError::PartialTimeout { expected, responses })
            }
        }
    }
}

#[async_trait]
impl Adapter for ClusterAdapter {
    crate::forward_membership!(local);

    fn broadcast(&self, packet: Packet, opts: BroadcastOptions) -> Result<(), AdapterError> {
        if opts.flags.local {
            self.local.broadcast_local(&packet, &opts);
            return Ok(());
        }
        let data = object(vec![("packet", packet.to_object()), ("opts", options_value(&opts))]);
        if self.bus_sessions && !self.is_closed() {
            // Delivered here once the bus has stored it, with its offset.
            let message = self.message(kind::BROADCAST, Some(data));
            let then_deliver = Some((packet, opts));
            match self.outbox.try_send(Outgoing { message, then_deliver }) {
                Ok(()) => self.overflow.queued(),
                Err(mpsc::error::TrySendError::Full(Outgoing {
                    then_deliver: Some((packet, opts)), ..
                })) => {
                    // Local delivery goes on without the bus.
                    self.report_full();
                    self.local.broadcast_local(&packet, &opts);
                }
                Err(mpsc::error::TrySendError::Closed(Outgoing {
                    then_deliver: Some((packet, opts)),
                    ..
                })) => {
                    self.local.broadcast_local(&packet, &opts);
                }
                Err(_) => {}
            }
            return Ok(());
        }
        self.publish(kind::BROADCAST, Some(data));
        self.local.broadcast_local(&packet, &opts);
        Ok(())
    }

    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
        acks: mpsc::UnboundedSender<AckEvent>,
    ) -> Result<(), AdapterError> {
        if !opts.flags.local {
            let request_id = random_id();
            self.ack_requests
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(request_id.clone(), acks.clone());
            let data = object(vec![
                ("packet", packet.to_object()),
                ("requestId", Value::from(request_id.as_str())),
                ("opts", options_value(&opts)),
            ]);
            self.publish(kind::BROADCAST, Some(data));
            // Forget the request once the emitter stops waiting.
            let timeout = opts.flags.timeout.unwrap_or(self.config.requests_timeout);
            let weak = self.me.clone();
            let waiting = acks.clone();
            tokio::spawn(async move {
                let _ = tokio::time::timeout(timeout, waiting.closed()).await;
                if let Some(adapter) = weak.upgrade() {
                    adapter.ack_requests.lock().unwrap_or_else(|e| e.into_inner()).remove(&request_id);
                }
            });
        }
        self.local.broadcast_with_ack_local(packet, &opts, acks);
        Ok(())
    }

    async fn server_count(&self) -> usize {
        if self.counted {
            return match self.bus.server_count(&self.name).await {
                Ok(n) => n.max(1),
                Err(e) => {
                    self.errors.report(e);
                    1
                }
            };
        }
        1 + self.nodes.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    async fn ready(&self) {
        self.bus.subscribed(&self.name).await;
    }

    async fn fetch_sockets(&self, opts: BroadcastOptions) -> Result<Vec<SocketInfo>, AdapterError> {
        let mut sockets = self.local.fetch_sockets_local(&opts);
        if opts.flags.local {
            return Ok(sockets);
        }
        let timeout = opts.flags.timeout.unwrap_or(self.config.requests_timeout);
        let mut data = Map::new();
        data.insert("opts".into(), options_value(&opts));
        let answers = match self.request(kind::FETCH_SOCKETS, data, timeout).await {
            Ok(answers) => answers,
            Err(AdapterError::PartialTimeout { .. }) => return Err(AdapterError::Timeout),
            Err(e) => return Err(e),
        };
        sockets.extend(answers.iter().filter_map(socket_info_from));
        Ok(sockets)
    }

    async fn add_sockets(&self, opts: BroadcastOptions, rooms: Vec<Room>) -> Result<(), AdapterError> {
        if !opts.flags.local {
            let data = object(vec![("opts", options_value(&opts)), ("rooms", room_values(&rooms))]);
            self.publish(kind::SOCKETS_JOIN, Some(data));
        }
        self.local.add_sockets_local(&opts, &rooms);
        Ok(())
    }

    async fn del_sockets(&self, opts: BroadcastOptions, rooms: Vec<Room>) -> Result<(), AdapterError> {
        if !opts.flags.local {
            let data = object(vec![("opts", options_value(&opts)), ("rooms", room_values(&rooms))]);
            self.publish(kind::SOCKETS_LEAVE, Some(data));
        }
        self.local.del_sockets_local(&opts, &rooms);
        Ok(())
    }

    async fn disconnect_sockets(&self, opts: BroadcastOptions, close: bool) -> Result<(), AdapterError> {
        if !opts.flags.local {
            let data = object(vec![("opts", options_value(&opts)), ("close", Value::Bool(close))]);
            self.publish(kind::DISCONNECT_SOCKETS, Some(data));
        }
        self.local.disconnect_sockets_local(&opts, close);
        Ok(())
    }

    async fn server_side_emit(&self, args: Vec<Value>) -> Result<(), AdapterError> {
        self.publish(kind::SERVER_SIDE_EMIT, Some(object(vec![("packet", Value::Array(args))])));
        Ok(())
    }

    async fn server_side_emit_with_ack(&self, args: Vec<Value>) -> Result<Vec<Value>, AdapterError> {
        let mut data = Map::new();
        data.insert("packet".into(), Value::Array(args));
        self.request(kind::SERVER_SIDE_EMIT, data, self.config.requests_timeout).await
    }

    fn persist_session(&self, session: SessionState) {
        let Some(ttl) = self.nsp.recovery_window().filter(|_| self.bus_sessions) else {
            return self.local.persist_session(session);
        };
        let (bus, name, errors) = (self.bus.clone(), self.name.clone(), self.errors.clone());
        let busy = self.busy.start();
        tokio::spawn(async move {
            let _busy = busy;
            if let Err(e) = bus.persist_session(&name, session, ttl).await {
                errors.report(e);
            }
        });
    }

    async fn restore_session(
        &self,
        pid: &str,
        offset: &str,
    ) -> Result<Option<RestoredSession>, AdapterError> {
        if self.bus_sessions {
            return self.bus.restore_session(&self.name, pid, offset).await;
        }
        self.local.restore_session(pid, offset).await
    }

    fn on_room_event(&self, listener: Arc<dyn Fn(&RoomEvent) + Send + Sync>) {
        self.local.on_room_event(listener)
    }

    /// Leaves the cluster: what was queued for the bus (broadcasts, the goodbye) is published and the
    /// sessions being stored for recovery are stored first, within the requests timeout, so a node that
    /// exits after this has lost nothing it sent.
    async fn close(&self) {
        if !self.counted {
            self.publish(kind::ADAPTER_CLOSE, None);
        }
        self.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        let queued = || self.outbox.capacity() < self.outbox.max_capacity();
        let flushed = self.busy.idle(queued);
        if tokio::time::timeout(self.config.requests_timeout, flushed).await.is_err() {
            tracing::warn!(nsp = %self.name, "cluster adapter: closing before the bus took every message");
        }
        self.bus.unregister(&self.name);
    }
}

/// A request's operation, as errors and metrics name it (the names of the Node adapters' operations).
fn request_kind(ty: u64) -> &'static str {
    match ty {
        kind::FETCH_SOCKETS => "fetchSockets",
        kind::SERVER_SIDE_EMIT => "serverSideEmit",
        _ => "other",
    }
}

/// Hands a server-side event from another node to the namespace's listeners; when the sender waits for
/// answers, `answer` gets the first one (none comes if no listener answers).
pub(crate) fn deliver_server_side_emit<F>(nsp: &dyn LocalNamespace, args: Vec<Value>, answer: Option<F>)
where
    F: FnOnce(Value) + Send + 'static,
{
    let Some(answer) = answer else {
        nsp.server_side_emit(args, None);
        return;
    };
    let (tx, rx) = oneshot::channel();
    nsp.server_side_emit(args, Some(tx));
    tokio::spawn(async move {
        if let Ok(value) = rx.await {
            answer(value);
        }
    });
}

/// Whether a socket that was in `rooms` would have received a broadcast with `opts` (to pick the
/// broadcasts a recovering session missed).
pub fn session_wants(rooms: &[Room], opts: &BroadcastOptions) -> bool {
    let included = opts.rooms.is_empty() || rooms.iter().any(|r| opts.rooms.contains(r));
    included && !rooms.iter().any(|r| opts.except.contains(r))
}

/// Rooms as a JSON array.
fn room_values(rooms: &[Room]) -> Value {
    Value::Array(rooms.iter().map(|r| Value::from(r.as_str())).collect())
}

/// An object from `(key, value)` pairs, in order.
pub(crate) fn object(entries: Vec<(&str, Value)>) -> Value {
    Value::Object(entries.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// A set of rooms from a JSON array (numbers read as their text).
pub(crate) fn strings(v: Option<&Value>) -> BTreeSet<Room> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| match r {
                    Value::String(s) => Some(Room::from(s.as_str())),
                    Value::Number(n) => Some(Room::from(n.to_string())),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Broadcast options from their wire form `{rooms, except, flags}`.
pub(crate) fn options_from(v: Option<&Value>) -> BroadcastOptions {
    let Some(v) = v else { return BroadcastOptions::default() };
    let flags = v.get("flags");
    let flag = |name: &str| flags.and_then(|f| f.get(name));
    BroadcastOptions {
        rooms: strings(v.get("rooms")),
        except: strings(v.get("except")),
        flags: BroadcastFlags {
            volatile: flag("volatile").and_then(Value::as_bool).unwrap_or(false),
            compress: flag("compress").and_then(Value::as_bool).unwrap_or(true),
            local: false,
            timeout: flag("timeout").and_then(Value::as_u64).map(Duration::from_millis),
        },
    }
}

/// The options as the Node adapters write them: `{rooms, except, flags}`, flags holding only what is set.
pub(crate) fn options_value(opts: &BroadcastOptions) -> Value {
    let mut flags = Map::new();
    if opts.flags.volatile {
        flags.insert("volatile".into(), Value::Bool(true));
    }
    if !opts.flags.compress {
        flags.insert("compress".into(), Value::Bool(false));
    }
    if let Some(t) = opts.flags.timeout {
        flags.insert("timeout".into(), Value::from(t.as_millis() as u64));
    }
    let mut m = options_without_flags(opts);
    if let Some(map) = m.as_object_mut() {
        map.insert("flags".into(), Value::Object(flags));
    }
    m
}

/// `{rooms, except}` (what requests that take no flags carry).
pub(crate) fn options_without_flags(opts: &BroadcastOptions) -> Value {
    let rooms = |set: &BTreeSet<Room>| Value::Array(set.iter().map(|r| Value::from(r.as_str())).collect());
    object(vec![("rooms", rooms(&opts.rooms)), ("except", rooms(&opts.except))])
}

/// A fetched socket as the protocol carries it: `{id, handshake, rooms, data}`.
pub(crate) fn socket_info_value(info: &SocketInfo) -> Value {
    object(vec![
        ("id", Value::from(info.id.as_str())),
        ("handshake", info.handshake.clone()),
        ("rooms", Value::Array(info.rooms.iter().map(|r| Value::from(r.as_str())).collect())),
        ("data", info.data.clone()),
    ])
}

/// A fetched socket from its wire form.
pub(crate) fn socket_info_from(v: &Value) -> Option<SocketInfo> {
    Some(SocketInfo {
        id: Sid::from(v.get("id")?.as_str()?),
        handshake: v.get("handshake").cloned().unwrap_or_default(),
        rooms: strings(v.get("rooms")).into_iter().collect(),
        data: v.get("data").cloned().unwrap_or_default(),
    })
}
