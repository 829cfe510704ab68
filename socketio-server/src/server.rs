//! [`SocketIo`]: the server, its namespaces, and the bridge from the engine.

use crate::client::Client;
use crate::config::ServerConfig;
use crate::namespace::{Namespace, NsInner};
use crate::socket::DisconnectReason;
use base64::Engine as _;
use engineio_server::parser::PacketData as EnginePacketData;
use engineio_server::{CloseReason, EngineBody, EngineIo, EngineLayer, ServerHandle};
use socketio_parser::{Parser, Str, Value};
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};

type DynamicPredicate =
    Arc<dyn Fn(String, Value) -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

pub(crate) struct ServerInner {
    pub(crate) config: ServerConfig,
    pub(crate) parser: Arc<dyn Parser>,
    pub(crate) engine: OnceLock<EngineIo>,
    /// The server-wide observers extensions registered, shared with the engine bridge.
    pub(crate) hooks: Arc<crate::hooks::Hooks>,
    /// [`SocketIo::extensions`].
    extensions: Mutex<http::Extensions>,
    namespaces: RwLock<HashMap<String, Arc<NsInner>>>,
    dynamic: RwLock<Vec<(DynamicPredicate, Arc<NsInner>)>>,
    clients: Mutex<HashMap<Str, Arc<Client>>>,
    new_namespace: RwLock<Vec<NewNamespaceHandler>>,
    /// Whether a task keeps the server alive while it listens (see `SocketIo::listen`).
    kept_alive: std::sync::atomic::AtomicBool,
}

type NewNamespaceHandler = Arc<dyn Fn(&Namespace) + Send + Sync>;

impl ServerInner {
    /// The namespaces of this node.
    pub(crate) fn namespace_list(&self) -> Vec<Arc<NsInner>> {
        self.namespaces.read().unwrap_or_else(|e| e.into_inner()).values().cloned().collect()
    }

    /// The namespace `name` if it exists.
    pub(crate) fn existing_namespace(&self, name: &str) -> Option<Arc<NsInner>> {
        self.namespaces.read().unwrap_or_else(|e| e.into_inner()).get(name).cloned()
    }

    fn namespace(self: &Arc<Self>, name: &str) -> Arc<NsInner> {
        self.namespace_with_parent(name, None)
    }

    /// The namespace `name`, created (as a child of `parent`, when given) and announced if needed.
    fn namespace_with_parent(self: &Arc<Self>, name: &str, parent: Option<&Arc<NsInner>>) -> Arc<NsInner> {
        if let Some(nsp) = self.namespaces.read().unwrap_or_else(|e| e.into_inner()).get(name) {
            return nsp.clone();
        }
        let (nsp, created) = {
            let mut namespaces = self.namespaces.write().unwrap_or_else(|e| e.into_inner());
            match namespaces.get(name) {
                Some(nsp) => (nsp.clone(), false),
                None => {
                    let nsp = NsInner::new(name.to_string(), self);
                    if let Some(parent) = parent {
                        nsp.inherit(parent);
                    }
                    namespaces.insert(name.to_string(), nsp.clone());
                    (nsp, true)
                }
            }
        };
        if created {
            let handlers = self.new_namespace.read().unwrap_or_else(|e| e.into_inner()).clone();
            for handler in handlers {
                handler(&Namespace(nsp.clone()));
            }
        }
        nsp
    }

    /// Forgets an empty child namespace (with `cleanup_empty_child_namespaces`).
    pub(crate) fn remove_namespace(&self, nsp: &Arc<NsInner>) {
        let mut namespaces = self.namespaces.write().unwrap_or_else(|e| e.into_inner());
        if namespaces.get(&nsp.name).is_some_and(|n| Arc::ptr_eq(n, nsp)) {
            namespaces.remove(&nsp.name);
        }
    }

