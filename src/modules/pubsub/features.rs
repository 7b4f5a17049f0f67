//! The `pubsub#…` feature set a service advertises on disco#info, shared by PEP and the
//! pubsub component.

use super::config;
use super::service::{Owner, Service};

/// The service's `pubsub#…` features, as pubsub.lib.lua's `get_feature_set` works them
/// out; a PEP service (an account's, or the one for missing accounts) adds mod_pep's.
pub fn features(s: &Service) -> Vec<String> {
    let mut f: Vec<&str> = vec![
        "subscribe",
        "subscription-options",
        "create-nodes",
        "instant-nodes",
        "item-ids",
        "create-and-configure",
        "delete-nodes",
        "retrieve-items",
        "retrieve-subscriptions",
        "retrieve-default",
        "publish",
        "multi-items",
        "publish-options",
        "purge-nodes",
        "delete-items",
        "retract-items",
        "config-node",
        "meta-data",
        "modify-affiliations",
        "outcast-affiliation",
        "member-affiliation",
        "publisher-affiliation",
        "config-node-max",
    ];
    if s.config.autocreate_on_publish {
        f.push("auto-create");
    }
    let defaults = s.effective(&config::ConfigMap::new());
    let model = defaults
        .get("access_model")
        .and_then(config::Value::as_str)
        .map(|m| format!("access-{m}"));
    let last = defaults
        .get("send_last_published_item")
        .and_then(config::Value::as_str)
        != Some("never");
    if last {
        f.push("last-published");
    }
    if !matches!(s.config.owner, Owner::Nobody) {
        f.push("persistent-items");
    }
    if matches!(s.config.owner, Owner::Account(_) | Owner::Nobody) {
        f.extend([
            "auto-subscribe",
            "filtered-notifications",
            "last-published",
            "presence-notifications",
            "presence-subscribe",
        ]);
    }
    let mut out: Vec<String> = f.into_iter().map(str::to_owned).collect();
    out.extend(model);
    out.sort();
    out.dedup();
    out
}
