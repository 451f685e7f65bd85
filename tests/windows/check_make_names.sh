#!/usr/bin/env bash
# The Makefile's library file names for a platform we cross-build for, as it
# derives them from `uname -s` when rustc is not on PATH (a built tree
# installed by a user without Rust), are the ones rustc gives for that
# platform's target, and the run-time name (DYLIB_SONAME) is the one the
# loader will look for:
#   Windows: the name a program linked with -lmylib imports (from the import
#            library), and the DLL's own export-directory name;
#   macOS:   the install name build.rs gives the dylib (from rustc's link line;
#            linking itself needs the macOS SDK, so it fails here, after printing it).
#   usage: check_make_names.sh RUST_TARGET UNAME_S [PROGRAM.exe DLL]
set -euo pipefail
target=$1 uname_s=$2
cd "$(dirname "$0")/../.."

declare -A mk
# A fresh make: nothing of a calling make's flags or variables.
while IFS="=" read -r k v; do mk[$k]=$v; done < <(env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s --no-print-directory platform-names HAVE_RUSTC=no UNAME_S="$uname_s")
rust_dylib=$(rustc --print file-names --crate-type cdylib --crate-name mylib --target "$target" - </dev/null)
rust_static=$(rustc --print file-names --crate-type staticlib --crate-name mylib --target "$target" - </dev/null)
fail=0
check() { # what, make's, the platform's
  if [ "$2" != "$3" ]; then echo "$uname_s: $1: the Makefile says '$2', $target has '$3'" >&2; fail=1; fi
}
check DYLIB_FILE "${mk[DYLIB_FILE]}" "$rust_dylib"
check STATICLIB_FILE "${mk[STATICLIB_FILE]}" "$rust_static"
case $target in
  *windows*)
    program=$3 dll=$4
    objdump=${WIN_OBJDUMP:-x86_64-w64-mingw32-objdump}
    check "DYLIB_SONAME (imported by $(basename "$program"))" "${mk[DYLIB_SONAME]}" \
      "$("$objdump" -p "$program" | sed -n 's/^\tDLL Name: \(.*mylib.*\)/\1/p')"
    check "DYLIB_SONAME (the DLL's export name)" "${mk[DYLIB_SONAME]}" \
      "$("$objdump" -p "$dll" | sed -n 's/^Name[[:space:]]*[0-9a-f]* \(.*\)/\1/p')"
    check "DYLIB_REAL (installed as)" "${mk[DYLIB_REAL]}" "$rust_dylib"
    ;;
  *apple*)
    link=$(cargo rustc --quiet --release --lib --crate-type cdylib --target "$target" -- --print link-args 2>&1 || true)
    install_name=$(grep -o -- '-install_name,@rpath/[^" ]*' <<<"$link" | awk 'NR == 1' | sed 's|.*@rpath/||')
    check "DYLIB_SONAME (install name)" "${mk[DYLIB_SONAME]}" "$install_name"
    ;;
  *) echo "no run-time name check for $target" >&2; exit 2 ;;
esac
[ "$fail" = 0 ] || exit 1
echo "make names ($uname_s, no rustc) = $target's: ${mk[DYLIB_FILE]} (loaded as ${mk[DYLIB_SONAME]}), ${mk[STATICLIB_FILE]}"
