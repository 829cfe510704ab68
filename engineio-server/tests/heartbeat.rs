//! The heartbeat: server pings in v4, client pings in v3, and the timeouts of both.

#![allow(clippy::unwrap_used)]

mod common;

use common::{start, Event};
use engineio_server::parser::Handshake;
use engineio_server::{CloseReason, EngineConfig};
use std::time::Duration;

fn short() -> EngineConfig {
    EngineConfig {
        ping_interval: Duration::from_millis(50),
        ping_timeout: Duration::from_millis(100),
        allow_eio3: true,
        ..EngineConfig::default()
    }
}

#[tokio::test]
async fn v4_server_pings_and_a_client_that_answers_stays() {
    let mut server = start(short()).await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    let h = Handshake::from_json(&ws.next_text().await[1..]).unwrap();
    assert_eq!((h.ping_interval, h.ping_timeout), (50, 100));
    for _ in 0..4 {
        assert_eq!(ws.next_text().await, "2");
        ws.send_text("3").await;
        server
            .wait_for(|e| match e {
                Event::Heartbeat(_) => Some(()),
                _ => None,
            })
            .await;
    }
    assert!(server.engine.socket(&h.sid).is_some());
}

#[tokio::test]
async fn v4_client_that_does_not_answer_times_out() {
    let mut server = start(short()).await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    let h = Handshake::from_json(&ws.next_text().await[1..]).unwrap();
    assert_eq!(ws.next_text().await, "2");
    assert_eq!(server.wait_close(&h.sid).await.0, CloseReason::PingTimeout);
    assert_eq!(ws.next().await, None);
}

#[tokio::test]
async fn v4_polling_client_that_does_not_answer_times_out() {
    let mut server = start(short()).await;
    let (sid, _) = server.handshake().await;
    let res = server.get(&format!("/engine.io/?EIO=4&transport=polling&sid={sid}")).await;
    assert_eq!(res.text(), "2");
    assert_eq!(server.wait_close(&sid).await.0, CloseReason::PingTimeout);
    let res = server.get(&format!("/engine.io/?EIO=4&transport=polling&sid={sid}")).await;
    assert_eq!(res.json()["code"], 1);
}

#[tokio::test]
async fn v4_client_ping_is_the_wrong_direction() {
    let mut server = start(EngineConfig::default()).await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    let h = Handshake::from_json(&ws.next_text().await[1..]).unwrap();
    ws.send_text("2").await;
    let (reason, description) = server.wait_close(&h.sid).await;
    assert_eq!(
        (reason, description.as_deref()),
        (CloseReason::TransportError, Some("invalid heartbeat direction"))
    );
}

#[tokio::test]
async fn v3_client_pings_keep_the_session_and_silence_ends_it() {
    let mut server = start(short()).await;
    let mut ws = server.ws("EIO=3&transport=websocket").await;
    let h = Handshake::from_json(&ws.next_text().await[1..]).unwrap();
    for _ in 0..4 {
        ws.send_text("2").await;
        assert_eq!(ws.next_text().await, "3");
    }
    // v3: the server never pings, and waits pingInterval + pingTimeout for the next client ping.
    let started = tokio::time::Instant::now();
    assert_eq!(server.wait_close(&h.sid).await.0, CloseReason::PingTimeout);
    assert!(started.elapsed() >= Duration::from_millis(100), "closed after {:?}", started.elapsed());
    // A pong from a v3 client is the wrong direction.
    let mut ws = server.ws("EIO=3&transport=websocket").await;
    let h = Handshake::from_json(&ws.next_text().await[1..]).unwrap();
    ws.send_text("3").await;
    assert_eq!(server.wait_close(&h.sid).await.0, CloseReason::TransportError);
}

/// A GET sent at `at` on a connection opened beforehand (so that connecting adds no delay).
async fn get_at(server: &common::TestServer, sid: &str, at: tokio::time::Instant) -> common::HttpResponse {
    use tokio::io::AsyncWriteExt;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    tokio::time::sleep_until(at).await;
    let head = format!(
        "GET /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    common::read_response(&mut stream).await
}

/// The official suite's "closes the session upon ping timeout": a polling client that never fetches
/// the ping is unknown (400, code 1) by the time pingInterval + pingTimeout have passed since its
/// handshake, never answered 200; halfway through the ping timeout it gets the ping.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polling_session_is_unknown_as_soon_as_its_ping_times_out() {
    let config = EngineConfig {
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_millis(200),
        ..EngineConfig::default()
    };
    let server = std::sync::Arc::new(start(config).await);
    for _round in 0..6 {
        let mut clients = Vec::new();
        for i in 0..8 {
            let server = server.clone();
            clients.push(tokio::spawn(async move {
                let (sid, _) = server.handshake().await;
                let opened = tokio::time::Instant::now();
                if i % 4 == 0 {
                    // The ping was queued at +300 ms and times out at +500 ms: at +400 ms it is there.
                    let res = get_at(&server, &sid, opened + Duration::from_millis(400)).await;
                    assert_eq!((res.status, res.text()), (200, "2".to_string()));
                    return;
                }
                let res = get_at(&server, &sid, opened + Duration::from_millis(500)).await;
                assert_eq!(res.status, 400, "{}", res.text());
                assert_eq!(res.json(), serde_json::json!({"code": 1, "message": "Session ID unknown"}));
            }));
        }
        for client in clients {
            client.await.unwrap();
        }
    }
}
