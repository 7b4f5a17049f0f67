//! `presence`: users with rosters (groups of `roster_size` mutual contacts, written by
//! `accounts --roster-size`). Phase 1, the storm: every session sends initial presence at
//! once and waits until it has seen every contact online. Phase 2: each session broadcasts
//! presence updates in a closed loop (update + ping, next after the ping reply) and counts
//! the updates of its contacts, which must all arrive.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::{
    begin_measure, close_all, connect_all, end_measure, join_tallies, micros_since, Rendezvous,
    RunOpts, Tally,
};
use crate::accounts::contacts_of;
use crate::error::BenchError;
use crate::stats::Outcome;
use crate::xmpp::{attr, child_text, tag_name, Ctx, Session};

/// State shared by all presence tasks.
struct Shared {
    users: usize,
    group: usize,
    stop: AtomicBool,
    storm_done: Rendezvous,
    updates_done: Rendezvous,
    /// Updates each user sent (read by its contacts to know what to expect).
    sent: Vec<AtomicU64>,
    storm_stanzas: AtomicU64,
    epoch: Instant,
}

/// The user index in a `from='benchNNNN@...'` attribute.
fn sender_index(frame: &str) -> Option<usize> {
    attr(frame, "from")?
        .strip_prefix("bench")?
        .split('@')
        .next()?
        .parse()
        .ok()
}

/// Which phases a task has arrived at, so a failing task still arrives at the rest.
struct Arrivals<'a>(&'a Shared, u8);

impl Arrivals<'_> {
    fn next(&mut self) {
        match self.1 {
            0 => self.0.storm_done.arrive(),
            1 => self.0.updates_done.arrive(),
            _ => {}
        }
        self.1 += 1;
    }
}

impl Drop for Arrivals<'_> {
    fn drop(&mut self) {
        while self.1 < 2 {
            self.next();
        }
    }
}

async fn session_task(
    ctx: &Ctx,
    sh: &Shared,
    s: &mut Session,
    t: &mut Tally,
) -> Result<(), BenchError> {
    let me = s.index;
    let contacts: Vec<usize> = contacts_of(me, sh.users, sh.group)
        .filter(|&c| c != me)
        .collect();
    let mut arrivals = Arrivals(sh, 0);
    let storm_limit = ctx.timeout.max(Duration::from_secs(30));

    // Phase 1: initial presence storm.
    s.ws.send_text("<presence xmlns='jabber:client'/>").await?;
    let mut online = vec![false; sh.group];
    let mut missing = contacts.len();
    while missing > 0 {
        let f = s.recv(storm_limit, "contacts' initial presence").await?;
        if tag_name(&f) != "presence" {
            continue;
        }
        sh.storm_stanzas.fetch_add(1, Ordering::Relaxed);
        if attr(&f, "type").is_some() {
            continue;
        }
        if let Some(c) = sender_index(&f).filter(|c| contacts.contains(c)) {
            let slot = &mut online[c % sh.group];
            if !*slot {
                *slot = true;
                missing -= 1;
            }
        }
    }
    arrivals.next();
    if !sh.storm_done.wait(storm_limit).await {
        return Err(BenchError::Timeout("all sessions to finish the storm"));
    }

    // Phase 2: closed-loop presence updates, counted at every contact.
    let mut seq = 0u64;
    let count_update = |f: &str, t: &mut Tally| {
        if tag_name(f) != "presence" || sender_index(f) == Some(me) {
            return;
        }
        let Some(stamp) = child_text(f, "status").and_then(|v| v.strip_prefix("u:")) else {
            return;
        };
        if let Some(ts) = stamp.split(':').nth(1).and_then(|v| v.parse::<u64>().ok()) {
            t.latency
                .record_us(micros_since(sh.epoch).saturating_sub(ts));
        }
        t.received += 1;
        if !sh.stop.load(Ordering::Relaxed) {
            t.ops += 1;
        }
    };
    while !sh.stop.load(Ordering::Relaxed) {
        let update = format!(
            "<presence xmlns='jabber:client'><status>u:{seq}:{}</status></presence>",
            micros_since(sh.epoch)
        );
        let ping = format!(
            "<iq type='get' id='u{seq}' to='{}' xmlns='jabber:client'><ping xmlns='urn:xmpp:ping'/></iq>",
            ctx.domain
        );
        s.ws.send_texts(&[&update, &ping]).await?;
        seq += 1;
        sh.sent[me].store(seq, Ordering::Relaxed);
        let id = format!("u{}", seq - 1);
        loop {
            let f = s.recv(ctx.timeout, "ping after presence update").await?;
            if tag_name(&f) == "iq" && attr(&f, "id") == Some(id.as_str()) {
                break;
            }
            count_update(&f, t);
        }
    }
    arrivals.next();
    if !sh.updates_done.wait(storm_limit).await {
        return Err(BenchError::Timeout("all sessions to stop sending"));
    }
    t.sent = contacts
        .iter()
        .map(|&c| sh.sent[c].load(Ordering::Relaxed))
        .sum();
    while t.received < t.sent {
        let f = s.recv(ctx.timeout, "remaining presence updates").await?;
        count_update(&f, t);
    }
    if t.received > t.sent {
        // More updates than the contacts sent: a duplicated delivery is a bug too.
        return Err(BenchError::protocol(
            "counting presence updates",
            &format!("{} received, {} sent by contacts", t.received, t.sent),
        ));
    }
    Ok(())
}

