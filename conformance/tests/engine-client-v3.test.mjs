// The engine-only reference app against the official `engine.io-client` 3.5 (Engine.IO v3, the engine
// of socket.io-client 2.x): accepted with --allow-eio3 on every transport, refused without it.
import { afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { collect, eventually, notWithin, startServer, waitFor } from "../lib/harness.mjs";
import { bytes, echo, echoAll, enginePath, get, opened, request, settle, sidUnknown } from "../lib/engine.mjs";

// engine.io-client 3.x is CommonJS: `eio(uri, opts)` returns a socket.
const eio = createRequire(import.meta.url)("engine.io-client-v3");

const clients = new Set();

function client(server, opts = {}) {
  const socket = eio(server.url, opts);
  clients.add(socket);
  return socket;
}

async function connect(server, opts) {
  const socket = client(server, opts);
  await opened(socket);
  return socket;
}

// Lengths count UTF-16 units in v3 string payloads: non-BMP characters are the test.
const TEXTS = ["hello", "héllo wörld 日本語 🌍🎉", '{"json":[1,"two",null]}', "y".repeat(3000), "2:4"];

describe("engine.io-client 3.5", () => {
  let server;
  before(async () => {
    server = await startServer("engine", ["--allow-eio3"]);
  });
  afterEach(() => {
    for (const socket of clients) socket.close();
    clients.clear();
  });

  const configurations = [
    ["polling", { transports: ["polling"] }],
    ["polling (base64, forceBase64)", { transports: ["polling"], forceBase64: true }],
    ["websocket", { transports: ["websocket"] }],
  ];
  for (const [name, opts] of configurations) {
    describe(name, () => {
      it("handshake", async () => {
        const socket = client(server, opts);
        const handshake = waitFor(socket, "handshake");
        await opened(socket);
        assert.equal(socket.transport.name, opts.transports[0]);
        assert.match(socket.id, /^[A-Za-z0-9_-]+$/);
        const [data] = await handshake;
        assert.deepEqual(data, {
          sid: socket.id,
          upgrades: opts.transports[0] === "polling" ? ["websocket"] : [],
          pingInterval: 25000,
          pingTimeout: 20000,
          maxPayload: 1000000,
        });
      });

      it("text echo", async () => {
        const socket = await connect(server, opts);
        assert.deepEqual(await echoAll(socket, TEXTS), TEXTS);
      });

      it("binary echo: Buffer, Uint8Array and ArrayBuffer, bytes unchanged", async () => {
        const socket = await connect(server, opts);
        const sent = [Buffer.from([0, 1, 2, 255]), Uint8Array.from({ length: 256 }, (_, i) => i), Uint8Array.of(7, 8).buffer];
        const replies = await echoAll(socket, sent);
        replies.forEach((reply, i) => {
          const expected = sent[i] instanceof ArrayBuffer ? [...new Uint8Array(sent[i])] : [...sent[i]];
          assert.deepEqual(bytes(reply), expected, `reply ${i}`);
        });
        const mixed = await echoAll(socket, ["a", Buffer.from([9]), "b"]);
        assert.equal(mixed[0], "a");
        assert.deepEqual(bytes(mixed[1]), [9]);
        assert.equal(mixed[2], "b");
      });

      it("client close: 'forced close', then the server no longer knows the sid", async () => {
        const socket = await connect(server, opts);
        const sid = socket.id;
        const closing = waitFor(socket, "close");
        socket.close();
        assert.equal((await closing)[0], "forced close");
        await eventually(() => sidUnknown(server, sid, { EIO: "3" }), 5000, "session gone on the server");
        const res = await get(server, sid, { EIO: "3" });
        assert.equal(res.status, 400);
        assert.deepEqual(res.json, { code: 1, message: "Session ID unknown" });
      });
    });
  }

  describe("upgrade", () => {
    it("polling to websocket: the 'upgrade' event, then text and binary still flow", async () => {
      const socket = client(server);
      const upgraded = waitFor(socket, "upgrade");
      await opened(socket);
      assert.equal(socket.transport.name, "polling");
      const sid = socket.id;
      const [transport] = await upgraded;
      assert.equal(transport.name, "websocket");
      assert.equal(socket.id, sid);
      assert.equal(await echo(socket, "after the upgrade"), "after the upgrade");
      assert.deepEqual(bytes(await echo(socket, Buffer.from([3, 2, 1]))), [3, 2, 1]);
    });

    it("messages sent while the upgrade runs arrive once each, in order", async () => {
      const socket = client(server);
      const upgraded = waitFor(socket, "upgrade");
      await opened(socket);
      const list = Array.from({ length: 20 }, (_, i) => `v3 message ${i}`);
      const replies = collect(socket, "message", list.length);
      for (const m of list.slice(0, 10)) socket.send(m);
      await upgraded;
      for (const m of list.slice(10)) socket.send(m);
      assert.deepEqual((await replies).map(([m]) => m), list);
      await notWithin(socket, "message", 200);
    });
  });

  describe("heartbeat (--ping-interval 200 --ping-timeout 300)", () => {
    for (const transport of ["polling", "websocket"]) {
      it(`the server answers the client's pings (${transport})`, async () => {
        const fast = await startServer("engine", ["--allow-eio3", "--ping-interval", "200", "--ping-timeout", "300"]);
        const socket = await connect(fast, { transports: [transport] });
        const closedEarly = notWithin(socket, "close", 1500);
        await collect(socket, "pong", 4, 5000);
        await closedEarly;
        assert.equal(socket.readyState, "open");
        assert.equal(await echo(socket, "still open"), "still open");
      });
    }
  });

  describe("server close", () => {
    for (const transport of ["polling", "websocket"]) {
      it(`SIGTERM: the client sees 'transport close' (${transport})`, async () => {
        const doomed = await startServer("engine", ["--allow-eio3"]);
        const socket = await connect(doomed, { transports: [transport] });
        await settle(socket);
        const closing = waitFor(socket, "close", 10000);
        await doomed.stop();
        assert.equal((await closing)[0], "transport close");
      });
    }
  });

  describe("without --allow-eio3", () => {
    let v4only;
    before(async () => {
      v4only = await startServer("engine");
    });

    it("a raw EIO=3 handshake is refused: 400 code 5 Unsupported protocol version", async () => {
      const res = await request(v4only, "GET", enginePath({ EIO: "3" }));
      assert.equal(res.status, 400);
      assert.deepEqual(res.json, { code: 5, message: "Unsupported protocol version" });
    });

    for (const transport of ["polling", "websocket"]) {
      it(`the v3 client is refused over ${transport}: an error, then 'transport error'`, async () => {
        const socket = client(v4only, { transports: [transport] });
        const errored = waitFor(socket, "error");
        const neverOpened = notWithin(socket, "open", 1000);
        const [reason] = await waitFor(socket, "close");
        assert.equal(reason, "transport error");
        await errored;
        await neverOpened;
      });
    }
  });
});
