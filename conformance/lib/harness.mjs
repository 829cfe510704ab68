// Shared helpers of the conformance tests: start the Rust reference apps on free ports, wait for events
// with deadlines, and speak raw HTTP to the engine.
//
// The binaries come from the environment (set by `cargo xtask conformance`):
//   ENGINE_BIN    the engine-only reference app (engineio-server example `reference-engine`)
//   SOCKETIO_BIN  the Socket.IO reference app (socketio example `reference`)
//   AXUM_BIN      the axum example (kind "axum": Socket.IO mounted in an axum app behind an auth layer)
// The kind "node" is the same Socket.IO app on the official Node server (apps/reference.mjs).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { after } from "node:test";

const running = new Set();

function command(kind) {
  if (kind === "node") {
    return [process.execPath, [fileURLToPath(new URL("../apps/reference.mjs", import.meta.url))]];
  }
  const name = { engine: "ENGINE_BIN", axum: "AXUM_BIN" }[kind] ?? "SOCKETIO_BIN";
  const path = process.env[name];
  if (!path) throw new Error(`${name} is not set: run the tests through \`cargo xtask conformance\``);
  return [path, []];
}

/**
 * Starts a reference app (`kind` is "engine", "socketio", or "node" for the Node twin of "socketio")
 * with `flags` on a free port (or `port`), and resolves once it prints `listening on PORT`. The server
 * is stopped when the test file ends.
 */
export async function startServer(kind, flags = [], { port = 0 } = {}) {
  const [program, prefix] = command(kind);
  const child = spawn(program, [...prefix, "--port", String(port), ...flags], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const server = {
    kind,
    flags,
    child,
    port: 0,
    get url() {
      return `http://127.0.0.1:${this.port}`;
    },
    stderr: "",
    exited: new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal }))),
    /** Stops the server with SIGTERM (a graceful close) and waits for it to exit. */
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await this.exited;
      running.delete(this);
    },
    /** Starts the same program again on the same port (a server restart). */
    restart() {
      return startServer(kind, flags, { port: this.port });
    },
  };
  child.stderr.on("data", (d) => {
    server.stderr += d;
  });
  running.add(server);
  const lines = createInterface({ input: child.stdout });
  server.port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${kind} server did not start: ${server.stderr}`)), 10000);
    lines.on("line", (line) => {
      const m = /^listening on (\d+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${kind} server exited with ${code} before listening: ${server.stderr}`));
    });
  });
  return server;
}

after(async () => {
  await Promise.all([...running].map((s) => s.stop("SIGKILL")));
});

/** Resolves with the arguments of the next `event` on `emitter` (as an array), or rejects after `ms`. */
export function waitFor(emitter, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${ms} ms waiting for "${event}"`));
    }, ms);
    const handler = (...args) => {
      clearTimeout(timer);
      off();
      resolve(args);
    };
    const off = () => (emitter.off ? emitter.off(event, handler) : emitter.removeListener(event, handler));
    emitter.on(event, handler);
  });
}

/** Resolves once `emitter` has emitted `event` `count` times, with the argument lists. */
export function collect(emitter, event, count, ms = 5000) {
  return new Promise((resolve, reject) => {
    const seen = [];
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${ms} ms: ${seen.length} of ${count} "${event}"`));
    }, ms);
    const handler = (...args) => {
      seen.push(args);
      if (seen.length === count) {
        clearTimeout(timer);
        off();
        resolve(seen);
      }
    };
    const off = () => (emitter.off ? emitter.off(event, handler) : emitter.removeListener(event, handler));
    emitter.on(event, handler);
  });
}

/** Resolves if `event` does NOT happen within `ms`; rejects if it does. */
export function notWithin(emitter, event, ms) {
  return new Promise((resolve, reject) => {
    const handler = (...args) => {
      clearTimeout(timer);
      reject(new Error(`unexpected "${event}": ${JSON.stringify(args)}`));
    };
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      resolve();
    }, ms);
    emitter.on(event, handler);
  });
}

/** Rejects after `ms` with `message` unless `promise` settles first. */
export function deadline(promise, ms, message) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${message}: no result after ${ms} ms`)), ms);
    }),
  ]);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A raw HTTP request (fetch) to `server` at `path`; resolves with { status, headers, text, json }. */
export async function http(server, path, init = {}) {
  const res = await fetch(`${server.url}${path}`, init);
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/**
 * The Socket.IO server the tests drive: the Rust reference app ("socketio", the default) or, with
 * `TARGET_SERVER=node`, its twin on the official Node server, which shows that a test asserts the
 * reference behaviour and not our own assumptions.
 */
export const TARGET = process.env.TARGET_SERVER === "node" ? "node" : "socketio";

// The buses of the cluster scenarios: `cargo xtask conformance` starts a throwaway Redis and Postgres
// and passes them here; run by hand, the machine's own on their default ports.
/** `host:port` of the Redis. */
export const REDIS_ADDR = process.env.CONFORMANCE_REDIS ?? "127.0.0.1:6379";
/** The connection URL of the Postgres. */
export const POSTGRES_URL = process.env.CONFORMANCE_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/test";
/**
 * The seed nodes of a Redis Cluster (three primaries), `host:port` each, or an empty list when there is
 * none (`cargo xtask conformance` starts one when `redis-server` is installed; its Redis Cluster
 * scenarios are skipped otherwise).
 */
export const REDIS_CLUSTER_SEEDS = (process.env.CONFORMANCE_REDIS_CLUSTER ?? "").split(",").filter(Boolean);

/**
 * Calls `check` every 25 ms until it neither throws nor returns `false`, at most `ms` long; for state
 * that another connection changes (e.g. a socket that left is no longer fetched), where no event tells
 * us when. Fails with the last error, or with `message` when the check kept returning `false`.
 */
export async function eventually(check, ms = 3000, message = "condition") {
  const end = Date.now() + ms;
  for (;;) {
    let failure;
    try {
      const result = await check();
      if (result !== false) return result;
      failure = new Error(`${message} did not hold within ${ms} ms`);
    } catch (err) {
      failure = err;
    }
    if (Date.now() > end) throw failure;
    await sleep(25);
  }
}
