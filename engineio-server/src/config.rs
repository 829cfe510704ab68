//! Server options, with the defaults of the Node `engine.io` server.

use crate::request::RequestInfo;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A boxed future, as returned by the async hooks.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The `allowRequest` hook: decides whether a handshake may proceed. `Err(message)` refuses it with
/// HTTP 403 and error code 4 (`Forbidden`), the message sent to the client.
pub type AllowRequest = Arc<dyn Fn(RequestInfo) -> BoxFuture<Result<(), String>> + Send + Sync>;

/// The `generateId` hook: makes the session id of a new session.
pub type GenerateId = Arc<dyn Fn(&RequestInfo) -> String + Send + Sync>;

/// The `origin` predicate of the CORS options.
pub type OriginPredicate = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// A transport a session may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    WebSocket,
}

impl TransportKind {
    /// The name used on the wire (`transport=` query parameter).
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Polling => "polling",
            TransportKind::WebSocket => "websocket",
        }
    }

    /// Parses a transport name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "polling" => Some(TransportKind::Polling),
            "websocket" => Some(TransportKind::WebSocket),
            _ => None,
        }
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which origins the CORS headers allow.
#[derive(Clone, Default)]
pub enum CorsOrigin {
    /// `Access-Control-Allow-Origin: *` (the default of the `cors` package).
    #[default]
    Any,
    /// Always this origin, whatever the request's `Origin` (a string `origin` of the `cors` package:
    /// `Access-Control-Allow-Origin: <origin>` with `Vary: Origin`).
    Fixed(String),
    /// Reflect the request's `Origin`, whatever it is.
    Mirror,
    /// Allow these origins only (the request's origin is reflected when listed).
    List(Vec<String>),
    /// Allow the origins for which the predicate returns true.
    Predicate(OriginPredicate),
}

impl fmt::Debug for CorsOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CorsOrigin::Any => f.write_str("Any"),
            CorsOrigin::Fixed(o) => f.debug_tuple("Fixed").field(o).finish(),
            CorsOrigin::Mirror => f.write_str("Mirror"),
            CorsOrigin::List(l) => f.debug_tuple("List").field(l).finish(),
            CorsOrigin::Predicate(_) => f.write_str("Predicate(..)"),
        }
    }
}

/// CORS options, as the `cors` package takes them. CORS is off unless configured.
#[derive(Debug, Clone)]
pub struct CorsConfig {
    /// Allowed origins.
    pub origin: CorsOrigin,
    /// Whether to send `Access-Control-Allow-Credentials: true`. Only sent with an explicit origin
    /// (`Fixed`, `List`, `Predicate`) that the request's origin matches; `Any` and `Mirror` never allow
    /// credentials, unlike the `cors` package (browsers refuse `*` with credentials, and mirroring any
    /// origin with credentials would let every site act with the user's cookies).
    pub credentials: bool,
    /// Methods announced in answer to a preflight request.
    pub methods: Vec<String>,
    /// Headers allowed in requests; `None` reflects the preflight's `Access-Control-Request-Headers`.
    pub allowed_headers: Option<Vec<String>>,
    /// Response headers exposed to the page.
    pub exposed_headers: Vec<String>,
    /// `Access-Control-Max-Age`, in seconds.
    pub max_age: Option<u64>,
}

impl Default for CorsConfig {
    fn default() -> Self {
        CorsConfig {
            origin: CorsOrigin::Any,
            credentials: false,
            methods: ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"].map(String::from).to_vec(),
            allowed_headers: None,
            exposed_headers: Vec::new(),
            max_age: None,
        }
    }
}

