//! The websocket transport: the HTTP upgrade, the connection under it (frames read with the project's
//! own codec, [`crate::wsframe`]), frames to packets and back, and the probe of an upgrade from polling.
//!
//! Frames go out as their header and their payload, shared as it is (a broadcast's payload is never
//! copied per recipient), in vectored writes by the session's task. On a plain TCP connection the
//! websocket runs on the socket itself (no IO wrapper of hyper's between); any other connection (TLS,
//! another server's IO) through the upgraded IO.

use crate::config::TransportKind;
use crate::handler::SessionEvent;
use crate::request::EngineBody;
use crate::session::{OutBody, Outgoing, ReadyState, Socket};
use crate::wsframe::{server_header, DecodeError, Decoder, Incoming, OpCode, MAX_SERVER_HEADER};
use bytes::Bytes;
use engineio_parser::{v3, v4, Frame, Packet, PacketData, PacketType, ProtocolVersion};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

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

/// The close code of a normal close.
pub(crate) const NORMAL_CLOSE: u16 = 1000;

/// How many bytes one read takes at most. The buffer lives on the stack for the read only: a
/// connection keeps heap bytes only for a frame that has not fully arrived.
const READ_CHUNK: usize = 8 * 1024;

/// How many slices one vectored write hands the kernel at most.
const MAX_SLICES: usize = 64;

/// The buffer (on the stack, for one write) where headers and small payloads are gathered.
const GATHER: usize = 8 * 1024;

/// The gathering buffer and the slices of a write of a few small frames.
const SMALL_GATHER: usize = 1024;
const SMALL_SLICES: usize = 8;

/// Payloads up to this size are gathered with their header; larger ones are written as they are.
const SMALL_PAYLOAD: usize = 512;

/// One frame to write: its header (and, for a v3 binary packet, the packet type byte) and its payload,
/// shared. `sent` counts the bytes already written, header first.
#[derive(Debug)]
pub(crate) struct OutFrame {
    head: [u8; MAX_SERVER_HEADER + 1],
    head_len: u8,
    payload: Bytes,
    sent: usize,
}

impl OutFrame {
    /// A final, unmasked frame; `prefix` is a byte written before `payload` inside the frame.
    fn new(opcode: OpCode, prefix: Option<u8>, payload: Bytes) -> Self {
        let len = payload.len() + usize::from(prefix.is_some());
        let (h, n) = server_header(opcode, len);
        let mut head = [0u8; MAX_SERVER_HEADER + 1];
        head[..n].copy_from_slice(&h[..n]);
        let mut head_len = n;
        if let Some(p) = prefix {
            head[n] = p;
            head_len += 1;
        }
        OutFrame { head, head_len: head_len as u8, payload, sent: 0 }
    }

    /// The frame carrying a queued packet: its pre-encoded text as it is, binary data as it is (v3
    /// writes the packet type before it, in the header's buffer), any other packet encoded here.
    pub(crate) fn packet(protocol: ProtocolVersion, out: Outgoing) -> Self {
        let packet = match out.body {
            // Text frames are the same in both protocol revisions.
            OutBody::Encoded(text) => return OutFrame::new(OpCode::Text, None, text.into_bytes()),
            OutBody::Packet(packet) => packet,
        };
        match &packet.data {
            PacketData::Binary(data) => match protocol {
                ProtocolVersion::V4 => OutFrame::new(OpCode::Binary, None, data.clone()),
                ProtocolVersion::V3 => OutFrame::new(OpCode::Binary, Some(packet.ty as u8), data.clone()),
            },
            _ => match encode(protocol, &packet) {
                Frame::Text(text) => OutFrame::new(OpCode::Text, None, text.into_bytes()),
                Frame::Binary(data) => OutFrame::new(OpCode::Binary, None, data),
            },
        }
    }

    /// A pong answering a ping's payload.
    pub(crate) fn pong(payload: Bytes) -> Self {
        OutFrame::new(OpCode::Pong, None, payload)
    }

    /// A close frame with `code`.
    pub(crate) fn close(code: u16) -> Self {
        OutFrame::new(OpCode::Close, None, Bytes::copy_from_slice(&code.to_be_bytes()))
    }

    fn head(&self) -> &[u8] {
        &self.head[..usize::from(self.head_len)]
    }

    fn len(&self) -> usize {
        usize::from(self.head_len) + self.payload.len()
    }
}

