"""Exact sums of Dask collections, the same bits for any chunking and scheduler.

``mylib.dask.fast_sum(x)`` sums a ``dask.array.Array`` of float64 (any chunks,
any dimensions, ``axis=`` as numpy's) or a ``dask.dataframe.Series`` of
float64 as a Dask reduction of :class:`mylib.ExactSum` states:

- *chunk*: each block is added to a fresh ``ExactSum`` where it lies (one per
  output element) and handed on as ``ExactSum.to_bytes()``;
- *combine*: the byte states of a group of blocks are merged into one;
- *aggregate*: the last merge, rounded once (``ExactSum.value()``).

Dask owns the graph, the scheduler, the retries and the shape of the merge
tree (``split_every``); mylib owns only "sum this block" and "merge two
states". The exact sum does not depend on how the data were split or merged,
so the result is the bits of ``math.fsum`` of the data, on the threaded,
multiprocessing and distributed schedulers alike, and when a lost worker's
tasks are computed again.

The values follow :func:`mylib.fast_sum`'s rules: NaN anywhere gives NaN;
+inf and -inf together give NaN; one kind of infinity gives it; an exact sum
beyond the double range raises :class:`mylib.MylibOverflowError` when the
result is computed (with ``axis=``, when any output element's does).

Inputs:

- a float64 ``dask.array.Array`` of numpy blocks. Any other dtype is a
  ``TypeError`` (convert explicitly: ``x.astype("float64")``), and so are
  masked arrays (``x.filled(0.0)`` or a ``where``);
- a ``dask.dataframe.Series`` of ``float64`` (NaN is a value: it gives NaN,
  where ``Series.sum()`` skips it), or of the nullable ``Float64`` /
  ``double[pyarrow]`` dtypes, whose missing values (``pd.NA``) are skipped, as
  ``Series.sum()`` and Spark's ``F.sum`` skip nulls (a NaN stored in such a
  column is still a value, and gives NaN). Other dtypes are ``TypeError``.

Cost: a total adds each block in one call (at the speed of ``ExactSum.add``)
and passes a few hundred bytes per block. With ``axis=``, each block makes
one accumulator per output element it touches (a Python-level loop), so an
axis reduction to millions of outputs per block is slow; sums to thousands
of outputs per block are not.

This module imports Dask; ``import mylib`` does not import it.
"""

from __future__ import annotations

import sys
from numbers import Integral
from typing import Any, Optional, Sequence, Union

import dask.array as da
import numpy as np

try:
    from numpy.lib.array_utils import normalize_axis_tuple
except ImportError:  # numpy < 2
    from numpy.core.numeric import normalize_axis_tuple

import mylib as _mylib

__all__ = ["fast_sum"]

_F64 = np.dtype(np.float64)


# ------------------------------------------------------------ the three steps (run in the tasks)
def _state(block: np.ndarray) -> bytes:
    """The bytes of an ExactSum of one array (any layout, read in place)."""
    acc = _mylib.ExactSum()
    acc.add(block)
    return acc.to_bytes()


def _chunk(block: np.ndarray, axis: tuple = (), keepdims: bool = True) -> np.ndarray:
    """Dask's *chunk*: the block's exact states, one per output element, as an
    object array of ``bytes`` with the reduced axes kept at length 1; ``None``
    stands for a state with nothing added (an empty block, and the empty
    arrays Dask passes through to learn the output's type)."""
    out_shape = tuple(1 if i in axis else n for i, n in enumerate(block.shape))
    out = np.empty(out_shape, dtype=object)
    if block.size == 0:
        return out  # all None
    if len(axis) == block.ndim:  # the total: one state for the whole block
        out.reshape(-1)[0] = _state(block)
        return out
    # The reduced axes last: view[idx] is one output element's fibre, a strided view.
    view = np.moveaxis(block, axis, tuple(range(block.ndim - len(axis), block.ndim)))
    flat = out.reshape(-1)  # the free axes in order (the reduced ones have length 1)
    for k, idx in enumerate(np.ndindex(view.shape[: block.ndim - len(axis)])):
        flat[k] = _state(view[idx])
    return out


