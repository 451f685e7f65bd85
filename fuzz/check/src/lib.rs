//! The checks behind mylib's fuzz targets, in a crate of their own so that
//! stable `cargo test` replays every saved input (fuzz/regressions/) without
//! libFuzzer. Each `check_*` function decodes an arbitrary byte string into
//! calls of the C API, compares every result with a reference, and panics on
//! a mismatch (which libFuzzer reports as a crash).
//!
//! Linux only: stdout and stderr are captured through memfds.

#![allow(clippy::missing_safety_doc)]

#[path = "../../../tests/common/exact.rs"]
pub mod exact;

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::ptr;
use std::sync::Once;
use std::sync::atomic::{AtomicI32, Ordering};

use mylib::kernels::{self, Path};
use mylib::*;

const OK: c_int = MylibStatus::MylibOk as c_int;
const NULL_POINTER: c_int = MylibStatus::MylibErrNullPointer as c_int;
const INVALID_LENGTH: c_int = MylibStatus::MylibErrInvalidLength as c_int;
const OVERFLOW: c_int = MylibStatus::MylibErrOverflow as c_int;
const MISSING_CALLBACK: c_int = MylibStatus::MylibErrMissingCallback as c_int;
const MISALIGNED: c_int = MylibStatus::MylibErrMisaligned as c_int;
const CALLBACK_FAILED: c_int = MylibStatus::MylibErrCallbackFailed as c_int;
const BAD_FORMAT: c_int = MylibStatus::MylibErrBadFormat as c_int;
const UNSUPPORTED_VERSION: c_int = MylibStatus::MylibErrUnsupportedVersion as c_int;

/// The descriptions of codes 0..=11, as the header's enum lists them.
const DESCRIPTIONS: [&str; 12] = [
    "no error",
    "a required pointer was NULL",
    "invalid (negative or too large) length",
    "overflow: a result beyond the range of its C type",
    "no callback given (NULL function pointer)",
    "I/O error writing to stdout",
    "internal error: a panic was caught inside mylib",
    "pointer not aligned for its element type",
    "the callback reported failure",
    "out of memory",
    "not a valid serialized state",
    "serialized state of an unsupported format version",
];

/// The version in mylib's Cargo.toml (this crate's own is not mylib's).
fn mylib_cargo_version() -> &'static str {
    include_str!("../../../Cargo.toml")
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("version in mylib's Cargo.toml")
}

// ---------------------------------------------------------------- input decoding

/// Reads an input front to back; past the end everything reads as zero.
pub struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Input(data)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
    pub fn i32(&mut self) -> i32 {
        let mut b = [0u8; 4];
        b[..].copy_from_slice(&pad::<4>(self.bytes(4)));
        i32::from_le_bytes(b)
    }
    pub fn f64(&mut self) -> f64 {
        f64::from_le_bytes(pad::<8>(self.bytes(8)))
    }
    /// A C string: the bytes up to the next NUL (or `max` bytes), never NUL inside.
    pub fn c_string(&mut self, max: usize) -> CString {
        let rest = self.0;
        let end = rest
            .iter()
            .take(max)
            .position(|&b| b == 0)
            .unwrap_or(rest.len().min(max));
        let s = &rest[..end];
        self.0 = &rest[(end + 1).min(rest.len())..];
        CString::new(s).expect("no NUL inside")
    }
}

fn pad<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out[..b.len()].copy_from_slice(b);
    out
}

// ---------------------------------------------------------------- slot helpers

fn last_message() -> String {
    // SAFETY: never NULL; copied at once.
    unsafe { CStr::from_ptr(mylib_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

/// Asserts the calling thread's slot: `code`, and the message when given.
#[track_caller]
fn assert_slot(code: c_int, message: Option<&str>, context: &str) {
    assert_eq!(mylib_last_error(), code, "{context}: code ({})", last_message());
    let got = last_message();
    match message {
        Some(m) => assert_eq!(got, m, "{context}: message"),
        None if code == OK => assert_eq!(got, "no error", "{context}: message"),
        None => assert!(!got.is_empty() && got != "no error", "{context}: message {got:?}"),
    }
}

// ---------------------------------------------------------------- capture of fd 1 / fd 2

/// While alive, `fd` (1 or 2) writes into a memfd; `finish` restores it and
/// returns what was written. A panic restores both first (see `restore_hook`),
/// so its message reaches the real stderr.
pub struct Capture {
    fd: c_int,
    saved: c_int,
    memfd: c_int,
}

/// The saved copy of fd 1 and fd 2 while they are captured, else -1.
static SAVED: [AtomicI32; 3] = [AtomicI32::new(-1), AtomicI32::new(-1), AtomicI32::new(-1)];

/// Installs, once, a panic hook that puts captured descriptors back before
/// the previous hook (libFuzzer's, or the default) reports the panic.
fn restore_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            for fd in [1, 2] {
                let saved = SAVED[fd].swap(-1, Ordering::SeqCst);
                if saved >= 0 {
                    // SAFETY: `saved` is a descriptor this module dup'ed.
                    unsafe { libc::dup2(saved, fd as c_int) };
                }
            }
            previous(info)
        }));
    });
}

impl Capture {
    pub fn begin(fd: c_int) -> Capture {
        assert!(fd == 1 || fd == 2);
        restore_hook();
        // SAFETY: plain system calls on descriptors this value owns.
        unsafe {
            let memfd = libc::memfd_create(c"mylib-fuzz".as_ptr(), libc::MFD_CLOEXEC);
            assert!(memfd >= 0, "memfd_create");
            let saved = libc::dup(fd);
            assert!(saved >= 0, "dup");
            SAVED[fd as usize].store(saved, Ordering::SeqCst);
            assert!(libc::dup2(memfd, fd) >= 0, "dup2");
            Capture { fd, saved, memfd }
        }
    }

