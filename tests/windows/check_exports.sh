#!/usr/bin/env bash
# mylib.dll exports exactly the committed list of functions (what libmylib.so
# exports on Linux, tests/check_symbols.sh), each declared in the header; its
# import library provides an __imp_ entry for each and nothing else; and the
# DLL needs no mingw-w64 runtime DLL (libgcc_s, libwinpthread, libstdc++),
# which a Windows user would not have.
#   usage: check_exports.sh DLL IMPORT_LIBRARY HEADER EXPECTED_LIST
set -euo pipefail
dll=$1 implib=$2 header=$3 expected=$4
OBJDUMP=${WIN_OBJDUMP:-x86_64-w64-mingw32-objdump}
NM=${WIN_NM:-x86_64-w64-mingw32-nm}

want=$(grep -v '^#' "$expected" | sort -u)
dump=$("$OBJDUMP" -p "$dll")
# The export name table: "[Ordinal/Name Pointer] Table" then "\t[   0] name" lines.
exports=$(awk '/^\[Ordinal\/Name Pointer\] Table/ {t = 1; next} t && /^\t\[/ {print $NF; next} t {exit}' <<<"$dump" | sort)
[ -n "$exports" ] || { echo "$dll: no export table found" >&2; exit 1; }
if ! diff -u <(echo "$want") <(echo "$exports"); then
  echo "exports of $dll differ from $expected (- expected, + actual)" >&2
  exit 1
fi
for sym in $exports; do
  grep -Eq "[ *]${sym}\(" "$header" || { echo "exported but not declared in $header: $sym" >&2; exit 1; }
done

imports=$("$NM" -g "$implib" | awk '$2 == "I" && $3 ~ /^__imp_/ {sub(/^__imp_/, "", $3); print $3}' | sort -u)
if ! diff -u <(echo "$want") <(echo "$imports"); then
  echo "__imp_ symbols of $implib differ from $expected (- expected, + actual)" >&2
  exit 1
fi

needed=$(sed -n 's/^\tDLL Name: //p' <<<"$dump")
if grep -i '^lib' <<<"$needed"; then
  echo "$dll needs the mingw-w64 runtime DLLs above: link them statically" >&2
  exit 1
fi
echo "exports: $(wc -l <<<"$exports") in $(basename "$dll") and $(basename "$implib"), all listed and declared; imports only system DLLs: $(tr '\n' ' ' <<<"$needed")"
