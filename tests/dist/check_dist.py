#!/usr/bin/env python3
"""Checks the Python distributions ``make dist`` built, as a package index and
a user would see them.

    check_dist.py --repo ROOT [TOOLS] [RELEASE] DIST_FILE...   checks each file,
                     and that together they are the release RELEASE describes
    check_dist.py --repo ROOT [TOOLS] --zig PATH --self-test DIST_FILE...
                     makes broken copies of each good file and checks that
                     each is refused, for the reason expected

TOOLS: --auditwheel PATH, --abi3audit PATH. RELEASE: --manylinux TAG (e.g.
manylinux_2_17), --arch ARCH for each architecture with CPython wheels,
--pypy TAG (e.g. pp311) and --pypy-arch ARCH for each with a PyPy wheel.

A wheel (Linux) passes when:
- its platform tags are one manylinux tag for one architecture (with its
  legacy alias: manylinux2014 is manylinux_2_17), the one of --manylinux, and
  ``auditwheel show`` says it is consistent with exactly that tag (nothing
  left to repair, nothing mis-tagged);
- every ELF file in it is for the wheel's architecture and needs no ``GLIBC_``
  symbol version above the tag's glibc (a newer build machine leaks its
  symbols through weak references: auditwheel is not the only judge);
- an abi3 wheel passes ``abi3audit``: its extensions use the limited API only,
  of no Python newer than its tag;
- it carries one copy of the library, ``mylib/libmylib.so.0`` (its SONAME),
  next to the extensions, and no directory of grafted libraries;
- every extension needs ``libmylib.so.0`` with a RUNPATH of ``$ORIGIN`` only,
  the library has no RPATH/RUNPATH, and no shipped ELF file has debug sections;
- a CPython wheel is ``cp39-abi3`` with ``.abi3.so`` extensions;
- the header is the repository's, and the metadata has the licence expression
  and both licence files, equal to the repository's;
- it carries the Spark jar ``mylib/jars/mylib-spark.jar``, equal to the one
  make built, when the release has one (``--spark-jar PATH``: a JDK was
  there), and no jar at all when it has none (``--spark-jar none``).

The release passes when it has one sdist; for each --arch, one cp39-abi3 wheel
and one with the C API module's abi3 floor (cp311); for each --pypy-arch one
--pypy wheel; and the wheels of one architecture carry the same library file.

An sdist passes when it has the Python package, the extensions' build script
and C source, the licences, and the crate: every file of ``src/``,
``Cargo.lock``, ``build.rs``, ``cbindgen.toml`` and the header equal to the
repository's, and a ``Cargo.toml`` that cargo reads as the repository's
library (name, version, edition, dependencies, features, library targets) and
nothing else; the Spark jar as a wheel must have it; and no build output.
"""

from __future__ import annotations

import argparse
import base64
import email.parser
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

DIST_NAME = "mylib-ffi"
LIB = "libmylib.so.0"
LICENCE_FILES = ("LICENSE-MIT", "LICENSE-APACHE")
LICENCE_EXPRESSION = "MIT OR Apache-2.0"
#: Copied as they are; Cargo.toml is the library-only form (checked through cargo).
CRATE_FILES = ("Cargo.lock", "build.rs", "cbindgen.toml", "include/mylib.h")
ELF_MAGIC = b"\x7fELF"
#: The oldest CPython the package serves (the cffi module's abi3 floor).
MIN_PYTHON = (3, 9)
CAPI_SOURCE = "bindings/python/capi/mylib_capi.c"
CAPI_EXTENSION = "mylib/_mylib_capi"
#: mylib.spark's JVM aggregate (built by make from bindings/spark when a JDK is there).
SPARK_JAR = "mylib/jars/mylib-spark.jar"


def capi_python(repo: Path) -> tuple[int, int]:
    """The limited API version of the C API module's source (its Py_LIMITED_API)."""
    m = re.search(r"^#define\s+Py_LIMITED_API\s+0x([0-9A-Fa-f]{8})\b", (repo / CAPI_SOURCE).read_text(), re.M)
    if m is None:
        raise SystemExit(f"{CAPI_SOURCE}: no '#define Py_LIMITED_API 0x...'")
    value = int(m.group(1), 16)
    return value >> 24, (value >> 16) & 0xFF


def cp_tag(version: tuple[int, int]) -> str:
    return f"cp{version[0]}{version[1]}"


class Problems(list):
    """The problems found in one file."""

    def check(self, ok: bool, message: str) -> bool:
        if not ok:
            self.append(message)
        return ok


# ---------------------------------------------------------------- ELF, through readelf
def _readelf(args: list[str], path: Path) -> str:
    return subprocess.run(["readelf", "-W", *args, str(path)], check=True, capture_output=True, text=True).stdout


