//! Socket.IO server: namespaces, sockets, events, acknowledgements, rooms, broadcast operators, middleware
//! and connection state recovery, on top of [`engineio_server`].
//!
//! Not written yet: this crate is a placeholder in the workspace so the layout of the protocol stack is in
//! place. The packets it will speak live in [`socketio_parser`].
//!
//! ```
//! use socketio_server::parser::{Packet, Value};
//! let packet = Packet::event("/", "hello", vec![Value::from("world")]);
//! assert_eq!(packet.event_name(), Some("hello"));
//! ```

pub use socketio_parser as parser;
