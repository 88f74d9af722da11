//! Recursive-descent parser from `--where` text to an [`Expr`] tree.
//!
//! One function per grammar rule (`or`, `and`, `unary`, `test`, `operand`). Every
//! error points at the token where the parse could not go on and says what would
//! have been accepted there.

use regex::Regex;

use crate::path::{Path, Segment, SyntaxError};

use super::lex::{self, CmpOp, Keyword, Tok, Token};
use super::time;

/// A parsed expression.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Test(Test),
}

/// A test: the leaves of the expression.
#[derive(Debug, Clone)]
pub(crate) enum Test {
    /// `lhs op rhs` for every operator but `~`.
    Compare {
        lhs: Operand,
        op: CmpOp,
        rhs: Operand,
    },
    /// `lhs ~ "regex"`, compiled once here.
    Regex { lhs: Operand, re: Regex },
    /// `lhs in [literal, ...]`
    In { lhs: Operand, list: Vec<Lit> },
    /// `exists(path)`
    Exists(PathRef),
    /// A lone operand: holds when it is `true`.
    Truthy(Operand),
}

#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Path(PathRef),
    /// A literal, or the string an `ago(...)` produced.
    Lit(Lit),
}

/// A path and the slot of its top-level key in [`Parsed::roots`].
#[derive(Debug, Clone)]
pub(crate) struct PathRef {
    pub root: usize,
    pub segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Str(String),
    /// Number text, as written.
    Num(String),
    Bool(bool),
    Null,
}

/// The result of parsing: the tree and what it reads.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub expr: Expr,
    /// Distinct top-level keys, in order of first use; [`PathRef::root`] indexes it.
    pub roots: Vec<String>,
    /// Every path, as written, in order.
    pub paths: Vec<Path>,
}

/// How deeply `(` and `not` may nest: the parser and the evaluator recurse once per
/// level, and no real filter comes near this, so a bound turns a stack overflow into
/// an error message.
const MAX_DEPTH: usize = 200;

/// How deeply a `~` pattern may nest groups and repetitions. The regex crate's own
/// limit (250) still let `a*****…` (250 stars) overflow a 2 MiB thread stack in a
/// debug build while compiling (found by the `where` fuzz target); real patterns
/// nest a few levels.
const MAX_REGEX_NESTING: u32 = 64;

const EXPECTED_TEST: &str = "expected a test: a path, a literal, 'not', '(' or 'exists(...)'";
const EXPECTED_LITERAL: &str = "expected a literal (a string, a number, true, false or null)";

/// Parses `input`; `now_ms` (milliseconds since the Unix epoch) is what `ago` counts from.
pub(crate) fn parse(input: &str, now_ms: i64) -> Result<Parsed, SyntaxError> {
    let mut parser = Parser {
        input,
        pos: 0,
        peeked: None,
        now_ms,
        roots: Vec::new(),
        paths: Vec::new(),
        last_test_bare: false,
        depth: 0,
    };
    let expr = parser.or()?;
    let next = parser.peek()?.clone();
    if next.tok != Tok::End {
        let start = next.start;
        let not_after_operand = parser.last_test_bare && next.tok == Tok::Keyword(Keyword::Not);
        let mut message = parser.expected_after_test("the end of the expression");
        if not_after_operand {
            // `x not in [...]` reads well in SQL but 'not' negates a whole test here.
            message.push_str(" ('not' goes before a test: not x in [...])");
        }
        return Err(parser.error(start, message));
    }
    Ok(Parsed {
        expr,
        roots: parser.roots,
        paths: parser.paths,
    })
}

struct Parser<'i> {
    input: &'i str,
    /// Where the next token starts (or the white space before it).
    pos: usize,
    peeked: Option<Token>,
    now_ms: i64,
    roots: Vec<String>,
    paths: Vec<Path>,
    /// The last test parsed was a lone operand, so a comparison operator could have
    /// followed it: error messages then list it among what was expected.
    last_test_bare: bool,
    /// Enclosing `(` and `not`.
    depth: usize,
}

