"""Shared helpers of the Python test suite: paths, the raw library's location,
backend imports, and running snippets in a fresh interpreter.

Imported by the test modules as ``helpers`` (pytest puts ``tests/python`` on
``sys.path`` itself: the directory has no ``__init__.py``).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

#: The checkout root (``tests/python/helpers/__init__.py`` → three levels up).
REPO = Path(__file__).resolve().parents[3]
BINDINGS = REPO / "bindings" / "python"
HEADER = REPO / "include" / "mylib.h"
EXPORTED_SYMBOLS = REPO / "tests" / "exported-symbols.txt"

#: MYLIB_TEST_INSTALLED=1: test the pip-installed package, never the checkout copy.
INSTALLED = os.environ.get("MYLIB_TEST_INSTALLED") == "1"

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1

#: The backend modules every API test runs against, and their ``BACKEND`` names.
BACKEND_MODULES = ("ctypes_binding", "cffi_binding", "cffi_compiled", "capi")
BACKEND_NAME = {"ctypes_binding": "ctypes", "cffi_binding": "cffi", "cffi_compiled": "cffi_compiled", "capi": "capi"}

#: Whether this interpreter can run the C API backend at all (CPython 3.11+, limited API).
CAPI_SUPPORTED = sys.implementation.name == "cpython" and sys.version_info >= (3, 11)

#: Environment variables that change the package's behaviour: subprocesses
#: start without them unless a test sets them explicitly.
_SCRUBBED = ("MYLIB_DEBUG", "MYLIB_BACKEND", "PYTHONUNBUFFERED", "PYTHONSTARTUP")


def platform_library_name(platform: str | None = None) -> str:
    """The shared library's file name on ``platform`` (default: this one)."""
    platform = sys.platform if platform is None else platform
    if platform.startswith(("win32", "cygwin", "msys")):
        return "mylib.dll"
    if platform == "darwin":
        return "libmylib.dylib"
    return "libmylib.so"


def library_path() -> Path:
    """The library the raw (non-package) tests load: ``MYLIB_LIBRARY`` when
    set, else the checkout's ``target/release`` build."""
    env = os.environ.get("MYLIB_LIBRARY")
    path = Path(env) if env else REPO / "target" / "release" / platform_library_name()
    if not path.is_file():
        pytest.fail(f"the mylib shared library is missing at {path}: run 'make lib' first")
    return path


def exported_symbol_names() -> list[str]:
    """The functions listed in tests/exported-symbols.txt."""
    names = []
    for line in EXPORTED_SYMBOLS.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            names.append(line)
    return names


def bundled_library_name() -> str:
    """The library's file name inside the package (``libmylib.so.0`` on Linux)."""
    from mylib._names import bundled_filename

    return bundled_filename()


def header_version() -> str:
    """``MYLIB_VERSION_STRING`` of include/mylib.h."""
    for line in HEADER.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if parts[:2] == ["#define", "MYLIB_VERSION_STRING"]:
            return parts[2].strip('"')
    raise AssertionError("MYLIB_VERSION_STRING not found in include/mylib.h")


def package_dir() -> Path:
    """The directory of the ``mylib`` package the tests import."""
    import mylib

    return Path(mylib.__file__).resolve().parent


def compiled_extension_files() -> list[Path]:
    """The built cffi API-mode extension(s) in the package directory, if any."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    return sorted(p for p in package_dir().iterdir() if "cffi" in p.name and p.name.startswith("_") and p.name.endswith(suffixes))


def compiled_is_built() -> bool:
    """Whether ``mylib.cffi_compiled``'s extension has been built."""
    return bool(compiled_extension_files())


def capi_is_built() -> bool:
    """Whether ``mylib.capi``'s extension has been built (and can run on this interpreter)."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    return CAPI_SUPPORTED and any(p.name.startswith("_mylib_capi") and p.name.endswith(suffixes) for p in package_dir().iterdir())


def backend_available(module: str) -> bool:
    """Whether the backend module can be imported here (the pure-Python ones always)."""
    if module == "cffi_compiled":
        return compiled_is_built()
    if module == "capi":
        return capi_is_built()
    return True


def import_backend(module: str):
    """``mylib.<module>``; skips (saying why) only when it is ``cffi_compiled``
    and its extension is not built. Any other import failure is a failure."""
    if module == "capi" and not CAPI_SUPPORTED:
        pytest.skip("mylib.capi needs CPython 3.11+ (this interpreter cannot run it)")
    try:
        return importlib.import_module(f"mylib.{module}")
    except ImportError as exc:
        if module == "cffi_compiled" and not compiled_is_built():
            pytest.skip(f"mylib.cffi_compiled is not built (no _mylib_cffi extension in {package_dir()}; run 'make python'): {exc}")
        if module == "capi" and not capi_is_built():
            pytest.skip(f"mylib.capi is not built (no _mylib_capi extension in {package_dir()}; run 'make python'): {exc}")
        raise


def subprocess_env(extra: dict[str, str | None] | None = None, checkout_package: bool = True) -> dict[str, str]:
    """The environment of a child interpreter: the package importable from the
    checkout (unless MYLIB_TEST_INSTALLED=1 or not ``checkout_package``),
    without MYLIB_DEBUG / MYLIB_BACKEND / PYTHONUNBUFFERED unless ``extra``
    sets them (a value of None removes a variable)."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    if not INSTALLED and checkout_package:
        old = env.get("PYTHONPATH")
        env["PYTHONPATH"] = os.fspath(BINDINGS) + (os.pathsep + old if old else "")
    for key, value in (extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_python(
    code: str,
    *args: str,
    env: dict[str, str | None] | None = None,
    cwd: str | os.PathLike | None = None,
    check: bool = True,
    timeout: float = 60,
) -> subprocess.CompletedProcess:
    """Runs ``code`` in a fresh ``sys.executable`` with stdout and stderr piped
    (bytes). With ``check``, a non-zero exit fails the test showing stderr."""
    proc = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", textwrap.dedent(code), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=subprocess_env(env),
        cwd=cwd,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        pytest.fail(
            f"child exited with {proc.returncode}\n--- code\n{textwrap.dedent(code)}\n"
            f"--- stdout\n{proc.stdout.decode(errors='replace')}\n--- stderr\n{proc.stderr.decode(errors='replace')}"
        )
    return proc


def run_backend(module: str, code: str, **kwargs) -> subprocess.CompletedProcess:
    """Runs ``code`` in a child interpreter where ``m`` is ``mylib.<module>``."""
    prelude = f"import importlib, sys\nm = importlib.import_module('mylib.{module}')\n"
    return run_python(prelude + textwrap.dedent(code), **kwargs)


def loaded_objects(pid_maps_text: str) -> set[str]:
    """The file paths mapped in a /proc/<pid>/maps text."""
    paths = set()
    for line in pid_maps_text.splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[5].startswith("/"):
            paths.add(parts[5].strip())
    return paths
