"""make bench-distributed (run by make bench; bench/dask_spark.py, not distributed.py: that name would shadow Dask's package): the cost of the exact sums on Dask and Spark.

Two goals, each a ratio of times taken alternately in this run (median of the
per-round ratios, so both sides see the same machine noise):

- Dask: mylib.dask.fast_sum(x) / x.sum() for 5e7 float64 in 1e7-element
  chunks, persisted on a LocalCluster of 2 worker processes (1 thread each):
  both sides read the same blocks in the workers' memory. Goal <= 1.25.
- Spark: mylib.spark.fast_sum(df, "x") / df.agg(F.sum("x")) for 1e7 double
  rows read from Parquet on local[2]. Goal <= 1.5. mylib sums inside the JVM
  (mylib-spark.jar; the Parquet scan's column batches). Also shown, against
  the same F.sum: the JVM's other ways on the same data (its row path, taken
  for plans that do not end in a columnar source; the public Aggregator, taken
  when Spark's internals do not link), the Python-worker path (the fallback
  without the jar), and a mapInArrow that only counts its rows: the floor of
  any Python-side per-partition work (the JVM-to-Arrow hand-off).

Writes bench/results/distributed.{txt,json}.

    make bench-distributed
    MYLIB_BENCH_ROUNDS=5 make bench-distributed
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results"
WORK = ROOT / "target" / "bench"
ROUNDS = int(os.environ.get("MYLIB_BENCH_ROUNDS", "9"))

sys.path.insert(0, str(ROOT / "bindings" / "python"))
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

import mylib  # noqa: E402


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def paired(mine, theirs, rounds=ROUNDS) -> dict:
    """Alternating timings of mine() and theirs() (one warm-up each): the
    median of the per-round ratios and the median times."""
    mine(), theirs()
    a, b = [], []
    for _ in range(rounds):
        a.append(timed(mine))
        b.append(timed(theirs))
    return {
        "ratio": statistics.median(x / y for x, y in zip(a, b)),
        "mine_s": statistics.median(a),
        "theirs_s": statistics.median(b),
    }


def dask_bench() -> dict:
    import dask.array as da
    from distributed import Client, LocalCluster, wait

    import mylib.dask

    n, chunk = 50_000_000, 10_000_000
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        x = client.persist(da.random.default_rng(16).standard_normal(n, chunks=chunk))
        wait(x)
        exact = mylib.dask.fast_sum(x)
        own = x.sum()
        res = paired(lambda: exact.compute(), lambda: own.compute())
        res["value_mylib"] = float(exact.compute())
        res["value_dask"] = float(own.compute())
    return res


def spark_bench() -> dict:
    import pyarrow as pa
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    import mylib.spark

    spark = (SparkSession.builder.master("local[2]").appName("mylib bench")
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.memory", "2g").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    try:
        path = WORK / "spark-1e7.parquet"
        if not (path / "_SUCCESS").exists():
            WORK.mkdir(parents=True, exist_ok=True)
            spark.range(10_000_000, numPartitions=2).select((F.randn(16) * 1e3).alias("x")) \
                .write.mode("overwrite").parquet(str(path))
        df = spark.read.parquet(str(path))

        def count_rows(batches):
            n = sum(b.num_rows for b in batches)
            yield pa.RecordBatch.from_arrays([pa.array([n], pa.int64())], names=["n"])

        entry, reason = mylib.spark._jvm(spark.sparkContext, warn=False)
        if entry is None:
            raise SystemExit(f"bench: mylib.spark has no JVM aggregate ({reason}): make spark-jar")

        def jvm_way(way):
            return lambda: mylib.ExactSum.from_bytes(bytes(entry.state(df._jdf, way, 2))).value()

        theirs = lambda: df.agg(F.sum("x")).collect()  # noqa: E731
        res = paired(lambda: mylib.spark.fast_sum(df, "x"), theirs)
        res["jvm_way"] = entry.strategy(df._jdf)
        res["other_ratios"] = {
            "JVM, rows": paired(jvm_way("rows"), theirs)["ratio"],
            "JVM, public Aggregator (functions.udaf)": paired(jvm_way("aggregate"), theirs)["ratio"],
            "Python workers (mapInArrow, the fallback)": paired(lambda: mylib.spark.fast_sum(df, "x", method="python"),
                                                                theirs)["ratio"],
            "a mapInArrow that only counts rows (the JVM-to-Arrow hand-off alone)":
                paired(lambda: df.mapInArrow(count_rows, "n long").collect(), theirs)["ratio"],
        }
        res["value_mylib"] = mylib.spark.fast_sum(df, "x")
        res["value_spark"] = df.agg(F.sum("x")).first()[0]
        return res
    finally:
        spark.stop()


def main() -> int:
    print(f"mylib distributed bench: backend {mylib.BACKEND}, {ROUNDS} alternating rounds", file=sys.stderr)
    results = {"dask": dask_bench(), "spark": spark_bench()}
    d, s = results["dask"], results["spark"]
    goals = [
        ("Dask 5e7 (1e7 chunks, 2-worker LocalCluster): time, mylib.dask.fast_sum / x.sum()", d["ratio"], 1.25),
        ("Spark 1e7 rows (Parquet, local[2]): time, mylib.spark.fast_sum / F.sum", s["ratio"], 1.5),
    ]
    lines = [
        "== exact sums on Dask and Spark (times: medians; ratios: medians of alternating rounds)",
        f"Dask  x.sum() {d['theirs_s'] * 1e3:8.1f} ms   mylib.dask.fast_sum {d['mine_s'] * 1e3:8.1f} ms",
        f"Spark F.sum   {s['theirs_s'] * 1e3:8.1f} ms   mylib.spark.fast_sum {s['mine_s'] * 1e3:8.1f} ms "
        f"(in the JVM: {s['jvm_way']})",
        "Spark, other ways / F.sum (information, not goals):",
        *(f"  {name:72s} {ratio:6.2f}" for name, ratio in s["other_ratios"].items()),
        "",
        "== goals (ratio, needed, met)",
    ]
    for text, value, need in goals:
        lines.append(f"{text:84s} {value:6.2f} <= {need:4.2f}  {'MET' if value <= need else 'NOT MET'}")
    report = "\n".join(lines)
    print(report)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "distributed.txt").write_text(report + "\n")
    results["goals"] = [{"goal": t, "value": v, "needed": n, "at_most": True, "met": v <= n} for t, v, n in goals]
    (OUT / "distributed.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {OUT / 'distributed.txt'} and {OUT / 'distributed.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
