//! [`ExactSum`]: the exact sum of any number of doubles, as a value that can
//! be added to, merged, rounded and serialised.
//!
//! # Representation
//!
//! Every finite double is an integer multiple of `2^-1074` (the smallest
//! subnormal), so the exact sum of finite doubles is `N · 2^-1074` for an
//! integer `N`. A double's magnitude is below `2^1024 = 2^2098 · 2^-1074`, so
//! the sum of `count` doubles satisfies `|N| ≤ count · 2^2098`; with `count`
//! below `2^64`, `|N| < 2^2162`. `N` is kept in 68 signed 64-bit *chunks*,
//! chunk `k` weighing `2^(32k)` ("carry-save": each chunk holds a 32-bit digit
//! plus room for carries that have not been propagated yet, so adding a value
//! touches at most four chunks and never loops over carries).
//!
//! Adding a double `±m · 2^(e−1075)` (`m` the 53-bit significand) adds at most
//! `2^32 − 1` in magnitude to each of the chunks its bits fall in. `load`
//! counts those additions since the last [`normalize`](ExactSum::normalize),
//! which propagates the carries (every chunk but the top one back into
//! `[0, 2^32)`); at `2^30` additions it normalises, so a chunk's magnitude stays
//! below `2^62`.
//!
//! NaN and the infinities are not part of `N`: the state records which of
//! NaN, `+inf` and `−inf` it has seen, and the result follows IEEE 754 (and
//! `math.fsum`): NaN if a NaN was seen or both infinities, else the infinity
//! seen, else `N · 2^-1074` rounded once to the nearest double, ties to even.
//! An exact sum whose rounding is beyond the double range is an overflow:
//! [`ExactSum::value`] says so ([`Overflow`], carrying the ±infinity that
//! IEEE rounding gives).
//!
//! `count` (the number of values added, NaN and infinities included) bounds
//! the state: the invariant `|N| ≤ count · 2^2098` holds for every state this
//! module builds, and [`ExactSum::merge`] refuses a merge whose count would
//! pass `u64::MAX` — so `N` can never outgrow its 2176 bits, even when a
//! state is merged with itself over and over. Deserialised states are
//! checked against the same invariant ([`super::format`]).

/// Number of 32-bit chunks of `N` (2176 bits).
pub(crate) const CHUNKS: usize = 68;
/// Normalise when this many additions have been made to the chunks.
const LOAD_LIMIT: u32 = 1 << 30;
/// Bits of a double's fraction field.
pub(crate) const FRAC: u64 = (1 << 52) - 1;
/// The implicit leading bit of a normal double's significand.
pub(crate) const IMPLICIT: u64 = 1 << 52;

pub(crate) const SEEN_NAN: u8 = 1;
pub(crate) const SEEN_POS_INF: u8 = 2;
pub(crate) const SEEN_NEG_INF: u8 = 4;

/// The exact sum of the values added (see the [module docs](self)).
#[derive(Clone, PartialEq, Eq)]
pub struct ExactSum {
    /// `N = Σ chunks[k] · 2^(32k)`.
    pub(crate) chunks: [i64; CHUNKS],
    /// Additions to the chunks since the last normalisation (a chunk's
    /// magnitude is below `load · 2^32`).
    load: u32,
    /// `SEEN_*` bits.
    pub(crate) seen: u8,
    /// Values added, NaN and infinities included.
    pub(crate) count: u64,
}

impl Default for ExactSum {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for ExactSum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExactSum")
            .field("value", &self.value())
            .field("count", &self.count)
            .field("seen", &self.seen)
            .finish()
    }
}

/// The exact sum rounds to a value beyond the double range; `.0` is the
/// infinity (with the sum's sign) that IEEE 754 rounding gives.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Overflow(pub f64);

/// Merging would count more than `u64::MAX` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountOverflow;

impl ExactSum {
    /// The empty sum (its value is `+0.0`).
    pub const fn new() -> Self {
        ExactSum {
            chunks: [0; CHUNKS],
            load: 0,
            seen: 0,
            count: 0,
        }
    }

