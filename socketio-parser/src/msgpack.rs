//! The msgpack parser, byte-compatible with `socket.io-msgpack-parser` (notepack.io): one binary frame per
//! packet, the packet a msgpack map `{type, data, id?, nsp}`, binary as native msgpack `bin`.

use crate::json::packet_data;
use crate::packet::{PacketData, PacketType};
use crate::{DecodeError, Decoder, Map, Packet, Parser, Value};
use bytes::Bytes;
use engineio_parser::Frame;

/// How deep arrays and objects may nest in a decoded packet.
const MAX_DEPTH: usize = 128;
/// The msgpack extension type of the standard timestamp (-1).
const TIMESTAMP: u8 = 0xff;

/// The msgpack parser (`socket.io-msgpack-parser`): each packet is one binary frame holding a msgpack
/// map with the keys `type`, `data`, `id` (when set) and `nsp`. Packet types are 0..=4 only: binary needs
/// no attachments, msgpack has a `bin` type.
///
/// Encoding follows notepack.io, the encoder of the Node parser: integers in the smallest form, other
/// numbers as float 64, strings, binary and containers with the smallest length header.
///
/// ```
/// use socketio_parser::{MsgpackParser, Packet, Parser, Value, Frame};
/// let frames = MsgpackParser.encode(&Packet::event("/", "a", vec![Value::from(1)]));
/// assert_eq!(frames, vec![Frame::Binary(bytes::Bytes::from_static(
///     b"\x83\xa4type\x02\xa4data\x92\xa1a\x01\xa3nsp\xa1/"
/// ))]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MsgpackParser;

impl Parser for MsgpackParser {
    fn encode(&self, packet: &Packet) -> Vec<Frame> {
        vec![Frame::Binary(encode(packet))]
    }

    fn decoder(&self) -> Box<dyn Decoder> {
        Box::new(MsgpackDecoder)
    }
}

/// The decoder of [`MsgpackParser`]: stateless, one frame is one packet.
#[derive(Debug, Clone, Copy, Default)]
pub struct MsgpackDecoder;

impl Decoder for MsgpackDecoder {
    fn add(&mut self, frame: Frame) -> Result<Option<Packet>, DecodeError> {
        match frame {
            Frame::Binary(bytes) => decode(bytes).map(Some),
            Frame::Text(_) => Err(DecodeError::InvalidMsgpack("expected a binary frame, got text")),
        }
    }

    fn reset(&mut self) {}
}

/// Encodes a packet as one msgpack map.
pub fn encode(packet: &Packet) -> Bytes {
    let ty = match &packet.data {
        PacketData::Connect(_) => PacketType::Connect,
        PacketData::Disconnect => PacketType::Disconnect,
        PacketData::Event(_) => PacketType::Event,
        PacketData::Ack(_) => PacketType::Ack,
        PacketData::ConnectError(_) => PacketType::ConnectError,
    };
    let data: Option<Data<'_>> = match &packet.data {
        PacketData::Connect(Some(v)) | PacketData::ConnectError(v) => Some(Data::One(v)),
        PacketData::Connect(None) | PacketData::Disconnect => None,
        PacketData::Event(args) | PacketData::Ack(args) => Some(Data::Many(args)),
    };
    let mut w = Writer(Vec::with_capacity(64));
    w.header(0x80, 0xde, 2 + usize::from(data.is_some()) + usize::from(packet.id.is_some()));
    w.str("type");
    w.uint(ty as u64);
    match data {
        Some(Data::One(v)) => {
            w.str("data");
            w.value(v);
        }
        Some(Data::Many(args)) => {
            w.str("data");
            w.array(args);
        }
        None => {}
    }
    if let Some(id) = packet.id {
        w.str("id");
        w.uint(id);
    }
    w.str("nsp");
    w.str(&packet.nsp);
    Bytes::from(w.0)
}

