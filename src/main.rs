//! The `lilt` command line: finds the config file the way Prosody does, then runs the
//! server, checks the config, or manages accounts. It owns no behaviour of its own: each
//! subcommand is a thin call into the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use lilt::config::{check, json, logging, Config, ConfigError};
use lilt::modules::posix;

/// Directories searched for a config file, in order (Prosody's CFG_CONFIGDIR, with
/// Lilt's bundled tree first).
const CONFIG_DIRS: &[&str] = &["config", "/etc/prosody"];
const CONFIG_NAME: &str = "prosody.cfg.lua";

#[derive(Parser, Debug)]
#[command(name = "lilt", version, about = "A Prosody-compatible XMPP server")]
struct Cli {
    /// Config file: tried as given, then relative to ./config and /etc/prosody.
    /// Defaults to $LILT_CONFIG, then $PROSODY_CONFIG, then prosody.cfg.lua in those dirs.
    #[arg(short = 'c', long = "config", global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve XMPP (the default when no command is given).
    Run {
        /// Detach from the terminal (Prosody's -D); the default is a foreground run.
        #[arg(short = 'D', long, conflicts_with = "foreground")]
        daemonize: bool,
        /// Stay in the foreground even if the config says `daemonize = true` (-F).
        #[arg(short = 'F', long)]
        foreground: bool,
    },
    /// Check the configuration (`check config`, or `check` alone).
    Check {
        #[arg(value_enum)]
        what: Option<CheckWhat>,
        /// Print the resolved configuration as JSON instead of checking it.
        #[arg(long)]
        json: bool,
        /// `check proxy`: the nginx or Apache site configs to check.
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Show version and environment information.
    About,
    /// Create an account.
    Adduser { jid: String },
    /// Change an account's password.
    Passwd { jid: String },
    /// Delete an account.
    Deluser { jid: String },
    /// Talk to the running server's admin socket, like `prosodyctl shell`: one command
    /// (`lilt shell module reload motd localhost`), or lines from stdin.
    Shell {
        /// The socket (default: the config's `admin_socket`, in the data directory).
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        words: Vec<String>,
    },
    /// Create an account non-interactively.
    Register {
        user: String,
        host: String,
        password: String,
    },
    /// Copy every store of every host between storages, like `prosody-migrator`:
    /// `lilt migrate internal:/var/lib/prosody postgresql://prosody:pw@127.0.0.1:5432/prosody`
    /// (also `sqlite:<file>`). Idempotent; prints one line per store.
    Migrate {
        from: String,
        to: String,
        /// Only these hosts (default: every host the source has data for).
        #[arg(long = "host", value_name = "HOST")]
        hosts: Vec<String>,
        /// Count what would be copied; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum CheckWhat {
    Config,
    /// Reverse proxy (nginx/Apache) configs in front of Lilt's WebSocket endpoint.
    Proxy,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command.unwrap_or(Command::Run {
        daemonize: false,
        foreground: false,
    }) {
        Command::Run {
            daemonize,
            foreground,
        } => {
            let detach = (daemonize || foreground).then_some(daemonize);
            run(cli.config.as_deref(), detach)
        }
        Command::Check {
            what: Some(CheckWhat::Proxy),
            files,
            ..
        } => check_proxy(cli.config.as_deref(), &files),
        Command::Check { what: _, json, .. } => check_config(cli.config.as_deref(), json),
        Command::About => about(cli.config.as_deref()),
        Command::Migrate {
            from,
            to,
            hosts,
            dry_run,
        } => migrate(&from, &to, &hosts, dry_run),
        Command::Adduser { jid } => accounts(cli.config.as_deref(), &jid, AccountOp::Add, None),
        Command::Passwd { jid } => accounts(cli.config.as_deref(), &jid, AccountOp::Passwd, None),
        Command::Deluser { jid } => accounts(cli.config.as_deref(), &jid, AccountOp::Delete, None),
        Command::Shell { socket, words } => match load(cli.config.as_deref(), false) {
            Ok(c) => lilt::modules::admin_shell::run_cli(&c, socket, &words),
            Err(code) => code,
        },
        Command::Register {
            user,
            host,
            password,
        } => accounts(
            cli.config.as_deref(),
            &format!("{user}@{host}"),
            AccountOp::Add,
            Some(password),
        ),
    };
    ExitCode::from(code)
}

/// The config file to use, or every path that was tried.
fn find_config(arg: Option<&Path>) -> Result<PathBuf, Vec<PathBuf>> {
    let mut tried = Vec::new();
    let given = arg.map(Path::to_path_buf).or_else(|| {
        ["LILT_CONFIG", "PROSODY_CONFIG"].iter().find_map(|v| {
            std::env::var_os(v)
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
        })
    });
    let candidates: Vec<PathBuf> = match &given {
        Some(p) if p.is_absolute() => vec![p.clone()],
        Some(p) => std::iter::once(p.clone())
            .chain(CONFIG_DIRS.iter().map(|d| Path::new(d).join(p)))
            .collect(),
        None => CONFIG_DIRS
            .iter()
            .map(|d| Path::new(d).join(CONFIG_NAME))
            .collect(),
    };
    for c in candidates {
        if c.is_file() {
            return Ok(c);
        }
        tried.push(c);
    }
    Err(tried)
}

fn config_path_or_report(arg: Option<&Path>) -> Result<PathBuf, u8> {
    find_config(arg).map_err(|tried| {
        eprintln!("Lilt was unable to find the configuration file.");
        for t in tried {
            eprintln!("We looked for: {}", t.display());
        }
        eprintln!("Give one with --config FILE (or LILT_CONFIG / PROSODY_CONFIG).");
        1
    })
}

fn report_load_error(path: &Path, e: &ConfigError) -> u8 {
    eprintln!(
        "A problem occurred while reading the config file {}",
        path.display()
    );
    eprintln!("Error: {e}");
    1
}

fn load(arg: Option<&Path>, strict: bool) -> Result<Config, u8> {
    let path = config_path_or_report(arg)?;
    let loaded = if strict {
        Config::load(&path)
    } else {
        Config::load_unchecked(&path)
    };
    loaded.map_err(|e| report_load_error(&path, &e))
}

fn setup_logging(config: &Config) -> Result<(), u8> {
    let data = config.data_path();
    let rules = logging::plan(config.global().get("log"), &data).map_err(|e| {
        eprintln!("Error: {}: {e}", config.main_file().display());
        1u8
    })?;
    if rules.iter().any(|r| r.sink == logging::Sink::Syslog) {
        let g = config.global();
        let name = g.string("syslog_name").unwrap_or_else(|| "prosody".into());
        let facility = g
            .string("syslog_facility")
            .unwrap_or_else(|| "daemon".into());
        let Some(code) = logging::syslog::facility(&facility) else {
            eprintln!("Error: unknown syslog_facility {facility:?}");
            return Err(1);
        };
        logging::syslog::open(&name, code);
    }
    logging::install(&rules).map_err(|e| {
        eprintln!("Error: {e}");
        1u8
    })?;
    for w in config.warnings() {
        tracing::warn!("Configuration warning: {w}");
    }
    Ok(())
}

/// `detach`: the command line's -D (true) or -F (false), if given.
fn run(arg: Option<&Path>, detach: Option<bool>) -> u8 {
    let config = match load(arg, true) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let posix = posix::enabled(&config);
    // Before logging and the runtime start threads: fork keeps only the calling one.
    if posix && posix::wants_daemon(&config, detach) {
        if let Err(e) = posix::daemonize() {
            eprintln!("Error: {e}");
            return 1;
        }
    }
    if let Err(code) = setup_logging(&config) {
        return code;
    }
    let _pidfile = if posix {
        match start_posix(&config, detach) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!("{e}");
                eprintln!("Error: {e}");
                return 1;
            }
        }
    } else {
        None
    };
    tracing::info!(files = config.files().len(), hosts = ?config.virtual_hosts(), "configuration loaded");
    if let Some((before, after)) = posix::raise_open_files_limit() {
        tracing::debug!(before, after, "open files limit");
    }
    match lilt::core::run(config) {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("Error: {e}");
            1
        }
    }
}

