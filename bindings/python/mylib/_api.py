"""The public API of mylib, written once.

Every public function's argument rules, conversions, error mapping and
docstring live here, and only here. A backend (``ctypes_binding``,
``cffi_binding``, ``cffi_compiled``) is a thin call layer: it provides the
*primitives* listed in ``PRIMITIVES`` — each does one C call and returns what
the C function returned (a status, a value) — and calls ``bind``, which gives
it its own copy of every function below, running against its primitives.

The rules, the same on every backend:

- **Integers.** An int argument is whatever ``operator.index`` accepts (int,
  bool, numpy integer scalars, any ``__index__`` object); anything else
  (float, ``Decimal``, ``Fraction``, str, None) is ``TypeError``. A value that
  does not fit a C ``int`` is ``MylibOverflowError`` before any C call. The
  same rule applies to callback results and to the elements of sequences
  given to ``sum_array``.
- **Floats.** An element given to ``fast_sum`` is converted as
  ``math.fsum`` and ``array('d')`` convert it: a ``float``, an int or any
  object with ``__float__``/``__index__`` (numpy scalars, ``Decimal``,
  ``Fraction``); str, bytes, None and complex are ``TypeError``; an int too
  large for a double is ``MylibOverflowError``.
- **Buffers.** A buffer of the kernel's item type is used in place, without a
  copy, read-only ones included: for ``sum_array`` a C-contiguous native
  ``int32`` buffer; for ``fast_sum`` and ``ExactSum.add`` a native ``float64``
  buffer of any layout (C or Fortran order, n-dimensional, strided, reversed,
  misaligned: an exact sum does not depend on the order of its terms). A
  buffer of another type or byte order (or, for ``sum_array``, layout) is
  ``TypeError`` (no silent conversion, no hidden copy); the export is released
  on every path.
- **Errors.** Every exception raised for a C call comes from the status
  *that call* returned, never from a later read of the per-thread slot.
- **Callbacks.** ``process(cb, v)`` returns exactly what ``cb(v)`` returned
  (as an int), or raises: the callback's own exception object, with its
  traceback, freed by reference counting alone.
"""

from __future__ import annotations

import array
import operator
import sys
import threading
from types import FunctionType, ModuleType
from typing import Any, Callable, Iterable, Union

from . import _errors
from ._cdef import EXACT_SUM_BYTES, FAIL_BASE
from ._errors import (
    BadFormatError,
    CallbackFailedError,
    InvalidLengthError,
    MisalignedError,
    MissingCallbackError,
    MylibError,
    MylibIOError,
    MylibOverflowError,
    NoMemoryError,
    NullPointerError,
    PanicError,
    UnsupportedVersionError,
)

#: The public names, once: ``mylib``, every backend module, ``__all__`` and
#: the tests derive from this list.
__all__ = [
    "ExactSum",
    "add",
    "greet",
    "greeting",
    "Point",
    "print_point",
    "sum_array",
    "fast_sum",
    "process",
    "set_debug",
    "debug_enabled",
    "set_num_threads",
    "num_threads",
    "version",
    *_errors.EXCEPTIONS,
]

#: C functions of ``mylib.h`` that the API does not call, each with the reason.
#: Every other header function must be called by a primitive (checked by the tests).
RAW_ONLY = {
    "add": "tutorial signature; the API calls its status-returning twin mylib_add_packed",
    "mylib_add": "the out-pointer twin for C; the API calls mylib_add_packed (no out-cell to make per call)",
    "greet": "tutorial signature; the API calls mylib_greet",
    "print_point": "tutorial signature; the API calls mylib_print_point",
    "sum_array": "tutorial signature (wraps); the API calls the exact mylib_sum_i32",
    "fast_sum": "tutorial signature; the API calls mylib_sum_f64",
    "process": "tutorial signature, no user_data; the API calls mylib_process",
}

