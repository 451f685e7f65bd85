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
//! Per value this is a few integer instructions and one add to memory, with
//! no data-dependent branch but the (rare) carry and NaN/infinity tests. Two
//! tables, used by alternate values, halve the chains of adds to the same bin
//! (typical data share a handful of exponents).

use super::exact::{ExactSum, FRAC, IMPLICIT, special};

/// Bins per table: sign and biased exponent.
const BINS: usize = 4096;
/// Tables used alternately.
const TABLES: usize = 2;

/// The bins: `TABLES × 4096` counters of 64 bits (64 KiB, on the heap).
pub(crate) struct Bins {
    tables: Vec<u64>,
    /// `SEEN_*` bits of the NaN and infinities added.
    seen: u8,
}

impl Bins {
    /// Empty bins, or `None` when the 64 KiB cannot be allocated (the caller
    /// then adds value by value, which needs no memory).
    pub(crate) fn new() -> Option<Bins> {
        let mut tables = Vec::new();
        tables.try_reserve_exact(TABLES * BINS).ok()?;
        tables.resize(TABLES * BINS, 0);
        Some(Bins { tables, seen: 0 })
    }

    /// Adds `data` (uncounted: the caller counts).
    pub(crate) fn add(&mut self, data: &[f64], acc: &mut ExactSum) {
        let (t0, t1) = self.tables.split_at_mut(BINS);
        let (t0, t1): (&mut [u64; BINS], &mut [u64; BINS]) =
            (t0.try_into().expect("BINS"), t1.try_into().expect("BINS"));
        let pairs = data.chunks_exact(2);
        let tail = pairs.remainder();
        for pair in pairs {
            add_one(t0, pair[0], acc, &mut self.seen);
            add_one(t1, pair[1], acc, &mut self.seen);
        }
        for &x in tail {
            add_one(t0, x, acc, &mut self.seen);
        }
    }

    /// Spills every bin into `acc` (and what NaN and infinities were seen),
    /// leaving the bins empty.
    pub(crate) fn flush(&mut self, acc: &mut ExactSum) {
        for table in self.tables.chunks_exact_mut(BINS) {
            for (idx, bin) in table.iter_mut().enumerate() {
                if *bin != 0 {
                    spill(acc, idx, u128::from(*bin));
                    *bin = 0;
                }
            }
        }
        acc.see(self.seen);
        self.seen = 0;
    }
}

#[inline(always)]
fn add_one(table: &mut [u64; BINS], x: f64, acc: &mut ExactSum, seen: &mut u8) {
    let bits = x.to_bits();
    let idx = (bits >> 52) as usize; // sign and exponent: < 4096
    let e = idx & 0x7ff;
    if e == 0x7ff {
        *seen |= special(bits);
        return;
    }
    let m = (bits & FRAC) | (u64::from(e != 0) << 52);
    let bin = &mut table[idx];
    let (sum, carried) = bin.overflowing_add(m);
    if carried {
        spill(acc, idx, u128::from(sum) + (1 << 64));
        *bin = 0;
    } else {
        *bin = sum;
    }
}

/// Adds bin `idx`'s value `v` (`v < 2^65` significand units) to `acc`.
#[inline(never)]
#[cold]
fn spill(acc: &mut ExactSum, idx: usize, v: u128) {
    let e = (idx & 0x7ff) as u32;
    acc.add_bits(v, e.max(1) - 1, idx & 0x800 != 0);
}

const _: () = assert!(IMPLICIT == 1 << 52);

#[cfg(test)]
mod tests {
    use super::*;

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
        let cases: [&[f64]; 6] = [
            &[],
            &[1.0],
            &[0.1, 0.2, -0.3, 5e-324, -0.0, f64::MAX, -f64::MAX, 1e-310],
            &[f64::MIN_POSITIVE, -5e-324, 3.0, 2f64.powi(53), 1.0, 2f64.powi(-60)],
            &[1.0, f64::NAN, 2.0],
            &[f64::INFINITY, -1.0, f64::NEG_INFINITY],
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
        assert_eq!(by_bins(&[5e-324; 7000]).value(), Ok(5e-324 * 7000.0));
    }
}
