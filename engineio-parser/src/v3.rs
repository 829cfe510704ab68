//! Engine.IO protocol v3 (`EIO=3`, `socket.io-client` 2.x).
//!
//! - A packet in text form is its type digit followed by its text (`4hello`), as in v4. Binary data may
//!   belong to any packet type; in text form it is `b`, the type digit, then padded base64 (`b4AQID`).
//! - Over websocket a text packet is one text frame; binary data is one binary frame made of the type as a
//!   byte (`0x04`, not `'4'`) followed by the raw bytes.
//! - Over HTTP long-polling a payload takes one of two forms:
//!   - the string form, `<length>:<packet>` for each packet in text form, where the length counts UTF-16
//!     code units (JavaScript's `String#length`): `6:4hello2:4€`. No packets give `0:`;
//!   - the binary form, for clients that support binary: per packet a byte `0` (text) or `1` (binary), the
//!     decimal digits of its length as byte values `0..=9`, a byte `0xFF`, then the packet: the UTF-8 text
//!     form, or the type byte followed by the raw bytes.
//!
//! ```
//! use engineio_parser::{v3, Frame, Packet};
//!
//! let packets = [Packet::message("hello"), Packet::binary(vec![1u8, 2, 3])];
//! assert_eq!(v3::encode_payload_string(&packets), "6:4hello6:b4AQID");
//! let Frame::Binary(body) = v3::encode_payload(&packets, true) else { unreachable!() };
//! assert_eq!(&body[..], b"\x00\x06\xff4hello\x01\x04\xff\x04\x01\x02\x03");
//! assert_eq!(v3::decode_payload(body, 1000).unwrap(), packets);
//! ```

use crate::codec;
use crate::{Error, Frame, Packet, PacketData, PacketType, ProtocolVersion, Str};
use bytes::Bytes;

const V3: ProtocolVersion = ProtocolVersion::V3;

/// The most digits a length prefix may have: enough for any 64-bit length.
const MAX_LEN_DIGITS: usize = 20;

/// Encodes `packet` as one websocket frame: a text frame with the type digit and the text, or for binary data
/// a binary frame made of the type byte and the raw bytes.
pub fn encode_frame(packet: &Packet) -> Frame {
    match &packet.data {
        PacketData::Binary(bytes) => {
            let mut out = Vec::with_capacity(1 + bytes.len());
            out.push(packet.ty as u8);
            out.extend_from_slice(bytes);
            Frame::Binary(out.into())
        }
        _ => Frame::Text(encode_packet_str(packet)),
    }
}

/// Decodes one websocket frame. Text and binary data are slices of the frame.
pub fn decode_frame(frame: Frame) -> Result<Packet, Error> {
    match frame {
        Frame::Text(text) => decode_packet_str(text),
        Frame::Binary(bytes) => decode_typed_binary(bytes),
    }
}

/// Encodes `packet` in text form: `4hello`, or `b4AQID` for binary data (also the websocket text frame for a
/// client that asked for base64 with `b64=1`).
pub fn encode_packet_str(packet: &Packet) -> Str {
    codec::encode_text(packet, V3)
}

/// Decodes one packet in text form (`4hello`, `6`, `b4AQID`); text data is a slice of `s`.
pub fn decode_packet_str(s: Str) -> Result<Packet, Error> {
    codec::decode_owned_text(s, V3)
}

/// Encodes a polling payload the way the reference server does: the binary form
/// ([`encode_payload_binary`]) when the client supports binary and some packet carries binary data, the
/// string form ([`encode_payload_string`]) otherwise.
pub fn encode_payload(packets: &[Packet], supports_binary: bool) -> Frame {
    if supports_binary && packets.iter().any(|p| p.data.is_binary()) {
        Frame::Binary(encode_payload_binary(packets))
    } else {
        Frame::Text(encode_payload_string(packets))
    }
}

/// Decodes a polling payload in either form: the binary form when the body starts with a byte `0` or `1`,
/// the string form otherwise. A body over `max_payload` bytes is refused before looking at it.
pub fn decode_payload(body: Bytes, max_payload: usize) -> Result<Vec<Packet>, Error> {
    match body.first() {
        Some(0 | 1) => decode_payload_binary(body, max_payload),
        _ => decode_payload_string(body, max_payload),
    }
}

