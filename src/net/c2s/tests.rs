//! The c2s session on a virtual clock, each behaviour run over every framing: no sockets,
//! no sleeps; `now` is an `Instant` the test moves.

use crate::xmpp::error::{StreamCondition, StreamError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::tcp_framing::TcpFraming;
use super::ws_framing::WsFraming;
use super::*;
use crate::config::Config;
use crate::core::Outbound;
use crate::modules::websocket::framing::{encode_text, Frame, FrameDecoder};
use crate::xml::Element;

/// The client's side of a framing: what it sends and how it reads what it gets.
trait Wire: Framing + Sized {
    fn make() -> Self;
    fn client(xml: &str) -> Vec<u8>;
    fn open_stream() -> &'static str;
    fn read(out: &[u8]) -> String;
}

impl Wire for TcpFraming {
    fn make() -> Self {
        TcpFraming::default()
    }
    fn client(xml: &str) -> Vec<u8> {
        xml.as_bytes().to_vec()
    }
    fn open_stream() -> &'static str {
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' \
         to='example.test' version='1.0'>"
    }
    fn read(out: &[u8]) -> String {
        String::from_utf8_lossy(out).into_owned()
    }
}

impl Wire for WsFraming {
    fn make() -> Self {
        WsFraming::new(FrameDecoder::new(1 << 18, 1 << 20), None)
    }
    fn client(xml: &str) -> Vec<u8> {
        let mut out = Vec::new();
        encode_text(xml, &mut out);
        out
    }
    fn open_stream() -> &'static str {
        "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='example.test' version='1.0'/>"
    }
    fn read(out: &[u8]) -> String {
        let mut d = FrameDecoder::new(1 << 24, 1 << 26);
        d.feed(out);
        let mut s = String::new();
        while let Ok(Some(frame)) = d.next_frame() {
            match frame {
                Frame::Text(t) => s.push_str(&t),
                Frame::Ping(_) => s.push_str("[ping]"),
                Frame::Close(code, _) => s.push_str(&format!("[close {}]", code.unwrap_or(0))),
                _ => {}
            }
        }
        s
    }
}

fn shared(extra: &str) -> Arc<Shared> {
    let text = format!(
        "c2s_require_encryption = false\nallow_unencrypted_plain_auth = true\n\
         c2s_timeout = 30\nc2s_close_timeout = 5\n{extra}\nVirtualHost \"example.test\"\n"
    );
    let path = std::path::Path::new("/nonexistent/prosody.cfg.lua");
    let config = Config::load_str(path, &text).expect("config parses");
    crate::core::server::build(config).0
}

struct Harness<F: Wire> {
    s: Box<C2sSession<F>>,
    now: Instant,
    t0: Instant,
}

impl<F: Wire> Harness<F> {
    fn new(extra: &str, max_send_buffer: usize) -> Self {
        let shared = shared(extra);
        let mut settings = SessionSettings::from_shared(&shared, max_send_buffer);
        if F::NAME == "websocket" {
            settings.pong_timeout = Some(Duration::from_secs(10));
        }
        let now = Instant::now();
        let s = Box::new(C2sSession::new(
            shared,
            Arc::new(settings),
            F::make(),
            1,
            None,
            false,
            false,
            now,
        ));
        Harness { s, now, t0: now }
    }

    fn at(&mut self, secs: f64) {
        self.now = self.t0 + Duration::from_secs_f64(secs);
    }

    fn send(&mut self, xml: &str) {
        let bytes = F::client(xml);
        self.s.receive(&bytes, self.now);
    }

    /// Effects until the session waits; answers nothing.
    fn effects(&mut self) -> Vec<Effect> {
        let mut out = Vec::new();
        while let Some(e) = self.s.poll_effect(self.now, false) {
            out.push(e);
        }
        out
    }

    /// What the session has written (all of it counts as taken by the peer).
    fn output(&mut self) -> String {
        let text = F::read(self.s.out.unsent());
        let n = self.s.out.len();
        self.s.on_written(n, self.now);
        text
    }

