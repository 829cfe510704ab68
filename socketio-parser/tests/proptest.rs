//! Properties: encode → decode is the identity in every format, and decoding arbitrary input returns
//! Ok or Err without panicking.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

use bytes::Bytes;
use proptest::prelude::*;
use socketio_parser::{
    Frame, JsonParser, Map, MsgpackParser, Number, Packet, PacketData, Parser, Value, RESERVED_EVENTS,
};

fn leaf(binary: bool) -> BoxedStrategy<Value> {
    let mut options = vec![
        Just(Value::Null).boxed(),
        any::<bool>().prop_map(Value::Bool).boxed(),
        any::<u64>().prop_map(Value::from).boxed(),
        any::<i64>().prop_map(Value::from).boxed(),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| Value::Number(Number::from_f64(f).expect("finite")))
            .boxed(),
        ".{0,12}".prop_map(Value::String).boxed(),
    ];
    if binary {
        options.push(
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(|b| Value::Binary(b.into())).boxed(),
        );
    }
    proptest::strategy::Union::new(options).boxed()
}

fn value(binary: bool) -> BoxedStrategy<Value> {
    leaf(binary)
        .prop_recursive(4, 48, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::vec(("[a-z_\\-é]{0,6}", inner), 0..5)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map>())),
            ]
        })
        .boxed()
}

fn object(binary: bool) -> BoxedStrategy<Value> {
    proptest::collection::vec(("[a-zA-Z0-9]{1,6}", value(binary)), 0..4)
        .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map>()))
        .boxed()
}

fn event_name() -> BoxedStrategy<Value> {
    prop_oneof![
        ".{1,10}"
            .prop_filter("not reserved", |s: &String| !RESERVED_EVENTS.contains(&s.as_str()))
            .prop_map(Value::String),
        any::<u32>().prop_map(Value::from),
    ]
    .boxed()
}

fn packet() -> impl Strategy<Value = Packet> {
    let nsp = prop_oneof![Just("/".to_string()), "/[a-zA-Z0-9_\\-]{1,8}"];
    let data = prop_oneof![
        proptest::option::of(object(false)).prop_map(PacketData::Connect),
        Just(PacketData::Disconnect),
        (event_name(), proptest::collection::vec(value(true), 0..4)).prop_map(|(name, args)| {
            let mut data = vec![name];
            data.extend(args);
            PacketData::Event(data)
        }),
        proptest::collection::vec(value(true), 0..4).prop_map(PacketData::Ack),
        prop_oneof![".{0,20}".prop_map(Value::String), object(false)].prop_map(PacketData::ConnectError),
    ];
    (nsp, proptest::option::of(any::<u64>()), data).prop_map(|(nsp, id, data)| Packet { nsp, id, data })
}

fn roundtrip(parser: &dyn Parser, packet: &Packet) -> Packet {
    let frames = parser.encode(packet);
    let mut decoder = parser.decoder();
    let n = frames.len();
    let mut out = None;
    for (i, f) in frames.into_iter().enumerate() {
        let r = decoder.add(f).unwrap_or_else(|e| panic!("{packet:?} failed to decode: {e}"));
        assert_eq!(r.is_some(), i + 1 == n);
        out = r;
    }
    out.expect("complete")
}

/// notepack.io (and so our msgpack encoder) writes whole floats as integers: the same JavaScript number.
fn as_javascript_numbers(v: Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or_default();
            if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
                Value::from(f as i64)
            } else {
                Value::Number(n)
            }
        }
        Value::Array(a) => Value::Array(a.into_iter().map(as_javascript_numbers).collect()),
        Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, v)| (k, as_javascript_numbers(v))).collect())
        }
        other => other,
    }
}

