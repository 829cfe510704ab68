//! Websocket sessions and the upgrade from polling.

#![allow(clippy::unwrap_used)]

mod common;

use bytes::Bytes;
use common::{read_response, start, start_with, Event};
use engineio_server::parser::{Handshake, PacketData};
use engineio_server::{CloseReason, EncodedMessage, EngineConfig, SendError, SendOptions, TransportKind};
use futures_util::SinkExt;

#[tokio::test]
async fn websocket_only_session_opens_and_echoes_text_and_binary() {
    let mut server = start(EngineConfig::default()).await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    let open = ws.next_text().await;
    let h = Handshake::from_json(open.strip_prefix('0').unwrap()).unwrap();
    assert!(h.upgrades.is_empty(), "no upgrade from websocket");
    assert_eq!(server.engine.socket(&h.sid).unwrap().transport(), TransportKind::WebSocket);
    ws.send_text("4héllo").await;
    assert_eq!(ws.next_text().await, "4héllo");
    // v4 binary frames carry the raw message bytes.
    ws.send_binary(&[0, 1, 255]).await;
    assert_eq!(ws.next().await, Some(Err(Bytes::from_static(&[0, 1, 255]))));
    let got = server
        .wait_for(|e| match e {
            Event::Message(_, d) if d.is_binary() => Some(d.clone()),
            _ => None,
        })
        .await;
    assert_eq!(got, PacketData::Binary(Bytes::from_static(&[0, 1, 255])));
    // As the reference, a close packet on a websocket is ignored: the session goes on.
    ws.send_text("1").await;
    ws.send_text("4still here").await;
    assert_eq!(ws.next_text().await, "4still here");
    assert_eq!(server.engine.clients_count(), 1);
    // Closing the websocket closes the session.
    ws.0.close(None).await.unwrap();
    assert_eq!(server.wait_close(&h.sid).await.0, CloseReason::TransportClose);
}

#[tokio::test]
async fn upgrade_from_polling_to_websocket() {
    let mut server = start(EngineConfig::default()).await;
    let (sid, _) = server.handshake().await;
    let poll = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    // A GET is pending when the upgrade starts, as with a real client.
    let mut pending = server.send_head("GET", &poll, &[], None).await;
    let mut ws = server.ws(&format!("EIO=4&transport=websocket&sid={sid}")).await;
    ws.send_text("2probe").await;
    assert_eq!(ws.next_text().await, "3probe");
    server
        .wait_for(|e| match e {
            Event::Upgrading(t) => Some(t.clone()),
            _ => None,
        })
        .await;
    // The pending GET is released with a noop so the client can pause polling.
    assert_eq!(read_response(&mut pending).await.text(), "6");
    // Polling still works until the upgrade completes; a packet queued now is not lost.
    server.engine.socket(&sid).unwrap().send_text("during upgrade").unwrap();
    ws.send_text("5").await;
    server
        .wait_for(|e| match e {
            Event::Upgrade(t) => Some(t.clone()),
            _ => None,
        })
        .await;
    assert_eq!(ws.next_text().await, "4during upgrade");
    ws.send_text("4over ws").await;
    assert_eq!(ws.next_text().await, "4over ws");
    assert_eq!(server.engine.socket(&sid).unwrap().transport(), TransportKind::WebSocket);
    // Polling requests for an upgraded session are refused.
    let res = server.get(&poll).await;
    assert_eq!((res.status, res.json()["code"].as_u64()), (400, Some(3)));
    // A second upgrade attempt is closed at once.
    let mut again = server.ws(&format!("EIO=4&transport=websocket&sid={sid}")).await;
    assert_eq!(again.next().await, None);
}

