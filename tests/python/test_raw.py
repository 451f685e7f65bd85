"""Tutorial-style use of the shared library, without the mylib package:
plain ctypes (with and without declarations) and cffi in ABI mode with the
tutorial's own declarations. Every bad input returns normally and sets
mylib_last_error()."""

from __future__ import annotations

import ctypes
import re
import sys
import textwrap
from ctypes import CFUNCTYPE, POINTER, Structure, byref, c_char_p, c_double, c_int, c_int64, c_size_t, c_void_p

import cffi
import pytest

import helpers
from helpers import INT_MAX, INT_MIN, run_python
from mylib import _cdef

OK, NULL_POINTER, INVALID_LENGTH, OVERFLOW, MISSING_CALLBACK, MISALIGNED, CALLBACK_FAILED = 0, 1, 2, 3, 4, 7, 8


class Point(Structure):
    """The tutorial's ctypes Point."""

    _fields_ = [("x", c_int), ("y", c_int)]


callback_t = CFUNCTYPE(c_int, c_int)
mylib_callback_fn = CFUNCTYPE(c_int, c_void_p, c_int, POINTER(c_int))


@pytest.fixture(scope="module")
def libpath():
    """The library file: MYLIB_LIBRARY or the checkout's target/release build."""
    return str(helpers.library_path())


@pytest.fixture
def bare(libpath):
    """A fresh ctypes.CDLL with no declarations at all."""
    return ctypes.CDLL(libpath)


@pytest.fixture
def declared(libpath):
    """A fresh ctypes.CDLL with argtypes/restype declared for every export."""
    lib = ctypes.CDLL(libpath)
    sigs = {
        "add": (c_int, [c_int, c_int]),
        "greet": (None, [c_char_p]),
        "print_point": (None, [POINTER(Point)]),
        "sum_array": (c_int, [POINTER(c_int), c_int]),
        "process": (c_int, [callback_t, c_int]),
        "fast_sum": (None, [POINTER(c_double), c_int, POINTER(c_double)]),
        "set_debug": (None, [c_int]),
        "mylib_last_error": (c_int, []),
        "mylib_last_error_message": (c_char_p, []),
        "mylib_status_str": (c_char_p, [c_int]),
        "mylib_version": (c_char_p, []),
        "mylib_get_debug": (c_int, []),
        "mylib_sum_i32": (c_int, [POINTER(c_int), c_size_t, POINTER(c_int64)]),
        "mylib_sum_f64": (c_int, [POINTER(c_double), c_size_t, POINTER(c_double)]),
        "mylib_greeting": (c_int, [c_char_p, POINTER(c_void_p)]),
        "mylib_string_free": (None, [c_void_p]),
        "mylib_process": (c_int, [mylib_callback_fn, c_void_p, c_int, POINTER(c_int)]),
        "mylib_add": (c_int, [c_int, c_int, POINTER(c_int)]),
        "mylib_add_packed": (c_int64, [c_int, c_int]),
        "mylib_greet": (c_int, [c_char_p]),
        "mylib_print_point": (c_int, [POINTER(Point)]),
    }
    for name, (restype, argtypes) in sigs.items():
        f = getattr(lib, name)
        f.restype = restype
        f.argtypes = argtypes
    return lib


def run_raw(libpath: str, body: str):
    """Runs ``body`` in a child with ``lib`` = a bare ctypes.CDLL of the library."""
    code = f"import ctypes, sys\nlib = ctypes.CDLL({libpath!r})\n" + textwrap.dedent(body)
    return run_python(code)


# ---------------------------------------------------------------- ctypes, no declarations
def test_bare_add(bare):
    """Undeclared add(5, 3) == 8 and clears the last error."""
    assert bare.add(5, 3) == 8
    assert bare.mylib_last_error() == OK


def test_bare_sum_array(bare):
    """Undeclared sum_array((c_int*4)(1, 2, 3, 4), 4) == 10."""
    assert bare.sum_array((c_int * 4)(1, 2, 3, 4), 4) == 10
    assert bare.mylib_last_error() == OK


