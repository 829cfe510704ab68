//! [`EngineIo`]: the session table and the handling of every request.

use crate::config::{EngineConfig, TransportKind};
use crate::handler::{ConnectionError, ErrorCode, Handler};
use crate::request::{self, EngineBody, RemoteAddr, RequestInfo};
use crate::session::{Outgoing, Socket};
use crate::{polling, websocket};
use base64::Engine as _;
use bytes::Bytes;
use engineio_parser::{Handshake, Packet, ProtocolVersion, Str};
use http::header::{self, HeaderMap};
use http::{Method, Request, Response, StatusCode};
use http_body::Body;
use rustc_hash::FxHashMap;
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Keeps a served connection counted (see [`Shared::connection_started`]).
pub(crate) struct ConnectionGuard(Arc<Shared>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        if self.0.connections.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.settled.notify_waiters();
        }
    }
}

/// What every session and request handler of one engine shares.
pub(crate) struct Shared {
    pub(crate) config: EngineConfig,
    pub(crate) handler: Arc<dyn Handler>,
    path: String,
    /// FxHash: the ids are the server's (random, or from `generate_id`), so a client cannot pick
    /// colliding keys, and SipHash cost a visible share of every polling request's lookup.
    sessions: Mutex<FxHashMap<Str, Socket>>,
    count: AtomicUsize,
    closed: AtomicBool,
    drivers: AtomicUsize,
    /// The connections that the servers of [`EngineIo::listen`] are serving.
    connections: AtomicUsize,
    /// Notified whenever `drivers` or `connections` drops to zero.
    settled: Notify,
    /// Tells the accept loops of [`EngineIo::listen`] to stop, and their connections to finish the
    /// request in hand and close.
    pub(crate) shutdown: Notify,
    /// Set with `shutdown`: accept loops and connections that were not waiting when it was notified
    /// see it here.
    pub(crate) stopped: AtomicBool,
    /// Notified once [`EngineIo::close`] has finished: connections still open then are dropped.
    pub(crate) finished: Notify,
    /// Set with `finished`.
    pub(crate) done: AtomicBool,
}

impl Shared {
    pub(crate) fn remove(&self, socket: &Socket) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        if sessions.get(socket.id_str()).is_some_and(|s| s == socket) {
            sessions.remove(socket.id_str());
            self.count.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn get(&self, sid: &str) -> Option<Socket> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner()).get(sid).cloned()
    }

    pub(crate) fn drivers_started(&self) {
        self.drivers.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn drivers_finished(&self) {
        if self.drivers.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.settled.notify_waiters();
        }
    }

    /// Counts a connection served by [`EngineIo::listen`] until the guard drops.
    pub(crate) fn connection_started(self: &Arc<Self>) -> ConnectionGuard {
        self.connections.fetch_add(1, Ordering::SeqCst);
        ConnectionGuard(self.clone())
    }

    /// Resolves once no session task runs and no connection is served.
    async fn settled(&self) {
        loop {
            let settled = self.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            if self.drivers.load(Ordering::SeqCst) == 0 && self.connections.load(Ordering::SeqCst) == 0 {
                return;
            }
            settled.await;
        }
    }

    /// Resolves once the flag is set; `notify` is notified when it is.
    async fn wait_flag(flag: &AtomicBool, notify: &Notify) {
        loop {
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if flag.load(Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    }

    /// Resolves once [`EngineIo::close`] has stopped the servers (at once if it has).
    pub(crate) async fn shutting_down(&self) {
        Self::wait_flag(&self.stopped, &self.shutdown).await
    }

    /// Resolves once [`EngineIo::close`] has finished (at once if it has).
    pub(crate) async fn closed(&self) {
        Self::wait_flag(&self.done, &self.finished).await
    }

    /// The headers of every polling response: `cache-control`, the cookie and `initial_headers` on a
    /// handshake, then the `headers` hook.
    pub(crate) fn transport_headers(
        &self,
        socket: &Socket,
        request: &RequestInfo,
        headers: &mut HeaderMap,
        initial: bool,
    ) {
        headers.insert(header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
        self.response_headers(request, Some(socket.id()), headers, initial);
    }

    /// The cookie and `initial_headers` on a handshake, then the `headers` hook.
    fn response_headers(
        &self,
        request: &RequestInfo,
        sid: Option<&str>,
        headers: &mut HeaderMap,
        initial: bool,
    ) {
        if initial {
            if let (Some(cookie), Some(sid)) = (&self.config.cookie, sid) {
                request::set_header(headers, header::SET_COOKIE, &cookie.header_value(sid));
            }
            self.handler.on_initial_headers(headers, request);
        }
        self.handler.on_headers(headers, request);
    }
}

/// An Engine.IO server: a session table that answers HTTP requests on its path.
///
/// Cheap to clone. Mount it with [`EngineIo::listen`] (standalone), [`EngineIo::handle`] (from your own
/// hyper service), or [`crate::EngineLayer`] (tower/axum).
///
/// ```no_run
/// use engineio_server::{EngineConfig, EngineIo, Handler, Socket};
/// use engineio_server::parser::PacketData;
///
/// struct Echo;
/// impl Handler for Echo {
///     fn on_message(&self, socket: &Socket, data: PacketData) {
///         let _ = match data {
///             PacketData::Text(t) => socket.send_text(t),
///             PacketData::Binary(b) => socket.send_binary(b),
///             PacketData::Empty => Ok(()),
///         };
///     }
/// }
///
/// # async fn run() -> std::io::Result<()> {
/// let engine = EngineIo::new(EngineConfig::default(), Echo);
/// let server = engine.listen("127.0.0.1:3000".parse().unwrap()).await?;
/// println!("listening on {}", server.local_addr());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct EngineIo {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for EngineIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineIo").field("clients_count", &self.clients_count()).finish_non_exhaustive()
    }
}

