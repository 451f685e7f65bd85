"""The public API of every backend module (fixture ``m``: ctypes_binding,
cffi_binding, cffi_compiled), checked against the package specification.

Output that the library writes to the C stdout is checked in-process with
``capfdbinary`` (file-descriptor capture: the library flushes every write)
or, where piping/ordering/closed streams matter, in a child interpreter.
"""

from __future__ import annotations

import array
import ctypes
import functools
import gc
import math
import random
import re
import struct
import sys
import threading
import time
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

import helpers

try:
    import tracemalloc
except ImportError:  # PyPy has no tracemalloc
    tracemalloc = None

#: The no-copy checks need tracemalloc: they run on CPython.
needs_tracemalloc = pytest.mark.skipif(tracemalloc is None, reason="no tracemalloc on this interpreter (PyPy); checked on CPython")
import mylib
from helpers import INT_MAX, INT_MIN, run_backend


# ---------------------------------------------------------------- raw C access
@functools.lru_cache(maxsize=None)
def raw():
    """The library through plain ctypes (not the package), for reference values."""
    lib = ctypes.CDLL(str(helpers.library_path()))
    lib.add.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.add.restype = ctypes.c_int
    lib.mylib_version.restype = ctypes.c_char_p
    lib.mylib_version.argtypes = []
    lib.mylib_last_error.restype = ctypes.c_int
    lib.mylib_last_error_message.restype = ctypes.c_char_p
    lib.mylib_sum_i32.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_int64)]
    lib.mylib_sum_i32.restype = ctypes.c_int
    return lib


def c_message_of_add_overflow() -> str:
    """The library's own message for add(INT_MAX, 1)."""
    lib = raw()
    lib.add(INT_MAX, 1)
    assert lib.mylib_last_error() == 3
    return lib.mylib_last_error_message().decode()


# ---------------------------------------------------------------- exceptions
EXCEPTIONS = [
    ("NullPointerError", 1, ValueError),
    ("InvalidLengthError", 2, ValueError),
    ("MylibOverflowError", 3, OverflowError),
    ("MissingCallbackError", 4, TypeError),
    ("MylibIOError", 5, OSError),
    ("PanicError", 6, RuntimeError),
    ("MisalignedError", 7, ValueError),
    ("CallbackFailedError", 8, RuntimeError),
    ("NoMemoryError", 9, MemoryError),
]


@pytest.mark.parametrize("name, code, base", EXCEPTIONS, ids=[e[0] for e in EXCEPTIONS])
def test_exception_classes_are_exposed_and_shared(m, name, code, base):
    """Each exception subclass is in mylib and in the backend (the same class), subclasses MylibError and its builtin."""
    assert issubclass(mylib.MylibError, Exception)
    assert m.MylibError is mylib.MylibError
    cls = getattr(mylib, name)
    assert getattr(m, name) is cls
    assert issubclass(cls, mylib.MylibError)
    assert issubclass(cls, base)


def test_add_overflow_is_a_mylib_error_with_code_3(m):
    """The OverflowError of an overflowing add is a MylibOverflowError with .code == 3."""
    with pytest.raises(OverflowError) as ei:
        m.add(INT_MAX, 1)
    e = ei.value
    assert isinstance(e, mylib.MylibError)
    assert isinstance(e, mylib.MylibOverflowError)
    assert type(e.code) is int and e.code == 3


def test_add_overflow_message_is_the_library_message(m):
    """str() of the add overflow error carries the library's message (mylib_last_error_message)."""
    with pytest.raises(mylib.MylibError) as ei:
        m.add(INT_MAX, 1)
    assert c_message_of_add_overflow() in str(ei.value)


def test_misaligned_int32_buffer_raises_misaligned_error(m):
    """A misaligned int32 buffer given to sum_array raises MisalignedError (code 7) with the library's message."""
    buf = memoryview(bytearray(20))[1:17].cast("i")
    with pytest.raises(mylib.MisalignedError) as ei:
        m.sum_array(buf)
    e = ei.value
    assert isinstance(e, ValueError) and isinstance(e, mylib.MylibError)
    assert e.code == 7
    # The same call through raw ctypes gives the library's message.
    lib = raw()
    addr = ctypes.addressof(ctypes.c_char.from_buffer(buf.obj)) + 1
    out = ctypes.c_int64()
    assert lib.mylib_sum_i32(addr, 4, ctypes.byref(out)) == 7
    assert lib.mylib_last_error_message().decode() in str(e)


def test_misaligned_float64_buffer_is_read_where_it_lies(m):
    """A misaligned float64 buffer is summed in place, exactly (an exact sum does not care about alignment), though
    the contiguous C function refuses a misaligned pointer (MisalignedError, code 7): the API then reads it through
    mylib_sum_f64_strided."""
    raw_bytes = bytearray(8 * 3 + 1)
    raw_bytes[1:25] = array.array("d", [2.0**53, 1.0, 2.0**-60]).tobytes()
    buf = memoryview(raw_bytes)[1:25].cast("d")
    assert m.fast_sum(buf) == 2.0**53 + 2
    acc = m.ExactSum()
    acc.add(buf)
    assert acc.value() == 2.0**53 + 2
    lib = raw()
    addr = ctypes.addressof(ctypes.c_char.from_buffer(raw_bytes)) + 1
    out = ctypes.c_double()
    assert lib.mylib_sum_f64(ctypes.c_void_p(addr), 3, ctypes.byref(out)) == 7


# ---------------------------------------------------------------- add
@pytest.mark.parametrize(
    "a, b, expected",
    [(5, 3, 8), (-5, 3, -2), (0, 0, 0), (INT_MAX, 0, INT_MAX), (INT_MIN, 0, INT_MIN), (INT_MAX, INT_MIN, -1), (INT_MAX - 1, 1, INT_MAX)],
)
def test_add(m, a, b, expected):
    """add returns the exact int sum inside the C int range."""
    r = m.add(a, b)
    assert type(r) is int
    assert r == expected


