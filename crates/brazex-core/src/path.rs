//! Paths into a Braze user object, as written in `--select` (and `--where`).
//!
//! A path is keys joined by `.`; a key followed by `[]` maps the rest of the path
//! over the elements of the array it names (`purchases[].name`). A key with
//! characters other than letters, digits, `_`, `-` and `$` is quoted, with JSON
//! escapes: `custom_attributes."a.b"`.

use std::fmt;

/// A syntax error in a path, a selection or an expression, with the position to point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// The text that was parsed (a whole `--select` or `--where` argument).
    pub input: String,
    /// Byte offset of the problem in `input`.
    pub pos: usize,
    /// What was wrong or what was expected there.
    pub message: String,
}

impl SyntaxError {
    pub fn new(input: &str, pos: usize, message: impl Into<String>) -> Self {
        SyntaxError {
            input: input.to_string(),
            pos,
            message: message.into(),
        }
    }
}

impl fmt::Display for SyntaxError {
    /// The message, then the input with a caret under the position.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let column = self.input[..self.pos.min(self.input.len())].chars().count();
        write!(
            f,
            "{} (at column {})\n  {}\n  {}^",
            self.message,
            column + 1,
            self.input,
            " ".repeat(column)
        )
    }
}

impl std::error::Error for SyntaxError {}

/// One step of a path: a key, and whether the rest maps over its array elements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub key: String,
    /// `key[]`: the value is an array; the rest of the path applies to each element.
    pub each: bool,
}

/// A parsed path, with the text it was written as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    pub segments: Vec<Segment>,
    /// The path exactly as written (the default output name of a selected item).
    pub text: String,
}

impl Path {
    /// Parses a whole string as one path.
    pub fn parse(text: &str) -> Result<Path, SyntaxError> {
        let (path, end) = Path::parse_prefix(text, 0)?;
        if end != text.len() {
            return Err(SyntaxError::new(text, end, "unexpected character in path"));
        }
        Ok(path)
    }

    /// Parses a path that starts at byte `start` of `input` and ends at the first
    /// character that cannot continue it; returns the path and where it ended.
    pub fn parse_prefix(input: &str, start: usize) -> Result<(Path, usize), SyntaxError> {
        let bytes = input.as_bytes();
        let mut pos = start;
        let mut segments = Vec::new();
        loop {
            let key = if bytes.get(pos) == Some(&b'"') {
                let end = quoted_end(input, pos)?;
                let key: String = serde_json::from_str(&input[pos..end])
                    .map_err(|e| SyntaxError::new(input, pos, format!("bad quoted key: {e}")))?;
                pos = end;
                key
            } else {
                let len = input[pos..]
                    .char_indices()
                    .find(|&(_, c)| !is_bare_key_char(c))
                    .map_or(input.len() - pos, |(i, _)| i);
                if len == 0 {
                    return Err(SyntaxError::new(
                        input,
                        pos,
                        "expected a key (letters, digits, _ - $, or a \"quoted key\")",
                    ));
                }
                let key = input[pos..pos + len].to_string();
                pos += len;
                key
            };
            let each = input[pos..].starts_with("[]");
            if each {
                pos += 2;
            }
            segments.push(Segment { key, each });
            if bytes.get(pos) == Some(&b'.') {
                pos += 1;
            } else {
                break;
            }
        }
        let text = input[start..pos].to_string();
        Ok((Path { segments, text }, pos))
    }

    /// The top-level key of the path.
    pub fn root_key(&self) -> &str {
        // A parsed path always has at least one segment.
        self.segments.first().map_or("", |s| s.key.as_str())
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Characters allowed in an unquoted key.
pub fn is_bare_key_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-' || c == '$'
}

/// The end (one past the closing quote) of the JSON string starting at `start`.
fn quoted_end(input: &str, start: usize) -> Result<usize, SyntaxError> {
    let bytes = input.as_bytes();
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err(SyntaxError::new(input, start, "unterminated quoted key"))
}

/// One item of `--select`: an output name and the path whose value it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectItem {
    /// The output key: the alias, or the path as written.
    pub name: String,
    pub path: Path,
}

/// Parses a `--select` argument: comma-separated `[alias=]path` items.
pub fn parse_select(input: &str) -> Result<Vec<SelectItem>, SyntaxError> {
    parse_select_items(input, false).map(|(items, _)| items)
}

/// Parses a `--select` argument for typed outputs (CSV, Parquet): each item may end
/// with a type pin, `[alias=]path[:type]`; returns the items and each item's pin
/// as written (checked by the caller against the known type names).
pub fn parse_select_pinned(input: &str) -> Result<(Vec<SelectItem>, Pins), SyntaxError> {
    parse_select_items(input, true)
}

/// Each item's `:type` pin, with the byte offset of the type name.
pub type Pins = Vec<Option<(String, usize)>>;

