//! Three servers on a Redis Cluster (three primaries, a throwaway one of this test process, see
//! `socketio_e2e::require_redis_cluster!`), each given the address of a different cluster node, through
//! the sharded adapter, the Redis Streams adapter and the classic adapter (with the emitter): whichever
//! node owns a channel's or a stream's slot, every server hears every other.

#![allow(clippy::unwrap_used)]

use socketio_e2e::client::{bin, Client};
use socketio_e2e::{redis_node_at, redis_sharded_node_at, redis_streams_node_at, unique_key};
use socketio_server::parser::{Packet, Value};
use socketio_server::{Socket, SocketIo};
use std::time::Duration;

#[derive(Clone, Copy, Debug)]
enum Bus {
    Classic,
    Sharded,
    Streams,
}

/// The arguments of an event, without the offset that recovery appends (streams).
fn args_of(bus: Bus, mut args: Vec<Value>) -> Vec<Value> {
    if let Bus::Streams = bus {
        let offset = args.pop().unwrap();
        assert!(offset.as_str().is_some_and(|o| o.contains('-')), "offset last: {offset:?}");
    }
    args
}

/// Three servers, the i-th given `urls[i]`, each with a client; their sockets can `join` a room (acked).
async fn three_nodes(bus: Bus, urls: [&str; 3], prefix: &str) -> Vec<(SocketIo, Client)> {
    let mut nodes = Vec::new();
    for url in urls {
        let (io, addr) = match bus {
            Bus::Classic => redis_node_at(url, prefix).await,
            Bus::Sharded => redis_sharded_node_at(url, prefix).await,
            Bus::Streams => redis_streams_node_at(url, prefix).await,
        };
        io.on_connection(|socket: Socket| async move {
            socket.on("join", |s, (room,): (String,), ack| async move {
                s.join(room);
                ack.unwrap().send(()).unwrap();
            });
        });
        let (client, _) = Client::connect(addr, "/", None).await;
        nodes.push((io, client));
    }
    nodes
}

async fn broadcasts_rooms_fetch_and_server_side_emit(bus: Bus, urls: [&str; 3]) {
    let mut nodes = three_nodes(bus, urls, &unique_key("cluster")).await;
    assert_eq!(nodes[0].0.sockets().adapter().server_count().await, 3, "the cluster counts every server");

    // A broadcast from each server reaches the clients of all three.
    for from in 0..3 {
        nodes[from].0.emit("news", (from as u64, bin(b"\x01\x02"))).unwrap();
        for (_, client) in nodes.iter_mut() {
            let (args, _) = client.recv_event("news").await;
            assert_eq!(args_of(bus, args), vec![Value::from(from as u64), bin(b"\x01\x02")]);
        }
    }

    // Rooms: the clients of servers 1 and 2 join rooms of their own (with the sharded adapter each
    // room has a channel, whose slot may be on any cluster node).
    for (i, room) in [(1, "red"), (2, "green")] {
        let client = &mut nodes[i].1;
        client.send(Packet::event("/", "join", vec![Value::from(room)]).with_ack_id(1)).await;
        client.recv_ack().await;
    }
    nodes[0].0.to("red").emit("to-red", ("r",)).unwrap();
    nodes[0].0.to("green").emit("to-green", ("g",)).unwrap();
    nodes[0].0.emit("marker", ()).unwrap();
    // Each room's message and the marker arrive; on a cluster, messages published on different channels
    // (a room's, the namespace's) may reach another node in either order.
    for (i, room_event) in [(1, "to-red"), (2, "to-green")] {
        let mut got = Vec::new();
        for _ in 0..2 {
            got.push(nodes[i].1.recv().await.unwrap().event_name().map(str::to_owned));
        }
        got.sort();
        assert_eq!(got, [Some("marker".to_string()), Some(room_event.to_string())]);
    }
    assert_eq!(nodes[0].1.recv().await.unwrap().event_name(), Some("marker"));

    // fetchSockets from server 0 sees the sockets of all three, with their rooms.
    let sockets = nodes[0].0.sockets().fetch_sockets().await.unwrap();
    assert_eq!(sockets.len(), 3);
    let mut rooms: Vec<String> =
        sockets.iter().flat_map(|s| s.rooms.iter().map(|r| r.to_string())).filter(|r| r.len() < 10).collect();
    rooms.sort();
    assert_eq!(rooms, ["green", "red"]);
    let in_red = nodes[2].0.sockets().to("red").fetch_sockets().await.unwrap();
    assert_eq!(in_red.len(), 1);

    // serverSideEmit, without and with acknowledgements: both other servers hear it and answer.
    let (tx, mut heard) = tokio::sync::mpsc::unbounded_channel();
    for i in [0u64, 1] {
        let tx = tx.clone();
        nodes[i as usize].0.sockets().on_server_event("hello", move |args, ack| {
            let tx = tx.clone();
            async move {
                tx.send((i, args)).unwrap();
                if let Some(ack) = ack {
                    ack.send(&i).unwrap();
                }
            }
        });
    }
    nodes[2].0.sockets().server_side_emit("hello", ("plain",)).await.unwrap();
    let mut answers = nodes[2].0.sockets().server_side_emit_with_ack("hello", ("ask",)).await.unwrap();
    answers.sort_by_key(|a| a.as_u64());
    assert_eq!(answers, [Value::from(0u64), Value::from(1u64)]);
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(tokio::time::timeout(Duration::from_secs(5), heard.recv()).await.expect("in time").unwrap());
    }
    got.sort_by_key(|(i, args)| (*i, args[0].as_str().map(str::to_owned)));
    let ask = |i| (i, vec![Value::from("ask")]);
    let plain = |i| (i, vec![Value::from("plain")]);
    assert_eq!(got, [ask(0), plain(0), ask(1), plain(1)]);

    // A broadcast with acknowledgements: every client answers, wherever it is connected.
    let asking = {
        let io = nodes[1].0.clone();
        tokio::spawn(
            async move { io.sockets().timeout(Duration::from_secs(3)).emit_with_ack("ask", ()).await },
        )
    };
    for (i, (_, client)) in nodes.iter_mut().enumerate() {
        let (_, id) = client.recv_event("ask").await;
        client.send(Packet::ack("/", id.unwrap(), vec![Value::from(i as u64)])).await;
    }
    let mut answers: Vec<u64> =
        asking.await.unwrap().unwrap().into_iter().map(|a| a[0].as_u64().unwrap()).collect();
    answers.sort();
    assert_eq!(answers, [0, 1, 2]);
}

