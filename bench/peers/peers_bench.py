"""make bench-peers: the seed's comparison of ways to call native code from
Python, with measured figures in place of its marks.

The same three operations through every route:

- add:      add two ints, ``add(3, 4)``;
- sum:      sum a float64 array (1e3 and 1e7 elements by default);
- callback: native code calls a Python function with an int and gets an int
            back, ``process(square, 7)``.

Routes: pure Python and CPython builtins, numpy, raw ctypes and raw cffi
against libmylib, each mylib backend that imports (``mylib.BACKENDS``), a PyO3
module (maturin), a Cython module and Numba. Every route's results are checked
before it is timed (a wrong route stops the run). Timing: rounds in which every
route is timed once (timeit, enough calls for ``--min-time`` seconds); a figure
is the median over rounds, a ratio the median of the per-round ratios of the
route's time to the baseline's time in that same round. Baselines: add →
``operator.add(3, 4)``; sum → ``numpy.sum``; callback → raw ctypes.

Writes ``bench/results/peers.json`` and ``bench/results/peers.png``.

    make bench-peers
    target/peers-venv/bin/python bench/peers/peers_bench.py --sizes 1e3 1e5 --rounds 5
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib
import importlib.metadata
import io
import json
import math
import operator
import os
import platform
import statistics
import subprocess
import sys
import time
import timeit
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
BINDINGS = ROOT / "bindings" / "python"
CYTHON_DIR = ROOT / "target" / "peers" / "cython"
for _p in (str(BINDINGS), str(CYTHON_DIR)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import numpy as np  # noqa: E402

import mylib  # noqa: E402
from mylib import _loader  # noqa: E402

INT_MAX = 2**31 - 1
U = 2.0**-53  # unit roundoff of float64

# What a route's sum computes; it decides how its result is checked.
KERNEL = "mylib kernel"  # exact: the bits of math.fsum, on every route
NAIVE = "naive loop"  # left to right: within (n-1)·u·Σ|x| of the exact sum
PAIRWISE = "numpy pairwise"  # pairwise: within the same bound
FSUM = "math.fsum"  # correctly rounded


class CheckFailed(AssertionError):
    """A route returned a wrong value: it is not timed, the run stops."""


@dataclass
class Route:
    """One way to call native code from Python, for the three operations.

    ``add(a, b)``, ``sum(data)`` and ``process(cb, value)`` are called as
    given; ``prepare`` turns the float64 array into what ``sum`` takes (e.g.
    a list), outside the timing; ``wrap`` turns a Python function of one int
    into what ``process`` takes (a ctypes or cffi callback object, a compiled
    function), once, outside the timing, as a user of that route would.
    """

    name: str
    group: str  # python | numpy | raw | mylib | peer
    build: str  # what the route needs beyond CPython
    add: Callable | None = None
    sum: Callable | None = None
    sum_does: str | None = None
    process: Callable | None = None
    prepare: Callable = lambda a: a  # noqa: E731
    wrap: Callable = lambda f: f  # noqa: E731
    notes: list[str] = field(default_factory=list)
    import_code: str | None = None  # what `import` costs, timed in a fresh interpreter
    import_env: dict[str, str] = field(default_factory=dict)
    compile_ms: float | None = None  # JIT routes: the first calls' compile time


# ------------------------------------------------------------------ routes
def library_path() -> str:
    return _loader.locate().path


def as_list(a: np.ndarray) -> list:
    """The array as a list of Python floats: what pure-Python code sums."""
    return a.tolist()


def pure_python_routes() -> list[Route]:
    def py_add(a, b):
        return a + b

    def py_process(f, value):
        return f(value)

    return [
        Route("pure Python", "python", "nothing", add=py_add, sum=sum, sum_does=NAIVE, process=py_process,
              prepare=as_list, notes=["sum: builtin sum() of a list of floats"]),
        Route("CPython builtins", "python", "nothing", add=operator.add, sum=math.fsum, sum_does=FSUM,
              prepare=as_list, notes=["add: operator.add (the add baseline); sum: math.fsum of a list"],
              import_code="import operator, math"),
    ]


def numpy_route() -> Route:
    return Route("numpy", "numpy", "numpy wheel", add=np.add, sum=np.sum, sum_does=PAIRWISE,
                 notes=["add: numpy.add on two Python ints; sum: numpy.sum (the sum baseline)"],
                 import_code="import numpy")


def raw_ctypes_route(path: str) -> Route:
    lib = ctypes.CDLL(path)
    callback_t = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)
    lib.add.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.add.restype = ctypes.c_int
    lib.fast_sum.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_double)]
    lib.fast_sum.restype = None
    lib.process.argtypes = [callback_t, ctypes.c_int]
    lib.process.restype = ctypes.c_int
    out = ctypes.c_double()
    fast_sum = lib.fast_sum

    def raw_sum(a):
        fast_sum(a.ctypes.data, len(a), out)
        return out.value

    return Route("raw ctypes -> libmylib", "raw", "nothing (stdlib)", add=lib.add, sum=raw_sum, sum_does=KERNEL,
                 process=lib.process, wrap=callback_t,
                 notes=["tutorial functions add/fast_sum/process with argtypes; callback: CFUNCTYPE made once "
                        "(the callback baseline)"],
                 import_code=f"import ctypes; ctypes.CDLL({path!r})")


RAW_CDEF = """
    typedef int (*callback_t)(int);
    int add(int a, int b);
    void fast_sum(const double *data, int size, double *result);
    int process(callback_t func, int value);
