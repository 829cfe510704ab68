//! One Engine.IO connection and the sockets it multiplexes, one per namespace.

use crate::namespace::connect_reply;
use crate::server::ServerInner;
use crate::socket::{DisconnectReason, Socket};
use engineio_server::parser::{PacketData as EnginePacketData, ProtocolVersion as EngineProtocol};
use engineio_server::{EncodedMessage, SendOptions};
use socketio_adapter::BroadcastFlags;
use socketio_parser::{Decoder, Frame, JsonParser, Packet, PacketData, Parser, Str, Value};
use std::sync::{Arc, Mutex};

pub(crate) struct Client {
    pub(crate) conn: engineio_server::Socket,
    server: Arc<ServerInner>,
    /// Encodes for this client: the server's parser, or the v4 flavour for Engine.IO v3 clients.
    parser: Arc<dyn Parser>,
    decoder: Mutex<Box<dyn Decoder>>,
    sockets: Mutex<Sockets>,
    connect_timer: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// A packet's frames as [`Client::write`] takes them: text frames carry the text of their Engine.IO
/// message (`4` + text), encoded once however many clients they go to.
pub(crate) fn engine_frames(parser: &dyn Parser, packet: &Packet) -> Vec<Frame> {
    parser.encode_with_prefix(packet, "4")
}

/// The engine messages of frames made by [`engine_frames`], to write to any number of clients.
pub(crate) fn engine_messages(frames: &[Frame]) -> Vec<EncodedMessage> {
    frames.iter().map(engine_message).collect()
}

/// The engine message of one frame made by [`engine_frames`].
fn engine_message(frame: &Frame) -> EncodedMessage {
    match frame {
        Frame::Text(t) => {
            EncodedMessage::from_frame_text(t.clone()).unwrap_or_else(|| EncodedMessage::text(t.as_str()))
        }
        Frame::Binary(b) => EncodedMessage::binary(b.clone()),
    }
}

/// The sockets of one connection, one per namespace, and what may still join. Plain lists: a
/// connection has a socket or two, and a hash table of one entry would cost more than the search.
#[derive(Default)]
struct Sockets {
    by_nsp: Vec<Socket>,
    /// Namespaces whose CONNECT is being handled (lookup, middlewares): a second CONNECT for one of
    /// them, or for a namespace already joined, is ignored, so no socket is ever left behind unowned.
    joining: Vec<String>,
    /// The connection closed: no socket is added any more.
    closed: bool,
}

impl Client {
    pub(crate) fn new(conn: engineio_server::Socket, server: Arc<ServerInner>) -> Arc<Self> {
        let parser: Arc<dyn Parser> = if conn.protocol() == EngineProtocol::V3 {
            match server.config.parser {
                crate::ParserKind::Default => Arc::new(JsonParser::v4()),
                #[cfg(feature = "msgpack")]
                crate::ParserKind::Msgpack => server.parser.clone(),
            }
        } else {
            server.parser.clone()
        };
        let decoder = Mutex::new(parser.decoder());
        let client = Arc::new(Client {
            conn,
            server,
            parser,
            decoder,
            sockets: Mutex::new(Sockets::default()),
            connect_timer: Mutex::new(None),
        });
        let weak = Arc::downgrade(&client);
        let timeout = client.server.config.connect_timeout;
        let timer = tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            if let Some(client) = weak.upgrade() {
                if client.socket_list().is_empty() {
                    tracing::debug!(sid = %client.conn.id(), "no namespace joined within connectTimeout");
                    client.conn.close();
                }
            }
        });
        *client.connect_timer.lock().unwrap_or_else(|e| e.into_inner()) = Some(timer);
        client
    }

    /// The sockets of this connection, one per namespace joined.
    pub(crate) fn socket_list(&self) -> Vec<Socket> {
        self.lock_sockets().by_nsp.clone()
    }

    fn lock_sockets(&self) -> std::sync::MutexGuard<'_, Sockets> {
        self.sockets.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn encode(&self, packet: &Packet) -> Vec<Frame> {
        engine_frames(&*self.parser, packet)
    }

    /// Writes the frames of one packet (made by [`engine_frames`]) to the connection: each session
    /// queues shared copies, nothing is encoded or copied per recipient. A volatile packet is dropped
    /// whole when the transport cannot take its first frame at once.
    pub(crate) fn write(&self, frames: &[Frame], flags: &BroadcastFlags) -> bool {
        self.send_all(frames.iter().map(engine_message), flags)
    }

    /// Writes messages prepared by [`engine_messages`]; `false` when the session refused one (closed,
    /// or a volatile packet dropped).
    pub(crate) fn write_messages(&self, messages: &[EncodedMessage], flags: &BroadcastFlags) -> bool {
        self.send_all(messages, flags)
    }

    /// Sends the messages of one packet in order (a volatile packet is volatile for its first
    /// message only); `false` at the first one the session refuses.
    fn send_all<M: std::borrow::Borrow<EncodedMessage>>(
        &self,
        messages: impl IntoIterator<Item = M>,
        flags: &BroadcastFlags,
    ) -> bool {
        let mut options = SendOptions { compress: flags.compress, volatile: flags.volatile };
        for message in messages {
            if self.conn.send_encoded(message.borrow(), options).is_err() {
                return false;
            }
            options.volatile = false;
        }
        true
    }

    /// Registers a socket that joined its namespace; `false` once the connection has closed (the
    /// socket must then be dropped: nothing would ever close it).
    pub(crate) fn add(&self, socket: &Socket) -> bool {
        {
            let mut sockets = self.lock_sockets();
            if sockets.closed {
                return false;
            }
            sockets.by_nsp.retain(|s| s.nsp() != socket.nsp());
            sockets.by_nsp.push(socket.clone());
        }
        if let Some(timer) = self.connect_timer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            timer.abort();
        }
        true
    }

    pub(crate) fn remove(&self, socket: &Socket) {
        let mut sockets = self.lock_sockets();
        if let Some(at) = sockets.by_nsp.iter().position(|s| s == socket) {
            sockets.by_nsp.swap_remove(at);
        }
    }

    /// Disconnects every socket, then closes the connection (`socket.disconnect(true)`).
    pub(crate) fn disconnect_all(&self) {
        for socket in self.socket_list() {
            socket.disconnect(false);
        }
        self.conn.close();
    }

    /// A message from the connection.
    pub(crate) fn on_data(self: &Arc<Self>, data: EnginePacketData) {
        let frame = match data {
            EnginePacketData::Text(t) => Frame::Text(t),
            EnginePacketData::Binary(b) => Frame::Binary(b),
            EnginePacketData::Empty => Frame::Text(Str::new()),
        };
        let decoded = self.decoder.lock().unwrap_or_else(|e| e.into_inner()).add(frame);
        match decoded {
            Ok(Some(packet)) => self.on_packet(packet),
            Ok(None) => {}
            Err(e) => {
                // As the reference: every socket hears of the error, then the connection closes.
                tracing::debug!(sid = %self.conn.id(), "invalid packet: {e}");
                for socket in self.socket_list() {
                    socket.report_error(&e.to_string());
                }
                self.conn.close();
            }
        }
    }

    fn on_packet(self: &Arc<Self>, packet: Packet) {
        let socket = self.lock_sockets().by_nsp.iter().find(|s| s.nsp() == packet.nsp).cloned();
        match (socket, &packet.data) {
            (None, PacketData::Connect(auth)) => {
                let auth = auth.clone().unwrap_or_else(|| Value::Object(Default::default()));
                self.connect(packet.nsp.clone(), auth);
            }
            (Some(socket), data) if !matches!(data, PacketData::Connect(_) | PacketData::ConnectError(_)) => {
                socket.on_packet(packet);
            }
            _ => {
                // As the reference's "invalid state": the server closes the connection, and its sockets
                // disconnect at once with `forced server close`.
                tracing::debug!(sid = %self.conn.id(), nsp = %packet.nsp, "packet for a namespace not joined");
                self.conn.close();
                self.close_sockets(DisconnectReason::ForcedServerClose, None);
            }
        }
    }

    /// Connects to namespace `name`: an existing one, or a dynamic one whose predicate accepts it.
    pub(crate) fn connect(self: &Arc<Self>, name: String, auth: Value) {
        {
            let mut sockets = self.lock_sockets();
            if sockets.closed
                || sockets.by_nsp.iter().any(|s| s.nsp() == name)
                || sockets.joining.contains(&name)
            {
                tracing::debug!(sid = %self.conn.id(), nsp = %name, "CONNECT for a namespace already joined");
                return;
            }
            sockets.joining.push(name.clone());
        }
        let client = self.clone();
        let join = async move {
            // A panic in the user's code (a dynamic namespace's predicate) must not leave the namespace
            // marked as joining for the rest of the connection.
            let joined = std::panic::AssertUnwindSafe(client.join_namespace(&name, auth));
            if futures_util::FutureExt::catch_unwind(joined).await.is_err() {
                tracing::warn!(sid = %client.conn.id(), nsp = %name, "a panic while joining a namespace");
            }
            let mut sockets = client.lock_sockets();
            sockets.joining.retain(|n| *n != name);
            if sockets.joining.is_empty() {
                // Nothing kept for a connection that joined its namespaces.
                sockets.joining = Vec::new();
            }
        };
        // Dynamic namespace predicates, middlewares and connection handlers are the user's code: they run
        // in the connection's span (and the socket's, once it exists).
        #[cfg(feature = "tracing")]
        let join = tracing::Instrument::instrument(join, self.conn.span().clone());
        tokio::spawn(join);
    }

    /// Looks the namespace up and hands a new socket to it (middlewares, then connection), or answers
    /// "Invalid namespace".
    async fn join_namespace(self: &Arc<Self>, name: &str, auth: Value) {
        let client = self;
        match client.server.lookup_namespace(name, &auth).await {
            Some(nsp) => {
                nsp.adapter_ready().await;
                let v3 = client.conn.protocol() == EngineProtocol::V3;
                let restored = match (nsp.recovery(), auth["pid"].as_str(), auth["offset"].as_str()) {
                    (Some(_), Some(pid), Some(offset)) if !v3 => {
                        let restored = nsp.adapter().restore_session(pid, offset).await.ok().flatten();
                        #[cfg(feature = "metrics")]
                        crate::metrics::recovery(restored.is_some());
                        restored
                    }
                    _ => None,
                };
                let (id, pid): (Str, Option<Str>) = match &restored {
                    Some(r) => (r.state.sid.clone(), Some(r.state.pid.clone())),
                    None if v3 && name == "/" => (client.conn.id_str().clone(), None),
                    None if v3 => (Str::from(format!("{name}#{}", client.conn.id())), None),
                    None => (
                        Str::from(crate::server::generate_socket_id()),
                        nsp.recovery().map(|_| Str::from(crate::server::generate_socket_id())),
                    ),
                };
                let reply =
                    if v3 { Packet::connect(name, None) } else { connect_reply(name, &id, pid.as_deref()) };
                let socket = Socket::new(id, pid, restored.is_some(), nsp.clone(), client.clone(), auth);
                #[cfg(feature = "tracing")]
                let span = socket.span().clone();
                let add = nsp.add(socket, reply, restored);
                #[cfg(feature = "tracing")]
                let add = tracing::Instrument::instrument(add, span);
                add.await;
            }
            None => {
                // Both protocol flavours get `{"message": "Invalid namespace"}`, as the reference
                // sends it (a 2.x client sees that object as its `error` event).
                let packet = Packet::connect_error(name, "Invalid namespace", None);
                let frames = client.encode(&packet);
                client.write(&frames, &BroadcastFlags::default());
            }
        }
    }

    /// The connection closed: every socket disconnects with the engine's reason.
    pub(crate) fn on_close(&self, reason: engineio_server::CloseReason, description: Option<&str>) {
        self.close_sockets(DisconnectReason::from_engine(reason), description);
    }

    /// Disconnects every socket with `reason` and takes no new one (once: later calls find none).
    fn close_sockets(&self, reason: DisconnectReason, description: Option<&str>) {
        if let Some(timer) = self.connect_timer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            timer.abort();
        }
        let sockets: Vec<Socket> = {
            let mut sockets = self.lock_sockets();
            sockets.closed = true;
            sockets.by_nsp.clone()
        };
        for socket in sockets {
            socket.set_disconnect_description(description);
            socket.on_close(reason);
        }
        self.decoder.lock().unwrap_or_else(|e| e.into_inner()).reset();
    }
}
