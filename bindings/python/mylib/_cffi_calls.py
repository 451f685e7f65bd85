"""The primitives (see ``mylib._api``) over a cffi ``ffi``/``lib`` pair, shared
by the ABI-mode (``cffi_binding``) and the compiled (``cffi_compiled``)
backends: they differ only in how ``ffi``/``lib`` are made, in the
trampoline's C function pointer, and in the compiled module's C shims."""

from __future__ import annotations

from typing import Any, Callable

from ._cdef import FAIL_BASE


def primitives(ffi, lib, *, compiled: bool) -> tuple[dict[str, Any], Callable[[Any], None]]:
    """``(primitives, set_trampoline)``: the ``_c_*`` functions for ``_api.bind``,
    and the setter of the C trampoline ``mylib_process`` is given (made from
    the bound ``_trampoline`` once ``bind`` has run)."""
    new = ffi.new
    from_buffer = ffi.from_buffer
    release = ffi.release
    string = ffi.string
    new_handle = ffi.new_handle
    NULL = ffi.NULL
    mylib_add = lib.mylib_add
    mylib_greet = lib.mylib_greet
    mylib_print_point = lib.mylib_print_point
    mylib_sum_i32 = lib.mylib_sum_i32
    mylib_sum_f64 = lib.mylib_sum_f64
    mylib_process = lib.mylib_process
    trampoline: list = [None]
    # C types resolved once, here: a string given to ffi.new or ffi.from_buffer
    # is parsed by Python code in ABI mode, and an asynchronous exception
    # arriving inside that parser leaves cffi unable to parse anything again.
    INT_P = ffi.typeof("int *")
    I64_P = ffi.typeof("int64_t *")
    F64_P = ffi.typeof("double *")
    CHAR_PP = ffi.typeof("char **")
    POINT_P = ffi.typeof("Point *")
    INT_ARRAY = ffi.typeof("int[]")
    F64_ARRAY = ffi.typeof("double[]")

    # Out-cells from shared pools: a call takes its own (list.pop/append are
    # atomic), so threads and re-entrant calls never share one.
    int_cells: list = []
    i64_cells: list = []
    f64_cells: list = []

    if compiled:
        _c_add = lib.mylib_py_add  # one C call: the sum, or FAIL_BASE + status

        def _c_message(status):
            return string(lib.mylib_py_message(status)).decode("utf-8", "replace")

    else:

        def _c_add(a, b):
            try:
                cell = int_cells.pop()
            except IndexError:
                cell = new(INT_P)
            status = mylib_add(a, b, cell)
            r = cell[0]
            int_cells.append(cell)
            return r if status == 0 else FAIL_BASE + status

        def _c_message(status):
            if lib.mylib_last_error() == status:
                return string(lib.mylib_last_error_message()).decode("utf-8", "replace")
            return string(lib.mylib_status_str(status)).decode("utf-8", "replace")

    def _c_greet(name):
        return mylib_greet(name)

    def _c_print_point(x, y):
        return mylib_print_point(new(POINT_P, (x, y)))

    def _c_greeting(name):
        out = new(CHAR_PP)
        status = lib.mylib_greeting(name, out)
        if status:
            return status, b""
        try:
            return 0, string(out[0])
        finally:
            lib.mylib_string_free(out[0])

    def _sum(kernel, pool, ctype, item, mv, n):
        try:
            cell = pool.pop()
        except IndexError:
            cell = new(ctype)
        if n == 0:
            status = kernel(NULL, 0, cell)
        else:
            data = from_buffer(item, mv)
            try:
                status = kernel(data, n, cell)
            finally:
                release(data)  # the export ends now, not when a GC runs (PyPy)
        r = cell[0]
        pool.append(cell)
        return status, r

    def _c_sum_i32(mv, n):
        return _sum(mylib_sum_i32, i64_cells, I64_P, INT_ARRAY, mv, n)

    def _c_sum_f64(mv, n):
        return _sum(mylib_sum_f64, f64_cells, F64_P, F64_ARRAY, mv, n)

    def _c_process(call, value):
        handle = new_handle(call)  # user_data, valid while `handle` lives
        # A traceback that holds the trampoline's frame holds this one too
        # (f_back): no local of it may refer to the Call at its end.
        call = None
        try:
            cell = int_cells.pop()
        except IndexError:
            cell = new(INT_P)
        status = mylib_process(trampoline[0], handle, value, cell)
        handle = None
        r = cell[0]
        int_cells.append(cell)
        return status, r

    def _c_set_debug(flag):
        lib.set_debug(flag)

    def _c_get_debug():
        return lib.mylib_get_debug()

    def _c_version():
        return string(lib.mylib_version()).decode()

    def set_trampoline(ptr) -> None:
        trampoline[0] = ptr

    prims = {
        "_c_add": _c_add,
        "_c_greet": _c_greet,
        "_c_print_point": _c_print_point,
        "_c_greeting": _c_greeting,
        "_c_sum_i32": _c_sum_i32,
        "_c_sum_f64": _c_sum_f64,
        "_c_process": _c_process,
        "_c_from_handle": ffi.from_handle,
        "_c_message": _c_message,
        "_c_set_debug": _c_set_debug,
        "_c_get_debug": _c_get_debug,
        "_c_version": _c_version,
    }
    return prims, set_trampoline
