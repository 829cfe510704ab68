//! Engine.IO packets: their types, their data and the handshake carried by the open packet.

use crate::Str;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// The Engine.IO protocol revision spoken on a connection (`EIO=` in the query string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProtocolVersion {
    /// Engine.IO v3, spoken by `socket.io-client` 2.x: length-prefixed polling payloads, client-initiated
    /// heartbeat.
    V3 = 3,
    /// Engine.IO v4, spoken by `socket.io-client` 3.x and 4.x: record-separated payloads, server-initiated
    /// heartbeat.
    V4 = 4,
}

impl ProtocolVersion {
    /// Parses the value of the `EIO` query parameter (`"3"` or `"4"`).
    pub fn from_query(value: &str) -> Option<Self> {
        match value {
            "3" => Some(ProtocolVersion::V3),
            "4" => Some(ProtocolVersion::V4),
            _ => None,
        }
    }
}

/// The type of an Engine.IO packet, with its wire digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// `0`: sent by the server when a session opens, with the [`Handshake`] as JSON.
    Open = 0,
    /// `1`: the session is closing.
    Close = 1,
    /// `2`: heartbeat ping (server to client in v4, client to server in v3), or the upgrade probe `2probe`.
    Ping = 2,
    /// `3`: heartbeat pong, or the answer `3probe` to the upgrade probe.
    Pong = 3,
    /// `4`: application data, text or binary.
    Message = 4,
    /// `5`: completes the upgrade from polling to websocket.
    Upgrade = 5,
    /// `6`: does nothing; used to release a pending polling request during an upgrade.
    Noop = 6,
}

impl PacketType {
    /// The type for a wire digit (`0`..=`6`), as a number.
    pub fn from_u8(n: u8) -> Option<Self> {
        Some(match n {
            0 => PacketType::Open,
            1 => PacketType::Close,
            2 => PacketType::Ping,
            3 => PacketType::Pong,
            4 => PacketType::Message,
            5 => PacketType::Upgrade,
            6 => PacketType::Noop,
            _ => return None,
        })
    }

    /// The type for a wire character (`'0'`..=`'6'`).
    pub fn from_char(c: u8) -> Option<Self> {
        c.checked_sub(b'0').and_then(Self::from_u8)
    }

    /// The ASCII digit that stands for this type on the wire.
    pub fn as_char(self) -> u8 {
        b'0' + self as u8
    }
}

/// What a packet carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum PacketData {
    /// Nothing (most control packets).
    #[default]
    Empty,
    /// UTF-8 text.
    Text(Str),
    /// Raw bytes.
    Binary(Bytes),
}

impl PacketData {
    /// The text, when the data is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            PacketData::Text(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// The bytes, when the data is binary.
    pub fn as_binary(&self) -> Option<&Bytes> {
        match self {
            PacketData::Binary(b) => Some(b),
            _ => None,
        }
    }

    /// Whether the data is binary.
    pub fn is_binary(&self) -> bool {
        matches!(self, PacketData::Binary(_))
    }

    /// Length of the data in bytes (0 when empty).
    pub fn len(&self) -> usize {
        match self {
            PacketData::Empty => 0,
            PacketData::Text(s) => s.len(),
            PacketData::Binary(b) => b.len(),
        }
    }

    /// Whether there is no data, or the data is of length 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One Engine.IO packet: a type and its data.
///
/// ```
/// use engineio_parser::{Packet, PacketType};
/// let probe = Packet::ping_probe();
/// assert_eq!(probe.ty, PacketType::Ping);
/// assert_eq!(probe.data.as_text(), Some("probe"));
/// assert!(Packet::binary(vec![1u8, 2, 3]).data.is_binary());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Packet {
    /// The packet type.
    pub ty: PacketType,
    /// The data it carries.
    pub data: PacketData,
}

impl Packet {
    /// A packet of type `ty` without data.
    pub const fn empty(ty: PacketType) -> Self {
        Packet { ty, data: PacketData::Empty }
    }

    /// A packet of type `ty` with text data.
    pub fn text(ty: PacketType, text: impl Into<Str>) -> Self {
        Packet { ty, data: PacketData::Text(text.into()) }
    }

    /// A text message (`4hello`).
    pub fn message(text: impl Into<Str>) -> Self {
        Packet::text(PacketType::Message, text)
    }

    /// A binary message.
    pub fn binary(data: impl Into<Bytes>) -> Self {
        Packet { ty: PacketType::Message, data: PacketData::Binary(data.into()) }
    }

    /// The open packet carrying `handshake` as JSON.
    pub fn open(handshake: &Handshake) -> Self {
        Packet::text(PacketType::Open, handshake.to_json())
    }

    /// The close packet (`1`).
    pub const fn close() -> Self {
        Packet::empty(PacketType::Close)
    }

    /// A heartbeat ping (`2`).
    pub const fn ping() -> Self {
        Packet::empty(PacketType::Ping)
    }

    /// A heartbeat pong (`3`).
    pub const fn pong() -> Self {
        Packet::empty(PacketType::Pong)
    }

    /// The upgrade probe the client sends on the new websocket (`2probe`).
    pub fn ping_probe() -> Self {
        Packet::text(PacketType::Ping, Str::from_static("probe"))
    }

    /// The server's answer to the probe (`3probe`).
    pub fn pong_probe() -> Self {
        Packet::text(PacketType::Pong, Str::from_static("probe"))
    }

    /// The upgrade packet (`5`).
    pub const fn upgrade() -> Self {
        Packet::empty(PacketType::Upgrade)
    }

    /// The noop packet (`6`).
    pub const fn noop() -> Self {
        Packet::empty(PacketType::Noop)
    }

    /// Whether this packet is the upgrade probe `2probe` or its answer `3probe`.
    pub fn is_probe(&self) -> bool {
        matches!(self.ty, PacketType::Ping | PacketType::Pong) && self.data.as_text() == Some("probe")
    }
}

/// The handshake the server sends in the open packet.
///
/// ```
/// use engineio_parser::Handshake;
/// let h = Handshake::new("abc", vec!["websocket".into()], 25000, 20000, 1_000_000);
/// let json = h.to_json();
/// assert_eq!(
///     json,
///     r#"{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
/// );
/// assert_eq!(Handshake::from_json(&json).unwrap(), h);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Handshake {
    /// The session id.
    pub sid: String,
    /// The transports the client may upgrade to (`["websocket"]` on a polling session that may upgrade).
    pub upgrades: Vec<String>,
    /// Milliseconds between heartbeats.
    pub ping_interval: u64,
    /// Milliseconds to wait for the heartbeat answer before the session is considered lost.
    pub ping_timeout: u64,
    /// The largest payload the server accepts, in bytes. Absent in protocol v3 handshakes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_payload: Option<u64>,
}

impl Handshake {
    /// A handshake with every field set.
    pub fn new(
        sid: impl Into<String>,
        upgrades: Vec<String>,
        ping_interval: u64,
        ping_timeout: u64,
        max_payload: u64,
    ) -> Self {
        Handshake { sid: sid.into(), upgrades, ping_interval, ping_timeout, max_payload: Some(max_payload) }
    }

    /// The handshake as the JSON text of the open packet.
    pub fn to_json(&self) -> String {
        // Serializing a struct of strings and integers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses the JSON text of an open packet.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }
}
