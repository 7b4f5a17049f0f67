//! Subscriptions and affiliations of a service's nodes (util.pubsub's
//! `add_subscription`, `remove_subscription`, `get_subscription(s)`, `set_affiliation`).

use super::{bare, Actor, Relations, Service, ServiceEvent, SubOptions};
use crate::modules::pubsub::error::PubsubError;

impl Service {
    pub fn set_affiliation(
        &mut self,
        node: &str,
        actor: Actor<'_>,
        jid: &str,
        affiliation: Option<&str>,
        rel: &dyn Relations,
    ) -> Result<(), PubsubError> {
        if !self.may(Some(node), actor, "set_affiliation", rel) {
            return Err(PubsubError::Forbidden);
        }
        let jid = bare(jid).to_owned();
        let obj = self.nodes.get_mut(node).ok_or(PubsubError::ItemNotFound)?;
        let old = match affiliation {
            Some(a) => obj.affiliations.insert(jid.clone(), a.to_owned()),
            None => obj.affiliations.remove(&jid),
        };
        if let Err(e) = self.save(node) {
            if let Some(obj) = self.nodes.get_mut(node) {
                match old {
                    Some(a) => obj.affiliations.insert(jid, a),
                    None => obj.affiliations.remove(&jid),
                };
            }
            return Err(e);
        }
        let subscribed = self
            .nodes
            .get(node)
            .is_some_and(|n| n.subscribers.contains_key(&jid));
        // As util.pubsub does: a subscriber that may no longer be subscribed is
        // "re-subscribed", which fails and so reports forbidden.
        let must_fix = if subscribed {
            !self.may(Some(node), Some(&jid), "be_subscribed", rel)
        } else {
            !self.may(Some(node), Some(&jid), "be_unsubscribed", rel)
        };
        if must_fix {
            self.add_subscription(node, None, &jid, None, rel)?;
        }
        Ok(())
    }

    pub fn add_subscription(
        &mut self,
        node: &str,
        actor: Actor<'_>,
        jid: &str,
        options: SubOptions,
        rel: &dyn Relations,
    ) -> Result<(), PubsubError> {
        let cap = match actor {
            Some(a) if bare(a) != bare(jid) => "subscribe_other",
            _ => "subscribe",
        };
        if !self.may(Some(node), actor, cap, rel)
            || !self.may(Some(node), Some(jid), "be_subscribed", rel)
        {
            return Err(PubsubError::Forbidden);
        }
        if !self.nodes.contains_key(node) {
            if !self.config.autocreate_on_subscribe {
                return Err(PubsubError::ItemNotFound);
            }
            self.create(node, None, None, rel)?;
        }
        let obj = self.nodes.get_mut(node).ok_or(PubsubError::ItemNotFound)?;
        let old = obj.subscribers.insert(jid.to_owned(), options.clone());
        if let Err(e) = self.save(node) {
            if let Some(obj) = self.nodes.get_mut(node) {
                match old {
                    Some(o) => obj.subscribers.insert(jid.to_owned(), o),
                    None => obj.subscribers.remove(jid),
                };
            }
            return Err(e);
        }
        self.event(ServiceEvent::SubscriptionAdded {
            node: node.to_owned(),
            jid: jid.to_owned(),
            options,
        });
        Ok(())
    }

    pub fn remove_subscription(
        &mut self,
        node: &str,
        actor: Actor<'_>,
        jid: &str,
        rel: &dyn Relations,
    ) -> Result<(), PubsubError> {
        let cap = match actor {
            Some(a) if bare(a) != bare(jid) => "unsubscribe_other",
            _ => "unsubscribe",
        };
        if !self.may(Some(node), actor, cap, rel)
            || !self.may(Some(node), Some(jid), "be_unsubscribed", rel)
        {
            return Err(PubsubError::Forbidden);
        }
        let obj = self.nodes.get_mut(node).ok_or(PubsubError::ItemNotFound)?;
        let Some(old) = obj.subscribers.remove(jid) else {
            return Err(PubsubError::NotSubscribed);
        };
        if let Err(e) = self.save(node) {
            if let Some(obj) = self.nodes.get_mut(node) {
                obj.subscribers.insert(jid.to_owned(), old);
            }
            return Err(e);
        }
        self.event(ServiceEvent::SubscriptionRemoved {
            node: node.to_owned(),
            jid: jid.to_owned(),
        });
        Ok(())
    }

    /// The subscription of exactly `jid` (`Ok(None)`: not subscribed).
    pub fn get_subscription(
        &self,
        node: &str,
        actor: Actor<'_>,
        jid: &str,
        rel: &dyn Relations,
    ) -> Result<Option<SubOptions>, PubsubError> {
        let cap = match actor {
            Some(a) if bare(a) != bare(jid) => "get_subscription_other",
            _ => "get_subscription",
        };
        if !self.may(Some(node), actor, cap, rel) {
            return Err(PubsubError::Forbidden);
        }
        let obj = self.nodes.get(node).ok_or(PubsubError::ItemNotFound)?;
        Ok(obj.subscribers.get(jid).cloned())
    }

    /// (node, jid) of the subscriptions of `jid`'s bare JID (all when `jid` is None),
    /// on `node` or on every node.
    pub fn get_subscriptions(
        &self,
        node: Option<&str>,
        actor: Actor<'_>,
        jid: Option<&str>,
        rel: &dyn Relations,
    ) -> Result<Vec<(String, String)>, PubsubError> {
        let cap = match (actor, jid) {
            (Some(a), Some(j)) if bare(a) == bare(j) => "get_subscriptions",
            (None, _) => "get_subscriptions",
            _ => "get_subscriptions_other",
        };
        if !self.may(node, actor, cap, rel) {
            return Err(PubsubError::Forbidden);
        }
        if let Some(n) = node {
            if !self.nodes.contains_key(n) {
                return Err(PubsubError::ItemNotFound);
            }
        }
        let mut out = Vec::new();
        for (name, obj) in &self.nodes {
            if node.is_some_and(|n| n != name) {
                continue;
            }
            for sub in obj.subscribers.keys() {
                if jid.is_none_or(|j| bare(j) == bare(sub)) {
                    out.push((name.clone(), sub.clone()));
                }
            }
        }
        Ok(out)
    }
}
