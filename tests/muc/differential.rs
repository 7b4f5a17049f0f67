//! Scripts compared with Prosody. Clients: 0 alice, 1 bob, 2 carol, 3 admin (a server admin).

use crate::diff::differential;

pub const R: &str = "room@conference.example.test";
pub const S: &str = "conference.example.test";

pub fn join(nick: &str) -> String {
    format!("<presence to='{R}/{nick}'><x xmlns='http://jabber.org/protocol/muc'/></presence>")
}

pub fn instant() -> String {
    format!("<iq type='set' id='inst' to='{R}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>")
}

pub fn configure(fields: &str) -> String {
    format!("<iq type='set' id='cfg' to='{R}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>{fields}</x></query></iq>")
}

pub fn field(var: &str, value: &str) -> String {
    format!("<field var='muc#roomconfig_{var}'><value>{value}</value></field>")
}

#[tokio::test]
async fn creation_lock_config_form_join_chat_subject_nick_change_pm_and_leave() {
    let s = [
        (0, join("Al")),
        (0, format!("<iq type='get' id='f1' to='{R}'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>")),
        (1, join("Bo")),
        (0, instant()),
        (1, join("Bo")),
        (0, format!("<message to='{R}' type='groupchat' id='m1'><body>hello</body></message>")),
        (0, format!("<message to='{R}' type='groupchat' id='m2'><subject>Topic</subject></message>")),
        (1, format!("<message to='{R}' type='groupchat' id='m3'><subject>Mine</subject></message>")),
        (1, format!("<presence to='{R}/Bob2'/>")),
        (1, format!("<message to='{R}/Al' type='chat' id='pm'><body>psst</body></message>")),
        (1, format!("<message to='{R}/Nobody' type='chat' id='pm2'><body>?</body></message>")),
        (1, format!("<presence to='{R}/Bob2' type='unavailable'/>")),
        (1, format!("<message to='{R}' type='groupchat' id='m4'><body>out</body></message>")),
    ];
    let steps: Vec<(usize, &str)> = s.iter().map(|(c, x)| (*c, x.as_str())).collect();
    differential("", &[0, 1], &steps).await;
}

#[tokio::test]
async fn history_self_ping_kick_ban_affiliation_list_and_destroy_with_venue() {
    let s = [
        (0, join("Al")),
        (0, configure(&(field("whois", "anyone") + &field("persistentroom", "1")))),
        (0, format!("<message to='{R}' type='groupchat' id='m1'><body>one</body></message>")),
        (0, format!("<message to='{R}' type='groupchat' id='m2'><body>two</body></message>")),
        (0, format!("<message to='{R}' type='groupchat' id='m3'><body>three</body></message>")),
        (1, format!("<presence to='{R}/Bo'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='2'/></x></presence>")),
        (1, format!("<iq type='get' id='sp' to='{R}/Bo'><ping xmlns='urn:xmpp:ping'/></iq>")),
        (1, format!("<iq type='set' id='k0' to='{R}'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='Al' role='none'/></query></iq>")),
        (0, format!("<iq type='set' id='k1' to='{R}'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='Bo' role='none'><reason>bye</reason></item></query></iq>")),
        (2, join("Al")),
        (0, format!("<iq type='set' id='b1' to='{R}'><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='carol@example.test' affiliation='outcast'><reason>no</reason></item></query></iq>")),
        (2, join("Ca")),
        (0, format!("<iq type='get' id='l1' to='{R}'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='outcast'/></query></iq>")),
        (0, format!("<iq type='get' id='l2' to='{R}'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='owner'/></query></iq>")),
        (1, format!("<message to='{R}' type='groupchat' id='nm'><body>x</body></message>")),
        (0, format!("<iq type='set' id='x1' to='{R}'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy jid='other@conference.example.test'><reason>gone</reason></destroy></query></iq>")),
        (1, join("Bo")),
        (1, format!("<iq type='get' id='d9' to='{R}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")),
    ];
    let steps: Vec<(usize, &str)> = s.iter().map(|(c, x)| (*c, x.as_str())).collect();
    differential("", &[0, 1, 2], &steps).await;
}

