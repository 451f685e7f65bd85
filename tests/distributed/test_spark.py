"""mylib.spark.fast_sum: the bits of math.fsum for any repartition(k).

Every DataFrame test runs on both ways a column is summed (the ``method``
fixture): inside the JVM (mylib's jar, ``method="jvm"``: it fails when the jar
is missing, never falls back) and in Python workers (``method="python"``, the
fallback). The JVM side's own tests (its state against mylib's bytes, each way
it reads a plan, loading the jar, the fallback) are in test_spark_jvm.py.

Spark runs in local[2] mode, started by the suite (conftest's ``spark``
fixture); the hard data come from the run's seed.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StructField, StructType

import mylib
import mylib.spark as mspark
from harddata import FAMILIES, bits, exact, hard

PARTITIONS = (1, 3, 8, 17)


@pytest.fixture(params=["jvm", "python"])
def method(request):
    """The way a DataFrame column is summed: in the JVM, or in Python workers."""
    return request.param


def frame(spark, values, name="x"):
    return spark.createDataFrame(pd.DataFrame({name: np.asarray(values, dtype=np.float64)}))


@pytest.mark.parametrize("family", FAMILIES)
def test_column_is_fsum_for_every_repartition(spark, seed, family, method):
    rng = np.random.default_rng([seed, 40 + FAMILIES.index(family)])
    a = hard(int(rng.integers(2**32)), 30_000, family)
    df = frame(spark, a).cache()
    ref = bits(math.fsum(a))
    got = [mspark.fast_sum(df.repartition(k), "x", method=method) for k in PARTITIONS]
    got.append(mspark.fast_sum(df.orderBy(F.rand(int(rng.integers(2**31)))), "x", method=method))  # another order
    got.append(mspark.fast_sum(df.coalesce(1), F.col("x"), method=method))
    assert [bits(g) for g in got] == [ref] * len(got)
    df.unpersist()


def test_engine_own_sum_varies_where_mylib_does_not(spark, method):
    """On one fixed hard column (seed 16), F.sum gives several different
    results over repartition(k); mylib's gives fsum's bits each time."""
    a = hard(16, 100_000, "cancel")
    df = frame(spark, a).cache()
    own = [df.repartition(k).agg(F.sum("x")).first()[0] for k in PARTITIONS]
    mine = [mspark.fast_sum(df.repartition(k), "x", method=method) for k in PARTITIONS]
    assert len({bits(v) for v in own}) > 1, own
    assert {bits(v) for v in mine} == {bits(math.fsum(a))}
    df.unpersist()


@pytest.mark.parametrize("depth", [1, 2, 3, 5])
def test_any_merge_depth_gives_the_same_bits(spark, seed, depth, method):
    a = hard(int(np.random.default_rng([seed, 50 + depth]).integers(2**32)), 20_000)
    assert bits(mspark.fast_sum(frame(spark, a).repartition(13), "x", depth=depth, method=method)) == bits(math.fsum(a))


def test_rdd_of_floats_for_every_partitioning(spark, seed):
    a = hard(int(np.random.default_rng([seed, 60]).integers(2**32)), 20_000)
    sc = spark.sparkContext
    values = a.tolist()
    got = [mspark.fast_sum(sc.parallelize(values, k)) for k in PARTITIONS]
    got.append(mspark.fast_sum(sc.parallelize(values, 4).repartition(7)))
    assert [bits(g) for g in got] == [bits(math.fsum(a))] * len(got)


def test_rdd_empty_partitions_and_empty_rdds(spark):
    sc = spark.sparkContext
    assert mspark.fast_sum(sc.parallelize([1.5, 2.25], 9)) == 3.75  # 7 of 9 partitions empty
    assert mspark.fast_sum(sc.emptyRDD()) == 0.0  # no partition at all
    assert mspark.fast_sum(sc.parallelize([], 3)) == 0.0
    assert mspark.fast_sum(sc.parallelize([1, 2.5, np.float64(0.25)], 2)) == 3.75  # fast_sum's float rule


def test_rdd_with_a_non_number_fails_the_job_with_the_type_error(spark):
    rdd = spark.sparkContext.parallelize([1.0, None, 2.0], 2)
    with pytest.raises(Exception, match="TypeError") as err:
        mspark.fast_sum(rdd)
    assert "real number" in str(err.value)


def test_nulls_are_skipped_like_f_sum(spark, method):
    schema = StructType([StructField("x", DoubleType(), True)])
    df = spark.createDataFrame([(1.0,), (None,), (2.5,), (None,), (0.25,)], schema)
    assert mspark.fast_sum(df.repartition(3), "x", method=method) == 3.75 == df.agg(F.sum("x")).first()[0]
    only_null = spark.createDataFrame([(None,), (None,)], schema)
    assert mspark.fast_sum(only_null, "x", method=method) == 0.0  # F.sum gives None here: documented
    assert mspark.fast_sum(only_null.limit(0), "x", method=method) == 0.0


def test_empty_partitions_and_one_huge_partition(spark, seed, method):
    a = hard(int(np.random.default_rng([seed, 70]).integers(2**32)), 40_000)
    df = frame(spark, a)
    sparse = df.repartition(50).filter(F.col("x") > 0)  # many partitions, some empty after the filter
    ref_pos = bits(math.fsum(a[a > 0]))
    assert bits(mspark.fast_sum(sparse, "x", method=method)) == ref_pos
    assert bits(mspark.fast_sum(df.coalesce(1), "x", method=method)) == bits(math.fsum(a))
    assert mspark.fast_sum(spark.range(0).select(F.lit(1.0).alias("x")), "x", method=method) == 0.0


def test_nan_inf_and_overflow_follow_fast_sum(spark, method):
    base = np.arange(1000, dtype=np.float64)

    def with_(pos, values):
        a = base.copy()
        a[pos] = values
        # rows, not pandas: createDataFrame(pandas) turns NaN into null
        return spark.createDataFrame([(float(v),) for v in a], "x double").repartition(4)

    nan = with_([555], [np.nan])
    assert math.isnan(nan.agg(F.sum("x")).first()[0])  # Spark's own sum agrees: NaN is a value, not a null
    assert math.isnan(mspark.fast_sum(nan, "x", method=method))
    assert math.isnan(mspark.fast_sum(with_([5, 905], [np.inf, -np.inf]), "x", method=method))
    assert mspark.fast_sum(with_([5, 905], [np.inf, np.inf]), "x", method=method) == math.inf
    assert mspark.fast_sum(with_([905], [-np.inf]), "x", method=method) == -math.inf
    with pytest.raises(mylib.MylibOverflowError):
        mspark.fast_sum(frame(spark, [1.7e308] * 4 + [1.0] * 6).repartition(3), "x", method=method)


def test_partition_sums_beyond_the_double_range_are_no_problem(spark, method):
    a = [1.7e308, 1.7e308, 1.0, 2.0**-1074, -1.7e308, 3.0, -1.7e308, 1e308]
    df = frame(spark, a).coalesce(1)
    parts = spark.createDataFrame([(v, i // 2) for i, v in enumerate(a)], "x double, p int").repartition(4, "p")
    assert bits(mspark.fast_sum(df, "x", method=method)) == bits(exact(a))
    assert bits(mspark.fast_sum(parts, "x", method=method)) == bits(exact(a))


@pytest.mark.parametrize("spark_type", ["float", "int", "bigint", "decimal(20,4)", "string", "boolean"])
def test_non_double_columns_are_type_errors_before_any_job(spark, spark_type, method):
    df = spark.createDataFrame([(1,), (2,)], "v int").select(F.col("v").cast(spark_type).alias("x"))
    with pytest.raises(TypeError, match="double"):
        mspark.fast_sum(df, "x", method=method)
    # the documented conversion works
    if spark_type not in ("string", "boolean"):
        assert mspark.fast_sum(df, F.col("x").cast("double"), method=method) == 3.0


def test_argument_errors(spark):
    df = frame(spark, [1.0, 2.0])
    with pytest.raises(TypeError, match="column"):
        mspark.fast_sum(df)
    with pytest.raises(TypeError, match="column"):
        mspark.fast_sum(df, 0)
    with pytest.raises(TypeError, match="no column"):
        mspark.fast_sum(df.rdd.map(lambda r: r[0]), "x")
    for bad in ([1.0, 2.0], np.ones(2), pd.Series([1.0]), None):
        with pytest.raises(TypeError, match="DataFrame"):
            mspark.fast_sum(bad, "x")
    for depth in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="depth"):
            mspark.fast_sum(df, "x", depth=depth)
    for method in ("JVM", "java", "", None, 1):
        with pytest.raises(ValueError, match="method"):
            mspark.fast_sum(df, "x", method=method)
    with pytest.raises(ValueError, match="RDD of Python numbers"):
        mspark.fast_sum(df.rdd.map(lambda r: r[0]), method="jvm")
    from pyspark.errors import AnalysisException

    with pytest.raises(AnalysisException):
        mspark.fast_sum(df, "no_such_column")
