//! The Redis Streams adapter (feature `redis`), wire-compatible with `@socket.io/redis-streams-adapter`
//! 0.3: the cluster protocol ([`crate::cluster`]) over a Redis stream, with connection state recovery
//! across nodes.
//!
//! - Messages that change state or reach clients (broadcasts without acks, socketsJoin/Leave,
//!   disconnectSockets) are appended to the stream `socket.io` (`XADD ... MAXLEN ~ 10000`) as the fields
//!   `uid`, `nsp`, `type` and `data` (JSON, or base64 msgpack when it carries binary). Every node reads
//!   the stream (`XREAD BLOCK`), and the entry id is the broadcast's offset.
//! - Requests and the other short-lived messages go through pub/sub, msgpack-encoded: to
//!   `socket.io#/nsp#`, and responses to `socket.io#/nsp#<uid>#`. The number of nodes is the number of
//!   subscribers of the namespace channel (`PUBSUB NUMSUB`).
//! - The session of a client that disconnects is stored under `sio:session:<pid>` (base64 msgpack,
//!   expiring after the recovery window); a node that sees the client come back takes it (`GET` + `DEL`)
//!   and reads what the client missed back from the stream (`XRANGE`). The client may come back to any
//!   node, Rust or Node.
//!
//! ```no_run
//! # async fn run() -> Result<(), socketio_adapter::AdapterError> {
//! use socketio_adapter::redis_streams::{RedisStreamsBus, RedisStreamsConfig};
//! let bus = RedisStreamsBus::connect("redis://127.0.0.1:6379", RedisStreamsConfig::default()).await?;
//! let factory = bus.factory(); // give it to the server as its adapter
//! # let _ = factory; Ok(()) }
//! ```

use crate::cluster::{
    message_type as kind, options_from, session_wants, ClusterAdapter, ClusterBus, ClusterConfig,
};
use crate::redis_common::{bus_error, may_carry_binary, nsp_of, RoutedPubSub};
use crate::redis_conn::{Conn, Endpoint};
use crate::resp::Mode;
use crate::types::{AdapterError, AdapterFactory, ErrorHooks, RestoredSession, Room, SessionState};
use async_trait::async_trait;
use base64::Engine as _;
use bytes::Bytes;
use socketio_parser::msgpack_codec::{decode_value, encode_value};
use socketio_parser::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

/// Options of the streams adapter, with the defaults of the Node adapter.
#[derive(Debug, Clone)]
pub struct RedisStreamsConfig {
    /// The stream (`streamName`, default `socket.io`).
    pub stream_name: String,
    /// How many streams the namespaces are spread over (`streamCount`, default 1); with more than one,
    /// namespace `n` uses `<stream_name>-<hash(n) % count>`, as the Node adapter computes it.
    pub stream_count: u32,
    /// The prefix of the pub/sub channels (`channelPrefix`, default `socket.io`).
    pub channel_prefix: String,
    /// Sharded pub/sub (`SSUBSCRIBE`, Redis 7) for the short-lived messages (`useShardedPubSub`).
    pub use_sharded_pubsub: bool,
    /// The approximate length the stream is trimmed to (`maxLen`, default 10,000).
    pub max_len: usize,
    /// How many entries one read takes (`readCount`, default 100).
    pub read_count: usize,
    /// How long one read blocks (`blockTimeInMs`, default 5 s).
    pub block_time: Duration,
    /// The prefix of the session keys (`sessionKeyPrefix`, default `sio:session:`).
    pub session_key_prefix: String,
    /// Never msgpack-encode stream data, even with binary (`onlyPlaintext`, default false).
    pub only_plaintext: bool,
    /// Request timeouts (heartbeats are not used: Redis counts the nodes).
    pub cluster: ClusterConfig,
}

