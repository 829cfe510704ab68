// The reference app of shared/reference-app.md on the official Node `socket.io` server: the twin of
// socketio/examples/reference.rs. Conformance runs drive it to check that the tests encode the reference
// server's behaviour, and later runs put it in mixed clusters and benchmarks.
//
//   node apps/reference.mjs --port 3000 [--parser msgpack] [--recovery-ms 5000] ...
//
// As the Rust app, `--adapter redis-sharded://A` and `redis-streams://A` take a Redis Cluster as the
// address of any one node or a comma-separated seed list (`redis-sharded://127.0.0.1:7000,127.0.0.1:7001`):
// then the adapters get a node-redis `createCluster({ rootNodes })` client. `--stream-count N` is the
// streams adapter's `streamCount`.
import { createServer } from "node:http";
import { Server } from "socket.io";

function parseArgs(argv) {
  const o = {
    port: Number(process.env.PORT ?? 3000),
    path: "/socket.io/",
    pingInterval: 25000,
    pingTimeout: 20000,
    connectTimeout: 45000,
    maxHttpBufferSize: 1e6,
    transports: ["polling", "websocket"],
    corsOrigin: "*",
    allowEIO3: false,
    parser: "json",
    adapter: "memory",
    streamCount: 1,
    recoveryMs: 0,
    nodeName: `node-${process.pid}`,
    adminUi: false,
    adminAuth: null,
    adminStore: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--port": o.port = Number(value()); break;
      case "--path": o.path = value(); break;
      case "--ping-interval": o.pingInterval = Number(value()); break;
      case "--ping-timeout": o.pingTimeout = Number(value()); break;
      case "--connect-timeout": o.connectTimeout = Number(value()); break;
      case "--max-payload": o.maxHttpBufferSize = Number(value()); break;
      case "--transports": o.transports = value().split(","); break;
      case "--cors-origin": o.corsOrigin = value(); break;
      case "--allow-eio3": o.allowEIO3 = true; break;
      case "--parser": o.parser = value(); break;
      case "--adapter": o.adapter = value(); break;
      case "--stream-count": o.streamCount = Number(value()); break;
      case "--recovery-ms": o.recoveryMs = Number(value()); break;
      case "--node-name": o.nodeName = value(); break;
      case "--admin-ui": o.adminUi = true; break;
      case "--admin-auth": {
        const v = value();
        const at = v.indexOf(":");
        o.adminAuth = { type: "basic", username: v.slice(0, at), password: v.slice(at + 1) };
        break;
      }
      case "--admin-store": o.adminStore = value(); break;
      default: throw new Error(`unknown flag ${flag}`);
    }
  }
  return o;
}

const sorted = (list) => [...list].sort();

function setup(nsp, o) {
  nsp.use((socket, next) => {
    const reject = socket.handshake.auth?.reject;
    if (typeof reject === "string") {
      const err = new Error(reject);
      err.data = { code: "rejected" };
      return next(err);
    }
    next();
  });
  nsp.on("connection", (socket) => {
    socket.emit("auth", socket.handshake.auth ?? {});
    socket.on("message", (...args) => socket.emit("message-back", ...args));
    for (const event of ["message-with-ack", "echo"]) {
      socket.on(event, (...args) => {
        const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
        ack?.(...args);
      });
    }
    socket.on("broadcast", (...args) => socket.nsp.emit("bcast", ...args));
    // The bench's `large`: `size` zero bytes (16 MiB at most) broadcast as a binary attachment.
    socket.on("large", (n, size) => socket.nsp.emit("bcast-large", n, Buffer.alloc(Math.min(Number(size) || 0, 16 << 20))));
    socket.on("join", (room, ack) => {
      socket.join(room);
      if (typeof ack === "function") ack("ok");
    });
    socket.on("leave", (room, ack) => {
      socket.leave(room);
      if (typeof ack === "function") ack("ok");
    });
    socket.on("to-room", (room, ...args) => socket.nsp.to(room).emit("room-msg", ...args));
    socket.on("to-room-except-me", (room, ...args) => socket.to(room).emit("room-msg", ...args));
    socket.on("fetch-sockets", async (ack) => {
      const sockets = await socket.nsp.fetchSockets();
      ack(sorted(sockets.map((s) => s.id)));
    });
    socket.on("sockets-join", (room, target, ack) => {
      socket.nsp.in(target).socketsJoin(room);
      if (typeof ack === "function") ack("ok");
    });
    // Beyond the shared contract: the counterpart of sockets-join, for the cluster conformance.
    socket.on("sockets-leave", (room, target, ack) => {
      socket.nsp.in(target).socketsLeave(room);
      if (typeof ack === "function") ack("ok");
    });
    socket.on("disconnect-room", (room) => socket.nsp.in(room).disconnectSockets(true));
    socket.on("server-side-emit", (...args) => socket.nsp.serverSideEmit("relay", ...args));
    socket.on("ask-all", async (ack) => {
      let answers;
      try {
        answers = await socket.nsp.timeout(1000).emitWithAck("ask");
      } catch (err) {
        answers = err.responses ?? [];
      }
      ack([...answers].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)));
    });
    socket.on("whoami", (ack) =>
      ack({
        id: socket.id,
        node: o.nodeName,
        rooms: sorted(socket.rooms),
        recovered: socket.recovered,
        transport: socket.conn.transport.name,
      }),
    );
    socket.on("set-data", (value, ack) => {
      socket.data = value;
      if (typeof ack === "function") ack("ok");
    });
    socket.on("volatile", (...args) => socket.volatile.emit("volatile-back", ...args));
    socket.on("disconnect-me", (close) => socket.disconnect(close === true));
  });
  nsp.on("relay", (...args) => nsp.local.emit("relayed", ...args));
}

