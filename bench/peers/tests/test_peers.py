"""Tests of make bench-peers (run by `make test-peers` in the bench venv).

They never assert on speed: they check that every route computes the right
values, that the checks reject wrong routes, that the timing arithmetic is
right (on a fake clock), and that a quick run writes a complete report.
"""

from __future__ import annotations

import importlib
import json
import math
import subprocess
import sys
import timeit
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import peers_bench as pb  # noqa: E402

ROOT = pb.ROOT


@pytest.fixture(scope="module")
def routes():
    return pb.all_routes()


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(5)
    arrays = [rng.random(n) for n in (1, 1000, 100_003)]
    return arrays, [math.fsum(a) for a in arrays]


# ------------------------------------------------------------------ the real routes
def test_every_route_returns_the_right_values(routes, data):
    all_, _ = routes
    sums = {r.name: pb.check_route(r, *data) for r in all_}
    pb.check_same_kernel(all_, sums)


def test_the_seeds_routes_are_all_there(routes):
    all_, skipped = routes
    names = {r.name for r in all_}
    for expected in ("pure Python", "CPython builtins", "numpy", "raw ctypes -> libmylib", "raw cffi ABI -> libmylib",
                     "PyO3 (maturin) -> mylib crate", "Cython -> mylib.h", "Cython typed loop", "Numba @njit",
                     "Numba @njit -> libmylib (ctypes)"):
        assert expected in names
    # Every mylib backend that imports is a route; the others are listed as not run.
    import mylib

    for name, module in mylib.BACKENDS.items():
        try:
            importlib.import_module(f"mylib.{module}")
        except ImportError:
            assert name in skipped
        else:
            assert f"mylib.{module}" in names
    for op, baseline in pb.BASELINE.items():
        assert getattr(next(r for r in all_ if r.name == baseline), op) is not None


def test_the_kernel_routes_call_mylib(routes):
    """A route labelled 'mylib kernel' gives the exact result a naive loop cannot."""
    all_, _ = routes
    tricky = np.array([1e16, 1.0, -1e16] * 1000)
    kernel = [r for r in all_ if r.sum_does == pb.KERNEL]
    assert len(kernel) >= 6
    assert {r.sum(r.prepare(tricky)) for r in kernel} == {1000.0}
    assert sum(tricky.tolist()) != 1000.0


# ------------------------------------------------------------------ the PyO3 and Cython modules' own errors
def _peer_modules():
    import peers_cython
    import peers_pyo3

    return {"pyo3": peers_pyo3, "cython": peers_cython}


@pytest.mark.parametrize("name", ["pyo3", "cython"])
def test_peer_modules_refuse_bad_input(name):
    mod = _peer_modules()[name]
    assert mod.RELEASE_GIL_FROM == 4096
    with pytest.raises(OverflowError):
        mod.add(2**31 - 1, 1)  # the sum does not fit
    with pytest.raises(OverflowError):
        mod.add(2**31, 0)  # an argument does not fit
    if name == "pyo3":
        with pytest.raises(TypeError):
            mod.add(1.5, 2)
    else:
        assert mod.add(1.5, 2) == 3  # Cython's `int` argument truncates a float (shown in the table)
    big = np.arange(10_000.0)
    assert mod.fast_sum(big) == 49_995_000.0  # above the GIL threshold
    assert mod.fast_sum(np.empty(0)) == 0.0
    assert mod.fast_sum(memoryview(np.array([0.1] * 10))) == 1.0  # any buffer; exact
    for bad in (np.arange(20.0)[::2], np.arange(10), None, [1.0, 2.0]):
        with pytest.raises((TypeError, ValueError, BufferError)):
            mod.fast_sum(bad)

    def boom(x):
        raise KeyError(x)

    with pytest.raises(KeyError) as exc:
        mod.process(boom, 3)
    assert exc.value.args == (3,) and exc.traceback  # the callback's own exception, with its traceback
    with pytest.raises(TypeError):
        mod.process(lambda x: "not an int", 3)
    with pytest.raises(OverflowError):
        mod.process(lambda x: 2**40, 3)
    with pytest.raises(TypeError):
        mod.process(None, 3)
    assert mod.process(lambda x: -x, 2**31 - 1) == -(2**31 - 1)


