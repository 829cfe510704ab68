//! The Redis adapter (feature `redis`), wire-compatible with `@socket.io/redis-adapter` 8.3 (classic
//! pub/sub): Rust and Node servers can share one cluster.
//!
//! Channels, for key prefix `socket.io` and namespace `/nsp`:
//! - `socket.io#/nsp#` (and `socket.io#/nsp#room#` for a broadcast to exactly one room): broadcasts, as
//!   msgpack `[uid, packet, {rooms, except, flags}]`;
//! - `socket.io-request#/nsp#`: requests (JSON, or msgpack for broadcasts with acks), typed by number;
//! - `socket.io-response#/nsp#` (and `...#uid#`): responses.
//!
//! The number of servers is the number of subscribers of the request channel (`PUBSUB NUMSUB`).
//!
//! ```no_run
//! # async fn run() -> Result<(), socketio_adapter::AdapterError> {
//! use socketio_adapter::redis::{RedisAdapterConfig, RedisBus};
//! let bus = RedisBus::connect("redis://127.0.0.1:6379", RedisAdapterConfig::default()).await?;
//! let factory = bus.factory(); // give it to the server as its adapter
//! # let _ = factory; Ok(()) }
//! ```

use crate::cluster::{
    deliver_server_side_emit, object, options_from, options_value, options_without_flags, socket_info_from,
    socket_info_value, strings,
};
use crate::memory::MemoryAdapter;
use crate::redis_conn::{ClusterSubscriber, Conn, Endpoint};
use crate::resp::Mode;
use crate::types::{
    AckEvent, Adapter, AdapterError, AdapterFactory, BroadcastOptions, ErrorHooks, LocalNamespace,
    RestoredSession, Room, RoomEvent, SessionState, Sid, SocketInfo,
};
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use socketio_parser::msgpack_codec::{decode_value, encode_value};
use socketio_parser::{Packet, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// Request and response types of the protocol.
mod kind {
    pub const SOCKETS: u64 = 0;
    pub const ALL_ROOMS: u64 = 1;
    pub const REMOTE_JOIN: u64 = 2;
    pub const REMOTE_LEAVE: u64 = 3;
    pub const REMOTE_DISCONNECT: u64 = 4;
    pub const REMOTE_FETCH: u64 = 5;
    pub const SERVER_SIDE_EMIT: u64 = 6;
    pub const BROADCAST: u64 = 7;
    pub const BROADCAST_CLIENT_COUNT: u64 = 8;
    pub const BROADCAST_ACK: u64 = 9;
}

/// Options of the Redis adapter, with the defaults of the Node adapter.
#[derive(Debug, Clone)]
pub struct RedisAdapterConfig {
    /// The channel prefix (`key`, default `socket.io`).
    pub key: String,
    /// How long requests to other nodes wait for their answers (default 5000 ms).
    pub requests_timeout: Duration,
    /// Answer on the requester's own response channel (`publishOnSpecificResponseChannel`, default false).
    pub publish_on_specific_response_channel: bool,
}

impl Default for RedisAdapterConfig {
    fn default() -> Self {
        RedisAdapterConfig {
            key: "socket.io".into(),
            requests_timeout: Duration::from_millis(5000),
            publish_on_specific_response_channel: false,
        }
    }
}

use crate::redis_common::redis_error;

fn bus_error(e: impl std::fmt::Display) -> AdapterError {
    AdapterError::Bus(e.to_string())
}

/// Random ids as the Node adapter makes them (`uid2(6)`): 6 URL-safe characters.
fn uid() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = [0u8; 6];
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char).collect()
}

/// The Redis connections of one server, shared by the adapters of all its namespaces: one connection
/// publishes (in order, from a queue), one subscribes; both reconnect on their own.
pub struct RedisBus {
    config: RedisAdapterConfig,
    endpoint: Endpoint,
    publisher: mpsc::Sender<(String, Bytes)>,
    commands: Conn,
    /// On a Redis Cluster, the subscriber (else `subscribe_loop` keeps one).
    cluster_subscriber: std::sync::OnceLock<Arc<ClusterSubscriber>>,
    /// Channel or pattern → the adapter that listens to it.
    routes: RwLock<HashMap<String, Weak<RedisAdapter>>>,
    sink: tokio::sync::Mutex<Option<redis::aio::PubSubSink>>,
    errors: ErrorHooks,
    overflow: crate::Overflow,
}

impl std::fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBus").field("config", &self.config).finish_non_exhaustive()
    }
}

impl RedisBus {
    /// The options.
    pub fn config(&self) -> &RedisAdapterConfig {
        &self.config
    }

    /// Connects to Redis at `url`: `redis://host:port`, or a Redis Cluster, given by the address of
    /// any of its nodes (the server says it is one) or by several, separated by commas
    /// (`redis://10.0.0.1:7000,10.0.0.2:7000`). An error when Redis cannot be reached (on a cluster:
    /// when no node answers within a few seconds).
    ///
    /// On a cluster, a classic `PUBLISH` reaches the subscribers of every node, and `PUBSUB NUMSUB` is
    /// asked of every node and summed, so the server count is right. The Node adapter asks one node
    /// only: a Node server in the same cluster counts fewer servers than there are, and its requests
    /// (fetchSockets, serverSideEmit with acks) end early, without every answer.
    pub async fn connect(url: &str, config: RedisAdapterConfig) -> Result<Arc<RedisBus>, AdapterError> {
        let (endpoint, existing) = Endpoint::resolve(url).await?;
        let commands = endpoint.commands(existing).await?;
        let (publisher, queue) = mpsc::channel(crate::OUTBOX_LIMIT);
        let bus = Arc::new(RedisBus {
            config,
            endpoint: endpoint.clone(),
            publisher,
            cluster_subscriber: std::sync::OnceLock::new(),
            commands: commands.clone(),
            routes: RwLock::new(HashMap::new()),
            sink: tokio::sync::Mutex::new(None),
            errors: ErrorHooks::default(),
            overflow: crate::Overflow::default(),
        });
        tokio::spawn(publish_loop(commands, queue, bus.errors.clone()));
        match &endpoint {
            Endpoint::Single(_) => {
                tokio::spawn(subscribe_loop(Arc::downgrade(&bus)));
            }
            Endpoint::Cluster(seeds) => {
                let weak = Arc::downgrade(&bus);
                let on_message = Arc::new(move |key: &str, channel: &str, payload: Bytes| {
                    if let Some(adapter) = weak.upgrade().and_then(|bus| bus.route(key)) {
                        adapter.on_message(channel, payload);
                    }
                });
                let subscriber =
                    ClusterSubscriber::start(seeds, Mode::Classic, on_message, bus.errors.clone())
                        .await
                        .map_err(|e| bus_error(format!("redis adapter: cannot subscribe: {e}")))?;
                let _ = bus.cluster_subscriber.set(subscriber);
            }
        }
        Ok(bus)
    }

