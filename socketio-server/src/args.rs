//! Errors of emits and acknowledgements ([`AckError`], [`EmitError`]); [`IntoArgs`] lives in the parser crate.

pub use socketio_parser::IntoArgs;
use socketio_parser::{Value, ValueError};

/// Why an acknowledgement did not arrive.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AckError {
    /// No answer within the timeout (`operation has timed out`); for a broadcast, with the answers
    /// received so far.
    #[error("operation has timed out")]
    Timeout(Vec<Vec<Value>>),
    /// The socket disconnected before answering.
    #[error("socket has been disconnected")]
    Disconnected,
    /// The arguments could not be serialized.
    #[error("invalid arguments: {0}")]
    Args(#[from] ValueError),
    /// The adapter failed.
    #[error("{0}")]
    Adapter(#[from] socketio_adapter::AdapterError),
}

/// Why an emit failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EmitError {
    /// The event name is reserved (`connect`, `disconnect`, ...).
    #[error("\"{0}\" is a reserved event name")]
    Reserved(String),
    /// The arguments could not be serialized.
    #[error("invalid arguments: {0}")]
    Args(#[from] ValueError),
    /// The socket is not connected.
    #[error("socket is not connected")]
    Disconnected,
    /// The adapter failed.
    #[error("{0}")]
    Adapter(#[from] socketio_adapter::AdapterError),
}
