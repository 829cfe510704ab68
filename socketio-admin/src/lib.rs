//! The server side of the official Socket.IO admin UI (`@socket.io/admin-ui` 0.5) for a
//! [`socketio_server`] server: [`instrument`] opens an `/admin` namespace that the real UI connects to,
//! to watch the server (stats every 2 s, and in development mode every socket, room and event) and to
//! steer it (emit, join, leave, disconnect, on every node of a cluster through the adapter).
//!
//! As `@socket.io/admin-ui` on Node, it is an extension of the server built on its public hooks only
//! (engine handlers, socket connected/disconnected and data hooks, `on_any`/`on_any_outgoing`, the
//! adapter's room events, `fetch_sockets` and the data it carries): a server that is not instrumented
//! runs none of it and does not build this crate.
//!
//! ```no_run
//! use socketio_admin::{instrument, AdminAuth, AdminOptions};
//! use socketio_server::{ServerConfig, SocketIo};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let io = SocketIo::new(ServerConfig::default());
//! // The UI logs in as "admin" with the password "changeit", of which only the bcrypt hash is kept.
//! let auth = AdminAuth::basic("admin", "$2a$10$/bSVZ.li8ZDO.X1X0rogRuUrMNQs52SWqm4jSPSIQZuFe3Il8x9P2")?;
//! instrument(&io, AdminOptions::new(auth))?;
//! io.listen("127.0.0.1:3000".parse()?).await?;
//! # Ok(()) }
//! ```
//!
//! Login sessions live in this node's memory ([`InMemoryStore`]) or, with the feature `redis`, in Redis
//! ([`RedisStore`]), shared with the other nodes of a cluster, Node ones included.

/// The attribute to implement [`AdminSessionStore`] with (a re-export of the `async-trait` crate's).
pub use async_trait::async_trait;

use serde_json::json;
use socketio_server::adapter::RoomEvent;
use socketio_server::engine::parser::{Packet as EnginePacket, PacketData as EngineData, PacketType};
use socketio_server::engine::{CloseReason, SessionEvent, TransportKind};
use socketio_server::parser::{Map, Value};
use socketio_server::{DisconnectReason, Namespace, Socket, SocketIo, WeakSocketIo};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest session id looked up in the store.
const MAX_SESSION_ID: usize = 64;

/// How often `server_stats` goes out.
const STATS_INTERVAL: Duration = Duration::from_secs(2);

/// How the admin namespace checks who connects.
#[derive(Clone)]
pub enum AdminAuth {
    /// Anyone may connect (development only).
    None,
    /// A username and the bcrypt hash of the password (`$2a$`, `$2b$` or `$2y$`).
    Basic {
        /// The username the UI must send.
        username: String,
        /// The bcrypt hash the password must match.
        password_hash: String,
    },
}

impl std::fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminAuth::None => f.write_str("None"),
            AdminAuth::Basic { username, .. } => f.debug_struct("Basic").field("username", username).finish(),
        }
    }
}

impl AdminAuth {
    /// Basic authentication, after checking that `password_hash` is a bcrypt hash.
    pub fn basic(username: impl Into<String>, password_hash: impl Into<String>) -> Result<Self, AdminError> {
        let password_hash = password_hash.into();
        password_hash.parse::<bcrypt::HashParts>().map_err(|_| AdminError::InvalidPasswordHash)?;
        Ok(AdminAuth::Basic { username: username.into(), password_hash })
    }
}

/// What the UI is told and may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdminMode {
    /// Every socket, room and event is reported (`ALL_EVENTS`), as well as the stats.
    #[default]
    Development,
    /// Only the stats (`server_stats`, with the aggregated events).
    Production,
}

/// The options of [`instrument`], as those of `@socket.io/admin-ui`.
#[derive(Clone)]
#[non_exhaustive]
pub struct AdminOptions {
    /// Who may connect.
    pub auth: AdminAuth,
    /// The admin namespace (`/admin`).
    pub namespace_name: String,
    /// When set, the UI may only watch: no command is carried out.
    pub readonly: bool,
    /// The name of this node in the UI (default `hostname#pid`, so that two nodes on one host show apart).
    pub server_id: Option<String>,
    /// Development (the default) or production.
    pub mode: AdminMode,
    /// When set, the UI only sees and steers these namespaces (and the admin namespace itself); by
    /// default, every namespace.
    pub namespaces: Option<Vec<String>>,
    /// Where the session ids earned by a password login are kept (`store`): by default in this
    /// node's memory; a [`RedisStore`] (feature `redis`) shares them between the nodes of a cluster,
    /// Node ones included, so that the UI stays logged in whichever node it reaches.
    pub store: Arc<dyn AdminSessionStore>,
}

