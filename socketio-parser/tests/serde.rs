//! The serde bridge: user types to `Value` and back, with bytes kept as binary.

#![allow(clippy::unwrap_used)] // tests unwrap: a panic is the failure report

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use socketio_parser::{from_value, to_value, JsonParser, Packet, Parser, Value};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Shape {
    Empty,
    Circle(f64),
    Rect(u32, u32),
    Poly { points: Vec<(i32, i32)> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Message {
    id: u64,
    author: String,
    body: Option<String>,
    attachment: Bytes,
    #[serde(with = "serde_bytes")]
    thumbnail: Vec<u8>,
    shapes: Vec<Shape>,
    scores: HashMap<u32, i64>,
    tags: BTreeMap<String, bool>,
    pair: (char, i8),
    unit: (),
}

fn sample() -> Message {
    Message {
        id: u64::MAX,
        author: "zoë".into(),
        body: None,
        attachment: Bytes::from_static(&[0, 1, 255]),
        thumbnail: vec![9, 8],
        shapes: vec![
            Shape::Empty,
            Shape::Circle(1.5),
            Shape::Rect(2, 3),
            Shape::Poly { points: vec![(-1, 2)] },
        ],
        scores: HashMap::from([(7, -3)]),
        tags: BTreeMap::from([("a".into(), true)]),
        pair: ('λ', -8),
        unit: (),
    }
}

#[test]
fn user_types_round_trip_with_binary_fields_as_binary() {
    let msg = sample();
    let v = to_value(&msg).unwrap();
    assert_eq!(v["attachment"], Value::Binary(Bytes::from_static(&[0, 1, 255])));
    assert_eq!(v["thumbnail"], Value::Binary(Bytes::from_static(&[9, 8])));
    assert_eq!(v["shapes"][0], "Empty");
    assert_eq!(v["shapes"][1]["Circle"].as_f64(), Some(1.5));
    assert_eq!(v["scores"]["7"].as_i64(), Some(-3), "integer keys become strings, as in JSON");
    assert!(v["body"].is_null());
    assert_eq!(from_value::<Message>(v).unwrap(), msg);
}

#[test]
fn typed_arguments_survive_the_wire_in_both_parsers() {
    let msg = sample();
    let packet = Packet::event("/", "post", vec![to_value(&msg).unwrap()]);
    for parser in [&JsonParser::default() as &dyn Parser, &socketio_parser::MsgpackParser] {
        let mut d = parser.decoder();
        let decoded = parser.encode(&packet).into_iter().find_map(|f| d.add(f).unwrap()).unwrap();
        let back: Message = from_value(decoded.args()[0].clone()).unwrap();
        assert_eq!(back, msg);
    }
}

#[test]
fn non_binary_values_have_the_shape_serde_json_gives() {
    #[derive(Serialize)]
    struct Plain {
        a: Vec<Option<i32>>,
        s: Shape,
        m: BTreeMap<i64, String>,
    }
    let plain = Plain { a: vec![Some(1), None], s: Shape::Rect(1, 2), m: BTreeMap::from([(-1, "x".into())]) };
    let ours = to_value(&plain).unwrap();
    let theirs = Value::from(serde_json::to_value(&plain).unwrap());
    assert_eq!(ours, theirs);
    assert_eq!(ours.to_string(), serde_json::to_string(&plain).unwrap());
}

#[test]
fn event_arguments_deserialize_as_a_tuple() {
    let args = Value::Array(vec!["room-1".into(), 42.into(), Value::Binary(Bytes::from_static(b"hi"))]);
    let (room, n, data): (String, u8, Bytes) = from_value(args).unwrap();
    assert_eq!((room.as_str(), n, &data[..]), ("room-1", 42, &b"hi"[..]));
}

#[test]
fn mismatches_are_errors_not_panics() {
    let err = from_value::<u8>(Value::from(300)).unwrap_err();
    assert!(err.to_string().contains("300"), "{err}");
    let err = from_value::<Message>(Value::from("nope")).unwrap_err();
    assert!(err.to_string().contains("invalid type"), "{err}");
    assert!(from_value::<(u8, u8)>(Value::Array(vec![1.into(), 2.into(), 3.into()])).is_err());
    assert!(from_value::<Shape>(Value::from("Triangle")).is_err());
    assert!(to_value(&HashMap::from([((1, 2), 3)])).is_err(), "tuple keys have no JSON form");
    assert_eq!(to_value(&f64::NAN).unwrap(), Value::Null);
    assert!(to_value(&u128::MAX).is_err());
}

#[test]
fn value_itself_round_trips_through_serde_json_and_to_value() {
    let v = Value::from(serde_json::json!({"a": [1, "b", null, {"c": 2.5}]}));
    let text = serde_json::to_string(&v).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), v);
    assert_eq!(to_value(&v).unwrap(), v);
    assert_eq!(from_value::<Value>(v.clone()).unwrap(), v);
    let b = Value::Binary(Bytes::from_static(b"\x00\x01"));
    assert_eq!(to_value(&b).unwrap(), b);
    assert_eq!(from_value::<Bytes>(b).unwrap(), Bytes::from_static(b"\x00\x01"));
}
