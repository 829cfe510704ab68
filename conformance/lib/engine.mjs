// Raw Engine.IO helpers for the engine conformance tests: plain HTTP requests (one connection each, so
// that concurrent requests really are concurrent), a raw TCP request for half-sent bodies, a websocket
// with a message queue, and the v4 polling payload format.
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import WebSocket from "ws";
import { collect, deadline, sleep, waitFor } from "./harness.mjs";

export const ENGINE_PATH = "/engine.io/";
/** The record separator of v4 polling payloads. */
export const SEP = "\x1e";

/** `/engine.io/?EIO=4&transport=polling&...` from an object of query parameters. */
export function enginePath(query = {}) {
  const q = new URLSearchParams({ EIO: "4", transport: "polling", ...query });
  for (const [k, v] of Object.entries(query)) if (v === undefined) q.delete(k);
  return `${ENGINE_PATH}?${q}`;
}

/**
 * One HTTP request on its own connection. Resolves with { status, headers, text, json } (headers with
 * lower-case names), or rejects if the connection fails or `signal` aborts it.
 */
export function request(server, method, path, { headers = {}, body, signal } = {}) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: "127.0.0.1", port: server.port, method, path, headers, agent: false, signal },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode, headers: res.headers, text, json });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** A polling GET on session `sid` (protocol v4 unless `query` says otherwise). */
export const get = (server, sid, query = {}, init = {}) =>
  request(server, "GET", enginePath({ sid, ...query }), init);

/** A polling POST of `body` on session `sid`. */
export const post = (server, sid, body, query = {}, init = {}) =>
  request(server, "POST", enginePath({ sid, ...query }), {
    ...init,
    body,
    headers: { "content-type": "text/plain;charset=UTF-8", ...init.headers },
  });

/** A polling handshake: resolves with the session id and the parsed open packet (and the response). */
export async function handshake(server, query = {}) {
  const res = await request(server, "GET", enginePath(query));
  if (res.status !== 200 || res.text[0] !== "0") {
    throw new Error(`handshake failed: ${res.status} ${res.text}`);
  }
  const open = JSON.parse(res.text.slice(1));
  return { sid: open.sid, open, res };
}

/** The packets of a v4 polling payload, as strings (`"4hello"`, `"2"`, ...). */
export const packets = (payload) => (payload === "" ? [] : payload.split(SEP));

/**
 * A raw TCP connection that sends `head` (a full request head, CRLFs included) and whatever `write`
 * adds later. `response` resolves with everything the server sent once it closes the connection;
 * `firstData` resolves with the first bytes received (or "" if it closed without sending any).
 */
export function rawConnection(server, head) {
  const socket = connect(server.port, "127.0.0.1");
  let received = "";
  let firstResolve;
  const firstData = new Promise((r) => (firstResolve = r));
  const response = new Promise((resolve) => {
    socket.on("data", (d) => {
      received += d.toString("latin1");
      firstResolve(received);
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      firstResolve(received);
      resolve(received);
    });
  });
  const connected = new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  socket.write(head);
  return {
    socket,
    connected,
    firstData,
    response,
    write: (data) => socket.write(data),
    destroy: () => socket.destroy(),
  };
}

/** Parses the status line of a raw HTTP response (`null` when nothing came back). */
export function rawStatus(raw) {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(raw);
  return m ? Number(m[1]) : null;
}

/**
 * A websocket to the engine with a queue of received messages. `next()` resolves with the next
 * message ({ data: string | Buffer, binary }), or with { closed: { code, reason } } once the socket has
 * closed and the queue is empty. `unexpected` resolves with { status, headers, body } when the server
 * answers the upgrade request with something other than 101.
 */
export function wsConnect(server, query = {}, { headers = {} } = {}) {
  const url = `ws://127.0.0.1:${server.port}${enginePath({ transport: "websocket", ...query })}`;
  const ws = new WebSocket(url, { headers });
  const queue = [];
  const waiters = [];
  let closed = null;
  const deliver = (item) => {
    const waiter = waiters.shift();
    if (waiter) waiter(item);
    else queue.push(item);
  };
  ws.on("message", (data, binary) => deliver({ data: binary ? Buffer.from(data) : data.toString(), binary }));
  ws.on("error", () => {});
  const closedPromise = new Promise((resolve) => {
    ws.on("close", (code, reason) => {
      closed = { code, reason: reason.toString() };
      while (waiters.length) waiters.shift()({ closed });
      resolve(closed);
    });
  });
  const unexpected = new Promise((resolve) => {
    ws.on("unexpected-response", (req, res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() });
        req.destroy();
      });
    });
  });
  const opened = new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("close", () => reject(new Error("websocket closed before opening")));
  });
  opened.catch(() => {});
  return {
    ws,
    opened,
    closed: closedPromise,
    unexpected,
    send: (data) => ws.send(data),
    /** The next message, or a rejection after `ms`. */
    next(ms = 5000) {
      if (queue.length) return Promise.resolve(queue.shift());
      if (closed) return Promise.resolve({ closed });
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const i = waiters.indexOf(waiter);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`no websocket message within ${ms} ms`));
        }, ms);
        const waiter = (item) => {
          clearTimeout(timer);
          resolve(item);
        };
        waiters.push(waiter);
      });
    },
    close: () => ws.terminate(),
  };
}

/**
 * Whether session `sid` is unknown to the server: a POST of a noop packet (harmless to a live polling
 * session, where a GET would wait for data) answers 400 code 1. With `EIO: "3"` in `query` the noop is
 * framed as a v3 payload (`1:6`).
 */
export async function sidUnknown(server, sid, query = {}) {
  const res = await post(server, sid, query.EIO === "3" ? "1:6" : "6", query);
  return res.status === 400 && res.json?.code === 1;
}

// Helpers of the engine.io-client tests (both client versions).

/** Resolves once `socket` is open; rejects if it closes first. */
export function opened(socket, ms = 5000) {
  return deadline(
    new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("close", (reason, description) =>
        reject(new Error(`closed before opening: ${reason} ${description?.message ?? description ?? ""}`)),
      );
    }),
    ms,
    "open",
  );
}

/** Sends `data` and resolves with the next message. */
export async function echo(socket, data) {
  const reply = waitFor(socket, "message");
  socket.send(data);
  const [message] = await reply;
  return message;
}

/** Sends every message of `list` at once and resolves with the replies, in order of arrival. */
export async function echoAll(socket, list) {
  const replies = collect(socket, "message", list.length);
  for (const data of list) socket.send(data);
  return (await replies).map(([m]) => m);
}

/** The bytes of a received binary message (Buffer by default in Node, ArrayBuffer if asked). */
export function bytes(data) {
  assert.ok(Buffer.isBuffer(data) || data instanceof ArrayBuffer, `expected binary data, got ${typeof data}`);
  return [...(data instanceof ArrayBuffer ? new Uint8Array(data) : data)];
}

/**
 * Lets a polling client get back to a waiting GET before the server is stopped: the reference closes a
 * polling session at once and only a GET waiting at that moment gets the close packet (a GET that comes
 * later finds the session gone, and the client reports a transport error). Nothing tells when the GET
 * reaches the server, hence an echo round trip and a short pause. (Our server also waits a little for
 * the next GET, so it does not depend on this.)
 */
export async function settle(socket) {
  assert.equal(await echo(socket, "settle"), "settle");
  await sleep(150);
}
