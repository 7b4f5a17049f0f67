//! Writer output pinned against what Prosody's util.serialization produces, and parser
//! behaviour on hand-edited and hostile input.

use super::*;
use crate::storage::lua_value::LuaTable;

#[test]
fn floats_are_written_like_lua_percent_18g() {
    // Expected strings produced by lua5.4: string.format("%.18g", x).
    let cases = [
        (0.1, "0.100000000000000006"),
        (1e300, "1.00000000000000005e+300"),
        (-1.5, "-1.5"),
        (1700000000.25, "1700000000.25"),
        (9007199254740992.0, "9007199254740992"),
        (1e18, "1e+18"),
        (1e17, "100000000000000000"),
        (123456789012345678.0, "123456789012345680"),
        (1e-5, "1.00000000000000008e-05"),
        (0.0001, "0.000100000000000000005"),
        (5e-324, "4.94065645841246544e-324"),
        (1.0 / 3.0, "0.333333333333333315"),
        (-0.0, "-0"),
        (9223372036854775808.0, "9.22337203685477581e+18"),
    ];
    for (x, want) in cases {
        assert_eq!(serialize(&LuaValue::Num(x)), want, "{x}");
    }
    assert_eq!(serialize(&LuaValue::Num(f64::INFINITY)), "(1/0)");
    assert_eq!(serialize(&LuaValue::Num(f64::NEG_INFINITY)), "(-1/0)");
    assert_eq!(serialize(&LuaValue::Num(f64::NAN)), "(0/0)");
}

#[test]
fn strings_escape_controls_quotes_and_high_bytes_in_decimal() {
    let s = "a\0b\x7f\x01€\t'q\"\\\n\r\x07\x08\x0b\x0c";
    assert_eq!(
        serialize(&LuaValue::from(s)),
        r#""a\000b\127\001\226\130\172\t\'q\"\\\n\r\a\b\v\f""#
    );
}

#[test]
fn nested_tables_are_tab_indented_and_empty_tables_are_braces() {
    let mut deeper = LuaTable::new();
    deeper.set("deeper", LuaTable::new());
    let mut deep = LuaTable::new();
    deep.set("deep", deeper);
    let mut top = LuaTable::new();
    top.set(false, deep);
    top.push("one");
    top.set(7i64, 1.5);
    assert_eq!(
        to_lua_source(&top.into()),
        "return {\n\t[false] = {\n\t\t[\"deep\"] = {\n\t\t\t[\"deeper\"] = {};\n\t\t};\n\t};\n\t\"one\";\n\t[7] = 1.5;\n};\n"
    );
    assert_eq!(to_lua_source(&LuaTable::new().into()), "return {};\n");
    assert_eq!(to_list_item(&LuaValue::from("x")), "item(\"x\");\n");
}

#[test]
fn hand_edited_syntax_is_accepted() {
    let src = "-- accounts\nreturn { salt = 'abc', [[long]], iteration_count = 0x10, --[==[ c ]==]\n n = -2.5e1, x = [==[\nline]]\n]==], t = {1, 2, 3,}, ['k'] = \"\\u{e9}\\x41\\65\\z   b\" };";
    let v = parse_lua_source(src).unwrap();
    let t = v.as_table().unwrap();
    assert_eq!(t.field("salt"), Some(&LuaValue::from("abc")));
    assert_eq!(t.get(&LuaKey::Int(1)), Some(&LuaValue::from("long")));
    assert_eq!(t.field("iteration_count"), Some(&LuaValue::Int(16)));
    assert_eq!(t.field("n"), Some(&LuaValue::Num(-25.0)));
    assert_eq!(t.field("x"), Some(&LuaValue::from("line]]\n")));
    assert_eq!(t.field("t").unwrap().as_table().unwrap().sequence_len(), 3);
    assert_eq!(t.field("k"), Some(&LuaValue::from("éAAb")));
}

#[test]
fn special_numbers_and_literals_parse() {
    let v = parse_value(
        "{ (1/0), (-1/0), (0/0), 9223372036854775807, 9223372036854775808, true, nil }",
    )
    .unwrap();
    let t = v.as_table().unwrap();
    let n = |i: i64| t.get(&LuaKey::Int(i)).cloned();
    assert_eq!(n(1), Some(LuaValue::Num(f64::INFINITY)));
    assert_eq!(n(2), Some(LuaValue::Num(f64::NEG_INFINITY)));
    assert!(matches!(n(3), Some(LuaValue::Num(x)) if x.is_nan()));
    assert_eq!(n(4), Some(LuaValue::Int(i64::MAX)));
    assert_eq!(n(5), Some(LuaValue::Num(9223372036854775808.0)));
    assert_eq!(n(6), Some(LuaValue::Bool(true)));
    assert_eq!(n(7), None);
}

#[test]
fn list_items_parse_in_order() {
    let items = parse_list_source("item({a=1});\nitem({a=2})\n-- end\n").unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[1].as_table().unwrap().field("a"),
        Some(&LuaValue::Int(2))
    );
    assert!(parse_list_source("").unwrap().is_empty());
    assert!(parse_list_source("os.execute('x')").is_err());
}

#[test]
fn hostile_input_is_an_error_with_a_line_not_a_panic() {
    let deep = "{".repeat(100_000);
    assert!(parse_lua_source(&format!("return {deep}")).is_err());
    let at_limit = format!("{}{}", "{".repeat(MAX_DEPTH), "}".repeat(MAX_DEPTH));
    assert!(parse_value(&at_limit).is_ok());
    let over = format!("{}{}", "{".repeat(MAX_DEPTH + 1), "}".repeat(MAX_DEPTH + 1));
    assert!(parse_value(&over).is_err());
    for bad in [
        "return",
        "return {",
        "return {[nil] = 1}",
        "return {[(0/0)] = 1}",
        "return \"unterminated",
        "return \"bad \\q escape\"",
        "return \"\\300\"",
        "return \"\\255\"",
        "return [[open",
        "return os.exit()",
        "return {a = function() end}",
        "return 1 2",
        "return 0x",
        "return 12abc",
        "return -",
    ] {
        assert!(parse_lua_source(bad).is_err(), "{bad}");
    }
    match parse_lua_source("return {\n\t[\"a\"] = 1;\n\t[\"b\"] = ?;\n};\n") {
        Err(crate::storage::StorageError::BadData { line, .. }) => assert_eq!(line, 3),
        other => panic!("{other:?}"),
    }
}

#[test]
fn written_values_parse_back_equal() {
    let mut inner = LuaTable::new();
    inner.set("s", "a\0\u{1F600}\"'\\");
    inner.set(2.5f64.to_string(), f64::INFINITY);
    let mut t = LuaTable::new();
    t.set(LuaKey::number(2.5).unwrap(), -7i64);
    t.set(true, inner);
    t.push(i64::MIN);
    t.push(0.1);
    let v = LuaValue::Table(t);
    assert_eq!(parse_lua_source(&to_lua_source(&v)).unwrap(), v);
    let items = parse_list_source(&(to_list_item(&v) + &to_list_item(&v))).unwrap();
    assert_eq!(items, vec![v.clone(), v]);
}
