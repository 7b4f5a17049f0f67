#!/usr/bin/env node
// Data-directory hand-over between servers, one phase per run (--phase NAME), with real
// @xmpp/client 0.13 clients. Users alice, bob, carol (and dave, erin, never logged in) share
// --password. Meant for: seed on Prosody, check-seeded + write on Lilt, check-written on
// Prosody (or any other order of servers sharing one data_path).
//
//   seed           alice <-> bob subscribed `both`; alice asks erin (pending out); alice sets
//                  her vCard and private prefs; alice goes offline;
//                  carol asks to subscribe to alice (pending) and bob messages alice (offline).
//   check-seeded   alice's roster has bob (both), erin (none + ask) and no carol; at initial presence carol's
//                  request is re-sent and bob's message arrives with <delay/>; vCard and
//                  private prefs readable.
//   write          alice adds dave ("Dave", group Pals), replaces her vCard and prefs; bob messages
//                  offline carol.
//   check-written  alice's roster: bob (both), dave (none, Pals), erin (ask); carol's request re-sent
//                  again; vCard and prefs are the new ones; carol gets bob's message with <delay/>.
//
// Output and options as im-scenarios.mjs (one JSON line per step, exit 1 on failure).

import { Runner, parseImArgs, xml, NS, isPresence, delayData, expectFields, subscribeBoth, setVcard, getVcard, show } from "./lib/im.mjs";

const opts = parseImArgs({ phase: "" });
const r = new Runner(opts);
const D = opts.domain;
const BOB = `bob@${D}`;
const CAROL = `carol@${D}`;
const DAVE = `dave@${D}`;
const ERIN = `erin@${D}`;
const ERIN_PENDING = { subscription: "none", ask: "subscribe" };
const PREFS = "lilt:test:prefs";

/** Stores alice's private `<prefs xmlns='lilt:test:prefs'><theme>…</theme></prefs>`. */
async function setPrefs(alice, theme) {
  await r.iq(alice, "set", xml("query", { xmlns: NS.private }, xml("prefs", { xmlns: PREFS }, xml("theme", {}, theme))));
}

/** Reads alice's private prefs theme (null when nothing is stored). */
async function getPrefs(alice) {
  const res = await r.iq(alice, "get", xml("query", { xmlns: NS.private }, xml("prefs", { xmlns: PREFS })));
  const p = res.getChild("query", NS.private)?.getChild("prefs", PREFS);
  return { theme: p ? p.getChildText("theme") : null };
}

async function onlineWithRoster(user, resource) {
  const c = await r.login(user, resource);
  await r.step(`roster-get:${c.who}`, async () => ({ roster: await r.roster(c) }));
  await r.step(`presence:${c.who}`, () => c.entity.send(xml("presence")));
  return c;
}

/** alice's roster as {jid: item} after checking bob is `both` and carol is absent. */
async function checkAliceRoster(alice, extra) {
  return r.step("alice-roster", async () => {
    const roster = await r.roster(alice);
    const byJid = Object.fromEntries(roster.items.map((i) => [i.jid, i]));
    expectFields("bob in alice's roster", byJid[BOB], { subscription: "both", ask: null });
    if (byJid[CAROL]) throw new Error(`a pending request is not a roster item: ${JSON.stringify(byJid[CAROL])}`);
    for (const [jid, fields] of Object.entries(extra)) expectFields(`${jid} in alice's roster`, byJid[jid], fields);
    return { roster };
  });
}

/** alice logs in and sends initial presence; carol's pending request must be re-sent. */
async function aliceComesOnline() {
  const alice = await r.login("alice", "home");
  await r.step("alice-presence-gets-pending-request", async () => {
    await alice.entity.send(xml("presence"));
    const p = await r.expect(alice, (s) => isPresence(s, CAROL, "subscribe"), "carol's subscription request");
    return { from: p.attrs.from };
  });
  return alice;
}