@pytest.mark.parametrize(
    "a, b",
    [(2**31, 0), (0, 2**31), (INT_MIN - 1, 0), (2**64, 0), (INT_MAX, 1), (INT_MIN, -1), (INT_MAX, INT_MAX), (INT_MIN, INT_MIN)],
)
def test_add_overflow(m, a, b):
    """add raises OverflowError when an argument or the result does not fit a C int (never truncates)."""
    with pytest.raises(OverflowError):
        m.add(a, b)


@pytest.mark.parametrize("bad", [1.5, "1", None, b"1", [1], Decimal("4.7"), Fraction(9, 2), np.float64(4.0)],
                         ids=["float", "str", "None", "bytes", "list", "Decimal", "Fraction", "np.float64"])
def test_add_rejects_non_ints(m, bad):
    """add raises TypeError for anything operator.index refuses, in either position (cffi once truncated
    Decimal('4.7') to 4)."""
    with pytest.raises(TypeError):
        m.add(bad, 1)
    with pytest.raises(TypeError):
        m.add(1, bad)


class _HostileInt(int):
    """An int subclass whose comparisons fail: the API must not compare it, only index it."""

    def __le__(self, other):
        raise AssertionError("the API compared an int subclass instead of converting it")

    __lt__ = __ge__ = __gt__ = __le__


def test_add_int_subclass_is_converted_not_compared(m):
    """Only exact ints take add's range-checked hot path; a subclass goes through operator.index."""
    assert m.add(_HostileInt(2), _HostileInt(3)) == 5
    assert m.add(True, True) == 2
    with pytest.raises(OverflowError):
        m.add(_HostileInt(INT_MAX), 1)


# ---------------------------------------------------------------- greet
@pytest.mark.parametrize(
    "name, expected",
    [
        ("World", b"Hello, World!\n"),
        ("", b"Hello, !\n"),
        ("Zo\u00eb", "Hello, Zo\u00eb!\n".encode()),
        ("\u65e5\u672c", "Hello, \u65e5\u672c!\n".encode()),
        (b"World", b"Hello, World!\n"),
        (b"\xff", b"Hello, \xff!\n"),
    ],
    ids=["ascii", "empty", "latin", "cjk", "bytes", "non-utf8-bytes"],
)
def test_greet_writes_to_c_stdout(m, capfdbinary, name, expected):
    """greet writes 'Hello, <name>!\\n' to the C stdout: str as UTF-8, bytes as-is."""
    assert m.greet(name) is None
    assert capfdbinary.readouterr().out == expected


@pytest.mark.parametrize("name", ["a\0b", b"a\0b", "\0"])
def test_greet_embedded_nul_is_value_error(m, capfdbinary, name):
    """greet raises ValueError for an embedded NUL and writes nothing."""
    with pytest.raises(ValueError):
        m.greet(name)
    assert capfdbinary.readouterr().out == b""


@pytest.mark.parametrize("bad", [123, 1.5])
def test_greet_rejects_non_strings(m, bad):
    """greet raises TypeError for a name that is neither str nor bytes."""
    with pytest.raises(TypeError):
        m.greet(bad)


def test_greet_output_order_with_piped_stdout(backend_module_name):
    """With stdout a pipe, Python's buffered print output and greet's C output stay in order."""
    proc = run_backend(backend_module_name, """
        print("before")
        m.greet("x")
        print("after")
    """)
    assert proc.stdout == b"before\nHello, x!\nafter\n"


def test_print_point_output_order_with_piped_stdout(backend_module_name):
    """With stdout a pipe, print() output and print_point's C output stay in order."""
    proc = run_backend(backend_module_name, """
        print("before")
        m.print_point((1, 2))
        print("after")
    """)
    assert proc.stdout == b"before\nPoint(1, 2)\nafter\n"


_CLOSED_STDOUT = """
    import os, signal
    import mylib
    if {sigpipe!r} == "default":
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if {how!r} == "pipe-reader-closed":
        r, w = os.pipe()
        os.close(r)
        os.dup2(w, 1)
        os.close(w)
    else:
        os.close(1)
    try:
        {call}
    except BaseException as e:
        res = "|".join(str(x) for x in (type(e).__name__, isinstance(e, mylib.MylibIOError),
                                         isinstance(e, mylib.MylibError), isinstance(e, OSError),
                                         getattr(e, "code", None), e))
    else:
        res = "no exception"
    sys.stderr.write(res + "\\n")
    sys.stderr.flush()
    os._exit(0)
"""


@pytest.mark.parametrize(
    "how, sigpipe",
    [("pipe-reader-closed", "python-default"), ("pipe-reader-closed", "default"), ("closed-fd", "python-default")],
)
@pytest.mark.parametrize("call", ["m.greet('x')", "m.print_point((1, 2))"])
def test_write_to_closed_stdout_raises_io_error(backend_module_name, how, sigpipe, call):
    """Writing to a closed stdout raises MylibIOError (a MylibError and OSError, code 5), without crashing."""
    if sigpipe == "default" and not sys.platform.startswith("linux"):
        pytest.skip("the library only promises no SIGPIPE on Linux")
    proc = run_backend(backend_module_name, _CLOSED_STDOUT.format(how=how, sigpipe=sigpipe, call=call))
    fields = proc.stderr.decode(errors="replace").strip().split("|")
    assert fields[:5] == ["MylibIOError", "True", "True", "True", "5"], proc.stderr
    assert "I/O error writing to stdout" in fields[5], fields  # the library's message