impl std::fmt::Debug for AdminOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminOptions")
            .field("auth", &self.auth)
            .field("namespace_name", &self.namespace_name)
            .field("readonly", &self.readonly)
            .field("server_id", &self.server_id)
            .field("mode", &self.mode)
            .field("namespaces", &self.namespaces)
            .finish_non_exhaustive()
    }
}

/// Keeps the session ids that the UI got after logging in with the password, so that it can
/// reconnect with the id instead (the reference's `Store`). Implement it with [`macro@async_trait`].
#[async_trait::async_trait]
pub trait AdminSessionStore: Send + Sync + 'static {
    /// Whether `session_id` was saved (and has not expired).
    async fn contains(&self, session_id: &str) -> bool;
    /// Saves `session_id`.
    async fn save(&self, session_id: &str);
}

/// The default [`AdminSessionStore`]: this node's memory, for the life of the process (the
/// reference's `InMemoryStore`).
#[derive(Debug, Default)]
pub struct InMemoryStore(Mutex<HashSet<String>>);

#[async_trait::async_trait]
impl AdminSessionStore for InMemoryStore {
    async fn contains(&self, session_id: &str) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).contains(session_id)
    }

    async fn save(&self, session_id: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(session_id.to_string());
    }
}

/// An [`AdminSessionStore`] in Redis (feature `redis`), as the reference's `RedisStore`: the key
/// `socket.io-admin#<session id>` holds `true` and expires after a day, so nodes (Rust or Node) that
/// share the Redis server and prefix share the UI's sessions.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use socketio_admin::{AdminAuth, AdminOptions, RedisStore};
/// let hash = "$2a$10$/bSVZ.li8ZDO.X1X0rogRuUrMNQs52SWqm4jSPSIQZuFe3Il8x9P2";
/// let mut options = AdminOptions::new(AdminAuth::basic("admin", hash)?);
/// options.store = std::sync::Arc::new(RedisStore::connect("redis://127.0.0.1:6379").await?);
/// # Ok(()) }
/// ```
#[cfg(feature = "redis")]
#[derive(Clone)]
pub struct RedisStore {
    redis: StoreConnection,
    prefix: String,
    session_duration: Duration,
}

/// The store's connection: to one Redis server, or to a Redis Cluster (which routes each key to the
/// node that owns its slot, and follows MOVED replies and failovers).
#[cfg(feature = "redis")]
#[derive(Clone)]
enum StoreConnection {
    Single(redis::aio::ConnectionManager),
    Cluster(redis::cluster_async::ClusterConnection),
}

#[cfg(feature = "redis")]
impl StoreConnection {
    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> redis::RedisResult<T> {
        match self {
            StoreConnection::Single(c) => cmd.query_async(&mut c.clone()).await,
            StoreConnection::Cluster(c) => cmd.query_async(&mut c.clone()).await,
        }
    }
}

#[cfg(feature = "redis")]
impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("session_duration", &self.session_duration)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "redis")]
impl RedisStore {
    /// A store on `redis`, with the reference's defaults: the prefix `socket.io-admin` and sessions
    /// of a day.
    pub fn new(redis: redis::aio::ConnectionManager) -> Self {
        RedisStore::with(StoreConnection::Single(redis))
    }

    /// A store on a Redis Cluster connection.
    pub fn new_cluster(redis: redis::cluster_async::ClusterConnection) -> Self {
        RedisStore::with(StoreConnection::Cluster(redis))
    }

    fn with(redis: StoreConnection) -> Self {
        RedisStore { redis, prefix: "socket.io-admin".into(), session_duration: Duration::from_secs(86_400) }
    }

    /// A store on a connection of its own to the Redis server at `url` (`redis://host:port/db`), or to
    /// a Redis Cluster: given several nodes separated by commas (`redis://127.0.0.1:7000,127.0.0.1:7001`),
    /// or one node of a cluster (it says `cluster_enabled:1`), as the cluster adapters take them.
    pub async fn connect(url: &str) -> Result<Self, redis::RedisError> {
        let seeds = cluster_seeds(url);
        if seeds.len() > 1 {
            return RedisStore::connect_cluster(seeds).await;
        }
        let client = redis::Client::open(url)?;
        let single = redis::aio::ConnectionManager::new(client).await?;
        let info: String = redis::cmd("INFO").arg("cluster").query_async(&mut single.clone()).await?;
        if info.lines().any(|l| l.trim() == "cluster_enabled:1") {
            return RedisStore::connect_cluster(seeds).await;
        }
        Ok(RedisStore::new(single))
    }

