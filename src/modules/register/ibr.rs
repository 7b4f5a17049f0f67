//! In-band registration before login (Prosody's mod_register_ibr, XEP-0077): the
//! `<register/>` stream feature and the `jabber:iq:register` get/set of an unauthenticated
//! stream. Sans-IO: [`pre_auth`] decides, and the c2s driver runs [`create_account`] (file
//! IO) off the async threads when it asks for an account.
//!
//! It runs where `register_ibr` is in the host's module set: `mod_register` brings it in
//! when `allow_registration = true` (see `core::server::host_modules`).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::core::shared::HostPolicy;
use crate::core::Shared;
use crate::modules::iq::result_for;
use crate::storage::error::SAVE_FAILED;
use crate::storage::lua_value::{LuaTable, LuaValue};
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::jid::nodeprep;
use crate::xmpp::ns;

/// The module name that turns pre-auth registration on for a host.
pub const MODULE: &str = "register_ibr";
/// Prosody's defaults for `registration_title` / `registration_instructions`.
pub const TITLE: &str = "Creating a new account";
pub const INSTRUCTIONS: &str = "Choose a username and password for use with this service.";

/// What to do with an unauthenticated `jabber:iq:register` IQ.
#[derive(Debug, PartialEq, Eq)]
pub enum PreAuth {
    /// Send this answer.
    Reply(Element),
    /// Create the account (then answer with [`creation_reply`]).
    Create { username: String, password: String },
}

/// Whether an unauthenticated stream gets the `<register/>` feature: registration is on
/// and the stream is encrypted or encryption is not required.
pub fn offers_feature(policy: &HostPolicy, secure: bool) -> bool {
    policy.modules.contains(MODULE) && (secure || !policy.require_encryption)
}

/// `<register xmlns='http://jabber.org/features/iq-register'/>`
pub fn feature() -> Element {
    Element::new("register", ns::REGISTER_FEATURE)
}

/// Whether `el` is an IQ for `jabber:iq:register` (what the c2s stream routes here).
pub fn is_register_iq(el: &Element) -> bool {
    el.name == "iq"
        && el.ns == ns::CLIENT
        && matches!(el.attr("type"), Some("get" | "set"))
        && el.get_child("query", ns::REGISTER).is_some()
}

/// The registration form (`get`).
pub fn registration_query() -> Element {
    let r = ns::REGISTER;
    let d = ns::DATA_FORMS;
    let field = |var: &str, typ: &str, label: Option<&str>, required: bool, value: Option<&str>| {
        let mut f = Element::new("field", d)
            .with_attr("type", typ)
            .with_attr("var", var);
        if let Some(l) = label {
            f.set_attr("label", l);
        }
        if required {
            f.push_child(Element::new("required", d));
        }
        if let Some(v) = value {
            f.push_child(Element::new("value", d).with_text(v));
        }
        f
    };
    let form = Element::new("x", d)
        .with_attr("type", "form")
        .with_child(Element::new("title", d).with_text(TITLE))
        .with_child(Element::new("instructions", d).with_text(INSTRUCTIONS))
        .with_child(field(
            "FORM_TYPE",
            "hidden",
            None,
            false,
            Some(ns::REGISTER),
        ))
        .with_child(field(
            "username",
            "text-single",
            Some("Username"),
            true,
            None,
        ))
        .with_child(field(
            "password",
            "text-private",
            Some("Password"),
            true,
            None,
        ));
    Element::new("query", r)
        .with_child(Element::new("instructions", r).with_text(INSTRUCTIONS))
        .with_child(Element::new("username", r))
        .with_child(Element::new("password", r))
        .with_child(form)
}

/// username and password from the legacy fields or a submitted data form.
fn submitted(query: &Element) -> (Option<String>, Option<String>) {
    if let Some(form) = query.get_child("x", ns::DATA_FORMS) {
        let value = |var: &str| {
            form.child_elements()
                .find(|f| f.name == "field" && f.attr("var") == Some(var))
                .and_then(|f| f.get_child("value", ns::DATA_FORMS))
                .map(Element::text)
        };
        return (value("username"), value("password"));
    }
    let text = |name: &str| query.get_child(name, ns::REGISTER).map(Element::text);
    (text("username"), text("password"))
}

