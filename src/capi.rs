//! The C API: every exported function, and nothing else. Each one only
//! checks and converts its arguments, calls the safe core, and maps errors,
//! all inside `ffi::boundary`.
//!
//! The doc comments here are carried by cbindgen into `include/mylib.h`.

#![allow(non_camel_case_types)]

use std::ffi::{CStr, CString, c_char, c_int, c_void};

use crate::core;
use crate::debug;
use crate::error::{self, Error, MylibStatus};
use crate::ffi::{
    Out, Void, boundary, length, packed_boundary, ptr_arg, reference, slice, status_boundary, strided, try_box,
};
use crate::kernels::ExactSum;
use crate::parallel;
use crate::stdio::write_stdout;

/// A point with integer coordinates. Layout: two C `int`s, `x` then `y`,
/// no padding (checked at compile time in Rust and in the C tests).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Point {
    /// Horizontal coordinate.
    pub x: c_int,
    /// Vertical coordinate.
    pub y: c_int,
}

const _: () = assert!(size_of::<Point>() == 2 * size_of::<c_int>());
const _: () = assert!(align_of::<Point>() == align_of::<c_int>());
const _: () = assert!(std::mem::offset_of!(Point, x) == 0);
const _: () = assert!(std::mem::offset_of!(Point, y) == size_of::<c_int>());

/// The callback type of `process`: takes an `int`, returns an `int`.
pub type callback_t = Option<unsafe extern "C" fn(c_int) -> c_int>;

/// The callback type of `mylib_process`, the pattern of real C callback APIs.
///
/// `user_data` is the pointer given to `mylib_process`, passed through
/// untouched. The callback stores its result in `*result_out` and returns
/// 0 on success; any other return value means failure, and `mylib_process`
/// then returns `MYLIB_ERR_CALLBACK_FAILED` without writing its own
/// `*result_out`. A callback must not unwind (C++ exceptions, longjmp)
/// through mylib.
pub type mylib_callback_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, value: c_int, result_out: *mut c_int) -> c_int>;

/// A C string argument for the debug log, formatted from the caller's bytes
/// without a copy (a name may be as large as memory).
fn str_arg<'a>(p: *const c_char) -> debug::Quoted<'a> {
    // SAFETY: only called with pointers the export has accepted as C strings
    // (NULL or NUL-terminated), while the call is running.
    debug::Quoted((!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_bytes()))
}

/// Reads a required C string argument.
///
/// # Safety
/// A non-NULL `p` must point to a NUL-terminated string valid for `'a`.
unsafe fn c_str<'a>(p: *const c_char, name: &'static str) -> Result<&'a [u8], Error> {
    if p.is_null() {
        return Err(Error::NullPointer(name));
    }
    // SAFETY: non-NULL, NUL-terminated per the caller's guarantee.
    Ok(unsafe { CStr::from_ptr(p) }.to_bytes())
}

// ---------------------------------------------------------------------------
// The tutorial API: exact names and C signatures of the classic examples.
// Failures are reported through `mylib_last_error()`.
// ---------------------------------------------------------------------------

/// Returns `a + b`.
///
/// On overflow returns the two's-complement wrapped value (what a plain C
/// implementation gives in practice) and sets `MYLIB_ERR_OVERFLOW`.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn add(a: c_int, b: c_int) -> c_int {
    boundary("add", || format!("{a}, {b}"), || Ok(core::add(a, b)?))
}

/// Writes `Hello, <name>!` and a newline to stdout and flushes it.
///
/// `name` is written byte for byte as given, like `printf("%s")`: it need not
/// be UTF-8. Output goes through C's `stdout` stream, so it stays in order
/// with the caller's `printf`. NULL `name`: `MYLIB_ERR_NULL_POINTER`, nothing
/// written. Not enough memory for the line (a very long name):
/// `MYLIB_ERR_NO_MEMORY`, nothing written. A failed write (closed stdout,
/// broken pipe): `MYLIB_ERR_IO`; on Linux a broken pipe never raises
/// `SIGPIPE` in the caller. Thread-safe.
/// `mylib_greet` is the same, returning the status.
///
/// # Safety
/// `name` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn greet(name: *const c_char) {
    // SAFETY: the caller's guarantee, passed on.
    boundary(
        "greet",
        || str_arg(name),
        || unsafe { greet_body(name) }.map(|()| Void).map_err(Into::into),
    );
}

/// The work of `greet` and `mylib_greet`.
///
/// # Safety
/// `name` is NULL or a NUL-terminated string.
unsafe fn greet_body(name: *const c_char) -> Result<(), Error> {
    // SAFETY: the caller guarantees a C string or NULL.
    let mut line = core::greeting(unsafe { c_str(name, "name") }?, 1)?;
    line.push(b'\n');
    write_stdout(&line)
}

/// Writes `Point(<x>, <y>)` and a newline to stdout and flushes it.
///
/// NULL `p`: `MYLIB_ERR_NULL_POINTER`, nothing written; misaligned `p`:
/// `MYLIB_ERR_MISALIGNED`, nothing written; otherwise as `greet`.
/// `mylib_print_point` is the same, returning the status.
///
/// # Safety
/// `p` is NULL or points to a valid `Point`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn print_point(p: *const Point) {
    // SAFETY: the caller's guarantee, passed on.
    boundary(
        "print_point",
        || point_arg(p),
        || unsafe { print_point_body(p) }.map(|()| Void).map_err(Into::into),
    );
}

/// A `Point *` argument for the debug log: its value when it can be read.
fn point_arg(p: *const Point) -> String {
    // SAFETY: exports only pass pointers their caller guarantees to be NULL or
    // a valid Point; `reference` checks NULL and alignment before reading.
    match unsafe { reference(p, "p") } {
        Ok(q) => format!("Point({}, {})", q.x, q.y),
        Err(_) => ptr_arg(p),
    }
}

