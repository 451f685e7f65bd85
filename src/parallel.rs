//! Threads for the large sums: how many to use, and the one way work is
//! spread across them.
//!
//! **No pool.** A parallel call spawns scoped threads and joins every one of
//! them before it returns, so mylib has no thread of its own between calls.
//! A child made by `fork()` inherits only the forking thread: with no pool
//! there is nothing it could wait for, and nothing on this path takes a lock
//! (the settings are atomics, the environment is read once with `getenv`), so
//! a child never hangs, even when another thread of the parent was in the
//! middle of a sum at the moment of the fork.
//!
//! **Results do not depend on the thread count.** [`map_blocks`] cuts the input
//! into blocks of a size fixed by the caller, computes one result per block
//! (on whichever thread) and returns the results in block order; the caller
//! combines them in that order. The one-thread path computes the very same
//! blocks, so every thread count gives the same bits.
//!
//! **Failures.** A thread that cannot be spawned (resource limits) is simply
//! not used: the threads that did start, and the calling thread, share all the
//! blocks. A panic in a worker is re-raised on the calling thread with its
//! original payload once every worker has been joined, so the C boundary turns
//! it into `MYLIB_ERR_PANIC`.
//!
//! # How many threads
//!
//! [`num_threads`] is, in order of precedence:
//! 1. the value given to [`set_num_threads`] (C: `mylib_set_num_threads`), if
//!    not 0;
//! 2. `MYLIB_NUM_THREADS` from the environment, if valid (see
//!    [`parse_num_threads`]);
//! 3. the number of CPUs this process may run on
//!    (`std::thread::available_parallelism`: the affinity mask and the cgroup
//!    CPU quota), at most [`MAX_THREADS`].
//!
//! 2 and 3 are read once, the first time they are needed, and then cached:
//! later changes to the environment or to the affinity mask are not seen.

use std::num::NonZeroUsize;
use std::panic::resume_unwind;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::Error;

/// The largest thread count that can be asked for.
///
/// cbindgen:ignore
pub const MAX_THREADS: usize = 1024;

/// The value given to `set_num_threads`; 0 = use the default.
static REQUESTED: AtomicUsize = AtomicUsize::new(0);
/// The default thread count once computed; 0 = not computed yet.
static DEFAULT: AtomicUsize = AtomicUsize::new(0);

/// The maximum number of threads a large sum uses (at least 1).
///
/// See the [module documentation](self) for where the number comes from.
pub fn num_threads() -> usize {
    match REQUESTED.load(Ordering::Relaxed) {
        0 => default_threads(),
        n => n,
    }
}

/// Sets the maximum number of threads of the large sums for the whole
/// process: `1..=MAX_THREADS`, or 0 to go back to the default
/// (`MYLIB_NUM_THREADS`, else the CPUs available). A larger value is an
/// `InvalidLength` error and changes nothing. Thread-safe; calls already
/// running keep the count they started with.
pub fn set_num_threads(n: usize) -> Result<(), Error> {
    if n > MAX_THREADS {
        return Err(Error::InvalidLength {
            name: "n",
            len: n as i128,
        });
    }
    REQUESTED.store(n, Ordering::Relaxed);
    Ok(())
}

/// The default thread count, computed once. Two threads racing to compute
/// it store the same value; no lock is involved (see the module docs on fork).
fn default_threads() -> usize {
    let cached = DEFAULT.load(Ordering::Relaxed);
    if cached != 0 {
        return cached;
    }
    let n = compute_default();
    DEFAULT.store(n, Ordering::Relaxed);
    n
}

#[cold]
fn compute_default() -> usize {
    if let Some(value) = env_bytes("MYLIB_NUM_THREADS") {
        match parse_num_threads(&value) {
            EnvThreads::Threads(n) => return n,
            EnvThreads::Invalid if crate::debug::enabled() => crate::debug::log(format_args!(
                "MYLIB_NUM_THREADS={:?} ignored (not an integer in 0..={MAX_THREADS}): using the CPUs available",
                String::from_utf8_lossy(&value)
            )),
            _ => {}
        }
    }
    std::thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .min(MAX_THREADS)
}

/// What a `MYLIB_NUM_THREADS` value asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvThreads {
    /// Empty or `0`: the default (the CPUs available).
    Default,
    /// `1..=MAX_THREADS`.
    Threads(usize),
    /// Anything else: ignored, the default is used.
    Invalid,
}

