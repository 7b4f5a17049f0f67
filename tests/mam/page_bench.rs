//! The bench: a 50-message page from a 100 000-message archive, p50/p99 on Lilt
//! and on Debian's Prosody over the same archive (written once in Prosody's `.list`
//! format, served by each in turn). A measurement, run explicitly:
//! `cargo test --release --test mam page_bench -- --ignored --nocapture`
//! (`LILT_BENCH_ARCHIVE` sets the archive size, `LILT_BENCH_ROUNDS` the queries per kind).

use std::io::Write;
use std::net::SocketAddr;
use std::time::Instant;

use lilt::modules::offline::stanza_lua::preserialize;
use lilt::storage::internal::archive_item;
use lilt::storage::serialization::to_list_item;
use lilt::xml::Element;

use crate::client::Client;
use crate::common::{prosody_ready, Prosody};
use crate::support::{Server, HOST};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Writes alice's archive: `n` chats with bob and carol, one a second.
fn seed(data: &std::path::Path, n: usize) {
    let dir = data.join("example%2etest/archive");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let file = std::fs::File::create(dir.join("alice.list")).expect("create");
    let mut out = std::io::BufWriter::new(file);
    let start = 1_600_000_000.0;
    for i in 0..n {
        let with = if i % 10 == 0 { "carol" } else { "bob" };
        let when = start + i as f64;
        let msg = Element::new("message", "jabber:client")
            .with_attr("type", "chat")
            .with_attr("to", format!("{with}@{HOST}"))
            .with_attr("from", format!("alice@{HOST}/pc"))
            .with_attr("id", format!("m{i}"))
            .with_child(Element::new("body", "jabber:client").with_text(format!("message {i}")));
        let mut value = preserialize(&msg);
        if let Some(t) = value.as_table_mut() {
            let mut attr = t
                .field("attr")
                .and_then(|a| a.as_table())
                .cloned()
                .unwrap_or_default();
            attr.set("stamp", lilt::modules::offline::stamp::datetime(when));
            t.set("attr", attr);
        }
        let item = archive_item(
            &format!("id{i:08}"),
            when,
            &format!("{with}@{HOST}"),
            &value,
        );
        out.write_all(to_list_item(&item).as_bytes())
            .expect("write");
    }
    out.flush().expect("flush");
}

/// The queries measured, by name: pages in the middle, at the end, by `with`, by time.
fn queries(n: usize) -> Vec<(&'static str, String)> {
    let rsm = |inner: &str| {
        format!("<set xmlns='http://jabber.org/protocol/rsm'><max>50</max>{inner}</set>")
    };
    let form = |fields: &str| {
        format!("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:xmpp:mam:2</value></field>{fields}</x>")
    };
    let q = |body: String| {
        format!("<iq type='set' id='q'><query xmlns='urn:xmpp:mam:2'>{body}</query></iq>")
    };
    let mid = format!("id{:08}", n / 2);
    let time = lilt::modules::offline::stamp::datetime(1_600_000_000.0 + (n / 3) as f64);
    vec![
        (
            "after an id (middle)",
            q(rsm(&format!("<after>{mid}</after>"))),
        ),
        ("last page (before end)", q(rsm("<before/>"))),
        (
            "with carol, from the middle",
            q(format!(
                "{}{}",
                form(&format!(
                    "<field var='with'><value>carol@{HOST}</value></field>"
                )),
                rsm(&format!("<after>{mid}</after>"))
            )),
        ),
        (
            "by start time",
            q(format!(
                "{}{}",
                form(&format!("<field var='start'><value>{time}</value></field>")),
                rsm("")
            )),
        ),
    ]
}

/// p50 and p99 of each query's round trip, in ms; checks every page has 50 results.
async fn measure(addr: SocketAddr, n: usize, rounds: usize) -> Vec<(&'static str, f64, f64)> {
    let mut c = Client::login(addr, "alice", "pw", "bench").await;
    let mut out = Vec::new();
    for (name, iq) in queries(n) {
        let mut times = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let t = Instant::now();
            let got = c.exchange(&iq).await;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            let results = got.iter().filter(|f| f.contains("<result")).count();
            assert_eq!(results, 50, "{name}: {results} results");
        }
        times.sort_by(|a, b| a.total_cmp(b));
        let pick =
            |p: f64| times[((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1];
        out.push((name, pick(0.5), pick(0.99)));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run explicitly"]
async fn page_bench_a_50_message_page_from_a_big_archive_on_lilt_and_prosody() {
    let n = env_usize("LILT_BENCH_ARCHIVE", 100_000);
    let rounds = env_usize("LILT_BENCH_ROUNDS", 100);
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("shared-data");
    let t = Instant::now();
    seed(&data, n);
    eprintln!("seeded {n} messages in {:.1} s", t.elapsed().as_secs_f64());

    // Prosody's own tool makes the account, in the data both servers use.
    let prosody = prosody_ready().then(|| {
        let p = Prosody::new(&data, HOST);
        let cfg = std::fs::read_to_string(&p.config_path).expect("prosody config");
        std::fs::write(
            &p.config_path,
            cfg.replace("\"private\" }", "\"private\", \"mam\" }"),
        )
        .expect("write prosody config");
        p.register("alice", HOST, "pw");
        p
    });
    let text = super::config("").replace(
        "data_path = \"data\"",
        &format!("data_path = {:?}", data.display().to_string()),
    );
    let s = Server::start(&text).await;
    if prosody.is_none() {
        s.add_user("alice", "pw");
    }
    let t = Instant::now();
    // The first query builds the index (one pass over the file): reported apart.
    let _ = measure(s.addr, n, 1).await;
    eprintln!(
        "lilt: first query (index build) {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    for (name, p50, p99) in measure(s.addr, n, rounds).await {
        eprintln!("lilt    {name:30} p50 {p50:8.2} ms  p99 {p99:8.2} ms");
    }
    drop(s);

    let Some(mut p) = prosody else {
        eprintln!("prosody: not installed, no figure");
        return;
    };
    p.start();
    let paddr: SocketAddr = format!("127.0.0.1:{}", p.http_port).parse().expect("addr");
    let prounds = env_usize("LILT_BENCH_PROSODY_ROUNDS", 10);
    for (name, p50, p99) in measure(paddr, n, prounds).await {
        eprintln!("prosody {name:30} p50 {p50:8.2} ms  p99 {p99:8.2} ms ({prounds} rounds)");
    }
    p.stop();
}
