"""The one loader of the shared library, for every backend.

Search order (the first that exists is used; later ones are not tried):

1. ``MYLIB_LIBRARY``: a path to the library file. When set, it is the only
   candidate: a wrong path is an error, never silently replaced.
2. The copy bundled in the installed package (``mylib/libmylib.so``).
3. When running from a source checkout: ``<checkout>/target/release``.
4. The system's: ``ctypes.util.find_library("mylib")``, then the bare file
   name, resolved by the dynamic loader's own search path.

The current directory is never searched implicitly. After loading, the
library's ``mylib_version()`` must equal the package version.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from pathlib import Path
from typing import NamedTuple

from ._names import library_filename
from ._version import __version__

_HERE = Path(__file__).resolve().parent
#: The checkout root when the package runs from ``<checkout>/bindings/python``.
_CHECKOUT = _HERE.parent.parent.parent

_HELP = (
    "Build it with 'make' in the mylib checkout, install the package with "
    "'pip install ./bindings/python', or set MYLIB_LIBRARY to the library's path."
)


class Candidate(NamedTuple):
    """A place the loader looks: where it came from, and a path or bare name."""

    source: str
    path: str


def candidates(platform: str | None = None, environ: os._Environ[str] | dict[str, str] | None = None) -> list[Candidate]:
    """The places to try, in order (see the module docstring)."""
    environ = os.environ if environ is None else environ
    override = environ.get("MYLIB_LIBRARY")
    if override:
        return [Candidate("MYLIB_LIBRARY", override)]
    name = library_filename(platform)
    found: list[Candidate] = [Candidate("bundled", os.fspath(_HERE / name))]
    if (_CHECKOUT / "Cargo.toml").is_file():
        found.append(Candidate("checkout", os.fspath(_CHECKOUT / "target" / "release" / name)))
    system = ctypes.util.find_library("mylib")
    if system:
        found.append(Candidate("system", system))
    found.append(Candidate("system", name))
    return found


def _is_bare_name(path: str) -> bool:
    return os.path.basename(path) == path


def find_library() -> Candidate:
    """The first candidate that exists. A bare system name is returned as is
    (the dynamic loader decides). Raises ``OSError`` listing what was tried."""
    tried = []
    for cand in candidates():
        if _is_bare_name(cand.path) and cand.source == "system":
            return cand
        if os.path.isfile(cand.path):
            return cand
        tried.append(f"  {cand.source}: {cand.path} (not found)")
    raise OSError("mylib shared library not found; tried:\n" + "\n".join(tried) + "\n" + _HELP)


def load_ctypes() -> tuple[ctypes.CDLL, Candidate]:
    """Loads the library with ctypes (also done before importing the compiled
    cffi module, whose dependency on ``libmylib.so.0`` the dynamic loader then
    resolves to this same, already loaded copy)."""
    cand = find_library()
    path = cand.path
    if sys.platform == "win32" and not _is_bare_name(path):
        os.add_dll_directory(os.path.dirname(os.path.abspath(path)))
    try:
        lib = ctypes.CDLL(path)
    except OSError as exc:
        tried = "\n".join(f"  {c.source}: {c.path}" for c in candidates())
        raise OSError(f"mylib shared library could not be loaded from {path} ({exc}); candidates:\n{tried}\n{_HELP}") from exc
    return lib, cand


def check_version(found: str, cand: Candidate) -> None:
    """Raises ``OSError`` unless the loaded library is this package's version."""
    if found != __version__:
        raise OSError(
            f"mylib library version mismatch: {cand.path} ({cand.source}) is version {found}, "
            f"the Python package is {__version__}. {_HELP}"
        )
