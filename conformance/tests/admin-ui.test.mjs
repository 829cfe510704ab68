// The admin UI protocol (@socket.io/admin-ui 0.5): the official socket.io-client plays the UI on
// /admin of a reference app started with --admin-ui (no authentication, development mode), and real
// client sockets on / show what the UI sees and what its commands do. On a Redis cluster (Rust + Rust,
// Rust + Node and Node + Rust, both nodes instrumented), the UI connected to the first node sees the
// sockets and stats of both and its commands reach both.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { startServer, waitFor, eventually, TARGET, REDIS_ADDR } from "../lib/harness.mjs";
import { clientFactory, ack, PARSERS } from "../lib/sio.mjs";

const FEATURES = ["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"];

/** Records every event the admin socket receives, and waits for one that `match` accepts. */
function recorder(admin) {
  const seen = [];
  const waiters = [];
  admin.onAny((event, ...args) => {
    seen.push({ event, args });
    for (const w of waiters.splice(0)) {
      if (w.event === event && w.match(...args)) w.resolve(args);
      else waiters.push(w);
    }
  });
  const next = (event, match = () => true, ms = 5000) => {
    const found = seen.find((s) => s.event === event && match(...s.args));
    if (found) return Promise.resolve(found.args);
    return new Promise((resolve, reject) => {
      const w = { event, match, resolve };
      waiters.push(w);
      setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    });
  };
  return { seen, next };
}

const isDate = (ts) => !Number.isNaN(new Date(ts).getTime());

