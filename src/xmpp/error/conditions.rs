//! The defined conditions of stanza errors (RFC 6120 §8.3.3) and stream errors (§4.9.3),
//! each with the element name it is sent as, and the stanza error types (§8.3.2).

use std::fmt;

/// Declares a condition enum whose variants map one-to-one onto element names.
macro_rules! named {
    ($(#[$m:meta])* $vis:vis enum $name:ident {
        $($(#[$vm:meta])* $var:ident => $s:literal,)*
    }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        $vis enum $name { $($(#[$vm])* $var,)* }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$var),*];

            /// The element name (or attribute value) this is sent as.
            pub const fn name(self) -> &'static str {
                match self { $(Self::$var => $s),* }
            }

            /// The variant sent as `name`; None for a name we do not define.
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($s => Some(Self::$var),)* _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

named! {
    /// The `type` of a stanza error: what the sender should do about it.
    pub enum ErrorType {
        /// Retry after providing credentials.
        Auth => "auth",
        /// Do not retry: the error cannot be remedied.
        Cancel => "cancel",
        /// Proceed: the condition was only a warning.
        Continue => "continue",
        /// Retry after changing the data sent.
        Modify => "modify",
        /// Retry after waiting: the error is temporary.
        Wait => "wait",
    }
}

named! {
    /// A stanza error condition (`urn:ietf:params:xml:ns:xmpp-stanzas`).
    pub enum StanzaCondition {
        BadRequest => "bad-request",
        Conflict => "conflict",
        FeatureNotImplemented => "feature-not-implemented",
        Forbidden => "forbidden",
        /// May carry the entity's new address as element text.
        Gone => "gone",
        InternalServerError => "internal-server-error",
        ItemNotFound => "item-not-found",
        JidMalformed => "jid-malformed",
        NotAcceptable => "not-acceptable",
        NotAllowed => "not-allowed",
        NotAuthorized => "not-authorized",
        PolicyViolation => "policy-violation",
        RecipientUnavailable => "recipient-unavailable",
        /// May carry the alternative address as element text.
        Redirect => "redirect",
        RegistrationRequired => "registration-required",
        RemoteServerNotFound => "remote-server-not-found",
        RemoteServerTimeout => "remote-server-timeout",
        ResourceConstraint => "resource-constraint",
        ServiceUnavailable => "service-unavailable",
        SubscriptionRequired => "subscription-required",
        UndefinedCondition => "undefined-condition",
        UnexpectedRequest => "unexpected-request",
        /// Not an RFC 6120 stanza condition: Prosody's mod_private answers a query with
        /// other than one child with it, and we answer as Prosody does.
        BadFormat => "bad-format",
    }
}

named! {
    /// A stream error condition (`urn:ietf:params:xml:ns:xmpp-streams`).
    pub enum StreamCondition {
        BadFormat => "bad-format",
        BadNamespacePrefix => "bad-namespace-prefix",
        Conflict => "conflict",
        ConnectionTimeout => "connection-timeout",
        HostGone => "host-gone",
        HostUnknown => "host-unknown",
        ImproperAddressing => "improper-addressing",
        InternalServerError => "internal-server-error",
        InvalidFrom => "invalid-from",
        /// RFC 3920's condition, still sent by dialback (XEP-0220) for an unknown stream id.
        InvalidId => "invalid-id",
        InvalidNamespace => "invalid-namespace",
        InvalidXml => "invalid-xml",
        NotAuthorized => "not-authorized",
        NotWellFormed => "not-well-formed",
        PolicyViolation => "policy-violation",
        RemoteConnectionFailed => "remote-connection-failed",
        Reset => "reset",
        ResourceConstraint => "resource-constraint",
        RestrictedXml => "restricted-xml",
        /// Carries the host to reconnect to as element text.
        SeeOtherHost => "see-other-host",
        SystemShutdown => "system-shutdown",
        UndefinedCondition => "undefined-condition",
        UnsupportedEncoding => "unsupported-encoding",
        UnsupportedFeature => "unsupported-feature",
        UnsupportedStanzaType => "unsupported-stanza-type",
        UnsupportedVersion => "unsupported-version",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_to_its_variant() {
        for &c in StanzaCondition::ALL {
            assert_eq!(StanzaCondition::from_name(c.name()), Some(c));
        }
        for &c in StreamCondition::ALL {
            assert_eq!(StreamCondition::from_name(c.name()), Some(c));
        }
        for &t in ErrorType::ALL {
            assert_eq!(ErrorType::from_name(t.name()), Some(t));
        }
    }

    #[test]
    fn the_rfc_6120_lists_are_complete() {
        // §8.3.3 defines 22 stanza conditions (plus Prosody's bad-format), §4.9.3 defines
        // 25 stream conditions (plus RFC 3920's invalid-id).
        assert_eq!(StanzaCondition::ALL.len(), 23);
        assert_eq!(StreamCondition::ALL.len(), 26);
        assert_eq!(ErrorType::ALL.len(), 5);
    }

    #[test]
    fn unknown_names_are_none() {
        assert_eq!(StanzaCondition::from_name("not-a-condition"), None);
        assert_eq!(StreamCondition::from_name("Bad-Format"), None);
        assert_eq!(ErrorType::from_name("fatal"), None);
    }

    #[test]
    fn display_is_the_element_name() {
        assert_eq!(
            StanzaCondition::ServiceUnavailable.to_string(),
            "service-unavailable"
        );
        assert_eq!(StreamCondition::SeeOtherHost.to_string(), "see-other-host");
        assert_eq!(ErrorType::Modify.to_string(), "modify");
    }
}
