use std::sync::Arc;

use super::*;
use crate::core::outbound::channel;
use crate::xml::Element;

fn stanza(name: &str) -> Outbound {
    Outbound::Stanza(Arc::new(Element::new(name, "jabber:client")))
}

fn names(rx: &mut crate::core::outbound::OutboundRx) -> Vec<String> {
    rx.take_queued()
        .iter()
        .map(|m| match m {
            Outbound::Stanza(el) => el.name.to_string(),
            Outbound::Shared(f, _) => f.addressed("x").name.to_string(),
            Outbound::Close(_) => "close".to_owned(),
        })
        .collect()
}

#[test]
fn output_after_a_hold_waits_until_it_is_released() {
    let (tx, mut rx) = channel();
    tx.send(stanza("before")).expect("open");
    let hold = Hold::on(tx.gate());
    tx.send(stanza("ping-result")).expect("open");
    tx.send(Outbound::Close(None)).expect("open");
    assert_eq!(names(&mut rx), ["before"]);
    assert_eq!(tx.gate().held(), 2);
    drop(hold);
    assert_eq!(names(&mut rx), ["ping-result", "close"]);
    assert_eq!(tx.gate().held(), 0);
}

#[test]
fn a_filled_reply_keeps_its_place_before_later_answers() {
    let (tx, mut rx) = channel();
    let hold = Hold::on(tx.gate());
    tx.send(stanza("ping-result")).expect("open");
    hold.fill(|| tx.send(stanza("vcard-result")).expect("open"));
    assert!(
        names(&mut rx).is_empty(),
        "nothing leaves before the release"
    );
    drop(hold);
    assert_eq!(names(&mut rx), ["vcard-result", "ping-result"]);
}

#[test]
fn holds_release_in_order_whatever_order_their_writes_finish() {
    let (tx, mut rx) = channel();
    let first = Hold::on(tx.gate());
    tx.send(stanza("a")).expect("open");
    let second = Hold::on(tx.gate());
    tx.send(stanza("b")).expect("open");
    second.fill(|| tx.send(stanza("second-reply")).expect("open"));
    drop(second);
    assert!(
        names(&mut rx).is_empty(),
        "the first hold still stops everything"
    );
    first.fill(|| tx.send(stanza("first-reply")).expect("open"));
    drop(first);
    assert_eq!(names(&mut rx), ["first-reply", "a", "second-reply", "b"]);
}

#[test]
fn a_hold_taken_while_filling_another_sits_in_its_place() {
    let (tx, mut rx) = channel();
    let outer = Hold::on(tx.gate());
    tx.send(stanza("later")).expect("open");
    let inner = outer.fill(|| {
        tx.send(stanza("x")).expect("open");
        let inner = Hold::on(tx.gate());
        tx.send(stanza("y")).expect("open");
        inner
    });
    drop(outer);
    assert_eq!(names(&mut rx), ["x"]);
    inner.fill(|| tx.send(stanza("inner-reply")).expect("open"));
    drop(inner);
    assert_eq!(names(&mut rx), ["inner-reply", "y", "later"]);
}

#[test]
fn a_hold_released_on_another_thread_wakes_the_receiver() {
    let (tx, mut rx) = channel();
    let hold = Hold::on(tx.gate());
    tx.send(stanza("held")).expect("open");
    std::thread::spawn(move || drop(hold))
        .join()
        .expect("thread");
    assert_eq!(names(&mut rx), ["held"]);
}

#[test]
fn a_gone_receiver_drops_what_was_held() {
    let (tx, rx) = channel();
    let hold = Hold::on(tx.gate());
    tx.send(stanza("held")).expect("open");
    drop(rx);
    assert!(tx.send(stanza("late")).is_err());
    drop(hold);
    assert_eq!(tx.gate().held(), 0);
}

#[test]
fn the_current_session_is_held_only_while_its_stanza_is_handled() {
    let (tx, mut rx) = channel();
    assert!(current().is_none());
    let hold = handling(Some(tx.gate()), current).expect("inside handling");
    assert!(current().is_none());
    tx.send(stanza("answer")).expect("open");
    assert!(names(&mut rx).is_empty());
    drop(hold);
    assert_eq!(names(&mut rx), ["answer"]);
}

#[test]
fn stanzas_handled_while_held_stay_in_flight_until_the_gate_is_empty() {
    let (tx, rx) = channel();
    rx.routed(100);
    rx.routed(50);
    let hold = Hold::on(tx.gate());
    tx.processed(100);
    tx.processed(50);
    assert_eq!((rx.inflight(), rx.inflight_bytes()), (2, 150));
    drop(hold);
    assert_eq!((rx.inflight(), rx.inflight_bytes()), (0, 0));
}
