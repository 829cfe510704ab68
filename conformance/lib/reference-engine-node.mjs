#!/usr/bin/env node
// The engine-only reference app (engineio-server/examples/reference-engine.rs) on the official Node
// `engine.io` server: every message is echoed to its sender. It takes the same flags, so pointing
// ENGINE_BIN at this file runs the engine conformance tests against the reference server, which shows
// that each test asserts the reference behaviour and not our own assumptions:
//
//   ENGINE_BIN=lib/reference-engine-node.mjs node --test tests/engine-*.test.mjs
import { createServer } from "node:http";
import { createRequire } from "node:module";

// engine.io is a dependency of socket.io (CommonJS), resolved from this package.
const { Server } = createRequire(import.meta.url)("engine.io");

function parseArgs(argv) {
  const o = { port: Number(process.env.PORT ?? 3000), path: "/engine.io/", engine: { cors: { origin: "*" } } };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case "--port": o.port = Number(value()); break;
      case "--path": o.path = value(); break;
      case "--ping-interval": o.engine.pingInterval = Number(value()); break;
      case "--ping-timeout": o.engine.pingTimeout = Number(value()); break;
      case "--max-payload": o.engine.maxHttpBufferSize = Number(value()); break;
      case "--transports": o.engine.transports = value().split(","); break;
      case "--cors-origin": o.engine.cors = { origin: value() }; break;
      case "--allow-eio3": o.engine.allowEIO3 = true; break;
      case "--forbid-query": {
        const key = value();
        o.engine.allowRequest = (req, callback) => {
          const refused = new URL(req.url, "http://localhost").searchParams.has(key);
          callback(refused ? "Forbidden" : null, !refused);
        };
        break;
      }
      default: throw new Error(`unknown flag ${flag}`);
    }
  }
  return o;
}

let o;
try {
  o = parseArgs(process.argv.slice(2));
} catch (err) {
  console.error(`reference-engine (node): ${err.message}`);
  process.exit(2);
}
const http = createServer((req, res) => {
  res.writeHead(404).end();
});
const engine = new Server(o.engine);
engine.attach(http, { path: o.path });
engine.on("connection", (socket) => {
  socket.on("message", (data) => socket.send(data));
});
http.listen(o.port, "127.0.0.1", () => console.log(`listening on ${http.address().port}`));
const stop = () => {
  engine.close();
  http.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