/// Parses a `MYLIB_NUM_THREADS` value.
///
/// Leading and trailing ASCII whitespace is ignored; what remains must be
/// decimal digits only (no sign, no other character) and its value
/// `0..=MAX_THREADS`. Empty and `0` mean the default; an invalid value is
/// ignored too (the default is used), and with debug logging on
/// (`MYLIB_DEBUG`) one log line says so.
pub fn parse_num_threads(value: &[u8]) -> EnvThreads {
    let v = value.trim_ascii();
    if v.is_empty() {
        return EnvThreads::Default;
    }
    if !v.iter().all(u8::is_ascii_digit) {
        return EnvThreads::Invalid;
    }
    // All ASCII digits: only a value too large for usize fails to parse.
    match std::str::from_utf8(v).ok().and_then(|s| s.parse::<usize>().ok()) {
        Some(0) => EnvThreads::Default,
        Some(n) if n <= MAX_THREADS => EnvThreads::Threads(n),
        _ => EnvThreads::Invalid,
    }
}

/// An environment variable's bytes, read with the C library's `getenv`, which
/// takes no lock (the standard library's environment lock could have been held
/// by another thread of the parent at the moment of a `fork()`).
#[cfg(unix)]
fn env_bytes(name: &str) -> Option<Vec<u8>> {
    let name = std::ffi::CString::new(name).ok()?;
    // SAFETY: `name` is a valid NUL-terminated string; getenv returns NULL or
    // a NUL-terminated string, which is copied at once.
    unsafe {
        let p = libc::getenv(name.as_ptr());
        (!p.is_null()).then(|| std::ffi::CStr::from_ptr(p).to_bytes().to_vec())
    }
}

#[cfg(not(unix))]
fn env_bytes(name: &str) -> Option<Vec<u8>> {
    std::env::var_os(name).map(|v| v.to_string_lossy().into_owned().into_bytes())
}

#[cfg(any(test, feature = "test-panic"))]
thread_local! {
    /// Test hooks, per calling thread so tests running at the same time do not
    /// see each other's: panic in the worker that computes this block index,
    /// and let only this many worker threads be spawned.
    static TEST_PANIC_BLOCK: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
    static TEST_SPAWN_LIMIT: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
}

/// Test hook (tests and feature `test-panic` only): the next parallel calls
/// made from this thread panic while computing block `block` (`None` = never).
#[cfg(any(test, feature = "test-panic"))]
#[doc(hidden)]
pub fn test_panic_in_block(block: Option<usize>) {
    TEST_PANIC_BLOCK.with(|c| c.set(block.unwrap_or(usize::MAX)));
}

/// Test hook (tests and feature `test-panic` only): the next parallel calls
/// made from this thread act as if the operating system refused to create
/// more than `limit` worker threads (`None` = no limit).
#[cfg(any(test, feature = "test-panic"))]
#[doc(hidden)]
pub fn test_spawn_limit(limit: Option<usize>) {
    TEST_SPAWN_LIMIT.with(|c| c.set(limit.unwrap_or(usize::MAX)));
}

/// The test hooks' values for this call: (block to panic in, spawn limit).
#[inline]
fn test_hooks() -> (usize, usize) {
    #[cfg(any(test, feature = "test-panic"))]
    {
        (TEST_PANIC_BLOCK.with(|c| c.get()), TEST_SPAWN_LIMIT.with(|c| c.get()))
    }
    #[cfg(not(any(test, feature = "test-panic")))]
    {
        (usize::MAX, usize::MAX)
    }
}

/// Applies `f` to every `block`-element piece of `data` (the last one may be
/// shorter) and returns the results in block order, using up to `threads`
/// threads, the calling thread included. The results, and their order, do not
/// depend on `threads` or on which thread computed which block.
///
/// # Panics
/// If `block` is 0, or if `f` panics (see [`fold_blocks`]).
pub fn map_blocks<T, R, F>(data: &[T], block: usize, threads: usize, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&[T]) -> R + Sync,
{
    assert!(block > 0, "map_blocks: block must not be 0");
    let blocks = data.len().div_ceil(block);
    let piece = |i: usize| &data[i * block..data.len().min((i + 1) * block)];
    let done = fold_blocks(blocks, threads, Vec::new, |done: &mut Vec<(usize, R)>, i| {
        done.push((i, f(piece(i))))
    });
    let mut slots: Vec<Option<R>> = (0..blocks).map(|_| None).collect();
    for (i, r) in done.into_iter().flatten() {
        slots[i] = Some(r);
    }
    slots
        .into_iter()
        .map(|r| r.expect("map_blocks: every block is computed exactly once"))
        .collect()
}

