//! Host-name preparation for `VirtualHost`/`Component` names: IDNA nameprep (which
//! lower-cases), then the characters no JID domain may hold.

/// Prepares a section name the way Prosody does (`VirtualHost "Example.COM"` defines
/// `example.com`). Err holds the reason, ready for a `file:line:` prefix.
///
/// Beyond nameprep, Lilt also refuses whitespace, control characters and `@ / " & ' < >`,
/// which Prosody accepts in config but which no client could ever address.
pub fn prep_host_name(kind: &str, name: &str) -> Result<String, String> {
    let forbidden = || format!("Name of {kind} {name:?} contains forbidden characters");
    let prepped = stringprep::nameprep(name).map_err(|_| forbidden())?;
    let prepped = prepped.into_owned();
    if prepped.is_empty() {
        return Err(format!("{kind} must have a name"));
    }
    if prepped.len() > 1023 {
        return Err(format!("Name of {kind} {name:?} is longer than 1023 bytes"));
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
        assert_eq!(prep_host_name("Host", "Example.COM").as_deref(), Ok("example.com"));
    }

    #[test]
    fn host_names_with_at_sign_or_space_are_forbidden() {
        assert!(prep_host_name("Host", "a@b").unwrap_err().contains("forbidden characters"));
        assert!(prep_host_name("Host", "a b").is_err());
        assert!(prep_host_name("Host", "").is_err());
    }
}
