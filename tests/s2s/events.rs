//! The s2s events for Lua (reference §17.6) and the `hosts[h].s2sout` read surface: a test
//! plugin (tests/fixtures/s2s/mod_s2s_watch.lua) on a.test records what it is given as a.test
//! and b.test federate and then b.test shuts down.

use std::net::Ipv4Addr;
use std::time::Duration;

use super::client::Client;
use super::dns::TestDns;
use super::node::{Node, NodeSpec, TestCa, PASSWORD};

const A_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
const B_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);

async fn watch(alice: &mut Client, id: &str) -> String {
    alice
        .send(&format!(
            "<iq type='get' id='{id}' to='a.test'><watch xmlns='urn:example:s2s-watch'/></iq>"
        ))
        .await;
    let got = alice.read_until(&format!("id='{id}'")).await;
    let got = got + &alice.read_until("</iq>").await;
    got.rsplit("<iq").next().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_sees_the_s2s_events_and_the_outgoing_routes() {
    let dns = TestDns::start().await;
    let ca = TestCa::new();
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/s2s");
    let extra = format!(
        "s2s_secure_auth = true\nplugin_paths = {{ {fixtures:?} }}\n\
         modules_enabled = {{ \"tls\", \"dialback\", \"roster\", \"ping\", \"disco\", \"saslauth\", \"s2s_watch\" }}"
    );
    let a = Node::start(NodeSpec::new("a.test", A_IP).extra(&extra), &ca, &dns).await;
    let b = Node::start(
        NodeSpec::new("b.test", B_IP).extra("s2s_secure_auth = true"),
        &ca,
        &dns,
    )
    .await;
    a.add_user("alice");
    b.add_user("bob");
    super::lilt_pair::assert_federate(&a, &b).await;

    let mut alice = Client::login(a.c2s, &a.domain, "alice", PASSWORD).await;
    let got = watch(&mut alice, "w1").await;
    let has = |xml: &str, attrs: &[(&str, &str)]| {
        xml.split("<event ").skip(1).any(|e| {
            let e = e.split('>').next().unwrap_or_default();
            attrs.iter().all(|(k, v)| e.contains(&format!("{k}='{v}'")))
        })
    };
    for (what, attrs) in [
        (
            "outgoing s2s-authenticated",
            &[
                ("name", "s2s-authenticated"),
                ("direction", "outgoing"),
                ("host", "b.test"),
                ("mechanism", "EXTERNAL"),
                ("type", "s2sout_unauthed"),
            ][..],
        ),
        (
            "incoming s2s-authenticated",
            &[
                ("name", "s2s-authenticated"),
                ("direction", "incoming"),
                ("host", "b.test"),
                ("mechanism", "EXTERNAL"),
                ("from_host", "b.test"),
            ][..],
        ),
        (
            "s2sout-established",
            &[
                ("name", "s2sout-established"),
                ("type", "s2sout"),
                ("from_host", "a.test"),
                ("to_host", "b.test"),
                ("secure", "yes"),
            ][..],
        ),
        (
            "global s2sout-established",
            &[("name", "global:s2sout-established"), ("to_host", "b.test")][..],
        ),
        (
            "s2sin-established",
            &[
                ("name", "s2sin-established"),
                ("type", "s2sin"),
                ("from_host", "b.test"),
                ("to_host", "a.test"),
            ][..],
        ),
    ] {
        assert!(has(&got, attrs), "no {what} in {got}");
    }
    assert!(
        got.contains("remote='b.test'") && got.contains("type='s2sout'"),
        "hosts['a.test'].s2sout lists b.test: {got}"
    );

    // b.test shuts down: its streams close and a.test's plugin sees them go.
    drop(b);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut n = 0;
    loop {
        n += 1;
        let got = watch(&mut alice, &format!("w{}", n + 1)).await;
        let out_gone = has(&got, &[("name", "s2sout-destroyed"), ("to_host", "b.test")]);
        let in_gone = has(
            &got,
            &[("name", "s2sin-destroyed"), ("from_host", "b.test")],
        );
        let global = has(&got, &[("name", "global:s2s-destroyed")]);
        if out_gone && in_gone && global {
            assert!(
                !got.contains("<s2sout "),
                "the route is gone from s2sout: {got}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no s2s*-destroyed events: {got}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
