//! The host's C `stdout` on Windows.
//!
//! Windows has more than one C runtime, each with its own `FILE` objects,
//! buffers and file-descriptor table. mylib.dll links `msvcrt.dll` (Rust's
//! `x86_64-pc-windows-gnu` target and Debian's mingw-w64 both default to it),
//! but MSVC, CPython and mingw-w64 UCRT toolchains build executables on the
//! Universal CRT (`ucrtbase.dll`). Writing to msvcrt.dll's `stdout` from a UCRT
//! program would bypass the program's buffer: after `printf("a"); greet("b");`
//! its stdout would read `Hello, b!` before `a`.
//!
//! So "the host's stdout" is the `stdout` of the C runtime the main executable
//! imports (read from its PE import table once, on the first write, see
//! `pe.rs`); mylib finds that runtime's stdio functions with `GetProcAddress`
//! and writes and flushes through them, in the host's text or binary mode.
//! An executable with a statically linked CRT keeps its `stdout` out of any
//! DLL's reach: mylib then writes through msvcrt.dll's.
//!
//! There is no `SIGPIPE` on Windows; a broken pipe is a failing write. But a
//! C runtime call on a closed file descriptor calls the CRT's "invalid
//! parameter handler", and the UCRT's default one terminates the process. So
//! the write runs with a thread-local handler that just returns (the call then
//! fails with `EBADF`, which becomes `Error::Io`), and the caller's handler is
//! put back afterwards; other threads are not affected.

use std::ffi::{CStr, c_char, c_int, c_uint, c_void};
use std::sync::OnceLock;

use super::pe::{HostCrt, host_crt, imported_dlls, size_of_image};
use crate::error::Error;

/// An opaque C runtime `FILE`.
type File = c_void;
type IobFn = unsafe extern "C" fn(c_uint) -> *mut File;
type FwriteFn = unsafe extern "C" fn(*const c_void, usize, usize, *mut File) -> usize;
type FflushFn = unsafe extern "C" fn(*mut File) -> c_int;
type ClearerrFn = unsafe extern "C" fn(*mut File);
type ErrnoFn = unsafe extern "C" fn() -> *mut c_int;
type StrerrorFn = unsafe extern "C" fn(c_int) -> *const c_char;
/// `_invalid_parameter_handler`: expression, function, file, line, reserved.
type InvalidParameterHandler = Option<HandlerFn>;
type HandlerFn = unsafe extern "C" fn(*const u16, *const u16, *const u16, c_uint, usize);
type SetHandlerFn = unsafe extern "C" fn(InvalidParameterHandler) -> InvalidParameterHandler;
type Farproc = unsafe extern "system" fn() -> isize;

#[link(name = "kernel32")]
unsafe extern "system" {
    fn GetModuleHandleW(name: *const u16) -> *mut c_void;
    fn GetProcAddress(module: *mut c_void, name: *const c_char) -> Option<Farproc>;
}

// mingw-w64's libmsvcrt.a: `&_iob[index]`, msvcrt.dll's own streams (msvcrt.dll
// exports the array, not this function). Every other function is looked up in
// the runtime's DLL: an `extern "C"` block would also land in the header
// (cbindgen.toml excludes this one).
unsafe extern "C" {
    fn __acrt_iob_func(index: c_uint) -> *mut File;
}

/// The stdio functions of one C runtime.
struct Crt {
    /// Which runtime this is (read by the tests).
    #[cfg_attr(not(test), allow(dead_code))]
    kind: HostCrt,
    iob: IobFn,
    fwrite: FwriteFn,
    fflush: FflushFn,
    clearerr: ClearerrFn,
    errno: ErrnoFn,
    strerror: StrerrorFn,
    /// `_set_thread_local_invalid_parameter_handler`, where the CRT has it.
    set_thread_handler: Option<SetHandlerFn>,
}

/// A NUL-terminated UTF-16 string.
fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// A loaded module's handle, or NULL.
fn module(name: &str) -> *mut c_void {
    let name = wide(name);
    // SAFETY: `name` is a NUL-terminated UTF-16 string that outlives the call;
    // GetModuleHandleW does not take a reference on the module.
    unsafe { GetModuleHandleW(name.as_ptr()) }
}

/// An exported function of `module` (non-NULL), or None.
fn proc(module: *mut c_void, name: &CStr) -> Option<Farproc> {
    // SAFETY: `module` is a loaded module's handle and `name` a C string.
    unsafe { GetProcAddress(module, name.as_ptr()) }
}

impl Crt {
    /// msvcrt.dll: mylib's own C runtime, loaded with mylib.dll.
    fn msvcrt() -> Option<Crt> {
        Crt::from_module(HostCrt::Msvcrt, module("msvcrt.dll"), Some(__acrt_iob_func))
    }