def dynamic_entries(path: Path) -> dict[str, list[str]]:
    """``readelf -d``: tag name (NEEDED, SONAME, RPATH, RUNPATH) -> values."""
    entries: dict[str, list[str]] = {}
    for line in _readelf(["-d"], path).splitlines():
        m = re.match(r"\s*0x[0-9a-f]+\s+\((\w+)\)\s+.*?\[(.*)\]\s*$", line)
        if m:
            entries.setdefault(m.group(1), []).append(m.group(2))
    return entries


#: readelf's name of each wheel architecture's ELF machine.
ELF_MACHINES = {"x86_64": "Advanced Micro Devices X86-64", "aarch64": "AArch64", "i686": "Intel 80386"}


def elf_machine(path: Path) -> str:
    """The ``Machine:`` of ``readelf -h``."""
    m = re.search(r"^\s*Machine:\s*(.+?)\s*$", _readelf(["-h"], path), re.M)
    return m.group(1) if m else "?"


def glibc_versions(path: Path) -> list[tuple[int, ...]]:
    """The ``GLIBC_x.y`` versions the file needs (its version-needs section,
    ``readelf -V``), sorted."""
    text = _readelf(["-V"], path)
    needs = text.split("Version needs section", 1)[1] if "Version needs section" in text else ""
    found = {tuple(int(x) for x in v.split(".")) for v in re.findall(r"Name:\s*GLIBC_(\d+(?:\.\d+)+)\b", needs)}
    return sorted(found)


def debug_sections(path: Path) -> list[str]:
    """Names of the ``.debug*`` / ``.zdebug*`` sections (``readelf -S``)."""
    names = re.findall(r"\]\s+(\.z?debug\S*)", _readelf(["-S"], path))
    return sorted(set(names))


def check_spark_jar(names: list[str], read, spark_jar: Path | None, problems: Problems) -> None:
    """The Spark jar, among the files ``names`` (``read(name)`` gives a file's
    bytes): exactly the one make built, or, for a release built without one
    (``spark_jar`` None), no jar at all."""
    jars = [n for n in names if n.endswith(".jar")]
    if spark_jar is None:
        problems.check(not jars, f"jars in a release built without the Spark jar: {jars}")
        return
    if problems.check(jars == [SPARK_JAR], f"{SPARK_JAR} is missing, or not the only jar: {jars}"):
        problems.check(read(SPARK_JAR) == spark_jar.read_bytes(), f"{SPARK_JAR} differs from the one make built ({spark_jar})")


# ---------------------------------------------------------------- wheels
def parse_wheel_name(name: str) -> tuple[str, str, str, list[str]]:
    """(distribution, python tag, abi tag, platform tags) of a wheel file name."""
    parts = name[: -len(".whl")].split("-")
    if len(parts) not in (5, 6):
        raise ValueError(f"not a wheel file name: {name}")
    return parts[0], parts[-3], parts[-2], parts[-1].split(".")


#: PEP 600 names of the legacy manylinux tags.
LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def parse_manylinux(tag: str) -> tuple[tuple[int, int], str] | None:
    """((glibc major, minor), architecture) of a manylinux platform tag; None for another tag."""
    m = re.fullmatch(r"manylinux_(\d+)_(\d+)_(\w+)", tag)
    if m:
        return (int(m.group(1)), int(m.group(2))), m.group(3)
    m = re.fullmatch(r"(manylinux1|manylinux2010|manylinux2014)_(\w+)", tag)
    if m:
        return LEGACY_MANYLINUX[m.group(1)], m.group(2)
    return None


def canonical(glibc: tuple[int, int], arch: str) -> str:
    return f"manylinux_{glibc[0]}_{glibc[1]}_{arch}"


class Tools:
    """The commands the checks run, and what the release must be."""

    def __init__(self, auditwheel="auditwheel", abi3audit="abi3audit", manylinux=None, zig=None, spark_jar=None):
        self.auditwheel = auditwheel
        self.abi3audit = abi3audit
        #: e.g. "manylinux_2_17": the tag every wheel must have (None: any manylinux tag).
        self.manylinux = manylinux
        self.zig = zig
        #: the Spark jar make built, which every file must carry (None: no file may carry one).
        self.spark_jar = spark_jar


def abi3audit(command: str, wheel: Path, problems: Problems) -> None:
    """abi3audit's verdict on an abi3 wheel: every extension abi3, using only
    the limited API of the Python its tag names."""
    proc = subprocess.run([command, "--report", str(wheel)], capture_output=True, text=True)
    try:
        (spec,) = json.loads(proc.stdout)["specs"].values()
        results = spec["wheel"]
    except (ValueError, KeyError) as exc:
        problems.append(f"abi3audit gave no report (exit {proc.returncode}, {exc!r}): {' '.join(proc.stderr.split())[-300:]}")
        return
    before = len(problems)
    problems.check(bool(results), "abi3audit found no extension to audit")
    for ext in results:
        name, result = ext["name"], ext["result"]
        problems.check(result["is_abi3"], f"abi3audit: {name} is not an abi3 extension")
        problems.check(
            not result["non_abi3_symbols"], f"abi3audit: {name} uses symbols outside the limited API: {', '.join(result['non_abi3_symbols'])}"
        )
        problems.check(
            not result["future_abi3_objects"],
            f"abi3audit: {name} needs the limited API of Python {result['computed']}, newer than the wheel's tag (Python {result['baseline']}): "
            + ", ".join(f"{k} ({v})" for k, v in result["future_abi3_objects"].items()),
        )
    problems.check(proc.returncode == 0 or len(problems) > before, f"abi3audit failed (exit {proc.returncode}) without saying why: {proc.stderr[-300:]}")