    /// The namespace a client may join under `name`: a static one, or a new child of a dynamic one.
    pub(crate) async fn lookup_namespace(self: &Arc<Self>, name: &str, auth: &Value) -> Option<Arc<NsInner>> {
        if let Some(nsp) = self.namespaces.read().unwrap_or_else(|e| e.into_inner()).get(name) {
            return Some(nsp.clone());
        }
        let dynamic = self.dynamic.read().unwrap_or_else(|e| e.into_inner()).clone();
        for (predicate, parent) in dynamic {
            if predicate(name.to_string(), auth.clone()).await {
                return Some(self.namespace_with_parent(name, Some(&parent)));
            }
        }
        None
    }
}

/// Bridges engine events to the Socket.IO clients, to the metrics (feature `metrics`), to the user's
/// engine handler and to the handlers added with [`SocketIo::add_engine_handler`].
struct Bridge {
    server: Weak<ServerInner>,
    user: Option<Arc<dyn engineio_server::Handler>>,
    hooks: Arc<crate::hooks::Hooks>,
    #[cfg(feature = "metrics")]
    metrics: crate::metrics::EngineMetrics,
}

impl engineio_server::Handler for Bridge {
    fn on_connection(&self, conn: &engineio_server::Socket) {
        // Counted first: the hooks below see the figures up to date.
        #[cfg(feature = "metrics")]
        self.metrics.connected();
        if let Some(user) = &self.user {
            user.on_connection(conn);
        }
        for handler in self.hooks.engine.get().unwrap_or_default() {
            handler.on_connection(conn);
        }
        let Some(server) = self.server.upgrade() else { return };
        let client = Client::new(conn.clone(), server.clone());
        server
            .clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(conn.id_str().clone(), client.clone());
        if conn.protocol() == engineio_server::parser::ProtocolVersion::V3 {
            // Engine.IO v3 clients join the main namespace without asking.
            client.connect("/".to_string(), Value::Object(Default::default()));
        }
    }

    fn on_message(&self, conn: &engineio_server::Socket, data: EnginePacketData) {
        if let Some(user) = &self.user {
            user.on_message(conn, data.clone());
        }
        for handler in self.hooks.engine.get().unwrap_or_default() {
            handler.on_message(conn, data.clone());
        }
        let Some(server) = self.server.upgrade() else { return };
        let client = server.clients.lock().unwrap_or_else(|e| e.into_inner()).get(conn.id()).cloned();
        if let Some(client) = client {
            client.on_data(data);
        }
    }

    fn on_close(&self, conn: &engineio_server::Socket, reason: CloseReason, description: Option<&str>) {
        #[cfg(feature = "metrics")]
        self.metrics.disconnected(reason);
        if let Some(user) = &self.user {
            user.on_close(conn, reason, description);
        }
        for handler in self.hooks.engine.get().unwrap_or_default() {
            handler.on_close(conn, reason, description);
        }
        let Some(server) = self.server.upgrade() else { return };
        let client = server.clients.lock().unwrap_or_else(|e| e.into_inner()).remove(conn.id());
        if let Some(client) = client {
            client.on_close(reason, description);
        }
    }

    fn on_session_event(&self, conn: &engineio_server::Socket, event: engineio_server::SessionEvent<'_>) {
        #[cfg(feature = "metrics")]
        match event {
            engineio_server::SessionEvent::Packet(packet) => self.metrics.packet(packet, true),
            engineio_server::SessionEvent::PacketCreate(packet) => self.metrics.packet(packet, false),
            _ => {}
        }
        if let Some(user) = &self.user {
            user.on_session_event(conn, event);
        }
        for handler in self.hooks.engine.get().unwrap_or_default() {
            handler.on_session_event(conn, event);
        }
    }

    fn observes_outgoing(&self) -> bool {
        cfg!(feature = "metrics")
            || self.user.as_ref().is_some_and(|user| user.observes_outgoing())
            || self.hooks.engine.is_set()
    }

