//! The same archive script against Lilt and Debian's Prosody 0.12.3 (stock mod_mam,
//! internal storage): the answers must match once ids and timestamps are blanked.

use std::net::SocketAddr;

use crate::client::{between, Client};
use crate::common::{prosody_ready, Prosody};
use crate::shape::canonical;
use crate::support::{Server, HOST};

/// Runs the script; returns each step's answers in canonical form.
async fn script(addr: SocketAddr) -> Vec<(String, Vec<String>)> {
    let mut a = Client::login(addr, "alice", "pw", "pc").await;
    let mut b = Client::login(addr, "bob", "pw", "phone").await;
    let mut log = Vec::new();
    let bob = format!("bob@{HOST}");
    let steps: Vec<String> = vec![
        format!("<message to='{bob}' type='chat' id='c1'><body>one</body></message>"),
        format!("<message to='{bob}' type='chat' id='c2'><body>two</body><composing xmlns='http://jabber.org/protocol/chatstates'/></message>"),
        format!("<message to='{bob}' type='chat' id='c3'><active xmlns='http://jabber.org/protocol/chatstates'/></message>"),
        format!("<message to='{bob}' type='headline' id='c4'><body>h</body></message>"),
        format!("<message to='{bob}' type='chat' id='c5'><body>three</body></message>"),
        "<iq type='get' id='form'><query xmlns='urn:xmpp:mam:2'/></iq>".into(),
        "<iq type='set' id='all'><query xmlns='urn:xmpp:mam:2' queryid='qa'/></iq>".into(),
        "<iq type='set' id='p1'><query xmlns='urn:xmpp:mam:2' queryid='qp'><set xmlns='http://jabber.org/protocol/rsm'><max>2</max></set></query></iq>".into(),
        "<iq type='set' id='rev'><query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'><max>1</max><before/></set></query></iq>".into(),
        "<iq type='set' id='flip'><query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'><max>2</max><before/></set><flip-page/></query></iq>".into(),
        "<iq type='set' id='cnt'><query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'><max>0</max></set></query></iq>".into(),
        "<iq type='set' id='bad-after'><query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'><after>nope</after></set></query></iq>".into(),
        "<iq type='set' id='ft'><query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:xmpp:mam:1</value></field></x></query></iq>".into(),
        format!("<iq type='set' id='with'><query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:xmpp:mam:2</value></field><field var='with'><value>{bob}/phone</value></field></x></query></iq>"),
        "<iq type='set' id='time'><query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:xmpp:mam:2</value></field><field var='start'><value>2999-01-01T00:00:00Z</value></field></x></query></iq>".into(),
        "<iq type='get' id='pg'><prefs xmlns='urn:xmpp:mam:2'/></iq>".into(),
        format!("<iq type='set' id='ps'><prefs xmlns='urn:xmpp:mam:2' default='roster'><always><jid>carol@{HOST}</jid></always><never><jid>{bob}</jid></never></prefs></iq>"),
        format!("<message to='{bob}' type='chat' id='c6'><body>unarchived</body></message>"),
        "<iq type='set' id='after-prefs'><query xmlns='urn:xmpp:mam:2'/></iq>".into(),
    ];
    for step in steps {
        let frames = a.exchange(&step).await;
        log.push((step, frames.iter().map(|f| canonical(f)).collect()));
    }
    // Paging on from the first page's last id, and bob's side of the conversation.
    let first = a
        .exchange("<iq type='set' id='p1b'><query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'><max>1</max></set></query></iq>")
        .await;
    let last = first
        .iter()
        .find_map(|f| between(f, "<last>", "</last>"))
        .expect("a last id")
        .to_owned();
    let next = a
        .exchange(&format!("<iq type='set' id='p2'><query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'><max>5</max><after>{last}</after></set></query></iq>"))
        .await;
    log.push(("page 2".into(), next.iter().map(|f| canonical(f)).collect()));
    let delivered: Vec<String> = b.sync().await.iter().map(|f| canonical(f)).collect();
    log.push(("bob received".into(), delivered));
    let bobs = b
        .exchange("<iq type='set' id='bq'><query xmlns='urn:xmpp:mam:2'/></iq>")
        .await;
    log.push((
        "bob's archive".into(),
        bobs.iter().map(|f| canonical(f)).collect(),
    ));
    log
}