fn parse_select_items(input: &str, pins: bool) -> Result<(Vec<SelectItem>, Pins), SyntaxError> {
    let bytes = input.as_bytes();
    let mut pinned = Vec::new();
    let mut items = Vec::new();
    let mut pos = 0;
    loop {
        while bytes.get(pos).is_some_and(|b| b.is_ascii_whitespace()) {
            pos += 1;
        }
        // An alias is a bare key followed by `=`.
        let alias_len = input[pos..]
            .char_indices()
            .find(|&(_, c)| !is_bare_key_char(c))
            .map(|(i, c)| (i, c == '='));
        let alias = match alias_len {
            Some((len, true)) if len > 0 => {
                let alias = input[pos..pos + len].to_string();
                pos += len + 1;
                Some(alias)
            }
            Some((0, true)) => return Err(SyntaxError::new(input, pos, "empty alias before '='")),
            _ => None,
        };
        let (path, end) = Path::parse_prefix(input, pos)?;
        pos = end;
        let mut pin = None;
        if pins && bytes.get(pos) == Some(&b':') {
            let start = pos + 1;
            let len = input[start..]
                .char_indices()
                .find(|&(_, c)| !c.is_ascii_alphanumeric())
                .map_or(input.len() - start, |(i, _)| i);
            if len == 0 {
                return Err(SyntaxError::new(input, start, "expected a type after ':'"));
            }
            pin = Some((input[start..start + len].to_string(), start));
            pos = start + len;
        }
        pinned.push(pin);
        while bytes.get(pos).is_some_and(|b| b.is_ascii_whitespace()) {
            pos += 1;
        }
        items.push(SelectItem {
            name: alias.unwrap_or_else(|| path.text.clone()),
            path,
        });
        match bytes.get(pos) {
            None => break,
            Some(b',') => pos += 1,
            Some(_) => {
                return Err(SyntaxError::new(
                    input,
                    pos,
                    "expected ',' between items, or the end of the selection",
                ))
            }
        }
    }
    Ok((items, pinned))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(p: &Path) -> Vec<(&str, bool)> {
        p.segments
            .iter()
            .map(|s| (s.key.as_str(), s.each))
            .collect()
    }

    #[test]
    fn paths_parse() {
        let p = Path::parse("purchases[].name").expect("parses");
        assert_eq!(keys(&p), vec![("purchases", true), ("name", false)]);
        let p = Path::parse(r#"custom_attributes."a.b""#).expect("parses");
        assert_eq!(keys(&p), vec![("custom_attributes", false), ("a.b", false)]);
        let p = Path::parse(r#""we\"ird"[].x"#).expect("parses");
        assert_eq!(keys(&p), vec![("we\"ird", true), ("x", false)]);
        let p = Path::parse("canvases_received[].steps_received[].name").expect("parses");
        assert_eq!(p.segments.len(), 3);
        assert_eq!(p.text, "canvases_received[].steps_received[].name");
        assert_eq!(
            keys(&Path::parse("prénom").expect("parses")),
            vec![("prénom", false)]
        );
    }

    #[test]
    fn path_errors_point_at_the_problem() {
        let e = Path::parse("a..b").expect_err("empty key");
        assert_eq!(e.pos, 2);
        let e = Path::parse("a.\"open").expect_err("unterminated");
        assert_eq!(e.pos, 2);
        let e = Path::parse("a b").expect_err("space");
        assert_eq!(e.pos, 1);
        assert!(e.to_string().ends_with("\n  a b\n   ^"), "{e}");
    }

    #[test]
    fn selections_parse() {
        let items = parse_select(
            r#"external_id, rev=total_revenue,purchases[].name,custom_attributes."a,b""#,
        )
        .expect("parses");
        let names: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "external_id",
                "rev",
                "purchases[].name",
                r#"custom_attributes."a,b""#
            ]
        );
        assert_eq!(items[1].path.text, "total_revenue");
        assert_eq!(items[3].path.segments[1].key, "a,b");
    }

    #[test]
    fn pinned_selections_parse() {
        let (items, pins) =
            parse_select_pinned("email,plan=custom_attributes.plan:string, x[].y:int")
                .expect("parses");
        assert_eq!(items.len(), 3);
        assert_eq!(items[1].name, "plan");
        assert_eq!(items[1].path.text, "custom_attributes.plan");
        assert_eq!(pins[0], None);
        assert_eq!(pins[1], Some(("string".to_string(), 34)));
        assert_eq!(pins[2].as_ref().map(|p| p.0.as_str()), Some("int"));
        assert_eq!(parse_select_pinned("a:").expect_err("no type").pos, 2);
        assert_eq!(parse_select("a:int").expect_err("no pins").pos, 1);
    }

    #[test]
    fn selection_errors() {
        assert_eq!(parse_select("a,,b").expect_err("empty").pos, 2);
        assert_eq!(parse_select("a b").expect_err("space").pos, 2);
        assert_eq!(parse_select("=a").expect_err("empty alias").pos, 0);
        assert_eq!(parse_select("").expect_err("empty").pos, 0);
    }
}
