//! The plumbing every export goes through, each kind in one place:
//! the panic boundary (which also clears and sets the last-error slot and
//! writes the debug log line), the pointer/length checks, and the
//! conversion of C integers to Rust lengths.

use std::any::Any;
use std::fmt::{self, Display};
use std::os::raw::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::debug;
use crate::error::{Error, MYLIB_PACKED_FAIL_BASE as PACKED_FAIL_BASE, MylibStatus, clear_last_error, set_last_error};
use crate::kernels::f64::Values;
use crate::kernels::strided::{Elements, Layout, MAX_NDIM};

/// A failed call: the error, and the value the C function returns anyway
/// (0 for most; the wrapped sum for an overflowing `add`/`sum_array`).
pub(crate) struct Failure<T> {
    pub error: Error,
    pub value: T,
}

impl<T: Default> From<Error> for Failure<T> {
    fn from(error: Error) -> Self {
        Failure {
            error,
            value: T::default(),
        }
    }
}

impl<T> From<(Error, T)> for Failure<T> {
    fn from((error, value): (Error, T)) -> Self {
        Failure { error, value }
    }
}

/// The message of a panic payload.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_owned()
    }
}

/// The one boundary every export's body runs inside.
///
/// Runs `body` catching any panic, then sets the calling thread's last-error
/// slot from the outcome: cleared on success — whatever mylib calls a user
/// callback made inside `body` — and recorded on failure. Logs the call when
/// debugging is on, and returns the C value. `args` gives the arguments for
/// the log (anything `Display`, so a long argument can be streamed rather than
/// copied) and is only called when logging is on.
pub(crate) fn boundary<T: Display + Default, A: Display>(
    name: &str,
    args: impl FnOnce() -> A,
    body: impl FnOnce() -> Result<T, Failure<T>>,
) -> T {
    boundary_with(name, args, T::default, body)
}

/// [`boundary`], returning `on_panic()` when `body` panics.
fn boundary_with<T: Display, A: Display>(
    name: &str,
    args: impl FnOnce() -> A,
    on_panic: impl FnOnce() -> T,
    body: impl FnOnce() -> Result<T, Failure<T>>,
) -> T {
    let outcome = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(outcome) => outcome,
        Err(payload) => {
            let error = Error::Panic(panic_message(payload.as_ref()));
            // Dropping a payload can itself panic; never let that unwind out.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            Err(Failure {
                error,
                value: on_panic(),
            })
        }
    };
    let (value, error) = match outcome {
        Ok(value) => {
            clear_last_error();
            (value, None)
        }
        Err(Failure { error, value }) => {
            set_last_error(&error);
            (value, Some(error))
        }
    };
    if debug::enabled() {
        log_call(name, &args(), &value, error.as_ref());
    }
    value
}

#[cold]
fn log_call(name: &str, args: &dyn Display, value: &dyn Display, error: Option<&Error>) {
    match error {
        None => debug::log(format_args!("{name}({args}) -> {value}")),
        Some(e) => debug::log(format_args!(
            "{name}({args}) -> {value} [error {}: {e}]",
            e.status() as c_int
        )),
    }
}

/// The result of a `void` C function, for the log line.
#[derive(Default)]
pub(crate) struct Void;

impl Display for Void {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("void")
    }
}

/// The boundary for `mylib_*` functions that return a status code: a panic
/// returns `MYLIB_ERR_PANIC` (not 0, which would read as success).
pub(crate) fn status_boundary<A: Display>(
    name: &str,
    args: impl FnOnce() -> A,
    body: impl FnOnce() -> Result<(), Error>,
) -> c_int {
    let on_panic = || MylibStatus::MylibErrPanic as c_int;
    boundary_with(name, args, on_panic, || {
        body().map(|()| MylibStatus::MylibOk as c_int).map_err(|error| {
            let value = error.status() as c_int;
            Failure { error, value }
        })
    })
}

/// The boundary for functions that return a value and their status in one
/// `int64_t` (`mylib_add_packed`): the value on success, else
/// `MYLIB_PACKED_FAIL_BASE + status` (below any 32-bit value); a panic is
/// `MYLIB_PACKED_FAIL_BASE + MYLIB_ERR_PANIC`.
pub(crate) fn packed_boundary<A: Display>(
    name: &str,
    args: impl FnOnce() -> A,
    body: impl FnOnce() -> Result<c_int, Error>,
) -> i64 {
    let packed = |status: MylibStatus| PACKED_FAIL_BASE + status as i64;
    boundary_with(
        name,
        args,
        || packed(MylibStatus::MylibErrPanic),
        || {
            body().map(i64::from).map_err(|error| {
                let value = packed(error.status());
                Failure { error, value }
            })
        },
    )
}

