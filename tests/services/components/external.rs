//! External components (XEP-0114, reference §12.3) on the `component` port: the header
//! and handshake errors Prosody sends, both conflict policies, the checks on what a
//! component sends, routing both ways, the offline answers, and slixmpp's ComponentXMPP
//! as a real peer.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use lilt::modules::component::listener::{self, ComponentListeners};
use lilt::modules::component::stream::token;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::support::{Server, WsClient, HOST};
use crate::common::{python, slixmpp_available};

pub const SECRET: &str = "s3cret";

pub fn ext() -> String {
    format!("ext.{HOST}")
}

fn config(extra: &str) -> String {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/components");
    format!(
        r#"
plugin_paths = {{ "{fixtures}" }}
http_ports = {{ 0 }}
https_ports = {{ }}
c2s_ports = {{ }}
component_ports = {{ 0 }}
component_interfaces = {{ "127.0.0.1" }}
data_path = "data"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
modules_enabled = {{ "websocket", "http", "disco", "ping", "roster", "limits" }}
{extra}
VirtualHost "{HOST}"
Component "ext.{HOST}"
    component_secret = "{SECRET}"
    name = "External echo"
    modules_enabled = {{ "component_events" }}
Component "nosecret.{HOST}"
"#
    )
}

pub struct Ext {
    pub server: Server,
    pub addr: SocketAddr,
    _listeners: ComponentListeners,
}

pub async fn start(extra: &str) -> Ext {
    let server = Server::start(&config(extra)).await;
    let listeners = listener::start(&server.shared);
    let addr = listeners.addrs()[0];
    Ext {
        server,
        addr,
        _listeners: listeners,
    }
}

/// A raw component connection that reads what the server writes as text.
pub struct RawComponent {
    sock: TcpStream,
    pub got: String,
}

impl RawComponent {
    pub async fn open(addr: SocketAddr, to: Option<&str>) -> RawComponent {
        let sock = TcpStream::connect(addr).await.expect("connect");
        let mut c = RawComponent {
            sock,
            got: String::new(),
        };
        let to = to.map(|t| format!(" to='{t}'")).unwrap_or_default();
        c.send(&format!(
            "<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams'{to}>"
        ))
        .await;
        c
    }

    pub async fn send(&mut self, text: &str) {
        self.sock.write_all(text.as_bytes()).await.expect("write");
    }

    /// Reads until `pat` appears in what was received (5 s at most).
    pub async fn until(&mut self, pat: &str) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !self.got.contains(pat) {
            let mut buf = [0u8; 4096];
            let n = tokio::time::timeout_at(deadline, self.sock.read(&mut buf))
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {pat:?}; got {:?}", self.got))
                .expect("read");
            assert!(
                n > 0,
                "closed while waiting for {pat:?}; got {:?}",
                self.got
            );
            self.got.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        let at = self.got.find(pat).expect("found") + pat.len();
        let taken: String = self.got.drain(..at).collect();
        taken
    }

    /// Reads to the end of the connection (the server closes it after a stream error).
    pub async fn read_to_close(&mut self) -> String {
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), self.sock.read_to_end(&mut rest))
            .await
            .expect("server closes the connection")
            .expect("read");
        let mut all = std::mem::take(&mut self.got);
        all.push_str(&String::from_utf8_lossy(&rest));
        all
    }

    /// The stream id from the server's header.
    pub async fn stream_id(&mut self) -> String {
        self.until("<stream:stream").await;
        let header = self.until(">").await;
        let start = header.find(" id='").expect("id attribute") + 5;
        let len = header[start..].find('\'').expect("end of id");
        header[start..start + len].to_owned()
    }

    /// Opens and completes the handshake as `host`.
    pub async fn login(addr: SocketAddr, host: &str) -> RawComponent {
        let mut c = RawComponent::open(addr, Some(host)).await;
        let id = c.stream_id().await;
        c.send(&format!(
            "<handshake>{}</handshake>",
            token(&id, SECRET).to_uppercase()
        ))
        .await;
        let ok = c.until("<handshake/>").await;
        assert!(!ok.contains("error"), "{ok}");
        c
    }
}

async fn login_ws(s: &Server, user: &str) -> WsClient {
    s.add_user(user, "pw");
    let mut c = WsClient::connect(s.addr).await;
    let jid = c.login(user, "pw", "web").await;
    assert_eq!(jid, format!("{user}@{HOST}/web"));
    c
}