impl Default for RedisStreamsConfig {
    fn default() -> Self {
        RedisStreamsConfig {
            stream_name: "socket.io".into(),
            stream_count: 1,
            channel_prefix: "socket.io".into(),
            use_sharded_pubsub: false,
            max_len: 10_000,
            read_count: 100,
            block_time: Duration::from_secs(5),
            session_key_prefix: "sio:session:".into(),
            only_plaintext: false,
            cluster: ClusterConfig::default(),
        }
    }
}

/// How many `XRANGE` calls a session restoration makes at most.
const RESTORE_MAX_READS: usize = 100;

/// The Redis connections of one server for the streams adapter, shared by all its namespaces: one
/// for commands, one reader per stream, one subscriber; all reconnect on their own.
pub struct RedisStreamsBus {
    config: RedisStreamsConfig,
    endpoint: Endpoint,
    commands: Conn,
    pubsub: RoutedPubSub,
    /// Namespace → adapter, for the stream entries.
    namespaces: RwLock<HashMap<String, Weak<ClusterAdapter>>>,
    /// The streams being read.
    readers: std::sync::Mutex<std::collections::HashSet<String>>,
    errors: ErrorHooks,
    me: Weak<RedisStreamsBus>,
}

impl std::fmt::Debug for RedisStreamsBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStreamsBus").field("config", &self.config).finish_non_exhaustive()
    }
}

/// The JavaScript string hash the Node adapter spreads namespaces with (over UTF-16 code units,
/// wrapping at 32 bits).
fn js_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |hash, unit| hash.wrapping_mul(31).wrapping_add(i32::from(unit)))
}

impl RedisStreamsBus {
    /// Connects to Redis at `url`: `redis://host:port`, or a Redis Cluster, given by the address of
    /// any of its nodes (the server says it is one) or by several, separated by commas
    /// (`redis://10.0.0.1:7000,10.0.0.2:7000`). An error when Redis cannot be reached (on a cluster:
    /// when no node answers within a few seconds).
    ///
    /// On a cluster, each stream and each session key lives on the node of its slot; with more than
    /// one stream ([`RedisStreamsConfig::stream_count`]) the namespaces spread over the nodes.
    pub async fn connect(
        url: &str,
        config: RedisStreamsConfig,
    ) -> Result<Arc<RedisStreamsBus>, AdapterError> {
        let (endpoint, existing) = Endpoint::resolve(url).await?;
        let commands = endpoint.commands(existing).await?;
        let errors = ErrorHooks::default();
        let mode = if config.use_sharded_pubsub { Mode::Sharded } else { Mode::Classic };
        let pubsub = RoutedPubSub::start(&endpoint, mode, &errors, "redis streams adapter").await?;
        Ok(Arc::new_cyclic(|me| RedisStreamsBus {
            config,
            endpoint,
            commands,
            pubsub,
            namespaces: RwLock::new(HashMap::new()),
            readers: std::sync::Mutex::new(std::collections::HashSet::new()),
            errors,
            me: me.clone(),
        }))
    }

    /// The adapter factory to give the server.
    pub fn factory(self: &Arc<Self>) -> AdapterFactory {
        ClusterAdapter::factory(self.clone(), self.config.cluster)
    }

    /// Calls `hook` with each error of the bus (failed commands, lost connections, unreadable
    /// messages). They go to `tracing` too.
    pub fn on_error(&self, hook: impl Fn(&AdapterError) + Send + Sync + 'static) {
        self.errors.add(hook);
    }

    /// The stream of namespace `nsp`.
    pub fn stream_of(&self, nsp: &str) -> String {
        if self.config.stream_count <= 1 {
            return self.config.stream_name.clone();
        }
        // JavaScript's `%` keeps the sign of the hash, and so does Rust's.
        let index = js_hash(nsp) % self.config.stream_count as i32;
        format!("{}-{index}", self.config.stream_name)
    }

    fn channel(&self, nsp: &str) -> String {
        format!("{}#{nsp}#", self.config.channel_prefix)
    }

