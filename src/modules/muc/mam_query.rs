//! Archive queries to a room JID (mod_muc_mam, reference §15.5): the query form, and
//! queries with Prosody's permission rules (outcasts, and non-members of members-only
//! rooms, are refused), data form and XEP-0059 paging. The archive is read on the storage
//! executor; the answer is sent from the continuation on the core thread.

use super::mam::{NS, STORE, WITH};
use super::{bare, MucState};
use crate::core::{Core, Event, Origin};
use crate::modules::iq::result_for;
use crate::modules::offline::stamp;
use crate::storage::lua_value::LuaValue;
use crate::storage::stanza as stanza_lua;
use crate::xml::{Element, Node};
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::ns;

const RSM: &str = "http://jabber.org/protocol/rsm";
const FORWARD: &str = "urn:xmpp:forward:0";
const DEFAULT_PAGE: usize = 20;

/// What a room archive query asks for.
#[derive(Debug, Default, Clone)]
struct Query {
    start: Option<f64>,
    end: Option<f64>,
    ids: Option<Vec<String>>,
    after: Option<String>,
    before: Option<String>,
    max: usize,
    reverse: bool,
    flip: bool,
}

/// True when the stanza was a MAM IQ to a room of a host with mod_muc_mam.
pub fn handle(core: &mut Core, host: &str, ev: &Event) -> bool {
    let Some(stanza) = ev.stanza.as_ref() else {
        return false;
    };
    let to = stanza.attr("to").unwrap_or_default();
    let Some(query) = stanza.get_child("query", NS) else {
        return false;
    };
    if stanza.name != "iq" || to.contains('/') || bare(to) == host {
        return false;
    }
    let Some(service) = core.state::<MucState>().services.get(host) else {
        return false;
    };
    let Some(mam) = service.opts.mam.clone() else {
        return false;
    };
    match stanza.attr("type") {
        Some("get") => {
            let reply = result_for(stanza).with_child(Element::new("query", NS).with_child(form()));
            core.reply(&ev.origin, reply);
            true
        }
        Some("set") => {
            let Some(room) = super::lua::find_room(core, host, to) else {
                core.reply(
                    &ev.origin,
                    StanzaError::cancel(StanzaCondition::ItemNotFound).reply(stanza),
                );
                return true;
            };
            let from = bare(stanza.attr("from").unwrap_or_default());
            let aff = room.affiliations.get(&from).copied().or_else(|| {
                let domain = from.split_once('@').map_or(from.as_str(), |(_, d)| d);
                room.affiliations
                    .get(domain)
                    .copied()
                    .filter(|a| *a == super::affiliation::Affiliation::Outcast)
            });
            let outcast = aff == Some(super::affiliation::Affiliation::Outcast);
            if outcast || (room.config.members_only && aff.is_none()) {
                core.reply(
                    &ev.origin,
                    StanzaError::auth(StanzaCondition::Forbidden).reply(stanza),
                );
                return true;
            }
            let q = match read(query, mam.max_results) {
                Ok(q) => q,
                Err(e) => {
                    core.reply(&ev.origin, e.reply(stanza));
                    return true;
                }
            };
            let (h, node) = (host.to_owned(), room.node().to_owned());
            let key = crate::storage::executor::key(host, Some(&node), STORE);
            let origin = ev.origin.clone();
            let stanza = stanza.clone();
            let anyone = room.config.whois_anyone;
            let total = mam.include_total;
            crate::storage::call::spawn(
                core,
                key,
                move |st| st.archive_list(&h, Some(&node), STORE),
                move |core, items| match items {
                    Ok(items) => answer(core, &origin, &stanza, &q, items, anyone, total),
                    Err(e) => {
                        tracing::error!("Archive query failed: {e}");
                        let e = StanzaError::cancel(StanzaCondition::InternalServerError)
                            .reply(&stanza);
                        core.reply(&origin, e);
                    }
                },
            );
            true
        }
        _ => false,
    }
}

fn form() -> Element {
    let field = |var: &str, kind: &str| {
        Element::new("field", ns::DATA_FORMS)
            .with_attr("var", var)
            .with_attr("type", kind)
    };
    let datetime = || {
        Element::new("validate", "http://jabber.org/protocol/xdata-validate")
            .with_attr("datatype", "xs:dateTime")
    };
    Element::new("x", ns::DATA_FORMS)
        .with_attr("type", "form")
        .with_child(
            field("FORM_TYPE", "hidden")
                .with_child(Element::new("value", ns::DATA_FORMS).with_text(NS)),
        )
        .with_child(field("with", "jid-single"))
        .with_child(field("start", "text-single").with_child(datetime()))
        .with_child(field("end", "text-single").with_child(datetime()))
        .with_child(field("before-id", "text-single"))
        .with_child(field("after-id", "text-single"))
        .with_child(field("ids", "list-multi"))
}

