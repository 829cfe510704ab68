//! What the two Redis buses of the cluster protocol (sharded pub/sub, streams) share: the subscriber
//! with the adapter each channel leads to, and how messages are read.

use crate::cluster::{message_type as kind, ClusterAdapter};
use crate::redis_conn::{start_cluster_subscriber, Conn, Endpoint};
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

/// A Redis client error with its causes (the OS error of a refused connection, the server's reply).
pub(crate) fn redis_error(e: redis::RedisError) -> AdapterError {
    AdapterError::Bus(format!("redis: {}", crate::types::error_chain(&e)))
}

/// At most this many bytes of arguments go in one pipeline (and at least one command), so that a
/// round trip stays well within the connection's response timeout whatever the messages' sizes.
pub(crate) const PIPELINE_BYTES: usize = 1 << 20;

/// Sends `commands` (each with the size of its arguments) in order, in pipelines of at most
/// [`PIPELINE_BYTES`]: every command of a pipeline is sent before the first reply is awaited. The
/// reply of each command, or why it failed (an error reply fails only its own command); `label`
/// starts the error messages. On a cluster, a pipeline also ends where the slot of the commands' keys
/// changes, since the commands of one pipeline go to one node.
pub(crate) async fn send_pipelined(
    conn: &mut Conn,
    commands: Vec<(redis::Cmd, usize)>,
    label: &str,
) -> Vec<Result<redis::Value, AdapterError>> {
    let mut results = Vec::with_capacity(commands.len());
    let cluster = conn.is_cluster();
    let mut commands = commands.into_iter().peekable();
    while commands.peek().is_some() {
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        let (mut bytes, mut count) = (0, 0);
        let slot = commands.peek().and_then(|(c, _)| crate::redis_conn::slot_of(c));
        while let Some((command, size)) = commands.peek() {
            if count > 0 && bytes + size > PIPELINE_BYTES {
                break;
            }
            if count > 0 && cluster && crate::redis_conn::slot_of(command) != slot {
                break;
            }
            let Some((command, size)) = commands.next() else { break };
            pipe.add_command(command);
            bytes += size;
            count += 1;
        }
        match pipe.query_async::<Vec<redis::RedisResult<redis::Value>>>(conn).await {
            Ok(replies) if replies.len() == count => results.extend(
                replies.into_iter().map(|reply| reply.map_err(|e| bus_error(format!("{label}: {e}")))),
            ),
            Ok(replies) => {
                let e = bus_error(format!("{label}: {} replies to {count} commands", replies.len()));
                results.extend((0..count).map(|_| Err(e.clone())));
            }
            Err(e) => {
                let e = bus_error(format!("{label}: {e}"));
                results.extend((0..count).map(|_| Err(e.clone())));
            }
        }
    }
    results
}

/// Channel → (its namespace, the adapter that listens to it).
type Routes = Arc<RwLock<HashMap<String, (String, Weak<ClusterAdapter>)>>>;

/// The pub/sub side of a Redis bus: a subscriber connection, and which adapter each subscribed
/// channel leads to. Every message received is decoded and handed to its adapter.
pub(crate) struct RoutedPubSub {
    routes: Routes,
    /// On one server (our RESP2 connection) or on a cluster (the `redis` crate's).
    subscriber: Arc<Subscriber>,
}

impl RoutedPubSub {
    /// Connects the subscriber; `label` names the adapter in error reports. An error when the
    /// endpoint is a cluster none of whose seed nodes answers (a single server's subscriber connects,
    /// and reconnects, in the background).
    pub(crate) async fn start(
        endpoint: &Endpoint,
        mode: Mode,
        errors: &ErrorHooks,
        label: &'static str,
    ) -> Result<RoutedPubSub, AdapterError> {
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
        let subscriber = match endpoint {
            Endpoint::Single(client) => {
                Subscriber::start(Target::of(client)?, mode, on_message, errors.clone())
            }
            Endpoint::Cluster(seeds) => start_cluster_subscriber(
                seeds,
                mode,
                Arc::new(move |_, c, p| on_message(c, p)),
                errors.clone(),
            )
            .await
            .map_err(|e| bus_error(format!("{label}: cannot subscribe: {e}")))?,
        };
        Ok(RoutedPubSub { routes, subscriber })
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Against a throwaway Redis of this test process (skipped, saying so, without `redis-server`).
    #[tokio::test]
    async fn pipelines_keep_order_split_by_size_and_fail_only_the_failing_command() {
        let Some(redis) = socketio_test_services::redis() else { return };
        let client = redis::Client::open(redis.url()).unwrap();
        let mut conn = Conn::Manager(crate::connection_manager(client).await.unwrap());
        let key = format!("socketio-adapter-test-{}", crate::cluster::random_id());
        let big = vec![b'x'; PIPELINE_BYTES / 2 + 1];
        let mut commands = Vec::new();
        let mut add = |args: &[&[u8]]| {
            let mut command = redis::cmd(std::str::from_utf8(args[0]).unwrap());
            for arg in &args[1..] {
                command.arg(*arg);
            }
            commands.push((command, args.iter().map(|a| a.len()).sum()));
        };
        add(&[b"SET", key.as_bytes(), b"a"]);
        // A string is not a hash: this one fails, and only this one.
        add(&[b"HSET", key.as_bytes(), b"f", b"v"]);
        // Three large values: more than one pipeline's worth.
        for _ in 0..3 {
            add(&[b"APPEND", key.as_bytes(), &big]);
        }
        add(&[b"STRLEN", key.as_bytes()]);
        add(&[b"DEL", key.as_bytes()]);
        let replies = send_pipelined(&mut conn, commands, "test").await;
        assert_eq!(replies.len(), 7);
        assert!(replies[0].is_ok());
        assert!(
            matches!(&replies[1], Err(AdapterError::Bus(e)) if e.starts_with("test: ") && e.contains("WRONGTYPE"))
        );
        let length = |r: &Result<redis::Value, AdapterError>| match r {
            Ok(redis::Value::Int(n)) => *n as usize,
            other => panic!("{other:?}"),
        };
        for (i, reply) in replies[2..5].iter().enumerate() {
            assert_eq!(length(reply), 1 + (i + 1) * big.len());
        }
        assert_eq!(length(&replies[5]), 1 + 3 * big.len());
        assert_eq!(length(&replies[6]), 1);
    }

    #[test]
    fn failures_of_a_batch_are_reported_once_with_their_count() {
        let errors = ErrorHooks::default();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = seen.clone();
        errors.add(move |e| sink.lock().unwrap().push(e.to_string()));
        let down = bus_error("connection refused");
        crate::report_failures(&errors, "bus", [None, Some(&down), Some(&AdapterError::Timeout)].into_iter());
        crate::report_failures(&errors, "bus", [None, None].into_iter());
        crate::report_failures(&errors, "bus", [Some(&down)].into_iter());
        assert_eq!(
            *seen.lock().unwrap(),
            [
                "adapter bus error: bus: publishing 2 messages failed: connection refused",
                "adapter bus error: bus: publishing 1 message failed: connection refused",
            ]
        );
    }
}
