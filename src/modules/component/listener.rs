//! The `component` network service (reference §12.3): listeners on `component_ports`
//! (default 5347, private: loopback unless `component_interfaces`), opened when a
//! Component uses `component_module = "component"`, and one task per connection that
//! runs [`ComponentStream`] over TCP. The core sees an authenticated connection as a
//! [`crate::core::HostLink`] of its domain.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::stream::{self, Action, ComponentStream, Secrets, NS_ACCEPT};
use crate::config::Config;
use crate::core::session::CoreTask;
use crate::core::{CoreMsg, Outbound, Shared};
use crate::modules::limits::{SessionKind, SessionLimits};
use crate::net::listener::{bind_all, resolve_addresses, ServiceSpec, SocketOptions};
use crate::net::tcp::serialise;
use crate::xml::{Element, Limits, StreamEvent, StreamParser, XmlError};
use crate::xmpp::error::{StreamCondition, StreamError};

/// `component` on 5347, private (loopback unless configured).
pub const SERVICE: ServiceSpec<'static> = ServiceSpec {
    name: "component",
    default_ports: &[5347],
    private: true,
};

const READ_SIZE: usize = 4096;

/// The running component listeners (closed when dropped).
pub struct ComponentListeners {
    addrs: Vec<SocketAddr>,
    tasks: Vec<JoinHandle<()>>,
}

impl ComponentListeners {
    /// Where the service listens (useful with `component_ports = { 0 }`).
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }
}

impl Drop for ComponentListeners {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The external components of the config and their secrets.
pub fn secrets(config: &Config) -> Secrets {
    config
        .components()
        .into_iter()
        .filter(|h| config.component_module(h) == Some(super::MODULE_NAME))
        .map(|h| (h.to_owned(), config.host(h).string("component_secret")))
        .collect()
}

/// Settings every component connection shares.
struct Settings {
    secrets: Secrets,
    validate_from: bool,
    stanza_size_limit: usize,
    read_timeout: Duration,
    send_timeout: Duration,
}

/// Opens the `component` service when the config has external components; binds
/// nothing otherwise. A port that cannot be bound is logged, as Prosody does.
pub fn start(shared: &Arc<Shared>) -> ComponentListeners {
    let config = &shared.config;
    let secrets = secrets(config);
    let mut out = ComponentListeners {
        addrs: Vec::new(),
        tasks: Vec::new(),
    };
    if secrets.is_empty() {
        return out;
    }
    let g = config.global();
    let net = crate::net::serve::network_settings(config);
    let options = SocketOptions {
        nagle: net.nagle,
        keepalive: g
            .boolean("component_tcp_keepalives")
            .or_else(|| g.boolean("tcp_keepalives"))
            .unwrap_or(true),
    };
    let listeners = resolve_addresses(
        &SERVICE,
        &crate::net::serve::interface_options(config, "component"),
    )
    .map_err(|e| e.to_string())
    .and_then(|addrs| bind_all(SERVICE.name, &addrs, &net, options).map_err(|e| e.to_string()));
    let listeners = match listeners {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("Failed to open component ports: {e}");
            return out;
        }
    };
    let secs = |s: f64| Duration::from_secs_f64(s.max(0.001));
    let settings = Arc::new(Settings {
        secrets,
        validate_from: g.boolean("validate_from_addresses").unwrap_or(true),
        stanza_size_limit: g
            .integer("component_stanza_size_limit")
            .or_else(|| g.integer("s2s_stanza_size_limit"))
            .unwrap_or(524_288)
            .max(0) as usize,
        read_timeout: secs(shared.c2s.read_timeout),
        send_timeout: secs(shared.c2s.send_timeout),
    });
    for l in listeners {
        out.addrs.push(l.local_addr());
        tracing::info!("Serving component on {}", l.local_addr());
        let (shared, settings) = (shared.clone(), settings.clone());
        out.tasks.push(tokio::spawn(async move {
            loop {
                let (sock, peer) = l.accept().await;
                tokio::spawn(serve(
                    sock,
                    Some(peer.ip()),
                    shared.clone(),
                    settings.clone(),
                ));
            }
        }));
    }
    out
}

enum Flow {
    Continue,
    Drop,
}

struct Conn {
    shared: Arc<Shared>,
    settings: Arc<Settings>,
    id: u64,
    stream: ComponentStream,
    parser: StreamParser,
    out: String,
    tx: crate::core::OutboundTx,
    /// The domain this connection is attached to on the core.
    attached: Option<String>,
}