    pub fn finish(self) -> Vec<u8> {
        // SAFETY: as in `begin`; the buffer is sized from fstat.
        unsafe {
            SAVED[self.fd as usize].store(-1, Ordering::SeqCst);
            libc::dup2(self.saved, self.fd);
            libc::close(self.saved);
            let mut st: libc::stat = std::mem::zeroed();
            assert_eq!(libc::fstat(self.memfd, &mut st), 0);
            let mut buf = vec![0u8; st.st_size as usize];
            let mut done = 0;
            while done < buf.len() {
                let n = libc::pread(
                    self.memfd,
                    buf[done..].as_mut_ptr().cast(),
                    buf.len() - done,
                    done as libc::off_t,
                );
                assert!(n > 0, "pread");
                done += n as usize;
            }
            libc::close(self.memfd);
            buf
        }
    }
}

/// The greeting line the reference expects.
fn greeting_bytes(name: &[u8]) -> Vec<u8> {
    [b"Hello, ", name, b"!"].concat()
}

/// The log's rendering of a C string: `{:?}` of the lossily decoded text.
fn quoted(name: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(name))
}

// ---------------------------------------------------------------- sum_i32

/// Ints: `mylib_sum_i32` against the exact i128 sum, `sum_array` against the
/// wrapped sum and its overflow flag, every kernel path against each other;
/// misaligned and negative-length variants as the first byte says.
pub fn check_sum_i32(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.u8();
    let values: Vec<i32> = data
        .get(1..)
        .unwrap_or(&[])
        .chunks(4)
        .map(|c| i32::from_le_bytes(pad::<4>(c)))
        .collect();
    let exact = exact::sum_i128(&values);
    let n = values.len();
    // Storage with room for a misaligned view of n ints.
    let mut storage = vec![0i32; n + 1];
    let misalign = usize::from(flags & 3);
    // SAFETY: the byte offset stays inside `storage`, which has one spare int.
    let ptr = unsafe { storage.as_mut_ptr().cast::<u8>().add(misalign).cast::<i32>() };
    // SAFETY: `ptr..ptr+n` lies inside `storage`; unaligned writes are fine.
    unsafe {
        for (i, &v) in values.iter().enumerate() {
            ptr.add(i).write_unaligned(v);
        }
    }
    let mut s64: i64 = 0x5a5a;
    // SAFETY: `ptr` points to n ints (possibly misaligned, which mylib refuses).
    let status = unsafe { mylib_sum_i32(ptr, n, &mut s64) };
    if misalign != 0 && n > 0 {
        assert_eq!(status, MISALIGNED);
        assert_eq!(s64, 0x5a5a, "not written on failure");
        assert_slot(
            MISALIGNED,
            Some("data is not aligned to 4 bytes"),
            "mylib_sum_i32 misaligned",
        );
        // SAFETY: as above.
        assert_eq!(unsafe { sum_array(ptr, n as c_int) }, 0);
        assert_slot(
            MISALIGNED,
            Some("arr is not aligned to 4 bytes"),
            "sum_array misaligned",
        );
        return;
    }
    assert_eq!(status, OK);
    assert_eq!(i128::from(s64), exact, "mylib_sum_i32 is exact");
    assert_slot(OK, None, "mylib_sum_i32");
    // SAFETY: as above; n < 2^31 for any fuzz input.
    let wrapped = unsafe { sum_array(ptr, n as c_int) };
    assert_eq!(wrapped, exact as i32, "sum_array wraps the exact sum");
    if i32::try_from(exact).is_ok() {
        assert_slot(OK, None, "sum_array");
    } else {
        assert_slot(OVERFLOW, Some("integer overflow in sum_array"), "sum_array overflow");
    }
    if flags & 4 != 0 && n > 0 {
        // SAFETY: a negative length is refused before the pointer is read.
        assert_eq!(unsafe { sum_array(ptr, -(n as c_int)) }, 0);
        assert_slot(
            INVALID_LENGTH,
            Some(&format!("invalid length for size: -{n}")),
            "negative size",
        );
    }
    // SAFETY: aligned here (misalign == 0 or n == 0): a valid slice.
    let slice = unsafe { std::slice::from_raw_parts(if n == 0 { ptr::NonNull::dangling().as_ptr() } else { ptr }, n) };
    for p in Path::available() {
        assert_eq!(kernels::sum_i32_with(p, slice), Some(s64), "path {}", p.name());
    }
}

// ---------------------------------------------------------------- sum_f64

