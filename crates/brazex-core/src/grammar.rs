//! The second half of validating a line, and the bracket table that comes with it.
//!
//! simd-json's first stage ([`simd_json::structural_indexes`]) has checked the line's
//! UTF-8, rejected unterminated strings and control characters inside strings, and
//! listed every structural: `{ } [ ] : ,`, each string's opening quote, and the first
//! byte of every other scalar (and of anything else that is neither white space nor
//! inside a string). [`check`] walks that list once: it checks the grammar between
//! the structurals and the text of every scalar (escapes, numbers, literals), and
//! pairs every bracket with its close, which is what [`crate::record`] needs to skip a
//! container in one step.
//!
//! This replaces simd-json's own second stage. That one builds a tape of decoded
//! values (strings unescaped into a buffer, numbers parsed) that brazex never used:
//! it walks the line itself, so that a value keeps its exact input text. The tape cost
//! about 7 % of the Parquet conversion's CPU, and the bracket table, built afterwards
//! in a pass of its own, another 2 %.
//!
//! What is accepted is what simd-json's second stage accepted (RFC 8259; lone
//! surrogates in `\u` escapes rejected; nesting at most [`MAX_DEPTH`] deep), except
//! that a number too large for an `f64` (`1e400`) is valid JSON here, as in
//! serde_json: the column it goes into says whether it fits.

/// The deepest nesting of objects and arrays accepted, as in simd-json (and simdjson).
pub const MAX_DEPTH: usize = 1024;

/// Where and why a line is not valid JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid {
    /// Byte offset in the line.
    pub offset: usize,
    pub what: &'static str,
}

/// Marks an object's entry on the bracket stack (the rest is its structural's index).
const OBJECT_FLAG: u32 = 1 << 31;

/// Checks `line`, whose structural index is `structurals`, and fills `closes`: for
/// every structural that opens an object or array, the index of the structural that
/// closes it. Other entries of `closes` are left as they were (never read); `stack`
/// is scratch space. Both keep their allocations from line to line. Says whether the
/// line has any escape (a backslash): without one, every string's text is its bytes.
///
/// Written as two loops, a value and what follows a value, rather than one state
/// machine over every structural: an object member is `"key" : value` and then `,` or
/// `}`, and checking the `"` and `:` where they must be is two branches that are
/// always taken the same way. The only jump that depends on the data is on the kind
/// of each value. (A state machine, table-driven or a `match` on state and byte, spent
/// most of its time in mispredicted jumps, at about twice the cost.)
pub fn check(
    line: &[u8],
    structurals: &[u32],
    closes: &mut Vec<u32>,
    stack: &mut Vec<u32>,
) -> Result<bool, Invalid> {
    if structurals.len() >= OBJECT_FLAG as usize {
        return Err(Invalid {
            offset: 0,
            what: "too many values in one line",
        });
    }
    if closes.len() < structurals.len() {
        closes.resize(structurals.len(), 0);
    }
    stack.clear();
    // The first byte of structural `n`; 0 past the last one.
    let byte = |n: usize| {
        structurals
            .get(n)
            .and_then(|&at| line.get(at as usize))
            .copied()
            .unwrap_or(0)
    };
    let invalid = |n: usize, what: &'static str| match structurals.get(n) {
        Some(&at) => Invalid {
            offset: at as usize,
            what,
        },
        None => Invalid {
            offset: line.len(),
            what: "the line ends inside a value",
        },
    };
    let mut n = 0;
    loop {
        // A value at `n`: a scalar, or the start of a container.
        match byte(n) {
            b'"' => n += 1,
            open @ (b'{' | b'[') => {
                if stack.len() >= MAX_DEPTH {
                    return Err(invalid(n, "objects and arrays nested too deep"));
                }
                let object = open == b'{';
                stack.push(n as u32 | if object { OBJECT_FLAG } else { 0 });
                n += 1;
                let empty = byte(n) == if object { b'}' } else { b']' };
                if !empty {
                    if object {
                        key(&byte, n).map_err(|what| invalid(n, what))?;
                        n += 2;
                    }
                    continue;
                }
                // `{}` or `[]`: a value, followed as any other.
                close(closes, stack, n);
                n += 1;
            }
            b't' | b'f' | b'n' | b'-' | b'0'..=b'9' => {
                let at = structurals.get(n).map_or(line.len(), |&at| at as usize);
                scalar(line, at, scalar_end(line, structurals, n))?;
                n += 1;
            }
            _ => return Err(invalid(n, "expected a value")),
        }
        // After a value: closes, until a comma leads to the next value, or the root
        // value is complete.
        loop {
            let Some(&open) = stack.last() else {
                if n < structurals.len() {
                    return Err(invalid(n, "trailing characters after the value"));
                }
                return escapes(line);
            };
            let in_object = open & OBJECT_FLAG != 0;
            match (byte(n), in_object) {
                (b',', true) => {
                    key(&byte, n + 1).map_err(|what| invalid(n + 1, what))?;
                    n += 3;
                    break;
                }
                (b',', false) => {
                    n += 1;
                    break;
                }
                (b'}', true) | (b']', false) => {
                    close(closes, stack, n);
                    n += 1;
                }
                (_, true) => return Err(invalid(n, "expected ',' or '}' after an object's value")),
                (_, false) => {
                    return Err(invalid(n, "expected ',' or ']' after an array's element"))
                }
            }
        }
    }
}