    async fn connect_cluster(seeds: Vec<String>) -> Result<Self, redis::RedisError> {
        let client = redis::cluster::ClusterClient::new(seeds)?;
        Ok(RedisStore::new_cluster(client.get_async_connection().await?))
    }

    /// The prefix of the keys (`prefix`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long a session lasts after the login (`sessionDuration`; whole seconds, at least one).
    pub fn session_duration(mut self, duration: Duration) -> Self {
        self.session_duration = duration;
        self
    }

    fn key(&self, session_id: &str) -> String {
        format!("{}#{session_id}", self.prefix)
    }
}

#[cfg(feature = "redis")]
#[async_trait::async_trait]
impl AdminSessionStore for RedisStore {
    async fn contains(&self, session_id: &str) -> bool {
        match self.redis.query::<i64>(redis::cmd("EXISTS").arg(self.key(session_id))).await {
            Ok(n) => n == 1,
            Err(e) => {
                // Unknown then: the UI logs in with the password again.
                tracing::warn!("admin UI: cannot look up a session in Redis: {e}");
                false
            }
        }
    }

    async fn save(&self, session_id: &str) {
        let key = self.key(session_id);
        let seconds = self.session_duration.as_secs().max(1);
        // One command, so that a cluster routes it to the key's node as any other.
        let saved =
            self.redis.query::<()>(redis::cmd("SET").arg(&key).arg("true").arg("EX").arg(seconds)).await;
        if let Err(e) = saved {
            tracing::warn!("admin UI: cannot save a session in Redis: {e}");
        }
    }
}

/// The nodes of `url` when it lists several (`redis://a:1,b:2` or `redis://a:1,redis://b:2`), each as
/// a URL; else `url` alone.
#[cfg(feature = "redis")]
fn cluster_seeds(url: &str) -> Vec<String> {
    let scheme = url.split_once("://").map_or("redis", |(scheme, _)| scheme);
    url.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| if n.contains("://") { n.to_string() } else { format!("{scheme}://{n}") })
        .collect()
}

impl AdminOptions {
    /// The options with `auth` and the defaults: `/admin`, read-write, development mode.
    pub fn new(auth: AdminAuth) -> Self {
        AdminOptions {
            auth,
            namespace_name: "/admin".into(),
            readonly: false,
            server_id: None,
            mode: AdminMode::Development,
            namespaces: None,
            store: Arc::new(InMemoryStore::default()),
        }
    }
}

/// Why [`instrument`] refused its options.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The password of basic authentication is not a bcrypt hash.
    #[error("the `password` field must be a valid bcrypt hash")]
    InvalidPasswordHash,
    /// The server is instrumented already.
    #[error("the server is already instrumented")]
    AlreadyInstrumented,
}