#: What a backend provides to ``bind`` (name → contract). Most are generic call
#: shapes, so a new C function of a known shape needs no backend code.
PRIMITIVES = {
    "_c_add": "(a, b) -> mylib_add_packed(a, b): the int sum, or FAIL_BASE + status, in one C call (the hot "
    "path); a and b are exact ints",
    "_c_add_checks_range": "True when _c_add raises OverflowError for an int that does not fit a C int (cffi, the "
    "capi module); False when the FFI would truncate it (ctypes), and the API checks the range before the call",
    "_c_call": "(name, *args) -> int: calls name(args) and returns its int result (ints, bytes, _c_point values)",
    "_c_call_out": "(name, out, *args) -> (int, value): name(args..., &cell) with a cell of C type out",
    "_c_call_buffer": "(name, view, item, n, out, *args) -> (int, value): name(*args, data, n, &cell), data the "
    "C-contiguous view's memory as item[]; no cell (and value None) when out is None",
    "_c_call_view": "(name, view, out, *args) -> (int, value): name(*args, data, ndim, shape, strides, &cell) for a "
    "view of any layout, read in place: data the address of its first item, shape and strides (bytes) its own; "
    "no cell (and value None) when out is None",
    "_c_call_into": "(name, size, *args) -> (int, bytes): name(*args, buf, size) with buf a fresh buffer of size bytes; "
    "the bytes the call wrote (b'' on failure)",
    "_c_call_string": "(name, *args) -> (int, bytes): name(args..., &s), s owned by mylib and freed with mylib_string_free",
    "_c_static_string": "(name, *args) -> str: a const char * result that mylib owns (static or slot-owned)",
    "_c_point": "(x, y) -> a const Point * argument",
    "_c_process": "(key, value) -> status: mylib_process(trampoline, user_data=key, value, ...), the trampoline "
    "running the bound _trampoline(key, value) (see its docstring)",
    "_c_message": "(status) -> str: the message of the call that just returned status on this thread",
}

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1

_index = operator.index


# ------------------------------------------------------------ primitives (provided by the backend)
def _unbound(*args: Any) -> Any:
    raise RuntimeError("mylib._api is not bound to a backend: use mylib or one of its backend modules")


_c_add: Callable[[int, int], int] = _unbound
_c_add_checks_range: bool = False
_c_call: Callable[..., int] = _unbound
_c_call_out: Callable[..., "tuple[int, Any]"] = _unbound
_c_call_buffer: Callable[..., "tuple[int, Any]"] = _unbound
_c_call_view: Callable[..., "tuple[int, Any]"] = _unbound
_c_call_into: Callable[..., "tuple[int, bytes]"] = _unbound
_c_call_string: Callable[..., "tuple[int, bytes]"] = _unbound
_c_static_string: Callable[..., str] = _unbound
_c_point: Callable[[int, int], Any] = _unbound
_c_process: Callable[[int, int], int] = _unbound
_c_message: Callable[[int], str] = _unbound


# ------------------------------------------------------------ rules
def _fail(status: int, detail: str | None = None) -> MylibError:
    """The exception for the status a call just returned (the one mapping,
    ``_errors.error``), with the library's message for that call."""
    message = _c_message(status)
    return _errors.error(status, f"{message}: {detail}" if detail else message)


def c_int(v: object, what: str, func: str) -> int:
    """The int rule: ``operator.index(v)`` (as an exact ``int``: before 3.10
    and on PyPy it returns ``bool`` and other subclasses as they are), which
    must fit a C int."""
    try:
        i = int(_index(v))
    except TypeError:
        raise TypeError(f"{func}() argument {what} must be an int, not {type(v).__name__}") from None
    if not INT_MIN <= i <= INT_MAX:
        raise _errors.overflow(func, f"{what} = {i}")
    return i


def c_string(name: Union[str, bytes, bytearray, memoryview], func: str) -> bytes:
    """A name as the bytes of a C string: ``str`` as UTF-8 (with
    ``surrogateescape``, so text decoded from arbitrary bytes round-trips;
    other lone surrogates are ``UnicodeEncodeError``, a ``ValueError``),
    bytes-like as given. An embedded NUL is ``ValueError`` (C would cut the
    string there)."""
    if isinstance(name, str):
        data = name.encode("utf-8", "surrogateescape")
    elif isinstance(name, (bytes, bytearray, memoryview)):
        data = bytes(name)
    else:
        raise TypeError(f"{func}() argument name must be str or bytes, not {type(name).__name__}")
    if b"\0" in data:
        raise ValueError(f"{func}() argument name contains an embedded NUL character")
    return data


def _decode(text: bytes) -> str:
    """Library text as ``str``: UTF-8, undecodable bytes kept as surrogates."""
    return text.decode("utf-8", "surrogateescape")


def _flush_python_stdout() -> None:
    """Flushes Python's buffered ``sys.stdout`` so that text printed before a
    call that writes to the C stdout comes out first."""
    out = sys.stdout
    if out is not None:
        try:
            out.flush()
        except (OSError, ValueError):
            pass  # a closed or broken sys.stdout: the library reports its own write


