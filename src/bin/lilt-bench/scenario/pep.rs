//! `pep`: PEP notification fan-out. All users are one roster group (`--roster-size` ≥
//! `--users`: mutual contacts, written by `accounts --roster-size`). Setup: every session
//! sends presence with XEP-0115 caps whose disco#info asks `+notify` for one node, and
//! answers the servers' disco#info queries. Measured: user 0 publishes to that node in a
//! closed loop (next publish after the result); every contact counts the notifications
//! addressed to its full JID, which must equal the number of publishes. The rate is all
//! notifications delivered (servers also send one to each contact's bare JID, as Prosody
//! does when a client's own caps answer registers it with its contacts). The node is
//! created by the first publish with `persist_items` false.
//!
//! Session 0 registers its caps first and the others only then: a server learns a caps
//! hash from the first answer, and sessions arriving together with an unknown hash make
//! Prosody ask every (user, contact) pair (it asks again for each presence until one
//! answer is in), n² disco queries, which at 200 contacts did not finish in 120 s on a
//! loaded machine. A real deployment knows popular clients' hashes already.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use sha1::{Digest, Sha1};
use tokio::task::JoinSet;

use super::{
    begin_measure, close_all, connect_all, end_measure, join_tallies, micros_since, Rendezvous,
    RunOpts, Tally,
};
use crate::error::BenchError;
use crate::stats::Outcome;
use crate::xmpp::{attr, tag_name, Ctx, Session};

const NODE: &str = "urn:example:bench-fanout";
const CAPS_NODE: &str = "https://lilt.example/bench";
/// The node keeps no items: the bench measures fan-out, not the disk (with persistence
/// every publish is one synchronous atomic file write on both servers).
const OPTIONS: &str = "<publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value></field><field var='pubsub#persist_items'><value>false</value></field></x></publish-options>";

/// The disco#info a bench client answers, and its XEP-0115 `ver`.
fn disco() -> (String, String) {
    let identity = "client/pc//lilt-bench";
    let features = [
        "http://jabber.org/protocol/disco#info".to_owned(),
        format!("{NODE}+notify"),
    ];
    let mut sorted = features.clone();
    sorted.sort();
    let s = format!("{identity}<{}<", sorted.join("<"));
    let ver = base64::engine::general_purpose::STANDARD.encode(Sha1::digest(s.as_bytes()));
    let mut q = String::from("<identity category='client' type='pc' name='lilt-bench'/>");
    for f in &features {
        q.push_str(&format!("<feature var='{f}'/>"));
    }
    (q, ver)
}

/// How long every session's caps setup may take (presence fan-out is n² stanzas).
const SETUP_TIMEOUT: Duration = Duration::from_secs(300);

struct Shared {
    stop: AtomicBool,
    /// Session 0's caps are registered: the hash is known to the server.
    primed: AtomicBool,
    ready: Rendezvous,
    done: Rendezvous,
    published: AtomicU64,
    epoch: Instant,
}

/// Answers a disco#info query frame; true when it was one.
async fn answer(s: &mut Session, f: &str, query: &str, ver: &str) -> Result<bool, BenchError> {
    if tag_name(f) != "iq" || attr(f, "type") != Some("get") || !f.contains("disco#info") {
        return Ok(false);
    }
    let (Some(from), Some(id)) = (attr(f, "from"), attr(f, "id")) else {
        return Ok(false);
    };
    s.ws.send_text(&format!(
        "<iq xmlns='jabber:client' type='result' id='{id}' to='{from}'><query xmlns='http://jabber.org/protocol/disco#info' node='{CAPS_NODE}#{ver}'>{query}</query></iq>"
    ))
    .await?;
    Ok(true)
}

/// Pings and answers disco queries until the ping's reply.
async fn ping_answering(
    ctx: &Ctx,
    s: &mut Session,
    id: &str,
    query: &str,
    ver: &str,
) -> Result<(), BenchError> {
    s.ws.send_text(&format!(
        "<iq type='get' id='{id}' to='{}' xmlns='jabber:client'><ping xmlns='urn:xmpp:ping'/></iq>",
        ctx.domain
    ))
    .await?;
    loop {
        let f = s
            .recv(ctx.timeout.max(SETUP_TIMEOUT), "ping during caps setup")
            .await?;
        if tag_name(&f) == "iq" && attr(&f, "id") == Some(id) {
            return Ok(());
        }
        answer(s, &f, query, ver).await?;
    }
}

fn is_notification(f: &str) -> bool {
    tag_name(f) == "message" && f.contains("pubsub#event") && f.contains(NODE)
}

