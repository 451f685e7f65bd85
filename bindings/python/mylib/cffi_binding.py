"""mylib through cffi in ABI mode (``ffi.dlopen``): no compiler needed. The
declarations come from ``include/mylib.h`` (see ``_cdef``)."""

from __future__ import annotations

import cffi

from . import _cdef, _cffi_api, _common, _loader
from ._common import *  # noqa: F401,F403  (the exceptions and Point, re-exported)
from ._exports import API as __all__  # noqa: F401

BACKEND = "cffi"

ffi = cffi.FFI()
ffi.cdef(_cdef.cdef())
_candidate = _loader.find_library()
lib = ffi.dlopen(_candidate.path)
_loader.check_version(ffi.string(lib.mylib_version()).decode(), _candidate)

# One trampoline for all calls (made once: ffi.callback objects are costly).
_trampoline = ffi.callback("callback_t", _common.bare_trampoline, onerror=_common.store_callback_error)
_api = _cffi_api.make_api(ffi, lib, _trampoline)

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
