// Issue 18: alice and bob chat in Converse.js (typed into the chat boxes, seen on the
// other side); then alice logs in on a second device (a new browser context: empty
// IndexedDB and localStorage), opens the chat, and Converse shows the conversation from
// the server's archive (XEP-0313), in order, with the archive's stanza ids.
import { device, say, scenario, seeText, step, until, env } from "./lib.mjs";

const aliceJid = `alice@${env.domain}`;
const bobJid = `bob@${env.domain}`;
const LINES = [
  ["alice", "first, from alice's laptop"],
  ["bob", "bob answers <&> with markup-looking text"],
  ["alice", "and alice again \u00e9\u00e8"],
];

await scenario("converse mam", async (browser) => {
  const alice = await device(browser, "alice", { user: "alice", password: "alice-secret" });
  const bob = await device(browser, "bob", { user: "bob", password: "bob-secret" });
  step("connected");
  // Each has the other's chat in front (fullscreen Converse renders only the front chat).
  await alice.api(async (c, { bobJid }) => { await c.api.chats.open(bobJid); }, { bobJid });
  await bob.api(async (c, { aliceJid }) => { await c.api.chats.open(aliceJid); }, { aliceJid });
  const devs = { alice, bob };
  const peerOf = { alice: bobJid, bob: aliceJid };
  for (const [who, text] of LINES) {
    const other = who === "alice" ? "bob" : "alice";
    await say(devs[who], `converse-chat[jid="${peerOf[who]}"]`, text);
    await seeText(devs[other], `converse-chat[jid="${peerOf[other]}"] .chat-msg__text`, text, `${other} gets ${who}'s message`);
  }
  step("chatted", { messages: LINES.length });
  await alice.context.close();

  const second = await device(browser, "alice-second-device", { user: "alice", password: "alice-secret" });
  const cached = await second.api((c, { bobJid }) => c.state.chatboxes.get(bobJid)?.messages?.length ?? 0, { bobJid });
  if (cached) throw new Error(`the second device is not fresh: ${cached} messages cached`);
  await second.api(async (c, { bobJid }) => { await c.api.chats.open(bobJid); }, { bobJid });
  for (const [, text] of LINES) {
    await seeText(second, `converse-chat[jid="${bobJid}"] .chat-msg__text`, text, "a message from the archive");
  }
  const shown = await until(() => second.api((c, { bobJid, n }) => {
    const msgs = c.state.chatboxes.get(bobJid).messages.models.filter((m) => m.get("body"));
    if (msgs.length < n) return null;
    return msgs.map((m) => ({
      body: m.get("body"),
      sender: m.get("sender"),
      archived: !!m.get("is_archived"),
      stanza_id: m.get(`stanza_id ${c.session.get("bare_jid")}`) || null,
    }));
  }, { bobJid, n: LINES.length }), "the archived messages in the second device's chat");
  const want = LINES.map(([who, text]) => ({ body: text, sender: who === "alice" ? "me" : "them" }));
  const got = shown.map(({ body, sender }) => ({ body, sender }));
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error("the second device shows " + JSON.stringify(got) + ", want " + JSON.stringify(want));
  }
  if (!shown.every((m) => m.archived && m.stanza_id)) {
    throw new Error("not every message came from MAM with a stanza id: " + JSON.stringify(shown));
  }
  step("history on second device", { messages: shown.length, ids: shown.map((m) => m.stanza_id) });
});
