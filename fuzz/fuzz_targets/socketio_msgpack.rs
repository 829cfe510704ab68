//! The msgpack parser from arbitrary bytes: packets (`msgpack_codec::decode` and the parser's decoder)
//! and any value (`msgpack_codec::decode_value`, as cluster adapters read their messages). What decodes
//! must encode back to the same thing, numbers written the way notepack.io writes them.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use socketio_parser::{msgpack_codec, Frame, JsonParser, MsgpackParser, Packet, Parser, Value};

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);

    let packet = msgpack_codec::decode(bytes.clone());
    let mut decoder = MsgpackParser.decoder();
    assert_eq!(decoder.add(Frame::Binary(bytes.clone())), packet.clone().map(Some));
    if let Ok(text) = std::str::from_utf8(data) {
        assert!(decoder.add(Frame::Text(text.into())).is_err(), "text frames are refused");
    }
    if let Ok(packet) = &packet {
        let again = msgpack_codec::decode(msgpack_codec::encode(packet));
        assert_eq!(again.as_ref(), Ok(&as_notepack_packet(packet)), "packet round trip");
        assert_eq!(Packet::from_object(packet.to_object()).as_ref(), Ok(packet), "object form");
        // The JSON parser carries the packets its format can express.
        if json_can_carry(packet) {
            json_round_trip(packet);
        }
    }

    if let Ok(value) = msgpack_codec::decode_value(bytes) {
        let again = msgpack_codec::decode_value(msgpack_codec::encode_value(&value));
        assert_eq!(again, Ok(as_notepack(value.clone())), "value round trip");
        // Adapters read packets out of values: never a panic.
        let _ = Packet::from_object(value);
    }
});

fn json_round_trip(packet: &Packet) {
    // One attachment per binary value, as many as the packet holds.
    let json = JsonParser::default().with_max_attachments(usize::MAX);
    let mut decoder = json.decoder();
    let mut decoded = None;
    for frame in json.encode(packet) {
        decoded = decoder.add(frame).unwrap_or_else(|e| panic!("{packet:?} does not survive JSON: {e}"));
    }
    assert_eq!(decoded.as_ref(), Some(packet), "JSON parser round trip");
}

/// Whether the JSON format can express `packet`: a namespace that starts with `/` and holds no `,`,
/// binary only among the arguments of events and acks, and no object that would pass for an
/// attachment's placeholder.
fn json_can_carry(packet: &Packet) -> bool {
    use socketio_parser::PacketData;
    fn no_placeholder(v: &Value) -> bool {
        match v {
            Value::Array(a) => a.iter().all(no_placeholder),
            Value::Object(o) => !o.contains_key("_placeholder") && o.values().all(no_placeholder),
            _ => true,
        }
    }
    let nsp_ok = packet.nsp.starts_with('/') && !packet.nsp.contains(',');
    let data_ok = match &packet.data {
        PacketData::Connect(Some(v)) | PacketData::ConnectError(v) => !v.has_binary(),
        _ => true,
    };
    let values: Vec<&Value> = match &packet.data {
        PacketData::Connect(v) => v.iter().collect(),
        PacketData::ConnectError(v) => vec![v],
        PacketData::Event(a) | PacketData::Ack(a) => a.iter().collect(),
        PacketData::Disconnect => Vec::new(),
    };
    nsp_ok && data_ok && values.into_iter().all(no_placeholder)
}

/// `value` as it reads back after notepack.io's encoding: whole floats become integers.
fn as_notepack(value: Value) -> Value {
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or_default();
            if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
                Value::from(f as i64)
            } else {
                Value::Number(n)
            }
        }
        Value::Array(a) => Value::Array(a.into_iter().map(as_notepack).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, as_notepack(v))).collect()),
        other => other,
    }
}

fn as_notepack_packet(packet: &Packet) -> Packet {
    use socketio_parser::PacketData;
    let data = match packet.data.clone() {
        PacketData::Connect(v) => PacketData::Connect(v.map(as_notepack)),
        PacketData::Disconnect => PacketData::Disconnect,
        PacketData::Event(a) => PacketData::Event(a.into_iter().map(as_notepack).collect()),
        PacketData::Ack(a) => PacketData::Ack(a.into_iter().map(as_notepack).collect()),
        PacketData::ConnectError(v) => PacketData::ConnectError(as_notepack(v)),
    };
    Packet { data, ..packet.clone() }
}
