//! Stream management in the one c2s session, on the virtual clock, over every framing.

use super::*;
use crate::modules::smacks::registry::{Handover, NotFound};

const SM: &str = "modules_enabled = { \"smacks\", \"roster\", \"presence\" }";

/// Opens and authenticates (PLAIN) without binding; returns the features offered then.
fn login<F: Wire>(h: &mut Harness<F>) -> String {
    h.send(F::open_stream());
    h.effects();
    h.output();
    h.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHB3</auth>");
    h.effects();
    h.s.answer(Answer::Plain(true), h.now);
    h.effects();
    h.output();
    h.send(F::open_stream());
    h.effects();
    h.output()
}

fn enable<F: Wire>(h: &mut Harness<F>, attrs: &str) -> String {
    h.send(&format!("<enable xmlns='urn:xmpp:sm:3' {attrs}/>"));
    assert!(h.effects().is_empty());
    h.output()
}

fn attr(xml: &str, name: &str) -> Option<String> {
    let at = xml
        .find(&format!(" {name}='"))
        .or_else(|| xml.find(&format!(" {name}=\"")))?;
    let rest = &xml[at + name.len() + 3..];
    Some(rest[..rest.find(['\'', '"'])?].to_owned())
}

fn features_offer_sm_after_auth_and_enable_before_bind_fails<F: Wire>() {
    let mut h = Harness::<F>::new(SM, 1 << 20);
    let features = login(&mut h);
    assert!(
        features.contains("urn:xmpp:sm:2") && features.contains("urn:xmpp:sm:3"),
        "{features}"
    );
    let out = enable(&mut h, "");
    assert!(out.contains("<failed xmlns='urn:xmpp:sm:3'"), "{out}");
    assert!(out.contains("unexpected-request"), "{out}");
}
over_every_framing!(
    sm_enable_before_bind,
    features_offer_sm_after_auth_and_enable_before_bind_fails
);

fn enabled_with_resume_has_id_and_max_and_second_enable_fails<F: Wire>() {
    let mut h = Harness::<F>::new(SM, 1 << 20);
    h.bind();
    let out = enable(&mut h, "resume='true'");
    assert!(out.contains("<enabled"), "{out}");
    assert_eq!(attr(&out, "id").map(|i| i.len()), Some(12), "{out}");
    assert_eq!(attr(&out, "max").as_deref(), Some("600"));
    assert_eq!(attr(&out, "resume").as_deref(), Some("true"));
    let again = enable(&mut h, "");
    assert!(
        again.contains("failed") && again.contains("unexpected-request"),
        "{again}"
    );
}
over_every_framing!(
    sm_enabled_resume,
    enabled_with_resume_has_id_and_max_and_second_enable_fails
);

fn enabled_without_resume_has_no_id_or_max<F: Wire>() {
    let mut h = Harness::<F>::new(SM, 1 << 20);
    h.bind();
    let out = enable(&mut h, "");
    assert!(out.contains("<enabled"), "{out}");
    assert!(
        attr(&out, "id").is_none() && attr(&out, "max").is_none(),
        "{out}"
    );
}
over_every_framing!(sm_enabled_plain, enabled_without_resume_has_no_id_or_max);

fn acks_count_handled_stanzas_and_we_request_after_drain<F: Wire>() {
    let mut h = Harness::<F>::new(SM, 1 << 20);
    h.bind();
    enable(&mut h, "");
    h.send("<message xmlns='jabber:client' to='bob@example.test'><body>1</body></message>");
    h.send("<presence xmlns='jabber:client'/>");
    assert_eq!(h.effects().len(), 2);
    h.send("<r xmlns='urn:xmpp:sm:3'/>");
    h.effects();
    let out = h.output();
    assert!(out.contains("<a xmlns='urn:xmpp:sm:3' h='2'/>"), "{out}");
    h.s.on_outbound(stanza("hi"), h.now);
    let first = h.output();
    assert!(first.contains("hi") && !first.contains("<r "), "{first}");
    // The output drained (pre-ondrain): one unacked > smacks_max_unacked_stanzas (0).
    let r = h.output();
    assert!(r.contains("<r xmlns='urn:xmpp:sm:3'/>"), "{r}");
    h.send("<a xmlns='urn:xmpp:sm:3' h='1'/>");
    h.effects();
    assert!(h.output().is_empty());
    h.send("<a xmlns='urn:xmpp:sm:3' h='5'/>");
    h.effects();
    let out = h.output();
    assert!(out.contains("undefined-condition"), "{out}");
    assert!(
        out.contains("Client acknowledged more stanzas than sent by server"),
        "{out}"
    );
}
over_every_framing!(
    sm_counting,
    acks_count_handled_stanzas_and_we_request_after_drain
);

fn ack_delayed_timer_runs_on_the_virtual_clock<F: Wire>() {
    let mut h = Harness::<F>::new(SM, 1 << 20);
    h.bind();
    enable(&mut h, "");
    h.s.on_outbound(stanza("x"), h.now);
    h.output();
    assert!(h.output().contains("<r "));
    assert!(h.s.deadline() <= h.t0 + Duration::from_secs(30));
    h.at(30.0);
    h.s.on_timer(h.now);
    assert_eq!(h.s.state(), State::Open, "a late ack only fires an event");
    assert!(h.s.sm_deadline().is_none());
}
over_every_framing!(sm_ack_delay, ack_delayed_timer_runs_on_the_virtual_clock);