/// The work of `print_point` and `mylib_print_point`.
///
/// # Safety
/// `p` is NULL or points to a valid `Point`.
unsafe fn print_point_body(p: *const Point) -> Result<(), Error> {
    // SAFETY: the caller guarantees a valid Point or NULL; `reference` checks
    // NULL and alignment before reading.
    let q = unsafe { reference(p, "p") }?;
    write_stdout(format!("{}\n", core::point_text(q.x, q.y)).as_bytes())
}

/// Returns the sum of the `size` ints at `arr`.
///
/// `(NULL, 0)` is an empty array (sum 0, no error); with `size == 0` the pointer
/// is never read. NULL with `size > 0`:
/// `MYLIB_ERR_NULL_POINTER`, returns 0. `size < 0`: `MYLIB_ERR_INVALID_LENGTH`,
/// returns 0. When the exact sum does not fit an `int`: returns the wrapped
/// value and sets `MYLIB_ERR_OVERFLOW` (use `mylib_sum_i32` for the exact
/// 64-bit sum). Thread-safe. Large arrays are summed on several threads
/// (see `mylib_set_num_threads`); the result is exact either way.
///
/// # Safety
/// `arr` is NULL or points to `size` readable ints.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sum_array(arr: *const c_int, size: c_int) -> c_int {
    boundary(
        "sum_array",
        || format!("{}, {size}", ptr_arg(arr)),
        || {
            // SAFETY: the caller guarantees `size` readable ints or NULL.
            let data = unsafe { slice(arr, length(size, "size")?, "arr") }?;
            Ok(core::sum_i32_wrapping(data)?)
        },
    )
}

/// Returns `func(value)`.
///
/// NULL `func`: `MYLIB_ERR_MISSING_CALLBACK`, returns 0. The callback runs
/// on the calling thread and may call mylib itself.
///
/// # Safety
/// `func` is NULL or a function that is safe to call with `value` and does
/// not unwind.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn process(func: callback_t, value: c_int) -> c_int {
    let args = || {
        format!(
            "{}, {value}",
            func.map_or_else(|| "NULL".to_owned(), |f| format!("{:p}", f as *const ()))
        )
    };
    boundary("process", args, || {
        let func = func.ok_or(Error::MissingCallback("func"))?;
        // SAFETY: the caller guarantees `func` is callable with an int.
        Ok(unsafe { func(value) })
    })
}

/// Stores the sum of the `size` doubles at `data` in `*result`: the exact
/// sum rounded once to the nearest double, ties to even (the bits of
/// Python's `math.fsum` whenever that is finite), computed without
/// intermediate overflow (`1e308 + 1e308 - 1e308` is `1e308`).
///
/// Special values: a NaN gives NaN; `+inf` and `-inf` together give NaN; an
/// infinity alone gives it, whatever the finite values. An exact sum beyond
/// the range of double stores the infinity of its sign and sets
/// `MYLIB_ERR_OVERFLOW`. The empty sum, and an exact zero, are `+0.0`.
///
/// Being the correctly rounded exact sum, the result is the same bits for
/// every order of the values, SIMD path (AVX-512, AVX2, NEON or portable,
/// picked at run time; `MYLIB_KERNEL=portable` or `avx2` in the environment
/// caps it), thread count, alignment and platform. It runs at about the
/// speed of a plain sum: a compensated pass that bounds its own error
/// decides the rounding unless the data cancel by more than about 10^7;
/// then an exact pass does (error-free extraction, as fast, for values
/// within ~90 binades of each other; integer bins per exponent, a few times
/// slower, for wider ranges). A floating-point environment other than IEEE's
/// default (rounding mode, flush-to-zero) only selects the integer bins.
///
/// Threads: from 4 MiB of data on (524288 doubles, 1048576 ints), the sum is
/// shared by up to `mylib_get_num_threads()` threads, at most one per 2 MiB,
/// the calling thread included; the threads are started for the call and
/// joined before it returns (none is left running: safe with `fork()`). If a
/// thread cannot be started, the others do its share; a panic in one is
/// `MYLIB_ERR_PANIC`.
///
/// NULL `result`: `MYLIB_ERR_NULL_POINTER`, nothing written. NULL `data` with
/// `size > 0`: `MYLIB_ERR_NULL_POINTER`, nothing written. `size < 0`:
/// `MYLIB_ERR_INVALID_LENGTH`, nothing written. `(NULL, 0)` stores 0.0 (with
/// `size == 0` the pointer is never read). A misaligned `data` or `result`:
/// `MYLIB_ERR_MISALIGNED`, nothing written (`mylib_sum_f64_strided` takes
/// misaligned arrays). Thread-safe; `result` may point into `data`.
///
/// # Safety
/// `data` is NULL or points to `size` readable doubles; `result` is NULL or
/// points to a writable double.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fast_sum(data: *const f64, size: c_int, result: *mut f64) {
    boundary(
        "fast_sum",
        || format!("{}, {size}, {}", ptr_arg(data), ptr_arg(result)),
        || {
            let out = Out::new(result, "result")?;
            // SAFETY: the caller guarantees `size` readable doubles or NULL.
            let data = unsafe { slice(data, length(size, "size")?, "data") }?;
            let (sum, failure) = match core::sum_f64(data, "fast_sum") {
                Ok(sum) => (sum, None),
                Err((error, inf)) => (inf, Some(error)),
            };
            // SAFETY: the caller guarantees `result` is writable.
            unsafe { out.write(sum) };
            failure.map_or(Ok(Void), |e| Err(e.into()))
        },
    );
}

