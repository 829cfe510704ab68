// Porting a Node app: the places where a line-by-line port used to compile and then behave differently
// (issue 24), driven with the official client against our reference app and its Node twin side by side
// (the `/porting` namespace of both), and against the axum example for state put in the request by an
// upstream layer. Each check expects the same answers from both servers.
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import { startServer, waitFor, notWithin, TARGET } from "../lib/harness.mjs";

const TRANSPORTS = ["polling", "websocket"];
const clients = new Set();

function connect(server, nsp, opts = {}) {
  const socket = io(`${server.url}${nsp}`, { forceNew: true, reconnection: false, ...opts });
  clients.add(socket);
  return socket;
}

function closeClients() {
  for (const c of clients) c.disconnect();
  clients.clear();
}

async function connected(socket) {
  if (!socket.connected) await waitFor(socket, "connect");
  return socket;
}

for (const kind of [TARGET, "node"]) {
  describe(`porting traps, ${kind} server`, () => {
    let server;
    before(async () => {
      server = await startServer(kind);
    });
    afterEach(closeClients);
    after(async () => {
      closeClients();
      await server?.stop();
    });

    for (const transport of TRANSPORTS) {
      describe(transport, () => {
        const open = (opts = {}) => connect(server, "/porting", { transports: [transport], ...opts });

        it("a single plain argument arrives as one argument", async () => {
          const socket = open();
          assert.deepEqual(await waitFor(socket, "welcome"), ["hi"]);
        });

        it("a handler called with fewer or more arguments than it names still answers", async () => {
          const socket = await connected(open());
          assert.equal(await socket.timeout(2000).emitWithAck("greet", "ada", 2), "hello ada x2");
          assert.equal(await socket.timeout(2000).emitWithAck("greet", "ada"), "hello ada x1");
          assert.equal(await socket.timeout(2000).emitWithAck("greet"), "hello stranger x1");
          assert.equal(await socket.timeout(2000).emitWithAck("greet", "bob", 3, "extra", { more: true }), "hello bob x3");
        });

        it("to() takes several rooms at once, except() still applies", async () => {
          const [a, b, muted, sender] = await Promise.all([open(), open(), open(), open()].map(connected));
          await a.timeout(2000).emitWithAck("join", "a");
          await b.timeout(2000).emitWithAck("join", "b");
          await muted.timeout(2000).emitWithAck("join", "a");
          await muted.timeout(2000).emitWithAck("join", "muted");
          const got = Promise.all([a, b].map((s) => waitFor(s, "room-msg")));
          const silent = notWithin(muted, "room-msg", 300);
          sender.emit("to-rooms", ["a", "b"], "to both");
          assert.deepEqual(await got, [["to both"], ["to both"]]);
          await silent;
        });

        it("broadcast acks resolve with the first argument of each answer", async () => {
          const sockets = await Promise.all([open(), open(), open()].map(connected));
          sockets.forEach((s, i) => s.on("count", (ack) => ack(i + 10, "ignored")));
          const counts = await sockets[0].timeout(3000).emitWithAck("count-all");
          assert.deepEqual(counts, [10, 11, 12]);
        });

        it('on("disconnecting") sees the rooms, on("disconnect") runs, an emit on the gone socket neither fails nor arrives', async () => {
          const [watcher, leaving] = await Promise.all([open(), open()].map(connected));
          const id = leaving.id;
          await leaving.timeout(2000).emitWithAck("join", "zeta");
          const rooms = new Promise((resolve) => watcher.on("leaving", (...args) => args[0] === id && resolve(args)));
          const gone = new Promise((resolve) => watcher.on("gone", (...args) => args[0] === id && resolve(args)));
          const tooLate = notWithin(leaving, "too-late", 300);
          leaving.disconnect();
          assert.deepEqual(await rooms, [id, [id, "zeta"].sort()]);
          assert.deepEqual(await gone, [id, "client namespace disconnect", true]);
          await tooLate;
        });
      });
    }
  });
}

describe("request state from an upstream layer (axum example)", () => {
  let server;
  before(async () => {
    server = await startServer("axum");
  });
  afterEach(closeClients);
  after(async () => {
    closeClients();
    await server?.stop();
  });

  for (const transport of TRANSPORTS) {
    it(`${transport}: the user the auth layer found reaches the namespace middleware and the handlers`, async () => {
      const ada = await connected(connect(server, "/", { transports: [transport], query: { user: "ada" } }));
      const bob = await connected(connect(server, "/", { transports: [transport], query: { user: "bob" } }));
      const heard = new Promise((resolve) => bob.once("message", (...args) => resolve(args)));
      const number = await ada.timeout(2000).emitWithAck("message", `from ${transport}`);
      assert.ok(Number.isInteger(number) && number > 0);
      assert.deepEqual(await heard, ["ada", `from ${transport}`]);
    });

    it(`${transport}: without a user the connection is refused with the middleware's message`, async () => {
      const anon = connect(server, "/", { transports: [transport] });
      const [err] = await waitFor(anon, "connect_error");
      assert.match(err.message, /^not authenticated/);
    });
  }
});