# ------------------------------------------------------------------ the checks catch wrong routes
def _add(fn):
    return pb.Route("wrong", "test", "nothing", add=fn)


def _sum(fn, does=pb.NAIVE, prepare=lambda a: a):
    return pb.Route("wrong", "test", "nothing", sum=fn, sum_does=does, prepare=prepare)


def _process(fn, wrap=lambda f: f):
    return pb.Route("wrong", "test", "nothing", process=fn, wrap=wrap)


WRONG = {
    "add off by one": _add(lambda a, b: a + b + 1),
    "add ignores its arguments": _add(lambda a, b: 7),
    "add returns a float": _add(lambda a, b: float(a + b)),
    "sum off by 1e-9": _sum(lambda x: float(np.sum(x)) * (1 + 1e-9)),
    "sum returns an int": _sum(lambda x: int(np.sum(x))),
    "sum of nothing is not 0": _sum(lambda x: float(np.sum(x)) if len(x) else 1.0),
    "naive loop labelled as mylib's kernel": _sum(sum, does=pb.KERNEL, prepare=pb.as_list),
    "math.fsum off by one ulp": _sum(lambda x: math.nextafter(math.fsum(x), math.inf), does=pb.FSUM),
    "one ulp further than the kernel's bound": _sum(lambda x: math.nextafter(math.nextafter(math.fsum(x), 2.0), 2.0),
                                                     does=pb.KERNEL),
    "process returns a constant": _process(lambda cb, v: 49),
    "process squares without calling back": _process(lambda cb, v: v * v),
    "process drops the callback's result": _process(lambda cb, v: (cb(v), v)[1]),
    "process wraps the callback wrongly": _process(lambda cb, v: cb(v), wrap=lambda f: (lambda x: f(x) + 1)),
}


@pytest.mark.parametrize("name", WRONG)
def test_checks_reject_a_wrong_route(name, data):
    arrays, exacts = data
    with pytest.raises(pb.CheckFailed):
        pb.check_route(WRONG[name], arrays, exacts)


def test_kernel_routes_must_agree_bit_for_bit():
    a = pb.Route("a", "test", "nothing", sum=np.sum, sum_does=pb.KERNEL)
    b = pb.Route("b", "test", "nothing", sum=np.sum, sum_does=pb.KERNEL)
    pb.check_same_kernel([a, b], {"a": {3: 0.3}, "b": {3: 0.3}})
    with pytest.raises(pb.CheckFailed, match="disagree"):
        pb.check_same_kernel([a, b], {"a": {3: 0.3}, "b": {3: math.nextafter(0.3, 1.0)}})


# ------------------------------------------------------------------ bad inputs, observed
def test_observe_reports_what_happened():
    def swallow(cb, v):
        try:
            return cb(v)
        except ZeroDivisionError:
            print("Traceback: swallowed", file=sys.stderr)
            return 0

    silent = pb.Route("silent", "test", "nothing", add=lambda a, b: -(2**31), sum=lambda x: 0.0, process=swallow)
    loud = pb.Route("loud", "test", "nothing", add=lambda a, b: a + b, sum=lambda x: float(np.sum(x)),
                    process=lambda cb, v: cb(v))
    s, lo = pb.observe(silent), pb.observe(loud)
    assert s["add(INT_MAX, 1)"] == "wraps to -2147483648"
    assert s["sum of an int64 array"] == "WRONG: returns 0.0"
    assert s["callback raises"] == "ignored, returns 0 (prints a traceback)"
    assert lo["add(INT_MAX, 1)"] == "returns 2147483648"
    assert lo["add(1.5, 2)"] == "returns 3.5"
    assert s["add(1.5, 2)"] == "WRONG: returns -2147483648"
    assert lo["sum of a strided view"] == "returns 90.0"
    assert lo["callback raises"] == "raises ZeroDivisionError"