#[tokio::test]
async fn sharded_servers_on_different_cluster_nodes_hear_each_other() {
    let cluster = socketio_e2e::require_redis_cluster!();
    let urls = cluster.urls();
    broadcasts_rooms_fetch_and_server_side_emit(Bus::Sharded, [&urls[0], &urls[1], &urls[2]]).await;
}

#[tokio::test]
async fn streams_servers_on_different_cluster_nodes_hear_each_other() {
    let cluster = socketio_e2e::require_redis_cluster!();
    let urls = cluster.urls();
    broadcasts_rooms_fetch_and_server_side_emit(Bus::Streams, [&urls[0], &urls[1], &urls[2]]).await;
}

/// Several seed addresses, comma-separated, work as well as one node's address.
#[tokio::test]
async fn sharded_servers_given_seed_lists() {
    let cluster = socketio_e2e::require_redis_cluster!();
    let urls = cluster.urls();
    let ports: Vec<u16> = cluster.nodes().iter().map(|n| n.port()).collect();
    let seeds = [
        format!("{},127.0.0.1:{}", urls[2], ports[0]),
        format!("{},127.0.0.1:{}", urls[0], ports[1]),
        format!("{},127.0.0.1:{}", urls[1], ports[2]),
    ];
    broadcasts_rooms_fetch_and_server_side_emit(Bus::Sharded, [&seeds[0], &seeds[1], &seeds[2]]).await;
}

/// A cluster none of whose seeds answers is an error at start-up, within seconds, not a silent hang.
#[tokio::test]
async fn unreachable_cluster_seeds_fail_at_start_up() {
    use socketio_adapter::redis_sharded::{ShardedRedisBus, ShardedRedisConfig};
    use socketio_adapter::redis_streams::{RedisStreamsBus, RedisStreamsConfig};
    let closed = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let seeds = format!("redis://127.0.0.1:{},127.0.0.1:{}", closed(), closed());
    let started = std::time::Instant::now();
    let sharded = ShardedRedisBus::connect(&seeds, ShardedRedisConfig::default()).await;
    assert!(sharded.is_err());
    let streams = RedisStreamsBus::connect(&seeds, RedisStreamsConfig::default()).await;
    assert!(streams.is_err());
    assert!(started.elapsed() < Duration::from_secs(25), "took {:?}", started.elapsed());
}

