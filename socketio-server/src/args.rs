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
    /// The adapter failed.
    #[error("{0}")]
    Adapter(#[from] socketio_adapter::AdapterError),
}

/// An emit that failed before its ack could be waited for: a reserved event name is refused as
/// invalid arguments (with the same message), the other errors keep their kind.
impl From<EmitError> for AckError {
    fn from(e: EmitError) -> Self {
        match e {
            EmitError::Reserved(_) => AckError::Args(ValueError::new(e.to_string())),
            EmitError::Args(e) => AckError::Args(e),
            EmitError::Adapter(e) => AckError::Adapter(e),
        }
    }
}

/// The arguments of an emit of `event`, encoded; a failure is logged (`warn`) as well as returned, so
/// that a discarded result hides nothing.
pub(crate) fn encode_args(event: &str, args: impl IntoArgs) -> Result<Vec<Value>, EmitError> {
    args.into_args().map_err(|e| {
        tracing::warn!(event, error = %e, "emit refused: the arguments cannot be encoded");
        EmitError::Args(e)
    })
}

/// Refuses a reserved event name (`connect`, `disconnect`, ...), logging it (`warn`).
pub(crate) fn check_event(event: &str) -> Result<(), EmitError> {
    if socketio_parser::RESERVED_EVENTS.contains(&event) {
        tracing::warn!(event, "emit refused: a reserved event name");
        return Err(EmitError::Reserved(event.to_string()));
    }
    Ok(())
}

/// An ack's answer as Node's `emitWithAck` resolves it: its first argument (`null` when there is none),
/// deserialized into `T`.
pub(crate) fn first_arg<T: serde::de::DeserializeOwned>(answer: Vec<Value>) -> Result<T, AckError> {
    let first = answer.into_iter().next().unwrap_or(Value::Null);
    Ok(socketio_parser::from_value(first)?)
}
