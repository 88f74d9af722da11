//! Parquet leaf columns straight from the column builders: definition and repetition
//! levels and the present values of each leaf, in the Parquet schema's leaf order.
//!
//! This is what Arrow's `compute_leaves` does from finished Arrow arrays, done from
//! the builders' own vectors instead, so the Parquet path never builds Arrow arrays.
//! Every column is nullable (as in [`crate::schemas`]): a column, a struct and a list
//! element each add one definition level when present, a list one more when it has
//! an element, and a list element after the first repeats at its list's depth.

use crate::builder::Builder;

/// The values of one leaf column that are present (definition level at its maximum),
/// in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Text: the values' bytes one after the other, and each value's length.
    Bytes {
        data: Vec<u8>,
        lens: Vec<u32>,
    },
    Int64(Vec<i64>),
    Int32(Vec<i32>),
    Float64(Vec<f64>),
    Bool(Vec<bool>),
}

impl Values {
    fn empty_like(builder: &Builder) -> Values {
        match builder {
            Builder::Utf8 { .. } => Values::Bytes {
                data: Vec::new(),
                lens: Vec::new(),
            },
            Builder::Int64(..) | Builder::Timestamp(..) => Values::Int64(Vec::new()),
            Builder::Int32(..) | Builder::Date(..) => Values::Int32(Vec::new()),
            Builder::Float64(..) => Values::Float64(Vec::new()),
            Builder::Bool(..) => Values::Bool(Vec::new()),
            // Not leaves: never asked.
            Builder::List { .. } | Builder::Struct { .. } => Values::Bool(Vec::new()),
        }
    }

