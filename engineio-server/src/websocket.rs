//! The websocket transport: the HTTP upgrade, frames to packets and back, and the probe of an upgrade
//! from polling.

use crate::config::TransportKind;
use crate::handler::SessionEvent;
use crate::request::EngineBody;
use crate::session::{ReadyState, Socket};
use bytes::Bytes;
use engineio_parser::{v3, v4, Frame, Packet, PacketType, ProtocolVersion, Str};
use futures_util::{SinkExt, StreamExt};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

/// The websocket of a session.
pub(crate) type WsStream = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Whether the request asks for a websocket upgrade (`Connection: upgrade`, `Upgrade: websocket`, a key).
pub(crate) fn is_upgrade_request(headers: &HeaderMap) -> bool {
    let connection_upgrade = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
    let upgrade_websocket = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"));
    connection_upgrade && upgrade_websocket && headers.contains_key(header::SEC_WEBSOCKET_KEY)
}

/// The `101 Switching Protocols` answer to a websocket request.
pub(crate) fn switching_protocols(headers: &HeaderMap) -> Response<EngineBody> {
    let key = headers.get(header::SEC_WEBSOCKET_KEY).map(|k| k.as_bytes()).unwrap_or_default();
    let mut res = Response::new(Full::new(Bytes::new()));
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = res.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key)) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    res
}

/// The websocket settings of a session: small buffers that grow on demand (an idle session must stay
/// small; the read buffer is reserved again before each read, so a large message grows it), and messages
/// no larger than `maxHttpBufferSize`.
pub(crate) fn ws_config(max_payload: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(64 * 1024)
        .max_message_size(Some(max_payload))
        .max_frame_size(Some(max_payload))
}

/// Turns an upgraded connection into a websocket.
pub(crate) async fn accept(upgraded: hyper::upgrade::Upgraded, max_payload: usize) -> WsStream {
    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(ws_config(max_payload))).await
}

/// The websocket message carrying `packet`.
pub(crate) fn to_message(protocol: ProtocolVersion, packet: &Packet) -> Message {
    let frame = match protocol {
        ProtocolVersion::V4 => v4::encode_frame(packet),
        ProtocolVersion::V3 => v3::encode_frame(packet),
    };
    match frame {
        Frame::Text(s) => Message::Text(utf8(s)),
        Frame::Binary(b) => Message::Binary(b),
    }
}

/// A websocket text message of `text`, shared as it is.
pub(crate) fn text_message(text: Str) -> Message {
    Message::Text(utf8(text))
}

fn utf8(s: Str) -> Utf8Bytes {
    let bytes = s.into_bytes();
    // The text of a `Str` is valid UTF-8 by construction; the checked path is a fallback only.
    Utf8Bytes::try_from(bytes).unwrap_or_default()
}

/// The packet a websocket message carries; `None` for control frames.
pub(crate) fn from_message(
    protocol: ProtocolVersion,
    message: Message,
) -> Result<Option<Packet>, engineio_parser::Error> {
    let frame = match message {
        Message::Text(t) => {
            Frame::Text(Str::from_utf8(Bytes::from(t)).map_err(|_| engineio_parser::Error::InvalidUtf8)?)
        }
        Message::Binary(b) => Frame::Binary(b),
        _ => return Ok(None),
    };
    match protocol {
        ProtocolVersion::V4 => v4::decode_frame(frame).map(Some),
        ProtocolVersion::V3 => v3::decode_frame(frame).map(Some),
    }
}

/// Runs the upgrade of a polling session to `ws`: answers the probe, releases the pending GET, waits for
/// the upgrade packet and hands the websocket to the session's driver. Gives up (closing `ws`) on any
/// other packet or after `upgradeTimeout`.
pub(crate) async fn upgrade(socket: Socket, mut ws: WsStream) {
    // The probe ends when the session closes meanwhile (the reference drops the upgrade then too).
    let closed = socket.0.closed_wake.notified();
    let mut closed = std::pin::pin!(closed);
    closed.as_mut().enable();
    let allowed = {
        let mut st = socket.lock();
        let allowed = st.ready == ReadyState::Open
            && !st.upgrading
            && !st.upgraded
            && st.transport == TransportKind::Polling;
        st.upgrading |= allowed;
        allowed
    };
    if !allowed {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), ws.close(None)).await;
        return;
    }
    let protocol = socket.protocol();
    let handler = socket.0.shared.handler.clone();
    let probe = async {
        loop {
            let packet = match ws.next().await {
                Some(Ok(message)) => match from_message(protocol, message) {
                    Ok(Some(p)) => p,
                    Ok(None) => continue,
                    Err(_) => return false,
                },
                _ => return false,
            };
            if packet.ty == PacketType::Ping && packet.is_probe() {
                if ws.send(to_message(protocol, &Packet::pong_probe())).await.is_err() {
                    return false;
                }
                handler.on_session_event(&socket, SessionEvent::Upgrading(TransportKind::WebSocket));
                let mut st = socket.lock();
                st.probe_done = true;
                if st.poll_pending {
                    socket.0.poll_wake.notify_one();
                }
                drop(st);
            } else {
                return packet.ty == PacketType::Upgrade;
            }
        }
    };
    let upgraded = tokio::select! {
        upgraded = tokio::time::timeout(socket.0.shared.config.upgrade_timeout, probe) => {
            upgraded.unwrap_or(false)
        }
        _ = closed.as_mut() => false,
    };
    let rejected = {
        let mut st = socket.lock();
        st.upgrading = false;
        st.probe_done = false;
        if upgraded && st.ready == ReadyState::Open {
            st.transport = TransportKind::WebSocket;
            st.upgraded = true;
            st.pending_ws = Some(ws);
            if st.poll_pending {
                socket.0.poll_wake.notify_one();
            }
            None
        } else {
            Some(ws)
        }
    };
    if let Some(mut ws) = rejected {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), ws.close(None)).await;
        return;
    }
    socket.0.driver_wake.notify_one();
    socket.record_transport(TransportKind::WebSocket);
    handler.on_session_event(&socket, SessionEvent::Upgrade(TransportKind::WebSocket));
}
