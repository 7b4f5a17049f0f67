//! Affiliations and roles (XEP-0045 §5) with Prosody's ranks, and the default role an
//! affiliation gets in a room (reference §13.3).

/// A long-lived relation of a bare JID (or a bare domain, for bans) to a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Affiliation {
    Outcast,
    None,
    Member,
    Admin,
    Owner,
}

impl Affiliation {
    /// Prosody's `valid_affiliations` rank: outcast −1 … owner 3.
    pub fn rank(self) -> i8 {
        match self {
            Affiliation::Outcast => -1,
            Affiliation::None => 0,
            Affiliation::Member => 1,
            Affiliation::Admin => 2,
            Affiliation::Owner => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Affiliation::Outcast => "outcast",
            Affiliation::None => "none",
            Affiliation::Member => "member",
            Affiliation::Admin => "admin",
            Affiliation::Owner => "owner",
        }
    }

    pub fn parse(s: &str) -> Option<Affiliation> {
        Some(match s {
            "outcast" => Affiliation::Outcast,
            "none" => Affiliation::None,
            "member" => Affiliation::Member,
            "admin" => Affiliation::Admin,
            "owner" => Affiliation::Owner,
            _ => return None,
        })
    }
}

/// A session-long relation of an occupant to a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    None,
    Visitor,
    Participant,
    Moderator,
}

impl Role {
    pub fn rank(self) -> i8 {
        match self {
            Role::None => 0,
            Role::Visitor => 1,
            Role::Participant => 2,
            Role::Moderator => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::None => "none",
            Role::Visitor => "visitor",
            Role::Participant => "participant",
            Role::Moderator => "moderator",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "none" => Role::None,
            "visitor" => Role::Visitor,
            "participant" => Role::Participant,
            "moderator" => Role::Moderator,
            _ => return None,
        })
    }

    pub const ALL: [Role; 4] = [
        Role::None,
        Role::Visitor,
        Role::Participant,
        Role::Moderator,
    ];
}

/// `muc-get-default-role` as the stock handlers answer it: owners and admins moderate,
/// outcasts get no role, and unaffiliated users are kept out of members-only rooms and
/// muted in moderated ones. `None` = may not be in the room.
pub fn default_role(aff: Affiliation, members_only: bool, moderated: bool) -> Option<Role> {
    match aff {
        Affiliation::Owner | Affiliation::Admin => Some(Role::Moderator),
        Affiliation::Member => Some(Role::Participant),
        Affiliation::None if members_only => None,
        Affiliation::None if moderated => Some(Role::Visitor),
        Affiliation::None => Some(Role::Participant),
        Affiliation::Outcast => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_order_like_prosody() {
        assert!(Affiliation::Outcast.rank() < Affiliation::None.rank());
        assert!(Affiliation::Admin < Affiliation::Owner);
        for a in ["outcast", "none", "member", "admin", "owner"] {
            assert_eq!(Affiliation::parse(a).map(Affiliation::as_str), Some(a));
        }
        assert_eq!(Role::parse("king"), None);
    }

    #[test]
    fn unaffiliated_users_are_kept_out_of_members_only_rooms_and_muted_in_moderated_ones() {
        assert_eq!(default_role(Affiliation::None, true, false), None);
        assert_eq!(
            default_role(Affiliation::None, false, true),
            Some(Role::Visitor)
        );
        assert_eq!(
            default_role(Affiliation::Member, true, true),
            Some(Role::Participant)
        );
        assert_eq!(
            default_role(Affiliation::Admin, false, false),
            Some(Role::Moderator)
        );
        assert_eq!(default_role(Affiliation::Outcast, false, false), None);
    }
}
