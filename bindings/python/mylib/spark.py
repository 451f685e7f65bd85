"""Exact sums in Spark, the same bits for any partitioning.

``mylib.spark.fast_sum(df, column)`` sums a double column of a PySpark
DataFrame, ``mylib.spark.fast_sum(rdd)`` an RDD of floats. Each partition adds
its values to a :class:`mylib.ExactSum` in a Python worker and hands on the
state's bytes; Spark merges the states with ``RDD.treeAggregate`` (a merge tree
Spark schedules and retries; ``depth`` sets its height); the driver rounds the
one merged state once. The exact sum does not depend on the partitioning or
on the merge order, so the result is the bits of ``math.fsum`` of the column
for any ``repartition(k)``.

Why ``mapInArrow`` + ``treeAggregate``: a DataFrame partition reaches Python
as Arrow record batches (columnar, no per-row objects), so each batch is added
in place; the per-partition states are a few hundred bytes each, and
``treeAggregate`` merges them on the executors, in a tree, instead of sending
them all to one place. A grouped-aggregate pandas UDF would ship every row of
the column to a single Python worker, and Spark SQL has no aggregate that
merges opaque bytes.

Values follow :func:`mylib.fast_sum`'s rules (NaN gives NaN; +inf and -inf
together give NaN; one kind of infinity gives it; an exact sum beyond the
double range raises :class:`mylib.MylibOverflowError`), with one addition that
``F.sum`` makes too: **nulls are skipped** (a column of nulls only, or no rows,
sums to 0.0, where ``F.sum`` gives null).

The column must be ``DoubleType``; any other type (``FloatType``, integers,
decimals, strings) is a ``TypeError`` before any job runs: cast it explicitly
(``F.col(name).cast("double")``). An RDD's elements follow ``mylib.fast_sum``'s
float rule for iterables (floats, ints, numpy floats...); ``None`` or a
non-number fails the job with the ``TypeError`` from its task.

Spark Connect DataFrames (which have no RDDs) are not supported. This module
imports PySpark; ``import mylib`` does not import it.
"""

from __future__ import annotations

from itertools import islice
from typing import Any, Iterable, Iterator, Optional

from pyspark import RDD
from pyspark.sql import Column, DataFrame
from pyspark.sql.types import DoubleType

import mylib as _mylib

__all__ = ["fast_sum"]

#: Elements of an RDD partition added per call (bounds the worker's memory).
_RDD_BATCH = 1 << 16
#: The schema of the per-partition states.
_STATE_SCHEMA = "state binary"


# ------------------------------------------------------------ run in the Python workers
def _arrow_states(batches: Iterator[Any]) -> Iterator[Any]:
    """mapInArrow: one partition's Arrow batches of one double column -> one
    batch holding the partition's ExactSum state (nulls skipped)."""
    import pyarrow as pa

    acc = _mylib.ExactSum()
    for batch in batches:
        column = batch.column(0)
        if column.null_count:
            column = column.drop_null()
        if len(column):
            acc.add(column.to_numpy(zero_copy_only=False))
    yield pa.RecordBatch.from_arrays([pa.array([acc.to_bytes()], type=pa.binary())], names=["state"])


def _rdd_states(values: Iterable[Any]) -> Iterator[bytes]:
    """mapPartitions: one partition's numbers -> its ExactSum state."""
    acc = _mylib.ExactSum()
    it = iter(values)
    while True:
        batch = list(islice(it, _RDD_BATCH))
        if not batch:
            break
        acc.add(batch)
    yield acc.to_bytes()


def _merge(a: Optional[bytes], b: Optional[bytes]) -> Optional[bytes]:
    """treeAggregate's seqOp and combOp: the merge of two states (None: empty)."""
    if a is None:
        return b
    if b is None:
        return a
    acc = _mylib.ExactSum.from_bytes(a)
    acc.merge(_mylib.ExactSum.from_bytes(b))
    return acc.to_bytes()


def _state_of_row(row: Any) -> bytes:
    return row[0]


# ------------------------------------------------------------ the public function
def fast_sum(data: Any, column: Any = None, *, depth: int = 2) -> float:
    """The exact sum, rounded once, of a double column of a DataFrame
    (``fast_sum(df, "x")``; ``column`` may also be a ``Column`` expression of
    type double) or of an RDD of numbers (``fast_sum(rdd)``): the bits of
    ``math.fsum`` of the values, for any partitioning. Runs one Spark job.

    Nulls are skipped (as ``F.sum`` skips them; an all-null or empty column
    gives 0.0). A column that is not ``DoubleType`` is a ``TypeError``.
    ``depth``: the height of Spark's merge tree (``treeAggregate``'s, >= 1).
    NaN, infinities and overflow follow ``mylib.fast_sum``'s rules.
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"fast_sum() depth must be an int >= 1, not {depth!r}")
    if isinstance(data, DataFrame):
        if column is None:
            raise TypeError("fast_sum(df, column) needs the column to sum (a name or a Column)")
        if not isinstance(column, (str, Column)):
            raise TypeError(f"fast_sum() column must be a column name or a Column, not {type(column).__name__}")
        if type(data).__module__.startswith("pyspark.sql.connect"):
            raise TypeError("fast_sum() needs a classic Spark DataFrame; Spark Connect DataFrames are not supported")
        selected = data.select(column)
        field = selected.schema.fields[0]
        if not isinstance(field.dataType, DoubleType):
            raise TypeError(
                f"fast_sum() needs a double column, got {field.name!r} of type {field.dataType.simpleString()}; "
                f"cast it explicitly (F.col({field.name!r}).cast('double'))"
            )
        states = selected.mapInArrow(_arrow_states, _STATE_SCHEMA).rdd.map(_state_of_row)
    elif isinstance(data, RDD):
        if column is not None:
            raise TypeError("fast_sum(rdd) sums the RDD's elements and takes no column")
        states = data.mapPartitions(_rdd_states)
    else:
        raise TypeError(
            f"fast_sum() expects a pyspark.sql.DataFrame and a column, or a pyspark.RDD of numbers, "
            f"not {type(data).__module__}.{type(data).__name__}"
        )
    merged = states.treeAggregate(None, _merge, _merge, depth=depth)
    return 0.0 if merged is None else _mylib.ExactSum.from_bytes(merged).value()
