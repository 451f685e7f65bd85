"""Exact sums in Spark, the same bits for any partitioning.

``mylib.spark.fast_sum(df, column)`` sums a double column of a PySpark
DataFrame, ``mylib.spark.fast_sum(rdd)`` an RDD of floats, exactly: the bits of
``math.fsum`` of the values for any ``repartition(k)``.

**A DataFrame column is summed inside the JVM** when mylib's jar is available
(``mylib/jars/mylib-spark.jar``, built from ``bindings/spark`` and shipped in
the wheels; see :func:`jar_path`): each Spark task adds its partition's values
to an exact state written in Java, which is mylib's ``ExactSum`` byte for byte
(the same 288-byte format), Spark merges the states in a tree, and the driver
rounds the merged state once with :class:`mylib.ExactSum` (mylib's one
rounding). No row leaves the JVM, so the cost is about that of Spark's own
``F.sum``. The jar is loaded into the running session on first use (the
driver loads its classes, ``SparkContext.addJar`` sends it to the executors),
or found on the session's classpath when it was started with
``.config("spark.jars", mylib.spark.jar_path())``. How the JVM side reads the
data: a plan that ends in a columnar file scan (Parquet, ORC) is read column
batch by column batch; any other plan (a shuffle, a filter, an expression, a
cached DataFrame) row by row; and if this Spark's internal classes do not link
with the ones the jar was compiled against (it reads the physical plan,
Spark's developer API), through a public ``Aggregator`` (``functions.udaf``),
slower but still in the JVM.

**Without the jar** (a build without a JDK, ``MYLIB_SPARK_JAR`` naming a
missing file, a JVM that cannot load it), ``method="auto"`` says so once per
SparkContext (a ``RuntimeWarning``) and sums in Python workers as before: each
partition's Arrow batches (``mapInArrow``) are added to an ``ExactSum`` and
Spark merges the states' bytes with ``RDD.treeAggregate``. The result is the
same bits; the cost is several times that of ``F.sum`` (the JVM-to-Arrow
hand-off alone costs 3x or more: ``make bench-distributed`` shows it). ``method="jvm"`` refuses to fall back
(``RuntimeError``); ``method="python"`` always takes the Python path. An RDD of
Python numbers is always summed in Python workers.

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

Spark Connect DataFrames (which have no JVM on the client, and no RDDs) are not
supported. This module imports PySpark; ``import mylib`` does not import it.
"""

from __future__ import annotations

import os
import threading
import warnings
import weakref
from itertools import islice
from typing import Any, Iterable, Iterator, Optional

from pyspark import RDD
from pyspark.sql import Column, DataFrame
from pyspark.sql.types import DoubleType

import mylib as _mylib

__all__ = ["fast_sum", "jar_path"]

#: The ways fast_sum may take for a DataFrame column.
METHODS = ("auto", "jvm", "python")
#: The jar of the JVM aggregate, in the package (built by make from bindings/spark).
_JAR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jars", "mylib-spark.jar")
#: The jar's entry class (bindings/spark/src/mylib/spark/SparkExactSum.java).
_ENTRY_CLASS = "mylib.spark.SparkExactSum"
#: The state format mylib.ExactSum reads (the jar must write it).
_FORMAT_VERSION = 1

#: Elements of an RDD partition added per call (bounds the worker's memory).
_RDD_BATCH = 1 << 16
#: The schema of the per-partition states.
_STATE_SCHEMA = "state binary"


# ------------------------------------------------------------ the JVM aggregate
def _find_jar() -> tuple:
    """(path, None) of the jar to load, or (None, why there is none)."""
    override = os.environ.get("MYLIB_SPARK_JAR")
    if override:
        if os.path.isfile(override):
            return os.path.abspath(override), None
        return None, f"MYLIB_SPARK_JAR={override!r} is not a file"
    if os.path.isfile(_JAR):
        return _JAR, None
    return None, f"this mylib has no {os.path.basename(_JAR)} (it was built without a JDK)"


def jar_path() -> Optional[str]:
    """The path of the jar holding mylib's JVM aggregate (``MYLIB_SPARK_JAR``
    if set, else the one in the package), or None when there is none. It is
    loaded into a running session on first use; a session can also be started
    with it: ``SparkSession.builder.config("spark.jars", mylib.spark.jar_path())``."""
    return _find_jar()[0]


