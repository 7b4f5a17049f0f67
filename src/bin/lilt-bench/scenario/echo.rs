//! `echo`: the physical limit. Bare WebSocket sessions against `ws-echo` send a frame the
//! size of a chat message and wait for it to come back (`window` frames in flight).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{begin_measure, end_measure, micros_since, RunOpts, Tally};
use crate::error::BenchError;
use crate::stats::Outcome;
use crate::ws::WsClient;
use crate::xmpp::Ctx;

/// Padding so an echo frame is about as large as the pingpong `<message>` stanza.
const PAD: &str =
    "<message to='bench0001@bench.local/bench' type='chat' xmlns='jabber:client'><body>";

async fn echo_loop(
    ws: &mut WsClient,
    window: usize,
    stop: &AtomicBool,
    epoch: Instant,
    t: &mut Tally,
    ctx: &Ctx,
) -> Result<(), BenchError> {
    let mut outstanding = 0;
    for _ in 0..window.max(1) {
        ws.send_text(&format!("{PAD}{}", micros_since(epoch)))
            .await?;
        outstanding += 1;
        t.sent += 1;
    }
    while outstanding > 0 {
        let f = match tokio::time::timeout(ctx.timeout, ws.recv_text()).await {
            Ok(r) => r?,
            Err(_) => return Err(BenchError::Timeout("echo")),
        };
        let ts = f
            .strip_prefix(PAD)
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| BenchError::protocol("echo", &f))?;
        t.latency.record_us(micros_since(epoch).saturating_sub(ts));
        t.received += 1;
        t.ops += 1;
        outstanding -= 1;
        if !stop.load(Ordering::Relaxed) {
            ws.send_text(&format!("{PAD}{}", micros_since(epoch)))
                .await?;
            outstanding += 1;
            t.sent += 1;
        }
    }
    Ok(())
}

pub async fn run(ctx: Arc<Ctx>, opts: &RunOpts) -> Outcome {
    let mut out = Outcome {
        scenario: "echo".into(),
        unit: "frames",
        sessions: opts.users,
        ..Default::default()
    };
    out.server_before = opts.server.sample();
    let rss0 = out.server_before.rss_kib;
    let permits = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let started = Instant::now();
    let mut set = JoinSet::new();
    for i in 0..opts.users {
        let (ctx, permits) = (ctx.clone(), permits.clone());
        set.spawn(async move {
            let _p = permits.acquire_owned().await;
            let t0 = Instant::now();
            let src = ctx.source_for(i);
            (t0, WsClient::connect(&ctx.target, src, None).await)
        });
    }
    let mut conns = Vec::new();
    while let Some(j) = set.join_next().await {
        match j {
            Ok((t0, Ok(ws))) => {
                out.connect.ok += 1;
                out.connect.latency.record(t0.elapsed());
                conns.push(ws);
            }
            Ok((_, Err(e))) => {
                out.connect.failed += 1;
                out.errors.push(format!("connect: {e}"));
            }
            Err(e) => out.errors.push(format!("task: {e}")),
        }
    }
    out.connect.secs = started.elapsed().as_secs_f64();
    let held = opts.server.sample();
    out.connect.server_cpu_s = held.cpu_s - out.server_before.cpu_s;
    if out.connect.ok > 0 {
        let per = (held.rss_kib as f64 - rss0 as f64) * 1024.0 / out.connect.ok as f64;
        out.extra
            .insert("rss_per_session_bytes".into(), (per.round() as i64).into());
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mark = begin_measure(opts, &mut out);
    let epoch = mark.0;
    let mut set = JoinSet::new();
    for mut ws in conns {
        let (ctx, stop, window) = (ctx.clone(), stop.clone(), opts.window);
        set.spawn(async move {
            let mut t = Tally::default();
            let r = echo_loop(&mut ws, window, &stop, epoch, &mut t, &ctx).await;
            t.error = r.err().map(|e| format!("echo: {e}"));
            (t, ws)
        });
    }
    tokio::time::sleep(opts.duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut open = Vec::new();
    while let Some(j) = set.join_next().await {
        match j {
            Ok((t, ws)) => {
                t.merge_into(&mut out);
                open.push(ws);
            }
            Err(e) => out.errors.push(format!("task: {e}")),
        }
    }
    end_measure(opts, &mut out, mark);
    let mut closing = JoinSet::new();
    for ws in open {
        closing.spawn(ws.close());
    }
    while closing.join_next().await.is_some() {}
    out
}