"""


def raw_cffi_route(path: str) -> Route:
    from cffi import FFI

    ffi = FFI()
    ffi.cdef(RAW_CDEF)
    lib = ffi.dlopen(path)
    out = ffi.new("double *")
    fast_sum, from_buffer = lib.fast_sum, ffi.from_buffer

    def raw_sum(a):
        fast_sum(from_buffer("double[]", a), len(a), out)
        return out[0]

    return Route("raw cffi ABI -> libmylib", "raw", "cffi", add=lib.add, sum=raw_sum, sum_does=KERNEL,
                 process=lib.process, wrap=lambda f: ffi.callback("int(int)", f),
                 notes=["tutorial functions through ffi.dlopen; callback: ffi.callback made once"],
                 import_code=f"from cffi import FFI; ffi = FFI(); ffi.cdef({RAW_CDEF!r}); ffi.dlopen({path!r})")


def raw_cffi_api_route() -> Route | None:
    """mylib's own compiled cffi module, called raw (no wrapper)."""
    try:
        from mylib._mylib_cffi import ffi, lib  # type: ignore[import-not-found]
    except ImportError:
        return None
    out = ffi.new("double *")
    fast_sum, from_buffer = lib.fast_sum, ffi.from_buffer

    def raw_sum(a):
        fast_sum(from_buffer("double[]", a), len(a), out)
        return out[0]

    return Route("raw cffi API -> libmylib", "raw", "cffi + C compiler", add=lib.add, sum=raw_sum, sum_does=KERNEL,
                 process=lib.process, wrap=lambda f: ffi.callback("int(int)", f),
                 notes=["mylib's compiled cffi module (mylib._mylib_cffi), called without mylib's wrapper"],
                 import_code="from mylib._mylib_cffi import ffi, lib", import_env={"MYLIB_BACKEND": "ctypes"})


# What each mylib backend needs to build, by module name (unknown ones: "mylib package").
BACKEND_BUILD = {
    "ctypes_binding": "libmylib only",
    "cffi_binding": "cffi",
    "cffi_compiled": "cffi + C compiler",
    "capi": "C compiler",
}


def mylib_backend_routes() -> tuple[list[Route], dict[str, str]]:
    """A route per backend of mylib.BACKENDS that imports; the others with why not."""
    backends = mylib.BACKENDS
    pairs = backends.items() if isinstance(backends, dict) else ((b, b) for b in backends)
    routes, skipped = [], {}
    for name, module in pairs:
        modname = module.__name__ if isinstance(module, types.ModuleType) else f"mylib.{module}"
        try:
            mod = importlib.import_module(modname)
        except ImportError as exc:
            skipped[name] = f"{modname}: {exc}".splitlines()[0]
            continue
        short = modname.rsplit(".", 1)[-1]
        routes.append(Route(modname, "mylib", BACKEND_BUILD.get(short, "mylib package"), add=mod.add,
                            sum=mod.fast_sum, sum_does=KERNEL, process=mod.process,
                            notes=[f"mylib backend {name!r}: add, fast_sum, process as the package exports them"],
                            import_code=f"import {modname}", import_env={"MYLIB_BACKEND": name}))
    return routes, skipped


