//! Calendar arithmetic for Braze's dates and timestamps (`2024-03-01`,
//! `2024-03-01T10:00:00.000Z`): day counts since 1970-01-01 to proleptic Gregorian
//! dates and back (Howard Hinnant's algorithms), without a date-time crate. Shared by
//! `--where`'s `ago()`, the typed outputs, the bucket layout and the generator.

/// Days since 1970-01-01 of a date (month 1–12, day 1–31); `const` so that callers
/// can name fixed instants as constants.
pub const fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Year, month (1–12) and day (1–31) of a day count since 1970-01-01. The year is
/// shifted to start on March 1st so that the leap day is its last day.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146096
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of the shifted year
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD` of a day count since 1970-01-01.
pub fn format_date(days: i64) -> String {
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}")
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` (Braze's timestamp form) of milliseconds since the epoch.
pub fn format_timestamp_ms(ms: i64) -> String {
    let in_day = ms.rem_euclid(86_400_000);
    format!(
        "{}T{:02}:{:02}:{:02}.{:03}Z",
        format_date(ms.div_euclid(86_400_000)),
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1_000 % 60,
        in_day % 1_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_formats() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        for day in days_from_civil(1600, 1, 1)..days_from_civil(2100, 1, 1) {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        assert_eq!(format_date(days_from_civil(2000, 2, 29)), "2000-02-29");
        assert_eq!(format_timestamp_ms(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            format_timestamp_ms(951_868_800_000),
            "2000-03-01T00:00:00.000Z"
        );
    }
}