def test_bare_greet_stdout(libpath):
    """Undeclared greet(b'World') writes 'Hello, World!\\n' to stdout (child process)."""
    proc = run_raw(libpath, "lib.greet(b'World')\nprint(lib.mylib_last_error(), file=sys.stderr)")
    assert proc.stdout == b"Hello, World!\n"
    assert proc.stderr.strip() == b"0"


def test_bare_print_point_stdout(libpath):
    """Undeclared print_point(byref(Point(1, 2))) writes 'Point(1, 2)\\n' (child process)."""
    proc = run_raw(
        libpath,
        """
        class Point(ctypes.Structure):
            _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int)]
        lib.print_point(ctypes.byref(Point(1, 2)))
        lib.print_point(ctypes.byref(Point(-3, 2147483647)))
        """,
    )
    assert proc.stdout == b"Point(1, 2)\nPoint(-3, 2147483647)\n"


def test_bare_process(bare):
    """Undeclared process(CFUNCTYPE(c_int, c_int)(f), 21) returns f(21)."""
    cb = callback_t(lambda x: x * 2)
    assert bare.process(cb, 21) == 42
    assert bare.mylib_last_error() == OK


def test_bare_fast_sum(bare):
    """Undeclared fast_sum((c_double*3)(...), 3, byref(c_double())) stores the sum."""
    r = c_double()
    bare.fast_sum((c_double * 3)(1.0, 2.0, 3.5), 3, byref(r))  # void: the int it 'returns' is garbage
    assert r.value == 6.5
    assert bare.mylib_last_error() == OK


def test_bare_set_debug(libpath):
    """Undeclared set_debug(1)/(0) turns the stderr log on and off (child process)."""
    proc = run_raw(
        libpath,
        """
        lib.set_debug(1)
        print(lib.mylib_get_debug())
        lib.add(5, 3)
        lib.set_debug(0)
        print(lib.mylib_get_debug())
        lib.add(1, 1)
        """,
    )
    assert proc.stdout == b"1\n0\n"
    lines = proc.stderr.decode().splitlines()
    assert "mylib: add(5, 3) -> 8" in lines
    assert not any("add(1, 1)" in line for line in lines)


# ---------------------------------------------------------------- ctypes, bad inputs
def test_bare_add_overflow_wraps_and_sets_code(bare):
    """add(INT_MAX, 1) returns the wrapped INT_MIN and sets code 3."""
    assert bare.add(INT_MAX, 1) == INT_MIN
    assert bare.mylib_last_error() == OVERFLOW


def test_bare_sum_array_null(bare):
    """sum_array(None, 3) returns 0 and sets code 1."""
    assert bare.sum_array(None, 3) == 0
    assert bare.mylib_last_error() == NULL_POINTER


def test_bare_sum_array_null_empty_is_ok(bare):
    """sum_array(None, 0) is the empty array: 0, no error."""
    assert bare.sum_array(None, 0) == 0
    assert bare.mylib_last_error() == OK


def test_bare_sum_array_negative_length(bare):
    """sum_array(arr, -1) returns 0 and sets code 2."""
    assert bare.sum_array((c_int * 4)(1, 2, 3, 4), -1) == 0
    assert bare.mylib_last_error() == INVALID_LENGTH


def test_bare_sum_array_overflow_wraps(bare):
    """sum_array whose sum exceeds int returns the wrapped value and sets code 3."""
    assert bare.sum_array((c_int * 2)(INT_MAX, 1), 2) == INT_MIN
    assert bare.mylib_last_error() == OVERFLOW


def test_bare_process_null_callback(bare):
    """process(None, 1) returns 0 and sets code 4."""
    assert bare.process(None, 1) == 0
    assert bare.mylib_last_error() == MISSING_CALLBACK


def test_bare_fast_sum_null_result(bare):
    """fast_sum(data, 3, None) sets code 1."""
    bare.fast_sum((c_double * 3)(1.0, 2.0, 3.0), 3, None)
    assert bare.mylib_last_error() == NULL_POINTER


