//! mod_time: XEP-0202 entity time and the legacy XEP-0090 `jabber:iq:time`, answered for
//! the host and for bare JIDs, always in UTC (reference §9.7).

use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::core::{Bus, Core};
use crate::modules::iq::result_for;
use crate::xml::Element;
use crate::xmpp::ns;

pub fn load(core: &mut Core, host: &str) {
    let bus = Bus::Host(host.to_owned());
    for kind in ["bare", "host"] {
        core.hook(
            &bus,
            &format!("iq-get/{kind}/{}:time", ns::TIME),
            0.0,
            Rc::new(|core, ev| {
                let reply = result_for(ev.stanza.as_ref()?).with_child(time_element(now_secs()));
                core.reply(&ev.origin, reply);
                Some(true)
            }),
        );
        core.hook(
            &bus,
            &format!("iq-get/{kind}/{}:query", ns::LEGACY_TIME),
            0.0,
            Rc::new(|core, ev| {
                let reply = result_for(ev.stanza.as_ref()?).with_child(legacy_element(now_secs()));
                core.reply(&ev.origin, reply);
                Some(true)
            }),
        );
    }
    if let Some(h) = core.hosts.get_mut(host) {
        h.features.insert(ns::TIME.to_owned());
        h.features.insert(ns::LEGACY_TIME.to_owned());
    }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `<time xmlns='urn:xmpp:time'><tzo>+00:00</tzo><utc>..Z</utc></time>`.
pub fn time_element(unix: i64) -> Element {
    Element::new("time", ns::TIME)
        .with_child(Element::new("tzo", ns::TIME).with_text("+00:00"))
        .with_child(Element::new("utc", ns::TIME).with_text(datetime(unix)))
}

/// `<query xmlns='jabber:iq:time'><utc>YYYYMMDDThh:mm:ss</utc></query>`.
pub fn legacy_element(unix: i64) -> Element {
    Element::new("query", ns::LEGACY_TIME)
        .with_child(Element::new("utc", ns::LEGACY_TIME).with_text(legacy(unix)))
}

/// (year, month, day, hour, minute, second) in UTC.
fn civil(unix: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Days to civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        (secs / 3600) as u32,
        (secs % 3600 / 60) as u32,
        (secs % 60) as u32,
    )
}

/// XEP-0082 `YYYY-MM-DDThh:mm:ssZ` (Prosody's `util.datetime.datetime`).
pub fn datetime(unix: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// XEP-0090's `YYYYMMDDThh:mm:ss` (`util.datetime.legacy`).
pub fn legacy(unix: i64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix);
    format!("{y:04}{mo:02}{d:02}T{h:02}:{mi:02}:{s:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_prosody_datetime_for_known_instants() {
        assert_eq!(datetime(0), "1970-01-01T00:00:00Z");
        assert_eq!(datetime(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(datetime(1_764_072_000), "2025-11-25T12:00:00Z");
        assert_eq!(legacy(1_764_072_001), "20251125T12:00:01");
    }
}