#[tokio::test]
async fn the_archive_script_answers_as_prosody_does() {
    if !prosody_ready() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut p = Prosody::new(&tmp.path().join("pdata"), HOST);
    let cfg = std::fs::read_to_string(&p.config_path).expect("prosody config");
    let cfg = cfg.replace("\"private\" }", "\"private\", \"mam\" }");
    std::fs::write(&p.config_path, cfg).expect("write prosody config");
    for u in ["alice", "bob"] {
        p.register(u, HOST, "pw");
    }
    p.start();
    let prosody_addr: SocketAddr = format!("127.0.0.1:{}", p.http_port).parse().expect("addr");
    let theirs = script(prosody_addr).await;

    let s = Server::start(&super::config("")).await;
    s.add_user("alice", "pw");
    s.add_user("bob", "pw");
    let ours = script(s.addr).await;

    if std::env::var("LILT_TEST_SHOW").is_ok() {
        eprintln!("{ours:#?}");
    }
    assert_eq!(ours.len(), theirs.len());
    for ((step, mine), (_, prosodys)) in ours.iter().zip(&theirs) {
        assert_eq!(
            mine,
            prosodys,
            "step {step}\n  lilt:    {mine:#?}\n  prosody: {prosodys:#?}\n{}",
            p.log()
                .lines()
                .rev()
                .take(20)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// The ids and bodies of a full archive query, in order.
async fn archive_of(addr: SocketAddr, user: &str) -> Vec<(String, String)> {
    let mut c = Client::login(addr, user, "pw", "q").await;
    let got = c
        .exchange("<iq type='set' id='all'><query xmlns='urn:xmpp:mam:2'/></iq>")
        .await;
    got.iter()
        .filter(|f| f.contains("<result"))
        .map(|f| {
            let id = between(f, "<result", ">")
                .and_then(|attrs| attrs.split("id=").nth(1))
                .map(|v| {
                    v.trim_matches(|c| c == '\'' || c == '"' || c == ' ')
                        .split(['\'', '"'])
                        .next()
                        .unwrap_or("")
                        .to_owned()
                })
                .unwrap_or_default();
            (id, between(f, "<body>", "</body>").unwrap_or("").to_owned())
        })
        .collect()
}

#[tokio::test]
async fn an_archive_prosody_wrote_answers_the_same_through_lilt_and_back() {
    if !prosody_ready() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("shared-data");
    let mut p = Prosody::new(&data, HOST);
    let cfg = std::fs::read_to_string(&p.config_path).expect("prosody config");
    std::fs::write(
        &p.config_path,
        cfg.replace("\"private\" }", "\"private\", \"mam\" }"),
    )
    .expect("write prosody config");
    for u in ["alice", "bob"] {
        p.register(u, HOST, "pw");
    }
    p.start();
    let paddr: SocketAddr = format!("127.0.0.1:{}", p.http_port).parse().expect("addr");
    {
        let mut a = Client::login(paddr, "alice", "pw", "pc").await;
        for body in ["from-prosody-1", "from-prosody-2"] {
            a.exchange(&format!(
                "<message to='bob@{HOST}' type='chat'><body>{body}</body></message>"
            ))
            .await;
        }
    }
    let via_prosody = archive_of(paddr, "alice").await;
    assert_eq!(via_prosody.len(), 2, "{via_prosody:?}");
    p.stop();

    let text = super::config("").replace(
        "data_path = \"data\"",
        &format!("data_path = {:?}", data.display().to_string()),
    );
    let s = Server::start(&text).await;
    let via_lilt = archive_of(s.addr, "alice").await;
    assert_eq!(via_lilt, via_prosody, "same ids and bodies through Lilt");
    {
        let mut a = Client::login(s.addr, "alice", "pw", "pc2").await;
        a.exchange(&format!(
            "<message to='bob@{HOST}' type='chat'><body>from-lilt</body></message>"
        ))
        .await;
    }
    let lilt_after = archive_of(s.addr, "alice").await;
    drop(s);

    p.start();
    let prosody_after = archive_of(paddr, "alice").await;
    assert_eq!(prosody_after.len(), 3, "{prosody_after:?}");
    assert_eq!(
        prosody_after, lilt_after,
        "Prosody reads what Lilt appended"
    );
}
