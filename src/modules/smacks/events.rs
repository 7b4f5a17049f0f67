//! The `smacks-*` events with Prosody's payload fields, fired on the session's host for
//! Lua (`origin`, `queue` as a list of stanzas, and `stanza` / `resumed` where Prosody
//! has them). They are sent to the core as tasks; nothing is built when nobody listens.

use std::sync::Arc;

use crate::core::{Bus, SessionId, Shared};
use crate::lua::events::{fire_fields, has_handlers, notify, Field};
use crate::xml::Element;

/// Fires `name` for `session` on `host`; `queue` and `stanza` are built on the core only
/// when the event has handlers.
pub fn fire(
    shared: &Shared,
    host: &str,
    name: &'static str,
    session: SessionId,
    queue: impl FnOnce() -> Vec<Element> + Send + 'static,
    stanza: Option<Arc<Element>>,
) {
    let bus = Bus::Host(host.to_owned());
    notify(shared, move |core| {
        if !has_handlers(core, &bus, name) {
            return;
        }
        let queue = queue();
        let mut fields = vec![
            ("origin", Field::Session(session)),
            ("queue", Field::Stanzas(&queue)),
        ];
        if let Some(s) = &stanza {
            fields.push(("stanza", Field::Stanza(s)));
        }
        if name == "smacks-hibernation-end" {
            fields.push(("resumed", Field::Session(session)));
        }
        fire_fields(core, &bus, name, &fields, |_, _| Ok(()));
    });
}
