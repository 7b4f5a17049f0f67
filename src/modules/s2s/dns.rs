//! Where a remote domain's servers are (reference §17.2): SRV `_xmpps-server._tcp` (direct
//! TLS, XEP-0368) first when TLS is on, then `_xmpp-server._tcp`, then the domain itself on
//! 5269; targets in priority order (weights are ignored, as in Prosody); a single `.` target
//! means the service is explicitly unavailable. Lookups go through hickory-resolver, by
//! default with the system's resolv.conf, or with Lilt's `s2s_resolver` name server.

use std::net::{IpAddr, SocketAddr};

use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::TokioResolver;

/// The default port of `xmpp-server` (RFC 6120 §3.2.2).
pub const DEFAULT_PORT: u16 = 5269;

/// One place to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    /// From `_xmpps-server`: TLS from the first byte, SNI = the remote domain.
    pub direct_tls: bool,
}

/// An SRV answer reduced to what the ordering needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvRecord {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: String,
}

/// Why a domain has no target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// The domain published a single `.` target.
    #[error("service explicitly unavailable")]
    Unavailable,
    #[error("{0}")]
    Lookup(String),
    /// The `s2s_resolver` option does not name an address (the operator's to fix).
    #[error("s2s_resolver: '{0}' is not an IP address or IP:port")]
    BadResolverOption(String),
}

/// Targets from one SRV answer, stable-sorted by priority only; `Err(Unavailable)` for the
/// lone `.` record. Empty input gives an empty list.
pub fn order_srv(records: &[SrvRecord], direct_tls: bool) -> Result<Vec<Target>, ResolveError> {
    if records.len() == 1 && matches!(records[0].target.as_str(), "." | "") {
        return Err(ResolveError::Unavailable);
    }
    let mut sorted: Vec<&SrvRecord> = records.iter().collect();
    sorted.sort_by_key(|r| r.priority);
    Ok(sorted
        .into_iter()
        .map(|r| Target {
            host: r.target.trim_end_matches('.').to_owned(),
            port: r.port,
            direct_tls,
        })
        .collect())
}

/// The whole plan: direct-TLS SRV targets (when TLS is on), then STARTTLS ones, else the
/// domain on 5269. An IP literal domain is connected to directly.
pub fn plan(
    domain: &str,
    xmpps: Option<Result<Vec<Target>, ResolveError>>,
    xmpp: Result<Vec<Target>, ResolveError>,
) -> Result<Vec<Target>, ResolveError> {
    let fallback = || Target {
        host: domain.to_owned(),
        port: DEFAULT_PORT,
        direct_tls: false,
    };
    if domain.parse::<IpAddr>().is_ok() {
        return Ok(vec![fallback()]);
    }
    let mut out = Vec::new();
    if let Some(Ok(t)) = xmpps {
        out.extend(t);
    }
    match xmpp {
        Ok(t) if t.is_empty() && out.is_empty() => out.push(fallback()),
        Ok(t) => out.extend(t),
        Err(ResolveError::Unavailable) if out.is_empty() => return Err(ResolveError::Unavailable),
        Err(_) if out.is_empty() => out.push(fallback()),
        Err(_) => {}
    }
    Ok(out)
}

/// The resolver s2s uses: `s2s_resolver` (`"ip"` or `"ip:port"`, a Lilt extension for
/// private and test networks) or the system configuration.
pub fn resolver(option: Option<&str>) -> Result<TokioResolver, ResolveError> {
    let provider = TokioRuntimeProvider::default();
    let builder = match option {
        Some(addr) => {
            let sock = addr
                .parse::<SocketAddr>()
                .or_else(|_| addr.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                .map_err(|_| ResolveError::BadResolverOption(addr.to_owned()))?;
            let mut ns = NameServerConfig::udp_and_tcp(sock.ip());
            for c in &mut ns.connections {
                c.port = sock.port();
            }
            TokioResolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![ns]),
                provider,
            )
        }
        None => {
            TokioResolver::builder(provider).map_err(|e| ResolveError::Lookup(e.to_string()))?
        }
    };
    builder
        .build()
        .map_err(|e| ResolveError::Lookup(e.to_string()))
}

/// Looks up one SRV name; no records (or NXDOMAIN) is an empty list.
async fn srv(
    resolver: &TokioResolver,
    name: &str,
    direct_tls: bool,
) -> Result<Vec<Target>, ResolveError> {
    match resolver.srv_lookup(name).await {
        Ok(answer) => {
            let records: Vec<SrvRecord> = answer
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    hickory_resolver::proto::rr::RData::SRV(s) => Some(SrvRecord {
                        priority: s.priority,
                        weight: s.weight,
                        port: s.port,
                        target: s.target.to_ascii(),
                    }),
                    _ => None,
                })
                .collect();
            order_srv(&records, direct_tls)
        }
        Err(e) if e.is_no_records_found() || e.is_nx_domain() => Ok(Vec::new()),
        Err(e) => Err(ResolveError::Lookup(e.to_string())),
    }
}

