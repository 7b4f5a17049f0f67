//! mod_s2s options (reference §17.1), read once at startup, and the authentication policy
//! they make (`s2s_secure_auth`, `s2s_secure_domains`, `s2s_insecure_domains`,
//! `s2s_require_encryption`): sans-IO rules the connection tasks ask.

use std::collections::BTreeSet;
use std::time::Duration;

use super::certs::CertStatus;
use super::dialback::Secret;
use crate::config::Config;
use crate::xml::Element;
use crate::xmpp::error::{StreamCondition, StreamError};

/// What s2s reads from the configuration.
#[derive(Debug, Clone)]
pub struct S2sSettings {
    pub timeout: Duration,
    pub close_timeout: Duration,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub require_encryption: bool,
    pub secure_auth: bool,
    pub secure_domains: BTreeSet<String>,
    pub insecure_domains: BTreeSet<String>,
    pub allow_encryption: bool,
    pub use_ipv4: bool,
    pub use_ipv6: bool,
    pub stanza_size_limit: usize,
    /// Before the stream's first authentication (`s2s_unauthed_stanza_size_limit`).
    pub unauthed_stanza_size_limit: usize,
    /// `s2s_resolver`: Lilt's extension naming the DNS server s2s asks (`"ip[:port]"`).
    pub resolver: Option<String>,
    /// `s2s_idle_timeout` (Lilt extension, seconds; 0 = never): an outgoing route with no
    /// traffic for this long is closed.
    pub idle_timeout: Option<Duration>,
    pub secret: Secret,
}

fn secs(v: f64) -> Duration {
    Duration::from_secs_f64(v.max(0.001))
}

impl S2sSettings {
    pub fn from_config(config: &Config) -> Self {
        let g = config.global();
        let net = crate::net::serve::network_settings(config);
        let secure_auth = g.boolean("s2s_secure_auth").unwrap_or(false);
        S2sSettings {
            timeout: secs(g.number("s2s_timeout").unwrap_or(90.0)),
            close_timeout: secs(g.number("s2s_close_timeout").unwrap_or(5.0)),
            connect_timeout: net.connect_timeout,
            read_timeout: net.read_timeout,
            require_encryption: g.boolean("s2s_require_encryption").unwrap_or(true),
            secure_auth,
            secure_domains: g.set("s2s_secure_domains"),
            insecure_domains: g.set("s2s_insecure_domains"),
            allow_encryption: g.boolean("s2s_allow_encryption").unwrap_or(true),
            use_ipv4: g.boolean("use_ipv4").unwrap_or(true),
            use_ipv6: g.boolean("use_ipv6").unwrap_or(true),
            stanza_size_limit: g
                .integer("s2s_stanza_size_limit")
                .unwrap_or(512 * 1024)
                .max(0) as usize,
            unauthed_stanza_size_limit: g
                .integer("s2s_unauthed_stanza_size_limit")
                .unwrap_or(10_000)
                .max(0) as usize,
            resolver: g.string("s2s_resolver"),
            idle_timeout: g.number("s2s_idle_timeout").filter(|s| *s > 0.0).map(secs),
            secret: match g.string("dialback_secret") {
                Some(s) => Secret::new(&s),
                None => Secret::random(),
            },
        }
    }

    /// Whether `domain` must present a valid certificate (`must_secure` of Prosody's
    /// `check_auth_policy`).
    pub fn must_secure(&self, domain: &str) -> bool {
        if self.secure_auth {
            !self.insecure_domains.contains(domain)
        } else {
            self.secure_domains.contains(domain)
        }
    }

    /// Whether an unencrypted stream with `domain` is refused at authentication.
    pub fn needs_encryption(&self, domain: &str) -> bool {
        self.require_encryption
            || (self.secure_auth && !self.insecure_domains.contains(domain))
            || self.secure_domains.contains(domain)
    }

