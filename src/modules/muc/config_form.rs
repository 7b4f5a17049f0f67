//! The room configuration form (reference §13.9): the fields Prosody 0.12 offers, in its
//! order and with its labels, and what a submitted form changes (with status codes).

use super::affiliation::{Affiliation, Role};
use super::broadcast::{status, Publish, MUC_USER};
use super::options::Options;
use super::outbox::Outbox;
use super::room::Room;
use crate::xml::Element;
use crate::xmpp::error::{StanzaCondition, StanzaError};
use crate::xmpp::ns;

pub const DATA: &str = "jabber:x:data";
pub const ROOMCONFIG: &str = "http://jabber.org/protocol/muc#roomconfig";
const VALIDATE: &str = "http://jabber.org/protocol/xdata-validate";
const ALLOW_MEMBER_INVITES: &str = "{http://prosody.im/protocol/muc}roomconfig_allowmemberinvites";

/// The FORM_TYPE of a data form.
pub fn form_type(form: &Element) -> Option<String> {
    values(form)
        .into_iter()
        .find(|(k, _)| k == "FORM_TYPE")
        .and_then(|(_, v)| v.into_iter().next())
}

/// (var, values) of every field of a submitted form, in order.
pub fn values(form: &Element) -> Vec<(String, Vec<String>)> {
    form.child_elements()
        .filter(|f| f.name == "field")
        .filter_map(|f| {
            let var = f.attr("var")?.to_owned();
            let vals = f
                .child_elements()
                .filter(|v| v.name == "value")
                .map(|v| v.text())
                .collect();
            Some((var, vals))
        })
        .collect()
}

/// A field builder for the forms this module sends.
pub struct Field(Element);

impl Field {
    pub fn new(var: Option<&str>, ftype: &str, label: Option<&str>) -> Field {
        let mut f = Element::new("field", DATA).with_attr("type", ftype);
        if let Some(v) = var {
            f.set_attr("var", v);
        }
        if let Some(l) = label {
            f.set_attr("label", l);
        }
        Field(f)
    }
    pub fn desc(mut self, d: &str) -> Field {
        self.0.push_child(Element::new("desc", DATA).with_text(d));
        self
    }
    pub fn datatype(mut self, t: &str) -> Field {
        self.0
            .push_child(Element::new("validate", VALIDATE).with_attr("datatype", t));
        self
    }
    pub fn value(mut self, v: &str) -> Field {
        self.0.push_child(Element::new("value", DATA).with_text(v));
        self
    }
    /// Booleans as Prosody's dataforms writes them: nothing for nil.
    pub fn flag(self, v: Option<bool>) -> Field {
        match v {
            Some(true) => self.value("1"),
            Some(false) => self.value("0"),
            None => self,
        }
    }
    pub fn option(mut self, label: &str, value: &str) -> Field {
        let mut o = Element::new("option", DATA);
        if !label.is_empty() {
            o.set_attr("label", label);
        }
        self.0
            .push_child(o.with_child(Element::new("value", DATA).with_text(value)));
        self
    }
    pub fn done(self) -> Element {
        self.0
    }
}

fn fixed(text: &str) -> Element {
    Field::new(None, "fixed", None).value(text).done()
}

/// `Some(true)` or nil, as the `x and true or nil` setters store flags.
fn stored(b: bool) -> Option<bool> {
    b.then_some(true)
}

