//! Long-polling: delivery, coalescing, compression, and every way a polling session can go wrong.

#![allow(clippy::unwrap_used)]

mod common;

use bytes::Bytes;
use common::{read_response, start, start_with, Event};
use engineio_server::parser::{Packet, PacketData};
use engineio_server::{CloseReason, EngineConfig, OverflowPolicy, SendError, SendOptions};
use std::io::Read;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn poll(sid: &str) -> String {
    format!("/engine.io/?EIO=4&transport=polling&sid={sid}")
}

#[tokio::test]
async fn text_and_binary_messages_travel_both_ways() {
    let mut server = start(EngineConfig::default()).await;
    let (sid, _) = server.handshake().await;
    let res = server.post(&poll(&sid), "4hello\x1e4€uro\x1ebAQID".as_bytes()).await;
    assert_eq!((res.status, res.text().as_str()), (200, "ok"));
    assert_eq!(res.header("content-type"), Some("text/html"));
    let got: Vec<PacketData> = vec![
        server
            .wait_for(|e| match e {
                Event::Message(_, d) => Some(d.clone()),
                _ => None,
            })
            .await,
        server
            .wait_for(|e| match e {
                Event::Message(_, d) => Some(d.clone()),
                _ => None,
            })
            .await,
        server
            .wait_for(|e| match e {
                Event::Message(_, d) => Some(d.clone()),
                _ => None,
            })
            .await,
    ];
    assert_eq!(got[0].as_text(), Some("hello"));
    assert_eq!(got[1].as_text(), Some("€uro"));
    assert_eq!(got[2].as_binary(), Some(&Bytes::from_static(&[1, 2, 3])));
    // The echoes were queued while no GET was pending: one GET takes them all.
    let res = server.get(&poll(&sid)).await;
    assert_eq!(res.text(), "4hello\x1e4€uro\x1ebAQID");
    assert_eq!(res.header("content-type"), Some("text/plain; charset=UTF-8"));
    assert_eq!(res.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn a_pending_get_is_answered_as_soon_as_a_packet_is_queued() {
    let server = start(EngineConfig::default()).await;
    let (sid, _) = server.handshake().await;
    let mut get = server.send_head("GET", &poll(&sid), &[], None).await;
    // Wait until the GET is registered, then send from the server side.
    let socket = server.engine.socket(&sid).unwrap();
    let sender = tokio::spawn(async move {
        loop {
            if socket.send_text("late").is_ok() && socket.buffered() == 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
    });
    let res = read_response(&mut get).await;
    assert!(res.text().starts_with("4late"), "{}", res.text());
    sender.abort();
}

#[tokio::test]
async fn overlapping_gets_close_the_session() {
    let mut server = start(EngineConfig::default()).await;
    let (sid, _) = server.handshake().await;
    let mut first = server.send_head("GET", &poll(&sid), &[], None).await;
    // The first GET is registered before the second: the server reads requests in arrival order and
    // answers the second without waiting.
    let second = server.get(&poll(&sid)).await;
    assert_eq!(second.status, 400, "{}", second.text());
    assert_eq!(second.body.len(), 0);
    let (reason, description) = server.wait_close(&sid).await;
    assert_eq!((reason, description.as_deref()), (CloseReason::TransportError, Some("overlap from client")));
    assert_eq!(read_response(&mut first).await.text(), "1", "the first GET learns of the close");
    assert_eq!(server.get(&poll(&sid)).await.json()["code"], 1);
}

#[tokio::test]
async fn a_second_concurrent_post_is_refused_and_closes_the_session() {
    let mut server = start(EngineConfig::default()).await;
    let (sid, _) = server.handshake().await;
    // The first POST announces 10 bytes and sends 2: it stays in progress.
    let mut first = server.send_head("POST", &poll(&sid), &[("Content-Type", "text/plain")], Some(10)).await;
    first.write_all(b"4a").await.unwrap();
    // Wait for the first POST to be registered: a GET never is pending here, so poll the state through a
    // request that cannot interfere: a second POST is refused only while the first is in progress.
    let second = loop {
        let r = server.post(&poll(&sid), b"4b").await;
        if r.status == 400 {
            break r;
        }
        assert_eq!(r.status, 200, "{}", r.text());
    };
    assert_eq!(second.status, 400);
    let (reason, description) = server.wait_close(&sid).await;
    assert_eq!(
        (reason, description.as_deref()),
        (CloseReason::TransportError, Some("data request overlap from client"))
    );
    // As the reference destroys it, the POST being read is dropped: its connection closes unanswered.
    let mut rest = Vec::new();
    // Closed, or reset: either way without a byte of answer.
    let _ = tokio::time::timeout(Duration::from_secs(5), first.read_to_end(&mut rest))
        .await
        .expect("the first POST's connection closes");
    assert!(rest.is_empty(), "the first POST got an answer: {:?}", String::from_utf8_lossy(&rest));
}

#[tokio::test]
async fn oversized_posts_get_413_and_the_session_stays_open() {
    let mut server = start(EngineConfig { max_http_buffer_size: 100, ..EngineConfig::default() }).await;
    let (sid, h) = server.handshake().await;
    assert_eq!(h.max_payload, Some(100));
    // Exactly at the limit is fine.
    let at_limit = format!("4{}", "x".repeat(99));
    assert_eq!(server.post(&poll(&sid), at_limit.as_bytes()).await.status, 200);
    assert_eq!(server.get(&poll(&sid)).await.text(), at_limit);
    // One byte over: 413 before the body is read in full. As the reference, the session stays open.
    let over = format!("4{}", "x".repeat(100));
    let res = server.post(&poll(&sid), over.as_bytes()).await;
    assert_eq!((res.status, res.body.len()), (413, 0));
    // A declared length over the limit is refused from the head alone (the body is never sent).
    let mut s =
        server.send_head("POST", &poll(&sid), &[("Content-Type", "text/plain")], Some(1_000_000_000)).await;
    assert_eq!(read_response(&mut s).await.status, 413);
    // A client that waits for `100 Continue` is told 413 instead, and is not asked for its body after.
    let mut s = server
        .send_head(
            "POST",
            &poll(&sid),
            &[("Content-Type", "text/plain"), ("Expect", "100-continue")],
            Some(5000),
        )
        .await;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut answer)).await.unwrap().unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert!(!answer.contains("100 Continue"), "{answer}");
    assert_eq!(server.post(&poll(&sid), b"4after").await.status, 200);
    assert_eq!(server.get(&poll(&sid)).await.text(), "4after");
    assert_eq!(server.engine.clients_count(), 1);
    while let Ok(e) = server.events.try_recv() {
        assert!(!matches!(e, Event::Close(..)), "{e:?}");
    }
}

/// The bytes of a polling POST body of `len` bytes (one message packet), framed with a `Content-Length`
/// or in 64 KiB chunks.
fn oversized_body(len: usize, chunked: bool) -> Vec<u8> {
    let mut payload = vec![b'x'; len];
    payload[0] = b'4';
    if !chunked {
        return payload;
    }
    let mut framed = Vec::with_capacity(len + len / 1000 + 16);
    for chunk in payload.chunks(64 * 1024) {
        framed.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        framed.extend_from_slice(chunk);
        framed.extend_from_slice(b"\r\n");
    }
    framed.extend_from_slice(b"0\r\n\r\n");
    framed
}

/// Sends the head of a POST of a `len`-byte body on session `sid`, framed with a `Content-Length` or
/// chunked; returns the connection.
async fn oversized_post_head(
    server: &common::TestServer,
    sid: &str,
    len: usize,
    chunked: bool,
) -> tokio::net::TcpStream {
    let text = ("Content-Type", "text/plain;charset=UTF-8");
    if chunked {
        server.send_head("POST", &poll(sid), &[text, ("Transfer-Encoding", "chunked")], None).await
    } else {
        server.send_head("POST", &poll(sid), &[text], Some(len)).await
    }
}

#[tokio::test]
async fn an_oversized_post_sent_in_full_before_reading_still_gets_its_413() {
    // The default limit (1e6), and a client that writes its whole request before it reads a byte: the
    // strictest peer. The server must read (and throw away) the rest of the body, or closing the
    // connection with unread data resets it and the answer is lost.
    let mut server = start(EngineConfig::default()).await;
    let (sid, _) = server.handshake().await;
    let (other, _) = server.handshake().await;
    for (times, chunked) in [(2, false), (10, false), (2, true), (10, true)] {
        let what = format!("{times}x the limit, {}", if chunked { "chunked" } else { "Content-Length" });
        let len = times * 1_000_000;
        let body = oversized_body(len, chunked);
        let mut conn = oversized_post_head(&server, &sid, len, chunked).await;
        // Half of the body, then another session goes on as usual while this one is being refused.
        let (first, second) = body.split_at(body.len() / 2);
        tokio::time::timeout(Duration::from_secs(30), conn.write_all(first))
            .await
            .unwrap_or_else(|_| panic!("{what}: the server stopped reading the body"))
            .unwrap_or_else(|e| panic!("{what}: the first half of the body was refused: {e}"));
        assert_eq!(server.post(&poll(&other), b"4other").await.status, 200, "{what}");
        assert_eq!(server.get(&poll(&other)).await.text(), "4other", "{what}");
        tokio::time::timeout(Duration::from_secs(30), conn.write_all(second))
            .await
            .unwrap_or_else(|_| panic!("{what}: the server stopped reading the body"))
            .unwrap_or_else(|e| panic!("{what}: the rest of the body was refused: {e}"));
        let res = read_response(&mut conn).await;
        assert_eq!((res.status, res.body.len()), (413, 0), "{what}: {}", res.text());
        // Nothing else comes on that connection: it ends cleanly (the request said `Connection: close`).
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut rest))
            .await
            .unwrap_or_else(|_| panic!("{what}: the connection stays open"))
            .unwrap_or_else(|e| panic!("{what}: the connection was reset: {e}"));
        assert!(rest.is_empty(), "{what}: {:?}", String::from_utf8_lossy(&rest));
        // As the reference: the session stays open and usable.
        assert_eq!(server.post(&poll(&sid), b"4after").await.status, 200, "{what}");
        assert_eq!(server.get(&poll(&sid)).await.text(), "4after", "{what}");
    }
    assert_eq!(server.engine.clients_count(), 2);
    while let Ok(e) = server.events.try_recv() {
        assert!(!matches!(e, Event::Close(..)), "{e:?}");
    }
}

