//! Error types.

use std::fmt;
use thiserror::Error;

/// Why a frame could not be decoded into a packet. Every malformed input yields one of these, never a
/// panic; the messages follow the reference decoder's where it has one.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// An empty text frame.
    #[error("empty packet")]
    EmptyPacket,
    /// The packet type is not one of the protocol's.
    #[error("unknown packet type {0}")]
    UnknownPacketType(u64),
    /// The attachment count of a binary packet is missing, not a positive integer, or a placeholder points
    /// to no attachment.
    #[error("illegal attachments")]
    IllegalAttachments,
    /// A binary packet announces more attachments than the decoder accepts.
    #[error("too many attachments: {count} announced, at most {max} accepted")]
    TooManyAttachments {
        /// How many attachments the packet announced.
        count: u64,
        /// The decoder's limit.
        max: usize,
    },
    /// The namespace is not a string, is not terminated, or does not start with `/`.
    #[error("invalid namespace")]
    InvalidNamespace,
    /// The ack id is not an integer in the range of `u64`.
    #[error("invalid packet id")]
    InvalidAckId,
    /// The data does not fit the packet type (a non-array event, a non-object CONNECT, a DISCONNECT with
    /// data...) or is not valid JSON.
    #[error("invalid payload")]
    InvalidPayload,
    /// An event packet whose name is reserved (`connect`, `connect_error`, `disconnect`, `disconnecting`,
    /// `newListener`, `removeListener`).
    #[error("reserved event name {0:?}")]
    ReservedEventName(String),
    /// A msgpack frame that is not a valid msgpack encoding of a packet.
    #[error("invalid msgpack: {0}")]
    InvalidMsgpack(&'static str),
    /// A text frame arrived while the attachments of a binary packet were still expected.
    #[error("got plaintext data when reconstructing a packet")]
    UnexpectedText,
    /// A binary frame arrived when no attachment was expected (or the parser only speaks text).
    #[error("got binary data when not reconstructing a packet")]
    UnexpectedBinary,
}

/// The error of [`to_value`](crate::to_value) and [`from_value`](crate::from_value): a type that cannot
/// be represented as a [`Value`](crate::Value), or a value that does not fit the requested type.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct ValueError(String);

impl ValueError {
    /// An error with this message.
    pub fn new(msg: impl Into<String>) -> Self {
        ValueError(msg.into())
    }
}

impl serde::ser::Error for ValueError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ValueError(msg.to_string())
    }
}

impl serde::de::Error for ValueError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ValueError(msg.to_string())
    }
}