def test_bare_fast_sum_negative_length(bare):
    """fast_sum(data, -1, byref(r)) sets code 2 and leaves r untouched."""
    r = c_double(-7.0)
    bare.fast_sum((c_double * 3)(1.0, 2.0, 3.0), -1, byref(r))
    assert bare.mylib_last_error() == INVALID_LENGTH
    assert r.value == -7.0


def test_bare_greet_null(bare, capfdbinary):
    """greet(None) sets code 1 and writes nothing."""
    bare.greet(None)
    assert bare.mylib_last_error() == NULL_POINTER
    assert capfdbinary.readouterr().out == b""


def test_bare_print_point_null(bare, capfdbinary):
    """print_point(None) sets code 1 and writes nothing."""
    bare.print_point(None)
    assert bare.mylib_last_error() == NULL_POINTER
    assert capfdbinary.readouterr().out == b""


def test_error_is_cleared_by_next_call(bare):
    """A successful call clears the previous error code."""
    bare.sum_array(None, 3)
    assert bare.mylib_last_error() == NULL_POINTER
    assert bare.add(1, 1) == 2
    assert bare.mylib_last_error() == OK


# ---------------------------------------------------------------- ctypes, declared
def test_declared_calls(declared, capfdbinary):
    """With argtypes/restype declared, the tutorial calls work."""
    lib = declared
    assert lib.add(5, 3) == 8
    assert lib.sum_array((c_int * 4)(1, 2, 3, 4), 4) == 10
    assert lib.process(callback_t(lambda x: x + 1), 41) == 42
    r = c_double()
    lib.fast_sum((c_double * 3)(0.5, 0.25, 0.125), 3, byref(r))
    assert r.value == 0.875
    lib.greet(b"World")
    lib.print_point(byref(Point(1, 2)))
    assert capfdbinary.readouterr().out == b"Hello, World!\nPoint(1, 2)\n"
    assert lib.mylib_last_error() == OK


def test_declared_set_debug(declared, capfd):
    """With declarations, set_debug(1)/(0) toggles mylib_get_debug."""
    lib = declared
    try:
        lib.set_debug(1)
        assert lib.mylib_get_debug() == 1
        lib.add(5, 3)
    finally:
        lib.set_debug(0)
    assert lib.mylib_get_debug() == 0
    assert "mylib: add(5, 3) -> 8" in capfd.readouterr().err.splitlines()


def test_declared_bad_inputs(declared, capfdbinary):
    """With declarations, every bad input returns normally with the right code."""
    lib = declared
    assert lib.add(INT_MAX, 1) == INT_MIN
    assert lib.mylib_last_error() == OVERFLOW
    assert lib.mylib_last_error_message() == b"integer overflow in add"
    assert lib.sum_array(None, 3) == 0
    assert lib.mylib_last_error() == NULL_POINTER
    assert lib.sum_array((c_int * 2)(1, 2), -1) == 0
    assert lib.mylib_last_error() == INVALID_LENGTH
    assert lib.process(callback_t(), 1) == 0  # a NULL callback_t (ctypes refuses None for a CFUNCTYPE argtype)
    assert lib.mylib_last_error() == MISSING_CALLBACK
    lib.fast_sum((c_double * 1)(1.0), 1, None)
    assert lib.mylib_last_error() == NULL_POINTER
    r = c_double(5.0)
    lib.fast_sum((c_double * 1)(1.0), -1, byref(r))
    assert lib.mylib_last_error() == INVALID_LENGTH and r.value == 5.0
    lib.greet(None)
    assert lib.mylib_last_error() == NULL_POINTER
    lib.print_point(None)
    assert lib.mylib_last_error() == NULL_POINTER
    assert capfdbinary.readouterr().out == b""


def test_declared_sum_i32_huge_length(declared):
    """mylib_sum_i32 with len = 2**64-1 returns code 2 and leaves *sum_out untouched."""
    lib = declared
    out = c_int64(-1)
    assert lib.mylib_sum_i32((c_int * 1)(1), 2**64 - 1, byref(out)) == INVALID_LENGTH
    assert lib.mylib_last_error() == INVALID_LENGTH
    assert out.value == -1