    /// Calls `hook` with each error of the bus (failed publishes, lost connections). They go to
    /// `tracing` too.
    pub fn on_error(&self, hook: impl Fn(&AdapterError) + Send + Sync + 'static) {
        self.errors.add(hook);
    }

    /// The adapter factory to give the server.
    pub fn factory(self: &Arc<Self>) -> AdapterFactory {
        let bus = self.clone();
        Arc::new(move |nsp| RedisAdapter::new(nsp, bus.clone()) as Arc<dyn Adapter>)
    }

    /// Queues a message for the publisher; whether it was queued (not when the queue is full or the
    /// publisher has stopped).
    fn publish(&self, channel: String, payload: Bytes) -> bool {
        match self.publisher.try_send((channel, payload)) {
            Ok(()) => {
                self.overflow.queued();
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                if self.overflow.dropped() {
                    self.errors.report(bus_error(format!(
                        "redis adapter: {} messages wait to be published; more are dropped until they drain",
                        crate::OUTBOX_LIMIT
                    )));
                }
                false
            }
            Err(_) => false,
        }
    }

    async fn subscriber_count(&self, channel: &str) -> Result<usize, AdapterError> {
        let mut conn = self.commands.clone();
        let reply: (String, usize) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(channel)
            .query_async(&mut conn)
            .await
            .map_err(redis_error)?;
        Ok(reply.1)
    }

    /// Subscribes the channels and the pattern of `adapter`, now if the subscriber is connected (else
    /// when it connects).
    async fn subscribe(&self, adapter: &Arc<RedisAdapter>) {
        {
            let mut routes = self.routes.write().unwrap_or_else(|e| e.into_inner());
            for key in adapter.subscriptions() {
                routes.insert(key, Arc::downgrade(adapter));
            }
        }
        if let Some(subscriber) = self.cluster_subscriber.get() {
            let keys = adapter.subscriptions();
            for key in &keys {
                subscriber.subscribe(key);
            }
            subscriber.wait_confirmed(&keys, Duration::from_secs(5)).await;
            adapter.subscribed.send_replace(true);
            return;
        }
        let mut sink = self.sink.lock().await;
        if let Some(sink) = sink.as_mut() {
            if subscribe_all(sink, &adapter.subscriptions()).await.is_ok() {
                adapter.subscribed.send_replace(true);
            }
        }
    }

    async fn unsubscribe(&self, adapter: &RedisAdapter) {
        let keys = adapter.subscriptions();
        self.routes.write().unwrap_or_else(|e| e.into_inner()).retain(|k, _| !keys.contains(k));
        if let Some(subscriber) = self.cluster_subscriber.get() {
            for key in &keys {
                subscriber.unsubscribe(key);
            }
        }
        if let Some(sink) = self.sink.lock().await.as_mut() {
            for key in &keys {
                let _ = if key.ends_with('*') {
                    sink.punsubscribe(key).await
                } else {
                    sink.unsubscribe(key).await
                };
            }
        }
    }

    fn route(&self, key: &str) -> Option<Arc<RedisAdapter>> {
        self.routes.read().unwrap_or_else(|e| e.into_inner()).get(key).and_then(Weak::upgrade)
    }
}

async fn subscribe_all(sink: &mut redis::aio::PubSubSink, keys: &[String]) -> redis::RedisResult<()> {
    for key in keys {
        if key.ends_with('*') {
            sink.psubscribe(key).await?;
        } else {
            sink.subscribe(key).await?;
        }
    }
    Ok(())
}

/// Publishes queued messages in order; a failed publish is reported and dropped (the connection manager
/// reconnects by itself).
async fn publish_loop(mut conn: Conn, mut queue: mpsc::Receiver<(String, Bytes)>, errors: ErrorHooks) {
    // What has queued up meanwhile goes in pipelines (in order, a round trip per megabyte): a backlog
    // left by a slow or restarting Redis drains at once instead of one message per round trip.
    let mut batch = Vec::new();
    while queue.recv_many(&mut batch, 512).await > 0 {
        let commands = batch
            .drain(..)
            .map(|(channel, payload)| {
                let mut command = redis::cmd("PUBLISH");
                command.arg(channel).arg(payload.as_ref());
                (command, payload.len())
            })
            .collect();
        let replies =
            crate::redis_common::send_pipelined(&mut conn, commands, "redis adapter: PUBLISH failed").await;
        crate::report_failures(&errors, "redis adapter", replies.iter().map(|r| r.as_ref().err()));
    }
}

