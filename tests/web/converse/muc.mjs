// Issue 16: Converse.js joins a MUC room over WebSocket, shows the room's subject and the
// history that was said before it came, and chats with a slixmpp occupant (over TCP, run
// by tests/interop/converse, which starts this once the occupant has prepared the room).
// Environment (besides lib.mjs's): LILT_ROOM, LILT_SUBJECT, LILT_HISTORY (a JSON array of
// bodies), LILT_PEER_NICK (the occupant's nick), LILT_TO_PEER, LILT_FROM_PEER.
import { device, need, say, scenario, seeText, step, until } from "./lib.mjs";

const room = need("LILT_ROOM");
const subject = need("LILT_SUBJECT");
const history = JSON.parse(need("LILT_HISTORY"));
const peer = need("LILT_PEER_NICK");
const toPeer = need("LILT_TO_PEER");
const fromPeer = need("LILT_FROM_PEER");

await scenario("converse muc", async (browser) => {
  // Converse 14 asks for no join history (maxstanzas=0) unless told how much it wants;
  // the room has no MAM here, so the history must come from the room itself.
  const alice = await device(browser, "alice", {
    user: "alice", password: "alice-secret", settings: { muc_history_max_stanzas: 20 },
  });
  step("connected", { jid: alice.jid });
  await alice.api(async (c, { room }) => { await c.api.rooms.open(room, { nick: "alice" }); }, { room });
  const muc = `converse-muc[jid="${room}"]`;
  await seeText(alice, `${muc} .chat-head__desc`, subject, "the room's subject in the heading");
  step("subject", { subject });
  for (const line of history) {
    await seeText(alice, `${muc} .chat-msg__text`, line, "a message from the room's history");
  }
  // History came as delayed messages, not as live ones, and is attributed to the occupant.
  const delayed = await until(() => alice.api((c, { room, history, peer }) => {
    const msgs = c.state.chatboxes.get(room)?.messages?.models ?? [];
    const seen = history.map((b) => msgs.find((m) => m.get("body") === b));
    return seen.every((m) => m && m.get("is_delayed") && m.get("nick") === peer) && seen.length;
  }, { room, history, peer }), "the history messages are delayed and from " + peer);
  step("history", { count: delayed });
  const occupants = await alice.api((c, { room }) =>
    c.state.chatboxes.get(room).occupants.map((o) => o.get("nick")).sort(), { room });
  if (!occupants.includes(peer) || !occupants.includes("alice")) {
    throw new Error("occupant list is " + JSON.stringify(occupants));
  }
  step("occupants", { occupants });
  await say(alice, muc, toPeer);
  await seeText(alice, `${muc} .chat-msg__text`, toPeer, "our own message echoed by the room");
  step("sent", { body: toPeer });
  await seeText(alice, `${muc} .chat-msg__text`, fromPeer, "the occupant's answer");
  const from = await alice.api((c, { room, fromPeer }) =>
    c.state.chatboxes.get(room).messages.findWhere({ body: fromPeer })?.get("nick"), { room, fromPeer });
  if (from !== peer) throw new Error(`the answer came from nick ${from}, not ${peer}`);
  step("received", { body: fromPeer, nick: from });
});
