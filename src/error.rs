//! The one error type of mylib, its stable C codes, and the per-thread
//! "last error" slot that lets the tutorial-signature functions report
//! failures without changing their C signatures (like `errno`).
//!
//! The slot never allocates and has no destructor: a code and a fixed-size
//! message buffer in thread-local storage. So recording an error cannot fail
//! for lack of memory (`MYLIB_ERR_NO_MEMORY` itself is recorded like any
//! other), and where Rust has native thread-locals (Linux, macOS, Windows
//! MSVC) the slot works during thread teardown too: a mylib call made from a
//! TLS or pthread-key destructor records its error like any other call.

use std::cell::{Cell, UnsafeCell};
use std::ffi::{CStr, c_char};
use std::fmt::{self, Write as _};

/// Status codes returned by the `mylib_*` functions and stored in the
/// per-thread last-error slot.
///
/// The values are part of the ABI: they are never renumbered or reused.
/// New codes are only ever appended.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MylibStatus {
    /// Success.
    MylibOk = 0,
    /// A required pointer argument was NULL.
    MylibErrNullPointer = 1,
    /// A length was negative, or too large for the address space.
    MylibErrInvalidLength = 2,
    /// A result did not fit its C type: an integer sum beyond `int`, or an
    /// exact float sum beyond the range of `double`.
    MylibErrOverflow = 3,
    /// A callback argument was NULL.
    MylibErrMissingCallback = 4,
    /// Writing to stdout failed (closed stream, broken pipe, full disk, ...).
    MylibErrIo = 5,
    /// A panic inside the library was caught at the C boundary.
    MylibErrPanic = 6,
    /// A pointer was not aligned for its element type.
    MylibErrMisaligned = 7,
    /// A user callback reported failure by returning non-zero.
    MylibErrCallbackFailed = 8,
    /// Memory ran out: an allocation whose size depends on the input (such as
    /// the greeting for a very long name) failed. Nothing was written; the
    /// library stays usable.
    MylibErrNoMemory = 9,
    /// Bytes given as a serialized state are not one: wrong length, magic,
    /// flag or reserved bits, or a value its count of doubles cannot reach.
    MylibErrBadFormat = 10,
    /// Bytes of a serialized state in a format version this library does
    /// not read (written by another version of mylib).
    MylibErrUnsupportedVersion = 11,
}

/// What `mylib_add_packed` returns on failure, plus the status:
/// `-2^40`, far below any `int`.
pub const MYLIB_PACKED_FAIL_BASE: i64 = -1_099_511_627_776;