def pyo3_route() -> Route:
    import peers_pyo3  # type: ignore[import-not-found]

    return Route("PyO3 (maturin) -> mylib crate", "peer", "Rust + maturin", add=peers_pyo3.add,
                 sum=peers_pyo3.fast_sum, sum_does=KERNEL, process=peers_pyo3.process,
                 notes=["mylib as a Rust path dependency: mylib::core::add / core::sum_f64 on the buffer (no copy), "
                        "mylib_process with a trampoline through user_data (bench/peers/pyo3)"],
                 import_code="import peers_pyo3")


def cython_routes() -> list[Route]:
    import peers_cython  # type: ignore[import-not-found]

    env = {"PYTHONPATH": str(CYTHON_DIR)}
    return [
        Route("Cython -> mylib.h", "peer", "Cython + C compiler", add=peers_cython.add, sum=peers_cython.fast_sum,
              sum_does=KERNEL, process=peers_cython.process,
              notes=["declared from include/mylib.h, links libmylib: mylib_add, mylib_sum_f64 on a typed "
                     "memoryview, mylib_process with a trampoline through user_data (bench/peers/cython)"],
              import_code="import peers_cython", import_env=env),
        Route("Cython typed loop", "peer", "Cython + C compiler", sum=peers_cython.fast_sum_loop, sum_does=NAIVE,
              notes=["what Cython is known for: a typed C loop over a double[::1] memoryview"],
              import_code="import peers_cython", import_env=env),
    ]


def numba_routes(path: str) -> list[Route]:
    """Numba: @njit functions, and @njit calling libmylib through ctypes (which
    Numba compiles to a direct call) with a callback compiled by @cfunc."""
    import numba
    from numba import cfunc, njit, types as nt

    @njit
    def nb_add(a, b):
        return a + b

    @njit
    def nb_sum_loop(a):
        s = 0.0
        for i in range(a.shape[0]):
            s += a[i]
        return s

    lib = ctypes.CDLL(path)
    sum_f64 = lib.mylib_sum_f64
    sum_f64.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    sum_f64.restype = ctypes.c_int
    process = lib.process
    process.argtypes = [ctypes.c_void_p, ctypes.c_int]
    process.restype = ctypes.c_int

    @njit
    def nb_sum_mylib(a):
        out = np.empty(1)
        status = sum_f64(a.ctypes, a.size, out.ctypes)
        if status != 0:
            raise ValueError("mylib_sum_f64 failed")
        return out[0]

    @njit
    def nb_process(callback_address, value):
        return process(callback_address, value)

    def wrap(f):
        # The Python function compiled to a C callback: no Python runs in the round trip.
        return cfunc(nt.int32(nt.int32))(f).address

    build = f"numba {numba.__version__} (LLVM JIT)"
    return [
        Route("Numba @njit", "peer", build, add=nb_add, sum=nb_sum_loop, sum_does=NAIVE,
              notes=["compiled Python: add is int64 a + b; sum is the Python loop, compiled"],
              import_code="import numba"),
        Route("Numba @njit -> libmylib (ctypes)", "peer", build, sum=nb_sum_mylib, sum_does=KERNEL,
              process=nb_process, wrap=wrap,
              notes=["ctypes functions called from nopython code: mylib_sum_f64 on the array; process(cb, v) "
                     "where cb is the Python function compiled by @cfunc (no Python call inside)"],
              import_code="import numba"),
    ]


def all_routes() -> tuple[list[Route], dict[str, str]]:
    path = library_path()
    routes = pure_python_routes() + [numpy_route(), raw_ctypes_route(path), raw_cffi_route(path)]
    skipped: dict[str, str] = {}
    api = raw_cffi_api_route()
    if api is None:
        skipped["raw cffi API"] = "mylib._mylib_cffi is not built"
    else:
        routes.append(api)
    backend_routes, skipped_backends = mylib_backend_routes()
    routes += backend_routes
    skipped.update(skipped_backends)
    # The peers are what this bench is for: a missing one is an error, not a skip.
    routes.append(pyo3_route())
    routes += cython_routes()
    routes += numba_routes(path)
    return routes, skipped


