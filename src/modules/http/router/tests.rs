//! Route table behaviour: base paths, keys, host matching, HEAD, redirects, error pages, CORS.

use super::*;
use crate::modules::http::settings::CorsSpec;

fn text(r: &Response) -> String {
    String::from_utf8(r.body.to_vec()).expect("utf-8 body")
}

fn ok(body: &'static str) -> Handler {
    Handler::new(move |_, _| Reply::Response(Response::new(200).with_body(body)))
}

fn router_with(scope: Scope, app: App) -> (Router, HttpSettings) {
    let settings = HttpSettings::default();
    let mut router = Router::new();
    assert!(router.add_app(&scope, app, &settings).is_empty());
    (router, settings)
}

fn get(router: &Router, settings: &HttpSettings, target: &str, host: &str) -> Response {
    router
        .dispatch(
            &Request::new("GET", target).with_header("Host", host),
            settings,
        )
        .response
}

#[test]
fn base_path_prefers_host_then_global_then_default() {
    let mut settings = HttpSettings::default();
    let host = Scope::host("example.com");
    assert_eq!(base_path(&host, "files", None, &settings), "/files");
    assert_eq!(
        base_path(&host, "websocket", Some("xmpp-websocket"), &settings),
        "/xmpp-websocket"
    );
    settings.paths.insert("websocket".into(), "ws/".into());
    assert_eq!(
        base_path(&host, "websocket", Some("xmpp-websocket"), &settings),
        "/ws"
    );
    let host = host.with_path("websocket", "/$host/socket/");
    assert_eq!(
        base_path(&host, "websocket", None, &settings),
        "/example.com/socket"
    );
    assert_eq!(
        base_path(&Scope::global().with_path("a", "/"), "a", None, &settings),
        ""
    );
}

#[test]
fn invalid_and_duplicate_keys_are_reported() {
    let settings = HttpSettings::default();
    let mut router = Router::new();
    let app = App::new("x")
        .route("GET nope", ok("a"))
        .route("GET /a*", ok("a"))
        .route("GET /a", ok("a"))
        .route("get /a", ok("b"));
    let warnings = router.add_app(&Scope::global(), app, &settings);
    assert_eq!(warnings.len(), 3, "{warnings:?}");
}

#[test]
fn exact_sub_and_wildcard_routes_match() {
    let app = App::new("files")
        .route("GET", ok("base"))
        .route("GET /sub", ok("sub"))
        .route(
            "GET /f/*",
            Handler::new(|_, rest| {
                Reply::Response(Response::new(200).with_body(format!("rest={rest}")))
            }),
        )
        .route("GET /f/special/*", ok("special"));
    let (r, s) = router_with(Scope::host("example.com"), app);
    assert_eq!(text(&get(&r, &s, "/files", "example.com")), "base");
    assert_eq!(text(&get(&r, &s, "/files/sub?x=1", "example.com")), "sub");
    assert_eq!(
        text(&get(&r, &s, "/files/f/a/b.txt", "example.com")),
        "rest=a/b.txt"
    );
    assert_eq!(
        text(&get(&r, &s, "/files/f/special/x", "example.com")),
        "special"
    );
    assert_eq!(get(&r, &s, "/files/other", "example.com").status, 404);
}

#[test]
fn slash_route_redirects_bare_path_keeping_query() {
    let (r, s) = router_with(
        Scope::host("example.com"),
        App::new("app").route("GET /", ok("x")),
    );
    let resp = get(&r, &s, "/app?a=1&b=2", "example.com");
    assert_eq!(resp.status, 301);
    assert_eq!(resp.header("Location"), Some("/app/?a=1&b=2"));
    assert_eq!(text(&get(&r, &s, "/app/", "example.com")), "x");
}

#[test]
fn exact_handler_beats_slash_redirect() {
    let app = App::new("websocket")
        .route("GET", ok("bare"))
        .route("GET /", ok("slash"));
    let (r, s) = router_with(Scope::host("example.com"), app);
    assert_eq!(text(&get(&r, &s, "/websocket", "example.com")), "bare");
}

#[test]
fn host_matching_strips_port_and_is_case_sensitive() {
    let (r, s) = router_with(
        Scope::host("example.com"),
        App::new("a").route("GET", ok("a")),
    );
    assert_eq!(get(&r, &s, "/a", "example.com:5280").status, 200);
    let resp = get(&r, &s, "/a", "Example.COM");
    assert_eq!(resp.status, 404);
    assert!(text(&resp).contains("Unknown host: Example.COM"));
}

