//! `peers_pyo3`: the three operations of `make bench-peers` as a PyO3 module.
//!
//! Each function does what mylib's Python backends do, through the mylib
//! crate itself, so that this route differs from theirs only by the cost of
//! the binding:
//! - `add(a, b)`: `mylib::core::add`, `OverflowError` when the sum does not fit
//!   an `int` (PyO3 already refuses arguments that do not fit an `i32`);
//! - `fast_sum(buffer)`: `mylib::core::sum_f64`, the kernel behind C's
//!   `fast_sum`, on the buffer's memory (no copy); the buffer must hold
//!   C-contiguous float64 (`TypeError` / `BufferError` otherwise);
//! - `process(f, value)`: mylib's `mylib_process` calls `f(value)` back through
//!   a C trampoline that gets `f` through `user_data`; an exception raised by
//!   `f` (or a result that is not an `int`) propagates.

use std::ffi::{c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use pyo3::buffer::PyBuffer;
use pyo3::exceptions::{PyBufferError, PyOverflowError, PyRuntimeError};
use pyo3::prelude::*;

/// Arrays at least this long are summed with the GIL released (other Python
/// threads run meanwhile); shorter ones keep it, as the sum takes less time
/// than releasing and re-taking it. Cython's module uses the same rule.
const RELEASE_GIL_FROM: usize = 4096;

/// `a + b`; `OverflowError` when it does not fit a C `int`.
#[pyfunction]
fn add(a: i32, b: i32) -> PyResult<i32> {
    mylib::core::add(a, b).map_err(|(err, _wrapped)| PyOverflowError::new_err(err.to_string()))
}

/// The exact sum, rounded once, of a C-contiguous float64 buffer (mylib's
/// kernel); `OverflowError` when it is beyond the float range.
#[pyfunction]
fn fast_sum(py: Python<'_>, data: PyBuffer<f64>) -> PyResult<f64> {
    let ptr = data
        .as_slice_ptr()
        .ok_or_else(|| PyBufferError::new_err("fast_sum needs a C-contiguous buffer"))?;
    // SAFETY: the buffer stays acquired (and its memory alive) until `data`
    // drops at the end of this function; PyBuffer<f64> checked the format,
    // item size and alignment. Its owner could write to it from another
    // thread meanwhile, as with any C library reading a buffer: the sum is
    // then of whatever values it reads, never out of bounds.
    let values: &[f64] = unsafe { ptr.as_ref() };
    let sum = if values.len() >= RELEASE_GIL_FROM {
        py.detach(|| mylib::core::sum_f64(values, "fast_sum"))
    } else {
        mylib::core::sum_f64(values, "fast_sum")
    };
    sum.map_err(|(err, _inf)| PyOverflowError::new_err(err.to_string()))
}

/// What the trampoline needs: the callable, and the error it raised.
struct Callback<'py> {
    func: Bound<'py, PyAny>,
    error: Option<PyErr>,
}

/// mylib's callback: calls the Python function of `user_data` with `value`.
/// Returns 0 with the result in `*result_out`, or -1 with the Python error
/// stored in the `Callback` (mylib then reports MYLIB_ERR_CALLBACK_FAILED).
unsafe extern "C" fn trampoline(user_data: *mut c_void, value: c_int, result_out: *mut c_int) -> c_int {
    // SAFETY: `process` passes a pointer to its live `Callback` and calls
    // mylib_process on this thread, attached to the interpreter; nothing
    // else refers to the `Callback` during the call.
    let cb = unsafe { &mut *user_data.cast::<Callback<'_>>() };
    // Nothing here should panic, but a panic must not unwind into mylib.
    let result = catch_unwind(AssertUnwindSafe(|| cb.func.call1((value,))?.extract::<i32>()));
    match result {
        Ok(Ok(v)) => {
            // SAFETY: mylib_process passes a pointer to a live local int.
            unsafe { result_out.write(v) };
            0
        }
        Ok(Err(err)) => {
            cb.error = Some(err);
            -1
        }
        Err(_) => {
            cb.error = Some(PyRuntimeError::new_err("panic in the process callback"));
            -1
        }
    }
}

/// `func(value)`, called back by mylib's `mylib_process`.
#[pyfunction]
fn process<'py>(func: Bound<'py, PyAny>, value: i32) -> PyResult<i32> {
    let mut cb = Callback { func, error: None };
    let mut result: c_int = 0;
    // SAFETY: `trampoline` matches mylib_callback_fn and does not unwind;
    // `user_data` points to `cb` and `result_out` to `result`, both live
    // for the whole call.
    let status =
        unsafe { mylib::mylib_process(Some(trampoline), (&raw mut cb).cast::<c_void>(), value, &raw mut result) };
    if let Some(err) = cb.error.take() {
        return Err(err);
    }
    if status != 0 {
        // SAFETY: mylib_status_str returns a static NUL-terminated string for any code.
        let msg = unsafe { std::ffi::CStr::from_ptr(mylib::mylib_status_str(status)) };
        return Err(PyRuntimeError::new_err(format!(
            "mylib_process: {}",
            msg.to_string_lossy()
        )));
    }
    Ok(result)
}

/// The module: `add`, `fast_sum`, `process`.
#[pymodule]
fn peers_pyo3(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(add, m)?)?;
    m.add_function(wrap_pyfunction!(fast_sum, m)?)?;
    m.add_function(wrap_pyfunction!(process, m)?)?;
    m.add("RELEASE_GIL_FROM", RELEASE_GIL_FROM)?;
    Ok(())
}
