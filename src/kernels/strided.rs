//! Arrays that are not one contiguous, aligned slice: n-dimensional and
//! strided views (a column of a row-major matrix, `x[::-2]`, a Fortran-ordered
//! array), and misaligned memory. An exact sum does not depend on the order
//! of its terms, so such an array is summed where it lies, in whatever order
//! reads memory best: [`Layout`] puts its dimensions in that order.
//!
//! The core never touches the memory itself: it asks an [`Elements`] for
//! runs of values, copied into a small buffer of its own (the C boundary
//! implements it over raw memory; tests implement it over vectors).

use crate::error::Error;

/// The most dimensions a [`Layout`] takes (numpy's limit).
///
/// cbindgen:ignore
pub const MAX_NDIM: usize = 64;

/// The values of an array, in the order of a [`Layout`].
pub trait Elements: Sync {
    /// How many values.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Copies values `start .. start + out.len()` (in order) into `out`.
    /// `start + out.len() ≤ len()`.
    fn read(&self, start: usize, out: &mut [f64]);
}

/// An array's layout, put in the order that reads memory best: every stride
/// non-negative (a negative stride is walked from the other end), dimensions
/// of length 1 dropped, the smallest stride innermost, and dimensions that
/// continue each other merged (a C- or Fortran-ordered array becomes one
/// contiguous dimension). The values are those at byte offsets
/// `offset + Σ i_k · dims[k].stride`, `0 ≤ i_k < dims[k].len`, from the
/// array's base pointer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Byte offset of the first value read (the lowest address) from the base.
    pub offset: isize,
    /// Bytes from the first value to the end of the last: every value lies
    /// in `[offset, offset + span)`.
    pub span: usize,
    dims: [Dim; MAX_NDIM],
    ndim: usize,
    len: usize,
}

/// One dimension: `len` values `stride` bytes apart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dim {
    /// Number of values along it (at least 2 once in a [`Layout`]).
    pub len: usize,
    /// Bytes between consecutive values (`0` for a broadcast dimension).
    pub stride: usize,
}

impl Layout {
    /// The layout of an array of `itemsize`-byte values with these `shape`
    /// and `strides` (bytes, any sign), as numpy and Python's buffer protocol
    /// describe them.
    ///
    /// Errors: `shape` and `strides` of different lengths or more than
    /// [`MAX_NDIM`] dimensions, a number of values that overflows `usize`, or
    /// an extent that overflows the address space (`isize`), are
    /// `InvalidLength`. An empty array (a dimension of length 0) has no dims.
    pub fn new(shape: &[usize], strides: &[isize], itemsize: usize) -> Result<Layout, Error> {
        let invalid = |name, len: usize| Error::InvalidLength { name, len: len as i128 };
        if shape.len() > MAX_NDIM {
            return Err(invalid("ndim", shape.len()));
        }
        if strides.len() != shape.len() {
            return Err(invalid("strides", strides.len()));
        }
        let mut layout = Layout {
            offset: 0,
            span: 0,
            dims: [Dim::default(); MAX_NDIM],
            ndim: 0,
            len: 1,
        };
        for &n in shape {
            layout.len = layout.len.checked_mul(n).ok_or(invalid("shape", n))?;
        }
        if layout.len == 0 {
            return Ok(layout);
        }
        let too_far = || invalid("strides", 0);
        let mut extent: usize = 0;
        for (&n, &stride) in shape.iter().zip(strides) {
            if n == 1 {
                continue;
            }
            let reach = stride.unsigned_abs().checked_mul(n - 1).ok_or_else(too_far)?;
            extent = extent.checked_add(reach).ok_or_else(too_far)?;
            if stride < 0 {
                // Walked from its other end: the lowest address is (n−1)·stride away.
                layout.offset = layout.offset.checked_sub_unsigned(reach).ok_or_else(too_far)?;
            }
            layout.dims[layout.ndim] = Dim {
                len: n,
                stride: stride.unsigned_abs(),
            };
            layout.ndim += 1;
        }
        layout.span = extent.checked_add(itemsize).ok_or_else(too_far)?;
        if layout.span > isize::MAX as usize {
            return Err(too_far());
        }
        let dims = &mut layout.dims[..layout.ndim];
        // The smallest stride innermost; a broadcast dimension (stride 0)
        // outermost, so that runs stay runs of different values.
        dims.sort_by_key(|d| (d.stride == 0, d.stride));
        // Merge a dimension into the one inside it when it continues it.
        let mut kept = 0;
        for i in 0..dims.len() {
            let d = dims[i];
            if kept > 0 && dims[kept - 1].stride.checked_mul(dims[kept - 1].len) == Some(d.stride) {
                dims[kept - 1].len *= d.len;
            } else {
                dims[kept] = d;
                kept += 1;
            }
        }
        layout.ndim = kept;
        Ok(layout)
    }