/// Doubles: `mylib_sum_f64` against the exact sum rounded once (the plain
/// big-integer reference), NaN and infinities included; `fast_sum`, every
/// kernel path and `mylib_sum_f64_strided` (the values reversed in place)
/// bit-identical to it; misaligned and NULL variants as the first byte says.
pub fn check_sum_f64(data: &[u8]) {
    let flags = data.first().copied().unwrap_or(0);
    let values: Vec<f64> = data
        .get(1..)
        .unwrap_or(&[])
        .chunks(8)
        .map(|c| f64::from_le_bytes(pad::<8>(c)))
        .collect();
    let n = values.len();
    let misalign = usize::from(flags & 7);
    let mut storage = vec![0f64; n + 1];
    // SAFETY: the byte offset stays inside `storage`, which has one spare double.
    let ptr = unsafe { storage.as_mut_ptr().cast::<u8>().add(misalign).cast::<f64>() };
    // SAFETY: `ptr..ptr+n` lies inside `storage`.
    unsafe {
        for (i, &v) in values.iter().enumerate() {
            ptr.add(i).write_unaligned(v);
        }
    }
    let want = exact::expected(&values);
    // Misaligned or not, the strided form reads the values where they lie:
    // reversed, from the last one.
    if n > 0 {
        let mut rs = 0.125f64;
        let (shape, strides) = ([n], [-8isize]);
        // SAFETY: the layout names exactly the `n` values at `ptr`.
        let st = unsafe { mylib_sum_f64_strided(ptr.add(n - 1).cast(), 1, shape.as_ptr(), strides.as_ptr(), &mut rs) };
        assert!(st == OK || st == OVERFLOW, "strided status {st}");
        assert!(
            want.matches(if st == OK { Ok(rs) } else { Err(rs) }),
            "strided: {rs:e}, want {want:?}"
        );
    }
    let mut r = 0.25f64;
    // SAFETY: as for the ints.
    let status = unsafe { mylib_sum_f64(ptr, n, &mut r) };
    if misalign != 0 && n > 0 {
        assert_eq!(status, MISALIGNED);
        assert_eq!(r, 0.25, "not written on failure");
        assert_slot(
            MISALIGNED,
            Some("data is not aligned to 8 bytes"),
            "mylib_sum_f64 misaligned",
        );
        return;
    }
    let got = match status {
        OK => {
            assert_slot(OK, None, "mylib_sum_f64");
            Ok(r)
        }
        OVERFLOW => {
            assert_slot(OVERFLOW, Some(&sum_overflow("mylib_sum_f64")), "mylib_sum_f64");
            Err(r)
        }
        other => panic!("mylib_sum_f64 status {other}"),
    };
    assert!(want.matches(got), "mylib_sum_f64 of {n} values: {got:?}, want {want:?}");
    let mut r2 = 0.5f64;
    // SAFETY: a valid array and out-pointer.
    unsafe { fast_sum(ptr, n as c_int, &mut r2) };
    assert!(same(r2, r), "fast_sum {r2:e} vs mylib_sum_f64 {r:e}");
    assert_eq!(mylib_last_error(), status, "fast_sum's slot");
    for p in Path::available() {
        let got = kernels::sum_f64_with(p, &values).map_err(|o| o.0);
        assert!(want.matches(got), "path {}: {got:?}", p.name());
    }
    if flags & 8 != 0 {
        // NULL data with a length, NULL result: refused, nothing written.
        let mut r3 = 0.75f64;
        // SAFETY: the documented NULL cases.
        unsafe { fast_sum(ptr::null(), n.max(1) as c_int, &mut r3) };
        assert_eq!(r3, 0.75);
        assert_slot(NULL_POINTER, Some("data must not be NULL"), "fast_sum NULL data");
        // SAFETY: as above.
        unsafe { fast_sum(ptr, n as c_int, ptr::null_mut()) };
        assert_slot(NULL_POINTER, Some("result must not be NULL"), "fast_sum NULL result");
    }
}

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn sum_overflow(func: &str) -> String {
    format!("the exact sum in {func} is beyond the range of double (it rounds to an infinity)")
}

// ---------------------------------------------------------------- the exact sum as a state

/// One `mylib_exact_sum` of the model, and what it holds: the reference sum
/// and count of the values added (`None` once it holds a state read from
/// corrupted bytes, whose values nobody knows).
struct Slot {
    acc: *mut mylib_exact_sum,
    values: Option<(exact::Reference, u64)>,
}

fn fresh() -> Option<(exact::Reference, u64)> {
    Some((exact::Reference::default(), 0))
}

fn record(slot: &mut Slot, vals: &[f64]) {
    if let Some((r, n)) = slot.values.as_mut() {
        vals.iter().for_each(|&x| r.add(x));
        *n += vals.len() as u64;
    }
}