/// Keeps a subscriber connection: connects, subscribes every route, dispatches messages; on loss,
/// reconnects with backoff (100 ms doubling to 1 s) and subscribes again.
async fn subscribe_loop(bus: Weak<RedisBus>) {
    let mut delay = Duration::from_millis(100);
    loop {
        let Some(strong) = bus.upgrade() else { return };
        let Endpoint::Single(client) = &strong.endpoint else { return };
        let connected = client.get_async_pubsub().await;
        let mut stream = match connected {
            Ok(pubsub) => {
                let (mut sink, stream) = pubsub.split();
                let keys: Vec<String> =
                    strong.routes.read().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect();
                let mut guard = strong.sink.lock().await;
                if let Err(e) = subscribe_all(&mut sink, &keys).await {
                    strong.errors.report(bus_error(format!("redis adapter: subscribe failed: {e}")));
                    drop(guard);
                    drop(strong);
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(crate::RECONNECT_DELAY_MAX);
                    continue;
                }
                *guard = Some(sink);
                drop(guard);
                for adapter in
                    strong.routes.read().unwrap_or_else(|e| e.into_inner()).values().filter_map(Weak::upgrade)
                {
                    adapter.subscribed.send_replace(true);
                }
                delay = Duration::from_millis(100);
                stream
            }
            Err(e) => {
                strong.errors.report(bus_error(format!("redis adapter: cannot connect the subscriber: {e}")));
                drop(strong);
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(crate::RECONNECT_DELAY_MAX);
                continue;
            }
        };
        drop(strong);
        while let Some(msg) = stream.next().await {
            let Some(bus) = bus.upgrade() else { return };
            let key = if msg.from_pattern() {
                msg.get_pattern::<String>().unwrap_or_default()
            } else {
                msg.get_channel_name().to_string()
            };
            if let Some(adapter) = bus.route(&key) {
                adapter.on_message(msg.get_channel_name(), Bytes::copy_from_slice(msg.get_payload_bytes()));
            }
        }
        if let Some(bus) = bus.upgrade() {
            bus.errors.report(bus_error("redis adapter: subscriber connection lost; reconnecting"));
            *bus.sink.lock().await = None;
            for adapter in
                bus.routes.read().unwrap_or_else(|e| e.into_inner()).values().filter_map(Weak::upgrade)
            {
                adapter.subscribed.send_replace(false);
            }
        }
    }
}

/// A request to other nodes, waiting for their answers.
enum Pending {
    Fetch {
        expected: usize,
        received: usize,
        sockets: Vec<SocketInfo>,
        done: Option<oneshot::Sender<Vec<SocketInfo>>>,
    },
    AllRooms {
        expected: usize,
        received: usize,
        rooms: HashSet<String>,
        done: Option<oneshot::Sender<HashSet<String>>>,
    },
    ServerSideEmit {
        expected: usize,
        responses: Vec<Value>,
        done: Option<oneshot::Sender<Vec<Value>>>,
    },
}

#[cfg(feature = "metrics")]
impl Pending {
    /// The operation, as the metrics label it.
    fn kind(&self) -> &'static str {
        match self {
            Pending::Fetch { .. } => "fetchSockets",
            Pending::AllRooms { .. } => "allRooms",
            Pending::ServerSideEmit { .. } => "serverSideEmit",
        }
    }
}

/// The Redis adapter of one namespace: local state and delivery in a [`MemoryAdapter`], the rest of the
/// cluster through the [`RedisBus`].
pub struct RedisAdapter {
    local: Arc<MemoryAdapter>,
    nsp: Arc<dyn LocalNamespace>,
    bus: Arc<RedisBus>,
    uid: String,
    channel: String,
    request_channel: String,
    response_channel: String,
    specific_response_channel: String,
    requests: Mutex<HashMap<String, Pending>>,
    ack_requests: Arc<Mutex<HashMap<String, mpsc::UnboundedSender<AckEvent>>>>,
    subscribed: watch::Sender<bool>,
}

impl std::fmt::Debug for RedisAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisAdapter")
            .field("uid", &self.uid)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

/// A JSON message with its keys in the given order (as the Node adapter writes them).
fn json(entries: Vec<(&str, Value)>) -> Bytes {
    Bytes::from(object(entries).to_json_string())
}

/// The message of a broadcast: msgpack `[uid, packet, opts]`.
pub(crate) fn broadcast_message(uid: &str, nsp: &str, packet: &Packet, opts: &BroadcastOptions) -> Bytes {
    let mut packet = packet.to_object();
    if let Some(m) = packet.as_object_mut() {
        m.insert("nsp".into(), Value::from(nsp));
    }
    encode_value(&Value::Array(vec![Value::from(uid), packet, options_value(opts)]))
}

/// Decodes a request or response: JSON when it starts with `{`, msgpack otherwise.
fn decode_message(payload: Bytes) -> Option<Value> {
    if payload.first() == Some(&b'{') {
        serde_json::from_slice::<Value>(&payload).ok()
    } else {
        decode_value(payload).ok()
    }
}

impl RedisAdapter {
    fn new(nsp: Arc<dyn LocalNamespace>, bus: Arc<RedisBus>) -> Arc<Self> {
        let key = &bus.config.key;
        let name = nsp.name().to_string();
        let uid = uid();
        let response_channel = format!("{key}-response#{name}#");
        let adapter = Arc::new(RedisAdapter {
            local: MemoryAdapter::new(nsp.clone()),
            channel: format!("{key}#{name}#"),
            request_channel: format!("{key}-request#{name}#"),
            specific_response_channel: format!("{response_channel}{uid}#"),
            response_channel,
            uid,
            nsp,
            bus: bus.clone(),
            requests: Mutex::new(HashMap::new()),
            ack_requests: Arc::new(Mutex::new(HashMap::new())),
            subscribed: watch::Sender::new(false),
        });
        let subscriber = adapter.clone();
        tokio::spawn(async move { bus.subscribe(&subscriber).await });
        adapter
    }

    /// The pattern and channels this adapter listens to.
    fn subscriptions(&self) -> Vec<String> {
        vec![
            format!("{}*", self.channel),
            self.request_channel.clone(),
            self.response_channel.clone(),
            self.specific_response_channel.clone(),
        ]
    }

