//! The C API called directly from Rust, as C would call it: every export,
//! every bad input, the panic path and the per-thread error slot.

use std::ffi::{CStr, c_char, c_int, c_void};
use std::ptr;

use mylib::*;

#[path = "common/exact.rs"]
mod exact;
use exact::pow2;

fn last() -> c_int {
    mylib_last_error()
}

fn last_message() -> String {
    // SAFETY: mylib_last_error_message never returns NULL.
    unsafe { CStr::from_ptr(mylib_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

const OK: c_int = MylibStatus::MylibOk as c_int;
const NULL_POINTER: c_int = MylibStatus::MylibErrNullPointer as c_int;
const INVALID_LENGTH: c_int = MylibStatus::MylibErrInvalidLength as c_int;
const OVERFLOW: c_int = MylibStatus::MylibErrOverflow as c_int;
const MISSING_CALLBACK: c_int = MylibStatus::MylibErrMissingCallback as c_int;
#[cfg(feature = "test-panic")]
const PANIC: c_int = MylibStatus::MylibErrPanic as c_int;
const MISALIGNED: c_int = MylibStatus::MylibErrMisaligned as c_int;
const CALLBACK_FAILED: c_int = MylibStatus::MylibErrCallbackFailed as c_int;
const NO_MEMORY: c_int = MylibStatus::MylibErrNoMemory as c_int;
const BAD_FORMAT: c_int = MylibStatus::MylibErrBadFormat as c_int;
const UNSUPPORTED_VERSION: c_int = MylibStatus::MylibErrUnsupportedVersion as c_int;

#[test]
fn no_memory_is_code_9() {
    assert_eq!(NO_MEMORY, 9);
    // SAFETY: mylib_status_str never returns NULL.
    let s = unsafe { CStr::from_ptr(mylib_status_str(NO_MEMORY)) };
    assert_eq!(s.to_str().unwrap(), "out of memory");
}

#[test]
fn add_and_overflow() {
    assert_eq!(add(5, 3), 8);
    assert_eq!(last(), OK);
    assert_eq!(add(c_int::MAX, 1), c_int::MIN);
    assert_eq!(last(), OVERFLOW);
    assert_eq!(last_message(), "integer overflow in add");
    // The next call clears the slot.
    assert_eq!(add(-2, -3), -5);
    assert_eq!(last(), OK);
    assert_eq!(last_message(), "no error");
    assert_eq!(add(c_int::MIN, -1), c_int::MAX);
    assert_eq!(last(), OVERFLOW);
}

#[test]
fn mylib_add_packed_rules() {
    let fail = |status: c_int| MYLIB_PACKED_FAIL_BASE + i64::from(status);
    assert_eq!(mylib_add_packed(5, 3), 8);
    assert_eq!(last(), OK);
    assert_eq!(mylib_add_packed(c_int::MAX, c_int::MIN), -1);
    assert_eq!(mylib_add_packed(c_int::MIN, 0), i64::from(c_int::MIN));
    assert_eq!(mylib_add_packed(c_int::MAX, 0), i64::from(c_int::MAX));
    assert_eq!(mylib_add_packed(c_int::MAX, 1), fail(OVERFLOW));
    assert_eq!(last(), OVERFLOW);
    assert_eq!(last_message(), "integer overflow in add");
    assert_eq!(mylib_add_packed(c_int::MIN, -1), fail(OVERFLOW));
    assert_eq!(mylib_add_packed(-2, -3), -5);
    assert_eq!(last(), OK, "a good call clears the slot");
}

#[test]
fn mylib_add_rules() {
    let mut sum: c_int = 99;
    // SAFETY: valid out-pointers or the documented NULL / misaligned cases.
    unsafe {
        assert_eq!(mylib_add(5, 3, &mut sum), OK);
        assert_eq!(sum, 8);
        assert_eq!(mylib_add(c_int::MAX, 1, &mut sum), OVERFLOW);
        assert_eq!(sum, 8, "not written on failure");
        assert_eq!(last(), OVERFLOW);
        assert_eq!(last_message(), "integer overflow in add");
        assert_eq!(mylib_add(c_int::MIN, -1, &mut sum), OVERFLOW);
        assert_eq!(mylib_add(1, 1, ptr::null_mut()), NULL_POINTER);
        let mut cells = [0 as c_int; 2];
        let odd = cells.as_mut_ptr().cast::<u8>().add(1).cast::<c_int>();
        assert_eq!(mylib_add(1, 1, odd), MISALIGNED);
        assert_eq!(cells, [0, 0]);
        assert_eq!(mylib_add(-2, -3, &mut sum), OK);
        assert_eq!(sum, -5);
        assert_eq!(last(), OK);
    }
}

#[test]
fn mylib_greet_and_print_point_null_and_misaligned() {
    // SAFETY: the documented NULL / misaligned cases; nothing is written.
    unsafe {
        assert_eq!(mylib_greet(ptr::null()), NULL_POINTER);
        assert_eq!(last(), NULL_POINTER);
        assert_eq!(mylib_print_point(ptr::null()), NULL_POINTER);
        let pts = [Point { x: 1, y: 2 }; 2];
        let odd = pts.as_ptr().cast::<u8>().add(1).cast::<Point>();
        assert_eq!(mylib_print_point(odd), MISALIGNED);
        assert_eq!(last_message(), "p is not aligned to 4 bytes");
    }
}

#[test]
fn sum_array_rules() {
    let v = [1, 2, 3, 4];
    // SAFETY: all calls below pass valid pointers or the documented NULL cases.
    unsafe {
        assert_eq!(sum_array(v.as_ptr(), 4), 10);
        assert_eq!(last(), OK);
        assert_eq!(sum_array(ptr::null(), 0), 0);
        assert_eq!(last(), OK);
        assert_eq!(sum_array(ptr::null(), 3), 0);
        assert_eq!(last(), NULL_POINTER);
        assert_eq!(last_message(), "arr must not be NULL");
        assert_eq!(sum_array(v.as_ptr(), -1), 0);
        assert_eq!(last(), INVALID_LENGTH);
        assert_eq!(last_message(), "invalid length for size: -1");
        assert_eq!(sum_array(v.as_ptr(), c_int::MIN), 0);
        assert_eq!(last(), INVALID_LENGTH);
        let big = [c_int::MAX, 1];
        assert_eq!(sum_array(big.as_ptr(), 2), c_int::MIN);
        assert_eq!(last(), OVERFLOW);
        let back = [c_int::MAX, 1, -1];
        assert_eq!(sum_array(back.as_ptr(), 3), c_int::MAX);
        assert_eq!(last(), OK);
        let odd = v.as_ptr().cast::<u8>().add(1).cast::<c_int>();
        assert_eq!(sum_array(odd, 1), 0);
        assert_eq!(last(), MISALIGNED);
    }
}

#[test]
fn fast_sum_rules() {
    let v = [0.1f64; 10];
    let mut r = -1.0f64;
    // SAFETY: all calls below pass valid pointers or the documented NULL cases.
    unsafe {
        fast_sum(v.as_ptr(), 10, &mut r);
        assert_eq!((r, last()), (1.0, OK));
        let classic = [1.0, 1e100, 1.0, -1e100];
        fast_sum(classic.as_ptr(), 4, &mut r);
        assert_eq!(r, 2.0);
        r = -1.0;
        fast_sum(ptr::null(), 0, &mut r);
        assert_eq!((r, last()), (0.0, OK));
        r = -1.0;
        fast_sum(v.as_ptr(), 10, ptr::null_mut());
        assert_eq!(last(), NULL_POINTER);
        fast_sum(ptr::null(), 3, &mut r);
        assert_eq!((r, last()), (-1.0, NULL_POINTER));
        fast_sum(v.as_ptr(), -5, &mut r);
        assert_eq!((r, last()), (-1.0, INVALID_LENGTH));
        // The result may alias the input.
        let mut w = [1.0f64, 2.0, 3.0];
        let p = w.as_mut_ptr();
        fast_sum(p, 3, p);
        assert_eq!(w[0], 6.0);
        // Exact: the correctly rounded sum, no intermediate overflow.
        let tie = [pow2(53), 1.0, pow2(-60)];
        fast_sum(tie.as_ptr(), 3, &mut r);
        assert_eq!((r, last()), (pow2(53) + 2.0, OK));
        let big = [1e308, 1e308, -1e308];
        fast_sum(big.as_ptr(), 3, &mut r);
        assert_eq!((r, last()), (1e308, OK));
        // Beyond the double range: the infinity, and the overflow status.
        let over = [f64::MAX, f64::MAX, 1.0];
        fast_sum(over.as_ptr(), 3, &mut r);
        assert_eq!((r, last()), (f64::INFINITY, OVERFLOW));
        assert_eq!(
            last_message(),
            "the exact sum in fast_sum is beyond the range of double (it rounds to an infinity)"
        );
        let under = [-f64::MAX, -f64::MAX];
        fast_sum(under.as_ptr(), 2, &mut r);
        assert_eq!((r, last()), (f64::NEG_INFINITY, OVERFLOW));
        // An infinity given decides; that is no overflow.
        let inf = [f64::MAX, f64::MAX, f64::INFINITY];
        fast_sum(inf.as_ptr(), 3, &mut r);
        assert_eq!((r, last()), (f64::INFINITY, OK));
        // Misaligned data.
        let odd = v.as_ptr().cast::<u8>().add(1).cast::<f64>();
        r = -1.0;
        fast_sum(odd, 2, &mut r);
        assert_eq!((r, last()), (-1.0, MISALIGNED));
    }
}

#[test]
fn strided_sums() {
    // A 3 x 4 row-major matrix of distinct values, with 1 spare element.
    let m: Vec<f64> = (0..13).map(|i| (i as f64) * 1.5 - 4.0).collect();
    let sum = |data: *const f64, shape: &[usize], strides: &[isize]| {
        let mut r = f64::NAN;
        // SAFETY: every layout below names elements of `m` (or none).
        let st = unsafe { mylib_sum_f64_strided(data.cast(), shape.len(), shape.as_ptr(), strides.as_ptr(), &mut r) };
        (st, r)
    };
    let exact = |idx: &[usize]| idx.iter().map(|&i| m[i]).sum::<f64>();
    let p = m.as_ptr();
    assert_eq!(sum(p, &[3, 4], &[32, 8]), (OK, exact(&(0..12).collect::<Vec<_>>())));
    assert_eq!(
        sum(p, &[4, 3], &[8, 32]),
        (OK, exact(&(0..12).collect::<Vec<_>>())),
        "Fortran order"
    );
    // SAFETY: offsets within `m`, or a local buffer read in place.
    unsafe {
        assert_eq!(sum(p.add(3), &[3], &[32]), (OK, exact(&[3, 7, 11])), "a column");
        assert_eq!(
            sum(p.add(12), &[7], &[-16]),
            (OK, exact(&[12, 10, 8, 6, 4, 2, 0])),
            "x[::-2]"
        );
        assert_eq!(
            sum(p.add(5), &[2, 2], &[32, 8]),
            (OK, exact(&[5, 6, 9, 10])),
            "a sub-block"
        );
        assert_eq!(sum(p.add(2), &[], &[]), (OK, m[2]), "0-d: one value");
        assert_eq!(sum(p, &[5, 3], &[0, 8]), (OK, 5.0 * exact(&[0, 1, 2])), "broadcast");
        assert_eq!(sum(ptr::null(), &[0, 4], &[8, 8]), (OK, 0.0), "empty: data not read");
        // Misaligned values are read where they lie.
        let mut bytes = [0u8; 8 * 4 + 1];
        for (i, x) in [1.5f64, -2.25, 1e300, -1e300].iter().enumerate() {
            bytes[1 + 8 * i..9 + 8 * i].copy_from_slice(&x.to_ne_bytes());
        }
        let odd = bytes.as_ptr().add(1).cast::<f64>();
        assert_eq!(sum(odd, &[4], &[8]), (OK, -0.75));
        assert_eq!(sum(odd, &[2], &[16]), (OK, 1e300 + 1.5));
    }
    // Bad layouts: nothing written.
    let mut r = -1.0;
    let shape = [3usize, 4];
    let strides = [32isize, 8];
    // SAFETY: NULL and bad values are what is tested; nothing is read from them.
    unsafe {
        assert_eq!(
            mylib_sum_f64_strided(p.cast(), 2, ptr::null(), strides.as_ptr(), &mut r),
            NULL_POINTER
        );
        assert_eq!(
            mylib_sum_f64_strided(p.cast(), 2, shape.as_ptr(), ptr::null(), &mut r),
            NULL_POINTER
        );
        assert_eq!(
            mylib_sum_f64_strided(ptr::null(), 2, shape.as_ptr(), strides.as_ptr(), &mut r),
            NULL_POINTER
        );
        assert_eq!(
            mylib_sum_f64_strided(p.cast(), 2, shape.as_ptr(), strides.as_ptr(), ptr::null_mut()),
            NULL_POINTER
        );
        assert_eq!(
            mylib_sum_f64_strided(p.cast(), 65, shape.as_ptr(), strides.as_ptr(), &mut r),
            INVALID_LENGTH
        );
        let huge = [usize::MAX / 2, 3];
        assert_eq!(
            mylib_sum_f64_strided(p.cast(), 2, huge.as_ptr(), strides.as_ptr(), &mut r),
            INVALID_LENGTH
        );
        let far = [isize::MAX / 2, 8];
        assert_eq!(
            mylib_sum_f64_strided(p.cast(), 2, shape.as_ptr(), far.as_ptr(), &mut r),
            INVALID_LENGTH
        );
        let wrap = [isize::MIN / 4, 8];
        assert_eq!(
            mylib_sum_f64_strided(p.cast(), 2, shape.as_ptr(), wrap.as_ptr(), &mut r),
            INVALID_LENGTH
        );
        let odd_shape = shape.as_ptr().cast::<u8>().add(1).cast::<usize>();
        assert_eq!(
            mylib_sum_f64_strided(p.cast(), 2, odd_shape, strides.as_ptr(), &mut r),
            MISALIGNED
        );
        assert_eq!(r, -1.0, "nothing written on failure");
        // Overflow writes the infinity.
        let big = [f64::MAX, 0.0, f64::MAX];
        let (s1, st1) = ([2usize], [16isize]);
        assert_eq!(
            mylib_sum_f64_strided(big.as_ptr().cast(), 1, s1.as_ptr(), st1.as_ptr(), &mut r),
            OVERFLOW
        );
        assert_eq!(r, f64::INFINITY);
    }
}

/// An exact sum made by the C API; freed on drop.
struct Acc(*mut mylib_exact_sum);

impl Acc {
    fn new() -> Acc {
        let mut p = ptr::null_mut();
        // SAFETY: a valid out-pointer.
        assert_eq!(unsafe { mylib_exact_sum_new(&mut p) }, OK);
        assert!(!p.is_null());
        Acc(p)
    }
    fn from_bytes(b: &[u8]) -> Result<Acc, c_int> {
        let mut p = ptr::null_mut();
        // SAFETY: a valid slice and out-pointer.
        match unsafe { mylib_exact_sum_from_bytes(b.as_ptr(), b.len(), &mut p) } {
            OK => Ok(Acc(p)),
            status => {
                assert!(p.is_null(), "nothing written on failure");
                Err(status)
            }
        }
    }
    fn add(&self, d: &[f64]) -> c_int {
        // SAFETY: a live state and a valid slice.
        unsafe { mylib_exact_sum_add(self.0, d.as_ptr(), d.len()) }
    }
    fn result(&self) -> (c_int, f64) {
        let mut r = f64::NAN;
        // SAFETY: a live state and a valid out-pointer.
        let st = unsafe { mylib_exact_sum_result(self.0, &mut r) };
        (st, r)
    }
    fn count(&self) -> u64 {
        let mut c = u64::MAX;
        // SAFETY: as above.
        assert_eq!(unsafe { mylib_exact_sum_count(self.0, &mut c) }, OK);
        c
    }
    fn bytes(&self) -> [u8; MYLIB_EXACT_SUM_BYTES] {
        let mut b = [0u8; MYLIB_EXACT_SUM_BYTES];
        // SAFETY: a live state and a buffer of the right size.
        assert_eq!(unsafe { mylib_exact_sum_to_bytes(self.0, b.as_mut_ptr(), b.len()) }, OK);
        b
    }
}

impl Drop for Acc {
    fn drop(&mut self) {
        // SAFETY: made by mylib_exact_sum_new / _from_bytes, freed once.
        unsafe { mylib_exact_sum_free(self.0) };
    }
}

#[test]
fn exact_sum_state_rules() {
    let a = Acc::new();
    assert_eq!(a.result(), (OK, 0.0));
    assert_eq!(a.add(&[0.1; 10]), OK);
    assert_eq!(a.result(), (OK, 1.0));
    assert_eq!(a.count(), 10);
    // SAFETY: live states, valid pointers, and the documented NULL cases.
    unsafe {
        assert_eq!(mylib_exact_sum_add_value(a.0, 1e308), OK);
        assert_eq!(mylib_exact_sum_add_value(a.0, 1e308), OK);
        assert_eq!(mylib_exact_sum_add_value(a.0, -1e308), OK);
        assert_eq!(a.result(), (OK, 1e308 + 1.0));
        let b = Acc::new();
        assert_eq!(b.add(&[-1e308, -1e308]), OK);
        assert_eq!(mylib_exact_sum_merge(a.0, b.0), OK);
        assert_eq!(a.result(), (OK, -1e308), "-1e308 + 1, rounded");
        assert_eq!(a.count(), 15);
        assert_eq!(b.count(), 2, "other unchanged");
        // Merging a state into itself doubles it.
        assert_eq!(mylib_exact_sum_merge(b.0, b.0), OK);
        assert_eq!(b.count(), 4);
        assert_eq!(b.result(), (OVERFLOW, f64::NEG_INFINITY), "-4e308");
        assert_eq!(last(), OVERFLOW);
        assert_eq!(mylib_exact_sum_reset(b.0), OK);
        assert_eq!((b.result(), b.count()), ((OK, 0.0), 0));
        // Special values stay.
        assert_eq!(mylib_exact_sum_add_value(b.0, f64::INFINITY), OK);
        assert_eq!(b.result(), (OK, f64::INFINITY));
        assert_eq!(mylib_exact_sum_add_value(b.0, f64::NAN), OK);
        assert!(b.result().1.is_nan());
        // Bad pointers.
        let mut r = 0.0;
        assert_eq!(mylib_exact_sum_new(ptr::null_mut()), NULL_POINTER);
        assert_eq!(mylib_exact_sum_add(ptr::null_mut(), [1.0].as_ptr(), 1), NULL_POINTER);
        assert_eq!(mylib_exact_sum_add(a.0, ptr::null(), 1), NULL_POINTER);
        assert_eq!(mylib_exact_sum_add(a.0, ptr::null(), 0), OK);
        assert_eq!(mylib_exact_sum_add(a.0, [1.0].as_ptr(), usize::MAX), INVALID_LENGTH);
        assert_eq!(mylib_exact_sum_add_value(ptr::null_mut(), 1.0), NULL_POINTER);
        assert_eq!(mylib_exact_sum_merge(a.0, ptr::null()), NULL_POINTER);
        assert_eq!(mylib_exact_sum_merge(ptr::null_mut(), a.0), NULL_POINTER);
        assert_eq!(mylib_exact_sum_result(ptr::null(), &mut r), NULL_POINTER);
        assert_eq!(mylib_exact_sum_result(a.0, ptr::null_mut()), NULL_POINTER);
        assert_eq!(mylib_exact_sum_count(a.0, ptr::null_mut()), NULL_POINTER);
        assert_eq!(mylib_exact_sum_reset(ptr::null_mut()), NULL_POINTER);
        let odd = a.0.cast::<u8>().add(1).cast::<mylib_exact_sum>();
        assert_eq!(mylib_exact_sum_add_value(odd, 1.0), MISALIGNED);
        let v = [1.0f64, 2.0];
        let odd_data = v.as_ptr().cast::<u8>().add(4).cast::<f64>();
        assert_eq!(mylib_exact_sum_add(a.0, odd_data, 1), MISALIGNED);
        assert_eq!(a.count(), 15, "failed adds change nothing");
        mylib_exact_sum_free(ptr::null_mut());
        assert_eq!(last(), OK);
        // Strided adds.
        let m = [1.0f64, 2.0, 4.0, 8.0, 16.0, 32.0];
        let (shape, strides) = ([3usize], [-16isize]);
        let c = Acc::new();
        assert_eq!(
            mylib_exact_sum_add_strided(c.0, m.as_ptr().add(4).cast(), 1, shape.as_ptr(), strides.as_ptr()),
            OK
        );
        assert_eq!((c.result(), c.count()), ((OK, 21.0), 3));
        assert_eq!(
            mylib_exact_sum_add_strided(c.0, m.as_ptr().cast(), 1, shape.as_ptr(), ptr::null()),
            NULL_POINTER
        );
        assert_eq!(c.count(), 3);
    }
}

#[test]
fn exact_sum_counts_up_to_u64_max() {
    let a = Acc::new();
    assert_eq!(a.add(&[f64::MAX]), OK);
    // SAFETY: live states.
    unsafe {
        for _ in 0..63 {
            assert_eq!(mylib_exact_sum_merge(a.0, a.0), OK);
        }
        assert_eq!(a.count(), 1 << 63);
        let before = a.bytes();
        assert_eq!(mylib_exact_sum_merge(a.0, a.0), OVERFLOW, "2^64 values");
        assert_eq!(
            last_message(),
            "mylib_exact_sum_merge: a sum of more than 2^64 - 1 values"
        );
        assert_eq!(a.bytes(), before, "a refused merge changes nothing");
        // Such a state still serialises and reads back, and rounds to overflow.
        let b = Acc::from_bytes(&before).unwrap();
        assert_eq!(b.result(), (OVERFLOW, f64::INFINITY));
    }
}

#[test]
fn exact_sum_bytes() {
    let a = Acc::new();
    assert_eq!(a.add(&[1.5, -1e-300, 3e300, f64::INFINITY]), OK);
    let b = a.bytes();
    assert_eq!(&b[..5], b"MYXS\x01");
    let c = Acc::from_bytes(&b).unwrap();
    assert_eq!(c.bytes(), b);
    assert_eq!(c.count(), 4);
    assert_eq!(c.result(), (OK, f64::INFINITY));
    // Every malformed form is a status, never a crash.
    let mut bad = b;
    bad[5] |= 0x10;
    assert_eq!(Acc::from_bytes(&bad).err(), Some(BAD_FORMAT));
    assert_eq!(last_message(), "not a valid serialized ExactSum: unknown flag bits set");
    let mut v2 = b;
    v2[4] = 2;
    assert_eq!(Acc::from_bytes(&v2).err(), Some(UNSUPPORTED_VERSION));
    assert_eq!(
        last_message(),
        "serialized ExactSum of format version 2; this mylib reads version 1"
    );
    assert_eq!(Acc::from_bytes(&b[..287]).err(), Some(BAD_FORMAT));
    assert_eq!(Acc::from_bytes(&[]).err(), Some(BAD_FORMAT));
    let mut p = ptr::null_mut();
    // SAFETY: NULL cases; a short buffer is refused before any write.
    unsafe {
        assert_eq!(mylib_exact_sum_from_bytes(ptr::null(), 0, &mut p), BAD_FORMAT);
        assert_eq!(mylib_exact_sum_from_bytes(ptr::null(), 288, &mut p), NULL_POINTER);
        assert_eq!(
            mylib_exact_sum_from_bytes(b.as_ptr(), b.len(), ptr::null_mut()),
            NULL_POINTER
        );
        let mut small = [7u8; 287];
        assert_eq!(
            mylib_exact_sum_to_bytes(a.0, small.as_mut_ptr(), small.len()),
            INVALID_LENGTH
        );
        assert!(small.iter().all(|&x| x == 7), "nothing written");
        assert_eq!(mylib_exact_sum_to_bytes(a.0, ptr::null_mut(), 288), NULL_POINTER);
        assert_eq!(
            mylib_exact_sum_to_bytes(ptr::null(), small.as_mut_ptr(), 288),
            NULL_POINTER
        );
    }
    // Random corruption of every byte: a status or a state, never a crash;
    // a state read back serialises to the same bytes. Under Miri (an
    // interpreter) one flip per byte, the three in turn: every byte is still
    // corrupted (the C suite tries every value of every byte, natively).
    for i in 0..MYLIB_EXACT_SUM_BYTES {
        let flips = [1u8, 0x80, 0xff];
        let flips = if cfg!(miri) {
            &flips[i % 3..i % 3 + 1]
        } else {
            &flips[..]
        };
        for &flip in flips {
            let mut x = b;
            x[i] ^= flip;
            if let Ok(s) = Acc::from_bytes(&x) {
                assert_eq!(s.bytes(), x, "byte {i}");
            }
        }
    }
}

#[test]
fn exact_sum_from_threads() {
    // Fewer rounds under Miri (an interpreter): the interleavings it
    // explores matter, not the count.
    let (values, adds) = if cfg!(miri) { (300, 25) } else { (1000, 250) };
    let a = Acc::new();
    let p = a.0 as usize;
    std::thread::scope(|s| {
        for t in 0..4 {
            s.spawn(move || {
                let acc = p as *mut mylib_exact_sum;
                let data: Vec<f64> = (0..values).map(|i| (i * (t + 1)) as f64 * 0.1).collect();
                for chunk in data.chunks(100) {
                    // SAFETY: a live state shared by threads, as documented.
                    unsafe {
                        assert_eq!(mylib_exact_sum_add(acc, chunk.as_ptr(), chunk.len()), OK);
                        assert_eq!(mylib_exact_sum_add_value(acc, 1.0), OK);
                        assert_eq!(mylib_exact_sum_merge(acc, acc), OK);
                        assert_eq!(mylib_exact_sum_reset(acc), OK);
                    }
                }
            });
        }
    });
    assert_eq!(a.result(), (OK, 0.0), "the last call of every thread was a reset");
    // Now adds only: their total is known.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(move || {
                let acc = p as *mut mylib_exact_sum;
                for _ in 0..adds {
                    // SAFETY: as above.
                    unsafe { assert_eq!(mylib_exact_sum_add(acc, [0.1f64; 4].as_ptr(), 4), OK) };
                }
            });
        }
    });
    assert_eq!(a.count(), 16 * adds);
    // The exact sum of 16 · adds times 0.1 (0.1 + 5.55e-18), rounded once.
    let want = if cfg!(miri) { 40.0 } else { 400.0 };
    assert_eq!(
        a.result(),
        (OK, want),
        "the exact sum of {} times 0.1, rounded once",
        16 * adds
    );
}

