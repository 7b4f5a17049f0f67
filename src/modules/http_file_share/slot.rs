//! Slot requests (reference §19.2): who may upload what, in Prosody's order of checks and
//! with its errors, and the `<slot>` reply with the GET and PUT URLs.

use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};

use super::options::{type_in, Settings};
use super::NS;

/// Why a slot is refused, one per Prosody error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Access,
    Filename,
    SizeFormat,
    TooLarge,
    OutOfDisk,
    Quota,
    FileType,
}

impl Refusal {
    /// The stanza error, without the application-specific child.
    pub fn error(self) -> StanzaError {
        use StanzaCondition::*;
        match self {
            Refusal::Access => StanzaError::auth(Forbidden),
            Refusal::Filename => StanzaError::modify(BadRequest).with_text("Invalid filename"),
            Refusal::SizeFormat => {
                StanzaError::modify(BadRequest).with_text("File size must be positive integer")
            }
            Refusal::TooLarge => StanzaError::modify(NotAcceptable).with_text("File too large"),
            Refusal::OutOfDisk => StanzaError::wait(ResourceConstraint)
                .with_text("Server global storage quota reached"),
            Refusal::Quota => {
                StanzaError::wait(ResourceConstraint).with_text("Daily quota reached")
            }
            Refusal::FileType => {
                StanzaError::modify(NotAcceptable).with_text("File type not allowed")
            }
        }
    }

    /// The error reply to `stanza`.
    pub fn reply(self, stanza: &Element, settings: &Settings) -> Element {
        let mut error = self.error();
        if self == Refusal::TooLarge {
            error = error.with_child(Element::new("file-too-large", NS).with_child(
                Element::new("max-file-size", NS).with_text(settings.size_limit.to_string()),
            ));
        }
        error.reply(stanza)
    }
}

/// What a `<request>` asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Ask {
    pub filename: Option<String>,
    /// `tonumber(size)`: `None` when absent or not a number.
    pub size: Option<f64>,
    pub filetype: String,
}

impl Ask {
    pub fn from_request(request: &Element) -> Ask {
        Ask {
            filename: request.attr("filename").map(str::to_owned),
            size: request.attr("size").and_then(lua_number),
            filetype: request
                .attr("content-type")
                .unwrap_or("application/octet-stream")
                .to_owned(),
        }
    }
}

/// Lua's `tonumber` on an attribute, for decimal forms (hex sizes are not worth it).
fn lua_number(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
    {
        return None;
    }
    t.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// The usage figures the quota checks need.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Bytes of every slot still on record.
    pub total: u64,
    /// Bytes of the uploader's slots issued in the last 24 hours.
    pub uploader_daily: u64,
}

/// Prosody's `may_upload`: the checks in its order; the accepted size on success.
pub fn check(settings: &Settings, uploader: &str, ask: &Ask, usage: Usage) -> Result<u64, Refusal> {
    let uploader_host = uploader.rsplit('@').next().unwrap_or(uploader);
    let uploader_host = uploader_host.split('/').next().unwrap_or(uploader_host);
    let allowed = (settings.access.is_empty() && settings.local_hosts.contains(uploader_host))
        || settings.access.contains(uploader)
        || settings.access.contains(uploader_host);
    if !allowed {
        return Err(Refusal::Access);
    }
    match &ask.filename {
        Some(f) if !f.contains('/') => {}
        _ => return Err(Refusal::Filename),
    }
    let size = match ask.size {
        Some(n) if n >= 0.0 && n.fract() == 0.0 => n as u64,
        _ => return Err(Refusal::SizeFormat),
    };
    if size > settings.size_limit {
        return Err(Refusal::TooLarge);
    }
    if let Some(limit) = settings.global_quota {
        if usage.total.saturating_add(size) > limit {
            return Err(Refusal::OutOfDisk);
        }
    }
    if usage.uploader_daily.saturating_add(size) > settings.daily_quota {
        return Err(Refusal::Quota);
    }
    if !(settings.allowed_types.is_empty() || type_in(&settings.allowed_types, &ask.filetype)) {
        return Err(Refusal::FileType);
    }
    Ok(size)
}

/// A path segment as LuaSocket's `url.build_path` protects it.
pub fn protect_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"_-.!~*'():@&=+$,".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `util.http.urlencode`, for `Content-Disposition`.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b".~_-".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

/// `<base>/<slot>/<filename>`.
pub fn slot_url(settings: &Settings, slot: &str, filename: &str) -> String {
    format!(
        "{}/{}/{}",
        settings.base_url,
        protect_segment(slot),
        protect_segment(filename)
    )
}

