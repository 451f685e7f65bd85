"""What every backend shares: the exceptions, ``Point``, argument checks and
buffer handling. Backends only do the calls."""

from __future__ import annotations

import array
import contextvars
import sys
from typing import Iterable, Union

#: What every backend module (and ``mylib`` itself) re-exports from here.
__all__ = [
    "MylibError",
    "NullPointerError",
    "InvalidLengthError",
    "MylibOverflowError",
    "MissingCallbackError",
    "MylibIOError",
    "PanicError",
    "MisalignedError",
    "CallbackFailedError",
    "Point",
]

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1

# Stable C status codes (include/mylib.h, enum mylib_status).
OK = 0
ERR_NULL_POINTER = 1
ERR_INVALID_LENGTH = 2
ERR_OVERFLOW = 3
ERR_MISSING_CALLBACK = 4
ERR_IO = 5
ERR_PANIC = 6
ERR_MISALIGNED = 7
ERR_CALLBACK_FAILED = 8


class MylibError(Exception):
    """An error reported by mylib. ``code`` is the C status code
    (``mylib_status``), ``message`` the library's message."""

    code: int = -1

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __reduce__(self):  # pickling keeps the code
        return (type(self), (self.code, self.message))


class NullPointerError(MylibError, ValueError):
    """A required pointer was NULL (code 1)."""


class InvalidLengthError(MylibError, ValueError):
    """A negative or oversized length (code 2)."""


class MylibOverflowError(MylibError, OverflowError):
    """A value or result did not fit its C type (code 3)."""


class MissingCallbackError(MylibError, TypeError):
    """No callback was given (code 4)."""


class MylibIOError(MylibError, OSError):
    """Writing to stdout failed (code 5)."""

    def __init__(self, code: int, message: str) -> None:
        # OSError(code, message) would turn the mylib code into errno: keep one argument.
        OSError.__init__(self, message)
        self.code = code
        self.message = message


class PanicError(MylibError, RuntimeError):
    """A panic inside the library was caught (code 6): a bug in mylib."""


class MisalignedError(MylibError, ValueError):
    """A buffer was not aligned for its element type (code 7)."""


class CallbackFailedError(MylibError, RuntimeError):
    """A C callback reported failure (code 8)."""


_BY_CODE: dict[int, type[MylibError]] = {
    ERR_NULL_POINTER: NullPointerError,
    ERR_INVALID_LENGTH: InvalidLengthError,
    ERR_OVERFLOW: MylibOverflowError,
    ERR_MISSING_CALLBACK: MissingCallbackError,
    ERR_IO: MylibIOError,
    ERR_PANIC: PanicError,
    ERR_MISALIGNED: MisalignedError,
    ERR_CALLBACK_FAILED: CallbackFailedError,
}


def error(code: int, message: str) -> MylibError:
    """The exception for a C status code."""
    return _BY_CODE.get(code, MylibError)(code, message)


def overflow(func: str, what: str) -> MylibOverflowError:
    """The exception for a value that does not fit a C int, worded like the
    library's own message (``integer overflow in <func>``) plus the detail."""
    return MylibOverflowError(ERR_OVERFLOW, f"integer overflow in {func}: {what} does not fit a C int")


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


def point_coords(p: PointLike) -> tuple[int, int]:
    """``(x, y)`` of a ``Point`` or a 2-tuple, as checked C ints."""
    if isinstance(p, Point):
        x, y = p.x, p.y
    elif isinstance(p, tuple) and len(p) == 2:
        x, y = p
    else:
        raise TypeError(f"expected a Point or an (x, y) tuple, got {type(p).__name__}")
    x = _index(x, "Point.x")
    y = _index(y, "Point.y")
    if not (INT_MIN <= x <= INT_MAX):
        raise overflow("print_point", f"Point.x = {x}")
    if not (INT_MIN <= y <= INT_MAX):
        raise overflow("print_point", f"Point.y = {y}")
    return x, y


