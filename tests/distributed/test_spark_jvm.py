"""mylib.spark's JVM aggregate (bindings/spark, shipped as mylib/jars/mylib-spark.jar).

- Its exact state (``ExactSumState``, pure Java) writes mylib's bytes, byte for
  byte, for hard data: every part's state, and the merges of the parts (folded
  and as a tree, through bytes and through Java serialisation), against
  ``mylib.ExactSum(values).to_bytes()``; and it reads malformed bytes as mylib
  does (the same accepted, the same refused). Run through a small Java
  program (java/StateCheck.java) in one JVM.
- Each way the JVM reads a DataFrame (column batches, rows, the public
  ``Aggregator``) gives the bits of ``math.fsum``, nulls skipped; "auto" picks
  batches for a columnar source and rows otherwise.
- The jar is loaded into a running session on first use, or taken from the
  classpath of a session started with it; without a usable jar,
  ``method="auto"`` says so once and sums in Python workers.
"""

from __future__ import annotations

import math
import os
import struct
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F

import mylib
import mylib.spark as mspark
from conftest import REPO
from harddata import FAMILIES, bits, hard, random_cuts

STATE_CHECK = REPO / "tests" / "distributed" / "java" / "StateCheck.java"
BYTES = 288
MAX = np.finfo(np.float64).max


@pytest.fixture(scope="session")
def jar():
    path = mspark.jar_path()
    assert path is not None, "mylib-spark.jar is missing: make test-distributed builds it (make spark-jar)"
    return path


@pytest.fixture(scope="session")
def state_check(jar, tmp_path_factory):
    """run(commands) -> the answers of java/StateCheck.java (compiled here against the jar)."""
    classes = tmp_path_factory.mktemp("statecheck")
    subprocess.run(["javac", "--release", "17", "-Xlint:all", "-Werror", "-cp", jar, "-d", str(classes), str(STATE_CHECK)],
                   check=True)

    def run(commands: bytes) -> bytes:
        proc = subprocess.run(["java", "-cp", os.pathsep.join([jar, str(classes)]), "StateCheck"],
                              input=commands + b"Q", capture_output=True, timeout=300)
        assert proc.returncode == 0, proc.stderr.decode()[-3000:]
        return proc.stdout

    return run


# ------------------------------------------------------------ hard data for the state
def from_bits(u) -> np.ndarray:
    return np.asarray(u, dtype=np.uint64).view(np.float64)


def split(rng, a: np.ndarray, most: int = 9) -> list:
    """``a`` cut into 1..most parts at random points (empty parts included)."""
    sizes = random_cuts(rng, len(a), int(rng.integers(1, most + 1)))
    return np.split(a, np.cumsum(sizes)[:-1])


