//! mod_uptime: XEP-0012 `jabber:iq:last` sent to the host answers the seconds since the
//! server started (reference §9.7). Prosody's ad-hoc "Get uptime" needs mod_adhoc, which
//! Lilt does not have yet.

use std::rc::Rc;
use std::time::SystemTime;

use crate::core::{Bus, Core};
use crate::modules::iq::result_for;
use crate::xml::Element;
use crate::xmpp::ns;

pub fn load(core: &mut Core, host: &str) {
    let bus = Bus::Host(host.to_owned());
    core.hook(
        &bus,
        &format!("iq-get/host/{}:query", ns::LAST),
        0.0,
        Rc::new(|core, ev| {
            let secs = SystemTime::now()
                .duration_since(core.start_time)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let q = Element::new("query", ns::LAST).with_attr("seconds", secs.to_string());
            let reply = result_for(ev.stanza.as_ref()?).with_child(q);
            core.reply(&ev.origin, reply);
            Some(true)
        }),
    );
    if let Some(h) = core.hosts.get_mut(host) {
        h.features.insert(ns::LAST.to_owned());
    }
}