#[tokio::test]
async fn a_kept_alive_connection_serves_the_next_request_after_an_oversized_post() {
    // The rest of the refused body is read, so the connection stays usable, as with the reference.
    let server = start(EngineConfig { max_http_buffer_size: 1000, ..EngineConfig::default() }).await;
    let (sid, _) = server.handshake().await;
    let mut conn = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut request = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 2000000\r\n\r\n",
        poll(&sid)
    )
    .into_bytes();
    request.extend_from_slice(&oversized_body(2_000_000, false));
    let after = format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 6\r\nConnection: close\r\n\r\n4again",
        poll(&sid)
    );
    request.extend_from_slice(after.as_bytes());
    conn.write_all(&request).await.unwrap();
    // Both answers, in order, then the end asked for by the second request.
    let mut answers = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut answers))
        .await
        .expect("both answers in time")
        .expect("the connection ends cleanly");
    let answers = String::from_utf8_lossy(&answers);
    let statuses: Vec<&str> =
        answers.match_indices("HTTP/1.1 ").map(|(i, _)| &answers[i + 9..i + 12]).collect();
    assert_eq!(statuses, ["413", "200"], "{answers}");
    assert!(answers.ends_with("\r\n\r\nok"), "{answers}");
    assert_eq!(server.get(&poll(&sid)).await.text(), "4again");
}

