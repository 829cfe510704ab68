//! A minimal Socket.IO client over a websocket, built from the parser crates, for testing servers.

#![allow(clippy::unwrap_used, missing_docs)]

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use socketio_server::parser::{Decoder, Frame, JsonParser, Packet, PacketData, Parser, Value};
use socketio_server::{ServerConfig, SocketIo};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub async fn start(config: ServerConfig) -> (SocketIo, SocketAddr) {
    let io = SocketIo::new(config);
    let handle = io.listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let addr = handle.local_addr();
    std::mem::forget(handle);
    (io, addr)
}

pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    parser: Arc<dyn Parser>,
    decoder: Box<dyn Decoder>,
}

impl Client {
    /// Opens the Engine.IO session (no namespace yet).
    pub async fn open(addr: SocketAddr, parser: Arc<dyn Parser>) -> Client {
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        match ws.next().await {
            Some(Ok(Message::Text(t))) => assert!(t.starts_with("0{"), "open packet expected, got {t}"),
            other => panic!("open packet expected, got {other:?}"),
        }
        let decoder = parser.decoder();
        Client { ws, parser, decoder }
    }

    /// Opens a session and joins `nsp` with `auth`; returns the socket id.
    pub async fn connect(addr: SocketAddr, nsp: &str, auth: Option<serde_json::Value>) -> (Client, String) {
        let mut c = Client::open(addr, Arc::new(JsonParser::default())).await;
        let sid = c.join(nsp, auth).await.expect("connected");
        (c, sid)
    }

    /// Joins `nsp`: Ok(sid), or Err(the CONNECT_ERROR data).
    pub async fn join(&mut self, nsp: &str, auth: Option<serde_json::Value>) -> Result<String, Value> {
        self.join_full(nsp, auth).await.map(|d| d["sid"].as_str().unwrap().to_string())
    }

    /// Joins `nsp`: Ok(the CONNECT data), or Err(the CONNECT_ERROR data).
    pub async fn join_full(&mut self, nsp: &str, auth: Option<serde_json::Value>) -> Result<Value, Value> {
        self.send(Packet::connect(nsp, auth.map(Value::from))).await;
        loop {
            let p = self.recv().await.expect("answer to CONNECT");
            match p.data {
                PacketData::Connect(Some(data)) if p.nsp == nsp => return Ok(data),
                PacketData::ConnectError(e) if p.nsp == nsp => return Err(e),
                _ => continue,
            }
        }
    }

    pub async fn send(&mut self, packet: Packet) {
        for frame in self.parser.encode(&packet) {
            let msg = match frame {
                Frame::Text(t) => Message::Text(format!("4{t}").into()),
                Frame::Binary(b) => Message::Binary(b),
            };
            self.ws.send(msg).await.unwrap();
        }
    }

    pub async fn emit(&mut self, nsp: &str, event: &str, args: Vec<Value>) {
        self.send(Packet::event(nsp, event, args)).await;
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.ws.send(Message::Text(text.into())).await.unwrap();
    }

    /// Sends any websocket message as it is (binary frames, raw frames).
    pub async fn send_message(&mut self, message: Message) {
        let _ = self.ws.send(message).await;
    }

    /// The next Socket.IO packet (answering engine pings); `None` when the connection closed.
    pub async fn recv(&mut self) -> Option<Packet> {
        loop {
            let msg =
                tokio::time::timeout(Duration::from_secs(5), self.ws.next()).await.expect("a packet in time");
            let frame = match msg {
                Some(Ok(Message::Text(t))) => {
                    let t = t.to_string();
                    match t.as_bytes().first() {
                        Some(b'4') => Frame::Text(t[1..].to_string().into()),
                        Some(b'2') => {
                            self.ws.send(Message::Text("3".into())).await.unwrap();
                            continue;
                        }
                        Some(b'1') => return None,
                        _ => continue,
                    }
                }
                Some(Ok(Message::Binary(b))) => Frame::Binary(b),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            };
            if let Some(p) = self.decoder.add(frame).unwrap() {
                return Some(p);
            }
        }
    }

    /// The next event named `name` (others are skipped): its arguments and ack id.
    pub async fn recv_event(&mut self, name: &str) -> (Vec<Value>, Option<u64>) {
        loop {
            let p = self.recv().await.unwrap_or_else(|| panic!("connection closed before {name}"));
            if p.event_name() == Some(name) {
                return (p.args().to_vec(), p.id);
            }
        }
    }

    /// The next ACK packet.
    pub async fn recv_ack(&mut self) -> (u64, Vec<Value>) {
        loop {
            let p = self.recv().await.expect("an ack");
            if let PacketData::Ack(args) = p.data {
                return (p.id.unwrap(), args);
            }
        }
    }

    /// Waits until the server closes the connection.
    pub async fn closed(&mut self) {
        while self.recv().await.is_some() {}
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

pub fn bin(b: &'static [u8]) -> Value {
    Value::Binary(Bytes::from_static(b))
}
