"""The shared-library loader ``mylib._loader`` (and ``mylib._names``).

Only absolute paths reach the dynamic loader: ``MYLIB_LIBRARY`` (the only
candidate when set; relative paths resolved against the current directory
explicitly), else the package's own copy (``mylib/libmylib.so.0``), else the
system's (absolute paths from the dynamic loader's cache). Every failure is an
``ImportError`` naming the path and saying what to do.

The planted-library tests build a fake ``libmylib`` whose constructor appends
to a marker file: if any backend ever maps it, the marker exists.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import helpers
from helpers import run_python

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux dynamic loader and /proc/self/maps")

BACKENDS = helpers.BACKEND_MODULES

#: Imports one backend (argv[1]) and prints the outcome and the mylib files mapped.
IMPORT_AND_MAPS = r"""
import importlib, os, sys
try:
    m = importlib.import_module("mylib." + sys.argv[1])
    print("loaded", m.add(2, 3))
except ImportError as e:
    print("ImportError", str(e).replace("\n", " | "))
with open("/proc/self/maps") as f:
    paths = {line.split(None, 5)[5].strip() for line in f if len(line.split(None, 5)) == 6}
for p in sorted(paths):
    base = os.path.basename(p)
    if "mylib" in base and not base.startswith(("_mylib_cffi", "_mylib_capi")):
        print("mapped", p)
"""


@pytest.fixture
def loader():
    """The package's loader module."""
    import mylib._loader

    return mylib._loader


@pytest.fixture
def names():
    """The package's file-name module."""
    import mylib._names

    return mylib._names


# ---------------------------------------------------------------- file names and candidates
@pytest.mark.parametrize(
    "platform, built, bundled",
    [("linux", "libmylib.so", "libmylib.so.0"), ("darwin", "libmylib.dylib", "libmylib.0.dylib"), ("win32", "mylib.dll", "mylib.dll")],
)
def test_file_names_per_platform(names, platform, built, bundled):
    """cargo's file name and the name inside the package (the one the compiled extension needs) per platform."""
    assert names.library_filename(platform) == built
    assert names.bundled_filename(platform) == bundled


def test_candidates_are_the_package_copy_then_the_system(loader, monkeypatch):
    """Without MYLIB_LIBRARY: the package's own copy first, then only absolute system paths."""
    monkeypatch.delenv("MYLIB_LIBRARY", raising=False)
    found = loader.candidates()
    assert found[0] == loader.Candidate("package", os.fspath(helpers.package_dir() / helpers.bundled_library_name()))
    assert all(os.path.isabs(c.path) for c in found), found
    assert all(c.source == "system" for c in found[1:]), found


def test_mylib_library_is_the_only_candidate_and_relative_paths_are_explicit(loader, monkeypatch, tmp_path):
    """MYLIB_LIBRARY is the only candidate; a relative value (even a bare name) is resolved against the current directory."""
    monkeypatch.chdir(tmp_path)
    for value in ("libmylib.so.0", "sub/libmylib.so", os.fspath(tmp_path / "abs.so")):
        found = loader.candidates({"MYLIB_LIBRARY": value})
        assert found == [loader.Candidate("MYLIB_LIBRARY", os.fspath(tmp_path / value))], found


def test_system_candidates_come_from_the_loader_cache_as_absolute_paths(loader, monkeypatch):
    """The system's copies are the ldconfig cache's absolute paths for this architecture; nothing else."""
    cache = textwrap.dedent(
        """\
        3 libs found in cache `/etc/ld.so.cache'
        \tlibmylib.so.0 (libc6,x86-64) => /usr/local/lib/libmylib.so.0
        \tlibmylib.so.0 (libc6,AArch64) => /usr/lib/aarch64-linux-gnu/libmylib.so.0
        \tlibmylib.so.0 (libc6,x86-64) => relative/libmylib.so.0
        \tlibmylib.so (libc6,x86-64) => /usr/lib/libmylib.so
        """
    )

    class Done:
        stdout = cache.encode()

    monkeypatch.setattr(loader.subprocess, "run", lambda *a, **k: Done())
    monkeypatch.setattr(loader._platform_mod, "machine", lambda: "x86_64")
    assert [c.path for c in loader.system_candidates("linux")] == ["/usr/local/lib/libmylib.so.0"]
    monkeypatch.setattr(loader._platform_mod, "machine", lambda: "aarch64")
    assert [c.path for c in loader.system_candidates("linux")] == ["/usr/lib/aarch64-linux-gnu/libmylib.so.0"]