/// Opens the admin namespace on `io` and starts reporting to it. Must be called within a tokio runtime;
/// the reporting stops when the server is dropped.
pub fn instrument(io: &SocketIo, options: AdminOptions) -> Result<(), AdminError> {
    if let AdminAuth::Basic { password_hash, .. } = &options.auth {
        password_hash.parse::<bcrypt::HashParts>().map_err(|_| AdminError::InvalidPasswordHash)?;
    }
    let name = if options.namespace_name.starts_with('/') {
        options.namespace_name.clone()
    } else {
        format!("/{}", options.namespace_name)
    };
    // Once per server: the second call changes nothing.
    if io.extensions().insert(Instrumented).is_some() {
        return Err(AdminError::AlreadyInstrumented);
    }
    let admin_nsp = io.of(&name);
    let hostname = hostname();
    let server_id = options.server_id.clone().unwrap_or_else(|| format!("{hostname}#{}", std::process::id()));
    let admin = Arc::new(Admin {
        server: io.downgrade(),
        nsp: admin_nsp.clone(),
        verbose: options.mode == AdminMode::Development,
        readonly: options.readonly,
        allowed: options.namespaces.map(|list| list.into_iter().collect()),
        server_id,
        hostname,
        stats: Mutex::new(Stats::default()),
        sessions: options.store.clone(),
    });
    io.add_engine_handler(EngineCounters(admin.clone()));
    if admin.verbose {
        let admin_ = admin.clone();
        io.on_socket_connected(move |socket| admin_.on_socket_connected(socket));
        let admin_ = admin.clone();
        io.on_socket_disconnected(move |socket, reason| admin_.on_socket_disconnected(socket, reason));
        let admin_ = admin.clone();
        io.on_socket_data(move |socket| admin_.on_data(socket));
    }
    // A Node node lists our sockets with the client id and transport it finds in `data._admin`.
    io.on_fetched_data(tag_remote_data);

    if let AdminAuth::Basic { username, password_hash } = options.auth {
        let admin = admin.clone();
        admin_nsp.use_middleware(move |socket: Socket| {
            let (admin, username, hash) = (admin.clone(), username.clone(), password_hash.clone());
            async move { admin.authenticate(&socket, &username, &hash).await }
        });
    }
    {
        let admin = admin.clone();
        admin_nsp.on_connection(move |socket| {
            let admin = admin.clone();
            async move { admin.on_admin_connection(socket).await }
        });
    }
    if admin.verbose {
        for nsp in io.namespaces() {
            admin.watch_rooms(&nsp);
        }
        let weak = Arc::downgrade(&admin);
        io.on_new_namespace(move |nsp| {
            if let Some(admin) = weak.upgrade() {
                admin.watch_rooms(nsp);
            }
        });
    }
    let weak = Arc::downgrade(&admin);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(STATS_INTERVAL);
        loop {
            ticks.tick().await;
            let Some(admin) = weak.upgrade() else { return };
            let Some(io) = admin.server.upgrade() else { return };
            admin.emit_stats(&io);
        }
    });
    Ok(())
}

/// Marks an instrumented server (in its extensions).
#[derive(Clone)]
struct Instrumented;

/// The state of an instrumented server, reached from the server's hooks.
struct Admin {
    server: WeakSocketIo,
    nsp: Namespace,
    verbose: bool,
    readonly: bool,
    /// The namespace allow-list, if any.
    allowed: Option<HashSet<String>>,
    server_id: String,
    hostname: String,
    stats: Mutex<Stats>,
    /// Session ids handed out after a password login.
    sessions: Arc<dyn AdminSessionStore>,
}

/// What `server_stats` reports besides the namespaces.
#[derive(Default)]
struct Stats {
    /// Connections whose first transport is polling and that have not upgraded or closed.
    polling: HashSet<String>,
    /// One-second buckets: (second in ms, type, sub-type) → count.
    buckets: Vec<Bucket>,
}

