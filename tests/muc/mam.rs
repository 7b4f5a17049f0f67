//! mod_muc_mam against Prosody's: archiving, queries to the room JID and join history
//! from the archive.

use crate::diff::differential;
use crate::differential::{configure, field, join, say, R, S};

fn mam(id: &str, inner: &str) -> String {
    format!("<iq type='set' id='{id}' to='{R}'><query xmlns='urn:xmpp:mam:2' queryid='q-{id}'>{inner}</query></iq>")
}

#[tokio::test]
async fn muc_mam_archives_room_messages_answers_queries_and_serves_join_history_as_prosody() {
    let s = [
        (0, join("Al")),
        (0, format!("<iq type='get' id='f1' to='{R}'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>")),
        (0, configure(&field("whois", "anyone"))),
        (1, join("Bo")),
        (0, say("one")),
        (1, say("two")),
        (0, format!("<message to='{R}' type='groupchat' id='forged'><body>three</body><stanza-id xmlns='urn:xmpp:sid:0' by='{R}' id='fake'/></message>")),
        (0, format!("<message to='{R}' type='groupchat' id='nostore'><body>four</body><no-store xmlns='urn:xmpp:hints'/></message>")),
        (0, format!("<iq type='get' id='i1' to='{R}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")),
        (1, format!("<iq type='get' id='g' to='{R}'><query xmlns='urn:xmpp:mam:2'/></iq>")),
        (1, mam("all", "")),
        (1, mam("page", "<set xmlns='http://jabber.org/protocol/rsm'><max>2</max></set>")),
        (1, mam("last", "<set xmlns='http://jabber.org/protocol/rsm'><max>2</max><before/></set>")),
        (1, mam("flip", "<set xmlns='http://jabber.org/protocol/rsm'><max>2</max><before/></set><flip-page/>")),
        (1, mam("count", "<set xmlns='http://jabber.org/protocol/rsm'><max>0</max></set>")),
        (1, mam("late", "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:xmpp:mam:2</value></field><field var='start'><value>2100-01-01T00:00:00Z</value></field></x>")),
        (1, mam("badform", "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:example</value></field></x>")),
        (1, mam("badid", "<set xmlns='http://jabber.org/protocol/rsm'><after>nope</after></set>")),
        (2, join("Ca")),
        (0, configure(&(field("whois", "moderators") + &field("membersonly", "1")))),
        (2, mam("notmember", "")),
        (1, format!("<iq type='set' id='none' to='nothere@{S}'><query xmlns='urn:xmpp:mam:2'/></iq>")),
        (0, mam("anon", "")),
        (0, configure(&field("enablearchiving", "0"))),
        (0, say("five")),
        (0, mam("off", "")),
        (0, format!("<iq type='get' id='f2' to='{R}'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>")),
    ];
    let steps: Vec<(usize, &str)> = s.iter().map(|(c, x)| (*c, x.as_str())).collect();
    let got = differential("modules_enabled = { \"muc_mam\" }", &[0, 1, 2], &steps).await;
    let text = got.concat().concat().join("\n");
    assert!(
        text.contains("urn:xmpp:sid:0") && text.contains("<fin"),
        "{text}"
    );
    assert!(!text.contains("id='fake'"), "{text}");
}
