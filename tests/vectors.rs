//! The vector file (tests/vectors/sum_f64.txt, written by
//! tests/vectors/generate.py from Python's exact fractions, independent of
//! mylib): every case must give exactly its expected bits and status
//! through every way mylib sums doubles —
//! - `fast_sum`, `mylib_sum_f64`, and `mylib_sum_f64_strided` on the values
//!   reversed (stride −8), misaligned, and every other value of an
//!   interleaved buffer whose gaps hold NaN;
//! - every kernel path, and thread counts and block sizes through
//!   `kernels::sum_f64_split` (small blocks, so small cases are threaded too);
//! - `mylib_exact_sum_*` states: the values split at several points, the
//!   parts added to separate states (by array, by strided array, value by
//!   value), one part through `to_bytes` / `from_bytes`, merged.
//!
//! The same file is compiled into the C suite (tests/c/test_mylib.c), so it
//! also runs natively from C, under Wine and under qemu-aarch64. Not under
//! Miri, which runs the kernels' and the accumulator's unit tests instead
//! (`make test-miri`): millions of values are far too slow interpreted.

#![cfg(not(miri))]

use std::ffi::c_int;
use std::ptr;

use mylib::kernels::{self, Path, Split};
use mylib::*;

const OK: c_int = MylibStatus::MylibOk as c_int;
const OVERFLOW: c_int = MylibStatus::MylibErrOverflow as c_int;

static FILE: &str = include_str!("vectors/sum_f64.txt");

/// One case of the file.
struct Case {
    /// The comment naming it (with its number within a group).
    name: String,
    /// `OK` or `OVERFLOW`.
    status: c_int,
    /// The expected bits; `None` for any NaN.
    bits: Option<u64>,
    /// The values, repeated as the file says.
    data: Vec<f64>,
}

impl Case {
    /// Whether `(status, value)` is this case's answer, to the bit.
    fn matches(&self, status: c_int, value: f64) -> bool {
        status == self.status
            && match self.bits {
                None => value.is_nan(),
                Some(b) => value.to_bits() == b,
            }
    }

    fn want(&self) -> String {
        match self.bits {
            None => format!("status {} NaN", self.status),
            Some(b) => format!("status {} {:e} ({b:016x})", self.status, f64::from_bits(b)),
        }
    }

    /// Panics with what was expected and what came when it does not match.
    fn check(&self, what: &str, status: c_int, value: f64) {
        assert!(
            self.matches(status, value),
            "{}: {what}: got status {status} {value:e} ({:016x}), want {} (n = {})",
            self.name,
            value.to_bits(),
            self.want(),
            self.data.len()
        );
    }

    /// A kernel's result as a (status, value) pair.
    fn check_kernel(&self, what: &str, r: Result<f64, kernels::Overflow>) {
        match r {
            Ok(v) => self.check(what, OK, v),
            Err(o) => self.check(what, OVERFLOW, o.0),
        }
    }
}

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s, 16).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let (mut group, mut number) = (String::new(), 0);
    for line in FILE.lines() {
        if let Some(comment) = line.strip_prefix('#') {
            group = comment.trim().to_owned();
            number = 0;
            continue;
        }
        let f: Vec<&str> = line.split_ascii_whitespace().collect();
        if f.is_empty() {
            continue;
        }
        number += 1;
        let repeat: usize = f[2].parse().unwrap();
        let n: usize = f[3].parse().unwrap();
        assert_eq!(f.len(), 4 + n, "{line}");
        let pattern: Vec<f64> = f[4..].iter().map(|s| f64::from_bits(hex(s))).collect();
        out.push(Case {
            name: format!("{group} [{number}]"),
            status: f[0].parse().unwrap(),
            bits: (f[1] != "nan").then(|| hex(f[1])),
            data: pattern.repeat(repeat),
        });
    }
    out
}