fn packet_as_javascript_numbers(p: &Packet) -> Packet {
    let data = match p.data.clone() {
        PacketData::Connect(v) => PacketData::Connect(v.map(as_javascript_numbers)),
        PacketData::Event(a) => PacketData::Event(a.into_iter().map(as_javascript_numbers).collect()),
        PacketData::Ack(a) => PacketData::Ack(a.into_iter().map(as_javascript_numbers).collect()),
        PacketData::ConnectError(v) => PacketData::ConnectError(as_javascript_numbers(v)),
        PacketData::Disconnect => PacketData::Disconnect,
    };
    Packet { data, ..p.clone() }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn json_roundtrip(p in packet()) {
        prop_assert_eq!(roundtrip(&JsonParser::default(), &p), p.clone());
        prop_assert_eq!(roundtrip(&JsonParser::v4(), &p), p);
    }

    /// A transport's prefix (Engine.IO's `4`) goes before each text frame's text and nowhere else:
    /// the JSON parser's own way of writing it gives what the trait's default gives.
    #[test]
    fn frames_with_a_prefix_are_the_frames_prefixed(p in packet(), prefix in "[0-9]{0,2}") {
        for parser in [&JsonParser::default() as &dyn Parser, &MsgpackParser] {
            let plain = parser.encode(&p);
            let prefixed = parser.encode_with_prefix(&p, &prefix);
            prop_assert_eq!(plain.len(), prefixed.len());
            for (plain, prefixed) in plain.into_iter().zip(prefixed) {
                match (plain, prefixed) {
                    (Frame::Text(plain), Frame::Text(prefixed)) => {
                        prop_assert_eq!(prefixed.as_str(), format!("{prefix}{plain}"));
                    }
                    (Frame::Binary(plain), Frame::Binary(prefixed)) => prop_assert_eq!(plain, prefixed),
                    (plain, prefixed) => prop_assert!(false, "{:?} became {:?}", plain, prefixed),
                }
            }
        }
    }

    #[test]
    fn msgpack_roundtrip(p in packet()) {
        prop_assert_eq!(roundtrip(&MsgpackParser, &p), packet_as_javascript_numbers(&p));
    }

    #[test]
    fn json_frames_carry_every_binary_value_once(p in packet()) {
        let frames = JsonParser::default().encode(&p);
        let count = |v: &Value| -> usize {
            fn walk(v: &Value) -> usize {
                match v {
                    Value::Binary(_) => 1,
                    Value::Array(a) => a.iter().map(walk).sum(),
                    Value::Object(o) => o.values().map(walk).sum(),
                    _ => 0,
                }
            }
            walk(v)
        };
        let expected: usize = match &p.data {
            PacketData::Event(a) | PacketData::Ack(a) => a.iter().map(count).sum(),
            _ => 0,
        };
        prop_assert_eq!(frames.len(), 1 + expected);
        prop_assert!(!frames[0].is_binary());
    }

    #[test]
    fn json_decoder_never_panics_on_text(s in ".{0,64}") {
        let _ = JsonParser::default().decoder().add(Frame::Text(s.as_str().into()));
        let _ = JsonParser::v4().decoder().add(Frame::Text(s.as_str().into()));
    }

    #[test]
    fn json_decoder_never_panics_on_packet_like_text(
        s in "[0-7]([0-9]{0,3}-)?(/[a-z?=&%,]{0,6})?[0-9]{0,4}(\\[|\\{|\"|[a-z0-9,:\\]\\}\"_]){0,24}",
        bins in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..4), 0..4),
    ) {
        for parser in [JsonParser::default(), JsonParser::v4()] {
            let mut d = parser.decoder();
            let _ = d.add(Frame::Text(s.as_str().into()));
            for b in &bins {
                let _ = d.add(Frame::Binary(Bytes::from(b.clone())));
            }
        }
    }

    #[test]
    fn msgpack_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        let _ = MsgpackParser.decoder().add(Frame::Binary(bytes.into()));
    }

    #[test]
    fn msgpack_decoder_never_panics_on_mutated_packets(p in packet(), at in any::<usize>(), byte in any::<u8>(), cut in any::<bool>()) {
        let frames = MsgpackParser.encode(&p);
        let Frame::Binary(b) = &frames[0] else { unreachable!() };
        let mut b = b.to_vec();
        let i = at % b.len();
        if cut { b.truncate(i) } else { b[i] = byte }
        let _ = MsgpackParser.decoder().add(Frame::Binary(b.into()));
    }

    #[test]
    fn json_decoder_never_panics_on_mutated_packets(p in packet(), at in any::<usize>(), byte in 0u8..128, cut in any::<bool>()) {
        let frames = JsonParser::default().encode(&p);
        let Frame::Text(t) = &frames[0] else { unreachable!() };
        let mut t = t.as_bytes().to_vec();
        let i = at % t.len();
        if cut { t.truncate(i) } else { t[i] = byte }
        if let Ok(s) = String::from_utf8(t) {
            let mut d = JsonParser::default().decoder();
            let _ = d.add(Frame::Text(s.into()));
            for f in frames.into_iter().skip(1) {
                let _ = d.add(f);
            }
        }
    }
}