/// Checks that structural `n` is a key and `n + 1` its colon.
fn key(byte: &impl Fn(usize) -> u8, n: usize) -> Result<(), &'static str> {
    if byte(n) != b'"' {
        Err("expected a key (a string)")
    } else if byte(n + 1) != b':' {
        Err("expected ':' after a key")
    } else {
        Ok(())
    }
}

/// Pairs the close at structural `n` with the innermost open bracket.
fn close(closes: &mut [u32], stack: &mut Vec<u32>, n: usize) {
    if let Some(open) = stack.pop() {
        if let Some(slot) = closes.get_mut((open & !OBJECT_FLAG) as usize) {
            *slot = n as u32;
        }
    }
}

/// A number or literal from `start` to `end`.
fn scalar(line: &[u8], start: usize, end: usize) -> Result<(), Invalid> {
    match line.get(start) {
        Some(b't') => literal(line, start, end, b"true"),
        Some(b'f') => literal(line, start, end, b"false"),
        Some(b'n') => literal(line, start, end, b"null"),
        _ => number(line, start, end),
    }
}

/// JSON's white space (RFC 8259), which is narrower than `u8::is_ascii_whitespace`:
/// a form feed after a scalar must be an error, not trimmed.
fn is_json_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// The end of the scalar starting at structural `node`: the next structural (or the
/// end of the line), less the white space before it.
fn scalar_end(line: &[u8], structurals: &[u32], node: usize) -> usize {
    let mut end = structurals
        .get(node + 1)
        .map_or(line.len(), |&at| at as usize);
    while end > 0 && line.get(end - 1).copied().is_some_and(is_json_space) {
        end -= 1;
    }
    end
}

/// Checks every escape in the line. Every backslash of a valid line is inside a string
/// (anywhere else it is a character the grammar rejects), and the first backslash of
/// a string starts an escape, so checking escapes from the start of the line, each
/// starting after the one before, checks exactly the strings' escapes. Strings need no
/// other check: stage one paired their quotes and rejected control characters, and
/// anything but white space between a closing quote and the next structural would
/// itself be a structural. Says whether there was any.
fn escapes(line: &[u8]) -> Result<bool, Invalid> {
    let mut from = 0;
    let mut any = false;
    while let Some(found) = line
        .get(from..)
        .and_then(|rest| memchr::memchr(b'\\', rest))
    {
        from = escape(line, from + found)?;
        any = true;
    }
    Ok(any)
}

