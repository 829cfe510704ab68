//! The sharded Redis adapter (feature `redis`), wire-compatible with `createShardedAdapter` of
//! `@socket.io/redis-adapter` 8.3: the cluster protocol ([`crate::cluster`]) over Redis 7 sharded
//! pub/sub (`SSUBSCRIBE` / `SPUBLISH`), which scales with a Redis Cluster where classic pub/sub does not.
//!
//! Channels, for prefix `socket.io` and namespace `/nsp`:
//! - `socket.io#/nsp#`: every message of the namespace;
//! - `socket.io#/nsp#<uid>#`: the responses meant for node `uid`;
//! - `socket.io#/nsp#<room>#` (subscription modes `dynamic` and `dynamic-private`): broadcasts to exactly
//!   that one room, subscribed by the nodes where the room exists.
//!
//! Messages are JSON, or msgpack when they carry binary. The number of nodes is the number of
//! subscribers of the namespace channel (`PUBSUB SHARDNUMSUB`), so there are no heartbeats.
//!
//! On a Redis Cluster (the address of any node, or several seed nodes separated by commas, see
//! [`ShardedRedisBus::connect`]), every channel is subscribed and published on the node of its slot,
//! through the `redis` crate's cluster client: redirections are followed, and a channel whose slot moves
//! (a resharding, a failover) is subscribed again on its new node.
//!
//! ```no_run
//! # async fn run() -> Result<(), socketio_adapter::AdapterError> {
//! use socketio_adapter::redis_sharded::{ShardedRedisBus, ShardedRedisConfig};
//! let bus = ShardedRedisBus::connect("redis://127.0.0.1:6379", ShardedRedisConfig::default()).await?;
//! let factory = bus.factory(); // give it to the server as its adapter
//! # let _ = factory; Ok(()) }
//! ```

use crate::cluster::{ClusterAdapter, ClusterBus, ClusterConfig};
use crate::redis_common::{bus_error, may_carry_binary, nsp_of, RoutedPubSub};
use crate::redis_conn::{Conn, Endpoint};
use crate::resp::Mode;
use crate::types::{Adapter, AdapterError, AdapterFactory, ErrorHooks, RoomEvent};
use async_trait::async_trait;
use bytes::Bytes;
use socketio_parser::msgpack_codec::encode_value;
use socketio_parser::Value;
use std::sync::{Arc, Weak};

/// Which rooms get a channel of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SubscriptionMode {
    /// Every message goes through the namespace channel (`static`).
    Static,
    /// Public rooms (not socket ids) get a channel (`dynamic`, the default).
    #[default]
    Dynamic,
    /// Every room gets a channel, socket ids included (`dynamic-private`).
    DynamicPrivate,
}

/// Options of the sharded adapter, with the defaults of the Node adapter.
#[derive(Debug, Clone)]
pub struct ShardedRedisConfig {
    /// The prefix of every channel (`channelPrefix`, default `socket.io`).
    pub channel_prefix: String,
    /// Which rooms get a channel of their own (`subscriptionMode`, default dynamic).
    pub subscription_mode: SubscriptionMode,
    /// Request timeouts (heartbeats are not used: Redis counts the nodes).
    pub cluster: ClusterConfig,
}

impl Default for ShardedRedisConfig {
    fn default() -> Self {
        ShardedRedisConfig {
            channel_prefix: "socket.io".into(),
            subscription_mode: SubscriptionMode::Dynamic,
            cluster: ClusterConfig::default(),
        }
    }
}

/// The Redis connections of one server for the sharded adapter, shared by all its namespaces: one
/// for commands (`SPUBLISH`, `PUBSUB`), one subscriber; both reconnect on their own.
pub struct ShardedRedisBus {
    config: ShardedRedisConfig,
    commands: Conn,
    pubsub: RoutedPubSub,
    errors: ErrorHooks,
    me: Weak<ShardedRedisBus>,
}

impl std::fmt::Debug for ShardedRedisBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardedRedisBus").field("config", &self.config).finish_non_exhaustive()
    }
}

impl ShardedRedisBus {
    /// Connects to Redis (7 or later) at `url`: `redis://host:port`, or a Redis Cluster, given by
    /// the address of any of its nodes (the server says it is one) or by several, separated by commas
    /// (`redis://10.0.0.1:7000,10.0.0.2:7000`). An error when Redis cannot be reached (on a cluster:
    /// when no node answers within a few seconds).
    pub async fn connect(
        url: &str,
        config: ShardedRedisConfig,
    ) -> Result<Arc<ShardedRedisBus>, AdapterError> {
        let (endpoint, existing) = Endpoint::resolve(url).await?;
        let commands = endpoint.commands(existing).await?;
        let errors = ErrorHooks::default();
        let pubsub = RoutedPubSub::start(&endpoint, Mode::Sharded, &errors, "sharded redis adapter").await?;
        Ok(Arc::new_cyclic(|me| ShardedRedisBus { config, commands, pubsub, errors, me: me.clone() }))
    }

    /// The adapter factory to give the server.
    pub fn factory(self: &Arc<Self>) -> AdapterFactory {
        ClusterAdapter::factory(self.clone(), self.config.cluster)
    }

    /// Calls `hook` with each error of the bus (failed publishes, lost connections, unreadable
    /// messages). They go to `tracing` too.
    pub fn on_error(&self, hook: impl Fn(&AdapterError) + Send + Sync + 'static) {
        self.errors.add(hook);
    }

    fn channel(&self, nsp: &str) -> String {
        format!("{}#{nsp}#", self.config.channel_prefix)
    }

