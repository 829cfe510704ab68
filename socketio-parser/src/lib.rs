//! Socket.IO packets (protocol v5, and v4 for `socket.io-client` 2.x): pure encoding and decoding, no IO.
//!
//! A Socket.IO [`Packet`] (CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR) travels inside Engine.IO
//! messages as one or more [`Frame`]s. Two parsers are built in, both behind the [`Parser`] trait so that
//! servers and clients can take either, or a custom one:
//!
//! - [`JsonParser`], the default (`socket.io-parser`): JSON text, binary values sent as attachments.
//! - [`MsgpackParser`] (`socket.io-msgpack-parser`): one msgpack frame per packet.
//!
//! Event arguments are [`Value`]s: JSON plus binary. [`to_value`] and [`from_value`] convert from and to
//! your own `serde` types, with `bytes::Bytes` fields travelling as binary.
//!
//! Decoders validate as the reference decoder does (unknown types, bad namespaces and ack ids, data that
//! does not fit the packet type, reserved event names, too many attachments) and return a typed
//! [`DecodeError`], never panic.
//!
//! ```
//! use socketio_parser::{to_value, Frame, JsonParser, Packet, Parser};
//! use bytes::Bytes;
//!
//! #[derive(serde::Serialize)]
//! struct Chunk { seq: u32, data: Bytes }
//!
//! let chunk = to_value(&Chunk { seq: 1, data: Bytes::from_static(b"\xff") }).unwrap();
//! let packet = Packet::event("/", "chunk", vec![chunk]);
//! let frames = JsonParser::default().encode(&packet);
//! assert_eq!(frames[0], Frame::Text(r#"51-["chunk",{"seq":1,"data":{"_placeholder":true,"num":0}}]"#.into()));
//!
//! let mut decoder = JsonParser::default().decoder();
//! assert_eq!(decoder.add(frames[0].clone()).unwrap(), None); // waits for the attachment
//! assert_eq!(decoder.add(frames[1].clone()).unwrap(), Some(packet));
//! ```

mod args;
mod error;
mod json;
mod msgpack;
mod packet;
mod parser;
mod value;

pub use args::IntoArgs;
pub use engineio_parser::{Frame, Str};
pub use error::{DecodeError, ValueError};
pub use json::{JsonDecoder, JsonParser};
pub use msgpack::{MsgpackDecoder, MsgpackParser};
pub use packet::{Packet, PacketData, PacketType, RESERVED_EVENTS};
pub use parser::{Decoder, Parser, ProtocolVersion};
pub use value::{from_args, from_value, to_value, Map, Number, Value};

/// msgpack as the Node peers write it (notepack.io): single packets, and any value (for adapters, whose
/// messages nest packets).
pub mod msgpack_codec {
    pub use crate::msgpack::{decode, decode_value, encode, encode_value};
}
