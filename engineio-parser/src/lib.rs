//! Engine.IO packets and payloads, protocol v4 and v3: pure encoding and decoding, no async and no IO.
//!
//! Engine.IO is the transport layer under Socket.IO. A session exchanges [`Packet`]s (open, close, ping,
//! pong, message, upgrade, noop); over websocket each packet is one [`Frame`], over HTTP long-polling
//! several packets travel in one payload. The framing differs between the protocol revisions:
//!
//! - [`v4`] (current clients): text frames carry the type digit, binary frames are raw message bytes;
//!   polling payloads join packets with the record separator `\x1e`, binary as `b` + base64.
//! - [`v3`] (`socket.io-client` 2.x): polling payloads are length-prefixed (`<len>:<packet>`, lengths in
//!   UTF-16 code units), or use the binary payload form; binary websocket frames start with the type byte.
//!
//! Decoding is zero-copy: text and binary data are slices of the input buffer ([`Str`], [`bytes::Bytes`]).
//! Decoders that take a `max_payload` refuse larger input before working on it.
//!
//! ```
//! use engineio_parser::{v4, Packet};
//!
//! let payload = v4::encode_payload(&[Packet::message("hello"), Packet::binary(vec![1u8, 2, 3])]);
//! assert_eq!(payload, "4hello\x1ebAQID");
//! let packets = v4::decode_payload(payload.into_bytes(), 1_000_000).unwrap();
//! assert_eq!(packets[0], Packet::message("hello"));
//! assert_eq!(packets[1], Packet::binary(vec![1u8, 2, 3]));
//! ```

mod codec;
mod error;
mod frame;
mod limit;
mod packet;
mod str;
pub mod v3;
pub mod v4;

pub use error::Error;
pub use frame::Frame;
pub use limit::BodyCollector;
pub use packet::{Handshake, Packet, PacketData, PacketType, ProtocolVersion};
pub use str::Str;
