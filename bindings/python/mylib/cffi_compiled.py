"""mylib through cffi's compiled, out-of-line API mode.

A thin call layer (see ``mylib._api``) over the extension ``mylib._mylib_cffi``,
built from the header (``mylib._cdef``) by ``pip install`` or by ``make`` in a
checkout, with C shims that return a status and a value in one call and the
``extern "Python"`` trampoline."""

from __future__ import annotations

import ctypes

from . import _api, _cdef, _cffi_calls, _loader

BACKEND = "cffi_compiled"

# Load the library the loader picks first, by absolute path: the extension's
# dependency on libmylib.so.0 then resolves to this already-loaded copy (same
# SONAME) instead of being searched for; checked below.
_candidate = _loader.locate()
_dll_dir = _loader.dll_directory(_candidate)
try:
    _preloaded = ctypes.CDLL(_candidate.path)
except OSError as exc:
    raise _loader.load_error(_candidate, f"it could not be loaded ({exc})") from exc
_loader.check_symbols(_candidate, lambda name: hasattr(_preloaded, name), _cdef.declarations().functions)

try:
    # cffi's own module first: where it cannot load (cffi not installed; a
    # subinterpreter, which refuses single-phase modules such as cffi's), the
    # import fails here, quietly. Inside the extension's init it would fail in
    # the main interpreter, where CPython 3.14 runs a single-phase init, and be
    # printed there ("Exception while importing from subinterpreter").
    import _cffi_backend  # type: ignore[import-not-found]  # noqa: F401
    from ._mylib_cffi import ffi, lib  # type: ignore[import-not-found]
except ImportError as exc:
    raise ImportError(
        "mylib.cffi_compiled is not available: its extension mylib._mylib_cffi is not built or cannot load "
        f"({exc}). Run 'make' in the mylib checkout or reinstall the package; "
        "meanwhile mylib.cffi_binding and mylib.ctypes_binding work without it."
    ) from exc

# The extension must use the very library the loader chose (not another copy
# the dynamic loader found on its search path).
_mine = ctypes.cast(_preloaded.mylib_version, ctypes.c_void_p).value
_theirs = int(ffi.cast("uintptr_t", lib.mylib_py_library_address()))
if _mine != _theirs:
    raise _loader.load_error(
        _candidate, "the compiled module mylib._mylib_cffi resolved libmylib to a different copy of the library"
    )
_loader.check_version(_candidate, ffi.string(lib.mylib_version()).decode("utf-8", "replace"))

_primitives, _set_trampoline = _cffi_calls.primitives(ffi, lib, compiled=True)
_bound = _api.bind(globals(), _primitives)
# The module's C trampoline calls this; an exception that escapes it returns
# FAIL_BASE, which fails the C call (never a "success" with no result).
ffi.def_extern(name="mylib_py_callback", error=_cdef.FAIL_BASE, onerror=_bound["_onerror"])(_bound["_trampoline"])
