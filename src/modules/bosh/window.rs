//! The request side of one BOSH session, sans-IO (reference §18.3, XEP-0124 §9–§14):
//! the `rid` window, held requests (hold = 1, requests = 2), the buffer of output for the
//! next response, the wait and inactivity timers, replays of the last answered rids and
//! every termination. Generic over the reply handle `T` so tests drive it with plain
//! values and a virtual clock.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::body::{self, Broken, Creation};
use super::records::In;

/// Prosody's fixed `hold`.
pub const HOLD: usize = 1;

/// One request the window was handed.
#[derive(Debug)]
pub struct Request<T> {
    pub rid: u64,
    pub payload: Vec<u8>,
    pub terminate: bool,
    /// The payload did not parse (and is empty here).
    pub broken: Option<Broken>,
    pub reply: T,
}

/// What the task must do after an input.
#[derive(Debug, Default)]
pub struct Actions<T> {
    /// Responses to send now.
    pub answers: Vec<(T, String)>,
    /// Records for the c2s session, in order.
    pub feed: Vec<(In, Vec<u8>)>,
    /// The session is over once `feed` is written.
    pub end: bool,
}

impl<T> Actions<T> {
    fn new() -> Self {
        Actions {
            answers: Vec::new(),
            feed: Vec::new(),
            end: false,
        }
    }
}

/// The window of one session.
#[derive(Debug)]
pub struct Window<T> {
    sid: String,
    host: String,
    creation: Option<Creation>,
    rid: u64,
    held: VecDeque<(u64, T)>,
    buffer: String,
    /// A request one ahead of the next expected rid, processed once the gap fills.
    deferred: Option<Request<T>>,
    /// The last two answered rids and their bodies.
    answered: VecDeque<(u64, String)>,
    restart_due: bool,
    wait: Duration,
    max_inactivity: Duration,
    wait_deadline: Option<Instant>,
    inactive_deadline: Option<Instant>,
    /// Largest buffered output before the session is closed (`max_send_buffer_size`).
    max_buffer: usize,
    ended: bool,
}

impl<T> Window<T> {
    /// The window of a new session; `first` is the creation request (its rid and reply).
    pub fn new(
        sid: String,
        creation: Creation,
        max_inactivity: Duration,
        max_buffer: usize,
        first: Request<T>,
        now: Instant,
    ) -> (Self, Actions<T>) {
        let mut w = Window {
            sid,
            host: creation.from.clone(),
            wait: Duration::from_secs(creation.wait),
            creation: Some(creation),
            rid: first.rid,
            held: VecDeque::new(),
            buffer: String::new(),
            deferred: None,
            answered: VecDeque::new(),
            restart_due: false,
            max_inactivity,
            wait_deadline: None,
            inactive_deadline: None,
            max_buffer,
            ended: false,
        };
        let mut a = Actions::new();
        a.feed.push((In::Open, w.host.clone().into_bytes()));
        w.accept(first, now, &mut a);
        (w, a)
    }

    pub fn sid(&self) -> &str {
        &self.sid
    }

    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// Requests waiting for an answer (at most `requests` + the replaced ones).
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// A request for this session.
    pub fn on_request(&mut self, req: Request<T>, now: Instant) -> Actions<T> {
        let mut a = Actions::new();
        if self.ended {
            a.answers
                .push((req.reply, body::terminate("item-not-found", false, false)));
            return a;
        }
        let diff = req.rid.wrapping_sub(self.rid);
        // Prosody's parser has checked the rid before it fails on the payload. Forbidden
        // XML ends the session, whatever the rid, with `bad-format` once the c2s side
        // closes; a syntax error refuses only this request, its rid still counting.
        if req.broken == Some(Broken::Forbidden) {
            a.feed.push((In::Malformed, Vec::new()));
        }
        match diff {
            1 if req.broken == Some(Broken::Forbidden) => {
                self.rid = req.rid;
                self.held.push_back((req.rid, req.reply));
            }
            1 if req.broken.is_some() => {
                self.rid = req.rid;
                a.answers
                    .push((req.reply, body::terminate("bad-request", true, false)));
            }
            1 => {
                self.accept(req, now, &mut a);
                if let Some(next) = self.deferred.take() {
                    if next.rid == self.rid + 1 {
                        self.accept(next, now, &mut a);
                    }
                }
            }
            2 => {
                // A request went missing: hold this one, its payload waits for the gap.
                if let Some(old) = self.deferred.replace(req) {
                    a.answers.push((old.reply, self.response("")));
                }
            }
            _ => {
                if let Some((_, replay)) = self.answered.iter().find(|(r, _)| *r == req.rid) {
                    a.answers.push((req.reply, replay.clone()));
                } else if diff == 0 {
                    // The current rid again: held, its payload ignored.
                    self.held.push_back((req.rid, req.reply));
                    self.after_request(now, &mut a);
                } else {
                    a.answers
                        .push((req.reply, body::terminate("item-not-found", false, false)));
                }
            }
        }
        a
    }

