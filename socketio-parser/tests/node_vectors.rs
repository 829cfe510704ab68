//! The frames the official Node parsers produce (`socket.io-parser` 4.2 and `socket.io-msgpack-parser` 3.0,
//! captured by `vectors/generate.mjs`) must be exactly what ours produce, and must decode to the packet
//! they were made from.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

use bytes::Bytes;
use socketio_parser::{Frame, JsonParser, MsgpackParser, Packet, PacketData, Parser, Value};

/// Turns the description's `{"$binary": "<hex>"}` into binary values.
fn revive(v: Value) -> Value {
    match v {
        Value::Object(o) if o.get("$binary").is_some_and(|h| h.as_str().is_some()) => {
            let hex = o["$binary"].as_str().unwrap_or_default();
            Value::Binary(Bytes::from(hex::decode(hex).expect("hex in vector file")))
        }
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, revive(v))).collect()),
        Value::Array(a) => Value::Array(a.into_iter().map(revive).collect()),
        other => other,
    }
}

fn packet_of(desc: &Value) -> Packet {
    let nsp = desc["nsp"].as_str().expect("nsp").to_owned();
    let id = desc.get("id").and_then(Value::as_u64);
    let data = desc.get("data").cloned().map(revive);
    let data = match (desc["type"].as_u64(), data) {
        (Some(0), d) => PacketData::Connect(d),
        (Some(1), None) => PacketData::Disconnect,
        (Some(2), Some(Value::Array(a))) => PacketData::Event(a),
        (Some(3), Some(Value::Array(a))) => PacketData::Ack(a),
        (Some(4), Some(v)) => PacketData::ConnectError(v),
        other => panic!("unexpected packet description {other:?}"),
    };
    Packet { nsp, id, data }
}

struct Case {
    name: String,
    packet: Packet,
    json: Vec<Frame>,
    msgpack: Bytes,
}

fn cases() -> Vec<Case> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/node-socketio.json"))
            .expect("vector file");
    let cases: Vec<Value> = serde_json::from_str(&text).expect("vector JSON");
    assert!(cases.len() >= 20, "the vector file lists every case");
    cases
        .into_iter()
        .map(|c| Case {
            name: c["name"].as_str().expect("name").to_owned(),
            packet: packet_of(&c["packet"]),
            json: c["json"]
                .as_array()
                .expect("frames")
                .iter()
                .map(|f| match (f.get("text"), f.get("binary")) {
                    (Some(t), _) => Frame::Text(t.as_str().expect("text").into()),
                    (_, Some(b)) => Frame::Binary(hex::decode(b.as_str().expect("hex")).expect("hex").into()),
                    _ => panic!("bad frame {f:?}"),
                })
                .collect(),
            msgpack: hex::decode(c["msgpack"].as_str().expect("msgpack")).expect("hex").into(),
        })
        .collect()
}

fn decode_all(parser: &dyn Parser, frames: &[Frame]) -> Packet {
    let mut decoder = parser.decoder();
    let mut out = None;
    for (i, f) in frames.iter().enumerate() {
        let r = decoder.add(f.clone()).expect("decodes");
        assert_eq!(r.is_some(), i == frames.len() - 1, "a packet completes on its last frame only");
        out = r;
    }
    out.expect("a packet")
}

#[test]
fn json_parser_matches_node_byte_for_byte() {
    for case in cases() {
        assert_eq!(JsonParser::default().encode(&case.packet), case.json, "encoding {}", case.name);
        assert_eq!(decode_all(&JsonParser::default(), &case.json), case.packet, "decoding {}", case.name);
    }
}

#[test]
fn msgpack_parser_matches_node_byte_for_byte() {
    for case in cases() {
        let ours = MsgpackParser.encode(&case.packet);
        assert_eq!(ours, vec![Frame::Binary(case.msgpack.clone())], "encoding {}", case.name);
        let decoded = decode_all(&MsgpackParser, &[Frame::Binary(case.msgpack.clone())]);
        assert_eq!(decoded, case.packet, "decoding {}", case.name);
    }
}
