//! Exact references for the sums, and the documented error bounds of the
//! compensated sum. Shared by the property tests (tests/properties.rs) and
//! the fuzz checks (fuzz/check), which include this file by path.

#![allow(dead_code)] // each includer uses a part

/// `u`, the unit roundoff of `f64` (half an ulp of 1.0).
pub const U: f64 = f64::EPSILON / 2.0;

/// The exact sum of `data` as non-overlapping partials (Shewchuk's algorithm,
/// as in CPython's `math.fsum`): their exact sum is the exact sum of `data`.
/// `None` when an element is not finite or an intermediate sum overflows.
pub fn partials(data: impl IntoIterator<Item = f64>) -> Option<Vec<f64>> {
    let mut partials: Vec<f64> = Vec::new();
    for mut x in data {
        if !x.is_finite() {
            return None;
        }
        let mut i = 0;
        for j in 0..partials.len() {
            let mut y = partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            if !hi.is_finite() {
                return None;
            }
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
    Some(partials)
}

/// The correctly rounded (round-half-even) value of the exact sum of the
/// partials (CPython's `math.fsum` final step).
pub fn round_partials(partials: &[f64]) -> f64 {
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
    // Half-way cases: the partials below decide the direction.
    if n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0)) {
        let y = lo * 2.0;
        let x = hi + y;
        if y == x - hi {
            hi = x;
        }
    }
    hi
}

/// The correctly rounded sum of finite `data`; `None` as for [`partials`].
pub fn fsum(data: &[f64]) -> Option<f64> {
    partials(data.iter().copied()).map(|p| round_partials(&p))
}

/// What the error of a compensated sum is measured against. All three values
/// are scaled by `2^-scale_exp` (0 unless the data are near overflow), which
/// leaves the bounds below unchanged: they are homogeneous.
#[derive(Debug, Clone, Copy)]
pub struct Reference {
    /// The correctly rounded exact sum `S`, scaled.
    pub sum: f64,
    /// The correctly rounded `Σ|x_i|`, scaled.
    pub abs_sum: f64,
    /// The correctly rounded `r − S` for the result `r` checked, scaled
    /// (`None` when `r` is not finite).
    pub error: Option<f64>,
    /// The scale: the values above times `2^scale_exp` are the true ones.
    pub scale_exp: i32,
}

/// The reference for result `r` of summing the finite `data`, computed
/// without overflow: near `f64::MAX` everything is first scaled down by a
/// power of two (exact except for subnormals, whose lost bits are far below
/// any bound at that magnitude). `None` when an element is not finite.
pub fn reference(data: &[f64], r: f64) -> Option<Reference> {
    if data.iter().any(|x| !x.is_finite()) {
        return None;
    }
    let naive: f64 = data.iter().map(|x| x.abs()).sum();
    let scale_exp = if naive < f64::MAX / 4.0 {
        0
    } else {
        16 + (usize::BITS - data.len().leading_zeros()) as i32
    };
    let scale = 2f64.powi(-scale_exp);
    let xs: Vec<f64> = data.iter().map(|x| x * scale).collect();
    let p = partials(xs.iter().copied())?;
    let abs_sum = fsum(&xs.iter().map(|x| x.abs()).collect::<Vec<_>>())?;
    let error = if r.is_finite() {
        let diff = partials(std::iter::once(r * scale).chain(p.iter().map(|x| -x)))?;
        Some(round_partials(&diff))
    } else {
        None
    };
    Some(Reference {
        sum: round_partials(&p),
        abs_sum,
        error,
        scale_exp,
    })
}

/// `γ_k = k·u / (1 − k·u)`.
fn gamma(k: f64) -> f64 {
    k * U / (1.0 - k * U)
}

/// A factor that makes up for the roundings in computing a bound in `f64`
/// (a few ulps of slack, far below the size of any bound term).
const SLACK: f64 = 1.0 + 16.0 * f64::EPSILON;

