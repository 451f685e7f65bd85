"""What setuptools cannot do by itself, for the ``mylib-ffi`` distribution:

- build the Rust library with cargo and bundle it in the package under the
  name the compiled extensions are linked against (``libmylib.so.0``), with
  the header the ctypes and cffi ABI backends read at run time;
- link every compiled extension to that copy alone (RUNPATH ``$ORIGIN``, none
  of the rpaths Python's own link command may carry);
- put the crate (sources, ``build.rs``, ``cbindgen.toml``, ``Cargo.lock``,
  header) into the sdist under ``rust/``, so the sdist builds by itself;
- build ``mylib._mylib_capi`` (the C API backend) on the CPythons its
  limited API admits, and tag the CPython wheel abi3 from the oldest Python
  its extensions serve (cp39 without it, cp311 with it).

The compiled cffi module itself is built by cffi's setuptools integration
(``cffi_modules``).
"""

from __future__ import annotations

import importlib.util
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_build_cffi = _load("_mylib_build_cffi", HERE / "build_cffi.py")
sys.path.insert(0, os.fspath(HERE / "mylib"))  # _names imports _version as a top-level module here
try:
    import _names
    import _version
finally:
    sys.path.pop(0)

CRATE = _build_cffi.CRATE
#: cargo's output for the package build: its own directory (a stripped build,
#: which must not overwrite or invalidate the checkout's target/release).
TARGET_DIR = CRATE / os.environ.get("CARGO_TARGET_DIR", "target/python")
#: The target, when not the host: cargo's own CARGO_BUILD_TARGET, passed on as
#: ``--target`` (cargo then writes under target/<triple>/). With
#: CARGO=cargo-zigbuild it may name a glibc version too, as in
#: ``x86_64-unknown-linux-gnu.2.17`` (how ``make dist`` builds manylinux_2_17);
#: the C compiler for the extensions comes from CC and LDSHARED, as setuptools has it.
CARGO_TARGET = os.environ.get("CARGO_BUILD_TARGET", "")
#: A library built beforehand from the same crate, bundled instead of running
#: cargo (``make dist`` builds the library once per architecture and gives the
#: PyPy build, which runs inside a Debian root without Rust, that very file).
PREBUILT = os.environ.get("MYLIB_PREBUILT_LIBRARY", "")
if PREBUILT:
    LIB_DIR = Path(PREBUILT).resolve().parent
else:
    LIB_DIR = TARGET_DIR / re.sub(r"\.\d+(\.\d+)*$", "", CARGO_TARGET) / "release"
# build_cffi.py (run again by cffi_modules) links against this build.
os.environ["MYLIB_LIB_DIR"] = os.fspath(LIB_DIR)

#: The oldest CPython the package supports: the abi3 floor of a wheel
#: without the C API extension (cffi's compiled module runs on any).
MIN_PYTHON = (3, 9)
CAPI_SOURCE = "capi/mylib_capi.c"


def limited_api_version(source: Path) -> tuple[int, int]:
    """The (major, minor) of the ``#define Py_LIMITED_API 0x030B0000`` in a C source."""
    m = re.search(r"^#define\s+Py_LIMITED_API\s+0x([0-9A-Fa-f]{8})\b", source.read_text(encoding="utf-8"), re.M)
    if m is None:
        sys.exit(f"{source}: no '#define Py_LIMITED_API 0x...': it must use the limited API (abi3)")
    value = int(m.group(1), 16)
    return value >> 24, (value >> 16) & 0xFF


def _stable_abi() -> bool:
    """CPython with a stable ABI: not PyPy, not a debug or free-threaded build."""
    return (
        platform.python_implementation() == "CPython"
        and not hasattr(sys, "gettotalrefcount")
        and not sysconfig.get_config_var("Py_GIL_DISABLED")
    )


CAPI_PYTHON = limited_api_version(HERE / CAPI_SOURCE)
#: Whether this build has ``mylib._mylib_capi``: on the CPythons its limited
#: API version admits. The wheel's abi3 floor follows (see _options).
WITH_CAPI = _stable_abi() and sys.version_info[:2] >= CAPI_PYTHON

