//! Socket.IO for Rust: one crate that re-exports the whole stack (parsers, engine, server, adapters and
//! client).
//!
//! Every layer works (see the README's feature table); this crate only re-exports them for now, and
//! its features, prelude and manual are still to come.
//!
//! ```
//! use socketio::parser::{JsonParser, Packet, Parser, Value};
//!
//! let parser = JsonParser::default();
//! let packet = Packet::event("/", "hello", vec![Value::from("world")]);
//! let frames = parser.encode(&packet);
//! let mut decoder = parser.decoder();
//! let mut decoded = None;
//! for frame in frames {
//!     decoded = decoder.add(frame).unwrap();
//! }
//! assert_eq!(decoded, Some(packet));
//! ```

pub use engineio_parser as engine_parser;
pub use engineio_server as engine;
pub use socketio_adapter as adapter;
pub use socketio_client as client;
pub use socketio_parser as parser;
pub use socketio_server as server;
