//! Federation throughput: messages/s from a client on one server to a client on another,
//! for two federated Lilts and two federated Prosodys in the same run. Ignored by default
//! (it measures, it does not check behaviour); run it on a release build:
//! `cargo test --release --test s2s bench -- --ignored --nocapture`.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use super::client::Client;
use super::dns::TestDns;
use super::node::{Node, NodeSpec, TestCa, PASSWORD};
use super::prosody::{prosody_installed, Prosody};

const MESSAGES: usize = 5_000;
const BATCH: usize = 100;

/// Sends `MESSAGES` chat messages from `from` to `to_jid` (batched writes) and waits until
/// the receiver has them all; returns messages per second.
async fn throughput(from: SocketAddr, from_domain: &str, to: SocketAddr, to_domain: &str) -> f64 {
    let mut sender = Client::login(from, from_domain, "sender", PASSWORD).await;
    let mut receiver = Client::login(to, to_domain, "receiver", PASSWORD).await;
    let to_jid = receiver.jid.clone();
    // Warm the route up (DNS, TLS, authentication) before timing.
    sender
        .send(&format!(
            "<message to='{to_jid}' type='chat'><body>warm-up</body></message>"
        ))
        .await;
    receiver.read_until("warm-up").await;
    let start = Instant::now();
    let recv = tokio::spawn(async move {
        receiver
            .try_read_until(&format!("n-{}<", MESSAGES - 1), Duration::from_secs(300))
            .await
            .map(|_| Instant::now())
    });
    for b in 0..MESSAGES / BATCH {
        let mut chunk = String::new();
        for i in b * BATCH..(b + 1) * BATCH {
            chunk.push_str(&format!(
                "<message to='{to_jid}' type='chat'><body>n-{i}</body></message>"
            ));
        }
        sender.send(&chunk).await;
    }
    let end = recv.await.expect("receiver").expect("all messages arrive");
    MESSAGES as f64 / (end - start).as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run explicitly on a release build"]
async fn bench_federated_messages_per_second_lilt_and_prosody() {
    let dns = TestDns::start().await;
    let ca = TestCa::new();
    let a = Node::start(
        NodeSpec::new("la.example", Ipv4Addr::new(127, 0, 0, 2)),
        &ca,
        &dns,
    )
    .await;
    let b = Node::start(
        NodeSpec::new("lb.example", Ipv4Addr::new(127, 0, 0, 3)),
        &ca,
        &dns,
    )
    .await;
    a.add_user("sender");
    b.add_user("receiver");
    let lilt = throughput(a.c2s, &a.domain, b.c2s, &b.domain).await;
    drop((a, b));
    println!("s2s bench: Lilt -> Lilt: {lilt:.0} messages/s ({MESSAGES} messages)");
    if !prosody_installed() {
        return;
    }
    let p = Prosody::start_as(
        &ca,
        &dns,
        "pa.example",
        Ipv4Addr::new(127, 0, 0, 4),
        false,
        "",
    );
    let q = Prosody::start_as(
        &ca,
        &dns,
        "pb.example",
        Ipv4Addr::new(127, 0, 0, 6),
        false,
        "",
    );
    p.register("sender");
    q.register("receiver");
    let prosody = throughput(p.c2s, "pa.example", q.c2s, "pb.example").await;
    println!("s2s bench: Prosody -> Prosody: {prosody:.0} messages/s ({MESSAGES} messages)");
    assert!(lilt > 0.0 && prosody > 0.0);
}
