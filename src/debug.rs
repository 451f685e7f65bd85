//! Debug logging: when on, every export writes one line to stderr naming the
//! function, its arguments and its result (`mylib: add(5, 3) -> 8`).
//!
//! The flag is one atomic, so turning it on or off is thread-safe and checking
//! it costs one relaxed load. `MYLIB_DEBUG` in the environment sets the initial
//! value, read once on first use (which is the first mylib call, i.e. "at
//! load" as far as any caller can observe); `set_debug` overrides it.

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

const UNSET: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNSET);

/// Whether an environment value turns debugging on: anything but empty and "0".
fn env_value_enables(value: Option<&std::ffi::OsStr>) -> bool {
    matches!(value, Some(v) if !v.is_empty() && v != "0")
}

#[cold]
fn init_from_env() -> bool {
    let on = env_value_enables(std::env::var_os("MYLIB_DEBUG").as_deref());
    // If set_debug ran meanwhile, it wins.
    let _ = STATE.compare_exchange(UNSET, if on { ON } else { OFF }, Ordering::Relaxed, Ordering::Relaxed);
    STATE.load(Ordering::Relaxed) == ON
}

/// Whether debug logging is on.
#[inline]
pub fn enabled() -> bool {
    match STATE.load(Ordering::Relaxed) {
        UNSET => init_from_env(),
        s => s == ON,
    }
}

/// Turns debug logging on or off.
pub fn set(on: bool) {
    STATE.store(if on { ON } else { OFF }, Ordering::Relaxed);
}

/// Writes one log line to stderr. A failing stderr is ignored: logging must
/// never change the result of a call.
#[cold]
pub fn log(line: std::fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "mylib: {line}");
    let _ = err.flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn env_values() {
        assert!(!env_value_enables(None));
        assert!(!env_value_enables(Some(OsStr::new(""))));
        assert!(!env_value_enables(Some(OsStr::new("0"))));
        assert!(env_value_enables(Some(OsStr::new("1"))));
        assert!(env_value_enables(Some(OsStr::new("yes"))));
    }
}