# ---------------------------------------------------------------- greeting
@pytest.mark.parametrize(
    "name, expected",
    [
        ("World", "Hello, World!"),
        ("", "Hello, !"),
        ("Zo\u00eb", "Hello, Zo\u00eb!"),
        ("\u65e5\u672c", "Hello, \u65e5\u672c!"),
        (b"World", "Hello, World!"),
        (b"\xff", "Hello, \udcff!"),
        (b"Zo\xc3\xab", "Hello, Zo\u00eb!"),
    ],
    ids=["ascii", "empty", "latin", "cjk", "bytes", "non-utf8-bytes", "utf8-bytes"],
)
def test_greeting_returns_str(m, name, expected):
    """greeting returns 'Hello, <name>!' as str; non-UTF-8 bytes decode with surrogateescape."""
    r = m.greeting(name)
    assert type(r) is str
    assert r == expected


def test_greeting_surrogateescape_round_trips(m):
    """greeting's non-UTF-8 bytes round-trip through surrogateescape encoding."""
    r = m.greeting(b"\xff\xfe")
    assert r.encode("utf-8", "surrogateescape") == b"Hello, \xff\xfe!"


@pytest.mark.parametrize("name", ["a\0b", b"a\0b"])
def test_greeting_embedded_nul_is_value_error(m, name):
    """greeting raises ValueError for an embedded NUL."""
    with pytest.raises(ValueError):
        m.greeting(name)


def test_greeting_writes_nothing_to_stdout(m, capfdbinary):
    """greeting only returns the text; nothing is printed."""
    m.greeting("quiet")
    assert capfdbinary.readouterr().out == b""


def test_greeting_frees_library_string(backend_module_name):
    """Each greeting releases the library's string with mylib_string_free (seen in the debug log)."""
    proc = run_backend(backend_module_name, """
        m.set_debug(1)
        for name in ("a", "b", "c"):
            assert m.greeting(name) == "Hello, %s!" % name
        m.set_debug(0)
    """)
    lines = proc.stderr.decode().splitlines()
    greetings = [l for l in lines if l.startswith("mylib: mylib_greeting(")]
    frees = [l for l in lines if l.startswith("mylib: mylib_string_free(0x")]
    assert len(greetings) == 3, lines
    assert len(frees) == 3, lines


# ---------------------------------------------------------------- Point / print_point
def test_point_fields_equality_repr(m):
    """Point has .x/.y, compares by value and has a repr naming both coordinates."""
    p = m.Point(3, -4)
    assert (p.x, p.y) == (3, -4)
    assert p == m.Point(3, -4)
    assert p != m.Point(-4, 3)
    assert not (p != m.Point(3, -4))
    r = repr(p)
    assert "Point" in r
    assert r.index("3") < r.index("-4")


@pytest.mark.parametrize(
    "arg, expected",
    [
        ("point", b"Point(1, -2)\n"),
        ((3, 4), b"Point(3, 4)\n"),
        ((INT_MIN, INT_MAX), f"Point({INT_MIN}, {INT_MAX})\n".encode()),
    ],
)
def test_print_point(m, capfdbinary, arg, expected):
    """print_point accepts a Point or an (x, y) tuple and writes 'Point(x, y)\\n' to the C stdout."""
    p = m.Point(1, -2) if arg == "point" else arg
    assert m.print_point(p) is None
    assert capfdbinary.readouterr().out == expected


@pytest.mark.parametrize("coords", [(2**31, 0), (0, 2**31), (INT_MIN - 1, 0), (0, -(2**40))])
def test_print_point_out_of_range_is_overflow(m, capfdbinary, coords):
    """print_point raises OverflowError for coordinates outside the C int range (Point or tuple)."""
    with pytest.raises(OverflowError):
        m.print_point(coords)
    with pytest.raises(OverflowError):
        m.print_point(m.Point(*coords))
    assert capfdbinary.readouterr().out == b""


@pytest.mark.parametrize("bad", [(1, 2, 3), (1,), "ab", "12", 5, None], ids=["3-tuple", "1-tuple", "str", "digits", "int", "None"])
def test_print_point_wrong_shape_is_type_error(m, bad):
    """print_point raises TypeError for something that is not a Point or a 2-tuple."""
    with pytest.raises(TypeError):
        m.print_point(bad)


# ---------------------------------------------------------------- sum_array
def _gen(n):
    yield from range(n)


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: [1, 2, 3, 4], 10),
        (lambda: (1, 2, 3, 4), 10),
        (lambda: range(100), 4950),
        (lambda: _gen(100), 4950),
        (lambda: [], 0),
        (lambda: (), 0),
        (lambda: [INT_MAX] * 3, 3 * INT_MAX),
        (lambda: [INT_MIN] * 3, 3 * INT_MIN),
        (lambda: [INT_MAX, INT_MIN, -1], -2),
    ],
    ids=["list", "tuple", "range", "generator", "empty-list", "empty-tuple", "max*3", "min*3", "mixed"],
)
def test_sum_array_iterables(m, make, expected):
    """sum_array converts any iterable of ints and returns the exact (never wrapped) sum."""
    r = m.sum_array(make())
    assert type(r) is int
    assert r == expected


def _ro(a):
    a = a.copy()
    a.flags.writeable = False
    return a


INT32_BUFFERS = {
    "numpy-int32": lambda v: np.array(v, dtype=np.int32),
    "numpy-int32-readonly": lambda v: _ro(np.array(v, dtype=np.int32)),
    "numpy-intc": lambda v: np.array(v, dtype=np.intc),
    "array-i": lambda v: array.array("i", v),
    "memoryview-i": lambda v: memoryview(array.array("i", v)),
    "bytearray-cast-i": lambda v: memoryview(bytearray(array.array("i", v).tobytes())).cast("i"),
    "bytes-cast-i": lambda v: memoryview(array.array("i", v).tobytes()).cast("i"),
    "numpy-empty": lambda v: np.array(v[:0], dtype=np.int32),
}


