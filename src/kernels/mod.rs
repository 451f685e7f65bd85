//! The sums: safe, fast, with run-time CPU dispatch, on one thread or
//! several, and the same bits for every choice.
//!
//! # `f64`: the exact sum, correctly rounded
//!
//! [`sum_f64`] returns the exact sum of its values rounded once to the
//! nearest double, ties to even — the bits of Python's `math.fsum` whenever
//! that is finite, and without its intermediate overflow
//! (`[1e308, 1e308, −1e308]` gives `1e308`). NaN if a NaN is present or both
//! `+inf` and `−inf`; else the infinity present; an exact sum beyond the
//! double range is an error carrying `±inf` ([`Overflow`]). The empty sum and
//! an exact zero are `+0.0`. Being the correctly rounded exact sum, the
//! result does not depend on the kernel, the thread count, the block size,
//! the alignment or the order of the values.
//!
//! It is computed in two ways:
//!
//! - **The certified pass** ([`lanes`]): TwoSum-compensated sums in 16 or 32
//!   SIMD lanes that also bound their own error, at about the cost of a
//!   plain sum. The lanes' sums and compensations go into an exact
//!   accumulator; when the bound cannot change the rounding (almost always,
//!   unless the data cancel by more than about 10^7), that rounding is the
//!   result.
//! - **Error-free extraction** ([`extract`]): for values within ~90 binades of
//!   each other (typical data, however much they cancel), two levels of
//!   Rump–Ogita–Oishi extraction hold every bit exactly, at about the cost of
//!   the certified pass. Used when the certificate fails, and by
//!   [`ExactSum`]'s adds, which must be exact.
//! - **The exponent bins** ([`bins`]): every value's significand added as an
//!   integer into a bin for its sign and exponent, carries spilled into an
//!   [`ExactSum`]. For what extraction cannot hold (values over the whole
//!   exponent range, NaN, infinities); its cost does not depend on the data.
//!
//! [`f64`](self::f64) chooses between them; [`ExactSum`] is the exact state,
//! mergeable and serialisable ([`format`]); [`strided`] takes n-dimensional
//! and strided arrays in place.
//!
//! # `i32`: exact integer sum
//!
//! [`sum_i32`] sign-extends to `i64` and adds in several independent 64-bit
//! accumulators (see [`i32`](self::i32)).
//!
//! # Threads
//!
//! A sum of `b` bytes runs on `min(T, max(1, ⌊b / 2 MiB⌋))` threads, the
//! calling thread included ([`MIN_BYTES_PER_THREAD`]), where `T` is
//! [`parallel::num_threads`] (`mylib_set_num_threads`, else
//! `MYLIB_NUM_THREADS`, else the CPUs available): below 4 MiB (524,288 `f64`,
//! 1,048,576 `i32`) a sum never starts a thread. Threads share out blocks of
//! [`BLOCK`] values; the threads are scoped to the call (no pool; see
//! [`crate::parallel`]). The `*_split` functions take the block size and
//! thread count explicitly, for tests (and Miri) that exercise the threaded
//! path on small inputs.
//!
//! # Dispatch
//!
//! `MYLIB_KERNEL=portable` (or `avx2`) in the environment caps the dispatch,
//! to run the fallbacks through the C and Python APIs.
//!
//! [`Path::Auto`] resolves at run time (detection is done once and cached in an
//! atomic) to the fastest kernel this CPU supports. Asking for a path the CPU
//! cannot run falls back to [`Path::Portable`]; it is never undefined behaviour.

use std::sync::atomic::{AtomicU8, Ordering};

use crate::parallel;

#[cfg(target_arch = "aarch64")]
mod arm;
pub(crate) mod bins;
pub mod exact;
pub(crate) mod extract;
pub mod f64;
pub mod format;
pub mod i32;
pub(crate) mod lanes;
pub mod strided;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use exact::{CountOverflow, ExactSum, Overflow};
pub use f64::{Route, Values, sum_f64, sum_f64_split, sum_f64_with, sum_values};
pub use format::FormatError;
pub use i32::{sum_i32, sum_i32_split, sum_i32_with};
pub use strided::{Elements, Layout};

