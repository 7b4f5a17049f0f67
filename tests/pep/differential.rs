//! The same client stanzas sent to Lilt and to Debian's Prosody 0.12.3 get the same
//! answers (after canonicalisation): PEP publish/items/config/errors, account disco,
//! caps `+notify` with last items and notifications, and an OMEMO-style open node read
//! by a stranger.

use std::net::SocketAddr;

use lilt::modules::pep::caps;

use crate::harness::{self, Conn};

const PS: &str = "xmlns='http://jabber.org/protocol/pubsub'";
const OWNER: &str = "xmlns='http://jabber.org/protocol/pubsub#owner'";
const NICK: &str = "http://jabber.org/protocol/nick";
const DEVICES: &str = "eu.siacs.conversations.axolotl.devicelist";

pub const USERS: &[&str] = &["alice", "bob", "carol"];
pub const ROSTERS: &[(&str, &[(&str, &str)])] = &[
    ("alice", &[("bob@example.test", "both")]),
    ("bob", &[("alice@example.test", "both")]),
];

type Steps = Vec<(String, Vec<String>)>;

fn publish(id: &str, node: &str, item_id: &str, payload: &str, options: &str) -> String {
    format!("<iq type='set' id='{id}'><pubsub {PS}><publish node='{node}'><item id='{item_id}'>{payload}</item></publish>{options}</pubsub></iq>")
}

fn options(fields: &[(&str, &str)]) -> String {
    let mut f = String::from("<field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value></field>");
    for (var, v) in fields {
        f.push_str(&format!("<field var='{var}'><value>{v}</value></field>"));
    }
    format!("<publish-options><x xmlns='jabber:x:data' type='submit'>{f}</x></publish-options>")
}

/// The disco#info a client with `+notify` for these nodes answers, and its caps ver.
fn client_disco(nodes: &[&str]) -> (String, String) {
    let mut q = String::from("<query xmlns='http://jabber.org/protocol/disco#info'><identity category='client' type='pc' name='t'/><feature var='http://jabber.org/protocol/disco#info'/>");
    for n in nodes {
        q.push_str(&format!("<feature var='{n}+notify'/>"));
    }
    q.push_str("</query>");
    let ver = caps::ver(&harness::parse(&q));
    (q, ver)
}

/// Answers every disco query in `frames`; returns the other frames.
async fn answer_disco(c: &mut Conn, frames: &[String], query: &str, ver: &str) -> Vec<String> {
    let mut rest = Vec::new();
    for f in frames {
        if f.contains("id='disco'") && f.contains("type='get'") {
            let from = harness::parse(f)
                .attr("from")
                .unwrap_or_default()
                .to_owned();
            let q = query.replacen(
                "<query xmlns='http://jabber.org/protocol/disco#info'>",
                &format!(
                    "<query xmlns='http://jabber.org/protocol/disco#info' node='http://t#{ver}'>"
                ),
                1,
            );
            c.send(&format!(
                "<iq type='result' id='disco' to='{from}'>{q}</iq>"
            ))
            .await;
        } else {
            rest.push(harness::canon(f));
        }
    }
    rest
}

