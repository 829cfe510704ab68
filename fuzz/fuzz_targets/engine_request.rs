//! The engine's request handling, in process: each input is a short script of HTTP requests (any method,
//! path and query, headers and body) sent to two engines stacked as tower layers, plus websocket
//! sessions driven over an in-memory HTTP/1.1 connection. No request may panic or hang, and what the
//! engine answers must be well formed.
//!
//! Input format (the seeds in `fuzz/seeds/engine_request/` are examples):
//!
//! ```text
//! GET /engine.io/?EIO=4&transport=polling        <- METHOD TARGET; `&` before the method: don't wait
//! origin: http://a                               <- headers
//! :chunk 3                                       <- fuzz controls, see `Request::parse`
//!                                                <- empty line, then the body
//! 4hello
//! ---                                            <- next request
//! WS /engine.io/?EIO=4&transport=websocket&sid=$SID
//!
//! t2probe                                        <- websocket messages, one a line: t(ext) b(inary)
//! t5                                                p(ing) c(lose) r(aw bytes on the connection)
//! ```
//!
//! `$SID` stands for the id of the latest session opened (by this input, or else by an earlier one:
//! sessions outlive inputs, so later inputs reach sessions in every state). Time is tokio's paused
//! clock: waits cost no real time, and every request is bounded by a virtual timeout.

#![no_main]

use bytes::Bytes;
use engineio_parser::{v3, v4, Frame as EngineFrame};
use engineio_server::parser::PacketData;
use engineio_server::{
    CompressionConfig, CookieConfig, CorsConfig, CorsOrigin, EngineConfig, EngineIo, EngineLayer,
    EngineService, Handler, OverflowPolicy, RemoteAddr, RequestInfo, Secure, SendOptions, Socket,
    TransportKind,
};
use futures_util::{SinkExt, StreamExt};
use http::header::{HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use libfuzzer_sys::fuzz_target;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;
use tower_layer::Layer;
use tower_service::Service;

/// The most requests one input may make.
const MAX_REQUESTS: usize = 8;
/// The most websocket messages one websocket request may send.
const MAX_WS_MESSAGES: usize = 16;
/// The virtual time any one step may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(2);
/// How many session ids from earlier inputs are kept.
const POOL: usize = 16;

/// `FUZZ_DEBUG=1` prints each request and its answer (to check what a seed does).
static DEBUG: std::sync::LazyLock<bool> =
    std::sync::LazyLock::new(|| std::env::var_os("FUZZ_DEBUG").is_some());

fuzz_target!(|data: &[u8]| {
    FUZZ.with(|fuzz| fuzz.runtime.block_on(run(fuzz, data)));
});

thread_local! {
    static FUZZ: Fuzz = Fuzz::new();
}

/// The service the requests go to: engine A on `/engine.io/`, engine B on `/b/`, a 404 for the rest.
type Stack = EngineService<EngineService<NotFound>>;

/// What lives for the whole run: the runtime (paused clock), the engines and the session ids seen.
struct Fuzz {
    runtime: tokio::runtime::Runtime,
    service: Stack,
    engines: [EngineIo; 2],
    sids: Arc<Mutex<VecDeque<String>>>,
}

impl Fuzz {
    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("a current-thread runtime");
        // Engines spawn their session tasks when they open sessions: build them inside the runtime.
        let _guard = runtime.enter();
        let a = EngineIo::new(
            EngineConfig {
                path: "/engine.io".into(),
                ping_interval: Duration::from_millis(250),
                ping_timeout: Duration::from_millis(200),
                upgrade_timeout: Duration::from_millis(500),
                max_http_buffer_size: 4096,
                allow_eio3: true,
                cors: Some(CorsConfig {
                    origin: CorsOrigin::Mirror,
                    credentials: true,
                    exposed_headers: vec!["x-fuzz".into()],
                    max_age: Some(60),
                    ..CorsConfig::default()
                }),
                cookie: Some(CookieConfig { max_age: Some(60), ..CookieConfig::default() }),
                http_compression: Some(CompressionConfig { threshold: 16 }),
                max_buffered_packets: 8,
                close_timeout: Duration::from_millis(500),
                ..EngineConfig::default()
            },
            Echo,
        );
        let next_id = Arc::new(AtomicUsize::new(0));
        let b = EngineIo::new(
            EngineConfig {
                path: "/b/".into(),
                ping_interval: Duration::from_millis(400),
                ping_timeout: Duration::from_millis(300),
                upgrade_timeout: Duration::from_millis(300),
                max_http_buffer_size: 256,
                transports: vec![TransportKind::WebSocket, TransportKind::Polling],
                allow_upgrades: false,
                cors: Some(CorsConfig {
                    origin: CorsOrigin::List(vec!["http://ok".into()]),
                    allowed_headers: Some(vec!["x-a".into()]),
                    ..CorsConfig::default()
                }),
                http_compression: None,
                allow_request: Some(Arc::new(|req: RequestInfo| {
                    Box::pin(async move {
                        match req.query("deny") {
                            Some(reason) => Err(reason.to_owned()),
                            None => Ok(()),
                        }
                    })
                })),
                generate_id: Some(Arc::new(move |req: &RequestInfo| match req.query("id") {
                    Some(id) => id.to_owned(),
                    None => format!("b{}", next_id.fetch_add(1, Ordering::Relaxed)),
                })),
                max_buffered_packets: 4,
                overflow: OverflowPolicy::DropPacket,
                close_timeout: Duration::from_millis(300),
                ..EngineConfig::default()
            },
            Echo,
        );
        let service = EngineLayer::new(a.clone()).layer(EngineLayer::new(b.clone()).layer(NotFound));
        Fuzz { runtime, service, engines: [a, b], sids: Arc::new(Mutex::new(VecDeque::new())) }
    }
}

