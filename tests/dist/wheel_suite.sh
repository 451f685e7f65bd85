#!/bin/sh
# A wheel of dist/ installed as a user installs it, then the Python suite
# against it. Runs inside a Debian root (chroot) or, for a root of another
# architecture, on this machine with a qemu-user virtualenv (mk/debian.mk).
#
#   wheel_suite.sh VENV SRC DIST VERSION EXPECTED [--wheel FILE] [--without NAME]... [--only MODULE]... [-- PYTEST_ARGS...]
#
# VENV: a fresh virtualenv (made by the caller) with pip; SRC: a copy of the
# checkout (the suite reads tests/, include/ and CONTRIBUTING.md); DIST: the
# wheels; EXPECTED: the backend `import mylib` must pick. Steps: the suite's
# requirements from PyPI, as wheels (a missing wheel is an error, not a
# source build); mylib-ffi VERSION from DIST alone (no index, wheels
# only: pip must find one whose tags fit, or FILE in place of any installed); `pip check`; `import mylib`
# from / picks EXPECTED; the suite from /, against the installed package (its
# own library for the raw tests too: MYLIB_LIBRARY).
#
# --without NAME: a requirement that has no wheel for this interpreter (on
# PyPy 8.0, whose ABI is pypy311_pp80: numpy, which takes longer to build than
# all of CI, and hypothesis, whose build downloads Rust): it is not installed,
# and the test modules that import it are left out, by name, in the output.
# --only MODULE: that test module of tests/python, not the whole suite.
set -eu
[ $# -ge 5 ] || { echo "usage: wheel_suite.sh VENV SRC DIST VERSION EXPECTED [--wheel FILE] [--without NAME]... [--only MODULE]... [-- PYTEST_ARGS...]" >&2; exit 2; }
venv=$1 src=$2 dist=$3 version=$4 expected=$5
shift 5
wheel= without= only=
while [ $# -gt 0 ]; do
  case $1 in
    --wheel) wheel=$2; shift 2 ;;
    --without) without="$without|$2"; shift 2 ;;
    --only) only="$only $src/tests/python/$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "wheel_suite.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
py=$venv/bin/python
pip() { "$py" -m pip --disable-pip-version-check "$@"; }
for v in MYLIB_LIBRARY MYLIB_BACKEND MYLIB_DEBUG MYLIB_KERNEL PYTHONPATH PYTHONHOME; do unset "$v"; done

"$py" -c 'import sys, platform; print("==", platform.python_implementation(), sys.version.split()[0], "on", platform.machine(), "(" + " ".join(platform.libc_ver()) + ")")'
requirements=$src/tests/python/requirements.txt
without=${without#|}
if [ -n "$without" ]; then
  grep -Ev "^($without)([^A-Za-z0-9_.-]|$)" "$requirements" > "$venv/requirements.txt"
  requirements=$venv/requirements.txt
fi
pip install --quiet --only-binary :all: -r "$requirements"
if [ -n "$wheel" ]; then
  pip install --quiet --no-index --no-deps --force-reinstall "$wheel"
else
  pip install --quiet --no-index --only-binary :all: --find-links "$dist" --no-deps "mylib-ffi==$version"
fi
pip check
"$py" -c 'import importlib.metadata as md; d = md.distribution("mylib-ffi")
print("installed:", d.metadata["Name"], d.version, "(" + " ".join(l[5:] for l in d.read_text("WHEEL").splitlines() if l.startswith("Tag: ")) + ")")'
installed=$("$py" -c 'import importlib.metadata as md; print(md.distribution("mylib-ffi").locate_file(""))')
out=$(cd / && "$py" -c 'import mylib; print(mylib.add(2, 3), mylib.BACKEND)')
echo "from /: import mylib; add(2, 3), BACKEND: $out"
[ "$out" = "5 $expected" ] || { echo "wheel_suite.sh: expected '5 $expected': import mylib did not pick $expected" >&2; exit 1; }

tests=$src/tests/python
if [ -n "$without" ]; then
  modules= left=
  for f in "$tests"/test_*.py; do
    if grep -Eq "^[[:space:]]*(import|from) ($without)([^A-Za-z0-9_]|$)" "$f"; then left="$left $(basename "$f")"; else modules="$modules $f"; fi
  done
  echo "without $(echo "$without" | tr '|' ' '): left out$left"
  set -- $modules "$@"
elif [ -n "$only" ]; then
  set -- $only "$@"
else
  set -- "$tests" "$@"
fi
cd /
MYLIB_TEST_INSTALLED=1 MYLIB_LIBRARY=$installed/mylib/libmylib.so.0 HYPOTHESIS_STORAGE_DIRECTORY=$venv/.hypothesis \
  "$py" -m pytest -q -rs -p no:cacheprovider "$@"