/// A C `int` length as a `usize`: negative is `InvalidLength`.
pub(crate) fn length(len: c_int, name: &'static str) -> Result<usize, Error> {
    usize::try_from(len).map_err(|_| Error::InvalidLength { name, len: len.into() })
}

/// The one pointer check: NULL is `NullPointer`, misaligned for `T` is `Misaligned`.
fn check_ptr<T>(ptr: *const T, name: &'static str) -> Result<(), Error> {
    if ptr.is_null() {
        Err(Error::NullPointer(name))
    } else if !ptr.is_aligned() {
        Err(Error::Misaligned {
            name,
            align: align_of::<T>(),
        })
    } else {
        Ok(())
    }
}

/// Turns a required C pointer to one `T` into a reference (see `check_ptr`).
///
/// # Safety
/// A non-NULL, aligned `ptr` must point to a valid `T` that is not written by
/// anyone else for `'a`.
pub(crate) unsafe fn reference<'a, T>(ptr: *const T, name: &'static str) -> Result<&'a T, Error> {
    check_ptr(ptr, name)?;
    // SAFETY: checked non-NULL and aligned; validity is the caller's guarantee.
    Ok(unsafe { &*ptr })
}

/// Turns a C `(pointer, length)` pair into a slice.
///
/// A length of 0 is the empty slice whatever the pointer (it is never read:
/// `(NULL, 0)` is the usual spelling); NULL with a length is `NullPointer`; a
/// pointer not aligned for `T` is `Misaligned`; a length whose byte size
/// exceeds `isize::MAX` is `InvalidLength`.
///
/// # Safety
/// A non-NULL `ptr` must point to `len` initialised `T`s that stay valid and
/// are not written by anyone else for `'a`.
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, len: usize, name: &'static str) -> Result<&'a [T], Error> {
    if len == 0 {
        return Ok(&[]);
    }
    check_ptr(ptr, name)?;
    if len
        .checked_mul(size_of::<T>())
        .is_none_or(|bytes| bytes > isize::MAX as usize)
    {
        return Err(Error::InvalidLength { name, len: len as i128 });
    }
    // SAFETY: non-NULL, aligned, size within isize::MAX, and the caller
    // guarantees `len` valid elements for 'a.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A checked, non-NULL, aligned out-pointer. Writing through it is the last
/// thing an export does, after all borrows of its inputs have ended, so an
/// out-pointer that aliases an input is still well defined.
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    /// Checks `ptr` (see `check_ptr`).
    pub(crate) fn new(ptr: *mut T, name: &'static str) -> Result<Self, Error> {
        check_ptr(ptr, name).map(|()| Out(ptr))
    }

    /// Stores `value`.
    ///
    /// # Safety
    /// The pointer given to `new` must be valid for a write of `T`.
    pub(crate) unsafe fn write(self, value: T) {
        // SAFETY: checked non-NULL and aligned in `new`; validity is the
        // caller's guarantee.
        unsafe { self.0.write(value) }
    }
}

/// Moves `value` into a new heap allocation for C to own, or `NoMemory` when
/// the allocation fails (never an abort of the host).
pub(crate) fn try_box<T>(value: T, what: &'static str) -> Result<Box<T>, Error> {
    let layout = std::alloc::Layout::new::<T>();
    debug_assert!(layout.size() > 0);
    // SAFETY: `layout` has a non-zero size (checked above for every T used).
    let p = unsafe { std::alloc::alloc(layout) }.cast::<T>();
    if p.is_null() {
        return Err(Error::NoMemory {
            what,
            bytes: layout.size(),
        });
    }
    // SAFETY: `p` is a fresh allocation of T's layout: writing a T there and
    // owning it as a Box (which frees with the same global allocator and
    // layout) is what Box::new does.
    unsafe {
        p.write(value);
        Ok(Box::from_raw(p))
    }
}

