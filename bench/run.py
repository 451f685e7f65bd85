"""make bench: every way to call mylib, side by side, in one run.

Rows: Rust called directly; the library from C; a plain C reference compiled
at -O2 (bench/bench_c.c); raw ctypes, raw cffi ABI, raw cffi API; each mylib
backend; numpy; pure Python. Figures: ns per call (add, process), GB/s for the
sums at each size, a read-bandwidth reference; the exact sum against numpy.sum
(one thread and the default threads), math.fsum and the xsum crate (Rust
direct), and its error in ulps against the condition number beside numpy.sum
and a plain loop. All figures are medians of repeats; every goal is a ratio of
figures taken in this same run. Writes bench/results/bench.{json,txt,png} and
bench/results/accuracy.png (under PyPy: bench-pypy.*, with PyPy's own goals:
the default backend's add and process within 1.3 times a raw cffi API-mode
call).

    make bench                 # sizes 1e3 1e5 1e7 1e8
    MYLIB_BENCH_SIZES="1e3 1e5" make bench
    make bench-pypy            # the same under pypy3
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bindings" / "python"))
OUT = ROOT / "bench" / "results"
PYPY = sys.implementation.name == "pypy"
STEM = "bench-pypy" if PYPY else "bench"  # each interpreter keeps its own results

import numpy as np  # noqa: E402
from cffi import FFI  # noqa: E402

import mylib  # noqa: E402
from mylib import _loader  # noqa: E402

import importlib  # noqa: E402
import operator  # noqa: E402


def _import_backends():
    """Every backend of mylib.BACKENDS that imports here, fastest first: row name -> module."""
    found = {}
    for name, module in mylib.BACKENDS.items():
        try:
            found[f"mylib.{module}"] = importlib.import_module(f"mylib.{module}")
        except ImportError as exc:
            print(f"  (mylib.{module} not measured: {exc})", file=sys.stderr)
    return found


BACKENDS = _import_backends()
DEFAULT = f"mylib.{mylib.BACKENDS[mylib.BACKEND]}"  # what import mylib gives
from mylib._mylib_cffi import ffi as api_ffi, lib as api_lib  # noqa: E402

SIZES = [int(float(s)) for s in os.environ.get("MYLIB_BENCH_SIZES", "1e3 1e5 1e7 1e8").split()]
REPEATS = 7


_LOOP = """
def loop(fn, n):
    t0 = perf_counter()
    for _ in range(n):
        fn()
    return perf_counter() - t0
