"""mylib through ctypes: no compiler and no dependency needed.

A thin call layer (see ``mylib._api``): the ``argtypes``/``restype`` of every
function come from the header itself (``_cdef.declarations``), so none can be
missing; each primitive does one C call. ctypes truncates out-of-range ints
silently, so the API checks every int before it gets here.
"""

from __future__ import annotations

import ctypes
import sys
from ctypes import POINTER, c_char, c_char_p, c_double, c_int, c_int64, c_size_t, c_ssize_t, c_uint64, c_void_p

from . import _api, _buffers, _cdef, _loader

BACKEND = "ctypes"

# ------------------------------------------------------------ declarations, from the header
try:
    _decls = _cdef.declarations()
except ValueError as exc:
    raise ImportError(f"mylib.ctypes_binding cannot read mylib.h: {exc}") from exc

#: C type (as ``_cdef`` spells it) → ctypes type. Data pointers are ``c_void_p``
#: (addresses of buffers), out-pointers are typed.
_TYPES: dict[str, object] = {
    "void": None,
    "int": c_int,
    "double": c_double,
    "size_t": c_size_t,
    "int64_t": c_int64,
    "const char *": c_char_p,  # static or slot-owned strings, and name arguments: never freed by us
    "char *": c_void_p,  # a library-owned string, handed back to mylib_string_free
    "char **": POINTER(c_void_p),
    "void *": c_void_p,
    "const int *": c_void_p,
    "const double *": c_void_p,
    "int *": POINTER(c_int),
    "double *": POINTER(c_double),
    "int64_t *": POINTER(c_int64),
    "uint64_t *": POINTER(c_uint64),
    "const void *": c_void_p,
    "const uint8_t *": c_void_p,
    "uint8_t *": c_void_p,
    "const size_t *": POINTER(c_size_t),
    "const ptrdiff_t *": POINTER(c_ssize_t),
    # The exact-sum state: opaque, handled as an address.
    "mylib_exact_sum *": c_void_p,
    "const mylib_exact_sum *": c_void_p,
    "mylib_exact_sum **": POINTER(c_void_p),
}


def _ctype(ctype: str, where: str):
    try:
        return _TYPES[ctype]
    except KeyError:
        raise ImportError(
            f"mylib.ctypes_binding: no ctypes type for {ctype!r} (in {where} of mylib.h); "
            "add it to _TYPES in mylib/ctypes_binding.py"
        ) from None


for _name, _fields in _decls.structs.items():
    _struct = type(_name, (ctypes.Structure,), {"_fields_": [(f.name, _ctype(f.ctype, _name)) for f in _fields]})
    _TYPES[_name] = _struct
    _TYPES[f"const {_name} *"] = POINTER(_struct)
    _TYPES[f"{_name} *"] = POINTER(_struct)
for _name, _cb in _decls.callbacks.items():
    _TYPES[_name] = ctypes.CFUNCTYPE(_ctype(_cb.restype, _name), *(_ctype(p.ctype, _name) for p in _cb.params))

#: name → (restype, argtypes), for every function of the header.
SIGNATURES = {
    f.name: (_ctype(f.restype, f.name), [_ctype(p.ctype, f.name) for p in f.params]) for f in _decls.functions.values()
}
CPoint = _TYPES["Point"]

# ------------------------------------------------------------ the library
_candidate = _loader.locate()
_dll_dir = _loader.dll_directory(_candidate)
try:
    _lib = ctypes.CDLL(_candidate.path)
except OSError as exc:
    raise _loader.load_error(_candidate, f"it could not be loaded ({exc})") from exc
_loader.check_symbols(_candidate, lambda name: hasattr(_lib, name), SIGNATURES)
for _name, (_restype, _argtypes) in SIGNATURES.items():
    _f = getattr(_lib, _name)
    _f.restype = _restype
    _f.argtypes = _argtypes
_loader.check_version(_candidate, _lib.mylib_version().decode("utf-8", "replace"))
del _name, _restype, _argtypes, _f, _fields, _cb

# ------------------------------------------------------------ out-cells
# One-element arrays from shared pools, one pool per C type: a call takes its
# own (list.pop and append are atomic), so threads and re-entrant calls (a
# signal handler, a __del__) never share a cell; a cell lost to an exception
# is just collected.
_CELL_TYPES = {"int": c_int, "int64_t": c_int64, "double": c_double, "uint64_t": c_uint64, "mylib_exact_sum *": c_void_p}
_pools: dict = {name: [] for name in _CELL_TYPES}
_int_cells = _pools["int"]


def _cell(pool: list, ctype):
    try:
        return pool.pop()
    except IndexError:
        pass
    # Made outside the except block: at the recursion limit PyPy cannot record
    # an exception's context there (a RecursionError became a TypeError).
    return (ctype * 1)()


# ------------------------------------------------------------ buffers
def _address(mv: memoryview):
    """``(address, keepalive)`` of a contiguous memoryview's data."""
    if mv.readonly:
        return _buffers.readonly_address(mv)
    arr = (c_char * mv.nbytes).from_buffer(mv)
    return ctypes.addressof(arr), arr


# ------------------------------------------------------------ primitives
_mylib_process = _lib.mylib_process
_mylib_last_error = _lib.mylib_last_error
_mylib_last_error_message = _lib.mylib_last_error_message
_mylib_status_str = _lib.mylib_status_str
_mylib_string_free = _lib.mylib_string_free


