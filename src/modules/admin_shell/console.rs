//! The console commands, run on the core thread with the core in hand: `server:…`,
//! `config:…`, `host:…` and `help` here, `module:…` in [`super::modules`] and `c2s:…` in
//! [`super::sessions`]. Answers are shaped like Prosody's console: output lines, then a
//! result line `OK: …`, `Result: …` or `Error: …`.

use std::time::SystemTime;

use super::command::{parse, Arg, Line};
use super::{modules, sessions};
use crate::config::Config;
use crate::core::Core;
use crate::xmpp::error::{StreamCondition, StreamError};

/// The answer to one console line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// `<repl-output>` lines, in order.
    pub output: Vec<String>,
    /// Whether the result is an error (`<repl-result type='error'>`).
    pub error: bool,
    /// The `<repl-result>` text.
    pub result: String,
}

impl Reply {
    pub fn ok(output: Vec<String>, message: impl std::fmt::Display) -> Reply {
        Reply {
            output,
            error: false,
            result: format!("OK: {message}"),
        }
    }

    /// A command that printed its answer and returned nothing (Prosody's `Result: nil`).
    pub fn printed(output: Vec<String>) -> Reply {
        Reply {
            output,
            error: false,
            result: "Result: nil".into(),
        }
    }

    pub fn err(output: Vec<String>, message: impl std::fmt::Display) -> Reply {
        Reply {
            output,
            error: true,
            result: format!("Error: {message}"),
        }
    }
}

/// Runs one console line.
pub fn run_line(core: &mut Core, line: &str) -> Reply {
    match parse(line) {
        Ok(Line::Empty) => Reply::printed(Vec::new()),
        Ok(Line::Help(section)) => Reply {
            output: help(section.as_deref()),
            error: false,
            result: String::new(),
        },
        Ok(Line::Lua(code)) => match crate::lua::eval(core, &code) {
            Ok(v) => Reply {
                output: Vec::new(),
                error: false,
                result: format!("Result: {v}"),
            },
            Err(e) => Reply::err(Vec::new(), e),
        },
        Ok(Line::Call {
            section,
            method,
            args,
        }) => call(core, &section, &method, &args),
        Err(e) => Reply {
            output: Vec::new(),
            error: true,
            result: format!("Sorry, I couldn't understand that... {e}"),
        },
    }
}

/// The i-th argument as text, if given and not nil.
pub fn arg(args: &[Arg], i: usize) -> Option<String> {
    args.get(i).and_then(Arg::text)
}

fn call(core: &mut Core, section: &str, method: &str, args: &[Arg]) -> Reply {
    match (section, method) {
        ("module", _) => modules::run(core, method, args),
        ("c2s", _) => sessions::run(core, method, args),
        ("server", "version") => Reply::ok(Vec::new(), version()),
        ("server", "uptime") => Reply::ok(Vec::new(), uptime(core.start_time, SystemTime::now())),
        ("server", "memory") => memory(core),
        ("server", "shutdown") => shutdown(core, arg(args, 0)),
        ("config", "reload") => config_reload(core),
        ("config", "get") => config_get(core.options(), args),
        ("host", "list") => {
            let mut names: Vec<&String> = core.hosts.keys().collect();
            names.sort();
            let output = names.iter().map(|h| h.to_string()).collect();
            Reply::ok(output, format!("{} hosts", names.len()))
        }
        _ => Reply::err(
            Vec::new(),
            format!("{section}:{method}() is not a console command here; type 'help'"),
        ),
    }
}

/// `server:version()`: Lilt's own version (plugins see `prosody.version` = 0.12.3).
pub fn version() -> String {
    format!(
        "{} {} (Prosody 0.12.3 compatible)",
        crate::modules::version::NAME,
        env!("CARGO_PKG_VERSION")
    )
}

/// `server:uptime()` in Prosody's wording.
pub fn uptime(start: SystemTime, now: SystemTime) -> String {
    let t = now.duration_since(start).map(|d| d.as_secs()).unwrap_or(0);
    let (minutes, hours, days) = ((t / 60) % 60, (t / 3600) % 24, t / 86400);
    let s = |n: u64| if n == 1 { "" } else { "s" };
    format!(
        "This server has been running for {days} day{}, {hours} hour{} and {minutes} minute{} (since {})",
        s(days),
        s(hours),
        s(minutes),
        httpdate::fmt_http_date(start)
    )
}

fn memory(core: &Core) -> Reply {
    match core.lua.as_ref() {
        Some(h) => Reply::ok(
            Vec::new(),
            format!(
                "Lua is using {} KiB",
                crate::lua::sandbox::used_memory(&h.lua) / 1024
            ),
        ),
        None => Reply::ok(Vec::new(), "Lua is not running (no Lua plugin is loaded)"),
    }
}

/// `server:shutdown(reason)`: sessions are closed with `system-shutdown` (and the reason
/// as its text), then the process signals itself so the normal SIGTERM path drains the
/// listeners and removes the admin socket.
fn shutdown(core: &mut Core, reason: Option<String>) -> Reply {
    let ids: Vec<_> = core.sessions.keys().copied().collect();
    for id in ids {
        let error = StreamError::new(StreamCondition::SystemShutdown)
            .with_text_opt(reason.clone())
            .element();
        core.close_session(id, Some(error));
    }
    tracing::info!(
        "Shutdown requested from the admin console ({})",
        reason.as_deref().unwrap_or("no reason given")
    );
    // SAFETY: kill(2) on our own pid with a signal the server handles.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGTERM);
    }
    Reply::ok(Vec::new(), "Shutdown initiated")
}