/// The exact-sum states driven by a call sequence decoded from the input,
/// against a model that keeps every value added: after each call the status,
/// the slot, the count and the result (the big-integer reference) match;
/// merges, resets and byte round trips keep them; every corruption of the
/// bytes is a clear status or a state that serialises back to the same
/// bytes — never a crash.
pub fn check_exact_sum(data: &[u8]) {
    let mut input = Input::new(data);
    let mut slots: Vec<Slot> = Vec::new();
    for _ in 0..3 {
        let mut acc = ptr::null_mut();
        // SAFETY: a valid out-pointer.
        assert_eq!(unsafe { mylib_exact_sum_new(&mut acc) }, OK);
        slots.push(Slot { acc, values: fresh() });
    }
    for step in 0..48 {
        if input.is_empty() {
            break;
        }
        let op = input.u8() % 8;
        let i = usize::from(input.u8()) % slots.len();
        let j = usize::from(input.u8()) % slots.len();
        let ctx = format!("step {step} op {op} on {i}/{j}");
        // SAFETY (every call below): live states of `slots`, valid slices,
        // buffers and out-pointers.
        unsafe {
            match op {
                0 => {
                    let n = usize::from(input.u8()) * 4;
                    let vals: Vec<f64> = (0..n).map(|_| input.f64()).collect();
                    assert_eq!(mylib_exact_sum_add(slots[i].acc, vals.as_ptr(), n), OK, "{ctx}");
                    record(&mut slots[i], &vals);
                }
                1 => {
                    let x = input.f64();
                    assert_eq!(mylib_exact_sum_add_value(slots[i].acc, x), OK, "{ctx}");
                    record(&mut slots[i], &[x]);
                }
                2 => {
                    // A strided view: every `step`-th value, reversed or not.
                    let n = usize::from(input.u8());
                    let k = usize::from(input.u8() % 4) + 1;
                    let vals: Vec<f64> = (0..n * k).map(|_| input.f64()).collect();
                    let reversed = input.u8() & 1 == 1;
                    let picked: Vec<f64> = vals.iter().copied().step_by(k).collect();
                    let stride = (8 * k) as isize;
                    let (first, stride) = match (reversed, picked.len()) {
                        (true, m) if m > 0 => (vals.as_ptr().add((m - 1) * k), -stride),
                        _ => (vals.as_ptr(), stride),
                    };
                    let (shape, strides) = ([picked.len()], [stride]);
                    let st =
                        mylib_exact_sum_add_strided(slots[i].acc, first.cast(), 1, shape.as_ptr(), strides.as_ptr());
                    assert_eq!(st, OK, "{ctx}");
                    record(&mut slots[i], &picked);
                }
                3 => {
                    assert_eq!(mylib_exact_sum_merge(slots[i].acc, slots[j].acc), OK, "{ctx}");
                    let other = slots[j].values.clone();
                    match (slots[i].values.as_mut(), other) {
                        (Some((r, n)), Some((o, m))) => {
                            r.merge(&o);
                            *n += m;
                        }
                        _ => slots[i].values = None,
                    }
                }
                4 => {
                    assert_eq!(mylib_exact_sum_reset(slots[i].acc), OK, "{ctx}");
                    slots[i].values = fresh();
                }
                5 | 6 => {
                    // Through bytes, corrupted at one place or not.
                    let mut b = [0u8; MYLIB_EXACT_SUM_BYTES];
                    assert_eq!(
                        mylib_exact_sum_to_bytes(slots[j].acc, b.as_mut_ptr(), b.len()),
                        OK,
                        "{ctx}"
                    );
                    let corrupt = op == 6;
                    let mut len = b.len();
                    if corrupt {
                        let at = usize::from(input.u8()) + usize::from(input.u8());
                        match input.u8() % 3 {
                            0 => b[at % b.len()] ^= input.u8().max(1),
                            1 => len = at % b.len(),
                            _ => b[at % b.len()] = input.u8(),
                        }
                    }
                    let mut acc = ptr::null_mut();
                    let st = mylib_exact_sum_from_bytes(b.as_ptr(), len, &mut acc);
                    if st == OK {
                        let mut back = [0u8; MYLIB_EXACT_SUM_BYTES];
                        assert_eq!(mylib_exact_sum_to_bytes(acc, back.as_mut_ptr(), back.len()), OK);
                        assert_eq!(back[..], b[..len], "{ctx}: canonical bytes");
                        // Compared with slot j before slot i is freed: they
                        // may be the same state.
                        let unchanged = len == b.len() && {
                            let mut orig = [0u8; MYLIB_EXACT_SUM_BYTES];
                            mylib_exact_sum_to_bytes(slots[j].acc, orig.as_mut_ptr(), orig.len());
                            orig == b
                        };
                        let values = if unchanged { slots[j].values.clone() } else { None };
                        mylib_exact_sum_free(slots[i].acc);
                        slots[i] = Slot { acc, values };
                    } else {
                        assert!(corrupt, "{ctx}: intact bytes refused ({st})");
                        assert!(acc.is_null(), "{ctx}: written on failure");
                        assert!(st == BAD_FORMAT || st == UNSUPPORTED_VERSION, "{ctx}: status {st}");
                        assert_eq!(mylib_last_error(), st);
                    }
                }
                _ => {
                    // Free and make anew.
                    mylib_exact_sum_free(slots[i].acc);
                    assert_eq!(mylib_exact_sum_new(&mut slots[i].acc), OK);
                    slots[i].values = fresh();
                }
            }
            check_slot(&slots[i], &ctx);
        }
    }
    for slot in slots {
        // SAFETY: each state is freed once.
        unsafe { mylib_exact_sum_free(slot.acc) };
    }
}

/// A state's count and result against the model.
fn check_slot(slot: &Slot, ctx: &str) {
    let mut r = 0.0f64;
    let mut count = 0u64;
    // SAFETY: a live state and valid out-pointers.
    let (st, cs) = unsafe {
        (
            mylib_exact_sum_result(slot.acc, &mut r),
            mylib_exact_sum_count(slot.acc, &mut count),
        )
    };
    assert_eq!(cs, OK);
    assert!(st == OK || st == OVERFLOW, "{ctx}: result status {st}");
    if let Some((reference, n)) = &slot.values {
        assert_eq!(count, *n, "{ctx}: count");
        let want = reference.expected();
        assert!(
            want.matches(if st == OK { Ok(r) } else { Err(r) }),
            "{ctx}: {r:e} ({st}), want {want:?}"
        );
    } else if st == OVERFLOW {
        assert!(r.is_infinite(), "{ctx}: overflow gives an infinity");
    }
}

// ---------------------------------------------------------------- strings

