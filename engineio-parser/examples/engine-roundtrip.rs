//! Builds a handshake and a few packets, encodes them in every wire format (v4 payload and frames, v3 string
//! and binary payloads), prints what travels on the wire, then decodes it back.
//!
//! Run with `cargo run -p engineio-parser --example engine-roundtrip`.

use bytes::Bytes;
use engineio_parser::{v3, v4, Error, Frame, Handshake, Packet};

/// Shows text with the control bytes made visible.
fn visible(text: &str) -> String {
    text.replace('\x1e', "␞")
}

/// Shows bytes as hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

fn show(frame: &Frame) -> String {
    match frame {
        Frame::Text(text) => format!("text   {:?}", visible(text)),
        Frame::Binary(bytes) => format!("binary [{}]", hex(bytes)),
    }
}

fn print_packets(packets: &[Packet]) {
    for packet in packets {
        println!("    {:?} {:?}", packet.ty, packet.data);
    }
}

fn main() -> Result<(), Error> {
    let handshake = Handshake::new("lv_VI97HAXpY6yYWAAAC", vec!["websocket".into()], 25000, 20000, 1_000_000);
    let packets = vec![
        Packet::open(&handshake),
        Packet::message(r#"2["chat","héllo 😀"]"#),
        Packet::binary(vec![1u8, 2, 3, 4]),
        Packet::ping(),
        Packet::noop(),
    ];
    println!("packets:");
    print_packets(&packets);

    println!("\nv4 websocket frames:");
    for packet in &packets {
        let frame = v4::encode_frame(packet);
        assert_eq!(&v4::decode_frame(frame.clone())?, packet);
        println!("    {}", show(&frame));
    }

    let payload = v4::encode_payload(&packets);
    println!("\nv4 polling payload ({} bytes, ␞ is the separator \\x1e):", payload.len());
    println!("    {}", visible(&payload));
    let decoded = v4::decode_payload(payload.into_bytes(), 1_000_000)?;
    assert_eq!(decoded, packets);
    println!("  decoded back:");
    print_packets(&decoded);

    println!("\nv3 websocket frames:");
    for packet in &packets {
        let frame = v3::encode_frame(packet);
        assert_eq!(&v3::decode_frame(frame.clone())?, packet);
        println!("    {}", show(&frame));
    }

    let string = v3::encode_payload_string(&packets);
    println!("\nv3 string payload ({} bytes, lengths in UTF-16 code units):", string.len());
    println!("    {string}");
    assert_eq!(v3::decode_payload(string.into_bytes(), 1_000_000)?, packets);

    let binary: Bytes = v3::encode_payload_binary(&packets);
    println!("\nv3 binary payload ({} bytes):", binary.len());
    for line in binary.chunks(24) {
        println!("    {}", hex(line));
    }
    let decoded = v3::decode_payload(binary, 1_000_000)?;
    assert_eq!(decoded, packets);
    println!("  decoded back:");
    print_packets(&decoded);

    println!("\nmalformed input is an error, never a panic:");
    for body in ["5:4hi", "2:4😀", "x:4hi"] {
        let err = v3::decode_payload(Bytes::from_static(body.as_bytes()), 1_000_000);
        println!("    v3 {body:?} -> {err:?}");
    }
    let err = v4::decode_payload(Bytes::from_static(b"4hello"), 4);
    println!("    v4 \"4hello\" with max_payload 4 -> {err:?}");
    Ok(())
}