# Buffer formats meaning a native C int / double (struct module syntax).
_NATIVE = "<" if sys.byteorder == "little" else ">"
_INT32_FORMATS = frozenset({"i", "@i", "=i", _NATIVE + "i"} | ({"l", "@l"} if array.array("l").itemsize == 4 else set()))
_F64_FORMATS = frozenset({"d", "@d", "=d", _NATIVE + "d"})


def _view(values: object, formats: frozenset, itemsize: int, kind: str, func: str, any_layout: bool = False) -> memoryview:
    """A memoryview of ``values`` with the kernel's item type (see the buffer
    rule): C-contiguous unless ``any_layout``. The caller releases it."""
    try:
        mv = memoryview(values)  # type: ignore[arg-type]
    except TypeError:
        if isinstance(values, (str, bytes, bytearray)) or not hasattr(values, "__iter__"):
            raise TypeError(f"{func}() expects a buffer or an iterable of numbers, not {type(values).__name__}") from None
        try:
            if kind == "int32":
                converted = array.array("i", map(_index, values))  # type: ignore[arg-type]
            else:
                converted = array.array("d", map(_real, values))  # type: ignore[arg-type]
        except OverflowError as exc:
            raise _errors.overflow(func, f"an element ({exc})") from None
        except TypeError as exc:
            raise TypeError(f"{func}() elements must be {'ints' if kind == 'int32' else 'real numbers'}: {exc}") from None
        return memoryview(converted)
    if mv.format not in formats or mv.itemsize != itemsize:
        fmt = mv.format
        mv.release()
        raise TypeError(
            f"{func}() needs {kind} items, got a buffer of format {fmt!r}; convert it explicitly "
            f"(e.g. numpy: a.astype({'numpy.int32' if kind == 'int32' else 'numpy.float64'}))"
        )
    if not (any_layout or mv.c_contiguous):
        mv.release()
        raise TypeError(f"{func}() needs a C-contiguous buffer; copy it explicitly (e.g. numpy.ascontiguousarray)")
    return mv


def _real(v: object) -> float:
    """The float rule, for one element: a ``float``, anything with ``__float__``
    (numpy floats, ``Decimal``, ``Fraction``, ints), else anything with
    ``__index__``; otherwise ``TypeError``. (``array('d')`` applies this rule on
    CPython but not on PyPy, so it is spelled out here.)"""
    if v.__class__ is float:
        return v  # type: ignore[return-value]
    if hasattr(type(v), "__float__"):
        return float(v)  # type: ignore[arg-type]
    try:
        i = _index(v)
    except TypeError:
        raise TypeError(f"must be a real number, not {type(v).__name__}") from None
    return float(i)


def _release(mv: memoryview) -> None:
    """Ends our export of the caller's buffer now (not when the GC runs)."""
    try:
        mv.release()
    except BufferError:  # pragma: no cover - PyPy keeps FFI views until its GC runs
        pass


class Point:
    """A point with C ``int`` coordinates, like the C ``Point`` struct."""

    __slots__ = ("x", "y")

    def __init__(self, x: int, y: int) -> None:
        self.x = x
        self.y = y

    def __iter__(self):
        yield self.x
        yield self.y

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Point):
            return self.x == other.x and self.y == other.y
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Point({self.x!r}, {self.y!r})"


PointLike = Union[Point, "tuple[int, int]"]


# ------------------------------------------------------------ callbacks
#: A ``process`` call's state is a list ``[callable, result, exception]``
#: (a list, not an object with ``__init__``: a list costs a quarter of the
#: time). C reaches it through ``user_data``, a key into ``_calls``.
CALLBACK, RESULT, EXC = 0, 1, 2
Call = list


#: Every Call made so far (every thread, every backend): key → Call. The key is
#: the Call's id (a Call is never freed, so the key stays unique); C gets it as
#: ``user_data``.
_calls: dict[int, list] = {}

#: The Calls not in use, as ``(key, Call)``, emptied (``[None, None, None]``).
#: A ``process`` call takes one and puts it back (``list.pop`` and ``append``
#: are atomic: threads and re-entrant calls never share one): no new key, no
#: dict insertion and deletion per call (on PyPy, ``id()`` of a new object
#: and the insertion cost twice the C round trip itself).
_idle: list = []


def _callback_result(r: object) -> int:
    """A callback's result by the int rule (an exact ``int``)."""
    try:
        i = int(_index(r))
    except TypeError:
        raise TypeError(f"the process() callback must return an int, not {type(r).__name__}") from None
    if not INT_MIN <= i <= INT_MAX:
        raise _errors.overflow("process", f"the callback's result {i}")
    return i


