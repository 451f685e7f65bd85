//! The tutorial surface driven by a call sequence decoded from the input, checked against a model.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mylib_fuzz_check::check_sequence(data));
