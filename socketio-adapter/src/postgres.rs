//! The Postgres adapter (feature `postgres`), wire-compatible with `@socket.io/postgres-adapter` 0.5: Rust
//! and Node servers can share one cluster through one database.
//!
//! It is the [cluster protocol](crate::cluster) on Postgres notifications:
//! - each namespace `/nsp` listens on the channel `socket.io#/nsp` (`LISTEN "socket.io#/nsp"`);
//! - a message is published with `SELECT pg_notify(channel, json)`;
//! - a message with binary data (broadcasts, acks and server-side events) or whose JSON is longer than
//!   8000 bytes is stored msgpack-encoded in the table `socket_io_attachments`, and the notification
//!   carries only `{uid, type, attachmentId}`; rows older than 30 s are deleted every 30 s.
//!
//! The table is created if it does not exist.
//!
//! ```no_run
//! # async fn run() -> Result<(), socketio_adapter::AdapterError> {
//! use socketio_adapter::postgres::{PostgresBus, PostgresConfig};
//! let bus = PostgresBus::connect("postgres://postgres@127.0.0.1/test", PostgresConfig::default()).await?;
//! let factory = bus.factory(); // give it to the server as its adapter
//! # let _ = factory; Ok(()) }
//! ```

use crate::cluster::{ClusterAdapter, ClusterBus, ClusterConfig};
use crate::types::{AdapterError, AdapterFactory, ErrorHooks};
use async_trait::async_trait;
use bytes::Bytes;
use socketio_parser::msgpack_codec::{decode_value, encode_value};
use socketio_parser::Value;
use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;
use tokio_postgres::{AsyncMessage, Client, NoTls, Statement};

/// Options of the Postgres adapter, with the defaults of the Node adapter.
#[derive(Debug, Clone)]
pub struct PostgresConfig {
    /// The prefix of the notification channels (`channelPrefix`, default `socket.io`).
    pub channel_prefix: String,
    /// The table of attachments (`tableName`, default `socket_io_attachments`).
    pub table_name: String,
    /// JSON payloads longer than this go through the table (`payloadThreshold`, default 8000 bytes).
    pub payload_threshold: usize,
    /// How often old attachments are deleted, and how old they must be (`cleanupInterval`, 30 s).
    pub cleanup_interval: Duration,
    /// Heartbeats and request timeouts.
    pub cluster: ClusterConfig,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        PostgresConfig {
            channel_prefix: "socket.io".into(),
            table_name: "socket_io_attachments".into(),
            payload_threshold: 8000,
            cleanup_interval: Duration::from_secs(30),
            cluster: ClusterConfig::default(),
        }
    }
}

fn db_error(e: impl std::fmt::Display) -> AdapterError {
    AdapterError::Bus(e.to_string())
}

/// What went wrong, in full: for an error the server reported, its severity, SQLSTATE code, message,
/// detail and hint (the `Display` of a `tokio_postgres::Error` says only "db error"); otherwise the
/// error and its causes.
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut text = format!("{} {}: {}", db.severity(), db.code().code(), db.message());
            if let Some(detail) = db.detail() {
                text.push_str(&format!(" (detail: {detail})"));
            }
            if let Some(hint) = db.hint() {
                text.push_str(&format!(" (hint: {hint})"));
            }
            text
        }
        None => crate::types::error_chain(e),
    }
}

fn pg_error(e: tokio_postgres::Error) -> AdapterError {
    AdapterError::Bus(format!("postgres: {}", describe(&e)))
}

/// The database connections of one server, shared by the adapters of all its namespaces: one runs
/// queries and notifications, one listens; the listener reconnects and listens again on its own.
pub struct PostgresBus {
    url: String,
    config: PostgresConfig,
    commands: tokio::sync::RwLock<Commands>,
    /// Namespace → its adapter.
    routes: RwLock<HashMap<String, Weak<ClusterAdapter>>>,
    /// The listening connection, when connected.
    listener: tokio::sync::Mutex<Option<Client>>,
    /// The channels listened to on the current listening connection.
    listening: tokio::sync::watch::Sender<std::collections::HashSet<String>>,
    errors: ErrorHooks,
    me: Weak<PostgresBus>,
}

impl std::fmt::Debug for PostgresBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresBus").field("config", &self.config).finish_non_exhaustive()
    }
}