def _leaves(parts: Any) -> list:
    """The arrays in Dask's nested lists of intermediate blocks (concatenate=False)."""
    if isinstance(parts, (list, tuple)):
        return [leaf for p in parts for leaf in _leaves(p)]
    return [parts]


def _merged(parts: Any) -> tuple:
    """(shape, [ExactSum per element]) merged over every block of ``parts``."""
    blocks = _leaves(parts)
    shape = blocks[0].shape
    accs = [_mylib.ExactSum() if b is None else _mylib.ExactSum.from_bytes(b) for b in blocks[0].reshape(-1)]
    for block in blocks[1:]:
        if block.shape != shape:  # pragma: no cover - Dask groups blocks of one output element
            raise AssertionError(f"intermediate blocks of shapes {shape} and {block.shape}")
        for acc, b in zip(accs, block.reshape(-1)):
            if b is not None:
                acc.merge(_mylib.ExactSum.from_bytes(b))
    return shape, accs


def _combine(parts: Any, axis: tuple = (), keepdims: bool = True) -> np.ndarray:
    """Dask's *combine*: one state per output element from a group of blocks."""
    shape, accs = _merged(parts)
    out = np.empty(shape, dtype=object)
    flat = out.reshape(-1)
    for k, acc in enumerate(accs):
        flat[k] = acc.to_bytes()
    return out


def _aggregate(parts: Any, axis: tuple = (), keepdims: bool = False) -> Any:
    """Dask's *aggregate*: the last merge, each element rounded once."""
    shape, accs = _merged(parts)
    values = np.array([acc.value() for acc in accs], dtype=np.float64).reshape(shape)
    if not keepdims:
        values = values.reshape(tuple(n for i, n in enumerate(shape) if i not in axis))
    return values[()] if values.ndim == 0 else values


# ------------------------------------------------------------ Series (dask.dataframe)
def _series_values(part: Any) -> np.ndarray:
    """A pandas partition's float64 values, missing values (pd.NA) dropped."""
    values = part.array
    if isinstance(part.dtype, np.dtype):  # plain float64: the values as they are, NaN included
        return part.to_numpy()
    missing = values.isna()
    if missing.any():
        values = values[~missing]
    return values.to_numpy(dtype=np.float64)


def _series_chunk(part: Any) -> bytes:
    return _state(_series_values(part))


def _series_merge(states: Any) -> _mylib.ExactSum:
    acc = _mylib.ExactSum()
    for b in states.tolist() if hasattr(states, "tolist") else states:
        acc.merge(_mylib.ExactSum.from_bytes(b))
    return acc


def _series_combine(states: Any) -> bytes:
    return _series_merge(states).to_bytes()


def _series_aggregate(states: Any) -> float:
    return _series_merge(states).value()


def _series_dtype_ok(dtype: Any) -> bool:
    if isinstance(dtype, np.dtype):
        return dtype == _F64
    import pandas as pd

    if isinstance(dtype, pd.Float64Dtype):
        return True
    arrow = getattr(pd, "ArrowDtype", None)
    if arrow is not None and isinstance(dtype, arrow):
        import pyarrow as pa

        return dtype.pyarrow_dtype == pa.float64()
    return False


