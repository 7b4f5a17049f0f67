//! The socket of a c2s connection, read and written through shared references so that the
//! read and the write of one turn of the driver's loop can wait side by side. Plain TCP is
//! used in place; anything else (TLS, an upgraded HTTP connection) is boxed and split. A
//! plain socket becomes a TLS one in place on STARTTLS.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::Poll;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use super::framing::Framing;
use crate::net::http::AsyncReadWrite;

/// RFC 9266 exporter label.
const EXPORTER_LABEL: &[u8] = b"EXPORTER-Channel-Binding";

/// A connection's socket.
pub enum Socket {
    /// Plain TCP, used in place: split halves would cost every session an `Arc` around the
    /// socket and a boxed writer. Waits for readiness first, so an idle session holds no
    /// read buffer.
    Tcp(TcpStream),
    /// Anything else (TLS), split; a half is locked only within one poll.
    Boxed {
        rd: std::sync::Mutex<ReadHalf<Box<dyn AsyncReadWrite>>>,
        wr: std::sync::Mutex<WriteHalf<Box<dyn AsyncReadWrite>>>,
    },
    /// Only while a STARTTLS handshake owns the TCP stream.
    Gone,
}

/// A half of a split socket; one poll holds it at a time, so a poisoned lock is just free.
fn lock<T>(half: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    half.lock().unwrap_or_else(|e| e.into_inner())
}

fn gone() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "socket taken by a TLS handshake",
    )
}

/// The `tls-exporter` channel binding value (32 bytes, no context). Only on TLS 1.3: on
/// TLS 1.2 RFC 9266 needs the extended master secret, which rustls does not let us confirm.
pub fn tls_exporter(tls: &TlsStream<TcpStream>) -> Option<Vec<u8>> {
    let conn = tls.get_ref().1;
    if conn.protocol_version() != Some(rustls::ProtocolVersion::TLSv1_3) {
        return None;
    }
    let mut out = vec![0u8; 32];
    conn.export_keying_material(&mut out, EXPORTER_LABEL, None)
        .ok()?;
    Some(out)
}

impl Socket {
    pub fn boxed(io: Box<dyn AsyncReadWrite>) -> Socket {
        let (rd, wr) = tokio::io::split(io);
        Socket::Boxed {
            rd: std::sync::Mutex::new(rd),
            wr: std::sync::Mutex::new(wr),
        }
    }

    /// The plain TCP stream, for a STARTTLS handshake (the socket is `Gone` meanwhile).
    pub fn take_tcp(&mut self) -> Option<TcpStream> {
        match std::mem::replace(self, Socket::Gone) {
            Socket::Tcp(s) => Some(s),
            other => {
                *self = other;
                None
            }
        }
    }

    /// Reads what the socket has and hands it to the framing. A `poll_fn`, not an `async
    /// fn`: the future is its two references, which every idle session keeps.
    pub fn read_into<'a, F: Framing>(
        &'a self,
        framing: &'a mut F,
    ) -> impl Future<Output = io::Result<usize>> + 'a {
        std::future::poll_fn(move |cx| match self {
            Socket::Tcp(s) => loop {
                // poll_read_ready keeps the waiter in the socket's own slot; `readable()`
                // would put a ~200-byte waiter future in every idle session's task.
                std::task::ready!(s.poll_read_ready(cx))?;
                match try_read_tcp(s, framing) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    r => return Poll::Ready(r),
                }
            },
            Socket::Boxed { rd, .. } => {
                // A buffer of this poll's stack frame, not of the future.
                let mut chunk = [0u8; 8192];
                let mut buf = ReadBuf::new(&mut chunk[..F::READ_SIZE.min(8192)]);
                std::task::ready!(Pin::new(&mut *lock(rd)).poll_read(cx, &mut buf))?;
                framing.feed(buf.filled());
                Poll::Ready(Ok(buf.filled().len()))
            }
            Socket::Gone => Poll::Ready(Err(gone())),
        })
    }

    /// Writes some of `buf`: how much the socket took.
    pub fn write<'a>(&'a self, buf: &'a [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        std::future::poll_fn(move |cx| match self {
            Socket::Tcp(s) => loop {
                std::task::ready!(s.poll_write_ready(cx))?;
                match s.try_write(buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    r => return Poll::Ready(r),
                }
            },
            Socket::Boxed { wr, .. } => Pin::new(&mut *lock(wr)).poll_write(cx, buf),
            Socket::Gone => Poll::Ready(Err(gone())),
        })
    }

    pub async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }

    pub async fn shutdown(&mut self) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.shutdown().await,
            Socket::Boxed { wr, .. } => {
                let wr = wr.get_mut().unwrap_or_else(|e| e.into_inner());
                wr.shutdown().await
            }
            Socket::Gone => Ok(()),
        }
    }
}

/// One non-blocking read through a stack buffer: the readiness wait above it holds no heap
/// buffer, and the buffer is not part of the task's future since no `.await` spans it.
fn try_read_tcp<F: Framing>(r: &TcpStream, framing: &mut F) -> io::Result<usize> {
    let mut chunk = [0u8; 8192];
    let n = r.try_read(&mut chunk[..F::READ_SIZE.min(8192)])?;
    framing.feed(&chunk[..n]);
    Ok(n)
}