def auditwheel_tag(auditwheel: str, wheel: Path, problems: Problems) -> str | None:
    """The platform tag ``auditwheel show`` says the wheel is consistent with."""
    proc = subprocess.run([auditwheel, "show", str(wheel)], capture_output=True, text=True)
    out = " ".join((proc.stdout + proc.stderr).split())
    if not problems.check(proc.returncode == 0, f"auditwheel show failed (exit {proc.returncode}): {out[-300:]}"):
        return None
    m = re.search(r'is consistent with the following platform tag: "([^"]+)"', out)
    if not problems.check(m is not None, f"auditwheel show names no platform tag: {out[:300]}"):
        return None
    return m.group(1)


def check_wheel(wheel: Path, repo: Path, tools: Tools) -> Problems:
    problems = Problems()
    dist, py_tag, abi_tag, plat_tags = parse_wheel_name(wheel.name)
    problems.check(dist == DIST_NAME.replace("-", "_"), f"distribution {dist!r} is not {DIST_NAME}")
    plats = {parse_manylinux(t) for t in plat_tags}
    glibc = arch = None
    if problems.check(None not in plats, f"platform tag {'.'.join(plat_tags)} is not manylinux") and problems.check(
        len(plats) == 1, f"platform tags {'.'.join(plat_tags)} name more than one glibc or architecture"
    ):
        ((glibc, arch),) = plats
        if tools.manylinux is not None:
            problems.check(
                canonical(glibc, arch) == f"{tools.manylinux}_{arch}", f"platform tag {'.'.join(plat_tags)} is not {tools.manylinux}_{arch}"
            )
    tag = auditwheel_tag(tools.auditwheel, wheel, problems)
    if tag is not None:
        problems.check(tag.startswith("manylinux"), f"auditwheel show: consistent with {tag}, not a manylinux tag")
        problems.check(
            glibc is None or tag == canonical(glibc, arch),
            f"auditwheel show: consistent with {tag}, but the wheel is tagged {'.'.join(plat_tags)}",
        )

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with zipfile.ZipFile(wheel) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            zf.extractall(root)
        grafted = sorted({n.split("/")[0] for n in names if n.split("/")[0].endswith(".libs")})
        problems.check(not grafted, f"libraries grafted into {', '.join(grafted)}")
        copies = [n for n in names if PurePosixPath(n).name.startswith("libmylib")]
        problems.check(copies == [f"mylib/{LIB}"], f"the library must be there once, as mylib/{LIB}; found {copies}")

        elves = [n for n in names if (root / n).read_bytes()[:4] == ELF_MAGIC]
        extensions = [n for n in elves if n not in copies]
        problems.check(bool(extensions), "no compiled extension")
        for n in extensions:
            problems.check(
                re.fullmatch(r"mylib/_mylib_(cffi|capi)\.[\w.-]+\.so", n) is not None, f"{n}: not an extension of the package"
            )
        problems.check(any(n.startswith("mylib/_mylib_cffi.") for n in extensions), "no mylib._mylib_cffi extension")
        with_capi = any(n.startswith(CAPI_EXTENSION + ".") for n in extensions)
        for n in elves:
            entries = dynamic_entries(root / n)
            problems.check("RPATH" not in entries, f"{n}: has an RPATH {entries.get('RPATH')}")
            if n in copies:
                problems.check(entries.get("SONAME") == [LIB], f"{n}: SONAME {entries.get('SONAME')} is not {LIB}")
                problems.check("RUNPATH" not in entries, f"{n}: has a RUNPATH {entries.get('RUNPATH')}")
            else:
                problems.check(LIB in entries.get("NEEDED", []), f"{n}: does not need {LIB}")
                problems.check(entries.get("RUNPATH") == ["$ORIGIN"], f"{n}: RUNPATH {entries.get('RUNPATH')} is not $ORIGIN only")
            debug = debug_sections(root / n)
            problems.check(not debug, f"{n}: has debug sections {', '.join(debug)}")
            if arch is not None:
                machine = elf_machine(root / n)
                problems.check(machine == ELF_MACHINES.get(arch), f"{n}: an ELF file for {machine}, in a wheel for {arch}")
                newer = [v for v in glibc_versions(root / n) if v[:2] > glibc]
                problems.check(
                    not newer,
                    f"{n}: needs GLIBC_{'.'.join(map(str, newer[-1])) if newer else ''}, above the glibc {glibc[0]}.{glibc[1]} of its tag",
                )

        if py_tag.startswith("cp"):
            # abi3 from the newest limited API its extensions use.
            floor = cp_tag(max(MIN_PYTHON, capi_python(repo)) if with_capi else MIN_PYTHON)
            problems.check(
                (py_tag, abi_tag) == (floor, "abi3"),
                f"CPython wheel tagged {py_tag}-{abi_tag}, not {floor}-abi3"
                + (f" (it carries {CAPI_EXTENSION}, limited API {cp_tag(capi_python(repo))})" if with_capi else ""),
            )
            for n in extensions:
                problems.check(n.endswith(".abi3.so"), f"{n}: not a limited-API (.abi3.so) extension")
            if abi_tag == "abi3":
                abi3audit(tools.abi3audit, wheel, problems)
        else:
            problems.check(not with_capi, f"{CAPI_EXTENSION} in a {py_tag} wheel: it is for CPython only")

        header = root / "mylib" / "include" / "mylib.h"
        problems.check(
            header.is_file() and header.read_bytes() == (repo / "include" / "mylib.h").read_bytes(),
            "mylib/include/mylib.h is missing or differs from the repository's",
        )
        check_spark_jar(names, lambda n: (root / n).read_bytes(), tools.spark_jar, problems)

        dist_infos = sorted(root.glob("*.dist-info"))
        if problems.check(len(dist_infos) == 1, f"expected one .dist-info, found {len(dist_infos)}"):
            check_metadata(dist_infos[0], repo, problems)
    return problems