/// Turns debug logging on (any non-zero value) or off (0).
///
/// When on, every mylib call writes one line to stderr naming the function,
/// its arguments and its result, e.g. `mylib: add(5, 3) -> 8`. Setting
/// `MYLIB_DEBUG` to a non-empty value other than `0` in the environment turns
/// it on from the start. Thread-safe; the setting is process-wide.
#[unsafe(no_mangle)]
pub extern "C" fn set_debug(enabled: c_int) {
    // Set first, so that turning logging on logs this very call.
    debug::set(enabled != 0);
    boundary("set_debug", || enabled.to_string(), || Ok(Void));
}

// ---------------------------------------------------------------------------
// The mylib_ API: status codes, size_t lengths, results through *_out.
// ---------------------------------------------------------------------------

/// Returns the calling thread's last error code (`MYLIB_OK`, 0, when the
/// last mylib call on this thread succeeded). Does not clear it.
///
/// The contract: every other function except `mylib_last_error_message`,
/// `mylib_status_str`, `mylib_version` and `mylib_get_debug` (which never
/// touch the slot) sets it when it fails and leaves it at `MYLIB_OK` when it
/// succeeds, whatever mylib calls its callback made (`process`,
/// `mylib_process`). Recording an error needs no memory: `MYLIB_ERR_NO_MEMORY`
/// is recorded like any other code.
///
/// Thread teardown: the slot has no destructor and lives as long as the
/// thread, so mylib calls made from thread-exit code (pthread key
/// destructors, C++ `thread_local` destructors, Rust thread-local `Drop`)
/// record their errors like any other call. Exception: on Windows built with
/// the GNU toolchain, where Rust emulates thread-locals, a call made after
/// mylib's thread-local storage was released still returns its own result
/// and status, but `mylib_last_error()` then reports `MYLIB_OK`.
#[unsafe(no_mangle)]
pub extern "C" fn mylib_last_error() -> c_int {
    error::last_error_code() as c_int
}

/// Returns the message of the calling thread's last error ("no error" when
/// none). Never NULL. The string belongs to mylib: it stays readable as long
/// as the thread lives, and its text is that of the last error until the next
/// failing mylib call on the same thread rewrites it; copy it to keep it.
/// Messages longer than 511 bytes are cut and end in `...`. Does not clear
/// the slot.
#[unsafe(no_mangle)]
pub extern "C" fn mylib_last_error_message() -> *const c_char {
    error::last_error_message_ptr()
}

/// Returns a static description of a status code; for a value that is not a
/// code, "unknown mylib status code". Never NULL, never to be freed.
/// Does not touch the last-error slot.
#[unsafe(no_mangle)]
pub extern "C" fn mylib_status_str(code: c_int) -> *const c_char {
    MylibStatus::from_int(code)
        .map_or(c"unknown mylib status code", MylibStatus::description)
        .as_ptr()
}

/// Returns the library's version, `"MAJOR.MINOR.PATCH"`, equal to the
/// `MYLIB_VERSION_*` macros of the header it was built with. Static string,
/// never NULL, never to be freed. Does not touch the last-error slot.
#[unsafe(no_mangle)]
pub extern "C" fn mylib_version() -> *const c_char {
    const VERSION: &CStr = match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => panic!("version contains NUL"),
    };
    VERSION.as_ptr()
}

/// Returns 1 when debug logging is on, 0 when it is off.
#[unsafe(no_mangle)]
pub extern "C" fn mylib_get_debug() -> c_int {
    c_int::from(debug::enabled())
}

/// Sets the most threads a large sum (`fast_sum`, `sum_array`,
/// `mylib_sum_f64`, `mylib_sum_i32`) may use, the calling thread included,
/// for the whole process.
///
/// `n` from 1 to 1024: that many at most (1 = never start a thread). `0`:
/// back to the default, which is `MYLIB_NUM_THREADS` from the environment if
/// it holds an integer from 1 to 1024 (surrounding whitespace allowed; any
/// other value is ignored), else the number of CPUs this process may run on
/// (its affinity mask and cgroup CPU quota), at most 1024. The environment
/// and the CPUs are read once, at the first large sum or
/// `mylib_get_num_threads` call. Results never depend on the thread count.
///
/// Returns `MYLIB_OK`, or `MYLIB_ERR_INVALID_LENGTH` for `n < 0` or
/// `n > 1024` (the setting is then unchanged). Thread-safe; sums already
/// running keep the count they started with.
#[unsafe(no_mangle)]
pub extern "C" fn mylib_set_num_threads(n: c_int) -> c_int {
    status_boundary(
        "mylib_set_num_threads",
        || n.to_string(),
        || parallel::set_num_threads(length(n, "n")?),
    )
}

/// Returns the most threads a large sum uses now (at least 1): the value
/// set by `mylib_set_num_threads`, else the default it describes.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn mylib_get_num_threads() -> c_int {
    boundary("mylib_get_num_threads", String::new, || {
        // At most MAX_THREADS (1024), so the conversion cannot fail.
        Ok(c_int::try_from(parallel::num_threads()).unwrap_or(c_int::MAX))
    })
}

/// Stores `a + b` in `*sum_out`: `add` with a status.
///
/// Returns `MYLIB_OK`; `MYLIB_ERR_OVERFLOW` when the sum does not fit an
/// `int`; `MYLIB_ERR_NULL_POINTER` / `MYLIB_ERR_MISALIGNED` for a NULL or
/// misaligned `sum_out`. `*sum_out` is written only on success. Thread-safe.
///
/// # Safety
/// `sum_out` is NULL or points to a writable int.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mylib_add(a: c_int, b: c_int, sum_out: *mut c_int) -> c_int {
    status_boundary(
        "mylib_add",
        || format!("{a}, {b}, {}", ptr_arg(sum_out)),
        || {
            let out = Out::new(sum_out, "sum_out")?;
            let sum = core::add(a, b).map_err(|(e, _wrapped)| e)?;
            // SAFETY: the caller guarantees `sum_out` is writable.
            unsafe { out.write(sum) };
            Ok(())
        },
    )
}

