"""The one declaration source of every backend: ``mylib.h`` itself.

- cffi (ABI and compiled mode) reads the header with its preprocessor lines and
  ``#ifdef __cplusplus`` blocks removed (``cdef_from_header``).
- ctypes gets its ``argtypes``/``restype`` from the same text: ``declarations``
  parses the function prototypes, callback typedefs and structs that cbindgen
  writes, so a function in the header cannot lack a ctypes signature.
- The compiled module adds a few C shims and the Python trampoline
  (``COMPILED_CDEF``/``COMPILED_SOURCE``), used by ``build_cffi.py``.

The header read at run time is the package's own copy (``mylib/include/mylib.h``,
put there by ``pip install`` and by ``make`` in a checkout), never one found by
guessing the directory layout.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

_HERE = Path(__file__).resolve().parent

#: The header inside the package.
HEADER = _HERE / "include" / "mylib.h"


def header_text() -> str:
    """The package's copy of ``mylib.h``; ``ImportError`` when it is missing."""
    try:
        return HEADER.read_text(encoding="utf-8")
    except OSError as exc:
        raise ImportError(
            f"mylib's header is missing from the package ({HEADER}): reinstall the package, "
            "or run 'make' in the mylib checkout"
        ) from exc


def cdef_from_header(text: str) -> str:
    """Strips preprocessor lines and ``#ifdef __cplusplus`` blocks from a C header."""
    out: list[str] = []
    skip_depth = 0  # > 0 while inside an #ifdef __cplusplus block
    depth = 0
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            directive = stripped[1:].strip()
            if directive.startswith(("if", "ifdef", "ifndef")):
                depth += 1
                if skip_depth == 0 and directive.split()[:2] == ["ifdef", "__cplusplus"]:
                    skip_depth = depth
            elif directive.startswith("endif"):
                if skip_depth == depth:
                    skip_depth = 0
                depth -= 1
            continue
        if skip_depth == 0:
            out.append(line)
    return "\n".join(out) + "\n"


def cdef() -> str:
    """The header's declarations, ready for ``ffi.cdef``."""
    return cdef_from_header(header_text())


# ------------------------------------------------------------ a model of the declarations
class Param(NamedTuple):
    """One parameter: its C type (normalised spelling) and name."""

    ctype: str
    name: str


class Function(NamedTuple):
    """A function prototype or a function-pointer typedef."""

    restype: str
    name: str
    params: tuple[Param, ...]


class Declarations(NamedTuple):
    """What the header declares: functions, callback typedefs, structs (name → fields)."""

    functions: dict[str, Function]
    callbacks: dict[str, Function]
    structs: dict[str, tuple[Param, ...]]


def _normalise(ctype: str) -> str:
    """``const  struct Point*`` → ``const Point *``: one spelling per type."""
    ctype = re.sub(r"\bstruct\s+", "", ctype)
    ctype = re.sub(r"\s*\*\s*", " *", ctype.strip())
    ctype = re.sub(r"\s+", " ", ctype).replace("* *", "**")
    return ctype.strip()


#: Words that end a type rather than name a parameter (``int (*)(int)`` has no names).
_TYPE_WORDS = frozenset({"int", "char", "double", "float", "void", "long", "short", "unsigned", "signed",
                         "size_t", "ptrdiff_t", "int64_t", "uint64_t", "int32_t", "uint32_t", "uint8_t",
                         "uintptr_t", "bool"})


def _split_param(text: str, where: str) -> Param:
    text = text.strip()
    m = re.fullmatch(r"(.*?[\s*])(\w+)", text)
    if m is None or m.group(2) in _TYPE_WORDS:
        if not re.fullmatch(r"[\w\s*]+", text):
            raise ValueError(f"cannot parse parameter {text!r} in {where}")
        return Param(_normalise(text), "")  # unnamed
    return Param(_normalise(m.group(1)), m.group(2))


def _params(text: str, where: str) -> tuple[Param, ...]:
    text = text.strip()
    if text in ("", "void"):
        return ()
    return tuple(_split_param(p, where) for p in text.split(","))