BASELINE = {"add": "CPython builtins", "sum": "numpy", "process": "raw ctypes -> libmylib"}


# ------------------------------------------------------------------ checks
def square(x):
    return x * x


def increment(x):
    return x + 1


def fails(x):
    return 1 // (x - x)


def ulps(x: float, ref: float) -> float:
    return 0.0 if x == ref else abs(x - ref) / math.ulp(ref)


def check_sum_value(route: Route, got: Any, data: np.ndarray, exact: float) -> float:
    """`got` is a float that is right for what the route's sum does."""
    if not isinstance(got, (float, np.floating)):
        raise CheckFailed(f"{route.name}: sum returned {type(got).__name__}, not a float")
    got = float(got)
    n = len(data)
    if route.sum_does in (KERNEL, FSUM):
        if got.hex() != exact.hex():  # both the exact sum rounded once: the same bits
            raise CheckFailed(f"{route.name}: sum of {n} values is {got!r}, math.fsum gives {exact!r} "
                              f"({ulps(got, exact):.1f} ulp apart)")
    else:
        bound = max(n - 1, 0) * U * float(np.sum(np.abs(data)))
        if abs(got - exact) > bound:
            raise CheckFailed(f"{route.name}: sum of {n} values is {got!r}, math.fsum gives {exact!r}: "
                              f"error {abs(got - exact):.3g} over the bound (n-1)u·Σ|x| = {bound:.3g}")
    return got


def check_route(route: Route, arrays: list[np.ndarray], exacts: list[float]) -> dict[str, float]:
    """Calls every operation of the route on known inputs; raises CheckFailed on a
    wrong result. Returns the route's sums of `arrays` (to compare across routes)."""
    if route.add is not None:
        for a, b in [(3, 4), (2, 3), (-7, 4), (0, 0), (INT_MAX - 1, 1), (-INT_MAX - 1, 0), (-5, -6)]:
            got = route.add(a, b)
            if not isinstance(got, (int, np.integer)) or got != a + b:
                raise CheckFailed(f"{route.name}: add({a}, {b}) returned {got!r}, not {a + b}")
    sums = {}
    if route.sum is not None:
        for data, exact in zip(arrays, exacts):
            sums[len(data)] = check_sum_value(route, route.sum(route.prepare(data)), data, exact)
        empty = route.sum(route.prepare(np.empty(0)))
        if empty != 0.0:
            raise CheckFailed(f"{route.name}: the sum of no values is {empty!r}, not 0.0")
        if route.sum_does == KERNEL:
            # Cancellation that a naive loop gets wrong: only an exact (or compensated) sum gives 1000.
            tricky = np.array([1e16, 1.0, -1e16] * 1000)
            got = route.sum(route.prepare(tricky))
            if got != 1000.0:
                raise CheckFailed(f"{route.name}: sum of [1e16, 1, -1e16]*1000 is {got!r}, not 1000.0 "
                                  "(is it mylib's exact kernel?)")
    if route.process is not None:
        for f, values in [(square, [7, -12, 0, 46340]), (increment, [41, -1, INT_MAX - 1])]:
            cb = route.wrap(f)
            for v in values:
                got = route.process(cb, v)
                if not isinstance(got, (int, np.integer)) or got != f(v):
                    raise CheckFailed(f"{route.name}: process({f.__name__}, {v}) returned {got!r}, not {f(v)}")
    return sums


def check_same_kernel(routes: list[Route], sums: dict[str, dict[int, float]]) -> None:
    """Every route that calls mylib's kernel returns the very same bits."""
    kernel = [r.name for r in routes if r.sum_does == KERNEL]
    for n in {n for s in sums.values() for n in s}:
        values = {name: sums[name][n] for name in kernel if n in sums[name]}
        if len({v.hex() for v in values.values()}) > 1:
            raise CheckFailed(f"routes calling mylib's kernel disagree on the sum of {n} values: {values}")