@pytest.mark.parametrize("kind", list(INT32_BUFFERS))
def test_sum_array_int32_buffers(m, kind):
    """sum_array takes C-contiguous int32 buffers (numpy, array('i'), memoryview 'i', read-only too) exactly."""
    values = [INT_MAX, INT_MAX, INT_MAX, -7, 0, INT_MIN]
    buf = INT32_BUFFERS[kind](values)
    expected = 0 if kind == "numpy-empty" else sum(values)
    assert m.sum_array(buf) == expected


def test_sum_array_ctypes_int_array(m):
    """sum_array accepts a ctypes c_int array (an int32 buffer, format '<i')."""
    assert m.sum_array((ctypes.c_int * 4)(1, 2, 3, INT_MAX)) == 6 + INT_MAX


def test_sum_array_numpy_int32_large_exact(m):
    """sum_array on a large numpy int32 array is exact (sum far beyond 32 bits)."""
    a = np.full(1_000_000, INT_MAX, dtype=np.int32)
    assert m.sum_array(a) == 1_000_000 * INT_MAX


def test_sum_array_uses_exact_c_sum(backend_module_name):
    """sum_array goes through mylib_sum_i32 (the exact 64-bit sum), as the debug log shows."""
    proc = run_backend(backend_module_name, """
        m.set_debug(1)
        assert m.sum_array([1, 2, 3]) == 6
        m.set_debug(0)
    """)
    lines = proc.stderr.decode().splitlines()
    assert any(l.startswith("mylib: mylib_sum_i32(") and l.endswith("-> 0") for l in lines), lines
    assert not any(l.startswith("mylib: sum_array(") for l in lines), lines


WRONG_INT32_BUFFERS = {
    "numpy-int64": lambda: np.arange(4, dtype=np.int64),
    "numpy-float64": lambda: np.arange(4, dtype=np.float64),
    "numpy-int16": lambda: np.arange(4, dtype=np.int16),
    "numpy-uint32": lambda: np.arange(4, dtype=np.uint32),
    "array-d": lambda: array.array("d", [1.0, 2.0]),
    "array-h": lambda: array.array("h", [1, 2]),
    "bytes": lambda: bytes(16),
    "bytearray": lambda: bytearray(16),
    "numpy-strided": lambda: np.arange(10, dtype=np.int32)[::2],
    "memoryview-strided": lambda: memoryview(array.array("i", range(10)))[::2],
    "str": lambda: "1234",
}


@pytest.mark.parametrize("kind", list(WRONG_INT32_BUFFERS))
def test_sum_array_rejects_other_buffers(m, kind):
    """sum_array raises TypeError for buffers of another item type, non-contiguous int32 buffers and str."""
    with pytest.raises(TypeError):
        m.sum_array(WRONG_INT32_BUFFERS[kind]())


def test_sum_array_non_native_byte_order(m):
    """A big-/little-endian int32 buffer of the other byte order is rejected or summed correctly, never misread."""
    other = ">i4" if sys.byteorder == "little" else "<i4"
    a = np.array([1, 2, 3], dtype=other)
    try:
        r = m.sum_array(a)
    except TypeError:
        return
    assert r == 6


@pytest.mark.parametrize("values", [[2**31], [INT_MIN - 1], [1, 2, 2**40], [2**64]])
def test_sum_array_out_of_range_elements(m, values):
    """sum_array raises OverflowError for a list element outside the int32 range."""
    with pytest.raises(OverflowError):
        m.sum_array(values)


# ---------------------------------------------------------------- no-copy checks
# How "no copy" is checked without timing: tracemalloc sees every allocation
# made through Python's allocators (PyMem/PyObject, hence bytes, array.array,
# lists of ints, ctypes arrays and cffi's ffi.new), and numpy registers its
# data buffers with tracemalloc too. Copying or converting an N-element buffer
# therefore shows up as a traced peak of at least its size (4N or 8N bytes;
# a list conversion far more). The test measures the traced peak during one
# call (after a warm-up call, so one-time caches don't count) and requires it
# to stay far below the buffer size. test_tracemalloc_sees_copies checks the
# instrument itself: copies of the same kinds of buffers are seen.
N_NOCOPY = 1_000_000


