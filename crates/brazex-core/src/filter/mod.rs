//! `--where`: the row filter language of `brazex process` and `brazex run`.
//!
//! An expression is parsed and compiled once ([`Filter::parse`]); then
//! [`Filter::matches`] tests each record on its parsed line, walking the top-level
//! object once to find the keys the expression reads and resolving only those paths.
//!
//! # Language
//! ```text
//! expr    := or
//! or      := and { ("or" | "||") and }
//! and     := unary { ("and" | "&&") unary }
//! unary   := ("not" | "!") unary | "(" expr ")" | test
//! test    := operand [ cmp operand ]
//!          | operand "in" "[" literal { "," literal } "]"
//!          | "exists" "(" path ")"
//! cmp     := "==" | "=" | "!=" | "<>" | "<" | "<=" | ">" | ">=" | "~"
//!          | "contains" | "startswith" | "endswith"
//! operand := path | literal | "ago" "(" duration ")"      duration: 90s, 15m, 36h, 7d
//! literal := string ('…' or "…", JSON escapes) | raw | number | true | false | null
//! raw     := r"…" | r'…'    (no escapes: up to the next quote of its kind; for regexes)
//! path    := as in --select: keys joined by ".", key[] over array elements, "quoted keys"
//! ```
//! Keywords are case-insensitive. A bare word that spells a keyword (`null`, `not`,
//! `exists`, ...) is the keyword; as part of a longer path (`custom_attributes.null`)
//! it is a key. A double-quoted string is a literal unless `.` or `[]` follows it
//! directly, which makes it a path starting with a quoted key (`"odd key".x`).
//! Numbers are JSON numbers (leading zeros allowed).
//!
//! # Semantics
//! - A missing value is `null`: `x == null` holds when `x` is missing or null;
//!   `exists(x)` holds when `x` is present and not null.
//! - Numbers compare exactly from their text (no floating point): integers beyond
//!   2^53 and `1.5e2 == 150` come out right. Strings compare by code point, after
//!   unescaping. `==` between different types is false, and so is `<` (and the other
//!   orderings) between anything but two numbers or two strings; never an error.
//!   `!=` is the negation of `==`. Arrays and objects equal only arrays and objects
//!   (deeply); a literal is never one, so `x == 1` is false when `x` is an array.
//! - A path with `[]` is existential: the test holds when it holds for some element
//!   (some pair, when both sides are such paths). `not` negates the whole test, so
//!   `not (purchases[].name == "x")` — and `purchases[].name != "x"` — hold when no
//!   element's name is `"x"`. `[]` on something that is not an array gives `null`
//!   (as `--select` does); on an empty array it gives no value at all, so every test
//!   on it is false (`!=` true).
//! - `contains` is a substring test on strings and element equality on arrays;
//!   `startswith` / `endswith` work on strings; `~` is a `regex` crate match (it
//!   finds the pattern anywhere: anchor with `^…$`), compiled at parse time.
//!   Each is false on any other type.
//! - `in [a, b]` holds when the operand equals one of the literals.
//! - A lone operand (`custom_attributes.vip`) holds when it is `true`.
//! - `ago(7d)` is the UTC time when the filter was parsed, minus the duration, as a
//!   Braze timestamp string (`2026-11-22T10:00:00.000Z`). Braze timestamps are ISO
//!   8601 UTC with a fixed layout, so string order is time order and
//!   `apps[].last_used > ago(1d)` is a plain string comparison. (A timestamp written
//!   without milliseconds, `…T10:00:00Z`, still orders correctly against one with
//!   them except within the same second.)

mod eval;
mod lex;
mod number;
mod parse;
mod prefilter;
mod time;

#[cfg(test)]
mod tests;

use std::time::SystemTime;

pub use prefilter::Prefilter;

use crate::fields::{closest_field, is_user_field};
use crate::path::SyntaxError;
use crate::record::Record;
use crate::select::find_roots;

/// A compiled `--where` expression.
#[derive(Debug, Clone)]
pub struct Filter {
    expr: parse::Expr,
    /// The top-level keys the expression reads; paths refer to them by index.
    roots: Vec<String>,
    /// Every path in the expression: its top-level key and its text (for warnings).
    paths: Vec<(String, String)>,
}

/// Per-thread scratch space for [`Filter::matches`], reused between records.
#[derive(Debug, Default)]
pub struct FilterScratch {
    slots: Vec<Option<usize>>,
}

impl Filter {
    /// Parses and compiles an expression; `ago(...)` counts from now.
    pub fn parse(expr: &str) -> Result<Filter, SyntaxError> {
        Filter::parse_at(expr, SystemTime::now())
    }

    /// Parses with `ago(...)` counting from `now` (for reproducible runs and tests).
    pub fn parse_at(expr: &str, now: SystemTime) -> Result<Filter, SyntaxError> {
        let parsed = parse::parse(expr, time::unix_millis(now))?;
        Ok(Filter {
            expr: parsed.expr,
            roots: parsed.roots,
            paths: parsed
                .paths
                .into_iter()
                .map(|p| (p.root_key().to_string(), p.text))
                .collect(),
        })
    }

    /// True when `record` passes the filter.
    pub fn matches(&self, record: &Record<'_>, scratch: &mut FilterScratch) -> bool {
        find_roots(record, &self.roots, &mut scratch.slots);
        eval::eval(&self.expr, record, &scratch.slots)
    }

    /// The literal pre-check implied by the expression, if any ([`Prefilter`]).
    pub fn prefilter(&self) -> Option<Prefilter> {
        Prefilter::of(&self.expr)
    }

    /// Every path the expression reads, as written.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.paths.iter().map(|(_, text)| text.as_str())
    }

    /// The distinct top-level keys the expression reads, in order of first use
    /// (what `brazex run` must ask Braze to export for the filter to see).
    pub fn root_keys(&self) -> Vec<String> {
        self.roots.clone()
    }

    /// One text per top-level key that no Braze user object has (not a documented
    /// field, and not `custom_attributes`): such a path is always missing, which is
    /// legal but almost always a typo or a custom attribute written without its prefix.
    pub fn warnings(&self) -> Vec<String> {
        self.roots
            .iter()
            .filter(|root| !is_user_field(root))
            .map(|root| {
                let path = self
                    .paths
                    .iter()
                    .find(|(key, _)| key == root)
                    .map_or(root.as_str(), |(_, text)| text.as_str());
                let hint = match closest_field(root) {
                    Some(field) => format!("did you mean '{field}'?"),
                    None => format!("a custom attribute is custom_attributes.{root}"),
                };
                format!(
                    "'{path}' in --where: '{root}' is not a field of a Braze user export, \
                     so it is always missing ({hint})"
                )
            })
            .collect()
    }
}
