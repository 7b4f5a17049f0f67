//! Binding listening sockets (backlog, SO_REUSEADDR, IPV6_V6ONLY so `*` and `::` can share
//! a port) and accepting connections with the per-socket options of `network_settings`.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket, TcpStream};

use crate::net::settings::NetworkSettings;

/// Options applied to every accepted socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketOptions {
    /// Nagle's algorithm; `false` sets TCP_NODELAY.
    pub nagle: bool,
    /// SO_KEEPALIVE. c2s uses `c2s_tcp_keepalives` (default true) instead of the global flag.
    pub keepalive: bool,
}

impl SocketOptions {
    /// The options `network_settings` asks for on a listener of no particular service.
    pub fn from_settings(settings: &NetworkSettings) -> Self {
        SocketOptions {
            nagle: settings.nagle,
            keepalive: settings.tcp_keepalive,
        }
    }
}

/// Why a listener could not be set up or a socket option not applied: the environment's
/// fault (port taken, no permission) or the operator's (address not on this machine).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListenerError {
    #[error("cannot listen on {addr}: {reason}")]
    Bind {
        addr: SocketAddr,
        reason: String,
        source: io::Error,
    },
    #[error("cannot set {option} on a socket: {source}")]
    SocketOption {
        option: &'static str,
        source: io::Error,
    },
}

fn bind_reason(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::AddrInUse => "address in use".to_owned(),
        io::ErrorKind::AddrNotAvailable => "address not available on this machine".to_owned(),
        io::ErrorKind::PermissionDenied => {
            "permission denied (ports below 1024 need privileges)".to_owned()
        }
        _ => err.to_string(),
    }
}

/// A bound listener of one service that applies [`SocketOptions`] to what it accepts.
#[derive(Debug)]
pub struct BoundListener {
    service: String,
    local_addr: SocketAddr,
    listener: TcpListener,
    options: SocketOptions,
    accept_retry_interval: Duration,
}

impl BoundListener {
    /// Service name this listener was bound for.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Accepts the next connection and applies the socket options. Transient per-connection
    /// failures are retried at once; others (e.g. out of file descriptors) are logged and
    /// retried after `accept_retry_interval`, so a listener never dies from load.
    pub async fn accept(&self) -> (TcpStream, SocketAddr) {
        loop {
            match self.listener.accept().await {
                Ok((stream, peer)) => match apply_stream_options(&stream, self.options) {
                    Ok(()) => return (stream, peer),
                    Err(e) => {
                        tracing::debug!(service = %self.service, %peer, "dropping connection: {e}")
                    }
                },
                Err(e) if is_per_connection(&e) => {
                    tracing::debug!(service = %self.service, "accept failed: {e}");
                }
                Err(e) => {
                    tracing::error!(
                        service = %self.service, addr = %self.local_addr,
                        "accept failed: {e}; retrying in {:?}", self.accept_retry_interval
                    );
                    tokio::time::sleep(self.accept_retry_interval).await;
                }
            }
        }
    }
}

fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// Sets TCP_NODELAY (when Nagle is off) and SO_KEEPALIVE on an accepted socket.
pub fn apply_stream_options(
    stream: &TcpStream,
    options: SocketOptions,
) -> Result<(), ListenerError> {
    stream
        .set_nodelay(!options.nagle)
        .map_err(|source| ListenerError::SocketOption {
            option: "TCP_NODELAY",
            source,
        })?;
    set_keepalive(stream, options.keepalive)
}

#[cfg(unix)]
fn set_bool_sockopt(
    fd: std::os::fd::RawFd,
    level: libc::c_int,
    name: libc::c_int,
    on: bool,
) -> io::Result<()> {
    let value: libc::c_int = on.into();
    // SAFETY: fd is a live socket owned by the caller for the duration of the call, and
    // the option value points at a c_int whose size is passed alongside.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(unix)]
fn set_keepalive(stream: &TcpStream, on: bool) -> Result<(), ListenerError> {
    use std::os::fd::AsRawFd;
    set_bool_sockopt(stream.as_raw_fd(), libc::SOL_SOCKET, libc::SO_KEEPALIVE, on).map_err(
        |source| ListenerError::SocketOption {
            option: "SO_KEEPALIVE",
            source,
        },
    )
}

#[cfg(not(unix))]
fn set_keepalive(_stream: &TcpStream, _on: bool) -> Result<(), ListenerError> {
    Ok(())
}

/// Reads SO_KEEPALIVE back; used by tests and diagnostics.
#[cfg(unix)]
pub fn keepalive_enabled(stream: &TcpStream) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the socket is live; value and len are valid for writes of their sizes.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_KEEPALIVE,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        Ok(value != 0)
    } else {
        Err(io::Error::last_os_error())
    }
}