struct Bucket {
    timestamp: u64,
    kind: &'static str,
    sub_kind: Option<&'static str>,
    count: u64,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// `ms` since the epoch as JavaScript's `Date.prototype.toISOString()` writes it (how a `Date`
/// argument reaches the UI through the default parser).
fn iso_date(ms: u64) -> String {
    let (secs, millis) = (ms / 1000, ms % 1000);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = calendar_date(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn is_leap(year: u64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// The (year, month 1-12, day 1-31) of the Gregorian calendar `days` after 1970-01-01: whole years
/// first, then whole months.
fn calendar_date(mut days: u64) -> (u64, u64, u64) {
    let mut year = 1970;
    loop {
        let length = if is_leap(year) { 366 } else { 365 };
        if days < length {
            break;
        }
        days -= length;
        year += 1;
    }
    let february = if is_leap(year) { 29 } else { 28 };
    let mut month = 1;
    for length in [31, february, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] {
        if days < length {
            break;
        }
        days -= length;
        month += 1;
    }
    (year, month, days + 1)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

/// Seconds since this process started (`process.uptime()`), from /proc where it is available.
fn uptime() -> f64 {
    static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let fallback = || STARTED.get_or_init(std::time::Instant::now).elapsed().as_secs_f64();
    let since_boot = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse::<f64>().ok()));
    // Field 22 of /proc/self/stat, after the command name (which may hold spaces) closes with ')'.
    let started_ticks = std::fs::read_to_string("/proc/self/stat").ok().and_then(|s| {
        let rest = &s[s.rfind(')')? + 1..];
        rest.split_whitespace().nth(19).and_then(|n| n.parse::<f64>().ok())
    });
    match (since_boot, started_ticks) {
        // Linux reports ticks of 1/100 s (USER_HZ).
        (Some(up), Some(ticks)) if up >= ticks / 100.0 => up - ticks / 100.0,
        _ => fallback(),
    }
}

fn random_session_id() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return socketio_server::engine::generate_id();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Admin {
    fn count(&self, kind: &'static str, sub_kind: Option<&'static str>, n: u64) {
        let timestamp = now_ms() / 1000 * 1000;
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        // Buckets of the current second are at the end.
        let found = stats
            .buckets
            .iter_mut()
            .rev()
            .take_while(|b| b.timestamp == timestamp)
            .find(|b| b.kind == kind && b.sub_kind == sub_kind);
        match found {
            Some(bucket) => bucket.count += n,
            None => stats.buckets.push(Bucket { timestamp, kind, sub_kind, count: n }),
        }
    }

    // ---- engine hooks (every mode) -------------------------------------------------------------

    fn on_raw_connection(&self, conn: &socketio_server::engine::Socket) {
        if conn.transport() == TransportKind::Polling {
            self.stats.lock().unwrap_or_else(|e| e.into_inner()).polling.insert(conn.id().to_string());
        }
        self.count("rawConnection", None, 1);
    }

    fn on_raw_disconnection(&self, conn: &socketio_server::engine::Socket, reason: CloseReason) {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).polling.remove(conn.id());
        self.count("rawDisconnection", Some(reason.as_str()), 1);
    }

    fn on_upgrade(&self, conn: &socketio_server::engine::Socket) {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).polling.remove(conn.id());
        if !self.verbose {
            return;
        }
        let Some(io) = self.server.upgrade() else { return };
        for socket in io.connection_sockets(conn.id()).iter().filter(|s| self.watches(s.nsp())) {
            let update = json!({ "id": socket.id(), "nsp": socket.nsp(), "transport": "websocket" });
            self.report("socket_updated", vec![Value::from(update)]);
        }
    }

    /// An engine packet in or out: the message packets count, with the bytes of their data.
    fn on_packet(&self, packet: &EnginePacket, incoming: bool) {
        let bytes = match &packet.data {
            EngineData::Text(t) if packet.ty == PacketType::Message => t.len(),
            EngineData::Binary(b) if packet.ty == PacketType::Message => b.len(),
            _ => return,
        };
        let (packets, bytes_kind) =
            if incoming { ("packetsIn", "bytesIn") } else { ("packetsOut", "bytesOut") };
        self.count(packets, None, 1);
        self.count(bytes_kind, None, bytes as u64);
    }

    // ---- socket hooks (development mode) -------------------------------------------------------

    fn report(&self, event: &str, args: Vec<Value>) {
        let _ = self.nsp.emit(event, args);
    }

    /// Whether the UI sees and steers the namespace `name`.
    fn watches(&self, name: &str) -> bool {
        name == self.nsp.name() || self.allowed.as_ref().is_none_or(|allowed| allowed.contains(name))
    }

    /// A socket joined a namespace, before the application's connection handlers run.
    fn on_socket_connected(self: &Arc<Self>, socket: &Socket) {
        if !self.watches(socket.nsp()) {
            return;
        }
        self.report("socket_connected", vec![serialize_socket(socket), Value::from(iso_date(now_ms()))]);
        if socket.nsp() != self.nsp.name() {
            let weak = Arc::downgrade(self);
            socket.prepend_any(move |socket, event, args| {
                if let Some(admin) = weak.upgrade() {
                    admin.report_event("event_received", socket, event, args);
                }
            });
            let weak = Arc::downgrade(self);
            socket.prepend_any_outgoing(move |socket, event, args| {
                if let Some(admin) = weak.upgrade() {
                    admin.report_event("event_sent", socket, event, args);
                }
            });
        }
    }

    /// A socket left a namespace (development mode).
    fn on_socket_disconnected(&self, socket: &Socket, reason: DisconnectReason) {
        if !self.watches(socket.nsp()) {
            return;
        }
        self.report(
            "socket_disconnected",
            vec![
                Value::from(socket.nsp()),
                Value::from(socket.id()),
                Value::from(reason.as_str()),
                Value::from(iso_date(now_ms())),
            ],
        );
    }

    fn report_event(&self, kind: &str, socket: &Socket, event: &str, args: &[Value]) {
        let mut all = Vec::with_capacity(args.len() + 1);
        all.push(Value::from(event));
        all.extend(args.iter().cloned());
        self.report(
            kind,
            vec![
                Value::from(socket.nsp()),
                Value::from(socket.id()),
                Value::Array(all),
                Value::from(iso_date(now_ms())),
            ],
        );
    }

    /// `socket.data` changed.
    fn on_data(&self, socket: &Socket) {
        if self.verbose && self.watches(socket.nsp()) {
            let update = Map::from_iter([
                ("id".to_string(), Value::from(socket.id())),
                ("nsp".to_string(), Value::from(socket.nsp())),
                ("data".to_string(), strip_admin(socket.data_value())),
            ]);
            self.report("socket_updated", vec![Value::Object(update)]);
        }
    }

    fn watch_rooms(self: &Arc<Self>, nsp: &Namespace) {
        if !self.watches(nsp.name()) {
            return;
        }
        let weak = Arc::downgrade(self);
        let name = nsp.name().to_string();
        nsp.adapter().on_room_event(Arc::new(move |event| {
            let Some(admin) = weak.upgrade() else { return };
            let (kind, room, sid) = match event {
                RoomEvent::Join(room, sid) => ("room_joined", room, sid),
                RoomEvent::Leave(room, sid) => ("room_left", room, sid),
                _ => return,
            };
            admin.report(
                kind,
                vec![
                    Value::from(name.as_str()),
                    Value::from(room.as_str()),
                    Value::from(sid.as_str()),
                    Value::from(iso_date(now_ms())),
                ],
            );
        }));
    }

    // ---- the admin namespace -------------------------------------------------------------------

    async fn authenticate(
        &self,
        socket: &Socket,
        username: &str,
        hash: &str,
    ) -> Result<(), socketio_server::ConnectError> {
        let refused = || socketio_server::ConnectError::new("invalid credentials");
        let auth = socket.auth();
        // Session ids are 16 hex digits (the reference's too): anything else is not looked up, so that
        // a client cannot make the store look up keys of its choosing and size.
        let session = auth["sessionId"].as_str().filter(|s| (1..=MAX_SESSION_ID).contains(&s.len()));
        if let Some(session) = session {
            if self.sessions.contains(session).await {
                return Ok(());
            }
        }
        if auth["username"].as_str() != Some(username) {
            return Err(refused());
        }
        let Some(password) = auth["password"].as_str().map(str::to_string) else { return Err(refused()) };
        let hash = hash.to_string();
        // bcrypt is slow on purpose: off the runtime's threads.
        let matches = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
            .await
            .unwrap_or(false);
        if !matches {
            return Err(refused());
        }
        let session = random_session_id();
        self.sessions.save(&session).await;
        socket.extensions().insert(NewSession(session));
        Ok(())
    }

    async fn on_admin_connection(self: Arc<Self>, socket: Socket) {
        // Sent once connected (the reference sends it from the middleware, before CONNECT, where the UI
        // is not listening yet).
        let session = socket.extensions().remove::<NewSession>();
        if let Some(NewSession(id)) = session {
            let _ = socket.emit("session", (id,));
        }
        if !self.readonly {
            self.register_commands(&socket);
        }
        let mut features = Vec::new();
        if !self.readonly {
            features.extend(["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT"]);
        }
        features.push("AGGREGATED_EVENTS");
        if self.verbose {
            features.push("ALL_EVENTS");
        }
        let _ = socket.emit("config", (Value::from(json!({ "supportedFeatures": features })),));
        if self.verbose {
            if let Some(all) = self.all_sockets().await {
                let _ = socket.emit("all_sockets", (Value::Array(all),));
            }
        }
    }

    /// Every socket of every namespace, cluster-wide; `None` if a node did not answer.
    async fn all_sockets(&self) -> Option<Vec<Value>> {
        let io = self.server.upgrade()?;
        let mut all = Vec::new();
        for nsp in io.namespaces() {
            if !self.watches(nsp.name()) {
                continue;
            }
            for remote in nsp.fetch_sockets().await.ok()? {
                match nsp.socket(&remote.id) {
                    Some(local) => all.push(serialize_socket(&local)),
                    None => all.push(serialize_remote(nsp.name(), remote.info())),
                }
            }
        }
        Some(all)
    }

    fn register_commands(self: &Arc<Self>, socket: &Socket) {
        let weak = Arc::downgrade(self);
        socket.on("emit", move |_, args: Vec<Value>, _| {
            let admin = weak.upgrade();
            async move {
                let Some(admin) = admin else { return };
                let mut args = args.into_iter();
                let (Some(nsp), filter, Some(event)) = (args.next(), args.next(), args.next()) else {
                    return;
                };
                let (Some(nsp), Some(event)) = (admin.namespace(&nsp), event.as_str().map(str::to_string))
                else {
                    return;
                };
                let rest: Vec<Value> = args.collect();
                let result = match room_filter(filter.as_ref()) {
                    Some(room) => nsp.to(room).emit(&event, rest),
                    None => nsp.emit(&event, rest),
                };
                if let Err(e) = result {
                    tracing::debug!(error = %e, "admin UI emit refused");
                }
            }
        });
        for command in ["join", "leave"] {
            let weak = Arc::downgrade(self);
            socket.on(command, move |_, args: Vec<Value>, _| {
                let admin = weak.upgrade();
                async move {
                    let Some(admin) = admin else { return };
                    let Some(nsp) = args.first().and_then(|n| admin.namespace(n)) else { return };
                    let Some(room) = args.get(1).and_then(Value::as_str).map(str::to_string) else { return };
                    let result = match (room_filter(args.get(2)), command == "join") {
                        (Some(filter), true) => nsp.within(filter).sockets_join(room).await,
                        (Some(filter), false) => nsp.within(filter).sockets_leave(room).await,
                        (None, true) => nsp.sockets_join(room).await,
                        (None, false) => nsp.sockets_leave(room).await,
                    };
                    if let Err(e) = result {
                        tracing::debug!(error = %e, command, "admin UI command failed");
                    }
                }
            });
        }
        let weak = Arc::downgrade(self);
        socket.on("_disconnect", move |_, args: Vec<Value>, _| {
            let admin = weak.upgrade();
            async move {
                let Some(admin) = admin else { return };
                let Some(nsp) = args.first().and_then(|n| admin.namespace(n)) else { return };
                let close = args.get(1).and_then(Value::as_bool).unwrap_or(false);
                let result = match room_filter(args.get(2)) {
                    Some(filter) => nsp.within(filter).disconnect_sockets(close).await,
                    None => nsp.disconnect_sockets(close).await,
                };
                if let Err(e) = result {
                    tracing::debug!(error = %e, "admin UI disconnect failed");
                }
            }
        });
    }

    /// The existing namespace a command names (commands never create one).
    fn namespace(&self, name: &Value) -> Option<Namespace> {
        let io = self.server.upgrade()?;
        let name = name.as_str().filter(|name| self.watches(name))?;
        io.existing_namespace(name)
    }

    fn emit_stats(&self, io: &SocketIo) {
        let (polling, buckets) = {
            let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
            (stats.polling.len(), std::mem::take(&mut stats.buckets))
        };
        let aggregated: Vec<serde_json::Value> = buckets
            .into_iter()
            .map(|b| {
                let mut event = json!({ "timestamp": b.timestamp, "type": b.kind, "count": b.count });
                if let Some(sub) = b.sub_kind {
                    event["subType"] = json!(sub);
                }
                event
            })
            .collect();
        let namespaces: Vec<serde_json::Value> = io
            .namespaces()
            .iter()
            .filter(|nsp| self.watches(nsp.name()))
            .map(|nsp| json!({ "name": nsp.name(), "socketsCount": nsp.socket_count() }))
            .collect();
        let clients = io.engine().clients_count();
        let stats = json!({
            "serverId": self.server_id,
            "hostname": self.hostname,
            "pid": std::process::id(),
            "uptime": uptime(),
            "clientsCount": clients,
            "pollingClientsCount": polling,
            "aggregatedEvents": aggregated,
            "namespaces": namespaces,
        });
        self.report("server_stats", vec![Value::from(stats)]);
    }
}

/// The session id a password login earned, handed from the middleware to the connection handler.
#[derive(Clone)]
struct NewSession(String);

/// Feeds the engine's events to the admin's counters.
struct EngineCounters(Arc<Admin>);

impl socketio_server::engine::Handler for EngineCounters {
    fn on_connection(&self, conn: &socketio_server::engine::Socket) {
        self.0.on_raw_connection(conn);
    }