/// `mylib_add` without an out-pointer, for bindings where creating one costs
/// more than the call (Python's ctypes, cffi's ABI mode): the sum and the
/// status in one return value.
///
/// Returns `a + b` (`INT_MIN..=INT_MAX`) when the status is `MYLIB_OK`, else
/// `MYLIB_PACKED_FAIL_BASE + status` (`MYLIB_ERR_OVERFLOW` when the sum does
/// not fit an `int`): a result below `INT_MIN` is a failure. Sets the
/// thread's last error like `mylib_add`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn mylib_add_packed(a: c_int, b: c_int) -> i64 {
    packed_boundary(
        "mylib_add_packed",
        || format!("{a}, {b}"),
        || core::add(a, b).map_err(|(e, _wrapped)| e),
    )
}

/// `greet` with a status: returns `MYLIB_OK`, `MYLIB_ERR_NULL_POINTER` for
/// NULL `name` (nothing written), `MYLIB_ERR_NO_MEMORY` when the line does
/// not fit in memory (nothing written) or `MYLIB_ERR_IO` for a failed write.
///
/// # Safety
/// `name` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mylib_greet(name: *const c_char) -> c_int {
    // SAFETY: the caller's guarantee, passed on.
    status_boundary("mylib_greet", || str_arg(name), || unsafe { greet_body(name) })
}

/// `print_point` with a status: returns `MYLIB_OK`, `MYLIB_ERR_NULL_POINTER`
/// or `MYLIB_ERR_MISALIGNED` for a bad `p` (nothing written), or
/// `MYLIB_ERR_IO` for a failed write.
///
/// # Safety
/// `p` is NULL or points to a valid `Point`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mylib_print_point(p: *const Point) -> c_int {
    // SAFETY: the caller's guarantee, passed on.
    status_boundary("mylib_print_point", || point_arg(p), || unsafe { print_point_body(p) })
}

/// Stores the exact sum of the `len` ints at `data` in `*sum_out` as a
/// 64-bit integer: it never wraps. Large arrays are summed on several
/// threads, as in `fast_sum`; the result is exact either way.
///
/// Returns `MYLIB_OK`; `MYLIB_ERR_NULL_POINTER` for NULL `sum_out` or NULL
/// `data` with `len > 0`; `MYLIB_ERR_MISALIGNED` for a misaligned `sum_out`, or
/// `data` with `len > 0`;
/// `MYLIB_ERR_INVALID_LENGTH` when `len * sizeof(int)` exceeds the address
/// space. `*sum_out` is written only on success. Thread-safe.
///
/// # Safety
/// `data` is NULL or points to `len` readable ints; `sum_out` is NULL or
/// points to a writable `int64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mylib_sum_i32(data: *const c_int, len: usize, sum_out: *mut i64) -> c_int {
    status_boundary(
        "mylib_sum_i32",
        || format!("{}, {len}, {}", ptr_arg(data), ptr_arg(sum_out)),
        || {
            let out = Out::new(sum_out, "sum_out")?;
            // SAFETY: the caller guarantees `len` readable ints or NULL.
            let sum = core::sum_i32_exact(unsafe { slice(data, len, "data") }?)?;
            // SAFETY: the caller guarantees `sum_out` is writable.
            unsafe { out.write(sum) };
            Ok(())
        },
    )
}

/// Stores the sum of the `len` doubles at `data` in `*sum_out`: the exact sum
/// rounded once to the nearest double, ties to even (the same rules, threads
/// and bits as `fast_sum`).
///
/// Returns `MYLIB_OK`; `MYLIB_ERR_OVERFLOW` when the exact sum is beyond the
/// range of double (`*sum_out` is then set to the infinity of its sign: the
/// one failure that writes); otherwise the errors of `mylib_sum_i32`, with
/// nothing written. Thread-safe.
///
/// # Safety
/// `data` is NULL or points to `len` readable doubles; `sum_out` is NULL or
/// points to a writable double.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mylib_sum_f64(data: *const f64, len: usize, sum_out: *mut f64) -> c_int {
    status_boundary(
        "mylib_sum_f64",
        || format!("{}, {len}, {}", ptr_arg(data), ptr_arg(sum_out)),
        || {
            let out = Out::new(sum_out, "sum_out")?;
            // SAFETY: the caller guarantees `len` readable doubles or NULL.
            let data = unsafe { slice(data, len, "data") }?;
            store_sum(out, core::sum_f64(data, "mylib_sum_f64"))
        },
    )
}

