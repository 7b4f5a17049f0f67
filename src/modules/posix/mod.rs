//! mod_posix (reference §1.10): what a server process needs on a POSIX system — the
//! `umask` (default "027"), the `pidfile` (locked, so a second copy refuses to start, and
//! removed at exit), daemonizing (`lilt run -D`, or the deprecated `daemonize` option;
//! a foreground run otherwise) and the `run_as_root` warning. Lilt never switches user
//! itself: a systemd unit or init script starts it as the `prosody` user.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::config::Config;

/// Why a posix step failed (the operator's config or the system's state).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PosixError {
    #[error("invalid umask {0:?} (expected an octal number such as \"027\")")]
    Umask(String),
    #[error("Couldn't write pidfile at {}: {source}", path.display())]
    Pidfile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("Couldn't write pidfile at {}; is Lilt (or Prosody) already running?", path.display())]
    Running { path: PathBuf },
    #[error("cannot daemonize: {0}")]
    Daemonize(std::io::Error),
}

/// Whether posix is loaded (it is autoloaded unless `modules_disabled` names it).
pub fn enabled(config: &Config) -> bool {
    !config
        .global()
        .strings("modules_disabled")
        .iter()
        .any(|m| m == "posix")
}

/// Parses Prosody's `umask` string ("027", "0022").
pub fn parse_umask(text: &str) -> Option<libc::mode_t> {
    let t = text.trim();
    if t.is_empty() || t.len() > 4 {
        return None;
    }
    libc::mode_t::from_str_radix(t, 8)
        .ok()
        .filter(|m| *m <= 0o777)
}

/// Sets the process umask from `umask` (default "027"); returns the one set.
pub fn apply_umask(config: &Config) -> Result<libc::mode_t, PosixError> {
    let text = config
        .global()
        .string("umask")
        .unwrap_or_else(|| "027".into());
    let mask = parse_umask(&text).ok_or(PosixError::Umask(text))?;
    // SAFETY: umask only changes the process's file-creation mask.
    unsafe { libc::umask(mask) };
    Ok(mask)
}

/// Where `pidfile` points: relative paths are under the data directory, as in Prosody.
pub fn pidfile_path(config: &Config) -> Option<PathBuf> {
    let p = PathBuf::from(config.global().string("pidfile")?);
    Some(if p.is_absolute() {
        p
    } else {
        config.data_path().join(p)
    })
}

/// The pidfile while the server runs: locked, holding our pid; removed when dropped.
#[derive(Debug)]
pub struct Pidfile {
    path: PathBuf,
    file: File,
}

impl Pidfile {
    /// Creates (or takes over) the file, locks it and writes the pid. A file locked by a
    /// running process means another server is running: refused.
    pub fn write(path: &Path) -> Result<Pidfile, PosixError> {
        let err = |source| PosixError::Pidfile {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(err)?;
        // SAFETY: flock on a descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(PosixError::Running {
                path: path.to_path_buf(),
            });
        }
        file.set_len(0).map_err(err)?;
        write!(file, "{}", std::process::id()).map_err(err)?;
        file.flush().map_err(err)?;
        Ok(Pidfile {
            path: path.to_path_buf(),
            file,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Pidfile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = &self.file;
    }
}

/// The `run_as_root` check: the warning to log when running as root without it.
pub fn root_warning(config: &Config) -> Option<&'static str> {
    // SAFETY: getuid has no preconditions.
    let root = unsafe { libc::getuid() } == 0;
    let allowed = config.global().boolean("run_as_root").unwrap_or(false);
    (root && !allowed).then_some(
        "Running as root: Lilt does not need root (it never drops privileges itself); \
         start it as the prosody user, or set run_as_root = true to silence this",
    )
}

/// Whether to detach from the terminal: the command line (`-D` / `-F`) first, else the
/// deprecated `daemonize` option, else a foreground run.
pub fn wants_daemon(config: &Config, cli: Option<bool>) -> bool {
    cli.or_else(|| config.global().boolean("daemonize"))
        .unwrap_or(false)
}