def _trampoline(user_data: int, value: int) -> int:
    """The body of the C callback every backend hands to ``mylib_process``:
    runs the callable of the ``Call`` whose key is ``user_data``, checks its
    result, records it in the ``Call`` and returns it; on any exception stores
    it in the ``Call`` and returns ``FAIL_BASE`` (below any C int), for which
    the backend's C-typed adapter returns non-zero, so the C call fails instead
    of returning a value the callback did not return. A backend whose FFI can
    report an exception raised outside the ``try`` (cffi's ``onerror``) passes
    it to ``_onerror`` and makes its result ``FAIL_BASE`` too."""
    call = _calls[user_data]
    try:
        r = call[0](value)  # CALLBACK
        if r.__class__ is not int or not -2147483648 <= r <= 2147483647:
            r = _callback_result(r)
        call[1] = r  # RESULT
        return r
    except BaseException as exc:  # noqa: BLE001 - re-raised by process()
        call[2] = exc  # EXC
        # This frame is in exc's traceback: drop its reference to the Call,
        # or exc -> traceback -> frame -> call -> exc would be a cycle.
        call = None
        return FAIL_BASE


#: Exceptions that escaped the trampoline before it could store them, per thread:
#: callbacks run synchronously on the calling thread, so the innermost
#: ``process`` call of the thread is the one they belong to.
_escaped = threading.local()


def _onerror(exc_type, exc, tb) -> None:
    """cffi ``onerror`` of the trampoline: an exception raised outside its
    ``try`` (an asynchronous exception at its first instruction, the
    recursion limit). Stored in the trampoline's ``Call`` when its frame can
    be found, else kept for this thread's innermost ``process`` call."""
    call = None
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code is _trampoline.__code__:
            try:
                call = _calls.get(frame.f_locals["user_data"])
            except Exception:  # noqa: BLE001 - fall back to the per-thread slot
                call = None
            frame.clear()  # finished; clearing its locals breaks exc -> tb -> frame cycles
            break
        tb = tb.tb_next
    if call is not None:
        call[EXC] = exc
    else:
        _escaped.exc = exc


def _probe(n: int) -> int:
    return _probe(n - 1) if n else 0


def _near_recursion_limit() -> bool:
    """True when 60 more Python calls would raise ``RecursionError``. CPython
    counts frames, so they are counted: trying could kill the process (CPython
    3.9.0-3.9.8, Debian 11's 3.9.2 among them, aborts with "Cannot recover from
    stack overflow" when code that runs after a RecursionError goes 50 calls
    deeper). PyPy measures the machine stack, which a count of frames does not
    tell: there it is tried."""
    if sys.implementation.name == "cpython":
        depth, frame, limit = 0, sys._getframe(), sys.getrecursionlimit()
        while frame is not None and depth < limit:
            depth += 1
            frame = frame.f_back
        return depth >= limit - 60
    try:
        _probe(60)
    except RecursionError:
        return True
    return False


def _lost(status: int) -> BaseException:
    """What ``process`` raises when its callback failed but the exception did
    not reach the ``Call``: the exception itself if it was kept for this
    thread, else ``RecursionError`` near the recursion limit, else
    ``CallbackFailedError``."""
    exc = _escaped.__dict__.pop("exc", None)
    if exc is not None:
        return exc
    if _near_recursion_limit():
        return RecursionError("maximum recursion depth exceeded while calling a mylib callback")
    return CallbackFailedError(
        _errors.ERR_CALLBACK_FAILED,
        "the process() callback failed and its exception was lost on the way (reported through sys.unraisablehook)",
    )


# ------------------------------------------------------------ the API
def add(a: int, b: int) -> int:
    """Returns ``a + b``.

    Raises ``TypeError`` unless both are ints (``operator.index``), and
    ``OverflowError`` (``MylibOverflowError``, code 3) when an argument or the
    sum does not fit a C int — the library decides the sum's overflow.
    """
    if a.__class__ is int and b.__class__ is int and (  # the hot path: one C call
            _c_add_checks_range or -2147483648 <= a <= 2147483647 and -2147483648 <= b <= 2147483647):
        try:
            r = _c_add(a, b)  # the library's sum, or FAIL_BASE + its status
        except OverflowError:
            pass  # the FFI refused an argument that does not fit a C int: the rule below says which
        else:
            if r >= -2147483648:
                return r
            raise _fail(r - FAIL_BASE, f"{a} + {b} = {a + b} does not fit a C int")
    a = c_int(a, "a", "add")
    b = c_int(b, "b", "add")
    r = _c_add(a, b)
    if r >= -2147483648:
        return r
    raise _fail(r - FAIL_BASE, f"{a} + {b} = {a + b} does not fit a C int")


