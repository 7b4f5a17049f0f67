//! The native half of `util.xmppstream`: Lilt's push parser ([`StreamParser`]) as a Lua
//! object. `feed` returns what the bytes completed — the header, whole top-level stanzas
//! (as util.stanza tables), the close tag — and the Lua half turns those into Prosody's
//! callbacks (`streamopened`, `handlestanza`, `streamclosed`, `error`).

use mlua::{Lua, Table, UserData, UserDataMethods, Value};

use super::convert;
use crate::xml::{Limits, StreamEvent, StreamParser, XmlError};

/// One stream being parsed for a plugin.
struct LuaStream {
    parser: StreamParser,
}

/// Prosody's error names for what the parser rejects.
fn error_name(e: &XmlError) -> &'static str {
    match e {
        XmlError::StanzaTooLarge => "stanza-too-large",
        // The first element is not `<stream:stream>`.
        XmlError::InvalidNamespace => "no-stream",
        _ => "parse-error",
    }
}

fn events(lua: &Lua, p: &mut StreamParser) -> mlua::Result<(Table, Value)> {
    let out = lua.create_table()?;
    loop {
        let ev = match p.next_event() {
            Ok(Some(ev)) => ev,
            Ok(None) => return Ok((out, Value::Nil)),
            Err(e) => {
                let err = lua.create_table()?;
                err.set("name", error_name(&e))?;
                err.set("text", e.to_string())?;
                return Ok((out, Value::Table(err)));
            }
        };
        let t = lua.create_table()?;
        match ev {
            StreamEvent::Open(el) => {
                t.set("kind", "open")?;
                t.set("name", el.name.as_str())?;
                t.set("ns", el.ns.as_str())?;
                let attr = lua.create_table()?;
                for (k, v) in &el.attrs {
                    attr.set(k.as_str(), v.as_str())?;
                }
                attr.set("xmlns", p.default_ns())?;
                t.set("attr", attr)?;
            }
            StreamEvent::Stanza(el) => {
                t.set("kind", "stanza")?;
                t.set("ns", el.ns.as_str())?;
                t.set("stanza", convert::element_to_lua(lua, &el)?)?;
            }
            StreamEvent::Close => t.set("kind", "close")?,
        }
        out.push(t)?;
    }
}

impl UserData for LuaStream {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_method_mut("feed", |lua, this, data: mlua::String| {
            // A feed error is also queued as the parser's sticky error: `events`
            // reports it after the events completed before it.
            let _ = this.parser.feed(&data.as_bytes());
            events(lua, &mut this.parser)
        });
        m.add_method_mut("reset", |_, this, ()| {
            this.parser.reset();
            Ok(())
        });
        m.add_method_mut("set_limit", |_, this, n: usize| {
            this.parser.set_max_stanza_bytes(n);
            Ok(())
        });
        m.add_method("default_ns", |_, this, ()| {
            Ok(this.parser.default_ns().to_owned())
        });
    }
}

pub fn install(lua: &Lua, n: &Table) -> mlua::Result<()> {
    n.set(
        "xmppstream_new",
        lua.create_function(|_, limit: Option<usize>| {
            let mut limits = Limits::default();
            if let Some(l) = limit {
                limits.max_stanza_bytes = l;
            }
            Ok(LuaStream {
                parser: StreamParser::new(limits),
            })
        })?,
    )?;
    Ok(())
}
