#!/usr/bin/env bash
# What can be checked of a macOS build without a macOS SDK (no linker): the
# static library, which needs none.
# - Its mylib object defines exactly the committed list of C functions
#   (tests/exported-symbols.txt; Mach-O prefixes C names with "_") and nothing
#   else with a C name besides Rust's rust_eh_personality.
# - It takes C's stdout from Apple's libc symbol __stdoutp (Mach-O
#   "___stdoutp"); Apple's libc has no "stdout" symbol, so a reference to it
#   would fail only at the user's link.
#   usage: check_staticlib.sh LIBMYLIB.A EXPECTED_LIST
set -euo pipefail
lib=$1 expected=$2
NM=${NM_MACHO:-llvm-nm}

# nm prints "<archive>(<member>):" before each member's symbols; mylib's own
# code is in the member named mylib-<hash>.mylib.<...>.o.
in_mylib='/:$/ {m = ($0 ~ /\(mylib-[0-9a-f]+\.mylib\./); next} m'
# (llvm-nm exits non-zero for the archive's symbol-less members: its output is
# what is checked, and an empty one fails below.)
defined=$({ "$NM" -g --defined-only "$lib" 2>/dev/null || true; } | awk "$in_mylib"' && NF == 3 && $2 == "T" {print $3}')
[ -n "$defined" ] || { echo "$lib: no mylib object member with defined functions" >&2; exit 1; }
# C names: not Rust-mangled (legacy __ZN..., v0 __R...), not Rust's own.
c_names=$(grep -Ev '^(__ZN|__R|_rust_eh_personality$)' <<<"$defined" | sed 's/^_//' | sort)
if ! diff -u <(grep -v '^#' "$expected" | sort -u) <(echo "$c_names"); then
  echo "C functions defined in $lib differ from $expected (- expected, + actual)" >&2
  exit 1
fi

undefined=$({ "$NM" -u "$lib" 2>/dev/null || true; } | awk "$in_mylib"' {print $NF}' | sort -u)
grep -qx '___stdoutp' <<<"$undefined" || { echo "$lib does not take stdout from __stdoutp" >&2; exit 1; }
if grep -qx '_stdout' <<<"$undefined"; then echo "$lib references _stdout, which Apple's libc lacks" >&2; exit 1; fi
echo "staticlib: $(wc -l <<<"$c_names") C functions, all listed; stdout from ___stdoutp ($(basename "$(dirname "$(dirname "$lib")")"))"