/// Stores the sum of the doubles of an n-dimensional, strided array in
/// `*sum_out`: the same rules and bits as `mylib_sum_f64`, for arrays that
/// are not one contiguous run (a column of a row-major matrix, a reversed or
/// Fortran-ordered array, a numpy or buffer-protocol view), read where they
/// lie without a copy, in whatever order reads memory best.
///
/// `data` is the address of the value at index `(0, ..., 0)`; the array has
/// `shape[k]` values along dimension `k`, `strides[k]` bytes apart (any sign,
/// zero for a broadcast dimension, any alignment: values are read unaligned
/// where needed). `ndim` is at most `MYLIB_MAX_NDIM`; 0 is a single value.
///
/// Returns `MYLIB_OK`; `MYLIB_ERR_OVERFLOW` as `mylib_sum_f64` (`*sum_out`
/// set to the infinity); `MYLIB_ERR_NULL_POINTER` for NULL `sum_out`, NULL
/// `shape` or `strides` with `ndim > 0`, or NULL `data` when there are
/// values to read (a dimension of length 0 makes the empty sum, 0.0);
/// `MYLIB_ERR_MISALIGNED` for a misaligned `sum_out`, `shape` or `strides`;
/// `MYLIB_ERR_INVALID_LENGTH` for `ndim > MYLIB_MAX_NDIM`, a number of values
/// beyond `SIZE_MAX`, or an array whose extent does not fit the address
/// space. Nothing is written on those errors. Thread-safe.
///
/// # Safety
/// `shape` and `strides` are NULL or point to `ndim` readable elements; every
/// value the layout names (`data + sum(i_k * strides[k])`, `0 <= i_k <
/// shape[k]`) is a readable double; `sum_out` is NULL or points to a
/// writable double.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mylib_sum_f64_strided(
    data: *const c_void,
    ndim: usize,
    shape: *const usize,
    strides: *const isize,
    sum_out: *mut f64,
) -> c_int {
    status_boundary(
        "mylib_sum_f64_strided",
        || {
            format!(
                "{}, {ndim}, {}, {}, {}",
                ptr_arg(data),
                ptr_arg(shape),
                ptr_arg(strides),
                ptr_arg(sum_out)
            )
        },
        || {
            let out = Out::new(sum_out, "sum_out")?;
            let mut storage = None;
            // SAFETY: the caller's guarantees, passed on.
            let values = unsafe { strided(data, ndim, shape, strides, &mut storage) }?;
            store_sum(out, core::sum_values(values, "mylib_sum_f64_strided"))
        },
    )
}

/// Writes a sum's value, or on overflow its infinity, and returns the status.
fn store_sum(out: Out<f64>, sum: Result<f64, (Error, f64)>) -> Result<(), Error> {
    let (value, result) = match sum {
        Ok(v) => (v, Ok(())),
        Err((error, inf)) => (inf, Err(error)),
    };
    // SAFETY: every caller's `Out` came from its caller's writable pointer.
    unsafe { out.write(value) };
    result
}

/// Stores in `*greeting_out` a new string `Hello, <name>!` (no newline),
/// allocated by mylib.
///
/// The caller owns the string and must release it with `mylib_string_free`
/// (never with `free()`). `name`'s bytes are copied as given. Returns
/// `MYLIB_OK`; `MYLIB_ERR_NULL_POINTER` for NULL `name` or NULL
/// `greeting_out`; `MYLIB_ERR_MISALIGNED` for a misaligned `greeting_out`;
/// `MYLIB_ERR_NO_MEMORY` when the string does not fit in memory (a very long
/// name): the library stays usable. On failure `*greeting_out` is not
/// written. Thread-safe.
///
/// # Safety
/// `name` is NULL or a NUL-terminated string; `greeting_out` is NULL or
/// points to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mylib_greeting(name: *const c_char, greeting_out: *mut *mut c_char) -> c_int {
    let args = debug::Lazy(move |f| write!(f, "{}, {}", str_arg(name), ptr_arg(greeting_out)));
    status_boundary(
        "mylib_greeting",
        || args,
        || {
            let out = Out::new(greeting_out, "greeting_out")?;
            // SAFETY: the caller guarantees a C string or NULL.
            let mut text = core::greeting(unsafe { c_str(name, "name") }?, 1)?;
            text.push(0);
            // The room for the NUL was reserved, so this neither reallocates nor
            // shrinks; a C string holds no NUL, so neither does the greeting.
            let text = CString::from_vec_with_nul(text).map_err(|_| Error::NullPointer("name"))?;
            // SAFETY: the caller guarantees `greeting_out` is writable.
            unsafe { out.write(text.into_raw()) };
            Ok(())
        },
    )
}

/// Releases a string returned by mylib (`mylib_greeting`). NULL is allowed
/// and does nothing.
///
/// # Safety
/// `s` is NULL or a string returned by mylib that has not been freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mylib_string_free(s: *mut c_char) {
    boundary(
        "mylib_string_free",
        || ptr_arg(s),
        || {
            if !s.is_null() {
                // SAFETY: the caller guarantees `s` came from CString::into_raw
                // in this library and is freed only once.
                drop(unsafe { CString::from_raw(s) });
            }
            Ok(Void)
        },
    );
}

