//! Scenarios for the modules on top of PEP (bookmarks, vcard4, vcard-temp with avatars)
//! and for the pubsub component, run against Lilt and Prosody alike.

use std::net::SocketAddr;

use crate::harness::Conn;

const PS: &str = "xmlns='http://jabber.org/protocol/pubsub'";
const OWNER: &str = "xmlns='http://jabber.org/protocol/pubsub#owner'";
pub const COMPONENT: &str = "pubsub.example.test";
/// A 1×1 PNG.
pub const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

type Steps = Vec<(String, Vec<String>)>;

fn private(id: &str, t: &str, inner: &str) -> String {
    format!("<iq type='{t}' id='{id}'><query xmlns='jabber:iq:private'>{inner}</query></iq>")
}

pub async fn data_scenario(addr: SocketAddr) -> Steps {
    let mut steps: Steps = Vec::new();
    let mut a = Conn::login(addr, "alice", "pc").await;
    let mut step = |label: &str, frames: Vec<String>| steps.push((label.to_owned(), frames));
    let own = "to='alice@example.test'";
    step(
        "private bookmarks empty",
        a.ask(&private(
            "b1",
            "get",
            "<storage xmlns='storage:bookmarks'/>",
        ))
        .await,
    );
    step("native bookmarks before", a.ask(&format!("<iq type='get' id='b2'><pubsub {PS}><items node='urn:xmpp:bookmarks:1'/></pubsub></iq>")).await);
    step("private bookmarks set", a.ask(&private("b3", "set", "<storage xmlns='storage:bookmarks'><conference jid='room@muc.example.test' name='Room' autojoin='true'><nick>Al</nick></conference><conference jid='other@muc.example.test'/></storage>")).await);
    step(
        "private bookmarks get",
        a.ask(&private(
            "b4",
            "get",
            "<storage xmlns='storage:bookmarks'/>",
        ))
        .await,
    );
    step("native bookmarks after", a.ask(&format!("<iq type='get' id='b5'><pubsub {PS}><items node='urn:xmpp:bookmarks:1'/></pubsub></iq>")).await);
    step(
        "legacy pep bookmarks get",
        a.ask(&format!(
            "<iq type='get' id='b6'><pubsub {PS}><items node='storage:bookmarks'/></pubsub></iq>"
        ))
        .await,
    );
    step("legacy pep bookmarks set", a.ask(&format!("<iq type='set' id='b7'><pubsub {PS}><publish node='storage:bookmarks'><item id='current'><storage xmlns='storage:bookmarks'><conference jid='room@muc.example.test' name='Renamed' autojoin='false'/></storage></item></publish></pubsub></iq>")).await);
    step("native bookmarks synced", a.ask(&format!("<iq type='get' id='b8'><pubsub {PS}><items node='urn:xmpp:bookmarks:1'/></pubsub></iq>")).await);
    step("bookmarks 0.3 refused", a.ask(&format!("<iq type='set' id='b9'><pubsub {PS}><publish node='urn:xmpp:bookmarks:0'><item id='x'><storage xmlns='urn:xmpp:bookmarks:0'/></item></publish></pubsub></iq>")).await);
    step("bookmarks node config", a.ask(&format!("<iq type='get' id='b10'><pubsub {OWNER}><configure node='urn:xmpp:bookmarks:1'/></pubsub></iq>")).await);
    step("vcard-temp set with photo", a.ask(&format!("<iq type='set' id='v1'><vCard xmlns='vcard-temp'><FN>Alice A</FN><NICKNAME>al</NICKNAME><PHOTO><TYPE>image/png</TYPE><BINVAL>{PNG}</BINVAL></PHOTO></vCard></iq>")).await);
    step(
        "vcard-temp get",
        a.ask("<iq type='get' id='v2'><vCard xmlns='vcard-temp'/></iq>")
            .await,
    );
    step("avatar metadata", a.ask(&format!("<iq type='get' id='v3'><pubsub {PS}><items node='urn:xmpp:avatar:metadata'/></pubsub></iq>")).await);
    step("avatar data node config", a.ask(&format!("<iq type='get' id='v4'><pubsub {OWNER}><configure node='urn:xmpp:avatar:data'/></pubsub></iq>")).await);
    step(
        "vcard4 get own",
        a.ask(&format!(
            "<iq type='get' id='v5' {own}><vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'/></iq>"
        ))
        .await,
    );
    step("presence carries photo hash", a.ask("<presence/>").await);
    let mut c = Conn::login(addr, "carol", "pc").await;
    step(
        "stranger vcard-temp of alice",
        c.ask(&format!(
            "<iq type='get' id='s1' {own}><vCard xmlns='vcard-temp'/></iq>"
        ))
        .await,
    );
    step(
        "stranger vcard4 of alice",
        c.ask(&format!(
            "<iq type='get' id='s2' {own}><vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'/></iq>"
        ))
        .await,
    );
    step("stranger vcard4 of nobody", c.ask("<iq type='get' id='s3' to='nobody@example.test'><vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'/></iq>").await);
    step("vcard4 set", c.ask("<iq type='set' id='s4'><vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>Carol</text></fn></vcard></iq>").await);
    step("vcard4 get after set", c.ask("<iq type='get' id='s5' to='carol@example.test'><vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'/></iq>").await);
    step(
        "vcard-temp from vcard4",
        c.ask("<iq type='get' id='s6'><vCard xmlns='vcard-temp'/></iq>")
            .await,
    );
    steps
}

