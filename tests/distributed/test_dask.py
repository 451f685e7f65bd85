"""mylib.dask.fast_sum: the bits of math.fsum on every Dask scheduler and chunking.

Every exactness test runs on the four schedulers (the ``compute`` fixture:
sync, threads, a spawned process pool, a LocalCluster of two worker
processes), on hard data from the run's seed, against a reference computed
without mylib (math.fsum, or exact integers where fsum overflows).
"""

from __future__ import annotations

import math
import os
import signal
import time

import numpy as np
import pandas as pd
import pytest
from numpy.lib.array_utils import normalize_axis_tuple

import dask.array as da
import dask.dataframe as dd
import mylib
import mylib.dask as mdask
from harddata import FAMILIES, bits, exact, hard, random_cuts


def chunkings(rng: np.random.Generator, n: int) -> list:
    """Chunkings of n elements: one chunk, regular ones, random cuts (with
    empty chunks), one huge chunk beside many tiny ones, many tiny ones."""
    huge = n - 40
    return [
        (n,),
        1000,
        7919,
        random_cuts(rng, n, 13),
        random_cuts(rng, n, 60),
        (huge, *([1] * 40)),
        (0, *random_cuts(rng, n, 5), 0),
        max(1, n // 250),  # ~250 chunks of ~160 elements
    ]


# ------------------------------------------------------------ exact, whatever the split
def test_total_is_fsum_for_every_family_and_chunking(compute, seed):
    """Every data family, every chunking family, in one graph per scheduler."""
    sums, refs = [], []
    for i, family in enumerate(FAMILIES):
        rng = np.random.default_rng([seed, i])
        a = hard(int(rng.integers(2**32)), 40_000, family)
        whole = da.from_array(a, chunks=a.size)  # the data in the graph once, cut by rechunk
        for c in chunkings(rng, a.size):
            sums.append(mdask.fast_sum(whole.rechunk((c,))))
            refs.append((family, c if isinstance(c, int) else f"{len(c)} chunks", bits(math.fsum(a))))
    got = compute(*sums)
    assert [(f, c, bits(g)) for (f, c, _), g in zip(refs, got)] == refs


@pytest.mark.parametrize("split_every", [2, 3, 8, 64])
def test_any_merge_tree_gives_the_same_bits(compute, seed, split_every):
    rng = np.random.default_rng([seed, 100 + split_every])
    a = hard(int(rng.integers(2**32)), 40_000)
    x = da.from_array(a, chunks=(random_cuts(rng, a.size, 50),))
    (got,) = compute(mdask.fast_sum(x, split_every=split_every))
    assert bits(got) == bits(math.fsum(a))


def test_engine_own_sum_varies_where_mylib_does_not(compute):
    """On one fixed hard array (seed 16), Dask's own sum() gives several
    different results over the chunkings; mylib's gives fsum's bits each time."""
    a = hard(16, 100_000, "cancel")
    chunks = [100_000, 50_000, 33_333, 10_000, 7_777, 1_000, 999]
    own = compute(*[da.from_array(a, chunks=c).sum() for c in chunks])
    mine = compute(*[mdask.fast_sum(da.from_array(a, chunks=c)) for c in chunks])
    assert len({bits(v) for v in own}) > 1, [float(v) for v in own]
    assert {bits(v) for v in mine} == {bits(math.fsum(a))}


def test_nd_total_in_any_layout(compute, seed):
    """A 3-d array in C and Fortran order, and a strided view, chunked on every axis."""
    rng = np.random.default_rng([seed, 7])
    a = hard(int(rng.integers(2**32)), 24 * 25 * 26).reshape(24, 25, 26)
    ref = bits(math.fsum(a.ravel()))
    views = [a, np.asfortranarray(a), a[::-1, :, ::2].copy(), a[:, ::3, :]]
    refs = [ref, ref, bits(math.fsum(views[2].ravel())), bits(math.fsum(views[3].ravel()))]
    xs = [da.from_array(v, chunks=(5, 7, 9)) for v in views]
    xs.append(da.from_array(a, chunks=(random_cuts(rng, 24, 4), random_cuts(rng, 25, 3), random_cuts(rng, 26, 5))))
    refs.append(ref)
    got = compute(*[mdask.fast_sum(x) for x in xs])
    assert [bits(g) for g in got] == refs


# ------------------------------------------------------------ axis=, as numpy's
AXES = [0, 1, 2, -1, (0, 2), (1, 2), (2, 0), (0, 1, 2), None]


def _fsum_along(a: np.ndarray, axis) -> np.ndarray:
    axes = tuple(range(a.ndim)) if axis is None else normalize_axis_tuple(axis, a.ndim)
    moved = np.moveaxis(a, axes, tuple(range(a.ndim - len(axes), a.ndim)))
    free = moved.shape[: a.ndim - len(axes)]
    out = np.empty(free)
    for idx in np.ndindex(free):
        out[idx] = math.fsum(moved[idx].ravel())
    return out


@pytest.mark.parametrize("axis", AXES)
def test_axis_like_numpy(compute, seed, axis):
    rng = np.random.default_rng([seed, 11])
    a = hard(int(rng.integers(2**32)), 12 * 30 * 20, "cancel").reshape(12, 30, 20)
    ref = _fsum_along(a, axis)
    x = da.from_array(a, chunks=(5, random_cuts(rng, 30, 4), 7))
    r, rk = compute(mdask.fast_sum(x, axis=axis), mdask.fast_sum(x, axis=axis, keepdims=True))
    assert np.shape(r) == np.sum(a, axis=axis).shape
    assert np.shape(rk) == np.sum(a, axis=axis, keepdims=True).shape
    assert [bits(v) for v in np.ravel(r)] == [bits(v) for v in np.ravel(ref)]
    assert [bits(v) for v in np.ravel(rk)] == [bits(v) for v in np.ravel(ref)]


def test_axis_result_is_a_dask_array_of_float64():
    x = da.ones((4, 6), chunks=2)
    r = mdask.fast_sum(x, axis=0)
    assert isinstance(r, da.Array) and r.dtype == np.float64 and r.shape == (6,)
    assert mdask.fast_sum(x).shape == () and mdask.fast_sum(x, keepdims=True).shape == (1, 1)
    np.testing.assert_array_equal(r.compute(), np.full(6, 4.0))


@pytest.mark.parametrize("axis", [2, -3, (0, 2), (0, 0), (0, -2)])
def test_axis_out_of_range_or_repeated_is_numpy_error(axis):
    x = da.ones((4, 6), chunks=2)
    with pytest.raises((np.exceptions.AxisError, ValueError)) as numpy_err:
        np.sum(np.ones((4, 6)), axis=axis)
    with pytest.raises(type(numpy_err.value)):
        mdask.fast_sum(x, axis=axis)


@pytest.mark.parametrize("axis", [1.0, "0", True, (0, 1.5)])
def test_axis_of_wrong_type_is_type_error(axis):
    with pytest.raises(TypeError, match="axis"):
        mdask.fast_sum(da.ones((4, 6), chunks=2), axis=axis)


# ------------------------------------------------------------ special values and shapes
def test_nan_inf_and_overflow_follow_fast_sum(compute):
    base = np.arange(1000, dtype=np.float64)

    def with_(pos, values):
        a = base.copy()
        a[pos] = values
        return da.from_array(a, chunks=100)

    nan = with_([555], [np.nan])
    both = with_([5, 905], [np.inf, -np.inf])
    pinf = with_([5, 905], [np.inf, np.inf])
    ninf = with_([905], [-np.inf])
    got = compute(*[mdask.fast_sum(x) for x in (nan, both, pinf, ninf)])
    assert math.isnan(got[0]) and math.isnan(got[1])
    assert got[2] == math.inf and got[3] == -math.inf
    over = da.from_array(np.array([1.7e308] * 4 + [1.0] * 6), chunks=3)
    with pytest.raises(mylib.MylibOverflowError):
        compute(mdask.fast_sum(over))


@pytest.mark.filterwarnings("ignore:overflow encountered in reduce:RuntimeWarning")  # the engine's own sum, on purpose
def test_partial_sums_beyond_the_double_range_are_no_problem(compute):
    """Chunks whose own sums overflow a double (+3.4e308, then -1.7e308 twice
    elsewhere): the exact states carry them, the total is in range."""
    a = np.array([1.7e308, 1.7e308, 1.0, 2.0**-1074, -1.7e308, 3.0, -1.7e308, 1e308])
    x = da.from_array(a, chunks=((2, 2, 2, 2),))
    (got,) = compute(mdask.fast_sum(x))
    assert bits(got) == bits(exact(a))
    assert not np.isfinite(compute(x.sum())[0])  # the engine's own sum overflows


def test_empty_and_tiny_arrays(compute):
    empty = da.from_array(np.empty(0), chunks=10)
    empty2d = da.from_array(np.empty((0, 5)), chunks=(2, 2))
    one = da.from_array(np.array([2.5]), chunks=1)
    zero_d = da.from_array(np.array(-3.25))
    got = compute(mdask.fast_sum(empty), mdask.fast_sum(empty2d, axis=0), mdask.fast_sum(empty2d, axis=1),
                  mdask.fast_sum(one), mdask.fast_sum(zero_d))
    assert got[0] == 0.0
    np.testing.assert_array_equal(got[1], np.zeros(5))
    assert got[2].shape == (0,)
    assert got[3] == 2.5 and got[4] == -3.25


@pytest.mark.parametrize(
    "make",
    [
        lambda: da.ones(10, dtype=np.float32, chunks=3),
        lambda: da.ones(10, dtype=np.int64, chunks=3),
        lambda: da.ones(10, dtype=bool, chunks=3),
        lambda: da.ones(10, dtype=np.complex128, chunks=3),
        lambda: da.from_array(np.array([1.0, 2.0], dtype=">f8"), chunks=1),
        lambda: da.from_array(np.array([1.0, "x"], dtype=object), chunks=1),
    ],
    ids=["float32", "int64", "bool", "complex128", "big-endian f8", "object"],
)
def test_non_float64_arrays_are_type_errors(make):
    with pytest.raises(TypeError, match="float64"):
        mdask.fast_sum(make())


def test_masked_arrays_are_type_errors():
    m = da.ma.masked_array(da.ones(10, chunks=3), mask=da.zeros(10, dtype=bool, chunks=3))
    with pytest.raises(TypeError, match="masked"):
        mdask.fast_sum(m)


@pytest.mark.parametrize("value", [np.ones(3), [1.0, 2.0], 1.0, None, "abc"])
def test_non_dask_inputs_are_type_errors(value):
    with pytest.raises(TypeError, match="dask"):
        mdask.fast_sum(value)


# ------------------------------------------------------------ dask.dataframe Series
def test_series_total_for_every_partitioning(compute, seed):
    rng = np.random.default_rng([seed, 21])
    a = hard(int(rng.integers(2**32)), 50_000)
    ref = bits(math.fsum(a))
    series = [dd.from_pandas(pd.Series(a), npartitions=k, sort=False) for k in (1, 2, 3, 7, 16, 61)]
    # empty partitions: a filter that keeps nothing in most of them
    keep = pd.Series(np.arange(a.size) < 5000)
    series.append(dd.from_pandas(pd.DataFrame({"x": a, "keep": keep}), npartitions=10)
                  .pipe(lambda df: df[df.keep | (df.index >= 45_000)]).x)
    got = compute(*[mdask.fast_sum(s) for s in series])
    assert [bits(g) for g in got[:-1]] == [ref] * (len(series) - 1)
    kept = np.concatenate([a[:5000], a[45_000:]])
    assert bits(got[-1]) == bits(math.fsum(kept))


def test_series_engine_sum_varies(compute):
    a = hard(16, 100_000, "cancel")
    s = pd.Series(a)
    own = compute(*[dd.from_pandas(s, npartitions=k, sort=False).sum() for k in (1, 3, 8, 17, 40)])
    mine = compute(*[mdask.fast_sum(dd.from_pandas(s, npartitions=k, sort=False)) for k in (1, 3, 8, 17, 40)])
    assert len({bits(v) for v in own}) > 1
    assert {bits(v) for v in mine} == {bits(math.fsum(a))}


def test_series_nan_is_a_value_and_na_is_skipped(compute):
    plain = dd.from_pandas(pd.Series([1.0, np.nan, 2.0, 4.0]), npartitions=2)
    nullable = dd.from_pandas(pd.Series(pd.array([1.0, None, 2.5, None, 0.25], dtype="Float64")), npartitions=3)
    arrow = dd.from_pandas(pd.Series(pd.array([1.0, None, 2.5], dtype="double[pyarrow]")), npartitions=2)
    all_na = dd.from_pandas(pd.Series(pd.array([None, None], dtype="Float64")), npartitions=2)
    # a NaN stored in a nullable column (0/0) is a value there too, beside a pd.NA
    stored_nan = [pd.Series([0.0, 1.0, None], dtype=t) / pd.Series([0.0, 1.0, 1.0], dtype=t)
                  for t in ("Float64", "double[pyarrow]")]
    with_nan = [dd.from_pandas(s, npartitions=2) for s in stored_nan]
    got = compute(*[mdask.fast_sum(s) for s in (plain, nullable, arrow, all_na, *with_nan)])
    assert math.isnan(got[0])  # fast_sum's rule; Series.sum() would skip it
    assert got[1:4] == (3.75, 3.5, 0.0)
    assert math.isnan(got[4]) and math.isnan(got[5])


@pytest.mark.parametrize("dtype", ["float32", "int64", "Int64", "object", "bool", "float[pyarrow]"])
def test_series_of_other_dtypes_are_type_errors(dtype):
    s = dd.from_pandas(pd.Series([1, 2, 3]).astype(dtype), npartitions=2)
    with pytest.raises(TypeError, match="float64"):
        mdask.fast_sum(s)


def test_dataframe_and_series_arguments():
    df = dd.from_pandas(pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0]}), npartitions=1)
    with pytest.raises(TypeError, match="Series"):
        mdask.fast_sum(df)
    with pytest.raises(ValueError, match="axis"):
        mdask.fast_sum(df.x, axis=1)
    assert mdask.fast_sum(df.x, axis=0).compute() == 3.0