async fn serve(
    mut sock: TcpStream,
    ip: Option<IpAddr>,
    shared: Arc<Shared>,
    settings: Arc<Settings>,
) {
    let (tx, mut rx) = crate::core::outbound::channel();
    let mut conn = Conn {
        id: shared.new_session_id(),
        stream: ComponentStream::new(settings.validate_from),
        parser: StreamParser::new(Limits {
            max_stanza_bytes: settings.stanza_size_limit,
            ..Limits::default()
        })
        .with_default_lang("en"),
        out: String::new(),
        tx,
        attached: None,
        shared,
        settings,
    };
    let mut limits = SessionLimits::new(&conn.shared, SessionKind::Component, ip);
    let mut read_resume: Option<Instant> = None;
    let mut idle = Instant::now() + conn.settings.read_timeout;
    let mut rbuf = vec![0u8; READ_SIZE];
    let mut reason = None;
    loop {
        let flow = tokio::select! {
            _ = tokio::time::sleep_until(read_resume.unwrap_or(idle)), if read_resume.is_some() => {
                read_resume = None;
                Flow::Continue
            }
            r = sock.read(&mut rbuf), if read_resume.is_none() => match r {
                Ok(0) | Err(_) => {
                    reason = Some("connection closed".to_owned());
                    break;
                }
                Ok(n) => {
                    idle = Instant::now() + conn.settings.read_timeout;
                    if let Some(pause) = limits.after_read(n) {
                        read_resume = Some(Instant::now() + pause);
                    }
                    conn.on_data(&rbuf[..n]).await
                }
            },
            Some(mut batch) = rx.recv_all() => {
                let mut flow = Flow::Continue;
                while let Some(msg) = batch.pop_front() {
                    if let Flow::Drop = conn.on_outbound(msg) {
                        flow = Flow::Drop;
                        reason = Some("closed by the server".to_owned());
                        break;
                    }
                }
                flow
            }
            _ = tokio::time::sleep_until(idle) => {
                idle = Instant::now() + conn.settings.read_timeout;
                // Prosody answers component-read-timeout with a whitespace keepalive.
                conn.out.push(' ');
                Flow::Continue
            }
        };
        if !conn.out.is_empty() {
            let send = conn.settings.send_timeout;
            let res = tokio::time::timeout(send, sock.write_all(conn.out.as_bytes())).await;
            conn.out = String::new();
            if !matches!(res, Ok(Ok(()))) {
                reason = Some("write error".to_owned());
                break;
            }
        }
        if let Flow::Drop = flow {
            let _ = tokio::time::timeout(conn.settings.send_timeout, sock.shutdown()).await;
            break;
        }
    }
    if let Some(host) = conn.attached.take() {
        let id = conn.id;
        let task = CoreTask(Box::new(move |core| super::detach(core, &host, id, reason)));
        let _ = conn.shared.core_tx.send(CoreMsg::Task(task));
    }
}

impl Conn {
    fn write(&mut self, el: &Element) {
        if el.ns == NS_ACCEPT {
            el.write_xml(&mut self.out, NS_ACCEPT);
        } else {
            serialise::write_element(el, &mut self.out);
        }
    }

    /// Stream error (if any), closing tag, then the TCP connection is closed at once.
    fn close(&mut self, error: Option<Element>) -> Flow {
        if !self.stream.header_sent() {
            self.out.push_str(&stream::header(None, None));
        }
        if let Some(e) = error {
            self.write(&e);
        }
        self.out.push_str(serialise::CLOSE);
        Flow::Drop
    }

    fn on_outbound(&mut self, msg: Outbound) -> Flow {
        match msg {
            Outbound::Stanza(el) => {
                self.write(&el);
                Flow::Continue
            }
            Outbound::Shared(el, to) => {
                self.write(&el.addressed(&to));
                Flow::Continue
            }
            Outbound::Close(e) => self.close(e.map(|e| *e)),
        }
    }

    async fn on_data(&mut self, data: &[u8]) -> Flow {
        if let Err(e) = self.parser.feed(data) {
            return self.on_xml_error(e);
        }
        loop {
            let actions = match self.parser.next_event() {
                Ok(Some(StreamEvent::Open(header))) => {
                    let id = uuid::Uuid::new_v4().to_string();
                    self.stream.on_open(&header, &self.settings.secrets, &id)
                }
                Ok(Some(StreamEvent::Stanza(el))) => {
                    self.stream.on_stanza(el, &self.settings.secrets)
                }
                Ok(Some(StreamEvent::Close)) => return self.close(None),
                Ok(None) => {
                    self.parser.release_idle();
                    return Flow::Continue;
                }
                Err(e) => return self.on_xml_error(e),
            };
            if let Flow::Drop = self.run(actions).await {
                return Flow::Drop;
            }
        }
    }

    fn on_xml_error(&mut self, e: XmlError) -> Flow {
        let err = match e {
            XmlError::InvalidNamespace => {
                StreamError::new(StreamCondition::InvalidNamespace).element()
            }
            XmlError::StanzaTooLarge => StreamError::new(StreamCondition::PolicyViolation)
                .with_text("XML stanza is too big")
                .with_child(Element::new("stanza-too-big", "urn:xmpp:errors"))
                .element(),
            _ => StreamError::new(StreamCondition::NotWellFormed).element(),
        };
        self.close(Some(err))
    }

    async fn run(&mut self, mut actions: Vec<Action>) -> Flow {
        let mut i = 0;
        while i < actions.len() {
            let action = std::mem::replace(&mut actions[i], Action::Close(None));
            i += 1;
            match action {
                Action::Write(text) => self.out.push_str(&text),
                Action::Send(el) => self.write(&el),
                Action::Close(e) => return self.close(e),
                Action::Forward(el) => {
                    let Some(host) = self.attached.clone() else {
                        continue;
                    };
                    let id = self.id;
                    let task = CoreTask(Box::new(move |core| super::inbound(core, &host, id, el)));
                    let _ = self.shared.core_tx.send(CoreMsg::Task(task));
                }
                Action::Attach { host } => {
                    let result = self.attach(&host).await;
                    if result.is_ok() {
                        self.attached = Some(host);
                    }
                    let more = self.stream.on_attached(result);
                    actions.splice(i..i, more);
                }
            }
        }
        Flow::Continue
    }

    /// Asks the core to attach this connection as `host`.
    async fn attach(&self, host: &str) -> Result<(), Element> {
        let (reply, answer) = oneshot::channel();
        let (host, id, tx) = (host.to_owned(), self.id, self.tx.clone());
        let task = CoreTask(Box::new(move |core| {
            let _ = reply.send(super::attach(core, &host, id, tx));
        }));
        if self.shared.core_tx.send(CoreMsg::Task(task)).is_err() {
            return Err(StreamError::new(StreamCondition::SystemShutdown).element());
        }
        answer
            .await
            .unwrap_or_else(|_| Err(StreamError::new(StreamCondition::SystemShutdown).element()))
    }
}
