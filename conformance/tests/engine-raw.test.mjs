// The engine-only reference app against raw HTTP requests and raw websockets: the protocol's edge
// cases, with the status codes, bodies and headers of the reference Node `engine.io` 6.x server
// (lib/reference-engine-node.mjs runs these same tests against it).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { deadline, eventually, sleep, startServer } from "../lib/harness.mjs";
import {
  SEP,
  enginePath,
  get,
  handshake,
  packets,
  post,
  rawConnection,
  rawStatus,
  request,
  sidUnknown,
  wsConnect,
} from "../lib/engine.mjs";

const error = (code, message) => ({ code, message });
const UNKNOWN_TRANSPORT = error(0, "Transport unknown");
const UNKNOWN_SID = error(1, "Session ID unknown");
const BAD_HANDSHAKE_METHOD = error(2, "Bad handshake method");
const BAD_REQUEST = error(3, "Bad request");
const FORBIDDEN = error(4, "Forbidden");
const UNSUPPORTED_PROTOCOL = error(5, "Unsupported protocol version");

/** Asserts a refused request: `status`, a JSON content type and exactly `body`. */
function assertRefused(res, status, body, what = "") {
  assert.equal(res.status, status, `${what} status (body ${res.text})`);
  assert.match(res.headers["content-type"] ?? "", /^application\/json/, `${what} content type`);
  assert.deepEqual(res.json, body, `${what} body`);
}

/** Asserts an upgrade request refused the way the reference refuses them: 400, text/html, the message. */
function assertUpgradeRefused(res, message) {
  assert.equal(res.status, 400);
  assert.equal(res.headers["content-type"], "text/html");
  assert.equal(res.body, message);
}

/** The tokens of a Vary header, lower-cased. */
const vary = (headers) =>
  new Set(
    (headers.vary ?? "")
      .split(",")
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );

/** Opens a websocket session (no polling first) and returns it with its open packet. */
async function wsSession(server, query = {}) {
  const ws = wsConnect(server, query);
  await ws.opened;
  const first = await ws.next();
  assert.equal(typeof first.data, "string", `expected an open packet, got ${JSON.stringify(first)}`);
  assert.equal(first.data[0], "0", `expected an open packet, got ${first.data}`);
  return { ws, open: JSON.parse(first.data.slice(1)) };
}

/**
 * Opens a polling session, sends a GET and then a POST of `body`, and resolves with both answers. The
 * GET is meant to wait on the server when the POST arrives; nothing tells when it does, so when it came
 * second (it then finds the session closed: 400 code 1) the scenario runs again, a little later each time.
 */
async function postWhileGetWaits(server, body) {
  for (let attempt = 0; attempt < 6; attempt++) {
    const { sid } = await handshake(server);
    const pending = get(server, sid);
    if (attempt > 0) await sleep(50 * attempt);
    const res = await post(server, sid, body);
    const released = await deadline(pending, 5000, "pending GET");
    if (released.status === 400 && released.json?.code === 1) continue;
    return { sid, res, released };
  }
  throw new Error("the GET never reached the server before the POST");
}

/** Upgrades polling session `sid` to a raw websocket (probe, then upgrade) and returns the websocket. */
async function upgrade(server, sid) {
  const ws = wsConnect(server, { sid });
  await ws.opened;
  ws.send("2probe");
  assert.deepEqual(await ws.next(), { data: "3probe", binary: false });
  ws.send("5");
  return ws;
}

