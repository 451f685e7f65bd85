"""mylib: a Rust library with a plain C ABI, from Python.

Three backends expose the same API: ``mylib.cffi_compiled`` (cffi API mode,
fastest), ``mylib.cffi_binding`` (cffi ABI mode) and ``mylib.ctypes_binding``
(ctypes, no dependencies). ``import mylib`` re-exports the fastest one that is
available; ``mylib.BACKEND`` names it; ``MYLIB_BACKEND=cffi_compiled|cffi|ctypes``
in the environment forces one.

    >>> import mylib
    >>> mylib.add(2, 3)
    5
    >>> mylib.fast_sum([0.1] * 10)
    1.0
"""

from __future__ import annotations

import importlib
import os

from ._common import *  # noqa: F401,F403  (the exceptions and Point)
from ._exports import API
from ._version import __version__

#: Backend name → module, fastest first.
BACKENDS = {"cffi_compiled": "cffi_compiled", "cffi": "cffi_binding", "ctypes": "ctypes_binding"}


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
        except ImportError as exc:  # not built / cffi missing: try the next one
            errors.append(f"{name}: {exc}")
    raise ImportError("no mylib backend could be imported:\n" + "\n".join(errors))


BACKEND, _backend = _select()
add = _backend.add
greet = _backend.greet
greeting = _backend.greeting
print_point = _backend.print_point
sum_array = _backend.sum_array
fast_sum = _backend.fast_sum
process = _backend.process
set_debug = _backend.set_debug
debug_enabled = _backend.debug_enabled
version = _backend.version

__all__ = ["BACKEND", "BACKENDS", "__version__", *API]