    /// The dimensions, innermost first.
    pub fn dims(&self) -> &[Dim] {
        &self.dims[..self.ndim]
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the array has no values.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the values are one run of consecutive `itemsize`-byte values
    /// (or a single value): then they are a plain slice at `offset`.
    pub fn is_contiguous(&self, itemsize: usize) -> bool {
        match self.dims() {
            [] => true,
            [d] => d.stride == itemsize,
            _ => false,
        }
    }

    /// Calls `run(byte_offset, count, stride)` for the runs along the
    /// innermost dimension that make up values `start .. start + n`, in
    /// order (`byte_offset` from the array's base).
    pub fn runs(&self, start: usize, n: usize, mut run: impl FnMut(isize, usize, usize)) {
        debug_assert!(start.checked_add(n).is_some_and(|end| end <= self.len));
        if n == 0 {
            return;
        }
        let dims = self.dims();
        let Some((inner, outer)) = dims.split_first() else {
            run(self.offset, 1, 0);
            return;
        };
        // The multi-index of `start`, innermost first.
        let mut index = [0usize; MAX_NDIM];
        let mut rest = start;
        for (k, d) in dims.iter().enumerate() {
            index[k] = rest % d.len;
            rest /= d.len;
        }
        let mut left = n;
        while left > 0 {
            let mut at = self.offset;
            for (k, d) in dims.iter().enumerate() {
                // In bounds of `span` ≤ isize::MAX, so no overflow.
                at += (index[k] * d.stride) as isize;
            }
            let count = (inner.len - index[0]).min(left);
            run(at, count, inner.stride);
            left -= count;
            // Next run: carry into the outer dimensions.
            index[0] = 0;
            for (k, d) in outer.iter().enumerate() {
                index[k + 1] += 1;
                if index[k + 1] < d.len {
                    break;
                }
                index[k + 1] = 0;
            }
        }
    }
}

/// Values held in a vector, in a given order: for tests of the strided paths.
#[cfg(test)]
pub(crate) struct Permuted<'a> {
    pub(crate) data: &'a [f64],
    pub(crate) order: Vec<usize>,
}

#[cfg(test)]
impl Elements for Permuted<'_> {
    fn len(&self) -> usize {
        self.order.len()
    }
    fn read(&self, start: usize, out: &mut [f64]) {
        for (o, &i) in out.iter_mut().zip(&self.order[start..]) {
            *o = self.data[i];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dims(l: &Layout) -> Vec<(usize, usize)> {
        l.dims().iter().map(|d| (d.len, d.stride)).collect()
    }

    #[test]
    fn c_and_fortran_orders_become_one_run() {
        // A 3×4 C-ordered array, and its transpose (Fortran order).
        let c = Layout::new(&[3, 4], &[32, 8], 8).unwrap();
        assert_eq!((c.offset, c.span, dims(&c)), (0, 96, vec![(12, 8)]));
        assert!(c.is_contiguous(8));
        let f = Layout::new(&[4, 3], &[8, 32], 8).unwrap();
        assert_eq!(dims(&f), vec![(12, 8)]);
        let col = Layout::new(&[3], &[32], 8).unwrap(); // m[:, k]
        assert_eq!(dims(&col), vec![(3, 32)]);
        assert!(!col.is_contiguous(8));
    }

    #[test]
    fn negative_strides_walk_from_the_other_end() {
        // x[::-2] of 10 values: base at x[9], 5 values, stride -16.
        let l = Layout::new(&[5], &[-16], 8).unwrap();
        assert_eq!((l.offset, l.span, dims(&l)), (-64, 72, vec![(5, 16)]));
        let r = Layout::new(&[7], &[-8], 8).unwrap();
        assert_eq!((r.offset, dims(&r)), (-48, vec![(7, 8)]));
        assert!(r.is_contiguous(8));
    }

    #[test]
    fn broadcast_empty_and_scalars() {
        let b = Layout::new(&[4, 3], &[0, 8], 8).unwrap();
        assert_eq!(dims(&b), vec![(3, 8), (4, 0)], "the broadcast dimension outermost");
        assert_eq!(b.len(), 12);
        let z = Layout::new(&[0, 5], &[8, 0], 8).unwrap();
        assert!(z.is_empty() && z.dims().is_empty());
        let s = Layout::new(&[], &[], 8).unwrap();
        assert_eq!((s.len(), s.span), (1, 8));
        assert!(s.is_contiguous(8));
        let ones = Layout::new(&[1, 1, 1], &[999, -5, 3], 8).unwrap();
        assert_eq!((ones.len(), ones.offset, ones.dims().len()), (1, 0, 0));
    }

    #[test]
    fn bad_layouts_are_errors() {
        let big = usize::MAX / 2;
        assert!(matches!(
            Layout::new(&[big, 3], &[8, 8], 8),
            Err(Error::InvalidLength { name: "shape", .. })
        ));
        assert!(matches!(
            Layout::new(&[3, 3], &[8], 8),
            Err(Error::InvalidLength { name: "strides", .. })
        ));
        assert!(matches!(
            Layout::new(&[2; 65], &[8; 65], 8),
            Err(Error::InvalidLength { name: "ndim", .. })
        ));
        assert!(Layout::new(&[3], &[isize::MAX], 8).is_err());
        assert!(Layout::new(&[2], &[isize::MIN], 8).is_err());
        assert!(Layout::new(&[2, 2], &[isize::MAX / 2 + 1, isize::MAX / 2 + 1], 8).is_err());
    }

    #[test]
    fn runs_cover_every_value_once() {
        // A 2×3×4 array with strides making holes, walked in pieces.
        let l = Layout::new(&[2, 3, 4], &[1000, 200, 24], 8).unwrap();
        let mut all = Vec::new();
        l.runs(0, l.len(), |at, n, s| all.extend((0..n).map(|i| at + (i * s) as isize)));
        let mut want: Vec<isize> = Vec::new();
        for i in 0..2 {
            for j in 0..3 {
                for k in 0..4 {
                    want.push(1000 * i + 200 * j + 24 * k);
                }
            }
        }
        let (mut a, mut w) = (all.clone(), want.clone());
        a.sort_unstable();
        w.sort_unstable();
        assert_eq!(a, w);
        for split in 0..=l.len() {
            let mut pieces = Vec::new();
            l.runs(0, split, |at, n, s| {
                pieces.extend((0..n).map(|i| at + (i * s) as isize))
            });
            l.runs(split, l.len() - split, |at, n, s| {
                pieces.extend((0..n).map(|i| at + (i * s) as isize))
            });
            assert_eq!(pieces, all, "split at {split}");
        }
    }
}
