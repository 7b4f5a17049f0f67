//! A Lua handler's changes to `event.stanza` reach the native event (and so whoever runs
//! next), however they were made; a handler that leaves the stanza alone costs no
//! conversion back from Lua; the Lua handlers of one fire share one event table.

use std::path::Path;

use lilt::core::{Bus, Core, Event, Origin};
use lilt::xml::{Element, Node};

use crate::harness::{core_with, HOST};

/// A core with one plugin hooking `test/stanza` with `body` (the handler's statements).
fn core_hooking(dir: &Path, body: &str) -> Core {
    let mut core = core_with(dir, "");
    let code = format!("module:hook('test/stanza', function(event)\n{body}\nend)\n");
    std::fs::write(dir.join("plugins").join("mod_touch.lua"), code).expect("write plugin");
    assert!(lilt::lua::load_module(&mut core, HOST, "touch"));
    core
}

/// `<message to=... type='chat' xml:lang='en'><body>hi</body><x xmlns='urn:x'/></message>`
/// with its attributes in document (not sorted) order.
fn message() -> Element {
    let mut m = Element::new("message", "jabber:client");
    m.set_attr("type", "chat");
    m.set_attr("to", format!("alice@{HOST}"));
    m.set_attr("xml:lang", "en");
    m.with_child(Element::new("body", "jabber:client").with_text("hi"))
        .with_child(Element::new("x", "urn:x"))
}

/// Fires `test/stanza` with `message()` and returns the stanza the event carries after the
/// Lua handler, and how many conversions back it took.
fn run(body: &str) -> (Element, u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_hooking(dir.path(), body);
    let mut ev = Event::stanza(Origin::Host(HOST.into()), message());
    let before = lilt::lua::dispatch::conversions_back();
    let r = core.fire(&Bus::Host(HOST.into()), "test/stanza", &mut ev);
    assert_eq!(r, None, "the handler lets the event go on");
    let after = lilt::lua::dispatch::conversions_back();
    (ev.stanza.expect("stanza kept"), after - before)
}

#[test]
fn a_handler_that_only_reads_the_stanza_costs_no_conversion_back() {
    let (st, back) = run(
        "local _ = event.stanza.attr.to, event.stanza:get_child_text('body'), #event.stanza.tags",
    );
    assert_eq!(back, 0);
    assert_eq!(
        st,
        message(),
        "the native tree is untouched, attribute order included"
    );
}

#[test]
fn an_attribute_changed_through_the_attr_table_takes_effect() {
    let (st, back) = run("event.stanza.attr.to = 'bob@example.test'");
    assert_eq!(back, 1);
    assert_eq!(st.attr("to"), Some("bob@example.test"));
    assert_eq!(st.attr("type"), Some("chat"));
}

#[test]
fn a_removed_attribute_takes_effect() {
    let (st, back) = run("event.stanza.attr.type = nil");
    assert_eq!(back, 1);
    assert_eq!(st.attr("type"), None);
    assert_eq!(st.attr("to"), Some("alice@example.test"));
}

#[test]
fn an_added_attribute_takes_effect() {
    let (st, _) = run("event.stanza.attr.id = 'm1'");
    assert_eq!(st.attr("id"), Some("m1"));
}

#[test]
fn a_changed_xml_lang_takes_effect() {
    let (st, back) = run("event.stanza.attr['http://www.w3.org/XML/1998/namespace\\1lang'] = 'de'");
    assert_eq!(back, 1);
    assert_eq!(st.attr("xml:lang"), Some("de"));
}

#[test]
fn a_child_added_with_util_stanza_methods_takes_effect() {
    let (st, back) = run("event.stanza:tag('y', { xmlns = 'urn:y' }):text('new'):up()");
    assert_eq!(back, 1);
    let y = st.get_child("y", "urn:y").expect("child added");
    assert_eq!(y.text(), "new");
    assert!(st.get_child("body", "jabber:client").is_some());
}

#[test]
fn a_text_changed_by_direct_table_access_takes_effect() {
    let (st, back) = run("event.stanza.tags[1][1] = 'changed'");
    assert_eq!(back, 1);
    let body = st.get_child("body", "jabber:client").expect("body");
    assert_eq!(body.text(), "changed");
}

#[test]
fn a_removed_child_takes_effect() {
    let (st, back) =
        run("event.stanza:maptags(function(t) if t.name == 'x' then return nil end return t end)");
    assert_eq!(back, 1);
    assert!(st.get_child("x", "urn:x").is_none());
    assert!(st.get_child("body", "jabber:client").is_some());
}

