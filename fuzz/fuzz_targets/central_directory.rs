//! Fuzz target `central_directory`: see [`brazex_fuzz::central_directory`].
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| brazex_fuzz::central_directory(data));

/// On stable: replays the files and folders given as arguments.
#[cfg(not(fuzzing))]
fn main() {
    brazex_fuzz::replay_args(brazex_fuzz::central_directory);
}
