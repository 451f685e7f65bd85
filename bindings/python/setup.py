"""Build steps setuptools cannot do by itself: build the Rust library with
cargo (release), then bundle it and the header into the package. The compiled
cffi module is built by cffi's own setuptools integration (``cffi_modules``)
against that library."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, os.fspath(HERE / "mylib"))
from _names import bundled_filename, library_filename  # noqa: E402
from _version import __version__  # noqa: E402

sys.path.pop(0)


def cargo_build() -> Path:
    """Builds the release library exactly as ``make`` does (same cargo
    arguments, so neither rebuilds the other's output); returns its path."""
    cargo_toml = (ROOT / "Cargo.toml").read_text(encoding="utf-8")
    crate_version = re.search(r'^version = "([^"]+)"', cargo_toml, re.M).group(1)
    if crate_version != __version__:
        sys.exit(f"version mismatch: Cargo.toml {crate_version}, mylib/_version.py {__version__}")
    cargo = os.environ.get("CARGO", "cargo")
    subprocess.run(
        [cargo, "rustc", "--release", "--lib", "--quiet", "--", "--print", "native-static-libs"],
        cwd=ROOT,
        check=True,
        stderr=subprocess.DEVNULL if os.environ.get("MYLIB_QUIET_CARGO") else None,
    )
    return ROOT / "target" / "release" / library_filename()


class BuildRustThenPy(build_py):
    """build_py + the Rust library and the header bundled into the package."""

    def run(self):
        lib = cargo_build()
        super().run()
        dest = Path(self.build_lib) / "mylib"
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(lib, dest / bundled_filename())  # the name the compiled module needs (its SONAME)
        (dest / "include").mkdir(exist_ok=True)
        shutil.copy2(ROOT / "include" / "mylib.h", dest / "include" / "mylib.h")


class BuildExtAfterRust(build_ext):
    """The cffi extension links against the library: make sure it is built."""

    def run(self):
        cargo_build()
        super().run()


setup(
    cmdclass={"build_py": BuildRustThenPy, "build_ext": BuildExtAfterRust},
    cffi_modules=["build_cffi.py:ffibuilder"],
)
