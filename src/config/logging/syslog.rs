//! The `*syslog` log sink: each event becomes one `syslog(3)` message with the priority
//! of its level, under the identity `syslog_name` (default "prosody", as Prosody's) and
//! the facility `syslog_facility` (default "daemon").

use std::ffi::CString;
use std::io::Write;
use std::sync::OnceLock;

use tracing_subscriber::fmt::MakeWriter;

/// `openlog` keeps the identity pointer: it must live as long as the process.
static IDENT: OnceLock<CString> = OnceLock::new();

/// The syslog facility named by `syslog_facility` (Prosody's names).
pub fn facility(name: &str) -> Option<libc::c_int> {
    Some(match name {
        "auth" => libc::LOG_AUTH,
        "authpriv" => libc::LOG_AUTHPRIV,
        "cron" => libc::LOG_CRON,
        "daemon" => libc::LOG_DAEMON,
        "ftp" => libc::LOG_FTP,
        "kern" => libc::LOG_KERN,
        "local0" => libc::LOG_LOCAL0,
        "local1" => libc::LOG_LOCAL1,
        "local2" => libc::LOG_LOCAL2,
        "local3" => libc::LOG_LOCAL3,
        "local4" => libc::LOG_LOCAL4,
        "local5" => libc::LOG_LOCAL5,
        "local6" => libc::LOG_LOCAL6,
        "local7" => libc::LOG_LOCAL7,
        "lpr" => libc::LOG_LPR,
        "mail" => libc::LOG_MAIL,
        "news" => libc::LOG_NEWS,
        "syslog" => libc::LOG_SYSLOG,
        "user" => libc::LOG_USER,
        "uucp" => libc::LOG_UUCP,
        _ => return None,
    })
}

/// The syslog priority of a `tracing` level.
pub fn priority(level: &tracing::Level) -> libc::c_int {
    match *level {
        tracing::Level::ERROR => libc::LOG_ERR,
        tracing::Level::WARN => libc::LOG_WARNING,
        tracing::Level::INFO => libc::LOG_INFO,
        _ => libc::LOG_DEBUG,
    }
}

/// Opens the connection to the system logger (once per process).
pub fn open(ident: &str, facility: libc::c_int) {
    let ident = IDENT.get_or_init(|| {
        CString::new(ident.replace('\0', "")).unwrap_or_else(|_| CString::from(c"prosody"))
    });
    // SAFETY: `ident` lives in a static for the rest of the process, as openlog needs.
    unsafe { libc::openlog(ident.as_ptr(), libc::LOG_PID | libc::LOG_NDELAY, facility) };
}

/// Hands `tracing`'s formatter a buffer per event; the buffer goes to syslog whole.
#[derive(Clone, Copy)]
pub struct SyslogWriter;

/// One event's text, sent as one syslog message when dropped.
pub struct Message {
    priority: libc::c_int,
    buf: Vec<u8>,
}

impl Write for Message {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Message {
    /// The text syslog gets: one line, no trailing newline, no NUL bytes.
    fn text(&self) -> CString {
        let s: Vec<u8> = self
            .buf
            .iter()
            .copied()
            .filter(|b| *b != 0)
            .collect::<Vec<u8>>();
        let trimmed = s.strip_suffix(b"\n").unwrap_or(&s).to_vec();
        CString::new(trimmed).unwrap_or_default()
    }
}

impl Drop for Message {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let text = self.text();
        // SAFETY: a constant "%s" format with one NUL-terminated string argument.
        unsafe { libc::syslog(self.priority, c"%s".as_ptr(), text.as_ptr()) };
    }
}

impl<'a> MakeWriter<'a> for SyslogWriter {
    type Writer = Message;

    fn make_writer(&'a self) -> Message {
        Message {
            priority: libc::LOG_INFO,
            buf: Vec::new(),
        }
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Message {
        Message {
            priority: priority(meta.level()),
            buf: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_to_syslog_priorities() {
        assert_eq!(priority(&tracing::Level::ERROR), libc::LOG_ERR);
        assert_eq!(priority(&tracing::Level::WARN), libc::LOG_WARNING);
        assert_eq!(priority(&tracing::Level::INFO), libc::LOG_INFO);
        assert_eq!(priority(&tracing::Level::DEBUG), libc::LOG_DEBUG);
    }

    #[test]
    fn prosody_facility_names_are_known_and_others_are_not() {
        assert_eq!(facility("daemon"), Some(libc::LOG_DAEMON));
        assert_eq!(facility("local3"), Some(libc::LOG_LOCAL3));
        assert_eq!(facility("nonsense"), None);
    }

    #[test]
    fn a_message_is_one_line_without_the_formatters_newline() {
        let mut m = Message {
            priority: libc::LOG_WARNING,
            buf: Vec::new(),
        };
        m.write_all(b"WARN lilt: hello\0 there\n").expect("buffer");
        assert_eq!(m.text().to_str(), Ok("WARN lilt: hello there"));
        // Not sent to the system logger from a test.
        m.buf.clear();
    }
}
