// Regenerates node-socketio.json: the frames the official Node parsers (socket.io-parser and
// socket.io-msgpack-parser) produce for a list of packets. The Rust tests check that our encoders produce
// the same bytes and our decoders read them back.
//
// Run from a folder where those packages are installed:
//   NODE_PEERS=/path/with/node_modules node generate.mjs > node-socketio.json
import { createRequire } from "node:module";
import path from "node:path";

const peers = process.env.NODE_PEERS || "/tmp/peers";
const require = createRequire(path.join(peers, "package.json"));
const json = require("socket.io-parser");
const msgpack = require("socket.io-msgpack-parser");

// Binary values are written {"$binary": "<hex>"} in the descriptions.
const revive = (v) => {
  if (Array.isArray(v)) return v.map(revive);
  if (v && typeof v === "object") {
    if (typeof v.$binary === "string") return Buffer.from(v.$binary, "hex");
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, revive(x)]));
  }
  return v;
};
const bin = (hex) => ({ $binary: hex });
const big = "x".repeat(300);

// Field order {type, data, id, nsp} is the order in which the Node server builds an emitted packet.
const cases = [
  ["connect main namespace", { type: 0, nsp: "/" }],
  ["connect with auth", { type: 0, data: { token: "123" }, nsp: "/admin" }],
  ["connect reply", { type: 0, data: { sid: "oSO0OpakMV_3jnilAAAA", pid: "YHcX2sdAF1z452-HAAAW" }, nsp: "/" }],
  ["disconnect", { type: 1, nsp: "/admin" }],
  ["event", { type: 2, data: ["hello", 1], nsp: "/" }],
  ["event with ack in namespace", { type: 2, data: ["project:delete", 123], id: 456, nsp: "/admin" }],
  ["event with numeric name", { type: 2, data: [42, "x"], nsp: "/" }],
  ["event with unicode", { type: 2, data: ["msg", "héllo €uro 😀", { "ключ": "значение" }], nsp: "/" }],
  ["event with escapes", { type: 2, data: ["msg", "quote\" backslash\\ newline\n tab\t ctrl\u0001 slash/"], nsp: "/" }],
  ["event with numbers", { type: 2, data: ["n", 0, -1, -33, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, -129, -32769, -2147483649, 1.5, -0.25, 1e-7, 123456.789], nsp: "/" }],
  ["event with nested values", { type: 2, data: ["obj", { a: [1, { b: null, c: true, d: false }], e: {} }, [], ""], nsp: "/" }],
  ["event with long string and many keys", { type: 2, data: ["big", big, Object.fromEntries(Array.from({ length: 20 }, (_, i) => ["k" + i, i]))], nsp: "/" }],
  ["ack", { type: 3, data: [], id: 456, nsp: "/admin" }],
  ["ack with values", { type: 3, data: ["ok", { status: 200 }], id: 0, nsp: "/" }],
  ["connect error", { type: 4, data: { message: "Not authorized" }, nsp: "/" }],
  ["connect error with data", { type: 4, data: { message: "Invalid namespace", data: { code: 7 } }, nsp: "/chat" }],
  ["binary event", { type: 2, data: ["hello", bin("010203")], nsp: "/" }],
  ["binary ack", { type: 3, data: [bin("010203")], id: 456, nsp: "/admin" }],
  ["nested binary", { type: 2, data: ["upload", { name: "a", parts: [bin("00"), { inner: bin("ffee") }] }, bin("")], id: 9, nsp: "/files" }],
  ["larger binary (bin 16)", { type: 2, data: ["blob", bin("ab".repeat(300))], nsp: "/" }],
];

const hex = (b) => Buffer.from(b).toString("hex");
const out = cases.map(([name, packet]) => {
  const frames = new json.Encoder().encode(revive(packet));
  const mp = new msgpack.Encoder().encode(revive(packet));
  return {
    name,
    packet,
    json: frames.map((f) => (typeof f === "string" ? { text: f } : { binary: hex(f) })),
    msgpack: hex(mp[0]),
  };
});
console.log(JSON.stringify(out, null, 1));
