//! Exhausted memory is an error, not an abort, seen from Rust.
//!
//! Its own test binary without the libtest harness (`harness = false` in
//! Cargo.toml): it installs a global allocator that refuses requests above a
//! threshold, and on Linux caps its own address space (RLIMIT_AS), neither of
//! which may leak into other tests. Single-threaded, so the counts of
//! allocations are exact. An abort here (Rust's default on allocation
//! failure) fails `cargo test` with SIGABRT.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::{CStr, CString, c_char, c_int};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};

use mylib::*;

/// The system allocator, refusing (returning NULL for) any request larger
/// than `REFUSE_ABOVE` bytes, and counting the requests it grants.
struct Refusing;

static REFUSE_ABOVE: AtomicUsize = AtomicUsize::new(usize::MAX);
static GRANTED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, or returns NULL (allowed: it
// means allocation failure).
unsafe impl GlobalAlloc for Refusing {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > REFUSE_ABOVE.load(Ordering::Relaxed) {
            return ptr::null_mut();
        }
        GRANTED.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's layout, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        // SAFETY: `p` came from `System.alloc` with this layout.
        unsafe { System.dealloc(p, layout) }
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > REFUSE_ABOVE.load(Ordering::Relaxed) {
            return ptr::null_mut();
        }
        GRANTED.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's arguments, passed on.
        unsafe { System.realloc(p, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Refusing = Refusing;

/// A name too large for `REFUSED`, small enough for Miri to interpret.
const BIG_NAME: usize = if cfg!(miri) { 128 << 10 } else { 1 << 20 };
/// Requests above this size are refused in the tests below.
const REFUSED: usize = 64 << 10;

const OK: c_int = MylibStatus::MylibOk as c_int;
const NULL_POINTER: c_int = MylibStatus::MylibErrNullPointer as c_int;
const NO_MEMORY: c_int = MylibStatus::MylibErrNoMemory as c_int;

fn last_message() -> String {
    // SAFETY: never NULL; copied at once.
    unsafe { CStr::from_ptr(mylib_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

fn check(cond: bool, what: &str) -> Result<(), String> {
    if cond { Ok(()) } else { Err(what.to_owned()) }
}

/// The greeting of a name too large for the allocator fails with
/// MYLIB_ERR_NO_MEMORY; nothing is written; the library stays usable.
fn greeting_refused() -> Result<(), String> {
    let name = CString::new(vec![b'n'; BIG_NAME]).unwrap();
    REFUSE_ABOVE.store(REFUSED, Ordering::Relaxed);
    let mut out: *mut c_char = ptr::dangling_mut();
    // SAFETY: a valid C string and out-pointer.
    let status = unsafe { mylib_greeting(name.as_ptr(), &mut out) };
    let message = last_message();
    // SAFETY: as above.
    let greet_status = unsafe { mylib_greet(name.as_ptr()) };
    let greet_message = last_message();
    let mut small: *mut c_char = ptr::null_mut();
    // SAFETY: as above.
    let small_status = unsafe { mylib_greeting(c"small".as_ptr(), &mut small) };
    REFUSE_ABOVE.store(usize::MAX, Ordering::Relaxed);

    check(status == NO_MEMORY, &format!("mylib_greeting returned {status}"))?;
    check(out == ptr::dangling_mut(), "*greeting_out written on failure")?;
    let bytes = BIG_NAME + "Hello, !".len() + 1;
    check(
        message == format!("out of memory: cannot allocate {bytes} bytes for the greeting"),
        &message,
    )?;
    check(
        greet_status == NO_MEMORY,
        &format!("mylib_greet returned {greet_status}"),
    )?;
    check(greet_message.starts_with("out of memory"), &greet_message)?;
    check(small_status == OK, "a small greeting after the failure")?;
    // SAFETY: returned by mylib_greeting, freed once.
    unsafe {
        check(
            CStr::from_ptr(small).to_bytes() == b"Hello, small!",
            "small greeting text",
        )?;
        mylib_string_free(small);
    }
    Ok(())
}

/// Recording an error allocates nothing (the slot is a fixed buffer), so it
/// works when no allocation at all can succeed.
fn recording_an_error_allocates_nothing() -> Result<(), String> {
    let before = GRANTED.load(Ordering::Relaxed);
    REFUSE_ABOVE.store(0, Ordering::Relaxed);
    // SAFETY: the documented NULL case.
    unsafe { sum_array(ptr::null(), 3) };
    let code = mylib_last_error();
    let mut out: *mut c_char = ptr::null_mut();
    // SAFETY: a valid C string and out-pointer.
    let status = unsafe { mylib_greeting(c"x".as_ptr(), &mut out) };
    let code_after_greeting = mylib_last_error();
    let sum = add(2, 3);
    let code_after_add = mylib_last_error();
    REFUSE_ABOVE.store(usize::MAX, Ordering::Relaxed);
    let granted = GRANTED.load(Ordering::Relaxed) - before;

    check(code == NULL_POINTER, &format!("code {code}"))?;
    check(
        status == NO_MEMORY,
        &format!("greeting with no memory at all returned {status}"),
    )?;
    check(code_after_greeting == NO_MEMORY, "slot after the greeting")?;
    check(
        last_message() == "no error" && sum == 5 && code_after_add == OK,
        "add after the failures",
    )?;
    check(
        granted == 0,
        &format!("{granted} allocations while every request was refused"),
    )?;
    // The message recorded with no memory at all is the full one.
    REFUSE_ABOVE.store(0, Ordering::Relaxed);
    // SAFETY: the documented NULL case.
    unsafe { sum_array(ptr::null(), 3) };
    REFUSE_ABOVE.store(usize::MAX, Ordering::Relaxed);
    check(last_message() == "arr must not be NULL", &last_message())
}

/// The debug line streams the name: with logging on, a refused greeting is
/// still logged (to stderr), with no allocation of the name's size.
#[cfg(not(miri))]
fn debug_line_does_not_copy_the_name() -> Result<(), String> {
    let name = CString::new(vec![b'd'; BIG_NAME]).unwrap();
    let mut out: *mut c_char = ptr::null_mut();
    // The log goes to stderr, discarded here to keep the test output short.
    let status = with_stderr_discarded(|| {
        set_debug(1);
        REFUSE_ABOVE.store(REFUSED, Ordering::Relaxed);
        // SAFETY: a valid C string and out-pointer.
        let status = unsafe { mylib_greeting(name.as_ptr(), &mut out) };
        REFUSE_ABOVE.store(usize::MAX, Ordering::Relaxed);
        set_debug(0);
        status
    });
    check(status == NO_MEMORY, &format!("with logging on: {status}"))
}

#[cfg(all(unix, not(miri)))]
fn with_stderr_discarded<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: plain POSIX calls on descriptors this function owns; fd 2 is restored.
    unsafe {
        let saved = libc::dup(2);
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
        libc::dup2(null, 2);
        libc::close(null);
        let r = f();
        libc::dup2(saved, 2);
        libc::close(saved);
        r
    }
}

#[cfg(all(not(unix), not(miri)))]
fn with_stderr_discarded<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Under a real limit: the address space capped (RLIMIT_AS) just above what
/// is in use, with a 64 MiB name already allocated. Not under Miri, which
/// has no address-space limit (and no setrlimit).
#[cfg(all(target_os = "linux", not(miri)))]
fn under_rlimit_as() -> Result<(), String> {
    const NAME: usize = 64 << 20;
    let name = CString::new(vec![b'r'; NAME]).unwrap();
    let statm = std::fs::read_to_string("/proc/self/statm").map_err(|e| e.to_string())?;
    let pages: u64 = statm.split_whitespace().next().unwrap().parse().unwrap();
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
    let limit = pages * page + (16 << 20);
    let rl = libc::rlimit {
        rlim_cur: limit,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: a valid rlimit.
    check(unsafe { libc::setrlimit(libc::RLIMIT_AS, &rl) } == 0, "setrlimit")?;
    // The limit must refuse a name-sized block, or the test proves nothing.
    // SAFETY: malloc/free of a block; NULL is the expected answer.
    let refused = unsafe {
        let p = libc::malloc(NAME);
        libc::free(p);
        p.is_null()
    };
    let mut out: *mut c_char = ptr::null_mut();
    // SAFETY: a valid C string and out-pointer.
    let status = unsafe { mylib_greeting(name.as_ptr(), &mut out) };
    let message = last_message();
    let back = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: a valid rlimit; raising the soft limit back up to the hard one.
    unsafe { libc::setrlimit(libc::RLIMIT_AS, &back) };
    check(refused, "RLIMIT_AS did not refuse a 64 MiB block")?;
    check(status == NO_MEMORY, &format!("under RLIMIT_AS: {status}"))?;
    check(out.is_null(), "*greeting_out written on failure")?;
    check(message.starts_with("out of memory"), &message)
}

type Test = fn() -> Result<(), String>;

fn main() {
    #[allow(unused_mut)] // under Miri nothing is pushed below
    let mut tests: Vec<(&str, Test)> = vec![
        ("greeting_refused", greeting_refused),
        (
            "recording_an_error_allocates_nothing",
            recording_an_error_allocates_nothing,
        ),
    ];
    // Not under Miri: it cannot silence stderr (isolation), and the debug
    // line's writers are checked by the unit tests in src/debug.rs there.
    #[cfg(not(miri))]
    tests.push(("debug_line_does_not_copy_the_name", debug_line_does_not_copy_the_name));
    #[cfg(all(target_os = "linux", not(miri)))]
    tests.push(("under_rlimit_as", under_rlimit_as));
    // `--skip NAME` leaves a test out, as libtest's does (the aarch64 run under
    // qemu-user skips under_rlimit_as: qemu does not apply RLIMIT_AS).
    let args: Vec<String> = std::env::args().collect();
    let skipped: Vec<&str> = args
        .windows(2)
        .filter(|w| w[0] == "--skip")
        .map(|w| w[1].as_str())
        .collect();
    let mut failed = 0;
    for (name, test) in tests {
        if skipped.iter().any(|s| name.contains(s)) {
            println!("test {name} ... skipped");
            continue;
        }
        match test() {
            Ok(()) => println!("test {name} ... ok"),
            Err(why) => {
                println!("test {name} ... FAILED: {why}");
                failed += 1;
            }
        }
    }
    println!("nomem: {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
