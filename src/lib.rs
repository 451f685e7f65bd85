//! mylib: a Rust library with a plain C ABI.
//!
//! The source is laid out by role:
//! - `core`, `kernels` and `parallel`: the safe core, everything mylib computes (no pointers,
//!   no C types), and the threads of the large sums;
//! - `error`: the one error enum, its stable C codes and the per-thread last-error slot;
//! - `ffi`: the plumbing of the C boundary (panic boundary, pointer/length checks);
//! - `capi`: the exported C functions, which `include/mylib.h` declares;
//! - `stdio`, `debug`: writing to C's stdout, debug logging to stderr.

pub mod capi;
pub mod core;
pub mod debug;
pub mod error;
mod ffi;
pub mod kernels;
pub mod parallel;
mod stdio;

pub use capi::*;
pub use error::{Error, MYLIB_PACKED_FAIL_BASE, MylibStatus};
