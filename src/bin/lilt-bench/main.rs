//! `lilt-bench`: a load tool for XMPP-over-WebSocket servers (Lilt, Prosody) and for the bare
//! `ws-echo` server that marks this machine's physical limit.
//!
//! It opens N sessions (SCRAM-SHA-1 with cached client keys, bind, presence), runs one
//! closed-loop scenario, verifies that nothing was lost, and reports throughput, HDR latency
//! percentiles and the server's CPU seconds and RSS from /proc. It does not manage servers:
//! `benches/compare.sh` starts them and collects the JSON lines into docs/BENCHMARKS.md.

mod accounts;
mod error;
mod procstat;
mod report;
mod scenario;
mod scram;
mod stats;
mod ws;
mod xmpp;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::accounts::AccountsArgs;
use crate::procstat::Proc;
use crate::scenario::RunOpts;
use crate::scram::KeyCache;
use crate::ws::Target;
use crate::xmpp::{Ctx, Mechanism};

#[derive(Debug, Parser)]
#[command(
    name = "lilt-bench",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write bench accounts (and rosters) as Prosody internal storage files.
    Accounts(AccountsArgs),
    /// Turn collected JSON lines into the BENCHMARKS.md table (and a PNG plot).
    Report(report::ReportArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Idle,
    Pingpong,
    /// `pingpong` addressed to bare JIDs, so `message/bare` (and its hooks) runs.
    PingpongBare,
    Iq,
    Login,
    Presence,
    /// PEP fan-out: one publisher, every other user a contact with `+notify`.
    Pep,
    /// The hostile probe: one client never reads while 40 others flood it; a bystander
    /// pings. Reports RSS base/peak/after and the bystander's round trips.
    Nonreader,
    Echo,
    /// MUC fan-out: every session an occupant of one room, each sending groupchat
    /// messages (closed loop, `--rate` paces the room's total).
    Muc,
    /// MUC join storm: every session joins one room at once; join latency, storm length
    /// and the server's memory per idle occupant.
    MucJoin,
    /// `pingpong` over BOSH (`/http-bind` of the `--url`'s server), PLAIN logins.
    BoshPingpong,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// WebSocket endpoint, e.g. ws://127.0.0.1:5280/xmpp-websocket.
    #[arg(long, default_value = "ws://127.0.0.1:5280/xmpp-websocket")]
    url: String,
    /// XMPP domain (the VirtualHost).
    #[arg(long, default_value = "bench.local")]
    domain: String,
    /// Number of sessions (users bench0000..).
    #[arg(long, default_value_t = 100)]
    users: usize,
    /// Password of every bench user.
    #[arg(long, alias = "password-prefix", default_value = "bench-pass")]
    password: String,
    #[arg(long, value_enum, default_value_t = Scenario::Iq)]
    scenario: Scenario,
    /// Seconds the measured phase lasts.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Server process to sample (/proc/PID/stat and status).
    #[arg(long)]
    pid: Option<u32>,
    /// Print one JSON object on stdout (the human summary goes to stderr).
    #[arg(long)]
    json: bool,
    /// Label of the server under test in the JSON ("prosody", "lilt", "ws-echo").
    #[arg(long, default_value = "server")]
    label: String,
    /// Logins in flight during the connect phase; worker count for `login`.
    #[arg(long, default_value_t = 50)]
    concurrency: usize,
    /// Messages in flight per pair (pingpong) or per connection (echo).
    #[arg(long, default_value_t = 1)]
    window: usize,
    /// Total send rate for iq/pingpong (ops/s; 0 = closed loop at full speed).
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Roster group size for `presence` (must match `accounts --roster-size`).
    #[arg(long, default_value_t = 10)]
    roster_size: usize,
    #[arg(long, value_enum, default_value_t = Mechanism::ScramSha1)]
    mechanism: Mechanism,
    /// Spread connections over 127.0.0.1..=127.0.0.K (more ephemeral ports).
    #[arg(long, default_value_t = 4)]
    source_addrs: u8,
    /// Seconds to wait for any single reply before a session counts as failed.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// Tokio worker threads; 1 keeps the tool on one core so the server gets the other.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

fn raise_nofile_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid, initialised struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

async fn run_scenario(args: &RunArgs) -> Result<stats::Outcome, error::BenchError> {
    let ctx = Arc::new(Ctx {
        target: Target::parse(&args.url)?,
        domain: args.domain.clone(),
        keys: KeyCache::new(&args.password),
        mechanism: args.mechanism,
        source_addrs: args.source_addrs.max(1),
        timeout: Duration::from_secs_f64(args.timeout),
    });
    let opts = RunOpts {
        users: args.users,
        duration: Duration::from_secs_f64(args.duration),
        concurrency: args.concurrency,
        window: args.window,
        roster_size: args.roster_size,
        rate: args.rate,
        server: Proc::server(args.pid),
    };
    Ok(match args.scenario {
        Scenario::Idle => scenario::idle::run(ctx, &opts).await,
        Scenario::Pingpong => scenario::pingpong::run(ctx, &opts, false).await,
        Scenario::PingpongBare => scenario::pingpong::run(ctx, &opts, true).await,
        Scenario::Iq => scenario::iq::run(ctx, &opts).await,
        Scenario::Login => scenario::login::run(ctx, &opts).await,
        Scenario::Presence => scenario::presence::run(ctx, &opts).await,
        Scenario::Pep => scenario::pep::run(ctx, &opts).await,
        Scenario::Nonreader => scenario::nonreader::run(ctx, &opts).await,
        Scenario::Echo => scenario::echo::run(ctx, &opts).await,
        Scenario::Muc => scenario::muc::run(ctx, &opts).await,
        Scenario::MucJoin => scenario::muc::run_join(ctx, &opts).await,
        Scenario::BoshPingpong => scenario::bosh::run(ctx, &opts, &args.password).await,
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Accounts(a)) => match accounts::write_accounts(&a) {
            Ok(n) => {
                eprintln!(
                    "wrote {n} accounts for {} under {}",
                    a.domain,
                    a.data.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("lilt-bench accounts: {e}");
                ExitCode::FAILURE
            }
        },
        Some(Command::Report(r)) => match report::write_report(&r) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("lilt-bench report: {e}");
                ExitCode::FAILURE
            }
        },
        None => {
            raise_nofile_limit();
            let args = cli.run;
            let rt = if args.threads <= 1 {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
            } else {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(args.threads)
                    .enable_all()
                    .build()
            };
            let rt = match rt {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("lilt-bench: cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match rt.block_on(run_scenario(&args)) {
                Ok(outcome) => {
                    eprint!("{}", outcome.human(&args.label));
                    if args.json {
                        println!("{}", outcome.to_json(&args.label));
                    }
                    if outcome.passed() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    }
                }
                Err(e) => {
                    eprintln!("lilt-bench: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
