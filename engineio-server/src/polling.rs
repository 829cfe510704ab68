//! HTTP long-polling: the GET that waits for packets and the POST that delivers them.

use crate::config::EngineConfig;
use crate::handler::{CloseReason, SessionEvent};
use crate::request::{self, EngineBody, RequestInfo};
use crate::session::{Outgoing, ReadyState, Socket};
use bytes::Bytes;
use engineio_parser::{v3, v4, BodyCollector, Frame, Packet, PacketType, ProtocolVersion, Str};
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full};
use std::pin::Pin;
use std::time::Duration;

/// Marks the pending GET of a session; if the request goes away before it is answered (the client
/// disconnected), the session closes as the reference does.
struct PendingPoll<'a> {
    socket: &'a Socket,
    answered: bool,
}

impl Drop for PendingPoll<'_> {
    fn drop(&mut self) {
        if !self.answered {
            self.socket.lock().poll_pending = false;
            self.socket.close_with(CloseReason::TransportError, Some("poll connection closed prematurely"));
        }
    }
}

/// Answers a GET with the packets queued for the session, waiting for some when there are none.
pub(crate) async fn get(socket: &Socket, request: &RequestInfo, initial: bool) -> Response<EngineBody> {
    {
        let mut st = socket.lock();
        if st.poll_pending {
            drop(st);
            socket.close_with(CloseReason::TransportError, Some("overlap from client"));
            return request::empty_response(StatusCode::BAD_REQUEST);
        }
        st.poll_pending = true;
    }
    let mut pending = PendingPoll { socket, answered: false };
    let (batch, finish_close) = loop {
        let notified = socket.0.poll_wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let mut st = socket.lock();
            if let Some(found) = socket.take_poll_batch(&mut st) {
                st.poll_pending = false;
                break found;
            }
        }
        notified.await;
    };
    pending.answered = true;
    let response = respond(socket, request, batch, initial);
    if finish_close {
        socket.finish_close();
    }
    response
}

/// Encodes a batch as one polling payload, compressed when allowed and worth it.
fn respond(
    socket: &Socket,
    request: &RequestInfo,
    batch: Vec<Outgoing>,
    initial: bool,
) -> Response<EngineBody> {
    let shared = &socket.0.shared;
    let handler = &shared.handler;
    handler.on_session_event(socket, SessionEvent::Flush(batch.len()));
    let compress = batch.iter().any(|o| o.compress);
    let packets: Vec<Packet> = batch.into_iter().map(Outgoing::into_packet).collect();
    let (body, content_type): (Bytes, &'static str) = match socket.protocol() {
        ProtocolVersion::V4 => (v4::encode_payload(&packets).into_bytes(), "text/plain; charset=UTF-8"),
        ProtocolVersion::V3 => match v3::encode_payload(&packets, socket.0.supports_binary) {
            Frame::Text(t) => (t.into_bytes(), "text/plain; charset=UTF-8"),
            Frame::Binary(b) => (b, "application/octet-stream"),
        },
    };
    let mut res = Response::new(Full::new(Bytes::new()));
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let mut body = body;
    if let Some(compression) = shared.config.http_compression.filter(|_| compress) {
        if body.len() >= compression.threshold {
            if let Some(coding) = request::negotiate_coding(request.headers()) {
                if let Ok(compressed) = request::compress(coding, &body) {
                    let name = match coding {
                        request::Coding::Gzip => "gzip",
                        request::Coding::Deflate => "deflate",
                    };
                    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(name));
                    body = Bytes::from(compressed);
                }
            }
        }
    }
    // Content-Length is hyper's to write: the body's length is known.
    shared.transport_headers(socket, request, headers, initial);
    *res.body_mut() = Full::new(body);
    handler.on_session_event(socket, SessionEvent::Drain);
    res
}

/// Clears `post_pending` however the POST ends.
struct PendingPost<'a>(&'a Socket);

impl Drop for PendingPost<'_> {
    fn drop(&mut self) {
        self.0.lock().post_pending = false;
    }
}

