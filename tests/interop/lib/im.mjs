// IM scenario helpers shared by im-scenarios.mjs and im-data.mjs: a runner that prints one
// JSON line per step with a per-step timeout, and a logged-in client whose every incoming
// stanza lands in an inbox, so a test can wait for a push or presence that may already have
// arrived (no race between "provoke" and "listen").

import { parseArgs, emit, withTimeout, reason, makeClient, xml } from "./common.mjs";

export { xml, emit, reason };

export const NS = {
  roster: "jabber:iq:roster",
  delay: "urn:xmpp:delay",
  carbons: "urn:xmpp:carbons:2",
  forward: "urn:xmpp:forward:0",
  blocking: "urn:xmpp:blocking",
  blockingErrors: "urn:xmpp:blocking:errors",
  vcard: "vcard-temp",
  private: "jabber:iq:private",
  client: "jabber:client",
  stanzas: "urn:ietf:params:xml:ns:xmpp-stanzas",
};

/** Common options of the IM scripts; `extra` adds script-specific ones. */
export function parseImArgs(extra) {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2), {
      port: "",
      host: "127.0.0.1",
      path: "/xmpp-websocket",
      url: "",
      domain: "example.test",
      mechanism: "SCRAM-SHA-1",
      password: "secret",
      "timeout-ms": "10000",
      ...extra,
    });
    if (!opts.url && !opts.port) throw new Error("need --port or --url");
  } catch (err) {
    emit({ step: "args", ok: false, error: reason(err) });
    process.exit(2);
  }
  return opts;
}

/** Short text for an element, for error messages (bounded). */
export function show(el) {
  const s = el ? el.toString() : String(el);
  return s.length > 600 ? s.slice(0, 600) + "…" : s;
}

/** A roster item as plain data: {jid, subscription, ask, name, groups}. */
export function itemData(item) {
  return {
    jid: item.attrs.jid,
    subscription: item.attrs.subscription ?? null,
    ask: item.attrs.ask ?? null,
    name: item.attrs.name ?? null,
    groups: item.getChildren("group").map((g) => g.text()),
  };
}

/** The roster item for `jid` inside an iq (result or push), or null. */
export function rosterItem(iq, jid) {
  const q = iq.getChild("query", NS.roster);
  if (!q) return null;
  const item = q.getChildren("item").find((i) => i.attrs.jid === jid);
  return item ? itemData(item) : null;
}

/** Throws unless `actual[k] === expected[k]` for every key of `expected`. */
export function expectFields(what, actual, expected) {
  for (const [k, v] of Object.entries(expected)) {
    const a = actual ? actual[k] : undefined;
    if (JSON.stringify(a) !== JSON.stringify(v)) {
      throw new Error(`${what}: ${k} is ${JSON.stringify(a)}, expected ${JSON.stringify(v)} (in ${JSON.stringify(actual)})`);
    }
  }
}

/** Every incoming stanza of one client, in order; `take` removes the first match. */
class Inbox {
  constructor(entity) {
    this.items = [];
    this.waiters = [];
    entity.on("stanza", (st) => this.push(st));
  }

  push(st) {
    const i = this.waiters.findIndex((w) => w.pred(st));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w.resolve(st);
      return;
    }
    this.items.push(st);
  }

  /** The first stored or future stanza `pred` accepts, removed from the inbox. */
  take(pred, ms, what) {
    const i = this.items.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.items.splice(i, 1)[0]);
    const waiter = { pred };
    const p = new Promise((resolve) => {
      waiter.resolve = resolve;
    });
    this.waiters.push(waiter);
    return withTimeout(p, ms, what).catch((err) => {
      this.waiters = this.waiters.filter((w) => w !== waiter);
      const seen = this.items.map(show).join(" | ");
      throw new Error(`${err.message}; unmatched stanzas so far: ${seen || "none"}`);
    });
  }

  /** Stored stanzas `pred` accepts (not removed). */
  find(pred) {
    return this.items.filter(pred);
  }
}

