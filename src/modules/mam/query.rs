//! The owner's archive IQs (wave-2 reference §15.3): the query form, queries with a
//! data form and XEP-0059 paging, preferences, and metadata.

use std::rc::Rc;
use std::sync::Arc;

use crate::core::{Bus, Core, Event, Origin};
use crate::modules::iq::result_for;
use crate::modules::offline::stamp;
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::jid::Jid;
use crate::xmpp::ns;

use super::find::{FindError, Query};
use super::prefs::Prefs;
use super::{archive, settings, MamState, NS};

const RSM: &str = "http://jabber.org/protocol/rsm";
const FORWARD: &str = "urn:xmpp:forward:0";
const DEFAULT_PAGE: usize = 20;

pub fn hook(core: &mut Core, bus: &Bus) {
    core.hook(
        bus,
        &format!("iq-get/self/{NS}:query"),
        0.0,
        Rc::new(|core, ev| {
            let (user, host) = owner(core, ev)?;
            archive::prefs(core, &host, &user, true);
            let q = Element::new("query", NS).with_child(query_form());
            let reply = result_for(ev.stanza.as_ref()?).with_child(q);
            core.reply(&ev.origin, reply);
            Some(true)
        }),
    );
    core.hook(
        bus,
        &format!("iq-set/self/{NS}:query"),
        0.0,
        Rc::new(|core, ev| {
            let (user, host) = owner(core, ev)?;
            run_query(core, ev, &host, &user);
            Some(true)
        }),
    );
    core.hook(
        bus,
        &format!("iq/self/{NS}:prefs"),
        0.0,
        Rc::new(|core, ev| {
            let (user, host) = owner(core, ev)?;
            let stanza = ev.stanza.as_ref()?;
            if stanza.attr("type") == Some("set") {
                let new = stanza
                    .get_child("prefs", NS)
                    .map(Prefs::from_element)
                    .unwrap_or_default();
                if let Err(e) = archive::set_prefs(core, &host, &user, &new) {
                    tracing::error!("Could not store archive preferences of {user}@{host}: {e}");
                    let text = "Error storing preferences";
                    let e = StanzaError::cancel(StanzaCondition::InternalServerError)
                        .with_text(text.to_owned())
                        .reply(stanza);
                    core.reply(&ev.origin, e);
                    return Some(true);
                }
            }
            let p = archive::prefs(core, &host, &user, true);
            let fallback = settings(core, &host).default_policy;
            let reply = result_for(stanza).with_child(p.to_element(fallback));
            core.reply(&ev.origin, reply);
            Some(true)
        }),
    );
    core.hook(
        bus,
        &format!("iq-get/self/{NS}:metadata"),
        0.0,
        Rc::new(|core, ev| {
            let (user, host) = owner(core, ev)?;
            let stanza = ev.stanza.as_ref()?;
            let (request, origin) = (stanza.clone(), ev.origin.clone());
            let store = settings(core, &host).store;
            let key = crate::storage::executor::key(&host, Some(&user), &store);
            crate::storage::call::spawn_held(
                core,
                &ev.origin,
                key,
                move |st| archive::bounds(st, (&host, &user, &store)),
                move |core, result| {
                    let bounds = match result {
                        Ok(b) => b,
                        Err(e) => {
                            tracing::error!("Archive metadata query failed: {e}");
                            let e = StanzaError::cancel(StanzaCondition::InternalServerError)
                                .reply(&request);
                            return core.reply(&origin, e);
                        }
                    };
                    let mut meta = Element::new("metadata", NS);
                    if let Some((first, last)) = bounds {
                        for (name, (id, when)) in [("start", first), ("end", last)] {
                            meta.push_child(
                                Element::new(name, NS)
                                    .with_attr("id", id.as_str())
                                    .with_attr("timestamp", stamp::datetime(when)),
                            );
                        }
                    }
                    core.reply(&origin, result_for(&request).with_child(meta));
                },
            );
            Some(true)
        }),
    );
}

fn owner(core: &Core, ev: &Event) -> Option<(String, String)> {
    let Origin::Session(id) = ev.origin else {
        return None;
    };
    let s = core.sessions.get(&id)?;
    Some((s.username().to_owned(), s.host().to_owned()))
}

