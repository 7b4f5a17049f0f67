//! `trusted_proxies` (reference §6.6): which direct peers may tell us the client's address
//! and scheme through `X-Forwarded-For` / `X-Forwarded-Proto`.

use std::net::IpAddr;

/// A set of trusted proxy addresses and CIDR ranges. Default: `127.0.0.1` and `::1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<(IpAddr, u8)>,
}

impl Default for TrustedProxies {
    fn default() -> Self {
        TrustedProxies::parse(["127.0.0.1", "::1"]).0
    }
}

impl TrustedProxies {
    /// Parses entries like `"10.0.0.1"`, `"10.0.0.0/8"`, `"fd00::/8"`. Returns the set and the
    /// entries that could not be parsed (for the operator's log).
    pub fn parse<I, S>(entries: I) -> (Self, Vec<String>)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut nets = Vec::new();
        let mut invalid = Vec::new();
        for entry in entries {
            let entry = entry.as_ref().trim();
            match parse_net(entry) {
                Some(net) => nets.push(net),
                None => invalid.push(entry.to_owned()),
            }
        }
        (TrustedProxies { nets }, invalid)
    }

    /// Whether `ip` lies in one of the trusted ranges.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|&(net, bits)| in_net(ip, net, bits))
    }

    /// The client address and `secure` flag of a request from `peer`: only a trusted peer's
    /// `X-Forwarded-For` (right-most untrusted entry wins) and `X-Forwarded-Proto: https`
    /// (exact) are believed.
    pub fn resolve(
        &self,
        peer: IpAddr,
        secure: bool,
        forwarded_for: Option<&str>,
        forwarded_proto: Option<&str>,
    ) -> (IpAddr, bool) {
        if !self.contains(peer) {
            return (peer, secure);
        }
        let mut ip = peer;
        if let Some(list) = forwarded_for {
            // Scan from the right: the last hop we do not trust is the client as far as we
            // can tell; entries left of it could be forged by that client.
            let entries = list.split(',').map(str::trim).filter(|e| !e.is_empty());
            if let Some(found) = entries
                .rev()
                .filter_map(|e| e.parse::<IpAddr>().ok())
                .find(|&e| !self.contains(e))
            {
                ip = found;
            }
        }
        (ip, secure || forwarded_proto == Some("https"))
    }
}

fn parse_net(entry: &str) -> Option<(IpAddr, u8)> {
    let (addr, bits) = match entry.split_once('/') {
        Some((a, b)) => (a, Some(b.parse::<u8>().ok()?)),
        None => (entry, None),
    };
    let ip = addr.parse::<IpAddr>().ok()?.to_canonical();
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    (bits <= max).then_some((ip, bits))
}

fn in_net(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn default_trusts_loopback_only() {
        let t = TrustedProxies::default();
        assert!(t.contains(ip("127.0.0.1")));
        assert!(t.contains(ip("::1")));
        assert!(t.contains(ip("::ffff:127.0.0.1")));
        assert!(!t.contains(ip("127.0.0.2")));
        assert!(!t.contains(ip("10.0.0.1")));
    }

    #[test]
    fn cidr_entries_match_their_ranges() {
        let (t, bad) = TrustedProxies::parse([
            "10.0.0.0/8",
            "fd00::/8",
            "192.168.1.0/24",
            "nope",
            "1.2.3.4/33",
        ]);
        assert_eq!(bad, vec!["nope".to_owned(), "1.2.3.4/33".to_owned()]);
        assert!(t.contains(ip("10.255.1.2")));
        assert!(!t.contains(ip("11.0.0.1")));
        assert!(t.contains(ip("fd12::1")));
        assert!(!t.contains(ip("fe00::1")));
        assert!(t.contains(ip("192.168.1.77")));
        assert!(!t.contains(ip("192.168.2.1")));
        let (all, _) = TrustedProxies::parse(["0.0.0.0/0"]);
        assert!(all.contains(ip("8.8.8.8")));
    }

    #[test]
    fn trusted_peer_yields_rightmost_untrusted_forwarded_address() {
        let (t, _) = TrustedProxies::parse(["127.0.0.1", "10.0.0.0/8"]);
        let got = t.resolve(
            ip("127.0.0.1"),
            false,
            Some("6.6.6.6, 1.2.3.4, 10.1.1.1"),
            None,
        );
        assert_eq!(got, (ip("1.2.3.4"), false));
    }

    #[test]
    fn all_trusted_forwarded_chain_keeps_the_peer() {
        let t = TrustedProxies::default();
        assert_eq!(
            t.resolve(ip("127.0.0.1"), false, Some("::1, 127.0.0.1"), None),
            (ip("127.0.0.1"), false)
        );
    }

    #[test]
    fn untrusted_peer_forwarded_headers_are_ignored() {
        let t = TrustedProxies::default();
        assert_eq!(
            t.resolve(ip("8.8.8.8"), false, Some("1.2.3.4"), Some("https")),
            (ip("8.8.8.8"), false)
        );
    }

    #[test]
    fn forwarded_proto_https_from_trusted_peer_is_secure_exactly() {
        let t = TrustedProxies::default();
        assert!(t.resolve(ip("::1"), false, None, Some("https")).1);
        assert!(!t.resolve(ip("::1"), false, None, Some("HTTPS")).1);
        assert!(t.resolve(ip("::1"), true, None, Some("http")).1);
    }
}
