//! `ws-echo`: a bare WebSocket echo server on tokio, the "physical limit" baseline of the
//! load bench: same loopback, same read size and frame limit as the XMPP servers, no XMPP.
//!
//! Echoes every text/binary frame back unmasked, answers pings, and closes on a close frame.
//! Not a general WebSocket server: no fragmentation, no extensions, no TLS.

#[allow(dead_code)]
#[path = "lilt-bench/ws/frame.rs"]
mod frame;

use std::process::ExitCode;

use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Parser)]
#[command(
    name = "ws-echo",
    about = "Bare WebSocket echo server (bench baseline)"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// Largest accepted frame (Prosody's default websocket_frame_buffer_limit is 512 KiB).
    #[arg(long, default_value_t = 512 * 1024)]
    max_frame: usize,
    /// Bytes per read (Prosody's network read size is 8 KiB).
    #[arg(long, default_value_t = 8192)]
    read_size: usize,
    /// Tokio worker threads (1 = single-threaded, like Prosody's event loop).
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

/// Reads the HTTP upgrade request and answers 101; returns bytes read past the head.
async fn handshake(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(1024);
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 16 * 1024 || stream.read_buf(&mut buf).await? == 0 {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    let Some(key) = header("sec-websocket-key") else {
        stream
            .write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )
            .await?;
        return Err(std::io::ErrorKind::InvalidData.into());
    };
    let mut resp = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
        frame::accept_key(&key)
    );
    if header("sec-websocket-protocol").is_some_and(|p| p.split(',').any(|x| x.trim() == "xmpp")) {
        resp.push_str("Sec-WebSocket-Protocol: xmpp\r\n");
    }
    resp.push_str("\r\n");
    stream.write_all(resp.as_bytes()).await?;
    Ok(buf.split_off(end))
}

async fn serve(mut stream: TcpStream, max_frame: usize, read_size: usize) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = handshake(&mut stream).await?;
    let mut out = Vec::with_capacity(read_size);
    loop {
        let mut used = 0;
        let mut closing = false;
        while let Some((f, n)) = frame::decode(&buf[used..], max_frame)
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidData))?
        {
            used += n;
            match f.opcode {
                frame::OP_TEXT | frame::OP_BINARY => {
                    frame::encode(f.opcode, &f.payload, None, &mut out)
                }
                frame::OP_PING => frame::encode(frame::OP_PONG, &f.payload, None, &mut out),
                frame::OP_CLOSE => {
                    frame::encode(frame::OP_CLOSE, &f.payload, None, &mut out);
                    closing = true;
                    break;
                }
                _ => {}
            }
        }
        buf.drain(..used);
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
        if closing {
            return stream.shutdown().await;
        }
        buf.reserve(read_size);
        if stream.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
    }
}

async fn run(args: Args) -> std::io::Result<()> {
    let listener = TcpListener::bind(&args.listen).await?;
    // The compare script reads the port from this line.
    println!("listening on {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let (max, rs) = (args.max_frame, args.read_size);
        tokio::spawn(async move {
            let _ = serve(stream, max, rs).await;
        });
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = if args.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.threads)
            .enable_all()
            .build()
    };
    let result = rt.and_then(|rt| rt.block_on(run(args)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ws-echo: {e}");
            ExitCode::FAILURE
        }
    }
}
