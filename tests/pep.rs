//! PEP and pubsub (issue 17): raw-client scenarios run against Lilt and, as the
//! reference, against Debian's Prosody 0.12.3 on free loopback ports; the pubsub
//! component; data written by one server served by the other.

mod common;
mod support;

#[path = "pep/datadir.rs"]
mod datadir;
#[path = "pep/differential.rs"]
mod differential;
#[path = "pep/harness.rs"]
mod harness;
#[path = "pep/services.rs"]
mod services;

use differential::{ROSTERS, USERS};

type Steps = Vec<(String, Vec<String>)>;

fn show(steps: &[(String, Vec<String>)]) -> String {
    steps
        .iter()
        .map(|(l, f)| format!("== {l}\n{}\n", f.join("\n")))
        .collect()
}

/// Asserts both runs answered alike, step by step.
fn assert_same(ours: &Steps, theirs: &Steps) {
    assert_eq!(ours.len(), theirs.len());
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
}

#[tokio::test]
async fn pep_scenario_answers_as_prosody_does() {
    if !common::prosody_ready() {
        return;
    }
    let lilt = harness::lilt(USERS, ROSTERS, "").await;
    let ours = differential::scenario(lilt.addr).await;
    let data = tempfile::tempdir().expect("tempdir");
    let prosody = harness::prosody(data.path(), USERS, ROSTERS, "");
    let theirs = differential::scenario(harness::prosody_addr(&prosody)).await;
    assert_same(&ours, &theirs);
    // The behaviour itself, so a regression in both cannot pass unseen.
    let text = show(&ours);
    assert!(
        text.contains("<identity category='pubsub' type='pep'></identity>"),
        "{text}"
    );
    assert!(
        text.contains("Field does not match: access_model"),
        "{text}"
    );
}

#[tokio::test]
async fn bookmarks_and_vcards_answer_as_prosody_does() {
    if !common::prosody_ready() {
        return;
    }
    let lilt = harness::lilt(USERS, ROSTERS, "").await;
    let ours = services::data_scenario(lilt.addr).await;
    let data = tempfile::tempdir().expect("tempdir");
    let prosody = harness::prosody(data.path(), USERS, ROSTERS, "");
    let theirs = services::data_scenario(harness::prosody_addr(&prosody)).await;
    assert_same(&ours, &theirs);
    let text = show(&ours);
    assert!(text.contains("<conference autojoin='true' jid='room@muc.example.test' name='Room'><nick>Al</nick></conference>"), "{text}");
    assert!(
        text.contains("<x xmlns='vcard-temp:x:update'><photo>"),
        "{text}"
    );
}

#[tokio::test]
async fn pubsub_component_answers_as_prosody_does() {
    if !common::prosody_ready() {
        return;
    }
    let extra = r#"admins = { "alice@example.test" }"#;
    let tail = format!("Component \"{}\" \"pubsub\"", services::COMPONENT);
    let lilt = harness::lilt_with(USERS, ROSTERS, extra, &tail).await;
    let ours = services::component_scenario(lilt.addr).await;
    let data = tempfile::tempdir().expect("tempdir");
    let prosody = harness::prosody_with(data.path(), USERS, ROSTERS, extra, &tail);
    let theirs = services::component_scenario(harness::prosody_addr(&prosody)).await;
    assert_same(&ours, &theirs);
    let text = show(&ours);
    assert!(
        text.contains("<identity category='pubsub' name='Prosody PubSub Service' type='service'>"),
        "{text}"
    );
}

#[tokio::test]
async fn prosodys_pep_data_serves_in_lilt() {
    if !common::prosody_ready() {
        return;
    }
    let data = tempfile::tempdir().expect("tempdir");
    let theirs = {
        let prosody = harness::prosody(data.path(), USERS, ROSTERS, "");
        datadir::write(harness::prosody_addr(&prosody)).await;
        datadir::read(harness::prosody_addr(&prosody)).await
    };
    let lilt = harness::lilt_on(data.path(), "").await;
    let ours = datadir::read(lilt.addr).await;
    assert_same(&ours, &theirs);
    let text = show(&ours);
    assert!(text.contains("<device id='7'></device>"), "{text}");
    assert!(text.contains(services::PNG), "{text}");
}

#[tokio::test]
async fn lilts_pep_data_serves_in_prosody() {
    if !common::prosody_ready() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("mkdir");
    let ours = {
        let lilt = harness::lilt_on(&data, "").await;
        for u in USERS {
            lilt.add_user(u, harness::PW);
        }
        harness::write_rosters(&data, ROSTERS);
        datadir::write(lilt.addr).await;
        let steps = datadir::read(lilt.addr).await;
        lilt.shutdown_sessions().await;
        steps
    };
    let prosody = harness::prosody_on(&data);
    let theirs = datadir::read(harness::prosody_addr(&prosody)).await;
    assert_same(&ours, &theirs);
}
