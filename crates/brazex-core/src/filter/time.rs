//! `ago(DURATION)`: the current UTC time minus a duration, as Braze writes timestamps.
//!
//! Braze timestamps are ISO 8601 in UTC with a fixed layout
//! (`2026-11-22T10:00:00.000Z`), so they order correctly as strings, and `ago` only has
//! to produce the same layout: then `created_at > ago(7d)` is a plain string comparison.
//! The civil date is computed here (days to year/month/day in the proleptic Gregorian
//! calendar) so as not to pull in a date library for one conversion.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds from the Unix epoch to 0001-01-01T00:00:00Z: the earliest time that
/// still has a four-digit year.
const EARLIEST_MS: i64 = -62_135_596_800_000;

/// Milliseconds since the Unix epoch (negative before it).
pub(crate) fn unix_millis(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

/// Parses a duration (`90s`, `15m`, `36h`, `7d`) into milliseconds.
/// `Err(i)` is the byte offset in `text` of what is wrong.
pub(crate) fn parse_duration(text: &str) -> Result<i64, usize> {
    let digits = text.bytes().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return Err(0);
    }
    let unit_ms: i64 = match text.as_bytes().get(digits) {
        Some(b's') => 1_000,
        Some(b'm') => 60_000,
        Some(b'h') => 3_600_000,
        Some(b'd') => 86_400_000,
        _ => return Err(digits),
    };
    if digits + 1 != text.len() {
        return Err(digits + 1);
    }
    text[..digits]
        .parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(unit_ms))
        .ok_or(0)
}

/// `now_ms - duration_ms` as a Braze timestamp, or `None` when that falls before the
/// year 1 (a duration no export can mean).
pub(crate) fn ago(now_ms: i64, duration_ms: i64) -> Option<String> {
    let t = now_ms.checked_sub(duration_ms)?;
    (t >= EARLIEST_MS).then(|| format_millis(t))
}

/// Formats milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub(crate) fn format_millis(ms: i64) -> String {
    crate::civil::format_timestamp_ms(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_time_formats_civil_dates() {
        let cases: &[(i64, &str)] = &[
            (0, "1970-01-01T00:00:00.000Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (951_868_799_999, "2000-02-29T23:59:59.999Z"),
            (951_868_800_000, "2000-03-01T00:00:00.000Z"),
            (1_700_000_000_123, "2023-11-14T22:13:20.123Z"),
            (4_107_542_400_000, "2100-03-01T00:00:00.000Z"),
            (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
            (EARLIEST_MS, "0001-01-01T00:00:00.000Z"),
        ];
        for &(ms, want) in cases {
            assert_eq!(format_millis(ms), want, "{ms}");
        }
    }

    #[test]
    fn filter_time_durations() {
        assert_eq!(parse_duration("90s"), Ok(90_000));
        assert_eq!(parse_duration("15m"), Ok(900_000));
        assert_eq!(parse_duration("36h"), Ok(129_600_000));
        assert_eq!(parse_duration("7d"), Ok(604_800_000));
        assert_eq!(parse_duration("0s"), Ok(0));
        assert_eq!(parse_duration("d"), Err(0));
        assert_eq!(parse_duration("7"), Err(1));
        assert_eq!(parse_duration("7w"), Err(1));
        assert_eq!(parse_duration("7dd"), Err(2));
        assert_eq!(parse_duration("99999999999999999999d"), Err(0));
        assert_eq!(
            ago(0, 86_400_000).as_deref(),
            Some("1969-12-31T00:00:00.000Z")
        );
        assert_eq!(ago(0, 1_000_000 * 86_400_000), None);
    }
}
