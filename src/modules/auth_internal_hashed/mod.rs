//! mod_auth_internal_hashed: accounts stored as SCRAM records in the `accounts` store, in
//! exactly the shape Prosody writes, so data directories move between Prosody and Lilt.
//!
//! ```no_run
//! use std::sync::Arc;
//! use lilt::modules::auth_internal_hashed::Accounts;
//! use lilt::storage::Storage;
//! use lilt::xmpp::sasl::ScramHash;
//! let accounts = Accounts::new(Arc::new(Storage::internal("/var/lib/prosody".into())), ScramHash::Sha1);
//! accounts.create("example.com", "alice", "secret").unwrap();
//! assert!(accounts.test_password("example.com", "alice", "secret").unwrap());
//! ```

mod record;

use std::sync::Arc;

use crate::storage::{LuaValue, Storage, StorageError};
use crate::xmpp::jid;
use crate::xmpp::sasl::{derive_credentials, ScramCredentials, ScramHash};

use record::{constant_time_eq, AccountRecord};

/// The store accounts live in.
pub const STORE: &str = "accounts";
/// Prosody's `default_iteration_count`.
pub const DEFAULT_ITERATION_COUNT: u32 = 10000;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// The username fails nodeprep (the requester's fault).
    #[error("invalid username")]
    InvalidUsername,
    /// The password fails SASLprep (the requester's fault).
    #[error("password is not allowed by SASLprep")]
    InvalidPassword,
    #[error("account already exists")]
    Exists,
    #[error("no such account")]
    NotFound,
    /// The account file parsed but does not hold a usable record (the file's fault).
    #[error("account record for {user}@{host} is unusable: {reason}")]
    BadRecord {
        host: String,
        user: String,
        reason: &'static str,
    },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Account operations of the `internal_hashed` provider. Cheap to share: `Send + Sync`.
#[derive(Debug, Clone)]
pub struct Accounts {
    store: Arc<Storage>,
    hash: ScramHash,
    iteration_count: u32,
}

impl Accounts {
    /// `hash` is the `password_hash` option (SHA-1 unless configured otherwise).
    pub fn new(store: Arc<Storage>, hash: ScramHash) -> Accounts {
        Accounts {
            store,
            hash,
            iteration_count: DEFAULT_ITERATION_COUNT,
        }
    }

    /// The `default_iteration_count` option.
    pub fn with_iteration_count(mut self, iteration_count: u32) -> Accounts {
        self.iteration_count = iteration_count.max(1);
        self
    }

    pub fn hash(&self) -> ScramHash {
        self.hash
    }

    pub fn exists(&self, host: &str, user: &str) -> Result<bool, AccountError> {
        let Ok(user) = jid::nodeprep(user) else {
            return Ok(false);
        };
        Ok(self.load(host, &user)?.is_some())
    }

    /// Creates an account with a fresh salt; fails with `Exists` if it already exists.
    /// Atomic at the store (create-if-absent): of concurrent creations of one name,
    /// exactly one succeeds.
    pub fn create(&self, host: &str, user: &str, password: &str) -> Result<(), AccountError> {
        let user = jid::nodeprep(user).map_err(|_| AccountError::InvalidUsername)?;
        let salt = uuid::Uuid::new_v4().to_string();
        let record = AccountRecord::hashed(self.hashed(password, &salt, self.iteration_count)?);
        if self.store.add(host, &user, STORE, &record.to_value())? {
            Ok(())
        } else {
            Err(AccountError::Exists)
        }
    }

    /// Re-hashes with the account's own salt (a new one if it has none) and at least the
    /// default iteration count; drops a legacy plaintext `password`, keeps other fields.
    pub fn set_password(&self, host: &str, user: &str, password: &str) -> Result<(), AccountError> {
        let user = jid::nodeprep(user).map_err(|_| AccountError::InvalidUsername)?;
        let record = self.load(host, &user)?.ok_or(AccountError::NotFound)?;
        self.rehash(host, &user, record, password)
    }

