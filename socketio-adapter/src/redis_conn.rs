//! Where the Redis buses connect: one Redis server, or a Redis Cluster through the `redis` crate's
//! cluster client (slots, `MOVED` / `ASK` redirections, topology refreshes after a failover).
//!
//! The address a bus is given is one `redis://host:port` or several, separated by commas
//! (`redis://10.0.0.1:7000,redis://10.0.0.2:7000`, or `redis://10.0.0.1:7000,10.0.0.2:7000` with the
//! scheme and credentials of the first). Several addresses are the seed nodes of a cluster; a single one
//! is a cluster too when that server says `cluster_enabled:1` (`INFO cluster`), so that the address of
//! any one node of a cluster is enough.

use crate::redis_common::{bus_error, redis_error};
use crate::resp::{Command, Mode, Subscriber};
use crate::types::{AdapterError, ErrorHooks};
use bytes::Bytes;
use redis::aio::ConnectionLike;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::Slot;
use redis::{Cmd, Pipeline, RedisFuture, Value};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::mpsc;

/// How long connecting to a cluster may take before the bus says it cannot.
pub(crate) const CLUSTER_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a command on a cluster may wait for its reply (redirections included).
const CLUSTER_RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// How many times in a row the cluster client tries to reconnect to a node before dropping it (about
/// 1.5 s of back-off when the node refuses connections).
const NODE_CONNECT_ATTEMPTS: std::num::NonZeroUsize = match std::num::NonZeroUsize::new(5) {
    Some(n) => n,
    None => std::num::NonZeroUsize::MIN,
};

/// Where a bus connects.
#[derive(Clone)]
pub(crate) enum Endpoint {
    /// One Redis server.
    Single(redis::Client),
    /// The seed nodes of a Redis Cluster.
    Cluster(Vec<redis::ConnectionInfo>),
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Single(client) => write!(f, "Single({})", client.get_connection_info().addr()),
            Endpoint::Cluster(seeds) => {
                let addrs: Vec<String> = seeds.iter().map(|s| s.addr().to_string()).collect();
                write!(f, "Cluster({})", addrs.join(","))
            }
        }
    }
}

/// The addresses of `url`: comma-separated, the later ones taking the scheme (and credentials) of the
/// first when they have none.
fn split_urls(url: &str) -> Vec<String> {
    let mut parts = url.split(',').map(str::trim).filter(|p| !p.is_empty());
    let Some(first) = parts.next() else { return Vec::new() };
    let prefix = match first.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((credentials, _)) => format!("{scheme}://{credentials}@"),
            None => format!("{scheme}://"),
        },
        None => String::new(),
    };
    std::iter::once(first.to_string())
        .chain(parts.map(|p| if p.contains("://") { p.to_string() } else { format!("{prefix}{p}") }))
        .collect()
}

impl Endpoint {
    /// The endpoint of `url` (see the module docs), and for a single server a command connection to
    /// it, made while finding out whether it is a cluster node.
    pub(crate) async fn resolve(
        url: &str,
    ) -> Result<(Endpoint, Option<redis::aio::ConnectionManager>), AdapterError> {
        let urls = split_urls(url);
        if urls.len() > 1 {
            let seeds = urls
                .iter()
                .map(|u| redis::IntoConnectionInfo::into_connection_info(u.as_str()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(redis_error)?;
            return Ok((Endpoint::Cluster(seeds), None));
        }
        let client =
            redis::Client::open(urls.first().map(String::as_str).unwrap_or(url)).map_err(redis_error)?;
        let mut conn = crate::connection_manager(client.clone()).await.map_err(redis_error)?;
        // Servers that refuse INFO (some managed ones rename it) are taken for what they are asked to be.
        let info: String = redis::cmd("INFO").arg("cluster").query_async(&mut conn).await.unwrap_or_default();
        if info.lines().any(|l| l.trim() == "cluster_enabled:1") {
            return Ok((Endpoint::Cluster(vec![client.get_connection_info().clone()]), None));
        }
        Ok((Endpoint::Single(client), Some(conn)))
    }

    fn cluster_builder(seeds: &[redis::ConnectionInfo]) -> redis::cluster::ClusterClientBuilder {
        let mut builder = redis::cluster::ClusterClientBuilder::new(seeds.to_vec())
            .connection_timeout(CLUSTER_CONNECT_TIMEOUT)
            .response_timeout(CLUSTER_RESPONSE_TIMEOUT)
            .retries(4)
            // A node that does not come back after a few attempts (a primary that died and failed over)
            // leaves the connections: commands for its slots then go to the rest of its shard (its
            // replica, soon the new primary), fan-outs (`PUBSUB SHARDNUMSUB`) ask the live nodes only,
            // and a redirection refreshes the slots, bringing the node back if it returned.
            .max_connection_attempts(NODE_CONNECT_ATTEMPTS);
        if let Some(first) = seeds.first() {
            let settings = first.redis_settings();
            if let Some(user) = settings.username() {
                builder = builder.username(user);
            }
            if let Some(password) = settings.password() {
                builder = builder.password(password);
            }
        }
        builder
    }

    async fn cluster_connection(
        builder: redis::cluster::ClusterClientBuilder,
    ) -> Result<ClusterConnection, AdapterError> {
        let client = builder.build().map_err(redis_error)?;
        match tokio::time::timeout(CLUSTER_CONNECT_TIMEOUT * 2, client.get_async_connection()).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(e)) => Err(redis_error(e)),
            Err(_) => Err(bus_error(format!(
                "redis cluster: no seed node answered within {:?}",
                CLUSTER_CONNECT_TIMEOUT * 2
            ))),
        }
    }

