//! Server options, with the defaults of the Node `socket.io` server.

use engineio_server::{EngineConfig, TransportKind};
use socketio_adapter::{AdapterFactory, MemoryAdapter};
use socketio_parser::{JsonParser, MsgpackParser, Parser};
use std::sync::Arc;
use std::time::Duration;

/// Which parser the server speaks (all its clients must use the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParserKind {
    /// The default parser (`socket.io-parser`).
    #[default]
    Default,
    /// `socket.io-msgpack-parser`.
    Msgpack,
}

impl ParserKind {
    pub(crate) fn build(self) -> Arc<dyn Parser> {
        match self {
            ParserKind::Default => Arc::new(JsonParser::default()),
            ParserKind::Msgpack => Arc::new(MsgpackParser),
        }
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
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            engine: EngineConfig { path: "/socket.io/".into(), ..EngineConfig::default() },
            connect_timeout: Duration::from_secs(45),
            parser: ParserKind::Default,
            adapter: MemoryAdapter::factory(),
            cleanup_empty_child_namespaces: false,
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

impl ServerConfig {
    /// Only these transports.
    pub fn with_transports(mut self, transports: Vec<TransportKind>) -> Self {
        self.engine.transports = transports;
        self
    }
}
