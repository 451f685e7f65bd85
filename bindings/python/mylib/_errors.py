"""The exceptions of mylib and the one mapping from a C status code to them.

Every error the library reports becomes a ``MylibError`` carrying the C status
code (``.code``, from ``enum mylib_status`` in ``mylib.h``) and a message. Each
subclass also derives from the builtin exception that fits, so ordinary
``except OverflowError`` / ``except ValueError`` / ``except MemoryError``
clauses work.
"""

from __future__ import annotations

# Stable C status codes (include/mylib.h, enum mylib_status; checked by the tests).
OK = 0
ERR_NULL_POINTER = 1
ERR_INVALID_LENGTH = 2
ERR_OVERFLOW = 3
ERR_MISSING_CALLBACK = 4
ERR_IO = 5
ERR_PANIC = 6
ERR_MISALIGNED = 7
ERR_CALLBACK_FAILED = 8
ERR_NO_MEMORY = 9
ERR_BAD_FORMAT = 10
ERR_UNSUPPORTED_VERSION = 11


class MylibError(Exception):
    """An error reported by mylib. ``code`` is the C status code
    (``enum mylib_status``), ``message`` the library's message."""

    code: int
    message: str

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
    """A value or a result did not fit its C type (code 3)."""


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
    """A callback reported failure (code 8). From Python, a callback's own
    exception propagates instead; this is raised only when that exception was
    lost on its way (see ``mylib.process``)."""


class NoMemoryError(MylibError, MemoryError):
    """mylib could not allocate memory for an input-sized result (code 9), e.g.
    the greeting of a huge name. The library returned an error instead of
    aborting the process; the call changed nothing."""


class BadFormatError(MylibError, ValueError):
    """Bytes given to ``ExactSum.from_bytes`` are not a serialized state (code
    10): wrong length, magic, flag or reserved bits, or a value its count of
    doubles cannot reach."""


class UnsupportedVersionError(MylibError, ValueError):
    """Bytes given to ``ExactSum.from_bytes`` are a serialized state of a format
    version this library does not read (code 11): written by another mylib."""


#: Status code → exception class; codes not listed become a plain ``MylibError``.
BY_CODE: dict[int, type[MylibError]] = {
    ERR_NULL_POINTER: NullPointerError,
    ERR_INVALID_LENGTH: InvalidLengthError,
    ERR_OVERFLOW: MylibOverflowError,
    ERR_MISSING_CALLBACK: MissingCallbackError,
    ERR_IO: MylibIOError,
    ERR_PANIC: PanicError,
    ERR_MISALIGNED: MisalignedError,
    ERR_CALLBACK_FAILED: CallbackFailedError,
    ERR_NO_MEMORY: NoMemoryError,
    ERR_BAD_FORMAT: BadFormatError,
    ERR_UNSUPPORTED_VERSION: UnsupportedVersionError,
}

#: The exception classes, for re-export (``mylib.MylibError`` ...).
EXCEPTIONS = ("MylibError", *(cls.__name__ for cls in BY_CODE.values()))


def error(code: int, message: str) -> MylibError:
    """The exception for status ``code`` with ``message``."""
    return BY_CODE.get(code, MylibError)(code, message)


def overflow(func: str, what: str) -> MylibOverflowError:
    """The exception for a Python value that does not fit its C type, worded
    like the library's own overflow message plus the detail."""
    return MylibOverflowError(ERR_OVERFLOW, f"integer overflow in {func}: {what} does not fit a C int")