/// Runs `f(&mut state, i)` for every block index `i` in `0..blocks`, each
/// exactly once, on up to `threads` threads, the calling thread included;
/// every thread folds the blocks it takes into its own `state`, made by
/// `init`. Returns the states (at least one; in no particular order): callers
/// whose result must not depend on the thread count combine them with an
/// operation for which the split does not matter (exact sums, or results
/// placed by block index as [`map_blocks`] does).
///
/// Workers take the next block from a shared counter, so a thread that the
/// scheduler delays does not hold the others up. If a worker cannot be
/// spawned the others do its share; if `f` panics, the panic is resumed on
/// the calling thread after every worker has finished.
///
/// On one thread nothing is allocated here, so a sum still works when no
/// memory at all is left; on several, if the bookkeeping for the workers
/// cannot be allocated, the calling thread does all the blocks.
///
/// # Panics
/// If `f` panics.
pub fn fold_blocks<S, I, F>(blocks: usize, threads: usize, init: I, f: F) -> Folded<S>
where
    S: Send,
    I: Fn() -> S + Sync,
    F: Fn(&mut S, usize) + Sync,
{
    let threads = threads.clamp(1, blocks.max(1));
    let (panic_block, spawn_limit) = test_hooks();
    let compute = |state: &mut S, i: usize| {
        if i == panic_block {
            panic!("test panic in block {i}");
        }
        f(state, i)
    };
    let mut rest = Vec::new();
    if threads == 1 || rest.try_reserve_exact(threads - 1).is_err() {
        let mut state = init();
        for i in 0..blocks {
            compute(&mut state, i);
        }
        return Folded {
            first: state,
            rest: Vec::new(),
        };
    }

    let next = AtomicUsize::new(0);
    let work = || {
        let mut state = init();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= blocks {
                return state;
            }
            compute(&mut state, i);
        }
    };
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        // No memory for the handles: the calling thread does every block.
        let workers = if handles.try_reserve_exact(threads - 1).is_ok() {
            threads - 1
        } else {
            0
        };
        for k in 0..workers {
            let spawned = if k < spawn_limit {
                std::thread::Builder::new()
                    .name("mylib-sum".to_owned())
                    .spawn_scoped(scope, work)
            } else {
                Err(std::io::Error::other("test: spawn refused"))
            };
            match spawned {
                Ok(h) => handles.push(h),
                // Out of threads (EAGAIN, memory limits): run with those we have.
                Err(_) => break,
            }
        }
        // The calling thread works too. If it panics, `scope` joins the
        // workers before the panic continues.
        let first = work();
        let mut panic = None;
        for h in handles {
            match h.join() {
                Ok(state) => rest.push(state),
                Err(payload) => panic = panic.or(Some(payload)),
            }
        }
        if let Some(payload) = panic {
            resume_unwind(payload);
        }
        Folded { first, rest }
    })
}

/// The states of [`fold_blocks`]: the calling thread's and the workers'
/// (none on one thread: then nothing was allocated for them).
pub struct Folded<S> {
    first: S,
    rest: Vec<S>,
}

impl<S> IntoIterator for Folded<S> {
    type Item = S;
    type IntoIter = std::iter::Chain<std::iter::Once<S>, std::vec::IntoIter<S>>;