    fn on_connection_error(&self, error: &engineio_server::ConnectionError) {
        if let Some(user) = &self.user {
            user.on_connection_error(error);
        }
        for handler in self.hooks.engine.get().unwrap_or_default() {
            handler.on_connection_error(error);
        }
    }

    fn on_initial_headers(&self, headers: &mut http::HeaderMap, request: &engineio_server::RequestInfo) {
        if let Some(user) = &self.user {
            user.on_initial_headers(headers, request);
        }
        for handler in self.hooks.engine.get().unwrap_or_default() {
            handler.on_initial_headers(headers, request);
        }
    }

    fn on_headers(&self, headers: &mut http::HeaderMap, request: &engineio_server::RequestInfo) {
        if let Some(user) = &self.user {
            user.on_headers(headers, request);
        }
        for handler in self.hooks.engine.get().unwrap_or_default() {
            handler.on_headers(headers, request);
        }
    }
}

/// Socket.IO socket ids: 120 random bits, URL-safe base64 (20 characters, as the reference's).
pub(crate) fn generate_socket_id() -> String {
    let mut bytes = [0u8; 15];
    if getrandom::fill(&mut bytes).is_err() {
        return engineio_server::generate_id();
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A Socket.IO server. Cheap to clone.
///
/// ```no_run
/// use socketio_server::{ServerConfig, SocketIo};
///
/// # async fn run() -> std::io::Result<()> {
/// let io = SocketIo::new(ServerConfig::default());
/// io.on_connection(|socket| async move {
///     socket.on("ping", |_socket, _args: Vec<socketio_server::parser::Value>, ack| async move {
///         if let Some(ack) = ack {
///             let _ = ack.send(("pong",));
///         }
///     });
/// });
/// let server = io.listen("127.0.0.1:3000".parse().unwrap()).await?;
/// println!("listening on {}", server.local_addr());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SocketIo(pub(crate) Arc<ServerInner>);

impl std::fmt::Debug for SocketIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIo").field("config", &self.0.config).finish_non_exhaustive()
    }
}

impl SocketIo {
    /// A server with `config`. Must be called within a tokio runtime.
    pub fn new(config: ServerConfig) -> Self {
        let parser = config.parser.build();
        let inner = Arc::new(ServerInner {
            parser,
            engine: OnceLock::new(),
            namespaces: RwLock::new(HashMap::new()),
            dynamic: RwLock::new(Vec::new()),
            clients: Mutex::new(HashMap::new()),
            new_namespace: RwLock::new(Vec::new()),
            kept_alive: std::sync::atomic::AtomicBool::new(false),
            hooks: Arc::new(crate::hooks::Hooks::default()),
            extensions: Mutex::new(http::Extensions::new()),
            config,
        });
        let bridge = Bridge {
            server: Arc::downgrade(&inner),
            user: inner.config.engine_handler.clone(),
            hooks: inner.hooks.clone(),
            #[cfg(feature = "metrics")]
            metrics: crate::metrics::EngineMetrics::new(),
        };
        let mut engine_config = inner.config.engine.clone();
        if engine_config.static_files.is_none() {
            let files = crate::config::client_files(inner.config.serve_client.as_deref());
            engine_config.static_files = Some(Arc::new(files));
        }
        let engine = EngineIo::new(engine_config, bridge);
        let _ = inner.engine.set(engine);
        inner.namespace("/");
        SocketIo(inner)
    }

    /// The options.
    pub fn config(&self) -> &ServerConfig {
        &self.0.config
    }

    /// The Engine.IO server underneath.
    pub fn engine(&self) -> &EngineIo {
        // Set in `new`.
        self.0.engine.get().unwrap_or_else(|| unreachable!("engine is set at creation"))
    }

    /// The namespace `name`, created if needed (`io.of(name)`).
    pub fn of(&self, name: &str) -> Namespace {
        let name = if name.starts_with('/') { name.to_string() } else { format!("/{name}") };
        Namespace(self.0.namespace(&name))
    }