def check_metadata(dist_info: Path, repo: Path, problems: Problems) -> None:
    meta = email.parser.Parser().parsestr((dist_info / "METADATA").read_text(encoding="utf-8"))
    problems.check(meta["Name"] == DIST_NAME, f"METADATA Name {meta['Name']!r} is not {DIST_NAME}")
    problems.check(
        meta["License-Expression"] == LICENCE_EXPRESSION,
        f"METADATA License-Expression {meta['License-Expression']!r} is not {LICENCE_EXPRESSION!r}",
    )
    problems.check(meta["License"] is None, "METADATA has the deprecated License field")
    classifiers = meta.get_all("Classifier") or []
    problems.check(not [c for c in classifiers if c.startswith("License ::")], "METADATA has License classifiers")
    problems.check(
        sorted(meta.get_all("License-File") or []) == sorted(LICENCE_FILES),
        f"METADATA License-File {meta.get_all('License-File')} is not {list(LICENCE_FILES)}",
    )
    for name in LICENCE_FILES:
        shipped = dist_info / "licenses" / name
        problems.check(
            shipped.is_file() and shipped.read_bytes() == (repo / name).read_bytes(),
            f"{dist_info.name}/licenses/{name} is missing or differs from the repository's",
        )


# ---------------------------------------------------------------- sdist
def cargo_library(manifest_dir: Path) -> tuple[dict | None, str]:
    """What cargo builds the library from, per ``cargo metadata`` of the
    manifest in ``manifest_dir`` (None and cargo's error when it refuses it).
    ``cargo fetch --locked`` first: metadata passes over targets whose files
    are missing, which a build refuses; fetch reads the manifest as a build
    does, and checks that Cargo.lock fits it."""
    for command in (["fetch", "--offline", "--locked"], ["metadata", "--no-deps", "--offline", "--format-version", "1"]):
        proc = subprocess.run(["cargo", *command], cwd=manifest_dir, capture_output=True, text=True)
        if proc.returncode != 0:
            return None, f"cargo {command[0]}: " + " ".join(proc.stderr.split())[:300]
    (pkg,) = json.loads(proc.stdout)["packages"]
    keep = {"name", "version", "edition", "rust_version", "license", "features", "links"}
    summary = {k: v for k, v in pkg.items() if k in keep}
    summary["dependencies"] = sorted(json.dumps(d, sort_keys=True) for d in pkg["dependencies"] if d["kind"] != "dev")
    summary["targets"] = sorted(
        (t["name"], tuple(t["kind"]), tuple(t["crate_types"]), Path(t["src_path"]).resolve().relative_to(manifest_dir.resolve()).as_posix())
        for t in pkg["targets"]
        if set(t["kind"]) & {"lib", "cdylib", "staticlib", "rlib", "custom-build"}
    )
    summary["other targets"] = sorted(t["name"] for t in pkg["targets"] if not set(t["kind"]) & {"lib", "cdylib", "staticlib", "rlib", "custom-build"})
    return summary, ""


