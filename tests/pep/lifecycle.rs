//! An account's PEP nodes go with the account (reference §14.3 `user-deleted`): a
//! subscriber of a deleted account's node gets the delete notification, and the
//! account's address answers as a service with no nodes afterwards.

use std::net::SocketAddr;

use crate::harness::{self, Conn};

const PS: &str = "xmlns='http://jabber.org/protocol/pubsub'";
const NODE: &str = "urn:example:pets";

/// The modules of the scenario: the PEP set plus mod_register for `<remove/>`.
pub const MODULES: &[&str] = &[
    "websocket",
    "http",
    "saslauth",
    "ping",
    "disco",
    "roster",
    "pep",
    "register",
];

type Steps = Vec<(String, Vec<String>)>;

pub async fn deletion_scenario(addr: SocketAddr) -> Steps {
    let mut steps: Steps = Vec::new();
    let mut a = Conn::login(addr, "alice", "pc").await;
    let mut c = Conn::login(addr, "carol", "pc").await;
    let form = "<publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value></field><field var='pubsub#access_model'><value>open</value></field></x></publish-options>";
    steps.push((
        "publish open node".into(),
        a.ask(&format!("<iq type='set' id='p1'><pubsub {PS}><publish node='{NODE}'><item id='cat'><pet xmlns='urn:example:pets'>Tom</pet></item></publish>{form}</pubsub></iq>")).await,
    ));
    steps.push((
        "stranger subscribes".into(),
        c.ask(&format!("<iq type='set' id='s1' to='alice@example.test'><pubsub {PS}><subscribe node='{NODE}' jid='carol@example.test/pc'/></pubsub></iq>")).await,
    ));
    a.send("<iq type='set' id='del'><query xmlns='jabber:iq:register'><remove/></query></iq>")
        .await;
    let mut answer = Vec::new();
    loop {
        let t = a.ws.next_text().await;
        let done = t.contains("id='del'") || t.contains("id=\"del\"");
        answer.push(harness::canon(&t));
        if done {
            break;
        }
    }
    steps.push(("account removed".into(), answer));
    let notified = c.sync().await;
    steps.push((
        "subscriber notified".into(),
        notified.iter().map(|f| harness::canon(f)).collect(),
    ));
    steps.push((
        "node of the deleted account".into(),
        c.ask(&format!("<iq type='get' id='i1' to='alice@example.test'><pubsub {PS}><items node='{NODE}'/></pubsub></iq>")).await,
    ));
    steps
}