/// Cases of at most this many values get the full matrix of paths, blocks
/// and thread counts; larger ones a few of each (they are threaded anyway).
const SMALL: usize = 20_000;

#[test]
fn the_file_is_whole() {
    let cases = cases();
    let header: usize = FILE
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the first line counts the cases");
    assert_eq!(cases.len(), header, "every case parsed");
    assert!(cases.len() > 2000);
    let large = cases.iter().filter(|c| c.data.len() >= 524_288).count();
    assert!(large >= 5, "cases past the threading threshold: {large}");
}

#[test]
fn c_api() {
    for c in cases() {
        let d = &c.data;
        let mut r = f64::NAN;
        // SAFETY: valid slices and out-pointers.
        unsafe {
            let st = mylib_sum_f64(d.as_ptr(), d.len(), &mut r);
            c.check("mylib_sum_f64", st, r);
            if let Ok(n) = c_int::try_from(d.len()) {
                r = f64::NAN;
                fast_sum(d.as_ptr(), n, &mut r);
                c.check("fast_sum", mylib_last_error(), r);
            }
        }
        check_strided(&c);
    }
}

/// `mylib_sum_f64_strided` on three layouts of the case's values.
fn check_strided(c: &Case) {
    let d = &c.data;
    let n = d.len();
    let shape = [n];
    let sum = |data: *const u8, stride: isize| {
        let mut r = f64::NAN;
        // SAFETY: every layout below names `n` doubles inside its buffer.
        let st = unsafe { mylib_sum_f64_strided(data.cast(), 1, shape.as_ptr(), [stride].as_ptr(), &mut r) };
        (st, r)
    };
    // Reversed: from the last value, stride -8.
    let last = d.as_ptr().wrapping_add(n.saturating_sub(1)).cast::<u8>();
    let (st, r) = sum(last, -8);
    c.check("strided, reversed", st, r);
    // Misaligned: the values at byte offset 3 of a byte buffer.
    let mut bytes = vec![0u8; 8 * n + 3];
    for (i, x) in d.iter().enumerate() {
        bytes[3 + 8 * i..11 + 8 * i].copy_from_slice(&x.to_ne_bytes());
    }
    let (st, r) = sum(bytes.as_ptr().wrapping_add(3), 8);
    c.check("strided, misaligned", st, r);
    // Every other value of a buffer whose gaps hold NaN (stride 16).
    let mut gaps = vec![f64::NAN; 2 * n];
    for (i, &x) in d.iter().enumerate() {
        gaps[2 * i] = x;
    }
    let (st, r) = sum(gaps.as_ptr().cast(), 16);
    c.check("strided, stride 16 over NaN gaps", st, r);
}

#[test]
fn every_path_block_and_thread_count() {
    let mut paths = Path::available();
    paths.push(Path::Auto);
    for c in cases() {
        let d = &c.data;
        for &p in &paths {
            c.check_kernel(&format!("sum_f64_with({p:?})"), kernels::sum_f64_with(p, d));
        }
        let splits: &[(usize, usize)] = if d.len() <= SMALL {
            &[(32, 1), (32, 3), (96, 2), (4096, 4), (65_536, 2)]
        } else {
            &[(65_536, 3), (100_000, 2)]
        };
        for &(block, threads) in splits {
            let split = Split {
                block,
                threads,
                min_per_thread: 1,
            };
            let few = [Path::Portable, Path::Auto];
            let split_paths = if d.len() <= SMALL { &paths[..] } else { &few[..] };
            for &p in split_paths {
                let what = format!("sum_f64_split({p:?}, block {block}, {threads} threads)");
                c.check_kernel(&what, kernels::sum_f64_split(p, d, split));
            }
        }
    }
}

/// An exact sum made by the C API, freed on drop.
struct Acc(*mut mylib_exact_sum);

