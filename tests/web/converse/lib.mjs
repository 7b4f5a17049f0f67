// Shared driver for the Converse.js scenarios (tests/web/converse/*.mjs, run by
// tests/interop/converse): one headless Chromium per scenario, one browser context per user
// (a context is a device: its own cookies, IndexedDB and localStorage), Converse.js 14
// from node_modules served by Lilt's http_files at LILT_URL, and a failure report that
// carries every page's console.
//
// Environment: LILT_URL (the page's origin, e.g. http://localhost:40123), LILT_DOMAIN,
// LILT_WS / LILT_BOSH (endpoint URLs; default below LILT_URL), LILT_PROXIED=1 (names map
// to loopback and the proxy's self-signed certificate is accepted), CHROMIUM.
import { chromium } from "playwright-core";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

export const env = {
  base: need("LILT_URL"),
  domain: process.env.LILT_DOMAIN || "localhost",
  proxied: process.env.LILT_PROXIED === "1",
  chromium: process.env.CHROMIUM || "/usr/bin/chromium",
};
env.ws = process.env.LILT_WS || env.base.replace(/^http/, "ws") + "/xmpp-websocket";
env.bosh = process.env.LILT_BOSH || env.base + "/http-bind";

/** How long one step (a login, a message to arrive) may take. */
export const STEP_MS = Number(process.env.LILT_STEP_MS || 20000);

export function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (tests/interop/converse sets it)`);
  return v;
}

const started = Date.now();

/** One JSON line per finished step (with ms since start); tests/interop/converse asserts on them. */
export function step(name, fields = {}) {
  console.log(JSON.stringify({ step: name, ok: true, ms: Date.now() - started, ...fields }));
}

const pages = [];

// The closed network answers lookups of other hosts slowly or not at all; Converse's
// login page links logos on conversejs.org. Anything not ours is refused at once.
function ours(url) {
  const u = new URL(url);
  if (u.protocol === "data:" || u.protocol === "blob:") return true;
  const base = new URL(env.base).hostname;
  const h = u.hostname;
  return h === "localhost" || h.endsWith(".localhost") || h === "127.0.0.1" ||
    h === base || h.endsWith("." + base) || (env.proxied && h.endsWith(".test"));
}

/** Runs `body(browser)` and exits: 0 and "<name> passed", or 1 with every page's console. */
export async function scenario(name, body) {
  const browser = await chromium.launch({
    executablePath: env.chromium,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      // Proxied: the guide's names map to loopback; the page (served from disk under the
      // proxy's origin) must be allowed to open its WebSocket to that loopback address.
      ...(env.proxied ? ["--host-resolver-rules=MAP * 127.0.0.1", "--ignore-certificate-errors",
        "--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests"] : [])],
  });
  let failed = false;
  const timer = setTimeout(() => {
    console.log(`FAILED: ${name} did not finish within 100 s`);
    dumpConsoles();
    process.exit(1);
  }, 100000);
  try {
    await body(browser);
    console.log(`${name} passed in ${Date.now() - started} ms`);
    if (process.env.LILT_CONSOLE_ALWAYS === "1") dumpConsoles();
  } catch (e) {
    failed = true;
    console.log("FAILED: " + (e && e.stack || e));
    dumpConsoles();
  } finally {
    clearTimeout(timer);
    await browser.close().catch(() => {});
  }
  process.exit(failed ? 1 : 0);
}

function dumpConsoles() {
  for (const p of pages) {
    console.log(`----- console of ${p.who} (${p.lines.length} lines) -----`);
    for (const l of p.lines.slice(-Number(process.env.LILT_CONSOLE_LINES || 300))) console.log(l);
  }
}

/**
 * A new device for `user`: a fresh browser context with Converse logged in over
 * `transport` ("ws" or "bosh"). Resolves once Converse says it is connected, with
 * `{ context, page, jid, api }` where `api(fn, arg)` runs `fn(_converse, arg)` in the page.
 */
export async function device(browser, who, { user, password, transport = "ws", settings = {} }) {
  const context = await browser.newContext({ ignoreHTTPSErrors: env.proxied });
  await context.route("**/*", (r) => {
    const url = new URL(r.request().url());
    // Behind the guide's proxy only the XMPP paths reach Lilt, so the page and Converse's
    // files come from disk under the proxy's origin (same origin as its /http-bind).
    if (env.proxied && url.origin === new URL(env.base).origin && (url.pathname === "/" || url.pathname.startsWith("/dist/"))) {
      const path = url.pathname === "/" ? join(here, "index.html")
        : join(here, "../node_modules/converse.js", decodeURIComponent(url.pathname));
      return r.fulfill({ path });
    }
    return ours(url.href) ? r.continue() : r.abort();
  });
  const page = await context.newPage();
  const log = { who, lines: [] };
  pages.push(log);
  page.on("console", (m) => log.lines.push(`[${who}] ${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => log.lines.push(`[${who}] page error: ${e.message}`));
  await page.goto(env.base + "/");
  await page.waitForFunction(() => window.converse && window.converse.initialize, null, { timeout: STEP_MS });
  const jid = `${user}@${env.domain}`;
  const process_loglevel = process.env.LILT_CONVERSE_LOG || "info";
  await page.evaluate(({ jid, password, url, transport, settings, process_loglevel }) => {
    // A plugin is how a page reaches Converse's private API; whitelisted below.
    window.converse.plugins.add("lilt-probe", {
      initialize() { window.lilt_converse = this._converse; },
    });
    window.converse.initialize({
      assets_path: "/dist/",
      ...(transport === "bosh" ? { bosh_service_url: url } : { websocket_url: url }),
      authentication: "login",
      auto_login: true,
      jid,
      password,
      discover_connection_methods: false,
      view_mode: "fullscreen",
      i18n: "en",
      loglevel: process_loglevel,
      play_sounds: false,
      show_desktop_notifications: false,
      whitelisted_plugins: ["lilt-probe"],
      // The scenarios chat between accounts that are not contacts (Converse drops such
      // messages by default).
      allow_non_roster_messaging: true,
      ...settings,
    });
  }, { jid, password, url: transport === "bosh" ? env.bosh : env.ws, transport, settings, process_loglevel });
  await page.waitForFunction(
    () => window.lilt_converse && window.lilt_converse.api.connection.connected(),
    null,
    { timeout: STEP_MS },
  ).catch(() => { throw new Error(`${who}: Converse did not connect as ${jid} over ${transport} within ${STEP_MS} ms`); });
  const api = (fn, arg) => page.evaluate(
    ({ src, arg }) => new Function("c", "arg", `return (${src})(c, arg);`)(window.lilt_converse, arg),
    { src: fn.toString(), arg },
  );
  return { context, page, jid, api, who };
}

