#!/usr/bin/env bash
# Instruction counts of the hot kernels, with valgrind's callgrind: a count, not
# a time, so it is the same on a quiet and on a loaded machine. Fails when a
# kernel needs more instructions per element than its vectorized path does
# (e.g. dispatch silently falling back to the scalar loop).
#   usage: check_instructions.sh LIBDIR
set -euo pipefail
cd "$(dirname "$0")/../.."
libdir=$1
if ! command -v valgrind >/dev/null; then echo "instruction counts: valgrind not installed, skipped"; exit 0; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
${CC:-cc} -std=c99 -O2 -Iinclude tests/perf/count.c -o "$tmp/count" -L"$libdir" -lmylib -Wl,-rpath,"$(cd "$libdir" && pwd)"
n=1000000
# One thread: callgrind's --toggle-collect counts only the thread that enters
# the function, so worker threads' instructions would go uncounted (and the
# per-element figure would look better than it is). The one-thread path
# computes the same blocks as the threaded one.
count() {  # instructions executed inside function $1 (inclusive)
  MYLIB_NUM_THREADS=1 valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$1" --collect-atstart=no --toggle-collect="$1" \
    "$tmp/count" $n >/dev/null 2>"$tmp/log.$1"
  sed -n 's/^summary: *//p; s/^totals: *//p' "$tmp/cg.$1" | head -n1
}
f64=$(count mylib_sum_f64)
i32=$(count mylib_sum_i32)
# Per element. Measured here (valgrind runs the AVX2 path: it does not emulate
# AVX-512): f64 2.69, i32 0.59; with MYLIB_KERNEL=portable 11.3 and 2.69.
awk -v f="$f64" -v i="$i32" -v n=$n 'BEGIN {
  pf = f / n; pi = i / n
  printf "instructions per element: mylib_sum_f64 %.2f (limit 4), mylib_sum_i32 %.2f (limit 1.2)\n", pf, pi
  exit !(pf <= 4 && pi <= 1.2)
}'
