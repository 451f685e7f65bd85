"""Builds ``mylib._mylib_cffi``, the compiled (API-mode) cffi extension.

Used by ``pip install`` (through setup.py's ``cffi_modules``) and by ``make``
(``python build_cffi.py --inplace``). The declarations are the header's own,
plus the C shims and the ``extern "Python"`` trampoline of ``mylib/_cdef.py``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import cffi

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def _load(name: str):
    """A module of the package, loaded without importing the package (which
    would load the library)."""
    spec = importlib.util.spec_from_file_location(f"_mylib_build_{name}", HERE / "mylib" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_cdef = _load("_cdef")

HEADER_DIR = ROOT / "include"
LIB_DIR = Path(os.environ.get("MYLIB_LIB_DIR", ROOT / "target" / "release"))

ffibuilder = cffi.FFI()
ffibuilder.cdef(_cdef.cdef_from_header((HEADER_DIR / "mylib.h").read_text(encoding="utf-8")) + _cdef.COMPILED_CDEF)
ffibuilder.set_source(
    "mylib._mylib_cffi",
    _cdef.COMPILED_SOURCE,
    include_dirs=[os.fspath(HEADER_DIR)],
    library_dirs=[os.fspath(LIB_DIR)],
    libraries=["mylib"],
    # The library sits next to the extension in the package.
    extra_link_args=["-Wl,-rpath,$ORIGIN"] if sys.platform.startswith("linux") else [],
)

if __name__ == "__main__":
    if "--inplace" in sys.argv:
        tmp = ROOT / "target" / "cffi"
        ffibuilder.compile(tmpdir=os.fspath(tmp), verbose=False)
        import importlib.machinery

        # The temporary directory is shared by interpreters: take this one's build.
        suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
        built = [p for p in (tmp / "mylib").glob("_mylib_cffi*") if p.name.endswith(suffixes)]
        if not built:
            sys.exit("build_cffi: no extension was built")
        newest = max(built, key=lambda p: p.stat().st_mtime)
        dest = HERE / "mylib" / newest.name
        dest.write_bytes(newest.read_bytes())
        print(f"built {dest.relative_to(ROOT)}")
    else:
        ffibuilder.compile(verbose=True)