/// The string functions: the greeting (owned string, stdout line, status
/// twin), print_point, status strings, and the debug log's quoting of the
/// name, each against a reference.
pub fn check_strings(data: &[u8]) {
    let mut input = Input::new(data);
    let flags = input.u8();
    let x = input.i32();
    let y = input.i32();
    let code = input.i32();
    let name = input.c_string(usize::MAX);
    let name_bytes = name.as_bytes();

    // mylib_greeting: an owned copy, freed by mylib.
    let mut out: *mut c_char = ptr::null_mut();
    // SAFETY: a valid C string and out-pointer.
    assert_eq!(unsafe { mylib_greeting(name.as_ptr(), &mut out) }, OK);
    assert_slot(OK, None, "mylib_greeting");
    // SAFETY: returned by mylib_greeting; freed once below.
    assert_eq!(unsafe { CStr::from_ptr(out) }.to_bytes(), greeting_bytes(name_bytes));
    // SAFETY: as above.
    unsafe { mylib_string_free(out) };

    // greet and mylib_greet: the same text and a newline on C's stdout.
    let line = [greeting_bytes(name_bytes), b"\n".to_vec()].concat();
    let cap = Capture::begin(1);
    // SAFETY: a valid C string.
    unsafe { greet(name.as_ptr()) };
    let code_greet = mylib_last_error();
    // SAFETY: as above.
    let status = unsafe { mylib_greet(name.as_ptr()) };
    let written = cap.finish();
    assert_eq!(code_greet, OK, "greet");
    assert_eq!(status, OK, "mylib_greet");
    assert_eq!(written, [line.clone(), line].concat(), "greet + mylib_greet output");

    // print_point / mylib_print_point.
    let p = Point { x, y };
    let cap = Capture::begin(1);
    // SAFETY: a valid Point.
    unsafe { print_point(&p) };
    // SAFETY: as above.
    let status = unsafe { mylib_print_point(&p) };
    let written = cap.finish();
    assert_eq!(status, OK);
    let want = format!("Point({x}, {y})\n");
    assert_eq!(written, [want.as_bytes(), want.as_bytes()].concat());

    // Status strings: static, never NULL, the header's list, slot untouched.
    // SAFETY: the documented NULL case, to put something in the slot.
    unsafe { greet(ptr::null()) };
    // SAFETY: never NULL, static.
    let s = unsafe { CStr::from_ptr(mylib_status_str(code)) }.to_str().unwrap();
    let want = usize::try_from(code).ok().and_then(|i| DESCRIPTIONS.get(i)).copied();
    assert_eq!(
        s,
        want.unwrap_or("unknown mylib status code"),
        "mylib_status_str({code})"
    );
    assert_slot(
        NULL_POINTER,
        Some("name must not be NULL"),
        "status_str leaves the slot",
    );

    // The debug log quotes the name like Rust's {:?} of the lossy text.
    if flags & 1 != 0 {
        let mut out: *mut c_char = ptr::null_mut();
        let cap = Capture::begin(2);
        set_debug(1);
        // SAFETY: a valid C string and out-pointer.
        let status = unsafe { mylib_greeting(name.as_ptr(), &mut out) };
        set_debug(0);
        let log = cap.finish();
        assert_eq!(status, OK);
        // SAFETY: returned by mylib_greeting, freed once.
        unsafe { mylib_string_free(out) };
        let log = String::from_utf8(log).expect("the log is UTF-8");
        let line = log.lines().nth(1).expect("a line for mylib_greeting");
        let want = format!("mylib: mylib_greeting({}, {:p}) -> 0", quoted(name_bytes), &raw mut out);
        assert_eq!(line, want, "debug line");
    }
}

// ---------------------------------------------------------------- the tutorial surface, as a call sequence

/// Which pointer to pass: NULL, misaligned, or valid.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Ptr {
    Null,
    Misaligned,
    Valid,
}

fn ptr_kind(b: u8) -> Ptr {
    match b % 8 {
        0 => Ptr::Null,
        1 => Ptr::Misaligned,
        _ => Ptr::Valid,
    }
}

/// A pointer of kind `k` to a `T` inside `cell` (8-byte aligned storage).
fn out_ptr<T>(k: Ptr, cell: &mut [u64; 4]) -> *mut T {
    match k {
        Ptr::Null => ptr::null_mut(),
        // SAFETY: one byte into a 32-byte buffer: in bounds, never aligned for T (align > 1).
        Ptr::Misaligned => unsafe { cell.as_mut_ptr().cast::<u8>().add(1).cast() },
        Ptr::Valid => cell.as_mut_ptr().cast(),
    }
}

unsafe extern "C" fn cb_square(x: c_int) -> c_int {
    x.wrapping_mul(x)
}

/// Fails inside (a mylib call that sets the slot), then succeeds.
unsafe extern "C" fn cb_fails_inside(x: c_int) -> c_int {
    // SAFETY: the documented NULL case.
    unsafe { sum_array(ptr::null(), 3) };
    x.wrapping_add(1)
}

/// Calls `add` inside: that may overflow, which must not leak out.
unsafe extern "C" fn cb_reentrant(x: c_int) -> c_int {
    add(x, 1)
}

unsafe extern "C" fn ud_double(ud: *mut c_void, v: c_int, out: *mut c_int) -> c_int {
    // SAFETY: `ud` is the sequence's call counter; `out` is mylib's local.
    unsafe {
        *ud.cast::<u32>() += 1;
        *out = v.wrapping_mul(2);
    }
    0
}

unsafe extern "C" fn ud_refuse(ud: *mut c_void, v: c_int, _out: *mut c_int) -> c_int {
    // SAFETY: the counter, as above.
    unsafe { *ud.cast::<u32>() += 1 };
    // A failing mylib call first: the outer status must be the callback's.
    let mut s: c_int = 0;
    // SAFETY: valid out-pointer.
    unsafe { mylib_add(c_int::MAX, 1, &mut s) };
    v | 1
}

unsafe extern "C" fn ud_fails_inside(ud: *mut c_void, v: c_int, out: *mut c_int) -> c_int {
    // SAFETY: the counter and mylib's local, as above.
    unsafe {
        *ud.cast::<u32>() += 1;
        greet(ptr::null());
        *out = v;
    }
    0
}

/// What a call should leave in the slot, and the name its log line starts with.
struct Expect {
    code: c_int,
    message: Option<String>,
    func: &'static str,
}