// Beyond the shared contract: the /porting namespace of porting.test.mjs (the Rust twin's `porting`).
function porting(nsp) {
  nsp.on("connection", (socket) => {
    socket.emit("welcome", "hi");
    socket.on("greet", (...args) => {
      const ack = typeof args.at(-1) === "function" ? args.pop() : undefined;
      const [name, times] = args;
      ack?.(`hello ${name ?? "stranger"} x${times ?? 1}`);
    });
    socket.on("join", (room, ack) => {
      socket.join(room);
      ack?.("ok");
    });
    socket.on("to-rooms", (rooms, text) => socket.nsp.to(rooms).except("muted").emit("room-msg", text));
    socket.on("count-all", async (ack) => {
      let counts;
      try {
        counts = await socket.nsp.timeout(1000).emitWithAck("count");
      } catch (err) {
        counts = err.responses ?? [];
      }
      ack([...counts].sort((a, b) => a - b));
    });
    socket.on("disconnecting", () => socket.broadcast.emit("leaving", socket.id, sorted(socket.rooms)));
    socket.on("disconnect", (reason) => {
      const emitted = socket.emit("too-late");
      socket.nsp.emit("gone", socket.id, reason, emitted);
    });
  });
}

/** The name this process's Redis connections give themselves (CLIENT SETNAME), to find them in CLIENT LIST. */
const REDIS_CLIENT_NAME = `reference-node-${process.pid}`;

/**
 * A connected node-redis client for `addresses` (`host:port`, comma-separated): a cluster client
 * (`createCluster({ rootNodes })`) for several addresses or for one node of a Redis Cluster (it says
 * `cluster_enabled:1`), a plain one otherwise.
 */
async function redisClient(addresses) {
  const { createClient, createCluster } = await import("redis");
  const urls = addresses.split(",").filter(Boolean).map((a) => `redis://${a.trim()}`);
  const logged = (client) => {
    client.on("error", (err) => console.error(`reference (node): redis: ${err.message}`));
    return client;
  };
  let cluster = urls.length > 1;
  if (!cluster) {
    const probe = logged(createClient({ url: urls[0], name: REDIS_CLIENT_NAME }));
    await probe.connect();
    const info = await probe.sendCommand(["INFO", "cluster"]).catch(() => "");
    cluster = /^cluster_enabled:1/m.test(String(info));
    if (!cluster) return probe;
    await probe.quit();
  }
  const client = logged(
    createCluster({ rootNodes: urls.map((url) => ({ url })), defaults: { name: REDIS_CLIENT_NAME } }),
  );
  await client.connect();
  return client;
}

/**
 * Resolves once the streams adapter reads every stream from a known entry. Its readers (0.3.1) start
 * from `$` and keep `$` until they have read an entry, so an entry added before their first XREAD, or
 * between two reads that timed out, never reaches this node: a server that listened at once could miss
 * the first broadcasts of the other nodes. So: wait until each reader is blocked in XREAD (its
 * connection, named REDIS_CLIENT_NAME, shows `cmd=xread` in CLIENT LIST), then append to each stream one
 * entry without a namespace, which every node skips (Node and Rust) but which gives the reader an offset.
 */