    fn private_channel(&self, nsp: &str, uid: &str) -> String {
        format!("{}#{nsp}#{uid}#", self.config.channel_prefix)
    }

    /// The command that publishes `message`, with the size of its arguments: `XADD` to the
    /// namespace's stream, or (`PUBLISH` or `SPUBLISH`) to its channel for the ephemeral messages the
    /// Node adapter does not store.
    fn publication(&self, message: &Value) -> (redis::Cmd, usize) {
        let nsp = nsp_of(message);
        if is_ephemeral(message) {
            return self.pubsub_command(&self.channel(nsp), message);
        }
        let mut size = 64;
        let mut cmd = redis::cmd("XADD");
        cmd.arg(self.stream_of(nsp)).arg("MAXLEN").arg("~").arg(self.config.max_len).arg("*");
        for field in ["uid", "nsp"] {
            cmd.arg(field).arg(message.get(field).and_then(Value::as_str).unwrap_or_default());
        }
        cmd.arg("type").arg(message.get("type").and_then(Value::as_u64).unwrap_or(0).to_string());
        if let Some(data) = message.get("data") {
            let encoded = if !self.config.only_plaintext && may_carry_binary(message) && data.has_binary() {
                base64::engine::general_purpose::STANDARD.encode(encode_value(data))
            } else {
                data.to_json_string()
            };
            size += encoded.len();
            cmd.arg("data").arg(encoded);
        }
        (cmd, size)
    }

    /// `PUBLISH` (or `SPUBLISH`) of `message` on `channel`, with the size of its payload.
    fn pubsub_command(&self, channel: &str, message: &Value) -> (redis::Cmd, usize) {
        let payload = encode_value(message);
        let mut cmd = redis::cmd(self.pubsub_verb());
        cmd.arg(channel).arg(payload.as_ref());
        (cmd, payload.len())
    }

    /// `SPUBLISH` with sharded pub/sub, else `PUBLISH`.
    fn pubsub_verb(&self) -> &'static str {
        if self.config.use_sharded_pubsub {
            "SPUBLISH"
        } else {
            "PUBLISH"
        }
    }

    async fn publish_on(&self, channel: &str, message: &Value) -> Result<(), AdapterError> {
        let (command, _) = self.pubsub_command(channel, message);
        let mut conn = self.commands.clone();
        command.query_async::<i64>(&mut conn).await.map(|_| ()).map_err(|e| {
            bus_error(format!("redis streams adapter: {} {channel} failed: {e}", self.pubsub_verb()))
        })
    }

    /// Starts reading `stream` (once), from its current end.
    async fn read_stream(&self, stream: &str) {
        if !self.readers.lock().unwrap_or_else(|e| e.into_inner()).insert(stream.to_string()) {
            return;
        }
        // Start after the last entry there is now, so that nothing added from here on is missed.
        let mut conn = self.commands.clone();
        let last: redis::RedisResult<redis::Value> = redis::cmd("XREVRANGE")
            .arg(stream)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut conn)
            .await;
        let offset = match last {
            Ok(value) => entries(value).into_iter().next().map(|(id, _)| id).unwrap_or_else(|| "0-0".into()),
            Err(e) => {
                self.errors
                    .report(bus_error(format!("redis streams adapter: XREVRANGE {stream} failed: {e}")));
                "$".into()
            }
        };
        tokio::spawn(read_loop(self.me.clone(), self.endpoint.clone(), stream.to_string(), offset));
    }

    /// Hands a stream entry to the adapter of its namespace, with its id as the offset.
    fn on_entry(&self, id: &str, fields: &HashMap<String, Vec<u8>>) {
        let Some(nsp) = fields.get("nsp").and_then(|n| std::str::from_utf8(n).ok()) else { return };
        let adapter =
            self.namespaces.read().unwrap_or_else(|e| e.into_inner()).get(nsp).and_then(Weak::upgrade);
        let Some(adapter) = adapter else { return };
        match decode_entry(fields) {
            Ok(message) => adapter.on_message(message, Some(id)),
            Err(e) => {
                self.errors.report(bus_error(format!("redis streams adapter: invalid entry {id}: {e}")))
            }
        }
    }
}