#[tokio::test]
async fn a_header_without_to_is_improper_addressing() {
    let e = start("").await;
    let mut c = RawComponent::open(e.addr, None).await;
    let all = c.read_to_close().await;
    assert!(all.contains("xmlns='jabber:component:accept'"), "{all}");
    assert!(all.contains("<improper-addressing"), "{all}");
    assert!(
        all.contains("A &apos;to&apos; attribute is required on stream headers")
            || all.contains("A 'to' attribute is required on stream headers"),
        "{all}"
    );
    assert!(all.ends_with("</stream:stream>"), "{all}");
}

#[tokio::test]
async fn an_unknown_or_internal_domain_is_host_unknown() {
    let e = start("").await;
    for to in ["nowhere.test".to_owned(), HOST.to_owned()] {
        let mut c = RawComponent::open(e.addr, Some(&to)).await;
        let all = c.read_to_close().await;
        assert!(all.contains("<host-unknown"), "{all}");
        assert!(
            all.contains(&format!(
                "{to} does not match any configured external components"
            )),
            "{all}"
        );
    }
}

#[tokio::test]
async fn the_handshake_is_hex_sha1_of_id_and_secret_in_any_case() {
    let e = start("").await;
    let mut c = RawComponent::open(e.addr, Some(&ext())).await;
    c.until("<stream:stream").await;
    let header = c.until(">").await;
    assert!(header.contains(&format!("from='{}'", ext())), "{header}");
    assert!(
        !header.contains("version="),
        "no version on component streams: {header}"
    );
    let start = header.find(" id='").expect("id") + 5;
    let id = &header[start..start + header[start..].find('\'').expect("id end")];
    c.send(&format!(
        "<handshake>{}</handshake>",
        token(id, SECRET).to_uppercase()
    ))
    .await;
    c.until("<handshake/>").await;
}

#[tokio::test]
async fn a_wrong_secret_is_not_authorized_with_prosodys_text() {
    let e = start("").await;
    let mut c = RawComponent::open(e.addr, Some(&ext())).await;
    let id = c.stream_id().await;
    c.send(&format!("<handshake>{}</handshake>", token(&id, "wrong")))
        .await;
    let all = c.read_to_close().await;
    assert!(all.contains("<not-authorized"), "{all}");
    assert!(
        all.contains("Given token does not match calculated token"),
        "{all}"
    );
}

#[tokio::test]
async fn a_component_without_a_secret_cannot_log_in() {
    let e = start("").await;
    let host = format!("nosecret.{HOST}");
    let mut c = RawComponent::open(e.addr, Some(&host)).await;
    let id = c.stream_id().await;
    c.send(&format!("<handshake>{}</handshake>", token(&id, SECRET)))
        .await;
    let all = c.read_to_close().await;
    assert!(all.contains("<not-authorized"), "{all}");
}

#[tokio::test]
async fn stanzas_before_the_handshake_are_service_unavailable() {
    let e = start("").await;
    let mut c = RawComponent::open(e.addr, Some(&ext())).await;
    c.stream_id().await;
    c.send(&format!(
        "<iq type='get' id='x1' to='{HOST}' from='{}'><ping xmlns='urn:xmpp:ping'/></iq>",
        ext()
    ))
    .await;
    let r = c.until("</iq>").await;
    assert!(
        r.contains("service-unavailable") && r.contains("id='x1'"),
        "{r}"
    );
}

#[tokio::test]
async fn a_second_connection_is_refused_with_kick_new() {
    let e = start("").await;
    let _first = RawComponent::login(e.addr, &ext()).await;
    let mut second = RawComponent::open(e.addr, Some(&ext())).await;
    let id = second.stream_id().await;
    second
        .send(&format!("<handshake>{}</handshake>", token(&id, SECRET)))
        .await;
    let all = second.read_to_close().await;
    assert!(
        all.contains("<conflict") && all.contains("Component already connected"),
        "{all}"
    );
}

#[tokio::test]
async fn kick_old_replaces_the_connected_component() {
    let e = start("component_conflict_resolve = \"kick_old\"").await;
    let mut first = RawComponent::login(e.addr, &ext()).await;
    let _second = RawComponent::login(e.addr, &ext()).await;
    let all = first.read_to_close().await;
    assert!(
        all.contains("<conflict") && all.contains("Replaced by a new connection"),
        "{all}"
    );
}