# ------------------------------------------------------------ faults
def _slow_copy(block):
    """A block that takes a while to make: the computation is still running when its worker is killed."""
    time.sleep(0.4)
    return block.copy()


def test_killed_worker_gives_the_same_bits(dask_cluster, seed):
    """A worker process is SIGKILLed while the sum runs, after it has finished
    some of the sum's tasks: the scheduler computes the lost ones again
    elsewhere, and the result is still the bits of math.fsum."""
    client = dask_cluster
    a = hard(int(np.random.default_rng([seed, 31]).integers(2**32)), 48_000)
    x = da.from_array(a, chunks=2000).map_blocks(_slow_copy, dtype=np.float64)
    total = mdask.fast_sum(x, split_every=2)
    future = client.compute(total)
    ours = {k for k in dict(total.__dask_graph__())}  # every key of the sum's graph

    def held_by_workers():
        return {w: {k for k in keys if k in ours} for w, keys in client.has_what().items()}

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        held = held_by_workers()
        victim = max(held, key=lambda w: len(held[w]))
        if len(held[victim]) >= 3:
            break
        time.sleep(0.05)
    else:
        pytest.fail("no worker ever held three of the sum's results")
    assert not future.done(), "the sum finished before a worker could be killed: make the blocks slower"
    pid = client.run(os.getpid, workers=[victim])[victim]
    os.kill(pid, signal.SIGKILL)
    result = future.result(timeout=180)
    assert bits(result) == bits(math.fsum(a))
    # The scheduler's own record: some of the sum's tasks reached memory twice (computed again after the kill).
    story = client.run_on_scheduler(_memory_transitions, keys=sorted(map(str, ours)))
    recomputed = [k for k, n in story.items() if n >= 2]
    assert recomputed, "no task of the sum was computed twice: the kill did not cost anything"
    assert victim not in client.scheduler_info()["workers"], "the killed worker is still listed"


