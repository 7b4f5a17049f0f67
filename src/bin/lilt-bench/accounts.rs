//! `lilt-bench accounts`: writes bench users (and optional rosters) straight into a Prosody
//! `internal` storage tree, which both Prosody and Lilt read.
//!
//! Thousands of `prosodyctl register` calls take minutes; files take milliseconds. All users
//! share one salt so the bench client derives the SCRAM keys once (see `scram.rs`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::BenchError;
use crate::scram::derive;
use crate::xmpp::Ctx;

/// The one salt all bench accounts share (a fixed UUID, as Prosody's salts are UUIDs).
pub const DEFAULT_SALT: &str = "6c1c7c52-8a47-4f0e-9a3b-1be1c0b7a001";

/// What to write.
#[derive(Debug, Clone, clap::Args)]
pub struct AccountsArgs {
    /// Number of users (bench0000 ..).
    #[arg(long)]
    pub count: usize,
    /// Virtual host the users belong to.
    #[arg(long)]
    pub domain: String,
    /// Password of every user.
    #[arg(long, default_value = "bench-pass")]
    pub password: String,
    /// Prosody data directory (`data_path`).
    #[arg(long, alias = "out")]
    pub data: PathBuf,
    /// SCRAM iteration count stored per account.
    #[arg(long, default_value_t = 10000)]
    pub iterations: u32,
    /// Salt stored for every account.
    #[arg(long, default_value = DEFAULT_SALT)]
    pub salt: String,
    /// Also write rosters: users in consecutive groups of this size are mutual contacts
    /// (subscription `both`).
    #[arg(long)]
    pub roster_size: Option<usize>,
}

/// Prosody's path encoding: every non-alphanumeric byte becomes `%xx` (lowercase hex).
pub fn encode_path_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02x}");
        }
    }
    out
}

/// The `accounts/<user>.dat` body for the given keys.
pub fn account_source(stored_key: &[u8], server_key: &[u8], salt: &str, iterations: u32) -> String {
    format!(
        "return {{\n\t[\"stored_key\"] = \"{}\";\n\t[\"server_key\"] = \"{}\";\n\t[\"salt\"] = \"{}\";\n\t[\"iteration_count\"] = {};\n}};\n",
        hex::encode(stored_key),
        hex::encode(server_key),
        salt,
        iterations
    )
}

/// The `roster/<user>.dat` body: every contact with subscription `both`.
pub fn roster_source(contacts: &[String]) -> String {
    let mut s = String::from(
        "return {\n\t[false] = {\n\t\t[\"version\"] = 1;\n\t\t[\"pending\"] = {};\n\t};\n",
    );
    for c in contacts {
        let _ = write!(
            s,
            "\t[\"{c}\"] = {{\n\t\t[\"subscription\"] = \"both\";\n\t\t[\"groups\"] = {{}};\n\t}};\n"
        );
    }
    s.push_str("};\n");
    s
}

/// Indices of the roster contacts of user `index` (its group minus itself).
pub fn contacts_of(index: usize, count: usize, group: usize) -> std::ops::Range<usize> {
    let start = index / group * group;
    start..(start + group).min(count)
}

fn write(path: &Path, body: &str) -> Result<(), BenchError> {
    std::fs::write(path, body)
        .map_err(|e| BenchError::Setup(format!("writing {}: {e}", path.display())))
}

/// Writes all account (and roster) files; returns how many users were written.
pub fn write_accounts(args: &AccountsArgs) -> Result<usize, BenchError> {
    let host_dir = args.data.join(encode_path_part(&args.domain));
    let acc_dir = host_dir.join("accounts");
    let roster_dir = host_dir.join("roster");
    std::fs::create_dir_all(&acc_dir)
        .map_err(|e| BenchError::Setup(format!("creating {}: {e}", acc_dir.display())))?;
    let keys = derive(&args.password, args.salt.as_bytes(), args.iterations);
    let account = account_source(
        &keys.stored_key,
        &keys.server_key,
        &args.salt,
        args.iterations,
    );
    if args.roster_size.is_some() {
        std::fs::create_dir_all(&roster_dir)
            .map_err(|e| BenchError::Setup(format!("creating {}: {e}", roster_dir.display())))?;
    }
    for i in 0..args.count {
        let user = encode_path_part(&Ctx::username(i));
        write(&acc_dir.join(format!("{user}.dat")), &account)?;
        if let Some(group) = args.roster_size.filter(|g| *g > 1) {
            let contacts: Vec<String> = contacts_of(i, args.count, group)
                .filter(|&c| c != i)
                .map(|c| format!("{}@{}", Ctx::username(c), args.domain))
                .collect();
            write(
                &roster_dir.join(format!("{user}.dat")),
                &roster_source(&contacts),
            )?;
        }
    }
    Ok(args.count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parts_encode_every_non_alphanumeric_byte() {
        assert_eq!(encode_path_part("bench.local"), "bench%2elocal");
        assert_eq!(encode_path_part("a_b-c"), "a%5fb%2dc");
    }

    #[test]
    fn account_file_has_prosody_internal_hashed_layout() {
        let src = account_source(&[0xab; 2], &[0x01; 2], "salt-uuid", 4096);
        assert_eq!(
            src,
            "return {\n\t[\"stored_key\"] = \"abab\";\n\t[\"server_key\"] = \"0101\";\n\t[\"salt\"] = \"salt-uuid\";\n\t[\"iteration_count\"] = 4096;\n};\n"
        );
    }

    #[test]
    fn roster_groups_are_consecutive_and_clipped_at_count() {
        assert_eq!(contacts_of(7, 12, 5), 5..10);
        assert_eq!(contacts_of(11, 12, 5), 10..12);
        let src = roster_source(&["a@h".to_string()]);
        assert!(src.starts_with("return {\n\t[false] = {"));
        assert!(src.contains("[\"a@h\"] = {\n\t\t[\"subscription\"] = \"both\";"));
    }
}
