// A small XMPP-over-WebSocket client (RFC 7395) for the Lilt example chat page.
// It opens the stream, registers in-band (XEP-0077) or logs in with SCRAM-SHA-1
// (WebCrypto) or PLAIN, binds a resource, and then sends and receives stanzas.
// No dependencies, no build step.

const NS = {
  framing: "urn:ietf:params:xml:ns:xmpp-framing",
  client: "jabber:client",
  sasl: "urn:ietf:params:xml:ns:xmpp-sasl",
  bind: "urn:ietf:params:xml:ns:xmpp-bind",
  register: "jabber:iq:register",
  registerFeature: "http://jabber.org/features/iq-register",
  roster: "jabber:iq:roster",
  streams: "http://etherx.jabber.org/streams",
};

export { NS };

/** Escapes text for XML content and attribute values. */
export function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;",
  }[c]));
}

/** Builds an element string: el("iq", {type: "get"}, [el("query", {xmlns: ...})]). */
export function el(name, attrs = {}, children = []) {
  let s = "<" + name;
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null) s += ` ${k}="${esc(v)}"`;
  }
  const inner = (Array.isArray(children) ? children : [children]).join("");
  return inner ? `${s}>${inner}</${name}>` : `${s}/>`;
}

export function text(name, value, attrs = {}) {
  return el(name, attrs, [esc(value)]);
}

const b64 = {
  encode(bytes) {
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin);
  },
  decode(s) {
    return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  },
};
const utf8 = (s) => new TextEncoder().encode(s);

/** The bare part of a JID. */
export function bare(jid) {
  return (jid || "").split("/")[0];
}

/** First child element with this local name (and namespace, when given). */
export function child(node, name, ns) {
  for (const c of node.children) {
    if (c.localName === name && (!ns || c.namespaceURI === ns)) return c;
  }
  return null;
}

export class XmppClient extends EventTarget {
  constructor(url, domain) {
    super();
    this.url = url;
    this.domain = domain;
    this.jid = null;
    this.ws = null;
    this.waiting = []; // resolvers for the next stream-level element
    this.pending = new Map(); // iq id -> {resolve, reject}
    this.nextId = 1;
  }

  id() {
    return "w" + (this.nextId++) + "-" + Math.random().toString(36).slice(2, 8);
  }

  /** Opens the WebSocket and the XMPP stream; resolves with the stream features. */
  async connect() {
    this.ws = new WebSocket(this.url, "xmpp");
    this.ws.onmessage = (ev) => this.onFrame(ev.data);
    this.ws.onclose = () => this.dispatchEvent(new CustomEvent("closed"));
    await new Promise((resolve, reject) => {
      this.ws.onopen = resolve;
      this.ws.onerror = () => reject(new Error("Cannot reach " + this.url));
    });
    return this.openStream();
  }

  async openStream() {
    const features = this.next((e) => e.localName === "features");
    this.ws.send(el("open", { xmlns: NS.framing, to: this.domain, version: "1.0" }));
    return features;
  }

  /** Waits for the next top-level element that `match` accepts. */
  next(match) {
    return new Promise((resolve) => this.waiting.push({ match, resolve }));
  }

  onFrame(data) {
    const doc = new DOMParser().parseFromString(data, "text/xml");
    const node = doc.documentElement;
    if (!node || node.localName === "parsererror") return;
    if (node.localName === "open") return;
    if (node.localName === "close") {
      this.ws.close();
      return;
    }
    if (node.localName === "error" && node.namespaceURI === NS.streams) {
      const cond = node.children[0] ? node.children[0].localName : "unknown";
      this.dispatchEvent(new CustomEvent("stream-error", { detail: cond }));
      return;
    }
    const i = this.waiting.findIndex((w) => w.match(node));
    if (i >= 0) {
      const [w] = this.waiting.splice(i, 1);
      w.resolve(node);
      return;
    }
    if (node.localName === "iq") {
      const type = node.getAttribute("type");
      const p = this.pending.get(node.getAttribute("id"));
      if (p && (type === "result" || type === "error")) {
        this.pending.delete(node.getAttribute("id"));
        if (type === "result") p.resolve(node);
        else p.reject(stanzaError(node));
        return;
      }
      if (type === "get" || type === "set") {
        this.dispatchEvent(new CustomEvent("iq", { detail: node }));
        return;
      }
    }
    this.dispatchEvent(new CustomEvent(node.localName, { detail: node }));
  }

  send(xml) {
    this.ws.send(xml);
  }

  /** Sends an IQ (built without id) and resolves with the result, rejects on error. */
  iq(type, payload, to) {
    const id = this.id();
    const p = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.send(el("iq", { xmlns: NS.client, type, id, to }, [payload]));
    return p;
  }

