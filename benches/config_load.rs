//! Loading the bundled guide tree (config/) must take under 20 ms on average.
//! Run with `cargo bench --bench config_load`; exits non-zero when the mean is over budget.

use std::path::Path;
use std::time::{Duration, Instant};

use lilt::config::Config;

const RUNS: usize = 200;
const BUDGET: Duration = Duration::from_millis(20);

fn main() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/prosody.cfg.lua");
    // Warm the file cache once, and make sure the tree loads at all.
    if let Err(e) = Config::load(&path) {
        eprintln!("config_load: the bundled tree does not load: {e}");
        std::process::exit(1);
    }
    let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        let config = Config::load(&path);
        times.push(start.elapsed());
        assert!(config.is_ok(), "the tree loaded once and must keep loading");
    }
    times.sort();
    let total: Duration = times.iter().sum();
    let mean = total / RUNS as u32;
    let p99 = times[(RUNS * 99 / 100).min(RUNS - 1)];
    println!(
        "config_load: {RUNS} loads of {}: mean {:.3} ms, p99 {:.3} ms, min {:.3} ms (budget {} ms)",
        path.display(),
        mean.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        BUDGET.as_millis()
    );
    if mean > BUDGET {
        eprintln!("config_load: mean load time is over budget");
        std::process::exit(1);
    }
}
