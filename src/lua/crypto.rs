//! `util.hashes`, `util.hmac`, `util.random`, `util.uuid` and base64 primitives for Lua,
//! in Rust because they are hot and must be exact.

use base64::Engine;
use hmac::{Hmac, Mac};
use mlua::{Lua, String as LuaString, Table};
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

fn out(lua: &Lua, bytes: &[u8], hex: Option<bool>) -> mlua::Result<LuaString> {
    if hex.unwrap_or(false) {
        lua.create_string(hex::encode(bytes))
    } else {
        lua.create_string(bytes)
    }
}

fn hmac_of<M: Mac + hmac::digest::KeyInit>(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut m = <M as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

pub fn install(lua: &Lua, n: &Table) -> mlua::Result<()> {
    type Digest = fn(&[u8]) -> Vec<u8>;
    let hashes: [(&str, Digest); 5] = [
        ("sha1", |d| Sha1::digest(d).to_vec()),
        ("sha224", |d| Sha224::digest(d).to_vec()),
        ("sha256", |d| Sha256::digest(d).to_vec()),
        ("sha384", |d| Sha384::digest(d).to_vec()),
        ("sha512", |d| Sha512::digest(d).to_vec()),
    ];
    for (name, f) in hashes {
        n.set(
            name,
            lua.create_function(move |lua, (data, hex): (LuaString, Option<bool>)| {
                out(lua, &f(&data.as_bytes()), hex)
            })?,
        )?;
    }
    type Mac2 = fn(&[u8], &[u8]) -> Vec<u8>;
    let macs: [(&str, Mac2); 3] = [
        ("hmac_sha1", hmac_of::<Hmac<Sha1>>),
        ("hmac_sha256", hmac_of::<Hmac<Sha256>>),
        ("hmac_sha512", hmac_of::<Hmac<Sha512>>),
    ];
    for (name, f) in macs {
        n.set(
            name,
            lua.create_function(
                move |lua, (key, msg, hex): (LuaString, LuaString, Option<bool>)| {
                    out(lua, &f(&key.as_bytes(), &msg.as_bytes()), hex)
                },
            )?,
        )?;
    }
    n.set(
        "pbkdf2_hmac_sha1",
        lua.create_function(|lua, (pass, salt, iter): (LuaString, LuaString, u32)| {
            let mut key = [0u8; 20];
            pbkdf2::pbkdf2_hmac::<Sha1>(&pass.as_bytes(), &salt.as_bytes(), iter, &mut key);
            lua.create_string(key)
        })?,
    )?;
    n.set(
        "pbkdf2_hmac_sha256",
        lua.create_function(|lua, (pass, salt, iter): (LuaString, LuaString, u32)| {
            let mut key = [0u8; 32];
            pbkdf2::pbkdf2_hmac::<Sha256>(&pass.as_bytes(), &salt.as_bytes(), iter, &mut key);
            lua.create_string(key)
        })?,
    )?;
    n.set(
        "random_bytes",
        lua.create_function(|lua, len: usize| {
            use rand::RngCore;
            let mut buf = vec![0u8; len.min(1 << 20)];
            rand::thread_rng().fill_bytes(&mut buf);
            lua.create_string(buf)
        })?,
    )?;
    n.set(
        "uuid",
        lua.create_function(|_, ()| Ok(uuid::Uuid::new_v4().to_string()))?,
    )?;
    n.set(
        "base64_encode",
        lua.create_function(|_, data: LuaString| {
            Ok(base64::engine::general_purpose::STANDARD.encode(&*data.as_bytes()))
        })?,
    )?;
    n.set(
        "base64_decode",
        lua.create_function(|lua, data: LuaString| {
            let text: Vec<u8> = data
                .as_bytes()
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            match base64::engine::general_purpose::STANDARD.decode(text) {
                Ok(bytes) => Ok(Some(lua.create_string(bytes)?)),
                Err(_) => Ok(None),
            }
        })?,
    )?;
    Ok(())
}
