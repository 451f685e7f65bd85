//! x86_64 kernels: AVX2 and AVX-512F versions of the certified pass (see
//! [`super::lanes`]) and of the `i32` sum. Each is the portable computation,
//! lane for lane, on vectors; run-time detection in [`super::Path`] decides
//! which one may run.

use super::lanes::Lanes;
use std::arch::x86_64::*;

/// How far ahead of its loads a pass over the data asks for them: 512 values
/// (4 KiB). The hardware prefetcher alone left the certified pass short of
/// the memory bus on data from DRAM: 1e8 values, one thread, 10.7 GB/s
/// without, 15.9 with (2 threads: 21 and 31), where in cache it runs at 45.
pub(super) const AHEAD: usize = 512;

/// Asks for the cache line at `p` (a hint: it never faults, so an address
/// past the end of the data is harmless).
#[inline(always)]
pub(super) fn prefetch(p: *const f64) {
    // SAFETY: SSE, the intrinsic's only requirement, is part of x86_64's
    // baseline; a prefetch reads nothing the program sees and never faults.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast()) };
}

/// AVX-512 certified pass: 4 × 8 = 32 lanes. Adds the first `⌊len/32⌋·32`
/// values to `lanes` (32 wide) and returns how many.
#[target_feature(enable = "avx512f")]
pub(super) fn lanes_avx512(lanes: &mut Lanes, data: &[f64]) -> usize {
    const W: usize = 32;
    debug_assert_eq!(lanes.width, W);
    // SAFETY (all loads and stores below): `lanes.s` and `lanes.c` have 32
    // elements, `m` 8; offsets 8k with k < 4 stay within them; `group` has
    // exactly 32 elements. The unaligned forms allow any alignment.
    let sp = lanes.s.as_mut_ptr();
    let cp = lanes.c.as_mut_ptr();
    let mut s = [_mm512_setzero_pd(); 4];
    let mut c = [_mm512_setzero_pd(); 4];
    for k in 0..4 {
        // SAFETY: see above.
        unsafe {
            s[k] = _mm512_loadu_pd(sp.add(8 * k));
            c[k] = _mm512_loadu_pd(cp.add(8 * k));
        }
    }
    let mut m = [_mm512_set1_pd(lanes.m); 4];
    let groups = data.chunks_exact(W);
    let done = data.len() - groups.remainder().len();
    for group in groups {
        let p = group.as_ptr();
        for k in 0..4 {
            prefetch(p.wrapping_add(AHEAD + 8 * k)); // one 64-byte line per vector
            // SAFETY: see above.
            let x = unsafe { _mm512_loadu_pd(p.add(8 * k)) };
            let t = _mm512_add_pd(s[k], x);
            let z = _mm512_sub_pd(t, s[k]);
            let q = _mm512_add_pd(_mm512_sub_pd(s[k], _mm512_sub_pd(t, z)), _mm512_sub_pd(x, z));
            c[k] = _mm512_add_pd(c[k], q);
            m[k] = _mm512_max_pd(m[k], _mm512_abs_pd(t));
            s[k] = t;
        }
    }
    let mut mm = [0.0f64; 8];
    for k in 0..4 {
        // SAFETY: see above.
        unsafe {
            _mm512_storeu_pd(sp.add(8 * k), s[k]);
            _mm512_storeu_pd(cp.add(8 * k), c[k]);
        }
    }
    let top = _mm512_max_pd(_mm512_max_pd(m[0], m[1]), _mm512_max_pd(m[2], m[3]));
    // SAFETY: `mm` has 8 elements.
    unsafe { _mm512_storeu_pd(mm.as_mut_ptr(), top) };
    lanes.m = mm.iter().fold(lanes.m, |a, &b| a.max(b));
    lanes.steps += (done / W) as u64;
    done
}

/// AVX2 certified pass: 4 × 4 = 16 lanes. Adds the first `⌊len/16⌋·16`
/// values to `lanes` (16 wide) and returns how many.
#[target_feature(enable = "avx2")]
pub(super) fn lanes_avx2(lanes: &mut Lanes, data: &[f64]) -> usize {
    const W: usize = 16;
    debug_assert_eq!(lanes.width, W);
    // SAFETY (all loads and stores below): `lanes.s` and `lanes.c` have at
    // least 16 elements, `mm` 4; offsets 4k with k < 4 stay within them;
    // `group` has exactly 16 elements. The unaligned forms allow any alignment.
    let sp = lanes.s.as_mut_ptr();
    let cp = lanes.c.as_mut_ptr();
    let mut s = [_mm256_setzero_pd(); 4];
    let mut c = [_mm256_setzero_pd(); 4];
    for k in 0..4 {
        // SAFETY: see above.
        unsafe {
            s[k] = _mm256_loadu_pd(sp.add(4 * k));
            c[k] = _mm256_loadu_pd(cp.add(4 * k));
        }
    }
    let mut m = [_mm256_set1_pd(lanes.m); 4];
    let abs_mask = _mm256_castsi256_pd(_mm256_set1_epi64x(i64::MAX));
    let groups = data.chunks_exact(W);
    let done = data.len() - groups.remainder().len();
    for group in groups {
        let p = group.as_ptr();
        prefetch(p.wrapping_add(AHEAD)); // the group's two 64-byte lines
        prefetch(p.wrapping_add(AHEAD + 8));
        for k in 0..4 {
            // SAFETY: see above.
            let x = unsafe { _mm256_loadu_pd(p.add(4 * k)) };
            let t = _mm256_add_pd(s[k], x);
            let z = _mm256_sub_pd(t, s[k]);
            let q = _mm256_add_pd(_mm256_sub_pd(s[k], _mm256_sub_pd(t, z)), _mm256_sub_pd(x, z));
            c[k] = _mm256_add_pd(c[k], q);
            m[k] = _mm256_max_pd(m[k], _mm256_and_pd(t, abs_mask));
            s[k] = t;
        }
    }
    let mut mm = [0.0f64; 4];
    for k in 0..4 {
        // SAFETY: see above.
        unsafe {
            _mm256_storeu_pd(sp.add(4 * k), s[k]);
            _mm256_storeu_pd(cp.add(4 * k), c[k]);
        }
    }
    let top = _mm256_max_pd(_mm256_max_pd(m[0], m[1]), _mm256_max_pd(m[2], m[3]));
    // SAFETY: `mm` has 4 elements.
    unsafe { _mm256_storeu_pd(mm.as_mut_ptr(), top) };
    lanes.m = mm.iter().fold(lanes.m, |a, &b| a.max(b));
    lanes.steps += (done / W) as u64;
    done
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
