//! Why a config tree failed to load. Every variant is the operator's fault and carries the
//! file (and line, when one is known) so the message reads `file:line: reason`, the way
//! Prosody reports config errors.

use std::fmt;
use std::path::PathBuf;

/// A config tree that could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The main config file does not exist (nothing was evaluated).
    #[error("{}: configuration file not found", path.display())]
    NotFound { path: PathBuf },
    /// A file could not be read (permissions, not a file, not UTF-8 is fine: bytes are Lua).
    #[error("{}: {reason}", Pos(file, *line))]
    Io {
        file: PathBuf,
        line: Option<u32>,
        reason: String,
    },
    /// Lua refused to compile a file.
    #[error("{}: {reason}", Pos(file, *line))]
    Syntax {
        file: PathBuf,
        line: Option<u32>,
        reason: String,
    },
    /// Lua raised an error while running a file (including errors raised by directives).
    #[error("{}: {reason}", Pos(file, *line))]
    Runtime {
        file: PathBuf,
        line: Option<u32>,
        reason: String,
    },
    /// `Include` named a file or directory that does not exist.
    #[error("{}: {reason}", Pos(file, Some(*line)))]
    Include {
        file: PathBuf,
        line: u32,
        reason: String,
    },
    /// `Include` would re-enter a file that is still being loaded.
    #[error("{}: Include loop: {}", Pos(file, Some(*line)), chain_text(chain))]
    IncludeLoop {
        file: PathBuf,
        line: u32,
        chain: Vec<PathBuf>,
    },
    /// A `VirtualHost`/`Component` name that is missing, invalid or clashes.
    #[error("{}: {reason}", Pos(file, Some(*line)))]
    HostName {
        file: PathBuf,
        line: u32,
        reason: String,
    },
    /// The tree loaded but defines no enabled VirtualHost (Prosody refuses to start).
    #[error("{}: No enabled VirtualHost entries found in the config file.", file.display())]
    NoVirtualHost { file: PathBuf },
}

impl ConfigError {
    /// The file the error points at.
    pub fn file(&self) -> &std::path::Path {
        match self {
            ConfigError::NotFound { path } => path,
            ConfigError::Io { file, .. }
            | ConfigError::Syntax { file, .. }
            | ConfigError::Runtime { file, .. }
            | ConfigError::Include { file, .. }
            | ConfigError::IncludeLoop { file, .. }
            | ConfigError::HostName { file, .. }
            | ConfigError::NoVirtualHost { file } => file,
        }
    }

    /// The line the error points at, when known.
    pub fn line(&self) -> Option<u32> {
        match self {
            ConfigError::Io { line, .. }
            | ConfigError::Syntax { line, .. }
            | ConfigError::Runtime { line, .. } => *line,
            ConfigError::Include { line, .. }
            | ConfigError::IncludeLoop { line, .. }
            | ConfigError::HostName { line, .. } => Some(*line),
            ConfigError::NotFound { .. } | ConfigError::NoVirtualHost { .. } => None,
        }
    }
}

struct Pos<'a>(&'a PathBuf, Option<u32>);

impl fmt::Display for Pos<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(line) => write!(f, "{}:{}", self.0.display(), line),
            None => write!(f, "{}", self.0.display()),
        }
    }
}

fn chain_text(chain: &[PathBuf]) -> String {
    chain
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" -> ")
}
