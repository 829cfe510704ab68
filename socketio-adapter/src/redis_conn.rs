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

/// How often the primaries of a cluster's slots are checked (see [`ClusterSeeds`]).
const TOPOLOGY_CHECK: Duration = Duration::from_secs(1);

/// How long a topology check waits for one node before it asks the next.
const TOPOLOGY_NODE_TIMEOUT: Duration = Duration::from_secs(1);

/// Where a bus connects.
#[derive(Clone)]
pub(crate) enum Endpoint {
    /// One Redis server.
    Single(redis::Client),
    /// The seed nodes of a Redis Cluster.
    Cluster(Arc<ClusterSeeds>),
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Single(client) => write!(f, "Single({})", client.get_connection_info().addr()),
            Endpoint::Cluster(cluster) => {
                let addrs: Vec<String> = cluster.seeds.iter().map(|s| s.addr().to_string()).collect();
                write!(f, "Cluster({})", addrs.join(","))
            }
        }
    }
}

/// The seed nodes of a Redis Cluster, and which primaries serve its slots.
///
/// The `redis` crate's cluster client learns of a failover from a closed connection or a redirection.
/// A primary that stops answering without closing its connections (a paused process, a partition) gives
/// neither: the client keeps sending its slots' commands to it, each waiting for the response timeout,
/// and subscriptions on it stay silent. So while connections are in use, a watcher asks a seed node
/// which primaries serve the slots (`CLUSTER SLOTS`) every [`TOPOLOGY_CHECK`]; when they change, the
/// connections made from these seeds ([`Conn`], the cluster subscriber, the streams readers) start again
/// with the new map.
pub(crate) struct ClusterSeeds {
    seeds: Vec<redis::ConnectionInfo>,
    /// The number of changes seen so far.
    topology: tokio::sync::watch::Sender<u64>,
    watching: std::sync::atomic::AtomicBool,
}

impl ClusterSeeds {
    fn new(seeds: Vec<redis::ConnectionInfo>) -> Arc<Self> {
        Arc::new(ClusterSeeds {
            seeds,
            topology: tokio::sync::watch::Sender::new(0),
            watching: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The seed nodes.
    pub(crate) fn seeds(&self) -> &[redis::ConnectionInfo] {
        &self.seeds
    }

    /// The changes of the slots' primaries, watched from the first call on, for as long as the
    /// seeds are in use.
    pub(crate) fn changes(self: &Arc<Self>) -> tokio::sync::watch::Receiver<u64> {
        // Counted first, so that a watcher about to stop for want of receivers sees this one.
        let changes = self.topology.subscribe();
        if !self.watching.swap(true, std::sync::atomic::Ordering::AcqRel) {
            tokio::spawn(watch_topology(Arc::downgrade(self)));
        }
        changes
    }

    /// Which node serves each slot range as primary (`[(first, last, "host:port")]`), asked of the
    /// node of `conn` or else of the seeds in turn (`conn` then keeps the one that answered); `None`
    /// when none answers.
    async fn slot_primaries(
        &self,
        conn: &mut Option<redis::aio::MultiplexedConnection>,
    ) -> Option<Vec<(i64, i64, String)>> {
        if let Some(c) = conn.as_mut() {
            if let Some(map) = ask_slots(c).await {
                return Some(map);
            }
            *conn = None;
        }
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(TOPOLOGY_NODE_TIMEOUT))
            .set_response_timeout(Some(TOPOLOGY_NODE_TIMEOUT));
        for seed in &self.seeds {
            let Ok(client) = redis::Client::open(seed.clone()) else { continue };
            let Ok(Ok(mut c)) = tokio::time::timeout(
                TOPOLOGY_NODE_TIMEOUT * 2,
                client.get_multiplexed_async_connection_with_config(&config),
            )
            .await
            else {
                continue;
            };
            if let Some(map) = ask_slots(&mut c).await {
                *conn = Some(c);
                return Some(map);
            }
        }
        None
    }
}

/// `CLUSTER SLOTS`, reduced to the primary of each range, sorted.
async fn ask_slots(conn: &mut redis::aio::MultiplexedConnection) -> Option<Vec<(i64, i64, String)>> {
    let reply: Value = redis::cmd("CLUSTER").arg("SLOTS").query_async(conn).await.ok()?;
    let Value::Array(ranges) = reply else { return None };
    let text = |v: &Value| match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    };
    let mut map: Vec<(i64, i64, String)> = ranges
        .iter()
        .filter_map(|range| {
            let Value::Array(parts) = range else { return None };
            let (Some(Value::Int(first)), Some(Value::Int(last)), Some(Value::Array(primary))) =
                (parts.first(), parts.get(1), parts.get(2))
            else {
                return None;
            };
            let (Some(host), Some(Value::Int(port))) = (primary.first().and_then(text), primary.get(1))
            else {
                return None;
            };
            Some((*first, *last, format!("{host}:{port}")))
        })
        .collect();
    map.sort();
    Some(map)
}

/// Checks the slots' primaries every [`TOPOLOGY_CHECK`] until the seeds are dropped or nothing watches
/// their changes any more; counts a change when they differ from the last answer.
async fn watch_topology(seeds: std::sync::Weak<ClusterSeeds>) {
    let mut conn = None;
    let mut last = None;
    loop {
        tokio::time::sleep(TOPOLOGY_CHECK).await;
        let Some(me) = seeds.upgrade() else { return };
        if me.topology.receiver_count() == 0 {
            // Nothing uses the seeds' connections now; the next `changes` starts watching again.
            me.watching.store(false, std::sync::atomic::Ordering::Release);
            // Unless a connection made meanwhile found this watcher still running: then it goes on.
            if me.topology.receiver_count() == 0
                || me.watching.swap(true, std::sync::atomic::Ordering::AcqRel)
            {
                return;
            }
        }
        let Some(map) = me.slot_primaries(&mut conn).await else { continue };
        // Slots moving between live primaries (a resharding) are followed by the redis crate's
        // redirections; a primary that no longer serves any slot (a failover) is what it may not see.
        let primaries: std::collections::BTreeSet<String> =
            map.into_iter().map(|(_, _, node)| node).collect();
        if last.as_ref().is_some_and(|last: &std::collections::BTreeSet<String>| !last.is_subset(&primaries))
        {
            tracing::debug!("redis cluster: a primary no longer serves any slot; connections start again");
            me.topology.send_modify(|changes| *changes += 1);
        }
        last = Some(primaries);
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
            return Ok((Endpoint::Cluster(ClusterSeeds::new(seeds)), None));
        }
        let client =
            redis::Client::open(urls.first().map(String::as_str).unwrap_or(url)).map_err(redis_error)?;
        let mut conn = crate::connection_manager(client.clone()).await.map_err(redis_error)?;
        // Servers that refuse INFO (some managed ones rename it) are taken for what they are asked to be.
        let info: String = redis::cmd("INFO").arg("cluster").query_async(&mut conn).await.unwrap_or_default();
        if info.lines().any(|l| l.trim() == "cluster_enabled:1") {
            return Ok((
                Endpoint::Cluster(ClusterSeeds::new(vec![client.get_connection_info().clone()])),
                None,
            ));
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
            (Endpoint::Cluster(cluster), _) => ClusterConn::connect(cluster, CLUSTER_RESPONSE_TIMEOUT).await,
        }
    }

