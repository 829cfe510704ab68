//! The errors of the client.

use socketio_parser::{Value, ValueError};

/// Why a connection could not be opened.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL or an option is not usable.
    #[error("invalid url: {0}")]
    InvalidUrl(String),
    /// A request or the websocket failed.
    #[error("transport error: {0}")]
    Transport(String),
    /// The server's first answer was not an Engine.IO handshake.
    #[error("handshake error: {0}")]
    Handshake(String),
    /// TLS could not be set up or the server's certificate was refused.
    #[error("tls error: {0}")]
    Tls(String),
    /// The connection did not open within the manager's `timeout`.
    #[error("timeout")]
    Timeout,
}

/// Why an emit failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The event name is reserved (`connect`, `connect_error`, `disconnect`, ...).
    #[error("\"{0}\" is a reserved event name")]
    Reserved(String),
    /// The arguments could not be serialized.
    #[error("invalid arguments: {0}")]
    Args(#[from] ValueError),
}

/// Why an acknowledgement did not arrive.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AckError {
    /// No answer within the timeout.
    #[error("operation has timed out")]
    Timeout,
    /// The socket disconnected before the answer.
    #[error("socket has been disconnected")]
    Disconnected,
    /// The emit itself failed.
    #[error(transparent)]
    Emit(#[from] EmitError),
}

/// What a `connect_error` carries: the server's message and data (middleware refusals), or the
/// manager's failure to reach the server.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ConnectError {
    /// The message (`Error.message` on the JS side).
    pub message: String,
    /// The data the server attached (`err.data`), if any.
    pub data: Option<Value>,
}