#[tokio::test]
async fn password_moderation_voice_roles_members_registration_and_disco() {
    let s = [
        (0, format!("<iq type='get' id='d1' to='{S}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")),
        (0, format!("<iq type='get' id='d2' to='{S}'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>")),
        (0, join("Al")),
        (0, configure(&(field("roomname", "Room Three") + &field("publicroom", "1") + &field("roomsecret", "s3cret") + &field("moderatedroom", "1")))),
        (0, format!("<message to='{R}' type='groupchat' id='m2'><subject>Topic</subject></message>")),
        (0, format!("<iq type='get' id='d3' to='{S}'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>")),
        (0, format!("<iq type='get' id='d4' to='{R}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")),
        (0, format!("<iq type='get' id='d5' to='{R}'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>")),
        (1, join("Bo")),
        (1, format!("<presence to='{R}/Bo'><x xmlns='http://jabber.org/protocol/muc'><password>s3cret</password></x></presence>")),
        (1, format!("<message to='{R}' type='groupchat' id='v1'><body>can I?</body></message>")),
        (0, format!("<iq type='set' id='r1' to='{R}'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='Bo' role='participant'/></query></iq>")),
        (0, format!("<iq type='set' id='r2' to='{R}'><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='bob@example.test' affiliation='member'/></query></iq>")),
        (0, format!("<iq type='get' id='r3' to='{R}'><query xmlns='http://jabber.org/protocol/muc#admin'><item role='participant'/></query></iq>")),
        (1, format!("<iq type='get' id='g1' to='{R}'><query xmlns='jabber:iq:register'/></iq>")),
        (1, format!("<iq type='set' id='g2' to='{R}'><query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#register</value></field><field var='muc#register_roomnick'><value>Bobby</value></field></x></query></iq>")),
        (1, format!("<iq type='get' id='g3' to='{R}'><query xmlns='jabber:iq:register'/></iq>")),
        (0, format!("<iq type='get' id='c9' to='{R}'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>")),
        (1, format!("<iq type='get' id='c8' to='{R}'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>")),
    ];
    let steps: Vec<(usize, &str)> = s.iter().map(|(c, x)| (*c, x.as_str())).collect();
    differential("", &[0, 1], &steps).await;
}

#[tokio::test]
async fn members_only_nick_rules_locked_rooms_errors_and_kick_on_presence_error() {
    let s = [
        (0, join("Al")),
        (1, join("Bo")),
        (0, configure(&field("membersonly", "1"))),
        (1, join("Bo")),
        (0, format!("<iq type='set' id='a1' to='{R}'><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='bob@example.test' affiliation='member' nick='Bobby'/></query></iq>")),
        (1, join("Al")),
        (1, join(" ")),
        (2, join("Bobby")),
        (1, join("Bobby")),
        (0, format!("<message to='{R}'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='carol@example.test'><reason>join us</reason></invite></x></message>")),
        (0, format!("<iq type='get' id='l3' to='{R}'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member'/></query></iq>")),
        (2, join("Ca")),
        (2, format!("<message to='{R}' type='groupchat' id='c1'><body>hi</body></message>")),
        (1, format!("<presence to='{R}/Bobby' type='error'><error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>")),
        (0, format!("<iq type='set' id='a2' to='{R}'><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='carol@example.test' affiliation='none'/></query></iq>")),
        (0, format!("<iq type='set' id='a3' to='{R}'><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='alice@example.test' affiliation='member'/></query></iq>")),
        (0, format!("<iq type='set' id='a4' to='{R}'><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='alice@example.test/x' affiliation='member'/></query></iq>")),
        (0, format!("<iq type='set' id='a5' to='{R}'><query xmlns='http://jabber.org/protocol/muc#admin'/></iq>")),
        (3, join("Boss")),
        (0, format!("<presence to='nowhere@{S}/x' type='unavailable'/>")),
        (0, format!("<message to='nowhere@{S}' type='groupchat'><body>?</body></message>")),
    ];
    let steps: Vec<(usize, &str)> = s.iter().map(|(c, x)| (*c, x.as_str())).collect();
    differential("", &[0, 1, 2, 3], &steps).await;
}

