//! `lilt check config`: every check `prosodyctl check config` 0.12.3 makes (reference
//! §1.8), plus Lilt's: unknown options with a did-you-mean, guide extensions, a later
//! file's `modules_enabled` replacing an earlier one, and Lilt-specific module notes.

mod lilt;
mod modules;
mod prosody;
mod values;

pub use modules::missing_modules;

use std::fmt::Write as _;

use super::Config;

/// How serious a finding is. Only problems make the check fail (exit 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Problem,
    Warning,
    Note,
}

/// One finding of the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub message: String,
}

/// Everything the check found, in the order found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub findings: Vec<Finding>,
}

impl Report {
    pub(super) fn problem(&mut self, message: impl Into<String>) {
        self.push(Severity::Problem, message);
    }

    pub(super) fn warning(&mut self, message: impl Into<String>) {
        self.push(Severity::Warning, message);
    }

    pub(super) fn note(&mut self, message: impl Into<String>) {
        self.push(Severity::Note, message);
    }

    fn push(&mut self, severity: Severity, message: impl Into<String>) {
        self.findings.push(Finding {
            severity,
            message: message.into(),
        });
    }

    /// True when any finding is a problem.
    pub fn has_problems(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.severity == Severity::Problem)
    }

    /// The exit status `lilt check config` ends with: 0 clean, 2 problems found.
    pub fn exit_code(&self) -> i32 {
        if self.has_problems() {
            2
        } else {
            0
        }
    }

    /// Findings of one severity.
    pub fn of(&self, severity: Severity) -> impl Iterator<Item = &str> {
        self.findings
            .iter()
            .filter(move |f| f.severity == severity)
            .map(|f| f.message.as_str())
    }
}

/// Runs every check on a loaded config.
pub fn check(config: &Config) -> Report {
    let mut report = Report::default();
    for w in config.warnings() {
        report.warning(w.clone());
    }
    prosody::run(config, &mut report);
    lilt::run(config, &mut report);
    modules::run(config, &mut report);
    values::run(config, &mut report);
    // The server refuses to start on these; say so before.
    if let Err(e) = crate::storage::manager::check_config(config) {
        report.problem(e.to_string());
    }
    report
}

/// The text `lilt check config` prints: the files in load order, the findings, and the
/// verdict (`All checks passed, congratulations!` or `Problems found, see above.`).
pub fn render(config: &Config, report: &Report) -> String {
    let mut out = String::from("Checking config...\n");
    let _ = writeln!(out, "  Loaded files (in load order):");
    for f in config.files() {
        let _ = writeln!(out, "    {}", f.display());
    }
    for f in &report.findings {
        let label = match f.severity {
            Severity::Problem => "Problem",
            Severity::Warning => "Warning",
            Severity::Note => "Note",
        };
        let _ = writeln!(out, "  {label}: {}", f.message);
    }
    out.push_str("Done.\n");
    out.push_str(if report.has_problems() {
        "Problems found, see above.\n"
    } else {
        "All checks passed, congratulations!\n"
    });
    out
}
