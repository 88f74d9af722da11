//! Fuzz target `pass_through`: see [`brazex_fuzz::pass_through`].
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| brazex_fuzz::pass_through(data));

/// On stable: replays the files and folders given as arguments.
#[cfg(not(fuzzing))]
fn main() {
    brazex_fuzz::replay_args(brazex_fuzz::pass_through);
}
