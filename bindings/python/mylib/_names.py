"""Per-platform file name of the shared library (no imports: setup.py uses it too)."""

from __future__ import annotations

import sys


def library_filename(platform: str | None = None) -> str:
    """The shared library's file name on ``platform`` (default: this one):
    ``mylib.dll`` on Windows, ``libmylib.dylib`` on macOS, else ``libmylib.so``."""
    platform = sys.platform if platform is None else platform
    if platform.startswith(("win32", "cygwin", "msys")):
        return "mylib.dll"
    if platform == "darwin":
        return "libmylib.dylib"
    return "libmylib.so"