def greet(name: Union[str, bytes]) -> None:
    """Writes ``Hello, <name>!`` and a newline to stdout (the C stream,
    after flushing ``sys.stdout`` so the order is kept).

    ``name`` is ``str`` (UTF-8) or bytes (written as given). An embedded NUL
    is ``ValueError``; a failed write (closed stdout, broken pipe, full disk)
    raises ``MylibIOError`` (an ``OSError``, code 5).
    """
    data = c_string(name, "greet")
    _flush_python_stdout()
    status = _c_call("mylib_greet", data)
    if status:
        raise _fail(status)


def greeting(name: Union[str, bytes]) -> str:
    """Returns ``'Hello, <name>!'``, made by the library (and freed by it).
    Name rules as ``greet``; bytes that are not UTF-8 come back as
    surrogate escapes."""
    status, text = _c_call_string("mylib_greeting", c_string(name, "greeting"))
    if status:
        raise _fail(status)
    return _decode(text)


def print_point(p: PointLike) -> None:
    """Writes ``Point(<x>, <y>)`` and a newline to stdout (as ``greet``).
    ``p`` is a ``Point`` or an ``(x, y)`` tuple of ints that fit a C int."""
    if isinstance(p, Point):
        x, y = p.x, p.y
    elif isinstance(p, tuple) and len(p) == 2:
        x, y = p
    else:
        raise TypeError(f"print_point() expects a Point or an (x, y) tuple, not {type(p).__name__}")
    x = c_int(x, "Point.x", "print_point")
    y = c_int(y, "Point.y", "print_point")
    _flush_python_stdout()
    status = _c_call("mylib_print_point", _c_point(x, y))
    if status:
        raise _fail(status)


def sum_array(values: Union[Iterable[int], memoryview, Any]) -> int:
    """Returns the exact sum of int32 ``values`` (64-bit: it never wraps).

    A C-contiguous native int32 buffer (numpy int32, ``array('i')``, a
    memoryview of format ``'i'``) is read in place, without a copy; other
    iterables of ints are converted (int rule); a buffer of another type is
    ``TypeError``; a misaligned buffer is ``MisalignedError`` (code 7).
    """
    mv = _view(values, _INT32_FORMATS, 4, "int32", "sum_array")
    try:
        status, total = _c_call_buffer("mylib_sum_i32", mv, "int", mv.nbytes >> 2, "int64_t")
    finally:
        _release(mv)
    if status:
        raise _fail(status)
    return total


def _sum_view(mv: memoryview, contiguous: str, strided: str, out: Any, *args: Any) -> "tuple[int, Any]":
    """Calls ``contiguous(*args, data, n[, &out])`` for a C-contiguous float64
    view, else (and for a misaligned one, which that call refuses)
    ``strided(*args, data, ndim, shape, strides[, &out])``, which reads any
    layout where it lies."""
    if mv.c_contiguous:
        status, r = _c_call_buffer(contiguous, mv, "double", mv.nbytes >> 3, out, *args)
        if status != _errors.ERR_MISALIGNED:
            return status, r
    return _c_call_view(strided, mv, out, *args)


def fast_sum(values: Union[Iterable[float], memoryview, Any]) -> float:
    """Returns the exact sum of float64 ``values`` rounded once to the nearest
    float, ties to even: the bits of ``math.fsum`` whenever that is finite,
    without its intermediate overflow (``[1e308, 1e308, -1e308]`` → ``1e308``).

    NaN in → NaN; ``inf`` and ``-inf`` → NaN; one infinity → it. An exact sum
    beyond the float range raises ``MylibOverflowError`` (an ``OverflowError``,
    like ``math.fsum``'s). A float64 buffer of any layout (numpy arrays in C or
    Fortran order, n-dimensional, strided views such as ``m[:, 3]`` or
    ``x[::-2]``, misaligned ones) is read in place; other iterables are
    converted by the float rule. The result does not depend on the order,
    layout, thread count or machine.
    """
    mv = _view(values, _F64_FORMATS, 8, "float64", "fast_sum", any_layout=True)
    try:
        status, total = _sum_view(mv, "mylib_sum_f64", "mylib_sum_f64_strided", "double")
    finally:
        _release(mv)
    if status:
        raise _fail(status)
    return total