enum Data<'a> {
    One(&'a Value),
    Many(&'a [Value]),
}

/// A msgpack writer with the choices notepack.io makes.
struct Writer(Vec<u8>);

impl Writer {
    /// A container or string header: the fix form (`fix | len`) below its limit, else the 16 or 32 bit
    /// form whose marker follows `marker16`.
    fn header(&mut self, fix: u8, marker16: u8, len: usize) {
        let fix_limit = if fix == 0xa0 { 32 } else { 16 };
        if len < fix_limit {
            self.0.push(fix | len as u8);
        } else if len < 0x10000 {
            self.0.push(marker16);
            self.0.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            self.0.push(marker16 + 1);
            self.0.extend_from_slice(&(len as u32).to_be_bytes());
        }
    }

    fn str(&mut self, s: &str) {
        let len = s.len();
        if (32..256).contains(&len) {
            self.0.extend_from_slice(&[0xd9, len as u8]);
        } else {
            self.header(0xa0, 0xda, len);
        }
        self.0.extend_from_slice(s.as_bytes());
    }

    fn bin(&mut self, b: &[u8]) {
        let len = b.len();
        if len < 0x100 {
            self.0.extend_from_slice(&[0xc4, len as u8]);
        } else if len < 0x10000 {
            self.0.push(0xc5);
            self.0.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            self.0.push(0xc6);
            self.0.extend_from_slice(&(len as u32).to_be_bytes());
        }
        self.0.extend_from_slice(b);
    }

    fn uint(&mut self, n: u64) {
        if n < 0x80 {
            self.0.push(n as u8);
        } else if n < 0x100 {
            self.0.extend_from_slice(&[0xcc, n as u8]);
        } else if n < 0x10000 {
            self.0.push(0xcd);
            self.0.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n < 0x1_0000_0000 {
            self.0.push(0xce);
            self.0.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            self.0.push(0xcf);
            self.0.extend_from_slice(&n.to_be_bytes());
        }
    }

    fn int(&mut self, n: i64) {
        if n >= 0 {
            self.uint(n as u64);
        } else if n >= -0x20 {
            self.0.push(n as u8);
        } else if n >= -0x80 {
            self.0.extend_from_slice(&[0xd0, n as u8]);
        } else if n >= -0x8000 {
            self.0.push(0xd1);
            self.0.extend_from_slice(&(n as i16).to_be_bytes());
        } else if n >= -0x8000_0000 {
            self.0.push(0xd2);
            self.0.extend_from_slice(&(n as i32).to_be_bytes());
        } else {
            self.0.push(0xd3);
            self.0.extend_from_slice(&n.to_be_bytes());
        }
    }

    fn float(&mut self, f: f64) {
        // notepack.io writes a whole number as an integer, whatever its JavaScript origin.
        if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
            self.int(f as i64);
        } else {
            self.0.push(0xcb);
            self.0.extend_from_slice(&f.to_be_bytes());
        }
    }

    fn array(&mut self, values: &[Value]) {
        self.header(0x90, 0xdc, values.len());
        for v in values {
            self.value(v);
        }
    }

    fn value(&mut self, v: &Value) {
        match v {
            Value::Null => self.0.push(0xc0),
            Value::Bool(b) => self.0.push(if *b { 0xc3 } else { 0xc2 }),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    self.uint(u);
                } else if let Some(i) = n.as_i64() {
                    self.int(i);
                } else {
                    self.float(n.as_f64().unwrap_or(0.0));
                }
            }
            Value::String(s) => self.str(s),
            Value::Binary(b) => self.bin(b),
            Value::Array(a) => self.array(a),
            Value::Object(o) => {
                self.header(0x80, 0xde, o.len());
                for (k, v) in o {
                    self.str(k);
                    self.value(v);
                }
            }
        }
    }
}

/// Decodes one msgpack frame into a packet, checked as the reference decoder checks it.
pub fn decode(bytes: Bytes) -> Result<Packet, DecodeError> {
    match decode_value(bytes)? {
        Value::Object(map) => packet_from_map(map, false),
        _ => Err(DecodeError::InvalidMsgpack("a packet must be a map")),
    }
}

/// Encodes any value as msgpack, as notepack.io would (binary as `bin`, whole numbers as integers).
pub fn encode_value(value: &Value) -> Bytes {
    let mut w = Writer(Vec::with_capacity(64));
    w.value(value);
    Bytes::from(w.0)
}

/// Decodes one msgpack value (the whole input). Binary values are slices of `bytes`; JavaScript's
/// `undefined` reads as `null` at the top level and in arrays, and drops an object member.
pub fn decode_value(bytes: Bytes) -> Result<Value, DecodeError> {
    let mut r = Reader { buf: &bytes, pos: 0, src: &bytes };
    let root = r.value(0)?;
    if r.pos != bytes.len() {
        return Err(DecodeError::InvalidMsgpack("trailing bytes"));
    }
    Ok(root.unwrap_or(Value::Null))
}

