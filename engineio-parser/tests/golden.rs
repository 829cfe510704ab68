//! Golden vectors written from the Engine.IO protocol documents (v4) and the v3 parser's documented
//! formats: every packet type, both payload forms, and the decode errors.

use bytes::Bytes;
use engineio_parser::{v3, v4, Error, Frame, Handshake, Packet, PacketData, PacketType};

const MAX: usize = 1_000_000;

fn bytes(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

fn handshake() -> Packet {
    let upgrades = vec!["websocket".to_owned()];
    Packet::open(&Handshake::new("lv_VI97HAXpY6yYWAAAC", upgrades, 25000, 5000, 1_000_000))
}

/// One packet of every type, with the text form both protocols give it.
fn every_type() -> Vec<(Packet, &'static str)> {
    vec![
        (
            handshake(),
            r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000,"maxPayload":1000000}"#,
        ),
        (Packet::close(), "1"),
        (Packet::ping(), "2"),
        (Packet::pong(), "3"),
        (Packet::ping_probe(), "2probe"),
        (Packet::pong_probe(), "3probe"),
        (Packet::message("hello"), "4hello"),
        (Packet::upgrade(), "5"),
        (Packet::noop(), "6"),
    ]
}

#[test]
fn text_frames_of_every_type() {
    for (packet, wire) in every_type() {
        for (encoded, decoded) in [
            (v4::encode_frame(&packet), v4::decode_frame(Frame::from(wire))),
            (v3::encode_frame(&packet), v3::decode_frame(Frame::from(wire))),
        ] {
            assert_eq!(encoded, Frame::from(wire));
            assert_eq!(decoded.as_ref(), Ok(&packet));
        }
    }
    let open = v4::decode_frame(Frame::from(every_type()[0].1)).unwrap();
    let json = open.data.as_text().unwrap();
    assert_eq!(Handshake::from_json(json).unwrap().ping_timeout, 5000);
}

#[test]
fn v4_binary_frame_is_the_raw_bytes() {
    let frame = Frame::Binary(Bytes::from_static(&[1, 2, 3, 4]));
    assert_eq!(v4::encode_frame(&Packet::binary(vec![1u8, 2, 3, 4])), frame);
    assert_eq!(v4::decode_frame(frame).unwrap(), Packet::binary(vec![1u8, 2, 3, 4]));
}

#[test]
fn v4_payload_from_the_protocol_document() {
    let packets = [Packet::message("hello"), Packet::message("€"), Packet::binary(vec![1u8, 2, 3, 4])];
    let wire = "4hello\x1e4€\x1ebAQIDBA==";
    assert_eq!(v4::encode_payload(&packets), wire);
    assert_eq!(v4::decode_payload(bytes(wire), MAX).unwrap(), packets);
    assert_eq!(v4::encoded_len(&packets[1]), 4);
    assert_eq!(v4::encoded_len(&packets[2]), 9);
}

#[test]
fn v4_payload_of_every_type() {
    let (packets, texts): (Vec<_>, Vec<_>) = every_type().into_iter().unzip();
    let wire = texts.join("\x1e");
    assert_eq!(v4::encode_payload(&packets), wire.as_str());
    assert_eq!(v4::decode_payload(Bytes::from(wire), MAX).unwrap(), packets);
}

#[test]
fn v4_decode_errors() {
    let frame = |s: &'static str| v4::decode_frame(Frame::from(s));
    assert_eq!(frame("9"), Err(Error::UnknownPacketType(b'9')));
    assert_eq!(frame(""), Err(Error::EmptyPacket));
    assert_eq!(frame("b!!!!"), Err(Error::InvalidBase64));
    let payload = |s: &'static str| v4::decode_payload(bytes(s), MAX);
    assert_eq!(payload("4hello\x1e9"), Err(Error::UnknownPacketType(b'9')));
    assert_eq!(payload(""), Err(Error::EmptyPacket));
    assert_eq!(payload("4a\x1e"), Err(Error::EmptyPacket));
    assert_eq!(payload("bAQ*D"), Err(Error::InvalidBase64));
    assert_eq!(v4::decode_payload(Bytes::from_static(b"4\xc3"), MAX), Err(Error::InvalidUtf8));
    let too_large = Err(Error::PayloadTooLarge { len: 11, limit: 10 });
    assert_eq!(v4::decode_payload(bytes("4helloworld"), 10), too_large);
}

#[test]
fn v3_binary_frame_starts_with_the_type_byte() {
    let frame = Frame::Binary(Bytes::from_static(&[0x04, 1, 2, 3]));
    assert_eq!(v3::encode_frame(&Packet::binary(vec![1u8, 2, 3])), frame);
    assert_eq!(v3::decode_frame(frame).unwrap(), Packet::binary(vec![1u8, 2, 3]));
    let ping = v3::decode_frame(Frame::Binary(Bytes::from_static(&[0x02, 9]))).unwrap();
    assert_eq!(ping, Packet { ty: PacketType::Ping, data: PacketData::Binary(Bytes::from_static(&[9])) });
    assert_eq!(v3::decode_frame(Frame::Binary(Bytes::new())), Err(Error::EmptyPacket));
    let unknown = v3::decode_frame(Frame::Binary(Bytes::from_static(&[b'4', 1])));
    assert_eq!(unknown, Err(Error::UnknownPacketType(b'4')));
}

