//! The example chat page (examples/web) in headless Chromium: tests/web/chat.mjs
//! (playwright-core) registers two users through the page, has them add each other and
//! exchange messages, and saves target/test-artifacts/chat.png.
//!
//! Needs Debian's `chromium` and `npm ci` in tests/web; without them the test fails and
//! says what is missing, unless LILT_SKIP_INTEROP=1.

use crate::support;

use std::path::{Path, PathBuf};

use support::Server;

const CHROMIUM: &str = "/usr/bin/chromium";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The page is served from the repository by mod_http_files, as the bundled config does.
fn config(web_dir: &Path) -> String {
    format!(
        r#"
http_ports = {{ 0 }}
http_interfaces = {{ "127.0.0.1" }}
https_ports = {{ }}
data_path = "data"
c2s_require_encryption = false
consider_websocket_secure = true
modules_enabled = {{ "websocket", "http", "disco", "roster", "register", "http_files", "version", "vcard_legacy", "private", "lastactivity" }}
VirtualHost "localhost"
allow_registration = true
http_files_dir = {web_dir:?}
http_paths = {{ files = "/" }}
"#,
        web_dir = web_dir.display().to_string()
    )
}

/// What is missing to run the browser test, if anything.
fn missing_tools(web_tests: &Path) -> Vec<String> {
    let mut missing = Vec::new();
    if !Path::new(CHROMIUM).exists() {
        missing.push(format!("{CHROMIUM} (apt-get install -y chromium)"));
    }
    if !web_tests.join("node_modules/playwright-core").exists() {
        missing.push("tests/web/node_modules (cd tests/web && npm ci)".into());
    }
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        missing.push("node (apt-get install -y nodejs)".into());
    }
    missing
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_page_registers_two_users_who_add_each_other_and_talk() {
    if std::env::var("LILT_SKIP_INTEROP").as_deref() == Ok("1") {
        eprintln!("LILT_SKIP_INTEROP=1: browser test skipped");
        return;
    }
    let web_tests = root().join("tests/web");
    let missing = missing_tools(&web_tests);
    assert!(
        missing.is_empty(),
        "the browser test needs: {} (or set LILT_SKIP_INTEROP=1)",
        missing.join(", ")
    );
    assert!(
        lilt::modules::loader("roster").is_some(),
        "the chat page needs the roster module (jabber:iq:roster), which this build lacks"
    );
    let server = Server::start(&config(&root().join("examples/web"))).await;
    let url = format!("http://localhost:{}/", server.addr.port());
    let artifact = root().join("target/test-artifacts/chat.png");
    let _ = std::fs::remove_file(&artifact);
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        tokio::process::Command::new("node")
            .arg("chat.mjs")
            .current_dir(&web_tests)
            .env("LILT_URL", &url)
            .env("LILT_ARTIFACT", &artifact)
            .env("CHROMIUM", CHROMIUM)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the browser run finishes within two minutes")
    .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chat.mjs failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("chat flow passed"), "{stdout}");
    let png = std::fs::read(&artifact).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
}