/// Reads a POST body of packets and hands them to the session.
pub(crate) async fn post<B>(
    socket: &Socket,
    info: &RequestInfo,
    request: http::Request<B>,
) -> Response<EngineBody>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: std::fmt::Display,
{
    {
        let mut st = socket.lock();
        if st.post_pending {
            drop(st);
            socket.close_with(CloseReason::TransportError, Some("data request overlap from client"));
            return request::empty_response(StatusCode::BAD_REQUEST);
        }
        st.post_pending = true;
    }
    let _pending = PendingPost(socket);
    let binary = info
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"application/octet-stream"));
    if binary && socket.protocol() == ProtocolVersion::V4 {
        socket.close_with(CloseReason::TransportError, Some("invalid content"));
        return request::empty_response(StatusCode::BAD_REQUEST);
    }
    let max = socket.0.shared.config.max_http_buffer_size;
    let declared = info
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut collector = BodyCollector::new(max);
    let config = &socket.0.shared.config;
    if collector.check_declared_len(declared).is_err() {
        // The body is not asked for yet: reading it would send a `100 Continue` after the answer.
        let expects_continue = info
            .headers()
            .get(header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        let worth_reading =
            !expects_continue && declared.is_some_and(|len| len <= config.max_discarded_body_size as u64);
        let rest = worth_reading.then(|| Box::pin(request.into_body()));
        return too_large(config, rest);
    }
    // A POST still being read when the session closes (for whatever reason) is dropped unanswered, as
    // the reference destroys it.
    let closed = socket.0.closed_wake.notified();
    let mut closed = std::pin::pin!(closed);
    closed.as_mut().enable();
    if socket.ready_state() == ReadyState::Closed {
        return request::drop_connection_response();
    }
    let mut body = Box::pin(request.into_body());
    loop {
        let frame = tokio::select! {
            frame = body.frame() => frame,
            _ = closed.as_mut() => return request::drop_connection_response(),
        };
        let Some(frame) = frame else { break };
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    if collector.push_bytes(data).is_err() {
                        return too_large(config, Some(body));
                    }
                }
            }
            Err(e) => {
                socket.close_with(CloseReason::TransportError, Some(&e.to_string()));
                return request::empty_response(StatusCode::BAD_REQUEST);
            }
        }
    }
    let mut body = collector.finish();
    if !binary && std::str::from_utf8(&body).is_err() {
        // The reference reads text bodies as UTF-8 with replacement characters.
        body = Bytes::from(String::from_utf8_lossy(&body).into_owned());
    }
    // As the reference: the packets before one that does not decode are handled, then the session
    // closes with `parse error`, and the POST is answered as any other.
    let (packets, parse_error) = match socket.protocol() {
        ProtocolVersion::V4 => decode_v4_prefix(body),
        ProtocolVersion::V3 if binary => all_or_error(v3::decode_payload_binary(body, max)),
        ProtocolVersion::V3 => all_or_error(v3::decode_payload_string(body, max)),
    };
    let mut closed = false;
    for packet in packets {
        if packet.ty == PacketType::Close {
            socket.lock().closed_by_client = true;
            socket.close_with(CloseReason::TransportClose, None);
            closed = true;
            break;
        }
        socket.on_packet(packet);
    }
    if parse_error && !closed {
        socket.close_with(CloseReason::ParseError, None);
    }
    let mut res = Response::new(Full::new(Bytes::from_static(b"ok")));
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("2"));
    socket.0.shared.transport_headers(socket, info, headers, false);
    res
}

/// The answer to a POST over `max_http_buffer_size`: as the reference, an empty `413`, and the session
/// stays open.
///
/// The client may still be sending: one that sends its whole body before it reads sees the answer only
/// if the server reads that body, since a connection closed with unread data is reset, and the reset
/// throws the answer away. So the `rest` of the body is read and thrown away in the background (the
/// connection then serves its next request, as the reference's would), up to
/// `max_discarded_body_size` bytes and for at most `discard_timeout`, after which the connection ends.
/// Without a body to read, the answer says `Connection: close`.
fn too_large<B>(config: &EngineConfig, rest: Option<Pin<Box<B>>>) -> Response<EngineBody>
where
    B: Body<Data = Bytes> + Send + 'static,
{
    let mut res = request::empty_response(StatusCode::PAYLOAD_TOO_LARGE);
    match rest {
        Some(body) => {
            tokio::spawn(discard(body, config.max_discarded_body_size, config.discard_timeout));
        }
        None => {
            res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
    }
    res
}

/// Reads `body` to its end and throws it away, giving up past `limit` bytes or after `timeout`.
/// Dropping a body that is not read to its end makes hyper close the connection.
async fn discard<B>(mut body: Pin<Box<B>>, limit: usize, timeout: Duration)
where
    B: Body<Data = Bytes> + Send + 'static,
{
    let give_up = tokio::time::sleep(timeout);
    let mut give_up = std::pin::pin!(give_up);
    let mut read = 0usize;
    loop {
        let frame = tokio::select! {
            frame = body.frame() => frame,
            _ = give_up.as_mut() => return,
        };
        match frame {
            Some(Ok(frame)) => {
                read = read.saturating_add(frame.data_ref().map_or(0, |d| d.len()));
                if read > limit {
                    return;
                }
            }
            Some(Err(_)) | None => return,
        }
    }
}

/// The packets of a v4 payload up to the first one that does not decode, and whether one did not.
fn decode_v4_prefix(body: Bytes) -> (Vec<Packet>, bool) {
    let Ok(text) = Str::from_utf8(body) else { return (Vec::new(), true) };
    let mut packets = Vec::new();
    for part in text.split(v4::SEPARATOR) {
        match text.slice_ref(part).map(v4::decode_packet_str) {
            Some(Ok(packet)) => packets.push(packet),
            _ => return (packets, true),
        }
    }
    (packets, false)
}

/// A whole decoded payload, or no packets and the error flag.
fn all_or_error(decoded: Result<Vec<Packet>, engineio_parser::Error>) -> (Vec<Packet>, bool) {
    match decoded {
        Ok(packets) => (packets, false),
        Err(_) => (Vec::new(), true),
    }
}
