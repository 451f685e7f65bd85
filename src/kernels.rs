//! Safe, fast summation kernels with run-time CPU dispatch, split into fixed
//! blocks that threads share without changing a single bit of the result.
//!
//! # `f64`: compensated summation in fixed blocks
//!
//! [`sum_f64`] computes a Neumaier (improved Kahan–Babuška) compensated sum.
//!
//! **Blocks.** The input is cut into blocks of [`BLOCK`] = 65,536 elements
//! (the last one shorter). The cut depends on the length only, never on the
//! thread count or the CPU: threads share out whole blocks (see *Threads*
//! below) and the one-thread path computes the very same blocks.
//!
//! **Within a block** every kernel uses the same lane structure: the block is
//! split into groups of 16 elements and element `i` of each group is added to
//! lane `i` (16 lanes in total: 4 × 256-bit vectors for AVX2, 2 × 512-bit
//! vectors for AVX-512, 8 × 128-bit vectors for NEON, a `[f64; 16]` array for
//! the portable kernel). Each lane keeps a running sum `s` and a compensation
//! `c`, updated branch-free by
//!
//! ```text
//! t = s + x
//! c += if |s| >= |x| { (s - t) + x } else { (x - t) + s }   // exact error of s + x
//! s = t
//! ```
//!
//! Then the 16 lane sums, then the 16 lane compensations, then the block's
//! `len % 16` tail elements are fed, in that order, through the same scalar
//! Neumaier step starting from `(0, 0)`, giving the block's pair `(s_k, c_k)`
//! (kept as a pair, not rounded to one number).
//!
//! **Across blocks** the pairs are combined in block order: each `s_k` goes
//! through the scalar Neumaier step into a running `(s, c)` starting from
//! `(0, 0)`, then `c_k` is added to `c`. The result is `s + c`. With one block
//! (`n ≤ 65,536`) the combination is exact: the result is `s_0 + c_0`.
//!
//! **Error bound.** Per lane this is exactly the computation of
//! Ogita–Rump–Oishi `Sum2` (the rounding error of every addition is captured
//! exactly by the branch-free Fast2Sum above and the errors are summed
//! separately); each block's finish is one more `Sum2` over at most 47
//! values; the combination is a `Sum2` over the `K` block sums whose error sum
//! also collects the block compensations. With `u = 2^-53`, `S = Σ x_i` the
//! exact sum, `L = min(⌈n/16⌉, 4096)` the longest lane of a block and
//! `K = ⌈n/65536⌉` the number of blocks, the result `r` satisfies, to first
//! order in `u` (terms of order `u³·Σ|x_i|` are left out),
//!
//! ```text
//! |r − S| ≤ u·|S| + (L² + 2116 + 2K(K + 45))·u²·Σ|x_i|
//! ```
//!
//! where `L²` comes from the lanes, `2116 = 46²` from a block's finish and
//! `2K(K + 45)` from the combination (absent for `K = 1`, where it is exact).
//! For `n = 10^8`: `L² + 2116 + 2K(K + 45) ≈ 2.2·10^7`. The result is as
//! accurate as if the sum had been computed with about twice the working
//! precision and then rounded once. It is therefore the correctly rounded sum
//! or one of its two neighbours (within 1 ulp) whenever the condition number
//! `Σ|x_i| / |S|` is below `1 / (2(L² + 2116 + 2K(K + 45))·u)` (about `2·10^8`
//! at any length: the blocks keep `L` and, below 10^9 elements, `K` small).
//! That worst case assumes all rounding errors align; for data without
//! systematic bias the second term grows roughly like the square root of that
//! constant. Measured against an exact (Shewchuk / `math.fsum`) reference
//! (`kernels::tests::accuracy_survey`): on `normal × 10^U(−8, 8)` data of 10^3
//! to 10^7 elements every result was the correctly rounded sum; on shuffled
//! cancelling data (such values plus one that brings the exact sum to
//! `Σ|x_i| / κ`) of 10^5 to 10^7 elements every result was correctly rounded
//! for condition numbers `κ` up to 10^15, within 2 ulps at 10^16 and within
//! 7 ulps at 10^17. Sums whose every
//! intermediate rounding error is representable and that do not overflow,
//! such as `[0.1; 10]` (→ `1.0`), `[1e16, 1.0, -1e16] * k` (→ `k`) or
//! `[1.0, 1e100, 1.0, -1e100]` (→ `2.0`), come out exact (tested for all
//! paths, lengths and start offsets).
//!
//! **Paths and thread counts agree bitwise.** Because every path (portable,
//! AVX2, AVX-512, NEON) uses the identical lane structure, identical per-lane
//! operations and the identical finish, and because blocks are fixed and
//! combined in a fixed order, every path and every thread count return
//! bit-for-bit the same result for the same input (this is tested). No FMA
//! contraction is involved. (A different [`Split::block`] is a different
//! summation order; only the default [`BLOCK`] is what the C API uses.)
//! A NaN result is always the canonical quiet NaN (`f64::NAN`), whatever NaN
//! the operations produced.
//!
//! **Non-finite values.** If any element is NaN the result is NaN; `+inf`
//! together with `-inf` gives NaN; `+inf` (only) gives `+inf` and `-inf` (only)
//! gives `-inf`. When the running sum itself overflows (the partial sums exceed
//! `f64::MAX` in magnitude even though the final sum might not) the result is
//! `±inf` or NaN, like an uncompensated sum; compensation never turns an
//! infinite sum into NaN. The sum of an empty slice is `+0.0`; the sign of a
//! zero result is not otherwise specified (an all-`-0.0` input gives `+0.0`).
//!
//! # `i32`: exact integer sum
//!
//! [`sum_i32`] sign-extends to `i64` and adds in several independent 64-bit
//! accumulators, one block of [`BLOCK`] elements at a time (a block's sum
//! cannot overflow `i64`); block sums are combined in `i128`, so the function
//! returns `None` only if the exact sum does not fit in `i64`, which needs
//! more than `2^32` elements. The result is exact, so it is the same for every
//! path and thread count.
//!
//! # Threads
//!
//! A sum of `b` bytes runs on `min(T, max(1, ⌊b / 2 MiB⌋))` threads, the
//! calling thread included ([`MIN_BYTES_PER_THREAD`]), where `T` is
//! [`parallel::num_threads`] (`mylib_set_num_threads`, else
//! `MYLIB_NUM_THREADS`, else the CPUs available): below 4 MiB (524,288 `f64`,
//! 1,048,576 `i32`) a sum never starts a thread. The threads are scoped to the
//! call (no pool; see [`crate::parallel`]). The `*_split` functions take the
//! block size and thread count explicitly, for tests (and Miri) that exercise
//! the threaded path on small inputs.
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

/// Number of independent summation lanes shared by every `f64` kernel.
const LANES: usize = 16;

/// Elements per block: the fixed unit of work that threads share (a multiple
/// of 16; 512 KiB of `f64`). Part of the summation order of `f64` sums.
///
/// cbindgen:ignore
pub const BLOCK: usize = 1 << 16;