# ------------------------------------------------------------ the public function
def fast_sum(
    x: Any,
    axis: Union[None, int, Sequence[int]] = None,
    *,
    keepdims: bool = False,
    split_every: Optional[Union[int, dict]] = None,
) -> Any:
    """The exact sum of a float64 Dask array or Series, rounded once: a lazy
    Dask object (call ``.compute()``), whose value is the bits of
    ``math.fsum`` of the data whatever the chunking, the scheduler or the
    merge tree.

    ``x``: a ``dask.array.Array`` of float64, or a ``dask.dataframe.Series``
    of ``float64``, ``Float64`` or ``double[pyarrow]`` (missing values
    skipped; see the module's docstring). ``axis`` (arrays only): ``None``
    for the total, an int or a tuple of ints as in ``numpy.sum`` (negative
    ones count from the end; out of range is ``numpy.exceptions.AxisError``).
    ``keepdims`` as numpy's. ``split_every``: the merge tree's fan-in, as in
    Dask's own reductions (any value gives the same bits).

    Returns a 0-d ``dask.array.Array`` for a total, an array of float64 for
    an axis reduction, a Dask scalar for a Series. NaN, infinities and
    overflow follow ``mylib.fast_sum``'s rules.
    """
    if isinstance(x, da.Array):
        return _array_sum(x, axis, keepdims, split_every)
    dd = sys.modules.get("dask.dataframe")  # a Dask Series exists only once dask.dataframe is imported
    if dd is not None:
        if isinstance(x, dd.Series):
            if axis not in (None, 0):
                raise ValueError(f"fast_sum() of a Series takes axis=None or 0, not {axis!r}")
            if keepdims:
                raise TypeError("fast_sum() of a Series takes no keepdims")
            return _series_sum(x, split_every)
        if isinstance(x, dd.DataFrame):
            raise TypeError("fast_sum() sums one column: pass a Series (df['column'])")
    raise TypeError(
        f"fast_sum() expects a dask.array.Array or a dask.dataframe.Series, not {type(x).__module__}.{type(x).__name__} "
        "(for a numpy array or a list, use mylib.fast_sum)"
    )


def _array_sum(x: Any, axis: Any, keepdims: bool, split_every: Any) -> Any:
    if x.dtype != _F64:
        raise TypeError(
            f"fast_sum() needs a float64 array, got {x.dtype}; convert it explicitly (x.astype('float64'))"
        )
    meta = getattr(x, "_meta", None)
    if isinstance(meta, np.ma.MaskedArray) or not isinstance(meta, np.ndarray):
        raise TypeError(
            f"fast_sum() needs numpy blocks, got {type(meta).__module__}.{type(meta).__name__}; "
            "for a masked array fill or drop the masked values explicitly (x.filled(0.0))"
        )
    axis = _axes(axis, x.ndim)
    if x.ndim == 0:  # as a 1-element vector: Dask learns types from empty blocks, and a 0-d one is never empty
        x, axis, keepdims = x.reshape(1), (0,), False
    return da.reduction(
        x,
        _chunk,
        _aggregate,
        combine=_combine,
        axis=axis,
        keepdims=keepdims,
        dtype=np.float64,
        split_every=split_every,
        concatenate=False,
        name="mylib-fast-sum",
        meta=np.empty((0,) * (x.ndim if keepdims else x.ndim - len(axis)), dtype=np.float64),
    )


def _axes(axis: Any, ndim: int) -> tuple:
    """numpy's axis rule: None (all), an int or a sequence of ints, negative
    ones from the end; out of range is AxisError, a repeated axis ValueError."""
    if axis is None:
        return tuple(range(ndim))
    items = (axis,) if isinstance(axis, Integral) else axis
    try:
        items = tuple(items)
    except TypeError:
        items = (axis,)
    if any(isinstance(a, bool) or not isinstance(a, Integral) for a in items):
        raise TypeError(f"fast_sum() axis must be None, an int or a tuple of ints, not {axis!r}")
    return tuple(normalize_axis_tuple(tuple(int(a) for a in items), ndim))


def _series_sum(s: Any, split_every: Any) -> Any:
    if not _series_dtype_ok(s.dtype):
        raise TypeError(
            f"fast_sum() needs a float64 Series (float64, Float64 or double[pyarrow]), got {s.dtype}; "
            "convert it explicitly (s.astype('float64'))"
        )
    return s.reduction(
        _series_chunk,
        aggregate=_series_aggregate,
        combine=_series_combine,
        meta=float,
        token="mylib-fast-sum",
        split_every=split_every,
    )
