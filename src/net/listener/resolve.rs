//! Interface and port resolution for a network service, following Prosody's portmanager
//! (§8.2): `<svc>_interfaces` -> `<svc>_interface` -> (private services) `local_interfaces`
//! or loopback -> `interfaces` -> `interface` -> every address (`*`, `::`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// A service as portmanager knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceSpec<'a> {
    /// Service name, e.g. `c2s`, `http`, `https`.
    pub name: &'a str,
    /// Ports used when `<svc>_ports` is not set.
    pub default_ports: &'a [u16],
    /// Private services (http, component, console) default to loopback interfaces.
    pub private: bool,
}

impl ServiceSpec<'_> {
    /// `c2s` on 5222, public.
    pub const C2S: ServiceSpec<'static> = ServiceSpec {
        name: "c2s",
        default_ports: &[5222],
        private: false,
    };
    /// `c2s_direct_tls`, no default port.
    pub const C2S_DIRECT_TLS: ServiceSpec<'static> = ServiceSpec {
        name: "c2s_direct_tls",
        default_ports: &[],
        private: false,
    };
    /// `http` on 5280, private (loopback unless configured).
    pub const HTTP: ServiceSpec<'static> = ServiceSpec {
        name: "http",
        default_ports: &[5280],
        private: true,
    };
    /// `https` on 5281, public, direct TLS.
    pub const HTTPS: ServiceSpec<'static> = ServiceSpec {
        name: "https",
        default_ports: &[5281],
        private: false,
    };
}

/// The global options that decide where a service listens, already read from the config.
/// `None` means "option not set"; `Some(vec![])` is an explicit empty list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceOptions {
    /// `<svc>_ports` (a number becomes a one-element list); `Some(vec![])` disables.
    pub ports: Option<Vec<u16>>,
    /// `<svc>_interfaces`.
    pub service_interfaces: Option<Vec<String>>,
    /// `<svc>_interface`.
    pub service_interface: Option<String>,
    /// `local_interfaces`.
    pub local_interfaces: Option<Vec<String>>,
    /// `interfaces`.
    pub interfaces: Option<Vec<String>>,
    /// `interface`.
    pub interface: Option<String>,
    /// `use_ipv4` (default true).
    pub use_ipv4: bool,
    /// `use_ipv6` (default true).
    pub use_ipv6: bool,
}

impl Default for InterfaceOptions {
    fn default() -> Self {
        InterfaceOptions {
            ports: None,
            service_interfaces: None,
            service_interface: None,
            local_interfaces: None,
            interfaces: None,
            interface: None,
            use_ipv4: true,
            use_ipv6: true,
        }
    }
}

/// An interface option that is not an IP address; the operator's config is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    #[error("{service}: interface '{value}' is not an IP address (use '*' for all IPv4, '::' for all IPv6)")]
    BadInterface { service: String, value: String },
}

