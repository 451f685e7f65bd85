"""examples/python/distributed_sum.py runs and shows what the README says it
shows: the engines' own sums vary over the partitionings, mylib's are one
value, math.fsum's."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from conftest import REPO


def test_example_shows_engine_sums_vary_and_mylib_does_not():
    proc = subprocess.run([sys.executable, os.fspath(REPO / "examples" / "python" / "distributed_sum.py"), "100000"],
                          capture_output=True, text=True, timeout=600, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr[-3000:]
    verdicts = re.findall(r"-> the engine's sum: (\d+) different result\(s\); mylib's: (\d+)(, equal to math.fsum)?",
                          proc.stdout)
    assert len(verdicts) == 2, proc.stdout  # Dask and Spark
    for engine, mine, equal in verdicts:
        assert int(engine) > 1 and int(mine) == 1 and equal, proc.stdout
    assert "differs from fsum" not in proc.stdout