    /// On a cluster, the changes of its slots' primaries (see [`ClusterSeeds`]).
    pub(crate) fn topology_changes(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        match self {
            Endpoint::Single(_) => None,
            Endpoint::Cluster(cluster) => Some(cluster.changes()),
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
            Endpoint::Cluster(cluster) => ClusterConn::connect(cluster, response_timeout).await,
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
    Cluster(ClusterConn),
}

/// A connection to a Redis Cluster that starts again when the slots' primaries change (see
/// [`ClusterSeeds`]); clones share it.
#[derive(Clone)]
pub(crate) struct ClusterConn(Arc<ClusterConnInner>);

struct ClusterConnInner {
    conn: std::sync::RwLock<ClusterConnection>,
    cluster: Arc<ClusterSeeds>,
    response_timeout: Duration,
    changes: tokio::sync::watch::Receiver<u64>,
    /// The change the connection was made after.
    made_after: std::sync::atomic::AtomicU64,
    /// Held while the connection is made again, so that it is made once per change.
    remaking: tokio::sync::Mutex<()>,
}

impl ClusterConn {
    async fn connect(cluster: &Arc<ClusterSeeds>, response_timeout: Duration) -> Result<Conn, AdapterError> {
        let changes = cluster.changes();
        let seen = *changes.borrow();
        let builder = Endpoint::cluster_builder(cluster.seeds()).response_timeout(response_timeout);
        let conn = Endpoint::cluster_connection(builder).await?;
        Ok(Conn::Cluster(ClusterConn(Arc::new(ClusterConnInner {
            conn: std::sync::RwLock::new(conn),
            cluster: cluster.clone(),
            response_timeout,
            changes,
            made_after: std::sync::atomic::AtomicU64::new(seen),
            remaking: tokio::sync::Mutex::new(()),
        }))))
    }
}

impl ClusterConnInner {
    /// The connection, made again first when the slots' primaries changed since it was made (when that
    /// fails, the old one, and the next call tries again).
    async fn current(&self) -> ClusterConnection {
        use std::sync::atomic::Ordering;
        let change = *self.changes.borrow();
        if change != self.made_after.load(Ordering::Acquire) {
            let _one = self.remaking.lock().await;
            if change != self.made_after.load(Ordering::Acquire) {
                // A node that does not answer (the one the change is about, maybe) is not waited for.
                let builder = Endpoint::cluster_builder(self.cluster.seeds())
                    .response_timeout(self.response_timeout)
                    .connection_timeout(TOPOLOGY_NODE_TIMEOUT);
                // When that fails, the next command tries again (one at a time).
                if let Ok(fresh) = Endpoint::cluster_connection(builder).await {
                    *self.conn.write().unwrap_or_else(|e| e.into_inner()) = fresh;
                    self.made_after.store(change, Ordering::Release);
                }
            }
        }
        self.conn.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Manager(c) => c.req_packed_command(cmd),
            Conn::Multiplexed(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => {
                let inner = c.0.clone();
                Box::pin(async move { inner.current().await.req_packed_command(cmd).await })
            }
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
            Conn::Cluster(c) => {
                let inner = c.0.clone();
                Box::pin(async move { inner.current().await.req_packed_commands(cmd, offset, count).await })
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Manager(c) => c.get_db(),
            Conn::Multiplexed(c) => c.get_db(),
            // A cluster has database 0 only.
            Conn::Cluster(_) => 0,
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
    cluster: &Arc<ClusterSeeds>,
    mode: Mode,
    on_message: OnClusterMessage,
    errors: ErrorHooks,
) -> Result<Arc<Subscriber>, AdapterError> {
    let (push_tx, pushes) = mpsc::unbounded_channel::<redis::PushInfo>();
    let changes = cluster.changes();
    let conn = subscriber_connection(cluster, push_tx.clone(), CLUSTER_CONNECT_TIMEOUT).await?;
    let (subscriber, rx) = Subscriber::new();
    let remake = Remake { cluster: cluster.clone(), push_tx, changes };
    tokio::spawn(run(Arc::downgrade(&subscriber), conn, remake, mode, rx, pushes, on_message, errors));
    Ok(subscriber)
}

/// A RESP3 cluster connection whose pushes (messages, confirmations) go to `pushes`, waiting at most
/// `connect_timeout` for each node.
async fn subscriber_connection(
    cluster: &ClusterSeeds,
    pushes: mpsc::UnboundedSender<redis::PushInfo>,
    connect_timeout: Duration,
) -> Result<ClusterConnection, AdapterError> {
    let builder = Endpoint::cluster_builder(cluster.seeds())
        .connection_timeout(connect_timeout)
        .use_protocol(redis::ProtocolVersion::RESP3)
        .push_sender(pushes);
    Endpoint::cluster_connection(builder).await
}

/// What the subscriber needs to make its connection again when the slots' primaries change.
struct Remake {
    cluster: Arc<ClusterSeeds>,
    push_tx: mpsc::UnboundedSender<redis::PushInfo>,
    changes: tokio::sync::watch::Receiver<u64>,
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

#[allow(clippy::too_many_arguments)]
async fn run(
    me: Weak<Subscriber>,
    mut conn: ClusterConnection,
    mut remake: Remake,
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
            changed = remake.changes.changed() => {
                if changed.is_err() {
                    // Cannot happen while `remake` holds the seeds (and their sender); ends the task.
                    return;
                }
                // A primary stopped serving slots: subscriptions on a node that no longer answers would
                // stay silent. A new connection (a few tries), and every wanted channel subscribed on it
                // (the old connection's subscriptions end with it).
                let mut wait = Duration::from_millis(100);
                let fresh = loop {
                    // A node that does not answer (the one the change is about, maybe) is not waited for.
                    let connect =
                        subscriber_connection(&remake.cluster, remake.push_tx.clone(), TOPOLOGY_NODE_TIMEOUT);
                    match connect.await {
                        Ok(fresh) => break Some(fresh),
                        Err(e) if wait >= crate::RECONNECT_DELAY_MAX => {
                            errors.report(bus_error(format!(
                                "redis cluster subscriber: cannot connect again after a topology change: {e}"
                            )));
                            break None;
                        }
                        Err(_) => {
                            tokio::time::sleep(wait).await;
                            wait *= 2;
                        }
                    }
                };
                let Some(fresh) = fresh else { continue };
                conn = fresh;
                let Some(me) = me.upgrade() else { return };
                me.clear_confirmed();
                for channel in me.wanted() {
                    me.subscribe_again(channel);
                }
            }
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