#[test]
fn prefixed_sums() {
    let ints = vec![c_int::MAX; 1000];
    let mut s = 0i64;
    let mut d = 0.0f64;
    // SAFETY: all calls below pass valid pointers or the documented NULL cases.
    unsafe {
        assert_eq!(mylib_sum_i32(ints.as_ptr(), ints.len(), &mut s), OK);
        assert_eq!(s, 1000 * c_int::MAX as i64);
        assert_eq!(mylib_sum_i32(ptr::null(), 0, &mut s), OK);
        assert_eq!(s, 0);
        s = 7;
        assert_eq!(mylib_sum_i32(ptr::null(), 1, &mut s), NULL_POINTER);
        assert_eq!(mylib_sum_i32(ints.as_ptr(), 1, ptr::null_mut()), NULL_POINTER);
        assert_eq!(mylib_sum_i32(ints.as_ptr(), usize::MAX, &mut s), INVALID_LENGTH);
        assert_eq!(mylib_sum_i32(ints.as_ptr(), usize::MAX / 4 + 1, &mut s), INVALID_LENGTH);
        assert_eq!(s, 7, "nothing written on failure");
        assert_eq!(last(), INVALID_LENGTH);
        let xs = [1e16, 1.0, -1e16].repeat(1000);
        assert_eq!(mylib_sum_f64(xs.as_ptr(), xs.len(), &mut d), OK);
        assert_eq!(d, 1000.0);
        assert_eq!(mylib_sum_f64(xs.as_ptr(), xs.len(), ptr::null_mut()), NULL_POINTER);
        assert_eq!(mylib_sum_f64(ptr::null(), 2, &mut d), NULL_POINTER);
        assert_eq!(d, 1000.0);
    }
}