#[tokio::test]
async fn a_client_that_never_stops_sending_is_cut_off() {
    let config = EngineConfig {
        max_http_buffer_size: 1000,
        max_discarded_body_size: 1_000_000,
        ..EngineConfig::default()
    };
    let server = start(config).await;
    let (sid, _) = server.handshake().await;
    for chunked in [false, true] {
        // A body that announces (or, chunked, simply goes on for) far more than the server reads.
        let announced = 1usize << 40;
        let conn = oversized_post_head(&server, &sid, announced, chunked).await;
        let (mut reader, mut writer) = conn.into_split();
        let answer = tokio::spawn(async move {
            let mut got = Vec::new();
            let mut buf = [0u8; 1024];
            // The answer, then the end of the connection (a reset is an end too).
            while let Ok(n) = reader.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            got
        });
        let chunk = oversized_body(64 * 1024, chunked);
        // A chunked stream must not end: drop the final `0` chunk.
        let chunk = if chunked { chunk[..chunk.len() - 5].to_vec() } else { chunk };
        let mut sent = 0usize;
        let cut_off = tokio::time::timeout(Duration::from_secs(30), async {
            while writer.write_all(&chunk).await.is_ok() {
                sent += chunk.len();
            }
        })
        .await;
        assert!(cut_off.is_ok(), "chunked {chunked}: still sending after {sent} bytes");
        // What the server read is bounded; the kernel buffers hold the rest (at most some tens of MB).
        assert!(sent < 100_000_000, "chunked {chunked}: the server read {sent} bytes");
        let got = tokio::time::timeout(Duration::from_secs(5), answer).await.unwrap().unwrap();
        assert!(got.starts_with(b"HTTP/1.1 413 "), "chunked {chunked}: {:?}", String::from_utf8_lossy(&got));
    }
    // The session is unharmed.
    assert_eq!(server.post(&poll(&sid), b"4after").await.status, 200);
    assert_eq!(server.get(&poll(&sid)).await.text(), "4after");
}

