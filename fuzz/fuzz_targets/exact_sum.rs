//! The exact sum as a state (mylib_exact_sum_*): call sequences on a few
//! states against a model of every value added, and corrupted bytes read
//! back, which must give a clear status or a state, never a crash.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mylib_fuzz_check::check_exact_sum(data));