fn clean_close_sends_final_ack_and_unbinds_with_the_unacked<F: Wire>() {
    let mut h = Harness::<F>::new(SM, 1 << 20);
    h.bind();
    enable(&mut h, "resume='1'");
    h.send("<presence xmlns='jabber:client'/>");
    h.effects();
    h.s.on_outbound(stanza("unacked"), h.now);
    h.output();
    h.output();
    h.send(if F::NAME == "websocket" {
        "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"
    } else {
        "</stream:stream>"
    });
    let effects = h.effects();
    assert!(
        matches!(effects.as_slice(), [Effect::Unbind(_)]),
        "{effects:?}"
    );
    let out = h.output();
    let a = out
        .find("<a xmlns='urn:xmpp:sm:3' h='1'/>")
        .expect("final ack");
    assert!(
        out.find("close")
            .or(out.find("</stream"))
            .is_some_and(|c| c > a),
        "{out}"
    );
    assert!(
        h.s.take_hibernation().is_none(),
        "a closed stream does not hibernate"
    );
    assert_eq!(h.s.take_unacked().len(), 1);
}
over_every_framing!(
    sm_clean_close,
    clean_close_sends_final_ack_and_unbinds_with_the_unacked
);

fn lost_connection_of_resumable_session_hibernates_instead_of_unbinding<F: Wire>() {
    let mut h = Harness::<F>::new(SM, 1 << 20);
    h.bind();
    enable(&mut h, "resume='true'");
    h.s.on_eof();
    assert!(h.effects().is_empty());
    let (sm, jid) = h.s.take_hibernation().expect("hibernates");
    assert_eq!(&*jid, "alice@example.test/r");
    assert!(sm.token.is_some());
    assert!(!h.s.is_bound(), "the driver must not unbind it");

    let mut plain = Harness::<F>::new(SM, 1 << 20);
    plain.bind();
    enable(&mut plain, "");
    plain.s.on_eof();
    assert!(plain.s.take_hibernation().is_none());
    assert!(plain.s.is_bound(), "unbound by the driver as usual");
}
over_every_framing!(
    sm_hibernate,
    lost_connection_of_resumable_session_hibernates_instead_of_unbinding
);

fn resume_adopts_the_session_replays_unacked_and_requests_an_ack<F: Wire>() {
    let mut old = Harness::<F>::new(SM, 1 << 20);
    old.bind();
    let token = attr(&enable(&mut old, "resume='true'"), "id").expect("id");
    old.send("<presence xmlns='jabber:client'/>");
    old.effects();
    for body in ["one", "two", "three"] {
        old.s.on_outbound(stanza(body), old.now);
    }
    old.output();
    old.output();
    old.s.on_eof();
    let (sm, full_jid) = old.s.take_hibernation().expect("hibernates");

    let mut new = Harness::<F>::new(SM, 1 << 20);
    login(&mut new);
    new.send(&format!(
        "<resume xmlns='urn:xmpp:sm:3' previd='{token}' h='1'/>"
    ));
    let effects = new.effects();
    let [Effect::Resume(req)] = <[Effect; 1]>::try_from(effects).expect("one effect") else {
        panic!("not a resume");
    };
    assert_eq!(
        (req.bare.as_str(), req.previd.as_str(), req.h),
        ("alice@example.test", token.as_str(), Some(1))
    );
    let handover = Handover {
        id: 7,
        full_jid,
        sm,
        rx: None,
    };
    new.s.answer(Answer::Resumed(req, Ok(handover)), new.now);
    assert!(new.effects().is_empty());
    let out = new.output();
    assert!(
        out.contains(&format!(
            "<resumed xmlns='urn:xmpp:sm:3' h='1' previd='{token}'/>"
        )),
        "{out}"
    );
    assert!(!out.contains(">one<"), "acked by h=1: {out}");
    let two = out.find(">two<").expect("two replayed");
    let three = out.find(">three<").expect("three replayed");
    assert!(two < three);
    assert!(
        out.contains("urn:xmpp:delay") && out.contains("from='alice@example.test'"),
        "{out}"
    );
    assert!(
        out.rfind("<r xmlns='urn:xmpp:sm:3'/>")
            .is_some_and(|r| r > three),
        "{out}"
    );
    assert!(new.s.is_bound());
    assert_eq!(new.s.id(), 7);
    assert_eq!(new.s.stream().full_jid(), Some("alice@example.test/r"));
    // Stanzas go on being counted from where the old connection left them.
    new.send("<r xmlns='urn:xmpp:sm:3'/>");
    new.effects();
    assert!(new.output().contains("h='1'"));
}
over_every_framing!(
    sm_resume,
    resume_adopts_the_session_replays_unacked_and_requests_an_ack
);

