//! The JSON parser's decoder fed a sequence of text and binary frames, as a connection delivers them:
//! binary packets wait for their attachments, errors reset the decoder, which keeps going. Each packet
//! it completes must survive encoding and decoding again, with this parser and with msgpack.
//!
//! Input: one settings byte (even: protocol v4 flavour, odd: v5; from 0x80 the attachment limit is the
//! low four bits, else 10), then frames separated by `\n--\n`; a frame starting with `b` is a binary
//! frame of the bytes after the `b`, any other a text frame.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use socketio_parser::{
    msgpack_codec, Frame, JsonDecoder, JsonParser, Packet, Parser, ProtocolVersion, Str, Value,
};

/// The most frames one input is cut into.
const MAX_FRAMES: usize = 64;

fuzz_target!(|data: &[u8]| {
    let Some((&settings, rest)) = data.split_first() else { return };
    let protocol = if settings % 2 == 0 { ProtocolVersion::V4 } else { ProtocolVersion::V5 };
    let max_attachments = if settings >= 0x80 { usize::from(settings & 0x0f) } else { 10 };
    let parser = JsonParser { protocol, max_attachments };
    let mut decoder = parser.decoder();
    let mut typed = JsonDecoder::new(parser);
    for frame in frames(rest) {
        if let Frame::Text(text) = &frame {
            // The one-frame decoder agrees with the stateful one on packets without attachments.
            if let Ok(packet) = parser.decode_str(text) {
                let mut fresh = JsonDecoder::new(parser);
                assert_eq!(socketio_parser::Decoder::add(&mut fresh, frame.clone()), Ok(Some(packet)));
            }
        }
        let _ = socketio_parser::Decoder::add(&mut typed, frame.clone());
        if let Ok(Some(packet)) = decoder.add(frame) {
            check(&parser, &packet);
        }
    }
    decoder.reset();
});

/// Cuts the input into frames.
fn frames(mut rest: &[u8]) -> Vec<Frame> {
    let mut out = Vec::new();
    while out.len() < MAX_FRAMES {
        let (frame, tail) = match rest.windows(4).position(|w| w == b"\n--\n") {
            Some(i) => (&rest[..i], Some(&rest[i + 4..])),
            None => (rest, None),
        };
        out.push(match frame.split_first() {
            Some((b'b', bytes)) => Frame::Binary(Bytes::copy_from_slice(bytes)),
            _ => Frame::Text(Str::from(String::from_utf8_lossy(frame).into_owned())),
        });
        match tail {
            Some(tail) => rest = tail,
            None => break,
        }
    }
    out
}

/// A decoded packet encodes back to itself (decoded without an attachment limit: the encoder writes one
/// attachment per binary value, so a placeholder used twice makes two), keeps its object form, and
/// survives the msgpack parser up to how msgpack writes numbers.
fn check(parser: &JsonParser, packet: &Packet) {
    let frames = parser.encode(packet);
    let attachments = frames.iter().filter(|f| f.is_binary()).count();
    assert_eq!(attachments, count_binary(packet.args()) + count_binary_data(packet));
    let mut decoder = JsonParser { max_attachments: usize::MAX, ..*parser }.decoder();
    let n = frames.len();
    for (i, frame) in frames.into_iter().enumerate() {
        let decoded = decoder.add(frame).unwrap_or_else(|e| panic!("{packet:?} does not decode back: {e}"));
        if i + 1 < n {
            assert_eq!(decoded, None, "{packet:?}: frame {i} of {n} completed a packet");
        } else {
            assert_eq!(decoded.as_ref(), Some(packet), "JSON round trip");
        }
    }
    assert_eq!(Packet::from_object(packet.to_object()).as_ref(), Ok(packet), "object form");
    let once = msgpack_codec::decode(msgpack_codec::encode(packet))
        .unwrap_or_else(|e| panic!("{packet:?} does not survive msgpack: {e}"));
    let twice = msgpack_codec::decode(msgpack_codec::encode(&once));
    assert_eq!(twice.as_ref(), Ok(&once), "msgpack round trip");
}

/// Binary values in `values`, nested ones included.
fn count_binary(values: &[Value]) -> usize {
    values
        .iter()
        .map(|v| match v {
            Value::Binary(_) => 1,
            Value::Array(a) => count_binary(a),
            Value::Object(o) => o.values().map(|v| count_binary(std::slice::from_ref(v))).sum(),
            _ => 0,
        })
        .sum()
}

/// Binary values in an event's name slot (`args` leaves the name out).
fn count_binary_data(packet: &Packet) -> usize {
    match &packet.data {
        socketio_parser::PacketData::Event(data) => count_binary(&data[..data.len().min(1)]),
        _ => 0,
    }
}
