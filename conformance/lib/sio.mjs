// Helpers for the Socket.IO tests: client configurations of the matrix, value normalisation for binary.
import { io, Manager } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";
import { waitFor } from "./harness.mjs";

/** The transport column of the matrix: what the client is allowed to use, and whether it upgrades. */
export const TRANSPORTS = {
  polling: { transports: ["polling"] },
  websocket: { transports: ["websocket"] },
  "polling→websocket": { transports: ["polling", "websocket"] },
};

/** The parser column of the matrix: the server flag and the client option. */
export const PARSERS = {
  json: { flags: ["--parser", "json"], client: {} },
  msgpack: { flags: ["--parser", "msgpack"], client: { parser: msgpackParser } },
};

/**
 * A client factory for one cell of the matrix. `connect(nsp, opts)` opens a new connection (forceNew),
 * without reconnection unless asked, and resolves once connected — and, for the upgrade column, once
 * the transport is websocket. `lookup` is the client's `io` function (socket.io-client 4.8 by default).
 */
export function clientFactory(server, transport, parser, lookup = io) {
  const sockets = [];
  const make = (nsp = "/", opts = {}) => {
    const socket = lookup(`${server.url}${nsp}`, {
      forceNew: true,
      reconnection: false,
      ...TRANSPORTS[transport],
      ...PARSERS[parser].client,
      ...opts,
    });
    sockets.push(socket);
    return socket;
  };
  const connect = async (nsp = "/", opts = {}) => {
    const socket = make(nsp, opts);
    await waitFor(socket, "connect");
    if (transport === "polling→websocket" && socket.io.engine.transport.name !== "websocket") {
      await waitFor(socket.io.engine, "upgrade");
    }
    return socket;
  };
  const closeAll = () => {
    for (const s of sockets.splice(0)) {
      s.io.opts.reconnection = false;
      s.io._reconnection = false;
      s.disconnect();
      s.io.engine?.close();
    }
  };
  return { make, connect, closeAll };
}

/** A manager (one engine connection) for multiplexing tests. */
export function manager(server, transport, parser, opts = {}) {
  return new Manager(server.url, {
    reconnection: false,
    ...TRANSPORTS[transport],
    ...PARSERS[parser].client,
    ...opts,
  });
}

/** Replaces every binary value (Buffer, ArrayBuffer, typed array) by `{ $bin: hex }`, recursively. */
export function norm(value) {
  if (value instanceof ArrayBuffer) return { $bin: Buffer.from(value).toString("hex") };
  if (ArrayBuffer.isView(value)) {
    return { $bin: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex") };
  }
  if (Array.isArray(value)) return value.map(norm);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, norm(v)]));
  }
  return value;
}

/** Emits `event` with `args` and resolves with the ack's arguments. */
export function ack(socket, event, ...args) {
  return new Promise((resolve) => socket.emit(event, ...args, (...answer) => resolve(answer)));
}