    fn on_message(self: &Arc<Self>, channel: &str, payload: Bytes) {
        if channel.starts_with(&self.response_channel) {
            self.on_response(payload);
        } else if channel == self.request_channel {
            self.on_request(payload);
        } else if let Some(rest) = channel.strip_prefix(&self.channel) {
            let room = rest.strip_suffix('#').unwrap_or(rest);
            self.on_broadcast(room, payload);
        }
    }

    fn on_broadcast(&self, room: &str, payload: Bytes) {
        if !room.is_empty() && !self.local.rooms().iter().any(|r| r == room) {
            return;
        }
        let Ok(Value::Array(mut parts)) = decode_value(payload) else { return };
        if parts.len() < 3 || parts[0].as_str() == Some(self.uid.as_str()) {
            return;
        }
        let opts = options_from(parts.get(2));
        let Ok(packet) = Packet::from_object(parts.swap_remove(1)) else { return };
        if packet.nsp != self.nsp.name() {
            return;
        }
        self.local.broadcast_local(&packet, &opts);
    }

    fn respond(&self, request: &Value, response: Bytes) {
        let channel = match request.get("uid").and_then(Value::as_str) {
            Some(uid) if self.bus.config.publish_on_specific_response_channel => {
                format!("{}{uid}#", self.response_channel)
            }
            _ => self.response_channel.clone(),
        };
        self.bus.publish(channel, response);
    }

    fn is_own(&self, request: &Value) -> bool {
        request.get("uid").and_then(Value::as_str) == Some(self.uid.as_str())
    }

    fn on_request(self: &Arc<Self>, payload: Bytes) {
        let Some(request) = decode_message(payload) else { return };
        let request_id = request.get("requestId").and_then(Value::as_str).map(str::to_owned);
        let own_request = request_id
            .as_ref()
            .is_some_and(|id| self.requests.lock().unwrap_or_else(|e| e.into_inner()).contains_key(id));
        match request.get("type").and_then(Value::as_u64) {
            Some(kind::SOCKETS) if !own_request => {
                let opts = BroadcastOptions { rooms: strings(request.get("rooms")), ..Default::default() };
                let sockets =
                    Value::Array(self.local.sockets(&opts).iter().map(|s| Value::from(s.as_str())).collect());
                self.respond(&request, json(vec![("requestId", request_id.into()), ("sockets", sockets)]));
            }
            Some(kind::ALL_ROOMS) if !own_request => {
                let rooms =
                    Value::Array(self.local.rooms().iter().map(|r| Value::from(r.as_str())).collect());
                self.respond(&request, json(vec![("requestId", request_id.into()), ("rooms", rooms)]));
            }
            Some(k @ (kind::REMOTE_JOIN | kind::REMOTE_LEAVE | kind::REMOTE_DISCONNECT)) => {
                if self.is_own(&request) {
                    return; // already applied locally when sent
                }
                if request.get("opts").is_some() {
                    let opts = options_from(request.get("opts"));
                    let rooms: Vec<Room> = strings(request.get("rooms")).into_iter().collect();
                    match k {
                        kind::REMOTE_JOIN => self.local.add_sockets_local(&opts, &rooms),
                        kind::REMOTE_LEAVE => self.local.del_sockets_local(&opts, &rooms),
                        _ => {
                            let close = request.get("close").and_then(Value::as_bool).unwrap_or(false);
                            self.local.disconnect_sockets_local(&opts, close)
                        }
                    }
                    return;
                }
                // The single-socket form of older peers: act if the socket is here, then confirm.
                let Some(sid) = request.get("sid").and_then(Value::as_str).map(Sid::from) else { return };
                if self.nsp.socket_info(&sid).is_none() {
                    return;
                }
                let room = request.get("room").and_then(Value::as_str).map(Room::from);
                match (k, room) {
                    (kind::REMOTE_JOIN, Some(room)) => self.local.add_all(&sid, &[room]),
                    (kind::REMOTE_LEAVE, Some(room)) => self.local.del(&sid, &room),
                    (kind::REMOTE_DISCONNECT, _) => self
                        .nsp
                        .disconnect(&sid, request.get("close").and_then(Value::as_bool).unwrap_or(false)),
                    _ => return,
                }
                self.respond(&request, json(vec![("requestId", request_id.into())]));
            }
            Some(kind::REMOTE_FETCH) if !own_request => {
                let opts = options_from(request.get("opts"));
                let sockets = Value::Array(
                    self.local.fetch_sockets_local(&opts).iter().map(socket_info_value).collect(),
                );
                self.respond(&request, json(vec![("requestId", request_id.into()), ("sockets", sockets)]));
            }
            Some(kind::SERVER_SIDE_EMIT) => {
                if self.is_own(&request) {
                    return;
                }
                let args = request.get("data").and_then(Value::as_array).cloned().unwrap_or_default();
                let answer = request_id.map(|request_id| {
                    let adapter = self.clone();
                    move |answer| {
                        let m = json(vec![
                            ("type", Value::from(kind::SERVER_SIDE_EMIT)),
                            ("requestId", Value::from(request_id)),
                            ("data", answer),
                        ]);
                        adapter.bus.publish(adapter.response_channel.clone(), m);
                    }
                });
                deliver_server_side_emit(self.nsp.as_ref(), args, answer);
            }
            Some(kind::BROADCAST) => {
                let Some(request_id) = request_id else { return };
                if self.ack_requests.lock().unwrap_or_else(|e| e.into_inner()).contains_key(&request_id) {
                    return;
                }
                let opts = options_from(request.get("opts"));
                let Some(Ok(packet)) = request.get("packet").cloned().map(Packet::from_object) else {
                    return;
                };
                let timeout = opts.flags.timeout.unwrap_or(self.bus.config.requests_timeout);
                let (tx, mut rx) = mpsc::unbounded_channel();
                self.local.broadcast_with_ack_local(packet, &opts, tx);
                let adapter = self.clone();
                tokio::spawn(async move {
                    let forward = async {
                        while let Some(event) = rx.recv().await {
                            let message = match event {
                                AckEvent::ClientCount(n) => json(vec![
                                    ("type", Value::from(kind::BROADCAST_CLIENT_COUNT)),
                                    ("requestId", Value::from(request_id.as_str())),
                                    ("clientCount", Value::from(n)),
                                ]),
                                AckEvent::Response(mut args) => encode_value(&object(vec![
                                    ("type", Value::from(kind::BROADCAST_ACK)),
                                    ("requestId", Value::from(request_id.as_str())),
                                    (
                                        "packet",
                                        if args.is_empty() { Value::Null } else { args.swap_remove(0) },
                                    ),
                                ])),
                            };
                            adapter.respond(&request, message);
                        }
                    };
                    let _ = tokio::time::timeout(timeout, forward).await;
                });
            }
            _ => {}
        }
    }

