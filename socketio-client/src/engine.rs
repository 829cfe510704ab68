//! The Engine.IO v4 client: opens a session over HTTP long-polling or a websocket, upgrades polling to
//! websocket (probe, pause, upgrade), answers the server's heartbeat and notices when it stops.
//!
//! One task owns a session: it reads what the current transport receives, writes what the user sends
//! (batched into one POST at a time on polling, up to the server's `maxPayload`), and reports messages
//! and the close, with its reason, on a channel.

use crate::cookies::CookieJar;
use crate::error::Error;
use crate::queue;
use crate::tls::{Io, TlsConfig};
use bytes::Bytes;
use engineio_parser::{v4, Frame, Handshake, Packet, PacketData, PacketType};
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use rustls::ClientConfig;
use std::time::Duration;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest, Message};

/// A transport of Engine.IO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// HTTP long-polling.
    Polling,
    /// A websocket.
    Websocket,
}

impl Transport {
    /// The name on the wire (`polling`, `websocket`).
    pub fn name(self) -> &'static str {
        match self {
            Transport::Polling => "polling",
            Transport::Websocket => "websocket",
        }
    }
}

/// Where and how to open an Engine.IO session.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// `http` or `https` (`ws`/`wss` are read as these).
    pub secure: bool,
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// The Engine.IO path (default `/socket.io/`).
    pub path: String,
    /// Extra query parameters sent with every request.
    pub query: Vec<(String, String)>,
    /// Extra HTTP headers sent with every request (and the websocket handshake).
    pub extra_headers: Vec<(String, String)>,
    /// The transports to use, the first one to open the session (default polling then websocket).
    pub transports: Vec<Transport>,
    /// Whether a polling session upgrades to websocket when the server offers it (default true).
    pub upgrade: bool,
    /// The certificates trusted when `secure` (default: the platform's roots).
    pub tls: Option<TlsConfig>,
    /// Where the cookies the server sets are kept and sent back from (`withCredentials` in
    /// engine.io-client on Node.js; default none: no cookie is kept). Clones of the options share
    /// the jar: a [`crate::Manager`] keeps its cookies across reconnections.
    pub cookies: Option<CookieJar>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            secure: false,
            host: "localhost".into(),
            port: 80,
            path: "/socket.io/".into(),
            query: Vec::new(),
            extra_headers: Vec::new(),
            transports: vec![Transport::Polling, Transport::Websocket],
            upgrade: true,
            tls: None,
            cookies: None,
        }
    }
}

impl EngineOptions {
    /// The `Cookie` header of the next request, if the jar has cookies for it.
    fn cookie_header(&self) -> Option<String> {
        self.cookies.as_ref()?.header(&self.path, self.secure)
    }

    /// Keeps the cookies a response sets.
    fn keep_cookies(&self, headers: &http::HeaderMap) {
        let Some(jar) = &self.cookies else { return };
        for value in headers.get_all(http::header::SET_COOKIE) {
            if let Ok(value) = value.to_str() {
                jar.store(value, &self.path);
            }
        }
    }

    /// An HTTP request of the polling transport, with the extra headers and the cookies.
    fn request(&self, method: http::Method, url: String) -> http::request::Builder {
        let mut request = http::Request::builder().method(method).uri(url);
        for (name, value) in &self.extra_headers {
            request = request.header(name, value);
        }
        if let Some(cookie) = self.cookie_header() {
            request = request.header(http::header::COOKIE, cookie);
        }
        request
    }

    fn url(&self, websocket: bool, sid: Option<&str>) -> String {
        let scheme = match (websocket, self.secure) {
            (true, true) => "wss",
            (true, false) => "ws",
            (false, true) => "https",
            (false, false) => "http",
        };
        let transport = if websocket { "websocket" } else { "polling" };
        let mut url =
            format!("{scheme}://{}:{}{}?EIO=4&transport={transport}", self.host, self.port, self.path);
        if let Some(sid) = sid {
            url.push_str("&sid=");
            url.push_str(&encode_component(sid));
        }
        for (k, v) in &self.query {
            url.push('&');
            url.push_str(&encode_component(k));
            url.push('=');
            url.push_str(&encode_component(v));
        }
        url
    }
}

/// Percent-encodes a query component.
fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The user closed it (`forced close`).
    ForcedClose,
    /// No ping from the server within `pingInterval + pingTimeout` (`ping timeout`).
    PingTimeout,
    /// The server closed the connection (`transport close`).
    TransportClose,
    /// A request failed or the server answered with an error (`transport error`).
    TransportError(String),
    /// The server sent something that is not Engine.IO (`parse error`).
    ParseError,
}

