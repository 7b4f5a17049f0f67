//! Property tests: whatever we write parses back to the same value, and no input makes the
//! parser panic.

use lilt::storage::serialization::{
    parse_list_source, parse_lua_source, to_list_item, to_lua_source,
};
use lilt::storage::{LuaKey, LuaTable, LuaValue};
use proptest::prelude::*;

/// Floats that survive `%.18g` unchanged in type: integral floats read back as integers
/// (as they do in Lua), so only non-integral ones are generated.
fn float() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("finite, non-integral", |f| {
        f.is_finite() && f.fract() != 0.0
    })
}

fn key() -> impl Strategy<Value = LuaKey> {
    prop_oneof![
        any::<bool>().prop_map(LuaKey::Bool),
        any::<i64>().prop_map(LuaKey::Int),
        float().prop_map(LuaKey::Num),
        ".{0,12}".prop_map(LuaKey::Str),
    ]
}

fn value() -> impl Strategy<Value = LuaValue> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(LuaValue::Bool),
        any::<i64>().prop_map(LuaValue::Int),
        float().prop_map(LuaValue::Num),
        Just(LuaValue::Num(f64::INFINITY)),
        ".{0,20}".prop_map(LuaValue::Str),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop::collection::vec((key(), inner), 0..8).prop_map(|pairs| {
            let mut t = LuaTable::new();
            for (k, v) in pairs {
                t.set(k, v);
            }
            LuaValue::Table(t)
        })
    })
}

proptest! {
    #[test]
    fn written_dat_parses_back_equal(v in value()) {
        prop_assert_eq!(parse_lua_source(&to_lua_source(&v)).unwrap(), v);
    }

    #[test]
    fn written_list_parses_back_equal(items in prop::collection::vec(value(), 0..4)) {
        let text: String = items.iter().map(to_list_item).collect();
        prop_assert_eq!(parse_list_source(&text).unwrap(), items);
    }

    #[test]
    fn parser_never_panics_on_arbitrary_text(s in "\\PC{0,200}") {
        let _ = parse_lua_source(&s);
        let _ = parse_list_source(&s);
    }

    #[test]
    fn parser_never_panics_on_lua_like_text(s in "[-{}\\[\\]=;,'\"\\\\a-z0-9 .()/\n]{0,200}") {
        let _ = parse_lua_source(&s);
        let _ = parse_list_source(&s);
    }
}