def process(callback: Callable[[int], int], value: int) -> int:
    """Returns ``callback(value)``, with the callback called from C.

    ``value`` and the callback's result follow the int rule (``TypeError``,
    ``MylibOverflowError``). Any exception raised by the callback — or
    arriving while it runs, such as ``KeyboardInterrupt`` — propagates as the
    same object, with the callback's frames in its traceback; the recursion
    limit reached inside nested calls is ``RecursionError``. ``None`` is
    ``MissingCallbackError``. Never returns a value the callback did not return.
    """
    if not callable(callback):
        if callback is None:
            raise MissingCallbackError(_errors.ERR_MISSING_CALLBACK, "process() callback must not be None")
        raise TypeError(f"process() callback must be callable, not {type(callback).__name__}")
    if value.__class__ is not int or not -2147483648 <= value <= 2147483647:
        value = c_int(value, "value", "process")
    try:
        key, call = _idle.pop()
    except IndexError:
        call = [None, None, None]  # CALLBACK, RESULT, EXC
        key = id(call)
        _calls[key] = call
    try:
        call[0] = callback
        status = _c_process(key, value)
        result, exc = call[1], call[2]
    finally:
        call[0] = call[1] = call[2] = None  # the Call keeps nothing of this call
        _idle.append((key, call))
    if status == 0 and result is not None and exc is None:
        return result
    if exc is None:
        if status == 0 or status == _errors.ERR_CALLBACK_FAILED:
            exc = _lost(status)
        else:
            exc = _fail(status)
    call = None
    try:
        raise exc
    finally:
        exc = None  # this frame joins the traceback: no cycle through it


def set_debug(enabled: object) -> None:
    """Turns the library's debug log (one line per call, on stderr) on when
    ``enabled`` is true, off otherwise. Process-wide."""
    _c_call("set_debug", 1 if enabled else 0)


def debug_enabled() -> bool:
    """Whether the library's debug log is on."""
    return bool(_c_call("mylib_get_debug"))


def set_num_threads(n: int) -> None:
    """Sets the most threads a large sum (``sum_array``, ``fast_sum`` on 4 MiB
    or more) may use, the calling thread included, for the whole process:
    1 to 1024, or 0 for the default (``MYLIB_NUM_THREADS``, else the CPUs this
    process may run on). Results never depend on it. Another value is
    ``InvalidLengthError`` (code 2), and the setting is unchanged."""
    status = _c_call("mylib_set_num_threads", c_int(n, "n", "set_num_threads"))
    if status:
        raise _fail(status)


def num_threads() -> int:
    """The most threads a large sum uses now (at least 1)."""
    return _c_call("mylib_get_num_threads")


def version() -> str:
    """The library's version string (equal to the package's ``__version__``)."""
    return _c_static_string("mylib_version")


# ------------------------------------------------------------ the exact sum as a state
def _restore_exact_sum(data: bytes) -> "ExactSum":
    """Unpickles an ``ExactSum`` with whichever backend ``import mylib`` picks
    in this process (the bytes are the same on every backend and machine)."""
    import mylib

    return mylib.ExactSum.from_bytes(data)


def _release_state(acc: Any) -> None:
    _c_call("mylib_exact_sum_free", acc)