def _index(v: object, what: str) -> int:
    try:
        return v.__index__()  # type: ignore[attr-defined]
    except AttributeError:
        raise TypeError(f"{what} must be an int, not {type(v).__name__}") from None


def check_int(v: object, what: str, func: str) -> int:
    """``v`` as an int that fits a C int: ``TypeError`` / ``MylibOverflowError`` otherwise."""
    i = _index(v, what)
    if not (INT_MIN <= i <= INT_MAX):
        raise overflow(func, f"{what} = {i}")
    return i


def c_string(name: Union[str, bytes]) -> bytes:
    """A name as the bytes of a C string: ``str`` is UTF-8 encoded; an
    embedded NUL is a ``ValueError`` (C would silently cut the string there)."""
    if isinstance(name, str):
        data = name.encode("utf-8")
    elif isinstance(name, (bytes, bytearray, memoryview)):
        data = bytes(name)
    else:
        raise TypeError(f"name must be str or bytes, not {type(name).__name__}")
    if b"\0" in data:
        raise ValueError("name contains an embedded NUL character")
    return data


def decode(text: bytes) -> str:
    """Library text as ``str``: UTF-8, with undecodable bytes kept as
    surrogates (``errors="surrogateescape"``), so nothing is lost."""
    return text.decode("utf-8", "surrogateescape")


def flush_python_stdout() -> None:
    """Flushes Python's own buffered ``sys.stdout`` so that text printed before
    a library call that writes to the C stdout comes out first."""
    out = sys.stdout
    if out is not None:
        try:
            out.flush()
        except (OSError, ValueError):
            pass  # a closed or broken sys.stdout: the library reports its own write


# Buffer formats that mean a native C int / double (struct module syntax).
_INT32_FORMATS = frozenset({"i", "@i", "=i", "<i" if sys.byteorder == "little" else ">i"} | ({"l", "@l"} if array.array("l").itemsize == 4 else set()))
_F64_FORMATS = frozenset({"d", "@d", "=d", "<d" if sys.byteorder == "little" else ">d"})


def _as_buffer(values: object, formats: frozenset, itemsize: int, typecode: str, kind: str) -> memoryview:
    """A C-contiguous memoryview of ``values`` with the item type the kernel
    takes. A buffer of that type is used as is (no copy, read-only ones too);
    a buffer of another type or layout is a ``TypeError`` (no silent
    reinterpretation and no hidden copy); anything else that is iterable is
    converted once (``array.array``)."""
    try:
        mv = memoryview(values)  # type: ignore[arg-type]
    except TypeError:
        if isinstance(values, (str, bytes)):
            raise TypeError(f"expected {kind} values, got {type(values).__name__}") from None
        try:
            return memoryview(array.array(typecode, values))  # type: ignore[arg-type]
        except OverflowError as exc:
            raise MylibOverflowError(ERR_OVERFLOW, f"a value does not fit the C type: {exc}") from None
    if mv.format not in formats or mv.itemsize != itemsize:
        raise TypeError(
            f"buffer of item format {mv.format!r} given, {kind} needed; "
            f"convert it explicitly (e.g. numpy: a.astype({'numpy.int32' if typecode == 'i' else 'numpy.float64'}))"
        )
    if not mv.c_contiguous:
        raise TypeError(f"{kind} buffer is not C-contiguous; copy it explicitly (e.g. numpy.ascontiguousarray)")
    return mv


def int32_buffer(values: Union[Iterable[int], memoryview]) -> memoryview:
    """``values`` as a C-contiguous buffer of C ints (see ``_as_buffer``)."""
    return _as_buffer(values, _INT32_FORMATS, 4, "i", "int32")


def float64_buffer(values: Union[Iterable[float], memoryview]) -> memoryview:
    """``values`` as a C-contiguous buffer of doubles (see ``_as_buffer``)."""
    return _as_buffer(values, _F64_FORMATS, 8, "d", "float64")


