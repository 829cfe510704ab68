//! Decoding errors.

use thiserror::Error;

/// Why a packet, frame or payload could not be decoded. Every malformed input yields one of these, never a
/// panic.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is larger than the configured maximum payload size.
    #[error("payload of {len} bytes exceeds the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The size of the input (or the size reached when it was refused), in bytes.
        len: u64,
        /// The configured limit, in bytes.
        limit: u64,
    },
    /// A packet with no content at all (not even a type).
    #[error("empty packet")]
    EmptyPacket,
    /// The packet type is not one of `0`..=`6`.
    #[error("unknown packet type {0:?}")]
    UnknownPacketType(u8),
    /// Text that is not valid UTF-8.
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// A `b`-prefixed packet whose base64 does not decode.
    #[error("invalid base64 data")]
    InvalidBase64,
    /// A payload whose framing is broken (bad length prefix, truncated packet, missing separator...).
    #[error("malformed payload: {0}")]
    MalformedPayload(&'static str),
}