def _memory_transitions(dask_scheduler, keys):
    """On the scheduler: for each key, how many times it went to memory."""
    wanted = set(keys)
    counts = dict.fromkeys(wanted, 0)
    for entry in dask_scheduler.transition_log:
        key, finish = str(entry[0]), entry[2]
        if key in wanted and finish == "memory":
            counts[key] += 1
    return counts


# ------------------------------------------------------------ array query planning
def test_array_query_planning_mode(tmp_path):
    """Dask's newer array expressions (array.query-planning, off by default in
    this Dask) take the same reduction: run in a fresh interpreter, as the
    setting is read once."""
    import subprocess
    import sys

    code = (
        "import dask; dask.config.set({'array.query-planning': True})\n"
        "import math, numpy as np, dask.array as da, mylib.dask as md\n"
        "from harddata import hard, bits\n"
        "assert da.array_expr_enabled()\n"
        "a = hard(3, 20000)\n"
        "r = [md.fast_sum(da.from_array(a, chunks=c)).compute() for c in (20000, 777, 5000)]\n"
        "m = a.reshape(100, 200); ax = md.fast_sum(da.from_array(m, chunks=(30, 70)), axis=1).compute()\n"
        "assert [bits(v) for v in r] == [bits(math.fsum(a))] * 3, r\n"
        "assert [bits(v) for v in ax] == [bits(math.fsum(row)) for row in m]\n"
        "print('ok')\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(__file__), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


def test_unknown_chunk_sizes(compute, seed):
    """After boolean indexing Dask does not know the chunk sizes (nan): the reduction does not need them."""
    a = hard(int(np.random.default_rng([seed, 41]).integers(2**32)), 30_000)
    x = da.from_array(a, chunks=4096)
    pos = x[x > 0]
    assert any(math.isnan(c) for c in pos.chunks[0])
    m = da.from_array(a.reshape(300, 100), chunks=(64, 30))
    rows = m[m[:, 0] > 0]  # unknown sizes along axis 0
    r_pos, r_rows = compute(mdask.fast_sum(pos), mdask.fast_sum(rows, axis=0))
    assert bits(r_pos) == bits(math.fsum(a[a > 0]))
    kept = a.reshape(300, 100)[a.reshape(300, 100)[:, 0] > 0]
    assert [bits(v) for v in r_rows] == [bits(math.fsum(col)) for col in kept.T]
