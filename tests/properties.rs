//! Property tests of the sums (proptest, stable Rust), through the C exports
//! and the kernels' public API:
//! - the int sums are exact (against i128), and `sum_array` wraps and reports
//!   overflow exactly when the exact sum does not fit an `int`;
//! - the compensated sum is within the documented error bounds of the exact
//!   sum (Shewchuk partials), and follows the NaN/infinity rules;
//! - every kernel path this CPU has returns bit-identical results.
//!
//! Failing inputs are kept by proptest in tests/properties.proptest-regressions
//! and replayed first on every run. Not under Miri (far too slow interpreted).

#![cfg(not(miri))]

#[path = "common/exact.rs"]
mod exact;

use std::ffi::c_int;

use mylib::kernels::{self, Path};
use mylib::*;
use proptest::prelude::*;

const OK: c_int = MylibStatus::MylibOk as c_int;
const OVERFLOW: c_int = MylibStatus::MylibErrOverflow as c_int;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------- strategies

/// Ints with the extremes over-represented, so overflow of `int` is common.
fn ints() -> impl Strategy<Value = Vec<i32>> {
    let one = prop_oneof![
        4 => any::<i32>(),
        2 => Just(i32::MAX),
        2 => Just(i32::MIN),
        1 => -3..3i32,
    ];
    prop::collection::vec(one, 0..700)
}

/// A finite double `±(1 + m/2^52)·2^e` with `e` in `exps`, or a zero or a
/// subnormal now and then.
fn double_in(exps: std::ops::Range<i32>) -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => (any::<bool>(), 0u64..(1 << 52), exps).prop_map(|(neg, m, e)| {
            let x = (1.0 + m as f64 / (1u64 << 52) as f64) * 2f64.powi(e);
            if neg { -x } else { x }
        }),
        1 => Just(0.0),
        1 => prop::num::f64::SUBNORMAL,
    ]
}

/// Mixed magnitudes (2^-60 .. 2^60).
fn mixed() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(double_in(-60..60), 0..1200)
}

/// Heavy cancellation: values, their negations and a little noise,
/// shuffled. The exact sum is tiny next to Σ|x|.
fn cancelling() -> impl Strategy<Value = Vec<f64>> {
    (
        prop::collection::vec(double_in(-30..40), 1..400),
        prop::collection::vec(double_in(-80..-20), 0..20),
    )
        .prop_flat_map(|(base, noise)| {
            let mut all: Vec<f64> = base.iter().flat_map(|&x| [x, -x]).collect();
            all.extend(noise);
            Just(all).prop_shuffle()
        })
}

/// Near the top of the range: sums that overflow on the way, or not.
fn huge() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(double_in(1015..1024), 0..40)
}

/// Anything, NaN and infinities included.
fn any_doubles() -> impl Strategy<Value = Vec<f64>> {
    let one = prop_oneof![
        6 => double_in(-1074..1024),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(f64::NAN),
        1 => any::<u64>().prop_map(f64::from_bits),
    ];
    prop::collection::vec(one, 0..300)
}

// ---------------------------------------------------------------- checks

/// The int sums of `data[off..]` through every route.
fn check_ints(data: &[i32], off: usize) -> Result<(), TestCaseError> {
    let d = &data[off.min(data.len())..];
    let exact = exact::sum_i128(d);
    let mut s64 = 0i64;
    // SAFETY: a valid slice and out-pointer.
    prop_assert_eq!(unsafe { mylib_sum_i32(d.as_ptr(), d.len(), &mut s64) }, OK);
    prop_assert_eq!(i128::from(s64), exact);
    // SAFETY: as above; the length fits an int.
    let wrapped = unsafe { sum_array(d.as_ptr(), d.len() as c_int) };
    prop_assert_eq!(wrapped, exact as i32, "two's-complement wrap of the exact sum");
    let fits = i32::try_from(exact).is_ok();
    prop_assert_eq!(mylib_last_error(), if fits { OK } else { OVERFLOW });
    for p in Path::available() {
        prop_assert_eq!(kernels::sum_i32_with(p, d), Some(s64), "path {}", p.name());
    }
    Ok(())
}