/// Encodes `packets` in the string form (`6:4hello2:4€`), in one exactly sized allocation; binary data goes
/// as base64. No packets give `0:`.
pub fn encode_payload_string(packets: &[Packet]) -> Str {
    if packets.is_empty() {
        return Str::from_static("0:");
    }
    let units = |p: &Packet| match &p.data {
        PacketData::Text(text) => 1 + utf16_len(text.as_bytes()),
        _ => codec::text_len(p, V3),
    };
    let len = packets.iter().map(|p| digit_count(units(p)) + 1 + codec::text_len(p, V3)).sum();
    let mut out = String::with_capacity(len);
    for packet in packets {
        for_each_digit(units(packet), &mut |d| out.push(char::from(b'0' + d)));
        out.push(':');
        codec::write_text(&mut out, packet, V3);
    }
    debug_assert_eq!(out.len(), len);
    out.into()
}

/// Decodes a payload in the string form, refusing a body over `max_payload` bytes before looking at it.
/// `0:` gives no packets (zero-length packets are skipped); an empty body is malformed. Text data is sliced
/// from `body`.
pub fn decode_payload_string(body: Bytes, max_payload: usize) -> Result<Vec<Packet>, Error> {
    codec::check_size(body.len(), max_payload)?;
    let text = codec::utf8(body)?;
    if text.is_empty() {
        return Err(Error::MalformedPayload("empty payload"));
    }
    let mut packets = Vec::new();
    let mut rest: &str = &text;
    while !rest.is_empty() {
        let (len, tail) =
            rest.split_once(':').ok_or(Error::MalformedPayload("missing ':' after a length"))?;
        let units = parse_len(len.as_bytes(), b'0')?;
        let (part, tail) = utf16_prefix(tail, units)
            .and_then(|end| tail.split_at_checked(end))
            .ok_or(Error::MalformedPayload("length does not match the packet"))?;
        if !part.is_empty() {
            packets.push(codec::decode_text(&text, part, V3)?);
        }
        rest = tail;
    }
    Ok(packets)
}

/// Encodes `packets` in the binary form, in one exactly sized allocation. No packets give an empty body.
pub fn encode_payload_binary(packets: &[Packet]) -> Bytes {
    // The type (a digit or a byte) and the UTF-8 text or the raw bytes.
    let packet_len = |p: &Packet| 1 + p.data.len();
    let len = packets.iter().map(|p| 2 + digit_count(packet_len(p)) + packet_len(p)).sum();
    let mut out = Vec::with_capacity(len);
    for packet in packets {
        out.push(u8::from(packet.data.is_binary()));
        for_each_digit(packet_len(packet), &mut |d| out.push(d));
        out.push(0xFF);
        let (ty, data): (u8, &[u8]) = match &packet.data {
            PacketData::Empty => (packet.ty.as_char(), &[]),
            PacketData::Text(text) => (packet.ty.as_char(), text.as_bytes()),
            PacketData::Binary(bytes) => (packet.ty as u8, bytes),
        };
        out.push(ty);
        out.extend_from_slice(data);
    }
    debug_assert_eq!(out.len(), len);
    out.into()
}

/// Decodes a payload in the binary form, refusing a body over `max_payload` bytes before looking at it. An
/// empty body gives no packets. Text and binary data are slices of `body`.
pub fn decode_payload_binary(body: Bytes, max_payload: usize) -> Result<Vec<Packet>, Error> {
    codec::check_size(body.len(), max_payload)?;
    let mut packets = Vec::new();
    let mut rest: &[u8] = &body;
    while let Some((&kind, tail)) = rest.split_first() {
        let digits_end = tail
            .iter()
            .take(MAX_LEN_DIGITS + 1)
            .position(|&b| b == 0xFF)
            .ok_or(Error::MalformedPayload("missing 0xFF after a length"))?;
        let (len, tail) = tail.split_at(digits_end);
        let len = parse_len(len, 0)?;
        let (data, tail) = tail
            .get(1..)
            .and_then(|t| t.split_at_checked(len))
            .ok_or(Error::MalformedPayload("packet runs past the end"))?;
        let data = body.slice_ref(data);
        packets.push(match kind {
            0 => decode_packet_str(codec::utf8(data)?)?,
            1 => decode_typed_binary(data)?,
            _ => return Err(Error::MalformedPayload("packet kind is neither 0 nor 1")),
        });
        rest = tail;
    }
    Ok(packets)
}