/// The classic adapter too: a `PUBLISH` reaches the subscribers of every cluster node, and the server
/// count is asked of every node.
#[tokio::test]
async fn classic_servers_on_different_cluster_nodes_hear_each_other() {
    let cluster = socketio_e2e::require_redis_cluster!();
    let urls = cluster.urls();
    broadcasts_rooms_fetch_and_server_side_emit(Bus::Classic, [&urls[0], &urls[1], &urls[2]]).await;
}

/// The emitter, given another cluster node than any server, reaches the sockets of all three.
#[tokio::test]
async fn the_emitter_reaches_servers_on_every_cluster_node() {
    let cluster = socketio_e2e::require_redis_cluster!();
    let urls = cluster.urls();
    let key = unique_key("emitter");
    let mut nodes = three_nodes(Bus::Classic, [&urls[0], &urls[1], &urls[2]], &key).await;
    let seeds = format!("{},{}", urls[2], urls[1]);
    for url in [urls[0].as_str(), seeds.as_str()] {
        let emitter = socketio_adapter::redis::RedisEmitter::connect(url, &key).await.unwrap();
        emitter.emit("news", vec![Value::from(url), bin(b"\x00")]).await.unwrap();
        for (_, client) in nodes.iter_mut() {
            assert_eq!(client.recv_event("news").await.0, vec![Value::from(url), bin(b"\x00")]);
        }
        nodes[1].0.sockets().sockets()[0].join("red");
        emitter.to("red").emit("to red", vec![]).await.unwrap();
        emitter.emit("marker", vec![]).await.unwrap();
        // A room's channel and the namespace's may reach a node in either order on a cluster.
        for (i, (_, client)) in nodes.iter_mut().enumerate() {
            let mut got = vec![client.recv().await.unwrap().event_name().map(str::to_owned)];
            if i == 1 {
                got.push(client.recv().await.unwrap().event_name().map(str::to_owned));
            }
            got.sort();
            let expected: &[&str] = if i == 1 { &["marker", "to red"] } else { &["marker"] };
            assert_eq!(got, expected.iter().map(|e| Some(e.to_string())).collect::<Vec<_>>());
        }
    }
}

/// A server on the sharded or the streams bus at `url`, with the errors its bus reports.
async fn node_with_errors(
    bus: Bus,
    url: &str,
    prefix: &str,
) -> (SocketIo, std::net::SocketAddr, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use socketio_adapter::redis_sharded::{ShardedRedisBus, ShardedRedisConfig};
    use socketio_adapter::redis_streams::RedisStreamsBus;
    let (tx, errors) = tokio::sync::mpsc::unbounded_channel();
    let report = move |e: &socketio_adapter::AdapterError| {
        let _ = tx.send(e.to_string());
    };
    let mut config = socketio_server::ServerConfig::default();
    match bus {
        Bus::Sharded => {
            let mut sharded = ShardedRedisConfig { channel_prefix: prefix.to_string(), ..Default::default() };
            sharded.cluster.requests_timeout = Duration::from_secs(2);
            let bus = ShardedRedisBus::connect(url, sharded).await.expect("sharded bus");
            bus.on_error(report);
            config.adapter = bus.factory();
        }
        Bus::Classic => panic!("the failover tests run the sharded and the streams buses"),
        Bus::Streams => {
            let bus = RedisStreamsBus::connect(url, socketio_e2e::redis_streams_config(prefix))
                .await
                .expect("streams bus");
            bus.on_error(report);
            config.adapter = bus.factory();
        }
    }
    let (io, addr) = socketio_e2e::client::start(config).await;
    io.sockets().adapter().ready().await;
    (io, addr, errors)
}

/// Emits `event` from `from` every half second until `to` receives one, within `limit`; how long it took.
async fn emit_until_heard(from: &SocketIo, to: &mut Client, event: &str, limit: Duration) -> Duration {
    let started = std::time::Instant::now();
    let mut n = 0u64;
    loop {
        assert!(started.elapsed() < limit, "no {event} crossed the bus within {limit:?}");
        from.emit(event, (n,)).unwrap();
        n += 1;
        if tokio::time::timeout(Duration::from_millis(500), to.recv_event(event)).await.is_ok() {
            return started.elapsed();
        }
    }
}

