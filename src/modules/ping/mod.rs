//! mod_ping: XEP-0199 pings to the server and to a bare JID are answered by the server.

use std::rc::Rc;

use crate::core::{Bus, Core};
use crate::modules::iq::result_for;
use crate::xmpp::ns;

pub fn load(core: &mut Core, host: &str) {
    let bus = Bus::Host(host.to_owned());
    for kind in ["host", "bare"] {
        core.hook(&bus, &format!("iq-get/{kind}/{}:ping", ns::PING), 0.0, Rc::new(|core, ev| {
            let reply = result_for(ev.stanza.as_ref()?);
            core.reply(&ev.origin, reply);
            Some(true)
        }));
    }
    if let Some(h) = core.hosts.get_mut(host) {
        h.features.insert(ns::PING.to_owned());
    }
}
