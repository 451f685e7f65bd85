//! The exact path's inner loop: doubles added into 64-bit bins indexed by
//! their sign and exponent, spilled into an [`ExactSum`] when a bin carries.
//!
//! A finite double is `±m · 2^(max(e,1) − 1075)` with `e` its biased exponent
//! and `m < 2^53` its significand (the implicit bit included for `e > 0`).
//! Doubles with the same sign and exponent are multiples of the same power of
//! two, so their significands add as integers: bin `sign·2048 + e` holds
//! `Σ m` (unsigned). A bin that carries out of 64 bits is spilled at once
//! (its exact value, `2^64` plus what is left, goes into the `ExactSum`) and
//! restarts at 0; [`Bins::flush`] spills every bin at the end. Nothing is
//! rounded, so the result is exact whatever the order of the values.
//!
//! The loop does the least per value: the exponent field is the bin index,
//! and every significand gets the implicit bit, `(bits & FRAC) | 2^52`, with
//! no test. That is wrong only for the rare values whose exponent field is 0
//! (zeros and subnormals, which have no implicit bit) or all ones (NaN and
//! infinities): they land in four bins of their own (`0`, `2048`, `0x7ff`,
//! `0xfff`). After each slice, if one of those four bins changed (or
//! carried), the slice is scanned once more: the implicit bits given to
//! zeros and subnormals are taken back exactly (a count times `2^52`, in
//! units of `2^-1074`), and NaN and infinities are recorded as such (the two
//! bins of exponent `0x7ff` are never added to the sum). Data with none of
//! them pay nothing for this.
//!
//! Two tables, used by alternate values, halve the chains of adds to the
//! same bin (typical data share a handful of exponents). Data spread over
//! hundreds of exponents have no such chains, and there the second table's
//! 32 KiB only push the first out of the L1 cache: when the first values the
//! bins see have more than [`WIDE`] distinct signs and exponents, one table
//! takes every value (about 10% faster on such data).

use super::exact::{ExactSum, FRAC, IMPLICIT, special};

/// Bins per table: sign and biased exponent.
const BINS: usize = 4096;
/// Tables used alternately.
const TABLES: usize = 2;
/// The bins of the values without an implicit bit or outside the finite
/// range: exponent field 0 (both signs) and 0x7ff (both signs).
const RARE: [usize; 4] = [0, 0x800, 0x7ff, 0xfff];

/// Values looked at to tell whether data are wide.
const SAMPLE: usize = 4096;
/// More distinct signs and exponents than this among the first [`SAMPLE`]
/// values: the data are wide, and one table takes them all.
const WIDE: u32 = 512;

/// The bins: `TABLES × 4096` counters of 64 bits (64 KiB, on the heap).
pub(crate) struct Bins {
    tables: Vec<u64>,
    /// Whether one table takes every value; decided by the first `add`.
    wide: Option<bool>,
}

/// Whether the first values of `data` have more than [`WIDE`] distinct
/// signs and exponents.
fn is_wide(data: &[f64]) -> bool {
    let mut seen = [0u64; BINS / 64];
    for x in &data[..data.len().min(SAMPLE)] {
        let idx = (x.to_bits() >> 52) as usize;
        seen[idx / 64] |= 1 << (idx % 64);
    }
    seen.iter().map(|w| w.count_ones()).sum::<u32>() > WIDE
}

impl Bins {
    /// Empty bins, or `None` when the 64 KiB cannot be allocated (the caller
    /// then adds value by value, which needs no memory).
    pub(crate) fn new() -> Option<Bins> {
        let mut tables = Vec::new();
        tables.try_reserve_exact(TABLES * BINS).ok()?;
        tables.resize(TABLES * BINS, 0);
        Some(Bins { tables, wide: None })
    }

    /// The rare bins of both tables, to tell whether a slice had rare values.
    fn rare(&self) -> [u64; 2 * RARE.len()] {
        let mut out = [0; 2 * RARE.len()];
        for (t, table) in self.tables.chunks_exact(BINS).enumerate() {
            for (k, &idx) in RARE.iter().enumerate() {
                out[t * RARE.len() + k] = table[idx];
            }
        }
        out
    }