/// Calls `func(user_data, value, &result)` and stores `result` in
/// `*result_out`.
///
/// Returns `MYLIB_OK`; `MYLIB_ERR_MISSING_CALLBACK` for NULL `func`;
/// `MYLIB_ERR_NULL_POINTER` for NULL `result_out` (the callback is not
/// called); `MYLIB_ERR_CALLBACK_FAILED` when the callback returns non-zero
/// (`*result_out` is then not written). `user_data` may be anything,
/// NULL included. The callback runs on the calling thread and may call
/// mylib itself.
///
/// # Safety
/// `func` is NULL or safe to call with `user_data` and does not unwind;
/// `result_out` is NULL or points to a writable int.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mylib_process(
    func: mylib_callback_fn,
    user_data: *mut c_void,
    value: c_int,
    result_out: *mut c_int,
) -> c_int {
    let args = || {
        let f = func.map_or_else(|| "NULL".to_owned(), |f| format!("{:p}", f as *const ()));
        format!("{f}, {}, {value}, {}", ptr_arg(user_data), ptr_arg(result_out))
    };
    status_boundary("mylib_process", args, || {
        let func = func.ok_or(Error::MissingCallback("func"))?;
        let out = Out::new(result_out, "result_out")?;
        let mut result: c_int = 0;
        // SAFETY: the caller guarantees `func` is callable with `user_data`;
        // `result` is a live local.
        let status = unsafe { func(user_data, value, &mut result) };
        if status != 0 {
            return Err(Error::CallbackFailed(status));
        }
        // SAFETY: the caller guarantees `result_out` is writable.
        unsafe { out.write(result) };
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// The exact sum as a state: add arrays and values, merge states, serialise.
// ---------------------------------------------------------------------------

/// The size in bytes of a serialized `mylib_exact_sum` (format version 1).
pub const MYLIB_EXACT_SUM_BYTES: usize = 288;
const _: () = assert!(MYLIB_EXACT_SUM_BYTES == crate::kernels::format::BYTES);

/// The most dimensions `mylib_sum_f64_strided` and
/// `mylib_exact_sum_add_strided` take.
pub const MYLIB_MAX_NDIM: usize = 64;
const _: () = assert!(MYLIB_MAX_NDIM == crate::kernels::strided::MAX_NDIM);

/// An exact sum in progress: the exact sum of every value added to it, as
/// one state that can be added to, merged with others, read as a correctly
/// rounded double, and serialized (opaque; made by `mylib_exact_sum_new` or
/// `mylib_exact_sum_from_bytes`, released by `mylib_exact_sum_free`).
///
/// Splitting data at any points, summing the parts in separate states (other
/// threads, processes, machines), and merging them in any order and any
/// tree, through bytes or not, gives the state of the whole: its result is
/// the bits `mylib_sum_f64` gives for all the data.
///
/// Threads: one state may be used from several threads at once. Every call
/// applies whole, as if the calls ran one after another; an add sums its
/// array before taking the state's lock, so adds from several threads run in
/// parallel. Only `mylib_exact_sum_free` must not run while other calls use
/// the state.
///
/// Serialized form (version 1, `MYLIB_EXACT_SUM_BYTES` = 288 bytes, the same
/// on every platform): bytes 0-3 the magic "MYXS"; byte 4 the format version,
/// 1; byte 5 flags (bit 0: a NaN was added, bit 1: +inf, bit 2: -inf; the
/// other bits 0); bytes 6-7 zero; bytes 8-15 the number of values added,
/// unsigned little-endian; bytes 16-287 the exact sum of the finite values in
/// units of 2^-1074, a 2176-bit two's-complement integer, little-endian. Equal
/// states have equal bytes. `mylib_exact_sum_from_bytes` checks every field.
pub struct mylib_exact_sum {
    state: std::sync::Mutex<ExactSum>,
}

impl mylib_exact_sum {
    fn new(state: ExactSum) -> Self {
        mylib_exact_sum {
            state: std::sync::Mutex::new(state),
        }
    }

    /// The state, locked. A panic cannot leave it half-changed (every change
    /// is one merge of a finished part), so a poisoned lock is used as is.
    fn lock(&self) -> std::sync::MutexGuard<'_, ExactSum> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `part` (whose count is its number of values).
    fn merge(&self, part: &ExactSum, function: &'static str) -> Result<(), Error> {
        self.lock().merge(part).map_err(|_| Error::TooManyValues(function))
    }
}

/// Stores in `*acc_out` a new, empty exact sum (its result is 0.0), owned by
/// the caller and released with `mylib_exact_sum_free`.
///
/// Returns `MYLIB_OK`; `MYLIB_ERR_NULL_POINTER` or `MYLIB_ERR_MISALIGNED` for
/// a bad `acc_out`; `MYLIB_ERR_NO_MEMORY` when it cannot be allocated.
/// `*acc_out` is written only on success. Thread-safe.
///
/// # Safety
/// `acc_out` is NULL or points to a writable `mylib_exact_sum *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mylib_exact_sum_new(acc_out: *mut *mut mylib_exact_sum) -> c_int {
    status_boundary(
        "mylib_exact_sum_new",
        || ptr_arg(acc_out),
        || {
            let out = Out::new(acc_out, "acc_out")?;
            let acc = try_box(mylib_exact_sum::new(ExactSum::new()), "an exact sum")?;
            // SAFETY: the caller guarantees `acc_out` is writable.
            unsafe { out.write(Box::into_raw(acc)) };
            Ok(())
        },
    )
}

/// Releases an exact sum. NULL is allowed and does nothing.
///
/// # Safety
/// `acc` is NULL or a state from `mylib_exact_sum_new` or
/// `mylib_exact_sum_from_bytes` that has not been freed yet, and that no
/// other call is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mylib_exact_sum_free(acc: *mut mylib_exact_sum) {
    boundary(
        "mylib_exact_sum_free",
        || ptr_arg(acc),
        || {
            if !acc.is_null() {
                // SAFETY: the caller guarantees `acc` came from Box::into_raw
                // in this library, is freed once, and is not in use.
                drop(unsafe { Box::from_raw(acc) });
            }
            Ok(Void)
        },
    );
}

/// Adds the `len` doubles at `data` to `acc` (on several threads when the
/// array is large, as `mylib_sum_f64`). NaN and infinities are recorded as
/// the result's rules say.
///
/// Returns `MYLIB_OK`; `MYLIB_ERR_NULL_POINTER` for NULL `acc`, or NULL
/// `data` with `len > 0`; `MYLIB_ERR_MISALIGNED` for a misaligned `acc` or
/// `data`; `MYLIB_ERR_INVALID_LENGTH` when `len * sizeof(double)` exceeds the
/// address space; `MYLIB_ERR_OVERFLOW` when the state would count more than
/// 2^64 - 1 values. On failure the state is unchanged. Thread-safe.
///
/// # Safety
/// `acc` is NULL or a live exact sum; `data` is NULL or points to `len`
/// readable doubles.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mylib_exact_sum_add(acc: *mut mylib_exact_sum, data: *const f64, len: usize) -> c_int {
    status_boundary(
        "mylib_exact_sum_add",
        || format!("{}, {}, {len}", ptr_arg(acc), ptr_arg(data)),
        || {
            // SAFETY: the caller guarantees a live exact sum or NULL.
            let acc = unsafe { reference(acc, "acc") }?;
            // SAFETY: the caller guarantees `len` readable doubles or NULL.
            let data = unsafe { slice(data, len, "data") }?;
            let mut part = ExactSum::new();
            part.add_slice(data)
                .map_err(|_| Error::TooManyValues("mylib_exact_sum_add"))?;
            acc.merge(&part, "mylib_exact_sum_add")
        },
    )
}