fn socket_for(addr: SocketAddr) -> io::Result<TcpSocket> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // Restarting the server must not wait for TIME_WAIT sockets of the previous run.
    socket.set_reuseaddr(true)?;
    #[cfg(unix)]
    if addr.is_ipv6() {
        use std::os::fd::AsRawFd;
        // Without V6ONLY, `::` would also claim IPv4 and the `*` listener would fail.
        set_bool_sockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_V6ONLY,
            true,
        )?;
    }
    Ok(socket)
}

/// Binds one address for `service` with the backlog and options from `settings`.
/// Must be called inside a tokio runtime.
pub fn bind_service(
    service: &str,
    addr: SocketAddr,
    settings: &NetworkSettings,
    options: SocketOptions,
) -> Result<BoundListener, ListenerError> {
    let fail = |source: io::Error| ListenerError::Bind {
        addr,
        reason: bind_reason(&source),
        source,
    };
    let socket = socket_for(addr).map_err(fail)?;
    socket.bind(addr).map_err(fail)?;
    let listener = socket.listen(settings.tcp_backlog).map_err(fail)?;
    let local_addr = listener.local_addr().map_err(fail)?;
    tracing::debug!(service, addr = %local_addr, "listening");
    Ok(BoundListener {
        service: service.to_owned(),
        local_addr,
        listener,
        options,
        accept_retry_interval: settings.accept_retry_interval,
    })
}

/// Binds every address of a service; the first failure is returned with its address.
pub fn bind_all(
    service: &str,
    addrs: &[SocketAddr],
    settings: &NetworkSettings,
    options: SocketOptions,
) -> Result<Vec<BoundListener>, ListenerError> {
    addrs
        .iter()
        .map(|&addr| bind_service(service, addr, settings, options))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(nagle: bool, keepalive: bool) -> SocketOptions {
        SocketOptions { nagle, keepalive }
    }

    #[tokio::test]
    async fn second_bind_of_same_port_names_address_and_reason() {
        let settings = NetworkSettings::default();
        let first = bind_service(
            "http",
            "127.0.0.1:0".parse().unwrap(),
            &settings,
            opts(true, false),
        )
        .unwrap();
        let addr = first.local_addr();
        let err = bind_service("http", addr, &settings, opts(true, false)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("cannot listen on {addr}: address in use")
        );
    }

    #[tokio::test]
    async fn ipv4_and_ipv6_wildcards_share_a_port() {
        let settings = NetworkSettings::default();
        let v4 = bind_service(
            "c2s",
            "0.0.0.0:0".parse().unwrap(),
            &settings,
            opts(true, false),
        )
        .unwrap();
        let port = v4.local_addr().port();
        match bind_service(
            "c2s",
            SocketAddr::new("::".parse().unwrap(), port),
            &settings,
            opts(true, false),
        ) {
            Ok(v6) => assert_eq!(v6.local_addr().port(), port),
            // A host without IPv6 cannot take part in this test; V6ONLY is then moot.
            Err(ListenerError::Bind { source, .. })
                if source.kind() == io::ErrorKind::AddrNotAvailable => {}
            Err(e) if e.to_string().contains("Address family not supported") => {}
            Err(e) => panic!("IPv6 wildcard clashed with IPv4 wildcard: {e}"),
        }
    }

    #[tokio::test]
    async fn accepted_sockets_get_nodelay_and_keepalive_as_configured() {
        let settings = NetworkSettings::default();
        for (nagle, keepalive) in [(false, true), (true, false)] {
            let l = bind_service(
                "c2s",
                "127.0.0.1:0".parse().unwrap(),
                &settings,
                opts(nagle, keepalive),
            )
            .unwrap();
            let _client = TcpStream::connect(l.local_addr()).await.unwrap();
            let (stream, _) = l.accept().await;
            assert_eq!(stream.nodelay().unwrap(), !nagle);
            assert_eq!(keepalive_enabled(&stream).unwrap(), keepalive);
        }
    }

    #[test]
    fn socket_options_follow_network_settings() {
        let mut s = NetworkSettings::default();
        assert_eq!(SocketOptions::from_settings(&s), opts(true, false));
        s.nagle = false;
        s.tcp_keepalive = true;
        assert_eq!(SocketOptions::from_settings(&s), opts(false, true));
    }
}
