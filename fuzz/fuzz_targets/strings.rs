//! The string functions (greetings, print_point, status strings, the debug log's quoting) against references.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mylib_fuzz_check::check_strings(data));
