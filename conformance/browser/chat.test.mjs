// The `chat` example end to end: the Rust server serves the page, and two users, each in their own
// headless Chromium context with the official socket.io browser client, log in, talk both ways, see
// each other type, move to another room, and leave. Once per transport the page can be pinned to.
//
// Run by `cargo xtask e2e-browser`, which builds the example and passes its path in CHAT_BIN (else the
// debug build under target/ is used). Debian's Chromium is the browser (/usr/bin/chromium, or $CHROMIUM).
// On failure, both pages are saved under target/e2e-browser/screenshots/ (or $E2E_SCREENSHOTS).
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const CHAT_BIN = process.env.CHAT_BIN ?? fileURLToPath(new URL("../../debug/examples/chat", import.meta.url));
const CLIENT_JS = fileURLToPath(
  new URL("../node_modules/socket.io-client/dist/socket.io.min.js", import.meta.url),
);
const SHOTS = process.env.E2E_SCREENSHOTS ?? fileURLToPath(new URL("../../e2e-browser/screenshots", import.meta.url));
const WAIT_MS = 10000;

/** Starts the chat example on a free port; resolves with its base URL. */
async function startChat() {
  assert.ok(existsSync(CHAT_BIN), `no chat example at ${CHAT_BIN}: run \`cargo xtask e2e-browser\``);
  const child = spawn(CHAT_BIN, ["--port", "0", "--client-js", CLIENT_JS], { stdio: ["ignore", "pipe", "inherit"] });
  after(() => child.kill("SIGTERM"));
  for await (const line of createInterface({ input: child.stdout })) {
    const port = line.match(/^listening on (\d+)/)?.[1];
    if (port) return `http://127.0.0.1:${port}`;
  }
  throw new Error("the chat example exited before listening");
}

/** A user's page, with a count of the Engine.IO requests it made per transport. */
async function openUser(browser, url, name) {
  const context = await browser.newContext();
  // Nothing outside the chat server is needed (nor reachable here).
  await context.route(/^https?:\/\/(?!127\.0\.0\.1)/, (route) => route.abort());
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  const seen = { polling: 0, websocket: 0 };
  page.on("request", (req) => {
    if (/\/socket\.io\/\?.*transport=polling/.test(req.url())) seen.polling += 1;
  });
  page.on("websocket", (ws) => {
    if (ws.url().includes("/socket.io/")) seen.websocket += 1;
  });
  await page.goto(url);
  return { name, page, seen, context };
}

/** Runs one step of a scenario; its failure names the step. */
async function step(name, body) {
  try {
    await body();
  } catch (err) {
    throw new Error(`step "${name}" failed: ${err.message}`, { cause: err });
  }
}

const messageFrom = (page, from, text) =>
  page.locator(`#messages li[data-kind="message"][data-from="${from}"]`, { hasText: text });
const notice = (page, kind, nickname) =>
  page.locator(`#messages li[data-notice="${kind}"][data-nickname="${nickname}"]`);
const roomCount = (page, room, members) =>
  page.locator(`#rooms li[data-room="${room}"][data-members="${members}"]`);

async function login(page, nickname) {
  await page.fill("#nickname", nickname);
  await page.click("#login-button");
}

/** Sends `text` and waits for the server's ack to mark it delivered. */
async function say(page, text) {
  await page.fill("#message", text);
  await page.press("#message", "Enter");
  await page.locator('#messages li[data-mine="true"][data-status="delivered"]', { hasText: text }).waitFor();
}

const typingText = (page) => page.locator("#typing").textContent();
const waitTypingCleared = (page) =>
  page.waitForFunction(() => document.getElementById("typing").textContent === "", null, { timeout: WAIT_MS });

// transport in the URL → what the page must end up on, and which transports it may use on the way.
const CASES = [
  { query: "polling", final: "polling", polling: true, websocket: false },
  { query: "websocket", final: "websocket", polling: false, websocket: true },
  { query: null, final: "websocket", polling: true, websocket: true },
];