/// The `SameSite` attribute of the session cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SameSite {
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=Lax` (the default).
    #[default]
    Lax,
    /// `SameSite=None`.
    None,
}

/// The session cookie set on the handshake response (off unless configured).
#[derive(Debug, Clone)]
pub struct CookieConfig {
    /// Cookie name (default `io`).
    pub name: String,
    /// `Path` (default `/`).
    pub path: Option<String>,
    /// `HttpOnly` (default true).
    pub http_only: bool,
    /// `SameSite` (default `Lax`).
    pub same_site: Option<SameSite>,
    /// `Secure`.
    pub secure: bool,
    /// `Domain`.
    pub domain: Option<String>,
    /// `Max-Age`, in seconds.
    pub max_age: Option<u64>,
}

impl Default for CookieConfig {
    fn default() -> Self {
        CookieConfig {
            name: "io".into(),
            path: Some("/".into()),
            http_only: true,
            same_site: Some(SameSite::Lax),
            secure: false,
            domain: None,
            max_age: None,
        }
    }
}

impl CookieConfig {
    /// The `Set-Cookie` value for session `sid`.
    pub fn header_value(&self, sid: &str) -> String {
        let mut out = format!("{}={}", self.name, sid);
        if let Some(max_age) = self.max_age {
            out.push_str(&format!("; Max-Age={max_age}"));
        }
        if let Some(domain) = &self.domain {
            out.push_str(&format!("; Domain={domain}"));
        }
        if let Some(path) = &self.path {
            out.push_str(&format!("; Path={path}"));
        }
        if self.http_only {
            out.push_str("; HttpOnly");
        }
        if self.secure {
            out.push_str("; Secure");
        }
        match self.same_site {
            Some(SameSite::Strict) => out.push_str("; SameSite=Strict"),
            Some(SameSite::Lax) => out.push_str("; SameSite=Lax"),
            Some(SameSite::None) => out.push_str("; SameSite=None"),
            None => {}
        }
        out
    }
}

/// Compression of polling responses (`httpCompression`).
#[derive(Debug, Clone, Copy)]
pub struct CompressionConfig {
    /// Responses smaller than this many bytes are sent as they are (default 1024).
    pub threshold: usize,
}

impl Default for CompressionConfig {
    fn default() -> Self {
        CompressionConfig { threshold: 1024 }
    }
}

/// What the engine does when a session's send queue is full. See [`EngineConfig::max_buffered_packets`].
///
/// Volatile packets are always dropped when the session cannot take them at once; this policy is for the
/// others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverflowPolicy {
    /// Close the session with reason `transport error` and description `send buffer full` (the default):
    /// a client that does not read must not cost unbounded memory, and must not silently lose packets.
    #[default]
    Close,
    /// Drop the packet and keep the session.
    DropPacket,
}

/// Engine options. `EngineConfig::default()` has the defaults of the Node server.
#[derive(Clone)]
pub struct EngineConfig {
    /// The request path the engine answers (default `/engine.io/`; the Socket.IO server uses `/socket.io/`).
    pub path: String,
    /// Milliseconds between server pings (default 25000).
    pub ping_interval: Duration,
    /// Milliseconds to wait for the pong before closing with `ping timeout` (default 20000).
    pub ping_timeout: Duration,
    /// How long an upgrade to websocket may take (default 10000 ms).
    pub upgrade_timeout: Duration,
    /// The largest message or polling body accepted, in bytes (default 1e6).
    pub max_http_buffer_size: usize,
    /// Allowed transports (default polling and websocket).
    pub transports: Vec<TransportKind>,
    /// Whether polling sessions may upgrade to websocket (default true).
    pub allow_upgrades: bool,
    /// Whether Engine.IO v3 clients (`socket.io-client` 2.x) are accepted (default false).
    pub allow_eio3: bool,
    /// CORS headers (default off).
    pub cors: Option<CorsConfig>,
    /// The session cookie (default off).
    pub cookie: Option<CookieConfig>,
    /// Compression of polling responses (default on, threshold 1024 bytes).
    pub http_compression: Option<CompressionConfig>,
    /// The `allowRequest` hook.
    pub allow_request: Option<AllowRequest>,
    /// The `generateId` hook (default: 128 random bits from the OS, URL-safe base64).
    pub generate_id: Option<GenerateId>,
    /// The most packets a session may have waiting to be written (default 4096).
    pub max_buffered_packets: usize,
    /// What happens past `max_buffered_packets` (default: close the session).
    pub overflow: OverflowPolicy,
    /// How long a closing polling session waits for its last GET before closing anyway (default 30 s).
    pub close_timeout: Duration,
    /// How many bytes of a polling POST refused as too large (`413`) are still read and thrown away
    /// (default 50 MB). A client that sends its whole body before it reads the answer gets the `413`
    /// only if the server reads that body: closing a connection with unread data resets it, and the
    /// answer is lost. A body that goes on past this (or announces more in its `Content-Length`) ends
    /// the connection.
    pub max_discarded_body_size: usize,
    /// How long the rest of a polling POST refused as too large is read before the connection ends
    /// anyway (default 30 s); see [`EngineConfig::max_discarded_body_size`].
    pub discard_timeout: Duration,
    /// Files served under the path beside the protocol (`GET <path><name>`), such as the Socket.IO
    /// client bundle (default none).
    pub static_files: Option<std::sync::Arc<crate::StaticFiles>>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            path: "/engine.io/".into(),
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            max_http_buffer_size: 1_000_000,
            transports: vec![TransportKind::Polling, TransportKind::WebSocket],
            allow_upgrades: true,
            allow_eio3: false,
            cors: None,
            cookie: None,
            http_compression: Some(CompressionConfig::default()),
            allow_request: None,
            generate_id: None,
            max_buffered_packets: 4096,
            overflow: OverflowPolicy::Close,
            close_timeout: Duration::from_secs(30),
            max_discarded_body_size: 50_000_000,
            discard_timeout: Duration::from_secs(30),
            static_files: None,
        }
    }
}

impl fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineConfig")
            .field("path", &self.path)
            .field("ping_interval", &self.ping_interval)
            .field("ping_timeout", &self.ping_timeout)
            .field("upgrade_timeout", &self.upgrade_timeout)
            .field("max_http_buffer_size", &self.max_http_buffer_size)
            .field("transports", &self.transports)
            .field("allow_upgrades", &self.allow_upgrades)
            .field("allow_eio3", &self.allow_eio3)
            .field("cors", &self.cors)
            .field("cookie", &self.cookie)
            .field("http_compression", &self.http_compression)
            .field("allow_request", &self.allow_request.is_some())
            .field("generate_id", &self.generate_id.is_some())
            .field("max_buffered_packets", &self.max_buffered_packets)
            .field("overflow", &self.overflow)
            .field("close_timeout", &self.close_timeout)
            .field("max_discarded_body_size", &self.max_discarded_body_size)
            .field("discard_timeout", &self.discard_timeout)
            .finish()
    }
}

impl EngineConfig {
    /// The path normalised with a trailing slash, as the reference server matches it.
    pub(crate) fn normalized_path(&self) -> String {
        let trimmed = self.path.trim_end_matches('/');
        format!("{trimmed}/")
    }

    /// The transports a session opened on `transport` may upgrade to.
    pub(crate) fn upgrades_for(&self, transport: TransportKind) -> Vec<String> {
        if self.allow_upgrades
            && transport == TransportKind::Polling
            && self.transports.contains(&TransportKind::WebSocket)
        {
            vec!["websocket".to_string()]
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_header_has_the_reference_attributes() {
        assert_eq!(CookieConfig::default().header_value("abc"), "io=abc; Path=/; HttpOnly; SameSite=Lax");
        let c = CookieConfig {
            name: "sid".into(),
            path: None,
            http_only: false,
            same_site: Some(SameSite::None),
            secure: true,
            domain: Some("example.com".into()),
            max_age: Some(60),
        };
        assert_eq!(c.header_value("x"), "sid=x; Max-Age=60; Domain=example.com; Secure; SameSite=None");
    }

    #[test]
    fn path_is_normalised_with_one_trailing_slash() {
        let c = EngineConfig { path: "/socket.io".into(), ..EngineConfig::default() };
        assert_eq!(c.normalized_path(), "/socket.io/");
        let c = EngineConfig { path: "/x//".into(), ..EngineConfig::default() };
        assert_eq!(c.normalized_path(), "/x/");
    }
}
