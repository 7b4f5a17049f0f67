//! The engine fed IQs as a client sends them, without sockets or storage: PEP-shaped
//! and component-shaped services answer as Prosody's util.pubsub does.

use super::config::{ConfigMap, Value};
use super::protocol::handle_iq;
use super::service::*;
use super::store::MemoryStore;
use crate::xml::{Element, Limits, StreamEvent, StreamParser};

const OWNER: &str = "alice@x";

struct Friends(&'static [&'static str]);

impl Relations for Friends {
    fn presence_subscribed(&self, bare: &str) -> bool {
        self.0.contains(&bare)
    }
}

fn pep() -> Service {
    let mut d = ConfigMap::new();
    d.insert("max_items".into(), Value::Int(1));
    d.insert("access_model".into(), "presence".into());
    d.insert(
        "send_last_published_item".into(),
        "on_sub_and_presence".into(),
    );
    Service::new(
        ServiceConfig {
            jid: OWNER.into(),
            owner: Owner::Account(OWNER.into()),
            node_defaults: d,
            max_items: 256,
            autocreate_on_publish: true,
            autocreate_on_subscribe: false,
            expose_publisher: false,
            access_models: &["presence", "whitelist", "open"],
        },
        Box::new(MemoryStore),
    )
}

fn component() -> Service {
    Service::new(
        ServiceConfig {
            jid: "pubsub.x".into(),
            owner: Owner::Component {
                host: "pubsub.x".into(),
                admins: vec!["admin@x".into()],
                admin_affiliation: "owner".into(),
            },
            node_defaults: ConfigMap::new(),
            max_items: 256,
            autocreate_on_publish: false,
            autocreate_on_subscribe: false,
            expose_publisher: false,
            access_models: &["whitelist", "open"],
        },
        Box::new(MemoryStore),
    )
}

fn parse(xml: &str) -> Element {
    let mut p = StreamParser::new(Limits::default());
    let doc = format!("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>{xml}");
    p.feed(doc.as_bytes()).expect("well-formed");
    loop {
        match p.next_event().expect("parses") {
            Some(StreamEvent::Stanza(e)) => return e,
            Some(_) => continue,
            None => panic!("no stanza in {xml}"),
        }
    }
}

fn iq(s: &mut Service, from: &str, rel: &dyn Relations, body: &str) -> String {
    let (t, inner) = body.split_once(':').expect("type:body");
    let stanza = parse(&format!("<iq type='{t}' id='q' from='{from}'>{inner}</iq>"));
    handle_iq(s, &stanza, rel).expect("handled").to_xml()
}

const PS: &str = "xmlns='http://jabber.org/protocol/pubsub'";
const OWNER_NS: &str = "xmlns='http://jabber.org/protocol/pubsub#owner'";

fn publish(node: &str, id: &str, payload: &str) -> String {
    format!("set:<pubsub {PS}><publish node='{node}'><item id='{id}'>{payload}</item></publish></pubsub>")
}

fn broadcasts(s: &mut Service) -> Vec<Broadcast> {
    s.take_effects()
        .into_iter()
        .filter_map(|e| match e {
            Effect::Broadcast(b) => Some(b),
            Effect::Event(_) => None,
        })
        .collect()
}

#[test]
fn pep_publish_autocreates_with_pep_defaults_and_keeps_one_item() {
    let mut s = pep();
    let r = iq(
        &mut s,
        "alice@x/a",
        &Friends(&[]),
        &publish("n", "1", "<p xmlns='urn:p'>one</p>"),
    );
    assert!(
        r.contains("<publish node='n'><item id='1'/></publish>"),
        "{r}"
    );
    iq(
        &mut s,
        "alice@x/a",
        &Friends(&[]),
        &publish("n", "2", "<p xmlns='urn:p'>two</p>"),
    );
    let items = s
        .get_items("n", None, None, None, &NoRelations)
        .expect("items");
    assert_eq!(items.len(), 1, "max_items 1");
    assert_eq!(items[0].id, "2");
    assert_eq!(items[0].publisher.as_deref(), Some("alice@x"));
    // The autocreated node has no owner affiliation (created by the server itself).
    assert!(s.nodes["n"].affiliations.is_empty());
}