def declarations(text: str | None = None) -> Declarations:
    """Parses the declarations cbindgen writes into ``mylib.h`` (default: the
    package's copy). Raises ``ValueError`` on a declaration it cannot read."""
    body = cdef_from_header(header_text() if text is None else text)
    body = re.sub(r"/\*.*?\*/", " ", body, flags=re.S)
    body = re.sub(r"//[^\n]*", " ", body)
    functions: dict[str, Function] = {}
    callbacks: dict[str, Function] = {}
    structs: dict[str, tuple[Param, ...]] = {}
    for m in re.finditer(r"typedef\s+struct\s+(\w+)\s*\{([^}]*)\}\s*(\w+)\s*;", body):
        fields = tuple(_split_param(f, m.group(1)) for f in m.group(2).split(";") if f.strip())
        structs[m.group(3)] = fields
    body = re.sub(r"typedef\s+struct\s+\w+\s*\{[^}]*\}\s*\w+\s*;", " ", body)
    body = re.sub(r"typedef\s+enum\s+\w*\s*\{[^}]*\}\s*\w+\s*;", " ", body)
    body = re.sub(r"(typedef\s+)?enum\s+\w*\s*\{[^}]*\}\s*;", " ", body)
    for statement in body.split(";"):
        s = " ".join(statement.split())
        if not s:
            continue
        m = re.fullmatch(r"typedef (.+?)\(\s*\*\s*(\w+)\s*\)\s*\((.*)\)", s)
        if m:
            callbacks[m.group(2)] = Function(_normalise(m.group(1)), m.group(2), _params(m.group(3), m.group(2)))
            continue
        if s.startswith("typedef "):
            continue  # other typedefs (e.g. of the status enum) carry no prototype
        m = re.fullmatch(r"(.+?[\s*])(\w+)\s*\((.*)\)", s)
        if not m:
            raise ValueError(f"cannot parse declaration {s!r} in mylib.h")
        functions[m.group(2)] = Function(_normalise(m.group(1)), m.group(2), _params(m.group(3), m.group(2)))
    return Declarations(functions, callbacks, structs)


# ------------------------------------------------------------ the compiled module's extras
#: Declarations only the compiled module has: C shims that return a status and
#: a value in one C call (no out-parameter allocation, no second call between
#: which Python code could run), and the Python trampoline.
COMPILED_CDEF = """
const char *mylib_py_message(int status);
void *mylib_py_library_address(void);
int mylib_py_process(long long key, int value);
extern "Python" long long mylib_py_callback(long long key, int value);
"""

#: C code of the shims (``ffi.set_source``).
COMPILED_SOURCE = r"""
#include <limits.h>
#include <stdint.h>
#include "mylib.h"

/* The message of the call that just returned `status` on this thread: read in
   the same C call as the code, so no Python code can run in between; the
   static description when the slot holds another code. */
static const char *mylib_py_message(int status) {
    return mylib_last_error() == status ? mylib_last_error_message() : mylib_status_str(status);
}

/* The callback path: mylib_process calls mylib_py_trampoline, which hands the
   key of the Python call in progress (user_data) and the value to the
   extern "Python" function (plain integers: no pointer objects to create) and
   writes its result, or fails when it returns a value below any C int (an
   exception, stored by Python for process() to raise). */
static long long mylib_py_callback(long long key, int value);

static int mylib_py_trampoline(void *user_data, int value, int *result_out) {
    long long r = mylib_py_callback((long long)(intptr_t)user_data, value);
    if (r < INT_MIN || r > INT_MAX) {
        return 1;
    }
    *result_out = (int)r;
    return 0;
}

/* mylib_process with that trampoline, in one call; the result is in the
   Python Call, so only the status comes back. */
static int mylib_py_process(long long key, int value) {
    int result;
    return mylib_process(mylib_py_trampoline, (void *)(intptr_t)key, value, &result);
}

/* Where mylib_version is in the library this module was linked to at load
   time: the package checks it is the copy its loader chose. */
static void *mylib_py_library_address(void) {
    return (void *)&mylib_version;
}
"""

#: The header's ``MYLIB_EXACT_SUM_BYTES``: the size of a serialized exact sum.
EXACT_SUM_BYTES = 288

#: The header's ``MYLIB_PACKED_FAIL_BASE`` (what ``mylib_add_packed`` returns on
#: failure, plus the status), also the failure value of the Python callback.
FAIL_BASE = -(1 << 40)
