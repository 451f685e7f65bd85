"""The primitives (see ``mylib._api``) over a cffi ``ffi``/``lib`` pair, shared
by the ABI-mode (``cffi_binding``) and the compiled (``cffi_compiled``)
backends: they differ only in how ``ffi``/``lib`` are made, in the
trampoline's C function pointer, and in the compiled module's C shims."""

from __future__ import annotations

from typing import Any, Callable

from . import _buffers


def primitives(ffi, lib, *, compiled: bool) -> tuple[dict[str, Any], Callable[[Any], None]]:
    """``(primitives, set_trampoline)``: the ``_c_*`` functions for ``_api.bind``,
    and (ABI mode) the setter of the C callback ``mylib_process`` is given,
    made from the bound ``_trampoline`` once ``bind`` has run. The compiled
    module has its own C trampoline (``_cdef.COMPILED_SOURCE``)."""
    new = ffi.new
    cast = ffi.cast
    buffer = ffi.buffer
    from_buffer = ffi.from_buffer
    release = ffi.release
    string = ffi.string
    NULL = ffi.NULL
    mylib_process = lib.mylib_process
    mylib_string_free = lib.mylib_string_free
    trampoline: list = [None]

    # C types resolved once: a string given to ffi.new or ffi.from_buffer is
    # parsed by Python code in ABI mode, and an asynchronous exception arriving
    # inside that parser leaves cffi unable to parse anything again.
    types: dict[str, Any] = {}

    def ctype(decl: str):
        t = types.get(decl)
        if t is None:
            t = types[decl] = ffi.typeof(decl)
        return t

    for decl in ("int *", "int64_t *", "double *", "char **", "Point *", "int[]", "double[]", "uint8_t[]",
                 "size_t[]", "ptrdiff_t[]", "char[]", "const void *"):
        ctype(decl)
    POINT_P = ctype("Point *")
    CHAR_PP = ctype("char **")

    # Out-cells from shared pools, one pool per C type: a call takes its own
    # (list.pop/append are atomic), so threads and re-entrant calls (a signal
    # handler, a __del__) never share one; a cell lost to an exception is collected.
    pools: dict[str, list] = {}

    def take(cells: list, ctype_):
        """A cell from ``cells``, else a new one. The new one is made outside
        the ``except`` block: at the recursion limit PyPy cannot record an
        exception's context there, and a RecursionError became a TypeError."""
        try:
            return cells.pop()
        except IndexError:
            pass
        return new(ctype_)

    def pool(out: str) -> list:
        p = pools.get(out)
        if p is None:
            ctype(out + " *")
            p = pools[out] = []
        return p

    for out in ("int", "int64_t", "double", "uint64_t", "mylib_exact_sum *"):
        pool(out)
    int_cells = pools["int"]
    INT_P = types["int *"]

    _c_add = lib.mylib_add_packed  # one C call: the sum, or FAIL_BASE + status

    if compiled:
        def _c_message(status):
            return string(lib.mylib_py_message(status)).decode("utf-8", "replace")

    else:
        def _c_message(status):
            if lib.mylib_last_error() == status:
                return string(lib.mylib_last_error_message()).decode("utf-8", "replace")
            return string(lib.mylib_status_str(status)).decode("utf-8", "replace")

    def _c_call(name, *args):
        return getattr(lib, name)(*args)

    def _c_call_out(name, out, *args):
        cells = pool(out)
        cell = take(cells, types[out + " *"])
        status = getattr(lib, name)(*args, cell)
        r = cell[0]
        cells.append(cell)
        return status, r

    def _c_call_buffer(name, view, item, n, out, *args):
        if out is None:
            cells = cell = None
            tail = ()
        else:
            cells = pool(out)
            cell = take(cells, types[out + " *"])
            tail = (cell,)
        if n == 0:
            status = getattr(lib, name)(*args, NULL, 0, *tail)
        else:
            data = from_buffer(ctype(item + "[]"), view)
            try:
                status = getattr(lib, name)(*args, data, n, *tail)
            finally:
                release(data)  # the export ends now, not when a GC runs (PyPy)
        if cell is None:
            return status, None
        r = cell[0]
        cells.append(cell)
        return status, r

    SIZES, STRIDES, VOID_P = ctype("size_t[]"), ctype("ptrdiff_t[]"), ctype("const void *")

    def _c_call_view(name, view, out, *args):
        shape, strides = new(SIZES, view.shape), new(STRIDES, view.strides)
        cell = None if out is None else new(ctype(out + " *"))
        tail = () if cell is None else (cell,)
        if view.nbytes == 0:
            status = getattr(lib, name)(*args, NULL, view.ndim, shape, strides, *tail)
        else:
            address, keep = _buffers.first_item(view)
            try:
                status = getattr(lib, name)(*args, cast(VOID_P, address), view.ndim, shape, strides, *tail)
            finally:
                keep = None  # noqa: F841
        return status, None if cell is None else cell[0]

    BYTES = ctype("uint8_t[]")

    def _c_call_into(name, size, *args):
        buf = new(BYTES, size)
        status = getattr(lib, name)(*args, buf, size)
        return status, (bytes(buffer(buf)) if status == 0 else b"")

    def _c_call_string(name, *args):
        out = new(CHAR_PP)
        status = getattr(lib, name)(*args, out)
        if status:
            return status, b""
        try:
            return 0, string(out[0])
        finally:
            mylib_string_free(out[0])

    def _c_static_string(name, *args):
        return string(getattr(lib, name)(*args)).decode("utf-8", "replace")

    def _c_point(x, y):
        return new(POINT_P, (x, y))

    if compiled:
        _c_process = lib.mylib_py_process  # one C call; the C trampoline is in the module

    else:
        void_p = ctype("void *")

        def _c_process(key, value):
            cell = take(int_cells, INT_P)
            status = mylib_process(trampoline[0], cast(void_p, key), value, cell)
            int_cells.append(cell)
            return status

    def set_trampoline(ptr) -> None:
        trampoline[0] = ptr

    prims = {
        "_c_add": _c_add,
        "_c_add_checks_range": True,  # cffi raises OverflowError for an int that does not fit
        "_c_call": _c_call,
        "_c_call_out": _c_call_out,
        "_c_call_buffer": _c_call_buffer,
        "_c_call_view": _c_call_view,
        "_c_call_into": _c_call_into,
        "_c_call_string": _c_call_string,
        "_c_static_string": _c_static_string,
        "_c_point": _c_point,
        "_c_process": _c_process,
        "_c_message": _c_message,
    }
    return prims, set_trampoline