/// Parses one interface string: `*` is every IPv4 address, anything else an IP literal
/// (IPv6 may be bracketed).
fn parse_interface(service: &str, value: &str) -> Result<IpAddr, ResolveError> {
    let trimmed = value.trim();
    if trimmed == "*" {
        return Ok(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    }
    let unbracketed = trimmed
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(trimmed);
    unbracketed.parse().map_err(|_| ResolveError::BadInterface {
        service: service.to_owned(),
        value: value.to_owned(),
    })
}

/// Default address lists honour `use_ipv4`/`use_ipv6`; explicitly listed interfaces are
/// taken as written, as Prosody does.
fn defaults(v4: IpAddr, v6: IpAddr, opts: &InterfaceOptions) -> Vec<IpAddr> {
    let mut out = Vec::new();
    if opts.use_ipv4 {
        out.push(v4);
    }
    if opts.use_ipv6 {
        out.push(v6);
    }
    out
}

/// Returns every address `service` should listen on, interfaces in configured order and
/// ports in configured order within each interface, without duplicates. An empty result
/// means the service is disabled (e.g. `https_ports = {}` or no default port).
pub fn resolve_addresses(
    service: &ServiceSpec<'_>,
    opts: &InterfaceOptions,
) -> Result<Vec<SocketAddr>, ResolveError> {
    let ports: &[u16] = opts.ports.as_deref().unwrap_or(service.default_ports);
    let strings: Option<Vec<String>> = opts
        .service_interfaces
        .clone()
        .or_else(|| opts.service_interface.clone().map(|i| vec![i]))
        .or_else(|| {
            if service.private {
                opts.local_interfaces.clone()
            } else {
                None
            }
        });
    let ips: Vec<IpAddr> = match strings {
        Some(list) => list
            .iter()
            .map(|s| parse_interface(service.name, s))
            .collect::<Result<_, _>>()?,
        None if service.private => {
            defaults(Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into(), opts)
        }
        None => match opts
            .interfaces
            .clone()
            .or_else(|| opts.interface.clone().map(|i| vec![i]))
        {
            Some(list) => list
                .iter()
                .map(|s| parse_interface(service.name, s))
                .collect::<Result<_, _>>()?,
            None => defaults(
                Ipv4Addr::UNSPECIFIED.into(),
                Ipv6Addr::UNSPECIFIED.into(),
                opts,
            ),
        },
    };
    let mut out: Vec<SocketAddr> = Vec::new();
    for ip in ips {
        for &port in ports {
            let addr = SocketAddr::new(ip, port);
            if !out.contains(&addr) {
                out.push(addr);
            }
        }
    }
    Ok(out)
}

/// Two listen addresses collide when they share a port and either is the same address or
/// one is the wildcard of the other's family (the kernel refuses the second bind).
fn overlaps(a: &SocketAddr, b: &SocketAddr) -> bool {
    a.port() == b.port()
        && (a.ip() == b.ip()
            || (a.is_ipv4() == b.is_ipv4() && (a.ip().is_unspecified() || b.ip().is_unspecified())))
}

/// Addresses claimed by more than one service, one message per clash, in input order.
/// Prosody logs these as errors; the second service then fails to bind.
pub fn duplicate_bindings(services: &[(&str, Vec<SocketAddr>)]) -> Vec<String> {
    let mut seen: Vec<(SocketAddr, &str)> = Vec::new();
    let mut clashes = Vec::new();
    for (service, addrs) in services {
        for addr in addrs {
            match seen.iter().find(|(a, _)| overlaps(a, addr)) {
                Some((_, first)) => clashes.push(format!(
                    "services {first} and {service} are both configured to listen on {addr}"
                )),
                None => seen.push((*addr, service)),
            }
        }
    }
    clashes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Option<Vec<String>> {
        Some(list.iter().map(|s| s.to_string()).collect())
    }

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn public_service_defaults_to_all_ipv4_and_ipv6() {
        let got = resolve_addresses(&ServiceSpec::C2S, &InterfaceOptions::default()).unwrap();
        assert_eq!(got, addrs(&["0.0.0.0:5222", "[::]:5222"]));
    }

    #[test]
    fn private_http_defaults_to_loopback() {
        let got = resolve_addresses(&ServiceSpec::HTTP, &InterfaceOptions::default()).unwrap();
        assert_eq!(got, addrs(&["127.0.0.1:5280", "[::1]:5280"]));
    }

    #[test]
    fn private_service_ignores_global_interfaces_but_uses_local_interfaces() {
        let opts = InterfaceOptions {
            interfaces: strings(&["192.0.2.1"]),
            ..Default::default()
        };
        let got = resolve_addresses(&ServiceSpec::HTTP, &opts).unwrap();
        assert_eq!(got, addrs(&["127.0.0.1:5280", "[::1]:5280"]));
        let opts = InterfaceOptions {
            local_interfaces: strings(&["10.0.0.1"]),
            ..opts
        };
        let got = resolve_addresses(&ServiceSpec::HTTP, &opts).unwrap();
        assert_eq!(got, addrs(&["10.0.0.1:5280"]));
    }

    #[test]
    fn service_interfaces_beat_service_interface_beat_interfaces_beat_interface() {
        let mut opts = InterfaceOptions {
            service_interfaces: strings(&["192.0.2.1"]),
            service_interface: Some("192.0.2.2".into()),
            interfaces: strings(&["192.0.2.3"]),
            interface: Some("192.0.2.4".into()),
            ..Default::default()
        };
        let https = |o: &InterfaceOptions| resolve_addresses(&ServiceSpec::HTTPS, o).unwrap();
        assert_eq!(https(&opts), addrs(&["192.0.2.1:5281"]));
        opts.service_interfaces = None;
        assert_eq!(https(&opts), addrs(&["192.0.2.2:5281"]));
        opts.service_interface = None;
        assert_eq!(https(&opts), addrs(&["192.0.2.3:5281"]));
        opts.interfaces = None;
        assert_eq!(https(&opts), addrs(&["192.0.2.4:5281"]));
    }

    #[test]
    fn http_interfaces_overrides_private_default() {
        let opts = InterfaceOptions {
            service_interfaces: strings(&["*", "::"]),
            ..Default::default()
        };
        let got = resolve_addresses(&ServiceSpec::HTTP, &opts).unwrap();
        assert_eq!(got, addrs(&["0.0.0.0:5280", "[::]:5280"]));
    }

    #[test]
    fn use_ipv6_false_drops_the_ipv6_defaults() {
        let opts = InterfaceOptions {
            use_ipv6: false,
            ..Default::default()
        };
        assert_eq!(
            resolve_addresses(&ServiceSpec::C2S, &opts).unwrap(),
            addrs(&["0.0.0.0:5222"])
        );
        assert_eq!(
            resolve_addresses(&ServiceSpec::HTTP, &opts).unwrap(),
            addrs(&["127.0.0.1:5280"])
        );
        let opts = InterfaceOptions {
            use_ipv4: false,
            ..Default::default()
        };
        assert_eq!(
            resolve_addresses(&ServiceSpec::C2S, &opts).unwrap(),
            addrs(&["[::]:5222"])
        );
    }

    #[test]
    fn port_lists_multiply_with_interfaces_and_empty_list_disables() {
        let opts = InterfaceOptions {
            ports: Some(vec![5281, 443, 5281]),
            service_interfaces: strings(&["127.0.0.1", "[::1]"]),
            ..Default::default()
        };
        let got = resolve_addresses(&ServiceSpec::HTTPS, &opts).unwrap();
        assert_eq!(
            got,
            addrs(&["127.0.0.1:5281", "127.0.0.1:443", "[::1]:5281", "[::1]:443"])
        );
        let off = InterfaceOptions {
            ports: Some(vec![]),
            ..Default::default()
        };
        assert!(resolve_addresses(&ServiceSpec::HTTPS, &off)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn service_without_default_port_is_off_until_ports_are_set() {
        let opts = InterfaceOptions::default();
        assert!(resolve_addresses(&ServiceSpec::C2S_DIRECT_TLS, &opts)
            .unwrap()
            .is_empty());
        let opts = InterfaceOptions {
            ports: Some(vec![5223]),
            ..opts
        };
        assert_eq!(
            resolve_addresses(&ServiceSpec::C2S_DIRECT_TLS, &opts)
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn non_ip_interface_is_an_error_naming_service_and_value() {
        let opts = InterfaceOptions {
            interfaces: strings(&["localhost"]),
            ..Default::default()
        };
        let err = resolve_addresses(&ServiceSpec::C2S, &opts).unwrap_err();
        assert_eq!(
            err.to_string(),
            "c2s: interface 'localhost' is not an IP address (use '*' for all IPv4, '::' for all IPv6)"
        );
    }
}

#[cfg(test)]
mod duplicate_tests {
    use super::*;

    #[test]
    fn same_address_in_two_services_is_reported_once_per_clash() {
        let http = resolve_addresses(&ServiceSpec::HTTP, &InterfaceOptions::default()).unwrap();
        let https = resolve_addresses(
            &ServiceSpec::HTTPS,
            &InterfaceOptions {
                ports: Some(vec![5280]),
                ..Default::default()
            },
        )
        .unwrap();
        // https on 5280 everywhere collides with http on loopback 5280, in both families.
        assert_eq!(
            duplicate_bindings(&[("http", http.clone()), ("https", https)]),
            [
                "services http and https are both configured to listen on 0.0.0.0:5280",
                "services http and https are both configured to listen on [::]:5280",
            ]
        );
        let elsewhere = vec![
            "192.0.2.1:5280".parse().unwrap(),
            "127.0.0.1:5281".parse().unwrap(),
        ];
        assert!(duplicate_bindings(&[("http", http.clone()), ("c2s", elsewhere)]).is_empty());
        let clash = vec!["127.0.0.1:5280".parse().unwrap()];
        assert_eq!(
            duplicate_bindings(&[("http", http), ("c2s", clash)]),
            ["services http and c2s are both configured to listen on 127.0.0.1:5280"]
        );
    }
}
