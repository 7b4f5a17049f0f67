//! mod_http_file_share: XEP-0363 HTTP File Upload (`urn:xmpp:http:upload:0`) on the host
//! it is loaded on, usually `Component "upload.example.com" "http_file_share"` (reference
//! wave 2 §19). The XMPP side ([`load`]) issues slots: checks in [`slot`], records in
//! [`store`], all on the storage executor so the core thread never waits for a disk. The
//! HTTP side ([`http`]) takes the PUT with the signed [`token`] and serves GET/HEAD,
//! streaming to and from disk. Files and records are laid out as Prosody keeps them, so
//! either server serves the other's upload directory. [`cleanup`] is the expiry job.

pub mod cleanup;
pub mod http;
pub mod options;
pub mod slot;
pub mod store;
pub mod token;

use crate::xmpp::error::{StanzaCondition, StanzaError};
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use crate::core::session::CoreTask;
use crate::core::{Bus, Core, CoreMsg, Origin};
use crate::xml::Element;
use crate::xmpp::ns;

pub use options::Settings;

/// XEP-0363's namespace (v0.3 and later).
pub const NS: &str = "urn:xmpp:http:upload:0";

/// Bytes of all slots on record, shared by the slot handler and the cleanup job
/// (Prosody's `total_storage_usage`).
pub type Total = Arc<Mutex<u64>>;

/// Unix time now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The executor key all of a host's upload work runs under, so the quota checks and the
/// records they read are never interleaved.
pub fn store_key(host: &str) -> crate::storage::executor::StoreKey {
    (host.to_owned(), None, store::UPLOADS.to_owned())
}

pub fn load(core: &mut Core, host: &str) {
    let settings = Arc::new(Settings::from_config(&core.shared.config, host));
    depend_on_disco(core, host);
    if let Some(h) = core.hosts.get_mut(host) {
        h.identities
            .push(("store".into(), "file".into(), settings.name.clone()));
        h.features.insert(NS.to_owned());
        h.extensions.push(disco_form(settings.size_limit));
    }
    let total: Total = Arc::new(Mutex::new(0));
    {
        let (host, total) = (host.to_owned(), total.clone());
        core.shared.store_exec.run(store_key(&host), move |store| {
            match store::load_total(store, &host) {
                Ok(t) => *total.lock().unwrap_or_else(|p| p.into_inner()) = t,
                Err(e) => tracing::warn!(%host, %e, "could not read upload_stats"),
            }
        });
    }
    if settings.prunes() {
        cleanup::start(core, settings.clone(), total.clone());
    }
    let bus = Bus::Host(host.to_owned());
    core.hook(
        &bus,
        &format!("iq-get/host/{NS}:request"),
        0.0,
        Rc::new(move |core, ev| {
            let stanza = ev.stanza.clone()?;
            request_slot(
                core,
                ev.origin.clone(),
                stanza,
                settings.clone(),
                total.clone(),
            );
            Some(true)
        }),
    );
}

/// Prosody's `module:depends("disco")`: a Component does not load mod_disco by itself.
fn depend_on_disco(core: &mut Core, host: &str) {
    if core
        .hosts
        .get(host)
        .is_some_and(|h| h.modules.contains("disco"))
    {
        return;
    }
    crate::modules::disco::load(core, host);
    if let Some(h) = core.hosts.get_mut(host) {
        h.modules.insert("disco".to_owned());
        // mod_disco's `server/im` identity belongs to VirtualHosts only.
        h.identities
            .retain(|(c, t, _)| !(c == "server" && t == "im"));
    }
}

/// The XEP-0128 form with `max-file-size` that disco#info carries.
pub fn disco_form(size_limit: u64) -> Element {
    let d = ns::DATA_FORMS;
    Element::new("x", d)
        .with_attr("type", "result")
        .with_child(
            Element::new("field", d)
                .with_attr("type", "hidden")
                .with_attr("var", "FORM_TYPE")
                .with_child(Element::new("value", d).with_text(NS)),
        )
        .with_child(
            Element::new("field", d)
                .with_attr("type", "text-single")
                .with_attr("var", "max-file-size")
                .with_child(Element::new("value", d).with_text(size_limit.to_string())),
        )
}

/// Checks and records one slot request off the core thread; the reply comes back to the
/// core as a task.
fn request_slot(
    core: &Core,
    origin: Origin,
    stanza: Element,
    settings: Arc<Settings>,
    total: Total,
) {
    let shared = core.shared.clone();
    let sql = shared.store.driver_name(&settings.host, store::UPLOADS) == "sql";
    core.shared
        .store_exec
        .run(store_key(&settings.host), move |store| {
            let reply = issue(store, &stanza, &settings, &total, sql, now());
            let task = CoreTask(Box::new(move |core: &mut Core| core.reply(&origin, reply)));
            let _ = shared.core_tx.send(CoreMsg::Task(task));
        });
}

/// The reply to one slot request at time `now` (blocking: storage).
pub fn issue(
    store: &crate::storage::Storage,
    stanza: &Element,
    settings: &Settings,
    total: &Total,
    sql: bool,
    now: i64,
) -> Element {
    let internal_error = |e: &dyn std::fmt::Display| {
        StanzaError::wait(StanzaCondition::InternalServerError)
            .with_text(e.to_string())
            .reply(stanza)
    };
    let Some(request) = stanza.get_child("request", NS) else {
        return StanzaError::modify(StanzaCondition::BadRequest).reply(stanza);
    };
    let uploader = stanza
        .attr("from")
        .map(|f| f.split('/').next().unwrap_or(f).to_owned())
        .unwrap_or_default();
    let ask = slot::Ask::from_request(request);
    let daily = match store::daily_usage(store, &settings.host, &uploader, now) {
        Ok(d) => d,
        Err(e) => return internal_error(&e),
    };
    let mut total = total.lock().unwrap_or_else(|p| p.into_inner());
    let usage = slot::Usage {
        total: *total,
        uploader_daily: daily,
    };
    let size = match slot::check(settings, &uploader, &ask, usage) {
        Ok(size) => size,
        Err(refusal) => return refusal.reply(stanza, settings),
    };
    let filename = ask.filename.unwrap_or_default();
    let slot_id = slot::new_slot_id(sql);
    if let Err(e) = store::append(store, &settings.host, &slot_id, request, now, &uploader) {
        return internal_error(&e);
    }
    *total += size;
    tracing::info!(host = %settings.host, %uploader, size, "issuing upload slot");
    let claims = token::Claims {
        sub: uploader,
        iat: now,
        exp: now + 300,
        slot: slot_id.clone(),
        expires: (settings.expires_after >= 0).then(|| now + settings.expires_after),
        filename: filename.clone(),
        filesize: size,
        filetype: ask.filetype,
    };
    let tok = token::sign(&settings.secret, &claims);
    let url = slot::slot_url(settings, &slot_id, &filename);
    slot::slot_reply(stanza, &url, &url, &tok)
}
