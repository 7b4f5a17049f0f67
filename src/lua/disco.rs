//! The disco events plugins hook on a host (wave-2 reference §20.1): `host-disco-items`
//! (add items to the host's disco#items), and `host-disco-info-node` /
//! `host-disco-items-node` (answer a node query, e.g. mod_adhoc's command list). Only
//! entered when Lua handlers listen; native disco answers everything else.

use mlua::{Table, Value};

use super::convert;
use super::events::{fire_fields, has_handlers, Field};
use crate::core::{Bus, Core, Origin};
use crate::xml::Element;

/// What the handlers of a disco event did with the reply.
enum Outcome {
    /// A handler answered itself (returned non-nil).
    Replied,
    /// Send this reply.
    Send(Element),
    /// Nobody claimed the node.
    Unclaimed,
}

fn read_reply(t: &Table, returned: Value, need_exists: bool) -> mlua::Result<Outcome> {
    if !returned.is_nil() && returned != Value::Boolean(false) {
        return Ok(Outcome::Replied);
    }
    if need_exists && t.raw_get::<Value>("exists")? != Value::Boolean(true) {
        return Ok(Outcome::Unclaimed);
    }
    match t.raw_get::<Value>("reply")? {
        Value::Table(r) => Ok(convert::lua_to_element(&r)
            .map(Outcome::Send)
            .unwrap_or(Outcome::Unclaimed)),
        _ => Ok(Outcome::Unclaimed),
    }
}

fn fire(
    core: &mut Core,
    host: &str,
    name: &str,
    origin: &Origin,
    stanza: &Element,
    reply: &Element,
    node: Option<&str>,
) -> Option<Outcome> {
    let bus = Bus::Host(host.to_owned());
    if !has_handlers(core, &bus, name) {
        return None;
    }
    let mut fields = vec![
        ("origin", Field::Origin(origin)),
        ("stanza", Field::Stanza(stanza)),
        ("reply", Field::Reply(reply)),
    ];
    if let Some(n) = node {
        fields.push(("node", Field::Str(n)));
        fields.push(("exists", Field::Bool(false)));
    }
    let need_exists = node.is_some();
    fire_fields(core, &bus, name, &fields, |t, returned| {
        read_reply(t, returned, need_exists)
    })
}

/// A disco#info or disco#items query for `node` on `host`: true when a handler of
/// `host-disco-<kind>-node` answered (or claimed the node and the reply was sent).
pub fn node_query(
    core: &mut Core,
    host: &str,
    origin: &Origin,
    stanza: &Element,
    node: &str,
    reply: Element,
) -> bool {
    let kind = if reply
        .child_elements()
        .next()
        .is_some_and(|q| q.ns == crate::xmpp::ns::DISCO_ITEMS)
    {
        "items"
    } else {
        "info"
    };
    let name = format!("host-disco-{kind}-node");
    match fire(core, host, &name, origin, stanza, &reply, Some(node)) {
        Some(Outcome::Replied) => true,
        Some(Outcome::Send(r)) => {
            core.reply(origin, r);
            true
        }
        Some(Outcome::Unclaimed) | None => false,
    }
}

/// `host-disco-items` on the host's own disco#items: handlers add items to `reply`.
/// `None` when a handler answered itself.
pub fn host_items(
    core: &mut Core,
    host: &str,
    origin: &Origin,
    stanza: &Element,
    reply: Element,
) -> Option<Element> {
    match fire(core, host, "host-disco-items", origin, stanza, &reply, None) {
        Some(Outcome::Replied) => None,
        Some(Outcome::Send(r)) => Some(r),
        Some(Outcome::Unclaimed) | None => Some(reply),
    }
}