impl CloseReason {
    /// The reason as the JS client names it.
    pub fn as_str(&self) -> &'static str {
        match self {
            CloseReason::ForcedClose => "forced close",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError(_) => "transport error",
            CloseReason::ParseError => "parse error",
        }
    }
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseReason::TransportError(detail) => write!(f, "transport error: {detail}"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// What a session reports.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineEvent {
    /// A message (text or binary).
    Message(Frame),
    /// The server pinged (and was answered).
    Ping,
    /// The session moved to a websocket.
    Upgraded,
    /// The session is over.
    Closed(CloseReason),
}

enum Command {
    Send(Vec<Frame>),
    Close,
}

/// A handle on an open session: send messages, close. Dropping every handle closes the session.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    commands: queue::Sender<Command>,
    handshake: Handshake,
    transport: watch::Receiver<Transport>,
}

impl EngineHandle {
    /// The handshake of the session (sid, heartbeat timings, maxPayload).
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// The transport in use now.
    pub fn transport(&self) -> Transport {
        *self.transport.borrow()
    }

    /// Sends messages, in order, as one unit (a Socket.IO packet and its attachments). False when the
    /// session is over.
    pub fn send(&self, frames: Vec<Frame>) -> bool {
        self.commands.send(Command::Send(frames)).is_ok()
    }

    /// Closes the session (the server is told on polling and websocket alike).
    pub fn close(&self) {
        let _ = self.commands.send(Command::Close);
    }
}

/// The HTTP client of the polling transport, over TLS or not.
#[derive(Clone)]
enum HttpClient {
    Plain(Client<HttpConnector, Full<Bytes>>),
    Tls(Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>),
}

impl HttpClient {
    fn new(tls: Option<&TlsConfig>) -> Self {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        let builder = Client::builder(TokioExecutor::new());
        match tls {
            None => HttpClient::Plain(builder.build(http)),
            Some(tls) => {
                http.enforce_http(false);
                let mut config = ClientConfig::clone(&tls.0);
                // The connector sets ALPN itself (and refuses a config that has some).
                config.alpn_protocols.clear();
                let connector = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config(config)
                    .https_only()
                    .enable_http1()
                    .wrap_connector(http);
                HttpClient::Tls(builder.build(connector))
            }
        }
    }

    async fn request(
        &self,
        request: http::Request<Full<Bytes>>,
    ) -> Result<http::Response<hyper::body::Incoming>, hyper_util::client::legacy::Error> {
        match self {
            HttpClient::Plain(client) => client.request(request).await,
            HttpClient::Tls(client) => client.request(request).await,
        }
    }
}

type WsStream = tokio_tungstenite::WebSocketStream<Box<dyn Io>>;

/// The TLS configuration a session uses: the given one, or the process default when secure; none
/// when not secure.
fn tls_of(options: &EngineOptions) -> Result<Option<TlsConfig>, Error> {
    match (&options.tls, options.secure) {
        (_, false) => Ok(None),
        (Some(tls), true) => Ok(Some(tls.clone())),
        (None, true) => TlsConfig::default_for_process().map(Some),
    }
}

/// What the transports hand the session task.
enum Input {
    /// Packets received by the polling loop of the given generation.
    Polled(Result<Vec<Packet>, CloseReason>),
    /// A packet received on the websocket.
    Socket(Result<Packet, CloseReason>),
    /// The probe succeeded: the websocket is ready to take over.
    ProbeDone(Box<WsStream>),
    /// The probe failed: go on polling.
    ProbeFailed,
    /// The polling loop stopped (paused for the upgrade).
    PollingStopped,
    /// The POST writer finished its queue.
    WriterDone,
    /// A POST failed.
    WriteFailed(CloseReason),
}

