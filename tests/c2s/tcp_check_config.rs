//! `lilt check config` explains the LuaSec keys of `ssl`-style tables that rustls cannot
//! honour, naming the section and table, and stays quiet about the keys Lilt honours.

use std::process::Command;

fn check(text: &str) -> (i32, String) {
    let d = tempfile::tempdir().expect("tmp");
    let path = d.path().join("prosody.cfg.lua");
    std::fs::write(&path, text).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_lilt"))
        .args(["-c", path.to_str().expect("utf8"), "check", "config"])
        .current_dir(d.path())
        .env_remove("LILT_CONFIG")
        .env_remove("PROSODY_CONFIG")
        .output()
        .expect("run lilt");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn unsupported_luasec_keys_are_explained_per_table() {
    let (code, out) = check(
        r#"modules_enabled = { "roster", "tls" }
admins = { }
ssl = { dhparam = "dh.pem", protocol = "tlsv1_2+", certificate = "a.crt" }
c2s_ssl = { ciphers = "HIGH:!aNULL" }
VirtualHost "example.com"
    c2s_ssl = { curve = "secp384r1", key = "a.key" }
"#,
    );
    assert_eq!(code, 0, "warnings do not fail the check: {out}");
    assert!(
        out.contains("global: ssl.dhparam: rustls has no finite-field Diffie-Hellman"),
        "{out}"
    );
    assert!(
        out.contains(
            "global: c2s_ssl.ciphers: OpenSSL cipher strings cannot be expressed in rustls"
        ),
        "{out}"
    );
    assert!(
        out.contains("example.com: c2s_ssl.curve: rustls negotiates"),
        "{out}"
    );
    for honoured in ["ssl.protocol", "ssl.certificate", "c2s_ssl.key"] {
        assert!(!out.contains(honoured), "{honoured} is honoured: {out}");
    }
}