#[test]
fn presence_access_lets_subscribed_contacts_read_and_forbids_strangers() {
    let mut s = pep();
    iq(
        &mut s,
        "alice@x/a",
        &Friends(&[]),
        &publish("n", "1", "<p xmlns='urn:p'/>"),
    );
    let get = format!("get:<pubsub {PS}><items node='n'/></pubsub>");
    let friend = iq(&mut s, "bob@x/b", &Friends(&["bob@x"]), &get);
    assert!(
        friend.contains("<item id='1'><p xmlns='urn:p'/></item>"),
        "{friend}"
    );
    assert!(!friend.contains("publisher"), "publisher hidden: {friend}");
    let stranger = iq(&mut s, "eve@x/e", &Friends(&["bob@x"]), &get);
    assert!(
        stranger.contains("<forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"),
        "{stranger}"
    );
    assert!(stranger.contains("type='auth'"), "{stranger}");
}

#[test]
fn publish_options_must_match_an_existing_node() {
    let mut s = pep();
    let with_opts = |model: &str| {
        format!("set:<pubsub {PS}><publish node='n'><item id='1'><p xmlns='urn:p'/></item></publish><publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#publish-options</value></field><field var='pubsub#access_model'><value>{model}</value></field></x></publish-options></pubsub>")
    };
    let r = iq(&mut s, "alice@x/a", &NoRelations, &with_opts("open"));
    assert!(r.contains("type='result'"), "{r}");
    assert_eq!(
        s.nodes["n"].config.get("access_model"),
        Some(&Value::from("open"))
    );
    let r = iq(&mut s, "alice@x/a", &NoRelations, &with_opts("whitelist"));
    assert!(
        r.contains("<precondition-not-met xmlns='http://jabber.org/protocol/pubsub#errors'/>"),
        "{r}"
    );
    assert!(r.contains("Field does not match: access_model"), "{r}");
    let r = iq(&mut s, "alice@x/a", &NoRelations, &with_opts("authorize"));
    assert!(
        r.contains("precondition-not-met"),
        "an existing node checks before models: {r}"
    );
}

#[test]
fn unsupported_access_model_on_create_is_not_acceptable() {
    let mut s = pep();
    let r = iq(&mut s, "alice@x/a", &NoRelations, &format!("set:<pubsub {PS}><create node='n'/><configure><x xmlns='jabber:x:data' type='submit'><field var='pubsub#access_model'><value>roster</value></field></x></configure></pubsub>"));
    assert!(
        r.contains("<not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"),
        "{r}"
    );
    let r = iq(
        &mut s,
        "alice@x/a",
        &NoRelations,
        &format!("set:<pubsub {PS}><create/></pubsub>"),
    );
    assert!(r.contains("<create node='"), "instant node: {r}");
    assert_eq!(s.nodes.len(), 1);
    let node = s.nodes.keys().next().cloned().expect("one node");
    assert_eq!(
        s.nodes[&node].affiliations.get(OWNER).map(String::as_str),
        Some("owner")
    );
}

#[test]
fn errors_for_missing_node_ids_items_and_empty_pubsub() {
    let mut s = pep();
    let r = iq(
        &mut s,
        "alice@x/a",
        &NoRelations,
        &format!("set:<pubsub {PS}><publish/></pubsub>"),
    );
    assert!(
        r.contains("<nodeid-required xmlns='http://jabber.org/protocol/pubsub#errors'/>"),
        "{r}"
    );
    let r = iq(
        &mut s,
        "alice@x/a",
        &NoRelations,
        &format!("set:<pubsub {PS}><retract node='n'/></pubsub>"),
    );
    assert!(r.contains("<item-not-found"), "{r}");
    let r = iq(
        &mut s,
        "alice@x/a",
        &NoRelations,
        &format!("set:<pubsub {PS}/>"),
    );
    assert!(r.contains("type='cancel'><bad-request"), "{r}");
    let r = iq(
        &mut s,
        "alice@x/a",
        &NoRelations,
        &format!("set:<pubsub {PS}><publish node='n'><item id='1'/></publish></pubsub>"),
    );
    assert!(
        r.contains("<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>invalid item</text>"),
        "{r}"
    );
}