    fn into_iter(self) -> Self::IntoIter {
        std::iter::once(self.first).chain(self.rest)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::panic::{AssertUnwindSafe, catch_unwind};

    /// Held by the unit tests that change or read back the process-wide
    /// thread setting, so they do not see each other's values.
    pub(crate) static SETTING: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn parse_rules() {
        use EnvThreads::*;
        assert_eq!(parse_num_threads(b"1"), Threads(1));
        assert_eq!(parse_num_threads(b"8"), Threads(8));
        assert_eq!(parse_num_threads(b" 12\n"), Threads(12));
        assert_eq!(parse_num_threads(b"007"), Threads(7));
        assert_eq!(parse_num_threads(b"1024"), Threads(MAX_THREADS));
        assert_eq!(parse_num_threads(b"0"), Default);
        assert_eq!(parse_num_threads(b"000"), Default);
        assert_eq!(parse_num_threads(b""), Default);
        assert_eq!(parse_num_threads(b"   "), Default);
        for bad in [
            &b"1025"[..],
            b"-1",
            b"+2",
            b"2.5",
            b"4 threads",
            b"four",
            b"1e3",
            b"0x10",
            b"99999999999999999999999999",
            b"\xff",
        ] {
            assert_eq!(parse_num_threads(bad), Invalid, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn set_and_get() {
        // Other tests may run sums meanwhile: results never depend on this.
        let _lock = SETTING.lock().unwrap_or_else(|e| e.into_inner());
        let before = num_threads();
        assert!((1..=MAX_THREADS).contains(&before));
        assert!(set_num_threads(MAX_THREADS + 1).is_err());
        assert_eq!(num_threads(), before, "a refused value changes nothing");
        set_num_threads(3).unwrap();
        assert_eq!(num_threads(), 3);
        set_num_threads(0).unwrap();
        assert_eq!(num_threads(), default_threads());
        assert_eq!(default_threads(), compute_default());
    }

    #[test]
    fn blocks_in_order_for_every_thread_count() {
        let data: Vec<u32> = (0..1000).collect();
        for block in [1, 7, 16, 100, 999, 1000, 1001, 5000] {
            let want: Vec<(u32, usize)> = data.chunks(block).map(|c| (c[0], c.len())).collect();
            for threads in 0..=9 {
                let got = map_blocks(&data, block, threads, |c| (c[0], c.len()));
                assert_eq!(got, want, "block {block} threads {threads}");
            }
        }
        let empty: [u8; 0] = [];
        assert!(map_blocks(&empty, 4, 4, |c| c.len()).is_empty());
    }

    #[test]
    fn threads_really_run() {
        // With 4 threads and blocks that wait for each other, more than one
        // thread must be computing blocks at the same time.
        // Each block waits (up to 20 s) until a second thread has started one.
        use std::collections::HashSet;
        use std::sync::Mutex;
        use std::time::{Duration, Instant};
        let seen = Mutex::new(HashSet::new());
        let data = [0u8; 16];
        let t0 = Instant::now();
        let ids = map_blocks(&data, 1, 4, |_| {
            seen.lock().unwrap().insert(std::thread::current().id());
            while seen.lock().unwrap().len() < 2 && t0.elapsed() < Duration::from_secs(20) {
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::current().id()
        });
        assert_eq!(ids.len(), 16);
        assert!(seen.lock().unwrap().len() > 1, "only one thread computed blocks");
    }

    #[test]
    fn refused_spawns_fall_back_to_fewer_threads() {
        let data: Vec<u64> = (0..500).collect();
        let want: Vec<u64> = data.chunks(3).map(|c| c.iter().sum()).collect();
        for limit in [0, 1, 2] {
            test_spawn_limit(Some(limit));
            let threads = std::sync::Mutex::new(std::collections::HashSet::new());
            let got = map_blocks(&data, 3, 8, |c| {
                threads.lock().unwrap().insert(std::thread::current().id());
                c.iter().sum::<u64>()
            });
            assert_eq!(got, want, "limit {limit}");
            assert!(threads.lock().unwrap().len() <= limit + 1, "limit {limit}");
        }
        test_spawn_limit(None);
    }

    #[test]
    fn a_worker_panic_is_resumed_with_its_payload() {
        let data = [1u8; 100];
        for panic_block in [0, 5, 99] {
            for threads in [1, 2, 4] {
                test_panic_in_block(Some(panic_block));
                let r = catch_unwind(AssertUnwindSafe(|| map_blocks(&data, 1, threads, |c| c[0])));
                test_panic_in_block(None);
                let payload = r.expect_err("the panic must reach the caller");
                let msg = payload.downcast_ref::<String>().expect("the original payload");
                assert_eq!(msg, &format!("test panic in block {panic_block}"));
            }
        }
        // Still works afterwards.
        assert_eq!(map_blocks(&data, 10, 4, |c| c.len()), vec![10; 10]);
    }

    #[test]
    fn a_worker_panic_becomes_a_status_at_the_boundary() {
        use crate::error::{MylibStatus, last_error_code};
        let data = [1u8; 64];
        test_panic_in_block(Some(40));
        let v: std::ffi::c_int = crate::ffi::boundary("t", String::new, || {
            Ok(map_blocks(&data, 1, 4, |c| std::ffi::c_int::from(c[0])).len() as std::ffi::c_int)
        });
        test_panic_in_block(None);
        assert_eq!(v, 0);
        assert_eq!(last_error_code(), MylibStatus::MylibErrPanic);
    }
}