    /// `s2s-check-certificate`'s verdict: the stream error when `domain`'s certificate
    /// must be valid and is not.
    pub fn certificate_refusal(&self, domain: &str, status: CertStatus) -> Option<Element> {
        if self.must_secure(domain) && !status.is_valid() {
            let text = format!("Your server's certificate {}", status.reason());
            return Some(
                StreamError::new(StreamCondition::NotAuthorized)
                    .with_text(text)
                    .element(),
            );
        }
        None
    }

    /// `s2s-authenticated`'s policy (make_authenticated): the stream error when the stream
    /// may not carry `domain`. `outgoing_cert_ok` is whether the remote's certificate was
    /// verified, which an outgoing stream needs under `s2s_secure_auth`.
    pub fn authentication_refusal(
        &self,
        domain: &str,
        encrypted: bool,
        outgoing: Option<bool>,
    ) -> Option<Element> {
        if !encrypted && self.needs_encryption(domain) {
            let how = if outgoing.is_some() {
                "offered"
            } else {
                "used"
            };
            let text =
                format!("Encrypted server-to-server communication is required but was not {how}");
            return Some(
                StreamError::new(StreamCondition::PolicyViolation)
                    .with_text(text)
                    .element(),
            );
        }
        if outgoing == Some(false) && self.secure_auth && !self.insecure_domains.contains(domain) {
            return Some(
                StreamError::new(StreamCondition::PolicyViolation)
                    .with_text("Failed to verify certificate (internal error)")
                    .element(),
            );
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str) -> S2sSettings {
        let path = std::path::Path::new("/nonexistent/prosody.cfg.lua");
        let config = Config::load_str(path, text).expect("config parses");
        S2sSettings::from_config(&config)
    }

    fn condition(e: &Element) -> String {
        e.child_elements()
            .next()
            .expect("condition")
            .name
            .to_string()
    }

    #[test]
    fn defaults_are_prosodys() {
        let s = settings("");
        assert_eq!(s.timeout, Duration::from_secs(90));
        assert_eq!(s.close_timeout, Duration::from_secs(5));
        assert!(s.require_encryption && !s.secure_auth && s.allow_encryption);
        assert_eq!(s.stanza_size_limit, 524_288);
    }

    #[test]
    fn secure_auth_refuses_a_self_signed_certificate_with_prosodys_text() {
        let s = settings("s2s_secure_auth = true\n");
        let e = s
            .certificate_refusal("b.test", CertStatus::SelfSigned)
            .expect("refused");
        assert_eq!(condition(&e), "not-authorized");
        assert!(
            e.to_xml()
                .contains("Your server&apos;s certificate is self-signed")
                || e.to_xml()
                    .contains("Your server's certificate is self-signed")
        );
        assert!(s.certificate_refusal("b.test", CertStatus::Valid).is_none());
    }

    #[test]
    fn insecure_domains_are_exempt_and_secure_domains_are_forced() {
        let s = settings("s2s_secure_auth = true\ns2s_insecure_domains = { \"old.test\" }\n");
        assert!(s
            .certificate_refusal("old.test", CertStatus::SelfSigned)
            .is_none());
        let s = settings("s2s_secure_domains = { \"bank.test\" }\n");
        assert!(s
            .certificate_refusal("bank.test", CertStatus::Untrusted)
            .is_some());
        assert!(s
            .certificate_refusal("other.test", CertStatus::Untrusted)
            .is_none());
    }

    #[test]
    fn unencrypted_streams_are_refused_when_encryption_is_required() {
        let s = settings("");
        let e = s
            .authentication_refusal("b.test", false, Some(true))
            .expect("refused");
        assert_eq!(condition(&e), "policy-violation");
        assert!(e.to_xml().contains("required but was not offered"));
        let s = settings("s2s_require_encryption = false\n");
        assert!(s.authentication_refusal("b.test", false, None).is_none());
    }

    #[test]
    fn outgoing_dialback_without_a_verified_certificate_fails_under_secure_auth() {
        let s = settings("s2s_secure_auth = true\n");
        let e = s
            .authentication_refusal("b.test", true, Some(false))
            .expect("refused");
        assert!(e.to_xml().contains("Failed to verify certificate"));
        assert!(s
            .authentication_refusal("b.test", true, Some(true))
            .is_none());
    }
}