async fn session_task(
    ctx: &Ctx,
    sh: &Shared,
    s: &mut Session,
    t: &mut Tally,
) -> Result<(), BenchError> {
    let (query, ver) = disco();
    let full = format!("{}@{}/", Ctx::username(s.index), ctx.domain);
    if s.index != 0 {
        let start = Instant::now();
        while !sh.primed.load(Ordering::Relaxed) {
            if start.elapsed() > SETUP_TIMEOUT {
                return Err(BenchError::Timeout("the first session's caps"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    s.ws.send_text(&format!(
        "<presence xmlns='jabber:client'><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='{CAPS_NODE}' ver='{ver}'/></presence>"
    ))
    .await?;
    // The first ping's reply comes after every query our presence caused; the second's
    // after the server took our answers.
    let setup = async {
        ping_answering(ctx, s, "c1", &query, &ver).await?;
        ping_answering(ctx, s, "c2", &query, &ver).await
    };
    let r = setup.await;
    if s.index == 0 {
        sh.primed.store(true, Ordering::Relaxed);
    }
    sh.ready.arrive();
    r?;
    if !sh.ready.wait(SETUP_TIMEOUT).await {
        return Err(BenchError::Timeout("all sessions to register their caps"));
    }
    let count = |f: &str, t: &mut Tally, full_count: &mut u64| {
        if !is_notification(f) {
            return;
        }
        t.received += 1;
        if !sh.stop.load(Ordering::Relaxed) {
            t.ops += 1;
        }
        if attr(f, "to").is_some_and(|to| to.starts_with(&full)) {
            *full_count += 1;
        }
        if let Some(ts) = f
            .split("ts='")
            .nth(1)
            .and_then(|r| r.split('\'').next())
            .and_then(|v| v.parse::<u64>().ok())
        {
            t.latency
                .record_us(micros_since(sh.epoch).saturating_sub(ts));
        }
    };
    let mut got_full = 0u64;
    if s.index == 0 {
        let mut seq = 0u64;
        while !sh.stop.load(Ordering::Relaxed) {
            let id = format!("p{seq}");
            s.ws.send_text(&format!(
                "<iq xmlns='jabber:client' type='set' id='{id}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='{NODE}'><item id='current'><tick xmlns='{NODE}' seq='{seq}' ts='{}'/></item></publish>{OPTIONS}</pubsub></iq>",
                micros_since(sh.epoch)
            ))
            .await?;
            loop {
                let f = s.recv(ctx.timeout, "publish result").await?;
                if tag_name(&f) == "iq" && attr(&f, "id") == Some(id.as_str()) {
                    if attr(&f, "type") != Some("result") {
                        return Err(BenchError::protocol("publishing", &f));
                    }
                    break;
                }
                count(&f, t, &mut got_full);
            }
            seq += 1;
            sh.published.store(seq, Ordering::Relaxed);
        }
        sh.done.arrive();
        t.sent = t.received;
        return Ok(());
    }
    while !sh.stop.load(Ordering::Relaxed) {
        match tokio::time::timeout(
            Duration::from_millis(200),
            s.recv(ctx.timeout, "notification"),
        )
        .await
        {
            Ok(f) => count(&f?, t, &mut got_full),
            Err(_) => continue,
        }
    }
    sh.done.arrive();
    if !sh.done.wait(Duration::from_secs(60)).await {
        return Err(BenchError::Timeout("the publisher to stop"));
    }
    let expected_full = sh.published.load(Ordering::Relaxed);
    while got_full < expected_full {
        let f = s.recv(ctx.timeout, "remaining notifications").await?;
        count(&f, t, &mut got_full);
    }
    if got_full > expected_full {
        return Err(BenchError::protocol(
            "counting notifications",
            &format!("{got_full} to the full JID, {expected_full} published"),
        ));
    }
    // `received` counts full and bare deliveries; the loss check above is on the full JID.
    t.sent = t.received;
    Ok(())
}

pub async fn run(ctx: Arc<Ctx>, opts: &RunOpts) -> Outcome {
    let mut out = Outcome {
        scenario: "pep".into(),
        unit: "PEP notifications delivered",
        sessions: opts.users,
        ..Default::default()
    };
    let sessions = connect_all(&ctx, opts, false, &mut out).await;
    let live = sessions.iter().flatten().count();
    let epoch = Instant::now();
    let sh = Arc::new(Shared {
        stop: AtomicBool::new(false),
        primed: AtomicBool::new(false),
        ready: Rendezvous::new(live),
        done: Rendezvous::new(live),
        published: AtomicU64::new(0),
        epoch,
    });
    let mut set = JoinSet::new();
    for mut s in sessions.into_iter().flatten() {
        let (ctx, sh) = (ctx.clone(), sh.clone());
        set.spawn(async move {
            let mut t = Tally::default();
            let r = session_task(&ctx, &sh, &mut s, &mut t).await;
            t.error = r.err().map(|e| format!("pep user {}: {e}", s.index));
            (t, Some(s))
        });
    }
    let ready = sh.ready.wait(SETUP_TIMEOUT).await;
    let mark = begin_measure(opts, &mut out);
    tokio::time::sleep(opts.duration).await;
    sh.stop.store(true, Ordering::Relaxed);
    let measured = mark.0.elapsed().as_secs_f64();
    let at_stop = opts.server.sample();
    let done = join_tallies(set, &mut out).await;
    end_measure(opts, &mut out, mark);
    out.secs = measured;
    out.server_after = at_stop;
    close_all(done).await;
    out.extra
        .insert("contacts".into(), (live.saturating_sub(1)).into());
    out.extra.insert("setup_completed".into(), ready.into());
    if !ready {
        // Without every contact's caps registered the window measured nothing useful.
        out.errors
            .push("caps setup did not complete within 300 s".to_owned());
    }
    out.extra.insert(
        "publishes".into(),
        sh.published.load(Ordering::Relaxed).into(),
    );
    out
}