    /// The number of values added (NaN and infinities included).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Back to the empty sum.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Adds one value. Refused, with `self` unchanged, when the state
    /// already counts `u64::MAX` values (the count bounds `N`).
    pub fn add(&mut self, x: f64) -> Result<(), CountOverflow> {
        self.count = self.count.checked_add(1).ok_or(CountOverflow)?;
        self.add_uncounted(x);
        Ok(())
    }

    /// Adds `x` without counting it (the caller counts whole slices).
    #[inline]
    pub(crate) fn add_uncounted(&mut self, x: f64) {
        let bits = x.to_bits();
        let e = ((bits >> 52) & 0x7ff) as u32;
        if e == 0x7ff {
            self.seen |= special(bits);
            return;
        }
        let m = (bits & FRAC) | if e != 0 { IMPLICIT } else { 0 };
        self.add_bits(u128::from(m), e.max(1) - 1, bits >> 63 != 0);
    }

    /// Adds `±v · 2^off` to `N`, for `v < 2^97` and `off ≤ 2045`: the value of
    /// an exponent bin (`v < 2^65`, see [`super::bins`]) or of a double's
    /// significand (`v < 2^53`).
    #[inline]
    pub(crate) fn add_bits(&mut self, v: u128, off: u32, negative: bool) {
        debug_assert!(v >> 97 == 0 && off <= 2045);
        let k = (off / 32) as usize;
        let w = v << (off % 32);
        // 0 or −1: (p ^ sign) − sign is p or −p, without a branch.
        let sign = -i64::from(negative);
        let chunks: &mut [i64; 4] = (&mut self.chunks[k..k + 4]).try_into().expect("k + 4 <= CHUNKS");
        for (i, c) in chunks.iter_mut().enumerate() {
            let piece = i64::from((w >> (32 * i)) as u32);
            *c += (piece ^ sign) - sign;
        }
        self.load += 1;
        if self.load >= LOAD_LIMIT {
            self.normalize();
        }
    }

    /// Records NaN or infinities seen elsewhere (`SEEN_*` bits).
    pub(crate) fn see(&mut self, seen: u8) {
        self.seen |= seen;
    }

    /// Adds `other`'s sum to this one. Refused, with `self` unchanged, if the
    /// merged state would count more than `u64::MAX` values (the count bounds
    /// `N`, see the module docs).
    pub fn merge(&mut self, other: &ExactSum) -> Result<(), CountOverflow> {
        let count = self.count.checked_add(other.count).ok_or(CountOverflow)?;
        if self.load + other.load >= LOAD_LIMIT {
            self.normalize();
        }
        let mut other_load = other.load;
        if self.load + other_load >= LOAD_LIMIT {
            // Only reached with an `other` that is itself near the limit.
            let mut o = other.clone();
            o.normalize();
            other_load = o.load;
            self.add_chunks(&o.chunks);
        } else {
            self.add_chunks(&other.chunks);
        }
        self.load += other_load;
        self.seen |= other.seen;
        self.count = count;
        Ok(())
    }

    fn add_chunks(&mut self, other: &[i64; CHUNKS]) {
        for (a, b) in self.chunks.iter_mut().zip(other) {
            *a += b;
        }
    }

    /// Propagates the carries: every chunk but the top one into `[0, 2^32)`,
    /// the top one signed. `N` is unchanged.
    pub(crate) fn normalize(&mut self) {
        let mut carry = 0i64;
        for c in &mut self.chunks[..CHUNKS - 1] {
            let v = *c + carry;
            *c = v & 0xffff_ffff;
            carry = v >> 32;
        }
        self.chunks[CHUNKS - 1] += carry;
        self.load = 1;
    }

    /// `N` as 34 little-endian 64-bit words, two's complement.
    pub(crate) fn words(&self) -> [u64; CHUNKS / 2] {
        let mut n = self.clone();
        n.normalize();
        let mut w = [0u64; CHUNKS / 2];
        for (j, word) in w.iter_mut().enumerate() {
            *word = (n.chunks[2 * j] as u64 & 0xffff_ffff) | ((n.chunks[2 * j + 1] as u64) << 32);
        }
        w
    }