fn migrate(from: &str, to: &str, hosts: &[String], dry_run: bool) -> u8 {
    use lilt::storage::migrate::{migrate, Location};
    let open = |spec: &str| Location::parse(spec).and_then(|l| l.open());
    let result = open(from).and_then(|src| {
        let dst = open(to)?;
        migrate(&*src, &*dst, hosts, dry_run, &mut |line| {
            eprintln!("{line}")
        })
    });
    match result {
        Ok(c) => {
            let verb = if dry_run { "Would copy" } else { "Copied" };
            println!(
                "{verb} {} values and {} archive items ({} already present) in {} stores of {} hosts",
                c.keyval_values, c.archive_items, c.archive_items_present, c.stores, c.hosts
            );
            0
        }
        Err(e) => {
            eprintln!("lilt migrate: {e}");
            1
        }
    }
}

/// mod_posix at startup: umask, the `run_as_root` check, the pidfile (kept until exit).
fn start_posix(
    config: &Config,
    detach: Option<bool>,
) -> Result<Option<posix::Pidfile>, posix::PosixError> {
    posix::apply_umask(config)?;
    if let Some(w) = posix::root_warning(config) {
        tracing::error!("{w}");
    }
    if detach.is_none() && config.global().boolean("daemonize").is_some() {
        tracing::warn!("The 'daemonize' option is deprecated: use `lilt run -D` (or -F) instead");
    }
    let Some(path) = posix::pidfile_path(config) else {
        return Ok(None);
    };
    let pidfile = posix::Pidfile::write(&path)?;
    tracing::info!("Wrote pidfile {}", pidfile.path().display());
    Ok(Some(pidfile))
}

