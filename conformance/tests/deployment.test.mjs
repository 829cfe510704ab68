// A deployment as the manual's "Deployment" chapter describes it: three reference-app nodes on Redis
// Streams (with connection state recovery) behind HAProxy from the distribution, with cookie-based
// sticky sessions, driven by the official socket.io-client 4.8 over polling, websocket and upgrade.
// HAProxy runs with conformance/deploy/haproxy.cfg, the file the manual quotes, its placeholders filled
// with the ports of this run.
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { io } from "socket.io-client";
import { startServer, waitFor, eventually, TARGET, REDIS_ADDR } from "../lib/harness.mjs";
import { TRANSPORTS, ack } from "../lib/sio.mjs";

const CONFIG = new URL("../deploy/haproxy.cfg", import.meta.url);
const OFFSET = /^[0-9]+-[0-9]+$/;
/** Debian's HAProxy (`apt-get install haproxy`; `.ci/run` installs it), in /usr/sbin off root's PATH. */
const HAPROXY = process.env.HAPROXY ?? (existsSync("/usr/sbin/haproxy") ? "/usr/sbin/haproxy" : "haproxy");

/** A port that nothing listens on now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts TCP connections on `port`. */
function accepting(port) {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Starts `haproxy -db` (in the foreground, as a child) with the repository's configuration in front of
 * `nodes`; `edit` may change the configuration text first. Resolves once it accepts connections.
 */
async function startHaproxy(nodes, edit = (text) => text) {
  const dir = await mkdtemp(join(tmpdir(), "haproxy-"));
  const port = await freePort();
  let text = (await readFile(CONFIG, "utf8")).replaceAll("{{PORT}}", String(port));
  nodes.forEach((node, i) => {
    text = text.replaceAll(`{{NODE${i + 1}}}`, `127.0.0.1:${node.port}`);
  });
  const cfg = join(dir, "haproxy.cfg");
  await writeFile(cfg, edit(text));
  const child = spawn(HAPROXY, ["-f", cfg, "-db"], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  let gone = false;
  exited.then(() => {
    gone = true;
  });
  await eventually(async () => {
    if (gone) throw new Error(`haproxy exited: ${stderr}`);
    return accepting(port);
  }, 5000, "haproxy listening");
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (!gone) child.kill("SIGTERM");
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The listed transports; the keys of TRANSPORTS. */
const KINDS = Object.keys(TRANSPORTS);

describe("three nodes on Redis Streams behind HAProxy", () => {
  let nodes;
  let proxy;
  const sockets = [];
  before(async () => {
    nodes = [];
    for (const name of ["n1", "n2", "n3"]) {
      const flags = ["--adapter", `redis-streams://${REDIS_ADDR}`, "--recovery-ms", "60000", "--node-name", name];
      nodes.push(await startServer(TARGET, flags));
    }
    proxy = await startHaproxy(nodes);
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all((nodes ?? []).map((n) => n.stop()));
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) {
      s.io.opts.reconnection = false;
      s.io._reconnection = false;
      s.disconnect();
    }
  });

  /**
   * A client through `base` (the proxy by default) on `transport`. In Node, engine.io-client keeps the
   * cookies it is given (here HAProxy's SERVERID) when `withCredentials` is set, as a browser would.
   */
  function client(transport, opts = {}, base = proxy.url) {
    const socket = io(`${base}/`, {
      forceNew: true,
      reconnection: false,
      withCredentials: true,
      ...TRANSPORTS[transport],
      ...opts,
    });
    sockets.push(socket);
    return socket;
  }

  async function connected(transport, opts) {
    const socket = client(transport, opts);
    await waitFor(socket, "connect");
    if (transport === "polling→websocket" && socket.io.engine.transport.name !== "websocket") {
      await waitFor(socket.io.engine, "upgrade");
    }
    return socket;
  }

  const whoami = async (socket) => (await ack(socket, "whoami"))[0];

  for (const transport of KINDS) {
    it(`every request of a session reaches one node (${transport})`, async () => {
      const seen = new Set();
      for (let i = 0; i < 6; i++) {
        const socket = await connected(transport);
        const failed = waitFor(socket, "disconnect", 60000).then(([reason]) => {
          throw new Error(`disconnected: ${reason}`);
        });
        const first = await whoami(socket);
        assert.equal(first.id, socket.id);
        seen.add(first.node);
        // Each ack over polling is a POST and a GET: were one sent elsewhere, the session would fail.
        for (let j = 0; j < 10; j++) {
          const me = await Promise.race([whoami(socket), failed]);
          assert.equal(me.node, first.node);
          assert.equal(me.id, socket.id);
        }
        if (transport !== "polling") assert.equal(socket.io.engine.transport.name, "websocket");
      }
      // Round robin spread the sessions: stickiness is per session, not one node for everyone.
      assert.equal(seen.size, 3, `sessions went to ${[...seen]}`);
    });
  }

  /** Three clients of each transport, spread over the three nodes; resolves with [socket, node]s. */
  async function spread(opts = {}) {
    const all = [];
    for (const transport of KINDS) {
      for (let i = 0; i < 3; i++) {
        const socket = await connected(transport, opts);
        all.push({ socket, transport, node: (await whoami(socket)).node });
      }
    }
    for (const transport of KINDS) {
      const nodesOf = new Set(all.filter((c) => c.transport === transport).map((c) => c.node));
      assert.equal(nodesOf.size, 3, `${transport} clients on ${[...nodesOf]}`);
    }
    return all;
  }

  /** The arguments of an event with recovery on, without the offset that ends them. */
  const strip = (args) => (OFFSET.test(args.at(-1)) ? args.slice(0, -1) : args);

  it("broadcasts and rooms reach the clients of every node", async () => {
    const all = await spread();
    const room = `room-${process.pid}-b`;
    const members = all.filter((_, i) => i % 2 === 0);
    for (const { socket } of members) await ack(socket, "join", room);
    // A broadcast from each node reaches everyone.
    for (const from of [0, 1, 2].map((n) => all.find((c) => c.node === `n${n + 1}`))) {
      const got = Promise.all(all.map(({ socket }) => waitFor(socket, "bcast")));
      from.socket.emit("broadcast", `from ${from.node}`);
      for (const args of await got) assert.deepEqual(strip(args), [`from ${from.node}`]);
    }
    // A room's members on every node, and nobody else.
    const others = all.filter((c) => !members.includes(c));
    const strays = [];
    for (const { socket } of others) socket.on("room-msg", (...args) => strays.push(args));
    const got = Promise.all(members.map(({ socket }) => waitFor(socket, "room-msg")));
    others[0].socket.emit("to-room", room, "to the room");
    for (const args of await got) assert.deepEqual(strip(args), ["to the room"]);
    assert.ok(new Set(members.map((c) => c.node)).size === 3);
    // The same sender's next broadcast arrives after the room message would have.
    const sync = Promise.all(others.map(({ socket }) => waitFor(socket, "bcast")));
    others[0].socket.emit("broadcast", "sync");
    await sync;
    assert.deepEqual(strays, []);
  });

  // Last: it takes a node away.
  it("a node drains on SIGTERM: its clients reconnect to the others and recover, nothing is lost", async () => {
    const fast = { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 300 };
    const all = await spread(fast);
    const room = `room-${process.pid}-d`;
    for (const { socket } of all) await ack(socket, "join", room);
    const victim = all[0].node;
    const moving = all.filter((c) => c.node === victim);
    const sender = all.find((c) => c.node !== victim).socket;
    const received = all.map(({ socket }) => {
      const got = [];
      socket.on("room-msg", (...args) => got.push(strip(args)[0]));
      return got;
    });
    const ids = all.map(({ socket }) => socket.id);
    let sent = 0;
    const send = () => sender.emit("to-room", room, ++sent);
    // Every client has an offset to present: the first message reached everyone.
    send();
    await eventually(() => received.every((got) => got.length === 1));
    const reasons = Promise.all(moving.map(({ socket }) => waitFor(socket, "disconnect", 10000)));
    const back = Promise.all(moving.map(({ socket }) => waitFor(socket, "connect", 10000)));
    // Messages keep coming while the node drains and its clients move.
    const ticker = setInterval(send, 20);
    try {
      await nodes[Number(victim.slice(1)) - 1].stop("SIGTERM");
      // A lost connection, not `io server disconnect`: the clients reconnect by themselves, at once.
      for (const [reason] of await reasons) assert.equal(reason, "transport close");
      await back;
    } finally {
      clearInterval(ticker);
    }
    send();
    // Everyone got every message, once, in order: the moved clients the missed ones on recovery.
    const expected = Array.from({ length: sent }, (_, i) => i + 1);
    await eventually(() => received.every((got) => got.length >= sent), 5000, "every message delivered");
    received.forEach((got, i) => assert.deepEqual(got, expected, `client ${i} (${all[i].transport} on ${all[i].node})`));
    for (const [i, c] of all.entries()) {
      const me = await whoami(c.socket);
      assert.equal(c.socket.id, ids[i]);
      assert.equal(me.id, ids[i]);
      assert.deepEqual(me.rooms, [ids[i], room].sort());
      if (moving.includes(c)) {
        assert.equal(c.socket.recovered, true, `${c.transport} client recovered`);
        assert.notEqual(me.node, victim);
        assert.equal(me.recovered, true);
      } else {
        assert.equal(me.node, c.node);
      }
    }
  });
});

describe("the same nodes behind HAProxy without sticky sessions", () => {
  let nodes;
  let proxy;
  const sockets = [];
  before(async () => {
    nodes = [];
    for (const name of ["n1", "n2", "n3"]) {
      nodes.push(await startServer(TARGET, ["--adapter", `redis-streams://${REDIS_ADDR}`, "--node-name", name]));
    }
    // The repository's configuration without its `cookie` lines.
    proxy = await startHaproxy(nodes, (text) =>
      text
        .split("\n")
        .filter((line) => !/^\s*cookie /.test(line))
        .map((line) => line.replace(/ cookie s[0-9]$/, ""))
        .join("\n"),
    );
  });
  after(async () => {
    for (const s of sockets.splice(0)) s.disconnect();
    await proxy?.stop();
    await Promise.all((nodes ?? []).map((n) => n.stop()));
  });

  it("polling clients fail with \"Session ID unknown\"", async () => {
    for (let i = 0; i < 3; i++) {
      const socket = io(`${proxy.url}/`, { forceNew: true, reconnection: false, transports: ["polling"] });
      sockets.push(socket);
      // The handshake reached one node, the next request another, which does not know the session.
      const [err] = await waitFor(socket, "connect_error");
      // Whichever of the GET and the POST of the CONNECT packet was refused first.
      assert.match(err.message, /^xhr (poll|post) error$/);
      assert.equal(err.description, 400);
      assert.equal(socket.connected, false);
    }
    // What the refused request was told, over raw HTTP: a handshake, then requests of its session that
    // the proxy spreads over the nodes.
    const handshake = await fetch(`${proxy.url}/socket.io/?EIO=4&transport=polling`);
    const { sid } = JSON.parse((await handshake.text()).slice(1));
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${proxy.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: "POST", body: "40" });
      answers.push(`${res.status} ${await res.text()}`);
    }
    assert.ok(answers.includes('400 {"code":1,"message":"Session ID unknown"}'), answers.join(", "));
  });

  it("websocket-only clients need no stickiness: one connection carries the session", async () => {
    for (let i = 0; i < 3; i++) {
      const socket = io(`${proxy.url}/`, { forceNew: true, reconnection: false, transports: ["websocket"] });
      sockets.push(socket);
      await waitFor(socket, "connect");
      for (let j = 0; j < 5; j++) assert.equal((await ack(socket, "whoami"))[0].id, socket.id);
    }
  });
});
