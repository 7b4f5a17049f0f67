//! The differential runner: one raw-client script played against Lilt and against
//! Debian's Prosody 0.12.3 with the same MUC config; every stanza each client receives is
//! normalised (attribute order, ids, timestamps, occupant-ids, random names) and the two
//! transcripts must be equal.

use std::net::SocketAddr;

use lilt::xml::{Element, Limits, Node, StreamEvent, StreamParser};

use crate::common::{prosody_ready, Prosody};
use crate::support::{Server, WsClient, HOST};

pub const MUC_HOST: &str = "conference.example.test";
pub const USERS: &[&str] = &["alice", "bob", "carol", "admin", "bob"];

/// The resource each client binds: index 4 is bob's second session.
fn resource_of(i: usize) -> &'static str {
    if i == 4 {
        "r2"
    } else {
        "r"
    }
}

/// The Lilt config for a script: the component plus `muc_options` under it.
pub fn lilt_config(muc_options: &str) -> String {
    format!(
        r#"
http_ports = {{ 0 }}
https_ports = {{ }}
c2s_ports = {{ }}
data_path = "data"
plugin_paths = {{ "{plugins}" }}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
modules_enabled = {{ "websocket", "http", "ping", "disco" }}
admins = {{ "admin@{HOST}" }}
VirtualHost "{HOST}"
Component "{MUC_HOST}" "muc"
{muc_options}
"#,
        plugins = plugins_dir()
    )
}

/// The test plugins (tests/fixtures/muc).
pub fn plugins_dir() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/muc").to_owned()
}

/// A logged-in client that collects what arrives up to a ping answered by its server.
pub struct Client {
    ws: WsClient,
    seq: u32,
}

impl Client {
    pub async fn login(addr: SocketAddr, user: &str, resource: &str) -> Client {
        let mut ws = WsClient::connect(addr).await;
        ws.login(user, "pw", resource).await;
        Client { ws, seq: 0 }
    }

    pub async fn send(&mut self, xml: &str) {
        self.ws.send_text(&with_client_ns(xml)).await;
    }

    pub async fn sync(&mut self) -> Vec<String> {
        self.seq += 1;
        let id = format!("sync-{}", self.seq);
        self.send(&format!(
            "<iq type='get' id='{id}' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>"
        ))
        .await;
        let mut seen = Vec::new();
        loop {
            let t = self.ws.next_text().await;
            if t.contains(&format!("id='{id}'")) || t.contains(&format!("id=\"{id}\"")) {
                return seen;
            }
            seen.push(t);
        }
    }
}

fn with_client_ns(xml: &str) -> String {
    if xml.contains("xmlns='jabber:client'") {
        return xml.to_owned();
    }
    let end = xml.find([' ', '>', '/']).unwrap_or(xml.len());
    format!("{} xmlns='jabber:client'{}", &xml[..end], &xml[end..])
}

/// One step: which client (index into USERS) sends what.
pub type Step<'a> = (usize, &'a str);

