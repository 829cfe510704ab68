//! Properties: every encoding decodes back to what was encoded, no input makes a decoder panic, and a
//! payload over the limit is refused.

use bytes::Bytes;
use engineio_parser::{v3, v4, Error, Frame, Packet, PacketData, PacketType};
use proptest::prelude::*;

fn packet_type() -> impl Strategy<Value = PacketType> {
    (0u8..7).prop_map(|n| PacketType::from_u8(n).expect("0..7 are types"))
}

/// Arbitrary unicode text, astral characters included, but never empty (empty text decodes as no data).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-z€😀👍🏽]{0,8}"].prop_filter("not empty", |s| !s.is_empty())
}

fn binary() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..64).prop_map(Bytes::from)
}

/// A packet of any type with no data, text or binary data. v4 carries binary data only in messages and
/// cannot carry the separator `\x1e` in a payload's text.
fn packet(v4: bool) -> impl Strategy<Value = Packet> {
    prop_oneof![
        packet_type().prop_map(Packet::empty),
        (packet_type(), text()).prop_map(move |(ty, text)| {
            Packet::text(ty, if v4 { text.replace('\x1e', "") } else { text })
        }),
        (packet_type(), binary()).prop_map(move |(ty, bytes)| {
            let ty = if v4 { PacketType::Message } else { ty };
            Packet { ty, data: PacketData::Binary(bytes) }
        }),
    ]
    .prop_map(|p| match &p.data {
        PacketData::Text(t) if t.is_empty() => Packet::empty(p.ty),
        _ => p,
    })
}

fn packets(v4: bool) -> impl Strategy<Value = Vec<Packet>> {
    proptest::collection::vec(packet(v4), 1..8)
}

/// Bytes made mostly of what the formats are built from, to reach deep into the decoders.
fn wire_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"4".to_vec()),
        Just(b"b4".to_vec()),
        Just(b":".to_vec()),
        Just(b"\x1e".to_vec()),
        Just(vec![0xFF]),
        Just(vec![0x00]),
        Just(vec![0x01]),
        Just("😀".as_bytes().to_vec()),
        Just(b"AQID".to_vec()),
        (0u8..10).prop_map(|d| vec![d]),
        (b'0'..=b'9').prop_map(|d| vec![d]),
        any::<u8>().prop_map(|b| vec![b]),
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

const MAX: usize = 1 << 20;

proptest! {
    #[test]
    fn v4_frames_round_trip(p in packet(true)) {
        prop_assert_eq!(v4::decode_frame(v4::encode_frame(&p)), Ok(p));
    }

    #[test]
    fn v4_payload_round_trips(ps in packets(true)) {
        let payload = v4::encode_payload(&ps);
        prop_assert_eq!(payload.len(), ps.iter().map(v4::encoded_len).sum::<usize>() + ps.len() - 1);
        prop_assert_eq!(v4::decode_payload(payload.into_bytes(), MAX), Ok(ps));
    }

    #[test]
    fn v3_frames_round_trip(p in packet(false)) {
        prop_assert_eq!(v3::decode_frame(v3::encode_frame(&p)), Ok(p.clone()));
        prop_assert_eq!(v3::decode_packet_str(v3::encode_packet_str(&p)), Ok(p));
    }

    #[test]
    fn v3_string_payload_round_trips(ps in packets(false)) {
        let payload = v3::encode_payload_string(&ps).into_bytes();
        prop_assert_eq!(v3::decode_payload_string(payload.clone(), MAX), Ok(ps.clone()));
        prop_assert_eq!(v3::decode_payload(payload, MAX), Ok(ps));
    }

    #[test]
    fn v3_binary_payload_round_trips(ps in packets(false)) {
        let payload = v3::encode_payload_binary(&ps);
        prop_assert_eq!(v3::decode_payload_binary(payload.clone(), MAX), Ok(ps.clone()));
        prop_assert_eq!(v3::decode_payload(payload, MAX), Ok(ps));
    }

    #[test]
    fn v3_payload_round_trips_in_either_form(ps in packets(false), supports_binary: bool) {
        let body = match v3::encode_payload(&ps, supports_binary) {
            Frame::Text(s) => s.into_bytes(),
            Frame::Binary(b) => b,
        };
        prop_assert_eq!(v3::decode_payload(body, MAX), Ok(ps));
    }

    #[test]
    fn payloads_over_the_limit_are_refused(ps in packets(false)) {
        let v4_body = v4::encode_payload(&ps.iter().map(v4_safe).collect::<Vec<_>>()).into_bytes();
        let v3_body = v3::encode_payload_binary(&ps);
        let v3_text = v3::encode_payload_string(&ps).into_bytes();
        for (body, decode) in [
            (v4_body, v4::decode_payload as fn(Bytes, usize) -> Result<Vec<Packet>, Error>),
            (v3_body.clone(), v3::decode_payload),
            (v3_body, v3::decode_payload_binary),
            (v3_text, v3::decode_payload_string),
        ] {
            let len = body.len();
            prop_assert!(decode(body.clone(), len).is_ok());
            let refused = Err(Error::PayloadTooLarge { len: len as u64, limit: len as u64 - 1 });
            prop_assert_eq!(decode(body, len - 1), refused);
        }
    }

    #[test]
    fn decoders_never_panic(bytes in prop_oneof![wire_bytes(), proptest::collection::vec(any::<u8>(), 0..64)]) {
        let bytes = Bytes::from(bytes);
        let _ = v4::decode_payload(bytes.clone(), MAX);
        let _ = v4::decode_frame(Frame::Binary(bytes.clone()));
        let _ = v3::decode_payload(bytes.clone(), MAX);
        let _ = v3::decode_payload_string(bytes.clone(), MAX);
        let _ = v3::decode_payload_binary(bytes.clone(), MAX);
        let _ = v3::decode_frame(Frame::Binary(bytes.clone()));
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = v4::decode_frame(Frame::from(text));
            let _ = v3::decode_frame(Frame::from(text));
        }
    }

    #[test]
    fn text_decoders_never_panic(s in "[0-9:b\x1eA-Za-z+/=€😀]{0,32}") {
        let bytes = Bytes::from(s.clone());
        let _ = v4::decode_payload(bytes.clone(), MAX);
        let _ = v3::decode_payload_string(bytes, MAX);
        let _ = v4::decode_frame(Frame::from(s.as_str()));
        let _ = v3::decode_frame(Frame::from(s.as_str()));
    }
}

/// The packet as v4 can carry it in a payload.
fn v4_safe(p: &Packet) -> Packet {
    match &p.data {
        PacketData::Binary(b) => Packet::binary(b.clone()),
        PacketData::Text(t) if t.contains('\x1e') => Packet::text(p.ty, t.replace('\x1e', "-")),
        _ => p.clone(),
    }
}
