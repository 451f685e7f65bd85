"""mylib through cffi in ABI mode (``ffi.dlopen``): no compiler needed.

A thin call layer (see ``mylib._api``); the declarations are the header's own
(``mylib._cdef``)."""

from __future__ import annotations

try:
    import cffi
    import _cffi_backend  # noqa: F401  (cffi.FFI() needs it: where it cannot load, e.g. a subinterpreter, say so here)
except ImportError as exc:  # pragma: no cover - cffi is a dependency (built into PyPy)
    raise ImportError(f"mylib.cffi_binding needs cffi: {exc}") from exc

from . import _api, _cdef, _cffi_calls, _loader

BACKEND = "cffi"

ffi = cffi.FFI()
ffi.cdef(_cdef.cdef())
_candidate = _loader.locate()
_dll_dir = _loader.dll_directory(_candidate)
try:
    lib = ffi.dlopen(_candidate.path)
except OSError as exc:
    raise _loader.load_error(_candidate, f"it could not be loaded ({exc})") from exc


def _has(name: str) -> bool:
    try:
        getattr(lib, name)
    except AttributeError:
        return False
    return True


_loader.check_symbols(_candidate, _has, _cdef.declarations().functions)
_loader.check_version(_candidate, ffi.string(lib.mylib_version()).decode("utf-8", "replace"))

_primitives, _set_trampoline = _cffi_calls.primitives(ffi, lib, compiled=False)
_bound = _api.bind(globals(), _primitives)
_trampoline = _bound["_trampoline"]
_FAIL = _cdef.FAIL_BASE
_intptr = ffi.typeof("intptr_t")


def _callback(user_data, value, result_out):
    """``mylib_callback_fn`` around the API's trampoline: the key from ``user_data``, the result written, 0; else 1."""
    r = _trampoline(int(ffi.cast(_intptr, user_data)), value)
    if r < -2147483648:
        return 1
    result_out[0] = r
    return 0


# One C callback for all calls, made once (ffi.callback objects are costly).
# error=1: an exception that escapes it fails the C call (never a 0 "success").
_callback_c = ffi.callback("mylib_callback_fn", _callback, error=1, onerror=_bound["_onerror"])
_set_trampoline(_callback_c)
