//! The default parser: packets as JSON text, binary data as attachments sent in separate frames.

use crate::packet::{PacketData, PacketType, RESERVED_EVENTS};
use crate::{DecodeError, Decoder, Map, Packet, Parser, ProtocolVersion, Value};
use bytes::Bytes;
use engineio_parser::{Frame, Str};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use std::cell::RefCell;
use std::io::Write;

/// The default Socket.IO parser (`socket.io-parser`): a text frame
/// `<type>[<attachments>-][<nsp>,][<ack id>][<JSON data>]`, followed by one binary frame per attachment
/// when the data holds binary; in the JSON, each binary value stands as `{"_placeholder":true,"num":N}`.
///
/// ```
/// use socketio_parser::{JsonParser, Packet, Parser, Value, Frame};
/// use bytes::Bytes;
///
/// let parser = JsonParser::default();
/// let packet = Packet::event("/chat", "upload", vec![Value::Binary(Bytes::from_static(b"\x01\x02"))]).with_ack_id(7);
/// let frames = parser.encode(&packet);
/// assert_eq!(frames[0], Frame::Text(r#"51-/chat,7["upload",{"_placeholder":true,"num":0}]"#.into()));
/// assert_eq!(frames[1], Frame::Binary(Bytes::from_static(b"\x01\x02")));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonParser {
    /// The protocol revision of the peer: [`ProtocolVersion::V4`] decodes the query string a
    /// `socket.io-client` 2.x puts in the CONNECT namespace.
    pub protocol: ProtocolVersion,
    /// The most attachments one packet may announce (default 10, as the reference decoder).
    pub max_attachments: usize,
}

impl Default for JsonParser {
    fn default() -> Self {
        JsonParser { protocol: ProtocolVersion::V5, max_attachments: 10 }
    }
}

impl JsonParser {
    /// The parser for protocol v4 peers (`socket.io-client` 2.x over Engine.IO v3).
    pub fn v4() -> Self {
        JsonParser { protocol: ProtocolVersion::V4, ..Self::default() }
    }

    /// Sets the most attachments one packet may announce.
    pub fn with_max_attachments(mut self, max: usize) -> Self {
        self.max_attachments = max;
        self
    }

    /// Decodes one complete text frame of a packet without attachments. A binary packet (type 5 or 6)
    /// needs a [`JsonDecoder`] to collect its attachments.
    pub fn decode_str(&self, text: &str) -> Result<Packet, DecodeError> {
        match decode_text(text, self)? {
            Decoded::Complete(p) => Ok(p),
            Decoded::Partial(_) => Err(DecodeError::IllegalAttachments),
        }
    }
}

impl Parser for JsonParser {
    fn encode(&self, packet: &Packet) -> Vec<Frame> {
        encode(packet, "")
    }

    fn encode_with_prefix(&self, packet: &Packet, prefix: &str) -> Vec<Frame> {
        encode(packet, prefix)
    }

    fn decoder(&self) -> Box<dyn Decoder> {
        Box::new(JsonDecoder::new(*self))
    }
}

/// Encodes `packet` as the JSON parser does: one text frame (its text after `prefix`), then the
/// attachments.
fn encode(packet: &Packet, prefix: &str) -> Vec<Frame> {
    let ty = packet.packet_type();
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(prefix.as_bytes());
    out.push(b'0' + ty as u8);
    let mut frames = Vec::with_capacity(1);
    let attachments = RefCell::new(Vec::new());
    // The attachment count comes first but is known only after the data is walked: write the data into
    // its own buffer in that case.
    let binary = matches!(ty, PacketType::BinaryEvent | PacketType::BinaryAck);
    let mut body = if binary { Vec::with_capacity(64) } else { Vec::new() };
    {
        let sink: &mut Vec<u8> = if binary { &mut body } else { &mut out };
        if packet.nsp != "/" && !packet.nsp.is_empty() {
            sink.extend_from_slice(packet.nsp.as_bytes());
            sink.push(b',');
        }
        if let Some(id) = packet.id {
            sink.extend_from_slice(itoa::Buffer::new().format(id).as_bytes());
        }
        let data: Option<Placeholders<'_>> = match &packet.data {
            PacketData::Connect(Some(v)) | PacketData::ConnectError(v) => Some(Placeholders::One(v)),
            PacketData::Connect(None) | PacketData::Disconnect => None,
            PacketData::Event(args) | PacketData::Ack(args) => Some(Placeholders::Many(args)),
        };
        // Writing JSON of string-keyed values into a Vec cannot fail. Only events and acks carry
        // attachments: binary elsewhere (a CONNECT payload) is written as an array of byte values.
        match data {
            Some(data) if binary => {
                let _ =
                    serde_json::to_writer(&mut *sink, &WithPlaceholders { data, attachments: &attachments });
            }
            Some(Placeholders::One(v)) => {
                let _ = serde_json::to_writer(&mut *sink, v);
            }
            Some(Placeholders::Many(args)) => {
                let _ = serde_json::to_writer(&mut *sink, args);
            }
            None => {}
        }
    }
    let attachments = attachments.into_inner();
    if binary {
        let _ = write!(out, "{}-", attachments.len());
        out.extend_from_slice(&body);
    }
    frames.push(Frame::Text(text_frame(out)));
    frames.extend(attachments.into_iter().map(Frame::Binary));
    frames
}