/// Echoes messages; some texts ask for a close, a volatile or an uncompressed send.
struct Echo;

impl Handler for Echo {
    fn on_connection(&self, socket: &Socket) {
        let _ = socket.send_text("welcome");
    }

    fn on_message(&self, socket: &Socket, data: PacketData) {
        let _ = match data {
            PacketData::Text(text) => match text.as_bytes().first() {
                Some(b'!') => {
                    socket.close();
                    Ok(())
                }
                Some(b'v') => socket.send(
                    engineio_parser::Packet::message(text),
                    SendOptions { volatile: true, ..SendOptions::default() },
                ),
                Some(b'u') => socket.send(
                    engineio_parser::Packet::message(text),
                    SendOptions { compress: false, ..SendOptions::default() },
                ),
                Some(b'e') => {
                    socket.send_encoded(&engineio_server::EncodedMessage::text(&text), SendOptions::default())
                }
                _ => socket.send_text(text),
            },
            PacketData::Binary(bytes) => socket.send_binary(bytes),
            PacketData::Empty => Ok(()),
        };
    }

    fn on_initial_headers(&self, headers: &mut http::HeaderMap, _: &RequestInfo) {
        headers.insert("x-fuzz", HeaderValue::from_static("initial"));
    }
}

/// The inner service under the engines' layers.
#[derive(Clone)]
struct NotFound;

impl<B> Service<Request<B>> for NotFound {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<B>) -> Self::Future {
        let mut res = Response::new(Full::new(Bytes::from_static(b"not found")));
        *res.status_mut() = StatusCode::NOT_FOUND;
        std::future::ready(Ok(res))
    }
}

/// One request of the script.
struct Step<'a> {
    /// Started without waiting for it.
    detached: bool,
    method: &'a [u8],
    target: &'a [u8],
    headers: Vec<(&'a [u8], &'a [u8])>,
    body: &'a [u8],
    /// Body chunk size (0: one chunk).
    chunk: usize,
    /// Virtual milliseconds the body waits before each chunk.
    slow: u64,
    /// The body ends with an error.
    body_error: bool,
    secure: bool,
    remote: bool,
    /// Virtual milliseconds to let pass after the request.
    wait: u64,
}

