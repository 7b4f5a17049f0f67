//! An occupant: one nick in a room, held by one bare JID from one or more sessions
//! (Prosody's `occupant.lib.lua`). The primary session's presence is what others see.

use super::affiliation::Role;
use crate::xml::Element;

#[derive(Debug, Clone)]
pub struct Occupant {
    /// The in-room JID, `room@service/nick`.
    pub nick: String,
    pub bare_jid: String,
    pub role: Role,
    /// Real full JID → that session's last presence (MUC `<x/>` removed, `from` = nick).
    pub sessions: Vec<(String, Element)>,
    /// The real JID whose presence is broadcast.
    pub primary: String,
}

impl Occupant {
    pub fn new(bare_jid: &str, nick: &str) -> Occupant {
        Occupant {
            nick: nick.to_owned(),
            bare_jid: bare_jid.to_owned(),
            role: Role::None,
            sessions: Vec::new(),
            primary: String::new(),
        }
    }

    /// The nick part of the in-room JID.
    pub fn nickname(&self) -> &str {
        self.nick.split_once('/').map_or("", |(_, n)| n)
    }

    pub fn presence(&self, real: &str) -> Option<&Element> {
        self.sessions
            .iter()
            .find(|(j, _)| j == real)
            .map(|(_, p)| p)
    }

    /// The primary session's presence.
    pub fn primary_presence(&self) -> Option<&Element> {
        self.presence(&self.primary)
    }

    pub fn has_session(&self, real: &str) -> bool {
        self.sessions.iter().any(|(j, _)| j == real)
    }

    /// Adds or replaces a session's presence; the first session becomes primary, and
    /// `make_primary` moves the primary to this one.
    pub fn set_session(&mut self, real: &str, presence: Element, make_primary: bool) {
        match self.sessions.iter_mut().find(|(j, _)| j == real) {
            Some(slot) => slot.1 = presence,
            None => self.sessions.push((real.to_owned(), presence)),
        }
        if make_primary || self.primary.is_empty() || !self.has_session(&self.primary) {
            self.primary = real.to_owned();
        }
    }

    /// Removes a session; the primary moves to a remaining one.
    pub fn remove_session(&mut self, real: &str) {
        self.sessions.retain(|(j, _)| j != real);
        if self.primary == real {
            self.primary = self
                .sessions
                .last()
                .map(|(j, _)| j.clone())
                .unwrap_or_default();
        }
    }

    pub fn real_jids(&self) -> impl Iterator<Item = &str> {
        self.sessions.iter().map(|(j, _)| j.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_primary_session_moves_when_it_leaves() {
        let mut o = Occupant::new("a@x", "r@m/A");
        o.set_session("a@x/1", Element::new("presence", "jabber:client"), false);
        o.set_session("a@x/2", Element::new("presence", "jabber:client"), false);
        assert_eq!(o.primary, "a@x/1");
        o.remove_session("a@x/1");
        assert_eq!(o.primary, "a@x/2");
        assert_eq!(o.nickname(), "A");
        o.remove_session("a@x/2");
        assert!(o.sessions.is_empty());
    }
}