impl Room {
    /// The configuration form an owner gets (`get_form_layout`).
    pub fn config_form(&self, actor: &str, opts: &Options) -> Element {
        let c = &self.config;
        let admin = opts.is_admin(&super::bare(actor));
        let mut x = Element::new("x", DATA)
            .with_attr("type", "form")
            .with_child(
                Element::new("title", DATA).with_text(format!("Configuration for {}", self.jid)),
            )
            .with_child(
                Element::new("instructions", DATA)
                    .with_text("Complete and submit this form to configure the room."),
            )
            .with_child(
                Field::new(Some("FORM_TYPE"), "hidden", None)
                    .value(ROOMCONFIG)
                    .done(),
            )
            .with_child(fixed("Room information"));
        let mut name = Field::new(
            Some("muc#roomconfig_roomname"),
            "text-single",
            Some("Title"),
        );
        if let Some(n) = &c.name {
            name = name.value(n);
        }
        x.push_child(name.done());
        x.push_child(
            Field::new(
                Some("muc#roomconfig_roomdesc"),
                "text-single",
                Some("Description"),
            )
            .desc("A brief description of the room")
            .value(c.description.as_deref().unwrap_or(""))
            .done(),
        );
        x.push_child(
            Field::new(
                Some("muc#roomconfig_lang"),
                "text-single",
                Some("Language tag for room (e.g. 'en', 'de', 'fr' etc.)"),
            )
            .desc("Indicate the primary language spoken in this room")
            .datatype("xs:language")
            .value(c.language.as_deref().unwrap_or(""))
            .done(),
        );
        if opts.allow_persistent || admin {
            x.push_child(
                Field::new(
                    Some("muc#roomconfig_persistentroom"),
                    "boolean",
                    Some("Persistent (room should remain even when it is empty)"),
                )
                .desc("Rooms are automatically deleted when they are empty, unless this option is enabled")
                .flag(stored(c.persistent))
                .done(),
            );
        }
        if opts.allow_public || admin {
            x.push_child(
                Field::new(
                    Some("muc#roomconfig_publicroom"),
                    "boolean",
                    Some("Include room information in public lists"),
                )
                .desc("Enable this to allow people to find the room")
                .flag(Some(!c.hidden))
                .done(),
            );
        }
        x.push_child(fixed("Access to the room"));
        x.push_child(
            Field::new(
                Some("muc#roomconfig_roomsecret"),
                "text-private",
                Some("Password"),
            )
            .value(c.password.as_deref().unwrap_or(""))
            .done(),
        );
        x.push_child(
            Field::new(
                Some("muc#roomconfig_membersonly"),
                "boolean",
                Some("Only allow members to join"),
            )
            .desc("Enable this to only allow access for room owners, admins and members")
            .flag(stored(c.members_only))
            .done(),
        );
        x.push_child(
            Field::new(
                Some(ALLOW_MEMBER_INVITES),
                "boolean",
                Some("Allow members to invite new members"),
            )
            .flag(stored(c.allow_member_invites))
            .done(),
        );
        x.push_child(fixed("Permissions in the room"));
        x.push_child(
            Field::new(
                Some("muc#roomconfig_changesubject"),
                "boolean",
                Some("Allow anyone to set the room's subject"),
            )
            .desc("Choose whether anyone, or only moderators, may set the room's subject")
            .flag(stored(c.changesubject))
            .done(),
        );
        x.push_child(
            Field::new(
                Some("muc#roomconfig_moderatedroom"),
                "boolean",
                Some("Moderated (require permission to speak)"),
            )
            .desc("In moderated rooms occupants must be given permission to speak by a room moderator")
            .flag(stored(c.moderated))
            .done(),
        );
        x.push_child(
            Field::new(
                Some("muc#roomconfig_whois"),
                "list-single",
                Some("Addresses (JIDs) of room occupants may be viewed by:"),
            )
            .option("Moderators only", "moderators")
            .option("Anyone", "anyone")
            .value(if c.whois_anyone {
                "anyone"
            } else {
                "moderators"
            })
            .done(),
        );
        x.push_child(fixed("Other options"));
        x.push_child(
            Field::new(
                Some("muc#roomconfig_historylength"),
                "text-single",
                Some("Maximum number of history messages returned by room"),
            )
            .desc("Specify the maximum number of previous messages that should be sent to users when they join the room")
            .datatype("xs:integer")
            .value(&c.history_length(opts).to_string())
            .done(),
        );
        x.push_child(
            Field::new(
                Some("muc#roomconfig_defaulthistorymessages"),
                "text-single",
                Some("Default number of history messages returned by room"),
            )
            .desc(
                "Specify the number of previous messages sent to new users when they join the room",
            )
            .datatype("xs:integer")
            .value(
                &c.default_history_messages
                    .unwrap_or(super::room::DEFAULT_HISTORY_LENGTH)
                    .to_string(),
            )
            .done(),
        );
        let mut pb = Field::new(
            Some("muc#roomconfig_presencebroadcast"),
            "list-multi",
            Some("Only show participants with roles:"),
        );
        for r in Role::ALL {
            pb = pb.option(r.as_str(), r.as_str());
        }
        for r in Role::ALL {
            if c.broadcasts(r) {
                pb = pb.value(r.as_str());
            }
        }
        x.push_child(pb.done());
        if opts.mam.as_ref().is_some_and(|m| !m.all_rooms) {
            x.push_child(
                Field::new(
                    Some(super::mam::FORM_FIELD),
                    "boolean",
                    Some("Enable archiving?"),
                )
                .flag(Some(self.archiving(opts)))
                .done(),
            );
        }
        x
    }

