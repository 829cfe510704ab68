// The Rust client (socketio-client) under remote control: spawns the `client-driver` example
// (CLIENT_BIN, set by `cargo xtask conformance`), sends it commands and collects what its sockets
// observe. Binary values are `{ $bin: hex }` both ways, as `norm` of sio.mjs writes them.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { EventEmitter } from "node:events";
import { after } from "node:test";
import { waitFor } from "./harness.mjs";

const drivers = new Set();

after(() => {
  for (const driver of drivers) driver.stop();
});

/**
 * Starts a driver for `url` with the client options of one matrix cell: `transports` (a list), `parser`
 * ("json" or "msgpack") and `upgrade`. Resolves once it is ready.
 *
 * The result has `request(op, fields)` (resolves with the reply), `next(match, ms)` (the next
 * observation for which `match` holds, including ones already seen and not taken), `seen` (every
 * observation, in order) and `stop()`.
 */
export async function startRustClient(url, { transports, parser, upgrade = true }) {
  const path = process.env.CLIENT_BIN;
  if (!path) throw new Error("CLIENT_BIN is not set: run the tests through `cargo xtask conformance`");
  const args = ["--url", url, "--transports", transports.join(","), "--parser", parser];
  if (!upgrade) args.push("--no-upgrade");
  const child = spawn(path, args, { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const events = new EventEmitter();
  const pending = new Map();
  const seen = [];
  const untaken = [];
  let nextId = 1;
  createInterface({ input: child.stdout }).on("line", (line) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    if (msg.id !== undefined && pending.has(msg.id)) {
      pending.get(msg.id)(msg);
      pending.delete(msg.id);
      return;
    }
    msg.at = Date.now();
    seen.push(msg);
    untaken.push(msg);
    events.emit("observation", msg);
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const driver = {
    seen,
    get stderr() {
      return stderr;
    },
    request(op, fields = {}, ms = 10000) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`no reply to ${op} within ${ms} ms; driver stderr: ${stderr}`));
        }, ms);
        pending.set(id, (reply) => {
          clearTimeout(timer);
          if (reply.error !== undefined && op !== "connect" && op !== "emitWithAck") {
            reject(new Error(`${op} failed: ${reply.error}`));
          } else {
            resolve(reply);
          }
        });
        child.stdin.write(`${JSON.stringify({ id, op, ...fields })}\n`);
      });
    },
    /** The next observation matching `match` (an object of fields, or a predicate). */
    async next(match, ms = 5000) {
      const test =
        typeof match === "function" ? match : (o) => Object.entries(match).every(([k, v]) => o[k] === v);
      const end = Date.now() + ms;
      for (;;) {
        const index = untaken.findIndex(test);
        if (index >= 0) return untaken.splice(index, 1)[0];
        const left = end - Date.now();
        if (left <= 0) {
          throw new Error(
            `no observation matching ${typeof match === "function" ? match : JSON.stringify(match)} ` +
              `within ${ms} ms; seen: ${JSON.stringify(seen)}`,
          );
        }
        await waitFor(events, "observation", left).catch(() => {});
      }
    },
    /** The events named `event` the socket `name` received so far (their argument lists). */
    received(name, event) {
      return seen.filter((o) => o.ev === "event" && o.name === name && o.event === event).map((o) => o.args);
    },
    stop() {
      drivers.delete(driver);
      child.stdin.end();
      child.kill("SIGKILL");
      return exited;
    },
  };
  drivers.add(driver);
  await driver.next({ ev: "ready" }, 10000);
  return driver;
}
