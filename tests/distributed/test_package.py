"""The packaging of mylib.dask and mylib.spark: `import mylib` stays free of
the engines, the extras bring them, and the pins tested here satisfy the extras."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import tomllib

from packaging.requirements import Requirement

from conftest import BINDINGS, REPO

ENGINES = ("dask", "distributed", "pyspark", "pandas", "pyarrow", "py4j")


def _modules_after(code: str) -> set:
    """The top-level modules a fresh interpreter has imported after ``code``."""
    script = f"{code}\nimport sys, json\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ), cwd="/")
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.splitlines()[-1]))


def test_import_mylib_imports_no_engine():
    loaded = _modules_after("import mylib; mylib.fast_sum([1.0, 2.0])")
    assert not loaded & set(ENGINES), sorted(loaded & set(ENGINES))
    assert "mylib" in loaded


def test_each_submodule_imports_only_its_engine():
    dask_side = _modules_after("import mylib.dask")
    assert "dask" in dask_side and not dask_side & {"pyspark", "py4j"}
    spark_side = _modules_after("import mylib.spark")
    assert "pyspark" in spark_side and not spark_side & {"dask", "distributed"}


def _extras() -> dict:
    with open(BINDINGS / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["optional-dependencies"]


def _pins() -> dict:
    pins = {}
    for line in (REPO / "tests" / "distributed" / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            req = Requirement(line)
            (version,) = [s.version for s in req.specifier if s.operator == "=="]
            pins[req.name.lower()] = version
    return pins


def test_extras_name_the_engines_and_the_tested_pins_satisfy_them():
    extras, pins = _extras(), _pins()
    names = {extra: {Requirement(r).name.lower() for r in reqs} for extra, reqs in extras.items()}
    assert {"dask", "distributed"} <= names["dask"]
    assert "dask" in {r.split("[")[0] for r in extras["dask"]} and "array" in extras["dask"][0]
    assert names["spark"] == {"pyspark"} and "sql" in Requirement(extras["spark"][0]).extras
    for extra in ("dask", "spark"):
        for r in map(Requirement, extras[extra]):
            assert r.name.lower() in pins, f"{r.name} (extra {extra}) is not pinned in tests/distributed/requirements.txt"
            assert r.specifier.contains(pins[r.name.lower()]), f"the tested {r.name}=={pins[r.name.lower()]} is outside {r}"


def test_the_pins_are_what_this_venv_runs():
    from importlib.metadata import version

    for name, pinned in _pins().items():
        assert version(name) == pinned, f"{name}: venv has {version(name)}, requirements.txt pins {pinned}"