    fn on_response(&self, payload: Bytes) {
        let Some(response) = decode_message(payload) else { return };
        let Some(request_id) = response.get("requestId").and_then(Value::as_str) else { return };
        if let Some(acks) = self.ack_requests.lock().unwrap_or_else(|e| e.into_inner()).get(request_id) {
            match response.get("type").and_then(Value::as_u64) {
                Some(kind::BROADCAST_CLIENT_COUNT) => {
                    let n = response.get("clientCount").and_then(Value::as_u64).unwrap_or(0) as usize;
                    let _ = acks.send(AckEvent::ClientCount(n));
                }
                Some(kind::BROADCAST_ACK) => {
                    let _ = acks
                        .send(AckEvent::Response(vec![response.get("packet").cloned().unwrap_or_default()]));
                }
                _ => {}
            }
            return;
        }
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        let Some(pending) = requests.get_mut(request_id) else { return };
        let finished = match pending {
            Pending::Fetch { expected, received, sockets, done } => {
                *received += 1;
                if let Some(list) = response.get("sockets").and_then(Value::as_array) {
                    sockets.extend(list.iter().filter_map(socket_info_from));
                }
                if *received >= *expected {
                    if let Some(done) = done.take() {
                        let _ = done.send(std::mem::take(sockets));
                    }
                    true
                } else {
                    false
                }
            }
            Pending::AllRooms { expected, received, rooms, done } => {
                *received += 1;
                if let Some(list) = response.get("rooms").and_then(Value::as_array) {
                    rooms.extend(list.iter().filter_map(|r| r.as_str().map(str::to_owned)));
                }
                if *received >= *expected {
                    if let Some(done) = done.take() {
                        let _ = done.send(std::mem::take(rooms));
                    }
                    true
                } else {
                    false
                }
            }
            Pending::ServerSideEmit { expected, responses, done } => {
                responses.push(response.get("data").cloned().unwrap_or_default());
                if responses.len() >= *expected {
                    if let Some(done) = done.take() {
                        let _ = done.send(std::mem::take(responses));
                    }
                    true
                } else {
                    false
                }
            }
        };
        if finished {
            requests.remove(request_id);
        }
    }

    /// When a request made now must have ended: counting the servers and waiting for their answers
    /// share the requests timeout.
    fn deadline(&self) -> tokio::time::Instant {
        tokio::time::Instant::now() + self.bus.config.requests_timeout
    }

    /// How many servers serve this namespace (`PUBSUB NUMSUB` of the request channel), asked before
    /// `deadline`: a request made while the bus is down fails with the timeout (or the bus's error)
    /// instead of waiting for the reconnection or answering from this node alone.
    async fn count_servers(&self, deadline: tokio::time::Instant) -> Result<usize, AdapterError> {
        let count = self.bus.subscriber_count(&self.request_channel);
        match tokio::time::timeout_at(deadline, count).await {
            Ok(count) => Ok(count?.max(1)),
            Err(_) => Err(AdapterError::Timeout),
        }
    }

    /// Sends a request and waits for its answers until `deadline`.
    async fn request<T>(
        &self,
        request_id: String,
        pending: Pending,
        done: oneshot::Receiver<T>,
        message: Value,
        deadline: tokio::time::Instant,
    ) -> Result<T, AdapterError> {
        #[cfg(feature = "metrics")]
        let kind = pending.kind();
        #[cfg(feature = "metrics")]
        crate::metrics::request(kind);
        self.requests.lock().unwrap_or_else(|e| e.into_inner()).insert(request_id.clone(), pending);
        if !self.bus.publish(self.request_channel.clone(), Bytes::from(message.to_json_string())) {
            // No server will hear of it: fail now rather than at the deadline.
            self.requests.lock().unwrap_or_else(|e| e.into_inner()).remove(&request_id);
            #[cfg(feature = "metrics")]
            crate::metrics::request_failed(kind);
            let why = if self.bus.publisher.is_closed() {
                "the bus is closed"
            } else {
                "the publishing queue is full"
            };
            return Err(bus_error(format!("redis adapter: the request was not sent ({why})")));
        }
        let result = tokio::time::timeout_at(deadline, done).await;
        let leftover = self.requests.lock().unwrap_or_else(|e| e.into_inner()).remove(&request_id);
        #[cfg(feature = "metrics")]
        if !matches!(result, Ok(Ok(_))) {
            crate::metrics::request_failed(kind);
        }
        match result {
            Ok(Ok(value)) => Ok(value),
            _ => match leftover {
                Some(Pending::ServerSideEmit { expected, responses, .. }) => {
                    Err(AdapterError::PartialTimeout { expected, responses })
                }
                _ => Err(AdapterError::Timeout),
            },
        }
    }

    fn publish_request(&self, entries: Vec<(&str, Value)>) {
        let mut all = vec![("uid", Value::from(self.uid.as_str()))];
        all.extend(entries);
        self.bus.publish(self.request_channel.clone(), Bytes::from(object(all).to_json_string()));
    }
}