/// The form clients fill in (internal storage supports id ranges and id lists).
fn query_form() -> Element {
    let field = |var: &str, kind: &str| {
        Element::new("field", ns::DATA_FORMS)
            .with_attr("var", var)
            .with_attr("type", kind)
    };
    Element::new("x", ns::DATA_FORMS)
        .with_attr("type", "form")
        .with_child(
            field("FORM_TYPE", "hidden")
                .with_child(Element::new("value", ns::DATA_FORMS).with_text(NS)),
        )
        .with_child(field("with", "jid-single"))
        .with_child(
            field("start", "text-single").with_child(
                Element::new("validate", "http://jabber.org/protocol/xdata-validate")
                    .with_attr("datatype", "xs:dateTime"),
            ),
        )
        .with_child(
            field("end", "text-single").with_child(
                Element::new("validate", "http://jabber.org/protocol/xdata-validate")
                    .with_attr("datatype", "xs:dateTime"),
            ),
        )
        .with_child(field("before-id", "text-single"))
        .with_child(field("after-id", "text-single"))
        .with_child(field("ids", "list-multi"))
}

/// The form's fields, or the `bad-request` Prosody answers with.
fn read_form(form: &Element) -> Result<Query, StanzaError> {
    let bad = |text: String| StanzaError::modify(StanzaCondition::BadRequest).with_text(text);
    let form_type = form
        .child_elements()
        .find(|f| f.name == "field" && f.attr("var") == Some("FORM_TYPE"))
        .map(|f| value(f).unwrap_or_default())
        .unwrap_or_default();
    if form_type != NS {
        return Err(bad(format!("Unexpected FORM_TYPE, expected '{NS}'")));
    }
    let mut q = Query::default();
    let field = |name: &str| {
        form.child_elements()
            .find(|f| f.name == "field" && f.attr("var") == Some(name))
    };
    if let Some(raw) = field("with").and_then(value) {
        match Jid::parse(&raw) {
            Ok(j) => {
                q.with = Some(match j.node() {
                    Some(n) => format!("{n}@{}", j.domain()),
                    None => j.domain().to_owned(),
                })
            }
            Err(_) => return Err(bad(format!("Invalid JID: {raw}"))),
        }
    }
    for (name, slot) in [("start", &mut q.start), ("end", &mut q.end)] {
        if let Some(raw) = field(name).and_then(value) {
            *slot = Some(stamp::parse(&raw).ok_or_else(|| bad("invalid timestamp".to_owned()))?);
        }
    }
    q.before = field("before-id").and_then(value);
    q.after = field("after-id").and_then(value);
    if let Some(f) = field("ids") {
        let ids: Vec<String> = f
            .child_elements()
            .filter(|v| v.name == "value")
            .map(|v| v.text())
            .collect();
        if !ids.is_empty() {
            q.ids = Some(ids);
        }
    }
    Ok(q)
}

fn value(field: &Element) -> Option<String> {
    field
        .child_elements()
        .find(|c| c.name == "value")
        .map(Element::text)
}

/// RSM `<set/>`: max, after, and before (`Some(None)` = an empty `<before/>`).
struct Rsm {
    max: Option<usize>,
    after: Option<String>,
    before: Option<Option<String>>,
}

fn read_rsm(query: &Element) -> Option<Rsm> {
    let set = query.get_child("set", RSM)?;
    set.child_elements().next()?;
    let text = |n: &str| {
        set.child_elements()
            .find(|c| c.name == n)
            .map(Element::text)
    };
    Some(Rsm {
        max: text("max")
            .and_then(|m| m.trim().parse::<f64>().ok())
            .map(|m| m.max(0.0) as usize),
        after: text("after"),
        before: text("before").map(|b| if b.is_empty() { None } else { Some(b) }),
    })
}