/// The targets for `domain`, in the order they are tried.
pub async fn targets(
    resolver: &TokioResolver,
    domain: &str,
    tls: bool,
) -> Result<Vec<Target>, ResolveError> {
    if domain.parse::<IpAddr>().is_ok() {
        return plan(domain, None, Ok(Vec::new()));
    }
    let xmpps = if tls {
        Some(srv(resolver, &format!("_xmpps-server._tcp.{domain}."), true).await)
    } else {
        None
    };
    let xmpp = srv(resolver, &format!("_xmpp-server._tcp.{domain}."), false).await;
    plan(domain, xmpps, xmpp)
}

/// The addresses of one target host, IPv4 and IPv6 as allowed, in answer order.
pub async fn addresses(
    resolver: &TokioResolver,
    host: &str,
    port: u16,
    use_ipv4: bool,
    use_ipv6: bool,
) -> Result<Vec<SocketAddr>, ResolveError> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let name = format!("{}.", host.trim_end_matches('.'));
    let found = resolver.lookup_ip(name.as_str()).await.map_err(|e| {
        if e.is_nx_domain() || e.is_no_records_found() {
            ResolveError::Lookup("NXDOMAIN in A lookup".into())
        } else {
            ResolveError::Lookup(e.to_string())
        }
    })?;
    let out: Vec<SocketAddr> = found
        .iter()
        .filter(|ip| (ip.is_ipv4() && use_ipv4) || (ip.is_ipv6() && use_ipv6))
        .map(|ip| SocketAddr::new(ip, port))
        .collect();
    if out.is_empty() {
        return Err(ResolveError::Lookup("no usable address records".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(priority: u16, weight: u16, port: u16, target: &str) -> SrvRecord {
        SrvRecord {
            priority,
            weight,
            port,
            target: target.into(),
        }
    }

    #[test]
    fn srv_targets_are_ordered_by_priority_only_keeping_answer_order_within_one() {
        let got = order_srv(
            &[
                rec(20, 0, 1, "c.test."),
                rec(10, 1, 2, "a.test."),
                rec(10, 99, 3, "b.test."),
            ],
            false,
        )
        .expect("ordered");
        let hosts: Vec<&str> = got.iter().map(|t| t.host.as_str()).collect();
        assert_eq!(hosts, ["a.test", "b.test", "c.test"]);
        assert_eq!(got[0].port, 2);
    }

    #[test]
    fn a_lone_dot_target_means_explicitly_unavailable() {
        assert_eq!(
            order_srv(&[rec(0, 0, 0, ".")], false),
            Err(ResolveError::Unavailable)
        );
        assert_eq!(
            plan("x.test", None, Err(ResolveError::Unavailable)),
            Err(ResolveError::Unavailable)
        );
    }

    #[test]
    fn direct_tls_targets_come_first_then_starttls_ones() {
        let xmpps = Ok(vec![Target {
            host: "tls.test".into(),
            port: 5270,
            direct_tls: true,
        }]);
        let xmpp = Ok(vec![Target {
            host: "plain.test".into(),
            port: 5269,
            direct_tls: false,
        }]);
        let got = plan("d.test", Some(xmpps), xmpp).expect("plan");
        assert_eq!(got.len(), 2);
        assert!(got[0].direct_tls && !got[1].direct_tls);
    }

    #[test]
    fn no_srv_records_fall_back_to_the_domain_on_5269() {
        let got = plan("d.test", Some(Ok(vec![])), Ok(vec![])).expect("plan");
        assert_eq!(
            got,
            [Target {
                host: "d.test".into(),
                port: 5269,
                direct_tls: false
            }]
        );
        let got = plan("d.test", None, Err(ResolveError::Lookup("x".into()))).expect("plan");
        assert_eq!(got[0].host, "d.test");
    }

    #[test]
    fn an_ip_literal_is_connected_to_directly() {
        let got = plan("127.0.0.9", None, Ok(vec![])).expect("plan");
        assert_eq!(got[0].host, "127.0.0.9");
        assert_eq!(got[0].port, 5269);
    }

    #[test]
    fn the_resolver_option_must_be_an_address() {
        assert!(matches!(
            resolver(Some("dns.test")),
            Err(ResolveError::BadResolverOption(_))
        ));
    }
}