#[tokio::test]
async fn a_foreign_from_is_invalid_from_and_a_missing_to_is_bad_request() {
    let e = start("").await;
    let mut c = RawComponent::login(e.addr, &ext()).await;
    c.send("<message id='m0' from='x@ext.example.test'><body>no to</body></message>")
        .await;
    let r = c.until("</message>").await;
    assert!(r.contains("bad-request"), "{r}");
    assert!(
        r.contains("Components MUST specify a &apos;to&apos; address on stanzas")
            || r.contains("Components MUST specify a 'to' address on stanzas"),
        "{r}"
    );
    c.send(&format!(
        "<message to='alice@{HOST}' from='mallory@evil.test'><body>x</body></message>"
    ))
    .await;
    let all = c.read_to_close().await;
    assert!(all.contains("<invalid-from"), "{all}");
}

#[tokio::test]
async fn bad_xml_is_not_well_formed() {
    let e = start("").await;
    let mut c = RawComponent::login(e.addr, &ext()).await;
    c.send("<message><</message>").await;
    assert!(c.read_to_close().await.contains("<not-well-formed"));
}

#[tokio::test]
async fn a_first_element_that_is_not_a_stream_is_invalid_namespace() {
    let e = start("").await;
    let mut sock = TcpStream::connect(e.addr).await.expect("connect");
    sock.write_all(b"<hello xmlns='jabber:component:accept'/>")
        .await
        .expect("write");
    let mut all = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), sock.read_to_end(&mut all))
        .await
        .expect("closed")
        .expect("read");
    let all = String::from_utf8_lossy(&all);
    assert!(all.contains("<invalid-namespace"), "{all}");
}

#[tokio::test]
async fn stanzas_flow_both_ways_between_a_component_and_a_websocket_user() {
    let e = start("").await;
    let mut a = login_ws(&e.server, "alice").await;
    let mut c = RawComponent::login(e.addr, &ext()).await;
    a.send_text(&format!(
        "<message xmlns='jabber:client' to='bot@{}' type='chat' id='m1'><body>hi</body></message>",
        ext()
    ))
    .await;
    let got = c.until("</message>").await;
    assert!(got.contains(&format!("from='alice@{HOST}/web'")), "{got}");
    assert!(
        !got.contains("xmlns='jabber:client'"),
        "written without xmlns: {got}"
    );
    assert!(got.contains("<body>hi</body>"), "{got}");
    c.send(&format!(
        "<message to='alice@{HOST}/web' from='bot@{}' type='chat'><body>hello back</body></message>",
        ext()
    ))
    .await;
    let r = a.next_text().await;
    assert!(r.contains("<body>hello back</body>"), "{r}");
    assert!(r.contains(&format!("from='bot@{}'", ext())), "{r}");
    // The component asks the server; the answer comes back down its connection.
    c.send(&format!(
        "<iq type='get' id='d1' to='{HOST}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
    ))
    .await;
    let info = c.until("</iq>").await;
    assert!(
        info.contains("type='result'") && info.contains("category='server'"),
        "{info}"
    );
    assert!(
        info.contains(&format!("to='{}'", ext())),
        "from defaults to the domain: {info}"
    );
}

#[tokio::test]
async fn an_offline_component_is_unavailable_but_answers_disco_with_its_name() {
    let e = start("").await;
    let mut a = login_ws(&e.server, "alice").await;
    a.send_text(&format!(
        "<iq xmlns='jabber:client' type='get' id='o1' to='{}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
        ext()
    ))
    .await;
    let r = a.next_text().await;
    assert!(
        r.contains("type='result'") && r.contains("category='component'"),
        "{r}"
    );
    assert!(r.contains("name='External echo'"), "{r}");
    a.send_text(&format!(
        "<message xmlns='jabber:client' to='bot@{}' id='o2'><body>anyone?</body></message>",
        ext()
    ))
    .await;
    let r = a.next_text().await;
    assert!(
        r.contains("remote-server-timeout") && r.contains("Component unavailable"),
        "{r}"
    );
    assert!(
        r.contains("<not-connected xmlns='xmpp:prosody.im/protocol/component'/>"),
        "{r}"
    );
    assert!(r.contains(&format!("by='{}'", ext())), "{r}");
}

#[tokio::test]
async fn a_disconnected_component_is_offline_again() {
    let e = start("").await;
    let mut a = login_ws(&e.server, "alice").await;
    let c = RawComponent::login(e.addr, &ext()).await;
    drop(c);
    // The core hears of the close asynchronously: ask until the offline answer comes.
    let mut last = String::new();
    for i in 0..50 {
        a.send_text(&format!(
            "<message xmlns='jabber:client' to='bot@{}' id='g{i}'><body>still there?</body></message>",
            ext()
        ))
        .await;
        let r = tokio::time::timeout(Duration::from_millis(200), a.next_text()).await;
        if let Ok(r) = r {
            last = r;
            if last.contains("Component unavailable") {
                return;
            }
        }
    }
    panic!("never offline: {last}");
}