  /** XEP-0077 registration on a fresh (unauthenticated) stream. */
  async register(username, password, features) {
    if (!child(features, "register", NS.registerFeature)) {
      throw new Error("This server does not allow registration");
    }
    await this.iq("set", el("query", { xmlns: NS.register }, [
      text("username", username), text("password", password),
    ]));
  }

  /** SASL (SCRAM-SHA-1 when offered and WebCrypto is there, else PLAIN), restart, bind. */
  async login(username, password, features) {
    const mechs = [...(child(features, "mechanisms", NS.sasl)?.children || [])].map((m) => m.textContent);
    if (mechs.includes("SCRAM-SHA-1") && globalThis.crypto?.subtle) {
      await this.scramSha1(username, password);
    } else if (mechs.includes("PLAIN")) {
      const msg = b64.encode(utf8("\0" + username + "\0" + password));
      const done = this.next((e) => e.namespaceURI === NS.sasl);
      this.send(text("auth", msg, { xmlns: NS.sasl, mechanism: "PLAIN" }));
      const r = await done;
      if (r.localName !== "success") throw saslError(r);
    } else {
      throw new Error("No usable login mechanism (" + mechs.join(", ") + ")");
    }
    await this.openStream();
    const resource = "web-" + Math.random().toString(36).slice(2, 8);
    const res = await this.iq("set", el("bind", { xmlns: NS.bind }, [text("resource", resource)]));
    this.jid = child(child(res, "bind", NS.bind), "jid", NS.bind).textContent;
    return this.jid;
  }

  async scramSha1(username, password) {
    const user = username.replace(/=/g, "=3D").replace(/,/g, "=2C");
    const cnonce = b64.encode(crypto.getRandomValues(new Uint8Array(18)));
    const clientFirstBare = `n=${user},r=${cnonce}`;
    let reply = this.next((e) => e.namespaceURI === NS.sasl);
    this.send(text("auth", b64.encode(utf8("n,," + clientFirstBare)), { xmlns: NS.sasl, mechanism: "SCRAM-SHA-1" }));
    let r = await reply;
    if (r.localName !== "challenge") throw saslError(r);
    const serverFirst = new TextDecoder().decode(b64.decode(r.textContent));
    const attrs = Object.fromEntries(serverFirst.split(",").map((kv) => [kv[0], kv.slice(2)]));
    if (!attrs.r || !attrs.r.startsWith(cnonce)) throw new Error("Bad server nonce");
    const subtle = crypto.subtle;
    const pwKey = await subtle.importKey("raw", utf8(password), "PBKDF2", false, ["deriveBits"]);
    const salted = new Uint8Array(await subtle.deriveBits(
      { name: "PBKDF2", hash: "SHA-1", salt: b64.decode(attrs.s), iterations: Number(attrs.i) }, pwKey, 160));
    const hmac = async (key, data) => {
      const k = await subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-1" }, false, ["sign"]);
      return new Uint8Array(await subtle.sign("HMAC", k, utf8(data)));
    };
    const clientKey = await hmac(salted, "Client Key");
    const storedKey = new Uint8Array(await subtle.digest("SHA-1", clientKey));
    const withoutProof = `c=biws,r=${attrs.r}`;
    const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = await hmac(storedKey, authMessage);
    const proof = clientKey.map((b, i) => b ^ signature[i]);
    const serverSig = b64.encode(await hmac(await hmac(salted, "Server Key"), authMessage));
    reply = this.next((e) => e.namespaceURI === NS.sasl);
    this.send(text("response", b64.encode(utf8(`${withoutProof},p=${b64.encode(proof)}`)), { xmlns: NS.sasl }));
    r = await reply;
    if (r.localName !== "success") throw saslError(r);
    const final = new TextDecoder().decode(b64.decode(r.textContent));
    if (final !== "v=" + serverSig) throw new Error("The server's SCRAM signature does not match");
  }

  close() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.send(el("close", { xmlns: NS.framing }));
    }
  }
}

function stanzaError(node) {
  const e = child(node, "error");
  const cond = e && [...e.children].find((c) => c.localName !== "text");
  const t = e && child(e, "text");
  const err = new Error((t && t.textContent) || (cond ? cond.localName : "error"));
  err.condition = cond ? cond.localName : "undefined-condition";
  return err;
}

function saslError(node) {
  const cond = node.children[0] ? node.children[0].localName : node.localName;
  return new Error(cond === "not-authorized" ? "Wrong username or password" : "Login failed: " + cond);
}