/// Blocks are a multiple of this many values (the widest kernel's lanes).
const LANES: usize = 32;

/// Values per block: the unit of work that threads share (a multiple of
/// [`LANES`]; 512 KiB of `f64`).
///
/// cbindgen:ignore
pub const BLOCK: usize = 1 << 16;

/// The least data given a thread of its own: a sum of `b` bytes uses at
/// most `max(1, b / MIN_BYTES_PER_THREAD)` threads (2 MiB: 262,144 `f64`,
/// 524,288 `i32`). Measured on a 2-core machine: starting and joining a
/// scoped thread costs about 30 µs, and one core sums 2 MiB of
/// cache-resident doubles in about 45 µs, so below that a thread costs more
/// than it saves. (When the other cores are busy with other work, a thread
/// also waits for one to become free: there `MYLIB_NUM_THREADS=1` is faster.)
///
/// cbindgen:ignore
pub const MIN_BYTES_PER_THREAD: usize = 2 << 20;

/// Which implementation to run. `Auto` picks the best the CPU supports at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// The best path available on this CPU (see [`Path::best`]).
    Auto,
    /// Plain Rust with 16 lanes; runs everywhere.
    Portable,
    /// x86_64 AVX2 intrinsics (256-bit vectors).
    Avx2,
    /// x86_64 AVX-512F intrinsics (512-bit vectors).
    Avx512,
    /// aarch64 NEON intrinsics (128-bit vectors).
    Neon,
}

/// How a sum is split into blocks and threads (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split {
    /// Values per block; rounded up to a multiple of 32 (so at least 32).
    /// The default is [`BLOCK`]; results never depend on it.
    pub block: usize,
    /// The most threads to use, the calling thread included (0 counts as 1).
    pub threads: usize,
    /// The fewest elements per thread: a sum of `n` elements uses
    /// `min(threads, max(1, n / min_per_thread))` threads (0 counts as 1).
    pub min_per_thread: usize,
}

impl Split {
    /// What [`sum_f64`] and [`sum_i32`] use for `n` elements of type `T`:
    /// [`BLOCK`], [`MIN_BYTES_PER_THREAD`] worth of elements per thread, and
    /// [`parallel::num_threads`] (looked up only when `n` is large enough for
    /// a second thread).
    pub fn auto<T>(n: usize) -> Split {
        let min_per_thread = MIN_BYTES_PER_THREAD / size_of::<T>().max(1);
        let threads = if n >= 2 * min_per_thread {
            parallel::num_threads()
        } else {
            1
        };
        Split {
            block: BLOCK,
            threads,
            min_per_thread,
        }
    }

    /// The block length actually used: `block` rounded up to a multiple of 32.
    pub fn block_len(&self) -> usize {
        self.block.max(1).next_multiple_of(LANES)
    }

    /// The number of threads used for `n` elements (at least 1).
    pub fn threads_for(&self, n: usize) -> usize {
        let by_size = n / self.min_per_thread.max(1);
        self.threads.min(by_size).min(n.div_ceil(self.block_len())).max(1)
    }
}

const FEAT_DETECTED: u8 = 1;
const FEAT_AVX2: u8 = 2;
const FEAT_AVX512: u8 = 4;
const FEAT_NEON: u8 = 8;

static FEATURES: AtomicU8 = AtomicU8::new(0);

/// Detected CPU features as `FEAT_*` bits (detected once, then cached).
#[inline]
fn features() -> u8 {
    let cached = FEATURES.load(Ordering::Relaxed);
    if cached != 0 {
        return cached;
    }
    let detected = detect();
    FEATURES.store(detected, Ordering::Relaxed);
    detected
}