/// The rigorous bound of the kernels' module documentation:
/// `|r − S| ≤ u·|S| + (γ_m² + γ_46²)·Σ|x_i|` with `m = ⌈n/16⌉`.
pub fn rigorous_bound(n: usize, re: &Reference) -> f64 {
    let m = n.div_ceil(16) as f64;
    (U * re.sum.abs() + (gamma(m) * gamma(m) + gamma(46.0) * gamma(46.0)) * re.abs_sum) * SLACK
}

/// The bound the header states for `fast_sum` / `mylib_sum_f64`:
/// `2·DBL_EPSILON·|sum| + n·DBL_EPSILON²·Σ|x|`.
pub fn header_bound(n: usize, re: &Reference) -> f64 {
    let e = f64::EPSILON;
    (2.0 * e * re.sum.abs() + n as f64 * e * e * re.abs_sum) * SLACK
}

/// Checks the result `r` of a compensated sum of `data` against the exact
/// sum: the bounds above when everything is finite, else the documented
/// rules for NaN and infinities. `Err` says what is wrong.
pub fn check_compensated(data: &[f64], r: f64) -> Result<(), String> {
    let has_nan = data.iter().any(|x| x.is_nan());
    let pos_inf = data.contains(&f64::INFINITY);
    let neg_inf = data.contains(&f64::NEG_INFINITY);
    if has_nan || (pos_inf && neg_inf) {
        return if r.is_nan() {
            Ok(())
        } else {
            Err(format!("expected NaN, got {r:e}"))
        };
    }
    if pos_inf || neg_inf {
        let want = if pos_inf { f64::INFINITY } else { f64::NEG_INFINITY };
        // Finite values whose running sum overflows to the other infinity
        // may turn the result into NaN (documented: like a plain sum).
        let finite: Vec<f64> = data.iter().copied().filter(|x| x.is_finite()).collect();
        let may_overflow = reference(&finite, 0.0).is_some_and(|re| re.abs_sum >= overflow_limit(re.scale_exp));
        return if r == want || (may_overflow && !r.is_finite()) {
            Ok(())
        } else {
            Err(format!("expected {want}, got {r:e}"))
        };
    }
    let re = reference(data, r).ok_or("finite data without a reference")?;
    let Some(error) = re.error else {
        // Documented: when the running sum overflows, the result is ±inf or
        // NaN like a plain sum. Only possible when Σ|x| reaches f64::MAX
        // (with a hair of slack for the rounding of the running sums).
        return if re.abs_sum >= overflow_limit(re.scale_exp) {
            Ok(())
        } else {
            Err(format!(
                "result {r:e} although Σ|x| = {:e}·2^{} is below f64::MAX",
                re.abs_sum, re.scale_exp
            ))
        };
    };
    let err = error.abs();
    let what = |name: &str, bound: f64| {
        format!(
            "error {err:e} above the {name} bound {bound:e} (scaled by 2^-{}; result {r:e}, exact {:e}, Σ|x| {:e}, n {})",
            re.scale_exp,
            re.sum,
            re.abs_sum,
            data.len()
        )
    };
    let rigorous = rigorous_bound(data.len(), &re);
    if err > rigorous {
        return Err(what("rigorous", rigorous));
    }
    let header = header_bound(data.len(), &re);
    if err > header {
        return Err(what("header's", header));
    }
    Ok(())
}

/// The `Σ|x|` (scaled by `2^-scale_exp`) from which running sums may
/// overflow: `f64::MAX`, with a hair of slack for their rounding.
fn overflow_limit(scale_exp: i32) -> f64 {
    f64::MAX * 2f64.powi(-scale_exp) * (1.0 - 1e-9)
}

/// The exact sum of ints.
pub fn sum_i128(data: &[i32]) -> i128 {
    data.iter().map(|&x| i128::from(x)).sum()
}