#[async_trait]
impl Adapter for RedisAdapter {
    crate::forward_membership!(local);

    fn broadcast(&self, packet: Packet, opts: BroadcastOptions) -> Result<(), AdapterError> {
        if !opts.flags.local {
            let message = broadcast_message(&self.uid, self.nsp.name(), &packet, &opts);
            let mut channel = self.channel.clone();
            if opts.rooms.len() == 1 {
                if let Some(room) = opts.rooms.iter().next() {
                    channel.push_str(room);
                    channel.push('#');
                }
            }
            self.bus.publish(channel, message);
        }
        self.local.broadcast(packet, opts)
    }

    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
        acks: mpsc::UnboundedSender<AckEvent>,
    ) -> Result<(), AdapterError> {
        if !opts.flags.local {
            let request_id = uid();
            let message = object(vec![
                ("uid", Value::from(self.uid.as_str())),
                ("requestId", Value::from(request_id.as_str())),
                ("type", Value::from(kind::BROADCAST)),
                ("packet", packet.to_object()),
                ("opts", options_value(&opts)),
            ]);
            self.ack_requests
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(request_id.clone(), acks.clone());
            self.bus.publish(self.request_channel.clone(), encode_value(&message));
            let timeout = opts.flags.timeout.unwrap_or(self.bus.config.requests_timeout);
            let requests = Arc::downgrade(&self.ack_requests);
            tokio::spawn(async move {
                tokio::time::sleep(timeout).await;
                if let Some(requests) = requests.upgrade() {
                    requests.lock().unwrap_or_else(|e| e.into_inner()).remove(&request_id);
                }
            });
        }
        self.local.broadcast_with_ack_local(packet, &opts, acks);
        Ok(())
    }

    async fn server_count(&self) -> usize {
        self.count_servers(self.deadline()).await.unwrap_or(1)
    }

    async fn fetch_sockets(&self, opts: BroadcastOptions) -> Result<Vec<SocketInfo>, AdapterError> {
        let local = self.local.fetch_sockets_local(&opts);
        if opts.flags.local {
            return Ok(local);
        }
        let deadline = self.deadline();
        let servers = self.count_servers(deadline).await?;
        if servers <= 1 {
            return Ok(local);
        }
        let request_id = uid();
        let (tx, rx) = oneshot::channel();
        let pending = Pending::Fetch { expected: servers, received: 1, sockets: local, done: Some(tx) };
        let message = object(vec![
            ("uid", Value::from(self.uid.as_str())),
            ("requestId", Value::from(request_id.as_str())),
            ("type", Value::from(kind::REMOTE_FETCH)),
            ("opts", options_without_flags(&opts)),
        ]);
        self.request(request_id, pending, rx, message, deadline).await
    }

    async fn add_sockets(&self, opts: BroadcastOptions, rooms: Vec<Room>) -> Result<(), AdapterError> {
        self.local.add_sockets_local(&opts, &rooms);
        if !opts.flags.local {
            let rooms = Value::Array(rooms.iter().map(|r| Value::from(r.as_str())).collect());
            self.publish_request(vec![
                ("type", Value::from(kind::REMOTE_JOIN)),
                ("opts", options_without_flags(&opts)),
                ("rooms", rooms),
            ]);
        }
        Ok(())
    }

    async fn del_sockets(&self, opts: BroadcastOptions, rooms: Vec<Room>) -> Result<(), AdapterError> {
        self.local.del_sockets_local(&opts, &rooms);
        if !opts.flags.local {
            let rooms = Value::Array(rooms.iter().map(|r| Value::from(r.as_str())).collect());
            self.publish_request(vec![
                ("type", Value::from(kind::REMOTE_LEAVE)),
                ("opts", options_without_flags(&opts)),
                ("rooms", rooms),
            ]);
        }
        Ok(())
    }

    async fn disconnect_sockets(&self, opts: BroadcastOptions, close: bool) -> Result<(), AdapterError> {
        if !opts.flags.local {
            self.publish_request(vec![
                ("type", Value::from(kind::REMOTE_DISCONNECT)),
                ("opts", options_without_flags(&opts)),
                ("close", Value::Bool(close)),
            ]);
        }
        self.local.disconnect_sockets_local(&opts, close);
        Ok(())
    }

    async fn server_side_emit(&self, args: Vec<Value>) -> Result<(), AdapterError> {
        self.publish_request(vec![
            ("type", Value::from(kind::SERVER_SIDE_EMIT)),
            ("data", Value::Array(args)),
        ]);
        Ok(())
    }

    async fn server_side_emit_with_ack(&self, args: Vec<Value>) -> Result<Vec<Value>, AdapterError> {
        let deadline = self.deadline();
        let others = self.count_servers(deadline).await?.saturating_sub(1);
        if others == 0 {
            return Ok(Vec::new());
        }
        let request_id = uid();
        let (tx, rx) = oneshot::channel();
        let pending = Pending::ServerSideEmit { expected: others, responses: Vec::new(), done: Some(tx) };
        let message = object(vec![
            ("uid", Value::from(self.uid.as_str())),
            ("requestId", Value::from(request_id.as_str())),
            ("type", Value::from(kind::SERVER_SIDE_EMIT)),
            ("data", Value::Array(args)),
        ]);
        self.request(request_id, pending, rx, message, deadline).await
    }

    async fn all_rooms(&self) -> Result<Vec<Room>, AdapterError> {
        let local: HashSet<String> = self.local.rooms().iter().map(|r| r.to_string()).collect();
        let deadline = self.deadline();
        let servers = self.count_servers(deadline).await?;
        if servers <= 1 {
            return Ok(local.into_iter().map(Room::from).collect());
        }
        let request_id = uid();
        let (tx, rx) = oneshot::channel();
        let pending = Pending::AllRooms { expected: servers, received: 1, rooms: local, done: Some(tx) };
        let message = object(vec![
            ("uid", Value::from(self.uid.as_str())),
            ("requestId", Value::from(request_id.as_str())),
            ("type", Value::from(kind::ALL_ROOMS)),
        ]);
        Ok(self
            .request(request_id, pending, rx, message, deadline)
            .await?
            .into_iter()
            .map(Room::from)
            .collect())
    }

    fn persist_session(&self, session: SessionState) {
        self.local.persist_session(session);
    }

    async fn restore_session(
        &self,
        pid: &str,
        offset: &str,
    ) -> Result<Option<RestoredSession>, AdapterError> {
        self.local.restore_session(pid, offset).await
    }

    fn on_room_event(&self, listener: Arc<dyn Fn(&RoomEvent) + Send + Sync>) {
        self.local.on_room_event(listener);
    }

    async fn ready(&self) {
        let mut rx = self.subscribed.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    async fn close(&self) {
        self.bus.unsubscribe(self).await;
    }
}

