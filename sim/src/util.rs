//! Small helpers: Salesforce timestamps, URL decoding, query strings.

use std::time::{Duration, SystemTime};

/// Now, in Salesforce's wire format: `2026-11-27T06:53:03.000+0000`.
pub fn now_sf() -> String {
    format_sf(SystemTime::now())
}

/// A time in Salesforce's wire format, millisecond precision, UTC.
pub fn format_sf(t: SystemTime) -> String {
    let text = humantime::format_rfc3339_millis(t).to_string();
    match text.strip_suffix('Z') {
        Some(base) => format!("{base}+0000"),
        None => text,
    }
}

/// Now, or one millisecond after `previous` when the clock has not moved past it: a
/// record's modstamp changes on every write, even two writes within a millisecond.
pub fn now_after(previous: Option<&str>) -> String {
    let now = now_sf();
    let Some(previous) = previous else { return now };
    // Same fixed-width format: the text orders as the time does.
    if now.as_str() > previous {
        return now;
    }
    previous
        .strip_suffix("+0000")
        .and_then(|p| humantime::parse_rfc3339(&format!("{p}Z")).ok())
        .map(|p| format_sf(p + Duration::from_millis(1)))
        .unwrap_or(now)
}

/// A time `days` from now, in Salesforce's wire format.
pub fn days_from_now_sf(days: u64) -> String {
    format_sf(SystemTime::now() + Duration::from_secs(days * 86_400))
}

/// Milliseconds since the epoch, as OAuth's `issued_at` wants them.
pub fn epoch_millis() -> u128 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0)
}

/// Parses the datetime forms Salesforce accepts on write and answers the canonical form.
pub fn normalize_datetime(text: &str) -> Option<String> {
    // Date only: midnight UTC.
    if text.len() == 10 && normalize_date(text).is_some() {
        return Some(format!("{text}T00:00:00.000+0000"));
    }
    let mut t = text.trim().to_string();
    // +0000 / +00:00 / Z suffixes.
    if let Some(base) = t.strip_suffix("+0000") {
        t = format!("{base}Z");
    } else if let Some(base) = t.strip_suffix("+00:00") {
        t = format!("{base}Z");
    }
    if !t.ends_with('Z') {
        t.push('Z');
    }
    let parsed = humantime::parse_rfc3339_weak(t.trim_end_matches('Z')).ok()?;
    Some(format_sf(parsed))
}

/// Validates `YYYY-MM-DD`.
pub fn normalize_date(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| text.get(r).filter(|s| s.bytes().all(|b| b.is_ascii_digit()));
    let (_, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let m: u32 = m.parse().ok()?;
    let d: u32 = d.parse().ok()?;
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then(|| text.to_string())
}

/// Percent-decodes a URL component; `+` becomes a space when `plus_is_space`.
pub fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = text.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits `a=1&b=2` into decoded pairs, in order.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect()
}

/// The first value of `name` in decoded query pairs.
pub fn query_param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Escapes text for XML content.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_use_salesforce_format() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(format_sf(t), "2023-11-14T22:13:20.123+0000");
        let now = now_sf();
        assert_eq!(now.len(), "2026-11-27T06:53:03.000+0000".len());
        assert!(now.ends_with("+0000"));
    }

    #[test]
    fn datetimes_normalize() {
        assert_eq!(normalize_datetime("2024-01-02T03:04:05Z").as_deref(), Some("2024-01-02T03:04:05.000+0000"));
        assert_eq!(normalize_datetime("2024-01-02T03:04:05.000+0000").as_deref(), Some("2024-01-02T03:04:05.000+0000"));
        assert_eq!(normalize_datetime("2024-01-02").as_deref(), Some("2024-01-02T00:00:00.000+0000"));
        assert_eq!(normalize_datetime("yesterday"), None);
        assert_eq!(normalize_date("2024-13-01"), None);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("SELECT+Id%2CName+FROM+User", true), "SELECT Id,Name FROM User");
        assert_eq!(percent_decode("a+b", false), "a+b");
        assert_eq!(percent_decode("100%", true), "100%");
        assert_eq!(parse_query("q=SELECT%20Id&x"), vec![("q".into(), "SELECT Id".into()), ("x".into(), "".into())]);
    }
}