unsafe extern "C" fn square(x: c_int) -> c_int {
    x.wrapping_mul(x)
}

unsafe extern "C" fn reentrant(x: c_int) -> c_int {
    add(x, 1)
}

/// Every short length and start offset through the exports: the slice
/// conversion and the kernels' block/tail split at every remainder. Small
/// enough for Miri, which runs it on the portable kernels.
#[test]
fn sums_every_short_length_and_offset() {
    let ints: Vec<c_int> = (0..80)
        .map(|i: i32| match i % 5 {
            0 => c_int::MAX,
            1 => c_int::MIN,
            _ => i * 7919 - 300_000,
        })
        .collect();
    let doubles: Vec<f64> = ints.iter().map(|&x| f64::from(x)).collect();
    for off in 0..4 {
        for len in 0..=(ints.len() - off) {
            let d = &ints[off..off + len];
            let exact: i128 = d.iter().map(|&x| i128::from(x)).sum();
            let mut s64 = 0i64;
            let mut sf = f64::NAN;
            let mut r = f64::NAN;
            // SAFETY: valid slices and out-pointers.
            unsafe {
                assert_eq!(mylib_sum_i32(d.as_ptr(), d.len(), &mut s64), OK);
                assert_eq!(i128::from(s64), exact, "len {len} off {off}");
                let wrapped = sum_array(d.as_ptr(), c_int::try_from(len).unwrap());
                assert_eq!(wrapped, exact as i32);
                let fits = i32::try_from(exact).is_ok();
                assert_eq!(last(), if fits { OK } else { OVERFLOW });
                let f = &doubles[off..off + len];
                assert_eq!(mylib_sum_f64(f.as_ptr(), f.len(), &mut sf), OK);
                // Integers below 2^53 in magnitude: every sum is exact.
                assert_eq!(sf, exact as f64, "len {len} off {off}");
                fast_sum(f.as_ptr(), c_int::try_from(len).unwrap(), &mut r);
                assert_eq!(r.to_bits(), sf.to_bits());
            }
        }
    }
}