    /// A parent namespace for every name `predicate` accepts (async: it gets the name and the client's
    /// auth). The middlewares and connection handlers of the parent apply to every child.
    pub fn of_dynamic<F, Fut>(&self, predicate: F) -> Namespace
    where
        F: Fn(String, Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        let parent = NsInner::new(
            format!("<dynamic #{}>", self.0.dynamic.read().unwrap_or_else(|e| e.into_inner()).len()),
            &self.0,
        );
        parent.is_parent.store(true, std::sync::atomic::Ordering::SeqCst);
        let predicate: DynamicPredicate = Arc::new(move |name, auth| Box::pin(predicate(name, auth)));
        self.0.dynamic.write().unwrap_or_else(|e| e.into_inner()).push((predicate, parent.clone()));
        Namespace(parent)
    }

    /// A parent namespace for every name `pattern` matches (the reference's `io.of(/^\/dyn-\d+$/)`); as
    /// [`SocketIo::of_dynamic`]. Anchor the pattern (`^...$`) to match whole names.
    ///
    /// ```
    /// # use socketio_server::{ServerConfig, SocketIo};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let io = SocketIo::new(ServerConfig::default());
    /// let teams = io.of_regex(r"^/team-[a-z]+$").expect("a valid pattern");
    /// teams.on_connection(|socket| async move {
    ///     let _ = socket.emit("welcome", (socket.nsp().to_string(),));
    /// });
    /// assert!(io.of_regex("(unclosed").is_err());
    /// # }
    /// ```
    pub fn of_regex(&self, pattern: &str) -> Result<Namespace, regex::Error> {
        let regex = regex::Regex::new(pattern)?;
        Ok(self.of_dynamic(move |name, _auth| std::future::ready(regex.is_match(&name))))
    }

    /// Runs `handler` for every namespace created from now on, static or dynamic (`new_namespace`).
    pub fn on_new_namespace(&self, handler: impl Fn(&Namespace) + Send + Sync + 'static) {
        self.0.new_namespace.write().unwrap_or_else(|e| e.into_inner()).push(Arc::new(handler));
    }

    /// The namespaces of this node (`io._nsps`), children of dynamic namespaces included, parents of
    /// dynamic namespaces not (they have no sockets of their own).
    ///
    /// ```
    /// # use socketio_server::{ServerConfig, SocketIo};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let io = SocketIo::new(ServerConfig::default());
    /// io.of("/chat");
    /// let mut names: Vec<String> = io.namespaces().iter().map(|nsp| nsp.name().to_string()).collect();
    /// names.sort();
    /// assert_eq!(names, ["/", "/chat"]);
    /// # }
    /// ```
    pub fn namespaces(&self) -> Vec<Namespace> {
        self.0.namespace_list().into_iter().map(Namespace).collect()
    }

    /// The namespace `name` if it exists; unlike [`SocketIo::of`], never creates one.
    ///
    /// ```
    /// # use socketio_server::{ServerConfig, SocketIo};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let io = SocketIo::new(ServerConfig::default());
    /// assert!(io.existing_namespace("/chat").is_none());
    /// io.of("/chat");
    /// assert!(io.existing_namespace("/chat").is_some());
    /// # }
    /// ```
    pub fn existing_namespace(&self, name: &str) -> Option<Namespace> {
        self.0.existing_namespace(name).map(Namespace)
    }

