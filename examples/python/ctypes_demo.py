"""mylib from Python with ctypes: first the raw tutorial way, then the wrapper.

Run from the checkout after `make` (or with the package installed):
    python examples/python/ctypes_demo.py
"""

import ctypes
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))  # the checkout's package

from mylib import _loader  # noqa: E402  (finds the library the same way the package does)
import mylib.ctypes_binding as m  # noqa: E402

path = _loader.locate().path
print(f"library: {path}")

# --- Raw ctypes, as the tutorials write it (with argtypes: ctypes does not check ranges!)
lib = ctypes.CDLL(path)
lib.add.argtypes = [ctypes.c_int, ctypes.c_int]
lib.add.restype = ctypes.c_int
print("raw add(5, 3) =", lib.add(5, 3))
print("raw add(2**31 - 1, 1) =", lib.add(2**31 - 1, 1), "-- wrapped; mylib_last_error() =", lib.mylib_last_error())

arr = (ctypes.c_int * 4)(1, 2, 3, 4)
print("raw sum_array =", lib.sum_array(arr, 4))

CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)
square = CALLBACK(lambda x: x * x)  # keep a reference while C may call it
print("raw process(square, 7) =", lib.process(square, 7))
sys.stdout.flush()  # the library writes to the C stdout: flush Python's first
lib.greet(b"ctypes")

# --- The wrapper: same library, checked arguments, exceptions
print("add(5, 3) =", m.add(5, 3))
try:
    m.add(2**31 - 1, 1)
except OverflowError as exc:
    print(f"add(2**31 - 1, 1) -> {type(exc).__name__} (code {exc.code}): {exc}")
print("sum_array([2**31 - 1] * 3) =", m.sum_array([2**31 - 1] * 3), "(exact)")
print("fast_sum([0.1] * 10) =", m.fast_sum([0.1] * 10))
print("process(lambda x: x * x, 7) =", m.process(lambda x: x * x, 7))
m.greet("ctypes wrapper")
m.print_point(m.Point(3, 4))
print("greeting('Zoë') =", m.greeting("Zoë"))
try:
    m.sum_array([1.5])
except TypeError as exc:
    print("sum_array([1.5]) -> TypeError:", exc)
print("version", m.version())