/// Publishes to a Redis cluster of Socket.IO servers (Rust or Node) from a process that is not a server,
/// as `@socket.io/redis-emitter` does: broadcasts (to rooms, except rooms, volatile), `socketsJoin`,
/// `socketsLeave`, `disconnectSockets` and `serverSideEmit`, without acknowledgements. Clones are cheap
/// and share the connection.
///
/// ```no_run
/// # async fn run() -> Result<(), socketio_adapter::AdapterError> {
/// use socketio_adapter::redis::RedisEmitter;
/// use socketio_parser::Value;
/// let emitter = RedisEmitter::connect("redis://127.0.0.1:6379", "socket.io").await?;
/// emitter.to("room1").emit("news", vec![Value::from("hello")]).await?;
/// emitter.of("/admin").except("muted").emit("alert", vec![]).await?;
/// emitter.to("room1").sockets_join(vec!["room2".into()]).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisEmitter {
    conn: Conn,
    key: String,
    nsp: String,
    opts: BroadcastOptions,
}

impl std::fmt::Debug for RedisEmitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisEmitter")
            .field("key", &self.key)
            .field("nsp", &self.nsp)
            .field("opts", &self.opts)
            .finish()
    }
}

/// The uid the Node emitter puts in its messages; servers never take it for their own.
const EMITTER_UID: &str = "emitter";

impl RedisEmitter {
    /// Connects to Redis at `url`; `key` is the servers' channel prefix (`socket.io` by default there).
    /// Emits go to the main namespace until [`of`](Self::of) says otherwise.
    ///
    /// `url` may name a Redis Cluster, as for [`RedisBus::connect`]: by one node (the server says it
    /// is one) or by several seed nodes separated by commas. A message published on any node of a
    /// cluster reaches the servers subscribed on every node.
    pub async fn connect(url: &str, key: &str) -> Result<RedisEmitter, AdapterError> {
        let (endpoint, existing) = Endpoint::resolve(url).await?;
        let conn = endpoint.commands(existing).await?;
        Ok(RedisEmitter { conn, key: key.to_string(), nsp: "/".into(), opts: BroadcastOptions::default() })
    }

    /// The same emitter for namespace `nsp`, with no room or flag set.
    pub fn of(&self, nsp: &str) -> RedisEmitter {
        let nsp = if nsp.starts_with('/') { nsp.to_string() } else { format!("/{nsp}") };
        RedisEmitter {
            conn: self.conn.clone(),
            key: self.key.clone(),
            nsp,
            opts: BroadcastOptions::default(),
        }
    }

    /// An emitter that also targets the sockets in `room` (several calls: any of the rooms).
    pub fn to(&self, room: impl Into<Room>) -> RedisEmitter {
        let mut next = self.clone();
        next.opts.rooms.insert(room.into());
        next
    }

    /// An emitter that leaves out the sockets in `room`.
    pub fn except(&self, room: impl Into<Room>) -> RedisEmitter {
        let mut next = self.clone();
        next.opts.except.insert(room.into());
        next
    }

    /// An emitter whose broadcasts are volatile.
    pub fn volatile(&self) -> RedisEmitter {
        let mut next = self.clone();
        next.opts.flags.volatile = true;
        next
    }

    async fn publish(&self, channel: String, payload: Bytes) -> Result<(), AdapterError> {
        let mut conn = self.conn.clone();
        redis::cmd("PUBLISH")
            .arg(channel)
            .arg(payload.as_ref())
            .query_async::<i64>(&mut conn)
            .await
            .map(|_| ())
            .map_err(redis_error)
    }

    /// Emits `event` with `args` to every targeted socket of every server.
    pub async fn emit(&self, event: &str, args: Vec<Value>) -> Result<(), AdapterError> {
        if socketio_parser::RESERVED_EVENTS.contains(&event) {
            return Err(AdapterError::ReservedEvent(event.to_string()));
        }
        let packet = Packet::event(self.nsp.as_str(), event, args);
        let mut channel = format!("{}#{}#", self.key, self.nsp);
        if self.opts.rooms.len() == 1 {
            if let Some(room) = self.opts.rooms.iter().next() {
                channel.push_str(room);
                channel.push('#');
            }
        }
        self.publish(channel, broadcast_message(EMITTER_UID, &self.nsp, &packet, &self.opts)).await
    }

    async fn request(&self, mut entries: Vec<(&str, Value)>) -> Result<(), AdapterError> {
        entries.push(("opts", options_without_flags(&self.opts)));
        self.publish(format!("{}-request#{}#", self.key, self.nsp), json(entries)).await
    }

    /// Makes every targeted socket join `rooms`.
    pub async fn sockets_join(&self, rooms: Vec<Room>) -> Result<(), AdapterError> {
        let rooms = Value::Array(rooms.iter().map(|r| Value::from(r.as_str())).collect());
        self.request(vec![("type", Value::from(kind::REMOTE_JOIN)), ("rooms", rooms)]).await
    }