/// Adds the values of an n-dimensional, strided array to `acc`: the array
/// as `mylib_sum_f64_strided` takes it, read in place.
///
/// Returns the statuses of `mylib_exact_sum_add` and of
/// `mylib_sum_f64_strided` for the array; on failure the state is unchanged.
/// Thread-safe.
///
/// # Safety
/// `acc` is NULL or a live exact sum; `shape`, `strides` and the array as
/// for `mylib_sum_f64_strided`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mylib_exact_sum_add_strided(
    acc: *mut mylib_exact_sum,
    data: *const c_void,
    ndim: usize,
    shape: *const usize,
    strides: *const isize,
) -> c_int {
    status_boundary(
        "mylib_exact_sum_add_strided",
        || {
            format!(
                "{}, {}, {ndim}, {}, {}",
                ptr_arg(acc),
                ptr_arg(data),
                ptr_arg(shape),
                ptr_arg(strides)
            )
        },
        || {
            // SAFETY: the caller guarantees a live exact sum or NULL.
            let acc = unsafe { reference(acc, "acc") }?;
            let mut storage = None;
            // SAFETY: the caller's guarantees, passed on.
            let values = unsafe { strided(data, ndim, shape, strides, &mut storage) }?;
            let mut part = ExactSum::new();
            let split = crate::kernels::Split::auto::<f64>(values.len());
            part.add_values(values, split)
                .map_err(|_| Error::TooManyValues("mylib_exact_sum_add_strided"))?;
            acc.merge(&part, "mylib_exact_sum_add_strided")
        },
    )
}

/// Adds one value to `acc`.
///
/// Returns `MYLIB_OK`; `MYLIB_ERR_NULL_POINTER` or `MYLIB_ERR_MISALIGNED` for
/// a bad `acc`; `MYLIB_ERR_OVERFLOW` when the state already counts 2^64 - 1
/// values (unchanged). Thread-safe.
///
/// # Safety
/// `acc` is NULL or a live exact sum.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mylib_exact_sum_add_value(acc: *mut mylib_exact_sum, value: f64) -> c_int {
    status_boundary(
        "mylib_exact_sum_add_value",
        || format!("{}, {value:e}", ptr_arg(acc)),
        || {
            // SAFETY: the caller guarantees a live exact sum or NULL.
            let acc = unsafe { reference(acc, "acc") }?;
            acc.lock()
                .add(value)
                .map_err(|_| Error::TooManyValues("mylib_exact_sum_add_value"))
        },
    )
}

/// Adds the state of `other` to `acc`; `other` is unchanged. `acc` and
/// `other` may be the same state (which doubles it).
///
/// Returns `MYLIB_OK`; `MYLIB_ERR_NULL_POINTER` or `MYLIB_ERR_MISALIGNED` for
/// a bad `acc` or `other`; `MYLIB_ERR_OVERFLOW` when the merged state would
/// count more than 2^64 - 1 values (`acc` unchanged). Thread-safe: each
/// state's lock is taken in turn, never both at once.
///
/// # Safety
/// `acc` and `other` are NULL or live exact sums.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mylib_exact_sum_merge(acc: *mut mylib_exact_sum, other: *const mylib_exact_sum) -> c_int {
    status_boundary(
        "mylib_exact_sum_merge",
        || format!("{}, {}", ptr_arg(acc), ptr_arg(other)),
        || {
            // SAFETY: the caller guarantees live exact sums or NULL.
            let (acc, other) = unsafe { (reference(acc, "acc")?, reference(other, "other")?) };
            let snapshot = other.lock().clone();
            acc.merge(&snapshot, "mylib_exact_sum_merge")
        },
    )
}

/// Stores in `*sum_out` the exact sum of everything added to `acc`, rounded
/// once to the nearest double, ties to even; special values as `fast_sum`
/// (the state keeps them: a NaN added stays in the result).
///
/// Returns `MYLIB_OK`; `MYLIB_ERR_OVERFLOW` when the exact sum is beyond the
/// range of double (`*sum_out` is then set to the infinity of its sign);
/// `MYLIB_ERR_NULL_POINTER` or `MYLIB_ERR_MISALIGNED` for a bad `acc` or
/// `sum_out` (nothing written). Thread-safe.
///
/// # Safety
/// `acc` is NULL or a live exact sum; `sum_out` is NULL or points to a
/// writable double.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mylib_exact_sum_result(acc: *const mylib_exact_sum, sum_out: *mut f64) -> c_int {
    status_boundary(
        "mylib_exact_sum_result",
        || format!("{}, {}", ptr_arg(acc), ptr_arg(sum_out)),
        || {
            let out = Out::new(sum_out, "sum_out")?;
            // SAFETY: the caller guarantees a live exact sum or NULL.
            let acc = unsafe { reference(acc, "acc") }?;
            let value = acc.lock().value();
            store_sum(
                out,
                value.map_err(|o| (Error::SumOverflow("mylib_exact_sum_result"), o.0)),
            )
        },
    )
}