/// Decides about one unauthenticated register IQ (Prosody's checks, in its order).
pub fn pre_auth(policy: &HostPolicy, secure: bool, iq: &Element) -> PreAuth {
    let err = |e: StanzaError| PreAuth::Reply(e.reply(iq));
    if !policy.modules.contains(MODULE) {
        return err(StanzaError::cancel(StanzaCondition::ServiceUnavailable));
    }
    if policy.require_encryption && !secure {
        return err(StanzaError::modify(StanzaCondition::PolicyViolation)
            .with_text("Encryption is required"));
    }
    let Some(query) = iq.get_child("query", ns::REGISTER) else {
        return err(StanzaError::modify(StanzaCondition::BadRequest));
    };
    if iq.attr("type") == Some("get") {
        return PreAuth::Reply(result_for(iq).with_child(registration_query()));
    }
    if query
        .child_elements()
        .next()
        .is_some_and(|c| c.name == "remove")
    {
        return err(StanzaError::auth(StanzaCondition::RegistrationRequired));
    }
    let (username, password) = submitted(query);
    let mut missing = Vec::new();
    if username.as_deref().unwrap_or("").is_empty() {
        missing.push("Username: Required value missing");
    }
    if password.as_deref().unwrap_or("").is_empty() {
        missing.push("Password: Required value missing");
    }
    if !missing.is_empty() {
        return err(
            StanzaError::modify(StanzaCondition::NotAcceptable).with_text(missing.join("\n"))
        );
    }
    match nodeprep(username.as_deref().unwrap_or("")) {
        Ok(u) if !u.is_empty() => PreAuth::Create {
            username: u,
            password: password.unwrap_or_default(),
        },
        _ => err(StanzaError::modify(StanzaCondition::NotAcceptable)
            .with_text("The requested username is invalid.")),
    }
}

/// Why an account was not created.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CreateError {
    #[error("The requested username already exists.")]
    Conflict,
    #[error("{0}")]
    Failed(String),
}

