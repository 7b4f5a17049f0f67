//! `lilt-bench report`: turns the JSON lines of a compare run into the results section of
//! docs/BENCHMARKS.md (between marker comments, the rest of the file is kept) and, when built
//! with `--features bench-plot`, a PNG bar chart.

#[cfg(feature = "bench-plot")]
mod plot;

use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::Value;

use crate::error::BenchError;

pub const START: &str = "<!-- bench:results:start -->";
pub const END: &str = "<!-- bench:results:end -->";

#[derive(Debug, Clone, clap::Args)]
pub struct ReportArgs {
    /// JSON lines written by `lilt-bench --json`.
    #[arg(long)]
    pub results: PathBuf,
    /// Markdown file whose results section is replaced.
    #[arg(long, default_value = "docs/BENCHMARKS.md")]
    pub out: PathBuf,
    /// PNG to draw (needs `--features bench-plot`).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Free text put above the table (the exact command, machine, versions).
    #[arg(long, default_value = "")]
    pub note: String,
}

fn ms(v: &Value) -> String {
    v.as_f64()
        .map(|us| format!("{:.2}", us / 1000.0))
        .unwrap_or_else(|| "-".into())
}

/// Server CPU seconds, with the share of one core over the measured window: below ~95 %
/// a closed-loop run was starved (other load on the machine) rather than saturated.
fn server_cpu(r: &Value) -> String {
    let cpu = num(&r["server"]["cpu_s"], 2);
    match (r["server"]["cpu_s"].as_f64(), r["secs"].as_f64()) {
        (Some(c), Some(secs)) if secs > 0.0 && r["scenario"] != "idle" => {
            format!("{cpu} ({:.0} %)", 100.0 * c / secs)
        }
        _ => cpu,
    }
}

/// The rate column: ops/s, or for `idle` how many sessions were held for how long.
fn rate(r: &Value) -> String {
    let unit = r["unit"].as_str().unwrap_or("");
    if r["scenario"] == "idle" {
        return format!("{} held {} s", r["connect"]["ok"], num(&r["secs"], 0));
    }
    let mut s = format!("{} {unit}/s", num(&r["ops_per_s"], 0));
    if let Some(rate) = r["extra"]["rate_limit"].as_f64() {
        s += &format!(" (paced at {rate:.0}/s)");
    }
    s
}

fn num(v: &Value, digits: usize) -> String {
    v.as_f64()
        .map(|x| format!("{x:.digits$}"))
        .unwrap_or_else(|| "-".into())
}

/// One chart panel: a title and one bar per server.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub title: String,
    pub bars: Vec<(String, f64)>,
}

/// Servers in a fixed order so every panel (and colour) lines up.
fn target_order(rows: &[Value]) -> Vec<String> {
    let mut order: Vec<String> = ["prosody", "lilt", "ws-echo"].map(String::from).to_vec();
    for r in rows {
        if let Some(t) = r["target"].as_str() {
            if !order.iter().any(|o| o == t) {
                order.push(t.to_string());
            }
        }
    }
    order.retain(|t| rows.iter().any(|r| r["target"] == t.as_str()));
    order
}

