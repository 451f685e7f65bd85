//! The certified pass: compensated sums in SIMD lanes that bound their own
//! error, so that the exact result can usually be had at the speed of a
//! plain sum.
//!
//! # One lane
//!
//! A lane adds its values `x_1 … x_L` one at a time with Knuth's TwoSum,
//! which gives the rounded sum `t_i = fl(s_{i−1} + x_i)` and its exact
//! rounding error `q_i` (six additions, no branch, exact in binary floating
//! point with round-to-nearest unless `t_i` overflows):
//!
//! ```text
//! t = s + x;  z = t − s;  q = (s − (t − z)) + (x − z);  c = c + q;  s = t;  m = max(m, |t|)
//! ```
//!
//! so `Σ x_i = s_L + Σ q_i` exactly. The compensation `c_L` is the *rounded*
//! sum of the `q_i`; recursive summation of `L` terms has error at most
//! `γ_{L−1} · Σ|q_i|` with `γ_k = k·u / (1 − k·u)`, `u = 2^-53` (Higham,
//! *Accuracy and Stability of Numerical Algorithms*, §4.2), and each
//! `|q_i| ≤ u·|t_i| ≤ u·m` (`m` the largest `|t_i|`; below the normal range
//! additions are exact and `q_i = 0`). So
//!
//! ```text
//! | Σ x_i − (s_L + c_L) | ≤ γ_{L−1} · L · u · m < 1.01 · L² · u² · m
//! ```
//!
//! # A block
//!
//! A kernel runs `W` lanes side by side (value `j` of every group of `W`
//! consecutive values goes to lane `j`; `W` = 32 for AVX-512, 16 otherwise).
//! At the end of a block every `s_j` and `c_j` is added *exactly* into an
//! [`ExactSum`] `A`, and the block's error bound
//!
//! ```text
//! E_b = fl(m · 4 · W · L² · 2^-106)      (m: the largest |t| of all lanes)
//! ```
//!
//! is at least `3.9×` the sum of the lanes' bounds (the constant is exact;
//! the one rounding of the product costs at most a factor `1 − u`, and when
//! it underflows, every error it bounds is a multiple of `2^-1074` smaller
//! than the smallest subnormal, so zero). The bounds of all blocks add up, in
//! floating point, to `E` (at least `3.8×` their exact sum for fewer than
//! `2^40` blocks). The exact sum `S` of the data then lies in `[A − E, A + E]`.
//!
//! # The certificate
//!
//! Rounding to nearest is monotone, so if `A − E` and `A + E` round to the
//! same double, `S` rounds to it too: that double is the correctly rounded
//! sum, computed from `A` and `E` exactly ([`super::exact::plus`]). When
//! they differ (the data cancel so much that `E` reaches the distance from
//! `A` to a rounding boundary) the caller sums the data again on the exact
//! path. A block whose lanes overflow or meet NaN or an infinity is redone on
//! the exact path at once.
//!
//! Everything here assumes IEEE round-to-nearest without flush-to-zero; the
//! caller checks that first ([`super::fp_env_is_default`]).

use super::exact::ExactSum;

/// The most lanes a kernel uses.
pub(crate) const MAX_LANES: usize = 32;

/// The certified pass's state within a block (see the module docs).
#[derive(Clone, Debug)]
pub(crate) struct Lanes {
    /// Running sums (the first `width` are used).
    pub(crate) s: [f64; MAX_LANES],
    /// Compensations: the rounded sums of the exact errors.
    pub(crate) c: [f64; MAX_LANES],
    /// The largest `|t|` of every lane so far.
    pub(crate) m: f64,
    /// Values added to each lane (`L`).
    pub(crate) steps: u64,
    /// Lanes in use: the kernel's width.
    pub(crate) width: usize,
}

impl Lanes {
    /// A fresh block for a kernel of `width` lanes.
    pub(crate) fn new(width: usize) -> Lanes {
        debug_assert!(width <= MAX_LANES && width > 0);
        Lanes {
            s: [0.0; MAX_LANES],
            c: [0.0; MAX_LANES],
            m: 0.0,
            steps: 0,
            width,
        }
    }

