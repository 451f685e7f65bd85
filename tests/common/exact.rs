//! Exact references for the sums, written for the tests and independent of
//! the library's own exact arithmetic: a plain sign-magnitude big integer
//! ([`expected`]) and Shewchuk's partials as in CPython's `math.fsum`
//! ([`fsum`]). Shared by the kernels' unit tests, the property tests
//! (tests/properties.rs) and the fuzz checks (fuzz/check), which include this
//! file by path.

#![allow(dead_code)] // each includer uses a part

/// `2^k` exactly, for a normal `k`, from its bits (the precision of `powi`
/// is unspecified: Miri, for one, rounds it differently).
pub fn pow2(k: i32) -> f64 {
    assert!((-1022..=1023).contains(&k));
    f64::from_bits(((1023 + k) as u64) << 52)
}

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

/// What a correctly rounded sum of `data` must return: the exact sum rounded
/// once to nearest, ties to even, or overflow (with the infinity of the
/// sum's sign); NaN and infinities as IEEE 754 and `math.fsum` treat them.
#[derive(Debug, Clone, Copy)]
pub enum Expected {
    /// This double (`+0.0` for an exact zero; NaN compares as any NaN).
    Value(f64),
    /// The exact sum rounds beyond the double range, to this infinity.
    Overflow(f64),
}

impl Expected {
    /// Whether `got` (a value, or an overflow carrying its infinity) is this.
    pub fn matches(&self, got: Result<f64, f64>) -> bool {
        let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
        match (self, got) {
            (Expected::Value(a), Ok(b)) => same(*a, b),
            (Expected::Overflow(a), Err(b)) => same(*a, b),
            _ => false,
        }
    }
}

/// The exact sum of `data`, rounded once (see [`Expected`]).
pub fn expected(data: &[f64]) -> Expected {
    let mut r = Reference::default();
    for &x in data {
        r.add(x);
    }
    r.expected()
}

/// The exact sum of the values added, written as plainly as possible, for
/// trust rather than speed: every finite double is an integer number of
/// units of `2^-1074`; the positive and the negative values are added
/// separately into two big unsigned integers (base-2^32 digits, schoolbook
/// carries, one bit at a time), and [`Reference::expected`] subtracts the
/// smaller from the larger and rounds the difference bit by bit.
#[derive(Clone, Debug)]
pub struct Reference {
    pos: Vec<u32>,
    neg: Vec<u32>,
    nan: bool,
    pos_inf: bool,
    neg_inf: bool,
}

impl Default for Reference {
    fn default() -> Self {
        // 2560 bits: room for 2^462 values of up to 2^2098 units each.
        Reference {
            pos: vec![0; 80],
            neg: vec![0; 80],
            nan: false,
            pos_inf: false,
            neg_inf: false,
        }
    }
}

impl Reference {
    /// Adds one value.
    pub fn add(&mut self, x: f64) {
        if x.is_nan() {
            self.nan = true;
            return;
        }
        if x.is_infinite() {
            if x > 0.0 {
                self.pos_inf = true;
            } else {
                self.neg_inf = true;
            }
            return;
        }
        let bits = x.to_bits();
        let e = ((bits >> 52) & 0x7ff) as usize;
        let m = bits & ((1 << 52) - 1);
        let (m, shift) = if e == 0 { (m, 0) } else { (m | 1 << 52, e - 1) };
        let target = if bits >> 63 == 1 { &mut self.neg } else { &mut self.pos };
        for b in 0..53 {
            if m >> b & 1 == 1 {
                add_bit(target, shift + b);
            }
        }
    }

    /// Adds everything `other` holds.
    pub fn merge(&mut self, other: &Reference) {
        for (mine, theirs) in [(&mut self.pos, &other.pos), (&mut self.neg, &other.neg)] {
            for i in 0..theirs.len() * 32 {
                if theirs[i / 32] >> (i % 32) & 1 == 1 {
                    add_bit(mine, i);
                }
            }
        }
        self.nan |= other.nan;
        self.pos_inf |= other.pos_inf;
        self.neg_inf |= other.neg_inf;
    }

    /// The sum rounded once (see [`Expected`]).
    pub fn expected(&self) -> Expected {
        if self.nan || (self.pos_inf && self.neg_inf) {
            return Expected::Value(f64::NAN);
        }
        if self.pos_inf {
            return Expected::Value(f64::INFINITY);
        }
        if self.neg_inf {
            return Expected::Value(f64::NEG_INFINITY);
        }
        let (pos, neg) = (&self.pos, &self.neg);
        let (negative, magnitude) = if less(pos, neg) {
            (true, sub(neg, pos))
        } else {
            (false, sub(pos, neg))
        };
        let bit = |i: usize| magnitude[i / 32] >> (i % 32) & 1 == 1;
        let signed = |v: f64| if negative { -v } else { v };
        let Some(top) = (0..magnitude.len() * 32).rev().find(|&i| bit(i)) else {
            return Expected::Value(0.0);
        };
        if top < 53 {
            let v: u64 = (0..53).filter(|&i| bit(i)).map(|i| 1u64 << i).sum();
            return Expected::Value(signed(f64::from_bits(v)));
        }
        let mut shift = top - 52;
        let mut mant: u64 = (0..53).filter(|&i| bit(shift + i)).map(|i| 1u64 << i).sum();
        let half = bit(shift - 1);
        let below = (0..shift - 1).any(bit);
        if half && (below || mant & 1 == 1) {
            mant += 1;
            if mant == 1 << 53 {
                mant >>= 1;
                shift += 1;
            }
        }
        // mant · 2^(shift − 1074), mant in [2^52, 2^53): biased exponent shift + 1.
        if shift + 1 >= 2047 {
            return Expected::Overflow(signed(f64::INFINITY));
        }
        Expected::Value(signed(f64::from_bits(((shift as u64) << 52) + mant)))
    }
}

fn add_bit(n: &mut [u32], i: usize) {
    let mut d = i / 32;
    let mut carry = 1u64 << (i % 32);
    while carry != 0 {
        let v = u64::from(n[d]) + carry;
        n[d] = v as u32;
        carry = v >> 32;
        d += 1;
    }
}

fn less(a: &[u32], b: &[u32]) -> bool {
    for d in (0..a.len()).rev() {
        if a[d] != b[d] {
            return a[d] < b[d];
        }
    }
    false
}

/// `a − b` for `a ≥ b`.
fn sub(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = vec![0u32; a.len()];
    let mut borrow = 0i64;
    for d in 0..a.len() {
        let mut v = i64::from(a[d]) - i64::from(b[d]) - borrow;
        borrow = 0;
        if v < 0 {
            v += 1 << 32;
            borrow = 1;
        }
        out[d] = v as u32;
    }
    out
}

/// The exact sum of ints.
pub fn sum_i128(data: &[i32]) -> i128 {
    data.iter().map(|&x| i128::from(x)).sum()
}
