//! Tests of the sums against references written for the tests
//! (`tests/common/exact.rs`): every path, route, thread count, block size,
//! offset and layout must give the exact sum rounded once.

use super::f64::{Route, Values, sum_values};
use super::strided::Permuted;
use super::*;

#[path = "../../tests/common/exact.rs"]
mod reference;
pub(crate) use reference::pow2;
use reference::{Expected, expected};

/// Deterministic xorshift64 PRNG.
pub(crate) struct Rng(pub(crate) u64);
impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    /// Uniform in [0, 1).
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Standard normal (Box–Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
    /// `normal * 10^uniform(-8, 8)`: mixed magnitudes.
    pub(crate) fn mixed(&mut self) -> f64 {
        self.normal() * 10f64.powf(self.uniform() * 16.0 - 8.0)
    }
    /// A double with a random sign and exponent over (nearly) the whole
    /// range, subnormals included.
    pub(crate) fn any_exponent(&mut self) -> f64 {
        let bits = self.next() & !(0x7ff << 52) | ((self.next() % 2046) << 52);
        f64::from_bits(bits)
    }
    pub(crate) fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, (self.next() % (i as u64 + 1)) as usize);
        }
    }
}

/// Values that cancel to a condition number of about `10^k`: random values,
/// their negations (slightly perturbed), and small ones, shuffled.
pub(crate) fn cancelling(n: usize, k: i32, rng: &mut Rng) -> Vec<f64> {
    let half = n / 2;
    let mut v: Vec<f64> = (0..half).map(|_| rng.mixed() * 1e6).collect();
    let negated: Vec<f64> = v.iter().map(|&x| -x).collect();
    v.extend(negated);
    let scale = 1e6 / 10f64.powi(k);
    v.extend((v.len()..n).map(|_| rng.normal() * scale));
    if n > 2 * half {
        // A last perturbation so that the exact sum is not a round number.
        v[0] += scale * rng.uniform();
    }
    rng.shuffle(&mut v);
    v
}

fn check(data: &[f64], got: Result<f64, Overflow>, what: &str) {
    check_against(&expected(data), got, &format!("{what} (n = {})", data.len()));
}

/// [`check`] with the reference already computed (it is the slow part under Miri).
fn check_against(want: &Expected, got: Result<f64, Overflow>, what: &str) {
    assert!(want.matches(got.map_err(|o| o.0)), "{what}: got {got:?}, want {want:?}");
}

/// Every path, the available ones and those that fall back to the portable
/// kernel. Under Miri, which detects no SIMD feature, every path runs the
/// portable kernel: there, `Portable`, `Auto` and one that falls back.
fn paths() -> Vec<Path> {
    if cfg!(miri) {
        return vec![Path::Portable, Path::Auto, Path::Avx512];
    }
    let mut v = Path::available();
    for p in [Path::Portable, Path::Auto, Path::Avx2, Path::Avx512, Path::Neon] {
        if !v.contains(&p) {
            v.push(p);
        }
    }
    v
}

fn split(block: usize, threads: usize) -> Split {
    Split {
        block,
        threads,
        min_per_thread: 1,
    }
}

#[test]
fn detection() {
    let av = Path::available();
    assert!(av.contains(&Path::Portable));
    assert!(!av.contains(&Path::Auto));
    assert!(av.contains(&Path::best()));
    assert_eq!(Path::Portable.name(), "portable");
    assert_eq!(Path::Avx512.name(), "avx512");
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
fn hard_cases() {
    let max = f64::MAX;
    let cases: Vec<Vec<f64>> = vec![
        vec![],
        vec![0.1; 10],
        vec![pow2(53), 1.0, pow2(-60)],
        vec![pow2(53), 1.0],
        vec![1e308, 1e308, -1e308],
        vec![max, max],
        vec![max, pow2(970)],
        vec![max, pow2(970), -5e-324],
        vec![-0.0, -0.0],
        vec![5e-324; 100],
        vec![1.0, 1e100, 1.0, -1e100],
    ];
    for d in &cases {
        let want = expected(d);
        for p in paths() {
            check_against(&want, sum_f64_with(p, d), &format!("{p:?} {d:?}"));
        }
    }
    assert_eq!(sum_f64(&[1e308, 1e308, -1e308]), Ok(1e308));
    assert_eq!(sum_f64(&[max, max]), Err(Overflow(f64::INFINITY)));
}

#[test]
fn every_length_offset_and_path() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for kind in 0..4 {
        let big: Vec<f64> = (0..420)
            .map(|_| match kind {
                0 => rng.mixed(),
                1 => rng.any_exponent(),
                2 => (rng.next() % 7) as f64 - 3.0,
                _ => rng.normal() * 1e300,
            })
            .collect();
        for off in 0..4 {
            for len in (0..=140).chain([255, 256, 257, 400]) {
                let d = &big[off..off + len];
                for p in paths() {
                    check(d, sum_f64_with(p, d), &format!("kind {kind} {p:?} off={off} len={len}"));
                }
            }
        }
    }
}

