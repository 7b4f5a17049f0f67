//! The socket of one c2s TCP connection, plain or TLS, so the connection task can upgrade it
//! in place on STARTTLS.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

/// RFC 9266 exporter label.
const EXPORTER_LABEL: &[u8] = b"EXPORTER-Channel-Binding";

/// A plain or TLS-wrapped TCP stream. `Gone` only exists while a STARTTLS handshake owns
/// the TCP stream.
pub enum Socket {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    Gone,
}

impl Socket {
    pub fn is_tls(&self) -> bool {
        matches!(self, Socket::Tls(_))
    }

    /// The `tls-exporter` channel binding value (32 bytes, no context). Only offered on
    /// TLS 1.3: on TLS 1.2 RFC 9266 needs the extended master secret, which rustls does
    /// not let us confirm.
    pub fn tls_exporter(&self) -> Option<Vec<u8>> {
        let Socket::Tls(tls) = self else {
            return None;
        };
        let conn = tls.get_ref().1;
        if conn.protocol_version() != Some(rustls::ProtocolVersion::TLSv1_3) {
            return None;
        }
        let mut out = vec![0u8; 32];
        conn.export_keying_material(&mut out, EXPORTER_LABEL, None)
            .ok()?;
        Some(out)
    }
}

fn gone() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "socket taken by a TLS handshake",
    )
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Socket::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Socket::Gone => Poll::Ready(Err(gone())),
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Socket::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Socket::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Socket::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Plain(s) => Pin::new(s).poll_flush(cx),
            Socket::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Socket::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Socket::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Socket::Gone => Poll::Ready(Err(gone())),
        }
    }
}