#: The ``[callback, exception]`` of the ``process`` call in progress in this
#: thread (and async context). C calls the trampoline synchronously, on the
#: caller's thread, so the trampoline finds its call here; a callback that calls
#: ``process`` again sets its own and ``reset`` restores the outer one.
current_call: contextvars.ContextVar[list] = contextvars.ContextVar("mylib_current_call")


def check_callback(callback: object) -> None:
    """Refuses what cannot be called back before anything reaches C."""
    if callback is None:
        raise MissingCallbackError(ERR_MISSING_CALLBACK, "callback must not be None")
    if not callable(callback):
        raise TypeError(f"callback must be callable, not {type(callback).__name__}")


def trampoline(value: int) -> int:
    """The body of the C callback every backend hands to ``process``: calls
    the Python callable of this thread's current call, checks its result, and
    stores an exception instead of letting the FFI print it and return 0;
    the backend re-raises it unchanged once C returns."""
    state = current_call.get()
    try:
        r = state[0](value)  # type: ignore[index]
    except BaseException as exc:  # noqa: BLE001  (re-raised by process())
        state[1] = exc  # type: ignore[index]
        return 0
    if r.__class__ is int and INT_MIN <= r <= INT_MAX:
        return r
    if not isinstance(r, int):
        state[1] = TypeError(f"callback must return an int, not {type(r).__name__}")  # type: ignore[index]
    elif not (INT_MIN <= r <= INT_MAX):
        state[1] = overflow("process", f"callback result {r}")  # type: ignore[index]
    else:
        return int(r)  # an int subclass (bool, IntEnum)
    return 0


def bare_trampoline(value: int) -> int:
    """The cffi trampoline: calls this thread's current callback. cffi itself
    converts the result to a C int (``TypeError`` for a non-int,
    ``OverflowError`` out of range) and hands any exception to
    ``store_callback_error`` (its ``onerror``), which is cheaper than checking
    here."""
    return current_call.get()[0](value)


def store_callback_error(exc_type, exc_value, traceback) -> int:
    """cffi ``onerror`` of ``bare_trampoline``: keeps the exception for
    ``process`` to re-raise unchanged; C receives 0."""
    current_call.get()[1] = exc_value
    return 0


# Docstrings of the public API, shared by all backends.
DOCS = {
    "add": "Returns ``a + b``. Raises ``OverflowError`` (``MylibOverflowError``) when an argument or the result does not fit a C int.",
    "greet": "Writes ``Hello, <name>!`` and a newline to stdout (the C stream, after flushing ``sys.stdout``). ``name`` is ``str`` (UTF-8) or ``bytes``; an embedded NUL is a ``ValueError``; a failed write raises ``MylibIOError``.",
    "greeting": "Returns ``'Hello, <name>!'`` (the library's string, freed by the library).",
    "print_point": "Writes ``Point(<x>, <y>)`` and a newline to stdout. ``p`` is a ``Point`` or an ``(x, y)`` tuple.",
    "sum_array": "Returns the exact sum of int32 ``values`` (never wraps). A C-contiguous int32 buffer (numpy int32, ``array('i')``, memoryview ``'i'``) is used without a copy; other iterables of ints are converted; a buffer of another type raises ``TypeError``.",
    "fast_sum": "Returns the compensated sum of float64 ``values`` (within 1 ulp of ``math.fsum`` unless the data cancel catastrophically). Buffer rules as ``sum_array``, for float64.",
    "process": "Returns ``callback(value)``, called from C. An exception raised by ``callback`` propagates unchanged; a non-int result raises ``TypeError``.",
    "set_debug": "Turns the library's debug log (one line per call on stderr) on when ``enabled`` is true, off otherwise.",
    "debug_enabled": "Whether the library's debug log is on.",
    "version": "The library's version string (equals the package version).",
}


def documented(func):
    """Gives ``func`` its shared docstring."""
    func.__doc__ = DOCS[func.__name__]
    return func