    /// A room turned members-only: unaffiliated occupants are removed with 322.
    pub fn remove_non_members(&mut self, opts: &Options, out: &mut Outbox) {
        let kicked: Vec<_> = self
            .occupants
            .iter()
            .filter(|o| self.affiliation(&o.bare_jid, opts) <= Affiliation::None)
            .cloned()
            .collect();
        for mut occ in kicked {
            occ.role = Role::None;
            self.remove_occupant(&occ.nick);
            // Prosody announces these without the previous role: only the removed
            // occupant hears of it.
            let publish = Publish {
                base: vec![status(322)],
                ..Publish::default()
            };
            self.publicise(&occ, &publish, opts, out);
        }
    }

    /// A submitted `muc#owner` form. Returns the error to answer with, if any; on success
    /// the room's status-code message (if anything changed) is in `out`.
    pub fn process_form(
        &mut self,
        form: &Element,
        actor: &str,
        opts: &Options,
        out: &mut Outbox,
    ) -> Result<Option<Element>, StanzaError> {
        match form.attr("type") {
            Some("cancel") => return Ok(None),
            Some("submit") => {}
            _ => {
                return Err(StanzaError::cancel(StanzaCondition::BadRequest)
                    .with_text("Not a submitted form"))
            }
        }
        let fields = values(form);
        if !fields.is_empty() && form_type(form).as_deref() != Some(ROOMCONFIG) {
            return Err(StanzaError::cancel(StanzaCondition::BadRequest)
                .with_text("Form is not of type room configuration"));
        }
        let admin = opts.is_admin(&super::bare(actor));
        let mut codes: Vec<u16> = Vec::new();
        let mut changed = false;
        let mut members_only_on = false;
        let mut broadcast_change = None;
        for (var, vals) in &fields {
            let one = vals.first().map(String::as_str);
            let text = one.unwrap_or("");
            let flag = match one {
                Some("1" | "true") => Some(true),
                Some("0" | "false") => Some(false),
                _ => None,
            };
            let c = &mut self.config;
            let set_flag = |slot: &mut bool| {
                if let Some(v) = flag {
                    if *slot != v {
                        *slot = v;
                        return true;
                    }
                }
                false
            };
            match var.as_str() {
                "muc#roomconfig_roomname" => {
                    let v = (!text.is_empty()).then(|| text.to_owned());
                    if c.name != v {
                        c.name = v;
                        changed = true;
                    }
                }
                "muc#roomconfig_roomdesc" => {
                    let v = (!text.is_empty()).then(|| text.to_owned());
                    if c.description != v {
                        c.description = v;
                        changed = true;
                    }
                }
                "muc#roomconfig_lang" => {
                    let v = (!text.is_empty()).then(|| text.to_owned());
                    if c.language != v {
                        c.language = v;
                        changed = true;
                    }
                }
                "muc#roomconfig_persistentroom" if opts.allow_persistent || admin => {
                    changed |= set_flag(&mut c.persistent);
                }
                "muc#roomconfig_publicroom" if opts.allow_public || admin => {
                    if let Some(public) = flag {
                        if c.hidden == public {
                            c.hidden = !public;
                            changed = true;
                        }
                    }
                }
                "muc#roomconfig_roomsecret" => {
                    let v = (!text.is_empty()).then(|| text.to_owned());
                    if c.password != v {
                        c.password = v;
                        changed = true;
                    }
                }
                "muc#roomconfig_membersonly" if set_flag(&mut c.members_only) => {
                    changed = true;
                    members_only_on = c.members_only;
                }
                ALLOW_MEMBER_INVITES => changed |= set_flag(&mut c.allow_member_invites),
                "muc#roomconfig_changesubject" => changed |= set_flag(&mut c.changesubject),
                "muc#roomconfig_moderatedroom" => changed |= set_flag(&mut c.moderated),
                "muc#roomconfig_whois" => {
                    let anyone = match text {
                        "anyone" => Some(true),
                        "moderators" => Some(false),
                        _ => None,
                    };
                    if let Some(a) = anyone.filter(|a| *a != c.whois_anyone) {
                        c.whois_anyone = a;
                        codes.push(if a { 172 } else { 173 });
                    }
                }
                super::mam::FORM_FIELD if opts.mam.as_ref().is_some_and(|m| !m.all_rooms) => {
                    // mod_muc_mam's own hook: no 104, always 170 or 171.
                    let on = flag.unwrap_or(false);
                    c.archiving = Some(on);
                    codes.push(if on { 170 } else { 171 });
                }
                "muc#roomconfig_historylength" => {
                    if let Ok(n) = text.trim().parse::<u32>() {
                        c.history_length = (n != super::room::DEFAULT_HISTORY_LENGTH).then_some(n);
                    }
                    // Prosody's setter always reports a change.
                    changed = true;
                }
                "muc#roomconfig_defaulthistorymessages" => {
                    let max = c
                        .history_length
                        .unwrap_or(super::room::DEFAULT_HISTORY_LENGTH);
                    let n = text
                        .trim()
                        .parse::<u32>()
                        .unwrap_or(super::room::DEFAULT_HISTORY_LENGTH)
                        .min(max);
                    c.default_history_messages =
                        (n != super::room::DEFAULT_HISTORY_LENGTH).then_some(n);
                }
                "muc#roomconfig_presencebroadcast" => {
                    let mut set = [false; 4];
                    for v in vals {
                        if let Some(r) = Role::parse(v) {
                            set[r.rank() as usize] = true;
                        }
                    }
                    let old: [bool; 4] = Role::ALL.map(|r| c.broadcasts(r));
                    if old != set {
                        c.presence_broadcast = Some(set);
                        broadcast_change = Some(old);
                        changed = true;
                    }
                }
                _ => {}
            }
        }
        if self.config.locked.take().is_some() {
            self.events
                .push(super::room::MucEvent::new("muc-room-unlocked"));
        }
        self.events
            .push(super::room::MucEvent::new("muc-config-submitted"));
        // Before the owner's answer, as Prosody fires it.
        super::room::MucEvent::mark_own(&mut self.events, Some(out.len()));
        if members_only_on {
            self.remove_non_members(opts, out);
        }
        if let Some(old) = broadcast_change {
            for occ in self.occupants.clone() {
                let r = occ.role.rank() as usize;
                let now_on = self.config.broadcasts(occ.role);
                if now_on && !old[r] {
                    self.publicise(&occ, &Publish::default(), opts, out);
                } else if old[r] && !now_on {
                    let publish = Publish {
                        force_unavailable: true,
                        ..Publish::default()
                    };
                    self.publicise(&occ, &publish, opts, out);
                }
            }
        }
        if changed {
            codes.push(104);
        }
        if codes.is_empty() {
            return Ok(None);
        }
        let mut x = Element::new("x", MUC_USER);
        for c in codes {
            x.push_child(status(c));
        }
        Ok(Some(
            Element::new("message", ns::CLIENT)
                .with_attr("type", "groupchat")
                .with_attr("from", self.jid.as_str())
                .with_child(x),
        ))
    }
}
