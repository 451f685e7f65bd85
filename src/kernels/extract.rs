//! The exact path for values of moderate range: error-free extraction
//! (Rump, Ogita and Oishi, *Accurate floating-point summation*, 2008), at
//! about the cost of the certified pass, for the adds of an [`ExactSum`]
//! (which cannot live with a bound: its state must be exact).
//!
//! # One sub-block
//!
//! Values are taken [`SUB`] at a time (32 KiB: the second pass reads them
//! from L1), in `W` = 32 lanes of at most `L` = 129 values each (128, and one
//! of the last `SUB mod 32`).
//!
//! 1. `m = max |x|`, `m < 2^(e+1)`, and `σ1 = 2^(e+9)`.
//! 2. For each value, `t = fl(σ1 + x)`, `q = t − σ1` and `r = x − q`. Since
//!    `|x| < σ1/2`, `t` lies in `[σ1/2, 2σ1]`: `t − σ1` is exact (Sterbenz),
//!    `q` is a multiple of `g1 = 2^(e+9−53)` (the spacing of doubles just
//!    below `σ1`), and `r` is the rounding error of `σ1 + x`, a double, so
//!    `x − q` is exact too and `|r| ≤ g1`. In a lane, `Σ|q| ≤ L(m + g1) <
//!    258·2^e < σ1`, and every partial sum of the `q` is a multiple of `g1`
//!    below `2^53·g1 = σ1` in magnitude: a double. The lane's sum is exact.
//! 3. The same on the remainders with `σ2 = 2^(e+9−45) = 256·g1`: `|r| ≤ g1 <
//!    σ2/2` and `Σ|q2| ≤ L(g1 + g2) < σ2`, so the lanes' sums of `q2` are
//!    exact, and `r2 = r − q2`, `|r2| ≤ 2^(e+9−98)`, is what is left. Nothing is left — the two levels hold every
//!    bit — when every `r2` is zero: then the sub-block's sum is exactly the
//!    lanes' sums. That holds when every value's lowest set bit is above
//!    `2^(e+9−98)`, some 90 bits below the largest value: almost always for
//!    typical data (a sub-block of standard normal values needs ~75).
//! 4. The 32 lane sums of each level are split once more (`σ' = 64·σ`): the
//!    high parts add exactly, and so do the low parts, leaving four doubles
//!    whose exact sum is the sub-block's. They go into the [`ExactSum`].
//!
//! A sub-block with a value whose lowest bits lie deeper, with NaN or an
//! infinity, or whose largest value is at least `2^1009` or below `2^-985`
//! (so that `σ' = 64·σ1` would overflow or `σ2`'s spacing fall below the
//! smallest subnormal) is refused: the caller
//! adds it through the exponent bins instead. Every operation is exact under
//! IEEE round-to-nearest with subnormals kept; the caller checks that
//! environment first ([`super::fp_env_is_default`]).

use super::Path;
use super::exact::ExactSum;

/// Values per sub-block (32 KiB).
pub(crate) const SUB: usize = 4096;
/// Lanes.
const W: usize = 32;