/// Reads a stream for as long as the bus lives, reconnecting with backoff and going on from the last
/// entry read.
async fn read_loop(bus: Weak<RedisStreamsBus>, endpoint: Endpoint, stream: String, mut offset: String) {
    let mut delay = Duration::from_millis(100);
    loop {
        let Some((block, count)) = bus.upgrade().map(|b| (b.config.block_time, b.config.read_count)) else {
            return;
        };
        let mut conn = match endpoint.dedicated(block + Duration::from_secs(5)).await {
            Ok(conn) => conn,
            Err(e) => {
                let Some(bus) = bus.upgrade() else { return };
                bus.errors
                    .report(bus_error(format!("redis streams adapter: cannot connect the reader: {e}")));
                drop(bus);
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(crate::RECONNECT_DELAY_MAX);
                continue;
            }
        };
        delay = Duration::from_millis(100);
        // On a cluster: when the slots' primaries change, a read blocked on a node that no longer
        // answers is given up and made again (on a new connection, from the same entry).
        let mut changes = endpoint.topology_changes();
        loop {
            let mut command = redis::cmd("XREAD");
            command.arg("COUNT").arg(count).arg("BLOCK").arg(block.as_millis() as u64);
            command.arg("STREAMS").arg(&stream).arg(&offset);
            let read = command.query_async::<redis::Value>(&mut conn);
            let changed = async {
                match changes.as_mut() {
                    Some(changes) => changes.changed().await.is_ok(),
                    None => std::future::pending().await,
                }
            };
            let reply = tokio::select! {
                reply = read => reply,
                true = changed => continue,
            };
            let Some(bus) = bus.upgrade() else { return };
            match reply {
                Ok(value) => {
                    for (id, fields) in stream_entries(value) {
                        bus.on_entry(&id, &fields);
                        offset = id;
                    }
                }
                Err(e) => {
                    bus.errors
                        .report(bus_error(format!("redis streams adapter: XREAD {stream} failed: {e}")));
                    break;
                }
            }
        }
        tokio::time::sleep(delay).await;
    }
}

fn bytes_of(v: &redis::Value) -> Option<Vec<u8>> {
    match v {
        redis::Value::BulkString(b) => Some(b.clone()),
        redis::Value::SimpleString(s) => Some(s.clone().into_bytes()),
        _ => None,
    }
}

/// The entries of an `XRANGE` reply: `[[id, [field, value, ...]], ...]`.
fn entries(value: redis::Value) -> Vec<(String, HashMap<String, Vec<u8>>)> {
    let redis::Value::Array(items) = value else { return Vec::new() };
    items
        .into_iter()
        .filter_map(|entry| {
            let redis::Value::Array(parts) = entry else { return None };
            let [id, redis::Value::Array(fields)] = parts.as_slice() else { return None };
            let id = String::from_utf8(bytes_of(id)?).ok()?;
            let fields = fields
                .chunks_exact(2)
                .filter_map(|kv| Some((String::from_utf8(bytes_of(&kv[0])?).ok()?, bytes_of(&kv[1])?)))
                .collect();
            Some((id, fields))
        })
        .collect()
}

/// The entries of an `XREAD` reply for one stream: `[[stream, entries]]` (RESP2) or `{stream: entries}`
/// (RESP3); nothing on timeout.
fn stream_entries(value: redis::Value) -> Vec<(String, HashMap<String, Vec<u8>>)> {
    match value {
        redis::Value::Array(streams) => streams
            .into_iter()
            .flat_map(|s| match s {
                redis::Value::Array(mut pair) if pair.len() == 2 => entries(pair.swap_remove(1)),
                _ => Vec::new(),
            })
            .collect(),
        redis::Value::Map(streams) => streams.into_iter().flat_map(|(_, e)| entries(e)).collect(),
        _ => Vec::new(),
    }
}

