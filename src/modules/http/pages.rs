//! mod_http_errors: the HTML pages for errors, informational messages (the WebSocket
//! endpoint's plain GET) and the "server is running" page at `/` (reference §6.4, §5.10).

use super::request::Response;
use super::settings::ErrorPageSettings;

/// Reason phrase for a status code, e.g. "Not Found".
pub fn status_text(status: u16) -> &'static str {
    hyper::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown Status")
}

/// Our built-in message for common error codes (operators override via
/// `http_errors_messages`).
fn builtin_message(status: u16) -> Option<&'static str> {
    Some(match status {
        400 => "The server could not make sense of that request.",
        403 => "You are not allowed to do that here.",
        404 => "There is nothing at this address.",
        413 => "That request body is more than this server accepts.",
        500 => "Something broke while handling this request.",
        501 => "This server does not do that.",
        _ => return None,
    })
}

/// An HTML error page: title = status text, then the configured (or built-in, or default)
/// message for the code, then `extra` — the handler's public detail, or its `private` one
/// with `http_errors_detailed`. With `http_errors_always_show = false`, codes without a
/// message get an empty body.
pub fn error_page(
    status: u16,
    extra: Option<&str>,
    private: Option<&str>,
    settings: &ErrorPageSettings,
) -> Response {
    let configured = settings
        .messages
        .get(&status)
        .and_then(|list| list.first())
        .map(String::as_str)
        .or_else(|| builtin_message(status));
    if !settings.always_show && configured.is_none() {
        return Response::new(status).with_header("Content-Type", "text/html; charset=utf-8");
    }
    let message = configured.unwrap_or(settings.default_message.as_str());
    let extra = match private {
        Some(p) if settings.detailed => Some(p),
        _ => extra,
    };
    Response::html(status, render(status_text(status), message, None, extra))
}

/// A 200 informational page (Prosody's `http-message` event).
pub fn message_page(title: &str, message: &str, warning: Option<&str>) -> Response {
    Response::html(200, render(title, message, warning, None))
}

/// The page `GET /` returns when nothing else is routed there.
pub fn running_page() -> Response {
    message_page(
        "Lilt is running!",
        "This XMPP server is up; its web services live at their own paths.",
        None,
    )
}

fn render(title: &str, message: &str, warning: Option<&str>, extra: Option<&str>) -> String {
    let mut page = String::with_capacity(512);
    page.push_str("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>");
    escape_html(title, &mut page);
    page.push_str(
        "</title>\n<style>body{font-family:sans-serif;max-width:40em;margin:3em auto;}\
         .warning{color:#a00;font-weight:bold;}</style>\n</head>\n<body>\n<h1>",
    );
    escape_html(title, &mut page);
    page.push_str("</h1>\n<p>");
    escape_html(message, &mut page);
    page.push_str("</p>\n");
    if let Some(w) = warning {
        page.push_str("<p class=\"warning\">");
        escape_html(w, &mut page);
        page.push_str("</p>\n");
    }
    if let Some(x) = extra {
        page.push_str("<p class=\"extra\">");
        escape_html(x, &mut page);
        page.push_str("</p>\n");
    }
    page.push_str("</body>\n</html>\n");
    page
}

fn escape_html(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: &Response) -> String {
        String::from_utf8(r.body.to_vec()).expect("utf-8 page")
    }

    #[test]
    fn error_page_titles_with_status_text_and_escapes_message() {
        let r = error_page(
            404,
            Some("Unknown host: <x>"),
            None,
            &ErrorPageSettings::default(),
        );
        assert_eq!(r.status, 404);
        assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
        let b = body(&r);
        assert!(b.contains("<title>Not Found</title>"), "{b}");
        assert!(b.contains("Unknown host: &lt;x&gt;"), "{b}");
    }

    #[test]
    fn private_text_only_with_detailed_errors() {
        let mut s = ErrorPageSettings::default();
        let r = error_page(500, Some("public"), Some("secret"), &s);
        assert!(!body(&r).contains("secret") && body(&r).contains("public"));
        s.detailed = true;
        assert!(body(&error_page(500, Some("public"), Some("secret"), &s)).contains("secret"));
    }

    #[test]
    fn configured_messages_and_default_message_are_used() {
        let mut s = ErrorPageSettings::default();
        s.messages.insert(404, vec!["Gone fishing".into()]);
        s.default_message = "Nothing more.".into();
        assert!(body(&error_page(404, None, None, &s)).contains("Gone fishing"));
        assert!(body(&error_page(418, None, None, &s)).contains("Nothing more."));
    }

    #[test]
    fn always_show_false_leaves_unknown_codes_bare() {
        let s = ErrorPageSettings {
            always_show: false,
            ..ErrorPageSettings::default()
        };
        assert!(error_page(418, Some("detail"), None, &s).body.is_empty());
        assert!(!error_page(404, None, None, &s).body.is_empty());
    }

    #[test]
    fn message_page_shows_warning_only_when_given() {
        let with = body(&message_page("T", "m", Some("careful")));
        assert!(with.contains("careful"));
        assert!(!body(&message_page("T", "m", None)).contains("warning\""));
    }
}
