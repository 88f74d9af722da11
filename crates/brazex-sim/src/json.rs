//! Hand-written, allocation-free JSON output into a `Vec<u8>`.
//!
//! The generator has to produce well over 100 MB/s of JSON on one core, so it
//! writes bytes directly instead of going through `format!`, `serde` or a
//! value tree. Everything here emits compact JSON (no whitespace), which is
//! what Braze's NDJSON looks like, and never a raw newline: control characters
//! in strings are always escaped, so one user is always exactly one line.

/// Appends `s` as a JSON string, escaping `"`, `\` and control characters.
/// Non-ASCII characters are written as raw UTF-8, as Braze does.
pub(crate) fn str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        // Fast path: the overwhelming majority of bytes need no escaping; copy
        // them in runs rather than one by one.
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        start = i + 1;
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => unicode_escape(out, u32::from(b)),
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Appends `s` as a JSON string in pure ASCII: every non-ASCII character is
/// written as a `\uXXXX` escape (a surrogate pair above U+FFFF).
///
/// Braze writes raw UTF-8, but other producers (and re-exports through other
/// tools) escape; readers must decode both, so the generator mixes them in.
pub(crate) fn str_ascii(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        let cp = u32::from(c);
        if cp >= 0x80 {
            let mut units = [0u16; 2];
            for &unit in c.encode_utf16(&mut units).iter() {
                unicode_escape(out, u32::from(unit));
            }
            continue;
        }
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            _ if cp < 0x20 => unicode_escape(out, cp),
            _ => out.push(cp as u8),
        }
    }
    out.push(b'"');
}

/// Appends `\uXXXX` (lowercase hex) for one UTF-16 code unit.
fn unicode_escape(out: &mut Vec<u8>, unit: u32) {
    out.extend_from_slice(b"\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX_LOWER[((unit >> shift) & 0xF) as usize]);
    }
}

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Appends the low `digits` hex digits of `v`, most significant first.
#[inline]
pub(crate) fn hex(out: &mut Vec<u8>, v: u64, digits: u32, upper: bool) {
    let table = if upper { HEX_UPPER } else { HEX_LOWER };
    for i in (0..digits).rev() {
        out.push(table[((v >> (i * 4)) & 0xF) as usize]);
    }
}

/// Appends a quoted UUID (8-4-4-4-12) built from 128 bits.
pub(crate) fn uuid(out: &mut Vec<u8>, hi: u64, lo: u64, upper: bool) {
    out.push(b'"');
    uuid_bare(out, hi, lo, upper);
    out.push(b'"');
}

/// Appends an unquoted UUID, for use inside a larger string.
pub(crate) fn uuid_bare(out: &mut Vec<u8>, hi: u64, lo: u64, upper: bool) {
    hex(out, hi >> 32, 8, upper);
    out.push(b'-');
    hex(out, hi >> 16, 4, upper);
    out.push(b'-');
    // Version 4 / variant 1 nibbles, so the ids look like real random UUIDs.
    out.push(b'4');
    hex(out, hi, 3, upper);
    out.push(b'-');
    out.push(if upper { HEX_UPPER } else { HEX_LOWER }[(8 | ((lo >> 60) & 3)) as usize]);
    hex(out, lo >> 48, 3, upper);
    out.push(b'-');
    hex(out, lo, 12, upper);
}

/// Appends the decimal digits of `v`.
#[inline]
pub(crate) fn u64(out: &mut Vec<u8>, mut v: u64) {
    // itoa by hand: digits are produced backwards into a stack buffer.
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends the decimal digits of `v`, with a leading `-` when negative.
#[inline]
pub(crate) fn i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    u64(out, v.unsigned_abs());
}

/// Appends `v` zero-padded to exactly `width` digits (`v < 10^width`).
#[inline]
fn padded(out: &mut Vec<u8>, mut v: u64, width: usize) {
    let mut buf = [b'0'; 20];
    for slot in buf[..width].iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.extend_from_slice(&buf[..width]);
}

/// Appends the fixed-point number `scaled / 10^decimals` (e.g. `1999, 2` →
/// `19.99`). Floats are generated as scaled integers so that output is exact
/// and identical on every platform, and cheap to format.
pub(crate) fn fixed(out: &mut Vec<u8>, scaled: i64, decimals: u32) {
    if scaled < 0 {
        out.push(b'-');
    }
    let abs = scaled.unsigned_abs();
    if decimals == 0 {
        u64(out, abs);
        return;
    }
    let pow = 10u64.pow(decimals);
    u64(out, abs / pow);
    out.push(b'.');
    padded(out, abs % pow, decimals as usize);
}