#[tokio::test]
async fn component_authenticated_and_disconnected_fire_on_the_component_host() {
    let e = start("").await;
    let mut a = login_ws(&e.server, "alice").await;
    let c = RawComponent::login(e.addr, &ext()).await;
    drop(c);
    let mut last = String::new();
    for i in 0..50 {
        a.send_text(&format!(
            "<iq xmlns='jabber:client' type='get' id='n{i}' to='{}'><count xmlns='urn:example:component-events'/></iq>",
            ext()
        ))
        .await;
        last = a.next_text().await;
        if last.contains("disconnected='1'") {
            assert!(last.contains("authenticated='1'"), "{last}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no component-disconnected: {last}");
}

#[tokio::test]
async fn shutdown_closes_a_connected_component_with_system_shutdown() {
    let e = start("").await;
    let mut c = RawComponent::login(e.addr, &ext()).await;
    e.server.shutdown_sessions().await;
    let all = c.read_to_close().await;
    assert!(all.contains("<system-shutdown"), "{all}");
}

#[tokio::test]
async fn limits_component_throttles_component_connections() {
    let e = start("limits = { component = { rate = \"1kb/s\", burst = \"1kb\" } }").await;
    use lilt::modules::limits::{SessionKind, SessionLimits};
    let limits = e
        .server
        .shared
        .limits
        .as_ref()
        .expect("mod_limits is loaded");
    assert!(limits.for_session_type(SessionKind::Component).is_some());
    // The listener reads through a SessionLimits of kind Component.
    let mut component = SessionLimits::new(&e.server.shared, SessionKind::Component, None);
    assert!(
        component.after_read(64 * 1024).is_some(),
        "a component reading past limits.component waits"
    );
}

fn slixmpp(addr: SocketAddr, secret: &str) -> tokio::process::Child {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/slixmpp_component.py"
    );
    tokio::process::Command::new(python())
        .arg(script)
        .args(["--port", &addr.port().to_string(), "--jid", &ext()])
        .args(["--secret", secret, "--server", HOST])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start python")
}

struct Lines(tokio::io::Lines<BufReader<tokio::process::ChildStdout>>);

impl Lines {
    async fn until(&mut self, prefix: &str) -> String {
        let wait = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(line) = self.0.next_line().await.expect("read stdout") {
                if line.starts_with(prefix) {
                    return line;
                }
            }
            panic!("slixmpp ended before {prefix:?}");
        });
        wait.await
            .unwrap_or_else(|_| panic!("no {prefix:?} from slixmpp"))
    }
}

#[tokio::test]
async fn slixmpp_component_logs_in_answers_disco_and_echoes_a_websocket_user() {
    if !slixmpp_available() {
        return;
    }
    let e = start("").await;
    let mut a = login_ws(&e.server, "alice").await;
    let mut child = slixmpp(e.addr, SECRET);
    let mut out = Lines(BufReader::new(child.stdout.take().expect("stdout")).lines());
    out.until("READY").await;
    let disco = out.until("SERVER_DISCO").await;
    assert_eq!(disco, "SERVER_DISCO server/im");

    a.send_text(&format!(
        "<iq xmlns='jabber:client' type='get' id='s1' to='{}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
        ext()
    ))
    .await;
    let info = a.next_text().await;
    assert!(
        info.contains("type='result'") && info.contains("name='Slix echo'"),
        "{info}"
    );

    a.send_text(&format!(
        "<message xmlns='jabber:client' to='bot@{}' type='chat' id='s2'><body>ping &amp; pong</body></message>",
        ext()
    ))
    .await;
    let got = out.until("GOT").await;
    assert_eq!(got, format!("GOT alice@{HOST}/web ping & pong"));
    let echo = a.next_text().await;
    assert!(
        echo.contains("<body>echo: ping &amp; pong</body>"),
        "{echo}"
    );
    assert!(echo.contains(&format!("from='bot@{}'", ext())), "{echo}");
}

#[tokio::test]
async fn slixmpp_component_with_the_wrong_secret_gets_not_authorized() {
    if !slixmpp_available() {
        return;
    }
    let e = start("").await;
    let mut child = slixmpp(e.addr, "not-the-secret");
    let mut out = Lines(BufReader::new(child.stdout.take().expect("stdout")).lines());
    let err = out.until("STREAM_ERROR").await;
    assert_eq!(
        err,
        "STREAM_ERROR not-authorized Given token does not match calculated token"
    );
}
