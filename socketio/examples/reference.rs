//! The reference app of `shared/reference-app.md`: what conformance runs, interop runs and benchmarks
//! drive.
//!
//! `cargo run --release -p socketio --example reference -- --port 3000`
//!
//! Flags: `--port N` (3000 or `$PORT`), `--path P` (`/socket.io/`), `--ping-interval MS`, `--ping-timeout MS`,
//! `--connect-timeout MS`, `--max-payload BYTES`, `--transports LIST`, `--cors-origin O` (`*`),
//! `--allow-eio3`, `--parser json|msgpack`, `--node-name NAME`, `--recovery-ms MS`, `--serve-client DIR`,
//! `--adapter memory|redis://host:port|redis-streams://host:port|redis-sharded://host:port|postgres://user@host/db`
//! (with the `redis` / `postgres` features). A Redis Cluster is given by any one node's address, or by
//! several separated by commas (`redis-sharded://127.0.0.1:7000,127.0.0.1:7001`). Beyond the contract,
//! `--stream-count N` spreads the namespaces of `redis-streams://` over N streams (the Node adapter's
//! `streamCount`), so that on a cluster they live on different nodes.
//! `--admin-ui` instruments the server for the official admin UI (`/admin`, no authentication,
//! development mode); beyond the contract, `--admin-auth USER:BCRYPT_HASH` asks for a login and
//! `--admin-store redis://host:port` keeps the login sessions in Redis (the `redis` feature).
//!
//! On SIGTERM or SIGINT the app drains ([`SocketIo::drain`]): it stops accepting, closes every session
//! so the clients reconnect at once (elsewhere, behind a load balancer; with `--recovery-ms` and a
//! shared adapter, keeping their sessions), and exits within `--drain-ms MS` (2000).

use socketio::admin::{instrument, AdminAuth, AdminOptions};
use socketio::parser::Value;
use socketio::server::engine::{CorsConfig, CorsOrigin, TransportKind};
use socketio::server::{ConnectError, Namespace, ParserKind, ServerConfig, Socket, SocketIo};
use std::net::SocketAddr;
use std::time::Duration;

struct Options {
    port: u16,
    node_name: String,
    adapter: String,
    /// `--stream-count`: how many streams `redis-streams://` spreads the namespaces over.
    stream_count: u32,
    admin_ui: bool,
    /// `--admin-auth USER:HASH`.
    admin_auth: Option<(String, String)>,
    /// `--admin-store URL`.
    admin_store: Option<String>,
    /// `--drain-ms`: how long the drain on SIGTERM may take.
    drain: Duration,
    config: ServerConfig,
}