/// The JSON encoder only writes UTF-8; the check is kept for safety, not expected to fail.
fn text_frame(bytes: Vec<u8>) -> Str {
    match String::from_utf8(bytes) {
        Ok(s) => Str::from(s),
        Err(e) => Str::from(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// The data of a packet, serialized with binary values replaced by placeholders.
#[derive(Clone, Copy)]
enum Placeholders<'a> {
    One(&'a Value),
    Many(&'a [Value]),
}

struct WithPlaceholders<'a> {
    data: Placeholders<'a>,
    attachments: &'a RefCell<Vec<Bytes>>,
}

impl WithPlaceholders<'_> {
    fn nested<'b>(&'b self, v: &'b Value) -> WithPlaceholders<'b> {
        WithPlaceholders { data: Placeholders::One(v), attachments: self.attachments }
    }
}

impl Serialize for WithPlaceholders<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let value = match self.data {
            Placeholders::Many(values) => {
                let mut seq = s.serialize_seq(Some(values.len()))?;
                for v in values {
                    seq.serialize_element(&self.nested(v))?;
                }
                return seq.end();
            }
            Placeholders::One(v) => v,
        };
        match value {
            Value::Binary(b) => {
                let num = {
                    let mut attachments = self.attachments.borrow_mut();
                    attachments.push(b.clone());
                    attachments.len() - 1
                };
                let mut map = s.serialize_map(Some(2))?;
                map.serialize_entry("_placeholder", &true)?;
                map.serialize_entry("num", &num)?;
                map.end()
            }
            Value::Array(a) if value.has_binary() => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(&self.nested(v))?;
                }
                seq.end()
            }
            Value::Object(o) if value.has_binary() => {
                let mut map = s.serialize_map(Some(o.len()))?;
                for (k, v) in o {
                    map.serialize_entry(k, &self.nested(v))?;
                }
                map.end()
            }
            other => other.serialize(s),
        }
    }
}

enum Decoded {
    Complete(Packet),
    Partial(Partial),
}

/// A binary packet waiting for its attachments.
#[derive(Debug)]
struct Partial {
    packet: Packet,
    expected: usize,
    attachments: Vec<Bytes>,
}

/// The stateful decoder of [`JsonParser`]: text frames, then the attachments of binary packets.
#[derive(Debug)]
pub struct JsonDecoder {
    config: JsonParser,
    /// A binary packet waiting for its attachments; boxed, so that the decoder every connection holds
    /// stays small between such packets.
    partial: Option<Box<Partial>>,
}

impl JsonDecoder {
    /// A decoder with the given parser settings.
    pub fn new(config: JsonParser) -> Self {
        JsonDecoder { config, partial: None }
    }
}

impl Decoder for JsonDecoder {
    fn add(&mut self, frame: Frame) -> Result<Option<Packet>, DecodeError> {
        match frame {
            Frame::Text(text) => {
                if self.partial.take().is_some() {
                    return Err(DecodeError::UnexpectedText);
                }
                match decode_text(&text, &self.config)? {
                    Decoded::Complete(p) => Ok(Some(p)),
                    Decoded::Partial(partial) => {
                        self.partial = Some(Box::new(partial));
                        Ok(None)
                    }
                }
            }
            Frame::Binary(bytes) => {
                let Some(partial) = self.partial.as_mut() else {
                    return Err(DecodeError::UnexpectedBinary);
                };
                partial.attachments.push(bytes);
                if partial.attachments.len() < partial.expected {
                    return Ok(None);
                }
                let Some(Partial { mut packet, attachments, .. }) = self.partial.take().map(|p| *p) else {
                    return Ok(None);
                };
                match &mut packet.data {
                    PacketData::Event(args) | PacketData::Ack(args) => {
                        for arg in args.iter_mut() {
                            fill_placeholders(arg, &attachments)?;
                        }
                    }
                    _ => return Err(DecodeError::IllegalAttachments),
                }
                Ok(Some(packet))
            }
        }
    }

    fn reset(&mut self) {
        self.partial = None;
    }
}

