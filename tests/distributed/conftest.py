"""pytest configuration of the Dask and Spark suite (make test-distributed).

The package under test is the checkout's ``bindings/python/mylib``, unless
``MYLIB_TEST_INSTALLED=1`` (then the installed one). The processes the
engines start (Dask's process pool and LocalCluster workers, Spark's Python
workers) get the same package: the checkout's directory is put on their
``PYTHONPATH`` too.

The hard data come from a seed drawn for each run and printed in the header;
``MYLIB_DIST_SEED=<int>`` replays a run.
"""

from __future__ import annotations

import os
import random
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BINDINGS = REPO / "bindings" / "python"
INSTALLED = os.environ.get("MYLIB_TEST_INSTALLED") == "1"

if not INSTALLED:
    sys.path.insert(0, os.fspath(BINDINGS))
    os.environ["PYTHONPATH"] = os.pathsep.join([os.fspath(BINDINGS), *filter(None, [os.environ.get("PYTHONPATH")])])
for _var in ("MYLIB_DEBUG", "MYLIB_BACKEND"):
    os.environ.pop(_var, None)
# Spark's Python workers run this interpreter (the suite's venv), not "python3" from PATH.
os.environ["PYSPARK_PYTHON"] = sys.executable
os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable

SEED = int(os.environ.get("MYLIB_DIST_SEED") or random.SystemRandom().randrange(2**32))


def pytest_sessionstart(session):
    """Stops the run with one clear failure when the package lacks the accumulator these sums merge."""
    import mylib

    if not hasattr(mylib, "ExactSum"):
        pytest.exit(f"mylib {mylib.__version__} at {os.path.dirname(mylib.__file__)} has no ExactSum (the mergeable "
                    "exact accumulator of issue 15): mylib.dask and mylib.spark need it", returncode=1)


def pytest_report_header(config):
    import mylib

    return [
        f"mylib {mylib.__version__} from {os.path.dirname(mylib.__file__)} (backend {mylib.BACKEND})",
        f"hard data seed: MYLIB_DIST_SEED={SEED}",
    ]


@pytest.fixture(scope="session")
def seed():
    return SEED


# ------------------------------------------------------------ Dask
@pytest.fixture(scope="session")
def process_pool():
    """One pool for the "processes" scheduler (spawned, as Dask's default)."""
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        yield pool


@pytest.fixture(scope="session")
def dask_cluster():
    """A LocalCluster of two worker processes (one thread each), and its Client."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            yield client


SCHEDULERS = ("sync", "threads", "processes", "distributed")


@pytest.fixture(params=SCHEDULERS)
def compute(request):
    """compute(*collections) on each Dask scheduler in turn; returns the results as a tuple."""
    import dask

    if request.param == "distributed":
        client = request.getfixturevalue("dask_cluster")
        return lambda *c: tuple(client.compute(list(c), sync=True))
    if request.param == "processes":
        pool = request.getfixturevalue("process_pool")
        return lambda *c: dask.compute(*c, scheduler="processes", pool=pool)
    return lambda *c: dask.compute(*c, scheduler=request.param)


# ------------------------------------------------------------ Spark
@pytest.fixture(scope="session")
def spark():
    """A SparkSession in local[2] mode, started by the suite (needs Java 17)."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("mylib-distributed-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
