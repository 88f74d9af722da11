//! The literal pre-check: byte strings every matching line must contain, found before
//! the line is parsed (as ripgrep does for regular expressions).
//!
//! From `country == "US"` follows that a matching line holds the text `"US"`, unless
//! the line spells the string with escapes (`"\u0055S"`). So a literal is derived only
//! from strings that need no escape, and a line with any backslash always goes on to
//! be parsed and evaluated exactly. Lines that pass the pre-check are evaluated as
//! usual; lines that fail it cannot match, so the rows out never change. (They are
//! not parsed either, so an invalid line that could not match is counted as filtered
//! out, not reported: `--no-prefilter` turns the pre-check off.)
//!
//! The requirement is a conjunction of clauses, each a disjunction of literals: `and`
//! unites its sides' clauses, `or` merges one clause from each side into one, `not`
//! and tests that a literal cannot witness (`!=`, `<`, numbers, `null`, regexes)
//! require nothing.

use memchr::memmem::Finder;

use super::lex::CmpOp;
use super::parse::{Expr, Lit, Operand, Test};

/// Literals a matching line must contain: every clause needs one of its literals.
#[derive(Debug, Clone)]
pub struct Prefilter {
    clauses: Vec<Vec<Finder<'static>>>,
}

impl Prefilter {
    /// The pre-check of an expression, or `None` when it implies no literal.
    pub(crate) fn of(expr: &Expr) -> Option<Prefilter> {
        let clauses = required(expr);
        if clauses.is_empty() {
            return None;
        }
        Some(Prefilter {
            clauses: clauses
                .into_iter()
                .map(|clause| {
                    clause
                        .iter()
                        .map(|lit| Finder::new(lit).into_owned())
                        .collect()
                })
                .collect(),
        })
    }

    /// False when no line in `bytes` can match: some clause has none of its literals
    /// in it, and it has no backslash. Works on a line or on a whole block of lines.
    pub fn may_match(&self, bytes: &[u8]) -> bool {
        memchr::memchr(b'\\', bytes).is_some()
            || self
                .clauses
                .iter()
                .all(|clause| clause.iter().any(|finder| finder.find(bytes).is_some()))
    }

    /// The literals, clause by clause (for messages and tests).
    pub fn literals(&self) -> Vec<Vec<String>> {
        self.clauses
            .iter()
            .map(|c| {
                c.iter()
                    .map(|f| String::from_utf8_lossy(f.needle()).into_owned())
                    .collect()
            })
            .collect()
    }
}

/// Clauses implied by `expr` (empty: nothing is implied).
fn required(expr: &Expr) -> Vec<Vec<Vec<u8>>> {
    match expr {
        Expr::And(sides) => sides.iter().flat_map(required).collect(),
        Expr::Or(sides) => {
            let mut merged = Vec::new();
            for side in sides {
                match required(side).into_iter().next() {
                    Some(clause) => merged.extend(clause),
                    // One side implies nothing: neither does the disjunction.
                    None => return Vec::new(),
                }
            }
            merged.sort();
            merged.dedup();
            vec![merged]
        }
        Expr::Not(_) => Vec::new(),
        Expr::Test(test) => test_literals(test).map(|c| vec![c]).unwrap_or_default(),
    }
}

/// The literals one of which a line matching `test` contains.
fn test_literals(test: &Test) -> Option<Vec<Vec<u8>>> {
    match test {
        Test::Compare { lhs, op, rhs } => {
            let lit = match (lhs, rhs) {
                (Operand::Path(_), Operand::Lit(lit)) | (Operand::Lit(lit), Operand::Path(_)) => {
                    lit
                }
                _ => return None,
            };
            match (op, lit) {
                (CmpOp::Eq, Lit::Str(s)) => quoted(s).map(|q| vec![q]),
                (CmpOp::Eq, Lit::Bool(b)) => Some(vec![if *b {
                    b"true".to_vec()
                } else {
                    b"false".to_vec()
                }]),
                (CmpOp::Contains | CmpOp::StartsWith | CmpOp::EndsWith, Lit::Str(s))
                    if !s.is_empty() =>
                {
                    plain(s).map(|p| vec![p])
                }
                _ => None,
            }
        }
        Test::In { list, .. } => list
            .iter()
            .map(|lit| match lit {
                Lit::Str(s) => quoted(s),
                _ => None,
            })
            .collect(),
        Test::Exists(path) => path
            .segments
            .last()
            .and_then(|s| quoted(&s.key))
            .map(|q| vec![q]),
        Test::Truthy(Operand::Path(_)) => Some(vec![b"true".to_vec()]),
        Test::Truthy(Operand::Lit(_)) | Test::Regex { .. } => None,
    }
}

/// The text of `s` as it stands in JSON without escapes, if it needs none.
fn plain(s: &str) -> Option<Vec<u8>> {
    let needs_escape = s.chars().any(|c| c == '"' || c == '\\' || c.is_control());
    (!needs_escape).then(|| s.as_bytes().to_vec())
}

/// `"s"`, if `s` needs no escape.
fn quoted(s: &str) -> Option<Vec<u8>> {
    plain(s).map(|p| [b"\"".as_slice(), &p, b"\""].concat())
}

#[cfg(test)]
mod tests {
    use crate::filter::Filter;

    fn literals(expr: &str) -> Option<Vec<Vec<String>>> {
        Filter::parse(expr)
            .expect("parses")
            .prefilter()
            .map(|p| p.literals())
    }

    #[test]
    fn literals_follow_the_expression() {
        assert_eq!(
            literals(r#"country == "US""#),
            Some(vec![vec!["\"US\"".into()]])
        );
        assert_eq!(
            literals(
                r#"country == "US" and purchases[].name == "gift_card" and total_revenue > 10"#
            ),
            Some(vec![vec!["\"US\"".into()], vec!["\"gift_card\"".into()]])
        );
        assert_eq!(
            literals(r#"country == "US" or country in ["GB", "DE"]"#),
            Some(vec![vec![
                "\"DE\"".into(),
                "\"GB\"".into(),
                "\"US\"".into()
            ]])
        );
        assert_eq!(
            literals(r#"tags contains "tech" and exists(phone)"#),
            Some(vec![vec!["tech".into()], vec!["\"phone\"".into()]])
        );
        assert_eq!(literals(r#"country == "US" or total_revenue > 1"#), None);
        assert_eq!(literals(r#"not (country == "US")"#), None);
        assert_eq!(literals(r#"country != "US""#), None);
        assert_eq!(literals(r#"name == "a\"b""#), None);
        assert_eq!(literals(r#"x == null"#), None);
        assert_eq!(literals(r#"email ~ "gmail""#), None);
    }

    #[test]
    fn escapes_and_other_fields_never_change_results() {
        let filter = Filter::parse(r#"country == "US""#).expect("parses");
        let pre = filter.prefilter().expect("a literal");
        // A match spelled with an escape: the backslash sends it on to the parser.
        assert!(pre.may_match(br#"{"country":"\u0055S"}"#));
        // The literal elsewhere: passes the pre-check, the evaluation decides.
        assert!(pre.may_match(br#"{"country":"GB","home_city":"US"}"#));
        assert!(!pre.may_match(br#"{"country":"GB"}"#));
    }
}
