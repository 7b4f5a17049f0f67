//! One raw WebSocket client and two servers for the PEP tests: Lilt in process and
//! Debian's Prosody as our own process, both given the same accounts and rosters, so a
//! scenario can run against each and the answers be compared after canonicalisation
//! (attribute order, random ids, UUIDs and time stamps do not count).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;

use lilt::xml::{Element, Limits, Node, StreamEvent, StreamParser};

use crate::common::Prosody;
use crate::support::{base_config, Server, WsClient, HOST};

pub const PW: &str = "pw";

/// Modules both servers load for PEP (Prosody's default set for these features).
pub const MODULES: &[&str] = &[
    "websocket",
    "http",
    "saslauth",
    "ping",
    "disco",
    "roster",
    "pep",
    "private",
    "bookmarks",
    "vcard4",
    "vcard_legacy",
];

/// A roster file (Prosody's format) giving `user` these (contact, subscription) items.
pub fn roster_lua(items: &[(&str, &str)]) -> String {
    let mut s = String::from("return {\n\t[false] = { [\"version\"] = 1; [\"pending\"] = {}; };\n");
    for (jid, sub) in items {
        s.push_str(&format!(
            "\t[\"{jid}\"] = {{ [\"subscription\"] = \"{sub}\"; [\"groups\"] = {{}}; }};\n"
        ));
    }
    s.push_str("};\n");
    s
}

/// Writes rosters into a data dir (`<data>/example%2etest/roster/<user>.dat`).
pub fn write_rosters(data: &Path, rosters: &[(&str, &[(&str, &str)])]) {
    let dir = data.join("example%2etest").join("roster");
    std::fs::create_dir_all(&dir).expect("mkdir roster");
    for (user, items) in rosters {
        std::fs::write(dir.join(format!("{user}.dat")), roster_lua(items)).expect("write roster");
    }
}

pub fn lilt_config(extra: &str) -> String {
    lilt_config_mods(extra, MODULES)
}

/// [`lilt_config`] with another module list.
pub fn lilt_config_mods(extra: &str, modules: &[&str]) -> String {
    let mods: Vec<String> = modules.iter().map(|m| format!("{m:?}")).collect();
    base_config(extra).replace(
        r#"modules_enabled = { "websocket", "http", "ping", "disco" }"#,
        &format!("modules_enabled = {{ {} }}", mods.join(", ")),
    )
}

/// Lilt with `users` (password [`PW`]) and rosters.
pub async fn lilt(users: &[&str], rosters: &[(&str, &[(&str, &str)])], extra: &str) -> Server {
    lilt_with(users, rosters, extra, "").await
}

/// `lilt`, with `tail` (Component sections) after the VirtualHosts.
pub async fn lilt_with(
    users: &[&str],
    rosters: &[(&str, &[(&str, &str)])],
    extra: &str,
    tail: &str,
) -> Server {
    lilt_mods(users, rosters, extra, tail, MODULES).await
}

/// `lilt_with`, loading `modules` instead of [`MODULES`].
pub async fn lilt_mods(
    users: &[&str],
    rosters: &[(&str, &[(&str, &str)])],
    extra: &str,
    tail: &str,
    modules: &[&str],
) -> Server {
    let rosters: Vec<(String, Vec<(String, String)>)> = rosters
        .iter()
        .map(|(u, i)| {
            (
                u.to_string(),
                i.iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect(),
            )
        })
        .collect();
    let config = format!("{}\n{tail}\n", lilt_config_mods(extra, modules));
    let server = Server::start_with(&config, move |dir| {
        let data = dir.join("data");
        for (u, items) in &rosters {
            let items: Vec<(&str, &str)> = items
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect();
            write_rosters(&data, &[(u.as_str(), &items)]);
        }
    })
    .await;
    for u in users {
        server.add_user(u, PW);
    }
    server
}

/// Lilt serving an existing data dir (accounts included) with the PEP modules.
pub async fn lilt_on(data: &Path, tail: &str) -> Server {
    let config = format!("{}\n{tail}\n", lilt_config("")).replace(
        "data_path = \"data\"",
        &format!("data_path = {:?}", data.display().to_string()),
    );
    Server::start(&config).await
}

/// Prosody on `data` with the PEP modules, `users` registered, rosters written.
pub fn prosody(
    data: &Path,
    users: &[&str],
    rosters: &[(&str, &[(&str, &str)])],
    extra: &str,
) -> Prosody {
    prosody_with(data, users, rosters, extra, "")
}

/// `prosody`, with `tail` (Component sections) after the VirtualHost.
pub fn prosody_with(
    data: &Path,
    users: &[&str],
    rosters: &[(&str, &[(&str, &str)])],
    extra: &str,
    tail: &str,
) -> Prosody {
    prosody_mods(data, users, rosters, extra, tail, MODULES)
}

