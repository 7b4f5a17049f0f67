//! HTTP routes of Lua plugins (`module:provides("http", {...})`, reference §6.2). The
//! routes go into the native router like any app's; a request is handed to the core
//! thread, where the Lua handler runs, and the listener task waits for its answer.
//! Routes must be registered while modules load at startup: the router is built once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mlua::{Function, Lua, Table, Value};
use tokio::sync::mpsc;

use super::bridge::{with_core, CoreGuard};
use super::{sandbox, LuaHost};
use crate::core::{Core, Shared};
use crate::modules::http::{App, Handler, HttpSettings, Reply, Request, Response, Router, Scope};

/// How long a listener waits for a Lua handler before answering 504.
const HANDLER_TIMEOUT: Duration = Duration::from_secs(30);

/// One request for a Lua handler, sent to the core thread.
pub struct HttpCall {
    handler: u64,
    request: Request,
    rest: String,
    reply: std::sync::mpsc::SyncSender<Reply>,
}

/// The core side: Lua handler functions by id and the request channel.
pub struct HttpBridge {
    handlers: HashMap<u64, Function>,
    /// (host, app, route key) -> handler id, so a reloaded module's routes (already in
    /// the router) reach its new functions.
    ids: HashMap<(String, String, String), u64>,
    next_id: u64,
    tx: mpsc::UnboundedSender<HttpCall>,
    rx: Option<mpsc::UnboundedReceiver<HttpCall>>,
}

impl Default for HttpBridge {
    fn default() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        HttpBridge {
            handlers: HashMap::new(),
            ids: HashMap::new(),
            next_id: 0,
            tx,
            rx: Some(rx),
        }
    }
}

type Apps = Vec<(Scope, App)>;

/// Apps registered by Lua plugins, per server (keyed by its `Shared`), until the router
/// is built.
fn registry() -> &'static Mutex<HashMap<usize, Apps>> {
    static APPS: std::sync::OnceLock<Mutex<HashMap<usize, Apps>>> = std::sync::OnceLock::new();
    APPS.get_or_init(Default::default)
}

fn key_of(shared: &Arc<Shared>) -> usize {
    Arc::as_ptr(shared) as usize
}

/// Adds the Lua plugins' apps to the router being built for `shared`.
pub fn add_routes(shared: &Arc<Shared>, router: &mut Router, settings: &HttpSettings) {
    let apps = registry()
        .lock()
        .map(|mut r| r.remove(&key_of(shared)).unwrap_or_default())
        .unwrap_or_default();
    for (scope, app) in apps {
        for w in router.add_app(&scope, app, settings) {
            tracing::warn!("{w}");
        }
    }
}

impl HttpBridge {
    /// Gives back a receiver taken with [`take_receiver`].
    pub fn put_receiver(&mut self, rx: mpsc::UnboundedReceiver<HttpCall>) {
        self.rx = Some(rx);
    }
}

/// Takes the request channel for the core loop (once).
pub fn take_receiver(core: &mut Core) -> Option<mpsc::UnboundedReceiver<HttpCall>> {
    core.lua.as_mut().and_then(|h| h.http.rx.take())
}

/// Waits for the next request; never resolves without a channel.
pub async fn recv(rx: &mut Option<mpsc::UnboundedReceiver<HttpCall>>) -> Option<HttpCall> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn scope_for(core: &Core, host: &str) -> Scope {
    if host == "*" {
        return Scope::global();
    }
    let s = core.shared.config.host(host);
    let mut scope = Scope::host(host);
    if let Some(h) = s.string("http_host") {
        scope = scope.with_http_host(&h);
    }
    if let Some(crate::config::Value::Table(t)) = s.get_raw("http_paths") {
        for (app, path) in t.entries() {
            if let Some(p) = path.as_str() {
                scope = scope.with_path(app, p);
            }
        }
    }
    scope
}