/// Checks the escape starting with the backslash at `at`; returns the position after it.
fn escape(line: &[u8], at: usize) -> Result<usize, Invalid> {
    let invalid = |what| Invalid { offset: at, what };
    match line.get(at + 1) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(at + 2),
        Some(b'u') => {
            let unit = hex4(line, at + 2).ok_or(invalid("invalid \\u escape"))?;
            match unit {
                0xD800..=0xDBFF => {
                    // A high surrogate must be followed by an escaped low one.
                    let low = (line.get(at + 6) == Some(&b'\\') && line.get(at + 7) == Some(&b'u'))
                        .then(|| hex4(line, at + 8))
                        .flatten();
                    match low {
                        Some(0xDC00..=0xDFFF) => Ok(at + 12),
                        _ => Err(invalid(
                            "a \\u escape of a high surrogate without its low one",
                        )),
                    }
                }
                0xDC00..=0xDFFF => Err(invalid("a \\u escape of a lone low surrogate")),
                _ => Ok(at + 6),
            }
        }
        _ => Err(invalid("invalid escape in a string")),
    }
}

/// The four hex digits at `at`, as a number.
fn hex4(line: &[u8], at: usize) -> Option<u32> {
    line.get(at..at + 4)?
        .iter()
        .try_fold(0u32, |value, &digit| {
            let nibble = (digit as char).to_digit(16)?;
            Some(value << 4 | nibble)
        })
}

/// A number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, nothing else.
fn number(line: &[u8], start: usize, end: usize) -> Result<(), Invalid> {
    let text = line.get(start..end).unwrap_or_default();
    let digits = |from: usize| {
        text.get(from..).map_or(0, |rest| {
            rest.iter().take_while(|b| b.is_ascii_digit()).count()
        })
    };
    let mut i = usize::from(text.first() == Some(&b'-'));
    match text.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i += digits(i),
        _ => return Err(bad_number(start)),
    }
    if text.get(i) == Some(&b'.') {
        let fraction = digits(i + 1);
        if fraction == 0 {
            return Err(bad_number(start));
        }
        i += 1 + fraction;
    }
    if matches!(text.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(text.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exponent = digits(i);
        if exponent == 0 {
            return Err(bad_number(start));
        }
        i += exponent;
    }
    if i == text.len() {
        Ok(())
    } else {
        Err(bad_number(start))
    }
}

fn bad_number(offset: usize) -> Invalid {
    Invalid {
        offset,
        what: "invalid number",
    }
}

