//! Inputs found by the `engine_request` fuzz target (`cargo xtask fuzz engine_request`), replayed
//! in process as that target runs them: requests through `EngineIo::handle` on a current-thread runtime
//! whose clock is paused (time moves only when every task waits), each case bounded by a real-time
//! watchdog so that a regression fails instead of hanging.

#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use engineio_server::parser::{v4, Handshake, PacketData, PacketType};
use engineio_server::{EngineConfig, EngineIo, Handler, Socket};
use http::Request;
use http_body_util::{BodyExt, Full};
use std::time::Duration;

/// Runs `case` on a paused-clock runtime in its own thread; fails when it takes over 10 real seconds.
fn replay<F>(case: impl FnOnce() -> F + Send + 'static)
where
    F: std::future::Future<Output = ()>,
{
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
        runtime.block_on(case());
        let _ = done.send(());
    });
    match finished.recv_timeout(Duration::from_secs(10)) {
        Ok(()) => {}
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("the case did not finish: a task spins"),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("the case panicked"),
    }
}

/// The fuzz target's handler, as far as these cases need it: a message starting with `!` closes the
/// session.
struct CloseOnBang;

impl Handler for CloseOnBang {
    fn on_message(&self, socket: &Socket, data: PacketData) {
        if data.as_text().is_some_and(|t| t.starts_with('!')) {
            socket.close();
        }
    }
}

async fn send(engine: &EngineIo, method: &str, uri: &str, body: &'static str) -> (u16, Bytes) {
    let req = Request::builder().method(method).uri(uri).body(Full::new(Bytes::from_static(body.as_bytes())));
    let res = engine.handle(req.unwrap()).await;
    (res.status().as_u16(), res.into_body().collect().await.unwrap().to_bytes())
}

/// Input `GET /engine.io/?EIO=4&transport=polling\n---\nPOST ...&sid=$SID\n:wait 10\n\n4!`: a polling
/// session closed by the server (`Socket::close`) whose ping came due while it waited for the client's
/// last GET. Its task woke for that ping time at once, again and again, until the close timeout: a core
/// at 100% for up to `close_timeout` (30 s by default) in real time, and no progress at all on a paused
/// clock.
#[test]
fn closing_polling_session_does_not_spin_on_its_ping_time() {
    replay(|| async {
        let config = EngineConfig {
            ping_interval: Duration::from_millis(250),
            ping_timeout: Duration::from_millis(200),
            close_timeout: Duration::from_millis(500),
            ..EngineConfig::default()
        };
        let engine = EngineIo::new(config, CloseOnBang);
        let (status, body) = send(&engine, "GET", "/engine.io/?EIO=4&transport=polling", "").await;
        assert_eq!(status, 200);
        let open = v4::decode_payload(body, usize::MAX).unwrap().remove(0);
        assert_eq!(open.ty, PacketType::Open);
        let sid = Handshake::from_json(open.data.as_text().unwrap()).unwrap().sid;

        let uri = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
        assert_eq!(send(&engine, "POST", &uri, "4!").await.0, 200);
        // The ping time (250 ms) passes while the session waits for a GET that never comes; it closes
        // at its close timeout (500 ms).
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert!(engine.socket(&sid).is_none());
        assert_eq!(engine.clients_count(), 0);
    });
}