#[test]
fn process_rules() {
    // SAFETY: valid callbacks or NULL.
    unsafe {
        assert_eq!(process(Some(square), 7), 49);
        assert_eq!(last(), OK);
        assert_eq!(process(None, 7), 0);
        assert_eq!(last(), MISSING_CALLBACK);
        assert_eq!(last_message(), "func must not be NULL (no callback given)");
        assert_eq!(process(Some(reentrant), 41), 42);
        assert_eq!(last(), OK);
    }
}

unsafe extern "C" fn counting(user_data: *mut c_void, value: c_int, out: *mut c_int) -> c_int {
    // SAFETY: the tests pass a pointer to a live c_int counter.
    unsafe {
        *user_data.cast::<c_int>() += 1;
        if value < 0 {
            return -value;
        }
        *out = value * 2;
    }
    0
}

#[test]
fn mylib_process_rules() {
    let mut calls: c_int = 0;
    let ud = (&raw mut calls).cast::<c_void>();
    let mut out: c_int = -1;
    // SAFETY: valid callback, user data and out-pointers, or the NULL cases.
    unsafe {
        assert_eq!(mylib_process(Some(counting), ud, 21, &mut out), OK);
        assert_eq!((out, calls), (42, 1));
        out = -1;
        assert_eq!(mylib_process(Some(counting), ud, -3, &mut out), CALLBACK_FAILED);
        assert_eq!((out, calls), (-1, 2));
        assert_eq!(last_message(), "callback failed with status 3");
        assert_eq!(mylib_process(None, ud, 1, &mut out), MISSING_CALLBACK);
        assert_eq!(mylib_process(Some(counting), ud, 1, ptr::null_mut()), NULL_POINTER);
        assert_eq!(calls, 2, "callback not called when result_out is NULL");
    }
}