/// Appends `true` or `false`.
#[inline]
pub(crate) fn bool(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

/// Seconds per day.
pub(crate) const DAY: i64 = 86_400;

/// Calendar arithmetic, shared with the rest of brazex.
pub(crate) use brazex_core::civil::days_from_civil;

/// The calendar date of a day count since 1970-01-01 (inverse of
/// [`days_from_civil`]), with unsigned month and day for the writers below.
fn civil_from_days(days: i64) -> (i64, u64, u64) {
    let (y, m, d) = brazex_core::civil::civil_from_days(days);
    (y, m as u64, d as u64)
}

/// Appends `YYYY-MM-DD` (unquoted) for a day count since 1970-01-01.
fn date_bare(out: &mut Vec<u8>, days: i64) {
    let (y, m, d) = civil_from_days(days);
    padded(out, y.clamp(0, 9999) as u64, 4);
    out.push(b'-');
    padded(out, m, 2);
    out.push(b'-');
    padded(out, d, 2);
}

/// Appends a quoted `YYYY-MM-DD` date.
pub(crate) fn date(out: &mut Vec<u8>, days: i64) {
    out.push(b'"');
    date_bare(out, days);
    out.push(b'"');
}

/// Appends a quoted timestamp in Braze's form, `2024-03-01T10:00:00.000Z`,
/// for Unix seconds plus milliseconds.
pub(crate) fn timestamp(out: &mut Vec<u8>, secs: i64, millis: u64) {
    out.push(b'"');
    date_bare(out, secs.div_euclid(DAY));
    let sod = secs.rem_euclid(DAY) as u64;
    out.push(b'T');
    padded(out, sod / 3600, 2);
    out.push(b':');
    padded(out, sod / 60 % 60, 2);
    out.push(b':');
    padded(out, sod % 60, 2);
    out.push(b'.');
    padded(out, millis % 1000, 3);
    out.extend_from_slice(b"Z\"");
}

/// Writes the members of one JSON object, placing the commas.
pub(crate) struct Obj<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> Obj<'a> {
    /// Writes `{` and starts an object.
    #[inline]
    pub(crate) fn open(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Obj { out, empty: true }
    }

    /// Writes `"key":` (plus a comma before it when needed) and returns the
    /// buffer for the value. `key` must need no escaping (all generated keys
    /// are static identifiers); use [`Obj::key_escaped`] otherwise.
    #[inline]
    pub(crate) fn key(&mut self, key: &str) -> &mut Vec<u8> {
        debug_assert!(key.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\'));
        self.comma();
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    /// Like [`Obj::key`] for a key of arbitrary content.
    pub(crate) fn key_escaped(&mut self, key: &str) -> &mut Vec<u8> {
        self.comma();
        str(self.out, key);
        self.out.push(b':');
        self.out
    }

    #[inline]
    fn comma(&mut self) {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
    }

    /// Writes `}`.
    #[inline]
    pub(crate) fn close(self) {
        self.out.push(b'}');
    }
}

/// Writes the elements of one JSON array, placing the commas.
pub(crate) struct Arr<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> Arr<'a> {
    /// Writes `[` and starts an array.
    #[inline]
    pub(crate) fn open(out: &'a mut Vec<u8>) -> Self {
        out.push(b'[');
        Arr { out, empty: true }
    }

    /// Writes a comma when needed and returns the buffer for the next element.
    #[inline]
    pub(crate) fn item(&mut self) -> &mut Vec<u8> {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out
    }

    /// Writes `]`.
    #[inline]
    pub(crate) fn close(self) {
        self.out.push(b']');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        f(&mut v);
        String::from_utf8(v).expect("utf8")
    }

    #[test]
    fn escapes_strings() {
        assert_eq!(
            s(|o| str(o, "a\"b\\c\nd\te\u{1}é")),
            r#""a\"b\\c\nd\te\u0001é""#
        );
        assert_eq!(s(|o| str_ascii(o, "é😀\"")), r#""\u00e9\ud83d\ude00\"""#);
        let round: String =
            serde_json::from_str(&s(|o| str_ascii(o, "Zoë 🎉 \u{7}\r"))).expect("parse");
        assert_eq!(round, "Zoë 🎉 \u{7}\r");
    }

    #[test]
    fn numbers() {
        assert_eq!(s(|o| u64(o, 0)), "0");
        assert_eq!(s(|o| u64(o, u64::MAX)), "18446744073709551615");
        assert_eq!(s(|o| i64(o, i64::MIN)), "-9223372036854775808");
        assert_eq!(s(|o| fixed(o, 1999, 2)), "19.99");
        assert_eq!(s(|o| fixed(o, -5, 6)), "-0.000005");
        assert_eq!(s(|o| fixed(o, 42, 0)), "42");
    }

    #[test]
    fn dates_and_timestamps() {
        let d = days_from_civil(2024, 3, 1);
        assert_eq!(s(|o| date(o, d)), "\"2024-03-01\"");
        assert_eq!(
            s(|o| timestamp(o, d * DAY + 10 * 3600 + 5, 7)),
            "\"2024-03-01T10:00:05.007Z\""
        );
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(
            s(|o| date(o, days_from_civil(2000, 2, 29))),
            "\"2000-02-29\""
        );
        assert_eq!(
            s(|o| date(o, days_from_civil(1969, 12, 31))),
            "\"1969-12-31\""
        );
        // Every day of a range round-trips.
        for day in days_from_civil(1930, 1, 1)..days_from_civil(2030, 1, 1) {
            let (y, m, dd) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m as i64, dd as i64), day);
        }
    }

    #[test]
    fn uuids_have_the_right_shape() {
        let u = s(|o| uuid(o, 0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210, false));
        assert_eq!(u, "\"01234567-89ab-4def-bedc-ba9876543210\"");
    }

    #[test]
    fn objects_and_arrays() {
        let out = s(|o| {
            let mut obj = Obj::open(o);
            u64(obj.key("a"), 1);
            {
                let mut arr = Arr::open(obj.key("b"));
                bool(arr.item(), true);
                bool(arr.item(), false);
                arr.close();
            }
            str(obj.key_escaped("c\"d"), "x");
            obj.close();
        });
        assert_eq!(out, r#"{"a":1,"b":[true,false],"c\"d":"x"}"#);
    }
}
