//! Socket.IO client for Rust: an Engine.IO v4 client (polling, websocket, upgrade, heartbeat), a
//! [`Manager`] that shares one connection between namespaces and reconnects with backoff, and
//! [`Socket`]s with events, acknowledgements both ways, buffering while disconnected and connection
//! state recovery — what `socket.io-client` 4.8 does, for bots and services.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use socketio_client::ClientBuilder;
//! let socket = ClientBuilder::new("http://localhost:3000/").build()?;
//! socket.on("news", |_socket, event| async move {
//!     println!("news: {:?}", event.args);
//! });
//! socket.connect().await?;
//! let answer = socket.emit_with_ack("echo", ("hello",)).await?;
//! println!("{answer:?}");
//! # Ok(()) }
//! ```

pub mod blocking;
mod cookies;
mod engine;
mod error;
mod manager;
pub mod queue;
mod socket;
mod tls;

pub use cookies::CookieJar;
pub use engine::{CloseReason, EngineEvent, EngineHandle, EngineOptions, Transport};
pub use engineio_parser as engine_parser;
pub use error::{AckError, ConnectError, EmitError, Error};
pub use manager::{backoff, Manager, ManagerEvent, ManagerOptions};
/// The TLS library of the client, for [`TlsConfig::from_rustls`].
pub use rustls;
pub use socket::{AckSender, Auth, Emitter, Event, Socket, SocketOptions, Status};
pub use socketio_parser as parser;
pub use tls::{TlsConfig, TlsConfigBuilder};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

/// Opens an Engine.IO session directly (no Socket.IO), for tools that speak Engine.IO only.
pub use engine::connect as connect_engine;

/// Builds a socket from a URL, as `io(url, options)` does: the URL's path is the namespace, its query
/// goes with every Engine.IO request (with the [`ClientBuilder::query`] parameters), and sockets of
/// the same origin and path share one manager (one connection) unless `force_new`, `multiplex(false)`,
/// or the shared manager already has a socket for that namespace: then the socket gets a connection
/// of its own, with its own `auth`, as in socket.io-client. A socket that joins a shared manager
/// uses that manager's options (its query, headers, transports...), not its own.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    url: String,
    manager: ManagerOptions,
    socket: SocketOptions,
    force_new: bool,
    multiplex: bool,
    auto_connect: bool,
    with_credentials: bool,
}

fn managers() -> &'static Mutex<HashMap<String, Weak<manager::ManagerInner>>> {
    static MANAGERS: OnceLock<Mutex<HashMap<String, Weak<manager::ManagerInner>>>> = OnceLock::new();
    MANAGERS.get_or_init(|| Mutex::new(HashMap::new()))
}

impl ClientBuilder {
    /// A socket for `url` (`http://host:port/namespace`, `https://`, `ws://` or `wss://`).
    pub fn new(url: impl Into<String>) -> Self {
        ClientBuilder {
            url: url.into(),
            manager: ManagerOptions::default(),
            socket: SocketOptions::default(),
            force_new: false,
            multiplex: true,
            auto_connect: true,
            with_credentials: false,
        }
    }

