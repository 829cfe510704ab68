//! Encoding and decoding polling payloads: many small JSON messages, one 1 KB message, one 4 KB binary
//! message. Throughput is reported in bytes of encoded payload.

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use engineio_parser::{v3, v4, Packet};
use std::time::Duration;

const MAX: usize = usize::MAX;

/// Ten messages like the ones a chat application emits, about 60 bytes of JSON each.
fn small_messages() -> Vec<Packet> {
    (0..10)
        .map(|i| {
            Packet::message(format!(r#"2["chat message",{{"user":"user{i}","text":"héllo wörld #{i}"}}]"#))
        })
        .collect()
}

fn cases() -> [(&'static str, Vec<Packet>); 3] {
    [
        ("10 messages of 60 B", small_messages()),
        ("1 KB message", vec![Packet::message(format!(r#"2["blob","{}"]"#, "x".repeat(1010)))]),
        ("4 KB binary", vec![Packet::binary((0..4096).map(|i| i as u8).collect::<Vec<u8>>())]),
    ]
}

fn configure<M: criterion::measurement::Measurement>(group: &mut BenchmarkGroup<'_, M>) {
    group.sample_size(20).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
}

fn bench_v4(c: &mut Criterion) {
    let mut group = c.benchmark_group("v4 payload");
    configure(&mut group);
    for (name, packets) in cases() {
        let body = v4::encode_payload(&packets).into_bytes();
        group.throughput(Throughput::Bytes(body.len() as u64));
        group
            .bench_function(format!("encode {name}"), |b| b.iter(|| v4::encode_payload(black_box(&packets))));
        group.bench_function(format!("decode {name}"), |b| {
            b.iter(|| v4::decode_payload(black_box(body.clone()), MAX))
        });
    }
    group.finish();
}

fn bench_v3(c: &mut Criterion) {
    let mut group = c.benchmark_group("v3 string payload");
    configure(&mut group);
    let [(name, packets), ..] = cases();
    let body: Bytes = v3::encode_payload_string(&packets).into_bytes();
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function(format!("encode {name}"), |b| {
        b.iter(|| v3::encode_payload_string(black_box(&packets)))
    });
    group.bench_function(format!("decode {name}"), |b| {
        b.iter(|| v3::decode_payload_string(black_box(body.clone()), MAX))
    });
    group.finish();
}

criterion_group!(benches, bench_v4, bench_v3);
criterion_main!(benches);