fn run_query(core: &mut Core, ev: &Event, host: &str, user: &str) {
    let Some(stanza) = ev.stanza.as_ref() else {
        return;
    };
    let Some(query) = stanza.get_child("query", NS) else {
        return;
    };
    if let Origin::Session(id) = ev.origin {
        core.state::<MamState>().queried.insert(id);
    }
    archive::prefs(core, host, user, true);
    let s = settings(core, host);
    let mut q = match query.get_child("x", ns::DATA_FORMS).map(read_form) {
        Some(Err(e)) => return core.reply(&ev.origin, e.reply(stanza)),
        Some(Ok(q)) => q,
        None => Query::default(),
    };
    let rsm = read_rsm(query);
    let max = rsm
        .as_ref()
        .and_then(|r| r.max)
        .unwrap_or(DEFAULT_PAGE)
        .min(s.max_results);
    let reverse = rsm.as_ref().is_some_and(|r| r.before.is_some());
    if let Some(r) = &rsm {
        if let Some(b) = &r.before {
            q.before = b.clone();
        }
        if r.after.is_some() {
            q.after = r.after.clone();
        }
    }
    q.reverse = reverse;
    q.limit = Some(if max == 0 { 0 } else { max + 1 });
    let flip = reverse != query.get_child("flip-page", NS).is_some();

    let include_total = s.include_total;
    let queryid = query.attr("queryid").map(str::to_owned);
    let request = stanza.clone();
    let origin = ev.origin.clone();
    let (h, u, store) = (host.to_owned(), user.to_owned(), s.store.clone());
    let key = crate::storage::executor::key(host, Some(user), &s.store);
    crate::storage::call::spawn_held(
        core,
        &ev.origin,
        key,
        move |st| archive::page(st, (&h, &u, &store), &q, max),
        move |core, result| {
            let answer = Answer {
                request,
                origin,
                queryid,
                max,
                reverse,
                flip,
                include_total,
            };
            answer.send(core, result)
        },
    );
}

/// What a query's answer needs once its page is read.
struct Answer {
    request: Element,
    origin: Origin,
    queryid: Option<String>,
    max: usize,
    reverse: bool,
    flip: bool,
    include_total: bool,
}

impl Answer {
    fn send(self, core: &mut Core, result: Result<archive::Page, archive::PageError>) {
        let stanza = &self.request;
        let page = match result {
            Ok(p) => p,
            Err(archive::PageError::Find(FindError::ItemNotFound)) => {
                let e = StanzaError::modify(StanzaCondition::ItemNotFound).reply(stanza);
                return core.reply(&self.origin, e);
            }
            Err(e) => {
                tracing::error!("Archive query failed: {e}");
                let e = StanzaError::cancel(StanzaCondition::InternalServerError).reply(stanza);
                return core.reply(&self.origin, e);
            }
        };
        let (max, reverse, flip) = (self.max, self.reverse, self.flip);
        let complete = page.complete;
        let total = page.total;
        let shown = &page.rows;
        let to = stanza.attr("from").unwrap_or("");
        let mut results: Vec<Element> = Vec::with_capacity(shown.len());
        for (key, when, msg) in shown {
            let Some(mut msg) = msg.clone() else {
                continue;
            };
            msg.ns = ns::CLIENT.into();
            let mut result = Element::new("result", NS).with_attr("id", key.as_str());
            if let Some(qid) = &self.queryid {
                result.set_attr("queryid", qid.as_str());
            }
            let forwarded = Element::new("forwarded", FORWARD)
                .with_child(
                    Element::new("delay", ns::DELAY).with_attr("stamp", stamp::datetime(*when)),
                )
                .with_child(msg);
            let mut m = Element::new("message", ns::CLIENT).with_attr("to", to);
            if let Some(from) = stanza.attr("to") {
                m.set_attr("from", from);
            }
            results.push(m.with_child(result.with_child(forwarded)));
        }
        if flip {
            results.reverse();
        }
        let ev_origin = self.origin.clone();
        let sid = match ev_origin {
            Origin::Session(id) => Some(id),
            Origin::Host(_) => None,
        };
        for m in results {
            if let Some(id) = sid {
                core.send_to(id, Arc::new(m));
            }
        }
        let (mut first, mut last) = (
            shown.first().map(|e| e.0.clone()),
            shown.last().map(|e| e.0.clone()),
        );
        if reverse {
            std::mem::swap(&mut first, &mut last);
        }
        let mut set = Element::new("set", RSM);
        if let Some(f) = first {
            set.push_child(Element::new("first", RSM).with_text(f));
        }
        if let Some(l) = last {
            set.push_child(Element::new("last", RSM).with_text(l));
        }
        if self.include_total || max == 0 {
            set.push_child(Element::new("count", RSM).with_text(total.to_string()));
        }
        let mut fin = Element::new("fin", NS);
        if complete {
            fin.set_attr("complete", "true");
        }
        core.reply(
            &self.origin,
            result_for(stanza).with_child(fin.with_child(set)),
        );
    }
}
