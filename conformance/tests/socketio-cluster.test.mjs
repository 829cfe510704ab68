// Two servers on a bus — Redis (classic pub/sub, sharded pub/sub, or streams) or Postgres, both started
// for the run by `cargo xtask conformance` (see REDIS_ADDR in lib/harness.mjs) — with official socket.io-client 4.8 sockets spread over them: Rust +
// Rust, and Rust + Node with the official @socket.io/redis-adapter 8.3 (createAdapter,
// createShardedAdapter), @socket.io/redis-streams-adapter 0.3 / @socket.io/postgres-adapter 0.5, each
// operation started from either side. Clusters run one after another: they share the default channel
// prefix (and the streams ones the stream `socket.io`).
//
// On a Redis Cluster of three primaries (REDIS_CLUSTER_SEEDS), the sharded and the streams buses run
// three servers, Rust + Rust + Node and Node + Node + Rust, each given the seed list starting from a
// different node (the Node ones through node-redis `createCluster({ rootNodes })`); the sockets of a
// scenario are on the first and the last server, the middle one answers the cluster's requests. The
// namespace channels hash to slots on every primary (`socket.io#/#` on the third, `socket.io#/custom#`
// on the second, the dynamic namespaces' anywhere), and the streams bus spreads the namespaces over
// four streams (`--stream-count 4`: `socket.io-0` and `-1` on the first primary, `-2` on the second,
// `-3` on the third).
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import {
  startServer,
  waitFor,
  notWithin,
  eventually,
  TARGET,
  REDIS_ADDR,
  POSTGRES_URL,
  REDIS_CLUSTER_SEEDS,
} from "../lib/harness.mjs";
import { clientFactory, norm, ack } from "../lib/sio.mjs";
import { Emitter } from "@socket.io/redis-emitter";
import { createClient, createCluster } from "redis";

const REDIS = `redis://${REDIS_ADDR}`;
/**
 * The streams spread over on the Redis Cluster (`streamCount`). The Node adapter 0.3.1 writes a
 * namespace whose hash (Java's String.hashCode, as 32-bit JS) is negative to `socket.io--K` (a negative
 * remainder), which no Node node reads: it polls `socket.io-0` to `socket.io-3` only. The Rust bus
 * writes the same stream names, and reads each namespace's own, so such a namespace works from Node to
 * Rust but not from Rust or Node to Node. The scenarios use namespaces whose hash is not negative.
 */
const STREAM_COUNT = 4;
/** Java's String.hashCode in 32-bit JS integers, as the streams adapter computes it. */
function hashCode(text) {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (hash * 31 + text.charCodeAt(i)) | 0;
  return hash;
}
/** The cluster's seed list for its `i`-th server: every seed, starting from a different one. */
const seedsFor = (i) => REDIS_CLUSTER_SEEDS.map((_, k) => REDIS_CLUSTER_SEEDS[(i + k) % REDIS_CLUSTER_SEEDS.length]).join(",");
/** Each bus: the adapter URL of the `i`-th server, and whether it is on the Redis Cluster. */
const BUSES = {
  Redis: { url: () => REDIS },
  "Redis sharded": { url: () => `redis-sharded://${REDIS_ADDR}` },
  "Redis Streams": { url: () => `redis-streams://${REDIS_ADDR}` },
  Postgres: { url: () => POSTGRES_URL },
  "Redis Cluster sharded": { url: (i) => `redis-sharded://${seedsFor(i)}`, cluster: true },
  "Redis Cluster Streams": { url: (i) => `redis-streams://${seedsFor(i)}`, cluster: true },
};
const TOPOLOGIES = {
  "Rust + Rust": [TARGET, TARGET],
  "Rust + Node": [TARGET, "node"],
  "Node + Rust": ["node", TARGET],
};
const CLUSTER_TOPOLOGIES = {
  "Rust + Rust + Node": [TARGET, TARGET, "node"],
  "Node + Node + Rust": ["node", "node", TARGET],
};

