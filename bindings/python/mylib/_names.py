"""Per-platform file names of the shared library (no imports beyond the
standard library: the build scripts use this module too)."""

from __future__ import annotations

import sys

try:
    from ._version import __version__
except ImportError:  # loaded as a plain module by the build scripts, outside the package
    from _version import __version__  # type: ignore[no-redef]


def _platform(platform: str | None) -> str:
    return sys.platform if platform is None else platform


def _is_windows(platform: str) -> bool:
    return platform.startswith(("win32", "cygwin", "msys"))


def library_filename(platform: str | None = None) -> str:
    """What cargo names the shared library on ``platform`` (default: this one):
    ``mylib.dll`` on Windows, ``libmylib.dylib`` on macOS, else ``libmylib.so``."""
    platform = _platform(platform)
    if _is_windows(platform):
        return "mylib.dll"
    if platform == "darwin":
        return "libmylib.dylib"
    return "libmylib.so"


def bundled_filename(platform: str | None = None) -> str:
    """The library's name inside the package: the name the compiled extensions
    were linked against (the SONAME ``libmylib.so.0`` on Linux, the install
    name ``libmylib.0.dylib`` on macOS, ``mylib.dll`` on Windows), so the
    dynamic loader resolves their dependency to this very file."""
    platform = _platform(platform)
    major = __version__.split(".")[0]
    if _is_windows(platform):
        return "mylib.dll"
    if platform == "darwin":
        return f"libmylib.{major}.dylib"
    return f"libmylib.so.{major}"
