//! `lilt check proxy FILE…`: reads nginx and Apache site configs, finds the locations that
//! proxy to Lilt's WebSocket path and reports each critical point of the WebSocket guide —
//! upgrade handling, Host, X-Forwarded-For/-Proto, timeouts against Lilt's keepalive,
//! buffering, `trusted_proxies` coverage — and syntax Apache itself would reject.

pub mod apache;
pub mod lilt_side;
pub mod nginx;
mod target;
pub mod upload;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub use crate::config::check::Severity;
pub use lilt_side::LiltSide;

/// One finding, tied to a place in a proxy config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

/// All findings of one run, plus files that could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyReport {
    pub findings: Vec<Finding>,
    /// Files that could not be read (exit code 1, like an unloadable config).
    pub unreadable: Vec<(PathBuf, String)>,
    /// Proxy locations to Lilt's WebSocket path found, per file.
    pub locations: Vec<(PathBuf, usize)>,
}

impl ProxyReport {
    pub(crate) fn push(
        &mut self,
        severity: Severity,
        file: &Path,
        line: usize,
        message: impl Into<String>,
    ) {
        self.findings.push(Finding {
            severity,
            file: file.to_path_buf(),
            line,
            message: message.into(),
        });
    }

    pub fn has_problems(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.severity == Severity::Problem)
    }

    /// 1 when a file could not be read, else 2 with problems, else 0 (as `check config`).
    pub fn exit_code(&self) -> i32 {
        if !self.unreadable.is_empty() {
            1
        } else if self.has_problems() {
            2
        } else {
            0
        }
    }

    /// Findings of one severity, as "line: message".
    pub fn messages(&self, severity: Severity) -> Vec<String> {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .map(|f| format!("{}: {}", f.line, f.message))
            .collect()
    }
}

/// Which proxy a file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    Nginx,
    Apache,
}

/// Guesses the flavour: Apache files have `<VirtualHost`/`<Location` sections or Apache
/// directive names; nginx files have `server {` / `location … {` blocks.
pub fn detect(text: &str) -> Flavour {
    let apache = text.lines().map(str::trim_start).any(|l| {
        l.starts_with("<VirtualHost")
            || l.starts_with("<Location")
            || l.starts_with("<IfModule")
            || l.starts_with("ProxyPass")
            || l.starts_with("LoadModule")
    });
    if apache {
        Flavour::Apache
    } else {
        Flavour::Nginx
    }
}

/// Checks one config text on its own.
pub fn check_text(file: &Path, text: &str, lilt: &LiltSide, report: &mut ProxyReport) {
    check_many(&[(file.to_path_buf(), text.to_owned())], lilt, report);
}

/// Checks several files as one setup: Apache `LoadModule` lines count for all Apache files
/// (a main config and its site file), and finding no proxy location at all is a problem.
pub fn check_many(files: &[(PathBuf, String)], lilt: &LiltSide, report: &mut ProxyReport) {
    let loads: Vec<String> = files
        .iter()
        .filter(|(_, t)| detect(t) == Flavour::Apache)
        .flat_map(|(_, t)| apache::load_modules(t))
        .collect();
    let mut total = 0;
    for (file, text) in files {
        let found = match detect(text) {
            Flavour::Nginx => nginx::check(file, text, lilt, report),
            Flavour::Apache => apache::check(file, text, &loads, lilt, report),
        };
        total += found;
        report.locations.push((file.clone(), found));
        if let Some(side) = &lilt.upload {
            upload::check(file, text, side, report);
        }
    }
    if total == 0 {
        let file = files
            .first()
            .map(|(f, _)| f.as_path())
            .unwrap_or(Path::new("-"));
        report.push(
            Severity::Problem,
            file,
            0,
            format!(
                "no location proxies to Lilt's WebSocket path {} on port(s) {:?}",
                lilt.ws_path, lilt.ports
            ),
        );
    }
}

/// Checks every file.
pub fn check_files(files: &[PathBuf], lilt: &LiltSide) -> ProxyReport {
    let mut report = ProxyReport::default();
    let mut texts = Vec::new();
    for f in files {
        match std::fs::read_to_string(f) {
            Ok(text) => texts.push((f.clone(), text)),
            Err(e) => report.unreadable.push((f.clone(), e.to_string())),
        }
    }
    if !texts.is_empty() {
        check_many(&texts, lilt, &mut report);
    }
    report
}

/// The text `lilt check proxy` prints.
pub fn render(report: &ProxyReport) -> String {
    let mut out = String::from("Checking proxy configuration...\n");
    for (f, e) in &report.unreadable {
        let _ = writeln!(out, "  Error: cannot read {}: {e}", f.display());
    }
    for (f, n) in &report.locations {
        let _ = writeln!(
            out,
            "  {}: {n} location(s) proxying to Lilt's WebSocket endpoint",
            f.display()
        );
    }
    for f in &report.findings {
        let label = match f.severity {
            Severity::Problem => "Problem",
            Severity::Warning => "Warning",
            Severity::Note => "Note",
        };
        let _ = writeln!(
            out,
            "  {label}: {}:{}: {}",
            f.file.display(),
            f.line,
            f.message
        );
    }
    out.push_str("Done.\n");
    out.push_str(match report.exit_code() {
        0 => "All checks passed, congratulations!\n",
        1 => "Some files could not be read.\n",
        _ => "Problems found, see above.\n",
    });
    out
}
