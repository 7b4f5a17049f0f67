// Drives the example chat page (examples/web) in headless Chromium against a running
// Lilt: two pages register two users, add each other (roster set + subscription, each
// accepting the other's request), see each other online and exchange messages. Saves
// screenshots. Run by tests/web_chat.rs, which starts the server and sets:
//   LILT_URL       page URL, e.g. http://localhost:40123/
//   LILT_ARTIFACT  where to write the screenshot (PNG)
//   CHROMIUM       the browser (default /usr/bin/chromium)
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const url = process.env.LILT_URL;
const artifact = process.env.LILT_ARTIFACT || "chat.png";
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
if (!url) throw new Error("LILT_URL is not set");

const userDataDir = mkdtempSync(join(tmpdir(), "lilt-chromium-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  viewport: { width: 1000, height: 640 },
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const timeout = 15000;
const step = (msg) => console.log("step: " + msg);

async function pageFor(name) {
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  page.on("pageerror", (e) => console.log(`[${name}] page error: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") console.log(`[${name}] console: ${m.text()}`); });
  await page.goto(url);
  return page;
}

async function register(page, user) {
  await page.fill("#username", user);
  await page.fill("#password", user + "-secret");
  await page.click("#register-btn");
  await page.waitForSelector("#main:not([hidden])");
  const me = await page.textContent("#me");
  if (!me.startsWith(user + "@localhost/")) throw new Error(`${user} bound as ${me}`);
}

let failed = false;
try {
  step("open two pages");
  const alice = await pageFor("alice");
  const bob = await pageFor("bob");
  const domain = await alice.inputValue("#domain");
  if (domain !== "localhost") throw new Error("server field prefilled with " + domain);

  step("register alice and bob");
  await register(alice, "alice");
  await register(bob, "bob");

  step("alice adds bob");
  await alice.fill("#add-jid", "bob");
  await alice.click("#add-btn");
  await alice.waitForSelector('#roster li[data-jid="bob@localhost"]');

  step("bob accepts and adds alice back");
  await bob.click('#requests li[data-jid="alice@localhost"] button.accept');
  await bob.waitForSelector('#roster li[data-jid="alice@localhost"]');

  step("alice accepts bob's request");
  await alice.click('#requests li[data-jid="bob@localhost"] button.accept');

  step("both see each other online with a mutual subscription");
  await alice.waitForSelector('#roster li.online[data-jid="bob@localhost"]');
  await bob.waitForSelector('#roster li.online[data-jid="alice@localhost"]');
  await alice.waitForFunction(() => document.querySelector('#roster li[data-jid="bob@localhost"] .sub')?.textContent === "both");
  await bob.waitForFunction(() => document.querySelector('#roster li[data-jid="alice@localhost"] .sub')?.textContent === "both");

  step("alice writes to bob");
  await alice.click('#roster li[data-jid="bob@localhost"]');
  await alice.fill("#msg", "Hello Bob, this is Lilt!");
  await alice.click("#send");
  await bob.waitForSelector('.msg.in:has-text("Hello Bob, this is Lilt!")');

  step("bob answers");
  await bob.fill("#msg", "Hi Alice, loud and clear.");
  await bob.click("#send");
  await alice.waitForSelector('.msg.in:has-text("Hi Alice, loud and clear.")');

  mkdirSync(dirname(artifact), { recursive: true });
  await alice.screenshot({ path: artifact });
  await bob.screenshot({ path: artifact.replace(/\.png$/, "-bob.png") });
  console.log("screenshot: " + artifact);
  console.log("chat flow passed");
} catch (e) {
  failed = true;
  console.log("FAILED: " + e.message);
  for (const [i, page] of context.pages().entries()) {
    try {
      mkdirSync(dirname(artifact), { recursive: true });
      await page.screenshot({ path: artifact.replace(/\.png$/, `-failure-${i}.png`) });
      console.log(`page ${i} status: ${await page.textContent("#status")}`);
    } catch {}
  }
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
