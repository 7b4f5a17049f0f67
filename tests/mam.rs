//! Message archives (XEP-0313, wave-2 reference §15) through real WebSocket clients:
//! what is archived, stanza-ids, queries with forms and paging, preferences, metadata,
//! and the same script against Debian's Prosody 0.12.3 with its stock mod_mam.

#[path = "harness/mod.rs"]
mod harness;
use harness::{common, support};

#[path = "mam/client.rs"]
mod client;
#[path = "mam/differential.rs"]
mod differential;
#[path = "mam/page_bench.rs"]
mod page_bench;
#[path = "mam/shape.rs"]
mod shape;
#[path = "mam/smacks.rs"]
mod smacks;

use client::Client;
use support::{base_config, Server, HOST};

fn config(extra: &str) -> String {
    base_config(extra).replace(
        r#"modules_enabled = { "websocket", "http", "ping", "disco" }"#,
        r#"modules_enabled = { "websocket", "http", "ping", "disco", "roster", "mam" }"#,
    )
}

async fn pair(s: &Server) -> (Client, Client) {
    s.add_user("alice", "pw");
    s.add_user("bob", "pw");
    let a = Client::login(s.addr, "alice", "pw", "pc").await;
    let b = Client::login(s.addr, "bob", "pw", "phone").await;
    (a, b)
}

fn chat(to: &str, body: &str) -> String {
    format!("<message to='{to}' type='chat' id='m-{body}'><body>{body}</body></message>")
}

#[tokio::test]
async fn a_chat_message_is_archived_for_both_parties_and_stamped_with_a_stanza_id() {
    let s = Server::start(&config("")).await;
    let (mut a, mut b) = pair(&s).await;
    a.exchange(&chat(&format!("bob@{HOST}"), "hello")).await;
    let got = b.sync().await;
    let msg = got
        .iter()
        .find(|f| f.contains("<body>hello</body>"))
        .expect("delivered");
    assert!(
        msg.contains(&format!(
            "<stanza-id xmlns='urn:xmpp:sid:0' by='bob@{HOST}'"
        )),
        "the recipient's archive id: {msg}"
    );
    assert!(
        !msg.contains(&format!("by='alice@{HOST}'")),
        "sender's id stays home: {msg}"
    );
    for c in [&mut a, &mut b] {
        let got = c
            .exchange("<iq type='set' id='q'><query xmlns='urn:xmpp:mam:2' queryid='x'/></iq>")
            .await;
        let results: Vec<_> = got.iter().filter(|f| f.contains("<result")).collect();
        assert_eq!(results.len(), 1, "{got:#?}");
        assert!(results[0].contains("queryid='x'") && results[0].contains("<body>hello</body>"));
        assert!(results[0].contains("<delay xmlns='urn:xmpp:delay' stamp='"));
        let fin = got.iter().find(|f| f.contains("<fin")).expect("fin");
        assert!(
            fin.contains("complete='true'") && fin.contains("<count>1</count>"),
            "{fin}"
        );
    }
}

#[tokio::test]
async fn chat_states_alone_and_no_store_hints_are_not_archived() {
    let s = Server::start(&config("")).await;
    let (mut a, mut b) = pair(&s).await;
    a.exchange(&format!("<message to='bob@{HOST}' type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>")).await;
    a.exchange(&format!("<message to='bob@{HOST}' type='chat'><body>x</body><no-store xmlns='urn:xmpp:hints'/></message>")).await;
    a.exchange(&format!(
        "<message to='bob@{HOST}' type='headline'><body>news</body></message>"
    ))
    .await;
    b.sync().await;
    let got = b
        .exchange("<iq type='set' id='q'><query xmlns='urn:xmpp:mam:2'/></iq>")
        .await;
    assert!(!got.iter().any(|f| f.contains("<result")), "{got:#?}");
}

#[tokio::test]
async fn pages_follow_rsm_after_and_before_and_report_completion() {
    let s = Server::start(&config("")).await;
    let (mut a, _b) = pair(&s).await;
    for i in 1..=5 {
        a.exchange(&chat(&format!("bob@{HOST}"), &format!("n{i}")))
            .await;
    }
    let page = |rsm: &str| {
        format!("<iq type='set' id='p'><query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'>{rsm}</set></query></iq>")
    };
    let got = a.exchange(&page("<max>2</max>")).await;
    let bodies = client::bodies(&got);
    assert_eq!(bodies, ["n1", "n2"]);
    let fin = got.iter().find(|f| f.contains("<fin")).expect("fin");
    assert!(!fin.contains("complete="), "more to come: {fin}");
    assert!(fin.contains("<count>5</count>"), "{fin}");
    let last = client::between(fin, "<last>", "</last>").expect("last");
    let got = a
        .exchange(&page(&format!("<max>10</max><after>{last}</after>")))
        .await;
    assert_eq!(client::bodies(&got), ["n3", "n4", "n5"]);
    assert!(got.iter().any(|f| f.contains("complete='true'")));
    // An empty <before/> is the last page, delivered oldest first.
    let got = a.exchange(&page("<max>2</max><before/>")).await;
    assert_eq!(client::bodies(&got), ["n4", "n5"]);
    let got = a.exchange(&page("<after>no-such-id</after>")).await;
    assert!(
        got.iter().any(|f| f.contains("<item-not-found")),
        "{got:#?}"
    );
}