/// Opens a connection; notifications it receives go to `notifications`, and `ended` fires when it drops.
async fn open(
    url: &str,
    notifications: Option<tokio::sync::mpsc::UnboundedSender<(String, String)>>,
) -> Result<(Client, tokio::sync::oneshot::Receiver<()>), AdapterError> {
    let mut config: tokio_postgres::Config = url.parse().map_err(pg_error)?;
    // A database that does not answer, or a connection that died silently, must not hold the publisher
    // (or the listener) for the OS's two hours: connecting has a limit, and keepalives find dead peers
    // in about half a minute. Settings given in the URL are kept.
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(5));
    }
    if config.get_keepalives_idle() == Duration::from_secs(2 * 60 * 60) {
        config
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(15))
            .keepalives_interval(Duration::from_secs(5))
            .keepalives_retries(3);
    }
    let (client, mut connection) = config.connect(NoTls).await.map_err(pg_error)?;
    let (ended_tx, ended) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = futures_util::StreamExt::next(&mut messages).await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    if let Some(tx) = &notifications {
                        let _ = tx.send((n.channel().to_string(), n.payload().to_string()));
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!("postgres adapter: connection error: {}", describe(&e));
                    break;
                }
            }
        }
        let _ = ended_tx.send(());
    });
    Ok((client, ended))
}

/// The connection that runs queries and notifications, with its prepared statements (prepared once,
/// so that a publication is one round trip, and several are pipelined).
struct Commands {
    client: Client,
    /// `(channel, payload)`: notifies.
    notify: Statement,
    /// `(channel, header up to the attachment id, payload)`: stores an attachment and notifies its
    /// header, in one transaction (the row is there before anyone hears of it).
    notify_attachment: Statement,
    /// `(id)`: an attachment's payload.
    select_attachment: Statement,
}

impl Commands {
    /// Creates the attachments table if needed (again after a reconnection: the database may be a new
    /// one), then prepares the statements.
    async fn prepare(client: Client, table_name: &str) -> Result<Commands, AdapterError> {
        let table = quoted(table_name);
        // Nodes starting together on a new database all create the table. Concurrent `CREATE TABLE IF
        // NOT EXISTS` statements can fail with a unique violation on the catalog, so the creation takes
        // a lock of its own for the rest of its (implicit, single-query) transaction. A Node adapter
        // does not take it: a creation that loses the race to one is a success too.
        let created = client
            .batch_execute(&format!(
                "SELECT pg_advisory_xact_lock({}); \
                 CREATE TABLE IF NOT EXISTS {table} (id bigserial UNIQUE, created_at timestamptz DEFAULT NOW(), payload bytea)",
                creation_lock_key(table_name)
            ))
            .await;
        if let Err(e) = created {
            let raced = e.code().is_some_and(|code| {
                *code == tokio_postgres::error::SqlState::UNIQUE_VIOLATION
                    || *code == tokio_postgres::error::SqlState::DUPLICATE_TABLE
            });
            if !raced {
                return Err(AdapterError::Bus(format!(
                    "postgres: creating the attachments table {table}: {}",
                    describe(&e)
                )));
            }
        }
        let notify = client.prepare("SELECT pg_notify($1, $2)::text").await.map_err(pg_error)?;
        let notify_attachment = client
            .prepare(&format!(
                "WITH a AS (INSERT INTO {table} (payload) VALUES ($3) RETURNING id) \
                 SELECT pg_notify($1, $2::text || a.id::text || '\"}}')::text FROM a"
            ))
            .await
            .map_err(pg_error)?;
        let select_attachment =
            client.prepare(&format!("SELECT payload FROM {table} WHERE id = $1")).await.map_err(pg_error)?;
        Ok(Commands { client, notify, notify_attachment, select_attachment })
    }
}

/// How one message is published.
enum Publication {
    /// As the notification's payload.
    Inline { channel: String, json: String },
    /// Through the attachments table: the header's JSON up to the attachment id, and the message in
    /// msgpack.
    Attachment { channel: String, header: String, payload: Vec<u8> },
}

/// How `message` is published on `channel`: inline, or through the attachments table when it may
/// carry binary data and does, or when its JSON is longer than `threshold` (as the Node adapter).
fn publication(channel: String, threshold: usize, message: &Value) -> Publication {
    let ty = message.get("type").and_then(Value::as_u64).unwrap_or(0);
    use crate::cluster::message_type as kind;
    let may_carry_binary = matches!(
        ty,
        kind::BROADCAST | kind::BROADCAST_ACK | kind::SERVER_SIDE_EMIT | kind::SERVER_SIDE_EMIT_RESPONSE
    );
    let json = if may_carry_binary && message.has_binary() { None } else { Some(message.to_json_string()) };
    match json {
        Some(json) if json.len() <= threshold => Publication::Inline { channel, json },
        _ => {
            // `{"uid":...,"type":...,"attachmentId":"` + the row's id + `"}`, built by the query.
            let mut header = crate::cluster::object(vec![
                ("uid", message.get("uid").cloned().unwrap_or_default()),
                ("type", message.get("type").cloned().unwrap_or_default()),
            ])
            .to_json_string();
            header.pop();
            header.push_str(",\"attachmentId\":\"");
            Publication::Attachment { channel, header, payload: encode_value(message).to_vec() }
        }
    }
}