/// Every way a mylib call can fail. `Display` is the message that C
/// (`mylib_last_error_message`) and Python (the exception text) show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A required pointer was NULL.
    #[error("{0} must not be NULL")]
    NullPointer(&'static str),
    /// A negative or oversized length.
    #[error("invalid length for {name}: {len}")]
    InvalidLength {
        /// The parameter name.
        name: &'static str,
        /// The length as received.
        len: i128,
    },
    /// An integer result that does not fit its C type.
    #[error("integer overflow in {0}")]
    Overflow(&'static str),
    /// A NULL callback.
    #[error("{0} must not be NULL (no callback given)")]
    MissingCallback(&'static str),
    /// A failed write to stdout.
    #[error("I/O error writing to stdout: {0}")]
    Io(String),
    /// A caught panic.
    #[error("panic inside mylib: {0}")]
    Panic(String),
    /// A pointer not aligned for its element type.
    #[error("{name} is not aligned to {align} bytes")]
    Misaligned {
        /// The parameter name.
        name: &'static str,
        /// The alignment required.
        align: usize,
    },
    /// A user callback returned a non-zero status.
    #[error("callback failed with status {0}")]
    CallbackFailed(i32),
    /// An exact float sum beyond the range of `double`.
    #[error("the exact sum in {0} is beyond the range of double (it rounds to an infinity)")]
    SumOverflow(&'static str),
    /// A sum of more values than a 64-bit count holds.
    #[error("{0}: a sum of more than 2^64 - 1 values")]
    TooManyValues(&'static str),
    /// Bytes that are not a serialized state.
    #[error("not a valid serialized ExactSum: {0}")]
    BadFormat(&'static str),
    /// A serialized state of another format version.
    #[error("serialized ExactSum of format version {0}; this mylib reads version 1")]
    UnsupportedVersion(u8),
    /// An allocation failed (the host's memory or address space is exhausted).
    #[error("out of memory: cannot allocate {bytes} bytes for {what}")]
    NoMemory {
        /// What the memory was for.
        what: &'static str,
        /// The size of the failed request.
        bytes: usize,
    },
}

impl Error {
    /// The stable C code of this error.
    pub fn status(&self) -> MylibStatus {
        match self {
            Error::NullPointer(_) => MylibStatus::MylibErrNullPointer,
            Error::InvalidLength { .. } => MylibStatus::MylibErrInvalidLength,
            Error::Overflow(_) => MylibStatus::MylibErrOverflow,
            Error::MissingCallback(_) => MylibStatus::MylibErrMissingCallback,
            Error::Io(_) => MylibStatus::MylibErrIo,
            Error::Panic(_) => MylibStatus::MylibErrPanic,
            Error::Misaligned { .. } => MylibStatus::MylibErrMisaligned,
            Error::CallbackFailed(_) => MylibStatus::MylibErrCallbackFailed,
            Error::NoMemory { .. } => MylibStatus::MylibErrNoMemory,
            Error::SumOverflow(_) | Error::TooManyValues(_) => MylibStatus::MylibErrOverflow,
            Error::BadFormat(_) => MylibStatus::MylibErrBadFormat,
            Error::UnsupportedVersion(_) => MylibStatus::MylibErrUnsupportedVersion,
        }
    }
}

impl MylibStatus {
    /// All codes, in numeric order.
    pub(crate) const ALL: [MylibStatus; 12] = [
        MylibStatus::MylibOk,
        MylibStatus::MylibErrNullPointer,
        MylibStatus::MylibErrInvalidLength,
        MylibStatus::MylibErrOverflow,
        MylibStatus::MylibErrMissingCallback,
        MylibStatus::MylibErrIo,
        MylibStatus::MylibErrPanic,
        MylibStatus::MylibErrMisaligned,
        MylibStatus::MylibErrCallbackFailed,
        MylibStatus::MylibErrNoMemory,
        MylibStatus::MylibErrBadFormat,
        MylibStatus::MylibErrUnsupportedVersion,
    ];

    /// Converts a C integer to a code; `None` for values that are not codes.
    /// (An out-of-range value must never be transmuted into the enum.)
    pub fn from_int(code: i32) -> Option<MylibStatus> {
        MylibStatus::ALL.into_iter().find(|s| *s as i32 == code)
    }

    /// A static, NUL-terminated description of the code.
    pub fn description(self) -> &'static std::ffi::CStr {
        match self {
            MylibStatus::MylibOk => c"no error",
            MylibStatus::MylibErrNullPointer => c"a required pointer was NULL",
            MylibStatus::MylibErrInvalidLength => c"invalid (negative or too large) length",
            MylibStatus::MylibErrOverflow => c"overflow: a result beyond the range of its C type",
            MylibStatus::MylibErrMissingCallback => c"no callback given (NULL function pointer)",
            MylibStatus::MylibErrIo => c"I/O error writing to stdout",
            MylibStatus::MylibErrPanic => c"internal error: a panic was caught inside mylib",
            MylibStatus::MylibErrMisaligned => c"pointer not aligned for its element type",
            MylibStatus::MylibErrCallbackFailed => c"the callback reported failure",
            MylibStatus::MylibErrNoMemory => c"out of memory",
            MylibStatus::MylibErrBadFormat => c"not a valid serialized state",
            MylibStatus::MylibErrUnsupportedVersion => c"serialized state of an unsupported format version",
        }
    }
}

/// The size of a thread's message buffer, terminating NUL included. Longer
/// messages are cut (at a character boundary) and end in `...`.
pub(crate) const MESSAGE_CAPACITY: usize = 512;

/// The last error of one thread. Plain data, so the thread-local needs no
/// destructor and no allocation: it lives as long as the thread itself.
struct Slot {
    code: Cell<MylibStatus>,
    /// The NUL-terminated message of the last error; only meaningful while
    /// `code` is not `MylibOk`. Written only by `set_last_error`.
    message: UnsafeCell<[u8; MESSAGE_CAPACITY]>,
}

thread_local! {
    static LAST_ERROR: Slot = const {
        Slot {
            code: Cell::new(MylibStatus::MylibOk),
            message: UnsafeCell::new([0; MESSAGE_CAPACITY]),
        }
    };
}

// The slot must stay destructor-free: that is what keeps it usable during
// thread teardown (and free of any allocation).
const _: () = assert!(!std::mem::needs_drop::<Slot>());

/// Clears the calling thread's slot: one thread-local store.
pub(crate) fn clear_last_error() {
    // `try_with`: where thread-locals are emulated (Windows GNU), the slot can
    // be gone late in thread teardown; there is nothing to clear then.
    let _ = LAST_ERROR.try_with(|slot| slot.code.set(MylibStatus::MylibOk));
}

/// A `fmt::Write` into a fixed buffer that never allocates: it keeps what
/// fits (cut at a character boundary, ending in `...`), stops at the first
/// NUL (a C string cannot hold one), and always leaves room for the final NUL.
struct MessageWriter {
    buf: [u8; MESSAGE_CAPACITY],
    len: usize,
    done: bool,
}

impl MessageWriter {
    const ELLIPSIS: &'static str = "...";

    fn new() -> Self {
        MessageWriter {
            buf: [0; MESSAGE_CAPACITY],
            len: 0,
            done: false,
        }
    }

    /// The bytes written so far plus the terminating NUL.
    fn finish(mut self) -> ([u8; MESSAGE_CAPACITY], usize) {
        self.buf[self.len] = 0;
        (self.buf, self.len + 1)
    }
}

impl fmt::Write for MessageWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.done {
            return Ok(());
        }
        let (s, nul) = match s.find('\0') {
            Some(i) => (&s[..i], true),
            None => (s, false),
        };
        let room = MESSAGE_CAPACITY - 1 - self.len;
        if s.len() <= room {
            self.buf[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
            self.len += s.len();
        } else {
            // Keep what fits, then make room for "..." without splitting a
            // character (everything in the buffer is whole UTF-8 characters).
            let mut keep = room;
            while !s.is_char_boundary(keep) {
                keep -= 1;
            }
            self.buf[self.len..self.len + keep].copy_from_slice(&s.as_bytes()[..keep]);
            self.len += keep;
            let mut end = self.len.min(MESSAGE_CAPACITY - 1 - Self::ELLIPSIS.len());
            while end > 0 && self.buf[end] & 0xC0 == 0x80 {
                end -= 1;
            }
            self.buf[end..end + Self::ELLIPSIS.len()].copy_from_slice(Self::ELLIPSIS.as_bytes());
            self.len = end + Self::ELLIPSIS.len();
            self.done = true;
        }
        if nul {
            self.done = true;
        }
        Ok(())
    }
}

/// Records `err` in the calling thread's slot. Never allocates: the message
/// is formatted into a fixed buffer; should formatting fail, the code's static
/// description is used instead.
pub(crate) fn set_last_error(err: &Error) {
    let code = err.status();
    let mut writer = MessageWriter::new();
    let (buf, len) = if write!(writer, "{err}").is_ok() {
        writer.finish()
    } else {
        let mut fallback = MessageWriter::new();
        let _ = fallback.write_str(code.description().to_str().unwrap_or("error"));
        fallback.finish()
    };
    let _ = LAST_ERROR.try_with(|slot| {
        // SAFETY: the buffer belongs to this thread and no reference to it
        // exists (only raw pointers handed to C, which the contract says are
        // not read across the next failing call); `len <= MESSAGE_CAPACITY`.
        unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr(), slot.message.get().cast::<u8>(), len) };
        slot.code.set(code);
    });
}

/// The calling thread's last error code (0 when none).
pub(crate) fn last_error_code() -> MylibStatus {
    LAST_ERROR
        .try_with(|slot| slot.code.get())
        .unwrap_or(MylibStatus::MylibOk)
}

/// The calling thread's last error message: a static "no error" when the
/// code is `MylibOk`, else the thread's message buffer, which lives as long
/// as the thread and is rewritten by the next failing call on this thread.
pub(crate) fn last_error_message_ptr() -> *const c_char {
    const NO_ERROR: &CStr = c"no error";
    LAST_ERROR
        .try_with(|slot| {
            if slot.code.get() == MylibStatus::MylibOk {
                NO_ERROR.as_ptr()
            } else {
                slot.message.get().cast::<c_char>().cast_const()
            }
        })
        .unwrap_or(NO_ERROR.as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        let expected = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
        assert_eq!(MylibStatus::ALL.len(), expected.len());
        for (status, want) in MylibStatus::ALL.iter().zip(expected) {
            assert_eq!(*status as i32, want);
            assert_eq!(MylibStatus::from_int(want), Some(*status));
        }
        assert_eq!(MylibStatus::from_int(12), None);
        assert_eq!(MylibStatus::from_int(-1), None);
    }

    #[test]
    fn every_error_maps_to_its_code_and_message() {
        let cases = [
            (Error::NullPointer("arr"), 1, "arr must not be NULL"),
            (
                Error::InvalidLength { name: "size", len: -1 },
                2,
                "invalid length for size: -1",
            ),
            (Error::Overflow("add"), 3, "integer overflow in add"),
            (
                Error::MissingCallback("func"),
                4,
                "func must not be NULL (no callback given)",
            ),
            (
                Error::Io("Broken pipe".into()),
                5,
                "I/O error writing to stdout: Broken pipe",
            ),
            (Error::Panic("boom".into()), 6, "panic inside mylib: boom"),
            (
                Error::Misaligned { name: "data", align: 8 },
                7,
                "data is not aligned to 8 bytes",
            ),
            (Error::CallbackFailed(-3), 8, "callback failed with status -3"),
            (
                Error::NoMemory {
                    what: "the greeting",
                    bytes: 12,
                },
                9,
                "out of memory: cannot allocate 12 bytes for the greeting",
            ),
            (
                Error::SumOverflow("fast_sum"),
                3,
                "the exact sum in fast_sum is beyond the range of double (it rounds to an infinity)",
            ),
            (
                Error::TooManyValues("mylib_exact_sum_merge"),
                3,
                "mylib_exact_sum_merge: a sum of more than 2^64 - 1 values",
            ),
            (
                Error::BadFormat("reserved bytes are not zero"),
                10,
                "not a valid serialized ExactSum: reserved bytes are not zero",
            ),
            (
                Error::UnsupportedVersion(2),
                11,
                "serialized ExactSum of format version 2; this mylib reads version 1",
            ),
        ];
        for (err, code, msg) in cases {
            assert_eq!(err.status() as i32, code);
            assert_eq!(err.to_string(), msg);
        }
    }

    #[test]
    fn slot_set_and_clear() {
        set_last_error(&Error::Overflow("add"));
        assert_eq!(last_error_code(), MylibStatus::MylibErrOverflow);
        // SAFETY: the pointer comes from the slot and is valid until the next write.
        let msg = unsafe { std::ffi::CStr::from_ptr(last_error_message_ptr()) };
        assert_eq!(msg.to_str().unwrap(), "integer overflow in add");
        clear_last_error();
        assert_eq!(last_error_code(), MylibStatus::MylibOk);
    }

    #[test]
    fn message_with_nul_is_cut_not_lost() {
        set_last_error(&Error::Io("bad\0tail".into()));
        // SAFETY: as above.
        let msg = unsafe { std::ffi::CStr::from_ptr(last_error_message_ptr()) };
        assert_eq!(msg.to_str().unwrap(), "I/O error writing to stdout: bad");
    }

    fn message() -> String {
        // SAFETY: the pointer comes from the slot and is valid until the next write.
        unsafe { CStr::from_ptr(last_error_message_ptr()) }
            .to_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn every_code_has_a_distinct_description() {
        let mut seen = std::collections::HashSet::new();
        for code in MylibStatus::ALL {
            assert!(seen.insert(code.description()), "{code:?}");
        }
    }

    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        // 'é' is two bytes: an odd number of ASCII bytes before it puts a
        // character across the cut whichever way the buffer size falls.
        for prefix in 0..4 {
            let text = format!("{}{}", "x".repeat(prefix), "é".repeat(MESSAGE_CAPACITY));
            set_last_error(&Error::Panic(text.clone()));
            let msg = message();
            assert!(msg.len() < MESSAGE_CAPACITY, "{}", msg.len());
            assert!(msg.len() >= MESSAGE_CAPACITY - 8, "{}", msg.len());
            assert!(msg.ends_with("..."), "{msg}");
            let kept = msg.strip_suffix("...").unwrap();
            assert!(format!("panic inside mylib: {text}").starts_with(kept));
        }
        // One byte short of the buffer fits exactly, without "...".
        let fill = "y".repeat(MESSAGE_CAPACITY - 1 - "panic inside mylib: ".len());
        set_last_error(&Error::Panic(fill.clone()));
        assert_eq!(message(), format!("panic inside mylib: {fill}"));
        // One more byte is cut.
        set_last_error(&Error::Panic(format!("{fill}z")));
        assert!(message().ends_with("y..."));
        assert_eq!(message().len(), MESSAGE_CAPACITY - 1);
    }

    #[test]
    fn old_message_pointers_stay_readable() {
        set_last_error(&Error::Overflow("add"));
        let p = last_error_message_ptr();
        clear_last_error();
        // SAFETY: the buffer lives as long as the thread; clearing does not rewrite it.
        let old = unsafe { CStr::from_ptr(p) };
        assert_eq!(old.to_str().unwrap(), "integer overflow in add");
        assert_eq!(message(), "no error");
    }

    #[test]
    fn slot_works_in_thread_local_destructors() {
        use std::sync::Mutex;
        static SEEN: Mutex<Option<(MylibStatus, String)>> = Mutex::new(None);
        struct Late;
        impl Drop for Late {
            fn drop(&mut self) {
                set_last_error(&Error::NullPointer("late"));
                *SEEN.lock().unwrap() = Some((last_error_code(), message()));
            }
        }
        thread_local!(static LATE: std::cell::RefCell<Option<Late>> = const { std::cell::RefCell::new(None) });
        std::thread::spawn(|| {
            LATE.with(|l| *l.borrow_mut() = Some(Late));
            set_last_error(&Error::Overflow("add"));
        })
        .join()
        .unwrap();
        let seen = SEEN.lock().unwrap().take();
        assert_eq!(
            seen,
            Some((MylibStatus::MylibErrNullPointer, "late must not be NULL".to_owned()))
        );
    }
}