def check_manifest(tf: tarfile.TarFile, top: str, repo: Path, problems: Problems) -> None:
    """The sdist's rust/Cargo.toml builds the repository's library, and nothing else."""
    with tempfile.TemporaryDirectory() as tmp:
        crate = Path(tmp) / "rust"
        members = [m for m in tf.getmembers() if m.name.startswith(f"{top}/rust/") and (m.isfile() or m.isdir())]
        for m in members:
            rel = m.name[len(f"{top}/rust/") :]
            if m.isdir():
                (crate / rel).mkdir(parents=True, exist_ok=True)
            else:
                (crate / rel).parent.mkdir(parents=True, exist_ok=True)
                (crate / rel).write_bytes(tf.extractfile(m).read())
        if not problems.check((crate / "Cargo.toml").is_file(), "rust/Cargo.toml is missing"):
            return
        theirs, error = cargo_library(crate)
        if not problems.check(theirs is not None, f"cargo refuses rust/Cargo.toml: {error}"):
            return
        ours, error = cargo_library(repo)
        if not problems.check(ours is not None, f"cargo refuses the repository's Cargo.toml: {error}"):
            return
        problems.check(not theirs["other targets"], f"rust/Cargo.toml has targets besides the library: {theirs['other targets']}")
        for key in ours:
            if key != "other targets":
                problems.check(ours[key] == theirs[key], f"rust/Cargo.toml: {key} differs from the repository's: {theirs[key]} != {ours[key]}")


def check_sdist(sdist: Path, repo: Path, spark_jar: Path | None) -> Problems:
    problems = Problems()
    with tarfile.open(sdist) as tf:
        members = {m.name: m for m in tf.getmembers()}
        top = sdist.name[: -len(".tar.gz")]
        problems.check(all(n == top or n.startswith(top + "/") for n in members), f"members outside {top}/")

        def content(rel: str) -> bytes | None:
            m = members.get(f"{top}/{rel}")
            return tf.extractfile(m).read() if m is not None and m.isfile() else None

        for rel in ("pyproject.toml", "setup.py", "build_cffi.py", "README.md", "PKG-INFO", "mylib/__init__.py"):
            problems.check(content(rel) is not None, f"{rel} is missing")
        capi = CAPI_SOURCE.split("/", 2)[2]
        problems.check(content(capi) == (repo / CAPI_SOURCE).read_bytes(), f"{capi} is missing or differs from the repository's")
        for name in LICENCE_FILES:
            problems.check(content(name) == (repo / name).read_bytes(), f"{name} is missing or differs from the repository's")
        crate = list(CRATE_FILES) + [p.relative_to(repo).as_posix() for p in sorted((repo / "src").rglob("*")) if p.is_file()]
        for rel in crate:
            problems.check(content(f"rust/{rel}") == (repo / rel).read_bytes(), f"rust/{rel} is missing or differs from the repository's")
        check_manifest(tf, top, repo, problems)
        pkg = [p.name for p in sorted((repo / "bindings" / "python" / "mylib").glob("*.py"))]
        for name in pkg:
            problems.check(content(f"mylib/{name}") is not None, f"mylib/{name} is missing")
        files = [n[len(top) + 1 :] for n, m in members.items() if m.isfile()]
        check_spark_jar(files, content, spark_jar, problems)
        junk = [n for n in members if re.search(r"/target/|\.so(\.\d+)*$|\.pyc$|/__pycache__/", n)]
        problems.check(not junk, f"build output in the sdist: {junk[:5]}")
    return problems


# ---------------------------------------------------------------- self-test
def _rewrite(wheel: Path, out: Path, edit) -> Path:
    """A copy of ``wheel`` at ``out`` after ``edit(extracted_dir)``, with its
    RECORD rewritten: a valid wheel, wrong only in what ``edit`` did."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(root)
        edit(root)
        record = next(root.glob("*.dist-info")) / "RECORD"
        lines = []
        for path in sorted(p for p in root.rglob("*") if p.is_file() and p != record):
            data = path.read_bytes()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            lines.append(f"{path.relative_to(root).as_posix()},sha256={digest},{len(data)}")
        lines.append(f"{record.relative_to(root).as_posix()},,")
        record.write_text("\n".join(lines) + "\n")
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    zf.write(path, path.relative_to(root).as_posix())
    return out


def _extension(root: Path) -> Path:
    return next(p for p in (root / "mylib").glob("_mylib_cffi*.so"))


def _rewrite_sdist(sdist: Path, out: Path, edit) -> Path:
    """A copy of ``sdist`` at ``out`` after ``edit(unpacked_top_dir)``."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with tarfile.open(sdist) as tf:
            tf.extractall(root, filter="data") if hasattr(tarfile, "data_filter") else tf.extractall(root)
        top = root / sdist.name[: -len(".tar.gz")]
        edit(top)
        with tarfile.open(out, "w:gz") as tf:
            tf.add(top, arcname=top.name)
    return out


def _report(what: str, problems: Problems, expected: str) -> bool:
    hit = [p for p in problems if expected in p]
    print(f"self-test: {what}: " + (f"refused ({hit[0]})" if hit else f"NOT REFUSED as expected; problems: {list(problems)}"))
    return bool(hit)