/**
 * Waits until `selector` matches an element whose text contains `text`. Attached is
 * enough: in fullscreen mode Converse renders chats that are not in front hidden.
 */
export async function seeText(dev, selector, text, what) {
  await dev.page.locator(selector, { hasText: text }).first().waitFor({ state: "attached", timeout: STEP_MS })
    .catch(() => { throw new Error(`${dev.who}: ${what}: no "${selector}" with text ${JSON.stringify(text)} within ${STEP_MS} ms`); });
}

/** Types `text` into the open chat's message box (`scope` picks the chat) and sends it. */
export async function say(dev, scope, text) {
  const box = dev.page.locator(`${scope} textarea.chat-textarea`).first();
  await box.waitFor({ timeout: STEP_MS });
  await box.fill(text);
  await box.press("Enter");
}

/** Polls `cond()` (a function run in node) until it returns a truthy value. */
export async function until(cond, what, ms = STEP_MS) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A `w`×`h` PNG of one colour, or of noise when `rgb` is "noise" (so its size is about
 * 3·w·h bytes), made here so the tests carry no binary files.
 */
export async function png(w, h, rgb) {
  const { deflateSync } = await import("node:zlib");
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const byte of buf) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  let seed = 12345;
  const noise = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  const pixel = () => (rgb === "noise" ? [noise(), noise(), noise()] : rgb);
  const raw = Buffer.concat(Array.from({ length: h }, () =>
    Buffer.from([0, ...Array.from({ length: w }, pixel).flat()])));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** Sends `xml` (an IQ, as text) on the device's connection; resolves with the answer's XML. */
export function iq(dev, xml) {
  return dev.page.evaluate(async (xml) => {
    const c = window.lilt_converse;
    const el = new DOMParser().parseFromString(xml, "text/xml").documentElement;
    try {
      const answer = await c.api.sendIQ(el, 10000, false);
      return new XMLSerializer().serializeToString(answer);
    } catch (e) {
      return e && e.outerHTML !== undefined ? e.outerHTML : "error: " + String(e);
    }
  }, xml);
}