class ExactSum:
    """The exact sum of every value added, as one state that adds, merges
    across threads, processes and machines, and rounds once.

    ``add(values)`` takes what ``fast_sum`` takes (any float64 buffer, read in
    place, or an iterable of real numbers) and single real numbers;
    ``merge(other)`` adds another state (``a + b`` makes a new one, ``a += b``
    merges in place, ``sum(states)`` works); ``value()`` and ``float(acc)``
    give the sum rounded once to nearest, ties to even — the bits of
    ``fast_sum`` (and ``math.fsum``) of everything added, whatever the split,
    order or merge tree. ``to_bytes()`` / ``ExactSum.from_bytes(b)`` carry the
    state between processes and machines (288 bytes, versioned, the same on
    every platform and backend); pickling uses them. ``count`` is the number of
    values added.

    Special values as ``fast_sum``: a NaN added stays NaN, ``inf`` and
    ``-inf`` give NaN, an exact sum beyond the float range raises
    ``MylibOverflowError`` from ``value()``. Malformed bytes raise
    ``BadFormatError`` (code 10) or, for another format version,
    ``UnsupportedVersionError`` (code 11), both ``ValueError``.

    Threads may share one ``ExactSum``: every call applies whole (the library
    locks the state), and long adds release the GIL.
    """

    __slots__ = ("_acc", "__weakref__")

    def __init__(self, values: Any = None) -> None:
        self._acc = None
        status, acc = _c_call_out("mylib_exact_sum_new", "mylib_exact_sum *")
        if status:
            raise _fail(status)
        self._acc = acc
        if values is not None:
            self.add(values)

    @classmethod
    def _adopt(cls, acc: Any) -> "ExactSum":
        obj = cls.__new__(cls)
        obj._acc = acc
        return obj

    def __del__(self) -> None:
        acc = getattr(self, "_acc", None)
        if acc is not None:
            self._acc = None
            _release_state(acc)

    def add(self, values: Any) -> None:
        """Adds ``values``: a float64 buffer of any layout (read in place), an
        iterable of real numbers (the float rule), or one real number."""
        acc = self._acc
        if not hasattr(type(values), "__iter__"):
            try:
                mv = memoryview(values)  # type: ignore[arg-type]
            except TypeError:
                # One value: a float, an int or anything with __float__/__index__.
                try:
                    x = _real(values)
                except OverflowError as exc:
                    raise _errors.overflow("ExactSum.add", f"the value ({exc})") from None
                except TypeError as exc:
                    raise TypeError(f"ExactSum.add() takes float64 values or one real number: {exc}") from None
                status = _c_call("mylib_exact_sum_add_value", acc, x)
                if status:
                    raise _fail(status)
                return
            mv.release()
        mv = _view(values, _F64_FORMATS, 8, "float64", "ExactSum.add", any_layout=True)
        try:
            status, _ = _sum_view(mv, "mylib_exact_sum_add", "mylib_exact_sum_add_strided", None, acc)
        finally:
            _release(mv)
        if status:
            raise _fail(status)

    def merge(self, other: "ExactSum") -> None:
        """Adds the state of ``other`` (unchanged) to this one."""
        if not isinstance(other, _ExactSumAPI):
            raise TypeError(f"ExactSum.merge() needs an ExactSum, not {type(other).__name__}")
        if other.__class__ is not self.__class__:
            other = self.__class__.from_bytes(other.to_bytes())  # another backend's state: through its bytes
        status = _c_call("mylib_exact_sum_merge", self._acc, other._acc)
        if status:
            raise _fail(status)

    def copy(self) -> "ExactSum":
        """A new, independent state equal to this one."""
        new = self.__class__()
        new.merge(self)
        return new

    __copy__ = copy

    def __deepcopy__(self, memo: Any) -> "ExactSum":
        return self.copy()

    def __add__(self, other: Any) -> "ExactSum":
        if not isinstance(other, _ExactSumAPI):
            return NotImplemented
        new = self.copy()
        new.merge(other)
        return new

    def __radd__(self, other: Any) -> "ExactSum":
        if other.__class__ is int and other == 0:  # sum(states) starts from 0
            return self.copy()
        return NotImplemented

    def __iadd__(self, other: Any) -> "ExactSum":
        if not isinstance(other, _ExactSumAPI):
            return NotImplemented
        self.merge(other)
        return self

    def value(self) -> float:
        """The exact sum of everything added, rounded once to the nearest
        float, ties to even (``MylibOverflowError`` beyond the float range)."""
        status, v = _c_call_out("mylib_exact_sum_result", "double", self._acc)
        if status:
            raise _fail(status)
        return v

    __float__ = value

    @property
    def count(self) -> int:
        """The number of values added (NaN and infinities included; merged
        states count theirs)."""
        status, n = _c_call_out("mylib_exact_sum_count", "uint64_t", self._acc)
        if status:
            raise _fail(status)
        return n

    def reset(self) -> None:
        """Empties the state (its value is 0.0 and its count 0 again)."""
        status = _c_call("mylib_exact_sum_reset", self._acc)
        if status:
            raise _fail(status)

    def to_bytes(self) -> bytes:
        """The serialized state: 288 bytes, versioned and the same on every
        platform (the format is in ``mylib.h``); equal states give equal bytes."""
        status, data = _c_call_into("mylib_exact_sum_to_bytes", EXACT_SUM_BYTES, self._acc)
        if status:
            raise _fail(status)
        return data

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview]) -> "ExactSum":
        """The state serialized in ``data`` (by ``to_bytes``, on any machine and
        backend). Every field is checked: ``BadFormatError`` for bytes that are
        not a state, ``UnsupportedVersionError`` for another format version."""
        try:
            mv = memoryview(data)  # type: ignore[arg-type]
        except TypeError:
            raise TypeError(f"ExactSum.from_bytes() needs a bytes-like object, not {type(data).__name__}") from None
        try:
            if not mv.c_contiguous:
                raise TypeError("ExactSum.from_bytes() needs a contiguous bytes-like object")
            flat = mv.cast("B")
            try:
                status, acc = _c_call_buffer("mylib_exact_sum_from_bytes", flat, "uint8_t", flat.nbytes,
                                             "mylib_exact_sum *")
            finally:
                _release(flat)
        finally:
            _release(mv)
        if status:
            raise _fail(status)
        return cls._adopt(acc)

    def __reduce__(self) -> Any:
        return (_restore_exact_sum, (self.to_bytes(),))

    def __repr__(self) -> str:
        try:
            shown = repr(self.value())
        except OverflowError:
            shown = "overflow"
        return f"ExactSum(value={shown}, count={self.count})"


