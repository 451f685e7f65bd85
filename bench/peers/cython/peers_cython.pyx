# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The three operations of `make bench-peers` as a Cython module.

The mylib functions are declared from include/mylib.h itself (the C compiler
checks every call against the header), and the module links libmylib like
mylib's compiled cffi module does, so this route differs from mylib's own
backends only by the cost of the binding:

- ``add(a, b)``: ``mylib_add``; ``OverflowError`` when the sum does not fit an
  ``int`` (Cython already refuses arguments that do not fit one). Typed ``int``
  arguments as Cython users write them: Cython converts a float argument by
  truncating it (``add(1.5, 2) == 3``) where mylib raises ``TypeError``; the
  bench shows it rather than hiding it;
- ``fast_sum(data)``: ``mylib_sum_f64`` (the kernel behind C's ``fast_sum``) on
  a typed memoryview ``const double[::1]``: any C-contiguous float64 buffer,
  no copy;
- ``fast_sum_loop(data)``: what Cython is known for, a typed C loop compiled
  from Python-like code (naive left-to-right sum, not compensated);
- ``process(f, value)``: ``mylib_process`` calls ``f(value)`` back through a C
  trampoline that gets ``f`` through ``user_data``; an exception raised by
  ``f`` (or a result that does not fit an ``int``) propagates.
"""

cdef extern from "mylib.h":
    ctypedef int (*mylib_callback_fn)(void *user_data, int value, int *result_out)
    int mylib_add(int a, int b, int *sum_out)
    int mylib_sum_f64(const double *data, size_t len, double *sum_out) nogil
    int mylib_process(mylib_callback_fn func, void *user_data, int value, int *result_out)
    const char *mylib_status_str(int code)
    int MYLIB_OK
    int MYLIB_ERR_OVERFLOW

#: Arrays at least this long are summed with the GIL released; the PyO3
#: module uses the same rule.
RELEASE_GIL_FROM = 4096
cdef size_t _RELEASE_GIL_FROM = 4096


cdef object _error(str where, int status):
    msg = f"{where}: {mylib_status_str(status).decode()}"
    if status == MYLIB_ERR_OVERFLOW:
        return OverflowError(msg)
    return RuntimeError(msg)


def add(int a, int b):
    """a + b; OverflowError when it does not fit a C int."""
    cdef int out
    cdef int status = mylib_add(a, b, &out)
    if status != MYLIB_OK:
        raise _error("add", status)
    return out


def fast_sum(const double[::1] data not None):
    """The compensated sum of a C-contiguous float64 buffer (mylib's kernel)."""
    cdef double out = 0.0
    cdef int status
    cdef size_t n = data.shape[0]
    cdef const double *p = &data[0] if n > 0 else NULL
    if n >= _RELEASE_GIL_FROM:
        with nogil:
            status = mylib_sum_f64(p, n, &out)
    else:
        status = mylib_sum_f64(p, n, &out)
    if status != MYLIB_OK:
        raise _error("fast_sum", status)
    return out


def fast_sum_loop(const double[::1] data not None):
    """The naive left-to-right sum, as a typed Cython loop (not mylib)."""
    cdef double s = 0.0
    cdef Py_ssize_t i
    with nogil:
        for i in range(data.shape[0]):
            s += data[i]
    return s


cdef int _trampoline(void *user_data, int value, int *result_out) noexcept:
    # Runs on the thread that called process(), which holds the GIL throughout
    # (mylib_process is called without releasing it).
    cdef list ctx = <list>user_data
    try:
        result_out[0] = ctx[0](value)
    except BaseException as exc:
        ctx[1] = exc
        return -1
    return 0


def process(f, int value):
    """f(value), called back by mylib's mylib_process."""
    cdef list ctx = [f, None]
    cdef int result = 0
    cdef int status = mylib_process(_trampoline, <void *>ctx, value, &result)
    if ctx[1] is not None:
        exc = ctx[1]
        ctx[1] = None  # no cycle through the traceback's frames
        raise exc
    if status != MYLIB_OK:
        raise _error("process", status)
    return result
