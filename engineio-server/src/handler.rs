//! The [`Handler`] trait through which the engine reports connections, messages, closes and events.

use crate::config::TransportKind;
use crate::request::RequestInfo;
use crate::Socket;
use engineio_parser::{Packet, PacketData};
use http::HeaderMap;
use std::fmt;

/// Why a session closed. The strings are those of the reference server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The client closed the connection (websocket closed, or a close packet over polling).
    TransportClose,
    /// The transport failed: a network error, a protocol violation (overlapping requests, a ping in the
    /// wrong direction...), an oversized body, or a send queue that overflowed.
    TransportError,
    /// The client did not answer the heartbeat in time.
    PingTimeout,
    /// The server closed the session ([`Socket::close`]).
    ForcedClose,
    /// The client sent something that does not decode.
    ParseError,
    /// The server is shutting down ([`crate::EngineIo::close`]).
    ServerShuttingDown,
}

impl CloseReason {
    /// The reason as the reference server words it.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError => "transport error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ForcedClose => "forced close",
            CloseReason::ParseError => "parse error",
            CloseReason::ServerShuttingDown => "server shutting down",
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Engine.IO error codes of refused requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ErrorCode {
    /// 0: the `transport` parameter names no enabled transport.
    UnknownTransport = 0,
    /// 1: the `sid` parameter names no open session.
    UnknownSid = 1,
    /// 2: a handshake with a method other than GET.
    BadHandshakeMethod = 2,
    /// 3: anything else that is malformed.
    BadRequest = 3,
    /// 4: refused by the `allowRequest` hook.
    Forbidden = 4,
    /// 5: an Engine.IO revision the server does not accept.
    UnsupportedProtocolVersion = 5,
}

impl ErrorCode {
    /// The reference message of the code.
    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::UnknownTransport => "Transport unknown",
            ErrorCode::UnknownSid => "Session ID unknown",
            ErrorCode::BadHandshakeMethod => "Bad handshake method",
            ErrorCode::BadRequest => "Bad request",
            ErrorCode::Forbidden => "Forbidden",
            ErrorCode::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }

    /// The HTTP status the code is sent with: 403 for `Forbidden`, 400 otherwise.
    pub fn status(self) -> http::StatusCode {
        if self == ErrorCode::Forbidden {
            http::StatusCode::FORBIDDEN
        } else {
            http::StatusCode::BAD_REQUEST
        }
    }
}

/// A refused request, as reported by [`Handler::on_connection_error`] (the `connection_error` event).
#[derive(Debug, Clone)]
pub struct ConnectionError {
    /// The request.
    pub request: RequestInfo,
    /// The error code.
    pub code: ErrorCode,
    /// The message sent to the client.
    pub message: String,
    /// Details, as the reference's `context` (e.g. `{"name": "TRANSPORT_MISMATCH", ...}`).
    pub context: serde_json::Value,
}

/// Events of one session, reported through [`Handler::on_session_event`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum SessionEvent<'a> {
    /// A packet arrived from the client (`packet`).
    Packet(&'a Packet),
    /// A packet was queued for the client (`packetCreate`).
    PacketCreate(&'a Packet),
    /// The client probed a websocket and is about to upgrade (`upgrading`).
    Upgrading(TransportKind),
    /// The session moved to another transport (`upgrade`).
    Upgrade(TransportKind),
    /// Queued packets were handed to the transport (`flush`), with how many.
    Flush(usize),
    /// The transport wrote everything it was given (`drain`).
    Drain,
    /// A heartbeat completed (`heartbeat`).
    Heartbeat,
}

/// Receives what happens on the engine. Every method has an empty default; implement the ones you need.
///
/// The methods are called from the engine's tasks and must not block. They may call back into the
/// engine (send on a socket, close it).
pub trait Handler: Send + Sync + 'static {
    /// A session opened (`connection`).
    fn on_connection(&self, socket: &Socket) {
        let _ = socket;
    }

    /// A message arrived on a session (`message`): text or binary.
    fn on_message(&self, socket: &Socket, data: PacketData) {
        let _ = (socket, data);
    }

    /// A session closed (`close`), with the reason and an optional description.
    fn on_close(&self, socket: &Socket, reason: CloseReason, description: Option<&str>) {
        let _ = (socket, reason, description);
    }

    /// Whether [`on_session_event`](Self::on_session_event) wants [`SessionEvent::PacketCreate`]
    /// (`true` by default). A handler that says `false` lets each send take the session's lock once
    /// instead of twice; one that changes its mind at run time may answer differently at any time.
    fn observes_outgoing(&self) -> bool {
        true
    }

    /// Any other event of a session.
    fn on_session_event(&self, socket: &Socket, event: SessionEvent<'_>) {
        let _ = (socket, event);
    }

    /// A request was refused (`connection_error`).
    fn on_connection_error(&self, error: &ConnectionError) {
        let _ = error;
    }

    /// The headers of the response to a handshake, before they are written (`initial_headers`).
    fn on_initial_headers(&self, headers: &mut HeaderMap, request: &RequestInfo) {
        let _ = (headers, request);
    }

    /// The headers of every transport response, before they are written (`headers`).
    fn on_headers(&self, headers: &mut HeaderMap, request: &RequestInfo) {
        let _ = (headers, request);
    }
}

/// A handler that does nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopHandler;

impl Handler for NoopHandler {}