/// Decodes binary data preceded by its type byte (a binary frame or a binary packet of a binary payload).
fn decode_typed_binary(bytes: Bytes) -> Result<Packet, Error> {
    let &ty = bytes.first().ok_or(Error::EmptyPacket)?;
    let ty = PacketType::from_u8(ty).ok_or(Error::UnknownPacketType(ty))?;
    Ok(Packet { ty, data: PacketData::Binary(bytes.slice(1..)) })
}

/// Length in UTF-16 code units of the characters that start in `bytes` (UTF-8): one per character, two for
/// characters outside the BMP (those whose first byte is `0xF0` or above).
fn utf16_len(bytes: &[u8]) -> usize {
    // Summing bytes into a `u8` per chunk (at most 2 * 127) lets the compiler use 16-lane vector adds.
    let chunk_len = |chunk: &[u8]| chunk.iter().map(|&b| utf16_units(b)).sum::<u8>();
    bytes.chunks(127).map(|chunk| usize::from(chunk_len(chunk))).sum()
}

/// The UTF-16 code units a UTF-8 byte adds: none for a continuation byte.
fn utf16_units(b: u8) -> u8 {
    match b {
        0x80..=0xBF => 0,
        0xF0.. => 2,
        _ => 1,
    }
}

/// Byte length of the prefix of `s` that is exactly `units` UTF-16 code units long; `None` when `s` is
/// shorter or when that prefix would end inside a surrogate pair.
fn utf16_prefix(s: &str, units: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    let (mut end, mut seen) = (0, 0);
    while seen < units {
        // The characters starting in the next `units - seen` bytes take at most one unit per byte, plus one
        // when the last byte starts a surrogate pair: going over means the prefix would split that pair.
        let window = bytes.get(end..)?.get(..units - seen)?;
        seen += utf16_len(window);
        end += window.len();
    }
    let rest_of_char = bytes.get(end..)?.iter().take_while(|&&b| utf16_units(b) == 0).count();
    (seen == units).then_some(end + rest_of_char)
}

/// Number of decimal digits of `n`.
fn digit_count(n: usize) -> usize {
    n.checked_ilog10().map_or(1, |log| log as usize + 1)
}

/// Calls `push` with each decimal digit of `n` as a value `0..=9`, most significant first.
fn for_each_digit(n: usize, push: &mut impl FnMut(u8)) {
    if n >= 10 {
        for_each_digit(n / 10, push);
    }
    push((n % 10) as u8);
}