def test_declared_sum_i32_exact(declared):
    """mylib_sum_i32 gives the exact 64-bit sum; NULL sum_out is code 1."""
    lib = declared
    out = c_int64()
    assert lib.mylib_sum_i32((c_int * 3)(INT_MAX, INT_MAX, INT_MAX), 3, byref(out)) == OK
    assert out.value == 3 * INT_MAX
    assert lib.mylib_sum_i32((c_int * 1)(1), 1, None) == NULL_POINTER


def test_declared_sum_i32_misaligned(declared):
    """mylib_sum_i32 on a misaligned pointer returns code 7."""
    lib = declared
    buf = (ctypes.c_char * 20)()
    p = ctypes.cast(ctypes.addressof(buf) + 1, POINTER(c_int))
    out = c_int64()
    assert lib.mylib_sum_i32(p, 4, byref(out)) == MISALIGNED


def test_declared_greeting_and_free(declared):
    """mylib_greeting returns a library-owned 'Hello, <name>!' freed with mylib_string_free."""
    lib = declared
    out = c_void_p()
    assert lib.mylib_greeting(b"World", byref(out)) == OK
    try:
        assert ctypes.string_at(out.value) == b"Hello, World!"
    finally:
        lib.mylib_string_free(out)
    lib.mylib_string_free(None)
    assert lib.mylib_last_error() == OK
    assert lib.mylib_greeting(None, byref(out)) == NULL_POINTER


def test_declared_mylib_process(declared):
    """mylib_process passes user_data through and reports a failing callback as code 8."""
    lib = declared
    seen = []

    @mylib_callback_fn
    def cb(user_data, value, result_out):
        seen.append(user_data)
        result_out[0] = value * 3
        return 0

    @mylib_callback_fn
    def failing(user_data, value, result_out):
        return 7

    out = c_int(-1)
    assert lib.mylib_process(cb, 1234, 5, byref(out)) == OK
    assert out.value == 15 and seen == [1234]
    out.value = -1
    assert lib.mylib_process(failing, None, 5, byref(out)) == CALLBACK_FAILED
    assert out.value == -1
    assert lib.mylib_last_error_message() == b"callback failed with status 7"
    assert lib.mylib_process(mylib_callback_fn(), None, 5, byref(out)) == MISSING_CALLBACK
    assert lib.mylib_process(cb, None, 5, None) == NULL_POINTER


def test_declared_status_str_and_version(declared):
    """mylib_status_str describes codes and mylib_version matches the header."""
    lib = declared
    assert lib.mylib_status_str(0) == b"no error"
    assert lib.mylib_status_str(3) == b"overflow: a result beyond the range of its C type"
    assert lib.mylib_status_str(10) == b"not a valid serialized state"
    assert lib.mylib_status_str(11) == b"serialized state of an unsupported format version"
    assert lib.mylib_status_str(99) == b"unknown mylib status code"
    assert lib.mylib_status_str(-1) == b"unknown mylib status code"
    assert lib.mylib_version().decode() == helpers.header_version()


# ---------------------------------------------------------------- cffi ABI mode
TUTORIAL_CDEF = """
typedef struct { int x; int y; } Point;
typedef int (*callback_t)(int);
int add(int a, int b);
void greet(const char *name);
void print_point(const Point *p);
int sum_array(const int *arr, int size);
int process(callback_t func, int value);
void fast_sum(const double *data, int size, double *result);
void set_debug(int enabled);
int mylib_last_error(void);
"""

EXTRA_CDEF = """
int mylib_sum_i32(const int *data, size_t len, int64_t *sum_out);
int mylib_get_debug(void);
int64_t mylib_add_packed(int a, int b);
"""


