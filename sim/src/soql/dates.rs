//! Date and dateTime literals: `2024-01-31`, `2024-01-31T10:00:00Z`, `…+02:00`, and the
//! stored forms (`2024-01-31`, `2024-01-31T10:00:00.000+0000`).

/// A date or dateTime literal: days, or seconds, since 1970-01-01 UTC. The lexer
/// turns it into its token; this module knows no tokens, so it stays below the lexer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateLiteral {
    Date(i64),
    DateTime(i64),
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn digits(s: &[u8], n: usize) -> Option<i64> {
    if s.len() < n || !s[..n].iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(&s[..n]).ok()?.parse().ok()
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `YYYY-MM-DD` at the start of `s`: (days, length).
fn date_prefix(s: &[u8]) -> Option<(i64, usize)> {
    let y = digits(s, 4)?;
    if s.get(4) != Some(&b'-') || s.get(7) != Some(&b'-') {
        return None;
    }
    let m = digits(&s[5..], 2)?;
    let d = digits(&s[8..], 2)?;
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some((days_from_civil(y, m, d), 10))
}

/// `THH:MM:SS[.fff](Z|±HH:MM|±HHMM)` at the start of `s`: (seconds, length).
fn time_suffix(s: &[u8]) -> Option<(i64, usize)> {
    if s.first() != Some(&b'T') {
        return None;
    }
    let h = digits(&s[1..], 2)?;
    let mi = s.get(3).filter(|c| **c == b':').and_then(|_| digits(&s[4..], 2))?;
    let se = s.get(6).filter(|c| **c == b':').and_then(|_| digits(&s[7..], 2))?;
    if h > 23 || mi > 59 || se > 59 {
        return None;
    }
    let mut i = 9;
    if s.get(i) == Some(&b'.') {
        i += 1;
        while s.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    let offset = match s.get(i) {
        Some(b'Z') => {
            i += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            let sign = if *sign == b'-' { -1 } else { 1 };
            let oh = digits(&s[i + 1..], 2)?;
            let (om, len) =
                if s.get(i + 3) == Some(&b':') { (digits(&s[i + 4..], 2)?, 6) } else { (digits(&s[i + 3..], 2)?, 5) };
            i += len;
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    Some((h * 3600 + mi * 60 + se - offset, i))
}

/// A date or dateTime literal at the start of `rest`: (length, token).
pub(crate) fn lex_date_literal(rest: &str) -> Option<(usize, DateLiteral)> {
    let s = rest.as_bytes();
    let (days, len) = date_prefix(s)?;
    // A literal must not run into more identifier characters (`2024-01-01x`).
    let ends_clean = |at: usize| !s.get(at).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_');
    if let Some((secs, tlen)) = time_suffix(&s[len..]) {
        if ends_clean(len + tlen) {
            return Some((len + tlen, DateLiteral::DateTime(days * 86_400 + secs)));
        }
        return None;
    }
    ends_clean(len).then_some((len, DateLiteral::Date(days)))
}

/// A stored date value (`2024-01-31`, or the date part of a dateTime) as days.
pub(crate) fn parse_date(value: &str) -> Option<i64> {
    let s = value.as_bytes();
    let (days, len) = date_prefix(s)?;
    (len == s.len() || s.get(len) == Some(&b'T')).then_some(days)
}

/// A stored dateTime value as seconds since the epoch (a bare date reads as midnight UTC).
pub(crate) fn parse_datetime(value: &str) -> Option<i64> {
    let s = value.as_bytes();
    let (days, len) = date_prefix(s)?;
    if len == s.len() {
        return Some(days * 86_400);
    }
    let (secs, tlen) = time_suffix(&s[len..])?;
    (len + tlen == s.len()).then_some(days * 86_400 + secs)
}

/// Today, as days since the epoch (UTC).
pub(crate) fn today() -> i64 {
    let secs =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    secs.div_euclid(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2024, 2, 29) + 1, days_from_civil(2024, 3, 1));
    }

    #[test]
    fn literals() {
        assert_eq!(lex_date_literal("2024-01-02 x"), Some((10, DateLiteral::Date(days_from_civil(2024, 1, 2)))));
        let base = days_from_civil(2024, 1, 2) * 86_400;
        assert_eq!(lex_date_literal("2024-01-02T10:00:00Z"), Some((20, DateLiteral::DateTime(base + 36_000))));
        assert_eq!(lex_date_literal("2024-01-02T10:00:00+02:00"), Some((25, DateLiteral::DateTime(base + 28_800))));
        assert_eq!(lex_date_literal("2024-01-02T10:00:00.000-0100"), Some((28, DateLiteral::DateTime(base + 39_600))));
        assert_eq!(lex_date_literal("2024-02-30"), None);
        assert_eq!(lex_date_literal("2024-01-02T10:00:00"), None);
    }

    #[test]
    fn stored_values() {
        let base = days_from_civil(2011, 7, 7) * 86_400;
        assert_eq!(parse_datetime("2011-07-07T00:37:00.000+0000"), Some(base + 37 * 60));
        assert_eq!(parse_date("2011-07-07T00:37:00.000+0000"), Some(days_from_civil(2011, 7, 7)));
        assert_eq!(parse_date("2010-01-01"), Some(days_from_civil(2010, 1, 1)));
        assert_eq!(parse_date("nope"), None);
    }
}