/// Reads one number out of a result row.
type Pick = fn(&Value) -> Option<f64>;
/// (scenario, the ws-echo scenario shown beside it, what is plotted, how to read it).
type PanelSpec = (&'static str, &'static str, &'static str, Pick);

fn ops(r: &Value) -> Option<f64> {
    r["ops_per_s"].as_f64()
}

fn rss_kib(r: &Value) -> Option<f64> {
    r["extra"]["rss_per_session_bytes"]
        .as_f64()
        .map(|b| b / 1024.0)
}

/// What the plot shows: throughput per scenario, with ws-echo's bare frames next to the
/// pingpong messages (the physical limit), and idle as RSS per session.
pub fn panels(rows: &[Value]) -> Vec<Panel> {
    let targets = target_order(rows);
    let value = |scenario: &str, target: &str, pick: Pick| {
        rows.iter()
            .find(|r| r["scenario"] == scenario && r["target"] == target)
            .and_then(pick)
    };
    let specs: [PanelSpec; 5] = [
        ("login", "login", "logins/s", ops),
        ("iq", "iq", "pings/s", ops),
        ("pingpong", "echo", "messages/s (ws-echo: frames/s)", ops),
        ("presence", "presence", "presence updates delivered/s", ops),
        ("idle", "echo", "server RSS per session, KiB", rss_kib),
    ];
    let mut out = Vec::new();
    for (scenario, echo_scenario, what, pick) in specs {
        let bars: Vec<(String, f64)> = targets
            .iter()
            .filter_map(|t| {
                let sc = if t == "ws-echo" {
                    echo_scenario
                } else {
                    scenario
                };
                value(sc, t, pick).map(|v| (t.clone(), v))
            })
            .collect();
        let has_xmpp = bars.iter().any(|(t, _)| t != "ws-echo");
        if has_xmpp {
            out.push(Panel {
                title: format!("{scenario}: {what}"),
                bars,
            });
        }
    }
    out
}

/// Keeps, per (server, scenario, pacing), the repetition with the highest rate: on a shared
/// machine the best run is the one least disturbed by other load. A failed repetition is
/// kept instead, so a loss is never hidden by a luckier run.
pub fn best_of(rows: Vec<Value>) -> Vec<Value> {
    let key = |r: &Value| {
        (
            r["target"].to_string(),
            r["scenario"].to_string(),
            r["extra"]["rate_limit"].to_string(),
        )
    };
    let mut best: Vec<Value> = Vec::new();
    for r in rows {
        match best.iter_mut().find(|b| key(b) == key(&r)) {
            None => best.push(r),
            Some(b) => {
                let failed = |v: &Value| v["passed"].as_bool() != Some(true);
                let rate = |v: &Value| v["ops_per_s"].as_f64().unwrap_or(0.0);
                if !failed(b) && (failed(&r) || rate(&r) > rate(b)) {
                    *b = r;
                }
            }
        }
    }
    best
}

/// One line per panel: the headline figure of each server side by side.
pub fn summary(panels: &[Panel]) -> String {
    let mut s = String::new();
    for p in panels {
        let bars: Vec<String> = p
            .bars
            .iter()
            .map(|(t, v)| {
                format!(
                    "{t} {}",
                    if *v >= 100.0 {
                        format!("{v:.0}")
                    } else {
                        format!("{v:.1}")
                    }
                )
            })
            .collect();
        let _ = writeln!(s, "- {}: {}", p.title, bars.join(", "));
    }
    s
}

/// One line per `presence` row about its initial-presence storm (kept in the JSON `extra`).
pub fn storms(rows: &[Value]) -> String {
    let mut s = String::new();
    for r in rows.iter().filter(|r| r["scenario"] == "presence") {
        let e = &r["extra"];
        let _ = writeln!(
            s,
            "- presence storm ({}): {} users with rosters of {} came online at once; all saw all \
             their contacts in {} s ({} presence stanzas, {}/s, server CPU {} s)",
            r["target"].as_str().unwrap_or("?"),
            r["sessions"],
            e["roster_size"],
            num(&e["storm_secs"], 2),
            e["storm_presence_stanzas"],
            e["storm_stanzas_per_s"],
            num(&e["storm_server_cpu_s"], 2),
        );
    }
    s
}

/// The markdown table for a set of results.
pub fn table(rows: &[Value]) -> String {
    let mut s = String::from(
        "| scenario | server | sessions | logins/s | rate | p50 ms | p99 ms | p99.9 ms | server CPU s | per server CPU-s | server RSS MiB | RSS/session KiB | bench CPU s | lost | ok |\n\
         |---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for r in rows {
        let lat = &r["latency"];
        let rss_after = r["server"]["rss_after_kib"].as_f64().unwrap_or(0.0) / 1024.0;
        let per_session = r["extra"]["rss_per_session_bytes"]
            .as_f64()
            .map(|b| format!("{:.1}", b / 1024.0))
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {} | {} | {} | {} |",
            r["scenario"].as_str().unwrap_or("?"),
            r["target"].as_str().unwrap_or("?"),
            r["sessions"],
            num(&r["connect"]["per_s"], 0),
            rate(r),
            ms(&lat["p50_us"]),
            ms(&lat["p99_us"]),
            ms(&lat["p999_us"]),
            server_cpu(r),
            num(&r["ops_per_server_cpu_s"], 0),
            rss_after,
            per_session,
            num(&r["client_cpu_s"], 2),
            r["lost"],
            if r["passed"].as_bool() == Some(true) {
                "yes"
            } else {
                "**NO**"
            },
        );
    }
    s
}