#[tokio::test]
async fn non_anonymous_rooms_multi_session_conflicts_probes_declines_voice_and_history_limits() {
    let s = [
        (0, join("Al")),
        (0, configure(&(field("whois", "anyone") + &field("moderatedroom", "1")))),
        (0, format!("<message to='{R}' type='groupchat' id='h1'><body>first message</body></message>")),
        (0, format!("<message to='{R}' type='groupchat' id='h2'><body>second</body><no-store xmlns='urn:xmpp:hints'/></message>")),
        (0, format!("<message to='{R}' type='groupchat' id='h3'><body>third</body></message>")),
        (1, join("Bo")),
        (2, join("Bo")),
        (4, join("Bo")),
        (2, format!("<presence to='{R}/Ca'><x xmlns='http://jabber.org/protocol/muc'><history maxchars='0'/></x></presence>")),
        (1, format!("<message to='{R}'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field><field var='muc#role'><value>participant</value></field></x></message>")),
        (0, format!("<presence to='{R}/Bo' type='probe'/>")),
        (0, format!("<presence to='{R}/Al'><show>away</show><status>lunch</status></presence>")),
        (2, format!("<message to='{R}'><x xmlns='http://jabber.org/protocol/muc#user'><decline to='{R}/Al'><reason>busy</reason></decline></x></message>")),
        (2, format!("<message to='{R}'><x xmlns='http://jabber.org/protocol/muc#user'><bogus/></x></message>")),
        (0, format!("<message to='{R}'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field><field var='muc#jid'><value>bob@example.test/r</value></field><field var='muc#request_allow'><value>1</value></field></x></message>")),
        (4, format!("<presence to='{R}/Bo' type='unavailable'/>")),
        (1, format!("<presence to='{R}/Bo' type='unavailable'/>")),
        (2, format!("<iq type='get' id='v9' to='{R}/Al'><query xmlns='jabber:iq:version'/></iq>")),
    ];
    let steps: Vec<(usize, &str)> = s.iter().map(|(c, x)| (*c, x.as_str())).collect();
    differential("", &[0, 1, 2, 4], &steps).await;
}

#[tokio::test]
async fn config_changes_kick_non_members_hide_roles_and_server_admins_own_every_room() {
    let s = [
        (0, join("Al")),
        (0, instant()),
        (1, join("Bo")),
        (2, join("Ca")),
        (0, format!("<iq type='set' id='m1' to='{R}'><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='carol@example.test' affiliation='member'/></query></iq>")),
        (0, configure(&field("membersonly", "1"))),
        (3, join("Boss")),
        (0, format!("<iq type='set' id='a1' to='{R}'><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='admin@example.test' affiliation='member'/></query></iq>")),
        (0, configure("<field var='muc#roomconfig_presencebroadcast'><value>moderator</value></field>")),
        (0, configure(&(field("roomname", "Renamed") + &field("roomdesc", "About") + &field("changesubject", "1") + &field("historylength", "5")))),
        (2, format!("<message to='{R}' type='groupchat' id='s1'><subject>By carol</subject></message>")),
        (0, format!("<iq type='set' id='o1' to='{R}'><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='alice@example.test' affiliation='admin'/></query></iq>")),
        (2, format!("<iq type='set' id='o2' to='{R}'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='Al' role='visitor'/></query></iq>")),
        (0, format!("<iq type='get' id='c7' to='{R}'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>")),
        (0, format!("<iq type='set' id='c6' to='{R}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:other</value></field></x></query></iq>")),
        (0, format!("<iq type='set' id='c5' to='{R}'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='cancel'/></query></iq>")),
    ];
    let steps: Vec<(usize, &str)> = s.iter().map(|(c, x)| (*c, x.as_str())).collect();
    differential("", &[0, 1, 2, 3], &steps).await;
}

#[tokio::test]
async fn restricted_room_creation_admits_only_server_admins() {
    let s = [
        (0, join("Al")),
        (3, join("Boss")),
        (3, instant()),
        (0, join("Al")),
    ];
    let steps: Vec<(usize, &str)> = s.iter().map(|(c, x)| (*c, x.as_str())).collect();
    differential("restrict_room_creation = true", &[0, 3], &steps).await;
}

#[tokio::test]
async fn a_persistent_room_outlives_its_occupants_with_subject_and_members() {
    let s = [
        (0, join("Al")),
        (0, configure(&(field("persistentroom", "1") + &field("roomname", "Kept")))),
        (0, format!("<message to='{R}' type='groupchat' id='s'><subject>Still here</subject></message>")),
        (0, format!("<iq type='set' id='m1' to='{R}'><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='bob@example.test' affiliation='member' nick='Bobby'/></query></iq>")),
        (0, format!("<presence to='{R}/Al' type='unavailable'/>")),
        (1, join("Bobby")),
        (1, format!("<iq type='get' id='d' to='{R}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")),
        (1, format!("<iq type='get' id='r' to='{R}'><query xmlns='jabber:iq:register'/></iq>")),
        (1, format!("<iq type='get' id='u' to='{S}'><unique xmlns='http://jabber.org/protocol/muc#unique'/></iq>")),
    ];
    let steps: Vec<(usize, &str)> = s.iter().map(|(c, x)| (*c, x.as_str())).collect();
    differential("", &[0, 1], &steps).await;
}

