//! Deployment: several nodes behind a load balancer, sticky sessions, draining a node, Kubernetes, and
//! which cluster adapter to choose.
//!
//! A Socket.IO session lives on one node. Over WebSocket it is one connection, but long polling (the
//! first transport of the official clients, and the fallback where WebSocket is blocked) sends many
//! HTTP requests per session, and each must reach the node that holds the session: another node
//! answers `400 {"code":1,"message":"Session ID unknown"}` and the client's connection fails. So
//! behind a load balancer that spreads requests, turn on **sticky sessions**, and give the nodes a
//! shared [adapter](super::adapters) so that broadcasts and rooms span them.
//!
//! # HAProxy
//!
//! This is the configuration that `cargo xtask conformance deployment` runs (Debian's HAProxy 2.6, the
//! file `conformance/deploy/haproxy.cfg`, its `{{...}}` placeholders filled in) in front of three
//! reference nodes on Redis Streams with connection state recovery, driven by the official JavaScript
//! client over polling, WebSocket and upgrade: every request of a session reaches one node, broadcasts
//! and rooms reach the clients of every node, a node sent SIGTERM drains and its clients recover on the
//! others without losing a message; with the `cookie` lines removed, polling clients fail with
//! "Session ID unknown".
//!
//! ```text
//! # HAProxy in front of three Socket.IO nodes, with sticky sessions: a client's requests all reach the
//! # node that holds its session (long polling makes several HTTP requests per session).
//! # {{...}} are placeholders: the port to listen on and the nodes' addresses.
//! global
//!     maxconn 4096
//!
//! defaults
//!     mode http
//!     option http-server-close
//!     timeout connect 5s
//!     # Longer than the Socket.IO ping interval plus timeout (25 s + 20 s by default): a long-polling
//!     # GET waits that long for data.
//!     timeout client 60s
//!     timeout server 60s
//!     # An upgraded WebSocket is a tunnel, idle between pings.
//!     timeout tunnel 1h
//!     # A node that is down or draining refuses connections: try another node, also for clients whose
//!     # cookie names the node that went away.
//!     option redispatch 1
//!     retries 3
//!
//! frontend socketio
//!     bind 127.0.0.1:{{PORT}}
//!     default_backend nodes
//!
//! backend nodes
//!     balance roundrobin
//!     # Sticky sessions: the first response sets SERVERID to the node that answered; the requests that
//!     # carry it go to the same node.
//!     cookie SERVERID insert indirect nocache
//!     # A plain TCP check: a node that stopped listening leaves the rotation within a second.
//!     default-server check inter 500ms fall 1 rise 2
//!     server s1 {{NODE1}} cookie s1
//!     server s2 {{NODE2}} cookie s2
//!     server s3 {{NODE3}} cookie s3
//! ```
//!
//! The cookie is HAProxy's own (`insert`), so browsers keep it on their own; in Node.js the official
//! client keeps cookies only with `withCredentials: true`. A cross-origin browser page needs
//! `withCredentials: true` too, and CORS that allows credentials.
//!
//! # nginx
//!
//! nginx's open-source edition has no cookie stickiness; `ip_hash` sends each client address to one
//! node. (Not tested here: on one machine every client has the same address, so all go to one node.)
//! Clients behind one NAT or proxy all land on the same node.
//!
//! ```text
//! http {
//!     upstream socketio_nodes {
//!         ip_hash;
//!         server 10.0.0.1:3000;
//!         server 10.0.0.2:3000;
//!         server 10.0.0.3:3000;
//!     }
//!     server {
//!         listen 80;
//!         location /socket.io/ {
//!             proxy_pass http://socketio_nodes;
//!             proxy_http_version 1.1;
//!             proxy_set_header Upgrade $http_upgrade;
//!             proxy_set_header Connection "upgrade";
//!             proxy_set_header Host $host;
//!             proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
//!             # longer than the ping interval plus the ping timeout
//!             proxy_read_timeout 60s;
//!         }
//!     }
//! }
//! ```
//!
//! # Without stickiness: WebSocket only
//!
//! A client restricted to WebSocket (`transports: ["websocket"]` in JavaScript) keeps its whole session
//! on one connection, so any balancing works (the deployment conformance shows it through the
//! configuration above without its cookies). The cost: no fallback where WebSocket is blocked. A node
//! may then refuse polling altogether:
//!
//! ```
//! use socketio::prelude::*;
//! use socketio::server::engine::TransportKind;
//!
//! let mut config = ServerConfig::default();
//! config.engine.transports = vec![TransportKind::WebSocket];
//! let io = SocketIo::new(config);
//! # let _ = io;
//! ```
//!
//! # Draining a node
//!
//! [`SocketIo::drain`](crate::server::SocketIo::drain) takes a node out of service within a deadline:
//! it stops accepting connections (the load balancer's next attempt goes to another node), and closes
//! every session as a lost connection, without a Socket.IO DISCONNECT, so the clients reconnect at
//! once: through the load balancer, to another node. With [connection state
//! recovery](super::recovery) and an adapter that stores sessions (Redis Streams), they keep their
//! ids, rooms and data there and get the broadcasts they missed: the drain stores each session before
//! it returns. (`socket.disconnect(true)` would not do: the client is told `io server disconnect` and
//! does not come back by itself.)
//!
//! ```no_run
//! use socketio::prelude::*;
//! use std::time::Duration;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let io = SocketIo::new(ServerConfig::default());
//! io.listen("0.0.0.0:3000".parse()?).await?;
//! #[cfg(unix)]
//! {
//!     let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
//!     term.recv().await;
//! }
//! io.drain(Duration::from_secs(10)).await;
//! # Ok(())
//! # }
//! ```
//!
//! [`SocketIo::close`](crate::server::SocketIo::close) is the same with a short deadline. The reference
//! example drains on SIGTERM and SIGINT (`--drain-ms`).
//!
//! # Kubernetes
//!
//! - **Stickiness.** A `Service` with `sessionAffinity: ClientIP` is stickiness by address, as nginx's
//!   `ip_hash` (with the same NAT caveat), and only for traffic that enters through the Service; most
//!   clusters put an ingress in front, which needs its own affinity: for ingress-nginx, the annotations
//!   `nginx.ingress.kubernetes.io/affinity: "cookie"` and `nginx.ingress.kubernetes.io/session-cookie-name`.
//!   Or use WebSocket only, above.
//! - **Readiness probe.** A TCP probe on the port (`tcpSocket`) fails as soon as the node drains, since it
//!   stops listening. Do not probe `/socket.io/?EIO=4&transport=polling`: each probe would open a session.
//! - **Shutdown.** Kubernetes sends SIGTERM (after the `preStop` hook) and removes the pod from the
//!   endpoints at the same time; a short `preStop` sleep (`exec: ["sleep", "5"]`, or the `sleep` action)
//!   lets the load balancers stop sending new clients first. Then drain on SIGTERM, with a deadline
//!   shorter than `terminationGracePeriodSeconds` (30 s by default) minus the `preStop` time, since the
//!   pod is killed when the period ends.
//! - **Rolling updates.** `maxUnavailable: 0` with `maxSurge` keeps the capacity while the drained
//!   clients move; with recovery on Redis Streams, the recovery window
//!   (`max_disconnection_duration`) must exceed the time a client needs to come back.
//!
//! # Which cluster adapter
//!
//! | adapter | choose it when |
//! |---|---|
//! | `redis://` classic pub/sub (`adapter::redis::RedisBus`) | one Redis, Node servers with `@socket.io/redis-adapter` `createAdapter` to mix with; every message reaches every node |
//! | `redis-sharded://` sharded pub/sub (`adapter::redis_sharded::ShardedRedisBus`) | a Redis 7 Cluster: give any node or several seeds (`redis://10.0.0.1:7000,10.0.0.2:7000`); channels spread over the shards |
//! | `redis-streams://` (`adapter::redis_streams::RedisStreamsBus`) | connection state recovery on any node (rolling deploys, drains, as above); works on a Redis Cluster |
//! | `postgres://` (`adapter::postgres::PostgresBus`) | Postgres is already there and Redis is not; moderate traffic (payloads over 8000 bytes go through a table, as with the Node adapter) |
//!
//! The memory adapter (the default) serves one node: behind a load balancer, broadcasts would reach
//! only the clients of the node they start on. See [`adapters`](super::adapters) for the buses'
//! options and Redis Cluster.
//!
//! # Rust and Node nodes on one Redis Cluster
//!
//! Rust nodes and Node nodes can share a Redis Cluster with the sharded adapter or the Redis Streams
//! adapter: each side routes every channel, stream and session key to the node of its slot, so the
//! sides meet on the same nodes. `cargo xtask conformance socketio-cluster` checks it on a throwaway
//! cluster of three primaries, with Rust + Rust + Node and Node + Node + Rust servers, each given the
//! seed list starting from a different node (broadcasts, rooms, `fetchSockets`, `socketsJoin` /
//! `socketsLeave`, broadcasts with acks, `serverSideEmit`, `disconnectSockets`, and recovery on another
//! node with the streams). The options the test uses:
//!
//! ```no_run
//! # #[cfg(feature = "redis")]
//! # async fn node() -> Result<(), Box<dyn std::error::Error>> {
//! use socketio::adapter::redis_sharded::ShardedRedisBus;
//! use socketio::adapter::redis_streams::{RedisStreamsBus, RedisStreamsConfig};
//! let seeds = "redis://10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000";
//! // Sharded pub/sub: the defaults (channel prefix `socket.io`, subscription mode dynamic).
//! let sharded = ShardedRedisBus::connect(seeds, Default::default()).await?;
//! // Redis Streams: the namespaces spread over four streams, `socket.io-0` to `socket.io-3`.
//! let config = RedisStreamsConfig { stream_count: 4, ..Default::default() };
//! let streams = RedisStreamsBus::connect(seeds, config).await?;
//! # let _ = (sharded, streams); Ok(())
//! # }
//! ```
//!
//! and on the Node side, node-redis 4.7's cluster client with `@socket.io/redis-adapter` 8.3 or
//! `@socket.io/redis-streams-adapter` 0.3 (`conformance/apps/reference.mjs`):
//!
//! ```js
//! import { createCluster } from "redis";
//! import { createShardedAdapter } from "@socket.io/redis-adapter";
//! import { createAdapter } from "@socket.io/redis-streams-adapter";
//!
//! const rootNodes = ["10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000"].map((a) => ({ url: `redis://${a}` }));
//! const pub = createCluster({ rootNodes });
//! pub.on("error", (err) => console.error(err)); // a node that goes away is an error event
//! await pub.connect();
//! // Sharded pub/sub: a second cluster client subscribes.
//! const sub = pub.duplicate();
//! sub.on("error", (err) => console.error(err));
//! await sub.connect();
//! io.adapter(createShardedAdapter(pub, sub));
//! // Or Redis Streams, with the same stream count as the Rust nodes:
//! io.adapter(createAdapter(pub, { streamCount: 4 }));
//! ```
//!
//! What must agree across the sides: the channel prefix (`channel_prefix` / `channelPrefix`) and, for
//! the sharded adapter, the subscription mode; for the streams, the stream name and count
//! (`stream_name`, `stream_count` / `streamName`, `streamCount`: a namespace's stream is picked by the
//! same hash) and the session key prefix.
//!
//! A limitation of the Node streams adapter (0.3.1) with `streamCount` above one: a namespace whose
//! hash (Java's `String.hashCode` in 32-bit integers) is negative gets a negative remainder, so it is
//! written to `socket.io--K`, which no Node server reads (they poll `socket.io-0` to `socket.io-{N-1}`).
//! The Rust bus writes the same names and reads each namespace's own stream, so such a namespace's
//! broadcasts reach Rust servers from both sides but Node servers from neither. With Node servers in the
//! cluster, keep `streamCount` at 1 or use namespaces whose hash is not negative (the conformance test
//! does the latter).
//!
//! When a primary dies, its replica takes over after the cluster's node timeout. The Rust buses report
//! the outage through their error hooks (`on_error`), lose what was published meanwhile (pub/sub) or
//! fail to add it (streams, reported), and go on with the new primary: in the workspace's test (three
//! primaries with a replica each, node timeout 2 s, the primary of the namespace channel or of the
//! stream killed with SIGKILL) broadcasts cross again 4 to 5 s after the kill. A primary that stops
//! answering without closing its connections (the test pauses it with SIGSTOP; a partition looks the
//! same) gives the `redis` crate no closed connection and no redirection to learn from, so the buses
//! ask a seed node every second which primaries serve the slots (`CLUSTER SLOTS`) and, when they
//! change, make their connections, subscriptions and stream reads again: in the same test, broadcasts
//! cross again about 6 s after the pause. When the old primary comes back, the cluster makes it a
//! replica of the new one and nothing more is needed. A failover with Node nodes mixed in is not part
//! of the tests.