/// Creates the account and its `account_details` record (`{ registered = <time> }`, as
/// Prosody keeps it). Blocking: call it off the async threads.
pub fn create_account(
    shared: &Shared,
    host: &str,
    username: &str,
    password: &str,
) -> Result<(), CreateError> {
    use crate::modules::auth_internal_hashed::AccountError;
    let accounts = &shared.accounts;
    // A failed look-up (say a name too long for a file name) is "not there", as in
    // Prosody; creation then fails at the store and says so in Prosody's words.
    if accounts.exists(host, username).unwrap_or(false) {
        return Err(CreateError::Conflict);
    }
    match accounts.create(host, username, password) {
        Ok(()) => {}
        Err(AccountError::Exists) => return Err(CreateError::Conflict),
        Err(e) => {
            tracing::error!("Could not create the account {username}@{host}: {e}");
            return Err(CreateError::Failed(SAVE_FAILED.into()));
        }
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut details = LuaTable::new();
    details.set("registered", now);
    if let Err(e) = shared.store.set(
        host,
        Some(username),
        "account_details",
        Some(&LuaValue::Table(details)),
    ) {
        tracing::error!("Could not store account details of {username}@{host}: {e}");
        let _ = accounts.delete(host, username);
        return Err(CreateError::Failed("Failed to write data to disk.".into()));
    }
    tracing::info!("User account created: {username}@{host}");
    Ok(())
}

/// Creates the account and answers `iq`: what a c2s driver runs (off the async threads)
/// for `Action::Register`.
pub fn register(
    shared: &Shared,
    host: &str,
    username: &str,
    password: &str,
    iq: &Element,
) -> Element {
    creation_reply(iq, &create_account(shared, host, username, password))
}

/// The answer to the register IQ once [`create_account`] is done.
pub fn creation_reply(iq: &Element, result: &Result<(), CreateError>) -> Element {
    match result {
        Ok(()) => result_for(iq),
        Err(CreateError::Conflict) => StanzaError::cancel(StanzaCondition::Conflict)
            .with_text(CreateError::Conflict.to_string())
            .reply(iq),
        Err(CreateError::Failed(e)) if e == "Failed to write data to disk." => {
            StanzaError::wait(StanzaCondition::InternalServerError)
                .with_text(e.to_owned())
                .reply(iq)
        }
        Err(CreateError::Failed(e)) => StanzaError::cancel(StanzaCondition::FeatureNotImplemented)
            .with_text(e.to_owned())
            .reply(iq),
    }
}

/// [`register`] run off the async threads (account creation hashes the password and writes
/// files), for transport drivers.
pub async fn register_blocking(
    shared: std::sync::Arc<crate::core::Shared>,
    host: String,
    username: String,
    password: String,
    iq: Element,
) -> Element {
    let request = iq.clone();
    tokio::task::spawn_blocking(move || register(&shared, &host, &username, &password, &request))
        .await
        .unwrap_or_else(|_| StanzaError::wait(StanzaCondition::InternalServerError).reply(&iq))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn policy(modules: &[&str], require_encryption: bool) -> HostPolicy {
        HostPolicy {
            require_encryption,
            allow_unencrypted_plain_auth: true,
            insecure_mechanisms: BTreeSet::new(),
            disabled_mechanisms: BTreeSet::new(),
            password_hash: crate::xmpp::sasl::ScramHash::Sha1,
            conflict_resolve: "kick_old".into(),
            modules: modules.iter().map(|m| m.to_string()).collect(),
        }
    }

    fn iq(kind: &str, query: Element) -> Element {
        Element::new("iq", ns::CLIENT)
            .with_attr("type", kind)
            .with_attr("id", "r1")
            .with_child(query)
    }

    #[test]
    fn set_with_fields_asks_for_an_account_with_a_prepped_username() {
        let q = Element::new("query", ns::REGISTER)
            .with_child(Element::new("username", ns::REGISTER).with_text("Alice"))
            .with_child(Element::new("password", ns::REGISTER).with_text("pw"));
        let got = pre_auth(&policy(&["register", MODULE], false), false, &iq("set", q));
        assert_eq!(
            got,
            PreAuth::Create {
                username: "alice".into(),
                password: "pw".into()
            }
        );
    }

    #[test]
    fn unencrypted_stream_is_refused_when_encryption_is_required() {
        let p = policy(&[MODULE], true);
        assert!(!offers_feature(&p, false));
        assert!(offers_feature(&p, true));
        let PreAuth::Reply(r) =
            pre_auth(&p, false, &iq("get", Element::new("query", ns::REGISTER)))
        else {
            panic!("a reply");
        };
        assert!(r.to_xml().contains("policy-violation"), "{}", r.to_xml());
    }

    #[test]
    fn a_submitted_data_form_is_read_like_the_legacy_fields() {
        let d = ns::DATA_FORMS;
        let field = |var: &str, v: &str| {
            Element::new("field", d)
                .with_attr("var", var)
                .with_child(Element::new("value", d).with_text(v))
        };
        let form = Element::new("x", d)
            .with_attr("type", "submit")
            .with_child(field("FORM_TYPE", ns::REGISTER))
            .with_child(field("username", "eve"))
            .with_child(field("password", "pw2"));
        let q = Element::new("query", ns::REGISTER).with_child(form);
        let got = pre_auth(&policy(&[MODULE], false), false, &iq("set", q));
        assert_eq!(
            got,
            PreAuth::Create {
                username: "eve".into(),
                password: "pw2".into()
            }
        );
    }

    #[test]
    fn missing_password_is_not_acceptable() {
        let q = Element::new("query", ns::REGISTER)
            .with_child(Element::new("username", ns::REGISTER).with_text("bob"));
        let PreAuth::Reply(r) = pre_auth(&policy(&[MODULE], false), false, &iq("set", q)) else {
            panic!("a reply");
        };
        let xml = r.to_xml();
        assert!(
            xml.contains("not-acceptable") && xml.contains("Password: Required value missing"),
            "{xml}"
        );
    }
}
