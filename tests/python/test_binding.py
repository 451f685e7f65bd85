"""How the API written once (``mylib._api``) is bound to each backend, and what
a ``process`` call leaves behind: the properties PyPy's JIT needs to run the
API at the speed of a raw cffi call (issue 17), checked by structure, never
by time (``make bench-pypy`` measures the speed).
"""

from __future__ import annotations

import platform

import pytest

from mylib import _api

PYPY = platform.python_implementation() == "PyPy"


def test_bound_api_globals_are_a_module_dict(m):
    """Each backend's copy of the API runs with a namespace of its own that holds its primitives, and that
    namespace is a module's dict: PyPy's JIT folds global lookups in a module dict into constants, and looks
    each one up on every call in any other dict (add took 2.4 times a raw cffi call)."""
    ns = m._bound
    for name in ("add", "process", "_trampoline", "_fail"):
        assert ns[name].__globals__ is ns, name
    assert ns["_c_add"] is not _api._c_add and ns["_c_process"] is not _api._c_process
    assert ns["_calls"] is _api._calls  # one table of Calls for every backend
    if PYPY:
        import __pypy__

        assert __pypy__.strategy(ns) == "ModuleDictStrategy"