#[test]
fn a_child_namespace_change_takes_effect() {
    let (st, back) = run("event.stanza.tags[2].attr.xmlns = 'urn:z'");
    assert_eq!(back, 1);
    assert!(st.get_child("x", "urn:z").is_some());
}

#[test]
fn a_renamed_element_takes_effect() {
    let (st, back) = run("event.stanza.tags[1].name = 'subject'");
    assert_eq!(back, 1);
    assert!(st.get_child("subject", "jabber:client").is_some());
}

#[test]
fn a_text_node_appended_to_the_array_part_takes_effect() {
    let (st, back) = run("event.stanza[#event.stanza + 1] = 'tail'");
    assert_eq!(back, 1);
    assert!(matches!(st.children.last(), Some(Node::Text(t)) if t == "tail"));
}

#[test]
fn a_stanza_replaced_wholesale_takes_effect() {
    let (st, back) = run("local st = require 'util.stanza'; event.stanza = st.message({ to = 'carol@example.test' }):body('x')");
    assert_eq!(back, 1);
    assert_eq!(st.attr("to"), Some("carol@example.test"));
    assert_eq!(
        st.get_child("body", "jabber:client")
            .map(|b| b.text())
            .as_deref(),
        Some("x")
    );
}

#[test]
fn a_number_written_where_a_string_was_is_converted() {
    let (st, back) = run("event.stanza.attr.type = 5");
    assert_eq!(back, 1);
    assert_eq!(st.attr("type"), Some("5"));
}

/// A core with one plugin whose code hooks `test/stanza` as it likes.
fn core_with_plugin(dir: &Path, code: &str) -> Core {
    let mut core = core_with(dir, "");
    std::fs::write(dir.join("plugins").join("mod_pair.lua"), code).expect("write plugin");
    assert!(lilt::lua::load_module(&mut core, HOST, "pair"));
    core
}

#[test]
fn lua_handlers_of_one_fire_share_the_event_table_and_one_conversion() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with_plugin(
        dir.path(),
        "module:hook('test/stanza', function(event) event.mark = 'seen' end, 10)\n\
         module:hook('test/stanza', function(event)\n\
           if event.mark == 'seen' then event.stanza.attr.id = 'shared' end\n\
         end, 5)\n",
    );
    for round in 0..2 {
        let mut ev = Event::stanza(Origin::Host(HOST.into()), message());
        let before = lilt::lua::dispatch::conversions_to_lua();
        core.fire(&Bus::Host(HOST.into()), "test/stanza", &mut ev);
        assert_eq!(lilt::lua::dispatch::conversions_to_lua() - before, 1);
        let st = ev.stanza.expect("stanza");
        assert_eq!(st.attr("id"), Some("shared"), "round {round}");
    }
}

#[test]
fn a_new_fire_does_not_see_fields_of_the_previous_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with_plugin(
        dir.path(),
        "module:hook('test/stanza', function(event)\n\
           if event.mark then event.stanza.attr.id = 'leaked' end\n\
           event.mark = true\n\
         end)\n",
    );
    for _ in 0..3 {
        let mut ev = Event::stanza(Origin::Host(HOST.into()), message());
        core.fire(&Bus::Host(HOST.into()), "test/stanza", &mut ev);
        assert_eq!(ev.stanza.expect("stanza").attr("id"), None);
    }
}

#[test]
fn a_native_handler_between_two_lua_handlers_is_seen_by_the_second() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with_plugin(
        dir.path(),
        "module:hook('test/stanza', function(event) event.stanza.attr.id = 'lua1' end, 10)\n\
         module:hook('test/stanza', function(event)\n\
           event.stanza.attr.seen = event.stanza.attr.native or 'nothing'\n\
         end, 1)\n",
    );
    core.hook(
        &Bus::Host(HOST.into()),
        "test/stanza",
        5.0,
        std::rc::Rc::new(|_, ev| {
            let st = ev.stanza.as_mut()?;
            assert_eq!(
                st.attr("id"),
                Some("lua1"),
                "the first Lua change is visible natively"
            );
            st.set_attr("native", "yes");
            None
        }),
    );
    let mut ev = Event::stanza(Origin::Host(HOST.into()), message());
    core.fire(&Bus::Host(HOST.into()), "test/stanza", &mut ev);
    let st = ev.stanza.expect("stanza");
    assert_eq!(st.attr("seen"), Some("yes"));
    assert_eq!(st.attr("id"), Some("lua1"));
}