def test_locate_errors_name_the_path_and_say_what_to_do(loader, tmp_path):
    """MYLIB_LIBRARY set to a directory or a missing file: ImportError naming it and saying what to do."""
    with pytest.raises(ImportError, match="is a directory") as ei:
        loader.locate({"MYLIB_LIBRARY": os.fspath(tmp_path)})
    assert os.fspath(tmp_path) in str(ei.value) and "set it to the library file" in str(ei.value)
    missing = os.fspath(tmp_path / "nope.so")
    with pytest.raises(ImportError, match="no such file") as ei:
        loader.locate({"MYLIB_LIBRARY": missing})
    assert missing in str(ei.value) and "unset it" in str(ei.value)


def test_check_version_and_symbols(loader):
    """check_version/check_symbols raise ImportError naming the path and both versions / the missing functions."""
    import mylib

    cand = loader.Candidate("MYLIB_LIBRARY", "/some/libmylib.so")
    with pytest.raises(ImportError) as ei:
        loader.check_version(cand, "99.0.0")
    assert "99.0.0" in str(ei.value) and mylib.__version__ in str(ei.value) and "/some/libmylib.so" in str(ei.value)
    loader.check_version(cand, mylib.__version__)
    with pytest.raises(ImportError, match="lacks mylib_add, mylib_greet"):
        loader.check_symbols(cand, lambda name: not name.startswith(("mylib_add", "mylib_greet")), ["add", "mylib_add", "mylib_greet"])


# ---------------------------------------------------------------- planted libraries
def _c_stub(function) -> str:
    """A C definition of a header function that returns a neutral value."""
    params = ", ".join(f"{p.ctype} {p.name or f'arg{i}'}" for i, p in enumerate(function.params)) or "void"
    if function.restype == "void":
        body = ""
    elif function.name == "mylib_version":
        body = 'return "9.9.9";'
    elif function.restype.endswith("*"):
        body = 'return "";'
    else:
        body = "return 0;"
    return f"{function.restype} {function.name}({params}) {{ {body} }}"


def build_plant(directory: Path, name: str, *, mylib_like: bool = True) -> Path:
    """A shared library ``directory/name`` with SONAME libmylib.so.0 whose
    constructor appends its own path to ``$PLANT_MARKER``; with ``mylib_like``
    it also defines every function of the header (version "9.9.9")."""
    from mylib import _cdef

    directory.mkdir(parents=True, exist_ok=True)
    src = directory / f"{name}.c"
    stubs = ""
    if mylib_like:
        stubs = "\n".join(_c_stub(f) for f in _cdef.declarations(helpers.HEADER.read_text()).functions.values())
    src.write_text(
        '#include <stdio.h>\n#include <stdlib.h>\n#include "mylib.h"\n'
        "__attribute__((constructor)) static void plant(void) {\n"
        '    const char *m = getenv("PLANT_MARKER");\n'
        '    if (m) { FILE *f = fopen(m, "a"); if (f) { fputs("' + os.fspath(directory / name) + '\\n", f); fclose(f); } }\n'
        "}\n" + stubs + "\n"
    )
    out = directory / name
    subprocess.run(
        [os.environ.get("CC", "cc"), "-shared", "-fPIC", "-w", f"-I{helpers.HEADER.parent}", "-Wl,-soname,libmylib.so.0",
         os.fspath(src), "-o", os.fspath(out)],
        check=True,
    )
    src.unlink()
    return out


def copy_package(site: Path, *, with_library: bool) -> Path:
    """A copy of the package under test in ``site/mylib``: its Python files,
    header and compiled extension, with or without its own library."""
    src = helpers.package_dir()
    pkg = site / "mylib"
    shutil.copytree(src, pkg, ignore=shutil.ignore_patterns("__pycache__", "libmylib*", "mylib.dll"))
    if with_library:
        shutil.copy2(src / helpers.bundled_library_name(), pkg / helpers.bundled_library_name())
    return pkg


