// The official socket.io-client 4.8 against the reference app, in every cell of
// {polling, websocket, polling→websocket} × {default parser, msgpack parser}.
// Tests that count or broadcast use a fresh dynamic namespace (`/dyn-…`) so that they see only their own
// sockets.
import { describe, it, before, afterEach } from "node:test";
import assert from "node:assert/strict";
import { startServer, waitFor, notWithin, eventually, TARGET } from "../lib/harness.mjs";
import { clientFactory, manager, norm, ack, TRANSPORTS, PARSERS } from "../lib/sio.mjs";

let unique = 0;
const freshNsp = () => `/dyn-t${process.pid}x${++unique}`;

for (const transport of Object.keys(TRANSPORTS)) {
  for (const parser of Object.keys(PARSERS)) {
    describe(`${transport} × ${parser}`, () => {
      let server;
      let clients;
      before(async () => {
        server = await startServer(TARGET, PARSERS[parser].flags);
        clients = clientFactory(server, transport, parser);
      });
      afterEach(() => clients.closeAll());

      it("connect with auth", async () => {
        const socket = clients.make("/", { auth: { token: "abc", n: 1 } });
        const [auth] = await waitFor(socket, "auth");
        assert.deepEqual(auth, { token: "abc", n: 1 });
        assert.equal(socket.connected, true);
        assert.equal(typeof socket.id, "string");
        if (transport === "polling→websocket" && socket.io.engine.transport.name !== "websocket") {
          await waitFor(socket.io.engine, "upgrade");
        }
        const [me] = await ack(socket, "whoami");
        assert.equal(me.id, socket.id);
        assert.equal(me.transport, transport === "polling" ? "polling" : "websocket");
        assert.equal(me.recovered, false);
      });

      it("connect without auth gets {}", async () => {
        const socket = clients.make("/");
        const [auth] = await waitFor(socket, "auth");
        assert.deepEqual(auth, {});
      });

      it("middleware rejection with data", async () => {
        const socket = clients.make("/", { auth: { reject: "not allowed" } });
        const [err] = await waitFor(socket, "connect_error");
        assert.equal(err.message, "not allowed");
        assert.deepEqual(err.data, { code: "rejected" });
        assert.equal(socket.connected, false);
      });

      it("invalid namespace", async () => {
        const socket = clients.make("/nowhere");
        const [err] = await waitFor(socket, "connect_error");
        assert.equal(err.message, "Invalid namespace");
      });

      it("static namespaces multiplexed on one connection", async () => {
        const m = manager(server, transport, parser);
        try {
          const main = m.socket("/");
          const custom = m.socket("/custom", { auth: { where: "custom" } });
          const [[auth]] = await Promise.all([waitFor(custom, "auth"), waitFor(main, "connect")]);
          assert.deepEqual(auth, { where: "custom" });
          assert.equal(main.io, custom.io);
          const [[a], [b]] = await Promise.all([ack(main, "whoami"), ack(custom, "whoami")]);
          assert.equal(a.id, main.id);
          assert.equal(b.id, custom.id);
          assert.notEqual(a.id, b.id);
          // An event in one namespace stays there.
          const quiet = notWithin(main, "message-back", 300);
          custom.emit("message", "only custom");
          assert.deepEqual(await waitFor(custom, "message-back"), ["only custom"]);
          await quiet;
        } finally {
          m._close();
        }
      });

      it("dynamic namespace", async () => {
        const nsp = freshNsp();
        const socket = await clients.connect(nsp);
        assert.deepEqual(await ack(socket, "echo", "dyn"), ["dyn"]);
        const refused = clients.make("/dyn-NotLowerCase");
        const [err] = await waitFor(refused, "connect_error");
        assert.equal(err.message, "Invalid namespace");
      });

      it("events with nested binary both ways", async () => {
        const socket = await clients.connect("/");
        const payload = {
          text: "héllo ✓",
          n: 42.5,
          list: [1, Buffer.from([1, 2, 3]), { deep: [Buffer.from("deep"), null, true] }],
          blob: Buffer.from([0, 255, 128]),
        };
        socket.emit("message", payload, Buffer.from([9, 8, 7]), "tail");
        const args = await waitFor(socket, "message-back");
        assert.deepEqual(norm(args), norm([payload, Buffer.from([9, 8, 7]), "tail"]));
      });

      it("acks both ways", async () => {
        const nsp = freshNsp();
        const a = await clients.connect(nsp);
        // Client → server: the server acks with the arguments, binary included.
        const answer = await ack(a, "echo", 1, "two", { three: [3] }, Buffer.from([4]));
        assert.deepEqual(norm(answer), norm([1, "two", { three: [3] }, Buffer.from([4])]));
        // Server → client: the server asks every socket and collects the acks.
        const b = await clients.connect(nsp);
        a.on("ask", (cb) => cb("from a"));
        b.on("ask", (cb) => cb("from b"));
        const [answers] = await ack(a, "ask-all");
        assert.deepEqual(answers, ["from a", "from b"]);
      });

      it("broadcast ack timeout keeps the answers received", async () => {
        const nsp = freshNsp();
        const a = await clients.connect(nsp);
        const silent = await clients.connect(nsp);
        a.on("ask", (cb) => cb("answered"));
        let asked = false;
        silent.on("ask", () => {
          asked = true;
        });
        const started = Date.now();
        const [answers] = await ack(a, "ask-all");
        assert.deepEqual(answers, ["answered"]);
        assert.equal(asked, true);
        assert.ok(Date.now() - started >= 900, "the server waited for its 1000 ms timeout");
      });

      it("emitWithAck and client-side ack timeout", async () => {
        const socket = await clients.connect("/");
        assert.deepEqual(await socket.emitWithAck("echo", { x: [1, 2] }), { x: [1, 2] });
        // `join` acks "ok"; an event nobody acks times out on the client.
        assert.equal(await socket.emitWithAck("join", "r"), "ok");
        await assert.rejects(socket.timeout(300).emitWithAck("no-such-event"), /operation has timed out/);
      });

      it("rooms: join, to-room, to-room-except-me, leave", async () => {
        const nsp = freshNsp();
        const [a, b, c] = await Promise.all([clients.connect(nsp), clients.connect(nsp), clients.connect(nsp)]);
        await Promise.all([ack(a, "join", "room1"), ack(b, "join", "room1")]);
        // to-room: every member, the sender included.
        const gotA = waitFor(a, "room-msg");
        const gotB = waitFor(b, "room-msg");
        const quietC = notWithin(c, "room-msg", 400);
        a.emit("to-room", "room1", "hi", Buffer.from([1]));
        assert.deepEqual(norm(await gotA), norm(["hi", Buffer.from([1])]));
        assert.deepEqual(norm(await gotB), norm(["hi", Buffer.from([1])]));
        await quietC;
        // to-room-except-me: the members but the sender.
        const quietA = notWithin(a, "room-msg", 400);
        const gotB2 = waitFor(b, "room-msg");
        a.emit("to-room-except-me", "room1", "not you");
        assert.deepEqual(await gotB2, ["not you"]);
        await quietA;
        // After leave, no more room messages.
        assert.deepEqual(await ack(b, "leave", "room1"), ["ok"]);
        const [me] = await ack(b, "whoami");
        assert.deepEqual(me.rooms, [b.id]);
        const quietB = notWithin(b, "room-msg", 400);
        const gotA3 = waitFor(a, "room-msg");
        c.emit("to-room", "room1", "after leave");
        assert.deepEqual(await gotA3, ["after leave"]);
        await quietB;
      });

      it("broadcast reaches the whole namespace only", async () => {
        const nsp = freshNsp();
        const [a, b] = await Promise.all([clients.connect(nsp), clients.connect(nsp)]);
        const other = await clients.connect("/custom");
        const quiet = notWithin(other, "bcast", 400);
        const got = Promise.all([waitFor(a, "bcast"), waitFor(b, "bcast")]);
        a.emit("broadcast", "to all", { bin: Buffer.from([7]) });
        for (const args of await got) assert.deepEqual(norm(args), norm(["to all", { bin: Buffer.from([7]) }]));
        await quiet;
      });

      it("volatile", async () => {
        const socket = await clients.connect("/");
        socket.emit("volatile", "v", 1);
        assert.deepEqual(await waitFor(socket, "volatile-back"), ["v", 1]);
      });

      it("fetchSockets", async () => {
        const nsp = freshNsp();
        const [a, b] = await Promise.all([clients.connect(nsp), clients.connect(nsp)]);
        const [ids] = await ack(a, "fetch-sockets");
        assert.deepEqual(ids, [a.id, b.id].sort());
      });

      it("socketsJoin", async () => {
        const nsp = freshNsp();
        const [a, b, c] = await Promise.all([clients.connect(nsp), clients.connect(nsp), clients.connect(nsp)]);
        await ack(a, "join", "source");
        await ack(b, "join", "source");
        assert.deepEqual(await ack(c, "sockets-join", "dest", "source"), ["ok"]);
        const [me] = await ack(a, "whoami");
        assert.deepEqual(me.rooms, [a.id, "dest", "source"].sort());
        const got = Promise.all([waitFor(a, "room-msg"), waitFor(b, "room-msg")]);
        const quiet = notWithin(c, "room-msg", 400);
        c.emit("to-room", "dest", "joined");
        assert.deepEqual(await got, [["joined"], ["joined"]]);
        await quiet;
      });

      it("disconnectSockets", async () => {
        const nsp = freshNsp();
        const [a, b, c] = await Promise.all([clients.connect(nsp), clients.connect(nsp), clients.connect(nsp)]);
        await ack(a, "join", "doomed");
        await ack(b, "join", "doomed");
        const gone = Promise.all([waitFor(a, "disconnect"), waitFor(b, "disconnect")]);
        const quiet = notWithin(c, "disconnect", 400);
        c.emit("disconnect-room", "doomed");
        for (const [reason] of await gone) assert.equal(reason, "io server disconnect");
        await quiet;
        assert.equal(c.connected, true);
        const [ids] = await ack(c, "fetch-sockets");
        assert.deepEqual(ids, [c.id]);
      });

      it("disconnect reasons: io server disconnect, io client disconnect", async () => {
        const nsp = freshNsp();
        const a = await clients.connect(nsp);
        a.emit("disconnect-me", false);
        assert.deepEqual((await waitFor(a, "disconnect")).slice(0, 1), ["io server disconnect"]);
        const b = await clients.connect(nsp);
        a.emit("disconnect-me", true);
        const closing = waitFor(b, "disconnect");
        b.emit("disconnect-me", true);
        assert.deepEqual((await closing).slice(0, 1), ["io server disconnect"]);
        const c = await clients.connect(nsp);
        const d = await clients.connect(nsp);
        const closed = waitFor(c, "disconnect");
        c.disconnect();
        assert.deepEqual((await closed).slice(0, 1), ["io client disconnect"]);
        // The server saw it leave (c's DISCONNECT and d's request travel on different connections).
        await eventually(async () => assert.deepEqual((await ack(d, "fetch-sockets"))[0], [d.id]));
      });

      it("connection state recovery after a dropped transport", async () => {
        const recovery = await startServer(TARGET, [...PARSERS[parser].flags, "--recovery-ms", "5000"]);
        const rec = clientFactory(recovery, transport, parser);
        try {
          const nsp = freshNsp();
          const a = await rec.connect(nsp, { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200 });
          const b = await rec.connect(nsp);
          await ack(a, "join", "kept");
          await ack(a, "set-data", { kept: true });
          const id = a.id;
          const missed = [];
          a.on("room-msg", (...args) => missed.push(["room-msg", ...args]));
          a.on("bcast", (...args) => missed.push(["bcast", ...args]));
          const down = waitFor(a, "disconnect");
          a.io.engine.close();
          await down;
          // While a is away: a room event and a broadcast, then a is back.
          assert.deepEqual(await ack(b, "echo", "sync"), ["sync"]);
          b.emit("to-room", "kept", "missed 1", Buffer.from([1]));
          b.emit("broadcast", "missed 2");
          assert.deepEqual(await ack(b, "echo", "sync"), ["sync"]);
          await waitFor(a, "connect", 5000);
          assert.equal(a.recovered, true);
          assert.equal(a.id, id);
          const [me] = await ack(a, "whoami");
          assert.equal(me.recovered, true);
          assert.deepEqual(me.rooms, [id, "kept"].sort());
          // Every missed event, in order; with recovery on, each event ends with its offset (a string),
          // which socket.io-client keeps in the arguments.
          await eventually(() => assert.equal(missed.length, 2));
          for (const event of missed) assert.equal(typeof event.pop(), "string");
          assert.deepEqual(norm(missed), norm([["room-msg", "missed 1", Buffer.from([1])], ["bcast", "missed 2"]]));
        } finally {
          rec.closeAll();
          await recovery.stop();
        }
      });

      it("reconnection after a server restart", async () => {
        const first = await startServer(TARGET, PARSERS[parser].flags);
        const restartable = clientFactory(first, transport, parser);
        try {
          const socket = await restartable.connect("/", {
            reconnection: true,
            reconnectionDelay: 100,
            reconnectionDelayMax: 300,
          });
          const oldId = socket.id;
          const down = waitFor(socket, "disconnect", 5000);
          await first.stop();
          // A polling client whose GET was pending gets the close packet ("transport close"); one caught
          // between two GETs finds the server gone ("transport error"), with Node's server as with ours.
          // Either way it reconnects, which is what this checks.
          const [reason] = await down;
          assert.ok(
            reason === "transport close" || (transport !== "websocket" && reason === "transport error"),
            `disconnect reason: ${reason}`,
          );
          const again = waitFor(socket, "connect", 10000);
          const second = await first.restart();
          try {
            await again;
            assert.notEqual(socket.id, oldId);
            assert.deepEqual(await ack(socket, "echo", "back"), ["back"]);
          } finally {
            restartable.closeAll();
            await second.stop();
          }
        } finally {
          restartable.closeAll();
        }
      });
    });
  }
}
