// The real admin UI (@socket.io/admin-ui 0.5.1, ui/dist unchanged) in headless Chromium, driven by
// playwright-core: it is served by the Rust `admin-ui` example, logs in to that server, lists the
// sockets of real clients, and disconnects one of them from its row. Debian's Chromium
// (/usr/bin/chromium, or $CHROMIUM) is the browser.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { io } from "socket.io-client";
import { waitFor } from "../lib/harness.mjs";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const UI_DIST = fileURLToPath(new URL("../node_modules/@socket.io/admin-ui/ui/dist", import.meta.url));
const SHOTS = fileURLToPath(new URL("../screenshots", import.meta.url));

/** Starts the admin-ui example on a free port; resolves with its base URL. */
async function startExample(flags = []) {
  const bin = process.env.ADMIN_UI_BIN;
  if (!bin) throw new Error("ADMIN_UI_BIN is not set: run the tests through `cargo xtask conformance`");
  const child = spawn(bin, ["--port", "0", "--ui", UI_DIST, ...flags], { stdio: ["ignore", "pipe", "inherit"] });
  after(() => child.kill("SIGTERM"));
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    const port = line.match(/^listening on (\d+)/)?.[1];
    if (port) return `http://127.0.0.1:${port}`;
  }
  throw new Error("the admin-ui example exited before listening");
}

describe("the official admin UI in a browser", () => {
  it("logs in, lists the connected sockets and their rooms, and disconnects a socket", async (t) => {
    assert.ok(existsSync(CHROMIUM), `no browser at ${CHROMIUM}: apt-get install chromium`);
    const base = await startExample();
    const users = [io(base, { forceNew: true, transports: ["websocket"] }), io(base, { forceNew: true })];
    after(() => users.forEach((u) => u.disconnect()));
    await Promise.all(users.map((u) => waitFor(u, "connect")));
    users[0].emit("join", "lobby");

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    after(() => browser.close());
    const page = await browser.newPage();
    // The UI asks Google and jsDelivr for fonts and icons: not reachable here, and not needed.
    await page.route(/^https?:\/\/(?!127\.0\.0\.1)/, (route) => route.abort());
    try {
      await page.goto(`${base}/admin-ui/`);
      await page.getByLabel("Server URL").fill(base);
      await page.getByRole("button", { name: "Connect" }).click();
      // Connected: the dashboard shows this server, and the sockets page lists both clients.
      await page.goto(`${base}/admin-ui/#/sockets/`);
      for (const user of users) {
        await page.getByText(user.id).first().waitFor({ timeout: 15000 });
      }
      await page.goto(`${base}/admin-ui/#/rooms/`);
      await page.getByText("lobby").first().waitFor({ timeout: 15000 });
      // A command from the UI: the disconnect button (a logout icon) of the second client's row.
      const gone = waitFor(users[1], "disconnect", 15000);
      await page.goto(`${base}/admin-ui/#/sockets/`);
      await page.locator("tr", { hasText: users[1].id }).locator("button:has(.mdi-logout)").click();
      assert.equal((await gone)[0], "io server disconnect");
      assert.ok(users[0].connected, "the other client stays connected");
    } catch (err) {
      mkdirSync(SHOTS, { recursive: true });
      const shot = `${SHOTS}/admin-ui-${Date.now()}.png`;
      await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
      t.diagnostic(`screenshot: ${shot}`);
      throw err;
    }
  });
});
