//! In-band registration (XEP-0077) through a real WebSocket client: the stream feature
//! and account creation when `allow_registration` is on, refusal when it is off, and
//! password change and account removal once logged in.

use crate::support;

use base64::Engine;
use support::*;

fn config(allow: bool) -> String {
    format!(
        r#"
http_ports = {{ 0 }}
https_ports = {{ }}
data_path = "data"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
allow_registration = {allow}
modules_enabled = {{ "websocket", "http", "disco", "register" }}
VirtualHost "{HOST}"
"#
    )
}

async fn auth(c: &mut WsClient, user: &str, password: &str) -> String {
    let payload = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
    c.send_text(&format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{payload}</auth>"
    ))
    .await;
    c.next_text().await
}

const REGISTER: &str = "<iq type='set' id='r1'><query xmlns='jabber:iq:register'><username>Carol</username><password>s3cret</password></query></iq>";

#[tokio::test]
async fn registration_when_allowed_creates_an_account_that_can_log_in() {
    let s = Server::start(&config(true)).await;
    let mut c = WsClient::connect(s.addr).await;
    let (_, features) = c.open(HOST).await;
    assert!(
        features.contains("<register xmlns='http://jabber.org/features/iq-register'/>"),
        "{features}"
    );
    let form = ask(
        &mut c,
        "<iq type='get' id='f1'><query xmlns='jabber:iq:register'/></iq>",
        "f1",
    )
    .await;
    assert!(
        form.contains("<username/>")
            && form.contains("<password/>")
            && form.contains("var='FORM_TYPE'"),
        "{form}"
    );
    let r = ask(&mut c, REGISTER, "r1").await;
    assert!(r.contains("type='result'"), "{r}");
    let r = ask(&mut c, &REGISTER.replace("r1", "r2"), "r2").await;
    assert!(
        r.contains("conflict") && r.contains("The requested username already exists."),
        "{r}"
    );
    let details = s
        .dir
        .path()
        .join("data/example%2etest/account_details/carol.dat");
    let text = std::fs::read_to_string(&details).expect("account_details written");
    assert!(text.contains("[\"registered\"] = "), "{text}");
    assert!(s
        .shared
        .accounts
        .test_password(HOST, "carol", "s3cret")
        .expect("read account"));
    let success = auth(&mut c, "carol", "s3cret").await;
    assert!(success.contains("<success"), "{success}");
}

#[tokio::test]
async fn registration_is_refused_when_not_allowed() {
    let s = Server::start(&config(false)).await;
    let mut c = WsClient::connect(s.addr).await;
    let (_, features) = c.open(HOST).await;
    assert!(!features.contains("iq-register"), "{features}");
    let r = ask(&mut c, REGISTER, "r1").await;
    assert!(r.contains("service-unavailable"), "{r}");
    assert!(
        !s.shared.accounts.exists(HOST, "carol").expect("read"),
        "no account made"
    );
}

#[tokio::test]
async fn missing_fields_and_bad_usernames_are_not_acceptable() {
    let s = Server::start(&config(true)).await;
    let mut c = WsClient::connect(s.addr).await;
    c.open(HOST).await;
    let r = ask(&mut c, "<iq type='set' id='m1'><query xmlns='jabber:iq:register'><username>dave</username></query></iq>", "m1").await;
    assert!(
        r.contains("not-acceptable") && r.contains("Password: Required value missing"),
        "{r}"
    );
    let r = ask(&mut c, "<iq type='set' id='m2'><query xmlns='jabber:iq:register'><username>a@b</username><password>x</password></query></iq>", "m2").await;
    assert!(r.contains("The requested username is invalid."), "{r}");
}

#[tokio::test]
async fn logged_in_user_changes_password_and_removes_the_account() {
    let s = Server::start(&config(false)).await;
    s.add_user("alice", "old");
    let private = s.dir.path().join("data/example%2etest/private");
    std::fs::create_dir_all(&private).expect("mkdir");
    std::fs::write(private.join("alice.dat"), "return {};\n").expect("write");
    let mut c = WsClient::connect(s.addr).await;
    c.login("alice", "old", "r").await;
    let r = ask(
        &mut c,
        "<iq type='get' id='g1'><query xmlns='jabber:iq:register'/></iq>",
        "g1",
    )
    .await;
    assert!(
        r.contains("<registered/>") && r.contains("<username>alice</username>"),
        "{r}"
    );
    let r = ask(&mut c, "<iq type='set' id='c1'><query xmlns='jabber:iq:register'><username>alice</username><password>new</password></query></iq>", "c1").await;
    assert!(r.contains("type='result'"), "{r}");
    assert!(s
        .shared
        .accounts
        .test_password(HOST, "alice", "new")
        .expect("read"));
    let r = ask(
        &mut c,
        "<iq type='set' id='x1'><query xmlns='jabber:iq:register'><remove/></query></iq>",
        "x1",
    )
    .await;
    assert!(r.contains("type='result'"), "{r}");
    let (texts, _) = c.until_close().await;
    assert!(
        texts
            .iter()
            .any(|t| t.contains("not-authorized") && t.contains("Account deleted")),
        "{texts:?}"
    );
    assert!(!s.shared.accounts.exists(HOST, "alice").expect("read"));
    let dir = s.dir.path().join("data/example%2etest");
    assert!(
        !dir.join("private/alice.dat").exists(),
        "the user's stores are purged"
    );
}