    /// The state whose `N` is `words` (two's complement, as [`words`](Self::words)
    /// gives it), with `seen` and `count`. The caller checks the invariant.
    pub(crate) fn from_parts(words: &[u64; CHUNKS / 2], seen: u8, count: u64) -> Self {
        let mut s = ExactSum::new();
        for (j, &word) in words.iter().enumerate() {
            s.chunks[2 * j] = (word & 0xffff_ffff) as i64;
            s.chunks[2 * j + 1] = if j == CHUNKS / 2 - 1 {
                (word as i64) >> 32
            } else {
                (word >> 32) as i64
            };
        }
        s.load = 1;
        s.seen = seen;
        s.count = count;
        s
    }

    /// The sum rounded once to the nearest double, ties to even; NaN and
    /// infinities as the module docs say. `Err` when the exact sum of the
    /// finite values rounds beyond the double range (and no NaN or infinity
    /// was seen).
    pub fn value(&self) -> Result<f64, Overflow> {
        match self.special() {
            Some(v) => Ok(v),
            None => round(&self.words()),
        }
    }

    /// The result that NaN and infinities decide, if any.
    pub(crate) fn special(&self) -> Option<f64> {
        let s = self.seen;
        if s & SEEN_NAN != 0 || s & (SEEN_POS_INF | SEEN_NEG_INF) == SEEN_POS_INF | SEEN_NEG_INF {
            Some(f64::NAN)
        } else if s & SEEN_POS_INF != 0 {
            Some(f64::INFINITY)
        } else if s & SEEN_NEG_INF != 0 {
            Some(f64::NEG_INFINITY)
        } else {
            None
        }
    }
}

/// `N + d` exactly (for a finite `d`), as words: used to certify that an
/// error of at most `|d|` cannot change the rounding of `N`.
pub(crate) fn plus(words: &[u64; CHUNKS / 2], d: f64) -> [u64; CHUNKS / 2] {
    debug_assert!(d.is_finite());
    let bits = d.to_bits();
    let e = ((bits >> 52) & 0x7ff) as u32;
    let m = (bits & FRAC) | if e != 0 { IMPLICIT } else { 0 };
    let off = e.max(1) - 1;
    // |d| = m · 2^off: two words from word k (k ≤ 31, so both exist).
    let (k, sh) = ((off / 64) as usize, off % 64);
    let wide = u128::from(m) << sh;
    let parts = [wide as u64, (wide >> 64) as u64];
    let negative = bits >> 63 != 0;
    let mut out = *words;
    // Add (or subtract) from word k up, carrying (borrowing) only as far as
    // needed; past the top word it wraps, as two's complement does.
    let mut carry = false;
    for (i, word) in out.iter_mut().enumerate().skip(k) {
        let a = parts.get(i - k).copied().unwrap_or(0);
        if i - k >= 2 && !carry {
            break;
        }
        let (v, c1) = if negative {
            word.overflowing_sub(a)
        } else {
            word.overflowing_add(a)
        };
        let (v, c2) = if negative {
            v.overflowing_sub(u64::from(carry))
        } else {
            v.overflowing_add(u64::from(carry))
        };
        *word = v;
        carry = c1 || c2;
    }
    out
}

/// The `SEEN_*` bit of a NaN or infinity (its bits).
#[inline]
pub(crate) fn special(bits: u64) -> u8 {
    if bits & FRAC != 0 {
        SEEN_NAN
    } else if bits >> 63 != 0 {
        SEEN_NEG_INF
    } else {
        SEEN_POS_INF
    }
}

/// `N · 2^-1074` rounded to nearest, ties to even, for `N` given as
/// two's-complement little-endian words.
pub(crate) fn round(words: &[u64; CHUNKS / 2]) -> Result<f64, Overflow> {
    let negative = (words[CHUNKS / 2 - 1] as i64) < 0;
    let mut mag = *words;
    if negative {
        let mut carry = true;
        for w in &mut mag {
            let (v, c) = (!*w).overflowing_add(u64::from(carry));
            *w = v;
            carry = c;
        }
    }
    let r = round_magnitude(&mag);
    let signed = |v: f64| if negative { -v } else { v };
    match r {
        Ok(v) => Ok(signed(v)),
        Err(Overflow(v)) => Err(Overflow(signed(v))),
    }
}