#[cold]
fn detect() -> u8 {
    #[allow(unused_mut)]
    let mut f = FEAT_DETECTED;
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            f |= FEAT_AVX2;
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            f |= FEAT_AVX512;
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        if std::arch::is_aarch64_feature_detected!("neon") {
            f |= FEAT_NEON;
        }
    }
    // MYLIB_KERNEL caps the dispatch, so the fallbacks can be exercised (and
    // measured) through the C and Python APIs on a machine that has more:
    // "portable" uses no SIMD path, "avx2" no AVX-512. It never enables a path
    // the CPU lacks. Read once, with the CPU detection.
    match std::env::var("MYLIB_KERNEL").as_deref() {
        Ok("portable") => f = FEAT_DETECTED,
        Ok("avx2") => f &= !FEAT_AVX512,
        _ => {}
    }
    f
}

impl Path {
    /// The paths this CPU can run (always includes Portable), for tests and benchmarks.
    pub fn available() -> Vec<Path> {
        [Path::Portable, Path::Avx2, Path::Avx512, Path::Neon]
            .into_iter()
            .filter(|p| p.is_available())
            .collect()
    }

    /// The path `Auto` resolves to on this CPU (cached after first detection; cheap).
    pub fn best() -> Path {
        let f = features();
        // Measured on AMD EPYC (Zen 4): AVX-512 is equal to AVX2 on
        // memory-bound inputs and 5-10% faster on cache-resident ones; both
        // give bit-identical results.
        if f & FEAT_AVX512 != 0 {
            Path::Avx512
        } else if f & FEAT_AVX2 != 0 {
            Path::Avx2
        } else if f & FEAT_NEON != 0 {
            Path::Neon
        } else {
            Path::Portable
        }
    }

    /// short lowercase name: "portable", "avx2", ...
    pub fn name(self) -> &'static str {
        match self {
            Path::Auto => "auto",
            Path::Portable => "portable",
            Path::Avx2 => "avx2",
            Path::Avx512 => "avx512",
            Path::Neon => "neon",
        }
    }

    /// Whether this CPU can run the path (`Auto` and `Portable` always can).
    fn is_available(self) -> bool {
        let f = features();
        match self {
            Path::Auto | Path::Portable => true,
            Path::Avx2 => f & FEAT_AVX2 != 0,
            Path::Avx512 => f & FEAT_AVX512 != 0,
            Path::Neon => f & FEAT_NEON != 0,
        }
    }

    /// The concrete path to run: `Auto` → best, unavailable → `Portable`.
    #[inline]
    fn resolve(self) -> Path {
        match self {
            Path::Auto => Path::best(),
            p if p.is_available() => p,
            _ => Path::Portable,
        }
    }
}

/// Whether floating-point arithmetic is in the IEEE default mode that the
/// certified pass relies on: round to nearest (ties to even), subnormals
/// kept (no flush-to-zero, no denormals-are-zero). A host program can change
/// it (`fesetround`, or code built with `-ffast-math` setting FTZ/DAZ), so it
/// is checked at run time, on the calling thread (whose mode the sum's
/// threads inherit); where it is not the default, sums take the exact path,
/// which uses integer arithmetic only.
pub(crate) fn fp_env_is_default() -> bool {
    use std::hint::black_box;
    let one = black_box(1.0f64);
    let half_ulp = black_box(f64::EPSILON / 2.0); // 2^-53: a tie
    let three_quarters = black_box(f64::EPSILON * 0.75); // 3 · 2^-54
    let tiny = black_box(f64::from_bits(1)); // 2^-1074
    one + half_ulp == 1.0 // ties to even, not upward
        && one + three_quarters == 1.0 + f64::EPSILON // to nearest, not down or toward zero
        && -one - three_quarters == -(1.0 + f64::EPSILON) // to nearest, not up
        // No FTZ / DAZ. Compared by its bits: under DAZ (x86) or FZ (aarch64)
        // a floating-point comparison reads a subnormal operand as zero, so
        // `0.0 == 2^-1073` would hold there.
        && (tiny + tiny).to_bits() == 2
}

#[cfg(test)]
pub(crate) mod tests;