def _traced_peak(fn) -> int:
    """Peak traced memory (bytes) during fn() above what was traced before."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before


def _int32_nocopy_buffers():
    base = np.arange(N_NOCOPY, dtype=np.int32)
    return {
        "numpy-int32": base,
        "numpy-int32-readonly": _ro(base),
        "array-i": array.array("i", base.tobytes()),
        "memoryview-bytearray-cast-i": memoryview(bytearray(base.tobytes())).cast("i"),
        "memoryview-bytes-cast-i": memoryview(base.tobytes()).cast("i"),
    }


def _float64_nocopy_buffers():
    base = np.linspace(0.0, 1.0, N_NOCOPY)
    wide = np.linspace(0.0, 1.0, 2 * N_NOCOPY)
    return {
        "numpy-float64": base,
        "numpy-float64-readonly": _ro(base),
        "array-d": array.array("d", base.tobytes()),
        "memoryview-bytes-cast-d": memoryview(base.tobytes()).cast("d"),
        "numpy-strided": wide[::2],
        "numpy-reversed": base[::-1],
        "numpy-column": wide.reshape(-1, 2)[:, 1],
        "numpy-fortran-2d": np.asfortranarray(base.reshape(1000, -1)),
        "memoryview-strided": memoryview(array.array("d", wide.tobytes()))[::2],
    }


@needs_tracemalloc
def test_tracemalloc_sees_copies():
    """Sanity check of the no-copy instrument: tracemalloc sees copies of numpy, array and bytes buffers."""
    for buf in list(_int32_nocopy_buffers().values()) + list(_float64_nocopy_buffers().values()):
        nbytes = memoryview(buf).nbytes
        assert _traced_peak(lambda: memoryview(buf).tobytes()) >= nbytes
    a = np.arange(N_NOCOPY, dtype=np.int32)
    assert _traced_peak(lambda: np.array(a, copy=True)) >= a.nbytes
    part = a[:100_000]
    assert _traced_peak(lambda: array.array("i", part)) >= part.nbytes  # element-wise conversion


@needs_tracemalloc
@pytest.mark.parametrize("kind", list(_int32_nocopy_buffers()))
def test_sum_array_does_not_copy_int32_buffers(m, kind):
    """sum_array passes an int32 buffer to C without copying it (traced peak far below its size)."""
    buf = _int32_nocopy_buffers()[kind]
    nbytes = memoryview(buf).nbytes
    expected = N_NOCOPY * (N_NOCOPY - 1) // 2
    assert m.sum_array(buf) == expected  # warm-up
    peak = _traced_peak(lambda: m.sum_array(buf))
    assert peak < nbytes // 8, f"{peak} bytes traced during the call for a {nbytes}-byte buffer: it was copied"


@needs_tracemalloc
@pytest.mark.parametrize("kind", list(_float64_nocopy_buffers()))
def test_fast_sum_does_not_copy_float64_buffers(m, kind):
    """fast_sum and ExactSum.add pass a float64 buffer of any layout to C without copying it (traced peak far below
    its size): strided, reversed, column and Fortran-ordered views are read where they lie."""
    buf = _float64_nocopy_buffers()[kind]
    nbytes = memoryview(buf).nbytes
    m.fast_sum(buf)  # warm-up
    peak = _traced_peak(lambda: m.fast_sum(buf))
    assert peak < nbytes // 8, f"{peak} bytes traced during the call for a {nbytes}-byte buffer: it was copied"
    acc = m.ExactSum()
    peak = _traced_peak(lambda: acc.add(buf))
    assert peak < nbytes // 8, f"{peak} bytes traced during ExactSum.add for a {nbytes}-byte buffer: it was copied"
    assert acc.value() == m.fast_sum(buf)


# ---------------------------------------------------------------- fast_sum
@pytest.mark.parametrize(
    "values, expected",
    [
        ([0.1] * 10, 1.0),
        ([1.0, 1e100, 1.0, -1e100], 2.0),
        ([1e16, 1.0, -1e16] * 1, 1.0),
        ([1e16, 1.0, -1e16] * 10, 10.0),
        ([1e16, 1.0, -1e16] * 1000, 1000.0),
        ([], 0.0),
        ([2.5], 2.5),
        ([1, 2, 3], 6.0),
        ([1, 0.5], 1.5),
    ],
    ids=["0.1x10", "1e100", "1e16-k1", "1e16-k10", "1e16-k1000", "empty", "single", "ints", "mixed-int-float"],
)
def test_fast_sum_exact_cases(m, values, expected):
    """fast_sum is exact on the classic cancellation cases and accepts ints."""
    r = m.fast_sum(values)
    assert type(r) is float
    assert r == expected


def test_fast_sum_accepts_iterables(m):
    """fast_sum converts tuples, ranges and generators."""
    assert m.fast_sum((0.5, 0.25)) == 0.75
    assert m.fast_sum(range(10)) == 45.0
    assert m.fast_sum(x / 2 for x in range(4)) == 3.0


@functools.lru_cache(maxsize=None)
def _random_mixed(n: int) -> tuple:
    rng = random.Random(12345 + n)
    return tuple(rng.gauss(0.0, 1.0) * 10 ** rng.uniform(-8, 8) for _ in range(n))


@pytest.mark.parametrize("n", [1, 2, 17, 1000, 100_000])
@pytest.mark.parametrize("container", ["list", "numpy"])
def test_fast_sum_is_math_fsum(m, n, container):
    """fast_sum gives the bits of math.fsum on random mixed-magnitude data."""
    data = _random_mixed(n)
    values = list(data) if container == "list" else np.array(data, dtype=np.float64)
    assert m.fast_sum(values).hex() == math.fsum(data).hex()


@pytest.mark.parametrize(
    "values", [[float("nan")], [1.0, float("nan"), 2.0], [float("inf"), float("-inf")]], ids=["nan", "nan-mid", "inf-minus-inf"]
)
def test_fast_sum_nan(m, values):
    """fast_sum gives NaN for NaN input (and for +inf with -inf)."""
    assert math.isnan(m.fast_sum(values))


def test_fast_sum_inf(m):
    """fast_sum of a finite value and +inf is +inf."""
    assert m.fast_sum([1.0, float("inf")]) == float("inf")


FLOAT64_BUFFERS = {
    "numpy-float64": lambda v: np.array(v, dtype=np.float64),
    "numpy-float64-readonly": lambda v: _ro(np.array(v, dtype=np.float64)),
    "array-d": lambda v: array.array("d", v),
    "memoryview-d": lambda v: memoryview(array.array("d", v)),
    "bytes-cast-d": lambda v: memoryview(array.array("d", v).tobytes()).cast("d"),
    "ctypes-double": lambda v: (ctypes.c_double * len(v))(*v),
}


@pytest.mark.parametrize("kind", list(FLOAT64_BUFFERS))
def test_fast_sum_float64_buffers(m, kind):
    """fast_sum takes C-contiguous float64 buffers (numpy, array('d'), memoryview 'd', read-only too)."""
    assert m.fast_sum(FLOAT64_BUFFERS[kind]([0.1] * 10)) == 1.0


WRONG_FLOAT64_BUFFERS = {
    "numpy-float32": lambda: np.ones(4, dtype=np.float32),
    "numpy-int64": lambda: np.ones(4, dtype=np.int64),
    "numpy-int32": lambda: np.ones(4, dtype=np.int32),
    "numpy-longdouble": lambda: np.ones(4, dtype=np.longdouble),
    "array-f": lambda: array.array("f", [1.0]),
    "array-i": lambda: array.array("i", [1]),
    "bytes": lambda: bytes(16),
    "bytearray": lambda: bytearray(16),
    "numpy-big-endian": lambda: np.ones(4, dtype=">f8" if sys.byteorder == "little" else "<f8"),
    "numpy-complex": lambda: np.ones(4, dtype=np.complex128),
    "numpy-strided-float32": lambda: np.ones(10, dtype=np.float32)[::2],
}


@pytest.mark.parametrize("kind", list(WRONG_FLOAT64_BUFFERS))
def test_fast_sum_rejects_other_buffers(m, kind):
    """fast_sum raises TypeError for buffers of another item type (float32 included) or byte order."""
    if kind == "numpy-longdouble" and np.dtype(np.longdouble).itemsize == 8:
        pytest.skip("long double is double on this platform")
    with pytest.raises(TypeError):
        m.fast_sum(WRONG_FLOAT64_BUFFERS[kind]())


# ---------------------------------------------------------------- process
class CallbackBoom(Exception):
    """A custom exception with attributes, raised inside a callback."""

    def __init__(self, message, payload):
        super().__init__(message)
        self.payload = payload


def test_process_returns_callback_result(m):
    """process returns callback(value)."""
    assert m.process(lambda x: x * 2, 21) == 42
    assert m.process(lambda x: -x, INT_MAX) == -INT_MAX
    assert m.process(lambda x: x, INT_MIN) == INT_MIN
    r = m.process(abs, -5)
    assert type(r) is int and r == 5


@pytest.mark.parametrize("exc", [CallbackBoom("boom", {"k": 1}), KeyError("missing"), ZeroDivisionError("zero"), KeyboardInterrupt()],
                         ids=["custom", "KeyError", "ZeroDivisionError", "KeyboardInterrupt"])
def test_process_propagates_callback_exception_unchanged(m, exc):
    """An exception raised in the callback propagates out of process as the very same object."""

    def cb(x):
        raise exc

    with pytest.raises(type(exc)) as ei:
        m.process(cb, 1)
    assert ei.value is exc
    assert any(entry.name == "cb" for entry in ei.traceback), "the callback's frame is missing from the traceback"
    if isinstance(exc, CallbackBoom):
        assert ei.value.payload == {"k": 1}
    # The backend is still usable afterwards.
    assert m.process(lambda x: x + 1, 1) == 2


def test_process_callback_exception_is_not_printed(backend_module_name):
    """A callback's exception is re-raised by process, not printed as an ignored/unraisable exception."""
    proc = run_backend(backend_module_name, """
        def cb(x):
            raise ValueError("inside")
        try:
            m.process(cb, 1)
        except ValueError as e:
            print("caught", e)
    """)
    assert proc.stdout == b"caught inside\n"
    assert proc.stderr == b"", proc.stderr.decode(errors="replace")