# ------------------------------------------------------------------ behaviour on bad input (observed)
@contextlib.contextmanager
def captured_stderr():
    """Collects what Python writes to stderr and to the unraisable hook (a
    ctypes callback's exception) while the block runs."""
    buf = io.StringIO()
    old_hook, old_err = sys.unraisablehook, sys.stderr
    sys.unraisablehook = lambda u: buf.write(f"unraisable {type(u.exc_value).__name__}\n")
    sys.stderr = buf
    try:
        yield buf
    finally:
        sys.unraisablehook, sys.stderr = old_hook, old_err


def outcome(fn: Callable, expected: Any) -> str:
    """What calling fn() did: raised X / the right value / a wrong one, silently."""
    with captured_stderr() as err:
        try:
            got = fn()
        except Exception as exc:  # noqa: BLE001  (any exception is an outcome)
            return f"raises {type(exc).__name__}"
    printed = " (prints a traceback)" if err.getvalue() else ""
    if got == expected:
        return f"returns {got!r}{printed}"
    return f"WRONG: returns {got!r}{printed}"


def observe(route: Route) -> dict[str, str]:
    """Bad inputs and what the route does with them (no run stops here)."""
    obs = {}
    if route.add is not None:
        # The exact sum does not fit a C int: raising or staying exact are both right.
        got = outcome(lambda: route.add(INT_MAX, 1), INT_MAX + 1)
        obs["add(INT_MAX, 1)"] = got if "WRONG" not in got else got.replace("WRONG: returns", "wraps to")
        # Not an int: refusing it or adding exactly (3.5) are both right; truncating is not.
        obs["add(1.5, 2)"] = outcome(lambda: route.add(1.5, 2), 3.5)
    if route.sum is not None:
        ints = np.arange(10, dtype=np.int64)
        obs["sum of an int64 array"] = outcome(lambda: float(route.sum(route.prepare(ints))), 45.0)
        strided = np.arange(20.0)[::2]
        obs["sum of a strided view"] = outcome(lambda: float(route.sum(route.prepare(strided))), 90.0)
    if route.process is not None:
        try:
            cb = route.wrap(fails)
        except Exception as exc:  # noqa: BLE001  (a compiled route may refuse it)
            obs["callback raises"] = f"cannot be built ({type(exc).__name__})"
        else:
            obs["callback raises"] = outcome(lambda: route.process(cb, 7), None).replace("WRONG: ", "ignored, ")
    return obs


# ------------------------------------------------------------------ timing
def calibrate(timer: timeit.Timer, min_time: float) -> int:
    """Calls per sample so that one sample lasts at least min_time seconds."""
    number = 1
    while True:
        dt = timer.timeit(number)
        if dt >= min_time:
            return number
        number = max(number * 2, int(number * min_time / dt * 1.2) + 1) if dt > 0 else number * 10


def measure(cases: dict[str, timeit.Timer], baseline: str, rounds: int, min_time: float) -> dict[str, dict]:
    """Seconds per call of each case (median over rounds) and its ratio to the
    baseline (median over rounds of the per-round ratio)."""
    numbers = {k: calibrate(t, min_time) for k, t in cases.items()}
    samples: dict[str, list[float]] = {k: [] for k in cases}
    names = list(cases)
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]  # rotate: no route is always first
        for k in order:
            samples[k].append(cases[k].timeit(numbers[k]) / numbers[k])
    base = samples[baseline]
    return {
        k: {
            "seconds": statistics.median(s),
            "ratio": statistics.median(x / b for x, b in zip(s, base)),
            "calls_per_sample": numbers[k],
            "samples": s,
        }
        for k, s in samples.items()
    }


def timers(routes: list[Route], op: str, data: np.ndarray | None = None) -> dict[str, timeit.Timer]:
    out = {}
    prepared: dict[Callable, Any] = {}  # one list of 1e7 floats, not one per route
    for r in routes:
        fn = getattr(r, op)
        if fn is None:
            continue
        if op == "add":
            out[r.name] = timeit.Timer("fn(a, b)", globals={"fn": fn, "a": 3, "b": 4})
        elif op == "sum":
            if r.prepare not in prepared:
                prepared[r.prepare] = r.prepare(data)
            out[r.name] = timeit.Timer("fn(x)", globals={"fn": fn, "x": prepared[r.prepare]})
        else:
            out[r.name] = timeit.Timer("fn(cb, v)", globals={"fn": fn, "cb": r.wrap(square), "v": 7})
    return out