/// The query's form and RSM set, or the `bad-request` Prosody answers with.
fn read(query: &Element, max_results: usize) -> Result<Query, StanzaError> {
    let bad = |text: String| StanzaError::modify(StanzaCondition::BadRequest).with_text(text);
    let mut q = Query::default();
    if let Some(form) = query.get_child("x", ns::DATA_FORMS) {
        let field = |name: &str| {
            form.child_elements()
                .find(|f| f.name == "field" && f.attr("var") == Some(name))
        };
        let value = |name: &str| {
            field(name)
                .and_then(|f| f.child_elements().find(|c| c.name == "value"))
                .map(Element::text)
        };
        if value("FORM_TYPE").as_deref() != Some(NS) {
            return Err(bad(format!("Unexpected FORM_TYPE, expected '{NS}'")));
        }
        for (name, slot) in [("start", &mut q.start), ("end", &mut q.end)] {
            if let Some(raw) = value(name) {
                *slot =
                    Some(stamp::parse(&raw).ok_or_else(|| bad("invalid timestamp".to_owned()))?);
            }
        }
        q.before = value("before-id");
        q.after = value("after-id");
        if let Some(f) = field("ids") {
            let ids: Vec<String> = f
                .child_elements()
                .filter(|v| v.name == "value")
                .map(Element::text)
                .collect();
            q.ids = (!ids.is_empty()).then_some(ids);
        }
    }
    let set = query
        .get_child("set", RSM)
        .filter(|s| s.child_elements().next().is_some());
    let text = |n: &str| {
        set.and_then(|s| s.child_elements().find(|c| c.name == n))
            .map(Element::text)
    };
    q.max = text("max")
        .and_then(|m| m.trim().parse::<f64>().ok())
        .map_or(DEFAULT_PAGE, |m| m.max(0.0) as usize)
        .min(max_results);
    if let Some(b) = text("before") {
        q.reverse = true;
        if !b.is_empty() {
            q.before = Some(b);
        }
    }
    if let Some(a) = text("after") {
        q.after = Some(a);
    }
    q.flip = q.reverse != query.get_child("flip-page", NS).is_some();
    Ok(q)
}

fn field<'a>(item: &'a LuaValue, name: &str) -> Option<&'a str> {
    item.as_table()?.field(name)?.as_str()
}

fn answer(
    core: &mut Core,
    origin: &Origin,
    stanza: &Element,
    q: &Query,
    items: Vec<LuaValue>,
    whois_anyone: bool,
    include_total: bool,
) {
    let when = |i: &LuaValue| {
        i.as_table()
            .and_then(|t| t.field("when"))
            .and_then(LuaValue::as_f64)
            .unwrap_or(0.0)
    };
    let mut matching: Vec<&LuaValue> = items
        .iter()
        .filter(|i| field(i, "with") == Some(WITH))
        .filter(|i| {
            q.ids
                .as_ref()
                .is_none_or(|ids| ids.iter().any(|id| Some(id.as_str()) == field(i, "key")))
        })
        .filter(|i| q.start.is_none_or(|s| when(i) >= s))
        .filter(|i| q.end.is_none_or(|e| when(i) <= e))
        .collect();
    let total = matching.len();
    let (from_key, stop_key) = if q.reverse {
        matching.reverse();
        (q.before.as_deref(), q.after.as_deref())
    } else {
        (q.after.as_deref(), q.before.as_deref())
    };
    let skip = match from_key {
        Some(k) => match matching.iter().position(|i| field(i, "key") == Some(k)) {
            Some(p) => p + 1,
            None => {
                core.reply(
                    origin,
                    StanzaError::modify(StanzaCondition::ItemNotFound).reply(stanza),
                );
                return;
            }
        },
        None => 0,
    };
    let page: Vec<&LuaValue> = matching
        .into_iter()
        .skip(skip)
        .take_while(|i| stop_key.is_none_or(|k| field(i, "key") != Some(k)))
        .take(q.max + 1)
        .collect();
    let complete = page.len() <= q.max;
    let shown = &page[..page.len().min(q.max)];
    let queryid = stanza
        .get_child("query", NS)
        .and_then(|x| x.attr("queryid"))
        .map(str::to_owned);
    let mut results = Vec::with_capacity(shown.len());
    for item in shown {
        let Some(mut msg) = stanza_lua::deserialize(item) else {
            continue;
        };
        msg.attrs
            .retain(|(k, _)| k != "stamp" && k != "stamp_legacy" && k != "to");
        if !whois_anyone {
            msg.children.retain(|n| match n {
                Node::Element(e) => !(e.name == "x" && e.ns == super::broadcast::MUC_USER),
                Node::Text(_) => true,
            });
        }
        msg.ns = ns::CLIENT.into();
        let mut result =
            Element::new("result", NS).with_attr("id", field(item, "key").unwrap_or(""));
        if let Some(qid) = &queryid {
            result.set_attr("queryid", qid.as_str());
        }
        let forwarded = Element::new("forwarded", FORWARD)
            .with_child(
                Element::new("delay", ns::DELAY).with_attr("stamp", stamp::datetime(when(item))),
            )
            .with_child(msg);
        let mut m =
            Element::new("message", ns::CLIENT).with_attr("to", stanza.attr("from").unwrap_or(""));
        if let Some(from) = stanza.attr("to") {
            m.set_attr("from", from);
        }
        results.push(m.with_child(result.with_child(forwarded)));
    }
    if q.flip {
        results.reverse();
    }
    for m in results {
        core.reply(origin, m);
    }
    let mut first = shown.first().and_then(|i| field(i, "key"));
    let mut last = shown.last().and_then(|i| field(i, "key"));
    if q.reverse {
        std::mem::swap(&mut first, &mut last);
    }
    let mut set = Element::new("set", RSM);
    if let Some(f) = first {
        set.push_child(Element::new("first", RSM).with_text(f));
    }
    if let Some(l) = last {
        set.push_child(Element::new("last", RSM).with_text(l));
    }
    if include_total || q.max == 0 {
        set.push_child(Element::new("count", RSM).with_text(total.to_string()));
    }
    let mut fin = Element::new("fin", NS);
    if complete {
        fin.set_attr("complete", "true");
    }
    core.reply(origin, result_for(stanza).with_child(fin.with_child(set)));
}
