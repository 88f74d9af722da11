//! Bench-only crate: the criterion benches live in `benches/`; this is what both of
//! them measure or feed on — the generated data, the `--select`/`--where` of the
//! hot-path benches, and brazex's own loop over it.

use brazex_core::filter::{Filter, FilterScratch};
use brazex_core::record::RecordParser;
use brazex_core::select::Selection;
use brazex_sim::{write_ndjson, GeneratorConfig, UserGenerator};

/// Users in the generated NDJSON (seed 7).
pub const USERS: u64 = 4_000;
/// Three conditions: a string equality, a number comparison, an existential `[]` test.
pub const WHERE_3: &str =
    r#"country == "US" and total_revenue > 10 and purchases[].name == "gift_card""#;
pub const SELECT_7: &str = "external_id,email,country,rev=total_revenue,\
plan=custom_attributes.plan,purchases[].name,apps[].last_used";

/// `USERS` generated users as NDJSON.
pub fn ndjson() -> Vec<u8> {
    let generator = UserGenerator::new(GeneratorConfig::new(7));
    let mut out = Vec::new();
    write_ndjson(&generator, 0..USERS, &mut out).expect("generate");
    out
}

/// The non-empty lines of `data`.
pub fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split(|&b| b == b'\n').filter(|l| !l.is_empty())
}

/// brazex's `--where`/`--select` path over every line: validate (simd-json), keep the
/// line if `filter` (when given) matches, write the selection. Buffers are kept from
/// run to run, as a worker keeps them from block to block.
#[derive(Debug, Default)]
pub struct SelectRun {
    parser: RecordParser,
    slots: Vec<Option<usize>>,
    scratch: FilterScratch,
    /// What the last run wrote.
    pub out: Vec<u8>,
}

impl SelectRun {
    /// Runs over `data`; returns the bytes written.
    pub fn run(&mut self, data: &[u8], filter: Option<&Filter>, selection: &Selection) -> usize {
        self.out.clear();
        for line in lines(data) {
            if let Ok(record) = self.parser.parse(line) {
                if filter.is_none_or(|f| f.matches(&record, &mut self.scratch)) {
                    selection.write(&record, &mut self.slots, &mut self.out);
                }
            }
        }
        self.out.len()
    }
}
