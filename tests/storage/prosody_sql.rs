//! Differential with Debian's Prosody 0.12 on SQL storage (lua-dbi-sqlite3,
//! lua-dbi-postgresql): Prosody writes accounts, a roster, a vCard and an offline message;
//! Lilt, on the same database, serves them and writes its own; Prosody then serves what
//! Lilt wrote. The two servers use the database in turn, never at once.

use std::net::SocketAddr;
use std::path::Path;

use crate::common::{prosody_ready, Prosody};
use crate::support::{base_config, Server, WsClient};

const PW: &str = "s3cret";

/// Sends `xml` (namespace added) and returns the frame answering `id`.
async fn ask(c: &mut WsClient, xml: &str, id: &str) -> String {
    c.send_text(&xml.replacen("<iq ", "<iq xmlns='jabber:client' ", 1))
        .await;
    loop {
        let t = c.next_text().await;
        if t.contains(&format!("id='{id}'")) {
            return t;
        }
    }
}

async fn login(addr: SocketAddr, user: &str) -> WsClient {
    let mut c = WsClient::connect(addr).await;
    c.login(user, PW, "t").await;
    c
}

/// Goes online and returns the first message delivered.
async fn first_message(addr: SocketAddr, user: &str) -> String {
    let mut c = login(addr, user).await;
    c.send_text("<presence xmlns='jabber:client'/>").await;
    loop {
        let t = c.next_text().await;
        if t.starts_with("<message") {
            return t;
        }
    }
}

/// One side's writes: a roster item, a vCard and a message to offline bob.
async fn write(addr: SocketAddr, contact: &str, name: &str, fn_text: &str, body: &str) {
    let mut a = login(addr, "alice").await;
    let r = ask(&mut a, &format!("<iq type='set' id='rs'><query xmlns='jabber:iq:roster'><item jid='{contact}' name='{name}'/></query></iq>"), "rs").await;
    assert!(r.contains("type='result'"), "{r}");
    let r = ask(
        &mut a,
        &format!(
            "<iq type='set' id='vs'><vCard xmlns='vcard-temp'><FN>{fn_text}</FN></vCard></iq>"
        ),
        "vs",
    )
    .await;
    assert!(r.contains("type='result'"), "{r}");
    a.send_text(&format!("<message xmlns='jabber:client' to='bob@example.test' type='chat' id='m1'><body>{body}</body></message>")).await;
    // A ping answered after the message was handled.
    ask(
        &mut a,
        "<iq type='get' id='p' to='example.test'><ping xmlns='urn:xmpp:ping'/></iq>",
        "p",
    )
    .await;
}

/// Checks that `addr` serves the other side's writes.
async fn check(
    addr: SocketAddr,
    contact: &str,
    name: &str,
    fn_text: &str,
    body: &str,
    server: &str,
) {
    let mut a = login(addr, "alice").await;
    let roster = ask(
        &mut a,
        "<iq type='get' id='rg'><query xmlns='jabber:iq:roster'/></iq>",
        "rg",
    )
    .await;
    assert!(
        roster.contains(contact) && roster.contains(&format!("name='{name}'")),
        "{server} roster: {roster}"
    );
    let vcard = ask(
        &mut a,
        "<iq type='get' id='vg'><vCard xmlns='vcard-temp'/></iq>",
        "vg",
    )
    .await;
    assert!(
        vcard.contains(&format!("<FN>{fn_text}</FN>")),
        "{server} vCard: {vcard}"
    );
    let msg = first_message(addr, "bob").await;
    assert!(
        msg.contains(&format!("<body>{body}</body>")) && msg.contains("urn:xmpp:delay"),
        "{server} offline: {msg}"
    );
}

fn prosody_on(data: &Path, sql: &str) -> Prosody {
    let p = Prosody::new(data, "example.test");
    let text = std::fs::read_to_string(&p.config_path).expect("config");
    let text = text.replace("\"vcard_legacy\"", "\"vcard\"");
    std::fs::write(
        &p.config_path,
        format!("{text}storage = \"sql\"\nsql = {sql}\n"),
    )
    .expect("write config");
    p
}

fn lilt_config(data: &Path, sql: &str) -> String {
    base_config(&format!("storage = \"sql\"\nsql = {sql}"))
        .replace(
            "\"ping\", \"disco\" }",
            "\"ping\", \"disco\", \"roster\", \"vcard\" }",
        )
        .replace(
            "data_path = \"data\"",
            &format!("data_path = {:?}", data.display().to_string()),
        )
}

async fn round_trip(sql: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut prosody = prosody_on(&data, sql);
    prosody.register("alice", "example.test", PW);
    prosody.register("bob", "example.test", PW);
    prosody.start();
    let paddr: SocketAddr = ([127, 0, 0, 1], prosody.http_port).into();
    write(
        paddr,
        "carol@example.test",
        "Carol",
        "Alice by Prosody",
        "from prosody",
    )
    .await;
    prosody.stop();

    let lilt = Server::start(&lilt_config(&data, sql)).await;
    check(
        lilt.addr,
        "carol@example.test",
        "Carol",
        "Alice by Prosody",
        "from prosody",
        "lilt",
    )
    .await;
    write(
        lilt.addr,
        "dave@example.test",
        "Dave",
        "Alice by Lilt",
        "from lilt",
    )
    .await;
    lilt.shared
        .accounts
        .create("example.test", "erin", PW)
        .expect("lilt creates erin");
    lilt.shutdown_sessions().await;
    lilt.shared.store_exec.flush();
    drop(lilt);

    let mut prosody = prosody_on(&data, sql);
    prosody.start();
    check(
        paddr_of(&prosody),
        "dave@example.test",
        "Dave",
        "Alice by Lilt",
        "from lilt",
        "prosody",
    )
    .await;
    login(paddr_of(&prosody), "erin").await;
    prosody.stop();
}

fn paddr_of(p: &Prosody) -> SocketAddr {
    ([127, 0, 0, 1], p.http_port).into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prosody_and_lilt_serve_each_others_sqlite_database() {
    if !prosody_ready() {
        return;
    }
    round_trip(r#"{ driver = "SQLite3", database = "prosody.sqlite" }"#).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prosody_and_lilt_serve_each_others_postgresql_database() {
    if !prosody_ready() {
        return;
    }
    // The blocking client must not run on the test's runtime threads.
    let url = std::thread::spawn(|| crate::postgres::database_url("prosody"))
        .join()
        .expect("database")
        .expect("database");
    let Ok(lilt::storage::migrate::Location::Sql(p)) =
        lilt::storage::migrate::Location::parse(&url)
    else {
        panic!("bad url {url}");
    };
    let sql = format!(
        r#"{{ driver = "PostgreSQL", database = "{}", host = "{}", port = {}, username = "{}" }}"#,
        p.database,
        p.host.unwrap_or_default(),
        p.port.unwrap_or(5432),
        p.username.unwrap_or_default()
    );
    round_trip(&sql).await;
}