    /// The UCRT if it is loaded in this process (`ucrtbase.dll`, or its debug
    /// build).
    fn ucrt() -> Option<Crt> {
        let ucrt = ["ucrtbase.dll", "ucrtbased.dll", "api-ms-win-crt-stdio-l1-1-0.dll"]
            .into_iter()
            .map(module)
            .find(|m| !m.is_null())?;
        Crt::from_module(HostCrt::Ucrt, ucrt, None)
    }

    /// The stdio functions of a loaded C runtime DLL; `iob` (its stdout
    /// getter) is looked up as `__acrt_iob_func` when not given. None when
    /// `module` is NULL or lacks a function.
    fn from_module(kind: HostCrt, module: *mut c_void, iob: Option<IobFn>) -> Option<Crt> {
        if module.is_null() {
            return None;
        }
        let get = |name: &CStr| proc(module, name);
        // SAFETY: each transmute gives an export of a Microsoft C runtime the
        // C signature both runtimes document for it (stdio.h, errno.h,
        // string.h, stdlib.h); x86_64 has one C calling convention.
        unsafe {
            Some(Crt {
                kind,
                iob: match iob {
                    Some(f) => f,
                    None => std::mem::transmute::<Farproc, IobFn>(get(c"__acrt_iob_func")?),
                },
                fwrite: std::mem::transmute::<Farproc, FwriteFn>(get(c"fwrite")?),
                fflush: std::mem::transmute::<Farproc, FflushFn>(get(c"fflush")?),
                clearerr: std::mem::transmute::<Farproc, ClearerrFn>(get(c"clearerr")?),
                errno: std::mem::transmute::<Farproc, ErrnoFn>(get(c"_errno")?),
                strerror: std::mem::transmute::<Farproc, StrerrorFn>(get(c"strerror")?),
                // The UCRT has it; Wine's msvcrt.dll does not (and never
                // terminates on an invalid parameter).
                set_thread_handler: get(c"_set_thread_local_invalid_parameter_handler")
                    .map(|f| std::mem::transmute::<Farproc, SetHandlerFn>(f)),
            })
        }
    }

    /// Writes `bytes` to this runtime's stdout and flushes it.
    fn write_stdout(&self, bytes: &[u8]) -> Result<(), Error> {
        self.with_invalid_parameters_ignored(|| {
            // SAFETY: index 1 is stdout; the call has no preconditions.
            let out = unsafe { (self.iob)(1) };
            if out.is_null() {
                return Err(Error::Io("stdout is not available".into()));
            }
            // SAFETY: `_errno` returns this thread's errno slot of that CRT.
            unsafe { *(self.errno)() = 0 };
            // SAFETY: `out` is the runtime's live stdout stream; `bytes` is a
            // valid slice for `bytes.len()` bytes.
            let written = unsafe { (self.fwrite)(bytes.as_ptr().cast(), 1, bytes.len(), out) };
            // SAFETY: as above; fflush on a valid stream.
            let failed = written != bytes.len() || unsafe { (self.fflush)(out) } != 0;
            if failed {
                let why = self.last_error();
                // SAFETY: as above; clear the stream's error flag so the next
                // call reports its own outcome, not this one's.
                unsafe { (self.clearerr)(out) };
                return Err(Error::Io(why));
            }
            Ok(())
        })
    }

    /// The runtime's errno as text (`Bad file descriptor (errno 9)`), or the
    /// thread's Win32 error when errno was not set.
    fn last_error(&self) -> String {
        // SAFETY: this thread's errno slot of that CRT.
        let errno = unsafe { *(self.errno)() };
        if errno == 0 {
            return std::io::Error::last_os_error().to_string();
        }
        // SAFETY: strerror returns a NUL-terminated string in a per-thread
        // buffer of the CRT (never NULL for these CRTs; checked anyway),
        // copied at once.
        let text = unsafe {
            let p = (self.strerror)(errno);
            if p.is_null() {
                String::from("unknown error")
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        };
        format!("{text} (errno {errno})")
    }

    /// Runs `f` with this thread's invalid-parameter handler of this CRT set
    /// to one that returns, then puts the caller's back.
    fn with_invalid_parameters_ignored<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Restore(SetHandlerFn, InvalidParameterHandler);
        impl Drop for Restore {
            fn drop(&mut self) {
                // SAFETY: puts back the handler that was current before.
                unsafe { (self.0)(self.1) };
            }
        }
        let _restore = self.set_thread_handler.map(|set| {
            // SAFETY: installs a valid handler for this thread only.
            Restore(set, unsafe { set(Some(ignore_invalid_parameter)) })
        });
        f()
    }
}

/// An invalid-parameter handler that returns, so the CRT call fails with an
/// errno instead of terminating the process.
unsafe extern "C" fn ignore_invalid_parameter(_: *const u16, _: *const u16, _: *const u16, _: c_uint, _: usize) {}