impl<'a> Step<'a> {
    /// Parses one request: the request line, header lines, an empty line and the body. Lines starting
    /// with `:` are controls: `:chunk N`, `:slow N` (N * 10 ms before each chunk), `:error`, `:secure`,
    /// `:remote`, `:wait N` (N * 50 ms after the request).
    fn parse(block: &'a [u8]) -> Option<Self> {
        let (head, body) = match find(block, b"\n\n") {
            Some(i) => (&block[..i], &block[i + 2..]),
            None => (block, &b""[..]),
        };
        let mut lines = head.split(|b| *b == b'\n');
        let mut line = lines.next()?;
        let detached = line.first() == Some(&b'&');
        if detached {
            line = &line[1..];
        }
        let space = line.iter().position(|b| *b == b' ')?;
        let mut step = Step {
            detached,
            method: &line[..space],
            target: &line[space + 1..],
            headers: Vec::new(),
            body,
            chunk: 0,
            slow: 0,
            body_error: false,
            secure: false,
            remote: false,
            wait: 0,
        };
        for line in lines {
            if let Some(control) = line.strip_prefix(b":") {
                let (name, arg) = match control.iter().position(|b| *b == b' ') {
                    Some(i) => (&control[..i], number(&control[i + 1..])),
                    None => (control, 0),
                };
                match name {
                    b"chunk" => step.chunk = arg as usize,
                    b"slow" => step.slow = arg.min(100) * 10,
                    b"error" => step.body_error = true,
                    b"secure" => step.secure = true,
                    b"remote" => step.remote = true,
                    b"wait" => step.wait = arg.min(100) * 50,
                    _ => {}
                }
            } else if let Some(colon) = line.iter().position(|b| *b == b':') {
                let value = &line[colon + 1..];
                let value = value.strip_prefix(b" ").unwrap_or(value);
                step.headers.push((&line[..colon], value));
            }
        }
        Some(step)
    }
}