/// The key of the advisory lock that serialises the creation of the table `table_name` (FNV-1a of the
/// name, so that every node of a cluster computes the same one).
fn creation_lock_key(table_name: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in "socket.io-attachments-table:".bytes().chain(table_name.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

/// `name` as a quoted SQL identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl PostgresBus {
    /// Connects to the database at `url` (`postgres://user:password@host/db`), creates the attachments
    /// table if needed, and starts listening.
    pub async fn connect(url: &str, config: PostgresConfig) -> Result<Arc<PostgresBus>, AdapterError> {
        let (client, _) = open(url, None).await?;
        let commands = Commands::prepare(client, &config.table_name).await?;
        let bus = Arc::new_cyclic(|me| PostgresBus {
            url: url.to_string(),
            config,
            commands: tokio::sync::RwLock::new(commands),
            routes: RwLock::new(HashMap::new()),
            listener: tokio::sync::Mutex::new(None),
            listening: tokio::sync::watch::Sender::new(std::collections::HashSet::new()),
            errors: ErrorHooks::default(),
            me: me.clone(),
        });
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(deliver_loop(Arc::downgrade(&bus), rx));
        tokio::spawn(listen_loop(Arc::downgrade(&bus), tx));
        tokio::spawn(cleanup_loop(Arc::downgrade(&bus)));
        Ok(bus)
    }

    /// The adapter factory to give the server.
    pub fn factory(self: &Arc<Self>) -> AdapterFactory {
        ClusterAdapter::factory(self.clone(), self.config.cluster)
    }

    /// Calls `hook` with each error of the bus (lost connections, failed queries, unreadable
    /// notifications). They go to `tracing` too.
    pub fn on_error(&self, hook: impl Fn(&AdapterError) + Send + Sync + 'static) {
        self.errors.add(hook);
    }

    fn channel(&self, nsp: &str) -> String {
        format!("{}#{nsp}", self.config.channel_prefix)
    }

    /// The command connection, reconnected (and its statements prepared again) if it has dropped.
    async fn commands(&self) -> Result<tokio::sync::RwLockReadGuard<'_, Commands>, AdapterError> {
        {
            let current = self.commands.read().await;
            if !current.client.is_closed() {
                return Ok(current);
            }
        }
        let mut current = self.commands.write().await;
        // Another publisher may have reconnected while this one waited for the lock.
        if current.client.is_closed() {
            let (client, _) = open(&self.url, None).await?;
            *current = Commands::prepare(client, &self.config.table_name).await?;
        }
        Ok(tokio::sync::RwLockWriteGuard::downgrade(current))
    }

    /// How `message` is published on this bus.
    fn publication(&self, message: &Value) -> Publication {
        let nsp = message.get("nsp").and_then(Value::as_str).unwrap_or("/");
        publication(self.channel(nsp), self.config.payload_threshold, message)
    }

    /// The full message a notification stands for (fetching its attachment if it has one).
    async fn read(&self, payload: &str) -> Result<Value, AdapterError> {
        let message: Value = serde_json::from_str(payload).map_err(db_error)?;
        let Some(id) = message.get("attachmentId") else { return Ok(message) };
        let id: i64 = match id {
            Value::String(s) => s.parse().map_err(db_error)?,
            other => other.as_i64().ok_or_else(|| db_error("invalid attachmentId"))?,
        };
        let commands = self.commands().await?;
        let row = commands.client.query_one(&commands.select_attachment, &[&id]).await.map_err(pg_error)?;
        let bytes: Vec<u8> = row.try_get(0).map_err(pg_error)?;
        decode_value(Bytes::from(bytes)).map_err(db_error)
    }

    fn route(&self, channel: &str) -> Option<Arc<ClusterAdapter>> {
        let nsp = channel.strip_prefix(&self.config.channel_prefix)?.strip_prefix('#')?;
        self.routes.read().unwrap_or_else(|e| e.into_inner()).get(nsp).and_then(Weak::upgrade)
    }

    async fn listen(&self, channel: &str) {
        if let Some(client) = self.listener.lock().await.as_ref() {
            match client.batch_execute(&format!("LISTEN {}", quoted(channel))).await {
                Ok(()) => {
                    self.listening.send_modify(|set| {
                        set.insert(channel.to_string());
                    });
                }
                Err(e) => self
                    .errors
                    .report(db_error(format!("postgres adapter: LISTEN {channel} failed: {}", describe(&e)))),
            }
        }
    }
}

