use super::*;

const WAIT: u64 = 30;

fn creation() -> Creation {
    Creation {
        inactivity: 60,
        polling: 5,
        wait: WAIT,
        from: "example.test".into(),
    }
}

fn req(rid: u64, payload: &str) -> Request<u64> {
    Request {
        rid,
        payload: payload.as_bytes().to_vec(),
        terminate: false,
        broken: None,
        reply: rid,
    }
}

fn start(now: Instant) -> Window<u64> {
    let (mut w, a) = Window::new(
        "sid1".into(),
        creation(),
        Duration::from_secs(60),
        1 << 20,
        req(100, ""),
        now,
    );
    assert_eq!(a.feed.len(), 1);
    assert_eq!(a.feed[0].0, In::Open);
    assert!(a.answers.is_empty());
    // The features answer the creation request, with the creation attributes.
    let a = w.on_element("<stream:features/>", now);
    assert_eq!(a.answers.len(), 1);
    assert_eq!(a.answers[0].0, 100);
    assert!(a.answers[0].1.contains("authid='sid1'"));
    assert!(a.answers[0].1.ends_with("<stream:features/></body>"));
    w
}

#[test]
fn next_rid_is_held_and_answered_with_output_and_only_the_first_response_has_creation_attrs() {
    let t0 = Instant::now();
    let mut w = start(t0);
    let a = w.on_request(req(101, "<presence xmlns='jabber:client'/>"), t0);
    assert!(a.answers.is_empty());
    assert_eq!(a.feed[0].0, In::Xml);
    assert_eq!(w.held(), 1);
    let a = w.on_element("<message/>", t0);
    assert_eq!(a.answers[0].0, 101);
    assert_eq!(
        a.answers[0].1,
        "<body xmlns='http://jabber.org/protocol/httpbind' \
         xmlns:stream='http://etherx.jabber.org/streams' sid='sid1'><message/></body>"
    );
}

#[test]
fn a_second_held_request_answers_the_older_at_once_and_wait_answers_empty() {
    let t0 = Instant::now();
    let mut w = start(t0);
    assert!(w.on_request(req(101, ""), t0).answers.is_empty());
    let a = w.on_request(req(102, ""), t0);
    assert_eq!(a.answers.len(), 1);
    assert_eq!(a.answers[0].0, 101);
    assert!(a.answers[0].1.ends_with("sid='sid1'></body>"));
    assert_eq!(w.deadline(), Some(t0 + Duration::from_secs(WAIT)));
    let a = w.on_timer(t0 + Duration::from_secs(WAIT));
    assert_eq!(a.answers.len(), 1);
    assert_eq!(a.answers[0].0, 102);
    // Nothing held now: the inactivity clock runs.
    assert_eq!(w.deadline(), Some(t0 + Duration::from_secs(WAIT + 60)));
}

#[test]
fn output_with_no_held_request_waits_for_the_next_request() {
    let t0 = Instant::now();
    let mut w = start(t0);
    assert!(w.on_element("<message id='1'/>", t0).answers.is_empty());
    assert!(w.on_element("<message id='2'/>", t0).answers.is_empty());
    let a = w.on_request(req(101, ""), t0);
    assert_eq!(a.answers.len(), 1);
    assert!(a.answers[0]
        .1
        .ends_with("<message id='1'/><message id='2'/></body>"));
}

#[test]
fn rid_plus_two_is_deferred_until_the_gap_fills_and_payloads_run_in_order() {
    let t0 = Instant::now();
    let mut w = start(t0);
    let a = w.on_request(req(102, "<b/>"), t0);
    assert!(a.feed.is_empty() && a.answers.is_empty());
    let a = w.on_request(req(101, "<a/>"), t0);
    let feeds: Vec<&[u8]> = a.feed.iter().map(|(_, b)| b.as_slice()).collect();
    assert_eq!(feeds, vec![b"<a/>".as_slice(), b"<b/>".as_slice()]);
    // Two held: the older (101) is answered at once.
    assert_eq!(a.answers.iter().map(|a| a.0).collect::<Vec<_>>(), vec![101]);
}

#[test]
fn answered_rids_replay_the_current_rid_is_held_and_others_are_item_not_found() {
    let t0 = Instant::now();
    let mut w = start(t0);
    w.on_request(req(101, ""), t0);
    let first = w.on_element("<x/>", t0).answers.remove(0).1;
    // rid 101 again, already answered: the same body, payload ignored.
    let a = w.on_request(req(101, "<ignored/>"), t0);
    assert!(a.feed.is_empty());
    assert_eq!(a.answers[0].1, first);
    // 100 is the creation response: still within the last two.
    assert!(w.on_request(req(100, ""), t0).answers[0]
        .1
        .contains("authid"));
    // The current (held) rid again: held, nothing fed.
    w.on_request(req(102, ""), t0);
    let a = w.on_request(req(102, "<ignored/>"), t0);
    assert!(a.feed.is_empty());
    assert_eq!(w.held(), 1, "older 102 answered as two were held");
    for rid in [99, 105, 1] {
        let a = w.on_request(req(rid, ""), t0);
        assert_eq!(
            a.answers[0].1,
            "<body xmlns='http://jabber.org/protocol/httpbind' type='terminate' \
             condition='item-not-found'/>"
        );
    }
    assert!(!w.is_ended(), "a bad rid leaves the session to expire");
}

