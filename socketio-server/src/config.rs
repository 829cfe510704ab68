//! Server options, with the defaults of the Node `socket.io` server.

use engineio_server::{EngineConfig, TransportKind};
use socketio_adapter::{AdapterFactory, MemoryAdapter};
use socketio_parser::{JsonParser, Parser};
use std::sync::Arc;
use std::time::Duration;

/// Which parser the server speaks (all its clients must use the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParserKind {
    /// The default parser (`socket.io-parser`).
    #[default]
    Default,
    /// `socket.io-msgpack-parser` (the `msgpack` feature).
    #[cfg(feature = "msgpack")]
    Msgpack,
}

impl ParserKind {
    pub(crate) fn build(self) -> Arc<dyn Parser> {
        match self {
            ParserKind::Default => Arc::new(JsonParser::default()),
            #[cfg(feature = "msgpack")]
            ParserKind::Msgpack => Arc::new(socketio_parser::MsgpackParser),
        }
    }
}

/// Connection state recovery (`connectionStateRecovery`): a client that lost its connection gets back its
/// id, rooms, data and the events it missed, if it returns within `max_disconnection_duration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryConfig {
    /// How long a disconnected session is kept (default 2 minutes).
    pub max_disconnection_duration: Duration,
    /// Whether a recovered socket skips the middlewares (default true).
    pub skip_middlewares: bool,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig { max_disconnection_duration: Duration::from_secs(120), skip_middlewares: true }
    }
}

/// Server options. `ServerConfig::default()` has the defaults of the Node server: path `/socket.io/`,
/// `connectTimeout` 45 s, the default parser, the in-memory adapter, and the engine's defaults.
#[derive(Clone)]
pub struct ServerConfig {
    /// The engine's options (its `path` defaults to `/socket.io/` here).
    pub engine: EngineConfig,
    /// How long a client has to join a namespace before its connection is closed (default 45 s).
    pub connect_timeout: Duration,
    /// The parser.
    pub parser: ParserKind,
    /// Makes the adapter of each namespace (default: [`MemoryAdapter`]).
    pub adapter: AdapterFactory,
    /// Whether a dynamic namespace's child is removed once its last socket leaves (default false).
    pub cleanup_empty_child_namespaces: bool,
    /// Connection state recovery (default off).
    pub connection_state_recovery: Option<RecoveryConfig>,
    /// Hears every engine event the server does, after it (the reference's `io.engine.on(...)`):
    /// `connection_error`, `initial_headers` and `headers` (which may change the response headers),
    /// and each session's `connection`, `message`, `close` and packet events.
    pub engine_handler: Option<Arc<dyn engineio_server::Handler>>,
    /// Where the official client bundle is, to serve it under the path as Node's `serveClient` does
    /// (`<script src="/socket.io/socket.io.js">`, also `.min.js`, `.msgpack.min.js`, `.esm.min.js` and
    /// their maps, with an `ETag` and `304`): a folder holding those files, such as the `client-dist`
    /// folder of the `socket.io` npm package or the `dist` folder of `socket.io-client` (default none:
    /// those paths answer `404` saying so). Read once, when the server is made.
    pub serve_client: Option<std::path::PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            engine: EngineConfig { path: "/socket.io/".into(), ..EngineConfig::default() },
            connect_timeout: Duration::from_secs(45),
            parser: ParserKind::Default,
            adapter: MemoryAdapter::factory(),
            cleanup_empty_child_namespaces: false,
            connection_state_recovery: None,
            engine_handler: None,
            serve_client: None,
        }
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("engine", &self.engine)
            .field("connect_timeout", &self.connect_timeout)
            .field("parser", &self.parser)
            .finish_non_exhaustive()
    }
}

/// The files of the official client bundle, as Node's `serveClient` serves them.
const CLIENT_FILES: &[&str] = &[
    "socket.io.js",
    "socket.io.js.map",
    "socket.io.min.js",
    "socket.io.min.js.map",
    "socket.io.msgpack.min.js",
    "socket.io.msgpack.min.js.map",
    "socket.io.esm.min.js",
    "socket.io.esm.min.js.map",
];

/// The client bundle in `dir` as the engine's static files; the names not found there (or all of
/// them, without `dir`) answer `404` with what to configure. The `ETag` is the version of the
/// package the folder belongs to (its parent's `package.json`), else of this crate.
pub(crate) fn client_files(dir: Option<&std::path::Path>) -> engineio_server::StaticFiles {
    let version = dir
        .and_then(|d| d.parent())
        .and_then(|p| std::fs::read_to_string(p.join("package.json")).ok())
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|json| json.get("version").and_then(|v| v.as_str()).map(str::to_owned))
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string());
    let mut files = engineio_server::StaticFiles::new(&version);
    for name in CLIENT_FILES {
        let content_type = if name.ends_with(".map") {
            "application/json; charset=utf-8"
        } else {
            "application/javascript; charset=utf-8"
        };
        match dir.map(|d| std::fs::read(d.join(name))) {
            Some(Ok(body)) => files.add(name, bytes::Bytes::from(body), content_type),
            Some(Err(e)) => files.missing(
                name,
                &format!("{name} is not served: cannot read it from ServerConfig::serve_client ({e})\n"),
            ),
            None => files.missing(
                name,
                &format!(
                    "{name} is not served: set ServerConfig::serve_client to the folder of the client bundle \
                     (node_modules/socket.io/client-dist or node_modules/socket.io-client/dist)\n"
                ),
            ),
        }
    }
    files
}

impl ServerConfig {
    /// Only these transports.
    pub fn with_transports(mut self, transports: Vec<TransportKind>) -> Self {
        self.engine.transports = transports;
        self
    }
}