/// Two servers on a Redis Cluster of three primaries with a replica each, one client on each server, a
/// broadcast seen crossing; which node is the primary of the bus's slot.
struct Failover {
    cluster: socketio_e2e::RedisCluster,
    /// The key whose slot the bus lives on: the namespace channel, or the stream.
    key: String,
    a: SocketIo,
    b: SocketIo,
    ca: Client,
    cb: Client,
    errors_a: tokio::sync::mpsc::UnboundedReceiver<String>,
    errors_b: tokio::sync::mpsc::UnboundedReceiver<String>,
    /// The index of the slot's primary.
    owner: usize,
}

impl Failover {
    async fn start(bus: Bus) -> Failover {
        let cluster = socketio_e2e::RedisCluster::start_with_replicas(3, 1)
            .unwrap_or_else(|e| panic!("{e}"))
            .expect("Redis is installed (the shared cluster started)");
        let prefix = unique_key("failover");
        let key = match bus {
            Bus::Sharded => format!("{prefix}#/#"),
            _ => prefix.clone(),
        };
        // Each server starts from a different node.
        let (a, addr_a, errors_a) =
            node_with_errors(bus, &format!("redis://{}", cluster.seeds_from(0)), &prefix).await;
        let (b, addr_b, errors_b) =
            node_with_errors(bus, &format!("redis://{}", cluster.seeds_from(1)), &prefix).await;
        let (ca, _) = Client::connect(addr_a, "/", None).await;
        let (mut cb, _) = Client::connect(addr_b, "/", None).await;
        emit_until_heard(&a, &mut cb, "before", Duration::from_secs(5)).await;
        let owner = cluster.primary_of(&key).unwrap().expect("a primary serves the slot");
        assert!(owner < 3, "the primaries come first");
        Failover { cluster, key, a, b, ca, cb, errors_a, errors_b, owner }
    }

    /// fetchSockets from either server sees both clients (a request whose answer was published while a
    /// client still had the old primary in its slot map may time out: one more try).
    async fn requests_span_both_servers(&self) {
        for io in [&self.a, &self.b] {
            let mut fetched = io.sockets().fetch_sockets().await;
            if fetched.is_err() {
                fetched = io.sockets().fetch_sockets().await;
            }
            assert_eq!(fetched.unwrap().len(), 2);
        }
    }