def state_cases(seed: int) -> list:
    """(name, parts) pairs: the hard data the JVM state must write as mylib does."""
    rng = np.random.default_rng([seed, 90])
    cases = []

    def add(name, values, most=9):
        a = np.asarray(values, dtype=np.float64)
        cases.append((name, split(rng, a, most)))

    for family in FAMILIES:  # cancellation to 1e30, half-ulp ties, subnormals, every decade
        add(family, hard(int(rng.integers(2**32)), 20_000, family))
    # Every exponent (the subnormal one included), both signs, random significands; and each
    # cancelled by its negation but for a tiny residue.
    every = ((np.arange(2047, dtype=np.uint64) << np.uint64(52))
             | rng.integers(0, 2**52, 2047, dtype=np.uint64))
    every = np.concatenate([every, every | np.uint64(1 << 63)])
    add("every exponent", rng.permutation(from_bits(every)))
    x = from_bits(every[:2047])
    add("every exponent, cancelled", rng.permutation(np.concatenate([x, -x, [2.0**-1074, 2.0**-1000]])))
    # Ties: the exact sum halfway between two doubles, decided by the last bit or a tiny term.
    for s in (1.0, 2.0**-1000, 2.0**900, 2.0**-1022):
        add(f"tie to even, scale {s:g}", [2.0**53 * s, s], most=2)
        add(f"tie to even, up, scale {s:g}", [2.0**53 * s, 3 * s], most=2)
        for sign in (1.0, -1.0):
            add(f"tie decided far below, scale {s:g}, {sign:+g}", [2.0**53 * s, s, sign * 2.0**-60 * s], most=3)
    add("a half ulp above MAX (overflow by the tie)", [MAX, 2.0**970], most=2)
    add("a half ulp above MAX less one unit", [MAX, 2.0**970, -(2.0**-1074)], most=3)
    # Bins that carry: significands of 2^53 - 1 (2^52 - 1 when subnormal) at one exponent, in
    # parts long enough for a 64-bit bin to carry (2048 of them; 4096 subnormal) at least once.
    for e in (0, 1, 1023, 2046):
        top = (1 << 52) - 1 if e == 0 else (1 << 53) - 1
        m = np.uint64((e << 52) | (top & ((1 << 52) - 1)))
        add(f"bin carries, exponent {e}", from_bits(np.full(10_000, m)), most=2)
        add(f"bin carries, exponent {e}, both signs", from_bits(np.concatenate(
            [np.full(5000, m), np.full(4999, m | np.uint64(1 << 63))])), most=1)
    # Subnormals and the normal boundary.
    sub = from_bits(rng.integers(0, 1 << 52, 3000, dtype=np.uint64) | (rng.integers(0, 2, 3000, dtype=np.uint64) << np.uint64(63)))
    add("subnormals, both signs", sub)
    add("the smallest normal less a subnormal", [2.0**-1022, -(2.0**-1074)], most=2)
    # Overflow and the largest values.
    add("beyond the double range", [1.7e308] * 4 + [1.0] * 6)
    add("MAX 1000 times, -MAX 999 times", rng.permutation([MAX] * 1000 + [-MAX] * 999))
    add("-MAX, -MAX, MAX", [-MAX, -MAX, MAX])
    # NaN (quiet, signalling, negative, all ones) and the infinities, alone and with finite values.
    nans = from_bits([0x7FF8000000000000, 0x7FF0000000000001, 0xFFF8000000000000, 0xFFFFFFFFFFFFFFFF])
    for i, nan in enumerate(nans):
        add(f"NaN #{i} with finite values", rng.permutation(np.concatenate([[nan], rng.standard_normal(50)])))
    for specials in ([math.inf], [-math.inf], [math.inf, -math.inf], [math.inf, math.inf, 1e308, 1e308],
                     [math.inf, nans[1]], [-math.inf, -1.0, nans[2], math.inf]):
        add(f"specials {specials!r}", rng.permutation(np.concatenate([specials, rng.standard_normal(20)])))
    # Zeros, empty parts, nothing at all.
    add("zeros of both signs", [0.0, -0.0, -0.0, 0.0, -0.0])
    add("-0.0 alone", [-0.0], most=1)
    cases.append(("nothing", [np.zeros(0)]))
    cases.append(("empty parts only", [np.zeros(0)] * 4))
    # Typical data, many parts.
    add("normal, 1e5", rng.standard_normal(100_000) * 1e3, most=40)
    # Random bit patterns: every exponent, NaN, infinities, subnormals, in short sums.
    for _ in range(300):
        add("random bits", from_bits(rng.integers(0, 2**64, int(rng.integers(0, 200)), dtype=np.uint64, endpoint=False)))
    return cases


def encode_sums(cases) -> bytes:
    out = []
    for _, parts in cases:
        out.append(b"S" + struct.pack("<i", len(parts)))
        for p in parts:
            out.append(struct.pack("<q", len(p)) + np.ascontiguousarray(p, dtype="<f8").tobytes())
    return b"".join(out)


