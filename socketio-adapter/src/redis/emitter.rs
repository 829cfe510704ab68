//! [`RedisEmitter`]: publishing to a cluster of Socket.IO servers from a process that is not one.

use super::*;

/// Publishes to a Redis cluster of Socket.IO servers (Rust or Node) from a process that is not a server,
/// as `@socket.io/redis-emitter` does: broadcasts (to rooms, except rooms, volatile), `socketsJoin`,
/// `socketsLeave`, `disconnectSockets` and `serverSideEmit`, without acknowledgements. Clones are cheap
/// and share the connection.
///
/// ```no_run
/// # async fn run() -> Result<(), socketio_adapter::AdapterError> {
/// use socketio_adapter::redis::RedisEmitter;
/// use socketio_parser::Value;
/// let emitter = RedisEmitter::connect("redis://127.0.0.1:6379", "socket.io").await?;
/// emitter.to("room1").emit("news", vec![Value::from("hello")]).await?;
/// emitter.of("/admin").except("muted").emit("alert", vec![]).await?;
/// emitter.to("room1").sockets_join(vec!["room2".into()]).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisEmitter {
    pub(super) conn: Conn,
    pub(super) key: String,
    pub(super) nsp: String,
    pub(super) opts: BroadcastOptions,
}

impl std::fmt::Debug for RedisEmitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisEmitter")
            .field("key", &self.key)
            .field("nsp", &self.nsp)
            .field("opts", &self.opts)
            .finish()
    }
}

/// The uid the Node emitter puts in its messages; servers never take it for their own.
pub(super) const EMITTER_UID: &str = "emitter";

impl RedisEmitter {
    /// Connects to Redis at `url`; `key` is the servers' channel prefix (`socket.io` by default there).
    /// Emits go to the main namespace until [`of`](Self::of) says otherwise.
    ///
    /// `url` may name a Redis Cluster, as for [`RedisBus::connect`]: by one node (the server says it
    /// is one) or by several seed nodes separated by commas. A message published on any node of a
    /// cluster reaches the servers subscribed on every node.
    pub async fn connect(url: &str, key: &str) -> Result<RedisEmitter, AdapterError> {
        let (endpoint, existing) = Endpoint::resolve(url).await?;
        let conn = endpoint.commands(existing).await?;
        Ok(RedisEmitter { conn, key: key.to_string(), nsp: "/".into(), opts: BroadcastOptions::default() })
    }

    /// The same emitter for namespace `nsp`, with no room or flag set.
    pub fn of(&self, nsp: &str) -> RedisEmitter {
        let nsp = if nsp.starts_with('/') { nsp.to_string() } else { format!("/{nsp}") };
        RedisEmitter {
            conn: self.conn.clone(),
            key: self.key.clone(),
            nsp,
            opts: BroadcastOptions::default(),
        }
    }

    /// An emitter that also targets the sockets in `room` (several calls: any of the rooms).
    pub fn to(&self, room: impl Into<Room>) -> RedisEmitter {
        let mut next = self.clone();
        next.opts.rooms.insert(room.into());
        next
    }

    /// An emitter that leaves out the sockets in `room`.
    pub fn except(&self, room: impl Into<Room>) -> RedisEmitter {
        let mut next = self.clone();
        next.opts.except.insert(room.into());
        next
    }

    /// An emitter whose broadcasts are volatile.
    pub fn volatile(&self) -> RedisEmitter {
        let mut next = self.clone();
        next.opts.flags.volatile = true;
        next
    }

    async fn publish(&self, channel: String, payload: Bytes) -> Result<(), AdapterError> {
        let mut conn = self.conn.clone();
        redis::cmd("PUBLISH")
            .arg(channel)
            .arg(payload.as_ref())
            .query_async::<i64>(&mut conn)
            .await
            .map(|_| ())
            .map_err(redis_error)
    }

    /// Emits `event` with `args` to every targeted socket of every server.
    pub async fn emit(&self, event: &str, args: Vec<Value>) -> Result<(), AdapterError> {
        if socketio_parser::RESERVED_EVENTS.contains(&event) {
            return Err(AdapterError::ReservedEvent(event.to_string()));
        }
        let packet = Packet::event(self.nsp.as_str(), event, args);
        let mut channel = format!("{}#{}#", self.key, self.nsp);
        if self.opts.rooms.len() == 1 {
            if let Some(room) = self.opts.rooms.iter().next() {
                channel.push_str(room);
                channel.push('#');
            }
        }
        self.publish(channel, broadcast_message(EMITTER_UID, &self.nsp, &packet, &self.opts)).await
    }

    async fn request(&self, mut entries: Vec<(&str, Value)>) -> Result<(), AdapterError> {
        entries.push(("opts", options_without_flags(&self.opts)));
        self.publish(format!("{}-request#{}#", self.key, self.nsp), json(entries)).await
    }

    /// Makes every targeted socket join `rooms`.
    pub async fn sockets_join(&self, rooms: Vec<Room>) -> Result<(), AdapterError> {
        let rooms = Value::Array(rooms.iter().map(|r| Value::from(r.as_str())).collect());
        self.request(vec![("type", Value::from(kind::REMOTE_JOIN)), ("rooms", rooms)]).await
    }

    /// Makes every targeted socket leave `rooms`.
    pub async fn sockets_leave(&self, rooms: Vec<Room>) -> Result<(), AdapterError> {
        let rooms = Value::Array(rooms.iter().map(|r| Value::from(r.as_str())).collect());
        self.request(vec![("type", Value::from(kind::REMOTE_LEAVE)), ("rooms", rooms)]).await
    }

    /// Disconnects every targeted socket; with `close`, their whole connections.
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), AdapterError> {
        self.request(vec![("type", Value::from(kind::REMOTE_DISCONNECT)), ("close", Value::Bool(close))])
            .await
    }

    /// Sends `event` to the servers' `serverSideEmit` listeners of the namespace (no answers).
    pub async fn server_side_emit(&self, event: &str, args: Vec<Value>) -> Result<(), AdapterError> {
        if socketio_parser::RESERVED_EVENTS.contains(&event) {
            return Err(AdapterError::ReservedEvent(event.to_string()));
        }
        let mut data = vec![Value::from(event)];
        data.extend(args);
        let request = json(vec![
            ("uid", Value::from(EMITTER_UID)),
            ("type", Value::from(kind::SERVER_SIDE_EMIT)),
            ("data", Value::Array(data)),
        ]);
        self.publish(format!("{}-request#{}#", self.key, self.nsp), request).await
    }
}
