//! Golden vectors written from the Socket.IO protocol documents (v5, and v4 for `socket.io-client` 2.x),
//! and the decoder's validation, error by error.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

use bytes::Bytes;
use socketio_parser::{
    DecodeError, Frame, JsonParser, Map, MsgpackParser, Packet, PacketData, Parser, Value,
};

fn json(v: serde_json::Value) -> Value {
    Value::from(v)
}

fn text(s: &str) -> Frame {
    Frame::Text(s.into())
}

fn bin(b: &'static [u8]) -> Frame {
    Frame::Binary(Bytes::from_static(b))
}

/// Decodes `frames` with a fresh decoder of `parser`; the packet must complete on the last frame.
fn decode(parser: &dyn Parser, frames: &[Frame]) -> Result<Packet, DecodeError> {
    let mut decoder = parser.decoder();
    let mut last = None;
    for f in frames {
        last = decoder.add(f.clone())?;
    }
    Ok(last.expect("packet complete after the last frame"))
}

fn decode_err(parser: &dyn Parser, frames: &[Frame]) -> DecodeError {
    let mut decoder = parser.decoder();
    for f in frames {
        if let Err(e) = decoder.add(f.clone()) {
            return e;
        }
    }
    panic!("{frames:?} decoded without error")
}

/// Every example of the v5 protocol document, both ways.
#[test]
fn protocol_v5_examples() {
    let p = JsonParser::default();
    let cases: Vec<(Packet, Vec<Frame>)> = vec![
        (Packet::connect("/", None), vec![text("0")]),
        (
            Packet::connect("/admin", Some(json(serde_json::json!({"token": "123"})))),
            vec![text(r#"0/admin,{"token":"123"}"#)],
        ),
        (
            Packet::connect("/", Some(json(serde_json::json!({"sid": "oSO0OpakMV_3jnilAAAA"})))),
            vec![text(r#"0{"sid":"oSO0OpakMV_3jnilAAAA"}"#)],
        ),
        (Packet::connect_error("/", "Not authorized", None), vec![text(r#"4{"message":"Not authorized"}"#)]),
        (
            Packet::connect_error("/admin", "Not authorized", Some(json(serde_json::json!({"reason": "x"})))),
            vec![text(r#"4/admin,{"message":"Not authorized","data":{"reason":"x"}}"#)],
        ),
        (Packet::disconnect("/admin"), vec![text("1/admin,")]),
        (Packet::disconnect("/"), vec![text("1")]),
        (Packet::event("/", "hello", vec![Value::from(1)]), vec![text(r#"2["hello",1]"#)]),
        (
            Packet::event("/admin", "project:delete", vec![Value::from(123)]).with_ack_id(456),
            vec![text(r#"2/admin,456["project:delete",123]"#)],
        ),
        (Packet::ack("/admin", 456, vec![]), vec![text("3/admin,456[]")]),
        (
            Packet::event("/", "hello", vec![Value::Binary(Bytes::from_static(&[1, 2, 3]))]),
            vec![text(r#"51-["hello",{"_placeholder":true,"num":0}]"#), bin(&[1, 2, 3])],
        ),
        (
            Packet::ack("/admin", 456, vec![Value::Binary(Bytes::from_static(&[3, 2, 1]))]),
            vec![text(r#"61-/admin,456[{"_placeholder":true,"num":0}]"#), bin(&[3, 2, 1])],
        ),
    ];
    for (packet, frames) in cases {
        assert_eq!(p.encode(&packet), frames, "encoding {packet:?}");
        assert_eq!(decode(&p, &frames).unwrap(), packet, "decoding {frames:?}");
    }
}

/// The v4 protocol (socket.io-client 2.x): CONNECT without payload and with the query in the
/// namespace, string errors.
#[test]
fn protocol_v4_examples() {
    let p = JsonParser::v4();
    // The server's answer to a v4 client carries no payload.
    assert_eq!(p.encode(&Packet::connect("/admin", None)), vec![text("0/admin,")]);
    assert_eq!(p.encode(&Packet::connect("/", None)), vec![text("0")]);
    // String errors, with and without namespace.
    let err = Packet { nsp: "/".into(), id: None, data: PacketData::ConnectError("Not authorized".into()) };
    assert_eq!(p.encode(&err), vec![text(r#"4"Not authorized""#)]);
    assert_eq!(decode(&p, &[text(r#"4"Not authorized""#)]).unwrap(), err);
    let err =
        Packet { nsp: "/admin".into(), data: PacketData::ConnectError("Invalid namespace".into()), ..err };
    assert_eq!(p.encode(&err), vec![text(r#"4/admin,"Invalid namespace""#)]);
    assert_eq!(decode(&p, &[text(r#"4/admin,"Invalid namespace""#)]).unwrap(), err);

    // The client's query string travels in the namespace and is decoded into the auth object.
    let packet = decode(&p, &[text("0/admin?token=abc%21&lang=fr,")]).unwrap();
    assert_eq!(packet.nsp, "/admin");
    let PacketData::Connect(Some(auth)) = packet.data else { panic!("auth expected") };
    assert_eq!(auth["token"], "abc!");
    assert_eq!(auth["lang"], "fr");
    // Without a query string, no auth.
    assert_eq!(decode(&p, &[text("0/admin,")]).unwrap(), Packet::connect("/admin", None));
    // A v5 parser keeps the namespace as it came: there, `?` is just part of a (non-existent) name.
    assert_eq!(decode(&JsonParser::default(), &[text("0/admin?x=1,")]).unwrap().nsp, "/admin?x=1");
}

#[test]
fn attachments_nested_in_objects_and_arrays_are_put_back_in_place() {
    let p = JsonParser::default();
    let frames = [
        text(
            r#"53-/files,9["upload",{"parts":[{"_placeholder":true,"num":2},{"inner":{"_placeholder":true,"num":0}}]},{"_placeholder":true,"num":1}]"#,
        ),
        bin(b"a"),
        bin(b"b"),
        bin(b"c"),
    ];
    let packet = decode(&p, &frames).unwrap();
    assert_eq!(packet.id, Some(9));
    assert_eq!(packet.event_name(), Some("upload"));
    let args = packet.args();
    assert_eq!(args[0]["parts"][0], Value::Binary(Bytes::from_static(b"c")));
    assert_eq!(args[0]["parts"][1]["inner"], Value::Binary(Bytes::from_static(b"a")));
    assert_eq!(args[1], Value::Binary(Bytes::from_static(b"b")));
    // Our encoder numbers attachments in document order.
    let reencoded = p.encode(&packet);
    assert_eq!(reencoded[1], bin(b"c"));
    assert_eq!(decode(&p, &reencoded).unwrap(), packet);
}

#[test]
fn a_decoder_handles_packets_one_after_another() {
    let mut d = JsonParser::default().decoder();
    assert_eq!(d.add(text(r#"51-["a",{"_placeholder":true,"num":0}]"#)).unwrap(), None);
    let first = d.add(bin(b"x")).unwrap().unwrap();
    assert_eq!(first.args()[0], Value::Binary(Bytes::from_static(b"x")));
    assert_eq!(d.add(text(r#"2["b"]"#)).unwrap().unwrap().event_name(), Some("b"));
    // After an error the decoder starts afresh.
    assert_eq!(d.add(text(r#"51-["a",{"_placeholder":true,"num":0}]"#)).unwrap(), None);
    assert_eq!(d.add(text(r#"2["b"]"#)), Err(DecodeError::UnexpectedText));
    assert_eq!(d.add(text(r#"2["c"]"#)).unwrap().unwrap().event_name(), Some("c"));
    // reset() drops a half-received packet.
    assert_eq!(d.add(text(r#"51-["a",{"_placeholder":true,"num":0}]"#)).unwrap(), None);
    d.reset();
    assert_eq!(d.add(bin(b"x")), Err(DecodeError::UnexpectedBinary));
}

#[test]
fn json_decoder_rejects_what_the_reference_rejects() {
    let p = JsonParser::default();
    let cases: Vec<(Vec<Frame>, DecodeError)> = vec![
        (vec![text("")], DecodeError::EmptyPacket),
        (vec![text("7")], DecodeError::UnknownPacketType(7)),
        (vec![text("9[]")], DecodeError::UnknownPacketType(9)),
        (vec![text("a")], DecodeError::UnknownPacketType(u64::from(b'a'))),
        // Attachments: missing dash, not a number, zero, over the cap.
        (vec![text(r#"5["a"]"#)], DecodeError::IllegalAttachments),
        (vec![text(r#"5x-["a"]"#)], DecodeError::IllegalAttachments),
        (vec![text(r#"50-["a"]"#)], DecodeError::IllegalAttachments),
        (vec![text(r#"511-["a"]"#)], DecodeError::TooManyAttachments { count: 11, max: 10 }),
        (vec![text(r#"51000000-["a"]"#)], DecodeError::TooManyAttachments { count: 1_000_000, max: 10 }),
        (
            vec![text(r#"599999999999999999999999-["a"]"#)],
            DecodeError::TooManyAttachments { count: u64::MAX, max: 10 },
        ),
        // A placeholder that points nowhere, or is not a number.
        (vec![text(r#"51-["a",{"_placeholder":true,"num":1}]"#), bin(b"x")], DecodeError::IllegalAttachments),
        (
            vec![text(r#"51-["a",{"_placeholder":true,"num":"0"}]"#), bin(b"x")],
            DecodeError::IllegalAttachments,
        ),
        // Ack id beyond u64.
        (vec![text(r#"299999999999999999999999["a"]"#)], DecodeError::InvalidAckId),
        // Data that does not fit the type.
        (vec![text(r#"2"hello""#)], DecodeError::InvalidPayload),
        (vec![text(r#"2{"a":1}"#)], DecodeError::InvalidPayload),
        (vec![text("2[]")], DecodeError::InvalidPayload),
        (vec![text("2[null]")], DecodeError::InvalidPayload),
        (vec![text("2")], DecodeError::InvalidPayload),
        (vec![text("3")], DecodeError::InvalidPayload),
        (vec![text(r#"3{"a":1}"#)], DecodeError::InvalidPayload),
        (vec![text(r#"1["a"]"#)], DecodeError::InvalidPayload),
        (vec![text(r#"1/admin,{}"#)], DecodeError::InvalidPayload),
        (vec![text(r#"0"token""#)], DecodeError::InvalidPayload),
        (vec![text(r#"0[1]"#)], DecodeError::InvalidPayload),
        (vec![text(r#"0/admin,null"#)], DecodeError::InvalidPayload),
        (vec![text("4")], DecodeError::InvalidPayload),
        (vec![text("4[]")], DecodeError::InvalidPayload),
        (vec![text(r#"2["a""#)], DecodeError::InvalidPayload),
        (vec![text(r#"2chat,["a"]"#)], DecodeError::InvalidPayload),
        // Reserved names.
        (vec![text(r#"2["disconnect"]"#)], DecodeError::ReservedEventName("disconnect".into())),
        (vec![text(r#"2/a,1["connect"]"#)], DecodeError::ReservedEventName("connect".into())),
        (
            vec![text(r#"51-["newListener",{"_placeholder":true,"num":0}]"#)],
            DecodeError::ReservedEventName("newListener".into()),
        ),
        // Frames out of order.
        (vec![bin(b"x")], DecodeError::UnexpectedBinary),
    ];
    for (frames, expected) in cases {
        assert_eq!(decode_err(&p, &frames), expected, "decoding {frames:?}");
    }
    for name in socketio_parser::RESERVED_EVENTS {
        let frame = text(&format!(r#"2["{name}"]"#));
        assert_eq!(decode_err(&p, &[frame]), DecodeError::ReservedEventName(name.into()));
    }
    // The attachment cap is configurable.
    let strict = JsonParser::default().with_max_attachments(1);
    assert_eq!(
        decode_err(&strict, &[text(r#"52-["a"]"#)]),
        DecodeError::TooManyAttachments { count: 2, max: 1 }
    );
    // Deep nesting is refused by the JSON reader, not by a stack overflow.
    let deep = format!("2[\"a\",{}{}]", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(decode_err(&p, &[text(&deep)]), DecodeError::InvalidPayload);
}

#[test]
fn json_decoder_accepts_what_the_reference_accepts() {
    let p = JsonParser::default();
    // Numeric event names; a namespace without trailing data; ack without namespace.
    assert_eq!(decode(&p, &[text("2[42]")]).unwrap().data, PacketData::Event(vec![Value::from(42)]));
    assert_eq!(decode(&p, &[text("1/chat")]).unwrap(), Packet::disconnect("/chat"));
    assert_eq!(decode(&p, &[text("312[1]")]).unwrap(), Packet::ack("/", 12, vec![Value::from(1)]));
    // An unused attachment is fine; a placeholder with extra keys still counts.
    let packet =
        decode(&p, &[text(r#"52-["a",{"_placeholder":true,"num":1,"x":0}]"#), bin(b"0"), bin(b"1")]).unwrap();
    assert_eq!(packet.args()[0], Value::Binary(Bytes::from_static(b"1")));
    // A placeholder-shaped object in a plain event stays an object.
    let packet = decode(&p, &[text(r#"2["a",{"_placeholder":true,"num":0}]"#)]).unwrap();
    assert!(packet.args()[0].is_object());
}

#[test]
fn binary_outside_events_is_written_inline() {
    // Only events and acks carry attachments; a CONNECT payload with bytes stays one text frame.
    let mut auth = Map::new();
    auth.insert("key".into(), Value::Binary(Bytes::from_static(&[1, 2])));
    let frames = JsonParser::default().encode(&Packet::connect("/", Some(Value::Object(auth))));
    assert_eq!(frames, vec![text(r#"0{"key":[1,2]}"#)]);
}

#[test]
fn msgpack_decoder_rejects_what_the_reference_rejects() {
    let p = MsgpackParser;
    let cases: Vec<(&[u8], DecodeError)> = vec![
        // {type: 5, nsp: "/"}: binary types do not exist in msgpack.
        (b"\x82\xa4type\x05\xa3nsp\xa1/", DecodeError::UnknownPacketType(5)),
        (b"\x81\xa3nsp\xa1/", DecodeError::UnknownPacketType(u64::MAX)),
        (b"\x82\xa4type\xa11\xa3nsp\xa1/", DecodeError::UnknownPacketType(u64::MAX)),
        // nsp missing or not a string.
        (b"\x81\xa4type\x00", DecodeError::InvalidNamespace),
        (b"\x82\xa4type\x00\xa3nsp\x01", DecodeError::InvalidNamespace),
        // data that does not fit the type.
        (b"\x83\xa4type\x02\xa4data\xa1x\xa3nsp\xa1/", DecodeError::InvalidPayload),
        (b"\x82\xa4type\x02\xa3nsp\xa1/", DecodeError::InvalidPayload),
        (b"\x83\xa4type\x01\xa4data\x90\xa3nsp\xa1/", DecodeError::InvalidPayload),
        (b"\x83\xa4type\x00\xa4data\x90\xa3nsp\xa1/", DecodeError::InvalidPayload),
        (b"\x83\xa4type\x04\xa4data\x01\xa3nsp\xa1/", DecodeError::InvalidPayload),
        (
            b"\x83\xa4type\x02\xa4data\x91\xaadisconnect\xa3nsp\xa1/",
            DecodeError::ReservedEventName("disconnect".into()),
        ),
        // id not an integer.
        (b"\x84\xa4type\x03\xa4data\x90\xa2id\xa1x\xa3nsp\xa1/", DecodeError::InvalidAckId),
        (
            b"\x84\xa4type\x03\xa4data\x90\xa2id\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00\xa3nsp\xa1/",
            DecodeError::InvalidAckId,
        ),
        (b"\x84\xa4type\x03\xa4data\x90\xa2id\xff\xa3nsp\xa1/", DecodeError::InvalidAckId),
        // Not msgpack of a packet.
        (b"", DecodeError::InvalidMsgpack("truncated")),
        (b"\x92\x01\x02", DecodeError::InvalidMsgpack("a packet must be a map")),
        (b"\x82\xa4type\x00\xa3nsp\xa1/\x00", DecodeError::InvalidMsgpack("trailing bytes")),
        (b"\x82\xa4type\x00\xa3nsp\xa5/", DecodeError::InvalidMsgpack("truncated")),
        (b"\xdd\xff\xff\xff\xff", DecodeError::InvalidMsgpack("truncated")),
        (b"\xdf\xff\xff\xff\xff\x00", DecodeError::InvalidMsgpack("truncated")),
        (b"\xc6\xff\xff\xff\xff", DecodeError::InvalidMsgpack("truncated")),
        (b"\x82\xa4type\x00\xa3nsp\xa2\xff\xfe", DecodeError::InvalidMsgpack("invalid UTF-8")),
        (b"\xc1", DecodeError::InvalidMsgpack("unsupported type")),
        (b"\xd4\x05\x00", DecodeError::InvalidMsgpack("unsupported extension type")),
        (b"\x81\x90\x00", DecodeError::InvalidMsgpack("map keys must be strings or numbers")),
    ];
    for (bytes, expected) in cases {
        assert_eq!(
            decode_err(&p, &[Frame::Binary(Bytes::from_static(bytes))]),
            expected,
            "decoding {bytes:x?}"
        );
    }
    assert_eq!(
        decode_err(&p, &[text("2[\"a\"]")]),
        DecodeError::InvalidMsgpack("expected a binary frame, got text")
    );
    let mut deep = vec![0x82, 0xa4, b't', b'y', b'p', b'e', 0x02, 0xa4, b'd', b'a', b't', b'a'];
    deep.extend(std::iter::repeat_n(0x91, 10_000));
    deep.push(0xc0);
    assert_eq!(
        decode_err(&p, &[Frame::Binary(deep.into())]),
        DecodeError::InvalidMsgpack("nesting too deep")
    );
}

#[test]
fn msgpack_decoder_reads_what_javascript_peers_send() {
    let p = MsgpackParser;
    // socket.io-client adds an `options` key; ids and types may arrive as whole floats.
    let frame = b"\x85\xa4type\xcb\x40\x00\x00\x00\x00\x00\x00\x00\xa4data\x91\xa1a\xa7options\x81\xa8compress\xc3\xa2id\xcb\x40\x14\x00\x00\x00\x00\x00\x00\xa3nsp\xa1/";
    let packet = decode(&p, &[Frame::Binary(Bytes::from_static(frame))]).unwrap();
    assert_eq!(packet, Packet::event("/", "a", vec![]).with_ack_id(5));
    // notepack.io: ArrayBuffer as ext type 0, `undefined` as fixext 1 type 0, Date as fixext 8 type 0.
    let frame = b"\x83\xa4type\x02\xa4data\x95\xa1a\xc7\x02\x00\x01\x02\xd4\x00\x00\x82\xa1x\xd4\x00\x00\xa1y\x01\xd7\x00\x00\x00\x01\x8f\x00\x00\x00\x10\xa3nsp\xa1/";
    let packet = decode(&p, &[Frame::Binary(Bytes::from_static(frame))]).unwrap();
    let args = packet.args();
    assert_eq!(args[0], Value::Binary(Bytes::from_static(&[1, 2])));
    assert_eq!(args[1], Value::Null, "undefined in an array reads as null");
    assert_eq!(args[2], json(serde_json::json!({"y": 1})), "undefined members are dropped");
    assert_eq!(args[3].as_f64(), Some((0x18f_u64 << 32 | 0x10) as f64));
    // @msgpack/msgpack (the Redis adapter's codec): a Date as the standard timestamp, type -1, in its
    // 32-bit, 64-bit and 96-bit forms; all read as milliseconds.
    let frame = b"\x83\xa4type\x02\xa4data\x94\xa1a\xd6\xff\x00\x00\x00\x02\xd7\xff\x0b\xeb\xc2\x00\x00\x00\x00\x02\xc7\x0c\xff\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\xa3nsp\xa1/";
    let packet = decode(&p, &[Frame::Binary(Bytes::from_static(frame))]).unwrap();
    let args = packet.args();
    assert_eq!(args[0].as_i64(), Some(2000));
    assert_eq!(args[1].as_i64(), Some(2050), "2 s and 50,000,000 ns");
    assert_eq!(args[2].as_i64(), Some(4_294_967_296_000));
    // A CONNECT with `data: undefined` has no data.
    let frame = b"\x83\xa4type\x00\xa4data\xd4\x00\x00\xa3nsp\xa1/";
    assert_eq!(decode(&p, &[Frame::Binary(Bytes::from_static(frame))]).unwrap(), Packet::connect("/", None));
}

#[test]
fn msgpack_binary_is_a_slice_of_the_frame() {
    let frame =
        MsgpackParser.encode(&Packet::event("/", "a", vec![Value::Binary(Bytes::from(vec![7u8; 1000]))]));
    let Frame::Binary(buf) = &frame[0] else { panic!("binary frame") };
    let packet = decode(&MsgpackParser, &frame).unwrap();
    let Value::Binary(b) = &packet.args()[0] else { panic!("binary arg") };
    let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
    assert!(range.contains(&(b.as_ptr() as usize)), "no copy of the bytes");
}

#[test]
fn msgpack_writes_the_smallest_headers() {
    let long = "x".repeat(70_000);
    let values = vec![
        Value::from(-1),
        Value::from(-33),
        Value::from(1.5),
        Value::from(2.0),
        Value::String("y".repeat(40)),
        Value::String(long.clone()),
        Value::Binary(Bytes::from(vec![0u8; 70_000])),
        Value::Array(vec![Value::Null; 20]),
    ];
    let frames = MsgpackParser.encode(&Packet::event("/", "n", values));
    let Frame::Binary(b) = &frames[0] else { panic!() };
    let find = |needle: &[u8]| b.windows(needle.len()).any(|w| w == needle);
    assert!(find(&[0xff, 0xd0, 0xdf]), "-1 as negative fixint, -33 as int 8");
    assert!(find(&[0xcb, 0x3f, 0xf8]), "1.5 as float 64");
    assert!(find(&[0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0x02]), "2.0 as the integer 2, as notepack.io does");
    assert!(find(&[0xd9, 40]), "a 40-byte string as str 8");
    assert!(find(&[0xdb, 0, 1, 0x11, 0x70]), "a 70000-byte string as str 32");
    assert!(find(&[0xc6, 0, 1, 0x11, 0x70]), "70000 bytes as bin 32");
    assert!(find(&[0xdc, 0, 20]), "20 elements as array 16");
    let packet = decode(&MsgpackParser, &frames).unwrap();
    assert_eq!(packet.args()[5].as_str().map(str::len), Some(long.len()));
}