#[test]
fn retract_with_notify_broadcasts_a_retract_and_purge_clears() {
    let mut s = pep();
    iq(
        &mut s,
        "alice@x/a",
        &NoRelations,
        &publish("n", "1", "<p xmlns='urn:p'/>"),
    );
    s.take_effects();
    let r = iq(
        &mut s,
        "alice@x/a",
        &NoRelations,
        &format!("set:<pubsub {PS}><retract node='n' notify='1'><item id='1'/></retract></pubsub>"),
    );
    assert!(r.contains("type='result'"), "{r}");
    let b = broadcasts(&mut s);
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].kind, Kind::Retract);
    let r = iq(
        &mut s,
        "alice@x/a",
        &NoRelations,
        &format!("set:<pubsub {PS}><retract node='n'><item id='1'/></retract></pubsub>"),
    );
    assert!(r.contains("item-not-found"), "gone: {r}");
    iq(
        &mut s,
        "alice@x/a",
        &NoRelations,
        &publish("n", "2", "<p xmlns='urn:p'/>"),
    );
    let r = iq(
        &mut s,
        "alice@x/a",
        &NoRelations,
        &format!("set:<pubsub {OWNER_NS}><purge node='n'/></pubsub>"),
    );
    assert!(r.contains("type='result'"), "{r}");
    assert!(s.nodes["n"].items.as_ref().is_some_and(Vec::is_empty));
}

#[test]
fn subscribe_sends_the_last_item_after_the_reply_and_unsubscribe_answers_none() {
    let mut s = pep();
    iq(
        &mut s,
        "alice@x/a",
        &NoRelations,
        &publish("n", "1", "<p xmlns='urn:p'/>"),
    );
    s.take_effects();
    let rel = Friends(&["bob@x"]);
    let r = iq(
        &mut s,
        "bob@x/b",
        &rel,
        &format!("set:<pubsub {PS}><subscribe node='n' jid='bob@x/b'/></pubsub>"),
    );
    assert!(
        r.contains("<subscription node='n' jid='bob@x/b' subscription='subscribed'/>"),
        "{r}"
    );
    let b = broadcasts(&mut s);
    assert_eq!(b.len(), 1, "#last");
    assert!(b[0].config.is_none());
    assert_eq!(b[0].recipients[0].0, "bob@x/b");
    let r = iq(
        &mut s,
        "bob@x/b",
        &rel,
        &format!("set:<pubsub {PS}><subscribe node='n' jid='carol@x'/></pubsub>"),
    );
    assert!(
        r.contains("forbidden"),
        "subscribing others needs owner: {r}"
    );
    let r = iq(
        &mut s,
        "bob@x/b",
        &rel,
        &format!("set:<pubsub {PS}><unsubscribe node='n' jid='bob@x/b'/></pubsub>"),
    );
    assert!(r.contains("subscription='none'"), "{r}");
    let r = iq(
        &mut s,
        "bob@x/b",
        &rel,
        &format!("set:<pubsub {PS}><unsubscribe node='n' jid='bob@x/b'/></pubsub>"),
    );
    assert!(
        r.contains("<not-subscribed xmlns='http://jabber.org/protocol/pubsub#errors'/>"),
        "{r}"
    );
}

#[test]
fn component_only_admins_create_and_open_nodes_are_readable() {
    let mut s = component();
    let create = format!("set:<pubsub {PS}><create node='news'/></pubsub>");
    let r = iq(&mut s, "bob@x/b", &NoRelations, &create);
    assert!(r.contains("forbidden"), "{r}");
    let r = iq(&mut s, "admin@x/a", &NoRelations, &create);
    assert!(r.contains("type='result'"), "{r}");
    let r = iq(
        &mut s,
        "admin@x/a",
        &NoRelations,
        &publish(
            "news",
            "1",
            "<entry xmlns='http://www.w3.org/2005/Atom'><title>T</title></entry>",
        ),
    );
    assert!(r.contains("type='result'"), "{r}");
    let r = iq(
        &mut s,
        "bob@x/b",
        &NoRelations,
        &publish("news", "2", "<p xmlns='urn:p'/>"),
    );
    assert!(r.contains("forbidden"), "members do not publish: {r}");
    let r = iq(
        &mut s,
        "bob@x/b",
        &NoRelations,
        &format!("get:<pubsub {PS}><items node='news'/></pubsub>"),
    );
    assert!(r.contains("<item id='1'>"), "{r}");
    let r = iq(
        &mut s,
        "bob@x/b",
        &NoRelations,
        &publish("nope", "1", "<p xmlns='urn:p'/>"),
    );
    assert!(r.contains("forbidden"), "no autocreate, no rights: {r}");
    let r = iq(
        &mut s,
        "admin@x/a",
        &NoRelations,
        &publish("nope", "1", "<p xmlns='urn:p'/>"),
    );
    assert!(
        r.contains("item-not-found"),
        "no autocreate_on_publish: {r}"
    );
}