/// The least data given a thread of its own: a sum of `b` bytes uses at
/// most `max(1, b / MIN_BYTES_PER_THREAD)` threads (2 MiB: 262,144 `f64`,
/// 524,288 `i32`). Measured on the 2-core AMD EPYC machine this was tuned
/// on: starting and joining a scoped thread costs about 30 µs, and one core
/// sums 2 MiB of cache-resident doubles in about 45 µs, so below that a
/// thread costs more than it saves. (When the other cores are busy with
/// other work, a thread also waits for one to become free: there
/// `MYLIB_NUM_THREADS=1` is faster.)
///
/// cbindgen:ignore
pub const MIN_BYTES_PER_THREAD: usize = 2 << 20;

/// Which implementation to run. `Auto` picks the best the CPU supports at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// The best path available on this CPU (see [`Path::best`]).
    Auto,
    /// Plain Rust with 16 independent accumulators; runs everywhere.
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
    /// Elements per block; rounded up to a multiple of 16 (so at least 16).
    /// The default, [`BLOCK`], is the one the C API uses; the `f64` result
    /// depends on it (it is part of the summation order).
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

    /// The block length actually used: `block` rounded up to a multiple of 16.
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

/// Compensated (Neumaier-style, per SIMD lane, in fixed blocks) sum of f64.
///
/// See the [module documentation](self) for the algorithm, the error bound,
/// the threads and the handling of NaN and infinities. Equivalent to
/// `sum_f64_with(Path::Auto, data)`.
pub fn sum_f64(data: &[f64]) -> f64 {
    sum_f64_with(Path::Auto, data)
}

/// [`sum_f64`] with an explicit implementation choice.
///
/// A path this CPU cannot run falls back to [`Path::Portable`]. All paths return
/// bit-identical results, whatever the thread count.
pub fn sum_f64_with(path: Path, data: &[f64]) -> f64 {
    sum_f64_split(path, data, Split::auto::<f64>(data.len()))
}

/// [`sum_f64`] with an explicit path, block size and thread count.
///
/// For a given [`Split::block_len`] the result is the same bits for every
/// path and every thread count; with `block` = [`BLOCK`] it is
/// [`sum_f64_with`]'s result.
pub fn sum_f64_split(path: Path, data: &[f64], split: Split) -> f64 {
    let kernel = f64_kernel(path);
    let block = split.block_len();
    let threads = split.threads_for(data.len());
    let mut acc = Combine::default();
    if threads == 1 {
        for b in data.chunks(block) {
            acc.add(kernel(b));
        }
    } else {
        for pair in parallel::map_blocks(data, block, threads, kernel) {
            acc.add(pair);
        }
    }
    acc.finish()
}

/// The block kernel of `path`: a block's `(s_k, c_k)` pair.
fn f64_kernel(path: Path) -> fn(&[f64]) -> (f64, f64) {
    match path.resolve() {
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 => |d| {
            // SAFETY: `resolve` returns `Avx2` only if run-time detection found
            // AVX2 on this CPU, which is the only requirement of the kernel.
            unsafe { x86::block_f64_avx2(d) }
        },
        #[cfg(target_arch = "x86_64")]
        Path::Avx512 => |d| {
            // SAFETY: `resolve` returns `Avx512` only if run-time detection
            // found AVX-512F on this CPU, which is the only requirement of the kernel.
            unsafe { x86::block_f64_avx512(d) }
        },
        #[cfg(target_arch = "aarch64")]
        Path::Neon => |d| {
            // SAFETY: `resolve` returns `Neon` only if run-time detection
            // found NEON on this CPU, which is the only requirement of the kernel.
            unsafe { arm::block_f64_neon(d) }
        },
        #[cfg(not(target_arch = "x86_64"))]
        Path::Avx2 | Path::Avx512 => block_f64_portable,
        #[cfg(not(target_arch = "aarch64"))]
        Path::Neon => block_f64_portable,
        Path::Auto | Path::Portable => block_f64_portable,
    }
}

/// Exact sum of i32 into i64.
///
/// Returns `None` only if the exact sum does not fit in `i64`, which requires
/// more than `2^32` elements. Equivalent to `sum_i32_with(Path::Auto, data)`.
pub fn sum_i32(data: &[i32]) -> Option<i64> {
    sum_i32_with(Path::Auto, data)
}

/// [`sum_i32`] with an explicit implementation choice.
///
/// A path this CPU cannot run falls back to [`Path::Portable`].
pub fn sum_i32_with(path: Path, data: &[i32]) -> Option<i64> {
    sum_i32_split(path, data, Split::auto::<i32>(data.len()))
}

/// [`sum_i32`] with an explicit path, block size and thread count. The
/// result is exact, so it is the same for every path, block and thread count.
pub fn sum_i32_split(path: Path, data: &[i32], split: Split) -> Option<i64> {
    // A block has fewer than 2^32 elements of magnitude at most 2^31, so its
    // sum is below 2^63 in magnitude and no kernel can overflow (the kernels
    // add with wrapping arithmetic, which is exact whenever the true result fits).
    const MAX_BLOCK: usize = u32::MAX as usize;
    let kernel = i32_kernel(path);
    let block = split.block_len().min(MAX_BLOCK / LANES * LANES);
    let threads = split.threads_for(data.len());
    let total: i128 = if threads == 1 {
        data.chunks(block).map(|b| i128::from(kernel(b))).sum()
    } else {
        parallel::map_blocks(data, block, threads, kernel)
            .into_iter()
            .map(i128::from)
            .sum()
    };
    i64::try_from(total).ok()
}

/// The block kernel of `path` for `i32` (wrapping `i64`; exact for fewer than 2^32 elements).
fn i32_kernel(path: Path) -> fn(&[i32]) -> i64 {
    match path.resolve() {
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 => |d| {
            // SAFETY: `resolve` returns `Avx2` only if run-time detection found
            // AVX2 on this CPU, which is the only requirement of the kernel.
            unsafe { x86::sum_i32_avx2(d) }
        },
        #[cfg(target_arch = "x86_64")]
        Path::Avx512 => |d| {
            // SAFETY: `resolve` returns `Avx512` only if run-time detection
            // found AVX-512F on this CPU, which is the only requirement of the kernel.
            unsafe { x86::sum_i32_avx512(d) }
        },
        #[cfg(target_arch = "aarch64")]
        Path::Neon => |d| {
            // SAFETY: `resolve` returns `Neon` only if run-time detection
            // found NEON on this CPU, which is the only requirement of the kernel.
            unsafe { arm::sum_i32_neon(d) }
        },
        #[cfg(not(target_arch = "x86_64"))]
        Path::Avx2 | Path::Avx512 => sum_i32_portable,
        #[cfg(not(target_arch = "aarch64"))]
        Path::Neon => sum_i32_portable,
        Path::Auto | Path::Portable => sum_i32_portable,
    }
}

/// One Neumaier step: adds `x` to the running sum `s`, accumulating the exact
/// rounding error of that addition into `c`.
#[inline(always)]
fn neumaier(s: &mut f64, c: &mut f64, x: f64) {
    let t = *s + x;
    let (big, small) = if s.abs() >= x.abs() { (*s, x) } else { (x, *s) };
    *c += (big - t) + small;
    *s = t;
}

