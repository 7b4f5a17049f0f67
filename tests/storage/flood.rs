//! One account flooding roster sets on a big roster must not stall everyone else: the
//! saves run on the storage executor (joined while one is being written), so a
//! bystander's pings keep being answered.

use std::time::{Duration, Instant};

use lilt::storage::{LuaTable, LuaValue};

use crate::im_support::{im_config, Client};
use crate::support::Server;

/// The figure: 20 000 items (`LILT_FLOOD_ROSTER` overrides).
fn roster_size() -> usize {
    std::env::var("LILT_FLOOD_ROSTER")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

fn big_roster(n: usize) -> LuaValue {
    let mut t = LuaTable::new();
    for i in 0..n {
        let mut item = LuaTable::new();
        item.set("subscription", "none");
        item.set("groups", LuaTable::new());
        item.set("name", format!("Contact {i}"));
        t.set(format!("contact{i}@example.test"), item);
    }
    let mut meta = LuaTable::new();
    meta.set("version", 1i64);
    t.set(false, meta);
    LuaValue::Table(t)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roster_set_flood_on_a_big_roster_leaves_a_bystanders_pings_fast() {
    let server = Server::start(&im_config()).await;
    server.add_user("alice", "pw");
    server.add_user("bob", "pw");
    let n = roster_size();
    server
        .shared
        .store
        .set(
            "example.test",
            Some("alice"),
            "roster",
            Some(&big_roster(n)),
        )
        .expect("seed roster");
    let mut alice = Client::login(&server, "alice", "flood").await;
    let mut bob = Client::login(&server, "bob", "calm").await;
    alice.sync().await;

    let sets = 400;
    let flood = tokio::spawn(async move {
        for i in 0..sets {
            alice
                .send(&format!(
                    "<iq type='set' id='f{i}'><query xmlns='jabber:iq:roster'><item jid='new{i}@example.test'/></query></iq>"
                ))
                .await;
        }
        let last = format!("id='f{}'", sets - 1);
        loop {
            let t = alice.ws.next_text().await;
            if t.contains(&last) {
                assert!(t.contains("type='result'"), "{t}");
                return;
            }
        }
    });
    let mut rtts = Vec::new();
    while !flood.is_finished() || rtts.len() < 50 {
        let start = Instant::now();
        bob.sync().await;
        rtts.push(start.elapsed());
        if rtts.len() > 5000 {
            break;
        }
    }
    flood.await.expect("flood finished");
    rtts.sort();
    let p99 = rtts[(rtts.len() * 99 / 100).min(rtts.len() - 1)];
    eprintln!(
        "roster of {n}: {} pings during {sets} roster sets, p50 {:?}, p99 {p99:?}, max {:?}",
        rtts.len(),
        rtts[rtts.len() / 2],
        rtts[rtts.len() - 1]
    );
    assert!(
        p99 < Duration::from_millis(50),
        "bystander ping p99 {p99:?}"
    );
    server.shared.store_exec.flush();
    let stored = server
        .shared
        .store
        .get("example.test", Some("alice"), "roster")
        .expect("read")
        .expect("stored");
    let t = stored.as_table().expect("table");
    assert_eq!(t.len(), n + sets + 1, "every acknowledged set is stored");
}