impl Parser<'_> {
    fn peek(&mut self) -> Result<&Token, SyntaxError> {
        if self.peeked.is_none() {
            self.peeked = Some(lex::token(self.input, self.pos)?);
        }
        // Just filled.
        self.peeked
            .as_ref()
            .ok_or_else(|| SyntaxError::new(self.input, self.pos, "internal error"))
    }

    fn next(&mut self) -> Result<Token, SyntaxError> {
        self.peek()?;
        let token = self
            .peeked
            .take()
            .ok_or_else(|| SyntaxError::new(self.input, self.pos, "internal error"))?;
        self.pos = token.end;
        Ok(token)
    }

    fn error(&self, pos: usize, message: impl Into<String>) -> SyntaxError {
        SyntaxError::new(self.input, pos, message)
    }

    /// Consumes the next token if it is `want`, else fails with `message` at it.
    fn expect(&mut self, want: &Tok, message: &str) -> Result<Token, SyntaxError> {
        let token = self.next()?;
        if &token.tok == want {
            Ok(token)
        } else {
            Err(self.error(token.start, message))
        }
    }

    /// What may follow a complete test, ending with `end` (`')'` or the end).
    fn expected_after_test(&self, end: &str) -> String {
        if self.last_test_bare {
            format!("expected a comparison operator, 'and', 'or' or {end}")
        } else {
            format!("expected 'and', 'or' or {end}")
        }
    }

    fn or(&mut self) -> Result<Expr, SyntaxError> {
        let mut items = vec![self.and()?];
        while matches!(self.peek()?.tok, Tok::Keyword(Keyword::Or) | Tok::OrOr) {
            self.next()?;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, SyntaxError> {
        let mut items = vec![self.unary()?];
        while matches!(self.peek()?.tok, Tok::Keyword(Keyword::And) | Tok::AndAnd) {
            self.next()?;
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Expr::And(items)
        })
    }

    fn unary(&mut self) -> Result<Expr, SyntaxError> {
        match self.peek()?.tok {
            Tok::Keyword(Keyword::Not) | Tok::Bang => {
                self.descend()?;
                self.next()?;
                let inner = self.unary()?;
                self.depth -= 1;
                Ok(Expr::Not(Box::new(inner)))
            }
            Tok::LParen => {
                self.descend()?;
                self.next()?;
                let inner = self.or()?;
                self.depth -= 1;
                let close = self.next()?;
                if close.tok != Tok::RParen {
                    let message = self.expected_after_test("')'");
                    return Err(self.error(close.start, message));
                }
                self.last_test_bare = false;
                Ok(inner)
            }
            Tok::Keyword(Keyword::Exists) => {
                self.next()?;
                self.expect(&Tok::LParen, "expected '(' after 'exists'")?;
                let token = self.next()?;
                let Tok::Path(path) = token.tok else {
                    return Err(self.error(token.start, "expected a path inside exists(...)"));
                };
                let path = self.path_ref(path);
                self.expect(&Tok::RParen, "expected ')' after the path")?;
                self.last_test_bare = false;
                Ok(Expr::Test(Test::Exists(path)))
            }
            _ => self.test().map(Expr::Test),
        }
    }

    /// Enters one more level of `(` or `not`, failing at the token when too deep.
    fn descend(&mut self) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let start = self.peek()?.start;
            return Err(self.error(
                start,
                format!(
                    "expression nested too deeply (more than {MAX_DEPTH} levels of '(' and 'not')"
                ),
            ));
        }
        Ok(())
    }

    fn test(&mut self) -> Result<Test, SyntaxError> {
        let lhs = self.operand(EXPECTED_TEST)?;
        self.last_test_bare = false;
        let op = match self.peek()?.tok {
            Tok::Cmp(op) => op,
            Tok::Keyword(Keyword::Contains) => CmpOp::Contains,
            Tok::Keyword(Keyword::StartsWith) => CmpOp::StartsWith,
            Tok::Keyword(Keyword::EndsWith) => CmpOp::EndsWith,
            Tok::Keyword(Keyword::In) => {
                self.next()?;
                return self.in_list(lhs);
            }
            _ => {
                self.last_test_bare = true;
                return Ok(Test::Truthy(lhs));
            }
        };
        let op_token = self.next()?;
        let op_text = &self.input[op_token.start..op_token.end];
        if op == CmpOp::Regex {
            let token = self.next()?;
            let Tok::Str(pattern) = token.tok else {
                return Err(self.error(
                    token.start,
                    "expected a regular expression (a string literal) after '~'",
                ));
            };
            let re = regex::RegexBuilder::new(&pattern)
                .nest_limit(MAX_REGEX_NESTING)
                .build()
                .map_err(|e| {
                    self.error(
                        token.start,
                        format!("invalid regular expression: {}", regex_message(&e)),
                    )
                })?;
            return Ok(Test::Regex { lhs, re });
        }
        let message = format!("expected a path, a literal or ago(...) after '{op_text}'");
        let rhs = self.operand(&message)?;
        Ok(Test::Compare { lhs, op, rhs })
    }

    /// The list after `in`.
    fn in_list(&mut self, lhs: Operand) -> Result<Test, SyntaxError> {
        self.expect(&Tok::LBracket, "expected '[' after 'in'")?;
        let mut list = Vec::new();
        loop {
            let token = self.next()?;
            list.push(
                literal(&token.tok).ok_or_else(|| self.error(token.start, EXPECTED_LITERAL))?,
            );
            let token = self.next()?;
            match token.tok {
                Tok::Comma => {}
                Tok::RBracket => break,
                _ => return Err(self.error(token.start, "expected ',' or ']' in the list")),
            }
        }
        Ok(Test::In { lhs, list })
    }

    /// An operand; `expected` is the message when there is none.
    fn operand(&mut self, expected: &str) -> Result<Operand, SyntaxError> {
        let token = self.next()?;
        if let Some(lit) = literal(&token.tok) {
            return Ok(Operand::Lit(lit));
        }
        match token.tok {
            Tok::Path(path) => Ok(Operand::Path(self.path_ref(path))),
            Tok::Keyword(Keyword::Ago) => self.ago().map(|s| Operand::Lit(Lit::Str(s))),
            _ => Err(self.error(token.start, expected)),
        }
    }

    /// `(DURATION)` after `ago`: the timestamp it stands for.
    fn ago(&mut self) -> Result<String, SyntaxError> {
        // The duration is not a token (`7d` would lex as a bad number): read it and
        // the parentheses around it as raw text.
        self.expect_char('(', "expected '(' after 'ago'")?;
        let start = lex::skip_space(self.input, self.pos);
        let len = self.input[start..]
            .find(|c: char| !c.is_alphanumeric())
            .unwrap_or(self.input.len() - start);
        let text = &self.input[start..start + len];
        let ms = time::parse_duration(text).map_err(|i| {
            self.error(
                start + i,
                "expected a duration: a whole number and a unit s, m, h or d (90s, 15m, 36h, 7d)",
            )
        })?;
        let stamp = time::ago(self.now_ms, ms)
            .ok_or_else(|| self.error(start, "duration reaches back before the year 1"))?;
        self.pos = start + len;
        self.expect_char(')', "expected ')' after the duration")?;
        Ok(stamp)
    }

    /// Consumes `c` (after white space) without lexing what follows it.
    fn expect_char(&mut self, c: char, message: &str) -> Result<(), SyntaxError> {
        debug_assert!(self.peeked.is_none());
        let at = lex::skip_space(self.input, self.pos);
        if self.input[at..].starts_with(c) {
            self.pos = at + c.len_utf8();
            Ok(())
        } else {
            Err(self.error(at, message))
        }
    }

    fn path_ref(&mut self, path: Path) -> PathRef {
        let key = path.root_key();
        let root = self.roots.iter().position(|r| r == key).unwrap_or_else(|| {
            self.roots.push(key.to_string());
            self.roots.len() - 1
        });
        let segments = path.segments.clone();
        self.paths.push(path);
        PathRef { root, segments }
    }
}

fn literal(tok: &Tok) -> Option<Lit> {
    match tok {
        Tok::Str(s) => Some(Lit::Str(s.clone())),
        Tok::Num(n) => Some(Lit::Num(n.clone())),
        Tok::Keyword(Keyword::True) => Some(Lit::Bool(true)),
        Tok::Keyword(Keyword::False) => Some(Lit::Bool(false)),
        Tok::Keyword(Keyword::Null) => Some(Lit::Null),
        _ => None,
    }
}

/// The one-line reason in a regex error: its `Display` repeats the pattern with a
/// caret of its own, which would clash with ours.
fn regex_message(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: ").map(str::to_string))
        .unwrap_or_else(|| text.lines().last().unwrap_or("").trim().to_string())
}