describe("raw HTTP/ws", () => {
  let server;
  const sockets = [];
  before(async () => {
    server = await startServer("engine");
  });
  after(() => {
    for (const ws of sockets) ws.close();
  });
  const track = (ws) => {
    sockets.push(ws);
    return ws;
  };

  describe("error codes", () => {
    it("code 0 Transport unknown: an unknown or missing transport", async () => {
      assertRefused(await request(server, "GET", enginePath({ transport: "carrier-pigeon" })), 400, UNKNOWN_TRANSPORT);
      assertRefused(await request(server, "GET", enginePath({ transport: undefined })), 400, UNKNOWN_TRANSPORT);
      assertRefused(await request(server, "GET", enginePath({ transport: "webtransport" })), 400, UNKNOWN_TRANSPORT);
    });

    it("code 1 Session ID unknown: GET and POST with an unknown sid", async () => {
      assertRefused(await get(server, "no-such-session"), 400, UNKNOWN_SID, "GET");
      assertRefused(await post(server, "no-such-session", "4hello"), 400, UNKNOWN_SID, "POST");
    });

    it("code 2 Bad handshake method: a handshake that is not a GET", async () => {
      assertRefused(await request(server, "POST", enginePath(), { body: "4hello" }), 400, BAD_HANDSHAKE_METHOD);
      assertRefused(await request(server, "PUT", enginePath()), 400, BAD_HANDSHAKE_METHOD);
    });

    it("code 3 Bad request: the websocket transport without upgrade headers", async () => {
      assertRefused(await request(server, "GET", enginePath({ transport: "websocket" })), 400, BAD_REQUEST);
    });

    it("code 3 Bad request: a polling session's sid on the websocket transport, not upgrading", async () => {
      const { sid } = await handshake(server);
      assertRefused(await get(server, sid, { transport: "websocket" }), 400, BAD_REQUEST);
      // The refusal does not close the session.
      const ok = await post(server, sid, "4still here");
      assert.equal(ok.status, 200);
      assert.equal((await get(server, sid)).text, "4still here");
    });

    it("code 3 Bad request: a v4 session's sid with EIO=3", async () => {
      const { sid } = await handshake(server);
      assertRefused(await get(server, sid, { EIO: "3" }), 400, BAD_REQUEST);
    });

    it("code 4 Forbidden: allowRequest refuses the handshake (--forbid-query)", async () => {
      const forbidding = await startServer("engine", ["--forbid-query", "deny"]);
      assertRefused(await request(forbidding, "GET", enginePath({ deny: "1" })), 403, FORBIDDEN);
      assertRefused(await request(forbidding, "GET", enginePath({ deny: "" })), 403, FORBIDDEN);
      // Without the key the handshake goes through; allowRequest is consulted on handshakes only.
      const { sid } = await handshake(forbidding, { other: "1" });
      assert.equal((await post(forbidding, sid, "4hi", { deny: "1" })).status, 200);
      assert.equal((await get(forbidding, sid, { deny: "1" })).text, "4hi");
    });

    it("code 5 Unsupported protocol version: EIO=3 without --allow-eio3, EIO=5, no EIO", async () => {
      assertRefused(await request(server, "GET", enginePath({ EIO: "3" })), 400, UNSUPPORTED_PROTOCOL, "EIO=3");
      assertRefused(await request(server, "GET", enginePath({ EIO: "5" })), 400, UNSUPPORTED_PROTOCOL, "EIO=5");
      assertRefused(await request(server, "GET", enginePath({ EIO: undefined })), 400, UNSUPPORTED_PROTOCOL, "no EIO");
    });
  });

  describe("refused websocket upgrades", () => {
    it("an unknown sid: 400 text/html Session ID unknown", async () => {
      const ws = track(wsConnect(server, { sid: "no-such-session" }));
      assertUpgradeRefused(await deadline(ws.unexpected, 5000, "upgrade answer"), "Session ID unknown");
    });

    it("an unknown transport: 400 text/html Transport unknown", async () => {
      const ws = track(wsConnect(server, { transport: "carrier-pigeon" }));
      assertUpgradeRefused(await deadline(ws.unexpected, 5000, "upgrade answer"), "Transport unknown");
    });

    it("allowRequest refuses: 400 text/html Forbidden", async () => {
      const forbidding = await startServer("engine", ["--forbid-query", "deny"]);
      const ws = track(wsConnect(forbidding, { deny: "1" }));
      assertUpgradeRefused(await deadline(ws.unexpected, 5000, "upgrade answer"), "Forbidden");
    });

    it("EIO=3 without --allow-eio3 opens no session", async () => {
      // The reference completes the websocket handshake and then writes an HTTP 400 on the upgraded
      // connection before destroying it; either way the client never gets an open packet.
      const ws = track(wsConnect(server, { EIO: "3" }));
      const outcome = await deadline(
        Promise.race([ws.unexpected.then((res) => ({ res })), ws.opened.then(() => ws.next())]),
        5000,
        "refusal",
      );
      if (outcome.res) assertUpgradeRefused(outcome.res, "Unsupported protocol version");
      else assert.ok(outcome.closed, `expected the websocket to close, got ${JSON.stringify(outcome)}`);
    });
  });

  describe("CORS", () => {
    it("preflight with --cors-origin *: 204 and the Access-Control-* headers", async () => {
      const res = await request(server, "OPTIONS", enginePath(), {
        headers: {
          origin: "http://page.test",
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type",
        },
      });
      assert.equal(res.status, 204);
      assert.equal(res.text, "");
      assert.equal(res.headers["access-control-allow-origin"], "*");
      assert.equal(res.headers["access-control-allow-methods"], "GET,HEAD,PUT,PATCH,POST,DELETE");
      assert.equal(res.headers["access-control-allow-headers"], "content-type");
      assert.deepEqual(vary(res.headers), new Set(["access-control-request-headers"]));
      assert.equal(res.headers["access-control-allow-credentials"], undefined);
    });

    it("preflight without requested headers still varies on them", async () => {
      const res = await request(server, "OPTIONS", enginePath(), {
        headers: { origin: "http://page.test", "access-control-request-method": "GET" },
      });
      assert.equal(res.status, 204);
      assert.equal(res.headers["access-control-allow-origin"], "*");
      assert.equal(res.headers["access-control-allow-headers"], undefined);
      assert.deepEqual(vary(res.headers), new Set(["access-control-request-headers"]));
    });

    it("responses with --cors-origin * allow any origin, errors included", async () => {
      const headers = { origin: "http://page.test" };
      const ok = await request(server, "GET", enginePath(), { headers });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers["access-control-allow-origin"], "*");
      assert.deepEqual(vary(ok.headers), new Set());
      const refused = await request(server, "GET", enginePath({ transport: "nope" }), { headers });
      assert.equal(refused.status, 400);
      assert.equal(refused.headers["access-control-allow-origin"], "*");
    });

    it("--cors-origin http://example.com: that origin, whoever asks, varying on Origin", async () => {
      const cors = await startServer("engine", ["--cors-origin", "http://example.com"]);
      for (const origin of ["http://example.com", "http://other.test"]) {
        const pre = await request(cors, "OPTIONS", enginePath(), {
          headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "x-a" },
        });
        assert.equal(pre.status, 204, origin);
        assert.equal(pre.headers["access-control-allow-origin"], "http://example.com", origin);
        assert.equal(pre.headers["access-control-allow-headers"], "x-a", origin);
        assert.deepEqual(vary(pre.headers), new Set(["origin", "access-control-request-headers"]), origin);
        const res = await request(cors, "GET", enginePath(), { headers: { origin } });
        assert.equal(res.status, 200, origin);
        assert.equal(res.headers["access-control-allow-origin"], "http://example.com", origin);
        assert.deepEqual(vary(res.headers), new Set(["origin"]), origin);
      }
    });
  });

  describe("polling", () => {
    it("a second concurrent GET closes the session: one gets the close packet, the other 400", async () => {
      const { sid } = await handshake(server);
      // Whichever of the two reaches the server second overlaps the first.
      const answers = await deadline(Promise.all([get(server, sid), get(server, sid)]), 5000, "both GETs");
      answers.sort((a, b) => a.status - b.status);
      assert.equal(answers[0].status, 200);
      assert.equal(answers[0].text, "1");
      assert.equal(answers[1].status, 400);
      assert.equal(answers[1].text, "");
      assertRefused(await get(server, sid), 400, UNKNOWN_SID, "afterwards");
    });

    it("a second concurrent POST is refused with 400; the first is dropped and the session closes", async () => {
      const { sid } = await handshake(server);
      const head =
        `POST ${enginePath({ sid })} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
        "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: 100\r\n\r\n4partial";
      const a = rawConnection(server, head);
      const b = rawConnection(server, head);
      try {
        const answers = await deadline(Promise.all([a.firstData, b.firstData]), 5000, "both POSTs answered");
        const statuses = answers.map(rawStatus).sort();
        // The overlapping POST gets a 400; the one being read is dropped without an answer.
        assert.deepEqual(statuses, [400, null], `answers: ${JSON.stringify(answers)}`);
      } finally {
        a.destroy();
        b.destroy();
      }
      assertRefused(await get(server, sid), 400, UNKNOWN_SID, "afterwards");
    });

    it("a POST of maxHttpBufferSize bytes is accepted; one byte more is answered 413", async () => {
      const small = await startServer("engine", ["--max-payload", "1000"]);
      const { sid, open } = await handshake(small);
      assert.equal(open.maxPayload, 1000);
      const fits = "4" + "x".repeat(999);
      assert.equal((await post(small, sid, fits)).status, 200);
      assert.equal((await get(small, sid)).text, fits);
      const res = await post(small, sid, "4" + "y".repeat(1000));
      assert.equal(res.status, 413);
      assert.equal(res.text, "");
      // The reference answers 413 and keeps the session.
      assert.equal((await post(small, sid, "4after")).status, 200);
      assert.equal((await get(small, sid)).text, "4after");
    });

    it("an oversized POST is answered 413 whatever its size, also to fetch while it is still sending", async () => {
      // With a 1 MB limit, fetch (undici) saw its 413 only for a body that fit in the socket buffers; at
      // 2 and 10 MB the server closed the connection while the body was still being sent and fetch failed
      // with EPIPE. The reference reads the rest of the body and answers 413 every time.
      const limit = 1_000_000;
      const big = await startServer("engine", ["--max-payload", String(limit)]);
      const { sid } = await handshake(big);
      const { sid: other } = await handshake(big);
      for (const size of [limit + 500, 2 * limit, 10 * limit]) {
        const body = "4" + "x".repeat(size - 1);
        const res = await fetch(`${big.url}${enginePath({ sid })}`, {
          method: "POST",
          headers: { "content-type": "text/plain;charset=UTF-8" },
          body,
        });
        assert.equal(res.status, 413, `${size} bytes`);
        assert.equal(await res.text(), "", `${size} bytes`);
        // The session stays open, and another one is unharmed.
        assert.equal((await post(big, sid, "4after")).status, 200, `${size} bytes`);
        assert.equal((await get(big, sid)).text, "4after", `${size} bytes`);
        assert.equal((await post(big, other, "4other")).status, 200, `${size} bytes`);
        assert.equal((await get(big, other)).text, "4other", `${size} bytes`);
      }
    });

    it("a close packet closes the session; a waiting GET is released with a noop", async () => {
      const { sid, res, released } = await postWhileGetWaits(server, "1");
      assert.equal(res.status, 200);
      assert.equal(res.text, "ok");
      assert.equal(released.text, "6");
      assertRefused(await get(server, sid), 400, UNKNOWN_SID, "afterwards");
    });

    it("a packet that does not decode closes the session (the packets before it are handled)", async () => {
      const { sid, res, released } = await postWhileGetWaits(server, ["4before", "zz", "4after"].join(SEP));
      assert.equal(res.status, 200);
      assert.equal(res.text, "ok");
      // The echo of the first packet reaches the waiting GET; the rest is lost with the session.
      assert.equal(released.text, "4before");
      assertRefused(await get(server, sid), 400, UNKNOWN_SID, "afterwards");
    });

    it("a binary body (application/octet-stream) from a v4 client is refused with 400 and closes the session", async () => {
      const { sid } = await handshake(server);
      const res = await post(server, sid, Buffer.from([4, 1, 2]), {}, { headers: { "content-type": "application/octet-stream" } });
      assert.equal(res.status, 400);
      assert.equal(res.text, "");
      assertRefused(await get(server, sid), 400, UNKNOWN_SID, "afterwards");
    });

    it("a batch of text and binary (base64) packets is echoed in order", async () => {
      const { sid } = await handshake(server);
      const body = ["4one", "bAAEC/w==", "4two", "4"].join(SEP);
      assert.equal((await post(server, sid, body)).status, 200);
      const got = [];
      while (got.length < 4) got.push(...packets((await get(server, sid)).text));
      assert.deepEqual(got, ["4one", "bAAEC/w==", "4two", "4"]);
    });
  });

  describe("upgrade and websocket", () => {
    it("polling requests after the upgrade to websocket are refused with code 3", async () => {
      const { sid } = await handshake(server);
      const pending = get(server, sid);
      const ws = track(wsConnect(server, { sid }));
      await ws.opened;
      ws.send("2probe");
      assert.deepEqual(await ws.next(), { data: "3probe", binary: false });
      // The probe releases the pending GET with a noop, so that the client can pause polling.
      const released = await deadline(pending, 5000, "pending GET after the probe");
      assert.equal(released.status, 200);
      assert.equal(released.text, "6");
      ws.send("5");
      ws.send("4over websocket");
      assert.deepEqual(await ws.next(), { data: "4over websocket", binary: false });
      assertRefused(await get(server, sid), 400, BAD_REQUEST, "GET");
      assertRefused(await post(server, sid, "4late"), 400, BAD_REQUEST, "POST");
      // The session is still up on the websocket.
      ws.send("4still");
      assert.deepEqual(await ws.next(), { data: "4still", binary: false });
    });

    it("a second upgrade of an upgraded session is refused: the new websocket is closed", async () => {
      const { sid } = await handshake(server);
      const ws = track(await upgrade(server, sid));
      const again = track(wsConnect(server, { sid }));
      const outcome = await deadline(
        Promise.race([again.unexpected.then((res) => ({ res })), again.opened.then(() => again.next())]),
        5000,
        "second upgrade",
      );
      assert.ok(outcome.closed, `expected the second websocket to be closed, got ${JSON.stringify(outcome)}`);
      ws.send("4first still works");
      assert.deepEqual(await ws.next(), { data: "4first still works", binary: false });
    });

    it("an upgrade that does not start with the probe is dropped; polling goes on", async () => {
      const { sid } = await handshake(server);
      const ws = track(wsConnect(server, { sid }));
      await ws.opened;
      ws.send("4not a probe");
      const next = await ws.next();
      assert.ok(next.closed, `expected the websocket to be closed, got ${JSON.stringify(next)}`);
      assert.equal((await post(server, sid, "4polling")).status, 200);
      assert.equal((await get(server, sid)).text, "4polling");
    });

    it("a close packet on a websocket is ignored: the session goes on", async () => {
      const { ws, open } = await wsSession(server);
      track(ws);
      ws.send("1");
      ws.send("4after the close packet");
      assert.deepEqual(await ws.next(), { data: "4after the close packet", binary: false });
      // The session is alive: a polling request with its sid is a transport mismatch, not an unknown sid.
      assertRefused(await post(server, open.sid, "6"), 400, BAD_REQUEST);
    });
  });

  describe("heartbeat", () => {
    it("a ping packet from a v4 client over polling closes the session", async () => {
      const { sid } = await handshake(server);
      const res = await post(server, sid, "2");
      assert.equal(res.status, 200);
      assertRefused(await get(server, sid), 400, UNKNOWN_SID, "afterwards");
    });

    it("a ping packet from a v4 client over websocket closes the session", async () => {
      const { ws, open } = await wsSession(server);
      track(ws);
      ws.send("2");
      const next = await ws.next();
      assert.ok(next.closed, `expected the server to close the websocket, got ${JSON.stringify(next)}`);
      await eventually(() => sidUnknown(server, open.sid), 3000, "session gone");
    });

    describe("ping timeout (--ping-interval 200 --ping-timeout 300)", () => {
      let fast;
      before(async () => {
        fast = await startServer("engine", ["--ping-interval", "200", "--ping-timeout", "300"]);
      });

      it("a polling client that never answers the pings is closed", async () => {
        const start = Date.now();
        const { sid } = await handshake(fast);
        const ping = await deadline(get(fast, sid), 5000, "ping");
        const pingAt = Date.now() - start;
        assert.equal(ping.text, "2");
        assert.ok(pingAt >= 150 && pingAt < 3000, `ping after ${pingAt} ms`);
        // The next GET waits out the ping timeout and gets the close packet.
        const close = await deadline(get(fast, sid), 5000, "close");
        const closeAt = Date.now() - start;
        assert.equal(close.text, "1");
        assert.ok(closeAt - pingAt >= 250 && closeAt < 4000, `ping at ${pingAt} ms, close at ${closeAt} ms`);
        assertRefused(await get(fast, sid), 400, UNKNOWN_SID, "afterwards");
      });

      it("a websocket client that never answers the pings is closed", async () => {
        const start = Date.now();
        const { ws, open } = await wsSession(fast);
        track(ws);
        assert.deepEqual(await ws.next(), { data: "2", binary: false });
        const pingAt = Date.now() - start;
        const next = await ws.next(5000);
        const closeAt = Date.now() - start;
        assert.ok(next.closed, `expected the close, got ${JSON.stringify(next)}`);
        assert.ok(closeAt - pingAt >= 250 && closeAt < 4000, `ping at ${pingAt} ms, close at ${closeAt} ms`);
        assert.ok(await sidUnknown(fast, open.sid));
      });

      it("a polling client that answers the pings stays open", async () => {
        const { sid } = await handshake(fast);
        for (let i = 0; i < 4; i++) {
          const res = await deadline(get(fast, sid), 5000, `ping ${i}`);
          assert.equal(res.text, "2");
          assert.equal((await post(fast, sid, "3")).status, 200);
        }
        assert.equal((await post(fast, sid, "4alive")).status, 200);
        assert.equal((await get(fast, sid)).text, "4alive");
      });
    });
  });

  describe("open packet", () => {
    it("reflects --ping-interval, --ping-timeout and --max-payload, on polling and websocket", async () => {
      const flags = await startServer("engine", ["--ping-interval", "1234", "--ping-timeout", "4321", "--max-payload", "5555"]);
      const { open, res } = await handshake(flags);
      assert.equal(res.headers["content-type"], "text/plain; charset=UTF-8");
      assert.equal(res.headers["cache-control"], "no-store");
      assert.deepEqual(Object.keys(open), ["sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"]);
      assert.match(open.sid, /^[A-Za-z0-9_-]{16,}$/);
      assert.deepEqual(open, { sid: open.sid, upgrades: ["websocket"], pingInterval: 1234, pingTimeout: 4321, maxPayload: 5555 });
      const { ws, open: wsOpen } = await wsSession(flags);
      track(ws);
      assert.deepEqual(Object.keys(wsOpen), ["sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"]);
      assert.deepEqual(wsOpen, { sid: wsOpen.sid, upgrades: [], pingInterval: 1234, pingTimeout: 4321, maxPayload: 5555 });
      assert.notEqual(wsOpen.sid, open.sid);
    });

    it("has the defaults without flags", async () => {
      const { open } = await handshake(server);
      assert.deepEqual(open, { sid: open.sid, upgrades: ["websocket"], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1000000 });
    });
  });

  describe("transports", () => {
    it("--transports websocket refuses polling with code 0", async () => {
      const wsOnly = await startServer("engine", ["--transports", "websocket"]);
      assertRefused(await request(wsOnly, "GET", enginePath()), 400, UNKNOWN_TRANSPORT);
      const { ws, open } = await wsSession(wsOnly);
      track(ws);
      assert.deepEqual(open.upgrades, []);
      ws.send("4hello");
      assert.deepEqual(await ws.next(), { data: "4hello", binary: false });
    });

    it("--transports polling offers no upgrade and refuses websockets with code 0", async () => {
      const pollingOnly = await startServer("engine", ["--transports", "polling"]);
      const { sid, open } = await handshake(pollingOnly);
      assert.deepEqual(open.upgrades, []);
      // Without the websocket transport the reference takes no upgrade: the request is a plain one.
      const ws = track(wsConnect(pollingOnly, { sid }));
      const res = await deadline(ws.unexpected, 5000, "upgrade answer");
      assert.equal(res.status, 400);
      assert.deepEqual(JSON.parse(res.body), UNKNOWN_TRANSPORT);
      const fresh = track(wsConnect(pollingOnly));
      const res2 = await deadline(fresh.unexpected, 5000, "upgrade answer");
      assert.equal(res2.status, 400);
      assert.deepEqual(JSON.parse(res2.body), UNKNOWN_TRANSPORT);
    });
  });
});
