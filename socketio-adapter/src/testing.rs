//! A [`LocalNamespace`] that records what an adapter asks of it, for testing adapters.

use crate::types::{AckEvent, BroadcastFlags, LocalNamespace, Sid, SocketInfo};
use socketio_parser::{Frame, JsonParser, Packet, Parser, Value};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Records encodes, sends and disconnects; every socket exists and accepts every packet.
#[derive(Debug, Default)]
pub struct RecordingNamespace {
    name: String,
    encodes: AtomicUsize,
    ids: AtomicU64,
    sent: Mutex<Vec<Sid>>,
    disconnected: Mutex<Vec<(String, bool)>>,
}

impl RecordingNamespace {
    /// A namespace named `name`.
    pub fn new(name: &str) -> Arc<Self> {
        Arc::new(RecordingNamespace { name: name.to_string(), ..Default::default() })
    }

    /// How many packets were encoded.
    pub fn encodes(&self) -> usize {
        self.encodes.load(Ordering::SeqCst)
    }

    /// The sockets written to, in order.
    pub fn sent_to(&self) -> Vec<Sid> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The sockets disconnected, with the `close` flag.
    pub fn disconnected(&self) -> Vec<(String, bool)> {
        self.disconnected.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl LocalNamespace for RecordingNamespace {
    fn name(&self) -> &str {
        &self.name
    }
    fn encode(&self, packet: &Packet) -> Vec<Frame> {
        self.encodes.fetch_add(1, Ordering::SeqCst);
        JsonParser::default().encode(packet)
    }
    fn send(&self, sid: &Sid, _frames: &[Frame], _flags: &BroadcastFlags) -> bool {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).push(sid.clone());
        true
    }
    fn send_with_ack(
        &self,
        sid: &Sid,
        frames: &[Frame],
        flags: &BroadcastFlags,
        _ack_id: u64,
        _acks: mpsc::UnboundedSender<AckEvent>,
    ) -> bool {
        self.send(sid, frames, flags)
    }
    fn next_ack_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::SeqCst)
    }
    fn disconnect(&self, sid: &Sid, close: bool) {
        self.disconnected.lock().unwrap_or_else(|e| e.into_inner()).push((sid.to_string(), close));
    }
    fn socket_info(&self, sid: &Sid) -> Option<SocketInfo> {
        Some(SocketInfo { id: sid.clone(), handshake: Value::Null, rooms: Vec::new(), data: Value::Null })
    }
}
