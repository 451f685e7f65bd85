//! The float sums (fast_sum, mylib_sum_f64, every kernel path) against the exact sum, within the documented bounds.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mylib_fuzz_check::check_sum_f64(data));
