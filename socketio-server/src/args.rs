//! Event arguments going out ([`IntoArgs`]) and acknowledgements ([`AckSender`], [`AckError`]).

use serde::Serialize;
use socketio_parser::{to_value, Value, ValueError};

/// Values that become the arguments of an event or ack: a tuple of serializable values (each element one
/// argument), `()` for none, or a `Vec<Value>`.
///
/// ```
/// use socketio_server::IntoArgs;
/// let args = ("hello", 42, bytes::Bytes::from_static(b"\x01")).into_args().unwrap();
/// assert_eq!(args.len(), 3);
/// assert!(args[2].as_bytes().is_some());
/// ```
pub trait IntoArgs {
    /// The arguments.
    fn into_args(self) -> Result<Vec<Value>, ValueError>;
}

impl IntoArgs for Vec<Value> {
    fn into_args(self) -> Result<Vec<Value>, ValueError> {
        Ok(self)
    }
}

impl IntoArgs for () {
    fn into_args(self) -> Result<Vec<Value>, ValueError> {
        Ok(Vec::new())
    }
}

macro_rules! tuple_args {
    ($($name:ident),+) => {
        impl<$($name: Serialize),+> IntoArgs for ($($name,)+) {
            #[allow(non_snake_case)]
            fn into_args(self) -> Result<Vec<Value>, ValueError> {
                let ($($name,)+) = self;
                Ok(vec![$(to_value(&$name)?),+])
            }
        }
    };
}
tuple_args!(A);
tuple_args!(A, B);
tuple_args!(A, B, C);
tuple_args!(A, B, C, D);
tuple_args!(A, B, C, D, E);
tuple_args!(A, B, C, D, E, F);
tuple_args!(A, B, C, D, E, F, G);
tuple_args!(A, B, C, D, E, F, G, H);

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