    fn timer(&mut self) {
        assert!(self.s.deadline() <= self.now, "nothing due yet");
        self.s.on_timer(self.now);
    }

    /// Opens, authenticates with PLAIN and binds `r`.
    fn bind(&mut self) {
        self.send(F::open_stream());
        assert!(self.effects().is_empty());
        let features = self.output();
        assert!(features.contains("PLAIN"), "{features}");
        // "\0alice\0pw"
        self.send(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHB3</auth>",
        );
        let effects = self.effects();
        assert!(
            matches!(effects.as_slice(), [Effect::VerifyPlain { .. }]),
            "{effects:?}"
        );
        self.s.answer(Answer::Plain(true), self.now);
        assert!(self.effects().is_empty());
        assert!(self.output().contains("success"));
        self.send(F::open_stream());
        self.effects();
        assert!(self.output().contains("bind"));
        self.send("<iq type='set' id='b' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r</resource></bind></iq>");
        let effects = self.effects();
        assert!(
            matches!(effects.as_slice(), [Effect::Bind { .. }]),
            "{effects:?}"
        );
        self.s.answer(
            Answer::Bound(Ok(Arc::from("alice@example.test/r"))),
            self.now,
        );
        assert!(self.effects().is_empty());
        assert!(self.output().contains("alice@example.test/r"));
        assert!(self.s.is_bound());
    }
}

fn stanza(body: &str) -> Outbound {
    Outbound::Stanza(Arc::new(
        Element::new("message", "jabber:client")
            .with_child(Element::new("body", "jabber:client").with_text(body)),
    ))
}

/// Runs a generic test body over every framing.
macro_rules! over_every_framing {
    ($name:ident, $body:ident) => {
        mod $name {
            #[test]
            fn tcp() {
                super::$body::<super::TcpFraming>();
            }
            #[test]
            fn websocket() {
                super::$body::<super::WsFraming>();
            }
        }
    };
}

fn unauthenticated_stream_is_closed_after_c2s_timeout<F: Wire>() {
    let mut h = Harness::<F>::new("", 1 << 20);
    h.send(F::open_stream());
    h.effects();
    h.output();
    h.at(29.0);
    h.s.on_timer(h.now);
    assert_eq!(h.s.state(), State::Open);
    h.at(30.0);
    h.timer();
    assert!(h.output().contains("connection-timeout"));
    assert_ne!(h.s.state(), State::Open);
}
over_every_framing!(
    c2s_timeout,
    unauthenticated_stream_is_closed_after_c2s_timeout
);

fn clean_server_close_unbinds_at_once_and_waits_close_timeout<F: Wire>() {
    let mut h = Harness::<F>::new("", 1 << 20);
    h.bind();
    h.s.on_outbound(Outbound::Close(None), h.now);
    let effects = h.effects();
    assert!(
        matches!(effects.as_slice(), [Effect::Unbind(_)]),
        "{effects:?}"
    );
    assert!(!h.s.is_bound());
    h.output();
    // Stanzas the peer still sends while we wait for its end are not routed.
    h.send("<message xmlns='jabber:client' to='bob@example.test'><body>late</body></message>");
    assert!(h.effects().is_empty());
    h.at(4.9);
    h.s.on_timer(h.now);
    assert_eq!(h.s.state(), State::Open);
    h.at(5.0);
    h.timer();
    assert_ne!(h.s.state(), State::Open);
}
over_every_framing!(
    close_timeout,
    clean_server_close_unbinds_at_once_and_waits_close_timeout
);

fn a_write_making_no_progress_ends_after_send_timeout<F: Wire>() {
    let mut h = Harness::<F>::new("network_settings = { send_timeout = 7 }", 1 << 20);
    h.bind();
    h.s.on_outbound(stanza("hello"), h.now);
    assert!(!h.s.out.is_empty());
    h.at(6.9);
    h.s.on_timer(h.now);
    assert_eq!(h.s.state(), State::Open);
    h.at(7.0);
    h.timer();
    assert_eq!(h.s.state(), State::Done);
    assert_eq!(h.s.reason(), Some("write timeout"));
}
over_every_framing!(
    send_timeout,
    a_write_making_no_progress_ends_after_send_timeout
);

