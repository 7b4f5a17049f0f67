//! Connections opened and abandoned at each stage of the handshake — right after the TCP
//! connect, in the middle of the HTTP head, after the 101, after `<open/>`, in the middle
//! of SCRAM — 2 000 per stage by default, 10 000 with `LILT_ABANDON_N=10000` — while one logged-in
//! client keeps being served. Afterwards no session and no descriptor is left behind.

use crate::fault_support;
use crate::support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use fault_support::{raise_fd_limit, start, HOST};
use support::{base_config, upgrade_request, WsClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Clone, Copy, Debug)]
enum Stage {
    TcpConnect,
    MidHttp,
    After101,
    AfterOpen,
    MidSasl,
}

fn masked_text(payload: &str) -> Vec<u8> {
    let p = payload.as_bytes();
    let mut f = vec![0x81u8];
    if p.len() < 126 {
        f.push(0x80 | p.len() as u8);
    } else {
        f.push(0x80 | 126);
        f.extend_from_slice(&(p.len() as u16).to_be_bytes());
    }
    // A zero mask keeps the payload readable and is still a masked frame.
    f.extend_from_slice(&[0, 0, 0, 0]);
    f.extend_from_slice(p);
    f
}

/// Reads until `needle` shows up (or the peer closes / 5 s pass).
async fn read_until(s: &mut TcpStream, needle: &[u8]) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = Instant::now() + Duration::from_secs(5);
    while !buf.windows(needle.len()).any(|w| w == needle) && Instant::now() < end {
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return,
        }
    }
}

async fn abandon(addr: SocketAddr, stage: Stage) {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return;
    };
    let req = upgrade_request(HOST, "Sec-WebSocket-Protocol: xmpp\r\n");
    match stage {
        Stage::TcpConnect => {}
        Stage::MidHttp => {
            let _ = s.write_all(&req.as_bytes()[..req.len() / 2]).await;
        }
        Stage::After101 | Stage::AfterOpen | Stage::MidSasl => {
            let _ = s.write_all(req.as_bytes()).await;
            read_until(&mut s, b"\r\n\r\n").await;
            if matches!(stage, Stage::AfterOpen | Stage::MidSasl) {
                let open = format!(
                    "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{HOST}' version='1.0'/>"
                );
                let _ = s.write_all(&masked_text(&open)).await;
            }
            if matches!(stage, Stage::MidSasl) {
                read_until(&mut s, b"</stream:features>").await;
                // SCRAM client-first for alice ("n,,n=alice,r=abcdefgh").
                let _ = s
                    .write_all(&masked_text(
                        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>biwsbj1hbGljZSxyPWFiY2RlZmdo</auth>",
                    ))
                    .await;
                read_until(&mut s, b"</challenge>").await;
            }
        }
    }
    drop(s);
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

async fn ping(c: &mut WsClient, id: &str) {
    c.send_text(&format!(
        "<iq xmlns='jabber:client' type='get' id='{id}' to='{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>"
    ))
    .await;
    loop {
        let t = c.next_text().await;
        if t.contains(&format!("id='{id}'")) {
            assert!(t.contains("type='result'"), "ping answered: {t}");
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_abandoned_at_every_handshake_stage_leave_nothing_behind() {
    // It counts this process's descriptors: run it where no other test opens any.
    if !crate::harness::alone::alone(
        "abandon::connections_abandoned_at_every_handshake_stage_leave_nothing_behind",
    ) {
        return;
    }
    let limit = raise_fd_limit();
    let n: usize = std::env::var("LILT_ABANDON_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    // Each abandoned connection costs two descriptors while in flight (both ends).
    let parallel = ((limit as usize).saturating_sub(200) / 4).clamp(16, 256);
    let server = start(&base_config("")).await;
    server.add_user("alice", "pw");
    server.add_user("keeper", "pw");
    let mut keeper = WsClient::connect(server.addr).await;
    keeper.login("keeper", "pw", "stays").await;
    let fds_before = open_fds();

    for stage in [
        Stage::TcpConnect,
        Stage::MidHttp,
        Stage::After101,
        Stage::AfterOpen,
        Stage::MidSasl,
    ] {
        let started = Instant::now();
        let mut done = 0;
        while done < n {
            let batch = parallel.min(n - done);
            let tasks: Vec<_> = (0..batch)
                .map(|_| tokio::spawn(abandon(server.addr, stage)))
                .collect();
            for t in tasks {
                t.await.expect("abandoning task");
            }
            done += batch;
            if done % (parallel * 8) == 0 {
                ping(&mut keeper, &format!("{stage:?}-{done}")).await;
            }
        }
        ping(&mut keeper, &format!("{stage:?}-end")).await;
        eprintln!(
            "{stage:?}: {n} connections abandoned in {:?}",
            started.elapsed()
        );
    }

    assert!(
        server.sessions_drop_to(1, Duration::from_secs(15)).await,
        "{} WebSocket sessions left, expected only the keeper",
        server.listeners.sessions()
    );
    // Server-side sockets of abandoned connections are all closed.
    let end = Instant::now() + Duration::from_secs(15);
    while open_fds() > fds_before + 8 && Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        open_fds() <= fds_before + 8,
        "descriptors leaked: {} before, {} after",
        fds_before,
        open_fds()
    );
    ping(&mut keeper, "final").await;
}