for (const [bus, { url, cluster }] of Object.entries(BUSES))
for (const [name, kinds] of Object.entries(cluster ? CLUSTER_TOPOLOGIES : TOPOLOGIES)) {
  const skip = cluster && REDIS_CLUSTER_SEEDS.length === 0 ? "no Redis Cluster (CONFORMANCE_REDIS_CLUSTER)" : false;
  const sharded = bus.endsWith("sharded");
  const streams = bus.endsWith("Streams");
  describe(`${bus} · ${name}`, { skip }, () => {
    let servers;
    /** The client factories of the servers the scenario's sockets use: the first and the last. */
    let factories;
    /** The client factories of the servers in between. */
    let middle;
    before(async () => {
      servers = [];
      for (const [i, kind] of kinds.entries()) {
        const recovery = streams ? ["--recovery-ms", "60000"] : [];
        const spread = cluster && streams ? ["--stream-count", String(STREAM_COUNT)] : [];
        servers.push(await startServer(kind, ["--adapter", url(i), "--node-name", `n${i}`, ...recovery, ...spread]));
      }
      factories = [servers[0], servers.at(-1)].map((s) => clientFactory(s, "websocket", "json"));
      middle = servers.slice(1, -1).map((s) => clientFactory(s, "websocket", "json"));
    });
    after(async () => {
      await Promise.all(servers.map((s) => s.stop()));
    });
    afterEach(() => [...factories, ...middle].forEach((f) => f.closeAll()));
    // With recovery on (the streams clusters), each broadcast event ends with its offset: drop it.
    const recv = (socket, event) =>
      waitFor(socket, event).then((args) =>
        streams && /^[0-9]+-[0-9]+$/.test(args.at(-1)) ? args.slice(0, -1) : args,
      );

    /** A namespace of its own for a scenario (on the cluster streams, one whose hash is not negative). */
    let unique = 0;
    function freshNamespace(kind) {
      for (;;) {
        const nsp = `/dyn-${kind}${process.pid}x${++unique}`;
        if (!(cluster && streams) || hashCode(nsp) >= 0) return nsp;
      }
    }

    /** One socket on each of the first and the last node, in a fresh namespace. */
    async function pair() {
      const nsp = freshNamespace("c");
      // The servers in between get the namespace too (a socket that comes and goes), so that they
      // answer its requests.
      for (const f of middle) (await f.connect(nsp)).disconnect();
      const [a, b] = await Promise.all(factories.map((f) => f.connect(nsp)));
      // Both nodes know the namespace (a dynamic child is created on first connection). On Postgres the
      // nodes of a new namespace learn of each other from heartbeats: within one 5 s interval at worst
      // (a node may miss the answers to its first heartbeat while its LISTEN is not yet in place).
      await eventually(async () => assert.deepEqual((await ack(a, "fetch-sockets"))[0], [a.id, b.id].sort()), 8000);
      return [a, b];
    }

    it("broadcast from either node reaches both, binary included", async () => {
      const [a, b] = await pair();
      for (const [from, label] of [[a, "from a"], [b, "from b"]]) {
        const got = Promise.all([recv(a, "bcast"), recv(b, "bcast")]);
        from.emit("broadcast", label, Buffer.from([1, 2, 3]));
        for (const args of await got) assert.deepEqual(norm(args), norm([label, Buffer.from([1, 2, 3])]));
      }
    });

    it("payloads over 8000 bytes cross the bus both ways", async () => {
      const [a, b] = await pair();
      for (const [from, label] of [[a, "a"], [b, "b"]]) {
        const big = label.repeat(12000);
        const got = Promise.all([recv(a, "bcast"), recv(b, "bcast")]);
        from.emit("broadcast", big, { nested: [big] });
        for (const args of await got) assert.deepEqual(args, [big, { nested: [big] }]);
      }
    });

    it("a client recovers its session on the other node", { skip: !streams }, async () => {
      const nsp = freshNamespace("r");
      const a = await factories[0].connect(nsp, { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200 });
      const b = await factories[1].connect(nsp);
      await eventually(async () => assert.deepEqual((await ack(a, "fetch-sockets"))[0], [a.id, b.id].sort()), 8000);
      await ack(a, "join", "kept");
      await ack(a, "set-data", { kept: true });
      const id = a.id;
      const missed = [];
      a.on("room-msg", (...args) => missed.push(["room-msg", ...args]));
      a.on("bcast", (...args) => missed.push(["bcast", ...args]));
      // Seen before the drop: the offset the client will present.
      const seen = recv(a, "bcast");
      b.emit("broadcast", "seen");
      await seen;
      missed.length = 0;
      // The client comes back to the other node.
      a.io.uri = servers.at(-1).url;
      const down = waitFor(a, "disconnect");
      a.io.engine.close();
      await down;
      b.emit("to-room", "kept", "missed 1", Buffer.from([1]));
      b.emit("broadcast", "missed 2");
      b.emit("to-room", "elsewhere", "not for a");
      assert.deepEqual(await ack(b, "echo", "sync"), ["sync"]);
      await waitFor(a, "connect", 5000);
      assert.equal(a.recovered, true);
      assert.equal(a.id, id);
      const [me] = await ack(a, "whoami");
      assert.equal(me.node, `n${servers.length - 1}`);
      assert.equal(me.recovered, true);
      assert.deepEqual(me.rooms, [id, "kept"].sort());
      await eventually(() => assert.equal(missed.length, 2));
      for (const event of missed) assert.match(event.pop(), /^[0-9]+-[0-9]+$/);
      assert.deepEqual(norm(missed), norm([["room-msg", "missed 1", Buffer.from([1])], ["bcast", "missed 2"]]));
    });

    /**
     * With sharded pub/sub, a node subscribes a room's own channel when the room appears there, and the
     * subscription completes after the join (in the Node adapter too): wait until `nodes` nodes listen.
     */
    async function roomChannelReady(nsp, room, nodes) {
      if (!sharded) return;
      const channel = `socket.io#${nsp}#${room}#`;
      // On a cluster, the node of the channel's slot counts its subscribers.
      const redis = cluster
        ? createCluster({ rootNodes: REDIS_CLUSTER_SEEDS.map((a) => ({ url: `redis://${a}` })) })
        : createClient({ url: REDIS });
      await redis.connect();
      const ask = (args) => (cluster ? redis.sendCommand(channel, true, args) : redis.sendCommand(args));
      try {
        await eventually(async () => {
          const [, count] = await ask(["PUBSUB", "SHARDNUMSUB", channel]);
          assert.equal(Number(count), nodes);
        });
      } finally {
        await redis.quit();
      }
    }

    it("room broadcast and except-me across nodes", async () => {
      const [a, b] = await pair();
      await ack(b, "join", "r");
      await roomChannelReady(a.nsp, "r", 1);
      const quiet = notWithin(a, "room-msg", 400);
      const got = recv(b, "room-msg");
      a.emit("to-room", "r", "to the room");
      assert.deepEqual(await got, ["to the room"]);
      await quiet;
      await ack(a, "join", "r");
      await roomChannelReady(a.nsp, "r", 2);
      const quietB = notWithin(b, "room-msg", 400);
      const gotA = recv(a, "room-msg");
      b.emit("to-room-except-me", "r", "not me");
      assert.deepEqual(await gotA, ["not me"]);
      await quietB;
    });

    it("fetchSockets, socketsJoin and socketsLeave span the cluster", async () => {
      const [a, b] = await pair();
      const [ids] = await ack(b, "fetch-sockets");
      assert.deepEqual(ids, [a.id, b.id].sort());
      await ack(b, "join", "source");
      assert.deepEqual(await ack(a, "sockets-join", "dest", "source"), ["ok"]);
      await eventually(async () => assert.deepEqual((await ack(b, "whoami"))[0].rooms, [b.id, "dest", "source"].sort()));
      // socketsLeave from the other side.
      assert.deepEqual(await ack(b, "sockets-leave", "dest", "source"), ["ok"]);
      await eventually(async () => assert.deepEqual((await ack(b, "whoami"))[0].rooms, [b.id, "source"].sort()));
      await ack(a, "join", "source");
      assert.deepEqual(await ack(a, "sockets-leave", "source", "source"), ["ok"]);
      await eventually(async () => assert.deepEqual((await ack(b, "whoami"))[0].rooms, [b.id]));
      await eventually(async () => assert.deepEqual((await ack(a, "whoami"))[0].rooms, [a.id]));
    });

    it("broadcast with acks collects both nodes' answers", async () => {
      const [a, b] = await pair();
      a.on("ask", (cb) => cb("answer a"));
      b.on("ask", (cb) => cb("answer b"));
      for (const from of [a, b]) {
        const [answers] = await ack(from, "ask-all");
        assert.deepEqual(answers, ["answer a", "answer b"]);
      }
    });

    it("serverSideEmit reaches the other node only", async () => {
      // In a static namespace: the reference server calls a dynamic parent's listeners for its own
      // events only, not for server-side events arriving at a child.
      const [a, b] = await Promise.all(factories.map((f) => f.connect("/custom")));
      for (const [from, other] of [[a, b], [b, a]]) {
        const quiet = notWithin(from, "relayed", 400);
        const got = recv(other, "relayed");
        from.emit("server-side-emit", "hello", 1);
        assert.deepEqual(await got, ["hello", 1]);
        await quiet;
      }
    });

    it("the official @socket.io/redis-emitter reaches both nodes", { skip: bus !== "Redis" }, async () => {
      const redis = createClient({ url: REDIS });
      await redis.connect();
      try {
        const [a, b] = await pair();
        const nsp = a.nsp;
        const emitter = new Emitter(redis).of(nsp);
        const got = Promise.all([recv(a, "from-emitter"), recv(b, "from-emitter")]);
        emitter.emit("from-emitter", "hi", Buffer.from([7]));
        for (const args of await got) assert.deepEqual(norm(args), norm(["hi", Buffer.from([7])]));
        // Rooms, then socketsJoin: the join and the room broadcast after it arrive in order.
        await ack(b, "join", "r");
        const quiet = notWithin(a, "room-msg", 400);
        const gotB = recv(b, "room-msg");
        emitter.to("r").emit("room-msg", "emitted to r");
        assert.deepEqual(await gotB, ["emitted to r"]);
        await quiet;
        emitter.in("r").socketsJoin("r2");
        await eventually(async () => assert.deepEqual((await ack(b, "whoami"))[0].rooms, [b.id, "r", "r2"].sort()));
        const gone = waitFor(b, "disconnect");
        emitter.in("r2").disconnectSockets();
        assert.equal((await gone)[0], "io server disconnect");
      } finally {
        await redis.quit();
      }
    });

    it("disconnectSockets across nodes", async () => {
      const [a, b] = await pair();
      await ack(b, "join", "doomed");
      const gone = waitFor(b, "disconnect");
      const quiet = notWithin(a, "disconnect", 400);
      a.emit("disconnect-room", "doomed");
      assert.equal((await gone)[0], "io server disconnect");
      await quiet;
    });
  });
}