/// Opens a session; gives its handle, its events, and its handshake.
pub async fn connect(options: EngineOptions) -> Result<(EngineHandle, queue::Receiver<EngineEvent>), Error> {
    let first = options.transports.first().copied().unwrap_or(Transport::Polling);
    let (inputs_tx, inputs) = queue::unbounded();
    // Resolved once for the session: the polling client, the websocket and the upgrade probe share it.
    let mut options = options;
    options.tls = tls_of(&options)?;
    let http = HttpClient::new(options.tls.as_ref());
    let (handshake, transport) = match first {
        Transport::Websocket => {
            let mut ws = open_websocket(&options, None).await?;
            let open = match ws.next().await {
                Some(Ok(Message::Text(text))) => v4::decode_packet_str(text.as_str().into())
                    .map_err(|e| Error::Handshake(format!("invalid open packet: {e}")))?,
                other => return Err(Error::Handshake(format!("no open packet: {other:?}"))),
            };
            let handshake = handshake_of(&open)?;
            (handshake, Active::Websocket(spawn_websocket(ws, inputs_tx.clone())))
        }
        Transport::Polling => {
            let packets = poll(&http, &options, None, usize::MAX).await.map_err(|reason| match reason {
                CloseReason::TransportError(message) => Error::Transport(message),
                other => Error::Transport(other.to_string()),
            })?;
            let open = packets.first().ok_or_else(|| Error::Handshake("empty handshake response".into()))?;
            let handshake = handshake_of(open)?;
            let polling = Polling::start(&http, &options, &handshake, inputs_tx.clone());
            // Packets that came with the open one.
            if packets.len() > 1 {
                let _ = inputs_tx.send(Input::Polled(Ok(packets[1..].to_vec())));
            }
            (handshake, Active::Polling(polling))
        }
    };
    let (commands, commands_rx) = queue::unbounded();
    let (events_tx, events) = queue::unbounded();
    let (transport_tx, transport_rx) = watch::channel(first);
    let session = Session {
        options,

        handshake: handshake.clone(),
        inputs_tx,
        events: events_tx,
        transport: transport_tx,
        active: transport,
        upgrade: None,
        closing: false,
    };
    tokio::spawn(session.run(inputs, commands_rx));
    Ok((EngineHandle { commands, handshake, transport: transport_rx }, events))
}

fn handshake_of(open: &Packet) -> Result<Handshake, Error> {
    match (open.ty, open.data.as_text()) {
        (PacketType::Open, Some(json)) => {
            Handshake::from_json(json).map_err(|e| Error::Handshake(format!("invalid handshake: {e}")))
        }
        _ => Err(Error::Handshake("the first packet is not an open packet".into())),
    }
}

async fn open_websocket(options: &EngineOptions, sid: Option<&str>) -> Result<WsStream, Error> {
    let mut request =
        options.url(true, sid).into_client_request().map_err(|e| Error::InvalidUrl(e.to_string()))?;
    for (name, value) in &options.extra_headers {
        let (Ok(name), Ok(value)) =
            (http::HeaderName::from_bytes(name.as_bytes()), http::HeaderValue::from_str(value))
        else {
            return Err(Error::InvalidUrl(format!("invalid header {name}")));
        };
        request.headers_mut().insert(name, value);
    }
    if let Some(cookie) = options.cookie_header() {
        let value = http::HeaderValue::from_str(&cookie).map_err(|e| Error::Transport(e.to_string()))?;
        request.headers_mut().insert(http::header::COOKIE, value);
    }
    let io = crate::tls::connect(&options.host, options.port, options.tls.as_ref()).await?;
    // Small buffers that grow on demand: tungstenite's defaults (128 KiB to read) made an idle client
    // connection cost about 150 KB; one bot or load-test process may hold thousands of them.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(16 * 1024);
    let (ws, response) = match tokio_tungstenite::client_async_with_config(request, io, Some(config)).await {
        Ok(opened) => opened,
        Err(e) => {
            // A refused upgrade may set cookies too (a load balancer's, for the next attempt).
            if let tungstenite::Error::Http(response) = &e {
                options.keep_cookies(response.headers());
            }
            return Err(Error::Transport(e.to_string()));
        }
    };
    options.keep_cookies(response.headers());
    Ok(ws)
}

/// One polling GET: the packets of its payload.
async fn poll(
    http: &HttpClient,
    options: &EngineOptions,
    sid: Option<&str>,
    max: usize,
) -> Result<Vec<Packet>, CloseReason> {
    let url = format!("{}&t={}", options.url(false, sid), cache_buster());
    let request = options
        .request(http::Method::GET, url)
        .body(Full::new(Bytes::new()))
        .map_err(|e| CloseReason::TransportError(e.to_string()))?;
    let response = http.request(request).await.map_err(|e| CloseReason::TransportError(error_chain(&e)))?;
    options.keep_cookies(response.headers());
    let status = response.status();
    let body =
        response.into_body().collect().await.map_err(|e| CloseReason::TransportError(e.to_string()))?;
    if !status.is_success() {
        return Err(CloseReason::TransportError(format!("polling GET answered {status}")));
    }
    v4::decode_payload(body.to_bytes(), max).map_err(|_| CloseReason::ParseError)
}

