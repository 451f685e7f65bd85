"""Checks that keep "adding a function" a short, checked path (CONTRIBUTING.md).

Each failure says what to do. The lists they compare are the ones that exist
once: the header (``include/mylib.h``), ``tests/exported-symbols.txt``,
``mylib._api.__all__`` / ``RAW_ONLY`` / ``PRIMITIVES``.
"""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
import sys

import pytest

import helpers
from helpers import run_python

from mylib import _api, _cdef

HEADER_FUNCTIONS = sorted(_cdef.declarations(helpers.HEADER.read_text(encoding="utf-8")).functions)
BACKEND_SOURCES = {
    "cffi_binding / cffi_compiled": "_cffi_calls.py",
    "ctypes_binding": "ctypes_binding.py",
}
PUBLIC_FUNCTIONS = [name for name in _api.__all__ if callable(getattr(_api, name)) and not isinstance(getattr(_api, name), type)]


def _source(name: str) -> str:
    return (helpers.package_dir() / name).read_text(encoding="utf-8")


def _tests_text(directory, pattern: str) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(directory.glob(pattern)))


@pytest.mark.parametrize("function", HEADER_FUNCTIONS)
def test_every_header_function_is_in_the_python_api_or_raw_only(function):
    """Each function of mylib.h is called by the API (mylib/_api.py names it through a generic primitive) or by every
    backend's own primitives, or is listed in _api.RAW_ONLY with a reason."""
    if function in _api.RAW_ONLY or re.search(rf"\b{function}\b", _source("_api.py")):
        return
    for backend, source in BACKEND_SOURCES.items():
        assert re.search(rf"\b{function}\b", _source(source)), (
            f"mylib.h declares {function}, but neither mylib/_api.py nor {backend} ({source}) calls it. Expose it: "
            "a public function in mylib/_api.py calling it through a primitive (CONTRIBUTING.md, 'Adding a "
            "function'), or list it in mylib._api.RAW_ONLY with the reason it stays C-only."
        )


def test_raw_only_names_are_header_functions():
    """RAW_ONLY lists only functions the header declares (no stale entries)."""
    stale = sorted(set(_api.RAW_ONLY) - set(HEADER_FUNCTIONS))
    assert not stale, f"mylib._api.RAW_ONLY lists {stale}, which mylib.h does not declare: remove them"


@pytest.mark.parametrize("symbol", helpers.exported_symbol_names())
def test_every_export_is_called_in_the_c_tests(symbol):
    """Each exported function is called in tests/c/test_mylib.c."""
    text = _tests_text(helpers.REPO / "tests" / "c", "*.c")
    assert re.search(rf"\b{symbol}\(", text), f"{symbol} is exported but never called in tests/c/*.c: add a C test for it"


@pytest.mark.parametrize("symbol", helpers.exported_symbol_names())
def test_every_export_is_called_in_the_python_tests(symbol):
    """Each exported function is named in the Python tests (raw ctypes/cffi calls in test_raw.py)."""
    text = _tests_text(helpers.REPO / "tests" / "python", "test_*.py")
    assert re.search(rf"\b{symbol}\b", text), (
        f"{symbol} is exported but no Python test calls it: add a raw call with a bad input to tests/python/test_raw.py"
    )


@pytest.mark.parametrize("name", PUBLIC_FUNCTIONS)
def test_every_public_function_is_documented_and_tested(name):
    """Each public function has its docstring (in _api) and is called by the backend-parametrized tests."""
    assert (getattr(_api, name).__doc__ or "").strip(), f"mylib._api.{name} has no docstring: write it there, once"
    text = _tests_text(helpers.REPO / "tests" / "python", "test_*.py")
    assert re.search(rf"\bm\.{name}\(", text), f"no test calls m.{name}(...): add tests to tests/python/test_api.py"


@pytest.mark.parametrize("module", ["mylib", *(f"mylib.{b}" for b in helpers.BACKEND_MODULES)])
def test_every_public_name_is_reachable(module):
    """Every name of _api.__all__ is mylib.<name> and comes with `from <module> import *`, on every backend."""
    if module != "mylib" and not helpers.backend_available(module.split(".")[1]):
        pytest.skip(f"{module} is not available here")
    mod = importlib.import_module(module)
    missing = [name for name in _api.__all__ if not hasattr(mod, name)]
    assert not missing, f"{module} lacks {missing}: public names come from mylib._api.__all__ through _api.bind"
    namespace: dict = {}
    exec(f"from {module} import *", namespace)
    star = sorted(k for k in namespace if k != "__builtins__")
    extra = {"BACKEND", "BACKENDS", "__version__"} if module == "mylib" else set()
    assert star == sorted(set(_api.__all__) | extra), star


