//! mod_csi / mod_csi_simple: XEP-0352 client state indication. A bound client's
//! `<active/>`/`<inactive/>` sets its state and fires `csi-client-active` /
//! `csi-client-inactive` on the host. The `<csi/>` stream feature is offered (by the c2s
//! stream) only where `csi_simple` is loaded, as Prosody offers it only when some module
//! handles those events.
//!
//! Lilt's native `csi_simple` tracks the state but does not hold back unimportant
//! stanzas; Prosody's stock mod_csi_simple on `plugin_paths` does, on the Lua session's
//! `conn:pause_writes()` (src/lua, lua/core/sessions.lua), with `session.state` kept
//! current from here.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::core::{Bus, Core, Event, Origin, SessionId};
use crate::xmpp::ns;

/// Client states by session, shared by the handlers of one host.
pub type States = Rc<RefCell<HashMap<SessionId, &'static str>>>;

pub fn load(core: &mut Core, host: &str) {
    load_with_states(core, host);
}

/// `csi_simple` depends on `csi`; loading both names registers the handlers once.
pub fn load_simple(core: &mut Core, host: &str) {
    // mod_csi offers the stream feature only when a handler (csi_simple) is loaded.
    core.shared.feature_hooks.add_static(
        host,
        "csi_simple",
        crate::xml::Element::new("csi", ns::CSI),
    );
    let has_csi = core
        .hosts
        .get(host)
        .is_some_and(|h| h.modules.contains("csi"));
    if !has_csi {
        load_with_states(core, host);
    }
}

fn load_with_states(core: &mut Core, host: &str) -> States {
    let bus = Bus::Host(host.to_owned());
    let states: States = Rc::default();
    for (state, event) in [
        ("active", "csi-client-active"),
        ("inactive", "csi-client-inactive"),
    ] {
        let st = states.clone();
        let b = bus.clone();
        core.hook(
            &bus,
            &format!("stanza/{}:{state}", ns::CSI),
            0.0,
            Rc::new(move |core, ev| {
                let Origin::Session(sid) = ev.origin else {
                    return None;
                };
                core.sessions.get(&sid)?;
                st.borrow_mut().insert(sid, state);
                // Lua handlers (the stock mod_csi_simple) read `session.state`.
                crate::lua::set_session_field(core, sid, "state", state);
                let mut refired = Event::for_session(sid);
                refired.stanza = ev.stanza.clone();
                core.fire(&b, event, &mut refired);
                Some(true)
            }),
        );
    }
    let st = states.clone();
    core.hook(
        &bus,
        "resource-unbind",
        0.0,
        Rc::new(move |_core, ev| {
            st.borrow_mut().remove(&ev.session?);
            None
        }),
    );
    states
}
