"""The shared-library loader ``mylib._loader`` (and ``mylib._names``).

Search order: MYLIB_LIBRARY (a path; the only candidate when set), then the
copy bundled in the package directory, then the checkout's target/release
(when running from a checkout), then the system's (find_library, then the
bare file name for the dynamic loader). Never the current directory
implicitly. The loaded library's mylib_version() must equal the package's.

Loader API used here (as the package defines it): ``_names.library_filename(platform)``,
``_loader.candidates(platform, environ) -> [Candidate(source, path)]``,
``_loader.find_library()``, ``_loader.load_ctypes()``, ``_loader.check_version(found, cand)``.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

import helpers
from helpers import run_python

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inspects /proc/self/maps")

# Prints every mapped file whose name mentions mylib, after ``import mylib.<backend>``.
MAPS_SNIPPET = """
import importlib, sys
importlib.import_module("mylib." + sys.argv[1])
with open("/proc/self/maps") as f:
    paths = {line.split(None, 5)[5].strip() for line in f if len(line.split(None, 5)) == 6}
for p in sorted(paths):
    if "mylib" in os.path.basename(p) and "_mylib_cffi" not in p:
        print(p)
"""


def _maps_code(backend: str) -> str:
    return "import os\n" + MAPS_SNIPPET.replace("sys.argv[1]", repr(backend))


@pytest.fixture
def loader():
    """The package's loader module."""
    import mylib._loader

    return mylib._loader


@pytest.fixture
def names():
    """The package's platform file-name module."""
    import mylib._names

    return mylib._names


def _real_library() -> Path:
    return helpers.library_path()


def _available_backends():
    mods = ["ctypes_binding", "cffi_binding"]
    if helpers.compiled_is_built():
        mods.append("cffi_compiled")
    return mods


# ---------------------------------------------------------------- file names
@pytest.mark.parametrize(
    "platform, expected",
    [("linux", "libmylib.so"), ("darwin", "libmylib.dylib"), ("win32", "mylib.dll"), ("freebsd13", "libmylib.so")],
)
def test_library_filename_per_platform(names, monkeypatch, platform, expected):
    """The library's file name per platform: explicit argument and sys.platform mocked."""
    assert names.library_filename(platform) == expected
    monkeypatch.setattr(sys, "platform", platform)
    assert names.library_filename() == expected


@pytest.mark.parametrize("platform, expected", [("linux", "libmylib.so"), ("darwin", "libmylib.dylib"), ("win32", "mylib.dll")])
def test_candidates_use_platform_file_name(loader, monkeypatch, platform, expected):
    """Every non-system candidate path ends with the platform's file name (sys.platform mocked)."""
    monkeypatch.setattr(loader.ctypes.util, "find_library", lambda name: None)
    cands = loader.candidates(platform=platform, environ={})
    assert cands, "no candidates"
    for c in cands:
        assert os.path.basename(c.path) == expected, c
    monkeypatch.setattr(sys, "platform", platform)
    for c in loader.candidates(environ={}):
        assert os.path.basename(c.path) == expected, c


# ---------------------------------------------------------------- search order
def test_mylib_library_is_the_only_candidate(loader, tmp_path):
    """MYLIB_LIBRARY, when set, is the one and only candidate."""
    target = os.fspath(tmp_path / "custom" / "libmylib-custom.so")
    cands = loader.candidates(environ={"MYLIB_LIBRARY": target})
    assert [(c.source, c.path) for c in cands] == [("MYLIB_LIBRARY", target)]


def test_search_order(loader, monkeypatch):
    """Without MYLIB_LIBRARY: bundled copy, then the checkout's target/release, then system (find_library, then bare name)."""
    monkeypatch.setattr(loader.ctypes.util, "find_library", lambda name: "libmylib.so.0")
    name = helpers.platform_library_name()
    cands = loader.candidates(environ={})
    sources = [c.source for c in cands]
    assert sources[0] == "bundled"
    assert Path(cands[0].path) == helpers.package_dir() / name
    rest = cands[1:]
    if not helpers.INSTALLED:
        assert rest[0].source == "checkout"
        assert Path(rest[0].path).resolve() == (helpers.REPO / "target" / "release" / name).resolve()
        rest = rest[1:]
    assert [(c.source, c.path) for c in rest] == [("system", "libmylib.so.0"), ("system", name)]


def test_search_order_without_find_library_result(loader, monkeypatch):
    """When find_library finds nothing, the last candidate is the bare file name for the dynamic loader."""
    monkeypatch.setattr(loader.ctypes.util, "find_library", lambda name: None)
    cands = loader.candidates(environ={})
    assert cands[-1].source == "system"
    assert cands[-1].path == helpers.platform_library_name()
    assert [c.source for c in cands].count("system") == 1


