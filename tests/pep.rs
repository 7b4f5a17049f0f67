//! PEP and pubsub (issue 17): raw-client scenarios run against Lilt and, as the
//! reference, against Debian's Prosody 0.12.3 on free loopback ports; the pubsub
//! component; data written by one server served by the other.

#[path = "harness/mod.rs"]
mod shared_harness;
use shared_harness::{common, support, tcp_support};

#[path = "pep/datadir.rs"]
mod datadir;
#[path = "pep/differential.rs"]
mod differential;
#[path = "pep/harness.rs"]
mod harness;
#[path = "pep/lifecycle.rs"]
mod lifecycle;
#[path = "pep/lua.rs"]
mod lua;
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

/// slixmpp's xep_0060/xep_0163/xep_0084 (and xep_0172) publish and receive notifications.
#[tokio::test]
async fn slixmpp_publishes_and_receives_pep_notifications() {
    let python = std::env::var("LILT_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_slixmpp = std::process::Command::new(&python)
        .args(["-c", "import slixmpp"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_slixmpp
        && !common::missing_dependency("slixmpp is not installed (tests/interop/requirements.txt)")
    {
        return;
    }
    let mods: Vec<String> = harness::MODULES
        .iter()
        .chain(["tls"].iter())
        .map(|m| format!("{m:?}"))
        .collect();
    let server =
        tcp_support::TcpServer::start(&format!("modules_enabled = {{ {} }}", mods.join(", ")))
            .await;
    for u in USERS {
        server.add_user(u, harness::PW);
    }
    harness::write_rosters(&server.dir.path().join("data"), ROSTERS);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/slixmpp_pep.py");
    let mut child = tokio::process::Command::new(&python)
        .arg(script)
        .args(["--port", &server.c2s.port().to_string()])
        .args([
            "--ca",
            &server.ca_path.display().to_string(),
            "--timeout",
            "15",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run python");
    let read = |pipe: Option<Box<dyn tokio::io::AsyncRead + Unpin + Send>>| {
        tokio::spawn(async move {
            let mut s = String::new();
            if let Some(mut p) = pipe {
                let _ = tokio::io::AsyncReadExt::read_to_string(&mut p, &mut s).await;
            }
            s
        })
    };
    let out_task = read(child.stdout.take().map(|p| Box::new(p) as _));
    let err_task = read(child.stderr.take().map(|p| Box::new(p) as _));
    let status = tokio::time::timeout(std::time::Duration::from_secs(50), child.wait()).await;
    if status.is_err() {
        let _ = child.kill().await;
    }
    let stdout = out_task.await.unwrap_or_default();
    let stderr = err_task.await.unwrap_or_default();
    assert!(
        matches!(status, Ok(Ok(s)) if s.success()),
        "slixmpp PEP run failed ({status:?}):\n{stdout}\n{stderr}"
    );
    for step in [
        "avatar notified",
        "nick notified",
        "item notified",
        "items fetched",
        "avatar fetched",
    ] {
        assert!(
            stdout.contains(&format!("\"step\": \"{step}\", \"ok\": true")),
            "{step}: {stdout}"
        );
    }
}

#[tokio::test]
async fn own_resource_with_notify_gets_its_notification_and_the_reply() {
    let lilt = harness::lilt(USERS, ROSTERS, "").await;
    let mut a = harness::Conn::login(lilt.addr, "alice", "pc").await;
    let q = "<query xmlns='http://jabber.org/protocol/disco#info'><identity category='client' type='pc'/><feature var='urn:xmpp:avatar:metadata+notify'/></query>";
    let ver = lilt::modules::pep::caps::ver(&harness::parse(q));
    a.send(&format!("<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='{ver}'/></presence>")).await;
    let frames = a.sync().await;
    assert!(
        frames.iter().any(|f| f.contains("id='disco'")),
        "{frames:?}"
    );
    let q2 = q.replacen(
        "<query xmlns='http://jabber.org/protocol/disco#info'>",
        &format!("<query xmlns='http://jabber.org/protocol/disco#info' node='n#{ver}'>"),
        1,
    );
    a.send(&format!(
        "<iq type='result' id='disco' to='alice@example.test'>{q2}</iq>"
    ))
    .await;
    a.sync().await;
    let got = a.exchange("<iq type='set' id='p1'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='urn:xmpp:avatar:metadata'><item id='h'><metadata xmlns='urn:xmpp:avatar:metadata'/></item></publish></pubsub></iq>").await;
    harness::find(&got, &["id='p1'", "type='result'"]);
    harness::find(&got, &["<event", "urn:xmpp:avatar:metadata"]);
}

#[tokio::test]
async fn deleting_an_account_deletes_its_nodes_as_prosody_does() {
    if !common::prosody_ready() {
        return;
    }
    let mods = lifecycle::MODULES;
    let lilt = harness::lilt_mods(USERS, ROSTERS, "", "", mods).await;
    let ours = lifecycle::deletion_scenario(lilt.addr).await;
    let data = tempfile::tempdir().expect("tempdir");
    let prosody = harness::prosody_mods(data.path(), USERS, ROSTERS, "", "", mods);
    let theirs = lifecycle::deletion_scenario(harness::prosody_addr(&prosody)).await;
    assert_same(&ours, &theirs);
    let text = show(&ours);
    assert!(text.contains("<delete node='urn:example:pets'>"), "{text}");
}

#[tokio::test]
async fn lua_plugins_use_pep_services_and_util_pubsub_as_in_prosody() {
    if !common::prosody_ready() {
        return;
    }
    let (mods, extra) = (lua::MODULES, lua::extra());
    let lilt = harness::lilt_mods(USERS, ROSTERS, &extra, lua::TAIL, mods).await;
    let ours = lua::scenario(lilt.addr).await;
    let data = tempfile::tempdir().expect("tempdir");
    let prosody = harness::prosody_mods(data.path(), USERS, ROSTERS, &extra, lua::TAIL, mods);
    let theirs = lua::scenario(harness::prosody_addr(&prosody)).await;
    let text = show(&ours);
    println!("{text}");
    assert_same(&ours, &theirs);
    for needle in [
        "item-published/urn:example:n urn:example:n alice@example.test/pc x1 item(v:xmpp)",
        "<line>stranger reads false forbidden</line>",
        "<line>event n a admin@example.test</line>",
        "<line>event item-published c1 true x true</line>",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
}