/// An error with its sources, which hyper's client errors keep apart ("client error (Connect): ...").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

fn cache_buster() -> String {
    let mut bytes = [0u8; 6];
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The polling side of a session: the GET loop and the POST writer.
struct Polling {
    pause: watch::Sender<bool>,
    writer: Option<queue::Sender<Packet>>,
}

impl Polling {
    fn start(
        http: &HttpClient,
        options: &EngineOptions,
        handshake: &Handshake,
        inputs: queue::Sender<Input>,
    ) -> Polling {
        let (pause, paused) = watch::channel(false);
        let max = handshake.max_payload.unwrap_or(1_000_000) as usize;
        // The GET loop.
        {
            let (http, options, sid, inputs) =
                (http.clone(), options.clone(), handshake.sid.clone(), inputs.clone());
            tokio::spawn(async move {
                loop {
                    if *paused.borrow() {
                        let _ = inputs.send(Input::PollingStopped);
                        return;
                    }
                    let result = poll(&http, &options, Some(&sid), usize::MAX).await;
                    let failed = result.is_err();
                    if inputs.send(Input::Polled(result)).is_err() || failed {
                        return;
                    }
                }
            });
        }
        // The POST writer: everything queued goes in one payload, up to maxPayload.
        let (writer, mut queue) = queue::unbounded::<Packet>();
        {
            let (http, options, sid) = (http.clone(), options.clone(), handshake.sid.clone());
            tokio::spawn(async move {
                let mut carry: Option<Packet> = None;
                loop {
                    let first = match carry.take() {
                        Some(p) => p,
                        None => match queue.recv().await {
                            Some(p) => p,
                            None => {
                                let _ = inputs.send(Input::WriterDone);
                                return;
                            }
                        },
                    };
                    let mut size = v4::encoded_len(&first) + 1;
                    let mut batch = vec![first];
                    while let Some(next) = queue.try_recv() {
                        let len = v4::encoded_len(&next) + 1;
                        if size + len > max {
                            carry = Some(next);
                            break;
                        }
                        size += len;
                        batch.push(next);
                    }
                    let body = v4::encode_payload(&batch);
                    if let Err(reason) = post(&http, &options, &sid, body.to_string()).await {
                        let _ = inputs.send(Input::WriteFailed(reason));
                        return;
                    }
                }
            });
        }
        Polling { pause, writer: Some(writer) }
    }
}

async fn post(
    http: &HttpClient,
    options: &EngineOptions,
    sid: &str,
    body: String,
) -> Result<(), CloseReason> {
    let url = format!("{}&t={}", options.url(false, Some(sid)), cache_buster());
    let request = options
        .request(http::Method::POST, url)
        .header("content-type", "text/plain;charset=UTF-8")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| CloseReason::TransportError(e.to_string()))?;
    let response = http.request(request).await.map_err(|e| CloseReason::TransportError(error_chain(&e)))?;
    options.keep_cookies(response.headers());
    let status = response.status();
    let _ = response.into_body().collect().await;
    if status.is_success() {
        Ok(())
    } else {
        Err(CloseReason::TransportError(format!("polling POST answered {status}")))
    }
}

/// A websocket in use: its writer queue.
struct Websocket {
    writer: queue::Sender<Message>,
}

