"""The same hard data summed by Dask and by Spark over several partitionings:
the engines' own sums change with the partitioning, mylib's exact sums do not.

    pip install "mylib-ffi[dask,spark]"        # Spark also needs Java 17
    python examples/python/distributed_sum.py  # from a checkout: make example-distributed
    python examples/python/distributed_sum.py 100000   # another number of values

The data: 400,000 float64 values (or the number given) spread over 20 decades, most of them
cancelling against a slightly perturbed twin, so that the sum is a small
residue of huge terms (where a float sum depends on the order of its adds).
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np


def hard_data(n: int = 400_000, seed: int = 2024) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n // 2) * 10.0 ** rng.uniform(-10, 10, n // 2)
    twins = -x * (1.0 + rng.integers(-3, 4, n // 2) * 2.0**-52)
    data = np.concatenate([x, twins])
    rng.shuffle(data)
    return data


def show(title: str, rows: list, reference: float) -> None:
    print(f"\n{title}")
    print(f"  {'partitioning':24s} {'engine sum()':>26s}   {'mylib fast_sum':>26s}")
    for label, own, mine in rows:
        print(f"  {label:24s} {own!r:>26s}   {mine!r:>26s}{'' if mine == reference else '  (differs from fsum!)'}")
    owns, mines = {r[1] for r in rows}, {r[2] for r in rows}
    print(f"  -> the engine's sum: {len(owns)} different result(s); mylib's: {len(mines)}"
          f"{', equal to math.fsum' if mines == {reference} else ''}")


def dask_rows(data: np.ndarray) -> list:
    import dask.array as da
    from distributed import Client, LocalCluster

    import mylib.dask

    rows = []
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, Client(cluster):
        n = data.size
        for chunks in (n, n // 2, 65_536, 10_000, 7_777, 1_000):
            x = da.from_array(data, chunks=chunks)
            rows.append((f"{x.numblocks[0]} chunks of {chunks}", float(x.sum().compute()),
                         float(mylib.dask.fast_sum(x).compute())))
    return rows


def spark_rows(data: np.ndarray) -> list:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the workers run this Python, which has mylib
    import pandas as pd
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    import mylib.spark

    spark = (SparkSession.builder.master("local[2]").appName("mylib distributed_sum")
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.execution.arrow.pyspark.enabled", "true").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    try:
        df = spark.createDataFrame(pd.DataFrame({"x": data})).cache()
        rows = []
        for k in (1, 3, 8, 17):
            part = df.repartition(k)
            rows.append((f"repartition({k})", part.agg(F.sum("x")).first()[0], mylib.spark.fast_sum(part, "x")))
        return rows
    finally:
        spark.stop()


def main() -> int:
    data = hard_data(int(float(sys.argv[1])) if len(sys.argv) > 1 else 400_000)
    reference = math.fsum(data)
    print(f"{data.size:,} float64 values; math.fsum = {reference!r}")
    for title, rows in (("Dask (LocalCluster, 2 worker processes)", dask_rows), ("Spark (local[2])", spark_rows)):
        try:
            show(title, rows(data), reference)
        except ImportError as exc:
            print(f"\n{title}: not run ({exc}); pip install 'mylib-ffi[dask,spark]'")
    return 0


if __name__ == "__main__":
    sys.exit(main())