@pytest.fixture(scope="module")
def plants(tmp_path_factory):
    """Planted libmylib copies everywhere a careless loader would look. Returns
    (root, environment for the child, cwd for the child, script path)."""
    root = tmp_path_factory.mktemp("plants")
    cwd = root / "cwd"
    for name in ("libmylib.so", "libmylib.so.0"):
        build_plant(cwd, name)  # the current directory
        build_plant(root / "on_sys_path", name)  # a directory on sys.path
        build_plant(root / "on_ld_path", name)  # a directory on LD_LIBRARY_PATH
        build_plant(root / "script_dir", name)  # beside the script
        build_plant(root / "above" / "target" / "release", name)  # a checkout-looking layout above the package
        build_plant(root / "above", name)
    (root / "above" / "Cargo.toml").write_text('[package]\nname = "mylib"\n')
    script = root / "script_dir" / "run.py"
    script.write_text(IMPORT_AND_MAPS)
    env = {
        "PYTHONPATH": os.pathsep.join([os.fspath(root / "on_sys_path")]),
        # Empty entries (leading, doubled, trailing) mean the current directory to the dynamic loader.
        "LD_LIBRARY_PATH": f":{root / 'on_ld_path'}::",
        "PLANT_MARKER": os.fspath(root / "marker"),
        "MYLIB_LIBRARY": None,
        "MYLIB_BACKEND": None,
    }
    return root, env, cwd, script