fn silence_gets_a_keepalive_after_read_timeout<F: Wire>() {
    let mut h = Harness::<F>::new("network_settings = { read_timeout = 60 }", 1 << 20);
    h.bind();
    h.at(60.0);
    h.timer();
    let out = h.output();
    if F::NAME == "websocket" {
        assert_eq!(out, "[ping]");
    } else {
        assert_eq!(out, " ");
    }
    assert_eq!(h.s.state(), State::Open);
}
over_every_framing!(keepalive, silence_gets_a_keepalive_after_read_timeout);

fn an_unanswered_ping_closes_after_the_pong_timeout<F: Wire>() {
    let mut h = Harness::<F>::new("network_settings = { read_timeout = 60 }", 1 << 20);
    h.bind();
    h.at(60.0);
    h.timer();
    h.output();
    h.at(69.0);
    h.s.on_timer(h.now);
    assert_eq!(h.s.state(), State::Open);
    h.at(70.0);
    h.s.on_timer(h.now);
    if F::pings_answered(&h.s.framing) {
        let effects = h.effects();
        assert!(
            matches!(effects.as_slice(), [Effect::Unbind(Some(r))] if r == "ping timeout"),
            "{effects:?}"
        );
        assert!(h.output().contains("connection-timeout"));
    } else {
        // A TCP space is never answered: nothing times out.
        assert_eq!(h.s.state(), State::Open);
    }
}
over_every_framing!(
    pong_timeout,
    an_unanswered_ping_closes_after_the_pong_timeout
);

fn reading_past_the_rate_limit_pauses_reads_until_the_bucket_refills<F: Wire>() {
    let mut h = Harness::<F>::new(
        "modules_enabled = { \"limits\" }\nlimits = { c2s = { rate = \"1kb/s\", burst = \"1s\" }, websocket = { rate = \"1kb/s\", burst = \"1s\" } }",
        1 << 20,
    );
    h.send(F::open_stream());
    h.effects();
    h.output();
    assert!(h.s.wants_read());
    let big = format!(
        "<presence xmlns='jabber:client'><status>{}</status></presence>",
        "x".repeat(3000)
    );
    h.send(&big);
    assert!(!h.s.wants_read(), "throttled after 3 kB at 1 kB/s");
    let throttled_at = h.now;
    for _ in 0..10 {
        h.now = h.s.deadline();
        h.s.on_timer(h.now);
        if h.s.wants_read() {
            break;
        }
    }
    assert!(h.s.wants_read());
    assert!(
        h.now - throttled_at >= Duration::from_secs(1),
        "waited for the bucket"
    );
}
over_every_framing!(
    rate_limit,
    reading_past_the_rate_limit_pauses_reads_until_the_bucket_refills
);

fn a_receiver_that_does_not_read_is_dropped_at_the_send_buffer_cap<F: Wire>() {
    let mut h = Harness::<F>::new("", 64 * 1024);
    h.bind();
    let body = "y".repeat(1000);
    let mut sent = 0;
    while h.s.state() == State::Open {
        h.s.on_outbound(stanza(&body), h.now);
        sent += 1;
        assert!(sent < 100, "never capped");
    }
    // Capped as queued, not after a batch: at most one stanza past 64 KiB.
    assert!(sent <= 67, "{sent}");
    assert_eq!(h.s.state(), State::Done);
    assert_eq!(h.s.reason(), Some("send buffer exceeded"));
    assert!(h.s.out.is_empty(), "what cannot be sent is dropped");
    let effects = h.effects();
    assert!(
        matches!(effects.as_slice(), [Effect::Unbind(Some(r))] if r == "send buffer exceeded"),
        "{effects:?}"
    );
}
over_every_framing!(
    slow_consumer,
    a_receiver_that_does_not_read_is_dropped_at_the_send_buffer_cap
);