    fn accept(&mut self, req: Request<T>, now: Instant, a: &mut Actions<T>) {
        self.rid = req.rid;
        self.held.push_back((req.rid, req.reply));
        if self.restart_due {
            self.restart_due = false;
            a.feed.push((In::Open, self.host.clone().into_bytes()));
        }
        if !req.payload.is_empty() {
            a.feed.push((In::Xml, req.payload));
        }
        if req.terminate {
            // Payload first, then every held request gets the terminate body.
            a.feed.push((In::Close, Vec::new()));
            let body = body::server_close(None);
            for (_, reply) in self.held.drain(..) {
                a.answers.push((reply, body.clone()));
            }
            self.end();
            a.end = true;
            return;
        }
        self.after_request(now, a);
    }

    fn after_request(&mut self, now: Instant, a: &mut Actions<T>) {
        self.inactive_deadline = None;
        if self.held.len() > HOLD || !self.buffer.is_empty() {
            self.answer_oldest(a);
        }
        self.wait_deadline = (!self.held.is_empty()).then(|| now + self.wait);
        self.after_answer(now);
    }

    /// One element of the session's output, answered at once if a request is held.
    pub fn on_element(&mut self, xml: &str, now: Instant) -> Actions<T> {
        let mut a = self.buffer_element(xml);
        if !a.end {
            a.answers.extend(self.flush(now).answers);
        }
        a
    }

    /// Whether output waits for a held request ([`Self::flush`] would answer).
    pub fn can_flush(&self) -> bool {
        !self.ended && !self.held.is_empty() && !self.buffer.is_empty()
    }

    /// Answers the oldest held request with the buffered output, if both exist.
    pub fn flush(&mut self, now: Instant) -> Actions<T> {
        let mut a = Actions::new();
        if self.can_flush() {
            self.answer_oldest(&mut a);
            self.after_answer(now);
        }
        a
    }

    /// One element of the session's output, buffered (the task flushes once the session
    /// has been quiet a moment, so one payload's answers share one response).
    pub fn buffer_element(&mut self, xml: &str) -> Actions<T> {
        let mut a = Actions::new();
        if self.ended {
            return a;
        }
        self.buffer.push_str(xml);
        if self.held.is_empty() && self.buffer.len() > self.max_buffer {
            tracing::info!(sid = %self.sid, "BOSH client not polling; send buffer full");
            a.feed.push((In::Silent, Vec::new()));
            self.end();
            a.end = true;
        }
        a
    }

    /// SASL succeeded: the next request opens a new stream.
    pub fn on_restart(&mut self) {
        self.restart_due = true;
    }

    /// The server closed the stream (`error`: the serialised `<stream:error>`).
    pub fn on_close(&mut self, error: Option<&str>) -> Actions<T> {
        let mut a = Actions::new();
        if self.ended {
            return a;
        }
        let body = body::server_close(error);
        for (_, reply) in self.held.drain(..) {
            a.answers.push((reply, body.clone()));
        }
        if let Some(d) = self.deferred.take() {
            a.answers.push((d.reply, body));
        }
        self.end();
        a.end = true;
        a
    }

    /// The earliest instant [`Self::on_timer`] has something to do.
    pub fn deadline(&self) -> Option<Instant> {
        match (self.wait_deadline, self.inactive_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn on_timer(&mut self, now: Instant) -> Actions<T> {
        let mut a = Actions::new();
        if self.ended {
            return a;
        }
        if self.wait_deadline.is_some_and(|d| d <= now) {
            self.wait_deadline = None;
            if !self.held.is_empty() {
                self.answer_oldest(&mut a);
                self.after_answer(now);
            }
        }
        if self.inactive_deadline.is_some_and(|d| d <= now) {
            tracing::info!(
                sid = %self.sid,
                "BOSH client silent for over {} seconds",
                self.max_inactivity.as_secs()
            );
            a.feed.push((In::Silent, Vec::new()));
            self.end();
            a.end = true;
        }
        a
    }

    fn after_answer(&mut self, now: Instant) {
        if self.held.is_empty() {
            self.wait_deadline = None;
            self.inactive_deadline = Some(now + self.max_inactivity);
        }
    }

    fn answer_oldest(&mut self, a: &mut Actions<T>) {
        let Some((rid, reply)) = self.held.pop_front() else {
            return;
        };
        let buffer = std::mem::take(&mut self.buffer);
        let body = self.response(&buffer);
        self.answered.push_back((rid, body.clone()));
        if self.answered.len() > 2 {
            self.answered.pop_front();
        }
        a.answers.push((reply, body));
    }

    fn response(&mut self, payload: &str) -> String {
        let mut s = String::with_capacity(payload.len() + 128);
        body::response_open(&self.sid, false, self.creation.take().as_ref(), &mut s);
        s.push_str(payload);
        s.push_str("</body>");
        s
    }

    fn end(&mut self) {
        self.ended = true;
        self.buffer = String::new();
        self.wait_deadline = None;
        self.inactive_deadline = None;
    }
}

#[cfg(test)]
#[path = "window_tests.rs"]
mod tests;
