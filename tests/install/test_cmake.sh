#!/usr/bin/env bash
# The CMake package and the pkg-config modules, as CMake users consume them.
# 1. DESTDIR install (PREFIX=/usr): find_package(mylib MAJOR.MINOR CONFIG
#    REQUIRED) builds app_shared (mylib::mylib) and app_static
#    (mylib::mylib_static); both run. app_shared needs the SONAME; app_static
#    needs no libmylib and still runs with the shared library moved away
#    (while app_shared then fails: the control).
# 2. Relocatable: the staged tree moved elsewhere is found and works; so is a
#    package reached through a symlinked directory.
# 3. The version rule (cmake/mylibConfigVersion.cmake.in): the next minor and
#    next major fail with CMake's message; a table of requests against
#    installed versions; a 32-bit consumer is refused.
# 4. An incomplete install is refused with a message naming the missing file.
# 5. pkg-config from CMake (pkg_check_modules) and from cc: mylib.pc for the
#    shared library, mylib-static.pc for the static one.
# 6. make uninstall removes the package, its directory included.
set -euo pipefail
cd "$(dirname "$0")/../.."
# The make runs below are serial: no jobserver is passed to a script.
unset MAKEFLAGS MFLAGS
root=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export CC=${CC:-cc}

fail() { echo "test_cmake: $*" >&2; exit 1; }
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
IFS=. read -r major minor _ <<<"$version"
soname=libmylib.so.$major

# No package registry; which package was found is checked (mylib_DIR.txt), and
# the version table searches only its own prefix.
isolate=(-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)

# configure_and_build SRC BUILD ARGS...: the consumer built; its output in BUILD.log.
configure_and_build() {
  local src=$1 build=$2; shift 2
  { cmake -S "$src" -B "$build" "${isolate[@]}" "$@" && cmake --build "$build"; } >"$build.log" 2>&1 \
    || { tail -n 30 "$build.log" >&2; fail "building $src failed (log above)"; }
}
# CMake wraps its messages: one line, single spaces.
flat() { tr -s ' \n' '  ' <"$1"; }
needs_mylib() { readelf -d "$1" | grep -q "NEEDED.*\[$soname\]"; }

# ------------------------------------------------------------ 1. DESTDIR install
stage=$tmp/stage
make --no-print-directory -s install DESTDIR="$stage" PREFIX=/usr >/dev/null
test -f "$stage/usr/lib/cmake/mylib/mylibConfig.cmake" || fail "mylibConfig.cmake not installed"
test -f "$stage/usr/lib/cmake/mylib/mylibConfigVersion.cmake" || fail "mylibConfigVersion.cmake not installed"
if grep -n "$stage" "$stage/usr/lib/cmake/mylib/"*.cmake; then fail "the package records the DESTDIR path"; fi

build=$tmp/consumer
configure_and_build tests/install/cmake-config "$build" -DCMAKE_PREFIX_PATH="$stage/usr" -DMYLIB_REQUEST="$major.$minor"
test "$(cat "$build/mylib_DIR.txt")" = "$stage/usr/lib/cmake/mylib" || fail "found $(cat "$build/mylib_DIR.txt"), not the staged package"
needs_mylib "$build/app_shared" || fail "app_shared does not need $soname"
if readelf -d "$build/app_static" | grep -q 'NEEDED.*libmylib'; then fail "app_static needs libmylib"; fi
"$build/app_shared" | grep -qx "installed mylib $version works" || fail "app_shared did not run"
"$build/app_static" | grep -qx "installed mylib $version works" || fail "app_static did not run"

# Without the shared library: the static program runs, the shared one cannot.
mkdir "$tmp/aside"
mv "$stage/usr/lib/libmylib.so"* "$tmp/aside/"
env -u LD_LIBRARY_PATH "$build/app_static" >/dev/null || fail "app_static needs the shared library"
if env -u LD_LIBRARY_PATH "$build/app_shared" >/dev/null 2>&1; then fail "app_shared ran without the shared library"; fi
mv "$tmp/aside/"* "$stage/usr/lib/"
echo "cmake: find_package(mylib $major.$minor CONFIG REQUIRED): mylib::mylib needs $soname, mylib::mylib_static needs no libmylib; both run"

