//! The exact `i32` sum: sign-extended to `i64` and added in several
//! independent 64-bit accumulators, one block of [`BLOCK`](super::BLOCK)
//! elements at a time (a block's sum cannot overflow `i64`); block sums are
//! combined in `i128`, so the sum is exact and fails only when it does not
//! fit `i64`, which needs more than `2^32` elements. Being exact, it is the
//! same for every path and thread count.

use super::{LANES, Path, Split};
use crate::parallel;

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
pub(super) fn i32_kernel(path: Path) -> fn(&[i32]) -> i64 {
    match path.resolve() {
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 => |d| {
            // SAFETY: `resolve` returns `Avx2` only if run-time detection found
            // AVX2 on this CPU, which is the only requirement of the kernel.
            unsafe { super::x86::sum_i32_avx2(d) }
        },
        #[cfg(target_arch = "x86_64")]
        Path::Avx512 => |d| {
            // SAFETY: `resolve` returns `Avx512` only if run-time detection
            // found AVX-512F on this CPU, which is the only requirement of the kernel.
            unsafe { super::x86::sum_i32_avx512(d) }
        },
        #[cfg(target_arch = "aarch64")]
        Path::Neon => |d| {
            // SAFETY: `resolve` returns `Neon` only if run-time detection
            // found NEON on this CPU, which is the only requirement of the kernel.
            unsafe { super::arm::sum_i32_neon(d) }
        },
        #[cfg(not(target_arch = "x86_64"))]
        Path::Avx2 | Path::Avx512 => sum_i32_portable,
        #[cfg(not(target_arch = "aarch64"))]
        Path::Neon => sum_i32_portable,
        Path::Auto | Path::Portable => sum_i32_portable,
    }
}

/// Portable kernel: 16 independent `i64` accumulators (wrapping; exact for
/// fewer than 2^32 elements).
pub(super) fn sum_i32_portable(data: &[i32]) -> i64 {
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
