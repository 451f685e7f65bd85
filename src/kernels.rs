//! Safe, fast summation kernels with run-time CPU dispatch.
//!
//! # `f64`: compensated summation
//!
//! [`sum_f64`] computes a Neumaier (improved Kahan–Babuška) compensated sum.
//! Every kernel uses the same lane structure: the input is split into blocks of
//! 16 elements and element `i` of each block is added to lane `i` (16 lanes in
//! total: 4 × 256-bit vectors for AVX2, 2 × 512-bit vectors for AVX-512, a
//! `[f64; 16]` array for the portable kernel). Each lane keeps a running sum
//! `s` and a compensation `c`, updated branch-free by
//!
//! ```text
//! t = s + x
//! c += if |s| >= |x| { (s - t) + x } else { (x - t) + s }   // exact error of s + x
//! s = t
//! ```
//!
//! At the end the 16 lane sums, then the 16 lane compensations, then the
//! `len % 16` tail elements are fed through the same scalar Neumaier step, and
//! the result is `s + c`.
//!
//! **Error bound.** Per lane this is exactly the computation of Ogita–Rump–Oishi
//! `Sum2` (the rounding error of every addition is captured exactly by the
//! branch-free Fast2Sum above and the errors are summed separately), and the
//! final combination is one more `Sum2` over at most 47 values. With
//! `u = 2^-53`, `S = Σ x_i` the exact sum, `m = ⌈n/16⌉` and `γ_k = k·u/(1 − k·u)`,
//! the result `r` satisfies the rigorous worst-case bound
//!
//! ```text
//! |r − S| ≤ u·|S| + (γ_m² + γ_46²)·Σ|x_i|   (to first order: u·|S| + (m² + 2116)·u²·Σ|x_i|)
//! ```
//!
//! i.e. the result is as accurate as if the sum had been computed with about
//! twice the working precision and then rounded once. It is therefore the
//! correctly rounded sum or one of its two neighbours (within 1 ulp) whenever
//! the condition number `Σ|x_i| / |S|` is below `1 / (2(m² + 2116)·u)`. That
//! worst case assumes all rounding errors align; for data without systematic
//! bias the second term grows roughly like `√m` rather than `m²`. Measured
//! against an exact (Shewchuk / `math.fsum`) reference: on `normal × 10^U(−8, 8)`
//! data of 10^3 to 10^7 elements every result was the correctly rounded sum;
//! on shuffled cancelling data with condition numbers up to 10^13 (10^5 to
//! 10^7 elements) every result was correctly rounded, and at condition number
//! ~2·10^15 (10^6 elements) the error was 2 ulps. Sums whose every
//! intermediate rounding error is representable and that do not overflow,
//! such as `[0.1; 10]` (→ `1.0`), `[1e16, 1.0, -1e16] * k` (→ `k`) or
//! `[1.0, 1e100, 1.0, -1e100]` (→ `2.0`), come out exact (tested for all
//! paths, lengths and start offsets).
//!
//! **Paths agree bitwise.** Because every path (portable, AVX2, AVX-512, NEON)
//! uses the identical lane structure, identical per-lane operations and the
//! identical final combination order, all paths return bit-for-bit the same
//! result for the same input (this is tested). No FMA contraction is involved.
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
//! accumulators. The result is exact. Inputs are processed in chunks of fewer
//! than `2^32` elements (whose sum cannot overflow `i64`); chunk sums are
//! combined in `i128`, so the function returns `None` only if the exact sum does
//! not fit in `i64`, which needs more than `2^32` elements.
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

/// Number of independent summation lanes shared by every `f64` kernel.
const LANES: usize = 16;

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
    /// aarch64 NEON. NEON is part of the aarch64 baseline, so this runs the
    /// portable kernel, which the compiler vectorizes with NEON instructions.
    Neon,
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

/// Compensated (Neumaier-style, per SIMD lane, lanes combined with compensation) sum of f64.
///
/// See the [module documentation](self) for the algorithm, the error bound and
/// the handling of NaN and infinities. Equivalent to `sum_f64_with(Path::Auto, data)`.
pub fn sum_f64(data: &[f64]) -> f64 {
    sum_f64_with(Path::Auto, data)
}