def test_jvm_state_writes_mylibs_bytes_for_hard_data(state_check, seed):
    cases = state_cases(seed)
    answer = state_check(encode_sums(cases))
    expected_len = sum((len(parts) + 2) * BYTES for _, parts in cases)
    assert len(answer) == expected_len
    wrong, at, values = [], 0, 0
    for name, parts in cases:
        whole = mylib.ExactSum(np.concatenate(parts)).to_bytes()
        for i, p in enumerate(parts):
            if answer[at:at + BYTES] != mylib.ExactSum(p).to_bytes():
                wrong.append(f"{name}: part {i} of {len(parts)} ({len(p)} values)")
            at += BYTES
        for how in ("folded", "merged as a tree"):
            if answer[at:at + BYTES] != whole:
                wrong.append(f"{name}: the parts {how}")
            at += BYTES
        values += sum(map(len, parts))
    assert not wrong, f"{len(wrong)} of {len(cases)} cases ({values} values) differ from mylib's bytes: {wrong[:10]}"


def _status(b: bytes) -> tuple:
    """mylib's reading of ``b``: (0, its bytes again), (1, None) malformed, (2, None) another version."""
    try:
        return 0, mylib.ExactSum.from_bytes(b).to_bytes()
    except mylib.UnsupportedVersionError:
        return 2, None
    except mylib.BadFormatError:
        return 1, None


def corrupted(seed: int) -> list:
    """Valid states and broken copies of them: every header field, the bound on N, random bit flips."""
    rng = np.random.default_rng([seed, 91])
    goods = [mylib.ExactSum(v).to_bytes() for v in (
        [], [1.0], [-1.0, 2.5], [math.nan, 1.0], [math.inf, -math.inf, 3.0], [MAX] * 5,
        hard(int(rng.integers(2**32)), 1000, "wide"), hard(int(rng.integers(2**32)), 1000, "subnormal"))]
    out = []
    for good in goods:
        out.append(good)
        out += [good[:-1], good + b"\0", good[:5], good[:4], b"", good[:287] + b"\x01\x00"]
        for at, value in ((0, 0x58), (3, 0), (4, 0), (4, 2), (4, 0xFF), (5, 8), (5, 0x80), (5, 7), (6, 1), (7, 0x80),
                          (8, 0), (287, 0x40), (287, 0x80), (287, 0xFF)):
            b = bytearray(good)
            b[at] = value
            out.append(bytes(b))
        for count in (0, 1, 2, 3, 2**63, 2**64 - 1):
            b = bytearray(good)
            b[8:16] = count.to_bytes(8, "little")
            out.append(bytes(b))
        for _ in range(60):  # random bit flips, one to three
            b = bytearray(good)
            for _ in range(int(rng.integers(1, 4))):
                i = int(rng.integers(len(b)))
                b[i] ^= 1 << int(rng.integers(8))
            out.append(bytes(b))
    # N at the bound count * 2^2098 and one unit past it, both signs; -2^2175.
    head = b"MYXS\x01\x00\x00\x00"
    for count in (1, 3, 2**40):
        for n in (count << 2098, (count << 2098) + 1, -(count << 2098), -(count << 2098) - 1):
            out.append(head + count.to_bytes(8, "little") + (n % (1 << 2176)).to_bytes(272, "little"))
    out.append(head + (1).to_bytes(8, "little") + (1 << 2175).to_bytes(272, "little"))
    return out


def test_jvm_state_reads_bytes_as_mylib_does(state_check, seed):
    inputs = corrupted(seed)
    answer = state_check(b"".join(b"B" + struct.pack("<i", len(b)) + b for b in inputs))
    at, wrong, accepted = 0, [], 0
    for b in inputs:
        status = answer[at]
        at += 1
        again = None
        if status == 0:
            again = answer[at:at + BYTES]
            at += BYTES
        mine = _status(b)
        if (status, again) != mine or (status == 0 and again != b):
            wrong.append(f"{b[:16].hex()}... ({len(b)} bytes): Java {status}, mylib {mine[0]}")
        accepted += status == 0
    assert at == len(answer)
    assert not wrong, f"{len(wrong)} of {len(inputs)} byte strings read differently: {wrong[:10]}"
    assert 0 < accepted < len(inputs)