/** A runner: options, step output, logins, and clean shutdown of every client. */
export class Runner {
  constructor(opts) {
    this.opts = opts;
    this.service = opts.url || `ws://${opts.host}:${opts.port}${opts.path}`;
    this.domain = opts.domain;
    this.timeoutMs = Number(opts["timeout-ms"]);
    this.current = "start";
    this.clients = [];
  }

  /** Runs `fn` as step `name` under the step timeout; prints its details as one JSON line. */
  async step(name, fn) {
    this.current = name;
    const details = await withTimeout(Promise.resolve().then(fn), this.timeoutMs, name);
    emit({ step: name, ok: true, ...(details || {}) });
    return details;
  }

  /** Logs `user` in with `resource`; registers a roster-push handler that answers result. */
  async login(user, resource, { password } = {}) {
    const c = makeClient({
      service: this.service,
      domain: this.domain,
      username: user,
      password: password ?? this.opts.password,
      mechanism: this.opts.mechanism,
      resource,
      timeoutMs: this.timeoutMs,
    });
    c.who = `${user}/${resource}`;
    c.user = user;
    c.bare = `${user}@${this.domain}`;
    c.inbox = new Inbox(c.entity);
    // Pushes are also in the inbox (the "stanza" event fires before the middleware).
    c.iqCallee.set(NS.roster, "query", () => true);
    c.iqCallee.set(NS.blocking, "block", () => true);
    c.iqCallee.set(NS.blocking, "unblock", () => true);
    this.clients.push(c);
    await this.step(`login:${c.who}`, async () => {
      const address = await c.entity.start();
      c.full = address.toString();
      return { jid: c.full };
    });
    return c;
  }

  /** iq request from `c`; resolves with the result, rejects with the error. */
  iq(c, type, child, to) {
    const attrs = { type };
    if (to) attrs.to = to;
    return c.iqCaller.request(xml("iq", attrs, child), this.timeoutMs);
  }

  /** Waits for a stanza on `c` matching `pred`. */
  expect(c, pred, what) {
    return c.inbox.take(pred, this.timeoutMs, `${c.who} waiting for ${what}`);
  }

  /** Waits for a roster push to `c` about `jid`; returns the item data. */
  async rosterPush(c, jid) {
    const st = await this.expect(
      c,
      (s) => s.is("iq") && s.attrs.type === "set" && rosterItem(s, jid) !== null,
      `roster push for ${jid}`,
    );
    return rosterItem(st, jid);
  }

  /** Roster get; returns all items as data. */
  async roster(c) {
    const res = await this.iq(c, "get", xml("query", { xmlns: NS.roster }));
    const q = res.getChild("query", NS.roster);
    return {
      ver: q ? q.attrs.ver ?? null : null,
      items: q ? q.getChildren("item").map(itemData) : [],
    };
  }

  /** A server round trip (ping): everything `c` sent before is processed when it returns. */
  async sync(c) {
    await this.iq(c, "get", xml("ping", { xmlns: "urn:xmpp:ping" }), this.domain);
  }

  /** Closes every client still online (stream close, then socket). */
  async closeAll() {
    for (const c of this.clients.splice(0)) await this.close(c);
  }

  async close(c) {
    this.clients = this.clients.filter((x) => x !== c);
    if (c.entity.status === "offline") return;
    await c.entity.close(this.timeoutMs).catch(() => {});
    await c.entity.disconnect(this.timeoutMs).catch(() => {});
  }

  /** Runs `main(runner)`, then prints `done` and exits 0; on failure prints the reason, exits 1. */
  run(main) {
    emit({ step: "config", ok: true, service: this.service, domain: this.domain });
    main(this)
      .then(async () => {
        this.current = "close";
        await withTimeout(this.closeAll(), this.timeoutMs * 2, "close");
        emit({ step: "done", ok: true });
        process.exit(0);
      })
      .catch((err) => {
        emit({ step: this.current, ok: false, error: reason(err) });
        process.exit(1);
      });
  }
}