/// A message from its stream fields: `type` as a decimal string, `data` as JSON or base64 msgpack.
fn decode_entry(fields: &HashMap<String, Vec<u8>>) -> Result<Value, AdapterError> {
    let text = |name: &str| fields.get(name).map(|v| String::from_utf8_lossy(v).into_owned());
    let ty: u64 = text("type").and_then(|t| t.parse().ok()).ok_or_else(|| bus_error("missing type"))?;
    let mut message = Map::new();
    message.insert("uid".into(), Value::from(text("uid").unwrap_or_default()));
    message.insert("nsp".into(), Value::from(text("nsp").unwrap_or_default()));
    message.insert("type".into(), Value::from(ty));
    if let Some(data) = fields.get("data").filter(|d| !d.is_empty()) {
        let value = if data.first() == Some(&b'{') {
            serde_json::from_slice::<Value>(data).map_err(bus_error)?
        } else {
            let raw = base64::engine::general_purpose::STANDARD.decode(data).map_err(bus_error)?;
            decode_value(Bytes::from(raw)).map_err(bus_error)?
        };
        message.insert("data".into(), value);
    }
    Ok(Value::Object(message))
}

/// Whether a message only matters now (a request, or a broadcast waiting for acks): those go through
/// pub/sub rather than the stream.
fn is_ephemeral(message: &Value) -> bool {
    match message.get("type").and_then(Value::as_u64) {
        Some(kind::BROADCAST) => message.get("data").and_then(|d| d.get("requestId")).is_some(),
        Some(kind::SERVER_SIDE_EMIT | kind::FETCH_SOCKETS) => true,
        _ => false,
    }
}

/// `1700000000000-3` → `1700000000000-4` (exclusive ranges for servers before Redis 6.2).
fn next_offset(offset: &str) -> Option<String> {
    let (time, seq) = offset.split_once('-')?;
    Some(format!("{time}-{}", seq.parse::<u64>().ok()?.checked_add(1)?))
}

fn is_offset(offset: &str) -> bool {
    offset.split_once('-').is_some_and(|(a, b)| {
        !a.is_empty()
            && !b.is_empty()
            && a.bytes().all(|c| c.is_ascii_digit())
            && b.bytes().all(|c| c.is_ascii_digit())
    })
}

/// A session as the Node adapter stores it: msgpack `{sid, pid, rooms, data}`, in base64.
fn encode_session(session: &SessionState) -> String {
    let rooms = Value::Array(session.rooms.iter().map(|r| Value::from(r.as_str())).collect());
    let value = crate::cluster::object(vec![
        ("sid", Value::from(session.sid.as_str())),
        ("pid", Value::from(session.pid.as_str())),
        ("rooms", rooms),
        ("data", session.data.clone()),
    ]);
    base64::engine::general_purpose::STANDARD.encode(encode_value(&value))
}

fn decode_session(raw: &[u8]) -> Option<SessionState> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(raw).ok()?;
    let value = decode_value(Bytes::from(bytes)).ok()?;
    Some(SessionState {
        sid: value.get("sid")?.as_str()?.into(),
        pid: value.get("pid")?.as_str()?.into(),
        rooms: value
            .get("rooms")
            .and_then(Value::as_array)
            .map(|rooms| rooms.iter().filter_map(Value::as_str).map(Room::from).collect())
            .unwrap_or_default(),
        data: value.get("data").cloned().unwrap_or_default(),
    })
}

#[async_trait]
impl ClusterBus for RedisStreamsBus {
    async fn publish(&self, message: Value) -> Result<Option<String>, AdapterError> {
        self.publish_all(vec![message]).await.pop().unwrap_or(Ok(None))
    }