pub async fn scenario(addr: SocketAddr) -> Steps {
    let mut steps: Steps = Vec::new();
    let mut a = Conn::login(addr, "alice", "pc").await;
    let own = "to='alice@example.test'";
    let mut step = |label: &str, frames: Vec<String>| steps.push((label.to_owned(), frames));

    step("account disco#info", a.ask(&format!("<iq type='get' id='d1' {own}><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")).await);
    step(
        "publish nick",
        a.ask(&publish(
            "p1",
            NICK,
            "current",
            &format!("<nick xmlns='{NICK}'>Alice</nick>"),
            "",
        ))
        .await,
    );
    step(
        "items of own node",
        a.ask(&format!(
            "<iq type='get' id='i1'><pubsub {PS}><items node='{NICK}'/></pubsub></iq>"
        ))
        .await,
    );
    step(
        "publish devicelist open",
        a.ask(&publish(
            "p2",
            DEVICES,
            "current",
            "<list xmlns='eu.siacs.conversations.axolotl'><device id='1'/></list>",
            &options(&[("pubsub#access_model", "open")]),
        ))
        .await,
    );
    step(
        "precondition not met",
        a.ask(&publish(
            "p3",
            DEVICES,
            "current",
            "<list xmlns='eu.siacs.conversations.axolotl'/>",
            &options(&[("pubsub#access_model", "whitelist")]),
        ))
        .await,
    );
    step("create with roster model", a.ask(&format!("<iq type='set' id='c1'><pubsub {PS}><create node='r'/><configure><x xmlns='jabber:x:data' type='submit'><field var='pubsub#access_model'><value>roster</value></field></x></configure></pubsub></iq>")).await);
    step("create with bad max_items", a.ask(&format!("<iq type='set' id='c2'><pubsub {PS}><create node='r'/><configure><x xmlns='jabber:x:data' type='submit'><field var='pubsub#max_items'><value>1000</value></field></x></configure></pubsub></iq>")).await);
    step(
        "configure get",
        a.ask(&format!(
            "<iq type='get' id='g1'><pubsub {OWNER}><configure node='{NICK}'/></pubsub></iq>"
        ))
        .await,
    );
    step(
        "default get",
        a.ask(&format!(
            "<iq type='get' id='g2'><pubsub {OWNER}><default/></pubsub></iq>"
        ))
        .await,
    );
    step(
        "empty pubsub",
        a.ask(&format!("<iq type='set' id='e1'><pubsub {PS}/></iq>"))
            .await,
    );
    step(
        "publish without node",
        a.ask(&format!(
            "<iq type='set' id='e2'><pubsub {PS}><publish/></pubsub></iq>"
        ))
        .await,
    );
    step(
        "retract without id",
        a.ask(&format!(
            "<iq type='set' id='e3'><pubsub {PS}><retract node='{NICK}'/></pubsub></iq>"
        ))
        .await,
    );
    step(
        "items of missing node",
        a.ask(&format!(
            "<iq type='get' id='e4'><pubsub {PS}><items node='nope'/></pubsub></iq>"
        ))
        .await,
    );
    step("invalid item", a.ask(&format!("<iq type='set' id='e5'><pubsub {PS}><publish node='x'><item id='1'/></publish></pubsub></iq>")).await);
    step("account disco#items", a.ask(&format!("<iq type='get' id='d2' {own}><query xmlns='http://jabber.org/protocol/disco#items'/></iq>")).await);
    step("node disco#info", a.ask(&format!("<iq type='get' id='d3' {own}><query xmlns='http://jabber.org/protocol/disco#info' node='{DEVICES}'/></iq>")).await);
    step("node disco#items", a.ask(&format!("<iq type='get' id='d4' {own}><query xmlns='http://jabber.org/protocol/disco#items' node='{DEVICES}'/></iq>")).await);
    step("missing node disco#info", a.ask(&format!("<iq type='get' id='d5' {own}><query xmlns='http://jabber.org/protocol/disco#info' node='nope'/></iq>")).await);
    step(
        "subscriptions",
        a.ask(&format!(
            "<iq type='get' id='s0'><pubsub {PS}><subscriptions/></pubsub></iq>"
        ))
        .await,
    );
    step(
        "owner affiliations",
        a.ask(&format!(
            "<iq type='get' id='s1'><pubsub {OWNER}><affiliations node='{NICK}'/></pubsub></iq>"
        ))
        .await,
    );

    let mut c = Conn::login(addr, "carol", "pc").await;
    step(
        "stranger reads open devicelist",
        c.ask(&format!(
            "<iq type='get' id='o1' {own}><pubsub {PS}><items node='{DEVICES}'/></pubsub></iq>"
        ))
        .await,
    );
    step(
        "stranger reads presence node",
        c.ask(&format!(
            "<iq type='get' id='o2' {own}><pubsub {PS}><items node='{NICK}'/></pubsub></iq>"
        ))
        .await,
    );
    step("stranger account disco", c.ask(&format!("<iq type='get' id='o3' {own}><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")).await);
    step("stranger subscribes to presence node", c.ask(&format!("<iq type='set' id='o4' {own}><pubsub {PS}><subscribe node='{NICK}' jid='carol@example.test'/></pubsub></iq>")).await);
    step("stranger subscribes to open node", c.ask(&format!("<iq type='set' id='o5' {own}><pubsub {PS}><subscribe node='{DEVICES}' jid='carol@example.test'/></pubsub></iq>")).await);

    let mut b = Conn::login(addr, "bob", "pc").await;
    let (query, ver) = client_disco(&[NICK]);
    b.send(&format!("<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://t' ver='{ver}'/></presence>")).await;
    let frames = b.sync().await;
    let queries = frames.iter().filter(|f| f.contains("id='disco'")).count();
    step(
        "caps presence asks disco",
        vec![format!("disco queries: {queries}")],
    );
    let mut rest = answer_disco(&mut b, &frames, &query, &ver).await;
    rest.extend(b.sync().await.iter().map(|f| harness::canon(f)));
    // Presence stanzas and the last items; the order of the two services' answers is not
    // part of the behaviour.
    rest.sort();
    step("last items after caps", rest);
    step(
        "publish notifies",
        a.ask(&publish(
            "p4",
            NICK,
            "current",
            &format!("<nick xmlns='{NICK}'>Alice 2</nick>"),
            "",
        ))
        .await,
    );
    let mut got = b
        .sync()
        .await
        .iter()
        .map(|f| harness::canon(f))
        .collect::<Vec<_>>();
    got.sort();
    step("contact gets notification", got);
    step("retract with notify", a.ask(&format!("<iq type='set' id='r1'><pubsub {PS}><retract node='{NICK}' notify='1'><item id='current'/></retract></pubsub></iq>")).await);
    let mut got = b
        .sync()
        .await
        .iter()
        .map(|f| harness::canon(f))
        .collect::<Vec<_>>();
    got.sort();
    step("contact gets retraction", got);
    step(
        "stranger notified on open node",
        c.sync().await.iter().map(|f| harness::canon(f)).collect(),
    );
    step(
        "purge",
        a.ask(&format!(
            "<iq type='set' id='u1'><pubsub {OWNER}><purge node='{DEVICES}'/></pubsub></iq>"
        ))
        .await,
    );
    step(
        "delete",
        a.ask(&format!(
            "<iq type='set' id='u2'><pubsub {OWNER}><delete node='{DEVICES}'/></pubsub></iq>"
        ))
        .await,
    );
    step(
        "subscriber gets purge and delete",
        c.sync().await.iter().map(|f| harness::canon(f)).collect(),
    );
    steps
}
