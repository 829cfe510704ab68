//! Socket.IO packets.

use crate::Value;

/// The type of a Socket.IO packet, with its number on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// `0`: connect to a namespace (client), or the server's acceptance.
    Connect = 0,
    /// `1`: leave a namespace.
    Disconnect = 1,
    /// `2`: an event.
    Event = 2,
    /// `3`: the acknowledgement of an event.
    Ack = 3,
    /// `4`: the server refused the connection to a namespace.
    ConnectError = 4,
    /// `5`: an event with binary attachments (default parser only).
    BinaryEvent = 5,
    /// `6`: an acknowledgement with binary attachments (default parser only).
    BinaryAck = 6,
}

impl PacketType {
    /// The type for its wire number.
    pub fn from_u64(n: u64) -> Option<Self> {
        Some(match n {
            0 => PacketType::Connect,
            1 => PacketType::Disconnect,
            2 => PacketType::Event,
            3 => PacketType::Ack,
            4 => PacketType::ConnectError,
            5 => PacketType::BinaryEvent,
            6 => PacketType::BinaryAck,
            _ => return None,
        })
    }
}

/// Event names the protocol reserves: a peer may not send events by these names.
pub const RESERVED_EVENTS: [&str; 6] =
    ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"];

/// What a packet carries, by packet kind.
#[derive(Debug, Clone, PartialEq)]
pub enum PacketData {
    /// CONNECT: from a client, its `auth` object (if any); from a server, `{sid, pid}` (protocol v5) or
    /// nothing (protocol v4). A protocol v4 client's namespace query string is decoded into this object.
    Connect(Option<Value>),
    /// DISCONNECT: no data.
    Disconnect,
    /// EVENT: the event name (a string, or a number) followed by the arguments.
    Event(Vec<Value>),
    /// ACK: the arguments of the acknowledgement.
    Ack(Vec<Value>),
    /// CONNECT_ERROR: `{message, data?}` (protocol v5) or a string (protocol v4).
    ConnectError(Value),
}

/// One Socket.IO packet: a namespace, an optional ack id, and data.
///
/// Whether an event or ack travels as BINARY_EVENT/BINARY_ACK is not stored: the JSON parser decides from
/// the data when it encodes, and reports binary packets as plain events and acks once their attachments
/// are back in place.
///
/// ```
/// use socketio_parser::{Packet, PacketData, Value};
/// let p = Packet::event("/chat", "message", vec![Value::from("hi")]).with_ack_id(3);
/// assert_eq!(p.event_name(), Some("message"));
/// assert_eq!(p.args(), &[Value::from("hi")]);
/// assert_eq!(p.id, Some(3));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// The namespace (`/` for the main namespace).
    pub nsp: String,
    /// The ack id: set on an event that asks for an acknowledgement, and on that acknowledgement.
    pub id: Option<u64>,
    /// The data.
    pub data: PacketData,
}

impl Packet {
    /// A CONNECT packet with optional data.
    pub fn connect(nsp: impl Into<String>, data: Option<Value>) -> Self {
        Packet { nsp: nsp.into(), id: None, data: PacketData::Connect(data) }
    }

    /// A DISCONNECT packet.
    pub fn disconnect(nsp: impl Into<String>) -> Self {
        Packet { nsp: nsp.into(), id: None, data: PacketData::Disconnect }
    }

    /// An EVENT packet named `event` with `args`.
    pub fn event(nsp: impl Into<String>, event: impl Into<String>, args: Vec<Value>) -> Self {
        let mut data = Vec::with_capacity(args.len() + 1);
        data.push(Value::String(event.into()));
        data.extend(args);
        Packet { nsp: nsp.into(), id: None, data: PacketData::Event(data) }
    }

    /// An ACK packet answering the event with ack id `id`.
    pub fn ack(nsp: impl Into<String>, id: u64, args: Vec<Value>) -> Self {
        Packet { nsp: nsp.into(), id: Some(id), data: PacketData::Ack(args) }
    }