def import_ms(route: Route, repeats: int = 3) -> float | None:
    """Milliseconds to run the route's import code in a fresh interpreter
    (median of `repeats`), beyond the interpreter's own start."""
    if route.import_code is None:
        return None
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BINDINGS), route.import_env.get("PYTHONPATH"),
                                                      env.get("PYTHONPATH")]))
    env.update({k: v for k, v in route.import_env.items() if k != "PYTHONPATH"})
    code = f"import time; t = time.perf_counter(); {route.import_code}; print(time.perf_counter() - t)"
    times = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env)
        times.append(float(out.stdout.strip().splitlines()[-1]) * 1e3)
    return statistics.median(times)


# ------------------------------------------------------------------ report
def sci(n: int) -> str:
    """1000 -> 1e3, 10000000 -> 1e7, 1500 -> 1500."""
    exp = len(str(n)) - 1
    return f"1e{exp}" if n == 10**exp else str(n)


def fmt_ns(seconds: float) -> str:
    ns = seconds * 1e9
    if ns >= 1e6:
        return f"{ns / 1e6:.1f} ms"
    if ns >= 1e4:
        return f"{ns / 1e3:.1f} us"
    return f"{ns:.0f} ns"


def cell(res: dict | None, size: int | None = None) -> str:
    if res is None:
        return "-"
    if size is not None and size >= 10**5:
        return f"{8 * size / res['seconds'] / 1e9:.2f} GB/s ({res['ratio']:.2f}x)"
    return f"{fmt_ns(res['seconds'])} ({res['ratio']:.2f}x)"