pub async fn run(ctx: Arc<Ctx>, opts: &RunOpts) -> Outcome {
    let mut out = Outcome {
        scenario: "presence".into(),
        unit: "presence updates delivered",
        sessions: opts.users,
        ..Default::default()
    };
    let group = opts.roster_size.max(2);
    let sessions = connect_all(&ctx, opts, false, &mut out).await;
    let live = sessions.iter().flatten().count();
    let mark = begin_measure(opts, &mut out);
    let sh = Arc::new(Shared {
        users: opts.users,
        group,
        stop: AtomicBool::new(false),
        storm_done: Rendezvous::new(live),
        updates_done: Rendezvous::new(live),
        sent: (0..opts.users).map(|_| AtomicU64::new(0)).collect(),
        storm_stanzas: AtomicU64::new(0),
        epoch: mark.0,
    });
    let mut set = JoinSet::new();
    for mut s in sessions.into_iter().flatten() {
        let (ctx, sh) = (ctx.clone(), sh.clone());
        set.spawn(async move {
            let mut t = Tally::default();
            let r = session_task(&ctx, &sh, &mut s, &mut t).await;
            t.error = r.err().map(|e| format!("presence user {}: {e}", s.index));
            (t, Some(s))
        });
    }
    let storm_ok = sh.storm_done.wait(Duration::from_secs(120)).await;
    let storm_secs = mark.0.elapsed().as_secs_f64();
    let storm_cpu = opts.server.sample().cpu_s - out.server_before.cpu_s;
    // The update phase is measured on its own, after the storm.
    let mark = begin_measure(opts, &mut out);
    tokio::time::sleep(opts.duration).await;
    sh.stop.store(true, Ordering::Relaxed);
    // Updates still in flight at the stop are awaited for the loss check; the rate counts
    // only deliveries inside the window, which ends at the stop.
    let measured = mark.0.elapsed().as_secs_f64();
    let at_stop = opts.server.sample();
    let done = join_tallies(set, &mut out).await;
    end_measure(opts, &mut out, mark);
    out.secs = measured;
    out.server_after = at_stop;
    close_all(done).await;
    let storm_stanzas = sh.storm_stanzas.load(Ordering::Relaxed);
    out.extra.insert("roster_size".into(), group.into());
    out.extra.insert("storm_completed".into(), storm_ok.into());
    out.extra.insert(
        "storm_secs".into(),
        ((storm_secs * 1000.0).round() / 1000.0).into(),
    );
    out.extra
        .insert("storm_presence_stanzas".into(), storm_stanzas.into());
    out.extra.insert(
        "storm_stanzas_per_s".into(),
        ((storm_stanzas as f64 / storm_secs.max(1e-9)).round() as i64).into(),
    );
    out.extra.insert(
        "storm_server_cpu_s".into(),
        ((storm_cpu * 1000.0).round() / 1000.0).into(),
    );
    out
}