/// The compensated sum of `data[off..]`: within the bounds, and the same
/// bits through every route and kernel path.
fn check_doubles(data: &[f64], off: usize) -> Result<(), TestCaseError> {
    let d = &data[off.min(data.len())..];
    let mut r = 0.0f64;
    // SAFETY: a valid slice and out-pointer.
    prop_assert_eq!(unsafe { mylib_sum_f64(d.as_ptr(), d.len(), &mut r) }, OK);
    if let Err(why) = exact::check_compensated(d, r) {
        return Err(TestCaseError::fail(why));
    }
    let mut r2 = 0.0f64;
    // SAFETY: as above; the length fits an int.
    unsafe { fast_sum(d.as_ptr(), d.len() as c_int, &mut r2) };
    prop_assert_eq!(r2.to_bits(), r.to_bits(), "fast_sum vs mylib_sum_f64");
    let portable = kernels::sum_f64_with(Path::Portable, d);
    for p in Path::available() {
        let got = kernels::sum_f64_with(p, d);
        prop_assert_eq!(got.to_bits(), portable.to_bits(), "path {} vs portable", p.name());
    }
    prop_assert_eq!(r.to_bits(), portable.to_bits(), "the export vs the portable kernel");
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn int_sums_are_exact(data in ints(), off in 0usize..4) {
        check_ints(&data, off)?;
    }

    #[test]
    fn compensated_sum_within_bound_mixed(data in mixed(), off in 0usize..4) {
        check_doubles(&data, off)?;
    }

    #[test]
    fn compensated_sum_within_bound_cancelling(data in cancelling(), off in 0usize..4) {
        check_doubles(&data, off)?;
    }

    #[test]
    fn compensated_sum_near_overflow(data in huge(), off in 0usize..4) {
        check_doubles(&data, off)?;
    }

    #[test]
    fn compensated_sum_special_values_and_paths(data in any_doubles(), off in 0usize..4) {
        check_doubles(&data, off)?;
    }
}

/// The smallest case the NaN-bits property found: `inf`, `-inf` and `NaN` in
/// one lane gave +NaN on the portable path and -NaN on AVX2/AVX-512.
#[test]
fn nan_bits_agree_across_paths() {
    let mut v = vec![1.0; 48];
    v[0] = f64::INFINITY;
    v[16] = f64::NEG_INFINITY;
    v[32] = f64::NAN;
    for p in Path::available() {
        assert_eq!(
            kernels::sum_f64_with(p, &v).to_bits(),
            f64::NAN.to_bits(),
            "path {}",
            p.name()
        );
    }
}

// ---------------------------------------------------------------- the references can fail

#[test]
fn references_are_exact_and_reject_wrong_results() {
    assert_eq!(exact::fsum(&[0.1; 10]), Some(1.0));
    assert_eq!(exact::fsum(&[1e100, 1.0, -1e100, 1e-100]), Some(1.0));
    // Round-half-even decided by the partials below the halfway point.
    assert_eq!(
        exact::fsum(&[1.0, 1.1102230246251565e-16, 1e-300]),
        Some(1.0000000000000002)
    );
    assert_eq!(exact::fsum(&[1.0, 1.1102230246251565e-16]), Some(1.0));
    // A naive sum loses the 1.0 here; the checker says so.
    let d = [1e16, 1.0, -1e16];
    assert!(exact::check_compensated(&d, 0.0).is_err());
    assert!(exact::check_compensated(&d, 1.0).is_ok());
    // The correctly rounded sum passes; one ulp off is outside the rigorous
    // bound (u·|S| plus a term of order u²·Σ|x|), and a thousand are outside both.
    let d = [0.1, 0.2, 0.3];
    let s = exact::fsum(&d).unwrap();
    assert!(exact::check_compensated(&d, s).is_ok());
    let one_off = exact::check_compensated(&d, f64::from_bits(s.to_bits() + 1));
    assert!(one_off.unwrap_err().contains("rigorous"));
    let far_off = exact::check_compensated(&d, f64::from_bits(s.to_bits() + 1000));
    assert!(far_off.is_err());
    let re = exact::reference(&d, f64::from_bits(s.to_bits() + 1000)).unwrap();
    assert!(re.error.unwrap().abs() > exact::header_bound(3, &re));
    // Special values.
    assert!(exact::check_compensated(&[f64::INFINITY, 1.0], f64::INFINITY).is_ok());
    assert!(exact::check_compensated(&[f64::INFINITY, f64::NEG_INFINITY], 0.0).is_err());
    assert!(exact::check_compensated(&[f64::INFINITY, 1.0], f64::NAN).is_err());
    // +inf with finite values that overflow to -inf on the way: NaN allowed.
    assert!(exact::check_compensated(&[f64::INFINITY, -f64::MAX, -f64::MAX], f64::NAN).is_ok());
    assert!(exact::check_compensated(&[f64::NAN], f64::NAN).is_ok());
    // Overflow on the way: inf allowed only when Σ|x| reaches f64::MAX.
    assert!(exact::check_compensated(&[f64::MAX, f64::MAX, -f64::MAX], f64::INFINITY).is_ok());
    assert!(exact::check_compensated(&[f64::MAX, f64::MAX, -f64::MAX], f64::MAX).is_ok());
    assert!(exact::check_compensated(&[1.0, 2.0], f64::INFINITY).is_err());
    // Exact int reference.
    assert_eq!(exact::sum_i128(&[i32::MAX, i32::MAX]), 2 * i128::from(i32::MAX));
}