impl Expect {
    fn ok(func: &'static str) -> Self {
        Expect {
            code: OK,
            message: None,
            func,
        }
    }
    fn err(func: &'static str, code: c_int, message: impl Into<String>) -> Self {
        Expect {
            code,
            message: Some(message.into()),
            func,
        }
    }
}

/// Runs one call decoded from `input`, checks its result, and returns what
/// the slot should say (`None` for calls that must not touch it).
fn one_call(input: &mut Input<'_>, calls: &mut u32) -> Option<Expect> {
    let op = input.u8() % 14;
    let mut cell = [0u64; 4];
    let e = match op {
        0 => {
            let (a, b) = (input.i32(), input.i32());
            let r = add(a, b);
            assert_eq!(r, a.wrapping_add(b), "add({a}, {b})");
            // Then its packed twin, whose slot and log line are the last.
            let packed = mylib_add_packed(a, b);
            match a.checked_add(b) {
                Some(s) => {
                    assert_eq!(packed, i64::from(s), "mylib_add_packed({a}, {b})");
                    Expect::ok("mylib_add_packed")
                }
                None => {
                    let fail = MYLIB_PACKED_FAIL_BASE + i64::from(OVERFLOW);
                    assert_eq!(packed, fail, "mylib_add_packed({a}, {b})");
                    Expect::err("mylib_add_packed", OVERFLOW, "integer overflow in add")
                }
            }
        }
        1 => {
            let (a, b, k) = (input.i32(), input.i32(), ptr_kind(input.u8()));
            let out = out_ptr::<c_int>(k, &mut cell);
            // SAFETY: NULL, misaligned (refused) or valid.
            let status = unsafe { mylib_add(a, b, out) };
            let e = match (k, a.checked_add(b)) {
                (Ptr::Null, _) => Expect::err("mylib_add", NULL_POINTER, "sum_out must not be NULL"),
                (Ptr::Misaligned, _) => Expect::err("mylib_add", MISALIGNED, "sum_out is not aligned to 4 bytes"),
                (Ptr::Valid, Some(s)) => {
                    assert_eq!(cell[0] as u32 as i32, s);
                    Expect::ok("mylib_add")
                }
                (Ptr::Valid, None) => Expect::err("mylib_add", OVERFLOW, "integer overflow in add"),
            };
            if e.code != OK {
                assert_eq!(cell, [0; 4], "mylib_add wrote on failure");
            }
            assert_eq!(status, e.code);
            e
        }
        2 | 3 => {
            // sum_array (2) / mylib_sum_i32 (3) with NULL, negative, misaligned or valid input.
            let n = usize::from(input.u8() % 40);
            let vals: Vec<i32> = (0..n).map(|_| input.i32()).collect();
            let kind = input.u8();
            let exact = exact::sum_i128(&vals);
            let mut buf = vec![0i32; n + 1];
            buf[..n].copy_from_slice(&vals);
            let base = buf.as_ptr();
            let (arr, what) = match kind % 6 {
                0 => (ptr::null(), Ptr::Null),
                // SAFETY: one byte into `buf`, which has a spare int.
                1 => (unsafe { base.cast::<u8>().add(1).cast::<i32>() }, Ptr::Misaligned),
                _ => (base, Ptr::Valid),
            };
            if op == 2 {
                let size = if kind % 6 == 2 && n > 0 {
                    -(n as c_int)
                } else {
                    n as c_int
                };
                // SAFETY: NULL/misaligned/negative are refused; valid is `n` ints.
                let r = unsafe { sum_array(arr, size) };
                if size < 0 {
                    assert_eq!(r, 0);
                    Expect::err("sum_array", INVALID_LENGTH, format!("invalid length for size: {size}"))
                } else if n > 0 && what == Ptr::Null {
                    assert_eq!(r, 0);
                    Expect::err("sum_array", NULL_POINTER, "arr must not be NULL")
                } else if n > 0 && what == Ptr::Misaligned {
                    assert_eq!(r, 0);
                    Expect::err("sum_array", MISALIGNED, "arr is not aligned to 4 bytes")
                } else {
                    let r_want = if n == 0 { 0 } else { exact as i32 };
                    assert_eq!(r, r_want);
                    if n == 0 || i32::try_from(exact).is_ok() {
                        Expect::ok("sum_array")
                    } else {
                        Expect::err("sum_array", OVERFLOW, "integer overflow in sum_array")
                    }
                }
            } else {
                let ok_kind = ptr_kind(input.u8());
                let out = out_ptr::<i64>(ok_kind, &mut cell);
                // SAFETY: as above; the out-pointer NULL/misaligned/valid.
                let status = unsafe { mylib_sum_i32(arr, n, out) };
                let e = match ok_kind {
                    Ptr::Null => Expect::err("mylib_sum_i32", NULL_POINTER, "sum_out must not be NULL"),
                    Ptr::Misaligned => Expect::err("mylib_sum_i32", MISALIGNED, "sum_out is not aligned to 8 bytes"),
                    Ptr::Valid if n > 0 && what == Ptr::Null => {
                        Expect::err("mylib_sum_i32", NULL_POINTER, "data must not be NULL")
                    }
                    Ptr::Valid if n > 0 && what == Ptr::Misaligned => {
                        Expect::err("mylib_sum_i32", MISALIGNED, "data is not aligned to 4 bytes")
                    }
                    Ptr::Valid => {
                        let want = if n == 0 { 0 } else { exact };
                        assert_eq!(i128::from(cell[0] as i64), want);
                        Expect::ok("mylib_sum_i32")
                    }
                };
                if e.code != OK {
                    assert_eq!(cell, [0; 4], "mylib_sum_i32 wrote on failure");
                }
                assert_eq!(status, e.code);
                e
            }
        }
        4 | 5 => {
            // fast_sum (4) / mylib_sum_f64 (5).
            let n = usize::from(input.u8() % 40);
            let vals: Vec<f64> = (0..n).map(|_| input.f64()).collect();
            let k = ptr_kind(input.u8());
            let out = out_ptr::<f64>(k, &mut cell);
            let null_data = input.u8().is_multiple_of(5);
            let data = if null_data { ptr::null() } else { vals.as_ptr() };
            // SAFETY: valid `n` doubles or NULL; the out-pointer NULL/misaligned/valid.
            let (status, func, out_name) = unsafe {
                if op == 4 {
                    fast_sum(data, n as c_int, out);
                    (mylib_last_error(), "fast_sum", "result")
                } else {
                    (mylib_sum_f64(data, n, out), "mylib_sum_f64", "sum_out")
                }
            };
            let e = match k {
                Ptr::Null => Expect::err(func, NULL_POINTER, format!("{out_name} must not be NULL")),
                Ptr::Misaligned => Expect::err(func, MISALIGNED, format!("{out_name} is not aligned to 8 bytes")),
                Ptr::Valid if null_data && n > 0 => Expect::err(func, NULL_POINTER, "data must not be NULL"),
                Ptr::Valid => {
                    let r = f64::from_bits(cell[0]);
                    let d: &[f64] = if null_data { &[] } else { &vals };
                    let want = exact::expected(d);
                    if want.matches(Ok(r)) {
                        Expect::ok(func)
                    } else {
                        assert!(want.matches(Err(r)), "{func}: {r:e}, want {want:?}");
                        Expect::err(func, OVERFLOW, sum_overflow(func))
                    }
                }
            };
            if e.code != OK && e.code != OVERFLOW {
                assert_eq!(cell, [0; 4], "{func} wrote on failure");
            }
            assert_eq!(status, e.code);
            e
        }
        6 => {
            let (which, v) = (input.u8() % 4, input.i32());
            let (f, want): (callback_t, c_int) = match which {
                0 => (None, 0),
                1 => (Some(cb_square), v.wrapping_mul(v)),
                2 => (Some(cb_fails_inside), v.wrapping_add(1)),
                _ => (Some(cb_reentrant), v.wrapping_add(1)),
            };
            // SAFETY: the callbacks above or NULL.
            let r = unsafe { process(f, v) };
            assert_eq!(r, want, "process callback {which}");
            if f.is_none() {
                Expect::err("process", MISSING_CALLBACK, "func must not be NULL (no callback given)")
            } else {
                Expect::ok("process")
            }
        }
        7 => {
            let (which, v, k) = (input.u8() % 4, input.i32(), ptr_kind(input.u8()));
            let out = out_ptr::<c_int>(k, &mut cell);
            let f: mylib_callback_fn = match which {
                0 => None,
                1 => Some(ud_double),
                2 => Some(ud_refuse),
                _ => Some(ud_fails_inside),
            };
            let before = *calls;
            // SAFETY: the callbacks above or NULL; `calls` outlives the call.
            let status = unsafe { mylib_process(f, (calls as *mut u32).cast(), v, out) };
            let called = *calls - before;
            let e = match (which, k) {
                (0, _) => Expect::err(
                    "mylib_process",
                    MISSING_CALLBACK,
                    "func must not be NULL (no callback given)",
                ),
                (_, Ptr::Null) => Expect::err("mylib_process", NULL_POINTER, "result_out must not be NULL"),
                (_, Ptr::Misaligned) => {
                    Expect::err("mylib_process", MISALIGNED, "result_out is not aligned to 4 bytes")
                }
                (2, Ptr::Valid) => Expect::err(
                    "mylib_process",
                    CALLBACK_FAILED,
                    format!("callback failed with status {}", v | 1),
                ),
                (1, Ptr::Valid) => {
                    assert_eq!(cell[0] as u32 as i32, v.wrapping_mul(2));
                    Expect::ok("mylib_process")
                }
                (_, Ptr::Valid) => {
                    assert_eq!(cell[0] as u32 as i32, v);
                    Expect::ok("mylib_process")
                }
            };
            let want_called = u32::from(which != 0 && k == Ptr::Valid);
            assert_eq!(called, want_called, "callback calls");
            if e.code != OK {
                assert_eq!(cell, [0; 4], "mylib_process wrote on failure");
            }
            assert_eq!(status, e.code);
            e
        }
        8 => {
            let null = input.u8().is_multiple_of(4);
            let twin = input.u8().is_multiple_of(2);
            let name = input.c_string(64);
            let p = if null { ptr::null() } else { name.as_ptr() };
            let cap = Capture::begin(1);
            // SAFETY: a valid C string or NULL.
            let status = unsafe {
                if twin {
                    mylib_greet(p)
                } else {
                    greet(p);
                    mylib_last_error()
                }
            };
            let written = cap.finish();
            let func = if twin { "mylib_greet" } else { "greet" };
            let e = if null {
                assert!(written.is_empty());
                Expect::err(func, NULL_POINTER, "name must not be NULL")
            } else {
                assert_eq!(written, [greeting_bytes(name.as_bytes()), b"\n".to_vec()].concat());
                Expect::ok(func)
            };
            assert_eq!(status, e.code);
            e
        }
        9 => {
            let (k, twin, x, y) = (
                ptr_kind(input.u8()),
                input.u8().is_multiple_of(2),
                input.i32(),
                input.i32(),
            );
            // A Point inside aligned storage, or one byte off.
            let pts = [Point { x, y }; 2];
            let p: *const Point = match k {
                Ptr::Null => ptr::null(),
                // SAFETY: one byte into a two-Point array: in bounds.
                Ptr::Misaligned => unsafe { pts.as_ptr().cast::<u8>().add(1).cast() },
                Ptr::Valid => &pts[0],
            };
            let cap = Capture::begin(1);
            // SAFETY: NULL, misaligned (refused) or a valid Point.
            let status = unsafe {
                if twin {
                    mylib_print_point(p)
                } else {
                    print_point(p);
                    mylib_last_error()
                }
            };
            let written = cap.finish();
            let func = if twin { "mylib_print_point" } else { "print_point" };
            let e = match k {
                Ptr::Null => Expect::err(func, NULL_POINTER, "p must not be NULL"),
                Ptr::Misaligned => Expect::err(func, MISALIGNED, "p is not aligned to 4 bytes"),
                Ptr::Valid => {
                    assert_eq!(written, format!("Point({x}, {y})\n").into_bytes());
                    Expect::ok(func)
                }
            };
            if e.code != OK {
                assert!(written.is_empty());
            }
            assert_eq!(status, e.code);
            e
        }
        10 => {
            let (null, k) = (input.u8().is_multiple_of(4), ptr_kind(input.u8()));
            let name = input.c_string(64);
            let out = out_ptr::<*mut c_char>(k, &mut cell);
            let p = if null { ptr::null() } else { name.as_ptr() };
            // SAFETY: a C string or NULL; the out-pointer NULL/misaligned/valid.
            let status = unsafe { mylib_greeting(p, out) };
            let e = match k {
                Ptr::Null => Expect::err("mylib_greeting", NULL_POINTER, "greeting_out must not be NULL"),
                Ptr::Misaligned => Expect::err("mylib_greeting", MISALIGNED, "greeting_out is not aligned to 8 bytes"),
                Ptr::Valid if null => Expect::err("mylib_greeting", NULL_POINTER, "name must not be NULL"),
                Ptr::Valid => {
                    let s = cell[0] as usize as *mut c_char;
                    // SAFETY: returned by mylib_greeting, freed once.
                    unsafe {
                        assert_eq!(CStr::from_ptr(s).to_bytes(), greeting_bytes(name.as_bytes()));
                        mylib_string_free(s);
                    }
                    Expect::ok("mylib_greeting")
                }
            };
            if e.code != OK {
                assert_eq!(cell, [0; 4], "mylib_greeting wrote on failure");
            }
            assert_eq!(status, e.code);
            e
        }
        11 => {
            // SAFETY: NULL is allowed.
            unsafe { mylib_string_free(ptr::null_mut()) };
            Expect::ok("mylib_string_free")
        }
        12 => {
            let v = input.i32();
            set_debug(v);
            assert_eq!(mylib_get_debug(), c_int::from(v != 0));
            Expect::ok("set_debug")
        }
        _ => {
            // Calls that never touch the slot.
            let code = input.i32();
            // SAFETY: static strings, never NULL.
            unsafe {
                let s = CStr::from_ptr(mylib_status_str(code)).to_str().unwrap();
                let want = usize::try_from(code).ok().and_then(|i| DESCRIPTIONS.get(i)).copied();
                assert_eq!(s, want.unwrap_or("unknown mylib status code"));
                assert_eq!(CStr::from_ptr(mylib_version()).to_str().unwrap(), mylib_cargo_version());
            }
            return None;
        }
    };
    Some(e)
}