#[tokio::test]
async fn lua_plugins_veto_joins_by_nick_and_add_a_config_field_as_in_prosody() {
    let s = [
        (0, join("Al")),
        (0, format!("<iq type='get' id='f1' to='{R}'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>")),
        (0, configure(&(field("roomname", "Plugged") + &field("membersonly", "1")))),
        (0, format!("<iq type='get' id='f2' to='{R}'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>")),
        (0, format!("<iq type='set' id='m' to='{R}'><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='bob@example.test' affiliation='member'/></query></iq>")),
        (1, join("bot-9000")),
        (1, join("Bob")),
        (2, format!("<presence to='other@{S}/botty'><x xmlns='http://jabber.org/protocol/muc'/></presence>")),
    ];
    let steps: Vec<(usize, &str)> = s.iter().map(|(c, x)| (*c, x.as_str())).collect();
    let got = differential(
        "modules_enabled = { \"muc_nick_veto\", \"muc_extra_field\" }",
        &[0, 1, 2],
        &steps,
    )
    .await;
    let text = got.concat().concat().join("\n");
    assert!(text.contains("Bots are not welcome"), "{text}");
    assert!(text.contains("Quiet hours for Plugged"), "{text}");
}

#[tokio::test]
async fn room_defaults_from_options_shape_new_unlocked_rooms() {
    let s = [
        (0, join("Al")),
        (1, join("Bo")),
        (0, format!("<message to='{R}' type='groupchat' id='1'><body>a</body></message>")),
        (0, format!("<message to='{R}' type='groupchat' id='2'><body>b</body></message>")),
        (0, format!("<message to='{R}' type='groupchat' id='3'><body>c</body></message>")),
        (2, join("Ca")),
        (2, format!("<message to='{R}' type='groupchat' id='s'><subject>anyone may</subject></message>")),
        (0, format!("<iq type='get' id='d' to='{S}'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>")),
        (0, format!("<iq type='get' id='i' to='{R}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")),
        (0, format!("<iq type='get' id='f' to='{R}'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>")),
        (0, format!("<presence to='{R}/Al' type='unavailable'/>")),
        (1, format!("<presence to='{R}/Bo' type='unavailable'/>")),
        (2, format!("<presence to='{R}/Ca' type='unavailable'/>")),
        (1, join("Bo")),
    ];
    let steps: Vec<(usize, &str)> = s.iter().map(|(c, x)| (*c, x.as_str())).collect();
    let options = "name = \"Rooms\"\nmuc_room_locking = false\nmuc_room_default_public = true\nmuc_room_default_persistent = true\nmuc_room_default_public_jids = true\nmuc_room_default_change_subject = true\nmuc_room_default_history_length = 2";
    differential(options, &[0, 1, 2], &steps).await;
}

#[tokio::test]
async fn lua_plugins_hear_room_creation_joins_and_leaves_with_the_origin_prosody_gives() {
    let s = [
        (0, join("Al")),
        (0, instant()),
        (1, join("Bo")),
        (1, format!("<presence to='{R}/Bob'/>")),
        (0, format!("<iq type='set' id='k' to='{R}'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='Bob' role='none'/></query></iq>")),
        (0, format!("<presence to='{R}/Al' type='unavailable'/>")),
    ];
    let steps: Vec<(usize, &str)> = s.iter().map(|(c, x)| (*c, x.as_str())).collect();
    let got = differential("modules_enabled = { \"muc_event_log\" }", &[0, 1], &steps).await;
    let text = got.concat().concat().join("\n");
    assert!(
        text.contains("muc-room-created") && text.contains("muc-occupant-left"),
        "{text}"
    );
}

#[tokio::test]
async fn a_lua_plugin_reaches_rooms_through_depends_and_the_hosts_table() {
    let b = "b@conference.example.test";
    let s = [
        (0, join("Al")),
        (
            0,
            configure(&(field("roomname", "Alpha") + &field("membersonly", "1"))),
        ),
        (
            0,
            format!("<presence to='{b}/Al'><x xmlns='http://jabber.org/protocol/muc'/></presence>"),
        ),
        (
            0,
            format!("<message to='{S}' type='chat'><body>{R}</body></message>"),
        ),
        (
            0,
            format!("<message to='{S}' type='chat'><body>none@{S}</body></message>"),
        ),
    ];
    let steps: Vec<(usize, &str)> = s.iter().map(|(c, x)| (*c, x.as_str())).collect();
    let got = differential("modules_enabled = { \"muc_room_list\" }", &[0], &steps).await;
    let text = got.concat().concat().join("\n");
    assert!(
        text.contains("b@conference.example.test=- room@conference.example.test=Alpha | true")
            && text.contains("| nil"),
        "{text}"
    );
}