#[test]
fn routes_are_taken_and_agree() {
    let mut rng = Rng(77);
    let normal: Vec<f64> = (0..10_000).map(|_| rng.normal()).collect();
    let (r, route) = sum_values(Path::Auto, Values::Slice(&normal), split(BLOCK, 1));
    assert_eq!(route, Route::Certified);
    check(&normal, r, "normal");
    let hard = cancelling(10_000, 30, &mut rng);
    let (r, route) = sum_values(Path::Auto, Values::Slice(&hard), split(BLOCK, 1));
    assert_eq!(route, Route::Exact, "a condition number of 1e30 cannot be certified");
    check(&hard, r, "cancelling");
    let (_, route) = sum_values(Path::Auto, Values::Slice(&normal[..63]), split(BLOCK, 1));
    assert_eq!(route, Route::OneByOne);
    let zeros = vec![0.0; 1000];
    assert_eq!(
        sum_values(Path::Auto, Values::Slice(&zeros), split(BLOCK, 1)),
        (Ok(0.0), Route::Certified)
    );
}

#[test]
fn cancellation_at_every_condition_number() {
    let mut rng = Rng(2024);
    for k in [0, 5, 10, 14, 15, 16, 17, 20, 30, 100, 250] {
        for n in [100, 1000, 5000] {
            let d = cancelling(n, k, &mut rng);
            for p in paths() {
                check(&d, sum_f64_with(p, &d), &format!("k={k} n={n} {p:?}"));
            }
        }
    }
}

#[test]
fn every_thread_count_and_block() {
    let mut rng = Rng(11);
    for block in [32, 96, 1000] {
        for n in [0, 1, 63, 64, 65, 200, 1000, 3001] {
            let d = cancelling(n, 20, &mut rng);
            let m: Vec<f64> = (0..n).map(|_| rng.mixed()).collect();
            for threads in 1..=5 {
                for p in paths() {
                    let what = format!("{p:?} block={block} n={n} t={threads}");
                    check(&d, sum_f64_split(p, &d, split(block, threads)), &what);
                    check(&m, sum_f64_split(p, &m, split(block, threads)), &what);
                }
            }
        }
    }
}

/// Small enough for Miri (`make test-miri`): the threaded path on a few
/// blocks, on both routes.
#[test]
fn small_threaded_sums() {
    let mut rng = Rng(21);
    let easy: Vec<f64> = (0..100).map(|_| rng.mixed()).collect();
    let hard = cancelling(100, 30, &mut rng);
    let ints: Vec<i32> = (0..100).map(|_| rng.next() as i32).collect();
    for n in [0, 1, 64, 65, 100] {
        let (want_easy, want_hard) = (expected(&easy[..n]), expected(&hard[..n]));
        for threads in 1..=3 {
            for p in paths() {
                let what = format!("{p:?} n={n} threads={threads}");
                check_against(&want_easy, sum_f64_split(p, &easy[..n], split(32, threads)), &what);
                check_against(&want_hard, sum_f64_split(p, &hard[..n], split(32, threads)), &what);
                let want = ints[..n].iter().map(|&x| i64::from(x)).sum::<i64>();
                assert_eq!(sum_i32_split(p, &ints[..n], split(32, threads)), Some(want));
            }
        }
    }
}

