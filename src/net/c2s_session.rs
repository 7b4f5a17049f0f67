//! The parts of a c2s connection task that every transport shares: credential lookups run
//! off the async threads, resource binding through the core, and `stream-features` on
//! hosts where a module hooked it.

use std::net::IpAddr;
use std::sync::Arc;

use tokio::sync::oneshot;

use crate::core::{
    BindRequest, CoreMsg, OutboundTx, SessionId, Shared, StreamFeaturesRequest, StreamInfo,
};
use crate::modules::c2s::stream::C2sStream;
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::sasl::ScramCredentials;

/// SCRAM credentials of `username@host` (None: no such user, or no host policy).
pub async fn load_scram(
    shared: &Arc<Shared>,
    host: &str,
    username: String,
) -> Option<ScramCredentials> {
    let hash = shared.policies.get(host)?.password_hash;
    let shared = shared.clone();
    let host = host.to_owned();
    tokio::task::spawn_blocking(move || {
        shared
            .accounts
            .scram_credentials(&host, &username, hash)
            .ok()
            .flatten()
    })
    .await
    .ok()
    .flatten()
}

/// Checks a PLAIN password (PBKDF2 runs on the blocking pool).
pub async fn verify_plain(
    shared: &Arc<Shared>,
    host: &str,
    username: String,
    password: String,
) -> bool {
    if crate::lua::auth::lua_provider(&shared.config, host).is_some() {
        return crate::lua::auth::verify_plain(shared, host, username, password).await;
    }
    let shared = shared.clone();
    let host = host.to_owned();
    tokio::task::spawn_blocking(move || {
        shared
            .accounts
            .test_password(&host, &username, &password)
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// Who is binding, from the connection's point of view.
pub struct Binder<'a> {
    pub session: SessionId,
    pub username: &'a str,
    pub host: &'a str,
    pub ip: Option<IpAddr>,
    pub secure: bool,
    pub transport: &'static str,
    pub tx: OutboundTx,
}

/// Asks the core to bind `resource` (empty: the core picks one); returns the full JID.
pub async fn bind(
    shared: &Shared,
    who: Binder<'_>,
    resource: String,
) -> Result<Arc<str>, StanzaError> {
    let (reply_tx, reply_rx) = oneshot::channel();
    let req = BindRequest {
        session: who.session,
        username: who.username.to_owned(),
        host: who.host.to_owned(),
        resource,
        ip: who.ip,
        secure: who.secure,
        transport: who.transport,
        tx: who.tx,
        reply: reply_tx,
    };
    let internal = || StanzaError::cancel(StanzaCondition::InternalServerError);
    if shared.core_tx.send(CoreMsg::Bind(req)).is_err() {
        return Err(internal());
    }
    match reply_rx.await {
        Ok(Ok(full)) => Ok(full),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(internal()),
    }
}

/// Seconds since the epoch, a stream's `conntime`.
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The stream as `stream-features` handlers see it; `encrypted` is real TLS only.
pub fn stream_info(
    stream: &C2sStream,
    session: SessionId,
    ip: Option<IpAddr>,
    encrypted: bool,
    transport: &'static str,
) -> StreamInfo {
    StreamInfo {
        session,
        host: stream.host().unwrap_or_default().to_owned(),
        username: stream.username().map(str::to_owned),
        secure: stream.is_secure(),
        encrypted,
        ip,
        conntime: stream.conntime(),
        transport,
    }
}

/// Has the core fire `stream-features` for `features` and returns the element to send
/// (the features unchanged when the core is gone).
pub async fn collect_features(shared: &Shared, info: StreamInfo, features: Element) -> Element {
    let (reply, rx) = oneshot::channel();
    let fallback = features.clone();
    let req = StreamFeaturesRequest {
        info,
        features,
        reply,
    };
    if shared
        .core_tx
        .send(CoreMsg::StreamFeatures(Box::new(req)))
        .is_err()
    {
        return fallback;
    }
    rx.await.unwrap_or(fallback)
}
