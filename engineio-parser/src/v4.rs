//! Engine.IO protocol v4 (`EIO=4`, `socket.io-client` 3.x and 4.x).
//!
//! - A packet in text form is its type digit followed by its text (`4hello`, `2probe`, `6`). Binary data is
//!   always a message; in text form it is `b` followed by padded standard base64 (`bAQID`).
//! - Over websocket a text packet is one text frame and a binary message is one binary frame holding the raw
//!   bytes.
//! - Over HTTP long-polling several packets travel in one payload, in text form, separated by the record
//!   separator `\x1e`.
//!
//! ```
//! use engineio_parser::{v4, Frame, Packet};
//!
//! assert_eq!(v4::encode_frame(&Packet::ping_probe()), Frame::from("2probe"));
//! let payload = v4::encode_payload(&[Packet::message("€"), Packet::noop()]);
//! assert_eq!(payload, "4€\x1e6");
//! assert_eq!(v4::decode_payload(payload.into_bytes(), 100).unwrap()[1], Packet::noop());
//! ```

use crate::codec;
use crate::{Error, Frame, Packet, PacketData, ProtocolVersion, Str};
use bytes::Bytes;

/// The separator between the packets of a polling payload (ASCII "record separator").
pub const SEPARATOR: char = '\x1e';

const V4: ProtocolVersion = ProtocolVersion::V4;

/// Encodes `packet` as one websocket frame: a text frame with the type digit and the text, or a binary frame
/// holding the raw bytes of binary data (shared, not copied; binary frames are always messages).
pub fn encode_frame(packet: &Packet) -> Frame {
    match &packet.data {
        PacketData::Binary(bytes) => Frame::Binary(bytes.clone()),
        _ => Frame::Text(encode_packet_str(packet)),
    }
}

/// Decodes one websocket frame. Text is a slice of the frame; a binary frame is a binary message.
pub fn decode_frame(frame: Frame) -> Result<Packet, Error> {
    match frame {
        Frame::Text(text) => decode_packet_str(text),
        Frame::Binary(bytes) => Ok(Packet::binary(bytes)),
    }
}

/// Encodes `packet` in text form: `4hello`, or `bAQID` for binary data (a websocket text frame for a client
/// that asked for base64 with `b64=1`).
pub fn encode_packet_str(packet: &Packet) -> Str {
    codec::encode_text(packet, V4)
}

/// Decodes one packet in text form (`4hello`, `6`, `bAQID`); text data is a slice of `s`.
pub fn decode_packet_str(s: Str) -> Result<Packet, Error> {
    codec::decode_owned_text(s, V4)
}

/// The number of bytes `packet` takes inside a polling payload, separator excluded (a payload of `n` packets
/// adds `n - 1` separator bytes).
pub fn encoded_len(packet: &Packet) -> usize {
    codec::text_len(packet, V4)
}

/// Encodes `packets` as a polling payload: their text forms joined by [`SEPARATOR`], in one exactly sized
/// allocation. No packets give an empty payload. As in the protocol itself, a text containing `\x1e` cannot
/// travel in a payload (Socket.IO's JSON never contains it unescaped).
pub fn encode_payload(packets: &[Packet]) -> Str {
    let len = packets.iter().map(encoded_len).sum::<usize>() + packets.len().saturating_sub(1);
    let mut out = String::with_capacity(len);
    for (i, packet) in packets.iter().enumerate() {
        if i > 0 {
            out.push(SEPARATOR);
        }
        codec::write_text(&mut out, packet, V4);
    }
    debug_assert_eq!(out.len(), len);
    out.into()
}

/// Decodes a polling payload, refusing a body over `max_payload` bytes before looking at it. Text data is
/// sliced from `body`; an empty body or an empty packet between separators is [`Error::EmptyPacket`].
pub fn decode_payload(body: Bytes, max_payload: usize) -> Result<Vec<Packet>, Error> {
    codec::check_size(body.len(), max_payload)?;
    let text = codec::utf8(body)?;
    text.split(SEPARATOR).map(|part| codec::decode_text(&text, part, V4)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PacketType;

    #[test]
    fn frames() {
        assert_eq!(encode_frame(&Packet::message("hello")), Frame::from("4hello"));
        assert_eq!(encode_frame(&Packet::noop()), Frame::from("6"));
        let bytes = Bytes::from_static(&[1, 2, 3]);
        let frame = encode_frame(&Packet::binary(bytes.clone()));
        assert_eq!(frame, Frame::Binary(bytes.clone()));
        assert_eq!(decode_frame(frame).unwrap(), Packet::binary(bytes));
        assert_eq!(decode_frame(Frame::from("3probe")).unwrap(), Packet::pong_probe());
        assert_eq!(decode_frame(Frame::from("bAQID")).unwrap(), Packet::binary(vec![1u8, 2, 3]));
        assert_eq!(decode_frame(Frame::from("")), Err(Error::EmptyPacket));
        assert_eq!(decode_frame(Frame::from("7")), Err(Error::UnknownPacketType(b'7')));
        assert_eq!(decode_frame(Frame::from("é")), Err(Error::UnknownPacketType(0xc3)));
    }

    #[test]
    fn payload_is_one_exact_allocation() {
        let packets = [Packet::message("héllo"), Packet::binary(vec![0u8; 5]), Packet::ping()];
        let payload = encode_payload(&packets);
        assert_eq!(payload, "4héllo\x1ebAAAAAAA=\x1e2");
        assert_eq!(payload.len(), packets.iter().map(encoded_len).sum::<usize>() + 2);
    }

    #[test]
    fn decoded_text_shares_the_body() {
        let body = Bytes::from_static(b"4hello\x1e2probe");
        let packets = decode_payload(body.clone(), 100).unwrap();
        assert_eq!(packets, [Packet::message("hello"), Packet::ping_probe()]);
        let text = packets[1].data.as_text().unwrap();
        assert_eq!(text.as_ptr(), body[8..].as_ptr());
    }

    #[test]
    fn payload_errors() {
        let decode = |s: &'static str| decode_payload(Bytes::from_static(s.as_bytes()), 100);
        assert_eq!(decode(""), Err(Error::EmptyPacket));
        assert_eq!(decode("4a\x1e\x1e4b"), Err(Error::EmptyPacket));
        assert_eq!(decode("4a\x1ebA=Q"), Err(Error::InvalidBase64));
        assert_eq!(decode("x"), Err(Error::UnknownPacketType(b'x')));
        let err = decode_payload(Bytes::from_static(b"\xff"), 100);
        assert_eq!(err, Err(Error::InvalidUtf8));
        let err = decode_payload(Bytes::from_static(b"4hello"), 5);
        assert_eq!(err, Err(Error::PayloadTooLarge { len: 6, limit: 5 }));
        assert_eq!(
            decode("b").unwrap(),
            [Packet { ty: PacketType::Message, data: PacketData::Binary(Bytes::new()) }]
        );
    }
}