#[derive(Clone, Copy)]
enum AccountOp {
    Add,
    Passwd,
    Delete,
}

/// Reads a password: prompted without echo on a terminal, else one line of stdin.
fn read_password(prompt: &str) -> Option<String> {
    use std::io::{BufRead, IsTerminal, Write};
    let stdin = std::io::stdin();
    let tty = stdin.is_terminal();
    if tty {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
    }
    let echo = tty.then(terminal::EchoOff::new).flatten();
    let mut line = String::new();
    let n = stdin.lock().read_line(&mut line).ok()?;
    drop(echo);
    if tty {
        eprintln!();
    }
    (n > 0).then(|| line.trim_end_matches(['\r', '\n']).to_owned())
}

mod terminal {
    /// Turns terminal echo off until dropped.
    pub struct EchoOff(libc::termios);

    impl EchoOff {
        pub fn new() -> Option<EchoOff> {
            // SAFETY: tcgetattr/tcsetattr on fd 0 with a zeroed, then filled, termios.
            unsafe {
                let mut t: libc::termios = std::mem::zeroed();
                if libc::tcgetattr(0, &mut t) != 0 {
                    return None;
                }
                let saved = t;
                t.c_lflag &= !libc::ECHO;
                libc::tcsetattr(0, libc::TCSANOW, &t);
                Some(EchoOff(saved))
            }
        }
    }

    impl Drop for EchoOff {
        fn drop(&mut self) {
            // SAFETY: restores the attributes read in `new`.
            unsafe {
                libc::tcsetattr(0, libc::TCSANOW, &self.0);
            }
        }
    }
}

fn accounts(arg: Option<&Path>, jid: &str, op: AccountOp, password: Option<String>) -> u8 {
    use lilt::core::admin;
    let config = match load(arg, true) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let (user, host) = match admin::split_jid(&config, jid) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    let password = match op {
        AccountOp::Delete => String::new(),
        _ => match password.or_else(|| read_password("Enter new password: ")) {
            Some(p) if !p.is_empty() => p,
            _ => {
                eprintln!("Error: no password given");
                return 1;
            }
        },
    };
    let result = match op {
        AccountOp::Add => admin::adduser(&config, &user, &host, &password),
        AccountOp::Passwd => admin::passwd(&config, &user, &host, &password),
        AccountOp::Delete => admin::deluser(&config, &user, &host),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("Error: {e}");
            1
        }
    }
}

fn check_config(arg: Option<&Path>, as_json: bool) -> u8 {
    let config = match load(arg, false) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if as_json {
        let value = json::config_to_json(&config);
        match serde_json::to_string_pretty(&value) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("Error: cannot print JSON: {e}");
                return 1;
            }
        }
        return 0;
    }
    let report = check::check(&config);
    print!("{}", check::render(&config, &report));
    u8::try_from(report.exit_code()).unwrap_or(2)
}

/// `lilt check proxy FILE…`: Lilt's side (path, ports, keepalive, trusted_proxies) comes
/// from the config when one is found, else from the defaults.
fn check_proxy(arg: Option<&Path>, files: &[PathBuf]) -> u8 {
    use lilt::modules::proxycheck;
    if files.is_empty() {
        eprintln!("Usage: lilt check proxy FILE...");
        return 1;
    }
    let lilt_side = match find_config(arg) {
        Ok(path) => match Config::load_unchecked(&path) {
            Ok(config) => proxycheck::LiltSide::from_config(&config),
            Err(e) => return report_load_error(&path, &e),
        },
        Err(_) if arg.is_some() => return config_path_or_report(arg).err().unwrap_or(1),
        Err(_) => {
            println!("  (no Lilt config found: checking against Lilt's defaults)");
            proxycheck::LiltSide::default()
        }
    };
    let report = proxycheck::check_files(files, &lilt_side);
    print!("{}", proxycheck::render(&report));
    u8::try_from(report.exit_code()).unwrap_or(2)
}

fn about(arg: Option<&Path>) -> u8 {
    println!("Lilt {}", env!("CARGO_PKG_VERSION"));
    println!("  A Prosody-compatible XMPP server (configuration language of Prosody 0.12)");
    match find_config(arg) {
        Ok(p) => println!(
            "  Config file: {}",
            std::path::absolute(&p).unwrap_or(p).display()
        ),
        Err(_) => println!("  Config file: (not found)"),
    }
    println!(
        "  Config search: --config, $LILT_CONFIG, $PROSODY_CONFIG, then ./config and /etc/prosody"
    );
    println!("  Lua: 5.4 (embedded)");
    println!(
        "  Platform: {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    0
}