    /// Adds `data` (uncounted: the caller counts).
    pub(crate) fn add(&mut self, data: &[f64], acc: &mut ExactSum) {
        let before = self.rare();
        let (t0, t1) = self.tables.split_at_mut(BINS);
        let (t0, t1): (&mut [u64; BINS], &mut [u64; BINS]) =
            (t0.try_into().expect("BINS"), t1.try_into().expect("BINS"));
        let mut rare_carries = 0;
        if *self.wide.get_or_insert_with(|| is_wide(data)) {
            for &x in data {
                add_one(t0, x, acc, &mut rare_carries);
            }
        } else {
            let pairs = data.chunks_exact(2);
            let tail = pairs.remainder();
            for pair in pairs {
                add_one(t0, pair[0], acc, &mut rare_carries);
                add_one(t1, pair[1], acc, &mut rare_carries);
            }
            for &x in tail {
                add_one(t0, x, acc, &mut rare_carries);
            }
        }
        // A rare value changes its bin, unless what the slice added to it
        // wrapped around exactly, which needs a carry.
        if self.rare() != before || rare_carries != 0 {
            take_back_rare(data, acc);
        }
    }

    /// Spills every bin into `acc`, leaving the bins empty. (The two bins of
    /// exponent 0x7ff hold nothing of the sum: `add` recorded what they saw.)
    pub(crate) fn flush(&mut self, acc: &mut ExactSum) {
        for table in self.tables.chunks_exact_mut(BINS) {
            // Most bins are empty: look at eight at a time.
            for (g, group) in table.chunks_exact_mut(8).enumerate() {
                if group.iter().fold(0, |a, &b| a | b) == 0 {
                    continue;
                }
                for (k, bin) in group.iter_mut().enumerate() {
                    if *bin != 0 {
                        spill(acc, 8 * g + k, u128::from(*bin));
                        *bin = 0;
                    }
                }
            }
        }
    }
}

#[inline(always)]
fn add_one(table: &mut [u64; BINS], x: f64, acc: &mut ExactSum, rare_carries: &mut u64) {
    let bits = x.to_bits();
    let idx = (bits >> 52) as usize; // sign and exponent: < 4096
    let m = (bits & FRAC) | IMPLICIT;
    let bin = &mut table[idx];
    let (sum, carried) = bin.overflowing_add(m);
    if carried {
        carry(acc, idx, sum, rare_carries);
        *bin = 0;
    } else {
        *bin = sum;
    }
}

/// A bin that carried: its exact value `2^64 + sum` goes into `acc` (or, for
/// a bin of NaN and infinities, is only noted).
#[inline(never)]
#[cold]
fn carry(acc: &mut ExactSum, idx: usize, sum: u64, rare_carries: &mut u64) {
    if RARE.contains(&idx) {
        *rare_carries += 1;
    }
    spill(acc, idx, u128::from(sum) + (1 << 64));
}

/// Adds bin `idx`'s value `v` (`v < 2^65` significand units) to `acc`; the
/// bins of exponent 0x7ff are not part of the sum.
#[inline]
fn spill(acc: &mut ExactSum, idx: usize, v: u128) {
    let e = (idx & 0x7ff) as u32;
    if e != 0x7ff {
        acc.add_bits(v, e.max(1) - 1, idx & 0x800 != 0);
    }
}

