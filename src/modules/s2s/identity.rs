//! The CN-ID fallback of certificate identity checks (RFC 6125 via Prosody's util.x509,
//! reference §17.5), sans-IO. webpki matches dNSName SANs only; Prosody also accepts a
//! certificate whose subject has exactly one Common Name equal to the domain (with the
//! dNSName wildcard rule), but only when the certificate presents no identifier of a
//! supported type: any dNSName, SRV-ID, xmppAddr or URI SAN rules the CN out.

use x509_parser::extensions::GeneralName;

/// id-on-xmppAddr (RFC 6120 §13.7.1.4).
const OID_XMPP_ADDR: &str = "1.3.6.1.5.5.7.8.5";
/// id-on-dnsSRV (RFC 4985).
const OID_DNS_SRV: &str = "1.3.6.1.5.5.7.8.7";

/// Whether the end-entity certificate `der` names `domain` through its single subject CN,
/// the only way left when it carries no supported subjectAltName.
pub fn cn_matches(der: &[u8], domain: &str) -> bool {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return false;
    };
    match cert.subject_alternative_name() {
        Ok(Some(san)) => {
            if san.value.general_names.iter().any(is_supported) {
                return false;
            }
        }
        Ok(None) => {}
        // A SAN extension we cannot read: no fallback on a certificate we do not understand.
        Err(_) => return false,
    }
    let mut cns = cert.subject().iter_common_name();
    let (Some(cn), None) = (cns.next(), cns.next()) else {
        return false;
    };
    cn.as_str().is_ok_and(|cn| dnsname_matches(cn, domain))
}

fn is_supported(name: &GeneralName) -> bool {
    match name {
        GeneralName::DNSName(_) | GeneralName::URI(_) => true,
        GeneralName::OtherName(oid, _) => {
            let id = oid.to_id_string();
            id == OID_XMPP_ADDR || id == OID_DNS_SRV
        }
        _ => false,
    }
}

/// A presented DNS name against `domain`: equal ignoring ASCII case, or `*.rest` covering
/// exactly one left-most label.
pub fn dnsname_matches(presented: &str, domain: &str) -> bool {
    let presented = presented.trim_end_matches('.');
    let domain = domain.trim_end_matches('.');
    if presented.eq_ignore_ascii_case(domain) {
        return true;
    }
    match (presented.strip_prefix("*."), domain.split_once('.')) {
        (Some(rest), Some((label, parent))) => {
            !label.is_empty() && !rest.is_empty() && rest.eq_ignore_ascii_case(parent)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DnType, KeyPair, SanType};

    fn cert(sans: Vec<SanType>, cns: &[&str]) -> Vec<u8> {
        let key = KeyPair::generate().expect("key");
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        p.subject_alt_names = sans;
        for cn in cns {
            p.distinguished_name.push(DnType::CommonName, *cn);
        }
        p.self_signed(&key).expect("cert").der().to_vec()
    }

    #[test]
    fn a_single_common_name_names_the_domain_when_there_is_no_subject_alt_name() {
        let der = cert(vec![], &["a.test"]);
        assert!(cn_matches(&der, "a.test"));
        assert!(cn_matches(&der, "A.Test"));
        assert!(!cn_matches(&der, "b.test"));
    }

    #[test]
    fn a_wildcard_common_name_covers_one_left_most_label() {
        let der = cert(vec![], &["*.a.test"]);
        assert!(cn_matches(&der, "muc.a.test"));
        assert!(!cn_matches(&der, "x.muc.a.test"));
        assert!(!cn_matches(&der, "a.test"));
    }

    #[test]
    fn any_dns_or_uri_subject_alt_name_rules_the_common_name_out() {
        let dns = SanType::DnsName("other.test".try_into().expect("ia5"));
        assert!(!cn_matches(&cert(vec![dns], &["a.test"]), "a.test"));
        let uri = SanType::URI("xmpp:a.test".try_into().expect("ia5"));
        assert!(!cn_matches(&cert(vec![uri], &["a.test"]), "a.test"));
    }

    #[test]
    fn an_ip_address_subject_alt_name_leaves_the_fallback_in_place() {
        let ip = SanType::IpAddress("127.0.0.2".parse().expect("ip"));
        assert!(cn_matches(&cert(vec![ip], &["a.test"]), "a.test"));
    }

    #[test]
    fn several_common_names_match_nothing() {
        assert!(!cn_matches(&cert(vec![], &["a.test", "b.test"]), "a.test"));
        assert!(!cn_matches(&cert(vec![], &[]), "a.test"));
    }
}