/// Hands each notification to the adapter of its namespace, in order (fetching attachments first).
async fn deliver_loop(
    bus: Weak<PostgresBus>,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<(String, String)>,
) {
    while let Some((channel, payload)) = rx.recv().await {
        let Some(bus) = bus.upgrade() else { return };
        let Some(adapter) = bus.route(&channel) else { continue };
        // Our own messages come back too: skip them before fetching any attachment.
        if payload.contains(&format!("\"uid\":\"{}\"", adapter.uid())) {
            continue;
        }
        match bus.read(&payload).await {
            Ok(message) => adapter.on_message(message, None),
            Err(e) => bus.errors.report(db_error(format!("postgres adapter: unreadable notification: {e}"))),
        }
    }
}

/// Keeps a listening connection: (re)connects with a randomized 1–3 s backoff and listens on the
/// channel of every namespace.
async fn listen_loop(
    bus: Weak<PostgresBus>,
    notifications: tokio::sync::mpsc::UnboundedSender<(String, String)>,
) {
    loop {
        let Some(strong) = bus.upgrade() else { return };
        match open(&strong.url, Some(notifications.clone())).await {
            Ok((client, ended)) => {
                let channels: Vec<String> = {
                    let routes = strong.routes.read().unwrap_or_else(|e| e.into_inner());
                    routes.keys().map(|nsp| strong.channel(nsp)).collect()
                };
                *strong.listener.lock().await = Some(client);
                for channel in channels {
                    strong.listen(&channel).await;
                }
                drop(strong);
                let _ = ended.await;
                if let Some(strong) = bus.upgrade() {
                    *strong.listener.lock().await = None;
                    strong.listening.send_modify(|set| set.clear());
                }
                if let Some(strong) = bus.upgrade() {
                    strong
                        .errors
                        .report(db_error("postgres adapter: the listening connection dropped; reconnecting"));
                }
            }
            Err(e) => strong.errors.report(db_error(format!("postgres adapter: cannot connect: {e}"))),
        }
        let mut jitter = [0u8; 1];
        let _ = getrandom::fill(&mut jitter);
        tokio::time::sleep(Duration::from_millis(1000 + u64::from(jitter[0]) * 8)).await;
    }
}

/// Deletes attachments older than the cleanup interval, every cleanup interval.
async fn cleanup_loop(bus: Weak<PostgresBus>) {
    loop {
        let Some(interval) = bus.upgrade().map(|b| b.config.cleanup_interval) else { return };
        tokio::time::sleep(interval).await;
        let Some(bus) = bus.upgrade() else { return };
        let sql = format!(
            "DELETE FROM {} WHERE created_at < now() - interval '{} milliseconds'",
            quoted(&bus.config.table_name),
            bus.config.cleanup_interval.as_millis()
        );
        let result = match bus.commands().await {
            Ok(commands) => commands.client.batch_execute(&sql).await.map_err(pg_error),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            bus.errors.report(db_error(format!("postgres adapter: cleanup failed: {e}")));
        }
    }
}

#[async_trait]
impl ClusterBus for PostgresBus {
    async fn publish(&self, message: Value) -> Result<Option<String>, AdapterError> {
        self.publish_all(vec![message]).await.pop().unwrap_or(Ok(None))
    }

    /// Pipelined: every message is sent before the first answer is awaited, each in its own
    /// transaction (so that identical messages are not merged into one notification), in order.
    async fn publish_all(&self, messages: Vec<Value>) -> Vec<Result<Option<String>, AdapterError>> {
        let publications: Vec<Publication> = messages.iter().map(|m| self.publication(m)).collect();
        let commands = match self.commands().await {
            Ok(commands) => commands,
            Err(e) => return publications.iter().map(|_| Err(e.clone())).collect(),
        };
        let commands = &*commands;
        // tokio-postgres sends a query when its future is first polled, and `join_all` polls them
        // in order: the notifications go out in the order of the messages.
        let sends = publications.iter().map(|publication| async move {
            let sent = match publication {
                Publication::Inline { channel, json } => {
                    commands.client.execute(&commands.notify, &[channel, json]).await
                }
                Publication::Attachment { channel, header, payload } => {
                    commands.client.execute(&commands.notify_attachment, &[channel, header, payload]).await
                }
            };
            sent.map(|_| None).map_err(pg_error)
        });
        futures_util::future::join_all(sends).await
    }

