"""mylib from Python with cffi: the raw ABI-mode way, then the wrappers.

Run from the checkout after `make` (or with the package installed):
    python examples/python/cffi_demo.py
"""

import os
import sys

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))  # the checkout's package

import mylib  # noqa: E402
from mylib import _loader  # noqa: E402

path = _loader.locate().path

# --- Raw cffi ABI mode, declarations copied from the tutorial
ffi = FFI()
ffi.cdef("""
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
""")
lib = ffi.dlopen(path)
print("raw add(5, 3) =", lib.add(5, 3))
print("raw sum_array =", lib.sum_array(ffi.new("int[]", [1, 2, 3, 4]), 4))
result = ffi.new("double *")
lib.fast_sum(ffi.new("double[]", [0.1] * 10), 10, result)
print("raw fast_sum =", result[0])


@ffi.callback("int(int)")
def square(x):
    return x * x


print("raw process(square, 7) =", lib.process(square, 7))
lib.fast_sum(ffi.NULL, 3, result)
print("raw fast_sum(NULL, 3, ...) -> mylib_last_error() =", lib.mylib_last_error())
sys.stdout.flush()
lib.print_point(ffi.new("Point *", [1, 2]))

# --- The wrapper: the fastest backend available
print(f"mylib backend: {mylib.BACKEND}")
print("sum_array(range(10)) =", mylib.sum_array(range(10)))
print("fast_sum([1.0, 1e100, 1.0, -1e100]) =", mylib.fast_sum([1.0, 1e100, 1.0, -1e100]))


def failing(x):
    raise ValueError(f"callback refused {x}")


try:
    mylib.process(failing, 5)
except ValueError as exc:
    print("process(failing, 5) -> ValueError:", exc)
mylib.greet("cffi")
try:
    mylib.greet("nul\0inside")
except ValueError as exc:
    print("greet with NUL -> ValueError:", exc)
sys.stdout.flush()  # keep stdout and the stderr log in order
mylib.set_debug(True)
mylib.add(5, 3)  # logs "mylib: add(5, 3) -> 8" on stderr
mylib.set_debug(False)