impl Acc {
    fn new() -> Acc {
        let mut p = ptr::null_mut();
        // SAFETY: a valid out-pointer.
        assert_eq!(unsafe { mylib_exact_sum_new(&mut p) }, OK);
        Acc(p)
    }
    fn add(&self, d: &[f64]) {
        // SAFETY: a live state and a valid slice.
        assert_eq!(unsafe { mylib_exact_sum_add(self.0, d.as_ptr(), d.len()) }, OK);
    }
    /// `d` reversed, through the strided add.
    fn add_reversed(&self, d: &[f64]) {
        let last = d.as_ptr().wrapping_add(d.len().saturating_sub(1));
        // SAFETY: the layout names the `d.len()` values of `d`.
        let st = unsafe { mylib_exact_sum_add_strided(self.0, last.cast(), 1, [d.len()].as_ptr(), [-8].as_ptr()) };
        assert_eq!(st, OK);
    }
    fn add_values(&self, d: &[f64]) {
        for &x in d {
            // SAFETY: a live state.
            assert_eq!(unsafe { mylib_exact_sum_add_value(self.0, x) }, OK);
        }
    }
    fn merge(&self, other: &Acc) {
        // SAFETY: live states.
        assert_eq!(unsafe { mylib_exact_sum_merge(self.0, other.0) }, OK);
    }
    fn bytes(&self) -> [u8; MYLIB_EXACT_SUM_BYTES] {
        let mut b = [0u8; MYLIB_EXACT_SUM_BYTES];
        // SAFETY: a live state and a buffer of the right size.
        assert_eq!(unsafe { mylib_exact_sum_to_bytes(self.0, b.as_mut_ptr(), b.len()) }, OK);
        b
    }
    fn through_bytes(&self) -> Acc {
        let b = self.bytes();
        let mut p = ptr::null_mut();
        // SAFETY: a valid buffer and out-pointer.
        assert_eq!(unsafe { mylib_exact_sum_from_bytes(b.as_ptr(), b.len(), &mut p) }, OK);
        Acc(p)
    }
    fn result(&self) -> (c_int, f64) {
        let mut r = f64::NAN;
        // SAFETY: a live state and a valid out-pointer.
        let st = unsafe { mylib_exact_sum_result(self.0, &mut r) };
        (st, r)
    }
    fn count(&self) -> u64 {
        let mut n = u64::MAX;
        // SAFETY: a live state and a valid out-pointer.
        assert_eq!(unsafe { mylib_exact_sum_count(self.0, &mut n) }, OK);
        n
    }
}

impl Drop for Acc {
    fn drop(&mut self) {
        // SAFETY: made by mylib_exact_sum_new / _from_bytes, freed once.
        unsafe { mylib_exact_sum_free(self.0) };
    }
}

#[test]
fn exact_sum_states_split_and_merged() {
    for c in cases() {
        let d = &c.data;
        let n = d.len();
        let whole = Acc::new();
        whole.add(d);
        let (st, r) = whole.result();
        c.check("mylib_exact_sum_add, whole", st, r);
        assert_eq!(whole.count(), n as u64);
        let want = whole.bytes();
        let mut cuts = vec![0, 1, n / 3, n / 2, n.saturating_sub(1), n];
        cuts.retain(|&k| k <= n);
        cuts.dedup();
        for &k in &cuts {
            let (head, tail) = d.split_at(k);
            let a = Acc::new();
            let b = Acc::new();
            if head.len() <= 64 {
                a.add_values(head);
            } else {
                a.add(head);
            }
            b.add_reversed(tail);
            // b travels as bytes; merged into a, and a merged into a copy of b.
            let b2 = b.through_bytes();
            a.merge(&b2);
            let (st, r) = a.result();
            c.check(&format!("states split at {k}, merged"), st, r);
            assert_eq!(
                a.bytes(),
                want,
                "{}: split at {k}: the merged state is the whole's",
                c.name
            );
            assert_eq!(a.count(), n as u64);
        }
    }
}
