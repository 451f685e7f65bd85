//! The serialised form of an [`ExactSum`]: fixed-size, versioned,
//! little-endian whatever the host, so a state can travel between threads,
//! processes and machines and be merged there.
//!
//! Version 1, [`BYTES`] = 288 bytes:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `"MYXS"` |
//! | 4 | 1 | format version, `1` |
//! | 5 | 1 | flags: bit 0 NaN seen, bit 1 `+inf` seen, bit 2 `−inf` seen; the other bits 0 |
//! | 6 | 2 | reserved, 0 |
//! | 8 | 8 | count: the number of values added (unsigned) |
//! | 16 | 272 | `N`, the exact sum of the finite values in units of `2^-1074`: 34 words of 64 bits, least significant first, two's complement |
//!
//! Reading checks every field: a wrong length, magic, flag or reserved bit,
//! a count smaller than the number of flags set, or an `N` larger in
//! magnitude than `count · 2^2098` (more than `count` doubles can sum to) is
//! [`FormatError::Malformed`]; another version is [`FormatError::Version`].
//! So every state read is one whose merges cannot overflow (see
//! [`super::exact`]). The bytes of a state are canonical: equal states give
//! equal bytes.
//!
//! The Spark jar writes and reads this format too, in Java
//! (`bindings/spark/src/mylib/spark/ExactSumState.java`), so that states made
//! inside Spark's JVM are rounded here: a change to the format is a change
//! there (`tests/distributed/test_spark_jvm.py` compares the two byte for byte).

use super::exact::{CHUNKS, ExactSum};

/// The size of a serialised state (version 1).
///
/// cbindgen:ignore
pub const BYTES: usize = 288;
/// The format version written.
///
/// cbindgen:ignore
pub const VERSION: u8 = 1;
const MAGIC: &[u8; 4] = b"MYXS";
const WORDS: usize = CHUNKS / 2;

/// Why bytes are not a state this library reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatError {
    /// Not a serialised state (the reason).
    Malformed(&'static str),
    /// A state of another format version (this one reads [`VERSION`]).
    Version(u8),
}

