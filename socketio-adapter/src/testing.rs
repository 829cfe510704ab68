//! A [`LocalNamespace`] that records what an adapter asks of it, for testing adapters.

use crate::types::{AckEvent, BroadcastFlags, LocalNamespace, Sid, SocketInfo};
use socketio_parser::{Frame, JsonParser, Packet, Parser, Value};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Records encodes, sends and disconnects; every socket exists and accepts every packet.
#[derive(Debug, Default)]
pub struct RecordingNamespace {
    name: String,
    encodes: AtomicUsize,
    ids: AtomicU64,
    sent: Mutex<Vec<Sid>>,
    last_frames: Mutex<Vec<Frame>>,
    disconnected: Mutex<Vec<(String, bool)>>,
    recovery: Option<Duration>,
}

impl RecordingNamespace {
    /// A namespace named `name`.
    pub fn new(name: &str) -> Arc<Self> {
        Arc::new(RecordingNamespace { name: name.to_string(), ..Default::default() })
    }

    /// A namespace with connection state recovery on.
    pub fn with_recovery(name: &str, window: Duration) -> Arc<Self> {
        Arc::new(RecordingNamespace { name: name.to_string(), recovery: Some(window), ..Default::default() })
    }

    /// The data array of the last event sent (decoded from its frames).
    pub fn last_sent_data(&self) -> Vec<Value> {
        let frames = self.last_frames.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut decoder = JsonParser::default().decoder();
        let packet = frames.into_iter().find_map(|f| decoder.add(f).ok().flatten());
        match packet.map(|p| p.data) {
            Some(socketio_parser::PacketData::Event(data)) => data,
            _ => Vec::new(),
        }
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
    fn send(&self, sid: &Sid, _packet: &Packet, frames: &[Frame], _flags: &BroadcastFlags) -> bool {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).push(sid.clone());
        *self.last_frames.lock().unwrap_or_else(|e| e.into_inner()) = frames.to_vec();
        true
    }
    fn send_with_ack(
        &self,
        sid: &Sid,
        packet: &Packet,
        frames: &[Frame],
        flags: &BroadcastFlags,
        _ack_id: u64,
        _acks: mpsc::UnboundedSender<AckEvent>,
    ) -> bool {
        self.send(sid, packet, frames, flags)
    }
    fn next_ack_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::SeqCst)
    }
    fn disconnect(&self, sid: &Sid, close: bool) {
        self.disconnected.lock().unwrap_or_else(|e| e.into_inner()).push((sid.to_string(), close));
    }
    fn recovery_window(&self) -> Option<Duration> {
        self.recovery
    }
    fn socket_info(&self, sid: &Sid) -> Option<SocketInfo> {
        Some(SocketInfo { id: sid.clone(), handshake: Value::Null, rooms: Vec::new(), data: Value::Null })
    }
}