    fn on_close(&self, conn: &socketio_server::engine::Socket, reason: CloseReason, _: Option<&str>) {
        self.0.on_raw_disconnection(conn, reason);
    }

    fn on_session_event(&self, conn: &socketio_server::engine::Socket, event: SessionEvent<'_>) {
        match event {
            SessionEvent::Packet(packet) => self.0.on_packet(packet, true),
            SessionEvent::PacketCreate(packet) => self.0.on_packet(packet, false),
            SessionEvent::Upgrade(_) => self.0.on_upgrade(conn),
            _ => {}
        }
    }
}

/// A command's room filter: a room name (a socket id names that socket's own room); none for the whole
/// namespace.
fn room_filter(filter: Option<&Value>) -> Option<String> {
    filter.and_then(Value::as_str).filter(|f| !f.is_empty()).map(str::to_string)
}

/// `socket.data` without the `_admin` field a Node node keeps there; no data shows as `{}`, the
/// reference's default `socket.data`.
fn strip_admin(data: Value) -> Value {
    match data {
        Value::Null => Value::Object(Map::new()),
        Value::Object(mut map) => {
            map.shift_remove("_admin");
            Value::Object(map)
        }
        other => other,
    }
}

/// The handshake as the UI shows it: the reference's, without `auth`.
fn handshake_value(mut handshake: Value) -> Value {
    if let Value::Object(map) = &mut handshake {
        map.shift_remove("auth");
    }
    handshake
}

/// The UI's short client id of a socket: the first 12 characters of its connection's id.
fn client_id(socket: &Socket) -> &str {
    let conn_id = socket.conn().id();
    conn_id.get(..12).unwrap_or(conn_id)
}

fn transport_name(socket: &Socket) -> &'static str {
    match socket.transport() {
        TransportKind::Polling => "polling",
        TransportKind::WebSocket => "websocket",
    }
}