#[tokio::test]
async fn a_failed_probe_leaves_the_polling_session_alone() {
    let mut server = start(EngineConfig::default()).await;
    let (sid, _) = server.handshake().await;
    let mut ws = server.ws(&format!("EIO=4&transport=websocket&sid={sid}")).await;
    ws.send_text("4not a probe").await;
    assert_eq!(ws.next().await, None, "the websocket is closed");
    let socket = server.engine.socket(&sid).unwrap();
    assert_eq!(socket.transport(), TransportKind::Polling);
    server.post(&format!("/engine.io/?EIO=4&transport=polling&sid={sid}"), b"4still here").await;
    let text = server
        .wait_for(|e| match e {
            Event::Message(_, d) => d.as_text().map(str::to_owned),
            _ => None,
        })
        .await;
    assert_eq!(text, "still here");
}

#[tokio::test]
async fn an_upgrade_that_never_completes_times_out() {
    let config =
        EngineConfig { upgrade_timeout: std::time::Duration::from_millis(100), ..EngineConfig::default() };
    let server = start(config).await;
    let (sid, _) = server.handshake().await;
    let mut ws = server.ws(&format!("EIO=4&transport=websocket&sid={sid}")).await;
    ws.send_text("2probe").await;
    assert_eq!(ws.next_text().await, "3probe");
    // No upgrade packet: after upgradeTimeout the websocket is closed, the session stays on polling.
    assert_eq!(ws.next().await, None);
    assert_eq!(server.engine.socket(&sid).unwrap().transport(), TransportKind::Polling);
}