fn literal(line: &[u8], start: usize, end: usize, word: &[u8]) -> Result<(), Invalid> {
    if line.get(start..end) == Some(word) {
        Ok(())
    } else {
        Err(Invalid {
            offset: start,
            what: "invalid literal (true, false or null expected)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(line: &[u8]) -> bool {
        let mut buffers = simd_json::Buffers::default();
        if simd_json::structural_indexes(line, &mut buffers).is_err() {
            return false;
        }
        check(
            line,
            buffers.structural_indexes(),
            &mut Vec::new(),
            &mut Vec::new(),
        )
        .is_ok()
    }

    /// Our second stage against serde_json on generated users and thousands of
    /// mutations of them (bytes deleted, inserted, replaced, spans repeated): both must
    /// accept or reject the same lines. The mutations use JSON's own characters, so
    /// most of them hit the grammar, escapes, numbers and literals rather than UTF-8.
    #[test]
    fn accepts_what_serde_json_accepts() {
        let users = brazex_sim::UserGenerator::new(brazex_sim::GeneratorConfig::new(7));
        let alphabet = br#"{}[]:,"\/ 0123456789-+.eEtrufalsnudD8"#;
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound.max(1) as u64) as usize
        };
        let (mut valid, mut invalid) = (0, 0);
        for index in 0..40 {
            let user = users.user_string(index).into_bytes();
            assert!(accepts(&user), "generated user {index}");
            for _ in 0..400 {
                let mut line = user.clone();
                for _ in 0..1 + next(3) {
                    let at = next(line.len());
                    match next(4) {
                        0 => {
                            line.remove(at);
                        }
                        1 => line.insert(at, alphabet[next(alphabet.len())]),
                        2 => line[at] = alphabet[next(alphabet.len())],
                        _ => {
                            let end = (at + 1 + next(12)).min(line.len());
                            let span = line[at..end].to_vec();
                            line.splice(at..at, span);
                        }
                    }
                }
                // serde_json does not check the UTF-8 of strings it ignores; stage one does.
                let serde = std::str::from_utf8(&line).is_ok()
                    && serde_json::from_slice::<serde::de::IgnoredAny>(&line).is_ok();
                assert_eq!(accepts(&line), serde, "{}", String::from_utf8_lossy(&line));
                if serde {
                    valid += 1;
                } else {
                    invalid += 1;
                }
            }
        }
        // Both outcomes were exercised.
        assert!(
            valid > 1000 && invalid > 1000,
            "{valid} valid, {invalid} invalid"
        );
    }

    #[test]
    fn numbers_follow_the_grammar() {
        for good in [
            "0", "-0", "12", "-12.5", "1e5", "1E+5", "1.5e-07", "1e400", "0.0",
        ] {
            assert!(accepts(format!("[{good}]").as_bytes()), "{good}");
        }
        for bad in [
            "01", "-", "1.", ".5", "1e", "1e+", "+1", "1.5.2", "0x10", "1_0", "--1",
        ] {
            assert!(!accepts(format!("[{bad}]").as_bytes()), "{bad}");
        }
    }

    #[test]
    fn escapes_are_checked_and_surrogates_paired() {
        for good in [
            r#""\n\t\"\\\/\b\f\r""#,
            r#""\u00e9""#,
            r#""\ud83d\ude00""#,
            r#""a\\""#,
        ] {
            assert!(accepts(format!("[{good}]").as_bytes()), "{good}");
        }
        for bad in [
            r#""\x""#,
            r#""\u00g0""#,
            r#""\u12""#,
            r#""\ud83d""#,
            r#""\ude00""#,
            r#""\ud83d\u0041""#,
        ] {
            assert!(!accepts(format!("[{bad}]").as_bytes()), "{bad}");
        }
    }

    #[test]
    fn brackets_are_paired() {
        let line = br#"{"a":[1,{"b":[]},2],"c":{}}"#;
        let mut buffers = simd_json::Buffers::default();
        simd_json::structural_indexes(line, &mut buffers).expect("stage one");
        let structurals = buffers.structural_indexes();
        let mut closes = Vec::new();
        check(line, structurals, &mut closes, &mut Vec::new()).expect("valid");
        for (node, &at) in structurals.iter().enumerate() {
            let open = line[at as usize];
            if open == b'{' || open == b'[' {
                let close_at = structurals[closes[node] as usize] as usize;
                // The close is the matching bracket, and the text between is balanced.
                assert_eq!(line[close_at], if open == b'{' { b'}' } else { b']' });
                let inner = &line[at as usize..=close_at];
                let depth = inner.iter().fold(0i32, |d, &b| match b {
                    b'{' | b'[' => d + 1,
                    b'}' | b']' => d - 1,
                    _ => d,
                });
                assert_eq!(depth, 0, "{}", String::from_utf8_lossy(inner));
            }
        }
    }

    #[test]
    fn nesting_is_limited() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(accepts(deep(MAX_DEPTH).as_bytes()));
        assert!(!accepts(deep(MAX_DEPTH + 1).as_bytes()));
    }

    #[test]
    fn the_grammar_between_structurals() {
        for good in [
            r#"{}"#,
            r#"[]"#,
            r#" { "a" : [ true , false , null ] , "b" : { } } "#,
            r#""s""#,
            r#"1"#,
            "{\"a\":1\r\n}",
        ] {
            assert!(accepts(good.as_bytes()), "{good}");
        }
        for bad in [
            r#"{"a":1,}"#,
            r#"[1,]"#,
            r#"[,1]"#,
            r#"{"a" 1}"#,
            r#"{"a":1 "b":2}"#,
            r#"{1:2}"#,
            r#"{"a":1]"#,
            r#"[1}"#,
            r#"{"a"}"#,
            r#"{"a":}"#,
            r#"["a" "b"]"#,
            r#"["a"x]"#,
            r#"[1 2]"#,
            "[1\x0c]",
            "[\"a\"\x0c]",
            r#"[truex]"#,
            r#"[nul]"#,
            r#"{} {}"#,
            r#"{}}"#,
            r#"[[]"#,
            r#"{"#,
            r#"x"#,
            r#"'a'"#,
        ] {
            assert!(!accepts(bad.as_bytes()), "{bad}");
        }
    }
}