/// `native.http_register(host, app_name, default_path, keys, routes)`.
pub fn install(lua: &Lua, n: &Table) -> mlua::Result<()> {
    n.set(
        "http_register",
        lua.create_function(
            |_,
             (host, name, default_path, keys, routes): (
                String,
                String,
                Option<String>,
                Vec<String>,
                Table,
            )| {
                with_core(|core| -> mlua::Result<()> {
                    let mut app = App::new(&name);
                    let mut known = true;
                    if let Some(p) = default_path {
                        app = app.with_default_path(&p);
                    }
                    for key in keys {
                        let handler = match routes.get::<Value>(key.as_str())? {
                            Value::Function(f) => {
                                let Some(lh) = core.lua.as_mut() else {
                                    continue;
                                };
                                let route = (host.clone(), name.clone(), key.clone());
                                let id = match lh.http.ids.get(&route) {
                                    Some(id) => *id,
                                    None => {
                                        known = false;
                                        lh.http.next_id += 1;
                                        lh.http.ids.insert(route, lh.http.next_id);
                                        lh.http.next_id
                                    }
                                };
                                lh.http.handlers.insert(id, f);
                                let tx = lh.http.tx.clone();
                                Handler::new(move |req, rest| call_over(&tx, id, req, rest))
                            }
                            Value::String(s) => {
                                Handler::Static(Response::new(200).with_body(s.as_bytes().to_vec()))
                            }
                            _ => continue,
                        };
                        app = app.route(&key, handler);
                    }
                    if known && !app.routes.is_empty() {
                        // A reload: the router already has these routes.
                        return Ok(());
                    }
                    let scope = scope_for(core, &host);
                    if let Ok(mut r) = registry().lock() {
                        r.entry(key_of(&core.shared))
                            .or_default()
                            .push((scope, app));
                    }
                    Ok(())
                })?
            },
        )?,
    )
}

/// `native.http_unregister(host, app)`: an unloaded module's routes answer 404.
pub fn install_unregister(lua: &Lua, n: &Table) -> mlua::Result<()> {
    n.set(
        "http_unregister",
        lua.create_function(|_, (host, name): (String, String)| {
            with_core(|core| {
                if let Some(lh) = core.lua.as_mut() {
                    let ids: Vec<u64> = lh
                        .http
                        .ids
                        .iter()
                        .filter(|((h, a, _), _)| *h == host && *a == name)
                        .map(|(_, id)| *id)
                        .collect();
                    for id in ids {
                        lh.http.handlers.remove(&id);
                    }
                }
            })
        })?,
    )
}

/// Runs on a listener task: hands the request to the core thread and waits.
fn call_over(
    tx: &mpsc::UnboundedSender<HttpCall>,
    handler: u64,
    req: &Request,
    rest: &str,
) -> Reply {
    let (reply, answer) = std::sync::mpsc::sync_channel(1);
    let call = HttpCall {
        handler,
        request: req.clone(),
        rest: rest.to_owned(),
        reply,
    };
    if tx.send(call).is_err() {
        return Reply::Status(503);
    }
    answer
        .recv_timeout(HANDLER_TIMEOUT)
        .unwrap_or(Reply::Status(504))
}

/// Runs one request's Lua handler on the core thread and sends the reply back.
pub fn handle(core: &mut Core, call: HttpCall) {
    let found = core
        .lua
        .as_ref()
        .and_then(|h| Some((h.lua.clone(), h.http.handlers.get(&call.handler)?.clone())));
    let reply = match found {
        None => Reply::Pass,
        Some((lua, f)) => {
            if let Some(h) = core.lua.as_mut() {
                h.entries += 1;
            }
            let _guard = CoreGuard::enter(core);
            sandbox::reset_budget(&lua);
            run(&lua, &f, &call.request, &call.rest).unwrap_or_else(|e| {
                tracing::error!(target: "lua", "Error in HTTP handler: {e}");
                Reply::Status(500)
            })
        }
    };
    let _ = call.reply.send(reply);
    super::flush_filtered(core);
}