@pytest.mark.parametrize("bad", ["x", 1.5, None, b"1", [1]])
def test_process_non_int_result_is_type_error(m, bad):
    """A callback returning a non-int makes process raise TypeError."""
    with pytest.raises(TypeError):
        m.process(lambda x: bad, 1)


@pytest.mark.parametrize("bad", [2**31, INT_MIN - 1, 2**64])
def test_process_out_of_range_result_is_overflow(m, bad):
    """A callback returning an int outside the C int range makes process raise OverflowError."""
    with pytest.raises(OverflowError):
        m.process(lambda x: bad, 1)


@pytest.mark.parametrize("bad", [None, 42, "f"])
def test_process_non_callable_is_type_error(m, bad):
    """process raises TypeError when callback is None or not callable."""
    with pytest.raises(TypeError):
        m.process(bad, 1)


@pytest.mark.parametrize("value", [2**31, INT_MIN - 1])
def test_process_value_out_of_range(m, value):
    """process raises OverflowError for a value outside the C int range (callback not called)."""
    calls = []
    with pytest.raises(OverflowError):
        m.process(lambda x: calls.append(x) or 0, value)
    assert calls == []


def test_process_reentrant(m):
    """A callback may call the library again (add, nested process)."""
    assert m.process(lambda x: m.add(x, 1), 41) == 42
    assert m.process(lambda x: m.process(lambda y: y * 3, x) + 1, 2) == 7
    assert m.process(lambda x: m.sum_array([x, x, x]), 5) == 15


def test_process_reentrant_error_does_not_leak(m):
    """An error inside a nested call that the callback handles does not make the outer process fail."""

    def cb(x):
        try:
            m.add(INT_MAX, 1)
        except OverflowError:
            pass
        return x + 1

    assert m.process(cb, 1) == 2


def test_process_nested_exception_propagates(m):
    """An exception from a nested process call propagates through the outer one unchanged."""
    err = CallbackBoom("deep", 7)

    def inner(_):
        raise err

    with pytest.raises(CallbackBoom) as ei:
        m.process(lambda x: m.process(inner, x), 1)
    assert ei.value is err


def test_process_accepts_any_callable(m):
    """process accepts callable objects, bound methods and builtins, not just functions."""

    class Times:
        def __init__(self, k):
            self.k = k

        def __call__(self, x):
            return x * self.k

        def plus(self, x):
            return x + self.k

    assert m.process(Times(3), 5) == 15
    assert m.process(Times(3).plus, 5) == 8
    assert m.process(functools.partial(pow, 2), 10) == 1024


def test_process_concurrent_threads(m):
    """Concurrent process calls from several threads each get their own callback's result and exceptions."""
    errors = []
    barrier = threading.Barrier(3)

    def work(k):
        try:
            barrier.wait(10)
            for i in range(300):
                def cb(x):
                    time.sleep(0)
                    return x * k
                assert m.process(cb, i) == i * k
                if i % 50 == 0:
                    err = CallbackBoom(f"thread {k}", k)

                    def bad(x):
                        time.sleep(0)
                        raise err

                    try:
                        m.process(bad, i)
                    except CallbackBoom as e:
                        assert e is err
                    else:
                        raise AssertionError("no exception")
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(k,)) for k in (2, 3, 5)]
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        sys.setswitchinterval(old)
    assert errors == []