#[tokio::test]
async fn invites_with_passwords_iqs_between_occupants_reserved_nick_disco_and_unregistering() {
    let s = [
        (1, "<presence/>".to_owned()),
        (0, join("Al")),
        (0, configure(&field("roomsecret", "pw1"))),
        (0, format!("<message to='{R}'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='bob@example.test'><reason>come</reason></invite></x></message>")),
        (1, format!("<presence to='{R}/Bo'><x xmlns='http://jabber.org/protocol/muc'><password>pw1</password></x></presence>")),
        (0, format!("<iq type='get' id='v1' to='{R}/Bo'><query xmlns='jabber:iq:version'/></iq>")),
        (0, format!("<iq type='set' id='m' to='{R}'><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='bob@example.test' affiliation='member' nick='Bobby'/></query></iq>")),
        (1, format!("<iq type='get' id='x' to='{R}'><query xmlns='http://jabber.org/protocol/disco#info' node='x-roomuser-item'/></iq>")),
        (1, format!("<iq type='set' id='u' to='{R}'><query xmlns='jabber:iq:register'><remove/></query></iq>")),
        (0, format!("<iq type='get' id='l' to='{R}'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member'/></query></iq>")),
        (1, format!("<message to='{R}/Al' type='groupchat'><body>no</body></message>")),
    ];
    let steps: Vec<(usize, &str)> = s.iter().map(|(c, x)| (*c, x.as_str())).collect();
    differential("", &[0, 1], &steps).await;
}

pub fn say(body: &str) -> String {
    let id: String = body.chars().filter(char::is_ascii_alphanumeric).collect();
    format!("<message to='{R}' type='groupchat' id='{id}'><body>{body}</body></message>")
}

#[tokio::test]
async fn a_lua_plugin_drives_rooms_through_setters_save_destroy_and_vetoes_as_in_prosody() {
    let s = [
        (0, join("Al")),
        (0, instant()),
        (1, join("Bo")),
        (2, join("Ca")),
        (0, say("!quiet")),
        (0, say("!shout hello")),
        (0, say("!rename Lounge")),
        (0, format!("<iq type='get' id='i1' to='{R}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")),
        (0, say("!subject Plugged in")),
        (1, say("secret")),
        (1, format!("<message to='{R}/Al' type='chat'><body>blocked</body></message>")),
        (1, format!("<message to='{R}/Al' type='chat'><body>hi</body></message>")),
        (0, say("!whisper Bo")),
        (0, say("!kick Ca")),
        (0, say("!kick Ca")),
        (0, say("!info")),
        (0, say("!configure")),
        (0, say("!info")),
        (0, say("!ban Bo")),
        (0, say("!configure")),
        (1, join("Bo")),
        (0, format!("<iq type='set' id='m' to='{R}'><query xmlns='http://jabber.org/protocol/muc#admin'><item jid='bob@example.test' affiliation='member'/></query></iq>")),
        (1, join("Bo")),
        (0, say("!ban Bo")),
        (1, join("Bo")),
        (0, say("!persist")),
        (0, format!("<presence to='{R}/Al' type='unavailable'/>")),
        (0, format!("<iq type='get' id='i2' to='{R}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")),
        (0, join("Al")),
        (0, say("!destroy elsewhere@conference.example.test")),
        (0, format!("<iq type='get' id='i3' to='{R}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")),
        (1, format!("<presence to='forbidden@{S}/Bo'><x xmlns='http://jabber.org/protocol/muc'/></presence>")),
        (1, format!("<iq type='get' id='i4' to='forbidden@{S}'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")),
    ];
    let steps: Vec<(usize, &str)> = s.iter().map(|(c, x)| (*c, x.as_str())).collect();
    let got = differential(
        "modules_enabled = { \"muc_room_control\" }",
        &[0, 1, 2],
        &steps,
    )
    .await;
    let text = got.concat().concat().join("\n");
    assert!(text.contains("HELLO") && !text.contains("!quiet"), "{text}");
    assert!(text.contains("name is Lounge true false"), "{text}");
    assert!(
        text.contains("plugin destroy") && text.contains("Not this name"),
        "{text}"
    );
}
