"""mylib: a Rust library with a plain C ABI, from Python.

One API (written once, in ``mylib._api``) over interchangeable backends:
``mylib.capi`` (the Python C API, CPython 3.11+), ``mylib.cffi_compiled``
(cffi API mode, compiled), ``mylib.cffi_binding`` (cffi ABI mode) and
``mylib.ctypes_binding`` (ctypes, no dependencies). ``import mylib``
re-exports the fastest one available; ``mylib.BACKEND`` names it;
``MYLIB_BACKEND=capi|cffi_compiled|cffi|ctypes`` in the environment forces one.

    >>> import mylib
    >>> mylib.add(2, 3)
    5
    >>> mylib.fast_sum([0.1] * 10)
    1.0
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING

from . import _api
from ._version import __version__

if TYPE_CHECKING:  # what type checkers see: the API as written in _api
    from ._api import *  # noqa: F401,F403

#: Backend name → module, fastest first.
BACKENDS = {"capi": "capi", "cffi_compiled": "cffi_compiled", "cffi": "cffi_binding", "ctypes": "ctypes_binding"}


def _select():
    forced = os.environ.get("MYLIB_BACKEND")
    if forced:
        if forced not in BACKENDS:
            raise ImportError(f"MYLIB_BACKEND={forced!r} is not one of {', '.join(BACKENDS)}")
        return forced, importlib.import_module(f".{BACKENDS[forced]}", __name__)
    errors = []
    for name, module in BACKENDS.items():
        try:
            return name, importlib.import_module(f".{module}", __name__)
        except ImportError as exc:  # not built, cffi missing, library not usable: try the next one
            errors.append(f"{name}: {exc}")
    raise ImportError("no mylib backend could be imported:\n" + "\n".join(errors))


BACKEND, _backend = _select()
globals().update({name: getattr(_backend, name) for name in _api.__all__})

__all__ = ["BACKEND", "BACKENDS", "__version__", *_api.__all__]