@pytest.fixture(scope="module")
def cffi_lib(libpath):
    """(ffi, lib): cffi ABI mode with the tutorial's declarations (+ mylib_sum_i32, mylib_get_debug, mylib_add_packed)."""
    ffi = cffi.FFI()
    ffi.cdef(TUTORIAL_CDEF + EXTRA_CDEF)
    return ffi, ffi.dlopen(libpath)


def test_cffi_calls(cffi_lib, capfdbinary):
    """cffi ABI mode: add, sum_array, process, fast_sum, greet and print_point work."""
    ffi, lib = cffi_lib
    assert lib.add(5, 3) == 8
    assert lib.sum_array(ffi.new("int[]", [1, 2, 3, 4]), 4) == 10

    @ffi.callback("callback_t")
    def double(x):
        return x * 2

    assert lib.process(double, 21) == 42
    r = ffi.new("double *")
    lib.fast_sum(ffi.new("double[]", [0.1] * 10), 10, r)
    assert r[0] == 1.0
    lib.greet(b"World")
    lib.print_point(ffi.new("Point *", [1, 2]))
    assert capfdbinary.readouterr().out == b"Hello, World!\nPoint(1, 2)\n"
    assert lib.mylib_last_error() == OK


def test_cffi_greet_stdout_child(libpath):
    """cffi ABI mode greet(b'World') writes to stdout (child process)."""
    code = f"""
        import cffi
        ffi = cffi.FFI()
        ffi.cdef({TUTORIAL_CDEF!r})
        lib = ffi.dlopen({libpath!r})
        lib.greet(b"World")
    """
    assert run_python(code).stdout == b"Hello, World!\n"


def test_cffi_set_debug(cffi_lib, capfd):
    """cffi ABI mode set_debug(1)/(0) toggles logging."""
    ffi, lib = cffi_lib
    try:
        lib.set_debug(1)
        assert lib.mylib_get_debug() == 1
        lib.add(5, 3)
    finally:
        lib.set_debug(0)
    assert lib.mylib_get_debug() == 0
    assert "mylib: add(5, 3) -> 8" in capfd.readouterr().err.splitlines()


def test_cffi_bad_inputs(cffi_lib, capfdbinary):
    """cffi ABI mode: every bad input returns normally with the right code."""
    ffi, lib = cffi_lib
    assert lib.add(INT_MAX, 1) == INT_MIN
    assert lib.mylib_last_error() == OVERFLOW
    assert lib.sum_array(ffi.NULL, 3) == 0
    assert lib.mylib_last_error() == NULL_POINTER
    assert lib.sum_array(ffi.new("int[]", [1, 2]), -1) == 0
    assert lib.mylib_last_error() == INVALID_LENGTH
    assert lib.process(ffi.NULL, 1) == 0
    assert lib.mylib_last_error() == MISSING_CALLBACK
    data = ffi.new("double[]", [1.0, 2.0])
    lib.fast_sum(data, 2, ffi.NULL)
    assert lib.mylib_last_error() == NULL_POINTER
    r = ffi.new("double *", 9.0)
    lib.fast_sum(data, -1, r)
    assert lib.mylib_last_error() == INVALID_LENGTH and r[0] == 9.0
    lib.greet(ffi.NULL)
    assert lib.mylib_last_error() == NULL_POINTER
    lib.print_point(ffi.NULL)
    assert lib.mylib_last_error() == NULL_POINTER
    out = ffi.new("int64_t *", -1)
    assert lib.mylib_sum_i32(ffi.new("int[]", [1]), 2**64 - 1, out) == INVALID_LENGTH
    assert lib.mylib_last_error() == INVALID_LENGTH and out[0] == -1
    assert capfdbinary.readouterr().out == b""


def test_cffi_rejects_out_of_range_args(cffi_lib):
    """cffi itself refuses Python ints that do not fit a C int (no silent truncation)."""
    ffi, lib = cffi_lib
    with pytest.raises(OverflowError):
        lib.add(2**31, 0)