/// Adds `_admin: {clientId, transport}` to the data of a socket another node fetched, as a Node node
/// keeps it in `socket.data`: a Node admin UI node lists our sockets with it. Data that is not an
/// object (or null) is left as it is.
fn tag_remote_data(socket: &Socket, data: &mut Value) {
    if data.is_null() {
        *data = Value::Object(Map::new());
    }
    if let Value::Object(map) = data {
        let mut admin = Map::new();
        admin.insert("clientId".into(), Value::from(client_id(socket)));
        admin.insert("transport".into(), Value::from(transport_name(socket)));
        map.insert("_admin".into(), Value::Object(admin));
    }
}

/// A socket of this node as the UI lists it.
fn serialize_socket(socket: &Socket) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), Value::from(socket.id()));
    m.insert("clientId".into(), Value::from(client_id(socket)));
    m.insert("transport".into(), Value::from(transport_name(socket)));
    m.insert("nsp".into(), Value::from(socket.nsp()));
    m.insert("data".into(), strip_admin(socket.data_value()));
    m.insert("handshake".into(), handshake_value(socket.handshake().to_value()));
    m.insert("rooms".into(), Value::Array(socket.rooms().iter().map(|r| Value::from(r.as_str())).collect()));
    Value::Object(m)
}

/// A socket of another node (from `fetchSockets`); a Node node keeps its client id and transport in
/// `data._admin`.
fn serialize_remote(nsp: &str, info: &socketio_server::adapter::SocketInfo) -> Value {
    let admin = &info.data["_admin"];
    let mut m = Map::new();
    m.insert("id".into(), Value::from(info.id.as_str()));
    if let Some(client) = admin["clientId"].as_str() {
        m.insert("clientId".into(), Value::from(client));
    }
    if let Some(transport) = admin["transport"].as_str() {
        m.insert("transport".into(), Value::from(transport));
    }
    m.insert("nsp".into(), Value::from(nsp));
    m.insert("data".into(), strip_admin(info.data.clone()));
    m.insert("handshake".into(), handshake_value(info.handshake.clone()));
    m.insert("rooms".into(), Value::Array(info.rooms.iter().map(|r| Value::from(r.as_str())).collect()));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_to_iso_string_writes_them() {
        assert_eq!(iso_date(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_date(1_795_500_232_005), "2026-11-24T06:03:52.005Z");
        // Leap days, and the last day of a leap year.
        assert_eq!(iso_date(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso_date(1_735_603_199_999), "2024-12-30T23:59:59.999Z");
        assert_eq!(iso_date(1_735_689_599_000), "2024-12-31T23:59:59.000Z");
    }

    #[test]
    fn filters_name_rooms() {
        assert_eq!(room_filter(Some(&Value::from("room-1"))), Some("room-1".into()));
        assert_eq!(room_filter(Some(&Value::from(""))), None);
        assert_eq!(room_filter(Some(&Value::Null)), None);
        assert_eq!(room_filter(None), None);
    }

    #[test]
    fn a_hash_that_is_not_bcrypt_is_refused() {
        assert_eq!(AdminAuth::basic("admin", "plain").unwrap_err(), AdminError::InvalidPasswordHash);
        assert!(
            AdminAuth::basic("admin", "$2a$10$/bSVZ.li8ZDO.X1X0rogRuUrMNQs52SWqm4jSPSIQZuFe3Il8x9P2").is_ok()
        );
    }
}
