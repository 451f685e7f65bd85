//! Exhausted memory is an error, not an abort, seen from Rust.
//!
//! Its own test binary without the libtest harness (`harness = false` in
//! Cargo.toml): it installs a global allocator that refuses requests above a
//! threshold, and on Linux caps its own address space (RLIMIT_AS), neither of
//! which may leak into other tests. Single-threaded, so the counts of
//! allocations are exact. An abort here (Rust's default on allocation
//! failure) fails `cargo test` with SIGABRT.

#[path = "common/exact.rs"]
mod exact;

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::{CStr, CString, c_char, c_int};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};

use mylib::*;

/// The system allocator, refusing (returning NULL for) any request larger
/// than `REFUSE_ABOVE` bytes, and counting the requests it grants and those
/// it refuses.
struct Refusing;

static REFUSE_ABOVE: AtomicUsize = AtomicUsize::new(usize::MAX);
static GRANTED: AtomicUsize = AtomicUsize::new(0);
static REFUSED_COUNT: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, or returns NULL (allowed: it
// means allocation failure).
unsafe impl GlobalAlloc for Refusing {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > REFUSE_ABOVE.load(Ordering::Relaxed) {
            REFUSED_COUNT.fetch_add(1, Ordering::Relaxed);
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
            REFUSED_COUNT.fetch_add(1, Ordering::Relaxed);
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
const OVERFLOW: c_int = MylibStatus::MylibErrOverflow as c_int;
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

/// A new exact sum, or one read from bytes, cannot be allocated:
/// MYLIB_ERR_NO_MEMORY, `*acc_out` not written; a state made before keeps
/// working (adding and reading need no memory); afterwards `new` works.
fn exact_sum_refused() -> Result<(), String> {
    let mut before: *mut mylib_exact_sum = ptr::null_mut();
    let mut bytes = [0u8; MYLIB_EXACT_SUM_BYTES];
    // SAFETY: valid out-pointers and buffer.
    unsafe {
        check(mylib_exact_sum_new(&mut before) == OK, "a state before")?;
        check(mylib_exact_sum_add_value(before, 1.5) == OK, "an add before")?;
        check(
            mylib_exact_sum_to_bytes(before, bytes.as_mut_ptr(), bytes.len()) == OK,
            "bytes before",
        )?;
    }
    let marker: *mut mylib_exact_sum = ptr::dangling_mut();
    let (mut a, mut b) = (marker, marker);
    let mut sum = 0.0f64;
    let mut head = [0u8; 13]; // the message's start, copied without allocating
    REFUSE_ABOVE.store(0, Ordering::Relaxed);
    // SAFETY: valid out-pointers, a live state, a valid buffer; the message
    // is never NULL and is copied before the next call rewrites it.
    let (new_status, new_code, from_status, add_status, result_status) = unsafe {
        let new_status = mylib_exact_sum_new(&mut a);
        let new_code = mylib_last_error();
        let text = CStr::from_ptr(mylib_last_error_message()).to_bytes();
        let k = text.len().min(head.len());
        head[..k].copy_from_slice(&text[..k]);
        let from_status = mylib_exact_sum_from_bytes(bytes.as_ptr(), bytes.len(), &mut b);
        let add_status = mylib_exact_sum_add_value(before, 2.0);
        let result_status = mylib_exact_sum_result(before, &mut sum);
        (new_status, new_code, from_status, add_status, result_status)
    };
    REFUSE_ABOVE.store(usize::MAX, Ordering::Relaxed);
    let message = String::from_utf8_lossy(&head).into_owned();
    check(
        new_status == NO_MEMORY,
        &format!("mylib_exact_sum_new returned {new_status}"),
    )?;
    check(new_code == NO_MEMORY, "the slot after new")?;
    check(a == marker && b == marker, "*acc_out written on failure")?;
    check(
        from_status == NO_MEMORY,
        &format!("mylib_exact_sum_from_bytes returned {from_status}"),
    )?;
    check(message.starts_with("out of memory"), &message)?;
    check(
        add_status == OK && result_status == OK && sum == 3.5,
        "the state made before",
    )?;
    let mut after: *mut mylib_exact_sum = ptr::null_mut();
    // SAFETY: valid out-pointers; states made here, freed once.
    unsafe {
        check(mylib_exact_sum_new(&mut after) == OK, "new after the failures")?;
        mylib_exact_sum_free(after);
        mylib_exact_sum_free(before);
    }
    Ok(())
}

/// Values that cancel over the whole exponent range and 100 smaller ones
/// (deterministic): the certificate fails, so the sums take the exact path,
/// whose exponent bins (64 KiB) are allocated for a block of 4096 values or
/// more.
fn cancelling(n: usize) -> Vec<f64> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut v: Vec<f64> = (0..n.saturating_sub(100) / 2)
        .map(|_| f64::from_bits((next() >> 12) | ((1 + next() % 2000) << 52) | (next() & (1 << 63))))
        .collect();
    let negated: Vec<f64> = v.iter().map(|&x| -x).collect();
    v.extend(negated);
    while v.len() < n {
        v.push(f64::from_bits((next() >> 12) | ((900 + next() % 200) << 52)));
    }
    for k in (1..n).rev() {
        v.swap(k, (next() % (k as u64 + 1)) as usize);
    }
    v
}

/// A large sum whose exponent bins cannot be allocated (every request
/// above 32 KiB refused) is still exact: through mylib_sum_f64, fast_sum,
/// mylib_sum_f64_strided and an exact-sum state, against the reference.
fn large_sum_without_bins() -> Result<(), String> {
    // Under Miri (an interpreter), just past the size that asks for bins.
    let n = if cfg!(miri) { 4200 } else { 100_000 };
    let data = cancelling(n);
    let want = exact::expected(&data);
    let mut acc: *mut mylib_exact_sum = ptr::null_mut();
    // SAFETY: a valid out-pointer.
    check(unsafe { mylib_exact_sum_new(&mut acc) } == OK, "a state")?;
    let refused_before = REFUSED_COUNT.load(Ordering::Relaxed);
    REFUSE_ABOVE.store(32 << 10, Ordering::Relaxed);
    let mut got = [f64::NAN; 4];
    let mut status = [OVERFLOW; 4];
    let (shape, strides) = ([n], [-8isize]);
    // SAFETY: valid slices, layouts within `data`, out-pointers and a live state.
    unsafe {
        status[0] = mylib_sum_f64(data.as_ptr(), n, &mut got[0]);
        // Under Miri, the sum and the state (one path through the kernels
        // each); fast_sum and the strided sum take the same one.
        if !cfg!(miri) {
            fast_sum(data.as_ptr(), c_int::try_from(n).unwrap(), &mut got[1]);
            status[1] = mylib_last_error();
            let last = data.as_ptr().add(n - 1).cast();
            status[2] = mylib_sum_f64_strided(last, 1, shape.as_ptr(), strides.as_ptr(), &mut got[2]);
        }
        status[3] = mylib_exact_sum_add(acc, data.as_ptr(), n);
        if status[3] == OK {
            status[3] = mylib_exact_sum_result(acc, &mut got[3]);
        }
        mylib_exact_sum_free(acc);
    }
    REFUSE_ABOVE.store(usize::MAX, Ordering::Relaxed);
    let refused = REFUSED_COUNT.load(Ordering::Relaxed) - refused_before;
    let asked = if cfg!(miri) { 2 } else { 4 };
    check(
        refused >= asked,
        &format!("only {refused} requests refused: the bins were not asked for"),
    )?;
    for (k, what) in ["mylib_sum_f64", "fast_sum", "mylib_sum_f64_strided", "mylib_exact_sum"]
        .iter()
        .enumerate()
    {
        if cfg!(miri) && (k == 1 || k == 2) {
            continue;
        }
        let result = if status[k] == OK {
            Ok(got[k])
        } else if status[k] == OVERFLOW {
            Err(got[k])
        } else {
            return Err(format!("{what}: status {}", status[k]));
        };
        check(
            want.matches(result),
            &format!("{what}: got {:?}, want {want:?}", got[k]),
        )?;
    }
    Ok(())
}

/// With no memory at all, a sum on one thread still works and allocates
/// nothing: the certified pass, the exact path (whose bins are refused), and
/// an existing state's add.
fn sums_with_no_memory_at_all() -> Result<(), String> {
    let n = if cfg!(miri) { 300 } else { 20_000 };
    let hard = cancelling(n);
    let typical: Vec<f64> = (0..n).map(|i| (i % 97) as f64 * 0.25 - 11.0).collect();
    let want = [exact::expected(&hard), exact::expected(&typical)];
    let mut acc: *mut mylib_exact_sum = ptr::null_mut();
    // SAFETY: a valid out-pointer.
    check(unsafe { mylib_exact_sum_new(&mut acc) } == OK, "a state")?;
    let mut got = [f64::NAN; 3];
    let mut status = [OVERFLOW; 3];
    let before = GRANTED.load(Ordering::Relaxed);
    REFUSE_ABOVE.store(0, Ordering::Relaxed);
    // SAFETY: valid slices and out-pointers, a live state.
    unsafe {
        status[0] = mylib_sum_f64(hard.as_ptr(), n, &mut got[0]);
        status[1] = mylib_sum_f64(typical.as_ptr(), n, &mut got[1]);
        status[2] = mylib_exact_sum_add(acc, hard.as_ptr(), n);
        if status[2] == OK {
            status[2] = mylib_exact_sum_result(acc, &mut got[2]);
        }
    }
    REFUSE_ABOVE.store(usize::MAX, Ordering::Relaxed);
    let granted = GRANTED.load(Ordering::Relaxed) - before;
    // SAFETY: made above, freed once.
    unsafe { mylib_exact_sum_free(acc) };
    check(status == [OK; 3], &format!("statuses {status:?}"))?;
    for (k, w) in [&want[0], &want[1], &want[0]].into_iter().enumerate() {
        check(w.matches(Ok(got[k])), &format!("sum {k}: got {:?}, want {w:?}", got[k]))?;
    }
    check(
        granted == 0,
        &format!("{granted} allocations while every request was refused"),
    )
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
        ("exact_sum_refused", exact_sum_refused),
        ("large_sum_without_bins", large_sum_without_bins),
        ("sums_with_no_memory_at_all", sums_with_no_memory_at_all),
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
