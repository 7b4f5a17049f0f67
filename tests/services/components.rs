//! Component hosts (reference §12): a `Component` section is a host of its own whose
//! modules answer stanzas addressed to its domain and JIDs.

#[path = "components/external.rs"]
mod external;
use crate::support;

use support::{Server, WsClient, HOST};

fn config() -> String {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/components");
    format!(
        r#"
http_ports = {{ 0 }}
s2s_ports = {{ }} -- mod_s2s is autoloaded and would bind 5269
https_ports = {{ }}
c2s_ports = {{ }}
data_path = "data"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
plugin_paths = {{ "{fixtures}" }}
modules_enabled = {{ "websocket", "http", "disco", "ping", "roster" }}
VirtualHost "{HOST}"
Component "echo.{HOST}" "echo_component"
    name = "Echo service"
    modules_enabled = {{ "host_facts" }}
Component "hidden.{HOST}" "echo_component"
    disco_hidden = true
"#
    )
}

async fn login(s: &Server, user: &str) -> WsClient {
    s.add_user(user, "pw");
    let mut c = WsClient::connect(s.addr).await;
    let jid = c.login(user, "pw", "web").await;
    assert_eq!(jid, format!("{user}@{HOST}/web"));
    c
}

#[tokio::test]
async fn a_lua_module_on_a_component_answers_an_iq_from_a_websocket_user() {
    let s = Server::start(&config()).await;
    let mut a = login(&s, "alice").await;
    a.send_text(&format!(
        "<iq xmlns='jabber:client' type='get' id='e1' to='echo.{HOST}'><echo xmlns='urn:example:echo'/></iq>"
    ))
    .await;
    let r = a.next_text().await;
    assert!(r.contains("type='result'") && r.contains("id='e1'"), "{r}");
    assert!(r.contains("type='component'"), "get_host_type: {r}");
    assert!(r.contains(&format!(">echo.{HOST}</echo>")), "{r}");
}

#[tokio::test]
async fn a_message_to_a_jid_of_the_component_reaches_its_hook() {
    let s = Server::start(&config()).await;
    let mut a = login(&s, "alice").await;
    a.send_text(&format!(
        "<message xmlns='jabber:client' to='someone@echo.{HOST}' type='chat'><body>hi</body></message>"
    ))
    .await;
    let r = a.next_text().await;
    assert!(r.contains("<body>got hi #1</body>"), "{r}");
    assert!(r.contains(&format!("from='someone@echo.{HOST}'")), "{r}");
}

#[tokio::test]
async fn an_unhandled_iq_to_a_component_is_service_unavailable_not_remote() {
    let s = Server::start(&config()).await;
    let mut a = login(&s, "alice").await;
    a.send_text(&format!(
        "<iq xmlns='jabber:client' type='get' id='v1' to='echo.{HOST}'><query xmlns='jabber:iq:version'/></iq>"
    ))
    .await;
    let r = a.next_text().await;
    assert!(r.contains("service-unavailable"), "{r}");
    assert!(!r.contains("remote domains"), "{r}");
}

#[tokio::test]
async fn disco_items_on_the_parent_host_lists_components_by_name_unless_hidden() {
    let s = Server::start(&config()).await;
    let mut a = login(&s, "alice").await;
    a.send_text(&format!(
        "<iq xmlns='jabber:client' type='get' id='d1' to='{HOST}'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>"
    ))
    .await;
    let r = a.next_text().await;
    assert!(
        r.contains(&format!("<item jid='echo.{HOST}' name='Echo service'/>")),
        "{r}"
    );
    assert!(!r.contains("hidden."), "{r}");
}

#[tokio::test]
async fn a_component_host_object_has_type_component_send_and_no_sessions_table() {
    let s = Server::start(&config()).await;
    let mut a = login(&s, "alice").await;
    a.send_text(&format!(
        "<iq xmlns='jabber:client' type='get' id='f1' to='echo.{HOST}'><facts xmlns='urn:example:host-facts'/></iq>"
    ))
    .await;
    let r = a.next_text().await;
    assert!(r.contains("type='component'"), "{r}");
    assert!(
        r.contains("sessions='no'") && r.contains("send='yes'"),
        "{r}"
    );
}

#[tokio::test]
async fn a_component_inherits_only_the_inheritable_global_modules() {
    // `ping` and `roster` are in the global modules_enabled, but not inheritable (§12.1).
    let s = Server::start(&config()).await;
    let mut a = login(&s, "alice").await;
    a.send_text(&format!(
        "<iq xmlns='jabber:client' type='get' id='pi' to='echo.{HOST}'><ping xmlns='urn:xmpp:ping'/></iq>"
    ))
    .await;
    let r = a.next_text().await;
    assert!(
        r.contains("service-unavailable") && r.contains("id='pi'"),
        "{r}"
    );
    let h = s.shared.config.modules_for_host(&format!("echo.{HOST}"));
    assert!(h.contains("iq") && h.contains("echo_component"), "{h:?}");
    assert!(
        !h.contains("ping") && !h.contains("roster") && !h.contains("message"),
        "{h:?}"
    );
}
