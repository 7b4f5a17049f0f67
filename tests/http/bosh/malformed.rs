//! Broken payloads in a known session, as Prosody's mod_bosh answers them: XML that XMPP
//! forbids (a comment, a processing instruction) reaches its stream callbacks and ends
//! the session with `bad-format`; a plain syntax error only refuses that request with
//! `bad-request`, and the session lives on.

use super::client::{attrs_of, post_bytes, Session, NS};
use super::support::HOST;

/// The answers to: a payload at the session's next rid, then an empty request at the
/// rid after it.
async fn script(addr: std::net::SocketAddr, payload: &str) -> (String, String) {
    let (mut b, _) = Session::create(addr, HOST, HOST, 1).await;
    let rid = b.rid;
    b.rid += 1;
    let raw = format!(
        "<body xmlns='{NS}' rid='{rid}' sid='{}'>{payload}</body>",
        b.sid
    );
    let first = post_bytes(addr, HOST, "/http-bind", raw.as_bytes()).await;
    let after = b.send("", "").await;
    (first.body, after.body)
}

const FORBIDDEN: &str = "<!-- not in XMPP --><message to='x@localhost'/>";
const MISMATCHED: &str = "<message to='x@localhost'><body>hi</message>";

fn condition(body: &str) -> Option<String> {
    attrs_of(body).get("condition").cloned()
}

fn check_forbidden(who: &str, (first, after): &(String, String)) {
    assert_eq!(
        attrs_of(first).get("type").map(String::as_str),
        Some("terminate"),
        "{who}: {first}"
    );
    assert_eq!(
        condition(first).as_deref(),
        Some("remote-stream-error"),
        "{who}: {first}"
    );
    assert!(
        first.contains("<stream:error><bad-format"),
        "{who}: {first}"
    );
    assert!(
        first.contains(">Error processing stream</text>"),
        "{who}: {first}"
    );
    assert_eq!(
        condition(after).as_deref(),
        Some("item-not-found"),
        "{who}: the session is gone: {after}"
    );
}

fn check_mismatched(who: &str, (first, after): &(String, String)) {
    assert_eq!(
        condition(first).as_deref(),
        Some("bad-request"),
        "{who}: {first}"
    );
    // The session lives on: its next request is held for `wait` and answered empty.
    assert_eq!(condition(after), None, "{who}: {after}");
    assert!(after.starts_with("<body"), "{who}: {after}");
}

#[tokio::test]
async fn forbidden_xml_in_a_payload_closes_its_session_with_bad_format() {
    let s = super::server("").await;
    check_forbidden("lilt", &script(s.addr, FORBIDDEN).await);
    check_mismatched("lilt", &script(s.addr, MISMATCHED).await);
    // Forbidden XML in a body that names no session is a plain bad-request.
    let raw = format!("<body xmlns='{NS}' rid='1'><!-- x --></body>");
    let a = post_bytes(s.addr, HOST, "/http-bind", raw.as_bytes()).await;
    assert_eq!(
        condition(&a.body).as_deref(),
        Some("bad-request"),
        "{}",
        a.body
    );
}

/// The same scripts against Debian's Prosody: the same answers.
#[tokio::test]
async fn broken_payloads_are_answered_as_prosody_answers_them() {
    if !super::common::prosody_ready() {
        return;
    }
    let data = tempfile::tempdir().expect("tempdir");
    let mut p = super::common::Prosody::new(data.path(), HOST);
    let cfg = std::fs::read_to_string(&p.config_path).expect("config");
    std::fs::write(
        &p.config_path,
        cfg.replace(
            "\"websocket\", \"http\",",
            "\"websocket\", \"bosh\", \"http\",",
        ),
    )
    .expect("write");
    p.start();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", p.http_port).parse().expect("addr");
    let forbidden = script(addr, FORBIDDEN).await;
    let mismatched = script(addr, MISMATCHED).await;
    p.stop();
    check_forbidden("prosody", &forbidden);
    check_mismatched("prosody", &mismatched);
}