/// Stores in `*count_out` the number of values added to `acc` (NaN and
/// infinities included; merged states count theirs).
///
/// Returns `MYLIB_OK`, or `MYLIB_ERR_NULL_POINTER` / `MYLIB_ERR_MISALIGNED`
/// for a bad `acc` or `count_out` (nothing written). Thread-safe.
///
/// # Safety
/// `acc` is NULL or a live exact sum; `count_out` is NULL or points to a
/// writable `uint64_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mylib_exact_sum_count(acc: *const mylib_exact_sum, count_out: *mut u64) -> c_int {
    status_boundary(
        "mylib_exact_sum_count",
        || format!("{}, {}", ptr_arg(acc), ptr_arg(count_out)),
        || {
            let out = Out::new(count_out, "count_out")?;
            // SAFETY: the caller guarantees a live exact sum or NULL.
            let count = unsafe { reference(acc, "acc") }?.lock().count();
            // SAFETY: the caller guarantees `count_out` is writable.
            unsafe { out.write(count) };
            Ok(())
        },
    )
}

/// Empties `acc`: its result is 0.0 and its count 0 again.
///
/// Returns `MYLIB_OK`, or `MYLIB_ERR_NULL_POINTER` / `MYLIB_ERR_MISALIGNED`
/// for a bad `acc`. Thread-safe.
///
/// # Safety
/// `acc` is NULL or a live exact sum.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mylib_exact_sum_reset(acc: *mut mylib_exact_sum) -> c_int {
    status_boundary(
        "mylib_exact_sum_reset",
        || ptr_arg(acc),
        || {
            // SAFETY: the caller guarantees a live exact sum or NULL.
            unsafe { reference(acc, "acc") }?.lock().reset();
            Ok(())
        },
    )
}

/// Writes the serialized state of `acc` (`MYLIB_EXACT_SUM_BYTES` bytes, the
/// format described at `mylib_exact_sum`) to `buf`, which has room for `len`
/// bytes.
///
/// Returns `MYLIB_OK`; `MYLIB_ERR_NULL_POINTER` for NULL `acc` or `buf`;
/// `MYLIB_ERR_MISALIGNED` for a misaligned `acc`; `MYLIB_ERR_INVALID_LENGTH`
/// when `len < MYLIB_EXACT_SUM_BYTES`. Nothing is written on failure.
/// Thread-safe.
///
/// # Safety
/// `acc` is NULL or a live exact sum; `buf` is NULL or points to `len`
/// writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mylib_exact_sum_to_bytes(acc: *const mylib_exact_sum, buf: *mut u8, len: usize) -> c_int {
    status_boundary(
        "mylib_exact_sum_to_bytes",
        || format!("{}, {}, {len}", ptr_arg(acc), ptr_arg(buf)),
        || {
            // SAFETY: the caller guarantees a live exact sum or NULL.
            let acc = unsafe { reference(acc, "acc") }?;
            if buf.is_null() {
                return Err(Error::NullPointer("buf"));
            }
            if len < MYLIB_EXACT_SUM_BYTES {
                return Err(Error::InvalidLength {
                    name: "len",
                    len: len as i128,
                });
            }
            let bytes = acc.lock().to_bytes();
            // SAFETY: `buf` has room for `len >= MYLIB_EXACT_SUM_BYTES` bytes
            // (the caller's guarantee); `bytes` is a local array.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf, bytes.len()) };
            Ok(())
        },
    )
}

/// Stores in `*acc_out` a new exact sum read from the `len` bytes at `buf`
/// (as `mylib_exact_sum_to_bytes` wrote them, on any platform), owned by the
/// caller and released with `mylib_exact_sum_free`.
///
/// Every field is checked: bytes that are not a state (wrong length, magic,
/// flag or reserved bits, a count smaller than its flags, or a sum larger than
/// its count of doubles can reach) are `MYLIB_ERR_BAD_FORMAT`; a state of
/// another format version is `MYLIB_ERR_UNSUPPORTED_VERSION`. Also
/// `MYLIB_ERR_NULL_POINTER` for NULL `acc_out`, or NULL `buf` with
/// `len > 0`; `MYLIB_ERR_MISALIGNED` for a misaligned `acc_out`;
/// `MYLIB_ERR_NO_MEMORY`. `*acc_out` is written only on success. Thread-safe.
///
/// # Safety
/// `buf` is NULL or points to `len` readable bytes; `acc_out` is NULL or
/// points to a writable `mylib_exact_sum *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mylib_exact_sum_from_bytes(
    buf: *const u8,
    len: usize,
    acc_out: *mut *mut mylib_exact_sum,
) -> c_int {
    status_boundary(
        "mylib_exact_sum_from_bytes",
        || format!("{}, {len}, {}", ptr_arg(buf), ptr_arg(acc_out)),
        || {
            let out = Out::new(acc_out, "acc_out")?;
            // SAFETY: the caller guarantees `len` readable bytes or NULL.
            let bytes = unsafe { slice(buf, len, "buf") }?;
            let state = ExactSum::from_bytes(bytes).map_err(|e| match e {
                crate::kernels::FormatError::Malformed(why) => Error::BadFormat(why),
                crate::kernels::FormatError::Version(v) => Error::UnsupportedVersion(v),
            })?;
            let acc = try_box(mylib_exact_sum::new(state), "an exact sum")?;
            // SAFETY: the caller guarantees `acc_out` is writable.
            unsafe { out.write(Box::into_raw(acc)) };
            Ok(())
        },
    )
}

/// Test-only (feature `test-panic`, never in a shipped build): panics inside
/// the boundary, to prove a panic becomes `MYLIB_ERR_PANIC` and returns.
#[cfg(feature = "test-panic")]
#[unsafe(no_mangle)]
pub extern "C" fn mylib_test_panic(value: c_int) -> c_int {
    boundary(
        "mylib_test_panic",
        || value.to_string(),
        || panic!("test panic with {value}"),
    )
}