def _run_script(script: Path, backend: str, env: dict, cwd: Path) -> str:
    """Runs the script with exactly the PYTHONPATH given (no checkout package added)."""
    proc = subprocess.run(
        [sys.executable, os.fspath(script), backend], cwd=cwd, env=helpers.subprocess_env(env, checkout_package=False),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


def _backends_of(pkg_dir: Path):
    """The backends a package directory can run here (its extensions built, the interpreter able)."""
    names = [p.name for p in pkg_dir.iterdir()]
    has = {
        "cffi_compiled": any(n.startswith("_mylib_cffi") for n in names),
        "capi": helpers.CAPI_SUPPORTED and any(n.startswith("_mylib_capi") for n in names),
    }
    return [b for b in BACKENDS if has.get(b, True)]


@linux_only
@pytest.mark.parametrize("backend", BACKENDS)
def test_plants_are_never_loaded_by_the_package_under_test(plants, backend):
    """The package under test (checkout copy, or the installed one under MYLIB_TEST_INSTALLED=1) with plants in the
    current directory, beside the script, on sys.path, on LD_LIBRARY_PATH with empty entries: its own library is used."""
    root, env, cwd, script = plants
    if backend not in _backends_of(helpers.package_dir()):
        pytest.skip("the compiled extension is not built")
    marker = Path(env["PLANT_MARKER"])
    marker.unlink(missing_ok=True)
    site_env = dict(env)
    if not helpers.INSTALLED:
        site_env["PYTHONPATH"] = os.pathsep.join([os.fspath(helpers.BINDINGS), env["PYTHONPATH"]])
    out = _run_script(script, backend, site_env, cwd)
    assert not marker.exists(), f"a planted library was loaded: {marker.read_text()}"
    assert out.splitlines() == ["loaded 5", f"mapped {helpers.package_dir() / helpers.bundled_library_name()}"], out


@linux_only
@pytest.mark.parametrize("with_library", [True, False], ids=["with-library", "without-library"])
def test_plants_are_never_loaded_by_a_package_copy(plants, with_library):
    """A copy of the package below a planted checkout layout (Cargo.toml + target/release above it), with and without
    its own library: it loads its own copy or fails with ImportError; never a plant."""
    root, env, cwd, script = plants
    site = root / "above" / "bindings" / ("python" if with_library else "python-nolib")
    if site.exists():
        shutil.rmtree(site)
    pkg = copy_package(site, with_library=with_library)
    marker = Path(env["PLANT_MARKER"])
    for backend in _backends_of(pkg):
        marker.unlink(missing_ok=True)
        site_env = dict(env, PYTHONPATH=os.pathsep.join([os.fspath(site), env["PYTHONPATH"]]))
        out = _run_script(script, backend, site_env, cwd)
        assert not marker.exists(), f"{backend}: a planted library was loaded: {marker.read_text()}"
        lines = out.splitlines()
        if with_library:
            assert lines == ["loaded 5", f"mapped {pkg / helpers.bundled_library_name()}"], (backend, out)
        else:
            assert lines[0].startswith("ImportError") and "was not found" in lines[0], (backend, out)
            assert os.fspath(pkg / helpers.bundled_library_name()) in lines[0], (backend, out)
            assert not [l for l in lines[1:] if l.startswith("mapped")], (backend, out)


# ---------------------------------------------------------------- MYLIB_LIBRARY
def _import_outcome(backend: str, env: dict, cwd: Path | None = None) -> list[str]:
    proc = run_python(IMPORT_AND_MAPS, backend, env=env, cwd=cwd)
    return proc.stdout.decode().splitlines()


@linux_only
@pytest.mark.parametrize("backend", BACKENDS)
def test_mylib_library_copy_is_used_by_every_backend(tmp_path, backend):
    """MYLIB_LIBRARY naming a copy of the library (relative to the current directory) makes the backend use that copy only."""
    if backend not in _backends_of(helpers.package_dir()):
        pytest.skip("the compiled extension is not built")
    copy = tmp_path / "elsewhere" / helpers.bundled_library_name()
    copy.parent.mkdir()
    shutil.copy2(helpers.library_path(), copy)
    lines = _import_outcome(backend, {"MYLIB_LIBRARY": "elsewhere/" + copy.name}, cwd=tmp_path)
    assert lines == ["loaded 5", f"mapped {copy}"], lines


@linux_only
def test_mylib_library_bare_name_is_the_current_directory_not_the_search_path(plants, tmp_path):
    """MYLIB_LIBRARY=libmylib.so.0 with no such file in the current directory: ImportError naming that path; the plant
    on LD_LIBRARY_PATH is not loaded."""
    root, env, _cwd, _script = plants
    marker = Path(env["PLANT_MARKER"])
    marker.unlink(missing_ok=True)
    child_env = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    child_env.update(MYLIB_LIBRARY="libmylib.so.0", LD_LIBRARY_PATH=f":{root / 'on_ld_path'}")
    lines = _import_outcome("ctypes_binding", child_env, cwd=tmp_path)
    assert not marker.exists()
    assert lines[0].startswith("ImportError") and os.fspath(tmp_path / "libmylib.so.0") in lines[0], lines


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", ["directory", "missing", "not-a-library", "not-mylib", "wrong-version"])
def test_mylib_library_mistakes_are_import_errors_that_name_the_path(tmp_path, backend, case):
    """MYLIB_LIBRARY naming a directory, a missing file, a non-library, a library that is not mylib, or a mylib of another
    version: ImportError naming the path and saying what is wrong, on every backend."""
    if backend not in _backends_of(helpers.package_dir()):
        pytest.skip("the compiled extension is not built")
    if case == "directory":
        target, expect = tmp_path, "is a directory"
    elif case == "missing":
        target, expect = tmp_path / "missing.so", "no such file"
    elif case == "not-a-library":
        target, expect = tmp_path / "libmylib.so.0", "could not be loaded"
        target.write_bytes(b"not a shared library")
    elif case == "not-mylib":
        target, expect = build_plant(tmp_path, "libother.so", mylib_like=False), "it is not mylib"
    else:
        target, expect = build_plant(tmp_path, "libmylib.so.0"), "it is mylib 9.9.9, this package is"
    lines = _import_outcome(backend, {"MYLIB_LIBRARY": os.fspath(target)})
    assert lines[0].startswith("ImportError"), lines
    assert os.fspath(target) in lines[0] and expect in lines[0], lines


def test_every_backend_import_failure_is_an_import_error_and_mylib_says_why(tmp_path):
    """With no usable library, ``import mylib`` raises one ImportError listing each backend's reason."""
    proc = run_python(
        """
        try:
            import mylib
        except ImportError as e:
            print("ImportError")
            print(e)
        """,
        env={"MYLIB_LIBRARY": os.fspath(tmp_path / "missing.so")},
    )
    out = proc.stdout.decode()
    assert out.startswith("ImportError\nno mylib backend could be imported"), out
    for name in ("cffi_compiled:", "cffi:", "ctypes:"):
        assert name in out, out