    /// The channel of a room, or of a node's responses.
    fn sub_channel(&self, nsp: &str, name: &str) -> String {
        format!("{}#{nsp}#{name}#", self.config.channel_prefix)
    }

    /// Where a message goes: a broadcast without acks to exactly one room goes to the room's channel
    /// when the room has one (acks need every node to answer, so they use the namespace channel).
    fn channel_of(&self, message: &Value) -> String {
        let nsp = nsp_of(message);
        let data = message.get("data");
        let is_plain_broadcast = message.get("type").and_then(Value::as_u64)
            == Some(crate::cluster::message_type::BROADCAST)
            && data.and_then(|d| d.get("requestId")).is_none();
        let rooms = data.and_then(|d| d.get("opts")).and_then(|o| o.get("rooms")).and_then(Value::as_array);
        if let (true, Some([room])) = (is_plain_broadcast, rooms.map(Vec::as_slice)) {
            let room = match room {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return self.channel(nsp),
            };
            let own_channel = match self.config.subscription_mode {
                SubscriptionMode::Static => false,
                // What the Node adapter takes for a socket id: 20 characters.
                SubscriptionMode::Dynamic => room.chars().count() != 20,
                SubscriptionMode::DynamicPrivate => true,
            };
            if own_channel {
                return self.sub_channel(nsp, &room);
            }
        }
        self.channel(nsp)
    }

    fn encode(message: &Value) -> Bytes {
        if may_carry_binary(message) && message.has_binary() {
            encode_value(message)
        } else {
            Bytes::from(message.to_json_string())
        }
    }

    async fn spublish(&self, channel: &str, payload: Bytes) -> Result<(), AdapterError> {
        let mut conn = self.commands.clone();
        redis::cmd("SPUBLISH")
            .arg(channel)
            .arg(payload.as_ref())
            .query_async::<i64>(&mut conn)
            .await
            .map(|_| ())
            .map_err(|e| bus_error(format!("sharded redis adapter: SPUBLISH {channel} failed: {e}")))
    }

    /// Subscribes or unsubscribes the channels of rooms as they come and go on `adapter`.
    fn follow_rooms(&self, nsp: &str, adapter: &Arc<ClusterAdapter>) {
        let mode = self.config.subscription_mode;
        if mode == SubscriptionMode::Static {
            return;
        }
        let (bus, weak, nsp) = (self.me.clone(), Arc::downgrade(adapter), nsp.to_string());
        adapter.on_room_event(Arc::new(move |event| {
            let Some(bus) = bus.upgrade() else { return };
            match event {
                RoomEvent::Create(room) => {
                    let Some(adapter) = weak.upgrade() else { return };
                    // A socket's own room is private: the socket is known under that id.
                    let private = !adapter.socket_rooms(room).is_empty();
                    if mode == SubscriptionMode::DynamicPrivate || !private {
                        bus.pubsub.listen(bus.sub_channel(&nsp, room), &nsp, weak.clone());
                    }
                }
                RoomEvent::Delete(room) => {
                    bus.pubsub.forget(&bus.sub_channel(&nsp, room));
                }
                _ => {}
            }
        }));
    }
}

#[async_trait]
impl ClusterBus for ShardedRedisBus {
    async fn publish(&self, message: Value) -> Result<Option<String>, AdapterError> {
        self.publish_all(vec![message]).await.pop().unwrap_or(Ok(None))
    }

    /// Pipelined `SPUBLISH`es: every one of a pipeline is sent before the first reply is awaited.
    async fn publish_all(&self, messages: Vec<Value>) -> Vec<Result<Option<String>, AdapterError>> {
        let commands = messages
            .iter()
            .map(|message| {
                let payload = Self::encode(message);
                let mut command = redis::cmd("SPUBLISH");
                command.arg(self.channel_of(message)).arg(payload.as_ref());
                (command, payload.len())
            })
            .collect();
        let mut conn = self.commands.clone();
        crate::redis_common::send_pipelined(&mut conn, commands, "sharded redis adapter: SPUBLISH failed")
            .await
            .into_iter()
            .map(|reply| reply.map(|_| None))
            .collect()
    }

    async fn publish_response(&self, requester_uid: &str, message: Value) -> Result<(), AdapterError> {
        let channel = self.sub_channel(nsp_of(&message), requester_uid);
        self.spublish(&channel, Self::encode(&message)).await
    }

    fn register(&self, nsp: &str, adapter: Weak<ClusterAdapter>) {
        let Some(strong) = adapter.upgrade() else { return };
        for channel in [self.channel(nsp), self.sub_channel(nsp, strong.uid())] {
            self.pubsub.listen(channel, nsp, adapter.clone());
        }
        self.follow_rooms(nsp, &strong);
    }

    fn unregister(&self, nsp: &str) {
        self.pubsub.forget_namespace(nsp);
    }

    async fn subscribed(&self, nsp: &str) {
        self.pubsub.subscribed(nsp).await;
    }

    fn counts_servers(&self) -> bool {
        true
    }

    async fn server_count(&self, nsp: &str) -> Result<usize, AdapterError> {
        let mut conn = self.commands.clone();
        let reply: (String, usize) = redis::cmd("PUBSUB")
            .arg("SHARDNUMSUB")
            .arg(self.channel(nsp))
            .query_async(&mut conn)
            .await
            .map_err(|e| bus_error(format!("sharded redis adapter: PUBSUB SHARDNUMSUB failed: {e}")))?;
        Ok(reply.1)
    }

    fn errors(&self) -> ErrorHooks {
        self.errors.clone()
    }
}