@pytest.mark.parametrize("module", helpers.BACKEND_MODULES)
def test_backend_functions_are_the_api_as_written(module):
    """A backend's public functions run _api's code (same code objects and docstrings). The one exception: mylib.capi's
    C fast paths (its FAST list), which carry the API's docstrings and hand every other case to the API as written;
    the differential property tests hold them to the same behaviour."""
    if not helpers.backend_available(module):
        pytest.skip(f"mylib.{module} is not available here")
    mod = importlib.import_module(f"mylib.{module}")
    fast = getattr(mod, "FAST", ())
    assert set(fast) <= set(PUBLIC_FUNCTIONS)
    for name in PUBLIC_FUNCTIONS:
        f, written = getattr(mod, name), getattr(_api, name)
        assert f.__doc__ == written.__doc__, name
        if name in fast:
            assert type(f).__name__ == "builtin_function_or_method", name
        else:
            assert f.__code__ is written.__code__, name


@pytest.mark.parametrize("module", helpers.BACKEND_MODULES)
def test_c_add_range_contract(module):
    """A backend that says its _c_add checks the C int range raises OverflowError for an int that does not fit, so
    the API may skip its own check; one that does not (ctypes) would truncate, and the API checks first."""
    if not helpers.backend_available(module):
        pytest.skip(f"mylib.{module} is not available here")
    bound = importlib.import_module(f"mylib.{module}")._bound
    assert isinstance(bound["_c_add_checks_range"], bool)
    assert bound["_c_add"](2, 3) == 5
    if bound["_c_add_checks_range"]:
        for a, b in [(2**31, 0), (0, -(2**31) - 1), (2**64, 0)]:
            with pytest.raises(OverflowError):
                bound["_c_add"](a, b)


def test_bind_refuses_a_backend_without_every_primitive():
    """A backend missing a primitive fails at import with ImportError naming it (never later, never a segfault)."""
    primitives = {name: (lambda *a: None) for name in _api.PRIMITIVES if name != "_c_call_buffer"}
    with pytest.raises(ImportError, match="_c_call_buffer"):
        _api.bind({"__name__": "mylib.fake"}, primitives)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="builds a package copy with the Linux library name")
def test_a_header_type_ctypes_cannot_map_is_an_import_error(tmp_path):
    """A header function whose C type the ctypes backend has no mapping for: ImportError saying where to add it."""
    pkg = tmp_path / "mylib"
    shutil.copytree(helpers.package_dir(), pkg, ignore=shutil.ignore_patterns("__pycache__"))
    header = pkg / "include" / "mylib.h"
    header.write_text(
        header.read_text(encoding="utf-8").replace("#ifdef __cplusplus\n}", "int mylib_mean(const float *data, size_t len);\n\n#ifdef __cplusplus\n}", 1),
        encoding="utf-8",
    )
    assert "mylib_mean" in header.read_text(encoding="utf-8")
    proc = run_python(
        """
        try:
            import mylib.ctypes_binding
        except ImportError as e:
            print("ImportError:", e)
        """,
        env={"PYTHONPATH": str(tmp_path)},
    )
    out = proc.stdout.decode()
    assert "ImportError:" in out and "'const float *'" in out and "mylib_mean" in out and "_TYPES" in out, out


def test_the_guide_exists_and_names_every_step():
    """CONTRIBUTING.md walks through adding a function, naming the files these checks look at."""
    guide = (helpers.REPO / "CONTRIBUTING.md").read_text(encoding="utf-8")
    for needle in ("src/capi.rs", "make header", "tests/exported-symbols.txt", "tests/capi.rs", "tests/c/test_mylib.c",
                   "mylib/_api.py", "RAW_ONLY", "tests/python/test_api.py"):
        assert needle in guide, f"CONTRIBUTING.md does not mention {needle}"