/// Builds a packet from its object form `{type, data, id, nsp}`. `binary_types` also accepts
/// BINARY_EVENT and BINARY_ACK (as events and acks), which JSON-based peers may send.
pub(crate) fn packet_from_map(mut map: crate::Map, binary_types: bool) -> Result<Packet, DecodeError> {
    let max = if binary_types { PacketType::BinaryAck } else { PacketType::ConnectError };
    let ty = map
        .get("type")
        .and_then(integer)
        .and_then(PacketType::from_u64)
        .filter(|t| (*t as u8) <= max as u8)
        .ok_or_else(|| {
            DecodeError::UnknownPacketType(map.get("type").and_then(integer).unwrap_or(u64::MAX))
        })?;
    let nsp = match map.swap_remove("nsp") {
        Some(Value::String(s)) => s,
        _ => return Err(DecodeError::InvalidNamespace),
    };
    let data = packet_data(ty, map.swap_remove("data"), None)?;
    let id = match map.get("id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(integer(v).ok_or(DecodeError::InvalidAckId)?),
    };
    Ok(Packet { nsp, id, data })
}

/// A non-negative integer, also from a whole float (JavaScript numbers are floats).
fn integer(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            let f = n.as_f64()?;
            (f.fract() == 0.0 && (0.0..9_007_199_254_740_992.0).contains(&f)).then_some(f as u64)
        }),
        _ => None,
    }
}

/// A msgpack reader over a frame; binary values are slices of the frame (no copy).
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    src: &'a Bytes,
}

