"""The one loader of the shared library, for every backend.

Only absolute paths ever reach the dynamic loader, from places the user or
the package chose, in this order (the first that exists is used; a file that
exists but fails to load is an error, never silently replaced):

1. ``MYLIB_LIBRARY``: the path of the library file. When set it is the only
   candidate. A relative path is resolved against the current directory,
   explicitly.
2. The package's own copy, ``mylib/libmylib.so.0`` (``pip install`` puts it
   there, and so does ``make`` in a checkout).
3. The system's: on Linux the absolute paths the dynamic loader's cache lists
   (``ldconfig -p``, the directories the administrator configured); on macOS
   ``/usr/local/lib`` and ``/opt/homebrew/lib``.

Never a bare file name (the dynamic loader would resolve it through
``LD_LIBRARY_PATH``, where an empty entry means the current directory), never
the current directory, ``sys.path`` or the script's directory, and never a
location guessed from the directory layout. After loading, the backend checks
that every function of the header is there and that ``mylib_version()`` is
this package's version; any failure is an ``ImportError`` that names the path
and says what to do.
"""

from __future__ import annotations

import os
import platform as _platform_mod
import subprocess
import sys
from pathlib import Path
from typing import Iterable, NamedTuple

from ._names import bundled_filename
from ._version import __version__

_HERE = Path(__file__).resolve().parent

_HELP = (
    "Install the package with pip (it bundles the library), run 'make' in the mylib checkout, "
    "or set MYLIB_LIBRARY to the path of the library file."
)


class Candidate(NamedTuple):
    """A place the loader looks: where it came from, and an absolute path."""

    source: str
    path: str


def _ldconfig_paths(name: str) -> list[str]:
    """Absolute paths of ``name`` in the dynamic loader's cache, for this
    machine's architecture (Linux)."""
    for ldconfig in ("/sbin/ldconfig", "/usr/sbin/ldconfig"):
        if os.access(ldconfig, os.X_OK):
            break
    else:
        return []
    try:
        out = subprocess.run(
            [ldconfig, "-p"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env={"LC_ALL": "C", "LANG": "C"}, timeout=10, check=False,
        ).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.SubprocessError):
        return []
    machine = _platform_mod.machine()
    tag = {"x86_64": "x86-64", "aarch64": "AArch64", "ppc64le": "64bit", "s390x": "64bit"}.get(machine)
    found = []
    for line in out.splitlines():
        entry, sep, path = line.strip().partition(" => ")
        if not sep or entry.split(" ", 1)[0] != name or not os.path.isabs(path):
            continue
        if tag is not None and tag not in entry:
            continue
        found.append(path)
    return found


def system_candidates(platform: str | None = None) -> list[Candidate]:
    """The system's copies, as absolute paths (see the module docstring)."""
    platform = sys.platform if platform is None else platform
    name = bundled_filename(platform)
    if platform.startswith("linux"):
        return [Candidate("system", p) for p in _ldconfig_paths(name)]
    if platform == "darwin":
        return [Candidate("system", os.path.join(d, name)) for d in ("/usr/local/lib", "/opt/homebrew/lib")]
    return []


def candidates(environ: dict[str, str] | os._Environ[str] | None = None) -> list[Candidate]:
    """The places to try, in order: ``MYLIB_LIBRARY`` alone when set, else the
    package's copy and the system's."""
    environ = os.environ if environ is None else environ
    override = environ.get("MYLIB_LIBRARY")
    if override:
        return [Candidate("MYLIB_LIBRARY", os.path.abspath(override))]
    return [Candidate("package", os.fspath(_HERE / bundled_filename())), *system_candidates()]


def locate(environ: dict[str, str] | os._Environ[str] | None = None) -> Candidate:
    """The candidate to load; ``ImportError`` that says what was tried and what to do."""
    environ = os.environ if environ is None else environ
    found = candidates(environ)
    if found[0].source == "MYLIB_LIBRARY":
        cand = found[0]
        raw = environ["MYLIB_LIBRARY"]
        if os.path.isdir(cand.path):
            raise ImportError(
                f"MYLIB_LIBRARY={raw!r} is a directory ({cand.path}); set it to the library file itself, "
                f"e.g. {os.path.join(cand.path, bundled_filename())}"
            )
        if not os.path.isfile(cand.path):
            raise ImportError(
                f"MYLIB_LIBRARY={raw!r}: no such file ({cand.path}); set it to the path of the mylib "
                "library file, or unset it to use the package's copy"
            )
        return cand
    for cand in found:
        if os.path.isfile(cand.path):
            return cand
    tried = "\n".join(f"  {c.source}: {c.path}" for c in found)
    raise ImportError(f"the mylib shared library was not found; tried:\n{tried}\n{_HELP}")


def _what_to_do(cand: Candidate) -> str:
    if cand.source == "MYLIB_LIBRARY":
        return "Point MYLIB_LIBRARY at a build of this mylib version, or unset it to use the package's copy."
    return _HELP


def load_error(cand: Candidate, problem: str) -> ImportError:
    """The ``ImportError`` for a candidate that exists but is unusable."""
    return ImportError(f"cannot use the mylib library {cand.path} ({cand.source}): {problem}. {_what_to_do(cand)}")


def check_symbols(cand: Candidate, has_symbol, functions: Iterable[str]) -> None:
    """Every function of the header must be in the library (``has_symbol(name)``)."""
    missing = [name for name in functions if not has_symbol(name)]
    if missing:
        raise load_error(cand, f"it is not mylib {__version__}: it lacks {', '.join(missing)}")


def check_version(cand: Candidate, found: str) -> None:
    """The library's ``mylib_version()`` must be this package's version."""
    if found != __version__:
        raise load_error(cand, f"it is mylib {found}, this package is {__version__}")


def dll_directory(cand: Candidate):
    """On Windows, lets the library's own directory resolve its dependencies
    (returns a handle to keep); elsewhere ``None``."""
    if sys.platform == "win32":
        return os.add_dll_directory(os.path.dirname(cand.path))
    return None