    /// Ends the block: adds the lanes' sum into `acc` and returns the block's
    /// error bound (see the module docs), or `None` (with `acc` untouched)
    /// when a lane is not finite: the block must then be summed exactly.
    ///
    /// The `W` sums `s_j` are combined by a tree of TwoSums into one `t` and
    /// `W − 1` exact errors; those errors and the `W` compensations `c_j`, all
    /// tiny, are added in floating point into `r`, whose rounding error is at
    /// most `γ_{2W−2} · Σ|terms|` and joins the bound. `t` and `r` go into
    /// `acc` exactly.
    pub(crate) fn flush(&mut self, acc: &mut ExactSum) -> Option<f64> {
        let w = self.width;
        debug_assert!(w.is_power_of_two());
        let mut s = self.s;
        let (mut r, mut abs) = (0.0f64, 0.0f64);
        for &c in &self.c[..w] {
            r += c;
            abs += c.abs();
        }
        let mut n = w;
        while n > 1 {
            n /= 2;
            for i in 0..n {
                let (t, q) = two_sum(s[2 * i], s[2 * i + 1]);
                s[i] = t;
                r += q;
                abs += q.abs();
            }
        }
        if !(s[0].is_finite() && r.is_finite() && abs.is_finite() && self.m.is_finite()) {
            // NaN or an infinity in a lane, or an overflow: also caught by the
            // tree, since inf − inf and overflowing TwoSums are not finite.
            *self = Lanes::new(w);
            return None;
        }
        acc.add_uncounted(s[0]);
        acc.add_uncounted(r);
        // The lanes: 4 · W · L² · 2^-106 · m (W · L² < 2^53, so the constant is
        // exact). The tree and the compensations: 2W terms, so
        // γ_{2W−2} · Σ|terms| ≤ 1.01 · 2W · u · (1 + γ) · abs < 4 · 2W · 2^-53 · abs.
        let l = self.steps as f64;
        let lanes_bound = self.m * (4.0 * w as f64 * l * l * TWO_POW_MINUS_106);
        let tree_bound = abs * (8.0 * w as f64 * TWO_POW_MINUS_53);
        *self = Lanes::new(w);
        Some(lanes_bound + tree_bound)
    }
}

/// Knuth's TwoSum: `a + b = t + q` exactly, `t = fl(a + b)`, unless `t`
/// overflows.
#[inline(always)]
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let t = a + b;
    let z = t - a;
    (t, (a - (t - z)) + (b - z))
}

/// `2^-53 = u`.
const TWO_POW_MINUS_53: f64 = f64::EPSILON / 2.0;
/// `2^-106 = u²`.
const TWO_POW_MINUS_106: f64 = 1.0 / (1u128 << 106) as f64;

/// The portable kernel: 16 scalar lanes. Adds the first `⌊len/16⌋·16`
/// values of `data` to `lanes` (which must be 16 wide) and returns how many
/// it added.
pub(crate) fn portable(lanes: &mut Lanes, data: &[f64]) -> usize {
    const W: usize = 16;
    debug_assert_eq!(lanes.width, W);
    let mut s = [0.0f64; W];
    let mut c = [0.0f64; W];
    s.copy_from_slice(&lanes.s[..W]);
    c.copy_from_slice(&lanes.c[..W]);
    let mut m = [lanes.m; W];
    let groups = data.chunks_exact(W);
    let done = data.len() - groups.remainder().len();
    for group in groups {
        for j in 0..W {
            let x = group[j];
            let t = s[j] + x;
            let z = t - s[j];
            c[j] += (s[j] - (t - z)) + (x - z);
            m[j] = m[j].max(t.abs());
            s[j] = t;
        }
    }
    lanes.s[..W].copy_from_slice(&s);
    lanes.c[..W].copy_from_slice(&c);
    // A NaN `t` is ignored by `max`; the NaN stays in `s`, where `flush` sees it.
    lanes.m = m.iter().fold(lanes.m, |a, &b| a.max(b));
    lanes.steps += (done / W) as u64;
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_hold_the_sum_within_the_bound() {
        let data: Vec<f64> = (0..1000).map(|i| ((i * 7919) % 1000) as f64 * 1.1e-3 - 0.4).collect();
        let mut lanes = Lanes::new(16);
        let done = portable(&mut lanes, &data);
        assert_eq!(done, 992);
        assert_eq!(lanes.steps, 62);
        let mut a = ExactSum::new();
        let bound = lanes.flush(&mut a).unwrap();
        for &x in &data[done..] {
            a.add_uncounted(x);
        }
        let mut exact = ExactSum::new();
        for &x in &data {
            exact.add(x).unwrap();
        }
        // |A − S| ≤ bound: A − S is a double here (both are near the same value).
        let diff = a.value().unwrap() - exact.value().unwrap();
        assert!(diff.abs() <= bound + 2.0 * f64::EPSILON * exact.value().unwrap().abs());
        assert!(bound > 0.0 && bound < 1e-20);
        assert_eq!(lanes.steps, 0, "flush starts a new block");
    }

    #[test]
    fn non_finite_lanes_are_refused() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut d = vec![1.0; 32];
            d[5] = bad;
            let mut lanes = Lanes::new(16);
            portable(&mut lanes, &d);
            let mut a = ExactSum::new();
            assert_eq!(lanes.flush(&mut a), None);
            assert_eq!(a, ExactSum::new(), "nothing added");
        }
        let mut lanes = Lanes::new(16);
        portable(&mut lanes, &[f64::MAX; 32]);
        assert_eq!(lanes.flush(&mut ExactSum::new()), None, "overflow");
    }

    #[test]
    fn zeros_and_tiny_values_have_no_error() {
        let mut lanes = Lanes::new(16);
        portable(&mut lanes, &[0.0; 64]);
        assert_eq!(lanes.flush(&mut ExactSum::new()), Some(0.0));
        let mut lanes = Lanes::new(16);
        portable(&mut lanes, &[5e-324; 64]);
        assert_eq!(
            lanes.flush(&mut ExactSum::new()),
            Some(0.0),
            "the bound underflows: those sums are exact"
        );
    }
}