    /// The command connection (reconnecting on its own); `existing` is the one [`resolve`](Self::resolve)
    /// made.
    pub(crate) async fn commands(
        &self,
        existing: Option<redis::aio::ConnectionManager>,
    ) -> Result<Conn, AdapterError> {
        match (self, existing) {
            (Endpoint::Single(_), Some(conn)) => Ok(Conn::Manager(conn)),
            (Endpoint::Single(client), None) => {
                crate::connection_manager(client.clone()).await.map(Conn::Manager).map_err(redis_error)
            }
            (Endpoint::Cluster(seeds), _) => {
                Self::cluster_connection(Self::cluster_builder(seeds)).await.map(Conn::Cluster)
            }
        }
    }

    /// A connection of its own (for blocking reads), whose replies may take up to `response_timeout`.
    pub(crate) async fn dedicated(&self, response_timeout: Duration) -> Result<Conn, AdapterError> {
        match self {
            Endpoint::Single(client) => {
                let config = redis::AsyncConnectionConfig::new().set_response_timeout(Some(response_timeout));
                client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                    .map(Conn::Multiplexed)
                    .map_err(redis_error)
            }
            Endpoint::Cluster(seeds) => {
                let builder = Self::cluster_builder(seeds).response_timeout(response_timeout);
                Self::cluster_connection(builder).await.map(Conn::Cluster)
            }
        }
    }
}

