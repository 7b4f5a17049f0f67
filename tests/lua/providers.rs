//! Lua authentication providers (`authentication = "x"` -> mod_auth_x) and Lua storage
//! providers (`storage = "x"` -> mod_storage_x), and the SASL handlers plugins get.

use base64::Engine;

use super::harness::{core_with, eval, plugin, HOST as CORE_HOST};
use super::support::{Server, WsClient, HOST};

const AUTH_PLUGIN: &str = r#"local provider = {};
function provider.test_password(username, password) return password == "magic-" .. username; end
function provider.user_exists(username) return username ~= "nobody"; end
function provider.users() return coroutine.wrap(function() coroutine.yield("x") end); end
module:provides("auth", provider);"#;

fn auth_config() -> String {
    format!(
        r#"
http_ports = {{ 0 }}
https_ports = {{ }}
data_path = "data"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
plugin_paths = {{ "plugins" }}
authentication = "magic"
modules_enabled = {{ "websocket", "http", "disco" }}
VirtualHost "{HOST}"
"#
    )
}

async fn plain(c: &mut WsClient, user: &str, pw: &str) -> String {
    let payload = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{pw}"));
    c.send_text(&format!(
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{payload}</auth>"
    ))
    .await;
    c.next_text().await
}

#[tokio::test]
async fn a_lua_auth_provider_checks_client_logins() {
    let s = Server::start_with(&auth_config(), |dir| {
        std::fs::create_dir_all(dir.join("plugins")).expect("plugins dir");
        std::fs::write(dir.join("plugins/mod_auth_magic.lua"), AUTH_PLUGIN).expect("write");
    })
    .await;
    let mut c = WsClient::connect(s.addr).await;
    let (_, features) = c.open(HOST).await;
    assert!(
        features.contains("<mechanism>PLAIN</mechanism>") && !features.contains("SCRAM"),
        "{features}"
    );
    let r = plain(&mut c, "zoe", "wrong").await;
    assert!(r.contains("not-authorized"), "{r}");
    let mut ok = WsClient::connect(s.addr).await;
    let jid = ok.login("zoe", "magic-zoe", "r").await;
    assert_eq!(jid, format!("zoe@{HOST}/r"));
}

#[test]
fn usermanager_and_sasl_handlers_go_through_the_lua_provider() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "authentication = \"magic\"");
    plugin(dir.path(), "auth_magic", AUTH_PLUGIN);
    assert!(lilt::lua::load_module(&mut core, CORE_HOST, "auth_magic"));
    let out = eval(
        &mut core,
        r#"local um = require "core.usermanager";
        local h = "example.test";
        local r = {};
        r[#r+1] = tostring(um.test_password("bo", h, "magic-bo")) .. tostring(um.test_password("bo", h, "x"));
        r[#r+1] = tostring(um.user_exists("bo", h)) .. tostring(um.user_exists("nobody", h));
        local sasl = um.get_sasl_handler(h, {});
        local mechs = {};
        for m in pairs(sasl:mechanisms()) do mechs[#mechs+1] = m end
        table.sort(mechs);
        r[#r+1] = table.concat(mechs, ",");
        r[#r+1] = tostring(sasl:select("PLAIN"));
        local status, err = sasl:process("\0bo\0magic-bo");
        r[#r+1] = status .. (sasl.username or "?");
        local bad = um.get_sasl_handler(h, {});
        bad:select("PLAIN");
        r[#r+1] = table.concat({ bad:process("\0bo\0nope") }, ",");
        return table.concat(r, "|")"#,
    );
    assert_eq!(
        out,
        "truefalse|truefalse|PLAIN|true|successbo|failure,not-authorized,Unable to authorize you with the authentication credentials you've sent."
    );
}

#[test]
fn sasl_scram_on_internal_accounts_completes_an_exchange() {
    // A client side of SCRAM-SHA-1 (RFC 5802) written in Lua against the server side.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut core = core_with(dir.path(), "");
    let out = eval(
        &mut core,
        r#"local sasl = require "util.sasl";
        local hashes = require "util.hashes";
        local b64 = require "util.encodings".base64;
        local handler = sasl.new("example.test", {
            plain = function(_, username) if username == "u" then return "pencil", true end end,
        });
        local r = {};
        r[#r+1] = tostring(handler:mechanisms()["SCRAM-SHA-1"]) .. tostring(handler:select("SCRAM-SHA-1"));
        local cnonce = "fyko+d2lbbFgONRv9qkxdawL";
        local first_bare = "n=u,r=" .. cnonce;
        local status, server_first = handler:process("n,," .. first_bare);
        r[#r+1] = status;
        local nonce, salt, iter = server_first:match("r=([^,]+),s=([^,]+),i=(%d+)");
        local salted = hashes.pbkdf2_hmac_sha1("pencil", b64.decode(salt), tonumber(iter));
        local client_key = hashes.hmac_sha1(salted, "Client Key");
        local stored_key = hashes.sha1(client_key);
        local without_proof = "c=biws,r=" .. nonce;
        local auth_message = first_bare .. "," .. server_first .. "," .. without_proof;
        local sig = hashes.hmac_sha1(stored_key, auth_message);
        local proof = {};
        for i = 1, #client_key do proof[i] = string.char(client_key:byte(i) ~ sig:byte(i)) end
        local final_status, server_final = handler:process(without_proof .. ",p=" .. b64.encode(table.concat(proof)));
        local server_sig = b64.encode(hashes.hmac_sha1(hashes.hmac_sha1(salted, "Server Key"), auth_message));
        r[#r+1] = final_status .. tostring(server_final == "v=" .. server_sig) .. handler.username;
        local again = handler:clean_clone();
        again:select("SCRAM-SHA-1");
        again:process("n,," .. first_bare);
        r[#r+1] = (again:process("c=biws,r=" .. nonce .. ",p=AAAA"));
        return table.concat(r, "|")"#,
    );
    assert_eq!(out, "truetrue|challenge|successtrueu|failure");
}

#[test]
fn a_lua_storage_provider_serves_module_stores() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("plugins")).expect("plugins dir");
    plugin(
        dir.path(),
        "storage_scratch",
        r#"local data = {};
        local driver = {};
        function driver:open(store, typ)
            local t = data[store] or {};
            data[store] = t;
            return {
                get = function(_, user) return t[user or "@"]; end,
                set = function(_, user, value) t[user or "@"] = value; return true; end,
                kind = "scratch:" .. store .. ":" .. (typ or "keyval"),
            };
        end
        module:provides("storage", driver);"#,
    );
    plugin(
        dir.path(),
        "noter",
        r#"local notes = module:open_store("notes");
        local other = module:open_store("other");
        notes:set("alice", { text = "hi" });
        other:set("alice", { text = "native" });
        result = notes.kind .. "|" .. notes:get("alice").text .. "|" .. tostring(other.kind) .. "|" .. other:get("alice").text;"#,
    );
    // The provider exists before the config is read, as on a real server's disk.
    let mut core = core_with(dir.path(), "storage = { notes = \"scratch\" }");
    assert!(lilt::lua::load_module(&mut core, CORE_HOST, "noter"));
    let out = eval(
        &mut core,
        "return prosody.hosts['example.test'].modules.noter.result",
    );
    assert_eq!(out, "scratch:notes:keyval|hi|nil|native");
    // Only the store mapped to the Lua driver stayed out of the data directory.
    let native = core.shared.store.get(CORE_HOST, Some("alice"), "other");
    assert!(matches!(native, Ok(Some(_))));
    let scratch = core.shared.store.get(CORE_HOST, Some("alice"), "notes");
    assert!(matches!(scratch, Ok(None)));
}