    /// The sockets of one Engine.IO connection (by its id, [`engine::Socket::id`](engineio_server::Socket::id)):
    /// one per namespace the client joined. Empty once the connection closed.
    ///
    /// ```
    /// # use socketio_server::{ServerConfig, SocketIo};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let io = SocketIo::new(ServerConfig::default());
    /// let weak = io.downgrade();
    /// io.on_connection(move |socket| {
    ///     let io = weak.upgrade();
    ///     async move {
    ///         // The socket itself, and the client's sockets in other namespaces.
    ///         let all = io.map(|io| io.connection_sockets(socket.conn().id())).unwrap_or_default();
    ///         assert!(all.contains(&socket));
    ///     }
    /// });
    /// assert!(io.connection_sockets("no-such-connection").is_empty());
    /// # }
    /// ```
    pub fn connection_sockets(&self, conn_id: &str) -> Vec<crate::Socket> {
        let client = self.0.clients.lock().unwrap_or_else(|e| e.into_inner()).get(conn_id).cloned();
        client.map(|client| client.socket_list()).unwrap_or_default()
    }

    /// A handle that does not keep the server alive (for the state of an extension that the server
    /// itself keeps, through its hooks, which would otherwise never be dropped).
    ///
    /// ```
    /// # use socketio_server::{ServerConfig, SocketIo};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let io = SocketIo::new(ServerConfig::default());
    /// let weak = io.downgrade();
    /// assert!(weak.upgrade().is_some());
    /// drop(io);
    /// assert!(weak.upgrade().is_none());
    /// # }
    /// ```
    pub fn downgrade(&self) -> WeakSocketIo {
        WeakSocketIo(Arc::downgrade(&self.0))
    }