#[test]
fn greeting_is_owned_and_freed() {
    let mut text: *mut c_char = ptr::null_mut();
    // SAFETY: valid C strings and out-pointers, or the NULL cases.
    unsafe {
        assert_eq!(mylib_greeting(c"World".as_ptr(), &mut text), OK);
        assert_eq!(CStr::from_ptr(text).to_bytes(), b"Hello, World!");
        mylib_string_free(text);
        assert_eq!(mylib_greeting(c"\xff\xfe".as_ptr(), &mut text), OK);
        assert_eq!(CStr::from_ptr(text).to_bytes(), b"Hello, \xff\xfe!");
        mylib_string_free(text);
        mylib_string_free(ptr::null_mut());
        assert_eq!(last(), OK);
        text = ptr::null_mut();
        assert_eq!(mylib_greeting(ptr::null(), &mut text), NULL_POINTER);
        assert!(text.is_null());
        assert_eq!(mylib_greeting(c"x".as_ptr(), ptr::null_mut()), NULL_POINTER);
    }
}

#[test]
fn null_pointers_to_printing_functions() {
    // SAFETY: NULL is allowed and reported.
    unsafe {
        greet(ptr::null());
        assert_eq!(last(), NULL_POINTER);
        assert_eq!(last_message(), "name must not be NULL");
        print_point(ptr::null());
        assert_eq!(last(), NULL_POINTER);
        assert_eq!(last_message(), "p must not be NULL");
        let points = [Point { x: 1, y: 2 }; 2];
        let odd = points.as_ptr().cast::<u8>().add(1).cast::<Point>();
        print_point(odd);
        assert_eq!(last(), MISALIGNED);
        assert_eq!(last_message(), "p is not aligned to 4 bytes");
    }
}