fn a_server_close_flushes_within_a_short_deadline<F: Wire>() {
    let mut h = Harness::<F>::new("network_settings = { send_timeout = 180 }", 1 << 20);
    h.bind();
    h.s.on_outbound(stanza("queued"), h.now);
    let err = StreamError::new(StreamCondition::SystemShutdown).element();
    h.s.on_outbound(Outbound::Close(Some(Box::new(err))), h.now);
    let effects = h.effects();
    assert!(
        matches!(effects.as_slice(), [Effect::Unbind(_)]),
        "unbound before the flush: {effects:?}"
    );
    let State::Flushing(until) = h.s.state() else {
        panic!("flushing expected, got {:?}", h.s.state());
    };
    assert!(
        until - h.now <= Duration::from_secs(5),
        "the flush waits at most c2s_close_timeout"
    );
    // Nothing more is taken from the core while flushing.
    assert!(!h.s.wants_outbound());
    h.now = until;
    h.timer();
    assert_eq!(h.s.state(), State::Done);
}
over_every_framing!(close_flush, a_server_close_flushes_within_a_short_deadline);

fn stanzas_before_a_bad_byte_are_routed_first<F: Wire>() {
    let mut h = Harness::<F>::new("", 1 << 20);
    h.bind();
    h.send("<message xmlns='jabber:client' to='bob@example.test'><body>1</body></message><message xmlns='jabber:client'>\u{1}</message>");
    let effects = h.effects();
    assert!(
        matches!(effects.first(), Some(Effect::Route(_))),
        "{effects:?}"
    );
    assert!(h.output().contains("not-well-formed"));
}
over_every_framing!(
    route_before_error,
    stanzas_before_a_bad_byte_are_routed_first
);

fn the_core_being_busy_stops_decoding_input<F: Wire>() {
    let mut h = Harness::<F>::new("", 1 << 20);
    h.bind();
    h.send("<message xmlns='jabber:client' to='bob@example.test'><body>1</body></message>");
    assert!(
        h.s.poll_effect(h.now, true).is_none(),
        "held back while the core is busy"
    );
    assert!(matches!(
        h.s.poll_effect(h.now, false),
        Some(Effect::Route(_))
    ));
}
over_every_framing!(core_busy, the_core_being_busy_stops_decoding_input);

#[test]
fn an_http_request_to_the_c2s_port_is_not_well_formed() {
    let mut h = Harness::<TcpFraming>::new("", 1 << 20);
    h.send("GET / HTTP/1.1\r\nHost: example.test\r\n\r\n");
    h.effects();
    let out = h.output();
    assert!(out.contains("not-well-formed"), "{out}");
}

fn scram_is_offered_before_plain<F: Wire>() {
    let mut h = Harness::<F>::new("", 1 << 20);
    h.send(F::open_stream());
    h.effects();
    let features = h.output();
    let scram = features.find(">SCRAM-SHA-1<").expect("SCRAM offered");
    let plain = features.find(">PLAIN<").expect("PLAIN offered");
    assert!(scram < plain, "{features}");
}
over_every_framing!(mechanism_order, scram_is_offered_before_plain);

fn authenticated_features_carry_the_server_entity_caps<F: Wire>() {
    let mut h = Harness::<F>::new("", 1 << 20);
    h.s.shared()
        .feature_hooks
        .set_caps_ver("example.test", "abc=".into());
    h.send(F::open_stream());
    h.effects();
    let before = h.output();
    assert!(
        !before.contains("protocol/caps"),
        "not before authentication: {before}"
    );
    h.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNlAHB3</auth>");
    h.effects();
    h.s.answer(Answer::Plain(true), h.now);
    h.effects();
    h.output();
    h.send(F::open_stream());
    h.effects();
    let after = h.output();
    assert!(
        after.contains("<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://prosody.im' ver='abc='/>"),
        "{after}"
    );
}
over_every_framing!(
    entity_caps,
    authenticated_features_carry_the_server_entity_caps
);

#[path = "sm_tests.rs"]
mod sm_tests;
