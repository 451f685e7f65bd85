//! The exact `f64` sum: the certified pass ([`super::lanes`]) where it can
//! decide, the exact path ([`super::bins`]) where it cannot, on one thread or
//! several, over a slice or any [`Elements`].
//!
//! | input | route |
//! |---|---|
//! | fewer than 64 values | each added exactly to an [`ExactSum`] |
//! | the floating-point environment is not IEEE round-to-nearest with subnormals | the exponent bins |
//! | otherwise | the certified pass; if its certificate fails, extraction ([`super::extract`]) and the bins for what it cannot hold |
//! | [`ExactSum::add_values`] | extraction, and the bins for what it cannot hold (the bins alone outside the default environment) |
//!
//! A block whose lanes meet NaN, an infinity or overflow is redone on the
//! exact path at once, so NaN and infinities always come out as
//! [`ExactSum`] defines them. Every route gives the exact sum rounded once,
//! so every route, path, thread count, block size and order gives the same
//! bits.

use super::bins::Bins;
use super::exact::{CountOverflow, ExactSum, Overflow, plus, round};
use super::extract;
use super::lanes::{Lanes, MAX_LANES};
use super::strided::Elements;
use super::{Path, Split};
use crate::parallel;

/// Below this many values, each is added exactly (the certified pass has a
/// fixed cost of its own).
const SMALL: usize = 64;
/// Values copied at a time from an [`Elements`] (8 KiB on the stack; a
/// multiple of every kernel's width).
const STAGE: usize = 1024;