/// An n-dimensional array of doubles given by C: `data` points to the value
/// at index `(0, …, 0)`, `shape[k]` values along dimension `k`, `strides[k]`
/// bytes apart (any sign, any alignment). Turned into the sum's [`Values`]:
/// a slice when the array is one contiguous, aligned run, else an
/// [`Elements`] reading the caller's memory value by value.
///
/// `ndim` 0 is a single value. Errors: more than `MAX_NDIM` dimensions, a
/// number of values that overflows, or an extent that overflows the address
/// space: `InvalidLength`; NULL `shape` or `strides` with `ndim > 0`, or NULL
/// `data` with values to read: `NullPointer`; a misaligned `shape` or
/// `strides` array: `Misaligned`.
///
/// # Safety
/// `shape` and `strides` are NULL or point to `ndim` readable elements; every
/// value the layout names (`data + Σ i_k · strides[k]`) is a readable
/// double that nobody writes during `'a`.
pub(crate) unsafe fn strided<'a>(
    data: *const std::ffi::c_void,
    ndim: usize,
    shape: *const usize,
    strides: *const isize,
    storage: &'a mut Option<RawArray>,
) -> Result<Values<'a>, Error> {
    if ndim > MAX_NDIM {
        return Err(Error::InvalidLength {
            name: "ndim",
            len: ndim as i128,
        });
    }
    // SAFETY: the caller guarantees `ndim` readable elements or NULL.
    let (shape, strides) = unsafe { (slice(shape, ndim, "shape")?, slice(strides, ndim, "strides")?) };
    let layout = Layout::new(shape, strides, size_of::<f64>())?;
    if layout.is_empty() {
        return Ok(Values::Slice(&[]));
    }
    if data.is_null() {
        return Err(Error::NullPointer("data"));
    }
    // The lowest and the highest address read must not wrap around.
    let too_far = || Error::InvalidLength {
        name: "strides",
        len: 0,
    };
    let low = (data as usize).checked_add_signed(layout.offset).ok_or_else(too_far)?;
    low.checked_add(layout.span).ok_or_else(too_far)?;
    let first = data.cast::<u8>().wrapping_offset(layout.offset);
    if layout.is_contiguous(size_of::<f64>()) && first.cast::<f64>().is_aligned() {
        // SAFETY: one run of `len` consecutive doubles at an aligned address,
        // its size within isize::MAX (checked by Layout), readable and not
        // written during 'a per the caller's guarantee.
        return Ok(Values::Slice(unsafe {
            std::slice::from_raw_parts(first.cast::<f64>(), layout.len())
        }));
    }
    let array = storage.insert(RawArray { first, layout });
    Ok(Values::Elements(array))
}

/// The values of a C array that is not one aligned run, read in place
/// (see [`strided`]).
pub(crate) struct RawArray {
    /// The lowest address of the array; the layout's offsets are relative to
    /// `first - layout.offset`.
    first: *const u8,
    layout: Layout,
}

// SAFETY: a RawArray only reads memory that its creator (`strided`'s caller)
// guarantees readable and unwritten for as long as the RawArray is used, so
// reading it from several threads at once is sound.
unsafe impl Sync for RawArray {}

impl Elements for RawArray {
    fn len(&self) -> usize {
        self.layout.len()
    }

    fn read(&self, start: usize, out: &mut [f64]) {
        let mut filled = 0;
        let base_offset = self.layout.offset;
        self.layout.runs(start, out.len(), |at, n, stride| {
            // `at - base_offset` is within [0, span): inside the array.
            let p = self.first.wrapping_offset(at - base_offset);
            let dest = &mut out[filled..filled + n];
            if stride == size_of::<f64>() {
                // SAFETY: `n` consecutive readable doubles at `p` (the
                // layout's run, guaranteed by `strided`'s caller), copied as
                // bytes so any alignment is fine, into `n` doubles of `out`.
                unsafe { std::ptr::copy_nonoverlapping(p, dest.as_mut_ptr().cast::<u8>(), n * size_of::<f64>()) };
            } else {
                for (i, d) in dest.iter_mut().enumerate() {
                    // SAFETY: value i of the run, at `p + i·stride` inside the
                    // array, readable per `strided`'s caller; unaligned read.
                    *d = unsafe { p.wrapping_add(i * stride).cast::<f64>().read_unaligned() };
                }
            }
            filled += n;
        });
    }
}

