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
use crate::redis_conn::{Conn, Endpoint};
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

mod bus;
mod emitter;
#[cfg(test)]
mod tests;

pub use bus::*;
pub use emitter::*;

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