/// The values of a sum: a slice, or an array read through [`Elements`].
#[derive(Clone, Copy)]
pub enum Values<'a> {
    /// Contiguous, aligned values.
    Slice(&'a [f64]),
    /// Any other array (strided, n-dimensional, misaligned).
    Elements(&'a dyn Elements),
}

impl Values<'_> {
    /// The number of values.
    pub fn len(&self) -> usize {
        match self {
            Values::Slice(d) => d.len(),
            Values::Elements(e) => e.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f` on the values `lo..hi` in pieces (the slice itself, or
    /// copies of at most [`STAGE`] values).
    fn pieces(&self, lo: usize, hi: usize, mut f: impl FnMut(&[f64])) {
        match self {
            Values::Slice(d) => f(&d[lo..hi]),
            Values::Elements(e) => {
                let mut buf = [0.0f64; STAGE];
                let mut at = lo;
                while at < hi {
                    let k = STAGE.min(hi - at);
                    e.read(at, &mut buf[..k]);
                    f(&buf[..k]);
                    at += k;
                }
            }
        }
    }
}

/// How a sum was computed (reported for tests and benchmarks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Few values: each added exactly.
    OneByOne,
    /// The certified pass decided the rounding.
    Certified,
    /// The exact path (after a failed certificate, or in a non-default
    /// floating-point environment).
    Exact,
}

/// The exact sum of `data`, rounded once to nearest (ties to even): the bits
/// of Python's `math.fsum` whenever that is finite. NaN if a NaN is present
/// or both infinities; else the infinity present; `Err` (with the signed
/// infinity) when the exact sum is beyond the double range. The empty sum
/// and an exact zero are `+0.0`.
pub fn sum_f64(data: &[f64]) -> Result<f64, Overflow> {
    sum_f64_with(Path::Auto, data)
}

/// [`sum_f64`] with an explicit kernel; every path gives the same bits.
pub fn sum_f64_with(path: Path, data: &[f64]) -> Result<f64, Overflow> {
    sum_f64_split(path, data, Split::auto::<f64>(data.len()))
}

/// [`sum_f64`] with an explicit kernel, block size and thread count; every
/// choice gives the same bits.
pub fn sum_f64_split(path: Path, data: &[f64], split: Split) -> Result<f64, Overflow> {
    sum_values(path, Values::Slice(data), split).0
}

/// [`sum_f64`] of any [`Values`], and the route it took.
pub fn sum_values(path: Path, values: Values, split: Split) -> (Result<f64, Overflow>, Route) {
    let n = values.len();
    if n < SMALL {
        let mut acc = ExactSum::new();
        values.pieces(0, n, |d| d.iter().for_each(|&x| acc.add_uncounted(x)));
        return (acc.value(), Route::OneByOne);
    }
    let default_env = super::fp_env_is_default();
    if default_env && let Some(r) = certified(path, values, split) {
        return (r, Route::Certified);
    }
    // The certificate failed: the data cancel too much for it. Extraction
    // still holds data of moderate range exactly (it stops trying after a few
    // sub-blocks of wider data), the bins the rest. In a non-default
    // floating-point environment, the bins (integers only) do it all.
    // One sub-block that extraction cannot hold is enough to stop trying it
    // here: the data are already known to be hard.
    let extract = default_env.then(|| (extract::kernel(path), 1));
    (exact(values, split, extract).value(), Route::Exact)
}

impl ExactSum {
    /// Adds every value of `data` (on several threads when it is large).
    /// Refused, with `self` unchanged, if the count would pass `u64::MAX`.
    pub fn add_slice(&mut self, data: &[f64]) -> Result<(), CountOverflow> {
        self.add_values(Values::Slice(data), Split::auto::<f64>(data.len()))
    }

    /// Adds every value of `values`, with an explicit block size and thread
    /// count (the state is the same for every choice). Refused, with `self`
    /// unchanged, if the count would pass `u64::MAX`.
    pub fn add_values(&mut self, values: Values, split: Split) -> Result<(), CountOverflow> {
        let n = values.len();
        let count = self.count.checked_add(n as u64).ok_or(CountOverflow)?;
        if n < SMALL {
            values.pieces(0, n, |d| d.iter().for_each(|&x| self.add_uncounted(x)));
        } else {
            // Typical data: error-free extraction, at the cost of a plain
            // pass; what it cannot hold goes through the exponent bins.
            let extract = super::fp_env_is_default().then(|| (extract::kernel(Path::Auto), MISSES));
            let part = exact(values, split, extract);
            self.merge(&part).expect("the part counts no values");
        }
        self.count = count;
        Ok(())
    }
}

/// Per-thread state of the certified pass.
struct Certified {
    /// The exact sum of the lanes (and of the blocks redone exactly).
    acc: Exact,
    /// The sum of the blocks' error bounds.
    bound: f64,
}

/// The certified pass: `Some(result)` when the certificate decides the
/// rounding (or NaN or an infinity decides it), `None` when the exact path
/// must.
fn certified(path: Path, values: Values, split: Split) -> Option<Result<f64, Overflow>> {
    let (kernel, width) = lanes_kernel(path);
    let n = values.len();
    let block = split.block_len();
    let blocks = n.div_ceil(block);
    let states = parallel::fold_blocks(
        blocks,
        split.threads_for(n),
        || Certified {
            acc: Exact::new(None),
            bound: 0.0,
        },
        |st, i| {
            let (lo, hi) = (i * block, n.min((i + 1) * block));
            let mut lanes = Lanes::new(width);
            let mut tail = [0.0f64; MAX_LANES];
            let mut tail_len = 0;
            values.pieces(lo, hi, |d| {
                let done = kernel(&mut lanes, d);
                // Only the last piece of the data leaves values over (every
                // other piece is a multiple of the width).
                let rest = &d[done..];
                tail[tail_len..tail_len + rest.len()].copy_from_slice(rest);
                tail_len += rest.len();
            });
            match lanes.flush(&mut st.acc.acc) {
                Some(bound) => {
                    st.bound += bound;
                    tail[..tail_len].iter().for_each(|&x| st.acc.acc.add_uncounted(x));
                }
                None => {
                    // NaN, an infinity or overflow in this block: exactly.
                    values.pieces(lo, hi, |d| st.acc.add(d));
                }
            }
        },
    );
    let mut bound = 0.0;
    let acc = merge_all(states.into_iter().map(|st| {
        bound += st.bound;
        st.acc
    }));
    if let Some(v) = acc.special() {
        return Some(Ok(v));
    }
    let words = acc.words();
    if bound == 0.0 {
        return Some(round(&words));
    }
    let high = round(&plus(&words, bound));
    same(&round(&plus(&words, -bound)), &high).then_some(high)
}

/// The same result, to the bit.
fn same(a: &Result<f64, Overflow>, b: &Result<f64, Overflow>) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => a.to_bits() == b.to_bits(),
        (Err(a), Err(b)) => a.0.to_bits() == b.0.to_bits(),
        _ => false,
    }
}

/// The exact path: the exact sum of `values` (uncounted), through
/// `extract` first when given, with the number of sub-blocks it may fail to
/// hold before a thread stops trying it (see [`Exact::add`]), else the bins.
fn exact(values: Values, split: Split, extract: Option<(ExtractKernel, u32)>) -> ExactSum {
    let n = values.len();
    let block = split.block_len();
    let states = parallel::fold_blocks(
        n.div_ceil(block),
        split.threads_for(n),
        || Exact::new(extract),
        |st, i| values.pieces(i * block, n.min((i + 1) * block), |d| st.add(d)),
    );
    merge_all(states)
}

/// Flushes each thread's state and merges them (exact: the order does not matter).
fn merge_all(states: impl IntoIterator<Item = Exact>) -> ExactSum {
    let mut total: Option<ExactSum> = None;
    for st in states {
        let acc = st.finish();
        match total.as_mut() {
            None => total = Some(acc),
            Some(t) => t.merge(&acc).expect("no values counted"),
        }
    }
    total.expect("fold_blocks returns at least one state")
}

/// Below this many values, adding them one by one into the [`ExactSum`]
/// is cheaper than setting up and flushing the bins.
const FEW_FOR_BINS: usize = 4096;

/// After this many sub-blocks that extraction could not hold, a thread adding
/// to an [`ExactSum`] stops trying it (the data have too wide a range: the
/// bins are faster for them).
const MISSES: u32 = 4;

/// An extraction kernel (see [`super::extract`]).
type ExtractKernel = fn(&[f64]) -> Option<[f64; 4]>;

/// A thread's exact state: the sum, the bins (made on first need: `None`
/// until then, `Some(None)` when they could not be allocated), and the
/// extraction kernel while it is worth trying.
struct Exact {
    acc: ExactSum,
    bins: Option<Option<Bins>>,
    extract: Option<ExtractKernel>,
    /// Sub-blocks extraction may still fail to hold before it is dropped.
    misses_left: u32,
}

impl Exact {
    fn new(extract: Option<(ExtractKernel, u32)>) -> Exact {
        Exact {
            acc: ExactSum::new(),
            bins: None,
            extract: extract.map(|(k, _)| k),
            misses_left: extract.map_or(0, |(_, m)| m),
        }
    }

    /// Adds `d` exactly: sub-block by sub-block through extraction while it
    /// holds, else through the bins (or one by one: a few values, or no
    /// memory for the bins).
    fn add(&mut self, d: &[f64]) {
        let Some(kernel) = self.extract else {
            return self.add_to_bins(d);
        };
        for sub in d.chunks(extract::SUB) {
            if self.extract.is_some() && extract::add(kernel, sub, &mut self.acc) {
                continue;
            }
            self.misses_left = self.misses_left.saturating_sub(1);
            if self.misses_left == 0 {
                self.extract = None;
            }
            self.add_to_bins(sub);
        }
    }

    fn add_to_bins(&mut self, d: &[f64]) {
        if self.bins.is_none() && d.len() >= FEW_FOR_BINS {
            self.bins = Some(Bins::new());
        }
        match self.bins.as_mut() {
            Some(Some(bins)) => bins.add(d, &mut self.acc),
            _ => d.iter().for_each(|&x| self.acc.add_uncounted(x)),
        }
    }

    /// The exact sum of everything added.
    fn finish(mut self) -> ExactSum {
        if let Some(Some(bins)) = self.bins.as_mut() {
            bins.flush(&mut self.acc);
        }
        self.acc
    }
}

/// A certified-pass kernel: adds the values of whole groups of its width to
/// the lanes and returns how many it added.
type LanesKernel = fn(&mut Lanes, &[f64]) -> usize;

/// The certified-pass kernel of `path` and its width.
fn lanes_kernel(path: Path) -> (LanesKernel, usize) {
    match path.resolve() {
        #[cfg(target_arch = "x86_64")]
        Path::Avx512 => (
            |l, d| {
                // SAFETY: `resolve` returns `Avx512` only if run-time detection
                // found AVX-512F on this CPU, the kernel's only requirement.
                unsafe { super::x86::lanes_avx512(l, d) }
            },
            32,
        ),
        #[cfg(target_arch = "x86_64")]
        Path::Avx2 => (
            |l, d| {
                // SAFETY: `resolve` returns `Avx2` only if run-time detection
                // found AVX2 on this CPU, the kernel's only requirement.
                unsafe { super::x86::lanes_avx2(l, d) }
            },
            16,
        ),
        #[cfg(target_arch = "aarch64")]
        Path::Neon => (
            |l, d| {
                // SAFETY: `resolve` returns `Neon` only if run-time detection
                // found NEON on this CPU, the kernel's only requirement.
                unsafe { super::arm::lanes_neon(l, d) }
            },
            16,
        ),
        #[cfg(not(target_arch = "x86_64"))]
        Path::Avx2 | Path::Avx512 => (super::lanes::portable, 16),
        #[cfg(not(target_arch = "aarch64"))]
        Path::Neon => (super::lanes::portable, 16),
        Path::Auto | Path::Portable => (super::lanes::portable, 16),
    }
}