    /// Makes every targeted socket leave `rooms`.
    pub async fn sockets_leave(&self, rooms: Vec<Room>) -> Result<(), AdapterError> {
        let rooms = Value::Array(rooms.iter().map(|r| Value::from(r.as_str())).collect());
        self.request(vec![("type", Value::from(kind::REMOTE_LEAVE)), ("rooms", rooms)]).await
    }

    /// Disconnects every targeted socket; with `close`, their whole connections.
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), AdapterError> {
        self.request(vec![("type", Value::from(kind::REMOTE_DISCONNECT)), ("close", Value::Bool(close))])
            .await
    }

    /// Sends `event` to the servers' `serverSideEmit` listeners of the namespace (no answers).
    pub async fn server_side_emit(&self, event: &str, args: Vec<Value>) -> Result<(), AdapterError> {
        if socketio_parser::RESERVED_EVENTS.contains(&event) {
            return Err(AdapterError::ReservedEvent(event.to_string()));
        }
        let mut data = vec![Value::from(event)];
        data.extend(args);
        let request = json(vec![
            ("uid", Value::from(EMITTER_UID)),
            ("type", Value::from(kind::SERVER_SIDE_EMIT)),
            ("data", Value::Array(data)),
        ]);
        self.publish(format!("{}-request#{}#", self.key, self.nsp), request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages the official adapter published, captured by `tests/vectors/capture-redis.mjs` (see
    /// `tests/vectors/README.md`).
    fn vectors() -> Vec<(String, String, Bytes)> {
        let text = include_str!("../tests/vectors/redis-adapter-8.3.0.jsonl");
        text.lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).expect("vector line");
                let hex = v["payload_hex"].as_str().or(v["hex"].as_str()).expect("payload");
                (
                    v["scenario"].as_str().unwrap_or_default().to_string(),
                    v["channel"].as_str().unwrap_or_default().to_string(),
                    Bytes::from(hex::decode(hex).expect("hex")),
                )
            })
            .collect()
    }

    #[test]
    fn every_captured_message_decodes() {
        let vectors = vectors();
        assert!(vectors.len() >= 15);
        for (scenario, channel, payload) in vectors {
            let msg = decode_message(payload.clone()).unwrap_or_else(|| panic!("{scenario}: undecodable"));
            if channel.starts_with("socket.io#") {
                let parts = msg.as_array().expect("broadcast array");
                assert_eq!(parts.len(), 3, "{scenario}");
                Packet::from_object(parts[1].clone()).unwrap_or_else(|e| panic!("{scenario}: {e}"));
            } else {
                let kind = msg.get("type").and_then(Value::as_u64);
                let has_request_id = msg.get("requestId").is_some();
                assert!(kind.is_some() || has_request_id, "{scenario}: neither type nor requestId");
                if let Some(packet) = msg.get("packet").filter(|p| p.is_object()) {
                    Packet::from_object(packet.clone()).unwrap_or_else(|e| panic!("{scenario}: {e}"));
                }
            }
        }
    }

    #[test]
    fn broadcasts_are_encoded_byte_for_byte_as_the_node_adapter() {
        let mut checked = 0;
        for (scenario, channel, payload) in vectors() {
            if !channel.starts_with("socket.io#") {
                continue;
            }
            let msg = decode_value(payload.clone()).expect("msgpack");
            let parts = msg.as_array().expect("array");
            let uid = parts[0].as_str().expect("uid");
            let packet = Packet::from_object(parts[1].clone()).expect("packet");
            let opts = options_from(parts.get(2));
            assert_eq!(broadcast_message(uid, &packet.nsp, &packet, &opts), payload, "{scenario}");
            checked += 1;
        }
        assert_eq!(checked, 4);
    }

    #[test]
    fn requests_are_encoded_byte_for_byte_as_the_node_adapter() {
        for (scenario, channel, payload) in vectors() {
            if !channel.starts_with("socket.io-request#") {
                continue;
            }
            let msg = decode_message(payload.clone()).expect("request");
            let kind = msg.get("type").and_then(Value::as_u64).expect("type");
            let uid = Value::from(msg.get("uid").and_then(Value::as_str).expect("uid"));
            let request_id = msg.get("requestId").cloned();
            let opts = options_from(msg.get("opts"));
            let ours = match kind {
                kind::BROADCAST => {
                    let packet =
                        Packet::from_object(msg.get("packet").cloned().expect("packet")).expect("packet");
                    encode_value(&object(vec![
                        ("uid", uid),
                        ("requestId", request_id.expect("id")),
                        ("type", Value::from(kind)),
                        ("packet", packet.to_object()),
                        ("opts", options_value(&opts)),
                    ]))
                }
                kind::REMOTE_FETCH => json(vec![
                    ("uid", uid),
                    ("requestId", request_id.expect("id")),
                    ("type", Value::from(kind)),
                    ("opts", options_without_flags(&opts)),
                ]),
                kind::REMOTE_JOIN | kind::REMOTE_LEAVE => json(vec![
                    ("uid", uid),
                    ("type", Value::from(kind)),
                    ("opts", options_without_flags(&opts)),
                    ("rooms", msg.get("rooms").cloned().expect("rooms")),
                ]),
                kind::REMOTE_DISCONNECT => json(vec![
                    ("uid", uid),
                    ("type", Value::from(kind)),
                    ("opts", options_without_flags(&opts)),
                    ("close", msg.get("close").cloned().expect("close")),
                ]),
                kind::SERVER_SIDE_EMIT => json(vec![
                    ("uid", uid),
                    ("type", Value::from(kind)),
                    ("data", msg.get("data").cloned().expect("data")),
                ]),
                kind::ALL_ROOMS => json(vec![
                    ("uid", uid),
                    ("requestId", request_id.expect("id")),
                    ("type", Value::from(kind)),
                ]),
                other => panic!("{scenario}: unexpected request type {other}"),
            };
            assert_eq!(ours, payload, "{scenario}");
        }
    }
}
