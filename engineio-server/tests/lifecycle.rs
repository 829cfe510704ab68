//! Engine-wide behaviour: shutdown, session events, and mounting as a tower layer.

#![allow(clippy::unwrap_used)]

mod common;

use bytes::Bytes;
use common::{read_response, start, Event};
use engineio_server::parser::Handshake;
use engineio_server::{CloseReason, EngineConfig, EngineIo, EngineLayer, NoopHandler};
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use std::time::{Duration, Instant};
use tower::{Layer, ServiceExt};

#[tokio::test]
async fn close_ends_every_session_and_refuses_new_ones() {
    let mut server = start(EngineConfig::default()).await;
    let (polling_sid, _) = server.handshake().await;
    let mut pending = server
        .send_head("GET", &format!("/engine.io/?EIO=4&transport=polling&sid={polling_sid}"), &[], None)
        .await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    let ws_sid = Handshake::from_json(&ws.next_text().await[1..]).unwrap().sid;
    assert_eq!(server.engine.clients_count(), 2);
    let began = Instant::now();
    server.engine.close().await;
    assert!(began.elapsed() < Duration::from_secs(1), "close took {:?}", began.elapsed());
    assert_eq!(server.engine.clients_count(), 0);
    assert_eq!(read_response(&mut pending).await.text(), "1");
    assert_eq!(ws.next().await, None);
    // Both sessions close, in either order, with the shutdown reason.
    let mut closed = Vec::new();
    while closed.len() < 2 {
        closed.push(
            server
                .wait_for(|e| match e {
                    Event::Close(s, r, _) => Some((s.clone(), *r)),
                    _ => None,
                })
                .await,
        );
    }
    closed.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected =
        vec![(polling_sid, CloseReason::ServerShuttingDown), (ws_sid, CloseReason::ServerShuttingDown)];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(closed, expected);
    // New handshakes are refused, and the listener stops accepting.
    let req = Request::get("/engine.io/?EIO=4&transport=polling").body(Full::new(Bytes::new())).unwrap();
    assert_eq!(server.engine.handle(req).await.status(), 503);
    server._handle.stopped().await;
    assert!(tokio::net::TcpStream::connect(server.addr).await.is_err());
}

#[tokio::test]
async fn session_events_are_reported() {
    let mut server = start(EngineConfig::default()).await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    let sid = Handshake::from_json(&ws.next_text().await[1..]).unwrap().sid;
    ws.send_text("4ping-me").await;
    assert_eq!(
        server
            .wait_for(|e| match e {
                Event::PacketIn(s, t) if *s == sid => Some(t.clone()),
                _ => None,
            })
            .await,
        "Message"
    );
    assert_eq!(
        server
            .wait_for(|e| match e {
                Event::PacketCreate(s, t) if *s == sid => Some(t.clone()),
                _ => None,
            })
            .await,
        "Message"
    );
    assert!(
        server
            .wait_for(|e| match e {
                Event::Flush(s, n) if *s == sid => Some(*n),
                _ => None,
            })
            .await
            >= 1
    );
    assert_eq!(ws.next_text().await, "4ping-me");
}

#[tokio::test]
async fn packets_sent_on_connection_follow_the_open_packet() {
    struct Greeter;
    impl engineio_server::Handler for Greeter {
        fn on_connection(&self, socket: &engineio_server::Socket) {
            let _ = socket.send_text("welcome");
        }
    }
    let engine = EngineIo::new(EngineConfig::default(), Greeter);
    let handle = engine.listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (_tx, events) = tokio::sync::mpsc::unbounded_channel();
    let server = common::TestServer { engine, addr: handle.local_addr(), events, _handle: handle };
    let first = server.get("/engine.io/?EIO=4&transport=polling").await.text();
    assert!(first.starts_with("0{") && !first.contains("welcome"), "{first}");
    let sid = Handshake::from_json(&first[1..]).unwrap().sid;
    assert_eq!(
        server.get(&format!("/engine.io/?EIO=4&transport=polling&sid={sid}")).await.text(),
        "4welcome"
    );
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    assert!(ws.next_text().await.starts_with("0{"));
    assert_eq!(ws.next_text().await, "4welcome");
}