#[tokio::test]
async fn a_form_filters_by_with_and_a_wrong_form_type_is_a_bad_request() {
    let s = Server::start(&config("")).await;
    let (mut a, _b) = pair(&s).await;
    s.add_user("carol", "pw");
    a.exchange(&chat(&format!("bob@{HOST}"), "to-bob")).await;
    a.exchange(&chat(&format!("carol@{HOST}"), "to-carol"))
        .await;
    let form = |ft: &str, with: &str| {
        format!("<iq type='set' id='f'><query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>{ft}</value></field><field var='with'><value>{with}</value></field></x></query></iq>")
    };
    let got = a
        .exchange(&form("urn:xmpp:mam:2", &format!("carol@{HOST}/x")))
        .await;
    assert_eq!(client::bodies(&got), ["to-carol"]);
    let got = a.exchange(&form("urn:xmpp:mam:1", "bob@x")).await;
    assert!(
        got.iter().any(|f| f.contains("<bad-request")
            && f.contains("Unexpected FORM_TYPE, expected &apos;urn:xmpp:mam:2&apos;")
            || f.contains("Unexpected FORM_TYPE, expected 'urn:xmpp:mam:2'")),
        "{got:#?}"
    );
}

#[tokio::test]
async fn preferences_are_stored_as_prosody_keeps_them_and_obeyed() {
    let s = Server::start(&config("")).await;
    let (mut a, _b) = pair(&s).await;
    let got = a
        .exchange(&format!("<iq type='set' id='ps'><prefs xmlns='urn:xmpp:mam:2' default='always'><always/><never><jid>bob@{HOST}</jid></never></prefs></iq>"))
        .await;
    let r = got.iter().find(|f| f.contains("id='ps'")).expect("reply");
    assert!(
        r.contains(&format!("<never><jid>bob@{HOST}</jid></never>")),
        "{r}"
    );
    let stored = std::fs::read_to_string(
        s.dir
            .path()
            .join("data/example%2etest/archive_prefs/alice.dat"),
    )
    .expect("prefs file");
    assert!(stored.contains("[false] = true"), "{stored}");
    assert!(
        stored.contains(&format!("[\"bob@{HOST}\"] = false")),
        "{stored}"
    );
    a.exchange(&chat(&format!("bob@{HOST}"), "private")).await;
    let got = a
        .exchange("<iq type='set' id='q'><query xmlns='urn:xmpp:mam:2'/></iq>")
        .await;
    assert!(client::bodies(&got).is_empty(), "{got:#?}");
}

#[tokio::test]
async fn metadata_names_the_first_and_last_entries() {
    let s = Server::start(&config("")).await;
    let (mut a, _b) = pair(&s).await;
    let got = a
        .exchange("<iq type='get' id='md'><metadata xmlns='urn:xmpp:mam:2'/></iq>")
        .await;
    assert!(
        got.iter()
            .any(|f| f.contains("<metadata xmlns='urn:xmpp:mam:2'/>")),
        "{got:#?}"
    );
    a.exchange(&chat(&format!("bob@{HOST}"), "one")).await;
    a.exchange(&chat(&format!("bob@{HOST}"), "two")).await;
    let got = a
        .exchange("<iq type='get' id='md'><metadata xmlns='urn:xmpp:mam:2'/></iq>")
        .await;
    let md = got
        .iter()
        .find(|f| f.contains("<metadata"))
        .expect("metadata");
    assert!(
        md.contains("<start id='") && md.contains("<end id='"),
        "{md}"
    );
}

#[tokio::test]
async fn the_archive_file_is_prosodys_list_format() {
    let s = Server::start(&config("")).await;
    let (mut a, _b) = pair(&s).await;
    a.exchange(&chat(&format!("bob@{HOST}"), "stored")).await;
    let list = std::fs::read_to_string(s.dir.path().join("data/example%2etest/archive/alice.list"))
        .expect("archive file");
    assert!(list.starts_with("item({"), "{list}");
    assert!(
        list.contains(&format!("[\"with\"] = \"bob@{HOST}\"")),
        "{list}"
    );
    assert!(list.contains("[\"stamp\"] = \""), "{list}");
    assert!(list.contains("[\"key\"] = \""), "{list}");
}

/// Clients decide whether to query the archive from the account's disco#info (Converse.js
/// does): the features must be there, as Prosody's mod_mam adds them.
#[tokio::test]
async fn the_accounts_disco_info_advertises_mam_and_stanza_ids() {
    let s = Server::start(&config("")).await;
    let (mut a, _b) = pair(&s).await;
    let got = a
        .exchange(&format!(
            "<iq type='get' id='d1' to='alice@{HOST}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
        ))
        .await;
    let reply = got
        .iter()
        .find(|f| f.contains("id='d1'"))
        .expect("disco#info answered");
    for var in [
        "urn:xmpp:mam:2",
        "urn:xmpp:mam:2#extended",
        "urn:xmpp:sid:0",
    ] {
        assert!(
            reply.contains(&format!("var='{var}'")),
            "{var} in the account's disco#info: {reply}"
        );
    }
}