    /// Removes the account file; deleting a missing account is not an error.
    pub fn delete(&self, host: &str, user: &str) -> Result<(), AccountError> {
        let user = jid::nodeprep(user).map_err(|_| AccountError::InvalidUsername)?;
        self.store.set(host, Some(&user), STORE, None)?;
        Ok(())
    }

    /// Checks a password (SASLprep'd first). A legacy plaintext record that matches is
    /// converted to the hashed form on the spot.
    pub fn test_password(
        &self,
        host: &str,
        user: &str,
        password: &str,
    ) -> Result<bool, AccountError> {
        let Ok(user) = jid::nodeprep(user) else {
            return Ok(false);
        };
        let Ok(password) = stringprep::saslprep(password) else {
            return Ok(false);
        };
        let Some(record) = self.load(host, &user)? else {
            return Ok(false);
        };
        if let Some(stored) = record.plaintext() {
            let stored = stringprep::saslprep(stored).unwrap_or(stored.into());
            if !constant_time_eq(stored.as_bytes(), password.as_bytes()) {
                return Ok(false);
            }
            self.rehash(host, &user, record, &password)?;
            return Ok(true);
        }
        let stored = record
            .scram_parts()
            .map_err(|reason| bad_record(host, &user, reason))?;
        let derived =
            derive_credentials(&password, &stored.salt, stored.iteration_count, self.hash);
        Ok(constant_time_eq(&derived.stored_key, &stored.stored_key)
            & constant_time_eq(&derived.server_key, &stored.server_key))
    }

    /// What a SCRAM exchange with `hash` needs, or `None` for an unknown user or a record
    /// made for another hash. A legacy plaintext record is migrated first.
    pub fn scram_credentials(
        &self,
        host: &str,
        user: &str,
        hash: ScramHash,
    ) -> Result<Option<ScramCredentials>, AccountError> {
        let Ok(user) = jid::nodeprep(user) else {
            return Ok(None);
        };
        let Some(mut record) = self.load(host, &user)? else {
            return Ok(None);
        };
        if let Some(password) = record.plaintext().map(str::to_owned) {
            if hash != self.hash {
                // Plaintext can serve any hash without touching the stored record.
                let salt = uuid::Uuid::new_v4().to_string();
                return Ok(Some(derive_credentials(
                    &password,
                    &salt,
                    self.iteration_count,
                    hash,
                )));
            }
            self.rehash(host, &user, record, &password)?;
            record = self.load(host, &user)?.ok_or(AccountError::NotFound)?;
        }
        if hash != self.hash {
            return Ok(None);
        }
        record
            .scram_parts()
            .map(Some)
            .map_err(|reason| bad_record(host, &user, reason))
    }

    fn hashed(
        &self,
        password: &str,
        salt: &str,
        iterations: u32,
    ) -> Result<ScramCredentials, AccountError> {
        let password = stringprep::saslprep(password).map_err(|_| AccountError::InvalidPassword)?;
        Ok(derive_credentials(&password, salt, iterations, self.hash))
    }

    fn rehash(
        &self,
        host: &str,
        user: &str,
        mut record: AccountRecord,
        password: &str,
    ) -> Result<(), AccountError> {
        let salt = record
            .salt()
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let iterations = record
            .iteration_count()
            .unwrap_or(0)
            .max(self.iteration_count);
        record.set_hashed(self.hashed(password, &salt, iterations)?);
        self.save(host, user, &record)
    }

    fn load(&self, host: &str, user: &str) -> Result<Option<AccountRecord>, AccountError> {
        match self.store.get(host, Some(user), STORE)? {
            None => Ok(None),
            Some(LuaValue::Table(t)) => Ok(Some(AccountRecord::from_table(t))),
            Some(_) => Err(bad_record(host, user, "not a table")),
        }
    }

    fn save(&self, host: &str, user: &str, record: &AccountRecord) -> Result<(), AccountError> {
        self.store
            .set(host, Some(user), STORE, Some(&record.to_value()))?;
        Ok(())
    }
}

fn bad_record(host: &str, user: &str, reason: &'static str) -> AccountError {
    AccountError::BadRecord {
        host: host.to_owned(),
        user: user.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests;
