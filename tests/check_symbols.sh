#!/usr/bin/env bash
# The shared library exports exactly the committed list of symbols, and every
# exported function is declared in the header.
#   usage: check_symbols.sh LIBRARY HEADER EXPECTED_LIST
set -euo pipefail
lib=$1 header=$2 expected=$3
actual=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBR]$/ {print $3}' | sed 's/@.*//' | sort -u)
if ! diff -u <(grep -v '^#' "$expected" | sort -u) <(echo "$actual"); then
  echo "exported symbols of $lib differ from $expected (- expected, + actual)" >&2
  exit 1
fi
missing=0
for sym in $actual; do
  if ! grep -Eq "[ *]${sym}\(" "$header"; then
    echo "exported but not declared in $header: $sym" >&2
    missing=1
  fi
done
[ "$missing" = 0 ] || exit 1
echo "symbols: $(echo "$actual" | wc -l) exported, all listed and declared"
