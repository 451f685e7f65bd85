"""pytest configuration of the mylib Python suite.

The package under test is the checkout's ``bindings/python/mylib`` (put first
on ``sys.path`` here), unless ``MYLIB_TEST_INSTALLED=1``: then the installed
package is imported and ``sys.path`` is left alone.
"""

from __future__ import annotations

import os
import sys

import pytest

import helpers

if not helpers.INSTALLED:
    sys.path.insert(0, os.fspath(helpers.BINDINGS))

# The library reads MYLIB_DEBUG once, on its first call; MYLIB_BACKEND picks
# the backend at `import mylib`. Neither may leak in from the caller's shell.
for _var in ("MYLIB_DEBUG", "MYLIB_BACKEND"):
    os.environ.pop(_var, None)


def pytest_report_header(config):
    """Says which package copy and library the suite runs against."""
    try:
        import mylib

        where = f"mylib {mylib.__version__} from {os.path.dirname(mylib.__file__)} (default backend {mylib.BACKEND})"
    except Exception as exc:  # noqa: BLE001 - reported, the tests then fail
        where = f"mylib cannot be imported: {exc!r}"
    mode = "installed package" if helpers.INSTALLED else "checkout copy"
    return [f"mylib under test: {mode}: {where}", f"MYLIB_LIBRARY={os.environ.get('MYLIB_LIBRARY', '(unset)')}"]


@pytest.fixture(scope="session", params=helpers.BACKEND_MODULES)
def m(request):
    """Each backend module in turn: ctypes_binding, cffi_binding, cffi_compiled
    (skipped only when its extension is not built)."""
    return helpers.import_backend(request.param)


@pytest.fixture(scope="session")
def backend_module_name(m):
    """The short module name of ``m`` (e.g. ``"ctypes_binding"``)."""
    return m.__name__.rsplit(".", 1)[1]


@pytest.fixture
def debug_off(m):
    """Makes sure debug logging is off before and after a test."""
    m.set_debug(0)
    yield
    m.set_debug(0)
