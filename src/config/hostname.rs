//! Host-name preparation for `VirtualHost`/`Component` names: IDNA nameprep (which
//! lower-cases), then the characters no JID domain may hold.

/// Why a section name was refused: the operator's config. Its text is ready for a
/// `file:line:` prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HostNameError {
    #[error("Name of {kind} {name:?} contains forbidden characters")]
    Forbidden { kind: String, name: String },
    #[error("{kind} must have a name")]
    Empty { kind: String },
    #[error("Name of {kind} {name:?} is longer than 1023 bytes")]
    TooLong { kind: String, name: String },
}

/// Prepares a section name the way Prosody does (`VirtualHost "Example.COM"` defines
/// `example.com`).
///
/// Beyond nameprep, Lilt also refuses whitespace, control characters and `@ / " & ' < >`,
/// which Prosody accepts in config but which no client could ever address.
pub fn prep_host_name(kind: &str, name: &str) -> Result<String, HostNameError> {
    let forbidden = || HostNameError::Forbidden {
        kind: kind.to_owned(),
        name: name.to_owned(),
    };
    let prepped = stringprep::nameprep(name).map_err(|_| forbidden())?;
    let prepped = prepped.into_owned();
    if prepped.is_empty() {
        return Err(HostNameError::Empty {
            kind: kind.to_owned(),
        });
    }
    if prepped.len() > 1023 {
        return Err(HostNameError::TooLong {
            kind: kind.to_owned(),
            name: name.to_owned(),
        });
    }
    let bad = |c: char| {
        c.is_whitespace() || c.is_control() || matches!(c, '@' | '/' | '"' | '&' | '\'' | '<' | '>')
    };
    if prepped.chars().any(bad) {
        return Err(forbidden());
    }
    Ok(prepped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_lower_cased_by_nameprep() {
        assert_eq!(
            prep_host_name("Host", "Example.COM").as_deref(),
            Ok("example.com")
        );
    }

    #[test]
    fn host_names_with_at_sign_or_space_are_forbidden() {
        assert_eq!(
            prep_host_name("Host", "a@b").unwrap_err().to_string(),
            "Name of Host \"a@b\" contains forbidden characters"
        );
        assert!(prep_host_name("Host", "a b").is_err());
        assert!(prep_host_name("Host", "").is_err());
    }
}