    /// Typed server-wide state for extensions and applications (any `Clone + Send + Sync` type, one value
    /// per type), kept as long as the server: e.g. a marker that an extension is installed already.
    ///
    /// ```
    /// # use socketio_server::{ServerConfig, SocketIo};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// #[derive(Clone)]
    /// struct Installed;
    ///
    /// let io = SocketIo::new(ServerConfig::default());
    /// assert!(io.extensions().insert(Installed).is_none());
    /// assert!(io.extensions().insert(Installed).is_some()); // the second time, it was there
    /// # }
    /// ```
    pub fn extensions(&self) -> std::sync::MutexGuard<'_, http::Extensions> {
        self.0.extensions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a handler of the Engine.IO events (as [`ServerConfig::engine_handler`], which there is one
    /// of, but any number, added at any time): connections opening with their first transport, their
    /// upgrades ([`SessionEvent::Upgrade`](engineio_server::SessionEvent::Upgrade)), the engine packets
    /// in and out, closes with their reason. It runs after the server's own handling of the connection
    /// opening, before that of the messages and of the close. The reference's `io.engine.on(...)`.
    ///
    /// ```
    /// use socketio_server::engine::{CloseReason, Handler, SessionEvent, Socket as Connection};
    /// use socketio_server::{ServerConfig, SocketIo};
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// /// Counts the connections open and the upgrades (clones share the counts).
    /// #[derive(Clone, Default)]
    /// struct Census {
    ///     open: Arc<AtomicUsize>,
    ///     upgrades: Arc<AtomicUsize>,
    /// }
    ///
    /// impl Handler for Census {
    ///     fn on_connection(&self, _conn: &Connection) {
    ///         self.open.fetch_add(1, Ordering::Relaxed);
    ///     }
    ///     fn on_close(&self, _conn: &Connection, _reason: CloseReason, _description: Option<&str>) {
    ///         self.open.fetch_sub(1, Ordering::Relaxed);
    ///     }
    ///     fn on_session_event(&self, _conn: &Connection, event: SessionEvent<'_>) {
    ///         if let SessionEvent::Upgrade(_) = event {
    ///             self.upgrades.fetch_add(1, Ordering::Relaxed);
    ///         }
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let io = SocketIo::new(ServerConfig::default());
    /// let census = Census::default();
    /// io.add_engine_handler(census.clone());
    /// assert_eq!(census.open.load(Ordering::Relaxed), 0);
    /// # }
    /// ```
    pub fn add_engine_handler(&self, handler: impl engineio_server::Handler) {
        self.0.hooks.engine.add(Arc::new(handler));
    }

    /// Runs `hook` for every socket that connects, in any namespace (dynamic children included): once
    /// connected (a recovered socket has its rooms and data back), before the namespace's connection
    /// handlers. For extensions that follow every socket (audit logs, presence, dashboards): the hook
    /// may add listeners to the socket (`on_any`, `on_any_outgoing`, `on_disconnect`).
    ///
    /// ```
    /// # use socketio_server::{ServerConfig, SocketIo};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let io = SocketIo::new(ServerConfig::default());
    /// io.on_socket_connected(|socket| {
    ///     println!("{} joined {}", socket.id(), socket.nsp());
    ///     socket.on_any(|socket, event, _args| println!("{} sent {event}", socket.id()));
    /// });
    /// # }
    /// ```
    pub fn on_socket_connected(&self, hook: impl Fn(&crate::Socket) + Send + Sync + 'static) {
        self.0.hooks.socket_connected.add(Arc::new(hook));
    }

    /// Runs `hook` for every socket that disconnects, in any namespace: once it left its rooms, before
    /// its own `disconnect` handlers; with the reason.
    ///
    /// ```
    /// # use socketio_server::{ServerConfig, SocketIo};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let io = SocketIo::new(ServerConfig::default());
    /// io.on_socket_disconnected(|socket, reason| {
    ///     println!("{} left {}: {}", socket.id(), socket.nsp(), reason.as_str());
    /// });
    /// # }
    /// ```
    pub fn on_socket_disconnected(
        &self,
        hook: impl Fn(&crate::Socket, DisconnectReason) + Send + Sync + 'static,
    ) {
        self.0.hooks.socket_disconnected.add(Arc::new(hook));
    }

    /// Runs `hook` whenever a socket's data changes through [`Socket::set_data`](crate::Socket::set_data),
    /// in any namespace, after the change.
    ///
    /// ```
    /// # use socketio_server::{ServerConfig, SocketIo};
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let io = SocketIo::new(ServerConfig::default());
    /// io.on_socket_data(|socket| println!("{} now has {}", socket.id(), socket.data_value()));
    /// # }
    /// ```
    pub fn on_socket_data(&self, hook: impl Fn(&crate::Socket) + Send + Sync + 'static) {
        self.0.hooks.socket_data.add(Arc::new(hook));
    }

    /// Lets `hook` add to the data of this node's sockets as `fetch_sockets` returns them
    /// ([`RemoteSocket::data`](crate::RemoteSocket)), on this node and on the others of a cluster: it gets
    /// the socket and a copy of its `socket.data`, which it may change; the socket's own data stays as it
    /// is. How an extension shares per-socket facts with its peers on other nodes, Node ones included
    /// (which keep theirs in `socket.data`).
    ///
    /// ```
    /// # use socketio_server::{ServerConfig, SocketIo};
    /// use socketio_server::parser::Value;
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let io = SocketIo::new(ServerConfig::default());
    /// io.on_fetched_data(|socket, data| {
    ///     if let Value::Object(map) = data {
    ///         map.insert("transport".into(), Value::from(format!("{:?}", socket.transport())));
    ///     }
    /// });
    /// # }
    /// ```
    pub fn on_fetched_data(&self, hook: impl Fn(&crate::Socket, &mut Value) + Send + Sync + 'static) {
        self.0.hooks.fetched_data.add(Arc::new(hook));
    }

    /// The main namespace (`io.sockets`).
    pub fn sockets(&self) -> Namespace {
        self.of("/")
    }

    /// Runs `handler` for every socket of the main namespace.
    pub fn on_connection<F, Fut>(&self, handler: F)
    where
        F: Fn(crate::Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.sockets().on_connection(handler);
    }

    /// Targets a room of the main namespace.
    pub fn to(&self, room: impl crate::IntoRooms) -> crate::BroadcastOperator {
        self.sockets().to(room)
    }

    /// Emits to every socket of the main namespace.
    pub fn emit(&self, event: &str, args: impl crate::IntoArgs) -> Result<(), crate::EmitError> {
        self.sockets().emit(event, args)
    }

    /// Alias of [`SocketIo::to`].
    pub fn within(&self, room: impl crate::IntoRooms) -> crate::BroadcastOperator {
        self.sockets().to(room)
    }

    /// Every socket of the main namespace but those in `room`.
    pub fn except(&self, room: impl crate::IntoRooms) -> crate::BroadcastOperator {
        self.sockets().except(room)
    }

    /// The sockets of the main namespace on this node only.
    pub fn local(&self) -> crate::BroadcastOperator {
        self.sockets().local()
    }

    /// Every socket of the main namespace, volatile.
    pub fn volatile(&self) -> crate::BroadcastOperator {
        self.sockets().volatile()
    }

    /// Every socket of the main namespace, with an ack timeout.
    pub fn timeout(&self, timeout: std::time::Duration) -> crate::BroadcastOperator {
        self.sockets().timeout(timeout)
    }

    /// Every socket of the main namespace, with compression set.
    pub fn compress(&self, compress: bool) -> crate::BroadcastOperator {
        self.sockets().compress(compress)
    }

    /// `fetchSockets` on the main namespace.
    pub async fn fetch_sockets(&self) -> Result<Vec<crate::RemoteSocket>, crate::AckError> {
        self.sockets().fetch_sockets().await
    }

    /// `socketsJoin` on the main namespace.
    pub async fn sockets_join(&self, rooms: impl crate::IntoRooms) -> Result<(), crate::AckError> {
        self.sockets().sockets_join(rooms).await
    }

    /// `socketsLeave` on the main namespace.
    pub async fn sockets_leave(&self, rooms: impl crate::IntoRooms) -> Result<(), crate::AckError> {
        self.sockets().sockets_leave(rooms).await
    }

    /// `disconnectSockets` on the main namespace.
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), crate::AckError> {
        self.sockets().disconnect_sockets(close).await
    }