#[test]
fn client_terminate_feeds_payload_then_close_and_answers_every_held_request() {
    let t0 = Instant::now();
    let mut w = start(t0);
    w.on_request(req(101, ""), t0);
    let mut r = req(102, "<presence type='unavailable'/>");
    r.terminate = true;
    let a = w.on_request(r, t0);
    assert_eq!(
        a.feed.iter().map(|f| f.0).collect::<Vec<_>>(),
        vec![In::Xml, In::Close]
    );
    assert!(a.end);
    assert_eq!(a.answers.len(), 2);
    assert!(a
        .answers
        .iter()
        .all(|(_, b)| b.contains("type='terminate'")));
    assert!(w.is_ended());
}

#[test]
fn server_close_with_a_stream_error_is_remote_stream_error() {
    let t0 = Instant::now();
    let mut w = start(t0);
    w.on_request(req(101, ""), t0);
    let err =
        "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>";
    let a = w.on_close(Some(err));
    assert!(a.end);
    assert_eq!(
        a.answers[0].1,
        format!(
            "<body xmlns='http://jabber.org/protocol/httpbind' type='terminate' \
             xmlns:stream='http://etherx.jabber.org/streams' condition='remote-stream-error'>{err}</body>"
        )
    );
}

#[test]
fn a_silent_client_is_reaped_after_max_inactivity_on_the_virtual_clock() {
    let t0 = Instant::now();
    let mut w = start(t0);
    // Creation request answered, nothing held.
    let due = w.deadline().expect("inactivity deadline");
    assert_eq!(due, t0 + Duration::from_secs(60));
    assert!(!w.on_timer(due - Duration::from_millis(1)).end);
    let a = w.on_timer(due);
    assert!(a.end);
    assert_eq!(a.feed[0].0, In::Silent);
    // A request after the reap is refused.
    let a = w.on_request(req(101, ""), due);
    assert!(a.answers[0].1.contains("item-not-found"));
}

#[test]
fn restart_after_sasl_success_opens_a_new_stream_on_the_next_request() {
    let t0 = Instant::now();
    let mut w = start(t0);
    w.on_request(req(101, "<auth/>"), t0);
    w.on_element("<success/>", t0);
    w.on_restart();
    let a = w.on_request(req(102, ""), t0);
    assert_eq!(a.feed[0].0, In::Open);
    assert_eq!(a.feed[0].1, b"example.test");
}

#[test]
fn an_idle_session_holds_one_request_and_an_empty_buffer() {
    let t0 = Instant::now();
    let mut w = start(t0);
    let mut now = t0;
    for rid in 101..1101 {
        let a = w.on_request(req(rid, ""), now);
        assert!(a.answers.len() <= 1);
        now += Duration::from_secs(WAIT);
        w.on_timer(now);
        assert!(w.held() <= 1);
    }
    assert_eq!(w.answered.len(), 2);
    assert!(w.buffer.capacity() < 1024);
}

#[test]
fn forbidden_xml_holds_its_request_until_the_session_closes_with_bad_format() {
    let t0 = Instant::now();
    let mut w = start(t0);
    let mut bad = req(101, "");
    bad.broken = Some(Broken::Forbidden);
    let a = w.on_request(bad, t0);
    assert_eq!(a.feed.len(), 1);
    assert_eq!(a.feed[0].0, In::Malformed);
    assert!(a.answers.is_empty() && !a.end);
    assert_eq!(w.held(), 1);
    // The c2s side answers with its stream error and closes: the held request carries it.
    let error =
        "<stream:error><bad-format xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>";
    let a = w.on_close(Some(error));
    assert!(a.end);
    assert_eq!(a.answers.len(), 1);
    assert_eq!(a.answers[0].0, 101);
    assert!(a.answers[0].1.contains("condition='remote-stream-error'"));
    assert!(a.answers[0].1.contains("<bad-format"));
}

#[test]
fn forbidden_xml_out_of_the_window_still_ends_the_session() {
    let t0 = Instant::now();
    let mut w = start(t0);
    let mut bad = req(150, "");
    bad.broken = Some(Broken::Forbidden);
    let a = w.on_request(bad, t0);
    assert_eq!(a.feed[0].0, In::Malformed);
    assert!(a.answers[0].1.contains("item-not-found"));
}

#[test]
fn a_syntax_error_refuses_its_request_and_the_next_rid_goes_on() {
    let t0 = Instant::now();
    let mut w = start(t0);
    let mut bad = req(101, "");
    bad.broken = Some(Broken::Syntax);
    let a = w.on_request(bad, t0);
    assert!(a.feed.is_empty() && !a.end);
    assert!(a.answers[0].1.contains("condition='bad-request'"));
    assert_eq!(w.held(), 0);
    let a = w.on_request(req(102, ""), t0);
    assert!(a.answers.is_empty());
    assert_eq!(w.held(), 1);
}
