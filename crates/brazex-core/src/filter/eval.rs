//! Evaluation of a parsed expression against one record.
//!
//! Paths are resolved lazily through callbacks rather than collected: a path with
//! `[]` may stand for many values, and the test holds as soon as one of them (or one
//! pair, for path against path) satisfies it, so nothing is gathered and nothing is
//! allocated per record (except to unescape strings and keys that hold escapes).

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::path::Segment;
use crate::record::{Kind, Record, Value};

use super::lex::CmpOp;
use super::number;
use super::parse::{Expr, Lit, Operand, PathRef, Test};

/// A value as the comparisons see it. A missing value is `Null`.
#[derive(Debug)]
enum V<'a> {
    Null,
    Bool(bool),
    /// JSON number text.
    Num(&'a [u8]),
    /// Unescaped.
    Str(Cow<'a, str>),
    Array(Value<'a>),
    Object(Value<'a>),
}

impl<'a> V<'a> {
    fn of_value(value: Option<Value<'a>>) -> V<'a> {
        let Some(v) = value else { return V::Null };
        match v.kind() {
            Kind::Null => V::Null,
            Kind::Bool => V::Bool(v.raw().first() == Some(&b't')),
            Kind::Number => V::Num(v.raw()),
            // A validated string always unescapes; `Null` is unreachable in practice.
            Kind::String => v.as_str().map_or(V::Null, V::Str),
            Kind::Array => V::Array(v),
            Kind::Object => V::Object(v),
        }
    }

    fn of_lit(lit: &'a Lit) -> V<'a> {
        match lit {
            Lit::Str(s) => V::Str(Cow::Borrowed(s)),
            Lit::Num(n) => V::Num(n.as_bytes()),
            Lit::Bool(b) => V::Bool(*b),
            Lit::Null => V::Null,
        }
    }
}

/// Evaluates `expr`; `slots` hold the record's top-level values, by root index.
pub(crate) fn eval(expr: &Expr, record: &Record<'_>, slots: &[Option<usize>]) -> bool {
    match expr {
        Expr::Or(items) => items.iter().any(|e| eval(e, record, slots)),
        Expr::And(items) => items.iter().all(|e| eval(e, record, slots)),
        Expr::Not(inner) => !eval(inner, record, slots),
        Expr::Test(test) => test_holds(test, record, slots),
    }
}

fn test_holds(test: &Test, record: &Record<'_>, slots: &[Option<usize>]) -> bool {
    let env = Env { record, slots };
    match test {
        // `!=` is the negation of `==`, also over `[]`: "no element equals".
        Test::Compare {
            lhs,
            op: CmpOp::Ne,
            rhs,
        } => !env.any(lhs, &mut |a| env.any(rhs, &mut |b| equal(a, b))),
        Test::Compare { lhs, op, rhs } => {
            env.any(lhs, &mut |a| env.any(rhs, &mut |b| compare(*op, a, b)))
        }
        Test::Regex { lhs, re } => env.any(lhs, &mut |a| match a {
            V::Str(s) => re.is_match(s),
            _ => false,
        }),
        Test::In { lhs, list } => env.any(lhs, &mut |a| {
            list.iter().any(|lit| equal(a, &V::of_lit(lit)))
        }),
        Test::Exists(path) => env.any_in_path(path, &mut |a| !matches!(a, V::Null)),
        Test::Truthy(operand) => env.any(operand, &mut |a| matches!(a, V::Bool(true))),
    }
}

struct Env<'e, 'r> {
    record: &'e Record<'r>,
    slots: &'e [Option<usize>],
}

/// A callback over values; returns true to stop (the test holds).
type Visit<'f> = dyn FnMut(&V<'_>) -> bool + 'f;

impl Env<'_, '_> {
    /// True when `f` holds for some value of `operand`.
    fn any(&self, operand: &Operand, f: &mut Visit<'_>) -> bool {
        match operand {
            Operand::Lit(lit) => f(&V::of_lit(lit)),
            Operand::Path(path) => self.any_in_path(path, f),
        }
    }

    fn any_in_path(&self, path: &PathRef, f: &mut Visit<'_>) -> bool {
        let root = self
            .slots
            .get(path.root)
            .copied()
            .flatten()
            .map(|node| self.record.value_at(node));
        match path.segments.split_first() {
            Some((first, rest)) => at_key(root, first, rest, f),
            None => f(&V::Null),
        }
    }
}

/// `value` is what `segment`'s key holds; applies the segment's `[]`, then `rest`.
fn at_key(
    value: Option<Value<'_>>,
    segment: &Segment,
    rest: &[Segment],
    f: &mut Visit<'_>,
) -> bool {
    if !segment.each {
        return from(value, rest, f);
    }
    match value {
        Some(array) if array.kind() == Kind::Array => {
            array.elements().any(|element| from(Some(element), rest, f))
        }
        // Not an array: nothing to map over, the value is missing (as in --select).
        _ => from(None, rest, f),
    }
}

/// Resolves `rest` from `value`.
fn from(value: Option<Value<'_>>, rest: &[Segment], f: &mut Visit<'_>) -> bool {
    match (value, rest.split_first()) {
        (None, _) => f(&V::Null),
        (Some(v), None) => f(&V::of_value(Some(v))),
        (Some(v), Some((segment, rest))) => at_key(v.get(&segment.key), segment, rest, f),
    }
}

fn compare(op: CmpOp, a: &V<'_>, b: &V<'_>) -> bool {
    match op {
        CmpOp::Eq => equal(a, b),
        CmpOp::Ne => !equal(a, b),
        CmpOp::Lt => order(a, b) == Some(Ordering::Less),
        CmpOp::Le => matches!(order(a, b), Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => order(a, b) == Some(Ordering::Greater),
        CmpOp::Ge => matches!(order(a, b), Some(Ordering::Greater | Ordering::Equal)),
        CmpOp::Contains => match (a, b) {
            (V::Str(s), V::Str(t)) => s.contains(t.as_ref()),
            (V::Array(array), b) => array
                .elements()
                .any(|element| equal(&V::of_value(Some(element)), b)),
            _ => false,
        },
        CmpOp::StartsWith => match (a, b) {
            (V::Str(s), V::Str(t)) => s.starts_with(t.as_ref()),
            _ => false,
        },
        CmpOp::EndsWith => match (a, b) {
            (V::Str(s), V::Str(t)) => s.ends_with(t.as_ref()),
            _ => false,
        },
        // Parsed into `Test::Regex`, never a `Compare`.
        CmpOp::Regex => false,
    }
}

/// The order of two numbers or two strings (by code point, which is UTF-8 byte
/// order); `None` for any other pair, so that `<` between types is false.
fn order(a: &V<'_>, b: &V<'_>) -> Option<Ordering> {
    match (a, b) {
        (V::Num(x), V::Num(y)) => Some(number::compare(x, y)),
        (V::Str(x), V::Str(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        _ => None,
    }
}

/// Equality: same type and same value; arrays and objects compare deeply (objects
/// regardless of key order), numbers by value.
fn equal(a: &V<'_>, b: &V<'_>) -> bool {
    match (a, b) {
        (V::Null, V::Null) => true,
        (V::Bool(x), V::Bool(y)) => x == y,
        (V::Num(x), V::Num(y)) => number::compare(x, y) == Ordering::Equal,
        (V::Str(x), V::Str(y)) => x == y,
        (V::Array(x), V::Array(y)) => {
            let (mut xs, mut ys) = (x.elements(), y.elements());
            loop {
                match (xs.next(), ys.next()) {
                    (None, None) => return true,
                    (Some(x), Some(y)) => {
                        if !equal(&V::of_value(Some(x)), &V::of_value(Some(y))) {
                            return false;
                        }
                    }
                    _ => return false,
                }
            }
        }
        (V::Object(x), V::Object(y)) => {
            x.fields().count() == y.fields().count()
                && x.fields().all(|(key, xv)| {
                    key.text().is_some_and(|k| {
                        y.get(&k)
                            .is_some_and(|yv| equal(&V::of_value(Some(xv)), &V::of_value(Some(yv))))
                    })
                })
        }
        _ => false,
    }
}