# ------------------------------------------------------------------ timing arithmetic, on a fake clock
def test_measure_medians_and_ratios_on_a_fake_clock():
    clock = [0.0]

    def cost(seconds):
        def fn():
            clock[0] += seconds

        return fn

    def timer(fn):
        return timeit.Timer("fn()", globals={"fn": fn}, timer=lambda: clock[0])

    res = pb.measure({"base": timer(cost(2e-6)), "slow": timer(cost(5e-6)), "fast": timer(cost(1e-6))},
                     "base", rounds=5, min_time=1e-3)
    assert res["base"]["ratio"] == 1.0
    assert res["slow"]["ratio"] == pytest.approx(2.5)
    assert res["fast"]["ratio"] == pytest.approx(0.5)
    assert res["slow"]["seconds"] == pytest.approx(5e-6)
    for r in res.values():
        assert len(r["samples"]) == 5
        assert r["calls_per_sample"] * r["seconds"] >= 1e-3 * (1 - 1e-9)


def test_size_labels():
    assert [pb.sci(n) for n in (1, 1000, 10**7, 1500)] == ["1e0", "1e3", "1e7", "1500"]


# ------------------------------------------------------------------ a quick run, end to end
def test_quick_run_writes_a_complete_report(tmp_path, capsys):
    sizes = [1000, 200_000]
    report = pb.run(sizes, rounds=2, min_time=0.002, out_dir=tmp_path)
    text = capsys.readouterr().out
    saved = json.loads((tmp_path / "peers.json").read_text())
    assert saved["sizes"] == sizes
    assert {"python", "mylib", "numpy", "numba", "Cython", "maturin", "pyo3"} <= set(saved["versions"])
    assert (tmp_path / "peers.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "peers.txt").read_text().strip() in text
    assert "\u2705" not in text and "\u26a0" not in text  # measurements, not marks
    by_name = {r["name"]: r for r in saved["routes"]}
    assert set(by_name) == {r["name"] for r in report["routes"]}
    for name in by_name:
        assert name in text
    for op, baseline in pb.BASELINE.items():
        base = by_name[baseline][op]
        for res in [base] if op != "sum" else base.values():
            assert res["ratio"] == 1.0
    for r in saved["routes"]:
        for op in ("add", "process"):
            if r[op] is not None:
                assert r[op]["seconds"] > 0 and len(r[op]["samples"]) == 2
        if r["sum_does"] is not None:
            assert set(r["sum"]) == {str(n) for n in sizes}
    assert {c["operation"] for c in saved["claims"]} == {"add", "callback", "sum 1e3", "sum 200000"}
    for c in saved["claims"]:
        assert c["ratio"] == pytest.approx(c["python_seconds"] / c["fastest_seconds"])
    mylib_rows = [r["name"] for r in saved["routes"] if r["group"] == "mylib"]
    assert {g["goal"].split(" ")[0] for g in saved["goals"]} == set(mylib_rows)
    for g in saved["goals"]:
        assert g["met"] == (g["value"] <= g["needed"])
    assert by_name["raw ctypes -> libmylib"]["observed"]["add(INT_MAX, 1)"] == "wraps to -2147483648"
    assert by_name["Cython -> mylib.h"]["observed"]["add(1.5, 2)"] == "WRONG: returns 3"


# ------------------------------------------------------------------ the command line
@pytest.mark.parametrize("args", [["--sizes", "0"], ["--sizes", "abc"], ["--sizes", "1.5"], ["--rounds", "0"],
                                  ["--min-time", "-1"], ["--min-time", "nan"]])
def test_bad_arguments_are_refused(args, capsys):
    with pytest.raises(SystemExit) as exc:
        pb.main([*args, "--out", "/nonexistent/never-written"])
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


# ------------------------------------------------------------------ the bench stays out of mylib's build
def test_the_bench_is_not_part_of_mylib():
    meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout
    assert [p["name"] for p in json.loads(meta)["packages"]] == ["mylib"]
    deps = subprocess.run(["cargo", "tree", "--prefix", "none", "-e", "normal,build"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout
    assert "pyo3" not in deps
    assert "[workspace]" in (ROOT / "bench/peers/pyo3/Cargo.toml").read_text()
    package = " ".join((ROOT / "bindings/python" / f).read_text().lower() for f in ("pyproject.toml", "setup.py"))
    for tool in ("maturin", "cython", "numba", "pyo3"):
        assert tool not in package
