//! Samples a process's CPU seconds and resident memory from `/proc/PID/{stat,status}`.

use std::path::PathBuf;

/// One reading of a process's counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcSample {
    /// utime + stime, in seconds.
    pub cpu_s: f64,
    /// VmRSS in KiB.
    pub rss_kib: u64,
    /// VmHWM (peak RSS) in KiB.
    pub hwm_kib: u64,
}

/// A process to sample: `None` pid means "no server given" (all zeros).
#[derive(Debug, Clone)]
pub struct Proc {
    dir: Option<PathBuf>,
}

impl Proc {
    pub fn server(pid: Option<u32>) -> Self {
        Proc {
            dir: pid.map(|p| PathBuf::from(format!("/proc/{p}"))),
        }
    }

    pub fn this() -> Self {
        Proc {
            dir: Some(PathBuf::from("/proc/self")),
        }
    }

    pub fn sample(&self) -> ProcSample {
        let Some(dir) = &self.dir else {
            return ProcSample::default();
        };
        let cpu_s = std::fs::read_to_string(dir.join("stat"))
            .ok()
            .and_then(|s| parse_cpu_ticks(&s))
            .map(|ticks| ticks as f64 / clock_ticks())
            .unwrap_or(0.0);
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        ProcSample {
            cpu_s,
            rss_kib: status_kib(&status, "VmRSS:"),
            hwm_kib: status_kib(&status, "VmHWM:"),
        }
    }
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// utime + stime (fields 14 and 15); the command name may contain spaces, so count after ')'.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime is field 14 -> index 11.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn status_kib(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_survive_spaces_in_the_command_name() {
        let stat = "42 (lua (x) y) S 1 2 3 4 5 6 7 8 9 10 150 25 0 0 20 0";
        assert_eq!(parse_cpu_ticks(stat), Some(175));
    }

    #[test]
    fn own_process_has_nonzero_rss() {
        assert!(Proc::this().sample().rss_kib > 0);
        assert_eq!(Proc::server(None).sample().rss_kib, 0);
    }
}