/// A small decimal number (0 when there is none).
fn number(digits: &[u8]) -> u64 {
    digits.iter().take_while(|b| b.is_ascii_digit()).take(6).fold(0, |n, d| n * 10 + u64::from(d - b'0'))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `input` with every `$SID` replaced by `sid`.
fn substitute(input: &[u8], sid: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut rest = input;
    while let Some(i) = find(rest, b"$SID") {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(sid.as_bytes());
        rest = &rest[i + 4..];
    }
    out.extend_from_slice(rest);
    out
}

/// The request target as a URI: as it is, or with the bytes a URI cannot hold percent-encoded.
fn uri(target: &[u8]) -> Option<Uri> {
    if let Ok(uri) = Uri::try_from(target) {
        return Some(uri);
    }
    let mut encoded = String::with_capacity(target.len() * 3);
    for &b in target {
        if b.is_ascii_graphic() && !b"\"<>\\^`{|}#".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    Uri::try_from(encoded).ok()
}

/// A request body in chunks, optionally slow, optionally failing at the end.
struct FuzzBody {
    chunks: VecDeque<Bytes>,
    error: bool,
    slow: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Body for FuzzBody {
    type Data = Bytes;
    type Error = String;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, String>>> {
        if !self.slow.is_zero() && (!self.chunks.is_empty() || self.error) {
            let slow = self.slow;
            let sleep = self.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(slow)));
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
        }
        if let Some(chunk) = self.chunks.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        if std::mem::take(&mut self.error) {
            return Poll::Ready(Some(Err("the client went away".into())));
        }
        Poll::Ready(None)
    }
}

/// Runs one input's script.
async fn run(fuzz: &Fuzz, data: &[u8]) {
    let mut sid = fuzz.sids.lock().unwrap_or_else(|e| e.into_inner()).back().cloned().unwrap_or_default();
    let mut detached = Vec::new();
    let blocks = split(data, b"\n---\n");
    for block in blocks.into_iter().take(MAX_REQUESTS) {
        let Some(step) = Step::parse(block) else { continue };
        let wait = step.wait;
        if *DEBUG {
            let target = String::from_utf8_lossy(step.target);
            eprintln!(
                "{}{} {target}",
                if step.detached { "&" } else { "" },
                String::from_utf8_lossy(step.method)
            );
        }
        if step.method == b"WS" {
            if let Some(id) = websocket(fuzz, &step, &sid).await {
                sid = remember(fuzz, id);
            }
        } else if let Some((req, eio4)) = request(&step, &sid) {
            let call = fuzz.service.clone().call(req);
            let task = async move {
                let res = call.await.unwrap_or_else(|e: Infallible| match e {});
                check_response(res, eio4).await
            };
            if step.detached {
                detached.push(tokio::spawn(tokio::time::timeout(STEP_TIMEOUT, task)));
                // Let it run until it waits (a long poll, a slow body) before the next request.
                tokio::time::sleep(Duration::from_millis(1)).await;
            } else if let Ok(Some(id)) = tokio::time::timeout(STEP_TIMEOUT, task).await {
                sid = remember(fuzz, id);
            }
        }
        if wait > 0 {
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
    }
    for task in detached {
        match task.await {
            Ok(Ok(Some(id))) => {
                remember(fuzz, id);
            }
            Ok(_) => {}
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    // Let the sessions' clocks move on, so that sessions nobody talks to time out.
    tokio::time::sleep(Duration::from_millis(50)).await;
    for engine in &fuzz.engines {
        assert_eq!(engine.clients_count(), engine.sockets().len());
    }
}

fn split<'a>(data: &'a [u8], separator: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(i) = find(rest, separator) {
        out.push(&rest[..i]);
        rest = &rest[i + separator.len()..];
    }
    out.push(rest);
    out
}

/// Keeps a session id for later inputs.
fn remember(fuzz: &Fuzz, sid: String) -> String {
    let mut sids = fuzz.sids.lock().unwrap_or_else(|e| e.into_inner());
    if sids.len() == POOL {
        sids.pop_front();
    }
    sids.push_back(sid.clone());
    sid
}

/// Builds the HTTP request of a step, and whether it speaks Engine.IO v4; `None` when the method or the
/// target cannot be one.
fn request(step: &Step<'_>, sid: &str) -> Option<(Request<FuzzBody>, bool)> {
    let method = Method::from_bytes(step.method).ok()?;
    let uri = uri(&substitute(step.target, sid))?;
    let mut req = Request::builder().method(method).uri(uri);
    for (name, value) in &step.headers {
        let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(&substitute(value, sid)))
        else {
            continue;
        };
        req = req.header(name, value);
    }
    let body = Bytes::from(substitute(step.body, sid));
    let chunks = match step.chunk {
        0 => VecDeque::from([body]),
        n => body.chunks(n).map(|c| body.slice_ref(c)).collect(),
    };
    let body =
        FuzzBody { chunks, error: step.body_error, slow: Duration::from_millis(step.slow), sleep: None };
    let mut req = req.body(body).ok()?;
    if step.secure {
        req.extensions_mut().insert(Secure);
    }
    if step.remote {
        req.extensions_mut().insert(RemoteAddr(([127, 0, 0, 1], 40000).into()));
    }
    let info = RequestInfo::new(req.method().clone(), req.uri().clone(), Default::default(), None);
    let eio4 = info.query("EIO") == Some("4");
    Some((req, eio4))
}

/// Checks a response; returns the session id of a handshake.
async fn check_response<B>(res: Response<B>, eio4: bool) -> Option<String>
where
    B: Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    let (parts, body) = res.into_parts();
    let body = body.collect().await.expect("engine bodies do not fail").to_bytes();
    if *DEBUG {
        eprintln!("  -> {} {:?} {:?}", parts.status, parts.headers, body);
    }
    assert!(!parts.status.is_server_error() || parts.status == StatusCode::SERVICE_UNAVAILABLE);
    if let Some(len) = parts.headers.get(http::header::CONTENT_LENGTH) {
        assert_eq!(len.to_str().ok().and_then(|l| l.parse::<usize>().ok()), Some(body.len()));
    }
    let content_type = parts.headers.get(http::header::CONTENT_TYPE).map(HeaderValue::as_bytes);
    if content_type == Some(b"application/json") {
        let error: serde_json::Value = serde_json::from_slice(&body).expect("errors are JSON");
        assert!(error["code"].is_u64() && error["message"].is_string(), "{error}");
        return None;
    }
    if parts.status != StatusCode::OK || parts.headers.contains_key(http::header::CONTENT_ENCODING) {
        return None;
    }
    // A polling response: a payload the parsers read back.
    let packets = match content_type {
        Some(b"application/octet-stream") => v3::decode_payload_binary(body.clone(), usize::MAX),
        Some(b"text/plain; charset=UTF-8") if eio4 => v4::decode_payload(body.clone(), usize::MAX),
        Some(b"text/plain; charset=UTF-8") => v3::decode_payload_string(body.clone(), usize::MAX),
        _ => return None,
    };
    let packets =
        packets.unwrap_or_else(|e| panic!("the engine wrote a payload it cannot read: {e} {body:?}"));
    packets.iter().find_map(|p| match (&p.ty, p.data.as_text()) {
        (engineio_parser::PacketType::Open, Some(json)) => {
            engineio_parser::Handshake::from_json(json).ok().map(|h| h.sid)
        }
        _ => None,
    })
}

/// Runs a websocket step over an in-memory HTTP/1.1 connection served by hyper: the upgrade request,
/// then the step's messages, reading what the server sends. Returns the id of a session it opened.
async fn websocket(fuzz: &Fuzz, step: &Step<'_>, sid: &str) -> Option<String> {
    let (client, server) = tokio::io::duplex(1 << 16);
    let service = fuzz.service.clone();
    let hyper_service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
        let mut service = service.clone();
        service.call(req)
    });
    let connection = tokio::spawn(async move {
        let conn = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(server), hyper_service)
            .with_upgrades();
        let _ = conn.await;
    });
    let result = tokio::time::timeout(STEP_TIMEOUT, websocket_client(client, step, sid)).await;
    connection.abort();
    result.ok().flatten()
}