/// [`sum_f64`] with an explicit implementation choice.
///
/// A path this CPU cannot run falls back to [`Path::Portable`]. All paths return
/// bit-identical results.
pub fn sum_f64_with(path: Path, data: &[f64]) -> f64 {
    match path.resolve() {
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 => {
            // SAFETY: `resolve` returns `Avx2` only if run-time detection found
            // AVX2 on this CPU, which is the only requirement of the kernel.
            unsafe { x86::sum_f64_avx2(data) }
        }
        #[cfg(target_arch = "x86_64")]
        Path::Avx512 => {
            // SAFETY: `resolve` returns `Avx512` only if run-time detection
            // found AVX-512F on this CPU, which is the only requirement of the kernel.
            unsafe { x86::sum_f64_avx512(data) }
        }
        Path::Auto | Path::Portable | Path::Neon => sum_f64_portable(data),
        #[cfg(not(target_arch = "x86_64"))]
        Path::Avx2 | Path::Avx512 => sum_f64_portable(data),
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
    // Fewer than 2^32 elements of magnitude at most 2^31 sum to less than 2^63
    // in magnitude, so no kernel can overflow within a chunk (and the kernels
    // add with wrapping arithmetic, which is exact whenever the true result fits).
    const CHUNK: usize = u32::MAX as usize;
    let kernel: fn(&[i32]) -> i64 = match path.resolve() {
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
        Path::Auto | Path::Portable | Path::Neon => sum_i32_portable,
        #[cfg(not(target_arch = "x86_64"))]
        Path::Avx2 | Path::Avx512 => sum_i32_portable,
    };
    if data.len() <= CHUNK {
        return Some(kernel(data));
    }
    let total: i128 = data.chunks(CHUNK).map(|c| i128::from(kernel(c))).sum();
    i64::try_from(total).ok()
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

/// Combines the per-lane sums and compensations, then adds the tail, all with
/// scalar Neumaier steps. Shared by every kernel so that all paths agree bitwise.
#[inline]
fn finish_f64(lane_s: &[f64; LANES], lane_c: &[f64; LANES], tail: &[f64]) -> f64 {
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for &v in lane_s {
        neumaier(&mut s, &mut c, v);
    }
    if !s.is_finite() {
        // A lane saw NaN/inf or overflowed: its compensation may be NaN, so
        // return the plain sum (NaN if any NaN or +inf with -inf, else ±inf).
        return canonical_nan(tail.iter().fold(s, |acc, &x| acc + x));
    }
    // All lane sums finite implies all lane compensations finite.
    for &v in lane_c {
        neumaier(&mut s, &mut c, v);
    }
    for &x in tail {
        neumaier(&mut s, &mut c, x);
    }
    // `s` is the plain running sum; if it is not finite, `c` may be NaN.
    canonical_nan(if s.is_finite() { s + c } else { s })
}

/// One NaN for every path: which NaN operand an addition propagates (sign,
/// payload) depends on the operand order, which the compiler may commute, so
/// the paths could otherwise return NaNs with different bits (found by the
/// property tests: `inf`, `-inf` and `NaN` in one lane).
#[inline]
fn canonical_nan(x: f64) -> f64 {
    if x.is_nan() { f64::NAN } else { x }
}

/// Portable kernel: 16 independent scalar Neumaier accumulators.
fn sum_f64_portable(data: &[f64]) -> f64 {
    let mut s = [0.0f64; LANES];
    let mut c = [0.0f64; LANES];
    let blocks = data.chunks_exact(LANES);
    let tail = blocks.remainder();
    for block in blocks {
        for i in 0..LANES {
            neumaier(&mut s[i], &mut c[i], block[i]);
        }
    }
    finish_f64(&s, &c, tail)
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
    use super::{LANES, finish_f64};
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

    /// AVX2 kernel: 4 × 4 lanes.
    #[target_feature(enable = "avx2")]
    pub(super) fn sum_f64_avx2(data: &[f64]) -> f64 {
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
        finish_f64(&ls, &lc, tail)
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

    /// AVX-512 kernel: 2 × 8 lanes (same lane structure as AVX2 and portable).
    #[target_feature(enable = "avx512f")]
    pub(super) fn sum_f64_avx512(data: &[f64]) -> f64 {
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
        finish_f64(&ls, &lc, tail)
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
