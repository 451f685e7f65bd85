#!/usr/bin/env bash
# make install-windows / uninstall-windows, as a packager cross-installing
# for Windows does them (DESTDIR staging):
# - the files: bin/mylib.dll (Windows finds DLLs on PATH, not in lib/),
#   lib/libmylib.dll.a (what -lmylib links), lib/libmylib.a, the header, mylib.pc;
# - an app built with mingw-w64 from pkg-config's flags runs under Wine with
#   only bin/ on its PATH, and statically (no mylib.dll imported) with none;
# - uninstall-windows removes exactly what was installed.
# Wine's environment (WINEPREFIX, ...) comes from mk/windows.mk.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
WIN_CC=${WIN_CC:-x86_64-w64-mingw32-gcc}
OBJDUMP=${WIN_OBJDUMP:-x86_64-w64-mingw32-objdump}
fresh_make() { env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make --no-print-directory -s "$@"; }

stage=$tmp/stage prefix=/opt/mylib-win
fresh_make install-windows DESTDIR="$stage" PREFIX="$prefix" >/dev/null
expect="opt/mylib-win/bin/mylib.dll
opt/mylib-win/include/mylib.h
opt/mylib-win/lib/libmylib.a
opt/mylib-win/lib/libmylib.dll.a
opt/mylib-win/lib/pkgconfig/mylib.pc"
got=$(cd "$stage" && find . -type f -o -type l | sed 's|^\./||' | sort)
[ "$got" = "$expect" ] || { echo "installed files differ:"; diff <(echo "$expect") <(echo "$got"); exit 1; } >&2
cmp "$stage$prefix/include/mylib.h" include/mylib.h

# pkg-config as a cross build uses it: the staged .pc, paths under the sysroot.
export PKG_CONFIG_LIBDIR="$stage$prefix/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$stage"
unset PKG_CONFIG_PATH
test "$(pkg-config --modversion mylib)" = "$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
grep -q "^prefix=$prefix\$" "$stage$prefix/lib/pkgconfig/mylib.pc"
grep -Eq '^Libs.private: .*-lws2_32' "$stage$prefix/lib/pkgconfig/mylib.pc"

mkdir "$tmp/app"
# Dynamic: imports mylib.dll, found through PATH (WINEPATH) in bin/.
"$WIN_CC" -std=c99 -Wall -Wextra -Werror -pedantic tests/install/app.c -o "$tmp/app/app.exe" $(pkg-config --cflags --libs mylib)
# (Whole outputs are read before grep: grep -q closing a pipe early would fail
# the pipeline under pipefail.)
imports() { "$OBJDUMP" -p "$1" | sed -n 's/^\tDLL Name: //p'; }
grep -qx 'mylib.dll' <<<"$(imports "$tmp/app/app.exe")" || { echo "app.exe does not import mylib.dll" >&2; exit 1; }
(cd "$tmp/app" && WINEPATH="$(winepath -w "$stage$prefix/bin" 2>/dev/null)" "${WINE:-wine}" app.exe) | tr -d '\r' | tail -n1
# Without bin/ on PATH the DLL is not found: the check above is not vacuous.
if (cd "$tmp/app" && "${WINE:-wine}" app.exe) >/dev/null 2>&1; then echo "app.exe ran without mylib.dll on PATH" >&2; exit 1; fi

# Static: libmylib.a and the Libs.private system libraries; no mylib.dll.
libdir=$(pkg-config --variable=libdir mylib)
"$WIN_CC" -std=c99 -Wall -Wextra -Werror -pedantic tests/install/app.c -o "$tmp/app/app_static.exe" \
    $(pkg-config --cflags mylib) "$libdir/libmylib.a" $(pkg-config --libs --static mylib | sed 's/-lmylib//; s/-L[^ ]*//')
static_imports=$(imports "$tmp/app/app_static.exe")
[ -n "$static_imports" ] || { echo "no imports read from app_static.exe" >&2; exit 1; }
if grep -qi 'mylib' <<<"$static_imports"; then echo "app_static.exe imports mylib.dll" >&2; exit 1; fi
(cd "$tmp/app" && "${WINE:-wine}" app_static.exe) | tr -d '\r' | tail -n1

fresh_make uninstall-windows DESTDIR="$stage" PREFIX="$prefix"
left=$(find "$stage" -type f -o -type l)
[ -z "$left" ] || { echo "uninstall-windows left: $left" >&2; exit 1; }

# PREFIX unset: mingw-w64's sysroot (checked without installing there).
planned=$(fresh_make -n install-windows DESTDIR="$stage")
grep -q "$stage/usr/x86_64-w64-mingw32/bin/mylib.dll" <<<"$planned" \
  || { echo "install-windows without PREFIX does not target /usr/x86_64-w64-mingw32" >&2; exit 1; }
echo "install-windows: DESTDIR staging, pkg-config, app under Wine (DLL on PATH, and static), uninstall OK"