#[tokio::test]
async fn the_layer_serves_its_path_and_passes_the_rest() {
    let engine = EngineIo::new(EngineConfig::default(), NoopHandler);
    let inner = tower::service_fn(|_req: Request<Full<Bytes>>| async {
        Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from_static(b"inner app"))))
    });
    let service = EngineLayer::new(engine.clone()).layer(inner);
    let res =
        service.clone().oneshot(Request::get("/hello").body(Full::new(Bytes::new())).unwrap()).await.unwrap();
    assert_eq!(res.into_body().collect().await.unwrap().to_bytes(), Bytes::from_static(b"inner app"));
    let req = Request::get("/engine.io/?EIO=4&transport=polling").body(Full::new(Bytes::new())).unwrap();
    let res = service.oneshot(req).await.unwrap();
    assert_eq!(res.status(), 200);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert!(body.starts_with(b"0{\"sid\""), "{body:?}");
    assert_eq!(engine.clients_count(), 1);
}

#[tokio::test]
async fn websocket_writes_are_coalesced_into_one_flush() {
    let mut server = common::start_with(EngineConfig::default(), false).await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    let sid = Handshake::from_json(&ws.next_text().await[1..]).unwrap().sid;
    server
        .wait_for(|e| match e {
            Event::Flush(s, 1) if *s == sid => Some(()),
            _ => None,
        })
        .await;
    // Three packets queued before the session's task runs again go out in one write.
    let socket = server.engine.socket(&sid).unwrap();
    for text in ["a", "b", "c"] {
        socket.send_text(text).unwrap();
    }
    assert_eq!(
        server
            .wait_for(|e| match e {
                Event::Flush(s, n) if *s == sid => Some(*n),
                _ => None,
            })
            .await,
        3
    );
    for text in ["4a", "4b", "4c"] {
        assert_eq!(ws.next_text().await, text);
    }
}

/// The sessions' close events, by sid, until `n` have come.
async fn close_reasons(server: &mut common::TestServer, n: usize) -> Vec<(String, CloseReason)> {
    let mut closed = Vec::new();
    while closed.len() < n {
        closed.push(
            server
                .wait_for(|e| match e {
                    Event::Close(s, r, _) => Some((s.clone(), *r)),
                    _ => None,
                })
                .await,
        );
    }
    closed.sort_by(|a, b| a.0.cmp(&b.0));
    closed
}

