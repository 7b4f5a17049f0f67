//! PEP across servers (issue 20, Build point 3): a contact on another server whose client
//! advertises `+notify` in its entity capabilities gets the account's PEP notifications.
//! The caps disco#info query goes to the remote client over s2s and its answer comes back
//! the same way before the publish is delivered.

use std::net::Ipv4Addr;
use std::time::Duration;

use lilt::modules::pep::caps;
use lilt::xml::Element;

use super::client::Client;
use super::dns::TestDns;
use super::node::{Node, NodeSpec, TestCa, PASSWORD};

const A_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const B_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
const TUNE: &str = "http://jabber.org/protocol/tune";
const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";
const CAPS_NODE: &str = "https://lilt.example/test-client";

/// The value of attribute `name` in the first tag of `xml` (single-quoted, as Lilt writes).
fn attr<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let start = xml.find(&format!(" {name}='"))? + name.len() + 3;
    let len = xml[start..].find('\'')?;
    Some(&xml[start..start + len])
}

/// The client's disco#info: a pc client that wants tune notifications.
fn client_info() -> Element {
    Element::new("query", DISCO_INFO)
        .with_child(
            Element::new("identity", DISCO_INFO)
                .with_attr("category", "client")
                .with_attr("type", "pc")
                .with_attr("name", "s2s test"),
        )
        .with_child(Element::new("feature", DISCO_INFO).with_attr("var", DISCO_INFO))
        .with_child(Element::new("feature", DISCO_INFO).with_attr("var", format!("{TUNE}+notify")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_contact_with_notify_caps_receives_a_pep_publish() {
    let dns = TestDns::start().await;
    let ca = TestCa::new();
    let extra = "s2s_secure_auth = true\nmodules_enabled = { \"tls\", \"dialback\", \"roster\", \"ping\", \"disco\", \"saslauth\", \"pep\" }";
    let a = Node::start(NodeSpec::new("a.test", A_IP).extra(extra), &ca, &dns).await;
    let b = Node::start(NodeSpec::new("b.test", B_IP).extra(extra), &ca, &dns).await;
    a.add_user("alice");
    b.add_user("bob");
    // Mutual subscription (and presence, messages) first.
    super::lilt_pair::assert_federate(&a, &b).await;

    let mut alice = Client::login(a.c2s, &a.domain, "alice", PASSWORD).await;
    alice.send("<presence/>").await;
    let mut bob = Client::login(b.c2s, &b.domain, "bob", PASSWORD).await;
    let info = client_info();
    let ver = caps::ver(&info);
    bob.send(&format!(
        "<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='{CAPS_NODE}' ver='{ver}'/></presence>"
    ))
    .await;

    // Both servers ask bob's client what it is (his own, and alice's over s2s); he answers
    // each query until alice's server has asked.
    loop {
        let got = bob
            .try_read_until(&format!("xmlns='{DISCO_INFO}'"), Duration::from_secs(30))
            .await
            .unwrap_or_else(|g| panic!("no caps query from a.test reached bob: {g}"));
        let iq = got.rsplit("<iq").next().unwrap_or_default().to_owned();
        let rest = bob.read_until(">").await;
        let query = format!("{iq}{rest}");
        let (Some(id), Some(from)) = (attr(&iq, "id"), attr(&iq, "from")) else {
            panic!("caps query without id/from: {iq}");
        };
        let node = attr(&query, "node").expect("the query names node#ver");
        assert_eq!(node, format!("{CAPS_NODE}#{ver}"));
        let mut answer = info.clone();
        answer.set_attr("node", node);
        let mut xml = String::new();
        answer.write_xml(&mut xml, "jabber:client");
        bob.send(&format!(
            "<iq type='result' to='{from}' id='{id}'>{xml}</iq>"
        ))
        .await;
        if from.ends_with("a.test") {
            break;
        }
    }

    // A round trip to b.test on the same route: the answer is in before the publish.
    alice
        .send("<iq type='get' id='ping1' to='b.test'><ping xmlns='urn:xmpp:ping'/></iq>")
        .await;
    alice.read_until("id='ping1'").await;
    alice
        .send(&format!(
            "<iq type='set' id='pub1'><pubsub xmlns='http://jabber.org/protocol/pubsub'>\
             <publish node='{TUNE}'><item id='current'><tune xmlns='{TUNE}'>\
             <title>Federated Song</title></tune></item></publish></pubsub></iq>"
        ))
        .await;
    let got = alice.read_tag("id='pub1'").await;
    assert!(got.contains("type='result'"), "{got}");
    let got = bob
        .try_read_until("Federated Song", Duration::from_secs(30))
        .await
        .unwrap_or_else(|g| panic!("no PEP notification at bob: {g}"));
    let msg = got.rsplit("<message").next().unwrap_or_default();
    assert!(msg.contains("from='alice@a.test'"), "{msg}");
    assert!(
        msg.contains("http://jabber.org/protocol/pubsub#event"),
        "{msg}"
    );
}
