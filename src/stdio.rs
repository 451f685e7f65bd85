//! Writing to the C runtime's `stdout` stream.
//!
//! mylib prints through the same `FILE *stdout` as the host's `printf`, not
//! through a buffer of its own, so a C program's output and mylib's stay in
//! order. Every write is flushed, and a failing write or flush (closed stdout,
//! broken pipe, full disk) becomes `Error::Io`.
//!
//! On Linux a broken pipe must not kill the host with `SIGPIPE`: the write
//! runs with `SIGPIPE` blocked in the calling thread, and a `SIGPIPE` that the
//! write itself raised is consumed before the mask is restored. A `SIGPIPE`
//! that was already pending, or one sent by someone else, is left alone.
//!
//! On Windows there is no single C runtime: `windows` (in `stdio/windows.rs`)
//! finds the one the host executable uses and writes through its `stdout`.

use crate::error::Error;

#[cfg(any(windows, test))]
mod pe;
#[cfg(windows)]
mod windows;

#[cfg(not(windows))]
unsafe extern "C" {
    // glibc and musl export the stream as `stdout`; Apple's libc as `__stdoutp`.
    #[cfg_attr(any(target_os = "macos", target_os = "ios"), link_name = "__stdoutp")]
    static mut stdout: *mut libc::FILE;
}

/// The C runtime's `stdout` stream.
#[cfg(not(windows))]
fn c_stdout() -> *mut libc::FILE {
    // SAFETY: reading the C library's `stdout` pointer, which it initialises
    // before any user code runs; we only copy the pointer.
    unsafe { stdout }
}

/// Writes `bytes` to C's stdout and flushes it.
#[cfg(windows)]
pub fn write_stdout(bytes: &[u8]) -> Result<(), Error> {
    windows::write_stdout(bytes)
}

/// Writes `bytes` to C's stdout and flushes it.
#[cfg(not(windows))]
pub fn write_stdout(bytes: &[u8]) -> Result<(), Error> {
    sigpipe::without_sigpipe(|| {
        let out = c_stdout();
        if out.is_null() {
            return Err(Error::Io("stdout is not available".into()));
        }
        // SAFETY: `out` is the C runtime's live stdout stream; `bytes` is a
        // valid slice for `bytes.len()` bytes.
        let written = unsafe { libc::fwrite(bytes.as_ptr().cast(), 1, bytes.len(), out) };
        let failed = written != bytes.len()
            // SAFETY: as above; fflush on a valid stream.
            || unsafe { libc::fflush(out) } != 0;
        if failed {
            let os = std::io::Error::last_os_error();
            // SAFETY: as above; clear the stream's error flag so the next call
            // reports its own outcome, not this one's.
            unsafe { libc::clearerr(out) };
            return Err(Error::Io(os.to_string()));
        }
        Ok(())
    })
}

#[cfg(target_os = "linux")]
mod sigpipe {
    use std::mem::MaybeUninit;

    /// Runs `f` with SIGPIPE blocked in this thread, and swallows a SIGPIPE
    /// that `f` raised.
    pub fn without_sigpipe<R>(f: impl FnOnce() -> R) -> R {
        // SAFETY: sigset_t is plain data; sigemptyset/sigaddset initialise it.
        let pipe_only = unsafe {
            let mut set = MaybeUninit::<libc::sigset_t>::uninit();
            libc::sigemptyset(set.as_mut_ptr());
            libc::sigaddset(set.as_mut_ptr(), libc::SIGPIPE);
            set.assume_init()
        };
        let mut old = MaybeUninit::<libc::sigset_t>::uninit();
        let already_pending = pending();
        // SAFETY: valid pointers; pthread_sigmask only changes this thread's mask.
        let blocked = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &pipe_only, old.as_mut_ptr()) } == 0;
        let result = f();
        if blocked {
            // SAFETY: valid pointers as above; `old` was written by the
            // successful pthread_sigmask call.
            unsafe {
                if !already_pending && pending() {
                    let zero = libc::timespec { tv_sec: 0, tv_nsec: 0 };
                    while libc::sigtimedwait(&pipe_only, std::ptr::null_mut(), &zero) < 0
                        && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
                    {}
                }
                libc::pthread_sigmask(libc::SIG_SETMASK, old.as_ptr(), std::ptr::null_mut());
            }
        }
        result
    }

    /// Whether SIGPIPE is pending for this thread or the process.
    fn pending() -> bool {
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        // SAFETY: valid out-pointer; sigpending fills it on success.
        unsafe { libc::sigpending(set.as_mut_ptr()) == 0 && libc::sigismember(set.as_ptr(), libc::SIGPIPE) == 1 }
    }
}

#[cfg(all(not(target_os = "linux"), not(windows)))]
mod sigpipe {
    /// Elsewhere (macOS, the BSDs) the host's SIGPIPE disposition applies.
    pub fn without_sigpipe<R>(f: impl FnOnce() -> R) -> R {
        f()
    }
}