    /// How many values.
    pub fn len(&self) -> usize {
        match self {
            Values::Bytes { lens, .. } => lens.len(),
            Values::Int64(v) => v.len(),
            Values::Int32(v) => v.len(),
            Values::Float64(v) => v.len(),
            Values::Bool(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Splits off the values from `at` on, keeping the first `at`.
    fn split_off(&mut self, at: usize) -> Values {
        match self {
            Values::Bytes { data, lens } => {
                let bytes: usize = lens[..at].iter().map(|&l| l as usize).sum();
                Values::Bytes {
                    data: data.split_off(bytes),
                    lens: lens.split_off(at),
                }
            }
            Values::Int64(v) => Values::Int64(v.split_off(at)),
            Values::Int32(v) => Values::Int32(v.split_off(at)),
            Values::Float64(v) => Values::Float64(v.split_off(at)),
            Values::Bool(v) => Values::Bool(v.split_off(at)),
        }
    }
}

/// One leaf column of one block (or part of one).
#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    /// Definition level of every entry (a value, a null, or an empty or null parent).
    pub def: Vec<u8>,
    /// Repetition level of every entry; empty for a leaf outside any list.
    pub rep: Vec<u8>,
    /// The present values, one per entry at the leaf's maximum definition level.
    pub values: Values,
    /// The greatest definition level of this leaf.
    pub max_def: u8,
    /// Rows (records) the entries make.
    pub rows: usize,
}

impl Leaf {
    /// Bytes the leaf holds (levels and values).
    pub fn bytes(&self) -> usize {
        let values = match &self.values {
            Values::Bytes { data, lens } => data.len() + 4 * lens.len(),
            Values::Int64(v) => 8 * v.len(),
            Values::Int32(v) => 4 * v.len(),
            Values::Float64(v) => 8 * v.len(),
            Values::Bool(v) => v.len(),
        };
        self.def.len() + self.rep.len() + values
    }

    /// Splits off rows `rows..`, keeping the first `rows` (for a part or row group
    /// that ends inside a block).
    pub fn split_off_rows(&mut self, rows: usize) -> Leaf {
        if rows >= self.rows {
            return Leaf {
                def: Vec::new(),
                rep: Vec::new(),
                values: self.values.split_off(self.values.len()),
                max_def: self.max_def,
                rows: 0,
            };
        }
        // The entry that starts row `rows`.
        let at = if self.rep.is_empty() {
            rows
        } else {
            self.rep
                .iter()
                .enumerate()
                .filter(|(_, &r)| r == 0)
                .nth(rows)
                .map_or(self.rep.len(), |(i, _)| i)
        };
        let present = self.def[..at]
            .iter()
            .filter(|&&d| d == self.max_def)
            .count();
        let rest = Leaf {
            def: self.def.split_off(at),
            rep: if self.rep.is_empty() {
                Vec::new()
            } else {
                self.rep.split_off(at)
            },
            values: self.values.split_off(present),
            max_def: self.max_def,
            rows: self.rows - rows,
        };
        self.rows = rows;
        rest
    }
}

/// The leaves of the top-level columns `builders` (one block), in leaf order; the
/// builders are left empty for the next block.
pub fn leaves(builders: &mut [Builder]) -> Vec<Leaf> {
    let mut all = Vec::new();
    for builder in builders.iter_mut() {
        let (first, rows) = (all.len(), builder.len());
        outline(builder, 1, rows, &mut all);
        walk_column(builder, rows, &mut all[first..]);
        builder.clear();
    }
    all
}

/// An empty [`Leaf`] of `rows` rows for each leaf under `builder`, whose entries when
/// present are at definition level `def` (counting the builder's own level).
fn outline(builder: &Builder, def: u8, rows: usize, outs: &mut Vec<Leaf>) {
    match builder {
        Builder::List { child, .. } => outline(child, def.saturating_add(2), rows, outs),
        Builder::Struct { children, .. } => {
            for (_, child) in children {
                outline(child, def.saturating_add(1), rows, outs);
            }
        }
        leaf => outs.push(Leaf {
            def: Vec::new(),
            rep: Vec::new(),
            values: Values::empty_like(leaf),
            max_def: def,
            rows,
        }),
    }
}

fn walk_column(builder: &mut Builder, rows: usize, outs: &mut [Leaf]) {
    let entries: Vec<Entry> = (0..rows as u32).map(|i| Entry::slot(i, 0)).collect();
    walk(builder, &entries, 0, 0, outs);
}

/// One entry of a node's column: its slot `index` reached (the parent present), or,
/// with `index == ABSENT`, an entry with no slot here (a parent null, or a list
/// empty) at definition level `def`. Computed a level at a time and shared by all
/// the leaves below, as Arrow's level builder does, instead of walking each row down
/// to every leaf.
#[derive(Debug, Clone, Copy)]
struct Entry {
    index: u32,
    def: u8,
    rep: u8,
}

const ABSENT: u32 = u32::MAX;

impl Entry {
    fn slot(index: u32, rep: u8) -> Entry {
        Entry { index, def: 0, rep }
    }

    fn absent(def: u8, rep: u8) -> Entry {
        Entry {
            index: ABSENT,
            def,
            rep,
        }
    }
}

/// The entries of `builder`'s column (`def` the definition level its parents give
/// it when it is null, `depth` the lists around it) into the first leaves of `outs`;
/// returns how many leaves that was. Text moves into its leaf whole: a null slot
/// holds no bytes, so a text builder's bytes are its present values, in order.
fn walk(builder: &mut Builder, entries: &[Entry], def: u8, depth: u8, outs: &mut [Leaf]) -> usize {
    match builder {
        Builder::List {
            offsets,
            valid,
            child,
            ..
        } => {
            let mut inner = Vec::with_capacity(entries.len() + child.len());
            for e in entries {
                if e.index == ABSENT {
                    inner.push(*e);
                    continue;
                }
                let i = e.index as usize;
                if !valid[i] {
                    inner.push(Entry::absent(def, e.rep));
                    continue;
                }
                let (start, end) = (offsets[i] as u32, offsets[i + 1] as u32);
                if start == end {
                    inner.push(Entry::absent(def.saturating_add(1), e.rep));
                    continue;
                }
                inner.push(Entry::slot(start, e.rep));
                inner.extend((start + 1..end).map(|k| Entry::slot(k, depth.saturating_add(1))));
            }
            walk(
                child,
                &inner,
                def.saturating_add(2),
                depth.saturating_add(1),
                outs,
            )
        }
        Builder::Struct {
            children, valid, ..
        } => {
            let inner: Vec<Entry> = entries
                .iter()
                .map(|e| {
                    if e.index != ABSENT && !valid[e.index as usize] {
                        Entry::absent(def, e.rep)
                    } else {
                        *e
                    }
                })
                .collect();
            let mut used = 0;
            for (_, child) in children {
                used += walk(
                    child,
                    &inner,
                    def.saturating_add(1),
                    depth,
                    &mut outs[used..],
                );
            }
            used
        }
        leaf => {
            let Some(out) = outs.first_mut() else {
                return 1;
            };
            // Repetition levels only under a list.
            if depth > 0 {
                out.rep.extend(entries.iter().map(|e| e.rep));
            }
            let (null, value) = (def, def.saturating_add(1));
            let valid = leaf.validity();
            out.def.extend(entries.iter().map(|e| {
                if e.index == ABSENT {
                    e.def
                } else if valid[e.index as usize] {
                    value
                } else {
                    null
                }
            }));
            let all = !valid.contains(&false);
            // The present values are the builder's valid slots, in order: the entries
            // reach every slot once, in slot order, but those below a null struct
            // (which holds nulls there) or a null or empty list (which holds none).
            // So they are copied (or moved, for text) whole, not gathered slot by slot.
            match (leaf, &mut out.values) {
                (
                    Builder::Utf8 {
                        data,
                        offsets,
                        valid,
                        ..
                    },
                    Values::Bytes { data: out, lens },
                ) => {
                    // A null slot holds no bytes.
                    *out = std::mem::take(data);
                    let len = offsets.windows(2).map(|w| (w[1] - w[0]) as u32);
                    if all {
                        lens.extend(len);
                    } else {
                        lens.extend(len.zip(valid.iter()).filter(|(_, &v)| v).map(|(l, _)| l));
                    }
                }
                (Builder::Int64(v, valid) | Builder::Timestamp(v, valid), Values::Int64(out)) => {
                    keep_valid(out, v, valid, all);
                }
                (Builder::Int32(v, valid) | Builder::Date(v, valid), Values::Int32(out)) => {
                    keep_valid(out, v, valid, all);
                }
                (Builder::Float64(v, valid), Values::Float64(out)) => {
                    keep_valid(out, v, valid, all);
                }
                (Builder::Bool(v, valid), Values::Bool(out)) => keep_valid(out, v, valid, all),
                _ => {}
            }
            debug_assert_eq!(
                out.def.iter().filter(|&&d| d == value).count(),
                out.values.len(),
                "a leaf's present entries and values"
            );
            1
        }
    }
}

/// Appends the values of the valid slots (`all`: every slot is valid).
fn keep_valid<T: Copy>(out: &mut Vec<T>, values: &[T], valid: &[bool], all: bool) {
    if all {
        out.extend_from_slice(values);
    } else {
        out.extend(
            values
                .iter()
                .zip(valid)
                .filter(|(_, &v)| v)
                .map(|(&x, _)| x),
        );
    }
}