# ------------------------------------------------------------ 2. relocation
moved=$tmp/elsewhere/deeper
mkdir -p "$moved"
mv "$stage" "$moved/"
configure_and_build tests/install/cmake-config "$tmp/consumer-moved" -DCMAKE_PREFIX_PATH="$moved/stage/usr"
"$tmp/consumer-moved/app_shared" >/dev/null && "$tmp/consumer-moved/app_static" >/dev/null \
  || fail "the moved package does not work"
ln -s "$moved/stage/usr/lib" "$tmp/liblink"
configure_and_build tests/install/cmake-config "$tmp/consumer-link" -Dmylib_DIR="$tmp/liblink/cmake/mylib"
"$tmp/consumer-link/app_static" >/dev/null || fail "the package reached through a symlink does not work"
mv "$moved/stage" "$tmp/"
echo "cmake: relocatable (moved prefix, symlinked directory)"

# ------------------------------------------------------------ 3. the version rule
# The real package: the next minor (a 0.x minor may break) and the next major fail.
for req in "$major.$((minor + 1))" "$((major + 1)).0"; do
  if cmake -S tests/install/cmake-config -B "$tmp/req-$req" "${isolate[@]}" -DCMAKE_PREFIX_PATH="$stage/usr" \
       -DMYLIB_REQUEST="$req" >"$tmp/req-$req.log" 2>&1; then
    fail "find_package(mylib $req) accepted mylib $version"
  fi
  flat "$tmp/req-$req.log" | grep -q "not accepted: .*/mylibConfig.cmake, version: $version" \
    || { cat "$tmp/req-$req.log" >&2; fail "find_package(mylib $req) failed for another reason"; }
  echo "cmake: find_package(mylib $req CONFIG REQUIRED) fails: $(flat "$tmp/req-$req.log" | grep -o 'compatible with requested version "[^"]*"')"
done

# The rule's table: packages of other versions, written by the same script
# `make install` runs, into a copy of the staged tree.
fake=$tmp/fake
cp -a "$stage" "$fake"
requests_of() { sed -n 's/ -> .*//p' <<<"$1" | paste -sd';' -; }
check_versions() {  # check_versions INSTALLED_VERSION SIZEOF_VOID_P EXPECTED
  local installed=$1 ptr=$2 expected=$3 out=$tmp/versions-$1-$2
  VERSION=$installed CMAKEDIR=/usr/lib/cmake/mylib LIBDIR=/usr/lib INCLUDEDIR=/usr/include \
    DYLIB="$root/target/release/libmylib.so" DYLIB_REAL="libmylib.so.$version" DYLIB_SONAME="$soname" \
    STATICLIB_FILE=libmylib.a LIBS_PRIVATE="$(cat target/release/mylib-libs-private.txt)" \
    cmake/configure-package.sh "$fake/usr/lib/cmake/mylib"
  cmake -S tests/install/cmake-versions -B "$out" "${isolate[@]}" -DMYLIB_PREFIX="$fake/usr" \
    -DMYLIB_TEST_SIZEOF_VOID_P="$ptr" "-DMYLIB_REQUESTS=$(requests_of "$expected")" >"$out.log" 2>&1 \
    || { cat "$out.log" >&2; fail "the version table project failed"; }
  diff -u <(echo "$expected") "$out/versions.txt" >&2 \
    || fail "installed $installed, ${ptr}-byte pointers: find_package results differ (- expected, + actual)"
}
check_versions 0.1.0 8 "0.1 -> found 0.1.0
0.1.0 EXACT -> found 0.1.0
0.1 EXACT -> found 0.1.0
0 -> found 0.1.0
0.0 -> not found
0.1.1 -> not found
0.2 -> not found
1.0 -> not found
0.1...0.3 -> found 0.1.0
0.2...0.3 -> not found
0.0.1...<0.1.0 -> not found"
check_versions 0.1.3 8 "0.1 -> found 0.1.3
0.1.2 -> found 0.1.3
0.1.3 EXACT -> found 0.1.3
0.1 EXACT -> not found
0.1.4 -> not found
0.2 -> not found
0.0.1...0.2 -> found 0.1.3"
check_versions 0.0.3 8 "0.0.3 -> found 0.0.3
0.0.2 -> not found
0.0 -> found 0.0.3
0 -> found 0.0.3
0.1 -> not found"
check_versions 1.4.2 8 "1 -> found 1.4.2
1.0 -> found 1.4.2
1.4 -> found 1.4.2
1.4.3 -> not found
1.5 -> not found
2 -> not found
0.9 -> not found"
check_versions 2.0.0 8 "2 -> found 2.0.0
1.9 -> not found
1.0...3 -> found 2.0.0
1.0...<2 -> not found"
check_versions 0.1.0 4 "0.1 -> not found"
echo "cmake: version rule (Cargo caret: 0.x minor series, >=1 major series; ranges; pointer size) as documented"

# ------------------------------------------------------------ 4. incomplete install
rm "$fake/usr/lib/libmylib.a"
VERSION=$version CMAKEDIR=/usr/lib/cmake/mylib LIBDIR=/usr/lib INCLUDEDIR=/usr/include \
  DYLIB="$root/target/release/libmylib.so" DYLIB_REAL="libmylib.so.$version" DYLIB_SONAME="$soname" \
  STATICLIB_FILE=libmylib.a LIBS_PRIVATE="" cmake/configure-package.sh "$fake/usr/lib/cmake/mylib"
if cmake -S tests/install/cmake-config -B "$tmp/incomplete" "${isolate[@]}" -DCMAKE_PREFIX_PATH="$fake/usr" \
     >"$tmp/incomplete.log" 2>&1; then
  fail "an install without libmylib.a was accepted"
fi
flat "$tmp/incomplete.log" | grep -q "incomplete, missing: [^ ]*/libmylib.a" || { cat "$tmp/incomplete.log" >&2; fail "no message naming libmylib.a"; }
echo "cmake: an incomplete install is refused, naming the missing file"

# ------------------------------------------------------------ 5. pkg-config
prefix=$tmp/prefix
make --no-print-directory -s install PREFIX="$prefix" >/dev/null
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
configure_and_build tests/install/cmake-pkgconfig "$tmp/pc"
needs_mylib "$tmp/pc/app_shared" || fail "pkg_check_modules(mylib): app_shared does not need $soname"
if readelf -d "$tmp/pc/app_static" | grep -q 'NEEDED.*libmylib'; then fail "pkg_check_modules(mylib-static): app_static needs libmylib"; fi
"$tmp/pc/app_shared" >/dev/null && env -u LD_LIBRARY_PATH "$tmp/pc/app_static" >/dev/null || fail "pkg-config apps did not run"
# shellcheck disable=SC2046
$CC -std=c99 -Wall -Wextra -Werror -pedantic tests/install/app.c -o "$tmp/cc_static" $(pkg-config --cflags --libs mylib-static)
if readelf -d "$tmp/cc_static" | grep -q 'NEEDED.*libmylib'; then fail "cc + mylib-static: the program needs libmylib"; fi
env -u LD_LIBRARY_PATH "$tmp/cc_static" >/dev/null
test "$(pkg-config --modversion mylib-static)" = "$version"
echo "pkg-config: pkg_check_modules(mylib) links $soname; pkg_check_modules(mylib-static) and cc \$(pkg-config --libs mylib-static) link libmylib.a"

# ------------------------------------------------------------ 6. uninstall
make --no-print-directory -s uninstall DESTDIR="$stage" PREFIX=/usr
test ! -e "$stage/usr/lib/cmake/mylib" || fail "uninstall left $stage/usr/lib/cmake/mylib"
left=$(find "$stage" -type f -o -type l)
[ -z "$left" ] || fail "uninstall left: $left"
echo "install: CMake package + pkg-config modules OK"
