#!/usr/bin/env bash
# make install / uninstall, as a user does them:
# 1. PREFIX=<tmp>: pkg-config finds mylib; an app builds with
#    `cc app.c $(pkg-config --cflags --libs mylib)` and runs; statically with
#    `$(pkg-config --cflags --libs mylib-static)`.
# 2. DESTDIR staging: the files land under DESTDIR+PREFIX, symlinks are right,
#    and `make uninstall` removes exactly what was installed.
# 3. Relative install directories are refused.
set -euo pipefail
cd "$(dirname "$0")/../.."
# The make runs below are serial: no jobserver is passed to a script.
unset MAKEFLAGS MFLAGS
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CC=${CC:-cc}

make --no-print-directory -s install PREFIX="$tmp/prefix" >/dev/null
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
pkg-config --exists mylib
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
test "$(pkg-config --modversion mylib)" = "$version"

# Dynamic: the loader finds the library through the SONAME symlink.
$CC -std=c99 -Wall -Wextra -Werror -pedantic tests/install/app.c -o "$tmp/app" $(pkg-config --cflags --libs mylib)
readelf -d "$tmp/app" | grep -q 'NEEDED.*\[libmylib.so.0\]' || { echo "app does not need libmylib.so.0" >&2; exit 1; }
LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/app"

# Static: mylib-static.pc links libmylib.a (as libmylib_static.a) and the
# system libraries it needs.
$CC -std=c99 -Wall -Wextra -Werror -pedantic tests/install/app.c -o "$tmp/app_static" \
    $(pkg-config --cflags --libs mylib-static)
if readelf -d "$tmp/app_static" | grep -q 'libmylib'; then echo "static app still needs libmylib" >&2; exit 1; fi
env -u LD_LIBRARY_PATH "$tmp/app_static"
make --no-print-directory -s uninstall PREFIX="$tmp/prefix"
left=$(find "$tmp/prefix" -type f -o -type l)
[ -z "$left" ] || { echo "uninstall left: $left" >&2; exit 1; }

# DESTDIR staging.
stage="$tmp/stage"
make --no-print-directory -s install DESTDIR="$stage" PREFIX=/usr >/dev/null
expect="usr/include/mylib.h
usr/lib/cmake/mylib/mylibConfig.cmake
usr/lib/cmake/mylib/mylibConfigVersion.cmake
usr/lib/libmylib.a
usr/lib/libmylib.so
usr/lib/libmylib.so.0
usr/lib/libmylib.so.$version
usr/lib/libmylib_static.a
usr/lib/pkgconfig/mylib-static.pc
usr/lib/pkgconfig/mylib.pc"
got=$(cd "$stage" && find . -type f -o -type l | sed 's|^\./||' | sort)
[ "$got" = "$expect" ] || { echo "installed files differ:"; diff <(echo "$expect") <(echo "$got"); exit 1; } >&2
test "$(readlink "$stage/usr/lib/libmylib.so")" = "libmylib.so.0"
test "$(readlink "$stage/usr/lib/libmylib.so.0")" = "libmylib.so.$version"
test "$(readlink "$stage/usr/lib/libmylib_static.a")" = "libmylib.a"
grep -q '^prefix=/usr$' "$stage/usr/lib/pkgconfig/mylib.pc"
grep -Eq '^Libs.private: .*-l' "$stage/usr/lib/pkgconfig/mylib.pc"
make --no-print-directory -s uninstall DESTDIR="$stage" PREFIX=/usr
left=$(find "$stage" -type f -o -type l)
[ -z "$left" ] || { echo "uninstall left: $left" >&2; exit 1; }

# Relative install directories are refused before anything is written.
rel="relative-libdir-$$"
for args in "LIBDIR=$rel" "PREFIX=$rel"; do
  if make --no-print-directory -s install PREFIX="$tmp/p" "$args" 2>"$tmp/rel.err"; then
    rm -rf "$rel"; echo "make install $args succeeded" >&2; exit 1
  fi
  grep -q "'$rel' is not an absolute path" "$tmp/rel.err" || { cat "$tmp/rel.err" >&2; exit 1; }
  [ ! -e "$rel" ] && [ ! -e "$tmp/p" ] || { rm -rf "$rel"; echo "make install $args wrote files" >&2; exit 1; }
done

echo "install: prefix + pkg-config (dynamic and static) + DESTDIR staging + uninstall + relative dirs refused OK"
