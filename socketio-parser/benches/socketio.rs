//! Encode and decode throughput of both parsers on three typical events: a small JSON event, a 1 KB JSON
//! event, and an event with two binary attachments.

#![allow(missing_docs)] // criterion_group! generates an undocumented public function

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use socketio_parser::{Frame, JsonParser, MsgpackParser, Packet, Parser, Value};
use std::time::Duration;

fn events() -> Vec<(&'static str, Packet)> {
    let small = Packet::event(
        "/",
        "chat message",
        vec![Value::from(
            serde_json::json!({"user": "alice", "text": "hello there", "ts": 1700000000123u64}),
        )],
    );
    let items: Vec<serde_json::Value> = (0..12)
        .map(|i| serde_json::json!({"id": i, "name": format!("item-{i}"), "price": 9.99, "tags": ["a", "b"], "ok": true}))
        .collect();
    let kb = Packet::event("/shop", "inventory", vec![Value::from(serde_json::json!({"items": items}))])
        .with_ack_id(42);
    let binary = Packet::event(
        "/",
        "upload",
        vec![
            Value::from("photo.png"),
            Value::Binary(Bytes::from(vec![0xab; 512])),
            Value::from(serde_json::json!({"chunk": 1})),
            Value::Binary(Bytes::from(vec![0xcd; 512])),
        ],
    );
    vec![("small", small), ("1kb", kb), ("2-attachments", binary)]
}

fn bench(c: &mut Criterion) {
    let parsers: [(&str, &dyn Parser); 2] =
        [("json", &JsonParser { ..JsonParser::default() }), ("msgpack", &MsgpackParser)];
    for (parser_name, parser) in parsers {
        let mut group = c.benchmark_group(parser_name);
        group
            .sample_size(20)
            .measurement_time(Duration::from_secs(2))
            .warm_up_time(Duration::from_millis(500));
        for (name, packet) in events() {
            let frames = parser.encode(&packet);
            let size: usize = frames.iter().map(Frame::len).sum();
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_with_input(BenchmarkId::new("encode", name), &packet, |b, p| {
                b.iter(|| parser.encode(black_box(p)))
            });
            group.bench_with_input(BenchmarkId::new("decode", name), &frames, |b, frames| {
                let mut decoder = parser.decoder();
                b.iter(|| {
                    let mut out = None;
                    for f in frames {
                        out = decoder.add(black_box(f.clone())).expect("valid");
                    }
                    out
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
