//! mod_ping: XEP-0199 pings to the server and to a bare JID are answered by the server.
//! Written on the module handle: unloading it unhooks both handlers and withdraws the
//! disco feature, so a ping then gets the error any unhandled IQ gets.

use std::rc::Rc;

use crate::modules::handle::{Definition, Module};
use crate::modules::iq::result_for;
use crate::xmpp::ns;

pub const MODULE: Definition = Definition {
    name: "ping",
    options: &[],
    load,
    unload: None,
};

fn load(module: &mut Module<'_>) {
    for kind in ["host", "bare"] {
        module.hook(
            &format!("iq-get/{kind}/{}:ping", ns::PING),
            0.0,
            Rc::new(|core, ev| {
                let reply = result_for(ev.stanza.as_ref()?);
                core.reply(&ev.origin, reply);
                Some(true)
            }),
        );
    }
    module.add_feature(ns::PING);
}
