#!/usr/bin/env node
// The WebSocket side of Lilt's TCP<->WebSocket interop test: one @xmpp/client user logs in
// over XMPP-over-WebSocket, sends initial presence and prints {"step":"online"}; when the
// peer's presence arrives it answers with directed presence and a message (--send), then
// waits for the peer's reply (--expect) and closes.
//
// Output: one JSON object per line; the last has "ok": false on failure (exit status 1).
// Options: --service ws://.../xmpp-websocket --domain D --username U --password P
//          --peer bare@jid --send TEXT --expect TEXT --timeout-ms N

import { client, xml } from "@xmpp/client";

const opts = { domain: "example.test", "timeout-ms": "20000" };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) opts[argv[i].replace(/^--/, "")] = argv[i + 1];

const emit = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const fail = (step, err) => {
  emit({ step, ok: false, error: String(err && err.message ? err.message : err) });
  process.exit(1);
};
for (const k of ["service", "username", "password", "peer", "send", "expect"]) {
  if (!opts[k]) fail("args", `missing --${k}`);
}
setTimeout(() => fail("timeout", `not finished within ${opts["timeout-ms"]} ms`), Number(opts["timeout-ms"])).unref();

const xmpp = client({
  service: opts.service,
  domain: opts.domain,
  username: opts.username,
  password: opts.password,
  resource: "xmppjs",
});
xmpp.on("error", (err) => fail("error", err));

let peerFull = null;
xmpp.on("stanza", async (st) => {
  try {
    const from = st.attrs.from || "";
    const bare = from.split("/")[0];
    if (st.is("presence") && bare === opts.peer && !peerFull && st.attrs.type === undefined) {
      peerFull = from;
      emit({ step: "presence", ok: true, from });
      await xmpp.send(xml("presence", { to: from }));
      await xmpp.send(xml("message", { to: from, type: "chat", id: "x1" }, xml("body", {}, opts.send)));
      emit({ step: "sent", ok: true, to: from });
    } else if (st.is("message") && bare === opts.peer) {
      const body = st.getChildText("body");
      if (body !== opts.expect) fail("message", `unexpected body ${JSON.stringify(body)}`);
      emit({ step: "message", ok: true, from, body });
      await xmpp.stop();
      emit({ step: "done", ok: true });
      process.exit(0);
    }
  } catch (err) {
    fail("stanza", err);
  }
});

xmpp.on("online", async (address) => {
  await xmpp.send(xml("presence"));
  emit({ step: "online", ok: true, jid: address.toString() });
});

xmpp.start().catch((err) => fail("start", err));