/// Parses a length prefix whose digits are the bytes `zero..=zero + 9`.
fn parse_len(digits: &[u8], zero: u8) -> Result<usize, Error> {
    if digits.is_empty() || digits.len() > MAX_LEN_DIGITS {
        return Err(Error::MalformedPayload("length prefix is empty or too long"));
    }
    digits.iter().try_fold(0usize, |len, &d| {
        let digit = d.wrapping_sub(zero);
        (digit < 10)
            .then(|| len.checked_mul(10)?.checked_add(usize::from(digit)))
            .flatten()
            .ok_or(Error::MalformedPayload("length prefix is not a number"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(s: &'static str) -> Result<Vec<Packet>, Error> {
        decode_payload_string(Bytes::from_static(s.as_bytes()), 1000)
    }

    #[test]
    fn utf16_lengths() {
        assert_eq!(utf16_len("a€😀".as_bytes()), 4);
        assert_eq!(utf16_prefix("€😀x", 1), Some(3));
        assert_eq!(utf16_prefix("€😀x", 2), None, "inside the surrogate pair");
        assert_eq!(utf16_prefix("€😀x", 3), Some(7));
        assert_eq!(utf16_prefix("€😀x", 4), Some(8));
        assert_eq!(utf16_prefix("€😀x", 5), None);
        assert_eq!(utf16_prefix("", 0), Some(0));
    }

    proptest::proptest! {
        #[test]
        fn utf16_prefix_agrees_with_a_char_walk(s in "[a€😀é]{0,12}", units in 0usize..30) {
            let mut seen = 0;
            let mut naive = (units == 0).then_some(0);
            for (i, c) in s.char_indices() {
                seen += c.len_utf16();
                if seen == units {
                    naive = Some(i + c.len_utf8());
                }
            }
            proptest::prop_assert_eq!(utf16_prefix(&s, units), naive);
        }
    }

    #[test]
    fn decimal_lengths() {
        for n in [0, 7, 10, 99, 100, 12345, usize::MAX] {
            let mut ascii = String::new();
            for_each_digit(n, &mut |d| ascii.push(char::from(b'0' + d)));
            assert_eq!(ascii, n.to_string());
            assert_eq!(digit_count(n), ascii.len());
            assert_eq!(parse_len(ascii.as_bytes(), b'0'), Ok(n));
        }
        let too_big = Err(Error::MalformedPayload("length prefix is not a number"));
        assert_eq!(parse_len(b"18446744073709551616", b'0'), too_big);
        assert!(parse_len(b"", b'0').is_err());
        assert!(parse_len(&[1, 10], 0).is_err());
        assert!(parse_len(&[0; 21], 0).is_err());
    }

    #[test]
    fn string_payload() {
        let packets = [Packet::message("€"), Packet::binary(vec![1u8, 2, 3]), Packet::ping()];
        let payload = encode_payload_string(&packets);
        assert_eq!(payload, "2:4€6:b4AQID1:2");
        assert_eq!(decode_payload_string(payload.into_bytes(), 100).unwrap(), packets);
        assert_eq!(encode_payload_string(&[]), "0:");
        assert_eq!(string("0:").unwrap(), []);
        assert_eq!(string("0:1:60:").unwrap(), [Packet::noop()]);
        assert!(matches!(string(""), Err(Error::MalformedPayload(_))));
        assert!(matches!(string("1:6x"), Err(Error::MalformedPayload(_))));
        assert!(matches!(string(":6"), Err(Error::MalformedPayload(_))));
        assert_eq!(string("1:x"), Err(Error::UnknownPacketType(b'x')));
        assert_eq!(string("2:b4"), Ok(vec![Packet::binary(Bytes::new())]));
        assert_eq!(string("3:b9A"), Err(Error::UnknownPacketType(b'9')));
    }

    #[test]
    fn binary_payload() {
        let body = encode_payload_binary(&[Packet::message("é"), Packet::binary(Bytes::new())]);
        assert_eq!(&body[..], b"\x00\x03\xff4\xc3\xa9\x01\x01\xff\x04");
        let packets = decode_payload_binary(body.clone(), 100).unwrap();
        assert_eq!(packets, [Packet::message("é"), Packet::binary(Bytes::new())]);
        assert_eq!(packets[0].data.as_text().unwrap().as_ptr(), body[4..].as_ptr());
        assert_eq!(decode_payload_binary(Bytes::new(), 100), Ok(vec![]));
        let bad = |b: &'static [u8]| decode_payload_binary(Bytes::from_static(b), 100);
        assert!(matches!(bad(b"\x02\x01\xff6"), Err(Error::MalformedPayload(_))));
        assert!(matches!(bad(b"\x00\x02\xff6"), Err(Error::MalformedPayload(_))));
        assert!(matches!(bad(b"\x00\x01"), Err(Error::MalformedPayload(_))));
        assert!(matches!(bad(b"\x00\x0a\xff6"), Err(Error::MalformedPayload(_))));
        assert_eq!(bad(b"\x00\x01\xff\xff"), Err(Error::InvalidUtf8));
        assert_eq!(bad(b"\x01\x00\xff"), Err(Error::EmptyPacket));
        assert_eq!(bad(b"\x01\x01\xff\x07"), Err(Error::UnknownPacketType(7)));
    }

    #[test]
    fn payload_form_follows_binary_support() {
        let text = [Packet::message("a")];
        let mixed = [Packet::message("a"), Packet::binary(vec![1u8])];
        assert_eq!(encode_payload(&text, true), Frame::from("2:4a"));
        assert_eq!(encode_payload(&mixed, false), Frame::from("2:4a6:b4AQ=="));
        assert!(encode_payload(&mixed, true).is_binary());
    }

    #[test]
    fn frames() {
        let frame = encode_frame(&Packet::binary(vec![1u8, 2]));
        assert_eq!(frame, Frame::from(vec![4u8, 1, 2]));
        assert_eq!(decode_frame(frame).unwrap(), Packet::binary(vec![1u8, 2]));
        assert_eq!(decode_frame(Frame::from(Vec::new())), Err(Error::EmptyPacket));
        assert_eq!(decode_frame(Frame::from("4hi")).unwrap(), Packet::message("hi"));
    }
}