#[test]
fn missing_host_is_400() {
    let (r, s) = router_with(
        Scope::host("example.com"),
        App::new("a").route("GET", ok("a")),
    );
    let resp = r.dispatch(&Request::new("GET", "/a"), &s).response;
    assert_eq!(resp.status, 400);
    assert!(text(&resp).contains("Missing or invalid &#39;Host&#39; header"));
}

#[test]
fn default_host_serves_unknown_and_missing_hosts() {
    let (r, mut s) = router_with(
        Scope::host("example.com"),
        App::new("a").route("GET", ok("a")),
    );
    s.default_host = Some("example.com".into());
    assert_eq!(get(&r, &s, "/a", "other.example").status, 200);
    assert_eq!(
        r.dispatch(&Request::new("GET", "/a"), &s).response.status,
        200
    );
    s.default_host = Some("unregistered.example".into());
    assert_eq!(get(&r, &s, "/a", "other.example").status, 404);
}

#[test]
fn http_host_option_renames_the_matched_host() {
    let scope = Scope::host("example.com").with_http_host("www.example.com");
    let (r, s) = router_with(scope, App::new("a").route("GET", ok("a")));
    assert_eq!(get(&r, &s, "/a", "www.example.com").status, 200);
    assert_eq!(get(&r, &s, "/a", "example.com").status, 404);
    let d = r.dispatch(
        &Request::new("GET", "/a").with_header("Host", "www.example.com"),
        &s,
    );
    assert_eq!(d.route_host.as_deref(), Some("example.com"));
}

#[test]
fn global_routes_answer_any_host() {
    let (r, s) = router_with(Scope::global(), App::new("a").route("GET", ok("g")));
    assert_eq!(text(&get(&r, &s, "/a", "whatever.invalid")), "g");
    assert_eq!(
        r.dispatch(&Request::new("GET", "/a"), &s).response.status,
        200
    );
}

#[test]
fn head_falls_back_to_get_and_other_methods_are_404() {
    let (r, s) = router_with(
        Scope::host("example.com"),
        App::new("a").route("GET", ok("body")),
    );
    let head = r.dispatch(
        &Request::new("HEAD", "/a").with_header("Host", "example.com"),
        &s,
    );
    assert_eq!(head.response.status, 200);
    let post = r.dispatch(
        &Request::new("POST", "/a").with_header("Host", "example.com"),
        &s,
    );
    assert_eq!(post.response.status, 404);
    assert!(text(&post.response).contains("<title>Not Found</title>"));
}

#[test]
fn root_without_route_shows_running_page() {
    let (r, s) = router_with(
        Scope::host("example.com"),
        App::new("a").route("GET", ok("a")),
    );
    let resp = get(&r, &s, "/", "example.com");
    assert_eq!(resp.status, 200);
    assert!(text(&resp).contains("Lilt is running!"));
    let post = r.dispatch(
        &Request::new("POST", "/").with_header("Host", "example.com"),
        &s,
    );
    assert_eq!(
        post.response.status, 200,
        "any method's 404 at / becomes the page"
    );
    let (r, s) = router_with(
        Scope::host("example.com"),
        App::new("a")
            .with_default_path("/")
            .route("GET /", ok("mine")),
    );
    assert_eq!(text(&get(&r, &s, "/", "example.com")), "mine");
}

#[test]
fn root_on_unknown_or_missing_host_is_still_an_error() {
    let (r, s) = router_with(
        Scope::host("example.com"),
        App::new("a").route("GET", ok("a")),
    );
    assert_eq!(get(&r, &s, "/", "other.example").status, 404);
    assert_eq!(
        r.dispatch(&Request::new("GET", "/"), &s).response.status,
        400
    );
}

