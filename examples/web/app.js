// The Lilt example chat page: log in or register, see your contacts and their presence,
// add a contact (roster set + subscription request), accept requests, and chat.

import { XmppClient, NS, el, text, bare, child } from "./xmpp.js";

const $ = (sel) => document.querySelector(sel);
const state = {
  client: null,
  roster: new Map(), // bare jid -> { name, subscription, ask, online }
  chats: new Map(), // bare jid -> [{ dir, body }]
  current: null,
};

function status(msg, isError = false) {
  const s = $("#status");
  s.textContent = msg;
  s.classList.toggle("error", isError);
}

function websocketUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/xmpp-websocket`;
}

async function start(mode) {
  const domain = $("#domain").value.trim();
  const username = $("#username").value.trim();
  const password = $("#password").value;
  if (!domain || !username || !password) {
    status("Please fill in server, username and password.", true);
    return;
  }
  const client = new XmppClient(websocketUrl(), domain);
  try {
    status("Connecting…");
    let features = await client.connect();
    if (mode === "register") {
      status("Creating your account…");
      await client.register(username, password, features);
    }
    status("Logging in…");
    await client.login(username, password, features);
  } catch (e) {
    status(e.message, true);
    client.close();
    return;
  }
  state.client = client;
  client.addEventListener("presence", (ev) => onPresence(ev.detail));
  client.addEventListener("message", (ev) => onMessage(ev.detail));
  client.addEventListener("iq", (ev) => onIq(ev.detail));
  client.addEventListener("closed", () => status("Disconnected.", true));
  client.addEventListener("stream-error", (ev) => status("Stream error: " + ev.detail, true));
  $("#login").hidden = true;
  $("#main").hidden = false;
  $("#me").textContent = client.jid;
  status("Logged in as " + bare(client.jid));
  try {
    const res = await client.iq("get", el("query", { xmlns: NS.roster }));
    for (const item of child(res, "query", NS.roster).children) setItem(item);
  } catch (e) {
    status("Could not load your contacts: " + e.message, true);
  }
  renderRoster();
  client.send(el("presence", { xmlns: NS.client }));
}

function setItem(item) {
  const jid = item.getAttribute("jid");
  if (item.getAttribute("subscription") === "remove") {
    state.roster.delete(jid);
    return;
  }
  const old = state.roster.get(jid) || { online: false };
  state.roster.set(jid, {
    ...old,
    name: item.getAttribute("name") || "",
    subscription: item.getAttribute("subscription") || "none",
    ask: item.getAttribute("ask") || "",
  });
}

function onIq(iq) {
  const query = child(iq, "query", NS.roster);
  const from = iq.getAttribute("from");
  if (query && iq.getAttribute("type") === "set" && (!from || from === bare(state.client.jid))) {
    for (const item of query.children) setItem(item);
    renderRoster();
    state.client.send(el("iq", { xmlns: NS.client, type: "result", id: iq.getAttribute("id") }));
    return;
  }
  state.client.send(el("iq", { xmlns: NS.client, type: "error", id: iq.getAttribute("id"), to: from }, [
    el("error", { type: "cancel" }, [el("service-unavailable", { xmlns: "urn:ietf:params:xml:ns:xmpp-stanzas" })]),
  ]));
}

function onPresence(p) {
  const from = bare(p.getAttribute("from"));
  const type = p.getAttribute("type");
  if (type === "subscribe") {
    addRequest(from);
    return;
  }
  if (from === bare(state.client.jid)) return;
  const item = state.roster.get(from);
  if (!item) return;
  if (!type) item.online = true;
  else if (type === "unavailable") item.online = false;
  renderRoster();
}

function onMessage(m) {
  const body = child(m, "body");
  if (!body || m.getAttribute("type") === "error") return;
  const from = bare(m.getAttribute("from"));
  addLine(from, "in", body.textContent);
  if (!state.current) openChat(from);
}

function addLine(jid, dir, body) {
  if (!state.chats.has(jid)) state.chats.set(jid, []);
  state.chats.get(jid).push({ dir, body });
  if (state.current === jid) renderChat();
  else renderRoster();
}

function addRequest(jid) {
  if (document.querySelector(`#requests li[data-jid="${CSS.escape(jid)}"]`)) return;
  const li = document.createElement("li");
  li.dataset.jid = jid;
  li.append(jid + " wants to add you ");
  const accept = document.createElement("button");
  accept.textContent = "Accept";
  accept.className = "accept";
  accept.onclick = () => {
    state.client.send(el("presence", { xmlns: NS.client, to: jid, type: "subscribed" }));
    const item = state.roster.get(jid);
    // Adding each other: ask back unless we already see their presence.
    if (!item || !["to", "both"].includes(item.subscription)) addContact(jid);
    li.remove();
  };
  const deny = document.createElement("button");
  deny.textContent = "Deny";
  deny.onclick = () => {
    state.client.send(el("presence", { xmlns: NS.client, to: jid, type: "unsubscribed" }));
    li.remove();
  };
  li.append(accept, deny);
  $("#requests").append(li);
}

async function addContact(jid) {
  try {
    await state.client.iq("set", el("query", { xmlns: NS.roster }, [el("item", { jid })]));
  } catch (e) {
    status("Could not add " + jid + ": " + e.message, true);
    return;
  }
  if (!state.roster.has(jid)) state.roster.set(jid, { name: "", subscription: "none", ask: "subscribe", online: false });
  state.client.send(el("presence", { xmlns: NS.client, to: jid, type: "subscribe" }));
  renderRoster();
  status("Asked " + jid + " to share presence.");
}

function renderRoster() {
  const ul = $("#roster");
  ul.replaceChildren();
  const jids = [...state.roster.keys()].sort();
  $("#empty-roster").hidden = jids.length > 0;
  for (const jid of jids) {
    const item = state.roster.get(jid);
    const li = document.createElement("li");
    li.dataset.jid = jid;
    li.className = (item.online ? "online" : "offline") + (state.current === jid ? " current" : "");
    const dot = document.createElement("span");
    dot.className = "dot";
    dot.title = item.online ? "online" : "offline";
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = item.name || jid;
    const sub = document.createElement("span");
    sub.className = "sub";
    sub.textContent = item.subscription + (item.ask ? " (asked)" : "");
    li.append(dot, name, sub);
    li.onclick = () => openChat(jid);
    ul.append(li);
  }
}

function openChat(jid) {
  state.current = jid;
  $("#chat-with").textContent = jid;
  $("#compose").hidden = false;
  renderRoster();
  renderChat();
  $("#msg").focus();
}

function renderChat() {
  const box = $("#messages");
  box.replaceChildren();
  for (const line of state.chats.get(state.current) || []) {
    const div = document.createElement("div");
    div.className = "msg " + line.dir;
    div.textContent = line.body;
    box.append(div);
  }
  box.scrollTop = box.scrollHeight;
}

$("#domain").value = location.hostname === "127.0.0.1" ? "localhost" : location.hostname;
$("#login-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  start(ev.submitter && ev.submitter.id === "register-btn" ? "register" : "login");
});
$("#add-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  let jid = $("#add-jid").value.trim();
  if (!jid) return;
  if (!jid.includes("@")) jid += "@" + $("#domain").value.trim();
  $("#add-jid").value = "";
  addContact(jid);
});
$("#compose").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const body = $("#msg").value;
  if (!body || !state.current) return;
  state.client.send(el("message", { xmlns: NS.client, to: state.current, type: "chat", id: state.client.id() }, [text("body", body)]));
  addLine(state.current, "out", body);
  $("#msg").value = "";
});
window.addEventListener("beforeunload", () => state.client && state.client.close());