    /// `serverSideEmit` on the main namespace.
    pub async fn server_side_emit(
        &self,
        event: &str,
        args: impl crate::IntoArgs,
    ) -> Result<(), crate::EmitError> {
        self.sockets().server_side_emit(event, args).await
    }

    /// `serverSideEmitWithAck` on the main namespace.
    pub async fn server_side_emit_with_ack(
        &self,
        event: &str,
        args: impl crate::IntoArgs,
    ) -> Result<Vec<Value>, crate::AckError> {
        self.sockets().server_side_emit_with_ack(event, args).await
    }

    /// Listens for `serverSideEmit`s from other nodes on the main namespace.
    pub fn on_server_event<F, Fut>(&self, event: &str, handler: F)
    where
        F: Fn(Vec<Value>, Option<crate::ServerAck>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.sockets().on_server_event(event, handler);
    }

    /// Listens on `addr` (HTTP/1.1, the engine's path). The server then runs until
    /// [`SocketIo::close`], even once every `SocketIo` handle is dropped.
    pub async fn listen(&self, addr: SocketAddr) -> std::io::Result<ServerHandle> {
        let handle = self.engine().listen(addr).await?;
        self.live_while_listening();
        Ok(handle)
    }

    /// A listening server lives until [`SocketIo::close`], whether or not its `SocketIo` handles are
    /// kept: the connections it accepts are served, not left without an answer.
    fn live_while_listening(&self) {
        if self.0.kept_alive.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let io = self.clone();
        tokio::spawn(async move {
            io.engine().stopped().await;
            drop(io);
        });
    }

    /// Listens on `addr` over HTTPS (feature `tls`); handshakes report `secure: true`.
    #[cfg(feature = "tls")]
    pub async fn listen_tls(
        &self,
        addr: SocketAddr,
        tls: std::sync::Arc<engineio_server::rustls::ServerConfig>,
    ) -> std::io::Result<ServerHandle> {
        let handle = self.engine().listen_tls(addr, tls).await?;
        self.live_while_listening();
        Ok(handle)
    }