def self_test_sdist(sdist: Path, repo: Path, spark_jar: Path | None) -> int:
    """Each broken copy of a good sdist must be refused for its own reason."""
    baseline = check_sdist(sdist, repo, spark_jar)
    if baseline:
        print(f"self-test: the good sdist {sdist.name} is refused:\n  " + "\n  ".join(baseline), file=sys.stderr)
        return 1

    def build_output(top: Path):
        (top / "rust" / "target" / "release").mkdir(parents=True)
        (top / "rust" / "target" / "release" / "libmylib.so").write_bytes(ELF_MAGIC)

    cases = {
        "no Cargo.lock": (lambda top: (top / "rust" / "Cargo.lock").unlink(), "rust/Cargo.lock is missing"),
        "a test target in Cargo.toml": (
            lambda top: (top / "rust" / "Cargo.toml").write_text((top / "rust" / "Cargo.toml").read_text() + '\n[[test]]\nname = "nomem"\n'),
            "cargo refuses rust/Cargo.toml",
        ),
        "another edition in Cargo.toml": (
            lambda top: (top / "rust" / "Cargo.toml").write_text((top / "rust" / "Cargo.toml").read_text().replace('edition = "2024"', 'edition = "2021"')),
            "rust/Cargo.toml: edition differs",
        ),
        "no build.rs": (lambda top: (top / "rust" / "build.rs").unlink(), "rust/build.rs is missing"),
        "a stale source": (lambda top: (top / "rust" / "src" / "lib.rs").write_text("// stale\n"), "rust/src/lib.rs"),
        "no cffi build script": (lambda top: (top / "build_cffi.py").unlink(), "build_cffi.py is missing"),
        "no C API source": (lambda top: (top / "capi" / "mylib_capi.c").unlink(), "capi/mylib_capi.c is missing"),
        "build output": (build_output, "build output"),
        "a licence missing": (lambda top: (top / "LICENSE-MIT").unlink(), "LICENSE-MIT is missing"),
        **_spark_jar_cases(spark_jar),
    }
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for what, (edit, expected) in cases.items():
            sub = Path(tmp) / what.replace(" ", "_")
            sub.mkdir()
            broken = _rewrite_sdist(sdist, sub / sdist.name, edit)
            failed += not _report(f"sdist, {what}", check_sdist(broken, repo, spark_jar), expected)
    return 1 if failed else 0


def _spark_jar_cases(spark_jar: Path | None) -> dict:
    """Broken copies for the Spark jar, as ``{what: (edit(root), expected)}``
    (``root``: the unpacked wheel, or the sdist's top directory)."""
    if spark_jar is None:
        return {"a stray jar": (lambda r: (r / "mylib" / "jars").mkdir(exist_ok=True) or (r / SPARK_JAR).write_bytes(b"PK"),
                                "jars in a release built without")}
    return {
        "no Spark jar": (lambda r: (r / SPARK_JAR).unlink(), f"{SPARK_JAR} is missing"),
        "another Spark jar": (lambda r: (r / SPARK_JAR).write_bytes(b"PK\x05\x06" + bytes(18)), "differs from the one make built"),
    }


def _zig_library(zig: str | None, arch: str, source: str, out: Path, *link: str) -> None:
    """Builds a shared object from C ``source`` with zig for ``arch`` and glibc 2.28."""
    if zig is None:
        raise SystemExit("self-test: --zig is needed to build the broken ELF files")
    src = out.with_suffix(".c")
    src.write_text(source)
    subprocess.run([zig, "cc", "-target", f"{arch}-linux-gnu.2.28", "-O2", "-shared", *link, "-o", str(out), str(src)], check=True)
    src.unlink()