fn encode(protocol: ProtocolVersion, packet: &Packet) -> Frame {
    match protocol {
        ProtocolVersion::V4 => v4::encode_frame(packet),
        ProtocolVersion::V3 => v3::encode_frame(packet),
    }
}

/// Frames waiting to be written, in order; the first one may be partly written. The first is kept
/// inline: writing one frame (an answer, a broadcast) allocates nothing.
#[derive(Debug, Default)]
pub(crate) struct OutQueue {
    /// `None` only when `rest` is empty too.
    first: Option<OutFrame>,
    rest: VecDeque<OutFrame>,
}

impl OutQueue {
    /// Appends a frame.
    pub(crate) fn push(&mut self, frame: OutFrame) {
        if self.first.is_none() {
            self.first = Some(frame);
        } else {
            self.rest.push_back(frame);
        }
    }

    /// Whether every frame is written.
    pub(crate) fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    fn iter(&self) -> impl Iterator<Item = &OutFrame> {
        self.first.iter().chain(self.rest.iter())
    }

    fn get(&self, i: usize) -> Option<&OutFrame> {
        match i {
            0 => self.first.as_ref(),
            _ => self.rest.get(i - 1),
        }
    }

    /// Hands the unwritten bytes to `write`, one vectored write, and takes off what it wrote. Headers
    /// and small payloads are gathered in a buffer on the stack (a run of small frames reaches the
    /// kernel as one piece, which it takes much faster than many tiny slices); larger payloads go as
    /// they are, never copied. `Ok(0)` when there was nothing to write.
    pub(crate) fn write_with(
        &mut self,
        write: impl FnOnce(&[IoSlice<'_>]) -> io::Result<usize>,
    ) -> io::Result<usize> {
        // A few small frames (an answer, a broadcast) take a small buffer: making the large one
        // ready costs more than the rest of the write's own work.
        if self.gathers_at_most(SMALL_GATHER, SMALL_SLICES) {
            self.write_gathered::<SMALL_GATHER, SMALL_SLICES>(write)
        } else {
            self.write_gathered::<GATHER, MAX_SLICES>(write)
        }
    }

    /// Whether every frame fits a write with a gathering buffer of `bytes` and `slices` slices.
    fn gathers_at_most(&self, bytes: usize, slices: usize) -> bool {
        let mut gathered = 0;
        // A run of gathered bytes is one slice, and a large payload one more that ends the run.
        let mut pieces = 1;
        for frame in self.iter() {
            let head = frame.head();
            let head_rest = head.len().saturating_sub(frame.sent);
            let payload_rest = frame.payload.len() - frame.sent.saturating_sub(head.len());
            if payload_rest <= SMALL_PAYLOAD {
                gathered += head_rest + payload_rest;
            } else {
                gathered += head_rest;
                pieces += 2;
            }
            if gathered > bytes || pieces > slices {
                return false;
            }
        }
        true
    }

    /// [`write_with`](Self::write_with) with a gathering buffer of `GATHERED` bytes and at most
    /// `SLICES` slices.
    fn write_gathered<const GATHERED: usize, const SLICES: usize>(
        &mut self,
        write: impl FnOnce(&[IoSlice<'_>]) -> io::Result<usize>,
    ) -> io::Result<usize> {
        /// A piece of the write: a range of the gathering buffer, or the rest of a frame's payload.
        #[derive(Clone, Copy)]
        enum Piece {
            Gathered(usize, usize),
            Payload(usize, usize),
        }
        let mut gathered = [0u8; GATHERED];
        let mut used = 0;
        let mut pieces = [Piece::Gathered(0, 0); SLICES];
        let mut n = 0;
        // The start of the run of gathered bytes that the next gathered bytes extend.
        let mut run: Option<usize> = None;
        for (i, frame) in self.iter().enumerate() {
            let head = frame.head();
            let head_rest = &head[frame.sent.min(head.len())..];
            let payload_from = frame.sent.saturating_sub(head.len());
            let payload_rest = frame.payload.len() - payload_from;
            let small = payload_rest <= SMALL_PAYLOAD;
            let gathered_len = head_rest.len() + if small { payload_rest } else { 0 };
            // Room for this frame's pieces: a new run and the payload at most.
            if used + gathered_len > GATHERED || n + 2 > SLICES {
                break;
            }
            gathered[used..used + head_rest.len()].copy_from_slice(head_rest);
            used += head_rest.len();
            if small {
                gathered[used..used + payload_rest].copy_from_slice(&frame.payload[payload_from..]);
                used += payload_rest;
            }
            let start = *run.get_or_insert(used - gathered_len);
            if gathered_len > 0 {
                if n > 0 && matches!(pieces[n - 1], Piece::Gathered(s, _) if s == start) {
                    pieces[n - 1] = Piece::Gathered(start, used);
                } else {
                    pieces[n] = Piece::Gathered(start, used);
                    n += 1;
                }
            }
            if !small {
                pieces[n] = Piece::Payload(i, payload_from);
                n += 1;
                run = None;
            }
        }
        let mut slices = [IoSlice::new(&[]); SLICES];
        for (slice, piece) in slices.iter_mut().zip(&pieces[..n]) {
            *slice = match *piece {
                Piece::Gathered(from, to) => IoSlice::new(&gathered[from..to]),
                Piece::Payload(i, from) => match self.get(i) {
                    Some(frame) => IoSlice::new(&frame.payload[from..]),
                    None => IoSlice::new(&[]),
                },
            };
        }
        if n == 0 {
            return Ok(0);
        }
        let written = write(&slices[..n])?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        self.advance(written);
        Ok(written)
    }

    fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.first.as_mut() else { return };
            let left = front.len() - front.sent;
            if n < left {
                front.sent += n;
                return;
            }
            n -= left;
            self.first = self.rest.pop_front();
        }
    }

    /// Writes every frame to a TCP socket.
    async fn write_all_tcp(&mut self, tcp: &TcpStream) -> io::Result<()> {
        while !self.is_empty() {
            match self.write_with(|slices| tcp.try_write_vectored(slices)) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => tcp.writable().await?,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Writes every frame to `io` and flushes it.
    async fn write_all_io(&mut self, io: &mut (dyn Io + '_)) -> io::Result<()> {
        std::future::poll_fn(|cx| {
            while !self.is_empty() {
                // A pending write is told apart as `WouldBlock`, which a polled IO never returns.
                let written =
                    self.write_with(|slices| match Pin::new(&mut *io).poll_write_vectored(cx, slices) {
                        Poll::Ready(r) => r,
                        Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
                    });
                match written {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
            Poll::Ready(Ok(()))
        })
        .await?;
        io.flush().await
    }
}

/// A connection a websocket runs on, other than plain TCP.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

enum Conn {
    /// Plain TCP.
    Tcp(TcpStream),
    /// Anything else.
    Other(Box<dyn Io>),
}

/// The messages decoded and not yet asked for. Usually a read brings one: it is kept without a
/// queue, whose allocation an idle connection would otherwise keep after its first message.
#[derive(Default)]
struct Inbox {
    first: Option<Incoming>,
    rest: VecDeque<Incoming>,
}

impl Inbox {
    fn push(&mut self, message: Incoming) {
        if self.first.is_none() && self.rest.is_empty() {
            self.first = Some(message);
        } else {
            self.rest.push_back(message);
        }
    }

    fn pop(&mut self) -> Option<Incoming> {
        if let Some(first) = self.first.take() {
            return Some(first);
        }
        let message = self.rest.pop_front();
        if self.rest.is_empty() && self.rest.capacity() > 0 {
            self.rest = VecDeque::new();
        }
        message
    }
}

/// Why a websocket ended in error.
#[derive(Debug)]
pub(crate) enum WsError {
    /// The connection failed.
    Io(io::Error),
    /// The client's frames broke the protocol or the size limit.
    Decode(DecodeError),
}

impl std::fmt::Display for WsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WsError::Io(e) => write!(f, "websocket IO error: {e}"),
            WsError::Decode(e) => e.fmt(f),
        }
    }
}

/// The websocket of a session: its connection, the bytes hyper read past the upgrade request, and
/// the decoder of the client's frames.
pub(crate) struct WsStream {
    conn: Conn,
    preread: Bytes,
    decoder: Decoder,
    incoming: Inbox,
    /// The connection reached its end or failed: nothing more is read.
    done: bool,
}

impl std::fmt::Debug for WsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsStream").field("tcp", &matches!(self.conn, Conn::Tcp(_))).finish()
    }
}

impl WsStream {
    /// The websocket over an upgraded connection: on plain TCP, the socket itself (and the bytes
    /// hyper had already read); otherwise the upgraded IO as it is.
    pub(crate) fn accept(upgraded: hyper::upgrade::Upgraded, max_payload: usize) -> Self {
        match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => {
                // The bytes are a view of hyper's whole read buffer: kept, even empty, they would keep
                // that buffer alive for the connection's life. Usually there are none.
                let preread = Bytes::copy_from_slice(&parts.read_buf);
                WsStream::new(Conn::Tcp(parts.io.into_inner()), preread, max_payload)
            }
            Err(upgraded) => WsStream::from_io(TokioIo::new(upgraded), max_payload),
        }
    }

    /// A websocket over any connection, written by the session's task only.
    pub(crate) fn from_io(io: impl Io, max_payload: usize) -> Self {
        WsStream::new(Conn::Other(Box::new(io)), Bytes::new(), max_payload)
    }

    fn new(conn: Conn, preread: Bytes, max_payload: usize) -> Self {
        WsStream {
            conn,
            preread,
            decoder: Decoder::new(max_payload),
            incoming: Inbox::default(),
            done: false,
        }
    }

    /// The next message or control frame of the client; an error for a connection that ends without
    /// a close frame, `None` after the end.
    /// Cancel safe: bytes read are decoded at once and kept until asked for.
    pub(crate) async fn next(&mut self) -> Option<Result<Incoming, WsError>> {
        loop {
            if let Some(message) = self.incoming.pop() {
                return Some(Ok(message));
            }
            if self.done {
                return None;
            }
            if !self.preread.is_empty() {
                let preread = std::mem::take(&mut self.preread);
                if let Err(e) = self.decode(&preread) {
                    return Some(Err(e));
                }
                continue;
            }
            if let Err(e) = std::future::poll_fn(|cx| self.poll_read_some(cx)).await {
                self.done = true;
                return Some(Err(e));
            }
        }
    }

    fn decode(&mut self, bytes: &[u8]) -> Result<(), WsError> {
        let incoming = &mut self.incoming;
        self.decoder.feed(bytes, &mut |m| incoming.push(m)).map_err(|e| {
            self.done = true;
            WsError::Decode(e)
        })
    }

    /// Reads what the connection has (into a buffer on the stack) and decodes it; ready once
    /// something was read, or at the end of the connection.
    fn poll_read_some(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        // Not initialised: a read fills what it reports, and only that is looked at.
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); READ_CHUNK];
        let mut read = ReadBuf::uninit(&mut buf);
        let polled = match &mut self.conn {
            Conn::Tcp(tcp) => Pin::new(tcp).poll_read(cx, &mut read),
            Conn::Other(io) => Pin::new(&mut **io).poll_read(cx, &mut read),
        };
        match polled {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(WsError::Io(e))),
            Poll::Pending => return Poll::Pending,
        }
        let bytes = read.filled();
        if bytes.is_empty() {
            // The end of the connection without a close frame (after one, nothing is read any more).
            self.done = true;
            let ended =
                io::Error::new(io::ErrorKind::UnexpectedEof, "connection ended without a websocket close");
            return Poll::Ready(Err(WsError::Io(ended)));
        }
        let incoming = &mut self.incoming;
        Poll::Ready(self.decoder.feed(bytes, &mut |m| incoming.push(m)).map_err(|e| {
            self.done = true;
            WsError::Decode(e)
        }))
    }

    /// Writes every frame of `frames` in vectored writes; the frames written are taken off, so that a
    /// write cut short (its deadline passed) leaves the rest, the first one maybe partly written.
    pub(crate) async fn write_owned(&mut self, frames: &mut OutQueue) -> io::Result<()> {
        match &mut self.conn {
            Conn::Tcp(tcp) => frames.write_all_tcp(tcp).await,
            Conn::Other(io) => frames.write_all_io(&mut **io).await,
        }
    }

    /// Writes what the connection takes now, without waiting: the frames written are taken off. Plain
    /// TCP only; on other connections nothing is written here (a TLS stream also wants a flush).
    pub(crate) fn try_write(&mut self, frames: &mut OutQueue) -> io::Result<()> {
        if let Conn::Tcp(tcp) = &self.conn {
            while !frames.is_empty() {
                match frames.write_with(|slices| tcp.try_write_vectored(slices)) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// Sends a close frame with `code` (the session's task alone writing).
    pub(crate) async fn close(&mut self, code: u16) -> io::Result<()> {
        let mut frames = OutQueue::default();
        frames.push(OutFrame::close(code));
        self.write_owned(&mut frames).await
    }
}

/// The packet a websocket message carries; `None` for control frames.
pub(crate) fn packet_of(
    protocol: ProtocolVersion,
    message: Incoming,
) -> Result<Option<Packet>, engineio_parser::Error> {
    let frame = match message {
        Incoming::Text(t) => Frame::Text(t),
        Incoming::Binary(b) => Frame::Binary(b),
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
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), ws.close(NORMAL_CLOSE)).await;
        return;
    }
    let protocol = socket.protocol();
    let handler = socket.0.shared.handler.clone();
    let probe = async {
        loop {
            let packet = match ws.next().await {
                Some(Ok(Incoming::Ping(payload))) => {
                    let mut frames = OutQueue::default();
                    frames.push(OutFrame::pong(payload));
                    if ws.write_owned(&mut frames).await.is_err() {
                        return false;
                    }
                    continue;
                }
                Some(Ok(Incoming::Close(_))) => return false,
                Some(Ok(message)) => match packet_of(protocol, message) {
                    Ok(Some(p)) => p,
                    Ok(None) => continue,
                    Err(_) => return false,
                },
                _ => return false,
            };
            if packet.ty == PacketType::Ping && packet.is_probe() {
                let mut frames = OutQueue::default();
                let pong = Outgoing::plain(Packet::pong_probe());
                frames.push(OutFrame::packet(protocol, pong));
                if ws.write_owned(&mut frames).await.is_err() {
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
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), ws.close(NORMAL_CLOSE)).await;
        return;
    }
    socket.0.driver_wake.notify_one();
    socket.record_transport(TransportKind::WebSocket);
    handler.on_session_event(&socket, SessionEvent::Upgrade(TransportKind::WebSocket));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of `frames` as the peer gets them when each write takes at most `step` bytes.
    fn written(mut frames: OutQueue, step: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while !frames.is_empty() {
            let n = frames
                .write_with(|slices| {
                    let mut left = step;
                    for slice in slices {
                        let take = slice.len().min(left);
                        out.extend_from_slice(&slice[..take]);
                        left -= take;
                    }
                    Ok(step - left)
                })
                .unwrap();
            assert!(n > 0);
        }
        out
    }

    #[test]
    fn frames_are_written_whole_and_in_order_however_the_writes_split() {
        let big = Bytes::from((0..100_000u32).map(|i| i as u8).collect::<Vec<u8>>());
        let mut expected = Vec::new();
        let mut queue = OutQueue::default();
        for i in 0..200usize {
            let payload = match i % 3 {
                0 => Bytes::from(format!("4message {i}")),
                1 => big.slice(i..i + 600),
                _ => big.clone(),
            };
            let opcode = if i % 3 == 0 { OpCode::Text } else { OpCode::Binary };
            let (h, n) = server_header(opcode, payload.len());
            expected.extend_from_slice(&h[..n]);
            expected.extend_from_slice(&payload);
            queue.push(OutFrame::new(opcode, None, payload));
        }
        for step in [1, 7, 4096, 65_536, usize::MAX / 2] {
            let mut copy = OutQueue::default();
            for f in queue.iter() {
                copy.push(OutFrame::new(
                    if f.head[0] & 0x0f == 1 { OpCode::Text } else { OpCode::Binary },
                    None,
                    f.payload.clone(),
                ));
            }
            if step == 1 {
                // A byte at a time is slow over 7 MB: the first frames suffice.
                copy.rest.truncate(7);
                let end = expected.len().min(copy.iter().map(OutFrame::len).sum());
                assert_eq!(written(copy, step), expected[..end]);
                continue;
            }
            assert_eq!(written(copy, step), expected, "writes of {step} bytes");
        }
    }

    #[test]
    fn a_v3_binary_packet_has_its_type_byte_inside_the_frame() {
        let out = Outgoing::plain(Packet::binary(Bytes::from_static(&[1, 2, 3])));
        let mut queue = OutQueue::default();
        queue.push(OutFrame::packet(ProtocolVersion::V3, out));
        assert_eq!(written(queue, 100), vec![0x82, 4, 4, 1, 2, 3]);
    }
}
