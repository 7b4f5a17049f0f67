//! Informational services through a real WebSocket client: software version, entity
//! time, server uptime, contact addresses in disco#info, and the CSI stream feature.

use crate::support;

use support::*;

fn config(extra: &str) -> String {
    format!(
        r#"
http_ports = {{ 0 }}
s2s_ports = {{ }} -- mod_s2s is autoloaded and would bind 5269
https_ports = {{ }}
data_path = "data"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
modules_enabled = {{ "websocket", "http", "disco", "version", "time", "uptime", "csi_simple", "server_contact_info" }}
{extra}
VirtualHost "{HOST}"
"#
    )
}

async fn logged_in(s: &Server) -> WsClient {
    s.add_user("alice", "pw");
    let mut c = WsClient::connect(s.addr).await;
    c.login("alice", "pw", "r").await;
    c
}

/// Opens, authenticates with PLAIN and restarts; returns the features after login.
async fn features_after_login(c: &mut WsClient, user: &str, password: &str) -> String {
    use base64::Engine;
    let payload = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
    c.send_text(&format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{payload}</auth>"
    ))
    .await;
    let success = c.next_text().await;
    assert!(success.contains("<success"), "{success}");
    c.open(HOST).await.1
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let a = s
        .find(start)
        .map(|i| i + start.len())
        .unwrap_or_else(|| panic!("{start} in {s}"));
    let b = s[a..]
        .find(end)
        .map(|i| i + a)
        .unwrap_or_else(|| panic!("{end} in {s}"));
    &s[a..b]
}