#: The class as written here: every backend's ExactSum is a subclass of it.
_ExactSumAPI = ExactSum


# ------------------------------------------------------------ binding
#: Functions that stay as written (pickling refers to them by their place here).
_UNBOUND = frozenset({"_restore_exact_sum"})

#: Functions a backend gets its own copy of (the API and what it calls).
_BOUND = tuple(
    name
    for name, obj in list(globals().items())
    if isinstance(obj, FunctionType) and obj.__module__ == __name__ and obj.__name__ == name
    and name not in PRIMITIVES and name not in _UNBOUND
)

#: Classes a backend gets its own subclass of, with its methods bound likewise.
_BOUND_CLASSES = ("ExactSum",)


def bind(module_globals: dict, primitives: dict[str, Any]) -> dict[str, Any]:
    """Gives a backend module its copy of the API.

    Every function of this module is copied with its globals replaced by a
    namespace where the ``_c_*`` primitives are the backend's: the code,
    rules and docstrings stay the ones written here. The namespace is a
    module's ``__dict__``, not a plain dict: PyPy's JIT folds global lookups
    in a module dict into constants, and looks each one up on every call in
    any other dict (add took 2.4 times a raw cffi call). The public names
    (``__all__``) are put into ``module_globals``; the whole bound namespace
    is returned (the backend takes ``_trampoline`` and ``_onerror`` from it).
    A missing primitive is an ``ImportError``.
    """
    missing = sorted(set(PRIMITIVES) - set(primitives))
    if missing:
        raise ImportError(f"{module_globals.get('__name__')} lacks the primitives {', '.join(missing)}")
    namespace = ModuleType(__name__).__dict__
    # Each name written once: PyPy reads a rewritten global from a cell on every call.
    rebound = set(primitives) | set(_BOUND) | set(_BOUND_CLASSES)
    namespace.update((name, value) for name, value in globals().items() if name not in rebound)
    namespace.update(primitives)
    module = module_globals.get("__name__", __name__)

    def rebind(f: FunctionType) -> FunctionType:
        g = FunctionType(f.__code__, namespace, f.__name__, f.__defaults__, f.__closure__)
        g.__doc__ = f.__doc__
        g.__annotations__ = f.__annotations__
        g.__kwdefaults__ = f.__kwdefaults__
        g.__qualname__ = f.__qualname__
        g.__module__ = module
        return g

    for name in _BOUND:
        namespace[name] = rebind(globals()[name])
    for name in _BOUND_CLASSES:
        base = globals()[name]
        members: dict[str, Any] = {"__slots__": (), "__module__": module, "__doc__": base.__doc__,
                                   "__qualname__": base.__qualname__}
        for attr, value in vars(base).items():
            if isinstance(value, FunctionType):
                members[attr] = rebind(value)
            elif isinstance(value, (classmethod, staticmethod)):
                members[attr] = type(value)(rebind(value.__func__))
            elif isinstance(value, property):
                members[attr] = property(*(rebind(f) if f else None for f in (value.fget, value.fset, value.fdel)),
                                         value.__doc__)
        # Aliases (``__float__ = value``) name the same bound function.
        for attr, value in vars(base).items():
            if isinstance(value, FunctionType) and value.__name__ != attr:
                members[attr] = members[value.__name__]
        namespace[name] = type(name, (base,), members)
    for name in __all__:
        module_globals[name] = namespace[name]
    module_globals["__all__"] = list(__all__)
    return namespace
