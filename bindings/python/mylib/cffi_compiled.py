"""mylib through cffi's compiled, out-of-line API mode: the fastest backend.
The extension ``mylib._mylib_cffi`` is built against ``include/mylib.h`` by
``make`` (in a checkout) or by ``pip install``."""

from __future__ import annotations

from . import _cffi_api, _common, _loader
from ._common import *  # noqa: F401,F403  (the exceptions and Point, re-exported)
from ._exports import API as __all__  # noqa: F401

BACKEND = "cffi_compiled"

# Load the library the loader picks first: the extension's dependency on
# libmylib.so.0 then resolves to this already-loaded copy (same SONAME).
_preloaded, _candidate = _loader.load_ctypes()

try:
    from ._mylib_cffi import ffi, lib  # type: ignore[import-not-found]
except ImportError as exc:
    raise ImportError(
        "mylib.cffi_compiled is not built: run 'make' in the mylib checkout, or "
        "'pip install ./bindings/python' (needs a C compiler and cffi); "
        f"meanwhile use mylib.cffi_binding or mylib.ctypes_binding ({exc})"
    ) from exc

_loader.check_version(ffi.string(lib.mylib_version()).decode(), _candidate)

ffi.def_extern(name="_mylib_py_trampoline", onerror=_common.store_callback_error)(_common.bare_trampoline)
_api = _cffi_api.make_api(ffi, lib, lib._mylib_py_trampoline)

add = _api.add
greet = _api.greet
greeting = _api.greeting
print_point = _api.print_point
sum_array = _api.sum_array
fast_sum = _api.fast_sum
process = _api.process
set_debug = _api.set_debug
debug_enabled = _api.debug_enabled
version = _api.version
