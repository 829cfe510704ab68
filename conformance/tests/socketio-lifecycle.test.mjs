// Connection lifecycle with the official socket.io-client 4.8: connect timeout, and the disconnect
// reasons a client can observe when the server stops answering, shuts down, or dies.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Manager } from "socket.io-client";
import { startServer, waitFor, sleep, TARGET } from "../lib/harness.mjs";
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
        // The Node server only tells a polling client it is closing if the client's GET is waiting at
        // that moment (ours waits up to 2 s for the next one): an echo, then a moment for the client's
        // next GET to arrive, so that the scenario holds for the reference server too.
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
