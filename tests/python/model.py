"""A pure-Python model of mylib's public API: what every backend must do,
written independently of the package (from the rules in ``mylib._api``'s
docstring and the header), for the differential property tests.

Each model function returns the value the API must return, or raises the
exception it must raise (same class; ``.code`` for ``MylibError``). The
``fast_sum`` model is the exact sum (``fractions.Fraction``) rounded once by
Python's own correctly rounded ``float(Fraction)``.
"""

from __future__ import annotations

import ctypes
import math
import operator
import sys
from fractions import Fraction

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


def _buffer(values, formats: set, itemsize: int, any_layout: bool = False):
    """The items of a buffer the kernel takes, or None when ``values`` is not a
    buffer. ``sum_array`` takes C-contiguous, aligned int32 buffers; the float
    sums take float64 buffers of any layout and alignment."""
    try:
        mv = memoryview(values)
    except TypeError:
        return None
    if mv.format not in formats or mv.itemsize != itemsize or not (any_layout or mv.c_contiguous):
        raise TypeError("model: buffer type or layout")
    n = mv.nbytes // itemsize
    if n and not any_layout and _address(mv) % itemsize:
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


def exact_sum(items: list) -> float:
    """The exact sum of float ``items`` rounded once (ties to even), NaN and
    infinities as IEEE 754 adds them; ``MylibOverflowError`` when the exact sum
    is beyond the float range."""
    if any(math.isnan(x) for x in items) or (math.inf in items and -math.inf in items):
        return math.nan
    if math.inf in items or -math.inf in items:
        return math.inf if math.inf in items else -math.inf
    try:
        return float(sum(map(Fraction, items), Fraction(0)))
    except OverflowError:
        raise mylib.MylibOverflowError(OVERFLOW, "model") from None


def fast_sum(values) -> float:
    items = _buffer(values, F64_FORMATS, 8, any_layout=True)
    if items is None:
        if isinstance(values, (str, bytes, bytearray)) or not hasattr(values, "__iter__"):
            raise TypeError("model: not iterable")
        items = [_float(v) for v in values]
    return exact_sum(items)


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