fn parse_args() -> Result<Options, String> {
    let mut port: u16 = std::env::var("PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3000);
    let mut node_name = format!("node-{}", std::process::id());
    let mut adapter = "memory".to_string();
    let mut stream_count = 1;
    let mut admin_ui = false;
    let (mut admin_auth, mut admin_store) = (None, None);
    let mut drain = Duration::from_secs(2);
    let mut config = ServerConfig::default();
    config.engine.cors = Some(CorsConfig { origin: CorsOrigin::Any, ..CorsConfig::default() });
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        let ms = |v: String| v.parse::<u64>().map(Duration::from_millis).map_err(|e| format!("{v}: {e}"));
        match flag.as_str() {
            "--port" => port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--path" => config.engine.path = value()?,
            "--ping-interval" => config.engine.ping_interval = ms(value()?)?,
            "--ping-timeout" => config.engine.ping_timeout = ms(value()?)?,
            "--connect-timeout" => config.connect_timeout = ms(value()?)?,
            "--max-payload" => {
                config.engine.max_http_buffer_size =
                    value()?.parse().map_err(|e| format!("--max-payload: {e}"))?
            }
            "--transports" => {
                config.engine.transports = value()?
                    .split(',')
                    .map(|t| {
                        TransportKind::from_name(t.trim()).ok_or_else(|| format!("unknown transport {t}"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--cors-origin" => {
                let origin = value()?;
                let origin = if origin == "*" { CorsOrigin::Any } else { CorsOrigin::Fixed(origin) };
                config.engine.cors = Some(CorsConfig { origin, ..CorsConfig::default() });
            }
            "--allow-eio3" => config.engine.allow_eio3 = true,
            "--parser" => {
                config.parser = match value()?.as_str() {
                    "json" => ParserKind::Default,
                    "msgpack" => ParserKind::Msgpack,
                    other => return Err(format!("unknown parser {other}")),
                }
            }
            "--node-name" => node_name = value()?,
            "--adapter" => {
                adapter = value()?;
                let known = ["redis://", "redis-streams://", "redis-sharded://", "postgres://"];
                if adapter != "memory" && !known.iter().any(|scheme| adapter.starts_with(scheme)) {
                    return Err(format!(
                        "unknown adapter {adapter} (memory, redis://host:port, redis-streams://host:port, \
                         redis-sharded://host:port or postgres://...)"
                    ));
                }
            }
            "--stream-count" => {
                stream_count = value()?.parse().map_err(|e| format!("--stream-count: {e}"))?
            }
            "--recovery-ms" => {
                config.connection_state_recovery = Some(socketio::server::RecoveryConfig {
                    max_disconnection_duration: ms(value()?)?,
                    ..Default::default()
                })
            }
            "--admin-ui" => admin_ui = true,
            "--admin-auth" => {
                let v = value()?;
                let (user, hash) = v.split_once(':').ok_or("--admin-auth: USER:BCRYPT_HASH")?;
                admin_auth = Some((user.to_string(), hash.to_string()));
            }
            "--admin-store" => admin_store = Some(value()?),
            "--drain-ms" => drain = ms(value()?)?,
            // The official client bundle under the path, as Node's serveClient (which Node's twin has on).
            "--serve-client" => config.serve_client = Some(value()?.into()),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(Options { port, node_name, adapter, stream_count, admin_ui, admin_auth, admin_store, drain, config })
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// The behaviour every namespace of the app shares.
fn setup(nsp: &Namespace, node: String) {
    // `server-side-emit` on another node arrives here: relay to this node's sockets.
    let local = nsp.clone();
    nsp.on_server_event("relay", move |args, _ack| {
        let nsp = local.clone();
        async move {
            let _ = nsp.local().emit("relayed", args);
        }
    });
    nsp.use_middleware(|socket: Socket| async move {
        match socket.auth().get("reject").and_then(Value::as_str) {
            Some(message) => {
                Err(ConnectError::new(message)
                    .with_data(Value::from(serde_json::json!({"code": "rejected"}))))
            }
            None => Ok(()),
        }
    });
    nsp.on_connection(|socket: Socket| async move {
        let _ = socket.emit("auth", (socket.auth().clone(),));
    });
    // Every socket's events, registered once for the namespace. Each handler takes its arguments typed,
    // as JavaScript hands them to a listener (a missing one is `None`, extra ones are ignored); the
    // events that pass on whatever they got take them all, as `Vec<Value>`.
    nsp.on("message", |s, args: Vec<Value>, _| async move {
        let _ = s.emit("message-back", args);
    });
    for event in ["message-with-ack", "echo"] {
        nsp.on(event, |_, args: Vec<Value>, ack| async move {
            if let Some(ack) = ack {
                let _ = ack.send(args);
            }
        });
    }
    nsp.on("broadcast", |s, args: Vec<Value>, _| async move {
        let _ = s.namespace().emit("bcast", args);
    });
    // The bench's `large`: `size` zero bytes (16 MiB at most) broadcast as a binary attachment.
    nsp.on("large", |s, (n, size): (Value, Option<u64>), _| async move {
        let size = size.unwrap_or(0).min(16 << 20) as usize;
        let _ = s.namespace().emit("bcast-large", (n, Value::Binary(bytes::Bytes::from(vec![0u8; size]))));
    });
    nsp.on("join", |s, (room,): (Option<String>,), ack| async move {
        if let Some(room) = room {
            s.join(room);
        }
        if let Some(ack) = ack {
            let _ = ack.send("ok");
        }
    });
    nsp.on("leave", |s, (room,): (Option<String>,), ack| async move {
        if let Some(room) = room {
            s.leave(room);
        }
        if let Some(ack) = ack {
            let _ = ack.send("ok");
        }
    });
    // `(room, ...rest)`: the room typed, the rest passed on as it came.
    nsp.on("to-room", |s, mut args: Vec<Value>, _| async move {
        if let Some(room) = take_room(&mut args) {
            let _ = s.namespace().to(room).emit("room-msg", args);
        }
    });
    nsp.on("to-room-except-me", |s, mut args: Vec<Value>, _| async move {
        if let Some(room) = take_room(&mut args) {
            let _ = s.to(room).emit("room-msg", args);
        }
    });
    nsp.on("fetch-sockets", |s, (): (), ack| async move {
        let ids = s.namespace().fetch_sockets().await.unwrap_or_default();
        if let Some(ack) = ack {
            let _ = ack.send((sorted(ids.into_iter().map(|i| i.id.to_string()).collect()),));
        }
    });
    nsp.on("sockets-join", |s, (room, target): (Option<String>, Option<String>), ack| async move {
        if let (Some(room), Some(target)) = (room, target) {
            let _ = s.namespace().to(target).sockets_join(room).await;
        }
        if let Some(ack) = ack {
            let _ = ack.send("ok");
        }
    });
    // Beyond the shared contract: the counterpart of sockets-join, for the cluster conformance.
    nsp.on("sockets-leave", |s, (room, target): (Option<String>, Option<String>), ack| async move {
        if let (Some(room), Some(target)) = (room, target) {
            let _ = s.namespace().to(target).sockets_leave(room).await;
        }
        if let Some(ack) = ack {
            let _ = ack.send("ok");
        }
    });
    nsp.on("disconnect-room", |s, (room,): (Option<String>,), _| async move {
        if let Some(room) = room {
            let _ = s.namespace().to(room).disconnect_sockets(true).await;
        }
    });
    nsp.on("server-side-emit", |s, args: Vec<Value>, _| async move {
        // With the memory adapter there is no other node: the adapter says so and nothing is sent.
        let _ = s.namespace().server_side_emit("relay", args).await;
    });
    nsp.on("ask-all", |s, (): (), ack| async move {
        // Node: `await nsp.timeout(1000).emitWithAck("ask")`, the first argument of each answer.
        let all = s.namespace().timeout(Duration::from_millis(1000));
        let mut flat = match all.emit_with_ack_as::<Value>("ask", ()).await {
            Ok(answers) => answers,
            Err(socketio::server::AckError::Timeout(partial)) => {
                partial.into_iter().filter_map(|a| a.into_iter().next()).collect()
            }
            Err(_) => Vec::new(),
        };
        flat.sort_by_key(|v| v.to_string());
        if let Some(ack) = ack {
            let _ = ack.send((flat,));
        }
    });
    let node = node.clone();
    nsp.on("whoami", move |s, (): (), ack| {
        let node = node.clone();
        async move {
            let info = serde_json::json!({
                "id": s.id(),
                "node": node,
                "rooms": sorted(s.rooms().into_iter().map(|r| r.to_string()).collect()),
                "recovered": s.recovered(),
                "transport": s.transport().as_str(),
            });
            if let Some(ack) = ack {
                let _ = ack.send((info,));
            }
        }
    });
    nsp.on("set-data", |s, (value,): (Value,), ack| async move {
        let _ = s.set_data(&value);
        if let Some(ack) = ack {
            let _ = ack.send("ok");
        }
    });
    nsp.on("volatile", |s, args: Vec<Value>, _| async move {
        let _ = s.volatile().emit("volatile-back", args);
    });
    nsp.on("disconnect-me", |s, (close,): (Option<bool>,), _| async move {
        s.disconnect(close.unwrap_or(false));
    });
}

/// The first argument of `args` when it is a room name (a string), taken out.
fn take_room(args: &mut Vec<Value>) -> Option<String> {
    match args.first() {
        Some(Value::String(_)) => match args.remove(0) {
            Value::String(room) => Some(room),
            _ => None,
        },
        _ => None,
    }
}

/// Beyond the shared contract, the `/porting` namespace of the conformance's porting tests: what a Node
/// app ported line by line does, side by side with Node's twin (`conformance/apps/reference.mjs`).
/// - `join(room)` joins, as in the shared contract;
/// - `greet(name?, times?)` answers `hello NAME xTIMES` (`stranger`, 1 when missing; extra arguments
///   ignored), a typed handler called with fewer or more arguments than it names;
/// - on connection, `welcome` with one plain argument (`emit("welcome", "hi")`);
/// - `to-rooms(rooms, text)` emits `room-msg` to several rooms at once, except the room `muted`;
/// - `count-all()` asks every socket of the namespace `count` and answers the first argument of each
///   answer, sorted (typed broadcast acks);
/// - `on("disconnecting")` tells the others `leaving(id, rooms)` while the rooms are still there;
/// - `on("disconnect")` emits on the disconnected socket (nothing happens, nothing fails) and tells
///   the others `gone(id, reason, emitted)`.
fn porting(nsp: &Namespace) {
    nsp.on_connection(|s: Socket| async move {
        let _ = s.emit("welcome", "hi");
    });
    nsp.on("greet", |_, (name, times): (Option<String>, Option<u32>), ack| async move {
        if let Some(ack) = ack {
            let _ =
                ack.send(format!("hello {} x{}", name.as_deref().unwrap_or("stranger"), times.unwrap_or(1)));
        }
    });
    nsp.on("join", |s, (room,): (String,), ack| async move {
        s.join(room);
        if let Some(ack) = ack {
            let _ = ack.send("ok");
        }
    });
    nsp.on("to-rooms", |s, (rooms, text): (Vec<String>, String), _| async move {
        let _ = s.namespace().to(rooms).except("muted").emit("room-msg", text);
    });
    nsp.on("count-all", |s, (): (), ack| async move {
        let all = s.namespace().timeout(Duration::from_secs(1));
        let mut counts: Vec<u32> = match all.emit_with_ack_as("count", ()).await {
            Ok(counts) => counts,
            // After the timeout, the answers that came (Node: `err.responses`).
            Err(socketio::server::AckError::Timeout(partial)) => partial
                .into_iter()
                .filter_map(|a| a.into_iter().next().and_then(|v| socketio::parser::from_value(v).ok()))
                .collect(),
            Err(_) => Vec::new(),
        };
        counts.sort();
        if let Some(ack) = ack {
            let _ = ack.send((counts,));
        }
    });
    nsp.on("disconnecting", |s, (): (), _| async move {
        let rooms = sorted(s.rooms().into_iter().map(|r| r.to_string()).collect());
        let _ = s.broadcast().emit("leaving", (s.id(), rooms));
    });
    nsp.on("disconnect", |s, (reason,): (String,), _| async move {
        let emitted = s.emit("too-late", ()).is_ok();
        let _ = s.namespace().emit("gone", (s.id(), reason, emitted));
    });
}

#[tokio::main]
async fn main() {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("reference: {e}");
            std::process::exit(2);
        }
    };
    let mut config = options.config;
    if options.adapter.starts_with("redis") {
        config.adapter = redis_adapter(&options.adapter, options.stream_count).await;
    } else if options.adapter.starts_with("postgres://") {
        config.adapter = postgres_adapter(&options.adapter).await;
    }
    let io = SocketIo::new(config);
    setup(&io.of("/"), options.node_name.clone());
    setup(&io.of("/custom"), options.node_name.clone());
    let dynamic = match io.of_regex(r"^/dyn-[a-z0-9]+$") {
        Ok(nsp) => nsp,
        Err(e) => {
            eprintln!("reference: {e}");
            std::process::exit(1);
        }
    };
    setup(&dynamic, options.node_name.clone());
    porting(&io.of("/porting"));
    if options.admin_ui {
        let auth = match options.admin_auth.clone() {
            None => AdminAuth::None,
            Some((user, hash)) => AdminAuth::basic(user, hash).unwrap_or_else(|e| {
                eprintln!("reference: --admin-auth: {e}");
                std::process::exit(1);
            }),
        };
        let mut admin = AdminOptions::new(auth);
        admin.server_id = Some(options.node_name.clone());
        if let Some(url) = &options.admin_store {
            admin.store = admin_store(url).await;
        }
        if let Err(e) = instrument(&io, admin) {
            eprintln!("reference: {e}");
            std::process::exit(1);
        }
        io.of("/admin").adapter().ready().await;
    }
    // Subscribed to the bus before accepting clients.
    io.sockets().adapter().ready().await;
    io.of("/custom").adapter().ready().await;
    let addr = SocketAddr::from(([127, 0, 0, 1], options.port));
    let server = match io.listen(addr).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("reference: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    let _v6 = io.listen(SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, server.local_addr().port()))).await;
    println!("listening on {}", server.local_addr().port());
    shutdown_signal().await;
    io.drain(options.drain).await;
}

#[cfg(feature = "postgres")]
async fn postgres_adapter(url: &str) -> socketio::adapter::AdapterFactory {
    match socketio::adapter::postgres::PostgresBus::connect(url, Default::default()).await {
        Ok(bus) => bus.factory(),
        Err(e) => {
            eprintln!("reference: cannot connect to {url}: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(not(feature = "postgres"))]
async fn postgres_adapter(url: &str) -> socketio::adapter::AdapterFactory {
    eprintln!("reference: {url} needs the postgres feature (cargo run -p socketio --features postgres --example reference)");
    std::process::exit(2);
}

/// `redis://` (classic pub/sub), `redis-streams://` (streams, with recovery across nodes) or
/// `redis-sharded://` (Redis 7 sharded pub/sub); the streams spread the namespaces over `stream_count`
/// streams.
#[cfg(feature = "redis")]
async fn redis_adapter(url: &str, stream_count: u32) -> socketio::adapter::AdapterFactory {
    use socketio::adapter::{
        redis::RedisBus,
        redis_sharded::ShardedRedisBus,
        redis_streams::{RedisStreamsBus, RedisStreamsConfig},
    };
    let (scheme, rest) = url.split_once("://").unwrap_or(("redis", url));
    let plain = format!("redis://{rest}");
    let factory = match scheme {
        "redis-streams" => {
            let config = RedisStreamsConfig { stream_count, ..Default::default() };
            RedisStreamsBus::connect(&plain, config).await.map(|bus| bus.factory())
        }
        "redis-sharded" => {
            ShardedRedisBus::connect(&plain, Default::default()).await.map(|bus| bus.factory())
        }
        _ => RedisBus::connect(&plain, Default::default()).await.map(|bus| bus.factory()),
    };
    match factory {
        Ok(factory) => factory,
        Err(e) => {
            eprintln!("reference: cannot connect to {url}: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(not(feature = "redis"))]
async fn redis_adapter(url: &str, _stream_count: u32) -> socketio::adapter::AdapterFactory {
    eprintln!("reference: {url} needs the redis feature (cargo run -p socketio --features redis --example reference)");
    std::process::exit(2);
}

/// The admin UI's session store for `--admin-store redis://...`.
#[cfg(feature = "redis")]
async fn admin_store(url: &str) -> std::sync::Arc<dyn socketio::admin::AdminSessionStore> {
    match socketio::admin::RedisStore::connect(url).await {
        Ok(store) => std::sync::Arc::new(store),
        Err(e) => {
            eprintln!("reference: cannot connect to {url}: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(not(feature = "redis"))]
async fn admin_store(url: &str) -> std::sync::Arc<dyn socketio::admin::AdminSessionStore> {
    eprintln!("reference: --admin-store {url} needs the redis feature");
    std::process::exit(2);
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
