//! Encodes a few packets with both parsers, prints the wire frames, and decodes them back.
//!
//! Run: `cargo run -p socketio-parser --example socketio-roundtrip`

use bytes::Bytes;
use socketio_parser::{to_value, Frame, JsonParser, MsgpackParser, Packet, Parser, Value};

#[derive(serde::Serialize)]
struct Upload {
    name: &'static str,
    content: Bytes,
}

fn show(frame: &Frame) -> String {
    match frame {
        Frame::Text(t) => format!("text   {t}"),
        Frame::Binary(b) => {
            let hex: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
            format!("binary {}", hex.join(" "))
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let upload = to_value(&Upload { name: "hello.txt", content: Bytes::from_static(b"hi!") })?;
    let packets = [
        Packet::connect("/admin", Some(Value::from(serde_json::json!({"token": "123"})))),
        Packet::event("/", "chat message", vec![Value::from("hello"), Value::from(42)]),
        Packet::event("/files", "upload", vec![upload]).with_ack_id(7),
        Packet::ack("/files", 7, vec![Value::from("stored")]),
        Packet::connect_error("/admin", "Not authorized", None),
    ];
    let parsers: [(&str, &dyn Parser); 2] =
        [("default (JSON)", &JsonParser::default()), ("msgpack", &MsgpackParser)];
    for (name, parser) in parsers {
        println!("== {name} parser");
        let mut decoder = parser.decoder();
        for packet in &packets {
            let frames = parser.encode(packet);
            for frame in &frames {
                println!("  {}", show(frame));
            }
            let mut decoded = None;
            for frame in frames {
                decoded = decoder.add(frame)?;
            }
            let decoded = decoded.ok_or("packet incomplete")?;
            assert_eq!(&decoded, packet);
            println!(
                "    -> {:?} {} id={:?} {:?}",
                decoded.packet_type(),
                decoded.nsp,
                decoded.id,
                decoded.data
            );
        }
    }
    Ok(())
}