def test_declared_status_twins(declared, capfdbinary):
    """mylib_add / mylib_greet / mylib_print_point return their status; out-values are written only on success."""
    s = c_int(-7)
    assert declared.mylib_add(5, 3, byref(s)) == OK and s.value == 8
    assert declared.mylib_add(INT_MAX, 1, byref(s)) == OVERFLOW and s.value == 8
    assert declared.mylib_last_error() == OVERFLOW
    assert declared.mylib_add(1, 2, None) == NULL_POINTER
    assert declared.mylib_greet(b"twin") == OK
    assert declared.mylib_greet(None) == NULL_POINTER
    assert declared.mylib_print_point(byref(Point(3, -4))) == OK
    assert declared.mylib_print_point(None) == NULL_POINTER
    assert capfdbinary.readouterr().out == b"Hello, twin!\nPoint(3, -4)\n"


def test_declared_add_packed(declared):
    """mylib_add_packed: the sum, or MYLIB_PACKED_FAIL_BASE + status (below any C int), and the slot set."""
    base = -(1 << 40)
    assert declared.mylib_add_packed(5, 3) == 8 and declared.mylib_last_error() == OK
    assert declared.mylib_add_packed(INT_MAX, INT_MIN) == -1
    assert declared.mylib_add_packed(INT_MIN, 0) == INT_MIN
    assert declared.mylib_add_packed(INT_MAX, 1) == base + OVERFLOW
    assert declared.mylib_last_error() == OVERFLOW
    assert declared.mylib_add_packed(INT_MIN, -1) == base + OVERFLOW
    assert declared.mylib_add_packed(-2, -3) == -5 and declared.mylib_last_error() == OK


def test_cffi_add_packed(cffi_lib):
    """The same through cffi's ABI mode, with the base the header defines."""
    ffi, lib = cffi_lib
    header = (helpers.package_dir() / "include" / "mylib.h").read_text(encoding="utf-8")
    base = int(re.search(r"#define MYLIB_PACKED_FAIL_BASE \(?(-\d+)\)?", header).group(1))
    assert base == _cdef.FAIL_BASE, "mylib._cdef.FAIL_BASE must equal the header's MYLIB_PACKED_FAIL_BASE"
    assert lib.mylib_add_packed(2, 2) == 4
    assert lib.mylib_add_packed(INT_MAX, 1) == base + OVERFLOW
    with pytest.raises(OverflowError):
        lib.mylib_add_packed(2**31, 0)


@pytest.mark.skipif(sys.byteorder != "little", reason="layout literal assumes little-endian")
def test_ctypes_point_layout_matches_tutorial():
    """The tutorial ctypes Point is two ints, 8 bytes, y at offset 4."""
    assert ctypes.sizeof(Point) == 8
    assert Point.y.offset == 4
    assert bytes(Point(1, 2)) == b"\x01\x00\x00\x00\x02\x00\x00\x00"


