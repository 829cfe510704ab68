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
