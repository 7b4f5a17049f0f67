//! mod_mam: XEP-0313 message archives for accounts (wave-2 reference §15). Messages a
//! local client sends (`pre-message/*`) and receives (`message/*`) are archived for that
//! account by Prosody's rules and preferences, stamped with a XEP-0359 `<stanza-id/>`,
//! and answered to the owner's own queries with XEP-0059 paging. Entries are kept as
//! Prosody's internal driver keeps them (`archive/<user>.list`), prefs in
//! `archive_prefs`, the expiry index in the `archive_cleanup` map.

pub mod archive;
pub mod find;
pub mod hold;
pub mod policy;
pub mod prefs;
pub mod query;

use std::collections::HashSet;
use std::rc::Rc;

use crate::core::events::HookResult;
use crate::core::{Bus, Core, Event, Origin, SessionId};
use crate::xml::Element;
use crate::xmpp::jid::Jid;

pub const NS: &str = "urn:xmpp:mam:2";
pub const NS_EXTENDED: &str = "urn:xmpp:mam:2#extended";

/// The options mod_mam reads, per host (reference §15.1).
#[derive(Debug, Clone)]
pub struct Settings {
    pub store: String,
    pub default_policy: prefs::Policy,
    pub smart_enable: bool,
    pub max_results: usize,
    pub include_total: bool,
    pub strip_namespaces: Vec<String>,
    /// `archive_expires_after` in seconds; `None` = "never".
    pub expires_after: Option<f64>,
    pub item_limit: usize,
}

impl Settings {
    pub fn read(core: &Core, host: &str) -> Settings {
        let s = core.options().host(host);
        let expires_after = match s.get("archive_expires_after") {
            Some(crate::config::Value::Integer(i)) => Some(*i as f64),
            Some(crate::config::Value::Number(n)) => Some(*n),
            _ => parse_expiry(&s.string("archive_expires_after").unwrap_or("1w".into())),
        };
        let strip = if s.get("dont_archive_namespaces").is_some() {
            s.strings("dont_archive_namespaces")
        } else {
            vec!["http://jabber.org/protocol/chatstates".to_owned()]
        };
        Settings {
            store: s
                .string("archive_store")
                .unwrap_or_else(|| "archive".into()),
            default_policy: prefs::server_policy(s.get("default_archive_policy")),
            smart_enable: s.boolean("mam_smart_enable").unwrap_or(false),
            max_results: s.integer("max_archive_query_results").unwrap_or(50).max(0) as usize,
            include_total: s
                .boolean("mam_include_total")
                .unwrap_or(expires_after.is_some()),
            strip_namespaces: strip,
            expires_after,
            item_limit: s
                .integer("storage_archive_item_limit")
                .unwrap_or(10_000)
                .max(1) as usize,
        }
    }
}

/// `<n>[d|w|m|y]` in seconds (no unit = seconds); `"never"` and nonsense are `None`.
pub fn parse_expiry(s: &str) -> Option<f64> {
    let s = s.trim().to_ascii_lowercase();
    if s == "never" {
        return None;
    }
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    let n: f64 = digits.parse().ok()?;
    let day = 86_400.0;
    let unit = s[digits.len()..].trim();
    let mult = match unit.chars().next() {
        None => 1.0,
        Some('d') => day,
        Some('w') => 7.0 * day,
        Some('m') => 31.0 * day,
        Some('y') => 365.2425 * day,
        Some(_) => 1.0,
    };
    Some(n * mult)
}

/// Core-thread state: settings per host, the sessions that queried their archive (they
/// get no offline broadcast), and cached item counts for the quota.
#[derive(Default)]
pub struct MamState {
    pub settings: std::collections::HashMap<String, Settings>,
    pub queried: HashSet<SessionId>,
    pub counts: std::collections::HashMap<(String, String), usize>,
}

pub fn settings(core: &mut Core, host: &str) -> Settings {
    if let Some(s) = core.state::<MamState>().settings.get(host) {
        return s.clone();
    }
    let s = Settings::read(core, host);
    core.state::<MamState>()
        .settings
        .insert(host.to_owned(), s.clone());
    s
}

