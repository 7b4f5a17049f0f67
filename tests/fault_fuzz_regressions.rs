//! Inputs the fuzz targets (fuzz/) found, pinned as regression tests: each names the
//! target and what the finding was.

use lilt::storage::serialization::{parse_lua_source, to_lua_source};
use lilt::storage::LuaValue;

/// storage_readers, `-0E999`: a float negative zero is written as Lua's `%.18g` writes it
/// (`-0`), which Lua (and so Prosody) reads back as the integer 0. The text then stays
/// the same on every further round: no drift, no panic.
#[test]
fn negative_zero_normalises_to_integer_zero_in_one_round() {
    let v = parse_lua_source("-0E999").expect("parses");
    assert!(
        matches!(v, LuaValue::Num(n) if n == 0.0 && n.is_sign_negative()),
        "{v:?}"
    );
    let once = to_lua_source(&v);
    let back = parse_lua_source(&once).expect("own output parses");
    assert_eq!(back, LuaValue::Int(0));
    let twice = to_lua_source(&back);
    assert_eq!(
        to_lua_source(&parse_lua_source(&twice).expect("parses")),
        twice
    );
}
