//! XEP-0082 timestamps as Prosody's `util.datetime` writes them (`!%Y-%m-%dT%H:%M:%SZ`,
//! whole seconds, UTC) and reads them back.

/// `YYYY-MM-DDThh:mm:ssZ` for a Unix time (fractions are dropped, as `os.date` does).
pub fn datetime(unix: f64) -> String {
    let secs = unix.floor() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Parses `YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]` to Unix seconds.
pub fn parse(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.') {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "" | "Z" => 0,
        tz => {
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            let oh: i64 = tz.get(1..3)?.parse().ok()?;
            let om: i64 = tz.get(4..6).and_then(|m| m.parse().ok()).unwrap_or(0);
            sign * (oh * 3600 + om * 60)
        }
    };
    let days = days_from_civil(y, mo, d);
    Some((days * 86_400 + h * 3600 + mi * 60 + se - offset) as f64)
}

// Howard Hinnant's civil calendar algorithms.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_prosody_fixture() {
        assert_eq!(datetime(1_700_000_000.25), "2023-11-14T22:13:20Z");
        assert_eq!(datetime(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(datetime(951_782_400.0), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn parses_back_with_fraction_and_offset() {
        assert_eq!(parse("2023-11-14T22:13:20Z"), Some(1_700_000_000.0));
        assert_eq!(parse("2023-11-14T22:13:20.123Z"), Some(1_700_000_000.0));
        assert_eq!(parse("2023-11-14T23:13:20+01:00"), Some(1_700_000_000.0));
        assert_eq!(parse("nonsense"), None);
    }
}
