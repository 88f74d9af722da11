//! The tokens of a `--where` expression, read one at a time from a byte position.
//!
//! The lexer is called by the parser at a position rather than run ahead, because
//! `ago(7d)` reads its duration as raw text that is not a token of the language.

use crate::path::{is_bare_key_char, Path, SyntaxError};

use super::number;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Regex,
    Contains,
    StartsWith,
    EndsWith,
}

/// A word with a meaning of its own (matched case-insensitively).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyword {
    And,
    Or,
    Not,
    In,
    Contains,
    StartsWith,
    EndsWith,
    Exists,
    Ago,
    True,
    False,
    Null,
}

const KEYWORDS: &[(&str, Keyword)] = &[
    ("and", Keyword::And),
    ("or", Keyword::Or),
    ("not", Keyword::Not),
    ("in", Keyword::In),
    ("contains", Keyword::Contains),
    ("startswith", Keyword::StartsWith),
    ("endswith", Keyword::EndsWith),
    ("exists", Keyword::Exists),
    ("ago", Keyword::Ago),
    ("true", Keyword::True),
    ("false", Keyword::False),
    ("null", Keyword::Null),
];

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Path(Path),
    /// A string literal, unescaped.
    Str(String),
    /// A number literal, as written (checked by [`number::scan`]).
    Num(String),
    Keyword(Keyword),
    /// `==` `=` `!=` `<>` `<` `<=` `>` `>=` `~`
    Cmp(CmpOp),
    /// `&&`
    AndAnd,
    /// `||`
    OrOr,
    /// `!`
    Bang,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    End,
    /// A character that starts no token.
    Other(char),
}

/// A token and the byte range it covers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

/// The first position at or after `pos` that is not white space.
pub(crate) fn skip_space(input: &str, pos: usize) -> usize {
    input[pos..]
        .char_indices()
        .find(|&(_, c)| !c.is_whitespace())
        .map_or(input.len(), |(i, _)| pos + i)
}

/// Reads the token at or after `pos` (white space skipped).
pub(crate) fn token(input: &str, pos: usize) -> Result<Token, SyntaxError> {
    let start = skip_space(input, pos);
    let rest = &input[start..];
    let bytes = rest.as_bytes();
    let Some(c) = rest.chars().next() else {
        return Ok(Token {
            tok: Tok::End,
            start,
            end: start,
        });
    };
    let two = bytes.get(1).copied();
    let (tok, len) = match c {
        '(' => (Tok::LParen, 1),
        ')' => (Tok::RParen, 1),
        '[' => (Tok::LBracket, 1),
        ']' => (Tok::RBracket, 1),
        ',' => (Tok::Comma, 1),
        '~' => (Tok::Cmp(CmpOp::Regex), 1),
        '=' if two == Some(b'=') => (Tok::Cmp(CmpOp::Eq), 2),
        '=' => (Tok::Cmp(CmpOp::Eq), 1),
        '!' if two == Some(b'=') => (Tok::Cmp(CmpOp::Ne), 2),
        '!' => (Tok::Bang, 1),
        '<' if two == Some(b'=') => (Tok::Cmp(CmpOp::Le), 2),
        '<' if two == Some(b'>') => (Tok::Cmp(CmpOp::Ne), 2),
        '<' => (Tok::Cmp(CmpOp::Lt), 1),
        '>' if two == Some(b'=') => (Tok::Cmp(CmpOp::Ge), 2),
        '>' => (Tok::Cmp(CmpOp::Gt), 1),
        '&' if two == Some(b'&') => (Tok::AndAnd, 2),
        '|' if two == Some(b'|') => (Tok::OrOr, 2),
        '\'' => return string(input, start),
        '"' => {
            // `"key".rest` and `"key"[]` are paths (a quoted top-level key); a lone
            // double-quoted string is a literal.
            let end = string_end(input, start)?;
            let after = &input[end..];
            if after.starts_with('.') || after.starts_with("[]") {
                return path(input, start);
            }
            return string(input, start);
        }
        // `r"…"` / `r'…'`: a raw string (no escapes), for regular expressions.
        'r' | 'R' if matches!(two, Some(b'"' | b'\'')) => return raw_string(input, start),
        '0'..='9' => return num(input, start),
        '-' if two.is_some_and(|b| b.is_ascii_digit()) => return num(input, start),
        c if is_bare_key_char(c) => return word(input, start),
        c => (Tok::Other(c), c.len_utf8()),
    };
    Ok(Token {
        tok,
        start,
        end: start + len,
    })
}

