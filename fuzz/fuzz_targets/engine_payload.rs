//! Engine.IO decoding from arbitrary bytes: v4 and v3 payloads (text, and v3's binary form), single
//! packets and websocket frames, the open packet's JSON, and the body collector. Whatever decodes must
//! encode back to the same packets.

#![no_main]

use bytes::Bytes;
use engineio_parser::{v3, v4, BodyCollector, Error, Frame, Handshake, Packet, PacketData, Str};
use libfuzzer_sys::fuzz_target;

/// Large enough for any input libFuzzer makes.
const MAX: usize = 1 << 24;

fuzz_target!(|data: &[u8]| {
    let body = Bytes::copy_from_slice(data);

    // v4 polling payloads.
    if let Ok(packets) = v4::decode_payload(body.clone(), MAX) {
        assert!(!packets.is_empty());
        let again = v4::decode_payload(v4::encode_payload(&packets).into_bytes(), MAX);
        assert_eq!(again.as_ref(), Ok(&packets), "v4 payload round trip");
    }

    // v3 polling payloads, in whichever form the first byte says, then each form on its own.
    let _ = v3::decode_payload(body.clone(), MAX);
    if let Ok(packets) = v3::decode_payload_string(body.clone(), MAX) {
        v3_round_trips(&packets);
    }
    if let Ok(packets) = v3::decode_payload_binary(body.clone(), MAX) {
        v3_round_trips(&packets);
    }

    // The size limit is checked before anything else.
    if let Some(limit) = data.len().checked_sub(1) {
        let too_large = Err(Error::PayloadTooLarge { len: data.len() as u64, limit: limit as u64 });
        assert_eq!(v4::decode_payload(body.clone(), limit), too_large);
        assert_eq!(v3::decode_payload_string(body.clone(), limit), too_large);
        assert_eq!(v3::decode_payload_binary(body.clone(), limit), too_large);
    }

    // Websocket frames: binary as it is, text when the bytes are UTF-8.
    if let Ok(packet) = v4::decode_frame(Frame::Binary(body.clone())) {
        assert_eq!(v4::decode_frame(v4::encode_frame(&packet)), Ok(packet));
    }
    if let Ok(packet) = v3::decode_frame(Frame::Binary(body.clone())) {
        assert_eq!(v3::decode_frame(v3::encode_frame(&packet)), Ok(packet));
    }
    if let Ok(text) = Str::from_utf8(body.clone()) {
        if let Ok(packet) = v4::decode_frame(Frame::Text(text.clone())) {
            assert_eq!(v4::decode_frame(v4::encode_frame(&packet)).as_ref(), Ok(&packet));
            assert_eq!(v4::decode_packet_str(v4::encode_packet_str(&packet)), Ok(packet));
        }
        if let Ok(packet) = v3::decode_frame(Frame::Text(text.clone())) {
            assert_eq!(v3::decode_frame(v3::encode_frame(&packet)).as_ref(), Ok(&packet));
            assert_eq!(v3::decode_packet_str(v3::encode_packet_str(&packet)), Ok(packet));
        }
        // The open packet's data.
        if let Ok(handshake) = Handshake::from_json(&text) {
            assert_eq!(Handshake::from_json(&handshake.to_json()).ok(), Some(handshake.clone()));
            let open = Packet::open(&handshake);
            assert!(matches!(open.data, PacketData::Text(_)));
        }
    }

    // The body collector, fed the input in chunks whose sizes come from the input itself.
    let limit = data.first().map_or(0, |b| usize::from(*b) * 8);
    let mut collector = BodyCollector::new(limit);
    let mut refused = collector.check_declared_len(Some(data.len() as u64)).is_err();
    assert_eq!(refused, data.len() > limit);
    let mut rest = data;
    let mut sizes = data.iter().cycle();
    let mut pushed = 0;
    while !rest.is_empty() {
        let n = sizes.next().map_or(1, |b| usize::from(*b % 16) + 1).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        let result = if n.is_multiple_of(2) {
            collector.push(chunk)
        } else {
            collector.push_bytes(Bytes::copy_from_slice(chunk))
        };
        pushed += n;
        assert_eq!(result.is_err(), pushed > limit);
        refused |= result.is_err();
        rest = tail;
    }
    let out = collector.finish();
    if refused {
        assert!(out.is_empty());
    } else {
        assert_eq!(&out[..], data);
    }
});

/// v3 packets survive both payload forms.
fn v3_round_trips(packets: &[Packet]) {
    let string = v3::decode_payload_string(v3::encode_payload_string(packets).into_bytes(), MAX);
    assert_eq!(string.as_deref(), Ok(packets), "v3 string payload round trip");
    let binary = v3::decode_payload_binary(v3::encode_payload_binary(packets), MAX);
    assert_eq!(binary.as_deref(), Ok(packets), "v3 binary payload round trip");
}