#[tokio::test]
async fn close_does_not_wait_for_polling_clients_between_two_gets() {
    let mut server = start(EngineConfig::default()).await;
    let (idle, _) = server.handshake().await;
    let (with_packet, _) = server.handshake().await;
    server.engine.socket(&with_packet).unwrap().send_text("queued").unwrap();
    // Closed by the application, waiting (up to the 30 s close timeout) for its next GET.
    let (closing, _) = server.handshake().await;
    server.engine.socket(&closing).unwrap().close();
    let began = Instant::now();
    server.engine.close().await;
    assert!(began.elapsed() < Duration::from_secs(1), "close took {:?}", began.elapsed());
    assert_eq!(server.engine.clients_count(), 0);
    let mut expected = vec![
        (idle, CloseReason::ServerShuttingDown),
        (with_packet, CloseReason::ServerShuttingDown),
        (closing, CloseReason::ForcedClose),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(close_reasons(&mut server, 3).await, expected);
    server._handle.stopped().await;
    assert!(tokio::net::TcpStream::connect(server.addr).await.is_err());
}

#[tokio::test]
async fn close_ends_an_upgrade_in_progress() {
    let mut server = start(EngineConfig::default()).await;
    let (sid, _) = server.handshake().await;
    let mut ws = server.ws(&format!("EIO=4&transport=websocket&sid={sid}")).await;
    ws.send_text("2probe").await;
    assert_eq!(ws.next_text().await, "3probe");
    let began = Instant::now();
    server.engine.close().await;
    assert!(began.elapsed() < Duration::from_secs(1), "close took {:?}", began.elapsed());
    // The probing websocket is closed with the session, not left to the upgrade timeout.
    assert_eq!(ws.next().await, None);
    assert_eq!(close_reasons(&mut server, 1).await, vec![(sid, CloseReason::ServerShuttingDown)]);
}

#[tokio::test]
async fn close_cuts_a_websocket_that_stopped_reading_at_the_write_deadline() {
    let mut server = start(EngineConfig::default()).await;
    // The client never reads: the server's writes stall once the socket buffers are full.
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    let sid = Handshake::from_json(&ws.next_text().await[1..]).unwrap().sid;
    let socket = server.engine.socket(&sid).unwrap();
    let chunk = "x".repeat(1 << 20);
    for _ in 0..64 {
        socket.send_text(chunk.as_str()).unwrap();
    }
    server
        .wait_for(|e| match e {
            Event::Flush(s, n) if *s == sid && *n > 1 => Some(()),
            _ => None,
        })
        .await;
    let began = Instant::now();
    server.engine.close().await;
    let limit = engineio_server::SHUTDOWN_WRITE_TIMEOUT + Duration::from_secs(1);
    assert!(began.elapsed() < limit, "close took {:?}", began.elapsed());
    assert_eq!(server.engine.clients_count(), 0);
    assert_eq!(close_reasons(&mut server, 1).await, vec![(sid, CloseReason::ServerShuttingDown)]);
}

#[tokio::test]
async fn close_is_prompt_with_many_sessions_and_closes_idle_connections() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut server = start(EngineConfig::default()).await;
    let handshakes = futures_util::future::join_all((0..200).map(|_| server.handshake())).await;
    let mut sids: Vec<String> = handshakes.into_iter().map(|(sid, _)| sid).collect();
    let mut sockets = Vec::new();
    for _ in 0..20 {
        let mut ws = server.ws("EIO=4&transport=websocket").await;
        sids.push(Handshake::from_json(&ws.next_text().await[1..]).unwrap().sid);
        sockets.push(ws);
    }
    // Finished HTTP requests on keep-alive connections, left open and idle.
    let mut idle = Vec::new();
    for _ in 0..20 {
        let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let head = format!("GET /elsewhere HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr);
        stream.write_all(head.as_bytes()).await.unwrap();
        assert_eq!(read_response(&mut stream).await.status, 404);
        idle.push(stream);
    }
    assert_eq!(server.engine.clients_count(), 220);
    let began = Instant::now();
    server.engine.close().await;
    assert!(began.elapsed() < Duration::from_secs(1), "close took {:?}", began.elapsed());
    assert_eq!(server.engine.clients_count(), 0);
    let mut expected: Vec<_> = sids.into_iter().map(|s| (s, CloseReason::ServerShuttingDown)).collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(close_reasons(&mut server, 220).await, expected);
    for ws in &mut sockets {
        assert_eq!(ws.next().await, None);
    }
    // The server closed the idle connections.
    for stream in &mut idle {
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await;
        assert!(matches!(read, Ok(Ok(0)) | Ok(Err(_))), "{read:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_request_whose_head_trickles_in_is_cut_off_by_the_header_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = start(EngineConfig::default()).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let began = tokio::time::Instant::now();
    stream
        .write_all(b"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    // One more header byte every 2 s: the head never completes (slowloris).
    let mut buf = [0u8; 512];
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => {
                // Closed (perhaps after a 408): the server gave up on this connection.
                let _ = read;
                break;
            }
            _ = tokio::time::sleep(std::time::Duration::from_secs(2)) => {
                if stream.write_all(b"x").await.is_err() {
                    break;
                }
            }
        }
        assert!(began.elapsed() < std::time::Duration::from_secs(60), "still open after 60 s");
    }
    let elapsed = began.elapsed();
    assert!(
        (std::time::Duration::from_secs(10)..std::time::Duration::from_secs(15)).contains(&elapsed),
        "cut off after {elapsed:?}, not at the 10 s header timeout"
    );
    assert_eq!(server.engine.clients_count(), 0);
}