fn run(lua: &Lua, f: &Function, req: &Request, rest: &str) -> mlua::Result<Reply> {
    let request = lua.create_table()?;
    request.set("method", req.method.as_str())?;
    request.set("path", req.path.as_str())?;
    let url = lua.create_table()?;
    url.set("path", req.path.as_str())?;
    url.set("query", req.query.as_deref())?;
    request.set("url", url)?;
    let headers = lua.create_table()?;
    for (k, v) in &req.headers {
        headers.set(k.replace('-', "_"), v.as_str())?;
    }
    request.set("headers", headers)?;
    request.set("body", lua.create_string(&req.body)?)?;
    request.set("ip", req.ip.to_string())?;
    request.set("secure", req.secure)?;
    let response = lua.create_table()?;
    response.set("status_code", 200)?;
    response.set("headers", lua.create_table()?)?;
    // `response:send(body)` inside the handler (Prosody's API): the body is kept and
    // answered when the handler returns. Sending later, from a timer or callback, is not
    // supported yet (the request is answered when the handler returns).
    response.set(
        "send",
        lua.create_function(|_, (r, body): (Table, Option<mlua::String>)| {
            if let Some(b) = body {
                r.set("body", b)?;
            }
            r.set("_lilt_sent", true)?;
            Ok(true)
        })?,
    )?;
    let event = lua.create_table()?;
    event.set("request", request)?;
    event.set("response", response.clone())?;
    let call: Function = LuaHost::internal(lua)?.get("call_http")?;
    let (ok, ret): (bool, Value) = call.call((f.clone(), event, rest))?;
    if !ok {
        tracing::error!(target: "lua", "Error in HTTP handler: {}", ret.to_string().unwrap_or_default());
        return Ok(Reply::Status(500));
    }
    let status: u16 = response.get::<Option<u16>>("status_code")?.unwrap_or(200);
    if response.get::<Option<bool>>("_lilt_sent")? == Some(true) {
        let body = response.get::<Option<mlua::String>>("body")?;
        return Ok(Reply::Response(
            with_headers(&response, Response::new(status))?
                .with_body(body.map(|b| b.as_bytes().to_vec()).unwrap_or_default()),
        ));
    }
    Ok(match ret {
        Value::Nil => Reply::Pass,
        Value::Integer(n) => Reply::Status(u16::try_from(n).unwrap_or(500)),
        Value::Number(n) => Reply::Status(n as u16),
        Value::String(s) => Reply::Response(
            with_headers(&response, Response::new(status))?.with_body(s.as_bytes().to_vec()),
        ),
        Value::Table(t) => {
            if let Some(code) = t
                .get::<Option<u16>>("code")?
                .filter(|_| t.contains_key("condition").unwrap_or(false))
            {
                return Ok(Reply::Status(code));
            }
            let status = t.get::<Option<u16>>("status_code")?.unwrap_or(status);
            let mut r = with_headers(&response, Response::new(status))?;
            if let Some(h) = t.get::<Option<Table>>("headers")? {
                r = set_headers(&h, r)?;
            }
            let body = t.get::<Option<mlua::String>>("body")?;
            r.with_body(body.map(|b| b.as_bytes().to_vec()).unwrap_or_default())
                .pipe(Reply::Response)
        }
        Value::Boolean(true) => {
            tracing::error!(target: "lua", "Asynchronous HTTP responses are not supported yet");
            Reply::Status(500)
        }
        _ => Reply::Status(500),
    })
}

trait Pipe: Sized {
    fn pipe<R>(self, f: impl FnOnce(Self) -> R) -> R {
        f(self)
    }
}
impl Pipe for Response {}

fn with_headers(response: &Table, r: Response) -> mlua::Result<Response> {
    match response.get::<Option<Table>>("headers")? {
        Some(h) => set_headers(&h, r),
        None => Ok(r),
    }
}

/// Prosody writes header keys with `_` for `-` and capitalises each word on the wire.
fn set_headers(h: &Table, mut r: Response) -> mlua::Result<Response> {
    for pair in h.pairs::<String, String>() {
        let (k, v) = pair?;
        let name: Vec<String> = k
            .split(['_', '-'])
            .map(|w| {
                let mut c = w.chars();
                match c.next() {
                    Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                    None => String::new(),
                }
            })
            .collect();
        r.set_header(&name.join("-"), v);
    }
    Ok(r)
}