    /// Pipelined: every command of a pipeline is sent before the first reply is awaited. Each entry's
    /// id is its offset; ephemeral messages (published, not stored) have none.
    async fn publish_all(&self, messages: Vec<Value>) -> Vec<Result<Option<String>, AdapterError>> {
        let commands = messages.iter().map(|message| self.publication(message)).collect();
        let mut conn = self.commands.clone();
        let replies = crate::redis_common::send_pipelined(
            &mut conn,
            commands,
            "redis streams adapter: publishing failed",
        )
        .await;
        messages
            .iter()
            .zip(replies)
            .map(|(message, reply)| match reply? {
                _ if is_ephemeral(message) => Ok(None),
                reply => match bytes_of(&reply).map(String::from_utf8) {
                    Some(Ok(id)) => Ok(Some(id)),
                    _ => Err(bus_error(format!("redis streams adapter: XADD replied {reply:?}"))),
                },
            })
            .collect()
    }

    async fn publish_response(&self, requester_uid: &str, message: Value) -> Result<(), AdapterError> {
        let channel = self.private_channel(nsp_of(&message), requester_uid);
        self.publish_on(&channel, &message).await
    }

    fn register(&self, nsp: &str, adapter: Weak<ClusterAdapter>) {
        let Some(strong) = adapter.upgrade() else { return };
        self.namespaces.write().unwrap_or_else(|e| e.into_inner()).insert(nsp.to_string(), adapter.clone());
        for channel in [self.channel(nsp), self.private_channel(nsp, strong.uid())] {
            self.pubsub.listen(channel, nsp, adapter.clone());
        }
    }

    fn unregister(&self, nsp: &str) {
        self.namespaces.write().unwrap_or_else(|e| e.into_inner()).remove(nsp);
        self.pubsub.forget_namespace(nsp);
    }

    async fn subscribed(&self, nsp: &str) {
        self.read_stream(&self.stream_of(nsp)).await;
        self.pubsub.subscribed(nsp).await;
    }

    fn counts_servers(&self) -> bool {
        true
    }

    async fn server_count(&self, nsp: &str) -> Result<usize, AdapterError> {
        let sub = if self.config.use_sharded_pubsub { "SHARDNUMSUB" } else { "NUMSUB" };
        let mut conn = self.commands.clone();
        let reply: (String, usize) = redis::cmd("PUBSUB")
            .arg(sub)
            .arg(self.channel(nsp))
            .query_async(&mut conn)
            .await
            .map_err(|e| bus_error(format!("redis streams adapter: PUBSUB {sub} failed: {e}")))?;
        Ok(reply.1)
    }

    fn keeps_sessions(&self) -> bool {
        true
    }