/// For a slice with zeros, subnormals, NaN or infinities: takes back the
/// implicit bit the loop gave each value of exponent field 0 (`2^52` units of
/// `2^-1074` each, with the value's sign) and records NaN and infinities.
#[cold]
#[inline(never)]
fn take_back_rare(data: &[f64], acc: &mut ExactSum) {
    let (mut zero_pos, mut zero_neg) = (0u64, 0u64);
    let mut seen = 0u8;
    for &x in data {
        let bits = x.to_bits();
        match (bits >> 52) & 0x7ff {
            0 if bits >> 63 == 0 => zero_pos += 1,
            0 => zero_neg += 1,
            0x7ff => seen |= special(bits),
            _ => {}
        }
    }
    // A positive value's bin was given +2^52 too many: subtract; a negative
    // one's bin holds magnitudes, so its excess is taken back by adding.
    if zero_pos != 0 {
        acc.add_bits(u128::from(zero_pos) << 52, 0, true);
    }
    if zero_neg != 0 {
        acc.add_bits(u128::from(zero_neg) << 52, 0, false);
    }
    acc.see(seen);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::tests::pow2;

    fn by_bins(d: &[f64]) -> ExactSum {
        let mut acc = ExactSum::new();
        let mut b = Bins::new().unwrap();
        b.add(d, &mut acc);
        b.flush(&mut acc);
        acc
    }

    fn one_by_one(d: &[f64]) -> ExactSum {
        let mut acc = ExactSum::new();
        for &x in d {
            acc.add_uncounted(x);
        }
        acc
    }

    #[test]
    fn bins_equal_value_by_value() {
        let cases: [&[f64]; 9] = [
            &[],
            &[1.0],
            &[0.1, 0.2, -0.3, 5e-324, -0.0, f64::MAX, -f64::MAX, 1e-310],
            &[f64::MIN_POSITIVE, -5e-324, 3.0, pow2(53), 1.0, pow2(-60)],
            &[1.0, f64::NAN, 2.0],
            &[f64::INFINITY, -1.0, f64::NEG_INFINITY],
            &[0.0, -0.0, 0.0, 0.0, -0.0],
            &[-5e-324, -1e-320, 2.2e-308, -2.2e-308, 1.0],
            &[
                f64::from_bits(0x7ff0_0000_0000_0001),
                f64::from_bits(0x7fff_ffff_ffff_ffff),
                1.0,
            ],
        ];
        for d in cases {
            let (a, b) = (by_bins(d), one_by_one(d));
            assert_eq!(a.words(), b.words(), "{d:?}");
            assert_eq!(a.seen, b.seen, "{d:?}");
        }
    }

    #[test]
    fn carries_are_spilled_exactly() {
        // 5000 copies of the largest significand in one exponent: the bin
        // carries out of 64 bits twice.
        let x = f64::from_bits(0x433f_ffff_ffff_ffff); // 2^54 - 2
        let d = vec![x; 5000];
        assert_eq!(by_bins(&d).value(), Ok(x * 5000.0));
        let d = vec![-f64::MAX; 5000];
        assert_eq!(by_bins(&d).words(), one_by_one(&d).words());
        // The rare bins carry too: zeros (each given 2^52 by the loop, taken
        // back), subnormals and infinities, many times over 2^12 per bin.
        assert_eq!(by_bins(&[5e-324; 70_000]).value(), Ok(5e-324 * 70_000.0));
        assert_eq!(by_bins(&[0.0; 70_000]).value(), Ok(0.0));
        assert_eq!(by_bins(&[-0.0; 70_000]).value(), Ok(0.0));
        let mut d = vec![0.0; 8192];
        d.push(1.5);
        assert_eq!(
            by_bins(&d).value(),
            Ok(1.5),
            "4096 zeros per table: the bins wrap to their old value"
        );
        let infs = vec![f64::INFINITY; 9000];
        assert_eq!(by_bins(&infs).value(), Ok(f64::INFINITY));
        let mut nans = vec![f64::from_bits(0x7ff0_0000_0000_0001); 4096 * 2];
        nans.push(2.0);
        assert!(by_bins(&nans).value().unwrap().is_nan());
    }

    /// Values of every sign and exponent (`k` picks them), as a
    /// xorshift would.
    fn spread(n: usize, mut k: u64) -> Vec<f64> {
        (0..n)
            .map(|_| {
                k ^= k << 13;
                k ^= k >> 7;
                k ^= k << 17;
                f64::from_bits(k)
            })
            .filter(|x| x.is_finite())
            .collect()
    }

    #[test]
    fn wide_data_take_one_table_and_stay_exact() {
        let wide = spread(SAMPLE, 3);
        assert!(is_wide(&wide));
        assert!(!is_wide(&[1.0, -2.0, 0.5, 3.0, 1e300, -1e-300]));
        // Wide first, then what one table must still take exactly: carries
        // (5000 times the largest significand of one exponent), the rare
        // bins (zeros, subnormals, infinities), one slice at a time.
        let mut acc = ExactSum::new();
        let mut b = Bins::new().unwrap();
        let x = f64::from_bits(0x433f_ffff_ffff_ffff);
        let slices: [Vec<f64>; 4] = [
            wide.clone(),
            vec![x; 5000],
            vec![0.0, -5e-324, 1e-310, -0.0],
            vec![f64::INFINITY, 1.0],
        ];
        for d in &slices {
            b.add(d, &mut acc);
        }
        assert_eq!(b.wide, Some(true));
        b.flush(&mut acc);
        let all: Vec<f64> = slices.concat();
        let want = one_by_one(&all);
        assert_eq!((acc.words(), acc.seen), (want.words(), want.seen));
        // And the finite part alone, so the words are not hidden behind the infinity.
        let finite: Vec<f64> = slices[..3].concat();
        assert_eq!(by_bins(&finite).words(), one_by_one(&finite).words());
    }

    #[test]
    fn rare_values_in_later_slices_are_seen() {
        let mut acc = ExactSum::new();
        let mut b = Bins::new().unwrap();
        b.add(&[1.0, 2.0], &mut acc);
        b.add(&[0.0, 5e-324, -0.0], &mut acc);
        b.add(&[3.0, f64::NEG_INFINITY], &mut acc);
        b.add(&[3.0], &mut acc);
        b.flush(&mut acc);
        assert_eq!(acc.value(), Ok(f64::NEG_INFINITY));
        let mut finite = ExactSum::new();
        for x in [1.0, 2.0, 0.0, 5e-324, -0.0, 3.0, 3.0] {
            finite.add_uncounted(x);
        }
        assert_eq!(acc.words(), finite.words());
    }
}