/// The tutorial surface driven by a call sequence decoded from the input:
/// after every call, its result and the slot (code and message) match the
/// reference; with logging on, each call writes exactly one line to stderr,
/// naming the call and, on failure, its error.
pub fn check_sequence(data: &[u8]) {
    let mut input = Input::new(data);
    let mut calls = 0u32;
    // Start from a known state whatever ran before on this thread.
    set_debug(0);
    add(0, 0);
    let mut expected = Expect::ok("add");
    for step in 0..64 {
        if input.is_empty() {
            break;
        }
        let debug_on = mylib_get_debug() == 1;
        let cap = Capture::begin(2);
        let e = one_call(&mut input, &mut calls);
        let log = cap.finish();
        let log = String::from_utf8_lossy(&log);
        if let Some(e) = e {
            // set_debug logs itself only when it turns logging on.
            let logged = if e.func == "set_debug" {
                mylib_get_debug() == 1
            } else {
                debug_on
            };
            if logged {
                // A callback's own mylib calls log too (before the outer call's
                // line), and mylib_greeting's check frees the string (after it):
                // the outer call's line is the last one naming it.
                let head = format!("mylib: {}(", e.func);
                let line = log
                    .lines()
                    .rfind(|l| l.starts_with(&head))
                    .unwrap_or_else(|| panic!("step {step}: no log line for {} in {log:?}", e.func));
                // The error tag ends the line (a name may contain anything, in quotes).
                let tag = format!(" [error {}: ", e.code);
                match (&e.message, e.code) {
                    (_, OK) => assert!(!line.ends_with(']'), "step {step}: {line:?}"),
                    (Some(m), _) => assert!(line.ends_with(&format!("{tag}{m}]")), "step {step}: {line:?}"),
                    (None, _) => assert!(line.contains(&tag), "step {step}: {line:?}"),
                }
            } else {
                assert!(log.is_empty(), "step {step}: logged with debugging off: {log:?}");
            }
            expected = e;
        }
        assert_slot(
            expected.code,
            expected.message.as_deref(),
            &format!("step {step} ({})", expected.func),
        );
    }
    set_debug(0);
}
