//! What the two Redis buses of the cluster protocol (sharded pub/sub, streams) share: the subscriber
//! with the adapter each channel leads to, and how messages are read.

use crate::cluster::{message_type as kind, ClusterAdapter};
use crate::resp::{Mode, Subscriber, Target};
use crate::types::{AdapterError, ErrorHooks};
use bytes::Bytes;
use socketio_parser::msgpack_codec::decode_value;
use socketio_parser::Value;
use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

pub(crate) fn bus_error(e: impl std::fmt::Display) -> AdapterError {
    AdapterError::Bus(e.to_string())
}

/// Channel → (its namespace, the adapter that listens to it).
type Routes = Arc<RwLock<HashMap<String, (String, Weak<ClusterAdapter>)>>>;

/// The pub/sub side of a Redis bus: a subscriber connection, and which adapter each subscribed
/// channel leads to. Every message received is decoded and handed to its adapter.
pub(crate) struct RoutedPubSub {
    routes: Routes,
    subscriber: Arc<Subscriber>,
}

impl RoutedPubSub {
    /// Connects the subscriber; `label` names the adapter in error reports.
    pub(crate) fn start(
        target: Target,
        mode: Mode,
        errors: &ErrorHooks,
        label: &'static str,
    ) -> RoutedPubSub {
        let routes = Routes::default();
        let on_message = {
            let (routes, errors) = (routes.clone(), errors.clone());
            Arc::new(move |channel: &str, payload: Bytes| {
                let adapter = routes
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(channel)
                    .and_then(|(_, a)| a.upgrade());
                let Some(adapter) = adapter else { return };
                match decode_payload(payload) {
                    Ok(message) => adapter.on_message(message, None),
                    Err(e) => errors.report(bus_error(format!("{label}: invalid message: {e}"))),
                }
            })
        };
        let subscriber = Subscriber::start(target, mode, on_message, errors.clone());
        RoutedPubSub { routes, subscriber }
    }

    /// Subscribes `channel` for the adapter of namespace `nsp`.
    pub(crate) fn listen(&self, channel: String, nsp: &str, adapter: Weak<ClusterAdapter>) {
        self.routes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(channel.clone(), (nsp.to_string(), adapter));
        self.subscriber.subscribe(&channel);
    }

    /// Unsubscribes `channel`, if it was subscribed.
    pub(crate) fn forget(&self, channel: &str) {
        if self.routes.write().unwrap_or_else(|e| e.into_inner()).remove(channel).is_some() {
            self.subscriber.unsubscribe(channel);
        }
    }

    /// Unsubscribes every channel of namespace `nsp`.
    pub(crate) fn forget_namespace(&self, nsp: &str) {
        let channels: Vec<String> = {
            let mut routes = self.routes.write().unwrap_or_else(|e| e.into_inner());
            let channels: Vec<String> =
                routes.iter().filter(|(_, (n, _))| n == nsp).map(|(c, _)| c.clone()).collect();
            for channel in &channels {
                routes.remove(channel);
            }
            channels
        };
        for channel in &channels {
            self.subscriber.unsubscribe(channel);
        }
    }

    /// Waits (5 s at most) until Redis confirmed every channel of namespace `nsp`.
    pub(crate) async fn subscribed(&self, nsp: &str) {
        let channels: Vec<String> = {
            let routes = self.routes.read().unwrap_or_else(|e| e.into_inner());
            routes.iter().filter(|(_, (n, _))| n == nsp).map(|(c, _)| c.clone()).collect()
        };
        self.subscriber.wait_confirmed(&channels, Duration::from_secs(5)).await;
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
