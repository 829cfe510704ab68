//! The names most programs need: `use socketio::prelude::*;`.
//!
//! The server's types keep their names ([`SocketIo`], [`Socket`], ...); the client's carry a `Client`
//! prefix where they would clash ([`ClientSocket`], [`ClientEvent`], ...).
//!
//! ```
//! use socketio::prelude::*;
//!
//! let args: Vec<Value> = vec![Value::from("hello"), Value::from(1)];
//! # #[cfg(feature = "server")]
//! let config = ServerConfig::default();
//! # let _ = args;
//! ```

pub use socketio_adapter::Room;
pub use socketio_parser::{IntoArgs, Map, Value};

#[cfg(feature = "server")]
pub use socketio_server::{
    AckError, AckSender, BroadcastOperator, ConnectError, DisconnectReason, EmitError, Handshake, Namespace,
    ParserKind, RecoveryConfig, RemoteSocket, ServerAck, ServerConfig, Socket, SocketIo,
};

#[cfg(feature = "client")]
pub use socketio_client::{
    AckError as ClientAckError, ClientBuilder, EmitError as ClientEmitError, Error as ClientError,
    Event as ClientEvent, Socket as ClientSocket, Transport,
};
