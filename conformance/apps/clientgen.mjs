// The client scenario of `cargo xtask bench` on the official socket.io-client 4.8: opens --clients N
// websocket connections to the server on --port, each doing one acknowledged `echo`, and prints what
// holding them cost this process (RSS per connection, connections per second, the time for one acked
// echo on every connection) as `{"figures": {...}}`, like xtask/src/bin/clientgen.rs for our client.
import { io } from "socket.io-client";

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const port = flag("--port", 3000);
const clients = flag("--clients", 1000);
const url = `http://127.0.0.1:${port}/`;
const open = () =>
  new Promise((resolve, reject) => {
    const socket = io(url, { transports: ["websocket"], forceNew: true, reconnection: false });
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });

// One client first, so that what the process pays once is not counted.
const first = await open();
await first.emitWithAck("echo", "warm-up", 0);
const before = process.memoryUsage().rss;
let started = performance.now();
const sockets = [];
for (let i = 0; i < clients; i += 100) {
  const chunk = [];
  for (let j = i; j < Math.min(clients, i + 100); j++) chunk.push(open());
  sockets.push(...(await Promise.all(chunk)));
}
const connectSeconds = (performance.now() - started) / 1000;
started = performance.now();
await Promise.all(sockets.map((s, i) => s.emitWithAck("echo", "hello", i)));
const echoMs = performance.now() - started;
const after = process.memoryUsage().rss;
const figures = {
  clients,
  rss_per_connection_bytes: Math.max(0, after - before) / clients,
  connections_per_second: clients / connectSeconds,
  echo_all_ms: echoMs,
};
console.log(JSON.stringify({ figures }));
for (const s of sockets) s.disconnect();
first.disconnect();
process.exit(0);
