"""How the API written once (``mylib._api``) is bound to each backend, and what
a ``process`` call leaves behind: the properties PyPy's JIT needs to run the
API at the speed of a raw cffi call (issue 17), checked by structure, never
by time (``make bench-pypy`` measures the speed).
"""

from __future__ import annotations

import gc
import platform
import threading
import weakref

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


class Callback:
    """A callable whose lifetime a weak reference can watch."""

    def __init__(self, result):
        self.result = result

    def __call__(self, v):
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result


class Gone(LookupError):
    """An exception a weak reference can watch (builtin exceptions have none)."""


class Result:
    """An ``__index__`` object returned by a callback (converted by the int rule)."""

    def __index__(self):
        return 5


def _idle_calls_are_empty():
    return all(call == [None, None, None] for _, call in _api._idle)


def test_a_finished_process_call_keeps_nothing(m):
    """After process() returns or raises, no Call holds its callback, the callback's result or exception."""
    ok, result = Callback(None), Result()
    ok.result = result
    failing = Callback(Gone("gone"))
    refs = [weakref.ref(o) for o in (ok, result, failing, failing.result)]
    assert m.process(callback=ok, value=1) == 5
    assert m.process(ok, 2) == 5
    for call in (lambda: m.process(failing, 3), lambda: m.process(callback=failing, value=4)):
        with pytest.raises(LookupError):
            call()
    del ok, result, failing, call
    for _ in range(3):
        gc.collect()
    assert [r() for r in refs] == [None] * 4
    assert _idle_calls_are_empty()


def test_calls_are_reused(m):
    """A process() call takes an idle Call and gives it back: sequential calls need one, nested calls one per
    level, threads one per call in flight (no key made and no dict insertion per call)."""

    def nest(v):
        return m.process(callback=nest, value=v - 1) + 1 if v else 0

    assert m.process(callback=nest, value=3) == 3  # four levels: four Calls at most, from here on
    before = len(_api._calls)
    for i in range(500):
        assert m.process(callback=nest, value=3) == 3
        assert m.process(callback=abs, value=-i) == i
    assert len(_api._calls) == before
    errors = []

    def work():
        try:
            for i in range(200):
                assert m.process(callback=nest, value=2) == 2
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(_api._calls) <= before + 4 * 3
    assert _idle_calls_are_empty()