/// `M · 2^-1074` rounded to nearest, ties to even, for a magnitude `M`.
fn round_magnitude(m: &[u64]) -> Result<f64, Overflow> {
    let Some(top) = m.iter().rposition(|&w| w != 0) else {
        return Ok(0.0);
    };
    // The position of the highest set bit.
    let p = 64 * top as u32 + 63 - m[top].leading_zeros();
    if p < 53 {
        // Below 2^53 · 2^-1074 every multiple of 2^-1074 is a double, and its
        // bits are M itself (subnormal, or the first normal binade).
        return Ok(f64::from_bits(m[0]));
    }
    let bit = |i: u32| (m[(i / 64) as usize] >> (i % 64)) & 1 == 1;
    let mut shift = p - 52;
    // The 53 bits from `shift` up.
    let (i, o) = ((shift / 64) as usize, shift % 64);
    let mut mant = m[i] >> o;
    if o != 0 && i + 1 < m.len() {
        mant |= m[i + 1] << (64 - o);
    }
    mant &= (1 << 53) - 1;
    // Round to nearest, ties to even: the bit below, and whether anything is below that.
    let half = bit(shift - 1);
    let below = {
        let s = shift - 1;
        let (i, o) = ((s / 64) as usize, s % 64);
        m[..i].iter().any(|&w| w != 0) || m[i] & ((1u64 << o) - 1) != 0
    };
    if half && (below || mant & 1 == 1) {
        mant += 1;
        if mant == 1 << 53 {
            mant >>= 1;
            shift += 1;
        }
    }
    // value = mant · 2^(shift − 1074) with mant in [2^52, 2^53): biased
    // exponent shift + 1, so the bits are (shift << 52) + mant.
    if shift >= 2046 {
        return Err(Overflow(f64::INFINITY));
    }
    Ok(f64::from_bits((u64::from(shift) << 52) + mant))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::tests::pow2;

    fn sum_of(values: &[f64]) -> Result<f64, Overflow> {
        let mut s = ExactSum::new();
        for &x in values {
            s.add(x).unwrap();
        }
        s.value()
    }

    #[test]
    fn simple_sums() {
        assert_eq!(sum_of(&[]).unwrap().to_bits(), 0.0f64.to_bits());
        assert_eq!(sum_of(&[0.1; 10]), Ok(1.0));
        assert_eq!(sum_of(&[1e100, 1.0, -1e100]), Ok(1.0));
        assert_eq!(sum_of(&[pow2(53), 1.0, pow2(-60)]), Ok(pow2(53) + 2.0));
        assert_eq!(sum_of(&[pow2(53), 1.0]), Ok(pow2(53)), "tie to even");
        assert_eq!(sum_of(&[pow2(53), 3.0]), Ok(pow2(53) + 4.0), "tie to even");
        assert_eq!(sum_of(&[1e308, 1e308, -1e308]), Ok(1e308), "no intermediate overflow");
        assert_eq!(sum_of(&[-0.0, -0.0]).unwrap().to_bits(), 0.0f64.to_bits());
        assert_eq!(sum_of(&[5e-324, 5e-324]), Ok(1e-323));
        assert_eq!(sum_of(&[f64::MIN_POSITIVE, -5e-324]), Ok(f64::from_bits((1 << 52) - 1)));
        assert_eq!(sum_of(&[-f64::MAX, -f64::MAX, f64::MAX]), Ok(-f64::MAX));
    }

    #[test]
    fn overflow_and_the_largest_values() {
        let max = f64::MAX;
        assert_eq!(sum_of(&[max, max]), Err(Overflow(f64::INFINITY)));
        assert_eq!(sum_of(&[-max, -max]), Err(Overflow(f64::NEG_INFINITY)));
        // Half an ulp of MAX above MAX is a tie, and rounds to even: infinity.
        let half_ulp = pow2(970);
        assert_eq!(sum_of(&[max, half_ulp]), Err(Overflow(f64::INFINITY)));
        assert_eq!(sum_of(&[max, half_ulp, -5e-324]), Ok(max));
        assert_eq!(sum_of(&[max, half_ulp / 2.0]), Ok(max));
        // Many maxima and their negations: exact.
        let mut v = vec![max; 1000];
        v.extend(vec![-max; 999]);
        assert_eq!(sum_of(&v), Ok(max));
    }

    #[test]
    fn specials() {
        let inf = f64::INFINITY;
        assert!(sum_of(&[1.0, f64::NAN]).unwrap().is_nan());
        assert!(sum_of(&[inf, -inf]).unwrap().is_nan());
        assert_eq!(
            sum_of(&[inf, 1.0, -f64::MAX, -f64::MAX]),
            Ok(inf),
            "an infinity decides, never overflow"
        );
        assert_eq!(sum_of(&[-inf, 1.0]), Ok(-inf));
        // A NaN whose payload looks like anything: still NaN.
        assert!(sum_of(&[f64::from_bits(0xfff0_0000_0000_0001), inf]).unwrap().is_nan());
    }

    #[test]
    fn merge_and_count() {
        let mut a = ExactSum::new();
        let mut b = ExactSum::new();
        for i in 0..100 {
            a.add(i as f64 * 1e-3).unwrap();
            b.add(-(i as f64) * 1e-3).unwrap();
        }
        b.add(0.5).unwrap();
        a.merge(&b).unwrap();
        assert_eq!(a.value(), Ok(0.5));
        assert_eq!(a.count(), 201);
        // Merging with itself doubles, until the count would overflow.
        let mut s = ExactSum::new();
        s.add(f64::MAX).unwrap();
        for _ in 0..63 {
            let c = s.clone();
            s.merge(&c).unwrap();
        }
        assert_eq!(s.count(), 1 << 63);
        let c = s.clone();
        assert_eq!(s.merge(&c), Err(CountOverflow));
        assert_eq!(s, c, "a refused merge leaves the state unchanged");
        assert_eq!(s.value(), Err(Overflow(f64::INFINITY)));
        let mut full = ExactSum::new();
        full.count = u64::MAX;
        assert_eq!(full.add(1.0), Err(CountOverflow));
        assert_eq!(full.count(), u64::MAX);
        assert_eq!(full.value(), Ok(0.0));
    }

    #[test]
    fn load_limit_normalises() {
        let mut s = ExactSum::new();
        s.load = LOAD_LIMIT - 2;
        s.add(1.0).unwrap();
        s.add(1.0).unwrap();
        assert_eq!(s.load, 1);
        assert_eq!(s.value(), Ok(2.0));
        let mut t = ExactSum::new();
        t.add(3.0).unwrap();
        t.load = LOAD_LIMIT - 1;
        let mut u = s.clone();
        u.load = LOAD_LIMIT - 1;
        u.merge(&t).unwrap();
        assert_eq!(u.value(), Ok(5.0));
    }

    #[test]
    fn plus_adds_exactly() {
        let mut s = ExactSum::new();
        for x in [1.0, pow2(-80), -3e-320] {
            s.add(x).unwrap();
        }
        let w = s.words();
        for d in [0.0, 1.0, -1.0, pow2(-90), -5e-324, 1e300, -1e300, -2.0, f64::MAX] {
            let mut t = s.clone();
            t.add_uncounted(d);
            assert_eq!(plus(&w, d), t.words(), "{d:e}");
        }
        assert_eq!(round(&plus(&[0; CHUNKS / 2], -0.5)), Ok(-0.5));
    }

    #[test]
    fn words_round_trip() {
        let mut s = ExactSum::new();
        for x in [1.5, -1e300, 3e-310, 7.0, -0.25] {
            s.add(x).unwrap();
        }
        let w = s.words();
        let t = ExactSum::from_parts(&w, s.seen, s.count);
        assert_eq!(t.words(), w);
        assert_eq!(t.value(), s.value());
        let mut neg = ExactSum::new();
        neg.add(-1.0).unwrap();
        let w = neg.words();
        assert_eq!(w[CHUNKS / 2 - 1], u64::MAX, "two's complement");
        assert_eq!(ExactSum::from_parts(&w, 0, 1).value(), Ok(-1.0));
    }
}
