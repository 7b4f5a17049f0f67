//! The ReadGate wired into a real tokio read loop over loopback TCP (port 0), the way a
//! connection driver uses it. Unlike the virtual-clock tests this one takes real time
//! (about half a second): what it pins is the tokio wiring itself.

use std::time::{Duration, Instant};

use lilt::modules::limits::{Burst, Rate, ReadGate};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TOTAL: usize = 100_000;

/// Reads everything the peer sends through `gate`; returns (bytes, elapsed).
async fn throttled_reader(mut sock: TcpStream, mut gate: ReadGate) -> (usize, Duration) {
    let start = Instant::now();
    let mut buf = vec![0u8; 4096];
    let mut total = 0;
    loop {
        let n = sock.read(&mut buf).await.expect("read");
        if n == 0 {
            break;
        }
        total += n;
        if let Some(pause) = gate.after_read(n, Instant::now()) {
            tokio::time::sleep(pause).await;
        }
    }
    (total, start.elapsed())
}

async fn run(gate: ReadGate) -> (usize, Duration) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let client = tokio::spawn(async move {
        let mut sock = TcpStream::connect(addr).await.expect("connect");
        sock.write_all(&vec![b'x'; TOTAL]).await.expect("write");
        sock.shutdown().await.expect("shutdown");
    });
    let (sock, _) = listener.accept().await.expect("accept");
    let result = throttled_reader(sock, gate).await;
    client.await.expect("client");
    result
}

#[tokio::test]
async fn flooding_client_is_held_to_the_rate_after_its_burst() {
    let rate = Rate {
        bytes_per_second: 200_000.0,
        burst: Burst::Bytes(20_000.0),
    };
    let gate = ReadGate::new(Some(rate), Duration::from_millis(10), Instant::now());
    let (total, elapsed) = run(gate).await;
    assert_eq!(total, TOTAL);
    // 80 kB beyond the burst at 200 kB/s is 0.4 s, less at most one 4 KiB read of debt
    // not yet paid back when the stream ends.
    let floor = (TOTAL as f64 - 20_000.0 - 4096.0) / 200_000.0;
    assert!(
        elapsed.as_secs_f64() >= floor,
        "done in {elapsed:?}, floor {floor}s"
    );
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
}
