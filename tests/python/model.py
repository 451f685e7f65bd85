"""A pure-Python model of mylib's public API: what every backend must do,
written independently of the package (from the rules in ``mylib._api``'s
docstring and the header), for the differential property tests.

Each model function returns the value the API must return, or raises the
exception it must raise (same class; ``.code`` for ``MylibError``). The
``fast_sum`` model replays the library's documented algorithm (16-lane
Neumaier, lanes then compensations then the tail) in Python floats, which are
the same IEEE doubles with the same rounding, so its result is the library's
to the bit on inputs below the parallel threshold.
"""

from __future__ import annotations

import ctypes
import math
import operator
import sys

import mylib

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
OVERFLOW, INVALID_LENGTH, MISSING_CALLBACK, MISALIGNED = 3, 2, 4, 7

_NATIVE = "<" if sys.byteorder == "little" else ">"
INT32_FORMATS = {"i", "@i", "=i", _NATIVE + "i"} | ({"l", "@l"} if ctypes.sizeof(ctypes.c_long) == 4 else set())
F64_FORMATS = {"d", "@d", "=d", _NATIVE + "d"}


def _int(v) -> int:
    i = int(operator.index(v))  # TypeError for anything else; an exact int on every Python
    if not INT_MIN <= i <= INT_MAX:
        raise mylib.MylibOverflowError(OVERFLOW, "model")
    return i


def add(a, b) -> int:
    a, b = _int(a), _int(b)
    if not INT_MIN <= a + b <= INT_MAX:
        raise mylib.MylibOverflowError(OVERFLOW, "model")
    return a + b


def _name_bytes(name) -> bytes:
    if isinstance(name, str):
        data = name.encode("utf-8", "surrogateescape")  # UnicodeEncodeError (a ValueError) for other surrogates
    elif isinstance(name, (bytes, bytearray, memoryview)):
        data = bytes(name)
    else:
        raise TypeError("model: name")
    if b"\0" in data:
        raise ValueError("model: NUL")
    return data


def greeting(name) -> str:
    return (b"Hello, " + _name_bytes(name) + b"!").decode("utf-8", "surrogateescape")


def greet_output(name) -> bytes:
    """What ``greet`` writes to the C stdout."""
    return b"Hello, " + _name_bytes(name) + b"!\n"


def print_point_output(p) -> bytes:
    if isinstance(p, mylib.Point):
        x, y = p.x, p.y
    elif isinstance(p, tuple) and len(p) == 2:
        x, y = p
    else:
        raise TypeError("model: point")
    return f"Point({_int(x)}, {_int(y)})\n".encode()


def _address(mv: memoryview) -> int:
    """The address of a (C-contiguous, non-empty) memoryview's first byte, read-only ones included."""
    import numpy as np

    return np.frombuffer(mv, dtype=np.uint8).ctypes.data


def _buffer(values, formats: set, itemsize: int):
    """The items of a buffer the kernel takes, or None when ``values`` is not a buffer."""
    try:
        mv = memoryview(values)
    except TypeError:
        return None
    if mv.format not in formats or mv.itemsize != itemsize or not mv.c_contiguous:
        raise TypeError("model: buffer type or layout")
    n = mv.nbytes // itemsize
    if n and _address(mv) % itemsize:
        raise mylib.MisalignedError(MISALIGNED, "model")
    import array

    return list(array.array(mv.format.lstrip("@=<>"), mv.tobytes()))


def sum_array(values) -> int:
    items = _buffer(values, INT32_FORMATS, 4)
    if items is None:
        if isinstance(values, (str, bytes, bytearray)) or not hasattr(values, "__iter__"):
            raise TypeError("model: not iterable")
        items = [_int(v) for v in values]
    return sum(items)


def _float(v) -> float:
    if isinstance(v, (str, bytes, bytearray, complex)) or v is None:
        raise TypeError("model: not a real number")
    try:
        return float(v) if hasattr(type(v), "__float__") else float(operator.index(v))
    except OverflowError:
        raise mylib.MylibOverflowError(OVERFLOW, "model") from None


def _neumaier(s: float, c: float, x: float) -> tuple[float, float]:
    t = s + x
    if abs(s) >= abs(x):
        c += (s - t) + x
    else:
        c += (x - t) + s
    return t, c


def kernel_sum_f64(data: list[float]) -> float:
    """The library's compensated sum (src/kernels.rs), step for step."""
    lanes = 16
    s, c = [0.0] * lanes, [0.0] * lanes
    blocks = len(data) // lanes
    for b in range(blocks):
        for i in range(lanes):
            s[i], c[i] = _neumaier(s[i], c[i], data[b * lanes + i])
    tail = data[blocks * lanes:]
    total, comp = 0.0, 0.0
    for v in s:
        total, comp = _neumaier(total, comp, v)
    if not math.isfinite(total):
        for x in tail:
            total += x
        return total
    for v in c:
        total, comp = _neumaier(total, comp, v)
    for x in tail:
        total, comp = _neumaier(total, comp, x)
    return total + comp if math.isfinite(total) else total


def fast_sum(values) -> float:
    items = _buffer(values, F64_FORMATS, 8)
    if items is None:
        if isinstance(values, (str, bytes, bytearray)) or not hasattr(values, "__iter__"):
            raise TypeError("model: not iterable")
        items = [_float(v) for v in values]
    return kernel_sum_f64(items)


def process(callback, value) -> int:
    if callback is None:
        raise mylib.MissingCallbackError(MISSING_CALLBACK, "model")
    if not callable(callback):
        raise TypeError("model: not callable")
    r = callback(_int(value))  # the callback's own exception propagates
    try:
        i = int(operator.index(r))
    except TypeError:
        raise TypeError("model: callback result") from None
    if not INT_MIN <= i <= INT_MAX:
        raise mylib.MylibOverflowError(OVERFLOW, "model")
    return i
