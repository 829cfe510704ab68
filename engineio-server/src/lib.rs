//! Engine.IO server on hyper 1.x: HTTP long-polling, websocket, the upgrade from one to the other, and the
//! heartbeat, for Engine.IO protocol v4 (and v3 for old clients).
//!
//! Not written yet: this crate is a placeholder in the workspace so the layout of the protocol stack is in
//! place. The wire format it will speak lives in [`engineio_parser`].
//!
//! ```
//! let packet = engineio_server::parser::Packet::message("hello");
//! assert_eq!(packet.data.as_text(), Some("hello"));
//! ```

pub use engineio_parser as parser;