/// Formats a pointer for the debug log (`NULL` or hex).
pub(crate) fn ptr_arg<T>(p: *const T) -> String {
    if p.is_null() {
        "NULL".to_owned()
    } else {
        format!("{p:p}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_rules() {
        assert_eq!(length(0, "n"), Ok(0));
        assert_eq!(length(5, "n"), Ok(5));
        assert_eq!(length(-1, "n"), Err(Error::InvalidLength { name: "n", len: -1 }));
        assert_eq!(
            length(c_int::MIN, "n"),
            Err(Error::InvalidLength {
                name: "n",
                len: c_int::MIN.into()
            })
        );
    }

    #[test]
    fn slice_rules() {
        let data = [1i32, 2, 3];
        // SAFETY: valid pointers or the documented NULL cases.
        unsafe {
            assert_eq!(slice::<i32>(std::ptr::null(), 0, "d"), Ok(&[][..]));
            assert_eq!(slice::<i32>(std::ptr::null(), 1, "d"), Err(Error::NullPointer("d")));
            assert_eq!(slice(data.as_ptr(), 3, "d"), Ok(&data[..]));
            let odd = data.as_ptr().cast::<u8>().add(1).cast::<i32>();
            assert_eq!(slice(odd, 1, "d"), Err(Error::Misaligned { name: "d", align: 4 }));
            assert_eq!(slice(odd, 0, "d"), Ok(&[][..]), "length 0 never reads the pointer");
            assert!(matches!(
                slice(data.as_ptr(), usize::MAX / 2, "d"),
                Err(Error::InvalidLength { .. })
            ));
        }
    }

    #[test]
    fn reference_rules() {
        let v = [7i32, 8];
        // SAFETY: valid pointers or the documented NULL / misaligned cases.
        unsafe {
            assert_eq!(reference::<i32>(std::ptr::null(), "p"), Err(Error::NullPointer("p")));
            assert_eq!(reference(v.as_ptr(), "p"), Ok(&7));
            let odd = v.as_ptr().cast::<u8>().add(1).cast::<i32>();
            assert_eq!(reference(odd, "p"), Err(Error::Misaligned { name: "p", align: 4 }));
        }
    }

    #[test]
    fn out_rules() {
        assert!(matches!(
            Out::<f64>::new(std::ptr::null_mut(), "r"),
            Err(Error::NullPointer("r"))
        ));
        let mut x = 0.0f64;
        let out = Out::new(&mut x, "r").unwrap();
        // SAFETY: points to a live local.
        unsafe { out.write(2.5) };
        assert_eq!(x, 2.5);
    }

    #[test]
    fn boundary_catches_panics_and_sets_slot() {
        let v: c_int = boundary("t", String::new, || panic!("kaboom"));
        assert_eq!(v, 0);
        assert_eq!(crate::error::last_error_code(), MylibStatus::MylibErrPanic);
        let v: c_int = boundary("t", String::new, || Ok(7));
        assert_eq!(v, 7);
        assert_eq!(crate::error::last_error_code(), MylibStatus::MylibOk);
    }

    #[test]
    fn success_clears_what_the_body_left_behind() {
        // A callback inside the body made a failing mylib call: the outer
        // call still succeeded, so the slot says OK afterwards.
        let v: c_int = boundary("outer", String::new, || {
            let inner: c_int = boundary("inner", String::new, || Err(Error::Overflow("inner").into()));
            assert_eq!(crate::error::last_error_code(), MylibStatus::MylibErrOverflow);
            Ok(inner + 1)
        });
        assert_eq!(v, 1);
        assert_eq!(crate::error::last_error_code(), MylibStatus::MylibOk);
        // And a failing outer call reports its own error, not the inner one's.
        let v: c_int = boundary("outer", String::new, || {
            let _: c_int = boundary("inner", String::new, || Err(Error::Overflow("inner").into()));
            Err(Error::NullPointer("outer").into())
        });
        assert_eq!(v, 0);
        assert_eq!(crate::error::last_error_code(), MylibStatus::MylibErrNullPointer);
    }

    #[test]
    fn status_boundary_returns_panic_status() {
        let v = status_boundary("t", String::new, || panic!("kaboom"));
        assert_eq!(v, MylibStatus::MylibErrPanic as c_int);
        assert_eq!(crate::error::last_error_code(), MylibStatus::MylibErrPanic);
        assert_eq!(status_boundary("t", String::new, || Ok(())), 0);
    }

    #[test]
    fn packed_boundary_packs_value_status_and_panic() {
        let base = PACKED_FAIL_BASE;
        assert_eq!(
            packed_boundary("t", String::new, || Ok(c_int::MIN)),
            i64::from(c_int::MIN)
        );
        assert_eq!(crate::error::last_error_code(), MylibStatus::MylibOk);
        let v = packed_boundary("t", String::new, || Err(Error::NullPointer("p")));
        assert_eq!(v, base + MylibStatus::MylibErrNullPointer as i64);
        assert_eq!(crate::error::last_error_code(), MylibStatus::MylibErrNullPointer);
        let v = packed_boundary("t", String::new, || panic!("kaboom"));
        assert_eq!(v, base + MylibStatus::MylibErrPanic as i64);
        assert_eq!(crate::error::last_error_code(), MylibStatus::MylibErrPanic);
        // Every packed failure is below any C int, every success within.
        assert!(base + (MylibStatus::MylibErrNoMemory as i64) < i64::from(c_int::MIN));
    }
}
