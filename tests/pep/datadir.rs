//! Prosody's on-disk PEP data and Lilt's are the same files: what one server wrote
//! (an avatar through vcard-temp, bookmarks through Private XML, a nick and an open
//! device list through PEP) the other serves unchanged.

use std::net::SocketAddr;

use crate::harness::Conn;
use crate::services::PNG;

const PS: &str = "xmlns='http://jabber.org/protocol/pubsub'";

type Steps = Vec<(String, Vec<String>)>;

/// What alice's client stores.
pub async fn write(addr: SocketAddr) {
    let mut a = Conn::login(addr, "alice", "pc").await;
    for xml in [
        format!("<iq type='set' id='w1'><vCard xmlns='vcard-temp'><FN>Alice</FN><PHOTO><TYPE>image/png</TYPE><BINVAL>{PNG}</BINVAL></PHOTO></vCard></iq>"),
        "<iq type='set' id='w2'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'><conference jid='room@muc.example.test' name='Room' autojoin='true'><nick>Al</nick></conference></storage></query></iq>".to_owned(),
        format!("<iq type='set' id='w3'><pubsub {PS}><publish node='http://jabber.org/protocol/nick'><item id='current'><nick xmlns='http://jabber.org/protocol/nick'>Alice</nick></item></publish></pubsub></iq>"),
        format!("<iq type='set' id='w4'><pubsub {PS}><publish node='eu.siacs.conversations.axolotl.devicelist'><item id='current'><list xmlns='eu.siacs.conversations.axolotl'><device id='7'/></list></item></publish><publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value></field><field var='pubsub#access_model'><value>open</value></field></x></publish-options></pubsub></iq>"),
    ] {
        let got = a.exchange(&xml).await;
        assert!(got.iter().any(|f| f.contains("type='result'") || f.contains("type=\"result\"")), "{xml}: {got:?}");
    }
}

/// What alice and a stranger read back.
pub async fn read(addr: SocketAddr) -> Steps {
    let mut steps: Steps = Vec::new();
    let mut a = Conn::login(addr, "alice", "pc").await;
    let mut step = |label: &str, frames: Vec<String>| steps.push((label.to_owned(), frames));
    step(
        "vcard-temp",
        a.ask("<iq type='get' id='r1'><vCard xmlns='vcard-temp'/></iq>")
            .await,
    );
    for (i, node) in [
        "urn:xmpp:avatar:metadata",
        "urn:xmpp:avatar:data",
        "urn:xmpp:bookmarks:1",
        "http://jabber.org/protocol/nick",
        "urn:xmpp:vcard4",
    ]
    .iter()
    .enumerate()
    {
        step(
            node,
            a.ask(&format!(
                "<iq type='get' id='n{i}'><pubsub {PS}><items node='{node}'/></pubsub></iq>"
            ))
            .await,
        );
    }
    step("private bookmarks", a.ask("<iq type='get' id='r2'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query></iq>").await);
    step("account nodes", a.ask("<iq type='get' id='r3' to='alice@example.test'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>").await);
    let mut c = Conn::login(addr, "carol", "pc").await;
    step("stranger devicelist", c.ask(&format!("<iq type='get' id='r4' to='alice@example.test'><pubsub {PS}><items node='eu.siacs.conversations.axolotl.devicelist'/></pubsub></iq>")).await);
    step("stranger nick", c.ask(&format!("<iq type='get' id='r5' to='alice@example.test'><pubsub {PS}><items node='http://jabber.org/protocol/nick'/></pubsub></iq>")).await);
    steps
}