/// A command connection to a server or a cluster.
#[derive(Clone)]
pub(crate) enum Conn {
    /// To one server, reconnecting on its own.
    Manager(redis::aio::ConnectionManager),
    /// To one server.
    Multiplexed(redis::aio::MultiplexedConnection),
    /// To a cluster: every command goes to the node of its key's slot.
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Manager(c) => c.req_packed_command(cmd),
            Conn::Multiplexed(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Manager(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Multiplexed(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Manager(c) => c.get_db(),
            Conn::Multiplexed(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

impl Conn {
    /// Whether commands go to a cluster (where a pipeline must stay within one slot).
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self, Conn::Cluster(_))
    }
}

/// The hash slot of a command's key, taken to be its first argument (a channel, a stream, a key).
pub(crate) fn slot_of(cmd: &Cmd) -> Option<Slot> {
    match cmd.args_iter().nth(1)? {
        redis::Arg::Simple(key) => Some(Slot::for_key(key)),
        _ => None,
    }
}

/// What a cluster subscriber's handler receives: what was subscribed (the channel, or the pattern it
/// matched), the channel, and the payload.
pub(crate) type OnClusterMessage = Arc<dyn Fn(&str, &str, Bytes) + Send + Sync>;

/// Starts a subscriber (see [`Subscriber`]) on the Redis Cluster of `seeds`: the `redis` crate's
/// cluster connection over RESP3, which sends each `SUBSCRIBE` / `SSUBSCRIBE` to the node of the
/// channel's slot, follows redirections and subscribes again after a reconnection or a topology change.
/// A sharded channel the server drops (its slot moved) is subscribed again where it now lives. In
/// classic mode, a name ending with `*` is a pattern (`PSUBSCRIBE`). An error when no seed node answers.
pub(crate) async fn start_cluster_subscriber(
    seeds: &[redis::ConnectionInfo],
    mode: Mode,
    on_message: OnClusterMessage,
    errors: ErrorHooks,
) -> Result<Arc<Subscriber>, AdapterError> {
    let (push_tx, pushes) = mpsc::unbounded_channel::<redis::PushInfo>();
    let builder =
        Endpoint::cluster_builder(seeds).use_protocol(redis::ProtocolVersion::RESP3).push_sender(push_tx);
    let conn = Endpoint::cluster_connection(builder).await?;
    let (subscriber, rx) = Subscriber::new();
    tokio::spawn(run(Arc::downgrade(&subscriber), conn, mode, rx, pushes, on_message, errors));
    Ok(subscriber)
}

/// The channel (and payload) of a push.
fn push_parts(push: redis::PushInfo) -> Option<(String, Option<Bytes>)> {
    let mut data = push.data.into_iter();
    let channel = match data.next()? {
        Value::BulkString(b) => String::from_utf8(b).ok()?,
        Value::SimpleString(s) => s,
        _ => return None,
    };
    let payload = match data.next() {
        Some(Value::BulkString(b)) => Some(Bytes::from(b)),
        _ => None,
    };
    Some((channel, payload))
}

async fn run(
    me: Weak<Subscriber>,
    mut conn: ClusterConnection,
    mode: Mode,
    mut commands: mpsc::UnboundedReceiver<Command>,
    mut pushes: mpsc::UnboundedReceiver<redis::PushInfo>,
    on_message: OnClusterMessage,
    errors: ErrorHooks,
) {
    use redis::PushKind;
    let retry_sender = me.upgrade().map(|m| m.weak_commands());
    let mut delay = Duration::from_millis(100);
    loop {
        tokio::select! {
            command = commands.recv() => {
                let Some(command) = command else { return };
                let (channel, result) = match command {
                    Command::Subscribe(channel) => {
                        if !me.upgrade().is_some_and(|m| m.wants(&channel)) {
                            continue;
                        }
                        let result = match mode {
                            Mode::Sharded => conn.ssubscribe(&channel).await,
                            Mode::Classic if channel.ends_with('*') => conn.psubscribe(&channel).await,
                            Mode::Classic => conn.subscribe(&channel).await,
                        };
                        (channel, result)
                    }
                    Command::Unsubscribe(channel) => {
                        let result = match mode {
                            Mode::Sharded => conn.sunsubscribe(&channel).await,
                            Mode::Classic if channel.ends_with('*') => conn.punsubscribe(&channel).await,
                            Mode::Classic => conn.unsubscribe(&channel).await,
                        };
                        // Unsubscribing a channel of a node that is gone needs nothing more.
                        let _ = result;
                        continue;
                    }
                };
                match result {
                    Ok(()) => delay = Duration::from_millis(100),
                    Err(e) => {
                        errors.report(bus_error(format!(
                            "redis cluster subscriber: subscribing {channel} failed (retrying in {delay:?}): {}",
                            crate::types::error_chain(&e)
                        )));
                        // Again after a while, unless the channel is no longer wanted by then.
                        let again = retry_sender.clone();
                        let wait = delay;
                        tokio::spawn(async move {
                            tokio::time::sleep(wait).await;
                            if let Some(sender) = again.and_then(|s| s.upgrade()) {
                                let _ = sender.send(Command::Subscribe(channel));
                            }
                        });
                        delay = (delay * 2).min(crate::RECONNECT_DELAY_MAX);
                    }
                }
            }
            push = pushes.recv() => {
                let Some(push) = push else { return };
                let Some(me) = me.upgrade() else { return };
                let kind = push.kind.clone();
                match kind {
                    PushKind::Disconnection => {
                        errors.report(bus_error(
                            "redis cluster subscriber: lost a node's connection; subscribing its channels again",
                        ));
                        // The client subscribes again where it reconnects, but a node that died (a
                        // primary that failed over) never comes back, and the client keeps it in its slot
                        // map: every wanted channel is subscribed again, which a live node answers with
                        // a confirmation, and which goes to the other nodes of a dead node's shard (its
                        // replica, soon its successor, takes sharded subscriptions).
                        for channel in me.wanted() {
                            me.subscribe_again(channel);
                        }
                    }
                    PushKind::Message | PushKind::SMessage => {
                        if let Some((channel, Some(payload))) = push_parts(push) {
                            on_message(&channel, &channel, payload);
                        }
                    }
                    PushKind::PMessage => {
                        // [pattern, channel, payload]
                        let mut data = push.data.into_iter();
                        let (Some(Value::BulkString(pattern)), Some(Value::BulkString(channel)), Some(Value::BulkString(payload))) =
                            (data.next(), data.next(), data.next())
                        else {
                            continue;
                        };
                        if let (Ok(pattern), Ok(channel)) = (String::from_utf8(pattern), String::from_utf8(channel)) {
                            on_message(&pattern, &channel, Bytes::from(payload));
                        }
                    }
                    PushKind::Subscribe | PushKind::SSubscribe | PushKind::PSubscribe => {
                        if let Some((channel, _)) = push_parts(push) {
                            me.set_confirmed(channel, true);
                        }
                    }
                    PushKind::Unsubscribe | PushKind::SUnsubscribe | PushKind::PUnsubscribe => {
                        if let Some((channel, _)) = push_parts(push) {
                            me.set_confirmed(channel.clone(), false);
                            // Still wanted: the server dropped it (its slot moved to another node).
                            if me.wants(&channel) {
                                me.subscribe_again(channel);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_addresses_share_the_scheme_and_credentials_of_the_first() {
        assert_eq!(split_urls("redis://127.0.0.1:7000"), ["redis://127.0.0.1:7000"]);
        assert_eq!(
            split_urls("redis://u:p@10.0.0.1:7000, 10.0.0.2:7001,redis://10.0.0.3:7002"),
            ["redis://u:p@10.0.0.1:7000", "redis://u:p@10.0.0.2:7001", "redis://10.0.0.3:7002"]
        );
    }

    #[test]
    fn slots_follow_hash_tags() {
        let slot = |key: &str| slot_of(redis::cmd("SPUBLISH").arg(key));
        // Values from CLUSTER KEYSLOT.
        assert_eq!(slot("foo"), Slot::new(12182));
        assert_eq!(slot("{user1000}.following"), slot("user1000"));
    }
}