async function streamsPolled(pub, streamCount) {
  const streams = streamCount === 1 ? ["socket.io"] : Array.from({ length: streamCount }, (_, i) => `socket.io-${i}`);
  const nodes = pub.masters ? await Promise.all(pub.masters.map((m) => pub.nodeClient(m))) : [pub];
  const deadline = Date.now() + 10_000;
  for (;;) {
    let reading = 0;
    for (const node of nodes) {
      const list = String(await node.sendCommand(["CLIENT", "LIST"]));
      reading += list.split("\n").filter((l) => l.includes(` name=${REDIS_CLIENT_NAME} `) && l.includes(" cmd=xread")).length;
    }
    if (reading >= streams.length) break;
    if (Date.now() > deadline) throw new Error(`the streams adapter reads ${reading} of ${streams.length} streams after 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  for (const stream of streams) await pub.xAdd(stream, "*", { warmup: REDIS_CLIENT_NAME });
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const options = {
    path: o.path,
    pingInterval: o.pingInterval,
    pingTimeout: o.pingTimeout,
    connectTimeout: o.connectTimeout,
    maxHttpBufferSize: o.maxHttpBufferSize,
    transports: o.transports,
    cors: { origin: o.corsOrigin },
    allowEIO3: o.allowEIO3,
  };
  if (o.parser === "msgpack") options.parser = (await import("socket.io-msgpack-parser")).default;
  if (o.recoveryMs > 0) {
    options.connectionStateRecovery = { maxDisconnectionDuration: o.recoveryMs, skipMiddlewares: true };
  }
  if (o.adapter.startsWith("redis://")) {
    const { createAdapter } = await import("@socket.io/redis-adapter");
    const { createClient } = await import("redis");
    const pub = createClient({ url: o.adapter });
    const sub = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect()]);
    options.adapter = createAdapter(pub, sub);
  } else if (o.adapter.startsWith("redis-streams://") || o.adapter.startsWith("redis-sharded://")) {
    const pub = await redisClient(o.adapter.replace(/^redis-[a-z]+:\/\//, ""));
    if (o.adapter.startsWith("redis-streams://")) {
      const { createAdapter } = await import("@socket.io/redis-streams-adapter");
      options.adapter = createAdapter(pub, { streamCount: o.streamCount });
      await streamsPolled(pub, o.streamCount);
    } else {
      const { createShardedAdapter } = await import("@socket.io/redis-adapter");
      const sub = pub.duplicate();
      sub.on("error", (err) => console.error(`reference (node): redis: ${err.message}`));
      await sub.connect();
      options.adapter = createShardedAdapter(pub, sub);
    }
  } else if (o.adapter.startsWith("postgres://")) {
    const { createAdapter } = await import("@socket.io/postgres-adapter");
    const pg = (await import("pg")).default;
    const pool = new pg.Pool({ connectionString: o.adapter });
    await pool.query(
      "CREATE TABLE IF NOT EXISTS socket_io_attachments (id bigserial UNIQUE, created_at timestamptz DEFAULT NOW(), payload bytea)",
    );
    options.adapter = createAdapter(pool);
  } else if (o.adapter !== "memory") {
    throw new Error(`adapter ${o.adapter} is not wired in the Node app yet`);
  }
  const http = createServer();
  const io = new Server(http, options);
  setup(io.of("/"), o);
  setup(io.of("/custom"), o);
  setup(io.of(/^\/dyn-[a-z0-9]+$/), o);
  porting(io.of("/porting"));
  if (o.adminUi) {
    const { instrument, RedisStore } = await import("@socket.io/admin-ui");
    const admin = { auth: o.adminAuth ?? false, mode: "development", serverId: o.nodeName };
    if (o.adminStore) {
      // The admin UI's RedisStore speaks the callback API of ioredis (or node-redis 3): node-redis 4,
      // even in legacy mode, refuses the boolean it stores.
      const { Redis } = await import("ioredis");
      admin.store = new RedisStore(new Redis(o.adminStore));
    }
    instrument(io, admin);
  }
  http.listen(o.port, "127.0.0.1", () => console.log(`listening on ${http.address().port}`));
  const stop = () => io.close(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((err) => {
  console.error(`reference (node): ${err.message}`);
  process.exit(2);
});
