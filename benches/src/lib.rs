//! Bench-only crate: the criterion benches live in `benches/`.
