// The admin UI protocol (@socket.io/admin-ui 0.5): the official socket.io-client plays the UI on
// /admin of a reference app started with --admin-ui (no authentication, development mode), and real
// client sockets on / show what the UI sees and what its commands do.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { startServer, waitFor, eventually, TARGET } from "../lib/harness.mjs";
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