/// Plays `steps` with clients `users` on a server at `addr`; returns, per step, what
/// each client received (normalised).
pub async fn play(addr: SocketAddr, users: &[usize], steps: &[Step<'_>]) -> Vec<Vec<Vec<String>>> {
    let mut clients = Vec::new();
    for &u in users {
        clients.push((u, Client::login(addr, USERS[u], resource_of(u)).await));
    }
    let mut transcript = Vec::new();
    for (who, xml) in steps {
        let c = clients
            .iter_mut()
            .find(|(u, _)| u == who)
            .map(|(_, c)| c)
            .expect("step's client logged in");
        c.send(xml).await;
        // The sender first: once its ping is answered the stanza has been handled, so the
        // others' pings come after everything it caused.
        let mut per_client = vec![Vec::new(); clients.len()];
        let first = clients.iter().position(|(u, _)| u == who).expect("sender");
        let order = std::iter::once(first).chain((0..clients.len()).filter(|i| *i != first));
        for i in order {
            let got: Vec<String> = clients[i]
                .1
                .sync()
                .await
                .iter()
                .map(|f| normalise(f))
                .collect();
            per_client[i] = sort_presence_runs(got);
        }
        transcript.push(per_client);
    }
    transcript
}

/// Prosody sends the presences of several occupants in hash order: runs of presences
/// (other than one's own, status 110) are compared as sets.
fn sort_presence_runs(frames: Vec<String>) -> Vec<String> {
    let groupable = |f: &String| f.starts_with("<presence") && !f.contains("code='110'");
    let mut out = Vec::new();
    let mut run: Vec<String> = Vec::new();
    for f in frames {
        if groupable(&f) {
            run.push(f);
            continue;
        }
        run.sort();
        out.append(&mut run);
        out.push(f);
    }
    run.sort();
    out.append(&mut run);
    out
}

/// Runs the script on both servers, asserts equal transcripts and returns Lilt's.
pub async fn differential(
    muc_options: &str,
    users: &[usize],
    steps: &[Step<'_>],
) -> Vec<Vec<Vec<String>>> {
    if !prosody_ready() {
        return Vec::new();
    }
    let lilt = Server::start(&lilt_config(muc_options)).await;
    for &u in users.iter().filter(|u| **u < 4) {
        lilt.add_user(USERS[u], "pw");
    }
    let ours = play(lilt.addr, users, steps).await;

    let tmp = tempfile::tempdir().expect("tempdir");
    let mut prosody = Prosody::new(&tmp.path().join("data"), HOST);
    let mut cfg = std::fs::read_to_string(&prosody.config_path).expect("config");
    cfg = cfg.replace(
        &format!("VirtualHost \"{HOST}\""),
        &format!("admins = {{ \"admin@{HOST}\" }}\nplugin_paths = {{ \"{}\" }}\nVirtualHost \"{HOST}\"\nComponent \"{MUC_HOST}\" \"muc\"\n{muc_options}\n", plugins_dir()),
    );
    // vcard_legacy would add vcard-temp:x:update to every presence; Lilt's test config
    // does not load it.
    cfg = cfg.replace("\"vcard_legacy\", ", "");
    std::fs::write(&prosody.config_path, cfg).expect("write config");
    for &u in users.iter().filter(|u| **u < 4) {
        prosody.register(USERS[u], HOST, "pw");
    }
    prosody.start();
    let addr: SocketAddr = format!("127.0.0.1:{}", prosody.http_port)
        .parse()
        .expect("addr");
    let theirs = play(addr, users, steps).await;
    let mut report = String::new();
    for (i, (a, b)) in ours.iter().zip(theirs.iter()).enumerate() {
        for (k, (x, y)) in a.iter().zip(b.iter()).enumerate() {
            if x != y {
                report.push_str(&format!(
                    "\n== step {i} {:?}, client {}\n-- lilt:\n{}\n-- prosody:\n{}\n",
                    steps[i],
                    USERS[users[k]],
                    x.join("\n"),
                    y.join("\n")
                ));
            }
        }
    }
    assert!(report.is_empty(), "Lilt and Prosody differ:{report}");
    ours
}

/// The canonical text of one received stanza.
pub fn normalise(frame: &str) -> String {
    let mut p = StreamParser::new(Limits::default());
    let doc = format!(
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>{frame}"
    );
    if p.feed(doc.as_bytes()).is_err() {
        return format!("unparsable: {frame}");
    }
    let mut out = String::new();
    while let Ok(Some(ev)) = p.next_event() {
        if let StreamEvent::Stanza(mut el) = ev {
            scrub(&mut el, true);
            canonical(&el, &mut out);
        }
    }
    out
}

/// Replaces what legitimately differs between two runs.
fn scrub(el: &mut Element, top: bool) {
    let name = el.name.to_string();
    let ns = el.ns.to_string();
    let mut attrs: Vec<(String, String)> = el
        .attrs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for (k, v) in attrs.iter_mut() {
        // Archive ids are random on both servers.
        let volatile = ((name == "occupant-id" || name == "stanza-id") && k == "id")
            || (name == "result" && ns == "urn:xmpp:mam:2" && k == "id")
            || (k == "stamp")
            || (top && k == "id" && (v.len() > 30 || v.contains('=')));
        if volatile {
            *v = "*".into();
        }
    }
    el.attrs = attrs
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    // Where Prosody's order comes from Lua hash iteration (features, room info fields,
    // affiliation lists, list-multi values), compare sorted.
    let unordered = (name == "query"
        && (ns == "http://jabber.org/protocol/disco#info"
            || ns == "http://jabber.org/protocol/muc#admin"))
        || (name == "x" && ns == "jabber:x:data" && el.attr("type") == Some("result"))
        || (name == "field" && el.attr("type") == Some("list-multi"))
        // util.rsm builds <set/> from a Lua table.
        || (name == "set" && ns == "http://jabber.org/protocol/rsm")
        // The body and the XEP-0249 payload of an invite come from two muc-invite hooks
        // of equal priority, whose order Prosody leaves open.
        || (name == "message" && el.get_child("x", "jabber:x:conference").is_some())
        || (name == "x"
            && ns == "http://jabber.org/protocol/muc#user"
            && el.child_elements().all(|c| c.name == "status"));
    if unordered {
        el.children.sort_by_key(sort_key);
    }
    // One item per session, in Prosody's session-table order: sorted in place.
    if name == "x" && ns == "http://jabber.org/protocol/muc#user" {
        let slots: Vec<usize> = (0..el.children.len())
            .filter(|i| matches!(&el.children[*i], Node::Element(e) if e.name == "item"))
            .collect();
        let mut items: Vec<Node> = slots.iter().map(|i| el.children[*i].clone()).collect();
        items.sort_by_key(sort_key);
        for (slot, item) in slots.into_iter().zip(items) {
            el.children[slot] = item;
        }
    }
    if (name == "unique" && ns.ends_with("muc#unique"))
        || ((name == "first" || name == "last") && ns == "http://jabber.org/protocol/rsm")
    {
        el.children = vec![Node::Text("*".into())];
    }
    for c in el.children.iter_mut() {
        if let Node::Element(e) = c {
            scrub(e, false);
        }
    }
}

fn sort_key(n: &Node) -> (u8, String) {
    match n {
        Node::Element(e) if e.name == "option" => (0, String::new()),
        Node::Element(e) if e.attr("var") == Some("FORM_TYPE") => (1, String::new()),
        Node::Element(e) => {
            let mut k = String::new();
            canonical(e, &mut k);
            (2, k)
        }
        Node::Text(t) => (3, t.to_string()),
    }
}

fn canonical(el: &Element, out: &mut String) {
    out.push('<');
    out.push_str(&el.name);
    out.push_str(&format!(" xmlns='{}'", el.ns));
    let mut attrs: Vec<_> = el.attrs.iter().collect();
    attrs.sort();
    for (k, v) in attrs {
        out.push_str(&format!(" {k}='{v}'"));
    }
    out.push('>');
    for c in &el.children {
        match c {
            Node::Element(e) => canonical(e, out),
            Node::Text(t) => out.push_str(t),
        }
    }
    out.push_str("</");
    out.push_str(&el.name);
    out.push('>');
}

#[test]
fn normalising_ignores_attribute_order_and_volatile_values_but_not_content() {
    let a = normalise("<message xmlns='jabber:client' to='a' from='b'><body>x</body><delay xmlns='urn:xmpp:delay' stamp='2020-01-01T00:00:00Z'/></message>");
    let b = normalise("<message from='b' to='a' xmlns='jabber:client'><body>x</body><delay stamp='2026-01-01T00:00:00Z' xmlns='urn:xmpp:delay'/></message>");
    assert_eq!(a, b);
    let c = normalise("<message from='b' to='a' xmlns='jabber:client'><body>y</body></message>");
    assert_ne!(a, c);
}
