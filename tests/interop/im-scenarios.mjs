#!/usr/bin/env node
// IM scenarios with real @xmpp/client 0.13 clients over XMPP-over-WebSocket. One scenario per
// run (--scenario NAME); users alice, bob (and carol) must exist with --password.
//
//   roster        alice/one and alice/two fetch the roster; alice/one adds, renames and removes
//                 bob; every change is pushed to alice/two.
//   subscription  alice and bob do the full handshake to `both`; then presence flows both ways
//                 and an unavailable presence reaches the contact.
//   offline       alice messages offline bob; bob logs in, sends presence, gets it with <delay/>.
//   carbons       alice/one and alice/two enable carbons; bob -> alice/one arrives at alice/two as
//                 a <received/> carbon, alice/one -> bob as a <sent/> carbon.
//   blocking      alice blocks bob: bob's message is not delivered, alice's to bob bounces; after
//                 unblocking, bob's next message arrives (and the blocked one never does).
//   storage       vCard (vcard-temp) and private XML storage round trips, bob reads alice's vCard.
//
// Output: one JSON object per line ({"step":..., "ok":true, ...}), last {"step":"done"}; on the
// first failure {"step":..., "ok":false, "error":...} and exit 1. Bad arguments exit 2.
// Options: --port/--url, --domain, --mechanism, --password, --timeout-ms (per step), --scenario.

import {
  Runner,
  parseImArgs,
  xml,
  NS,
  show,
  isPresence,
  delayData,
  expectFields,
  subscribeBoth,
  setVcard,
  getVcard,
} from "./lib/im.mjs";

const opts = parseImArgs({ scenario: "" });
const r = new Runner(opts);
const D = opts.domain;