    /// A tower layer serving the server's path in front of another service (axum, tower).
    pub fn layer(&self) -> EngineLayer {
        EngineLayer::new(self.engine().clone())
    }

    /// Handles one request on the server's path (for your own hyper service).
    pub async fn handle<B>(&self, req: http::Request<B>) -> http::Response<EngineBody>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: std::fmt::Display,
    {
        self.engine().handle(req).await
    }

    /// Disconnects every socket (`server shutting down`), then closes the engine; resolves when done:
    /// [`SocketIo::drain`] with the engine's shutdown deadline
    /// ([`engineio_server::SHUTDOWN_WRITE_TIMEOUT`], or the close timeout if shorter).
    pub async fn close(&self) {
        let wait = engineio_server::SHUTDOWN_WRITE_TIMEOUT.min(self.engine().config().close_timeout);
        self.drain(wait).await
    }

    /// Takes this node out of service, for a rolling deploy or a scale-down behind a load balancer:
    ///
    /// - the servers of [`SocketIo::listen`] stop accepting connections, and handshakes that still
    ///   arrive (through [`SocketIo::handle`] or a layer) are refused with 503, so the load balancer
    ///   sends the clients elsewhere;
    /// - every socket is disconnected with [`DisconnectReason::ServerShuttingDown`] and its engine
    ///   connection closed without a Socket.IO DISCONNECT, which clients take as a lost connection:
    ///   they reconnect at once (`io server disconnect` would have told them to stay away). With
    ///   connection state recovery, each session is stored on the way out, so a client that reconnects
    ///   to another node sharing the adapter (Redis Streams, say) keeps its id and rooms and gets the
    ///   packets it missed;
    /// - the adapters leave the cluster after publishing what was queued and storing those sessions.
    ///
    /// Everything happens within `deadline`: a client that has not taken its last packets by then is
    /// cut, and an adapter that could not reach its bus gives up. Resolves when done (the process may
    /// exit then). [`SocketIo::close`] is the same with the engine's short shutdown deadline.
    ///
    /// ```no_run
    /// # async fn run(io: socketio_server::SocketIo) {
    /// // On SIGTERM (Kubernetes sends it after the preStop hook): stop and hand the clients over.
    /// io.drain(std::time::Duration::from_secs(10)).await;
    /// # }
    /// ```
    pub async fn drain(&self, deadline: std::time::Duration) {
        let end = tokio::time::Instant::now() + deadline;
        let namespaces: Vec<Arc<NsInner>> =
            self.0.namespaces.read().unwrap_or_else(|e| e.into_inner()).values().cloned().collect();
        // As the reference: the sockets first (their sessions are stored for recovery now), then the
        // engine, whose close refuses new sessions, stops the listeners and closes the connections.
        for nsp in &namespaces {
            for socket in Namespace(nsp.clone()).sockets() {
                socket.on_close(DisconnectReason::ServerShuttingDown);
            }
        }
        let adapters = async {
            for nsp in &namespaces {
                if tokio::time::timeout_at(end, nsp.adapter().close()).await.is_err() {
                    tracing::warn!(nsp = %nsp.name, "drain: the adapter did not close within the deadline");
                }
            }
        };
        tokio::join!(self.engine().close_within(deadline), adapters);
    }
}

/// A [`SocketIo`] that does not keep the server alive ([`SocketIo::downgrade`]).
#[derive(Clone, Default)]
pub struct WeakSocketIo(Weak<ServerInner>);

impl std::fmt::Debug for WeakSocketIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("WeakSocketIo").field(&(self.0.strong_count() > 0)).finish()
    }
}

impl WeakSocketIo {
    /// The server, unless it was dropped.
    pub fn upgrade(&self) -> Option<SocketIo> {
        self.0.upgrade().map(SocketIo)
    }
}
