"""The one cffi declaration source: ``include/mylib.h`` with its preprocessor
lines removed.

cffi cannot parse preprocessor lines, and hand-copying the declarations
would let them drift from the header. So both cffi modes (ABI and compiled
API) read the header itself and drop ``#`` lines and whatever sits inside
``#ifdef __cplusplus`` blocks (the ``extern "C" {`` guard).
"""

from __future__ import annotations

import os
from pathlib import Path

_HERE = Path(__file__).resolve().parent

#: Declarations only the compiled module has: the Python trampoline that
#: ``process`` calls back into (cffi ``extern "Python"``, a ``callback_t``).
COMPILED_EXTRA = 'extern "Python" int _mylib_py_trampoline(int);\n'


def header_path() -> Path:
    """The header to read: the copy bundled in the installed package, else the
    checkout's ``include/mylib.h``."""
    candidates = [_HERE / "include" / "mylib.h", _HERE.parent.parent.parent / "include" / "mylib.h"]
    for path in candidates:
        if path.is_file():
            return path
    tried = ", ".join(os.fspath(p) for p in candidates)
    raise OSError(f"mylib.h not found (tried {tried}); reinstall the mylib package or run 'make' in the checkout")


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
    """The declarations of ``include/mylib.h``, ready for ``ffi.cdef``."""
    return cdef_from_header(header_path().read_text(encoding="utf-8"))
