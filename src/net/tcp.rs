//! c2s over raw TCP (reference §9.1–9.3): the listener's entry into the one c2s driver
//! with the TCP framing. Plain connections may upgrade with STARTTLS; direct TLS
//! (XEP-0368) starts encrypted.

pub mod serialise;

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

use crate::core::Shared;
use crate::net::c2s::socket::tls_exporter;
use crate::net::c2s::tcp_framing::TcpFraming;
use crate::net::c2s::{drive, C2sSession, SessionSettings, Socket};

/// The TLS side of the c2s service: STARTTLS acceptors by host and the handshake bound.
pub struct C2sTls {
    starttls: HashMap<String, TlsAcceptor>,
    hosts: Arc<HashSet<String>>,
    handshake_timeout: Duration,
}

impl C2sTls {
    pub fn new(starttls: HashMap<String, TlsAcceptor>, handshake_timeout: Duration) -> Self {
        let hosts = Arc::new(starttls.keys().cloned().collect());
        C2sTls {
            starttls,
            hosts,
            handshake_timeout,
        }
    }

    pub fn handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    /// Hosts on which STARTTLS is offered.
    pub fn starttls_hosts(&self) -> &HashSet<String> {
        &self.hosts
    }

    /// The STARTTLS acceptor of `host`.
    pub fn acceptor(&self, host: &str) -> Option<&TlsAcceptor> {
        self.starttls.get(host)
    }
}

/// Runs one plain c2s TCP session (which may upgrade with STARTTLS) to its end.
pub fn serve(
    tcp: TcpStream,
    ip: Option<IpAddr>,
    shared: Arc<Shared>,
    tls: Arc<C2sTls>,
    settings: Arc<SessionSettings>,
) -> impl std::future::Future<Output = ()> + Send {
    let id = shared.new_session_id();
    let span = span(id, ip);
    let mut session = Box::new(C2sSession::new(
        shared,
        settings,
        TcpFraming::default(),
        id,
        ip,
        false,
        false,
        tokio::time::Instant::now().into_std(),
    ));
    session.allow_starttls(tls.hosts.clone());
    drive(Socket::Tcp(tcp), session, Some(tls)).instrument(span)
}

/// Accepts the TLS handshake of a direct-TLS connection (bounded by
/// `ssl_handshake_timeout`; a silent or broken client is just dropped, there is no stream
/// yet to send an error on) and runs the session.
pub async fn serve_direct_tls(
    tcp: TcpStream,
    ip: Option<IpAddr>,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    tls: Arc<C2sTls>,
    settings: Arc<SessionSettings>,
) {
    let stream = match crate::net::tls::accept_tls(&acceptor, tcp, tls.handshake_timeout).await {
        Ok(stream) => stream,
        Err(e) => {
            tracing::debug!(?ip, "c2s_direct_tls: TLS handshake failed: {e}");
            return;
        }
    };
    let id = shared.new_session_id();
    let span = span(id, ip);
    let mut session = Box::new(C2sSession::new(
        shared,
        settings,
        TcpFraming::default(),
        id,
        ip,
        true,
        true,
        tokio::time::Instant::now().into_std(),
    ));
    session.set_channel_binding(tls_exporter(&stream));
    drive(Socket::boxed(Box::new(stream)), session, None)
        .instrument(span)
        .await
}

fn span(id: u64, ip: Option<IpAddr>) -> tracing::Span {
    let ip = ip.map(|ip| ip.to_string()).unwrap_or_default();
    tracing::info_span!("c2s", id, ip = %ip)
}
