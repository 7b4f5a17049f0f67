//! `lilt check config --json`: one object with the files in load order and exactly the
//! options set in each section.

use crate::tree::{lilt, write};

#[test]
fn json_prints_files_and_exactly_the_options_set_per_section() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(
        d.path(),
        "p.cfg.lua",
        "ports = { 5280, 5281 }\nt = { a = 1, \"x\" }\nempty = {}\nf = 0.5\nInclude \"h.cfg.lua\"\n",
    );
    let inc = write(
        d.path(),
        "h.cfg.lua",
        "VirtualHost \"Example.com\"\nhttp_host = \"example.com\"\n",
    );
    let (code, out, err) = lilt(
        &[
            "-c",
            main.to_str().expect("utf8"),
            "check",
            "config",
            "--json",
        ],
        d.path(),
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
    assert_eq!(
        v["files"],
        serde_json::json!([main.display().to_string(), inc.display().to_string()])
    );
    assert_eq!(v["global"]["ports"], serde_json::json!([5280, 5281]));
    assert_eq!(v["global"]["t"], serde_json::json!({"1": "x", "a": 1}));
    assert_eq!(v["global"]["empty"], serde_json::json!([]));
    assert_eq!(v["global"]["f"], serde_json::json!(0.5));
    assert_eq!(
        v["hosts"]["example.com"],
        serde_json::json!({"http_host": "example.com"})
    );
    assert!(
        v["hosts"]["example.com"].get("ports").is_none(),
        "inherited options are not repeated"
    );
    assert_eq!(v.as_object().map(|o| o.len()), Some(3));
}

#[test]
fn json_shows_component_sections_with_their_module() {
    let d = tempfile::tempdir().expect("tmp");
    let main = write(
        d.path(),
        "p.cfg.lua",
        "x = 1\nComponent \"muc.example.com\" \"muc\" { name = \"Rooms\" }\n",
    );
    let (code, out, _) = lilt(
        &[
            "-c",
            main.to_str().expect("utf8"),
            "check",
            "config",
            "--json",
        ],
        d.path(),
    );
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["hosts"]["muc.example.com"]["component_module"], "muc");
    assert_eq!(v["hosts"]["muc.example.com"]["name"], "Rooms");
}
