// The engine-only reference app against the official `engine.io-client` 6.6 (Engine.IO v4): handshakes
// on each transport, the upgrade, text and binary echo, payload limits, the heartbeat, and both sides
// closing.
import { afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Socket } from "engine.io-client";
import { collect, eventually, notWithin, startServer, waitFor } from "../lib/harness.mjs";
import { bytes, echo, echoAll, get, opened, settle, sidUnknown } from "../lib/engine.mjs";

const clients = new Set();

/** A client of `server` (closed after the test). */
function client(server, opts = {}) {
  const socket = new Socket(server.url, opts);
  clients.add(socket);
  return socket;
}

/** A client of `server` once open. */
async function connect(server, opts) {
  const socket = client(server, opts);
  await opened(socket);
  return socket;
}

/** Resolves with [reason, description] of the socket's close. */
const closed = (socket, ms = 5000) => waitFor(socket, "close", ms);

const TEXTS = ["hello", "héllo wörld, ça va ? 日本語 🌍", '{"json":["looks",1,true,null]}', "x".repeat(5000), "4", "b"];

describe("engine.io-client 6.6", () => {
  let server;
  before(async () => {
    server = await startServer("engine");
  });
  afterEach(() => {
    for (const socket of clients) socket.close();
    clients.clear();
  });

  describe("handshake", () => {
    it("over polling only", async () => {
      const socket = await connect(server, { transports: ["polling"] });
      assert.equal(socket.transport.name, "polling");
      assert.match(socket.id, /^[A-Za-z0-9_-]+$/);
      assert.equal(await echo(socket, "over polling"), "over polling");
      assert.equal(socket.transport.name, "polling");
    });

    it("over websocket only", async () => {
      const socket = await connect(server, { transports: ["websocket"] });
      assert.equal(socket.transport.name, "websocket");
      assert.match(socket.id, /^[A-Za-z0-9_-]+$/);
      assert.equal(await echo(socket, "over websocket"), "over websocket");
    });

    it("upgrade from polling to websocket: the 'upgrade' event, then messages still flow", async () => {
      const socket = client(server);
      const upgraded = waitFor(socket, "upgrade");
      await opened(socket);
      assert.equal(socket.transport.name, "polling");
      const sid = socket.id;
      const [transport] = await upgraded;
      assert.equal(transport.name, "websocket");
      assert.equal(socket.transport.name, "websocket");
      assert.equal(socket.id, sid);
      assert.equal(await echo(socket, "after the upgrade"), "after the upgrade");
      assert.deepEqual(bytes(await echo(socket, Uint8Array.of(1, 2, 3))), [1, 2, 3]);
    });

    it("messages sent while the upgrade runs arrive once each, in order", async () => {
      const socket = client(server);
      const upgraded = waitFor(socket, "upgrade");
      await opened(socket);
      const list = Array.from({ length: 20 }, (_, i) => `message ${i}`);
      const replies = collect(socket, "message", list.length);
      // Half before the probe completes, half after the switch.
      for (const m of list.slice(0, 10)) socket.send(m);
      await upgraded;
      for (const m of list.slice(10)) socket.send(m);
      assert.deepEqual((await replies).map(([m]) => m), list);
      await notWithin(socket, "message", 200);
    });
  });

  for (const transport of ["polling", "websocket"]) {
    describe(transport, () => {
      const opts = { transports: [transport] };

      it("text echo", async () => {
        const socket = await connect(server, opts);
        assert.deepEqual(await echoAll(socket, TEXTS), TEXTS);
        // The empty message comes back too: the client decodes the packet `4` as a message without data.
        assert.equal(await echo(socket, ""), undefined);
      });

      it("binary echo: Uint8Array, Buffer and ArrayBuffer, bytes unchanged", async () => {
        const socket = await connect(server, opts);
        const all = Uint8Array.from({ length: 256 }, (_, i) => i);
        const sent = [Uint8Array.of(0, 1, 2, 255), Buffer.from("buffer bytes"), all.buffer, Buffer.alloc(3000, 7)];
        const replies = await echoAll(socket, sent);
        assert.equal(replies.length, sent.length);
        replies.forEach((reply, i) => {
          const expected = sent[i] instanceof ArrayBuffer ? [...new Uint8Array(sent[i])] : [...sent[i]];
          assert.ok(Buffer.isBuffer(reply), `reply ${i} is a Buffer`);
          assert.deepEqual(bytes(reply), expected, `reply ${i}`);
        });
        // Text and binary interleaved keep their kinds and their order.
        const mixed = await echoAll(socket, ["a", Uint8Array.of(9), "b"]);
        assert.equal(mixed[0], "a");
        assert.deepEqual(bytes(mixed[1]), [9]);
        assert.equal(mixed[2], "b");
      });

      it("binary echo with binaryType arraybuffer", async () => {
        const socket = await connect(server, opts);
        socket.binaryType = "arraybuffer";
        const reply = await echo(socket, Uint8Array.of(5, 4, 3, 2, 1, 0));
        assert.ok(reply instanceof ArrayBuffer);
        assert.deepEqual(bytes(reply), [5, 4, 3, 2, 1, 0]);
      });

      describe("payload limit (--max-payload 10000)", () => {
        let limited;
        before(async () => {
          limited = await startServer("engine", ["--max-payload", "10000"]);
        });

        it("messages just under the limit are echoed", async () => {
          const socket = await connect(limited, opts);
          // A packet of 9999 bytes once framed ("4" + text); binary goes in base64 over polling.
          const text = "t".repeat(9998);
          assert.equal(await echo(socket, text), text);
          const binary = Buffer.alloc(transport === "polling" ? 7000 : 9990, 0xab);
          assert.deepEqual(bytes(await echo(socket, binary)), [...binary]);
        });

        it("a message over the limit closes the session", async () => {
          const socket = await connect(limited, opts);
          const sid = socket.id;
          const closing = closed(socket);
          socket.send("o".repeat(10050));
          const [reason] = await closing;
          // Over polling the POST is refused (413): the client gives up with a transport error; over
          // websocket the server closes the connection (1009).
          assert.equal(reason, transport === "polling" ? "transport error" : "transport close");
          await eventually(() => sidUnknown(limited, sid), 5000, "session gone on the server");
        });
      });

      it("ping/pong with --ping-interval 200 --ping-timeout 300 keeps the session open", async () => {
        const fast = await startServer("engine", ["--ping-interval", "200", "--ping-timeout", "300"]);
        const socket = await connect(fast, opts);
        const stamps = [];
        socket.on("ping", () => stamps.push(Date.now()));
        const closedEarly = notWithin(socket, "close", 1600);
        await collect(socket, "ping", 5, 5000);
        const gaps = stamps.slice(1).map((t, i) => t - stamps[i]);
        const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
        assert.ok(mean >= 150 && mean <= 800, `ping gaps ${gaps.join(", ")} ms`);
        assert.ok(gaps.every((g) => g >= 100), `ping gaps ${gaps.join(", ")} ms`);
        await closedEarly;
        assert.equal(socket.readyState, "open");
        assert.equal(await echo(socket, "still open"), "still open");
      });

      it("server close (SIGTERM): the client sees 'transport close'", async () => {
        const doomed = await startServer("engine");
        const socket = await connect(doomed, opts);
        await settle(socket);
        const closing = closed(socket, 10000);
        await doomed.stop();
        const [reason] = await closing;
        assert.equal(reason, "transport close");
      });

      it("client close: 'forced close', then the server no longer knows the sid", async () => {
        const socket = await connect(server, opts);
        const sid = socket.id;
        const closing = closed(socket);
        socket.close();
        const [reason] = await closing;
        assert.equal(reason, "forced close");
        await eventually(() => sidUnknown(server, sid), 5000, "session gone on the server");
        const res = await get(server, sid);
        assert.equal(res.status, 400);
        assert.deepEqual(res.json, { code: 1, message: "Session ID unknown" });
      });
    });
  }
});