/// Detaches from the terminal: forks (the parent exits at once with status 0), starts a
/// new session and points stdin/stdout/stderr at /dev/null. Call it before any thread
/// is started.
pub fn daemonize() -> Result<(), PosixError> {
    // SAFETY: called while the process has one thread; the child continues with
    // everything it needs, the parent only exits.
    unsafe {
        match libc::fork() {
            -1 => return Err(PosixError::Daemonize(std::io::Error::last_os_error())),
            0 => {}
            _ => libc::_exit(0),
        }
        if libc::setsid() == -1 {
            return Err(PosixError::Daemonize(std::io::Error::last_os_error()));
        }
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            for fd in 0..3 {
                libc::dup2(null, fd);
            }
            if null > 2 {
                libc::close(null);
            }
        }
    }
    Ok(())
}

/// Raises the soft open-files limit to the hard one and returns `(before, after)`.
/// A Lilt extension: Prosody 0.12 runs with the limit it was started with (operators set
/// it with systemd's `LimitNOFILE`), and the common soft default of 1024 caps a server at
/// about a thousand connections while the hard limit allows far more. Only the soft limit
/// moves, never past what the operator's hard limit allows.
pub fn raise_open_files_limit() -> Option<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read or fill a valid, initialised struct on the stack.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        let before = lim.rlim_cur;
        if lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Some((before, before));
            }
        }
        Some((before, lim.rlim_cur))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        Config::load_str(Path::new("/tmp/posix-test/prosody.cfg.lua"), text).expect("config")
    }

    #[test]
    fn umask_strings_are_octal_and_bounded() {
        assert_eq!(parse_umask("027"), Some(0o027));
        assert_eq!(parse_umask("0022"), Some(0o022));
        assert_eq!(parse_umask("8"), None);
        assert_eq!(parse_umask("77777"), None);
        assert_eq!(parse_umask(""), None);
    }

    #[test]
    fn a_relative_pidfile_is_under_the_data_directory() {
        let c =
            config("data_path = \"/srv/d\"\npidfile = \"run/lilt.pid\"\nVirtualHost \"a.test\"\n");
        assert_eq!(pidfile_path(&c), Some(PathBuf::from("/srv/d/run/lilt.pid")));
        let c = config("pidfile = \"/run/prosody/prosody.pid\"\nVirtualHost \"a.test\"\n");
        assert_eq!(
            pidfile_path(&c),
            Some(PathBuf::from("/run/prosody/prosody.pid"))
        );
        assert_eq!(pidfile_path(&config("VirtualHost \"a.test\"\n")), None);
    }

    #[test]
    fn the_pidfile_holds_our_pid_refuses_a_second_writer_and_goes_at_drop() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/lilt.pid");
        let p = Pidfile::write(&path).expect("first writer");
        let text = std::fs::read_to_string(&path).expect("pidfile");
        assert_eq!(text, std::process::id().to_string());
        assert!(matches!(
            Pidfile::write(&path),
            Err(PosixError::Running { .. })
        ));
        drop(p);
        assert!(!path.exists());
    }

    #[test]
    fn the_command_line_overrides_the_daemonize_option_and_the_default_is_foreground() {
        let on = config("daemonize = true\nVirtualHost \"a.test\"\n");
        assert!(wants_daemon(&on, None));
        assert!(!wants_daemon(&on, Some(false)));
        let plain = config("VirtualHost \"a.test\"\n");
        assert!(!wants_daemon(&plain, None));
        assert!(wants_daemon(&plain, Some(true)));
    }

    #[test]
    fn posix_is_on_unless_disabled() {
        assert!(enabled(&config("VirtualHost \"a.test\"\n")));
        assert!(!enabled(&config(
            "modules_disabled = { \"posix\" }\nVirtualHost \"a.test\"\n"
        )));
    }
}
