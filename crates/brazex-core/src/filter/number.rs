//! Exact comparison of numbers written as JSON text.
//!
//! Braze exports carry integers beyond 2^53 (ids, counters) and decimals; converting
//! them to `f64` would make `12345678901234567891 > 12345678901234567890` false. So
//! two numbers are compared from their text: sign, then decimal magnitude, then the
//! significant digits, without allocating and without any floating point.

use std::cmp::Ordering;

/// A number's text split into its parts: `-? int (. frac)? (e exp)?`.
#[derive(Debug, Clone, Copy)]
struct Parts<'a> {
    negative: bool,
    int: &'a [u8],
    frac: &'a [u8],
    exp: i64,
}

impl<'a> Parts<'a> {
    /// Splits validated number text (a JSON number, or a literal the lexer checked).
    fn split(text: &'a [u8]) -> Parts<'a> {
        let (negative, rest) = match text.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, text),
        };
        let int_len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let (int, rest) = rest.split_at(int_len);
        let (frac, rest) = match rest.split_first() {
            Some((b'.', rest)) => {
                let len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
                rest.split_at(len)
            }
            _ => (&rest[..0], rest),
        };
        let exp = match rest.split_first() {
            Some((b'e' | b'E', rest)) => parse_exponent(rest),
            _ => 0,
        };
        Parts {
            negative,
            int,
            frac,
            exp,
        }
    }

    /// The digits of `int` then `frac`, as one sequence.
    fn digit(&self, i: usize) -> Option<u8> {
        if i < self.int.len() {
            Some(self.int[i])
        } else {
            self.frac.get(i - self.int.len()).copied()
        }
    }

    fn len(&self) -> usize {
        self.int.len() + self.frac.len()
    }

    /// The index of the first non-zero digit, or `None` for zero.
    fn first_significant(&self) -> Option<usize> {
        (0..self.len()).find(|&i| self.digit(i).is_some_and(|d| d != b'0'))
    }
}

/// The exponent's value, saturating: an exponent beyond ±10^15 is not a number any
/// export holds, and saturating keeps the magnitude arithmetic from overflowing.
fn parse_exponent(text: &[u8]) -> i64 {
    const LIMIT: i64 = 1_000_000_000_000_000;
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let mut value: i64 = 0;
    for &d in digits {
        value = (value * 10 + i64::from(d - b'0')).min(LIMIT);
    }
    if negative {
        -value
    } else {
        value
    }
}

/// Compares two numbers given as JSON number text.
pub(crate) fn compare(a: &[u8], b: &[u8]) -> Ordering {
    let a = Parts::split(a);
    let b = Parts::split(b);
    let a_first = a.first_significant();
    let b_first = b.first_significant();
    // Zero has no sign: -0 == 0.
    let (a_first, b_first) = match (a_first, b_first) {
        (None, None) => return Ordering::Equal,
        (None, Some(_)) => {
            return if b.negative {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Some(_), None) => {
            return if a.negative {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (Some(a_first), Some(b_first)) => (a_first, b_first),
    };
    match (a.negative, b.negative) {
        (false, true) => return Ordering::Greater,
        (true, false) => return Ordering::Less,
        _ => {}
    }
    let magnitude = compare_magnitude(&a, a_first, &b, b_first);
    if a.negative {
        magnitude.reverse()
    } else {
        magnitude
    }
}

/// Compares |a| and |b|, both non-zero.
fn compare_magnitude(a: &Parts<'_>, a_first: usize, b: &Parts<'_>, b_first: usize) -> Ordering {
    // The value is 0.DDDD × 10^scale, D starting at the first significant digit.
    let scale =
        |p: &Parts<'_>, first: usize| (p.int.len() as i64 - first as i64).saturating_add(p.exp);
    match scale(a, a_first).cmp(&scale(b, b_first)) {
        Ordering::Equal => {}
        other => return other,
    }
    // Same scale: compare the significant digits, the shorter padded with zeros.
    let (mut i, mut j) = (a_first, b_first);
    loop {
        match (a.digit(i), b.digit(j)) {
            (None, None) => return Ordering::Equal,
            (x, y) => {
                let x = x.unwrap_or(b'0');
                let y = y.unwrap_or(b'0');
                match x.cmp(&y) {
                    Ordering::Equal => {}
                    other => return other,
                }
            }
        }
        i += 1;
        j += 1;
    }
}

/// True when `text` is a number as the filter language writes it:
/// `-? digits (. digits)? ([eE] [+-]? digits)?` (JSON, leading zeros allowed).
/// Returns the length of the longest such prefix, or `Err(pos)` at the first
/// character that breaks a started part (`1.`, `1e`).
pub(crate) fn scan(text: &[u8]) -> Result<usize, usize> {
    let mut i = 0;
    if text.first() == Some(&b'-') {
        i += 1;
    }
    let digits = |from: usize| {
        text[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let n = digits(i);
    if n == 0 {
        return Err(i);
    }
    i += n;
    if text.get(i) == Some(&b'.') {
        let n = digits(i + 1);
        if n == 0 {
            return Err(i + 1);
        }
        i += 1 + n;
    }
    if matches!(text.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(text.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let n = digits(j);
        if n == 0 {
            return Err(j);
        }
        i = j + n;
    }
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_numbers_compare_exactly() {
        use Ordering::*;
        let cases: &[(&str, &str, Ordering)] = &[
            ("12345678901234567891", "12345678901234567890", Greater),
            ("1.5e2", "150", Equal),
            ("150", "1.5E+2", Equal),
            ("1500e-1", "150.0", Equal),
            ("0", "-0", Equal),
            ("0.0", "0e10", Equal),
            ("-1", "0", Less),
            ("0", "-0.0001", Greater),
            ("-2", "-10", Greater),
            ("-10", "-2", Less),
            ("0.1", "0.10000", Equal),
            ("0.1", "0.09", Greater),
            ("9007199254740993", "9007199254740992", Greater),
            ("9007199254740993", "9007199254740993.0", Equal),
            ("1e400", "1e399", Greater),
            ("1e-400", "0", Greater),
            ("1e-400", "1e-399", Less),
            ("123.456", "123.4560001", Less),
            ("007", "7", Equal),
            ("10", "9.99999999999999999999999", Greater),
            ("-1.5", "-1.50", Equal),
            ("2", "10", Less),
        ];
        for &(a, b, want) in cases {
            assert_eq!(compare(a.as_bytes(), b.as_bytes()), want, "{a} vs {b}");
            assert_eq!(
                compare(b.as_bytes(), a.as_bytes()),
                want.reverse(),
                "{b} vs {a}"
            );
        }
    }

    #[test]
    fn filter_numbers_scan() {
        assert_eq!(scan(b"12 "), Ok(2));
        assert_eq!(scan(b"-1.5e-3)"), Ok(7));
        assert_eq!(scan(b"1."), Err(2));
        assert_eq!(scan(b"1e"), Err(2));
        assert_eq!(scan(b"1e+x"), Err(3));
        assert_eq!(scan(b"-x"), Err(1));
    }
}
