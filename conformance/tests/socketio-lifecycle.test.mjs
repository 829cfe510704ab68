// Connection lifecycle with the official socket.io-client 4.8: connect timeout, and the disconnect
// reasons a client can observe when the server stops answering, shuts down, or dies.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Manager } from "socket.io-client";
import { startServer, waitFor, sleep, deadline, TARGET } from "../lib/harness.mjs";
import { clientFactory, ack, TRANSPORTS } from "../lib/sio.mjs";

for (const transport of Object.keys(TRANSPORTS)) {
  describe(transport, () => {
    it("connect timeout closes a connection that joins no namespace", async () => {
      const server = await startServer(TARGET, ["--connect-timeout", "300"]);
      const m = new Manager(server.url, { autoConnect: false, reconnection: false, ...TRANSPORTS[transport] });
      try {
        const opened = Date.now();
        m.open();
        await waitFor(m, "open");
        const [reason] = await waitFor(m, "close", 5000);
        assert.equal(reason, "transport close");
        assert.ok(Date.now() - opened >= 250, `closed after ${Date.now() - opened} ms`);
      } finally {
        m._close();
        await server.stop();
      }
    });

    it("ping timeout when the server stops answering", async () => {
      const server = await startServer(TARGET, ["--ping-interval", "200", "--ping-timeout", "300"]);
      const clients = clientFactory(server, transport, "json");
      try {
        const socket = await clients.connect("/");
        await waitFor(socket.io, "ping", 2000);
        server.child.kill("SIGSTOP");
        try {
          const [reason] = await waitFor(socket, "disconnect", 5000);
          assert.equal(reason, "ping timeout");
        } finally {
          server.child.kill("SIGCONT");
        }
      } finally {
        clients.closeAll();
        await server.stop();
      }
    });

    it("server shutting down: transport close", async () => {
      const server = await startServer(TARGET, []);
      const clients = clientFactory(server, transport, "json");
      try {
        const socket = await clients.connect("/");
        // A server that shuts down tells a polling client it is closing only if the client's GET is
        // waiting at that moment (it waits for no client): an echo, then a moment for the client's next
        // GET to arrive.
        assert.deepEqual(await ack(socket, "echo", 1), [1]);
        await sleep(150);
        const down = waitFor(socket, "disconnect", 5000);
        await server.stop("SIGTERM");
        assert.equal((await down)[0], "transport close");
      } finally {
        clients.closeAll();
      }
    });

    it("server killed: the connection is lost", async () => {
      const server = await startServer(TARGET, []);
      const clients = clientFactory(server, transport, "json");
      try {
        const socket = await clients.connect("/");
        const down = waitFor(socket, "disconnect", 5000);
        await server.stop("SIGKILL");
        // A dead websocket reads as a close; a polling request that fails is an error.
        assert.equal((await down)[0], transport === "polling" ? "transport error" : "transport close");
      } finally {
        clients.closeAll();
      }
    });
  });
}

// The shutdown of a server that has served a while: every kind of session and connection a test run
// leaves behind, then a signal. The reference's io.close() closes every client at once and returns.
describe("shutdown", () => {
  for (const signal of ["SIGTERM", "SIGINT"]) {
    it(`the server exits within 1 s of ${signal} after a run of traffic`, async () => {
      const server = await startServer(TARGET, []);
      const polling = `${server.url}/socket.io/?EIO=4&transport=polling`;
      const factories = [];
      try {
        // Clients of every transport: one that talks and leaves, one that talks and stays.
        for (const transport of Object.keys(TRANSPORTS)) {
          const clients = clientFactory(server, transport, "json");
          factories.push(clients);
          const leaving = await clients.connect("/");
          assert.deepEqual(await ack(leaving, "echo", 1), [1]);
          leaving.disconnect();
          const staying = await clients.connect("/");
          assert.deepEqual(await ack(staying, "echo", 2), [2]);
        }
        // Raw polling sessions over keep-alive connections (fetch): handshakes with no GET waiting...
        const open = async () => JSON.parse((await (await fetch(polling)).text()).slice(1)).sid;
        for (let i = 0; i < 5; i++) await open();
        // ... and one the server closed itself (disconnect(true)): it waits for the client's next GET,
        // which does not come.
        const sid = await open();
        const session = `${polling}&sid=${sid}`;
        assert.equal(await (await fetch(session, { method: "POST", body: "40" })).text(), "ok");
        assert.match(await (await fetch(session)).text(), /^40/);
        const disconnectMe = '42["disconnect-me",true]';
        assert.equal(await (await fetch(session, { method: "POST", body: disconnectMe })).text(), "ok");
        assert.ok((await (await fetch(session)).text()).split("\x1e").includes("41"));
        // Refused requests, their connections left open and idle.
        for (let i = 0; i < 3; i++) {
          const res = await fetch(`${server.url}/socket.io/?EIO=4&transport=carrier-pigeon`);
          await res.arrayBuffer();
          assert.equal(res.status, 400);
        }
        const began = Date.now();
        server.child.kill(signal);
        const { code } = await deadline(server.exited, 5000, `exit after ${signal}`);
        const took = Date.now() - began;
        assert.ok(took < 1000, `exited ${took} ms after ${signal}`);
        assert.equal(code, 0);
      } finally {
        for (const clients of factories) clients.closeAll();
        await server.stop("SIGKILL");
      }
    });
  }
});