    /// A CONNECT_ERROR packet with a message and optional data, in the protocol v5 shape
    /// `{message, data}`.
    pub fn connect_error(nsp: impl Into<String>, message: impl Into<String>, data: Option<Value>) -> Self {
        let mut obj = crate::Map::new();
        obj.insert("message".into(), Value::String(message.into()));
        if let Some(data) = data {
            obj.insert("data".into(), data);
        }
        Packet { nsp: nsp.into(), id: None, data: PacketData::ConnectError(Value::Object(obj)) }
    }

    /// The packet as the object the reference server builds (`{type, data, id, nsp}`, in that order),
    /// as cluster adapters put it inside their messages.
    ///
    /// ```
    /// use socketio_parser::{msgpack_codec, Packet, Value};
    /// let p = Packet::event("/chat", "hi", vec![Value::from(1)]).with_ack_id(2);
    /// assert_eq!(p.to_object().to_string(), r#"{"type":2,"data":["hi",1],"id":2,"nsp":"/chat"}"#);
    /// // The msgpack form of the object is the msgpack parser's frame.
    /// assert_eq!(msgpack_codec::encode_value(&p.to_object()), msgpack_codec::encode(&p));
    /// assert_eq!(Packet::from_object(p.to_object()).unwrap(), p);
    /// ```
    pub fn to_object(&self) -> Value {
        let mut map = crate::Map::with_capacity(4);
        let ty = match &self.data {
            PacketData::Connect(_) => PacketType::Connect,
            PacketData::Disconnect => PacketType::Disconnect,
            PacketData::Event(_) => PacketType::Event,
            PacketData::Ack(_) => PacketType::Ack,
            PacketData::ConnectError(_) => PacketType::ConnectError,
        };
        map.insert("type".into(), Value::from(ty as u8));
        match &self.data {
            PacketData::Connect(Some(v)) | PacketData::ConnectError(v) => {
                map.insert("data".into(), v.clone());
            }
            PacketData::Event(args) | PacketData::Ack(args) => {
                map.insert("data".into(), Value::Array(args.clone()));
            }
            PacketData::Connect(None) | PacketData::Disconnect => {}
        }
        if let Some(id) = self.id {
            map.insert("id".into(), Value::from(id));
        }
        map.insert("nsp".into(), Value::from(self.nsp.as_str()));
        Value::Object(map)
    }

    /// Builds a packet from its object form (see [`Packet::to_object`]), validated as a decoder would;
    /// a missing `nsp` means `/`, and types 5 and 6 read as event and ack.
    pub fn from_object(value: Value) -> Result<Packet, crate::DecodeError> {
        match value {
            Value::Object(mut map) => {
                if !map.contains_key("nsp") {
                    map.insert("nsp".into(), Value::from("/"));
                }
                crate::msgpack::packet_from_map(map, true)
            }
            _ => Err(crate::DecodeError::InvalidPayload),
        }
    }

    /// Sets the ack id.
    pub fn with_ack_id(mut self, id: u64) -> Self {
        self.id = Some(id);
        self
    }

    /// The packet type as sent by the JSON parser (BINARY_EVENT/BINARY_ACK when the data holds binary).
    pub fn packet_type(&self) -> PacketType {
        match &self.data {
            PacketData::Connect(_) => PacketType::Connect,
            PacketData::Disconnect => PacketType::Disconnect,
            PacketData::Event(args) if args.iter().any(Value::has_binary) => PacketType::BinaryEvent,
            PacketData::Event(_) => PacketType::Event,
            PacketData::Ack(args) if args.iter().any(Value::has_binary) => PacketType::BinaryAck,
            PacketData::Ack(_) => PacketType::Ack,
            PacketData::ConnectError(_) => PacketType::ConnectError,
        }
    }

    /// The event name, for an event named by a string.
    pub fn event_name(&self) -> Option<&str> {
        match &self.data {
            PacketData::Event(data) => data.first()?.as_str(),
            _ => None,
        }
    }

    /// The arguments of an event (after its name) or of an ack; empty for other packets.
    pub fn args(&self) -> &[Value] {
        match &self.data {
            PacketData::Event(data) => data.get(1..).unwrap_or(&[]),
            PacketData::Ack(args) => args,
            _ => &[],
        }
    }
}