# ------------------------------------------------------------ the ways the JVM reads a DataFrame
def _entry(spark):
    entry, reason = mspark._jvm(spark.sparkContext, warn=False)
    assert entry is not None, reason
    return entry


def _value(entry, df, way, depth=2):
    return mylib.ExactSum.from_bytes(bytes(entry.state(df._jdf, way, depth))).value()


@pytest.fixture(scope="module")
def parquet_column(spark, seed, tmp_path_factory):
    """A Parquet directory of 4 files of hard values with nulls, and its values (nulls left out)."""
    rng = np.random.default_rng([seed, 92])
    a = hard(int(rng.integers(2**32)), 40_000, "mixed")
    null = rng.random(len(a)) < 0.05
    path = tmp_path_factory.mktemp("parquet") / "hard"
    path.mkdir()
    for i, (part, mask) in enumerate(zip(np.array_split(a, 4), np.array_split(null, 4))):
        pq.write_table(pa.table({"x": pa.array(part, mask=mask)}), path / f"part-{i}.parquet", row_group_size=3000)
    return str(path), a[~null]


def test_each_jvm_way_gives_the_bits_of_fsum(spark, parquet_column, tmp_path):
    path, values = parquet_column
    ref = bits(math.fsum(values))
    entry = _entry(spark)
    df = spark.read.parquet(path)
    orc = str(tmp_path / "orc")
    df.write.orc(orc)
    frames = {
        "Parquet": lambda: spark.read.parquet(path),
        "ORC": lambda: spark.read.orc(orc),
        "Parquet, repartition(7)": lambda: spark.read.parquet(path).repartition(7),
        "Parquet, filtered": lambda: spark.read.parquet(path).filter(F.col("x").isNotNull() | F.col("x").isNull()),
        "Parquet, an expression": lambda: spark.read.parquet(path).select((F.col("x") * 1.0).alias("x")),
        # last: a cached plan stands in for every equal plan read after it
        "Parquet, cached": lambda: spark.read.parquet(path).cache(),
    }
    got, strategies = {}, {}
    for name, make in frames.items():
        frame = make()
        strategies[name] = entry.strategy(frame._jdf)
        ways = ["rows", "aggregate"] + (["batches"] if strategies[name] == "batches" else [])
        for way in ways:
            for depth in (1, 3):
                got[f"{name}, {way}, depth {depth}"] = bits(_value(entry, frame, way, depth))
        got[f"{name}, fast_sum"] = bits(mspark.fast_sum(frame, "x", method="jvm"))
    spark.read.parquet(path).unpersist()
    assert got == {k: ref for k in got}
    # the columnar sources are read in batches; the rest as rows (an in-memory scan too)
    assert strategies == {"Parquet": "batches", "ORC": "batches", "Parquet, repartition(7)": "rows",
                          "Parquet, filtered": "rows", "Parquet, an expression": "rows", "Parquet, cached": "rows"}


def test_each_jvm_way_follows_the_rules_of_fast_sum(spark, tmp_path):
    """Nulls skipped, NaN and infinities, nothing at all: the same in each way (columnar batches
    with and without nulls included)."""
    entry = _entry(spark)
    cases = {
        "nulls": ([1.0, None, 2.5, None, 0.25], 3.75),
        "no nulls": ([1.0, 2.5, 0.25], 3.75),
        "only nulls": ([None, None], 0.0),
        "NaN": ([1.0, math.nan, None], math.nan),
        "inf and -inf": ([math.inf, 1.0, -math.inf], math.nan),
        "inf": ([math.inf, -MAX, -MAX], math.inf),
        "-inf": ([-math.inf, 2.0], -math.inf),
        "nothing": ([], 0.0),
    }
    for name, (values, want) in cases.items():
        path = tmp_path / name.replace(" ", "_")
        pq.write_table(pa.table({"x": pa.array(values, type=pa.float64())}), path)
        df = spark.read.parquet(str(path))
        for way in ("batches", "rows", "aggregate"):
            got = _value(entry, df, way)
            assert bits(got) == bits(want), (name, way, got)
    with pytest.raises(mylib.MylibOverflowError):
        _value(entry, spark.createDataFrame([(1.7e308,)] * 4, "x double"), "rows")