    fn errors(&self) -> ErrorHooks {
        self.errors.clone()
    }

    fn register(&self, nsp: &str, adapter: Weak<ClusterAdapter>) {
        self.routes.write().unwrap_or_else(|e| e.into_inner()).insert(nsp.to_string(), adapter);
        let channel = self.channel(nsp);
        // LISTEN now if connected (else the listener does it when it connects).
        let Some(bus) = self.me.upgrade() else { return };
        tokio::spawn(async move { bus.listen(&channel).await });
    }

    fn unregister(&self, nsp: &str) {
        self.routes.write().unwrap_or_else(|e| e.into_inner()).remove(nsp);
    }

    async fn subscribed(&self, nsp: &str) {
        let channel = self.channel(nsp);
        let mut listening = self.listening.subscribe();
        // Not forever: with the database away, messages are published (and fail) rather than held.
        let _ =
            tokio::time::timeout(Duration::from_secs(5), listening.wait_for(|set| set.contains(&channel)))
                .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The notifications the official adapter sent, captured by `tests/vectors/capture-postgres.mjs`
    /// (see `tests/vectors/README.md`): `(scenario, channel, payload)`.
    fn vectors() -> Vec<(String, String, String)> {
        include_str!("../tests/vectors/postgres-adapter-0.5.0.jsonl")
            .lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).expect("vector line");
                let field = |name: &str| v[name].as_str().expect(name).to_string();
                (field("scenario"), field("channel"), field("payload"))
            })
            .collect()
    }

    #[test]
    fn every_captured_notification_is_a_message_of_the_cluster_protocol() {
        let vectors = vectors();
        assert!(vectors.len() >= 20);
        for (scenario, channel, payload) in vectors {
            assert_eq!(channel, "socket.io#/", "{scenario}");
            let message: Value = serde_json::from_str(&payload).expect("JSON");
            let uid = message.get("uid").and_then(Value::as_str);
            assert_eq!(uid.map(str::len), Some(16), "{scenario}: {payload}");
            let ty = message.get("type").and_then(Value::as_u64).expect("type");
            assert!((1..=12).contains(&ty), "{scenario}: type {ty}");
            if message.get("attachmentId").is_none() {
                assert_eq!(message.get("nsp").and_then(Value::as_str), Some("/"), "{scenario}");
            }
        }
    }

    /// A message past the threshold goes through the table, and its notification is the header the
    /// Node adapter sends, byte for byte, once the query has appended the row's id.
    #[test]
    fn attachment_headers_are_the_node_adapter_s() {
        let mut checked = 0;
        for (scenario, _, payload) in vectors() {
            let captured: Value = serde_json::from_str(&payload).expect("JSON");
            let Some(id) = captured.get("attachmentId").and_then(Value::as_str) else { continue };
            let message = crate::cluster::object(vec![
                ("uid", captured.get("uid").cloned().unwrap_or_default()),
                ("type", captured.get("type").cloned().unwrap_or_default()),
                ("data", Value::from("x".repeat(9000))),
                ("nsp", Value::from("/")),
            ]);
            let Publication::Attachment { channel, header, .. } =
                publication("socket.io#/".into(), 8000, &message)
            else {
                panic!("{scenario}: published inline");
            };
            assert_eq!(channel, "socket.io#/");
            assert_eq!(format!("{header}{id}\"}}"), payload, "{scenario}");
            checked += 1;
        }
        assert_eq!(checked, 2);
    }

    #[test]
    fn small_messages_are_published_inline() {
        let message = crate::cluster::object(vec![
            ("type", Value::from(2u64)),
            ("uid", Value::from("f6b1f928e36f5ad2")),
            ("nsp", Value::from("/")),
        ]);
        let Publication::Inline { json, .. } = publication("socket.io#/".into(), 8000, &message) else {
            panic!("published through the table");
        };
        // The captured heartbeat of the Node adapter, key for key.
        assert_eq!(json, r#"{"type":2,"uid":"f6b1f928e36f5ad2","nsp":"/"}"#);
    }

    #[test]
    fn the_creation_lock_is_the_same_on_every_node_and_per_table() {
        assert_eq!(creation_lock_key("socket_io_attachments"), creation_lock_key("socket_io_attachments"));
        assert_ne!(creation_lock_key("socket_io_attachments"), creation_lock_key("other"));
    }
}