#[tokio::test]
async fn version_names_lilt_its_version_and_the_os() {
    let s = Server::start(&config("")).await;
    let mut c = logged_in(&s).await;
    let r = ask(
        &mut c,
        &format!("<iq type='get' id='v1' to='{HOST}'><query xmlns='jabber:iq:version'/></iq>"),
        "v1",
    )
    .await;
    assert!(r.contains("type='result'"), "{r}");
    assert_eq!(between(&r, "<name>", "</name>"), "Lilt");
    assert_eq!(
        between(&r, "<version>", "</version>"),
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(between(&r, "<os>", "</os>"), "Linux");
}

#[tokio::test]
async fn version_hides_the_os_when_asked() {
    let s = Server::start(&config("hide_os_type = true")).await;
    let mut c = logged_in(&s).await;
    let r = ask(
        &mut c,
        &format!("<iq type='get' id='v2' to='{HOST}'><query xmlns='jabber:iq:version'/></iq>"),
        "v2",
    )
    .await;
    assert!(
        r.contains("<name>Lilt</name>") && !r.contains("<os>"),
        "{r}"
    );
}

#[tokio::test]
async fn time_answers_utc_in_both_formats_for_host_and_account() {
    let s = Server::start(&config("")).await;
    let mut c = logged_in(&s).await;
    let r = ask(
        &mut c,
        &format!("<iq type='get' id='t1' to='{HOST}'><time xmlns='urn:xmpp:time'/></iq>"),
        "t1",
    )
    .await;
    assert_eq!(between(&r, "<tzo>", "</tzo>"), "+00:00");
    let utc = between(&r, "<utc>", "</utc>");
    assert_eq!(utc.len(), 20, "{utc}");
    assert!(
        utc.ends_with('Z') && &utc[4..5] == "-" && &utc[10..11] == "T",
        "{utc}"
    );
    let r = ask(
        &mut c,
        &format!("<iq type='get' id='t2' to='alice@{HOST}'><query xmlns='jabber:iq:time'/></iq>"),
        "t2",
    )
    .await;
    let legacy = between(&r, "<utc>", "</utc>");
    assert_eq!(legacy.len(), 17, "{legacy}");
    assert_eq!(&legacy[8..9], "T", "{legacy}");
}

#[tokio::test]
async fn uptime_counts_seconds_since_start_on_the_host() {
    let s = Server::start(&config("")).await;
    let mut c = logged_in(&s).await;
    let r = ask(
        &mut c,
        &format!("<iq type='get' id='u1' to='{HOST}'><query xmlns='jabber:iq:last'/></iq>"),
        "u1",
    )
    .await;
    let secs: u64 = between(&r, "seconds='", "'").parse().expect("a number");
    assert!(secs < 60, "just started: {r}");
    let r = ask(&mut c, &format!("<iq type='get' id='d1' to='{HOST}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"), "d1").await;
    for f in [
        "jabber:iq:last",
        "jabber:iq:version",
        "urn:xmpp:time",
        "jabber:iq:time",
    ] {
        assert!(r.contains(&format!("var='{f}'")), "{f} in {r}");
    }
}

#[tokio::test]
async fn contact_info_is_a_serverinfo_form_in_disco() {
    let s = Server::start(&config(
        r#"contact_info = { abuse = { "mailto:abuse@example.test" }, admin = { "xmpp:admin@example.test", "mailto:root@example.test" } }"#,
    ))
    .await;
    let mut c = logged_in(&s).await;
    let r = ask(&mut c, &format!("<iq type='get' id='d2' to='{HOST}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"), "d2").await;
    assert!(r.contains("<x xmlns='jabber:x:data' type='result'>"), "{r}");
    assert!(
        r.contains("<value>http://jabber.org/network/serverinfo</value>"),
        "{r}"
    );
    let admin = between(&r, "var='admin-addresses'>", "</field>");
    assert_eq!(
        admin,
        "<value>xmpp:admin@example.test</value><value>mailto:root@example.test</value>"
    );
    assert!(between(&r, "var='abuse-addresses'>", "</field>").contains("mailto:abuse@example.test"));
    assert!(
        r.contains("var='support-addresses'/>"),
        "unset fields stay, empty: {r}"
    );
}

#[tokio::test]
async fn contact_info_defaults_to_the_admins() {
    let s = Server::start(&config(r#"admins = { "boss@example.test" }"#)).await;
    let mut c = logged_in(&s).await;
    let r = ask(&mut c, &format!("<iq type='get' id='d3' to='{HOST}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"), "d3").await;
    assert!(
        between(&r, "var='admin-addresses'>", "</field>")
            .contains("<value>xmpp:boss@example.test</value>"),
        "{r}"
    );
}

#[tokio::test]
async fn csi_feature_after_login_and_states_are_accepted() {
    let s = Server::start(&config("")).await;
    s.add_user("alice", "pw");
    let mut c = WsClient::connect(s.addr).await;
    let (_, pre) = c.open(HOST).await;
    assert!(!pre.contains("urn:xmpp:csi:0"), "not before login: {pre}");
    let features = features_after_login(&mut c, "alice", "pw").await;
    assert!(
        features.contains("<csi xmlns='urn:xmpp:csi:0'/>"),
        "{features}"
    );
    let bound = ask(&mut c, "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq>", "b1").await;
    assert!(bound.contains("<jid>"), "{bound}");
    c.send_text("<inactive xmlns='urn:xmpp:csi:0'/>").await;
    c.send_text("<active xmlns='urn:xmpp:csi:0'/>").await;
    // The stream is still up: a ping still gets its answer.
    let r = ask(
        &mut c,
        &format!("<iq type='get' id='p1' to='{HOST}'><query xmlns='jabber:iq:version'/></iq>"),
        "p1",
    )
    .await;
    assert!(r.contains("type='result'"), "{r}");
}

#[tokio::test]
async fn csi_feature_is_not_offered_without_a_handler() {
    let s = Server::start(&config("").replace("\"csi_simple\"", "\"csi\"")).await;
    s.add_user("alice", "pw");
    let mut c = WsClient::connect(s.addr).await;
    c.open(HOST).await;
    let features = features_after_login(&mut c, "alice", "pw").await;
    assert!(!features.contains("urn:xmpp:csi:0"), "{features}");
}
