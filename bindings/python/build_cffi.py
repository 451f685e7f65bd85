"""Builds ``mylib._mylib_cffi``, the compiled (API-mode) cffi extension, and
says how every compiled extension of the package links the Rust library.

Used by the package build (setup.py: ``cffi_modules`` and ``link_options``)
and by ``make`` in a checkout (``python build_cffi.py --inplace``). The
declarations are the header's own, plus the C shims and the ``extern
"Python"`` trampoline of ``mylib/_cdef.py``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import cffi

HERE = Path(__file__).resolve().parent


def crate_dir() -> Path:
    """The Rust crate: ``rust/`` in an sdist (setup.py's sdist puts a copy
    there), else the checkout's root, two levels up."""
    for candidate in (HERE / "rust", HERE.parent.parent):
        if (candidate / "Cargo.toml").is_file() and (candidate / "include" / "mylib.h").is_file():
            return candidate
    sys.exit(f"build_cffi: the mylib crate is neither in {HERE / 'rust'} (an sdist) nor in {HERE.parent.parent} (a checkout)")


CRATE = crate_dir()
HEADER_DIR = CRATE / "include"
#: Where the library to link is: setup.py sets MYLIB_LIB_DIR to its cargo
#: build; ``make`` builds it in the checkout's target/release.
LIB_DIR = Path(os.environ.get("MYLIB_LIB_DIR", CRATE / "target" / "release"))


def link_options(lib_dir: Path = LIB_DIR) -> dict:
    """What every compiled extension of the package needs to link
    ``libmylib``: the header and the library; on Linux, a RUNPATH of
    ``$ORIGIN`` (the library sits next to the extension in the package; setup.py
    drops the rpath Python's own link command may carry, so it is the only
    one), no debug info, and libc as a direct dependency even when the
    extension calls nothing in it (PyPy's cffi module): auditwheel tells glibc
    from musl by an extension's own NEEDED entries."""
    options = {
        "include_dirs": [os.fspath(HEADER_DIR)],
        "library_dirs": [os.fspath(lib_dir)],
        "libraries": ["mylib"],
    }
    if sys.platform.startswith("linux"):
        options["extra_link_args"] = ["-Wl,-rpath,$ORIGIN", "-Wl,--strip-debug", "-Wl,--no-as-needed", "-lc"]
    return options


def _load(name: str):
    """A module of the package, loaded without importing the package (which
    would load the library)."""
    spec = importlib.util.spec_from_file_location(f"_mylib_build_{name}", HERE / "mylib" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_cdef = _load("_cdef")

ffibuilder = cffi.FFI()
ffibuilder.cdef(_cdef.cdef_from_header((HEADER_DIR / "mylib.h").read_text(encoding="utf-8")) + _cdef.COMPILED_CDEF)
ffibuilder.set_source("mylib._mylib_cffi", _cdef.COMPILED_SOURCE, **link_options())

if __name__ == "__main__":
    if "--inplace" in sys.argv:
        tmp = CRATE / "target" / "cffi"
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
        print(f"built {dest.relative_to(CRATE)}")
    else:
        ffibuilder.compile(verbose=True)
