"""The top-level ``mylib`` package: re-exports, backend selection
(``mylib.BACKEND``, ``MYLIB_BACKEND``) and the compiled backend's import error."""

from __future__ import annotations

import importlib

import pytest

import helpers
import mylib
from helpers import run_python

API = ["add", "greet", "greeting", "Point", "print_point", "sum_array", "fast_sum", "process", "set_debug", "debug_enabled", "version"]
EXCEPTIONS = [
    "MylibError",
    "NullPointerError",
    "InvalidLengthError",
    "MylibOverflowError",
    "MissingCallbackError",
    "MylibIOError",
    "PanicError",
    "MisalignedError",
    "CallbackFailedError",
]
MODULE_OF = {v: k for k, v in helpers.BACKEND_NAME.items()}  # "ctypes" -> "ctypes_binding"


def test_package_exports_api():
    """mylib exposes the whole API, the exceptions, BACKEND and __version__."""
    for name in API + EXCEPTIONS + ["BACKEND", "__version__"]:
        assert hasattr(mylib, name), name
    assert isinstance(mylib.__version__, str)


def test_each_backend_exports_api(m):
    """Every backend module exposes the same API names and exceptions."""
    for name in API + EXCEPTIONS:
        assert hasattr(m, name), f"{m.__name__}.{name}"
        if name not in EXCEPTIONS and name != "Point":
            assert callable(getattr(m, name))


def test_default_backend_is_fastest_available():
    """Without MYLIB_BACKEND, mylib.BACKEND is capi when it can run here, else cffi_compiled when built, else cffi."""
    expected = "capi" if helpers.capi_is_built() else "cffi_compiled" if helpers.compiled_is_built() else "cffi"
    assert mylib.BACKEND == expected


def test_package_reexports_backend_functions():
    """mylib's functions are those of the backend module named by mylib.BACKEND."""
    backend = importlib.import_module(f"mylib.{MODULE_OF[mylib.BACKEND]}")
    for name in API:
        if name == "Point":
            continue
        assert getattr(mylib, name) is getattr(backend, name), name
    assert mylib.add(2, 3) == 5


@pytest.mark.parametrize("backend", ["capi", "cffi_compiled", "cffi", "ctypes"])
def test_mylib_backend_env_forces_backend(backend):
    """MYLIB_BACKEND=<name> makes import mylib use that backend."""
    if not helpers.backend_available(MODULE_OF[backend]):
        pytest.skip(f"mylib.{MODULE_OF[backend]} is not available here")
    proc = run_python(
        """
        import importlib, mylib
        mod = importlib.import_module("mylib." + mylib.BACKENDS[mylib.BACKEND])
        print(mylib.BACKEND, mylib.add(2, 3), mylib.add is mod.add)
        """,
        env={"MYLIB_BACKEND": backend},
    )
    assert proc.stdout.decode().split() == [backend, "5", "True"]


def test_cffi_compiled_import_error_says_how_to_build():
    """Without its extension, importing mylib.cffi_compiled raises ImportError saying how to build it; mylib falls back to cffi."""
    # sys.modules[name] = None makes importing the extension fail exactly as
    # when it is not built, whether or not it is built here.
    proc = run_python(
        """
        import sys
        sys.modules["mylib._mylib_cffi"] = None
        sys.modules["mylib._mylib_capi"] = None
        import mylib
        print(mylib.BACKEND)
        try:
            import mylib.cffi_compiled
        except ImportError as e:
            print("ImportError:", e)
        else:
            print("imported")
        """
    )
    out = proc.stdout.decode()
    first, _, rest = out.partition("\n")
    assert first == "cffi"
    assert rest.startswith("ImportError:"), out
    assert "make" in rest or "build" in rest.lower(), out


def test_capi_import_error_says_how_to_build():
    """Without its extension, importing mylib.capi raises ImportError saying how to build it; mylib falls back to cffi_compiled."""
    if not helpers.CAPI_SUPPORTED:
        pytest.skip("mylib.capi needs CPython 3.11+")
    proc = run_python(
        """
        import sys
        sys.modules["mylib._mylib_capi"] = None
        import mylib
        print(mylib.BACKEND)
        try:
            import mylib.capi
        except ImportError as e:
            print("ImportError:", e)
        """
    )
    first, _, rest = proc.stdout.decode().partition("\n")
    assert first == ("cffi_compiled" if helpers.compiled_is_built() else "cffi")
    assert rest.startswith("ImportError:") and "make" in rest, rest


def test_capi_refuses_an_interpreter_it_cannot_run_on():
    """On PyPy or CPython < 3.11, importing mylib.capi is an ImportError naming what it needs (so mylib falls back)."""
    proc = run_python(
        """
        import sys, types
        sys.version_info = (3, 10, 0, "final", 0)
        try:
            import mylib.capi
        except ImportError as e:
            print("ImportError:", e)
        """
    )
    assert "ImportError:" in proc.stdout.decode() and "3.11" in proc.stdout.decode()


def test_cffi_compiled_not_built_skip_reason():
    """When the extension is not built here, importing mylib.cffi_compiled raises ImportError (the m fixture then skips)."""
    if helpers.compiled_is_built():
        pytest.skip("mylib.cffi_compiled is built here")
    with pytest.raises(ImportError):
        importlib.import_module("mylib.cffi_compiled")