/// A block's finish: combines its per-lane sums and compensations, then adds
/// its tail, all with scalar Neumaier steps, into the block's `(s_k, c_k)`.
/// Shared by every kernel so that all paths agree bitwise.
///
/// When the block's running sum is not finite (a NaN or infinity in the
/// block, or overflow), `s_k` is the plain sum (NaN if any NaN or `+inf` with
/// `-inf`, else ±inf) and `c_k` is 0: the compensation may be NaN and must not
/// leak into the result.
#[inline]
fn finish_block(lane_s: &[f64; LANES], lane_c: &[f64; LANES], tail: &[f64]) -> (f64, f64) {
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for &v in lane_s {
        neumaier(&mut s, &mut c, v);
    }
    if !s.is_finite() {
        return (tail.iter().fold(s, |acc, &x| acc + x), 0.0);
    }
    // All lane sums finite implies all lane compensations finite.
    for &v in lane_c {
        neumaier(&mut s, &mut c, v);
    }
    for &x in tail {
        neumaier(&mut s, &mut c, x);
    }
    if s.is_finite() { (s, c) } else { (s, 0.0) }
}

/// The combination of the blocks' pairs, in block order (see the module docs).
#[derive(Default)]
struct Combine {
    s: f64,
    c: f64,
}

impl Combine {
    #[inline]
    fn add(&mut self, (s_k, c_k): (f64, f64)) {
        neumaier(&mut self.s, &mut self.c, s_k);
        self.c += c_k;
    }

    /// `s + c`; when `s` (the plain sum of the block sums) is not finite it
    /// is the result as it stands, since `c` may be NaN.
    #[inline]
    fn finish(self) -> f64 {
        canonical_nan(if self.s.is_finite() { self.s + self.c } else { self.s })
    }
}

/// One NaN for every path: which NaN operand an addition propagates (sign,
/// payload) depends on the operand order, which the compiler may commute, so
/// the paths could otherwise return NaNs with different bits (found by the
/// property tests: `inf`, `-inf` and `NaN` in one lane).
#[inline]
fn canonical_nan(x: f64) -> f64 {
    if x.is_nan() { f64::NAN } else { x }
}

/// Portable kernel: 16 independent scalar Neumaier accumulators over one block.
fn block_f64_portable(data: &[f64]) -> (f64, f64) {
    let mut s = [0.0f64; LANES];
    let mut c = [0.0f64; LANES];
    let blocks = data.chunks_exact(LANES);
    let tail = blocks.remainder();
    for block in blocks {
        for i in 0..LANES {
            neumaier(&mut s[i], &mut c[i], block[i]);
        }
    }
    finish_block(&s, &c, tail)
}

/// Portable kernel: 16 independent `i64` accumulators (wrapping; exact for
/// fewer than 2^32 elements).
fn sum_i32_portable(data: &[i32]) -> i64 {
    const N: usize = 16;
    let mut acc = [0i64; N];
    let blocks = data.chunks_exact(N);
    let tail = blocks.remainder();
    for block in blocks {
        for i in 0..N {
            acc[i] = acc[i].wrapping_add(i64::from(block[i]));
        }
    }
    let total = acc.iter().fold(0i64, |a, &b| a.wrapping_add(b));
    tail.iter().fold(total, |a, &x| a.wrapping_add(i64::from(x)))
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{LANES, finish_block};
    use std::arch::x86_64::*;

    /// Neumaier step on 4 lanes.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn neumaier4(s: &mut __m256d, c: &mut __m256d, x: __m256d) {
        let abs_mask = _mm256_castsi256_pd(_mm256_set1_epi64x(i64::MAX));
        let t = _mm256_add_pd(*s, x);
        let s_ge_x = _mm256_cmp_pd::<_CMP_GE_OQ>(_mm256_and_pd(*s, abs_mask), _mm256_and_pd(x, abs_mask));
        let big = _mm256_blendv_pd(x, *s, s_ge_x);
        let small = _mm256_blendv_pd(*s, x, s_ge_x);
        *c = _mm256_add_pd(*c, _mm256_add_pd(_mm256_sub_pd(big, t), small));
        *s = t;
    }

    /// AVX2 kernel: 4 × 4 lanes over one block.
    #[target_feature(enable = "avx2")]
    pub(super) fn block_f64_avx2(data: &[f64]) -> (f64, f64) {
        let mut s = [_mm256_setzero_pd(); 4];
        let mut c = [_mm256_setzero_pd(); 4];
        let blocks = data.chunks_exact(LANES);
        let tail = blocks.remainder();
        for block in blocks {
            let p = block.as_ptr();
            // SAFETY: `block` has exactly LANES = 16 elements, so the four
            // unaligned 4-element loads at offsets 0, 4, 8, 12 are in bounds.
            let x = unsafe {
                [
                    _mm256_loadu_pd(p),
                    _mm256_loadu_pd(p.add(4)),
                    _mm256_loadu_pd(p.add(8)),
                    _mm256_loadu_pd(p.add(12)),
                ]
            };
            for k in 0..4 {
                neumaier4(&mut s[k], &mut c[k], x[k]);
            }
        }
        let mut ls = [0.0f64; LANES];
        let mut lc = [0.0f64; LANES];
        for k in 0..4 {
            // SAFETY: `ls` and `lc` have 16 elements; offset 4k + 4 <= 16.
            unsafe {
                _mm256_storeu_pd(ls.as_mut_ptr().add(4 * k), s[k]);
                _mm256_storeu_pd(lc.as_mut_ptr().add(4 * k), c[k]);
            }
        }
        finish_block(&ls, &lc, tail)
    }

    /// Neumaier step on 8 lanes.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn neumaier8(s: &mut __m512d, c: &mut __m512d, x: __m512d) {
        let t = _mm512_add_pd(*s, x);
        let s_ge_x = _mm512_cmp_pd_mask::<_CMP_GE_OQ>(_mm512_abs_pd(*s), _mm512_abs_pd(x));
        let big = _mm512_mask_blend_pd(s_ge_x, x, *s);
        let small = _mm512_mask_blend_pd(s_ge_x, *s, x);
        *c = _mm512_add_pd(*c, _mm512_add_pd(_mm512_sub_pd(big, t), small));
        *s = t;
    }

    /// AVX-512 kernel: 2 × 8 lanes over one block (same lane structure as AVX2 and portable).
    #[target_feature(enable = "avx512f")]
    pub(super) fn block_f64_avx512(data: &[f64]) -> (f64, f64) {
        let mut s = [_mm512_setzero_pd(); 2];
        let mut c = [_mm512_setzero_pd(); 2];
        let blocks = data.chunks_exact(LANES);
        let tail = blocks.remainder();
        for block in blocks {
            let p = block.as_ptr();
            // SAFETY: `block` has exactly 16 elements, so the two unaligned
            // 8-element loads at offsets 0 and 8 are in bounds.
            let x = unsafe { [_mm512_loadu_pd(p), _mm512_loadu_pd(p.add(8))] };
            for k in 0..2 {
                neumaier8(&mut s[k], &mut c[k], x[k]);
            }
        }
        let mut ls = [0.0f64; LANES];
        let mut lc = [0.0f64; LANES];
        for k in 0..2 {
            // SAFETY: `ls` and `lc` have 16 elements; offset 8k + 8 <= 16.
            unsafe {
                _mm512_storeu_pd(ls.as_mut_ptr().add(8 * k), s[k]);
                _mm512_storeu_pd(lc.as_mut_ptr().add(8 * k), c[k]);
            }
        }
        finish_block(&ls, &lc, tail)
    }

    /// AVX2 kernel: 4 × 4 `i64` accumulators, 16 elements per iteration.
    /// Wrapping; exact for fewer than 2^32 elements.
    #[target_feature(enable = "avx2")]
    pub(super) fn sum_i32_avx2(data: &[i32]) -> i64 {
        const N: usize = 16;
        let mut acc = [_mm256_setzero_si256(); 4];
        let blocks = data.chunks_exact(N);
        let tail = blocks.remainder();
        for block in blocks {
            let p = block.as_ptr().cast::<__m128i>();
            for (k, a) in acc.iter_mut().enumerate() {
                // SAFETY: `block` has 16 i32 = 4 × 16 bytes; load k (k < 4)
                // reads bytes 16k..16k+16, in bounds; loadu allows any alignment.
                let v = unsafe { _mm_loadu_si128(p.add(k)) };
                *a = _mm256_add_epi64(*a, _mm256_cvtepi32_epi64(v));
            }
        }
        let sum = _mm256_add_epi64(_mm256_add_epi64(acc[0], acc[1]), _mm256_add_epi64(acc[2], acc[3]));
        let mut lanes = [0i64; 4];
        // SAFETY: `lanes` is 32 bytes, exactly one unaligned 256-bit store.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), sum) };
        let total = lanes.iter().fold(0i64, |a, &b| a.wrapping_add(b));
        tail.iter().fold(total, |a, &x| a.wrapping_add(i64::from(x)))
    }

    /// AVX-512 kernel: 4 × 8 `i64` accumulators, 32 elements per iteration.
    /// Wrapping; exact for fewer than 2^32 elements.
    #[target_feature(enable = "avx512f")]
    pub(super) fn sum_i32_avx512(data: &[i32]) -> i64 {
        const N: usize = 32;
        let mut acc = [_mm512_setzero_si512(); 4];
        let blocks = data.chunks_exact(N);
        let tail = blocks.remainder();
        for block in blocks {
            let p = block.as_ptr().cast::<__m256i>();
            for (k, a) in acc.iter_mut().enumerate() {
                // SAFETY: `block` has 32 i32 = 4 × 32 bytes; load k (k < 4)
                // reads bytes 32k..32k+32, in bounds; loadu allows any alignment.
                let v = unsafe { _mm256_loadu_si256(p.add(k)) };
                *a = _mm512_add_epi64(*a, _mm512_cvtepi32_epi64(v));
            }
        }
        let sum = _mm512_add_epi64(_mm512_add_epi64(acc[0], acc[1]), _mm512_add_epi64(acc[2], acc[3]));
        let mut lanes = [0i64; 8];
        // SAFETY: `lanes` is 64 bytes, exactly one unaligned 512-bit store.
        unsafe { _mm512_storeu_si512(lanes.as_mut_ptr().cast(), sum) };
        let total = lanes.iter().fold(0i64, |a, &b| a.wrapping_add(b));
        tail.iter().fold(total, |a, &x| a.wrapping_add(i64::from(x)))
    }
}