pub fn load(core: &mut Core, host: &str) {
    let bus = Bus::Host(host.to_owned());
    let s = settings(core, host);
    if s.expires_after.is_none() {
        tracing::debug!("Archive expiry disabled on {host}");
    }
    for kind in ["bare", "full"] {
        core.hook(
            &bus,
            &format!("pre-message/{kind}"),
            0.0,
            Rc::new(move |core, ev| archive_outgoing(core, ev, kind)),
        );
        // The sender's own stanza-id leaves with carbons (−0.5) only, never to the peer.
        core.hook(
            &bus,
            &format!("pre-message/{kind}"),
            -1.0,
            Rc::new(|core, ev| {
                let owner = match &ev.origin {
                    Origin::Session(id) => core.sessions.get(id)?.bare_jid().to_owned(),
                    Origin::Host(_) => return None,
                };
                policy::strip_stanza_id(ev.stanza.as_mut()?, &owner);
                None
            }),
        );
        core.hook(
            &bus,
            &format!("message/{kind}"),
            0.0,
            Rc::new(move |core, ev| archive_incoming(core, ev, kind)),
        );
    }
    query::hook(core, &bus);
    let owner_host = host.to_owned();
    core.hook(
        &bus,
        "message/offline/handle",
        -2.0,
        Rc::new(move |_core, ev| {
            // Archived and not stored offline (mod_offline disabled): still delivered.
            let stanza = ev.stanza.as_ref()?;
            let to = Jid::parse(stanza.attr("to")?).ok()?;
            let owner = format!("{}@{owner_host}", to.node()?);
            let archived = stanza.child_elements().any(|c| {
                c.name == "stanza-id" && c.ns == policy::STANZA_ID && c.attr("by") == Some(&owner)
            });
            archived.then_some(true)
        }),
    );
    core.hook(
        &bus,
        "message/offline/broadcast",
        0.0,
        Rc::new(|core, ev| {
            let Origin::Session(id) = ev.origin else {
                return None;
            };
            core.state::<MamState>()
                .queried
                .contains(&id)
                .then_some(true)
        }),
    );
    core.hook(
        &bus,
        "resource-unbind",
        0.0,
        Rc::new(|core, ev| {
            if let Some(id) = ev.session {
                core.state::<MamState>().queried.remove(&id);
            }
            None
        }),
    );
    core.hook(
        &bus,
        "account-disco-info",
        0.0,
        // The reply being built lives in the disco module's state (the event carries no
        // stanza, as in Prosody); without this, clients such as Converse.js never see MAM.
        Rc::new(|core, _ev| {
            if let Some(reply) = core
                .state::<crate::modules::disco::account::AccountDisco>()
                .query()
            {
                add_disco_features(reply);
            }
            None
        }),
    );
    archive::schedule_cleanup_job(core, host);
}

/// The features an account's disco#info gains (Prosody's `account-disco-info` hook).
pub fn add_disco_features(query: &mut Element) {
    for var in [NS, NS_EXTENDED, policy::STANZA_ID] {
        query
            .push_child(Element::new("feature", crate::xmpp::ns::DISCO_INFO).with_attr("var", var));
    }
}

/// `pre-message/*`: a local client's message, archived for the sender.
fn archive_outgoing(core: &mut Core, ev: &mut Event, kind: &str) -> HookResult {
    let Origin::Session(id) = ev.origin else {
        return None;
    };
    let s = core.sessions.get(&id)?;
    let (user, host, own) = (
        s.username().to_owned(),
        s.host().to_owned(),
        s.bare_jid().to_owned(),
    );
    let stanza = ev.stanza.as_mut()?;
    let with = match stanza.attr("to") {
        Some(to) => bare_of(to),
        None => own.clone(),
    };
    policy::strip_stanza_id(stanza, &own);
    let step = hold::Step {
        bus: Bus::Host(host.clone()),
        name: format!("pre-message/{kind}"),
    };
    let queue = hold::Queue::Outgoing(id, host.clone());
    archive::store_if_wanted(core, ev, (&host, &user, &with), queue, step)
}

/// `message/*`: a message to a local account, archived for the recipient.
fn archive_incoming(core: &mut Core, ev: &mut Event, kind: &str) -> HookResult {
    let stanza = ev.stanza.as_mut()?;
    let target = stanza
        .attr("to")
        .or(stanza.attr("from"))
        .and_then(|t| Jid::parse(t).ok())?;
    let user = target.node().map(str::to_owned)?;
    let host = target.domain().to_owned();
    let with = stanza.attr("from").map(bare_of).unwrap_or_default();
    let owner = format!("{user}@{host}");
    policy::strip_stanza_id(stanza, &owner);
    let step = hold::Step {
        bus: Bus::Host(host.clone()),
        name: format!("message/{kind}"),
    };
    let queue = hold::Queue::Incoming(owner);
    archive::store_if_wanted(core, ev, (&host, &user, &with), queue, step)
}

fn bare_of(jid: &str) -> String {
    match Jid::parse(jid) {
        Ok(j) => match j.node() {
            Some(n) => format!("{n}@{}", j.domain()),
            None => j.domain().to_owned(),
        },
        Err(_) => jid.split('/').next().unwrap_or(jid).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_expiry;

    #[test]
    fn expiry_units_are_prosodys() {
        assert_eq!(parse_expiry("1w"), Some(7.0 * 86_400.0));
        assert_eq!(parse_expiry("2d"), Some(2.0 * 86_400.0));
        assert_eq!(parse_expiry("1m"), Some(31.0 * 86_400.0));
        assert_eq!(parse_expiry("3600"), Some(3600.0));
        assert_eq!(parse_expiry("never"), None);
        assert_eq!(parse_expiry("soon"), None);
    }
}