#[tokio::test]
async fn a_client_that_trickles_an_oversized_body_is_cut_off_in_time() {
    let config = EngineConfig {
        max_http_buffer_size: 1000,
        discard_timeout: Duration::from_millis(300),
        ..EngineConfig::default()
    };
    let server = start(config).await;
    let (sid, _) = server.handshake().await;
    let conn = oversized_post_head(&server, &sid, 10_000_000, false).await;
    let (mut reader, mut writer) = conn.into_split();
    writer.write_all(&oversized_body(2000, false)).await.unwrap();
    let res = tokio::time::timeout(Duration::from_secs(5), async {
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = reader.read(&mut buf).await.unwrap();
            assert!(n > 0, "no answer");
            got.extend_from_slice(&buf[..n]);
        }
        got
    })
    .await
    .expect("the 413 comes at once");
    assert!(res.starts_with(b"HTTP/1.1 413 "), "{:?}", String::from_utf8_lossy(&res));
    // A byte every 20 ms (pacing of the client, not a wait for the server): the server gives up on the
    // body after its discard timeout and ends the connection.
    let trickle = async {
        loop {
            if writer.write_all(b"x").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let closed = async {
        let mut buf = [0u8; 64];
        while let Ok(n) = reader.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    };
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        tokio::select! {
            _ = trickle => {},
            _ = closed => {},
        }
    })
    .await;
    assert!(ended.is_ok(), "the connection is still open after 10 s of trickling");
    assert_eq!(server.post(&poll(&sid), b"4after").await.status, 200);
}

#[tokio::test]
async fn binary_bodies_are_refused_and_garbage_closes_the_session_in_v4() {
    let mut server = start(EngineConfig::default()).await;
    let (sid, _) = server.handshake().await;
    let res = server
        .request("POST", &poll(&sid), &[("Content-Type", "application/octet-stream")], b"\x00\x01")
        .await;
    assert_eq!(res.status, 400);
    let (reason, description) = server.wait_close(&sid).await;
    assert_eq!((reason, description.as_deref()), (CloseReason::TransportError, Some("invalid content")));

    // A packet that does not decode closes the session; the POST is answered as any other.
    let (sid, _) = server.handshake().await;
    let res = server.post(&poll(&sid), b"9nonsense").await;
    assert_eq!((res.status, res.text().as_str()), (200, "ok"));
    assert_eq!(server.wait_close(&sid).await.0, CloseReason::ParseError);

    // Text bodies are read as UTF-8 with replacement characters, as the reference reads them.
    let (sid, _) = server.handshake().await;
    assert_eq!(server.post(&poll(&sid), b"4\xff\xfe").await.status, 200);
    assert_eq!(server.get(&poll(&sid)).await.text(), "4\u{fffd}\u{fffd}");
}

