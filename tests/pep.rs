//! PEP and pubsub (issue 17): raw-client scenarios run against Lilt and, as the
//! reference, against Debian's Prosody 0.12.3 on free loopback ports; the pubsub
//! component; data written by one server served by the other.

mod common;
mod support;

#[path = "pep/differential.rs"]
mod differential;
#[path = "pep/harness.rs"]
mod harness;

use differential::{scenario, ROSTERS, USERS};

fn show(steps: &[(String, Vec<String>)]) -> String {
    steps
        .iter()
        .map(|(l, f)| format!("== {l}\n{}\n", f.join("\n")))
        .collect()
}

#[tokio::test]
async fn pep_scenario_answers_as_prosody_does() {
    if !common::prosody_ready() {
        return;
    }
    let lilt = harness::lilt(USERS, ROSTERS, "").await;
    let ours = scenario(lilt.addr).await;
    let data = tempfile::tempdir().expect("tempdir");
    let prosody = harness::prosody(data.path(), USERS, ROSTERS, "");
    let theirs = scenario(harness::prosody_addr(&prosody)).await;
    let mut diffs = Vec::new();
    for ((label, a), (_, b)) in ours.iter().zip(theirs.iter()) {
        if a != b {
            diffs.push(format!(
                "== {label}\nlilt:\n  {}\nprosody:\n  {}\n",
                a.join("\n  "),
                b.join("\n  ")
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} of {} steps differ:\n{}",
        diffs.len(),
        ours.len(),
        diffs.join("\n")
    );
    // The behaviour itself, so a regression in both cannot pass unseen.
    let text = show(&ours);
    assert!(
        text.contains("<identity category='pubsub' type='pep'></identity>"),
        "{text}"
    );
}
