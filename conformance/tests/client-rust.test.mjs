// The Rust client (socketio-client, driven through the `client-driver` example) against the official
// Node `socket.io` 4.8 server (apps/reference.mjs) and against our reference app, on every transport and
// both parsers: auth, connect errors, multiplexing, events and acks both ways with nested binary, ack
// timeouts and retries, buffering while the server is down, reconnection backoff, heartbeat, and
// connection state recovery.
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { startServer, eventually } from "../lib/harness.mjs";
import { TRANSPORTS, PARSERS, clientFactory, ack, norm } from "../lib/sio.mjs";
import { startRustClient } from "../lib/rust-client.mjs";
import { Server } from "socket.io";
import { createServer } from "node:http";
import { spawn } from "node:child_process";
import { once, EventEmitter } from "node:events";

/** The servers: our reference app and its twin on the official Node server. */
const SERVERS = { rust: "socketio", node: "node" };

/** The client options of each transport column. */
const CLIENT = {
  polling: { transports: ["polling"], upgrade: false },
  websocket: { transports: ["websocket"] },
  "polling→websocket": { transports: ["polling", "websocket"] },
};

const bin = (hex) => ({ $bin: hex });

/** A dynamic namespace of the reference app that no other scenario uses. */
let namespaces = 0;
const freshNamespace = () => `/dyn-${process.pid}x${++namespaces}`;

/** Arguments with binary at several depths, and a zero-length one. */
const NESTED = ["text", 42, { nested: [bin("0102"), { deep: bin("ff00"), list: [null, true] }] }, bin("")];