#[tokio::test]
async fn packets_before_an_undecodable_one_are_handled() {
    let mut server = start_with(EngineConfig::default(), false).await;
    let (sid, _) = server.handshake().await;
    let res = server.post(&poll(&sid), b"4before\x1ezz\x1e4after").await;
    assert_eq!((res.status, res.text().as_str()), (200, "ok"));
    let first = server
        .wait_for(|e| match e {
            Event::Message(_, d) => d.as_text().map(str::to_owned),
            Event::Close(..) => Some("closed first".into()),
            _ => None,
        })
        .await;
    assert_eq!(first, "before");
    let after = server
        .wait_for(|e| match e {
            Event::Message(_, d) => d.as_text().map(str::to_owned),
            Event::Close(_, reason, _) => Some(reason.to_string()),
            _ => None,
        })
        .await;
    assert_eq!(after, "parse error");
}

/// Runs a GET and then a POST of `body` on a new session, and returns the GET's answer. The GET must be
/// waiting when the POST arrives; when it came second (it then finds the session gone), try again, a
/// little later each time.
async fn answer_of_a_waiting_get(server: &common::TestServer, body: &[u8]) -> String {
    for attempt in 0..10u64 {
        let (sid, _) = server.handshake().await;
        let mut get = server.send_head("GET", &poll(&sid), &[], None).await;
        tokio::time::sleep(Duration::from_millis(10 * attempt)).await;
        assert_eq!(server.post(&poll(&sid), body).await.status, 200);
        let res = read_response(&mut get).await;
        if res.status == 400 {
            continue;
        }
        return res.text();
    }
    panic!("the GET never was waiting when the POST arrived");
}

#[tokio::test]
async fn a_waiting_get_takes_the_packets_queued_before_a_parse_error() {
    let server = start(EngineConfig::default()).await;
    // The echo of the first packet is queued for the waiting GET just before the session closes: the
    // reference writes it to that GET at once, so it is its answer (not the close packet).
    assert_eq!(answer_of_a_waiting_get(&server, b"4before\x1ezz").await, "4before");
}

#[tokio::test]
async fn a_close_packet_releases_a_waiting_get_with_a_noop() {
    let server = start(EngineConfig::default()).await;
    assert_eq!(answer_of_a_waiting_get(&server, b"1").await, "6");
}

#[tokio::test]
async fn a_close_packet_from_the_client_closes_the_session() {
    let mut server = start(EngineConfig::default()).await;
    let (sid, _) = server.handshake().await;
    assert_eq!(server.post(&poll(&sid), b"4bye\x1e1\x1e4never").await.status, 200);
    let bye = server
        .wait_for(|e| match e {
            Event::Message(_, d) => d.as_text().map(str::to_owned),
            _ => None,
        })
        .await;
    assert_eq!(bye, "bye");
    assert_eq!(server.wait_close(&sid).await.0, CloseReason::TransportClose);
    assert_eq!(server.engine.clients_count(), 0);
    assert_eq!(
        server.get(&poll(&sid)).await.json(),
        serde_json::json!({"code": 1, "message": "Session ID unknown"})
    );
}

#[tokio::test]
async fn server_close_delivers_queued_packets_then_close() {
    let mut server = start_with(EngineConfig::default(), false).await;
    let (sid, _) = server.handshake().await;
    let socket = server.engine.socket(&sid).unwrap();
    socket.send_text("last words").unwrap();
    socket.close();
    assert_eq!(socket.send_text("too late"), Err(SendError::Closed));
    // As the reference: the queued packets go out first, and the close packet in the next response, so
    // that the client handles them before it hears of the close.
    assert_eq!(server.get(&poll(&sid)).await.text(), "4last words");
    assert_eq!(server.get(&poll(&sid)).await.text(), "1");
    assert_eq!(server.wait_close(&sid).await.0, CloseReason::ForcedClose);
}

