//! The wire text of every stanza and stream error condition, pinned byte for byte.

use super::*;
use crate::xml::Element;
use crate::xmpp::ns;

const Q: char = '\'';

fn iq() -> Element {
    Element::new("iq", ns::CLIENT)
        .with_attr("from", "a@x/r")
        .with_attr("to", "x")
        .with_attr("id", "q1")
        .with_attr("type", "get")
        .with_child(Element::new("query", "urn:x"))
}

fn wire(e: &Element) -> String {
    let mut out = String::new();
    e.write_xml(&mut out, ns::CLIENT);
    out.replace('"', &Q.to_string())
}

#[test]
fn every_stanza_condition_renders_as_its_element_in_the_stanzas_namespace() {
    for &c in StanzaCondition::ALL {
        for &t in ErrorType::ALL {
            let reply = StanzaError::new(t, c).reply(&iq());
            let expected = format!(
                "<iq to='a@x/r' from='x' id='q1' type='error'><error type='{t}'>\
                 <{c} xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
            );
            assert_eq!(wire(&reply), expected, "{t} {c}");
        }
    }
}

#[test]
fn every_stream_condition_renders_as_its_element_in_the_streams_namespace() {
    for &c in StreamCondition::ALL {
        let e = StreamError::new(c).element();
        let expected = format!(
            "<stream:error><{c} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
        );
        assert_eq!(wire(&e), expected, "{c}");
    }
}

#[test]
fn error_reply_swaps_addresses_keeps_id_and_drops_the_payload() {
    let reply = StanzaError::cancel(StanzaCondition::ItemNotFound)
        .with_text("Nope")
        .reply(&iq());
    assert_eq!(reply.name, "iq");
    assert_eq!(reply.attr("to"), Some("a@x/r"));
    assert_eq!(reply.attr("from"), Some("x"));
    assert_eq!(reply.attr("id"), Some("q1"));
    assert_eq!(reply.attr("type"), Some("error"));
    assert!(reply.get_child("query", "urn:x").is_none());
    let error = reply.get_child("error", ns::CLIENT).unwrap();
    assert_eq!(error.attr("type"), Some("cancel"));
    assert!(error.get_child("item-not-found", ns::STANZAS).is_some());
    assert_eq!(error.get_child("text", ns::STANZAS).unwrap().text(), "Nope");
}

#[test]
fn error_reply_without_addresses_has_none() {
    let msg = Element::new("message", ns::CLIENT).with_attr("type", "chat");
    let reply = StanzaError::modify(StanzaCondition::BadRequest).reply(&msg);
    assert_eq!(wire(&reply), "<message type='error'><error type='modify'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
}

#[test]
fn text_by_and_application_child_come_in_prosodys_order() {
    let reply = StanzaError::modify(StanzaCondition::BadRequest)
        .with_text("Invalid <IQ>")
        .with_by("room@muc.x")
        .with_child(Element::new("nodeid-required", "urn:app"))
        .reply(&iq());
    assert_eq!(
        wire(&reply),
        "<iq to='a@x/r' from='x' id='q1' type='error'><error type='modify' by='room@muc.x'>\
         <bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
         <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Invalid &lt;IQ&gt;</text>\
         <nodeid-required xmlns='urn:app'/></error></iq>"
    );
}

#[test]
fn by_naming_the_replying_entity_is_left_out_as_prosody_does() {
    let reply = StanzaError::cancel(StanzaCondition::Conflict)
        .with_by("x")
        .reply(&iq());
    let error = reply.get_child("error", ns::CLIENT).unwrap();
    assert_eq!(error.attr("by"), None);
}

#[test]
fn gone_carries_the_new_address_as_condition_text() {
    let reply = StanzaError::cancel(StanzaCondition::Gone)
        .with_uri("xmpp:new@x")
        .reply(&iq());
    let error = reply.get_child("error", ns::CLIENT).unwrap();
    assert_eq!(
        error.get_child("gone", ns::STANZAS).unwrap().text(),
        "xmpp:new@x"
    );
}

#[test]
fn an_error_in_another_stanza_namespace_uses_that_namespace() {
    let iq = Element::new("iq", ns::SERVER).with_attr("type", "set");
    let reply = StanzaError::cancel(StanzaCondition::ServiceUnavailable).reply(&iq);
    assert!(reply.get_child("error", ns::SERVER).is_some());
}

#[test]
fn stream_error_carries_text_and_extra_in_order() {
    let e = StreamError::new(StreamCondition::Conflict)
        .with_text("Replaced by new connection")
        .with_child(Element::new("x", "urn:extra"))
        .element();
    assert_eq!(
        wire(&e),
        "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
         <text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Replaced by new connection</text>\
         <x xmlns='urn:extra'/></stream:error>"
    );
}

#[test]
fn see_other_host_carries_the_host() {
    let e = StreamError::new(StreamCondition::SeeOtherHost)
        .with_host("other.example:5222")
        .element();
    let c = e.get_child("see-other-host", ns::STREAM_ERRORS).unwrap();
    assert_eq!(c.text(), "other.example:5222");
}

#[test]
fn a_rendered_stanza_error_parses_back() {
    let sent = StanzaError::wait(StanzaCondition::ResourceConstraint)
        .with_text("Daily quota reached")
        .with_by("upload.x")
        .with_child(Element::new("retry", "urn:app"));
    let reply = sent.reply(&iq());
    assert_eq!(StanzaError::parse(&reply), Some(sent));
}

#[test]
fn a_rendered_stream_error_parses_back() {
    let sent =
        StreamError::new(StreamCondition::PolicyViolation).with_text("XML stanza is too big");
    assert_eq!(StreamError::parse(&sent.element()), Some(sent));
    assert_eq!(StreamError::parse(&Element::new("error", ns::CLIENT)), None);
}

#[test]
fn lua_named_conditions_pass_through_unchecked() {
    let known = named_error_reply(&iq(), "cancel", "item-not-found", Some("t"));
    let typed = StanzaError::cancel(StanzaCondition::ItemNotFound)
        .with_text("t")
        .reply(&iq());
    assert_eq!(known, typed);
    let odd = named_error_reply(&iq(), "weird", "x-custom", None);
    let error = odd.get_child("error", ns::CLIENT).unwrap();
    assert_eq!(error.attr("type"), Some("weird"));
    assert!(error.get_child("x-custom", ns::STANZAS).is_some());
    let stream = named_stream_error("x-custom", Some("bye"));
    assert!(stream.get_child("x-custom", ns::STREAM_ERRORS).is_some());
    assert_eq!(
        named_stream_error("system-shutdown", None),
        StreamError::new(StreamCondition::SystemShutdown).element()
    );
}

#[test]
fn display_names_condition_type_and_text() {
    let e = StanzaError::cancel(StanzaCondition::Conflict).with_text("Resource already exists");
    assert_eq!(e.to_string(), "conflict (cancel): Resource already exists");
    let s = StreamError::new(StreamCondition::HostUnknown);
    assert_eq!(s.to_string(), "host-unknown");
}
