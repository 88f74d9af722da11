//! Fuzz target `typed`: see [`brazex_fuzz::typed`].
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| brazex_fuzz::typed(data));

/// On stable: replays the files and folders given as arguments.
#[cfg(not(fuzzing))]
fn main() {
    brazex_fuzz::replay_args(brazex_fuzz::typed);
}