def test_raw_exact_sum_state(libpath):
    """The mylib_exact_sum_* functions and mylib_sum_f64_strided from plain ctypes, with their own declarations:
    the state adds, merges, serialises and reads back; every bad input is a status, nothing crashes."""
    from ctypes import c_ssize_t, c_uint8, c_uint64

    lib = ctypes.CDLL(libpath)
    acc_p = c_void_p
    sigs = {
        "mylib_exact_sum_new": (c_int, [POINTER(acc_p)]),
        "mylib_exact_sum_free": (None, [acc_p]),
        "mylib_exact_sum_add": (c_int, [acc_p, POINTER(c_double), c_size_t]),
        "mylib_exact_sum_add_value": (c_int, [acc_p, c_double]),
        "mylib_exact_sum_add_strided": (c_int, [acc_p, c_void_p, c_size_t, POINTER(c_size_t), POINTER(c_ssize_t)]),
        "mylib_exact_sum_merge": (c_int, [acc_p, acc_p]),
        "mylib_exact_sum_result": (c_int, [acc_p, POINTER(c_double)]),
        "mylib_exact_sum_count": (c_int, [acc_p, POINTER(c_uint64)]),
        "mylib_exact_sum_reset": (c_int, [acc_p]),
        "mylib_exact_sum_to_bytes": (c_int, [acc_p, POINTER(c_uint8), c_size_t]),
        "mylib_exact_sum_from_bytes": (c_int, [POINTER(c_uint8), c_size_t, POINTER(acc_p)]),
        "mylib_sum_f64_strided": (c_int, [c_void_p, c_size_t, POINTER(c_size_t), POINTER(c_ssize_t), POINTER(c_double)]),
        "mylib_last_error_message": (c_char_p, []),
    }
    for name, (res, args) in sigs.items():
        getattr(lib, name).restype = res
        getattr(lib, name).argtypes = args
    a, b = acc_p(), acc_p()
    assert lib.mylib_exact_sum_new(byref(a)) == OK and a.value
    assert lib.mylib_exact_sum_new(byref(b)) == OK
    values = (c_double * 3)(2.0**53, 1.0, 2.0**-60)
    assert lib.mylib_exact_sum_add(a, values, 3) == OK
    assert lib.mylib_exact_sum_add_value(b, 1e308) == OK
    shape, strides = (c_size_t * 1)(2), (c_ssize_t * 1)(-16)
    assert lib.mylib_exact_sum_add_strided(b, ctypes.addressof(values) + 16, 1, shape, strides) == OK  # 2^-60, 2^53
    assert lib.mylib_exact_sum_merge(a, b) == OK
    r, n = c_double(), c_uint64()
    assert lib.mylib_exact_sum_result(a, byref(r)) == OK and r.value == 1e308
    assert lib.mylib_exact_sum_count(a, byref(n)) == OK and n.value == 6
    buf = (c_uint8 * 288)()
    assert lib.mylib_exact_sum_to_bytes(a, buf, 288) == OK and bytes(buf[:4]) == b"MYXS"
    c = acc_p()
    assert lib.mylib_exact_sum_from_bytes(buf, 288, byref(c)) == OK
    assert lib.mylib_exact_sum_result(c, byref(r)) == OK and r.value == 1e308
    assert lib.mylib_exact_sum_reset(c) == OK
    # Bad inputs: statuses, not crashes.
    assert lib.mylib_exact_sum_new(None) == NULL_POINTER
    assert lib.mylib_exact_sum_add(None, values, 3) == NULL_POINTER
    assert lib.mylib_exact_sum_add(a, None, 3) == NULL_POINTER
    assert lib.mylib_exact_sum_add_value(None, 1.0) == NULL_POINTER
    assert lib.mylib_exact_sum_add_strided(a, None, 1, shape, strides) == NULL_POINTER
    assert lib.mylib_exact_sum_merge(a, None) == NULL_POINTER
    assert lib.mylib_exact_sum_result(a, None) == NULL_POINTER
    assert lib.mylib_exact_sum_count(None, byref(n)) == NULL_POINTER
    assert lib.mylib_exact_sum_reset(None) == NULL_POINTER
    assert lib.mylib_exact_sum_to_bytes(a, buf, 287) == INVALID_LENGTH
    assert lib.mylib_exact_sum_from_bytes(buf, 287, byref(c)) == 10
    buf[4] = 9
    assert lib.mylib_exact_sum_from_bytes(buf, 288, byref(c)) == 11
    assert lib.mylib_last_error_message() == b"serialized ExactSum of format version 9; this mylib reads version 1"
    assert lib.mylib_sum_f64_strided(ctypes.addressof(values), 1, shape, strides, None) == NULL_POINTER
    assert lib.mylib_sum_f64_strided(ctypes.addressof(values), 65, shape, strides, byref(r)) == INVALID_LENGTH
    big = (c_double * 2)(1.7976931348623157e308, 1.7976931348623157e308)
    assert lib.mylib_sum_f64_strided(ctypes.addressof(big), 1, shape, (c_ssize_t * 1)(8), byref(r)) == OVERFLOW
    assert r.value == float("inf")
    for s in (a, b, c):
        lib.mylib_exact_sum_free(s)
    lib.mylib_exact_sum_free(None)