const phases = {
  async seed() {
    const alice = await onlineWithRoster("alice", "pc");
    const bob = await onlineWithRoster("bob", "phone");
    await subscribeBoth(r, alice, bob);
    await r.step("alice-vcard-set", async () => {
      await setVcard(r, alice, { FN: "Alice from Prosody", NICKNAME: "ally" });
      return getVcard(r, alice, ["FN", "NICKNAME"]);
    });
    await r.step("alice-subscribes-to-offline-erin", async () => {
      await alice.entity.send(xml("presence", { to: ERIN, type: "subscribe" }));
      const push = await r.rosterPush(alice, ERIN);
      expectFields("push after subscribe", push, ERIN_PENDING);
      return { push };
    });
    await r.step("alice-private-set", async () => {
      await setPrefs(alice, "set on the first server");
      return getPrefs(alice);
    });
    await r.step("alice-offline", async () => {
      await r.close(alice);
      await r.expect(bob, (s) => isPresence(s, alice.bare, "unavailable"), "alice unavailable");
      return {};
    });
    const carol = await r.login("carol", "laptop");
    await r.step("roster-get:carol", async () => ({ roster: await r.roster(carol) }));
    await r.step("carol-subscribes-to-alice", async () => {
      await carol.entity.send(xml("presence", { to: alice.bare, type: "subscribe" }));
      const push = await r.rosterPush(carol, alice.bare);
      await r.sync(carol);
      return { push };
    });
    await r.step("bob-messages-offline-alice", async () => {
      await bob.entity.send(xml("message", { to: alice.bare, type: "chat", id: "seed-1" }, xml("body", {}, "stored by Prosody")));
      await r.sync(bob);
      const bounced = bob.inbox.find((s) => s.is("message") && s.attrs.type === "error");
      if (bounced.length) throw new Error(`bounced: ${show(bounced[0])}`);
      return {};
    });
  },

  async "check-seeded"() {
    const alice = await aliceComesOnline();
    await r.step("alice-gets-offline-message", async () => {
      const m = await r.expect(alice, (s) => s.is("message") && s.attrs.id === "seed-1", "bob's offline message");
      const delay = delayData(m);
      if (!delay || !delay.stamp) throw new Error(`no <delay/> in ${show(m)}`);
      return { from: m.attrs.from, body: m.getChildText("body"), delay };
    });
    await checkAliceRoster(alice, { [ERIN]: ERIN_PENDING });
    await r.step("alice-vcard-get", async () => ({ vcard: await getVcard(r, alice, ["FN", "NICKNAME"]) }));
    await r.step("alice-private-get", () => getPrefs(alice));
  },

  async write() {
    const alice = await r.login("alice", "home");
    await r.step("alice-roster-get", async () => ({ roster: await r.roster(alice) }));
    await r.step("alice-adds-dave", async () => {
      await r.iq(alice, "set", xml("query", { xmlns: NS.roster }, xml("item", { jid: DAVE, name: "Dave" }, xml("group", {}, "Pals"))));
      return { push: await r.rosterPush(alice, DAVE) };
    });
    await r.step("alice-vcard-replace", async () => {
      await setVcard(r, alice, { FN: "Alice from Lilt", NICKNAME: "al" });
      return { vcard: await getVcard(r, alice, ["FN", "NICKNAME"]) };
    });
    await r.step("alice-private-replace", async () => {
      await setPrefs(alice, "set on the second server");
      return getPrefs(alice);
    });
    const bob = await r.login("bob", "phone");
    await r.step("bob-messages-offline-carol", async () => {
      await bob.entity.send(xml("message", { to: CAROL, type: "chat", id: "write-1" }, xml("body", {}, "stored by the second server")));
      await r.sync(bob);
      const bounced = bob.inbox.find((s) => s.is("message") && s.attrs.type === "error");
      if (bounced.length) throw new Error(`bounced: ${show(bounced[0])}`);
      return {};
    });
  },

  async "check-written"() {
    const alice = await aliceComesOnline();
    await checkAliceRoster(alice, {
      [DAVE]: { subscription: "none", ask: null, name: "Dave", groups: ["Pals"] },
      [ERIN]: ERIN_PENDING,
    });
    await r.step("alice-vcard-get", async () => ({ vcard: await getVcard(r, alice, ["FN", "NICKNAME"]) }));
    await r.step("alice-private-get", () => getPrefs(alice));
    const carol = await r.login("carol", "laptop");
    await r.step("carol-gets-offline-message", async () => {
      await carol.entity.send(xml("presence"));
      const m = await r.expect(carol, (s) => s.is("message") && s.attrs.id === "write-1", "bob's offline message");
      const delay = delayData(m);
      if (!delay || !delay.stamp) throw new Error(`no <delay/> in ${show(m)}`);
      return { from: m.attrs.from, body: m.getChildText("body"), delay };
    });
  },
};

const phase = phases[opts.phase];
if (!phase) {
  console.log(JSON.stringify({ step: "args", ok: false, error: `unknown --phase ${JSON.stringify(opts.phase)}; one of ${Object.keys(phases).join(", ")}` }));
  process.exit(2);
}
r.run(() => phase());