"""


def timing_loop():
    """``loop(fn, n)``: seconds for n calls of fn, in code of its own. PyPy's
    JIT compiles one loop per place in the code: a loop shared by every row is
    specialised for the first callable timed in it and reaches the others
    through bridges (PyPy's figures came out 2-6 times off, in any order). On
    CPython it is the same loop as ever (fn a local)."""
    ns = {"perf_counter": time.perf_counter}
    exec(compile(_LOOP, "<bench timing loop>", "exec"), ns)  # noqa: S102 - our own constant
    return ns["loop"]


def calls_per_sample(loop, fn, min_sample):
    """How many calls of fn take at least min_sample seconds (warming loop up)."""
    n = 1
    while True:
        dt = loop(fn, n)
        if dt >= min_sample or n >= 1 << 24:
            return n
        n *= 2 if dt == 0 else max(2, min(16, int(min_sample / dt) + 1))


def median_time(fn, min_sample=0.02, repeats=REPEATS):
    """Seconds per call of fn: median of `repeats` samples of >= min_sample s."""
    loop = timing_loop()
    n = calls_per_sample(loop, fn, min_sample)
    return statistics.median(loop(fn, n) / n for _ in range(repeats))


def paired_ratio(fa, fb, repeats=11):
    """Median over interleaved samples of time(fa) / time(fb): both sides see
    the same machine noise, so the ratio is steadier than a ratio of medians."""
    loop_a, loop_b = timing_loop(), timing_loop()
    na = calls_per_sample(loop_a, fa, 0.02)
    nb = calls_per_sample(loop_b, fb, 0.02)
    ratios = []
    for _ in range(repeats):
        a = loop_a(fa, na) / na
        b = loop_b(fb, nb) / nb
        ratios.append(a / b)
    return statistics.median(ratios)


def run_json(cmd, **kw):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout
    return json.loads(out)


# ------------------------------------------------------------- native parts
def native_results():
    env = dict(os.environ)
    subprocess.run(["cargo", "build", "--release", "--quiet", "--example", "bench_direct"], cwd=ROOT, check=True)
    rust = run_json([str(ROOT / "target/release/examples/bench_direct"), *map(str, SIZES)])
    build = ROOT / "target" / "bench"
    build.mkdir(parents=True, exist_ok=True)
    exe = build / "bench_c"
    subprocess.run(
        ["cc", "-std=c11", "-O2", "-pthread", "-Wall", "-Wextra", "-Werror", f"-I{ROOT}/include", str(ROOT / "bench/bench_c.c"),
         "-o", str(exe), f"-L{ROOT}/target/release", "-lmylib", f"-Wl,-rpath,{ROOT}/target/release"],
        check=True,
    )
    c = run_json([str(exe), *map(str, SIZES)], env=env)
    subprocess.run(["cc", "-std=c11", "-O2", "-pthread", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared",
                    str(ROOT / "bench/cref.c"), "-o", str(build / "libcref.so")], check=True)
    return rust, c


def paired_goals(n):
    """The large-array goals as paired ratios: mylib, numpy, the C loop and the
    read-bandwidth reference timed alternately on the very same arrays."""
    cref = ctypes.CDLL(str(ROOT / "target" / "bench" / "libcref.so"))
    cref.ref_sum_f64.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    cref.ref_sum_f64.restype = ctypes.c_double
    cref.ref_sum_i32.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    cref.ref_sum_i32.restype = ctypes.c_int64
    cref.read_bandwidth.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    cref.read_bandwidth.restype = ctypes.c_int64
    cref.read_bandwidth_threads.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    cref.read_bandwidth_threads.restype = ctypes.c_int64
    cref.read_threads_for.argtypes = [ctypes.c_size_t, ctypes.c_int]
    cref.read_threads_for.restype = ctypes.c_int
    rng = np.random.default_rng(2)
    f = rng.random(n)
    i = rng.integers(-1000, 1000, n, dtype=np.int32)
    threads = cref.read_threads_for(f.nbytes, api_lib.mylib_get_num_threads())  # the threads fast_sum(f) uses
    mine_f = lambda: mylib.fast_sum(f)  # noqa: E731  (the default backend)
    mine_i = lambda: mylib.sum_array(i)  # noqa: E731
    out = api_ffi.new("int64_t *")
    # time(reference) / time(mylib) = mylib's speed / the reference's speed
    return {
        "f64 / numpy.sum": paired_ratio(lambda: np.sum(f), mine_f),
        "f64 / C loop": paired_ratio(lambda: cref.ref_sum_f64(f.ctypes.data, n), mine_f),
        "f64 / read bandwidth": paired_ratio(lambda: cref.read_bandwidth(f.ctypes.data, f.nbytes), mine_f),
        "f64 / all-core read": paired_ratio(
            lambda: cref.read_bandwidth_threads(f.ctypes.data, f.nbytes, threads), mine_f),
        "threads": threads,
        "i32 / numpy.sum": paired_ratio(lambda: np.sum(i), mine_i),
        "i32 / read bandwidth": paired_ratio(lambda: cref.read_bandwidth(i.ctypes.data, i.nbytes), mine_i),
        # the tutorial signature against the exact 64-bit entry point, both raw cffi API
        "sum_array / mylib_sum_i32": paired_ratio(
            lambda: api_lib.mylib_sum_i32(api_ffi.from_buffer("int[]", i), n, out),
            lambda: api_lib.sum_array(api_ffi.from_buffer("int[]", i), n),
        ),
    }


# ------------------------------------------------------------- Python parts
def raw_handles():
    path = _loader.locate().path
    raw = ctypes.CDLL(path)  # tutorial style: no declarations
    raw_decl = ctypes.CDLL(path)
    raw_decl.add.argtypes = [ctypes.c_int, ctypes.c_int]
    raw_decl.add.restype = ctypes.c_int
    ffi = FFI()
    ffi.cdef("""
        typedef int (*callback_t)(int);
        int add(int a, int b);
        int process(callback_t func, int value);
        void fast_sum(const double *data, int size, double *result);
        int sum_array(const int *arr, int size);
        int mylib_sum_i32(const int *data, size_t len, int64_t *sum_out);
    """)
    abi = ffi.dlopen(path)
    return raw, raw_decl, ffi, abi


def per_call_results():
    raw, raw_decl, ffi, abi = raw_handles()
    square = lambda x: x * x  # noqa: E731
    ct_cb = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)(square)
    abi_cb = ffi.callback("int(int)", square)
    api_cb = api_ffi.callback("int(int)", square)
    raw_decl.process.argtypes = [ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int), ctypes.c_int]

    def py_add(a, b):
        return a + b

    add_rows = {
        "operator.add(3, 4) (a builtin call)": lambda: operator.add(3, 4),
        "raw ctypes (no argtypes)": lambda: raw.add(5, 3),
        "raw ctypes (argtypes)": lambda: raw_decl.add(5, 3),
        "raw cffi ABI": lambda: abi.add(5, 3),
        "raw cffi API": lambda: api_lib.add(5, 3),
        **{row: (lambda f=m.add: f(5, 3)) for row, m in BACKENDS.items()},
        "pure Python": lambda: py_add(5, 3),
    }
    process_rows = {
        "raw ctypes (no argtypes)": lambda: raw.process(ct_cb, 7),
        "raw ctypes (argtypes)": lambda: raw_decl.process(ct_cb, 7),
        "raw cffi ABI": lambda: abi.process(abi_cb, 7),
        "raw cffi API": lambda: api_lib.process(api_cb, 7),
        **{row: (lambda f=m.process: f(square, 7)) for row, m in BACKENDS.items()},
        "pure Python": lambda: square(7),
    }
    empty = median_time(lambda: None)  # the lambda wrapper itself, subtracted
    add = {k: (median_time(f) - empty) * 1e9 for k, f in add_rows.items()}
    process = {k: (median_time(f) - empty) * 1e9 for k, f in process_rows.items()}
    # Ratios of times (lambda overhead included on both sides, interleaved samples).
    ratios = {}
    own_raw = {"mylib.ctypes_binding": ["raw ctypes (argtypes)", "raw ctypes (no argtypes)"],
               "mylib.cffi_binding": ["raw cffi ABI"], "mylib.cffi_compiled": ["raw cffi API"]}
    for backend, raws in own_raw.items():
        for raw_name in raws if backend in BACKENDS else []:
            ratios[f"add: {backend} / {raw_name}"] = paired_ratio(add_rows[backend], add_rows[raw_name])
    if PYPY:  # issue 17: the default backend's callback round trip against raw cffi API mode's
        ratios[f"process: {DEFAULT} / raw cffi API"] = paired_ratio(process_rows[DEFAULT], process_rows["raw cffi API"])
    if "mylib.capi" in BACKENDS:
        ratios["add: mylib.capi / operator.add(3, 4)"] = paired_ratio(
            add_rows["mylib.capi"], add_rows["operator.add(3, 4) (a builtin call)"])
    for backend in BACKENDS:
        ratios[f"callback: {backend} process / raw ctypes callback (argtypes)"] = paired_ratio(
            process_rows[backend], process_rows["raw ctypes (argtypes)"])
    return add, process, empty * 1e9, ratios


def small_paired(n):
    """The small-array goals: each backend's whole call against numpy.sum on the same array (ratio of times)."""
    rng = np.random.default_rng(3)
    f = rng.random(n)
    i = rng.integers(-1000, 1000, n, dtype=np.int32)
    out = {}
    for row, m in BACKENDS.items():
        out[f"fast_sum: {row} / numpy.sum"] = paired_ratio(lambda m=m: m.fast_sum(f), lambda: np.sum(f))
        out[f"sum_array: {row} / numpy.sum"] = paired_ratio(lambda m=m: m.sum_array(i), lambda: np.sum(i))
    return out


def sum_results():
    raw, _, ffi, abi = raw_handles()
    raw.fast_sum.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_double)]
    raw.mylib_sum_i32.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_int64)]
    res = {}
    rng = np.random.default_rng(1)
    for n in SIZES:
        f = rng.random(n)
        i = rng.integers(-1000, 1000, n, dtype=np.int32)
        out_d = ctypes.c_double()
        out_i = ctypes.c_int64()
        p_d = ffi.new("double *")
        p_i = ffi.new("int64_t *")
        a_d = api_ffi.new("double *")
        a_i = api_ffi.new("int64_t *")
        fb, ib = f.nbytes, i.nbytes
        rows_f = {
            "raw ctypes": lambda: raw.fast_sum(f.ctypes.data, n, out_d),
            "raw cffi ABI": lambda: abi.fast_sum(ffi.from_buffer("double[]", f), n, p_d),
            "raw cffi API": lambda: api_lib.fast_sum(api_ffi.from_buffer("double[]", f), n, a_d),
            **{row: (lambda m=m: m.fast_sum(f)) for row, m in BACKENDS.items()},
            "numpy.sum": lambda: np.sum(f),
        }
        rows_i = {
            "raw ctypes": lambda: raw.mylib_sum_i32(i.ctypes.data, n, out_i),
            "raw cffi ABI": lambda: abi.mylib_sum_i32(ffi.from_buffer("int[]", i), n, p_i),
            "raw cffi API": lambda: api_lib.mylib_sum_i32(api_ffi.from_buffer("int[]", i), n, a_i),
            **{row: (lambda m=m: m.sum_array(i)) for row, m in BACKENDS.items()},
            "numpy.sum": lambda: np.sum(i),
        }
        if n <= 10**7:
            fl, il = f.tolist(), i.tolist()
            rows_f["pure Python sum()"] = lambda: sum(fl)
            rows_f["math.fsum"] = lambda: math.fsum(fl)
            rows_i["pure Python sum()"] = lambda: sum(il)
        reps = 5 if n >= 10**7 else REPEATS
        res[n] = {
            "f64": {k: fb / median_time(fn, repeats=reps) / 1e9 for k, fn in rows_f.items()},
            "i32": {k: ib / median_time(fn, repeats=reps) / 1e9 for k, fn in rows_i.items()},
        }
        print(f"  measured n={n:.0e}", file=sys.stderr, flush=True)
    return res