/// A new slot id: 24 base64url characters (Prosody's internal archive ids), or a UUID
/// where the archive is SQL.
pub fn new_slot_id(sql: bool) -> String {
    if sql {
        return uuid::Uuid::new_v4().to_string();
    }
    use base64::Engine;
    let bytes: [u8; 18] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The `<slot>` result for an accepted request.
pub fn slot_reply(stanza: &Element, get: &str, put: &str, token: &str) -> Element {
    let slot = Element::new("slot", NS)
        .with_child(Element::new("get", NS).with_attr("url", get))
        .with_child(
            Element::new("put", NS).with_attr("url", put).with_child(
                Element::new("header", NS)
                    .with_attr("name", "Authorization")
                    .with_text(format!("Bearer {token}")),
            ),
        );
    crate::modules::iq::result_for(stanza).with_child(slot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn settings(extra: &str) -> Settings {
        let text = format!(
            "VirtualHost \"example.test\"\nComponent \"upload.example.test\" \"http_file_share\"\n{extra}\n"
        );
        let cfg = Config::load_str(std::path::Path::new("/x/prosody.cfg.lua"), &text)
            .expect("config parses");
        Settings::from_config(&cfg, "upload.example.test")
    }

    fn ask(name: &str, size: &str, typ: &str) -> Ask {
        Ask {
            filename: Some(name.into()),
            size: lua_number(size),
            filetype: typ.into(),
        }
    }

    #[test]
    fn defaults_are_prosodys() {
        let s = settings("");
        assert_eq!(s.size_limit, 10 * 1024 * 1024);
        assert_eq!(s.daily_quota, 100 * 1024 * 1024);
        assert_eq!(s.global_quota, None);
        assert_eq!(s.expires_after, 604800);
        assert!(s.safe_types.contains("image/*"));
        assert_eq!(s.base_url, "https://upload.example.test:5281/file_share");
    }

    #[test]
    fn checks_run_in_prosodys_order() {
        let s = settings("http_file_share_size_limit = 100\nhttp_file_share_allowed_file_types = { \"image/*\" }");
        let u = Usage::default();
        let me = "alice@example.test";
        assert_eq!(
            check(&s, "eve@elsewhere.test", &ask("/", "x", "a/b"), u),
            Err(Refusal::Access)
        );
        assert_eq!(
            check(&s, me, &ask("a/b", "x", "a/b"), u),
            Err(Refusal::Filename)
        );
        assert_eq!(
            check(&s, me, &ask("a", "1.5", "a/b"), u),
            Err(Refusal::SizeFormat)
        );
        assert_eq!(
            check(&s, me, &ask("a", "-1", "a/b"), u),
            Err(Refusal::SizeFormat)
        );
        assert_eq!(
            check(&s, me, &ask("a", "101", "a/b"), u),
            Err(Refusal::TooLarge)
        );
        let daily = Usage {
            total: 0,
            uploader_daily: 950,
        };
        assert_eq!(
            check(&s, me, &ask("a", "60", "a/b"), daily),
            Err(Refusal::Quota)
        );
        assert_eq!(
            check(&s, me, &ask("a", "60", "text/plain"), u),
            Err(Refusal::FileType)
        );
        assert_eq!(check(&s, me, &ask("a", "60", "image/png"), u), Ok(60));
    }

    #[test]
    fn the_global_quota_counts_every_upload() {
        let s = settings("http_file_share_global_quota = 100");
        let full = Usage {
            total: 90,
            uploader_daily: 0,
        };
        let me = "alice@example.test";
        assert_eq!(
            check(&s, me, &ask("a", "11", "a/b"), full),
            Err(Refusal::OutOfDisk)
        );
        assert_eq!(check(&s, me, &ask("a", "10", "a/b"), full), Ok(10));
    }

    #[test]
    fn access_lists_name_jids_or_domains() {
        let s = settings("http_file_share_access = { \"bob@far.test\", \"near.test\" }");
        let u = Usage::default();
        let a = ask("a", "1", "a/b");
        assert_eq!(check(&s, "alice@example.test", &a, u), Err(Refusal::Access));
        assert_eq!(check(&s, "bob@far.test", &a, u), Ok(1));
        assert_eq!(check(&s, "carol@near.test", &a, u), Ok(1));
    }

    #[test]
    fn urls_encode_segments_as_luasocket_does() {
        let s = settings("http_file_share_base_url = \"https://files.example/up/\"");
        assert_eq!(
            slot_url(&s, "ab-_c", "my photo (1)/ä.png"),
            "https://files.example/up/ab-_c/my%20photo%20(1)%2F%C3%A4.png"
        );
        assert_eq!(urlencode("a b(1).png"), "a%20b%281%29.png");
        assert_eq!(new_slot_id(false).len(), 24);
    }

    #[test]
    fn too_large_carries_the_limit() {
        let s = settings("");
        let iq = Element::new("iq", "jabber:client")
            .with_attr("type", "get")
            .with_attr("id", "1");
        let r = Refusal::TooLarge.reply(&iq, &s);
        let err = r.get_child("error", "jabber:client").expect("error");
        let extra = err.get_child("file-too-large", NS).expect("extra");
        assert_eq!(
            extra.get_child("max-file-size", NS).map(|e| e.text()),
            Some("10485760".to_owned())
        );
    }
}
