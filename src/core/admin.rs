//! Account administration for the CLI (`lilt adduser`, `passwd`, `deluser`, `register`),
//! working on the configured storage the way `prosodyctl` does.

use std::sync::Arc;

use crate::config::Config;
use crate::modules::auth_internal_hashed::Accounts;
use crate::storage::Storage;
use crate::xmpp::jid::{nameprep, nodeprep, Jid};

/// What went wrong, phrased for the operator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    #[error("invalid JID '{0}': expected user@host")]
    BadJid(String),
    #[error("the host '{0}' is not a VirtualHost in the config")]
    UnknownHost(String),
    #[error("the user '{0}' already exists")]
    Exists(String),
    #[error("the user '{0}' does not exist")]
    NoSuchUser(String),
    #[error("storage error: {0}")]
    Storage(String),
}

fn accounts(config: &Config) -> Accounts {
    let store = Arc::new(
        Storage::from_config(config)
            .unwrap_or_else(|_| Storage::internal(crate::core::server::data_path(config))),
    );
    Accounts::new(store, crate::core::server::password_hash(config))
}

/// Splits and preps `user@host`, checking the host is served.
pub fn split_jid(config: &Config, jid: &str) -> Result<(String, String), AdminError> {
    let j = Jid::parse(jid).map_err(|_| AdminError::BadJid(jid.into()))?;
    let user = j
        .node()
        .ok_or_else(|| AdminError::BadJid(jid.into()))?
        .to_owned();
    let host = j.domain().to_owned();
    check_host(config, &host)?;
    Ok((user, host))
}

fn check_host(config: &Config, host: &str) -> Result<(), AdminError> {
    if config.virtual_hosts().contains(&host) {
        Ok(())
    } else {
        Err(AdminError::UnknownHost(host.into()))
    }
}

fn storage<E: std::fmt::Display>(e: E) -> AdminError {
    AdminError::Storage(e.to_string())
}

/// Creates an account; fails if it exists.
pub fn adduser(config: &Config, user: &str, host: &str, password: &str) -> Result<(), AdminError> {
    let user = nodeprep(user).map_err(|_| AdminError::BadJid(format!("{user}@{host}")))?;
    let host = nameprep(host).map_err(|_| AdminError::BadJid(format!("{user}@{host}")))?;
    check_host(config, &host)?;
    let a = accounts(config);
    if a.exists(&host, &user).map_err(storage)? {
        return Err(AdminError::Exists(format!("{user}@{host}")));
    }
    a.create(&host, &user, password).map_err(storage)
}

/// Sets the password of an existing account.
pub fn passwd(config: &Config, user: &str, host: &str, password: &str) -> Result<(), AdminError> {
    let a = accounts(config);
    if !a.exists(host, user).map_err(storage)? {
        return Err(AdminError::NoSuchUser(format!("{user}@{host}")));
    }
    a.set_password(host, user, password).map_err(storage)
}

/// Deletes an account.
pub fn deluser(config: &Config, user: &str, host: &str) -> Result<(), AdminError> {
    let a = accounts(config);
    if !a.exists(host, user).map_err(storage)? {
        return Err(AdminError::NoSuchUser(format!("{user}@{host}")));
    }
    a.delete(host, user).map_err(storage)
}