#[tokio::test]
async fn server_close_answers_a_pending_get_at_once() {
    let mut server = start_with(EngineConfig::default(), false).await;
    let (sid, _) = server.handshake().await;
    let socket = server.engine.socket(&sid).unwrap();
    let mut get = server.send_head("GET", &poll(&sid), &[], None).await;
    // The GET is answered whether it arrives before or after the packet.
    socket.send_text("ready").unwrap();
    assert_eq!(read_response(&mut get).await.text(), "4ready");
    // A waiting GET (or one arriving later) gets the close packet alone.
    let mut get = server.send_head("GET", &poll(&sid), &[], None).await;
    socket.close();
    assert_eq!(read_response(&mut get).await.text(), "1");
    assert_eq!(server.wait_close(&sid).await.0, CloseReason::ForcedClose);
}

#[tokio::test]
async fn volatile_packets_never_pile_up() {
    let server = start_with(EngineConfig::default(), false).await;
    let (sid, _) = server.handshake().await;
    let socket = server.engine.socket(&sid).unwrap();
    let volatile = SendOptions { volatile: true, ..SendOptions::default() };
    // One volatile packet waits for the next GET; more are dropped while it waits.
    socket.send(Packet::message("taken"), volatile).unwrap();
    assert_eq!(socket.send(Packet::message("dropped"), volatile), Err(SendError::Dropped));
    socket.send_text("kept").unwrap();
    assert_eq!(server.get(&poll(&sid)).await.text(), "4taken\x1e4kept");
    socket.send(Packet::message("next write"), volatile).unwrap();
    assert_eq!(server.get(&poll(&sid)).await.text(), "4next write");
    // A client that does not keep up: once 16 packets wait, volatile packets are dropped.
    for i in 0..16 {
        socket.send_text(format!("m{i}")).unwrap();
    }
    assert_eq!(socket.send(Packet::message("late"), volatile), Err(SendError::Dropped));
}

#[tokio::test]
async fn a_full_send_queue_closes_the_session_or_drops_by_policy() {
    let mut server =
        start_with(EngineConfig { max_buffered_packets: 3, ..EngineConfig::default() }, false).await;
    let (sid, _) = server.handshake().await;
    let socket = server.engine.socket(&sid).unwrap();
    for i in 0..3 {
        socket.send_text(format!("m{i}")).unwrap();
    }
    assert_eq!(socket.send_text("m3"), Err(SendError::Overflow));
    let (reason, description) = server.wait_close(&sid).await;
    assert_eq!((reason, description.as_deref()), (CloseReason::TransportError, Some("send buffer full")));

    let config = EngineConfig {
        max_buffered_packets: 2,
        overflow: OverflowPolicy::DropPacket,
        ..EngineConfig::default()
    };
    let server = start_with(config, false).await;
    let (sid, _) = server.handshake().await;
    let socket = server.engine.socket(&sid).unwrap();
    socket.send_text("a").unwrap();
    socket.send_text("b").unwrap();
    assert_eq!(socket.send_text("c"), Err(SendError::Dropped));
    assert_eq!(server.get(&poll(&sid)).await.text(), "4a\x1e4b");
}

fn gunzip(b: &[u8]) -> String {
    let mut s = String::new();
    flate2::read::GzDecoder::new(b).read_to_string(&mut s).unwrap();
    s
}

