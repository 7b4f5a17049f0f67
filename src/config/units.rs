//! Human-friendly quantities in option values: durations (`"30s"`, `"5 min"`) and byte
//! sizes (`"2MB"`, `"64 KiB"`). Prosody 0.12 reads plain numbers only; these string forms
//! are a Lilt convenience and a plain number always means seconds or bytes.

/// Seconds from a string like `30`, `"30s"`, `"5m"`, `"5 min"`, `"2h"`, `"1d"`, `"1w"`.
pub fn parse_duration(text: &str) -> Option<f64> {
    let (n, unit) = split_number(text)?;
    let scale = match unit.to_ascii_lowercase().as_str() {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "ms" => 0.001,
        "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
        "h" | "hour" | "hours" => 3600.0,
        "d" | "day" | "days" => 86400.0,
        "w" | "week" | "weeks" => 604800.0,
        _ => return None,
    };
    Some(n * scale)
}

/// Bytes from a string like `1024`, `"10kb"`, `"2 MB"`, `"64KiB"`, `"1g"`.
/// `k`/`m`/`g`/`t` are decimal (as in mod_limits); `KiB`/`MiB`/`GiB` are binary.
pub fn parse_bytes(text: &str) -> Option<u64> {
    let (n, unit) = split_number(text)?;
    let unit = unit.to_ascii_lowercase();
    let unit = unit.trim_end_matches("/s");
    let scale: f64 = match unit {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = n * scale;
    (bytes >= 0.0 && bytes.is_finite()).then_some(bytes as u64)
}

fn split_number(text: &str) -> Option<(f64, &str)> {
    let t = text.trim();
    let end = t
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_digit() || c == '.'))
        .map_or(t.len(), |(i, _)| i);
    let n: f64 = t[..end].parse().ok()?;
    Some((n, t[end..].trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_unit_suffixes() {
        assert_eq!(parse_duration("30"), Some(30.0));
        assert_eq!(parse_duration("5 min"), Some(300.0));
        assert_eq!(parse_duration("2h"), Some(7200.0));
        assert_eq!(parse_duration("soon"), None);
    }

    #[test]
    fn byte_sizes_are_decimal_for_kb_and_binary_for_kib() {
        assert_eq!(parse_bytes("10kb"), Some(10_000));
        assert_eq!(parse_bytes("64 KiB"), Some(65_536));
        assert_eq!(parse_bytes("2MB"), Some(2_000_000));
        assert_eq!(parse_bytes("10kb/s"), Some(10_000));
        assert_eq!(parse_bytes("lots"), None);
    }
}
