"""Builds ``mylib._mylib_cffi``, the compiled (API-mode) cffi extension.

Used by ``pip install`` (through setup.py's ``cffi_modules``) and by ``make``
(``python build_cffi.py --inplace``). The declarations are the header's own
(``mylib/_cdef.py``), plus the ``extern "Python"`` trampoline.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cffi

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, os.fspath(HERE / "mylib"))
import _cdef  # noqa: E402  (the package's own module, loaded without importing the package)

sys.path.pop(0)

HEADER_DIR = ROOT / "include"
LIB_DIR = Path(os.environ.get("MYLIB_LIB_DIR", ROOT / "target" / "release"))

ffibuilder = cffi.FFI()
ffibuilder.cdef(_cdef.cdef_from_header((HEADER_DIR / "mylib.h").read_text(encoding="utf-8")) + _cdef.COMPILED_EXTRA)
ffibuilder.set_source(
    "mylib._mylib_cffi",
    '#include "mylib.h"',
    include_dirs=[os.fspath(HEADER_DIR)],
    library_dirs=[os.fspath(LIB_DIR)],
    libraries=["mylib"],
    # The bundled copy sits next to the extension in an installed package.
    extra_link_args=["-Wl,-rpath,$ORIGIN"] if sys.platform.startswith("linux") else [],
)

if __name__ == "__main__":
    if "--inplace" in sys.argv:
        ffibuilder.compile(tmpdir=os.fspath(ROOT / "target" / "cffi"), verbose=False)
        built = sorted((ROOT / "target" / "cffi" / "mylib").glob("_mylib_cffi*"))
        so = [p for p in built if p.suffix in (".so", ".pyd")]
        if not so:
            sys.exit("build_cffi: no extension was built")
        dest = HERE / "mylib" / so[-1].name
        dest.write_bytes(so[-1].read_bytes())
        print(f"built {dest.relative_to(ROOT)}")
    else:
        ffibuilder.compile(verbose=True)