#[tokio::test]
async fn large_polling_responses_are_compressed_when_accepted() {
    let server = start_with(EngineConfig::default(), false).await;
    let (sid, _) = server.handshake().await;
    let socket = server.engine.socket(&sid).unwrap();
    let big = "a".repeat(5000);
    socket.send_text(big.clone()).unwrap();
    let res = server.request("GET", &poll(&sid), &[("Accept-Encoding", "gzip, deflate")], b"").await;
    assert_eq!(res.header("content-encoding"), Some("gzip"));
    assert!(res.body.len() < 1000);
    assert_eq!(gunzip(&res.body), format!("4{big}"));
    // deflate when it is the only one accepted.
    socket.send_text(big.clone()).unwrap();
    let res = server.request("GET", &poll(&sid), &[("Accept-Encoding", "deflate")], b"").await;
    assert_eq!(res.header("content-encoding"), Some("deflate"));
    let mut s = String::new();
    flate2::read::ZlibDecoder::new(&res.body[..]).read_to_string(&mut s).unwrap();
    assert_eq!(s, format!("4{big}"));
    // Below the threshold, not accepted, or opted out: sent as it is.
    socket.send_text("small").unwrap();
    let res = server.request("GET", &poll(&sid), &[("Accept-Encoding", "gzip")], b"").await;
    assert_eq!((res.header("content-encoding"), res.text().as_str()), (None, "4small"));
    socket.send_text(big.clone()).unwrap();
    assert_eq!(server.get(&poll(&sid)).await.header("content-encoding"), None);
    socket
        .send(Packet::message(big.clone()), SendOptions { compress: false, ..SendOptions::default() })
        .unwrap();
    let res = server.request("GET", &poll(&sid), &[("Accept-Encoding", "gzip")], b"").await;
    assert_eq!(res.header("content-encoding"), None);

    let server = start_with(EngineConfig { http_compression: None, ..EngineConfig::default() }, false).await;
    let (sid, _) = server.handshake().await;
    server.engine.socket(&sid).unwrap().send_text(big).unwrap();
    let res = server.request("GET", &poll(&sid), &[("Accept-Encoding", "gzip")], b"").await;
    assert_eq!(res.header("content-encoding"), None);
}

#[tokio::test]
async fn a_get_that_goes_away_closes_the_session() {
    let mut server = start_with(EngineConfig::default(), false).await;
    let (sid, _) = server.handshake().await;
    let socket = server.engine.socket(&sid).unwrap();
    let get = server.send_head("GET", &poll(&sid), &[], None).await;
    // The GET is pending (nothing is queued); the client goes away without waiting for the answer.
    assert_eq!(socket.buffered(), 0);
    drop(get);
    let (reason, description) = server.wait_close(&sid).await;
    assert_eq!(
        (reason, description.as_deref()),
        (CloseReason::TransportError, Some("poll connection closed prematurely"))
    );
}

#[tokio::test]
async fn protocol_v3_polling_uses_length_prefixed_payloads() {
    let mut server = start(EngineConfig { allow_eio3: true, ..EngineConfig::default() }).await;
    let res = server.get("/engine.io/?EIO=3&transport=polling&b64=1").await;
    let text = res.text();
    let (len, packet) = text.split_once(':').unwrap();
    assert_eq!(len.parse::<usize>().unwrap(), packet.encode_utf16().count());
    let h = engineio_server::parser::Handshake::from_json(&packet[1..]).unwrap();
    let path = format!("/engine.io/?EIO=3&transport=polling&b64=1&sid={}", h.sid);
    assert_eq!(server.post(&path, "2:4€10:b4AQIDBA==".as_bytes()).await.status, 200);
    let first = server
        .wait_for(|e| match e {
            Event::Message(_, d) => Some(d.clone()),
            _ => None,
        })
        .await;
    assert_eq!(first.as_text(), Some("€"));
    server
        .wait_for(|e| match e {
            Event::Message(_, d) if d.is_binary() => Some(()),
            _ => None,
        })
        .await;
    // b64=1: binary goes back base64-encoded inside the string payload.
    assert_eq!(server.get(&path).await.text(), "2:4€10:b4AQIDBA==");
    // Without b64, a payload holding binary uses the binary form.
    let res = server.get("/engine.io/?EIO=3&transport=polling").await;
    let text = res.text();
    let sid = text[text.find("\"sid\":\"").unwrap() + 7..].split('"').next().unwrap().to_string();
    let path = format!("/engine.io/?EIO=3&transport=polling&sid={sid}");
    let body = [0x01, 0x05, 0xff, 0x04, 1, 2, 3, 4];
    assert_eq!(
        server.request("POST", &path, &[("Content-Type", "application/octet-stream")], &body).await.status,
        200
    );
    let res = server.get(&path).await;
    assert_eq!(res.header("content-type"), Some("application/octet-stream"));
    assert_eq!(&res.body[..], &body);
}
