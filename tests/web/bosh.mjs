// Strophe.js in headless Chromium: alice logs in over BOSH, bob over WebSocket, and they
// exchange messages both ways. The page is Lilt's own BOSH info page (same origin as the
// endpoints); Strophe is injected from node_modules. Run by tests/bosh.rs, which sets:
//   LILT_URL   the server's base URL, e.g. http://localhost:40123
//   LILT_BOSH  the BOSH endpoint URL (direct, or through a proxy)
//   LILT_DOMAIN, CHROMIUM
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const base = process.env.LILT_URL;
const bosh = process.env.LILT_BOSH || base + "/http-bind";
const domain = process.env.LILT_DOMAIN || "localhost";
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
if (!base) throw new Error("LILT_URL is not set");
const here = dirname(fileURLToPath(import.meta.url));

const userDataDir = mkdtempSync(join(tmpdir(), "lilt-chromium-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  // LILT_PROXIED=1: the names resolve to loopback and the proxy's self-signed
  // certificate is accepted (the nginx run of tests/bosh.rs).
  ignoreHTTPSErrors: process.env.LILT_PROXIED === "1",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ...(process.env.LILT_PROXIED === "1"
      ? ["--host-resolver-rules=MAP * 127.0.0.1", "--ignore-certificate-errors"] : [])],
});
let failed = false;
try {
  const page = await context.newPage();
  page.on("console", (m) => console.log("[page] " + m.text()));
  page.on("pageerror", (e) => console.log("[page error] " + e.message));
  await page.goto(new URL(bosh).origin + new URL(bosh).pathname);
  await page.addScriptTag({ path: join(here, "node_modules/strophe.js/dist/strophe.umd.min.js") });
  const result = await page.evaluate(async ({ bosh, ws, domain }) => {
    const ns = window.Strophe;
    const Strophe = ns.Strophe || ns;
    const $msg = ns.$msg || window.$msg;
    const $pres = ns.$pres || window.$pres;
    const login = (url, user) => new Promise((resolve, reject) => {
      const c = new Strophe.Connection(url);
      const timer = setTimeout(() => reject(new Error(user + ": login timed out")), 15000);
      c.connect(`${user}@${domain}/web`, user + "-secret", (status) => {
        if (status === Strophe.Status.CONNECTED) { clearTimeout(timer); c.send($pres()); resolve(c); }
        if (status === Strophe.Status.AUTHFAIL || status === Strophe.Status.CONNFAIL) {
          clearTimeout(timer); reject(new Error(user + ": status " + status));
        }
      });
    });
    const next = (c) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no message")), 15000);
      c.addHandler((m) => {
        const body = m.getElementsByTagName("body")[0];
        if (!body) return true;
        clearTimeout(timer);
        resolve({ from: m.getAttribute("from"), body: body.textContent });
        return false;
      }, null, "message");
    });
    const alice = await login(bosh, "alice");
    const bob = await login(ws, "bob");
    const boshKind = alice._proto instanceof Strophe.Bosh ? "Bosh" : "other";
    const toBob = next(bob);
    alice.send($msg({ to: `bob@${domain}/web`, type: "chat" }).c("body").t("hello from bosh"));
    const got1 = await toBob;
    const toAlice = next(alice);
    bob.send($msg({ to: `alice@${domain}/web`, type: "chat" }).c("body").t("hello from websocket"));
    const got2 = await toAlice;
    alice.disconnect(); bob.disconnect();
    return { boshKind, jid: alice.jid, got1, got2 };
  }, { bosh, ws: base.replace("http", "ws") + "/xmpp-websocket", domain });
  console.log("result: " + JSON.stringify(result));
  if (result.got1.body !== "hello from bosh" || !result.got1.from.startsWith("alice@")) throw new Error("bob got " + JSON.stringify(result.got1));
  if (result.got2.body !== "hello from websocket" || !result.got2.from.startsWith("bob@")) throw new Error("alice got " + JSON.stringify(result.got2));
  console.log("bosh chat passed");
} catch (e) {
  failed = true;
  console.log("FAILED: " + (e && e.stack || e));
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