#: The compiled extensions, all linked to the bundled library the same way
#: (build_cffi.link_options): cffi's, and the setuptools Extensions of EXT_MODULES.
CFFI_MODULES = ["build_cffi.py:ffibuilder"]
EXT_MODULES = [
    Extension(
        "mylib._mylib_capi",
        sources=[CAPI_SOURCE],
        py_limited_api=True,
        extra_compile_args=["-std=c99", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-missing-field-initializers"]
        if os.name == "posix"
        else [],
        **_build_cffi.link_options(LIB_DIR),
    )
] if WITH_CAPI else []

#: What of the crate the sdist carries (paths relative to the crate root):
#: what ``cargo rustc --lib`` reads, and the header.
CRATE_FILES = ["Cargo.toml", "Cargo.lock", "build.rs", "cbindgen.toml", "include/mylib.h"]
CRATE_DIRS = ["src"]


def cargo_build() -> Path:
    """Builds the shared library (release profile, locked dependencies,
    symbols stripped), or takes MYLIB_PREBUILT_LIBRARY's; returns its path."""
    cargo_toml = (CRATE / "Cargo.toml").read_text(encoding="utf-8")
    crate_version = re.search(r'^version = "([^"]+)"', cargo_toml, re.M).group(1)
    if crate_version != _version.__version__:
        sys.exit(f"version mismatch: Cargo.toml {crate_version}, mylib/_version.py {_version.__version__}")
    if PREBUILT:
        lib = Path(PREBUILT).resolve()
        if lib.name != _names.library_filename() or not lib.is_file():
            sys.exit(f"MYLIB_PREBUILT_LIBRARY={PREBUILT}: not a file named {_names.library_filename()} (cargo's name for the library)")
        return lib
    cargo = os.environ.get("CARGO", "cargo")
    env = dict(os.environ, CARGO_TARGET_DIR=os.fspath(TARGET_DIR), CARGO_PROFILE_RELEASE_STRIP="symbols")
    env.pop("CARGO_BUILD_TARGET", None)  # given as --target (cargo itself would refuse a glibc suffix)
    target = ["--target", CARGO_TARGET] if CARGO_TARGET else []
    try:
        subprocess.run(
            [cargo, "rustc", "--release", "--lib", "--locked", "--crate-type", "cdylib", *target], cwd=CRATE, env=env, check=True
        )
    except FileNotFoundError:
        sys.exit(f"building mylib needs Rust's cargo, and {cargo!r} was not found: install Rust from https://rustup.rs")
    except subprocess.CalledProcessError as exc:
        sys.exit(f"cargo failed to build the mylib library (exit status {exc.returncode})")
    return LIB_DIR / _names.library_filename()


class BuildPy(build_py):
    """build_py, plus the Rust library and the header in the package."""

    def run(self):
        lib = cargo_build()
        super().run()
        dest = Path(self.build_lib) / "mylib"
        dest.mkdir(parents=True, exist_ok=True)
        # The SONAME (macOS: install name), which the extensions' dependency names.
        shutil.copy2(lib, dest / _names.bundled_filename())
        (dest / "include").mkdir(exist_ok=True)
        shutil.copy2(CRATE / "include" / "mylib.h", dest / "include" / "mylib.h")


def _is_rpath(arg: str) -> bool:
    return arg.startswith(("-Wl,-rpath", "-Wl,-R", "-R"))


class BuildExt(build_ext):
    """build_ext after the Rust library is built; no rpath but the extensions' own."""

    def run(self):
        cargo_build()
        super().run()

    def build_extensions(self):
        # Python's LDSHARED may carry -Wl,-rpath,<its own lib dir> (pyenv,
        # some distributions): it would come before $ORIGIN in the RUNPATH.
        for attr in ("linker_so", "linker_so_cxx"):
            command = getattr(self.compiler, attr, None)
            if command:
                setattr(self.compiler, attr, [arg for arg in command if not _is_rpath(arg)])
        super().build_extensions()


_TARGET_TABLE = re.compile(r"\[\[(bin|example|test|bench)\]\]\s*(#.*)?")
_AUTO_KEY = re.compile(r"auto(bins|examples|tests|benches)\s*=")


def lib_only_manifest(text: str) -> str:
    """``Cargo.toml`` for building the library alone, as the sdist carries it:
    without the ``[[bin]]``/``[[example]]``/``[[test]]``/``[[bench]]`` tables
    and with their auto-discovery off (their files are not in the sdist, and
    cargo refuses a manifest that names a missing target). What the library
    is built from — package, dependencies, features, profiles, lints — is
    kept as written. ``cargo package`` normalises a manifest the same way."""
    out = ["# The mylib crate's Cargo.toml for the library alone (made by setup.py's sdist).\n"]
    skipping = False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("["):
            skipping = _TARGET_TABLE.fullmatch(stripped) is not None
        if skipping or _AUTO_KEY.match(stripped):
            continue
        out.append(line)
        if stripped == "[package]":
            out.append("autobins = false\nautoexamples = false\nautotests = false\nautobenches = false\n")
    return "".join(out)


class Sdist(sdist):
    """sdist, plus the crate (for the library alone) under ``rust/``."""

    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        dest = Path(base_dir) / "rust"
        paths = [CRATE / f for f in CRATE_FILES]
        for d in CRATE_DIRS:
            paths += sorted(p for p in (CRATE / d).rglob("*") if p.is_file())
        for path in paths:
            target = dest / path.relative_to(CRATE)
            target.parent.mkdir(parents=True, exist_ok=True)
            if path.name == "Cargo.toml":
                target.write_text(lib_only_manifest(path.read_text(encoding="utf-8")), encoding="utf-8")
            else:
                shutil.copy2(path, target)


def _options() -> dict:
    """An abi3 wheel on CPython (not on PyPy, debug or free-threaded builds,
    which have no stable ABI), for every CPython from the newest limited API
    version its extensions use: cp39 without the C API extension, its own
    (cp311) with it. pip picks the most specific one that fits."""
    if not _stable_abi():
        return {}
    floor = max(MIN_PYTHON, CAPI_PYTHON) if WITH_CAPI else MIN_PYTHON
    return {"bdist_wheel": {"py_limited_api": f"cp{floor[0]}{floor[1]}"}}


setup(
    cmdclass={"build_py": BuildPy, "build_ext": BuildExt, "sdist": Sdist},
    cffi_modules=CFFI_MODULES,
    ext_modules=EXT_MODULES,
    options=_options(),
)