def table(data: dict) -> str:
    sizes = data["sizes"]
    rows = data["routes"]
    lines = []
    p = lines.append
    p("== the seed's comparison, measured (one run; time per call, or GB/s of the float64 data for large sums;")
    p("   (Nx) = the route's time / the baseline's time, the median of the ratios taken round by round, so it")
    p("   can differ from the ratio of the medians shown. Baselines: add: operator.add(3, 4); sum: numpy.sum;")
    p("   callback: raw ctypes. import: a fresh interpreter's `import` of the route, +JIT: Numba's first calls)")
    head = ["route", "needs", "import", "add(3, 4)", "callback"] + [f"sum {sci(n)}" for n in sizes]
    body = []
    for r in rows:
        imp = "-" if r["import_ms"] is None else f"{r['import_ms']:.{1 if r['import_ms'] < 10 else 0}f} ms"
        if r["compile_ms"] is not None:
            imp += f" +JIT {r['compile_ms']:.0f} ms"
        body.append([r["name"], r["build"], imp, cell(r["add"]), cell(r["process"])]
                    + [cell(r["sum"].get(str(n)), n) for n in sizes])
    widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(len(head))]
    p("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    p("  ".join("-" * w for w in widths))
    for b in body:
        p("  ".join(str(x).ljust(w) for x, w in zip(b, widths)))
    p("")
    p("== what each route does, and what it did with bad input (observed in this run)")
    keys = ["add(INT_MAX, 1)", "add(1.5, 2)", "sum of an int64 array", "sum of a strided view", "callback raises"]
    head = ["route", "sum computes"] + keys
    body = [[r["name"], r["sum_does"] or "-"] + [r["observed"].get(k, "-") for k in keys] for r in rows]
    widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(len(head))]
    p("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    p("  ".join("-" * w for w in widths))
    for b in body:
        p("  ".join(str(x).ljust(w) for x, w in zip(b, widths)))
    p("")
    for r in rows:
        for note in r["notes"]:
            p(f"  {r['name']}: {note}")
    for name, why in data["skipped"].items():
        p(f"  not run: {name} ({why})")
    p("")
    p("== the seed's \"~32x faster\", measured: pure Python's time / the fastest route's time")
    for c in data["claims"]:
        p(f"  {c['operation']:10s} {c['ratio']:8.1f}x   (fastest: {c['fastest']}, {fmt_ns(c['fastest_seconds'])}; "
          f"pure Python {fmt_ns(c['python_seconds'])})")
    if data["goals"]:
        p("")
        p("== issue 11 goals, set for mylib.capi (ratios from the rounds above); the other backends for comparison")
        for g in data["goals"]:
            if g["goal"].startswith("mylib.capi "):
                verdict = "MET" if g["met"] else "NOT MET"
            else:
                verdict = "(comparison)"
            p(f"  {g['goal']:58s} {g['value']:6.2f} <= {g['needed']:.2f}  {verdict}")
    return "\n".join(lines)


def claims(data: dict) -> list[dict]:
    """For each operation: pure Python's time over the fastest route's time."""
    out = []
    ops = [("add", "add", None), ("callback", "process", None)] + [
        (f"sum {sci(n)}", "sum", str(n)) for n in data["sizes"]]
    for label, op, n in ops:
        timed = {r["name"]: (r[op] if n is None else r[op].get(n)) for r in data["routes"]}
        timed = {k: v for k, v in timed.items() if v is not None}
        if "pure Python" not in timed:
            continue
        fastest = min(timed, key=lambda k: timed[k]["seconds"])
        py = timed["pure Python"]["seconds"]
        out.append({"operation": label, "ratio": py / timed[fastest]["seconds"], "fastest": fastest,
                    "fastest_seconds": timed[fastest]["seconds"], "python_seconds": py})
    return out


def goals(data: dict) -> list[dict]:
    """Issue 11's per-call goals (item 1), for every mylib backend measured here."""
    out = []
    small = [n for n in data["sizes"] if n <= 1000]
    for r in data["routes"]:
        if r["group"] != "mylib":
            continue
        items = [(f"{r['name']} add / operator.add", r["add"], 2.0),
                 (f"{r['name']} callback / raw ctypes callback", r["process"], 0.9)]
        items += [(f"{r['name']} fast_sum {sci(n)} / numpy.sum", r["sum"].get(str(n)), 0.5) for n in small]
        for text, res, need in items:
            if res is not None:
                out.append({"goal": text, "value": res["ratio"], "needed": need, "met": res["ratio"] <= need})
    return out


def plot(data: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"python": "tab:gray", "numpy": "tab:blue", "raw": "tab:orange", "mylib": "tab:green",
              "peer": "tab:purple"}
    panels = [("add", None, "add(3, 4): ns per call"), ("process", None, "callback round trip: ns per call")]
    panels += [("sum", str(n), f"sum of {sci(int(n))} float64: " + ("GB/s" if n >= 10**5 else "ns per call"))
               for n in data["sizes"]]
    cols = 2
    rows_n = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows_n, cols, figsize=(15, 4.5 * rows_n), squeeze=False)
    for ax, (op, n, title) in zip(axes.flat, panels):
        entries = [(r, r[op] if n is None else r[op].get(n)) for r in data["routes"]]
        entries = [(r, res) for r, res in entries if res is not None]
        gbps = n is not None and int(n) >= 10**5
        vals = [8 * int(n) / res["seconds"] / 1e9 if gbps else res["seconds"] * 1e9 for _, res in entries]
        names = [r["name"] for r, _ in entries]
        ax.barh(names, vals, color=[colors.get(r["group"], "black") for r, _ in entries])
        ax.set_xscale("log")
        ax.invert_yaxis()
        ax.set_title(title + (" (longer is faster)" if gbps else " (shorter is faster)"))
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(True, axis="x", which="both", alpha=0.3)
        for y, (v, (_, res)) in enumerate(zip(vals, entries)):
            ax.text(v, y, f" {res['ratio']:.2f}x", va="center", fontsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    labels = {"python": "Python itself", "numpy": "numpy", "raw": "raw ctypes / cffi", "mylib": "mylib backends",
              "peer": "PyO3, Cython, Numba"}
    from matplotlib.patches import Patch

    fig.legend(handles=[Patch(color=colors[g], label=labels[g]) for g in labels], loc="lower center", ncol=5)
    fig.suptitle(f"mylib {mylib.__version__}: routes from Python to native code, one run "
                 "(labels: time / baseline's time)")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ------------------------------------------------------------------ main
def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "implementation": platform.python_implementation(),
           "machine": platform.machine(), "system": platform.platform(), "cpus": str(os.cpu_count()),
           "mylib": mylib.__version__, "numpy": np.__version__}
    for mod in ("cffi", "numba", "Cython", "matplotlib"):
        try:
            out[mod] = importlib.import_module(mod).__version__
        except ImportError:
            pass
    try:
        out["maturin"] = importlib.metadata.version("maturin")
    except importlib.metadata.PackageNotFoundError:
        pass
    lock = ROOT / "bench" / "peers" / "pyo3" / "Cargo.lock"
    if lock.is_file():  # the pyo3 crate the module was built with
        text = lock.read_text()
        at = text.find('name = "pyo3"\nversion = "')
        if at >= 0:
            out["pyo3"] = text[at:].split('"')[3]
    return out


