use super::*;

/// The messages the official adapter published, captured by `tests/vectors/capture-redis.mjs` (see
/// `tests/vectors/README.md`).
fn vectors() -> Vec<(String, String, Bytes)> {
    let text = include_str!("../../tests/vectors/redis-adapter-8.3.0.jsonl");
    text.lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("vector line");
            let hex = v["payload_hex"].as_str().or(v["hex"].as_str()).expect("payload");
            (
                v["scenario"].as_str().unwrap_or_default().to_string(),
                v["channel"].as_str().unwrap_or_default().to_string(),
                Bytes::from(hex::decode(hex).expect("hex")),
            )
        })
        .collect()
}

#[test]
fn every_captured_message_decodes() {
    let vectors = vectors();
    assert!(vectors.len() >= 15);
    for (scenario, channel, payload) in vectors {
        let msg = decode_message(payload.clone()).unwrap_or_else(|| panic!("{scenario}: undecodable"));
        if channel.starts_with("socket.io#") {
            let parts = msg.as_array().expect("broadcast array");
            assert_eq!(parts.len(), 3, "{scenario}");
            Packet::from_object(parts[1].clone()).unwrap_or_else(|e| panic!("{scenario}: {e}"));
        } else {
            let kind = msg.get("type").and_then(Value::as_u64);
            let has_request_id = msg.get("requestId").is_some();
            assert!(kind.is_some() || has_request_id, "{scenario}: neither type nor requestId");
            if let Some(packet) = msg.get("packet").filter(|p| p.is_object()) {
                Packet::from_object(packet.clone()).unwrap_or_else(|e| panic!("{scenario}: {e}"));
            }
        }
    }
}

#[test]
fn broadcasts_are_encoded_byte_for_byte_as_the_node_adapter() {
    let mut checked = 0;
    for (scenario, channel, payload) in vectors() {
        if !channel.starts_with("socket.io#") {
            continue;
        }
        let msg = decode_value(payload.clone()).expect("msgpack");
        let parts = msg.as_array().expect("array");
        let uid = parts[0].as_str().expect("uid");
        let packet = Packet::from_object(parts[1].clone()).expect("packet");
        let opts = options_from(parts.get(2));
        assert_eq!(broadcast_message(uid, &packet.nsp, &packet, &opts), payload, "{scenario}");
        checked += 1;
    }
    assert_eq!(checked, 4);
}

#[test]
fn requests_are_encoded_byte_for_byte_as_the_node_adapter() {
    for (scenario, channel, payload) in vectors() {
        if !channel.starts_with("socket.io-request#") {
            continue;
        }
        let msg = decode_message(payload.clone()).expect("request");
        let kind = msg.get("type").and_then(Value::as_u64).expect("type");
        let uid = Value::from(msg.get("uid").and_then(Value::as_str).expect("uid"));
        let request_id = msg.get("requestId").cloned();
        let opts = options_from(msg.get("opts"));
        let ours = match kind {
            kind::BROADCAST => {
                let packet =
                    Packet::from_object(msg.get("packet").cloned().expect("packet")).expect("packet");
                encode_value(&object(vec![
                    ("uid", uid),
                    ("requestId", request_id.expect("id")),
                    ("type", Value::from(kind)),
                    ("packet", packet.to_object()),
                    ("opts", options_value(&opts)),
                ]))
            }
            kind::REMOTE_FETCH => json(vec![
                ("uid", uid),
                ("requestId", request_id.expect("id")),
                ("type", Value::from(kind)),
                ("opts", options_without_flags(&opts)),
            ]),
            kind::REMOTE_JOIN | kind::REMOTE_LEAVE => json(vec![
                ("uid", uid),
                ("type", Value::from(kind)),
                ("opts", options_without_flags(&opts)),
                ("rooms", msg.get("rooms").cloned().expect("rooms")),
            ]),
            kind::REMOTE_DISCONNECT => json(vec![
                ("uid", uid),
                ("type", Value::from(kind)),
                ("opts", options_without_flags(&opts)),
                ("close", msg.get("close").cloned().expect("close")),
            ]),
            kind::SERVER_SIDE_EMIT => json(vec![
                ("uid", uid),
                ("type", Value::from(kind)),
                ("data", msg.get("data").cloned().expect("data")),
            ]),
            kind::ALL_ROOMS => {
                json(vec![("uid", uid), ("requestId", request_id.expect("id")), ("type", Value::from(kind))])
            }
            other => panic!("{scenario}: unexpected request type {other}"),
        };
        assert_eq!(ours, payload, "{scenario}");
    }
}