fn resume_failures_answer_as_prosody<F: Wire>() {
    let mut h = Harness::<F>::new(SM, 1 << 20);
    login(&mut h);
    h.send("<resume xmlns='urn:xmpp:sm:3' previd='nope' h='0'/>");
    let [Effect::Resume(req)] = <[Effect; 1]>::try_from(h.effects()).expect("one") else {
        panic!()
    };
    h.s.answer(Answer::Resumed(req, Err(NotFound::Unknown)), h.now);
    h.effects();
    let out = h.output();
    assert!(
        out.contains("<failed xmlns='urn:xmpp:sm:3'><item-not-found"),
        "{out}"
    );
    h.send("<resume xmlns='urn:xmpp:sm:3' previd='old' h='0'/>");
    let [Effect::Resume(req)] = <[Effect; 1]>::try_from(h.effects()).expect("one") else {
        panic!()
    };
    h.s.answer(Answer::Resumed(req, Err(NotFound::Expired(4))), h.now);
    h.effects();
    let out = h.output();
    assert!(
        out.contains("<failed xmlns='urn:xmpp:sm:3' h='4'><item-not-found"),
        "{out}"
    );

    let mut bound = Harness::<F>::new(SM, 1 << 20);
    bound.bind();
    bound.send("<resume xmlns='urn:xmpp:sm:3' previd='x' h='0'/>");
    assert!(bound.effects().is_empty());
    let out = bound.output();
    assert!(
        out.contains("<failed xmlns='urn:xmpp:sm:3'><unexpected-request"),
        "{out}"
    );
}
over_every_framing!(sm_resume_failures, resume_failures_answer_as_prosody);

fn resume_with_too_high_h_fails_with_h_and_previd_and_closes<F: Wire>() {
    let mut old = Harness::<F>::new(SM, 1 << 20);
    old.bind();
    let token = attr(&enable(&mut old, "resume='true'"), "id").expect("id");
    old.s.on_eof();
    let (sm, full_jid) = old.s.take_hibernation().expect("hibernates");
    let mut new = Harness::<F>::new(SM, 1 << 20);
    login(&mut new);
    new.send(&format!(
        "<resume xmlns='urn:xmpp:sm:3' previd='{token}' h='3'/>"
    ));
    let [Effect::Resume(req)] = <[Effect; 1]>::try_from(new.effects()).expect("one") else {
        panic!()
    };
    new.s.answer(
        Answer::Resumed(
            req,
            Ok(Handover {
                id: 9,
                full_jid,
                sm,
                rx: None,
            }),
        ),
        new.now,
    );
    new.effects();
    let out = new.output();
    assert!(
        out.contains(&format!(
            "<failed xmlns='urn:xmpp:sm:3' h='0' previd='{token}'/>"
        )),
        "{out}"
    );
    assert!(out.contains("undefined-condition"), "{out}");
}
over_every_framing!(
    sm_resume_bad_h,
    resume_with_too_high_h_fails_with_h_and_previd_and_closes
);

#[test]
fn sm_elements_are_not_ours_where_smacks_is_not_loaded() {
    let mut h = Harness::<TcpFraming>::new("modules_enabled = { \"roster\" }", 1 << 20);
    h.bind();
    h.send("<enable xmlns='urn:xmpp:sm:3'/>");
    let effects = h.effects();
    assert!(
        matches!(effects.as_slice(), [Effect::Route(_)]),
        "{effects:?}"
    );
}

fn read_timeout_under_sm_requests_an_ack_and_then_drops_a_silent_connection<F: Wire>() {
    let config = format!("{SM}\nnetwork_settings = {{ read_timeout = 60 }}");
    let mut h = Harness::<F>::new(&config, 1 << 20);
    h.bind();
    enable(&mut h, "resume='true'");
    h.at(60.0);
    h.timer();
    let out = h.output();
    assert!(out.contains("<r xmlns='urn:xmpp:sm:3'/>"), "{out}");
    assert!(
        !out.contains("[ping]") && out.trim() == out,
        "no keepalive: {out:?}"
    );
    // No pong is owed, so the pong timeout does not end it.
    h.at(75.0);
    h.s.on_timer(h.now);
    assert_eq!(h.s.state(), State::Open);
    // Still no <a/> at the next read timeout: the connection goes, the session sleeps.
    h.at(120.0);
    h.timer();
    assert_eq!(h.s.state(), State::Done);
    assert!(h.s.take_hibernation().is_some(), "resumable: it hibernates");

    // Answered in time, the stream stays and the next timeout asks again.
    let mut h = Harness::<F>::new(&config, 1 << 20);
    h.bind();
    enable(&mut h, "");
    h.at(60.0);
    h.timer();
    h.output();
    h.send("<a xmlns='urn:xmpp:sm:3' h='0'/>");
    assert!(h.effects().is_empty());
    h.at(121.0);
    h.timer();
    let out = h.output();
    assert!(out.contains("<r xmlns='urn:xmpp:sm:3'/>"), "{out:?}");
    assert_eq!(h.s.state(), State::Open);
}
over_every_framing!(
    sm_read_timeout,
    read_timeout_under_sm_requests_an_ack_and_then_drops_a_silent_connection
);
