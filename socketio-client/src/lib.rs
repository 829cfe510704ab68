//! Socket.IO client for Rust: an Engine.IO client, a manager with reconnection and namespace multiplexing,
//! and sockets with events and acknowledgements.
//!
//! Not written yet: this crate is a placeholder in the workspace so the layout of the protocol stack is in
//! place. It will speak the wire formats of [`engineio_parser`] and [`socketio_parser`].
//!
//! ```
//! use socketio_client::parser::{Packet, Value};
//! let packet = Packet::connect("/", None);
//! assert_eq!(packet.nsp, "/");
//! ```

pub use engineio_parser as engine_parser;
pub use socketio_parser as parser;