def self_test(wheel: Path, repo: Path, tools: Tools) -> int:
    """Each broken copy of a good wheel must be refused for its own reason."""
    baseline = check_wheel(wheel, repo, tools)
    if baseline:
        print(f"self-test: the good wheel {wheel.name} is refused:\n  " + "\n  ".join(baseline), file=sys.stderr)
        return 1
    patchelf = shutil.which("patchelf")
    _, py, abi, plats = parse_wheel_name(wheel.name)
    glibc, arch = parse_manylinux(plats[0])
    linux_plat = f"linux_{arch}"
    linux_name = f"{DIST_NAME.replace('-', '_')}-{wheel.name.split('-')[1]}-{py}-{abi}-{linux_plat}.whl"

    def retag_platform(plat: str):
        """Renames to the single platform tag ``plat`` (file name and WHEEL)."""

        def edit(root: Path):
            wheel_file = next(root.glob("*.dist-info")) / "WHEEL"
            text = wheel_file.read_text()
            wheel_file.write_text("\n".join(ln for ln in text.splitlines() if not ln.startswith("Tag:")) + f"\nTag: {py}-{abi}-{plat}\n")

        return f"{DIST_NAME.replace('-', '_')}-{wheel.name.split('-')[1]}-{py}-{abi}-{plat}.whl", edit

    def python_tag(tag: str):
        """Renames to python tag ``tag`` (file name and WHEEL)."""

        def edit(root: Path):
            wheel_file = next(root.glob("*.dist-info")) / "WHEEL"
            wheel_file.write_text(wheel_file.read_text().replace(f"Tag: {py}-", f"Tag: {tag}-"))

        return wheel.name.replace(f"-{py}-", f"-{tag}-"), edit

    def newer_glibc(root: Path):
        # getrandom is GLIBC_2.25: what a library built on a newer system than its tag says needs.
        _zig_library(
            tools.zig, arch, "long getrandom(void *, unsigned long, unsigned int);\n"
            "long mylib_entropy(void *b, unsigned long n) { return getrandom(b, n, 0); }\n",
            root / "mylib" / LIB, "-Wl,-soname," + LIB,
        )

    def outside_limited_api(root: Path):
        # PyUnicode_AsUTF8 is not in the limited API of Python 3.9 (nor of 3.11).
        _zig_library(
            tools.zig, arch, "const char *PyUnicode_AsUTF8(void *);\nconst char *f(void *o) { return PyUnicode_AsUTF8(o); }\n",
            _extension(root),
        )

    other_arch = "aarch64" if arch == "x86_64" else "x86_64"
    other = cp_tag(MIN_PYTHON) if py != cp_tag(MIN_PYTHON) else "cp311"
    cases = {
        "not tagged manylinux": (linux_name, retag_platform(linux_plat)[1], "is not manylinux"),
        "tagged manylinux_2_28": (*retag_platform(f"manylinux_2_28_{arch}"), "auditwheel show: consistent with"),
        f"tagged for {other_arch}": (*retag_platform(canonical(glibc, other_arch)), f"in a wheel for {other_arch}"),
        f"tagged {other}": (*python_tag(other), f"CPython wheel tagged {other}-"),
        "a library that needs glibc 2.25": (wheel.name, newer_glibc, f"needs GLIBC_2.25, above the glibc {glibc[0]}.{glibc[1]}"),
        "a grafted second copy": (
            wheel.name,
            lambda r: (r / "mylib_ffi.libs").mkdir() or shutil.copy2(r / "mylib" / LIB, r / "mylib_ffi.libs" / "libmylib-0123abcd.so.0"),
            "grafted",
        ),
        "the library under the cargo name": (wheel.name, lambda r: (r / "mylib" / LIB).rename(r / "mylib" / "libmylib.so"), "must be there once"),
        "a build directory in the RUNPATH": (
            wheel.name,
            lambda r: subprocess.run([patchelf, "--set-rpath", "/opt/python/lib:$ORIGIN", str(_extension(r))], check=True),
            "is not $ORIGIN only",
        ),
        "debug info": (
            wheel.name,
            lambda r: _zig_library(tools.zig, arch, "int mylib_debug_info(int x) { return x + 1; }\n", r / "mylib" / LIB, "-g", "-Wl,-soname," + LIB),
            "debug sections",
        ),
        "a licence missing": (
            wheel.name,
            lambda r: (next(r.glob("*.dist-info")) / "licenses" / "LICENSE-APACHE").unlink(),
            "licenses/LICENSE-APACHE is missing",
        ),
        "another header": (wheel.name, lambda r: (r / "mylib" / "include" / "mylib.h").write_text("/* stale */\n"), "mylib.h"),
        **{what: (wheel.name, edit, expected) for what, (edit, expected) in _spark_jar_cases(tools.spark_jar).items()},
    }
    if abi == "abi3":
        cases["an extension outside the limited API"] = (wheel.name, outside_limited_api, "uses symbols outside the limited API: PyUnicode_AsUTF8")
    if tools.manylinux is not None:
        cases["tagged manylinux_2_28"] = (*retag_platform(f"manylinux_2_28_{arch}"), f"is not {tools.manylinux}_{arch}")
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for what, (name, edit, expected) in cases.items():
            if patchelf is None and "RUNPATH" in what:
                print(f"self-test: needs patchelf on PATH for {what!r}", file=sys.stderr)
                failed += 1
                continue
            sub = Path(tmp) / what.replace(" ", "_")
            sub.mkdir()
            failed += not _report(f"{wheel.name}, {what}", check_wheel(_rewrite(wheel, sub / name, edit), repo, tools), expected)
    return 1 if failed else 0