/** A presence stanza from `from` (full or bare) of `type` (undefined = available). */
export function isPresence(st, fromBare, type) {
  if (!st.is("presence")) return false;
  const from = st.attrs.from ?? "";
  if (from !== fromBare && !from.startsWith(fromBare + "/")) return false;
  return (st.attrs.type ?? undefined) === type;
}

/** The `<delay/>` of a message as data, or null. */
export function delayData(st) {
  const d = st.getChild("delay", NS.delay);
  return d ? { from: d.attrs.from ?? null, stamp: d.attrs.stamp ?? null } : null;
}

/**
 * The full subscription handshake between `a` and `b` (both online, both having fetched
 * their roster and sent initial presence), ending in `both` on each side. Each step waits
 * for the roster pushes and presences the previous one causes.
 */
export async function subscribeBoth(r, a, b) {
  await r.step(`subscribe:${a.user}->${b.user}`, async () => {
    await a.entity.send(xml("presence", { to: b.bare, type: "subscribe" }));
    const push = await r.rosterPush(a, b.bare);
    expectFields("push after subscribe", push, { subscription: "none", ask: "subscribe" });
    const req = await r.expect(b, (s) => isPresence(s, a.bare, "subscribe"), `subscribe from ${a.bare}`);
    return { push, request_from: req.attrs.from };
  });
  await r.step(`subscribed:${b.user}->${a.user}`, async () => {
    await b.entity.send(xml("presence", { to: a.bare, type: "subscribed" }));
    const bPush = await r.rosterPush(b, a.bare);
    expectFields(`${b.user}'s push`, bPush, { subscription: "from" });
    await r.expect(a, (s) => isPresence(s, b.bare, "subscribed"), `subscribed from ${b.bare}`);
    const aPush = await r.rosterPush(a, b.bare);
    expectFields(`${a.user}'s push`, aPush, { subscription: "to", ask: null });
    const avail = await r.expect(a, (s) => isPresence(s, b.bare, undefined), `available presence of ${b.bare}`);
    return { b_push: bPush, a_push: aPush, presence_from: avail.attrs.from };
  });
  await r.step(`subscribe:${b.user}->${a.user}`, async () => {
    await b.entity.send(xml("presence", { to: a.bare, type: "subscribe" }));
    const push = await r.rosterPush(b, a.bare);
    expectFields("push after subscribe", push, { subscription: "from", ask: "subscribe" });
    await r.expect(a, (s) => isPresence(s, b.bare, "subscribe"), `subscribe from ${b.bare}`);
    return { push };
  });
  await r.step(`subscribed:${a.user}->${b.user}`, async () => {
    await a.entity.send(xml("presence", { to: b.bare, type: "subscribed" }));
    const aPush = await r.rosterPush(a, b.bare);
    expectFields(`${a.user}'s push`, aPush, { subscription: "both" });
    const bPush = await r.rosterPush(b, a.bare);
    expectFields(`${b.user}'s push`, bPush, { subscription: "both", ask: null });
    const avail = await r.expect(b, (s) => isPresence(s, a.bare, undefined), `available presence of ${a.bare}`);
    return { a_push: aPush, b_push: bPush, presence_from: avail.attrs.from };
  });
}

/** Sets `vcard` (an element `<vCard xmlns='vcard-temp'>`) for `c`. */
export async function setVcard(r, c, fields) {
  const children = Object.entries(fields).map(([k, v]) => xml(k, {}, v));
  await r.iq(c, "set", xml("vCard", { xmlns: NS.vcard }, ...children));
}

/** Reads the vCard of `to` (or one's own) and returns the named fields' texts. */
export async function getVcard(r, c, names, to) {
  const res = await r.iq(c, "get", xml("vCard", { xmlns: NS.vcard }), to);
  const v = res.getChild("vCard", NS.vcard);
  const out = {};
  for (const n of names) out[n] = v ? v.getChildText(n) : null;
  return out;
}