const scenarios = {
  async roster() {
    const one = await r.login("alice", "one");
    const two = await r.login("alice", "two");
    // A roster get makes a session "interested": only those get pushes.
    for (const c of [one, two]) {
      await r.step(`roster-get:${c.who}`, async () => ({ roster: await r.roster(c) }));
    }
    const bob = `bob@${D}`;
    const changes = [
      { name: "add", item: { jid: bob, name: "Bob" }, groups: ["Friends"], expect: { name: "Bob", groups: ["Friends"], subscription: "none" } },
      { name: "update", item: { jid: bob, name: "Bobby" }, groups: ["Work", "Chess"], expect: { name: "Bobby", subscription: "none" } },
      { name: "remove", item: { jid: bob, subscription: "remove" }, groups: [], expect: { subscription: "remove" } },
    ];
    for (const ch of changes) {
      await r.step(`roster-${ch.name}`, async () => {
        const item = xml("item", ch.item, ...ch.groups.map((g) => xml("group", {}, g)));
        await r.iq(one, "set", xml("query", { xmlns: NS.roster }, item));
        const pushTwo = await r.rosterPush(two, bob);
        expectFields("push to alice/two", pushTwo, ch.expect);
        if (ch.name === "update") {
          const groups = [...pushTwo.groups].sort();
          if (JSON.stringify(groups) !== JSON.stringify(["Chess", "Work"])) {
            throw new Error(`groups ${JSON.stringify(groups)}`);
          }
        }
        const pushOne = await r.rosterPush(one, bob);
        return { push_two: pushTwo, push_one: pushOne };
      });
    }
    await r.step("roster-after", async () => {
      const roster = await r.roster(two);
      if (roster.items.some((i) => i.jid === bob)) throw new Error(`bob still in ${JSON.stringify(roster)}`);
      return { roster };
    });
  },

  async subscription() {
    const alice = await r.login("alice", "pc");
    const bob = await r.login("bob", "phone");
    for (const c of [alice, bob]) {
      await r.step(`roster-get:${c.who}`, async () => ({ roster: await r.roster(c) }));
      await r.step(`presence:${c.who}`, () => c.entity.send(xml("presence")));
    }
    await subscribeBoth(r, alice, bob);
    for (const [c, other] of [[alice, bob], [bob, alice]]) {
      await r.step(`roster-final:${c.user}`, async () => {
        const roster = await r.roster(c);
        const item = roster.items.find((i) => i.jid === other.bare);
        expectFields(`${other.bare} in ${c.user}'s roster`, item, { subscription: "both", ask: null });
        return { item };
      });
    }
    await r.step("presence-flows:alice->bob", async () => {
      await alice.entity.send(xml("presence", {}, xml("show", {}, "away"), xml("status", {}, "lunch")));
      const p = await r.expect(bob, (s) => isPresence(s, alice.bare, undefined) && s.getChildText("show") === "away", "alice away");
      return { from: p.attrs.from, show: p.getChildText("show"), status: p.getChildText("status") };
    });
    await r.step("presence-flows:bob->alice", async () => {
      await bob.entity.send(xml("presence", {}, xml("show", {}, "dnd")));
      const p = await r.expect(alice, (s) => isPresence(s, bob.bare, undefined) && s.getChildText("show") === "dnd", "bob dnd");
      return { from: p.attrs.from, show: p.getChildText("show") };
    });
    await r.step("unavailable:bob", async () => {
      await bob.entity.send(xml("presence", { type: "unavailable" }));
      const p = await r.expect(alice, (s) => isPresence(s, bob.bare, "unavailable"), "bob unavailable");
      return { from: p.attrs.from };
    });
  },

  async offline() {
    const alice = await r.login("alice", "pc");
    await r.step("send-to-offline-bob", async () => {
      await alice.entity.send(
        xml("message", { to: `bob@${D}`, type: "chat", id: "off1" }, xml("body", {}, "while you were away")),
      );
      await r.sync(alice);
      const bounced = alice.inbox.find((s) => s.is("message") && s.attrs.type === "error");
      if (bounced.length) throw new Error(`bounced: ${show(bounced[0])}`);
      return {};
    });
    await r.close(alice);
    const bob = await r.login("bob", "phone");
    await r.step("bob-presence-gets-offline-message", async () => {
      await bob.entity.send(xml("presence"));
      const m = await r.expect(bob, (s) => s.is("message") && s.attrs.id === "off1", "offline message");
      const delay = delayData(m);
      if (!delay || !delay.stamp) throw new Error(`no <delay/> in ${show(m)}`);
      return { from: m.attrs.from, body: m.getChildText("body"), delay };
    });
  },

  async carbons() {
    const one = await r.login("alice", "one");
    const two = await r.login("alice", "two");
    const bob = await r.login("bob", "phone");
    for (const c of [one, two, bob]) {
      await r.step(`presence:${c.who}`, () => c.entity.send(xml("presence")));
    }
    for (const c of [one, two]) {
      await r.step(`enable:${c.who}`, async () => {
        const res = await r.iq(c, "set", xml("enable", { xmlns: NS.carbons }));
        return { type: res.attrs.type };
      });
    }
    const carbonOf = (kind, id) => (s) => {
      const k = s.is("message") && s.getChild(kind, NS.carbons);
      const inner = k && k.getChild("forwarded", NS.forward)?.getChild("message");
      return Boolean(inner && inner.attrs.id === id);
    };
    const describe = (st, kind) => {
      const inner = st.getChild(kind, NS.carbons).getChild("forwarded", NS.forward).getChild("message");
      return { from: st.attrs.from, inner_from: inner.attrs.from, inner_to: inner.attrs.to, body: inner.getChildText("body") };
    };
    await r.step("received-carbon", async () => {
      await bob.entity.send(xml("message", { to: one.full, type: "chat", id: "c1" }, xml("body", {}, "to one")));
      await r.expect(one, (s) => s.is("message") && s.attrs.id === "c1" && s.getChildText("body") === "to one", "direct message");
      const c = await r.expect(two, carbonOf("received", "c1"), "received carbon");
      return describe(c, "received");
    });
    await r.step("sent-carbon", async () => {
      await one.entity.send(xml("message", { to: bob.bare, type: "chat", id: "c2" }, xml("body", {}, "from one")));
      await r.expect(bob, (s) => s.is("message") && s.attrs.id === "c2", "message at bob");
      const c = await r.expect(two, carbonOf("sent", "c2"), "sent carbon");
      return describe(c, "sent");
    });
  },

  async blocking() {
    const alice = await r.login("alice", "pc");
    const bob = await r.login("bob", "phone");
    for (const c of [alice, bob]) {
      await r.step(`presence:${c.who}`, () => c.entity.send(xml("presence")));
    }
    await r.step("blocklist-get", async () => {
      await r.iq(alice, "get", xml("blocklist", { xmlns: NS.blocking }));
      return {};
    });
    await r.step("block-bob", async () => {
      await r.iq(alice, "set", xml("block", { xmlns: NS.blocking }, xml("item", { jid: bob.bare })));
      const push = await r.expect(alice, (s) => s.is("iq") && s.attrs.type === "set" && s.getChild("block", NS.blocking), "block push");
      const list = await r.iq(alice, "get", xml("blocklist", { xmlns: NS.blocking }));
      const items = list.getChild("blocklist", NS.blocking).getChildren("item").map((i) => i.attrs.jid);
      if (!items.includes(bob.bare)) throw new Error(`blocklist is ${JSON.stringify(items)}`);
      return { push_item: push.getChild("block", NS.blocking).getChild("item")?.attrs.jid ?? null, blocklist: items };
    });
    await r.step("blocked-message-not-delivered", async () => {
      await bob.entity.send(xml("message", { to: alice.bare, type: "chat", id: "b1" }, xml("body", {}, "blocked")));
      await r.sync(bob);
      return {};
    });
    await r.step("outgoing-to-blocked-bounces", async () => {
      await alice.entity.send(xml("message", { to: bob.bare, type: "chat", id: "b2" }, xml("body", {}, "no")));
      const err = await r.expect(alice, (s) => s.is("message") && s.attrs.id === "b2" && s.attrs.type === "error", "bounce");
      const e = err.getChild("error");
      const condition = e ? e.getChildElements().find((c) => c.attrs.xmlns === NS.stanzas)?.name ?? null : null;
      const blocked = Boolean(e && e.getChild("blocked", NS.blockingErrors));
      if (bob.inbox.find((s) => s.is("message") && s.attrs.id === "b2").length) throw new Error("bob got b2");
      return { condition, blocked };
    });
    await r.step("unblock-bob", async () => {
      await r.iq(alice, "set", xml("unblock", { xmlns: NS.blocking }, xml("item", { jid: bob.bare })));
      await r.expect(alice, (s) => s.is("iq") && s.attrs.type === "set" && s.getChild("unblock", NS.blocking), "unblock push");
      return {};
    });
    await r.step("message-after-unblock", async () => {
      await bob.entity.send(xml("message", { to: alice.bare, type: "chat", id: "b3" }, xml("body", {}, "hello again")));
      await r.expect(alice, (s) => s.is("message") && s.attrs.id === "b3", "message after unblock");
      const blocked = alice.inbox.find((s) => s.is("message") && s.attrs.id === "b1");
      if (blocked.length) throw new Error(`blocked message delivered: ${show(blocked[0])}`);
      return { blocked_delivered: false };
    });
  },

  async storage() {
    const alice = await r.login("alice", "pc");
    const bob = await r.login("bob", "phone");
    await r.step("vcard-set", async () => {
      await setVcard(r, alice, { FN: "Alice Liddell", NICKNAME: "ally", URL: "https://example.org/<a>&b" });
      return {};
    });
    await r.step("vcard-get-own", async () => ({ vcard: await getVcard(r, alice, ["FN", "NICKNAME", "URL"]) }));
    await r.step("vcard-get-by-bob", async () => ({ vcard: await getVcard(r, bob, ["FN", "NICKNAME"], alice.bare) }));
    const prefs = () =>
      xml("prefs", { xmlns: "lilt:test:prefs" }, xml("theme", { mode: "dark" }, "solarized"), xml("note", {}, "a < b & c"));
    await r.step("private-set", async () => {
      await r.iq(alice, "set", xml("query", { xmlns: NS.private }, prefs()));
      return {};
    });
    await r.step("private-get", async () => {
      const res = await r.iq(alice, "get", xml("query", { xmlns: NS.private }, xml("prefs", { xmlns: "lilt:test:prefs" })));
      const p = res.getChild("query", NS.private)?.getChild("prefs", "lilt:test:prefs");
      if (!p) throw new Error(`no prefs in ${show(res)}`);
      return {
        theme: p.getChildText("theme"),
        mode: p.getChild("theme")?.attrs.mode ?? null,
        note: p.getChildText("note"),
      };
    });
    await r.step("private-other-namespace-empty", async () => {
      const res = await r.iq(alice, "get", xml("query", { xmlns: NS.private }, xml("other", { xmlns: "lilt:test:other" })));
      const o = res.getChild("query", NS.private)?.getChild("other", "lilt:test:other");
      return { other_children: o ? o.getChildElements().length : null };
    });
  },
};

const scenario = scenarios[opts.scenario];
if (!scenario) {
  console.log(JSON.stringify({ step: "args", ok: false, error: `unknown --scenario ${JSON.stringify(opts.scenario)}; one of ${Object.keys(scenarios).join(", ")}` }));
  process.exit(2);
}
r.run(() => scenario());
