"""The Pythonic API over a cffi ``lib``, shared by the ABI-mode
(``cffi_binding``) and the compiled API-mode (``cffi_compiled``) backends:
they differ only in how ``ffi``/``lib`` are made and in the trampoline."""

from __future__ import annotations

from types import SimpleNamespace

from . import _common
from ._common import PointLike, documented


def make_api(ffi, lib, trampoline) -> SimpleNamespace:
    """The public functions over ``ffi``/``lib``; ``trampoline`` is the C
    function pointer (``callback_t``) that runs ``_common.bare_trampoline``
    with ``_common.store_callback_error`` as its ``onerror``."""
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
            raise _common.overflow("add", f"an argument of add({a!r}, {b!r})") from None
        if r != a + b:  # the C result wrapped
            raise _common.overflow("add", f"{a} + {b} = {a + b}")
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
        n = mv.nbytes >> 2
        out = _new("int64_t *")
        status = _sum_i32(_from_buffer("int[]", mv) if n else _NULL, n, out)
        if status:
            _raise_last(status)
        return out[0]

    @documented
    def fast_sum(values) -> float:
        mv = _float64_buffer(values)
        n = mv.nbytes >> 3
        out = _new("double *")
        status = _sum_f64(_from_buffer("double[]", mv) if n else _NULL, n, out)
        if status:
            _raise_last(status)
        return out[0]

    _process = lib.process
    _current_call = _common.current_call
    _check_callback = _common.check_callback

    @documented
    def process(callback, value: int) -> int:
        if not callable(callback):
            _check_callback(callback)  # raises the right error
        token = _current_call.set(state := [callback, None])  # keeps the callable alive during the call
        try:
            r = _process(trampoline, value)
        except OverflowError:
            raise _common.overflow("process", f"value {value!r}") from None
        finally:
            _current_call.reset(token)
        if state[1] is not None:
            raise state[1]
        return r

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