def test_process_keeps_inline_callback_alive(m):
    """An inline lambda stays alive while C can call it, even with gc.collect() inside it."""
    for i in range(10):
        assert m.process(lambda x: (gc.collect(), x + 1)[1], i) == i + 1


# ---------------------------------------------------------------- debug
def test_debug_enabled_follows_set_debug(m, debug_off, capfd):
    """set_debug turns logging on for any non-zero int/true bool and off for 0/False; debug_enabled reports it."""
    assert m.debug_enabled() is False
    for on in (1, True, 2, -1, 2**32, 2**64):
        m.set_debug(on)
        assert m.debug_enabled() is True, on
        m.set_debug(0)
        assert m.debug_enabled() is False
    m.set_debug(True)
    m.set_debug(False)
    assert m.debug_enabled() is False
    capfd.readouterr()


#: The log line of ``add(5, 3)`` from Python: the API calls the status-returning twin.
ADD_5_3_LOG = re.compile(r"mylib: mylib_add_packed\(5, 3\) -> 8")


def test_set_debug_logs_each_call(backend_module_name):
    """With debug on, each call logs one line like 'mylib: mylib_add_packed(5, 3) -> 8' to stderr; off, nothing."""
    proc = run_backend(backend_module_name, """
        m.set_debug(1)
        assert m.add(5, 3) == 8
        m.set_debug(0)
        assert m.add(1, 2) == 3
    """)
    lines = proc.stderr.decode().splitlines()
    added = [l for l in lines if "add" in l]
    assert len(added) == 1 and ADD_5_3_LOG.fullmatch(added[0]), lines
    assert proc.stdout == b""


@pytest.mark.parametrize("value, on", [("1", True), ("yes", True), ("0", False), ("", False)])
def test_mylib_debug_env(backend_module_name, value, on):
    """MYLIB_DEBUG in the environment turns logging on at load (non-empty, not '0')."""
    proc = run_backend(backend_module_name, """
        print(m.debug_enabled())
        m.add(5, 3)
    """, env={"MYLIB_DEBUG": value})
    assert proc.stdout == f"{on}\n".encode()
    logged = any(ADD_5_3_LOG.fullmatch(line) for line in proc.stderr.decode().splitlines())
    assert logged is on, proc.stderr


# ---------------------------------------------------------------- version
def test_version(m):
    """version() equals the C mylib_version(), mylib.__version__ and the header's MYLIB_VERSION_STRING."""
    v = m.version()
    assert type(v) is str
    assert v == raw().mylib_version().decode()
    assert v == mylib.__version__
    assert v == helpers.header_version()


# ---------------------------------------------------------------- threads / GIL
N_GIL = 2 * 10**7


@pytest.fixture(scope="module")
def big_f64():
    """A 2*10^7-element float64 array of ones (160 MB), shared by the GIL tests."""
    return np.ones(N_GIL, dtype=np.float64)


@pytest.fixture(scope="module")
def big_i32():
    """A 2*10^7-element int32 array of ones (80 MB), shared by the GIL tests."""
    return np.ones(N_GIL, dtype=np.int32)


GIL_ATTEMPTS = 10


def _counter_during(call, attempts: int = GIL_ATTEMPTS):
    """Runs call() while another thread spins a counter (time.sleep(0) each
    turn) under a 10 s switch interval; returns ([(before, after), ...], result).

    The main thread holds the GIL from reading the counter until the C call
    and no forced switch happens within 10 s, so the counter can only move
    during a call if that call released the GIL. A released GIL may still go
    unused when the spinner is not scheduled in time (a short call, a slow
    wake-up), so the call is repeated up to ``attempts`` times, stopping at the
    first one during which the counter moved: one such call proves the
    release, while a call holding the GIL can never move it."""
    counter = [0]
    stop = threading.Event()
    started = threading.Event()

    def spin():
        while not stop.is_set():
            counter[0] += 1
            if counter[0] == 1:
                started.set()
            time.sleep(0)

    old = sys.getswitchinterval()
    sys.setswitchinterval(10)
    t = threading.Thread(target=spin, daemon=True)
    samples = []
    result = None
    try:
        t.start()
        assert started.wait(10)
        for _ in range(attempts):
            before = counter[0]
            result = call()
            after = counter[0]
            samples.append((before, after))
            if after > before:
                break
    finally:
        stop.set()
        t.join(30)
        sys.setswitchinterval(old)
    return samples, result


def _moved(samples) -> bool:
    return any(after > before for before, after in samples)


@pytest.mark.skipif(not hasattr(ctypes, "PyDLL"), reason="ctypes.PyDLL (a call that holds the GIL) does not exist on PyPy")
def test_gil_instrument_detects_a_held_gil(big_f64):
    """Sanity check of the GIL instrument: a call that holds the GIL (ctypes.PyDLL) never lets the counter move."""
    lib = ctypes.PyDLL(str(helpers.library_path()))
    f = lib.mylib_sum_f64
    f.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_double)]
    f.restype = ctypes.c_int
    out = ctypes.c_double()
    addr = big_f64.ctypes.data
    samples, status = _counter_during(lambda: f(addr, N_GIL, ctypes.byref(out)), attempts=3)
    assert status == 0 and out.value == float(N_GIL)
    assert len(samples) == 3 and not _moved(samples), samples


def test_fast_sum_releases_gil(m, big_f64):
    """fast_sum on a large array releases the GIL: another thread runs during the call."""
    samples, result = _counter_during(lambda: m.fast_sum(big_f64))
    assert result == float(N_GIL)
    assert _moved(samples), f"the spinning thread never ran during fast_sum: the GIL was held {samples}"