/// `2^k` for `-1022 ≤ k ≤ 1023`.
#[inline(always)]
fn pow2(k: i32) -> f64 {
    debug_assert!((-1022..=1023).contains(&k));
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// Splits lane sums that are multiples of `g = 2^(k−53)` below `2^k` in
/// magnitude into two doubles whose exact sum is theirs (see the module docs).
#[inline(always)]
fn reduce(lanes: &[f64; W], k: i32) -> [f64; 2] {
    let big = pow2(k + 6);
    let (mut hi, mut lo) = (0.0f64, 0.0f64);
    for &v in lanes {
        let h = (big + v) - big;
        hi += h;
        lo += v - h;
    }
    [hi, lo]
}

/// The exact sum of `d` (at most [`SUB`] values) as four doubles, or `None`
/// when two levels of extraction cannot hold it (see the module docs).
#[inline(always)]
fn sub_block_generic(d: &[f64]) -> Option<[f64; 4]> {
    debug_assert!(d.len() <= SUB);
    let groups = d.chunks_exact(W);
    let rest = groups.remainder();
    let mut m = [0.0f64; W];
    for g in groups.clone() {
        // The data come from memory here: ask for them ahead.
        #[cfg(target_arch = "x86_64")]
        for line in 0..W / 8 {
            super::x86::prefetch(g.as_ptr().wrapping_add(super::x86::AHEAD + 8 * line));
        }
        for j in 0..W {
            let a = g[j].abs();
            m[j] = if a > m[j] { a } else { m[j] };
        }
    }
    let mut top = 0.0f64;
    for &v in m.iter().chain(rest) {
        let a = v.abs();
        top = if a > top { a } else { top };
    }
    if top == 0.0 {
        // Zeros (a NaN compares false: it would make `top` miss it, so
        // look again before calling the block empty).
        return d.iter().all(|x| *x == 0.0).then_some([0.0; 4]);
    }
    // `top < 2^(e+1)`; a NaN was ignored by the max but will poison the sums.
    let e = ((top.to_bits() >> 52) & 0x7ff) as i32 - 1023;
    if !(-985..=1008).contains(&e) || top.is_infinite() {
        return None;
    }
    let k1 = e + 9;
    let k2 = k1 - 45;
    let (s1, s2) = (pow2(k1), pow2(k2));
    let mut q1 = [0.0f64; W];
    let mut q2 = [0.0f64; W];
    let mut left = [0u64; W];
    let mut step = |j: usize, x: f64| {
        let q = (s1 + x) - s1;
        let r = x - q;
        q1[j] += q;
        let qq = (s2 + r) - s2;
        q2[j] += qq;
        // Any bit of r − qq but its sign.
        left[j] |= (r - qq).to_bits() << 1;
    };
    for g in groups {
        for (j, &x) in g.iter().enumerate() {
            step(j, x);
        }
    }
    for (j, &x) in rest.iter().enumerate() {
        step(j, x);
    }
    if left.iter().fold(0, |a, &b| a | b) != 0 {
        return None;
    }
    let [a, b] = reduce(&q1, k1);
    let [c, d] = reduce(&q2, k2);
    let out = [a, b, c, d];
    // A NaN or an overflow shows here (`top` is finite, so none happened
    // unless a NaN was among the values).
    out.iter().all(|v| v.is_finite()).then_some(out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn sub_block_avx512(d: &[f64]) -> Option<[f64; 4]> {
    sub_block_generic(d)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn sub_block_avx2(d: &[f64]) -> Option<[f64; 4]> {
    sub_block_generic(d)
}

#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
fn sub_block_neon(d: &[f64]) -> Option<[f64; 4]> {
    sub_block_generic(d)
}

/// The extraction kernel of `path`, compiled for its vector unit (the same
/// code, so every path gives the same four doubles).
pub(crate) fn kernel(path: Path) -> fn(&[f64]) -> Option<[f64; 4]> {
    match path.resolve() {
        #[cfg(target_arch = "x86_64")]
        Path::Avx512 => |d| {
            // SAFETY: `resolve` returns `Avx512` only if run-time detection
            // found AVX-512F on this CPU, the function's only requirement.
            unsafe { sub_block_avx512(d) }
        },
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 => |d| {
            // SAFETY: `resolve` returns `Avx2` only if run-time detection
            // found AVX2 on this CPU, the function's only requirement.
            unsafe { sub_block_avx2(d) }
        },
        #[cfg(target_arch = "aarch64")]
        Path::Neon => |d| {
            // SAFETY: `resolve` returns `Neon` only if run-time detection
            // found NEON on this CPU, the function's only requirement.
            unsafe { sub_block_neon(d) }
        },
        _ => sub_block_generic,
    }
}

/// Adds the exact sum of `d` (at most [`SUB`] values, uncounted) to `acc`,
/// or returns `false` with `acc` untouched when two levels cannot hold it.
#[inline]
pub(crate) fn add(kernel: fn(&[f64]) -> Option<[f64; 4]>, d: &[f64], acc: &mut ExactSum) -> bool {
    match kernel(d) {
        Some(parts) => {
            parts.iter().for_each(|&v| acc.add_uncounted(v));
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::tests::pow2;

    fn exact(d: &[f64]) -> ExactSum {
        let mut acc = ExactSum::new();
        d.iter().for_each(|&x| acc.add_uncounted(x));
        acc
    }

    fn extracted(path: Path, d: &[f64]) -> Option<ExactSum> {
        let mut acc = ExactSum::new();
        add(kernel(path), d, &mut acc).then_some(acc)
    }

    #[test]
    fn typical_values_are_held_exactly() {
        let mut rng = super::super::tests::Rng(17);
        for n in [0, 1, 31, 32, 33, 1000, SUB - 1, SUB] {
            let normal: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
            let uniform: Vec<f64> = (0..n).map(|_| rng.uniform() * 1e6).collect();
            let ints: Vec<f64> = (0..n).map(|_| (rng.next() % 1_000_001) as f64 - 500_000.0).collect();
            for d in [&normal, &uniform, &ints] {
                for p in Path::available() {
                    let got = extracted(p, d).unwrap_or_else(|| panic!("{p:?} n={n}: refused"));
                    assert_eq!(got.words(), exact(d).words(), "{p:?} n={n}");
                }
            }
        }
    }

    #[test]
    fn values_beyond_two_levels_are_refused_or_exact() {
        let mut rng = super::super::tests::Rng(5);
        let cases: Vec<Vec<f64>> = vec![
            vec![1.0, 1e-30],          // bits 100 binades down: refused
            vec![1e300, -1e300, 1.0],  // the same
            vec![f64::NAN, 1.0],       // NaN
            vec![f64::INFINITY, 1.0],  // infinity
            vec![f64::MAX, 1.0],       // beyond 2^1009
            vec![5e-324, 1e-310],      // below 2^-985
            vec![0.0, -0.0, f64::NAN], // a NaN among zeros
            (0..SUB).map(|_| rng.any_exponent()).collect(),
            vec![1.0, pow2(-80), -pow2(-89)], // exact: within 90 bits
            vec![0.0, -0.0, 0.0],             // zeros
            vec![-1.5; SUB],                  // the largest lane sums
            vec![pow2(1008); SUB],            // near the top of the range
            vec![pow2(-984); 100],            // near the bottom
        ];
        for d in &cases {
            for p in Path::available() {
                if let Some(got) = extracted(p, d) {
                    assert_eq!(got.words(), exact(d).words(), "{p:?} {:?}", &d[..d.len().min(4)]);
                }
            }
        }
        for d in &cases[..8] {
            assert!(extracted(Path::Portable, d).is_none(), "{:?}", &d[..d.len().min(4)]);
        }
        for d in &cases[8..] {
            assert!(extracted(Path::Portable, d).is_some(), "{:?}", &d[..d.len().min(4)]);
        }
    }
}