def test_checkout_copy_is_found_when_not_bundled(loader, monkeypatch):
    """Running from the checkout with no bundled copy, find_library picks target/release."""
    if helpers.INSTALLED:
        pytest.skip("only meaningful when running from the checkout")
    monkeypatch.delenv("MYLIB_LIBRARY", raising=False)
    if (helpers.package_dir() / helpers.platform_library_name()).exists():
        pytest.skip("a bundled copy exists in the package directory")
    cand = loader.find_library()
    assert cand.source == "checkout"
    assert Path(cand.path).resolve() == (helpers.REPO / "target" / "release" / helpers.platform_library_name()).resolve()


def test_never_the_current_directory(loader, monkeypatch, tmp_path):
    """With cwd holding a bogus libmylib.so and MYLIB_LIBRARY unset, no candidate points into cwd."""
    for name in ("libmylib.so", "libmylib.dylib", "mylib.dll"):
        (tmp_path / name).write_bytes(b"not a shared library")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MYLIB_LIBRARY", raising=False)
    for c in loader.candidates():
        if c.source == "system" and os.path.basename(c.path) == c.path:
            continue  # a bare name: the dynamic loader's search path, which excludes cwd
        assert os.path.isabs(c.path), c
        assert Path(c.path).resolve().parent != tmp_path.resolve(), c
    found = loader.find_library()
    assert os.path.isabs(found.path) or os.path.basename(found.path) == found.path
    assert not (os.path.isabs(found.path) and Path(found.path).resolve().parent == tmp_path.resolve())


def _copy_package(dest_site: Path, with_header: bool = False, bundled_lib: Path | None = None) -> Path:
    """Copies the package's Python files (no library, no extension) to dest_site/mylib."""
    src = helpers.package_dir()
    pkg = dest_site / "mylib"
    pkg.mkdir(parents=True)
    for f in src.iterdir():
        if f.suffix in (".py", ".typed"):
            shutil.copy2(f, pkg / f.name)
    if bundled_lib is not None:
        shutil.copy2(bundled_lib, pkg / helpers.platform_library_name())
    if with_header:
        (pkg / "include").mkdir()
        shutil.copy2(helpers.HEADER, pkg / "include" / "mylib.h")
    return pkg


@linux_only
def test_never_the_current_directory_end_to_end(tmp_path):
    """A package copy with no bundled library, outside any checkout, run from a cwd with a bogus libmylib.so, never loads it."""
    site = tmp_path / "site"
    _copy_package(site, with_header=True)
    work = tmp_path / "work"
    work.mkdir()
    bogus = work / helpers.platform_library_name()
    bogus.write_bytes(b"not a shared library")
    proc = run_python(
        """
        import os, sys
        try:
            import mylib.ctypes_binding
            outcome = "loaded"
        except OSError as e:
            outcome = "OSError: " + str(e)
        with open("/proc/self/maps") as f:
            maps = f.read()
        print(outcome)
        print("BOGUS-MAPPED" if os.path.abspath("libmylib.so") in maps else "bogus-not-mapped")
        """,
        env={"PYTHONPATH": os.fspath(site), "MYLIB_LIBRARY": None, "LD_LIBRARY_PATH": None, "MYLIB_BACKEND": "ctypes"},
        cwd=work,
    )
    out = proc.stdout.decode()
    assert "bogus-not-mapped" in out, out
    assert os.fspath(bogus) not in out, out
    assert "invalid ELF header" not in out and "file too short" not in out, out


@linux_only
def test_bundled_beats_checkout(tmp_path):
    """In a (fake) checkout layout, the bundled copy is loaded before target/release; without it, target/release."""
    real = _real_library()
    root = tmp_path / "checkout"
    (root / "target" / "release").mkdir(parents=True)
    (root / "Cargo.toml").write_text('[package]\nname = "mylib"\n')
    (root / "include").mkdir()
    shutil.copy2(helpers.HEADER, root / "include" / "mylib.h")
    checkout_lib = root / "target" / "release" / helpers.platform_library_name()
    shutil.copy2(real, checkout_lib)
    site = root / "bindings" / "python"
    pkg = _copy_package(site, bundled_lib=real)
    bundled_lib = pkg / helpers.platform_library_name()
    env = {"PYTHONPATH": os.fspath(site), "MYLIB_LIBRARY": None}
    for backend in ("ctypes_binding", "cffi_binding"):
        mapped = run_python(_maps_code(backend), env=env).stdout.decode().split()
        assert mapped == [os.fspath(bundled_lib)], (backend, mapped)
    bundled_lib.unlink()
    for backend in ("ctypes_binding", "cffi_binding"):
        mapped = run_python(_maps_code(backend), env=env).stdout.decode().split()
        assert mapped == [os.fspath(checkout_lib)], (backend, mapped)