    /// The Engine.IO path (default `/socket.io/`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.manager.engine.path = path.into();
        self
    }

    /// The transports, the first one to open (default polling then websocket).
    pub fn transports(mut self, transports: &[Transport]) -> Self {
        self.manager.engine.transports = transports.to_vec();
        self
    }

    /// Whether polling upgrades to websocket (default true).
    pub fn upgrade(mut self, upgrade: bool) -> Self {
        self.manager.engine.upgrade = upgrade;
        self
    }

    /// Adds a query parameter, sent with every request of the connection, after those of the URL's
    /// query (`http://host/nsp?token=abc`); it replaces a URL parameter of the same name.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.manager.engine.query.push((key.into(), value.into()));
        self
    }

    /// Adds an HTTP header to every request.
    pub fn extra_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.manager.engine.extra_headers.push((name.into(), value.into()));
        self
    }

    /// Keeps the cookies the server sets (handshake, polls, posts, websocket upgrades) and sends them
    /// back with every later request of the manager, reconnections included, as `withCredentials`
    /// does in engine.io-client on Node.js (default false: no cookie is kept). Needed behind a load
    /// balancer with cookie stickiness. The jar is [`Socket::manager`]`.options().engine.cookies`.
    pub fn with_credentials(mut self, on: bool) -> Self {
        self.with_credentials = on;
        self
    }

    /// The certificates trusted on `https://` and `wss://` (default: the platform's roots).
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.manager.engine.tls = Some(tls);
        self
    }

    /// The msgpack parser (`socket.io-msgpack-parser`) instead of the default one (the `msgpack`
    /// feature).
    #[cfg(feature = "msgpack")]
    pub fn msgpack(mut self) -> Self {
        self.manager.parser = Arc::new(socketio_parser::MsgpackParser);
        self
    }

    /// The CONNECT payload (`auth`), the same each time.
    pub fn auth(mut self, auth: impl Into<socketio_parser::Value>) -> Self {
        self.socket.auth = Auth::Static(auth.into());
        self
    }

    /// The CONNECT payload, computed at each (re)connection.
    pub fn auth_fn<F, Fut>(mut self, auth: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = socketio_parser::Value> + Send + 'static,
    {
        self.socket.auth = Auth::Dynamic(Arc::new(move || Box::pin(auth())));
        self
    }

    /// The default acknowledgement timeout of the socket (`ackTimeout`).
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.socket.ack_timeout = Some(timeout);
        self
    }

    /// With [`ClientBuilder::ack_timeout`]: emits go one at a time and are sent again up to `retries`
    /// times until the server acknowledges them (`retries`).
    pub fn retries(mut self, retries: u32) -> Self {
        self.socket.retries = Some(retries);
        self
    }

    /// Whether to reconnect (default true).
    pub fn reconnection(mut self, on: bool) -> Self {
        self.manager.reconnection = on;
        self
    }

    /// How many reconnection attempts (default unlimited).
    pub fn reconnection_attempts(mut self, attempts: u32) -> Self {
        self.manager.reconnection_attempts = Some(attempts);
        self
    }

    /// The first reconnection delay (default 1 s).
    pub fn reconnection_delay(mut self, delay: Duration) -> Self {
        self.manager.reconnection_delay = delay;
        self
    }

    /// The largest reconnection delay (default 5 s).
    pub fn reconnection_delay_max(mut self, delay: Duration) -> Self {
        self.manager.reconnection_delay_max = delay;
        self
    }

    /// The randomization of reconnection delays, 0 to 1 (default 0.5).
    pub fn randomization_factor(mut self, factor: f64) -> Self {
        self.manager.randomization_factor = factor;
        self
    }

    /// How long opening the connection may take (default 20 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.manager.timeout = timeout;
        self
    }

    /// A connection of its own, not shared with other sockets (`forceNew`).
    pub fn force_new(mut self, on: bool) -> Self {
        self.force_new = on;
        self
    }

    /// Whether sockets of the same origin share a connection (default true).
    pub fn multiplex(mut self, on: bool) -> Self {
        self.multiplex = on;
        self
    }

    /// Whether the socket starts connecting when built (default true).
    pub fn auto_connect(mut self, on: bool) -> Self {
        self.auto_connect = on;
        self
    }

    /// The socket. Must be called within a tokio runtime.
    pub fn build(self) -> Result<Socket, Error> {
        let ParsedUrl { secure, host, port, nsp, query } = parse_url(&self.url)?;
        let mut options = self.manager;
        // The URL's query goes to the Engine.IO requests, as in socket.io-client; the `query` option
        // comes on top (socket.io-client would drop the option when the URL has a query).
        let given = std::mem::take(&mut options.engine.query);
        let mut merged: Vec<(String, String)> =
            query.into_iter().filter(|(k, _)| !given.iter().any(|(g, _)| g == k)).collect();
        merged.extend(given);
        options.engine.query = merged;
        if self.with_credentials && options.engine.cookies.is_none() {
            // One jar per manager: made here, shared by the clones of the options the manager makes.
            options.engine.cookies = Some(CookieJar::new());
        }
        options.engine.secure = secure;
        options.engine.host = host;
        options.engine.port = port;
        let key = format!(
            "{}://{}:{}{}",
            if secure { "https" } else { "http" },
            options.engine.host,
            port,
            options.engine.path
        );
        let manager = if self.force_new || !self.multiplex {
            Manager::new(options)
        } else {
            let mut cache = managers().lock().unwrap_or_else(|e| e.into_inner());
            match cache.get(&key).and_then(Weak::upgrade).map(Manager) {
                // A namespace the cached manager already has gets a connection of its own, as `io()`
                // does in the JS client: the second socket has its own auth and its own session.
                Some(cached) if cached.has_namespace(&nsp) => Manager::new(options),
                Some(cached) => cached,
                None => {
                    let manager = Manager::new(options);
                    cache.insert(key, Arc::downgrade(&manager.0));
                    manager
                }
            }
        };
        let socket = manager.socket(&nsp, self.socket);
        if self.auto_connect {
            socket.open();
        }
        Ok(socket)
    }
}