async fn websocket_client(mut io: tokio::io::DuplexStream, step: &Step<'_>, sid: &str) -> Option<String> {
    let target = substitute(step.target, sid);
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(b"GET ");
    head.extend_from_slice(&target);
    head.extend_from_slice(b" HTTP/1.1\r\nhost: fuzz\r\n");
    let has = |name: &str| step.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()));
    for (name, value) in [
        ("connection", "Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ] {
        if !has(name) {
            head.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
    }
    for (name, value) in &step.headers {
        head.extend_from_slice(name);
        head.extend_from_slice(b": ");
        head.extend_from_slice(&substitute(value, sid));
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    io.write_all(&head).await.ok()?;

    // The response head, and whatever followed it in the same read.
    let mut buf = Vec::with_capacity(1024);
    let end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 16 * 1024 || io.read_buf(&mut buf).await.ok()? == 0 {
            return None;
        }
    };
    if *DEBUG {
        eprintln!("  -> {:?}", String::from_utf8_lossy(&buf));
    }
    if !buf.starts_with(b"HTTP/1.1 101 ") {
        return None;
    }
    let rest = buf.split_off(end);
    let eio4 = {
        let uri = uri(&target)?;
        RequestInfo::new(Method::GET, uri, Default::default(), None).query("EIO") == Some("4")
    };
    let mut ws = WebSocketStream::from_partially_read(io, rest, Role::Client, None).await;
    let mut opened = None;
    let read = |message: Message, opened: &mut Option<String>| {
        if *DEBUG {
            eprintln!("  ws <- {message:?}");
        }
        let frame = match message {
            Message::Text(t) => EngineFrame::Text(engineio_parser::Str::from(t.as_str().to_owned())),
            Message::Binary(b) => EngineFrame::Binary(b),
            _ => return,
        };
        let packet = if eio4 { v4::decode_frame(frame) } else { v3::decode_frame(frame) };
        let packet = packet.unwrap_or_else(|e| panic!("the engine wrote a frame it cannot read: {e}"));
        if let (engineio_parser::PacketType::Open, Some(json)) = (packet.ty, packet.data.as_text()) {
            *opened = engineio_parser::Handshake::from_json(json).ok().map(|h| h.sid);
        }
    };
    for line in step.body.split(|b| *b == b'\n').take(MAX_WS_MESSAGES) {
        let Some((&kind, content)) = line.split_first() else { continue };
        let content = substitute(content, sid);
        let sent = match kind {
            b't' => ws.send(Message::text(String::from_utf8_lossy(&content).into_owned())).await,
            b'b' => ws.send(Message::binary(content)).await,
            b'p' => ws.send(Message::Ping(content.into())).await,
            b'c' => ws.close(None).await,
            b'r' => {
                let _ = ws.get_mut().write_all(&content).await;
                Ok(())
            }
            _ => Ok(()),
        };
        if sent.is_err() {
            break;
        }
        // Read what the server answers, until it has been quiet for a (virtual) moment.
        while let Ok(Some(Ok(message))) = tokio::time::timeout(Duration::from_millis(20), ws.next()).await {
            read(message, &mut opened);
        }
        if *DEBUG {
            eprintln!("  ws sent {:?}", String::from_utf8_lossy(line));
        }
    }
    while let Ok(Some(Ok(message))) = tokio::time::timeout(Duration::from_millis(20), ws.next()).await {
        read(message, &mut opened);
    }
    opened
}
