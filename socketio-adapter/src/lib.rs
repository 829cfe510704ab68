//! Socket.IO adapters: the trait every adapter implements (rooms and broadcasting), the in-memory adapter,
//! and the cluster protocol with its Redis and Postgres buses.
//!
//! Not written yet: this crate is a placeholder in the workspace so the layout of the protocol stack is in
//! place. Adapters know packets and broadcast options, not sockets; the packets live in [`socketio_parser`].
//!
//! ```
//! use socketio_adapter::parser::Packet;
//! let packet = Packet::disconnect("/chat");
//! assert_eq!(packet.nsp, "/chat");
//! ```

pub use socketio_parser as parser;