/// `prosody_with`, loading `modules` instead of [`MODULES`].
pub fn prosody_mods(
    data: &Path,
    users: &[&str],
    rosters: &[(&str, &[(&str, &str)])],
    extra: &str,
    tail: &str,
    modules: &[&str],
) -> Prosody {
    let mut p = Prosody::new(data, HOST);
    let text = std::fs::read_to_string(&p.config_path).expect("read prosody config");
    let mods: Vec<String> = modules.iter().map(|m| format!("{m:?}")).collect();
    let start = text.find("modules_enabled = {").expect("modules line");
    let end = start + text[start..].find('}').expect("end of modules") + 1;
    let text = format!(
        "{}modules_enabled = {{ {} }}\n{extra}\n{}",
        &text[..start],
        mods.join(", "),
        &text[end..]
    );
    let text = format!("{text}\n{tail}\n");
    std::fs::write(&p.config_path, text).expect("write prosody config");
    for u in users {
        p.register(u, HOST, PW);
    }
    write_rosters(data, rosters);
    p.start();
    p
}

/// Prosody on an existing data dir (accounts and rosters as they are).
pub fn prosody_on(data: &Path) -> Prosody {
    prosody_with(data, &[], &[], "", "")
}

pub fn prosody_addr(p: &Prosody) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], p.http_port))
}

/// A logged-in client.
pub struct Conn {
    pub ws: WsClient,
    pub jid: String,
    seq: u32,
}

impl Conn {
    pub async fn login(addr: SocketAddr, user: &str, resource: &str) -> Conn {
        let mut ws = WsClient::connect(addr).await;
        let jid = ws.login(user, PW, resource).await;
        Conn { ws, jid, seq: 0 }
    }

    pub async fn send(&mut self, xml: &str) {
        let xml = if xml.contains("xmlns='jabber:client'") {
            xml.to_owned()
        } else {
            let end = xml.find([' ', '>', '/']).unwrap_or(xml.len());
            format!("{} xmlns='jabber:client'{}", &xml[..end], &xml[end..])
        };
        self.ws.send_text(&xml).await;
    }

    /// Everything that arrives before the answer to a fresh ping.
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

    pub async fn exchange(&mut self, xml: &str) -> Vec<String> {
        self.send(xml).await;
        self.sync().await
    }

    /// `exchange`, canonicalised.
    pub async fn ask(&mut self, xml: &str) -> Vec<String> {
        self.exchange(xml).await.iter().map(|f| canon(f)).collect()
    }
}

pub fn parse(xml: &str) -> Element {
    let mut p = StreamParser::new(Limits::default());
    let doc = format!(
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>{xml}"
    );
    p.feed(doc.as_bytes()).expect("well-formed frame");
    loop {
        match p.next_event().expect("parses") {
            Some(StreamEvent::Stanza(e)) => return e,
            Some(_) => continue,
            None => panic!("no element in {xml}"),
        }
    }
}

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && s.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit())
}

fn esc(s: &str) -> String {
    let mut out = String::new();
    lilt::xml::escape(s, &mut out);
    out
}

fn canon_el(e: &Element, parent_ns: &str, out: &mut String) {
    out.push('<');
    out.push_str(&e.name);
    if e.ns != parent_ns {
        out.push_str(&format!(" xmlns='{}'", e.ns));
    }
    let mut attrs: Vec<(String, String)> = e
        .attrs
        .iter()
        .filter(|(k, _)| !(e.name == "message" && k == "id"))
        .map(|(k, v)| {
            let v = if is_uuid(v) {
                "UUID".to_owned()
            } else if k == "stamp" {
                "STAMP".to_owned()
            } else {
                v.to_string()
            };
            (k.to_string(), v)
        })
        .collect();
    attrs.sort();
    for (k, v) in attrs {
        out.push_str(&format!(" {k}='{}'", esc(&v)));
    }
    out.push('>');
    let mut kids: Vec<String> = e
        .children
        .iter()
        .filter_map(|c| match c {
            Node::Element(c) => {
                let mut s = String::new();
                canon_el(c, &e.ns, &mut s);
                Some(s)
            }
            Node::Text(t) if t.trim().is_empty() => None,
            Node::Text(t) => Some(esc(t)),
        })
        .collect();
    // disco answers and error children come in set order from Prosody.
    if e.name == "query" || e.name == "error" {
        kids.sort();
    }
    for k in kids {
        out.push_str(&k);
    }
    out.push_str(&format!("</{}>", e.name));
}

/// The frame with attributes sorted and ids/uuids/stamps masked.
pub fn canon(frame: &str) -> String {
    let mut s = String::new();
    canon_el(&parse(frame), "jabber:client", &mut s);
    s
}

/// The first frame containing all needles.
pub fn find<'a>(frames: &'a [String], needles: &[&str]) -> &'a String {
    frames
        .iter()
        .find(|f| needles.iter().all(|n| f.contains(n)))
        .unwrap_or_else(|| panic!("no frame with {needles:?} in {frames:#?}"))
}
