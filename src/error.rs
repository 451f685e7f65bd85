//! The one error type of mylib, its stable C codes, and the per-thread
//! "last error" slot that lets the tutorial-signature functions report
//! failures without changing their C signatures (like `errno`).

use std::cell::RefCell;
use std::ffi::CString;

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
    /// An integer result did not fit its C type.
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
}

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
        }
    }
}

impl MylibStatus {
    /// All codes, in numeric order.
    pub(crate) const ALL: [MylibStatus; 9] = [
        MylibStatus::MylibOk,
        MylibStatus::MylibErrNullPointer,
        MylibStatus::MylibErrInvalidLength,
        MylibStatus::MylibErrOverflow,
        MylibStatus::MylibErrMissingCallback,
        MylibStatus::MylibErrIo,
        MylibStatus::MylibErrPanic,
        MylibStatus::MylibErrMisaligned,
        MylibStatus::MylibErrCallbackFailed,
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
            MylibStatus::MylibErrOverflow => c"integer overflow",
            MylibStatus::MylibErrMissingCallback => c"no callback given (NULL function pointer)",
            MylibStatus::MylibErrIo => c"I/O error writing to stdout",
            MylibStatus::MylibErrPanic => c"internal error: a panic was caught inside mylib",
            MylibStatus::MylibErrMisaligned => c"pointer not aligned for its element type",
            MylibStatus::MylibErrCallbackFailed => c"the callback reported failure",
        }
    }
}

/// The last error of one thread: its code and its message as a C string.
struct Slot {
    code: MylibStatus,
    message: CString,
}

thread_local! {
    static LAST_ERROR: RefCell<Slot> = RefCell::new(Slot {
        code: MylibStatus::MylibOk,
        message: CString::from(c"no error"),
    });
}

/// Clears the calling thread's slot. Cheap when it is already clear
/// (the common case): no allocation, no write.
pub(crate) fn clear_last_error() {
    // `try_with`: during thread teardown the slot may already be gone;
    // there is nothing to clear then.
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut()
            && slot.code != MylibStatus::MylibOk
        {
            slot.code = MylibStatus::MylibOk;
            slot.message = CString::from(c"no error");
        }
    });
}

/// Records `err` in the calling thread's slot.
pub(crate) fn set_last_error(err: &Error) {
    let text = err.to_string();
    // Messages never contain NUL in practice; if one did, cut it there rather than lose the message.
    let text = match text.find('\0') {
        Some(i) => text[..i].to_owned(),
        None => text,
    };
    let message = CString::new(text).unwrap_or_default();
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            slot.code = err.status();
            slot.message = message;
        }
    });
}

/// The calling thread's last error code (0 when none).
pub(crate) fn last_error_code() -> MylibStatus {
    LAST_ERROR
        .try_with(|slot| slot.try_borrow().map(|s| s.code).unwrap_or(MylibStatus::MylibOk))
        .unwrap_or(MylibStatus::MylibOk)
}

/// The calling thread's last error message. The pointer stays valid until
/// the slot is next written, i.e. until the next failing mylib call (or the
/// next clearing call) on this thread.
pub(crate) fn last_error_message_ptr() -> *const std::ffi::c_char {
    LAST_ERROR
        .try_with(|slot| {
            slot.try_borrow()
                .map(|s| s.message.as_ptr())
                .unwrap_or(c"no error".as_ptr())
        })
        .unwrap_or(c"no error".as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        let expected = [0, 1, 2, 3, 4, 5, 6, 7, 8];
        for (status, want) in MylibStatus::ALL.iter().zip(expected) {
            assert_eq!(*status as i32, want);
            assert_eq!(MylibStatus::from_int(want), Some(*status));
        }
        assert_eq!(MylibStatus::from_int(9), None);
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
}