for (const [serverName, kind] of Object.entries(SERVERS)) {
  for (const transport of Object.keys(TRANSPORTS)) {
    for (const parser of Object.keys(PARSERS)) {
      describe(`${serverName} server, ${transport}, ${parser}`, () => {
        const parserFlags = PARSERS[parser].flags;
        let server;
        const clients = [];
        before(async () => {
          server = await startServer(kind, parserFlags);
        });
        afterEach(async () => {
          await Promise.all(clients.splice(0).map((c) => c.stop()));
        });
        after(async () => {
          await server?.stop("SIGKILL");
        });
        const driver = async (target = server) => {
          const client = await startRustClient(target.url, { ...CLIENT[transport], parser });
          clients.push(client);
          return client;
        };
        /** A socket named `name` on `nsp`, connected; resolves with the connect reply. */
        const connected = async (c, name, nsp = "/", options = {}) => {
          await c.request("socket", { name, nsp, ...options });
          const reply = await c.request("connect", { name });
          assert.ok(reply.sid, `${name} did not connect: ${JSON.stringify(reply)}`);
          await c.next({ ev: "connect", name });
          return reply;
        };

        it("connects with auth, static or a function called at each connection", async () => {
          const c = await driver();
          await connected(c, "a", "/", { auth: { token: "abc", n: 1 } });
          assert.deepEqual((await c.next({ ev: "event", name: "a", event: "auth" })).args, [{ token: "abc", n: 1 }]);
          await connected(c, "f", "/custom", {
            authCounter: true,
            forceNew: true,
            reconnectionDelay: 50,
            randomizationFactor: 0,
          });
          assert.deepEqual((await c.next({ ev: "event", name: "f", event: "auth" })).args, [{ attempt: 1 }]);
          await c.request("drop", { name: "f" });
          await c.next({ ev: "disconnect", name: "f" });
          await c.next({ ev: "connect", name: "f" });
          assert.deepEqual((await c.next({ ev: "event", name: "f", event: "auth" })).args, [{ attempt: 2 }]);
        });

        it("connect_error carries the middleware's message and data; unknown namespaces are refused", async () => {
          const c = await driver();
          await c.request("socket", { name: "r", nsp: "/", auth: { reject: "go away" } });
          const reply = await c.request("connect", { name: "r" });
          assert.equal(reply.error, "go away");
          assert.deepEqual(reply.data, { code: "rejected" });
          const event = await c.next({ ev: "connect_error", name: "r" });
          assert.equal(event.message, "go away");
          assert.deepEqual(event.data, { code: "rejected" });
          const state = await c.request("state", { name: "r" });
          assert.equal(state.connected, false);
          assert.equal(state.active, false, "a refused socket does not retry");

          await c.request("socket", { name: "x", nsp: "/nope" });
          assert.equal((await c.request("connect", { name: "x" })).error, "Invalid namespace");
        });

        it("namespaces share one connection", async () => {
          const c = await driver();
          const a = await connected(c, "a", "/");
          const b = await connected(c, "b", freshNamespace());
          const d = await connected(c, "d", freshNamespace());
          assert.equal(a.engine, b.engine, "one Engine.IO session");
          assert.equal(a.engine, d.engine, "one Engine.IO session");
          assert.equal(new Set([a.sid, b.sid, d.sid]).size, 3);
          const who = await c.request("emitWithAck", { name: "b", event: "whoami" });
          assert.equal(who.ack[0].id, b.sid);
          const ids = await c.request("emitWithAck", { name: "b", event: "fetch-sockets" });
          assert.deepEqual(ids.ack, [[b.sid]]);
          // Leaving one namespace keeps the connection for the others.
          await c.request("disconnect", { name: "b" });
          const echo = await c.request("emitWithAck", { name: "a", event: "echo", args: ["still"] });
          assert.deepEqual(echo.ack, ["still"]);
          assert.equal((await c.request("state", { name: "d" })).engine, a.engine);
        });

        it("events and acks both ways carry nested binary", async () => {
          const c = await driver();
          // Alone in its namespace, so that `ask-all` asks this socket only.
          await connected(c, "a", freshNamespace());
          const echo = await c.request("emitWithAck", { name: "a", event: "echo", args: NESTED });
          assert.deepEqual(echo.ack, NESTED);
          await c.request("emit", { name: "a", event: "message", args: NESTED });
          assert.deepEqual((await c.next({ ev: "event", name: "a", event: "message-back" })).args, NESTED);
          // The server asks (with an ack id); the client's handler answers with binary inside an object.
          const asked = await c.request("emitWithAck", { name: "a", event: "ask-all" });
          assert.deepEqual(asked.ack, [[{ from: "rust", bin: bin("040506") }]]);
          await c.next({ ev: "event", name: "a", event: "ask" });
        });

        it("an unanswered emit times out, and pending acks fail at disconnection", async () => {
          const c = await driver();
          await connected(c, "a");
          const reply = await c.request("emitWithAck", { name: "a", event: "message", args: [1], timeout: 300 });
          assert.equal(reply.error, "operation has timed out");
          const pending = c.request("emitWithAck", { name: "a", event: "message", args: ["pending"] });
          await c.next((o) => o.event === "message-back" && o.args[0] === "pending");
          await c.request("disconnect", { name: "a" });
          assert.equal((await pending).error, "socket has been disconnected");
          assert.equal((await c.next({ ev: "disconnect", name: "a" })).reason, "io client disconnect");
        });

        it("retries send an emit again until acknowledged, one emit at a time", async () => {
          const c = await driver();
          await connected(c, "q", "/", { ackTimeout: 200, retries: 2 });
          // `message` is never acknowledged: sent 3 times, then it fails; `echo` waits its turn.
          const first = c.request("emitWithAck", { name: "q", event: "message", args: ["r1"] });
          const second = c
            .request("emitWithAck", { name: "q", event: "echo", args: ["r2"] })
            .then((reply) => ({ reply, at: Date.now() }));
          assert.equal((await first).error, "operation has timed out");
          const { reply, at } = await second;
          assert.deepEqual(reply.ack, ["r2"]);
          const tries = c.seen.filter((o) => o.event === "message-back");
          assert.deepEqual(
            tries.map((o) => o.args),
            [["r1"], ["r1"], ["r1"]],
          );
          assert.ok(at >= tries[2].at, "the second emit went out after the first one gave up");
        });

        it("emits are buffered while the server is down and delivered when it returns", async () => {
          const c = await driver();
          await connected(c, "b", "/", { reconnectionDelay: 100, reconnectionDelayMax: 200, randomizationFactor: 0 });
          await server.stop("SIGKILL");
          await c.next({ ev: "disconnect", name: "b" });
          await c.request("emit", { name: "b", event: "message", args: ["buffered", bin("0a0b")] });
          await c.request("emit", { name: "b", event: "message", args: ["dropped"], volatile: true });
          server = await server.restart();
          await c.next({ ev: "connect", name: "b" }, 10000);
          const back = await c.next({ ev: "event", name: "b", event: "message-back" });
          assert.deepEqual(back.args, ["buffered", bin("0a0b")]);
          // Anything sent before the echo's answer has arrived by then: the volatile emit was dropped.
          const echo = await c.request("emitWithAck", { name: "b", event: "echo", args: ["after"] });
          assert.deepEqual(echo.ack, ["after"]);
          assert.deepEqual(c.received("b", "message-back"), [["buffered", bin("0a0b")]]);
        });

        it("reconnection backs off, gives up after reconnectionAttempts, and reports the attempt count", async () => {
          const c = await driver();
          await connected(c, "u", "/", { reconnectionDelay: 100, reconnectionDelayMax: 300, randomizationFactor: 0 });
          await connected(c, "l", "/", {
            forceNew: true,
            reconnectionDelay: 50,
            randomizationFactor: 0,
            reconnectionAttempts: 2,
          });
          await server.stop("SIGKILL");
          const closed = await c.next({ ev: "manager", name: "u", kind: "close" });
          const attempts = [];
          for (let n = 1; n <= 4; n++) {
            attempts.push(await c.next({ ev: "manager", name: "u", kind: "reconnect_attempt" }));
            await c.next({ ev: "manager", name: "u", kind: "reconnect_error" });
          }
          assert.deepEqual(
            attempts.map((a) => a.n),
            [1, 2, 3, 4],
          );
          const gaps = [attempts[0].ms - closed.ms];
          for (let i = 1; i < attempts.length; i++) gaps.push(attempts[i].ms - attempts[i - 1].ms);
          // 100, 200, then capped at 300 (uncapped it would be 400, 800): the delays grow, up to the cap.
          for (const [i, least] of [100, 200, 300, 300].entries()) {
            assert.ok(gaps[i] >= least - 5, `delay ${i + 1} was ${gaps[i]} ms, expected ≥ ${least}: ${gaps}`);
          }
          assert.ok(gaps[3] < 750, `delay 4 was ${gaps[3]} ms: not capped at 300`);
          // The limited socket tried twice and gave up.
          await c.next({ ev: "manager", name: "l", kind: "reconnect_failed" });
          assert.equal(c.seen.filter((o) => o.name === "l" && o.kind === "reconnect_attempt").length, 2);

          server = await server.restart();
          const back = await c.next({ ev: "manager", name: "u", kind: "reconnect" }, 10000);
          await c.next({ ev: "connect", name: "u" });
          const made = c.seen.filter((o) => o.name === "u" && o.kind === "reconnect_attempt").length;
          assert.equal(back.n, made, "reconnect reports the number of attempts");
          assert.equal((await c.request("state", { name: "l" })).connected, false);
        });

        it("a server-side disconnect is final: no reconnection", async () => {
          const c = await driver();
          await connected(c, "k", "/", { reconnectionDelay: 50 });
          await c.request("emit", { name: "k", event: "disconnect-me" });
          assert.equal((await c.next({ ev: "disconnect", name: "k" })).reason, "io server disconnect");
          const state = await c.request("state", { name: "k" });
          assert.equal(state.connected, false);
          assert.equal(state.active, false);
        });

        it("a silent server is a ping timeout", async () => {
          const quick = await startServer(kind, [...parserFlags, "--ping-interval", "200", "--ping-timeout", "300"]);
          try {
            const c = await driver(quick);
            await connected(c, "h", "/", { reconnectionDelay: 5000 });
            await c.next({ ev: "manager", name: "h", kind: "open" });
            quick.child.kill("SIGSTOP");
            try {
              assert.equal((await c.next({ ev: "disconnect", name: "h" }, 5000)).reason, "ping timeout");
            } finally {
              quick.child.kill("SIGCONT");
            }
          } finally {
            await quick.stop("SIGKILL");
          }
        });

        it("missed events are recovered after a lost connection", async () => {
          const recovering = await startServer(kind, [...parserFlags, "--recovery-ms", "5000"]);
          const helpers = clientFactory(recovering, transport, parser);
          try {
            const c = await driver(recovering);
            const { sid } = await connected(c, "p", "/", { reconnectionDelay: 1000, randomizationFactor: 0 });
            assert.deepEqual((await c.request("emitWithAck", { name: "p", event: "join", args: ["r"] })).ack[0], "ok");
            const helper = await helpers.connect("/");
            await c.request("drop", { name: "p" });
            await c.next({ ev: "disconnect", name: "p" });
            // Once the server has let the socket go, a broadcast to its room is kept for it.
            await eventually(async () => !(await ack(helper, "fetch-sockets"))[0].includes(sid));
            helper.emit("to-room", "r", "missed", Buffer.from([0xbe, 0xef]));
            const again = await c.next({ ev: "connect", name: "p" }, 5000);
            assert.equal(again.recovered, true);
            assert.equal(again.sid, sid);
            const missed = await c.next({ ev: "event", name: "p", event: "room-msg" });
            assert.deepEqual(missed.args.slice(0, 2), ["missed", bin("beef")]);
            const who = await c.request("emitWithAck", { name: "p", event: "whoami" });
            assert.equal(who.ack[0].recovered, true);
            assert.deepEqual(norm(who.ack[0].rooms), [sid, "r"].sort());
          } finally {
            helpers.closeAll();
            await recovering.stop("SIGKILL");
          }
        });
      });
    }
  }
}