const TRUNCATED: DecodeError = DecodeError::InvalidMsgpack("truncated");

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len()).ok_or(TRUNCATED)?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn be(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(self.take(n)?.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn len(&mut self, n: usize) -> Result<usize, DecodeError> {
        usize::try_from(self.be(n)?).map_err(|_| TRUNCATED)
    }

    fn bin(&mut self, len: usize) -> Result<Value, DecodeError> {
        let start = self.pos;
        self.take(len)?;
        Ok(Value::Binary(self.src.slice(start..start + len)))
    }

    fn str(&mut self, len: usize) -> Result<Value, DecodeError> {
        let s =
            std::str::from_utf8(self.take(len)?).map_err(|_| DecodeError::InvalidMsgpack("invalid UTF-8"))?;
        Ok(Value::String(s.to_owned()))
    }

    fn array(&mut self, len: usize, depth: usize) -> Result<Value, DecodeError> {
        // Each element takes at least one byte: a length beyond what is left is a lie.
        if len > self.buf.len() - self.pos {
            return Err(TRUNCATED);
        }
        let mut out = Vec::with_capacity(len);
        for _ in 0..len {
            out.push(self.value(depth + 1)?.unwrap_or(Value::Null));
        }
        Ok(Value::Array(out))
    }

    fn map(&mut self, len: usize, depth: usize) -> Result<Value, DecodeError> {
        if len > (self.buf.len() - self.pos) / 2 {
            return Err(TRUNCATED);
        }
        let mut out = Map::with_capacity(len);
        for _ in 0..len {
            let key = match self.value(depth + 1)? {
                Some(Value::String(s)) => s,
                Some(Value::Number(n)) => n.to_string(),
                _ => return Err(DecodeError::InvalidMsgpack("map keys must be strings or numbers")),
            };
            // A key whose value is `undefined` is as good as absent.
            if let Some(v) = self.value(depth + 1)? {
                out.insert(key, v);
            }
        }
        Ok(Value::Object(out))
    }

    /// An extension value: notepack.io uses type 0 for ArrayBuffer (ext 8/16/32), `undefined` (fixext 1)
    /// and Date (fixext 8, milliseconds); @msgpack/msgpack (the Redis adapter's codec) writes a Date
    /// as the standard timestamp, type -1. Dates read as their milliseconds since the epoch.
    fn ext(&mut self, len: usize) -> Result<Option<Value>, DecodeError> {
        match self.byte()? {
            0 => self.bin(len).map(Some),
            TIMESTAMP => self.timestamp(len).map(Some),
            _ => Err(DecodeError::InvalidMsgpack("unsupported extension type")),
        }
    }

    /// The msgpack timestamp extension's body (4, 8 or 12 bytes), as milliseconds since the epoch.
    fn timestamp(&mut self, len: usize) -> Result<Value, DecodeError> {
        let (secs, nanos) = match len {
            4 => (self.be(4)? as i64, 0),
            8 => {
                let v = self.be(8)?;
                ((v & 0x3_ffff_ffff) as i64, v >> 34)
            }
            12 => {
                let nanos = self.be(4)?;
                (self.be(8)? as i64, nanos)
            }
            _ => return Err(DecodeError::InvalidMsgpack("a timestamp has 4, 8 or 12 bytes")),
        };
        let ms = secs.saturating_mul(1000).saturating_add((nanos / 1_000_000) as i64);
        Ok(Value::from(ms))
    }

    /// Reads one value; `None` stands for JavaScript's `undefined`.
    fn value(&mut self, depth: usize) -> Result<Option<Value>, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError::InvalidMsgpack("nesting too deep"));
        }
        let marker = self.byte()?;
        let v = match marker {
            0x00..=0x7f => Value::from(marker),
            0x80..=0x8f => self.map(usize::from(marker & 0x0f), depth)?,
            0x90..=0x9f => self.array(usize::from(marker & 0x0f), depth)?,
            0xa0..=0xbf => self.str(usize::from(marker & 0x1f))?,
            0xc0 => Value::Null,
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xc4 => {
                let n = self.len(1)?;
                self.bin(n)?
            }
            0xc5 => {
                let n = self.len(2)?;
                self.bin(n)?
            }
            0xc6 => {
                let n = self.len(4)?;
                self.bin(n)?
            }
            0xc7 => {
                let n = self.len(1)?;
                return self.ext(n);
            }
            0xc8 => {
                let n = self.len(2)?;
                return self.ext(n);
            }
            0xc9 => {
                let n = self.len(4)?;
                return self.ext(n);
            }
            0xca => Value::from(f32::from_bits(self.be(4)? as u32)),
            0xcb => Value::from(f64::from_bits(self.be(8)?)),
            0xcc => Value::from(self.be(1)?),
            0xcd => Value::from(self.be(2)?),
            0xce => Value::from(self.be(4)?),
            0xcf => Value::from(self.be(8)?),
            0xd0 => Value::from(self.be(1)? as u8 as i8),
            0xd1 => Value::from(self.be(2)? as u16 as i16),
            0xd2 => Value::from(self.be(4)? as u32 as i32),
            0xd3 => Value::from(self.be(8)? as i64),
            0xd4 => {
                let ext = self.take(2)?;
                if ext[0] != 0 {
                    return Err(DecodeError::InvalidMsgpack("unsupported extension type"));
                }
                return Ok(None);
            }
            0xd6 => match self.byte()? {
                TIMESTAMP => self.timestamp(4)?,
                _ => return Err(DecodeError::InvalidMsgpack("unsupported extension type")),
            },
            0xd7 => match self.byte()? {
                0 => {
                    let hi = self.be(4)? as u32 as i32;
                    let lo = self.be(4)?;
                    Value::from(f64::from(hi) * 4_294_967_296.0 + lo as f64)
                }
                TIMESTAMP => self.timestamp(8)?,
                _ => return Err(DecodeError::InvalidMsgpack("unsupported extension type")),
            },
            0xd9 => {
                let n = self.len(1)?;
                self.str(n)?
            }
            0xda => {
                let n = self.len(2)?;
                self.str(n)?
            }
            0xdb => {
                let n = self.len(4)?;
                self.str(n)?
            }
            0xdc => {
                let n = self.len(2)?;
                self.array(n, depth)?
            }
            0xdd => {
                let n = self.len(4)?;
                self.array(n, depth)?
            }
            0xde => {
                let n = self.len(2)?;
                self.map(n, depth)?
            }
            0xdf => {
                let n = self.len(4)?;
                self.map(n, depth)?
            }
            0xe0..=0xff => Value::from(marker as i8),
            0xc1 | 0xd5 | 0xd8 => return Err(DecodeError::InvalidMsgpack("unsupported type")),
        };
        Ok(Some(v))
    }
}