/// Starts reading and writing a websocket.
fn spawn_websocket(ws: WsStream, inputs: queue::Sender<Input>) -> Websocket {
    let (mut sink, mut stream) = ws.split();
    let (writer, mut queue) = queue::unbounded::<Message>();
    tokio::spawn(async move {
        while let Some(message) = queue.recv().await {
            let closing = matches!(message, Message::Close(_));
            if sink.send(message).await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });
    tokio::spawn(async move {
        loop {
            let packet = match stream.next().await {
                Some(Ok(Message::Text(text))) => {
                    v4::decode_packet_str(text.as_str().into()).map_err(|_| CloseReason::ParseError)
                }
                Some(Ok(Message::Binary(data))) => Ok(Packet::binary(data)),
                Some(Ok(Message::Close(_))) | None => Err(CloseReason::TransportClose),
                Some(Ok(_)) => continue,
                // The server went away without a close frame: a close, as the JS client sees it (1006).
                Some(Err(tungstenite::Error::Protocol(
                    tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
                ))) => Err(CloseReason::TransportClose),
                Some(Err(e)) => Err(CloseReason::TransportError(e.to_string())),
            };
            let end = packet.is_err();
            if inputs.send(Input::Socket(packet)).is_err() || end {
                return;
            }
        }
    });
    Websocket { writer }
}

fn ws_message(packet: &Packet) -> Message {
    match v4::encode_frame(packet) {
        Frame::Text(s) => Message::Text(tungstenite::Utf8Bytes::from(s.to_string())),
        Frame::Binary(b) => Message::Binary(b),
    }
}

enum Active {
    Polling(Polling),
    Websocket(Websocket),
}

/// An upgrade under way: the websocket that passed the probe, and what the session waits for.
struct Upgrade {
    ws: Option<Websocket>,
    polling_stopped: bool,
    writer_done: bool,
    /// Packets sent meanwhile, to go on the websocket.
    held: Vec<Packet>,
}

struct Session {
    options: EngineOptions,
    handshake: Handshake,
    inputs_tx: queue::Sender<Input>,
    events: queue::Sender<EngineEvent>,
    transport: watch::Sender<Transport>,
    active: Active,
    upgrade: Option<Upgrade>,
    /// Closed by the user while the upgrade was switching transports: the close packet waits for the
    /// websocket, as the JS client waits for the upgrade before closing.
    closing: bool,
}

impl Session {
    async fn run(mut self, mut inputs: queue::Receiver<Input>, mut commands: queue::Receiver<Command>) {
        let heartbeat = Duration::from_millis(self.handshake.ping_interval + self.handshake.ping_timeout);
        let mut deadline = tokio::time::Instant::now() + heartbeat;
        let can_upgrade = self.options.upgrade
            && self.options.transports.contains(&Transport::Websocket)
            && self.handshake.upgrades.iter().any(|u| u == "websocket");
        if matches!(self.active, Active::Polling(_)) && can_upgrade {
            self.probe();
        }
        let reason = loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Send(_)) if self.closing => {}
                    Some(Command::Send(frames)) => {
                        for frame in frames {
                            let packet = match frame {
                                Frame::Text(s) => Packet::message(s),
                                Frame::Binary(b) => Packet::binary(b),
                            };
                            self.write(packet);
                        }
                    }
                    Some(Command::Close) | None => {
                        self.write(Packet::empty(PacketType::Close));
                        if self.upgrade.as_ref().is_some_and(|u| u.ws.is_some()) {
                            // Held until the websocket takes over (see `finish_upgrade`).
                            self.closing = true;
                            continue;
                        }
                        break CloseReason::ForcedClose;
                    }
                },
                input = inputs.recv() => {
                    let Some(input) = input else { break CloseReason::TransportClose };
                    match self.on_input(input, &mut deadline, heartbeat) {
                        Ok(()) => {}
                        Err(reason) => break reason,
                    }
                }
                _ = tokio::time::sleep_until(deadline) => break CloseReason::PingTimeout,
            }
        };
        // Let the writers finish what they have (the close packet included), then stop reading.
        match &mut self.active {
            Active::Polling(p) => {
                p.writer.take();
                let _ = p.pause.send(true);
            }
            Active::Websocket(ws) => {
                let _ = ws.writer.send(Message::Close(None));
            }
        }
        let _ = self.events.send(EngineEvent::Closed(reason));
    }

    fn write(&mut self, packet: Packet) {
        if let Some(upgrade) = &mut self.upgrade {
            if upgrade.ws.is_some() {
                upgrade.held.push(packet);
                return;
            }
        }
        match &self.active {
            Active::Polling(p) => {
                if let Some(w) = &p.writer {
                    let _ = w.send(packet);
                }
            }
            Active::Websocket(ws) => {
                let _ = ws.writer.send(ws_message(&packet));
            }
        }
    }

    fn on_packet(
        &mut self,
        packet: Packet,
        deadline: &mut tokio::time::Instant,
        heartbeat: Duration,
    ) -> Result<(), CloseReason> {
        match packet.ty {
            PacketType::Ping => {
                *deadline = tokio::time::Instant::now() + heartbeat;
                self.write(Packet::empty(PacketType::Pong));
                let _ = self.events.send(EngineEvent::Ping);
            }
            PacketType::Message => {
                let frame = match packet.data {
                    PacketData::Text(s) => Frame::Text(s),
                    PacketData::Binary(b) => Frame::Binary(b),
                    PacketData::Empty => Frame::Text("".into()),
                };
                let _ = self.events.send(EngineEvent::Message(frame));
            }
            PacketType::Close => return Err(CloseReason::TransportClose),
            _ => {}
        }
        Ok(())
    }

    fn on_input(
        &mut self,
        input: Input,
        deadline: &mut tokio::time::Instant,
        heartbeat: Duration,
    ) -> Result<(), CloseReason> {
        match input {
            Input::Polled(result) => {
                for packet in result? {
                    self.on_packet(packet, deadline, heartbeat)?;
                }
            }
            Input::Socket(result) => {
                if matches!(self.active, Active::Websocket(_)) {
                    self.on_packet(result?, deadline, heartbeat)?;
                }
            }
            Input::WriteFailed(reason) => return Err(reason),
            Input::ProbeDone(ws) => {
                // Pause polling: the GET in flight is answered (with a noop) and the writer drains.
                let ws = spawn_websocket(*ws, self.inputs_tx.clone());
                if let Active::Polling(p) = &mut self.active {
                    let _ = p.pause.send(true);
                    p.writer.take();
                }
                self.upgrade = Some(Upgrade {
                    ws: Some(ws),
                    polling_stopped: false,
                    writer_done: false,
                    held: Vec::new(),
                });
            }
            Input::ProbeFailed => {}
            Input::PollingStopped => {
                if let Some(u) = &mut self.upgrade {
                    u.polling_stopped = true;
                }
                self.finish_upgrade();
            }
            Input::WriterDone => {
                if let Some(u) = &mut self.upgrade {
                    u.writer_done = true;
                }
                self.finish_upgrade();
            }
        }
        if self.closing && self.upgrade.is_none() {
            // The close packet went out on the websocket with what was held.
            return Err(CloseReason::ForcedClose);
        }
        Ok(())
    }

    /// Once polling is paused: the upgrade packet, then what was held, on the websocket.
    fn finish_upgrade(&mut self) {
        let Some(upgrade) = &mut self.upgrade else { return };
        if !(upgrade.polling_stopped && upgrade.writer_done) {
            return;
        }
        let Some(mut upgrade) = self.upgrade.take() else { return };
        let Some(ws) = upgrade.ws.take() else { return };
        let _ = ws.writer.send(ws_message(&Packet::empty(PacketType::Upgrade)));
        for packet in upgrade.held.drain(..) {
            let _ = ws.writer.send(ws_message(&packet));
        }
        self.active = Active::Websocket(ws);
        let _ = self.transport.send(Transport::Websocket);
        let _ = self.events.send(EngineEvent::Upgraded);
    }

    /// Opens a websocket for this session and checks it with a ping probe.
    fn probe(&self) {
        let (options, sid, inputs) =
            (self.options.clone(), self.handshake.sid.clone(), self.inputs_tx.clone());
        tokio::spawn(async move {
            let outcome = async {
                let mut ws = open_websocket(&options, Some(&sid)).await.ok()?;
                ws.send(ws_message(&Packet::ping_probe())).await.ok()?;
                let answer = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.ok()??.ok()?;
                let Message::Text(text) = answer else { return None };
                let packet = v4::decode_packet_str(text.as_str().into()).ok()?;
                (packet.ty == PacketType::Pong && packet.data.as_text() == Some("probe")).then_some(ws)
            }
            .await;
            let _ = inputs.send(match outcome {
                Some(ws) => Input::ProbeDone(Box::new(ws)),
                None => Input::ProbeFailed,
            });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_the_protocol_the_sid_and_the_query() {
        let options = EngineOptions {
            host: "127.0.0.1".into(),
            port: 3000,
            query: vec![("token".into(), "a b&c".into())],
            ..EngineOptions::default()
        };
        assert_eq!(
            options.url(false, Some("x/y")),
            "http://127.0.0.1:3000/socket.io/?EIO=4&transport=polling&sid=x%2Fy&token=a%20b%26c"
        );
        assert_eq!(
            options.url(true, None),
            "ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket&token=a%20b%26c"
        );
    }

    #[test]
    fn close_reasons_have_the_names_of_the_js_client() {
        assert_eq!(CloseReason::PingTimeout.as_str(), "ping timeout");
        assert_eq!(CloseReason::TransportError("x".into()).as_str(), "transport error");
    }
}
