#!/usr/bin/env node
// Two real clients (alice and bob, @xmpp/client 0.13 parts) log in over XMPP-over-WebSocket
// with one forced SASL mechanism, bind, send initial presence, exchange messages both ways,
// ping the server (XEP-0199), read the server's disco#info (XEP-0030) and close cleanly.
//
// Output: one JSON object per line on stdout, one per step:
//   {"step": "...", "ok": true, ...details}
// and last {"step":"done","ok":true}. On the first failure it prints
//   {"step": "...", "ok": false, "error": "reason"}
// and exits with status 1. Bad arguments exit with status 2.
//
// Options (--name value, --name=value, --json '{...}', or env LILT_INTEROP_<NAME>):
//   --port        HTTP port of the server (required unless --url)
//   --host        address to connect to (default 127.0.0.1; never a DNS name, avoids resolver issues)
//   --path        WebSocket path (default /xmpp-websocket)
//   --url         full ws:// URL, overrides host/port/path
//   --domain      XMPP domain (default example.test)
//   --mechanism   SCRAM-SHA-1 | PLAIN (default SCRAM-SHA-1)
//   --alice       user:password (default alice:secret)
//   --bob         user:password (default bob:secret)
//   --timeout-ms  per-step timeout (default 10000)

import { parseArgs, emit, withTimeout, reason, makeClient, xml } from "./lib/common.mjs";

let opts;
try {
  opts = parseArgs(process.argv.slice(2), {
    port: "",
    host: "127.0.0.1",
    path: "/xmpp-websocket",
    url: "",
    domain: "example.test",
    mechanism: "SCRAM-SHA-1",
    alice: "alice:secret",
    bob: "bob:secret",
    "timeout-ms": "10000",
  });
  if (!opts.url && !opts.port) throw new Error("need --port or --url");
} catch (err) {
  emit({ step: "args", ok: false, error: reason(err) });
  process.exit(2);
}

const service = opts.url || `ws://${opts.host}:${opts.port}${opts.path}`;
const domain = opts.domain;
const timeoutMs = Number(opts["timeout-ms"]);
const splitCreds = (s) => {
  const i = s.indexOf(":");
  return i < 0 ? [s, ""] : [s.slice(0, i), s.slice(i + 1)];
};

let currentStep = "start";
const clients = [];

async function step(name, fn) {
  currentStep = name;
  const details = await withTimeout(Promise.resolve().then(fn), timeoutMs, name);
  emit({ step: name, ok: true, ...(details || {}) });
  return details;
}

/** Resolves with the first stanza `pred` accepts; installed before the stanza is provoked. */
function waitFor(entity, pred) {
  return new Promise((resolve) => {
    const onStanza = (st) => {
      if (pred(st)) {
        entity.removeListener("stanza", onStanza);
        resolve(st);
      }
    };
    entity.on("stanza", onStanza);
  });
}

async function login(who, creds) {
  const [username, password] = splitCreds(creds);
  const c = makeClient({ service, domain, username, password, mechanism: opts.mechanism, timeoutMs });
  c.who = who;
  c.received = [];
  c.entity.on("stanza", (st) => {
    if (st.is("message")) c.received.push(st);
  });
  clients.push(c);
  await step(`login:${who}`, async () => {
    const address = await c.entity.start();
    return {
      service,
      jid: address.toString(),
      bare: address.bare().toString(),
      mechanism: c.info.mechanism,
      offered: c.info.offered,
      stream_from: c.info.streamFrom,
    };
  });
  return c;
}

async function main() {
  emit({ step: "config", ok: true, service, domain, mechanism: opts.mechanism });
  const alice = await login("alice", opts.alice);
  const bob = await login("bob", opts.bob);
  const aliceJid = alice.entity.jid.toString();
  const bobJid = bob.entity.jid.toString();

  // Initial presence: what every client does after binding; it makes bare-JID delivery work.
  for (const c of [alice, bob]) {
    await step(`presence:${c.who}`, async () => {
      await c.entity.send(xml("presence"));
      return {};
    });
  }

  // alice -> bob's bare JID (routed by the server to bob's resource);
  // bob -> alice's full JID (routed straight to the session).
  const exchanges = [
    { from: alice, to: bob, toAddr: bob.entity.jid.bare().toString(), body: "Hello Bob, from Alice \u2603 <&>" },
    { from: bob, to: alice, toAddr: aliceJid, body: "Hi Alice! \u00e9\u00e8 'quoted' \"double\"" },
  ];
  for (const ex of exchanges) {
    await step(`message:${ex.from.who}->${ex.to.who}`, async () => {
      const id = `m-${ex.from.who}-${Date.now()}`;
      const got = waitFor(
        ex.to.entity,
        (st) => st.is("message") && st.attrs.id === id,
      );
      await ex.from.entity.send(
        xml("message", { to: ex.toAddr, type: "chat", id }, xml("body", {}, ex.body)),
      );
      const st = await got;
      const body = st.getChildText("body");
      if (body !== ex.body) throw new Error(`body mismatch: got ${JSON.stringify(body)}`);
      const fromExpected = ex.from.entity.jid.toString();
      if (st.attrs.from !== fromExpected) {
        throw new Error(`from is ${JSON.stringify(st.attrs.from)}, expected ${JSON.stringify(fromExpected)}`);
      }
      return { to: ex.toAddr, from: st.attrs.from, received_to: st.attrs.to ?? null, type: st.attrs.type ?? null, body };
    });
  }

  await step("ping", async () => {
    const res = await alice.iqCaller.request(
      xml("iq", { type: "get", to: domain }, xml("ping", { xmlns: "urn:xmpp:ping" })),
      timeoutMs,
    );
    return { type: res.attrs.type, from: res.attrs.from ?? null };
  });

  await step("disco-info", async () => {
    const res = await alice.iqCaller.request(
      xml("iq", { type: "get", to: domain }, xml("query", { xmlns: "http://jabber.org/protocol/disco#info" })),
      timeoutMs,
    );
    const q = res.getChild("query", "http://jabber.org/protocol/disco#info");
    if (!q) throw new Error(`no disco#info query in ${res.toString()}`);
    const identities = q.getChildren("identity").map((i) => ({
      category: i.attrs.category,
      type: i.attrs.type,
      name: i.attrs.name ?? null,
    }));
    const features = q.getChildren("feature").map((f) => f.attrs.var).sort();
    return { from: res.attrs.from ?? null, identities, features };
  });

  for (const c of [bob, alice]) {
    await step(`disconnect:${c.who}`, async () => {
      let clean = null;
      c.entity.once("disconnect", (ev) => {
        clean = ev ? ev.clean : null;
      });
      // close(): send <close/> and wait for the server's <close/>; disconnect(): end the socket
      // and wait for it to be closed. Both reject on timeout, unlike stop() which hides errors.
      const footer = await c.entity.close(timeoutMs);
      await c.entity.disconnect(timeoutMs);
      return { server_close: footer ? footer.toString() : null, socket_clean: clean };
    });
  }

  const unexpected = clients.flatMap((c) => c.info.errors.map((e) => `${c.who}: ${e}`));
  if (unexpected.length) {
    currentStep = "errors";
    throw new Error(unexpected.join("; "));
  }
  emit({ step: "done", ok: true });
}

main().then(
  () => process.exit(0),
  (err) => {
    emit({ step: currentStep, ok: false, error: reason(err) });
    process.exit(1);
  },
);
