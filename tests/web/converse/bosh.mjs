// Issue 21: Converse.js over BOSH (alice) and Converse.js over WebSocket (bob) log in and
// chat both ways, typed into the chat boxes. Run directly against Lilt and through the
// guide's nginx (LILT_PROXIED=1, LILT_BOSH and LILT_WS then point at the proxy).
import { device, say, scenario, seeText, step, env } from "./lib.mjs";

const aliceJid = `alice@${env.domain}`;
const bobJid = `bob@${env.domain}`;
const TO_BOB = "over BOSH, to a WebSocket user <&>";
const TO_ALICE = "over WebSocket, back to BOSH \u00e9";

await scenario("converse bosh", async (browser) => {
  const alice = await device(browser, "alice", { user: "alice", password: "alice-secret", transport: "bosh" });
  const bob = await device(browser, "bob", { user: "bob", password: "bob-secret", transport: "ws" });
  const kinds = {
    alice: await alice.api((c) => c.api.connection.isType("bosh") ? "bosh" : "websocket"),
    bob: await bob.api((c) => c.api.connection.isType("websocket") ? "websocket" : "bosh"),
  };
  if (kinds.alice !== "bosh" || kinds.bob !== "websocket") throw new Error("transports are " + JSON.stringify(kinds));
  step("connected", kinds);
  await alice.api(async (c, { bobJid }) => { await c.api.chats.open(bobJid); }, { bobJid });
  await bob.api(async (c, { aliceJid }) => { await c.api.chats.open(aliceJid); }, { aliceJid });
  await say(alice, `converse-chat[jid="${bobJid}"]`, TO_BOB);
  await seeText(bob, `converse-chat[jid="${aliceJid}"] .chat-msg__text`, TO_BOB, "bob gets alice's BOSH message");
  step("bosh to websocket");
  await say(bob, `converse-chat[jid="${aliceJid}"]`, TO_ALICE);
  await seeText(alice, `converse-chat[jid="${bobJid}"] .chat-msg__text`, TO_ALICE, "alice gets bob's message over BOSH");
  step("websocket to bosh");
});
