//! Two (or more) Socket.IO nodes on one Redis, in one process, on a range of ports: a client on any
//! port reaches the clients of every port.
//!
//! ```sh
//! cargo run -p socketio --features redis --example cluster -- --ports 3000-3001 --redis redis://127.0.0.1:6379
//! ```
//!
//! Each node answers `message` (text) by broadcasting `message` (node, text) to every socket of the
//! cluster, and `nodes` (with an ack) by asking every other node for its name with a server-side emit.
//! Node.js servers on `@socket.io/redis-adapter` with the same Redis join the same cluster.

use socketio::adapter::redis::RedisBus;
use socketio::prelude::*;

struct Options {
    ports: std::ops::RangeInclusive<u16>,
    redis: String,
}

fn options() -> Result<Options, String> {
    let mut options = Options { ports: 3000..=3001, redis: "redis://127.0.0.1:6379".into() };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--ports" => {
                let (first, last) = value.split_once('-').unwrap_or((&value, &value));
                let parse = |p: &str| p.parse::<u16>().map_err(|e| format!("--ports {value}: {e}"));
                options.ports = parse(first)?..=parse(last)?;
            }
            "--redis" => options.redis = value,
            _ => return Err(format!("unknown option {arg} (--ports A-B, --redis URL)")),
        }
    }
    if options.ports.is_empty() {
        return Err("--ports: an empty range".into());
    }
    Ok(options)
}

async fn node(port: u16, redis: &str) -> Result<SocketIo, Box<dyn std::error::Error>> {
    let name = format!("node-{port}");
    let bus = RedisBus::connect(redis, Default::default()).await?;
    let io = SocketIo::new(ServerConfig { adapter: bus.factory(), ..ServerConfig::default() });
    let reply_name = name.clone();
    io.on_server_event("who", move |_args, ack| {
        let name = reply_name.clone();
        async move {
            if let Some(ack) = ack {
                let _ = ack.send(&name);
            }
        }
    });
    let handler_io = io.clone();
    io.on_connection(move |socket| {
        let (io, name) = (handler_io.clone(), name.clone());
        async move {
            println!("{name}: {} connected", socket.id());
            socket.on("message", {
                let name = name.clone();
                move |socket, (text,): (String,), _ack| {
                    let name = name.clone();
                    async move {
                        // Every socket of the cluster, whichever node it is on.
                        let _ = socket.namespace().emit("message", (name, text));
                    }
                }
            });
            socket.on("nodes", move |_socket, _: Vec<Value>, ack| {
                let (io, name) = (io.clone(), name.clone());
                async move {
                    let others = io.server_side_emit_with_ack("who", ()).await.unwrap_or_default();
                    let mut all = vec![Value::from(name)];
                    all.extend(others);
                    if let Some(ack) = ack {
                        let _ = ack.send((all,));
                    }
                }
            });
        }
    });
    io.sockets().adapter().ready().await;
    io.listen(([127, 0, 0, 1], port).into()).await?;
    println!("node-{port}: listening on http://127.0.0.1:{port}");
    Ok(io)
}

#[tokio::main]
async fn main() {
    let options = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("cluster: {e}");
            std::process::exit(2);
        }
    };
    let mut nodes = Vec::new();
    for port in options.ports.clone() {
        match node(port, &options.redis).await {
            Ok(io) => nodes.push(io),
            Err(e) => {
                eprintln!("cluster: node on port {port}: {e}");
                std::process::exit(1);
            }
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    for io in nodes {
        io.close().await;
    }
}
