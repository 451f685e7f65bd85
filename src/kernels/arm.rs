//! aarch64 kernels: NEON versions of the certified pass (see
//! [`super::lanes`]) and of the `i32` sum, lane for lane the portable
//! computation on 128-bit vectors.

use super::lanes::Lanes;
use std::arch::aarch64::*;

/// NEON certified pass: 8 × 2 = 16 lanes. Adds the first `⌊len/16⌋·16`
/// values to `lanes` (16 wide) and returns how many.
#[target_feature(enable = "neon")]
pub(super) fn lanes_neon(lanes: &mut Lanes, data: &[f64]) -> usize {
    const W: usize = 16;
    debug_assert_eq!(lanes.width, W);
    // SAFETY (all loads and stores below): `lanes.s` and `lanes.c` have at
    // least 16 elements, `mm` 2; offsets 2k with k < 8 stay within them;
    // `group` has exactly 16 elements; vld1q/vst1q need only the element
    // alignment that `f64` arrays and slices have.
    let sp = lanes.s.as_mut_ptr();
    let cp = lanes.c.as_mut_ptr();
    let mut s = [vdupq_n_f64(0.0); 8];
    let mut c = [vdupq_n_f64(0.0); 8];
    for k in 0..8 {
        // SAFETY: see above.
        unsafe {
            s[k] = vld1q_f64(sp.add(2 * k));
            c[k] = vld1q_f64(cp.add(2 * k));
        }
    }
    let mut m = [vdupq_n_f64(lanes.m); 8];
    let groups = data.chunks_exact(W);
    let done = data.len() - groups.remainder().len();
    for group in groups {
        let p = group.as_ptr();
        for k in 0..8 {
            // SAFETY: see above.
            let x = unsafe { vld1q_f64(p.add(2 * k)) };
            let t = vaddq_f64(s[k], x);
            let z = vsubq_f64(t, s[k]);
            let q = vaddq_f64(vsubq_f64(s[k], vsubq_f64(t, z)), vsubq_f64(x, z));
            c[k] = vaddq_f64(c[k], q);
            m[k] = vmaxnmq_f64(m[k], vabsq_f64(t));
            s[k] = t;
        }
    }
    let mut top = m[0];
    for k in 0..8 {
        // SAFETY: see above.
        unsafe {
            vst1q_f64(sp.add(2 * k), s[k]);
            vst1q_f64(cp.add(2 * k), c[k]);
        }
        top = vmaxnmq_f64(top, m[k]);
    }
    let mut mm = [0.0f64; 2];
    // SAFETY: `mm` has 2 elements.
    unsafe { vst1q_f64(mm.as_mut_ptr(), top) };
    lanes.m = mm.iter().fold(lanes.m, |a, &b| a.max(b));
    lanes.steps += (done / W) as u64;
    done
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