#[test]
fn configure_round_trips_the_form_and_max_items_max_is_the_service_limit() {
    let mut s = pep();
    iq(
        &mut s,
        "alice@x/a",
        &NoRelations,
        &publish("n", "1", "<p xmlns='urn:p'/>"),
    );
    let r = iq(
        &mut s,
        "alice@x/a",
        &NoRelations,
        &format!("get:<pubsub {OWNER_NS}><configure node='n'/></pubsub>"),
    );
    assert!(r.contains("<field type='list-single' var='pubsub#access_model' label='Specify the subscriber model'>"), "{r}");
    assert!(r.contains("<value>presence</value>"), "{r}");
    let r = iq(&mut s, "alice@x/a", &NoRelations, &format!("set:<pubsub {OWNER_NS}><configure node='n'><x xmlns='jabber:x:data' type='submit'><field var='pubsub#max_items'><value>max</value></field></x></configure></pubsub>"));
    assert!(r.contains("type='result'"), "{r}");
    for i in 2..=5 {
        iq(
            &mut s,
            "alice@x/a",
            &NoRelations,
            &publish("n", &i.to_string(), "<p xmlns='urn:p'/>"),
        );
    }
    let items = s
        .get_items("n", None, None, None, &NoRelations)
        .expect("items");
    assert_eq!(items.len(), 5);
    let r = iq(
        &mut s,
        "bob@x/b",
        &NoRelations,
        &format!("get:<pubsub {OWNER_NS}><configure node='n'/></pubsub>"),
    );
    assert!(r.contains("forbidden"), "{r}");
    let r = iq(
        &mut s,
        "alice@x/a",
        &NoRelations,
        &format!("get:<pubsub {PS}><items node='n' max_items='2'/></pubsub>"),
    );
    assert!(
        r.find("id='4'") < r.find("id='5'") && !r.contains("id='3'"),
        "newest two, oldest first: {r}"
    );
}

#[test]
fn delete_notifies_subscribers_and_whitelist_makes_strangers_outcast() {
    let mut s = pep();
    iq(
        &mut s,
        "alice@x/a",
        &NoRelations,
        &publish("n", "1", "<p xmlns='urn:p'/>"),
    );
    let rel = Friends(&["bob@x"]);
    iq(
        &mut s,
        "bob@x/b",
        &rel,
        &format!("set:<pubsub {PS}><subscribe node='n' jid='bob@x'/></pubsub>"),
    );
    s.take_effects();
    let r = iq(
        &mut s,
        "alice@x/a",
        &rel,
        &format!("set:<pubsub {OWNER_NS}><delete node='n'/></pubsub>"),
    );
    assert!(r.contains("type='result'"), "{r}");
    let b = broadcasts(&mut s);
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].kind, Kind::Delete);
    assert_eq!(b[0].recipients[0].0, "bob@x");
    iq(&mut s, "alice@x/a", &rel, &format!("set:<pubsub {PS}><create node='w'/><configure><x xmlns='jabber:x:data' type='submit'><field var='pubsub#access_model'><value>whitelist</value></field></x></configure></pubsub>"));
    let r = iq(
        &mut s,
        "bob@x/b",
        &rel,
        &format!("get:<pubsub {PS}><items node='w'/></pubsub>"),
    );
    assert!(r.contains("forbidden"), "{r}");
    let r = iq(&mut s, "alice@x/a", &rel, &format!("set:<pubsub {OWNER_NS}><affiliations node='w'><affiliation jid='bob@x' affiliation='member'/></affiliations></pubsub>"));
    assert!(r.contains("type='result'"), "{r}");
    let r = iq(
        &mut s,
        "bob@x/b",
        &rel,
        &format!("get:<pubsub {PS}><items node='w'/></pubsub>"),
    );
    assert!(
        r.contains("type='result'"),
        "member of a whitelist node: {r}"
    );
}