# ---------------------------------------------------------------- MYLIB_LIBRARY
@linux_only
@pytest.mark.parametrize("backend", ["ctypes_binding", "cffi_binding", "cffi_compiled"])
def test_mylib_library_is_loaded(tmp_path, backend):
    """MYLIB_LIBRARY pointing to a copy of the library makes every backend use that copy only."""
    if backend == "cffi_compiled" and not helpers.compiled_is_built():
        pytest.skip("mylib.cffi_compiled is not built (run 'make python')")
    copy = tmp_path / "elsewhere" / "libmylib-copy.so"
    copy.parent.mkdir()
    shutil.copy2(_real_library(), copy)
    mapped = run_python(_maps_code(backend), env={"MYLIB_LIBRARY": os.fspath(copy)}).stdout.decode().split()
    assert mapped == [os.fspath(copy)], mapped


@pytest.mark.parametrize("backend", ["ctypes", "cffi", "cffi_compiled"])
def test_mylib_library_missing_file(tmp_path, backend):
    """MYLIB_LIBRARY naming a missing file: import raises OSError saying what was tried and what to do."""
    if backend == "cffi_compiled" and not helpers.compiled_is_built():
        pytest.skip("mylib.cffi_compiled is not built (run 'make python')")
    missing = os.fspath(tmp_path / "nope" / "libmylib.so")
    proc = run_python(
        """
        try:
            import mylib
        except OSError as e:
            print("OSError")
            print(e)
        except BaseException as e:
            print(type(e).__name__)
            print(e)
        else:
            print("imported", mylib.BACKEND)
        """,
        env={"MYLIB_LIBRARY": missing, "MYLIB_BACKEND": backend},
    )
    out = proc.stdout.decode()
    kind, _, message = out.partition("\n")
    assert kind == "OSError", out
    assert missing in message, message
    assert "MYLIB_LIBRARY" in message, message
    assert "make" in message or "pip install" in message, message


def test_find_library_missing_file_in_process(loader, monkeypatch, tmp_path):
    """find_library raises OSError naming the missing MYLIB_LIBRARY path (no fallback)."""
    missing = os.fspath(tmp_path / "missing.so")
    monkeypatch.setenv("MYLIB_LIBRARY", missing)
    with pytest.raises(OSError) as ei:
        loader.find_library()
    assert missing in str(ei.value)


def test_mylib_library_not_a_library(tmp_path):
    """MYLIB_LIBRARY naming a file that is not a library: OSError naming it, not a crash."""
    bogus = tmp_path / "libmylib.so"
    bogus.write_bytes(b"not a shared library")
    proc = run_python(
        """
        try:
            import mylib
        except OSError as e:
            print("OSError")
            print(e)
        else:
            print("imported")
        """,
        env={"MYLIB_LIBRARY": os.fspath(bogus), "MYLIB_BACKEND": "ctypes"},
    )
    out = proc.stdout.decode()
    assert out.startswith("OSError\n"), out
    assert os.fspath(bogus) in out


# ---------------------------------------------------------------- version check
def test_check_version_mismatch_in_process(loader):
    """check_version raises OSError naming both versions when the library's differs from the package's."""
    import mylib

    cand = loader.Candidate("MYLIB_LIBRARY", "/some/libmylib.so")
    with pytest.raises(OSError) as ei:
        loader.check_version("99.0.0", cand)
    assert "99.0.0" in str(ei.value)
    assert mylib.__version__ in str(ei.value)
    loader.check_version(mylib.__version__, cand)  # equal: no error


@pytest.mark.parametrize("backend", ["ctypes", "cffi", "cffi_compiled"])
def test_version_mismatch_on_import(backend):
    """A library whose mylib_version() differs from the package version makes import raise OSError (package version faked)."""
    if backend == "cffi_compiled" and not helpers.compiled_is_built():
        pytest.skip("mylib.cffi_compiled is not built (run 'make python')")
    # The package's expected version is faked by pre-seeding mylib._version
    # in sys.modules before the package is imported.
    proc = run_python(
        """
        import sys, types
        fake = types.ModuleType("mylib._version")
        fake.__version__ = "99.99.99"
        sys.modules["mylib._version"] = fake
        try:
            import mylib
        except OSError as e:
            print("OSError")
            print(e)
        except BaseException as e:
            print(type(e).__name__)
            print(e)
        else:
            print("imported", mylib.BACKEND)
        """,
        env={"MYLIB_BACKEND": backend},
    )
    out = proc.stdout.decode()
    kind, _, message = out.partition("\n")
    assert kind == "OSError", out
    assert "99.99.99" in message and helpers.header_version() in message, message
