// Regenerates node-engineio.json: what the official Node parsers produce for a list of packet lists.
//   - engine.io-parser 5.x (protocol v4): encodePayload, and encodePacket for websocket frames;
//   - engine.io-parser 2.x (protocol v3, the one socket.io-client 2.x uses): encodePayload in the string
//     form (no binary support) and with binary support, encodePayloadAsBinary, and encodePacket for frames.
// The Rust test (tests/node_vectors.rs) checks that our encoders produce the same bytes and that our
// decoders read them back.
//
// Run with the packages installed under NODE_PEERS (default /tmp/peers):
//   node engineio-parser/tests/vectors/generate.mjs
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const peers = process.env.NODE_PEERS || "/tmp/peers";
const require = createRequire(path.join(peers, "package.json"));
const v4 = require("engine.io-parser");
const v3 = require("socket.io-client-v2/node_modules/engine.io-parser");
const version = (dir) => JSON.parse(readFileSync(path.join(peers, "node_modules", dir, "package.json"))).version;
const versions = { v4: version("engine.io-parser"), v3: version("socket.io-client-v2/node_modules/engine.io-parser") };

// Packets are described as {type, text} or {type, binary: "<hex>"} or {type} alone.
const text = (type, text) => ({ type, text });
const bin = (hex) => ({ type: "message", binary: hex });
const ctl = (type) => ({ type });
const bytes = (n) => Buffer.from(Array.from({ length: n }, (_, i) => i % 256)).toString("hex");
const handshake = JSON.stringify({
  sid: "lv_VI97HAXpY6yYWAAAC",
  upgrades: ["websocket"],
  pingInterval: 25000,
  pingTimeout: 5000,
  maxPayload: 1000000,
});

const cases = [
  ["handshake", [text("open", handshake)]],
  ["message", [text("message", "hello")]],
  ["heartbeat", [ctl("ping"), ctl("pong")]],
  ["upgrade probe", [text("ping", "probe"), text("pong", "probe")]],
  ["control packets", [ctl("close"), ctl("upgrade"), ctl("noop")]],
  ["non-ASCII text", [text("message", "€"), text("message", "héllo wörld ключ")]],
  ["astral characters", [text("message", "😀"), text("message", "a😀b👍🏽c")]],
  ["empty text", [text("message", "")]],
  ["binary", [bin("01020304")]],
  ["binary padding", [bin("ff"), bin("0001"), bin("000102"), bin(bytes(256))]],
  ["empty binary", [bin("")]],
  ["mixed", [text("message", "hello"), bin("010203"), ctl("ping"), text("message", "€😀"), ctl("noop")]],
  ["long text and binary", [text("message", "x".repeat(300) + "é".repeat(50)), bin(bytes(1000))]],
  ["json messages", Array.from({ length: 5 }, (_, i) => text("message", `2["chat",{"user":"u${i}","text":"hi ${i}"}]`))],
];

const toNode = (p) =>
  p.binary !== undefined ? { type: p.type, data: Buffer.from(p.binary, "hex") } : p.text !== undefined ? { type: p.type, data: p.text } : { type: p.type };
const hex = (b) => Buffer.from(b).toString("hex");
const wire = (x) => (typeof x === "string" ? { text: x } : { binary: hex(x) });
// Every encoder of both parsers calls back synchronously.
const sync = (f) => {
  let out;
  f((x) => (out = x));
  if (out === undefined) throw new Error("encoder did not call back synchronously");
  return out;
};

const out = {
  generator: "tests/vectors/generate.mjs",
  "engine.io-parser v4": versions.v4,
  "engine.io-parser v3": versions.v3,
  cases: cases.map(([name, packets]) => {
    const node = packets.map(toNode);
    return {
      name,
      packets,
      v4_payload: sync((cb) => v4.encodePayload(node, cb)),
      v4_frames: node.map((p) => wire(sync((cb) => v4.encodePacket(p, true, cb)))),
      v3_payload_string: sync((cb) => v3.encodePayload(node, false, cb)),
      v3_payload_supports_binary: wire(sync((cb) => v3.encodePayload(node, true, cb))),
      v3_payload_binary: hex(sync((cb) => v3.encodePayloadAsBinary(node, cb))),
      v3_frames: node.map((p) => wire(sync((cb) => v3.encodePacket(p, true, cb)))),
    };
  }),
};
const file = new URL("./node-engineio.json", import.meta.url);
writeFileSync(file, JSON.stringify(out, null, 1) + "\n");
console.log(`wrote ${out.cases.length} cases to ${file.pathname}`);