    /// Waits until a node other than the old owner serves the slot (there is no event to await for
    /// that); its index.
    async fn new_owner(&self, limit: Duration) -> usize {
        let elected = std::time::Instant::now();
        loop {
            match self.cluster.primary_of(&self.key).unwrap() {
                Some(node) if node != self.owner => return node,
                _ => assert!(elected.elapsed() < limit, "no replica took over within {limit:?}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The primary serving the bus's namespace channel (sharded) or stream (streams) is killed: its replica
/// takes over, the bus reports the outage through its error hook, follows the slot to the new primary,
/// and broadcasts cross between the servers again, both ways, within a bounded time.
async fn the_bus_follows_a_failover(bus: Bus) {
    socketio_e2e::require_redis_cluster!();
    let mut f = Failover::start(bus).await;
    f.cluster.nodes()[f.owner].kill().unwrap();

    // Failover: 2 s of node timeout before the replica is elected, then the clients' slot refresh.
    let limit = Duration::from_secs(30);
    let took = emit_until_heard(&f.a, &mut f.cb, "after", limit).await;
    emit_until_heard(&f.b, &mut f.ca, "back", limit).await;
    eprintln!("{bus:?}: a broadcast crossed the bus again {took:?} after the kill");
    // Messages may cross through the replica before its election completes: wait for the cluster to
    // say which node serves the slot now.
    let new_owner = f.new_owner(limit).await;
    assert!(new_owner >= 3, "a replica took over (node {new_owner}, heard {took:?} after the kill)");
    // The outage was reported, not silently waited out.
    let mut reported = Vec::new();
    for errors in [&mut f.errors_a, &mut f.errors_b] {
        while let Ok(e) = errors.try_recv() {
            reported.push(e);
        }
    }
    assert!(!reported.is_empty(), "no error reported while the slot's primary was down");
    f.requests_span_both_servers().await;
}

/// The primary serving the bus's slot stops answering (SIGSTOP: its connections stay open, silent): its
/// replica takes over and broadcasts cross again, both ways, while it is silent. Then it comes back,
/// the cluster makes it a replica of the new primary, and broadcasts and requests still cross.
async fn the_bus_goes_on_when_a_paused_primary_returns_as_a_replica(bus: Bus) {
    socketio_e2e::require_redis_cluster!();
    let mut f = Failover::start(bus).await;
    let limit = Duration::from_secs(30);
    let old = &f.cluster.nodes()[f.owner];
    old.pause().unwrap();
    // Resumed when dropped, even by a failing assertion.
    let paused = Resume(old);
    // The silent primary gives the bus no closed connection: the buses see the new primaries from
    // the cluster's slot map.
    let took = emit_until_heard(&f.a, &mut f.cb, "after", limit).await;
    emit_until_heard(&f.b, &mut f.ca, "back", limit).await;
    eprintln!("{bus:?}: a broadcast crossed the bus again {took:?} after the pause");
    let new_owner = f.new_owner(limit).await;
    assert!(new_owner >= 3, "a replica took over (node {new_owner})");
    drop(paused);
    // There is no event to await for the demotion either.
    let back = std::time::Instant::now();
    while f.cluster.role_of(f.owner).ok().as_deref() != Some("slave") {
        assert!(back.elapsed() < limit, "the old primary did not come back as a replica within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = emit_until_heard(&f.a, &mut f.cb, "returned", limit).await;
    emit_until_heard(&f.b, &mut f.ca, "returned-back", limit).await;
    eprintln!("{bus:?}: a broadcast crossed the bus {took:?} after the old primary returned as a replica");
    // Once a broadcast crossed, the next ones cross at once, in order.
    for n in 0..3u64 {
        f.b.emit("steady", (n,)).unwrap();
    }
    for n in 0..3u64 {
        let (args, _) =
            tokio::time::timeout(Duration::from_secs(5), f.ca.recv_event("steady")).await.unwrap();
        assert_eq!(args, vec![Value::from(n)]);
    }
    f.requests_span_both_servers().await;
}

/// Resumes a paused node when dropped.
struct Resume<'a>(&'a socketio_e2e::Service);

impl Drop for Resume<'_> {
    fn drop(&mut self) {
        let _ = self.0.resume();
    }
}

#[tokio::test]
async fn sharded_bus_follows_a_failover() {
    the_bus_follows_a_failover(Bus::Sharded).await;
}

#[tokio::test]
async fn streams_bus_follows_a_failover() {
    the_bus_follows_a_failover(Bus::Streams).await;
}

// Two workers: the cluster helpers run redis-cli synchronously, which waits for the paused node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_bus_goes_on_when_a_paused_primary_returns_as_a_replica() {
    the_bus_goes_on_when_a_paused_primary_returns_as_a_replica(Bus::Sharded).await;
}

// Two workers: the cluster helpers run redis-cli synchronously, which waits for the paused node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_bus_goes_on_when_a_paused_primary_returns_as_a_replica() {
    the_bus_goes_on_when_a_paused_primary_returns_as_a_replica(Bus::Streams).await;
}

/// The admin UI's session store on a Redis Cluster: sessions saved through one node are found through
/// another, whichever node owns each key's slot, with the reference's key and a TTL.
#[tokio::test]
async fn the_admin_session_store_works_on_a_cluster() {
    use socketio_admin::{AdminSessionStore, RedisStore};
    let cluster = socketio_e2e::require_redis_cluster!();
    let urls = cluster.urls();
    let prefix = unique_key("admin");
    // One node of the cluster (found to be one), and a seed list.
    let writer = RedisStore::connect(&urls[0]).await.unwrap().prefix(&prefix);
    let reader = RedisStore::connect(&format!("{},{}", urls[2], urls[1])).await.unwrap().prefix(&prefix);
    // Enough keys for every primary to own some.
    let ids: Vec<String> = (0..30).map(|i| format!("session-{i}")).collect();
    for id in &ids {
        writer.save(id).await;
    }
    for id in &ids {
        assert!(reader.contains(id).await, "{id}");
    }
    assert!(!reader.contains("never-saved").await);
    // The key as Node's RedisStore writes it, with its expiry.
    let client = redis::cluster::ClusterClient::new(vec![urls[1].clone()]).unwrap();
    let mut conn = client.get_async_connection().await.unwrap();
    let key = format!("{prefix}#session-7");
    let value: String = redis::cmd("GET").arg(&key).query_async(&mut conn).await.unwrap();
    let ttl: i64 = redis::cmd("TTL").arg(&key).query_async(&mut conn).await.unwrap();
    assert_eq!(value, "true");
    assert!((86_000..=86_400).contains(&ttl), "{ttl}");
}