for (const parser of Object.keys(PARSERS)) {
  describe(`admin UI, ${parser}`, () => {
    it("config, all_sockets and server_stats", async () => {
      const server = await startServer(TARGET, ["--admin-ui", "--node-name", "node-a", ...PARSERS[parser].flags]);
      const clients = clientFactory(server, "polling→websocket", parser);
      try {
        const user = await clients.connect("/");
        const admin = clients.make("/admin", { auth: {} });
        const rec = recorder(admin);
        await waitFor(admin, "connect");
        const [config] = await rec.next("config");
        assert.deepEqual(config.supportedFeatures, FEATURES);
        const [all] = await rec.next("all_sockets");
        const listed = all.find((s) => s.id === user.id);
        assert.ok(listed, `the user socket is listed: ${JSON.stringify(all.map((s) => s.id))}`);
        assert.equal(listed.nsp, "/");
        assert.equal(listed.clientId, user.io.engine.id.slice(0, 12));
        assert.equal(listed.transport, "websocket");
        assert.ok(listed.rooms.includes(user.id));
        assert.equal(typeof listed.handshake.headers, "object");
        assert.equal(listed.handshake.query.EIO, "4");
        assert.equal(typeof listed.handshake.issued, "number");
        assert.equal(listed.handshake.auth, undefined);
        assert.ok(all.some((s) => s.nsp === "/admin" && s.id === admin.id), "the admin socket is listed too");

        const [stats] = await rec.next("server_stats", (s) => s.aggregatedEvents.some((e) => e.type === "rawConnection"));
        assert.equal(stats.serverId, "node-a");
        assert.equal(typeof stats.hostname, "string");
        assert.equal(typeof stats.pid, "number");
        assert.equal(typeof stats.uptime, "number");
        assert.ok(stats.clientsCount >= 2, `clientsCount ${stats.clientsCount}`);
        assert.equal(stats.pollingClientsCount, 0);
        const root = stats.namespaces.find((n) => n.name === "/");
        assert.equal(root.socketsCount, 1);
        assert.equal(stats.namespaces.find((n) => n.name === "/admin").socketsCount, 1);
        for (const e of stats.aggregatedEvents) {
          assert.ok(["rawConnection", "rawDisconnection", "packetsIn", "packetsOut", "bytesIn", "bytesOut"].includes(e.type), e.type);
          assert.equal(e.timestamp % 1000, 0);
          assert.ok(e.count > 0);
        }
        assert.ok(stats.aggregatedEvents.some((e) => e.type === "bytesOut"));
      } finally {
        clients.closeAll();
        await server.stop();
      }
    });

    it("socket, room and event notifications", async () => {
      const server = await startServer(TARGET, ["--admin-ui", ...PARSERS[parser].flags]);
      const clients = clientFactory(server, "polling→websocket", parser);
      try {
        const admin = clients.make("/admin", { auth: {} });
        const rec = recorder(admin);
        await waitFor(admin, "connect");
        await rec.next("all_sockets");

        const user = await clients.connect("/");
        const [serialized, at] = await rec.next("socket_connected", (s) => s.id === user.id);
        assert.equal(serialized.nsp, "/");
        assert.ok(isDate(at));
        const [nsp, room, id] = await rec.next("room_joined", (_n, r) => r === user.id);
        assert.deepEqual([nsp, room, id], ["/", user.id, user.id]);
        await rec.next("socket_updated", (u) => u.id === user.id && u.transport === "websocket");
        // The app greets every socket with `auth`: an outgoing event.
        const [, , sent, sentAt] = await rec.next("event_sent", (_n, sid, args) => sid === user.id && args[0] === "auth");
        assert.deepEqual(sent, ["auth", {}]);
        assert.ok(isDate(sentAt));

        assert.deepEqual(await ack(user, "echo", "hi", 2), ["hi", 2]);
        const [, , received] = await rec.next("event_received", (_n, sid, args) => sid === user.id && args[0] === "echo");
        assert.deepEqual(received, ["echo", "hi", 2]);

        await ack(user, "join", "lobby");
        await rec.next("room_joined", (n, r, sid) => n === "/" && r === "lobby" && sid === user.id);
        await ack(user, "set-data", { nick: "ann" });
        if (TARGET !== "node") {
          // Node only sees assignments inside socket.data, and its app replaces the whole object; in
          // Rust, set_data is the one way to change it, and it is reported.
          const [update] = await rec.next("socket_updated", (u) => u.id === user.id && u.data !== undefined);
          assert.equal(update.nsp, "/");
          assert.deepEqual(update.data, { nick: "ann" });
        }

        const userId = user.id;
        user.disconnect();
        const [dnsp, did, reason] = await rec.next("socket_disconnected", (_n, sid) => sid === userId);
        assert.deepEqual([dnsp, did, reason], ["/", userId, "client namespace disconnect"]);
        await rec.next("room_left", (n, r, sid) => n === "/" && r === "lobby" && sid === userId);
      } finally {
        clients.closeAll();
        await server.stop();
      }
    });

    it("commands: emit, join, leave, _disconnect", async () => {
      const server = await startServer(TARGET, ["--admin-ui", ...PARSERS[parser].flags]);
      const clients = clientFactory(server, "websocket", parser);
      try {
        const admin = clients.make("/admin", { auth: {} });
        const rec = recorder(admin);
        await waitFor(admin, "connect");
        await rec.next("config");
        const a = await clients.connect("/");
        const b = await clients.connect("/");
        const rooms = async (s) => (await ack(s, "whoami"))[0].rooms;

        // join, with a socket id as the filter: only that socket.
        admin.emit("join", "/", "team", a.id);
        await eventually(async () => (await rooms(a)).includes("team"));
        assert.ok(!(await rooms(b)).includes("team"));
        // join without a filter: every socket of the namespace.
        admin.emit("join", "/", "all");
        await eventually(async () => (await rooms(b)).includes("all"));
        assert.ok((await rooms(a)).includes("all"));

        // emit to a room.
        const hello = waitFor(a, "hello");
        admin.emit("emit", "/", "team", "hello", 1, "two");
        assert.deepEqual(await hello, [1, "two"]);

        // leave without a filter clears the room.
        admin.emit("leave", "/", "all");
        await eventually(async () => !(await rooms(a)).includes("all") && !(await rooms(b)).includes("all"));

        // _disconnect of one socket, without closing its connection.
        const gone = waitFor(a, "disconnect");
        admin.emit("_disconnect", "/", false, a.id);
        assert.equal((await gone)[0], "io server disconnect");
        assert.ok(b.connected);
        // A command naming an unknown namespace does nothing (and creates nothing).
        admin.emit("join", "/nowhere", "x");
        assert.deepEqual(await ack(b, "echo", 1), [1]);
      } finally {
        clients.closeAll();
        await server.stop();
      }
    });
  });
}

const CLUSTERS = {
  "Rust + Rust": [TARGET, TARGET],
  "Rust + Node": [TARGET, "node"],
  "Node + Rust": ["node", TARGET],
};