def test_the_jvm_refuses_what_is_not_one_double_column(spark):
    entry = _entry(spark)
    df = spark.createDataFrame([(1.0, 2)], "x double, y int")
    for bad, message in ((df, "one column"), (df.select("y"), "double column")):
        with pytest.raises(Exception, match=message):
            entry.state(bad._jdf, "auto", 2)
    with pytest.raises(Exception, match="columnar source"):
        entry.state(df.select("x")._jdf, "batches", 2)
    with pytest.raises(Exception, match="depth"):
        entry.state(df.select("x")._jdf, "rows", 0)


# ------------------------------------------------------------ finding the jar; the fallback
def test_auto_sums_in_the_jvm_and_sends_the_jar_to_the_executors(spark, jar):
    df = spark.createDataFrame([(0.1,)] * 10, "x double").repartition(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback warning
        assert mspark.fast_sum(df, "x") == 1.0
    jars = spark.sparkContext._jsc.sc().listJars().mkString("\n").splitlines()
    assert [j for j in jars if j.endswith("/mylib-spark.jar")], jars


def test_without_a_usable_jar_auto_says_so_and_sums_in_python(spark, seed, tmp_path, monkeypatch):
    a = hard(int(np.random.default_rng([seed, 93]).integers(2**32)), 5_000)
    df = spark.createDataFrame([(float(v),) for v in a], "x double").repartition(3)
    not_a_jar = tmp_path / "not-a.jar"
    not_a_jar.write_text("not a jar\n")
    for path, why in ((tmp_path / "missing.jar", "is not a file"), (not_a_jar, "could not load mylib.spark.SparkExactSum")):
        monkeypatch.setenv("MYLIB_SPARK_JAR", str(path))
        assert mspark.jar_path() == (str(path) if path.exists() else None)
        with pytest.warns(RuntimeWarning, match=f"no JVM aggregate: .*{why}.*summing in Python workers"):
            assert bits(mspark.fast_sum(df, "x")) == bits(math.fsum(a))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # said once per SparkContext
            assert bits(mspark.fast_sum(df, "x")) == bits(math.fsum(a))
        with pytest.raises(RuntimeError, match=f"method='jvm'.*{why}"):
            mspark.fast_sum(df, "x", method="jvm")
    monkeypatch.delenv("MYLIB_SPARK_JAR")
    assert mspark.jar_path().endswith(os.path.join("mylib", "jars", "mylib-spark.jar"))


def test_a_session_started_with_the_jar_takes_it_from_its_classpath(jar, tmp_path):
    """The way to give it to a cluster up front: spark.jars. The class then comes from the
    session's classpath (no second copy is loaded or added)."""
    script = textwrap.dedent(f"""
        import math
        import mylib.spark as mspark
        from pyspark.sql import SparkSession
        spark = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
                 .config("spark.jars", mspark.jar_path()).getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        values = [1e100, 1.0, -1e100, 2.0**-60] * 25
        df = spark.createDataFrame([(v,) for v in values], "x double").repartition(3)
        assert mspark.fast_sum(df, "x", method="jvm") == math.fsum(values)
        entry, _ = mspark._jvm(spark.sparkContext, warn=False)
        loader = entry.getClass().getClassLoader().getClass().getName()
        added = spark.sparkContext._jsc.sc().listJars().mkString(",").split(",")
        jars = [j for j in added if j.endswith("mylib-spark.jar")]
        print("RESULT", loader, len(jars))
        spark.stop()
    """)
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (line,) = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")]
    _, loader, n_jars = line.split()
    assert loader != "java.net.URLClassLoader", "loaded a second copy instead of the classpath's"
    assert n_jars == "1"
