// Issue 21: alice picks an image in Converse.js's file button; Converse asks Lilt's
// http_file_share for a slot, PUTs the file and sends the link; bob's Converse shows the
// image and the bytes it downloads are the file's. A file over the size limit is refused
// by Converse from the limit the server advertises, and by the server with Prosody's
// error; a file within the limit but over the daily quota is refused by the server and
// Converse says so. Environment: LILT_UPLOAD (the upload component's JID),
// LILT_SIZE_LIMIT, LILT_DAILY_QUOTA (bytes, as configured).
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { device, iq, need, png, scenario, step, until, env } from "./lib.mjs";

const upload = need("LILT_UPLOAD");
const limit = Number(need("LILT_SIZE_LIMIT"));
const quota = Number(need("LILT_DAILY_QUOTA"));
const aliceJid = `alice@${env.domain}`;
const bobJid = `bob@${env.domain}`;

async function file(dir, name, bytes) {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** Waits until the chat's text (what the user reads) includes `text`. */
async function chatSays(dev, chat, text, what) {
  await until(() => dev.page.evaluate(({ chat, text }) =>
    document.querySelector(chat)?.textContent.includes(text), { chat, text }), what)
    .catch(async (e) => {
      const shown = await dev.page.evaluate((chat) => document.querySelector(chat)?.innerText, chat);
      throw new Error(`${e.message}; the chat shows:\n${shown}`);
    });
}

function slotRequest(name, size) {
  return `<iq xmlns="jabber:client" type="get" to="${upload}"><request xmlns="urn:xmpp:http:upload:0" filename="${name}" size="${size}" content-type="image/png"/></iq>`;
}

await scenario("converse upload", async (browser) => {
  const dir = mkdtempSync(join(tmpdir(), "lilt-upload-"));
  const image = await png(32, 32, [30, 120, 200]);
  const big = await png(Math.ceil(Math.sqrt(limit / 3)) + 4, Math.ceil(Math.sqrt(limit / 3)) + 4, "noise");
  const side = Math.ceil(Math.sqrt((quota - image.length) / 3)) + 2;
  const overQuota = await png(side, side, "noise");
  if (!(image.length < quota && big.length > limit && overQuota.length <= limit && image.length + overQuota.length > quota)) {
    throw new Error(`bad fixture sizes: ${image.length}, ${big.length}, ${overQuota.length} for limit ${limit}, quota ${quota}`);
  }
  const alice = await device(browser, "alice", { user: "alice", password: "alice-secret" });
  const bob = await device(browser, "bob", { user: "bob", password: "bob-secret" });
  await alice.api(async (c, { bobJid }) => { await c.api.chats.open(bobJid); }, { bobJid });
  await bob.api(async (c, { aliceJid }) => { await c.api.chats.open(aliceJid); }, { aliceJid });
  const chatA = `converse-chat[jid="${bobJid}"]`;
  const chatB = `converse-chat[jid="${aliceJid}"]`;
  step("connected");

  // The paperclip's file input, as a user picks a file.
  await alice.page.locator(`${chatA} input.fileupload`).setInputFiles(await file(dir, "lilt-photo.png", image));
  const url = await until(() => alice.api((c, { bobJid }) => {
    const m = c.state.chatboxes.get(bobJid).messages.find((m) => m.get("oob_url"));
    return m?.get("oob_url");
  }, { bobJid }), "alice's upload finished and was sent as a link");
  if (!url.startsWith(`http://${upload}:`) || !url.endsWith("/lilt-photo.png")) throw new Error("upload URL " + url);
  step("uploaded", { url });

  await bob.page.locator(`${chatB} img.chat-image`).first().waitFor({ state: "attached", timeout: 20000 });
  const shown = await until(() => bob.page.evaluate((sel) => {
    const img = document.querySelector(sel);
    return img && img.complete && img.naturalWidth > 0 && { src: img.src, w: img.naturalWidth, h: img.naturalHeight };
  }, `${chatB} img.chat-image`), "the image loads in bob's chat");
  if (shown.src !== url || shown.w !== 32 || shown.h !== 32) throw new Error("bob's image: " + JSON.stringify(shown));
  const fetched = await bob.page.evaluate(async (url) => {
    const r = await fetch(url);
    const b = new Uint8Array(await r.arrayBuffer());
    return { status: r.status, type: r.headers.get("content-type"), b64: btoa(String.fromCharCode(...b)) };
  }, url);
  if (fetched.status !== 200 || fetched.b64 !== image.toString("base64")) {
    throw new Error("bob downloaded " + JSON.stringify({ ...fetched, b64: fetched.b64.slice(0, 40) }));
  }
  step("downloaded", { type: fetched.type, bytes: image.length, width: shown.w });

  // Over the limit: Converse refuses from the advertised max-file-size...
  await alice.page.locator(`${chatA} input.fileupload`).setInputFiles(await file(dir, "too-big.png", big));
  await chatSays(alice, chatA, "exceeds the maximum allowed by your server", "Converse's over-limit message");
  // ...and the server refuses a slot for it, as Prosody does.
  const tooBig = await iq(alice, slotRequest("too-big.png", big.length));
  for (const want of ['type="error"', "<not-acceptable", "File too large", "<file-too-large", `<max-file-size>${limit}</max-file-size>`]) {
    if (!tooBig.includes(want)) throw new Error(`over-limit answer lacks ${want}: ${tooBig}`);
  }
  step("over limit refused");

  // Within the limit but over today's quota: the server refuses the slot.
  await alice.page.locator(`${chatA} input.fileupload`).setInputFiles(await file(dir, "one-too-many.png", overQuota));
  // Converse 14 marks the file's message as an error with this text, but keeps drawing
  // the upload's progress bar for a file message (shared/chat/message.js), so the text is
  // read from its model rather than from the page.
  const refused = await until(() => alice.api((c, { bobJid }) => {
    const m = c.state.chatboxes.get(bobJid).messages.find((m) => m.get("file") && m.get("type") === "error");
    return m && m.get("message");
  }, { bobJid }), "Converse's error for the refused slot");
  if (!refused.includes("could not determine upload URL")) throw new Error("Converse says " + refused);
  const noQuota = await iq(alice, slotRequest("one-too-many.png", overQuota.length));
  for (const want of ['type="error"', 'type="wait"', "<resource-constraint", "Daily quota reached"]) {
    if (!noQuota.includes(want)) throw new Error(`over-quota answer lacks ${want}: ${noQuota}`);
  }
  step("over quota refused");
});