for (const [name, kinds] of Object.entries(CLUSTERS)) {
  describe(`admin UI on a Redis cluster, ${name}`, () => {
    it("the UI on the first node sees and steers the sockets of both nodes", async () => {
      const servers = [];
      try {
        for (const [i, kind] of kinds.entries()) {
          servers.push(await startServer(kind, ["--admin-ui", "--adapter", `redis://${REDIS_ADDR}`, "--node-name", `n${i}`]));
        }
        const [first, second] = servers.map((s) => clientFactory(s, "websocket", "json"));
        try {
          const a = await first.connect("/");
          const b = await second.connect("/");
          const admin = first.make("/admin", { auth: {} });
          const rec = recorder(admin);
          await waitFor(admin, "connect");

          // all_sockets is cluster-wide, with each socket's client id and transport.
          const [all] = await rec.next("all_sockets");
          for (const user of [a, b]) {
            const listed = all.find((s) => s.id === user.id);
            assert.ok(listed, `${user.id} is listed: ${JSON.stringify(all.map((s) => s.id))}`);
            assert.equal(listed.nsp, "/");
            assert.equal(listed.clientId, user.io.engine.id.slice(0, 12));
            assert.equal(listed.transport, "websocket");
            assert.equal(listed.data._admin, undefined);
            assert.ok(listed.rooms.includes(user.id));
          }

          // Both nodes' stats reach the UI.
          const [s0] = await rec.next("server_stats", (s) => s.serverId === "n0");
          const [s1] = await rec.next("server_stats", (s) => s.serverId === "n1", 6000);
          assert.equal(s0.namespaces.find((n) => n.name === "/").socketsCount, 1);
          assert.equal(s1.namespaces.find((n) => n.name === "/").socketsCount, 1);

          // Notifications from the second node.
          const c = await second.connect("/");
          await rec.next("socket_connected", (s) => s.id === c.id && s.nsp === "/");
          await ack(c, "echo", "x");
          await rec.next("event_received", (_n, sid, args) => sid === c.id && args[0] === "echo");
          await ack(c, "join", "lobby");
          await rec.next("room_joined", (n, r, sid) => n === "/" && r === "lobby" && sid === c.id);

          // Commands reach the sockets of both nodes.
          const rooms = async (s) => (await ack(s, "whoami"))[0].rooms;
          admin.emit("join", "/", "team", b.id);
          await eventually(async () => (await rooms(b)).includes("team"));
          assert.ok(!(await rooms(a)).includes("team"));
          admin.emit("join", "/", "all");
          await eventually(async () => (await rooms(a)).includes("all") && (await rooms(b)).includes("all"));
          const hellos = [a, b].map((s) => waitFor(s, "hello"));
          admin.emit("emit", "/", "all", "hello", "everyone");
          assert.deepEqual(await Promise.all(hellos), [["everyone"], ["everyone"]]);
          admin.emit("leave", "/", "all");
          await eventually(async () => !(await rooms(a)).includes("all") && !(await rooms(b)).includes("all"));
          const bId = b.id;
          const gone = waitFor(b, "disconnect");
          admin.emit("_disconnect", "/", false, bId);
          assert.equal((await gone)[0], "io server disconnect");
          await rec.next("socket_disconnected", (n, sid) => n === "/" && sid === bId);
          assert.ok(a.connected && c.connected);
        } finally {
          first.closeAll();
          second.closeAll();
        }
      } finally {
        await Promise.all(servers.map((s) => s.stop()));
      }
    });
  });
}

// The admin UI's login sessions in Redis (RedisStore, `--admin-store`): a session earned with the
// password on one node opens the admin namespace of the other, whichever implementation each node is.
// The password is "changeit".
const ADMIN_HASH = "$2a$10$/bSVZ.li8ZDO.X1X0rogRuUrMNQs52SWqm4jSPSIQZuFe3Il8x9P2";

for (const [name, kinds] of Object.entries(CLUSTERS)) {
  describe(`admin UI sessions in Redis, ${name}`, () => {
    it("a session from a login on one node opens the admin namespace of the other", async () => {
      const flags = ["--admin-ui", "--admin-auth", `admin:${ADMIN_HASH}`, "--admin-store", `redis://${REDIS_ADDR}`];
      const servers = [];
      try {
        for (const kind of kinds) servers.push(await startServer(kind, flags));
        const [first, second] = servers.map((s) => clientFactory(s, "websocket", "json"));
        try {
          // A wrong password is refused.
          const wrong = first.make("/admin", { auth: { username: "admin", password: "nope" } });
          assert.equal((await waitFor(wrong, "connect_error"))[0].message, "invalid credentials");
          // The right one opens the namespace and earns a session id.
          const admin = first.make("/admin", { auth: { username: "admin", password: "changeit" } });
          const [sessionId] = await waitFor(admin, "session");
          assert.equal(typeof sessionId, "string");
          assert.ok(admin.connected);
          // The other node knows the session; an unknown one is refused.
          const again = second.make("/admin", { auth: { sessionId } });
          await waitFor(again, "connect");
          const guessed = second.make("/admin", { auth: { sessionId: `${sessionId}0` } });
          assert.equal((await waitFor(guessed, "connect_error"))[0].message, "invalid credentials");
        } finally {
          first.closeAll();
          second.closeAll();
        }
      } finally {
        await Promise.all(servers.map((s) => s.stop()));
      }
    });
  });
}