#[test]
fn status_and_error_replies_render_pages() {
    let app = App::new("a")
        .route("GET /teapot", Handler::new(|_, _| Reply::Status(418)))
        .route("GET /gone", Handler::new(|_, _| Reply::Status(204)))
        .route(
            "GET /err",
            Handler::new(|_, _| Reply::Error {
                status: 503,
                message: Some("later".into()),
                private: Some("db down".into()),
            }),
        )
        .route(
            "GET /static",
            Handler::Static(Response::new(202).with_body("fixed")),
        )
        .route("GET /pass", Handler::new(|_, _| Reply::Pass));
    let (r, s) = router_with(Scope::host("h"), app);
    let teapot = get(&r, &s, "/a/teapot", "h");
    assert_eq!(teapot.status, 418);
    assert!(text(&teapot).contains("I&#39;m a teapot"));
    assert!(get(&r, &s, "/a/gone", "h").body.is_empty());
    let err = get(&r, &s, "/a/err", "h");
    assert!(text(&err).contains("later") && !text(&err).contains("db down"));
    assert_eq!(text(&get(&r, &s, "/a/static", "h")), "fixed");
    assert_eq!(get(&r, &s, "/a/pass", "h").status, 404);
}

#[test]
fn cors_headers_and_preflight_for_enabled_apps() {
    let (r, s) = router_with(Scope::host("h"), App::new("a").route("GET", ok("x")));
    let req = Request::new("GET", "/a")
        .with_header("Host", "h")
        .with_header("Origin", "https://o.example");
    let resp = r.dispatch(&req, &s).response;
    assert_eq!(
        resp.header("Access-Control-Allow-Origin"),
        Some("https://o.example")
    );
    let pre = r
        .dispatch(&Request::new("OPTIONS", "/a").with_header("Host", "h"), &s)
        .response;
    assert_eq!(pre.status, 200);
    assert!(pre.body.is_empty());
    assert_eq!(pre.header("Access-Control-Allow-Origin"), Some("*"));
}

#[test]
fn cors_override_disables_headers_and_preflight() {
    let mut settings = HttpSettings::default();
    settings.cors_override.insert(
        "a".into(),
        CorsSpec {
            enabled: Some(false),
            ..CorsSpec::default()
        },
    );
    let mut r = Router::new();
    r.add_app(
        &Scope::host("h"),
        App::new("a")
            .with_cors(CorsSpec::enabled())
            .route("GET", ok("x")),
        &settings,
    );
    let req = Request::new("GET", "/a")
        .with_header("Host", "h")
        .with_header("Origin", "https://o.example");
    assert_eq!(
        r.dispatch(&req, &settings)
            .response
            .header("Access-Control-Allow-Origin"),
        None
    );
    let pre = r.dispatch(
        &Request::new("OPTIONS", "/a").with_header("Host", "h"),
        &settings,
    );
    assert_eq!(pre.response.status, 404);
}

#[test]
fn strip_port_handles_ipv6_literals() {
    assert_eq!(strip_port("[::1]:5280"), "[::1]");
    assert_eq!(strip_port("[::1]"), "[::1]");
    assert_eq!(strip_port("a.example:80"), "a.example");
    assert_eq!(strip_port("a.example"), "a.example");
}

#[test]
fn https_redirect_sends_plain_requests_to_https() {
    let (r, mut s) = router_with(Scope::host("h"), App::new("a").route("GET", ok("a")));
    s.https_redirect = Some(5281);
    let resp = get(&r, &s, "/a?q=1", "h:5280");
    assert_eq!(resp.status, 301);
    assert_eq!(resp.header("Location"), Some("https://h:5281/a?q=1"));
    let mut secure = Request::new("GET", "/a").with_header("Host", "h");
    secure.secure = true;
    assert_eq!(r.dispatch(&secure, &s).response.status, 200);
    s.https_redirect = Some(443);
    assert_eq!(
        get(&r, &s, "/a", "h").header("Location"),
        Some("https://h/a")
    );
}

#[test]
fn https_redirect_prefers_the_hosts_external_url() {
    let (r, mut s) = router_with(Scope::host("h"), App::new("a").route("GET", ok("a")));
    s.https_redirect = Some(5281);
    s.https_redirect_urls
        .insert("h".into(), "https://chat.example/base/".into());
    s.https_redirect_urls
        .insert(String::new(), "https://global.example".into());
    let resp = get(&r, &s, "/a?q=1", "h:5280");
    assert_eq!(
        resp.header("Location"),
        Some("https://chat.example/base/a?q=1")
    );
    assert_eq!(
        get(&r, &s, "/a", "other").header("Location"),
        Some("https://global.example/a")
    );
}