#[test]
fn status_strings_never_null() {
    let mut seen = std::collections::HashSet::new();
    for code in 0..=11 {
        // SAFETY: mylib_status_str never returns NULL.
        let s = unsafe { CStr::from_ptr(mylib_status_str(code)) }.to_str().unwrap();
        assert!(seen.insert(s.to_owned()), "duplicate text for {code}");
    }
    for code in [-1, 12, c_int::MIN, c_int::MAX] {
        // SAFETY: as above.
        let s = unsafe { CStr::from_ptr(mylib_status_str(code)) };
        assert_eq!(s.to_str().unwrap(), "unknown mylib status code");
    }
}

#[test]
#[cfg_attr(miri, ignore = "reads Cargo.toml and the header: Miri isolates the file system")]
fn version_ties_header_runtime_and_cargo_toml() {
    let root = env!("CARGO_MANIFEST_DIR");
    let cargo = std::fs::read_to_string(format!("{root}/Cargo.toml")).unwrap();
    let cargo_version = cargo
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap();
    let header = std::fs::read_to_string(format!("{root}/include/mylib.h")).unwrap();
    let macro_value = |name: &str| -> String {
        header
            .lines()
            .find_map(|l| l.strip_prefix(&format!("#define {name} ")))
            .unwrap_or_else(|| panic!("{name} missing from the header"))
            .trim_matches('"')
            .to_owned()
    };
    let from_macros = format!(
        "{}.{}.{}",
        macro_value("MYLIB_VERSION_MAJOR"),
        macro_value("MYLIB_VERSION_MINOR"),
        macro_value("MYLIB_VERSION_PATCH")
    );
    // SAFETY: mylib_version returns a static C string.
    let runtime = unsafe { CStr::from_ptr(mylib_version()) }.to_str().unwrap();
    assert_eq!(runtime, cargo_version);
    assert_eq!(from_macros, cargo_version);
    assert_eq!(macro_value("MYLIB_VERSION_STRING"), cargo_version);
}