#[cfg(target_arch = "aarch64")]
mod arm {
    use super::{LANES, finish_block};
    use std::arch::aarch64::*;

    /// Neumaier step on 2 lanes: the portable step, lane by lane (a NaN
    /// compares false, as `f64::abs(s) >= f64::abs(x)` does there).
    #[inline]
    #[target_feature(enable = "neon")]
    fn neumaier2(s: &mut float64x2_t, c: &mut float64x2_t, x: float64x2_t) {
        let t = vaddq_f64(*s, x);
        let s_ge_x = vcgeq_f64(vabsq_f64(*s), vabsq_f64(x));
        let big = vbslq_f64(s_ge_x, *s, x);
        let small = vbslq_f64(s_ge_x, x, *s);
        *c = vaddq_f64(*c, vaddq_f64(vsubq_f64(big, t), small));
        *s = t;
    }

    /// NEON kernel: 8 × 2 lanes over one block (vector `k` holds lanes
    /// `2k` and `2k + 1`: the same lane structure as the other paths).
    #[target_feature(enable = "neon")]
    pub(super) fn block_f64_neon(data: &[f64]) -> (f64, f64) {
        let mut s = [vdupq_n_f64(0.0); 8];
        let mut c = [vdupq_n_f64(0.0); 8];
        let blocks = data.chunks_exact(LANES);
        let tail = blocks.remainder();
        for block in blocks {
            let p = block.as_ptr();
            for k in 0..8 {
                // SAFETY: `block` has exactly 16 elements, so the 2-element
                // load at offset 2k (k < 8) is in bounds; vld1q needs only
                // the element alignment a `&[f64]` has.
                let x = unsafe { vld1q_f64(p.add(2 * k)) };
                neumaier2(&mut s[k], &mut c[k], x);
            }
        }
        let mut ls = [0.0f64; LANES];
        let mut lc = [0.0f64; LANES];
        for k in 0..8 {
            // SAFETY: `ls` and `lc` have 16 elements; offset 2k + 2 <= 16.
            unsafe {
                vst1q_f64(ls.as_mut_ptr().add(2 * k), s[k]);
                vst1q_f64(lc.as_mut_ptr().add(2 * k), c[k]);
            }
        }
        finish_block(&ls, &lc, tail)
    }

    /// NEON kernel: 4 × 2 `i64` accumulators, 16 elements per iteration
    /// (`vpadalq_s32` adds adjacent pairs of `i32` into the `i64` lanes).
    /// Wrapping; exact for fewer than 2^32 elements.
    #[target_feature(enable = "neon")]
    pub(super) fn sum_i32_neon(data: &[i32]) -> i64 {
        const N: usize = 16;
        let mut acc = [vdupq_n_s64(0); 4];
        let blocks = data.chunks_exact(N);
        let tail = blocks.remainder();
        for block in blocks {
            let p = block.as_ptr();
            for (k, a) in acc.iter_mut().enumerate() {
                // SAFETY: `block` has exactly 16 elements, so the 4-element
                // load at offset 4k (k < 4) is in bounds; vld1q needs only
                // the element alignment a `&[i32]` has.
                let v = unsafe { vld1q_s32(p.add(4 * k)) };
                *a = vpadalq_s32(*a, v);
            }
        }
        let sum = vaddq_s64(vaddq_s64(acc[0], acc[1]), vaddq_s64(acc[2], acc[3]));
        let total = vgetq_lane_s64::<0>(sum).wrapping_add(vgetq_lane_s64::<1>(sum));
        tail.iter().fold(total, |a, &x| a.wrapping_add(i64::from(x)))
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic xorshift64 PRNG.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
        /// Uniform in [0, 1).
        fn uniform(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
        /// Standard normal (Box–Muller).
        fn normal(&mut self) -> f64 {
            let u1 = 1.0 - self.uniform();
            let u2 = self.uniform();
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        }
        /// `normal * 10^uniform(-8, 8)`: mixed magnitudes.
        fn mixed(&mut self) -> f64 {
            self.normal() * 10f64.powf(self.uniform() * 16.0 - 8.0)
        }
    }

    /// Correctly rounded sum (Shewchuk's algorithm, as in Python's `math.fsum`).
    fn fsum(data: &[f64]) -> f64 {
        let mut partials: Vec<f64> = Vec::new();
        for &x0 in data {
            let mut x = x0;
            let mut i = 0;
            for j in 0..partials.len() {
                let mut y = partials[j];
                if x.abs() < y.abs() {
                    std::mem::swap(&mut x, &mut y);
                }
                let hi = x + y;
                let lo = y - (hi - x);
                if lo != 0.0 {
                    partials[i] = lo;
                    i += 1;
                }
                x = hi;
            }
            partials.truncate(i);
            partials.push(x);
        }
        let mut n = partials.len();
        if n == 0 {
            return 0.0;
        }
        n -= 1;
        let mut hi = partials[n];
        let mut lo = 0.0;
        while n > 0 {
            let x = hi;
            n -= 1;
            let y = partials[n];
            hi = x + y;
            let yr = hi - x;
            lo = y - yr;
            if lo != 0.0 {
                break;
            }
        }
        if n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            let yr = x - hi;
            if y == yr {
                hi = x;
            }
        }
        hi
    }