/// Small enough for Miri (`make test-miri`): every route of the f64 sum and
/// of the exact state on small inputs — one by one, certified (several
/// blocks and threads), exact without bins and with them (a block of 4096
/// values or more), an `Elements` array, NaN and overflow in a block, and
/// states added in parts, through bytes, merged.
#[test]
fn small_inputs_on_every_route() {
    let mut rng = Rng(31);
    let easy: Vec<f64> = (0..200).map(|_| rng.mixed()).collect();
    let hard = cancelling(200, 40, &mut rng);
    let route = |d: &[f64], block, threads| sum_values(Path::Portable, Values::Slice(d), split(block, threads));
    let (want_easy, want_hard, want_head) = (expected(&easy), expected(&hard), expected(&hard[..63]));
    for threads in [1, 2] {
        let (r, how) = route(&easy, 64, threads);
        assert_eq!(how, Route::Certified);
        check_against(&want_easy, r, "certified");
        let (r, how) = route(&hard, 64, threads);
        assert_eq!(how, Route::Exact);
        check_against(&want_hard, r, "exact, no bins");
        let (r, how) = route(&hard[..63], 64, threads);
        assert_eq!(how, Route::OneByOne);
        check_against(&want_head, r, "one by one");
        let mut order: Vec<usize> = (0..hard.len()).collect();
        rng.shuffle(&mut order);
        let src = Permuted { data: &hard, order };
        let (r, _) = sum_values(Path::Portable, Values::Elements(&src), split(96, threads));
        check_against(&want_hard, r, "elements");
    }
    // The bins: one block of 4200 cancelling values, against the state of
    // the same values added one by one (the reference is too slow here).
    let big = cancelling(4200, 40, &mut rng);
    let (r, how) = route(&big, 8192, 1);
    assert_eq!(how, Route::Exact);
    let mut one_by_one = ExactSum::new();
    big.iter().for_each(|&x| one_by_one.add_uncounted(x));
    assert_eq!(r, one_by_one.value(), "exact, with bins");
    // NaN and overflow in a block: that block is redone exactly.
    let mut specials = easy.clone();
    specials[70] = f64::NAN;
    assert!(route(&specials, 64, 2).0.unwrap().is_nan());
    let mut over = vec![f64::MAX; 100];
    over.extend(vec![-f64::MAX; 99]);
    assert_eq!(route(&over, 64, 2).0, Ok(f64::MAX), "overflowing lanes");
    // A state in parts: the same bytes as the whole.
    let mut whole = ExactSum::new();
    whole.add_values(Values::Slice(&hard), split(64, 2)).unwrap();
    check_against(&want_hard, whole.value(), "add_values");
    let mut merged = ExactSum::new();
    for part in [&hard[..1], &hard[1..130], &hard[130..]] {
        let mut a = ExactSum::new();
        a.add_values(Values::Slice(part), split(32, 2)).unwrap();
        merged.merge(&ExactSum::from_bytes(&a.to_bytes()).unwrap()).unwrap();
    }
    assert_eq!(merged.to_bytes(), whole.to_bytes());
    assert_eq!(merged.count(), 200);
}

#[test]
fn specials_in_any_block() {
    let inf = f64::INFINITY;
    for n in [70usize, 200, 1000] {
        for pos in [0, n / 2, n - 1] {
            for (special, want) in [(f64::NAN, f64::NAN), (inf, inf), (-inf, -inf)] {
                let mut d = vec![1.5f64; n];
                d[pos] = special;
                for p in paths() {
                    for threads in [1, 3] {
                        let got = sum_f64_split(p, &d, split(64, threads));
                        assert!(
                            Expected::Value(want).matches(got.map_err(|o| o.0)),
                            "{p:?} n={n} pos={pos} {special}"
                        );
                    }
                }
            }
            let mut d = vec![f64::MAX; n];
            d[pos] = -inf;
            assert_eq!(
                sum_f64(&d),
                Ok(-inf),
                "an infinity decides, even against overflowing values"
            );
            d[n / 3] = inf;
            assert!(sum_f64(&d).unwrap().is_nan());
        }
    }
    // Overflow of the lanes is no overflow of the sum.
    let mut d = vec![f64::MAX; 500];
    d.extend(vec![-f64::MAX; 499]);
    d.push(1.0);
    Rng(5).shuffle(&mut d);
    for p in paths() {
        check(&d, sum_f64_split(p, &d, split(64, 2)), &format!("{p:?} max and -max"));
    }
}

#[test]
fn elements_in_any_order_give_the_same_bits() {
    let mut rng = Rng(99);
    for n in [0, 1, 63, 64, 1000, 2500] {
        let d = cancelling(n, 25, &mut rng);
        let easy: Vec<f64> = (0..n).map(|_| rng.mixed()).collect();
        for data in [&d, &easy] {
            let mut order: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut order);
            let src = Permuted { data, order };
            for threads in [1, 2, 4] {
                let (got, _) = sum_values(Path::Auto, Values::Elements(&src), split(256, threads));
                check(data, got, &format!("permuted n={n} t={threads}"));
            }
        }
    }
}