#[tokio::test]
async fn oversized_websocket_messages_close_the_session() {
    let mut server = start(EngineConfig { max_http_buffer_size: 100, ..EngineConfig::default() }).await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    let h = Handshake::from_json(&ws.next_text().await[1..]).unwrap();
    ws.send_text(&format!("4{}", "x".repeat(99))).await;
    assert_eq!(ws.next_text().await.len(), 100);
    let _ =
        ws.0.send(tokio_tungstenite::tungstenite::Message::Text(format!("4{}", "x".repeat(200)).into()))
            .await;
    let (reason, _) = server.wait_close(&h.sid).await;
    assert_eq!(reason, CloseReason::TransportError);
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_and_releases_its_session() {
    let mut server = start(EngineConfig { max_buffered_packets: 64, ..EngineConfig::default() }).await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    let h = Handshake::from_json(&ws.next_text().await[1..]).unwrap();
    let socket = server.engine.socket(&h.sid).unwrap();
    // The client reads nothing more: the kernel's buffers fill, the session's writes stall, and its
    // queue fills up to the limit.
    let chunk: std::sync::Arc<str> = "x".repeat(65_536).into();
    let (mut overflowed, mut volatile_dropped) = (false, false);
    let volatile = SendOptions { volatile: true, ..SendOptions::default() };
    for _ in 0..10_000 {
        match socket.send_text(chunk.to_string()) {
            Ok(()) => tokio::task::yield_now().await,
            Err(SendError::Overflow) => {
                overflowed = true;
                break;
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
        // First, volatile packets are dropped: the transport cannot take them at once.
        let ping = engineio_server::parser::Packet::message("volatile");
        if let Err(e) = socket.send(ping, volatile) {
            assert_eq!(e, SendError::Dropped);
            volatile_dropped = true;
        }
    }
    assert!(volatile_dropped, "volatile packets were dropped before the close");
    assert!(overflowed, "the queue never filled up");
    let (reason, description) = server.wait_close(&h.sid).await;
    assert_eq!(reason, CloseReason::TransportError);
    assert_eq!(description.as_deref(), Some("send buffer full"));
    // The session's task did not stay stuck on the stalled write: the engine closes at once.
    tokio::time::timeout(std::time::Duration::from_secs(5), server.engine.close())
        .await
        .expect("the engine closes although the client never read");
    drop(ws);
}

#[tokio::test]
async fn a_write_stalled_longer_than_a_heartbeat_round_closes_the_session() {
    let config = EngineConfig {
        ping_interval: std::time::Duration::from_millis(200),
        ping_timeout: std::time::Duration::from_millis(200),
        max_http_buffer_size: 4_000_000,
        ..EngineConfig::default()
    };
    let mut server = start(config).await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    let h = Handshake::from_json(&ws.next_text().await[1..]).unwrap();
    let socket = server.engine.socket(&h.sid).unwrap();
    // Far more than the loopback buffers hold, in few packets: the queue never overflows, the write
    // stalls, and no ping can go out meanwhile.
    let chunk = "x".repeat(1_000_000);
    for _ in 0..32 {
        socket.send_text(chunk.clone()).unwrap();
    }
    let (reason, description) = server.wait_close(&h.sid).await;
    assert_eq!(reason, CloseReason::PingTimeout);
    assert_eq!(description.as_deref(), Some("the client stopped reading"));
    drop(ws);
}

#[tokio::test]
async fn undecodable_websocket_frames_are_a_parse_error() {
    let mut server = start(EngineConfig::default()).await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    let h = Handshake::from_json(&ws.next_text().await[1..]).unwrap();
    ws.send_text("9what").await;
    assert_eq!(server.wait_close(&h.sid).await.0, CloseReason::ParseError);
    assert_eq!(ws.next().await, None);
}

#[tokio::test]
async fn protocol_v3_websocket_frames() {
    let mut server = start(EngineConfig { allow_eio3: true, ..EngineConfig::default() }).await;
    let mut ws = server.ws("EIO=3&transport=websocket").await;
    let open = ws.next_text().await;
    assert!(open.starts_with("0{"));
    // v3 binary frames start with the packet type as a byte.
    ws.send_binary(&[4, 9, 8]).await;
    assert_eq!(ws.next().await, Some(Err(Bytes::from_static(&[4, 9, 8]))));
    let got = server
        .wait_for(|e| match e {
            Event::Message(_, d) if d.is_binary() => Some(d.clone()),
            _ => None,
        })
        .await;
    assert_eq!(got, PacketData::Binary(Bytes::from_static(&[9, 8])));
    // The v3 client pings; the server answers.
    ws.send_text("2").await;
    assert_eq!(ws.next_text().await, "3");
}

#[tokio::test]
async fn server_close_on_websocket_flushes_then_closes() {
    let mut server = start_with(EngineConfig::default(), false).await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    let h = Handshake::from_json(&ws.next_text().await[1..]).unwrap();
    let socket = server.engine.socket(&h.sid).unwrap();
    socket.send_text("one").unwrap();
    socket.send_text("two").unwrap();
    socket.close();
    assert_eq!(ws.next_text().await, "4one");
    assert_eq!(ws.next_text().await, "4two");
    assert_eq!(ws.next().await, None);
    assert_eq!(server.wait_close(&h.sid).await.0, CloseReason::ForcedClose);
}

#[tokio::test]
async fn a_message_encoded_once_goes_to_every_session_and_transport() {
    let config = EngineConfig { allow_eio3: true, ..EngineConfig::default() };
    let server = start_with(config, false).await;
    let mut v4 = server.ws("EIO=4&transport=websocket").await;
    let v4_sid = Handshake::from_json(&v4.next_text().await[1..]).unwrap().sid;
    let mut v3 = server.ws("EIO=3&transport=websocket").await;
    let v3_sid = Handshake::from_json(&v3.next_text().await[1..]).unwrap().sid;
    let (polling_sid, _) = server.handshake().await;

    let text = EncodedMessage::text("héllo");
    let binary = EncodedMessage::binary(Bytes::from_static(&[1, 2]));
    for sid in [&v4_sid, &v3_sid, &polling_sid] {
        let socket = server.engine.socket(sid).unwrap();
        socket.send_encoded(&text, SendOptions::default()).unwrap();
        socket.send_encoded(&binary, SendOptions::default()).unwrap();
    }
    assert_eq!(v4.next_text().await, "4héllo");
    assert_eq!(v4.next().await, Some(Err(Bytes::from_static(&[1, 2]))));
    assert_eq!(v3.next_text().await, "4héllo");
    assert_eq!(v3.next().await, Some(Err(Bytes::from_static(&[4, 1, 2]))), "v3 binary frames carry the type");
    let payload = server.get(&format!("/engine.io/?EIO=4&transport=polling&sid={polling_sid}")).await;
    assert_eq!(payload.text(), "4héllo\x1ebAQI=");
    // A frame text must be a message's.
    assert!(EncodedMessage::from_frame_text("2ping".into()).is_none());
    assert!(EncodedMessage::from_frame_text("4ok".into()).is_some());
}

#[tokio::test]
async fn a_text_frame_of_invalid_utf8_closes_only_its_session() {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::Message;
    let mut server = start(EngineConfig::default()).await;
    let mut bystander = server.ws("EIO=4&transport=websocket").await;
    let _ = bystander.next_text().await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    let h = Handshake::from_json(&ws.next_text().await[1..]).unwrap();
    // A message packet whose text is not UTF-8 (a lone continuation byte, then an overlong `/`).
    let frame = Frame::message(b"4ab\x80cd\xc0\xaf".to_vec(), OpCode::Data(Data::Text), true);
    ws.0.send(Message::Frame(frame)).await.unwrap();
    assert_eq!(server.wait_close(&h.sid).await.0, CloseReason::TransportError);
    assert_eq!(ws.next().await, None);
    bystander.send_text("4still served").await;
    assert_eq!(bystander.next_text().await, "4still served");
    assert_eq!(server.engine.clients_count(), 1);
}

/// A masked client frame.
fn client_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x12, 0x34, 0x56, 0x78];
    let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
    if payload.len() < 126 {
        out.push(0x80 | payload.len() as u8);
    } else {
        out.push(0x80 | 126);
        out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

/// Reads one server frame: (fin, opcode, payload). Server frames are never masked.
async fn read_frame(stream: &mut tokio::net::TcpStream) -> (bool, u8, Vec<u8>) {
    use tokio::io::AsyncReadExt;
    let mut head = [0u8; 2];
    stream.read_exact(&mut head).await.unwrap();
    assert_eq!(head[1] & 0x80, 0, "a server frame is not masked");
    let len = match head[1] & 0x7f {
        126 => stream.read_u16().await.unwrap() as usize,
        127 => stream.read_u64().await.unwrap() as usize,
        n => n as usize,
    };
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload).await.unwrap();
    (head[0] & 0x80 != 0, head[0] & 0x0f, payload)
}

/// A websocket opened by hand; `first` is written in the same write as the upgrade request (bytes the
/// HTTP server reads past the request).
async fn raw_ws(server: &common::TestServer, first: &[u8]) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut request = b"GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: localhost\r\n\
Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        .to_vec();
    request.extend_from_slice(first);
    stream.write_all(&request).await.unwrap();
    // The response's head, byte by byte: the frames after it stay in the stream.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(tokio::io::AsyncReadExt::read_u8(&mut stream).await.unwrap());
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    stream
}

#[tokio::test]
async fn fragmented_messages_pings_between_fragments_and_bytes_sent_with_the_upgrade() {
    use tokio::io::AsyncWriteExt;
    let mut server = start(EngineConfig::default()).await;
    // The first fragment travels with the upgrade request itself.
    let mut stream = raw_ws(&server, &client_frame(false, 1, b"4hel")).await;
    let (fin, opcode, open) = read_frame(&mut stream).await;
    assert!(fin && opcode == 1 && open.starts_with(b"0{"), "{open:?}");
    let sid = Handshake::from_json(std::str::from_utf8(&open[1..]).unwrap()).unwrap().sid;
    let mut rest = client_frame(true, 9, b"still there?");
    rest.extend(client_frame(false, 0, "lo wö".as_bytes()));
    // Byte by byte: frames split anywhere.
    for b in rest {
        stream.write_all(&[b]).await.unwrap();
        stream.flush().await.unwrap();
    }
    assert_eq!(read_frame(&mut stream).await, (true, 10, b"still there?".to_vec()));
    stream.write_all(&client_frame(true, 0, "rld".as_bytes())).await.unwrap();
    assert_eq!(read_frame(&mut stream).await, (true, 1, "4hello wörld".as_bytes().to_vec()));
    // A binary message of a 16-bit length comes back as it went.
    let data: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
    stream.write_all(&client_frame(true, 2, &data)).await.unwrap();
    assert_eq!(read_frame(&mut stream).await, (true, 2, data));
    // The close handshake: the client's code is answered, the session closes.
    stream.write_all(&client_frame(true, 8, &1000u16.to_be_bytes())).await.unwrap();
    assert_eq!(read_frame(&mut stream).await, (true, 8, 1000u16.to_be_bytes().to_vec()));
    assert_eq!(server.wait_close(&sid).await.0, CloseReason::TransportClose);
}

#[tokio::test]
async fn an_unmasked_client_frame_is_a_protocol_error() {
    use tokio::io::AsyncWriteExt;
    let mut server = start(EngineConfig::default()).await;
    let mut stream = raw_ws(&server, &[]).await;
    let (_, _, open) = read_frame(&mut stream).await;
    let sid = Handshake::from_json(std::str::from_utf8(&open[1..]).unwrap()).unwrap().sid;
    stream.write_all(&[0x81, 0x02, b'4', b'x']).await.unwrap();
    assert_eq!(server.wait_close(&sid).await.0, CloseReason::TransportError);
    assert_eq!(read_frame(&mut stream).await, (true, 8, 1002u16.to_be_bytes().to_vec()));
}

#[tokio::test]
async fn sends_to_a_client_that_reads_late_keep_their_order_and_never_wait() {
    let server = start_with(EngineConfig::default(), false).await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    let h = Handshake::from_json(&ws.next_text().await[1..]).unwrap();
    let socket = server.engine.socket(&h.sid).unwrap();
    // The client does not read for now: far more than the loopback buffers hold is sent, shared
    // payloads as a broadcast sends them, text and binary in turn.
    let payload = Bytes::from(vec![7u8; 64 * 1024]);
    let began = std::time::Instant::now();
    for i in 0..200u32 {
        let text = EncodedMessage::text(&i.to_string());
        socket.send_encoded(&text, SendOptions::default()).unwrap();
        socket.send_encoded(&EncodedMessage::binary(payload.clone()), SendOptions::default()).unwrap();
    }
    // The sender never waited for the client.
    assert!(began.elapsed() < std::time::Duration::from_secs(2), "sending took {:?}", began.elapsed());
    assert!(socket.buffered() > 0, "the kernel took it all: the test proves nothing");
    for i in 0..200u32 {
        assert_eq!(ws.next_text().await, format!("4{i}"));
        assert_eq!(ws.next().await, Some(Err(payload.clone())));
    }
    assert_eq!(socket.buffered(), 0);
    let _ = server.engine.socket(&h.sid).unwrap().send_text("after");
    assert_eq!(ws.next_text().await, "4after");
}

#[tokio::test]
async fn a_ping_of_the_client_is_answered_with_its_payload() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let server = start(EngineConfig::default()).await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    let _open = ws.next_text().await;
    ws.0.send(Message::Ping(Bytes::from_static(b"hi"))).await.unwrap();
    loop {
        match ws.0.next().await {
            Some(Ok(Message::Pong(p))) => {
                assert_eq!(p, Bytes::from_static(b"hi"));
                break;
            }
            Some(Ok(_)) => continue,
            other => panic!("no pong: {other:?}"),
        }
    }
}