_lock = threading.Lock()
#: SparkContext -> {the jar's path, or why there is none: (entry, None) or (None, why it is not available)}.
_entries: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def _jvm(sc: Any, *, warn: bool) -> tuple:
    """(entry, None): the JVM side's SparkExactSum object for this
    SparkContext, loaded once; or (None, why it is not available), said once
    per SparkContext as a RuntimeWarning when ``warn``."""
    jar, reason = _find_jar()
    key = jar or reason
    with _lock:
        per_context = _entries.setdefault(sc, {})
        known = key in per_context
        if not known:
            per_context[key] = _load(sc, jar) if jar else (None, reason)
        entry, reason = per_context[key]
    if entry is None and warn and not known:
        warnings.warn(f"mylib.spark.fast_sum: no JVM aggregate: {reason}; summing in Python workers instead "
                      "(the same bits, several times the cost of F.sum)", RuntimeWarning, stacklevel=3)
    return entry, reason


def _load(sc: Any, jar: str) -> tuple:
    """Loads the entry class: from the session's classpath when it is there
    (spark.jars), else from ``jar`` (the driver through a class loader of its
    own, the executors through SparkContext.addJar)."""
    jvm, gateway = sc._jvm, sc._gateway
    try:
        parent = jvm.java.lang.Thread.currentThread().getContextClassLoader()
        try:
            cls = jvm.java.lang.Class.forName(_ENTRY_CLASS, True, parent)
        except Exception:  # ClassNotFoundException: not on the classpath
            urls = gateway.new_array(jvm.java.net.URL, 1)
            urls[0] = jvm.java.io.File(jar).toURI().toURL()
            cls = jvm.java.net.URLClassLoader(urls, parent).loadClass(_ENTRY_CLASS)
            sc._jsc.sc().addJar(jar)
        entry = cls.getDeclaredConstructor(gateway.new_array(jvm.java.lang.Class, 0)).newInstance(
            gateway.new_array(jvm.java.lang.Object, 0))
        version = entry.formatVersion()
    except Exception as exc:  # the JVM refused the jar: say why, in one line
        return None, f"the JVM could not load {_ENTRY_CLASS} from {jar} ({' '.join(str(exc).split())[:300]})"
    if version != _FORMAT_VERSION:
        return None, f"{jar} writes state format {version}, this mylib reads format {_FORMAT_VERSION}"
    return entry, None


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
def fast_sum(data: Any, column: Any = None, *, depth: int = 2, method: str = "auto") -> float:
    """The exact sum, rounded once, of a double column of a DataFrame
    (``fast_sum(df, "x")``; ``column`` may also be a ``Column`` expression of
    type double) or of an RDD of numbers (``fast_sum(rdd)``): the bits of
    ``math.fsum`` of the values, for any partitioning. Runs one Spark job.

    Nulls are skipped (as ``F.sum`` skips them; an all-null or empty column
    gives 0.0). A column that is not ``DoubleType`` is a ``TypeError``.
    ``depth``: the height of the merge tree (``treeAggregate``'s, >= 1).
    ``method``: ``"auto"`` sums a DataFrame column in the JVM when mylib's jar
    is available, else in Python workers (with a ``RuntimeWarning`` saying
    why, once per SparkContext); ``"jvm"`` raises ``RuntimeError`` instead of
    falling back; ``"python"`` always sums in Python workers. An RDD is always
    summed in Python workers.
    NaN, infinities and overflow follow ``mylib.fast_sum``'s rules.
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"fast_sum() depth must be an int >= 1, not {depth!r}")
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"fast_sum() method must be one of {', '.join(map(repr, METHODS))}, not {method!r}")
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
        if method != "python":
            entry, reason = _jvm(selected.sparkSession.sparkContext, warn=method == "auto")
            if entry is not None:
                return _mylib.ExactSum.from_bytes(bytes(entry.state(selected._jdf, "auto", depth))).value()
            if method == "jvm":
                raise RuntimeError(f"fast_sum(method='jvm'): no JVM aggregate: {reason}")
        states = selected.mapInArrow(_arrow_states, _STATE_SCHEMA).rdd.map(_state_of_row)
    elif isinstance(data, RDD):
        if column is not None:
            raise TypeError("fast_sum(rdd) sums the RDD's elements and takes no column")
        if method == "jvm":
            raise ValueError("fast_sum(rdd, method='jvm'): an RDD of Python numbers is summed in Python workers; "
                             "the JVM aggregate sums DataFrame columns")
        states = data.mapPartitions(_rdd_states)
    else:
        raise TypeError(
            f"fast_sum() expects a pyspark.sql.DataFrame and a column, or a pyspark.RDD of numbers, "
            f"not {type(data).__module__}.{type(data).__name__}"
        )
    merged = states.treeAggregate(None, _merge, _merge, depth=depth)
    return 0.0 if merged is None else _mylib.ExactSum.from_bytes(merged).value()