# add's hot path calls an undeclared function object on CPython: ctypes'
# argtypes conversion costs more than the call there. On PyPy it is the other
# way round (make bench-pypy, PyPy 7.3.11: 622 ns declared, 8,600 undeclared),
# so there it calls the declared one. Either way ctypes passes an int as a C
# int silently truncated, so the API checks the range first (_c_add_checks_range).
if sys.implementation.name == "pypy":
    _c_add = _lib.mylib_add_packed
else:
    _c_add = _lib["mylib_add_packed"]
    _c_add.restype = SIGNATURES["mylib_add_packed"][0]
_c_add_checks_range = False


def _c_call(name, *args):
    return getattr(_lib, name)(*args)


def _c_call_out(name, out, *args):
    pool = _pools[out]
    cell = _cell(pool, _CELL_TYPES[out])
    status = getattr(_lib, name)(*args, cell)
    r = cell[0]
    pool.append(cell)
    return status, r


def _c_call_buffer(name, view, item, n, out, *args):
    if out is None:
        pool = cell = None
    else:
        pool = _pools[out]
        cell = _cell(pool, _CELL_TYPES[out])
    tail = () if cell is None else (cell,)
    if n == 0:
        status = getattr(_lib, name)(*args, None, 0, *tail)
    else:
        address, keep = _address(view)
        try:
            status = getattr(_lib, name)(*args, address, n, *tail)
        finally:
            keep = None  # ends the export before the API releases the view  # noqa: F841
    if cell is None:
        return status, None
    r = cell[0]
    pool.append(cell)
    return status, r


def _c_call_view(name, view, out, *args):
    ndim = view.ndim
    shape = (c_size_t * ndim)(*view.shape)
    strides = (c_ssize_t * ndim)(*view.strides)
    cell = None if out is None else (_CELL_TYPES[out] * 1)()
    tail = () if cell is None else (cell,)
    if view.nbytes == 0:
        status = getattr(_lib, name)(*args, None, ndim, shape, strides, *tail)
    else:
        address, keep = _buffers.first_item(view)
        try:
            status = getattr(_lib, name)(*args, address, ndim, shape, strides, *tail)
        finally:
            keep = None  # noqa: F841
    return status, None if cell is None else cell[0]


def _c_call_into(name, size, *args):
    buf = (c_char * size)()
    status = getattr(_lib, name)(*args, buf, size)
    return status, (buf.raw if status == 0 else b"")


def _c_call_string(name, *args):
    out = c_void_p()
    status = getattr(_lib, name)(*args, ctypes.byref(out))
    if status:
        return status, b""
    try:
        return 0, ctypes.string_at(out.value)
    finally:
        _mylib_string_free(out)


def _c_static_string(name, *args):
    return getattr(_lib, name)(*args).decode("utf-8", "replace")


def _c_point(x, y):
    return ctypes.byref(CPoint(x, y))


def _c_process(key, value):
    cell = _cell(_int_cells, c_int)
    try:
        status = _mylib_process(_callback_c, key, value, cell)
    except ctypes.ArgumentError as exc:
        # ctypes converts its arguments by calling Python code, and reports the
        # recursion limit reached there as ArgumentError: say what it is.
        if "RecursionError" in str(exc):
            raise RecursionError(f"maximum recursion depth exceeded while calling mylib ({exc})") from None
        raise
    _int_cells.append(cell)
    # An exception ctypes swallowed after the trampoline had its result (and
    # reported to sys.unraisablehook, which routed it here) is still raised.
    escaped = _escaped.__dict__.pop("exc", None)
    if escaped is not None:
        call = _api_calls.get(key)
        if call is not None and call[_api.EXC] is None:
            call[_api.EXC] = escaped
        call = None
    return status


def _c_message(status):
    if _mylib_last_error() == status:
        return _mylib_last_error_message().decode("utf-8", "replace")
    return _mylib_status_str(status).decode("utf-8", "replace")


_bound = _api.bind(globals(), {name: globals()[name] for name in _api.PRIMITIVES})
_trampoline = _bound["_trampoline"]
_escaped = _bound["_escaped"]
_api_calls = _bound["_calls"]


def _callback(user_data, value, result_out):
    """``mylib_callback_fn`` around the API's trampoline: the result written, 0; else 1."""
    r = _trampoline(user_data, value)
    if r < -2147483648:
        return 1
    result_out[0] = r
    return 0


_callback_c = _TYPES["mylib_callback_fn"](_callback)


# ctypes reports an exception that escapes a callback to sys.unraisablehook and
# returns 0 (which mylib_process would take for success; the API sees the Call
# is not done and raises). Route the exceptions of our trampoline back to the
# process() call they belong to; every other report goes to the previous hook.
def _install_unraisable_hook() -> None:
    previous = sys.unraisablehook
    marker = repr(_callback)
    escaped = _escaped

    def hook(args):
        if args.object is _callback or (args.object is None and marker in (args.err_msg or "")):
            escaped.exc = args.exc_value
        else:
            previous(args)

    sys.unraisablehook = hook


if hasattr(sys, "unraisablehook"):
    _install_unraisable_hook()