def run(sizes: list[int], rounds: int, min_time: float, out_dir: Path | None, seed: int = 11,
        routes: list[Route] | None = None, skipped: dict[str, str] | None = None) -> dict:
    if routes is None:
        routes, skipped = all_routes()
    skipped = skipped or {}
    rng = np.random.default_rng(seed)
    arrays = [rng.random(n) for n in sizes]
    exacts = [math.fsum(a) for a in arrays]
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731

    log(f"peers: checking {len(routes)} routes on sizes {sizes}")
    sums = {}
    for r in routes:
        t0 = time.perf_counter()
        sums[r.name] = check_route(r, arrays, exacts)
        if r.build.startswith("numba"):
            r.compile_ms = (time.perf_counter() - t0) * 1e3  # first calls compile (the checks' time is minor)
    check_same_kernel(routes, sums)
    log("peers: every route returns the right values; timing")

    results: dict[str, dict] = {r.name: {"add": None, "process": None, "sum": {}} for r in routes}
    for op in ("add", "process"):
        for name, res in measure(timers(routes, op), BASELINE[op], rounds, min_time).items():
            results[name][op] = res
    for n, data in zip(sizes, arrays):
        for name, res in measure(timers(routes, "sum", data), BASELINE["sum"], rounds, min_time).items():
            results[name]["sum"][str(n)] = res
        log(f"peers: timed sums of {sci(n)}")

    report = {
        "sizes": sizes, "rounds": rounds, "min_time": min_time, "seed": seed, "baselines": BASELINE,
        "versions": versions(), "skipped": skipped,
        "routes": [{"name": r.name, "group": r.group, "build": r.build, "sum_does": r.sum_does, "notes": r.notes,
                    "import_ms": import_ms(r), "compile_ms": r.compile_ms, "observed": observe(r),
                    **results[r.name]} for r in routes],
    }
    report["claims"] = claims(report)
    report["goals"] = goals(report)
    text = table(report)
    print(text)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "peers.txt").write_text(text + "\n")
        (out_dir / "peers.json").write_text(json.dumps(report, indent=2) + "\n")
        plot(report, out_dir / "peers.png")
        print(f"\nwrote {out_dir / 'peers.json'}, {out_dir / 'peers.txt'} and {out_dir / 'peers.png'}")
    return report


def parse_size(text: str) -> int:
    """An array size such as 1000, 1e3 or 1e7 (a whole number >= 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value >= 1 and value == int(value)):
        raise argparse.ArgumentTypeError(f"a size is a whole number >= 1, not {text!r}")
    return int(value)


def positive(kind: type) -> Callable[[str], Any]:
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {kind.__name__}: {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, not {text!r}")
        return value

    return parse


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", nargs="+", type=parse_size, default=[10**3, 10**7],
                    help="array sizes for the sum (default 1e3 1e7)")
    ap.add_argument("--rounds", type=positive(int), default=7,
                    help="timing rounds; figures are medians over them (default 7)")
    ap.add_argument("--min-time", type=positive(float), default=0.05, help="seconds per sample (default 0.05)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="where the JSON, text and PNG go")
    args = ap.parse_args(argv)
    run(args.sizes, args.rounds, args.min_time, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