def check_set(paths: list[Path], repo: Path, arches: list[str], pypy_tag: str, pypy_arches: list[str]) -> Problems:
    """The release is complete: one sdist; for each architecture one CPython
    abi3 wheel per floor (cp39: the cffi module; the C API module's own); a
    ``pypy_tag`` wheel for each of ``pypy_arches``; and nothing else. The
    wheels of one architecture carry the same library."""
    problems = Problems()
    names = [p.name for p in paths]
    problems.check(sum(n.endswith(".tar.gz") for n in names) == 1, f"expected one sdist in {names}")
    by_arch: dict[str, list[tuple[str, str, Path]]] = {}
    for path in paths:
        if path.name.endswith(".whl"):
            _, py, abi, plats = parse_wheel_name(path.name)
            plat = parse_manylinux(plats[0])
            by_arch.setdefault(plat[1] if plat else plats[0], []).append((py, abi, path))
    floors = sorted({cp_tag(MIN_PYTHON), cp_tag(max(MIN_PYTHON, capi_python(repo)))})
    for arch in sorted(set(arches) | set(pypy_arches) | set(by_arch)):
        wheels = by_arch.get(arch, [])
        cpython = sorted(py for py, abi, _ in wheels if py.startswith("cp") and abi == "abi3")
        expected = floors if arch in arches else []
        problems.check(cpython == expected, f"{arch}: CPython abi3 wheels {cpython}, expected {expected}")
        pypy = sorted(py for py, _, _ in wheels if py.startswith("pp"))
        expected_pypy = [pypy_tag] if arch in pypy_arches else []
        problems.check(pypy == expected_pypy, f"{arch}: PyPy wheels {pypy}, expected {expected_pypy}")
        problems.check(len(wheels) == len(cpython) + len(pypy), f"{arch}: unexpected wheels {sorted(p.name for _, _, p in wheels)}")
        libraries = {}
        for _, _, path in wheels:
            with zipfile.ZipFile(path) as zf:
                if f"mylib/{LIB}" in zf.namelist():
                    libraries[path.name] = hashlib.sha256(zf.read(f"mylib/{LIB}")).hexdigest()[:16]
        problems.check(len(set(libraries.values())) <= 1, f"{arch}: the wheels carry different libraries: {libraries}")
    return problems


def self_test_set(paths: list[Path], repo: Path, arches: list[str], pypy_tag: str, pypy_arches: list[str]) -> int:
    """A good release passes; one wheel short, or a wheel whose library is not
    the one its siblings carry, is refused."""
    baseline = check_set(paths, repo, arches, pypy_tag, pypy_arches)
    if baseline:
        print("self-test: the good release is refused:\n  " + "\n  ".join(baseline), file=sys.stderr)
        return 1
    wheels = sorted(p for p in paths if p.name.endswith(".whl"))
    failed = not _report("release, a wheel short", check_set([p for p in paths if p != wheels[0]], repo, arches, pypy_tag, pypy_arches), "expected")
    with tempfile.TemporaryDirectory() as tmp:
        other = _rewrite(wheels[0], Path(tmp) / wheels[0].name, lambda r: (r / "mylib" / LIB).write_bytes((r / "mylib" / LIB).read_bytes() + b"\0"))
        swapped = [other if p == wheels[0] else p for p in paths]
        failed += not _report("release, another library in one wheel", check_set(swapped, repo, arches, pypy_tag, pypy_arches), "different libraries")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, required=True, help="the repository root (header, licences, crate)")
    parser.add_argument("--auditwheel", default="auditwheel", help="the auditwheel command")
    parser.add_argument("--abi3audit", default="abi3audit", help="the abi3audit command")
    parser.add_argument("--manylinux", help="the tag every wheel must have, e.g. manylinux_2_17")
    parser.add_argument("--arch", action="append", default=[], help="an architecture with CPython wheels (repeat)")
    parser.add_argument("--pypy", default="pp311", help="the PyPy wheels' python tag")
    parser.add_argument("--pypy-arch", action="append", default=[], help="an architecture with a PyPy wheel (repeat)")
    parser.add_argument("--zig", help="zig, to build the broken ELF files of the self-test")
    parser.add_argument("--self-test", action="store_true", help="break copies of each good file given; each must be refused")
    parser.add_argument("--spark-jar", required=True,
                        help="the Spark jar make built, which every file must carry; 'none': no file may carry a jar")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    spark_jar = None if args.spark_jar == "none" else Path(args.spark_jar)
    if spark_jar is not None and not spark_jar.is_file():
        parser.error(f"--spark-jar {spark_jar}: no such file")
    tools = Tools(args.auditwheel, args.abi3audit, args.manylinux, args.zig, spark_jar)
    if args.self_test:
        results = [
            self_test_sdist(path, args.repo, spark_jar) if path.name.endswith(".tar.gz") else self_test(path, args.repo, tools)
            for path in args.files
        ]
        if args.arch:
            results.append(self_test_set(args.files, args.repo, args.arch, args.pypy, args.pypy_arch))
        return 1 if any(results) else 0
    if not args.arch:
        parser.error("--arch: the architectures the release has wheels for")
    failed = 0
    release = check_set(args.files, args.repo, args.arch, args.pypy, args.pypy_arch)
    if release:
        failed += 1
        print("the release: REFUSED\n  " + "\n  ".join(release), file=sys.stderr)
    for path in args.files:
        problems = check_sdist(path, args.repo, tools.spark_jar) if path.name.endswith(".tar.gz") else check_wheel(path, args.repo, tools)
        if problems:
            failed += 1
            print(f"{path.name}: REFUSED\n  " + "\n  ".join(problems), file=sys.stderr)
        else:
            print(f"{path.name}: ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
