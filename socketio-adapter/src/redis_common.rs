//! What the two Redis buses of the cluster protocol (sharded pub/sub, streams) share: which adapter a
//! channel leads to, and how messages are read.

use crate::cluster::{message_type as kind, ClusterAdapter};
use crate::types::AdapterError;
use bytes::Bytes;
use socketio_parser::msgpack_codec::decode_value;
use socketio_parser::Value;
use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};

pub(crate) fn bus_error(e: impl std::fmt::Display) -> AdapterError {
    AdapterError::Bus(e.to_string())
}

/// Channel → the adapter that listens to it.
#[derive(Default)]
pub(crate) struct Routes(RwLock<HashMap<String, (String, Weak<ClusterAdapter>)>>);

impl Routes {
    pub(crate) fn insert(&self, channel: String, nsp: &str, adapter: Weak<ClusterAdapter>) {
        self.0.write().unwrap_or_else(|e| e.into_inner()).insert(channel, (nsp.to_string(), adapter));
    }

    pub(crate) fn remove(&self, channel: &str) -> bool {
        self.0.write().unwrap_or_else(|e| e.into_inner()).remove(channel).is_some()
    }

    /// Forgets every channel of namespace `nsp`; gives them back.
    pub(crate) fn remove_namespace(&self, nsp: &str) -> Vec<String> {
        let mut routes = self.0.write().unwrap_or_else(|e| e.into_inner());
        let channels: Vec<String> =
            routes.iter().filter(|(_, (n, _))| n == nsp).map(|(c, _)| c.clone()).collect();
        for channel in &channels {
            routes.remove(channel);
        }
        channels
    }

    /// The channels of namespace `nsp`.
    pub(crate) fn channels_of(&self, nsp: &str) -> Vec<String> {
        let routes = self.0.read().unwrap_or_else(|e| e.into_inner());
        routes.iter().filter(|(_, (n, _))| n == nsp).map(|(c, _)| c.clone()).collect()
    }

    pub(crate) fn get(&self, channel: &str) -> Option<Arc<ClusterAdapter>> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).get(channel).and_then(|(_, a)| a.upgrade())
    }
}

/// Whether messages of this type may carry binary (and are then msgpack-encoded).
pub(crate) fn may_carry_binary(message: &Value) -> bool {
    matches!(
        message.get("type").and_then(Value::as_u64),
        Some(
            kind::BROADCAST
                | kind::BROADCAST_ACK
                | kind::FETCH_SOCKETS_RESPONSE
                | kind::SERVER_SIDE_EMIT
                | kind::SERVER_SIDE_EMIT_RESPONSE
        )
    )
}

/// A pub/sub payload: JSON when it starts with `{`, msgpack otherwise.
pub(crate) fn decode_payload(payload: Bytes) -> Result<Value, AdapterError> {
    if payload.first() == Some(&b'{') {
        serde_json::from_slice::<Value>(&payload).map_err(bus_error)
    } else {
        decode_value(payload).map_err(bus_error)
    }
}

/// The namespace of a message.
pub(crate) fn nsp_of(message: &Value) -> &str {
    message.get("nsp").and_then(Value::as_str).unwrap_or("/")
}
