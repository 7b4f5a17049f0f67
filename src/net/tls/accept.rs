//! The server side of a TLS handshake on an accepted socket, bounded by
//! `ssl_handshake_timeout` so a silent client cannot hold a connection slot forever.

use std::io;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// Runs the handshake; a timeout is an `io::ErrorKind::TimedOut` error saying how long
/// was allowed.
pub async fn accept_tls(
    acceptor: &TlsAcceptor,
    tcp: TcpStream,
    timeout: Duration,
) -> io::Result<TlsStream<TcpStream>> {
    match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("TLS handshake not finished within {timeout:?}"),
        )),
    }
}