/// `config:reload()`: what SIGHUP does (reference §1.7), with the outcome reported.
fn config_reload(core: &mut Core) -> Reply {
    let path = core.shared.config.main_file().to_path_buf();
    match Config::load(&path) {
        Ok(new) => {
            crate::core::server::apply_reloaded(&core.shared, &new);
            core.config_reloaded(std::sync::Arc::new(new));
            tracing::info!("config reloaded from the admin console");
            Reply::ok(
                Vec::new(),
                "Config reloaded (plugins read the new options; listeners, hosts and native modules keep theirs until a restart)",
            )
        }
        Err(e) => Reply::err(Vec::new(), e),
    }
}

/// `config:get([host,] option)`.
fn config_get(config: &Config, args: &[Arg]) -> Reply {
    let (host, key) = match (arg(args, 0), arg(args, 1)) {
        (Some(h), Some(k)) => (h, k),
        (Some(k), None) => ("*".to_owned(), k),
        _ => return Reply::err(Vec::new(), "usage: config:get([host,] option)"),
    };
    let section = if host == "*" {
        config.global()
    } else {
        config.host(&host)
    };
    match section.get(&key) {
        Some(v) => Reply {
            output: Vec::new(),
            error: false,
            result: format!("Result: {v}"),
        },
        None => Reply::printed(Vec::new()),
    }
}

const HELP_SECTIONS: &[(&str, &str)] = &[
    ("c2s", "Commands to manage local client-to-server sessions"),
    ("module", "Commands to load/reload/unload modules/plugins"),
    ("host", "Commands to list virtual hosts"),
    ("server", "Uptime, version, shutting down, etc."),
    ("config", "Reloading the configuration, etc."),
    ("console", "Help regarding the console itself"),
];

const HELP_COMMANDS: &[(&str, &str)] = &[
    ("c2s", "c2s:show(jid) - Show all client sessions with the specified JID (or all if no JID given)"),
    ("c2s", "c2s:count() - Count sessions without listing them"),
    ("c2s", "c2s:close(jid) - Close all sessions for the specified JID"),
    ("c2s", "c2s:closeall() - Close all active c2s connections"),
    ("module", "module:load(module, host) - Load the specified module on the specified host (or all hosts if none given)"),
    ("module", "module:reload(module, host) - The same, but unloads and loads the module (saving state if the module supports it)"),
    ("module", "module:unload(module, host) - The same, but just unloads the module from memory"),
    ("module", "module:list(host) - List the modules loaded on the specified host"),
    ("host", "host:list() - List the currently-activated hosts"),
    ("server", "server:version() - Show the server's version number"),
    ("server", "server:uptime() - Show how long the server has been running"),
    ("server", "server:memory() - Show how much memory the Lua plugins use"),
    ("server", "server:shutdown(reason) - Shut down the server, with an optional reason to be broadcast to all connections"),
    ("config", "config:reload() - Reload the server configuration (what SIGHUP does)"),
    ("config", "config:get([host,] option) - Show the value of a config option"),
    ("console", "Type 'quit' (or press Ctrl-D) to leave. A line starting with > runs Lua in the server's plugin VM."),
    ("console", "One-shot use: lilt shell module reload motd localhost  =  module:reload(\"motd\", \"localhost\")"),
];

/// `help` lists the sections, `help SECTION` its commands.
pub fn help(section: Option<&str>) -> Vec<String> {
    match section {
        None => {
            let mut out = vec![
                "Commands are divided into multiple sections. For help on a particular section,"
                    .to_owned(),
                "type: help SECTION (for example, 'help c2s'). Sections are:".to_owned(),
                String::new(),
            ];
            out.extend(
                HELP_SECTIONS
                    .iter()
                    .map(|(name, what)| format!("  {name:<8} {what}")),
            );
            out
        }
        Some(s) => {
            let lines: Vec<String> = HELP_COMMANDS
                .iter()
                .filter(|(name, _)| *name == s)
                .map(|(_, line)| (*line).to_owned())
                .collect();
            if lines.is_empty() {
                vec![format!("No help for '{s}'; type 'help' for the sections")]
            } else {
                lines
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn uptime_counts_days_hours_and_minutes_in_prosodys_words() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let now = start + Duration::from_secs(86_400 + 2 * 3600 + 60 + 5);
        let text = uptime(start, now);
        assert!(
            text.starts_with(
                "This server has been running for 1 day, 2 hours and 1 minute (since "
            ),
            "{text}"
        );
    }

    #[test]
    fn help_lists_sections_and_their_commands() {
        let all = help(None).join("\n");
        assert!(all.contains("module") && all.contains("c2s"), "{all}");
        let module = help(Some("module")).join("\n");
        assert!(module.contains("module:reload(module, host)"), "{module}");
        assert!(help(Some("nope"))[0].contains("No help"));
    }
}
