// Shared helpers for the interop scripts: argument parsing, JSON step output, timeouts,
// and an XMPP client built from @xmpp/* parts with exactly one SASL mechanism registered.
//
// Why not `@xmpp/client`'s `client()`: in 0.13 it registers SCRAM-SHA-1, PLAIN and ANONYMOUS
// and always picks the first one the server offers (SCRAM-SHA-1). The credentials callback
// is told which mechanism was chosen but cannot change it. To force PLAIN we assemble the
// same parts ourselves (as @xmpp/client/index.js does) and register only the one mechanism.

import clientCore from "@xmpp/client-core";
import websocketMod from "@xmpp/websocket";
import middlewareMod from "@xmpp/middleware";
import streamFeaturesMod from "@xmpp/stream-features";
import iqCallerMod from "@xmpp/iq/caller.js";
import iqCalleeMod from "@xmpp/iq/callee.js";
import saslMod from "@xmpp/sasl";
import resourceBindingMod from "@xmpp/resource-binding";
import sessionEstablishmentMod from "@xmpp/session-establishment";
import scramSha1Mod from "@xmpp/sasl-scram-sha-1";
import plainMod from "@xmpp/sasl-plain";

export const { xml, jid } = clientCore;

const MECHANISMS = { "SCRAM-SHA-1": scramSha1Mod, PLAIN: plainMod };
export const SUPPORTED_MECHANISMS = Object.keys(MECHANISMS);

/** Parses `--key value` / `--key=value` argv, then `--json '{...}'`, then env LILT_INTEROP_KEY. */
export function parseArgs(argv, defaults) {
  const out = { ...defaults };
  const fromArgv = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${JSON.stringify(a)}`);
    const eq = a.indexOf("=");
    let key;
    let value;
    if (eq >= 0) {
      key = a.slice(2, eq);
      value = a.slice(eq + 1);
    } else {
      key = a.slice(2);
      value = argv[++i];
      if (value === undefined) throw new Error(`missing value for --${key}`);
    }
    fromArgv[key] = value;
  }
  for (const key of Object.keys(defaults)) {
    const envName = "LILT_INTEROP_" + key.toUpperCase().replace(/-/g, "_");
    if (process.env[envName] !== undefined) out[key] = process.env[envName];
  }
  if (fromArgv.json !== undefined) Object.assign(out, JSON.parse(fromArgv.json));
  delete fromArgv.json;
  for (const [k, v] of Object.entries(fromArgv)) {
    if (!(k in defaults)) throw new Error(`unknown option --${k}`);
    out[k] = v;
  }
  return out;
}

/** Prints one JSON line (a step result) on stdout. */
export function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

/** Rejects with `${what} timed out after N ms` unless `promise` settles first. */
export function withTimeout(promise, ms, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

/** Human-readable reason for any error (XMPP errors carry a condition and maybe text). */
export function reason(err) {
  if (!err) return "unknown error";
  const parts = [];
  if (err.name && err.name !== "Error") parts.push(err.name);
  if (err.condition) parts.push(err.condition);
  if (err.text) parts.push(JSON.stringify(err.text));
  parts.push(err.message || String(err));
  if (err.element) parts.push(err.element.toString());
  return parts.filter((p, i, a) => p && a.indexOf(p) === i).join(": ");
}

/**
 * Builds a client that connects to `service` (a ws:// URL on 127.0.0.1) for XMPP `domain`,
 * authenticating with `mechanism` only. The returned `info` object is filled in while
 * connecting: offered mechanisms, the mechanism used, stream header attributes.
 */
export function makeClient({ service, domain, username, password, mechanism, resource, timeoutMs }) {
  const mechMod = MECHANISMS[mechanism];
  if (!mechMod) {
    throw new Error(`unsupported mechanism ${mechanism}; use one of ${SUPPORTED_MECHANISMS.join(", ")}`);
  }
  const entity = new clientCore.Client({ service, domain });
  // @xmpp/connection waits only 2 s for the server's stream header and <close/> by default;
  // a debug build on a busy CI machine deserves the same budget as every other step.
  if (timeoutMs) entity.timeout = timeoutMs;
  websocketMod({ entity });
  const middleware = middlewareMod({ entity });
  const streamFeatures = streamFeaturesMod({ middleware });
  const iqCaller = iqCallerMod({ middleware, entity });
  const iqCallee = iqCalleeMod({ middleware, entity });

  const info = { offered: null, mechanism: null, streamFrom: null, errors: [] };
  entity.on("nonza", (el) => {
    if (el.is("features", "http://etherx.jabber.org/streams") && info.offered === null) {
      const mechs = el.getChild("mechanisms", "urn:ietf:params:xml:ns:xmpp-sasl");
      if (mechs) info.offered = mechs.getChildElements().map((m) => m.text());
    }
  });
  entity.on("open", (el) => {
    info.streamFrom = el.attrs.from ?? null;
  });
  entity.on("error", (err) => info.errors.push(reason(err)));

  const credentials = async (authenticate, chosen) => {
    info.mechanism = chosen ?? null;
    if (chosen !== mechanism) {
      throw new Error(`server does not offer ${mechanism} (offered: ${JSON.stringify(info.offered)})`);
    }
    await authenticate({ username, password });
  };
  const sasl = saslMod({ streamFeatures }, credentials);
  resourceBindingMod({ iqCaller, streamFeatures }, resource);
  sessionEstablishmentMod({ iqCaller, streamFeatures });
  mechMod(sasl);

  return { entity, iqCaller, iqCallee, info };
}
