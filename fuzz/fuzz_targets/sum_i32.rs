//! The int sums (sum_array, mylib_sum_i32, every kernel path) against the exact i128 sum.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mylib_fuzz_check::check_sum_i32(data));