    /// Distance in ulps between two finite doubles (0 for +0.0 vs -0.0).
    fn ulps(a: f64, b: f64) -> u64 {
        fn key(x: f64) -> i64 {
            let b = x.to_bits() as i64;
            if b < 0 { i64::MIN.wrapping_sub(b) } else { b }
        }
        key(a).abs_diff(key(b))
    }

    /// Every available path, plus `Portable` and `Auto` explicitly, plus every
    /// other variant (which must fall back safely if unavailable).
    fn paths() -> Vec<Path> {
        let mut v = Path::available();
        for p in [Path::Portable, Path::Auto, Path::Avx2, Path::Avx512, Path::Neon] {
            if !v.contains(&p) {
                v.push(p);
            }
        }
        v
    }

    fn naive_i32(d: &[i32]) -> i64 {
        d.iter().map(|&x| i64::from(x)).sum()
    }

    #[test]
    fn detection() {
        let av = Path::available();
        assert!(av.contains(&Path::Portable));
        assert!(!av.contains(&Path::Auto));
        assert!(av.contains(&Path::best()));
        assert_eq!(Path::best(), Path::best());
        assert_eq!(Path::Portable.name(), "portable");
        assert_eq!(Path::Avx2.name(), "avx2");
        assert_eq!(Path::Avx512.name(), "avx512");
        assert_eq!(Path::Neon.name(), "neon");
        assert_eq!(Path::Auto.name(), "auto");
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(av.contains(&Path::Avx2), std::arch::is_x86_feature_detected!("avx2"));
            assert_eq!(
                av.contains(&Path::Avx512),
                std::arch::is_x86_feature_detected!("avx512f")
            );
        }
    }

    #[test]
    fn empty_and_single() {
        for p in paths() {
            assert_eq!(sum_f64_with(p, &[]).to_bits(), 0.0f64.to_bits(), "{p:?}");
            assert_eq!(sum_f64_with(p, &[2.5]), 2.5, "{p:?}");
            assert_eq!(sum_f64_with(p, &[-1e300]), -1e300, "{p:?}");
            assert_eq!(sum_i32_with(p, &[]), Some(0), "{p:?}");
            assert_eq!(sum_i32_with(p, &[-7]), Some(-7), "{p:?}");
            assert_eq!(sum_i32_with(p, &[i32::MIN]), Some(i64::from(i32::MIN)));
        }
        assert_eq!(sum_f64(&[]), 0.0);
        assert_eq!(sum_i32(&[]), Some(0));
    }

    #[test]
    fn f64_all_lengths_offsets_vs_exact() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let big: Vec<f64> = (0..110).map(|_| rng.mixed()).collect();
        for off in 0..4 {
            for len in 0..=100 {
                let d = &big[off..off + len];
                let exact = fsum(d);
                for p in paths() {
                    let got = sum_f64_with(p, d);
                    assert!(
                        ulps(got, exact) <= 1,
                        "{p:?} off={off} len={len}: got {got:e}, exact {exact:e}"
                    );
                }
            }
        }
    }

    #[test]
    fn f64_large_mixed_magnitude_vs_exact() {
        let mut rng = Rng(42);
        for &n in &[1_000usize, 10_007, 100_003, 1_000_000] {
            let d: Vec<f64> = (0..n).map(|_| rng.mixed()).collect();
            let exact = fsum(&d);
            for p in paths() {
                for off in [0, 1, 3] {
                    let got = sum_f64_with(p, &d[off..]);
                    let ex = if off == 0 { exact } else { fsum(&d[off..]) };
                    assert!(ulps(got, ex) <= 1, "{p:?} n={n} off={off}: {got:e} vs {ex:e}");
                }
            }
        }
    }

    #[test]
    fn f64_classic_cancellation() {
        for p in paths() {
            assert_eq!(sum_f64_with(p, &[0.1; 10]), 1.0, "{p:?}");
            assert_eq!(sum_f64_with(p, &[1.0, 1e100, 1.0, -1e100]), 2.0, "{p:?}");
            assert_eq!(sum_f64_with(p, &[1e16, 1.0, -1e16]), 1.0, "{p:?}");
        }
        // Patterns repeated k times, placed at offsets 0..4 of a larger vector
        // (unaligned starts), with lengths that exercise the tail.
        let patterns: [(&[f64], f64); 3] = [
            (&[1e16, 1.0, -1e16], 1.0),
            (&[1.0, 1e100, 1.0, -1e100], 2.0),
            (&[1e100, 1.0, -1e100, 1e-100, 3.0], 4.0 + 1e-100),
        ];
        for (pat, per) in patterns {
            for k in (1..=70).chain([100, 257, 1000, 1023, 3000, 5001]) {
                for off in 0..4 {
                    let mut v = vec![0.0f64; off];
                    for _ in 0..k {
                        v.extend_from_slice(pat);
                    }
                    let d = &v[off..];
                    let want = fsum(d);
                    if pat.len() != 5 {
                        assert_eq!(want, per * k as f64);
                    }
                    for p in paths() {
                        let got = sum_f64_with(p, d);
                        assert_eq!(got, want, "{p:?} pattern {pat:?} k={k} off={off}");
                    }
                }
            }
        }
        // 0.1 repeated: within 1 ulp of the correctly rounded sum.
        for n in 0..200 {
            let d = vec![0.1f64; n];
            for p in paths() {
                assert!(ulps(sum_f64_with(p, &d), fsum(&d)) <= 1, "{p:?} n={n}");
            }
        }
    }

    #[test]
    fn f64_nan_and_inf() {
        let inf = f64::INFINITY;
        for p in paths() {
            for len in [1usize, 2, 5, 15, 16, 17, 31, 32, 33, 64, 100] {
                for pos in [0, len / 2, len - 1] {
                    let mut d = vec![1.0f64; len];
                    d[pos] = f64::NAN;
                    assert!(sum_f64_with(p, &d).is_nan(), "{p:?} nan len={len} pos={pos}");
                    d[pos] = inf;
                    assert_eq!(sum_f64_with(p, &d), inf, "{p:?} +inf len={len} pos={pos}");
                    d[pos] = -inf;
                    assert_eq!(sum_f64_with(p, &d), -inf, "{p:?} -inf len={len} pos={pos}");
                    for pos2 in [0, len / 3, len - 1] {
                        if pos2 == pos {
                            continue;
                        }
                        d[pos] = inf;
                        d[pos2] = -inf;
                        assert!(sum_f64_with(p, &d).is_nan(), "{p:?} inf-inf {len} {pos} {pos2}");
                        d[pos2] = inf;
                        assert_eq!(sum_f64_with(p, &d), inf, "{p:?} inf+inf {len} {pos} {pos2}");
                        d[pos2] = f64::NAN;
                        assert!(sum_f64_with(p, &d).is_nan(), "{p:?} inf+nan {len} {pos} {pos2}");
                        d[pos2] = 1.0;
                    }
                }
            }
            assert_eq!(sum_f64_with(p, &[inf, 1.0]), inf, "{p:?}");
            assert_eq!(sum_f64_with(p, &[1.0, inf]), inf, "{p:?}");
            assert!(sum_f64_with(p, &[inf, -inf]).is_nan(), "{p:?}");
            // Overflow of the running sum gives inf, never NaN.
            let d = vec![f64::MAX; 40];
            assert_eq!(sum_f64_with(p, &d), inf, "{p:?}");
            let d = vec![-f64::MAX; 40];
            assert_eq!(sum_f64_with(p, &d), -inf, "{p:?}");
        }
    }

    #[test]
    fn f64_paths_agree_bitwise() {
        let mut rng = Rng(7);
        for n in (0..300).chain([1000, 4097, 65_536 + 13]) {
            let d: Vec<f64> = (0..n + 3).map(|_| rng.mixed()).collect();
            for off in 0..4 {
                let d = &d[off..off + n];
                let reference = sum_f64_with(Path::Portable, d);
                for p in paths() {
                    assert_eq!(
                        sum_f64_with(p, d).to_bits(),
                        reference.to_bits(),
                        "{p:?} n={n} off={off}"
                    );
                }
            }
        }
        assert_eq!(sum_f64(&[1.5, 2.25]), 3.75);
    }

    #[test]
    fn i32_all_lengths_and_extremes() {
        let mut rng = Rng(99);
        let big: Vec<i32> = (0..300).map(|_| rng.next() as i32).collect();
        for off in 0..4 {
            for len in 0..=200 {
                let d = &big[off..off + len];
                for p in paths() {
                    assert_eq!(sum_i32_with(p, d), Some(naive_i32(d)), "{p:?} {off} {len}");
                }
            }
        }
        for n in [0usize, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1000, 100_001] {
            let mins = vec![i32::MIN; n + 3];
            let maxs = vec![i32::MAX; n + 3];
            let mixed: Vec<i32> = (0..n + 3)
                .map(|i| match i % 3 {
                    0 => i32::MIN,
                    1 => i32::MAX,
                    _ => rng.next() as i32,
                })
                .collect();
            for off in 0..4 {
                for d in [&mins[off..off + n], &maxs[off..off + n], &mixed[off..off + n]] {
                    let want = Some(naive_i32(d));
                    for p in paths() {
                        assert_eq!(sum_i32_with(p, d), want, "{p:?} n={n} off={off}");
                    }
                    assert_eq!(sum_i32(d), want);
                }
            }
        }
        for p in paths() {
            assert_eq!(
                sum_i32_with(p, &vec![i32::MIN; 1 << 20]),
                Some(i64::from(i32::MIN) << 20)
            );
            assert_eq!(
                sum_i32_with(p, &vec![i32::MAX; (1 << 20) + 5]),
                Some(i64::from(i32::MAX) * ((1 << 20) + 5))
            );
        }
    }

    /// The documented f64 algorithm written out plainly (scalar, one element
    /// at a time, no SIMD, no threads): the reference the kernels must match
    /// bit for bit, so the module documentation and the code cannot drift.
    fn model_sum_f64(data: &[f64], block: usize) -> f64 {
        let (mut s, mut c) = (0.0f64, 0.0f64);
        for b in data.chunks(block) {
            let mut ls = [0.0f64; LANES];
            let mut lc = [0.0f64; LANES];
            let full = b.len() / LANES * LANES;
            for (j, &x) in b[..full].iter().enumerate() {
                neumaier(&mut ls[j % LANES], &mut lc[j % LANES], x);
            }
            let (mut bs, mut bc) = (0.0f64, 0.0f64);
            for &v in &ls {
                neumaier(&mut bs, &mut bc, v);
            }
            if bs.is_finite() {
                for &v in lc.iter().chain(&b[full..]) {
                    neumaier(&mut bs, &mut bc, v);
                }
                if !bs.is_finite() {
                    bc = 0.0;
                }
            } else {
                bs = b[full..].iter().fold(bs, |a, &x| a + x);
                bc = 0.0;
            }
            neumaier(&mut s, &mut c, bs);
            c += bc;
        }
        if s.is_finite() { s + c } else { s }
    }

    /// Data whose compensated sum depends on the summation order: huge values
    /// (~1e20) and their exact negations, shuffled, among values of order 1.
    /// The exact sum is that of the small values, some 70 binary orders of
    /// magnitude below the partial sums: past what the (s, c) pairs carry,
    /// so another combination order changes the low bits of the result. (Not
    /// much larger: around 1e30 the result's error is quantized so coarsely,
    /// in multiples of ~2^7, that two orders often agree by chance.)
    fn order_sensitive(n: usize, rng: &mut Rng) -> Vec<f64> {
        let huge: Vec<f64> = (0..n / 3).map(|_| rng.normal() * 1e20).collect();
        let mut v: Vec<f64> = huge.iter().map(|&x| -x).chain(huge.iter().copied()).collect();
        v.extend((v.len()..n).map(|_| rng.normal()));
        for i in (1..v.len()).rev() {
            v.swap(i, (rng.next() % (i as u64 + 1)) as usize);
        }
        v
    }

    #[test]
    fn order_sensitive_data_is_order_sensitive() {
        // The premise of the bit-for-bit tests below: on this data a change
        // of the combination order shows in the result.
        let mut rng = Rng(8);
        let d = order_sensitive(64 * 40, &mut rng);
        let forward = sum_f64_split(Path::Portable, &d, split(64, 1));
        let mut acc = Combine::default();
        for pair in d.chunks(64).rev().map(block_f64_portable) {
            acc.add(pair);
        }
        assert_ne!(acc.finish().to_bits(), forward.to_bits());
    }

    fn split(block: usize, threads: usize) -> Split {
        Split {
            block,
            threads,
            min_per_thread: 1,
        }
    }

    /// Lengths around the block boundaries of `block` and around the
    /// threshold of a second thread.
    fn lengths_around(block: usize) -> Vec<usize> {
        let mut v = Vec::new();
        for k in [1, 2, 3, 5] {
            for d in [-17isize, -1, 0, 1, 15, 16, 17] {
                v.push((k * block).saturating_add_signed(d));
            }
        }
        v.extend([0, 1, 15, 16, 17]);
        v.sort_unstable();
        v.dedup();
        v
    }

    #[test]
    fn split_rules() {
        let s = |block, threads, min| Split {
            block,
            threads,
            min_per_thread: min,
        };
        assert_eq!(s(0, 1, 1).block_len(), 16);
        assert_eq!(s(1, 1, 1).block_len(), 16);
        assert_eq!(s(16, 1, 1).block_len(), 16);
        assert_eq!(s(17, 1, 1).block_len(), 32);
        assert_eq!(s(BLOCK, 1, 1).block_len(), BLOCK);
        // Threads: by size, by block count, at least 1.
        assert_eq!(s(16, 8, 100).threads_for(0), 1);
        assert_eq!(s(16, 8, 100).threads_for(199), 1);
        assert_eq!(s(16, 8, 100).threads_for(200), 2);
        assert_eq!(s(16, 8, 100).threads_for(1_000_000), 8);
        assert_eq!(s(16, 0, 1).threads_for(1000), 1);
        assert_eq!(s(16, 8, 0).threads_for(1000), 8);
        assert_eq!(s(16, 8, 1).threads_for(48), 3, "no more threads than blocks");
        // The default: no thread below 4 MiB.
        let _lock = parallel::tests::SETTING.lock().unwrap_or_else(|e| e.into_inner());
        let t = parallel::num_threads();
        assert_eq!(Split::auto::<f64>(524_287).threads_for(524_287), 1);
        assert_eq!(Split::auto::<f64>(524_288).threads_for(524_288), t.min(2));
        assert_eq!(Split::auto::<f64>(524_288 * 64).threads_for(524_288 * 64), t.min(128));
        assert_eq!(Split::auto::<i32>(1_048_575).threads_for(1_048_575), 1);
        assert_eq!(Split::auto::<i32>(1_048_576).threads_for(1_048_576), t.min(2));
        assert_eq!(Split::auto::<f64>(5).block, BLOCK);
        assert_eq!(Split::auto::<i32>(5).min_per_thread, 524_288);
        assert_eq!(BLOCK % LANES, 0);
    }

    #[test]
    fn f64_matches_the_documented_model() {
        let mut rng = Rng(0xfeed);
        let inf = f64::INFINITY;
        for block in [16, 48, 64, 1000, BLOCK] {
            for n in lengths_around(block.next_multiple_of(16))
                .into_iter()
                .filter(|&n| n <= 3 * BLOCK + 17)
            {
                // Order-sensitive data: a different lane or block order shows.
                let d = order_sensitive(n, &mut rng);
                let want = model_sum_f64(&d, block.next_multiple_of(16));
                for p in paths() {
                    let got = sum_f64_split(p, &d, split(block, 3));
                    assert_eq!(
                        got.to_bits(),
                        want.to_bits(),
                        "{p:?} block={block} n={n} (order-sensitive)"
                    );
                }
                let mut d: Vec<f64> = (0..n).map(|_| rng.mixed()).collect();
                let want = model_sum_f64(&d, block.next_multiple_of(16));
                for p in paths() {
                    let got = sum_f64_split(p, &d, split(block, 3));
                    assert_eq!(got.to_bits(), want.to_bits(), "{p:?} block={block} n={n}");
                }
                if n > 40 {
                    // Non-finite values in one block only, and overflow.
                    for special in [f64::NAN, inf, -inf, f64::MAX] {
                        d[n / 3] = special;
                        d[n - 2] = if special == f64::MAX { special } else { 1.0 };
                        let want = model_sum_f64(&d, block.next_multiple_of(16));
                        for p in paths() {
                            let got = sum_f64_split(p, &d, split(block, 3));
                            assert!(
                                got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                                "{p:?} block={block} n={n} special={special}: {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// Small enough for Miri (`cargo +nightly miri test --lib small_threaded`):
    /// the threaded path on a few blocks of 16, against the model.
    #[test]
    fn small_threaded_sums() {
        let mut rng = Rng(21);
        let d = order_sensitive(70, &mut rng);
        let v: Vec<i32> = (0..70).map(|_| rng.next() as i32).collect();
        for n in [0, 1, 16, 17, 33, 70] {
            let want = model_sum_f64(&d[..n], 16);
            for threads in 1..=4 {
                for p in paths() {
                    let got = sum_f64_split(p, &d[..n], split(16, threads));
                    assert_eq!(got.to_bits(), want.to_bits(), "{p:?} n={n} t={threads}");
                    assert_eq!(sum_i32_split(p, &v[..n], split(16, threads)), Some(naive_i32(&v[..n])));
                }
            }
        }
    }

    #[test]
    fn f64_one_block_is_the_unblocked_sum() {
        // n <= BLOCK: the combination is exact, the result is the block's s + c.
        let mut rng = Rng(3);
        for n in [0usize, 1, 17, 1000, BLOCK - 1, BLOCK] {
            let d: Vec<f64> = (0..n).map(|_| rng.mixed()).collect();
            let (s, c) = block_f64_portable(&d);
            let want = if s.is_finite() { s + c } else { s };
            assert_eq!(sum_f64(&d).to_bits(), want.to_bits(), "n={n}");
        }
    }

    #[test]
    fn f64_every_thread_count_and_path_gives_the_same_bits() {
        let mut rng = Rng(11);
        // Order-sensitive data of length n, starting at offset `off` of its
        // vector (unaligned starts).
        let mut data_at = |n: usize, off: usize| {
            let mut v = vec![0.0; off];
            v.extend(order_sensitive(n, &mut rng));
            v
        };
        // Small blocks: many blocks, every thread count 1..=9.
        for block in [16, 48] {
            for n in (0..=100).chain([127, 128, 129, 143, 144, 145, 191, 192, 193, 300]) {
                let v = data_at(n, n % 4);
                let d = &v[n % 4..];
                let want = sum_f64_split(Path::Portable, d, split(block, 1));
                for threads in 1..=9 {
                    for p in paths() {
                        let got = sum_f64_split(p, d, split(block, threads));
                        assert_eq!(got.to_bits(), want.to_bits(), "{p:?} block={block} n={n} t={threads}");
                    }
                }
            }
        }
        // The default block, around its boundaries and the thread threshold.
        let mut sizes = lengths_around(BLOCK);
        sizes.extend([524_287, 524_288, 524_289]);
        for n in sizes {
            let v = data_at(n, 3);
            let d = &v[3..];
            let want = sum_f64_split(Path::Portable, d, split(BLOCK, 1));
            assert_eq!(sum_f64(d).to_bits(), want.to_bits(), "default n={n}");
            for threads in [2, 3, 4, 7] {
                for p in paths() {
                    let got = sum_f64_split(p, d, split(BLOCK, threads));
                    assert_eq!(got.to_bits(), want.to_bits(), "{p:?} n={n} t={threads}");
                }
            }
        }
    }

    #[test]
    fn f64_threads_keep_exact_cases_and_special_values() {
        let inf = f64::INFINITY;
        let pat = [1e16, 1.0, -1e16].repeat(20_000);
        let classic = [1.0, 1e100, 1.0, -1e100].repeat(5_000);
        for threads in 1..=6 {
            for p in paths() {
                let s = split(64, threads);
                assert_eq!(sum_f64_split(p, &pat, s), 20_000.0, "{p:?} t={threads}");
                assert_eq!(sum_f64_split(p, &classic, s), 10_000.0, "{p:?} t={threads}");
                let mut d = vec![1.0f64; 10_000];
                d[9_000] = inf;
                assert_eq!(sum_f64_split(p, &d, s), inf);
                d[100] = -inf;
                assert!(sum_f64_split(p, &d, s).is_nan());
                d[100] = f64::NAN;
                assert!(sum_f64_split(p, &d, s).is_nan());
                // Overflow across blocks gives inf, never NaN.
                assert_eq!(sum_f64_split(p, &vec![f64::MAX; 1000], s), inf);
                assert_eq!(sum_f64_split(p, &vec![-f64::MAX; 1000], s), -inf);
                assert_eq!(sum_f64_split(p, &[], s).to_bits(), 0.0f64.to_bits());
            }
        }
    }

    #[test]
    fn i32_every_thread_count_and_path_is_exact() {
        let mut rng = Rng(5);
        let big: Vec<i32> = (0..3000).map(|_| rng.next() as i32).collect();
        for block in [16, 48, 1000] {
            for n in (0..=100).chain([143, 144, 145, 300, 999, 1000, 1001, 2999]) {
                let d = &big[..n];
                let want = Some(naive_i32(d));
                for threads in 1..=9 {
                    for p in paths() {
                        assert_eq!(
                            sum_i32_split(p, d, split(block, threads)),
                            want,
                            "{p:?} {block} {n} {threads}"
                        );
                    }
                }
            }
        }
        let mins = vec![i32::MIN; 3 * BLOCK + 5];
        for threads in [1, 2, 3, 8] {
            for p in paths() {
                assert_eq!(
                    sum_i32_split(p, &mins, split(BLOCK, threads)),
                    Some(i64::from(i32::MIN) * (3 * BLOCK as i64 + 5))
                );
            }
        }
    }

    #[test]
    fn aarch64_takes_neon() {
        #[cfg(target_arch = "aarch64")]
        {
            assert!(
                Path::available().contains(&Path::Neon),
                "NEON is part of the aarch64 baseline"
            );
            if std::env::var_os("MYLIB_KERNEL").is_none() {
                assert_eq!(Path::best(), Path::Neon);
            }
            assert!(matches!(Path::Neon.resolve(), Path::Neon));
        }
        #[cfg(not(target_arch = "aarch64"))]
        assert!(!Path::available().contains(&Path::Neon));
    }

    /// The NEON block kernels against the portable ones, bit for bit, on many
    /// inputs: random magnitudes, cancellations, zeros of both signs,
    /// subnormals, NaN and infinities, every length 0..=300 and start offsets.
    #[cfg(target_arch = "aarch64")]
    #[test]
    fn neon_matches_portable_bit_for_bit() {
        let mut rng = Rng(0xa64);
        let specials = [
            0.0,
            -0.0,
            5e-324,
            -5e-324,
            f64::MIN_POSITIVE,
            f64::MAX,
            -f64::MAX,
            1e308,
            1.0,
        ];
        for round in 0..40 {
            let mut big: Vec<f64> = (0..304).map(|_| rng.mixed()).collect();
            if round % 4 == 1 {
                for x in big.iter_mut().step_by(3) {
                    *x = specials[(rng.next() % specials.len() as u64) as usize];
                }
            }
            if round % 4 == 2 {
                let k = (rng.next() % 304) as usize;
                big[k] = [f64::NAN, f64::INFINITY, -f64::INFINITY][round % 3];
            }
            for off in 0..4 {
                for n in 0..=300 {
                    let d = &big[off..off + n];
                    // SAFETY: NEON is in the aarch64 baseline (checked by aarch64_takes_neon).
                    let (ns, nc) = unsafe { arm::block_f64_neon(d) };
                    let (ps, pc) = block_f64_portable(d);
                    let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
                    assert!(same(ns, ps) && same(nc, pc), "round {round} off {off} n {n}");
                    let ints: Vec<i32> = d.iter().map(|&x| x.to_bits() as i32).collect();
                    // SAFETY: as above.
                    assert_eq!(unsafe { arm::sum_i32_neon(&ints) }, sum_i32_portable(&ints));
                }
            }
        }
    }

    /// Accuracy measurement behind the figures in the module documentation:
    /// `cargo test --release --lib -- --ignored --nocapture accuracy_survey`.
    #[test]
    #[ignore]
    fn accuracy_survey() {
        let mut rng = Rng(2024);
        for &n in &[1_000usize, 10_000, 100_000, 1_000_000, 10_000_000] {
            let mut worst = 0;
            for _ in 0..(if n >= 1_000_000 { 3 } else { 20 }) {
                let d: Vec<f64> = (0..n).map(|_| rng.mixed()).collect();
                worst = worst.max(ulps(sum_f64(&d), fsum(&d)));
            }
            println!("mixed n={n:>9}: max {worst} ulp");
        }
        for &n in &[100_000usize, 1_000_000, 10_000_000] {
            for &cond_exp in &[5i32, 9, 13, 15, 16, 17] {
                let mut worst = 0;
                let mut conds = Vec::new();
                for _ in 0..3 {
                    let mut d: Vec<f64> = (0..n - 1).map(|_| rng.mixed()).collect();
                    let abs: f64 = d.iter().map(|x| x.abs()).sum();
                    let target = abs / 10f64.powi(cond_exp);
                    d.push(target - fsum(&d));
                    for i in (1..n).rev() {
                        d.swap(i, (rng.next() % (i as u64 + 1)) as usize);
                    }
                    let exact = fsum(&d);
                    conds.push(d.iter().map(|x| x.abs()).sum::<f64>() / exact.abs());
                    worst = worst.max(ulps(sum_f64(&d), exact));
                }
                println!("cancelling n={n:>9} cond ~{:.1e}: max {worst} ulp", conds[0]);
            }
        }
    }

    /// Timing only (no assertions on speed):
    /// `cargo test --release -- --ignored --nocapture kernels::tests::bench`.
    #[test]
    #[ignore]
    fn bench() {
        use std::hint::black_box;
        use std::time::Instant;
        fn gbps(bytes: usize, mut f: impl FnMut()) -> f64 {
            let reps = (3e8 / bytes as f64).clamp(3.0, 1e6) as usize;
            let mut best = f64::MAX;
            for _ in 0..3 {
                let t0 = Instant::now();
                for _ in 0..reps {
                    f();
                }
                best = best.min(t0.elapsed().as_secs_f64() / reps as f64);
            }
            bytes as f64 / best / 1e9
        }
        let mut rng = Rng(1);
        for n in [1_000usize, 100_000, 10_000_000] {
            let f: Vec<f64> = (0..n).map(|_| rng.uniform() - 0.5).collect();
            let v: Vec<i32> = (0..n).map(|_| rng.next() as i32).collect();
            for p in Path::available() {
                let gf = gbps(n * 8, || {
                    black_box(sum_f64_with(p, black_box(&f)));
                });
                let gi = gbps(n * 4, || {
                    black_box(sum_i32_with(p, black_box(&v)));
                });
                println!("n={n:>9} {:>8}: f64 {gf:6.1} GB/s, i32 {gi:6.1} GB/s", p.name());
            }
        }
    }
}