/// What a URL gives: the origin, the namespace (its path) and its query.
#[derive(Debug, PartialEq)]
struct ParsedUrl {
    secure: bool,
    host: String,
    port: u16,
    nsp: String,
    /// The query's parameters, percent-decoded, in order.
    query: Vec<(String, String)>,
}

fn parse_url(url: &str) -> Result<ParsedUrl, Error> {
    let uri: http::Uri = url.parse().map_err(|e: http::uri::InvalidUri| Error::InvalidUrl(e.to_string()))?;
    let secure = match uri.scheme_str() {
        Some("http" | "ws") => false,
        Some("https" | "wss") => true,
        other => return Err(Error::InvalidUrl(format!("unsupported scheme {other:?}"))),
    };
    let host = uri.host().ok_or_else(|| Error::InvalidUrl("no host".into()))?;
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
    let nsp = match uri.path() {
        "" => "/".to_string(),
        p => p.to_string(),
    };
    let query = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    Ok(ParsedUrl { secure, host, port, nsp, query })
}

/// Decodes `%XX` escapes as `decodeURIComponent` does (`+` stays a plus); a malformed escape or a
/// result that is not UTF-8 is kept as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_origin_namespace_and_query() {
        let parsed = |url| {
            let p = parse_url(url).unwrap();
            (p.secure, p.host, p.port, p.nsp, p.query)
        };
        assert_eq!(parsed("http://localhost:3000"), (false, "localhost".into(), 3000, "/".into(), vec![]));
        assert_eq!(
            parsed("wss://example.com/admin"),
            (true, "example.com".into(), 443, "/admin".into(), vec![])
        );
        let pairs =
            |p: &[(&str, &str)]| p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        assert_eq!(
            parsed("https://h/ns?token=a%20b%26c&flag&x=1+2&bad=%zz&&e=").4,
            pairs(&[("token", "a b&c"), ("flag", ""), ("x", "1+2"), ("bad", "%zz"), ("e", "")])
        );
        assert_eq!(parsed("http://h/?t=%C3%A9").3, "/");
        assert_eq!(parsed("http://h/?t=%C3%A9").4, pairs(&[("t", "é")]));
        assert!(parse_url("ftp://x").is_err());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let options = ManagerOptions { randomization_factor: 0.0, ..ManagerOptions::default() };
        let delays: Vec<u64> = (0..5).map(|i| backoff(&options, i).as_millis() as u64).collect();
        assert_eq!(delays, vec![1000, 2000, 4000, 5000, 5000]);
        let jittered = ManagerOptions::default();
        for i in 0..20 {
            let d = backoff(&jittered, 0).as_millis();
            assert!((500..=1500).contains(&d), "attempt {i}: {d}");
        }
    }
}
