//! Property tests of the sums (proptest, stable Rust), through the C exports
//! and the kernels' public API:
//! - the int sums are exact (against i128), and `sum_array` wraps and reports
//!   overflow exactly when the exact sum does not fit an `int`;
//! - the float sum is the exact sum rounded once (against the plain big-integer
//!   reference of tests/common/exact.rs), NaN and infinities included, through
//!   `mylib_sum_f64`, `fast_sum`, `mylib_sum_f64_strided` (reversed and
//!   strided views), every kernel path, and split into `mylib_exact_sum`
//!   states merged in any order, through bytes.
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

/// Every exponent, cancelling: values over the whole range and their exact
/// negations, plus a few values left over, shuffled. The exact sum is the
/// leftovers', up to 10^600 below the largest values.
fn every_exponent_cancelling() -> impl Strategy<Value = Vec<f64>> {
    (
        prop::collection::vec(double_in(-1074..1023), 1..300),
        prop::collection::vec(double_in(-1074..1023), 0..4),
    )
        .prop_flat_map(|(base, rest)| {
            let mut all: Vec<f64> = base.iter().flat_map(|&x| [x, -x]).collect();
            all.extend(rest);
            Just(all).prop_shuffle()
        })
}

/// Half-ulp ties: a large value, one that lands exactly half an ulp of it
/// away, and maybe a tiny one that breaks the tie, in any order.
fn ties() -> impl Strategy<Value = Vec<f64>> {
    (
        double_in(-900..1000),
        any::<bool>(),
        prop_oneof![Just(0.0), double_in(-1074..-900)],
        0usize..40,
    )
        .prop_flat_map(|(big, up, breaker, copies)| {
            let half = f64::from_bits(big.abs().to_bits() & (0x7ff << 52)) * f64::EPSILON / 2.0;
            let mut v = vec![big, if up { half } else { -half }, breaker];
            // Balanced pairs that change nothing, so the tie hides in a longer sum.
            for k in 0..copies {
                let x = big * (k as f64 + 0.5);
                v.extend([x, -x]);
            }
            Just(v).prop_shuffle()
        })
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

/// The float sum of `data[off..]`: the exact sum rounded once, through every
/// route, kernel path and layout, and through split states.
fn check_doubles(data: &[f64], off: usize) -> Result<(), TestCaseError> {
    let d = &data[off.min(data.len())..];
    let want = exact::expected(d);
    let mut r = 0.0f64;
    // SAFETY: a valid slice and out-pointer.
    let status = unsafe { mylib_sum_f64(d.as_ptr(), d.len(), &mut r) };
    let got = match status {
        OK => Ok(r),
        OVERFLOW => Err(r),
        other => return Err(TestCaseError::fail(format!("status {other}"))),
    };
    prop_assert!(want.matches(got), "mylib_sum_f64 {:?}, want {:?}", got, want);
    let mut r2 = 0.0f64;
    // SAFETY: as above; the length fits an int.
    unsafe { fast_sum(d.as_ptr(), d.len() as c_int, &mut r2) };
    prop_assert!(same(r2, r), "fast_sum {} vs mylib_sum_f64 {}", r2, r);
    prop_assert_eq!(mylib_last_error(), status);
    for p in Path::available() {
        let got = kernels::sum_f64_with(p, d).map_err(|o| o.0);
        prop_assert!(want.matches(got), "path {}: {:?}", p.name(), got);
    }
    // Reversed, in place: the last element first, stride -8.
    if !d.is_empty() {
        let mut r3 = 0.0f64;
        let (shape, strides) = ([d.len()], [-8isize]);
        // SAFETY: the layout names exactly the elements of `d`.
        let st = unsafe {
            mylib_sum_f64_strided(
                d.as_ptr().add(d.len() - 1).cast(),
                1,
                shape.as_ptr(),
                strides.as_ptr(),
                &mut r3,
            )
        };
        prop_assert_eq!(st, status);
        prop_assert!(same(r3, r), "reversed {} vs {}", r3, r);
        // Every other element, both halves, as a 2 x m strided array.
        let m = d.len() / 2;
        let (shape, strides) = ([2, m], [8isize, 16]);
        let mut r4 = 0.0f64;
        // SAFETY: the layout names the first 2m elements of `d`.
        let st = unsafe { mylib_sum_f64_strided(d.as_ptr().cast(), 2, shape.as_ptr(), strides.as_ptr(), &mut r4) };
        let want2 = exact::expected(&d[..2 * m]);
        prop_assert!(
            want2.matches(if st == OK { Ok(r4) } else { Err(r4) }),
            "2 x m: {} (status {})",
            r4,
            st
        );
    }
    Ok(())
}

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// `data` cut at `cuts`, each part summed in its own `mylib_exact_sum`, the
/// parts' bytes merged in the order `order` gives: the whole's bytes and sum.
fn check_split_merge(data: &[f64], cuts: &[usize], order: &[usize]) -> Result<(), TestCaseError> {
    let mut bounds: Vec<usize> = cuts.iter().map(|&c| c % (data.len() + 1)).collect();
    bounds.extend([0, data.len()]);
    bounds.sort_unstable();
    let parts: Vec<&[f64]> = bounds.windows(2).map(|w| &data[w[0]..w[1]]).collect();
    // SAFETY: states made by mylib_exact_sum_new and freed once; buffers of
    // MYLIB_EXACT_SUM_BYTES bytes; valid slices.
    unsafe {
        let mut bytes: Vec<[u8; MYLIB_EXACT_SUM_BYTES]> = Vec::new();
        for part in &parts {
            let mut acc = std::ptr::null_mut();
            prop_assert_eq!(mylib_exact_sum_new(&mut acc), OK);
            prop_assert_eq!(mylib_exact_sum_add(acc, part.as_ptr(), part.len()), OK);
            let mut b = [0u8; MYLIB_EXACT_SUM_BYTES];
            prop_assert_eq!(mylib_exact_sum_to_bytes(acc, b.as_mut_ptr(), b.len()), OK);
            mylib_exact_sum_free(acc);
            bytes.push(b);
        }
        let mut whole = std::ptr::null_mut();
        prop_assert_eq!(mylib_exact_sum_new(&mut whole), OK);
        for &x in data {
            prop_assert_eq!(mylib_exact_sum_add_value(whole, x), OK);
        }
        let mut total = std::ptr::null_mut();
        prop_assert_eq!(mylib_exact_sum_new(&mut total), OK);
        let mut idx: Vec<usize> = (0..bytes.len()).collect();
        for (i, &o) in order.iter().enumerate() {
            let n = idx.len();
            idx.swap(i % n, o % n);
        }
        for &i in &idx {
            let mut part = std::ptr::null_mut();
            prop_assert_eq!(
                mylib_exact_sum_from_bytes(bytes[i].as_ptr(), bytes[i].len(), &mut part),
                OK
            );
            prop_assert_eq!(mylib_exact_sum_merge(total, part), OK);
            mylib_exact_sum_free(part);
        }
        let (mut a, mut b) = ([0u8; MYLIB_EXACT_SUM_BYTES], [0u8; MYLIB_EXACT_SUM_BYTES]);
        mylib_exact_sum_to_bytes(total, a.as_mut_ptr(), a.len());
        mylib_exact_sum_to_bytes(whole, b.as_mut_ptr(), b.len());
        prop_assert_eq!(a.to_vec(), b.to_vec(), "merged parts vs the whole, value by value");
        let mut r = 0.0f64;
        let status = mylib_exact_sum_result(total, &mut r);
        let want = exact::expected(data);
        prop_assert!(
            want.matches(if status == OK { Ok(r) } else { Err(r) }),
            "merged {} ({})",
            r,
            status
        );
        mylib_exact_sum_free(total);
        mylib_exact_sum_free(whole);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn int_sums_are_exact(data in ints(), off in 0usize..4) {
        check_ints(&data, off)?;
    }

    #[test]
    fn float_sum_is_exact_mixed(data in mixed(), off in 0usize..4) {
        check_doubles(&data, off)?;
    }

    #[test]
    fn float_sum_is_exact_cancelling(data in cancelling(), off in 0usize..4) {
        check_doubles(&data, off)?;
    }

    #[test]
    fn float_sum_is_exact_every_exponent(data in every_exponent_cancelling(), off in 0usize..4) {
        check_doubles(&data, off)?;
    }

    #[test]
    fn float_sum_is_exact_on_ties(data in ties()) {
        check_doubles(&data, 0)?;
    }

    #[test]
    fn float_sum_near_overflow(data in huge(), off in 0usize..4) {
        check_doubles(&data, off)?;
    }

    #[test]
    fn float_sum_special_values_and_paths(data in any_doubles(), off in 0usize..4) {
        check_doubles(&data, off)?;
    }

    #[test]
    fn split_states_merge_to_the_whole(
        data in prop_oneof![mixed(), every_exponent_cancelling(), any_doubles(), huge()],
        cuts in prop::collection::vec(any::<usize>(), 0..6),
        order in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        check_split_merge(&data, &cuts, &order)?;
    }
}

/// `inf`, `-inf` and `NaN` in one lane: NaN on every path.
#[test]
fn nan_from_every_path() {
    let mut v = vec![1.0; 48];
    v[0] = f64::INFINITY;
    v[16] = f64::NEG_INFINITY;
    v[32] = f64::NAN;
    for p in Path::available() {
        assert!(kernels::sum_f64_with(p, &v).unwrap().is_nan(), "path {}", p.name());
    }
}

// ---------------------------------------------------------------- the references can fail

#[test]
fn references_are_exact_and_agree() {
    use exact::Expected;
    assert_eq!(exact::fsum(&[0.1; 10]), Some(1.0));
    assert_eq!(exact::fsum(&[1e100, 1.0, -1e100, 1e-100]), Some(1.0));
    // Round-half-even decided by the partials below the halfway point.
    assert_eq!(
        exact::fsum(&[1.0, 1.1102230246251565e-16, 1e-300]),
        Some(1.0000000000000002)
    );
    assert_eq!(exact::fsum(&[1.0, 1.1102230246251565e-16]), Some(1.0));
    // The big-integer reference: the same cases, ties, overflow, specials.
    let value = |d: &[f64]| match exact::expected(d) {
        Expected::Value(v) => Some(v),
        Expected::Overflow(_) => None,
    };
    assert_eq!(value(&[0.1; 10]), Some(1.0));
    assert_eq!(value(&[1.0, 1.1102230246251565e-16, 1e-300]), Some(1.0000000000000002));
    assert_eq!(value(&[1.0, 1.1102230246251565e-16]), Some(1.0));
    assert_eq!(
        value(&[exact::pow2(53), 1.0, exact::pow2(-60)]),
        Some(exact::pow2(53) + 2.0)
    );
    assert_eq!(value(&[1e308, 1e308, -1e308]), Some(1e308));
    assert_eq!(value(&[5e-324, -1e-323]), Some(-5e-324));
    assert_eq!(value(&[]).map(f64::to_bits), Some(0));
    assert!(matches!(exact::expected(&[f64::MAX, f64::MAX]), Expected::Overflow(x) if x == f64::INFINITY));
    assert!(
        matches!(exact::expected(&[-f64::MAX, -exact::pow2(970)]), Expected::Overflow(x) if x == f64::NEG_INFINITY)
    );
    assert_eq!(value(&[f64::MAX, exact::pow2(969)]), Some(f64::MAX));
    assert!(value(&[f64::INFINITY, f64::NEG_INFINITY]).unwrap().is_nan());
    assert_eq!(value(&[f64::INFINITY, -f64::MAX, -f64::MAX]), Some(f64::INFINITY));
    // It tells wrong results apart.
    assert!(!exact::expected(&[0.1, 0.2]).matches(Ok(f64::from_bits(0.30000000000000004f64.to_bits() + 1))));
    assert!(exact::expected(&[0.1, 0.2]).matches(Ok(0.30000000000000004)));
    assert!(!exact::expected(&[f64::MAX, f64::MAX]).matches(Ok(f64::INFINITY)));
    // Agrees with the partials where those apply.
    let d: Vec<f64> = (1..500)
        .map(|i| (i as f64).sqrt() * if i % 3 == 0 { -1e10 } else { 1e-5 })
        .collect();
    assert_eq!(value(&d), exact::fsum(&d));
    // Exact int reference.
    assert_eq!(exact::sum_i128(&[i32::MAX, i32::MAX]), 2 * i128::from(i32::MAX));
}
