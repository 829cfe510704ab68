import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Socket } from "engine.io-client";
import { startServer, waitFor } from "../lib/harness.mjs";

describe("smoke", () => {
  it("echo over websocket", async () => {
    const server = await startServer("engine", []);
    const socket = new Socket(server.url, { transports: ["websocket"] });
    await waitFor(socket, "open");
    socket.send("hello");
    const [msg] = await waitFor(socket, "message");
    assert.equal(msg, "hello");
    socket.close();
  });
});
