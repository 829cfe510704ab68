//! What the official Node parsers produce (`engine.io-parser` 5.x for v4 and 2.x for v3, captured by
//! `vectors/generate.mjs`) must be exactly what ours produce, and must decode to the packets it was made
//! from.

use bytes::Bytes;
use engineio_parser::{v3, v4, Frame, Packet, PacketData, PacketType};
use serde_json::Value;

fn hex(s: &str) -> Bytes {
    let digit = |c: u8| char::from(c).to_digit(16).expect("hex digit") as u8;
    s.as_bytes().chunks(2).map(|p| digit(p[0]) << 4 | digit(p[1])).collect()
}

fn str_of(v: &Value) -> &str {
    v.as_str().expect("a string")
}

fn packet_of(desc: &Value) -> Packet {
    let ty = match str_of(&desc["type"]) {
        "open" => PacketType::Open,
        "close" => PacketType::Close,
        "ping" => PacketType::Ping,
        "pong" => PacketType::Pong,
        "message" => PacketType::Message,
        "upgrade" => PacketType::Upgrade,
        "noop" => PacketType::Noop,
        other => panic!("unknown type {other}"),
    };
    match (desc.get("text"), desc.get("binary")) {
        (Some(text), _) => Packet::text(ty, str_of(text)),
        (_, Some(bin)) => Packet { ty, data: PacketData::Binary(hex(str_of(bin))) },
        _ => Packet::empty(ty),
    }
}

fn frame_of(desc: &Value) -> Frame {
    match (desc.get("text"), desc.get("binary")) {
        (Some(text), _) => Frame::from(str_of(text)),
        (_, Some(bin)) => Frame::Binary(hex(str_of(bin))),
        _ => panic!("bad frame {desc}"),
    }
}

/// What decoding gives back: empty text is indistinguishable from no data on the wire.
fn decoded(p: &Packet) -> Packet {
    match &p.data {
        PacketData::Text(t) if t.is_empty() => Packet::empty(p.ty),
        _ => p.clone(),
    }
}

fn frames(v: &Value) -> Vec<Frame> {
    v.as_array().expect("frames").iter().map(frame_of).collect()
}

fn cases() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/node-engineio.json");
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("vector file")).expect("JSON");
    let cases = file["cases"].as_array().expect("cases").clone();
    assert!(cases.len() >= 14, "the vector file lists every case");
    cases
}

const MAX: usize = 1_000_000;

#[test]
fn v4_matches_node() {
    for case in cases() {
        let name = str_of(&case["name"]);
        let packets: Vec<Packet> =
            case["packets"].as_array().expect("packets").iter().map(packet_of).collect();
        let expected: Vec<Packet> = packets.iter().map(decoded).collect();

        let payload = str_of(&case["v4_payload"]);
        assert_eq!(v4::encode_payload(&packets), payload, "{name}: payload");
        let len = packets.iter().map(v4::encoded_len).sum::<usize>() + packets.len() - 1;
        assert_eq!(len, payload.len(), "{name}: encoded_len");
        let bytes = Bytes::copy_from_slice(payload.as_bytes());
        assert_eq!(v4::decode_payload(bytes, MAX).unwrap(), expected, "{name}: payload");

        for ((packet, frame), expected) in packets.iter().zip(frames(&case["v4_frames"])).zip(&expected) {
            assert_eq!(v4::encode_frame(packet), frame, "{name}: frame");
            assert_eq!(&v4::decode_frame(frame).unwrap(), expected, "{name}: frame");
        }
    }
}

#[test]
fn v3_matches_node() {
    for case in cases() {
        let name = str_of(&case["name"]);
        let packets: Vec<Packet> =
            case["packets"].as_array().expect("packets").iter().map(packet_of).collect();
        let expected: Vec<Packet> = packets.iter().map(decoded).collect();

        let string = str_of(&case["v3_payload_string"]);
        assert_eq!(v3::encode_payload_string(&packets), string, "{name}: string payload");
        assert_eq!(v3::encode_payload(&packets, false), Frame::from(string), "{name}: b64 payload");
        let bytes = Bytes::copy_from_slice(string.as_bytes());
        assert_eq!(v3::decode_payload_string(bytes.clone(), MAX).unwrap(), expected, "{name}: string");
        assert_eq!(v3::decode_payload(bytes, MAX).unwrap(), expected, "{name}: string");

        let binary = hex(str_of(&case["v3_payload_binary"]));
        assert_eq!(v3::encode_payload_binary(&packets), binary, "{name}: binary payload");
        assert_eq!(v3::decode_payload_binary(binary.clone(), MAX).unwrap(), expected, "{name}: binary");
        assert_eq!(v3::decode_payload(binary, MAX).unwrap(), expected, "{name}: binary");

        let auto = frame_of(&case["v3_payload_supports_binary"]);
        assert_eq!(v3::encode_payload(&packets, true), auto, "{name}: payload with binary support");
        let body = match auto {
            Frame::Text(s) => s.into_bytes(),
            Frame::Binary(b) => b,
        };
        assert_eq!(v3::decode_payload(body, MAX).unwrap(), expected, "{name}: payload with binary support");

        for ((packet, frame), expected) in packets.iter().zip(frames(&case["v3_frames"])).zip(&expected) {
            assert_eq!(v3::encode_frame(packet), frame, "{name}: frame");
            assert_eq!(&v3::decode_frame(frame).unwrap(), expected, "{name}: frame");
        }
    }
}