/// Puts the attachments where their placeholders stand.
fn fill_placeholders(value: &mut Value, attachments: &[Bytes]) -> Result<(), DecodeError> {
    match value {
        Value::Object(o) if o.get("_placeholder") == Some(&Value::Bool(true)) => {
            let num = o.get("num").and_then(Value::as_u64).ok_or(DecodeError::IllegalAttachments)?;
            let bytes = usize::try_from(num)
                .ok()
                .and_then(|n| attachments.get(n))
                .ok_or(DecodeError::IllegalAttachments)?;
            *value = Value::Binary(bytes.clone());
        }
        Value::Object(o) => {
            for v in o.values_mut() {
                fill_placeholders(v, attachments)?;
            }
        }
        Value::Array(a) => {
            for v in a.iter_mut() {
                fill_placeholders(v, attachments)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Decodes the text frame of a packet, following the reference decoder step by step.
fn decode_text(text: &str, config: &JsonParser) -> Result<Decoded, DecodeError> {
    let bytes = text.as_bytes();
    let first = *bytes.first().ok_or(DecodeError::EmptyPacket)?;
    let ty = first
        .checked_sub(b'0')
        .filter(|d| *d <= 9)
        .map(u64::from)
        .ok_or(DecodeError::UnknownPacketType(u64::from(first)))?;
    let ty = PacketType::from_u64(ty).ok_or(DecodeError::UnknownPacketType(ty))?;
    let mut pos = 1;

    let mut expected = 0;
    if matches!(ty, PacketType::BinaryEvent | PacketType::BinaryAck) {
        let dash = bytes[pos..].iter().position(|b| *b == b'-').ok_or(DecodeError::IllegalAttachments)?;
        let digits = &text[pos..pos + dash];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DecodeError::IllegalAttachments);
        }
        let count: u64 = digits.parse().unwrap_or(u64::MAX);
        if count < 1 {
            return Err(DecodeError::IllegalAttachments);
        }
        if count > config.max_attachments as u64 {
            return Err(DecodeError::TooManyAttachments { count, max: config.max_attachments });
        }
        expected = count as usize;
        pos += dash + 1;
    }

    let mut nsp = "/";
    if bytes.get(pos) == Some(&b'/') {
        let end = bytes[pos..].iter().position(|b| *b == b',').map_or(bytes.len(), |i| pos + i);
        nsp = &text[pos..end];
        pos = (end + 1).min(bytes.len());
    }

    let mut id = None;
    let digits = bytes[pos..].iter().take_while(|b| b.is_ascii_digit()).count();
    if digits > 0 {
        id = Some(text[pos..pos + digits].parse::<u64>().map_err(|_| DecodeError::InvalidAckId)?);
        pos += digits;
    }

    let payload = match &text[pos..] {
        "" => None,
        json => Some(serde_json::from_str::<Value>(json).map_err(|_| DecodeError::InvalidPayload)?),
    };

    let (nsp, query) = match nsp.split_once('?') {
        Some((path, query)) if config.protocol == ProtocolVersion::V4 && ty == PacketType::Connect => {
            (path, Some(query))
        }
        _ => (nsp, None),
    };
    let data = packet_data(ty, payload, query)?;
    let packet = Packet { nsp: nsp.to_owned(), id, data };
    if expected > 0 {
        Ok(Decoded::Partial(Partial { packet, expected, attachments: Vec::with_capacity(expected) }))
    } else {
        Ok(Decoded::Complete(packet))
    }
}

/// Checks that the payload fits the packet type and wraps it. Shared by both parsers.
pub(crate) fn packet_data(
    ty: PacketType,
    payload: Option<Value>,
    query: Option<&str>,
) -> Result<PacketData, DecodeError> {
    Ok(match (ty, payload) {
        (PacketType::Connect, None) => PacketData::Connect(query.map(parse_query)),
        (PacketType::Connect, Some(v @ Value::Object(_))) => PacketData::Connect(Some(v)),
        (PacketType::Disconnect, None) => PacketData::Disconnect,
        (PacketType::ConnectError, Some(v @ (Value::String(_) | Value::Object(_)))) => {
            PacketData::ConnectError(v)
        }
        (PacketType::Event | PacketType::BinaryEvent, Some(Value::Array(args))) => {
            match args.first() {
                Some(Value::Number(_)) => {}
                Some(Value::String(name)) if RESERVED_EVENTS.contains(&name.as_str()) => {
                    return Err(DecodeError::ReservedEventName(name.clone()))
                }
                Some(Value::String(_)) => {}
                _ => return Err(DecodeError::InvalidPayload),
            }
            PacketData::Event(args)
        }
        (PacketType::Ack | PacketType::BinaryAck, Some(Value::Array(args))) => PacketData::Ack(args),
        _ => return Err(DecodeError::InvalidPayload),
    })
}

/// Parses a query string (`a=1&b=x%20y`) into an object of strings; a repeated key gives an array, as
/// Node's `querystring` does.
pub(crate) fn parse_query(query: &str) -> Value {
    let mut map = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k), Value::String(percent_decode(v)));
        match map.get_mut(&k) {
            Some(Value::Array(values)) => values.push(v),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, v]);
            }
            None => {
                map.insert(k, v);
            }
        }
    }
    Value::Object(map)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_string_becomes_an_object() {
        let v = parse_query("token=a%20b+c&x=1&x=2&flag&bad=%zz");
        assert_eq!(v["token"], "a b c");
        assert_eq!(v["x"], Value::Array(vec!["1".into(), "2".into()]));
        assert_eq!(v["flag"], "");
        assert_eq!(v["bad"], "%zz");
    }
}