/// The C runtime of the main executable, chosen on first use; None only if
/// not even msvcrt.dll (which mylib.dll imports) has its stdio functions.
fn host() -> Option<&'static Crt> {
    static HOST: OnceLock<Option<Crt>> = OnceLock::new();
    HOST.get_or_init(|| match host_crt(&main_module_imports()) {
        HostCrt::Ucrt => Crt::ucrt().or_else(Crt::msvcrt),
        HostCrt::Msvcrt => Crt::msvcrt(),
    })
    .as_ref()
}

/// The DLLs the main executable imports (empty if its image is unreadable).
fn main_module_imports() -> Vec<String> {
    // SAFETY: NULL asks for the main executable's module, which stays loaded.
    let base = unsafe { GetModuleHandleW(std::ptr::null()) }.cast::<u8>();
    if base.is_null() {
        return Vec::new();
    }
    // SAFETY: the loader maps the whole image, SizeOfImage bytes from `base`,
    // readable, for the life of the process; the headers' page (4 KiB, the
    // smallest page) is mapped whatever the image, and SizeOfImage is read
    // from it after checking the signatures.
    let image = unsafe {
        let headers = std::slice::from_raw_parts(base, 0x1000);
        match size_of_image(headers) {
            Some(size) => std::slice::from_raw_parts(base, size),
            None => return Vec::new(),
        }
    };
    imported_dlls(image).unwrap_or_default()
}

/// Writes `bytes` to the host's C stdout and flushes it.
pub fn write_stdout(bytes: &[u8]) -> Result<(), Error> {
    match host() {
        Some(crt) => crt.write_stdout(bytes),
        None => Err(Error::Io("no C runtime stdout found".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[link(name = "kernel32")]
    unsafe extern "system" {
        fn LoadLibraryW(name: *const u16) -> *mut c_void;
    }

    static CALLS: AtomicUsize = AtomicUsize::new(0);
    unsafe extern "C" fn counting(_: *const u16, _: *const u16, _: *const u16, _: c_uint, _: usize) {
        CALLS.fetch_add(1, Ordering::SeqCst);
    }

    #[test]
    fn the_test_executable_is_an_msvcrt_host() {
        // Rust's windows-gnu test harness imports msvcrt.dll and no UCRT.
        let imports: Vec<String> = main_module_imports().iter().map(|s| s.to_ascii_lowercase()).collect();
        assert!(imports.iter().any(|d| d == "msvcrt.dll"), "{imports:?}");
        assert_eq!(host().expect("a C runtime").kind, HostCrt::Msvcrt);
    }

    /// In the UCRT an invalid parameter (here: `_invalid_parameter_noinfo`,
    /// what a CRT call on a closed fd raises) calls the thread's handler;
    /// inside the guard that is mylib's, which returns, and afterwards the
    /// caller's handler is back.
    #[test]
    fn ucrt_invalid_parameters_are_ignored_inside_the_guard_only() {
        let name = wide("ucrtbase.dll");
        // SAFETY: loads the system UCRT (stays loaded; never freed).
        let ucrt = unsafe { LoadLibraryW(name.as_ptr()) };
        assert!(!ucrt.is_null(), "ucrtbase.dll not found");
        let crt = Crt::ucrt().expect("UCRT functions");
        let set = crt.set_thread_handler.expect("UCRT thread-local handler");
        // SAFETY: the UCRT's `void _invalid_parameter_noinfo(void)`.
        let raise: unsafe extern "C" fn() = unsafe {
            std::mem::transmute::<Farproc, unsafe extern "C" fn()>(
                proc(ucrt, c"_invalid_parameter_noinfo").expect("_invalid_parameter_noinfo"),
            )
        };
        // SAFETY: `counting` is a valid handler; the previous one is restored below.
        let before = unsafe { set(Some(counting)) };
        // SAFETY: calls the handler of this thread, which returns.
        unsafe { raise() };
        assert_eq!(
            CALLS.load(Ordering::SeqCst),
            1,
            "the control: the UCRT calls the thread's handler"
        );
        crt.with_invalid_parameters_ignored(|| {
            // SAFETY: as above; mylib's handler is current and returns.
            unsafe { raise() };
        });
        assert_eq!(
            CALLS.load(Ordering::SeqCst),
            1,
            "the caller's handler ran inside the guard"
        );
        // SAFETY: as above.
        unsafe { raise() };
        assert_eq!(CALLS.load(Ordering::SeqCst), 2, "the caller's handler is not back");
        // SAFETY: restores this thread's original handler.
        let ours = unsafe { set(before) };
        assert_eq!(ours.map(|f| f as usize), Some(counting as HandlerFn as usize));
    }
}
