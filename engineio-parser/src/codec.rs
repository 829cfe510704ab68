//! Pieces shared by the [`v3`](crate::v3) and [`v4`](crate::v4) codecs: the text form of one packet, base64
//! and the size check.

use crate::{Error, Packet, PacketData, PacketType, ProtocolVersion, Str};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use bytes::Bytes;

/// Standard base64: padded on output like Node's `Buffer#toString("base64")`; padding is optional on input.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The type digits as static strings, so data-less packets encode without allocating.
const DIGITS: [&str; 7] = ["0", "1", "2", "3", "4", "5", "6"];

/// Refuses input larger than `max` bytes.
pub(crate) fn check_size(len: usize, max: usize) -> Result<(), Error> {
    if len > max {
        return Err(Error::PayloadTooLarge { len: len as u64, limit: max as u64 });
    }
    Ok(())
}

/// Length of the padded base64 encoding of `n` bytes.
pub(crate) fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Length of the text form of `packet`: the type digit and the text, or for binary data `b`, the type digit
/// in v3, then base64.
pub(crate) fn text_len(packet: &Packet, version: ProtocolVersion) -> usize {
    match &packet.data {
        PacketData::Empty => 1,
        PacketData::Text(text) => 1 + text.len(),
        PacketData::Binary(bytes) => {
            1 + usize::from(version == ProtocolVersion::V3) + base64_len(bytes.len())
        }
    }
}

/// Appends the text form of `packet` (see [`text_len`]) to `out`.
pub(crate) fn write_text(out: &mut String, packet: &Packet, version: ProtocolVersion) {
    let digit = char::from(packet.ty.as_char());
    match &packet.data {
        PacketData::Empty => out.push(digit),
        PacketData::Text(text) => {
            out.push(digit);
            out.push_str(text);
        }
        PacketData::Binary(bytes) => {
            out.push('b');
            if version == ProtocolVersion::V3 {
                out.push(digit);
            }
            BASE64.encode_string(bytes, out);
        }
    }
}

/// The text form of `packet` in one exactly sized allocation (none for a packet without data).
pub(crate) fn encode_text(packet: &Packet, version: ProtocolVersion) -> Str {
    if packet.data == PacketData::Empty {
        return Str::from_static(DIGITS[packet.ty as usize]);
    }
    let mut out = String::with_capacity(text_len(packet, version));
    write_text(&mut out, packet, version);
    out.into()
}

/// Splits the first byte off `s`; the rest is refused as [`Error::UnknownPacketType`] when that byte is not a
/// whole character.
fn split_first(s: &str) -> Result<(u8, &str), Error> {
    let &first = s.as_bytes().first().ok_or(Error::EmptyPacket)?;
    let rest = s.get(1..).ok_or(Error::UnknownPacketType(first))?;
    Ok((first, rest))
}

/// The packet type for a wire digit.
fn packet_type(c: u8) -> Result<PacketType, Error> {
    PacketType::from_char(c).ok_or(Error::UnknownPacketType(c))
}

/// Decodes `part`, the text form of one packet (see [`write_text`]) lying inside `whole`; text data is a
/// shared slice of `whole`.
pub(crate) fn decode_text(whole: &Str, part: &str, version: ProtocolVersion) -> Result<Packet, Error> {
    let (first, rest) = split_first(part)?;
    if first != b'b' {
        let ty = packet_type(first)?;
        if rest.is_empty() {
            return Ok(Packet::empty(ty));
        }
        let text = whole.slice_ref(rest).ok_or(Error::MalformedPayload("packet outside the payload"))?;
        return Ok(Packet::text(ty, text));
    }
    let (ty, base64) = match version {
        ProtocolVersion::V3 => {
            let (digit, base64) = split_first(rest)?;
            (packet_type(digit)?, base64)
        }
        ProtocolVersion::V4 => (PacketType::Message, rest),
    };
    let bytes = BASE64.decode(base64).map_err(|_| Error::InvalidBase64)?;
    Ok(Packet { ty, data: PacketData::Binary(bytes.into()) })
}

/// Decodes `text`, the text form of one packet on its own (a websocket frame): as [`decode_text`], the
/// text data taking over the frame's buffer.
pub(crate) fn decode_owned_text(text: Str, version: ProtocolVersion) -> Result<Packet, Error> {
    let (first, rest) = split_first(&text)?;
    if first != b'b' && !rest.is_empty() {
        let ty = packet_type(first)?;
        let data = text.into_suffix(1).ok_or(Error::UnknownPacketType(first))?;
        return Ok(Packet::text(ty, data));
    }
    decode_text(&text, &text, version)
}

/// Validates `body` as UTF-8 without copying it.
pub(crate) fn utf8(body: Bytes) -> Result<Str, Error> {
    Str::from_utf8(body).map_err(|_| Error::InvalidUtf8)
}