pub async fn component_scenario(addr: SocketAddr) -> Steps {
    let mut steps: Steps = Vec::new();
    let mut a = Conn::login(addr, "alice", "pc").await;
    let mut b = Conn::login(addr, "bob", "pc").await;
    let mut step = |label: &str, frames: Vec<String>| steps.push((label.to_owned(), frames));
    let to = format!("to='{COMPONENT}'");
    step("component disco#info", b.ask(&format!("<iq type='get' id='c1' {to}><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")).await);
    step(
        "admin creates",
        a.ask(&format!(
            "<iq type='set' id='c2' {to}><pubsub {PS}><create node='news'/></pubsub></iq>"
        ))
        .await,
    );
    step(
        "user may not create",
        b.ask(&format!(
            "<iq type='set' id='c3' {to}><pubsub {PS}><create node='mine'/></pubsub></iq>"
        ))
        .await,
    );
    step("admin publishes", a.ask(&format!("<iq type='set' id='c4' {to}><pubsub {PS}><publish node='news'><item id='1'><entry xmlns='http://www.w3.org/2005/Atom'><title>First</title></entry></item></publish></pubsub></iq>")).await);
    step("user subscribes", b.ask(&format!("<iq type='set' id='c5' {to}><pubsub {PS}><subscribe node='news' jid='bob@example.test/pc'/></pubsub></iq>")).await);
    step("admin publishes again", a.ask(&format!("<iq type='set' id='c6' {to}><pubsub {PS}><publish node='news'><item id='2'><entry xmlns='http://www.w3.org/2005/Atom'><title>Second</title></entry></item></publish></pubsub></iq>")).await);
    step(
        "subscriber notified",
        b.sync()
            .await
            .iter()
            .map(|f| crate::harness::canon(f))
            .collect(),
    );
    step(
        "user reads items",
        b.ask(&format!(
            "<iq type='get' id='c7' {to}><pubsub {PS}><items node='news'/></pubsub></iq>"
        ))
        .await,
    );
    step("user may not publish", b.ask(&format!("<iq type='set' id='c8' {to}><pubsub {PS}><publish node='news'><item id='3'><x xmlns='urn:x'/></item></publish></pubsub></iq>")).await);
    step("no autocreate", a.ask(&format!("<iq type='set' id='c9' {to}><pubsub {PS}><publish node='none'><item id='1'><x xmlns='urn:x'/></item></publish></pubsub></iq>")).await);
    step("component disco#items", b.ask(&format!("<iq type='get' id='c10' {to}><query xmlns='http://jabber.org/protocol/disco#items'/></iq>")).await);
    step("node disco#info", b.ask(&format!("<iq type='get' id='c11' {to}><query xmlns='http://jabber.org/protocol/disco#info' node='news'/></iq>")).await);
    step(
        "node configure",
        a.ask(&format!(
            "<iq type='get' id='c12' {to}><pubsub {OWNER}><configure node='news'/></pubsub></iq>"
        ))
        .await,
    );
    step(
        "subscriptions",
        b.ask(&format!(
            "<iq type='get' id='c13' {to}><pubsub {PS}><subscriptions/></pubsub></iq>"
        ))
        .await,
    );
    step("whitelist create", a.ask(&format!("<iq type='set' id='c14' {to}><pubsub {PS}><create node='w'/><configure><x xmlns='jabber:x:data' type='submit'><field var='pubsub#access_model'><value>whitelist</value></field></x></configure></pubsub></iq>")).await);
    step(
        "whitelist read refused",
        b.ask(&format!(
            "<iq type='get' id='c15' {to}><pubsub {PS}><items node='w'/></pubsub></iq>"
        ))
        .await,
    );
    step("presence model refused", a.ask(&format!("<iq type='set' id='c16' {to}><pubsub {PS}><create node='p'/><configure><x xmlns='jabber:x:data' type='submit'><field var='pubsub#access_model'><value>presence</value></field></x></configure></pubsub></iq>")).await);
    step(
        "admin deletes",
        a.ask(&format!(
            "<iq type='set' id='c17' {to}><pubsub {OWNER}><delete node='news'/></pubsub></iq>"
        ))
        .await,
    );
    step(
        "subscriber told of delete",
        b.sync()
            .await
            .iter()
            .map(|f| crate::harness::canon(f))
            .collect(),
    );
    steps
}
