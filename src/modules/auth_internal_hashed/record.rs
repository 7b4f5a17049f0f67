//! The account record as stored by Prosody: `salt`, `iteration_count`, `stored_key` and
//! `server_key` (lowercase hex), or a legacy plaintext `password`. Unknown fields survive.
//! A new record's keys are written in the order salt, iteration_count, stored_key,
//! server_key; Prosody's order follows Lua's hash iteration and varies between files, so
//! only the line format, not the line order, is the same.

use crate::storage::{LuaTable, LuaValue};
use crate::xmpp::sasl::ScramCredentials;

pub(super) struct AccountRecord {
    table: LuaTable,
}

impl AccountRecord {
    pub(super) fn from_table(table: LuaTable) -> AccountRecord {
        AccountRecord { table }
    }

    pub(super) fn hashed(creds: ScramCredentials) -> AccountRecord {
        let mut record = AccountRecord {
            table: LuaTable::new(),
        };
        record.set_hashed(creds);
        record
    }

    /// Replaces the SCRAM fields and drops any plaintext password.
    pub(super) fn set_hashed(&mut self, creds: ScramCredentials) {
        self.table.set("salt", creds.salt);
        self.table
            .set("iteration_count", i64::from(creds.iteration_count));
        self.table.set("stored_key", hex::encode(creds.stored_key));
        self.table.set("server_key", hex::encode(creds.server_key));
        self.table.set("password", LuaValue::Nil);
    }

    /// A non-empty legacy plaintext password.
    pub(super) fn plaintext(&self) -> Option<&str> {
        self.table
            .field("password")
            .and_then(LuaValue::as_str)
            .filter(|p| !p.is_empty())
    }

    pub(super) fn salt(&self) -> Option<&str> {
        self.table
            .field("salt")
            .and_then(LuaValue::as_str)
            .filter(|s| !s.is_empty())
    }

    pub(super) fn iteration_count(&self) -> Option<u32> {
        let n = self.table.field("iteration_count")?.as_int()?;
        u32::try_from(n).ok().filter(|&n| n > 0)
    }

    /// The SCRAM fields, or why the record lacks them.
    pub(super) fn scram_parts(&self) -> Result<ScramCredentials, &'static str> {
        let salt = self.salt().ok_or("salt missing")?;
        let iterations = self
            .iteration_count()
            .ok_or("iteration_count missing or invalid")?;
        let key = |name| {
            self.table
                .field(name)
                .and_then(LuaValue::as_str)
                .and_then(|h| hex::decode(h).ok())
        };
        let stored_key = key("stored_key").ok_or("stored_key missing or not hex")?;
        let server_key = key("server_key").ok_or("server_key missing or not hex")?;
        Ok(ScramCredentials {
            salt: salt.to_owned(),
            iteration_count: iterations,
            stored_key,
            server_key,
        })
    }

    pub(super) fn to_value(&self) -> LuaValue {
        LuaValue::Table(self.table.clone())
    }
}

/// Comparison whose duration does not reveal where two secrets differ.
pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
