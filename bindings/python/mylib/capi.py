"""mylib through the Python C API (CPython 3.11+): the fastest backend.

The hot functions (``add``, ``sum_array``, ``fast_sum``, ``process``) are C
builtins of the extension ``mylib._mylib_capi`` (limited API, abi3): ``METH_FASTCALL``,
the buffer protocol read in place, a C trampoline through ``mylib_process``'s
``user_data``. Each handles its common case in C and hands everything else —
other argument types, a failing status, keyword arguments — to the API
function as written in ``mylib._api``, bound to this backend, so the rules,
conversions and errors stay the ones written once (and the differential tests
compare both paths with the other backends). The other functions are the
API's own, over the C primitives of the extension and the ctypes call shapes.
"""

from __future__ import annotations

import ctypes
import sys

if sys.implementation.name != "cpython" or sys.version_info < (3, 11):
    raise ImportError(
        "mylib.capi needs CPython 3.11 or later (it uses the limited API's buffer protocol); "
        "mylib.cffi_compiled, mylib.cffi_binding and mylib.ctypes_binding work here"
    )

from . import _api, _loader
from . import ctypes_binding as _ct

BACKEND = "capi"

# ctypes_binding has loaded the library the loader chose, by absolute path (the
# extension's dependency on libmylib.so.0 then resolves to that copy).
_candidate = _ct._candidate
try:
    from . import _mylib_capi as _ext  # type: ignore[attr-defined]
except ImportError as exc:
    raise ImportError(
        "mylib.capi is not available: its extension mylib._mylib_capi is not built or cannot load "
        f"({exc}). Run 'make' in the mylib checkout or reinstall the package."
    ) from exc

if _ext.library_address() != ctypes.cast(_ct._lib.mylib_version, ctypes.c_void_p).value:
    raise _loader.load_error(_candidate, "the extension mylib._mylib_capi resolved libmylib to a different copy of the library")

_primitives = {name: getattr(_ct, name) for name in _api.PRIMITIVES}
_primitives.update(_c_add=_ext._c_add, _c_add_checks_range=True, _c_process=_ext._c_process, _c_message=_ext._c_message)
_bound = _api.bind(globals(), _primitives)

#: The functions with a C fast path; their docstrings are the API's.
FAST = ("add", "sum_array", "fast_sum", "process")
_fast = _ext.setup(
    _bound["_calls"],
    _bound["_callback_result"],
    _bound["_fail"],
    {name: _bound[name] for name in FAST},
    {name: _bound[name].__doc__ for name in FAST},
    __name__,
)
globals().update(_fast)