#[test]
fn debug_flag_any_int() {
    for v in [1, -7, c_int::MIN, c_int::MAX] {
        set_debug(v);
        assert_eq!(mylib_get_debug(), 1);
    }
    set_debug(0);
    assert_eq!(mylib_get_debug(), 0);
}

#[cfg(feature = "test-panic")]
#[test]
fn panic_becomes_a_status_not_an_abort() {
    assert_eq!(mylib_test_panic(5), 0);
    assert_eq!(last(), PANIC);
    assert_eq!(last_message(), "panic inside mylib: test panic with 5");
    // The library still works afterwards.
    assert_eq!(add(1, 2), 3);
    assert_eq!(last(), OK);
}

#[test]
fn error_slot_is_per_thread() {
    let handles: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                let v = [1, 2, 3];
                // Fewer rounds under Miri (an interpreter): the interleavings
                // it explores matter, not the count.
                for i in 0..if cfg!(miri) { 40 } else { 2000 } {
                    let expect = match (i + t) % 3 {
                        0 => {
                            // SAFETY: documented NULL case.
                            unsafe { sum_array(ptr::null(), 3) };
                            NULL_POINTER
                        }
                        1 => {
                            add(c_int::MAX, 1 + t);
                            OVERFLOW
                        }
                        _ => {
                            // SAFETY: valid pointer and length.
                            assert_eq!(unsafe { sum_array(v.as_ptr(), 3) }, 6);
                            OK
                        }
                    };
                    assert_eq!(last(), expect, "thread {t} iteration {i}");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

// ---------------------------------------------------------------- the slot's contract

/// A `process` callback that makes a failing mylib call, then succeeds.
unsafe extern "C" fn fails_inside(x: c_int) -> c_int {
    // SAFETY: the documented NULL case.
    unsafe { sum_array(ptr::null(), 3) };
    assert_eq!(mylib_last_error(), NULL_POINTER);
    x + 1
}

/// A `mylib_process` callback that makes a failing mylib call, then succeeds.
unsafe extern "C" fn fails_inside_ud(_ud: *mut c_void, value: c_int, out: *mut c_int) -> c_int {
    let mut sum: c_int = 0;
    // SAFETY: `sum` is a live local.
    let status = unsafe { mylib_add(c_int::MAX, value, &mut sum) };
    assert_eq!(status, OVERFLOW);
    // SAFETY: mylib_process passes a pointer to its live local.
    unsafe { *out = value * 3 };
    0
}

#[test]
fn success_leaves_ok_whatever_the_callback_did() {
    // SAFETY: valid callbacks and out-pointers.
    unsafe {
        assert_eq!(process(Some(fails_inside), 1), 2);
        assert_eq!(last(), OK);
        assert_eq!(last_message(), "no error");
        let mut out: c_int = 0;
        assert_eq!(mylib_process(Some(fails_inside_ud), ptr::null_mut(), 5, &mut out), OK);
        assert_eq!(out, 15);
        assert_eq!(last(), OK);
        assert_eq!(last_message(), "no error");
        // A failing outer call reports its own error, not the callback's.
        assert_eq!(
            mylib_process(Some(fails_inside_ud), ptr::null_mut(), 5, ptr::null_mut()),
            NULL_POINTER
        );
        assert_eq!(last_message(), "result_out must not be NULL");
    }
}

unsafe extern "C" fn fails_then_refuses(_ud: *mut c_void, _value: c_int, _out: *mut c_int) -> c_int {
    // SAFETY: the documented NULL case.
    unsafe { sum_array(ptr::null(), 3) };
    -4
}

#[test]
fn failing_callback_reports_its_status_not_the_inner_error() {
    let mut out: c_int = 0;
    // SAFETY: valid callback and out-pointer.
    unsafe {
        assert_eq!(
            mylib_process(Some(fails_then_refuses), ptr::null_mut(), 1, &mut out),
            CALLBACK_FAILED
        );
    }
    assert_eq!(last(), CALLBACK_FAILED);
    assert_eq!(last_message(), "callback failed with status -4");
}

/// Thread teardown: a thread-local whose destructor calls mylib. It is
/// registered before the thread's first mylib call, so it is destroyed
/// after anything mylib's own first call could have registered.
struct CallsMylibOnDrop;

static TEARDOWN_SEEN: std::sync::Mutex<Vec<(c_int, String)>> = std::sync::Mutex::new(Vec::new());

impl Drop for CallsMylibOnDrop {
    fn drop(&mut self) {
        let mut seen = TEARDOWN_SEEN.lock().unwrap();
        // SAFETY: the documented NULL case.
        unsafe { sum_array(ptr::null(), 3) };
        seen.push((last(), last_message()));
        add(1, 2);
        seen.push((last(), last_message()));
        add(c_int::MAX, 2);
        seen.push((last(), last_message()));
    }
}

thread_local! {
    static LATE: std::cell::RefCell<Option<CallsMylibOnDrop>> = const { std::cell::RefCell::new(None) };
}

#[test]
fn errors_during_thread_teardown_are_recorded() {
    std::thread::spawn(|| {
        LATE.with(|l| *l.borrow_mut() = Some(CallsMylibOnDrop));
        // Now use mylib on this thread, as the thread's last act.
        add(c_int::MAX, 1);
        assert_eq!(last(), OVERFLOW);
    })
    .join()
    .unwrap();
    let seen = std::mem::take(&mut *TEARDOWN_SEEN.lock().unwrap());
    assert_eq!(
        seen,
        [
            (NULL_POINTER, "arr must not be NULL".to_owned()),
            (OK, "no error".to_owned()),
            (OVERFLOW, "integer overflow in add".to_owned()),
        ]
    );
}
