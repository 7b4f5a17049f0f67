//! Storage errors, split by whose fault they are: a data file's content, the file system,
//! or the caller.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// A data file (or string) is not the Lua subset Prosody writes; `file` is its path, or
    /// `<input>` when parsing a string.
    #[error("{file}:{line}: bad data: {reason}")]
    BadData {
        file: String,
        line: usize,
        reason: String,
    },
    /// Reading or writing the file system failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The caller asked for something the format cannot hold (e.g. an empty store name).
    #[error("invalid storage request: {0}")]
    Invalid(&'static str),
    /// The store is on the `none` driver.
    #[error("Storage disabled")]
    Disabled,
    /// The database refused or could not be reached.
    #[error("database: {0}")]
    Database(String),
}

/// What a client is told when a write fails, as Prosody's datamanager words it: never a
/// path or an OS message (those go to the log).
pub const SAVE_FAILED: &str = "Error saving to storage";

impl StorageError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> StorageError {
        StorageError::Io {
            path: path.into(),
            source,
        }
    }

    /// A copy for each caller of a batched write (an OS error keeps its kind and text).
    pub fn duplicate(&self) -> StorageError {
        match self {
            StorageError::BadData { file, line, reason } => StorageError::BadData {
                file: file.clone(),
                line: *line,
                reason: reason.clone(),
            },
            StorageError::Io { path, source } => StorageError::Io {
                path: path.clone(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            StorageError::Invalid(why) => StorageError::Invalid(why),
            StorageError::Disabled => StorageError::Disabled,
            StorageError::Database(why) => StorageError::Database(why.clone()),
        }
    }

    /// Names the file a parse error came from.
    pub(crate) fn in_file(self, path: &std::path::Path) -> StorageError {
        match self {
            StorageError::BadData { line, reason, .. } => StorageError::BadData {
                file: path.display().to_string(),
                line,
                reason,
            },
            other => other,
        }
    }
}
