// socket.io-client 2.5 (Engine.IO v3, Socket.IO protocol v4) against the reference app with
// `--allow-eio3`: what the old clients still in the field rely on.
import { describe, it, before, afterEach } from "node:test";
import assert from "node:assert/strict";
import ioV2 from "socket.io-client-v2";
import { startServer, waitFor, notWithin, TARGET } from "../lib/harness.mjs";
import { clientFactory, norm, ack } from "../lib/sio.mjs";

for (const transport of ["polling", "websocket", "polling→websocket"]) {
  describe(`socket.io-client 2.5 · ${transport}`, () => {
    let server;
    let clients;
    const make = (nsp, opts) => clients.make(nsp, opts);
    const connect = (nsp, opts) => clients.connect(nsp, opts);
    before(async () => {
      server = await startServer(TARGET, ["--allow-eio3"]);
      clients = clientFactory(server, transport, "json", ioV2);
    });
    afterEach(() => clients.closeAll());

    it("connects to / and gets an empty auth", async () => {
      const socket = make("/");
      const [auth] = await waitFor(socket, "auth");
      assert.deepEqual(auth, {});
      await waitFor(socket, "connect").catch(() => {});
      const [me] = await ack(socket, "whoami");
      assert.equal(me.id, socket.id);
      assert.equal(me.recovered, false);
    });

    it("the namespace query is the auth", async () => {
      const socket = make("/custom", { query: { token: "abc" } });
      const [auth] = await waitFor(socket, "auth");
      assert.deepEqual(auth, { token: "abc" });
    });

    it("ids of non-root namespaces are nsp#engine-id", async () => {
      const socket = await connect("/custom");
      assert.equal(socket.id, `/custom#${socket.io.engine.id}`);
      const [me] = await ack(socket, "whoami");
      assert.equal(me.id, socket.id);
    });

    it("middleware rejection: the error's data, as the 2.x client gets it", async () => {
      // protocol v4 carries one value: the error's data when it has some, else its message.
      const socket = make("/custom", { query: { reject: "go away" } });
      const [err] = await waitFor(socket, "error");
      assert.deepEqual(err, { code: "rejected" });
    });

    it("invalid namespace", async () => {
      const socket = make("/nowhere");
      const [err] = await waitFor(socket, "error");
      assert.deepEqual(err, { message: "Invalid namespace" });
    });

    it("events, acks and binary", async () => {
      const socket = await connect("/");
      const payload = { bin: Buffer.from([1, 2, 3]), list: ["x", Buffer.from("y")] };
      socket.emit("message", payload, 7);
      assert.deepEqual(norm(await waitFor(socket, "message-back")), norm([payload, 7]));
      assert.deepEqual(norm(await ack(socket, "echo", Buffer.from([5]), "s")), norm([Buffer.from([5]), "s"]));
    });

    it("rooms and broadcast", async () => {
      const [a, b] = await Promise.all([connect("/custom"), connect("/custom")]);
      await ack(a, "join", "v2room");
      const got = waitFor(a, "room-msg");
      const quiet = notWithin(b, "room-msg", 300);
      b.emit("to-room", "v2room", "hello v2");
      assert.deepEqual(await got, ["hello v2"]);
      await quiet;
    });

    it("server-side disconnect", async () => {
      const socket = await connect("/");
      const gone = waitFor(socket, "disconnect");
      socket.emit("disconnect-me", false);
      assert.deepEqual((await gone).slice(0, 1), ["io server disconnect"]);
    });
  });
}
