//! Lua plugins on the pubsub services (reference §14.3): a test plugin
//! (tests/fixtures/pep/mod_pep_probe.lua) drives `module:depends("pep")`'s
//! `get_pep_service` objects and a `require "util.pubsub"` service of its own, and logs
//! the service events with their fields; both servers must answer alike.

use std::net::SocketAddr;

use crate::harness::Conn;

const PS: &str = "xmlns='http://jabber.org/protocol/pubsub'";

/// The PEP set plus the probe plugin.
pub const MODULES: &[&str] = &[
    "websocket",
    "http",
    "saslauth",
    "ping",
    "disco",
    "roster",
    "pep",
    "pep_probe",
];

pub fn extra() -> String {
    format!(
        "plugin_paths = {{ {:?} }}",
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pep")
    )
}

/// The pubsub component the probe reaches through `hosts`.
pub const TAIL: &str = "Component \"pubsub.example.test\" \"pubsub\"";

type Steps = Vec<(String, Vec<String>)>;

fn probe(op: &str) -> String {
    format!("<iq type='set' id='{op}' to='example.test'><probe xmlns='urn:example:probe' op='{op}'/></iq>")
}

pub async fn scenario(addr: SocketAddr) -> Steps {
    let mut steps: Steps = Vec::new();
    let mut a = Conn::login(addr, "alice", "pc").await;
    steps.push(("watch".into(), a.ask(&probe("watch")).await));
    steps.push((
        "publish over xmpp".into(),
        a.ask(&format!("<iq type='set' id='p1'><pubsub {PS}><publish node='urn:example:n'><item id='x1'><v xmlns='urn:example:n'>xmpp</v></item></publish></pubsub></iq>")).await,
    ));
    steps.push((
        "retract over xmpp".into(),
        a.ask(&format!("<iq type='set' id='r1'><pubsub {PS}><retract node='urn:example:n' notify='1'><item id='x1'/></retract></pubsub></iq>")).await,
    ));
    steps.push(("events of the iqs".into(), a.ask(&probe("log")).await));
    steps.push(("native service".into(), a.ask(&probe("native")).await));
    steps.push(("events of the calls".into(), a.ask(&probe("log")).await));
    steps.push(("util.pubsub".into(), a.ask(&probe("library")).await));
    steps.push(("component service".into(), a.ask(&probe("component")).await));
    steps
}