#[test]
fn v3_string_payload() {
    let cases: [(&[Packet], &str); 6] = [
        (&[Packet::message("hello"), Packet::message("€")], "6:4hello2:4€"),
        (&[Packet::binary(vec![1u8, 2, 3, 4])], "10:b4AQIDBA=="),
        (&[Packet::message("😀")], "3:4😀"),
        (&[Packet::message("a😀€"), Packet::ping()], "5:4a😀€1:2"),
        (&[Packet::ping_probe(), Packet::noop()], "6:2probe1:6"),
        (&[], "0:"),
    ];
    for (packets, wire) in cases {
        assert_eq!(v3::encode_payload_string(packets), wire);
        assert_eq!(v3::encode_payload(packets, false), Frame::from(wire));
        assert_eq!(v3::decode_payload_string(bytes(wire), MAX).unwrap(), packets);
        assert_eq!(v3::decode_payload(bytes(wire), MAX).unwrap(), packets);
    }
    let (packets, texts): (Vec<_>, Vec<_>) = every_type().into_iter().unzip();
    let wire: String = texts.iter().map(|t| format!("{}:{t}", t.chars().count())).collect();
    assert_eq!(v3::encode_payload_string(&packets), wire.as_str());
    assert_eq!(v3::decode_payload_string(Bytes::from(wire), MAX).unwrap(), packets);
}

#[test]
fn v3_binary_payload() {
    let wire: &[u8] =
        &[0x00, 0x06, 0xFF, b'4', b'h', b'e', b'l', b'l', b'o', 0x01, 0x05, 0xFF, 0x04, 1, 2, 3, 4];
    let packets = [Packet::message("hello"), Packet::binary(vec![1u8, 2, 3, 4])];
    assert_eq!(v3::encode_payload_binary(&packets), wire);
    assert_eq!(v3::encode_payload(&packets, true), Frame::Binary(Bytes::from_static(wire)));
    assert_eq!(v3::decode_payload_binary(Bytes::from_static(wire), MAX).unwrap(), packets);
    assert_eq!(v3::decode_payload(Bytes::from_static(wire), MAX).unwrap(), packets);

    // Text lengths count UTF-8 bytes here; a length of 10 or more takes several digit bytes.
    let wire: &[u8] = b"\x00\x05\xff4\xf0\x9f\x98\x80\x00\x01\x01\xff4abcdefghij";
    let packets = [Packet::message("😀"), Packet::message("abcdefghij")];
    assert_eq!(v3::encode_payload_binary(&packets), wire);
    assert_eq!(v3::decode_payload(Bytes::from_static(wire), MAX).unwrap(), packets);
    assert_eq!(v3::encode_payload_binary(&[]), Bytes::new());
}

#[test]
fn v3_decode_errors() {
    let string = |s: &'static str| v3::decode_payload_string(bytes(s), MAX);
    let malformed = |r: Result<Vec<Packet>, Error>| matches!(r, Err(Error::MalformedPayload(_)));
    assert!(malformed(string("5:4hi")), "runs past the end");
    assert!(malformed(string("x:4hi")), "not a number");
    assert!(malformed(string(":4hi")), "no length");
    assert!(malformed(string("2:4😀")), "cuts the surrogate pair in half");
    assert!(malformed(string("3:4hi4")), "no ':' after the last length");
    assert!(malformed(string("")), "empty payload");
    assert!(malformed(string("99999999999999999999999:4")), "absurd length");
    assert_eq!(string("1:9"), Err(Error::UnknownPacketType(b'9')));
    assert_eq!(string("5:b4!!!"), Err(Error::InvalidBase64));
    assert_eq!(v3::decode_payload(bytes("4:4hi"), 4), Err(Error::PayloadTooLarge { len: 5, limit: 4 }));

    let binary = |b: &'static [u8]| v3::decode_payload_binary(Bytes::from_static(b), MAX);
    assert!(malformed(binary(&[0x00, 0x05, 0xFF, b'4'])), "runs past the end");
    assert!(malformed(binary(&[0x00, 0x01])), "no 0xFF");
    assert!(malformed(binary(&[0x00, b'1', 0xFF, b'4'])), "ASCII digits");
    assert!(malformed(binary(&[0x00, 0xFF, b'4'])), "no length");
    assert!(malformed(binary(&[0x07, 0x01, 0xFF, b'4'])), "unknown kind");
    assert!(malformed(binary(&[0x00; 64])), "absurd length");
    assert_eq!(binary(&[0x00, 0x01, 0xFF, b'9']), Err(Error::UnknownPacketType(b'9')));
    assert_eq!(binary(&[0x00, 0x02, 0xFF, b'4', 0xC3]), Err(Error::InvalidUtf8));
    let too_large = Err(Error::PayloadTooLarge { len: 4, limit: 3 });
    assert_eq!(v3::decode_payload(Bytes::from_static(&[0x00, 0x01, 0xFF, b'6']), 3), too_large);
}
