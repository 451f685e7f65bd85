"""The Pythonic API over a cffi ``lib``, shared by the ABI-mode
(``cffi_binding``) and the compiled API-mode (``cffi_compiled``) backends:
they differ only in how ``ffi``/``lib`` are made and in the trampoline."""

from __future__ import annotations

from types import SimpleNamespace

from . import _common
from ._common import MissingCallbackError, PointLike, documented


def trampoline_body(ffi):
    """The body of the C callback ``mylib_process`` calls: finds the call's
    state through ``user_data`` (a cffi handle), runs the Python callable, and
    stores an exception instead of letting cffi print it and return 0."""
    from_handle = ffi.from_handle

    def trampoline(user_data, value, result_out):
        state = from_handle(user_data)
        try:
            result_out[0] = state.call(value)
            return 0
        except BaseException as exc:  # re-raised unchanged by process()
            state.error = exc
            return 1

    return trampoline


def make_api(ffi, lib, trampoline) -> SimpleNamespace:
    """The public functions over ``ffi``/``lib``; ``trampoline`` is the C
    function pointer of the callback trampoline."""
    _add = lib.add
    _greet = lib.greet
    _print_point = lib.print_point
    _sum_i32 = lib.mylib_sum_i32
    _sum_f64 = lib.mylib_sum_f64
    _last_error = lib.mylib_last_error
    _last_message = lib.mylib_last_error_message
    _new = ffi.new
    _from_buffer = ffi.from_buffer
    _string = ffi.string
    _NULL = ffi.NULL
    _INT_MIN, _INT_MAX = _common.INT_MIN, _common.INT_MAX
    _int32_buffer = _common.int32_buffer
    _float64_buffer = _common.float64_buffer

    def _raise_last(code: int | None = None):
        code = _last_error() if code is None else code
        raise _common.error(code, _string(_last_message()).decode("utf-8", "replace"))

    @documented
    def add(a: int, b: int) -> int:
        try:
            r = _add(a, b)  # cffi itself refuses non-ints and out-of-range ints
        except OverflowError:
            raise _common.overflow(f"an argument of add({a!r}, {b!r})") from None
        if r != a + b:  # the C result wrapped
            raise _common.overflow(f"add({a}, {b}) = {a + b}")
        return r

    @documented
    def greet(name: str | bytes) -> None:
        data = _common.c_string(name)
        _common.flush_python_stdout()
        _greet(data)
        if _last_error():
            _raise_last()

    @documented
    def greeting(name: str | bytes) -> str:
        data = _common.c_string(name)
        out = _new("char **")
        status = lib.mylib_greeting(data, out)
        if status:
            _raise_last(status)
        try:
            return _common.decode(_string(out[0]))
        finally:
            lib.mylib_string_free(out[0])

    @documented
    def print_point(p: PointLike) -> None:
        cp = _new("Point *", _common.point_coords(p))
        _common.flush_python_stdout()
        _print_point(cp)
        if _last_error():
            _raise_last()

    @documented
    def sum_array(values) -> int:
        mv = _int32_buffer(values)
        out = _new("int64_t *")
        status = _sum_i32(_from_buffer("int[]", mv), mv.nbytes >> 2, out)
        if status:
            _raise_last(status)
        return out[0]

    @documented
    def fast_sum(values) -> float:
        mv = _float64_buffer(values)
        out = _new("double *")
        status = _sum_f64(_from_buffer("double[]", mv), mv.nbytes >> 3, out)
        if status:
            _raise_last(status)
        return out[0]

    _new_handle = ffi.new_handle

    @documented
    def process(callback, value: int) -> int:
        if callback is None:
            raise MissingCallbackError(_common.ERR_MISSING_CALLBACK, "callback must not be None")
        state = _common.CallState(callback)
        if not (isinstance(value, int) and _INT_MIN <= value <= _INT_MAX):
            value = _common.check_int(value, "value")
        out = _new("int *")
        handle = _new_handle(state)  # keeps `state` and the callable alive during the call
        status = lib.mylib_process(trampoline, handle, value, out)
        if state.error is not None:
            raise state.error
        if status:
            _raise_last(status)
        return out[0]

    @documented
    def set_debug(enabled: object) -> None:
        lib.set_debug(1 if enabled else 0)

    @documented
    def debug_enabled() -> bool:
        return bool(lib.mylib_get_debug())

    @documented
    def version() -> str:
        return _string(lib.mylib_version()).decode()

    return SimpleNamespace(
        add=add,
        greet=greet,
        greeting=greeting,
        print_point=print_point,
        sum_array=sum_array,
        fast_sum=fast_sum,
        process=process,
        set_debug=set_debug,
        debug_enabled=debug_enabled,
        version=version,
    )