/// A path, or a keyword when it is one bare word that spells one.
fn word(input: &str, start: usize) -> Result<Token, SyntaxError> {
    let (p, end) = Path::parse_prefix(input, start)?;
    let keyword = match p.segments.as_slice() {
        [only] if !only.each => KEYWORDS
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&only.key))
            .map(|&(_, kw)| kw),
        _ => None,
    };
    let tok = keyword.map_or(Tok::Path(p), Tok::Keyword);
    Ok(Token { tok, start, end })
}

fn path(input: &str, start: usize) -> Result<Token, SyntaxError> {
    let (p, end) = Path::parse_prefix(input, start)?;
    Ok(Token {
        tok: Tok::Path(p),
        start,
        end,
    })
}

fn num(input: &str, start: usize) -> Result<Token, SyntaxError> {
    let len = number::scan(&input.as_bytes()[start..])
        .map_err(|i| SyntaxError::new(input, start + i, "expected a digit in the number"))?;
    let end = start + len;
    // `12abc` or `1.2.3` is neither a number nor a path: say so rather than
    // reporting a missing operator after `12`.
    if let Some(c) = input[end..].chars().next() {
        if c == '.' || is_bare_key_char(c) {
            return Err(SyntaxError::new(
                input,
                end,
                "unexpected character after a number",
            ));
        }
    }
    Ok(Token {
        tok: Tok::Num(input[start..end].to_string()),
        start,
        end,
    })
}

/// One past the closing quote of the string that opens at `start`.
fn string_end(input: &str, start: usize) -> Result<usize, SyntaxError> {
    let bytes = input.as_bytes();
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == quote => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err(SyntaxError::new(input, start, "unterminated string"))
}

/// A string literal in `'` or `"`, with JSON escapes (and `\'`).
fn string(input: &str, start: usize) -> Result<Token, SyntaxError> {
    let end = string_end(input, start)?;
    let inner = &input[start + 1..end - 1];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let at = start + 1 + i;
        let bad = || {
            SyntaxError::new(
                input,
                at,
                "invalid escape in string: strings take JSON escapes \
                 (\\\" \\' \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX); write \\\\ for a backslash, \
                 or a raw string r\"...\" (no escapes) for a regular expression",
            )
        };
        let e = chars.next().map(|(_, e)| e).ok_or_else(bad)?;
        match e {
            '"' | '\'' | '\\' | '/' => out.push(e),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'u' => {
                let unit = hex4(inner, i + 2).ok_or_else(bad)?;
                chars.nth(3);
                let code = if (0xD800..0xDC00).contains(&unit) {
                    // A high surrogate must be followed by `\u` and a low one.
                    let low = inner
                        .get(i + 6..i + 8)
                        .filter(|s| *s == "\\u")
                        .and_then(|_| hex4(inner, i + 8))
                        .filter(|low| (0xDC00..0xE000).contains(low))
                        .ok_or_else(|| {
                            SyntaxError::new(input, at, "unpaired surrogate in \\u escape")
                        })?;
                    chars.nth(5);
                    0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                } else {
                    unit
                };
                let c = char::from_u32(code).ok_or_else(|| {
                    SyntaxError::new(input, at, "unpaired surrogate in \\u escape")
                })?;
                out.push(c);
            }
            _ => return Err(bad()),
        }
    }
    Ok(Token {
        tok: Tok::Str(out),
        start,
        end,
    })
}

/// A raw string literal, `r"…"` or `r'…'`: the text up to the next quote of the
/// same kind, as written (a backslash is a backslash), so that a regular expression
/// needs no second escaping (`r"\.com$"`). A pattern with a `"` is written in `r'…'`.
fn raw_string(input: &str, start: usize) -> Result<Token, SyntaxError> {
    let open = start + 1;
    let quote = input.as_bytes()[open];
    let close = input.as_bytes()[open + 1..]
        .iter()
        .position(|&b| b == quote)
        .map(|i| open + 1 + i)
        .ok_or_else(|| SyntaxError::new(input, start, "unterminated raw string"))?;
    Ok(Token {
        tok: Tok::Str(input[open + 1..close].to_string()),
        start,
        end: close + 1,
    })
}

/// The value of four hex digits at byte `at` of `s`.
fn hex4(s: &str, at: usize) -> Option<u32> {
    let digits = s.get(at..at + 4)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}