/// The default `generateId`: 128 random bits from the OS, URL-safe base64 without padding.
pub fn generate_id() -> String {
    let mut bytes = [0u8; 16];
    // The OS random source does not fail on supported platforms; fall back to time and address entropy
    // rather than panicking if it ever does.
    if getrandom::fill(&mut bytes).is_err() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        bytes[..16].copy_from_slice(&now.as_nanos().to_le_bytes());
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// How long [`EngineIo::close`] gives websockets to take their last packets and the connections of
/// [`EngineIo::listen`] to finish the response in hand (or the close timeout, if shorter).
pub const SHUTDOWN_WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

impl EngineIo {
    /// An engine with `config`, reporting to `handler`.
    pub fn new(config: EngineConfig, handler: impl Handler) -> Self {
        Self::with_handler(config, Arc::new(handler))
    }

    /// An engine with a shared handler.
    pub fn with_handler(config: EngineConfig, handler: Arc<dyn Handler>) -> Self {
        let path = config.normalized_path();
        EngineIo {
            shared: Arc::new(Shared {
                config,
                handler,
                path,
                sessions: Mutex::new(FxHashMap::default()),
                count: AtomicUsize::new(0),
                closed: AtomicBool::new(false),
                stopped: AtomicBool::new(false),
                drivers: AtomicUsize::new(0),
                connections: AtomicUsize::new(0),
                settled: Notify::new(),
                shutdown: Notify::new(),
                finished: Notify::new(),
                done: AtomicBool::new(false),
            }),
        }
    }

    /// The options.
    pub fn config(&self) -> &EngineConfig {
        &self.shared.config
    }

    /// How many sessions are open (`clientsCount`).
    pub fn clients_count(&self) -> usize {
        self.shared.count.load(Ordering::SeqCst)
    }

    /// The open session with id `sid`.
    pub fn socket(&self, sid: &str) -> Option<Socket> {
        self.shared.get(sid)
    }

    /// Every open session.
    pub fn sockets(&self) -> Vec<Socket> {
        self.shared.sessions.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect()
    }

    /// Whether `path` (a request path) is one the engine answers.
    pub fn handles_path(&self, path: &str) -> bool {
        path.starts_with(&self.shared.path) || path == self.shared.path.trim_end_matches('/')
    }

    /// Closes every session (reason `server shutting down`), refuses new ones, stops the servers started
    /// by [`EngineIo::listen`], and resolves once every session has finished.
    ///
    /// As the reference's `close()`, every client is closed at once, nothing waits for a client to come
    /// back: a polling session closes there and then (a pending GET is answered with the queued packets
    /// and the close packet; without one, they are dropped). A websocket is given its queued packets
    /// and the close frame, and the servers' connections finish the response in hand (idle keep-alive
    /// connections close at once), within [`SHUTDOWN_WRITE_TIMEOUT`] (or the close timeout, if
    /// shorter); past it they are cut. So this returns at once when nothing is being written, and
    /// within that deadline otherwise.
    pub async fn close(&self) {
        self.close_within(SHUTDOWN_WRITE_TIMEOUT.min(self.shared.config.close_timeout)).await
    }

    /// [`EngineIo::close`] with `wait` as the write deadline: the clients have that long to take their
    /// last packets before their connections are cut (for a drain that allows slow clients more time,
    /// or a shutdown that must end sooner).
    pub async fn close_within(&self, wait: std::time::Duration) {
        let shared = &self.shared;
        shared.closed.store(true, Ordering::SeqCst);
        let deadline = tokio::time::Instant::now() + wait;
        for socket in self.sockets() {
            socket.shutdown(wait);
        }
        shared.stopped.store(true, Ordering::SeqCst);
        shared.shutdown.notify_waiters();
        // A handshake that was past its check of `closed` may have added a session meanwhile.
        for socket in self.sockets() {
            socket.shutdown(wait);
        }
        if tokio::time::timeout_at(deadline, shared.settled()).await.is_err() {
            // A client that does not read its last packets: its session ends without them.
            for socket in self.sockets() {
                socket.cut_close("the shutdown write deadline passed");
            }
        }
        // The session tasks end at once now (a stuck write is abandoned); connections still open are
        // dropped below.
        loop {
            let settled = shared.settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            if shared.drivers.load(Ordering::SeqCst) == 0 {
                break;
            }
            settled.await;
        }
        shared.done.store(true, Ordering::SeqCst);
        shared.finished.notify_waiters();
    }

    /// Resolves once [`EngineIo::close`] has finished (at once if it has).
    pub async fn stopped(&self) {
        self.shared.closed().await
    }

    /// Handles one request on the engine's path. Every outcome is a response: refused requests get the
    /// reference's JSON error (`{"code":N,"message":"..."}`) with status 400 or 403.
    pub async fn handle<B>(&self, req: Request<B>) -> Response<EngineBody>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: std::fmt::Display,
    {
        let remote = req.extensions().get::<RemoteAddr>().map(|r| r.0);
        let secure = req.extensions().get::<request::Secure>().is_some();
        self.handle_from(req, remote, secure).await
    }

    /// [`handle`](Self::handle) for a request whose peer address and TLS are known without reading
    /// its extensions (the engine's own server: no extension map is built per request).
    pub(crate) async fn handle_from<B>(
        &self,
        req: Request<B>,
        remote: Option<std::net::SocketAddr>,
        secure: bool,
    ) -> Response<EngineBody>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: std::fmt::Display,
    {
        let cors = self.shared.config.cors.clone();
        if let Some(cors) = &cors {
            if req.method() == Method::OPTIONS {
                return cors.preflight(req.headers());
            }
        }
        let request_headers = cors.as_ref().map(|_| req.headers().clone());
        let mut res = match self.static_file(&req) {
            Some(res) => res,
            None => self.route(req, remote, secure).await,
        };
        if let (Some(cors), Some(h)) = (&cors, &request_headers) {
            if res.extensions().get::<request::NoCors>().is_none() {
                cors.apply(h, res.headers_mut());
            }
        }
        res
    }

    /// The answer to a `GET` of one of the static files under the path, if it is one.
    fn static_file<B>(&self, req: &Request<B>) -> Option<Response<EngineBody>> {
        let files = self.shared.config.static_files.as_ref()?;
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return None;
        }
        let name = req.uri().path().strip_prefix(self.shared.path.as_str())?;
        if name.is_empty() || name.contains('/') {
            return None;
        }
        files.respond(name, req.headers())
    }

    fn refuse(
        &self,
        request: &RequestInfo,
        code: ErrorCode,
        message: Option<String>,
        context: serde_json::Value,
    ) -> Response<EngineBody> {
        let message = message.unwrap_or_else(|| code.message().to_string());
        // The reference takes upgrade requests apart from the others when websocket is enabled, and
        // refuses them on the raw socket: 400 whatever the code, the bare message.
        let upgrade = websocket::is_upgrade_request(request.headers())
            && self.shared.config.transports.contains(&TransportKind::WebSocket);
        let response = if upgrade {
            request::upgrade_error_response(&message)
        } else {
            request::error_response(code, &message)
        };
        self.shared.handler.on_connection_error(&ConnectionError {
            request: request.clone(),
            code,
            message,
            context,
        });
        response
    }

    async fn route<B>(
        &self,
        mut req: Request<B>,
        remote: Option<std::net::SocketAddr>,
        secure: bool,
    ) -> Response<EngineBody>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: std::fmt::Display,
    {
        // The headers move into the request's record (not copied): everything below reads them there.
        let headers = std::mem::take(req.headers_mut());
        let mut info = RequestInfo::new(req.method().clone(), req.uri().clone(), headers, remote);
        if secure {
            info = info.secured();
        }
        // A session keeps what layers in front of the engine added to the request that opened it
        // (sessions, users): copied for handshakes only, not for every poll.
        if !req.extensions().is_empty() && info.query("sid").is_none() {
            info = info.with_extensions(req.extensions().clone());
        }
        let config = &self.shared.config;

        let transport_name = info.query("transport").unwrap_or_default();
        let Some(transport) =
            TransportKind::from_name(transport_name).filter(|t| config.transports.contains(t))
        else {
            return self.refuse(
                &info,
                ErrorCode::UnknownTransport,
                None,
                json!({ "transport": transport_name }),
            );
        };
        if let Some(origin) = info.headers().get(header::ORIGIN) {
            if !request::is_valid_header_value(origin.as_bytes()) {
                return self.refuse(&info, ErrorCode::BadRequest, None, json!({ "name": "INVALID_ORIGIN" }));
            }
        }
        let upgrade = websocket::is_upgrade_request(info.headers());
        let protocol = match info.query("EIO") {
            Some("4") => ProtocolVersion::V4,
            _ => ProtocolVersion::V3,
        };

        if let Some(sid) = info.query("sid") {
            // A session that has closed, or whose heartbeat has just timed out, is unknown at once.
            let Some(socket) = self.shared.get(sid).filter(Socket::accepts_requests) else {
                return self.refuse(&info, ErrorCode::UnknownSid, None, json!({ "sid": sid }));
            };
            let previous = socket.transport();
            if !upgrade && previous != transport {
                return self.refuse(
                    &info,
                    ErrorCode::BadRequest,
                    None,
                    json!({ "name": "TRANSPORT_MISMATCH", "transport": transport.as_str(), "previousTransport": previous.as_str() }),
                );
            }
            if socket.protocol() != protocol {
                return self.refuse(
                    &info,
                    ErrorCode::BadRequest,
                    None,
                    json!({ "name": "PROTOCOL_MISMATCH", "protocol": protocol as u8, "previousProtocol": socket.protocol() as u8 }),
                );
            }
            return match transport {
                TransportKind::WebSocket if upgrade => {
                    let res = websocket::switching_protocols(info.headers());
                    let on_upgrade = hyper::upgrade::on(&mut req);
                    let max = config.max_http_buffer_size;
                    let upgrade = socket.in_span({
                        let socket = socket.clone();
                        async move {
                            if let Ok(upgraded) = on_upgrade.await {
                                let ws = websocket::WsStream::accept(upgraded, max);
                                websocket::upgrade(socket, ws).await;
                            }
                        }
                    });
                    tokio::spawn(upgrade);
                    let mut res = res;
                    self.shared.response_headers(&info, None, res.headers_mut(), false);
                    res
                }
                TransportKind::WebSocket => self.refuse(
                    &info,
                    ErrorCode::BadRequest,
                    None,
                    json!({ "name": "TRANSPORT_HANDSHAKE_ERROR" }),
                ),
                TransportKind::Polling => match *req.method() {
                    Method::GET => socket.in_span(polling::get(&socket, &info, false)).await,
                    Method::POST => socket.in_span(polling::post(&socket, &info, req)).await,
                    _ => self.refuse(
                        &info,
                        ErrorCode::BadRequest,
                        None,
                        json!({ "name": "UNSUPPORTED_METHOD" }),
                    ),
                },
            };
        }

        if req.method() != Method::GET {
            return self.refuse(
                &info,
                ErrorCode::BadHandshakeMethod,
                None,
                json!({ "method": req.method().as_str() }),
            );
        }
        if transport == TransportKind::WebSocket && !upgrade {
            return self.refuse(
                &info,
                ErrorCode::BadRequest,
                None,
                json!({ "name": "TRANSPORT_HANDSHAKE_ERROR" }),
            );
        }
        if let Some(allow) = &config.allow_request {
            if let Err(message) = allow(info.clone()).await {
                return self.refuse(&info, ErrorCode::Forbidden, Some(message), json!({}));
            }
        }
        if protocol == ProtocolVersion::V3 && !config.allow_eio3 {
            return self.refuse(&info, ErrorCode::UnsupportedProtocolVersion, None, json!({ "protocol": 3 }));
        }
        if self.shared.closed.load(Ordering::SeqCst) {
            let mut res = request::error_response(ErrorCode::BadRequest, "Server is shutting down");
            *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            return res;
        }
        let id = match &config.generate_id {
            Some(generate) => generate(&info),
            None => generate_id(),
        };
        if id.is_empty() || self.shared.get(&id).is_some() {
            return self.refuse(&info, ErrorCode::BadRequest, None, json!({ "name": "ID_GENERATION_ERROR" }));
        }
        let id = Str::from(id);
        match transport {
            TransportKind::Polling => {
                let socket = self.open_session(id, protocol, transport, info);
                tokio::spawn(socket.in_span(socket.clone().drive(None)));
                let res = socket.in_span(polling::get(&socket, &socket.request().clone(), true)).await;
                {
                    let _span = socket.enter_span();
                    self.shared.handler.on_connection(&socket);
                }
                res
            }
            TransportKind::WebSocket => {
                let mut res = websocket::switching_protocols(info.headers());
                self.shared.response_headers(&info, Some(&id), res.headers_mut(), true);
                let on_upgrade = hyper::upgrade::on(&mut req);
                let engine = self.clone();
                tokio::spawn(async move {
                    let Ok(upgraded) = on_upgrade.await else { return };
                    let ws = websocket::WsStream::accept(upgraded, engine.shared.config.max_http_buffer_size);
                    let socket = engine.open_session(id, protocol, transport, info);
                    {
                        let _span = socket.enter_span();
                        engine.shared.handler.on_connection(&socket);
                    }
                    socket.in_span(socket.clone().drive(Some(ws))).await;
                });
                res
            }
        }
    }

    /// Registers a new session with the open packet queued.
    fn open_session(
        &self,
        id: Str,
        protocol: ProtocolVersion,
        transport: TransportKind,
        info: RequestInfo,
    ) -> Socket {
        let config = &self.shared.config;
        let socket = Socket::new(id.clone(), protocol, transport, self.shared.clone(), info.detached());
        let handshake = Handshake {
            sid: id.to_string(),
            upgrades: config.upgrades_for(transport),
            ping_interval: config.ping_interval.as_millis() as u64,
            ping_timeout: config.ping_timeout.as_millis() as u64,
            max_payload: Some(config.max_http_buffer_size as u64),
        };
        socket.lock().queue.push_back(Outgoing::plain(Packet::open(&handshake)));
        self.shared.sessions.lock().unwrap_or_else(|e| e.into_inner()).insert(id, socket.clone());
        self.shared.count.fetch_add(1, Ordering::SeqCst);
        socket
    }
}