// The bot example (socketio/examples/bot.rs) against a plain Node server: its connection handler asks
// the new socket for an ack at once, and it has no `join` listener, so the bot's own join request is
// never acknowledged. The bot must answer all the same, within a second, and again once the server
// has restarted.
describe("bot example, plain Node server with a listener that never acks", () => {
  /** A plain socket.io server on `port` (0: any); `answers` emits what each `ping` got and how fast. */
  function plainServer(port, answers) {
    const http = createServer();
    const io = new Server(http);
    io.on("connection", async (socket) => {
      const started = Date.now();
      try {
        const answer = await socket.timeout(3000).emitWithAck("ping", "are you there");
        answers.emit("answer", { answer, ms: Date.now() - started });
      } catch (error) {
        answers.emit("answer", { error: error.message, ms: Date.now() - started });
      }
    });
    return new Promise((resolve) => http.listen(port, "127.0.0.1", () => resolve({ io, port: http.address().port })));
  }

  it("answers ping within a second, and again after the server restarts", async () => {
    const answers = new EventEmitter();
    let server = await plainServer(0, answers);
    const bot = spawn(process.env.BOT_BIN, [`http://127.0.0.1:${server.port}/`, "bots"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let output = "";
    bot.stdout.on("data", (chunk) => (output += chunk));
    try {
      const [first] = await once(answers, "answer", { signal: AbortSignal.timeout(10000) });
      assert.equal(first.answer, "pong", `${JSON.stringify(first)}\n${output}`);
      assert.ok(first.ms < 1000, `answered after ${first.ms} ms`);
      // Restart: the bot reconnects by itself and answers the new server too.
      await new Promise((resolve) => server.io.close(resolve));
      server = await plainServer(server.port, answers);
      const [second] = await once(answers, "answer", { signal: AbortSignal.timeout(15000) });
      assert.equal(second.answer, "pong", `${JSON.stringify(second)}\n${output}`);
      assert.ok(second.ms < 1000, `answered after ${second.ms} ms`);
      // And it said that its join was not acknowledged.
      await eventually(() => output.includes("did not acknowledge joining bots"), 8000);
    } finally {
      bot.kill("SIGKILL");
      await new Promise((resolve) => server.io.close(resolve));
    }
  });
});

// Where a port of a Node app would trip (issue 24), against a plain Node server with its session
// cookie on (set on polling handshakes only) and a cookie of a load balancer's kind (`lb`, set on every
// handshake through `initial_headers`): the URL's query reaches the handshake, a second socket on the
// same namespace connects on a connection of its own with its own auth, and `withCredentials` sends
// the cookies back.
describe("porting traps, plain Node server", () => {
  let http;
  let url;
  const seen = new EventEmitter();
  before(async () => {
    http = createServer();
    const io = new Server(http, { cookie: true });
    io.engine.on("initial_headers", (headers) => {
      headers["Set-Cookie"] = [...(headers["Set-Cookie"] ?? []), "lb=node1; Path=/"];
    });
    io.of(/.*/).on("connection", (socket) => {
      seen.emit("seen", {
        nsp: socket.nsp.name,
        token: socket.handshake.query.token ?? null,
        auth: socket.handshake.auth,
        cookie: socket.handshake.headers.cookie ?? null,
        engine: socket.conn.id,
      });
      socket.on("drop-transport", () => socket.conn.close());
    });
    await new Promise((resolve) => http.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${http.address().port}`;
  });
  after(() => {
    http.closeAllConnections();
    http.close();
  });
  const clients = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.stop()));
  });
  const next = () => once(seen, "seen", { signal: AbortSignal.timeout(10000) }).then(([s]) => s);

  for (const transport of Object.keys(TRANSPORTS)) {
    const driver = async () => {
      const client = await startRustClient(url, { ...CLIENT[transport], parser: "json" });
      clients.push(client);
      return client;
    };

    it(`${transport}: the URL's query goes with the handshake; the namespace is the path`, async () => {
      const c = await driver();
      const seenNext = next();
      await c.request("socket", { name: "q", nsp: "/ns?token=a%20b" });
      assert.ok((await c.request("connect", { name: "q" })).sid);
      const s = await seenNext;
      assert.equal(s.nsp, "/ns");
      assert.equal(s.token, "a b");
    });

    it(`${transport}: a second socket on the same namespace connects with its own auth`, async () => {
      const c = await driver();
      const first = next();
      await c.request("socket", { name: "one", nsp: "/twice", auth: { user: 1 } });
      const a = await c.request("connect", { name: "one" });
      assert.deepEqual((await first).auth, { user: 1 });
      const second = next();
      await c.request("socket", { name: "two", nsp: "/twice", auth: { user: 2 } });
      const b = await c.request("connect", { name: "two" });
      assert.deepEqual((await second).auth, { user: 2 });
      assert.notEqual(a.sid, b.sid);
      assert.notEqual(a.engine, b.engine, "a connection of its own, as io() opens one");
    });

    it(`${transport}: withCredentials sends the server's cookie back`, async () => {
      const c = await driver();
      const first = next();
      await c.request("socket", { name: "k", nsp: "/jar", withCredentials: true, reconnectionDelay: 10 });
      const reply = await c.request("connect", { name: "k" });
      assert.equal((await first).cookie, null);
      // The next connection of the manager carries the cookies set by the first handshake.
      const second = next();
      await c.request("emit", { name: "k", event: "drop-transport", args: [] });
      const expected = transport === "websocket" ? "lb=node1" : `io=${reply.engine}; lb=node1`;
      assert.equal((await second).cookie, expected);
    });
  }
});