#[test]
fn exact_sum_adds_slices_as_values() {
    let mut rng = Rng(3);
    let d = cancelling(5000, 40, &mut rng);
    let mut whole = ExactSum::new();
    whole.add_slice(&d).unwrap();
    assert_eq!(whole.count(), 5000);
    check(&d, whole.value(), "add_slice");
    // Any split, merged in any order, is the same state.
    for cuts in [[0, 1, 2], [10, 700, 4999], [64, 2000, 4000]] {
        let parts = [&d[..cuts[0]], &d[cuts[0]..cuts[1]], &d[cuts[1]..cuts[2]], &d[cuts[2]..]];
        let mut acc = ExactSum::new();
        for part in parts.iter().rev() {
            let mut a = ExactSum::new();
            a.add_values(Values::Slice(part), split(32, 3)).unwrap();
            acc.merge(&a).unwrap();
        }
        assert_eq!(acc.to_bytes(), whole.to_bytes(), "{cuts:?}");
    }
}

#[test]
fn exact_sum_adds_typical_and_wide_data_exactly() {
    // Typical data go through extraction, a wide sub-block in the middle
    // through the bins, then extraction goes on; an all-wide array stops
    // trying extraction. Every way gives the reference.
    let mut rng = Rng(31);
    let mut mixed: Vec<f64> = (0..20_000).map(|_| rng.normal()).collect();
    for x in &mut mixed[9_000..9_100] {
        *x = rng.any_exponent();
    }
    mixed[15_000] = 1e-300;
    let wide: Vec<f64> = (0..30_000).map(|_| rng.any_exponent()).collect();
    let ints: Vec<f64> = (0..30_000).map(|_| (rng.next() % 2001) as f64 - 1000.0).collect();
    for d in [&mixed, &wide, &ints] {
        let reference = {
            let mut r = ExactSum::new();
            d.iter().for_each(|&x| r.add_uncounted(x));
            r
        };
        for threads in [1, 3] {
            for block in [32, 5000, BLOCK] {
                let mut acc = ExactSum::new();
                acc.add_values(Values::Slice(d), split(block, threads)).unwrap();
                assert_eq!(acc.words(), reference.words(), "t={threads} block={block}");
                let src = Permuted {
                    data: d,
                    order: (0..d.len()).rev().collect(),
                };
                let mut acc = ExactSum::new();
                acc.add_values(Values::Elements(&src), split(block, threads)).unwrap();
                assert_eq!(acc.words(), reference.words(), "reversed t={threads} block={block}");
            }
        }
    }
}

#[test]
fn the_default_floating_point_environment_is_detected() {
    assert!(fp_env_is_default());
}

/// Runs `f` with the calling thread's MXCSR set to `set(saved)`, then
/// restores it. This is the environment a C caller may hand mylib (its
/// rounding mode, or FTZ/DAZ from code built with `-ffast-math`), which
/// `fp_env_is_default` exists to see; its probes are `black_box`ed, so the
/// compiler cannot fold them away. Nothing else runs while it is set.
#[cfg(all(target_arch = "x86_64", not(miri)))]
fn with_mxcsr<R>(set: impl Fn(u32) -> u32, f: impl FnOnce() -> R) -> R {
    let mut saved = 0u32;
    // SAFETY: stmxcsr stores the 4-byte MXCSR into `saved`, a live local.
    unsafe { std::arch::asm!("stmxcsr [{}]", in(reg) &raw mut saved, options(nostack)) };
    let changed = set(saved);
    // SAFETY: ldmxcsr loads 4 bytes from `changed`, a live local; only control bits change.
    unsafe { std::arch::asm!("ldmxcsr [{}]", in(reg) &raw const changed, options(nostack, readonly)) };
    // black_box: the result is computed before MXCSR is restored (the
    // probes' inputs are black_boxed too, so computed after it is set).
    let r = std::hint::black_box(f());
    // SAFETY: as above, back to the saved value.
    unsafe { std::arch::asm!("ldmxcsr [{}]", in(reg) &raw const saved, options(nostack, readonly)) };
    r
}

/// Every non-default mode of MXCSR is seen: the rounding modes, and
/// flush-to-zero (FTZ, bit 15) and denormals-are-zero (DAZ, bit 6) alone
/// and together. Under DAZ a comparison reads a subnormal operand as zero,
/// so the subnormal probe must be compared by its bits.
#[cfg(all(target_arch = "x86_64", not(miri)))]
#[test]
fn every_non_default_mxcsr_is_detected() {
    const RC: u32 = 3 << 13;
    for (name, bits) in [
        ("round down", 1 << 13),
        ("round up", 2 << 13),
        ("round toward zero", 3 << 13),
        ("FTZ", 1 << 15),
        ("DAZ", 1 << 6),
        ("FTZ|DAZ", (1 << 15) | (1 << 6)),
    ] {
        let default = with_mxcsr(|m| (m & !RC) | bits, fp_env_is_default);
        assert!(!default, "{name} taken for the default environment");
    }
    assert!(with_mxcsr(|m| m & !(RC | (1 << 15) | (1 << 6)), fp_env_is_default));
}

