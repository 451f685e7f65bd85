"""mylib through ctypes: ``argtypes``/``restype`` for every export in one
block, Python-side range checks (ctypes silently truncates), library-owned
strings received as ``c_void_p`` and freed by the library."""

from __future__ import annotations

import ctypes
from ctypes import CFUNCTYPE, POINTER, c_char_p, c_double, c_int, c_int64, c_size_t, c_void_p

from . import _common, _loader
from ._common import *  # noqa: F401,F403  (the exceptions and Point, re-exported)
from ._common import MissingCallbackError, PointLike, documented

from ._exports import API as __all__  # noqa: E402,F401

BACKEND = "ctypes"

_lib, _candidate = _loader.load_ctypes()


class CPoint(ctypes.Structure):
    """The C ``Point`` struct."""

    _fields_ = [("x", c_int), ("y", c_int)]


callback_t = CFUNCTYPE(c_int, c_int)
mylib_callback_fn = CFUNCTYPE(c_int, c_void_p, c_int, POINTER(c_int))

# Every export of include/mylib.h (checked against the header by the tests).
_SIGNATURES = {
    "add": (c_int, [c_int, c_int]),
    "greet": (None, [c_char_p]),
    "print_point": (None, [POINTER(CPoint)]),
    "sum_array": (c_int, [POINTER(c_int), c_int]),
    "process": (c_int, [callback_t, c_int]),
    "fast_sum": (None, [POINTER(c_double), c_int, POINTER(c_double)]),
    "set_debug": (None, [c_int]),
    "mylib_last_error": (c_int, []),
    "mylib_last_error_message": (c_char_p, []),  # static / slot-owned: never freed by the caller
    "mylib_status_str": (c_char_p, [c_int]),  # static
    "mylib_version": (c_char_p, []),  # static
    "mylib_get_debug": (c_int, []),
    "mylib_set_num_threads": (c_int, [c_int]),
    "mylib_get_num_threads": (c_int, []),
    "mylib_sum_i32": (c_int, [c_void_p, c_size_t, POINTER(c_int64)]),
    "mylib_sum_f64": (c_int, [c_void_p, c_size_t, POINTER(c_double)]),
    "mylib_greeting": (c_int, [c_char_p, POINTER(c_void_p)]),  # c_void_p: the library owns it until freed
    "mylib_string_free": (None, [c_void_p]),
    "mylib_process": (c_int, [mylib_callback_fn, c_void_p, c_int, POINTER(c_int)]),
    "mylib_add": (c_int, [c_int, c_int, POINTER(c_int)]),
    "mylib_greet": (c_int, [c_char_p]),
    "mylib_print_point": (c_int, [POINTER(CPoint)]),
}
for _name, (_restype, _argtypes) in _SIGNATURES.items():
    _f = getattr(_lib, _name)
    _f.restype = _restype
    _f.argtypes = _argtypes
del _name, _restype, _argtypes, _f

_loader.check_version(_lib.mylib_version().decode(), _candidate)

_add = _lib.add
_greet = _lib.greet
_print_point = _lib.print_point
_sum_i32 = _lib.mylib_sum_i32
_sum_f64 = _lib.mylib_sum_f64
_last_error = _lib.mylib_last_error
_last_message = _lib.mylib_last_error_message


def _raise_last(code: int | None = None) -> None:
    code = _last_error() if code is None else code
    raise _common.error(code, _last_message().decode("utf-8", "replace"))


# ---------------------------------------------------------------- buffers
class _PyBuffer(ctypes.Structure):
    _fields_ = [
        ("buf", c_void_p),
        ("obj", ctypes.py_object),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", c_int),
        ("ndim", c_int),
        ("format", c_char_p),
        ("shape", c_void_p),
        ("strides", c_void_p),
        ("suboffsets", c_void_p),
        ("internal", c_void_p),
    ]


_PyObject_GetBuffer = ctypes.pythonapi.PyObject_GetBuffer
_PyObject_GetBuffer.argtypes = [ctypes.py_object, POINTER(_PyBuffer), c_int]
_PyObject_GetBuffer.restype = c_int
_PyBuffer_Release = ctypes.pythonapi.PyBuffer_Release
_PyBuffer_Release.argtypes = [POINTER(_PyBuffer)]
_PyBuffer_Release.restype = None
_PyBUF_C_CONTIGUOUS = 0x0020 | 0x0008  # PyBUF_C_CONTIGUOUS includes PyBUF_STRIDES


def _sum(kernel, mv: memoryview, out):
    """Calls ``kernel(address, length, out)`` on ``mv``'s memory, without a copy.
    ctypes can only point into writable buffers, so the buffer's address is
    taken through the buffer protocol itself (read-only ones included)."""
    n = mv.nbytes // mv.itemsize
    if n == 0:
        status = kernel(None, 0, out)
    else:
        view = _PyBuffer()
        _PyObject_GetBuffer(mv, ctypes.byref(view), _PyBUF_C_CONTIGUOUS)
        try:
            status = kernel(view.buf, n, out)
        finally:
            _PyBuffer_Release(ctypes.byref(view))
    if status:
        _raise_last(status)
    return out.value


# ---------------------------------------------------------------- the API
# A second, undeclared function object for add's hot path: ctypes' argtypes
# conversion costs more than the call itself, and add() checks the ints first.
_add_unchecked = _lib["add"]


@documented
def add(a: int, b: int) -> int:
    if a.__class__ is int and b.__class__ is int:
        s = a + b
        if -2147483648 <= a <= 2147483647 and -2147483648 <= b <= 2147483647 and -2147483648 <= s <= 2147483647:
            return _add_unchecked(a, b)
    a = _common.check_int(a, "a", "add")
    b = _common.check_int(b, "b", "add")
    s = a + b
    if not (_common.INT_MIN <= s <= _common.INT_MAX):
        raise _common.overflow("add", f"{a} + {b} = {s}")
    return _add(a, b)


@documented
def greet(name: str | bytes) -> None:
    data = _common.c_string(name)
    _common.flush_python_stdout()
    _greet(data)
    if _last_error():
        _raise_last()


@documented
def greeting(name: str | bytes) -> str:
    data = _common.c_string(name)
    out = c_void_p()
    status = _lib.mylib_greeting(data, ctypes.byref(out))
    if status:
        _raise_last(status)
    try:
        return _common.decode(ctypes.string_at(out.value))
    finally:
        _lib.mylib_string_free(out)


@documented
def print_point(p: PointLike) -> None:
    x, y = _common.point_coords(p)
    cp = CPoint(x, y)
    _common.flush_python_stdout()
    _print_point(ctypes.byref(cp))
    if _last_error():
        _raise_last()


@documented
def sum_array(values) -> int:
    return _sum(_sum_i32, _common.int32_buffer(values), c_int64())


@documented
def fast_sum(values) -> float:
    return _sum(_sum_f64, _common.float64_buffer(values), c_double())


_trampoline = callback_t(_common.trampoline)  # made once, kept for the process' lifetime
_process = _lib.process
_current_call = _common.current_call


@documented
def process(callback, value: int) -> int:
    _common.check_callback(callback)
    value = _common.check_int(value, "value", "process")
    token = _current_call.set(state := [callback, None])  # keeps the callable alive during the call
    try:
        r = _process(_trampoline, value)
    finally:
        _current_call.reset(token)
    if state[1] is not None:
        raise state[1]
    return r


@documented
def set_debug(enabled: object) -> None:
    _lib.set_debug(1 if enabled else 0)


@documented
def debug_enabled() -> bool:
    return bool(_lib.mylib_get_debug())


@documented
def version() -> str:
    return _lib.mylib_version().decode()