    async fn persist_session(
        &self,
        _nsp: &str,
        session: SessionState,
        ttl: Duration,
    ) -> Result<(), AdapterError> {
        let key = format!("{}{}", self.config.session_key_prefix, session.pid);
        let mut conn = self.commands.clone();
        redis::cmd("SET")
            .arg(&key)
            .arg(encode_session(&session))
            .arg("PX")
            .arg(ttl.as_millis().max(1) as u64)
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| bus_error(format!("redis streams adapter: storing session {key} failed: {e}")))
    }

    async fn restore_session(
        &self,
        nsp: &str,
        pid: &str,
        offset: &str,
    ) -> Result<Option<RestoredSession>, AdapterError> {
        if !is_offset(offset) {
            return Ok(None);
        }
        let key = format!("{}{}", self.config.session_key_prefix, pid);
        let stream = self.stream_of(nsp);
        let mut conn = self.commands.clone();
        let failed = |e: redis::RedisError| {
            bus_error(format!("redis streams adapter: restoring a session failed: {e}"))
        };
        let (raw, _): (Option<Vec<u8>>, i64) =
            redis::pipe().atomic().get(&key).del(&key).query_async(&mut conn).await.map_err(failed)?;
        let found: redis::Value = redis::cmd("XRANGE")
            .arg(&stream)
            .arg(offset)
            .arg(offset)
            .query_async(&mut conn)
            .await
            .map_err(failed)?;
        let (Some(raw), false) = (raw, entries(found).is_empty()) else { return Ok(None) };
        let Some(state) = decode_session(&raw) else { return Ok(None) };
        let mut missed_packets = Vec::new();
        let mut from = offset.to_string();
        for _ in 0..RESTORE_MAX_READS {
            let Some(start) = next_offset(&from) else { break };
            let found: redis::Value = redis::cmd("XRANGE")
                .arg(&stream)
                .arg(&start)
                .arg("+")
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .map_err(failed)?;
            let found = entries(found);
            if found.is_empty() {
                break;
            }
            for (id, fields) in found {
                let is_broadcast = fields.get("type").map(Vec::as_slice) == Some(b"3".as_slice());
                if fields.get("nsp").map(Vec::as_slice) == Some(nsp.as_bytes()) && is_broadcast {
                    if let Ok(message) = decode_entry(&fields) {
                        let data = message.get("data");
                        let opts = options_from(data.and_then(|d| d.get("opts")));
                        let packet_data = data.and_then(|d| d.get("packet")).and_then(|p| p.get("data"));
                        if let (true, Some(Value::Array(args))) =
                            (session_wants(&state.rooms, &opts), packet_data)
                        {
                            let mut args = args.clone();
                            args.push(Value::from(id.as_str()));
                            missed_packets.push(args);
                        }
                    }
                }
                from = id;
            }
        }
        Ok(Some(RestoredSession { state, missed_packets }))
    }

    fn errors(&self) -> ErrorHooks {
        self.errors.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_namespaces_as_javascript_does() {
        // Values computed with the Node adapter's hashCode.
        assert_eq!(js_hash(""), 0);
        assert_eq!(js_hash("/"), 47);
        assert_eq!(js_hash("/chat"), 46_457_863);
        assert_eq!(js_hash("/a-much-longer-namespace-name"), 776_179_900);
        assert_eq!(js_hash("/\u{e9}t\u{e9}-\u{1F600}"), 1_254_510_817);
    }

    #[test]
    fn offsets_are_stream_ids() {
        assert!(is_offset("1700000000000-0"));
        assert!(!is_offset("1700000000000"));
        assert!(!is_offset("-1"));
        assert!(!is_offset("abc-1"));
        assert_eq!(next_offset("17-41").as_deref(), Some("17-42"));
    }

    #[test]
    fn sessions_round_trip_through_their_stored_form() {
        let session = SessionState {
            sid: "sid1".into(),
            pid: "pid1".into(),
            rooms: vec!["sid1".into(), "room1".into()],
            data: Value::from("x"),
        };
        assert_eq!(decode_session(encode_session(&session).as_bytes()), Some(session));
    }

    #[test]
    fn entries_decode_json_and_msgpack_data() {
        let mut fields = HashMap::new();
        fields.insert("uid".to_string(), b"abc".to_vec());
        fields.insert("nsp".to_string(), b"/".to_vec());
        fields.insert("type".to_string(), b"4".to_vec());
        fields.insert("data".to_string(), br#"{"rooms":["r"]}"#.to_vec());
        let message = decode_entry(&fields).unwrap();
        assert_eq!(message.get("type").and_then(Value::as_u64), Some(4));
        assert_eq!(
            message.get("data").and_then(|d| d.get("rooms")).and_then(Value::as_array).map(Vec::len),
            Some(1)
        );
        let data = crate::cluster::object(vec![("b", Value::Binary(Bytes::from_static(&[1, 2])))]);
        let encoded = base64::engine::general_purpose::STANDARD.encode(encode_value(&data));
        fields.insert("data".to_string(), encoded.into_bytes());
        assert_eq!(decode_entry(&fields).unwrap().get("data"), Some(&data));
    }
}