# ------------------------------------------------------------- the exact sum (issue 15)
def cancelling(n, kappa, rng):
    """n values whose exact sum is about sum(|x|) / kappa: normal values times
    10^uniform(-8, 8), their negations, and one value, the remainder;
    shuffled. The same data go to every summation compared."""
    half = rng.standard_normal((n - 1) // 2) * 10.0 ** rng.uniform(-8, 8, (n - 1) // 2)
    x = np.concatenate([half, -half, [0.0] * (n - 2 * len(half))])
    x[-1] = float(np.abs(x).sum()) / kappa * (1.0 + rng.random())
    rng.shuffle(x)
    return x


def adversarial(n, rng):
    """Exponents over the whole double range, random signs, every value and its
    negation, shuffled, plus a tiny remainder (condition number ~1e600)."""
    half = rng.uniform(1.0, 2.0, n // 2) * np.exp2(rng.integers(-1000, 1000, n // 2).astype(np.float64))
    half *= rng.choice([-1.0, 1.0], n // 2)
    x = np.concatenate([half, -half, [3e-200]])
    rng.shuffle(x)
    return x


def exact_results():
    """The exact sum's goals as ratios of times taken in this run: typical data
    on one thread against numpy.sum, 1e8 values on the default threads against
    numpy.sum, math.fsum at 1e6; the Rust-direct figures beside the xsum crate
    come from bench_direct."""
    rng = np.random.default_rng(15)
    out = {"typical_1thread": {}, "fsum": {}, "default_threads": {}}
    mylib.set_num_threads(1)
    try:
        for n in (10**3, 10**5, 10**6, 10**7):
            if n > max(SIZES):
                continue
            x = rng.standard_normal(n)
            assert mylib.fast_sum(x) == math.fsum(x)
            out["typical_1thread"][n] = paired_ratio(lambda x=x: mylib.fast_sum(x), lambda x=x: np.sum(x))
    finally:
        mylib.set_num_threads(0)  # back to the default (MYLIB_NUM_THREADS, else the CPUs)
    # math.fsum against fast_sum as users call it (the default threads).
    x = rng.standard_normal(10**6)
    xl = x.tolist()
    out["fsum"]["normal"] = paired_ratio(lambda: math.fsum(xl), lambda: mylib.fast_sum(x), repeats=5)
    y = adversarial(10**6, rng)
    yl = y.tolist()
    out["fsum"]["adversarial"] = paired_ratio(lambda: math.fsum(yl), lambda: mylib.fast_sum(y), repeats=5)
    if max(SIZES) >= 10**8:
        x = rng.standard_normal(10**8)
        out["default_threads"][10**8] = paired_ratio(lambda: mylib.fast_sum(x), lambda: np.sum(x), repeats=5)
        del x
    return out


def ulps_off(got: float, exact: float) -> float:
    """Distance in ulps of the exact value (0 when equal)."""
    if got == exact:
        return 0.0
    return abs(got - exact) / math.ulp(exact) if exact else math.inf


def accuracy():
    """Error in ulps against the condition number, for numpy.sum, a plain
    left-to-right loop (C, -O2) and mylib, on the same data."""
    cref = ctypes.CDLL(str(ROOT / "target" / "bench" / "libcref.so"))
    cref.ref_sum_f64.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    cref.ref_sum_f64.restype = ctypes.c_double
    rng = np.random.default_rng(42)
    kappas = [10.0**k for k in range(0, 31, 2)]
    rows = {"numpy.sum": [], "plain loop (C)": [], "mylib fast_sum": []}
    measured = []
    for kappa in kappas:
        worst = {k: 0.0 for k in rows}
        conds = []
        for _ in range(5):
            x = cancelling(10**5, kappa, rng)
            exact = math.fsum(x)
            conds.append(math.fsum(np.abs(x)) / abs(exact))
            worst["numpy.sum"] = max(worst["numpy.sum"], ulps_off(float(np.sum(x)), exact))
            worst["plain loop (C)"] = max(worst["plain loop (C)"], ulps_off(cref.ref_sum_f64(x.ctypes.data, len(x)), exact))
            worst["mylib fast_sum"] = max(worst["mylib fast_sum"], ulps_off(mylib.fast_sum(x), exact))
        for k in rows:
            rows[k].append(worst[k])
        measured.append(statistics.median(conds))
    classic = {
        "[0.1]*10 == 1.0": mylib.fast_sum([0.1] * 10) == 1.0,
        "[2**53, 1, 2**-60] == 2**53 + 2": mylib.fast_sum([2.0**53, 1.0, 2.0**-60]) == 2.0**53 + 2,
        "[1e308, 1e308, -1e308] == 1e308": mylib.fast_sum([1e308, 1e308, -1e308]) == 1e308,
    }
    return {"kappas": measured, "worst_ulps": rows, "classic": classic}


def plot_accuracy(acc):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 6))
    floor = 0.3  # where an exact result (0 ulp) is drawn on the log scale
    for (name, ys), marker in zip(acc["worst_ulps"].items(), "osD"):
        ax.plot(acc["kappas"], [max(y, floor) for y in ys], marker=marker, label=name, lw=2 if "mylib" in name else 1.2)
    ax.axhline(floor, color="grey", lw=0.6, ls=":")
    ax.text(acc["kappas"][0], floor * 1.15, "exact (0 ulp)", fontsize=8, color="grey")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("condition number  sum(|x|) / |sum(x)|")
    ax.set_ylabel("worst error (ulps of the exact sum), 5 arrays of 1e5 values each")
    ax.set_title(f"Accuracy against the condition number (mylib {mylib.__version__})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(OUT / "accuracy.png", dpi=110)


# ------------------------------------------------------------- report
def fmt(v, w=9, p=1):
    return f"{v:{w}.{p}f}" if isinstance(v, (int, float)) and v == v else " " * (w - 1) + "-"


def main():
    print(f"mylib bench: backend {mylib.BACKEND}, sizes {SIZES}, medians of {REPEATS}", file=sys.stderr)
    rust, c = native_results()
    add, process, lambda_ns, ratios = per_call_results()
    sums = sum_results()
    paired = {n: paired_goals(n) for n in SIZES if n >= 10**7}
    small = {n: small_paired(n) for n in SIZES if n <= 10**3}
    acc = accuracy()
    exact = exact_results()

    lines = []
    p = lines.append
    p(f"== per call (ns; Python rows exclude the {lambda_ns:.0f} ns of the timing lambda)")
    p(f"{'path':34s} {'add':>9s} {'process':>9s}")
    p(f"{'Rust, direct':34s} {fmt(rust['rust_add_ns'])} {fmt(rust['rust_process_ns'])}")
    p(f"{'C -> libmylib':34s} {fmt(c['c_add_ns'])} {fmt(c['c_process_ns'])}")
    p(f"{'C -> libmylib mylib_process':34s} {'':9s} {fmt(c['c_mylib_process_ns'])}")
    p(f"{'C reference (-O2)':34s} {fmt(c['cref_add_ns'])} {fmt(c['cref_process_ns'])}")
    for k in add:
        p(f"{k:34s} {fmt(add[k])} {fmt(process.get(k, float('nan')))}")
    p("(raw rows: tutorial-style calls; process takes a CFUNCTYPE / ffi.callback made once)")


    table = {}
    for n in SIZES:
        rs, cs, ps = rust["sizes"][str(n)], c["sizes"][str(n)], sums[n]
        best = rust["best_path"]
        table[n] = {
            "f64": {
                f"Rust direct ({best})": rs[f"rust_f64_{best}"],
                "Rust direct (portable)": rs["rust_f64_portable"],
                "C -> fast_sum": cs["c_fast_sum"],
                "C -> mylib_sum_f64": cs["c_mylib_sum_f64"],
                "C reference loop (-O2)": cs["cref_sum_f64"],
                **ps["f64"],
                "read bandwidth (C, AVX2)": cs["c_read_bandwidth"],
                "read bandwidth, all cores (C)": cs["c_read_bandwidth_all_cores"],
            },
            "i32": {
                f"Rust direct ({best})": rs[f"rust_i32_{best}"],
                "Rust direct (portable)": rs["rust_i32_portable"],
                "C -> sum_array": cs["c_sum_array"],
                "C -> mylib_sum_i32": cs["c_mylib_sum_i32"],
                "C reference loop (-O2)": cs["cref_sum_i32"],
                **ps["i32"],
                "read bandwidth (C, AVX2)": cs["c_read_bandwidth_i32"],
            },
        }
    for kind in ("f64", "i32"):
        p("")
        p(f"== {'fast_sum (float64)' if kind == 'f64' else 'exact sum of int32 (sum_array)'}: GB/s")
        p(f"{'path':34s}" + "".join(f"{n:>11.0e}" for n in SIZES))
        for row in table[SIZES[0]][kind]:
            p(f"{row:34s}" + "".join(fmt(table[n][kind].get(row, float("nan")), 11, 2) for n in SIZES))
        for ref in ("numpy.sum", "C reference loop (-O2)", "read bandwidth (C, AVX2)"):
            p(f"{'  ' + DEFAULT + ' / ' + ref:50s}"[:34] + "".join(
                fmt(table[n][kind][DEFAULT] / table[n][kind][ref], 11, 2) for n in SIZES))

    p("")
    p("== accuracy: worst error in ulps of the exact sum, by condition number (5 shuffled arrays of 1e5 each)")
    p(f"{'condition number (measured)':34s}" + "".join(f"{k:>9.0e}" for k in acc["kappas"][::3]))
    for nm, ys in acc["worst_ulps"].items():
        p(f"{nm:34s}" + "".join(f"{y:>9.3g}" for y in ys[::3]))
    for case, ok in acc["classic"].items():
        p(f"  {case:40s} {'exact' if ok else 'WRONG'}")

    p("")
    p("== the exact sum, one thread, Rust direct beside the xsum crate 0.1.6 (ns per value)")
    p(f"{'data':22s} {'mylib':>9s} {'xsum small':>11s} {'xsum large':>11s}  same bits")
    for name, r in rust["exact"].items():
        p(f"{name:22s} {r['mylib_ns']:9.3f} {r['xsum_small_ns']:11.3f} {r['xsum_large_ns']:11.3f}  "
          f"{'yes' if r['same_bits_as_xsum_small'] else 'NO'}")

    # Goals, each a ratio of figures from this run, with the issue that set it.
    big = [n for n in SIZES if n >= 10**7]
    goals = []

    def goal(text, value, need, at_most=False):
        goals.append((text, value, need, at_most, value <= need if at_most else value >= need))

    for n in big:
        pg = paired[n]
        goal(f"fast_sum {n:.0e}: speed / numpy.sum", pg["f64 / numpy.sum"], 1.1 if n >= 10**8 else 1.0)
        if n >= 10**8:
            goal(f"fast_sum {n:.0e}: speed / all-core C read ({pg['threads']} threads)", pg["f64 / all-core read"], 0.9)
        goal(f"fast_sum {n:.0e}: speed / C loop", pg["f64 / C loop"], 3.0)
        goal(f"fast_sum {n:.0e}: speed / one-core read bandwidth", pg["f64 / read bandwidth"], 0.9)
        goal(f"int32 sum {n:.0e}: speed / numpy.sum", pg["i32 / numpy.sum"], 1.5)
        goal(f"int32 sum {n:.0e}: speed / one-core read bandwidth", pg["i32 / read bandwidth"], 0.9)
        goal(f"int32 sum {n:.0e}: sum_array / mylib_sum_i32 (speed)", pg["sum_array / mylib_sum_i32"], 0.9)
    for n, ratios_n in small.items():
        for k, v in ratios_n.items():
            if k.split(": ")[1].startswith("mylib.capi"):
                goal(f"{k.split(':')[0]} {n:.0e}: time, mylib.capi / numpy.sum", v, 0.5, at_most=True)
            elif k.split(": ")[1].startswith(DEFAULT) and DEFAULT != "mylib.capi":
                goal(f"{k.split(':')[0]} {n:.0e}: time, {DEFAULT} / numpy.sum", v, 1.0, at_most=True)
    for k, v in ratios.items():
        if k.startswith("add: mylib.capi"):
            goal(k + " (time)", v, 2.0, at_most=True)
        elif PYPY and k in (f"add: {DEFAULT} / raw cffi API", f"process: {DEFAULT} / raw cffi API"):
            goal(k + " (time, PyPy)", v, 1.3, at_most=True)  # issue 17
        elif k.startswith("add: "):
            goal(k + " (time)", v, 1.5, at_most=True)
        elif k.startswith(f"callback: {DEFAULT} ") or k.startswith("callback: mylib.capi "):
            goal(k + " (time)", v, 0.9, at_most=True)
    goal("exact: worst error of fast_sum in ulps, condition numbers 1e0..1e30", max(acc["worst_ulps"]["mylib fast_sum"]),
         0.0, at_most=True)
    goal("classic cancellation cases exact", float(all(acc["classic"].values())), 1.0)
    for n, v in exact["typical_1thread"].items():
        goal(f"exact: fast_sum normal {n:.0e}, 1 thread: time / numpy.sum", v, 1.2, at_most=True)
    for n, v in exact["default_threads"].items():
        goal(f"exact: fast_sum normal {n:.0e}, default threads: time / numpy.sum", v, 1.0, at_most=True)
    for kind, v in exact["fsum"].items():
        goal(f"exact: math.fsum / fast_sum 1e6 {kind}, default threads (speed-up)", v, 100.0)
    adv = rust["exact"].get("adversarial 1e5")
    if adv:
        goal("exact: adversarial 1e5 (in cache), 1 thread: ns per value", adv["mylib_ns"], 1.0, at_most=True)
        goal("exact: adversarial 1e5, 1 thread: time / xsum crate (small)", adv["mylib_ns"] / adv["xsum_small_ns"], 0.25,
             at_most=True)
    goal("exact: every case the same bits as the xsum crate",
         float(all(r["same_bits_as_xsum_small"] for r in rust["exact"].values())), 1.0)
    p("")
    p("== callback round trip / raw ctypes callback (argtypes), every backend (time ratios)")
    for k, v in ratios.items():
        if k.startswith("callback: "):
            p(f"  {k[10:]:70s} {v:6.2f}")

    p("")
    p("== goals (ratio, needed, met); large-array ratios from interleaved samples on the same arrays")
    for text, value, need, at_most, ok in goals:
        p(f"{text:62s} {value:7.2f} {'<=' if at_most else '>='} {need:4.2f}  {'MET' if ok else 'NOT MET'}")

    report = "\n".join(lines)
    print(report)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{STEM}.txt").write_text(report + "\n")
    data = {
        "sizes": SIZES, "rust": rust, "c": c, "add_ns": add, "process_ns": process,
        "gbps": {str(n): v for n, v in table.items()}, "accuracy": acc, "exact": exact, "ratios": ratios,
        "paired_ratios": {str(n): v for n, v in paired.items()},
        "small_ratios": {str(n): v for n, v in small.items()},
        "goals": [{"goal": t, "value": v, "needed": nd, "at_most": am, "met": ok} for t, v, nd, am, ok in goals],
        "backend": mylib.BACKEND, "cpu_path": rust["best_path"],
    }
    (OUT / f"{STEM}.json").write_text(json.dumps(data, indent=2, default=str) + "\n")
    written = [OUT / f"{STEM}.json", OUT / f"{STEM}.txt"]
    try:
        plot(table)
        written.append(OUT / f"{STEM}.png")
        plot_accuracy(acc)
        written.append(OUT / "accuracy.png")
    except ImportError:
        print("matplotlib missing: no PNG (pip install -r bench/requirements.txt)", file=sys.stderr)
    print(f"\nwrote {', '.join(map(str, written))}")


def plot(table):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(16, 7))
    markers = "osD^v<>pP*Xhd8H"
    for ax, kind, title in zip(axes, ("f64", "i32"), ("fast_sum, float64", "exact sum, int32")):
        rows = list(table[SIZES[0]][kind])
        colors = plt.get_cmap("tab20")(np.linspace(0, 1, len(rows)))
        for k, row in enumerate(rows):
            ys = [table[n][kind].get(row, float("nan")) for n in SIZES]
            style = "--" if ("reference" in row or "bandwidth" in row) else "-"
            lw = 2.5 if row in (DEFAULT, "numpy.sum") else 1.2
            ax.plot(SIZES, ys, style, marker=markers[k % len(markers)], color=colors[k], lw=lw, label=row)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("elements")
        ax.set_ylabel("GB/s (log)")
        ax.set_title(f"{title} (mylib {mylib.__version__})")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(OUT / f"{STEM}.png", dpi=110)


if __name__ == "__main__":
    main()