/// The same on aarch64: FPCR.FZ (bit 24) flushes subnormal inputs and
/// results to zero, comparisons included; FPCR.RMode (bits 22-23) rounds.
#[cfg(all(target_arch = "aarch64", not(miri)))]
#[test]
fn every_non_default_fpcr_is_detected() {
    fn with_fpcr<R>(set: impl Fn(u64) -> u64, f: impl FnOnce() -> R) -> R {
        let saved: u64;
        // SAFETY: reads FPCR into a register.
        unsafe { std::arch::asm!("mrs {}, fpcr", out(reg) saved, options(nomem, nostack)) };
        // SAFETY: writes FPCR's control bits; restored below.
        unsafe { std::arch::asm!("msr fpcr, {}", in(reg) set(saved), options(nostack)) };
        // black_box: the result is computed before FPCR is restored (the
        // probes' inputs are black_boxed too, so computed after it is set).
        let r = std::hint::black_box(f());
        // SAFETY: as above, back to the saved value.
        unsafe { std::arch::asm!("msr fpcr, {}", in(reg) saved, options(nostack)) };
        r
    }
    const RMODE: u64 = 3 << 22;
    for (name, bits) in [
        ("round up", 1 << 22),
        ("round down", 2 << 22),
        ("round toward zero", 3 << 22),
        ("FZ", 1 << 24),
    ] {
        let default = with_fpcr(|c| (c & !RMODE) | bits, fp_env_is_default);
        assert!(!default, "{name} taken for the default environment");
    }
    assert!(with_fpcr(|c| c & !(RMODE | (1 << 24)), fp_env_is_default));
}

#[test]
fn i32_all_lengths_and_extremes() {
    let mut rng = Rng(99);
    let big: Vec<i32> = (0..300).map(|_| rng.next() as i32).collect();
    let naive = |d: &[i32]| d.iter().map(|&x| i64::from(x)).sum::<i64>();
    for off in 0..4 {
        for len in 0..=200 {
            let d = &big[off..off + len];
            for p in paths() {
                assert_eq!(sum_i32_with(p, d), Some(naive(d)), "{p:?} {off} {len}");
            }
        }
    }
    for p in paths() {
        assert_eq!(
            sum_i32_with(p, &vec![i32::MIN; 1 << 20]),
            Some(i64::from(i32::MIN) << 20)
        );
        for threads in [1, 2, 3, 8] {
            let mins = vec![i32::MIN; 3 * 1000 + 5];
            assert_eq!(
                sum_i32_split(p, &mins, split(1000, threads)),
                Some(i64::from(i32::MIN) * 3005)
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
    }
    #[cfg(not(target_arch = "aarch64"))]
    assert!(!Path::available().contains(&Path::Neon));
}

/// Timing only (no assertions on speed):
/// `cargo test --release --lib -- --ignored --nocapture kernels::tests::bench`.
#[test]
#[ignore]
fn bench() {
    use std::hint::black_box;
    use std::time::Instant;
    fn ns_per(n: usize, mut f: impl FnMut()) -> f64 {
        let reps = (3e7 / n as f64).clamp(3.0, 1e6) as usize;
        let mut best = f64::MAX;
        for _ in 0..5 {
            let t0 = Instant::now();
            for _ in 0..reps {
                f();
            }
            best = best.min(t0.elapsed().as_secs_f64() / reps as f64);
        }
        best / n as f64 * 1e9
    }
    let mut rng = Rng(1);
    for n in [1_000usize, 100_000, 10_000_000] {
        let normal: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let hard = cancelling(n, 30, &mut rng);
        for p in Path::available() {
            let a = ns_per(n, || {
                black_box(sum_f64_with(p, black_box(&normal)).ok());
            });
            let b = ns_per(n, || {
                black_box(sum_f64_with(p, black_box(&hard)).ok());
            });
            println!(
                "n={n:>9} {:>8}: normal {a:.3} ns, cancelling 1e30 {b:.3} ns per value",
                p.name()
            );
        }
    }
}
