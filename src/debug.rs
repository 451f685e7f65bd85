//! Debug logging: when on, every export writes one line to stderr naming the
//! function, its arguments and its result (`mylib: add(5, 3) -> 8`).
//!
//! The flag is one atomic, so turning it on or off is thread-safe and checking
//! it costs one relaxed load. `MYLIB_DEBUG` in the environment sets the initial
//! value, read once on first use (which is the first mylib call, i.e. "at
//! load" as far as any caller can observe); `set_debug` overrides it.

use std::fmt::{self, Display, Write as _};
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
/// never change the result of a call. Never allocates: the line is formatted
/// through a fixed buffer, so an argument of any length (a long name) is
/// streamed rather than copied.
#[cold]
pub fn log(line: fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let mut out = LineWriter::new(&mut err);
    let _ = writeln!(out, "mylib: {line}");
    out.flush();
    let _ = err.flush();
}

/// A `fmt::Write` that collects text in a fixed buffer and passes it on to
/// an `io::Write` in buffer-sized writes (one write for a short line).
struct LineWriter<'a, W: Write> {
    out: &'a mut W,
    buf: [u8; 1024],
    len: usize,
}

impl<'a, W: Write> LineWriter<'a, W> {
    fn new(out: &'a mut W) -> Self {
        LineWriter {
            out,
            buf: [0; 1024],
            len: 0,
        }
    }

    fn flush(&mut self) {
        // Errors are ignored (see `log`); the text is dropped either way.
        let _ = self.out.write_all(&self.buf[..self.len]);
        self.len = 0;
    }
}

impl<W: Write> fmt::Write for LineWriter<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.len + s.len() > self.buf.len() {
            self.flush();
            if s.len() > self.buf.len() {
                let _ = self.out.write_all(s.as_bytes());
                return Ok(());
            }
        }
        self.buf[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
        self.len += s.len();
        Ok(())
    }
}

/// A C string argument as the log shows it: `NULL`, or the bytes quoted and
/// escaped like Rust's `{:?}` of the lossily decoded text (invalid UTF-8 as
/// U+FFFD). Formats straight from the caller's bytes, without a copy.
pub struct Quoted<'a>(pub Option<&'a [u8]>);

impl Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(bytes) = self.0 else {
            return f.write_str("NULL");
        };
        f.write_char('"')?;
        for chunk in bytes.utf8_chunks() {
            let valid = chunk.valid();
            // Runs of characters that need no escape are written in one piece.
            let mut run = 0;
            for (i, c) in valid.char_indices() {
                // `{:?}` of a str escapes what `char::escape_debug` does, except '.
                let escape = c.escape_debug();
                if c != '\'' && escape.len() > 1 {
                    f.write_str(&valid[run..i])?;
                    write!(f, "{escape}")?;
                    run = i + c.len_utf8();
                }
            }
            f.write_str(&valid[run..])?;
            if !chunk.invalid().is_empty() {
                f.write_char(char::REPLACEMENT_CHARACTER)?;
            }
        }
        f.write_char('"')
    }
}

/// A `Display` made of a closure: lets an export's log arguments be formatted
/// lazily, straight into the log line.
pub struct Lazy<F: Fn(&mut fmt::Formatter<'_>) -> fmt::Result>(pub F);

impl<F: Fn(&mut fmt::Formatter<'_>) -> fmt::Result> Display for Lazy<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.0)(f)
    }
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

    #[test]
    fn quoted_is_debug_of_the_lossy_text() {
        let cases: [&[u8]; 9] = [
            b"World",
            b"",
            b"\xff\xfe",
            b"a\"b'c\\d",
            b"tab\tnl\n\x01\x7f",
            "caf\u{e9} \u{301}x \u{200b}".as_bytes(),
            b"ok\xe2\x82end",
            b"\xf0\x9f\x98\x80 \xf0\x9f",
            b"\xc3",
        ];
        for bytes in cases {
            let want = format!("{:?}", String::from_utf8_lossy(bytes));
            assert_eq!(Quoted(Some(bytes)).to_string(), want, "{bytes:?}");
        }
        assert_eq!(Quoted(None).to_string(), "NULL");
    }

    #[test]
    fn line_writer_passes_everything_on() {
        let mut out = Vec::new();
        let long = "x".repeat(5000);
        {
            let mut w = LineWriter::new(&mut out);
            write!(w, "a{}b{}", long, "c".repeat(1000)).unwrap();
            w.flush();
        }
        assert_eq!(out, format!("a{long}b{}", "c".repeat(1000)).into_bytes());
    }
}
