// serveClient: the official client bundle under /socket.io/, byte for byte and with the same ETag as the
// Node server's (which serves it by default). Our reference app gets the bundle's folder from the
// installed `socket.io` package (`--serve-client .../client-dist`); Node's twin serves that same folder.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { startServer } from "../lib/harness.mjs";

const dist = fileURLToPath(new URL("../node_modules/socket.io/client-dist/", import.meta.url));
const FILES = ["socket.io.js", "socket.io.min.js", "socket.io.msgpack.min.js", "socket.io.esm.min.js", "socket.io.min.js.map"];

describe("serveClient: the bundle as Node serves it", () => {
  let ours, node;
  before(async () => {
    ours = await startServer("socketio", ["--serve-client", dist]);
    node = await startServer("node");
  });
  after(async () => {
    await Promise.all([ours?.stop(), node?.stop()]);
  });

  for (const file of FILES) {
    it(`${file}: same bytes, type and ETag, and 304 once cached`, async () => {
      const expected = readFileSync(dist + file);
      const answers = [];
      for (const server of [ours, node]) {
        const res = await fetch(`${server.url}/socket.io/${file}`, { headers: { "accept-encoding": "identity" } });
        assert.equal(res.status, 200);
        const body = Buffer.from(await res.arrayBuffer());
        assert.ok(body.equals(expected), `${file} differs`);
        answers.push({ type: res.headers.get("content-type"), etag: res.headers.get("etag") });
        const again = await fetch(`${server.url}/socket.io/${file}`, { headers: { "if-none-match": res.headers.get("etag") } });
        assert.equal(again.status, 304);
      }
      assert.deepEqual(answers[0], answers[1]);
    });
  }

  it("gzip for clients that accept it (fetch decodes it)", async () => {
    const res = await fetch(`${ours.url}/socket.io/socket.io.min.js`, { headers: { "accept-encoding": "gzip" } });
    assert.equal(res.headers.get("content-encoding"), "gzip");
    const body = Buffer.from(await res.arrayBuffer());
    assert.ok(body.equals(readFileSync(dist + "socket.io.min.js")));
  });
});
