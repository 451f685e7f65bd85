#!/usr/bin/env bash
# Runs tests/windows/order.c's program (built for one C runtime) under Wine
# with stdout a pipe, and checks the exact bytes: program order, and CRLF
# line ends for mylib's lines too (text mode, the host stream's translation).
#   usage: check_order.sh EXE   (Wine's environment already set)
set -euo pipefail
exe=$1
expected=$'1 printf\r\n2 Hello, two!\r\n3 puts\r\nPoint(4, -5)\r\nHello, five!\r\n6 end\r\n'
got=$(cd "$(dirname "$exe")" && "${WINE:-wine}" "$(basename "$exe")" | od -An -c)
want=$(printf '%s' "$expected" | od -An -c)
if [ "$got" != "$want" ]; then
  echo "$exe: stdout differs (- expected, + actual):" >&2
  diff <(echo "$want") <(echo "$got") >&2 || true
  exit 1
fi
echo "order: $(basename "$exe"): printf and mylib lines in program order through a pipe"