pub fn write_report(args: &ReportArgs) -> Result<(), BenchError> {
    let text = std::fs::read_to_string(&args.results)
        .map_err(|e| BenchError::Setup(format!("reading {}: {e}", args.results.display())))?;
    let rows: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let rows = best_of(rows);
    let mut section = format!("{START}\n");
    if !args.note.is_empty() {
        section += &args.note;
        section += "\n\n";
    }
    section += &table(&rows);
    section += "\n";
    section += &summary(&panels(&rows));
    section += &storms(&rows);
    if let Some(png) = &args.plot {
        #[cfg(feature = "bench-plot")]
        {
            plot::draw(&rows, png)?;
            let name = png
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("bench.png");
            section += &format!("\n![throughput per scenario]({name})\n");
        }
        #[cfg(not(feature = "bench-plot"))]
        eprintln!(
            "lilt-bench report: not drawing {}: rebuild with --features bench-plot",
            png.display()
        );
    }
    section += END;
    let doc = std::fs::read_to_string(&args.out).unwrap_or_default();
    let new_doc = match (doc.find(START), doc.find(END)) {
        (Some(a), Some(b)) if b > a => format!("{}{section}{}", &doc[..a], &doc[b + END.len()..]),
        _ => format!("{doc}\n## Results\n\n{section}\n"),
    };
    std::fs::write(&args.out, new_doc)
        .map_err(|e| BenchError::Setup(format!("writing {}: {e}", args.out.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_marks_failed_runs_and_formats_latency_in_ms() {
        let row = serde_json::json!({
            "scenario": "iq", "target": "prosody", "sessions": 10, "passed": false,
            "connect": {"per_s": 100.0}, "ops_per_s": 5000.0, "unit": "pings",
            "latency": {"p50_us": 1500, "p99_us": 3000, "p999_us": 9000},
            "server": {"cpu_s": 1.0, "rss_after_kib": 2048}, "secs": 2.0, "ops_per_server_cpu_s": 5000.0,
            "client_cpu_s": 0.5, "lost": 2, "extra": {}
        });
        let t = table(&[row]);
        assert!(
            t.contains("| iq | prosody | 10 | 100 | 5000 pings/s | 1.50 | 3.00 | 9.00 |"),
            "{t}"
        );
        assert!(t.contains("| 2 | **NO** |"));
        assert!(t.contains("| 1.00 (50 %) |"), "{t}");
    }

    #[test]
    fn best_of_keeps_the_fastest_repetition_unless_one_failed() {
        let row = |scenario: &str, rate: f64, passed: bool| {
            serde_json::json!({"target": "prosody", "scenario": scenario, "ops_per_s": rate,
                               "passed": passed, "extra": {}})
        };
        let best = best_of(vec![
            row("iq", 5.0, true),
            row("iq", 9.0, true),
            row("login", 1.0, true),
        ]);
        assert_eq!(best.len(), 2);
        assert_eq!(best[0]["ops_per_s"], 9.0);
        let best = best_of(vec![
            row("iq", 5.0, true),
            row("iq", 1.0, false),
            row("iq", 9.0, true),
        ]);
        assert_eq!(best[0]["passed"], false);
    }

    #[test]
    fn panels_put_ws_echo_beside_pingpong_and_skip_echo_only_scenarios() {
        let rows = vec![
            serde_json::json!({"scenario": "pingpong", "target": "prosody", "ops_per_s": 10.0, "extra": {}}),
            serde_json::json!({"scenario": "echo", "target": "ws-echo", "ops_per_s": 99.0,
                               "extra": {"rss_per_session_bytes": 2048}}),
        ];
        let p = panels(&rows);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(
            summary(&p),
            "- pingpong: messages/s (ws-echo: frames/s): prosody 10.0, ws-echo 99.0\n"
        );
        assert_eq!(
            p[0].bars,
            vec![("prosody".to_string(), 10.0), ("ws-echo".to_string(), 99.0)]
        );
    }
}