def test_sum_array_releases_gil(m, big_i32):
    """sum_array on a large int32 array releases the GIL: another thread runs during the call."""
    samples, result = _counter_during(lambda: m.sum_array(big_i32))
    assert result == N_GIL
    assert _moved(samples), f"the spinning thread never ran during sum_array: the GIL was held {samples}"


def test_concurrent_sums_are_correct(m):
    """Two threads summing large arrays at the same time both get correct results."""
    n = 3_000_000
    f = np.arange(n, dtype=np.float64)
    i = np.arange(n, dtype=np.int32)
    expected_f = float(n * (n - 1) // 2)
    expected_i = n * (n - 1) // 2
    barrier = threading.Barrier(2)
    results: dict[str, list] = {"f": [], "i": []}
    errors = []

    def work(key, fn):
        try:
            barrier.wait(10)
            for _ in range(5):
                results[key].append(fn())
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [
        threading.Thread(target=work, args=("f", lambda: m.fast_sum(f))),
        threading.Thread(target=work, args=("i", lambda: m.sum_array(i))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert results["f"] == [expected_f] * 5
    assert results["i"] == [expected_i] * 5


def test_errors_are_per_thread(m):
    """Errors in one thread never leak into another thread's calls (the C last-error slot is per thread)."""
    errors = []
    barrier = threading.Barrier(2)

    def failing():
        barrier.wait(10)
        for _ in range(2000):
            try:
                m.add(INT_MAX, 1)
            except OverflowError:
                continue
            errors.append("add(INT_MAX, 1) did not raise")

    def succeeding():
        barrier.wait(10)
        for k in range(2000):
            try:
                assert m.add(k, 1) == k + 1
                assert m.sum_array([k, 1]) == k + 1
            except BaseException as e:  # noqa: BLE001
                errors.append(repr(e))

    threads = [threading.Thread(target=failing), threading.Thread(target=succeeding)]
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        sys.setswitchinterval(old)
    assert errors == []


# ---------------------------------------------------------------- exhausted memory
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc/self/statm")
@pytest.mark.parametrize("name_type", ["str", "bytes"])
def test_exhausted_memory_is_no_memory_error_not_an_abort(backend_module_name, name_type):
    """Under an address-space limit too small for mylib's copy of a 64 MiB name, greeting() raises NoMemoryError (a
    MemoryError and a MylibError, code 9); the process does not abort, and a small greeting works afterwards."""
    proc = run_backend(backend_module_name, f"""
        import resource
        name = "n" * (64 << 20)
        if {name_type!r} == "bytes":
            name = name.encode()
        page = resource.getpagesize()
        with open("/proc/self/statm") as f:
            vm = int(f.read().split()[0]) * page
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        # Room for the binding's own copy of the name (a str is encoded once; bytes are
        # passed as they are), and half a name more: not enough for mylib's copy.
        room = (1.5 if {name_type!r} == "str" else 0.5) * len(name)
        resource.setrlimit(resource.RLIMIT_AS, (vm + int(room), hard))
        try:
            m.greeting(name)
        except MemoryError as e:
            print(type(e).__name__, isinstance(e, m.MylibError), getattr(e, "code", None))
        else:
            print("no error")
        del name
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        print(m.greeting("small"))
    """)
    lines = proc.stdout.decode().splitlines()
    if sys.implementation.name == "pypy" and (backend_module_name == "ctypes_binding" or name_type == "str"):
        # PyPy's ctypes copies a bytes argument itself, and PyPy's str encoding needs GC-dependent room: the
        # binding's own copy may fail first -- Python's MemoryError, not mylib's, and still no abort.
        assert lines in (["NoMemoryError True 9", "Hello, small!"], ["MemoryError False None", "Hello, small!"]), lines
    else:
        assert lines == ["NoMemoryError True 9", "Hello, small!"], lines


# ---------------------------------------------------------------- threads
def test_num_threads_set_get_and_bad_values(m):
    """set_num_threads(1..1024) sets it, 0 restores the default; others are InvalidLengthError / MylibOverflowError /
    TypeError and change nothing; large sums give the same bits whatever the count."""
    default = m.num_threads()
    assert type(default) is int and default >= 1
    data = np.random.default_rng(5).standard_normal(3_000_000) * 1e10
    reference = m.fast_sum(data)
    try:
        for n in (1, 2, 3, 1024):
            m.set_num_threads(n)
            assert m.num_threads() == n
            assert m.fast_sum(data).hex() == reference.hex(), n
        m.set_num_threads(2)
        for bad, exc in ((-1, mylib.InvalidLengthError), (1025, mylib.InvalidLengthError), (2**31, mylib.MylibOverflowError),
                         (1.5, TypeError), ("2", TypeError), (None, TypeError)):
            with pytest.raises(exc):
                m.set_num_threads(bad)
            assert m.num_threads() == 2, bad
        m.set_num_threads(np.int64(3))
        assert m.num_threads() == 3
    finally:
        m.set_num_threads(0)
    assert m.num_threads() == default
    lib = ctypes.CDLL(str(helpers.library_path()))
    assert lib.mylib_set_num_threads(-5) == 2 and lib.mylib_get_num_threads() == default


def test_mylib_num_threads_environment(backend_module_name):
    """MYLIB_NUM_THREADS in the environment is the default: a valid count is used, anything else ignored."""

    def threads(value):
        return int(run_backend(backend_module_name, "print(m.num_threads())", env={"MYLIB_NUM_THREADS": value}).stdout)

    default = threads(None)
    assert threads("3") == 3
    assert threads(" 2\n") == 2
    for ignored in ("abc", "0", "9999", "-2", "1e3"):
        assert threads(ignored) == default, ignored