impl ExactSum {
    /// The serialised state (see the [module docs](self)).
    pub fn to_bytes(&self) -> [u8; BYTES] {
        let mut out = [0u8; BYTES];
        out[..4].copy_from_slice(MAGIC);
        out[4] = VERSION;
        out[5] = self.seen;
        out[8..16].copy_from_slice(&self.count.to_le_bytes());
        for (k, w) in self.words().iter().enumerate() {
            out[16 + 8 * k..24 + 8 * k].copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// The state serialised in `bytes`, every field checked.
    pub fn from_bytes(bytes: &[u8]) -> Result<ExactSum, FormatError> {
        use FormatError::{Malformed, Version};
        if bytes.len() < 5 || &bytes[..4] != MAGIC {
            return Err(Malformed("it does not start with the magic \"MYXS\""));
        }
        if bytes[4] != VERSION {
            return Err(Version(bytes[4]));
        }
        if bytes.len() != BYTES {
            return Err(Malformed("wrong length (a version 1 state has 288 bytes)"));
        }
        let seen = bytes[5];
        if seen & !7 != 0 {
            return Err(Malformed("unknown flag bits set"));
        }
        if bytes[6] != 0 || bytes[7] != 0 {
            return Err(Malformed("reserved bytes are not zero"));
        }
        let count = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
        if u64::from(seen.count_ones()) > count {
            return Err(Malformed("flags set for more values than the count"));
        }
        let mut words = [0u64; WORDS];
        for (k, w) in words.iter_mut().enumerate() {
            *w = u64::from_le_bytes(bytes[16 + 8 * k..24 + 8 * k].try_into().expect("8 bytes"));
        }
        if !within_bound(&words, count) {
            return Err(Malformed("the sum is larger than its count of doubles can reach"));
        }
        Ok(ExactSum::from_parts(&words, seen, count))
    }
}

/// Whether `|N| ≤ count · 2^2098` for `N` in two's-complement `words`.
fn within_bound(words: &[u64; WORDS], count: u64) -> bool {
    let mut mag = *words;
    if (words[WORDS - 1] as i64) < 0 {
        let mut carry = true;
        for w in &mut mag {
            let (v, c) = (!*w).overflowing_add(u64::from(carry));
            *w = v;
            carry = c;
        }
        // −2^2175 negates to itself: far beyond any bound.
        if (mag[WORDS - 1] as i64) < 0 {
            return false;
        }
    }
    // count · 2^2098, 2098 = 32 · 64 + 50.
    let mut bound = [0u64; WORDS];
    bound[32] = count << 50;
    bound[33] = count >> 14;
    for k in (0..WORDS).rev() {
        if mag[k] != bound[k] {
            return mag[k] < bound[k];
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(values: &[f64]) -> ExactSum {
        let mut s = ExactSum::new();
        for &x in values {
            s.add(x).unwrap();
        }
        s
    }

    #[test]
    fn round_trip() {
        for values in [
            &[][..],
            &[1.0, -3.5, 1e-300],
            &[f64::MAX, f64::MAX, f64::MAX],
            &[-f64::MAX, -5e-324],
            &[f64::NAN, 1.0],
            &[f64::INFINITY, f64::NEG_INFINITY, 2.0],
        ] {
            let s = state(values);
            let b = s.to_bytes();
            let t = ExactSum::from_bytes(&b).unwrap();
            assert_eq!(t.to_bytes(), b);
            assert_eq!(t.count(), s.count());
            assert_eq!(format!("{:?}", t.value()), format!("{:?}", s.value()));
        }
    }

    #[test]
    fn layout_is_fixed() {
        let b = state(&[1.0, 2.0]).to_bytes();
        assert_eq!(&b[..8], b"MYXS\x01\x00\x00\x00");
        assert_eq!(&b[8..16], &2u64.to_le_bytes());
        // 3.0 = 3 · 2^1074 units of 2^-1074: bits 1074 and 1075, i.e. word 16, bits 50 and 51.
        let mut want = [0u8; 272];
        want[16 * 8..17 * 8].copy_from_slice(&(3u64 << 50).to_le_bytes());
        assert_eq!(&b[16..], &want[..]);
        let neg = state(&[-1.0]).to_bytes();
        assert!(neg[16..].iter().rev().take(8).all(|&x| x == 0xff), "two's complement");
    }

    #[test]
    fn malformed_bytes_are_refused() {
        use FormatError::*;
        let good = state(&[2.5, -1.0]).to_bytes();
        let bad = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = good.to_vec();
            f(&mut b);
            ExactSum::from_bytes(&b)
        };
        assert!(matches!(bad(&|b| b.clear()), Err(Malformed(_))));
        assert!(matches!(bad(&|b| b.truncate(287)), Err(Malformed(_))));
        assert!(matches!(bad(&|b| b.push(0)), Err(Malformed(_))));
        assert!(matches!(bad(&|b| b[0] = b'X'), Err(Malformed(_))));
        assert_eq!(bad(&|b| b[4] = 2), Err(Version(2)));
        assert_eq!(bad(&|b| b[4] = 0), Err(Version(0)));
        assert_eq!(
            bad(&|b| b.truncate(5)),
            Err(Malformed("wrong length (a version 1 state has 288 bytes)"))
        );
        assert!(matches!(bad(&|b| b[5] = 8), Err(Malformed(_))));
        assert!(matches!(bad(&|b| b[6] = 1), Err(Malformed(_))));
        assert!(matches!(bad(&|b| b[5] = 7), Err(Malformed(_))), "3 flags, count 2");
        assert!(
            matches!(bad(&|b| b[8..16].fill(0)), Err(Malformed(_))),
            "a sum of no values"
        );
        assert!(matches!(bad(&|b| b[287] = 0x40), Err(Malformed(_))));
        assert!(matches!(bad(&|b| b[287] = 0x80), Err(Malformed(_))), "-2^2175");
        // The largest sum one value can reach, and one unit more.
        let one = |n_top: [u64; 2]| {
            let mut b = state(&[1.0]).to_bytes();
            b[16..].fill(0);
            b[16 + 32 * 8..16 + 33 * 8].copy_from_slice(&n_top[0].to_le_bytes());
            b[16 + 33 * 8..].copy_from_slice(&n_top[1].to_le_bytes());
            ExactSum::from_bytes(&b)
        };
        assert!(one([1 << 50, 0]).is_ok());
        assert!(one([(1 << 50) + 1, 0]).is_err());
    }
}
