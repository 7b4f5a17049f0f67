//! The `websocket` HTTP app (reference §5.2, §5.3, §5.10): decides between the plain info
//! page, a 501 for clients that do not speak the `xmpp` subprotocol, and the 101 upgrade.
//! The upgrade itself (taking over the socket) is done by `net::http`.

use std::sync::Arc;

use crate::modules::http::{pages, App, CorsSpec, Handler, Reply, Request, Response};

use super::handshake::{accept_key, offers_xmpp};

/// App name for `http_paths` / `http_cors_override`.
pub const APP_NAME: &str = "websocket";
/// Base path when `http_paths` does not set one.
pub const DEFAULT_PATH: &str = "xmpp-websocket";

/// mod_websocket's HTTP-facing options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSocketSettings {
    /// `websocket_get_response_text`: shown on a plain GET.
    pub get_response_text: String,
    /// `websocket_get_response_body`: when the operator sets it, Lilt serves it verbatim on a
    /// plain GET (Prosody only uses it if no page renderer is loaded, i.e. practically never).
    pub get_response_body: Option<String>,
    /// `consider_websocket_secure`: no "not secure" warning on the plain page.
    pub consider_secure: bool,
    /// Guide extension `websocket_origin_check`: refuse (403) upgrades from browsers whose
    /// `Origin` is not in `allowed_origins`. Requests without `Origin` are not browsers and
    /// pass. Prosody 0.12 has no Origin check at all.
    pub origin_check: bool,
    /// Guide extension `allowed_origins` (`*` allows any).
    pub allowed_origins: Vec<String>,
}

impl Default for WebSocketSettings {
    fn default() -> Self {
        WebSocketSettings {
            get_response_text: "Lilt speaks XMPP over WebSocket here: point your WebSocket \
                                client at this URL to connect."
                .into(),
            get_response_body: None,
            consider_secure: false,
            origin_check: false,
            allowed_origins: Vec::new(),
        }
    }
}

/// The app to register (globally and/or per host): `GET` and `GET /` under
/// `/xmpp-websocket`, CORS enabled.
pub fn app(settings: Arc<WebSocketSettings>) -> App {
    let handler = Handler::new(move |request, _| handle(request, &settings));
    App::new(APP_NAME)
        .with_default_path(DEFAULT_PATH)
        .with_cors(CorsSpec::enabled())
        .route("GET", handler.clone())
        .route("GET /", handler)
}

/// One request to the WebSocket endpoint.
pub fn handle(request: &Request, settings: &WebSocketSettings) -> Reply {
    let key = request.header("sec-websocket-key");
    let Some(key) = key.filter(|_| request.method == "GET") else {
        return Reply::Response(plain_page(request, settings));
    };
    if !request
        .header("sec-websocket-protocol")
        .is_some_and(offers_xmpp)
    {
        return Reply::Error {
            status: 501,
            message: Some("This endpoint only speaks the 'xmpp' WebSocket subprotocol.".into()),
            private: None,
        };
    }
    if settings.origin_check {
        if let Some(origin) = request.header("origin") {
            let allowed = settings
                .allowed_origins
                .iter()
                .any(|o| o == "*" || o == origin);
            if !allowed {
                tracing::warn!(ip = %request.ip, origin, "Refused WebSocket upgrade: Origin not in allowed_origins");
                crate::modules::openmetrics::metrics()
                    .limit_hit(crate::modules::openmetrics::LimitKind::Origin);
                return Reply::Error {
                    status: 403,
                    message: Some(format!("Origin not allowed: {origin}")),
                    private: None,
                };
            }
        }
    }
    let mut response = Response::new(101)
        .with_header("Upgrade", "websocket")
        .with_header("Connection", "Upgrade")
        .with_header("Sec-WebSocket-Accept", accept_key(key.trim()))
        .with_header("Sec-WebSocket-Protocol", "xmpp");
    response.upgrade = true;
    Reply::Response(response)
}

fn plain_page(request: &Request, settings: &WebSocketSettings) -> Response {
    if let Some(body) = &settings.get_response_body {
        return Response::html(200, body.clone());
    }
    let secure = settings.consider_secure || request.secure;
    pages::message_page(
        "Lilt WebSocket endpoint",
        &settings.get_response_text,
        (!secure).then_some("This endpoint is not considered secure!"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upgrade_request() -> Request {
        Request::new("GET", "/xmpp-websocket")
            .with_header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
            .with_header("Sec-WebSocket-Protocol", "foo, XMPP")
    }

    fn response(reply: Reply) -> Response {
        match reply {
            Reply::Response(r) => r,
            other => panic!("expected a response, got {other:?}"),
        }
    }

    #[test]
    fn upgrade_answers_101_with_accept_and_protocol() {
        let r = response(handle(&upgrade_request(), &WebSocketSettings::default()));
        assert_eq!(r.status, 101);
        assert!(r.upgrade);
        assert_eq!(
            r.header("Sec-WebSocket-Accept"),
            Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        );
        assert_eq!(r.header("Sec-WebSocket-Protocol"), Some("xmpp"));
        assert_eq!(r.header("Upgrade"), Some("websocket"));
        assert_eq!(r.header("Connection"), Some("Upgrade"));
    }

    #[test]
    fn missing_xmpp_subprotocol_is_501() {
        let mut req = upgrade_request();
        req.headers.retain(|(n, _)| n != "sec-websocket-protocol");
        assert!(matches!(
            handle(&req, &WebSocketSettings::default()),
            Reply::Error { status: 501, .. }
        ));
        let req = req.with_header("Sec-WebSocket-Protocol", "chat");
        assert!(matches!(
            handle(&req, &WebSocketSettings::default()),
            Reply::Error { status: 501, .. }
        ));
    }

    #[test]
    fn plain_get_and_non_get_show_the_page_with_warning_when_insecure() {
        let s = WebSocketSettings::default();
        let r = response(handle(&Request::new("GET", "/xmpp-websocket"), &s));
        let body = String::from_utf8(r.body.to_vec()).expect("utf-8");
        assert_eq!(r.status, 200);
        assert!(body.contains("Lilt WebSocket endpoint"));
        assert!(body.contains("This endpoint is not considered secure!"));
        let mut post = upgrade_request();
        post.method = "POST".into();
        post.secure = true;
        let body = response(handle(&post, &s)).body;
        assert!(!String::from_utf8_lossy(&body).contains("not considered secure"));
    }

    #[test]
    fn configured_body_is_served_verbatim() {
        let s = WebSocketSettings {
            get_response_body: Some("<p>custom</p>".into()),
            ..Default::default()
        };
        let r = response(handle(&Request::new("GET", "/x"), &s));
        assert_eq!(&r.body[..], b"<p>custom</p>");
    }

    #[test]
    fn origin_check_refuses_unlisted_browser_origins_only() {
        let s = WebSocketSettings {
            origin_check: true,
            allowed_origins: vec!["https://app.example".into()],
            ..Default::default()
        };
        let bad = upgrade_request().with_header("Origin", "https://evil.example");
        assert!(matches!(handle(&bad, &s), Reply::Error { status: 403, .. }));
        let good = upgrade_request().with_header("Origin", "https://app.example");
        assert_eq!(response(handle(&good, &s)).status, 101);
        assert_eq!(response(handle(&upgrade_request(), &s)).status, 101);
        let off = WebSocketSettings::default();
        let bad = upgrade_request().with_header("Origin", "https://evil.example");
        assert_eq!(response(handle(&bad, &off)).status, 101);
    }
}
