//! Subscription requests, approvals, cancellations and probes (RFC 6121 §3, §4.3), in
//! both directions, as Prosody's mod_presence applies them to the roster.

use std::sync::Arc;

use super::{bare_of, presence, send_presence_of_available_resources, split};
use crate::core::router::post_stanza;
use crate::core::{Core, Event, Origin};
use crate::modules::offline::stanza_lua::preserialize;
use crate::modules::roster::manager;
use crate::xmpp::error::{StanzaCondition, StanzaError};

/// A local user (or the host on a user's behalf) sends a subscription stanza or probe.
/// `Some(true)` when handled here (the stanza was routed without further pre-events).
pub fn outbound(core: &mut Core, ev: &mut Event) -> Option<bool> {
    let stanza = ev.stanza.as_ref()?;
    let from_bare = bare_of(stanza.attr("from")?)?;
    let to_bare = bare_of(stanza.attr("to")?)?;
    if from_bare == to_bare {
        return None;
    }
    let ptype = stanza.attr("type").unwrap_or_default().to_owned();
    if ptype == "probe" {
        return None;
    }
    let (user, host) = split(&from_bare)?;
    let mut bare_stanza = stanza.clone();
    bare_stanza.set_attr("from", from_bare.as_str());
    bare_stanza.set_attr("to", to_bare.as_str());
    let origin = ev.origin.clone();
    match ptype.as_str() {
        "subscribe" => {
            if manager::set_contact_pending_out(core, &user, &host, &to_bare) {
                manager::push(core, &user, &host, &to_bare);
            }
            post_stanza(core, origin, bare_stanza, false);
        }
        "unsubscribe" => {
            if manager::unsubscribe(core, &user, &host, &to_bare) {
                manager::push(core, &user, &host, &to_bare);
            }
            post_stanza(core, origin, bare_stanza, false);
        }
        "subscribed" => {
            if manager::subscribed(core, &user, &host, &to_bare) {
                manager::push(core, &user, &host, &to_bare);
            }
            if manager::is_contact_subscribed(core, &user, &host, &to_bare) {
                post_stanza(core, origin.clone(), bare_stanza, false);
                send_presence_of_available_resources(core, &from_bare, &to_bare, None);
            }
            if manager::is_user_subscribed(core, &user, &host, &to_bare) {
                let probe = presence(Some("probe"), &from_bare, &to_bare);
                post_stanza(core, origin, probe, false);
            }
        }
        "unsubscribed" => {
            let (saved, _pending, was_subscribed) =
                manager::unsubscribed(core, &user, &host, &to_bare);
            if saved {
                if was_subscribed {
                    manager::push(core, &user, &host, &to_bare);
                }
                post_stanza(core, origin, bare_stanza, false);
                if was_subscribed {
                    let mut unavailable = presence(Some("unavailable"), "", "");
                    unavailable.attrs.retain(|(k, _)| k == "type");
                    send_presence_of_available_resources(
                        core,
                        &from_bare,
                        &to_bare,
                        Some(&unavailable),
                    );
                }
            }
        }
        _ => {
            let e = StanzaError::modify(StanzaCondition::BadRequest)
                .with_text("Invalid presence type")
                .reply(stanza);
            core.reply(&ev.origin, e);
        }
    }
    Some(true)
}

/// A subscription stanza or probe arrives for a local user (bare or full JID).
pub fn inbound(core: &mut Core, ev: &mut Event) {
    let Some(stanza) = ev.stanza.as_ref() else {
        return;
    };
    let (Some(st_from), Some(to)) = (stanza.attr("from"), stanza.attr("to")) else {
        return;
    };
    let st_from = st_from.to_owned();
    let (Some(from_bare), Some(to_bare)) = (bare_of(&st_from), bare_of(to)) else {
        return;
    };
    let Some((user, host)) = split(&to_bare) else {
        return;
    };
    let mut bare_stanza = stanza.clone();
    bare_stanza.set_attr("from", from_bare.as_str());
    bare_stanza.set_attr("to", to_bare.as_str());
    let from_host = Origin::Host(host.clone());
    let ptype = stanza.attr("type").unwrap_or_default().to_owned();
    match ptype.as_str() {
        "probe" => {
            if manager::is_contact_subscribed(core, &user, &host, &from_bare) {
                if send_presence_of_available_resources(core, &to_bare, &st_from, None) == 0 {
                    let p = presence(Some("unavailable"), &to_bare, &st_from);
                    post_stanza(core, from_host, p, true);
                }
            } else {
                let p = presence(Some("unsubscribed"), &to_bare, &from_bare);
                post_stanza(core, from_host, p, true);
            }
        }
        "subscribe" => {
            if manager::is_contact_subscribed(core, &user, &host, &from_bare) {
                let p = presence(Some("subscribed"), &to_bare, &from_bare);
                post_stanza(core, from_host.clone(), p, true);
                if send_presence_of_available_resources(core, &to_bare, &from_bare, None) == 0 {
                    let p = presence(Some("unavailable"), &to_bare, &from_bare);
                    post_stanza(core, from_host, p, true);
                }
            } else if manager::is_contact_preapproved(core, &user, &host, &from_bare) {
                if !manager::is_contact_pending_in(core, &user, &host, &from_bare)
                    && manager::set_contact_pending_in(
                        core,
                        &user,
                        &host,
                        &from_bare,
                        preserialize(&bare_stanza),
                    )
                {
                    // Routed as if the user answered, which completes the approval.
                    let p = presence(Some("subscribed"), &to_bare, &from_bare);
                    post_stanza(core, from_host, p, true);
                }
            } else {
                // Acknowledges receipt without revealing anything.
                let p = presence(Some("unavailable"), &to_bare, &from_bare);
                post_stanza(core, from_host, p, true);
                if !manager::is_contact_pending_in(core, &user, &host, &from_bare)
                    && manager::set_contact_pending_in(
                        core,
                        &user,
                        &host,
                        &from_bare,
                        preserialize(&bare_stanza),
                    )
                {
                    let shared = Arc::new(bare_stanza);
                    for sid in manager::available(core, &to_bare) {
                        core.send_to(sid, shared.clone());
                    }
                }
            }
        }
        "unsubscribe" | "subscribed" | "unsubscribed" => {
            let changed = match ptype.as_str() {
                "unsubscribe" => {
                    manager::process_inbound_unsubscribe(core, &user, &host, &from_bare)
                }
                "subscribed" => {
                    manager::process_inbound_subscription_approval(core, &user, &host, &from_bare)
                }
                _ => manager::process_inbound_subscription_cancellation(
                    core, &user, &host, &from_bare,
                ),
            };
            if changed {
                let shared = Arc::new(bare_stanza);
                for sid in manager::interested(core, &to_bare) {
                    core.send_to(sid, shared.clone());
                }
                manager::push(core, &user, &host, &from_bare);
            }
        }
        _ => {
            let e = StanzaError::modify(StanzaCondition::BadRequest)
                .with_text("Invalid presence type")
                .reply(stanza);
            core.reply(&ev.origin, e);
        }
    }
}
