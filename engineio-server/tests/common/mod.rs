//! Helpers shared by the engine's integration tests: a server on a free port, a raw HTTP/1.1 client (full
//! control over bodies and concurrency), a websocket client, and a handler that records what it hears.

#![allow(dead_code)]

use bytes::Bytes;
use engineio_server::parser::{Handshake, PacketData};
use engineio_server::{
    CloseReason, ConnectionError, EngineConfig, EngineIo, Handler, ServerHandle, SessionEvent, Socket,
};
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// What the recording handler heard, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Connection(String),
    Message(String, PacketData),
    Close(String, CloseReason, Option<String>),
    ConnectionError(u8, String, serde_json::Value),
    Upgrading(String),
    Upgrade(String),
    Heartbeat(String),
    PacketIn(String, String),
    PacketCreate(String, String),
    Flush(String, usize),
}

/// Records events into a channel; echoes messages back when `echo` is set.
pub struct Recorder {
    pub tx: mpsc::UnboundedSender<Event>,
    pub echo: bool,
}

impl Handler for Recorder {
    fn on_connection(&self, socket: &Socket) {
        let _ = self.tx.send(Event::Connection(socket.id().to_string()));
    }
    fn on_message(&self, socket: &Socket, data: PacketData) {
        if self.echo {
            let _ = match data.clone() {
                PacketData::Text(t) => socket.send_text(t),
                PacketData::Binary(b) => socket.send_binary(b),
                PacketData::Empty => Ok(()),
            };
        }
        let _ = self.tx.send(Event::Message(socket.id().to_string(), data));
    }
    fn on_close(&self, socket: &Socket, reason: CloseReason, description: Option<&str>) {
        let _ = self.tx.send(Event::Close(socket.id().to_string(), reason, description.map(str::to_owned)));
    }
    fn on_connection_error(&self, e: &ConnectionError) {
        let _ = self.tx.send(Event::ConnectionError(e.code as u8, e.message.clone(), e.context.clone()));
    }
    fn on_session_event(&self, socket: &Socket, event: SessionEvent<'_>) {
        let id = socket.id().to_string();
        let e = match event {
            SessionEvent::Upgrading(t) => Event::Upgrading(t.to_string()),
            SessionEvent::Upgrade(t) => Event::Upgrade(t.to_string()),
            SessionEvent::Heartbeat => Event::Heartbeat(id),
            SessionEvent::Packet(p) => Event::PacketIn(id, format!("{:?}", p.ty)),
            SessionEvent::PacketCreate(p) => Event::PacketCreate(id, format!("{:?}", p.ty)),
            SessionEvent::Flush(n) => Event::Flush(id, n),
            _ => return,
        };
        let _ = self.tx.send(e);
    }
}

/// A running engine on a free loopback port.
pub struct TestServer {
    pub engine: EngineIo,
    pub addr: SocketAddr,
    pub events: mpsc::UnboundedReceiver<Event>,
    pub _handle: ServerHandle,
}

pub async fn start(config: EngineConfig) -> TestServer {
    start_with(config, true).await
}

pub async fn start_with(config: EngineConfig, echo: bool) -> TestServer {
    let (tx, events) = mpsc::unbounded_channel();
    let engine = EngineIo::new(config, Recorder { tx, echo });
    let handle = engine.listen("127.0.0.1:0".parse().unwrap()).await.expect("listen");
    TestServer { addr: handle.local_addr(), engine, events, _handle: handle }
}

impl TestServer {
    /// Waits (at most 5 s) for the first event that `pick` accepts, skipping the others.
    pub async fn wait_for<T>(&mut self, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let e = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .expect("timed out waiting for an engine event")
                .expect("event channel closed");
            if let Some(t) = pick(&e) {
                return t;
            }
        }
    }

    pub async fn wait_close(&mut self, sid: &str) -> (CloseReason, Option<String>) {
        self.wait_for(|e| match e {
            Event::Close(s, r, d) if s == sid => Some((*r, d.clone())),
            _ => None,
        })
        .await
    }

    pub fn url(&self, query: &str) -> String {
        format!("/engine.io/?{query}")
    }

    /// Opens a v4 polling session; returns its sid and handshake.
    pub async fn handshake(&self) -> (String, Handshake) {
        let res = self.get("/engine.io/?EIO=4&transport=polling").await;
        assert_eq!(res.status, 200, "{}", res.text());
        let text = res.text();
        let json = text.strip_prefix('0').expect("open packet");
        let h = Handshake::from_json(json).expect("handshake JSON");
        (h.sid.clone(), h)
    }

    pub async fn get(&self, path: &str) -> HttpResponse {
        self.request("GET", path, &[], b"").await
    }

    pub async fn post(&self, path: &str, body: &[u8]) -> HttpResponse {
        self.request("POST", path, &[("Content-Type", "text/plain;charset=UTF-8")], body).await
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> HttpResponse {
        let mut stream = self.send_head(method, path, headers, Some(body.len())).await;
        stream.write_all(body).await.expect("write body");
        read_response(&mut stream).await
    }

    /// Sends a request head (and nothing of the body); returns the open connection.
    pub async fn send_head(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        len: Option<usize>,
    ) -> TcpStream {
        let mut stream = TcpStream::connect(self.addr).await.expect("connect");
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n", self.addr);
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(len) = len {
            head.push_str(&format!("Content-Length: {len}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.expect("write head");
        stream
    }

    pub async fn ws(&self, query: &str) -> Ws {
        let url = format!("ws://{}/engine.io/?{query}", self.addr);
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connect");
        Ws(ws)
    }
}

pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl HttpResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

/// Reads one HTTP/1.1 response (Content-Length framed, or until close).
pub async fn read_response(stream: &mut TcpStream) -> HttpResponse {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .expect("response in time")
            .expect("read");
        assert!(n > 0, "connection closed before a response: {:?}", String::from_utf8_lossy(&buf));
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 =
        lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
        .collect();
    let mut body = buf[head_end + 4..].to_vec();
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok());
    if status != 101 {
        loop {
            if len.is_some_and(|l| body.len() >= l) {
                break;
            }
            let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
                .await
                .expect("body in time")
                .unwrap_or(0);
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    }
    HttpResponse { status, headers, body: Bytes::from(body) }
}

/// A websocket client.
pub struct Ws(pub tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>);

impl Ws {
    pub async fn send_text(&mut self, text: &str) {
        self.0.send(Message::Text(text.into())).await.expect("ws send");
    }
    pub async fn send_binary(&mut self, data: &[u8]) {
        self.0.send(Message::Binary(Bytes::copy_from_slice(data))).await.expect("ws send");
    }
    /// The next data message (text as `Ok`, binary as `Err`), or `None` when the connection ended.
    pub async fn next(&mut self) -> Option<Result<String, Bytes>> {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(5), self.0.next())
                .await
                .expect("ws message in time");
            match msg {
                Some(Ok(Message::Text(t))) => return Some(Ok(t.to_string())),
                Some(Ok(Message::Binary(b))) => return Some(Err(b)),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }
    pub async fn next_text(&mut self) -> String {
        match self.next().await {
            Some(Ok(t)) => t,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}