describe("the chat example in a browser", () => {
  let browser;
  before(async () => {
    assert.ok(existsSync(CHROMIUM), `no browser at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  });
  after(() => browser?.close());

  for (const c of CASES) {
    const label = c.query ? `transport=${c.query}` : "default transports (polling, then upgrade)";
    it(`two users chat, switch rooms and leave (${label})`, async () => {
      const base = await startChat();
      const url = c.query ? `${base}/?transport=${c.query}` : `${base}/`;
      const ann = await openUser(browser, url, "ann");
      const bob = await openUser(browser, url, "bob");
      after(() => Promise.all([ann.context.close(), bob.context.close()]).catch(() => {}));
      const [A, B] = [ann.page, bob.page];
      try {
        await step("both log in to general", async () => {
          await login(A, "ann");
          await A.locator("#current-room", { hasText: "#general" }).waitFor();
          assert.equal(await A.locator("#me").textContent(), "ann");
          // A nickname in use, whatever its case, is refused through the ack.
          await login(B, "ANN");
          await B.locator("#login-error", { hasText: "taken" }).waitFor();
          await login(B, "bob");
          await B.locator("#current-room", { hasText: "#general" }).waitFor();
          await notice(A, "join", "bob").waitFor();
          await roomCount(A, "general", 2).waitFor();
          await roomCount(B, "general", 2).waitFor();
        });

        await step(`the pages run on ${c.final}`, async () => {
          for (const page of [A, B]) {
            await page.locator(`body[data-connected="true"][data-transport="${c.final}"]`).waitFor();
          }
        });

        await step("messages go both ways in general, acknowledged", async () => {
          await say(A, "hello from ann");
          await messageFrom(B, "ann", "hello from ann").waitFor();
          await say(B, "hi ann, bob here");
          await messageFrom(A, "bob", "hi ann, bob here").waitFor();
        });

        await step("ann sees bob typing, until he stops", async () => {
          await B.fill("#message", "thinking about");
          await A.locator("#typing", { hasText: "bob is typing…" }).waitFor();
          // No keystroke for a while: bob's page says he stopped.
          await waitTypingCleared(A);
        });

        await step("bob's message clears his typing indicator", async () => {
          await B.fill("#message", "what to say");
          await A.locator("#typing", { hasText: "bob is typing…" }).waitFor();
          await B.press("#message", "Enter");
          await messageFrom(A, "bob", "what to say").waitFor();
          assert.equal(await typingText(A), "");
        });

        await step("the server refuses an overlong message through the ack", async () => {
          await B.evaluate(() => document.getElementById("message").removeAttribute("maxlength"));
          await B.fill("#message", "x".repeat(501));
          await B.press("#message", "Enter");
          await B.locator('#messages li[data-mine="true"][data-status="failed"]', {
            hasText: "longer than 500 characters",
          }).waitFor();
          await waitTypingCleared(A);
        });

        await step("ann moves to a new room; bob sees her go and the counts change", async () => {
          await A.fill("#room-name", "random");
          await A.click("#join-button");
          await A.locator("#current-room", { hasText: "#random" }).waitFor();
          assert.equal(await A.locator('#messages li[data-kind="message"]').count(), 0, "ann's list was not cleared");
          await B.locator('#messages li[data-notice="leave"][data-nickname="ann"][data-to="random"]').waitFor();
          for (const page of [A, B]) {
            await roomCount(page, "general", 1).waitFor();
            await roomCount(page, "random", 1).waitFor();
          }
        });

        await step("messages stay in their room", async () => {
          await say(A, "only in random");
          // bob's ack comes after anything the server sent him before: had ann's message reached
          // general, it would be on bob's page by now.
          await say(B, "still in general");
          assert.equal(await messageFrom(B, "ann", "only in random").count(), 0, "general got a message of random");
        });

        await step("bob follows ann to random", async () => {
          await B.click('#rooms li[data-room="random"] button');
          await B.locator("#current-room", { hasText: "#random" }).waitFor();
          await notice(A, "join", "bob").waitFor();
          // Sent to ann before bob's join notice, had it leaked.
          assert.equal(await messageFrom(A, "bob", "still in general").count(), 0, "random got a message of general");
          for (const page of [A, B]) {
            await roomCount(page, "random", 2).waitFor();
            await roomCount(page, "general", 0).waitFor();
          }
          await say(B, "followed you");
          await messageFrom(A, "bob", "followed you").waitFor();
          await say(A, "welcome to random");
          await messageFrom(B, "ann", "welcome to random").waitFor();
        });

        await step("bob leaves the chat; ann is told", async () => {
          await B.click("#logout");
          await B.locator("#login-form").waitFor();
          await A.locator('#messages li[data-notice="leave"][data-nickname="bob"]:not([data-to])', {
            hasText: "bob left",
          }).waitFor();
          await roomCount(A, "random", 1).waitFor();
        });

        await step(`only the expected transports were used (${c.final} at the end)`, async () => {
          assert.equal(await A.locator("body").getAttribute("data-transport"), c.final);
          for (const user of [ann, bob]) {
            assert.equal(user.seen.polling > 0, c.polling, `${user.name}: ${user.seen.polling} polling requests`);
            assert.equal(user.seen.websocket > 0, c.websocket, `${user.name}: ${user.seen.websocket} websockets`);
          }
        });
      } catch (err) {
        mkdirSync(SHOTS, { recursive: true });
        const tag = c.query ?? "default";
        const shots = [];
        for (const user of [ann, bob]) {
          const path = `${SHOTS}/chat-${tag}-${user.name}.png`;
          if (await user.page.screenshot({ path, fullPage: true }).then(() => true, () => false)) shots.push(path);
        }
        const saved = shots.length ? shots.join(", ") : "none could be taken";
        throw new Error(`${err.message}\nscreenshots: ${saved}`, { cause: err.cause ?? err });
      }
    });
  }
});
